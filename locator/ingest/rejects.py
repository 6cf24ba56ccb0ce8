"""The rejects file: the rows an import refused, to fix and import again.

:func:`_write_rejects` writes each row with errors as it was read (its original
columns, plus the point of a file with geometry) followed by ``row`` and
``reason``, as CSV (UTF-8 with a byte order mark, so Excel reads the Chinese) or
XLSX (cells written as text, control characters dropped).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from ..errors import InvalidParameter
from .columns import FIELD_LABELS_ZH
from .report import ImportReport
from .table import RawTable


def _check_rejects_path(rejects: Any) -> str:
    suffix = Path(rejects).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidParameter(
            f"the rejects file must end in .csv or .xlsx, not {suffix or '(none)'!r}",
            field="rejects",
        )
    return suffix


def _write_rejects(table: RawTable, report: ImportReport, target: Any, lang: str) -> int:
    """Write the rows with errors: their original columns plus ``row`` and ``reason``."""
    suffix = _check_rejects_path(target)
    reasons: dict[int, list[str]] = {}
    for issue in report.errors:
        if issue.row is None:
            continue
        zh = lang == "zh"
        label = (
            f"{FIELD_LABELS_ZH.get(issue.field or '', issue.field)}({issue.field})"
            if zh
            else issue.field
        )
        message = (issue.message_zh or issue.message) if zh else issue.message
        reasons.setdefault(issue.row, []).append(f"{label}: {message}" if label else message)
    headers = list(table.headers)
    add_point = table.has_geometry
    point_headers = []
    if add_point:
        for name in ("lon", "lat"):
            candidate = name if name not in headers else f"geometry_{name}"
            point_headers.append(candidate)
    out_headers = headers + point_headers + ["row", "reason"]
    rows = []
    for rec in table.records:
        if rec.row not in reasons:
            continue
        values = [rec.values.get(h) for h in headers]
        if add_point:
            values += list(rec.point) if rec.point else [None, None]
        rows.append(values + [rec.row, "; ".join(reasons[rec.row])])
    if suffix == ".csv":
        stream = io.StringIO(newline="")
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(out_headers)
        for values in rows:
            writer.writerow(["" if v is None else _reject_text(v) for v in values])
        Path(target).write_bytes(("\ufeff" + stream.getvalue()).encode("utf-8"))
    else:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        ws.title = "rejects"
        ws.append(out_headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for values in rows:
            ws.append([_reject_cell(v) for v in values])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        wb.save(target)
    return len(rows)


def _reject_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _reject_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | dt.date | dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.isoformat()
        return value
    text = _reject_text(value)
    return "".join(ch for ch in text if ord(ch) >= 32 or ch in "\t\n\r")
