"""The HTML pages on SQLite with the shipped data: language, assets, legend, escaping."""

from __future__ import annotations

import gc
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import PurePosixPath

import pytest
from markupsafe import Markup

from locator.maps import popup_html, safe_text
from locator.model import KINDS, Facility
from locator.storage import open_storage
from locator.web import create_app
from tests.service_area_reference import display_name
from tests.web_fixtures import (
    GEODATA,
    add_facilities,
    assert_long_lived,
    asset_url,
    close_app,
    facility,
    loaded_database,
    make_app,
    raw_sites,
)

IMG = "<img src=x onerror=alert(1)>"
TEMPLATE = "`${alert(1)}`"
CDN_MARKERS = (
    "cdn.",
    "cdnjs",
    "jsdelivr",
    "unpkg",
    "code.jquery",
    "bootstrapcdn",
    "googleapis",
    "fontawesome",
)

HOSTILE = [
    facility(
        "test:img",
        IMG,
        lon=117.30,
        lat=31.86,
        kind="driver_home",
        address="<b>addr</b>",
        amenities=frozenset({"shower"}),
    ),
    facility(
        "test:tpl",
        TEMPLATE,
        lon=117.10,
        lat=31.70,
        kind="service_point",
        hours="${document.cookie}",
        phone="`0551`\\",
    ),
]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("pages"))
    add_facilities(url, *HOSTILE)
    yield url
    cleanup()


@pytest.fixture(scope="module")
def index_html(app):
    response = app.test_client().get("/map")
    assert response.status_code == 200
    return response.get_data(as_text=True)


