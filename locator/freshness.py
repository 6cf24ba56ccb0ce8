"""Verified and stale: how long ago a person confirmed a facility's record.

``verified_on`` is set by an editor's "信息无误 / still right", an accepted driver's
report, or the "still right" of several drivers (:mod:`locator.driver_reports`). A
record is *stale* when it was never verified or last verified more than
``max_days`` ago (``LOCATOR_STALE_DAYS``, default 180); a record with opening hours
is stale sooner, after ``hours_days`` (``LOCATOR_STALE_HOURS_DAYS``, default 90), as
hours change more often than a place.

Examples
--------
>>> import datetime as dt
>>> from types import SimpleNamespace as F
>>> today = dt.date(2026, 12, 1)
>>> verified_days(F(verified_on=dt.date(2026, 11, 28)), today)
3
>>> verified_text(F(verified_on=dt.date(2026, 11, 28)), today, "zh")
'3 天前核实'
>>> staleness(F(verified_on=dt.date(2026, 8, 1), hours="24/7"), today)
'hours'
>>> staleness(F(verified_on=dt.date(2026, 8, 1), hours=None), today) is None
True
"""

from __future__ import annotations

import datetime as dt
from typing import Any

#: Default ages (days) after which a record, and a record's hours, are stale.
STALE_DAYS = 180
STALE_HOURS_DAYS = 90

#: Why a record is stale: never verified, verified too long ago, its hours too long ago.
STALE_REASONS = {
    "never": {"zh": "从未核实", "en": "never verified"},
    "old": {"zh": "超过 {days} 天未核实", "en": "not verified for over {days} days"},
    "hours": {
        "zh": "营业时间超过 {days} 天未核实",
        "en": "hours not verified for over {days} days",
    },
}


def verified_days(facility: Any, today: dt.date) -> int | None:
    """Days since ``facility`` was verified (0: today), None when it never was."""
    verified = getattr(facility, "verified_on", None)
    if verified is None:
        return None
    return max(0, (today - verified).days)


def verified_text(facility: Any, today: dt.date, lang: str) -> str | None:
    """``3 天前核实`` / ``verified 3 days ago`` (``今天核实`` / ``verified today``),
    None when never verified."""
    days = verified_days(facility, today)
    if days is None:
        return None
    if lang == "en":
        if days == 0:
            return "verified today"
        return f"verified {days} day{'s' if days != 1 else ''} ago"
    return "今天核实" if days == 0 else f"{days} 天前核实"


def staleness(
    facility: Any,
    today: dt.date,
    max_days: int = STALE_DAYS,
    hours_days: int = STALE_HOURS_DAYS,
) -> str | None:
    """Why ``facility`` is stale (a key of :data:`STALE_REASONS`), None when it is not."""
    days = verified_days(facility, today)
    if days is None:
        return "never"
    if days > max_days:
        return "old"
    if getattr(facility, "hours", None) and days > hours_days:
        return "hours"
    return None


def stale_label(reason: str, lang: str, max_days: int, hours_days: int) -> str:
    """The wording of a stale ``reason`` in ``lang``."""
    days = hours_days if reason == "hours" else max_days
    return STALE_REASONS[reason][lang].replace("{days}", str(days))


def stale_by_county(
    facilities: Any,
    counties: Any,
    today: dt.date,
    max_days: int = STALE_DAYS,
    hours_days: int = STALE_HOURS_DAYS,
) -> list[dict[str, Any]]:
    """Per county of ``counties`` (``(code, name)`` pairs, in their order): how many of
    its facilities that are not closed for good there are, how many are stale, and how
    many of those were never verified.

    >>> from types import SimpleNamespace as F
    >>> today = dt.date(2026, 12, 1)
    >>> fs = [F(county_code="1", status="open", verified_on=None, hours=None),
    ...       F(county_code="1", status="open", verified_on=today, hours=None),
    ...       F(county_code="1", status="closed", verified_on=None, hours=None)]
    >>> stale_by_county(fs, [("1", "肥东县")], today)
    [{'code': '1', 'name': '肥东县', 'facilities': 2, 'stale': 1, 'never': 1}]
    """
    rows = {
        code: {"code": code, "name": name, "facilities": 0, "stale": 0, "never": 0}
        for code, name in counties
    }
    for f in facilities:
        row = rows.get(getattr(f, "county_code", None))
        if row is None or f.status == "closed":
            continue
        row["facilities"] += 1
        reason = staleness(f, today, max_days, hours_days)
        if reason:
            row["stale"] += 1
            row["never"] += reason == "never"
    return list(rows.values())
