"""Import of facility files: CSV, Excel, GeoJSON, GeoPackage and Shapefiles.

One pipeline serves the CLI and the web upload:

1. :func:`read_table` reads a file (a path, bytes or a binary buffer) into raw
   records, each with the row number the user sees;
2. :func:`rows_to_facilities` maps the user's columns to ours, converts the
   coordinates to WGS-84 and validates every row, collecting every problem;
3. :func:`import_table` (and :func:`import_file`, which reads first) writes the
   valid facilities through :meth:`Storage.upsert_facilities`, in one transaction.

By default an import is all-or-nothing: any bad row raises
:class:`~locator.errors.ValidationFailed` whose ``details`` is the full report
(:meth:`ImportReport.to_dict`) and nothing is written.

Limits
------
Nothing is read past a limit. CSV files are streamed and XLSX sheets read row by
row; both stop at the first row past ``max_rows``. Zip archives and XLSX workbooks
(zip archives too) are checked member by member before anything is unpacked
(:data:`MAX_ZIP_UNCOMPRESSED`, :data:`MAX_ZIP_RATIO`) and unpacked through streams
that stop at the declared size; a zip inside a zip is refused. Every refusal comes
before any write.

Row numbers
-----------
CSV and XLSX: the spreadsheet row as Excel shows it. The header is normally row 1
and the first data row is row 2; when a title sits above the header (common in
unions' sheets), the header is found among the first ten rows and numbering
still follows the sheet. GeoJSON, GeoPackage and Shapefile: the feature's
position in the file, starting at 1. A JSON array of plain objects: the
object's position, starting at 1.

Ids
---
An ``id`` column holds facility ids when the file also has a ``source_id``
column (the layout of :mod:`locator.export`), when every id contains ``:`` (as
stored ids do), or when ``mapping`` names it explicitly. Otherwise it is the
user's own numbering (1, 2, 3...) and becomes ``source_id``, so that two unions'
files numbered from 1 cannot overwrite each other. Rows with neither get a
``source_id`` hashed from name and position (6 decimals). With ``source`` (the
file's stem by default) that makes re-importing the same file update the same
facilities instead of adding new ones. A ``source`` column in the file wins
row by row; the ``source`` option fills the rows without one.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import json
import math
import os
import re
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .crs import normalize_crs, to_wgs84
from .errors import (
    InvalidParameter,
    LocatorError,
    NotFound,
    PayloadTooLarge,
    UnsupportedFormat,
    ValidationFailed,
)
from .hours import is_valid_hours
from .model import (
    AMENITIES,
    DERIVED_FIELDS,
    KINDS,
    MAX_LENGTHS,
    STATUSES,
    Facility,
    parse_amenity,
    parse_kind,
    validate_facility,
)

__all__ = [
    "CHINA_BOUNDS",
    "DEFAULT_MAX_ROWS",
    "FIELDS",
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_CSV_LINE",
    "MAX_TEXT_BYTES",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_UNCOMPRESSED",
    "SUPPORTED_EXTENSIONS",
    "ColumnMap",
    "ImportReport",
    "RawRecord",
    "RawTable",
    "RowIssue",
    "import_file",
    "import_table",
    "map_columns",
    "normalize_header",
    "parse_coordinate",
    "read_table",
    "rows_to_facilities",
]

#: Most data rows one import accepts.
DEFAULT_MAX_ROWS = 200_000

#: (west, south, east, north): coordinates outside this box are rejected.
CHINA_BOUNDS = (73.0, 18.0, 135.1, 53.6)

#: File extensions read by :func:`read_table` and the format each means.
SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shp",
    ".zip": "zip",
}
_SUPPORTED_TEXT = (
    ".csv (UTF-8 or GBK), .xlsx, .geojson/.json, .gpkg, .shp, .zip (a zipped Shapefile)"
)

#: Largest total size of the files inside a zip archive or an XLSX workbook, unpacked.
MAX_ZIP_UNCOMPRESSED = 1 << 30

#: Largest unpacked/packed size ratio of one member of a zip archive or XLSX workbook.
MAX_ZIP_RATIO = 100

#: Members that unpack to less than this are exempt from :data:`MAX_ZIP_RATIO`.
ZIP_RATIO_EXEMPT_SIZE = 1 << 20

#: Largest CSV or GeoJSON file read (a CSV is streamed, a GeoJSON file parsed whole).
MAX_TEXT_BYTES = 256 << 20

#: Longest line of a CSV file, in characters.
MAX_CSV_LINE = 1 << 20

#: Most columns of one file, not counting empty header cells right of the last header.
MAX_COLUMNS = 1000

#: Most cells (data rows times columns) one import holds in memory (about 1 GB).
MAX_CELLS = 10_000_000

#: The last row an Excel sheet can have; rows numbered beyond it are refused.
EXCEL_LAST_ROW = 1_048_576

#: Header rows searched above the data (a title may sit above the header).
_HEADER_SEARCH_ROWS = 10

_CHUNK = 1 << 20

#: Our fields that a column can fill, with the headers recognised for each, best first.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "站点编号", "站点id", "facility_id"),
    "name": (
        "name",
        "名称",
        "站点名称",
        "服务站名称",
        "驿站名称",
        "站名",
        "服务区名称",
        "司机之家名称",
        "title",
    ),
    "lon": (
        "lon",
        "lng",
        "longitude",
        "long",
        "lon_wgs84",
        "lng_wgs84",
        "经度",
        "东经",
        "x",
        "x坐标",
    ),
    "lat": ("lat", "latitude", "lat_wgs84", "纬度", "北纬", "y", "y坐标"),
    "address": ("address", "addr", "地址", "详细地址", "站点地址", "所在地址"),
    "kind": ("kind", "type", "类型", "站点类型", "类别"),
    "status": ("status", "状态", "建设状态", "运营状态"),
    "phone": ("phone", "tel", "telephone", "电话", "联系电话", "联系方式", "服务电话"),
    "hours": ("hours", "opening_hours", "营业时间", "开放时间", "服务时间"),
    "amenities": ("amenities", "服务设施", "服务项目", "设施", "配套设施", "服务功能"),
    "operator": ("operator", "运营单位", "管理单位", "运营方", "运营主体"),
    "website": ("website", "url", "网址", "网站"),
    "truck_parking_spaces": (
        "truck_parking_spaces",
        "truck_park",
        "货车停车位",
        "停车位数",
        "停车位",
        "货车车位数",
    ),
    "opened_on": ("opened_on", "建成时间", "开放日期", "启用时间", "建成日期", "启用日期"),
    "source": ("source", "来源", "数据来源"),
    "source_id": ("source_id", "原编号", "source_i"),
}

#: Our fields, in report order.
FIELDS: tuple[str, ...] = tuple(FIELD_ALIASES)

#: Headers of one column holding "lon,lat".
COORDINATE_ALIASES = (
    "经纬度",
    "坐标",
    "经纬度坐标",
    "coordinates",
    "coords",
    "lnglat",
    "lonlat",
    "lng,lat",
    "lon,lat",
    "location",
    "经度,纬度",
    "经度纬度",
)

#: Headers we know and ignore on purpose: derived from the admin units or kept by storage.
IGNORED_ALIASES = (
    *DERIVED_FIELDS,
    "city_cod",
    "county_cod",
    "township",
    "township_c",
    "updated_at",
    "version",
    "row",
    "reason",
    "城市",
    "城市代码",
    "区县",
    "区县代码",
    "乡镇街道",
    "乡镇街道代码",
    "更新时间",
    "版本",
    "序号",
    "错误原因",
)

#: Chinese labels of our fields, for messages.
FIELD_LABELS_ZH: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "lon": "经度",
    "lat": "纬度",
    "address": "地址",
    "kind": "类型",
    "status": "状态",
    "phone": "电话",
    "hours": "营业时间",
    "amenities": "服务设施",
    "operator": "运营单位",
    "website": "网址",
    "truck_parking_spaces": "货车停车位",
    "opened_on": "建成时间",
    "source": "来源",
    "source_id": "原编号",
    "geometry": "几何",
    "coordinates": "经纬度",
    "sheet": "工作表",
    "mapping": "列映射",
}

_TEXT_FIELDS = (
    "id",
    "name",
    "address",
    "phone",
    "operator",
    "website",
    "hours",
    "source",
    "source_id",
)
_AMENITY_SEPARATORS = ",，、;；|/ "
_FORMULA_ESCAPE = re.compile(r"^'(?=[=+\-@\t\r])")
_PARENS = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_HEADER_JUNK = re.compile(r"[\s_\-.*:#/：]+")


# --------------------------------------------------------------------------- reports


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


# --------------------------------------------------------------------------- raw tables


@dataclass
class RawRecord:
    """One data row as read: its row number and the cell values by the file's headers.

    Files with geometry also carry ``point`` (lon, lat in EPSG:4326 axes and the
    file's datum) or ``geometry_error`` when the geometry is not a point.
    """

    row: int
    values: dict[str, Any]
    point: tuple[float, float] | None = None
    geometry_error: str | None = None


@dataclass
class RawTable:
    """The raw content of an input file, before mapping and validation."""

    headers: list[str]
    records: list[RawRecord]
    format: str
    name: str = "upload"
    has_geometry: bool = False
    header_row: int | None = None
    sheet: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def numbering(self) -> str:
        """``row`` (spreadsheet rows), ``feature`` or ``record`` (positions from 1)."""
        if self.format in ("csv", "xlsx"):
            return "row"
        return "record" if self.format == "json" else "feature"

    def to_dicts(self) -> list[dict[str, Any]]:
        """Records as dicts: ``{"row": n, header: value, ...}`` (``row`` wins a clash)."""
        return [{**r.values, "row": r.row} for r in self.records]


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return False


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _unique_headers(cells: Sequence[Any]) -> list[str]:
    headers: list[str] = []
    for j, cell in enumerate(cells):
        text = _cell_str(cell).strip() if not _empty(cell) else f"(column {_column_letter(j)})"
        base, k = text, 2
        while text in headers:
            text = f"{base} ({k})"
            k += 1
        headers.append(text)
    return headers


def _cell_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def normalize_header(text: Any) -> str:
    """A header reduced for matching: NFKC, lower case, no spaces, ``_``, ``-``, ``*``,
    or parenthesised notes such as ``经度(GCJ-02)``."""
    value = unicodedata.normalize("NFKC", str(text)).lower()
    value = _PARENS.sub("", value)
    return _HEADER_JUNK.sub("", value)


def _build_alias_index() -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for name, aliases in FIELD_ALIASES.items():
        for rank, alias in enumerate(aliases):
            index.setdefault(normalize_header(alias), (name, rank))
    return index


_ALIAS_INDEX = _build_alias_index()
_COORDINATE_INDEX = {normalize_header(a) for a in COORDINATE_ALIASES}
_IGNORED_INDEX = {normalize_header(a) for a in IGNORED_ALIASES}


def _known_header(text: Any, extra: set[str]) -> bool:
    key = normalize_header(text)
    return (
        key in _ALIAS_INDEX
        or key in _COORDINATE_INDEX
        or key in _IGNORED_INDEX
        or str(text).strip() in extra
    )


def _grid_table(
    rows: Iterator[Sequence[Any]],
    fmt: str,
    *,
    max_rows: int,
    mapping: Mapping[str, Any] | None,
    last_row: int | None = None,
) -> RawTable:
    """Find the header among the first ten rows and read the records below it.

    Rows are counted as they are read: the first row past ``max_rows`` data rows (or
    past :data:`MAX_CELLS`, or numbered beyond ``last_row``) stops the reading.
    """
    extra = {str(v).strip() for v in (mapping or {}).values() if v is not None}
    head: list[list[Any]] = []
    for cells in rows:
        head.append(list(cells))
        if len(head) >= _HEADER_SEARCH_ROWS:
            break
    header_idx, best = None, 0
    for i, cells in enumerate(head):
        texts = [c for c in cells if not _empty(c)]
        if not texts:
            continue
        if header_idx is None:
            header_idx = i
        score = sum(1 for c in texts if _known_header(c, extra))
        if score > best:
            header_idx, best = i, score
    if header_idx is None:
        return RawTable([], [], fmt)
    headers = _unique_headers(_header_cells(head[header_idx], header_idx + 1))
    most = min(max_rows, MAX_CELLS // max(len(headers), 1))
    records: list[RawRecord] = []
    overflow = False

    def add(index: int, cells: Sequence[Any]) -> None:
        nonlocal overflow
        if all(_empty(c) for c in cells):
            return
        if len(records) >= most:
            if most == max_rows:
                raise PayloadTooLarge(
                    f"the file has more than {max_rows} data rows: row {index + 1} is data "
                    f"row {max_rows + 1}; split it into smaller files",
                    field="file",
                )
            raise PayloadTooLarge(
                f"the file has more than {MAX_CELLS} cells: {len(headers)} columns from row "
                f"{index + 1} on; delete unused columns or split it into smaller files",
                field="file",
            )
        if len(cells) > len(headers) and any(not _empty(c) for c in cells[len(headers) :]):
            overflow = True
        values = {
            h: (None if j >= len(cells) or _empty(cells[j]) else cells[j])
            for j, h in enumerate(headers)
        }
        records.append(RawRecord(index + 1, values))

    for index in range(header_idx + 1, len(head)):
        add(index, head[index])
    for index, cells in enumerate(rows, start=len(head)):
        if last_row is not None and index >= last_row:
            raise UnsupportedFormat(
                f"the sheet has rows numbered beyond {last_row}, the last row of an Excel sheet",
                field="file",
            )
        add(index, cells)
    # Placeholder headers of columns that hold nothing are noise.
    used = [
        h
        for h in headers
        if not h.startswith("(column ") or any(r.values[h] is not None for r in records)
    ]
    if len(used) != len(headers):
        for r in records:
            r.values = {h: r.values[h] for h in used}
    table = RawTable(used, records, fmt, header_row=header_idx + 1)
    if header_idx:
        table.notes.append(
            (
                f"the header is row {header_idx + 1}; rows above it were skipped",
                f"表头在第 {header_idx + 1} 行，其上方的行已跳过",
            )
        )
    if overflow:
        table.notes.append(
            (
                "some rows have values right of the last header; they were ignored",
                "部分行在最后一个表头右侧还有内容，已忽略",
            )
        )
    return table


def _header_cells(cells: list[Any], row: int) -> list[Any]:
    """The header row's cells; empty cells right of the last header are dropped when the
    row is wider than :data:`MAX_COLUMNS` (a sheet formatted far to the right)."""
    if len(cells) <= MAX_COLUMNS:
        return cells
    end = len(cells)
    while end and _empty(cells[end - 1]):
        end -= 1
    if end > MAX_COLUMNS:
        raise PayloadTooLarge(
            f"the header row (row {row}) has {end} columns, more than the "
            f"{MAX_COLUMNS} one import reads; delete the unused columns",
            field="file",
        )
    return cells[:end]


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

#: Text formats held to :data:`MAX_TEXT_BYTES`, with their names for messages.
_TEXT_KINDS = {"csv": "CSV", "geojson": "GeoJSON"}


def _megabytes(size: int) -> int:
    """``size`` bytes in MB, rounded up."""
    return -(-size // (1 << 20))


def _check_text_size(size: int, kind: str) -> None:
    """Refuse a text file larger than :data:`MAX_TEXT_BYTES` before reading it."""
    if size > MAX_TEXT_BYTES:
        raise PayloadTooLarge(
            f"the {kind} file is {_megabytes(size)} MB, more than the "
            f"{MAX_TEXT_BYTES >> 20} MB one import reads; split it into "
            "smaller files",
            field="file",
        )


def _decode_error(stream: BinaryIO, encoding: str) -> tuple[str, int] | None:
    """(reason, byte offset) of the first error decoding the whole stream, or None.

    The stream is decoded in chunks and nothing is kept.
    """
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    while True:
        chunk = stream.read(_CHUNK)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return exc.reason, offset - pending + exc.start
        if not chunk:
            return None
        offset += len(chunk)


def _csv_encoding(stream: BinaryIO) -> str:
    """UTF-16 (with a byte order mark), UTF-8 or GB18030: the one that decodes the whole
    file."""
    stream.seek(0)
    if stream.read(2) in _UTF16_BOMS:
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        error = _decode_error(stream, encoding)
        if error is None:
            return encoding
    reason, offset = error
    tried = "UTF-16" if candidates == ("utf-16",) else "UTF-8 or GBK/GB18030"
    raise UnsupportedFormat(
        f"cannot decode the CSV file as {tried} ({reason} at byte "
        f"{offset}); save it as 'CSV UTF-8'",
        field="file",
    )


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()][:5]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _csv_lines(text: io.TextIOBase) -> Iterator[str]:
    """The lines of a CSV text stream, one at a time; a line longer than
    :data:`MAX_CSV_LINE` is refused."""
    number = 0
    while line := text.readline(MAX_CSV_LINE + 1):
        number += 1
        if len(line) > MAX_CSV_LINE:
            raise PayloadTooLarge(
                f"line {number} of the CSV file is longer than "
                f"{MAX_CSV_LINE} characters; is it a CSV file?",
                field="file",
            )
        yield line


def _read_csv(stream: BinaryIO, *, max_rows: int, mapping: Mapping[str, Any] | None) -> RawTable:
    """Read a CSV file as a stream: one pass finds the encoding, one reads the rows."""
    stream.seek(0)
    head = stream.read(4096)
    if b"\x00" in head and not head.startswith(_UTF16_BOMS):
        raise UnsupportedFormat("this is not a text CSV file (it contains NUL bytes)", field="file")
    encoding = _csv_encoding(stream)
    stream.seek(0)
    sample = codecs.getincrementaldecoder(encoding)("replace").decode(stream.read(64 << 10))
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        reader = csv.reader(_csv_lines(text), delimiter=_sniff_delimiter(sample))
        table = _grid_table(reader, "csv", max_rows=max_rows, mapping=mapping)
    except csv.Error as exc:
        raise UnsupportedFormat(f"cannot parse the CSV file: {exc}", field="file") from None
    finally:
        text.detach()
    name = "utf-8" if encoding == "utf-8-sig" else encoding
    if name != "utf-8":
        table.notes.append((f"read as {name.upper()} text", f"按 {name.upper()} 编码读取"))
    return table


def _open_zip(source: Any, what: str) -> zipfile.ZipFile:
    """``source`` (a path or a binary stream) opened as a zip archive."""
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsupportedFormat(f"not a valid {what}: {exc}", field="file") from None


def _check_zip(archive: zipfile.ZipFile, what: str) -> None:
    """Refuse an archive whose members declare more than :data:`MAX_ZIP_UNCOMPRESSED` in
    all, or one that is packed more than :data:`MAX_ZIP_RATIO` to 1; nothing is unpacked."""
    total = 0
    for member in archive.infolist():
        total += member.file_size
        if total > MAX_ZIP_UNCOMPRESSED:
            raise PayloadTooLarge(
                f"the {what} unpacks to more than {MAX_ZIP_UNCOMPRESSED >> 20} MB "
                f"({member.filename!r} alone is {_megabytes(member.file_size)} MB); "
                "split it into smaller files",
                field="file",
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= ZIP_RATIO_EXEMPT_SIZE and ratio > MAX_ZIP_RATIO:
            raise PayloadTooLarge(
                f"{member.filename!r} in the {what} unpacks to {ratio:.0f} times its packed "
                f"size ({_megabytes(member.file_size)} MB), more than the {MAX_ZIP_RATIO} "
                "times of a data file; it was not unpacked",
                field="file",
            )


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    """Write one member to ``target`` through a stream that stops at its declared size
    (checked by :func:`_check_zip`): a member that holds more is refused."""
    written = 0
    try:
        with archive.open(member) as packed, target.open("wb") as out:
            while chunk := packed.read(min(_CHUNK, member.file_size - written + 1)):
                written += len(chunk)
                if written > member.file_size:
                    raise PayloadTooLarge(
                        f"{member.filename!r} in the zip archive unpacks to more than the "
                        f"{member.file_size} bytes it declares; the archive is damaged",
                        field="file",
                    )
                out.write(chunk)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as exc:  # a bad CRC, an unknown method, a password...
        raise UnsupportedFormat(
            f"cannot unpack {member.filename!r} from the zip archive, "
            f"which is damaged or locked ({exc})",
            field="file",
        ) from None


@functools.cache
def _workbook_reader() -> type:
    """openpyxl's read-only workbook reader whose sheets take their size from the
    ``<dimension>`` tag alone (openpyxl parses the whole of a sheet that lacks one)."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.xml.constants import SHEET_MAIN_NS

    dimension_tag = f"{{{SHEET_MAIN_NS}}}dimension"
    data_tag = f"{{{SHEET_MAIN_NS}}}sheetData"

    class DeclaredSizeSheet(ReadOnlyWorksheet):
        """A read-only sheet sized from the XML above its rows."""

        def _get_size(self) -> None:
            with self._get_source() as source:
                for _event, element in iterparse(source, events=("start",)):
                    if element.tag == dimension_tag:
                        try:
                            bounds = range_boundaries(element.get("ref") or "")
                        except (TypeError, ValueError):
                            return
                        if None not in bounds:
                            (self._min_column, self._min_row, self._max_column, self._max_row) = (
                                bounds
                            )
                        return
                    if element.tag == data_tag:
                        return

    class DeclaredSizeReader(ExcelReader):
        """The read-only reader with :class:`DeclaredSizeSheet` sheets."""

        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:
                    self.read_chartsheet(sheet, rel)
                    continue
                ws = DeclaredSizeSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

    return DeclaredSizeReader


def _read_xlsx(
    stream: BinaryIO, *, sheet: str | None, max_rows: int, mapping: Mapping[str, Any] | None
) -> RawTable:
    """Read one sheet row by row, after checking the workbook's parts as a zip archive."""
    with _open_zip(stream, "Excel workbook") as archive:
        _check_zip(archive, "Excel workbook")
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = _workbook_reader()(stream, read_only=True, data_only=True)
            reader.read()
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ParseError...
        raise UnsupportedFormat(f"cannot read the Excel workbook: {exc}", field="file") from None
    wb = reader.wb
    try:
        names = wb.sheetnames
        if sheet is not None:
            if str(sheet) not in names:
                raise InvalidParameter(
                    f"no sheet {sheet!r} in the workbook; sheets: {', '.join(names)}", field="sheet"
                )
            ws = wb[str(sheet)]
        elif wb.worksheets:
            ws = wb.worksheets[0]
        else:
            raise UnsupportedFormat("the Excel workbook has no worksheets", field="file")
        # The declared size is no guide: sheets formatted far below their data declare a
        # million rows, and some writers declare too few. Rows are counted as read.
        ws.reset_dimensions()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = _grid_table(
                ws.iter_rows(values_only=True),
                "xlsx",
                max_rows=max_rows,
                mapping=mapping,
                last_row=EXCEL_LAST_ROW,
            )
    except LocatorError:
        raise
    except Exception as exc:  # a damaged part found while reading the rows
        raise UnsupportedFormat(f"cannot read the Excel workbook: {exc}", field="file") from None
    finally:
        wb.close()
    table.sheet = ws.title
    if sheet is None and len(names) > 1:
        table.notes.append(
            (
                f"read the first sheet {ws.title!r} of {len(names)}",
                f"读取了 {len(names)} 个工作表中的第一个“{ws.title}”",
            )
        )
    return table


def _point_from_geojson(geometry: Any) -> tuple[tuple[float, float] | None, str | None]:
    if geometry is None:
        return None, None
    if not isinstance(geometry, dict):
        return None, "geometry is not a GeoJSON object"
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        return None, f"geometry must be a Point, got {kind}"
    if not coords:
        return None, None
    try:
        return (float(coords[0]), float(coords[1])), None
    except (TypeError, ValueError, IndexError):
        return None, f"the Point has invalid coordinates {coords!r}"


def _check_cells(columns: int, rows: int) -> None:
    """Refuse a table wider than :data:`MAX_COLUMNS` or larger than :data:`MAX_CELLS`
    before its records are built."""
    if columns > MAX_COLUMNS:
        raise PayloadTooLarge(
            f"the file has {columns} columns, more than the {MAX_COLUMNS} "
            "one import reads; delete the unused columns",
            field="file",
        )
    if columns * rows > MAX_CELLS:
        raise PayloadTooLarge(
            f"the file has more than {MAX_CELLS} cells ({rows} rows of "
            f"{columns} columns); delete unused columns or split it into "
            "smaller files",
            field="file",
        )


def _read_json(data: bytes, *, max_rows: int) -> RawTable:
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedFormat(f"the file is not valid JSON: {exc}", field="file") from None
    features: list[Any] | None = None
    crs_name = None
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features") or []
        crs_name = ((obj.get("crs") or {}).get("properties") or {}).get("name")
    elif isinstance(obj, dict) and obj.get("type") == "Feature":
        features = [obj]
    elif isinstance(obj, list) and all(isinstance(o, dict) for o in obj):
        if obj and all(o.get("type") == "Feature" for o in obj):
            features = obj
        else:
            if len(obj) > max_rows:
                raise PayloadTooLarge(f"the file has more than {max_rows} records", field="file")
            headers: dict[str, None] = {}
            for o in obj:
                headers.update(dict.fromkeys(str(k) for k in o))
            _check_cells(len(headers), len(obj))
            records = [
                RawRecord(i, {h: None if _empty(o.get(h)) else o.get(h) for h in headers})
                for i, o in enumerate(obj, start=1)
            ]
            return RawTable(list(headers), records, "json")
    if features is None:
        raise UnsupportedFormat(
            "the JSON file is neither a GeoJSON FeatureCollection nor an array of objects",
            field="file",
        )
    if len(features) > max_rows:
        raise PayloadTooLarge(f"the file has more than {max_rows} features", field="file")
    headers = {}
    records = []
    for i, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            feature = {}
        props = feature.get("properties")
        props = dict(props) if isinstance(props, dict) else {}
        if "id" in feature and "id" not in props:
            props = {"id": feature["id"], **props}
        headers.update(dict.fromkeys(str(k) for k in props))
        point, error = _point_from_geojson(feature.get("geometry"))
        records.append(RawRecord(i, props, point, error))
    _check_cells(len(headers), len(records))
    for r in records:
        r.values = {h: None if _empty(r.values.get(h)) else r.values.get(h) for h in headers}
    table = RawTable(list(headers), records, "geojson", has_geometry=True)
    if crs_name and not _is_wgs84_name(crs_name):
        _reproject_points(table, crs_name)
    return table


def _is_wgs84_name(name: str) -> bool:
    from pyproj import CRS

    if "CRS84" in name.upper():
        return True
    try:
        return CRS(name).to_epsg() == 4326
    except Exception:
        return False


def _reproject_points(table: RawTable, crs_name: str) -> None:
    from pyproj import CRS, Transformer

    try:
        transformer = Transformer.from_crs(CRS(crs_name), CRS("EPSG:4326"), always_xy=True)
    except Exception as exc:
        raise UnsupportedFormat(
            f"unknown coordinate reference system {crs_name!r}: {exc}", field="crs"
        ) from None
    located = [r for r in table.records if r.point is not None]
    if located:
        xs, ys = transformer.transform([r.point[0] for r in located], [r.point[1] for r in located])
        for r, x, y in zip(located, np.atleast_1d(xs), np.atleast_1d(ys), strict=True):
            r.point = (float(x), float(y))
    table.notes.append(
        (f"reprojected from {crs_name} to EPSG:4326", f"坐标已从 {crs_name} 转换为 EPSG:4326")
    )


def _python_value(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple | dict):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _shapefile_encoding(shp: Path) -> str | None:
    """The encoding to read a Shapefile's .dbf with, when GDAL would guess wrong."""
    siblings = {p.suffix.lower(): p for p in shp.parent.glob(shp.stem + ".*")}
    if ".cpg" in siblings or ".dbf" not in siblings:
        return None
    data = siblings[".dbf"].read_bytes()
    if len(data) < 32 or data[29] != 0:  # a language driver id: GDAL knows the code page
        return None
    if all(b < 128 for b in data):
        return None
    try:
        data.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _read_ogr(path: Path, fmt: str, *, layer: str | None, max_rows: int) -> RawTable:
    import pyogrio
    import shapely

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:
        raise UnsupportedFormat(f"cannot read the {fmt} file: {exc}", field="file") from None
    if not layers:
        raise UnsupportedFormat(f"the {fmt} file has no layers", field="file")
    notes = []
    if layer is not None and fmt == "gpkg":
        if str(layer) not in layers:
            raise InvalidParameter(
                f"no layer {layer!r} in the file; layers: {', '.join(layers)}", field="sheet"
            )
        chosen = str(layer)
    else:
        chosen = layers[0]
        if len(layers) > 1:
            notes.append(
                (
                    f"read the first layer {chosen!r} of {len(layers)}",
                    f"读取了 {len(layers)} 个图层中的第一个“{chosen}”",
                )
            )
    encoding = _shapefile_encoding(path) if fmt == "shp" else None
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        info = pyogrio.read_info(path, layer=chosen, **kwargs)
        if info.get("features", -1) > max_rows:
            raise PayloadTooLarge(f"the file has more than {max_rows} features", field="file")
        _check_cells(len(info.get("fields", ())), max(info.get("features", 0), 0))
        frame = pyogrio.read_dataframe(path, layer=chosen, **kwargs)
    except PayloadTooLarge:
        raise
    except Exception as exc:
        raise UnsupportedFormat(f"cannot read the {fmt} file: {exc}", field="file") from None
    if len(frame) > max_rows:
        raise PayloadTooLarge(f"the file has more than {max_rows} features", field="file")
    _check_cells(len(frame.columns), len(frame))
    import geopandas as gpd

    geometry = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else None
    if geometry is not None and frame.crs is not None and frame.crs.to_epsg() != 4326:
        name = frame.crs.to_string()
        frame = frame.to_crs("EPSG:4326")
        geometry = frame.geometry
        if "CRS84" not in name.upper() and "4490" not in name:
            notes.append(
                (f"reprojected from {name} to EPSG:4326", f"坐标已从 {name} 转换为 EPSG:4326")
            )
    attributes = frame.drop(columns=[frame.geometry.name]) if geometry is not None else frame
    headers = [str(c) for c in attributes.columns]
    geoms = np.asarray(geometry.array, dtype=object) if geometry is not None else None
    records = []
    for i, cells in enumerate(attributes.itertuples(index=False, name=None)):
        values = {h: _python_value(v) for h, v in zip(headers, cells, strict=True)}
        values = {h: None if _empty(v) else v for h, v in values.items()}
        point, error = None, None
        if geoms is not None:
            geom = geoms[i]
            if geom is not None and not shapely.is_empty(geom):
                if geom.geom_type == "MultiPoint" and shapely.get_num_geometries(geom) == 1:
                    geom = shapely.get_geometry(geom, 0)
                if geom.geom_type == "Point":
                    point = (float(geom.x), float(geom.y))
                else:
                    error = f"geometry must be a Point, got {geom.geom_type}"
        records.append(RawRecord(i + 1, values, point, error))
    table = RawTable(headers, records, fmt, has_geometry=geoms is not None, sheet=chosen)
    table.notes.extend(notes)
    if encoding:
        table.notes.append(
            (
                f"the .dbf has no .cpg file; read it as {encoding}",
                f".dbf 没有 .cpg 编码文件，按 {encoding} 读取",
            )
        )
    return table


def _read_zip(
    path: Path, *, sheet: str | None, max_rows: int, mapping: Mapping[str, Any] | None
) -> RawTable:
    """Read a zipped Shapefile, or the one other data file in a zip archive.

    The archive is checked (:func:`_check_zip`) before anything is unpacked; members are
    unpacked to a temporary folder through bounded streams; nested archives are refused.
    """
    with _open_zip(path, "zip archive") as archive:
        _check_zip(archive, "zip archive")
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir()
            and not m.filename.startswith("__MACOSX/")
            and not Path(m.filename).name.startswith("._")
        ]
        nested = [m for m in members if Path(m.filename).suffix.lower() == ".zip"]
        if nested:
            raise _nested_zip(nested[0].filename)
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        if shps:
            chosen = shps[0]
            if sheet is not None:
                named = [m for m in shps if Path(m.filename).stem == str(sheet)]
                if not named:
                    raise InvalidParameter(
                        f"no Shapefile {sheet!r} in the archive; found: "
                        f"{', '.join(Path(m.filename).stem for m in shps)}",
                        field="sheet",
                    )
                chosen = named[0]
            stem = chosen.filename[:-4]
            parts = [m for m in members if m.filename.rsplit(".", 1)[0] == stem]
            with tempfile.TemporaryDirectory() as tmp:
                base = Path(chosen.filename).stem or "layer"
                for m in parts:
                    _unpack(archive, m, Path(tmp) / f"{base}{Path(m.filename).suffix.lower()}")
                table = _read_ogr(Path(tmp) / f"{base}.shp", "shp", layer=None, max_rows=max_rows)
            if len(shps) > 1 and sheet is None:
                table.notes.append(
                    (
                        f"read the Shapefile {base!r}, the first of {len(shps)} in the archive",
                        f"读取了压缩包中 {len(shps)} 个 Shapefile 的第一个“{base}”",
                    )
                )
            return table
        inner = [
            m
            for m in members
            if Path(m.filename).suffix.lower() in SUPPORTED_EXTENSIONS
            and Path(m.filename).suffix.lower() != ".shp"
        ]
        if len(inner) != 1:
            found = ", ".join(Path(m.filename).name for m in members[:10]) or "nothing"
            raise UnsupportedFormat(
                f"the zip archive holds no .shp file (found: {found})", field="file"
            )
        member = inner[0]
        name = Path(member.filename).name
        suffix = Path(name).suffix.lower()
        if SUPPORTED_EXTENSIONS[suffix] in _TEXT_KINDS:
            _check_text_size(member.file_size, _TEXT_KINDS[SUPPORTED_EXTENSIONS[suffix]])
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / f"member{suffix}"
            _unpack(archive, member, target)
            return _read_source(
                target,
                filename=name,
                sheet=sheet,
                max_rows=max_rows,
                mapping=mapping,
                inside_zip=True,
            )


