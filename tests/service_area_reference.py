"""An independent reference for the service areas of the shipped data (issue 11 item 4).

Written from the rule, not from :mod:`locator.service_areas`: geodesic distances on the
WGS-84 ellipsoid (pyproj), brute force over every pair, connected components, and the
raw files of ``geodata/`` read again. None of the library's KD-trees, chords, union
limits or name parsing is used.

The rule, as the issue and the module's documentation state it:

* two carriageway sides are one place when they have the same name (spaces, full-width
  forms and traditional 務/區 aside) and lie within 3 km, or when one of them is unnamed
  (no name, 服务区, 高速服务区（未命名）) and they lie within 1.5 km;
* an unnamed place is named after the nearest junction named like a service area within
  2 km (that name itself); else "<junction>附近服务区" after the nearest named junction
  within 10 km; else "<township>附近服务区" after the nearest township seat within 15 km;
  else "<county>境内服务区".
"""

from __future__ import annotations

import csv
import functools
import json
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable

import pyproj
from shapely.geometry import Point, shape

from tests.web_fixtures import GEODATA, raw_sites

GEOD = pyproj.Geod(ellps="WGS84")
NAMED_PAIR_M = 3000.0
UNNAMED_PAIR_M = 1500.0
UNNAMED = {"", "服务区", "高速服务区（未命名）"}
#: Kinds a driver can stop and rest at, written out here (logistics parks are not).
REST_KINDS = frozenset(
    {"driver_home", "service_station", "service_point", "legal_aid", "service_area"}
)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def name_key(name: str | None) -> str | None:
    """The name as compared; None for an unnamed side."""
    text = "".join(unicodedata.normalize("NFKC", name or "").split())
    text = text.replace("務", "务").replace("區", "区")
    unnamed = {unicodedata.normalize("NFKC", n) for n in UNNAMED}
    return None if text in unnamed else text


def places(sites: Iterable[tuple[str, str, float, float]]) -> list[list[str]]:
    """Groups of ids (each sorted) of ``(id, name, lon, lat)`` service areas that are one
    place: connected components of the pairing rule."""
    sites = sorted(sites)
    parent = list(range(len(sites)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, (_, name_i, lon_i, lat_i) in enumerate(sites):
        for j in range(i + 1, len(sites)):
            _, name_j, lon_j, lat_j = sites[j]
            ki, kj = name_key(name_i), name_key(name_j)
            d = distance_m(lon_i, lat_i, lon_j, lat_j)
            same = (ki is not None and ki == kj and d <= NAMED_PAIR_M) or (
                (ki is None or kj is None) and d <= UNNAMED_PAIR_M
            )
            if same:
                parent[root(j)] = root(i)
    groups: dict[int, list[str]] = {}
    for i, site in enumerate(sites):
        groups.setdefault(root(i), []).append(site[0])
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


@functools.cache
def shipped_service_areas() -> dict[str, tuple[str, float, float]]:
    """``id -> (name, lon, lat)`` of the shipped service areas, from the raw file."""
    return {
        fid: (name, lon, lat)
        for fid, (kind, name, lon, lat) in raw_sites().items()
        if kind == "service_area"
    }


@functools.cache
def shipped_places() -> tuple[tuple[str, ...], ...]:
    """The places of the shipped service areas (tuples of side ids)."""
    sites = [(fid, *value) for fid, value in shipped_service_areas().items()]
    return tuple(tuple(g) for g in places(sites))


@functools.cache
def place_of() -> dict[str, tuple[str, ...]]:
    """Side id -> its place (all side ids), for the shipped service areas."""
    return {fid: group for group in shipped_places() for fid in group}


@functools.cache
def _junctions() -> list[tuple[str, float, float]]:
    with (GEODATA / "anhui_motorway_junctions_osm.geojson").open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    return [
        (f["properties"]["name"].strip(), *map(float, f["geometry"]["coordinates"][:2]))
        for f in features
        if (f["properties"].get("name") or "").strip()
    ]


@functools.cache
def _seats() -> list[tuple[str, float, float]]:
    with (GEODATA / "anhui_townships_2023.csv").open(encoding="utf-8-sig") as handle:
        return [
            (row["name"], float(row["seat_lon_wgs84"]), float(row["seat_lat_wgs84"]))
            for row in csv.DictReader(handle)
            if row["seat_lon_wgs84"] and row["seat_lat_wgs84"]
        ]


@functools.cache
def _counties() -> list[tuple[str, object]]:
    with (GEODATA / "anhui_admin_units.geojson").open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    return [
        (f["properties"]["name"], shape(f["geometry"]))
        for f in features
        if f["properties"]["level"] == "county"
    ]


def _nearest(marks, lon: float, lat: float, within_m: float) -> str | None:
    best = min(
        ((distance_m(lon, lat, m_lon, m_lat), name) for name, m_lon, m_lat in marks),
        default=None,
    )
    return best[1] if best is not None and best[0] <= within_m else None


def derived_name(points: list[tuple[float, float]]) -> str | None:
    """The name an unnamed place at ``points`` (its sides) is given."""
    lon = sum(p[0] for p in points) / len(points)
    lat = sum(p[1] for p in points) / len(points)
    service = [j for j in _junctions() if j[0].endswith(("服务区", "停车区"))]
    other = [j for j in _junctions() if not j[0].endswith(("服务区", "停车区"))]
    found = _nearest(service, lon, lat, 2000.0)
    if found:
        return found
    for marks, within in ((other, 10_000.0), (_seats(), 15_000.0)):
        found = _nearest(marks, lon, lat, within)
        if found:
            return f"{found}附近服务区"
    for name, polygon in _counties():
        if any(polygon.covers(Point(p)) for p in points):
            return f"{name}境内服务区"
    return None


@functools.cache
def place_names() -> dict[tuple[str, ...], tuple[str, bool]]:
    """Place -> (its name, whether derived), for the shipped service areas."""
    sites = shipped_service_areas()
    out = {}
    for group in shipped_places():
        named = Counter(sites[fid][0] for fid in group if name_key(sites[fid][0]))
        if named:
            out[group] = (named.most_common(1)[0][0], False)
        else:
            out[group] = (derived_name([sites[fid][1:] for fid in group]), True)
    # A derived name another place has too: where it lies from the others of that name.
    centre = {
        g: (sum(sites[f][1] for f in g) / len(g), sum(sites[f][2] for f in g) / len(g)) for g in out
    }
    by_name: dict[str, list[tuple[str, ...]]] = {}
    for group, (name, _) in out.items():
        by_name.setdefault(name, []).append(group)
    for name, groups in by_name.items():
        if len(groups) < 2:
            continue
        for group in groups:
            if not out[group][1]:
                continue
            others = [centre[g] for g in groups if g != group]
            lon0 = sum(c[0] for c in others) / len(others)
            lat0 = sum(c[1] for c in others) / len(others)
            east = (centre[group][0] - lon0) * math.cos(math.radians(lat0))
            north = centre[group][1] - lat0
            if abs(east) >= abs(north):
                word = "东" if east > 0 else "西"
            else:
                word = "北" if north > 0 else "南"
            out[group] = (f"{name}（{word}）", True)
    return out


def display_name(fid: str, stored_name: str) -> str:
    """The name a shipped facility is listed with: its own, or its place's when unnamed."""
    group = place_of().get(fid)
    if group is None or name_key(stored_name) is not None:
        return stored_name
    return place_names()[group][0]
