"""Hostile names in every map, list, tooltip and popup, in headless Chromium.

Facilities and a township whose names are HTML (a ``<meta http-equiv=refresh>`` that
would send the driver to a phishing page, an ``<img>`` that loads any URL and runs
``onerror``, a ``<style>`` that hides the page) must show as text on every page: the
page stays on the app, nothing is fetched from ``evil.example``, no dialog opens, no
such element enters the DOM, and no Content-Security-Policy is violated. The pages'
policies are checked as the browser receives them.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from shapely.geometry import Point

from locator.storage import open_storage
from tests.browser.conftest import Session
from tests.web_fixtures import LiveServer, add_facilities, close_app, facility, load_into, make_app

pytestmark = pytest.mark.browser

META = "<meta http-equiv=refresh content='0;url=https://evil.example/phish'>Station"
IMG = "<img src=https://evil.example/x.png onerror=alert(1)>站"
STYLE = "<style>body{display:none}</style>驿站"
ADDRESS = "<img src=https://evil.example/address.png onerror=alert(3)>路1号"
TOWNSHIP = "<img src=https://evil.example/t.png onerror=alert(2)>荷叶地街道"
TOWNSHIP_CODE = "340104008"  # 荷叶地街道, around the hostile stations
AT = (117.2300, 31.8200)
HOSTILE = {
    "test:meta": (META, AT[0], AT[1]),
    "test:img": (IMG, AT[0] + 0.0030, AT[1] + 0.0015),
    "test:style": (STYLE, AT[0] - 0.0030, AT[1] - 0.0015),
}
#: Where "near me" finds the phone: 330 m north of the stations.
PHONE_AT = {"longitude": AT[0], "latitude": AT[1] + 0.0030}

#: The folium map object: a global named after the map's element id.
FOLIUM_MAP = "window[document.querySelector('.folium-map').id]"

#: Records, in every frame, the policy violations the browser reports to the page.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    """The shipped data, the township around central Hefei renamed, and three stations
    with hostile names in it (added after the rename, so they carry its name too)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('injection') / 'hostile.db'}"
    load_into(url)
    with open_storage(url) as storage:
        units = storage.admin_units()
        renamed = [
            dataclasses.replace(u, name=TOWNSHIP) if u.code == TOWNSHIP_CODE else u for u in units
        ]
        assert renamed != units
        home = next(u for u in renamed if u.code == TOWNSHIP_CODE)
        assert home.geometry.contains(Point(*AT))
        storage.replace_admin_units(renamed)
    add_facilities(
        url,
        *[
            facility(fid, name, lon=lon, lat=lat, address=ADDRESS, operator=name, hours="24/7")
            for fid, (name, lon, lat) in HOSTILE.items()
        ],
    )
    return url


def start_server(url: str, **settings):
    app = make_app(url, **settings)
    return app, LiveServer(app).__enter__()


@pytest.fixture(scope="module")
def hostile_server(hostile_db):
    app, server = start_server(hostile_db)
    yield server
    server.__exit__(None, None, None)
    close_app(app)


@pytest.fixture(scope="module", params=["none", "osm", "amap"])
def tiled_server(request, hostile_db):
    """(tiles, a live server with those site-wide tiles) over the hostile data."""
    app, server = start_server(hostile_db, tiles=request.param)
    yield request.param, server
    server.__exit__(None, None, None)
    close_app(app)


