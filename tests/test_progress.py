"""Progress over time from a real storage (SQLite and PostGIS), against a table by hand.

The history's ``changed_at`` is the time of each write by the storage's clock, so past
periods come from ``opened_on``; a status change written now may only change the current
period. The storage's clock is pinned at instants where Shanghai's date is not UTC's, and
where months and years turn, whatever the machine's clock says.
"""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import box

from locator.clock import FixedClock, local_today
from locator.coverage import CoverageParams
from locator.errors import InvalidParameter
from locator.hours import SHANGHAI
from locator.model import AdminUnit, Facility
from locator.progress import open_on, period_ends, progress_series
from locator.storage import open_storage

HEFEI, WUHU = "340100", "340200"
UNITS = [
    AdminUnit("340000", "安徽省", "province", geometry=box(114.8, 29.3, 119.7, 34.7)),
    AdminUnit(HEFEI, "合肥市", "city", "340000", geometry=box(117.0, 31.5, 118.0, 32.4)),
    AdminUnit(WUHU, "芜湖市", "city", "340000", geometry=box(118.0, 31.0, 118.8, 31.5)),
    AdminUnit("340102", "瑶海区", "county", HEFEI, geometry=box(117.2, 31.8, 117.7, 32.0)),
    AdminUnit("340103", "庐阳区", "county", HEFEI, geometry=box(117.2, 32.0, 117.7, 32.3)),
    AdminUnit("340202", "镜湖区", "county", WUHU, geometry=box(118.3, 31.3, 118.5, 31.4)),
    # T1 and T2 are 28 km apart; T3 has only a seat, T4 nothing at all.
    AdminUnit(
        "340102001", "一号街道", "township", "340102", geometry=box(117.30, 31.85, 117.32, 31.87)
    ),
    AdminUnit(
        "340102002", "二号街道", "township", "340102", geometry=box(117.60, 31.85, 117.62, 31.87)
    ),
    AdminUnit("340103001", "三号镇", "township", "340103", seat_lon=117.30, seat_lat=32.10),
    AdminUnit("340103002", "四号乡", "township", "340103"),
    AdminUnit(
        "340202001",
        "芜湖一号街道",
        "township",
        "340202",
        geometry=box(118.38, 31.33, 118.40, 31.35),
    ),
]


#: Shanghai times where the local date differs from UTC's, or a month or year turns.
INSTANTS = {
    "1-december-0030": dt.datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI),  # UTC: 30 November
    "2-december-noon": dt.datetime(2026, 12, 2, 12, 0, tzinfo=SHANGHAI),
    "31-december-2330": dt.datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI),
    "new-year-0759": dt.datetime(2027, 1, 1, 7, 59, tzinfo=SHANGHAI),  # UTC: still 2026
    "after-leap-day": dt.datetime(2024, 3, 1, 0, 5, tzinfo=SHANGHAI),
}


@pytest.fixture(params=list(INSTANTS.values()), ids=list(INSTANTS))
def clock(request):
    return FixedClock(request.param)


@pytest.fixture
def storage(database_url, clock):
    """An empty storage on each backend whose writes are made at the pinned instant."""
    store = open_storage(database_url, init=True, clock=clock)
    yield store
    store.close()


def _facility(fid, kind, lon, lat, opened_on=None, status="open"):
    return Facility(fid, f"站点 {fid}", kind, lon, lat, status=status, opened_on=opened_on)


def _write(storage):
    """Several writes, a status change in each direction and a deletion; returns the
    deleted facility as it was, the local date of the writes and the stored history."""
    storage.replace_admin_units(UNITS)
    storage.upsert_facilities(
        [
            _facility("A", "driver_home", 117.31, 31.86, dt.date(2023, 1, 15)),  # in T1
            _facility("B", "service_station", 117.31, 32.11, dt.date(2023, 3, 10)),  # near T3
            _facility("C", "driver_home", 117.61, 31.86, dt.date(2023, 2, 20), "planned"),  # T2
            _facility("D", "logistics_park", 117.605, 31.855, dt.date(2022, 12, 1)),  # T2
            _facility("E", "service_point", 118.39, 31.34, dt.date(2023, 2, 1)),  # Wuhu W1
        ]
    )
    storage.upsert_facilities([_facility("F", "driver_home", 117.315, 31.865)])  # T1, no date
    stored = {f.id: f for f in storage.facilities()}
    storage.upsert_facilities(
        [stored["B"].replace(status="closed"), stored["C"].replace(status="open")]
    )
    deleted = storage.get_facility("E")
    storage.delete_facility("E")
    history = storage.history()
    today = local_today(storage.clock)
    assert max(e.changed_at for e in history).astimezone(SHANGHAI).date() == today
    # G opened two days ago (written now): daily periods see it arrive.
    storage.upsert_facilities(
        [_facility("G", "driver_home", 118.385, 31.345, today - dt.timedelta(days=2))]
    )
    history = storage.history()
    assert {e.changed_at.astimezone(SHANGHAI).date() for e in history} == {today}
    return deleted, today, history


