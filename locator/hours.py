"""Opening hours: OpenStreetMap ``opening_hours`` evaluated in Asia/Shanghai.

A facility whose hours are missing or cannot be parsed is "unknown", never "open".
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")

OPEN, CLOSED, UNKNOWN = "open", "closed", "unknown"

OPEN_STATE_LABELS = {
    OPEN: {"zh": "营业中", "en": "Open"},
    CLOSED: {"zh": "已关闭", "en": "Closed"},
    UNKNOWN: {"zh": "时间未知", "en": "Hours unknown"},
}


@lru_cache(maxsize=4096)
def parse_hours(text: str) -> opening_hours.OpeningHours | None:
    """The parsed expression, or None when it is not valid ``opening_hours`` syntax."""
    try:
        return opening_hours.OpeningHours(text)
    except (opening_hours.ParserError, ValueError, TypeError):
        return None


def is_valid_hours(text: str) -> bool:
    """Whether ``text`` parses as an ``opening_hours`` expression."""
    return parse_hours(text) is not None


def local_time(at: dt.datetime | None = None) -> dt.datetime:
    """``at`` (or now) as a naive Asia/Shanghai wall-clock time; naive input is taken as local."""
    if at is None:
        return dt.datetime.now(SHANGHAI).replace(tzinfo=None)
    if at.tzinfo is None:
        return at
    return at.astimezone(SHANGHAI).replace(tzinfo=None)


def open_state(hours: str | None, at: dt.datetime | None = None) -> str:
    """``"open"``, ``"closed"`` or ``"unknown"`` at ``at`` (default: now) in Shanghai."""
    if not hours:
        return UNKNOWN
    parsed = parse_hours(hours)
    if parsed is None:
        return UNKNOWN
    state = parsed.state(local_time(at))[0]
    if state == opening_hours.State.OPEN:
        return OPEN
    if state == opening_hours.State.CLOSED:
        return CLOSED
    return UNKNOWN
