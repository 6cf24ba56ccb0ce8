"""Conversion of a raw table into valid facilities and a report of every problem.

:func:`_convert` runs the stages in order: map the columns and check the required
ones (:func:`_start`, :func:`_check_columns`); read, bound-check and datum-convert
the points (:mod:`.coordinates`); decide what the ``id`` column holds
(:func:`_id_role`); turn each row's cells into field values, give it its identity
and validate it (:func:`_convert_rows`); drop rows that repeat an id or a
(source, source_id) of an earlier row (:func:`_drop_duplicates`); warn about
points outside the loaded cities and unreadable hours (:func:`_warn`); and sort
the issues and note the columns not used (:func:`_finish`). Every bad field of
every row is reported, in English and Chinese.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..crs import normalize_crs
from ..errors import InvalidParameter, ValidationFailed
from ..hours import is_valid_hours
from ..messages import translated
from ..model import (
    KINDS,
    Facility,
    parse_amenity,
    parse_kind,
    validate_facility,
)
from .columns import FIELD_ALIASES, FIELD_LABELS_ZH, FIELDS, ColumnMap, map_columns
from .coordinates import _check_bounds, _Points, _read_points, _to_wgs84
from .report import ImportReport, RowIssue
from .table import RawRecord, RawTable, _cell_str, _empty

#: (source, source_id, "hash" or "given"): what makes a row's facility unique in a source.
_RowKey = tuple[str, str, str]

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
    "parking_fee",
    "parking_fee_note",
    "tier",
)
#: Date fields: Excel day numbers are read as dates.
_DATE_FIELDS = ("opened_on", "closed_until", "verified_on")
_AMENITY_SEPARATORS = ",，、;；|/ "
_FORMULA_ESCAPE = re.compile(r"^'(?=[=+\-@\t\r])")


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


@dataclass
class _Conversion:
    """What the stages of one conversion share: the table, its column map, the
    defaults, the report being built and the row errors found so far."""

    table: RawTable
    cmap: ColumnMap
    report: ImportReport
    datum: str
    default_kind: str | None
    default_source: str
    errors: list[RowIssue] = field(default_factory=list)
    #: What the ``id`` column holds: ``id``, ``source_id`` (the file's own numbering) or
    #: None (no id column).
    id_role: str | None = None

    @property
    def fields(self) -> dict[str, str]:
        """Our field -> the file's header."""
        return self.cmap.fields

    @property
    def unescape(self) -> bool:
        """Whether a ``'`` guarding a formula is dropped from text (CSV files)."""
        return self.table.format == "csv"

    def add(
        self,
        row: int,
        name: str | None,
        column: str | None,
        message: str,
        value: Any,
        zh: str | None = None,
    ) -> None:
        """Record a row error (in Chinese too: ``zh`` or the rendering of ``message``)."""
        self.errors.append(
            RowIssue(row, name, column, message, value, zh or translated(message, "zh"))
        )


def _start(
    table: RawTable,
    *,
    kind: str | None,
    crs: str | None,
    source: str | None,
    mapping: Mapping[str, Any] | None,
) -> _Conversion:
    """Read the options, map the columns and start the report with the table's notes."""
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
    report.columns = cmap.used()
    if table.has_geometry:
        report.columns.setdefault("lon", "(geometry)")
        report.columns.setdefault("lat", "(geometry)")
    return _Conversion(table, cmap, report, datum, default_kind, default_source)


def _check_columns(conv: _Conversion) -> None:
    """Refuse a table with data rows but without a required column (name, the point,
    kind without a default): :class:`ValidationFailed` with a report of each."""
    table, fields = conv.table, conv.fields
    missing: list[RowIssue] = []
    needed = ["name"]
    if not table.has_geometry and conv.cmap.coordinates is None:
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
    if "kind" not in fields and conv.default_kind is None:
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
        raise _structural_error(conv.report, missing)


def _id_role(conv: _Conversion) -> str | None:
    """What the ``id`` column holds: facility ids when the file also has ``source_id``,
    when every id has a ``:`` or when the mapping names it; else the file's own numbering
    (``source_id``, with a note); None without an id column."""
    id_header = conv.fields.get("id")
    if id_header is None:
        return None
    values = [_text(r.values.get(id_header), conv.unescape) for r in conv.table.records]
    values = [v.strip() for v in values if v and v.strip()]
    if "id" in conv.cmap.explicit or "source_id" in conv.fields or all(":" in v for v in values):
        return "id"
    conv.report.note(
        f"column {id_header!r} is the file's own numbering: it is used as source_id "
        f"(ids become {conv.default_source}:<value>); map it explicitly as id to use its "
        "values as facility ids",
        f"“{id_header}”列是文件自己的编号，作为原编号(source_id)使用（站点 id 为 "
        f"{conv.default_source}:编号）；如需直接作为站点 id，请在列映射中指定 id",
    )
    return "source_id"


