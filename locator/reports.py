"""Coverage reports: tables, XLSX workbooks, CSV, GeoJSON and server-drawn SVG.

Everything a planner downloads or prints is built here from the library's results
(:class:`~locator.coverage.CoverageReport`, :class:`~locator.planning.PlanResult`,
progress points), so the page, the downloads and the CLI show the same numbers.

Spreadsheet safety as in :mod:`locator.export`: XLSX text cells are typed text
(never formulas); CSV text cells starting with ``= + - @`` get a leading apostrophe.
The SVG is drawn from the township polygons on the server (no tiles, no network), for
the printable report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from markupsafe import Markup, escape

from .coverage import CoverageReport, Rollup, TownshipCoverage
from .model import KINDS, AdminUnit, Facility
from .planning import PlanResult, ordered_townships, township_features, township_status
from .progress import ProgressPoint

#: Table names of the downloads, with their sheet names.
TABLES = {
    "townships": {"zh": "乡镇覆盖", "en": "Townships"},
    "counties": {"zh": "县区汇总", "en": "Counties"},
    "cities": {"zh": "市汇总", "en": "Cities"},
    "sites": {"zh": "建议选址", "en": "Suggested sites"},
    "progress": {"zh": "进展", "en": "Progress"},
}

STATUS_LABELS = {
    "covered": {"zh": "已覆盖", "en": "Covered"},
    "partly": {"zh": "部分覆盖", "en": "Partly covered"},
    "uncovered": {"zh": "未覆盖", "en": "Not covered"},
    "unlocated": {"zh": "未定位", "en": "Not located"},
}

LOCATED_LABELS = {
    "polygon": {"zh": "边界面", "en": "Polygon"},
    "seat": {"zh": "驻地点", "en": "Seat point"},
    "unlocated": {"zh": "未定位", "en": "Not located"},
}

SOURCE_LABELS = {
    "seats": {"zh": "乡镇驻地", "en": "Township seat"},
    "logistics": {"zh": "物流园区", "en": "Logistics park"},
    "service_areas": {"zh": "高速服务区", "en": "Service area"},
    "junctions": {"zh": "高速互通", "en": "Expressway junction"},
    "grid": {"zh": "网格中心", "en": "Grid cell"},
    "file": {"zh": "上传文件", "en": "Uploaded file"},
    "points": {"zh": "指定点位", "en": "Given points"},
}

WEIGHT_LABELS = {
    "population": {"zh": "常住人口", "en": "population"},
    "transport_workers": {"zh": "交通运输从业人员", "en": "transport workers"},
}

#: Colours of the choropleth (ColorBrewer RdYlBu, colour-blind safe): by distance class
#: (within the radius, up to 2x, 3x, 5x, beyond or no facility), and covered/not.
DISTANCE_COLORS = ("#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c")
DISTANCE_STEPS = (1.0, 2.0, 3.0, 5.0)
COVERED_COLORS = {
    "covered": "#2c7bb6",
    "partly": "#fdae61",
    "uncovered": "#d7191c",
    "unlocated": "#bdbdbd",
}
SITE_COLOR = "#6a1b9a"

FMT_INT = "#,##0"
FMT_KM = "0.00"
FMT_SHARE = "0.0%"
FMT_DEG = "0.000000"
FMT_RATE = "0.00"


def _t(labels: dict[str, dict[str, str]], key: str | None, lang: str) -> str:
    if key is None:
        return ""
    return labels.get(key, {}).get(lang) or key


@dataclass(frozen=True)
class Column:
    """A table column: key, Chinese and English header, and an XLSX number format."""

    key: str
    zh: str
    en: str
    fmt: str | None = None

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def demand_header(weight: str, lang: str, what: str = "demand") -> str:
    """``需求(常住人口)``, ``已覆盖需求(常住人口)``... for the weight used."""
    label = _t(WEIGHT_LABELS, weight, lang)
    if lang == "zh":
        return {
            "demand": f"需求({label})",
            "covered": f"已覆盖需求({label})",
            "uncovered": f"未覆盖需求({label})",
            "added": f"新增覆盖需求({label})",
            "cumulative": f"累计新增覆盖({label})",
        }[what]
    return {
        "demand": f"Demand ({label})",
        "covered": f"Covered demand ({label})",
        "uncovered": f"Uncovered demand ({label})",
        "added": f"Demand added ({label})",
        "cumulative": f"Cumulative added ({label})",
    }[what]


def township_columns(weight: str) -> list[Column]:
    return [
        Column("gap_rank", "缺口排名", "Gap rank", "0"),
        Column("status", "覆盖状态", "Status"),
        Column("code", "乡镇代码", "Code"),
        Column("name", "乡镇(街道)", "Township"),
        Column("county", "县(区)", "County"),
        Column("city", "市", "City"),
        Column("located", "定位方式", "Located by"),
        Column("nearest_km", "最近站点距离(公里)", "Nearest facility (km)", FMT_KM),
        Column("nearest_name", "最近站点", "Nearest facility"),
        Column("facilities_inside", "辖区内站点数", "Facilities inside", "0"),
        Column("covered_share", "面积覆盖比例", "Area covered", FMT_SHARE),
        Column("area_km2", "面积(平方公里)", "Area (km²)", FMT_KM),
        Column("demand", demand_header(weight, "zh"), demand_header(weight, "en"), FMT_INT),
        Column(
            "demand_covered",
            demand_header(weight, "zh", "covered"),
            demand_header(weight, "en", "covered"),
            FMT_INT,
        ),
        Column(
            "demand_uncovered",
            demand_header(weight, "zh", "uncovered"),
            demand_header(weight, "en", "uncovered"),
            FMT_INT,
        ),
        Column("ref_lon", "参考点经度", "Reference lon", FMT_DEG),
        Column("ref_lat", "参考点纬度", "Reference lat", FMT_DEG),
    ]


def rollup_columns(level: str, weight: str) -> list[Column]:
    name = {"county": ("县(区)", "County"), "city": ("市", "City")}.get(level, ("地区", "Area"))
    return [
        Column("code", "代码", "Code"),
        Column("name", *name),
        Column("townships", "乡镇数", "Townships", FMT_INT),
        Column("located", "已定位", "Located", FMT_INT),
        Column("unlocated", "未定位", "Not located", FMT_INT),
        Column("covered", "已覆盖", "Covered", FMT_INT),
        Column("uncovered", "未覆盖", "Not covered", FMT_INT),
        Column("covered_share", "乡镇覆盖率", "Townships covered", FMT_SHARE),
        Column("demand", demand_header(weight, "zh"), demand_header(weight, "en"), FMT_INT),
        Column(
            "demand_covered",
            demand_header(weight, "zh", "covered"),
            demand_header(weight, "en", "covered"),
            FMT_INT,
        ),
        Column("demand_share", "需求覆盖率", "Demand covered", FMT_SHARE),
        Column("facilities", "站点数", "Facilities", FMT_INT),
        Column("population", "常住人口", "Population", FMT_INT),
        Column("transport_workers", "交通运输从业人员", "Transport workers", FMT_INT),
        Column(
            "facilities_per_100k_people", "每十万人站点数", "Facilities per 100k people", FMT_RATE
        ),
        Column(
            "facilities_per_10k_transport_workers",
            "每万名从业人员站点数",
            "Facilities per 10k transport workers",
            FMT_RATE,
        ),
    ]


def site_columns(weight: str) -> list[Column]:
    return [
        Column("rank", "序号", "Rank", "0"),
        Column("name", "名称", "Name"),
        Column("source", "候选来源", "Candidate source"),
        Column("city", "市", "City"),
        Column("county", "县(区)", "County"),
        Column("township", "乡镇(街道)", "Township"),
        Column("lon", "经度", "Lon", FMT_DEG),
        Column("lat", "纬度", "Lat", FMT_DEG),
        Column(
            "added",
            demand_header(weight, "zh", "added"),
            demand_header(weight, "en", "added"),
            FMT_INT,
        ),
        Column(
            "cumulative",
            demand_header(weight, "zh", "cumulative"),
            demand_header(weight, "en", "cumulative"),
            FMT_INT,
        ),
        Column("points_reached", "新覆盖需求点数", "Demand points newly reached", FMT_INT),
        Column("share_after", "建成后需求覆盖率", "Demand covered after", FMT_SHARE),
    ]


PROGRESS_COLUMNS = [
    Column("period_end", "截至日期", "Period end", "yyyy-mm-dd"),
    Column("city", "市", "City"),
    Column("open_facilities", "运营站点数", "Open facilities", FMT_INT),
    Column("covered_townships", "已覆盖乡镇数", "Covered townships", FMT_INT),
    Column("located_townships", "已定位乡镇数", "Located townships", FMT_INT),
    Column("share", "乡镇覆盖率", "Townships covered", FMT_SHARE),
]


# ---- rows ---------------------------------------------------------------------------------
def township_values(row: TownshipCoverage, lang: str) -> dict[str, Any]:
    """One township's table values (numbers stay numbers; labels in ``lang``)."""
    return {
        "gap_rank": row.gap_rank,
        "status": _t(STATUS_LABELS, township_status(row), lang),
        "status_key": township_status(row),
        "code": row.code,
        "name": row.name,
        "county": row.county,
        "city": row.city,
        "located": _t(LOCATED_LABELS, row.located, lang),
        "nearest_km": None if row.nearest_m is None else round(row.nearest_m / 1000.0, 3),
        "nearest_name": row.nearest_name,
        "facilities_inside": row.facilities_inside,
        "covered_share": row.covered_share,
        "area_km2": None if row.area_km2 is None else round(row.area_km2, 3),
        "demand": round(row.demand, 1),
        "demand_covered": round(row.demand_covered, 1),
        "demand_uncovered": round(row.demand - row.demand_covered, 1),
        "ref_lon": row.ref_lon,
        "ref_lat": row.ref_lat,
    }


