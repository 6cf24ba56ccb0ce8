"""The road engine on PostGIS: pgRouting's ``pgr_withPoints`` over the stored network.

For deployments whose network is too large to hold in every worker: the same snapping
as :class:`~locator.roads.engine.RoadEngine` (the nearest edge in the same local plane,
found with the GiST index), the same virtual arcs (pgRouting splits the edge at the
point's fraction), the same access legs, so both give the same answers on the same
network. Each query reads only the edges in a box around the point and its targets
(whole-graph calls cost seconds on a national network); the box grows when fewer than
``k`` targets are reached in it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..crs import haversine_m
from .engine import ACCESS_DETOUR, AT_NODE, MAX_LIMIT_S, OffNetwork, RoadHit, Snapped
from .profile import VehicleProfile

#: Candidate edges read by the index before the exact choice in the local plane.
_CANDIDATES = 16

_SNAP_SQL = """
SELECT e.id, e.source, e.target, e.x1, e.y1, e.x2, e.y2,
       ST_LineLocatePoint(ST_Scale(e.geom, %(s)s, 1), ST_Scale(p.pt, %(s)s, 1)) AS fraction,
       ST_Distance(ST_Scale(e.geom, %(s)s, 1), ST_Scale(p.pt, %(s)s, 1)) AS plane
FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS pt) AS p,
     LATERAL (SELECT * FROM road_edges ORDER BY geom <-> p.pt LIMIT %(n)s) AS e
ORDER BY plane, e.id
LIMIT 1
"""

_ROUTE_SQL = """
WITH route AS (
    SELECT * FROM pgr_withPoints(
        format('SELECT id, source, target, cost, reverse_cost FROM road_edges '
               'WHERE geom && ST_MakeEnvelope(%%s, %%s, %%s, %%s, 4326)',
               %(west)s, %(south)s, %(east)s, %(north)s),
        %(points)s, %(start)s::bigint, %(ends)s::bigint[],
        directed => true, driving_side => 'b', details => false)
)
SELECT r.end_pid, r.agg_cost, r.cost, r.node, r.edge,
       e.source, e.target, e.cost AS forward, e.reverse_cost AS backward, e.length_m
