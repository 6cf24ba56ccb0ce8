"""Benchmark: township coverage, H3 grid blind spots and siting (greedy against exact).

Run: ``.venv/bin/python bench/coverage.py`` (about 4 minutes), or
``--quick`` (under a minute: smaller national and siting instances, one run each).
``--json FILE`` also writes the figures as JSON; ``--help`` lists the sizes.

(a) Anhui: :func:`township_coverage` of every township in the shipped data (real
    admin units and OSM facilities from ``geodata/``, plus ~500 synthetic union
    stations and driver homes at random points in the province, fixed seed) and
    :func:`blind_spots` on a resolution-8 H3 grid over the province: the grid laid the
    first time, and again with a layout made once by :func:`grid_layout`. Medians of 3.
(b) National scale, synthetic: 40,000 townships (Voronoi cells of random seeds clipped
    to a rough outline of China, denser east of the Hu line; 70% with polygon, 60% with
    seat, 5% with neither), ~2,800 counties (unions of neighbouring townships, with
    census-like demand), ~330 cities (unions of counties), no province; 150,000
    facilities with a realistic kind/status mix. Times :func:`township_coverage` and a
    resolution-7 grid over the whole area (one run each: they are slow).
(c) Siting on random points in a 300 km box (lognormal weights, radius 10 km):
    :func:`maximal_covering` greedy (lazy greedy, then local search by swaps) against
    ``method="exact"`` (spopt MCLP + CBC) on 5,000 demand points x 1,000 candidates
    (p = 50), and against the same integer programme built sparsely in PuLP by this
    script (same CBC). On the larger instance (20,000 x 3,000, p = 100) spopt's dense
    model is too big to build in the time budget: the sparse one is the exact reference
    there, with a time limit. Also :func:`set_covering` greedy against exact (spopt LSCP)
    on the 5,000 x 1,000 instance.

The machines are shared and noisy: the 1-minute load average is printed at the start
and end; read the ratios measured in the same run rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h3
import numpy as np
import pulp
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from locator.coverage import CoverageParams, geodesic_area_m2, township_coverage  # noqa: E402
from locator.geodata import read_admin_units, read_default_facilities  # noqa: E402
from locator.grid import GridLayout, blind_spots, grid_layout  # noqa: E402
from locator.model import AdminUnit, Facility  # noqa: E402
from locator.siting import SitingProblem, maximal_covering, set_covering  # noqa: E402

TARGET_ANHUI_S = 2.0
TARGET_SHARE_PCT = 99.0
TARGET_SPEEDUP = 10.0

#: A rough outline of mainland China and Hainan (lon, lat), about 9.6 million km^2.
CHINA_OUTLINE = [
    (73.5, 39.5),
    (75.0, 37.0),
    (78.5, 35.5),
    (79.0, 32.5),
    (81.0, 30.2),
    (86.0, 28.0),
    (92.0, 27.8),
    (97.5, 28.2),
    (98.0, 24.5),
    (99.5, 22.0),
    (101.5, 21.2),
    (106.0, 22.5),
    (108.0, 21.5),
    (108.6, 18.2),
    (111.2, 18.2),
    (110.5, 21.0),
    (113.5, 22.2),
    (117.0, 23.5),
    (119.5, 26.0),
    (121.5, 28.5),
    (122.0, 31.0),
    (121.0, 32.5),
    (119.5, 35.0),
    (122.7, 37.4),
    (119.0, 37.5),
    (118.0, 39.0),
    (121.2, 38.8),
    (124.3, 40.0),
    (126.0, 41.5),
    (130.5, 42.5),
    (131.0, 45.0),
    (133.0, 45.0),
    (135.0, 48.3),
    (127.5, 49.8),
    (125.5, 53.0),
    (122.0, 53.5),
    (120.0, 52.5),
    (119.5, 50.0),
    (116.5, 49.8),
    (119.9, 46.7),
    (115.5, 45.4),
    (111.5, 43.7),
    (106.5, 42.3),
    (101.0, 42.6),
    (96.5, 42.8),
    (95.0, 44.3),
    (91.0, 45.5),
    (90.5, 47.7),
    (87.5, 49.1),
    (85.5, 47.1),
    (82.5, 45.2),
    (80.2, 45.0),
    (80.2, 42.2),
    (76.0, 40.3),
]
#: The Heihe-Tengchong (Hu) line; points west of it are kept with this probability.
HU_LINE = ((98.5, 25.0), (127.5, 50.2))
WEST_KEEP = 0.1

# A plausible facility mix (as in bench/nearest.py): ~77% count towards coverage.
KIND_MIX = {
    "service_point": 40,
    "service_station": 20,
    "driver_home": 10,
    "service_area": 12,
    "logistics_park": 10,
    "legal_aid": 4,
    "other": 4,
}
STATUS_MIX = {"open": 90, "under_construction": 5, "planned": 3, "closed": 2}
UNION_KINDS = {"service_point": 40, "service_station": 40, "driver_home": 20}

SITING_CENTRE = (117.2, 31.8)  # Hefei
SITING_BOX_KM = 300.0
SITING_RADIUS_M = 10_000.0


# ---- helpers -------------------------------------------------------------------------
def cpu_seconds() -> float:
    """CPU seconds of this process and of the child processes it has waited for (CBC)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class Timing:
    """Wall and CPU seconds of repeated calls. CPU time is less disturbed by other jobs
    on a shared machine; the figures judged against targets are the wall medians."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def s(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)

    def run(self, fn, *args, **kwargs):
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = fn(*args, **kwargs)
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(cpu_seconds() - cpu)
        return result

    def to_dict(self) -> dict:
        return {
            "median_s": self.s,
            "median_cpu_s": self.cpu_s,
            "wall_s": self.wall,
            "cpu_s": self.cpu,
        }


def timed(fn, repeat: int = 1) -> tuple[Timing, object]:
    """Timing of ``repeat`` calls, and the last result."""
    timing, result = Timing(), None
    for _ in range(repeat):
        result = timing.run(fn)
    return timing, result


def secs(timing: Timing) -> str:
    return f"{timing.s:6.2f} s ({timing.cpu_s:5.2f})"


def load1() -> float:
    return os.getloadavg()[0]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def pick(rng, mix: dict[str, int], n: int) -> list[str]:
    names = list(mix)
    weights = np.array(list(mix.values()), dtype=float)
    return [names[i] for i in rng.choice(len(names), n, p=weights / weights.sum())]


@contextmanager
def solver_clock():
    """Accumulate the seconds spent in ``pulp.LpProblem.solve`` (writing the model file,
    running CBC, reading the solution) while the block runs."""
    spent = [0.0]
    original = pulp.LpProblem.solve

    def solve(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    pulp.LpProblem.solve = solve
    try:
        yield spent
    finally:
        pulp.LpProblem.solve = original


# ---- (a) Anhui -----------------------------------------------------------------------
def anhui_stations(province, n: int, seed: int) -> list[Facility]:
    """``n`` open union stations and driver homes at random points inside the province."""
    rng = np.random.default_rng(seed)
    shapely.prepare(province)
    w, s, e, north = province.bounds
    points = np.zeros((0, 2))
    while len(points) < n:
        x, y = rng.uniform(w, e, 2 * n), rng.uniform(s, north, 2 * n)
        inside = shapely.contains_xy(province, x, y)
        points = np.vstack([points, np.column_stack([x[inside], y[inside]])])
    kinds = pick(rng, UNION_KINDS, n)
    return [
        Facility(f"bench:{i}", f"职工服务站{i}", kinds[i], float(x), float(y))
        for i, (x, y) in enumerate(points[:n])
    ]


def bench_anhui(args) -> dict:
    units = read_admin_units(ROOT / "geodata")
    osm = read_default_facilities(ROOT / "geodata")
    province = next(u.geometry for u in units if u.level == "province")
    facilities = osm + anhui_stations(province, args.anhui_stations, args.seed)
    params = CoverageParams()
    townships = [u for u in units if u.level == "township"]
    res = 8
    # Interleaved (coverage, grid, layout, grid on the layout) x repeat, so that load
    # from other jobs on the machine falls on all four alike; medians are reported.
    cov, first_t, layout_t, reuse = Timing(), Timing(), Timing(), Timing()
    for _ in range(args.repeat):
        report = cov.run(township_coverage, units, facilities, params)
        first = first_t.run(blind_spots, units, facilities, params, resolution=res)
        layout = layout_t.run(grid_layout, units, resolution=res)
        reused = reuse.run(blind_spots, units, facilities, params, layout=layout)
    total_first = cov.s + first_t.s
    total_reused = cov.s + reuse.s
    same = first.cells == reused.cells and np.array_equal(first.nearest_m, reused.nearest_m)
    total = report.total
    grid = reused.summary()
    row = {
        "townships": len(townships),
        "located": total.located,
        "covered": total.covered,
        "with_polygon": sum(t.geometry is not None for t in townships),
        "with_seat": sum(t.has_seat for t in townships),
        "osm_facilities": len(osm),
        "synthetic_stations": args.anhui_stations,
        "radius_km": params.radius_km,
        "demand_share": total.demand_share,
        "repeat": args.repeat,
        "coverage": cov.to_dict(),
        "grid_first": first_t.to_dict(),
        "grid_layout": layout_t.to_dict(),
        "grid_reused": reuse.to_dict(),
        "total_first_s": total_first,
        "total_first_cpu_s": cov.cpu_s + first_t.cpu_s,
        "total_reused_s": total_reused,
        "total_reused_cpu_s": cov.cpu_s + reuse.cpu_s,
        "grid_resolution": res,
        "grid_cells": grid["cells"],
        "grid_blind_cells": grid["blind_cells"],
        "grid_demand_share": grid["demand_share"],
        "reused_layout_identical": bool(same),
    }
    print(
        f"(a) Anhui, radius {params.radius_km:g} km; median of {args.repeat} run(s), "
        "wall seconds (CPU seconds)"
    )
    print(
        f"  {row['townships']:,} townships ({row['with_polygon']} with polygon, "
        f"{row['with_seat']} with seat, {row['located']} located); "
        f"{len(osm)} OSM facilities + {args.anhui_stations} synthetic union stations"
    )
    print(
        f"  township coverage             {secs(cov)}  covered {total.covered} of "
        f"{total.located} located, demand share {100 * (total.demand_share or 0):.1f}%"
    )
    print(
        f"  grid res {res}, first time        {secs(first_t)}  {grid['cells']:,} cells, "
        f"{grid['blind_cells']:,} blind, demand share {100 * grid['demand_share']:.1f}%"
    )
    print(f"    of which grid_layout        {secs(layout_t)}  (timed on its own)")
    print(
        f"  grid res {res}, reused layout     {secs(reuse)}  "
        f"({'same cells and distances' if same else 'DIFFERS from the first-time grid'})"
    )
    cpu_first, cpu_reused = row["total_first_cpu_s"], row["total_reused_cpu_s"]
    print(
        f"  total, grid laid first time   {total_first:6.2f} s ({cpu_first:5.2f})  target: "
        f"Anhui coverage in under {TARGET_ANHUI_S:g} s -> "
        f"{verdict(total_first < TARGET_ANHUI_S)}"
    )
    print(
        f"  total, layout reused          {total_reused:6.2f} s ({cpu_reused:5.2f})  -> "
        f"{verdict(total_reused < TARGET_ANHUI_S)}"
    )
    return row


# ---- (b) national, synthetic ---------------------------------------------------------
def east_of_hu(lon, lat) -> np.ndarray:
    (x1, y1), (x2, y2) = HU_LINE
    return (x2 - x1) * (lat - y1) - (y2 - y1) * (lon - x1) < 0


def sample_china(rng, n: int, outline) -> np.ndarray:
    """``n`` random points in the outline, ten times denser east of the Hu line."""
    w, s, e, north = outline.bounds
    parts, got = [], 0
    while got < n:
        x, y = rng.uniform(w, e, 2 * n), rng.uniform(s, north, 2 * n)
        keep = shapely.contains_xy(outline, x, y) & (
            east_of_hu(x, y) | (rng.random(2 * n) < WEST_KEEP)
        )
        parts.append(np.column_stack([x[keep], y[keep]]))
        got += int(keep.sum())
    return np.concatenate(parts)[:n]


def planar(points: np.ndarray) -> np.ndarray:
    """Roughly isotropic plane coordinates for nearest-seed grouping."""
    return np.column_stack([points[:, 0] * np.cos(np.radians(points[:, 1])), points[:, 1]])


def groups(parent_of: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(parent_of, kind="stable")
    bounds = np.searchsorted(parent_of[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]


def national_units(rng, n_townships: int, n_counties: int, n_cities: int) -> list[AdminUnit]:
    """Townships as Voronoi cells, counties and cities as unions of their neighbours."""
    outline = Polygon(CHINA_OUTLINE)
    shapely.prepare(outline)
    seeds = sample_china(rng, n_townships, outline)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(seeds), extend_to=outline.envelope, ordered=True
        )
    )
    cells = shapely.intersection(cells, outline)
    # Counties: townships grouped around random township seeds; cities likewise.
    county_seeds = rng.choice(n_townships, n_counties, replace=False)
    _, county_of = cKDTree(planar(seeds[county_seeds])).query(planar(seeds))
    county_members = groups(county_of, n_counties)
    county_polys = [shapely.union_all(cells[m]) for m in county_members]
    centres = seeds[county_seeds]
    city_seeds = rng.choice(n_counties, n_cities, replace=False)
    _, city_of = cKDTree(planar(centres[city_seeds])).query(planar(centres))
    population = rng.lognormal(math.log(400_000), 0.6, n_counties)
    workers = population * 0.0023 * rng.lognormal(0.0, 0.3, n_counties)
    units = []
    for c, members in enumerate(groups(city_of, n_cities)):
        units.append(
            AdminUnit(
                f"C{c:04d}",
                f"合成市{c}",
                "city",
                None,
                shapely.union_all([county_polys[k] for k in members]),
                demand={
                    "population": float(population[members].sum()),
                    "transport_workers": float(workers[members].sum()),
                },
            )
        )
    for k in range(n_counties):
        units.append(
            AdminUnit(
                f"K{k:04d}",
                f"合成县{k}",
                "county",
                f"C{city_of[k]:04d}",
                county_polys[k],
                demand={"population": float(population[k]), "transport_workers": float(workers[k])},
            )
        )
    # 35% polygon and seat, 35% polygon only, 25% seat only, 5% neither.
    located = rng.choice(4, n_townships, p=[0.35, 0.35, 0.25, 0.05])
    for i in range(n_townships):
        has_polygon, has_seat = located[i] in (0, 1), located[i] in (0, 2)
        units.append(
            AdminUnit(
                f"T{i:06d}",
                f"合成镇{i}",
                "township",
                f"K{county_of[i]:04d}",
                cells[i] if has_polygon else None,
                float(seeds[i, 0]) if has_seat else None,
                float(seeds[i, 1]) if has_seat else None,
            )
        )
    return units


def national_facilities(rng, n: int) -> list[Facility]:
    outline = Polygon(CHINA_OUTLINE)
    shapely.prepare(outline)
    points = sample_china(rng, n, outline)
    kinds, statuses = pick(rng, KIND_MIX, n), pick(rng, STATUS_MIX, n)
    return [
        Facility(f"syn:{i}", f"站点{i}", kinds[i], float(x), float(y), status=statuses[i])
        for i, (x, y) in enumerate(points)
    ]


def bench_national(args) -> dict:
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    units = national_units(rng, args.townships, args.counties, args.cities)
    facilities = national_facilities(rng, args.facilities)
    made_s = time.perf_counter() - start
    params = CoverageParams()
    res = args.national_resolution
    area_km2 = geodesic_area_m2(Polygon(CHINA_OUTLINE)) / 1e6
    print(
        f"(b) National, synthetic ({made_s:.1f} s to make, not timed below); radius "
        f"{params.radius_km:g} km; {args.national_repeat} run(s) each, wall s (CPU s)"
    )
    print(
        f"  {args.townships:,} townships, {args.counties:,} counties, {args.cities} cities "
        f"(no province), {len(facilities):,} facilities "
        f"({sum(params.counts(f) for f in facilities):,} counted) over {area_km2:,.0f} km^2"
    )
    cov, report = timed(lambda: township_coverage(units, facilities, params), args.national_repeat)
    total = report.total
    print(
        f"  township coverage             {secs(cov)}  covered {total.covered:,} of "
        f"{total.located:,} located ({total.unlocated:,} unlocated), demand share "
        f"{100 * (total.demand_share or 0):.1f}%"
    )
    first_t, first = timed(
        lambda: blind_spots(units, facilities, params, resolution=res), args.national_repeat
    )
    grid = first.summary()
    # The first grid's cells, centres and demand are the layout: no need to lay it again.
    layout = GridLayout(first.resolution, first.cells, first.lon, first.lat, first.demand)
    reuse, _ = timed(
        lambda: blind_spots(units, facilities, params, layout=layout), args.national_repeat
    )
    print(
        f"  grid res {res} over the whole area {secs(first_t)}  {grid['cells']:,} cells "
        f"(~{grid['cell_area_km2']:.2f} km^2), {grid['blind_cells']:,} blind, demand share "
        f"{100 * grid['demand_share']:.1f}%"
    )
    print(f"  grid res {res}, reused layout     {secs(reuse)}")
    return {
        "townships": args.townships,
        "counties": args.counties,
        "cities": args.cities,
        "facilities": len(facilities),
        "make_s": made_s,
        "repeat": args.national_repeat,
        "located": total.located,
        "covered": total.covered,
        "demand_share": total.demand_share,
        "coverage": cov.to_dict(),
        "grid_resolution": res,
        "grid_cells": grid["cells"],
        "grid_first": first_t.to_dict(),
        "grid_reused": reuse.to_dict(),
        "grid_blind_cells": grid["blind_cells"],
    }


# ---- (c) siting ----------------------------------------------------------------------
def siting_instance(n_demand: int, n_candidates: int, seed: int) -> SitingProblem:
    rng = np.random.default_rng(seed)
    lon0, lat0 = SITING_CENTRE
    half_lat = SITING_BOX_KM / 2 / 111.2
    half_lon = SITING_BOX_KM / 2 / (111.32 * math.cos(math.radians(lat0)))

    def points(n):
        return (
            rng.uniform(lon0 - half_lon, lon0 + half_lon, n),
            rng.uniform(lat0 - half_lat, lat0 + half_lat, n),
        )

    d_lon, d_lat = points(n_demand)
    weight = rng.lognormal(0.0, 1.0, n_demand)
    c_lon, c_lat = points(n_candidates)
    return SitingProblem(d_lon, d_lat, weight, c_lon, c_lat, SITING_RADIUS_M)


def sparse_exact_mclp(problem: SitingProblem, p: int, time_limit_s: float) -> dict:
    """The MCLP integer programme (as spopt states it) built from the sparse coverage
    matrix: max sum w_i y_i, y_i <= sum_{j covers i} x_j, sum x_j = p, x binary, y in
    [0, 1] (integral at the optimum for binary x). Solved by PuLP's CBC."""
    start = time.perf_counter()
    by_point = problem.cover.tocsc()
    weights = problem.open_weight
    model = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(problem.n_candidates)]
    objective = []
    for i in range(by_point.shape[1]):
        reach = by_point.indices[by_point.indptr[i] : by_point.indptr[i + 1]]
        if weights[i] <= 0 or not len(reach):
            continue
        y = pulp.LpVariable(f"y{i}", 0, 1)
        objective.append((y, float(weights[i])))
        model += pulp.LpAffineExpression([(x[j], 1) for j in reach] + [(y, -1)]) >= 0
    model += pulp.LpAffineExpression(objective)
    model += pulp.LpAffineExpression([(v, 1) for v in x]) == p
    build_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        start = time.perf_counter()
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, logPath=str(log)))
        solve_s = time.perf_counter() - start
        text = log.read_text(errors="replace") if log.exists() else ""
    # CBC's bound on the optimum when it stops on time ("Upper bound" when maximising).
    bound = re.search(r"^(?:Upper|Lower) bound:\s+(-?[\d.eE+]+)", text, re.M)
    chosen = [j for j, v in enumerate(x) if (v.value() or 0) > 0.5]
    return {
        "chosen": chosen,
        "covered": problem.covered_weight(chosen),
        "build_s": build_s,
        "solve_s": solve_s,
        "seconds": build_s + solve_s,
        # PuLP reports "Optimal" also when CBC stops on time with a solution: use
        # the solution status to tell a proven optimum from a feasible one.
        "optimal": model.sol_status == pulp.LpSolutionOptimal,
        "bound": abs(float(bound.group(1))) if bound else None,
    }


