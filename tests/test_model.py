"""The data model: vocabularies, parsing of loose input, validation errors naming fields."""

from __future__ import annotations

import datetime as dt

import pytest

from locator.errors import InvalidParameter
from locator.model import (
    AMENITIES,
    KINDS,
    check_lon_lat,
    parse_amenities,
    parse_date,
    parse_kind,
    parse_status,
    validate_facility,
)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("driver_home", "driver_home"),
        ("司机之家", "driver_home"),
        ("Driver home", "driver_home"),
        ("工会服务站", "service_station"),
        ("镇级综合服务站", "service_station"),
        ("村级服务点", "service_point"),
        ("驿站", "service_point"),
        ("高速服务区", "service_area"),
        ("物流园区", "logistics_park"),
        ("法律援助工作站", "legal_aid"),
        (" SERVICE_AREA ", "service_area"),
    ],
)
def test_kinds_from_keys_and_labels(text, kind):
    assert parse_kind(text) == kind


def test_unknown_kind_names_the_field_and_suggests():
    with pytest.raises(InvalidParameter) as info:
        parse_kind("司机之加")
    assert info.value.field == "kind"
    assert "driver_home" in info.value.message
    with pytest.raises(InvalidParameter, match="did you mean 'service_area'"):
        parse_kind("servce_area")


def test_statuses():
    assert parse_status("在建") == "under_construction"
    assert parse_status("Open") == "open"
    with pytest.raises(InvalidParameter) as info:
        parse_status("demolished")
    assert info.value.field == "status"


def test_amenities_from_chinese_lists_with_any_separator():
    assert parse_amenities("淋浴、洗衣，wifi;食堂 | 货车停车") == {
        "shower",
        "laundry",
        "wifi",
        "canteen",
        "truck_parking",
    }
    assert parse_amenities(["beds", "热水"]) == {"beds", "hot_water"}
    assert parse_amenities(None) == frozenset()
    assert parse_amenities("") == frozenset()
    with pytest.raises(InvalidParameter) as info:
        parse_amenities("shower, jacuzzi")
    assert info.value.field == "amenity"


def test_every_vocabulary_entry_has_both_languages():
    for vocabulary in (KINDS, AMENITIES):
        for labels in vocabulary.values():
            assert labels["zh"] and labels["en"]


@pytest.mark.parametrize(
    "lon, lat, field",
    [
        (None, 31.8, "lon"),
        ("abc", 31.8, "lon"),
        (117.2, "", "lat"),
        (181, 31.8, "lon"),
        (117.2, -91, "lat"),
        (float("nan"), 31.8, "lon"),
        (117.2, float("inf"), "lat"),
    ],
)
def test_bad_coordinates_name_the_field(lon, lat, field):
    with pytest.raises(InvalidParameter) as info:
        check_lon_lat(lon, lat)
    assert info.value.field == field


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-01", dt.date(2024, 5, 1)),
        ("2024/5/1", dt.date(2024, 5, 1)),
        ("2024年5月1日", dt.date(2024, 5, 1)),
        ("2024.05", dt.date(2024, 5, 1)),
        (dt.datetime(2024, 5, 1, 8, 30), dt.date(2024, 5, 1)),
        ("", None),
        (None, None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_bad_date_names_the_field():
    with pytest.raises(InvalidParameter) as info:
        parse_date("next spring")
    assert info.value.field == "opened_on"


def test_validate_facility_builds_a_clean_record():
    f = validate_facility(
        {
            "name": "  合肥司机之家 ",
            "kind": "司机之家",
            "lon": "117.2",
            "lat": 31.8,
            "status": "在建",
            "amenities": "淋浴、洗衣",
            "truck_parking_spaces": "40",
            "opened_on": "2024/5/1",
            "phone": "0551-1234567",
            "city": "ignored",
        }
    )
    assert (f.name, f.kind, f.status) == ("合肥司机之家", "driver_home", "under_construction")
    assert (f.lon, f.lat) == (117.2, 31.8)
    assert f.amenities == {"shower", "laundry"}
    assert f.truck_parking_spaces == 40
    assert f.opened_on == dt.date(2024, 5, 1)
    assert f.city is None  # derived fields come from the admin units, never from input


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"kind": ""}, "kind"),
        ({"address": "a" * 301}, "address"),
        ({"truck_parking_spaces": "-3"}, "truck_parking_spaces"),
        ({"truck_parking_spaces": "2.5"}, "truck_parking_spaces"),
        ({"name": "bad\x00name"}, "name"),
    ],
)
def test_validate_facility_rejects_bad_fields(changes, field):
    data = {"name": "站", "kind": "driver_home", "lon": 117.2, "lat": 31.8, **changes}
    with pytest.raises(InvalidParameter) as info:
        validate_facility(data)
    assert info.value.field == field


def test_hostile_text_is_kept_verbatim():
    name = "<script>alert('x')</script> ' OR 1=1 --"
    assert validate_facility({"name": name, "kind": "other", "lon": 117, "lat": 31}).name == name


def test_feature_is_rfc7946():
    f = validate_facility(
        {
            "id": "a",
            "name": "站",
            "kind": "other",
            "lon": 117.25,
            "lat": 31.5,
            "amenities": ["wifi", "beds"],
        }
    )
    feature = f.to_feature()
    assert feature["type"] == "Feature" and feature["id"] == "a"
    assert feature["geometry"] == {"type": "Point", "coordinates": [117.25, 31.5]}
    assert feature["properties"]["amenities"] == ["beds", "wifi"]
