"""The shipped Anhui data: loading, idempotence, and admin assignment checked independently."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import shapely
from shapely.geometry import shape

from locator.geodata import load_default_data, read_admin_units
from locator.storage import open_storage
from tests.web_fixtures import GEODATA


def _features(name):
    return json.loads((GEODATA / name).read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('geodata') / 'locator.db'}"
    with open_storage(url, init=True) as storage:
        summary = load_default_data(storage, GEODATA)
    storage = open_storage(url)
    yield storage, summary
    storage.close()


def test_admin_units_cover_anhui(loaded):
    storage, summary = loaded
    levels = Counter(u.level for u in storage.admin_units())
    assert levels["province"] == 1 and levels["city"] == 16 and levels["county"] == 104
    # The register's 1,554 townships plus Hefei's development-zone polygons.
    assert levels["township"] == 1554 + 8
    townships = storage.admin_units("township")
    assert summary.townships_with_polygon == 126 == sum(u.geometry is not None for u in townships)
    assert summary.townships_with_seat == 321 == sum(u.has_seat for u in townships)
    by_code = {u.code: u for u in storage.admin_units()}
    for unit in storage.admin_units():
        if unit.level != "province":
            assert unit.parent_code in by_code, unit


def test_demand_weights_come_from_the_census(loaded):
    storage, _ = loaded
    by_code = {u.code: u for u in storage.admin_units()}
    assert by_code["340100"].demand == {"population": 9369881.0, "transport_workers": 23538.0}
    assert by_code["340102"].demand["population"] == 862043.0
    assert by_code["340000"].demand["population"] == 61027171.0


def test_facilities_from_openstreetmap(loaded):
    storage, summary = loaded
    facilities = storage.facilities()
    kinds = Counter(f.kind for f in facilities)
    assert kinds == {"service_area": 215, "logistics_park": 97}
    assert summary.facilities == 312
    area = storage.get_facility("osm:way/161679435")
    assert (area.name, area.kind, area.source, area.source_id) == (
        "文集服务区",
        "service_area",
        "osm",
        "way/161679435",
    )
    assert all(f.version == 1 for f in facilities)


def test_candidate_junctions_are_not_facilities(loaded):
    storage, summary = loaded
    junctions = storage.candidates("junction")
    assert len(junctions) == summary.candidates == 670
    assert not {j.id for j in junctions} & {f.id for f in storage.facilities()}


def test_county_assignment_agrees_with_independent_point_in_polygon(loaded):
    storage, _ = loaded
    counties = [
        (f["properties"]["adcode"], shape(f["geometry"]))
        for f in _features("anhui_admin_units.geojson")
        if f["properties"]["level"] == "county"
    ]
    hefei_township_counties = {
        f["properties"]["county_code"] for f in _features("hefei_townships_2023.geojson")
    }
    checked = 0
    for facility in storage.facilities():
        point = shapely.Point(facility.lon, facility.lat)
        inside = [code for code, polygon in counties if polygon.covers(point)]
        if facility.township_code is not None and facility.county_code in hefei_township_counties:
            # A detailed township polygon decides near simplified county borders.
            continue
        if inside:
            assert facility.county_code == inside[0], facility
            checked += 1
        else:
            assert facility.county_code is None, facility
    assert checked > 200


def test_service_area_townships_agree_with_independent_point_in_polygon(loaded):
    storage, _ = loaded
    polygons = [
        (f["properties"]["name"], f["properties"]["county_code"], shape(f["geometry"]))
        for f in _features("hefei_townships_2023.geojson")
    ]
    areas = [f for f in storage.facilities() if f.kind == "service_area"]
    located = 0
    for area in areas:
        point = shapely.Point(area.lon, area.lat)
        inside = [(name, county) for name, county, polygon in polygons if polygon.covers(point)]
        if not inside:
            assert area.township is None and area.township_code is None, area
            continue
        located += 1
        name, county = inside[0]
        assert area.township in (name, name.removesuffix("办事处")), area
        assert area.county_code == county
        assert area.city == "合肥市" and area.city_code == "340100"
    assert located >= 15  # most of Hefei's service areas lie in a township polygon


def test_a_point_outside_every_unit_keeps_null(loaded):
    storage, _ = loaded
    [row] = storage.admin_index().locate([121.47], [31.23])  # Shanghai
    assert row == {key: None for key in row}


def test_loading_again_changes_nothing(loaded, tmp_path):
    storage, summary = loaded
    version = storage.data_version()
    again = load_default_data(storage, GEODATA)
    assert (again.inserted, again.updated) == (0, 0)
    assert storage.data_version() == version == summary.data_version


def test_register_joins_polygons_by_name_when_codes_drift():
    units = {u.code: u for u in read_admin_units(GEODATA)}
    # 亳州路街道 is 340103001000 in the polygons but 340103009000 in the register.
    assert units["340103009"].name == "亳州路街道"
    assert units["340103009"].geometry is not None
    assert units["340103009"].extra["polygon_code12"] == "340103001000"
