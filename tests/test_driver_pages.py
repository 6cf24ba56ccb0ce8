"""The driver's page, facility pages, QR codes and the place search API (Flask test client)."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest

from locator.hours import OPEN_STATE_LABELS
from locator.model import AMENITIES, KINDS
from locator.navigation import navigation_links
from locator.storage import open_storage
from locator.web.pages import DRIVER_AMENITIES
from tests.web_fixtures import (
    add_facilities,
    assert_long_lived,
    asset_url,
    close_app,
    decode_qr_svg,
    facility,
    loaded_database,
    make_app,
)

API = "/api/v1"
HOSTILE = "</script><script>window.__xss=1</script><img src=x onerror=alert(1)>"

STATIONS = [
    facility(
        "test:home",
        "瑶海司机之家",
        lon=117.30,
        lat=31.87,
        hours="24/7",
        address="合肥市瑶海区 <b>长江东路</b> 1 号",
        phone="0551-6512 3456 / 13800000000",
        amenities=frozenset({"truck_parking", "shower", "hot_water"}),
        truck_parking_spaces=40,
        operator="合肥市总工会",
    ),
    facility("test:closed", "关门驿站", kind="service_point", lon=117.10, lat=31.70, hours="off"),
    facility("test:hostile", HOSTILE, lon=117.20, lat=31.75, address=HOSTILE, phone="`0551`"),
    facility("test:odd id/with space#and?", "奇怪编号站", lon=117.25, lat=31.80),
]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("driver"))
    add_facilities(url, *STATIONS)
    yield url
    cleanup()


class Page(HTMLParser):
    """Tags with their attributes, the text of some elements, and inline scripts."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script, self._text = attrs, []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def find(self, tag: str, **wanted) -> list[dict]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in wanted.items())
        ]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def config_of(html: str) -> dict:
    page = parse(html)
    blocks = [text for attrs, text in page.scripts if attrs.get("id") == "config"]
    assert len(blocks) == 1
    return json.loads(blocks[0])


def assert_no_inline_code(html: str) -> None:
    """No inline scripts (but the JSON config), no event-handler attributes, no javascript:."""
    page = parse(html)
    for attrs, text in page.scripts:
        if attrs.get("src"):
            assert not text.strip()
            assert attrs["src"].startswith("/") and not attrs["src"].startswith("//")
        else:
            assert attrs.get("type") == "application/json", attrs
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)