def bench_mclp(
    problem: SitingProblem, p: int, args, use_spopt: bool, spopt_cost_per_cell: float | None = None
) -> dict:
    nd, nc = problem.cover.shape[1], problem.n_candidates
    greedy_t, greedy = timed(lambda: maximal_covering(problem, p), args.repeat)
    greedy_s = greedy_t.s
    row = {
        "demand": nd,
        "candidates": nc,
        "p": p,
        "greedy_s": greedy_s,
        "greedy": greedy_t.to_dict(),
        "greedy_covered": greedy.added_total,
        "cover_nnz": int(problem.cover.nnz),
    }
    sparse = sparse_exact_mclp(problem, p, args.time_limit)
    row.update(
        sparse_s=sparse["seconds"],
        sparse_build_s=sparse["build_s"],
        sparse_solve_s=sparse["solve_s"],
        sparse_covered=sparse["covered"],
        sparse_optimal=sparse["optimal"],
        sparse_bound=sparse["bound"],
    )
    if use_spopt:
        with solver_clock() as in_solver:
            exact_t, exact = timed(
                lambda: maximal_covering(problem, p, method="exact", time_limit_s=args.time_limit)
            )
        exact_s = exact_t.s
        row.update(
            exact_kind="spopt",
            exact_s=exact_s,
            exact_solver_s=in_solver[0],
            exact_covered=exact.added_total,
            exact_optimal=bool(exact.optimal),
        )
        row["spopt_cost_per_cell_s"] = (exact_s - in_solver[0]) / (nd * nc)
    else:
        row.update(
            exact_kind="sparse",
            exact_s=sparse["seconds"],
            exact_solver_s=sparse["solve_s"],
            exact_covered=sparse["covered"],
            exact_optimal=sparse["optimal"],
        )
        if spopt_cost_per_cell:
            row["spopt_estimate_s"] = spopt_cost_per_cell * nd * nc
    row["share_pct"] = 100 * row["greedy_covered"] / row["exact_covered"]
    row["speedup"] = row["exact_s"] / greedy_s
    row["speedup_vs_solver"] = row["exact_solver_s"] / greedy_s

    what = (
        "maximal_covering(method='exact'): spopt MCLP + CBC"
        if use_spopt
        else "same MCLP built sparsely in PuLP by this bench + CBC"
    )
    bound = row.get("sparse_bound") if row["exact_kind"] == "sparse" else None
    proof = (
        "proved optimal"
        if row["exact_optimal"]
        else f"NOT proved optimal in {args.time_limit:g} s"
        + (f" (CBC bound {bound:,.2f})" if bound else "")
    )
    print(f"  MCLP {nd:,} x {nc:,}, p = {p} ({row['cover_nnz']:,} coverage pairs)")
    print(
        f"    greedy                      {greedy_s:8.3f} s  covered {row['greedy_covered']:,.2f}"
        f"  (median of {args.repeat}; CPU {greedy_t.cpu_s:.3f} s)"
    )
    print(
        f"    exact                       {row['exact_s']:8.3f} s  covered "
        f"{row['exact_covered']:,.2f}, {proof}"
    )
    print(f"      [{what}; {row['exact_solver_s']:.2f} s of it in PuLP/CBC]")
    if use_spopt:
        print(
            f"    exact, sparse PuLP model    {row['sparse_s']:8.3f} s  covered "
            f"{row['sparse_covered']:,.2f} (build {row['sparse_build_s']:.2f} s, "
            f"CBC {row['sparse_solve_s']:.2f} s; same objective: "
            f"{math.isclose(row['sparse_covered'], row['exact_covered'], rel_tol=1e-9)})"
        )
    elif "spopt_estimate_s" in row:
        print(
            f"    (spopt skipped at this size: its dense model would take ~"
            f"{row['spopt_estimate_s']:.0f} s to build at the per-cell cost measured "
            f"on the small instance; --spopt-large runs it)"
        )
    print(
        f"    greedy reaches {row['share_pct']:.2f}% of the exact "
        f"{'optimum' if row['exact_optimal'] else 'best solution found'}; "
        f"time ratio exact/greedy {row['speedup']:,.1f}x "
        f"(CBC time alone / greedy: {row['speedup_vs_solver']:,.1f}x; sparse exact / "
        f"greedy: {row['sparse_s'] / greedy_s:,.1f}x)"
    )
    if not row["exact_optimal"] and bound:
        row["share_of_bound_pct"] = 100 * row["greedy_covered"] / bound
        print(
            f"    greedy reaches at least {row['share_of_bound_pct']:.2f}% of the optimum "
            f"(CBC's bound)"
        )
    return row


