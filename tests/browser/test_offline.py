"""The installable app without a network: the service worker in headless Chromium.

Playwright lets pages register service workers (``service_workers="allow"``, the default,
which these contexts keep), and in Chromium it routes the worker's own requests through
``context.route`` like the page's (the conftest continues them to the live server and
records any other), and applies ``set_offline`` to the worker too. A page the worker
answers from its cache makes no request at all, so with the network cut every page
shown below comes from the worker's cache: the tests check the worker's mark on it
(``data-offline-saved-at``) and that the worker's requests did pass through the route.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.test_driver import (
    HEFEI,
    phone_options,
    result_ids,
    wait_for_results,
    worker_ready,
)

pytestmark = pytest.mark.browser

#: Every cache of the origin and its entries, as ``{name: ["GET /path?query", ...]}``.
CACHES = """async () => {
    const out = {};
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        out[name] = (await cache.keys()).map(r => {
            const url = new URL(r.url);
            return r.method + " " + url.pathname + url.search;
        });
    }
    return out;
}"""


def kept_pages(page) -> list[str]:
    return page.evaluate(CACHES).get("locator-pages", [])


def test_visited_pages_and_last_results_open_offline(session_factory, live_server):
    session = session_factory(
        live_server.url, **phone_options(geolocation=HEFEI, permissions=["geolocation"])
    )
    page = session.page
    from_worker = []
    page.context.on("request", lambda r: r.service_worker is not None and from_worker.append(r.url))

    # A station page first, as from a QR poster: opened before any worker, it asks to be kept.
    nearest = page.request.get(f"{live_server.url}/api/v1/nearest?lon=117.23&lat=31.82&k=12")
    poster_id = nearest.json()["features"][11]["id"]
    session.goto(f"/f/{poster_id}")
    poster_name = page.locator(".facility-name").inner_text()
    worker_ready(page)
    page.wait_for_function(
        f"""async () => (await caches.open('locator-pages')).match(
            new URL('/f/{poster_id}', location.href).href).then(Boolean)"""
    )

    # The driver's page (kept at install), its results, then a station from the list.
    session.goto("/")
    worker_ready(page)
    page.locator("#near-me").tap()
    wait_for_results(page)
    found = result_ids(page)
    assert len(found) == 10
    first = page.locator("#results .result-link").first
    station_name = page.locator("#results .result-name").first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/f/"))
    station_path = page.url.removeprefix(live_server.url)
    assert page.locator(".facility-name").inner_text() == station_name
    assert page.evaluate("() => document.documentElement.dataset.offlineSavedAt") is None
    page.wait_for_function(
        f"""async () => (await caches.open('locator-pages')).match(
            new URL('{station_path}', location.href).href).then(Boolean)"""
    )
    # the worker fetched through the context's route (nothing bypassed it)
    assert any("/static/driver." in url for url in from_worker), from_worker

    # Three minutes later, without a network.
    page.context.set_offline(True)
    page.clock.set_fixed_time(datetime.now() + timedelta(minutes=3, seconds=10))
    fetched = page.evaluate(
        "() => fetch('/api/v1/nearest?lon=117.2&lat=31.8').then(() => 'answered', () => 'failed')"
    )
    assert fetched == "failed"  # the network is gone for the page, and the API is never kept

    page.goto(live_server.url + "/", wait_until="load")
    assert page.evaluate("() => navigator.serviceWorker.controller !== null")
    assert page.evaluate("() => Number(document.documentElement.dataset.offlineSavedAt) > 0")
    page.wait_for_function(f"() => {'window.locatorDriverMap'} !== undefined")  # Leaflet, kept
    page.wait_for_selector("#status.status-saved")
    status = page.locator("#status-text").inner_text()
    assert re.fullmatch(r"离线 · 3 分钟前的结果 · \d{1,2}/\d{1,2} \d{2}:\d{2}", status), status
    assert result_ids(page) == found  # the last results, as the page found them
    assert "is-saved" in page.locator("#results").get_attribute("class")
    assert page.locator("#retry").is_visible()

    page.goto(live_server.url + station_path, wait_until="load")
    assert page.locator(".facility-name").inner_text() == station_name
    assert page.locator("#offline-note").inner_text() == "离线 · 3 分钟前保存的页面"
    assert page.locator("#offline-note").get_attribute("role") == "status"
    page.wait_for_function("() => window.locatorFacilityMap !== undefined")  # Leaflet, kept
    height = page.locator("#share").evaluate("el => getComputedStyle(el).minHeight")
    assert height == "52px"  # facility.css, kept

    page.goto(f"{live_server.url}/f/{poster_id}", wait_until="load")
    assert page.locator(".facility-name").inner_text() == poster_name
    assert page.locator("#offline-note").inner_text() == "离线 · 3 分钟前保存的页面"

    with pytest.raises(PlaywrightError):  # a station never opened is not there
        page.goto(f"{live_server.url}/f/{found[-1]}", wait_until="load")

    # Back online: the page is fresh again, unmarked.
    page.context.set_offline(False)
    page.goto(live_server.url + station_path, wait_until="load")
    assert page.locator("#offline-note").count() == 0
    assert page.evaluate("() => document.documentElement.dataset.offlineSavedAt") is None

    session.outside.clear()  # offline requests are aborted by the browser, not sent out
    session.console_errors[:] = [
        e
        for e in session.console_errors
        if "ERR_INTERNET_DISCONNECTED" not in e and "network error response" not in e
    ]
    session.assert_clean()


def test_the_worker_keeps_no_account_page_write_or_cookie_answer(session_factory, live_server):
    session = session_factory(live_server.url, **phone_options())
    page = session.page
    session.goto("/")
    worker_ready(page)
    for path in ("/admin/facilities", "/login", "/?lang=en", "/?lang=zh"):
        session.goto(path)
    worker_ready(page)
    # writes from the page: a login attempt and API writes
    answers = page.evaluate("""async () => {
        const form = new URLSearchParams({username: 'nobody', password: 'wrong'});
        const sent = [
            fetch('/login', {method: 'POST', body: form}),
            fetch('/api/v1/facilities', {method: 'POST', headers: {'Content-Type':
                'application/json'}, body: '{"name": "x"}'}),
            fetch('/api/v1/facilities/osm:1', {method: 'PATCH', body: '{}'}),
            fetch('/api/v1/facilities/osm:1', {method: 'DELETE'}),
            fetch('/api/v1/nearest?lon=117.23&lat=31.82&k=3'),
        ];
        return (await Promise.all(sent)).map(r => r.status);
    }""")
    assert answers[1:4] == [401, 401, 401] and answers[4] == 200
    caches = page.evaluate(CACHES)
    assets = [name for name in caches if name.startswith("locator-assets-")]
    assert sorted(caches) == sorted(["locator-pages", *assets]) and len(assets) == 1
    entries = [entry for entries in caches.values() for entry in entries]
    assert all(entry.startswith("GET ") for entry in entries), entries
    paths = [entry.split(" ", 1)[1] for entry in entries]
    assert caches["locator-pages"] == ["GET /"]  # the cookie-setting ?lang= answers are not kept
    assert not [p for p in paths if p.startswith(("/admin", "/login", "/api", "/logout"))]
    hashed = re.compile(r"GET /(static|vendor)/.+\.[0-9a-f]{12}\.\w+$")
    assert [p for p in caches[assets[0]] if not hashed.match(p)] == []
    session.console_errors.clear()  # the 401s of the writes
    assert session.outside == [] and session.page_errors == []


def test_station_page_offers_add_to_home_screen(session_factory, live_server):
    session = session_factory(live_server.url, **phone_options())
    page = session.page
    nearest = page.request.get(f"{live_server.url}/api/v1/nearest?lon=117.23&lat=31.82&k=1")
    session.goto(f"/f/{nearest.json()['features'][0]['id']}")
    install = page.locator("#install")
    # Without the browser's prompt: a short hint.
    assert install.is_visible()
    assert page.locator("#install-hint").inner_text().startswith("在浏览器菜单中选择“添加到主屏幕”")
    assert page.locator("#install-button").is_hidden()
    # The browser offers to install (beforeinstallprompt): our button asks when tapped.
    prevented = page.evaluate("""() => {
        const event = new Event('beforeinstallprompt', {cancelable: true});
        event.prompt = () => { window.__prompted = (window.__prompted || 0) + 1; };
        event.userChoice = Promise.resolve({outcome: 'accepted', platform: 'web'});
        window.dispatchEvent(event);
        return event.defaultPrevented;
    }""")
    assert prevented  # the browser's own banner waits for the driver's tap
    button = page.locator("#install-button")
    assert button.inner_text() == "添加到主屏幕" and page.locator("#install-hint").is_hidden()
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    button.tap()
    page.wait_for_function("() => document.getElementById('install').hidden")
    assert page.evaluate("() => window.__prompted") == 1
    session.assert_clean()
