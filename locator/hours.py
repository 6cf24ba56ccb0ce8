"""Opening hours: OpenStreetMap ``opening_hours`` evaluated in Asia/Shanghai.

A facility whose hours are missing or cannot be parsed is "unknown", never "open"; one
temporarily closed (``closed_until`` a later day) is "temporarily_closed" whatever its
hours say (:func:`facility_open_state`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import opening_hours

from .messages import Message

SHANGHAI = ZoneInfo("Asia/Shanghai")

OPEN, CLOSED, UNKNOWN = "open", "closed", "unknown"
TEMPORARILY_CLOSED = "temporarily_closed"
#: Display states of :func:`open_state_text` beyond the open states: closed all of today
#: by its hours, and closed for good (``status`` closed).
CLOSED_TODAY = "closed_today"
CLOSED_FOR_GOOD = "closed_for_good"

#: Labels of the open states; ``{date}`` is the facility's ``closed_until`` (as
#: :func:`date_text` writes it).
OPEN_STATE_LABELS = {
    OPEN: {"zh": "营业中", "en": "Open"},
    CLOSED: {"zh": "已打烊", "en": "Closed now"},
    UNKNOWN: {"zh": "时间未知", "en": "Hours unknown"},
    TEMPORARILY_CLOSED: {"zh": "暂停营业至 {date}", "en": "Temporarily closed until {date}"},
    CLOSED_TODAY: {"zh": "今日休息", "en": "Closed today"},
    CLOSED_FOR_GOOD: {"zh": "已关闭（停用）", "en": "Closed for good"},
}
#: "Closed, opens at …" with the next opening: today or tomorrow (``{time}``), a
#: later day of the week (``{weekday} {time}``).
_OPENS_AT = {"zh": "已打烊，{time} 开门", "en": "Closed, opens at {time}"}
_WEEKDAYS = {
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}
_MONTHS_EN = "January February March April May June July August September October November December"


def _osm(text: str) -> opening_hours.OpeningHours | None:
    try:
        return opening_hours.OpeningHours(text)
    except (opening_hours.ParserError, ValueError, TypeError):
        return None


@lru_cache(maxsize=4096)
def parse_hours(text: str) -> opening_hours.OpeningHours | None:
    """The parsed hours, or None when they cannot be read.

    OpenStreetMap ``opening_hours`` syntax first, then the way Chinese notices write
    hours (``24小时``, ``每天8:00-20:00``, ``周一至周五 9:00-17:00，周六 9:00-12:00``,
    ``20:00-次日8:00``), read by :func:`chinese_to_osm`.
    """
    if not text or not text.strip():
        return None
    parsed = _osm(text)
    if parsed is None:
        converted = chinese_to_osm(text)
        parsed = _osm(converted) if converted else None
    return parsed


# ---- hours as Chinese notices write them -------------------------------------------------
_ALL_DAY = re.compile(
    r"^(?:全天(?:候)?|(?:7\s*[x×*]\s*)?24\s*(?:小时|h|hours?)|全年无休|"
    r"不打烊|昼夜|通宵)+(?:营业|开放|服务|值守|在线)?$",
    re.I,
)
_DAY_NAMES = {
    "一": "Mo",
    "二": "Tu",
    "三": "We",
    "四": "Th",
    "五": "Fr",
    "六": "Sa",
    "日": "Su",
    "天": "Su",
    "七": "Su",
}
_ORDER = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
_TOKEN = re.compile(
    r"(?P<every>每天|每日|天天|全周|周一至周日|周一到周日)"
    r"|(?P<workdays>工作日|周一至周五|周一到周五)"
    r"|(?P<weekend>周末|双休日)"
    r"|(?P<days>(?:周|星期|礼拜)(?P<d1>[一二三四五六日天七])"
    r"(?:\s*(?:至|到|-|~)\s*(?:周|星期|礼拜)?(?P<d2>[一二三四五六日天七]))?)"
    r"|(?P<allday>全天(?:候)?|24\s*(?:小时|h))"
    r"|(?P<closed>休息|闭馆|不营业|关闭)"
    r"|(?P<range>(?P<p1>上午|早上|中午|下午|晚上|凌晨)?\s*(?P<t1>\d{1,2}(?:[:.]\d{2}|点(?:半|\d{1,2}分?)?)?)"
    r"\s*(?:-|~|至|到)\s*(?P<next>次日|第二天|翌日)?\s*"
    r"(?P<p2>上午|早上|中午|下午|晚上|凌晨)?\s*(?P<t2>\d{1,2}(?:[:.]\d{2}|点(?:半|\d{1,2}分?)?)?))",
    re.I,
)
#: What may stand between tokens: separators and words that add nothing.
_SEPARATORS = r"[\s,;，；、/|和及]*"
_FILLER = re.compile(rf"^{_SEPARATORS}(?:营业|开放|服务|时间|营业时间|开放时间|:)*{_SEPARATORS}$")
_AFTERNOON = {"下午", "晚上"}


def _clock(text: str, part_of_day: str | None) -> str | None:
    """``HH:MM`` from ``8``, ``8:30``, ``8.30``, ``8点``, ``8点半``, ``8点15分``."""
    m = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2})|点(?:(半)|(\d{1,2})分?)?)?", text)
    if not m:
        return None
    hour = int(m.group(1))
    minute = int(m.group(2) or m.group(4) or (30 if m.group(3) else 0))
    if part_of_day in _AFTERNOON and hour < 12:
        hour += 12
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    return f"{hour:02d}:{minute:02d}"


def _days(match: re.Match) -> str:
    first = _DAY_NAMES[match.group("d1")]
    last = _DAY_NAMES[match.group("d2")] if match.group("d2") else None
    if last is None or last == first:
        return first
    i, j = _ORDER.index(first), _ORDER.index(last)
    if i < j:
        return f"{first}-{last}"
    return f"{first}-Su,Mo-{last}" if last != "Mo" else f"{first}-Su,Mo"


def chinese_to_osm(text: str) -> str | None:
    """OSM ``opening_hours`` for hours written as Chinese notices do, else None.

    Reads day groups (``每天``, ``工作日``, ``周末``, ``周一至周五``, ``星期六``), times
    (``8:00``, ``8点半``, ``下午2点``), ranges (``-``, ``~``, ``至``, ``到``; ``次日`` for
    past midnight), ``24小时`` and ``休息``. Anything else it does not know (``节假日
    另行通知``...) makes the whole text unreadable rather than half read.
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = re.sub(r"[—–－〜～]", "-", text)
    if not text:
        return None
    if _ALL_DAY.match(re.sub(r"\s+", "", text)):
        return "24/7"
    rules: list[tuple[str, list[str]]] = []  # (days, times or ["off"])
    position = 0
    for match in _TOKEN.finditer(text):
        if not _FILLER.match(text[position : match.start()]):
            return None
        position = match.end()
        kind = match.lastgroup
        if kind in ("every", "workdays", "weekend", "days"):
            days = {"every": "Mo-Su", "workdays": "Mo-Fr", "weekend": "Sa-Su"}.get(kind)
            days = days or _days(match)
            if rules and not rules[-1][1] and rules[-1][0]:
                rules[-1] = (f"{rules[-1][0]},{days}", [])  # 周一、周三 8:00-10:00
            else:
                rules.append((days, []))
            continue
        if not rules:
            rules.append(("Mo-Su", []))
        if kind == "allday":
            rules[-1][1].append("00:00-24:00")
        elif kind == "closed":
            rules[-1][1].append("off")
        else:
            start = _clock(match.group("t1"), match.group("p1"))
            end = _clock(match.group("t2"), match.group("p2"))
            if not (match.group("p2") or match.group("next")):
                # 下午2:00-6:00 ends at 18:00; 晚上10点-6点 runs to 06:00 the next morning
                later = _clock(match.group("t2"), match.group("p1"))
                end = later if start and later and later > start else end
            if start is None or end is None or start == end:
                return None
            rules[-1][1].append(f"{start}-{end}")
    if not rules or not _FILLER.match(text[position:]) or any(not t for _, t in rules):
        return None
    if all("off" in times for _, times in rules):
        return None  # only when it is closed says nothing of when it is open
    parts = []
    for days, times in rules:
        if "off" in times:
            if len(times) > 1:
                return None
            parts.append(f"{days} off")
        else:
            parts.append(f"{days} {','.join(times)}")
    return "; ".join(parts)


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


