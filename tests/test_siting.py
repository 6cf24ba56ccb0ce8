"""Siting on small random instances, checked against brute force over all combinations.

Coverage here is recomputed by hand with haversine distances, independently of the
KD-tree and chord arithmetic of :mod:`locator.siting`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest

from locator.crs import haversine_m
from locator.errors import InvalidParameter
from locator.siting import SitingProblem, greedy_maximal_covering, maximal_covering, set_covering

N_DEMAND, N_CANDIDATES = 30, 12
SEEDS = range(200)
SITES = (1, 2, 3, 4)

# spopt 0.7 and PuLP 3.3 warn about PuLP 4.0; pytest turns warnings into errors, so the
# exact solver's tests let these two (and only these) through.
PULP_DEPRECATIONS = (
    r"ignore:Constructing LpVariable\(name, \.\.\.\) directly is deprecated"
    ":DeprecationWarning",
    "ignore:PULP_CBC_CMD is deprecated and will be removed in PuLP 4.0:DeprecationWarning",
)


def pulp_deprecations(test):
    for spec in PULP_DEPRECATIONS:
        test = pytest.mark.filterwarnings(spec)(test)
    return test


@dataclass
class Instance:
    seed: int
    problem: SitingProblem
    cover: np.ndarray  # demand x candidate, by haversine
    weight: np.ndarray  # demand weight, zero where an existing facility covers it
    best: dict[int, float]

    def value(self, sites) -> float:
        sites = list(sites)
        return float(self.weight[self.cover[:, sites].any(axis=1)].sum()) if sites else 0.0


def make_instance(
    seed: int, *, n_existing: int | None = None, radius_m: float = 6000.0, brute_force: bool = True
) -> Instance:
    """30 weighted demand points and 12 candidates in a 0.25° square near Hefei."""
    rng = np.random.default_rng(seed)
    n_existing = seed % 3 if n_existing is None else n_existing
    origin = np.array([117.1, 31.7])
    demand = origin + rng.uniform(0, 0.25, (N_DEMAND, 2))
    candidates = origin + rng.uniform(0, 0.25, (N_CANDIDATES, 2))
    existing = origin + rng.uniform(0, 0.25, (n_existing, 2))
    weight = rng.integers(0, 100, N_DEMAND).astype(float)
    problem = SitingProblem(
        demand[:, 0],
        demand[:, 1],
        weight,
        candidates[:, 0],
        candidates[:, 1],
        radius_m,
        existing_lon=existing[:, 0],
        existing_lat=existing[:, 1],
    )
    cover = (
        haversine_m(demand[:, :1], demand[:, 1:], candidates[None, :, 0], candidates[None, :, 1])
        <= radius_m
    )
    served = (
        haversine_m(demand[:, :1], demand[:, 1:], existing[None, :, 0], existing[None, :, 1])
        <= radius_m
    ).any(axis=1)
    instance = Instance(seed, problem, cover, np.where(served, 0.0, weight), {})
    if brute_force:
        for p in SITES:
            instance.best[p] = max(
                instance.value(s) for s in itertools.combinations(range(N_CANDIDATES), p)
            )
    return instance


@pytest.fixture(scope="module")
def instances():
    return [make_instance(seed) for seed in SEEDS]


@pytest.fixture(scope="module")
def greedy_values(instances):
    """(instance, p, greedy's chosen sites, the demand they add) for every instance and p."""
    rows = []
    for inst in instances:
        for p in SITES:
            result = maximal_covering(inst.problem, p)
            rows.append((inst, p, result.chosen, result.added_total))
    return rows


# ---- maximal covering: greedy against brute force ------------------------------------------
def test_instances_are_not_trivial(instances):
    assert (
        sum(
            len(i.problem.existing_lon) > 0 and (i.weight < i.problem.demand_weight).any()
            for i in instances
        )
        > 50
    )
    assert all(i.best[4] > i.best[1] for i in instances)
    assert sum(i.best[4] < i.weight.sum() for i in instances) > 150


def test_greedy_reports_what_its_sites_cover(greedy_values):
    for inst, p, chosen, added in greedy_values:
        assert len(chosen) == len(set(chosen)) == p
        assert added == pytest.approx(inst.value(chosen), abs=1e-9), (inst.seed, p)
        assert added <= inst.best[p] + 1e-9


def test_greedy_is_optimal_for_one_site(greedy_values):
    for inst, p, _, added in greedy_values:
        if p == 1:
            assert added == inst.best[1], inst.seed


def test_greedy_is_a_swap_local_optimum_above_the_greedy_bound(greedy_values):
    """What lazy greedy + best swaps guarantee: (1 - 1/e) of the optimum, and no single
    swap of a chosen site for another candidate adds demand."""
    for inst, p, chosen, added in greedy_values:
        assert added >= (1 - 1 / math.e) * inst.best[p] - 1e-9, (inst.seed, p)
        for i, j in itertools.product(range(p), range(N_CANDIDATES)):
            if j not in chosen:
                swapped = chosen[:i] + [j] + chosen[i + 1 :]
                assert inst.value(swapped) <= added + 1e-9, (inst.seed, p, chosen, swapped)


def test_fast_siting_equals_the_exact_optimum_on_small_instances(greedy_values):
    """Lazy greedy + swaps + kicks (iterated local search) on 200 seeds x p = 1..4."""
    short = [
        (inst.seed, p, added, inst.best[p])
        for inst, p, _, added in greedy_values
        if added < inst.best[p] - 1e-9
    ]
    assert short == []


def test_kicks_get_out_of_a_swap_local_optimum():
    """Seed 56, p = 3: greedy + swaps stops at 513 (no single swap helps); the kicks
    of the iterated local search find the optimum 586."""
    inst = make_instance(56)
    stuck = greedy_maximal_covering(inst.problem, 3, kicks=0)
    assert inst.value(stuck) == 513.0 and inst.best[3] == 586.0
    for i, j in itertools.product(range(3), range(N_CANDIDATES)):
        assert inst.value(stuck[:i] + [j] + stuck[i + 1 :]) <= 513.0
    assert inst.value(greedy_maximal_covering(inst.problem, 3)) == 586.0
    # The same seed gives the same answer.
    assert greedy_maximal_covering(inst.problem, 3) == greedy_maximal_covering(inst.problem, 3)


# ---- maximal covering: exact ---------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 13, 18, 56])
@pytest.mark.parametrize("p", SITES)
@pulp_deprecations
def test_exact_equals_brute_force(seed, p):
    inst = make_instance(seed)
    result = maximal_covering(inst.problem, p, method="exact")
    assert result.method == "exact" and result.optimal is True
    assert result.added_total == inst.best[p]
    assert inst.value(result.chosen) == inst.best[p]
    assert len(result.chosen) <= p


# ---- the curve -----------------------------------------------------------------------------
def test_added_is_the_marginal_gain_and_sums_to_the_curve(instances):
    for inst in instances[:40]:
        result = maximal_covering(inst.problem, 4)
        assert result.curve[-1] == pytest.approx(sum(result.added))
        assert result.added_total == result.curve[-1]
        assert result.curve == pytest.approx(list(np.cumsum(result.added)))
        for k in range(len(result.chosen)):
            before = inst.value(result.chosen[:k])
            assert result.added[k] == pytest.approx(inst.value(result.chosen[: k + 1]) - before)
            # In order of what each adds: no later site would have added more here.
            for later in result.chosen[k + 1 :]:
                assert inst.value([*result.chosen[:k], later]) - before <= result.added[k] + 1e-9
        assert result.total == inst.problem.demand_weight.sum()
        # Served demand is all that the zeroed weights lost.
        assert result.baseline == inst.problem.demand_weight.sum() - inst.weight.sum()


def test_demand_already_covered_adds_nothing():
    # Two clusters of demand, 20 km apart; an existing station serves the heavy one.
    heavy = [(117.200 + 0.005 * i, 31.800) for i in range(4)]
    light = [(117.410 + 0.005 * i, 31.800) for i in range(3)]
    lon, lat = np.array(heavy + light).T
    weight = [100.0] * 4 + [1.0] * 3
    problem = SitingProblem(
        lon,
        lat,
        weight,
        [117.208, 117.415],
        [31.80, 31.80],
        3000,
        existing_lon=np.array([117.207]),
        existing_lat=np.array([31.80]),
    )
    assert problem.already_covered.tolist() == [True] * 4 + [False] * 3
    result = maximal_covering(problem, 1)
    assert result.chosen == [1] and result.added == [3.0]
    assert result.baseline == 400.0 and result.total == 403.0
    both = maximal_covering(problem, 2)
    assert both.chosen == [1, 0] and both.added == [3.0, 0.0] and both.curve == [3.0, 3.0]
    covering = set_covering(problem)
    assert covering.chosen == [1] and covering.uncoverable == 0.0


# ---- set covering --------------------------------------------------------------------------
def _needed(inst):
    """Demand points that need a new site (not served, with weight) and some candidate reaches."""
    reachable = inst.cover.any(axis=1)
    needed = inst.weight > 0
    return needed & reachable, needed & ~reachable


def _covers(inst, sites, targets):
    return (
        bool(inst.cover[targets][:, list(sites)].any(axis=1).all())
        if len(sites)
        else not targets.any()
    )


@pytest.mark.parametrize("seed", range(0, 60))
def test_greedy_set_cover_is_a_valid_cover(seed):
    inst = make_instance(seed, radius_m=5000.0, brute_force=False)
    targets, unreachable = _needed(inst)
    result = set_covering(inst.problem)
    assert _covers(inst, result.chosen, targets)
    assert result.uncoverable == pytest.approx(inst.problem.demand_weight[unreachable].sum())
    assert result.added_total == pytest.approx(inst.weight[targets].sum())
    # No chosen site is redundant.
    for site in result.chosen:
        assert not _covers(inst, [s for s in result.chosen if s != site], targets)


def _smallest_cover(inst, targets):
    for k in range(N_CANDIDATES + 1):
        for sites in itertools.combinations(range(N_CANDIDATES), k):
            if _covers(inst, sites, targets):
                return k
    raise AssertionError("no cover")


@pytest.mark.parametrize("seed", [0, 3, 12, 21])
@pulp_deprecations
def test_exact_set_cover_is_the_smallest(seed):
    inst = make_instance(seed, radius_m=5000.0, brute_force=False)
    targets, unreachable = _needed(inst)
    exact = set_covering(inst.problem, "exact")
    greedy = set_covering(inst.problem)
    assert exact.optimal is True
    assert _covers(inst, exact.chosen, targets)
    assert len(exact.chosen) == _smallest_cover(inst, targets) <= len(greedy.chosen)
    if seed == 12:  # the one of seeds 0-59 where greedy needs a site more (9, not 8)
        assert len(greedy.chosen) == len(exact.chosen) + 1
    assert (
        exact.uncoverable
        == greedy.uncoverable
        == pytest.approx(inst.problem.demand_weight[unreachable].sum())
    )


@pytest.mark.parametrize("method", ["greedy", "exact"])
@pulp_deprecations
def test_uncoverable_demand_is_reported(method):
    # The third point is 95 km from the only candidate; the fourth weighs nothing.
    problem = SitingProblem(
        [117.0, 117.01, 118.0, 117.5],
        [31.0, 31.0, 31.0, 31.0],
        [2.0, 3.0, 7.0, 0.0],
        [117.005],
        [31.0],
        5000,
    )
    result = set_covering(problem, method)
    assert result.chosen == [0] and result.uncoverable == 7.0 and result.added == [5.0]
    nothing = SitingProblem([117.0], [31.0], [4.0], [118.0], [31.0], 5000)
    result = set_covering(nothing, method)
    assert result.chosen == [] and result.uncoverable == 4.0 and result.curve == []


# ---- invalid input -------------------------------------------------------------------------
def _problem(**changes):
    values = dict(
        demand_lon=[117.0, 117.1],
        demand_lat=[31.0, 31.0],
        demand_weight=[1.0, 2.0],
        candidate_lon=[117.05],
        candidate_lat=[31.0],
        radius_m=5000.0,
    )
    values.update(changes)
    return SitingProblem(**values)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"demand_lat": [31.0]}, "demand"),
        ({"demand_weight": [1.0]}, "demand"),
        ({"candidate_lat": [31.0, 31.1]}, "candidates"),
        ({"demand_weight": [1.0, -2.0]}, "demand"),
        ({"demand_weight": [1.0, math.nan]}, "demand"),
        ({"demand_weight": [1.0, math.inf]}, "demand"),
        ({"radius_m": 0.0}, "radius_km"),
        ({"radius_m": -5.0}, "radius_km"),
    ],
)
def test_invalid_problems_are_refused(changes, field):
    with pytest.raises(InvalidParameter) as info:
        _problem(**changes)
    assert info.value.field == field


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda p: maximal_covering(p, 0), "sites"),
        (lambda p: maximal_covering(p, -1), "sites"),
        (lambda p: maximal_covering(p, 1, method="anneal"), "method"),
        (lambda p: set_covering(p, method="anneal"), "method"),
    ],
)
def test_invalid_calls_are_refused(call, field):
    with pytest.raises(InvalidParameter) as info:
        call(_problem())
    assert info.value.field == field


@pytest.mark.parametrize("method", ["greedy", "exact"])
@pulp_deprecations
def test_no_candidates_is_refused(method):
    problem = _problem(candidate_lon=[], candidate_lat=[])
    with pytest.raises(InvalidParameter) as info:
        maximal_covering(problem, 1, method=method)
    assert info.value.field == "candidates"


def test_more_sites_than_candidates_takes_them_all():
    result = maximal_covering(_problem(), 5)
    assert result.chosen == [0] and result.added == [3.0]
