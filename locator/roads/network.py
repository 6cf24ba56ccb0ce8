"""A road network as routing engines read it: nodes, and edges with a cost each way.

The layout is pgRouting's: an edge joins ``source`` to ``target`` (indexes into the
nodes) along a straight segment, with ``cost`` seconds from source to target and
``reverse_cost`` back; a negative cost means that direction is not allowed (a one-way
street, a way closed to trucks). Each edge keeps what OpenStreetMap says of it where
tagged: its class, its ``maxspeed`` and its truck restrictions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..crs import haversine_m
from ..errors import InvalidParameter

#: A cost that closes a direction of an edge (pgRouting's convention: any negative).
CLOSED = -1.0


@dataclass(frozen=True)
class RoadNetwork:
    """Nodes and edges of one road network, with where it came from.

    ``name`` identifies the network ("anhui-coarse"); ``coarse`` marks a network of major
    roads only, whose figures are labelled as such wherever they appear; ``profile``
    names the vehicle the costs are for ("truck").
    """

    name: str
    source: str
    attribution: str
    profile: str
    coarse: bool
    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_source: np.ndarray
    edge_target: np.ndarray
    length_m: np.ndarray
    cost_s: np.ndarray
    reverse_cost_s: np.ndarray
    road_class: np.ndarray = field(default=None)  # type: ignore[assignment]
    maxspeed_kmh: np.ndarray = field(default=None)  # type: ignore[assignment]
    maxweight_t: np.ndarray = field(default=None)  # type: ignore[assignment]
    maxheight_m: np.ndarray = field(default=None)  # type: ignore[assignment]
    hgv: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        edges = len(self.edge_source)
        for name in ("road_class", "hgv"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(edges, None, dtype=object))
        for name in ("maxspeed_kmh", "maxweight_t", "maxheight_m"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(edges, np.nan))
        check_network(self)

    @property
    def node_count(self) -> int:
        return len(self.node_lon)

    @property
    def edge_count(self) -> int:
        return len(self.edge_source)

    def extent(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the nodes."""
        if not self.node_count:
            return (0.0, 0.0, 0.0, 0.0)
        return (
            float(self.node_lon.min()),
            float(self.node_lat.min()),
            float(self.node_lon.max()),
            float(self.node_lat.max()),
        )

    def total_km(self) -> float:
        """The length of all edges, each counted once, in kilometres."""
        return float(self.length_m.sum()) / 1000.0

    def fingerprint(self) -> str:
        """A digest of the routing content: equal networks route equally."""
        digest = hashlib.sha256()
        for array in (
            self.node_lon,
            self.node_lat,
            self.edge_source,
            self.edge_target,
            self.cost_s,
            self.reverse_cost_s,
        ):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]


def check_network(network: RoadNetwork) -> None:
    """Refuse a network whose arrays disagree or whose nodes lie off the globe."""
    nodes, edges = len(network.node_lon), len(network.edge_source)
    if len(network.node_lat) != nodes:
        raise InvalidParameter("node longitudes and latitudes differ in number", field="nodes")
    for name in (
        "edge_target",
        "length_m",
        "cost_s",
        "reverse_cost_s",
        "road_class",
        "maxspeed_kmh",
        "maxweight_t",
        "maxheight_m",
        "hgv",
    ):
        if len(getattr(network, name)) != edges:
            raise InvalidParameter(f"{name} has not one value per edge", field=name)
    if nodes and (
        not np.all(np.abs(network.node_lon) <= 180) or not np.all(np.abs(network.node_lat) <= 90)
    ):
        raise InvalidParameter("a node lies outside longitude/latitude range", field="nodes")
    if edges and (
        network.edge_source.min() < 0
        or network.edge_target.min() < 0
        or max(network.edge_source.max(), network.edge_target.max()) >= nodes
    ):
        raise InvalidParameter("an edge names a node that does not exist", field="edges")
    if edges and np.any(network.length_m < 0):
        raise InvalidParameter("an edge has a negative length", field="length_m")


