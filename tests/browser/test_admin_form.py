"""The admin facility form in headless Chromium on Amap tiles (GCJ-02): an editor of 肥东县
types coordinates and clicks the map, sees the place line and the hours preview follow,
saves; the station stands where the click was in the API, on the driver's page and on its
own page; then an editor who opened the form before the next save gets both versions."""

from __future__ import annotations

import re

import pytest

from locator.crs import from_wgs84, gcj02_to_wgs84, haversine_m, wgs84_to_gcj02
from tests.browser.test_driver import api, phone_options, result_ids, wait_for_results
from tests.web_fixtures import (
    ADMIN_NOW,
    PASSWORD,
    LiveServer,
    add_accounts,
    close_app,
    loaded_database,
    make_app,
)

pytestmark = pytest.mark.browser

#: A point inside 肥东县 (店埠镇) as Amap shows it (GCJ-02), and where it truly is.
TARGET_GCJ = (117.4750, 31.8850)
TARGET = tuple(float(v) for v in gcj02_to_wgs84(*TARGET_GCJ))
#: A point in 瑶海区 (outside the editor's county) typed in Baidu's datum before the click.
TYPED = (117.3300, 31.8700)
FORM_JS = "window.locatorAdminForm"


@pytest.fixture(scope="module")
def amap_admin(tmp_path_factory):
    """A live server on Amap tiles with the admin tests' accounts and clock, on a database
    of its own (the station it adds stays out of the other browser tests)."""
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("admin-form"))
    add_accounts(url)
    app = make_app(url, tiles="amap", now=ADMIN_NOW, login_limit="1000 per minute")
    with LiveServer(app) as server:
        yield server, app
    close_app(app)
    cleanup()


def sign_in(session, who: str, path: str) -> None:
    page = session.page
    session.goto(f"/login?next={path}")
    page.fill("input[name=name]", who)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form.admin-form button[type=submit]")
    assert page.url.endswith(path), page.url
    page.wait_for_function(f"() => {FORM_JS} !== undefined")


def text_of(page, selector: str, wanted: str) -> str:
    """The text of ``selector`` once it contains ``wanted`` (the answers are debounced)."""
    page.wait_for_function(
        "([s, w]) => document.querySelector(s).textContent.includes(w)", arg=[selector, wanted]
    )
    return page.locator(selector).text_content()


def lng_lat(page, expression: str, arg=None) -> tuple[float, float]:
    """``[lng, lat]`` of the ``L.LatLng`` that ``expression`` (of ``arg``) gives."""
    found = page.evaluate(f"(arg) => {{ const p = {expression}; return [p.lng, p.lat]; }}", arg)
    return found[0], found[1]


def marker_at(page) -> tuple[float, float]:
    return lng_lat(page, f"{FORM_JS}.marker().getLatLng()")


def inputs(page) -> tuple[float, float, str]:
    lon, lat = page.input_value("input[name=lon]"), page.input_value("input[name=lat]")
    return float(lon), float(lat), page.input_value("select[name=crs]")


def save(page, status: int):
    with page.expect_navigation() as navigation:
        page.click("#facility-form button[type=submit]")
    assert navigation.value.status == status, page.content()[:500]
    return navigation.value


