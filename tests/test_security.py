"""Security headers on pages and API responses: framing, sniffing, the pages' policies
(tile hosts as image sources, per-response script nonces) and the Permissions-Policy."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import request_started
from shapely.geometry import box

from locator.maps import build_facility_map, map_parts
from locator.model import AdminUnit
from tests.web_fixtures import add_facilities, close_app, facility, make_app

HOSTILE_NAME = "<meta http-equiv=refresh content='0;url=https://evil.example/phish'>Station"
DENY_ALL = "geolocation=(), camera=(), microphone=(), payment=(), usb=()"
GEOLOCATION_SELF = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{22})'")


@pytest.fixture(scope="module")
def url(shipped_sqlite_url):
    """The shipped data and a facility with a hostile name in central Hefei."""
    add_facilities(shipped_sqlite_url, facility("test:hostile", HOSTILE_NAME))
    return shipped_sqlite_url


def policy(response) -> dict[str, str]:
    """The directives of a response's Content-Security-Policy: name -> sources."""
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = " ".join(sources)
    return directives


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def inline_scripts(self) -> list[dict[str, str | None]]:
        """Scripts a browser runs from the page itself (not JSON data blocks)."""
        return [
            attrs
            for tag, attrs in self.tags
            if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json"
        ]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/f/test:hostile",
        "/map",
        "/sources",
        "/embed/builder",
        "/api/v1/facilities",
        "/api/v1/openapi.json",
        "/no-such-page",
        "/api/v1/facilities/none",
    ],
)
def test_every_response_forbids_framing_by_others_and_sniffing(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert policy(response)["frame-ancestors"] == "'self'"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_api_sets_no_cookies(client):
    response = client.get("/api/v1/facilities?lang=en")
    assert "Set-Cookie" not in response.headers


# ---- Permissions-Policy --------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/", "/embed", "/embed?city=合肥市&list=on", "/embed/builder"]
)  # its preview's "near me"
def test_pages_that_ask_for_the_position_allow_geolocation_to_this_site(client, path):
    assert client.get(path).headers["Permissions-Policy"] == GEOLOCATION_SELF


@pytest.mark.parametrize(
    "path",
    [
        "/map",
        "/f/test:hostile",
        "/sources",
        "/coverage",
        "/embed/data.geojson",
        "/api/v1/facilities",
        "/no-such-page",
    ],
)
def test_every_other_response_denies_geolocation_and_devices(client, path):
    assert client.get(path).headers["Permissions-Policy"] == DENY_ALL


def test_the_nearest_hot_path_denies_them_too(app, client):
    through_flask: list[str] = []

    def record(sender, **extra):
        through_flask.append("flask")

    request_started.connect(record, app)
    try:
        response = client.get("/api/v1/nearest?lon=117.23&lat=31.82&k=3")
    finally:
        request_started.disconnect(record, app)
    assert response.status_code == 200
    assert through_flask == []  # answered by the hot path, not the Flask view
    assert response.headers["Permissions-Policy"] == DENY_ALL
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# ---- the driver pages: no inline styles, images from the tile servers only ----------------
@pytest.mark.parametrize(
    ("tiles", "images"),
    [
        ("none", "'self' data:"),
        ("osm", "'self' data: https://tile.openstreetmap.org"),
        ("amap", "'self' data: https://*.is.autonavi.com"),
    ],
)
def test_driver_pages_allow_no_inline_style_and_only_tile_images(url, tiles, images):
    app = make_app(url, tiles=tiles)
    try:
        client = app.test_client()
        for path in ("/", "/f/test:hostile"):
            response = client.get(path)
            assert response.status_code == 200, path
            directives = policy(response)
            assert directives["style-src"] == "'self'", path
            assert directives["script-src"] == "'self'", path
            assert directives["img-src"] == images, path
            assert directives["default-src"] == "'self'", path
            assert directives["object-src"] == "'none'", path
            page = Tags(response.get_data(as_text=True))
            assert [tag for tag, attrs in page.tags if "style" in attrs or tag == "style"] == []
            assert page.inline_scripts() == []
    finally:
        close_app(app)


def test_a_custom_tile_server_is_the_only_other_image_source(url):
    app = make_app(url, tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png")
    try:
        assert policy(app.test_client().get("/"))["img-src"] == "'self' data: http://127.0.0.1:9"
    finally:
        close_app(app)


def test_the_kind_colour_is_an_svg_fill_not_a_style(client):
    html = client.get("/f/test:hostile").get_data(as_text=True)
    assert '<circle cx="6" cy="6" r="6" fill="#d62728"/>' in html
    assert HOSTILE_NAME not in html  # the name is escaped in the page ...
    assert "&lt;meta http-equiv=refresh" in html  # ... and shown as text


# ---- the folium pages: inline scripts by nonce only ------------------------------------------
@pytest.mark.parametrize("path", ["/map", "/coverage?city=合肥市", "/sources", "/map?lang=en"])
def test_folium_pages_run_only_the_inline_scripts_of_their_own_nonce(client, path):
    first, second = client.get(path), client.get(path)
    nonces = []
    for response in (first, second):
        assert response.status_code == 200
        directives = policy(response)
        found = NONCE.findall(directives["script-src"])
        assert len(found) == 1 and directives["script-src"] == f"'self' 'nonce-{found[0]}'"
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'self'"
        nonces.append(found[0])
        page = Tags(response.get_data(as_text=True))
        scripts = [attrs for tag, attrs in page.tags if tag == "script"]
        for attrs in scripts:
            if attrs.get("src"):  # the app's own files (Leaflet too), never a CDN
                assert attrs["src"].startswith("/") and not attrs["src"].startswith("//")
        assert all(attrs.get("nonce") == found[0] for attrs in page.inline_scripts())
        if path != "/sources":
            assert len(page.inline_scripts()) == 2  # folium's set-up and the map
    assert nonces[0] != nonces[1]
    assert nonces[0] not in second.get_data(as_text=True)  # no nonce kept in a cache


def test_the_printable_report_runs_only_this_sites_scripts(client):
    response = client.get("/coverage/report?city=合肥市")
    assert response.status_code == 200
    found = policy(response)
    assert found["script-src"] == "'self'" and found["object-src"] == "'none'"
    assert found["frame-ancestors"] == "'self'"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script to allow


# ---- escaping in the folium maps ---------------------------------------------------------
def test_township_tooltips_of_the_overview_map_are_escaped():
    town = AdminUnit(
        "340102001", HOSTILE_NAME, "township", "340102", geometry=box(117.30, 31.85, 117.32, 31.87)
    )
    script = map_parts(build_facility_map([], [town]))["script"]
    assert "http-equiv" in script  # the name is there ...
    assert "\\u003cmeta" not in script and "<meta" not in script  # ... never as a tag
    assert "\\u0026lt;meta http-equiv=refresh content=\\u0026#39;0;url=" in script
