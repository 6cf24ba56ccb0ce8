"""Export of facilities to GeoJSON, CSV, Excel and GeoPackage files.

Every export can be imported again by :mod:`locator.ingest` and gives the same
facilities back: same ids, fields, amenities and dates, and coordinates to well
below 1e-7 degrees (floats are written in full). The derived admin fields (city,
county, township) and the bookkeeping fields (``updated_at``, ``version``) are
written for people to read; the importer ignores them. Tables have Chinese headers
and labels by default (``headers="zh"``), so that union staff can edit an export in
Excel and import it back; ``headers="en"`` writes field names and keys.

Spreadsheet safety: text cells that a spreadsheet would run as a formula (those
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) are written
to CSV with a leading apostrophe, which the importer removes again; in XLSX they
are stored as typed text cells, which Excel never evaluates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from .crs import from_wgs84, normalize_crs
from .errors import InvalidParameter
from .model import AMENITIES, KINDS, PARKING_FEES, STATUSES, TIERS, Facility

__all__ = [
    "COLUMNS",
    "EXPORT_FORMATS",
    "HEADERS_ZH",
    "MEDIA_TYPES",
    "export_facilities",
    "export_format",
    "facilities_geojson",
    "facility_table",
]

#: Export formats and their file extensions.
EXPORT_FORMATS: dict[str, str] = {
    "geojson": ".geojson",
    "csv": ".csv",
    "xlsx": ".xlsx",
    "gpkg": ".gpkg",
}

#: HTTP media types of the export formats, for download responses.
MEDIA_TYPES: dict[str, str] = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
}

_EXTENSIONS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".gpkg": "gpkg",
}

#: Columns of the tabular exports, in order.
COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "kind",
    "status",
    "lon",
    "lat",
    "address",
    "phone",
    "operator",
    "website",
    "hours",
    "amenities",
    "truck_parking_spaces",
    "opened_on",
    "parking_fee",
    "parking_fee_note",
    "tier",
    "closed_until",
    "verified_on",
    "city",
    "city_code",
    "county",
    "county_code",
    "township",
    "township_code",
    "source",
    "source_id",
    "updated_at",
    "version",
)

#: Chinese headers (``headers="zh"``, the default); :mod:`locator.ingest` recognises every
#: one of them.
HEADERS_ZH: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "kind": "类型",
    "status": "状态",
    "lon": "经度",
    "lat": "纬度",
    "address": "地址",
    "phone": "联系电话",
    "operator": "运营单位",
    "website": "网址",
    "hours": "营业时间",
    "amenities": "服务设施",
    "truck_parking_spaces": "货车停车位",
    "opened_on": "建成时间",
    "parking_fee": "停车收费",
    "parking_fee_note": "停车收费说明",
    "tier": "建设类型",
    "closed_until": "暂停营业至",
    "verified_on": "核实日期",
    "city": "城市",
    "city_code": "城市代码",
    "county": "区县",
    "county_code": "区县代码",
    "township": "乡镇街道",
    "township_code": "乡镇街道代码",
    "source": "来源",
    "source_id": "原编号",
    "updated_at": "更新时间",
    "version": "版本",
}

_TEXT_FIELDS = frozenset(
    {
        "id",
        "name",
        "address",
        "phone",
        "operator",
        "website",
        "hours",
        "city",
        "city_code",
        "county",
        "county_code",
        "township",
        "township_code",
        "source",
        "source_id",
        "kind",
        "status",
        "amenities",
        "parking_fee",
        "parking_fee_note",
        "tier",
    }
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_format(target: Any, fmt: str | None = None) -> str:
    """The export format for ``fmt`` or, when it is None, for the file name's extension.

    Parameters
    ----------
    target : str, os.PathLike or file-like
        Where the export goes; its extension decides when ``fmt`` is None.
    fmt : str, optional
        ``geojson``, ``csv``, ``xlsx`` or ``gpkg`` (case-insensitive).

    Returns
    -------
    str
        One of :data:`EXPORT_FORMATS`.

    Raises
    ------
    InvalidParameter
        For an unknown format or an extension that names none (field ``format``).
    """
    if fmt is not None:
        key = str(fmt).strip().lower().lstrip(".")
        if key == "json":
            key = "geojson"
        if key not in EXPORT_FORMATS:
            raise InvalidParameter(
                f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}",
                field="format",
            )
        return key
    name = target if isinstance(target, str | os.PathLike) else getattr(target, "name", None)
    if not isinstance(name, str | os.PathLike):
        raise InvalidParameter(
            f"give the export format: one of {', '.join(EXPORT_FORMATS)}", field="format"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise InvalidParameter(
            f"cannot tell the export format from the extension {suffix or '(none)'!r}; "
            f"use {', '.join(sorted(_EXTENSIONS))} or give the format",
            field="format",
        )
    return _EXTENSIONS[suffix]


def _check_headers(headers: str) -> str:
    key = str(headers).strip().lower()
    if key not in ("en", "zh"):
        raise InvalidParameter(f"headers must be 'en' or 'zh', not {headers!r}", field="headers")
    return key


def _coordinates(facilities: Sequence[Facility], crs: str) -> tuple[list[float], list[float]]:
    datum = normalize_crs(crs)
    lons = [f.lon for f in facilities]
    lats = [f.lat for f in facilities]
    if datum == "wgs84" or not facilities:
        return lons, lats
    out_lon, out_lat = from_wgs84(lons, lats, datum)
    return [float(v) for v in out_lon], [float(v) for v in out_lat]


def _label(vocabulary: dict[str, dict[str, str]], key: str | None, lang: str) -> str | None:
    if key is None:
        return None
    return vocabulary.get(key, {}).get("zh", key) if lang == "zh" else key


def facility_table(
    facilities: Iterable[Facility], *, crs: str = "wgs84", headers: str = "zh"
) -> tuple[list[str], list[list[Any]]]:
    """The tabular form of facilities: header names and one row of Python values each.

    Parameters
    ----------
    facilities : iterable of Facility
        What to export, in order.
    crs : str
        Datum of the written coordinates (``wgs84``, ``gcj02`` or ``bd09``).
    headers : str
        ``zh`` (default) for Chinese headers and Chinese labels of kind, status,
        amenities, tier and parking fee, ``en`` for the field names and keys (both
        import back exactly).

    Returns
    -------
    tuple of (list of str, list of list)
        Headers in :data:`COLUMNS` order and rows with floats, ints, dates, strings
        and None; amenities joined with ``;``.
    """
    lang = _check_headers(headers)
    items = list(facilities)
    lons, lats = _coordinates(items, crs)
    names = [HEADERS_ZH[c] if lang == "zh" else c for c in COLUMNS]
    rows = []
    for f, lon, lat in zip(items, lons, lats, strict=True):
        values = {
            "id": f.id,
            "name": f.name,
            "kind": _label(KINDS, f.kind, lang),
            "status": _label(STATUSES, f.status, lang),
            "lon": lon,
            "lat": lat,
            "address": f.address,
            "phone": f.phone,
            "operator": f.operator,
            "website": f.website,
            "hours": f.hours,
            "amenities": ";".join(_label(AMENITIES, a, lang) for a in sorted(f.amenities)),
            "truck_parking_spaces": f.truck_parking_spaces,
            "opened_on": f.opened_on,
            "parking_fee": _label(PARKING_FEES, f.parking_fee, lang),
            "parking_fee_note": f.parking_fee_note,
            "tier": _label(TIERS, f.tier, lang),
            "closed_until": f.closed_until,
            "verified_on": f.verified_on,
            "city": f.city,
            "city_code": f.city_code,
            "county": f.county,
            "county_code": f.county_code,
            "township": f.township,
            "township_code": f.township_code,
            "source": f.source,
            "source_id": f.source_id,
            "updated_at": f.updated_at.isoformat() if f.updated_at else None,
            "version": f.version,
        }
        rows.append([values[c] for c in COLUMNS])
    return names, rows


def facilities_geojson(facilities: Iterable[Facility], *, crs: str = "wgs84") -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946) of facilities.

    Parameters
    ----------
    facilities : iterable of Facility
        What to export.
    crs : str
        Datum of the coordinates; RFC 7946 asks for ``wgs84`` (the default).

    Returns
    -------
    dict
        The FeatureCollection, with every property and amenities as a list.
    """
    items = list(facilities)
    lons, lats = _coordinates(items, crs)
    features = []
    for f, lon, lat in zip(items, lons, lats, strict=True):
        feature = f.to_feature()
        feature["geometry"]["coordinates"] = [lon, lat]
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def _csv_cell(name: str, value: Any, text_columns: frozenset[str]) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if name in text_columns and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _write_csv(
    names: list[str],
    rows: list[list[Any]],
    stream: IO[str],
    columns: Sequence[str] = COLUMNS,
    text_columns: frozenset[str] = _TEXT_FIELDS,
) -> None:
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_csv_cell(c, v, text_columns) for c, v in zip(columns, row, strict=True)])