def test_an_editor_places_a_station_on_amap_tiles_and_a_late_editor_sees_both(
    session_factory, amap_admin
):
    server, app = amap_admin
    index = app.extensions["locator"].storage.admin_index()
    editor = session_factory(server.url)
    page = editor.page
    sign_in(editor, "feidong", "/admin/facilities/new")
    assert page.evaluate(f"() => {FORM_JS}.datum") == "gcj02"
    # a new station's map starts on the editor's county
    centre = lng_lat(page, f"{FORM_JS}.map.getCenter()")
    assert index.locate(*([v] for v in gcj02_to_wgs84(*centre)))[0]["county"] == "肥东县"

    page.fill("input[name=name]", "地图选点测试站")
    # the hours preview follows the typing, by the app's clock (Tuesday 09:00)
    page.fill("input[name=hours]", "周一至周五 10:00-17:00")
    assert text_of(page, "#hours-preview", "开始营业") == "已关闭，今天 10:00 开始营业"
    page.fill("input[name=hours]", '<img src=x onerror="window.hacked=1">')
    assert "无法识别" in text_of(page, "#hours-preview", "<img src=x")
    assert page.locator("#hours-preview *").count() == 0  # text, never markup
    assert page.evaluate("() => window.hacked") is None
    page.fill("input[name=hours]", "每天8:00-20:00")
    assert text_of(page, "#hours-preview", "营业至") == "营业中，营业至今天 20:00"

    # coordinates typed in BD-09 move the marker where the tiles show that point
    page.select_option("select[name=crs]", "bd09")
    typed_bd = from_wgs84(*TYPED, "bd09")
    page.fill("input[name=lat]", f"{typed_bd[1]:.7f}")
    page.fill("input[name=lon]", f"{typed_bd[0]:.7f}")
    typed_place = index.locate([TYPED[0]], [TYPED[1]])[0]
    assert typed_place["county"] == "瑶海区"
    outside = text_of(page, "#place-line", typed_place["township"])
    assert outside == f"合肥市 瑶海区 {typed_place['township']} · 不在您可编辑的区域内：无法保存。"
    assert "place-outside" in page.locator("#place-line").get_attribute("class")
    page.wait_for_function(f"() => {FORM_JS}.marker() !== null")
    assert haversine_m(*marker_at(page), *wgs84_to_gcj02(*TYPED)) < 0.05

    # a click where the tiles show TARGET_GCJ fills in its WGS-84 point
    page.locator("#location-map").scroll_into_view_if_needed()
    x, y = page.evaluate(
        f"""([lat, lng]) => {{
        const m = {FORM_JS}.map;
        m.setView([lat, lng], 18, {{animate: false}});
        const p = m.latLngToContainerPoint([lat, lng]);
        return [p.x, p.y]; }}""",
        [TARGET_GCJ[1], TARGET_GCJ[0]],
    )
    box = page.locator("#location-map").bounding_box()
    assert 0 < x < box["width"] and 0 < y < box["height"]
    page.mouse.click(box["x"] + x, box["y"] + y)
    place = index.locate([TARGET[0]], [TARGET[1]])[0]
    assert (place["city"], place["county"]) == ("合肥市", "肥东县") and place["township"]
    line = text_of(page, "#place-line", "肥东县")
    assert line == f"合肥市 肥东县 {place['township']} · 在您可编辑的区域内。"
    assert "place-outside" not in page.locator("#place-line").get_attribute("class")
    lon, lat, crs = inputs(page)
    assert crs == "wgs84" and haversine_m(lon, lat, *TARGET) < 1.0
    assert haversine_m(*marker_at(page), *TARGET_GCJ) < 1.0

    saved = save(page, 200)
    facility_id = re.search(r"/admin/facilities/([^?]+)\?saved=1$", saved.url).group(1)
    stored = app.extensions["locator"].storage.get_facility(facility_id)
    assert (stored.county_code, stored.version, stored.hours) == ("340122", 1, "每天8:00-20:00")

    # the station is where the click was: in the API ...
    nearest = api(server.url, "/api/v1/nearest", lon=TARGET[0], lat=TARGET[1], k=1)["features"]
    assert nearest[0]["id"] == facility_id
    assert haversine_m(*nearest[0]["geometry"]["coordinates"], *TARGET) < 1.0
    # ... on its own page (drawn in GCJ-02 on these tiles) ...
    editor.goto(f"/f/{facility_id}")
    page.wait_for_function("() => window.locatorFacilityMap !== undefined")
    spot = page.evaluate("""() => { let found = null;
        window.locatorFacilityMap.eachLayer(l => {
            if (l instanceof L.CircleMarker) { found = [l.getLatLng().lng, l.getLatLng().lat]; }
        }); return found; }""")
    assert haversine_m(*gcj02_to_wgs84(*spot), *TARGET) < 1.0
    assert page.locator(".facility-name").text_content() == "地图选点测试站"
    # ... and first near it on the driver's page, its marker where the click was
    driver = session_factory(
        server.url,
        **phone_options(
            geolocation={"longitude": TARGET[0], "latitude": TARGET[1]},
            permissions=["geolocation"],
        ),
    )
    driver.goto("/")
    driver.page.locator("#near-me").tap()
    wait_for_results(driver.page)
    assert result_ids(driver.page)[0] == facility_id
    assert "地图选点测试站" in driver.page.locator("#results .result").first.text_content()
    shown = lng_lat(driver.page, "window.locatorDriver.markers()[arg].getLatLng()", facility_id)
    assert haversine_m(*gcj02_to_wgs84(*shown), *TARGET) < 1.0

    # a second editor opens the form; the first drags the marker and saves before them
    late = session_factory(server.url)
    sign_in(late, "hefei", f"/admin/facilities/{facility_id}")
    assert haversine_m(*marker_at(late.page), *TARGET_GCJ) < 1.0  # starts at its point
    assert "在您可编辑的区域内" in text_of(late.page, "#place-line", "肥东县")
    editor.goto(f"/admin/facilities/{facility_id}")
    page.wait_for_function(f"() => {FORM_JS} !== undefined")
    page.locator("#location-map").scroll_into_view_if_needed()
    icon = page.locator(".leaflet-marker-icon").bounding_box()
    start = (icon["x"] + icon["width"] / 2, icon["y"] + icon["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1] + 30, steps=6)
    page.mouse.up()
    page.wait_for_function(
        "(lon) => document.querySelector('input[name=lon]').value !== lon", arg=f"{stored.lon}"
    )
    moved_lon, moved_lat, crs = inputs(page)
    assert crs == "wgs84" and 20 < haversine_m(moved_lon, moved_lat, *TARGET) < 2000
    page.fill("input[name=name]", "地图选点测试站（已移动）")
    save(page, 200)
    late.page.fill("input[name=name]", "第二位编辑的名称")
    late.page.fill("input[name=phone]", "0551-7654321")
    save(late.page, 409)
    conflict = late.page.locator(".form-conflict").text_content()
    assert "地图选点测试站（已移动）" in conflict and "第二位编辑的名称" in conflict
    assert "0551-7654321" in conflict
    moved = app.extensions["locator"].storage.get_facility(facility_id)
    assert (moved.name, moved.version) == ("地图选点测试站（已移动）", 2)
    assert haversine_m(moved.lon, moved.lat, moved_lon, moved_lat) < 0.05

    for session in (editor, driver, late):
        assert session.page_errors == []
        assert [u for u in session.outside if "autonavi.com" not in u] == []
