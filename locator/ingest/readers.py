"""Reading a facility file: :func:`read_table` detects the format and dispatches.

The format comes from the file's extension, or from its first bytes when it has
none (a zip archive or workbook, a GeoPackage, JSON, else CSV). Text formats are
held to :data:`~.limits.MAX_TEXT_BYTES` before they are read; a zip archive is
checked (:func:`~.limits._check_zip`) and then read as the zipped Shapefile or the
one other data file it holds, unpacked to a temporary folder; a zip inside a zip is
refused. Uploads (bytes or buffers) go to a temporary file where GDAL needs a path.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import InvalidParameter, UnsupportedFormat
from ..model import MAX_LENGTHS
from .features import _read_json, _read_ogr
from .limits import (
    DEFAULT_MAX_ROWS,
    _check_text_size,
    _check_zip,
    _nested_zip,
    _open_zip,
    _unpack,
)
from .sheets import _read_csv, _read_xlsx
from .table import RawTable

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

#: Text formats held to :data:`MAX_TEXT_BYTES`, with their names for messages.
_TEXT_KINDS = {"csv": "CSV", "geojson": "GeoJSON"}


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