def bench_set_covering(problem: SitingProblem, args) -> dict:
    greedy_t, greedy = timed(lambda: set_covering(problem), args.repeat)
    with solver_clock() as in_solver:
        exact_t, exact = timed(
            lambda: set_covering(problem, method="exact", time_limit_s=args.time_limit)
        )
    greedy_s, exact_s = greedy_t.s, exact_t.s
    nd, nc = problem.cover.shape[1], problem.n_candidates
    reachable = int((np.asarray(problem.cover.sum(axis=0)).ravel() > 0).sum())
    print(
        f"  set covering {nd:,} x {nc:,} ({reachable:,} points reachable, the rest "
        f"left out as uncoverable)"
    )
    print(
        f"    greedy                      {greedy_s:8.3f} s  {len(greedy.chosen)} sites "
        f"(median of {args.repeat})"
    )
    print(
        f"    exact (spopt LSCP + CBC)    {exact_s:8.3f} s  {len(exact.chosen)} sites, "
        f"{'proved optimal' if exact.optimal else 'not proved optimal'} "
        f"[{in_solver[0]:.2f} s in PuLP/CBC]"
    )
    print(
        f"    greedy uses {len(greedy.chosen) / max(1, len(exact.chosen)):.3f}x the exact "
        f"number of sites; time ratio exact/greedy {exact_s / greedy_s:,.1f}x"
    )
    return {
        "demand": nd,
        "candidates": nc,
        "greedy_s": greedy_s,
        "greedy_sites": len(greedy.chosen),
        "exact_s": exact_s,
        "exact_solver_s": in_solver[0],
        "exact_sites": len(exact.chosen),
        "exact_optimal": bool(exact.optimal),
        "reachable": reachable,
    }


