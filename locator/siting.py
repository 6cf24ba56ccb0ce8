"""Where N new stations would cover the most demand (maximal covering), and the fewest
stations that cover every located township (set covering).

Existing facilities stay fixed: demand they already cover is taken out first, so every
figure here is demand *added*. Coverage sets are sparse (a candidate reaches only the
demand points within the radius), found with a KD-tree on the unit sphere.

Two methods:

* ``greedy`` (fast, for large inputs): lazy greedy, then local improvement by best
  swaps on the sparse coverage matrix until no swap adds demand;
* ``exact`` (moderate inputs): the integer programme solved by :mod:`spopt` (MCLP and
  LSCP) with the CBC solver shipped with PuLP.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from .errors import InvalidParameter, PayloadTooLarge
from .messages import Message
from .nearest import chord_to_m, m_to_chord, unit_vectors

METHODS = ("greedy", "exact")


@dataclass
class SitingProblem:
    """Demand points with weights, candidate sites, and the sites already there."""

    demand_lon: np.ndarray
    demand_lat: np.ndarray
    demand_weight: np.ndarray
    candidate_lon: np.ndarray
    candidate_lat: np.ndarray
    radius_m: float
    existing_lon: np.ndarray = field(default_factory=lambda: np.zeros(0))
    existing_lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    candidate_ids: Sequence[str] | None = None
    #: The most (candidate, demand point) pairs within the radius this problem holds.
    max_pairs: int = 5_000_000

    def __post_init__(self):
        self.demand_lon = np.asarray(self.demand_lon, dtype=float)
        self.demand_lat = np.asarray(self.demand_lat, dtype=float)
        self.demand_weight = np.asarray(self.demand_weight, dtype=float)
        self.candidate_lon = np.asarray(self.candidate_lon, dtype=float)
        self.candidate_lat = np.asarray(self.candidate_lat, dtype=float)
        if not (len(self.demand_lon) == len(self.demand_lat) == len(self.demand_weight)):
            raise InvalidParameter("demand arrays differ in length", field="demand")
        if len(self.candidate_lon) != len(self.candidate_lat):
            raise InvalidParameter("candidate arrays differ in length", field="candidates")
        if np.any(self.demand_weight < 0) or not np.all(np.isfinite(self.demand_weight)):
            raise InvalidParameter("demand weights must be finite and not negative", field="demand")
        if self.radius_m <= 0:
            raise InvalidParameter("radius must be positive", field="radius_km")
        if self.candidate_ids is None:
            self.candidate_ids = [str(i) for i in range(len(self.candidate_lon))]
        demand_xyz = unit_vectors(self.demand_lon, self.demand_lat).reshape(-1, 3)
        self._demand_tree = cKDTree(demand_xyz)
        reach = m_to_chord(self.radius_m)
        # Demand already covered by existing facilities counts for nothing here.
        self.already_covered = np.zeros(len(self.demand_lon), dtype=bool)
        if len(self.existing_lon) and len(self.demand_lon):
            tree = cKDTree(unit_vectors(self.existing_lon, self.existing_lat).reshape(-1, 3))
            chords, _ = tree.query(demand_xyz, k=1, distance_upper_bound=reach * (1 + 1e-12))
            self.already_covered = np.isfinite(chords) & (
                chord_to_m(np.where(np.isfinite(chords), chords, 0)) <= self.radius_m
            )
        self.open_weight = np.where(self.already_covered, 0.0, self.demand_weight)
        # The sparse coverage matrix: candidates x demand points within the radius.
        rows = cols = np.zeros(0, dtype=np.int64)
        if len(self.candidate_lon) and len(self.demand_lon):
            candidate_xyz = unit_vectors(self.candidate_lon, self.candidate_lat).reshape(-1, 3)
            counts = self._demand_tree.query_ball_point(
                candidate_xyz, r=reach * (1 + 1e-12), return_length=True
            )
            pairs = int(np.sum(counts))
            if pairs > self.max_pairs:  # counted before any list is made
                raise PayloadTooLarge(
                    f"{len(self.candidate_lon):,} candidates and {len(self.demand_lon):,} "
                    f"demand points make {pairs:,} pairs within the radius; the limit is "
                    f"{self.max_pairs:,}",
                    field="candidates",
                )
            rows = np.repeat(np.arange(len(self.candidate_lon)), counts)
            cols = np.empty(pairs, dtype=np.int64)
            at = 0
            for start in range(0, len(candidate_xyz), 4096):  # bounded lists per batch
                near = self._demand_tree.query_ball_point(
                    candidate_xyz[start : start + 4096], r=reach * (1 + 1e-12)
                )
                for points in near:
                    cols[at : at + len(points)] = points
                    at += len(points)
        self.cover = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)),
            shape=(len(self.candidate_lon), len(self.demand_lon)),
        )

    @property
    def n_candidates(self) -> int:
        return len(self.candidate_lon)

    def covered_weight(self, chosen: Sequence[int]) -> float:
        """Demand added by a set of candidates (each demand point counted once)."""
        if not len(chosen):
            return 0.0
        reached = np.asarray(self.cover[list(chosen)].sum(axis=0)).ravel() > 0
        return float(self.open_weight[reached].sum())

    def distances_m(self) -> np.ndarray:
        """Dense demand x candidate great-circle distances (for the exact solver)."""
        d = unit_vectors(self.demand_lon, self.demand_lat).reshape(-1, 1, 3)
        c = unit_vectors(self.candidate_lon, self.candidate_lat).reshape(1, -1, 3)
        return chord_to_m(np.linalg.norm(d - c, axis=2))


@dataclass
class SitingResult:
    """Chosen candidates in order of what each adds, with the coverage curve."""

    method: str
    chosen: list[int]
    added: list[float]  # demand each chosen site adds, given the ones before it
    curve: list[float]  # demand added by the first 1, 2, ... N sites
    baseline: float  # demand already covered by existing facilities
    total: float  # all demand
    optimal: bool | None = None  # True when the exact solver proved optimality
    uncoverable: float = 0.0  # demand no candidate can reach (set covering)

    @property
    def added_total(self) -> float:
        return self.curve[-1] if self.curve else 0.0


def _order_by_gain(problem: SitingProblem, chosen: Sequence[int]) -> tuple[list[int], list]:
    """Order chosen sites greedily by marginal gain; return the order and each gain."""
    remaining = list(chosen)
    reached = np.zeros(problem.cover.shape[1], dtype=bool)
    order, gains = [], []
    weights = problem.open_weight
    while remaining:
        best, best_gain = None, -1.0
        for j in remaining:
            points = problem.cover.indices[problem.cover.indptr[j] : problem.cover.indptr[j + 1]]
            gain = float(weights[points[~reached[points]]].sum())
            if gain > best_gain + 1e-12 or (
                abs(gain - best_gain) <= 1e-12 and best is not None and j < best
            ):
                best, best_gain = j, gain
        order.append(best)
        gains.append(best_gain)
        remaining.remove(best)
        points = problem.cover.indices[problem.cover.indptr[best] : problem.cover.indptr[best + 1]]
        reached[points] = True
    return order, gains


def _result(problem, method, chosen, optimal=None, uncoverable=0.0) -> SitingResult:
    order, gains = _order_by_gain(problem, chosen)
    return SitingResult(
        method,
        order,
        gains,
        list(np.cumsum(gains)) if gains else [],
        float(problem.demand_weight[problem.already_covered].sum()),
        float(problem.demand_weight.sum()),
        optimal,
        uncoverable,
    )


def greedy_maximal_covering(
    problem: SitingProblem,
    p: int,
    *,
    improve: bool = True,
    max_passes: int = 20,
    kicks: int = 100,
    patience: int = 60,
    seed: int = 0,
) -> list[int]:
    """Lazy greedy choice of ``p`` candidates, then iterated local search.

    The greedy set is improved by best swaps until none adds demand (a local optimum);
    then, up to ``kicks`` times (stopping after ``patience`` kicks in a row that find
    nothing better), one or two sites of the best set are replaced by random promising
    candidates and the swaps run again, keeping any better optimum found. The random
    choices come from ``seed``, so results are reproducible.
    """
    cover, weights = problem.cover, problem.open_weight
    n = problem.n_candidates
    p = min(p, n)
    reached = np.zeros(cover.shape[1], dtype=bool)
    # Lazy greedy: gains only shrink, so a stale gain is an upper bound.
    heap = [(-g, j) for j, g in enumerate(cover @ weights)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < p:
        _, j = heapq.heappop(heap)
        points = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        gain = float(weights[points[~reached[points]]].sum())
        if heap and gain < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-gain, j))
            continue
        chosen.append(j)
        reached[points] = True
    if improve and chosen:
        chosen = _iterated_local_search(problem, chosen, max_passes, kicks, patience, seed)
    return chosen


def _iterated_local_search(
    problem: SitingProblem, start: list[int], max_passes: int, kicks: int, patience: int, seed: int
) -> list[int]:
    best = _improve_by_swaps(problem, start, max_passes)
    best_value = problem.covered_weight(best)
    standalone = problem.cover @ problem.open_weight
    pool = np.flatnonzero(standalone > 0)
    if len(pool) <= len(best):
        return best
    odds = standalone[pool] / standalone[pool].sum()
    rng = np.random.default_rng(seed)
    idle = 0
    for _ in range(kicks):
        if idle >= patience:
            break
        trial = list(best)
        for pos in rng.choice(len(trial), size=min(len(trial), rng.integers(1, 3)), replace=False):
            fresh = int(rng.choice(pool, p=odds))
            if fresh not in trial:
                trial[pos] = fresh
        trial = _improve_by_swaps(problem, trial, max_passes)
        value = problem.covered_weight(trial)
        if value > best_value + 1e-9:
            best, best_value, idle = trial, value, 0
        else:
            idle += 1
    return best


def _improve_by_swaps(problem: SitingProblem, chosen: list[int], max_passes: int) -> list[int]:
    """Swap a chosen site for an unchosen one while that adds demand (best swap first)."""
    cover, weights = problem.cover, problem.open_weight
    cover_t = cover.T.tocsr()
    chosen = list(chosen)
    for _ in range(max_passes):
        counts = np.asarray(cover[chosen].sum(axis=0)).ravel()
        free = weights * (counts == 0)
        gain_free = cover @ free  # what each candidate adds on uncovered points
        in_set = np.zeros(problem.n_candidates, dtype=bool)
        in_set[chosen] = True
        best = (1e-9, None, None)
        for pos, s in enumerate(chosen):
            points = cover.indices[cover.indptr[s] : cover.indptr[s + 1]]
            only_s = points[counts[points] == 1]
            loss = float(weights[only_s].sum())
            # Candidates touching the points only s covers regain them after the swap.
            regain = np.zeros(problem.n_candidates)
            if len(only_s):
                sub = cover_t[only_s]
                regain = np.bincount(
                    sub.indices,
                    weights=np.repeat(weights[only_s], np.diff(sub.indptr)),
                    minlength=problem.n_candidates,
                )
            delta = gain_free + regain - loss
            delta[in_set] = -np.inf
            c = int(np.argmax(delta))
            if delta[c] > best[0]:
                best = (float(delta[c]), pos, c)
        if best[1] is None:
            break
        chosen[best[1]] = best[2]
    return chosen


def maximal_covering(
    problem: SitingProblem, p: int, method: str = "greedy", *, time_limit_s: float = 120.0
) -> SitingResult:
    """Choose ``p`` new sites that add the most covered demand.

    Examples
    --------
    >>> problem = SitingProblem([117.0, 117.3, 118.0], [31.0, 31.0, 31.0], [5, 1, 3],
    ...                         [117.0, 117.3, 118.0], [31.0, 31.0, 31.0], radius_m=5000)
    >>> maximal_covering(problem, 2).chosen
    [0, 2]
    """
    if p < 1:
        raise InvalidParameter("the number of sites must be at least 1", field="sites")
    if method not in METHODS:
        raise InvalidParameter(f"method must be one of {', '.join(METHODS)}", field="method")
    if problem.n_candidates == 0:
        raise InvalidParameter(Message("no_candidate_sites"), field="candidates")
    if method == "greedy":
        return _result(problem, "greedy", greedy_maximal_covering(problem, p))
    return _exact_mclp(problem, min(p, problem.n_candidates), time_limit_s)


def _solver(time_limit_s: float):
    import pulp

    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)


def _proved_optimal(lp_problem) -> bool:
    """Whether the solver proved its solution optimal.

    PuLP's problem status is "Optimal" also when CBC stops on its time limit with a
    feasible solution; the solution status tells the two apart.
    """
    import pulp

    sol_status = getattr(lp_problem, "sol_status", None)
    optimal_code = getattr(pulp, "LpSolutionOptimal", 1)
    if sol_status is not None:
        return sol_status == optimal_code
    # Older PuLP without a solution status: the problem status is all there is.
    return pulp.LpStatus.get(lp_problem.status) == "Optimal"  # pragma: no cover


def _exact_mclp(problem: SitingProblem, p: int, time_limit_s: float) -> SitingResult:
    """The maximal covering integer programme, solved by spopt (MCLP) with CBC."""
    from spopt.locate import MCLP

    useful = np.flatnonzero(problem.open_weight > 0)
    if len(useful) == 0:
        return _result(problem, "exact", [], optimal=True)
    # Only demand not yet covered matters; spopt takes a dense cost matrix.
    sub = SitingProblem(
        problem.demand_lon[useful],
        problem.demand_lat[useful],
        problem.open_weight[useful],
        problem.candidate_lon,
        problem.candidate_lat,
        problem.radius_m,
    )
    model = MCLP.from_cost_matrix(
        sub.distances_m(), sub.demand_weight, service_radius=problem.radius_m, p_facilities=p
    )
    model.solve(_solver(time_limit_s))
    chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    return _result(problem, "exact", chosen, optimal=_proved_optimal(model.problem))


def set_covering(
    problem: SitingProblem, method: str = "greedy", *, time_limit_s: float = 120.0
) -> SitingResult:
    """The fewest new sites that cover every demand point some candidate can reach.

    Demand points no candidate reaches are left out and reported as ``uncoverable``.
    """
    if method not in METHODS:
        raise InvalidParameter(f"method must be one of {', '.join(METHODS)}", field="method")
    reachable = np.asarray(problem.cover.sum(axis=0)).ravel() > 0
    needed = (~problem.already_covered) & (problem.demand_weight > 0)
    uncoverable = float(problem.demand_weight[needed & ~reachable].sum())
    targets = np.flatnonzero(needed & reachable)
    if len(targets) == 0:
        return _result(problem, method, [], optimal=True, uncoverable=uncoverable)
    if method == "exact":
        from spopt.locate import LSCP

        sub = SitingProblem(
            problem.demand_lon[targets],
            problem.demand_lat[targets],
            np.ones(len(targets)),
            problem.candidate_lon,
            problem.candidate_lat,
            problem.radius_m,
        )
        model = LSCP.from_cost_matrix(sub.distances_m(), service_radius=problem.radius_m)
        model.solve(_solver(time_limit_s))
        chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
        return _result(
            problem,
            "exact",
            chosen,
            optimal=_proved_optimal(model.problem),
            uncoverable=uncoverable,
        )
    # Greedy set cover by count of points reached, then drop redundant sites.
    cover = problem.cover[:, targets].tocsr()
    uncovered = np.ones(len(targets), dtype=bool)
    chosen: list[int] = []
    while uncovered.any():
        gains = cover @ uncovered.astype(float)
        j = int(np.argmax(gains))
        chosen.append(j)
        uncovered[cover.indices[cover.indptr[j] : cover.indptr[j + 1]]] = False
    # A site is redundant when every point it covers is covered by another chosen site;
    # the cover counts are kept up to date as sites are dropped (smallest sites first).
    counts = np.asarray(cover[chosen].sum(axis=0)).ravel()
    for j in sorted(chosen, key=lambda j: cover.indptr[j + 1] - cover.indptr[j]):
        points = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        if len(chosen) > 1 and (counts[points] >= 2).all():
            chosen = [k for k in chosen if k != j]
            counts[points] -= 1
    return _result(problem, "greedy", chosen, optimal=None, uncoverable=uncoverable)