def rollup_values(rollup: Rollup) -> dict[str, Any]:
    data = rollup.to_dict()
    data["demand"] = round(data["demand"], 1)
    data["demand_covered"] = round(data["demand_covered"], 1)
    return data


@dataclass
class Table:
    """A titled table: columns and one dict of values per row."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]

    def headers(self, lang: str) -> list[str]:
        return [c.header(lang) for c in self.columns]

    def matrix(self) -> list[list[Any]]:
        return [[row.get(c.key) for c in self.columns] for row in self.rows]


def township_table(report: CoverageReport, lang: str = "zh") -> Table:
    """Every township (gaps by rank, then covered, then unlocated — never dropped)."""
    return Table(
        "townships",
        _t(TABLES, "townships", lang),
        township_columns(report.params.weight),
        [township_values(t, lang) for t in ordered_townships(report)],
    )


def rollup_table(report: CoverageReport, level: str, lang: str = "zh") -> Table:
    """Rollups per county or city, with the total as the last row."""
    rollups = report.counties if level == "county" else report.cities
    rows = [rollup_values(r) for r in rollups]
    if report.total is not None:
        total = rollup_values(report.total)
        total["name"] = "合计" if lang == "zh" else "Total"
        total["code"] = report.total.code
        rows.append(total)
    name = "counties" if level == "county" else "cities"
    return Table(name, _t(TABLES, name, lang), rollup_columns(level, report.params.weight), rows)


def site_table(result: PlanResult | None, lang: str = "zh", weight: str = "population") -> Table:
    rows = []
    if result is not None:
        weight = result.params.weight
        for site in result.sites:
            values = site.to_dict()
            values["source"] = _t(SOURCE_LABELS, site.source, lang)
            values["share_after"] = (
                (result.baseline + site.cumulative) / result.total if result.total else None
            )
            rows.append(values)
    return Table("sites", _t(TABLES, "sites", lang), site_columns(weight), rows)


def progress_table(points: Sequence[ProgressPoint], lang: str = "zh") -> Table:
    rows = []
    for p in points:
        rows.append(
            {
                "period_end": p.period_end,
                "city": p.city or ("全部" if lang == "zh" else "All"),
                "open_facilities": p.open_facilities,
                "covered_townships": p.covered_townships,
                "located_townships": p.located_townships,
                "share": (
                    p.covered_townships / p.located_townships if p.located_townships else None
                ),
            }
        )
    return Table("progress", _t(TABLES, "progress", lang), PROGRESS_COLUMNS, rows)


def all_tables(
    report: CoverageReport,
    result: PlanResult | None,
    points: Sequence[ProgressPoint],
    lang: str = "zh",
) -> list[Table]:
    """The five tables of the workbook, in sheet order."""
    return [
        township_table(report, lang),
        rollup_table(report, "county", lang),
        rollup_table(report, "city", lang),
        site_table(result, lang, report.params.weight),
        progress_table(points, lang),
    ]


# ---- XLSX ---------------------------------------------------------------------------------
def _display_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        text = f"{value:,.2f}"
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_workbook(
    tables: Sequence[Table], target: Any, lang: str = "zh", about: Sequence[tuple[str, Any]] = ()
) -> None:
    """An XLSX workbook, one sheet per table: bold frozen header, number formats, widths,
    auto-filter; text cells stored as text. ``about`` adds a sheet of parameters."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="EEEEEE")
    wrap = Alignment(wrap_text=True, vertical="center")
    for table in tables:
        ws = wb.create_sheet(table.title[:31])
        headers = table.headers(lang)
        matrix = table.matrix()
        for j, header in enumerate(headers):
            sample = [header] + [row[j] for row in matrix[:2000]]
            width = max(_display_width(v) for v in sample) + 2
            ws.column_dimensions[get_column_letter(j + 1)].width = min(max(width, 8), 50)
        ws.freeze_panes = "A2"
        row_cells = []
        for header in headers:
            cell = WriteOnlyCell(ws, value=header)
            cell.font = bold
            cell.fill = fill
            cell.alignment = wrap
            row_cells.append(cell)
        ws.append(row_cells)
        for values in matrix:
            cells = []
            for column, value in zip(table.columns, values, strict=True):
                cell = WriteOnlyCell(ws, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                elif value is not None and column.fmt:
                    cell.number_format = column.fmt
                cells.append(cell)
            ws.append(cells)
        if matrix:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(matrix) + 1}"
    if about:
        ws = wb.create_sheet("参数" if lang == "zh" else "Parameters")
        ws.column_dimensions["A"].width = 24
        ws.column_dimensions["B"].width = 60
        for key, value in about:
            name = WriteOnlyCell(ws, value=str(key))
            name.font = bold
            cell = WriteOnlyCell(
                ws,
                value=value
                if isinstance(value, int | float)
                else ("" if value is None else str(value)),
            )
            if isinstance(cell.value, str):
                cell.data_type = "s"
            ws.append([name, cell])
    wb.save(target)