def bench_siting(args) -> dict:
    print(
        f"(c) Siting: random points in a {SITING_BOX_KM:g} km box around Hefei, lognormal "
        f"weights, radius {SITING_RADIUS_M / 1000:g} km; exact time limit "
        f"{args.time_limit:g} s"
    )
    import spopt.locate  # noqa: F401  (the library imports it lazily: keep that out of the timings)

    nd, nc, p = args.small
    small = siting_instance(nd, nc, args.seed)
    small_row = bench_mclp(small, p, args, use_spopt=True)
    ok_share = small_row["share_pct"] >= TARGET_SHARE_PCT
    ok_speed = small_row["speedup"] >= TARGET_SPEEDUP
    judged = tuple(args.small) == (5000, 1000, 50)
    print(
        f"    target: {TARGET_SHARE_PCT:g}% or more of the exact optimum and "
        f"{TARGET_SPEEDUP:g}x faster or better on the 5,000 x 1,000 instance -> "
        + (
            f"share {verdict(ok_share)}, speed {verdict(ok_speed)}"
            if judged
            else f"not judged (this run used {nd:,} x {nc:,})"
        )
    )
    nd, nc, p = args.large
    large = siting_instance(nd, nc, args.seed + 1)
    large_row = bench_mclp(
        large,
        p,
        args,
        use_spopt=args.spopt_large,
        spopt_cost_per_cell=small_row.get("spopt_cost_per_cell_s"),
    )
    sc_row = bench_set_covering(small, args)
    return {
        "mclp_small": small_row,
        "mclp_large": large_row,
        "set_covering": sc_row,
        "target_share_met": ok_share if judged else None,
        "target_speed_met": ok_speed if judged else None,
    }


