"""Places to stop, and service areas as drivers know them (issue 11 items 3 and 4), over
real HTTP against the shipped Anhui data, on SQLite and PostGIS.

At a point in Hefei, in Huaibei and in the countryside of southern Anhui, the first page
of the driver's results (the request the driver page makes) holds no logistics site and
no service area twice, and each pair of carriageway sides is one result. Expected values
come from the raw files (:mod:`tests.service_area_reference`): places by the pairing rule
written out with brute-force distances, names by the naming rule.
"""

from __future__ import annotations

import json
import math
import re
import urllib.request
from urllib.parse import urlencode

import pytest

from tests.service_area_reference import (
    REST_KINDS,
    name_key,
    place_names,
    place_of,
    shipped_places,
)
from tests.web_fixtures import LiveServer, close_app, make_app, raw_sites

#: Where the driver searches: (label, lon, lat).
POINTS = [
    ("hefei", 117.2272, 31.8206),  # 合肥, the city centre
    ("huaibei", 116.7983, 33.9560),  # 淮北, the city centre
    ("qimen-countryside", 117.55, 29.95),  # 祁门县 countryside, southern Anhui
]
EARTH_RADIUS_M = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@pytest.fixture(scope="module")
def live(loaded_url):
    app = make_app(loaded_url)
    with LiveServer(app) as server:
        yield server
    close_app(app)


