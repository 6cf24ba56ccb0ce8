"""/api/v1/nearest and /api/v1/along-route over real HTTP handling, on both backends."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from click.testing import CliRunner

from locator.cli import main
from locator.crs import haversine_m, wgs84_to_bd09, wgs84_to_gcj02
from locator.model import Facility
from locator.nearest import FacilityQuery  # noqa: I001
from locator.web import create_app
from tests.service_area_reference import REST_KINDS
from tests.test_nearest import brute_force, matches, random_facilities


@pytest.fixture
def facilities():
    return random_facilities(800, seed=21)


@pytest.fixture
def client(storage, facilities, database_url):
    storage.upsert_facilities(facilities)
    app = create_app({"database_url": database_url, "tiles": "none"})
    return app.test_client()


def ids(response):
    return [f["id"] for f in response.json["features"]]


def test_nearest_equals_brute_force_over_http(client, facilities):
    rng = np.random.default_rng(4)
    # Without kind: places to stop only (no logistics parks), written out here.
    query = FacilityQuery(kinds=REST_KINDS, amenities=frozenset({"shower"}))
    kept = [f for f in facilities if matches(f, query)]
    assert {f.kind for f in facilities} - REST_KINDS == {"logistics_park", "other"}
    for lon, lat in zip(rng.uniform(115, 119.5, 60), rng.uniform(29.5, 34.5, 60), strict=True):
        response = client.get(f"/api/v1/nearest?lon={lon}&lat={lat}&k=7&amenity=shower")
        assert response.status_code == 200
        assert response.mimetype == "application/geo+json"
        expected = brute_force(kept, lon, lat, 7)
        assert ids(response) == [fid for _, fid in expected]
        distances = [f["properties"]["distance_m"] for f in response.json["features"]]
        assert np.allclose(distances, [d for d, _ in expected], atol=1.0)
        assert distances == sorted(distances)
    # kind=any: every kind, logistics parks included, as before.
    every = [f for f in facilities if matches(f, FacilityQuery(amenities=frozenset({"shower"})))]
    for lon, lat in ((117.2, 31.8), (116.8, 33.95), (118.3, 29.9)):
        response = client.get(f"/api/v1/nearest?lon={lon}&lat={lat}&k=7&amenity=shower&kind=any")
        assert ids(response) == [fid for _, fid in brute_force(every, lon, lat, 7)]


def test_nearest_fields_and_estimate_label(client):
    body = client.get("/api/v1/nearest?lon=117.2&lat=31.8&k=3").json
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == 3
    assert body["drive_time"]["method"] == "straight_line_estimate"
    props = body["features"][0]["properties"]
    for key in ("distance_m", "bearing_deg", "drive_minutes_estimate", "open_state"):
        assert key in props
    assert props["status"] == "open"  # open only by default
    everything = client.get("/api/v1/nearest?lon=117.2&lat=31.8&k=50&status=any").json
    assert {f["properties"]["status"] for f in everything["features"]} > {"open"}


def test_open_now_at_a_given_time(client, facilities):
    at = "2026-12-01T00:30:00+08:00"
    body = client.get(f"/api/v1/nearest?lon=117.2&lat=31.8&k=20&open_now=true&at={at}").json
    query = FacilityQuery(kinds=REST_KINDS, open_now=True, at=dt.datetime.fromisoformat(at))
    expected = brute_force([f for f in facilities if matches(f, query)], 117.2, 31.8, 20)
    assert ids_of(body) == [fid for _, fid in expected]
    assert {f["properties"]["hours"] for f in body["features"]} <= {"24/7", "Mo-Su 22:00-06:00"}


def ids_of(body):
    return [f["id"] for f in body["features"]]


def test_input_and_output_datums(client, facilities):
    lon, lat = 117.25, 31.85
    plain = client.get(f"/api/v1/nearest?lon={lon}&lat={lat}&k=5").json
    glon, glat = wgs84_to_gcj02(lon, lat)
    from_amap = client.get(f"/api/v1/nearest?lon={glon}&lat={glat}&k=5&crs=gcj02").json
    blon, blat = wgs84_to_bd09(lon, lat)
    from_baidu = client.get(f"/api/v1/nearest?lon={blon}&lat={blat}&k=5&crs=baidu").json
    assert ids_of(plain) == ids_of(from_amap) == ids_of(from_baidu)
    as_gcj = client.get(f"/api/v1/nearest?lon={lon}&lat={lat}&k=5&out_crs=gcj02").json
    assert as_gcj["coordinate_datum"] == "gcj02"
    for wgs, gcj in zip(plain["features"], as_gcj["features"], strict=True):
        expected = wgs84_to_gcj02(*wgs["geometry"]["coordinates"])
        assert float(haversine_m(*expected, *gcj["geometry"]["coordinates"])) < 0.01


def test_an_out_crs_answer_leaves_later_answers_in_wgs84(client, facilities):
    """Converting the output must not shift the index's cached features."""
    by_id = {f.id: f for f in facilities}
    for out_crs in ("bd09", "gcj02", "bd09"):
        shifted = client.get(f"/api/v1/nearest?lon=117.25&lat=31.85&k=5&out_crs={out_crs}")
        assert shifted.status_code == 200
    again = client.get("/api/v1/nearest?lon=117.25&lat=31.8501&k=5").json
    assert again["coordinate_datum"] == "wgs84"
    for feature in again["features"]:
        facility = by_id[feature["id"]]
        assert feature["geometry"]["coordinates"] == [facility.lon, facility.lat]