class Watch:
    """What a hostile name could make a page do: requests, navigations, dialogs, policy
    violations (reported to the page and in the console)."""

    def __init__(self, session: Session):
        self.session = session
        self.page = session.page
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.csp_console: list[str] = []
        page = self.page
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text and self.csp_console.append(message.text)
            ),
        )

        def dismiss(dialog):
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dismiss)

    def settle(self) -> None:
        """Let timers queued by the page run (a 0 s refresh would navigate by then)."""
        self.page.evaluate("() => new Promise(done => setTimeout(done, 300))")

    def violations(self) -> list[str]:
        found = []
        for frame in self.page.frames:
            found += frame.evaluate("() => window.__cspViolations || []")
        return found

    def assert_harmless(self) -> None:
        """Nothing hostile happened, and no hostile element is in any frame."""
        self.settle()
        base = self.session.base_url
        assert self.page.url.startswith(base + "/"), self.page.url
        assert [u for u in self.requests if "evil.example" in u] == []
        assert [u for u in self.session.outside if "evil.example" in u] == []
        assert self.dialogs == []
        for frame in self.page.frames:
            assert frame.evaluate("""() => ({
                refresh: document.querySelectorAll('meta[http-equiv="refresh" i]').length,
                evil: document.querySelectorAll('[src*="evil.example"]').length,
                style: [...document.querySelectorAll('style')]
                    .filter(s => s.textContent.includes('display:none')).length,
                hidden: getComputedStyle(document.body).display === 'none'})""") == {
                "refresh": 0,
                "evil": 0,
                "style": 0,
                "hidden": False,
            }, frame.url
        assert self.session.page_errors == []

    def assert_safe(self) -> None:
        """Harmless, within the policies, and nothing asked outside the server."""
        self.assert_harmless()
        self.assert_no_violations()
        self.assert_clean()

    def assert_no_violations(self) -> None:
        assert self.csp_console == []
        assert self.violations() == []

    def assert_clean(self) -> None:
        """Nothing asked outside the live server, no console error (but the browser's
        own favicon probe)."""
        assert self.session.outside == []
        assert [e for e in self.session.console_errors if "/favicon.ico" not in e] == []


def watched(session_factory, base_url: str, **options) -> Watch:
    return Watch(session_factory(base_url, **options))


def policy(response) -> dict[str, str]:
    directives = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        directives[name] = " ".join(sources)
    return directives


def tooltip_texts(page, expected: str) -> list[str]:
    """The texts of the open tooltips, once one reads ``expected`` (or after the timeout:
    the assertion on them then says what was shown instead)."""
    try:
        page.wait_for_function(
            "text => [...document.querySelectorAll('.leaflet-tooltip')]"
            ".some(t => t.innerText.trim() === text)",
            arg=expected,
        )
    except PlaywrightTimeout:
        pass
    return [text.strip() for text in page.locator(".leaflet-tooltip").all_inner_texts()]


