"""The embedded road engine: drive times on a :class:`RoadNetwork` with scipy's csgraph.

A point is snapped to the nearest edge (shapely's STRtree over the edges in a local
metric plane) and split there into two virtual arcs, as pgRouting's ``pgr_withPoints``
does: from the point one reaches the edge's target for the rest of the forward cost and
its source for the part of the reverse cost, after an access leg from the point to the
road. Dijkstra runs from the edge's two ends, bounded by a time limit that grows until
enough targets are reached; targets (facilities, township seats) are snapped once.

Every answer says where its figures come from: a point farther than ``max_snap_m`` from
any road gets no road figure (:class:`OffNetwork`), never a silent guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csgraph, csr_matrix

from ..crs import haversine_m
from ..errors import LocatorError
from .network import RoadNetwork
from .profile import VehicleProfile

_EARTH_M_PER_DEG = 6371008.8 * math.pi / 180.0
#: Straight-line metres of the access leg are driven as this many metres.
ACCESS_DETOUR = 1.3
#: Dijkstra's first bound, seconds; doubled until enough targets are reached.
FIRST_LIMIT_S = 1800.0
MAX_LIMIT_S = 48 * 3600.0


#: A fraction this close to an edge's end is at its node (left or reached either way).
AT_NODE = 1e-9


def _along(cost, share):
    """Seconds over ``share`` of an edge whose full cost is ``cost``: 0 at the node
    itself, inf when that direction is closed."""
    cost, share = np.asarray(cost, dtype=float), np.asarray(share, dtype=float)
    return np.where(share <= AT_NODE, 0.0, np.where(cost >= 0, share * cost, np.inf))


class OffNetwork(LocatorError):
    """A point lies farther from every road than the engine snaps."""

    status = 422


@dataclass(frozen=True)
class Snapped:
    """Points placed on the network: for each, its edge (-1 when too far from every
    road), the fraction along it from source to target, the point on the road and the
    straight-line metres from the point to it."""

    edge: np.ndarray
    fraction: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    access_m: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def on_network(self) -> np.ndarray:
        return self.edge >= 0

    def subset(self, index) -> Snapped:
        """The points at ``index`` (an array or list of positions)."""
        return Snapped(
            self.edge[index],
            self.fraction[index],
            self.lon[index],
            self.lat[index],
            self.access_m[index],
        )


@dataclass(frozen=True)
class RoadHit:
    """One target reached by road: its index among the targets, seconds and metres."""

    index: int
    seconds: float
    metres: float

    @property
    def minutes(self) -> float:
        return self.seconds / 60.0


class RoadEngine:
    """Drive times on one network (built once per network, like the nearest index).

    Parameters
    ----------
    network : RoadNetwork
    profile : VehicleProfile, optional
        Its ``access_kmh`` times the access legs.
    max_snap_m : float
        Points farther than this from every road are off the network.
    """

    def __init__(
        self,
        network: RoadNetwork,
        *,
        profile: VehicleProfile | None = None,
        max_snap_m: float = 2000.0,
    ):
        self.network = network
        self.profile = profile or VehicleProfile()
        self.max_snap_m = float(max_snap_m)
        self._lat0 = float(np.mean(network.node_lat)) if network.node_count else 0.0
        self._lon0 = float(np.mean(network.node_lon)) if network.node_count else 0.0
        self._scale = math.cos(math.radians(self._lat0))
        x, y = self._plane(network.node_lon, network.node_lat)
        self._segments = shapely.linestrings(
            np.stack(
                [
                    np.stack([x[network.edge_source], y[network.edge_source]], axis=1),
                    np.stack([x[network.edge_target], y[network.edge_target]], axis=1),
                ],
                axis=1,
            )
        )
        self._tree = shapely.STRtree(self._segments)
        self.forward, self._arc_m = self._arcs()
        self.backward = self.forward.transpose().tocsr()

    # ---- the graph -------------------------------------------------------------------------
    def _arcs(self) -> tuple[csr_matrix, dict[tuple[int, int], float]]:
        """Directed arcs in seconds, and the metres of each (parallel arcs: the fastest)."""
        net = self.network
        ok_f, ok_r = net.cost_s >= 0, net.reverse_cost_s >= 0
        rows = np.concatenate([net.edge_source[ok_f], net.edge_target[ok_r]])
        cols = np.concatenate([net.edge_target[ok_f], net.edge_source[ok_r]])
        cost = np.concatenate([net.cost_s[ok_f], net.reverse_cost_s[ok_r]])
        length = np.concatenate([net.length_m[ok_f], net.length_m[ok_r]])
        keep = rows != cols
        rows, cols, cost, length = rows[keep], cols[keep], cost[keep], length[keep]
        order = np.lexsort((cost, cols, rows))
        rows, cols, cost, length = rows[order], cols[order], cost[order], length[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        shape = (net.node_count, net.node_count)
        rows, cols = rows[first], cols[first]
        seconds = csr_matrix((cost[first], (rows, cols)), shape=shape)
        metres = dict(
            zip(zip(rows.tolist(), cols.tolist(), strict=True), length[first].tolist(), strict=True)
        )
        return seconds, metres

    def _plane(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        x = (lon - self._lon0) * self._scale * _EARTH_M_PER_DEG
        return x, (lat - self._lat0) * _EARTH_M_PER_DEG

    # ---- snapping --------------------------------------------------------------------------
    def snap(self, lon, lat) -> Snapped:
        """Place points (arrays or scalars) on their nearest edges."""
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        count = len(lon)
        edge = np.full(count, -1, dtype=np.int64)
        fraction = np.zeros(count)
        road_lon, road_lat = lon.copy(), lat.copy()
        access = np.full(count, np.inf)
        if count == 0 or self.network.edge_count == 0:
            return Snapped(edge, fraction, road_lon, road_lat, access)
        x, y = self._plane(lon, lat)
        points = shapely.points(x, y)
        # a plane distance bound a little looser than max_snap_m (the plane's scale varies)
        found, _ = self._tree.query_nearest(
            points, max_distance=self.max_snap_m * 1.1, return_distance=True, all_matches=False
        )
        point_index, edge_index = found
        net = self.network
        if len(point_index):
            t = shapely.line_locate_point(
                self._segments[edge_index], points[point_index], normalized=True
            )
            t = np.nan_to_num(t, nan=0.0)  # a zero-length edge
            s, e = net.edge_source[edge_index], net.edge_target[edge_index]
            on_lon = net.node_lon[s] + t * (net.node_lon[e] - net.node_lon[s])
            on_lat = net.node_lat[s] + t * (net.node_lat[e] - net.node_lat[s])
            metres = haversine_m(lon[point_index], lat[point_index], on_lon, on_lat)
            near = metres <= self.max_snap_m
            keep = point_index[near]
            edge[keep], fraction[keep] = edge_index[near], t[near]
            road_lon[keep], road_lat[keep], access[keep] = on_lon[near], on_lat[near], metres[near]
        return Snapped(edge, fraction, road_lon, road_lat, access)

    def nearest_node(self, lon: float, lat: float) -> int:
        """The node of the nearest edge closer to the point (-1 off the network)."""
        snapped = self.snap(lon, lat)
        e = int(snapped.edge[0])
        if e < 0:
            return -1
        net = self.network
        return int(net.edge_source[e] if snapped.fraction[0] <= 0.5 else net.edge_target[e])

    def _access_s(self, metres):
        return np.asarray(metres) * ACCESS_DETOUR / (self.profile.access_kmh / 3.6)

    def _entries(
        self, snapped: Snapped, i: int, *, outbound: bool
    ) -> list[tuple[int, float, float]]:
        """``(node, seconds, metres)`` from point ``i`` to the ends of its edge
        (``outbound``), or from those ends to it."""
        net, e, t = self.network, int(snapped.edge[i]), float(snapped.fraction[i])
        forward, backward = net.cost_s[e], net.reverse_cost_s[e]
        length = net.length_m[e]
        access_s = float(self._access_s(snapped.access_m[i]))
        access_m = float(snapped.access_m[i]) * ACCESS_DETOUR
        entries = []
        # leaving: to the target goes forward over (1 - t), to the source backward over t;
        # arriving: from the source forward over t, from the target backward over (1 - t)
        to_target = float(_along(forward if outbound else backward, 1 - t))
        to_source = float(_along(backward if outbound else forward, t))
        if np.isfinite(to_target):
            entries.append(
                (int(net.edge_target[e]), access_s + to_target, access_m + (1 - t) * length)
            )
        if np.isfinite(to_source):
            entries.append((int(net.edge_source[e]), access_s + to_source, access_m + t * length))
        return entries

    # ---- times -----------------------------------------------------------------------------
    def _from_entries(self, entries, graph: csr_matrix, limit: float):
        """Best seconds to every node from the entries, and the entry each came from."""
        if not entries:
            return np.full(self.network.node_count, np.inf), None, None
        nodes = [node for node, _, _ in entries]
        table, predecessors = csgraph.dijkstra(
            graph, directed=True, indices=nodes, limit=limit, return_predecessors=True
        )
        offsets = np.array([seconds for _, seconds, _ in entries])[:, None]
        total = table + offsets
        best = np.argmin(total, axis=0)
        return total[best, np.arange(total.shape[1])], best, predecessors

    def _path_m(self, predecessors, row: int, node: int, *, outbound: bool) -> float:
        """Metres along the found path from the row's start node to ``node`` (inbound:
        the path runs on the reversed graph, so its arcs are driven the other way)."""
        metres, here = 0.0, node
        chain, arcs = predecessors[row], self._arc_m
        while chain[here] >= 0:
            before = int(chain[here])
            metres += arcs[(before, here) if outbound else (here, before)]
            here = before
        return metres

    def _same_edge(self, origin: Snapped, i: int, targets: Snapped, outbound: bool) -> np.ndarray:
        """Seconds straight along a shared edge (inf where the edges differ)."""
        net = self.network
        e = origin.edge[i]
        seconds = np.full(len(targets), np.inf)
        same = np.flatnonzero(targets.edge == e)
        if not len(same):
            return seconds
        gap = targets.fraction[same] - origin.fraction[i]
        if not outbound:
            gap = -gap
        cost = np.where(gap >= 0, net.cost_s[e], net.reverse_cost_s[e])
        legs = self._access_s(origin.access_m[i]) + self._access_s(targets.access_m[same])
        seconds[same] = _along(cost, np.abs(gap)) + legs
        return seconds

    def times(
        self, origin: Snapped, i: int, targets: Snapped, *, limit_s: float, outbound: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and metres from point ``i`` of ``origin`` to every target (inbound:
        from every target to it), inf beyond ``limit_s`` or out of reach."""
        count = len(targets)
        if origin.edge[i] < 0:
            raise OffNetwork(
                f"the point lies more than {self.max_snap_m:.0f} m from every road", field="lon"
            )
        graph = self.forward if outbound else self.backward
        entries = self._entries(origin, i, outbound=outbound)
        node_s, best, predecessors = self._from_entries(entries, graph, limit_s)
        net = self.network
        seconds = np.full(count, np.inf)
        via = np.full(count, -1, dtype=np.int64)
        on = np.flatnonzero(targets.on_network)
        e, t = targets.edge[on], targets.fraction[on]
        # reaching a target: from its edge's source forward over t, from its target backward
        into_from_source = net.cost_s[e] if outbound else net.reverse_cost_s[e]
        into_from_target = net.reverse_cost_s[e] if outbound else net.cost_s[e]
        source_nodes, target_nodes = net.edge_source[e], net.edge_target[e]
        by_source = node_s[source_nodes] + _along(into_from_source, t)
        by_target = node_s[target_nodes] + _along(into_from_target, 1 - t)
        arrive = np.minimum(by_source, by_target) + self._access_s(targets.access_m[on])
        seconds[on] = arrive
        via[on] = np.where(by_source <= by_target, source_nodes, target_nodes)
        direct = self._same_edge(origin, i, targets, outbound)
        use_direct = direct < seconds
        seconds = np.minimum(seconds, direct)
        seconds[seconds > limit_s] = np.inf
        metres = np.full(count, np.inf)
        for j in np.flatnonzero(np.isfinite(seconds)):
            if use_direct[j]:
                gap = abs(targets.fraction[j] - origin.fraction[i])
                legs = (origin.access_m[i] + targets.access_m[j]) * ACCESS_DETOUR
                metres[j] = gap * net.length_m[origin.edge[i]] + legs
                continue
            node, row = int(via[j]), int(best[via[j]])
            e, t = targets.edge[j], targets.fraction[j]
            partial = t if node == net.edge_source[e] else 1 - t
            metres[j] = (
                entries[row][2]
                + self._path_m(predecessors, row, node, outbound=outbound)
                + partial * net.length_m[e]
                + targets.access_m[j] * ACCESS_DETOUR
            )
        return seconds, metres

    def nearest(
        self, lon: float, lat: float, targets: Snapped, k: int, *, max_s: float = MAX_LIMIT_S
    ) -> list[RoadHit]:
        """The ``k`` targets fastest to reach from a point, fastest first (ties: by
        index), within ``max_s``. :class:`OffNetwork` when the point is off the roads."""
        origin = self.snap(lon, lat)
        limit = min(FIRST_LIMIT_S, max_s)
        while True:
            seconds, metres = self.times(origin, 0, targets, limit_s=limit)
            reached = np.flatnonzero(np.isfinite(seconds))
            if len(reached) >= k or limit >= max_s:
                break
            limit = min(limit * 2, max_s)
        order = reached[np.lexsort((reached, seconds[reached]))][:k]
        return [RoadHit(int(j), float(seconds[j]), float(metres[j])) for j in order]

    def time_to_nearest(self, points: Snapped, targets: Snapped, *, limit_s: float) -> np.ndarray:
        """Seconds from each point to its fastest-reached target (one multi-source run on
        the reversed graph); inf beyond ``limit_s``, out of reach or off the network."""
        net = self.network
        size = net.node_count
        on = np.flatnonzero(targets.on_network)
        rows, cols, weights = [], [], []
        for j in on:  # each target leaves towards its edge's ends on the reversed graph
            for node, seconds, _ in self._entries(targets, int(j), outbound=False):
                rows.append(size)
                cols.append(node)
                weights.append(seconds)
        graph = self._with_super_source(self.backward, rows, cols, weights)
        node_s = csgraph.dijkstra(graph, directed=True, indices=size, limit=limit_s)[:size]
        result = np.full(len(points), np.inf)
        p = np.flatnonzero(points.on_network)
        e, t = points.edge[p], points.fraction[p]
        # from a point out to its edge's ends, then on to the nearest target
        leave_target = _along(net.cost_s[e], 1 - t)
        leave_source = _along(net.reverse_cost_s[e], t)
        result[p] = np.minimum(
            leave_target + node_s[net.edge_target[e]], leave_source + node_s[net.edge_source[e]]
        ) + self._access_s(points.access_m[p])
        for j in on:  # a target on the point's own edge
            result = np.minimum(result, self._same_edge(targets, int(j), points, outbound=False))
        result[result > limit_s] = np.inf
        return result

    def _with_super_source(self, graph: csr_matrix, rows, cols, weights) -> csr_matrix:
        size = graph.shape[0]
        coo = graph.tocoo()
        return csr_matrix(
            (
                np.concatenate([coo.data, np.asarray(weights, dtype=float)]),
                (
                    np.concatenate([coo.row, np.asarray(rows, dtype=np.int64)]),
                    np.concatenate([coo.col, np.asarray(cols, dtype=np.int64)]),
                ),
            ),
            shape=(size + 1, size + 1),
        )

    def detours(
        self, a: tuple[float, float], b: tuple[float, float], targets: Snapped, *, limit_s: float
    ) -> np.ndarray:
        """Extra seconds of going from ``a`` to ``b`` by way of each target:
        d(a→s) + d(s→b) − d(a→b); inf where a target is out of reach."""
        ends = self.snap([a[0], b[0]], [a[1], b[1]])
        if not ends.on_network.all():
            raise OffNetwork("an end of the route lies off the roads", field="route")
        out, _ = self.times(ends, 0, targets, limit_s=limit_s)
        back, _ = self.times(ends, 1, targets, limit_s=limit_s, outbound=False)
        direct, _ = self.times(ends, 0, ends.subset([1]), limit_s=MAX_LIMIT_S)
        return out + back - direct[0]

    def reachable(self, lon: float, lat: float, minutes: float) -> shapely.Geometry:
        """The area reachable within ``minutes``: the reached roads, buffered and merged
        (an isochrone for maps, in longitude/latitude)."""
        origin = self.snap(lon, lat)
        limit = minutes * 60.0
        if origin.edge[0] < 0:
            raise OffNetwork("the point lies off the roads", field="lon")
        node_s, _, _ = self._from_entries(
            self._entries(origin, 0, outbound=True), self.forward, limit
        )
        net = self.network
        reached = np.isfinite(node_s[net.edge_source]) & np.isfinite(node_s[net.edge_target])
        ends = (net.edge_source[reached], net.edge_target[reached])
        lines = shapely.linestrings(
            np.stack([np.stack([net.node_lon[n], net.node_lat[n]], axis=1) for n in ends], axis=1)
        )
        width = 0.01 if net.coarse else 0.002  # degrees: about 1 km / 200 m
        parts = [shapely.Point(lon, lat).buffer(width)]
        if len(lines):
            parts.append(shapely.union_all(shapely.buffer(lines, width)))
        return shapely.union_all(parts).simplify(width / 4)
