"""The import report: what an import read, rejected and wrote.

:class:`RowIssue` is one problem of one row (or of the whole file), in English and
Chinese; :class:`ImportReport` gathers the counts, the errors and warnings, the
columns used and the notes. Both round-trip through JSON-ready dicts (the
``details`` of :class:`~locator.errors.ValidationFailed`) and format as text for
the CLI, numbering rows as the file does (spreadsheet rows, features or records).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .columns import FIELD_LABELS_ZH


@dataclass
class RowIssue:
    """One problem of one row: where it is, which field, and what is wrong.

    ``row`` is the number the user sees (see the module doc) or None for a problem
    of the whole file; ``field`` is our field name, ``column`` the user's header.
    """

    row: int | None
    field: str | None
    column: str | None
    message: str
    value: Any = None
    message_zh: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "row": self.row,
            "field": self.field,
            "column": self.column,
            "message": self.message,
            "message_zh": self.message_zh or self.message,
            "value": _jsonable(self.value),
        }

    def format(self, lang: str = "zh", numbering: str = "row") -> str:
        """One line: ``第 12 行 纬度(lat): …`` or ``row 12, lat: …``."""
        zh = lang == "zh"
        message = (self.message_zh or self.message) if zh else self.message
        if zh:
            where = (
                "文件"
                if self.row is None
                else f"第 {self.row} 行"
                if numbering == "row"
                else f"第 {self.row} 个要素"
                if numbering == "feature"
                else f"第 {self.row} 条"
            )
            if self.field is None:
                return f"{where}: {message}"
            label = f"{FIELD_LABELS_ZH.get(self.field, self.field)}({self.field})"
            if self.column and self.column not in (self.field, FIELD_LABELS_ZH.get(self.field)):
                label = f"{label}，列“{self.column}”"
            return f"{where} {label}: {message}"
        where = "file" if self.row is None else f"{numbering} {self.row}"
        if self.field is None:
            return f"{where}: {message}"
        label = self.field
        if self.column and self.column != self.field:
            label = f'{label} (column "{self.column}")'
        return f"{where}, {label}: {message}"


@dataclass
class ImportReport:
    """What an import read, rejected and wrote (or would write, in a dry run)."""

    rows: int = 0
    valid: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    notes_zh: list[str] = field(default_factory=list)
    source: str | None = None
    crs: str = "wgs84"
    format: str | None = None
    numbering: str = "row"
    data_version: int | None = None
    written: bool = False

    @property
    def rejected(self) -> int:
        """How many rows have at least one error."""
        return len({e.row for e in self.errors if e.row is not None})

    def note(self, en: str, zh: str) -> None:
        """Add a note in English and Chinese."""
        self.notes.append(en)
        self.notes_zh.append(zh)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportReport:
        """The report back from :meth:`to_dict` (e.g. ``ValidationFailed.details``)."""
        issues = {
            key: [
                RowIssue(
                    i.get("row"),
                    i.get("field"),
                    i.get("column"),
                    i.get("message", ""),
                    i.get("value"),
                    i.get("message_zh"),
                )
                for i in data.get(key) or []
            ]
            for key in ("errors", "warnings")
        }
        simple = {
            name: data[name]
            for name in (
                "rows",
                "valid",
                "inserted",
                "updated",
                "unchanged",
                "dry_run",
                "columns",
                "notes",
                "notes_zh",
                "source",
                "crs",
                "format",
                "numbering",
                "data_version",
                "written",
            )
            if name in data
        }
        return cls(**simple, **issues)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``ValidationFailed.details`` holds)."""
        return {
            "rows": self.rows,
            "valid": self.valid,
            "rejected": self.rejected,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
            "columns": dict(self.columns),
            "notes": list(self.notes),
            "notes_zh": list(self.notes_zh),
            "source": self.source,
            "crs": self.crs,
            "format": self.format,
            "numbering": self.numbering,
            "data_version": self.data_version,
            "written": self.written,
        }

    def format_text(self, lang: str = "zh") -> str:
        """A human-readable report for the CLI, one line per issue.

        Parameters
        ----------
        lang : str
            ``zh`` (default) or ``en``.
        """
        zh = lang == "zh"
        lines = []
        if zh:
            numbering = {
                "row": "行号即表格中的行号",
                "feature": "按要素序号编号，从 1 开始",
                "record": "按记录序号编号，从 1 开始",
            }.get(self.numbering, "")
            lines.append(
                f"读取 {self.rows} 行（{numbering}）：有效 {self.valid} 行，"
                f"出错 {self.rejected} 行，警告 {len(self.warnings)} 条。"
            )
            counts = f"新增 {self.inserted} 条，更新 {self.updated} 条，未变 {self.unchanged} 条"
            lines.append(
                f"试运行（未写入）：将{counts}。"
                if self.dry_run
                else f"{counts}。"
                if self.written
                else "未写入任何数据。"
            )
        else:
            numbering = {
                "row": "spreadsheet rows",
                "feature": "feature numbers from 1",
                "record": "record numbers from 1",
            }.get(self.numbering, self.numbering)
            lines.append(
                f"Read {self.rows} rows ({numbering}): {self.valid} valid, "
                f"{self.rejected} with errors, {len(self.warnings)} warnings."
            )
            counts = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
            lines.append(
                f"Dry run, nothing written: would be {counts}."
                if self.dry_run
                else f"{counts}."
                if self.written
                else "Nothing was written."
            )
        for title, issues in (
            ("错误：" if zh else "Errors:", self.errors),
            ("警告：" if zh else "Warnings:", self.warnings),
        ):
            if issues:
                lines.append(title)
                lines.extend("  " + i.format(lang, self.numbering) for i in issues)
        notes = self.notes_zh if zh else self.notes
        if notes:
            lines.append("说明：" if zh else "Notes:")
            lines.extend(f"  - {n}" for n in notes)
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