def _convert_rows(
    conv: _Conversion, points: _Points
) -> tuple[dict[int, Facility], list[str | None], list[_RowKey | None]]:
    """Every row's values, identity and validation: the valid facilities by position,
    and each row's stored id and (source, source_id) key for the duplicate check."""
    n = len(conv.table.records)
    facilities: dict[int, Facility] = {}
    row_ids: list[str | None] = [None] * n
    row_keys: list[_RowKey | None] = [None] * n
    for i, rec in enumerate(conv.table.records):
        data, amenity_problems = _row_values(conv, rec)
        located = bool(points.ok[i])
        row_ids[i], row_keys[i] = _row_identity(conv, data, located, points.lon[i], points.lat[i])
        data["lon"], data["lat"] = (
            (float(points.lon_w[i]), float(points.lat_w[i]))
            if located
            else (_PLACEHOLDERS["lon"], _PLACEHOLDERS["lat"])
        )
        facility = _validate_row(conv, rec, data, amenity_problems)
        if facility is not None and not amenity_problems and located:
            facilities[i] = facility
    return facilities, row_ids, row_keys


def _row_values(conv: _Conversion, rec: RawRecord) -> tuple[dict[str, Any], list[str]]:
    """A row's cells as our fields' values (text cleaned, kind defaulted, dates read,
    amenities parsed), and the messages of the amenities that could not be read."""
    fields, unescape = conv.fields, conv.unescape
    data: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        header = fields.get(name)
        data[name] = _text(rec.values.get(header), unescape) if header else None
    kind_value = rec.values.get(fields["kind"]) if "kind" in fields else None
    data["kind"] = conv.default_kind if _empty(kind_value) else _text(kind_value, unescape)
    data["status"] = (
        _text(rec.values.get(fields["status"]), unescape) if "status" in fields else None
    )
    if "truck_parking_spaces" in fields:
        data["truck_parking_spaces"] = rec.values.get(fields["truck_parking_spaces"])
    for name in _DATE_FIELDS:
        if name in fields:
            day = rec.values.get(fields[name])
            data[name] = (
                _excel_date(day)
                if conv.table.format == "xlsx"
                else (_text(day, unescape) if not isinstance(day, dt.date) else day)
            )
    amenity_problems: list[str] = []
    if "amenities" in fields and not _empty(rec.values.get(fields["amenities"])):
        good = []
        for item in _split_items(rec.values[fields["amenities"]]):
            try:
                good.append(parse_amenity(item))
            except InvalidParameter as exc:
                amenity_problems.append(exc.message)
        data["amenities"] = good
    return data, amenity_problems


def _row_identity(
    conv: _Conversion, data: dict[str, Any], located: bool, lon: float, lat: float
) -> tuple[str | None, _RowKey | None]:
    """Settle a row's ``id``, ``source`` and ``source_id`` in ``data`` (a ``source_id``
    hashed from name and position when it has neither id): its stored id and its key."""
    fields = conv.fields
    identifier = data["id"]
    if conv.id_role == "source_id":
        data["id"] = None
        if "source_id" not in fields:
            data["source_id"] = identifier
    row_id = data["id"].strip() if data["id"] else None
    if "source" in fields:
        if data["source"] is None and not data["id"]:
            data["source"] = conv.default_source
    else:
        data["source"] = conv.default_source
    hashed = False
    if (
        not data["id"]
        and not data["source_id"]
        and located
        and data["name"]
        and data["name"].strip()
    ):
        data["source_id"] = _hash_id(data["name"], lon, lat)
        hashed = True
    row_key = None
    if data["source_id"] and data["source"]:
        row_key = (
            data["source"].strip(),
            data["source_id"].strip(),
            "hash" if hashed else "given",
        )
    return row_id, row_key


def _validate_row(
    conv: _Conversion, rec: RawRecord, data: dict[str, Any], amenity_problems: list[str]
) -> Facility | None:
    """Validate a row's values, reporting its bad amenities and every bad field: the
    facility, or None."""
    fields = conv.fields
    facility, problems = _validate_all(data)
    for message in amenity_problems:
        conv.add(
            rec.row,
            "amenities",
            fields["amenities"],
            message,
            rec.values.get(fields["amenities"]),
        )
    for name, message in problems:
        if name == "source_id" and conv.id_role == "source_id" and "source_id" not in fields:
            name = "id"
        header = fields.get(name)
        if name == "source" and "source" not in fields:
            header = None
        conv.add(
            rec.row, name, header, message, rec.values.get(header) if header else data.get(name)
        )
    return facility


def _drop_duplicates(
    conv: _Conversion,
    facilities: dict[int, Facility],
    row_ids: list[str | None],
    row_keys: list[_RowKey | None],
) -> None:
    """Report and drop the rows that repeat the id or the (source, source_id) of an
    earlier row."""
    first_id: dict[str, int] = {}
    first_key: dict[tuple[str, str], int] = {}
    for i, rec in enumerate(conv.table.records):
        row_id, row_key = row_ids[i], row_keys[i]
        if row_id:
            if row_id in first_id:
                _duplicate_id(conv, rec, row_id, first_id[row_id])
                facilities.pop(i, None)
            else:
                first_id[row_id] = rec.row
        if row_key is not None:
            key = row_key[:2]
            if key in first_key:
                _duplicate_key(conv, rec, row_key, first_key[key])
                facilities.pop(i, None)
            else:
                first_key[key] = rec.row


