"""The driver's page and a facility page on a 360 px phone in headless Chromium.

Screenshots go to ``tmp_path`` and, when ``LOCATOR_SCREENSHOT_DIR`` is set, to that folder
as ``screenshot-driver.png`` and ``screenshot-facility.png``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest

from locator.crs import bd09_to_wgs84, gcj02_to_wgs84, haversine_m
from tests.web_fixtures import LiveServer, add_facilities, close_app, facility, load_into, make_app

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
HEFEI = {"latitude": 31.82, "longitude": 117.23}
MAP_JS = "window.locatorDriverMap"


def phone_options(**extra) -> dict:
    options = {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    options.update(extra)
    return options


def api(server_url: str, path: str, **params) -> dict:
    with urllib.request.urlopen(f"{server_url}{path}?{urlencode(params)}", timeout=10) as r:
        return json.load(r)


def save_screenshot(page, tmp_path: Path, name: str, full_page: bool = False) -> Path:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=full_page)
    folder = os.environ.get("LOCATOR_SCREENSHOT_DIR")
    if folder:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"screenshot-{name}.png"), full_page=full_page)
    return shot


def shown_metres(text: str) -> float:
    """Metres from a shown distance: ``270 米``, ``5.1 公里``, ``270 m``, ``5.1 km``."""
    number, unit = re.fullmatch(r"([\d.]+) (米|公里|m|km)", text).groups()
    return float(number) * (1000 if unit in ("公里", "km") else 1)


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


def worker_ready(page) -> None:
    """The service worker controls the page: it installs over the network, so a test that
    cuts the network waits for it (else the browser logs the failed fetch of its script)."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def result_ids(page) -> list[str]:
    return page.locator("#results .result").evaluate_all("els => els.map(e => e.dataset.id)")


def wait_for_results(page) -> None:
    page.wait_for_selector("#results .result, #results .result-empty")
    page.wait_for_function(
        "() => document.querySelector('#results').getAttribute('aria-busy') === 'false'"
    )


