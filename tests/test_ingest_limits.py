"""Files built to explode: zip bombs, lying zip headers, million-row sheets, huge CSVs.

Each is a real file in tmp_path, imported through the library and the `locator import`
command against a real SQLite database; the command runs in a child process whose
time and peak memory are measured.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from locator.cli import main
from locator.errors import PayloadTooLarge, UnsupportedFormat
from locator.ingest import (
    DEFAULT_MAX_ROWS,
    MAX_TEXT_BYTES,
    MAX_ZIP_RATIO,
    MAX_ZIP_UNCOMPRESSED,
    import_file,
    limits,
    read_table,
)
from locator.storage import open_storage

#: Most memory the refused imports may take, child process included.
PEAK_MB = 400

#: A child that runs a command and reports its exit status, time and peak memory.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"status": done.returncode, "stderr": done.stderr, "stdout": done.stdout,
                  "seconds": time.perf_counter() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

HEADER = "名称,经度,纬度,类型\n"


def _locator_command() -> Path:
    command = Path(sys.executable).with_name("locator")
    if not command.exists():
        pytest.fail(f"the locator command is not installed next to {sys.executable}")
    return command


def run_import(url: str, path: Path) -> dict:
    """`locator import path` in a child process: status, output, seconds and peak MB."""
    measured = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURE,
            str(_locator_command()),
            "--database",
            url,
            "import",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(measured.stdout)


def snapshot(url: str) -> tuple[int, int]:
    """(data version, facility count) of the database."""
    with open_storage(url) as storage:
        return storage.data_version(), len(storage.facilities())


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    """A SQLite database initialised by `locator init` with the shipped facilities."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'locator.db'}"
    result = CliRunner().invoke(main, ["--database", url, "init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert snapshot(url)[1] > 0
    return url


def assert_refused(url: str, path: Path, *expected: str) -> dict:
    """Run the command on ``path``: refused (status 2) naming ``expected``, quickly, in
    bounded memory, with nothing stored changed."""
    before = snapshot(url)
    result = run_import(url, path)
    assert result["status"] == 2, result
    assert "error [file]:" in result["stderr"]
    for text in expected:
        assert text in result["stderr"], result["stderr"]
    assert result["peak_mb"] < PEAK_MB, result
    assert snapshot(url) == before
    return result


# --------------------------------------------------------------------------- builders


def write_bomb(path: Path, megabytes: int, name: str = "stations.csv") -> Path:
    """A zip holding ``megabytes`` MB of repeated CSV rows, written in chunks."""
    chunk = "站,117.0,31.0,驿站\n".encode() * 40_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(HEADER.encode())
            for _ in range((megabytes << 20) // len(chunk)):
                member.write(chunk)
    return path


def csv_rows(start: int, stop: int) -> bytes:
    return "".join(
        f"站{n},117.{n % 99991:05d},31.{n % 99989:05d},驿站\n" for n in range(start, stop)
    ).encode()


def declare_size(path: Path, name: str, size: int) -> None:
    """Patch the local and central headers of member ``name`` to declare ``size`` bytes."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        at = archive.start_dir
    for info in infos:
        assert data[at : at + 4] == b"PK\x01\x02"
        names, extra, comment = struct.unpack_from("<HHH", data, at + 28)
        if info.filename == name:
            struct.pack_into("<I", data, at + 24, size)
            struct.pack_into("<I", data, info.header_offset + 22, size)
        at += 46 + names + extra + comment
    path.write_bytes(bytes(data))


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_WORKBOOK_PARTS = {
    "[Content_Types].xml": (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{_SHEET_TYPE}.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
        f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets>'
        '<sheet name="站点" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
        f'Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _text(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_rows(start: int, stop: int) -> bytes:
    """Sheet XML of the data rows ``start`` to ``stop - 1`` (name, lon, lat, kind)."""
    return "".join(
        f'<row r="{n}">{_text(f"A{n}", f"站{n}")}<c r="B{n}"><v>117.{n % 99991:05d}</v></c>'
        f'<c r="C{n}"><v>31.{n % 99989:05d}</v></c>{_text(f"D{n}", "驿站")}</row>'
        for n in range(start, stop)
    ).encode()


def write_workbooks(paths: dict[Path, str | None], rows: int, extra: bytes = b"") -> None:
    """Workbooks of ``rows`` data rows below a header, built in one pass: each path with
    its ``<dimension>`` reference (None for none); ``extra`` goes after the rows."""
    header = (
        f'<row r="1">{_text("A1", "名称")}{_text("B1", "经度")}{_text("C1", "纬度")}'
        f"{_text('D1', '类型')}</row>"
    )
    with_sheets = []
    for path, dimension in paths.items():
        archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, text in _WORKBOOK_PARTS.items():
            archive.writestr(name, text)
        sheet = archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        ref = f'<dimension ref="{dimension}"/>' if dimension else ""
        sheet.write(f'{_XML}<worksheet xmlns="{_MAIN}">{ref}<sheetData>{header}'.encode())
        with_sheets.append((archive, sheet))
    for start in range(2, rows + 2, 50_000):
        block = sheet_rows(start, min(start + 50_000, rows + 2))
        for _archive, sheet in with_sheets:
            sheet.write(block)
    for archive, sheet in with_sheets:
        sheet.write(extra + b"</sheetData></worksheet>")
        sheet.close()
        archive.close()


# --------------------------------------------------------------------------- zip archives


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """1,000 MB of CSV rows in a zip of a few MB."""
    path = write_bomb(tmp_path_factory.mktemp("bomb") / "bomb.zip", 1000)
    [member] = zipfile.ZipFile(path).infolist()
    assert member.file_size >= 999 << 20 and path.stat().st_size < 4 << 20
    return path


def test_zip_bomb_is_refused_before_anything_is_unpacked(bomb, database):
    with open_storage(database) as storage:
        start = time.perf_counter()
        with pytest.raises(PayloadTooLarge) as info:
            import_file(storage, bomb)
        assert time.perf_counter() - start < 2
    assert info.value.field == "file" and info.value.status == 413
    assert "'stations.csv'" in info.value.message
    assert f"more than the {MAX_ZIP_RATIO} times" in info.value.message

    result = assert_refused(database, bomb, "'stations.csv'", f"{MAX_ZIP_RATIO} times")
    assert result["seconds"] < 10


def test_workbook_bomb_is_refused_before_openpyxl_opens_it(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in _WORKBOOK_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            empty = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20_000
            for _ in range(50):
                sheet.write(empty)
            sheet.write(b"</sheetData></worksheet>")
    with pytest.raises(
        PayloadTooLarge,
        match=r"'xl/worksheets/sheet1.xml' in the Excel "
        r"workbook .* more than the 100 times",
    ):
        read_table(path)


def test_member_declaring_more_than_the_limit_is_refused_unread(tmp_path, database):
    path = tmp_path / "declared.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("stations.csv", HEADER.encode() + csv_rows(2, 1000))
    declare_size(path, "stations.csv", 4_000_000_000)
    with pytest.raises(PayloadTooLarge) as info:
        read_table(path)
    assert f"more than {MAX_ZIP_UNCOMPRESSED >> 20} MB" in info.value.message
    assert "'stations.csv' alone is 3815 MB" in info.value.message
    assert_refused(database, path, f"more than {MAX_ZIP_UNCOMPRESSED >> 20} MB")


def test_member_lying_about_its_size_is_read_no_further_than_it_declares(tmp_path, database):
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("stations.csv", "w") as member:
            member.write(HEADER.encode())
            for start in range(2, 1_000_002, 100_000):
                member.write(csv_rows(start, start + 100_000))
    assert zipfile.ZipFile(path).getinfo("stations.csv").file_size > 30 << 20
    declare_size(path, "stations.csv", 1000)
    start = time.perf_counter()
    with pytest.raises(UnsupportedFormat) as info:
        read_table(path)
    assert time.perf_counter() - start < 1
    assert info.value.field == "file"
    assert "cannot unpack 'stations.csv'" in info.value.message
    assert "damaged" in info.value.message
    assert_refused(database, path, "'stations.csv'", "damaged")


def test_workbook_sheet_lying_about_its_size_is_refused(tmp_path):
    path = tmp_path / "liar.xlsx"
    write_workbooks({path: None}, 30_000)
    declare_size(path, "xl/worksheets/sheet1.xml", 5000)
    with pytest.raises(
        UnsupportedFormat,
        match=r"cannot read the Excel workbook: .*"
        r"'xl/worksheets/sheet1.xml'",
    ):
        read_table(path)


def test_nested_zip_archives_are_refused(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("stations.csv", HEADER + "站,117.2,31.8,驿站\n")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "data/inner.zip")
    with pytest.raises(UnsupportedFormat, match=r"another zip archive \('data/inner.zip'\)"):
        read_table(outer)
    disguised = tmp_path / "disguised.zip"
    with zipfile.ZipFile(disguised, "w") as archive:
        archive.write(inner, "stations.csv")
    with pytest.raises(UnsupportedFormat, match=r"another zip archive \('stations.csv'\)"):
        read_table(disguised)


def test_zip_holding_a_csv_is_read_through_the_bounded_path(tmp_path, database):
    small = tmp_path / "small.zip"
    with zipfile.ZipFile(small, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("驿站.csv", HEADER + "一号站,117.2,31.8,驿站\n二号站,117.3,31.9,驿站\n")
    table = read_table(small)
    assert (table.format, table.name, len(table.records)) == ("csv", "small", 2)

    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("stations.csv", "w") as member:
            member.write(HEADER.encode())
            for start in range(2, 1_000_002, 100_000):
                member.write(csv_rows(start, start + 100_000))
    cap = DEFAULT_MAX_ROWS
    result = assert_refused(
        database, big, f"more than {cap} data rows", f"row {cap + 2} is data row {cap + 1}"
    )
    assert result["seconds"] < 15


# --------------------------------------------------------------------------- XLSX


@pytest.fixture(scope="module")
def million_rows(tmp_path_factory) -> tuple[Path, Path]:
    """Two workbooks of 1,000,000 data rows: one declares its size, one does not."""
    folder = tmp_path_factory.mktemp("xlsx")
    declared, undeclared = folder / "declared.xlsx", folder / "undeclared.xlsx"
    write_workbooks({declared: "A1:D1000001", undeclared: None}, 1_000_000)
    return declared, undeclared


@pytest.mark.parametrize("which", ["declared", "undeclared"])
def test_million_row_workbook_rows_are_counted_while_read(million_rows, database, which):
    path = million_rows[0 if which == "declared" else 1]
    cap = 20_000
    with open_storage(database) as storage:
        before = storage.data_version(), len(storage.facilities())
        start = time.perf_counter()
        with pytest.raises(PayloadTooLarge) as info:
            import_file(storage, path, max_rows=cap)
        seconds = time.perf_counter() - start
        assert (storage.data_version(), len(storage.facilities())) == before
    # The first row past the cap stops the reading: row 1 is the header.
    assert f"more than {cap} data rows: row {cap + 2} is data row {cap + 1}" in (info.value.message)
    assert seconds < 10


def test_a_sheet_formatted_far_below_its_data_still_imports(tmp_path):
    path = tmp_path / "formatted.xlsx"
    empty = b"".join(b'<row r="%d" s="1" customFormat="1"/>' % r for r in range(502, 200_502))
    write_workbooks({path: "A1:D1048576"}, 500, extra=empty)
    table = read_table(path)
    assert len(table.records) == 500 and table.records[-1].row == 501


def test_workbook_declaring_a_wrong_size_is_read_row_by_row(tmp_path):
    paths = {tmp_path / "none.xlsx": None, tmp_path / "small.xlsx": "A1:D2"}
    write_workbooks(paths, 500)
    for path in paths:
        table = read_table(path)
        assert len(table.records) == 500 and table.records[-1].row == 501
        with pytest.raises(PayloadTooLarge, match="row 102 is data row 101"):
            read_table(path, max_rows=100)


def test_rows_numbered_beyond_the_last_excel_row_are_refused(tmp_path):
    path = tmp_path / "far.xlsx"
    far = _text("A2000000000", "远站").encode()
    write_workbooks({path: None}, 3, extra=b'<row r="2000000000">' + far + b"</row>")
    start = time.perf_counter()
    with pytest.raises(UnsupportedFormat, match="beyond 1048576"):
        read_table(path)
    assert time.perf_counter() - start < 10


# --------------------------------------------------------------------------- CSV and others


def test_csv_over_the_byte_limit_is_refused_unread(tmp_path, database):
    path = tmp_path / "huge.csv"
    with path.open("wb") as out:
        out.write(HEADER.encode() + csv_rows(2, 10_000))
        out.truncate(1000 << 20)  # a 1,000 MB file, the rest of it unwritten
    result = assert_refused(database, path, "1000 MB", f"more than the {MAX_TEXT_BYTES >> 20} MB")
    assert result["seconds"] < 5
    geojson = tmp_path / "huge.geojson"
    with geojson.open("wb") as out:
        out.write(b'{"type": "FeatureCollection", "features": [')
        out.truncate(MAX_TEXT_BYTES + 1)
    with pytest.raises(PayloadTooLarge, match=r"the GeoJSON file is 257 MB"):
        read_table(geojson)


def test_csv_rows_are_counted_while_streamed(tmp_path):
    path = tmp_path / "many.csv"
    path.write_bytes(HEADER.encode("gb18030") + csv_rows(2, 300_002).decode().encode("gb18030"))
    start = time.perf_counter()
    with pytest.raises(PayloadTooLarge) as info:
        read_table(path)
    assert time.perf_counter() - start < 10
    cap = DEFAULT_MAX_ROWS
    assert f"row {cap + 2} is data row {cap + 1}" in info.value.message
    table = read_table(path, max_rows=300_000)
    assert len(table.records) == 300_000 and table.records[-1].values["名称"] == "站300001"
    assert ("read as GB18030 text", "按 GB18030 编码读取") in table.notes


def test_csv_encoding_error_names_its_byte_in_a_long_file(tmp_path):
    path = tmp_path / "bad.csv"
    good = (HEADER + csv_rows(2, 100_000).decode()).encode("gb18030")
    path.write_bytes(good + b"\x81\x20,117,31\n")
    with pytest.raises(UnsupportedFormat, match=f"at byte {len(good)}"):
        read_table(path)


def test_csv_line_longer_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "one_line.csv"
    path.write_bytes(HEADER.encode() + b"x" * (limits.MAX_CSV_LINE + 10))
    with pytest.raises(PayloadTooLarge, match="line 2 of the CSV file is longer"):
        read_table(path)


def test_tables_too_wide_for_memory_are_refused(tmp_path, monkeypatch):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"列{j}" for j in range(2000)) + "\n1,2\n", encoding="utf-8")
    with pytest.raises(PayloadTooLarge, match="has 2000 columns, more than the 1000"):
        read_table(wide)
    features = [
        {
            "type": "Feature",
            "properties": {f"key{i}": i},
            "geometry": {"type": "Point", "coordinates": [117.2, 31.8]},
        }
        for i in range(1500)
    ]
    spread = tmp_path / "spread.geojson"
    spread.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(PayloadTooLarge, match="has 1500 columns"):
        read_table(spread)
    # Empty header cells right of the data, as a sheet formatted to the far right has.
    sloppy = tmp_path / "sloppy.csv"
    sloppy.write_text(HEADER.rstrip("\n") + "," * 5000 + "\n站,117.2,31.8,驿站\n", encoding="utf-8")
    assert read_table(sloppy).headers == ["名称", "经度", "纬度", "类型"]
    monkeypatch.setattr(limits, "MAX_CELLS", 400)
    rows = tmp_path / "rows.csv"
    rows.write_bytes(HEADER.encode() + csv_rows(2, 200))
    with pytest.raises(PayloadTooLarge, match="more than 400 cells: 4 columns from row 102"):
        read_table(rows)
