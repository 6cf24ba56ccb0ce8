"""The installable app: its web manifest and its service worker.

``/manifest.webmanifest`` names the app (司机服务站点), its icons, its start page and the
colour of its bar. ``/sw.js`` is the service worker (``static/sw.js``, with its
configuration put first): it keeps the files of the driver's page and of the station
pages under their content-hashed names (:mod:`locator.web.assets`), the driver's page
and every station page it passes, and answers them without a network, marked with the
time they were kept. It never touches anything else: not the API (the driver's page
keeps its last results itself, in ``localStorage``), not ``/admin`` or ``/login``, no
request but GET, and no answer that is ``no-store``, which every answer that sets a
cookie is (:func:`locator.web.security.no_store_with_cookies`).

The worker is served at the root of the site (of its script root behind a proxy), so its
scope is the whole site without a ``Service-Worker-Allowed`` header, and with
``Cache-Control: no-cache``, so browsers check for a new one at each visit. Its bytes
change with any precached file (the configuration lists their hashed URLs), and the new
worker then replaces the old one and its files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Flask, Response, url_for
from flask_babel import gettext as _

bp = Blueprint("offline", __name__)

#: The colour of the top bar, and of the installed app's title bar.
THEME_COLOR = "#b71c1c"
#: The app's name on the home screen.
APP_NAME = "司机服务站点"
APP_DESCRIPTION = "附近的司机之家、工会服务站和高速服务区：营业时间、设施、电话和导航。"

#: The app's static files the worker does not keep at install: those of the admin, planning
#: and embed pages, the big icons and itself (every other one serves the driver's page or
#: the station pages; tests/test_offline.py checks that every file those pages load is kept).
NOT_PRECACHED = ("admin", "coverage", "embed", "app-icon-512", "app-icon.svg", "sw.js")
#: The vendored files the driver's page and the station pages load, kept at install.
OFFLINE_VENDOR = (
    ("leaflet", "leaflet.css"),
    ("leaflet", "leaflet.js"),
    ("markercluster", "MarkerCluster.css"),
    ("markercluster", "MarkerCluster.Default.css"),
    ("markercluster", "leaflet.markercluster.js"),
)
#: Paths (under the script root) the worker never answers nor keeps, whatever else says.
NEVER_PATHS = ("admin", "login", "logout", "api")
#: How long a page waits for the network before the kept copy is shown (weak signal).
NETWORK_TIMEOUT_MS = 6000
#: How many pages (the driver's page and station pages) the worker keeps at most.
MAX_PAGES = 60

STATIC = Path(__file__).resolve().parent / "static"
WORKER_SOURCE = STATIC / "sw.js"


def _root() -> str:
    return url_for("pages.index")


def precache_urls() -> list[str]:
    """The hashed URLs of the static files but :data:`NOT_PRECACHED`, and of
    :data:`OFFLINE_VENDOR`."""
    names = sorted(
        path.name
        for path in STATIC.iterdir()
        if path.is_file()
        and path.suffix in (".js", ".css", ".svg", ".png")
        and not path.name.startswith(NOT_PRECACHED)
    )
    urls = [url_for("static", filename=name) for name in names]
    urls += [url_for("assets.vendor", package=p, filename=name) for p, name in OFFLINE_VENDOR]
    return urls


def worker_config() -> dict:
    """What the worker needs: its version, the files and pages it keeps, what it never
    touches."""
    root = _root()
    return {
        "home": root,
        "pages": url_for("pages.facility", facility_id="_")[:-1],
        "assets": precache_urls(),
        "assetPrefixes": [url_for("static", filename="_")[:-1], root + "vendor/"],
        "never": [root + name for name in NEVER_PATHS],
        "timeoutMs": NETWORK_TIMEOUT_MS,
        "maxPages": MAX_PAGES,
    }


def worker_script() -> str:
    """The worker: its configuration (with a version naming its files), then its code."""
    source = WORKER_SOURCE.read_text(encoding="utf-8")
    config = worker_config()
    version = hashlib.sha256(
        json.dumps(config, sort_keys=True).encode() + source.encode()
    ).hexdigest()[:12]
    config = {"version": version, **config}
    return f"self.LOCATOR_OFFLINE = {json.dumps(config, ensure_ascii=False)};\n{source}"


@bp.get("/sw.js")
def worker():
    """The service worker, checked again by browsers at each visit."""
    response = Response(worker_script(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    # The worker's own fetches: this site only.
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    return response


def manifest_document() -> dict:
    """The web manifest: name, start page, standalone display, colours and icons."""
    root = _root()

    def icon(name: str, size: str, kind: str, purpose: str) -> dict:
        src = url_for("static", filename=name)
        return {"src": src, "sizes": size, "type": kind, "purpose": purpose}

    return {
        "id": root,
        "name": APP_NAME,
        "short_name": APP_NAME,
        "description": APP_DESCRIPTION,
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": root,
        "scope": root,
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": "#ffffff",
        "categories": ["navigation", "travel"],
        "icons": [
            icon("app-icon.svg", "any", "image/svg+xml", "any"),
            icon("app-icon-192.png", "192x192", "image/png", "any"),
            icon("app-icon-512.png", "512x512", "image/png", "any"),
            icon("app-icon-512.png", "512x512", "image/png", "maskable"),
        ],
    }


@bp.get("/manifest.webmanifest")
def manifest():
    """The web manifest (its icons under hashed names), kept a day."""
    body = json.dumps(manifest_document(), ensure_ascii=False)
    response = Response(body, mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def offline_config() -> dict:
    """What ``static/offline.js`` needs on the driver's and station pages: the worker, its
    scope, and the texts of the offline marks and of "add to home screen"."""
    return {
        "worker": url_for("offline.worker"),
        "scope": _root(),
        "text": {
            "page": _("Offline · page saved {age}"),
            "results": _("Offline · results from {age}"),
            "justNow": _("just now"),
            "minute": _("1 minute ago"),
            "minutes": _("{n} minutes ago"),
            "hour": _("1 hour ago"),
            "hours": _("{n} hours ago"),
            "day": _("1 day ago"),
            "days": _("{n} days ago"),
        },
    }


def init_app(app: Flask) -> None:
    """Register the routes and give templates ``offline_config()`` and the theme colour."""
    app.register_blueprint(bp)
    app.jinja_env.globals["offline_config"] = offline_config
    app.jinja_env.globals["theme_color"] = THEME_COLOR
