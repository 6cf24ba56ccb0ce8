"""On Amap tiles (GCJ-02) the driver's and facility pages draw every WGS-84 point where
the tiles have it, and read map clicks back to WGS-84; on WGS-84 tiles nothing moves."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from locator.crs import haversine_m, wgs84_to_gcj02
from tests.browser.test_driver import HEFEI, MAP_JS, api, phone_options, wait_for_results
from tests.web_fixtures import LiveServer, close_app, make_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=["amap", "none"])
def tiled(request, live_db):
    """(tiles name, a live server whose site-wide tiles are those)."""
    app = make_app(live_db, tiles=request.param)
    with LiveServer(app) as server:
        yield request.param, server
    close_app(app)


def shown(tiles: str, lon: float, lat: float) -> tuple[float, float]:
    return wgs84_to_gcj02(lon, lat) if tiles == "amap" else (lon, lat)


def test_driver_page_draws_and_reads_points_in_the_tiles_datum(session_factory, tiled):
    tiles, server = tiled
    session = session_factory(
        server.url, **phone_options(geolocation=HEFEI, permissions=["geolocation"])
    )
    page = session.page
    session.goto("/")
    page.wait_for_function(f"() => {MAP_JS} !== undefined")
    assert page.evaluate("() => window.locatorDriver.datum") == (
        "gcj02" if tiles == "amap" else "wgs84"
    )
    page.locator("#near-me").tap()
    wait_for_results(page)

    features = api(
        server.url, "/api/v1/nearest", lon=HEFEI["longitude"], lat=HEFEI["latitude"], k=10
    )["features"]
    markers = page.evaluate("""() => Object.entries(window.locatorDriver.markers())
        .map(([id, m]) => [id, m.getLatLng().lng, m.getLatLng().lat])""")
    at = {fid: (lng, lat) for fid, lng, lat in markers}
    assert sorted(at) == sorted(f["id"] for f in features)
    for feature in features:
        lon, lat = feature["geometry"]["coordinates"]
        want = shown(tiles, lon, lat)
        assert abs(at[feature["id"]][0] - want[0]) < 1e-9
        assert abs(at[feature["id"]][1] - want[1]) < 1e-9
        if tiles == "amap":
            assert haversine_m(lon, lat, *at[feature["id"]]) > 100  # a real shift

    # A tap on the map where the tiles show a WGS-84 point asks for that point.
    page.wait_for_function(f"() => !{MAP_JS}._animatingZoom")
    target = (117.2600, 31.8350)
    x, y = page.evaluate(
        """([lat, lng]) => {
        const m = window.locatorDriverMap;
        m.setView([lat, lng], 17, {animate: false});  // no station within 100 m of it
        const p = m.latLngToContainerPoint([lat, lng]);
        return [p.x, p.y]; }""",
        list(reversed(shown(tiles, *target))),
    )
    box = page.locator("#driver-map").bounding_box()
    assert 0 < x < box["width"] and 0 < y < box["height"]
    with page.expect_request(lambda r: "/api/v1/nearest?" in r.url) as asked:
        page.mouse.click(box["x"] + x, box["y"] + y)
    query = parse_qs(urlsplit(asked.value.url).query)
    assert "crs" not in query  # the API is asked in WGS-84
    # one screen pixel at this zoom is a few metres; the point read back is within it
    metres_per_pixel = page.evaluate("""() => {
        const m = window.locatorDriverMap, c = m.getSize().divideBy(2);
        return m.distance(m.containerPointToLatLng(c), m.containerPointToLatLng(c.add([1, 0])));
    }""")
    error = haversine_m(float(query["lon"][0]), float(query["lat"][0]), *target)
    assert error < max(1.0, 1.5 * metres_per_pixel), (error, metres_per_pixel)
    wait_for_results(page)
    outside = [u for u in session.outside if "autonavi.com" not in u]
    assert outside == [] and session.page_errors == []
    if tiles == "amap":
        assert any("autonavi.com" in u for u in session.outside)  # tried, blocked here


def test_facility_page_marks_the_spot_in_the_tiles_datum(session_factory, tiled):
    tiles, server = tiled
    feature = api(server.url, "/api/v1/nearest", lon=117.23, lat=31.82, k=1)["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    session = session_factory(server.url, **phone_options())
    page = session.page
    session.goto("/f/" + feature["id"])
    page.wait_for_function("() => window.locatorFacilityMap !== undefined")
    spot = page.evaluate("""() => {
        let found = null;
        window.locatorFacilityMap.eachLayer(l => {
            if (l instanceof L.CircleMarker) { found = [l.getLatLng().lng, l.getLatLng().lat]; }
        });
        const c = window.locatorFacilityMap.getCenter();
        return found.concat([c.lng, c.lat]); }""")
    want = shown(tiles, lon, lat)
    assert abs(spot[0] - want[0]) < 1e-9 and abs(spot[1] - want[1]) < 1e-9
    assert haversine_m(spot[2], spot[3], *want) < 1.0  # centred on it
    assert session.page_errors == []
    assert [u for u in session.outside if "autonavi.com" not in u] == []