def _nested_zip(name: str) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"the zip archive holds another zip archive ({name!r}); unzip "
        "it and import the files inside",
        field="file",
    )


def _detect_format(filename: str | None, head: bytes) -> str:
    suffix = Path(filename).suffix.lower() if filename else ""
    if not suffix:
        if head.startswith(b"PK"):
            return "zip-or-xlsx"
        if head.startswith(b"SQLite format 3"):
            return "gpkg"
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
            return "geojson"
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise UnsupportedFormat(
                "old Excel 97-2003 (.xls) workbooks are not supported; save it as .xlsx or .csv",
                field="file",
            )
        return "csv"
    if suffix == ".xls":
        if head.startswith(b"PK"):
            return "xlsx"
        raise UnsupportedFormat(
            "old Excel 97-2003 (.xls) workbooks are not supported; save it as .xlsx or .csv",
            field="file",
        )
    if suffix not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormat(
            f"unsupported file type {suffix!r}; supported: {_SUPPORTED_TEXT}", field="file"
        )
    fmt = SUPPORTED_EXTENSIONS[suffix]
    if fmt == "csv" and head.startswith(b"PK"):
        return "zip-or-xlsx"  # a workbook saved with the wrong extension
    if fmt == "xlsx" and not head.startswith(b"PK"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise UnsupportedFormat(
                "this is an old Excel 97-2003 (.xls) workbook with an "
                ".xlsx name; save it as .xlsx or .csv",
                field="file",
            )
        raise UnsupportedFormat("this file is not an Excel .xlsx workbook", field="file")
    return fmt


@contextmanager
def _local_path(source: Any, filename: str) -> Iterator[Path]:
    """A path on disk with ``source``'s content (the path itself when it is one)."""
    if isinstance(source, str | os.PathLike):
        yield Path(source)
        return
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / (Path(filename).name or "upload")
        target.write_bytes(source)
        yield target


def read_table(
    source: Any,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    mapping: Mapping[str, Any] | None = None,
) -> RawTable:
    """Read a facility file into raw records with the row numbers the user sees.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file-like
        The file. Uploads can pass bytes or a buffer with ``filename``.
    filename : str, optional
        The name whose extension decides the format (default: the path's name); without
        an extension the content is sniffed.
    sheet : str, optional
        Worksheet of an XLSX file, layer of a GeoPackage or Shapefile in a zip (default:
        the first).
    max_rows : int
        More data rows than this raise :class:`~locator.errors.PayloadTooLarge`.
    mapping : mapping, optional
        The ``mapping`` option of the import; its headers help find the header row.

    Returns
    -------
    RawTable
        Headers, records and notes; ``name`` is the file's stem (the default source).

    Raises
    ------
    UnsupportedFormat
        For an unknown extension, a file that cannot be read as its format, a damaged
        zip archive or one nested in another.
    PayloadTooLarge
        For more than ``max_rows`` data rows (found while reading, or declared by an XLSX
        sheet), a CSV or GeoJSON file over :data:`MAX_TEXT_BYTES`, a zip archive or
        workbook over :data:`MAX_ZIP_UNCOMPRESSED` unpacked or :data:`MAX_ZIP_RATIO` packed,
        or a table over :data:`MAX_COLUMNS` or :data:`MAX_CELLS`; nothing is unpacked or
        read past the limit.
    """
    return _read_source(
        source, filename=filename, sheet=sheet, max_rows=max_rows, mapping=mapping, inside_zip=False
    )


def _read_source(
    source: Any,
    *,
    filename: str | None,
    sheet: str | None,
    max_rows: int,
    mapping: Mapping[str, Any] | None,
    inside_zip: bool,
) -> RawTable:
    """:func:`read_table`; ``inside_zip`` for a file unpacked from a zip archive."""
    is_path = isinstance(source, str | os.PathLike)
    if is_path:
        path = Path(source)
        if not path.is_file():
            raise InvalidParameter(f"no such file: {path}", field="file")
        filename = filename or path.name
        with path.open("rb") as handle:
            head = handle.read(8)
        size = path.stat().st_size
    else:
        if hasattr(source, "read"):
            source = source.read()
        if isinstance(source, str):
            source = source.encode("utf-8")
        if not isinstance(source, bytes | bytearray):
            raise InvalidParameter(
                "read_table needs a path, bytes or a binary buffer", field="file"
            )
        source = bytes(source)
        head = source[:8]
        size = len(source)
    fmt = _detect_format(filename, head)
    display = filename or "upload"
    if fmt == "zip-or-xlsx":
        with _open_zip(
            source if is_path else io.BytesIO(source), "zip archive or workbook"
        ) as archive:
            fmt = "xlsx" if "xl/workbook.xml" in archive.namelist() else "zip"
    if fmt == "zip" and inside_zip:
        raise _nested_zip(display)
    if fmt in _TEXT_KINDS:
        _check_text_size(size, _TEXT_KINDS[fmt])
    if fmt in ("csv", "xlsx"):
        with Path(source).open("rb") if is_path else io.BytesIO(source) as stream:
            if fmt == "csv":
                table = _read_csv(stream, max_rows=max_rows, mapping=mapping)
            else:
                table = _read_xlsx(stream, sheet=sheet, max_rows=max_rows, mapping=mapping)
    elif fmt == "geojson":
        data = Path(source).read_bytes() if is_path else source
        table = _read_json(data, max_rows=max_rows)
    elif fmt == "zip":
        with _local_path(
            source, display if display.lower().endswith(".zip") else display + ".zip"
        ) as path:
            table = _read_zip(path, sheet=sheet, max_rows=max_rows, mapping=mapping)
    elif fmt == "shp":
        if not is_path:
            raise UnsupportedFormat(
                "a Shapefile needs its .dbf and .shx files: upload the "
                "files zipped together (.zip)",
                field="file",
            )
        table = _read_ogr(Path(source), "shp", layer=sheet, max_rows=max_rows)
    else:  # gpkg
        with _local_path(
            source, display if display.lower().endswith(".gpkg") else display + ".gpkg"
        ) as path:
            table = _read_ogr(path, "gpkg", layer=sheet, max_rows=max_rows)
    stem = Path(display).stem if filename else "upload"
    table.name = stem[: MAX_LENGTHS["source"]] or "upload"
    return table


# --------------------------------------------------------------------------- mapping


@dataclass
class ColumnMap:
    """Which of the file's headers fills which of our fields."""

    fields: dict[str, str] = field(default_factory=dict)
    coordinates: str | None = None
    explicit: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)

    def used(self) -> dict[str, str]:
        """Field -> header, including ``coordinates`` for a combined column."""
        out = dict(self.fields)
        if self.coordinates is not None:
            out["coordinates"] = self.coordinates
        return out


