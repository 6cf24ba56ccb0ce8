"""Leaflet, MarkerCluster and jQuery served by the app itself (no CDN), from xstatic packages,
and the app's own static files, both under content-hashed names.

``url_for("static", filename="driver.js")`` gives ``/static/driver.<digest>.js`` (and the
vendored files likewise), where the digest is the start of the file's SHA-256: such a URL
always means the same bytes, so it is answered with :data:`IMMUTABLE` (browsers, proxies
and the service worker keep it a year without asking again), and a changed file gets a new
URL. A hashed name whose digest is not the file's current one is 404. Plain names keep
working with short lifetimes (the vendored files a day, the app's own files revalidated
each time), for links that cannot follow the digest (``/embed.js`` has its own route).
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import xstatic.pkg.leaflet as xleaflet
import xstatic.pkg.leaflet_markercluster as xcluster
from flask import Blueprint, Flask, Response, abort, send_from_directory, url_for
from werkzeug.security import safe_join

bp = Blueprint("assets", __name__)

VENDOR = {
    "leaflet": Path(xleaflet.BASE_DIR),
    "markercluster": Path(xcluster.BASE_DIR),
}

#: The endpoints that serve files (the app's own and the vendored ones).
ASSET_ENDPOINTS = frozenset({"static", "assets.vendor"})
#: The ``Cache-Control`` of an answer under a content-hashed name.
IMMUTABLE = "public, max-age=31536000, immutable"
#: How many hex digits of the SHA-256 name a file's version.
DIGEST_LENGTH = 12
_HASHED = re.compile(rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<ext>\.[^./]+)$")


def hashed_name(filename: str, digest: str) -> str:
    """``filename`` with ``digest`` before its extension.

    >>> hashed_name("images/leaflet.markercluster.js", "0123456789ab")
    'images/leaflet.markercluster.0123456789ab.js'
    """
    folder, slash, name = filename.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    named = f"{stem}.{digest}.{ext}" if dot and stem else f"{name}.{digest}"
    return f"{folder}{slash}{named}"


def unhashed(filename: str) -> tuple[str, str | None]:
    """The plain name and the digest of a hashed name (``(filename, None)`` for a plain one).

    >>> unhashed("/static/driver.0123456789ab.js")
    ('/static/driver.js', '0123456789ab')
    """
    found = _HASHED.match(filename)
    if found is None:
        return filename, None
    return found["stem"] + found["ext"], found["digest"]


@functools.lru_cache(maxsize=1024)
def _digest_of(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:DIGEST_LENGTH]


def file_digest(folder: Path | str, filename: str) -> str | None:
    """The digest of ``filename`` inside ``folder`` (None when there is no such file); read
    again only when the file's size or time changes."""
    path = safe_join(str(folder), filename)
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    if not Path(path).is_file():
        return None
    return _digest_of(path, stat.st_mtime_ns, stat.st_size)


def _send(folder: Path | str, filename: str, send) -> Response:
    """The answer for ``filename`` (plain or hashed) by ``send(plain_name)``, immutable
    when the name carries the file's current digest."""
    plain, digest = unhashed(filename)
    if digest is None:
        return buffered(send(filename))
    if file_digest(folder, plain) != digest:
        abort(404)
    response = buffered(send(plain))
    if response.status_code in (200, 304):
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers.pop("Expires", None)
    return response


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    """A file of a vendored package: a year under its hashed name, else a day."""
    if package not in VENDOR:
        abort(404)
    folder = VENDOR[package]
    return _send(folder, filename, lambda name: send_from_directory(folder, name, max_age=86400))


def buffered(response: Response) -> Response:
    """A file response read into memory (and the file closed), so Flask-Compress can gzip it.

    Static files here are small (Leaflet is the largest: 147 KB, 43 KB gzipped).
    """
    if response.status_code == 200 and response.direct_passthrough:
        response.direct_passthrough = False
        data = response.get_data()
        response.close()
        response.set_data(data)
    return response


def init_app(app: Flask) -> None:
    """Serve the app's own static files buffered too, and make every ``url_for`` of a
    static or vendored file give its hashed name."""
    send_static = app.view_functions["static"]
    folder = Path(app.static_folder)
    app.view_functions["static"] = lambda filename: _send(
        folder, filename, lambda name: send_static(filename=name)
    )

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict) -> None:
        if endpoint == "static":
            where = folder
        elif endpoint == "assets.vendor":
            where = VENDOR.get(values.get("package"))
        else:
            return
        filename = values.get("filename")
        if where is None or not isinstance(filename, str) or unhashed(filename)[1]:
            return
        digest = file_digest(where, filename)
        if digest is not None:
            values["filename"] = hashed_name(filename, digest)


def map_assets() -> dict[str, str]:
    """URLs of the map's JavaScript and CSS, for :func:`locator.maps.build_facility_map`."""
    return {
        "leaflet_js": url_for("assets.vendor", package="leaflet", filename="leaflet.js"),
        "leaflet_css": url_for("assets.vendor", package="leaflet", filename="leaflet.css"),
        "markercluster_js": url_for(
            "assets.vendor", package="markercluster", filename="leaflet.markercluster.js"
        ),
        "markercluster_css": url_for(
            "assets.vendor", package="markercluster", filename="MarkerCluster.css"
        ),
        "markercluster_default_css": url_for(
            "assets.vendor", package="markercluster", filename="MarkerCluster.Default.css"
        ),
    }
