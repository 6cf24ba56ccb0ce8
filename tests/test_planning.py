"""Planning over the shipped Anhui data: plans, candidates, what-if, reports and the CLI.

Expected values come from the coverage library itself (``township_coverage``,
``blind_spots``) and from independent great-circle distances, so the glue is checked
against the parts it glues.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from shapely.geometry import Point

from locator import planning, reports
from locator.cli import main
from locator.coverage import CoverageParams, township_coverage
from locator.crs import from_wgs84, to_wgs84
from locator.errors import InvalidParameter, PayloadTooLarge
from locator.grid import blind_spots
from locator.maps.coverage import build_coverage_map
from locator.model import Facility
from locator.progress import ProgressPoint
from locator.storage import open_storage

HEFEI = "合肥市"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def url(shipped_sqlite_url):
    """The shared ``data`` and ``app`` fixtures (conftest) read this database."""
    return shipped_sqlite_url


@pytest.fixture(scope="module")
def hefei(data):
    return planning.coverage(data, city=HEFEI)


@pytest.fixture(scope="module")
def counted(data):
    """The facilities that count by default (they stay fixed in every plan)."""
    params = CoverageParams()
    return [f for f in data.facilities if params.counts(f)]


@pytest.fixture(scope="module")
def hefei_plan(data, hefei):
    return planning.plan(data, sites=5, city=HEFEI, report=hefei, set_cover=True)


def haversine_m(lon1, lat1, lon2, lat2) -> float:
    """Great-circle distance on a sphere of the mean Earth radius (an independent check)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


# ---- plans --------------------------------------------------------------------------------
def test_plan_for_hefei_adds_demand_site_by_site(hefei_plan, hefei):
    result = hefei_plan
    assert len(result.sites) == 5 and result.sites_requested == 5
    assert [s.rank for s in result.sites] == [1, 2, 3, 4, 5]
    added = [s.added for s in result.sites]
    assert all(a > 0 for a in added)
    assert added == sorted(added, reverse=True)  # ordered by what each adds
    assert result.curve == pytest.approx(np.cumsum(added).tolist())
    # measured against the coverage report: same baseline and total
    assert result.baseline == pytest.approx(hefei.total.demand_covered)
    assert result.total == pytest.approx(hefei.total.demand)
    assert result.unlocated_demand == pytest.approx(sum(t.demand for t in hefei.unlocated))
    assert result.share_after == pytest.approx(
        (result.baseline + result.added_total) / result.total
    )
    assert 0 < result.share_before < result.share_after <= 1
    # 126 located townships x 126 seats: auto solves exactly
    assert result.method == "exact" and result.optimal is True
    assert result.demand_source == "townships" and result.candidate_source == "seats"
    for site in result.sites:
        assert site.city == HEFEI and site.source == "seats"
        assert site.name in {t.name for t in hefei.townships}


def test_each_site_adds_the_uncovered_demand_of_the_townships_it_reaches(
    hefei_plan, hefei, counted
):
    """Recompute every gain from scratch: townships whose reference point lies within the
    radius of the site and not of an earlier one (or of a facility) add their uncovered
    demand."""
    radius = hefei.params.radius_m
    rows = [t for t in hefei.townships if t.located != "unlocated"]
    reached = {
        t.code
        for t in rows
        if any(haversine_m(f.lon, f.lat, t.ref_lon, t.ref_lat) <= radius for f in counted)
    }
    for site in hefei_plan.sites:
        fresh = [
            t
            for t in rows
            if t.code not in reached
            and haversine_m(site.lon, site.lat, t.ref_lon, t.ref_lat) <= radius
        ]
        assert site.added == pytest.approx(
            sum(t.demand - t.demand_covered for t in fresh), rel=1e-9
        )
        assert site.points_reached == len([t for t in fresh if t.demand - t.demand_covered > 1e-9])
        reached |= {t.code for t in fresh}


