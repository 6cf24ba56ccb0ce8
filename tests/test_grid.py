"""The H3 grid of blind spots over Hefei, checked against haversine and shapely by hand."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, shape

from locator.admin_units import AdminIndex
from locator.coverage import CoverageParams
from locator.crs import haversine_m
from locator.errors import InvalidParameter
from locator.geodata import read_default_facilities
from locator.grid import (
    MAX_AUTO_CELLS,
    blind_spots,
    choose_resolution,
    grid_cells,
    grid_layout,
)
from locator.model import AdminUnit, Facility
from tests.web_fixtures import GEODATA

HEFEI = "340100"
RESOLUTION = 7


@pytest.fixture(scope="module")
def facilities(units, by_code):
    hefei = by_code[HEFEI].geometry
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = hefei.bounds
    extra = []
    while len(extra) < 30:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if hefei.covers(shapely.Point(lon, lat)):
            status = "closed" if len(extra) % 5 == 0 else "open"
            extra.append(
                Facility(
                    f"test:{len(extra)}",
                    "司机之家",
                    "driver_home",
                    float(lon),
                    float(lat),
                    status=status,
                )
            )
    return AdminIndex(units).assign(read_default_facilities(GEODATA) + extra)


@pytest.fixture(scope="module")
def grid(units, facilities):
    return blind_spots(units, facilities, city="合肥市", resolution=RESOLUTION)


def _counted(facilities):
    kinds = CoverageParams().kinds
    return [f for f in facilities if f.kind in kinds and f.status == "open"]


def _hexagon(cell):
    return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


# ---- resolution ----------------------------------------------------------------------------
def test_bigger_areas_get_coarser_cells_under_the_cap():
    areas = [0.5, 10, 100, 1_000, 11_443, 50_000, 140_000, 1_000_000, 5_000_000, 1e8]
    chosen = [choose_resolution(a) for a in areas]
    assert all(a >= b for a, b in zip(chosen, chosen[1:], strict=False))
    assert chosen[0] == 10 and chosen[-1] == 5
    for area, res in zip(areas, chosen, strict=True):
        if res > 5 or area / h3.average_hexagon_area(5, "km^2") <= MAX_AUTO_CELLS:
            assert area / h3.average_hexagon_area(res, "km^2") <= MAX_AUTO_CELLS
        if res < 10:  # the finest that fits: one step finer would not
            assert area / h3.average_hexagon_area(res + 1, "km^2") > MAX_AUTO_CELLS
    assert choose_resolution(100, max_cells=100) < choose_resolution(100)


def test_automatic_grid_of_hefei_stays_under_the_cap(units):
    layout = grid_layout(units, city="合肥市")
    assert 0 < len(layout.cells) <= MAX_AUTO_CELLS
    assert layout.resolution == choose_resolution(11_443)
    # One step finer would have broken the cap.
    assert len(layout.cells) * 7 > MAX_AUTO_CELLS


# ---- distances -----------------------------------------------------------------------------
def test_cells_lie_in_hefei_and_have_their_centres(grid, by_code):
    hefei = by_code[HEFEI].geometry
    assert len(grid.cells) == len(set(grid.cells)) > 1000
    assert {h3.get_resolution(c) for c in grid.cells} == {RESOLUTION}
    assert shapely.covers(hefei, shapely.points(grid.lon, grid.lat)).all()
    rng = np.random.default_rng(0)
    for i in rng.choice(len(grid.cells), 50, replace=False):
        lat, lon = h3.cell_to_latlng(grid.cells[i])
        assert (grid.lon[i], grid.lat[i]) == pytest.approx((lon, lat), abs=1e-12)


def test_nearest_distance_of_each_cell_is_the_haversine_minimum(grid, facilities):
    counted = _counted(facilities)
    lon = np.array([f.lon for f in counted])
    lat = np.array([f.lat for f in counted])
    rng = np.random.default_rng(1)
    sample = rng.choice(len(grid.cells), 500, replace=False)
    expected = haversine_m(
        grid.lon[sample, None], grid.lat[sample, None], lon[None, :], lat[None, :]
    ).min(axis=1)
    assert np.abs(grid.nearest_m[sample] - expected).max() < 1.0
    assert np.array_equal(grid.covered, grid.nearest_m <= 5000.0)
    summary = grid.summary()
    assert summary["cells"] == len(grid.cells)
    assert summary["blind_cells"] == int((grid.nearest_m > 5000.0).sum())
    assert 0 < summary["blind_cells"] < len(grid.cells)
    assert summary["demand_covered"] == pytest.approx(grid.demand[grid.nearest_m <= 5000].sum())
    mean_area = np.mean([h3.cell_area(c, "km^2") for c in grid.cells])
    assert summary["cell_area_km2"] == pytest.approx(mean_area, rel=0.005)


def test_without_counted_facilities_every_cell_is_blind(units, facilities):
    grid = blind_spots(
        units,
        facilities,
        CoverageParams(kinds=frozenset({"other"})),
        county="瑶海区",
        resolution=RESOLUTION,
    )
    assert np.isinf(grid.nearest_m).all() and not grid.covered.any()
    assert grid.summary()["demand_covered"] == 0.0


# ---- demand --------------------------------------------------------------------------------
def test_county_demand_is_spread_evenly_and_kept(grid, units):
    counties = [u for u in units if u.level == "county" and u.parent_code == HEFEI]
    assert len(counties) == 9
    points = shapely.points(grid.lon, grid.lat)
    owner = np.full(len(grid.cells), -1)
    for k, county in enumerate(counties):
        inside = shapely.covers(county.geometry, points) & (owner < 0)
        owner[inside] = k
    assert (owner >= 0).all()  # Hefei's counties tile it
    for k, county in enumerate(counties):
        mine = grid.demand[owner == k]
        assert mine.sum() == pytest.approx(county.demand["population"], rel=1e-9), county.name
        assert mine.max() == pytest.approx(mine.min(), rel=1e-9)
    assert grid.demand.sum() == pytest.approx(sum(c.demand["population"] for c in counties))


def test_a_county_grid_keeps_the_county_total(units, facilities, by_code):
    grid = blind_spots(
        units, facilities, CoverageParams(weight="transport_workers"), county="340181", resolution=8
    )
    assert grid.demand.sum() == pytest.approx(by_code["340181"].demand["transport_workers"])


def test_demand_points_are_summed_per_cell(units, by_code):
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = by_code["340102"].geometry.bounds
    lon = rng.uniform(minx - 0.05, maxx + 0.05, 400)
    lat = rng.uniform(miny - 0.05, maxy + 0.05, 400)
    weight = rng.uniform(0, 10, 400)
    layout = grid_layout(units, county="瑶海区", resolution=8, demand_points=(lon, lat, weight))
    hexagons = shapely.STRtree([_hexagon(c) for c in layout.cells])
    expected = np.zeros(len(layout.cells))
    pt_idx, cell_idx = hexagons.query(shapely.points(lon, lat), predicate="intersects")
    first = {}
    for p, c in zip(pt_idx.tolist(), cell_idx.tolist(), strict=True):
        first.setdefault(p, c)  # a point on a shared edge belongs to one cell
    for p, c in first.items():
        expected[c] += weight[p]
    assert layout.demand == pytest.approx(expected, abs=1e-9)
    outside = len(lon) - len(first)
    assert outside > 0 and layout.demand.sum() < weight.sum()


# ---- blind-spot polygons -------------------------------------------------------------------
def _components(cells):
    """Connected groups of cells (neighbours share an edge)."""
    left, groups = set(cells), 0
    while left:
        groups += 1
        stack = [left.pop()]
        while stack:
            for n in h3.grid_disk(stack.pop(), 1):
                if n in left:
                    left.remove(n)
                    stack.append(n)
    return groups


def test_blind_spot_polygons_cover_exactly_the_blind_cells(grid):
    blind = [c for c, ok in zip(grid.cells, grid.covered, strict=True) if not ok]
    collection = grid.blind_spots_geojson()
    features = collection["features"]
    assert collection["type"] == "FeatureCollection"
    assert len(features) == _components(blind) > 1
    geometries = [shape(f["geometry"]) for f in features]
    assert all(g.geom_type == "Polygon" and g.is_valid for g in geometries)
    area_km2 = sum(f["properties"]["area_km2"] for f in features)
    # Blind cells times the cell area the summary gives (H3's global average for the
    # resolution would be 25% off at Hefei's latitude).
    assert area_km2 == pytest.approx(len(blind) * grid.summary()["cell_area_km2"], rel=0.02)
    assert area_km2 == pytest.approx(sum(h3.cell_area(c, "km^2") for c in blind), rel=0.002)
    hexes = shapely.union_all([_hexagon(c) for c in blind])
    merged = shapely.union_all(geometries)
    assert merged.symmetric_difference(hexes).area < 1e-4 * hexes.area
    # No covered cell's centre lies in a blind spot, every blind centre does.
    centres = shapely.points(grid.lon, grid.lat)
    assert np.array_equal(shapely.covers(merged, centres), ~grid.covered)
    only_blind = grid.cells_geojson(only_blind=True)["features"]
    assert sorted(f["id"] for f in only_blind) == sorted(blind)
    assert len(grid.cells_geojson()["features"]) == len(grid.cells)


def test_no_blind_cells_no_features(units):
    centre = Facility("c", "中心", "driver_home", 117.30, 31.87)
    grid = blind_spots(
        units, [centre], CoverageParams(radius_km=100), county="瑶海区", resolution=RESOLUTION
    )
    assert grid.covered.all()
    assert grid.blind_spots_geojson()["features"] == []


# ---- errors --------------------------------------------------------------------------------
def test_an_area_without_polygon_is_refused(units):
    county = AdminUnit(
        "349901", "无界县", "county", parent_code="340100", demand={"population": 1000.0}
    )
    with pytest.raises(InvalidParameter) as info:
        grid_layout([*units, county], county="无界县")
    assert info.value.field == "county"
    with pytest.raises(InvalidParameter) as info:
        blind_spots([county], [], county="349901", resolution=RESOLUTION)
    assert info.value.field == "county"
    with pytest.raises(InvalidParameter) as info:
        grid_layout([county])
    assert info.value.field == "city"


@pytest.mark.parametrize("resolution", [4, 11])
def test_resolution_out_of_range_is_refused(units, by_code, resolution):
    with pytest.raises(InvalidParameter) as info:
        grid_cells(by_code["340102"].geometry, resolution)
    assert info.value.field == "resolution"


def test_unknown_city_is_refused(units):
    with pytest.raises(InvalidParameter) as info:
        grid_layout(units, city="南京市")
    assert info.value.field == "city"


def test_grid_of_the_province_by_default(units):
    layout = grid_layout(units, resolution=6)
    province = [u for u in units if u.level == "province"][0].geometry
    assert shapely.covers(province, shapely.points(layout.lon, layout.lat)).all()
    assert layout.demand.sum() == pytest.approx(
        sum(u.demand["population"] for u in units if u.level == "county"), rel=1e-9
    )


def test_coarse_grid_keeps_the_province_total(units):
    """At resolution 5 some city districts hold no cell centre; their demand goes to the
    cell that holds their representative point."""
    layout = grid_layout(units, resolution=5)
    assert layout.demand.sum() == pytest.approx(
        sum(u.demand["population"] for u in units if u.level == "county"), rel=1e-9
    )
