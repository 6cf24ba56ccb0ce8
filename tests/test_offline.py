"""The installable, offline app without a browser: content-hashed static names and their
cache lifetimes, the web manifest, the service worker's script and configuration.

The worker itself runs in tests/browser/test_offline.py."""

from __future__ import annotations

import json
import re
import struct
from html.parser import HTMLParser

import pytest

from locator.storage import open_storage
from locator.web.assets import IMMUTABLE, file_digest, hashed_name, unhashed
from locator.web.offline import NEVER_PATHS
from tests.web_fixtures import assert_long_lived, asset_url

WORKER_CONFIG = re.compile(r"\Aself\.LOCATOR_OFFLINE = (\{.*?\});\n", re.S)


@pytest.fixture(scope="module")
def url(shipped_sqlite_url):
    return shipped_sqlite_url


@pytest.fixture(scope="module")
def station(url) -> str:
    with open_storage(url) as storage:
        return sorted(f.id for f in storage.facilities())[0]


class Loads(HTMLParser):
    """What a page loads: scripts, stylesheets, icons and the manifest."""

    def __init__(self, html: str):
        super().__init__()
        self.urls: list[str] = []
        self.manifest: str | None = None
        self.theme: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "manifest":
            self.manifest = attrs["href"]
        elif tag == "link" and attrs.get("rel") in ("stylesheet", "icon", "apple-touch-icon"):
            self.urls.append(attrs["href"])
        if tag == "meta" and attrs.get("name") == "theme-color":
            self.theme = attrs["content"]


def worker_config(client) -> dict:
    source = client.get("/sw.js").get_data(as_text=True)
    found = WORKER_CONFIG.match(source)
    assert found, source[:200]
    return json.loads(found.group(1))


# ---- content-hashed names ---------------------------------------------------------------
def test_hashed_names_are_kept_a_year_and_plain_names_are_revalidated(app, client):
    hashed = asset_url(app, "driver.js")
    plain, digest = unhashed(hashed)
    assert plain == "/static/driver.js" and re.fullmatch(r"[0-9a-f]{12}", digest)
    body = assert_long_lived(client, hashed)
    with client.get(plain) as answer:
        assert answer.status_code == 200 and answer.get_data() == body
        assert "immutable" not in answer.headers.get("Cache-Control", "")
        assert "max-age=31536000" not in answer.headers.get("Cache-Control", "")
    # a digest that is not the file's own is no file at all (an old page asks a new server)
    stale = hashed_name("driver.js", "0" * 12)
    assert client.get(f"/static/{stale}").status_code == 404
    # vendored files likewise: a year hashed, a day plain
    leaflet = asset_url(app, "leaflet.js", package="leaflet")
    assert (
        leaflet.startswith("/vendor/leaflet/leaflet.") and leaflet != "/vendor/leaflet/leaflet.js"
    )
    assert assert_long_lived(client, leaflet) == client.get("/vendor/leaflet/leaflet.js").data
    assert client.get("/vendor/leaflet/leaflet.js").headers["Cache-Control"] == (
        "public, max-age=86400"
    )
    assert client.get(f"/vendor/leaflet/{hashed_name('leaflet.js', 'f' * 12)}").status_code == 404


def test_a_changed_file_gets_a_new_digest(tmp_path):
    path = tmp_path / "app.js"
    path.write_text("var a = 1;\n", encoding="utf-8")
    first = file_digest(tmp_path, "app.js")
    path.write_text("var a = 22;\n", encoding="utf-8")
    second = file_digest(tmp_path, "app.js")
    assert first != second and len(first) == len(second) == 12
    assert file_digest(tmp_path, "missing.js") is None
    assert file_digest(tmp_path, "../etc/passwd") is None


def test_the_embed_loader_keeps_its_stable_name(app, client):
    # partner sites paste <script src="https://HOST/embed.js">: never a hashed name
    snippet = client.get("/embed/snippet.json").get_json()
    assert "/embed.js" in json.dumps(snippet) and asset_url(app, "embed.js") not in json.dumps(
        snippet
    )
    loader = client.get("/embed.js")
    assert loader.status_code == 200 and loader.headers["Cache-Control"] in (
        "public, max-age=3600",
        "max-age=3600, public",
    )


# ---- the web manifest ---------------------------------------------------------------------
def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_pages_link_the_manifest_whose_icons_are_served(client, station):
    for path in ("/", f"/f/{station}"):
        loads = Loads(client.get(path).get_data(as_text=True))
        assert loads.manifest == "/manifest.webmanifest" and loads.theme == "#b71c1c"
    answer = client.get("/manifest.webmanifest")
    assert answer.status_code == 200 and answer.mimetype == "application/manifest+json"
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    manifest = answer.get_json()
    assert manifest["name"] == manifest["short_name"] == "司机服务站点"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/",
        "/",
        "standalone",
    )
    assert manifest["theme_color"] == "#b71c1c"
    sizes = {}
    for icon in manifest["icons"]:
        data = assert_long_lived(client, icon["src"])
        if icon["type"] == "image/png":
            sizes[icon["sizes"]] = png_size(data)
        else:
            assert icon["type"] == "image/svg+xml" and data.lstrip().startswith(b"<svg")
    assert sizes == {"192x192": (192, 192), "512x512": (512, 512)}
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])


# ---- the service worker -------------------------------------------------------------------
def test_the_worker_is_revalidated_at_each_visit_from_the_root(client):
    answer = client.get("/sw.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert "Set-Cookie" not in answer.headers and "Service-Worker-Allowed" not in answer.headers
    config = worker_config(client)
    assert config["home"] == "/" and config["pages"] == "/f/"
    assert config["never"] == [f"/{name}" for name in NEVER_PATHS]
    assert {"/admin", "/login", "/logout", "/api"} <= set(config["never"])
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    assert worker_config(client) == config  # the same files, the same worker


def test_the_worker_keeps_every_file_of_the_driver_and_station_pages(app, client, station):
    config = worker_config(client)
    assets = config["assets"]
    for path in ("/", f"/f/{station}"):
        page = Loads(client.get(path).get_data(as_text=True)).urls
        assert page and [url for url in page if url not in assets] == [], path
    for url in assets:  # each under its hashed name, answered and kept a year
        assert unhashed(url)[1] is not None, url
        assert_long_lived(client, url)
    # never the files of the pages it leaves alone
    assert not [url for url in assets if re.search(r"/(admin|coverage|embed)[^/]*$", url)]
    assert asset_url(app, "sw.js") not in assets
    assert all(url.startswith(tuple(config["assetPrefixes"])) for url in assets)


def test_answers_that_set_a_cookie_are_never_stored(client):
    # the worker keeps no "no-store" answer: every answer that sets a cookie is one
    answer = client.get("/?lang=en")
    assert "Set-Cookie" in answer.headers
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert "Set-Cookie" not in client.get("/").headers


def test_the_driver_pages_policy_allows_this_sites_worker_and_manifest(client, station):
    for path in ("/", f"/f/{station}"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "worker-src 'self'" in policy and "manifest-src 'self'" in policy
    offline = re.search(
        r'<script type="application/json" id="offline-config">(.*?)</script>',
        client.get(f"/f/{station}").get_data(as_text=True),
    )
    config = json.loads(offline.group(1))
    assert (config["worker"], config["scope"]) == ("/sw.js", "/")
    assert config["text"]["results"] == "离线 · {age}的结果"
    assert config["text"]["page"] == "离线 · {age}保存的页面"
    assert IMMUTABLE == "public, max-age=31536000, immutable"