def workbook_bytes(
    tables: Sequence[Table], lang: str = "zh", about: Sequence[tuple[str, Any]] = ()
) -> bytes:
    buffer = io.BytesIO()
    write_workbook(tables, buffer, lang, about)
    return buffer.getvalue()


# ---- CSV ---------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6)) if math.isfinite(value) else ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def table_csv(table: Table, lang: str = "zh") -> str:
    """A table as CSV text, UTF-8 BOM first (so Excel reads Chinese correctly)."""
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(table.headers(lang))
    for values in table.matrix():
        writer.writerow([_csv_cell(v) for v in values])
    return "\ufeff" + stream.getvalue()


# ---- GeoJSON -------------------------------------------------------------------------------
def townships_geojson(report: CoverageReport, units: Sequence[AdminUnit]) -> dict:
    """Townships with their coverage (polygon, else reference point, else null geometry)."""
    return township_features(report, units)


def sites_geojson(result: PlanResult | None) -> dict:
    """Suggested sites as points with the demand each adds."""
    features = []
    for site in result.sites if result else []:
        features.append(
            {
                "type": "Feature",
                "id": f"site-{site.rank}",
                "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
                "properties": site.to_dict(),
            }
        )
    return {"type": "FeatureCollection", "features": features}


# ---- colours and classes -------------------------------------------------------------------
def distance_class(row: TownshipCoverage, radius_km: float) -> int:
    """0 (covered) to 4 (beyond 5x the radius, or no facility at all)."""
    if row.covered:
        return 0
    if row.nearest_m is None:
        return len(DISTANCE_COLORS) - 1
    ratio = row.nearest_m / 1000.0 / radius_km
    for i, step in enumerate(DISTANCE_STEPS):
        if ratio <= step:
            return max(i, 1)
    return len(DISTANCE_COLORS) - 1