def test_etag_and_cache_control(client):
    url = "/api/v1/nearest?lon=117.2&lat=31.8&k=3"
    first = client.get(url)
    assert first.headers["ETag"] and "max-age" in first.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize(
    "query, field",
    [
        ("lat=31.8", "lon"),
        ("lon=117.2", "lat"),
        ("lon=abc&lat=31.8", "lon"),
        ("lon=117.2&lat=95", "lat"),
        ("lon=200&lat=31", "lon"),
        ("lon=117&lat=31&k=51", "k"),
        ("lon=117&lat=31&k=0", "k"),
        ("lon=117&lat=31&k=x", "k"),
        ("lon=117&lat=31&kind=shop", "kind"),
        ("lon=117&lat=31&amenity=sauna", "amenity"),
        ("lon=117&lat=31&crs=mercator", "crs"),
        ("lon=117&lat=31&out_crs=x", "out_crs"),
        ("lon=117&lat=31&max_km=-1", "max_km"),
        ("lon=117&lat=31&open_now=maybe", "open_now"),
        ("lon=117&lat=31&at=yesterday", "at"),
        ("lon=117&lat=31&min_truck_parking=-5", "min_truck_parking"),
        ("lon=117&lat=31&radius=5", "radius"),
        ("lon=nan&lat=31", "lon"),
        ("lon=%3Cscript%3E&lat=31", "lon"),
    ],
)
def test_bad_nearest_parameters_are_400_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/nearest?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_parameter"
    assert response.json["error"]["field"] == field