def _table(series):
    """{(period_end, city_code): (open, covered, located)}"""
    return {
        (p.period_end, p.city_code): (p.open_facilities, p.covered_townships, p.located_townships)
        for p in series
    }


def _month_ends_before(today, n):
    ends, first = [], today.replace(day=1)
    for _ in range(n):
        ends.append(first - dt.timedelta(days=1))
        first = ends[-1].replace(day=1)
    return ends


def test_monthly_counts_match_the_table(storage):
    deleted, today, history = _write(storage)
    assert [e.action for e in history if e.facility_id == "E"] == ["insert", "delete"]
    facilities = storage.facilities()
    assert "E" not in {f.id for f in facilities}
    # The history keeps the deleted facility as it was: it counts until deleted.
    assert [e.facility for e in history if e.action == "delete"] == [deleted]
    series = progress_series(UNITS, facilities, history, freq="monthly", end=today, periods=60)
    # Passing it as well changes nothing (it is not counted twice).
    assert (
        progress_series(
            UNITS, [*facilities, deleted], history, freq="monthly", end=today, periods=60
        )
        == series
    )
    table = _table(series)
    last_month = _month_ends_before(today, 1)[0]
    # G opened two days ago: on the 1st and 2nd that was last month (in Wuhu), and E,
    # deleted today, still counted then.
    g = int(today - dt.timedelta(days=2) <= last_month)
    expected = {
        # period end: Hefei (open, covered, located), Wuhu (...), total (...)
        dt.date(2022, 12, 31): ((0, 0, 3), (0, 0, 1), (0, 0, 4)),
        dt.date(2023, 1, 31): ((1, 1, 3), (0, 0, 1), (1, 1, 4)),  # A
        dt.date(2023, 2, 28): ((1, 1, 3), (1, 1, 1), (2, 2, 4)),  # A, E; C was planned
        dt.date(2023, 3, 31): ((2, 2, 3), (1, 1, 1), (3, 3, 4)),  # A, B (T3's seat), E
        last_month: ((2, 2, 3), (1 + g, 1, 1), (3 + g, 3, 4)),  # today's writes: not yet
        today: ((3, 2, 3), (1, 1, 1), (4, 3, 4)),  # A, C, F; G, not E
    }
    for day, (hefei, wuhu, total) in expected.items():
        assert table[(day, HEFEI)] == hefei, day
        assert table[(day, WUHU)] == wuhu, day
        assert table[(day, None)] == total, day
    ends = sorted({p.period_end for p in series})
    assert len(ends) == 60 and ends[-1] == today
    assert [p.city_code for p in series[:3]] == [HEFEI, WUHU, None]
    assert series[0].to_dict()["period_end"] == ends[0].isoformat()


def test_weekly_and_daily_counts(storage):
    _, today, history = _write(storage)
    facilities = storage.facilities()  # E, deleted, comes from the history
    series = progress_series(UNITS, facilities, history, freq="weekly", end=today, periods=400)
    assert len({p.period_end for p in series}) == 400
    weekly = _table(series)
    # 2023-01-15 is a Sunday: A opened on it and counts in that week, not the week before.
    assert weekly[(dt.date(2023, 1, 8), HEFEI)] == (0, 0, 3)
    assert weekly[(dt.date(2023, 1, 15), HEFEI)] == (1, 1, 3)
    assert weekly[(dt.date(2023, 3, 12), HEFEI)] == (2, 2, 3)
    assert weekly[(today, HEFEI)] == (3, 2, 3)
    daily = progress_series(
        UNITS, facilities, history, freq="daily", end=today, periods=5, city="芜湖市"
    )
    assert [p.period_end for p in daily] == [today - dt.timedelta(days=i) for i in range(4, -1, -1)]
    assert {p.city_code for p in daily} == {WUHU}  # one city asked: no total row
    # E (open since 2023) until its deletion today; G from two days ago.
    assert [p.open_facilities for p in daily] == [1, 1, 2, 2, 1]