def map_columns(headers: Sequence[str], mapping: Mapping[str, Any] | None = None) -> ColumnMap:
    """Match the file's headers to our fields.

    Parameters
    ----------
    headers : sequence of str
        The file's headers.
    mapping : mapping, optional
        ``{our_field: their_header}`` overriding the automatic match; ``coordinates``
        names a combined "lon,lat" column; a None value leaves a field unmapped.

    Returns
    -------
    ColumnMap
        The matches, and the headers left unknown or deliberately ignored.

    Raises
    ------
    InvalidParameter
        For an unknown field or a header not in the file (field ``mapping``).
    """
    result = ColumnMap()
    taken: set[str] = set()
    disabled: set[str] = set()
    for ours, theirs in (mapping or {}).items():
        if ours not in FIELD_ALIASES and ours != "coordinates":
            raise InvalidParameter(
                f"mapping names an unknown field {ours!r}; fields: "
                f"{', '.join((*FIELDS, 'coordinates'))}",
                field="mapping",
            )
        if theirs is None:
            disabled.add(ours)
            continue
        header = str(theirs)
        if header not in headers:
            matches = [h for h in headers if normalize_header(h) == normalize_header(header)]
            if not matches:
                raise InvalidParameter(
                    f"mapping for {ours!r}: no column {header!r} in the file; headers found: "
                    f"{', '.join(headers) or '(none)'}",
                    field="mapping",
                )
            header = matches[0]
        if ours == "coordinates":
            result.coordinates = header
        else:
            result.fields[ours] = header
        result.explicit.add(ours)
        taken.add(header)
    best: dict[str, tuple[int, str]] = {}
    coordinate_candidates = []
    for header in headers:
        if header in taken:
            continue
        key = normalize_header(header)
        if key in _ALIAS_INDEX:
            name, rank = _ALIAS_INDEX[key]
            if name in result.explicit or name in disabled:
                result.unknown.append(header)
            elif name not in best or rank < best[name][0]:
                if name in best:
                    result.duplicates.append((name, header, best[name][1]))
                best[name] = (rank, header)
            else:
                result.duplicates.append((name, best[name][1], header))
        elif key in _COORDINATE_INDEX:
            coordinate_candidates.append(header)
        elif key in _IGNORED_INDEX:
            result.ignored.append(header)
        else:
            result.unknown.append(header)
    for name in FIELDS:
        if name in best:
            result.fields[name] = best[name][1]
    has_pair = "lon" in result.fields and "lat" in result.fields
    if (
        result.coordinates is None
        and coordinate_candidates
        and not has_pair
        and "coordinates" not in disabled
    ):
        result.coordinates = coordinate_candidates[0]
        coordinate_candidates = coordinate_candidates[1:]
    result.ignored.extend(coordinate_candidates)
    if result.coordinates is not None and not has_pair:
        # A lone lon or lat column next to a combined one: the combined one wins.
        for name in ("lon", "lat"):
            if name in result.fields and name not in result.explicit:
                result.ignored.append(result.fields.pop(name))
    return result


