"""Helpers shared by the web tests: loaded databases, apps, a live server, the raw geodata.

The "independent" readers here parse the shipped files with ``json``/``csv`` and shapely
only, never through ``locator``, so the tests compare the app against a second opinion.
"""

from __future__ import annotations

import atexit
import csv
import functools
import json
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, url_for
from shapely.geometry import Point, shape
from werkzeug.serving import make_server

from locator.accounts import Accounts
from locator.clock import clock_from_text
from locator.geodata import load_default_data
from locator.model import Facility
from locator.storage import open_storage
from locator.web import create_app
from locator.web.assets import IMMUTABLE, unhashed

ROOT = Path(__file__).resolve().parent.parent
GEODATA = ROOT / "geodata"

HEFEI_CODE = "340100"


# ---- databases and apps --------------------------------------------------------------------
@functools.cache
def _shipped_sqlite_template() -> Path:
    """One SQLite file with the shipped data per test run; modules get copies of it."""
    folder = Path(tempfile.mkdtemp(prefix="locator-shipped-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "locator.db"
    load_into(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    try:  # everything in the main file, nothing in the WAL
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path


def loaded_database(backend: str, directory: Path) -> tuple[str, Callable[[], None]]:
    """A database of ``backend`` holding the shipped data: its URL and a cleanup function."""
    if backend == "sqlite":
        path = directory / "locator.db"
        shutil.copyfile(_shipped_sqlite_template(), path)

        def cleanup() -> None:
            pass

        return f"sqlite:///{path}", cleanup
    from tests.conftest import _drop_schema, _postgis_schema_url

    schema, url = _postgis_schema_url()

    def drop() -> None:
        _drop_schema(schema)

    load_into(url)
    return url, drop


def load_into(url: str) -> None:
    """Load the shipped data into the (possibly empty) database at ``url``."""
    with open_storage(url, init=True) as storage:
        load_default_data(storage, GEODATA)


#: The accounts of the admin tests: name -> (role, areas), each with :data:`PASSWORD`.
ADMIN_ROLES = {
    "viewer": ("viewer", []),
    "hefei": ("editor", [HEFEI_CODE]),
    "feidong": ("editor", ["340122"]),  # 肥东县, in 合肥市
    "admin": ("admin", []),
}
PASSWORD = "correct horse battery"
#: The admin tests' clock.
ADMIN_NOW = "2026-12-01T09:00:00+08:00"


def add_accounts(url: str, roles: dict[str, tuple[str, list[str]]] = ADMIN_ROLES) -> None:
    """Add the accounts of ``roles`` (:data:`ADMIN_ROLES`) to the database at ``url``."""
    with open_storage(url) as storage:
        people = Accounts(storage, clock_from_text(ADMIN_NOW))
        for name, (role, areas) in roles.items():
            people.add(name, role, areas, PASSWORD, actor="test")


def make_app(url: str, **overrides: Any) -> Flask:
    """The app on ``url``, without map tiles (tests never go online)."""
    return create_app({"database_url": url, "tiles": "none", **overrides})


def close_app(app: Flask) -> None:
    """Release the app's database connections."""
    app.extensions["locator"].storage.close()


def asset_url(app: Flask, filename: str, package: str | None = None) -> str:
    """The URL the app gives a static file (or a vendored ``package``'s): its content-hashed
    name, by the app's own ``url_for`` (:mod:`locator.web.assets`)."""
    with app.test_request_context():
        if package is None:
            return url_for("static", filename=filename)
        return url_for("assets.vendor", package=package, filename=filename)


def assert_long_lived(client, url: str) -> bytes:
    """``url`` is a content-hashed name answered 200 and cached a year; its body."""
    assert unhashed(url)[1] is not None, url
    with client.get(url) as response:
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url
        return response.get_data()


def add_facilities(url: str, *facilities: Facility) -> None:
    """Write facilities through a storage of its own (as another process would)."""
    with open_storage(url) as storage:
        storage.upsert_facilities(facilities)


def facility(
    fid: str,
    name: str,
    *,
    lon: float = 117.2272,
    lat: float = 31.8206,
    kind: str = "driver_home",
    **changes: Any,
) -> Facility:
    """A facility in central Hefei unless told otherwise."""
    return Facility(id=fid, name=name, kind=kind, lon=lon, lat=lat, **changes)


# ---- a live server -------------------------------------------------------------------------
class LiveServer:
    """The app served on a real socket (127.0.0.1, a free port) by a daemon thread."""

    def __init__(self, app: Flask):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name="live-server"
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# ---- the shipped files, read independently -------------------------------------------------
def _features(name: str) -> list[dict]:
    with (GEODATA / name).open(encoding="utf-8") as handle:
        return json.load(handle)["features"]


@functools.cache
def raw_sites() -> dict[str, tuple[str, str, float, float]]:
    """Every shipped facility: ``id -> (kind, name or "", lon, lat)``, from the raw files."""
    sites = {}
    for feature in _features("anhui_expressway_service_areas_osm.geojson"):
        lon, lat = feature["geometry"]["coordinates"][:2]
        sites[f"osm:{feature['properties']['osm_id']}"] = (
            "service_area",
            feature["properties"].get("name") or "",
            float(lon),
            float(lat),
        )
    with (GEODATA / "anhui_logistics_sites_osm.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            sites[f"osm:poi/{row['osm_id']}"] = (
                "logistics_park",
                row["name"],
                float(row["lon_wgs84"]),
                float(row["lat_wgs84"]),
            )
    return sites


@functools.cache
def admin_polygon(adcode: str):
    """The polygon of a city or county of ``anhui_admin_units.geojson``."""
    for feature in _features("anhui_admin_units.geojson"):
        if feature["properties"]["adcode"] == adcode:
            return shape(feature["geometry"])
    raise KeyError(adcode)


@functools.cache
def admin_name(adcode: str) -> str:
    for feature in _features("anhui_admin_units.geojson"):
        if feature["properties"]["adcode"] == adcode:
            return feature["properties"]["name"]
    raise KeyError(adcode)


@functools.cache
def hefei_township_polygons() -> tuple[tuple[str, Any], ...]:
    """``(name, polygon)`` of Hefei's township polygons; names without the 办事处 suffix."""
    return tuple(
        (f["properties"]["name"].removesuffix("办事处"), shape(f["geometry"]))
        for f in _features("hefei_townships_2023.geojson")
    )


def townships_at(lon: float, lat: float) -> set[str]:
    """Names of the Hefei township polygons containing a point."""
    point = Point(lon, lat)
    return {name for name, polygon in hefei_township_polygons() if polygon.contains(point)}


def ids_within(polygon, kind: str | None = None) -> set[str]:
    """Ids of shipped facilities (of ``kind``) inside ``polygon``."""
    return {
        fid
        for fid, (k, _name, lon, lat) in raw_sites().items()
        if (kind is None or k == kind) and polygon.contains(Point(lon, lat))
    }


# ---- QR codes --------------------------------------------------------------------------------
def decode_qr_svg(svg: str, pixels_per_module: int = 8) -> str:
    """The text of the QR code in a segno SVG, read back by a real decoder (zxing-cpp).

    The SVG is rasterised here from its own path (segno draws each row of dark modules
    as ``h`` strokes of one module's width), so the decoder sees what a browser shows.
    """
    import re

    import numpy as np
    import zxingcpp

    size = int(re.search(r'<svg[^>]*\swidth="(\d+)"', svg).group(1))
    scale_match = re.search(r"scale\((\d+(?:\.\d+)?)\)", svg)
    scale = float(scale_match.group(1)) if scale_match else 1.0
    modules = int(round(size / scale))
    dark = re.search(r'<path[^>]*class="qrline"[^>]*\sd="([^"]+)"', svg).group(1)
    image = np.full((modules * pixels_per_module,) * 2, 255, dtype=np.uint8)
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([^MmHh]*)", dark):
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command in "Mm":
            dx, dy = numbers
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
        else:
            length = numbers[0]
            end = x + length if command == "h" else length
            row = int(y)  # strokes run along the middle of a row of modules
            image[
                row * pixels_per_module : (row + 1) * pixels_per_module,
                int(x) * pixels_per_module : int(end) * pixels_per_module,
            ] = 0
            x = end
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"{len(found)} codes found"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text