def test_set_cover_reaches_every_reachable_township(hefei_plan, hefei, counted):
    answer = hefei_plan.set_cover
    assert answer is not None and len(answer.sites) > len(hefei_plan.sites)
    assert answer.uncoverable == 0  # every township is its own candidate
    radius = hefei.params.radius_m
    for t in hefei.townships:
        if t.located == "unlocated" or t.demand - t.demand_covered <= 1e-9:
            continue
        if any(haversine_m(f.lon, f.lat, t.ref_lon, t.ref_lat) <= radius for f in counted):
            continue
        assert any(
            haversine_m(s.lon, s.lat, t.ref_lon, t.ref_lat) <= radius * (1 + 1e-9)
            for s in answer.sites
        ), t.name


def test_exact_is_at_least_as_good_as_greedy(data, hefei):
    greedy = planning.plan(data, sites=4, city=HEFEI, report=hefei, method="greedy")
    exact = planning.plan(data, sites=4, city=HEFEI, report=hefei, method="exact")
    assert greedy.method == "greedy" and greedy.optimal is None
    assert exact.method == "exact" and exact.optimal is True
    assert exact.added_total >= greedy.added_total - 1e-6


def test_auto_turns_greedy_above_the_exact_limit(data, hefei, monkeypatch):
    monkeypatch.setattr(planning, "EXACT_MAX_PAIRS", 100)
    result = planning.plan(data, sites=3, city=HEFEI, report=hefei)
    assert result.method == "greedy" and result.optimal is None
    assert len(result.sites) == 3


@pytest.mark.parametrize(
    "source,kind", [("logistics", "logistics_park"), ("service_areas", "service_area")]
)
def test_facility_candidates_stay_in_the_area(data, hefei, source, kind):
    params = CoverageParams(kinds=frozenset({"driver_home"}))
    report = planning.coverage(data, params, city=HEFEI)
    result = planning.plan(
        data, params, sites=3, candidates=source, city=HEFEI, report=report, method="greedy"
    )
    ids = {f.id: f for f in data.facilities}
    expected = [f for f in data.facilities if f.kind == kind and f.city == HEFEI]
    assert result.candidates == len(expected)
    assert len(result.sites) == 3
    for site in result.sites:
        f = ids[site.candidate_id]
        assert f.kind == kind and f.city == HEFEI and site.name == f.name


def test_service_areas_add_nothing_when_they_already_count(data, hefei):
    result = planning.plan(
        data, sites=3, candidates="service_areas", city=HEFEI, report=hefei, method="greedy"
    )
    assert result.sites == [] and result.added_total == 0
    assert "fewer_sites_add_demand" in result.notes


def test_junction_candidates_are_cut_to_the_area_polygon(data, hefei):
    result = planning.plan(
        data, sites=3, candidates="junctions", city=HEFEI, report=hefei, method="greedy"
    )
    area = data.area(HEFEI)
    inside = [j for j in data.junctions if area.geometry.contains(Point(j.lon, j.lat))]
    assert result.candidates == len(inside) > 0
    assert result.candidates_dropped == len(data.junctions) - len(inside)
    for site in result.sites:
        assert area.geometry.contains(Point(site.lon, site.lat))


def test_grid_demand_matches_the_blind_spot_grid(data):
    params = CoverageParams()
    cells = planning.layout(data, city=HEFEI, resolution=7)
    result = planning.plan(
        data,
        params,
        sites=3,
        demand="grid",
        candidates="grid",
        city=HEFEI,
        cells=cells,
        method="greedy",
    )
    grid = blind_spots(data.units, data.facilities, params, layout=cells)
    summary = grid.summary()
    assert result.baseline == pytest.approx(summary["demand_covered"])
    assert result.total == pytest.approx(summary["demand"])
    assert result.resolution == 7 and result.demand_points == len(cells.cells)
    assert result.candidates == len(cells.cells)
    assert all(s.name.startswith("网格 ") for s in result.sites)


