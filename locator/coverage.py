"""Township coverage: which townships have a station within reach, and how much of them.

A township is *covered* when an open facility of the counted kinds lies inside its
polygon or within ``radius_km`` of its reference point (its seat, else a point inside
its polygon). Townships with neither polygon nor seat are ``unlocated``: listed,
never dropped, never counted as covered or uncovered.

Demand: county figures (census population or transport workers) spread over the
county's townships by area where townships have polygons; the rest of the county's
demand is split evenly among its townships without polygon. Distances are
great-circle; areas are geodesic (on the WGS-84 ellipsoid), and the share of a
polygon within reach is measured in a local azimuthal equidistant projection per
city, where distance and area errors stay far below 0.1%.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pyproj
import shapely
from scipy.spatial import cKDTree

from .errors import InvalidParameter
from .messages import Message
from .model import KINDS, STATUSES, AdminUnit, Facility
from .nearest import REST_KINDS, chord_to_m, m_to_chord, unit_vectors
from .service_areas import place_keys

#: Kinds that count as serving drivers unless the planner says otherwise: the places to
#: stop of the driver's search.
DEFAULT_COUNTED_KINDS = REST_KINDS
DEMAND_WEIGHTS = ("population", "transport_workers")
MAX_RADIUS_KM = 100.0


@dataclass(frozen=True)
class CoverageParams:
    """What counts: service radius, counted kinds and statuses, and the demand weight."""

    radius_km: float = 5.0
    kinds: frozenset[str] = DEFAULT_COUNTED_KINDS
    statuses: frozenset[str] = frozenset({"open"})
    weight: str = "population"

    def __post_init__(self):
        if not 0 < self.radius_km <= MAX_RADIUS_KM:
            raise InvalidParameter(Message("radius_range", high=MAX_RADIUS_KM), field="radius_km")
        if self.weight not in DEMAND_WEIGHTS:
            raise InvalidParameter(
                Message("one_of", name="weight", choices=", ".join(DEMAND_WEIGHTS)), field="weight"
            )
        if not self.kinds <= set(KINDS) or not self.kinds:
            raise InvalidParameter(Message("known_kinds"), field="kind")
        if not self.statuses <= set(STATUSES) or not self.statuses:
            raise InvalidParameter(Message("known_statuses"), field="status")

    @property
    def radius_m(self) -> float:
        return self.radius_km * 1000.0

    def counts(self, f: Facility) -> bool:
        """Whether a facility counts towards coverage."""
        return f.kind in self.kinds and f.status in self.statuses


@dataclass
class TownshipCoverage:
    """The coverage of one township."""

    code: str
    name: str
    county: str | None
    county_code: str | None
    city: str | None
    city_code: str | None
    located: str  # "polygon", "seat" or "unlocated"
    ref_lon: float | None
    ref_lat: float | None
    area_km2: float | None
    facilities_inside: int | None
    nearest_id: str | None
    nearest_name: str | None
    nearest_m: float | None
    covered: bool | None
    covered_share: float | None  # of the area (polygon) or 0/1 (seat only)
    demand: float
    demand_covered: float
    gap_rank: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Rollup:
    """Coverage summed over a county, a city or the whole area."""

    code: str
    name: str
    level: str
    townships: int = 0
    located: int = 0
    unlocated: int = 0
    covered: int = 0
    uncovered: int = 0
    demand: float = 0.0
    demand_covered: float = 0.0
    facilities: int = 0
    population: float | None = None
    transport_workers: float | None = None

    @property
    def covered_share(self) -> float | None:
        """Covered townships among the located ones."""
        return self.covered / self.located if self.located else None

    @property
    def demand_share(self) -> float | None:
        return self.demand_covered / self.demand if self.demand else None

    @property
    def facilities_per_100k_people(self) -> float | None:
        return self.facilities / self.population * 1e5 if self.population else None

    @property
    def facilities_per_10k_transport_workers(self) -> float | None:
        return self.facilities / self.transport_workers * 1e4 if self.transport_workers else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(
            covered_share=self.covered_share,
            demand_share=self.demand_share,
            facilities_per_100k_people=self.facilities_per_100k_people,
            facilities_per_10k_transport_workers=self.facilities_per_10k_transport_workers,
        )
        return data


@dataclass
class CoverageReport:
    """Townships with their coverage, ranked gaps and rollups per county and city."""

    params: CoverageParams
    area: AdminUnit | None
    townships: list[TownshipCoverage]
    counties: list[Rollup] = field(default_factory=list)
    cities: list[Rollup] = field(default_factory=list)
    total: Rollup | None = None

    @property
    def unlocated(self) -> list[TownshipCoverage]:
        return [t for t in self.townships if t.located == "unlocated"]

    @property
    def gaps(self) -> list[TownshipCoverage]:
        """Townships with uncovered demand, worst first."""
        return sorted(
            (t for t in self.townships if t.gap_rank is not None), key=lambda t: t.gap_rank
        )


def select_area(
    units: Sequence[AdminUnit], city: str | None = None, county: str | None = None
) -> AdminUnit | None:
    """The city or county named (by name or code); None for everything."""
    for level, wanted in (("county", county), ("city", city)):
        if wanted:
            matches = [u for u in units if u.level == level and wanted in (u.name, u.code)]
            if not matches:
                raise InvalidParameter(
                    Message("unknown_area", level=level, value=wanted), field=level
                )
            return matches[0]
    return None


def _in_area(unit: AdminUnit, area: AdminUnit | None, by_code: dict[str, AdminUnit]) -> bool:
    if area is None:
        return True
    parent = unit
    while parent is not None:
        if parent.code == area.code:
            return True
        parent = by_code.get(parent.parent_code) if parent.parent_code else None
    return False


def _parent_of_level(
    unit: AdminUnit, level: str, by_code: dict[str, AdminUnit]
) -> AdminUnit | None:
    while unit is not None and unit.level != level:
        unit = by_code.get(unit.parent_code) if unit.parent_code else None
    return unit


#: Transformers made per thread (pyproj's are not safe to share across threads).
_PROJECTIONS = threading.local()


def local_projection(lon: float, lat: float) -> pyproj.Transformer:
    """WGS-84 to a metric azimuthal equidistant projection centred on a point.

    Transformers are kept, keyed on the centre as written in the projection (6
    decimals, so a kept one is exactly the one that would be made), in one cache per
    thread: pyproj's transformers are not safe to share across threads.
    """
    key = f"+lat_0={lat:.6f} +lon_0={lon:.6f}"
    cache = getattr(_PROJECTIONS, "cache", None)
    if cache is None:
        cache = _PROJECTIONS.cache = {}
    transformer = cache.get(key)
    if transformer is None:
        if len(cache) >= _MAX_CACHED_PROJECTIONS:
            cache.clear()
        transformer = cache[key] = pyproj.Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd {key} +datum=WGS84 +units=m", always_xy=True
        )
    return transformer


_MAX_CACHED_PROJECTIONS = 1024


def township_coverage(
    units: Sequence[AdminUnit],
    facilities: Sequence[Facility],
    params: CoverageParams | None = None,
    *,
    city: str | None = None,
    county: str | None = None,
) -> CoverageReport:
    """Coverage of every township of a city, a county or all the units given.

    Parameters
    ----------
    units : all admin units (townships with their counties, cities and province).
    facilities : all facilities; those of ``params.kinds`` and ``params.statuses`` count.
        The carriageway sides of one service area (:mod:`locator.service_areas`) are one
        facility in the counts (``facilities_inside``, rollups), at its first counted side;
        every side still reaches the townships around it.
    params : radius, counted kinds and statuses, demand weight.
    city, county : restrict to one city or county (name or code).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> county = AdminUnit("340102", "瑶海区", "county", demand={"population": 1000.0})
    >>> town = AdminUnit("340102001", "街道", "township", "340102",
    ...                  geometry=box(117.30, 31.85, 117.32, 31.87))
    >>> home = Facility("a", "司机之家", "driver_home", 117.31, 31.86)
    >>> report = township_coverage([county, town], [home])
    >>> report.townships[0].covered, report.townships[0].facilities_inside
    (True, 1)
    """
    params = params or CoverageParams()
    by_code = {u.code: u for u in units}
    area = select_area(units, city, county)
    townships = [u for u in units if u.level == "township" and _in_area(u, area, by_code)]
    counted = [f for f in facilities if params.counts(f)]
    f_lon = np.array([f.lon for f in counted], dtype=float)
    f_lat = np.array([f.lat for f in counted], dtype=float)
    tree = cKDTree(unit_vectors(f_lon, f_lat).reshape(-1, 3)) if counted else None
    once = _once_per_place(facilities, counted)

    # Reference points: the seat, else a point inside the polygon.
    refs: list[tuple[float, float] | None] = []
    for t in townships:
        if t.has_seat:
            refs.append((t.seat_lon, t.seat_lat))
        elif t.geometry is not None:
            p = t.geometry.representative_point()
            refs.append((p.x, p.y))
        else:
            refs.append(None)

    located_idx = [i for i, r in enumerate(refs) if r is not None]
    nearest_m = np.full(len(townships), np.nan)
    nearest_at = np.full(len(townships), -1)
    if tree is not None and located_idx:
        ref_xyz = unit_vectors(
            [refs[i][0] for i in located_idx], [refs[i][1] for i in located_idx]
        ).reshape(-1, 3)
        chords, found = tree.query(ref_xyz, k=1)
        nearest_m[located_idx] = chord_to_m(chords)
        nearest_at[located_idx] = found

    inside = _facilities_inside(townships, f_lon[once], f_lat[once])
    shares, areas = _area_shares(townships, refs, counted, tree, f_lon, f_lat, params, by_code)
    demand = _spread_demand(townships, areas, params.weight, by_code)

    rows = []
    for i, t in enumerate(townships):
        cty = _parent_of_level(t, "county", by_code)
        cit = _parent_of_level(t, "city", by_code)
        ref = refs[i]
        if ref is None:
            located, covered, share = "unlocated", None, None
        else:
            located = "polygon" if t.geometry is not None else "seat"
            within = nearest_m[i] <= params.radius_m if not math.isnan(nearest_m[i]) else False
            covered = bool(within or (inside[i] or 0) > 0)
            if t.geometry is not None:
                share = shares[i]
                if inside[i] and share == 0.0:
                    share = None  # pragma: no cover - a facility inside implies some share
            else:
                share = 1.0 if covered else 0.0
        j = int(nearest_at[i])
        near = counted[j] if j >= 0 else None
        rows.append(
            TownshipCoverage(
                code=t.code,
                name=t.name,
                county=cty.name if cty else None,
                county_code=cty.code if cty else None,
                city=cit.name if cit else None,
                city_code=cit.code if cit else None,
                located=located,
                ref_lon=ref[0] if ref else None,
                ref_lat=ref[1] if ref else None,
                area_km2=areas[i] / 1e6 if areas[i] is not None else None,
                facilities_inside=inside[i],
                nearest_id=near.id if near else None,
                nearest_name=near.name if near else None,
                nearest_m=None if near is None else round(float(nearest_m[i]), 1),
                covered=covered,
                covered_share=share,
                demand=demand[i],
                demand_covered=demand[i] * (share or 0.0),
            )
        )
    _rank_gaps(rows)
    report = CoverageReport(params, area, rows)
    _roll_up(report, units, [f for f, one in zip(counted, once, strict=True) if one], by_code)
    return report


def _once_per_place(facilities: Sequence[Facility], counted: Sequence[Facility]) -> np.ndarray:
    """Which of ``counted`` to count: all but the further sides of a paired service area
    (its first counted side by id stands for it)."""
    once = np.ones(len(counted), dtype=bool)
    if not any(f.kind == "service_area" for f in counted):
        return once
    key = dict(zip((f.id for f in facilities), place_keys(facilities), strict=True))
    first: dict[str, tuple[str, int]] = {}
    for i, f in enumerate(counted):
        k = key.get(f.id, f.id)
        if k in first:
            if f.id < first[k][0]:
                once[first[k][1]] = False
                first[k] = (f.id, i)
            else:
                once[i] = False
        else:
            first[k] = (f.id, i)
    return once


def _facilities_inside(townships: Sequence[AdminUnit], f_lon, f_lat) -> list[int | None]:
    """How many counted facilities lie in each township polygon (None without polygon)."""
    counts: list[int | None] = [0 if t.geometry is not None else None for t in townships]
    polygons = [(i, t.geometry) for i, t in enumerate(townships) if t.geometry is not None]
    if not polygons or len(f_lon) == 0:
        return counts
    tree = shapely.STRtree([g for _, g in polygons])
    point_idx, poly_idx = tree.query(shapely.points(f_lon, f_lat), predicate="within")
    for p in poly_idx.tolist():
        counts[polygons[p][0]] += 1
    return counts


def _area_shares(townships, refs, counted, tree, f_lon, f_lat, params, by_code):
    """Share of each township polygon within the radius of a counted facility, and areas.

    Batched per city: one local projection, one KD-tree query and vectorised GEOS calls
    for all the townships of a city.
    """
    shares: list[float | None] = [None] * len(townships)
    areas: list[float | None] = [None] * len(townships)
    with_polygon = [i for i, t in enumerate(townships) if t.geometry is not None]
    for i in with_polygon:
        areas[i] = geodesic_area_m2(townships[i].geometry)
        shares[i] = 0.0
    if tree is None or not with_polygon:
        return shares, areas
    radius = params.radius_m
    # One projection per city keeps the transformers few; distortion stays < 0.01%.
    groups: dict[str, list[int]] = defaultdict(list)
    anchors = {}
    for i in with_polygon:
        t = townships[i]
        city = _parent_of_level(t, "city", by_code)
        group = city.code if city is not None else (t.parent_code or t.code)
        groups[group].append(i)
        if group not in anchors:
            anchors[group] = (
                city.geometry if city is not None and city.geometry is not None else t.geometry
            ).centroid
    for group, members in groups.items():
        members = np.array(members)
        project = local_projection(anchors[group].x, anchors[group].y)
        polygons = shapely.transform(
            np.array([townships[i].geometry for i in members], dtype=object),
            lambda xy, p=project: np.column_stack(p.transform(xy[:, 0], xy[:, 1])),
        )
        ref = np.array([refs[i] for i in members], dtype=float).reshape(-1, 2)
        ref_x, ref_y = project.transform(ref[:, 0], ref[:, 1])
        # Facilities that can reach a polygon: within radius + the polygon's extent.
        extent = shapely.hausdorff_distance(polygons, shapely.points(ref_x, ref_y))
        reach = np.array([m_to_chord(radius + e * 1.01 + 10.0) for e in extent.tolist()])
        near = tree.query_ball_point(unit_vectors(ref[:, 0], ref[:, 1]).reshape(-1, 3), r=reach)
        counts = np.array([len(x) for x in near], dtype=int)
        if not counts.sum():
            continue
        owner = np.repeat(np.arange(len(members)), counts)
        found = np.concatenate([np.asarray(x, dtype=int) for x in near if len(x)])
        xs, ys = project.transform(f_lon[found], f_lat[found])
        points = shapely.points(xs, ys)
        keep = shapely.dwithin(points, polygons[owner], radius)
        if not keep.any():
            continue
        reaching = np.full(len(members), None, dtype=object)
        shapely.multipoints(points[keep], indices=owner[keep], out=reaching)
        has = ~shapely.is_missing(reaching)
        discs = shapely.buffer(reaching[has], radius, quad_segs=16)
        reached = shapely.intersection(polygons[has], discs)
        full = shapely.area(polygons[has])
        ratio = np.minimum(1.0, shapely.area(reached) / np.where(full > 0, full, 1.0))
        ratio = np.where(full > 0, ratio, 0.0)
        for i, share in zip(members[has].tolist(), ratio.tolist(), strict=True):
            # Overlay round-off leaves ~1e-16 of a wholly reached polygon: that is all of it.
            shares[i] = 1.0 if share > 1.0 - 1e-9 else share
    return shares, areas


def _spread_demand(townships, areas, weight, by_code) -> list[float]:
    """County demand spread over townships by area, the rest evenly over the others."""
    demand = [0.0] * len(townships)
    by_county: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(townships):
        by_county[t.parent_code or ""].append(i)
    for county_code, members in by_county.items():
        county = by_code.get(county_code)
        total = (county.demand.get(weight) if county else None) or 0.0
        if not total:
            continue
        county_area = geodesic_area_m2(county.geometry) if county and county.geometry else None
        with_area = [i for i in members if areas[i] is not None]
        with_area_set = set(with_area)
        without = [i for i in members if i not in with_area_set] if county_area else members
        rest = total
        if county_area and with_area:
            # Shares of the county's area; the townships' own polygons never match the
            # county's exactly, so their areas are the whole when no township is left
            # without polygon (else demand would be lost or made up).
            area_sum = sum(areas[i] for i in with_area)
            base = max(county_area, area_sum) if without else area_sum
            for i in with_area:
                demand[i] = total * areas[i] / base
            rest = max(0.0, total - sum(demand[i] for i in with_area))
        if without:
            for i in without:
                demand[i] = rest / len(without)
    return demand


_GEOD = pyproj.Geod(ellps="WGS84")


def geodesic_area_m2(geometry) -> float:
    """The area of a lon/lat polygon on the WGS-84 ellipsoid, in square metres.

    Each ring's area is taken unsigned, holes subtracted from their exterior, so the
    result does not depend on how the rings are wound (H3 winds holes like exteriors).
    """
    total = 0.0
    for polygon in _polygons(geometry):
        for k, ring in enumerate(shapely.get_rings(polygon)):
            xy = shapely.get_coordinates(ring)
            if len(xy) < 3:
                continue
            area = abs(_GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])[0])
            total += area if k == 0 else -area
    return abs(total)


def _polygons(geometry) -> list:
    """The polygons of a geometry (nested collections flattened; other parts dropped)."""
    if geometry is None or geometry.is_empty:
        return []
    if geometry.geom_type == "Polygon":
        return [geometry]
    if geometry.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for g in geometry.geoms for p in _polygons(g)]
    return []


def _rank_gaps(rows: Sequence[TownshipCoverage]) -> None:
    """Rank located townships by uncovered demand (then by distance), worst first."""
    scored = [
        (r.demand - r.demand_covered, r.nearest_m or float("inf"), r.code, r)
        for r in rows
        if r.located != "unlocated" and not r.covered_share == 1.0
    ]
    scored = [s for s in scored if s[0] > 0 or not s[3].covered]
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    for rank, (*_, row) in enumerate(scored, start=1):
        row.gap_rank = rank


def _roll_up(report: CoverageReport, units, counted, by_code) -> None:
    counties: dict[str, Rollup] = {}
    cities: dict[str, Rollup] = {}
    for row in report.townships:
        for code, registry, level in (
            (row.county_code, counties, "county"),
            (row.city_code, cities, "city"),
        ):
            if code is None:
                continue
            rollup = registry.get(code)
            if rollup is None:
                unit = by_code[code]
                rollup = registry[code] = Rollup(
                    code,
                    unit.name,
                    level,
                    population=unit.demand.get("population"),
                    transport_workers=unit.demand.get("transport_workers"),
                )
            _add(rollup, row)
    for f in counted:
        if f.county_code in counties:
            counties[f.county_code].facilities += 1
        if f.city_code in cities:
            cities[f.city_code].facilities += 1
    report.counties = sorted(counties.values(), key=lambda r: r.code)
    report.cities = sorted(cities.values(), key=lambda r: r.code)
    area = report.area
    total = Rollup(
        area.code if area else "all",
        area.name if area else "全部",
        area.level if area else "all",
        population=sum(c.population or 0 for c in report.cities) or None,
        transport_workers=sum(c.transport_workers or 0 for c in report.cities) or None,
    )
    if area is not None and area.level == "county":
        total.population = area.demand.get("population")
        total.transport_workers = area.demand.get("transport_workers")
    for row in report.townships:
        _add(total, row)
    total.facilities = sum(
        c.facilities
        for c in (report.counties if area is not None and area.level == "county" else report.cities)
    )
    if area is not None and area.level == "county":
        total.facilities = counties[area.code].facilities if area.code in counties else 0
    report.total = total


def _add(rollup: Rollup, row: TownshipCoverage) -> None:
    rollup.townships += 1
    if row.located == "unlocated":
        rollup.unlocated += 1
    else:
        rollup.located += 1
        if row.covered:
            rollup.covered += 1
        else:
            rollup.uncovered += 1
    rollup.demand += row.demand
    rollup.demand_covered += row.demand_covered