# ---- main ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run each, 10,000 townships / 37,500 facilities at grid "
        "resolution 6, siting 2,000 x 400 and 5,000 x 1,000",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (3)")
    parser.add_argument("--anhui-stations", type=int, default=500)
    parser.add_argument("--townships", type=int, default=None, help="national (40,000)")
    parser.add_argument("--counties", type=int, default=None, help="national (2,800)")
    parser.add_argument("--cities", type=int, default=None, help="national (330)")
    parser.add_argument("--facilities", type=int, default=None, help="national (150,000)")
    parser.add_argument("--national-resolution", type=int, default=None, help="H3 (7)")
    parser.add_argument("--national-repeat", type=int, default=1)
    parser.add_argument(
        "--small",
        type=int,
        nargs=3,
        metavar=("DEMAND", "CANDIDATES", "P"),
        default=None,
        help="siting instance solved by spopt (5000 1000 50)",
    )
    parser.add_argument(
        "--large",
        type=int,
        nargs=3,
        metavar=("DEMAND", "CANDIDATES", "P"),
        default=None,
        help="larger siting instance (20000 3000 100)",
    )
    parser.add_argument(
        "--time-limit", type=float, default=None, help="CBC seconds per exact solve (60)"
    )
    parser.add_argument(
        "--spopt-large",
        action="store_true",
        help="also run spopt on the large instance (many minutes, GBs)",
    )
    parser.add_argument("--parts", default="abc", help="which of a, b, c to run")
    args = parser.parse_args()
    quick = args.quick
    defaults = {
        "repeat": (1, 3),
        "townships": (10_000, 40_000),
        "counties": (700, 2_800),
        "cities": (85, 330),
        "facilities": (37_500, 150_000),
        "national_resolution": (6, 7),
        "small": ([2000, 400, 20], [5000, 1000, 50]),
        "large": ([5000, 1000, 50], [20000, 3000, 100]),
        "time_limit": (20.0, 60.0),
    }
    for name, (fast, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, fast if quick else full)

    started = time.perf_counter()
    figures = {
        "quick": quick,
        "cpus": os.cpu_count(),
        "load1_start": load1(),
        "versions": {
            "h3": h3.__version__,
            "shapely": shapely.__version__,
            "pulp": pulp.__version__,
        },
    }
    print(
        f"bench/coverage.py{' --quick' if quick else ''}: {os.cpu_count()} CPUs, 1-min "
        f"load average {figures['load1_start']:.1f} at start"
    )
    if "a" in args.parts:
        figures["anhui"] = bench_anhui(args)
    if "b" in args.parts:
        figures["national"] = bench_national(args)
    if "c" in args.parts:
        figures["siting"] = bench_siting(args)
    figures["wall_s"] = time.perf_counter() - started
    figures["load1_end"] = load1()
    print(
        f"done in {figures['wall_s']:.0f} s; 1-min load average {figures['load1_end']:.1f} "
        "at the end"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(figures, indent=2, ensure_ascii=False, default=lambda o: o.item()),
            encoding="utf-8",
        )
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