def get(live, path: str, **params) -> dict:
    url = f"{live.url}{path}" + (f"?{urlencode(params, doseq=True)}" if params else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture(scope="module")
def driver_config(live) -> dict:
    """The driver page's own configuration: which endpoint it asks, for how many."""
    with urllib.request.urlopen(f"{live.url}/", timeout=30) as response:
        html = response.read().decode()
    config = json.loads(re.search(r'<script[^>]*id="config"[^>]*>(.*?)</script>', html, re.S)[1])
    # The kind filter starts at "places to stop" (no kind parameter sent).
    assert re.search(r'<option value=""\s+selected>', html)
    return config


def driver_page(live, config, lon, lat, **extra) -> list[dict]:
    """What the driver page asks for a point (driver.js: lon, lat to 6 places, k)."""
    params = {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "k": str(config["k"]), **extra}
    return get(live, config["api"]["nearest"], **params)["features"]


def expected_first_page(lon, lat, k, kinds) -> list[tuple[tuple[str, ...], str, float]]:
    """``(place, nearest side id, distance)`` of the ``k`` nearest places of ``kinds``."""
    rows = []
    groups = list(shipped_places()) if "service_area" in kinds else []
    groups += [
        (fid,)
        for fid, (kind, *_rest) in raw_sites().items()
        if kind in kinds and kind != "service_area"
    ]
    for group in groups:
        nearest = min((haversine_m(lon, lat, *raw_sites()[fid][2:]), fid) for fid in group)
        rows.append((nearest[0], nearest[1], group))
    rows.sort()
    return [(group, fid, d) for d, fid, group in rows[:k]]


def place(feature: dict) -> tuple[str, ...]:
    return place_of().get(feature["id"], (feature["id"],))


@pytest.mark.parametrize(("where", "lon", "lat"), POINTS)
def test_the_first_page_of_driver_results(live, driver_config, where, lon, lat):
    k = driver_config["k"]
    features = driver_page(live, driver_config, float(f"{lon:.6f}"), float(f"{lat:.6f}"))
    assert len(features) == k == 10
    kinds = [f["properties"]["kind"] for f in features]
    assert "logistics_park" not in kinds and set(kinds) <= REST_KINDS
    places = [place(f) for f in features]
    assert len(set(places)) == len(places)  # no service area twice

    expected = expected_first_page(lon, lat, k, REST_KINDS)
    assert places == [group for group, _, _ in expected]
    assert [f["id"] for f in features] == [fid for _, fid, _ in expected]  # the nearest side
    for feature, (group, _, distance) in zip(features, expected, strict=True):
        props = feature["properties"]
        assert props["distance_m"] == pytest.approx(distance, abs=1.0)
        name, derived = place_names()[group]
        assert props["name"] == name
        assert props.get("name_derived", False) == (
            derived or name_key(raw_sites()[feature["id"]][1]) is None
        )
        if len(group) > 1:  # each pair of carriageway sides is one result
            assert props["serves"] == "both"  # both sides open, no filter
            assert props["place_id"] == group[0]
            assert sorted(s["id"] for s in props["sides"]) == list(group)
            for side in props["sides"]:
                assert side["coordinates"] == pytest.approx(list(raw_sites()[side["id"]][2:]))
                assert side["side"] in {"east", "west", "north", "south"}
        else:
            assert "serves" not in props and "sides" not in props
    assert any(len(group) > 1 for group, _, _ in expected)  # the page has pairs to show


@pytest.mark.parametrize(("where", "lon", "lat"), POINTS[:2])
def test_logistics_parks_only_when_asked_for(live, driver_config, where, lon, lat):
    """In the cities logistics parks lie among the nearest: every kind (kind=any) lists
    them where they are, and kind=logistics_park only them."""
    k = driver_config["k"]
    every = driver_page(live, driver_config, lon, lat, kind="any")
    expected = expected_first_page(lon, lat, k, REST_KINDS | {"logistics_park"})
    assert [f["id"] for f in every] == [fid for _, fid, _ in expected]
    assert "logistics_park" in {f["properties"]["kind"] for f in every}
    parks = driver_page(live, driver_config, lon, lat, kind="logistics_park")
    assert [f["id"] for f in parks] == [
        fid for _, fid, _ in expected_first_page(lon, lat, k, {"logistics_park"})
    ]


def test_an_amenity_nobody_has_data_for_says_so(live, driver_config):
    """The shipped OSM points carry no amenities: the answer says that none of the
    places nearby has any data (the page shows 附近站点暂无淋浴信息), not just nothing."""
    lon, lat = POINTS[0][1:]
    params = {"lon": lon, "lat": lat, "k": driver_config["k"], "amenity": "shower"}
    body = get(live, driver_config["api"]["nearest"], **params)
    assert body["features"] == []
    assert body["amenity_data"] == {"nearby": 10, "with_data": 0, "with": {"shower": 0}}


def test_place_search_lists_a_pair_once_and_finds_derived_names(live, driver_config):
    pairs = [g for g in shipped_places() if len(g) == 2 and not place_names()[g][1]]
    named = next(g for g in pairs if raw_sites()[g[0]][1].endswith("服务区"))
    name = place_names()[named][0]
    found = get(live, driver_config["api"]["places"], q=name, limit=20)["features"]
    facilities = [f for f in found if f["properties"]["facility_id"]]
    assert [
        f["properties"]["facility_id"] for f in facilities if f["properties"]["name"] == name
    ] == [named[0]]
    found = get(live, driver_config["api"]["places"], q="陶楼枢纽附近", limit=20)["features"]
    assert [f["properties"]["name"] for f in found] == ["陶楼枢纽附近服务区"]


def test_the_widget_shows_places_to_stop_with_their_place(live):
    body = get(live, "/embed/data.geojson", city="合肥市")
    kinds = {f["properties"]["kind"] for f in body["features"]}
    assert kinds == {"service_area"}  # the shipped data's places to stop in Hefei
    for feature in body["features"]:
        group = place(feature)
        props = feature["properties"]
        if len(group) > 1:
            assert props["place"] == group[0]
            assert props["place_name"] == place_names()[group][0]
        else:
            assert "place" not in props
    every = get(live, "/embed/data.geojson", city="合肥市", kind="any")
    assert "logistics_park" in {f["properties"]["kind"] for f in every["features"]}
    assert every["numberMatched"] > body["numberMatched"]


def test_along_a_route_a_pair_is_one_place_in_driving_order(live):
    """A route through the middle of three paired service areas (from south to north):
    both sides of each lie within the corridor, each place is listed once."""
    pairs = sorted(
        (g for g in shipped_places() if len(g) == 2),
        key=lambda g: haversine_m(117.2272, 31.8206, *raw_sites()[g[0]][2:]),
    )[:3]
    middles = [
        [sum(raw_sites()[fid][2] for fid in g) / 2, sum(raw_sites()[fid][3] for fid in g) / 2]
        for g in pairs
    ]
    middles.sort(key=lambda p: p[1])
    body = json.dumps({"route": middles, "buffer_km": 2}).encode()
    request = urllib.request.Request(
        f"{live.url}/api/v1/along-route", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        features = json.loads(response.read())["features"]
    assert {f["properties"]["kind"] for f in features} <= REST_KINDS
    places = [place(f) for f in features]
    assert len(set(places)) == len(places)  # no service area twice
    assert set(pairs) <= set(places)
    for feature in features:
        if place(feature) in pairs:
            assert feature["properties"]["serves"] == "both"
    along = [f["properties"]["distance_along_m"] for f in features]
    assert along == sorted(along)
