"""The gazetteer on the shipped Anhui data: Chinese, pinyin and initials, ranking, locations."""

from __future__ import annotations

import csv
import functools

import pytest
from shapely.geometry import Point

from locator.errors import InvalidParameter
from locator.model import AdminUnit, Facility
from locator.places import (
    LEVELS,
    MAX_QUERY_LENGTH,
    Gazetteer,
    normalize,
    readings,
    short_names,
)
from locator.storage import open_storage
from tests.web_fixtures import (
    GEODATA,
    admin_polygon,
    facility,
    hefei_township_polygons,
    loaded_database,
    raw_sites,
)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Admin units and facilities as stored (facilities carry their city/county/township)."""
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("places"))
    with open_storage(url) as storage:
        units, facilities = storage.admin_units(), storage.facilities()
    yield units, facilities
    cleanup()


@pytest.fixture(scope="module")
def gazetteer(stored):
    units, facilities = stored
    return Gazetteer(units, facilities, data_version=7)


@functools.cache
def register() -> dict[str, dict]:
    """The township register, read with csv: ``code9 -> row``."""
    with (GEODATA / "anhui_townships_2023.csv").open(encoding="utf-8-sig") as handle:
        return {row["code9"]: row for row in csv.DictReader(handle)}


def names(places) -> list[str]:
    return [p.name for p in places]


# ---- Chinese, pinyin, initials ---------------------------------------------------------------
@pytest.mark.parametrize(
    "q",
    ["合肥", "合肥市", "hefei", "he fei", "HeFei", "hefeishi", "ｈｅｆｅｉ", "hf", "HF", "he'fei"],
)
def test_hefei_comes_first(gazetteer, q):
    first = gazetteer.search(q)[0]
    assert (first.name, first.level, first.code) == ("合肥市", "city", "340100")
    assert first.context == "安徽省"
    assert first.approximate is False
    polygon = admin_polygon("340100")
    assert polygon.contains(Point(first.lon, first.lat))
    assert first.bbox == pytest.approx(polygon.bounds, abs=1e-6)


@pytest.mark.parametrize(
    "q", ["明光路", "明光路街道", "mingguanglu", "ming guang lu", "MingGuangLu", "mgl"]
)
def test_a_township_by_name_and_pinyin(gazetteer, q):
    first = gazetteer.search(q)[0]
    assert (first.name, first.level, first.code) == ("明光路街道", "township", "340102001")
    assert first.context == "合肥市 瑶海区"
    assert first.approximate is False  # it has a polygon
    polygon = dict(hefei_township_polygons())["明光路街道"]
    assert polygon.contains(Point(first.lon, first.lat))


def test_polyphonic_place_names(gazetteer):
    # 长 reads chang in 长丰; 六安 is lu an (and people type liu an)
    for q in ("changfeng", "zhangfeng", "长丰"):
        assert gazetteer.search(q)[0].name == "长丰县", q
    for q in ("luan", "lu an", "liuan", "六安"):
        assert gazetteer.search(q)[0].name == "六安市", q
    assert gazetteer.search("bengbu")[0].name == "蚌埠市"
    assert gazetteer.search("bozhou")[0].name == "亳州市"


def test_a_county(gazetteer):
    first = gazetteer.search("shushan")[0]
    assert (first.name, first.level, first.code, first.context) == (
        "蜀山区",
        "county",
        "340104",
        "合肥市",
    )
    assert admin_polygon("340104").contains(Point(first.lon, first.lat))


def test_a_facility_by_a_part_of_its_name(gazetteer, stored):
    _, facilities = stored
    target = next(f for f in facilities if f.name == "合肥综合物流园")
    found = gazetteer.search("综合物流园", limit=50)
    hit = next(p for p in found if p.ref == target.id)
    assert (hit.level, hit.facility_id, hit.code, hit.kind) == (
        "facility",
        target.id,
        None,
        "logistics_park",
    )
    kind, name, lon, lat = raw_sites()[target.id]
    assert (hit.name, hit.lon, hit.lat) == (name, lon, lat)
    assert hit.context == " ".join(filter(None, (target.city, target.county, target.township)))
    assert hit.context.startswith("合肥市 ")
    # and by its pinyin initials
    assert target.id in {p.ref for p in gazetteer.search("hfzhwly", limit=50)}


def test_townships_without_seat_or_polygon_sit_at_their_county(gazetteer):
    row = next(r for r in register().values() if r["name"] == "长风乡")
    assert row["seat_lon_wgs84"] == "" and row["city"] != "合肥市"  # no seat, no polygon
    found = [p for p in gazetteer.search("长风乡") if p.code == row["code9"]]
    assert len(found) == 1
    place = found[0]
    assert place.approximate is True and place.bbox is None
    assert place.context == "安庆市 迎江区"
    county = next(p for p in gazetteer.search("迎江区") if p.code == row["county_code"])
    assert (place.lon, place.lat) == (county.lon, county.lat)
    assert admin_polygon(row["county_code"]).contains(Point(place.lon, place.lat))


def test_townships_with_a_seat_sit_at_the_seat(gazetteer):
    row = next(r for r in register().values() if r["name"] == "裕溪口街道")
    place = next(p for p in gazetteer.search("裕溪口") if p.code == row["code9"])
    assert place.approximate is False
    assert (place.lon, place.lat) == (float(row["seat_lon_wgs84"]), float(row["seat_lat_wgs84"]))


def test_every_township_of_the_register_is_searchable(gazetteer, stored):
    units, _ = stored
    township_codes = {p.code for p in gazetteer.search("街道", limit=50)}
    assert township_codes  # sanity
    located = {e.place.code for e in gazetteer.entries if e.place.level == "township"}
    assert set(register()) <= located
    assert len(gazetteer) == sum(u.level in ("city", "county", "township") for u in units) + len(
        stored[1]
    )


# ---- ranking --------------------------------------------------------------------------------
def _tier(place, q: str) -> int:
    forms = short_names(place.name)
    if q in forms:
        return 0
    return 1 if place.name.startswith(q) else 2


@pytest.mark.parametrize("q", ["合肥", "蜀山", "服务区", "明光", "城关", "物流"])
def test_exact_then_prefix_then_substring_then_by_level(gazetteer, q):
    found = gazetteer.search(q, limit=50)
    assert found
    keys = [(_tier(p, q), LEVELS.index(p.level)) for p in found]
    assert keys == sorted(keys), [(p.name, p.level) for p in found]
    assert all(q in p.name for p in found)


def test_cities_and_counties_before_townships_before_facilities():
    units = [
        AdminUnit("340000", "安徽省", "province"),
        AdminUnit("340100", "合肥市", "city", "340000", seat_lon=117.2, seat_lat=31.8),
        AdminUnit("340102", "新站区", "county", "340100", seat_lon=117.3, seat_lat=31.9),
        AdminUnit("340102001", "新站镇", "township", "340102"),
    ]
    facilities = [Facility("f:1", "新站", "driver_home", 117.31, 31.91)]
    places = Gazetteer(units, facilities).search("新站")
    assert [(p.name, p.level) for p in places] == [
        ("新站区", "county"),
        ("新站镇", "township"),
        ("新站", "facility"),
    ]
    township = places[1]
    assert township.approximate and (township.lon, township.lat) == (117.3, 31.9)
    assert township.context == "合肥市 新站区"


def test_units_without_any_location_are_left_out():
    units = [AdminUnit("999999001", "无处镇", "township", "999999")]
    assert Gazetteer(units).search("无处") == []


# ---- limits and hostile input ---------------------------------------------------------------
def test_limit_is_respected(gazetteer):
    assert len(gazetteer.search("服务区", limit=50)) == 50
    assert len(gazetteer.search("服务区", limit=3)) == 3
    assert len(gazetteer.search("服务区")) == 10
    assert gazetteer.search("服务区", limit=3) == gazetteer.search("服务区", limit=50)[:3]


@pytest.mark.parametrize("limit", [0, -1, 51, 1.5, "3", None])
def test_bad_limits_name_the_field(gazetteer, limit):
    with pytest.raises(InvalidParameter) as error:
        gazetteer.search("合肥", limit=limit)
    assert error.value.field == "limit"


def test_a_long_query_names_the_field(gazetteer):
    assert gazetteer.search("合" * MAX_QUERY_LENGTH) == []
    with pytest.raises(InvalidParameter) as error:
        gazetteer.search("合" * (MAX_QUERY_LENGTH + 1))
    assert error.value.field == "q"


@pytest.mark.parametrize(
    "q",
    [
        "",
        "   ",
        None,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%",
        "_",
        ".*",
        "\\",
        "\x00",
        "合肥\x00市\x07",
        "😀",
        "${x}",
        "../../etc/passwd",
        "%E5%90%88",
        "Robert'); DROP TABLE x;--",
        "a" * 50,
        "\u202e合肥",
    ],
)
def test_hostile_queries_find_nothing_and_raise_nothing(gazetteer, q):
    found = gazetteer.search(q)
    if q in ("合肥\x00市\x07", "\u202e合肥"):  # control and format characters are dropped
        assert found[0].name == "合肥市"
    else:
        assert found == []


# ---- helpers --------------------------------------------------------------------------------
def test_normalize():
    assert normalize(" Ｈｅ Fei\t") == "hefei"
    assert normalize("合肥\x00市") == "合肥市"


def test_short_names():
    assert short_names("合肥市") == ["合肥市", "合肥"]
    assert short_names("明光路街道") == ["明光路街道", "明光路"]
    assert short_names("歙县") == ["歙县"]  # one character would be left
    assert short_names("庐阳工业区（林店街道）") == [
        "庐阳工业区（林店街道）",
        "庐阳工业区",
        "庐阳工业",
    ]


def test_readings():
    assert readings("合肥") == (("he", "fei"),)
    assert ("chang", "feng", "xian") in readings("长丰县")
    assert readings("G3合肥服务区")[0] == ("g3", "he", "fei", "fu", "wu", "qu")
    assert readings("绿地") == (("lv", "di"), ("lu", "di"))
    assert len(readings("长长长长长长长长")) <= 32


def test_place_feature(gazetteer):
    feature = gazetteer.search("明光路")[0].to_feature()
    assert feature["type"] == "Feature" and feature["id"] == "340102001"
    assert feature["geometry"]["type"] == "Point"
    assert set(feature["properties"]) == {
        "name",
        "level",
        "code",
        "facility_id",
        "kind",
        "context",
        "approximate",
    }
    assert len(feature["bbox"]) == 4
    f = Gazetteer([], [facility("x:1", "站")]).search("站")[0].to_feature()
    assert f["properties"]["facility_id"] == "x:1" and f["properties"]["code"] is None
    assert "bbox" not in f