# --------------------------------------------------------------------------- validation


def parse_coordinate(value: Any) -> float:
    """A coordinate in degrees from a number or text such as ``117.23``, ``117.23°``,
    ``E117°13'48"`` or ``东经117.23``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
        sign = 1.0
        for prefix, factor in (("东经", 1.0), ("北纬", 1.0), ("西经", -1.0), ("南纬", -1.0)):
            if text.startswith(prefix):
                text, sign = text[len(prefix) :], factor
        if text[:1].upper() in ("E", "N", "W", "S"):
            sign = -1.0 if text[:1].upper() in "WS" else 1.0
            text = text[1:]
        elif text[-1:].upper() in ("E", "N", "W", "S"):
            sign = -1.0 if text[-1:].upper() in "WS" else 1.0
            text = text[:-1]
        try:
            number = float(text)
        except ValueError:
            match = re.fullmatch(
                r"(\d+(?:\.\d+)?)[°度](?:(\d+(?:\.\d+)?)(?:'|′|分))?"
                r"(?:(\d+(?:\.\d+)?)(?:\"|″|′′|''|秒))?",
                text,
            )
            if match is None:
                raise ValueError(value) from None
            degrees, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
            if minutes >= 60 or seconds >= 60:
                raise ValueError(value) from None
            number = degrees + minutes / 60 + seconds / 3600
        number *= sign
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _num(value: float) -> str:
    return f"{value:.7f}".rstrip("0").rstrip(".")


def _in_china(lon: float, lat: float) -> bool:
    west, south, east, north = CHINA_BOUNDS
    return west <= lon <= east and south <= lat <= north


def _text(value: Any, unescape: bool) -> str | None:
    if _empty(value):
        return None
    text = _cell_str(value) if not isinstance(value, str) else value
    if unescape:
        text = _FORMULA_ESCAPE.sub("", text)
    return text


def _excel_date(value: Any) -> Any:
    # Excel day numbers of 1927..2173; smaller numbers (a bare year such as 2023) are no date.
    if isinstance(value, int | float) and not isinstance(value, bool) and 10000 <= value < 100000:
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    return value


def _split_items(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if not _empty(v)]
    text = str(value)
    for sep in _AMENITY_SEPARATORS[1:]:
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


_ZH_VOCAB = {
    "kind": ("类型", KINDS),
    "status": ("状态", STATUSES),
    "amenity": ("服务设施", AMENITIES),
}


def _zh_message(message: str) -> str:
    """A Chinese rendering of the model's English validation messages."""
    match = re.match(r"unknown (kind|status|amenity) '(.*?)'(?:; did you mean '(\w+)'\?)?", message)
    if match:
        label, vocabulary = _ZH_VOCAB[match.group(1)]
        text = f"无法识别的{label}“{match.group(2)}”"
        hint = match.group(3)
        if hint:
            text += f"，是否应为“{vocabulary[hint]['zh']}”({hint})？"
        return text + f" 可选：{'、'.join(v['zh'] for v in vocabulary.values())}"
    patterns = (
        (r"\w+ is required$", lambda m: "不能为空"),
        (r"\w+ must be a number, got (.*)$", lambda m: f"必须是数字，实际为 {m.group(1)}"),
        (
            r"\w+ is (\d+) characters long; the limit is (\d+)",
            lambda m: f"长度为 {m.group(1)} 个字符，超过上限 {m.group(2)}",
        ),
        (r"\w+ contains control characters", lambda m: "含有控制字符"),
        (r"\w+ must be a whole number", lambda m: "必须是大于等于 0 的整数"),
        (r"\w+ must be a date like", lambda m: "日期无法识别，应写作 2024-05-01 这样的格式"),
        (
            r"(\w+) must be between (\S+) and (\S+)",
            lambda m: f"必须在 {m.group(2)} 到 {m.group(3)} 之间",
        ),
    )
    for pattern, render in patterns:
        found = re.match(pattern, message)
        if found:
            return render(found)
    return message