def distance_legend(radius_km: float, lang: str) -> list[tuple[str, str]]:
    """``(colour, label)`` of each distance class."""
    r = radius_km
    steps = [s * r for s in DISTANCE_STEPS]
    if lang == "zh":
        labels = [
            f"已覆盖（≤ {r:g} 公里或辖区内有站点）",
            f"{steps[0]:g}–{steps[1]:g} 公里",
            f"{steps[1]:g}–{steps[2]:g} 公里",
            f"{steps[2]:g}–{steps[3]:g} 公里",
            f"> {steps[3]:g} 公里或无站点",
        ]
    else:
        labels = [
            f"Covered (≤ {r:g} km or a facility inside)",
            f"{steps[0]:g}–{steps[1]:g} km",
            f"{steps[1]:g}–{steps[2]:g} km",
            f"{steps[2]:g}–{steps[3]:g} km",
            f"> {steps[3]:g} km or none",
        ]
    return list(zip(DISTANCE_COLORS, labels, strict=True))


def covered_legend(lang: str) -> list[tuple[str, str]]:
    return [
        (COVERED_COLORS[k], _t(STATUS_LABELS, k, lang)) for k in ("covered", "partly", "uncovered")
    ]


def township_color(row: TownshipCoverage, mode: str, radius_km: float) -> str:
    if mode == "covered":
        return COVERED_COLORS[township_status(row)]
    return DISTANCE_COLORS[distance_class(row, radius_km)]


