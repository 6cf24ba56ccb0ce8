"""Opening hours as union spreadsheets write them (Chinese notices) are read, and what
cannot be read whole stays "unknown", never "open"."""

from __future__ import annotations

import datetime as dt

import pytest

from locator.hours import chinese_to_osm, is_valid_hours, open_state
from locator.model import Facility
from locator.nearest import FacilityQuery, NearestIndex

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.date(2026, 11, 30)  # a Monday


def at(day_offset: int, hour: int, minute: int = 0) -> dt.datetime:
    """Shanghai wall-clock time ``day_offset`` days after Monday 2026-11-30."""
    day = MONDAY + dt.timedelta(days=day_offset)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "text, osm",
    [
        ("24小时", "24/7"),
        ("24小时营业", "24/7"),
        ("全天", "24/7"),
        ("7×24小时", "24/7"),
        ("7*24小时服务", "24/7"),
        ("24h", "24/7"),
        ("全年无休", "24/7"),
        ("8:00-20:00", "Mo-Su 08:00-20:00"),
        ("每天8:00-20:00", "Mo-Su 08:00-20:00"),
        ("8：00—20：00", "Mo-Su 08:00-20:00"),  # full-width colon and dash
        ("08:00～20:00", "Mo-Su 08:00-20:00"),
        ("8点-20点", "Mo-Su 08:00-20:00"),
        ("每天 8点半-17点半", "Mo-Su 08:30-17:30"),
        ("每日 8点15分至18点", "Mo-Su 08:15-18:00"),
        ("工作日 9:00-17:00", "Mo-Fr 09:00-17:00"),
        ("周一至周五 9:00-17:00，周六 9:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
        ("星期一到星期五 8:30-17:30；周末休息", "Mo-Fr 08:30-17:30; Sa-Su off"),
        ("周一、周三 8:00-10:00", "Mo,We 08:00-10:00"),
        ("周六至周一 8:00-10:00", "Sa-Su,Mo 08:00-10:00"),
        ("20:00-次日8:00", "Mo-Su 20:00-08:00"),
        ("晚上10点-次日6点", "Mo-Su 22:00-06:00"),
        ("上午8:00-12:00 下午2:00-6:00", "Mo-Su 08:00-12:00,14:00-18:00"),
        ("下午2点到晚上10点", "Mo-Su 14:00-22:00"),
        ("下午2:00-6:00", "Mo-Su 14:00-18:00"),
        ("晚上10点-6点", "Mo-Su 22:00-06:00"),
        ("营业时间：8:00-22:00", "Mo-Su 08:00-22:00"),
        ("8:00-22:00 周日休息", "Mo-Su 08:00-22:00; Su off"),
        ("周一至周日 24小时", "Mo-Su 00:00-24:00"),
    ],
)
def test_chinese_notices_read_as_opening_hours(text, osm):
    assert chinese_to_osm(text) == osm
    assert is_valid_hours(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "节假日另行通知",
        "周一至周五 9:00-17:00（节假日除外）",
        "8:00-20:00 冬季8:30-17:30",
        "周日休息",
        "电话预约",
        "25:00-26:00",
        "8:00-20:61",
        "whenever",
    ],
)
def test_what_cannot_be_read_whole_is_not_read(text):
    assert chinese_to_osm(text) is None
    assert not is_valid_hours(text)
    assert open_state(text, at(0, 12)) == "unknown"


@pytest.mark.parametrize(
    "hours, when, state",
    [
        ("24小时", at(2, 3), "open"),
        ("每天8:00-20:00", at(0, 7, 59), "closed"),
        ("每天8:00-20:00", at(0, 8), "open"),
        ("每天8:00-20:00", at(6, 19, 59), "open"),
        ("每天8:00-20:00", at(6, 20), "closed"),
        ("20:00-次日8:00", at(0, 23, 30), "open"),
        ("20:00-次日8:00", at(1, 7, 30), "open"),
        ("20:00-次日8:00", at(1, 12), "closed"),
        ("周一至周五 9:00-17:00，周六 9:00-12:00", at(4, 16), "open"),  # Friday
        ("周一至周五 9:00-17:00，周六 9:00-12:00", at(5, 11), "open"),  # Saturday morning
        ("周一至周五 9:00-17:00，周六 9:00-12:00", at(5, 13), "closed"),
        ("周一至周五 9:00-17:00，周六 9:00-12:00", at(6, 10), "closed"),  # Sunday
        ("8:00-22:00 周日休息", at(6, 10), "closed"),
        ("8:00-22:00 周日休息", at(0, 10), "open"),
        ("上午8:00-12:00 下午2:00-6:00", at(0, 13), "closed"),
        ("上午8:00-12:00 下午2:00-6:00", at(0, 15), "open"),
    ],
)
def test_open_state_of_chinese_hours_in_shanghai(hours, when, state):
    assert open_state(hours, when) == state
    assert open_state(hours, when.astimezone(dt.UTC)) == state


def test_open_now_finds_stations_whose_hours_are_written_in_chinese():
    index = NearestIndex(
        [
            Facility("day", "白天站", "driver_home", 117.00, 31.50, hours="每天8:00-20:00"),
            Facility("night", "夜间站", "driver_home", 117.01, 31.50, hours="20:00-次日8:00"),
            Facility("always", "全天站", "driver_home", 117.20, 31.50, hours="24小时"),
            Facility("vague", "另行通知", "driver_home", 117.00, 31.51, hours="节假日另行通知"),
        ]
    )
    night = index.nearest(117.0, 31.5, 5, FacilityQuery(open_now=True, at=at(0, 23)))
    assert [h.facility.id for h in night] == ["night", "always"]
    noon = index.nearest(117.0, 31.5, 5, FacilityQuery(open_now=True, at=at(0, 12)))
    assert [h.facility.id for h in noon] == ["day", "always"]
    every = index.nearest(117.0, 31.5, 5, FacilityQuery(at=at(0, 12)))
    assert {h.facility.id: h.open_state for h in every} == {
        "day": "open",
        "night": "closed",
        "always": "open",
        "vague": "unknown",
    }
