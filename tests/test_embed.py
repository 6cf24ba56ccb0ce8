"""The embeddable widget without a browser: option checks and fallbacks, its data, the
framing policy, no cookies, oEmbed, and the snippets' escaping."""

from __future__ import annotations

import doctest
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest

import locator.embed
from locator.config import load_settings
from locator.embed import (
    EmbedContext,
    EmbedOptions,
    Place,
    frame_ancestors,
    iframe_snippet,
    parse_allowed_origins,
    parse_embed_options,
    script_snippet,
    tile_sources,
)
from locator.navigation import navigation_links
from tests.web_fixtures import (
    HEFEI_CODE,
    ROOT,
    add_facilities,
    admin_polygon,
    assert_long_lived,
    asset_url,
    close_app,
    facility,
    ids_within,
    loaded_database,
    make_app,
)

STATIC = ROOT / "locator" / "web" / "static"
XSS_NAME = '<img src=x onerror="window.__xss=1">'
XSS_ADDRESS = '"><script>window.__xss=2</script>'


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("embed"))
    add_facilities(
        url,
        facility(
            "test:xss",
            XSS_NAME,
            address=XSS_ADDRESS,
            phone="0551-1234 5678",
            hours="Mo-Su 08:00-20:00",
            operator="</script><b>op</b>",
            truck_parking_spaces=12,
            amenities=frozenset({"shower", "canteen"}),
        ),
    )
    yield url
    cleanup()


@pytest.fixture(scope="module")
def app(db_url):
    app = make_app(db_url)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


def widget_config(response) -> dict:
    """The JSON config block of an /embed page."""
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    block = re.search(
        r'<script type="application/json" id="embed-config">(.*?)</script>', html, re.S
    )
    return json.loads(block.group(1))