# ---- SVG map ------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def coverage_svg(
    report: CoverageReport,
    units: Sequence[AdminUnit],
    *,
    mode: str = "covered",
    facilities: Sequence[Facility] = (),
    sites: Sequence = (),
    width: int = 720,
    height: int = 520,
    lang: str = "zh",
    title: str | None = None,
) -> Markup:
    """An SVG map of the townships coloured by coverage, drawn on the server.

    Polygons are simplified to about half a pixel; townships known only by their seat
    are dots; counted ``facilities`` are small black dots and suggested ``sites``
    numbered purple circles. Every text is escaped.
    """
    by_code = {u.code: u for u in units}
    shapes = []
    for row in report.townships:
        unit = by_code.get(row.code)
        if unit is not None and unit.geometry is not None:
            shapes.append((row, unit.geometry))
        elif row.ref_lon is not None:
            shapes.append((row, shapely.Point(row.ref_lon, row.ref_lat)))
    area = report.area
    outline = area.geometry if area is not None and area.geometry is not None else None
    geoms = [g for _, g in shapes] + ([outline] if outline is not None else [])
    if not geoms:
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="coverage-svg" '
            f'viewBox="0 0 {width} {height}" role="img"></svg>'
        )
    west, south, east, north = shapely.total_bounds(geoms)
    margin = 10.0
    lat0 = math.radians((south + north) / 2)
    kx = math.cos(lat0)
    span_x = max((east - west) * kx, 1e-6)
    span_y = max(north - south, 1e-6)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return off_x + (lon - west) * kx * scale, off_y + (north - lat) * scale

    tolerance = 0.6 / scale

    def path(geometry) -> str:
        geometry = shapely.simplify(geometry, tolerance, preserve_topology=True)
        parts = []
        for polygon in shapely.get_parts(geometry):
            if polygon.geom_type != "Polygon":
                continue
            for ring in (polygon.exterior, *polygon.interiors):
                coords = [xy(x, y) for x, y in ring.coords]
                if len(coords) < 3:
                    continue
                parts.append("M" + "L".join(f"{_fmt(x)} {_fmt(y)}" for x, y in coords) + "Z")
        return "".join(parts)

    radius_km = report.params.radius_km
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="coverage-svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title or "")}">'
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    dots = []
    for row, geometry in shapes:
        color = township_color(row, mode, radius_km)
        status = township_status(row)
        label = escape(f"{row.name} ({_t(STATUS_LABELS, status, lang)})")
        if geometry.geom_type == "Point":
            x, y = xy(geometry.x, geometry.y)
            dots.append(
                f'<circle class="svg-seat status-{status}" cx="{_fmt(x)}" '
                f'cy="{_fmt(y)}" r="3.5" fill="{color}" stroke="#333" '
                f'stroke-width="0.6"><title>{label}</title></circle>'
            )
        else:
            d = path(geometry)
            if d:
                out.append(
                    f'<path class="svg-township status-{status}" d="{d}" '
                    f'fill="{color}" stroke="#555" stroke-width="0.4" '
                    f'fill-rule="evenodd"><title>{label}</title></path>'
                )
    if outline is not None:
        out.append(
            f'<path d="{path(outline)}" fill="none" stroke="#222" stroke-width="1.2" '
            'fill-rule="evenodd"/>'
        )
    out.extend(dots)
    for f in facilities:
        if not (west <= f.lon <= east and south <= f.lat <= north):
            continue
        x, y = xy(f.lon, f.lat)
        out.append(
            f'<circle class="svg-facility" cx="{_fmt(x)}" cy="{_fmt(y)}" r="2.2" '
            f'fill="#111"><title>{escape(f.name)}</title></circle>'
        )
    for site in sites:
        x, y = xy(site.lon, site.lat)
        out.append(
            f'<g class="svg-site"><circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="7" '
            f'fill="{SITE_COLOR}" stroke="#fff" stroke-width="1.5"/>'
            f'<text x="{_fmt(x)}" y="{_fmt(y + 3.5)}" font-size="9" fill="#fff" '
            f'text-anchor="middle" font-family="sans-serif">{site.rank}</text>'
            f"<title>{escape(site.name)}</title></g>"
        )
    out.append("</svg>")
    return Markup("".join(out))


