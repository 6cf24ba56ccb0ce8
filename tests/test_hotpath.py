"""The hot path of ``GET /api/v1/nearest`` answers exactly as the Flask view would.

Every request here goes twice through the same app: once through the WSGI middleware
(``app.wsgi_app``, the hot path) and once straight to Flask (``app.wsgi_app.fallback``);
status, every header and the (decompressed) body must agree.
"""

from __future__ import annotations

import gzip
import json
import urllib.request
from urllib.parse import quote, urlencode

import numpy as np
import pytest
from flask import request_started
from flask_compress.flask_compress import _choose_algorithm
from werkzeug.test import Client
from werkzeug.wrappers import Response

from locator.web.api.facilities import NEAREST_GZIP_LEVEL
from locator.web.caching import etag_for, matching_etag, plain_or_gzip
from locator.web.hotpath import HotPath
from tests.web_fixtures import LiveServer

NEAREST = "/api/v1/nearest"
BROWSER = "gzip, deflate, br, zstd"


@pytest.fixture(scope="module")
def url(loaded_url):
    """The shared ``app`` fixture (conftest) serves the shipped data on each backend."""
    return loaded_url


@pytest.fixture
def both(app):
    """(hot path client, Flask-only client) over the same app."""
    assert isinstance(app.wsgi_app, HotPath)
    return Client(app.wsgi_app, Response), Client(app.wsgi_app.fallback, Response)


@pytest.fixture
def flask_requests(app):
    """The paths of requests that went through Flask's request cycle."""
    seen: list[str] = []

    def record(sender, **extra):
        from flask import request

        seen.append(request.full_path)

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def body_of(response) -> bytes:
    data = response.get_data()
    return gzip.decompress(data) if response.headers.get("Content-Encoding") == "gzip" else data


def assert_same(hot, flask, path: str, headers: dict | None = None):
    """Both answer ``path`` with the same status, headers and body; the hot answer."""
    a = hot.get(path, headers=headers or {})
    b = flask.get(path, headers=headers or {})
    assert a.status == b.status, path
    assert sorted(a.headers.items()) == sorted(b.headers.items()), path
    assert body_of(a) == body_of(b), path
    return a


# Parameter sets a driver's page or an integrator sends; all valid.
VARIANTS = [
    {},
    {"k": "1"},
    {"k": "50"},
    {"kind": "service_area"},
    {"kind": "service_area,logistics_park"},
    {"kind": "司机之家"},  # a Chinese label, percent-encoded below
    {"status": "any"},
    {"status": "planned,under_construction"},
    {"amenity": "parking"},
    {"amenity": "parking,toilet"},
    {"max_km": "3"},
    {"max_km": "0.001"},  # the second finds nothing
    {"min_truck_parking": "1"},
    {"open_now": "true", "at": "2026-11-30T23:30:00+08:00"},
    {"crs": "gcj02"},
    {"out_crs": "bd09"},
    {"crs": "baidu", "out_crs": "amap"},
    {"kind": ""},  # a blank value, as a form sends it
]


def test_the_hot_path_equals_the_flask_view(both):
    hot, flask = both
    rng = np.random.default_rng(5)
    for i, variant in enumerate(VARIANTS * 3):
        lon, lat = rng.uniform(114.9, 119.6), rng.uniform(29.5, 34.6)
        path = f"{NEAREST}?{urlencode({'lon': f'{lon:.5f}', 'lat': f'{lat:.5f}', **variant})}"
        headers = {"Accept-Encoding": BROWSER} if i % 2 else {}
        answer = assert_same(hot, flask, path, headers)
        assert answer.status_code == 200
        body = json.loads(body_of(answer))
        assert body["type"] == "FeatureCollection"
        assert body["numberReturned"] == len(body["features"]) <= int(variant.get("k", 5))


