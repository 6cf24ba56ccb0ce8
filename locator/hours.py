"""Opening hours: OpenStreetMap ``opening_hours`` evaluated in Asia/Shanghai.

A facility whose hours are missing or cannot be parsed is "unknown", never "open".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
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