def _display_width(value: Any) -> int:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_xlsx(
    names: list[str],
    rows: list[list[Any]],
    target: Any,
    sheet: str,
    columns: Sequence[str] = COLUMNS,
) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for j, name in enumerate(names):
        sample = [name] + [row[j] for row in rows[:2000] if row[j] is not None]
        width = max(_display_width(v) for v in sample) + 2
        ws.column_dimensions[get_column_letter(j + 1)].width = min(max(width, 8), 60)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        ws.append(cells)
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{len(rows) + 1}"
    wb.save(target)


def _write_gpkg(
    facilities: list[Facility], names: list[str], rows: list[list[Any]], path: Path, crs: str
) -> None:
    import geopandas as gpd
    import pandas as pd
    import shapely

    lons, lats = _coordinates(facilities, crs)
    data: dict[str, Any] = {}
    for j, (column, name) in enumerate(zip(COLUMNS, names, strict=True)):
        if column in ("lon", "lat"):
            continue
        values = [row[j] for row in rows]
        if column in ("truck_parking_spaces", "version"):
            data[name] = pd.array(values, dtype="Int64")
        else:
            data[name] = pd.array(
                [None if v is None else _csv_text(v) for v in values], dtype=object
            )
    geometry = shapely.points(lons, lats) if facilities else []
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"))
    frame.to_file(path, driver="GPKG", layer="facilities", engine="pyogrio")


