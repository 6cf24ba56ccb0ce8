"""Settings: typed defaults, overridden by ``LOCATOR_*`` environment variables.

Nothing is read at import time; call :func:`load_settings` where settings are needed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import quote

from .clock import Clock, clock_from_text

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent

#: Tile providers the map pages know. ``none`` shows boundaries only (offline).
TILE_PROVIDERS = {
    "osm": {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">'
        "OpenStreetMap</a> contributors (ODbL)",
        "datum": "wgs84",
    },
    # Amap (高德) road map with labels; its tiles are drawn in GCJ-02, so every map shifts
    # what it draws (markers, boundaries, coverage polygons) from WGS-84 to GCJ-02 on it,
    # and the pages read map taps back to WGS-84; data, popups and downloads stay WGS-84.
    "amap": {
        "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
        "&style=8&x={x}&y={y}&z={z}",
        "subdomains": "1234",
        "attribution": '&copy; <a href="https://www.amap.com/">高德地图 AutoNavi</a>',
        "datum": "gcj02",
    },
    # Tianditu (天地图), the national map service: WGS-84/CGCS2000 Web Mercator tiles and a
    # label layer; both need a key (``LOCATOR_TIANDITU_KEY``), put in for ``{tk}``.
    "tianditu": {
        "url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        "&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}",
        "labels": "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        "&VERSION=1.0.0&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}",
        "subdomains": "01234567",
        "attribution": '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>',
        "datum": "wgs84",
        "key_setting": "tianditu_key",
    },
    "none": {"url": None, "attribution": "", "datum": "wgs84"},
}


def tile_layers(provider: Mapping) -> dict:
    """A provider as the map scripts take it: its datum and its layers (base, then labels)."""
    layers = [
        {
            "url": provider[part],
            "subdomains": provider.get("subdomains") or "abc",
            "attribution": provider.get("attribution") or "",
        }
        for part in ("url", "labels")
        if provider.get(part)
    ]
    return {"datum": provider.get("datum") or "wgs84", "layers": layers}


def shipped_dir(name: str) -> Path:
    """A folder of the repository's top level (``templates``, ``geodata``): beside the
    package in a checkout, else where an installed distribution put it (the package
    ``locator._<name>``, mapped onto the top-level folder by ``pyproject.toml``)."""
    beside = PROJECT_ROOT / name
    if beside.is_dir() and (PROJECT_ROOT / "pyproject.toml").is_file():
        return beside
    try:
        spec = importlib.util.find_spec(f"locator._{name}")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return beside


def default_geodata_dir() -> Path:
    """The shipped ``geodata/`` folder."""
    return shipped_dir("geodata")


@dataclass(frozen=True)
class Settings:
    """Runtime settings; each field maps to ``LOCATOR_<FIELD NAME IN CAPITALS>``."""

    database_url: str = "sqlite:///instance/locator.db"
    geodata_dir: str = field(default_factory=lambda: str(default_geodata_dir()))
    tiles: str = "osm"
    tile_url: str = ""
    tile_attribution: str = ""
    max_upload_mb: float = 20.0
    #: Where uploaded lists wait for their confirmation without Redis (default: the
    #: app's ``instance/uploads``), and for how long.
    upload_dir: str = ""
    upload_keep_minutes: float = 60.0
    page_limit_default: int = 100
    page_limit_max: int = 1000
    #: Signs session cookies; required when several workers or machines serve.
    secret_key: str = ""
    #: Shared store for the workers' rate-limit counters (``redis://host:6379/0``).
    redis_url: str = ""
    #: Sign-in attempts allowed per client address and per account name.
    login_limit: str = "10 per minute;50 per day"
    #: Drivers' reports (纠错) allowed per client address, and stored per facility.
    report_limit: str = "30 per minute"
    report_facility_limit: str = "60 per hour"
    #: Days after the last verification (``verified_on``) when a record, and a
    #: record's opening hours, count as stale (the admin list, /coverage, exports).
    stale_days: int = 180
    stale_hours_days: int = 90
    session_hours: float = 12.0
    #: Truck speeds by road class replacing the defaults ("motorway=80,primary=50"; see
    #: locator.roads.profile), for ``locator roads import`` and the coarse network.
    road_speeds: str = ""
    drive_detour_factor: float = 1.3
    drive_speed_kmh: float = 50.0
    max_route_body_kb: float = 512.0
    data_check_seconds: float = 0.5
    public_url: str = ""
    allowed_hosts: str = ""
    trusted_proxies: int = 0
    embed_allowed_origins: str = "*"
    tianditu_key: str = ""
    heavy_requests: int = 1
    heavy_queue: int = 3
    heavy_wait_seconds: float = 60.0
    #: Fixes "now" at this ISO 8601 time (reproducible reports, tests); empty: the system's.
    now: str = ""

    def clock(self) -> Clock:
        """The clock of these settings (see :mod:`locator.clock`)."""
        return clock_from_text(self.now)

    def tile_provider(self) -> dict[str, str | None]:
        """The configured tile layer: a named provider, or a custom ``tile_url``."""
        if self.tile_url:
            return {
                "url": self.tile_url,
                "attribution": self.tile_attribution or TILE_PROVIDERS["osm"]["attribution"],
                "datum": "wgs84",
            }
        return self.named_tile_provider(self.tiles)

    def named_tile_provider(self, name: str) -> dict[str, str | None]:
        """A provider of :data:`TILE_PROVIDERS` with its key filled in; ``none`` for an
        unknown name or a provider whose key is not configured."""
        provider = dict(TILE_PROVIDERS.get(name, TILE_PROVIDERS["none"]))
        key_setting = provider.pop("key_setting", None)
        if key_setting:
            key = str(getattr(self, key_setting) or "").strip()
            if not key:
                return dict(TILE_PROVIDERS["none"])
            for part in ("url", "labels"):
                if provider.get(part):
                    provider[part] = provider[part].replace("{tk}", quote(key, safe=""))
        return provider


def load_settings(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Settings from defaults, then ``LOCATOR_*`` variables, then keyword overrides."""
    environ = os.environ if environ is None else environ
    values = {}
    for spec in fields(Settings):
        raw = environ.get(f"LOCATOR_{spec.name.upper()}")
        if raw is None:
            continue
        kind = spec.type if isinstance(spec.type, type) else eval(spec.type, {})  # noqa: S307
        values[spec.name] = kind(raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
