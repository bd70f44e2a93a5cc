"""Result types, constants and the shared solve plumbing of :mod:`planner.optimize`.

:class:`Solution`, :class:`TierSpec`, :class:`SelectionEvaluation`, :class:`MergedRows`; the clock,
the gap and status rules (:func:`_gap`, :func:`_status`, :class:`_Report`) and :func:`_finish`,
which every solver returns through.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

#: Accepted values of ``method=``: ``"auto"`` (heuristic + LP bound, then the MILP if the gap is
#: above ``mip_gap``), ``"greedy"`` (greedy + LP bound), ``"heuristic"`` (greedy + swap local
#: search + LP bound) and ``"exact"`` (always run the MILP, warm-started by the heuristic).
METHODS = ("auto", "greedy", "heuristic", "exact")

ProgressCallback = Callable[[str, float], None]

_INF = math.inf
#: LP relaxations with more non-zeros than this are solved with interior point (engine notes:
#: the default simplex failed on the 100k-row relaxation).
_IPM_NNZ = 200_000
#: MCLP relaxations larger than this use the Lagrangian bound instead of the LP (``bound="auto"``):
#: the interior-point LP took ~60 s at 4.6M non-zeros (drive-like 20k x 2k), ~5 s at 0.3M.
_LAGRANGIAN_NNZ = 2_000_000
#: MILPs with more non-zeros than this: ``method="auto"`` skips the full MILP, and HiGHS runs
#: without presolve (its presolve ignored a 30 s time limit for ~450 s on a 4.6M-non-zero
#: drive-like model, and the root LP did not finish in 30 s either).
_MIP_MAX_NNZ = 2_000_000
#: p-median relaxations with more (demand, site) pairs than this use the Lagrangian bound.
_PM_LP_PAIRS = 150_000
_EMPTY_INT = np.zeros(0, dtype=np.int64)
_EMPTY_FLOAT = np.zeros(0, dtype=np.float64)
_EMPTY_STR = np.zeros(0, dtype="<U1")


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Solution:
    """The answer of a siting solver; every field is always present.

    Attributes
    ----------
    problem : str
        ``"max_coverage"``, ``"set_cover"``, ``"p_median"``, ``"p_center"`` or ``"multi_tier"``.
    selected : numpy.ndarray of int
        Candidate indices (columns of ``cover`` / ``time_s``) of the proposed new sites, sorted.
    objective : float
        Maximal covering and multi-tier: weight (residents) newly covered by the new sites, on
        top of ``covered_weight_before``. Set cover: number of sites, or their total cost when
        ``costs`` are given. p-median: population-weighted mean travel time in seconds. p-center:
        the worst travel time in seconds.
    bound : float
        A certified bound, in the same units as ``objective``, on the best objective any
        solution can reach: an upper bound for maximisation (coverage), a lower bound for
        minimisation (set cover, p-median, p-center). It comes from the LP relaxation, a
        Lagrangian relaxation or HiGHS's MIP dual bound, converted to the reported objective
        (p-median: the bound on the savings becomes a bound on the mean time).
    gap : float
        ``|bound - objective| / max(|bound|, |objective|)``, 0 when both are 0, computed on the
        reported ``objective`` and ``bound``. The optimum lies between them, so the answer is at
        most this far (relatively) from it.
    status : str
        ``"optimal"`` - proved: the bound equals the objective (``gap <= 1e-6``, rounding);
        ``"near_optimal"`` - ``0 < gap <= mip_gap``: at most ``gap`` from the optimum, not
        proved optimal (set ``mip_gap=0`` to ask for a proof of optimality);
        ``"time_limit"`` - the time limit stopped the search before the gap was within
        ``mip_gap``; ``"feasible"`` - the gap is
        above ``mip_gap`` and no MILP was run to close it (``method="greedy"`` or
        ``"heuristic"``, or ``"auto"`` on a model too large for the MILP); ``"infeasible"`` -
        nothing satisfies the request. The status is decided on ``gap`` alone, never on what
        HiGHS reports of its internal model, and ``method="auto"``/``"exact"`` keep solving
        (within ``time_limit_s``) until ``gap <= mip_gap``.
    solver : str
        What produced ``selected``: ``"greedy"``, ``"greedy+swap"`` (greedy and local search),
        ``"highs-mip (LP-restricted)"`` (MILP over the candidates the LP relaxation uses),
        ``"highs-mip"`` (full MILP), ``"greedy-bisection"`` / ``"highs-bisection"`` (p-center)
        or ``"none"`` (nothing to do).
    seconds : float
        Wall time of the whole call.
    covered_weight_before, covered_weight_after : float
        Weight within reach before and after adding the new sites: coverage threshold for
        coverage problems, ``threshold_s`` for p-median / p-center. Multi-tier: summed over tiers
        with each tier's ``weight_factor``.
    uncoverable : numpy.ndarray of int
        Demand units (rows, weight > 0) that no candidate and no existing facility reaches.
    loads : numpy.ndarray of float
        Residents served by each selected site (aligned with ``selected``) when capacities are
        given, and for p-median (nearest-facility assignment); otherwise empty.
    tier_of_selected : numpy.ndarray of str
        Multi-tier only: the tier name hosted at each selected site; otherwise empty.
    history : tuple of (seconds, objective, bound)
        Progress of the search (``nan`` where no bound was known yet).
    """

    problem: str
    selected: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    solver: str
    seconds: float
    covered_weight_before: float
    covered_weight_after: float
    uncoverable: np.ndarray
    loads: np.ndarray
    tier_of_selected: np.ndarray
    history: tuple[tuple[float, float, float], ...]

    def __repr__(self) -> str:
        return (
            f"Solution(problem={self.problem!r}, n_selected={self.selected.size}, "
            f"objective={self.objective:.6g}, bound={self.bound:.6g}, gap={self.gap:.3%}, "
            f"status={self.status!r}, solver={self.solver!r}, seconds={self.seconds:.3f})"
        )


@dataclass(frozen=True, eq=False)
class TierSpec:
    """One facility tier of a :func:`solve_multi_tier` problem.

    Parameters
    ----------
    name : str
        Tier name, e.g. ``"community_center"``.
    cover : scipy.sparse matrix
        ``n_demand x n_candidates`` coverage at this tier's own time threshold. Every tier uses
        the same candidate sites (columns) and demand units (rows).
    p : int, optional
        At most this many new sites of this tier.
    costs : array of float, optional
        Cost of building this tier at each candidate (counted against the shared ``budget``);
        ``inf`` forbids the tier at that site. Without costs the tier costs nothing against the
        budget and needs ``p``.
    covered_by_existing : array of bool, optional
        Demand whose need at this tier is already met by an existing facility (of this tier or
        of a tier that serves it).
    weight_factor : float
        Importance of covering one resident at this tier (default 1).
    serves : tuple of str
        Names of other tiers whose need a site of this tier also meets, within that tier's
        threshold (a community health center also counts as a station). Not transitive: list
        every tier served.
    """

    name: str
    cover: Any
    p: int | None = None
    costs: Any = None
    covered_by_existing: Any = None
    weight_factor: float = 1.0
    serves: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class SelectionEvaluation:
    """What a given set of sites adds (see :func:`evaluate_selection`).

    Attributes
    ----------
    selected : numpy.ndarray of int
        The sites, in the order given.
    alone : numpy.ndarray of float
        Weight each site would newly cover on its own (not already covered by existing).
    marginal : numpy.ndarray of float
        Weight each site adds after the sites listed before it (sums to ``total``).
    exclusive : numpy.ndarray of float
        Weight covered by this site and by no other selected site or existing facility: what is
        lost if the site is dropped.
    total : float
        Weight newly covered by all the sites together.
    covered_weight_before, covered_weight_after : float
        Covered weight without and with the sites.
    """

    selected: np.ndarray
    alone: np.ndarray
    marginal: np.ndarray
    exclusive: np.ndarray
    total: float
    covered_weight_before: float
    covered_weight_after: float


class MergedRows(NamedTuple):
    """Result of :func:`merge_identical_rows`.

    Attributes
    ----------
    cover : scipy.sparse CSR matrix
        One row per distinct covering set, in order of first appearance.
    weights : numpy.ndarray
        Summed weights of the demand units merged into each row.
    row_of : numpy.ndarray of int
        For every original demand unit, the merged row it went to.
    first_row : numpy.ndarray of int
        For every merged row, the first original demand unit that formed it.
    """

    cover: Any
    weights: np.ndarray
    row_of: np.ndarray
    first_row: np.ndarray


# --------------------------------------------------------------------------------------------
# Shared solve plumbing
# --------------------------------------------------------------------------------------------


class _Clock:
    def __init__(self, time_limit_s: float, progress: ProgressCallback | None) -> None:
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + float(time_limit_s)
        self.progress = progress
        self.history: list[tuple[float, float, float]] = []
        self.timed_out = False

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def note(self, objective: float, bound: float = math.nan) -> None:
        self.history.append((self.elapsed(), float(objective), float(bound)))

    def stage(self, name: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(name, float(min(max(fraction, 0.0), 1.0)))


def _gap(objective: float, bound: float) -> float:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return _INF
    den = max(abs(objective), abs(bound))
    if den <= 1e-12:
        return 0.0
    return max(0.0, abs(bound - objective) / den)


#: Gaps up to this much above ``mip_gap`` still count as within it: the solver's own
#: floating-point tolerances (HiGHS stops at an absolute gap of 1e-6 in model units).
_GAP_TOL = 1e-6


def _within(gap: float, mip_gap: float) -> bool:
    """The one test of "close enough": a gap on the *reported* objective within ``mip_gap``."""
    return gap <= mip_gap + _GAP_TOL


def _status(gap: float, mip_gap: float, timed_out: bool) -> str:
    """``Solution.status`` from the gap between the reported objective and its bound; nothing
    else (in particular not what HiGHS said of its own model objective) makes an answer
    "optimal". An answer is called optimal only when its bound proves it (no gap beyond
    rounding); one within ``mip_gap`` but not proved is "near_optimal"."""
    if gap <= _GAP_TOL:
        return "optimal"
    if _within(gap, mip_gap):
        return "near_optimal"
    return "time_limit" if timed_out else "feasible"


@dataclass(frozen=True)
class _Report:
    """The reported objective as an affine map of an engine's model value:
    ``reported = offset + scale * value``.

    The engines maximise a model value that need not be what the user is told: the p-median
    engines maximise the savings ``sum_i w_i (b_i - t_i)`` and report the mean time
    ``(sum_i w_i b_i - savings) / W``. A relative gap on the savings is not one on the mean
    time (with savings five times the mean time, 0.5 % on the savings is 2.5 % on the mean),
    so every gap, stopping decision and status is computed on ``reported`` values, and the
    gaps given to HiGHS are converted (:meth:`highs_gaps`).
    """

    offset: float = 0.0
    scale: float = 1.0

    def __call__(self, value: float) -> float:
        return (
            self.offset + self.scale * value
            if np.isfinite(value)
            else (value * math.copysign(1.0, self.scale))
        )

    @property
    def identity(self) -> bool:
        return self.offset == 0.0 and self.scale == 1.0

    def gap(self, value: float, bound: float) -> float:
        """Relative gap on the reported objective between a value and a model bound."""
        return _gap(self(value), self(bound))

    def highs_gaps(self, mip_gap: float, value: float, bound: float) -> tuple[float, float]:
        """(relative, absolute) HiGHS gaps on the model value that guarantee a reported gap
        within ``mip_gap`` when HiGHS stops, given that the final value and bound will lie in
        ``[value, bound]`` (the incumbent and a valid upper bound on the model value).

        Reported gap = ``|scale| (ub - v) / max(|R(v)|, |R(ub)|)``, and the denominator is at
        least the smallest ``|R|`` over ``[value, bound]``; so an absolute model gap of
        ``mip_gap`` times that, over ``|scale|``, is enough. HiGHS's own relative gap is only
        used when the model value is the reported objective (for a maximisation it is then
        stricter than ours).
        """
        if self.identity:
            return mip_gap, mip_gap * max(0.0, min(abs(value), abs(bound)))
        if not (np.isfinite(value) and np.isfinite(bound)):
            return 0.0, 0.0
        lo, hi = self(value), self(bound)
        least = 0.0 if lo * hi <= 0 else min(abs(lo), abs(hi))
        return 0.0, mip_gap * least / abs(self.scale)


#: The identity map (the reported objective is the model value); a shared immutable default.
_IDENTITY_REPORT = _Report()


def _local_search(kernel: Callable[[int, int], int], n: int, clock: _Clock, cap_s: float) -> None:
    """Cycle through ``order`` in chunks until one full pass finds no improvement or the time
    cap is hit (the kernel returns the position after its last improving move, or -1)."""
    if n == 0:
        return
    deadline = min(clock.deadline, time.perf_counter() + cap_s)
    pos = 0
    clean = 0  # candidates scanned since the last improvement
    chunk = 256
    while clean < n:
        if time.perf_counter() > deadline:
            clock.timed_out = clock.timed_out or time.perf_counter() > clock.deadline
            logger.debug("local search stopped by its time cap")
            return
        stop = min(pos + chunk, n)
        last = kernel(pos, stop)
        clean = stop - last if last >= 0 else clean + (stop - pos)
        pos = 0 if stop == n else stop


def _swap_cap(clock: _Clock) -> float:
    return max(0.2, min(0.3 * clock.left(), 30.0))


# --------------------------------------------------------------------------------------------
def _finish(
    problem: str,
    clock: _Clock,
    *,
    selected: np.ndarray,
    objective: float,
    bound: float,
    status: str,
    solver: str,
    before: float,
    after: float,
    uncoverable: np.ndarray,
    loads: np.ndarray = _EMPTY_FLOAT,
    tiers: np.ndarray = _EMPTY_STR,
    gap: float | None = None,
) -> Solution:
    seconds = clock.elapsed()
    g = _gap(objective, bound) if gap is None else gap
    selected = np.asarray(selected, dtype=np.int64)
    order = np.argsort(selected, kind="stable")
    selected = selected[order]
    if loads.size == order.size:
        loads = np.asarray(loads)[order]
    if tiers.size == order.size:
        tiers = np.asarray(tiers)[order]
    sol = Solution(
        problem=problem,
        selected=_frozen(selected),
        objective=float(objective),
        bound=float(bound),
        gap=float(g),
        status=status,
        solver=solver,
        seconds=float(seconds),
        covered_weight_before=float(before),
        covered_weight_after=float(after),
        uncoverable=_frozen(np.asarray(uncoverable, dtype=np.int64)),
        loads=_frozen(np.asarray(loads, dtype=np.float64)),
        tier_of_selected=_frozen(np.asarray(tiers)),
        history=tuple(clock.history),
    )
    clock.stage("done", 1.0)
    logger.info(
        "%s: %d sites, objective %.6g, bound %.6g (gap %.3f%%), %s by %s in %.2f s",
        problem,
        sol.selected.size,
        sol.objective,
        sol.bound,
        100 * sol.gap,
        status,
        solver,
        seconds,
    )
    return sol