def warned(config: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for w in config["warnings"]:
        found.setdefault(w["param"], []).append(w["value"])
    return found


def test_library_doctests():
    assert doctest.testmod(locator.embed).failed == 0


# ---- options ---------------------------------------------------------------------------
def test_defaults_without_parameters(client):
    config = widget_config(client.get("/embed"))
    assert config["warnings"] == []
    assert (config["lang"], config["theme"], config["list"], config["height"]) == (
        "zh",
        "light",
        False,
        400,
    )
    assert config["center"] is None and config["zoom"] is None and config["focus"] is None
    assert config["tiles"] == {"name": "none", "datum": "wgs84", "layers": []}
    assert config["dataUrl"] == "/embed/data.geojson?status=open"


@pytest.mark.parametrize(
    "query, param, check",
    [
        ("city=北京市", "city", lambda c: "city" not in c["dataUrl"]),
        ("county=不存在县", "county", lambda c: "county" not in c["dataUrl"]),
        (
            "city=合肥市&county=寿县",
            "county",
            lambda c: "county" not in c["dataUrl"] and f"city={HEFEI_CODE}" in c["dataUrl"],
        ),
        ("kind=bogus", "kind", lambda c: "kind" not in c["dataUrl"]),
        ("kind=driver_home,bogus", "kind", lambda c: "kind=driver_home&" in c["dataUrl"]),
        ("amenity=jacuzzi", "amenity", lambda c: "amenity" not in c["dataUrl"]),
        ("status=demolished", "status", lambda c: c["dataUrl"].endswith("status=open")),
        ("center=abc", "center", lambda c: c["center"] is None),
        ("center=200,30", "center", lambda c: c["center"] is None),
        ("center=117.2", "center", lambda c: c["center"] is None),
        ("zoom=99", "zoom", lambda c: c["zoom"] is None),
        ("zoom=twelve", "zoom", lambda c: c["zoom"] is None),
        ("lang=fr", "lang", lambda c: c["lang"] == "zh"),
        ("theme=blue", "theme", lambda c: c["theme"] == "light"),
        ("list=maybe", "list", lambda c: c["list"] is False),
        ("tiles=google", "tiles", lambda c: c["tiles"]["name"] == "none"),
        ("tiles=tianditu", "tiles", lambda c: c["tiles"]["name"] == "none"),
        ("height=5", "height", lambda c: c["height"] == 400),
        ("height=99999", "height", lambda c: c["height"] == 400),
        ("focus=no:such", "focus", lambda c: c["focus"] is None),
        ("id=%3Cscript%3E", "id", lambda c: c["id"] is None),
        ("kinds=driver_home", "kinds", lambda c: "kind" not in c["dataUrl"]),
        ("lang=zh&lang=en", "lang", lambda c: c["lang"] == "zh"),
        ("city=" + "合" * 300, "city", lambda c: "city" not in c["dataUrl"]),
    ],
)
def test_a_bad_parameter_falls_back_and_is_reported(client, query, param, check):
    response = client.get(f"/embed?{query}")
    config = widget_config(response)
    assert param in warned(config), config["warnings"]
    assert len(config["warnings"]) == 1, config["warnings"]
    assert config["warnings"][0]["message"]
    assert check(config), config
    # the page is whole: map, scripts and the config
    html = response.get_data(as_text=True)
    widget_js = asset_url(client.application, "embed-widget.js")
    assert 'id="embed-map"' in html and f'<script src="{widget_js}" defer>' in html
    assert_long_lived(client, widget_js)


def test_several_bad_parameters_are_all_reported(client):
    config = widget_config(client.get("/embed?city=x&kind=y&zoom=0&theme=z&list=2&tiles=q"))
    assert set(warned(config)) == {"city", "kind", "zoom", "theme", "list", "tiles"}


def test_good_parameters_in_keys_labels_and_codes(client, app):
    fid = "test:xss"
    response = client.get(
        f"/embed?city=合肥&county=340104&kind=司机之家,service_area"
        f"&amenity=淋浴&status=open,planned&center=117.2,31.8&zoom=12"
        f"&lang=en&theme=dark&list=on&tiles=amap&height=300&focus={fid}"
        f"&id=w-1"
    )
    config = widget_config(response)
    assert config["warnings"] == []
    query = parse_qs(urlsplit(config["dataUrl"]).query)
    assert query == {
        "city": [HEFEI_CODE],
        "county": ["340104"],
        "kind": ["driver_home,service_area"],
        "amenity": ["shower"],
        "status": ["open,planned"],
    }
    assert config["center"] == [117.2, 31.8] and config["zoom"] == 12
    assert (
        config["lang"],
        config["theme"],
        config["list"],
        config["height"],
        config["focus"],
        config["id"],
    ) == ("en", "dark", True, 300, fid, "w-1")
    assert config["tiles"]["datum"] == "gcj02"
    assert config["tiles"]["layers"][0]["subdomains"] == "1234"
    assert config["text"]["nearMe"] == "Near me"
    html = response.get_data(as_text=True)
    assert 'class="embed-root theme-dark"' in html and 'lang="en"' in html
    assert 'id="embed-results"' in html


def test_status_any_shows_every_status(client):
    config = widget_config(client.get("/embed?status=any"))
    assert config["warnings"] == [] and config["dataUrl"] == "/embed/data.geojson"


def test_a_county_name_alone_is_found():
    context = EmbedContext(
        cities=(Place("340100", "合肥市", "city"), Place("340400", "淮南市", "city")),
        counties=(
            Place("340104", "蜀山区", "county", "340100"),
            Place("340422", "寿县", "county", "340400"),
        ),
    )
    options, warnings = parse_embed_options({"county": "寿县"}, context)
    assert options.county.code == "340422" and warnings == []
    options, warnings = parse_embed_options({"city": "合肥", "county": "寿县"}, context)
    assert options.county is None and [w.param for w in warnings] == ["county"]
    assert "not in 合肥市" in warnings[0].message


def test_options_round_trip_through_their_query():
    context = EmbedContext(
        cities=(Place("340100", "合肥市", "city"),),
        counties=(Place("340104", "蜀山区", "county", "340100"),),
        tiles=("osm", "amap", "none"),
        default_tiles="osm",
        facility_ids={"a/b:c"},
    )
    args = {
        "city": "340100",
        "county": "蜀山",
        "kind": "service_area,driver_home",
        "status": "any",
        "center": "117.1,31.9",
        "zoom": "9",
        "lang": "en",
        "theme": "dark",
        "list": "yes",
        "tiles": "AMAP",
        "height": "500",
        "focus": "a/b:c",
    }
    options, warnings = parse_embed_options(args, context)
    assert warnings == []
    again, warnings = parse_embed_options(dict(options.query()), context)
    assert warnings == [] and again == options


# ---- data ------------------------------------------------------------------------------
def test_data_is_filtered_like_the_independent_reading(client):
    expected = ids_within(admin_polygon(HEFEI_CODE), "service_area")
    assert len(expected) > 5
    config = widget_config(client.get("/embed?city=合肥市&kind=service_area"))
    body = client.get(config["dataUrl"]).get_json()
    assert {f["id"] for f in body["features"]} == expected
    assert body["numberMatched"] == body["numberReturned"] == len(expected)


def test_data_is_compact(client):
    body = client.get("/embed/data.geojson?kind=driver_home").get_json()
    (feature,) = [f for f in body["features"] if f["id"] == "test:xss"]
    assert feature == {
        "type": "Feature",
        "id": "test:xss",
        "geometry": {"type": "Point", "coordinates": [117.2272, 31.8206]},
        "properties": {"name": XSS_NAME, "kind": "driver_home", "status": "open"},
    }


def test_details_carry_the_popup_fields_and_navigation_links(client, app):
    response = client.get("/embed/facility/test:xss")
    assert response.status_code == 200 and response.mimetype == "application/json"
    props = response.get_json()
    with app.app_context():
        f = app.extensions["locator"].catalog.current().get("test:xss")
    assert props["nav"] == [[link.app, link.url] for link in navigation_links(f)]
    assert [app_ for app_, _url in props["nav"]] == [
        "amap",
        "amap_route",
        "baidu",
        "tencent",
        "geo",
    ]
    assert props["name"] == XSS_NAME and props["address"] == XSS_ADDRESS
    assert props["phones"] == [["0551-1234 5678", "tel:055112345678"]]
    assert props["amenities"] == ["shower", "canteen"]
    assert props["truck_parking"] == 12 and props["hours"] == "Mo-Su 08:00-20:00"
    assert props["open"] in ("open", "closed")
    assert props["area"].startswith("合肥市")
    # no labels, provenance or nulls
    assert not {"source", "version", "updated_at", "website", "city_code"} & set(props)
    assert None not in props.values()
    etag = response.headers["ETag"]
    assert (
        client.get("/embed/facility/test:xss", headers={"If-None-Match": etag}).status_code == 304
    )


def test_details_of_an_osm_id_and_errors(client):
    fid = client.get("/embed/data.geojson?kind=service_area").get_json()["features"][0]["id"]
    assert "/" in fid
    body = client.get(f"/embed/facility/{fid}").get_json()
    assert body["id"] == fid and "open" not in body and "hours" not in body
    response = client.get("/embed/facility/no:such")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/embed/facility/test:xss?x=1").status_code == 400


def test_data_answers_304_to_its_etag(client):
    first = client.get("/embed/data.geojson?city=340100&status=open")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    again = client.get(
        "/embed/data.geojson?city=340100&status=open", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.data == b""
    other = client.get("/embed/data.geojson?city=340100", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_data_etag_changes_with_the_data(db_url):
    app = make_app(db_url, data_check_seconds=0)
    try:
        client = app.test_client()
        etag = client.get("/embed/data.geojson?kind=legal_aid").headers["ETag"]
        add_facilities(db_url, facility("test:legal", "法律援助工作站", kind="legal_aid"))
        response = client.get("/embed/data.geojson?kind=legal_aid", headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert [f["id"] for f in response.get_json()["features"]] == ["test:legal"]
    finally:
        close_app(app)


def test_data_refuses_unknown_and_bad_parameters(client):
    response = client.get("/embed/data.geojson?bogus=1")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "bogus"
    response = client.get("/embed/data.geojson?kind=nonsense")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "kind"


def test_data_is_gzipped(client):
    response = client.get("/embed/data.geojson", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"


# ---- framing and the page's own policy -------------------------------------------------
def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_widget_may_be_framed_anywhere_by_default(client):
    policy = csp(client.get("/embed"))
    assert policy["frame-ancestors"] == "frame-ancestors *"
    assert policy["script-src"] == "script-src 'self'"
    assert policy["default-src"] == "default-src 'none'"
    assert "'unsafe-inline'" not in client.get("/embed").headers["Content-Security-Policy"]


def test_allow_list_limits_framing(db_url):
    app = make_app(
        db_url,
        embed_allowed_origins="https://gh.example.org, "
        "http://localhost:8080/, https://*.ahzgh.cn, javascript:alert(1)",
    )
    try:
        client = app.test_client()
        policy = csp(client.get("/embed?city=合肥市"))
        assert policy["frame-ancestors"] == (
            "frame-ancestors 'self' https://gh.example.org http://localhost:8080 https://*.ahzgh.cn"
        )
        # every other page stays unframeable by others
        for path in (
            "/",
            "/map",
            "/f/test:xss",
            "/embed/builder",
            "/api/v1/facilities",
            "/embed/data.geojson",
            "/oembed?url=x",
            "/embed/snippet.json",
        ):
            response = client.get(path)
            assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"], path
            assert "gh.example.org" not in response.headers["Content-Security-Policy"], path
    finally:
        close_app(app)


def test_allow_list_from_the_environment():
    settings = load_settings(
        {
            "LOCATOR_EMBED_ALLOWED_ORIGINS": "https://a.example,https://b.cn",
            "LOCATOR_TIANDITU_KEY": "k",
        }
    )
    assert frame_ancestors(settings.embed_allowed_origins) == (
        "frame-ancestors 'self' https://a.example https://b.cn"
    )
    assert load_settings({}).embed_allowed_origins == "*"


def test_allowed_origins_parsing():
    assert parse_allowed_origins("") == ([], [])
    assert parse_allowed_origins("HTTPS://A.Example:443 *") == (["https://a.example:443", "*"], [])
    sources, refused = parse_allowed_origins(
        "'self', data:, https://a.example/path, https://a_b, ftp://x.org"
    )
    assert sources == [] and len(refused) == 5
    assert frame_ancestors("https://a.example, *") == "frame-ancestors *"


def test_tile_servers_are_allowed_as_images(client):
    policy = csp(client.get("/embed?tiles=amap"))
    assert policy["img-src"] == "img-src 'self' data: https://*.is.autonavi.com"
    policy = csp(client.get("/embed?tiles=osm"))
    assert policy["img-src"] == "img-src 'self' data: https://tile.openstreetmap.org"
    assert tile_sources(
        ["https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://tiles.{s}.example.org/{z}.png"]
    ) == ["https://*.tile.example.org", "https:"]


def test_tianditu_with_a_key(db_url):
    app = make_app(db_url, tianditu_key="abc&123")
    try:
        config = widget_config(app.test_client().get("/embed?tiles=tianditu"))
        assert config["warnings"] == []
        tiles = config["tiles"]
        assert tiles["name"] == "tianditu" and tiles["datum"] == "wgs84"
        base, labels = tiles["layers"]
        assert "/vec_w/wmts?" in base["url"] and "/cva_w/wmts?" in labels["url"]
        assert base["url"].endswith("&tk=abc%26123") and labels["url"].endswith("&tk=abc%26123")
        assert base["subdomains"] == "01234567"
        assert "天地图" in base["attribution"]
        policy = csp(app.test_client().get("/embed?tiles=tianditu"))
        assert policy["img-src"] == "img-src 'self' data: https://*.tianditu.gov.cn"
    finally:
        close_app(app)


def test_site_tiles_are_the_default(db_url):
    app = make_app(db_url, tiles="osm")
    try:
        config = widget_config(app.test_client().get("/embed"))
        assert config["tiles"]["name"] == "osm"
        assert config["tiles"]["layers"][0]["url"].startswith("https://tile.openstreetmap.org/")
        config = widget_config(app.test_client().get("/embed?tiles=none"))
        assert config["tiles"]["layers"] == []
    finally:
        close_app(app)


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse_tags(html: str) -> list[tuple[str, dict]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("path", ["/embed?list=on&lang=en", "/embed/builder"])
def test_no_inline_script_or_handler(client, path):
    html = client.get(path).get_data(as_text=True)
    for tag, attrs in parse_tags(html):
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", attrs


def test_widget_assets_are_local(client):
    html = client.get("/embed").get_data(as_text=True)
    urls = [
        attrs.get("src") or attrs.get("href")
        for tag, attrs in parse_tags(html)
        if tag in ("script", "link") and (attrs.get("src") or attrs.get("href"))
    ]
    external = [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert external == [f for f in external if "/oembed?" in f]  # only the discovery link
    for url in urls:
        if url.startswith("/"):
            assert client.get(url).status_code == 200, url


# ---- no cookies ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/embed?lang=en",
        "/embed?lang=zh&list=on",
        "/embed.js?lang=en",
        "/embed/builder?lang=en",
        "/embed/data.geojson",
        "/embed/data.geojson?lang=en",
        "/embed/facility/test:xss",
        "/embed/snippet.json?lang=en",
        "/oembed?lang=en&url=http://localhost/embed?lang=en",
        "/embed/nothing?lang=en",
    ],
)
def test_no_cookie_is_ever_set(client, path):
    response = client.get(path)
    assert "Set-Cookie" not in response.headers, (path, response.headers.get("Set-Cookie"))


def test_the_language_cookie_is_not_read(client):
    client.set_cookie("lang", "en")
    config = widget_config(client.get("/embed"))
    assert config["lang"] == "zh" and config["text"]["nearMe"] != "Near me"
    html = client.get("/embed/builder").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    # the site's own pages still honour it
    assert 'lang="en"' in client.get("/map").get_data(as_text=True)


@pytest.mark.parametrize(
    "name", ["embed.js", "embed-widget.js", "embed-builder.js", "chinacrs.js", "maptiles.js"]
)
def test_scripts_use_no_cookies_storage_or_html_sinks(name):
    source = (STATIC / name).read_text(encoding="utf-8")
    for sink in (
        "document.cookie",
        "localStorage",
        "sessionStorage",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ):
        assert sink not in source, (name, sink)


# ---- the loader ------------------------------------------------------------------------
def test_loader_is_served_as_a_cacheable_cross_origin_script(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.cache_control.max_age == 3600 and response.cache_control.public
    assert "immutable" not in response.headers["Cache-Control"]  # a stable, unhashed name
    source = response.get_data(as_text=True)
    # the plain static names keep answering too (revalidated, never kept a year)
    plain = client.get("/static/embed.js")
    assert plain.status_code == 200 and plain.get_data(as_text=True) == source
    assert "immutable" not in plain.headers.get("Cache-Control", "")
    hashed = asset_url(client.application, "embed.js")
    assert hashed != "/static/embed.js" and assert_long_lived(client, hashed).decode() == source
    assert "window.LocatorEmbed" in source and "locator:height" in source
    assert "event.origin" in source and "event.source" in source


# ---- snippets --------------------------------------------------------------------------
HOSTILE = "\"><script>alert(1)</script><x y='z' & "


def test_script_snippet_escapes_every_value():
    options = EmbedOptions(
        city=Place("1", HOSTILE, "city"),
        county=Place("2", HOSTILE, "county"),
        focus=HOSTILE,
        kinds=("driver_home",),
        list=True,
    )
    html = script_snippet('https://x.example/"a<b>', options, width=600)
    assert "<script>" not in html and "alert(1)</script>" not in html
    assert html.count("<script") == 1 and html.count("</script>") == 1
    ((tag, attrs),) = parse_tags(html)
    assert tag == "script"
    assert attrs["src"] == 'https://x.example/"a<b>/embed.js'
    assert attrs["data-city"] == HOSTILE and attrs["data-county"] == HOSTILE
    assert attrs["data-focus"] == HOSTILE and attrs["data-kind"] == "driver_home"
    assert attrs["data-list"] == "on" and attrs["data-width"] == "600" and "async" in attrs


def test_iframe_snippet_escapes_and_encodes():
    options = EmbedOptions(city=Place("1", HOSTILE, "city"), theme="dark")
    html = iframe_snippet("https://x.example", options, width=500, title=HOSTILE)
    assert "<script>" not in html
    ((tag, attrs),) = parse_tags(html)
    assert tag == "iframe" and attrs["title"] == HOSTILE
    src = urlsplit(attrs["src"])
    assert (src.scheme, src.netloc, src.path) == ("https", "x.example", "/embed")
    assert dict(parse_qsl(src.query)) == {"city": HOSTILE, "theme": "dark"}
    assert attrs["width"] == "500" and attrs["height"] == str(400 + 28)
    assert attrs["allow"] == "geolocation" and "allow-scripts" in attrs["sandbox"]
    assert "allow-top-navigation" not in attrs["sandbox"]
    assert attrs["style"] == "border:0;display:block;width:100%;max-width:500px"


def test_snippet_endpoint(client):
    response = client.get(
        "/embed/snippet.json?city=合肥市&kind=driver_home,bogus&list=on&width=640&height=300"
    )
    body = response.get_json()
    assert response.status_code == 200
    ((tag, attrs),) = parse_tags(body["script"])
    assert attrs["src"] == "http://localhost/embed.js"
    assert (
        attrs["data-city"],
        attrs["data-kind"],
        attrs["data-list"],
        attrs["data-height"],
        attrs["data-width"],
    ) == ("合肥市", "driver_home", "on", "300", "640")
    ((tag, attrs),) = parse_tags(body["iframe"])
    assert attrs["height"] == str(300 + 28 + 240)
    assert body["url"] == attrs["src"]
    assert body["preview"].startswith("/embed?") and "id=preview" in body["preview"]
    assert [w["param"] for w in body["warnings"]] == ["kind"]
    assert client.get("/embed/snippet.json?width=5").status_code == 400


def test_snippets_use_the_public_url(db_url):
    app = make_app(db_url, public_url="https://stations.example.org/")
    try:
        body = app.test_client().get("/embed/snippet.json").get_json()
        assert body["script"] == (
            '<script src="https://stations.example.org/embed.js" async></script>'
        )
        assert body["url"] == "https://stations.example.org/embed"
    finally:
        close_app(app)


def test_builder_page(client):
    response = client.get("/embed/builder")
    assert response.status_code == 200
    policy = csp(response)
    assert policy["frame-src"] == "frame-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'self'"
    html = response.get_data(as_text=True)
    block = re.search(r'id="builder-config">(.*?)</script>', html, re.S).group(1)
    config = json.loads(block)
    assert len(config["cities"]) == 16
    hefei = next(c for c in config["cities"] if c["code"] == HEFEI_CODE)
    assert hefei["name"] == "合肥市" and {"蜀山区", "肥西县"} <= {
        k["name"] for k in hefei["counties"]
    }
    assert [name for name, _text in config["tiles"]] == ["osm", "amap", "none"]
    assert 'value="service_area"' in html and 'value="shower"' in html


# ---- oEmbed ----------------------------------------------------------------------------
def oembed(client, url: str, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/oembed?url={quote(url, safe='')}" + (f"&{query}" if query else ""))


def test_oembed_of_an_embed_url(client):
    response = oembed(
        client, "http://localhost/embed?city=合肥市&kind=driver_home&list=on&lang=en", format="json"
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.get_json()
    assert (doc["version"], doc["type"]) == ("1.0", "rich")
    assert doc["provider_url"] == "http://localhost/"
    assert doc["title"] == "Driver service stations: 合肥市"
    assert (doc["width"], doc["height"]) == (640, 480)
    ((tag, attrs),) = parse_tags(doc["html"])
    assert tag == "iframe" and attrs["width"] == "640" and attrs["height"] == "480"
    src = urlsplit(attrs["src"])
    assert (src.netloc, src.path) == ("localhost", "/embed")
    assert dict(parse_qsl(src.query)) == {
        "city": "合肥市",
        "kind": "driver_home",
        "lang": "en",
        "list": "on",
        "height": str(480 - 28 - 240),
    }


def test_oembed_keeps_repeated_parameters(client):
    doc = oembed(client, "http://localhost/embed?kind=driver_home&kind=service_area").get_json()
    ((tag, attrs),) = parse_tags(doc["html"])
    assert dict(parse_qsl(urlsplit(attrs["src"]).query))["kind"] == "driver_home,service_area"


def test_oembed_respects_the_maximum_size(client):
    doc = oembed(client, "http://localhost/embed", maxwidth=300, maxheight=250).get_json()
    assert doc["width"] <= 300 and doc["height"] <= 250
    ((tag, attrs),) = parse_tags(doc["html"])
    assert int(attrs["width"]) <= 300 and int(attrs["height"]) <= 250


def test_oembed_of_the_home_and_a_facility_page(client):
    doc = oembed(client, "http://localhost/").get_json()
    ((tag, attrs),) = parse_tags(doc["html"])
    assert urlsplit(attrs["src"]).path == "/embed"
    doc = oembed(client, "http://localhost/f/test:xss").get_json()
    assert doc["title"] == XSS_NAME
    assert "<img" not in doc["html"]
    ((tag, attrs),) = parse_tags(doc["html"])
    assert attrs["title"] == XSS_NAME
    query = dict(parse_qsl(urlsplit(attrs["src"]).query))
    assert query["focus"] == "test:xss" and query["zoom"] == "15"
    assert query["center"] == "117.227200,31.820600" and query["status"] == "any"


@pytest.mark.parametrize(
    "url",
    [
        "http://elsewhere.example/embed",
        "https://localhost/embed",
        "http://localhost/map",
        "http://localhost/embedded",
        "http://localhost/f/no:such",
        "http://localhost/api/v1/nearest",
        "javascript:alert(1)",
        "not a url",
        "http://localhost/f/test:xss/qr.svg",
    ],
)
def test_oembed_refuses_other_urls(client, url):
    response = oembed(client, url)
    assert response.status_code == 404, url
    assert response.get_json()["error"]["code"] == "not_found"


def test_oembed_errors(client):
    response = oembed(client, "http://localhost/embed", format="xml")
    assert response.status_code == 501
    assert response.get_json()["error"]["code"] == "not_implemented"
    assert client.get("/oembed").status_code == 400
    response = oembed(client, "http://localhost/embed", maxwidth="wide")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "maxwidth"
    assert oembed(client, "http://localhost/embed", maxheight=0).status_code == 400


def test_oembed_accepts_the_public_url(db_url):
    app = make_app(db_url, public_url="https://stations.example.org")
    try:
        client = app.test_client()
        doc = oembed(client, "https://stations.example.org/f/test:xss").get_json()
        ((tag, attrs),) = parse_tags(doc["html"])
        assert attrs["src"].startswith("https://stations.example.org/embed?")
        assert oembed(client, "http://localhost/embed").status_code == 200
        assert oembed(client, "http://other.example/embed").status_code == 404
    finally:
        close_app(app)


@pytest.mark.parametrize("path", ["/embed?city=合肥市&list=on", "/f/test:xss"])
def test_oembed_discovery(client, path):
    html = client.get(path).get_data(as_text=True)
    links = [
        attrs
        for tag, attrs in parse_tags(html)
        if tag == "link" and attrs.get("type") == "application/json+oembed"
    ]
    assert len(links) == 1 and links[0]["rel"] == "alternate"
    href = urlsplit(links[0]["href"])
    assert href.path == "/oembed"
    response = client.get(f"{href.path}?{href.query}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["type"] == "rich"


# ---- settings --------------------------------------------------------------------------
def test_new_tile_providers():
    settings = load_settings({})
    amap = settings.named_tile_provider("amap")
    assert amap["datum"] == "gcj02" and amap["subdomains"] == "1234"
    assert amap["url"].startswith("https://webrd0{s}.is.autonavi.com/appmaptile?")
    assert settings.named_tile_provider("tianditu")["url"] is None  # no key: no tiles
    keyed = load_settings({"LOCATOR_TIANDITU_KEY": "KEY"}).named_tile_provider("tianditu")
    assert "{tk}" not in keyed["url"] and keyed["url"].endswith("tk=KEY")
    assert load_settings({"LOCATOR_TILES": "tianditu"}).tile_provider()["url"] is None
