"""Progress over time: open stations and covered townships per city, by day, week or month.

A facility counts as open on a day when it had opened by then (``opened_on``) and its
status was ``open`` (from the change history; before the first recorded change, the
first recorded status stands); without ``opened_on``, from the day the history shows
it open. A facility stops counting on the day it was deleted, and counts before it as
it was (the history keeps deleted facilities since schema version 2).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .coverage import CoverageParams
from .errors import InvalidParameter
from .hours import SHANGHAI
from .messages import Message
from .model import AdminUnit, Facility
from .nearest import chord_to_m, unit_vectors
from .storage import HistoryEntry

FREQUENCIES = {"daily": 30, "weekly": 26, "monthly": 24}


@dataclass
class ProgressPoint:
    """One period of one city (``city_code`` None for the total)."""

    period_end: dt.date
    city_code: str | None
    city: str | None
    open_facilities: int
    covered_townships: int
    located_townships: int

    def to_dict(self) -> dict:
        return {
            "period_end": self.period_end.isoformat(),
            "city_code": self.city_code,
            "city": self.city,
            "open_facilities": self.open_facilities,
            "covered_townships": self.covered_townships,
            "located_townships": self.located_townships,
        }


def period_ends(freq: str, end: dt.date, periods: int | None = None) -> list[dt.date]:
    """The last day of each of the ``periods`` periods up to ``end`` (oldest first)."""
    if freq not in FREQUENCIES:
        raise InvalidParameter(
            Message("one_of", name="freq", choices=", ".join(FREQUENCIES)), field="freq"
        )
    periods = periods or FREQUENCIES[freq]
    if not 1 <= periods <= 3660:
        raise InvalidParameter(Message("periods_range"), field="periods")
    ends = []
    if freq == "daily":
        ends = [end - dt.timedelta(days=i) for i in range(periods)]
    elif freq == "weekly":  # weeks end on Sunday; the current week ends today
        last_sunday = end - dt.timedelta(days=(end.weekday() + 1) % 7)
        # On a Sunday the current week is the last full one: one Sunday more to fill up.
        ends = [end] + [last_sunday - dt.timedelta(weeks=i) for i in range(periods)]
        ends = sorted(set(ends), reverse=True)[:periods]
    else:  # months end on their last day; the current month ends today
        first = end.replace(day=1)
        ends = [end]
        for _ in range(periods - 1):
            first = (first - dt.timedelta(days=1)).replace(day=1)
            ends.append(_month_end(first))
    return sorted(ends)


def _month_end(first: dt.date) -> dt.date:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def _local_date(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).date()


def open_on(facility: Facility, entries: Sequence[HistoryEntry], day: dt.date) -> bool:
    """Whether ``facility`` was open on ``day`` (see the module docstring)."""
    timeline = sorted(entries, key=lambda e: (e.changed_at, e.version))
    status = None
    for entry in timeline:
        if _local_date(entry.changed_at) > day:
            break
        status = "closed" if entry.action == "delete" else entry.status
    if facility.opened_on is not None:
        if facility.opened_on > day:
            return False
        if status is None:
            first = timeline[0] if timeline else None
            status = facility.status if first is None else first.status
        return status == "open"
    return status == "open"


def progress_series(
    units: Sequence[AdminUnit],
    facilities: Sequence[Facility],
    history: Sequence[HistoryEntry],
    params: CoverageParams | None = None,
    *,
    end: dt.date,
    freq: str = "monthly",
    periods: int | None = None,
    city: str | None = None,
) -> list[ProgressPoint]:
    """Open counted facilities and covered townships per city at the end of each period.

    ``facilities`` are the stored ones; deleted facilities count, up to their deletion,
    as the history keeps them (deletions before schema version 2 kept no copy and do
    not count).
    """
    params = params or CoverageParams()
    ends = period_ends(freq, end, periods)
    cities = {u.code: u for u in units if u.level == "city"}
    if city is not None:
        wanted = [u for u in cities.values() if city in (u.name, u.code)]
        if not wanted:
            raise InvalidParameter(Message("unknown_area", level="city", value=city), field="city")
        cities = {wanted[0].code: wanted[0]}
    by_code = {u.code: u for u in units}
    townships = [u for u in units if u.level == "township"]
    refs, town_city = [], []
    for t in townships:
        if t.has_seat:
            ref = (t.seat_lon, t.seat_lat)
        elif t.geometry is not None:
            p = t.geometry.representative_point()
            ref = (p.x, p.y)
        else:
            continue
        county = by_code.get(t.parent_code or "")
        city_code = county.parent_code if county is not None else None
        if city_code not in cities:
            continue
        refs.append((t.code, ref))
        town_city.append(city_code)
    ref_xyz = (
        unit_vectors([r[1][0] for r in refs], [r[1][1] for r in refs]).reshape(-1, 3)
        if refs
        else np.zeros((0, 3))
    )
    entries_by_id: dict[str, list[HistoryEntry]] = defaultdict(list)
    for entry in history:
        entries_by_id[entry.facility_id].append(entry)
    stored = {f.id for f in facilities}
    deleted = {
        e.facility_id: e.facility
        for e in history
        if e.action == "delete" and e.facility is not None and e.facility_id not in stored
    }
    counted = [f for f in [*facilities, *deleted.values()] if f.kind in params.kinds]

    points = []
    for day in ends:
        open_now = [f for f in counted if open_on(f, entries_by_id.get(f.id, ()), day)]
        covered = np.zeros(len(refs), dtype=bool)
        if open_now and refs:
            tree = cKDTree(
                unit_vectors([f.lon for f in open_now], [f.lat for f in open_now]).reshape(-1, 3)
            )
            chords, _ = tree.query(ref_xyz, k=1)
            covered = chord_to_m(chords) <= params.radius_m
            inside = {f.township_code for f in open_now if f.township_code}
            covered |= np.array([code in inside for code, _ in refs])
        per_city_open = defaultdict(int)
        for f in open_now:
            per_city_open[f.city_code] += 1
        for code, unit in sorted(cities.items()):
            mask = np.array([c == code for c in town_city], dtype=bool)
            points.append(
                ProgressPoint(
                    day,
                    code,
                    unit.name,
                    per_city_open.get(code, 0),
                    int(covered[mask].sum()),
                    int(mask.sum()),
                )
            )
        if city is None:
            points.append(
                ProgressPoint(
                    day,
                    None,
                    None,
                    sum(per_city_open.get(c, 0) for c in cities),
                    int(covered.sum()),
                    len(refs),
                )
            )
    return points
