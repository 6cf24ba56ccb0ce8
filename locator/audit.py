"""The audit log: every change of every facility, who made it and what it changed.

Built from the storage history (each entry keeps the facility as the write left it and
who made the write), filtered by who, area, kind of change and dates in Asia/Shanghai,
and downloadable as CSV or XLSX. No Flask here: ``/admin/audit`` and scripts call
:func:`audit_log` and :func:`audit_table`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .editing import version_changes
from .errors import InvalidParameter
from .hours import SHANGHAI
from .messages import Message

#: Kinds of change a history entry records.
ACTIONS = ("insert", "update", "delete")

#: Columns of the download, with their Chinese headers.
AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("changed_at", "时间"),
    ("actor", "操作人"),
    ("action", "操作"),
    ("facility_id", "站点编号"),
    ("name", "名称"),
    ("county", "县区"),
    ("county_code", "县区代码"),
    ("version", "版本"),
    ("changes", "修改内容"),
)

_ACTION_LABELS = {"insert": "新增", "update": "修改", "delete": "删除"}


@dataclass(frozen=True)
class AuditQuery:
    """Which changes to list: every filter left empty lists everything."""

    actor: str = ""  # part of the actor ("alice" finds "user:alice" and "token:3 (alice)")
    area: str = ""  # a city or county code
    action: str = ""  # one of ACTIONS
    since: dt.date | None = None  # first day, Asia/Shanghai
    until: dt.date | None = None  # last day, Asia/Shanghai

    def __post_init__(self) -> None:
        if self.action and self.action not in ACTIONS:
            raise InvalidParameter(
                Message("audit_action", action=self.action, choices=", ".join(ACTIONS)),
                field="action",
            )
        if self.area and not (self.area.isdigit() and len(self.area) == 6):
            raise InvalidParameter(Message("audit_area", area=self.area), field="area")
        if self.since and self.until and self.since > self.until:
            raise InvalidParameter(
                Message("audit_dates", since=self.since, until=self.until), field="since"
            )


@dataclass(frozen=True)
class AuditRow:
    """One change as the audit log lists it."""

    changed_at: dt.datetime  # Asia/Shanghai
    actor: str
    action: str
    facility_id: str
    name: str
    county: str
    county_code: str
    city_code: str
    version: int
    changes: tuple[tuple[str, Any, Any], ...]


def parse_day(text: str | None, field: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` form or query value, or None when empty."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(Message("audit_day", field=field, got=text), field=field) from None


def _matches(row: AuditRow, query: AuditQuery) -> bool:
    day = row.changed_at.date()
    return (
        (not query.actor or query.actor.casefold() in row.actor.casefold())
        and (not query.area or query.area in (row.county_code, row.city_code))
        and (not query.action or row.action == query.action)
        and (query.since is None or day >= query.since)
        and (query.until is None or day <= query.until)
    )


def audit_log(history: Sequence[Any], query: AuditQuery = AuditQuery()) -> list[AuditRow]:
    """The changes in ``history`` (storage history entries, oldest first) that match
    ``query``, newest first, each with its field-level differences."""
    by_facility: dict[str, list[Any]] = {}
    for entry in history:
        by_facility.setdefault(entry.facility_id, []).append(entry)
    rows = []
    for facility_id, entries in by_facility.items():
        changes = version_changes(entries)
        for entry in entries:
            f = entry.facility
            row = AuditRow(
                changed_at=entry.changed_at.astimezone(SHANGHAI),
                actor=entry.actor or "",
                action=entry.action,
                facility_id=facility_id,
                name=(f.name or "") if f else "",
                county=(f.county or "") if f else "",
                county_code=(f.county_code or "") if f else "",
                city_code=(f.city_code or "") if f else "",
                version=entry.version,
                changes=tuple(changes.get(entry.version, ())),
            )
            if _matches(row, query):
                rows.append(row)
    rows.sort(key=lambda r: (r.changed_at, r.facility_id, r.version), reverse=True)
    return rows


def _changes_text(changes: Sequence[tuple[str, Any, Any]]) -> str:
    def shown(value: Any) -> str:
        if value is None:
            return "∅"
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return str(value)

    return "; ".join(f"{name}: {shown(before)} → {shown(after)}" for name, before, after in changes)


def audit_table(rows: Sequence[AuditRow], lang: str = "zh") -> tuple[list[str], list[list[Any]]]:
    """Headers (Chinese or field names) and cells of the audit download."""
    names = [zh if lang == "zh" else key for key, zh in AUDIT_COLUMNS]
    cells = [
        [
            r.changed_at.replace(tzinfo=None),
            r.actor,
            _ACTION_LABELS[r.action] if lang == "zh" else r.action,
            r.facility_id,
            r.name,
            r.county,
            r.county_code,
            r.version,
            _changes_text(r.changes),
        ]
        for r in rows
    ]
    return names, cells
