"""The import pipeline: convert a read table, then write it through storage.

:func:`rows_to_facilities` converts and validates without storage;
:func:`import_table` also checks each given id against the stored owner of its
(source, source_id), writes the rejects file when asked, refuses a file with bad
rows unless ``skip_invalid``, and writes the valid facilities in one transaction
(or, in a dry run, has storage count what would change without writing);
:func:`import_file` reads the file first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..editing import EDITABLE_FIELDS
from ..errors import NotFound, ValidationFailed
from ..model import Facility
from .convert import _convert
from .limits import DEFAULT_MAX_ROWS
from .readers import read_table
from .rejects import _check_rejects_path, _write_rejects
from .report import ImportReport, RowIssue
from .table import RawTable


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


def prepare_table(
    storage: Any,
    table: RawTable,
    *,
    kind: str | None = None,
    crs: str | None = "wgs84",
    source: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> tuple[list[Facility], list[int], ImportReport]:
    """Convert and validate a read table against storage: the valid facilities, their
    row numbers and the report (a given id that clashes with the stored owner of its
    source and source id is a row error). What an import writes and a comparison
    compares (:mod:`locator.sync`)."""
    facilities, rows, report = _convert(
        table, kind=kind, crs=crs, source=source, mapping=mapping, admin_index=storage.admin_index()
    )
    clashes = set(_check_source_owners(storage, facilities, rows, report))
    if clashes:
        facilities = [f for j, f in enumerate(facilities) if j not in clashes]
        rows = [r for j, r in enumerate(rows) if j not in clashes]
        report.valid = len(facilities)
    facilities = storage.resolve_ids(facilities)
    stored = {f.id: f for f in storage.facilities_by_id([f.id for f in facilities])}
    carried = carried_fields(report)
    facilities = [
        keep_uncarried(f, stored[f.id], carried) if f.id in stored else f for f in facilities
    ]
    return facilities, rows, report


def carried_fields(report: ImportReport) -> frozenset[str]:
    """Our fields the file has columns for (kind and the point always count)."""
    return frozenset(report.columns) | {"kind", "lon", "lat"}


def keep_uncarried(incoming: Facility, stored: Facility, carried: frozenset[str]) -> Facility:
    """``incoming`` with the stored values of the fields the file has no column for: a
    list without phone numbers or statuses neither erases nor reopens anything."""
    kept = {name: getattr(stored, name) for name in EDITABLE_FIELDS if name not in carried}
    if "lon" not in carried:
        kept.pop("lat", None)
    return incoming.replace(**kept)


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
    actor: str | None = None,
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
    actor : str, optional
        Who the history records for these writes (``import:<file>`` from
        :func:`import_file`).

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
    facilities, _rows, report = prepare_table(
        storage, table, kind=kind, crs=crs, source=source, mapping=mapping
    )
    report.dry_run = dry_run
    if rejects is not None:
        _write_rejects(table, report, rejects, lang)
    if report.errors and not skip_invalid:
        raise ValidationFailed(
            f"{report.rejected} of {report.rows} rows have errors; nothing was imported",
            details=report.to_dict(),
        )
    if dry_run or facilities:
        result = storage.upsert_facilities(facilities, dry_run=dry_run, actor=actor)
        report.inserted = len(result.inserted)
        report.updated = len(result.updated)
        report.unchanged = len(result.unchanged)
        report.data_version = result.data_version
        report.written = not dry_run
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
    actor: str | None = None,
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
    actor : str, optional
        Who the history records (default ``import:<file name>``).

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
        actor=actor or _import_actor(path, filename),
    )


def _import_actor(path: Any, filename: str | None) -> str | None:
    """``import:<file name>`` for the history, when the file has a name."""
    if filename:
        return f"import:{os.path.basename(filename)}"
    if isinstance(path, str | os.PathLike):
        return f"import:{os.path.basename(os.fspath(path))}"
    return "import"