def test_counted_kinds_follow_the_params(storage):
    deleted, today, history = _write(storage)
    parks = progress_series(
        UNITS,
        storage.facilities(),
        history,
        CoverageParams(kinds=frozenset({"logistics_park"})),
        freq="monthly",
        end=today,
        periods=60,
        city=HEFEI,
    )
    table = _table(parks)
    assert table[(dt.date(2022, 12, 31), HEFEI)] == (1, 1, 3)  # D covers T2
    assert table[(today, HEFEI)] == (1, 1, 3)
    wide = progress_series(
        UNITS,
        storage.facilities(),
        history,
        CoverageParams(radius_km=50),
        freq="monthly",
        end=today,
        periods=2,
        city=HEFEI,
    )
    assert _table(wide)[(today, HEFEI)] == (3, 3, 3)  # 50 km from T1 or T2 reaches T3


def test_unknown_city_and_freq_are_refused():
    with pytest.raises(InvalidParameter) as info:
        progress_series(UNITS, [], [], city="南京市", end=dt.date(2026, 12, 1))
    assert info.value.field == "city"
    with pytest.raises(InvalidParameter) as info:
        progress_series(UNITS, [], [], freq="yearly", end=dt.date(2026, 12, 1))
    assert info.value.field == "freq"


def test_open_on_reads_the_history():
    from locator.storage import HistoryEntry

    at = dt.datetime(2024, 5, 10, 20, 0, tzinfo=dt.UTC)  # 2024-05-11 04:00 in Shanghai
    entries = [
        HistoryEntry("x", 1, "planned", "insert", at),
        HistoryEntry("x", 2, "open", "update", at + dt.timedelta(days=30)),
        HistoryEntry("x", 3, None, "delete", at + dt.timedelta(days=60)),
    ]
    undated = _facility("x", "driver_home", 117.3, 31.8)
    assert not open_on(undated, entries, dt.date(2024, 6, 9))
    assert open_on(undated, entries, dt.date(2024, 6, 10))  # local date of the update
    assert open_on(undated, entries, dt.date(2024, 7, 9))
    assert not open_on(undated, entries, dt.date(2024, 7, 10))
    dated = undated.replace(opened_on=dt.date(2024, 1, 1))
    assert not open_on(dated, entries, dt.date(2024, 3, 1))  # first recorded: planned
    assert not open_on(dated, entries, dt.date(2023, 12, 31))
    assert open_on(dated, [], dt.date(2024, 1, 1))  # no history: the facility's own status


# ---- period ends ---------------------------------------------------------------------------
def test_daily_period_ends():
    assert period_ends("daily", dt.date(2024, 3, 2), 4) == [
        dt.date(2024, 2, 28),
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 2),
    ]
    assert len(period_ends("daily", dt.date(2024, 3, 2))) == 30


def test_monthly_period_ends_are_month_ends_and_today():
    assert period_ends("monthly", dt.date(2024, 4, 15), 4) == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 31),
        dt.date(2024, 4, 15),
    ]
    assert period_ends("monthly", dt.date(2023, 3, 1), 3) == [
        dt.date(2023, 1, 31),
        dt.date(2023, 2, 28),
        dt.date(2023, 3, 1),
    ]
    assert period_ends("monthly", dt.date(2025, 1, 31), 3) == [
        dt.date(2024, 11, 30),
        dt.date(2024, 12, 31),
        dt.date(2025, 1, 31),
    ]
    ends = period_ends("monthly", dt.date(2024, 12, 20))
    assert len(ends) == 24 and ends[0] == dt.date(2023, 1, 31)


@pytest.mark.parametrize("end", [dt.date(2024, 3, 6) + dt.timedelta(days=i) for i in range(7)])
def test_weekly_period_ends_are_sundays_and_today(end):
    ends = period_ends("weekly", end, 3)
    assert len(ends) == 3 and ends[-1] == end
    assert all(d.weekday() == 6 for d in ends[:-1])
    assert all(
        later - earlier == dt.timedelta(weeks=1)
        for earlier, later in zip(ends[:-1], ends[1:-1], strict=False)
    )
    assert 0 < (end - ends[-2]).days <= 7  # the last full week before the current one
    assert len(period_ends("weekly", end)) == 26


@pytest.mark.parametrize(
    "freq, periods, field",
    [
        ("yearly", None, "freq"),
        ("", None, "freq"),
        ("daily", 3661, "periods"),
        ("weekly", -1, "periods"),
    ],
)
def test_invalid_period_ends_are_refused(freq, periods, field):
    with pytest.raises(InvalidParameter) as info:
        period_ends(freq, dt.date(2024, 1, 1), periods)
    assert info.value.field == field