# ---- the facility page --------------------------------------------------------------------
@pytest.mark.parametrize("fid", sorted(HOSTILE))
def test_facility_page_shows_the_name_as_text(session_factory, hostile_server, fid):
    name = HOSTILE[fid][0]
    watch = watched(session_factory, hostile_server.url)
    page = watch.page
    response = watch.session.goto(f"/f/{fid}")
    directives = policy(response)
    assert directives["style-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert response.headers["permissions-policy"].startswith("geolocation=()")
    assert page.locator("h1.facility-name").inner_text() == name
    assert page.title() == f"{name} · 司机服务站点"
    assert page.locator(".fact-address").inner_text() == ADDRESS
    assert page.locator(".facility-kind svg circle").get_attribute("fill") == "#d62728"

    page.wait_for_function("() => window.locatorFacilityMap !== undefined")
    page.locator("#facility-map path.leaflet-interactive").hover()
    assert name in tooltip_texts(page, name)
    assert (
        page.locator(".leaflet-tooltip img, .leaflet-tooltip meta, .leaflet-tooltip style").count()
        == 0
    )
    watch.assert_safe()


# ---- the driver's page --------------------------------------------------------------------
def wait_for_results(page, title: str) -> None:
    page.wait_for_function(
        "title => document.querySelector('#results-title').textContent"
        " === title && document.querySelector('#results')"
        ".getAttribute('aria-busy') === 'false'",
        arg=title,
    )


def search(page, text: str, shown: str) -> None:
    """Type ``text`` into the place search and choose the suggestion named ``shown``."""
    page.locator("#place-search").fill(text)
    option = page.locator("#suggestions .suggestion").filter(has_text=shown[-5:]).first
    option.wait_for()
    assert option.locator(".suggestion-name").inner_text() == shown
    option.click()


def hover_origin(page, expected: str) -> list[str]:
    """The tooltips shown by hovering the origin marker, with the map zoomed in on it."""
    page.wait_for_function("() => !window.locatorDriverMap._animatingZoom")
    page.evaluate("""() => { const map = window.locatorDriverMap;
        map.closePopup();
        map.eachLayer(l => { if (l.options && l.options.className === 'origin-marker') {
            map.setView(l.getLatLng(), 17, {animate: false}); } }); }""")
    page.locator(".origin-marker").hover()
    return tooltip_texts(page, expected)


def test_driver_page_lists_and_maps_hostile_names_as_text(session_factory, hostile_server):
    watch = watched(
        session_factory, hostile_server.url, geolocation=PHONE_AT, permissions=["geolocation"]
    )
    page = watch.page
    response = watch.session.goto("/")
    assert policy(response)["style-src"] == "'self'"
    assert "*" not in policy(response)["img-src"].split()
    assert response.headers["permissions-policy"] == (
        "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"
    )

    # a station found by name: the list, its popup (opened by itself), then the others'
    search(page, "Station", META)
    wait_for_results(page, f"{META}附近的站点")
    assert set(page.locator("#results .result-name").all_inner_texts()[:3]) == {META, IMG, STYLE}
    for fid, (name, _lon, _lat) in HOSTILE.items():
        page.locator(f"#results .result[data-id='{fid}'] .result-main").click()
        page.wait_for_function(
            "name => [...document.querySelectorAll("
            "'.leaflet-popup-content .popup-name')]"
            ".some(n => n.textContent === name)",
            arg=name,
        )
        shown = page.locator(".leaflet-popup-content .popup-name").all_inner_texts()
        assert name in shown  # (the last popup may still be fading out)
        # the marker's title, once the cluster has let it go (it animates on a busy machine)
        expect(page.get_by_title(name, exact=True)).to_have_count(1, timeout=10_000)
        assert (
            page.locator(
                ".leaflet-popup-content img, .leaflet-popup-content meta, "
                ".leaflet-popup-content style"
            ).count()
            == 0
        )

    # a township named like a tag: the origin's tooltip is text
    search(page, "荷叶地", TOWNSHIP)
    wait_for_results(page, f"{TOWNSHIP}附近的站点")
    assert set(page.locator("#results .result-name").all_inner_texts()[:3]) == {META, IMG, STYLE}
    assert hover_origin(page, TOWNSHIP) == [TOWNSHIP]
    assert page.locator(".leaflet-tooltip").last.evaluate(
        "t => [...t.querySelectorAll('*')].map(n => n.tagName)"
    ) == ["SPAN"]

    # "near me": the same stations, the origin's tooltip in the page's words
    page.locator("#near-me").click()
    wait_for_results(page, "您的位置附近的站点")
    assert set(page.locator("#results .result-name").all_inner_texts()[:3]) == {META, IMG, STYLE}
    # (the township's tooltip may still be fading out on a busy machine: both are text)
    assert "您在这里" in hover_origin(page, "您在这里")
    assert page.locator(".leaflet-tooltip img, .leaflet-tooltip script").count() == 0
    watch.assert_safe()


# ---- the overview map ---------------------------------------------------------------------
def wait_for_folium(page) -> None:
    page.wait_for_selector(".facility-marker, .marker-cluster")
    page.wait_for_function(f"() => !{FOLIUM_MAP}._animatingZoom")


def hover_and_open(page, name: str) -> None:
    """Hover a facility's marker (by its title) and click it; check tooltip and popup."""
    page.evaluate(
        f"([lat, lon]) => {{ {FOLIUM_MAP}.setView([lat, lon], 17, {{animate: false}}); }}",
        [AT[1], AT[0]],
    )
    marker = page.get_by_title(name, exact=True)
    marker.wait_for()
    marker.hover()
    assert name in tooltip_texts(page, name)
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    page.wait_for_function(
        "name => [...document.querySelectorAll('.leaflet-popup-content h4')]"
        ".some(h => h.textContent === name)",
        arg=name,
    )
    popup = popup.filter(has=page.get_by_role("heading", name=name, exact=True))
    assert ADDRESS in popup.inner_text() and TOWNSHIP in popup.inner_text()
    assert popup.locator("img, meta, style").count() == 0
    page.evaluate(f"() => {{ {FOLIUM_MAP}.closePopup(); }}")


def nonce_of(response) -> str:
    found = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{22})'", policy(response)["script-src"])
    assert found, policy(response)
    return found.group(1)