_PLACEHOLDERS = {"lon": 117.0, "lat": 31.0, "name": "-", "kind": "other"}


def _validate_all(data: dict[str, Any]) -> tuple[Facility | None, list[tuple[str, str]]]:
    """validate_facility, repeated so that every bad field of the row is reported."""
    problems: list[tuple[str, str]] = []
    data = dict(data)
    seen: set[str] = set()
    for _ in range(len(data) + 2):
        try:
            facility = validate_facility(data)
        except InvalidParameter as exc:
            name = "amenities" if exc.field == "amenity" else (exc.field or "row")
            if name in seen:
                break
            problems.append((name, exc.message))
            if name not in data:
                break
            seen.add(name)
            data[name] = _PLACEHOLDERS.get(name)
            if name in ("lon", "lat"):
                data["lon"], data["lat"] = _PLACEHOLDERS["lon"], _PLACEHOLDERS["lat"]
            continue
        return (None if problems else facility), problems
    return None, problems


def _hash_id(name: str, lon: float, lat: float) -> str:
    key = f"{name.strip()}|{round(lon, 6):.6f}|{round(lat, 6):.6f}"
    return "h" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _structural_error(report: ImportReport, issues: list[RowIssue]) -> ValidationFailed:
    report.errors = issues
    message = "; ".join(i.message for i in issues)
    return ValidationFailed(message, field=issues[0].field, details=report.to_dict())