def closed_for_now(closed_until: dt.date | None, at: dt.datetime | None = None) -> bool:
    """Whether a facility closed until ``closed_until`` is still closed at ``at`` (default:
    now): its Asia/Shanghai date is before that day, on which it reopens."""
    return closed_until is not None and local_time(at).date() < closed_until


def facility_open_state(facility: Any, at: dt.datetime | None = None) -> str:
    """The open state of a facility (its ``hours`` and ``closed_until``) at ``at``."""
    if closed_for_now(getattr(facility, "closed_until", None), at):
        return TEMPORARILY_CLOSED
    return open_state(facility.hours, at)


def date_text(day: dt.date | None, lang: str, today: dt.date | None = None) -> str:
    """A day as a driver reads it: ``12月20日`` / ``20 December``, with the year when it
    is not ``today``'s year (``2027年1月5日`` / ``5 January 2027``)."""
    if day is None:
        return ""
    year = today is not None and day.year != today.year
    if lang == "en":
        text = f"{day.day} {_MONTHS_EN.split()[day.month - 1]}"
        return f"{text} {day.year}" if year else text
    text = f"{day.month}月{day.day}日"
    return f"{day.year}年{text}" if year else text


def open_state_label(
    state: str, lang: str, closed_until: dt.date | None = None, today: dt.date | None = None
) -> str:
    """The label of an open state in ``lang`` (zh or en), with the reopening day."""
    labels = OPEN_STATE_LABELS.get(state)
    if labels is None:
        return state
    text = labels.get(lang) or labels["zh"]
    return text.replace("{date}", date_text(closed_until, lang, today))


