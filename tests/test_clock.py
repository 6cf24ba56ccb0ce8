"""The clock the code is given: open-now answers, pages, progress and writes follow it,
in Shanghai time, whatever the machine's clock says (month and year ends, midnight)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from locator.cli import main
from locator.clock import FixedClock, clock_from_text, local_today, system_clock
from locator.config import load_settings
from locator.errors import InvalidParameter
from locator.hours import SHANGHAI
from locator.model import Facility
from locator.storage import open_storage
from tests.web_fixtures import close_app, make_app

DAY = Facility("day", "白班司机之家", "driver_home", 117.230, 31.820, hours="08:00-20:00")
NIGHT = Facility("night", "夜班司机之家", "driver_home", 117.232, 31.821, hours="20:00-08:00")
WEEKDAYS = Facility(
    "weekdays", "工作日服务站", "service_station", 117.234, 31.822, hours="周一至周五 9:00-17:00"
)

#: 23:30 on New Year's Eve in Shanghai is 15:30 UTC, inside the day station's hours.
NEW_YEARS_EVE = dt.datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def clock():
    return FixedClock(NEW_YEARS_EVE)


@pytest.fixture(scope="module")
def url(tmp_path_factory, clock):
    url = f"sqlite:///{tmp_path_factory.mktemp('clock') / 'locator.db'}"
    with open_storage(url, init=True, clock=clock) as storage:
        storage.upsert_facilities([DAY, NIGHT, WEEKDAYS])
    return url


@pytest.fixture(scope="module")
def app(url, clock):
    app = make_app(url, LOCATOR_CLOCK=clock)
    yield app
    close_app(app)


@pytest.fixture(autouse=True)
def reset(clock):
    clock.set(NEW_YEARS_EVE)


def _open_ids(client) -> list[str]:
    body = client.get("/api/v1/nearest?lon=117.23&lat=31.82&k=10&open_now=true").get_json()
    return sorted(f["id"] for f in body["features"])


def _states(client) -> dict[str, str]:
    body = client.get("/api/v1/nearest?lon=117.23&lat=31.82&k=10").get_json()
    return {f["id"]: f["properties"]["open_state"] for f in body["features"]}


@pytest.mark.parametrize(
    "at, open_ids",
    [
        (NEW_YEARS_EVE, ["night"]),  # Thursday 23:30
        (dt.datetime(2027, 1, 1, 7, 59, tzinfo=SHANGHAI), ["night"]),  # Friday, before 8
        (dt.datetime(2027, 1, 1, 8, 0, tzinfo=SHANGHAI), ["day"]),  # UTC: 00:00, same day
        (dt.datetime(2027, 1, 1, 9, 30, tzinfo=SHANGHAI), ["day", "weekdays"]),
        (dt.datetime(2027, 1, 2, 9, 30, tzinfo=SHANGHAI), ["day"]),  # Saturday
        (dt.datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI), ["night"]),  # UTC: 30 November 16:30
    ],
)
def test_open_now_follows_the_clock_in_shanghai_time(client, clock, at, open_ids):
    clock.set(at)
    assert _open_ids(client) == open_ids
    states = _states(client)
    assert sorted(k for k, v in states.items() if v == "open") == open_ids


def test_the_same_instant_given_in_utc_answers_alike(client, clock):
    clock.set(NEW_YEARS_EVE.astimezone(dt.UTC))
    assert _open_ids(client) == ["night"]


def test_pages_and_popups_follow_the_clock(client, clock):
    assert "已打烊，8:00 开门" in client.get("/f/day").get_data(as_text=True)
    assert "营业中" in client.get("/f/night").get_data(as_text=True)
    popup = client.get("/embed/facility/day").get_json()
    assert popup["open"] == "closed"
    tag = client.get("/embed/facility/day").headers["ETag"]
    clock.set(dt.datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI))
    popup = client.get("/embed/facility/day").get_json()
    assert popup["open"] == "open"
    assert "营业中" in client.get("/f/day").get_data(as_text=True)
    assert client.get("/embed/facility/day").headers["ETag"] != tag  # the minute changed


def test_progress_ends_on_shanghais_date(client, clock):
    body = client.get("/api/v1/progress?freq=daily&periods=2").get_json()
    assert [p["period_end"] for p in body["series"] if p["city_code"] is None] == [
        "2026-12-30",
        "2026-12-31",
    ]
    clock.set(dt.datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI))  # UTC: 2026-12-31 16:30
    body = client.get("/api/v1/progress?freq=monthly&periods=2").get_json()
    assert [p["period_end"] for p in body["series"] if p["city_code"] is None] == [
        "2026-12-31",
        "2027-01-01",
    ]


def test_writes_record_the_clocks_time(url, clock):
    clock.set(dt.datetime(2027, 1, 1, 0, 0, 1, tzinfo=SHANGHAI))
    with open_storage(url, clock=clock) as storage:
        storage.upsert_facilities([DAY.replace(name="白班司机之家（新）")])
        stored = storage.get_facility("day")
        last = storage.history()[-1]
    assert stored.updated_at == dt.datetime(2026, 12, 31, 16, 0, 1, tzinfo=dt.UTC)
    assert last.changed_at == stored.updated_at and last.facility_id == "day"


def test_the_now_setting_fixes_the_clock():
    clock = load_settings({"LOCATOR_NOW": "2026-12-01T00:30+08:00"}).clock()
    assert clock() == dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)
    assert local_today(clock) == dt.date(2026, 12, 1)
    naive = clock_from_text("2026-12-31T23:30")  # Shanghai time
    assert naive() == NEW_YEARS_EVE
    assert load_settings({}).clock() is system_clock
    with pytest.raises(InvalidParameter) as info:
        clock_from_text("yesterday")
    assert info.value.field == "now"


def test_the_cli_reads_the_now_setting(url):
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["--database", url, "nearest", "--lon", "117.23", "--lat", "31.82", "--open-now", "--json"],
        env={"LOCATOR_NOW": "2027-01-01T09:30+08:00"},
    )
    assert result.exit_code == 0, result.output
    ids = sorted(f["id"] for f in json.loads(result.output)["features"])
    assert ids == ["day", "weekdays"]
