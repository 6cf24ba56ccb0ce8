"""The overview map (``/map``) in headless Chromium: markers, popups, legend, escaping.

Screenshots go to ``tmp_path`` and, when ``LOCATOR_SCREENSHOT_DIR`` is set, to that
folder as ``screenshot-map.png`` (the README's picture: ``make screenshot``).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from locator.model import KINDS
from locator.storage import open_storage
from tests.web_fixtures import LiveServer, add_facilities, close_app, facility, load_into, make_app

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 360, "height": 740}

#: The map object: folium declares it as a global named after the map's element id.
MAP_JS = "window[document.querySelector('.folium-map').id]"

COUNT_MARKERS = f"""() => {{
    const map = {MAP_JS};
    let grouped = null;
    map.eachLayer(layer => {{
        if (layer instanceof L.MarkerClusterGroup) {{ grouped = layer.getLayers().length; }}
    }});
    const clusters = [...document.querySelectorAll('.marker-cluster')]
        .map(el => parseInt(el.textContent.trim(), 10));
    return {{grouped, clusters, singles: document.querySelectorAll('.facility-marker').length,
             zoom: map.getZoom()}};
}}"""


def stored(url: str):
    with open_storage(url) as storage:
        return storage.facilities()


def wait_for_map(session) -> None:
    """Markers and boundaries drawn, and the map settled."""
    page = session.page
    page.wait_for_selector(".facility-marker, .marker-cluster")
    page.wait_for_selector("path.leaflet-interactive", state="attached")
    page.wait_for_function(f"() => !{MAP_JS}._animatingZoom")


def real_console_errors(session) -> list[str]:
    """Console errors but the browser's own favicon probe (the app serves no favicon)."""
    return [e for e in session.console_errors if "/favicon.ico" not in e]


def assert_clean(session) -> None:
    assert session.outside == [], f"requests outside the live server: {session.outside}"
    assert session.page_errors == []
    assert real_console_errors(session) == []


def save_screenshot(page, tmp_path: Path) -> Path:
    shot = tmp_path / "map.png"
    page.screenshot(path=str(shot))
    folder = os.environ.get("LOCATOR_SCREENSHOT_DIR")
    if folder:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / "screenshot-map.png"))
    return shot


def test_map_shows_every_facility(desktop, live_db, tmp_path):
    facilities = stored(live_db)
    counts = Counter(f.kind for f in facilities)
    desktop.goto("/map")
    page = desktop.page
    wait_for_map(desktop)

    # every facility is represented: clusters' counts plus single markers
    seen = page.evaluate(COUNT_MARKERS)
    assert seen["grouped"] == len(facilities) == 312
    assert all(n >= 2 for n in seen["clusters"])
    assert sum(seen["clusters"]) + seen["singles"] == len(facilities)

    # boundaries of the 16 cities and 104 counties are drawn (townships start hidden)
    assert page.locator("path.leaflet-interactive").count() == 16 + 104

    # legend: the kinds present, their counts, in the page's language
    legend = page.locator(".map-legend")
    assert legend.is_visible()
    assert legend.locator(".legend-title").inner_text() == "站点类型"
    rows = legend.locator(".legend-row")
    assert rows.count() == len(counts)
    for i in range(rows.count()):
        row = rows.nth(i)
        kind = row.get_attribute("data-kind")
        assert row.locator(".legend-count").inner_text() == str(counts[kind])
        assert KINDS[kind]["zh"] in row.inner_text()

    # OpenStreetMap attribution on the map (there are no tiles) and under it
    attribution = page.locator(".leaflet-control-attribution")
    assert attribution.is_visible()
    assert "OpenStreetMap" in attribution.inner_text()
    assert page.locator("footer.attribution a", has_text="OpenStreetMap").is_visible()
    assert page.locator(".map-summary").inner_text() == f"共 {len(facilities)} 个站点"

    shot = save_screenshot(page, tmp_path)
    assert shot.stat().st_size > 10_000
    assert_clean(desktop)


def test_clicking_a_marker_opens_its_popup(desktop, live_db):
    names = {f.name for f in stored(live_db)}
    desktop.goto("/map")
    page = desktop.page
    wait_for_map(desktop)

    title = page.evaluate(PICK_IN_VIEW, ".facility-marker")
    assert title in names
    page.locator("[data-test-pick]").click()
    popup = page.locator(".leaflet-popup-content .facility-popup")
    popup.wait_for()
    heading = popup.locator("h4").inner_text()
    assert heading == title
    assert "高速服务区" in popup.inner_text() or "物流园区" in popup.inner_text()
    assert popup.get_attribute("data-facility-id").startswith("osm:")
    assert_clean(desktop)


PICK_IN_VIEW = """selector => {
    // mark the largest (by its number) element matching selector inside the map's view
    document.querySelectorAll('[data-test-pick]')
        .forEach(el => el.removeAttribute('data-test-pick'));
    const view = document.querySelector('.folium-map').getBoundingClientRect();
    const inside = [...document.querySelectorAll(selector)].filter(el => {
        const r = el.getBoundingClientRect();
        return r.left >= view.left + 20 && r.right <= view.right - 20
            && r.top >= view.top + 20 && r.bottom <= view.bottom - 20;
    });
    if (!inside.length) { return null; }
    inside.sort((a, b) => (parseInt(b.textContent, 10) || 0) - (parseInt(a.textContent, 10) || 0));
    inside[0].setAttribute('data-test-pick', '1');
    return inside[0].getAttribute('title') || inside[0].textContent.trim();
}"""

