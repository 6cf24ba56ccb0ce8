"""Importing facility files: real files in tmp_path, real storage on both backends."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from openpyxl import Workbook, load_workbook
from shapely.geometry import shape

from locator import crs
from locator.errors import (
    InvalidParameter,
    PayloadTooLarge,
    UnsupportedFormat,
    ValidationFailed,
)
from locator.ingest import (
    ImportReport,
    import_file,
    map_columns,
    parse_coordinate,
    read_table,
    rows_to_facilities,
)
from locator.model import AdminUnit

ROOT = Path(__file__).resolve().parents[1]


def _geodata(name: str) -> Path:
    for folder in (ROOT / "geodata", Path("/work/shared/geodata")):
        if (folder / name).exists():
            return folder / name
    pytest.fail(f"geodata file {name} not found")


def _service_areas(count: int = 30) -> list[dict]:
    """Named expressway service areas of Anhui from OpenStreetMap (WGS-84)."""
    data = json.loads(_geodata("anhui_expressway_service_areas_osm.geojson").read_text("utf-8"))
    named = [f for f in data["features"] if f["properties"].get("name")]
    assert len(named) >= count
    return [
        {
            "osm_id": f["properties"]["osm_id"],
            "name": f["properties"]["name"],
            "lon": f["geometry"]["coordinates"][0],
            "lat": f["geometry"]["coordinates"][1],
        }
        for f in named[:count]
    ]


def _write_xlsx(path: Path, rows: list[list], title: str | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "站点"
    if title:
        ws.append([title])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _write_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    stream = io.StringIO(newline="")
    csv.writer(stream, lineterminator="\r\n").writerows(rows)
    path.write_bytes(stream.getvalue().encode(encoding))
    return path


def _issues(report: dict, kind: str = "errors") -> set[tuple[int, str]]:
    return {(e["row"], e["field"]) for e in report[kind]}


def _load_anhui_cities(storage) -> None:
    data = json.loads(_geodata("anhui_admin_units.geojson").read_text("utf-8"))
    units = []
    for f in data["features"]:
        p = f["properties"]
        parent = (
            None
            if p["level"] == "province"
            else ("340000" if p["level"] == "city" else p["adcode"][:4] + "00")
        )
        units.append(
            AdminUnit(
                code=p["adcode"],
                name=p["name"],
                level=p["level"],
                parent_code=parent,
                geometry=shape(f["geometry"]),
            )
        )
    storage.replace_admin_units(units)


# --------------------------------------------------------------------------- real data


def test_xlsx_with_chinese_headers_and_gcj02_coordinates(storage, tmp_path):
    areas = _service_areas(30)
    g_lon, g_lat = crs.wgs84_to_gcj02([a["lon"] for a in areas], [a["lat"] for a in areas])
    # The datum shift is hundreds of metres: forgetting the conversion would show.
    shift = crs.haversine_m(g_lon, g_lat, [a["lon"] for a in areas], [a["lat"] for a in areas])
    assert shift.min() > 100
    rows = [["编号", "名称", "经度", "纬度", "地址", "类型", "状态", "服务设施"]]
    for a, lon, lat in zip(areas, g_lon, g_lat, strict=True):
        rows.append(
            [
                a["osm_id"],
                a["name"],
                float(lon),
                float(lat),
                "安徽省",
                "高速服务区",
                "运营中",
                "停车场、卫生间、餐饮",
            ]
        )
    path = _write_xlsx(tmp_path / "高速服务区.xlsx", rows)

    report = import_file(storage, path, crs="gcj02")

    assert (report.rows, report.valid, report.inserted, report.updated) == (30, 30, 30, 0)
    assert report.errors == [] and report.format == "xlsx" and report.crs == "gcj02"
    assert report.columns == {
        "id": "编号",
        "name": "名称",
        "lon": "经度",
        "lat": "纬度",
        "address": "地址",
        "kind": "类型",
        "status": "状态",
        "amenities": "服务设施",
    }
    stored = {f.source_id: f for f in storage.facilities()}
    assert len(stored) == 30
    for a in areas:
        f = stored[a["osm_id"]]
        assert f.id == f"高速服务区:{a['osm_id']}"
        assert f.source == "高速服务区" and f.name == a["name"]
        assert (f.kind, f.status) == ("service_area", "open")
        assert f.amenities == frozenset({"parking", "toilet", "canteen"})
        assert crs.haversine_m(f.lon, f.lat, a["lon"], a["lat"]) < 1.0

    version = storage.data_version()
    again = import_file(storage, path, crs="gcj02")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 30)
    assert storage.data_version() == version


def _stations_rows() -> list[list]:
    return [
        [
            "站点名称",
            "经度",
            "纬度",
            "详细地址",
            "站点类型",
            "建设状态",
            "联系电话",
            "服务项目",
            "货车停车位",
            "建成时间",
        ],
        [
            "合肥市包河区货车司机之家",
            "117.3097",
            "31.7930",
            "包河区繁华大道",
            "司机之家",
            "运营中",
            "0551-63350000",
            "淋浴;洗衣;热水",
            "40",
            "2023/6/1",
        ],
        [
            "芜湖市鸠江区工会驿站",
            "118.4320",
            "31.3630",
            "鸠江区",
            "工会驿站",
            "建设中",
            "",
            "休息室、无线网",
            "",
            "",
        ],
        [
            "蚌埠物流园司机之家",
            "117.3890",
            "32.9160",
            "",
            "driver_home",
            "open",
            "13800000000",
            "toilet",
            "120",
            "2022-11-20",
        ],
    ]


def test_gbk_and_utf8_bom_csv_import_the_same_facilities(storage, tmp_path):
    (tmp_path / "gbk").mkdir()
    (tmp_path / "utf8").mkdir()
    gbk = _write_csv(tmp_path / "gbk" / "站点清单.csv", _stations_rows(), "gbk")
    bom = _write_csv(tmp_path / "utf8" / "站点清单.csv", _stations_rows(), "utf-8-sig")
    assert gbk.read_bytes() != bom.read_bytes()

    first = import_file(storage, gbk)
    assert (first.rows, first.inserted) == (3, 3)
    assert any("GB18030" in n for n in first.notes)
    stored = storage.facilities()
    by_name = {f.name: f for f in stored}
    home = by_name["合肥市包河区货车司机之家"]
    assert (home.kind, home.status, home.phone) == ("driver_home", "open", "0551-63350000")
    assert home.amenities == frozenset({"shower", "laundry", "hot_water"})
    assert home.truck_parking_spaces == 40 and home.opened_on == dt.date(2023, 6, 1)
    assert (home.lon, home.lat) == (117.3097, 31.793)
    assert home.source == "站点清单" and home.source_id.startswith("h")
    station = by_name["芜湖市鸠江区工会驿站"]
    assert (station.kind, station.status) == ("service_point", "under_construction")
    assert station.amenities == frozenset({"rest_room", "wifi"}) and station.phone is None

    version = storage.data_version()
    second = import_file(storage, bom)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert storage.facilities() == stored
    assert storage.data_version() == version
    assert read_table(gbk).to_dicts() == read_table(bom).to_dicts()


# --------------------------------------------------------------------------- geometry files


def _frame(crs_name: str = "EPSG:4326") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {
            "name": ["淮南服务区", "六安服务区", "宿州服务区"],
            "kind": ["service_area", "高速服务区", "service_area"],
            "status": ["open", "planned", "closed"],
            "amenities": ["toilet;canteen", "", "charging"],
            "phone": ["0554-1234567", None, None],
        },
        geometry=gpd.points_from_xy(
            [116.9876543, 116.5211111, 116.9822222], [32.6254321, 31.7355555, 33.6344444]
        ),
        crs="EPSG:4326",
    )
    return frame.to_crs(crs_name)


def _check_frame_import(storage, report: ImportReport) -> None:
    assert (report.rows, report.inserted, report.errors) == (3, 3, [])
    stored = {f.name: f for f in storage.facilities()}
    expected = _frame()
    for name, point, status in zip(
        expected["name"], expected.geometry, expected["status"], strict=True
    ):
        f = stored[name]
        assert abs(f.lon - point.x) < 1e-7 and abs(f.lat - point.y) < 1e-7
        assert f.kind == "service_area" and f.status == status
    assert stored["淮南服务区"].amenities == frozenset({"toilet", "canteen"})
    assert stored["淮南服务区"].phone == "0554-1234567"
    assert stored["六安服务区"].amenities == frozenset()


def test_geojson_input(storage, tmp_path):
    path = tmp_path / "areas.geojson"
    _frame().to_file(path, driver="GeoJSON", engine="pyogrio")
    report = import_file(storage, path)
    _check_frame_import(storage, report)
    assert report.numbering == "feature" and report.source == "areas"


def test_geopackage_input_is_reprojected(storage, tmp_path):
    path = tmp_path / "areas.gpkg"
    _frame("EPSG:3857").to_file(path, driver="GPKG", layer="stations", engine="pyogrio")
    report = import_file(storage, path)
    _check_frame_import(storage, report)
    assert any("EPSG:3857" in n for n in report.notes)


def test_zipped_shapefile_input(storage, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    _frame("EPSG:32650").to_file(folder / "areas.shp", driver="ESRI Shapefile", engine="pyogrio")
    archive = tmp_path / "areas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, f"data/{part.name}")
    report = import_file(storage, archive)
    _check_frame_import(storage, report)
    assert report.format == "shp"


def test_plain_shapefile_with_gbk_dbf_and_no_cpg(storage, tmp_path):
    path = tmp_path / "areas.shp"
    _frame().to_file(path, driver="ESRI Shapefile", engine="pyogrio", encoding="GBK")
    cpg = path.with_suffix(".cpg")
    if cpg.exists():
        cpg.unlink()
    report = import_file(storage, path)
    _check_frame_import(storage, report)


def test_geojson_non_point_geometry_is_a_row_error(storage, tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "好", "kind": "other"},
                "geometry": {"type": "Point", "coordinates": [117.2, 31.8]},
            },
            {
                "type": "Feature",
                "properties": {"name": "线", "kind": "other"},
                "geometry": {"type": "LineString", "coordinates": [[117.2, 31.8], [117.3, 31.9]]},
            },
            {"type": "Feature", "properties": {"name": "空", "kind": "other"}, "geometry": None},
        ],
    }
    path = tmp_path / "mixed.geojson"
    path.write_text(json.dumps(collection), "utf-8")
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)
    errors = info.value.details["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(2, "geometry"), (3, "geometry")]
    assert "geometry must be a Point, got LineString" in errors[0]["message"]
    assert storage.facilities() == []


# --------------------------------------------------------------------------- validation


BROKEN = [
    ["id", "name", "lon", "lat", "kind", "phone"],
    ["a1", "合肥南站司机之家", "117.2890", "31.7980", "司机之家", "0551-1"],  # row 2 good
    ["a2", "经度写错", "117.2x", "31.80", "司机之家", ""],  # row 3
    ["a3", "经纬度填反", "31.8206", "117.2272", "司机之家", ""],  # row 4
    ["a4", "巴黎", "2.3522", "48.8566", "司机之家", ""],  # row 5
    ["a5", "类型错字", "117.30", "31.81", "司机之加", ""],  # row 6
    ["a1", "重复编号", "117.31", "31.82", "司机之家", ""],  # row 7
    ["a7", "长" * 300, "117.32", "31.83", "司机之家", ""],  # row 8
    ["a8", "", "117.33", "31.84", "司机之家", ""],  # row 9
    ["a9", "<script>alert(1)</script>", "117.34", "31.85", "driver_home", ""],  # row 10 good
]
BAD_ROWS = {(3, "lon"), (4, "lon"), (5, "lon"), (6, "kind"), (7, "id"), (8, "name"), (9, "name")}


def _seed(storage, tmp_path) -> None:
    path = _write_csv(
        tmp_path / "seed.csv",
        [
            ["名称", "经度", "纬度", "类型"],
            ["已有站点一", "117.1", "31.7", "工会服务站"],
            ["已有站点二", "117.2", "31.6", "驿站"],
        ],
    )
    assert import_file(storage, path).inserted == 2


def test_every_bad_row_is_reported_and_nothing_is_written(storage, tmp_path):
    _seed(storage, tmp_path)
    before, version = storage.facilities(), storage.data_version()
    path = _write_csv(tmp_path / "broken.csv", BROKEN)

    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)

    exc = info.value
    assert exc.status == 422 and "7 of 9 rows" in exc.message
    details = exc.details
    assert _issues(details) == BAD_ROWS
    assert (details["rows"], details["valid"], details["rejected"]) == (9, 2, 7)
    by_row = {e["row"]: e for e in details["errors"]}
    assert "must be a number" in by_row[3]["message"] and by_row[3]["column"] == "lon"
    assert by_row[3]["value"] == "117.2x"
    assert "look swapped" in by_row[4]["message"]
    assert "outside China" in by_row[5]["message"]
    assert "driver_home" in by_row[6]["message"] and by_row[6]["value"] == "司机之加"
    assert "row 2" in by_row[7]["message"]
    assert "300 characters" in by_row[8]["message"]
    assert "required" in by_row[9]["message"]
    json.dumps(details)  # the report is JSON-ready
    assert storage.facilities() == before
    assert storage.data_version() == version

    report = ImportReport.from_dict(details)
    assert report.to_dict() == details
    text = report.format_text("zh")
    assert "第 6 行 类型(kind): 无法识别的类型“司机之加”，是否应为“司机之家”(driver_home)" in text
    assert "第 4 行 经度(lon): 经度 31.8206 与纬度 117.2272 似乎填反了" in text
    assert "row 3, lon: lon must be a number, got '117.2x'" in report.format_text("en")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_skip_invalid_writes_good_rows_and_rejects_file(storage, tmp_path, suffix):
    path = _write_csv(tmp_path / "broken.csv", BROKEN)
    rejects = tmp_path / f"rejects{suffix}"

    report = import_file(storage, path, skip_invalid=True, rejects=rejects)

    assert (report.rows, report.valid, report.inserted) == (9, 2, 2)
    assert _issues(report.to_dict()) == BAD_ROWS
    stored = {f.name: f for f in storage.facilities()}
    assert set(stored) == {"合肥南站司机之家", "<script>alert(1)</script>"}
    assert stored["合肥南站司机之家"].id == "broken:a1"  # the file's own numbering
    if suffix == ".csv":
        raw = rejects.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    else:
        rows = [
            ["" if v is None else str(v) for v in r]
            for r in load_workbook(rejects).active.iter_rows(values_only=True)
        ]
    assert rows[0] == ["id", "name", "lon", "lat", "kind", "phone", "row", "reason"]
    assert [int(r[6]) for r in rows[1:]] == [3, 4, 5, 6, 7, 8, 9]
    assert [r[:6] for r in rows[1:]] == [[c for c in b] for b in BROKEN[2:9]]
    reasons = {int(r[6]): r[7] for r in rows[1:]}
    assert "lon: lon must be a number" in reasons[3]
    assert "kind: unknown kind '司机之加'; did you mean 'driver_home'?" in reasons[6]
    assert "id: duplicate id 'a1'" in reasons[7]


def test_control_characters_are_rejected_and_html_kept(storage, tmp_path):
    path = _write_csv(
        tmp_path / "hostile.csv",
        [
            ["名称", "经度", "纬度", "地址"],
            ["<b onmouseover=alert(1)>站</b>", "117.1", "31.1", "<img src=x onerror=alert(1)>"],
            ["坏\x07名字", "117.2", "31.2", ""],
        ],
    )
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path, kind="service_point")
    assert _issues(info.value.details) == {(3, "name")}
    assert "control characters" in info.value.details["errors"][0]["message"]
    report = import_file(storage, path, kind="service_point", skip_invalid=True)
    assert report.inserted == 1
    [f] = storage.facilities()
    assert f.name == "<b onmouseover=alert(1)>站</b>"
    assert f.address == "<img src=x onerror=alert(1)>"


def test_outside_loaded_region_is_a_warning(storage, tmp_path):
    _load_anhui_cities(storage)
    path = _write_csv(
        tmp_path / "edge.csv",
        [
            ["名称", "经度", "纬度", "类型"],
            ["合肥司机之家", "117.2272", "31.8206", "司机之家"],
            ["南京新街口", "118.7784", "32.0433", "司机之家"],
        ],
    )
    report = import_file(storage, path)
    assert (report.inserted, report.errors) == (2, [])
    assert [(w.row, w.field) for w in report.warnings] == [(3, "lon")]
    assert "南京新街口" in report.warnings[0].message
    assert "outside every loaded city" in report.warnings[0].message
    hefei = [f for f in storage.facilities() if f.name == "合肥司机之家"][0]
    assert hefei.city == "合肥市"
    assert "第 3 行" in report.format_text("zh") and "row 3, lon" in report.format_text("en")


def test_hours_the_open_now_filter_cannot_read_are_a_warning(storage, tmp_path):
    path = _write_csv(
        tmp_path / "hours.csv",
        [
            ["名称", "经度", "纬度", "类型", "营业时间"],
            ["甲站", "117.10", "31.10", "司机之家", "24小时"],
            ["乙站", "117.20", "31.20", "司机之家", "周一至周五 9:00-17:00，周六 9:00-12:00"],
            ["丙站", "117.30", "31.30", "司机之家", "节假日另行通知"],
            ["丁站", "117.40", "31.40", "司机之家", "Mo-Su 08:00-20:00"],
            ["戊站", "117.50", "31.50", "司机之家", ""],
        ],
    )
    report = import_file(storage, path)
    assert (report.inserted, report.errors) == (5, [])
    assert [(w.row, w.field, w.column, w.value) for w in report.warnings] == [
        (4, "hours", "营业时间", "节假日另行通知")
    ]
    assert "丙站" in report.warnings[0].message and "24小时" in report.warnings[0].message
    assert "第 4 行" in report.format_text("zh") and "无法识别" in report.format_text("zh")
    # the text is kept as written: drivers read it on the station's page
    assert {f.name: f.hours for f in storage.facilities()}["丙站"] == "节假日另行通知"


def test_duplicate_source_ids_and_duplicate_rows(storage, tmp_path):
    path = _write_csv(
        tmp_path / "dups.csv",
        [
            ["原编号", "名称", "经度", "纬度", "类型"],
            ["S1", "甲", "117.1", "31.1", "驿站"],
            ["S1", "乙", "117.2", "31.2", "驿站"],
            ["", "丙", "117.3", "31.3", "驿站"],
            ["", "丙", "117.3", "31.3", "驿站"],
        ],
    )
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)
    errors = info.value.details["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "source_id"), (5, "name")]
    assert "row 2" in errors[0]["message"] and "row 4" in errors[1]["message"]


def test_title_row_above_header_keeps_sheet_row_numbers(storage, tmp_path):
    path = _write_xlsx(
        tmp_path / "名单.xlsx",
        [
            ["序号", "驿站名称", "经度", "纬度", "类型"],
            [1, "宿州驿站", 116.98, 33.63, "工会驿站"],
            [2, "阜阳驿站", "abc", 32.89, "工会驿站"],
        ],
        title="安徽省户外劳动者驿站名单（2024年）",
    )
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)
    assert _issues(info.value.details) == {(4, "lon")}
    assert any("row 2" in n for n in info.value.details["notes"])


# --------------------------------------------------------------------------- options


def test_dry_run_reports_counts_and_writes_nothing(storage, tmp_path):
    rows = [
        ["name", "lon", "lat", "kind", "phone"],
        ["一号站", "117.1", "31.1", "driver_home", "1"],
        ["二号站", "117.2", "31.2", "driver_home", "2"],
        ["三号站", "117.3", "31.3", "driver_home", "3"],
    ]
    path = _write_csv(tmp_path / "stations.csv", rows)
    dry = import_file(storage, path, dry_run=True)
    assert (dry.dry_run, dry.inserted, dry.updated, dry.unchanged) == (True, 3, 0, 0)
    assert storage.facilities() == [] and storage.data_version() == 0

    first = import_file(storage, path)
    assert first.inserted == 3
    before, version = storage.facilities(), storage.data_version()
    assert first.data_version == version

    rows[2][4] = "222"  # a changed phone
    rows.append(["四号站", "117.4", "31.4", "driver_home", "4"])  # a new row
    _write_csv(path, rows)
    dry = import_file(storage, path, dry_run=True)
    assert (dry.inserted, dry.updated, dry.unchanged) == (1, 1, 2)
    assert storage.facilities() == before and storage.data_version() == version
    assert "试运行（未写入）：将新增 1 条，更新 1 条，未变 2 条" in dry.format_text("zh")

    real = import_file(storage, path)
    assert (real.inserted, real.updated, real.unchanged) == (1, 1, 2)
    version = storage.data_version()
    again = import_file(storage, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert storage.data_version() == version


def test_the_history_records_which_file_made_each_change(storage, tmp_path):
    rows = [
        ["name", "lon", "lat", "kind", "phone"],
        ["一号站", "117.1", "31.1", "driver_home", "1"],
    ]
    path = _write_csv(tmp_path / "肥东县站点.csv", rows)
    import_file(storage, path)
    rows[1][4] = "0551-1234567"
    _write_csv(path, rows)
    with path.open("rb") as upload:
        import_file(storage, upload, filename="uploads/肥东县站点.csv", source="肥东县站点")
    import_file(storage, path, actor="user:alice")  # unchanged: nothing recorded
    entries = storage.history()
    assert [(e.action, e.actor) for e in entries] == [
        ("insert", "import:肥东县站点.csv"),
        ("update", "import:肥东县站点.csv"),
    ]


def test_explicit_mapping_and_default_kind(storage, tmp_path):
    path = _write_csv(
        tmp_path / "custom.csv",
        [
            ["站", "E", "N", "备注", "名称"],
            ["淮北司机之家", "116.80", "33.95", "新建", "忽略我"],
        ],
    )
    report = import_file(
        storage,
        path,
        kind="司机之家",
        source="union-2024",
        mapping={"name": "站", "lon": "E", "lat": "N"},
    )
    assert report.columns == {"name": "站", "lon": "E", "lat": "N"}
    assert any("备注" in n and "名称" in n for n in report.notes)
    [f] = storage.facilities()
    assert (f.name, f.kind, f.source, f.lon, f.lat) == (
        "淮北司机之家",
        "driver_home",
        "union-2024",
        116.8,
        33.95,
    )
    with pytest.raises(InvalidParameter) as info:
        import_file(storage, path, kind="driver_home", mapping={"name": "站名"})
    assert info.value.field == "mapping" and "站, E, N, 备注, 名称" in info.value.message
    with pytest.raises(InvalidParameter) as info:
        import_file(storage, path, mapping={"nome": "站"})
    assert info.value.field == "mapping"


def test_missing_columns_name_the_field_and_list_headers(storage, tmp_path):
    path = _write_csv(
        tmp_path / "nocoords.csv", [["名称", "地址", "类型"], ["某站", "合肥", "驿站"]]
    )
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)
    assert info.value.field == "lon"
    assert "no column for lon" in info.value.message and "no column for lat" in info.value.message
    assert "headers found: 名称, 地址, 类型" in info.value.message
    assert [e["field"] for e in info.value.details["errors"]] == ["lon", "lat"]

    path = _write_csv(tmp_path / "nokind.csv", [["名称", "经度", "纬度"], ["某站", "117", "31"]])
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)
    assert info.value.field == "kind" and "--kind" in info.value.message
    assert storage.facilities() == []


def test_combined_coordinate_column(storage, tmp_path):
    path = _write_csv(
        tmp_path / "combined.csv",
        [
            ["名称", "经纬度", "类型"],
            ["马鞍山司机之家", "118.5065，31.6700", "司机之家"],
            ["铜陵司机之家", "117.81 30.94", "司机之家"],
            ["坏坐标", "117.81", "司机之家"],
        ],
    )
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)
    assert _issues(info.value.details) == {(4, "lon")}
    assert info.value.details["columns"]["coordinates"] == "经纬度"
    report = import_file(storage, path, skip_invalid=True)
    assert report.inserted == 2
    assert sorted((f.lon, f.lat) for f in storage.facilities()) == [
        (117.81, 30.94),
        (118.5065, 31.67),
    ]


def test_unsupported_extensions(storage, tmp_path):
    path = tmp_path / "stations.docx"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UnsupportedFormat) as info:
        import_file(storage, path)
    assert info.value.status == 415
    assert "'.docx'" in info.value.message and ".csv" in info.value.message
    assert ".xlsx" in info.value.message and ".zip" in info.value.message
    old = tmp_path / "stations.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(UnsupportedFormat, match=r"\.xls"):
        import_file(storage, old)
    empty_zip = tmp_path / "nothing.zip"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.md", "no data")
    with pytest.raises(UnsupportedFormat, match="no .shp"):
        import_file(storage, empty_zip)
    with pytest.raises(InvalidParameter, match="rejects"):
        import_file(storage, tmp_path / "x.csv", rejects=tmp_path / "bad.txt")


def test_too_many_rows(storage, tmp_path):
    rows = [["名称", "经度", "纬度", "类型"]] + [[f"站{i}", "117", "31", "驿站"] for i in range(6)]
    path = _write_csv(tmp_path / "big.csv", rows)
    with pytest.raises(PayloadTooLarge) as info:
        import_file(storage, path, max_rows=5)
    assert info.value.status == 413
    assert import_file(storage, path, max_rows=6).inserted == 6


def test_read_table_from_an_upload_buffer_and_rows_to_facilities():
    data = "\ufeffname,lon,lat,type\r\n滁州站,118.31,32.30,service_station\r\n"
    table = read_table(io.BytesIO(data.encode("utf-8")), filename="上传.csv")
    assert table.name == "上传" and table.headers == ["name", "lon", "lat", "type"]
    assert table.to_dicts() == [
        {"row": 2, "name": "滁州站", "lon": "118.31", "lat": "32.30", "type": "service_station"}
    ]
    facilities, report = rows_to_facilities(table, crs="bd09")
    assert report.valid == 1 and report.crs == "bd09"
    [f] = facilities
    lon, lat = crs.from_wgs84(f.lon, f.lat, "bd09")
    assert abs(lon - 118.31) < 1e-9 and abs(lat - 32.30) < 1e-9
    assert (f.id, f.source, f.kind) == ("", "上传", "service_station")


def test_header_matching_and_coordinate_parsing():
    cmap = map_columns(["  Name ", "LONGITUDE", "纬度（GCJ-02）", "Opening Hours", "X", "城市"])
    assert cmap.fields == {
        "name": "  Name ",
        "lon": "LONGITUDE",
        "lat": "纬度（GCJ-02）",
        "hours": "Opening Hours",
    }
    assert cmap.ignored == ["城市"] and cmap.duplicates == [("lon", "LONGITUDE", "X")]
    assert parse_coordinate("117.5") == 117.5
    assert parse_coordinate("１１７．５") == 117.5
    assert parse_coordinate("E117°30'") == 117.5
    assert parse_coordinate("北纬31°30′36″") == pytest.approx(31.51)
    for bad in ("", "abc", "nan", "inf", "117°75'"):
        with pytest.raises(ValueError):
            parse_coordinate(bad)


def test_projected_geojson_crs_member_is_honoured(storage, tmp_path):
    x, y = shapely.get_coordinates(
        gpd.GeoSeries(gpd.points_from_xy([117.2272], [31.8206]), crs=4326).to_crs(3857)
    )[0]
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
        "features": [
            {
                "type": "Feature",
                "id": "site:1",
                "properties": {"name": "合肥", "kind": "other"},
                "geometry": {"type": "Point", "coordinates": [x, y]},
            }
        ],
    }
    path = tmp_path / "mercator.json"
    path.write_text(json.dumps(collection), "utf-8")
    report = import_file(storage, path)
    assert report.inserted == 1
    [f] = storage.facilities()
    assert f.id == "site:1"
    assert np.allclose([f.lon, f.lat], [117.2272, 31.8206], atol=1e-9)


def test_given_id_cannot_steal_another_facilitys_source_id(storage, tmp_path):
    first = _write_csv(
        tmp_path / "first.csv",
        [
            ["id", "source", "source_id", "name", "lon", "lat", "kind"],
            ["keep:1", "union", "7", "老站", "117.1", "31.1", "driver_home"],
        ],
    )
    assert import_file(storage, first).inserted == 1
    second = _write_csv(
        tmp_path / "second.csv",
        [
            ["id", "source", "source_id", "name", "lon", "lat", "kind"],
            ["other:1", "union", "7", "新站", "117.2", "31.2", "driver_home"],
            ["other:2", "union", "8", "另一站", "117.3", "31.3", "driver_home"],
        ],
    )
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, second, dry_run=True)
    [error] = info.value.details["errors"]
    assert (error["row"], error["field"]) == (2, "source_id")
    assert "already belongs to facility 'keep:1'" in error["message"]
    rejects = tmp_path / "rejects.csv"
    report = import_file(storage, second, skip_invalid=True, rejects=rejects, lang="zh")
    assert report.inserted == 1
    assert [f.id for f in storage.facilities()] == ["keep:1", "other:2"]
    rows = list(csv.reader(io.StringIO(rejects.read_text("utf-8-sig"))))
    assert rows[1][-2:] == [
        "2",
        "原编号(source_id): 来源“union”的原编号“7”已属于站点 keep:1，而不是 other:1",
    ]


def test_json_array_of_objects(storage, tmp_path):
    path = tmp_path / "api.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "六安司机之家",
                    "lng": 116.52,
                    "lat": 31.74,
                    "type": "司机之家",
                    "amenities": ["淋浴", "热水"],
                },
                {
                    "name": "池州司机之家",
                    "lng": 117.49,
                    "lat": 30.66,
                    "type": "司机之家",
                    "amenities": ["洗澡", "wifi", "按摩"],
                },
            ],
            ensure_ascii=False,
        ),
        "utf-8",
    )
    with pytest.raises(ValidationFailed) as info:
        import_file(storage, path)
    [error] = info.value.details["errors"]
    assert (error["row"], error["field"], error["column"]) == (2, "amenities", "amenities")
    assert "'按摩'" in error["message"] and info.value.details["numbering"] == "record"
    report = import_file(storage, path, skip_invalid=True)
    [f] = storage.facilities()
    assert report.inserted == 1 and f.amenities == frozenset({"shower", "hot_water"})