def _csv_text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def export_facilities(
    facilities: Iterable[Facility],
    path_or_buffer: Any,
    fmt: str | None = None,
    *,
    crs: str = "wgs84",
    headers: str = "zh",
) -> int:
    """Write facilities to a file or a buffer in one of the export formats.

    Parameters
    ----------
    facilities : iterable of Facility
        What to export, in order.
    path_or_buffer : str, os.PathLike or file-like
        A path, or an open buffer (binary; text also works for GeoJSON and CSV).
    fmt : str, optional
        ``geojson``, ``csv``, ``xlsx`` or ``gpkg``; inferred from the extension when None.
    crs : str
        Datum of the written coordinates: ``wgs84`` (default), ``gcj02`` or ``bd09``.
    headers : str
        ``zh`` (default: Chinese headers and labels, as union staff edit them in
        Excel) or ``en`` (field names and keys) for CSV, XLSX and GPKG; GeoJSON
        always uses the field names.

    Returns
    -------
    int
        The number of facilities written.
    """
    kind = export_format(path_or_buffer, fmt)
    normalize_crs(crs)
    lang = _check_headers(headers)
    items = list(facilities)
    is_path = isinstance(path_or_buffer, str | os.PathLike)
    if kind == "geojson":
        text = json.dumps(facilities_geojson(items, crs=crs), ensure_ascii=False)
        _emit(path_or_buffer, is_path, text.encode("utf-8"), text)
        return len(items)
    names, rows = facility_table(items, crs=crs, headers=lang)
    if kind == "csv":
        stream = io.StringIO(newline="")
        _write_csv(names, rows, stream)
        text = "\ufeff" + stream.getvalue()
        _emit(path_or_buffer, is_path, text.encode("utf-8"), text)
    elif kind == "xlsx":
        target = Path(path_or_buffer) if is_path else path_or_buffer
        _write_xlsx(names, rows, target, "服务站点" if lang == "zh" else "facilities")
    else:
        if is_path:
            target = Path(path_or_buffer)
            if target.exists():
                target.unlink()  # GDAL would add a layer to an existing GeoPackage
            _write_gpkg(items, names, rows, target, crs)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "facilities.gpkg"
                _write_gpkg(items, names, rows, target, crs)
                with target.open("rb") as handle:
                    shutil.copyfileobj(handle, path_or_buffer)
    return len(items)


def table_bytes(
    fmt: str,
    columns: Sequence[str],
    names: list[str],
    rows: list[list[Any]],
    *,
    sheet: str,
) -> bytes:
    """Any table as CSV (UTF-8 with BOM, for Excel) or XLSX bytes; every text cell is
    guarded against being read as a formula."""
    if fmt == "csv":
        stream = io.StringIO(newline="")
        _write_csv(names, rows, stream, columns, frozenset(columns))
        return ("\ufeff" + stream.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        _write_xlsx(names, rows, buffer, sheet, columns)
        return buffer.getvalue()
    raise InvalidParameter(f"unknown table format {fmt!r}; use csv or xlsx", field="format")


def _emit(target: Any, is_path: bool, data: bytes, text: str) -> None:
    if is_path:
        Path(target).write_bytes(data)
    elif isinstance(target, io.TextIOBase):
        target.write(text)
    else:
        target.write(data)
