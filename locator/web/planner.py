"""The planner's pages: ``/coverage`` (map, gaps, rollups, suggested sites, progress),
``/coverage/report`` (printable A4) and the downloads (XLSX, CSV, GeoJSON).

Everything is chosen with a GET form (no state changes, so no CSRF token); the same
parameters drive the page, the report and the downloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _

from .. import planning, reports
from ..clock import local_now, local_today
from ..coverage import DEFAULT_COUNTED_KINDS, CoverageParams, CoverageReport
from ..errors import InvalidParameter
from ..freshness import stale_by_county
from ..maps import label, map_parts
from ..maps.coverage import build_coverage_map
from ..model import KINDS, AdminUnit
from ..params import _single, parse_bool, parse_int
from ..planner import CoverageRequest, PlanRequest, ProgressRequest
from ..progress import FREQUENCIES, ProgressPoint
from . import state
from .api.coverage import planner
from .api.facilities import _reject_unknown
from .assets import map_assets
from .i18n import current_lang
from .pages import nonced_page

bp = Blueprint("planner", __name__)

#: The parameters of the planner's pages and downloads.
PAGE_PARAMS = {
    "city",
    "county",
    "radius_km",
    "kind",
    "weight",
    "view",
    "sites",
    "candidates",
    "demand",
    "rings",
    "blind",
    "freq",
    "lang",
}
DOWNLOAD_PARAMS = PAGE_PARAMS | {"table", "layer"}
#: The page suggests at most this many sites.
PAGE_MAX_SITES = 50
DEFAULT_SITES = 5
#: Candidate sources offered on the page (a file goes through the API or the CLI).
PAGE_CANDIDATES = planning.CANDIDATE_SOURCES
GEOJSON_LAYERS = ("townships", "sites", "blind_spots")


@dataclass
class PageRequest:
    """What the planner asked for."""

    params: CoverageParams
    city: str | None
    county: str | None
    view: str
    sites: int
    candidates: str
    demand: str
    rings: bool
    blind: bool
    freq: str
    lang: str

    def query(self, **changes) -> dict:
        """The query parameters that ask for this again (with ``changes``)."""
        values = {
            "city": self.city,
            "county": self.county,
            "radius_km": f"{self.params.radius_km:g}",
            "kind": (
                sorted(self.params.kinds) if self.params.kinds != DEFAULT_COUNTED_KINDS else None
            ),
            "weight": self.params.weight if self.params.weight != "population" else None,
            "view": self.view,
            "sites": self.sites,
            "candidates": self.candidates,
            "demand": self.demand if self.demand != "townships" else None,
            "rings": "1" if self.rings else None,
            "blind": None if self.blind else "0",
            "freq": self.freq,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "", [])}

    def query_string(self, **changes) -> str:
        return urlencode(self.query(**changes), doseq=True)


def parse_page_request(args) -> PageRequest:
    """The page's parameters, validated (InvalidParameter names the bad one)."""
    params = planning.parse_coverage_params(args)
    city, county = planning.parse_area(args)
    return PageRequest(
        params=params,
        city=city,
        county=county,
        view=planning.parse_choice(args, "view", ("distance", "covered"), "distance"),
        sites=parse_int(args, "sites", DEFAULT_SITES, 0, PAGE_MAX_SITES),
        candidates=planning.parse_choice(args, "candidates", PAGE_CANDIDATES, "seats"),
        demand=planning.parse_choice(args, "demand", planning.DEMAND_SOURCES, "townships"),
        rings=parse_bool(args, "rings"),
        blind=parse_bool(args, "blind", True),
        freq=planning.parse_choice(args, "freq", tuple(FREQUENCIES), "monthly"),
        lang=current_lang(),
    )


@dataclass
class Computed:
    """What the page, the report and the downloads show."""

    data: planning.PlanningData
    report: CoverageReport
    plan: planning.PlanResult | None
    plan_error: str | None
    progress: list[ProgressPoint]
    blind: dict | None
    area: AdminUnit | None


def _progress_city(data: planning.PlanningData, area: AdminUnit | None) -> str | None:
    """The city whose progress to show: the area's city (a county's parent), or None."""
    if area is None:
        return None
    if area.level == "city":
        return area.code
    unit = area
    while unit is not None and unit.level != "city":
        unit = data.by_code.get(unit.parent_code) if unit.parent_code else None
    return unit.code if unit is not None else None


def compute(page: PageRequest, *, need_blind: bool = True) -> Computed:
    """Coverage, blind spots, the plan and progress for a page request (all kept by the
    data version's planner)."""
    found = planner()
    area_request = CoverageRequest(page.params, page.city, page.county)
    area = found.data.area(page.city, page.county)
    report = found.coverage(area_request)
    result, error = None, None
    if page.sites:
        try:
            result = found.plan(
                PlanRequest(
                    area_request, sites=page.sites, candidates=page.candidates, demand=page.demand
                )
            )
        except InvalidParameter as exc:  # e.g. no candidates of that kind in the area
            error = (
                _("There are no candidate sites of this kind in this area.")
                if exc.field == "candidates"
                else exc.message_in(page.lang)
            )
    blind = None
    if page.blind and need_blind:
        try:
            blind = found.blind_spots(area_request)
        except InvalidParameter:
            blind = None  # an area without polygon has no grid
    points = found.progress(
        ProgressRequest(page.params, _progress_city(found.data, area), page.freq),
        local_today(state().clock),
    )
    return Computed(found.data, report, result, error, points, blind, area)