def test_plan_rejects_bad_arguments(data):
    for kwargs, field in [
        ({"sites": 0}, "sites"),
        ({"sites": True}, "sites"),
        ({"sites": planning.MAX_SITES + 1}, "sites"),
        ({"sites": 2, "demand": "people"}, "demand"),
        ({"sites": 2, "method": "magic"}, "method"),
        ({"sites": 2, "candidates": "airports"}, "candidates"),
        ({"sites": 2, "city": "火星市"}, "city"),
        ({"sites": 2, "city": HEFEI, "county": "埇桥区"}, "county"),
    ]:
        with pytest.raises(InvalidParameter) as info:
            planning.plan(data, **kwargs)
        assert info.value.field == field, kwargs


def test_a_fine_grid_over_the_province_is_refused(data):
    with pytest.raises(InvalidParameter) as info:
        planning.layout(data, resolution=10)
    assert info.value.field == "resolution"
    assert "250,000" in info.value.message


def test_progress_callback_reports_every_stage(data, hefei):
    seen = []
    planning.plan(
        data,
        sites=2,
        city=HEFEI,
        report=hefei,
        method="greedy",
        set_cover=True,
        on_progress=lambda stage, share: seen.append((stage, share)),
    )
    assert [s for s, _ in seen] == [
        "coverage",
        "demand",
        "candidates",
        "solve",
        "set_cover",
        "done",
    ]
    assert [v for _, v in seen] == sorted(v for _, v in seen) and seen[-1][1] == 1.0


# ---- what if --------------------------------------------------------------------------------
def test_what_if_covers_the_townships_within_the_radius(url, data, hefei, hefei_plan):
    with open_storage(url) as storage:
        version, stored = storage.data_version(), len(storage.facilities())
    result = planning.what_if(data, hefei_plan.sites, city=HEFEI, before=hefei)
    radius = hefei.params.radius_m
    before = {t.code: t for t in hefei.townships}
    expected = {
        t.code
        for t in hefei.townships
        if t.located != "unlocated"
        and not t.covered
        and any(haversine_m(s.lon, s.lat, t.ref_lon, t.ref_lat) <= radius for s in hefei_plan.sites)
    }
    newly = {t.code for t in result.newly_covered}
    assert expected <= newly
    for code in newly - expected:  # else covered because a new site lies inside it
        row = next(t for t in result.after.townships if t.code == code)
        assert row.facilities_inside > before[code].facilities_inside
    assert result.after.total.covered == hefei.total.covered + len(newly)
    assert result.after.total.demand_covered > hefei.total.demand_covered
    assert all(f.kind == "driver_home" and f.city == HEFEI for f in result.sites)
    body = result.to_dict()
    assert body["added_covered_townships"] == len(newly)
    assert body["before"]["total"]["covered"] == hefei.total.covered
    # nothing stored changed
    with open_storage(url) as storage:
        assert (storage.data_version(), len(storage.facilities())) == (version, stored)
    assert not any(f.id.startswith("proposed:") for f in data.facilities)


def test_a_plan_is_checked_by_the_coverage_rules(data, hefei, hefei_plan):
    """The plan's own model counts a township's whole uncovered demand once its seat is
    reached; the check measures the sites as the township figures will: by area share."""
    check = hefei_plan.check_dict()
    independent = planning.what_if(
        data, [(s.lon, s.lat) for s in hefei_plan.sites], city=HEFEI
    ).to_dict()
    assert check["added_demand"] == independent["added_demand"] > 0
    assert check["added_covered_townships"] == independent["added_covered_townships"]
    assert check["share_before"] == pytest.approx(hefei.total.demand_share)
    assert check["share_after"] == pytest.approx(
        (hefei.total.demand_covered + check["added_demand"]) / hefei.total.demand, abs=1e-6
    )
    # the siting model counts at least as much: a reached seat counts its whole township
    assert hefei_plan.added_total >= check["added_demand"] - 1e-6
    assert hefei_plan.to_dict()["coverage_check"] == check


def test_what_if_uses_a_counted_kind(data):
    params = CoverageParams(kinds=frozenset({"service_point"}))
    result = planning.what_if(data, [(117.25, 31.89)], params, city=HEFEI)
    assert result.sites[0].kind == "service_point"
    assert result.after.total.covered >= result.before.total.covered + 1


