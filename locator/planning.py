"""Planning over the stored data: coverage, blind spots, new sites and "what if".

The glue between storage and the coverage library (:mod:`locator.coverage`,
:mod:`locator.grid`, :mod:`locator.siting`, :mod:`locator.progress`) that the web
pages, the API and the CLI share; no Flask here.

Two demand models for siting:

* ``townships`` (default): each located township is a demand point at its reference
  point (seat, else a point inside its polygon) weighing its *uncovered* demand
  (``demand - demand_covered`` of the :class:`~locator.coverage.CoverageReport`); a
  new site covers it when it lies within the radius of that point. The baseline is
  the report's covered demand, so baseline + added matches the report's figures.
* ``grid``: the H3 cells of :func:`locator.grid.grid_layout` with their demand; the
  baseline is the demand of cells an existing facility already reaches.

Candidate sites: ``seats`` (township reference points), ``logistics`` (logistics
parks), ``service_areas`` (expressway service areas), ``junctions`` (stored
expressway junctions), ``grid`` (cell centres), or points from a file or a list.
Existing counted facilities stay fixed; everything is restricted to the chosen city
or county.

Examples
--------
>>> from shapely.geometry import box
>>> from locator.model import AdminUnit
>>> county = AdminUnit("340102", "瑶海区", "county", demand={"population": 1000.0},
...                    geometry=box(117.0, 31.0, 117.4, 31.2))
>>> towns = [AdminUnit("340102001", "东", "township", "340102",
...                    geometry=box(117.0, 31.0, 117.2, 31.2)),
...          AdminUnit("340102002", "西", "township", "340102",
...                    geometry=box(117.2, 31.0, 117.4, 31.2))]
>>> result = plan(PlanningData([county, *towns], []), sites=1, method="greedy")
>>> len(result.sites), result.sites[0].source
(1, 'seats')
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import shapely

from .admin_units import AdminIndex
from .coverage import (
    DEFAULT_COUNTED_KINDS,
    DEMAND_WEIGHTS,
    MAX_RADIUS_KM,
    CoverageParams,
    CoverageReport,
    Rollup,
    TownshipCoverage,
    geodesic_area_m2,
    select_area,
    township_coverage,
)
from .crs import normalize_crs, to_wgs84
from .errors import InvalidParameter, PayloadTooLarge
from .grid import (
    RESOLUTIONS,
    GridLayout,
    GridReport,
    area_geometry,
    blind_spots,
    choose_resolution,
    grid_layout,
)
from .messages import Message
from .model import AdminUnit, CandidateSite, Facility, parse_kind
from .params import _single, _values, parse_bool, parse_float, parse_int
from .progress import FREQUENCIES, ProgressPoint, progress_series
from .siting import SitingProblem, SitingResult, maximal_covering, set_covering

#: Where candidate sites can come from (besides a file or a list of points).
CANDIDATE_SOURCES = ("seats", "logistics", "service_areas", "junctions", "grid")
#: Facility kinds that are candidate sources.
CANDIDATE_KINDS = {"logistics": "logistics_park", "service_areas": "service_area"}
#: Demand models.
DEMAND_SOURCES = ("townships", "grid")
#: ``method`` of :func:`plan`.
PLAN_METHODS = ("auto", "greedy", "exact")
#: ``auto`` solves exactly when demand points x candidates stay at or under this.
EXACT_MAX_PAIRS = 2_000_000
#: The most grid cells one answer lists (about 500 bytes each as GeoJSON).
MAX_LISTED_CELLS = 10_000
#: The most (candidate, demand point) pairs within the radius a plan compares.
MAX_COVER_PAIRS = 5_000_000
#: At most this many new sites per plan.
MAX_SITES = 500
#: A grid may hold at most this many cells (an explicit fine resolution over a province
#: would need millions).
MAX_GRID_CELLS = 250_000
#: At most this many candidate points from a file or a list.
MAX_CANDIDATE_POINTS = 20_000
#: The longest city or county name or code accepted.
MAX_AREA_TEXT = 60

#: Stages reported to a ``progress`` callback, with the share of the work done after each.
STAGES = {
    "coverage": 0.25,
    "demand": 0.4,
    "candidates": 0.5,
    "solve": 0.85,
    "set_cover": 0.95,
    "done": 1.0,
}

ProgressCallback = Callable[[str, float], None]


# ---- the data ---------------------------------------------------------------------------
class PlanningData:
    """What planning reads: admin units, facilities, stored candidate junctions, history.

    Built once per data version (the web app caches it) and never written to.
    """

    def __init__(
        self,
        units: Sequence[AdminUnit],
        facilities: Sequence[Facility],
        junctions: Sequence[CandidateSite] = (),
        history: Sequence = (),
        data_version: int = 0,
    ):
        self.units = list(units)
        self.facilities = list(facilities)
        self.junctions = list(junctions)
        self.history = list(history)
        self.data_version = data_version

    @classmethod
    def from_storage(
        cls, storage, facilities: Sequence[Facility] | None = None, data_version: int | None = None
    ) -> PlanningData:
        """Everything planning needs from ``storage`` (facilities from a catalog if given)."""
        version = storage.data_version() if data_version is None else data_version
        return cls(
            storage.admin_units(),
            storage.facilities() if facilities is None else facilities,
            storage.candidates("junction"),
            storage.history(),
            version,
        )

    @functools.cached_property
    def by_code(self) -> dict[str, AdminUnit]:
        return {u.code: u for u in self.units}

    @functools.cached_property
    def admin_index(self) -> AdminIndex:
        return AdminIndex(self.units)

    @functools.cached_property
    def units_key(self) -> str:
        """A fingerprint of the admin units: grids laid on them stay valid while it holds."""
        digest = hashlib.sha256()
        for u in self.units:
            bounds = u.geometry.bounds if u.geometry is not None else None
            digest.update(
                repr(
                    (
                        u.code,
                        u.parent_code,
                        u.level,
                        bounds,
                        u.seat_lon,
                        u.seat_lat,
                        sorted(u.demand.items()),
                    )
                ).encode()
            )
        return digest.hexdigest()[:16]

    def area(self, city: str | None = None, county: str | None = None) -> AdminUnit | None:
        """The city or county named (checking that a county lies in the city named)."""
        area = select_area(self.units, city, county)
        if city and county and area is not None:
            parent = select_area(self.units, city, None)
            unit: AdminUnit | None = area
            while unit is not None and unit.code != parent.code:
                unit = self.by_code.get(unit.parent_code) if unit.parent_code else None
            if unit is None:
                raise InvalidParameter(
                    Message("county_not_in_city", county=county, city=city), field="county"
                )
        return area

    def cities(self) -> list[AdminUnit]:
        return sorted((u for u in self.units if u.level == "city"), key=lambda u: u.code)

    def counties(self, city: AdminUnit | None = None) -> list[AdminUnit]:
        return sorted(
            (
                u
                for u in self.units
                if u.level == "county" and (city is None or u.parent_code == city.code)
            ),
            key=lambda u: u.code,
        )


def in_area(f: Facility, area: AdminUnit | None) -> bool:
    """Whether a facility lies in the area (by its derived city/county codes)."""
    return area is None or area.code in (f.city_code, f.county_code)


# ---- request parameters (shared by the API, the pages and the CLI) ----------------------
def parse_area(args: Mapping) -> tuple[str | None, str | None]:
    """``city`` and ``county`` as given (name or code), length-checked."""
    out = []
    for name in ("city", "county"):
        value = _single(args, name)
        if value is not None and len(value) > MAX_AREA_TEXT:
            raise InvalidParameter(
                Message("too_long_text", name=name, limit=MAX_AREA_TEXT), field=name
            )
        out.append(value or None)
    return out[0], out[1]


def parse_coverage_params(args: Mapping) -> CoverageParams:
    """Radius (``radius_km``), counted kinds (``kind``, repeated or comma-separated) and
    the demand weight (``weight``)."""
    radius = parse_float(args, "radius_km", 5.0, 0.0, MAX_RADIUS_KM)
    if radius <= 0:
        raise InvalidParameter(Message("radius_range", high=MAX_RADIUS_KM), field="radius_km")
    kinds = frozenset(parse_kind(v) for v in _values(args, "kind")) or DEFAULT_COUNTED_KINDS
    weight = _single(args, "weight") or "population"
    if weight not in DEMAND_WEIGHTS:
        raise InvalidParameter(
            Message("one_of", name="weight", choices=", ".join(DEMAND_WEIGHTS)), field="weight"
        )
    return CoverageParams(radius_km=radius, kinds=kinds, weight=weight)


def parse_resolution(args: Mapping) -> int | None:
    """The H3 ``resolution`` (5-10), or None to choose one for the area."""
    if _single(args, "resolution") is None:
        return None
    return parse_int(args, "resolution", 0, RESOLUTIONS.start, RESOLUTIONS.stop - 1)


def parse_choice(args: Mapping, name: str, choices: Sequence[str], default: str) -> str:
    """One of ``choices``."""
    value = _single(args, name)
    if value is None:
        return default
    if value not in choices:
        raise InvalidParameter(Message("one_of", name=name, choices=", ".join(choices)), field=name)
    return value


def coverage_key(params: CoverageParams) -> tuple:
    """A hashable key of coverage parameters, for caches."""
    return (
        round(params.radius_km, 6),
        tuple(sorted(params.kinds)),
        tuple(sorted(params.statuses)),
        params.weight,
    )


# ---- coverage ------------------------------------------------------------------------------
def coverage(
    data: PlanningData,
    params: CoverageParams | None = None,
    *,
    city: str | None = None,
    county: str | None = None,
) -> CoverageReport:
    """Township coverage of an area (see :func:`locator.coverage.township_coverage`)."""
    data.area(city, county)  # checks a county lies in the city named
    return township_coverage(data.units, data.facilities, params, city=city, county=county)


def rollup_dict(rollup: Rollup | None) -> dict | None:
    """A rollup as JSON-ready numbers (demand rounded to whole people)."""
    if rollup is None:
        return None
    data = rollup.to_dict()
    for key in ("demand", "demand_covered"):
        data[key] = round(data[key], 1)
    return data


def coverage_summary(report: CoverageReport) -> dict:
    """Rollups per city and county and the total, with the parameters that made them."""
    area = report.area
    return {
        "params": params_dict(report.params),
        "area": None
        if area is None
        else {"code": area.code, "name": area.name, "level": area.level},
        "total": rollup_dict(report.total),
        "cities": [rollup_dict(r) for r in report.cities],
        "counties": [rollup_dict(r) for r in report.counties],
    }


def params_dict(params: CoverageParams) -> dict:
    return {
        "radius_km": params.radius_km,
        "kinds": sorted(params.kinds),
        "statuses": sorted(params.statuses),
        "weight": params.weight,
    }


def township_status(row: TownshipCoverage) -> str:
    """``covered``, ``partly`` (not covered, some of its area reached), ``uncovered`` or
    ``unlocated``."""
    if row.located == "unlocated":
        return "unlocated"
    if row.covered:
        return "covered"
    return "partly" if (row.covered_share or 0) > 0 else "uncovered"


def township_features(
    report: CoverageReport,
    units: Sequence[AdminUnit],
    *,
    tolerance: float | None = None,
    precision: int = 6,
) -> dict:
    """Townships as GeoJSON: the polygon when there is one, else the reference point,
    else a null geometry (unlocated); properties are the coverage fields.

    ``tolerance`` (degrees) simplifies polygons for display; coordinates are rounded
    to ``precision`` decimals (6: about 0.1 m).
    """
    by_code = {u.code: u for u in units}
    features = []
    for row in report.townships:
        unit = by_code.get(row.code)
        geometry = None
        if unit is not None and unit.geometry is not None:
            shape = unit.geometry
            if tolerance:
                shape = shapely.simplify(shape, tolerance, preserve_topology=True)
                if shape.geom_type == "Polygon" and unit.geometry.geom_type == "MultiPolygon":
                    shape = shapely.MultiPolygon([shape])  # keep the stored type
            shape = shapely.transform(shape, lambda xy: np.round(xy, precision))
            geometry = shapely.geometry.mapping(shape)
        elif row.ref_lon is not None:
            geometry = {
                "type": "Point",
                "coordinates": [round(row.ref_lon, precision), round(row.ref_lat, precision)],
            }
        properties = row.to_dict()
        properties["status"] = township_status(row)
        properties["demand"] = round(row.demand, 1)
        properties["demand_covered"] = round(row.demand_covered, 1)
        if row.area_km2 is not None:
            properties["area_km2"] = round(row.area_km2, 3)
        features.append(
            {"type": "Feature", "id": row.code, "geometry": geometry, "properties": properties}
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": len(features),
        "numberReturned": len(features),
    }


def ordered_townships(report: CoverageReport) -> list[TownshipCoverage]:
    """Townships for tables: gaps by rank, then the covered ones, then the unlocated."""
    gaps = report.gaps
    taken = {t.code for t in gaps}
    covered = sorted(
        (t for t in report.townships if t.code not in taken and t.located != "unlocated"),
        key=lambda t: (t.county_code or "", t.code),
    )
    unlocated = sorted(report.unlocated, key=lambda t: (t.county_code or "", t.code))
    return [*gaps, *covered, *unlocated]


# ---- the grid ----------------------------------------------------------------------------
def grid_estimate(
    data: PlanningData, city: str | None, county: str | None, resolution: int | None
) -> tuple[int, float]:
    """The resolution a grid over the area would have (``resolution``, or the one chosen
    automatically) and about how many cells it would lay, before laying any."""
    area_km2 = geodesic_area_m2(area_geometry(data.units, city, county)) / 1e6
    if resolution is None:
        resolution = choose_resolution(area_km2)
    return resolution, area_km2 / h3.average_hexagon_area(resolution, "km^2")


def listed_grid_resolution(
    data: PlanningData, city: str | None, county: str | None, resolution: int | None
) -> int:
    """The resolution of a grid whose every cell is listed in one answer: the finest
    under :data:`MAX_LISTED_CELLS` cells when not given; a given one that would list
    more is refused (the merged blind spots of a finer grid stay small)."""
    area_km2 = geodesic_area_m2(area_geometry(data.units, city, county)) / 1e6
    if resolution is None:
        return choose_resolution(area_km2, MAX_LISTED_CELLS)
    check_grid_size(data, city, county, resolution)
    cells = area_km2 / h3.average_hexagon_area(resolution, "km^2")
    if cells > MAX_LISTED_CELLS:
        raise PayloadTooLarge(
            Message(
                "grid_listed_cells", resolution=resolution, cells=cells, limit=MAX_LISTED_CELLS
            ),
            field="resolution",
        )
    return resolution


def check_grid_size(
    data: PlanningData, city: str | None, county: str | None, resolution: int | None
) -> None:
    """Refuse a resolution that would lay more than :data:`MAX_GRID_CELLS` cells."""
    if resolution is None:
        return
    _, cells = grid_estimate(data, city, county, resolution)
    if cells > MAX_GRID_CELLS:
        raise InvalidParameter(
            Message("grid_cells", resolution=resolution, cells=cells, limit=MAX_GRID_CELLS),
            field="resolution",
        )


def layout(
    data: PlanningData,
    *,
    city: str | None = None,
    county: str | None = None,
    resolution: int | None = None,
    weight: str = "population",
) -> GridLayout:
    """The grid over an area with each cell's demand (after checking its size)."""
    data.area(city, county)
    check_grid_size(data, city, county, resolution)
    return grid_layout(data.units, city=city, county=county, resolution=resolution, weight=weight)


