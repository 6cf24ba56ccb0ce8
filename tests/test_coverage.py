"""Township coverage on the real Anhui data, checked against an independent reference.

The reference uses only plain shapely point-in-polygon (``covers``), haversine distances
and, for areas, a UTM zone 50N projection (EPSG:32650) with shapely buffers: none of the
KD-tree, chord or azimuthal-projection machinery of :mod:`locator.coverage`.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import shape

from locator.admin_units import AdminIndex
from locator.coverage import DEFAULT_COUNTED_KINDS, CoverageParams, township_coverage
from locator.crs import haversine_m
from locator.errors import InvalidParameter
from locator.geodata import read_default_facilities
from locator.model import Facility
from tests.service_area_reference import places
from tests.web_fixtures import GEODATA

HEFEI = "340100"
RADIUS_M = 5000.0
UTM = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)


def _csv(name):
    with (GEODATA / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _utm(geometry):
    return shapely.transform(
        geometry, lambda xy: np.column_stack(UTM.transform(xy[:, 0], xy[:, 1]))
    )


@pytest.fixture(scope="module")
def census():
    return {row["adcode"]: row for row in _csv("anhui_county_population_census2020.csv")}


def _hefei_polygon():
    for feature in json.loads((GEODATA / "anhui_admin_units.geojson").read_text("utf-8"))[
        "features"
    ]:
        if feature["properties"]["adcode"] == HEFEI:
            return shapely.make_valid(shape(feature["geometry"]))
    raise AssertionError("Hefei missing from the admin units")


@pytest.fixture(scope="module")
def facilities(units):
    """The shipped OSM facilities plus synthetic ones at random points in Hefei."""
    hefei = _hefei_polygon()
    rng = np.random.default_rng(20240501)
    minx, miny, maxx, maxy = hefei.bounds
    # (kind, status) of the synthetic facilities: most count, some do not.
    plan = (
        [("driver_home", "open")] * 40
        + [("driver_home", "closed")] * 8
        + [("driver_home", "planned")] * 6
        + [("logistics_park", "open")] * 8
        + [("service_station", "open")] * 4
        + [("legal_aid", "under_construction")] * 2
    )
    synthetic = []
    while len(synthetic) < len(plan):
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if hefei.covers(shapely.Point(lon, lat)):
            kind, status = plan[len(synthetic)]
            synthetic.append(
                Facility(
                    f"test:{len(synthetic)}",
                    f"测试站 {len(synthetic)}",
                    kind,
                    float(lon),
                    float(lat),
                    status=status,
                )
            )
    # And one at the centre of each of the three smallest townships, wholly within reach.
    by_code = {u.code: u for u in units}
    small = sorted(
        (t for t in _hefei_townships(units, by_code) if t.geometry is not None),
        key=lambda t: _utm(t.geometry).area,
    )[:3]
    for t in small:
        p = t.geometry.representative_point()
        synthetic.append(
            Facility(f"test:centre:{t.code}", f"{t.name}司机之家", "driver_home", p.x, p.y)
        )
    return AdminIndex(units).assign(read_default_facilities(GEODATA) + synthetic)


def _counted(facilities, kinds=DEFAULT_COUNTED_KINDS):
    return [f for f in facilities if f.kind in kinds and f.status == "open"]


def _once(facilities, counted):
    """``counted`` with the two carriageway sides of one service area counted once, at
    the counted side with the smallest id (places from the independent reference)."""
    groups = places((f.id, f.name, f.lon, f.lat) for f in facilities if f.kind == "service_area")
    place = {fid: group[0] for group in groups for fid in group}
    first: dict[str, str] = {}
    for f in sorted(counted, key=lambda f: f.id):
        first.setdefault(place.get(f.id, f.id), f.id)
    kept = set(first.values())
    return [f for f in counted if f.id in kept]


def _hefei_townships(units, by_code):
    return [
        u for u in units if u.level == "township" and by_code[u.parent_code].parent_code == HEFEI
    ]


def _reference(units, by_code, facilities, radius_m=RADIUS_M, kinds=DEFAULT_COUNTED_KINDS):
    """For each Hefei township: located, reference point, inside (a paired service area
    once), nearest (any side), covered."""
    counted = _counted(facilities, kinds)
    lon = np.array([f.lon for f in counted])
    lat = np.array([f.lat for f in counted])
    once = _once(facilities, counted)
    points = shapely.points([f.lon for f in once], [f.lat for f in once])
    result = {}
    for t in _hefei_townships(units, by_code):
        if t.seat_lon is not None and t.seat_lat is not None:
            ref = (t.seat_lon, t.seat_lat)
        elif t.geometry is not None:
            p = t.geometry.representative_point()
            ref = (p.x, p.y)
        else:
            result[t.code] = {"located": "unlocated"}
            continue
        inside = int(shapely.covers(t.geometry, points).sum()) if t.geometry is not None else None
        dist = haversine_m(ref[0], ref[1], lon, lat) if counted else np.zeros(0)
        nearest = float(dist.min()) if counted else None
        result[t.code] = {
            "located": "polygon" if t.geometry is not None else "seat",
            "ref": ref,
            "inside": inside,
            "nearest_m": nearest,
            "covered": bool((inside or 0) > 0 or (nearest is not None and nearest <= radius_m)),
        }
    return result


@pytest.fixture(scope="module")
def report(units, facilities):
    return township_coverage(units, facilities, city="合肥市")


@pytest.fixture(scope="module")
def reference(units, by_code, facilities):
    return _reference(units, by_code, facilities)


def _rows(report):
    return {t.code: t for t in report.townships}


# ---- which townships, and whether they are covered ----------------------------------------
def test_every_hefei_township_is_listed_unlocated_ones_too(report, units):
    register = {
        row["code9"] for row in _csv("anhui_townships_2023.csv") if row["city_code"] == "3401"
    }
    polygon_only = {
        u.code
        for u in units
        if u.level == "township"
        and u.extra.get("polygon_only")
        and u.parent_code.startswith("3401")
    }
    rows = _rows(report)
    assert len(rows) == len(report.townships)  # no duplicates
    assert set(rows) == register | polygon_only
    unlocated = {u.code for u in units if u.code in rows and u.geometry is None and not u.has_seat}
    assert unlocated  # the data has some: they must be listed, not dropped
    assert {t.code for t in report.unlocated} == unlocated
    for code in unlocated:
        row = rows[code]
        assert row.located == "unlocated"
        assert row.covered is None and row.covered_share is None and row.gap_rank is None
        assert row.ref_lon is None and row.nearest_m is None
    assert report.total.unlocated == len(unlocated)
    assert sum(c.unlocated for c in report.counties) == len(unlocated)
    assert report.total.townships == len(register | polygon_only)


def test_township_rows_match_the_independent_reference(report, reference, facilities):
    counted = {f.id: f for f in _counted(facilities)}
    rows = _rows(report)
    assert set(rows) == set(reference)
    for code, expected in reference.items():
        row = rows[code]
        assert row.located == expected["located"], code
        if expected["located"] == "unlocated":
            continue
        assert (row.ref_lon, row.ref_lat) == pytest.approx(expected["ref"], abs=1e-9), code
        assert row.facilities_inside == expected["inside"], code
        assert row.nearest_m == pytest.approx(expected["nearest_m"], abs=1.0), code
        # The facility named is the nearest one (ties between duplicates allowed).
        near = counted[row.nearest_id]
        assert haversine_m(*expected["ref"], near.lon, near.lat) == pytest.approx(
            expected["nearest_m"], abs=1.0
        ), code
        assert row.covered is expected["covered"], code
        if expected["located"] == "seat":
            assert row.covered_share == (1.0 if expected["covered"] else 0.0)
    located = [r for r in reference.values() if r["located"] != "unlocated"]
    # The fixture exercises both outcomes and both reasons for coverage.
    assert any(r["covered"] for r in located) and not all(r["covered"] for r in located)
    assert any(r["inside"] and r["nearest_m"] > RADIUS_M for r in located)


def test_closed_planned_and_logistics_facilities_do_not_count(report, facilities):
    ignored = {f.id for f in facilities if f.id not in {c.id for c in _counted(facilities)}}
    assert any(
        f.kind == "logistics_park" and f.status == "open" for f in facilities if f.id in ignored
    )
    assert any(
        f.kind == "driver_home" and f.status != "open" for f in facilities if f.id in ignored
    )
    assert "logistics_park" not in CoverageParams().kinds
    assert not {t.nearest_id for t in report.townships} & ignored


# ---- area shares ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def counted_utm(facilities):
    """Counted facilities as UTM points, projected once."""
    counted = _counted(facilities)
    x, y = UTM.transform([f.lon for f in counted], [f.lat for f in counted])
    return counted, shapely.points(np.asarray(x), np.asarray(y))


def _utm_share(polygon, points, radius_m):
    near = points[shapely.distance(points, polygon) <= radius_m]
    if not len(near):
        return 0.0
    discs = shapely.buffer(near, radius_m, quad_segs=64)
    return shapely.union_all(discs).intersection(polygon).area / polygon.area


def test_area_shares_match_an_independent_utm_computation(report, units, by_code, counted_utm):
    _, points = counted_utm
    rows = _rows(report)
    partial = 0
    for t in _hefei_townships(units, by_code):
        if t.geometry is None:
            continue
        polygon = _utm(t.geometry)
        expected = _utm_share(polygon, points, RADIUS_M)
        assert rows[t.code].covered_share == pytest.approx(expected, abs=0.01), t.name
        # Areas: UTM's scale error near 117°E is below 0.1%.
        assert rows[t.code].area_km2 == pytest.approx(polygon.area / 1e6, rel=5e-3)
        partial += 0.05 < expected < 0.95
    assert partial >= 5  # the comparison is not only about 0 and 1


def test_share_is_one_inside_the_radius_and_zero_out_of_reach(report, units, by_code, counted_utm):
    counted, points = counted_utm
    lon = np.array([f.lon for f in counted])
    lat = np.array([f.lat for f in counted])
    rows = _rows(report)
    full = empty = 0
    for t in _hefei_townships(units, by_code):
        if t.geometry is None:
            continue
        distance = shapely.distance(points, _utm(t.geometry))
        near = distance <= RADIUS_M
        xy = shapely.get_coordinates(t.geometry)
        # Farthest vertex from each facility: the polygon lies within that distance of it.
        farthest = haversine_m(xy[:, :1], xy[:, 1:], lon[None, near], lat[None, near])
        if near.any() and farthest.max(axis=0).min() < 0.98 * RADIUS_M:  # wholly in reach
            full += 1
            assert rows[t.code].covered_share == 1.0, t.name
            assert rows[t.code].demand_covered == rows[t.code].demand
            assert rows[t.code].gap_rank is None, t.name
        if distance.min() > 1.01 * RADIUS_M:
            empty += 1
            assert rows[t.code].covered_share == 0.0, t.name
            assert rows[t.code].demand_covered == 0.0
    assert full >= 3 and empty >= 5


def test_a_small_township_around_a_station_is_fully_covered(units, by_code, facilities):
    townships = [t for t in _hefei_townships(units, by_code) if t.geometry is not None]
    smallest = min(townships, key=lambda t: _utm(t.geometry).area)
    p = smallest.geometry.representative_point()
    home = Facility("test:centre", "中心司机之家", "driver_home", p.x, p.y)
    xy = shapely.get_coordinates(smallest.geometry)
    radius_km = float(haversine_m(xy[:, 0], xy[:, 1], p.x, p.y).max()) / 1000 * 1.1 + 0.1
    report = township_coverage(
        units, [home], CoverageParams(radius_km=radius_km), county=smallest.parent_code
    )
    row = _rows(report)[smallest.code]
    assert row.facilities_inside == 1 and row.covered
    assert row.covered_share == 1.0
    assert row.gap_rank is None


# ---- demand --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "weight, column",
    [
        ("population", "population_total"),
        ("transport_workers", "employed_transport_storage_postal_longform"),
    ],
)
def test_county_demand_is_kept_and_spread_by_area(
    units, by_code, facilities, census, weight, column, report
):
    if weight != "population":
        report = township_coverage(units, facilities, CoverageParams(weight=weight), city=HEFEI)
    per_county = defaultdict(list)
    for row in report.townships:
        per_county[row.county_code].append(row)
    assert len(per_county) == 9
    for county_code, rows in per_county.items():
        assert sum(r.demand for r in rows) == pytest.approx(
            float(census[county_code][column]), rel=1e-9
        ), county_code
        polygons = [r for r in rows if r.located == "polygon"]
        if polygons:  # by area: the same demand per square kilometre in a county
            density = [r.demand / (_utm(by_code[r.code].geometry).area / 1e6) for r in polygons]
            assert max(density) == pytest.approx(min(density), rel=5e-3), county_code
        others = [r.demand for r in rows if r.located != "polygon"]
        if others:  # the rest evenly over the townships without polygon
            assert max(others) == pytest.approx(min(others), rel=1e-9)
            assert min(others) > 0
        for r in rows:
            assert r.demand_covered == pytest.approx(r.demand * (r.covered_share or 0.0))


# ---- rollups -------------------------------------------------------------------------------
FIELDS = ("townships", "located", "unlocated", "covered", "uncovered")


def _sums(rows):
    sums = dict.fromkeys(FIELDS, 0)
    sums["demand"] = sums["demand_covered"] = 0.0
    for r in rows:
        sums["townships"] += 1
        sums["unlocated"] += r.located == "unlocated"
        sums["located"] += r.located != "unlocated"
        sums["covered"] += r.covered is True
        sums["uncovered"] += r.covered is False
        sums["demand"] += r.demand
        sums["demand_covered"] += r.demand_covered
    return sums


def _check_rollup(rollup, rows):
    sums = _sums(rows)
    for name in FIELDS:
        assert getattr(rollup, name) == sums[name], (rollup.code, name)
    assert rollup.demand == pytest.approx(sums["demand"], rel=1e-12)
    assert rollup.demand_covered == pytest.approx(sums["demand_covered"], rel=1e-12)


def test_rollups_sum_their_townships(report, facilities, census):
    counted = _once(facilities, _counted(facilities))
    assert len(counted) < len(_counted(facilities))  # Hefei has paired service areas
    by_county = defaultdict(list)
    for row in report.townships:
        by_county[row.county_code].append(row)
    assert {c.code for c in report.counties} == set(by_county)
    for county in report.counties:
        _check_rollup(county, by_county[county.code])
        population = float(census[county.code]["population_total"])
        assert county.population == population
        facilities_in = sum(f.county_code == county.code for f in counted)
        assert county.facilities == facilities_in
        assert county.facilities_per_100k_people == pytest.approx(facilities_in / population * 1e5)
    [city] = report.cities
    assert city.code == HEFEI
    _check_rollup(city, report.townships)
    _check_rollup(report.total, report.townships)
    hefei = _hefei_polygon()
    in_city = sum(bool(hefei.covers(shapely.Point(f.lon, f.lat))) for f in counted)
    assert city.facilities == report.total.facilities == in_city
    population = float(census[HEFEI]["population_total"])
    assert city.facilities_per_100k_people == pytest.approx(in_city / population * 1e5)
    workers = float(census[HEFEI]["employed_transport_storage_postal_longform"])
    assert city.facilities_per_10k_transport_workers == pytest.approx(in_city / workers * 1e4)
    assert city.covered_share == pytest.approx(city.covered / city.located)
    assert report.total.to_dict()["demand_share"] == pytest.approx(
        city.demand_covered / city.demand
    )


def test_county_report_totals_are_the_county(units, facilities, census):
    report = township_coverage(units, facilities, county="瑶海区")
    assert {t.county_code for t in report.townships} == {"340102"}
    assert report.total.code == "340102" and report.total.level == "county"
    assert report.total.population == float(census["340102"]["population_total"])
    counted = _once(facilities, _counted(facilities))
    assert report.total.facilities == sum(f.county_code == "340102" for f in counted)
    _check_rollup(report.total, report.townships)


# ---- gap ranks -----------------------------------------------------------------------------
def test_gaps_rank_uncovered_demand_first_without_holes(report):
    ranked = report.gaps
    assert [t.gap_rank for t in ranked] == list(range(1, len(ranked) + 1))
    uncovered = [t.demand - t.demand_covered for t in ranked]
    assert all(a >= b for a, b in zip(uncovered, uncovered[1:], strict=False))
    # Every located township left uncovered is a gap; unlocated and full ones are not.
    for t in report.townships:
        if t.covered is False:
            assert t.gap_rank is not None, t.name
        if t.located == "unlocated" or t.covered_share == 1.0:
            assert t.gap_rank is None, t.name


# ---- parameters ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"radius_km": 0}, "radius_km"),
        ({"radius_km": -1}, "radius_km"),
        ({"radius_km": 100.5}, "radius_km"),
        ({"radius_km": math.nan}, "radius_km"),
        ({"radius_km": math.inf}, "radius_km"),
        ({"kinds": frozenset({"garage"})}, "kind"),
        ({"kinds": frozenset()}, "kind"),
        ({"statuses": frozenset({"shut"})}, "status"),
        ({"statuses": frozenset()}, "status"),
        ({"weight": "trucks"}, "weight"),
    ],
)
def test_invalid_parameters_name_the_field(kwargs, field):
    with pytest.raises(InvalidParameter) as info:
        CoverageParams(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(
    "kwargs, field", [({"city": "北京市"}, "city"), ({"county": "999999"}, "county")]
)
def test_unknown_area_names_the_field(units, facilities, kwargs, field):
    with pytest.raises(InvalidParameter) as info:
        township_coverage(units, facilities, **kwargs)
    assert info.value.field == field


def test_a_bigger_radius_never_covers_less(units, by_code, facilities):
    previous = None
    for radius_km in (2.0, 5.0, 12.0):
        report = township_coverage(
            units, facilities, CoverageParams(radius_km=radius_km), city=HEFEI
        )
        rows = _rows(report)
        covered = {c for c, t in rows.items() if t.covered}
        expected = _reference(units, by_code, facilities, radius_km * 1000)
        assert covered == {c for c, r in expected.items() if r.get("covered")}
        if previous is not None:
            prev_covered, prev_rows, prev_demand = previous
            assert prev_covered <= covered
            assert len(covered) > len(prev_covered)
            for code, row in rows.items():
                if row.covered_share is not None:
                    assert row.covered_share >= prev_rows[code].covered_share - 1e-9
            assert report.total.demand_covered >= prev_demand
        previous = covered, rows, report.total.demand_covered


def test_kinds_restrict_what_counts(units, by_code, facilities):
    only = frozenset({"service_station"})
    report = township_coverage(units, facilities, CoverageParams(kinds=only), city=HEFEI)
    expected = _reference(units, by_code, facilities, kinds=only)
    stations = {f.id for f in _counted(facilities, only)}
    assert stations
    for code, row in _rows(report).items():
        assert row.covered == expected[code].get("covered"), code
        if row.located != "unlocated":
            assert row.nearest_id in stations
            assert row.facilities_inside == expected[code]["inside"]
            assert row.nearest_m == pytest.approx(expected[code]["nearest_m"], abs=1.0)
    assert report.total.facilities == sum(f.city_code == HEFEI for f in _counted(facilities, only))
    # Logistics parks count once the planner says so.
    parks = township_coverage(
        units, facilities, CoverageParams(kinds=frozenset({"logistics_park"})), city=HEFEI
    )
    assert {t.nearest_id for t in parks.townships if t.nearest_id} <= {
        f.id for f in facilities if f.kind == "logistics_park" and f.status == "open"
    }


def test_no_counted_facility_covers_nothing(units, facilities):
    report = township_coverage(
        units, facilities, CoverageParams(kinds=frozenset({"other"})), city=HEFEI
    )
    located = [t for t in report.townships if t.located != "unlocated"]
    assert located and all(t.covered is False and t.nearest_id is None for t in located)
    assert all(t.covered_share == 0.0 and t.demand_covered == 0.0 for t in located)
    assert report.total.covered == 0 and report.total.facilities == 0
    assert sorted(t.gap_rank for t in report.gaps) == list(range(1, len(located) + 1))
