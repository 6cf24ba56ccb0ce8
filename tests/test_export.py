"""Exporting facilities, and importing the exports back unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import geopandas as gpd
import pytest
from openpyxl import load_workbook

from locator import crs
from locator.errors import InvalidParameter
from locator.export import COLUMNS, HEADERS_ZH, export_facilities, export_format
from locator.ingest import import_file, read_table
from locator.model import Facility


def _facilities() -> list[Facility]:
    """Facilities with every field in use, awkward text included."""
    return [
        Facility(
            id="union:HF-001",
            name="合肥市包河区货车司机之家",
            kind="driver_home",
            lon=117.30971234567,
            lat=31.79301234567,
            status="open",
            address="包河区繁华大道 8 号",
            phone="+86 551 6335 0000",
            operator="合肥市总工会",
            website="https://example.org/hf?a=1&b=2",
            hours="周一至周日 00:00-24:00",
            amenities=frozenset({"shower", "laundry", "truck_parking", "wifi"}),
            truck_parking_spaces=40,
            opened_on=dt.date(2023, 6, 1),
            parking_fee="paid",
            parking_fee_note="货车 20元/晚",
            tier="extended",
            closed_until=dt.date(2026, 12, 20),
            verified_on=dt.date(2026, 11, 30),
            source="union",
            source_id="HF-001",
        ),
        Facility(
            id="loc:0123456789abcdef",
            name='=HYPERLINK("http://x","点我")',
            kind="service_area",
            lon=118.4320000001,
            lat=31.3630000001,
            status="under_construction",
            address="-1+2",
            phone="@home",
            amenities=frozenset(),
            truck_parking_spaces=0,
        ),
        Facility(
            id="wuhu-7",
            name="芜湖\t工会驿站 <b>“引号”, 逗号; 分号</b>",
            kind="service_point",
            lon=118.38,
            lat=31.33,
            status="planned",
            hours="8:00-18:00\n周末休息",
            amenities=frozenset({"legal_aid", "reading", "food_heating", "vehicle_security"}),
            opened_on=dt.date(2020, 1, 31),
            parking_fee="free",
            tier="basic",
            source="芜湖.xlsx",
            source_id="7",
        ),
        Facility(id="x", name="Ascii only", kind="legal_aid", lon=116.0, lat=33.0, status="closed"),
    ]


def _same(expected: list[Facility], actual: list[Facility]) -> None:
    assert [f.id for f in actual] == sorted(f.id for f in expected)
    by_id = {f.id: f for f in expected}
    for got in actual:
        want = by_id[got.id]
        assert abs(got.lon - want.lon) < 1e-7 and abs(got.lat - want.lat) < 1e-7
        assert got.content_key() == want.content_key()
        assert (got.amenities, got.opened_on) == (want.amenities, want.opened_on)


@pytest.mark.parametrize(
    ("fmt", "headers"),
    [
        ("geojson", "zh"),
        ("geojson", "en"),
        ("csv", "en"),
        ("csv", "zh"),
        ("xlsx", "en"),
        ("xlsx", "zh"),
        ("gpkg", "en"),
        ("gpkg", "zh"),
    ],
)
def test_round_trip(storage, tmp_path, fmt, headers):
    facilities = _facilities()
    path = tmp_path / f"facilities.{fmt}"
    assert export_facilities(facilities, path, headers=headers) == 4

    report = import_file(storage, path)

    assert (report.inserted, report.errors, report.warnings) == (4, [], [])
    _same(facilities, storage.facilities())
    # Exporting what was stored and importing it again changes nothing.
    version = storage.data_version()
    again = tmp_path / f"again.{fmt}"
    export_facilities(storage.facilities(), again, fmt, headers=headers)
    report = import_file(storage, again)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 4)
    assert storage.data_version() == version


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_round_trip_in_chinese_datums(storage, tmp_path, datum):
    facilities = _facilities()
    path = tmp_path / "amap.csv"
    export_facilities(facilities, path, crs=datum)
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    lon, lat = crs.from_wgs84(facilities[0].lon, facilities[0].lat, datum)
    assert (float(rows[0]["经度"]), float(rows[0]["纬度"])) == (lon, lat)
    assert crs.haversine_m(lon, lat, facilities[0].lon, facilities[0].lat) > 100

    import_file(storage, path, crs=datum)
    _same(facilities, storage.facilities())


def test_geojson_is_rfc7946(tmp_path):
    path = tmp_path / "out.geojson"
    export_facilities(_facilities(), path)
    data = json.loads(path.read_text("utf-8"))
    assert data["type"] == "FeatureCollection" and "crs" not in data
    first = data["features"][0]
    assert first["id"] == "union:HF-001"
    assert first["geometry"] == {"type": "Point", "coordinates": [117.30971234567, 31.79301234567]}
    props = first["properties"]
    assert props["amenities"] == ["laundry", "shower", "truck_parking", "wifi"]
    assert props["opened_on"] == "2023-06-01" and props["truck_parking_spaces"] == 40
    assert set(props) >= {
        "name",
        "kind",
        "status",
        "address",
        "phone",
        "operator",
        "website",
        "hours",
        "source",
        "source_id",
        "city",
        "county",
        "township",
    }


def test_csv_layout(tmp_path):
    path = tmp_path / "out.csv"
    export_facilities(_facilities(), path, headers="en")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0][:6] == ["id", "name", "kind", "status", "lon", "lat"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["amenities"] == "laundry;shower;truck_parking;wifi"
    assert first["phone"] == "'+86 551 6335 0000"  # a spreadsheet would run it as a formula
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["name"] == '\'=HYPERLINK("http://x","点我")'
    assert second["truck_parking_spaces"] == "0" and second["opened_on"] == ""
    assert dict(zip(rows[0], rows[3], strict=True))["hours"] == "8:00-18:00\n周末休息"
    assert (first["parking_fee"], first["tier"], first["closed_until"]) == (
        "paid",
        "extended",
        "2026-12-20",
    )


def test_tables_have_chinese_headers_and_labels_by_default(tmp_path):
    path = tmp_path / "out.csv"
    export_facilities(_facilities(), path)
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline="")))
    assert rows[0] == [HEADERS_ZH[c] for c in COLUMNS]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["类型"], first["状态"]) == ("司机之家", "运营中")
    assert (first["停车收费"], first["停车收费说明"], first["建设类型"]) == (
        "收费",
        "货车 20元/晚",
        "扩展型",
    )
    assert (first["暂停营业至"], first["核实日期"]) == ("2026-12-20", "2026-11-30")
    third = dict(zip(rows[0], rows[3], strict=True))
    assert third["服务设施"] == "饭菜加热;法律援助;阅读;车货安保"  # by key
    assert (third["停车收费"], third["建设类型"]) == ("免费", "基础型")


def test_xlsx_layout_with_chinese_headers(tmp_path):
    path = tmp_path / "out.xlsx"
    export_facilities(_facilities(), path, headers="zh")
    ws = load_workbook(path).active
    header = [c.value for c in ws[1]]
    assert header == [HEADERS_ZH[c] for c in COLUMNS]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["B"].width > ws.column_dimensions["D"].width >= 8
    row = {h: c for h, c in zip(header, ws[3], strict=True)}
    assert row["名称"].value == '=HYPERLINK("http://x","点我")' and row["名称"].data_type == "s"
    assert row["类型"].value == "高速服务区" and row["状态"].value == "建设中"
    first = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    assert first["服务设施"] == "洗衣;淋浴;货车停车;无线网络"
    assert first["经度"] == 117.30971234567
    assert first["建成时间"] == dt.datetime(2023, 6, 1)
    table = read_table(path)
    assert table.headers == header and len(table.records) == 4


def test_gpkg_layer_and_buffers(tmp_path):
    path = tmp_path / "out.gpkg"
    export_facilities(_facilities(), path)
    export_facilities(_facilities()[:1], path)  # overwrites, does not append a layer
    frame = gpd.read_file(path, engine="pyogrio")
    assert frame.crs.to_epsg() == 4326 and len(frame) == 1
    assert frame.geometry[0].x == 117.30971234567
    for fmt in ("xlsx", "gpkg", "csv", "geojson"):
        buffer = io.BytesIO()
        assert export_facilities(_facilities(), buffer, fmt) == 4
        assert len(buffer.getvalue()) > 100
        table = read_table(buffer.getvalue(), filename=f"upload.{fmt}")
        assert len(table.records) == 4
    text = io.StringIO()
    export_facilities(_facilities(), text, "geojson")
    assert json.loads(text.getvalue())["features"][2]["id"] == "wuhu-7"


def test_empty_exports_import_as_nothing(storage, tmp_path):
    for fmt in ("geojson", "csv", "xlsx", "gpkg"):
        path = tmp_path / f"empty.{fmt}"
        assert export_facilities([], path) == 0
        report = import_file(storage, path)
        assert (report.rows, report.inserted) == (0, 0)
    assert storage.facilities() == []


def test_format_errors(tmp_path):
    assert export_format("a/b/stations.GeoJSON") == "geojson"
    assert export_format(io.BytesIO(), "XLSX") == "xlsx"
    with pytest.raises(InvalidParameter) as info:
        export_facilities([], tmp_path / "out.kml")
    assert info.value.field == "format" and ".kml" in info.value.message
    with pytest.raises(InvalidParameter):
        export_facilities([], io.BytesIO())
    with pytest.raises(InvalidParameter):
        export_facilities([], tmp_path / "x.csv", "shp")
    with pytest.raises(InvalidParameter) as info:
        export_facilities([], tmp_path / "x.csv", headers="fr")
    assert info.value.field == "headers"
    with pytest.raises(InvalidParameter) as info:
        export_facilities([], tmp_path / "x.csv", crs="mars2000")
    assert info.value.field == "crs"