def _closed_all_day(parsed: opening_hours.OpeningHours, now: dt.datetime) -> bool:
    """Whether the hours open at no moment of ``now``'s day."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=1)
    step = start
    for _ in range(48):
        if parsed.state(step)[0] != opening_hours.State.CLOSED:
            return False
        step = parsed.next_change(step)
        if step is None or step >= end:
            return True
    return False


def display_state(facility: Any, at: dt.datetime | None = None) -> tuple[str, dt.datetime | None]:
    """What a station's page says of it at ``at``: its state (an open state,
    :data:`CLOSED_TODAY` or :data:`CLOSED_FOR_GOOD`) and, closed now by its hours, the
    next opening (naive Shanghai wall clock; None when not known)."""
    if getattr(facility, "status", None) == "closed":
        return CLOSED_FOR_GOOD, None
    state = facility_open_state(facility, at)
    if state != CLOSED:
        return state, None
    parsed = parse_hours(facility.hours)
    now = local_time(at).replace(second=0, microsecond=0)
    if parsed is not None and _closed_all_day(parsed, now):
        return CLOSED_TODAY, None
    preview = preview_hours(facility.hours, at)
    return CLOSED, preview.next_change


def opening_properties(facility: Any, at: dt.datetime | None = None) -> dict[str, Any]:
    """What a list needs beyond ``open_state`` to say 已打烊，7:00 开门 or 今日休息: for a
    facility closed now by its hours, ``opens_at`` (its next opening, Shanghai wall
    clock to the minute, ``2026-12-02T07:00``) and ``opens_days`` (0 today, 1 tomorrow),
    or ``closed_today: true``; else nothing."""
    state, opens = display_state(facility, at)
    if state == CLOSED_TODAY:
        return {"closed_today": True}
    if state == CLOSED and opens is not None:
        return {
            "opens_at": opens.isoformat(timespec="minutes"),
            "opens_days": (opens.date() - local_time(at).date()).days,
        }
    return {}


def open_wording(lang: str) -> dict[str, Any]:
    """The templates a page's script needs to word open states as :func:`open_state_text`
    does: ``opensAt`` (``{time}``), weekday names (Monday first), ``date`` (``{m}``,
    ``{d}``, ``{month}``) and month names."""
    return {
        "opensAt": _OPENS_AT.get(lang) or _OPENS_AT["zh"],
        "weekdays": _WEEKDAYS.get(lang) or _WEEKDAYS["zh"],
        "date": "{d} {month}" if lang == "en" else "{m}月{d}日",
        "months": _MONTHS_EN.split(),
    }


def open_state_text(facility: Any, lang: str, at: dt.datetime | None = None) -> tuple[str, str]:
    """The display state of ``facility`` at ``at`` and its wording in ``lang``:
    营业中 / 已打烊，7:00 开门 / 今日休息 / 暂停营业至 12月20日 / 已关闭（停用）.

    >>> from types import SimpleNamespace as F
    >>> at = dt.datetime(2026, 12, 1, 22, 0)  # a Tuesday evening
    >>> open_state_text(F(status="open", hours="每天7:00-20:00", closed_until=None), "zh", at)
    ('closed', '已打烊，7:00 开门')
    >>> open_state_text(F(status="open", hours="Mo-Fr 08:00-18:00", closed_until=None),
    ...                 "en", dt.datetime(2026, 12, 5, 10))
    ('closed_today', 'Closed today')
    """
    state, opens = display_state(facility, at)
    if state == CLOSED and opens is not None:
        days = (opens.date() - local_time(at).date()).days
        time = f"{opens.hour}:{opens.minute:02d}"
        if days > 1:
            time = f"{_WEEKDAYS.get(lang, _WEEKDAYS['zh'])[opens.weekday()]} {time}"
        return state, (_OPENS_AT.get(lang) or _OPENS_AT["zh"]).replace("{time}", time)
    today = local_time(at).date()
    return state, open_state_label(state, lang, getattr(facility, "closed_until", None), today)


# ---- a preview of hours as an editor types them --------------------------------------------
#: How far ahead :func:`preview_hours` looks for the next opening or closing.
PREVIEW_HORIZON = dt.timedelta(days=366)


@dataclass(frozen=True)
class HoursPreview:
    """What a station with some hours shows at a time: its open ``state``, whether the
    text was read (None when empty), when the state next changes (naive Shanghai wall
    clock; None when it never does within :data:`PREVIEW_HORIZON` or is not known) and
    the hours as OpenStreetMap ``opening_hours`` read them."""

    state: str
    readable: bool | None
    at: dt.datetime
    next_change: dt.datetime | None = None
    normalized: str | None = None

    def message(self, hours: str | None = None) -> Message:
        """What the preview says: open until, opens at, closed, unknown, unreadable."""
        if self.readable is None:
            return Message("hours_missing")
        if not self.readable:
            return Message("hours_unreadable", hours=hours or "")
        if self.state == UNKNOWN:
            return Message("hours_unknown")
        if self.next_change is None:
            return Message("hours_open" if self.state == OPEN else "hours_closed")
        key = "hours_open_until" if self.state == OPEN else "hours_opens_at"
        return Message(key, **_when(self.at, self.next_change))


def _when(now: dt.datetime, then: dt.datetime) -> dict[str, Any]:
    """``then`` as the preview names it, seen from ``now``: days ahead, weekday, time."""
    days = (then.date() - now.date()).days
    time = then.strftime("%H:%M")
    if days == 1 and time == "00:00":  # until midnight: 24:00 today
        days, time = 0, "24:00"
    return {"days": days, "weekday": then.weekday(), "time": time, "date": then.date().isoformat()}


def preview_hours(hours: str | None, at: dt.datetime | None = None) -> HoursPreview:
    """The :class:`HoursPreview` of ``hours`` at ``at`` (default: now) in Shanghai: the
    state :func:`open_state` gives and the next time it changes to another state."""
    now = local_time(at).replace(second=0, microsecond=0)
    if not hours or not hours.strip():
        return HoursPreview(UNKNOWN, None, now)
    parsed = parse_hours(hours)
    if parsed is None:
        return HoursPreview(UNKNOWN, False, now)
    current = parsed.state(now)[0]
    state = {opening_hours.State.OPEN: OPEN, opening_hours.State.CLOSED: CLOSED}.get(
        current, UNKNOWN
    )
    change, step = None, now
    for _ in range(16):  # rule boundaries may keep the state; look past a few of them
        step = parsed.next_change(step)
        if step is None or step - now > PREVIEW_HORIZON:
            break
        if parsed.state(step)[0] != current:
            change = step
            break
    if state == CLOSED and change and parsed.state(change)[0] != opening_hours.State.OPEN:
        change = None  # closed, then unknown: no opening time to tell
    return HoursPreview(state, True, now, change, str(parsed.normalize()))