def test_repeated_parameters_and_the_default_answer(both):
    hot, flask = both
    repeated = assert_same(
        hot, flask, f"{NEAREST}?lon=117.2&lat=31.8&kind=service_area&kind=logistics_park&k=8"
    )
    kinds = {f["properties"]["kind"] for f in repeated.json["features"]}
    assert kinds <= {"service_area", "logistics_park"} and len(repeated.json["features"]) == 8
    plain = assert_same(hot, flask, f"{NEAREST}?lon=117.2&lat=31.8")
    distances = [f["properties"]["distance_m"] for f in plain.json["features"]]
    assert len(distances) == 5 and distances == sorted(distances)
    assert {f["properties"]["status"] for f in plain.json["features"]} == {"open"}


def test_gzip_when_the_client_asks_as_browsers_do(app, both):
    hot, flask = both
    path = f"{NEAREST}?lon=117.2&lat=31.8&k=10"
    plain = assert_same(hot, flask, path)
    zipped = assert_same(hot, flask, path, {"Accept-Encoding": BROWSER})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert int(zipped.headers["Content-Length"]) == len(zipped.get_data()) < len(plain.get_data())
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + ':gzip"'
    # at the nearest answers' own level; other answers at the app's (Flask-Compress)
    assert len(zipped.get_data()) == len(gzip.compress(plain.get_data(), NEAREST_GZIP_LEVEL))
    assert NEAREST_GZIP_LEVEL < app.config["COMPRESS_LEVEL"]
    listing = hot.get("/api/v1/facilities?limit=50")
    zipped_listing = hot.get("/api/v1/facilities?limit=50", headers={"Accept-Encoding": BROWSER})
    assert len(zipped_listing.get_data()) == len(
        gzip.compress(listing.get_data(), app.config["COMPRESS_LEVEL"])
    )


def test_etag_revalidation_with_and_without_gzip(both):
    hot, flask = both
    path = f"{NEAREST}?lon=116.8&lat=33.9&k=3"
    plain_tag = hot.get(path).headers["ETag"]
    gzip_tag = hot.get(path, headers={"Accept-Encoding": BROWSER}).headers["ETag"]
    for tag, encoding in (
        (plain_tag, ""),
        (gzip_tag, BROWSER),
        (f"W/{gzip_tag}", BROWSER),
        (f'"other", {gzip_tag}', BROWSER),
    ):
        fresh = assert_same(hot, flask, path, {"If-None-Match": tag, "Accept-Encoding": encoding})
        assert fresh.status_code == 304 and fresh.get_data() == b""
        assert fresh.headers["ETag"] == tag.removeprefix("W/").split(", ")[-1]
        assert fresh.headers["Cache-Control"] == "public, max-age=60"
    stale = assert_same(hot, flask, path, {"If-None-Match": '"not-this-one"'})
    assert stale.status_code == 200 and stale.json["numberReturned"] == 3


def test_what_the_hot_path_leaves_to_flask(app, both, flask_requests):
    hot, flask = both
    hot.get(f"{NEAREST}?lon=117.2&lat=31.8")
    hot.get(f"{NEAREST}?lon=117.2&lat=31.8", headers={"Accept-Encoding": BROWSER})
    assert flask_requests == []  # answered without Flask's request cycle

    # Errors: Flask renders the JSON error shape, naming the field.
    for query, field in (
        ("lat=31.8", "lon"),
        ("lon=117.2&lat=95", "lat"),
        ("lon=117.2&lat=31.8&k=51", "k"),
        ("lon=117.2&lat=31.8&kind=x", "kind"),
        ("lon=117.2&lat=31.8&colour=red", "colour"),
    ):
        answer = assert_same(hot, flask, f"{NEAREST}?{query}")
        assert answer.status_code == 400 and answer.json["error"]["field"] == field
    # Codings other than gzip-first: Flask-Compress picks (br here).
    for encoding, chosen in (("br", "br"), ("gzip;q=0.5, br;q=1.0", "br"), ("*", "gzip")):
        answer = assert_same(
            hot, flask, f"{NEAREST}?lon=117.2&lat=31.8&k=10", {"Accept-Encoding": encoding}
        )
        assert answer.headers["Content-Encoding"] == chosen
    # Other methods.
    assert hot.head(f"{NEAREST}?lon=117.2&lat=31.8").status_code == 200
    assert hot.post(f"{NEAREST}?lon=117.2&lat=31.8").status_code == 405
    # Each assert_same request reached Flask twice: by the hot path and directly.
    assert len(flask_requests) == 2 * (5 + 3) + 2
    assert flask_requests[-1].startswith(NEAREST)