def grid(
    data: PlanningData,
    params: CoverageParams | None = None,
    *,
    city: str | None = None,
    county: str | None = None,
    resolution: int | None = None,
    cells: GridLayout | None = None,
) -> GridReport:
    """Each cell's nearest distance and demand (pass ``cells`` to reuse a layout)."""
    params = params or CoverageParams()
    if cells is None:
        cells = layout(data, city=city, county=county, resolution=resolution, weight=params.weight)
    return blind_spots(data.units, data.facilities, params, layout=cells)


def grid_summary(report: GridReport) -> dict:
    summary = report.summary()
    summary["radius_km"] = report.radius_m / 1000.0
    for key in ("demand", "demand_covered"):
        summary[key] = round(summary[key], 1)
    return summary


def blind_spots_for_display(report: GridReport, tolerance: float = 0.002) -> dict:
    """The merged blind spots simplified for a map (about 200 m at Anhui's latitude)."""
    collection = report.blind_spots_geojson()
    for feature in collection["features"]:
        shape = shapely.simplify(
            shapely.geometry.shape(feature["geometry"]), tolerance, preserve_topology=True
        )
        shape = shapely.transform(shape, lambda xy: np.round(xy, 4))
        feature["geometry"] = shapely.geometry.mapping(shape)
    return collection