# ---- the driver's page ----------------------------------------------------------------------
def test_driver_page_in_chinese(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "<title>附近的司机服务站点 · 司机服务站点</title>" in html
    assert "附近站点" in html and 'placeholder="乡镇、区县、站点名或拼音"' in html
    assert 'href="/map">总览地图</a>' in html
    assert "folium" not in html.lower()
    assert_no_inline_code(html)
    page = parse(html)
    chips = page.find("button", class_="chip")
    assert [c.get("data-amenity") for c in chips[1:]] == list(DRIVER_AMENITIES)
    assert chips[0].get("data-open-now") == "1"
    chip_labels = re.findall(r'data-amenity="(\w+)" aria-pressed="false">([^<]+)<', html)
    assert dict(chip_labels) == {k: AMENITIES[k]["zh"] for k in DRIVER_AMENITIES}
    assert "正在营业" in html

    config = config_of(html)
    assert config["lang"] == "zh"
    assert config["api"] == {"nearest": "/api/v1/nearest", "places": "/api/v1/places"}
    assert config["facilityUrl"] == "/f/__ID__"
    assert config["tiles"] == {"datum": "wgs84", "layers": []}  # the tests' app has none
    assert "OpenStreetMap" in config["attribution"] and "ODbL" in config["attribution"]
    assert config["kinds"]["driver_home"]["label"] == "司机之家"
    assert set(config["kinds"]) == set(KINDS)
    assert config["openStates"] == {k: v["zh"] for k, v in OPEN_STATE_LABELS.items()}
    assert config["text"]["minutes"] == "约 {n} 分钟"
    assert config["text"]["geoDenied"].startswith("未获得定位权限")
    # the OSM attribution also shows under the map
    assert 'href="https://www.openstreetmap.org/copyright"' in html and "(ODbL)" in html


def test_driver_page_in_english(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<title>Nearby driver stations · Driver service stations</title>" in html
    assert ">Overview map</a>" in html
    config = config_of(html)
    assert config["lang"] == "en"
    assert config["kinds"]["service_area"]["label"] == "Expressway service area"
    assert config["text"]["minutes"] == "about {n} min"
    assert config["openStates"]["open"] == "Open"
    chip_labels = dict(re.findall(r'data-amenity="(\w+)" aria-pressed="false">([^<]+)<', html))
    assert chip_labels["truck_parking"] == "Truck parking"


def test_driver_page_is_light(client):
    html = client.get("/").get_data()
    assert len(html) < 12_000
    page = parse(html.decode())
    scripts = [a["src"] for a in page.find("script") if a.get("src")]
    app = client.application
    assert scripts == [
        asset_url(app, "leaflet.js", package="leaflet"),
        asset_url(app, "leaflet.markercluster.js", package="markercluster"),
        asset_url(app, "chinacrs.js"),
        asset_url(app, "maptiles.js"),
        asset_url(app, "report.js"),
        asset_url(app, "offline.js"),
        asset_url(app, "driver.js"),
    ]
    assert scripts[-1].startswith("/static/driver.") and scripts[-1] != "/static/driver.js"
    for src in scripts + [a["href"] for a in page.find("link", rel="stylesheet")]:
        assert_long_lived(client, src)
    js = assert_long_lived(client, scripts[-1]).decode()
    assert js == client.get("/static/driver.js").get_data(as_text=True)  # the plain name too
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js


def test_config_is_escaped_in_its_json_block(url):
    app = make_app(
        url, tile_url="https://tiles.example.org/{z}/{x}/{y}.png", tile_attribution=HOSTILE
    )
    try:
        html = app.test_client().get("/").get_data(as_text=True)
    finally:
        close_app(app)
    assert HOSTILE not in html and "</script><script>" not in html
    assert "onerror=alert(1)>" not in html
    config = config_of(html)  # and it reads back exactly
    assert config["tiles"] == {
        "datum": "wgs84",
        "layers": [
            {
                "url": "https://tiles.example.org/{z}/{x}/{y}.png",
                "subdomains": "abc",
                "attribution": HOSTILE,
            }
        ],
    }


# ---- facility pages -------------------------------------------------------------------------
def facts(html: str) -> dict[str, str]:
    rows = re.findall(r"<div><dt>(.*?)</dt><dd[^>]*>(.*?)</dd></div>", html, re.S)
    return {dt: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dd)).strip() for dt, dd in rows}


def test_facility_page(client, url):
    with open_storage(url) as storage:
        stored = storage.get_facility("test:home")
    response = client.get("/f/test:home")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert_no_inline_code(html)
    assert '<h1 class="facility-name">瑶海司机之家</h1>' in html
    assert "<title>瑶海司机之家 · 司机服务站点</title>" in html
    assert ">司机之家</span>" in html and ">运营中</span>" in html
    assert 'data-open-state="open">当前： 营业中</span>' in html  # 24/7
    assert facts(html) == {
        "地址": "合肥市瑶海区 &lt;b&gt;长江东路&lt;/b&gt; 1 号",
        "所在地": " ".join(filter(None, (stored.city, stored.county, stored.township))),
        "开放时间": "24 小时开放",
        "电话": "0551-6512 3456 / 13800000000",
        "服务设施": "货车停车 淋浴 热水",
        "货车停车位": "40",
        "运营单位": "合肥市总工会",
    }
    assert stored.city == "合肥市" and stored.county == "瑶海区"
    # big call buttons, one per number
    assert re.findall(
        r'<a class="button button-call" href="([^"]+)">拨打电话 ([^<]+)</a>', html
    ) == [("tel:055165123456", "0551-6512 3456"), ("tel:13800000000", "13800000000")]
    # navigation links: exactly the library's, escaped for the attribute
    links = dict(re.findall(r'data-app="(\w+)" href="([^"]+)"', html))
    assert {app: unescape(href) for app, href in links.items()} == {
        link.app: link.url for link in navigation_links(stored)
    }
    assert ">高德地图</a>" in html and ">百度地图</a>" in html and ">腾讯地图</a>" in html
    # QR code, share and print buttons, small map, attribution
    assert '<img src="/f/test:home/qr.svg"' in html
    assert '<span class="qr-url">http://localhost/f/test:home</span>' in html
    assert 'id="share"' in html and 'id="print"' in html and 'id="facility-map"' in html
    app = client.application
    for src in (asset_url(app, "leaflet.js", package="leaflet"), asset_url(app, "facility.js")):
        assert f'<script src="{src}"></script>' in html
        assert_long_lived(client, src)
    assert 'href="https://www.openstreetmap.org/copyright"' in html
    config = config_of(html)
    assert (config["lat"], config["lon"], config["name"]) == (31.87, 117.30, "瑶海司机之家")
    assert config["url"] == "http://localhost/f/test:home"
    css = client.get("/static/facility.css").get_data(as_text=True)
    assert "@media print" in css and ".qr img { width: 110mm" in css


