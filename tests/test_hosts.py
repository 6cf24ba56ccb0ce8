"""Which hosts the site answers, and under which address it makes links: the configured
public URL or an allow-list, never a forged ``Host``; HTTPS behind trusted proxies."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from locator.config import load_settings
from locator.web.urls import trusted_hosts
from tests.web_fixtures import close_app, decode_qr_svg, make_app

PUBLIC = "https://stations.example.org"


@pytest.fixture(scope="module")
def url(shipped_sqlite_url):
    return shipped_sqlite_url


@pytest.fixture(scope="module")
def public_app(url):
    app = make_app(url, public_url=PUBLIC)
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def facility_id(client_any):
    return client_any.get("/api/v1/facilities?limit=1").get_json()["features"][0]["id"]


@pytest.fixture(scope="module")
def client_any(url):
    app = make_app(url, allowed_hosts="*")
    yield app.test_client()
    close_app(app)


def test_the_allowed_hosts_follow_the_settings():
    assert trusted_hosts(load_settings({})) == ["localhost", "127.0.0.1", "[::1]", "::1"]
    assert trusted_hosts(load_settings({"LOCATOR_PUBLIC_URL": PUBLIC}))[0] == "stations.example.org"
    assert trusted_hosts(load_settings({"LOCATOR_ALLOWED_HOSTS": "a.example, .b.example"})) == [
        "a.example",
        ".b.example",
    ]
    assert trusted_hosts(load_settings({"LOCATOR_ALLOWED_HOSTS": "*"})) is None


def test_links_are_made_under_the_public_url_whatever_the_host(public_app, facility_id):
    client = public_app.test_client()
    for host in ("stations.example.org", "127.0.0.1:5000"):
        headers = {"Host": host}
        svg = client.get(f"/f/{facility_id}/qr.svg", headers=headers)
        assert decode_qr_svg(svg.get_data(as_text=True)) == f"{PUBLIC}/f/{facility_id}"
        assert svg.headers["Cache-Control"] == "public, max-age=86400"
        assert "X-Locator-Public-Url" not in svg.headers
        page = client.get(f"/f/{facility_id}", headers=headers).get_data(as_text=True)
        assert f"{PUBLIC}/f/{facility_id}" in page and "LOCATOR_PUBLIC_URL" not in page
        links = client.get("/api/v1/facilities?limit=1", headers=headers).get_json()["links"]
        assert {link["href"].split("?")[0] for link in links} == {f"{PUBLIC}/api/v1/facilities"}
        one = client.get(f"/api/v1/facilities/{facility_id}", headers=headers).get_json()
        assert one["links"][0]["href"] == f"{PUBLIC}/api/v1/facilities/{facility_id}"
        spec = client.get("/api/v1/openapi.json", headers=headers).get_json()
        assert spec["servers"][0]["url"].startswith(PUBLIC)
        snippet = client.get("/embed/snippet.json?city=合肥市", headers=headers).get_json()
        assert f'src="{PUBLIC}/embed.js"' in snippet["script"]
        oembed = client.get(
            f"/oembed?url={quote(PUBLIC + '/f/' + facility_id)}", headers=headers
        ).get_json()
        assert f'src="{PUBLIC}/embed?' in oembed["html"]
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_without_a_public_url_codes_and_posters_say_so(client_any, facility_id):
    svg = client_any.get(f"/f/{facility_id}/qr.svg", headers={"Host": "10.1.2.3:8000"})
    assert decode_qr_svg(svg.get_data(as_text=True)) == f"http://10.1.2.3:8000/f/{facility_id}"
    assert svg.headers["X-Locator-Public-Url"] == "unset"
    assert svg.headers["Cache-Control"] == "private, max-age=300"
    assert "未设置公开网址" in svg.get_data(as_text=True)  # in the SVG's title
    page = client_any.get(f"/f/{facility_id}", headers={"Host": "10.1.2.3:8000"})
    text = page.get_data(as_text=True)
    assert "尚未设置公开网址（LOCATOR_PUBLIC_URL）" in text
    assert f"http://10.1.2.3:8000/f/{facility_id}" in text


def test_a_listed_host_is_answered_and_others_refused(url):
    app = make_app(url, allowed_hosts="stations.example.org")
    client = app.test_client()
    try:
        ok = client.get(
            "/api/v1/nearest?lon=117.23&lat=31.82", headers={"Host": "stations.example.org"}
        )
        assert ok.status_code == 200
        refused = client.get("/api/v1/nearest?lon=117.23&lat=31.82", headers={"Host": "localhost"})
        assert refused.status_code == 400
        assert refused.get_json()["error"]["field"] == "Host"
        page = client.get("/", headers={"Host": "evil.example"})
        assert page.status_code == 400 and "本站不接受" in page.get_data(as_text=True)
    finally:
        close_app(app)


def test_hsts_only_over_https_and_forwarded_headers_only_from_trusted_proxies(url):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "stations.example.org"}
    plain = make_app(url, allowed_hosts="*")
    proxied = make_app(url, trusted_proxies=1, allowed_hosts="stations.example.org")
    try:
        for path in ("/", "/api/v1/nearest?lon=117.23&lat=31.82", "/api/v1/facilities"):
            # No trusted proxy: the forwarded headers are ignored, the answer is plain HTTP.
            assert (
                "Strict-Transport-Security"
                not in plain.test_client().get(path, headers=forwarded).headers
            )
            assert (
                plain.test_client()
                .get(path, base_url="https://localhost")
                .headers["Strict-Transport-Security"]
                == "max-age=31536000"
            )
            behind = proxied.test_client().get(path, headers=forwarded)
            assert behind.status_code == 200, path
            assert behind.headers["Strict-Transport-Security"] == "max-age=31536000"
        links = (
            proxied.test_client()
            .get("/api/v1/facilities?limit=1", headers=forwarded)
            .get_json()["links"]
        )
        assert links[0]["href"].startswith("https://stations.example.org/api/v1/")
    finally:
        close_app(plain)
        close_app(proxied)
