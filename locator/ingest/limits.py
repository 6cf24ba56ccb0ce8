"""How much one import reads, and the checks that hold a file to it.

The constants are read at call time as attributes of this module (tests lower them
with ``monkeypatch.setattr(limits, ...)``). Besides the size checks of text files
and tables, this module opens zip archives (Zip files and XLSX workbooks) safely:
:func:`_check_zip` refuses a bomb from the member headers before anything is
unpacked, and :func:`_unpack` writes a member through a stream that stops at its
declared size.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

from ..errors import PayloadTooLarge, UnsupportedFormat

#: Most data rows one import accepts.
DEFAULT_MAX_ROWS = 200_000

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

_CHUNK = 1 << 20


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


def _nested_zip(name: str) -> UnsupportedFormat:
    """The refusal of a zip archive found inside another."""
    return UnsupportedFormat(
        f"the zip archive holds another zip archive ({name!r}); unzip "
        "it and import the files inside",
        field="file",
    )
