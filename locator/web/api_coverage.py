"""The coverage API (``/api/v1``): townships, rollups, grid blind spots, progress, plans.

Thin views over :mod:`locator.planning`. The expensive results (coverage reports,
grids, plans, progress series) are cached per data version and parameters in the
app's ``page_cache`` (the 32 most recent); grid layouts, which do not depend on the
facilities, are kept per admin data, area, resolution and weight.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Hashable
from typing import Any

from flask import Blueprint, jsonify, request

from .. import planning
from ..coverage import CoverageParams, CoverageReport
from ..errors import InvalidParameter, PayloadTooLarge, UnsupportedFormat
from ..grid import GridLayout, GridReport
from ..hours import SHANGHAI
from ..params import _single, parse_bool, parse_int
from ..progress import FREQUENCIES, ProgressPoint
from . import state
from .api import GEOJSON, _reject_unknown, cached_json

bp = Blueprint("api_coverage", __name__, url_prefix="/api/v1")

#: How many computed results (reports, grids, plans, progress) each worker keeps.
CACHE_SIZE = 32
#: How many grid layouts each worker keeps (about 1 s each to lay over the province).
LAYOUT_CACHE_SIZE = 8
#: How many large bodies (township polygons, grid cells: up to ~10 MB each) it keeps.
BODY_CACHE_SIZE = 8
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
def _cached(namespace: str, key: Hashable, build: Callable[[], Any], size: int | None = None):
    """The value cached under ``(namespace, key)``, built (outside the lock) when missing.

    Least recently used entries of the namespace go first once it holds ``size``
    (default :data:`CACHE_SIZE`).
    """
    size = size or CACHE_SIZE
    app_state = state()
    full = (namespace, key)
    cache = app_state.page_cache
    with app_state.page_lock:
        if full in cache:
            value = cache.pop(full)
            cache[full] = value
            return value
    value = build()
    with app_state.page_lock:
        cache[full] = value
        mine = [k for k in cache if isinstance(k, tuple) and k and k[0] == namespace]
        for stale in mine[:-size]:
            del cache[stale]
    return value


def planning_data() -> planning.PlanningData:
    """The data of the current version (admin units, facilities, junctions, history)."""
    app_state = state()
    catalog = app_state.catalog.current()
    version = catalog.data_version
    return _cached("coverage-data", version, lambda: planning.PlanningData.from_storage(
        app_state.storage, catalog.facilities, version), size=2)


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
        data, city=city, county=county, resolution=resolution, weight=weight),
        size=LAYOUT_CACHE_SIZE)


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
        needs_grid = demand == "grid" or candidates == "grid"
        cells = (grid_layout(data, city, county, resolution, params.weight)
                 if needs_grid else None)
        report = coverage_report(data, params, city, county)
        return planning.plan(data, params, sites=sites, candidates=candidates, demand=demand,
                             city=city, county=county, method=method, set_cover=set_cover,
                             resolution=resolution, report=report, cells=cells,
                             time_limit_s=WEB_TIME_LIMIT_S)

    return _cached("coverage-plan", key, build)


def progress_points(data: planning.PlanningData, params: CoverageParams, city: str | None,
                    freq: str, periods: int | None) -> list[ProgressPoint]:
    today = dt.datetime.now(SHANGHAI).date()
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
        report, data.units, tolerance=SIMPLIFY_TOLERANCE if simplify else None),
        size=BODY_CACHE_SIZE)
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
    report = grid_report(data, params, city, county, resolution)
    key = (data.data_version, planning.coverage_key(params), city, county,
           report.resolution, blind_only)
    body = _cached("coverage-grid-json", key, lambda: (
        report.blind_spots_geojson() if blind_only else report.cells_geojson()),
        size=BODY_CACHE_SIZE)
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


def _plan_body() -> dict:
    if (request.content_length or 0) > PLAN_BODY_LIMIT:
        raise PayloadTooLarge(f"the plan body is limited to {PLAN_BODY_LIMIT // 1024} KB")
    if not request.is_json:
        raise UnsupportedFormat("send the plan request as JSON "
                                "(Content-Type: application/json)")
    raw = request.get_data(cache=True)
    if len(raw) > PLAN_BODY_LIMIT:
        raise PayloadTooLarge(f"the plan body is limited to {PLAN_BODY_LIMIT // 1024} KB")
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the body is not valid JSON", field="body") from None
    if not isinstance(body, dict):
        raise InvalidParameter('the body must be a JSON object like {"sites": 5}',
                               field="body")
    return body


@bp.post("/plan")
def plan():
    """Suggested new sites with the demand each adds; ``what_if`` recomputes coverage."""
    args = planning.parse_plan_request(_plan_body())
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
        body["what_if"] = planning.what_if(data, args["what_if"], params, city=city,
                                           county=county, before=before).to_dict()
    body["data_version"] = data.data_version
    return jsonify(body)
