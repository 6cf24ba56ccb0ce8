"""The raw table: what a reader makes of a file before any column is mapped.

A :class:`RawTable` holds the file's headers and one :class:`RawRecord` per data row,
each with the row number the user sees, the cell values by the file's own headers
and, for files with geometry, the point as read. The cell helpers here
(:func:`_empty`, :func:`_cell_str`) are shared by the readers and the conversion.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any


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


def _cell_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
