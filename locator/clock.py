"""The clock: "now" is given to the code, never read where a test cannot set it.

A clock is any callable returning the current time as an aware datetime. Storage,
progress reports, the open-now filter and printed reports take one (or a time read
from one); :func:`system_clock` is the machine's, :class:`FixedClock` a settable one for
tests and for reproducible reports (``LOCATOR_NOW``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from .errors import InvalidParameter
from .hours import SHANGHAI

#: Returns the current time, timezone-aware.
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """The machine's time in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class FixedClock:
    """A clock that says ``at`` until told otherwise (``set``, ``advance``)."""

    at: dt.datetime

    def __post_init__(self) -> None:
        self.at = _aware(self.at)

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, at: dt.datetime) -> None:
        """Make the clock say ``at`` from now on."""
        self.at = _aware(at)

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock on by ``delta``."""
        self.at = self.at + delta


def _aware(at: dt.datetime) -> dt.datetime:
    """``at`` with its zone; a naive time is taken as Shanghai wall-clock time."""
    return at if at.tzinfo is not None else at.replace(tzinfo=SHANGHAI)


def clock_from_text(text: str | None) -> Clock:
    """The clock of the ``now`` setting: the system clock when empty, else fixed at the
    ISO 8601 time given (naive times are Shanghai time)."""
    if not text or not text.strip():
        return system_clock
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(
            f"LOCATOR_NOW must be an ISO 8601 time such as 2026-12-01T08:00+08:00, got {text!r}",
            field="now",
        ) from None
    return FixedClock(at)


def local_now(clock: Clock) -> dt.datetime:
    """The clock's time in Asia/Shanghai."""
    return clock().astimezone(SHANGHAI)


def local_today(clock: Clock) -> dt.date:
    """Today's date in Asia/Shanghai by ``clock``."""
    return local_now(clock).date()


def utc_now(clock: Clock) -> dt.datetime:
    """The clock's time in UTC, to the second (as storage records it)."""
    return clock().astimezone(dt.UTC).replace(microsecond=0)
