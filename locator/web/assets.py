"""Leaflet, MarkerCluster and jQuery served by the app itself (no CDN), from xstatic packages."""

from __future__ import annotations

from pathlib import Path

import xstatic.pkg.leaflet as xleaflet
import xstatic.pkg.leaflet_markercluster as xcluster
from flask import Blueprint, Flask, Response, abort, send_from_directory, url_for

bp = Blueprint("assets", __name__)

VENDOR = {
    "leaflet": Path(xleaflet.BASE_DIR),
    "markercluster": Path(xcluster.BASE_DIR),
}


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    """A file of a vendored package, cached for a day."""
    if package not in VENDOR:
        abort(404)
    return buffered(send_from_directory(VENDOR[package], filename, max_age=86400))


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
    """Serve the app's own static files buffered too."""
    send_static = app.view_functions["static"]
    app.view_functions["static"] = lambda filename: buffered(send_static(filename=filename))


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
