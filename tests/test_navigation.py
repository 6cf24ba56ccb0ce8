"""Navigation links: each app's datum, coordinates back within 1 m, names intact."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from locator.crs import bd09_to_wgs84, gcj02_to_wgs84, haversine_m
from locator.model import Facility
from locator.navigation import (
    APP_LABELS,
    amap_marker_url,
    navigation_links,
    phone_links,
    tencent_marker_url,
)
from locator.qr import qr_svg
from tests.web_fixtures import decode_qr_svg, raw_sites

HOSTILE_NAMES = [
    "A&B #1 <b>司机之家</b>",
    "合肥 北 服务区",
    "100% = 50+50?",
    "x=1&y=2#z",
    "驿站（东）",
    "'\"`${}",
]


def geo_label(name: str) -> str:
    """A geo: label ends at ")": brackets in names are made full-width."""
    return name.replace("(", "（").replace(")", "）")


def sample_facilities() -> list[Facility]:
    sites = sorted(raw_sites().items())[::20]  # spread over the province
    return [Facility(fid, name or "站", kind, lon, lat) for fid, (kind, name, lon, lat) in sites]


def query(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    parsed = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {k: v[0] for k, v in parsed.items()}


def decode(link_url: str, app: str) -> tuple[float, float, str]:
    """WGS-84 lon, lat and the name a link carries, read back as each app would."""
    if app == "amap":
        q = query(link_url)
        assert q["coordinate"] == "gaode" and q["callnative"] == "1"
        lon, lat = (float(v) for v in q["position"].split(","))
        return (*gcj02_to_wgs84(lon, lat), q["name"])
    if app == "amap_route":
        q = query(link_url)
        assert q["mode"] == "car"
        lon, lat, name = q["to"].split(",", 2)
        return (*gcj02_to_wgs84(float(lon), float(lat)), name)
    if app == "baidu":
        q = query(link_url)
        assert q["coord_type"] == "bd09ll" and q["output"] == "html" and q["src"]
        lat, lon = (float(v) for v in q["location"].split(","))
        return (*bd09_to_wgs84(lon, lat), q["title"])
    if app == "tencent":
        q = query(link_url)
        assert q["referer"]
        fields = dict(part.split(":", 1) for part in q["marker"].split(";"))
        lat, lon = (float(v) for v in fields["coord"].split(","))
        return (*gcj02_to_wgs84(lon, lat), fields["title"])
    if app == "geo":
        assert link_url.startswith("geo:")
        point, _, rest = link_url[4:].partition("?q=")
        lat, lon = (float(v) for v in point.split(","))
        assert rest.startswith(point + "(") and rest.endswith(")")
        return lon, lat, unquote(rest[len(point) + 1 : -1])
    raise AssertionError(app)


@pytest.mark.parametrize("f", sample_facilities(), ids=lambda f: f.id)
def test_links_convert_back_to_the_facility_within_a_metre(f):
    links = navigation_links(f)
    assert [link.app for link in links] == ["amap", "amap_route", "baidu", "tencent", "geo"]
    for link in links:
        lon, lat, name = decode(link.url, link.app)
        assert haversine_m(lon, lat, f.lon, f.lat) < 1.0, (link.app, link.url)
        assert name == (geo_label(f.name) if link.app == "geo" else f.name)


def test_each_app_gets_its_own_datum():
    f = Facility("a", "站", "driver_home", 117.2272, 31.8206)
    by_app = {link.app: link for link in navigation_links(f)}
    assert {app: link.datum for app, link in by_app.items()} == {
        "amap": "gcj02",
        "amap_route": "gcj02",
        "baidu": "bd09",
        "tencent": "gcj02",
        "geo": "wgs84",
    }
    # the raw numbers differ from WGS-84 by the datum shifts (hundreds of metres)
    amap = [float(v) for v in query(by_app["amap"].url)["position"].split(",")]
    baidu = [float(v) for v in query(by_app["baidu"].url)["location"].split(",")][::-1]
    assert 300 < haversine_m(amap[0], amap[1], f.lon, f.lat) < 1000
    assert 800 < haversine_m(baidu[0], baidu[1], f.lon, f.lat) < 2000
    assert by_app["amap"].url.startswith(
        "https://uri.amap.com/marker?position=117.232682,31.818601&name="
    )
    assert by_app["baidu"].url.startswith("https://api.map.baidu.com/marker?location=")
    assert by_app["tencent"].url.startswith("https://apis.map.qq.com/uri/v1/marker?marker=")
    assert by_app["amap_route"].url.startswith("https://uri.amap.com/navigation?to=")
    assert by_app["geo"].url == "geo:31.8206,117.2272?q=31.8206,117.2272(%E7%AB%99)"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_names_stay_intact(name):
    f = Facility("a", name, "driver_home", 116.8, 32.6, address=f"{name} 路 1 号")
    for link in navigation_links(f):
        raw = link.url.split("?", 1)[1]
        # nothing of the name escapes its parameter: no raw separator, space or markup
        assert " " not in raw and "<" not in raw and "#" not in raw and '"' not in raw
        assert raw.count("&") == link.url.count("&")
        _, _, decoded = decode(link.url, link.app)
        assert decoded == (geo_label(name) if link.app == "geo" else name), link.app
    baidu = query(navigation_links(f)[2].url)
    assert baidu["content"] == f"{name} 路 1 号"


def test_separators_without_escape_are_made_full_width():
    url = tencent_marker_url(117.0, 31.0, "a;b:c|d", "路;1号")
    fields = dict(part.split(":", 1) for part in query(url)["marker"].split(";"))
    assert fields["title"] == "a；b：c｜d" and fields["addr"] == "路；1号"
    route = [
        link
        for link in navigation_links(Facility("a", "东,西", "other", 117, 31))
        if link.app == "amap_route"
    ][0]
    assert query(route.url)["to"].split(",", 2)[2] == "东，西"


def test_whitespace_in_names_is_collapsed():
    q = query(amap_marker_url(117.0, 31.0, "  合肥\n北  站 "))
    assert q["name"] == "合肥 北 站"


def test_bad_coordinates_are_refused():
    from locator.errors import InvalidParameter

    with pytest.raises(InvalidParameter) as error:
        amap_marker_url(200.0, 31.0, "x")
    assert error.value.field == "lon"


def test_labels_in_both_languages():
    link = navigation_links(Facility("a", "站", "other", 117, 31))[0]
    assert link.label("zh") == "高德地图" and link.label("en") == "Amap (Gaode)"
    assert set(APP_LABELS) == {"amap", "amap_route", "baidu", "tencent", "geo"}


@pytest.mark.parametrize(
    "phone, expected",
    [
        ("0551-6512 3456", [("0551-6512 3456", "tel:055165123456")]),
        (
            "0551-1234567 / 13800000000",
            [("0551-1234567", "tel:05511234567"), ("13800000000", "tel:13800000000")],
        ),
        ("+86 551 1234 5678", [("+86 551 1234 5678", "tel:+8655112345678")]),
        (
            "0551-1234567；0551-7654321、12345",
            [
                ("0551-1234567", "tel:05511234567"),
                ("0551-7654321", "tel:05517654321"),
                ("12345", "tel:12345"),
            ],
        ),
        ("无", []),
        ("", []),
        (None, []),
        ("javascript:alert(1)", []),
    ],
)
def test_phone_links(phone, expected):
    assert phone_links(phone) == expected


def test_qr_svg_decodes_to_its_text():
    url = "https://stations.example.org/f/osm:way/161679435"
    svg = qr_svg(url, title="<合肥>")
    assert svg.startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert "<title>&lt;合肥&gt;</title>" in svg
    assert decode_qr_svg(svg) == url