def test_facility_page_in_english_and_other_states(client):
    html = client.get("/f/test:closed?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert ">Service point</span>" in html
    assert 'data-open-state="closed_today">Now: Closed today</span>' in html  # hours "off"
    assert facts(html)["Opening hours"] == "off"
    assert "button-call" not in html  # no phone, no button
    unknown = client.get("/f/test:odd%20id/with%20space%23and%3F?lang=zh").get_data(as_text=True)
    assert 'data-open-state="unknown">当前： 时间未知</span>' in unknown
    assert facts(unknown)["开放时间"] == "未知"


def test_hostile_facility_is_escaped(client):
    html = client.get("/f/test:hostile").get_data(as_text=True)
    assert HOSTILE not in html
    assert "<script>window.__xss" not in html and "onerror=alert(1)>" not in html
    assert_no_inline_code(html)
    assert config_of(html)["name"] == HOSTILE
    # only digits reach the tel: link
    assert '<a class="button button-call" href="tel:0551">拨打电话 `0551`</a>' in html


def test_unknown_facility_is_a_404_page(client):
    for path in ("/f/nope", "/f/osm:way/0", "/f/nope/qr.svg", "/f/%3Cscript%3E"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "<h1>404</h1>" in html and "<script>" not in html.split("</header>")[1]


def test_odd_ids_are_encoded_in_page_and_qr_urls(client):
    html = client.get("/f/test:odd%20id/with%20space%23and%3F").get_data(as_text=True)
    expected = "http://localhost/f/test:odd%20id/with%20space%23and%3F"
    assert config_of(html)["url"] == expected
    assert 'src="/f/test:odd%20id/with%20space%23and%3F/qr.svg"' in html
    svg = client.get("/f/test:odd%20id/with%20space%23and%3F/qr.svg").get_data(as_text=True)
    assert decode_qr_svg(svg) == expected


# ---- QR codes -------------------------------------------------------------------------------
def test_qr_code_encodes_the_page_url(client):
    response = client.get("/f/test:home/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    # No public URL is set: a code for this request's address, kept briefly by the client.
    assert response.cache_control.private and response.cache_control.max_age == 300
    etag = response.headers["ETag"]
    svg = response.get_data(as_text=True)
    assert svg.startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert "<title>瑶海司机之家 (未设置公开网址: http://localhost/f/test:home)</title>" in svg
    assert decode_qr_svg(svg) == "http://localhost/f/test:home"
    # the quiet zone: four light modules on every side (segno draws dark modules only)
    assert re.search(r'd="M4 4\.5h7', svg)
    again = client.get("/f/test:home/qr.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_qr_code_uses_the_public_url(url):
    app = make_app(url, public_url="https://stations.example.org/")
    try:
        client = app.test_client()
        svg = client.get("/f/test:home/qr.svg").get_data(as_text=True)
        html = client.get("/f/test:home").get_data(as_text=True)
    finally:
        close_app(app)
    assert decode_qr_svg(svg) == "https://stations.example.org/f/test:home"
    assert config_of(html)["url"] == "https://stations.example.org/f/test:home"
    assert '<link rel="canonical" href="https://stations.example.org/f/test:home">' in html


def test_public_url_comes_from_the_environment():
    from locator.config import load_settings

    settings = load_settings({"LOCATOR_PUBLIC_URL": "https://a.example"})
    assert settings.public_url == "https://a.example"
    assert load_settings({}).public_url == ""


# ---- the overview map moved to /map ---------------------------------------------------------
def test_overview_map_links_to_facility_pages(client):
    html = client.get("/map").get_data(as_text=True)
    assert "folium-map" in html
    assert "/f/test:home" in html  # the popups' detail links


# ---- /api/v1/places -------------------------------------------------------------------------
def test_places_api(client):
    response = client.get(f"{API}/places", query_string={"q": "hefei", "limit": 3})
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == 3
    assert body["query"] == "hefei"
    first = body["features"][0]
    assert first["id"] == "340100"
    assert first["properties"] == {
        "name": "合肥市",
        "level": "city",
        "code": "340100",
        "facility_id": None,
        "kind": None,
        "context": "安徽省",
        "approximate": False,
    }
    west, south, east, north = first["bbox"]
    lon, lat = first["geometry"]["coordinates"]
    assert west < lon < east and south < lat < north
    etag = response.headers["ETag"]
    again = client.get(
        f"{API}/places", query_string={"q": "hefei", "limit": 3}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304


def test_places_api_finds_facilities_and_approximate_townships(client):
    features = client.get(f"{API}/places?q=瑶海司机").get_json()["features"]
    assert [
        (f["id"], f["properties"]["level"], f["properties"]["facility_id"]) for f in features
    ] == [("test:home", "facility", "test:home")]
    assert features[0]["properties"]["context"].startswith("合肥市 瑶海区")
    assert features[0]["geometry"]["coordinates"] == [117.3, 31.87]
    townships = client.get(f"{API}/places?q=长风乡").get_json()["features"]
    assert townships[0]["properties"]["approximate"] is True
    assert "bbox" not in townships[0]


def test_places_api_sees_new_data(tmp_path):
    url, cleanup = loaded_database("sqlite", tmp_path)
    app = make_app(url)
    try:
        client = app.test_client()
        assert client.get(f"{API}/places?q=新开司机之家").get_json()["features"] == []
        add_facilities(url, facility("test:new", "新开司机之家"))
        found = client.get(f"{API}/places?q=xinkaisijizhijia").get_json()["features"]
        assert [f["id"] for f in found] == ["test:new"]
    finally:
        close_app(app)
        cleanup()


@pytest.mark.parametrize(
    "query, field",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 51}, "q"),
        ({"q": "合肥", "limit": "0"}, "limit"),
        ({"q": "合肥", "limit": "51"}, "limit"),
        ({"q": "合肥", "limit": "ten"}, "limit"),
        ({"q": "合肥", "k": "3"}, "k"),
    ],
)
def test_places_api_errors_name_the_field(client, query, field):
    response = client.get(f"{API}/places", query_string=query)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter" and error["field"] == field


@pytest.mark.parametrize(
    "q", ["<script>alert(1)</script>", "' OR '1'='1", "%00", "😀😀", "x" * 50, "../../"]
)
def test_places_api_hostile_queries(client, q):
    response = client.get(f"{API}/places", query_string={"q": q})
    assert response.status_code == 200
    assert response.get_json()["features"] == []


def test_places_api_is_documented(client):
    document = client.get(f"{API}/openapi.json").get_json()
    operation = document["paths"]["/places"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"q", "limit"}
    assert params["q"]["required"] is True and params["q"]["schema"]["maxLength"] == 50
    assert params["limit"]["schema"]["maximum"] == 50
    assert "400" in operation["responses"]
    schema = document["components"]["schemas"]["Place"]
    assert set(schema["properties"]["properties"]["properties"]) == {
        "name",
        "level",
        "code",
        "facility_id",
        "kind",
        "context",
        "approximate",
    }