def _locate_outside(admin_index: Any, facilities: Sequence[Facility]) -> list[int] | None:
    """Positions of facilities outside every loaded city (or county) polygon."""
    if admin_index is None or not facilities:
        return None
    levels = {u.level for u in admin_index.units.values() if u.geometry is not None}
    if not levels & {"city", "county"}:
        return None
    located = admin_index.locate([f.lon for f in facilities], [f.lat for f in facilities])
    return [i for i, row in enumerate(located) if row["city"] is None and row["county"] is None]


def _convert(
    table: RawTable,
    *,
    kind: str | None,
    crs: str | None,
    source: str | None,
    mapping: Mapping[str, Any] | None,
    admin_index: Any,
) -> tuple[list[Facility], list[int], ImportReport]:
    datum = normalize_crs(crs)
    default_kind = parse_kind(kind) if kind is not None and str(kind).strip() else None
    default_source = (
        str(source).strip() if source is not None and str(source).strip() else table.name
    )
    report = ImportReport(
        rows=len(table.records),
        source=default_source,
        crs=datum,
        format=table.format,
        numbering=table.numbering,
    )
    for en, zh in table.notes:
        report.note(en, zh)
    cmap = map_columns(table.headers, mapping)
    fields = cmap.fields
    report.columns = cmap.used()
    if table.has_geometry:
        report.columns.setdefault("lon", "(geometry)")
        report.columns.setdefault("lat", "(geometry)")

    missing: list[RowIssue] = []
    needed = ["name"]
    if not table.has_geometry and cmap.coordinates is None:
        needed += ["lon", "lat"]
    found = ", ".join(table.headers) or "(none)"
    for name in needed:
        if name not in fields:
            aliases = "、".join(FIELD_ALIASES[name][:6])
            label = FIELD_LABELS_ZH[name]
            missing.append(
                RowIssue(
                    None,
                    name,
                    None,
                    f"no column for {name} ({label}); expected a header such as {aliases}; "
                    f"headers found: {found}",
                    None,
                    f"缺少{label}({name})列，表头可以是 {aliases} 等；文件中的表头：{found}",
                )
            )
    if "kind" not in fields and default_kind is None:
        missing.append(
            RowIssue(
                None,
                "kind",
                None,
                f"no kind column (类型) and no default kind; pass kind= (--kind) with one of "
                f"{', '.join(KINDS)}; headers found: {found}",
                None,
                f"缺少类型(kind)列，也未指定默认类型（--kind）；文件中的表头：{found}",
            )
        )
    if missing and table.records:
        raise _structural_error(report, missing)
    if not table.records:
        report.note("the file has no data rows", "文件中没有数据行")
        return [], [], report

    records = table.records
    n = len(records)
    errors: list[RowIssue] = []
    unescape = table.format == "csv"

    def add(
        row: int,
        name: str | None,
        column: str | None,
        message: str,
        value: Any,
        zh: str | None = None,
    ) -> None:
        errors.append(RowIssue(row, name, column, message, value, zh or _zh_message(message)))

    # ---- coordinates: parse, check, convert (vectorised) ----
    lon_in = np.full(n, np.nan)
    lat_in = np.full(n, np.nan)
    coord_columns: list[tuple[str | None, str | None]] = []
    lon_header = fields.get("lon")
    lat_header = fields.get("lat")
    for i, rec in enumerate(records):
        if table.has_geometry and (rec.point is not None or rec.geometry_error):
            coord_columns.append(("geometry", "geometry"))
            if rec.geometry_error:
                add(
                    rec.row,
                    "geometry",
                    "geometry",
                    rec.geometry_error,
                    None,
                    "几何图形必须是点(Point)",
                )
            else:
                lon_in[i], lat_in[i] = rec.point
            continue
        if lon_header and lat_header:
            coord_columns.append((lon_header, lat_header))
            for name, header, target in (("lon", lon_header, lon_in), ("lat", lat_header, lat_in)):
                value = rec.values.get(header)
                if _empty(value):
                    add(rec.row, name, header, f"{name} is required", value)
                    continue
                try:
                    target[i] = parse_coordinate(value)
                except ValueError:
                    add(rec.row, name, header, f"{name} must be a number, got {value!r}", value)
        elif cmap.coordinates:
            header = cmap.coordinates
            coord_columns.append((header, header))
            value = rec.values.get(header)
            if _empty(value):
                add(rec.row, "lon", header, "coordinates are required", value, "坐标不能为空")
                continue
            parts = (
                list(value)
                if isinstance(value, list | tuple)
                else [p for p in re.split(r"[,，;；\s]+", str(value).strip()) if p]
            )
            try:
                if len(parts) != 2:
                    raise ValueError(value)
                lon_in[i], lat_in[i] = parse_coordinate(parts[0]), parse_coordinate(parts[1])
            except ValueError:
                lon_in[i] = lat_in[i] = np.nan
                add(
                    rec.row,
                    "lon",
                    header,
                    f"coordinates must be 'lon,lat' like 117.23,31.82, got {value!r}",
                    value,
                    f"坐标应写作“经度,纬度”，如 117.23,31.82，实际为 {value!r}",
                )
        else:
            coord_columns.append(("geometry", "geometry"))
            add(
                rec.row,
                "geometry",
                "geometry",
                "the feature has no geometry",
                None,
                "该要素没有几何图形（坐标）",
            )
    ok = np.isfinite(lon_in) & np.isfinite(lat_in)
    for i in np.flatnonzero(ok):
        lon, lat = float(lon_in[i]), float(lat_in[i])
        if _in_china(lon, lat):
            continue
        ok[i] = False
        row = records[i].row
        lon_col, lat_col = coord_columns[i]
        if _in_china(lat, lon):
            add(
                row,
                "lon",
                lon_col,
                f"lon {_num(lon)} and lat {_num(lat)} look swapped: longitudes in China are about "
                "73 to 135, latitudes 18 to 54",
                lon,
                f"经度 {_num(lon)} 与纬度 {_num(lat)} 似乎填反了："
                "中国境内经度约为 73～135，纬度约为 18～54",
            )
        else:
            west, south, east, north = CHINA_BOUNDS
            name, column, value = (
                ("lon", lon_col, lon) if not west <= lon <= east else ("lat", lat_col, lat)
            )
            add(
                row,
                name,
                column,
                f"the position {_num(lon)}, {_num(lat)} is outside China "
                f"({west:g} to {east:g} E, {south:g} to {north:g} N)",
                value,
                f"位置 {_num(lon)}, {_num(lat)} 不在中国范围内（东经 {west:g}～{east:g}，"
                f"北纬 {south:g}～{north:g}）",
            )
    lon_w = lon_in.copy()
    lat_w = lat_in.copy()
    if ok.any():
        lon_w[ok], lat_w[ok] = to_wgs84(lon_in[ok], lat_in[ok], datum)
    if datum != "wgs84":
        report.note(
            f"coordinates converted from {datum.upper()} to WGS-84",
            f"坐标已从 {datum.upper()} 转换为 WGS-84",
        )

    # ---- ids ----
    id_header = fields.get("id")
    id_role = None
    if id_header is not None:
        values = [_text(r.values.get(id_header), unescape) for r in records]
        values = [v.strip() for v in values if v and v.strip()]
        if "id" in cmap.explicit or "source_id" in fields or all(":" in v for v in values):
            id_role = "id"
        else:
            id_role = "source_id"
            report.note(
                f"column {id_header!r} is the file's own numbering: it is used as source_id "
                f"(ids become {default_source}:<value>); map it explicitly as id to use its "
                "values as facility ids",
                f"“{id_header}”列是文件自己的编号，作为原编号(source_id)使用（站点 id 为 "
                f"{default_source}:编号）；如需直接作为站点 id，请在列映射中指定 id",
            )

    # ---- rows ----
    facilities: dict[int, Facility] = {}
    row_ids: list[str | None] = [None] * n
    row_keys: list[tuple[str | None, str | None, str] | None] = [None] * n
    for i, rec in enumerate(records):
        data: dict[str, Any] = {}
        for name in _TEXT_FIELDS:
            header = fields.get(name)
            data[name] = _text(rec.values.get(header), unescape) if header else None
        kind_value = rec.values.get(fields["kind"]) if "kind" in fields else None
        data["kind"] = default_kind if _empty(kind_value) else _text(kind_value, unescape)
        data["status"] = (
            _text(rec.values.get(fields["status"]), unescape) if "status" in fields else None
        )
        if "truck_parking_spaces" in fields:
            data["truck_parking_spaces"] = rec.values.get(fields["truck_parking_spaces"])
        if "opened_on" in fields:
            opened = rec.values.get(fields["opened_on"])
            data["opened_on"] = (
                _excel_date(opened)
                if table.format == "xlsx"
                else (_text(opened, unescape) if not isinstance(opened, dt.date) else opened)
            )
        amenity_problems = []
        if "amenities" in fields and not _empty(rec.values.get(fields["amenities"])):
            good = []
            for item in _split_items(rec.values[fields["amenities"]]):
                try:
                    good.append(parse_amenity(item))
                except InvalidParameter as exc:
                    amenity_problems.append(exc.message)
            data["amenities"] = good
        identifier = data["id"]
        if id_role == "source_id":
            data["id"] = None
            if "source_id" not in fields:
                data["source_id"] = identifier
        row_ids[i] = data["id"].strip() if data["id"] else None
        if "source" in fields:
            if data["source"] is None and not data["id"]:
                data["source"] = default_source
        else:
            data["source"] = default_source
        hashed = False
        if (
            not data["id"]
            and not data["source_id"]
            and ok[i]
            and data["name"]
            and data["name"].strip()
        ):
            data["source_id"] = _hash_id(data["name"], lon_in[i], lat_in[i])
            hashed = True
        if data["source_id"] and data["source"]:
            row_keys[i] = (
                data["source"].strip(),
                data["source_id"].strip(),
                "hash" if hashed else "given",
            )
        data["lon"], data["lat"] = (
            (float(lon_w[i]), float(lat_w[i]))
            if ok[i]
            else (_PLACEHOLDERS["lon"], _PLACEHOLDERS["lat"])
        )
        facility, problems = _validate_all(data)
        for message in amenity_problems:
            add(
                rec.row,
                "amenities",
                fields["amenities"],
                message,
                rec.values.get(fields["amenities"]),
            )
        for name, message in problems:
            if name == "source_id" and id_role == "source_id" and "source_id" not in fields:
                name = "id"
            header = fields.get(name)
            if name == "source" and "source" not in fields:
                header = None
            add(
                rec.row, name, header, message, rec.values.get(header) if header else data.get(name)
            )
        if facility is not None and not amenity_problems and ok[i]:
            facilities[i] = facility

    # ---- duplicates within the file ----
    first_id: dict[str, int] = {}
    first_key: dict[tuple[str, str], int] = {}
    for i, rec in enumerate(records):
        if row_ids[i]:
            if row_ids[i] in first_id:
                add(
                    rec.row,
                    "id",
                    id_header,
                    f"duplicate id {row_ids[i]!r}: row {first_id[row_ids[i]]} has it too",
                    row_ids[i],
                    f"编号“{row_ids[i]}”重复：第 {first_id[row_ids[i]]} 行已使用",
                )
                facilities.pop(i, None)
            else:
                first_id[row_ids[i]] = rec.row
        if row_keys[i] is not None:
            source_name, source_id, origin = row_keys[i]
            key = (source_name, source_id)
            if key in first_key:
                first = first_key[key]
                if origin == "hash":
                    add(
                        rec.row,
                        "name",
                        fields.get("name"),
                        f"same name and position as row {first} (a duplicate row)",
                        records[i].values.get(fields.get("name", "")),
                        f"与第 {first} 行名称和位置相同（重复行）",
                    )
                else:
                    name = (
                        "id"
                        if id_role == "source_id" and "source_id" not in fields
                        else "source_id"
                    )
                    header = id_header if name == "id" else fields.get("source_id")
                    add(
                        rec.row,
                        name,
                        header,
                        f"duplicate {name} {source_id!r}: row {first} has it too",
                        source_id,
                        f"{FIELD_LABELS_ZH[name]}“{source_id}”重复：第 {first} 行已使用",
                    )
                facilities.pop(i, None)
            else:
                first_key[key] = rec.row

    # ---- warnings: outside the loaded region ----
    order = sorted(facilities)
    good = [facilities[i] for i in order]
    rows = [records[i].row for i in order]
    outside = _locate_outside(admin_index, good) or []
    for j in outside:
        f = good[j]
        header = coord_columns[order[j]][0]
        report.warnings.append(
            RowIssue(
                rows[j],
                "lon",
                header,
                f"{f.name!r} at {f.lon:.6f}, {f.lat:.6f} is outside every loaded city; check the "
                "coordinates and the crs option",
                f.lon,
                f"“{f.name}”({f.lon:.6f}, {f.lat:.6f}) 不在已载入的任何城市范围内，"
                "请核对坐标和坐标系",
            )
        )

    # ---- warnings: hours that drivers' "open now" cannot read ----
    for f, row in zip(good, rows, strict=True):
        if f.hours and not is_valid_hours(f.hours):
            report.warnings.append(
                RowIssue(
                    row,
                    "hours",
                    fields.get("hours"),
                    f"hours {f.hours!r} cannot be read, so {f.name!r} never shows as open now; "
                    "write them like 24小时, 每天8:00-20:00, 周一至周五 9:00-17:00 or in "
                    "OpenStreetMap opening_hours syntax",
                    f.hours,
                    f"营业时间“{f.hours}”无法识别，“{f.name}”将不会显示为营业中；请写成"
                    "“24小时”“每天8:00-20:00”“周一至周五 9:00-17:00”等形式",
                )
            )
    report.warnings.sort(
        key=lambda w: (w.row or 0, FIELDS.index(w.field) if w.field in FIELDS else 99)
    )

    errors.sort(key=lambda e: (e.row or 0, FIELDS.index(e.field) if e.field in FIELDS else 99))
    report.errors = errors
    report.valid = len(good)
    if cmap.unknown:
        names = ", ".join(cmap.unknown)
        report.note(f"columns not used: {names}", f"未使用的列：{names}")
    if cmap.ignored:
        names = ", ".join(cmap.ignored)
        report.note(
            f"columns ignored on purpose (derived from the admin units, kept by the "
            f"system, or row numbers): {names}",
            f"已忽略的列（由行政区划生成、由系统维护或为序号）：{names}",
        )
    for name, used, other in cmap.duplicates:
        report.note(
            f"both {used!r} and {other!r} look like {name}; used {used!r}",
            f"“{used}”和“{other}”都像{FIELD_LABELS_ZH.get(name, name)}列，使用了“{used}”",
        )
    return good, rows, report


