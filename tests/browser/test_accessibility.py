"""Accessibility in headless Chromium: axe-core (bundled by axe-playwright-python, injected
into each page), the keyboard, tap targets on a 360 px phone, and the map's text list.

One phone context serves the whole module (its service worker blocked, so every page comes
from the live server), which keeps the added time to about a second per page.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import open_session
from tests.browser.test_driver import HEFEI, PHONE, phone_options, wait_for_results

pytestmark = pytest.mark.browser

#: The impacts the pages must not have (axe-core's two highest of four).
BLOCKING = ("serious", "critical")
#: Every element the keyboard or a finger can reach, as the tap-target check sees them.
INTERACTIVE = "a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex='-1'])"


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.fixture(scope="module")
def phone(browser, live_server):
    """A 360x740 phone that may share its position (Hefei), on the live server."""
    context, session = open_session(
        browser,
        live_server.url,
        service_workers="block",
        **phone_options(geolocation=HEFEI, permissions=["geolocation"]),
    )
    yield session
    context.close()


@pytest.fixture(scope="module")
def station_id(phone, live_server) -> str:
    nearest = phone.page.request.get(f"{live_server.url}/api/v1/nearest?lon=117.23&lat=31.82&k=1")
    return nearest.json()["features"][0]["id"]


def driver_with_results(session, path: str = "/") -> None:
    """The driver's page with the results near the phone's position."""
    session.goto(path)
    session.page.locator("#near-me").tap()
    wait_for_results(session.page)
    assert session.page.locator("#results .result").count() == 10


def settle(session, path: str) -> None:
    """Open ``path`` and wait until its map and script have drawn what they show."""
    page = session.page
    if path.startswith("/?") or path == "/":
        driver_with_results(session, path)
    elif path.startswith("/f/"):
        session.goto(path)
        page.wait_for_function("() => window.locatorFacilityMap !== undefined")
    elif path.startswith("/map"):
        session.goto(path)
        page.wait_for_selector(".facility-marker, .marker-cluster")
    elif path.startswith("/embed"):
        session.goto(path)
        page.wait_for_selector("#embed[data-state=ready]")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?lang=en",
        "/f/{id}",
        "/f/{id}?lang=en",
        "/map",
        "/map?lang=en",
        "/embed",
        "/embed?list=on&theme=dark&lang=en",
    ],
)
def test_axe_finds_no_serious_or_critical_violation(phone, axe, station_id, path):
    path = path.replace("{id}", station_id)
    settle(phone, path)
    results = axe.run(phone.page).response
    assert results["testEngine"]["name"] == "axe-core"
    assert results["testEngine"]["version"].startswith("4.")
    assert results["url"].endswith(path)
    blocking = [
        (v["id"], v["impact"], [node["target"] for node in v["nodes"]][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]
    assert blocking == [], blocking
    # what axe checked: images, labels, contrast, names... (not a blank or broken page)
    checked = {rule["id"] for rule in results["passes"]}
    assert {"html-has-lang", "document-title", "link-name", "color-contrast"} <= checked, checked
    assert phone.page_errors == [], phone.page_errors


def focused(page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.dataset.a11y")


def tab_through(page, limit: int) -> list[str]:
    """The marked elements (``data-a11y``) Tab reaches from the top of the page, in order."""
    # Tab starts after the focused element: focus a mark put first in the page.
    page.evaluate("""() => {
        const start = document.createElement('span');
        start.id = 'a11y-start';
        start.tabIndex = -1;
        document.body.prepend(start);
        start.focus();
    }""")
    order = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = focused(page)
        if name and name not in order:
            order.append(name)
    return order


def test_the_keyboard_reaches_every_control_and_result(phone, live_server):
    page = phone.page
    phone.goto("/")
    # Without a pointer: Tab to "Near me" and press Enter.
    page.locator("body").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "near-me":
            break
    else:
        raise AssertionError("Tab never reached “Near me”")
    page.keyboard.press("Enter")
    wait_for_results(page)
    names = page.evaluate("""() => {
        const controls = document.querySelectorAll('.site-nav a, .lang-switch a, #near-me, '
            + '#place-search, #kind-filter, .chip, #results .result button, '
            + '#results .result a[href]');  // in the page's order
        const results = Array.from(document.querySelectorAll('#results .result'));
        return Array.from(controls, (el, i) => {
            const result = results.indexOf(el.closest('.result'));
            el.dataset.a11y = result >= 0 ? `result-${result}-${i}` : (el.id || `control-${i}`);
            return el.dataset.a11y;
        });
    }""")
    results = [name for name in names if name.startswith("result-")]
    assert len({name.split("-")[1] for name in results}) == 10  # every result has a control
    assert {"near-me", "place-search", "kind-filter"} <= set(names)
    order = tab_through(page, limit=len(names) + 40)  # the map's markers and zoom are between
    assert order == names, set(names) - set(order)  # all of them, in the page's order
    # Enter on a result's "details" link opens its station page.
    details = page.locator("#results .result-link").first
    href = details.get_attribute("href")
    details.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + href)
    assert page.locator("h1.facility-name").is_visible()
    assert phone.page_errors == []


def test_tap_targets_are_44_px_on_the_driver_page(phone):
    page = phone.page
    assert page.viewport_size == PHONE == {"width": 360, "height": 740}
    driver_with_results(phone)
    sizes = page.evaluate(
        """selector => Array.from(document.querySelectorAll(selector))
            .filter(el => el.getClientRects().length
                          && getComputedStyle(el).visibility !== 'hidden')
            // links inside a sentence (attribution) and the map's markers (the list is their
            // equivalent) are WCAG 2.5.8's exceptions
            .filter(el => !el.closest(
                '.attribution, .leaflet-control-attribution, .leaflet-marker-pane')
                && el.id !== 'driver-map')
            .map(el => {
                const box = el.getBoundingClientRect();
                const name = el.id || el.className || el.tagName;
                return [String(name), Math.round(box.width), Math.round(box.height)];
            })""",
        INTERACTIVE,
    )
    names = [name for name, _, _ in sizes]
    for wanted in ("near-me", "place-search", "kind-filter", "chip", "result-main", "result-link"):
        assert any(wanted in name for name in names), (wanted, names)
    assert any("leaflet-control-zoom-in" in name for name in names)
    small = [(name, w, h) for name, w, h in sizes if w < 44 or h < 44]
    assert small == [], small
    # and nothing sticks out sideways
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_map_has_a_text_list_the_keyboard_opens(phone, live_server):
    page = phone.page
    phone.goto("/map")
    page.wait_for_selector(".facility-marker, .marker-cluster")
    listed = page.locator("#map-list li a")
    count = int("".join(c for c in page.locator(".map-summary").inner_text() if c.isdigit()))
    assert listed.count() == count > 100
    assert listed.first.is_hidden()  # closed until asked
    summary = page.locator("#map-list summary")
    box = summary.bounding_box()
    assert box["height"] >= 44
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("#map-list").evaluate("el => el.open")
    first = listed.first
    assert first.is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == (
        first.get_attribute("href")
    )
    href, name = first.get_attribute("href"), first.inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + href)
    assert page.locator("h1.facility-name").inner_text() == name