# ---- progress ------------------------------------------------------------------------------
def progress(
    data: PlanningData,
    params: CoverageParams | None = None,
    *,
    city: str | None = None,
    freq: str = "monthly",
    periods: int | None = None,
    end: dt.date,
) -> list[ProgressPoint]:
    """Open counted facilities and covered townships per period up to ``end`` (today, in
    Shanghai, by the caller's clock; see :func:`locator.progress.progress_series`)."""
    if freq not in FREQUENCIES:
        raise InvalidParameter(
            Message("one_of", name="freq", choices=", ".join(FREQUENCIES)), field="freq"
        )
    return progress_series(
        data.units,
        data.facilities,
        data.history,
        params,
        freq=freq,
        end=end,
        periods=periods,
        city=city,
    )


def progress_totals(
    points: Sequence[ProgressPoint], city_code: str | None = None
) -> list[ProgressPoint]:
    """The points of one city (by code), or the totals when ``city_code`` is None.

    With one city asked, :func:`progress` returns only that city's points, which are
    then its totals.
    """
    codes = {p.city_code for p in points}
    if city_code is None and None not in codes and len(codes) == 1:
        return list(points)
    return [p for p in points if p.city_code == city_code]


# ---- candidates ------------------------------------------------------------------------------
@dataclass
class CandidateSet:
    """Candidate sites: ids, names, positions (WGS-84) and where each came from."""

    source: str
    ids: list[str]
    names: list[str]
    lon: np.ndarray
    lat: np.ndarray
    dropped: int = 0  # outside the area

    def __post_init__(self):
        self.lon = np.asarray(self.lon, dtype=float)
        self.lat = np.asarray(self.lat, dtype=float)

    def __len__(self) -> int:
        return len(self.ids)

    def within(self, area: AdminUnit | None) -> CandidateSet:
        """The candidates inside the area's polygon (all when it has none)."""
        if area is None or area.geometry is None or not len(self):
            return self
        inside = shapely.contains_xy(area.geometry, self.lon, self.lat)
        return CandidateSet(
            self.source,
            [i for i, k in zip(self.ids, inside, strict=True) if k],
            [n for n, k in zip(self.names, inside, strict=True) if k],
            self.lon[inside],
            self.lat[inside],
            self.dropped + int((~inside).sum()),
        )

    def key(self) -> str:
        """A short fingerprint (for caches)."""
        text = json.dumps(
            [
                self.source,
                self.ids,
                self.names,
                np.round(self.lon, 7).tolist(),
                np.round(self.lat, 7).tolist(),
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def candidate_set(
    source: str,
    data: PlanningData,
    *,
    area: AdminUnit | None,
    report: CoverageReport | None = None,
    cells: GridLayout | None = None,
) -> CandidateSet:
    """Candidates of a named source, restricted to ``area``.

    ``seats`` needs the area's coverage ``report``; ``grid`` needs the ``cells``.
    """
    if source == "seats":
        rows = [t for t in (report.townships if report else []) if t.ref_lon is not None]
        return CandidateSet(
            "seats",
            [t.code for t in rows],
            [t.name for t in rows],
            [t.ref_lon for t in rows],
            [t.ref_lat for t in rows],
        )
    if source in CANDIDATE_KINDS:
        kind = CANDIDATE_KINDS[source]
        chosen = [
            f
            for f in data.facilities
            if f.kind == kind and f.status != "closed" and in_area(f, area)
        ]
        return CandidateSet(
            source,
            [f.id for f in chosen],
            [f.name for f in chosen],
            [f.lon for f in chosen],
            [f.lat for f in chosen],
        )
    if source == "junctions":
        sites = data.junctions
        return CandidateSet(
            "junctions",
            [s.id for s in sites],
            [s.name or f"互通 {s.id.rsplit('/', 1)[-1]}" for s in sites],
            [s.lon for s in sites],
            [s.lat for s in sites],
        ).within(area)
    if source == "grid":
        if cells is None:
            raise InvalidParameter("grid candidates need a grid", field="candidates")
        return CandidateSet(
            "grid", list(cells.cells), [f"网格 {c}" for c in cells.cells], cells.lon, cells.lat
        )
    raise InvalidParameter(
        f"candidates must be one of {', '.join(CANDIDATE_SOURCES)}, a file or a list of points",
        field="candidates",
    )


def _china(lon: float, lat: float) -> bool:
    from .ingest import CHINA_BOUNDS

    west, south, east, north = CHINA_BOUNDS
    return west <= lon <= east and south <= lat <= north


def _convert_points(
    source: str,
    names: list[str],
    ids: list[str],
    lon: list[float],
    lat: list[float],
    crs: str | None,
    field_name: str,
) -> CandidateSet:
    datum = normalize_crs(crs)
    if len(lon) > MAX_CANDIDATE_POINTS:
        raise PayloadTooLarge(
            f"at most {MAX_CANDIDATE_POINTS:,} candidate points", field=field_name
        )
    lons = np.asarray(lon, dtype=float)
    lats = np.asarray(lat, dtype=float)
    if datum != "wgs84" and len(lons):
        lons, lats = (np.asarray(v, dtype=float) for v in to_wgs84(lons, lats, datum))
    return CandidateSet(source, ids, names, lons, lats)


def candidates_from_points(
    points: Any,
    *,
    crs: str | None = "wgs84",
    field_name: str = "candidates",
    default_name: str = "候选点",
) -> CandidateSet:
    """Candidates from JSON: ``[[lon, lat], ...]``, ``[{"lon", "lat", "name"}, ...]`` or a
    GeoJSON FeatureCollection of points (``properties.name`` optional; unnamed points are
    called ``default_name`` and their number)."""
    if isinstance(points, Mapping):
        if points.get("type") != "FeatureCollection" or not isinstance(
            points.get("features"), list
        ):
            raise InvalidParameter(
                f"{field_name} must be a source name, a list of [lon, lat] "
                "or a GeoJSON FeatureCollection of points",
                field=field_name,
            )
        items = []
        for i, feature in enumerate(points["features"], start=1):
            geometry = feature.get("geometry") if isinstance(feature, Mapping) else None
            if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
                raise InvalidParameter(
                    f"{field_name}: feature {i} must have a Point geometry", field=field_name
                )
            properties = feature.get("properties") or {}
            name = properties.get("name") if isinstance(properties, Mapping) else None
            coordinates = geometry.get("coordinates")
            items.append(
                {
                    "lon": (coordinates or [None])[0] if isinstance(coordinates, list) else None,
                    "lat": coordinates[1]
                    if isinstance(coordinates, list) and len(coordinates) > 1
                    else None,
                    "name": name,
                }
            )
        points = items
    if not isinstance(points, list):
        sources = ", ".join(CANDIDATE_SOURCES)
        raise InvalidParameter(
            f"{field_name} must be a source name ({sources}), a list of "
            "[lon, lat] or a GeoJSON FeatureCollection",
            field=field_name,
        )
    if len(points) > MAX_CANDIDATE_POINTS:
        raise PayloadTooLarge(
            f"at most {MAX_CANDIDATE_POINTS:,} candidate points", field=field_name
        )
    lon, lat, names, ids = [], [], [], []
    for i, item in enumerate(points, start=1):
        name = None
        if isinstance(item, list | tuple) and len(item) == 2:
            x, y = item
        elif isinstance(item, Mapping):
            x, y, name = item.get("lon"), item.get("lat"), item.get("name")
        else:
            raise InvalidParameter(
                f"{field_name}: item {i} must be [lon, lat] or "
                '{"lon": ..., "lat": ..., "name": ...}',
                field=field_name,
            )
        if any(
            isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
            for v in (x, y)
        ):
            raise InvalidParameter(
                f"{field_name}: item {i} needs numeric lon and lat", field=field_name
            )
        if not _china(float(x), float(y)):
            raise InvalidParameter(
                f"{field_name}: item {i} ({x}, {y}) is not in China; give [lon, lat] in this order",
                field=field_name,
            )
        if name is not None and not isinstance(name, str):
            name = str(name)
        lon.append(float(x))
        lat.append(float(y))
        names.append((name or "").strip()[:200] or f"{default_name} {i}")
        ids.append(f"point:{i}")
    return _convert_points("points", names, ids, lon, lat, crs, field_name)


def read_candidates(
    source: Any, *, filename: str | None = None, crs: str | None = "wgs84", sheet: str | None = None
) -> CandidateSet:
    """Candidates from a CSV, XLSX or GeoJSON file (or zipped Shapefile, GeoPackage):
    longitude/latitude columns (any header :mod:`locator.ingest` knows, or a combined
    coordinates column) or point geometry, and an optional name column.

    ``crs`` is the datum of the coordinates (``wgs84``, ``gcj02`` or ``bd09``).
    """
    from .ingest import map_columns, parse_coordinate, read_table

    normalize_crs(crs)
    table = read_table(source, filename=filename, sheet=sheet, max_rows=MAX_CANDIDATE_POINTS)
    cmap = map_columns(table.headers)
    fields = cmap.fields
    name_header = fields.get("name")
    lon, lat, names, ids = [], [], [], []
    for position, record in enumerate(table.records, start=1):
        where = f"{'row' if table.numbering == 'row' else 'feature'} {record.row}"
        if record.point is not None:
            x, y = record.point
        else:
            try:
                if "lon" in fields and "lat" in fields:
                    x = parse_coordinate(record.values.get(fields["lon"]))
                    y = parse_coordinate(record.values.get(fields["lat"]))
                elif cmap.coordinates:
                    parts = [
                        p
                        for p in str(record.values.get(cmap.coordinates) or "")
                        .replace("，", ",")
                        .replace(";", ",")
                        .split(",")
                        if p.strip()
                    ]
                    if len(parts) != 2:
                        raise ValueError(parts)
                    x, y = parse_coordinate(parts[0]), parse_coordinate(parts[1])
                else:
                    raise InvalidParameter(
                        "the candidates file needs longitude and latitude columns (经度/纬度, "
                        f"lon/lat) or point geometry; headers found: "
                        f"{', '.join(table.headers) or '(none)'}",
                        field="candidates",
                    )
            except (TypeError, ValueError):
                raise InvalidParameter(
                    f"candidates file, {where}: the coordinates are not numbers", field="candidates"
                ) from None
        if not _china(x, y):
            raise InvalidParameter(
                f"candidates file, {where}: ({x}, {y}) is not in China", field="candidates"
            )
        name = record.values.get(name_header) if name_header else None
        lon.append(float(x))
        lat.append(float(y))
        names.append(str(name).strip()[:200] if name not in (None, "") else f"候选点 {position}")
        ids.append(f"file:{record.row}")
    if not ids:
        raise InvalidParameter(Message("candidates_file_empty"), field="candidates")
    return _convert_points("file", names, ids, lon, lat, crs, "candidates")


# ---- siting ---------------------------------------------------------------------------------
@dataclass
class ProposedSite:
    """One suggested site with the demand it adds (given the sites before it)."""

    rank: int
    name: str
    lon: float
    lat: float
    source: str
    candidate_id: str
    added: float
    cumulative: float
    points_reached: int = 0  # demand points (townships or cells) it newly reaches
    city: str | None = None
    county: str | None = None
    township: str | None = None

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["added"] = round(self.added, 1)
        data["cumulative"] = round(self.cumulative, 1)
        return data


@dataclass
class SetCoverAnswer:
    """The fewest new sites that reach every reachable demand point."""

    sites: list[ProposedSite]
    uncoverable: float
    method: str
    optimal: bool | None

    def to_dict(self) -> dict:
        return {
            "count": len(self.sites),
            "sites": [s.to_dict() for s in self.sites],
            "uncoverable_demand": round(self.uncoverable, 1),
            "method": self.method,
            "optimal": self.optimal,
        }


@dataclass
class PlanResult:
    """Suggested sites, the coverage curve and the totals they are measured against."""

    params: CoverageParams
    area: AdminUnit | None
    demand_source: str
    candidate_source: str
    sites_requested: int
    sites: list[ProposedSite]
    curve: list[float]
    baseline: float
    total: float
    method: str
    optimal: bool | None
    demand_points: int
    candidates: int
    candidates_dropped: int = 0
    unlocated_demand: float = 0.0
    resolution: int | None = None
    set_cover: SetCoverAnswer | None = None
    notes: list[str] = field(default_factory=list)
    #: The township coverage with the suggested sites added, by the coverage rules
    #: (a township's share of area within reach); see :meth:`check_dict`.
    checked: WhatIf | None = None

    @property
    def added_total(self) -> float:
        return self.curve[-1] if self.curve else 0.0

    @property
    def share_before(self) -> float | None:
        return self.baseline / self.total if self.total else None

    @property
    def share_after(self) -> float | None:
        return (self.baseline + self.added_total) / self.total if self.total else None

    def to_dict(self) -> dict:
        area = self.area
        return {
            "params": params_dict(self.params),
            "area": None
            if area is None
            else {"code": area.code, "name": area.name, "level": area.level},
            "demand": self.demand_source,
            "candidates": self.candidate_source,
            "resolution": self.resolution,
            "sites_requested": self.sites_requested,
            "sites": [s.to_dict() for s in self.sites],
            "curve": [
                {
                    "sites": i + 1,
                    "added": round(v, 1),
                    "covered": round(self.baseline + v, 1),
                    "share": (self.baseline + v) / self.total if self.total else None,
                }
                for i, v in enumerate(self.curve)
            ],
            "baseline": round(self.baseline, 1),
            "total": round(self.total, 1),
            "added_total": round(self.added_total, 1),
            "share_before": self.share_before,
            "share_after": self.share_after,
            "unlocated_demand": round(self.unlocated_demand, 1),
            "method": self.method,
            "optimal": self.optimal,
            "demand_points": self.demand_points,
            "candidate_count": self.candidates,
            "candidates_outside_area": self.candidates_dropped,
            "set_cover": self.set_cover.to_dict() if self.set_cover else None,
            "coverage_check": self.check_dict(),
            "notes": self.notes,
        }

    def check_dict(self) -> dict | None:
        """The suggested sites measured as the coverage report measures (what the
        township figures will show once they are built), beside the siting model's own
        ``added_total``: the two differ where a township is covered only in part."""
        if self.checked is None:
            return None
        before, after = self.checked.before.total, self.checked.after.total
        return {
            "share_before": before.demand_share,
            "share_after": after.demand_share,
            "added_demand": round(after.demand_covered - before.demand_covered, 1),
            "added_covered_townships": after.covered - before.covered,
        }


def _counted(data: PlanningData, params: CoverageParams) -> list[Facility]:
    return [f for f in data.facilities if params.counts(f)]


def _sites(
    result: SitingResult,
    cands: CandidateSet,
    data: PlanningData,
    problem: SitingProblem,
    keep_zero: bool = False,
) -> list[ProposedSite]:
    chosen = [
        (j, gain)
        for j, gain in zip(result.chosen, result.added, strict=True)
        if keep_zero or gain > 1e-9
    ]
    if not chosen:
        return []
    located = data.admin_index.locate(
        [cands.lon[j] for j, _ in chosen], [cands.lat[j] for j, _ in chosen]
    )
    reached = problem.already_covered | (problem.open_weight <= 0)
    cover = problem.cover
    sites, total = [], 0.0
    for rank, ((j, gain), where) in enumerate(zip(chosen, located, strict=True), start=1):
        total += gain
        points = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        fresh = int((~reached[points]).sum())
        reached[points] = True
        sites.append(
            ProposedSite(
                rank,
                cands.names[j],
                round(float(cands.lon[j]), 6),
                round(float(cands.lat[j]), 6),
                cands.source,
                cands.ids[j],
                float(gain),
                float(total),
                fresh,
                where["city"],
                where["county"],
                where["township"],
            )
        )
    return sites


#: Deprecation notices PuLP 3 gives about PuLP 4 when spopt builds its models: not ours to
#: fix, and noise in the logs of every exact plan.
_SOLVER_NOTICES = (
    r"Constructing LpVariable\(name, \.\.\.\) directly is deprecated",
    r"PULP_CBC_CMD is deprecated",
)


@contextlib.contextmanager
def _quiet_solver():
    with warnings.catch_warnings():
        for message in _SOLVER_NOTICES:
            warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)
        yield


def check_plan_size(
    data: PlanningData,
    params: CoverageParams,
    *,
    city: str | None,
    county: str | None,
    demand: str,
    candidates: str | CandidateSet,
    method: str,
    resolution: int | None,
) -> None:
    """Refuse, before any grid is laid, a grid plan whose problem would exceed
    :data:`MAX_COVER_PAIRS` pairs within the radius, or :data:`EXACT_MAX_PAIRS` demand
    x candidate pairs for the exact solver (estimated from the area and cell size)."""
    resolution, cells = grid_estimate(data, city, county, resolution)
    demand_points = cells if demand == "grid" else float(len(data.units))
    if candidates == "grid":
        hexagon_km2 = h3.average_hexagon_area(resolution, "km^2")
        in_reach = math.pi * params.radius_km**2 / hexagon_km2
        pairs = demand_points * min(cells, max(1.0, in_reach))
        if pairs > 2 * MAX_COVER_PAIRS:
            raise PayloadTooLarge(
                Message("cover_pairs", resolution=resolution, pairs=pairs, limit=MAX_COVER_PAIRS),
                field="resolution",
            )
        all_pairs = demand_points * cells
    else:
        all_pairs = demand_points * len(data.units)
    if method == "exact" and all_pairs > 4 * EXACT_MAX_PAIRS:
        raise PayloadTooLarge(
            f"the exact solver takes at most {EXACT_MAX_PAIRS:,} demand x candidate pairs; "
            f"at resolution {resolution} this plan would have about {all_pairs:,.0f}: use "
            f"method auto or greedy, a coarser resolution or a smaller area",
            field="method",
        )


def plan(
    data: PlanningData,
    params: CoverageParams | None = None,
    *,
    sites: int,
    candidates: str | CandidateSet = "seats",
    demand: str = "townships",
    city: str | None = None,
    county: str | None = None,
    method: str = "auto",
    set_cover: bool = False,
    resolution: int | None = None,
    report: CoverageReport | None = None,
    cells: GridLayout | None = None,
    time_limit_s: float = 60.0,
    on_progress: ProgressCallback | None = None,
) -> PlanResult:
    """Where ``sites`` new stations would add the most covered demand.

    Parameters
    ----------
    data : the stored data.
    params : radius, counted kinds (the existing facilities that stay fixed), weight.
    sites : how many new sites (1 to :data:`MAX_SITES`).
    candidates : a source of :data:`CANDIDATE_SOURCES` or a :class:`CandidateSet`.
    demand : ``townships`` or ``grid`` (see the module docstring).
    city, county : restrict demand and candidates to one area (name or code).
    method : ``greedy``, ``exact`` (spopt with CBC) or ``auto``: exact when demand points
        x candidates <= :data:`EXACT_MAX_PAIRS`, else greedy; the better of exact and
        greedy is kept, should a time-limited exact run fall short.
    set_cover : also find the fewest sites that reach every reachable demand point.
    resolution : the grid's H3 resolution (grid demand or candidates).
    report, cells : a coverage report and grid layout of the same area made earlier.
    on_progress : called with a stage name and the share of the work done.
    """
    params = params or CoverageParams()
    report_progress = on_progress or (lambda stage, share: None)
    if isinstance(sites, bool) or not isinstance(sites, int) or not 1 <= sites <= MAX_SITES:
        raise InvalidParameter(Message("sites_range", high=MAX_SITES), field="sites")
    if demand not in DEMAND_SOURCES:
        raise InvalidParameter(
            Message("one_of", name="demand", choices=", ".join(DEMAND_SOURCES)), field="demand"
        )
    if method not in PLAN_METHODS:
        raise InvalidParameter(
            Message("one_of", name="method", choices=", ".join(PLAN_METHODS)), field="method"
        )
    area = data.area(city, county)
    needs_grid = demand == "grid" or candidates == "grid"
    if needs_grid and cells is None:
        check_plan_size(
            data,
            params,
            city=city,
            county=county,
            demand=demand,
            candidates=candidates,
            method=method,
            resolution=resolution,
        )
        cells = layout(data, city=city, county=county, resolution=resolution, weight=params.weight)
    if report is None and (demand == "townships" or candidates == "seats"):
        report = township_coverage(data.units, data.facilities, params, city=city, county=county)
    report_progress("coverage", STAGES["coverage"])

    existing = _counted(data, params)
    notes: list[str] = []
    if demand == "townships":
        rows = [
            t
            for t in report.townships
            if t.located != "unlocated" and t.demand - t.demand_covered > 1e-9
        ]
        d_lon = [t.ref_lon for t in rows]
        d_lat = [t.ref_lat for t in rows]
        d_weight = [t.demand - t.demand_covered for t in rows]
        total = report.total.demand if report.total else 0.0
        baseline = report.total.demand_covered if report.total else 0.0
        unlocated = sum(t.demand for t in report.unlocated)
        if unlocated:
            notes.append("unlocated_demand")
    else:
        d_lon, d_lat, d_weight = cells.lon, cells.lat, cells.demand
        total = float(np.sum(cells.demand))
        baseline = None
        unlocated = 0.0
    report_progress("demand", STAGES["demand"])

    cands = (
        candidates
        if isinstance(candidates, CandidateSet)
        else candidate_set(candidates, data, area=area, report=report, cells=cells)
    )
    if isinstance(candidates, CandidateSet):
        cands = cands.within(area)
    if not len(cands):
        raise InvalidParameter(Message("no_candidates"), field="candidates")
    report_progress("candidates", STAGES["candidates"])

    grid_field = "resolution" if needs_grid else "radius_km"
    try:
        problem = SitingProblem(
            d_lon,
            d_lat,
            d_weight,
            cands.lon,
            cands.lat,
            params.radius_m,
            np.array([f.lon for f in existing]),
            np.array([f.lat for f in existing]),
            candidate_ids=cands.ids,
            max_pairs=MAX_COVER_PAIRS,
        )
    except PayloadTooLarge as exc:
        hint = (
            "a coarser resolution, a smaller area or a smaller radius"
            if needs_grid
            else "a smaller area, a smaller radius or fewer candidates"
        )
        raise PayloadTooLarge(f"{exc.message}: choose {hint}", field=grid_field) from None
    if baseline is None:
        baseline = float(problem.demand_weight[problem.already_covered].sum())
    useful = int((problem.open_weight > 0).sum())
    if method == "exact" and useful * len(cands) > EXACT_MAX_PAIRS:
        raise PayloadTooLarge(
            f"the exact solver takes at most {EXACT_MAX_PAIRS:,} demand x candidate pairs; "
            f"this plan has {useful:,} x {len(cands):,} = {useful * len(cands):,}: use "
            f"method auto or greedy, {'a coarser resolution, ' if needs_grid else ''}"
            f"or a smaller area",
            field="method",
        )
    chosen_method = method
    if method == "auto":
        chosen_method = "exact" if useful * len(cands) <= EXACT_MAX_PAIRS else "greedy"
    if useful == 0:
        result = SitingResult(chosen_method, [], [], [], baseline, total, True)
        notes.append("nothing_to_cover")
    else:
        with _quiet_solver():
            result = maximal_covering(problem, sites, chosen_method, time_limit_s=time_limit_s)
        if chosen_method == "exact" and method == "auto":
            fallback = maximal_covering(problem, sites, "greedy")
            if fallback.added_total > result.added_total + 1e-6:
                result = fallback
    report_progress("solve", STAGES["solve"])

    answer = None
    if set_cover:
        sc_method = (
            "exact"
            if method == "exact" or (method == "auto" and useful * len(cands) <= EXACT_MAX_PAIRS)
            else "greedy"
        )
        with _quiet_solver():
            covering = set_covering(problem, sc_method, time_limit_s=time_limit_s)
        answer = SetCoverAnswer(
            _sites(covering, cands, data, problem, keep_zero=True),
            covering.uncoverable,
            covering.method,
            covering.optimal,
        )
        report_progress("set_cover", STAGES["set_cover"])

    proposed = _sites(result, cands, data, problem)
    if len(proposed) < sites and useful:
        notes.append("fewer_sites_add_demand")
    checked = (
        what_if(data, proposed, params, city=city, county=county, before=report)
        if proposed
        else None
    )
    report_progress("done", STAGES["done"])
    return PlanResult(
        params=params,
        area=area,
        demand_source=demand,
        candidate_source=cands.source,
        sites_requested=sites,
        sites=proposed,
        curve=[s.cumulative for s in proposed],
        baseline=float(baseline),
        total=float(total),
        method=result.method,
        optimal=result.optimal,
        demand_points=len(d_weight),
        candidates=len(cands),
        candidates_dropped=cands.dropped,
        unlocated_demand=float(unlocated),
        resolution=cells.resolution if cells is not None else None,
        set_cover=answer,
        notes=notes,
        checked=checked,
    )


# ---- what if --------------------------------------------------------------------------------
@dataclass
class WhatIf:
    """Coverage before and after proposed sites, recomputed without touching storage."""

    sites: list[Facility]
    before: CoverageReport
    after: CoverageReport

    @property
    def newly_covered(self) -> list[TownshipCoverage]:
        was = {t.code: t.covered for t in self.before.townships}
        return [t for t in self.after.townships if t.covered and not was.get(t.code)]

    def to_dict(self) -> dict:
        before, after = self.before.total, self.after.total
        return {
            "sites": [
                {
                    "id": f.id,
                    "name": f.name,
                    "lon": f.lon,
                    "lat": f.lat,
                    "kind": f.kind,
                    "city": f.city,
                    "county": f.county,
                    "township": f.township,
                }
                for f in self.sites
            ],
            "before": coverage_summary(self.before),
            "after": coverage_summary(self.after),
            "added_demand": round(after.demand_covered - before.demand_covered, 1),
            "added_covered_townships": after.covered - before.covered,
            "newly_covered": [
                {"code": t.code, "name": t.name, "county": t.county, "city": t.city}
                for t in self.newly_covered
            ],
        }


def proposed_facilities(
    data: PlanningData, points: Sequence, params: CoverageParams
) -> list[Facility]:
    """Temporary facilities at ``points`` ((lon, lat) pairs, :class:`ProposedSite` or a
    :class:`CandidateSet`): driver homes, or the first counted kind when driver homes
    are not counted, placed in their city, county and township."""
    if isinstance(points, CandidateSet):
        items = [
            (float(x), float(y), n)
            for x, y, n in zip(points.lon, points.lat, points.names, strict=True)
        ]
    else:
        items = []
        for i, p in enumerate(points, start=1):
            if isinstance(p, ProposedSite):
                items.append((p.lon, p.lat, p.name))
            else:
                items.append((float(p[0]), float(p[1]), f"拟建站点 {i}"))
    kind = "driver_home" if "driver_home" in params.kinds else sorted(params.kinds)[0]
    status = "open" if "open" in params.statuses else sorted(params.statuses)[0]
    sites = [
        Facility(
            id=f"proposed:{i}",
            name=name,
            kind=kind,
            lon=lon,
            lat=lat,
            status=status,
            source="what-if",
        )
        for i, (lon, lat, name) in enumerate(items, start=1)
    ]
    return data.admin_index.assign(sites)


def what_if(
    data: PlanningData,
    points: Sequence,
    params: CoverageParams | None = None,
    *,
    city: str | None = None,
    county: str | None = None,
    before: CoverageReport | None = None,
) -> WhatIf:
    """Coverage with temporary facilities added at ``points`` (storage is not touched)."""
    params = params or CoverageParams()
    if not len(points):
        raise InvalidParameter(Message("what_if_empty"), field="what_if")
    if before is None:
        before = coverage(data, params, city=city, county=county)
    sites = proposed_facilities(data, points, params)
    after = township_coverage(
        data.units, [*data.facilities, *sites], params, city=city, county=county
    )
    return WhatIf(sites, before, after)


# ---- the plan request (API body and CLI options) ----------------------------------------------
PLAN_FIELDS = {
    "sites",
    "radius_km",
    "candidates",
    "crs",
    "demand",
    "method",
    "city",
    "county",
    "kind",
    "weight",
    "resolution",
    "set_cover",
    "what_if",
}


def parse_plan_request(body: Mapping) -> dict:
    """Validated arguments of :func:`plan` and :func:`what_if` from a JSON object.

    Returns a dict with ``params``, ``city``, ``county``, ``sites`` (None when only
    ``what_if`` is asked), ``candidates`` (a source name or a :class:`CandidateSet`),
    ``demand``, ``method``, ``resolution``, ``set_cover`` and ``what_if`` (a
    :class:`CandidateSet` or None).
    """
    unknown = sorted(set(body) - PLAN_FIELDS)
    if unknown:
        raise InvalidParameter(
            Message(
                "unknown_name", what="field", name=unknown[0], known=", ".join(sorted(PLAN_FIELDS))
            ),
            field=unknown[0],
        )
    from .params import Args

    scalars = {}
    for name in (
        "radius_km",
        "demand",
        "method",
        "city",
        "county",
        "weight",
        "resolution",
        "set_cover",
        "crs",
    ):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, dict | list):
            raise InvalidParameter(Message("single_value", name=name), field=name)
        if name in ("radius_km", "resolution") and (
            isinstance(value, bool) or not isinstance(value, int | float | str)
        ):
            raise InvalidParameter(Message("number_only", name=name), field=name)
        scalars[name] = value
    kind = body.get("kind")
    if kind is not None:
        if isinstance(kind, str):
            kind = [kind]
        if not isinstance(kind, list) or not all(isinstance(k, str) for k in kind):
            raise InvalidParameter(Message("kind_list"), field="kind")
        scalars["kind"] = kind
    if "set_cover" in scalars and not isinstance(scalars["set_cover"], bool | str | int):
        raise InvalidParameter(Message("bool_only", name="set_cover"), field="set_cover")
    args = Args(scalars)
    params = parse_coverage_params(args)
    city, county = parse_area(args)
    crs = _single(args, "crs")
    try:
        crs = normalize_crs(crs)
    except InvalidParameter as exc:
        raise InvalidParameter(
            Message("prefixed", name="crs", inner=exc.message), field="crs"
        ) from None

    what = body.get("what_if")
    what_points = None
    if what is not None:
        what_points = candidates_from_points(
            what, crs=crs, field_name="what_if", default_name="拟建站点"
        )
        if not len(what_points):
            raise InvalidParameter(Message("what_if_empty"), field="what_if")
        if len(what_points) > MAX_SITES:
            raise InvalidParameter(Message("what_if_max", high=MAX_SITES), field="what_if")

    sites = body.get("sites")
    if sites is None and what_points is None:
        raise InvalidParameter(Message("sites_required"), field="sites")
    if sites is not None and (
        isinstance(sites, bool) or not isinstance(sites, int) or not 1 <= sites <= MAX_SITES
    ):
        raise InvalidParameter(Message("sites_range", high=MAX_SITES), field="sites")
    raw = body.get("candidates", "seats")
    if isinstance(raw, str):
        if raw not in CANDIDATE_SOURCES:
            raise InvalidParameter(
                f"candidates must be one of {', '.join(CANDIDATE_SOURCES)}, "
                "a list of [lon, lat] or a GeoJSON FeatureCollection",
                field="candidates",
            )
        candidates: str | CandidateSet = raw
    else:
        candidates = candidates_from_points(raw, crs=crs)
        if not len(candidates):
            raise InvalidParameter(Message("candidates_list_empty"), field="candidates")
    return {
        "params": params,
        "city": city,
        "county": county,
        "sites": sites,
        "candidates": candidates,
        "demand": parse_choice(args, "demand", DEMAND_SOURCES, "townships"),
        "method": parse_choice(args, "method", PLAN_METHODS, "auto"),
        "resolution": parse_resolution(args),
        "set_cover": parse_bool(args, "set_cover"),
        "what_if": what_points,
    }