def rows_to_facilities(
    table: RawTable,
    *,
    kind: str | None = None,
    crs: str | None = "wgs84",
    source: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    admin_index: Any = None,
) -> tuple[list[Facility], ImportReport]:
    """Map, convert and validate raw records: the valid facilities and a report of the rest.

    Parameters
    ----------
    table : RawTable
        What :func:`read_table` returned.
    kind : str, optional
        Kind of rows without one (a key or a Chinese/English label).
    crs : str
        Datum of the input coordinates (``wgs84``, ``gcj02``, ``bd09`` or an alias).
    source : str, optional
        Stored as each facility's ``source`` (default: ``table.name``, the file stem).
    mapping : mapping, optional
        ``{our_field: their_header}`` overriding the automatic column match.
    admin_index : AdminIndex, optional
        When given, points outside every loaded city polygon get a warning.

    Returns
    -------
    tuple of (list of Facility, ImportReport)
        Valid facilities in file order (ids not resolved yet: empty unless given) and
        the report with ``rows``, ``valid``, ``errors``, ``warnings``, ``columns``, ``notes``.

    Raises
    ------
    ValidationFailed
        When a required column (name, lon/lat, kind without a default) is missing.
    InvalidParameter
        For a bad ``kind``, ``crs`` or ``mapping`` option.
    """
    facilities, _rows, report = _convert(
        table, kind=kind, crs=crs, source=source, mapping=mapping, admin_index=admin_index
    )
    return facilities, report