def test_over_a_real_socket_with_gzip_and_revalidation(app):
    query = urlencode({"lon": "117.25", "lat": "31.85", "k": "5", "kind": "logistics_park"})
    with LiveServer(app) as server:
        path = f"{server.url}{NEAREST}?{query}"
        with urllib.request.urlopen(path, timeout=10) as response:
            plain = response.read()
        request = urllib.request.Request(path, headers={"Accept-Encoding": BROWSER})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            etag = response.headers["ETag"]
            assert gzip.decompress(response.read()) == plain
        request = urllib.request.Request(
            path, headers={"Accept-Encoding": BROWSER, "If-None-Match": etag}
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        assert raised.value.code == 304 and raised.value.headers["ETag"] == etag
        raised.value.close()
    features = json.loads(plain)["features"]
    assert len(features) == 5
    assert {f["properties"]["kind"] for f in features} == {"logistics_park"}


def test_a_compressed_answer_of_any_cached_endpoint_revalidates(client):
    """Flask-Compress suffixes the tag (``"abc:gzip"``); a browser sends that tag back."""
    path = f"/api/v1/facilities?city={quote('合肥市')}"
    first = client.get(path, headers={"Accept-Encoding": BROWSER})
    assert first.headers["Content-Encoding"] == "gzip" and first.headers["ETag"].endswith(':gzip"')
    again = client.get(
        path, headers={"Accept-Encoding": BROWSER, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


# ---- the pieces --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        " ",
        "gzip",
        "GZIP",
        "gzip, deflate, br, zstd",
        "gzip, deflate, br",
        "deflate, gzip",
        "br",
        "identity",
        "identity, gzip",
        "gzip;q=0",
        "gzip;q=0.5, br",
        "br;q=1.0, gzip;q=0.9",
        "*",
        "*;q=0",
        "x-gzip",
        "deflate",
        "zstd, br",
        "gzip,br",
    ],
)
def test_plain_or_gzip_agrees_with_flask_compress(app, header):
    """Where the hot path decides, it decides as Flask-Compress does with this app's order."""
    mine = plain_or_gzip(header)
    theirs = _choose_algorithm(tuple(app.config["COMPRESS_ALGORITHM"]), header or "")
    if mine is not None:
        assert (mine or None) == theirs, header
    else:
        assert header and theirs != "gzip" or ";" in header or "*" in header, header


def test_matching_etag():
    tag = etag_for(7, NEAREST, "lon=1&lat=2")
    assert len(tag) == 32 and tag != etag_for(8, NEAREST, "lon=1&lat=2")
    assert tag != etag_for(7, NEAREST, "lon=1&lat=3")
    assert matching_etag(None, tag) is None and matching_etag("", tag) is None
    assert matching_etag(f'"{tag}"', tag) == tag
    assert matching_etag(f'W/"{tag}"', tag) == tag
    assert matching_etag(f'"x", "{tag}:gzip"', tag) == f"{tag}:gzip"
    assert matching_etag(f'"{tag}:br"', tag) == f"{tag}:br"
    assert matching_etag(f'"{tag}:nonsense"', tag) is None
    assert matching_etag(f'"{tag[:-1]}"', tag) is None
    assert matching_etag("*", tag) == tag