def test_overview_map_shows_hostile_names_as_text(session_factory, hostile_server):
    watch = watched(session_factory, hostile_server.url)
    page = watch.page
    first = nonce_of(watch.session.goto("/sources"))
    response = watch.session.goto("/map")
    nonce = nonce_of(response)
    assert nonce != first
    assert policy(response)["object-src"] == "'none'"
    assert page.locator("script[nonce]").evaluate_all("els => els.map(e => e.nonce)") == [
        nonce,
        nonce,
    ]  # nonce attributes read empty to scripts, but .nonce keeps it
    wait_for_folium(page)
    for name, _lon, _lat in HOSTILE.values():
        hover_and_open(page, name)

    # the township outlines (hidden at first): the renamed one's tooltip, as a hover
    # of its outline opens it, is text
    tooltip = page.evaluate(
        f"""code => {{
        const map = {FOLIUM_MAP};
        for (const key of Object.keys(window).filter(k => k.startsWith('geo_json_'))) {{
            const layer = window[key];
            if (!(layer instanceof L.GeoJSON)) {{ continue; }}
            const found = layer.getLayers().filter(l => l.feature.properties.code === code);
            if (!found.length) {{ continue; }}
            layer.addTo(map);
            found[0].fire('mouseover', {{latlng: found[0].getBounds().getCenter()}}, true);
            const element = layer.getTooltip().getElement();
            return {{text: element.innerText.trim(),
                     tags: element.querySelectorAll('img, meta, style').length}};
        }}
        return null;
    }}""",
        TOWNSHIP_CODE,
    )
    assert tooltip == {"text": TOWNSHIP, "tags": 0}
    watch.assert_safe()


# ---- the planner's coverage map -----------------------------------------------------------
def test_coverage_map_shows_hostile_names_as_text(session_factory, hostile_server):
    watch = watched(session_factory, hostile_server.url)
    page = watch.page
    nonces = [nonce_of(watch.session.goto("/coverage?city=合肥市")) for _ in range(2)]
    assert nonces[0] != nonces[1]
    page.wait_for_selector(".leaflet-overlay-pane path.township", state="attached")
    wait_for_folium(page)
    township = page.evaluate(
        """code => {
        const api = window.locatorCoverage;
        const found = api.townships.getLayers().filter(l => l.feature.properties.code === code);
        const item = found[0], at = item.getBounds().getCenter();
        item.openTooltip(at);
        const tooltip = item.getTooltip().getElement().innerText.trim();
        item.closeTooltip();
        item.openPopup(at);
        const popup = item.getPopup().getElement();
        return {tooltip, title: popup.querySelector('h4').childNodes[0].textContent.trim(),
                tags: popup.querySelectorAll('img, meta, style').length};
    }""",
        TOWNSHIP_CODE,
    )
    assert township["tooltip"].startswith(TOWNSHIP + " · ")
    assert township["title"] == TOWNSHIP and township["tags"] == 0
    page.evaluate(f"() => {{ {FOLIUM_MAP}.closePopup(); }}")
    assert TOWNSHIP in page.locator("table.gap-table").inner_text()
    for name, _lon, _lat in HOSTILE.values():
        hover_and_open(page, name)
    watch.assert_safe()