def segment_lengths_m(
    lon: np.ndarray, lat: np.ndarray, source: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Great-circle length of each straight edge between its two nodes."""
    return np.asarray(haversine_m(lon[source], lat[source], lon[target], lat[target]), dtype=float)


@dataclass(frozen=True)
class RoadNetworkInfo:
    """What is known of a loaded network without its arrays: for ``roads status``,
    the labels of road figures and the engines' cache keys."""

    name: str
    source: str
    attribution: str
    profile: str
    coarse: bool
    fingerprint: str
    nodes: int
    edges: int
    total_km: float
    extent: tuple[float, float, float, float]
    loaded_at: dt.datetime | None = None

    @classmethod
    def of(cls, network: RoadNetwork, loaded_at: dt.datetime | None = None) -> RoadNetworkInfo:
        return cls(
            name=network.name,
            source=network.source,
            attribution=network.attribution,
            profile=network.profile,
            coarse=network.coarse,
            fingerprint=network.fingerprint(),
            nodes=network.node_count,
            edges=network.edge_count,
            total_km=round(network.total_km(), 1),
            extent=network.extent(),
            loaded_at=loaded_at,
        )

    @classmethod
    def from_row(cls, row, loaded_at: dt.datetime | None) -> RoadNetworkInfo:
        """The info of a stored ``road_network`` row (a mapping of its columns)."""
        return cls(
            name=row["name"],
            source=row["source"],
            attribution=row["attribution"],
            profile=row["profile"],
            coarse=bool(row["coarse"]),
            fingerprint=row["fingerprint"],
            nodes=int(row["nodes"]),
            edges=int(row["edges"]),
            total_km=float(row["total_km"]),
            extent=(row["west"], row["south"], row["east"], row["north"]),
            loaded_at=loaded_at,
        )

    def to_dict(self) -> dict:
        """The info as JSON-ready values (the API's ``network`` object)."""
        west, south, east, north = self.extent
        return {
            "name": self.name,
            "coarse": self.coarse,
            "profile": self.profile,
            "source": self.source,
            "attribution": self.attribution,
            "nodes": self.nodes,
            "edges": self.edges,
            "total_km": self.total_km,
            "extent": [west, south, east, north],
            "fingerprint": self.fingerprint,
            "loaded_at": self.loaded_at.isoformat() if self.loaded_at else None,
        }


#: The columns of a stored edge, in order (pgRouting reads id, source, target, cost,
#: reverse_cost).
EDGE_COLUMNS = (
    "source",
    "target",
    "cost",
    "reverse_cost",
    "length_m",
    "road_class",
    "maxspeed",
    "maxweight",
    "maxheight",
    "hgv",
)


def _float_or_none(value) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


def node_rows(network: RoadNetwork) -> list[tuple[int, float, float]]:
    """The nodes as rows ``(id, lon, lat)``; stored ids count from 1, as pgRouting's do."""
    return [
        (i + 1, float(x), float(y))
        for i, (x, y) in enumerate(zip(network.node_lon, network.node_lat, strict=True))
    ]


def edge_rows(network: RoadNetwork) -> list[tuple]:
    """The edges as rows ``(id, *EDGE_COLUMNS)``; ids and node ids count from 1."""
    return [
        (
            i + 1,
            int(network.edge_source[i]) + 1,
            int(network.edge_target[i]) + 1,
            float(network.cost_s[i]),
            float(network.reverse_cost_s[i]),
            float(network.length_m[i]),
            network.road_class[i],
            _float_or_none(network.maxspeed_kmh[i]),
            _float_or_none(network.maxweight_t[i]),
            _float_or_none(network.maxheight_m[i]),
            network.hgv[i],
        )
        for i in range(network.edge_count)
    ]


def network_from_rows(info: RoadNetworkInfo, nodes: list, edges: list) -> RoadNetwork:
    """A network back from its stored :func:`node_rows` and :func:`edge_rows`."""
    nodes = sorted(nodes)
    edges = sorted(edges, key=lambda row: row[0])

    def column(rows, index, dtype=float):
        return np.array([row[index] for row in rows], dtype=dtype)

    def nan_column(index):
        return np.array([np.nan if row[index] is None else row[index] for row in edges], float)

    return RoadNetwork(
        name=info.name,
        source=info.source,
        attribution=info.attribution,
        profile=info.profile,
        coarse=info.coarse,
        node_lon=column(nodes, 1),
        node_lat=column(nodes, 2),
        edge_source=column(edges, 1, np.int64) - 1,
        edge_target=column(edges, 2, np.int64) - 1,
        cost_s=column(edges, 3),
        reverse_cost_s=column(edges, 4),
        length_m=column(edges, 5),
        road_class=column(edges, 6, object),
        maxspeed_kmh=nan_column(7),
        maxweight_t=nan_column(8),
        maxheight_m=nan_column(9),
        hgv=column(edges, 10, object),
    )