FROM route AS r LEFT JOIN road_edges AS e ON e.id = r.edge
ORDER BY r.end_pid, r.path_seq
"""


class PgRoutingEngine:
    """Drive times from pgRouting on the network stored in PostGIS (``storage``'s).

    Parameters
    ----------
    storage : PostGISStorage
        Holds the network (``replace_road_network``) and the pgrouting extension.
    profile, max_snap_m
        As for :class:`~locator.roads.engine.RoadEngine`.
    box_deg : float
        Half the side of the first box of edges read around a query, degrees.
    """

    def __init__(
        self,
        storage: Any,
        *,
        profile: VehicleProfile | None = None,
        max_snap_m: float = 2000.0,
        box_deg: float = 0.6,
    ):
        self.storage = storage
        self.profile = profile or VehicleProfile()
        self.max_snap_m = float(max_snap_m)
        self.box_deg = float(box_deg)
        row = storage._query(
            "SELECT avg(lat) AS lat0, min(lon) AS west, min(lat) AS south, "
            "max(lon) AS east, max(lat) AS north FROM road_nodes"
        )[0]
        self._extent = tuple(float(row[k] or 0.0) for k in ("west", "south", "east", "north"))
        fastest = storage._query(
            "SELECT max(greatest(CASE WHEN cost > 0 THEN length_m / cost END, "
            "CASE WHEN reverse_cost > 0 THEN length_m / reverse_cost END)) AS mps "
            "FROM road_edges"
        )[0]
        #: The fastest edge's speed, m/s: no path leaves a box sooner than its edge
        #: distance at this speed.
        self._max_mps = max(float(fastest["mps"] or 0.0), self.profile.access_kmh / 3.6)
        self._scale = math.cos(math.radians(float(row["lat0"] or 0.0)))
        #: The stored source and target vertex of each edge met while snapping.
        self._ends: dict[int, tuple[int, int]] = {}

    def _access_s(self, metres):
        return np.asarray(metres) * ACCESS_DETOUR / (self.profile.access_kmh / 3.6)

    def snap(self, lon, lat) -> Snapped:
        """Place points on their nearest edges, as the embedded engine does."""
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        count = len(lon)
        edge, fraction = np.full(count, -1, dtype=np.int64), np.zeros(count)
        road_lon, road_lat, access = lon.copy(), lat.copy(), np.full(count, np.inf)
        for i in range(count):
            found = self.storage._query(
                _SNAP_SQL,
                {"s": self._scale, "lon": lon[i], "lat": lat[i], "n": _CANDIDATES},
            )
            if not found:
                continue
            row = found[0]
            x1, y1, x2, y2 = (float(row[c]) for c in ("x1", "y1", "x2", "y2"))
            self._ends[int(row["id"]) - 1] = (int(row["source"]), int(row["target"]))
            t = float(row["fraction"])
            on_lon, on_lat = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
            metres = float(haversine_m(lon[i], lat[i], on_lon, on_lat))
            if metres <= self.max_snap_m:
                edge[i], fraction[i] = int(row["id"]) - 1, t
                road_lon[i], road_lat[i], access[i] = on_lon, on_lat, metres
        return Snapped(edge, fraction, road_lon, road_lat, access)

    def nearest(
        self, lon: float, lat: float, targets: Snapped, k: int, *, max_s: float = MAX_LIMIT_S
    ) -> list[RoadHit]:
        """The ``k`` targets fastest to reach from a point, fastest first (ties: by
        index); :class:`OffNetwork` when the point is off the roads."""
        origin = self.snap(lon, lat)
        if origin.edge[0] < 0:
            raise OffNetwork(
                f"the point lies more than {self.max_snap_m:.0f} m from every road", field="lon"
            )
        on = np.flatnonzero(targets.on_network)
        half = self.box_deg
        while True:
            box = (lon - half, lat - half, lon + half, lat + half)
            inside = on[
                (targets.lon[on] >= box[0])
                & (targets.lon[on] <= box[2])
                & (targets.lat[on] >= box[1])
                & (targets.lat[on] <= box[3])
            ]
            seconds, metres = self._route(origin, targets, inside, box)
            reached = sorted(
                (j for j in inside if seconds.get(j, math.inf) <= max_s),
                key=lambda j: (seconds[j], j),
            )
            # exact once the k-th is reached sooner than any path could leave the box
            edge_m = half * 111_195.0 * math.cos(math.radians(min(abs(lat) + half, 89.0)))
            bound_s = edge_m / self._max_mps
            if len(reached) >= k and seconds[reached[k - 1]] <= bound_s:
                break
            west, south, east, north = self._extent
            if box[0] <= west and box[1] <= south and box[2] >= east and box[3] >= north:
                break  # the whole network was read
            half *= 2
        return [RoadHit(int(j), seconds[j], metres[j]) for j in reached[:k]]

    def _route(self, origin: Snapped, targets: Snapped, inside, box):
        """Seconds and metres to the targets ``inside`` over the edges in ``box``.

        A point at an edge's end is passed as that vertex (pgr_withPoints answers
        nothing for a point at fraction 0 or 1); the others as points, pid 1 the origin.
        """
        if not len(inside):
            return {}, {}
        points: list[tuple[int, int, float]] = []
        start = self._vertex(origin, 0)
        if start is None:
            points.append((1, int(origin.edge[0]) + 1, float(origin.fraction[0])))
            start = -1
        ends: dict[int, list[int]] = {}
        for n, j in enumerate(inside):
            vertex = self._vertex(targets, j)
            if vertex is None:
                points.append((2 + n, int(targets.edge[j]) + 1, float(targets.fraction[j])))
                vertex = -(2 + n)
            ends.setdefault(vertex, []).append(int(j))
        if not points:  # pgr_withPoints needs a point: the origin at its vertex will do
            points.append((1, int(origin.edge[0]) + 1, 0.5))
        points_sql = (
            "SELECT * FROM (VALUES "
            + ", ".join(
                f"({pid}, {edge}, {fraction!r}::float8, 'b'::char)"
                for pid, edge, fraction in points
            )
            + ") AS p (pid, edge_id, fraction, side)"
        )
        found = self.storage._query(
            _ROUTE_SQL,
            {
                "west": box[0],
                "south": box[1],
                "east": box[2],
                "north": box[3],
                "points": points_sql,
                "start": start,
                "ends": sorted(ends),
            },
        )
        leg_s = float(self._access_s(origin.access_m[0]))
        leg_m = float(origin.access_m[0]) * ACCESS_DETOUR
        seconds: dict[int, float] = {}
        metres: dict[int, float] = {}
        along: dict[int, float] = {}
        for row in found:
            end = int(row["end_pid"])
            if row["edge"] != -1:
                along[end] = along.get(end, 0.0) + _step_metres(row)
                continue
            for j in ends.get(end, []):  # the last row of a path carries its total
                seconds[j] = (
                    leg_s + float(row["agg_cost"]) + float(self._access_s(targets.access_m[j]))
                )
                metres[j] = leg_m + along.get(end, 0.0) + targets.access_m[j] * ACCESS_DETOUR
        if start in ends:  # a target at the origin's own vertex
            for j in ends[start]:
                seconds[j] = leg_s + float(self._access_s(targets.access_m[j]))
                metres[j] = leg_m + float(targets.access_m[j]) * ACCESS_DETOUR
        return seconds, metres

    def _vertex(self, snapped: Snapped, i) -> int | None:
        """The stored vertex id of a point at an end of its edge, else None."""
        t = float(snapped.fraction[i])
        if AT_NODE < t < 1 - AT_NODE:
            return None
        return self._ends[int(snapped.edge[i])][0 if t <= AT_NODE else 1]


def _step_metres(row) -> float:
    """Metres of one step of a path: its share of the edge's cost in its direction."""
    forward, backward = float(row["forward"]), float(row["backward"])
    if row["node"] == row["source"]:
        full = forward
    elif row["node"] == row["target"]:
        full = backward
    else:  # leaving a point on the edge: the direction whose cost allows this step
        full = forward if forward >= 0 else backward
    if full <= 0:
        return 0.0
    return float(row["cost"]) / full * float(row["length_m"])