def test_along_route_in_driving_order(client, facilities):
    route = {"type": "LineString", "coordinates": [[115.5, 30.2], [117.2, 31.8], [119.2, 33.9]]}
    body = client.post("/api/v1/along-route", json={"route": route, "buffer_km": 8}).json
    alongs = [f["properties"]["distance_along_m"] for f in body["features"]]
    assert alongs and alongs == sorted(alongs)
    assert all(f["properties"]["offset_m"] <= 8000 for f in body["features"])
    assert all(f["properties"]["status"] == "open" for f in body["features"])
    reverse = client.post(
        "/api/v1/along-route", json={"route": route["coordinates"][::-1], "buffer_km": 8}
    ).json
    assert set(ids_of(reverse)) == set(ids_of(body))
    # Driving the other way, each facility lies at (route length - its distance along).
    coords = route["coordinates"]
    length = sum(float(haversine_m(*a, *b)) for a, b in zip(coords, coords[1:], strict=False))
    backward = {f["id"]: f["properties"]["distance_along_m"] for f in reverse["features"]}
    for f in body["features"]:
        assert backward[f["id"]] == pytest.approx(
            length - f["properties"]["distance_along_m"], abs=5.0
        )
    ahead = client.post(
        "/api/v1/along-route", json={"route": route, "buffer_km": 8, "position": [117.2, 31.8]}
    ).json
    assert set(ids_of(ahead)) < set(ids_of(body))
    assert all(f["properties"]["distance_along_m"] >= alongs[0] for f in ahead["features"])


def test_along_route_accepts_amap_coordinates(client):
    route = [[115.5, 30.2], [117.2, 31.8], [119.2, 33.9]]
    plain = client.post("/api/v1/along-route", json={"route": route, "buffer_km": 8}).json
    gcj = [list(wgs84_to_gcj02(lon, lat)) for lon, lat in route]
    amap = client.post(
        "/api/v1/along-route", json={"route": gcj, "crs": "gcj02", "buffer_km": 8}
    ).json
    assert ids_of(plain) == ids_of(amap)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"route": [[117, 31]]}, "route"),
        ({"route": {"type": "Point", "coordinates": [1, 2]}}, "route"),
        ({"route": [[117, 31], [118, "x"]]}, "route"),
        ({"route": "LINESTRING(1 2, 3 4)"}, "route"),
        ({}, "route"),
        ({"route": [[117, 31], [118, 32]], "buffer_km": 0}, "buffer_km"),
        ({"route": [[117, 31], [118, 32]], "buffer_km": "far"}, "buffer_km"),
        ({"route": [[117, 31], [118, 32]], "kind": ["shop"]}, "kind"),
        ({"route": [[117, 31], [118, 32]], "position": [117]}, "position"),
        ({"route": [[117, 31], [118, 32]], "position": [117, 95]}, "position"),
        ({"route": [[117, 31], [118, 32]], "color": "red"}, "color"),
        ({"route": [[117, 31]] * 5001}, "route"),
    ],
)
def test_bad_routes_are_400_naming_the_field(client, body, field):
    response = client.post("/api/v1/along-route", json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field


def test_route_must_be_json(client):
    response = client.post(
        "/api/v1/along-route", data="route=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_format"
    broken = client.post("/api/v1/along-route", data="{not json", content_type="application/json")
    assert broken.status_code == 400


def test_huge_route_body_is_413(client):
    big = {"route": [[117.0 + i * 1e-6, 31.0] for i in range(40000)]}
    response = client.post("/api/v1/along-route", json=big)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_cli_nearest_table_and_json(storage, database_url):
    storage.upsert_facilities(
        [
            Facility("a", "近站", "driver_home", 117.2, 31.8, hours="24/7"),
            Facility("b", "远站", "driver_home", 117.9, 32.5),
        ]
    )
    runner = CliRunner()
    table = runner.invoke(
        main,
        ["--database", database_url, "nearest", "--lon", "117.21", "--lat", "31.8", "--k", "2"],
    )
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert "近站" in lines[1] and "营业中" in lines[1] and "远站" in lines[2]
    assert "估算" in lines[-1]
    as_json = runner.invoke(
        main,
        [
            "--database",
            database_url,
            "nearest",
            "--lon",
            "117.21",
            "--lat",
            "31.8",
            "--json",
            "--open-now",
        ],
    )
    import json

    body = json.loads(as_json.output)
    assert [f["id"] for f in body["features"]] == ["a"]
    bad = runner.invoke(
        main, ["--database", database_url, "nearest", "--lon", "x", "--lat", "31.8"]
    )
    assert bad.exit_code == 2 and "lon" in bad.output