def transferred_bytes(page) -> int:
    return page.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((sum, e) => sum + e.transferSize, 0)""")


def test_near_me_lists_the_nearest_in_order(session_factory, live_server, tmp_path):
    session = session_factory(
        live_server.url, **phone_options(geolocation=HEFEI, permissions=["geolocation"])
    )
    page = session.page
    session.goto("/")
    page.wait_for_function(f"() => {MAP_JS} !== undefined")
    # a light page: no folium, Leaflet and our files only, compressed
    assert page.locator(".folium-map").count() == 0
    weight = transferred_bytes(page)
    print(f"driver page: {weight} bytes transferred")
    assert weight < 120_000, weight
    no_horizontal_scroll(page)

    near_me = page.locator("#near-me")
    box = near_me.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    near_me.tap()
    wait_for_results(page)

    expected = api(live_server.url, "/api/v1/nearest", lon=117.23, lat=31.82, k=10)
    features = expected["features"]
    assert len(features) == 10
    assert result_ids(page) == [f["id"] for f in features]
    items = page.locator("#results .result")
    for i, feature in enumerate(features):
        item = items.nth(i)
        props = feature["properties"]
        assert item.locator(".result-name").inner_text() == props["name"]
        assert item.locator(".result-kind").inner_text() in ("物流园区", "高速服务区")
        metres = shown_metres(item.locator(".result-distance").inner_text())
        assert abs(metres - props["distance_m"]) <= (10 if metres < 1000 else 50)
        minutes = item.locator(".result-minutes")
        assert minutes.inner_text() == f"约 {max(1, round(props['drive_minutes_estimate']))} 分钟"
        assert minutes.get_attribute("title") == "按直线距离估算的车程"
        assert item.locator(".result-open").inner_text() == "时间未知"
        assert item.locator(".result-link").get_attribute("href") == ("/f/" + feature["id"])
        assert item.locator(".result-main").bounding_box()["height"] >= 44
        assert item.locator(".result-link").bounding_box()["width"] >= 44
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances == sorted(distances)
    assert page.locator("#results-title").inner_text() == "您的位置附近的站点"
    # the driver's position and the ten stations on the map
    assert page.locator(".origin-marker").count() == 1
    page.wait_for_function(f"() => !{MAP_JS}._animatingZoom")
    markers = page.locator(".result-marker").count()
    clusters = page.locator(".marker-cluster").count()
    assert markers + clusters >= 1 and markers <= 10
    no_horizontal_scroll(page)
    save_screenshot(page, tmp_path, "driver")

    # list -> map: the marker's popup opens
    third = features[2]
    items.nth(2).locator(".result-main").tap()
    popup = page.locator(".leaflet-popup-content .result-popup")
    popup.wait_for()
    assert popup.locator(".popup-name").inner_text() == third["properties"]["name"]
    assert "is-active" in items.nth(2).get_attribute("class")
    # map -> list: tapping a marker highlights its item
    page.locator(".leaflet-popup-close-button").click()
    page.wait_for_function(f"() => !{MAP_JS}._animatingZoom")
    marker = page.locator(".result-marker").first
    name = marker.get_attribute("title")
    marker.click()
    active = page.locator("#results .result.is-active")
    active.wait_for()
    assert active.locator(".result-name").inner_text() == name

    # an item's page: navigation links that land on the facility
    first = features[0]
    items.nth(0).locator(".result-link").tap()
    page.wait_for_url(f"**/f/{first['id']}")
    lon, lat = first["geometry"]["coordinates"]
    assert page.locator("h1").inner_text() == first["properties"]["name"]
    amap = parse_qs(urlsplit(page.locator("a[data-app=amap]").get_attribute("href")).query)
    g_lon, g_lat = (float(v) for v in amap["position"][0].split(","))
    assert haversine_m(*gcj02_to_wgs84(g_lon, g_lat), lon, lat) < 1.0
    assert amap["name"] == [first["properties"]["name"]]
    baidu = parse_qs(urlsplit(page.locator("a[data-app=baidu]").get_attribute("href")).query)
    b_lat, b_lon = (float(v) for v in baidu["location"][0].split(","))
    assert haversine_m(*bd09_to_wgs84(b_lon, b_lat), lon, lat) < 1.0
    for link in page.locator(".nav-link").all():
        assert link.bounding_box()["height"] >= 44
    assert page.locator("#facility-map .leaflet-interactive").count() == 1
    assert (
        "OpenStreetMap" in page.locator("#facility-map .leaflet-control-attribution").inner_text()
    )
    # the QR code as the browser draws it decodes to this page's address
    qr = page.locator(".qr img")
    page.wait_for_function("() => document.querySelector('.qr img').naturalWidth > 0")
    assert decode_image(page, ".qr img") == live_server.url + f"/f/{first['id']}"
    assert qr.bounding_box()["width"] >= 150
    no_horizontal_scroll(page)
    save_screenshot(page, tmp_path, "facility", full_page=True)
    session.assert_clean()


def decode_image(page, selector: str) -> str:
    """Draw an image onto a canvas in the page and decode its QR code with zxing-cpp."""
    import zxingcpp

    data = page.evaluate(
        """selector => {
        const img = document.querySelector(selector);
        const size = 4 * img.naturalWidth;
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = size;
        const context = canvas.getContext('2d');
        context.imageSmoothingEnabled = false;
        context.drawImage(img, 0, 0, size, size);
        const rgba = context.getImageData(0, 0, size, size).data;
        const grey = [];
        for (let i = 0; i < rgba.length; i += 4) { grey.push(rgba[i + 1]); }
        return {size, grey};
    }""",
        selector,
    )
    image = np.array(data["grey"], dtype=np.uint8).reshape(data["size"], data["size"])
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    return found[0].text


def test_denied_location_says_what_to_do(session_factory, live_server):
    session = session_factory(live_server.url, **phone_options(geolocation=HEFEI))
    page = session.page
    session.goto("/")
    page.locator("#near-me").tap()
    status = page.locator("#status")
    page.wait_for_function(
        "() => document.querySelector('#status').classList.contains('status-error')"
    )
    assert status.inner_text().startswith("未获得定位权限。请搜索地点，或点击地图选择位置。")
    assert page.locator("#results .result").count() == 0
    assert page.locator("#near-me").is_enabled()
    # the manual way: tap the map
    map_box = page.locator("#driver-map").bounding_box()
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2)
    wait_for_results(page)
    assert page.locator("#results-title").inner_text() == "所选位置附近的站点"
    assert page.locator("#results .result").count() == 10
    session.assert_clean()


@pytest.mark.parametrize("query", ["hefei", "合肥"])
def test_search_suggests_places_and_moves_the_map(session_factory, live_server, query):
    session = session_factory(live_server.url, **phone_options())
    page = session.page
    session.goto("/")
    page.wait_for_function(f"() => {MAP_JS} !== undefined")
    before = page.evaluate(f"() => {MAP_JS}.getZoom()")
    page.locator("#place-search").fill(query)
    options = page.locator("#suggestions [role=option]")
    options.first.wait_for()
    assert page.locator("#place-search").get_attribute("aria-expanded") == "true"
    assert options.first.locator(".suggestion-name").inner_text() == "合肥市"
    assert options.first.locator(".suggestion-context").inner_text() == "安徽省"
    assert options.count() == len(
        api(live_server.url, "/api/v1/places", q=query, limit=8)["features"]
    )
    assert options.first.bounding_box()["height"] >= 44
    no_horizontal_scroll(page)
    options.first.tap()
    wait_for_results(page)
    page.wait_for_function(f"() => !{MAP_JS}._animatingZoom")
    after = page.evaluate(f"() => [{MAP_JS}.getZoom(), {MAP_JS}.getCenter()]")
    assert after[0] > before
    hefei = api(live_server.url, "/api/v1/places", q="合肥", limit=1)["features"][0]
    west, south, east, north = hefei["bbox"]
    assert west < after[1]["lng"] < east and south < after[1]["lat"] < north
    assert page.locator("#results-title").inner_text() == "合肥市附近的站点"
    assert page.locator("#suggestions").is_hidden()
    session.assert_clean()


SHOWER_AT = (117.2300, 31.8300)


@pytest.fixture
def amenity_server(tmp_path):
    """A live server whose data has stations with and without amenities near Hefei."""
    url = f"sqlite:///{tmp_path / 'amenities.db'}"
    load_into(url)
    lon, lat = SHOWER_AT
    add_facilities(
        url,
        facility("test:plain", "无设施驿站", lon=lon, lat=lat + 0.002),
        facility(
            "test:parking",
            "停车驿站",
            lon=lon + 0.004,
            lat=lat,
            amenities=frozenset({"truck_parking"}),
        ),
        facility(
            "test:both",
            "淋浴停车司机之家",
            lon=lon,
            lat=lat + 0.008,
            hours="24/7",
            amenities=frozenset({"truck_parking", "shower", "toilet"}),
        ),
        facility(
            "test:shower",
            "淋浴驿站",
            lon=lon + 0.02,
            lat=lat,
            hours="off",
            amenities=frozenset({"shower"}),
        ),
    )
    app = make_app(url)
    with LiveServer(app) as server:
        yield server
    close_app(app)


def test_amenity_chips_filter_the_list(session_factory, amenity_server):
    session = session_factory(
        amenity_server.url,
        **phone_options(
            geolocation={"latitude": SHOWER_AT[1], "longitude": SHOWER_AT[0]},
            permissions=["geolocation"],
        ),
    )
    page = session.page
    session.goto("/")
    page.locator("#near-me").tap()
    wait_for_results(page)
    assert result_ids(page)[:4] == ["test:plain", "test:parking", "test:both", "test:shower"]

    shower = page.locator(".chip[data-amenity=shower]")
    assert shower.inner_text() == "淋浴"
    assert shower.bounding_box()["height"] >= 44
    shower.tap()
    page.wait_for_function("() => document.querySelectorAll('#results .result').length === 2")
    wait_for_results(page)
    assert shower.get_attribute("aria-pressed") == "true"
    expected = api(
        amenity_server.url,
        "/api/v1/nearest",
        lon=SHOWER_AT[0],
        lat=SHOWER_AT[1],
        k=10,
        amenity="shower",
    )
    assert (
        result_ids(page) == [f["id"] for f in expected["features"]] == ["test:both", "test:shower"]
    )
    # "off": closed all of today
    assert page.locator("#results .result-open").all_inner_texts() == ["营业中", "今日休息"]

    page.locator(".chip[data-open-now]").tap()
    page.wait_for_function("() => document.querySelectorAll('#results .result').length === 1")
    wait_for_results(page)
    assert result_ids(page) == ["test:both"]

    page.locator(".chip[data-amenity=laundry]").tap()
    page.wait_for_selector("#results .result-empty")
    assert page.locator("#results .result-empty").inner_text() == "附近没有符合条件的站点。"
    no_horizontal_scroll(page)
    session.assert_clean()


def test_saved_results_when_the_network_fails(session_factory, amenity_server):
    session = session_factory(
        amenity_server.url,
        **phone_options(
            geolocation={"latitude": SHOWER_AT[1], "longitude": SHOWER_AT[0]},
            permissions=["geolocation"],
        ),
    )
    page = session.page
    session.goto("/")
    page.locator("#near-me").tap()
    wait_for_results(page)
    found = result_ids(page)
    assert found[0] == "test:plain"
    worker_ready(page)

    page.context.set_offline(True)
    page.locator(".chip[data-amenity=canteen]").tap()  # asks again, and fails
    page.wait_for_function(
        "() => document.querySelector('#status').classList.contains('status-saved')"
    )
    text = page.locator("#status-text").inner_text()
    # marked with their age and when they were saved (offline.js)
    assert re.fullmatch(r"离线 · 刚刚的结果 · \d{1,2}/\d{1,2} \d{2}:\d{2}", text), text
    assert result_ids(page) == found  # the last results, marked as saved
    assert "is-saved" in page.locator("#results").get_attribute("class")
    retry = page.locator("#retry")
    assert retry.is_visible() and retry.bounding_box()["height"] >= 44

    page.context.set_offline(False)
    retry.tap()
    page.wait_for_function(
        "() => !document.querySelector('#results').classList.contains('is-saved')"
    )
    wait_for_results(page)
    assert page.locator("#results .result-empty").count() == 1  # no canteen nearby
    session.outside.clear()  # offline requests are aborted by the browser, not sent out
    session.console_errors[:] = [
        e for e in session.console_errors if "ERR_INTERNET_DISCONNECTED" not in e
    ]
    session.assert_clean()


def test_a_failed_request_without_saved_results_offers_a_retry(session_factory, live_server):
    session = session_factory(live_server.url, **phone_options())
    page = session.page
    session.goto("/")
    worker_ready(page)
    page.context.set_offline(True)
    map_box = page.locator("#driver-map").bounding_box()
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2)
    page.wait_for_function(
        "() => document.querySelector('#status').classList.contains('status-error')"
    )
    assert page.locator("#status-text").inner_text() == "无法加载站点，请检查网络连接。"
    assert page.locator("#retry").is_visible()
    page.context.set_offline(False)
    page.locator("#retry").tap()
    wait_for_results(page)
    assert page.locator("#results .result").count() == 10
    session.console_errors[:] = [
        e for e in session.console_errors if "ERR_INTERNET_DISCONNECTED" not in e
    ]
    session.assert_clean()


def test_driver_page_in_english(session_factory, live_server):
    session = session_factory(
        live_server.url, **phone_options(geolocation=HEFEI, permissions=["geolocation"])
    )
    page = session.page
    session.goto("/?lang=en")
    assert page.locator("#near-me").inner_text() == "Near me"
    page.locator("#near-me").tap()
    wait_for_results(page)
    assert page.locator("#results-title").inner_text() == "Nearest stations to your position"
    first = page.locator("#results .result").first
    assert re.fullmatch(r"about \d+ min", first.locator(".result-minutes").inner_text())
    assert re.fullmatch(r"[\d.]+ (m|km)", first.locator(".result-distance").inner_text())
    assert first.locator(".result-open").inner_text() == "Hours unknown"
    no_horizontal_scroll(page)
    session.assert_clean()
