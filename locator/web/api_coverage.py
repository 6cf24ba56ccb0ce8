"""The coverage API (``/api/v1``): townships, rollups, grid blind spots, progress, plans.

Thin views over :mod:`locator.planning`. The expensive results (coverage reports,
grids, plans, progress series) are cached per data version and parameters in the
app's result cache, each built once however many requests want it, and only as many at
once as the worker's gate lets in; grid layouts, which do not depend on the
facilities, are kept per admin data, area, resolution and weight.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Blueprint, jsonify, request

from .. import planning
from ..clock import local_today
from ..coverage import CoverageParams, CoverageReport
from ..grid import GridLayout, GridReport
from ..params import _single, parse_bool, parse_int
from ..progress import FREQUENCIES, ProgressPoint
from . import state
from .api import GEOJSON, _reject_unknown, cached_json
from .bodies import read_json_object

bp = Blueprint("api_coverage", __name__, url_prefix="/api/v1")

#: The largest plan request body.
PLAN_BODY_LIMIT = 2 * 1024 * 1024
#: Time limit of the exact solver in a web request (seconds).
WEB_TIME_LIMIT_S = 30.0

COVERAGE_PARAMS = {"city", "county", "radius_km", "kind", "weight"}
TOWNSHIP_PARAMS = COVERAGE_PARAMS | {"simplify"}
GRID_PARAMS = COVERAGE_PARAMS | {"resolution", "blind_only"}
PROGRESS_PARAMS = {"city", "freq", "periods", "radius_km", "kind"}

#: Polygons of ``/townships?simplify=true`` are simplified to this (degrees; ~50 m).
SIMPLIFY_TOLERANCE = 0.0005


# ---- caches -------------------------------------------------------------------------------
def _cached(namespace: str, key: Hashable, build: Callable[[], Any]):
    """The value cached under ``(namespace, key)``: built once however many requests ask
    for it at the same time, inside the worker's gate for heavy work (see
    :class:`locator.cache.ResultCache` and :data:`locator.web.RESULT_CACHE_SIZES`)."""
    app_state = state()
    return app_state.results.get(namespace, key, build, gate=app_state.gate)


def planning_data() -> planning.PlanningData:
    """The data of the current version (admin units, facilities, junctions, history)."""
    app_state = state()
    catalog = app_state.catalog.current()
    version = catalog.data_version
    return app_state.results.get("coverage-data", version, lambda: (
        planning.PlanningData.from_storage(app_state.storage, catalog.facilities, version)))


def coverage_report(data: planning.PlanningData, params: CoverageParams, city: str | None,
                    county: str | None) -> CoverageReport:
    key = (data.data_version, planning.coverage_key(params), city, county)
    return _cached("coverage-report", key,
                   lambda: planning.coverage(data, params, city=city, county=county))


def grid_layout(data: planning.PlanningData, city: str | None, county: str | None,
                resolution: int | None, weight: str) -> GridLayout:
    area = data.area(city, county)
    key = (data.units_key, area.code if area else None, resolution, weight)
    return _cached("coverage-layout", key, lambda: planning.layout(
        data, city=city, county=county, resolution=resolution, weight=weight))


def grid_report(data: planning.PlanningData, params: CoverageParams, city: str | None,
                county: str | None, resolution: int | None) -> GridReport:
    cells = grid_layout(data, city, county, resolution, params.weight)
    area = data.area(city, county)
    key = (data.data_version, planning.coverage_key(params), area.code if area else None,
           cells.resolution, params.weight)
    return _cached("coverage-grid", key,
                   lambda: planning.grid(data, params, cells=cells))


def blind_spots_display(data: planning.PlanningData, params: CoverageParams,
                        city: str | None, county: str | None) -> dict:
    report = grid_report(data, params, city, county, None)
    key = (data.data_version, planning.coverage_key(params), city, county, report.resolution)
    return _cached("coverage-blind", key, lambda: planning.blind_spots_for_display(report))


def plan_result(data: planning.PlanningData, params: CoverageParams, *, city: str | None,
                county: str | None, sites: int, candidates: str | planning.CandidateSet,
                demand: str = "townships", method: str = "auto", set_cover: bool = False,
                resolution: int | None = None) -> planning.PlanResult:
    """A plan, cached per data version and every parameter (candidate lists by content)."""
    cand_key = candidates if isinstance(candidates, str) else candidates.key()
    key = (data.data_version, planning.coverage_key(params), city, county, sites, cand_key,
           demand, method, set_cover, resolution)

    def build() -> planning.PlanResult:
        cells = None
        if demand == "grid" or candidates == "grid":
            planning.check_plan_size(data, params, city=city, county=county, demand=demand,
                                     candidates=candidates, method=method,
                                     resolution=resolution)
            cells = grid_layout(data, city, county, resolution, params.weight)
        report = coverage_report(data, params, city, county)
        return planning.plan(data, params, sites=sites, candidates=candidates, demand=demand,
                             city=city, county=county, method=method, set_cover=set_cover,
                             resolution=resolution, report=report, cells=cells,
                             time_limit_s=WEB_TIME_LIMIT_S)

    return _cached("coverage-plan", key, build)


def progress_points(data: planning.PlanningData, params: CoverageParams, city: str | None,
                    freq: str, periods: int | None) -> list[ProgressPoint]:
    today = local_today(state().clock)
    key = (data.data_version, planning.coverage_key(params), city, freq, periods, today)
    return _cached("coverage-progress", key, lambda: planning.progress(
        data, params, city=city, freq=freq, periods=periods, end=today))


def parse_freq(args) -> tuple[str, int | None]:
    freq = planning.parse_choice(args, "freq", tuple(FREQUENCIES), "monthly")
    periods = None
    if _single(args, "periods") is not None:
        periods = parse_int(args, "periods", FREQUENCIES[freq], 1, 366)
    return freq, periods


# ---- views --------------------------------------------------------------------------------
def _common():
    params = planning.parse_coverage_params(request.args)
    city, county = planning.parse_area(request.args)
    data = planning_data()
    data.area(city, county)
    return data, params, city, county


@bp.get("/townships")
def townships():
    """Townships of an area with their coverage (polygon, seat point or null geometry)."""
    _reject_unknown(TOWNSHIP_PARAMS)
    data, params, city, county = _common()
    simplify = parse_bool(request.args, "simplify")
    report = coverage_report(data, params, city, county)
    key = (data.data_version, planning.coverage_key(params), city, county, simplify)
    body = _cached("coverage-townships", key, lambda: planning.township_features(
        report, data.units, tolerance=SIMPLIFY_TOLERANCE if simplify else None))
    body = {**body, "params": planning.params_dict(params),
            "summary": planning.rollup_dict(report.total)}
    return cached_json(body, version=data.data_version, mimetype=GEOJSON)


@bp.get("/coverage/summary")
def coverage_summary():
    """Rollups per city and county, and the total."""
    _reject_unknown(COVERAGE_PARAMS)
    data, params, city, county = _common()
    report = coverage_report(data, params, city, county)
    return cached_json(planning.coverage_summary(report), version=data.data_version)


@bp.get("/coverage/grid")
def coverage_grid():
    """The H3 grid of an area: every cell, or (``blind_only``) the merged blind spots."""
    _reject_unknown(GRID_PARAMS)
    data, params, city, county = _common()
    resolution = planning.parse_resolution(request.args)
    blind_only = parse_bool(request.args, "blind_only")
    if not blind_only:
        resolution = planning.listed_grid_resolution(data, city, county, resolution)
    report = grid_report(data, params, city, county, resolution)
    key = (data.data_version, planning.coverage_key(params), city, county,
           report.resolution, blind_only)
    body = _cached("coverage-grid-json", key, lambda: (
        report.blind_spots_geojson() if blind_only else report.cells_geojson()))
    body = {**body, "summary": planning.grid_summary(report), "blind_only": blind_only}
    return cached_json(body, version=data.data_version, mimetype=GEOJSON)


@bp.get("/progress")
def progress():
    """Open facilities and covered townships per city by day, week or month."""
    _reject_unknown(PROGRESS_PARAMS)
    params = planning.parse_coverage_params(request.args)
    city, _ = planning.parse_area(request.args)
    freq, periods = parse_freq(request.args)
    data = planning_data()
    points = progress_points(data, params, city, freq, periods)
    body = {"freq": freq, "periods": len({p.period_end for p in points}),
            "params": planning.params_dict(params), "city": city,
            "series": [p.to_dict() for p in points]}
    return cached_json(body, version=data.data_version, max_age=300)


@bp.post("/plan")
def plan():
    """Suggested new sites with the demand each adds; ``what_if`` recomputes coverage."""
    args = planning.parse_plan_request(read_json_object(PLAN_BODY_LIMIT,
                                                        example='{"sites": 5}'))
    data = planning_data()
    params, city, county = args["params"], args["city"], args["county"]
    data.area(city, county)
    body: dict[str, Any] = {}
    if args["sites"] is not None:
        result = plan_result(data, params, city=city, county=county, sites=args["sites"],
                             candidates=args["candidates"], demand=args["demand"],
                             method=args["method"], set_cover=args["set_cover"],
                             resolution=args["resolution"])
        body = result.to_dict()
    if args["what_if"] is not None:
        before = coverage_report(data, params, city, county)
        with state().gate.enter():
            body["what_if"] = planning.what_if(data, args["what_if"], params, city=city,
                                               county=county, before=before).to_dict()
    body["data_version"] = data.data_version
    return jsonify(body)