def _duplicate_id(conv: _Conversion, rec: RawRecord, row_id: str, first: int) -> None:
    """Report a row whose id row ``first`` has too."""
    conv.add(
        rec.row,
        "id",
        conv.fields.get("id"),
        f"duplicate id {row_id!r}: row {first} has it too",
        row_id,
        f"编号“{row_id}”重复：第 {first} 行已使用",
    )


def _duplicate_key(conv: _Conversion, rec: RawRecord, row_key: _RowKey, first: int) -> None:
    """Report a row whose (source, source_id) row ``first`` has too: a repeated row when
    the source_id was hashed from name and position."""
    fields = conv.fields
    _source_name, source_id, origin = row_key
    if origin == "hash":
        conv.add(
            rec.row,
            "name",
            fields.get("name"),
            f"same name and position as row {first} (a duplicate row)",
            rec.values.get(fields.get("name", "")),
            f"与第 {first} 行名称和位置相同（重复行）",
        )
        return
    name = "id" if conv.id_role == "source_id" and "source_id" not in fields else "source_id"
    header = fields.get("id") if name == "id" else fields.get("source_id")
    conv.add(
        rec.row,
        name,
        header,
        f"duplicate {name} {source_id!r}: row {first} has it too",
        source_id,
        f"{FIELD_LABELS_ZH[name]}“{source_id}”重复：第 {first} 行已使用",
    )


def _warn(
    conv: _Conversion,
    good: list[Facility],
    rows: list[int],
    columns: list[str | None],
    admin_index: Any,
) -> None:
    """Warn about valid facilities outside every loaded city and hours that "open now"
    cannot read; ``rows`` and ``columns`` are their rows and longitude columns."""
    warnings = conv.report.warnings
    for j in _locate_outside(admin_index, good) or []:
        f = good[j]
        warnings.append(
            RowIssue(
                rows[j],
                "lon",
                columns[j],
                f"{f.name!r} at {f.lon:.6f}, {f.lat:.6f} is outside every loaded city; check the "
                "coordinates and the crs option",
                f.lon,
                f"“{f.name}”({f.lon:.6f}, {f.lat:.6f}) 不在已载入的任何城市范围内，"
                "请核对坐标和坐标系",
            )
        )
    for f, row in zip(good, rows, strict=True):
        if f.hours and not is_valid_hours(f.hours):
            warnings.append(
                RowIssue(
                    row,
                    "hours",
                    conv.fields.get("hours"),
                    f"hours {f.hours!r} cannot be read, so {f.name!r} never shows as open now; "
                    "write them like 24小时, 每天8:00-20:00, 周一至周五 9:00-17:00 or in "
                    "OpenStreetMap opening_hours syntax",
                    f.hours,
                    f"营业时间“{f.hours}”无法识别，“{f.name}”将不会显示为营业中；请写成"
                    "“24小时”“每天8:00-20:00”“周一至周五 9:00-17:00”等形式",
                )
            )
    warnings.sort(key=_issue_order)


def _issue_order(issue: RowIssue) -> tuple[int, int]:
    """Issues sort by row, then by our field order."""
    return (issue.row or 0, FIELDS.index(issue.field) if issue.field in FIELDS else 99)


def _finish(conv: _Conversion, valid: int) -> None:
    """Put the sorted errors in the report, with the valid count and the notes on
    columns not used, ignored or matched twice."""
    report, cmap = conv.report, conv.cmap
    conv.errors.sort(key=_issue_order)
    report.errors = conv.errors
    report.valid = valid
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


def _convert(
    table: RawTable,
    *,
    kind: str | None,
    crs: str | None,
    source: str | None,
    mapping: Mapping[str, Any] | None,
    admin_index: Any,
) -> tuple[list[Facility], list[int], ImportReport]:
    """Map, convert and validate ``table``: the valid facilities in file order, their
    row numbers and the report (see :func:`~.pipeline.rows_to_facilities`)."""
    conv = _start(table, kind=kind, crs=crs, source=source, mapping=mapping)
    _check_columns(conv)
    if not table.records:
        conv.report.note("the file has no data rows", "文件中没有数据行")
        return [], [], conv.report
    points = _read_points(table, conv.cmap, conv.add)
    _check_bounds(points, table.records, conv.add)
    _to_wgs84(points, conv.datum, conv.report)
    conv.id_role = _id_role(conv)
    facilities, row_ids, row_keys = _convert_rows(conv, points)
    _drop_duplicates(conv, facilities, row_ids, row_keys)
    order = sorted(facilities)
    good = [facilities[i] for i in order]
    rows = [table.records[i].row for i in order]
    _warn(conv, good, rows, [points.columns[i][0] for i in order], admin_index)
    _finish(conv, len(good))
    return good, rows, conv.report