def test_what_if_needs_points(data):
    with pytest.raises(InvalidParameter) as info:
        planning.what_if(data, [], city=HEFEI)
    assert info.value.field == "what_if"


# ---- candidate points -------------------------------------------------------------------------
def test_points_as_pairs_objects_and_geojson():
    pairs = planning.candidates_from_points([[117.2, 31.8], [117.3, 31.9]])
    assert pairs.names == ["候选点 1", "候选点 2"] and pairs.lon.tolist() == [117.2, 117.3]
    objects = planning.candidates_from_points([{"lon": 117.2, "lat": 31.8, "name": "甲"}])
    assert objects.names == ["甲"]
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [117.2, 31.8]},
                "properties": {"name": "乙"},
            }
        ],
    }
    assert planning.candidates_from_points(collection).names == ["乙"]


def test_points_in_gcj02_are_converted():
    lon, lat = from_wgs84(117.2, 31.8, "gcj02")
    points = planning.candidates_from_points([[float(lon), float(lat)]], crs="gcj02")
    back = to_wgs84(float(lon), float(lat), "gcj02")
    assert points.lon[0] == pytest.approx(float(back[0]), abs=1e-9)
    assert points.lon[0] == pytest.approx(117.2, abs=1e-6)
    assert points.lat[0] == pytest.approx(31.8, abs=1e-6)


@pytest.mark.parametrize(
    "points",
    [
        [[31.8, 117.2]],
        [["a", 31.8]],
        [[117.2]],
        [5],
        [{"lon": 117.2}],
        [[True, 31.8]],
        "seats!",
        7,
        {
            "type": "FeatureCollection",
            "features": [{"geometry": {"type": "LineString", "coordinates": []}}],
        },
    ],
)
def test_bad_points_name_the_field(points):
    with pytest.raises(InvalidParameter) as info:
        planning.candidates_from_points(points)
    assert info.value.field == "candidates"


def test_too_many_points_are_refused(monkeypatch):
    monkeypatch.setattr(planning, "MAX_CANDIDATE_POINTS", 3)
    with pytest.raises(PayloadTooLarge):
        planning.candidates_from_points([[117.2, 31.8]] * 4)


def test_candidates_from_csv_xlsx_and_geojson_files(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("名称,经度,纬度\n站甲,117.21,31.81\n站乙,117.31,31.91\n", encoding="utf-8-sig")
    from_csv = planning.read_candidates(path)
    assert from_csv.names == ["站甲", "站乙"] and from_csv.source == "file"
    assert from_csv.lon.tolist() == [117.21, 117.31] and from_csv.ids == ["file:2", "file:3"]

    book = Workbook()
    sheet = book.active
    sheet.append(["lon", "lat"])
    sheet.append([117.21, 31.81])
    xlsx = tmp_path / "sites.xlsx"
    book.save(xlsx)
    from_xlsx = planning.read_candidates(xlsx)
    assert from_xlsx.names == ["候选点 1"] and from_xlsx.lat.tolist() == [31.81]

    geojson = tmp_path / "sites.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [117.21, 31.81]},
                        "properties": {"name": "站丙"},
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert planning.read_candidates(geojson).names == ["站丙"]

    bd = planning.read_candidates(path, crs="bd09")
    assert bd.lon[0] != 117.21 and abs(bd.lon[0] - 117.21) < 0.02


@pytest.mark.parametrize(
    "text,hint",
    [
        ("名称,经度,纬度\n甲,abc,31.8\n", "row 2"),
        ("名称,经度,纬度\n甲,31.8,117.2\n", "not in China"),
        ("名称,地址\n甲,某路\n", "longitude"),
    ],
)
def test_bad_candidate_files_name_the_row(tmp_path, text, hint):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidParameter) as info:
        planning.read_candidates(path)
    assert info.value.field == "candidates" and hint in info.value.message