class Assets(HTMLParser):
    """Script sources and stylesheets of a page."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "").split():
            self.stylesheets.append(attrs["href"])


def legend_rows(html: str) -> dict[str, tuple[str, int]]:
    """``kind -> (label, count)`` from the legend's HTML embedded in the page's script."""
    match = re.search(r'div\.innerHTML = (".*?");\n', html)
    assert match, "no legend in the page"
    legend = json.loads(match.group(1))
    rows = re.findall(
        r'data-kind="(\w+)"><span class="facility-dot"[^>]*></span>(.*?) '
        r'<span class="legend-count">(\d+)</span>',
        legend,
    )
    return {kind: (text, int(count)) for kind, text, count in rows}


MARKER_DATA = re.compile(
    r"L\.markerClusterGroup\(.*?\);\s*(\[.*?\])\.forEach\(function \(row\)", re.S
)


def marker_rows(html: str) -> list[list]:
    """The facility rows the map builds its markers from: [lat, lon, kind, tip, popup, title]."""
    match = MARKER_DATA.search(html)
    assert match, "no facility data in the page"
    return json.loads(match.group(1))


def expected_counts() -> Counter:
    counts = Counter(site[0] for site in raw_sites().values())
    counts.update(f.kind for f in HOSTILE)
    return counts


# ---- language -----------------------------------------------------------------------------
def test_chinese_by_default(client):
    response = client.get("/map")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "<title>司机服务站点</title>" in html
    assert f"共 {len(raw_sites()) + len(HOSTILE)} 个站点" in html
    assert "数据来源与许可" in html
    assert 'href="/map?lang=en"' in html
    assert "Set-Cookie" not in response.headers


def test_lang_switch_sets_a_cookie_that_later_requests_honour(client):
    response = client.get("/map?lang=en")
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<title>Driver service stations</title>" in html
    assert f"{len(raw_sites()) + len(HOSTILE)} facilities" in html
    chrome = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)  # the data are in scripts
    assert "站点" not in chrome and "facilities" in chrome  # the page chrome is English
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie

    again = client.get("/map")
    assert '<html lang="en">' in again.get_data(as_text=True)
    assert "Set-Cookie" not in again.headers  # already remembered
    sources = client.get("/sources").get_data(as_text=True)
    assert "<h1>Data sources and licenses</h1>" in sources
    assert "Back to the map" in client.get("/missing").get_data(as_text=True)

    back = client.get("/map?lang=zh")
    assert back.headers["Set-Cookie"].startswith("lang=zh;")
    assert '<html lang="zh-CN">' in client.get("/map").get_data(as_text=True)


@pytest.mark.parametrize("value", ["fr", "EN", "", "<script>", "en-US"])
def test_unknown_language_falls_back_to_chinese_without_a_cookie(client, value):
    response = client.get("/", query_string={"lang": value})
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


def test_api_never_sets_the_language_cookie(client):
    response = client.get("/api/v1/openapi.json?lang=en")
    assert "Set-Cookie" not in response.headers


# ---- assets -------------------------------------------------------------------------------
def test_no_cdn_and_every_asset_is_served(client, index_html):
    lowered = index_html.lower()
    for marker in CDN_MARKERS:
        assert marker not in lowered, marker
    parser = Assets()
    parser.feed(index_html)
    assert len(parser.scripts) >= 2 and len(parser.stylesheets) >= 4
    app = client.application
    assert asset_url(app, "leaflet.js", package="leaflet") in parser.scripts
    assert asset_url(app, "leaflet.markercluster.js", package="markercluster") in parser.scripts
    for src in parser.scripts + parser.stylesheets:
        assert src.startswith("/") and not src.startswith("//"), src  # same origin
        body = assert_long_lived(client, src).decode()  # content-hashed, kept a year
        with client.get(src) as response:
            mimetype = response.mimetype
        assert body, src
        wanted = "javascript" if src in parser.scripts else "css"
        assert wanted in mimetype, (src, mimetype)
        if wanted == "css":
            # images a stylesheet needs (the layer control's icon) are served too
            for ref in re.findall(r"url\(['\"]?([^'\")#]+)['\"]?\)", body):
                if ref.startswith("data:"):
                    continue
                with client.get(str(PurePosixPath(src).parent / ref)) as image:
                    assert image.status_code == 200, (src, ref)
                    assert image.mimetype.startswith("image/"), (src, ref)


def test_vendor_files_are_confined(client):
    assert client.get("/vendor/nope/leaflet.js").status_code == 404
    assert client.get("/vendor/leaflet/../../../../etc/passwd").status_code == 404
    assert client.get("/vendor/leaflet/%2e%2e/%2e%2e/etc/passwd").status_code == 404


def test_osm_attribution(index_html):
    assert "OpenStreetMap" in index_html
    assert 'href="https://www.openstreetmap.org/copyright"' in index_html
    assert "ODbL" in index_html
    # and inside the map itself, so it shows with or without tiles
    assert ".addAttribution(" in index_html and "attributionControl" in index_html


# ---- legend and markers -------------------------------------------------------------------
def test_legend_lists_the_kinds_present_with_their_counts(index_html):
    rows = legend_rows(index_html)
    counts = expected_counts()
    assert (
        set(rows)
        == set(counts)
        == {"service_area", "logistics_park", "driver_home", "service_point"}
    )
    for kind, (text, count) in rows.items():
        assert count == counts[kind], kind
        assert text == KINDS[kind]["zh"]
    assert list(rows) == [k for k in KINDS if k in counts]  # display order
    assert rows["service_area"][1] == 215 and rows["logistics_park"][1] == 97


def test_english_legend(client):
    rows = legend_rows(client.get("/map?lang=en").get_data(as_text=True))
    assert rows["service_area"] == ("Expressway service area", 215)


def test_every_facility_has_a_marker(index_html, url):
    rows = marker_rows(index_html)
    with open_storage(url) as storage:
        stored = storage.facilities()
    assert len(rows) == len(stored) == len(raw_sites()) + len(HOSTILE)
    assert Counter(row[2] for row in rows) == expected_counts()
    by_title = {row[5] for row in rows}
    # Unnamed service areas (stored as 高速服务区（未命名）, or a bare 服务区 in the OSM data)
    # are shown with their place's name (the independent reference), never bare.
    assert {display_name(f.id, f.name) for f in stored} == by_title
    assert not by_title & {"服务区", "高速服务区（未命名）"}
    assert {"官塘镇附近服务区", "陶楼枢纽附近服务区"} <= by_title
    for row in rows:
        assert 29 < row[0] < 35 and 114 < row[1] < 120  # [lat, lon] for Leaflet


# ---- escaping -----------------------------------------------------------------------------
def test_hostile_names_appear_only_escaped(index_html):
    # the raw <img> payload is nowhere in the page
    assert IMG not in index_html
    assert "onerror=alert(1)>" not in index_html
    assert "<b>addr</b>" not in index_html
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in index_html
    # the template-literal payload: escaped in every tooltip and popup ...
    assert "\\u0026#96;\\u0026#36;{alert(1)}\\u0026#96;" in index_html
    assert "${document.cookie}" not in index_html
    # ... and raw only as the marker's title: a double-quoted JSON string, which Leaflet
    # sets as a DOM attribute (text, never parsed), never inside a template literal
    data = MARKER_DATA.search(index_html)
    outside = index_html[: data.start()] + index_html[data.end() :]
    assert TEMPLATE not in outside
    assert index_html.count(TEMPLATE) == index_html.count(f'"{TEMPLATE}"') == 1

    rows = {row[5]: row for row in marker_rows(index_html)}
    img = rows[IMG]
    assert img[3] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "<h4>&lt;img src=x onerror=alert(1)&gt;</h4>" in img[4]
    assert "&lt;b&gt;addr&lt;/b&gt;" in img[4]
    tpl = rows[TEMPLATE]
    assert tpl[3] == "&#96;&#36;{alert(1)}&#96;"
    assert "<h4>&#96;&#36;{alert(1)}&#96;</h4>" in tpl[4]
    assert "&#36;{document.cookie}" in tpl[4]
    assert "&#96;0551&#96;&#92;" in tpl[4]
    for row in rows.values():
        for cell in row[3:5]:
            assert "`" not in cell and "$" not in cell and "<script" not in cell.lower()


def test_safe_text():
    assert safe_text(None) == ""
    assert safe_text(12) == "12"
    assert isinstance(safe_text("x"), Markup)
    assert safe_text("<a href='x' title=\"y\">&</a>") == (
        "&lt;a href=&#39;x&#39; title=&#34;y&#34;&gt;&amp;&lt;/a&gt;"
    )
    assert safe_text("`${x}`\\") == "&#96;&#36;{x}&#96;&#92;"
    assert safe_text("合肥 司机之家") == "合肥 司机之家"
    # escaping twice escapes the ampersands again: callers escape once
    assert safe_text(str(safe_text("<"))) == "&amp;lt;"


class Popup(HTMLParser):
    """Headings, table rows, links and attributes of a popup."""

    def __init__(self):
        super().__init__()
        self.text: dict[str, list[str]] = {"h4": [], "th": [], "td": [], "a": []}
        self.attrs: list[tuple[str, dict]] = []
        self.tags: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_endtag(self, tag):
        assert self._open.pop() == tag

    def handle_data(self, data):
        if self._open and self._open[-1] in self.text:
            self.text[self._open[-1]].append(data)


def test_popup_html_in_both_languages():
    f = Facility(
        id='osm:way/1"><script>x</script>',
        name="文集服务区<script>alert(1)</script>",
        kind="service_area",
        lon=117.71,
        lat=31.96,
        status="under_construction",
        address="肥东县 `路` ${1}",
        phone="0551-1234",
        hours="Mo-Su 00:00-24:00",
        amenities=frozenset({"toilet", "canteen", "truck_parking"}),
        city="合肥市",
        county="肥东县",
        township="包公镇",
    )
    zh = popup_html(f, "zh", detail_url='/f/1?a=1&b="2"')
    assert isinstance(zh, Markup)
    parser = Popup()
    parser.feed(str(zh))
    parser.close()
    assert "script" not in parser.tags
    assert parser.tags[:2] == ["div", "h4"]
    assert parser.attrs[0] == ("div", {"class": "facility-popup", "data-facility-id": f.id})
    assert parser.text["h4"] == [f.name]
    rows = dict(zip(parser.text["th"], parser.text["td"], strict=True))
    assert rows == {
        "类型": "高速服务区",
        "状态": "建设中",
        "地址": "肥东县 `路` ${1}",
        "电话": "0551-1234",
        "开放时间": "Mo-Su 00:00-24:00",
        "所在地": "合肥市 肥东县 包公镇",
        "服务设施": "餐饮、卫生间、货车停车",
    }
    assert parser.text["a"] == ["详情"]
    assert ("a", {"class": "popup-link", "href": '/f/1?a=1&b="2"'}) in parser.attrs
    assert "`" not in zh and "$" not in zh

    en = Popup()
    en.feed(str(popup_html(f, "en")))
    rows = dict(zip(en.text["th"], en.text["td"], strict=True))
    assert rows["Kind"] == "Expressway service area"
    assert rows["Status"] == "Under construction"
    assert rows["Amenities"] == "Canteen、Toilet、Truck parking"  # by key
    assert en.text["a"] == []  # no detail link without a URL


def test_popup_html_leaves_out_empty_fields():
    parser = Popup()
    parser.feed(str(popup_html(Facility("a", "站", "other", 117.0, 31.0))))
    assert dict(zip(parser.text["th"], parser.text["td"], strict=True)) == {
        "类型": "其他",
        "状态": "运营中",
    }


# ---- other pages --------------------------------------------------------------------------
def test_sources_page_shows_the_attribution(client):
    response = client.get("/sources")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>数据来源与许可</h1>" in html
    assert "ODbL: © OpenStreetMap contributors" in html
    assert "GeoNames" in html and "CC-BY 4.0" in html
    source = (GEODATA / "SOURCES.md").read_text(encoding="utf-8")
    assert source.splitlines()[0] in html  # the file itself, escaped
    assert "&#34;© OpenStreetMap contributors&#34;" in html


def test_map_links_to_the_sources_page(index_html):
    assert 'href="/sources"' in index_html


def test_the_map_has_a_text_list_of_every_facility(index_html, url):
    """The map's text equivalent: a link to each facility's page, by city, escaped."""
    found = re.search(r'<details class="map-list" id="map-list">(.*?)</details>', index_html, re.S)
    assert found, "no list beside the map"
    listed = found.group(1)
    hrefs = re.findall(r'<li><a href="([^"]+)">', listed)
    with open_storage(url) as storage:
        facilities = storage.facilities()
    assert Counter(hrefs) == Counter(f"/f/{f.id}" for f in facilities)
    assert f'<p class="map-summary">共 {len(facilities)} 个站点</p>' in index_html
    cities = re.findall(r'<h2 id="map-list-\d+">([^<]+) <span', listed)
    assert cities[0] == "合肥市" and len(cities) == len(set(cities)) >= 16  # by city code
    # hostile names are text, never markup
    assert IMG not in listed and TEMPLATE not in listed
    assert '<a href="/f/test:img">&lt;img src=x onerror=alert(1)&gt;</a>' in listed
    assert '<a href="/f/test:tpl">&#96;&#36;{alert(1)}&#96;</a>' in listed
    # no zoom lock from folium: the page's own viewport lets readers zoom
    assert "user-scalable=no" not in index_html and index_html.count('name="viewport"') == 1
    assert '<h1 class="visually-hidden">总览地图</h1>' in index_html


@pytest.mark.parametrize(
    "path", ["/nope", "/facilities", "/static/nope.css", "/%3Cscript%3Ealert(1)%3C/script%3E"]
)
def test_unknown_page_is_an_html_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "<h1>404</h1>" in html and "返回地图" in html
    assert "<script>alert(1)" not in html


def test_unknown_page_is_json_for_json_clients(client):
    response = client.get("/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_post_to_a_page_is_an_html_405(client):
    response = client.post("/")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "<h1>405</h1>" in response.get_data(as_text=True)


def test_a_write_shows_on_the_map(tmp_path):
    url, cleanup = loaded_database("sqlite", tmp_path)
    app = make_app(url)
    try:
        client = app.test_client()
        before = marker_rows(client.get("/map").get_data(as_text=True))
        add_facilities(url, facility("test:new", "新司机之家"))
        html = client.get("/map").get_data(as_text=True)
        after = marker_rows(html)
        assert len(after) == len(before) + 1
        assert "新司机之家" in {row[5] for row in after}
        assert legend_rows(html)["driver_home"][1] == 1
    finally:
        close_app(app)
        cleanup()


def test_map_cache_is_not_shared_between_apps(tmp_path):
    urls = {}
    for name in ("甲站", "乙站"):
        urls[name] = f"sqlite:///{tmp_path / (name + '.db')}"
        with open_storage(urls[name], init=True) as storage:
            storage.upsert_facilities([facility("x", name)])
    seen: dict[int, str] = {}
    for attempt in range(400):  # until CPython hands a new app a dead app's id
        name = ("甲站", "乙站")[attempt % 2]
        app = create_app({"database_url": urls[name], "tiles": "none"})
        key = id(app.extensions["locator"])
        titles = {
            row[5] for row in marker_rows(app.test_client().get("/map").get_data(as_text=True))
        }
        close_app(app)
        assert titles == {name}, f"attempt {attempt}: an app on {name} showed {titles}"
        if seen.get(key, name) != name:
            break  # checked an app that got the id of a dead app on the other database
        seen[key] = name
        del app
        gc.collect()
