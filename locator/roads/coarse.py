"""The coarse network of Anhui's major roads shipped in ``geodata/``.

It is cut once (``geodata/cut_coarse_roads.py``) from the world highway network of
PyPI's ``scgraph-data`` (OpenStreetMap data, ODbL): a graph of about 10,000 nodes with
coordinates rounded to 0.001° and arc lengths in kilometres, no road classes, one-way
flags or speeds. Every edge takes the profile's unclassed speed, and every figure drawn
from it is labelled "coarse".
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
from scipy.sparse import csgraph, csr_matrix

from .network import CLOSED, RoadNetwork, segment_lengths_m
from .osm import OSM_ATTRIBUTION
from .profile import VehicleProfile

COARSE_NAME = "anhui-coarse"
COARSE_NODES = "anhui_roads_coarse_nodes.csv"
COARSE_EDGES = "anhui_roads_coarse_edges.csv"
COARSE_SOURCE = "scgraph-data 2.0.0 world_highways (OpenStreetMap), cut to Anhui"
#: Anhui's bounding box with a margin: west, south, east, north.
ANHUI_BOX = (114.88, 29.39, 119.65, 34.66)

_KEY = re.compile(r"([{,]\s*)(\d+)(\s*:)")


def read_scgraph(path: str | Path) -> tuple[list[dict[int, float]], list[list[float]]]:
    """The ``graph`` (adjacency: node → {node: km}) and ``nodes`` ([lat, lon]) of a
    scgraph-data module, read as data (the module itself imports scgraph)."""
    graph_text = nodes_text = None
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("graph="):
                graph_text = line[len("graph=") :]
            elif line.startswith("nodes="):
                nodes_text = line[len("nodes=") :]
    if graph_text is None or nodes_text is None:
        raise ValueError(f"{path} has no graph= and nodes= lines")
    graph = [
        {int(k): float(v) for k, v in arcs.items()}
        for arcs in json.loads(_KEY.sub(r'\1"\2"\3', graph_text))
    ]
    return graph, json.loads(nodes_text)


def cut_scgraph(
    graph: list[dict[int, float]],
    nodes: list[list[float]],
    box: tuple[float, float, float, float] = ANHUI_BOX,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, float, int]]]:
    """The largest strongly connected part of the graph inside ``box``.

    Returns node longitudes and latitudes and edges ``(source, target, length_m,
    direction)`` with direction 0 for both ways and 1 for source→target only. An
    arc's length is never shorter than the great circle between its rounded nodes.
    """
    west, south, east, north = box
    inside = [
        i for i, (lat, lon) in enumerate(nodes) if west <= lon <= east and south <= lat <= north
    ]
    local = {old: new for new, old in enumerate(inside)}
    rows, cols, km = [], [], []
    for old in inside:
        for other, weight in graph[old].items():
            if other in local and other != old:
                rows.append(local[old])
                cols.append(local[other])
                km.append(weight)
    size = len(inside)
    matrix = csr_matrix((np.array(km) + 1e-9, (rows, cols)), shape=(size, size))
    _, labels = csgraph.connected_components(matrix, directed=True, connection="strong")
    biggest = np.bincount(labels).argmax()
    keep = np.flatnonzero(labels == biggest)
    renumber = {old: new for new, old in enumerate(keep.tolist())}
    lon = np.array([nodes[inside[i]][1] for i in keep])
    lat = np.array([nodes[inside[i]][0] for i in keep])
    arcs: dict[tuple[int, int], float] = {}
    for r, c, w in zip(rows, cols, km, strict=True):
        if r in renumber and c in renumber:
            key = (renumber[r], renumber[c])
            arcs[key] = min(w * 1000.0, arcs.get(key, np.inf))
    edges = []
    for (a, b), metres in sorted(arcs.items()):
        back = arcs.get((b, a))
        if back is not None and a > b:
            continue  # written once, with the pair's first direction
        chord = float(segment_lengths_m(lon, lat, np.array([a]), np.array([b]))[0])
        if back is not None:
            edges.append((a, b, max(metres, back, chord), 0))
        else:
            edges.append((a, b, max(metres, chord), 1))
    return lon, lat, edges


def write_coarse(directory: str | Path, lon, lat, edges) -> None:
    """Write the cut network as two CSV files in ``directory``."""
    directory = Path(directory)
    with (directory / COARSE_NODES).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["node", "lon", "lat"])
        writer.writerows(
            [i, f"{x:.3f}", f"{y:.3f}"] for i, (x, y) in enumerate(zip(lon, lat, strict=True))
        )
    with (directory / COARSE_EDGES).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source", "target", "length_m", "oneway"])
        writer.writerows([a, b, f"{m:.0f}", d] for a, b, m, d in edges)


def read_coarse(directory: str | Path, profile: VehicleProfile | None = None) -> RoadNetwork:
    """The shipped coarse network, every edge at the profile's unclassed speed."""
    directory = Path(directory)
    profile = profile or VehicleProfile()
    with (directory / COARSE_NODES).open(encoding="utf-8", newline="") as handle:
        node_rows = list(csv.DictReader(handle))
    with (directory / COARSE_EDGES).open(encoding="utf-8", newline="") as handle:
        edge_rows = list(csv.DictReader(handle))
    lon = np.array([float(r["lon"]) for r in node_rows])
    lat = np.array([float(r["lat"]) for r in node_rows])
    source = np.array([int(r["source"]) for r in edge_rows], dtype=np.int64)
    target = np.array([int(r["target"]) for r in edge_rows], dtype=np.int64)
    length = np.array([float(r["length_m"]) for r in edge_rows])
    oneway = np.array([int(r["oneway"]) for r in edge_rows])
    seconds = length / (profile.speed_kmh(None) / 3.6)
    return RoadNetwork(
        name=COARSE_NAME,
        source=COARSE_SOURCE,
        attribution=OSM_ATTRIBUTION,
        profile=profile.name,
        coarse=True,
        node_lon=lon,
        node_lat=lat,
        edge_source=source,
        edge_target=target,
        length_m=length,
        cost_s=seconds,
        reverse_cost_s=np.where(oneway == 1, CLOSED, seconds),
    )