def test_plan_with_uploaded_points(data, hefei):
    near_gap = next(t for t in hefei.gaps)
    points = planning.candidates_from_points(
        [[near_gap.ref_lon, near_gap.ref_lat], [118.9, 30.0]]
    )  # the second is far away
    result = planning.plan(data, sites=2, candidates=points, city=HEFEI, report=hefei)
    assert result.candidates == 1 and result.candidates_dropped == 1
    assert [s.candidate_id for s in result.sites] == ["point:1"]
    assert result.sites[0].added >= near_gap.demand - near_gap.demand_covered - 1e-6


# ---- request parsing -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body,field",
    [
        ({"sites": 3, "bogus": 1}, "bogus"),
        ({}, "sites"),
        ({"sites": "3"}, "sites"),
        ({"sites": 2.5}, "sites"),
        ({"sites": 3, "radius_km": 0}, "radius_km"),
        ({"sites": 3, "radius_km": 101}, "radius_km"),
        ({"sites": 3, "radius_km": "x"}, "radius_km"),
        ({"sites": 3, "radius_km": [1]}, "radius_km"),
        ({"sites": 3, "kind": "卡车"}, "kind"),
        ({"sites": 3, "kind": [1]}, "kind"),
        ({"sites": 3, "weight": "cars"}, "weight"),
        ({"sites": 3, "candidates": "airports"}, "candidates"),
        ({"sites": 3, "candidates": []}, "candidates"),
        ({"sites": 3, "crs": "utm"}, "crs"),
        ({"sites": 3, "method": "best"}, "method"),
        ({"sites": 3, "demand": "x"}, "demand"),
        ({"sites": 3, "resolution": 4}, "resolution"),
        ({"sites": 3, "set_cover": "maybe"}, "set_cover"),
        ({"what_if": []}, "what_if"),
        ({"what_if": [[1, 2]]}, "what_if"),
        ({"sites": 3, "city": "x" * 61}, "city"),
    ],
)
def test_plan_request_errors_name_the_field(body, field):
    with pytest.raises(InvalidParameter) as info:
        planning.parse_plan_request(body)
    assert info.value.field == field


def test_plan_request_defaults_and_labels():
    args = planning.parse_plan_request(
        {"sites": 3, "kind": ["司机之家", "service_area"], "radius_km": "7.5", "set_cover": True}
    )
    assert args["params"].kinds == {"driver_home", "service_area"}
    assert args["params"].radius_km == 7.5
    assert (args["candidates"], args["demand"], args["method"]) == ("seats", "townships", "auto")
    assert args["set_cover"] is True and args["what_if"] is None
    only = planning.parse_plan_request({"what_if": [[117.2, 31.8]]})
    assert only["sites"] is None and len(only["what_if"]) == 1


# ---- tables and features ------------------------------------------------------------------------
def test_township_features_keep_every_township(data):
    report = planning.coverage(data)
    body = planning.township_features(report, data.units)
    assert len(body["features"]) == len(report.townships) == 1562
    kinds = {}
    for feature, row in zip(body["features"], report.townships, strict=True):
        assert feature["id"] == row.code
        geometry = feature["geometry"]
        kinds[row.located] = kinds.get(row.located, set()) | {
            None if geometry is None else geometry["type"]
        }
        assert feature["properties"]["covered"] == row.covered
        assert feature["properties"]["status"] == planning.township_status(row)
    assert kinds == {"unlocated": {None}, "seat": {"Point"}, "polygon": {"MultiPolygon"}}


def test_ordered_townships_put_gaps_first_and_lose_none(hefei):
    rows = planning.ordered_townships(hefei)
    assert sorted(r.code for r in rows) == sorted(t.code for t in hefei.townships)
    ranks = [r.gap_rank for r in rows if r.gap_rank is not None]
    assert ranks == list(range(1, len(ranks) + 1))
    assert [r.gap_rank is None for r in rows] == sorted(r.gap_rank is None for r in rows)
    assert all(r.located == "unlocated" for r in rows[-len(hefei.unlocated) :])


