"""The planner: coverage, grids, blind spots, plans, what-ifs and progress over one data
version, each result computed once and kept (bounded) for the requests that ask again.

Requests are frozen objects parsed once from query parameters or a JSON body
(``CoverageRequest.from_args``, ``PlanRequest.from_body``...); the web views and the CLI
build one and call one :class:`Planner` method. The planner builds its own cache keys and
chains its own stages (a plan needs the coverage report and perhaps a grid layout), so
nothing outside it knows how results are kept.

Examples
--------
>>> from locator.planning import PlanningData
>>> from locator.model import AdminUnit
>>> from shapely.geometry import box
>>> data = PlanningData([AdminUnit("340000", "安徽省", "province", geometry=box(116, 31, 117, 32)),
...                      AdminUnit("340100", "合肥市", "city", "340000",
...                                geometry=box(116, 31, 117, 32))], [])
>>> Planner(data).coverage(CoverageRequest()).total.townships
0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import planning
from .cache import ResultCache, WorkGate
from .coverage import CoverageParams, CoverageReport
from .errors import InvalidParameter
from .grid import GridLayout, GridReport
from .messages import Message
from .params import _single, parse_bool, parse_int
from .progress import FREQUENCIES, ProgressPoint

#: Polygons of simplified township answers are simplified to this (degrees; ~50 m).
SIMPLIFY_TOLERANCE = 0.0005

#: How many results of each kind a planner keeps by default (others: 32).
RESULT_SIZES = {"planner-layout": 8, "planner-township-features": 8, "planner-grid-features": 8}


# ---- requests ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoverageRequest:
    """An area (city and/or county, by name or code; None: the province) and what
    counts (radius, kinds, statuses, demand weight)."""

    params: CoverageParams = field(default_factory=CoverageParams)
    city: str | None = None
    county: str | None = None

    @classmethod
    def from_args(cls, args: Mapping) -> CoverageRequest:
        """From query parameters ``city, county, radius_km, kind, weight``."""
        params = planning.parse_coverage_params(args)
        return cls(params, *planning.parse_area(args))

    def key(self) -> tuple:
        return (planning.coverage_key(self.params), self.city, self.county)


@dataclass(frozen=True)
class GridRequest:
    """An H3 grid over an area: a resolution (None: chosen for the area), and whether
    only the merged blind spots are wanted."""

    area: CoverageRequest = field(default_factory=CoverageRequest)
    resolution: int | None = None
    blind_only: bool = False

    @classmethod
    def from_args(cls, args: Mapping) -> GridRequest:
        """From the coverage parameters plus ``resolution`` and ``blind_only``."""
        return cls(
            CoverageRequest.from_args(args),
            planning.parse_resolution(args),
            parse_bool(args, "blind_only"),
        )


@dataclass(frozen=True)
class PlanRequest:
    """New sites for an area (``sites`` None: only a what-if), and temporary sites to
    measure (``what_if``)."""

    area: CoverageRequest
    sites: int | None = 5
    candidates: str | planning.CandidateSet = "seats"
    demand: str = "townships"
    method: str = "auto"
    set_cover: bool = False
    resolution: int | None = None
    what_if: planning.CandidateSet | None = field(default=None, compare=False)

    @classmethod
    def from_body(cls, body: Mapping) -> PlanRequest:
        """From a JSON object (see :func:`locator.planning.parse_plan_request`)."""
        args = planning.parse_plan_request(body)
        return cls(
            CoverageRequest(args["params"], args["city"], args["county"]),
            sites=args["sites"],
            candidates=args["candidates"],
            demand=args["demand"],
            method=args["method"],
            set_cover=args["set_cover"],
            resolution=args["resolution"],
            what_if=args["what_if"],
        )

    @property
    def needs_grid(self) -> bool:
        return self.demand == "grid" or self.candidates == "grid"

    def key(self) -> tuple:
        candidates = self.candidates if isinstance(self.candidates, str) else self.candidates.key()
        return (
            self.area.key(),
            self.sites,
            candidates,
            self.demand,
            self.method,
            self.set_cover,
            self.resolution,
        )


@dataclass(frozen=True)
class ProgressRequest:
    """Open counted facilities and covered townships per period of ``freq``, for a city
    (None: every city and the total)."""

    params: CoverageParams = field(default_factory=CoverageParams)
    city: str | None = None
    freq: str = "monthly"
    periods: int | None = None

    @classmethod
    def from_args(cls, args: Mapping) -> ProgressRequest:
        """From query parameters ``city, freq, periods, radius_km, kind``."""
        params = planning.parse_coverage_params(args)
        city, _ = planning.parse_area(args)
        freq = planning.parse_choice(args, "freq", tuple(FREQUENCIES), "monthly")
        periods = None
        if _single(args, "periods") is not None:
            periods = parse_int(args, "periods", FREQUENCIES[freq], 1, 366)
        return cls(params, city, freq, periods)


# ---- the planner ---------------------------------------------------------------------------
class Planner:
    """Coverage and siting over ``data`` (one data version), memoised in ``results``.

    Heavy builds (coverage reports, grids, plans) run inside ``gate`` when one is
    given, so that a process runs only a few at once; each is built once however many
    callers want it at the same time.
    """

    def __init__(
        self,
        data: planning.PlanningData,
        results: ResultCache | None = None,
        gate: WorkGate | None = None,
        *,
        time_limit_s: float = 60.0,
    ):
        self.data = data
        self.results = results if results is not None else ResultCache(RESULT_SIZES)
        self.gate = gate
        self.time_limit_s = time_limit_s

    @property
    def data_version(self) -> int:
        return self.data.data_version

    def _kept(self, name: str, key, build, *, per_version: bool = True):
        full = (self.data.data_version, key) if per_version else key
        return self.results.get(f"planner-{name}", full, build, gate=self.gate)

    def check_area(self, request: CoverageRequest) -> None:
        """InvalidParameter naming the unknown city or county (or a county outside its city)."""
        self.data.area(request.city, request.county)

    # ---- coverage ----------------------------------------------------------------------
    def coverage(self, request: CoverageRequest) -> CoverageReport:
        """Township coverage of the area."""
        return self._kept(
            "coverage",
            request.key(),
            lambda: planning.coverage(
                self.data, request.params, city=request.city, county=request.county
            ),
        )

    def summary(self, request: CoverageRequest) -> dict:
        """Rollups per city and county, and the total."""
        return planning.coverage_summary(self.coverage(request))

    def township_features(self, request: CoverageRequest, *, simplify: bool = False) -> dict:
        """Every township of the area as GeoJSON with its coverage, and the rollup."""
        report = self.coverage(request)
        body = self._kept(
            "township-features",
            (request.key(), simplify),
            lambda: planning.township_features(
                report, self.data.units, tolerance=SIMPLIFY_TOLERANCE if simplify else None
            ),
        )
        return {
            **body,
            "params": planning.params_dict(request.params),
            "summary": planning.rollup_dict(report.total),
        }

    # ---- the grid ----------------------------------------------------------------------
    def layout(self, request: CoverageRequest, resolution: int | None) -> GridLayout:
        """The grid's cells over the area with their demand (they do not depend on the
        facilities: kept per admin data)."""
        area = self.data.area(request.city, request.county)
        key = (self.data.units_key, area.code if area else None, resolution, request.params.weight)
        return self._kept(
            "layout",
            key,
            lambda: planning.layout(
                self.data,
                city=request.city,
                county=request.county,
                resolution=resolution,
                weight=request.params.weight,
            ),
            per_version=False,
        )

    def grid(self, request: GridRequest) -> GridReport:
        """Each cell's distance to the nearest counted facility and its demand."""
        cells = self.layout(request.area, request.resolution)
        area = self.data.area(request.area.city, request.area.county)
        key = (
            planning.coverage_key(request.area.params),
            area.code if area else None,
            cells.resolution,
            request.area.params.weight,
        )
        return self._kept(
            "grid", key, lambda: planning.grid(self.data, request.area.params, cells=cells)
        )

    def grid_features(self, request: GridRequest) -> dict:
        """The grid as GeoJSON: every cell (a grid small enough to list; see
        :func:`locator.planning.listed_grid_resolution`), or the merged blind spots."""
        if not request.blind_only:
            request = GridRequest(
                request.area,
                planning.listed_grid_resolution(
                    self.data, request.area.city, request.area.county, request.resolution
                ),
            )
        report = self.grid(request)
        body = self._kept(
            "grid-features",
            (request.area.key(), report.resolution, request.blind_only),
            lambda: report.blind_spots_geojson() if request.blind_only else report.cells_geojson(),
        )
        return {**body, "summary": planning.grid_summary(report), "blind_only": request.blind_only}

    def blind_spots(self, request: CoverageRequest) -> dict:
        """The merged blind spots of the area's grid, simplified for a map."""
        report = self.grid(GridRequest(request))
        return self._kept(
            "blind-spots",
            (request.key(), report.resolution),
            lambda: planning.blind_spots_for_display(report),
        )

    # ---- siting ------------------------------------------------------------------------
    def plan(
        self, request: PlanRequest, *, on_progress: planning.ProgressCallback | None = None
    ) -> planning.PlanResult:
        """Where ``request.sites`` new stations would add the most covered demand
        (``on_progress`` hears of the stages of a plan that is computed, not kept)."""
        if request.sites is None:
            raise InvalidParameter(
                "sites is required: how many new sites to suggest", field="sites"
            )
        area = request.area

        def build() -> planning.PlanResult:
            cells = None
            if request.needs_grid:
                planning.check_plan_size(
                    self.data,
                    area.params,
                    city=area.city,
                    county=area.county,
                    demand=request.demand,
                    candidates=request.candidates,
                    method=request.method,
                    resolution=request.resolution,
                )
                cells = self.layout(area, request.resolution)
            return planning.plan(
                self.data,
                area.params,
                sites=request.sites,
                candidates=request.candidates,
                demand=request.demand,
                city=area.city,
                county=area.county,
                method=request.method,
                set_cover=request.set_cover,
                resolution=request.resolution,
                report=self.coverage(area),
                cells=cells,
                time_limit_s=self.time_limit_s,
                on_progress=on_progress,
            )

        return self._kept("plan", request.key(), build)

    def what_if(self, request: PlanRequest) -> planning.WhatIf:
        """Coverage before and after temporary driver homes at ``request.what_if``."""
        if request.what_if is None:
            raise InvalidParameter(Message("what_if_empty"), field="what_if")
        area = request.area
        before = self.coverage(area)
        if self.gate is None:
            return planning.what_if(
                self.data,
                request.what_if,
                area.params,
                city=area.city,
                county=area.county,
                before=before,
            )
        with self.gate.enter():
            return planning.what_if(
                self.data,
                request.what_if,
                area.params,
                city=area.city,
                county=area.county,
                before=before,
            )

    def answer_plan(self, request: PlanRequest) -> dict:
        """The plan answer of the API: the plan, the what-if, or both."""
        self.check_area(request.area)
        body: dict = {}
        if request.sites is not None:
            body = self.plan(request).to_dict()
        if request.what_if is not None:
            body["what_if"] = self.what_if(request).to_dict()
        body["data_version"] = self.data.data_version
        return body

    # ---- progress ------------------------------------------------------------------------
    def progress(self, request: ProgressRequest, today: dt.date) -> list[ProgressPoint]:
        """The progress series up to ``today`` (Shanghai's date by the caller's clock)."""
        key = (
            planning.coverage_key(request.params),
            request.city,
            request.freq,
            request.periods,
            today,
        )
        return self._kept(
            "progress",
            key,
            lambda: planning.progress(
                self.data,
                request.params,
                city=request.city,
                freq=request.freq,
                periods=request.periods,
                end=today,
            ),
        )

    def progress_answer(self, request: ProgressRequest, today: dt.date) -> dict:
        """The progress answer of the API."""
        points = self.progress(request, today)
        return {
            "freq": request.freq,
            "periods": len({p.period_end for p in points}),
            "params": planning.params_dict(request.params),
            "city": request.city,
            "series": [p.to_dict() for p in points],
        }