def _weight_label(params: CoverageParams, lang: str) -> str:
    return label(reports.WEIGHT_LABELS, params.weight, lang)


def _map(page: PageRequest, done: Computed) -> dict:
    """The rendered map's parts, cached per data version and parameters."""
    app_state = state()
    key = (
        done.data.data_version,
        page.query_string(),
        page.lang,
        app_state.settings.tiles,
        app_state.settings.tile_url,
    )

    def build() -> dict:
        area = done.area
        shown = [f for f in done.data.facilities if planning.in_area(f, area)]
        fmap = build_coverage_map(
            done.report,
            done.data.units,
            shown,
            mode=page.view,
            blind_spots=done.blind,
            sites=done.plan.sites if done.plan else (),
            rings=page.rings,
            lang=page.lang,
            tiles=app_state.settings.tile_provider(),
            assets=map_assets(),
            detail_url=lambda f: url_for("pages.facility", facility_id=f.id),
            weight_label=_weight_label(page.params, page.lang),
        )
        return map_parts(fmap)

    return app_state.results.get("coverage-map", key, build, gate=app_state.gate)


def _progress_for_chart(points: list[ProgressPoint], city_code: str | None) -> list[ProgressPoint]:
    return planning.progress_totals(points, city_code)


def _options(data: planning.PlanningData, area: AdminUnit | None, lang: str) -> dict:
    """Choices of the form's selects."""
    city_code = _progress_city(data, area)
    county_code = area.code if area is not None and area.level == "county" else None
    cities = [(u.code, u.name, u.code == city_code) for u in data.cities()]
    groups = []
    for city in data.cities():
        counties = [(u.code, u.name, u.code == county_code) for u in data.counties(city)]
        groups.append((city.code, city.name, counties))
    kinds = [(k, label(KINDS, k, lang)) for k in KINDS]
    return {
        "cities": cities,
        "county_groups": groups,
        "kinds": kinds,
        "candidates": [(k, label(reports.SOURCE_LABELS, k, lang)) for k in PAGE_CANDIDATES],
        "weights": [(k, label(reports.WEIGHT_LABELS, k, lang)) for k in reports.WEIGHT_LABELS],
        "freqs": [("daily", _("Daily")), ("weekly", _("Weekly")), ("monthly", _("Monthly"))],
        "demands": [("townships", _("Townships")), ("grid", _("Grid cells"))],
    }


def _figures(report: CoverageReport, blind_summary: dict | None) -> dict:
    total = report.total
    return {
        "townships": total.townships,
        "covered": total.covered,
        "uncovered": total.uncovered,
        "unlocated": total.unlocated,
        "covered_share": total.covered_share,
        "demand_share": total.demand_share,
        "facilities": total.facilities,
        "blind": blind_summary,
    }


def _blind_summary(blind: dict | None) -> dict | None:
    if not blind:
        return None
    features = blind.get("features", [])
    return {
        "spots": len(features),
        "area_km2": sum(f["properties"].get("area_km2", 0) for f in features),
    }


def _area_title(area: AdminUnit | None, lang: str) -> str:
    if area is not None:
        return area.name
    return "安徽省" if lang == "zh" else "Anhui"


def _stale_counties(report: CoverageReport) -> list[dict]:
    """Stale records (:mod:`locator.freshness`) per county of the coverage report."""
    app_state = state()
    counties = [(r.code, r.name) for r in report.counties]
    return stale_by_county(
        app_state.catalog.current().facilities,
        counties,
        local_today(app_state.clock),
        app_state.settings.stale_days,
        app_state.settings.stale_hours_days,
    )


def _context(page: PageRequest, done: Computed) -> dict:
    lang = page.lang
    city_code = _progress_city(done.data, done.area)
    chart_points = _progress_for_chart(done.progress, city_code)
    township_table = reports.township_table(done.report, lang)
    county_table = reports.rollup_table(done.report, "county", lang)
    city_table = reports.rollup_table(done.report, "city", lang)
    site_table = reports.site_table(done.plan, lang, page.params.weight)
    return {
        "page": page,
        "lang": lang,
        "report": done.report,
        "plan": done.plan,
        "plan_error": done.plan_error,
        "area": done.area,
        "area_title": _area_title(done.area, lang),
        "figures": _figures(done.report, _blind_summary(done.blind)),
        "townships": township_table,
        "counties": county_table,
        "stale_counties": _stale_counties(done.report),
        "stale_days": (state().settings.stale_days, state().settings.stale_hours_days),
        "cities": city_table,
        "sites": site_table,
        "show_cities": done.area is None,
        "chart": reports.progress_svg(chart_points, lang=lang, freq=page.freq),
        "progress_rows": reports.progress_table(chart_points, lang),
        "options": _options(done.data, done.area, lang),
        "kinds_text": reports.kind_names(page.params.kinds, lang),
        "weight_label": _weight_label(page.params, lang),
        "source_label": label(reports.SOURCE_LABELS, page.candidates, lang),
        "status_labels": {k: v[lang] for k, v in reports.STATUS_LABELS.items()},
        "query": page.query_string(),
        "data_version": done.data.data_version,
        "generated": local_now(state().clock).replace(microsecond=0),
    }


