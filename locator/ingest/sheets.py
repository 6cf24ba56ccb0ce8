"""Readers of the grid formats, CSV and XLSX, into a :class:`~.table.RawTable`.

Both are read row by row and stop at the first row past a limit: a CSV file is
streamed line by line once its encoding is known (UTF-16 with a byte order mark,
UTF-8 or GB18030) and its delimiter sniffed; an XLSX workbook is checked as a zip
archive first, then its sheet is read through openpyxl's read-only reader. The
header is found among the first rows (:func:`~.columns._header_row`), so the row
numbers stay those of the sheet.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from ..errors import InvalidParameter, LocatorError, PayloadTooLarge, UnsupportedFormat
from . import limits
from .columns import _HEADER_SEARCH_ROWS, _header_row
from .limits import _check_zip, _open_zip
from .table import RawRecord, RawTable, _cell_str, _empty


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
    head: list[list[Any]] = []
    for cells in rows:
        head.append(list(cells))
        if len(head) >= _HEADER_SEARCH_ROWS:
            break
    header_idx = _header_row(head, mapping)
    if header_idx is None:
        return RawTable([], [], fmt)
    headers = _unique_headers(_header_cells(head[header_idx], header_idx + 1))
    most = min(max_rows, limits.MAX_CELLS // max(len(headers), 1))
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
                f"the file has more than {limits.MAX_CELLS} cells: {len(headers)} columns "
                f"from row {index + 1} on; delete unused columns or split it into smaller files",
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
    if len(cells) <= limits.MAX_COLUMNS:
        return cells
    end = len(cells)
    while end and _empty(cells[end - 1]):
        end -= 1
    if end > limits.MAX_COLUMNS:
        raise PayloadTooLarge(
            f"the header row (row {row}) has {end} columns, more than the "
            f"{limits.MAX_COLUMNS} one import reads; delete the unused columns",
            field="file",
        )
    return cells[:end]


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _decode_error(stream: BinaryIO, encoding: str) -> tuple[str, int] | None:
    """(reason, byte offset) of the first error decoding the whole stream, or None.

    The stream is decoded in chunks and nothing is kept.
    """
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    while True:
        chunk = stream.read(limits._CHUNK)
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
    while line := text.readline(limits.MAX_CSV_LINE + 1):
        number += 1
        if len(line) > limits.MAX_CSV_LINE:
            raise PayloadTooLarge(
                f"line {number} of the CSV file is longer than "
                f"{limits.MAX_CSV_LINE} characters; is it a CSV file?",
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
                last_row=limits.EXCEL_LAST_ROW,
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