# ---- the widget ---------------------------------------------------------------------------
def test_widget_popups_and_list_show_hostile_names_as_text(session_factory, hostile_server):
    watch = watched(session_factory, hostile_server.url)
    page = watch.page
    response = watch.session.goto(f"/embed?center={AT[0]},{AT[1]}&zoom=15&list=on&focus=test:meta")
    assert response.headers["permissions-policy"].startswith("geolocation=(self), ")
    page.wait_for_selector("#embed[data-state=ready]")
    for fid, (name, _lon, _lat) in HOSTILE.items():
        page.evaluate(
            """id => new Promise(done => {
            const marker = window.locatorEmbed.markers()[id];
            window.locatorEmbed.cluster.zoomToShowLayer(marker, () => {
                marker.openPopup(); done(); });
        })""",
            fid,
        )
        popup = page.locator(f".embed-popup[data-facility-id='{fid}'][data-state=ready]")
        popup.wait_for()
        assert popup.locator(".popup-name").inner_text() == name
        text = popup.inner_text()
        assert ADDRESS in text and TOWNSHIP in text
        assert popup.locator("img, meta, style").count() == 0

    # a tap on the map: the list, nearest first, names as text
    page.evaluate(
        """([lon, lat]) => { const e = window.locatorEmbed;
        e.map.closePopup();
        e.map.setView(e.toMap(lon, lat), 16, {animate: false});
        e.map.fire('click', {latlng: e.toMap(lon, lat)});
    }""",
        [PHONE_AT["longitude"], PHONE_AT["latitude"]],
    )
    page.wait_for_function("() => window.locatorEmbed.origin() !== null")
    names = page.locator("#embed-results .embed-item-name").all_inner_texts()
    assert set(names[:3]) == {META, IMG, STYLE}
    page.locator(".embed-origin").hover()
    assert "所选位置" in tooltip_texts(page, "所选位置")
    watch.assert_safe()


# ---- every Leaflet page without policy violations, with and without tiles ----------------
def tile_hosts(tiles: str) -> tuple[str, ...]:
    return {
        "none": (),
        "osm": ("https://tile.openstreetmap.org/",),
        "amap": tuple(f"https://webrd0{n}.is.autonavi.com/" for n in "1234"),
    }[tiles]


def wait_until_asked_outside(watch: Watch) -> None:
    """Wait (up to 10 s) for the page to ask for something outside the live server."""
    for _ in range(100):
        if watch.session.outside:
            return
        watch.page.wait_for_timeout(100)


@pytest.mark.parametrize("path", ["/", "/f/test:meta", "/embed/builder", "/embed", "/map"])
def test_pages_run_without_policy_violations(session_factory, tiled_server, path):
    tiles, server = tiled_server
    watch = watched(session_factory, server.url)
    page = watch.page
    response = watch.session.goto(path)
    directives = policy(response)
    assert "*" not in directives.get("img-src", "").split()
    if path != "/map":
        assert "'unsafe-inline'" not in directives["style-src"]
    if path == "/":
        page.wait_for_function("() => window.locatorDriverMap !== undefined")
    elif path.startswith("/f/"):
        page.wait_for_selector("#facility-map path.leaflet-interactive", state="attached")
    elif path == "/embed":
        page.wait_for_selector("#embed[data-state=ready]")
    elif path == "/embed/builder":
        frame = page.locator("#preview").element_handle().content_frame()
        frame.wait_for_selector("#embed[data-state=ready]")
        page.wait_for_function(
            "() => document.getElementById('snippet-script').value.startsWith('<script src=')"
        )
    else:
        wait_for_folium(page)
    hosts = tile_hosts(tiles)
    if hosts:
        # the policy lets the tile servers through (the test's router then refuses
        # them, as it refuses everything outside the live server)
        wait_until_asked_outside(watch)
        assert watch.session.outside, "no tile was asked for"
    assert all(url.startswith(hosts) for url in watch.session.outside), watch.session.outside
    watch.assert_harmless()
    watch.assert_no_violations()