# --------------------------------------------------------------------------- import


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


def _check_source_owners(
    storage: Any, facilities: list[Facility], rows: list[int], report: ImportReport
) -> list[int]:
    """Positions of facilities whose given id clashes with the stored owner of their
    (source, source_id); each gets a row error."""
    pending = [(j, f) for j, f in enumerate(facilities) if f.id and f.source and f.source_id]
    if not pending:
        return []
    resolved = storage.resolve_ids([f.replace(id="") for _, f in pending])
    clashes = []
    for (j, f), other in zip(pending, resolved, strict=True):
        if other.id == f.id:
            continue
        try:
            storage.get_facility(other.id)
        except NotFound:
            continue
        clashes.append(j)
        message = (
            f"source {f.source!r} id {f.source_id!r} already belongs to facility "
            f"{other.id!r}, not {f.id!r}"
        )
        report.errors.append(
            RowIssue(
                rows[j],
                "source_id",
                report.columns.get("source_id"),
                message,
                f.source_id,
                f"来源“{f.source}”的原编号“{f.source_id}”已属于站点 {other.id}，而不是 {f.id}",
            )
        )
    report.errors.sort(key=lambda e: e.row or 0)
    return clashes


def _plan(storage: Any, facilities: list[Facility]) -> tuple[int, int, int]:
    """(inserted, updated, unchanged) that upserting ``facilities`` would give."""
    resolved = storage.admin_index().assign(storage.resolve_ids(facilities))
    stored = {f.id: f for f in storage.facilities()} if resolved else {}
    inserted = updated = unchanged = 0
    for f in resolved:
        old = stored.get(f.id)
        if old is None:
            inserted += 1
        elif old.content_key() == f.content_key() and all(
            getattr(old, d) == getattr(f, d) for d in DERIVED_FIELDS
        ):
            unchanged += 1
        else:
            updated += 1
    return inserted, updated, unchanged


def import_table(
    storage: Any,
    table: RawTable,
    *,
    kind: str | None = None,
    crs: str | None = "wgs84",
    source: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    rejects: Any = None,
    lang: str = "en",
) -> ImportReport:
    """Validate a read table and write its facilities in one transaction.

    Parameters
    ----------
    storage : Storage
        Where the facilities go.
    table : RawTable
        What :func:`read_table` returned.
    kind, crs, source, mapping
        As for :func:`rows_to_facilities`.
    dry_run : bool
        Validate and count what would be inserted/updated/unchanged; write nothing.
    skip_invalid : bool
        Write the valid rows even when others are bad (default: all or nothing).
    rejects : str or os.PathLike, optional
        A ``.csv`` (UTF-8 with BOM) or ``.xlsx`` file to receive the bad rows: their
        original columns plus ``row`` and ``reason``. Written whenever given.
    lang : str
        Language of the reasons in the rejects file (``en`` or ``zh``).

    Returns
    -------
    ImportReport
        Counts, issues and the data version after the write.

    Raises
    ------
    ValidationFailed
        When a row is bad and ``skip_invalid`` is false; ``details`` is the report.
    """
    if rejects is not None:
        _check_rejects_path(rejects)
    facilities, rows, report = _convert(
        table, kind=kind, crs=crs, source=source, mapping=mapping, admin_index=storage.admin_index()
    )
    report.dry_run = dry_run
    clashes = set(_check_source_owners(storage, facilities, rows, report))
    if clashes:
        facilities = [f for j, f in enumerate(facilities) if j not in clashes]
        report.valid = len(facilities)
    if rejects is not None:
        _write_rejects(table, report, rejects, lang)
    if report.errors and not skip_invalid:
        raise ValidationFailed(
            f"{report.rejected} of {report.rows} rows have errors; nothing was imported",
            details=report.to_dict(),
        )
    if dry_run:
        report.inserted, report.updated, report.unchanged = _plan(storage, facilities)
        report.data_version = storage.data_version()
    elif facilities:
        result = storage.upsert_facilities(facilities)
        report.inserted = len(result.inserted)
        report.updated = len(result.updated)
        report.unchanged = len(result.unchanged)
        report.data_version = result.data_version
        report.written = True
    else:
        report.data_version = storage.data_version()
        report.written = True
    return report


def import_file(
    storage: Any,
    path: Any,
    *,
    kind: str | None = None,
    crs: str | None = "wgs84",
    source: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    rejects: Any = None,
    sheet: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    filename: str | None = None,
    lang: str = "en",
) -> ImportReport:
    """Import a facility file into storage (all or nothing unless ``skip_invalid``).

    Parameters
    ----------
    storage : Storage
        Where the facilities go.
    path : str, os.PathLike, bytes or binary file-like
        The file (CSV, XLSX, GeoJSON, GeoPackage, Shapefile or zipped Shapefile).
    kind : str, optional
        Kind of rows without a kind column or value.
    crs : str
        Datum of the input coordinates: ``wgs84`` (default), ``gcj02`` or ``bd09``.
    source : str, optional
        Source name stored on each facility (default: the file's stem).
    mapping : mapping, optional
        ``{our_field: their_header}`` overriding the automatic column match.
    dry_run : bool
        Validate and report what would change; write nothing.
    skip_invalid : bool
        Write the valid rows and skip the bad ones.
    rejects : str or os.PathLike, optional
        ``.csv`` or ``.xlsx`` file for the bad rows with ``row`` and ``reason`` columns.
    sheet : str, optional
        Worksheet (XLSX) or layer (GeoPackage, zipped Shapefiles) to read.
    max_rows : int
        More data rows raise :class:`~locator.errors.PayloadTooLarge`.
    filename : str, optional
        Name of an uploaded buffer (its extension decides the format).
    lang : str
        Language of the reasons in the rejects file.

    Returns
    -------
    ImportReport
        What was read, rejected and written.

    Raises
    ------
    ValidationFailed
        Bad rows (without ``skip_invalid``) or missing columns; ``details`` is the report.
    UnsupportedFormat, PayloadTooLarge, InvalidParameter
        For unreadable files, too many rows and bad options.
    """
    if rejects is not None:
        _check_rejects_path(rejects)
    table = read_table(path, filename=filename, sheet=sheet, max_rows=max_rows, mapping=mapping)
    return import_table(
        storage,
        table,
        kind=kind,
        crs=crs,
        source=source,
        mapping=mapping,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        rejects=rejects,
        lang=lang,
    )
