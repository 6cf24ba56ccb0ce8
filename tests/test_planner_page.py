"""The planner's pages on SQLite with the shipped data (Flask test client, HTML asserts):
/coverage, /coverage/report and the downloads, which hold the API's numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from locator.reports import STATUS_LABELS
from tests.web_fixtures import (
    add_facilities,
    assert_long_lived,
    asset_url,
    facility,
    loaded_database,
)

HEFEI = "合肥市"
IMG = "<img src=x onerror=alert(1)>"
TEMPLATE = "`${alert(1)}`"
CDN_MARKERS = ("cdn.", "cdnjs", "jsdelivr", "unpkg", "code.jquery", "bootstrapcdn", "googleapis")

#: A counted station with a hostile name in the middle of a Hefei gap (烟墩街道's area),
#: so it is the nearest facility of several townships; a second one, not counted.
HOSTILE = [
    facility("test:img", IMG, lon=117.33, lat=31.80, kind="driver_home"),
    facility("test:tpl", TEMPLATE, lon=117.10, lat=31.95, kind="logistics_park"),
]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("planner"))
    add_facilities(url, *HOSTILE)
    yield url
    cleanup()


@pytest.fixture(scope="module")
def hefei_html(app):
    response = app.test_client().get("/coverage", query_string={"city": HEFEI})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def api_townships(app):
    response = app.test_client().get("/api/v1/townships", query_string={"city": HEFEI})
    return {f["id"]: f["properties"] for f in response.get_json()["features"]}


@pytest.fixture(scope="module")
def api_summary(app):
    return (
        app.test_client().get("/api/v1/coverage/summary", query_string={"city": HEFEI}).get_json()
    )


@pytest.fixture(scope="module")
def api_plan(app):
    return app.test_client().post("/api/v1/plan", json={"sites": 5, "city": HEFEI}).get_json()


class Tables(HTMLParser):
    """Rows of the tables with a given class: lists of cell texts, and row attributes."""

    def __init__(self, css: str):
        super().__init__()
        self.css, self.depth, self.rows, self.attrs = css, 0, [], []
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and self.css in (attrs.get("class") or "").split():
            self.depth = 1
        elif tag == "table" and self.depth:
            self.depth += 1
        elif self.depth and tag == "tr":
            self._row = []
            self.attrs.append(attrs)
        elif self.depth and tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif self.depth and tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def table(html: str, css: str) -> tuple[list[list[str]], list[dict]]:
    parser = Tables(css)
    parser.feed(html)
    return parser.rows, parser.attrs


def in_script(text: str) -> str:
    """``text`` as Jinja's ``tojson`` embeds it in a script (inside a JSON string)."""
    from jinja2.utils import htmlsafe_json_dumps

    return str(htmlsafe_json_dumps(text))[1:-1]


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


# ---- the page -------------------------------------------------------------------------------
def test_page_has_the_choropleth_legend_and_layers(hefei_html, api_townships):
    html = hefei_html
    assert "合肥市 · 覆盖规划" in html
    # the township layer: one feature per located township, coloured both ways
    start = html.index("var layer = L.geoJSON(") + len("var layer = L.geoJSON(")
    features = json.JSONDecoder().raw_decode(html, start)[0]["features"]
    located = {c for c, p in api_townships.items() if p["located"] != "unlocated"}
    assert {f["properties"]["code"] for f in features} == located
    for f in features:
        props = f["properties"]
        assert props["s"] == api_townships[props["code"]]["status"]
        assert re.fullmatch(r"#[0-9a-f]{6}", props["cd"]) and re.fullmatch(
            r"#[0-9a-f]{6}", props["cc"]
        )
    assert 'item.options.className = "township status-"' in html
    # the legend: both modes, the distance one shown first
    assert html.count('class=\\"legend-mode\\"') == 2
    assert 'data-mode=\\"covered\\" hidden' in html
    assert in_script("已覆盖（≤ 5 公里或辖区内有站点）") in html
    assert in_script("网格盲区边界") in html
    # layers: blind spots, counted and other facilities, rings (off), suggested sites
    for name in (
        "乡镇覆盖",
        "网格盲区",
        "计入覆盖的站点",
        "其他站点（不计入）",
        "服务半径",
        "建议选址",
        "县区界",
    ):
        assert f'"{name}"' in html or in_script(name) in html, name
    assert "blind-spot" in html and "radius-ring" in html