SETTLED = (
    f"z => {{ const m = {MAP_JS}; return (m.getZoom() > z && !m._animatingZoom"
    " && !document.querySelector('.leaflet-cluster-anim'))"
    " || document.querySelector('.leaflet-cluster-spider-leg') !== null; }"
)


def test_clicking_a_cluster_zooms_in_to_its_markers(desktop, live_db):
    names = {f.name for f in stored(live_db)}
    desktop.goto("/map")
    page = desktop.page
    wait_for_map(desktop)
    start = page.evaluate(COUNT_MARKERS)

    picked = None
    for _ in range(10):  # into the biggest cluster in view until it falls apart
        size = page.evaluate(PICK_IN_VIEW, ".marker-cluster")
        if size is None:
            break
        zoom = page.evaluate(f"() => {MAP_JS}.getZoom()")
        page.locator("[data-test-pick]").click()
        page.wait_for_function(SETTLED, arg=zoom)
        picked = page.evaluate(PICK_IN_VIEW, ".facility-marker")
        if picked is not None:
            break
    after = page.evaluate(COUNT_MARKERS)
    assert after["zoom"] > start["zoom"]
    assert after["grouped"] == start["grouped"]  # zooming loses no facility
    assert picked in names

    page.locator("[data-test-pick]").click()
    heading = page.locator(".leaflet-popup-content h4")
    heading.wait_for()
    assert heading.inner_text() == picked
    assert_clean(desktop)


def test_mobile_map_fills_the_screen_and_switches_language(session_factory, live_server):
    mobile = session_factory(
        live_server.url, viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    mobile.goto("/map")
    page = mobile.page
    wait_for_map(mobile)

    box = page.locator(".folium-map").bounding_box()
    assert box["x"] == 0 and box["width"] == MOBILE["width"]
    assert box["height"] >= 0.75 * MOBILE["height"]
    assert box["y"] + box["height"] <= MOBILE["height"]
    sizes = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert sizes == [MOBILE["width"], MOBILE["height"]]  # no scrolling: the map is the page
    assert page.locator(".map-legend").is_visible()

    switch = page.locator(".lang-switch a")
    assert switch.inner_text() == "English"
    switch_box = switch.bounding_box()
    assert switch_box["height"] >= 24 and switch_box["x"] + switch_box["width"] <= 360
    switch.tap()
    page.wait_for_url("**/map?lang=en")
    wait_for_map(mobile)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title() == "Driver service stations"
    assert re.fullmatch(r"\d+ facilities", page.locator(".map-summary").inner_text())
    assert page.locator(".map-legend .legend-title").inner_text() == "Kinds"
    assert "Expressway service area" in page.locator(".map-legend").inner_text()
    assert page.locator(".lang-switch a").inner_text() == "中文"

    # the cookie keeps English on the next visit without ?lang
    mobile.goto("/map")
    assert page.locator("html").get_attribute("lang") == "en"
    assert_clean(mobile)


XSS_NAME = '<img src=x onerror="window.__xss=1">'
TEMPLATE_NAME = "`${window.__xss=2}`"
XSS_AT = (116.30, 30.20)  # near 太湖县, no other facility within kilometres


@pytest.fixture
def xss_server(tmp_path):
    """A live server of its own, whose database holds hostile names."""
    url = f"sqlite:///{tmp_path / 'xss.db'}"
    load_into(url)
    add_facilities(
        url,
        facility(
            "test:xss",
            XSS_NAME,
            lon=XSS_AT[0],
            lat=XSS_AT[1],
            address='"><script>window.__xss=3</script>',
        ),
        facility("test:tpl", TEMPLATE_NAME, lon=XSS_AT[0] + 0.5, lat=XSS_AT[1]),
    )
    app = make_app(url)
    with LiveServer(app) as server:
        yield server
    close_app(app)


@pytest.mark.parametrize("name", [XSS_NAME, TEMPLATE_NAME])
def test_hostile_names_show_as_text(session_factory, xss_server, name):
    session = session_factory(xss_server.url)
    session.goto("/map")
    page = session.page
    wait_for_map(session)
    lon, lat = XSS_AT if name == XSS_NAME else (XSS_AT[0] + 0.5, XSS_AT[1])
    # braces: return nothing, not the map, which Playwright would serialise at length
    page.evaluate(
        f"([lat, lon]) => {{ {MAP_JS}.setView([lat, lon], 16, {{animate: false}}); }}", [lat, lon]
    )
    marker = page.get_by_title(name, exact=True)
    marker.wait_for()
    marker.hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert tooltip.inner_text() == name
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator("h4").inner_text() == name
    assert popup.locator("img, script").count() == 0
    if name == XSS_NAME:
        assert '"><script>window.__xss=3</script>' in popup.inner_text()
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.locator("img[src='x']").count() == 0
    assert_clean(session)