# ---- SVG chart ----------------------------------------------------------------------------
def progress_svg(
    points: Sequence[ProgressPoint],
    *,
    lang: str = "zh",
    width: int = 720,
    height: int = 240,
    freq: str = "monthly",
) -> Markup:
    """A line chart of open facilities and covered townships per period (inline SVG)."""
    series = sorted(points, key=lambda p: p.period_end)
    names = {
        "open": "运营站点数" if lang == "zh" else "Open facilities",
        "covered": "已覆盖乡镇数" if lang == "zh" else "Covered townships",
    }
    left, right, top, bottom = 48, 36, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="progress-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(names["open"])} / {escape(names["covered"])}">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if not series:
        empty = "暂无数据" if lang == "zh" else "No data"
        out.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            f'font-size="13" fill="#666">{empty}</text></svg>'
        )
        return Markup("".join(out))
    highest = max(max(p.open_facilities, p.covered_townships) for p in series)
    step = _nice_step(max(highest, 1) / 4)
    top_value = step * max(1, math.ceil(highest / step))
    n = len(series)

    def x_at(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    for k in range(round(top_value / step) + 1):
        value = step * k
        y = y_at(value)
        out.append(
            f'<line x1="{left}" y1="{_fmt(y)}" x2="{width - right}" y2="{_fmt(y)}" '
            f'stroke="#e0e0e0"/><text x="{left - 6}" y="{_fmt(y + 4)}" font-size="11" '
            f'text-anchor="end" fill="#555">{value}</text>'
        )
    step = max(1, math.ceil(n / 8))
    for i, p in enumerate(series):
        if i % step and i != n - 1:
            continue
        text = (
            p.period_end.strftime("%m-%d")
            if freq == "daily"
            else p.period_end.strftime("%Y-%m-%d")
            if freq == "weekly"
            else p.period_end.strftime("%Y-%m")
        )
        out.append(
            f'<text x="{_fmt(x_at(i))}" y="{height - bottom + 16}" font-size="11" '
            f'text-anchor="middle" fill="#555">{text}</text>'
        )
    for key, color, attr in (
        ("open", "#b71c1c", "open_facilities"),
        ("covered", "#2c7bb6", "covered_townships"),
    ):
        coords = " ".join(
            f"{_fmt(x_at(i))},{_fmt(y_at(getattr(p, attr)))}" for i, p in enumerate(series)
        )
        out.append(
            f'<polyline class="series-{key}" points="{coords}" fill="none" '
            f'stroke="{color}" stroke-width="2"/>'
        )
        for i, p in enumerate(series):
            value = getattr(p, attr)
            out.append(
                f'<circle cx="{_fmt(x_at(i))}" cy="{_fmt(y_at(value))}" r="2.5" '
                f'fill="{color}"><title>{p.period_end.isoformat()}: '
                f"{escape(names[key])} {value}</title></circle>"
            )
    legend_x = left
    for key, color in (("open", "#b71c1c"), ("covered", "#2c7bb6")):
        out.append(
            f'<rect x="{legend_x}" y="8" width="14" height="4" fill="{color}"/>'
            f'<text x="{legend_x + 18}" y="14" font-size="12" fill="#333">'
            f"{escape(names[key])}</text>"
        )
        legend_x += 18 + 13 * len(names[key]) + 24
    out.append("</svg>")
    return Markup("".join(out))


def _nice_step(value: float) -> int:
    """The smallest whole 1, 2 or 5 x 10^k at or above ``value`` (axis steps of counts)."""
    exponent = 10 ** max(0, math.floor(math.log10(value))) if value >= 1 else 1
    for factor in (1, 2, 5, 10):
        if value <= factor * exponent:
            return int(factor * exponent)
    return int(10 * exponent)  # pragma: no cover


def kind_names(kinds, lang: str) -> str:
    """Kinds as a readable list (``司机之家、工会服务站``)."""
    sep = "、" if lang == "zh" else ", "
    return sep.join(_t(KINDS, k, lang) for k in KINDS if k in kinds)


def report_about(
    report: CoverageReport,
    result: PlanResult | None,
    lang: str = "zh",
    *,
    generated: dt.datetime,
    data_version: int | None = None,
) -> list[tuple[str, Any]]:
    """The parameters sheet: area, radius, counted kinds, weight, plan, time."""
    zh = lang == "zh"
    area = report.area
    rows: list[tuple[str, Any]] = [
        ("地区" if zh else "Area", area.name if area else ("安徽省全部" if zh else "All")),
        ("服务半径(公里)" if zh else "Service radius (km)", report.params.radius_km),
        ("计入的站点类型" if zh else "Counted kinds", kind_names(report.params.kinds, lang)),
        ("需求口径" if zh else "Demand weight", _t(WEIGHT_LABELS, report.params.weight, lang)),
    ]
    if result is not None:
        rows += [
            ("建议选址数" if zh else "Suggested sites", len(result.sites)),
            ("候选来源" if zh else "Candidates", _t(SOURCE_LABELS, result.candidate_source, lang)),
            ("求解方法" if zh else "Method", result.method),
        ]
    if data_version is not None:
        rows.append(("数据版本" if zh else "Data version", data_version))
    rows.append(("生成时间" if zh else "Generated", generated.replace(microsecond=0).isoformat()))
    return rows