def test_page_serves_its_assets_locally(app, hefei_html):
    for marker in CDN_MARKERS:
        assert marker not in hefei_html, marker
    client = app.test_client()
    for src in (
        asset_url(app, "coverage.js"),
        asset_url(app, "coverage.css"),
        asset_url(app, "leaflet.js", package="leaflet"),
    ):
        assert f'"{src}"' in hefei_html, src
        assert_long_lived(client, src)


def test_gap_table_lists_every_township_with_the_api_numbers(hefei_html, api_townships):
    rows, attrs = table(hefei_html, "gap-table")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["缺口排名", "覆盖状态", "乡镇(街道)"]
    assert len(body) == len(api_townships) == 146
    codes = [a["data-code"] for a in attrs[1:]]
    assert sorted(codes) == sorted(api_townships)
    column = {name: i for i, name in enumerate(header)}
    ranks = []
    for code, row in zip(codes, body, strict=True):
        props = api_townships[code]
        assert row[column["乡镇(街道)"]] == props["name"]
        assert row[column["覆盖状态"]] == STATUS_LABELS[props["status"]]["zh"]
        if props["gap_rank"] is not None:
            ranks.append(int(row[column["缺口排名"]]))
            assert int(row[column["缺口排名"]]) == props["gap_rank"]
        uncovered = props["demand"] - props["demand_covered"]
        assert number(row[column["未覆盖需求(常住人口)"]]) == pytest.approx(uncovered, abs=1)
    assert ranks == list(range(1, len(ranks) + 1))  # worst first
    statuses = [row[column["覆盖状态"]] for row in body]
    assert statuses[-20:] == ["未定位"] * 20  # unlocated last, never dropped


def test_rollup_table_equals_the_summary(hefei_html, api_summary):
    rows, attrs = table(hefei_html, "county-table")
    body = rows[1:]
    assert [a.get("data-code") for a in attrs[1:]] == (
        [c["code"] for c in api_summary["counties"]] + [api_summary["total"]["code"]]
    )
    header = rows[0]
    col = {name: i for i, name in enumerate(header)}
    for row, expected in zip(body, [*api_summary["counties"], api_summary["total"]], strict=True):
        assert int(row[col["乡镇数"]]) == expected["townships"]
        assert int(row[col["已覆盖"]]) == expected["covered"]
        assert int(row[col["未定位"]]) == expected["unlocated"]
        assert number(row[col["需求(常住人口)"]]) == pytest.approx(expected["demand"], abs=1)
    assert body[-1][0] == "合计"
    assert "city-table" not in hefei_html  # one city: its counties only


def test_suggested_sites_are_on_the_map_and_in_the_table(hefei_html, api_plan):
    rows, attrs = table(hefei_html, "sites-table")
    body = rows[1:]
    assert len(body) == len(api_plan["sites"]) == 5
    header = rows[0]
    col = {name: i for i, name in enumerate(header)}
    for row, site in zip(body, api_plan["sites"], strict=True):
        assert row[col["名称"]] == site["name"]
        assert number(row[col["新增覆盖需求(常住人口)"]]) == pytest.approx(site["added"], abs=1)
    markers = re.search(r"var (sites_layer_\w+) = \(function", hefei_html)
    assert markers
    for site in api_plan["sites"]:
        assert json.dumps(f"{site['rank']}. {site['name']}") in hefei_html  # marker titles
        assert f'data-rank=\\"{site["rank"]}\\"' in hefei_html  # popups
    assert "新增覆盖需求" in hefei_html
    check = api_plan["coverage_check"]
    note = re.search(r'<span class="plan-check">(.*?)</span>', hefei_html, re.S).group(1)
    assert f"{check['share_after'] * 100:.1f}%" in note
    assert f"新增覆盖乡镇 {check['added_covered_townships']} 个" in note


def test_figures_and_progress_chart(hefei_html, api_summary):
    total = api_summary["total"]
    for name, key in (
        ("fig-townships", "townships"),
        ("fig-covered", "covered"),
        ("fig-uncovered", "uncovered"),
        ("fig-unlocated", "unlocated"),
    ):
        assert f'id="{name}">{total[key]}<' in hefei_html
    assert 'class="progress-chart"' in hefei_html and "运营站点数" in hefei_html