def test_workbook_has_the_five_formatted_sheets(data, hefei, hefei_plan, tmp_path):
    points = [ProgressPoint(dt.date(2026, 1, 31), None, None, 3, 2, 10)]
    tables = reports.all_tables(hefei, hefei_plan, points, "zh")
    path = tmp_path / "coverage.xlsx"
    reports.write_workbook(
        tables,
        path,
        "zh",
        reports.report_about(
            hefei, hefei_plan, generated=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
        ),
    )
    book = load_workbook(path)
    assert book.sheetnames == ["乡镇覆盖", "县区汇总", "市汇总", "建议选址", "进展", "参数"]
    sheet = book["乡镇覆盖"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["A1"].value == "缺口排名"
    assert sheet.max_row == len(hefei.townships) + 1
    headers = [c.value for c in sheet[1]]
    demand_col = headers.index("需求(常住人口)") + 1
    assert sheet.cell(2, demand_col).number_format == "#,##0"
    assert sheet.column_dimensions["D"].width >= 8
    statuses = [sheet.cell(r, 2).value for r in range(2, sheet.max_row + 1)]
    assert statuses.count("未定位") == len(hefei.unlocated) == 20
    sites = book["建议选址"]
    assert [sites.cell(r, 2).value for r in range(2, 7)] == [s.name for s in hefei_plan.sites]
    assert book["县区汇总"].max_row == len(hefei.counties) + 2  # and the total


def test_csv_has_a_bom_and_defuses_formulas(hefei):
    table = reports.Table(
        "t",
        "t",
        [reports.Column("name", "名称", "Name"), reports.Column("n", "数", "N")],
        [{"name": "=cmd|' /C calc'!A0", "n": -3.5}, {"name": "好", "n": 1}],
    )
    text = reports.table_csv(table)
    assert text.startswith("\ufeff名称,数\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-3.5"] and rows[2] == ["好", "1"]
    full = list(
        csv.reader(io.StringIO(reports.table_csv(reports.township_table(hefei)).lstrip("\ufeff")))
    )
    assert len(full) == len(hefei.townships) + 1


def test_svg_map_draws_every_located_township_and_escapes_names(data, hefei, hefei_plan):
    hostile = Facility("x", IMG, "driver_home", 117.25, 31.85)
    svg = str(
        reports.coverage_svg(
            hefei, data.units, facilities=[hostile], sites=hefei_plan.sites, title=IMG
        )
    )
    assert svg.count('class="svg-township') == sum(t.located == "polygon" for t in hefei.townships)
    assert svg.count('class="svg-site"') == 5
    assert IMG not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg


def test_progress_chart_has_both_series():
    points = [ProgressPoint(dt.date(2026, m, 28), None, None, m, m // 2, 10) for m in range(1, 7)]
    svg = str(reports.progress_svg(points, lang="en"))
    assert 'class="series-open"' in svg and 'class="series-covered"' in svg
    assert "Open facilities" in svg and svg.count("<circle") == 12
    assert "暂无数据" in str(reports.progress_svg([], lang="zh"))


def test_coverage_map_escapes_and_switches(data, hefei_plan):
    hostile = Facility("x", IMG, "driver_home", 117.35, 31.87, status="open")
    report = township_coverage(data.units, [*data.facilities, hostile], county="瑶海区")
    html = (
        build_coverage_map(report, data.units, [hostile], sites=hefei_plan.sites)
        .get_root()
        .render()
    )
    assert IMG not in html
    assert "setMode" in html and 'data-mode=\\"covered\\" hidden' in html
    assert html.count("site-badge") >= 1


# ---- the CLI --------------------------------------------------------------------------------
@pytest.fixture
def run(url):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--database", url, *args], catch_exceptions=False)

    return invoke


def test_cli_coverage_prints_the_rollups(run, hefei):
    result = run("coverage", "--city", HEFEI)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["县(区)", "乡镇数", "已定位"]
    total = next(line for line in lines if line.startswith("合计")).split("\t")
    assert total[1:6] == [
        str(hefei.total.townships),
        str(hefei.total.located),
        str(hefei.total.unlocated),
        str(hefei.total.covered),
        str(hefei.total.uncovered),
    ]
    assert "未定位乡镇 20 个" in result.stdout


def test_cli_coverage_json_equals_the_library(run, data):
    result = run("coverage", "--county", "肥东县", "--radius-km", "8", "--json")
    assert result.exit_code == 0
    expected = planning.coverage_summary(
        planning.coverage(data, CoverageParams(radius_km=8), county="肥东县")
    )
    assert json.loads(result.stdout) == json.loads(json.dumps(expected))


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".geojson"])
def test_cli_coverage_writes_files(run, tmp_path, data, suffix):
    out = tmp_path / f"feidong{suffix}"
    result = run("coverage", "--county", "肥东县", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = planning.coverage(data, county="肥东县")
    if suffix == ".xlsx":
        assert load_workbook(out)["乡镇覆盖"].max_row == len(report.townships) + 1
    elif suffix == ".csv":
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")
        assert len(out.read_text("utf-8-sig").splitlines()) == len(report.townships) + 1
    else:
        assert len(json.loads(out.read_text("utf-8"))["features"]) == len(report.townships)


def test_cli_plan_table_json_and_file(run, tmp_path, data, hefei):
    result = run("plan", "--sites", "5", "--city", HEFEI, "--method", "greedy")
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[1] for line in result.stdout.splitlines()[1:6]]
    expected = planning.plan(data, sites=5, city=HEFEI, report=hefei, method="greedy")
    assert names == [s.name for s in expected.sites]
    assert "需求覆盖率" in result.stdout and "greedy" in result.stdout
    check = expected.check_dict()
    assert (
        f"按覆盖率规则（乡镇面积在服务半径内的比例）核算：需求覆盖率 "
        f"{check['share_before']:.1%} → {check['share_after']:.1%}，"
        f"新增覆盖乡镇 {check['added_covered_townships']} 个"
    ) in result.stdout

    as_json = run("plan", "--sites", "3", "--city", HEFEI, "--method", "greedy", "--json")
    body = json.loads(as_json.stdout)
    assert body["method"] == "greedy" and len(body["sites"]) == 3

    out = tmp_path / "sites.geojson"
    written = run(
        "plan",
        "--sites",
        "2",
        "--city",
        HEFEI,
        "--out",
        str(out),
        "--progress",
        "--method",
        "greedy",
    )
    assert written.exit_code == 0
    assert "100%" in written.stderr and "wrote" in written.stderr
    features = json.loads(out.read_text("utf-8"))["features"]
    assert [f["properties"]["rank"] for f in features] == [1, 2]


def test_cli_plan_with_a_candidates_file(run, tmp_path, hefei):
    gap = hefei.gaps[0]
    path = tmp_path / "mine.csv"
    path.write_text(f"名称,经度,纬度\n我的点,{gap.ref_lon},{gap.ref_lat}\n", encoding="utf-8")
    result = run("plan", "--sites", "1", "--city", HEFEI, "--candidates", str(path), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["candidates"] == "file" and body["sites"][0]["name"] == "我的点"


@pytest.mark.parametrize(
    "args,field",
    [
        (("coverage", "--radius-km", "0"), "radius_km"),
        (("coverage", "--city", "火星市"), "city"),
        (("coverage", "--kind", "卡车"), "kind"),
        (("coverage", "--out", "x.pdf"), "out"),
        (("plan", "--sites", "0"), "sites"),
        (("plan", "--sites", "2", "--candidates", "nowhere.csv"), "candidates"),
        (("plan", "--sites", "2", "--resolution", "12", "--demand", "grid"), "resolution"),
        (("plan", "--sites", "2", "--candidates", "seats", "--weight", "x"), "weight"),
    ],
)
def test_cli_errors_name_the_field(run, args, field):
    result = run(*args)
    assert result.exit_code == 2
    assert f"error [{field}]" in result.stderr
