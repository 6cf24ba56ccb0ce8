"""The coverage API (``/api/v1``): townships, rollups, grid blind spots, progress, plans.

Thin views: each parses its request once and calls one method of the data version's
:class:`locator.planner.Planner`, which computes and keeps the results.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ...clock import local_today
from ...params import parse_bool
from ...planner import CoverageRequest, GridRequest, Planner, PlanRequest, ProgressRequest
from ...planning import PlanningData
from .. import state
from ..bodies import read_json_object
from ..caching import Answer
from .facilities import GEOJSON, _reject_unknown, respond

bp = Blueprint("api_coverage", __name__, url_prefix="/api/v1")

#: The largest plan request body.
PLAN_BODY_LIMIT = 2 * 1024 * 1024
#: Time limit of the exact solver in a web request (seconds).
WEB_TIME_LIMIT_S = 30.0

COVERAGE_PARAMS = {"city", "county", "radius_km", "kind", "weight"}
TOWNSHIP_PARAMS = COVERAGE_PARAMS | {"simplify"}
GRID_PARAMS = COVERAGE_PARAMS | {"resolution", "blind_only"}
PROGRESS_PARAMS = {"city", "freq", "periods", "radius_km", "kind"}


def planner() -> Planner:
    """The planner of the current data version (admin units, facilities, junctions,
    history read once), keeping its results in the app's cache and gate."""
    app_state = state()
    catalog = app_state.catalog.current()
    version = catalog.data_version
    return app_state.results.get(
        "planner",
        version,
        lambda: Planner(
            PlanningData.from_storage(app_state.storage, catalog.facilities, version),
            app_state.results,
            app_state.gate,
            time_limit_s=WEB_TIME_LIMIT_S,
        ),
    )


def _area_request() -> tuple[Planner, CoverageRequest]:
    area = CoverageRequest.from_args(request.args)
    found = planner()
    found.check_area(area)
    return found, area


@bp.get("/townships")
def townships():
    """Townships of an area with their coverage (polygon, seat point or null geometry)."""
    _reject_unknown(TOWNSHIP_PARAMS)
    found, area = _area_request()
    body = found.township_features(area, simplify=parse_bool(request.args, "simplify"))
    return respond(Answer(found.data_version, body, media_type=GEOJSON))


@bp.get("/coverage/summary")
def coverage_summary():
    """Rollups per city and county, and the total."""
    _reject_unknown(COVERAGE_PARAMS)
    found, area = _area_request()
    return respond(Answer(found.data_version, found.summary(area)))


@bp.get("/coverage/grid")
def coverage_grid():
    """The H3 grid of an area: every cell, or (``blind_only``) the merged blind spots."""
    _reject_unknown(GRID_PARAMS)
    grid = GridRequest.from_args(request.args)
    found = planner()
    found.check_area(grid.area)
    return respond(Answer(found.data_version, found.grid_features(grid), media_type=GEOJSON))


@bp.get("/progress")
def progress():
    """Open facilities and covered townships per city by day, week or month."""
    _reject_unknown(PROGRESS_PARAMS)
    wanted = ProgressRequest.from_args(request.args)
    found = planner()
    body = found.progress_answer(wanted, local_today(state().clock))
    return respond(Answer(found.data_version, body, max_age=300))


@bp.post("/plan")
def plan():
    """Suggested new sites with the demand each adds; ``what_if`` recomputes coverage."""
    wanted = PlanRequest.from_body(read_json_object(PLAN_BODY_LIMIT, example='{"sites": 5}'))
    return jsonify(planner().answer_plan(wanted))
