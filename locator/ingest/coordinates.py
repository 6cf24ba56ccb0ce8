"""The coordinate stage of the conversion: read, check and convert every row's point.

Each row's point comes from the file's geometry, a lon/lat column pair or one
combined "lon,lat" column, with degrees written as numbers or text
(:func:`parse_coordinate`). Points outside :data:`CHINA_BOUNDS` are refused (with a
hint when lon and lat look swapped), and the rest are converted from the input
datum to WGS-84 in one vectorised call. Problems go to the caller's ``add``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..crs import to_wgs84
from .columns import ColumnMap
from .report import ImportReport
from .table import RawRecord, RawTable, _empty

#: (west, south, east, north): coordinates outside this box are rejected.
CHINA_BOUNDS = (73.0, 18.0, 135.1, 53.6)

#: Records one row issue: ``add(row, field, column, message, value, message_zh=None)``.
AddIssue = Callable[..., None]

_GEOMETRY_COLUMNS = ("geometry", "geometry")


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


@dataclass
class _Points:
    """The rows' points: as read (``lon``, ``lat``; NaN where unreadable), the columns
    they came from, which are usable (``ok``) and the same in WGS-84 (``lon_w``, ``lat_w``)."""

    lon: np.ndarray
    lat: np.ndarray
    columns: list[tuple[str | None, str | None]]
    ok: np.ndarray | None = None
    lon_w: np.ndarray | None = None
    lat_w: np.ndarray | None = None


def _read_points(table: RawTable, cmap: ColumnMap, add: AddIssue) -> _Points:
    """Every record's point as read, reporting the missing and unreadable ones."""
    n = len(table.records)
    points = _Points(np.full(n, np.nan), np.full(n, np.nan), [])
    for i, rec in enumerate(table.records):
        points.lon[i], points.lat[i], columns = _record_point(rec, table, cmap, add)
        points.columns.append(columns)
    return points


def _record_point(
    rec: RawRecord, table: RawTable, cmap: ColumnMap, add: AddIssue
) -> tuple[float, float, tuple[str | None, str | None]]:
    """One record's (lon, lat) as read, NaN where missing or unreadable, and the
    (lon, lat) columns it came from: its geometry, the column pair or the combined one."""
    if table.has_geometry and (rec.point is not None or rec.geometry_error):
        if rec.geometry_error:
            add(
                rec.row,
                "geometry",
                "geometry",
                rec.geometry_error,
                None,
                "几何图形必须是点(Point)",
            )
            return math.nan, math.nan, _GEOMETRY_COLUMNS
        return rec.point[0], rec.point[1], _GEOMETRY_COLUMNS
    lon_header = cmap.fields.get("lon")
    lat_header = cmap.fields.get("lat")
    if lon_header and lat_header:
        lon = _column_degrees(rec, "lon", lon_header, add)
        lat = _column_degrees(rec, "lat", lat_header, add)
        return lon, lat, (lon_header, lat_header)
    if cmap.coordinates:
        header = cmap.coordinates
        return (*_combined_point(rec, header, add), (header, header))
    add(
        rec.row,
        "geometry",
        "geometry",
        "the feature has no geometry",
        None,
        "该要素没有几何图形（坐标）",
    )
    return math.nan, math.nan, _GEOMETRY_COLUMNS


def _column_degrees(rec: RawRecord, name: str, header: str, add: AddIssue) -> float:
    """The ``lon`` or ``lat`` of a record from its own column, NaN when missing or bad."""
    value = rec.values.get(header)
    if _empty(value):
        add(rec.row, name, header, f"{name} is required", value)
        return math.nan
    try:
        return parse_coordinate(value)
    except ValueError:
        add(rec.row, name, header, f"{name} must be a number, got {value!r}", value)
        return math.nan


def _combined_point(rec: RawRecord, header: str, add: AddIssue) -> tuple[float, float]:
    """(lon, lat) of a record from one "lon,lat" column (or a list), NaN when missing
    or bad."""
    value = rec.values.get(header)
    if _empty(value):
        add(rec.row, "lon", header, "coordinates are required", value, "坐标不能为空")
        return math.nan, math.nan
    parts = (
        list(value)
        if isinstance(value, list | tuple)
        else [p for p in re.split(r"[,，;；\s]+", str(value).strip()) if p]
    )
    try:
        if len(parts) != 2:
            raise ValueError(value)
        return parse_coordinate(parts[0]), parse_coordinate(parts[1])
    except ValueError:
        add(
            rec.row,
            "lon",
            header,
            f"coordinates must be 'lon,lat' like 117.23,31.82, got {value!r}",
            value,
            f"坐标应写作“经度,纬度”，如 117.23,31.82，实际为 {value!r}",
        )
        return math.nan, math.nan


def _check_bounds(points: _Points, records: list[RawRecord], add: AddIssue) -> None:
    """Mark the usable points (``points.ok``): read, and inside :data:`CHINA_BOUNDS`."""
    ok = np.isfinite(points.lon) & np.isfinite(points.lat)
    for i in np.flatnonzero(ok):
        lon, lat = float(points.lon[i]), float(points.lat[i])
        if _in_china(lon, lat):
            continue
        ok[i] = False
        lon_col, lat_col = points.columns[i]
        _outside_china(records[i].row, lon, lat, lon_col, lat_col, add)
    points.ok = ok


def _outside_china(
    row: int, lon: float, lat: float, lon_col: str | None, lat_col: str | None, add: AddIssue
) -> None:
    """Report a point outside China: swapped lon and lat, or the coordinate out of range."""
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
        return
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


def _to_wgs84(points: _Points, datum: str, report: ImportReport) -> None:
    """Convert the usable points from ``datum`` to WGS-84 (``points.lon_w``, ``lat_w``)."""
    points.lon_w = points.lon.copy()
    points.lat_w = points.lat.copy()
    if points.ok.any():
        points.lon_w[points.ok], points.lat_w[points.ok] = to_wgs84(
            points.lon[points.ok], points.lat[points.ok], datum
        )
    if datum != "wgs84":
        report.note(
            f"coordinates converted from {datum.upper()} to WGS-84",
            f"坐标已从 {datum.upper()} 转换为 WGS-84",
        )