@bp.get("/coverage")
def coverage_page():
    """The planner's view: choropleth, blind spots, suggested sites, tables, progress."""
    _reject_unknown(PAGE_PARAMS)
    page = parse_page_request(request.args)
    done = compute(page)
    context = _context(page, done)
    context["config"] = {
        "mode": page.view,
        "county_groups": {
            code: [c for c, _n, _s in counties]
            for code, _name, counties in context["options"]["county_groups"]
        },
    }
    return nonced_page("coverage.html", _map(page, done), **context)


@bp.get("/coverage/report")
def coverage_print():
    """A printable A4 report: SVG map, figures, rollups, sites, progress chart."""
    _reject_unknown(PAGE_PARAMS)
    page = parse_page_request(request.args)
    done = compute(page, need_blind=False)
    context = _context(page, done)
    counted = [f for f in done.data.facilities if done.report.params.counts(f)]
    title = f"{context['area_title']} · {_('Township coverage')}"
    context["svg"] = reports.coverage_svg(
        done.report,
        done.data.units,
        mode=page.view,
        facilities=counted,
        sites=done.plan.sites if done.plan else (),
        lang=page.lang,
        title=title,
    )
    context["legend"] = (
        reports.distance_legend(page.params.radius_km, page.lang)
        if page.view == "distance"
        else reports.covered_legend(page.lang)
    )
    context["top_gaps"] = [
        row for row in context["townships"].rows if row.get("gap_rank") is not None
    ][:20]
    response = Response(render_template("coverage_report.html", **context), mimetype="text/html")
    # Scripts from this site only; the report's swatches are inline styles.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'self'"
    )
    return response


def _filename(area: AdminUnit | None, extension: str, suffix: str = "") -> tuple[str, str]:
    """An ASCII fallback name and the UTF-8 name of a download."""
    stamp = local_now(state().clock).strftime("%Y%m%d")
    code = area.code if area is not None else "anhui"
    name = f"{area.name if area is not None else '安徽省'}_覆盖{suffix}_{stamp}{extension}"
    return f"coverage-{code}{'-' + suffix if suffix else ''}-{stamp}{extension}", name


def attachment(data: bytes | str, mimetype: str, names: tuple[str, str]) -> Response:
    body = data.encode("utf-8") if isinstance(data, str) else data
    response = Response(body, mimetype=mimetype)
    ascii_name, utf8_name = names
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name)}"
    )
    response.cache_control.private = True
    response.cache_control.max_age = 0
    return response


@bp.get("/coverage/download.<fmt>")
def coverage_download(fmt: str):
    """The page's tables as XLSX (every table), CSV (``table=``) or GeoJSON (``layer=``)."""
    _reject_unknown(DOWNLOAD_PARAMS)
    if fmt not in ("xlsx", "csv", "geojson"):
        raise InvalidParameter("download format must be xlsx, csv or geojson", field="format")
    page = parse_page_request(request.args)
    lang = page.lang
    if fmt == "geojson":
        layer = planning.parse_choice(request.args, "layer", GEOJSON_LAYERS, "townships")
        done = compute(page, need_blind=layer == "blind_spots")
        if layer == "townships":
            body = reports.townships_geojson(done.report, done.data.units)
        elif layer == "sites":
            body = reports.sites_geojson(done.plan)
        else:
            body = done.blind or {"type": "FeatureCollection", "features": []}
        suffix = "" if layer == "townships" else layer
        return attachment(
            json.dumps(body, ensure_ascii=False),
            "application/geo+json",
            _filename(done.area, ".geojson", suffix),
        )
    done = compute(page, need_blind=False)
    city_code = _progress_city(done.data, done.area)
    points = _progress_for_chart(done.progress, city_code)
    tables = reports.all_tables(done.report, done.plan, points, lang)
    if fmt == "xlsx":
        about = reports.report_about(
            done.report,
            done.plan,
            lang,
            generated=local_now(state().clock),
            data_version=done.data.data_version,
        )
        return attachment(
            reports.workbook_bytes(tables, lang, about),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _filename(done.area, ".xlsx"),
        )
    name = _single(request.args, "table") or "townships"
    chosen = {t.name: t for t in tables}
    if name not in chosen:
        raise InvalidParameter(f"table must be one of {', '.join(chosen)}", field="table")
    return attachment(
        reports.table_csv(chosen[name], lang),
        "text/csv; charset=utf-8",
        _filename(done.area, ".csv", "" if name == "townships" else name),
    )