def test_hostile_names_are_escaped_in_popups_and_tables(hefei_html):
    assert IMG not in hefei_html
    # the raw name appears only as a JSON string (a marker's title, set as an attribute)
    assert hefei_html.count(TEMPLATE) == hefei_html.count(json.dumps(TEMPLATE))
    # the counted one is the nearest facility of townships: in the table, the popups
    # and the facility layer, escaped for HTML and for template literals
    rows, _ = table(hefei_html, "gap-table")
    assert any(IMG in row for row in rows)  # the parser unescapes the table cell
    assert str(escape(IMG)) in hefei_html
    assert in_script("&#96;&#36;{alert(1)}&#96;") in hefei_html  # the park's popup


def test_english_page(client):
    response = client.get(
        "/coverage", query_string={"city": "340100", "lang": "en", "view": "covered", "sites": "2"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Coverage planning" in html and "Townships by gap" in html
    assert 'data-mode=\\"distance\\" hidden' in html  # the covered legend is shown
    rows, _ = table(html, "gap-table")
    assert rows[0][:3] == ["Gap rank", "Status", "Township"]
    assert len(table(html, "sites-table")[0]) == 3


def test_province_page_has_city_and_county_tables(client):
    html = client.get("/coverage", query_string={"sites": "0", "blind": "0"}).get_data(as_text=True)
    cities, _ = table(html, "city-table")
    counties, _ = table(html, "county-table")
    assert len(cities) == 1 + 16 + 1 and len(counties) == 1 + 104 + 1
    assert len(table(html, "gap-table")[0]) == 1 + 1562
    assert "sites-table" not in html and "blind-spot" not in html


def test_form_keeps_the_choices(client):
    html = client.get(
        "/coverage",
        query_string={
            "county": "肥东县",
            "radius_km": "7.5",
            "kind": ["driver_home", "service_area"],
            "candidates": "junctions",
            "sites": "3",
            "rings": "1",
            "weight": "transport_workers",
            "freq": "weekly",
        },
    ).get_data(as_text=True)
    assert 'value="340122" selected' in html and 'value="340100" selected' in html
    assert 'name="radius_km" min="0.1" max="100" step="0.1"\n                 value="7.5"' in html
    assert re.search(r'value="driver_home"\s+checked', html)
    assert not re.search(r'value="service_point"\s+checked', html)
    assert 'value="junctions" selected' in html and 'value="weekly" selected' in html
    assert re.search(r'name="rings" value="1"\s+checked', html)
    assert "交通运输从业人员" in html


@pytest.mark.parametrize(
    "params,field",
    [
        ({"radius_km": "0"}, "radius_km"),
        ({"city": "火星市"}, "city"),
        ({"sites": "99"}, "sites"),
        ({"view": "3d"}, "view"),
        ({"candidates": "x"}, "candidates"),
        ({"kind": "卡车"}, "kind"),
        ({"freq": "hourly"}, "freq"),
        ({"zoom": "3"}, "zoom"),
        ({"city": HEFEI, "county": "埇桥区"}, "county"),
    ],
)
def test_bad_page_parameters_are_a_400_page(client, params, field):
    response = client.get("/coverage", query_string=params)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert field in response.get_data(as_text=True)
    as_json = client.get("/coverage", query_string=params, headers={"Accept": "application/json"})
    assert as_json.get_json()["error"]["field"] == field


def test_no_candidates_is_a_notice_not_an_error(client):
    html = client.get(
        "/coverage", query_string={"county": "庐阳区", "candidates": "junctions", "blind": "0"}
    ).get_data(as_text=True)
    assert 'class="notice"' in html and "该地区没有这类候选点位" in html
    # 肥东县's 20 junctions are all more than 5 km from its uncovered townships
    html = client.get(
        "/coverage", query_string={"county": "肥东县", "candidates": "junctions", "blind": "0"}
    ).get_data(as_text=True)
    assert "服务半径内没有未覆盖的需求" in html and "sites-table" not in html


# ---- downloads ------------------------------------------------------------------------------
def test_xlsx_holds_the_api_numbers(client, api_townships, api_summary, api_plan):
    response = client.get("/coverage/download.xlsx", query_string={"city": HEFEI})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[:5] == ["乡镇覆盖", "县区汇总", "市汇总", "建议选址", "进展"]
    sheet = book["乡镇覆盖"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    col = {name: i for i, name in enumerate(header)}
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(api_townships)
    for row in rows:
        props = api_townships[row[col["乡镇代码"]]]
        assert row[col["乡镇(街道)"]] == props["name"]
        assert row[col["缺口排名"]] == props["gap_rank"]
        assert row[col["覆盖状态"]] == STATUS_LABELS[props["status"]]["zh"]
        assert row[col["需求(常住人口)"]] == pytest.approx(props["demand"], abs=0.05)
        if props["nearest_m"] is not None:
            assert row[col["最近站点距离(公里)"]] == pytest.approx(
                props["nearest_m"] / 1000, abs=1e-3
            )
        assert row[col["最近站点"]] == props["nearest_name"]
    counties = list(book["县区汇总"].iter_rows(min_row=2, values_only=True))
    chead = [c.value for c in book["县区汇总"][1]]
    ccol = {name: i for i, name in enumerate(chead)}
    for row, expected in zip(
        counties, [*api_summary["counties"], api_summary["total"]], strict=True
    ):
        assert row[ccol["乡镇数"]] == expected["townships"]
        assert row[ccol["已覆盖"]] == expected["covered"]
        assert row[ccol["需求(常住人口)"]] == pytest.approx(expected["demand"], abs=0.05)
        assert row[ccol["站点数"]] == expected["facilities"]
    sites = list(book["建议选址"].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in sites] == [s["name"] for s in api_plan["sites"]]
    assert [r[8] for r in sites] == pytest.approx([s["added"] for s in api_plan["sites"]], abs=0.05)
    assert book["进展"].max_row > 1


def test_csv_downloads_parse(client, api_townships, api_summary):
    response = client.get("/coverage/download.csv", query_string={"city": HEFEI})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == len(api_townships)
    assert {r["乡镇代码"] for r in rows} == set(api_townships)
    assert sum(r["覆盖状态"] == "未定位" for r in rows) == api_summary["total"]["unlocated"]
    counties = client.get(
        "/coverage/download.csv", query_string={"city": HEFEI, "table": "counties"}
    )
    crows = list(csv.DictReader(io.StringIO(counties.data.decode("utf-8-sig"))))
    assert [r["县(区)"] for r in crows][:-1] == [c["name"] for c in api_summary["counties"]]
    bad = client.get("/coverage/download.csv", query_string={"table": "secrets"})
    assert bad.status_code == 400


def test_geojson_downloads_parse(client, api_townships, api_plan):
    body = json.loads(client.get("/coverage/download.geojson", query_string={"city": HEFEI}).data)
    assert body["type"] == "FeatureCollection"
    assert {f["id"] for f in body["features"]} == set(api_townships)
    sites = json.loads(
        client.get(
            "/coverage/download.geojson", query_string={"city": HEFEI, "layer": "sites"}
        ).data
    )
    assert [f["properties"]["name"] for f in sites["features"]] == [
        s["name"] for s in api_plan["sites"]
    ]
    blind = json.loads(
        client.get(
            "/coverage/download.geojson", query_string={"city": HEFEI, "layer": "blind_spots"}
        ).data
    )
    assert blind["features"] and all(
        f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in blind["features"]
    )
    assert client.get("/coverage/download.pdf").status_code in (400, 404)


# ---- the printable report -------------------------------------------------------------------
def test_report_page_is_printable(client, api_townships, api_summary):
    response = client.get("/coverage/report", query_string={"city": HEFEI})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    css_url = asset_url(client.application, "coverage.css")
    assert f'href="{css_url}"' in html and "report-sheet" in html
    polygons = sum(p["located"] == "polygon" for p in api_townships.values())
    assert html.count('class="svg-township') == polygons
    assert 'class="progress-chart"' in html and "<svg" in html
    rows, _ = table(html, "data-table")
    assert rows[0][0] == "县(区)"
    assert "打印或存为 PDF" in html and "leaflet" not in html.lower()
    assert IMG not in html
    css = assert_long_lived(client, css_url).decode()
    assert "@page { size: A4" in css and "@media print" in css
