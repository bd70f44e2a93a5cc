"""Choose new primary-care sites on coverage and travel-time matrices.

This module is the solver core of the ``optimize`` stage. It works on matrices, not geography:

* ``weights`` - residents of each demand unit (length ``n_demand``);
* ``cover`` - a sparse CSR matrix (``n_demand x n_candidates``, boolean or 0/1): demand unit ``i``
  is within the time threshold of candidate site ``j``;
* ``covered_by_existing`` - boolean, demand already within reach of a kept existing facility;
* ``time_s`` - a sparse CSR matrix of travel times in seconds within a search cutoff (a missing
  entry means "beyond the cutoff" and costs ``penalty_s``) and ``existing_time_s``, the time of
  each demand unit to its nearest existing facility (``inf`` if none), for p-median / p-center.

Problems solved
---------------
=================================  ===========================================================
:func:`solve_max_coverage`         maximal covering (MCLP): ``p`` sites or a budget, optional
                                   capacities
:func:`solve_set_cover`            set covering (LSCP): fewest or cheapest sites reaching every
                                   coverable resident or a target share
:func:`solve_p_median`             least population-weighted mean travel time, optional
                                   capacities
:func:`solve_p_center`             least worst travel time
:func:`solve_multi_tier`           several facility tiers (centre, station, ...) at once, one
                                   tier per site, per-tier ``p`` and a shared budget
:func:`evaluate_sites`             what a given set of sites adds (fast what-if)
:func:`merge_identical_rows`       merge demand units with the same covering set
=================================  ===========================================================

Every solver returns a :class:`Solution` whose ``bound`` is a certified bound on the best possible
objective, so ``gap`` says how far from optimal the answer can be. Heuristic answers (greedy, then
1-swap local search and a few rounds of iterated local search) carry the LP-relaxation bound
computed with HiGHS; the bound is recomputed from the LP duals by weak duality, so it stays valid
even when the LP was solved only approximately (interior point without crossover). Large models
use a Lagrangian bound instead (subgradient; every multiplier vector gives a valid bound).
``method="auto"`` then, when the certified gap is above ``mip_gap``, solves the MILP restricted
to the candidates the LP uses (small; often optimal in seconds) and, if the gap is still too
large, the full HiGHS MILP warm-started with the best answer so far.

Gaps, stopping decisions and ``status`` are always on the objective the user is told. The
p-median engines maximise the savings (base time minus travel time) internally; a relative gap
on the savings is not one on the mean time (savings five times the mean time make 0.5 % on the
savings 2.5 % on the mean), so HiGHS is given an absolute gap converted from ``mip_gap`` on the
mean time (:class:`_Report`), and its MIP dual bound is converted back.

HiGHS quirks handled here (highspy 1.16): the banner printed on first construction is
silenced; after a warm start HiGHS may return the start vector, and report a wrong objective
for it, although it found a better solution, so every solution it reports is re-evaluated and
the run repeated cold when its claim cannot be verified; its presolve ignored the time limit on
multi-million non-zero models, so presolve is off there and ``auto`` skips such MILPs.

Dense ``n_demand x n_candidates`` arrays are never built: demand rows with identical covering
sets are merged (weights summed) and demand already covered is dropped before solving.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import highspy
import numba as nb
import numpy as np
import scipy.sparse as sp

from ._errors import InfeasibleError, OptimizationError

__all__ = [
    "METHODS",
    "MergedRows",
    "SiteEvaluation",
    "Solution",
    "TierSpec",
    "evaluate_sites",
    "merge_identical_rows",
    "solve_max_coverage",
    "solve_multi_tier",
    "solve_p_center",
    "solve_p_median",
    "solve_set_cover",
]

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
        ``"optimal"`` - ``gap <= mip_gap`` (gaps within 1e-6 above count as rounding; set
        ``mip_gap=0`` to ask for a proof of optimality); ``"time_limit"`` - the time limit
        stopped the search before the gap was within ``mip_gap``; ``"feasible"`` - the gap is
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
class SiteEvaluation:
    """What a given set of sites adds (see :func:`evaluate_sites`).

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
# Validation
# --------------------------------------------------------------------------------------------


class _Problems:
    """Collects every problem of one call and raises them as one message."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, problem: str, fix: str) -> None:
        self.items.append(f"{problem}. Fix: {fix}")

    def raise_if_any(self, error: type[OptimizationError] = OptimizationError) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise error(f"{self.where}: {self.items[0]}")
        lines = "\n".join(f"  - {item}" for item in self.items)
        raise error(f"{self.where}: {len(self.items)} problems:\n{lines}")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def _check_budget(budget: Any, probs: _Problems) -> None:
    if budget is not None and not (_is_number(budget) and budget >= 0):
        probs.add(f"budget={budget!r} must be a number >= 0", "pass a non-negative budget")


def _check_method(method: str, probs: _Problems) -> None:
    if method not in METHODS:
        probs.add(f"method={method!r} is not known", f"use one of {', '.join(map(repr, METHODS))}")


def _check_bound(bound: str, probs: _Problems) -> None:
    if bound not in ("auto", "lp", "lagrangian"):
        probs.add(f"bound={bound!r} is not known", "use 'auto', 'lp' or 'lagrangian'")


def _check_limits(time_limit_s: float, mip_gap: float, probs: _Problems) -> None:
    if not (_is_number(time_limit_s) and time_limit_s > 0):
        probs.add(
            f"time_limit_s={time_limit_s!r} must be a positive number of seconds",
            "pass e.g. time_limit_s=60",
        )
    if not (_is_number(mip_gap) and 0 <= mip_gap < 1):
        probs.add(
            f"mip_gap={mip_gap!r} must be a relative gap in [0, 1)",
            "pass e.g. mip_gap=0.005 (0.5 %), or 0 to prove optimality",
        )


def _as_csr(matrix: Any, *, name: str, where: str, pattern: bool) -> sp.csr_array:
    """A fresh CSR copy (the input is never modified) with sorted indices.

    ``pattern=True`` keeps only the non-zero pattern (a boolean coverage matrix); otherwise the
    stored values are kept, including stored zeros (a time of 0 s is a real time).
    """
    if sp.issparse(matrix):
        a = sp.csr_array(matrix, copy=True)
    else:
        arr = np.asarray(matrix)
        if arr.ndim != 2:
            raise OptimizationError(
                f"{where}: {name} must be a 2-D matrix (demand units x candidate sites), got "
                f"{arr.ndim} dimension(s). Fix: pass a scipy.sparse CSR matrix."
            )
        a = sp.csr_array(arr)
    if a.ndim != 2:
        raise OptimizationError(
            f"{where}: {name} must be 2-D. Fix: pass a scipy.sparse CSR matrix."
        )
    if pattern:
        if a.dtype != np.bool_:
            data = np.asarray(a.data)
            if data.size and not np.all(np.isfinite(data.astype(float, copy=False))):
                raise OptimizationError(
                    f"{where}: {name} holds NaN or infinite values. Fix: pass a boolean or 0/1 "
                    "coverage matrix."
                )
            a = sp.csr_array(a != 0)
        a.eliminate_zeros()
    else:
        a = sp.csr_array(a, dtype=np.float64)
    a.sum_duplicates()
    a.sort_indices()
    return a


def _parts(a: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """(indptr int64, indices int32) of a CSR/CSC array, the dtypes the kernels are built for."""
    return (
        np.ascontiguousarray(a.indptr, dtype=np.int64),
        np.ascontiguousarray(a.indices, dtype=np.int32),
    )


def _check_vector(
    values: Any,
    n: int,
    *,
    name: str,
    what: str,
    probs: _Problems,
    allow_inf: bool = False,
    allow_none: bool = True,
) -> np.ndarray | None:
    if values is None:
        if not allow_none:
            probs.add(f"{name} is required", f"pass one value per {what}")
        return None
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        probs.add(f"{name} is not numeric", f"pass one number per {what}")
        return None
    if arr.size != n:
        probs.add(
            f"{name} has {arr.size} values but there are {n} {what}s",
            f"pass exactly one value per {what}",
        )
        return None
    bad = np.isnan(arr) | (arr < 0) | (~allow_inf & np.isinf(arr))
    if bad.any():
        idx = np.flatnonzero(bad)
        shown = ", ".join(str(i) for i in idx[:5]) + (
            f" and {idx.size - 5} more" if idx.size > 5 else ""
        )
        kind = "negative or NaN" if allow_inf else "negative, NaN or infinite"
        probs.add(
            f"{name} has {kind} values at positions {shown}",
            f"give every {what} a finite {name} >= 0",
        )
        return None
    return arr


def _check_mask(values: Any, n: int, *, name: str, probs: _Problems) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != n:
        probs.add(
            f"{name} has {arr.size} values but there are {n} demand units (rows)",
            "pass one boolean per row",
        )
        return np.zeros(n, dtype=bool)
    if arr.dtype != np.bool_:
        if not np.isin(arr, (0, 1)).all():
            probs.add(f"{name} must be boolean", "pass True/False per demand unit")
            return np.zeros(n, dtype=bool)
        arr = arr.astype(bool)
    return arr.copy()


def _check_p(p: Any, n_cols: int, probs: _Problems, *, name: str = "p") -> int | None:
    if p is None:
        return None
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        probs.add(f"{name}={p!r} must be a whole number of sites", f"pass e.g. {name}=10")
        return None
    p = int(p)
    if p < 1:
        probs.add(f"{name}={p} asks for fewer than one new site", f"pass {name} >= 1")
        return None
    if p > n_cols:
        probs.add(
            f"{name}={p} but there are only {n_cols} candidate sites",
            f"lower {name} to at most {n_cols} or add candidate sites",
        )
        return None
    return p


def _check_cover_inputs(
    where: str, cover: Any, weights: Any, covered_by_existing: Any
) -> tuple[sp.csr_array, _Problems, np.ndarray | None, np.ndarray]:
    """``cover`` as CSR, a fresh problem list, and the checked ``weights`` and
    ``covered_by_existing`` (one per row) of a coverage entry point."""
    A = _as_csr(cover, name="cover", where=where, pattern=True)
    probs = _Problems(where)
    w = _check_vector(
        weights,
        A.shape[0],
        name="weights",
        what="demand unit (row of cover)",
        probs=probs,
        allow_none=False,
    )
    ex = _check_mask(covered_by_existing, A.shape[0], name="covered_by_existing", probs=probs)
    return A, probs, w, ex


def _check_cover_nonempty(a: sp.csr_array, probs: _Problems, *, name: str = "cover") -> None:
    if a.shape[1] == 0:
        probs.add(f"{name} has no candidate columns", "generate candidate sites first")
    elif a.nnz == 0:
        probs.add(
            f"no candidate covers any demand unit ({name} is all zero)",
            "raise the time threshold, or add candidate sites closer to the residents",
        )


# --------------------------------------------------------------------------------------------
# Row merging
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _mix64(x):  # pragma: no cover - compiled
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return x


@nb.njit(cache=True)
def _row_hashes(indptr, indices, data_bits, key_bits):  # pragma: no cover - compiled
    n = indptr.size - 1
    h1 = np.empty(n, np.uint64)
    h2 = np.empty(n, np.uint64)
    has_data = data_bits.size > 0
    has_key = key_bits.size > 0
    for i in range(n):
        a = _mix64(np.uint64(indptr[i + 1] - indptr[i]) + np.uint64(0x9E3779B97F4A7C15))
        b = _mix64(np.uint64(indptr[i + 1] - indptr[i]) ^ np.uint64(0xD1B54A32D192ED03))
        if has_key:
            kb = np.uint64(key_bits[i])
            a = _mix64(a ^ kb)
            b = _mix64(b + kb * np.uint64(0x9E3779B97F4A7C15))
        for k in range(indptr[i], indptr[i + 1]):
            x = np.uint64(indices[k])
            if has_data:
                x = x ^ _mix64(np.uint64(data_bits[k]))
            a = _mix64(a ^ x) + np.uint64(0x632BE59BD9B4E019)
            b = _mix64(b + x * np.uint64(0xFF51AFD7ED558CCD)) ^ np.uint64(0xC4CEB9FE1A85EC53)
        h1[i] = a
        h2[i] = b
    return h1, h2


@nb.njit(cache=True)
def _rows_equal_to_rep(indptr, indices, data_bits, key_bits, group, rep):  # pragma: no cover
    n = indptr.size - 1
    bad = np.zeros(n, np.bool_)
    has_data = data_bits.size > 0
    has_key = key_bits.size > 0
    for i in range(n):
        r = rep[group[i]]
        if r == i:
            continue
        la = indptr[i + 1] - indptr[i]
        if la != indptr[r + 1] - indptr[r] or (has_key and key_bits[i] != key_bits[r]):
            bad[i] = True
            continue
        for q in range(la):
            if indices[indptr[i] + q] != indices[indptr[r] + q]:
                bad[i] = True
                break
            if has_data and data_bits[indptr[i] + q] != data_bits[indptr[r] + q]:
                bad[i] = True
                break
    return bad


def _group_rows(
    a: sp.csr_array, *, values: bool, key: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows: (group of each row, first row of each group), groups in order of
    first appearance. ``values`` also compares stored values; ``key`` a per-row float key."""
    n = a.shape[0]
    if n == 0:
        return _EMPTY_INT.copy(), _EMPTY_INT.copy()
    indptr, indices = _parts(a)
    data_bits = (
        np.ascontiguousarray(a.data, dtype=np.float64).view(np.int64) if values else _EMPTY_INT
    )
    key_bits = (
        np.ascontiguousarray(key, dtype=np.float64).view(np.int64)
        if key is not None
        else _EMPTY_INT
    )
    h1, h2 = _row_hashes(indptr, indices, data_bits, key_bits)
    order = np.lexsort((h2, h1))  # stable: equal hashes keep ascending row order
    s1, s2 = h1[order], h2[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (s1[1:] != s1[:-1]) | (s2[1:] != s2[:-1])
    gid_sorted = np.cumsum(new) - 1
    group = np.empty(n, dtype=np.int64)
    group[order] = gid_sorted
    rep = order[new]  # smallest row of each hash group
    bad = _rows_equal_to_rep(indptr, indices, data_bits, key_bits, group, rep)
    if bad.any():  # a 128-bit hash collision: regroup the affected rows exactly
        logger.debug("row hash collision on %d rows; regrouping exactly", int(bad.sum()))
        exact: dict[tuple, int] = {}
        next_id = rep.size
        reps = list(rep)
        for i in np.flatnonzero(bad):
            sl = slice(indptr[i], indptr[i + 1])
            k = (
                int(group[i]),
                indices[sl].tobytes(),
                data_bits[sl].tobytes() if values else b"",
                key_bits[i].tobytes() if key is not None else b"",
            )
            if k not in exact:
                exact[k] = next_id
                reps.append(i)
                next_id += 1
            group[i] = exact[k]
        rep = np.asarray(reps, dtype=np.int64)
    perm = np.argsort(rep, kind="stable")
    new_id = np.empty(rep.size, dtype=np.int64)
    new_id[perm] = np.arange(rep.size)
    return new_id[group], rep[perm]


def _merge_rows(a: sp.csr_array, w: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Rows of ``a`` with the same covering set merged (in order of first appearance) and
    their weights ``w`` summed."""
    group, first = _group_rows(a, values=False)
    return a[first], np.bincount(group, weights=w, minlength=first.size)


def merge_identical_rows(cover: Any, weights: Any) -> MergedRows:
    """Merge demand units whose covering sets are identical, summing their weights.

    Coverage objectives depend only on which candidates cover a demand unit, so units sharing
    the same set of covering candidates can be solved as one row. Real data merge well: demand
    points that join the road network at the same node share every travel time.

    Parameters
    ----------
    cover : scipy.sparse matrix or 2-D array
        ``n_demand x n_candidates`` coverage (non-zero = covered).
    weights : array of float
        Weight (residents) of each demand unit.

    Returns
    -------
    MergedRows
        ``(cover, weights, row_of, first_row)``: the merged CSR matrix (same kind as the input
        when it is a scipy ``csr_matrix``, else ``csr_array``), summed weights, the merged row
        of every original unit, and the first original unit of every merged row.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=bool))
    >>> m = merge_identical_rows(cover, [10.0, 5.0, 2.5])
    >>> m.weights.tolist(), m.row_of.tolist()
    ([12.5, 5.0], [0, 1, 0])
    """
    a = _as_csr(cover, name="cover", where="merge_identical_rows", pattern=True)
    probs = _Problems("merge_identical_rows")
    w = _check_vector(
        weights,
        a.shape[0],
        name="weights",
        what="demand unit (row of cover)",
        probs=probs,
        allow_none=False,
    )
    probs.raise_if_any()
    assert w is not None
    group, first = _group_rows(a, values=False)
    merged = a[first]
    if isinstance(cover, sp.spmatrix):
        merged = sp.csr_matrix(merged)
    mw = np.bincount(group, weights=w, minlength=first.size) if first.size else _EMPTY_FLOAT
    return MergedRows(merged, mw, group, first)


# --------------------------------------------------------------------------------------------
# Maximal-covering kernels (also used by multi-tier and set cover)
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _cov_apply_add(c, c_ptr, c_idx, r_ptr, r_idx, val, covered, gain):  # pragma: no cover
    added = 0.0
    for q in range(c_ptr[c], c_ptr[c + 1]):
        i = c_idx[q]
        if not covered[i]:
            covered[i] = True
            v = val[i]
            added += v
            for qq in range(r_ptr[i], r_ptr[i + 1]):
                gain[r_idx[qq]] -= v
    return added


@nb.njit(cache=True)
def _cov_greedy(
    r_ptr,
    r_idx,
    c_ptr,
    c_idx,
    val,
    costs,
    col_label,
    label_limit,
    col_site,
    n_sites,
    budget,
    use_ratio,
    stop_at,
    init_sel,
    tol,
):  # pragma: no cover
    """Greedy maximal covering with incremental gains: O(nnz) updates in total.

    Picks the feasible column with the largest gain (or gain / cost) until no column adds
    weight, every label is full, the budget is spent or the covered value reaches ``stop_at``.
    """
    n_rows = r_ptr.size - 1
    n_cols = c_ptr.size - 1
    covered = np.zeros(n_rows, np.bool_)
    gain = np.zeros(n_cols)
    for j in range(n_cols):
        s = 0.0
        for q in range(c_ptr[j], c_ptr[j + 1]):
            s += val[c_idx[q]]
        gain[j] = s
    is_sel = np.zeros(n_cols, np.bool_)
    site_used = np.zeros(n_sites, np.bool_)
    label_cnt = np.zeros(label_limit.size, np.int64)
    picks = np.empty(n_cols, np.int64)
    n_picks = 0
    spent = 0.0
    obj = 0.0
    for q in range(init_sel.size):
        j = init_sel[q]
        is_sel[j] = True
        site_used[col_site[j]] = True
        label_cnt[col_label[j]] += 1
        spent += costs[j]
        picks[n_picks] = j
        n_picks += 1
        obj += _cov_apply_add(j, c_ptr, c_idx, r_ptr, r_idx, val, covered, gain)
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    while obj < stop_at:
        best = -1
        best_score = 0.0
        best_gain = 0.0
        for j in range(n_cols):
            g = gain[j]
            if g <= tol or is_sel[j] or site_used[col_site[j]]:
                continue
            lab = col_label[j]
            if label_cnt[lab] >= label_limit[lab]:
                continue
            if spent + costs[j] > budget_tol:
                continue
            if use_ratio:
                score = g / costs[j] if costs[j] > 0 else g * 1e300
            else:
                score = g
            if score > best_score or (score == best_score and g > best_gain):
                best = j
                best_score = score
                best_gain = g
        if best < 0:
            break
        is_sel[best] = True
        site_used[col_site[best]] = True
        label_cnt[col_label[best]] += 1
        spent += costs[best]
        picks[n_picks] = best
        n_picks += 1
        obj += _cov_apply_add(best, c_ptr, c_idx, r_ptr, r_idx, val, covered, gain)
    return picks[:n_picks].copy(), obj


@nb.njit(cache=True)
def _cov_state(r_ptr, r_idx, is_sel, val, n_cols):  # pragma: no cover - compiled
    """Per row: number of selected covering columns and the sum of their ids (the owner when
    the count is 1); per column: weight it covers alone (``loss``); covered value."""
    n_rows = r_ptr.size - 1
    cnt = np.zeros(n_rows, np.int64)
    osum = np.zeros(n_rows, np.int64)
    loss = np.zeros(n_cols)
    obj = 0.0
    for i in range(n_rows):
        for q in range(r_ptr[i], r_ptr[i + 1]):
            j = r_idx[q]
            if is_sel[j]:
                cnt[i] += 1
                osum[i] += j
        if cnt[i] > 0:
            obj += val[i]
            if cnt[i] == 1:
                loss[osum[i]] += val[i]
    return cnt, osum, loss, obj


@nb.njit(cache=True)
def _cov_remove(k, c_ptr, c_idx, val, cnt, osum, loss):  # pragma: no cover - compiled
    lost = 0.0
    for q in range(c_ptr[k], c_ptr[k + 1]):
        i = c_idx[q]
        old = cnt[i]
        cnt[i] = old - 1
        osum[i] -= k
        if old == 1:
            lost += val[i]
        elif old == 2:
            loss[osum[i]] += val[i]
    loss[k] = 0.0
    return lost


@nb.njit(cache=True)
def _cov_add(c, c_ptr, c_idx, val, cnt, osum, loss):  # pragma: no cover - compiled
    added = 0.0
    for q in range(c_ptr[c], c_ptr[c + 1]):
        i = c_idx[q]
        old = cnt[i]
        if old == 0:
            loss[c] += val[i]
            added += val[i]
        elif old == 1:
            loss[osum[i]] -= val[i]
        cnt[i] = old + 1
        osum[i] += c
    return added


@nb.njit(cache=True)
def _cov_swap_chunk(
    c_ptr,
    c_idx,
    val,
    costs,
    col_label,
    label_limit,
    col_site,
    budget,
    order,
    start,
    stop,
    is_sel,
    sel_list,
    istate,
    fstate,
    cnt,
    osum,
    loss,
    site_used,
    label_cnt,
    extra,
    tol,
):  # pragma: no cover - compiled
    """1-swap (and add) local search for maximal covering over ``order[start:stop]``.

    For each candidate ``c`` not selected, the best partner ``k`` to drop is found in
    O(|col c| + p): gain(c) + extra(c, k) - loss(k), where extra(c, k) is the weight covered only
    by ``k`` that ``c`` would also cover. The best improving move for ``c`` is applied at once
    (first improvement over candidates). ``istate = [n_sel]``, ``fstate = [spent, obj]``.
    Returns the position after the last improving move, or -1.
    """
    last = -1
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    for pos in range(start, stop):
        c = order[pos]
        if is_sel[c]:
            continue
        g = 0.0
        for q in range(c_ptr[c], c_ptr[c + 1]):
            i = c_idx[q]
            if cnt[i] == 0:
                g += val[i]
            elif cnt[i] == 1:
                extra[osum[i]] += val[i]
        n_sel = istate[0]
        spent = fstate[0]
        lab = col_label[c]
        best_k = -2
        best_delta = tol
        if (
            g > tol
            and not site_used[col_site[c]]
            and label_cnt[lab] < label_limit[lab]
            and spent + costs[c] <= budget_tol
        ):
            best_k = -1
            best_delta = g
        for s in range(n_sel):
            k = sel_list[s]
            if site_used[col_site[c]] and col_site[c] != col_site[k]:
                continue
            lc = label_cnt[lab]
            if col_label[k] == lab:
                lc -= 1
            if lc >= label_limit[lab]:
                continue
            if spent - costs[k] + costs[c] > budget_tol:
                continue
            d = g + extra[k] - loss[k]
            if d > best_delta:
                best_delta = d
                best_k = k
        for q in range(c_ptr[c], c_ptr[c + 1]):
            i = c_idx[q]
            if cnt[i] == 1:
                extra[osum[i]] = 0.0
        if best_k == -2:
            continue
        if best_k >= 0:
            k = best_k
            fstate[1] -= _cov_remove(k, c_ptr, c_idx, val, cnt, osum, loss)
            is_sel[k] = False
            site_used[col_site[k]] = False
            label_cnt[col_label[k]] -= 1
            fstate[0] -= costs[k]
            for s in range(n_sel):
                if sel_list[s] == k:
                    sel_list[s] = sel_list[n_sel - 1]
                    break
            n_sel -= 1
        fstate[1] += _cov_add(c, c_ptr, c_idx, val, cnt, osum, loss)
        is_sel[c] = True
        site_used[col_site[c]] = True
        label_cnt[lab] += 1
        fstate[0] += costs[c]
        sel_list[n_sel] = c
        istate[0] = n_sel + 1
        last = pos + 1
    return last


@nb.njit(cache=True)
def _drop_redundant(c_ptr, c_idx, val, cnt, sel_desc, need, obj, tol):  # pragma: no cover
    """Drop selected columns (most expensive first) while the covered value stays >= need."""
    keep = np.ones(sel_desc.size, np.bool_)
    for s in range(sel_desc.size):
        k = sel_desc[s]
        excl = 0.0
        for q in range(c_ptr[k], c_ptr[k + 1]):
            if cnt[c_idx[q]] == 1:
                excl += val[c_idx[q]]
        if obj - excl >= need - tol:
            keep[s] = False
            obj -= excl
            for q in range(c_ptr[k], c_ptr[k + 1]):
                cnt[c_idx[q]] -= 1
    return keep, obj


@nb.njit(cache=True)
def _evaluate_kernel(r_ptr, r_idx, w, active, rank, n_sel):  # pragma: no cover - compiled
    alone = np.zeros(n_sel)
    marginal = np.zeros(n_sel)
    exclusive = np.zeros(n_sel)
    total = 0.0
    for i in range(r_ptr.size - 1):
        if not active[i]:
            continue
        cnt = 0
        first = n_sel
        owner = -1
        for q in range(r_ptr[i], r_ptr[i + 1]):
            s = rank[r_idx[q]]
            if s >= 0:
                cnt += 1
                alone[s] += w[i]
                owner = s
                if s < first:
                    first = s
        if cnt > 0:
            total += w[i]
            marginal[first] += w[i]
            if cnt == 1:
                exclusive[owner] += w[i]
    return alone, marginal, exclusive, total


# --------------------------------------------------------------------------------------------
# p-median kernels
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _pm_gain(j, c_ptr, c_idx, c_t, w, d1):  # pragma: no cover - compiled
    g = 0.0
    for q in range(c_ptr[j], c_ptr[j + 1]):
        i = c_idx[q]
        t = c_t[q]
        if t < d1[i]:
            g += w[i] * (d1[i] - t)
    return g


@nb.njit(cache=True)
def _pm_greedy(c_ptr, c_idx, c_t, w, base, p, tol):  # pragma: no cover - compiled
    """Lazy greedy for p-median: savings are submodular, so stale gains are upper bounds."""
    n_cols = c_ptr.size - 1
    d1 = base.copy()
    stale = np.empty(n_cols)
    for j in range(n_cols):
        stale[j] = _pm_gain(j, c_ptr, c_idx, c_t, w, d1)
    is_sel = np.zeros(n_cols, np.bool_)
    picks = np.empty(p, np.int64)
    n = 0
    while n < p:
        chosen = -1
        while True:
            j = -1
            bv = tol
            for k in range(n_cols):
                if not is_sel[k] and stale[k] > bv:
                    bv = stale[k]
                    j = k
            if j < 0:
                break
            g = _pm_gain(j, c_ptr, c_idx, c_t, w, d1)
            stale[j] = g
            ok = True
            for k in range(n_cols):
                if k != j and not is_sel[k] and stale[k] > g:
                    ok = False
                    break
            if ok:
                if g > tol:
                    chosen = j
                break
        if chosen < 0:
            break
        is_sel[chosen] = True
        picks[n] = chosen
        n += 1
        for q in range(c_ptr[chosen], c_ptr[chosen + 1]):
            i = c_idx[q]
            if c_t[q] < d1[i]:
                d1[i] = c_t[q]
    return picks[:n].copy()


@nb.njit(cache=True)
def _pm_row(i, r_ptr, r_idx, r_t, is_sel, base):  # pragma: no cover - compiled
    """Best and second-best option of row i; option -1 is the base (existing or penalty)."""
    d1 = base[i]
    f1 = -1
    d2 = base[i]
    f2 = -1
    for q in range(r_ptr[i], r_ptr[i + 1]):
        j = r_idx[q]
        if not is_sel[j]:
            continue
        t = r_t[q]
        if t < d1:
            d2 = d1
            f2 = f1
            d1 = t
            f1 = j
        elif t < d2:
            d2 = t
            f2 = j
    return d1, f1, d2, f2


@nb.njit(cache=True)
def _pm_state(r_ptr, r_idx, r_t, is_sel, base, w, n_cols):  # pragma: no cover - compiled
    n = r_ptr.size - 1
    d1 = np.empty(n)
    d2 = np.empty(n)
    f1 = np.empty(n, np.int64)
    f2 = np.empty(n, np.int64)
    loss = np.zeros(n_cols)
    obj = 0.0
    for i in range(n):
        a, b, c, d = _pm_row(i, r_ptr, r_idx, r_t, is_sel, base)
        d1[i] = a
        f1[i] = b
        d2[i] = c
        f2[i] = d
        obj += w[i] * a
        if b >= 0:
            loss[b] += w[i] * (c - a)
    return d1, f1, d2, f2, loss, obj


@nb.njit(cache=True)
def _pm_refresh(
    col, c_ptr, c_idx, r_ptr, r_idx, r_t, is_sel, base, w, d1, f1, d2, f2, loss, stamp, mark
):  # pragma: no cover - compiled
    delta = 0.0
    for q in range(c_ptr[col], c_ptr[col + 1]):
        i = c_idx[q]
        if stamp[i] == mark:
            continue
        stamp[i] = mark
        if f1[i] >= 0:
            loss[f1[i]] -= w[i] * (d2[i] - d1[i])
        a, b, c, d = _pm_row(i, r_ptr, r_idx, r_t, is_sel, base)
        delta += w[i] * (a - d1[i])
        d1[i] = a
        f1[i] = b
        d2[i] = c
        f2[i] = d
        if b >= 0:
            loss[b] += w[i] * (c - a)
    return delta


@nb.njit(cache=True)
def _pm_swap_chunk(
    c_ptr,
    c_idx,
    c_t,
    r_ptr,
    r_idx,
    r_t,
    w,
    base,
    p,
    order,
    start,
    stop,
    is_sel,
    sel_list,
    istate,
    fstate,
    d1,
    f1,
    d2,
    f2,
    loss,
    extra,
    stamp,
    tol,
):  # pragma: no cover - compiled
    """Fast interchange (Whitaker / Resende-Werneck) for p-median over ``order[start:stop]``.

    profit(c, k) = gain(c) - loss(k) + extra(c, k), with
    extra(c, k) = sum over rows served by k with t_ic < d2 of w (d2 - max(t_ic, d1)).
    ``istate = [n_sel, mark]``, ``fstate = [objective (sum of w * time)]``.
    """
    last = -1
    for pos in range(start, stop):
        c = order[pos]
        if is_sel[c]:
            continue
        g = 0.0
        for q in range(c_ptr[c], c_ptr[c + 1]):
            i = c_idx[q]
            t = c_t[q]
            if t < d1[i]:
                g += w[i] * (d1[i] - t)
            f = f1[i]
            if f >= 0 and t < d2[i]:
                extra[f] += w[i] * (d2[i] - max(t, d1[i]))
        n_sel = istate[0]
        best_k = -2
        best = tol
        if n_sel < p and g > tol:
            best_k = -1
            best = g
        for s in range(n_sel):
            k = sel_list[s]
            d = g - loss[k] + extra[k]
            if d > best:
                best = d
                best_k = k
        for q in range(c_ptr[c], c_ptr[c + 1]):
            f = f1[c_idx[q]]
            if f >= 0:
                extra[f] = 0.0
        if best_k == -2:
            continue
        is_sel[c] = True
        if best_k >= 0:
            is_sel[best_k] = False
            for s in range(n_sel):
                if sel_list[s] == best_k:
                    sel_list[s] = c
                    break
        else:
            sel_list[n_sel] = c
            istate[0] = n_sel + 1
        istate[1] += 1
        mark = istate[1]
        d = _pm_refresh(
            c, c_ptr, c_idx, r_ptr, r_idx, r_t, is_sel, base, w, d1, f1, d2, f2, loss, stamp, mark
        )
        if best_k >= 0:
            d += _pm_refresh(
                best_k,
                c_ptr,
                c_idx,
                r_ptr,
                r_idx,
                r_t,
                is_sel,
                base,
                w,
                d1,
                f1,
                d2,
                f2,
                loss,
                stamp,
                mark,
            )
        fstate[0] += d
        last = pos + 1
    return last


@nb.njit(cache=True)
def _pm_lagr_step(c_ptr, c_idx, c_a, lam, p, counts):  # pragma: no cover - compiled
    """Lagrangian of the p-median savings problem with the assignment rows relaxed.

    L(lam) = sum_i lam_i + (sum of the p largest v_j), v_j = sum_i max(0, a_ij - lam_i),
    a_ij = w_i (b_i - t_ij). Returns L and fills ``counts`` with, per row, the number of chosen
    columns with a_ij > lam_i (for the subgradient 1 - counts).
    """
    n_cols = c_ptr.size - 1
    v = np.zeros(n_cols)
    for j in range(n_cols):
        s = 0.0
        for q in range(c_ptr[j], c_ptr[j + 1]):
            d = c_a[q] - lam[c_idx[q]]
            if d > 0.0:
                s += d
        v[j] = s
    k = min(p, n_cols)
    order = np.argsort(-v)[:k]
    total = lam.sum()
    counts[:] = 0
    for jj in range(k):
        j = order[jj]
        if v[j] <= 0.0:
            continue
        total += v[j]
        for q in range(c_ptr[j], c_ptr[j + 1]):
            if c_a[q] > lam[c_idx[q]]:
                counts[c_idx[q]] += 1
    return total


# --------------------------------------------------------------------------------------------
# Capacitated kernels (maximal covering and p-median share them)
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads):  # pragma: no cover - compiled
    """Assign demand to selected sites along the pairs in their given order (nearest first),
    each pair taking what both the demand unit and the site's spare capacity allow; a demand
    unit may be split. Returns the total benefit; fills ``loads``."""
    resid = w.copy()
    loads[:] = 0.0
    value = 0.0
    for q in range(pr_row.size):
        j = pr_col[q]
        if not is_sel[j]:
            continue
        i = pr_row[q]
        a = min(resid[i], caps[j] - loads[j])
        if a <= 0.0:
            continue
        resid[i] -= a
        loads[j] += a
        value += a * pr_ben[q]
    return value


@nb.njit(cache=True)
def _cap_greedy(
    pr_row, pr_col, pr_ben, w, caps, costs, budget, p, ub_gain, tol
):  # pragma: no cover
    """Lazy greedy on the capacitated assignment value (gains re-evaluated on demand)."""
    n_cols = ub_gain.size
    is_sel = np.zeros(n_cols, np.bool_)
    loads = np.zeros(n_cols)
    stale = ub_gain.copy()
    picks = np.empty(n_cols, np.int64)
    n = 0
    cur = 0.0
    spent = 0.0
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    while n < p:
        chosen = -1
        chosen_v = cur
        while True:
            j = -1
            bv = tol
            for k in range(n_cols):
                if not is_sel[k] and stale[k] > bv and spent + costs[k] <= budget_tol:
                    bv = stale[k]
                    j = k
            if j < 0:
                break
            is_sel[j] = True
            v = _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads)
            is_sel[j] = False
            g = v - cur
            stale[j] = g
            ok = True
            for k in range(n_cols):
                if k != j and not is_sel[k] and stale[k] > g and spent + costs[k] <= budget_tol:
                    ok = False
                    break
            if ok:
                if g > tol:
                    chosen = j
                    chosen_v = v
                break
        if chosen < 0:
            break
        is_sel[chosen] = True
        spent += costs[chosen]
        picks[n] = chosen
        n += 1
        cur = chosen_v
    return picks[:n].copy(), cur


@nb.njit(cache=True)
def _cap_swap_chunk(
    pr_row,
    pr_col,
    pr_ben,
    w,
    caps,
    costs,
    budget,
    p,
    order,
    start,
    stop,
    is_sel,
    sel_list,
    istate,
    fstate,
    loads,
    tol,
):  # pragma: no cover
    """First-improvement add / 1-swap on the capacitated assignment value.
    ``istate = [n_sel]``, ``fstate = [value, spent]``."""
    last = -1
    budget_tol = budget * (1.0 + 1e-12) + 1e-9
    for pos in range(start, stop):
        c = order[pos]
        if is_sel[c]:
            continue
        n_sel = istate[0]
        cur = fstate[0]
        spent = fstate[1]
        is_sel[c] = True
        done = False
        if n_sel < p and spent + costs[c] <= budget_tol:
            v = _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads)
            if v > cur + tol:
                sel_list[n_sel] = c
                istate[0] = n_sel + 1
                fstate[0] = v
                fstate[1] = spent + costs[c]
                done = True
        if not done:
            for s in range(n_sel):
                k = sel_list[s]
                if spent - costs[k] + costs[c] > budget_tol:
                    continue
                is_sel[k] = False
                v = _cap_assign(pr_row, pr_col, pr_ben, w, caps, is_sel, loads)
                if v > cur + tol:
                    sel_list[s] = c
                    fstate[0] = v
                    fstate[1] = spent - costs[k] + costs[c]
                    done = True
                    break
                is_sel[k] = True
        if done:
            last = pos + 1
        else:
            is_sel[c] = False
    return last


# --------------------------------------------------------------------------------------------
# HiGHS
# --------------------------------------------------------------------------------------------


@dataclass
class _Model:
    """max / min c'z  s.t.  row_lo <= A z <= row_up,  col_lb <= z <= col_ub (some z integer);
    ``col_lb`` defaults to 0."""

    A: sp.csr_array
    row_lo: np.ndarray
    row_up: np.ndarray
    c: np.ndarray
    col_ub: np.ndarray
    maximize: bool
    integer: np.ndarray  # bool per column
    col_lb: np.ndarray | None = None

    def lower(self) -> np.ndarray:
        return np.zeros(self.c.size) if self.col_lb is None else self.col_lb


@dataclass
class _HighsOut:
    status: str  # "optimal", "time_limit", "infeasible", "error"
    x: np.ndarray | None
    objective: float
    bound: float
    seconds: float
    reduced: np.ndarray | None = None  # reduced costs (max form) behind ``bound``


_BANNER_LOCK = threading.Lock()
_BANNER_DONE = False


def _new_highs() -> highspy.Highs:
    """A Highs instance; the first one of the process is built with stdout silenced, as HiGHS
    prints its banner there on first construction (a library must not print)."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return highspy.Highs()
    with _BANNER_LOCK:
        if not _BANNER_DONE:
            _BANNER_DONE = True
            try:
                sys.stdout.flush()
                saved = os.dup(1)
            except (OSError, ValueError):
                return highspy.Highs()
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                return highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
    return highspy.Highs()


def _highs_setup(
    model: _Model,
    *,
    mip: bool,
    time_limit: float,
    mip_gap: float,
    seed: int,
    ipm: bool,
    abs_gap: float | None = None,
) -> highspy.Highs:
    """A HiGHS instance holding ``model``. For a MILP, HiGHS stops when its relative gap on
    the *model* objective is within ``mip_gap`` or its absolute gap within ``abs_gap`` (model
    units; HiGHS's own 1e-6 when ``None`` or smaller)."""
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(time_limit, 0.05)))
    h.setOptionValue("random_seed", int(seed) % (2**31 - 1))
    if mip:
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        if abs_gap is not None and abs_gap > 1e-6:
            h.setOptionValue("mip_abs_gap", float(abs_gap))
        if model.A.nnz > _MIP_MAX_NNZ:  # HiGHS presolve does not honour the time limit here
            h.setOptionValue("presolve", "off")
    elif ipm:
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    A = model.A
    n_col = model.c.size
    inf = highspy.kHighsInf
    integrality = model.integer.astype(np.int32) if mip else np.zeros(n_col, dtype=np.int32)
    h.passModel(
        int(n_col),
        int(A.shape[0]),
        int(A.nnz),
        int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize),
        0.0,
        np.ascontiguousarray(model.c, dtype=np.float64),
        np.ascontiguousarray(model.lower(), dtype=np.float64),
        np.ascontiguousarray(np.where(np.isinf(model.col_ub), inf, model.col_ub), dtype=np.float64),
        np.ascontiguousarray(
            np.where(np.isinf(model.row_lo), -inf, model.row_lo), dtype=np.float64
        ),
        np.ascontiguousarray(np.where(np.isinf(model.row_up), inf, model.row_up), dtype=np.float64),
        np.ascontiguousarray(A.indptr, dtype=np.int32),
        np.ascontiguousarray(A.indices, dtype=np.int32),
        np.ascontiguousarray(A.data, dtype=np.float64),
        integrality,
    )
    return h


def _status_of(h: highspy.Highs) -> str:
    ms = h.getModelStatus()
    M = highspy.HighsModelStatus
    if ms == M.kOptimal:
        return "optimal"
    if ms in (M.kInfeasible,):
        return "infeasible"
    if ms in (M.kTimeLimit, M.kInterrupt, M.kIterationLimit, M.kSolutionLimit):
        return "time_limit"
    return "error"


def _dual_bound(model: _Model, row_dual: np.ndarray) -> tuple[float, np.ndarray | None]:
    """A bound on the LP optimum from any row multipliers, by weak duality.

    For ``max c'z, lo <= Az <= up, l <= z <= u`` and multipliers ``y = y+ - y-``:
    ``c'z <= y+'up - y-'lo + sum_k max(u_k red_k, l_k red_k)`` with ``red = c - A'y``. The bound
    is valid whatever the accuracy of ``y``; both sign conventions are tried and the tighter
    bound kept. Returns the bound (in the model's sense) and the reduced costs in max form
    (for a minimisation, of ``-c``).
    """
    sign = 1.0 if model.maximize else -1.0
    c = sign * model.c  # min c'z = -max (-c)'z over the same constraints
    lo = model.row_lo
    up = model.row_up
    lb = model.lower()
    best, best_red = _INF, None
    AT = model.A.T
    ub = np.where(np.isinf(model.col_ub), 0.0, model.col_ub)
    for s in (1.0, -1.0):
        y = s * sign * np.asarray(row_dual, dtype=np.float64)
        yp = np.where(np.isfinite(up), np.maximum(y, 0.0), 0.0)
        ym = np.where(np.isfinite(lo), np.maximum(-y, 0.0), 0.0)
        red = c - AT @ (yp - ym)
        pos = np.maximum(red, 0.0)
        if np.any((pos > 0) & np.isinf(model.col_ub)):
            continue
        with np.errstate(invalid="ignore"):
            val = (
                float(np.dot(yp, np.where(np.isfinite(up), up, 0.0)))
                - float(np.dot(ym, np.where(np.isfinite(lo), lo, 0.0)))
                + float(np.dot(ub, pos))
                + float(np.dot(lb, np.minimum(red, 0.0)))
            )
        if np.isfinite(val) and val < best:
            best, best_red = val, red
    if not np.isfinite(best):
        return (_INF if model.maximize else -_INF), None
    return (best if model.maximize else -best), best_red


def _fix_by_reduced_cost(
    red: np.ndarray, lp_bound: float, incumbent: float, keep1: np.ndarray, maximize: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Columns (0/1) whose other value cannot beat the incumbent (reduced-cost fixing).

    With the bound ``B`` from :func:`_dual_bound` (max form), forcing a column with reduced
    cost ``r < 0`` to 1 lowers the bound to ``B + r``, forcing one with ``r > 0`` to 0 lowers it
    to ``B - r``; when that is below the incumbent no better solution has that value. Returns
    masks (fix to 0, fix to 1); ``keep1`` marks the incumbent's ones, never fixed against it.
    """
    B = lp_bound if maximize else -lp_bound
    inc = incumbent if maximize else -incumbent
    eps = 1e-7 * max(1.0, abs(inc))
    fix0 = (red < 0) & (B + red < inc - eps) & ~keep1
    fix1 = (red > 0) & (B - red < inc - eps) & keep1
    return fix0, fix1


def _solve_lp(model: _Model, *, time_limit: float, seed: int) -> _HighsOut:
    """LP relaxation; returns a certified bound from the duals (``inf``/``-inf`` if none)."""
    t = time.perf_counter()
    ipm = model.A.nnz > _IPM_NNZ
    h = _highs_setup(model, mip=False, time_limit=time_limit, mip_gap=0.0, seed=seed, ipm=ipm)
    h.run()
    status = _status_of(h)
    bound = _INF if model.maximize else -_INF
    x = None
    if status == "infeasible":
        return _HighsOut("infeasible", None, math.nan, bound, time.perf_counter() - t)
    sol = h.getSolution()
    red = None
    if sol.dual_valid:
        bound, red = _dual_bound(model, np.asarray(sol.row_dual))
    if sol.value_valid:
        x = np.asarray(sol.col_value)
    if ipm and status != "optimal" and not np.isfinite(bound):
        # interior point stopped early: the caller falls back to a weaker bound
        logger.debug("IPM LP status %s; no usable duals", status)
    obj = h.getInfo().objective_function_value
    return _HighsOut(status, x, float(obj), float(bound), time.perf_counter() - t, red)


@dataclass
class _MipOut:
    status: str  # HiGHS status: "optimal", "time_limit", "infeasible", "error"
    x: np.ndarray | None  # leading ``n_keep`` columns of the best solution (our evaluation)
    value: float  # our evaluation of ``x`` (nan if none)
    bound: float  # HiGHS MIP dual bound in model space (+-inf if none)
    seconds: float


def _solve_mip(
    model: _Model,
    *,
    time_limit: float,
    mip_gap: float,
    seed: int,
    start: np.ndarray | None,
    n_keep: int,
    evaluate: Callable[[np.ndarray], float | None],
    larger_is_better: bool,
    clock: _Clock | None,
    to_objective: Callable[[float], float] = float,
    to_bound: Callable[[float], float] = float,
    span: tuple[float, float] = (0.5, 0.95),
    abs_gap: float | None = None,
) -> _MipOut:
    """Run the HiGHS MILP and return the best solution by *our* evaluation.

    ``mip_gap`` and ``abs_gap`` are HiGHS's stopping gaps on the model objective (see
    :func:`_highs_setup`); callers whose reported objective differs from the model's derive
    them with :meth:`_Report.highs_gaps`. ``bound`` is HiGHS's MIP dual bound.

    Every solution HiGHS finds is collected through the ``MipSolution`` callback and evaluated
    with ``evaluate`` (exact objective, ``None`` if infeasible), together with the final
    solution: with a warm start HiGHS 1.16 can hand back the start vector as its final
    solution (and report it with the incumbent's objective) after presolve found a better one,
    so neither its vector nor its objective is taken on trust. When HiGHS claims an incumbent
    better than any solution we can verify, the run is repeated without the start (its bound
    is discarded) in the time left.
    """
    t = time.perf_counter()
    h = _highs_setup(
        model,
        mip=True,
        time_limit=time_limit,
        mip_gap=mip_gap,
        seed=seed,
        ipm=False,
        abs_gap=abs_gap,
    )
    if start is not None:
        h.setSolution(
            int(start.size),
            np.arange(start.size, dtype=np.int32),
            np.ascontiguousarray(start, dtype=np.float64),
        )
    found: list[tuple[float, np.ndarray, float]] = []

    def on_solution(e: Any) -> None:
        d = e.data_out
        sol = np.asarray(d.mip_solution)
        if sol.size >= n_keep:
            found.append((time.perf_counter(), sol[:n_keep].copy(), float(d.mip_dual_bound)))

    h.cbMipSolution.subscribe(on_solution)
    progress = clock.progress if clock is not None else None
    if progress is not None:
        last = [0.0]

        def on_tick(e: Any) -> None:
            now = time.perf_counter()
            if now - last[0] > 0.5:
                last[0] = now
                frac = min(1.0, (now - t) / max(time_limit, 1e-9))
                progress("milp", span[0] + (span[1] - span[0]) * frac)

        h.cbMipInterrupt.subscribe(on_tick)
    h.run()
    status = _status_of(h)
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = _INF if model.maximize else -_INF
    sol = h.getSolution()
    if sol.value_valid:
        found.append((time.perf_counter(), np.asarray(sol.col_value)[:n_keep].copy(), bound))
    best_x, best_v = None, math.nan
    noted = math.nan  # history only records solutions better than the warm start
    if start is not None:
        v0 = evaluate(start[:n_keep])
        noted = math.nan if v0 is None else float(v0)
    seen: set[bytes] = set()
    for when, x, b in found:
        key = np.packbits(x > 0.5).tobytes()
        if key in seen:
            continue
        seen.add(key)
        v = evaluate(x)
        if v is None:
            continue
        if best_x is None or (v > best_v if larger_is_better else v < best_v):
            best_x, best_v = x, float(v)
            if clock is not None and (
                math.isnan(noted) or (best_v > noted if larger_is_better else best_v < noted)
            ):
                noted = best_v
                clock.history.append(
                    (
                        when - clock.t0,
                        to_objective(best_v),
                        to_bound(b) if math.isfinite(b) else math.nan,
                    )
                )
    claimed = float(info.objective_function_value)
    if start is not None and sol.value_valid and math.isfinite(claimed):
        tol = 1e-6 * max(1.0, abs(claimed)) + 1e-9
        unverified = best_x is None or (
            claimed > best_v + tol if larger_is_better else claimed < best_v - tol
        )
        left = time_limit - (time.perf_counter() - t)
        if unverified and left > 0.05:
            logger.debug(
                "HiGHS claims %.9g but the best verified solution is %.9g: "
                "re-solving without the warm start",
                claimed,
                best_v,
            )
            cold = _solve_mip(
                model,
                time_limit=left,
                mip_gap=mip_gap,
                seed=seed,
                start=None,
                n_keep=n_keep,
                evaluate=evaluate,
                larger_is_better=larger_is_better,
                clock=clock,
                to_objective=to_objective,
                to_bound=to_bound,
                span=span,
                abs_gap=abs_gap,
            )
            if cold.x is not None and (
                best_x is None or (cold.value > best_v if larger_is_better else cold.value < best_v)
            ):
                best_x, best_v = cold.x, cold.value
            return _MipOut(cold.status, best_x, best_v, cold.bound, time.perf_counter() - t)
        if unverified:
            status = "time_limit"
            bound = _INF if model.maximize else -_INF
    return _MipOut(status, best_x, best_v, bound, time.perf_counter() - t)


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
    "optimal"."""
    if _within(gap, mip_gap):
        return "optimal"
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
# Maximal covering engine (plain, budgeted and multi-tier)
# --------------------------------------------------------------------------------------------


@dataclass
class _CovProblem:
    """Merged maximal-covering problem over active rows."""

    A: sp.csr_array  # rows x cols, bool
    w: np.ndarray  # row values
    costs: np.ndarray  # per column (inf = forbidden)
    label: np.ndarray  # per column, int32
    limit: np.ndarray  # per label, int64 (huge = none)
    site: np.ndarray  # per column, int32
    n_sites: int
    budget: float  # inf = none
    has_costs: bool


@dataclass
class _CovAnswer:
    selected: np.ndarray
    objective: float
    bound: float
    status: str
    solver: str


_NO_LIMIT = np.iinfo(np.int64).max // 4


def _cov_structs(A: sp.csr_array) -> tuple:
    """(r_ptr, r_idx, c_ptr, c_idx): ``A`` by rows and by columns, for the covering kernels."""
    return (*_parts(A), *_parts(A.tocsc()))


def _cov_objective(prob: _CovProblem, selected: np.ndarray) -> float:
    if selected.size == 0 or prob.A.shape[0] == 0:
        return 0.0
    mask = np.zeros(prob.A.shape[1], dtype=bool)
    mask[selected] = True
    hit = (prob.A @ mask.astype(np.float64)) > 0
    return float(prob.w[hit].sum())


def _cov_heuristic(
    prob: _CovProblem, structs: tuple, *, swap: bool, seed: int, clock: _Clock, kicks: int = 50
) -> tuple[np.ndarray, float, str]:
    """Greedy (plain and, with costs, cost-ratio), then swap descent and iterated local search
    (``kicks`` rounds of replacing a few random sites and descending again)."""
    r_ptr, r_idx, c_ptr, c_idx = structs
    n_cols = prob.A.shape[1]
    tol = 1e-12 * max(1.0, float(prob.w.sum()))
    allowed_costs = prob.costs  # inf = forbidden: never fits the budget
    budget = prob.budget if np.isfinite(prob.budget) else 1e300
    runs = [False, True] if prob.has_costs else [False]
    best_sel, best_obj = _EMPTY_INT, -1.0
    for use_ratio in runs:
        sel, obj = _cov_greedy(
            r_ptr,
            r_idx,
            c_ptr,
            c_idx,
            prob.w,
            allowed_costs,
            prob.label,
            prob.limit,
            prob.site,
            prob.n_sites,
            float(budget),
            use_ratio,
            _INF,
            _EMPTY_INT,
            tol,
        )
        if obj > best_obj + tol:
            best_sel, best_obj = sel, obj
    clock.note(best_obj)
    clock.stage("greedy", 0.15)
    solver = "greedy"
    everything = float(prob.w.sum()) * (1 - 1e-12)
    if swap and n_cols > 0 and best_sel.size > 0 and best_obj < everything:
        rng = np.random.default_rng(seed)
        useful = np.flatnonzero((np.diff(c_ptr) > 0) & np.isfinite(prob.costs))
        order = rng.permutation(useful).astype(np.int64)
        cap_end = time.perf_counter() + _swap_cap(clock)
        cur_sel, cur_obj = _cov_descend(prob, structs, best_sel, order, clock, cap_end, tol)
        best_sel, best_obj = cur_sel, cur_obj
        clock.note(best_obj)
        # iterated local search: replace a few random sites, descend again, keep if not worse
        for _ in range(kicks):
            if (
                time.perf_counter() > min(cap_end, clock.deadline)
                or cur_sel.size == 0
                or best_obj >= everything
            ):
                break
            kicked = _cov_kick(prob, cur_sel, useful, rng)
            sel, obj = _cov_descend(prob, structs, kicked, order, clock, cap_end, tol)
            if obj >= cur_obj - tol:
                cur_sel, cur_obj = sel, obj
                if obj > best_obj + tol:
                    best_sel, best_obj = sel, obj
                    clock.note(best_obj)
        best_obj = _cov_objective(prob, best_sel)
        solver = "greedy+swap"
    clock.stage("local search", 0.3)
    return np.sort(best_sel), best_obj, solver


def _cov_descend(
    prob: _CovProblem,
    structs: tuple,
    start: np.ndarray,
    order: np.ndarray,
    clock: _Clock,
    cap_end: float,
    tol: float,
) -> tuple[np.ndarray, float]:
    """Swap / add local search from ``start`` to a 1-swap local optimum (or the time cap)."""
    r_ptr, r_idx, c_ptr, c_idx = structs
    n_cols = prob.A.shape[1]
    budget = prob.budget if np.isfinite(prob.budget) else 1e300
    is_sel = np.zeros(n_cols, dtype=bool)
    is_sel[start] = True
    cnt, osum, loss, obj = _cov_state(r_ptr, r_idx, is_sel, prob.w, n_cols)
    sel_list = np.zeros(n_cols, dtype=np.int64)
    sel_list[: start.size] = start
    istate = np.array([start.size], dtype=np.int64)
    kcosts = prob.costs if prob.has_costs else np.where(np.isinf(prob.costs), _INF, 0.0)
    fstate = np.array([float(kcosts[start].sum()), obj])
    site_used = np.zeros(prob.n_sites, dtype=bool)
    site_used[prob.site[start]] = True
    label_cnt = np.bincount(prob.label[start], minlength=prob.limit.size).astype(np.int64)
    extra = np.zeros(n_cols)

    def kernel(a: int, b: int) -> int:
        return int(
            _cov_swap_chunk(
                c_ptr,
                c_idx,
                prob.w,
                kcosts,
                prob.label,
                prob.limit,
                prob.site,
                float(budget),
                order,
                a,
                b,
                is_sel,
                sel_list,
                istate,
                fstate,
                cnt,
                osum,
                loss,
                site_used,
                label_cnt,
                extra,
                tol,
            )
        )

    _local_search(kernel, order.size, clock, cap_end - time.perf_counter())
    return np.sort(sel_list[: istate[0]]), float(fstate[1])


def _cov_kick(
    prob: _CovProblem, sel: np.ndarray, useful: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Drop 1..max(2, |sel|/10) random sites and add as many random feasible candidates."""
    k = int(rng.integers(1, max(2, sel.size // 10) + 1))
    drop = rng.choice(sel.size, size=min(k, sel.size), replace=False)
    keep = np.delete(sel, drop)
    kcosts = prob.costs if prob.has_costs else np.where(np.isinf(prob.costs), _INF, 0.0)
    spent = float(kcosts[keep].sum())
    used = set(prob.site[keep].tolist())
    label_cnt = np.bincount(prob.label[keep], minlength=prob.limit.size)
    chosen = set(keep.tolist()) | set(sel.tolist())
    added: list[int] = []
    for c in rng.permutation(useful)[: 50 * k]:
        if len(added) >= k:
            break
        c = int(c)
        if (
            c in chosen
            or prob.site[c] in used
            or label_cnt[prob.label[c]] >= prob.limit[prob.label[c]]
        ):
            continue
        if spent + kcosts[c] > prob.budget * (1 + 1e-12) + 1e-9:
            continue
        added.append(c)
        chosen.add(c)
        used.add(int(prob.site[c]))
        label_cnt[prob.label[c]] += 1
        spent += float(kcosts[c])
    return np.sort(np.concatenate([keep, np.asarray(added, dtype=np.int64)])).astype(np.int64)


def _cov_model(prob: _CovProblem, *, integer: bool) -> tuple[_Model, np.ndarray, np.ndarray]:
    """MCLP model: x_j (columns) + y_i for rows with >= 2 covering columns.

    max sum_j a_j x_j + sum_i w_i y_i
    s.t. y_i - sum_{j covers i} x_j <= 0      (rows covered by >= 2 columns)
         sum_{j in label l} x_j <= p_l        (per label / tier)
         sum_{j at site s} x_j <= 1           (one tier per site)
         sum_j c_j x_j <= budget
    where a_j sums the weight of rows only column j covers (y_i = x_j for them).
    Returns the model and the (deg>=2) row ids and deg-1 row ids.
    """
    A = prob.A
    n_rows, n_cols = A.shape
    deg = np.diff(A.indptr)
    single = np.flatnonzero(deg == 1)
    multi = np.flatnonzero(deg >= 2)
    a = np.bincount(A.indices[A.indptr[single]], weights=prob.w[single], minlength=n_cols)
    Am = A[multi]
    m = multi.size
    blocks = [sp.hstack([-Am.astype(np.float64), sp.identity(m, format="csr")], format="csr")]
    lo: list[np.ndarray] = [np.full(m, -_INF)]
    up: list[np.ndarray] = [np.zeros(m)]
    labels = np.flatnonzero(prob.limit < _NO_LIMIT)
    for lab in labels:
        cols = np.flatnonzero(prob.label == lab)
        row = sp.csr_array(
            (np.ones(cols.size), (np.zeros(cols.size, dtype=np.int64), cols)), shape=(1, n_cols + m)
        )
        blocks.append(row)
        lo.append(np.array([-_INF]))
        up.append(np.array([float(prob.limit[lab])]))
    site_counts = np.bincount(prob.site, minlength=prob.n_sites)
    shared = np.flatnonzero(site_counts > 1)
    if shared.size:
        cols = np.flatnonzero(np.isin(prob.site, shared))
        rank = np.full(prob.n_sites, -1, dtype=np.int64)
        rank[shared] = np.arange(shared.size)
        blocks.append(
            sp.csr_array(
                (np.ones(cols.size), (rank[prob.site[cols]], cols)), shape=(shared.size, n_cols + m)
            )
        )
        lo.append(np.full(shared.size, -_INF))
        up.append(np.ones(shared.size))
    if np.isfinite(prob.budget):
        finite = np.where(np.isfinite(prob.costs), prob.costs, 0.0)
        blocks.append(sp.csr_array(np.concatenate([finite, np.zeros(m)])[None, :]))
        lo.append(np.array([-_INF]))
        up.append(np.array([float(prob.budget)]))
    M = sp.csr_array(sp.vstack(blocks, format="csr"))
    M.eliminate_zeros()
    col_ub = np.ones(n_cols + m)
    col_ub[:n_cols][np.isinf(prob.costs)] = 0.0
    model = _Model(
        M,
        np.concatenate(lo),
        np.concatenate(up),
        np.concatenate([a, prob.w[multi]]),
        col_ub,
        True,
        np.concatenate([np.full(n_cols, integer), np.zeros(m, dtype=bool)]),
    )
    return model, multi, single


@nb.njit(cache=True)
def _col_sums(c_ptr, c_idx, lam):  # pragma: no cover - compiled
    n_cols = c_ptr.size - 1
    r = np.zeros(n_cols)
    for j in range(n_cols):
        s = 0.0
        for q in range(c_ptr[j], c_ptr[j + 1]):
            s += lam[c_idx[q]]
        r[j] = s
    return r


@nb.njit(cache=True)
def _row_hits(c_ptr, c_idx, cols, vals, n_rows):  # pragma: no cover - compiled
    out = np.zeros(n_rows)
    for k in range(cols.size):
        j = cols[k]
        for q in range(c_ptr[j], c_ptr[j + 1]):
            out[c_idx[q]] += vals[k]
    return out


def _cov_lagrangian(
    prob: _CovProblem, lower: float, clock: _Clock, *, iters: int = 2000, cap_s: float = 20.0
) -> float:
    """Lagrangian bound of MCLP with one cardinality label and/or a budget (no site groups).

    Relaxing y_i <= sum_j a_ij x_j with multipliers 0 <= l_i <= w_i gives
    L(l) = sum_i (w_i - l_i) + max {r'x : sum x <= p, c'x <= B, 0 <= x <= 1}, r = A'l;
    the inner maximum is over-estimated by the smaller of top-p(r) and the fractional knapsack,
    so every L(l) is a valid upper bound. Subgradient steps (Polyak) minimise it.
    """
    c_ptr, c_idx = _parts(prob.A.tocsc())
    n_rows = prob.A.shape[0]
    w = prob.w
    p = int(prob.limit[0]) if prob.limit.size == 1 and prob.limit[0] < _NO_LIMIT else None
    costs = prob.costs
    ok = np.isfinite(costs)
    budget = prob.budget

    def inner(r: np.ndarray) -> tuple[float, np.ndarray]:
        r = np.where(ok, np.maximum(r, 0.0), 0.0)
        best, xb = _INF, np.zeros(r.size)
        if p is not None:
            k = min(p, r.size)
            top = np.argpartition(-r, k - 1)[:k] if k < r.size else np.arange(r.size)
            x = np.zeros(r.size)
            x[top] = 1.0
            v = float(r[top].sum())
            if v < best:
                best, xb = v, x
        if np.isfinite(budget):
            free = (costs <= 0) & ok
            x = np.zeros(r.size)
            x[free] = 1.0
            v = float(r[free].sum())
            rest = np.flatnonzero(~free & ok & (r > 0))
            ratio = r[rest] / costs[rest]
            o = rest[np.argsort(-ratio, kind="stable")]
            cum = np.cumsum(costs[o])
            n_full = int(np.searchsorted(cum, budget, side="right"))
            x[o[:n_full]] = 1.0
            v += float(r[o[:n_full]].sum())
            if n_full < o.size:
                left = budget - (cum[n_full - 1] if n_full else 0.0)
                f = max(0.0, left / costs[o[n_full]])
                x[o[n_full]] = f
                v += f * float(r[o[n_full]])
            if v < best:
                best, xb = v, x
        return best, xb

    lam = w / np.maximum(np.diff(prob.A.indptr), 1)
    best = _INF
    theta = 2.0
    since = 0
    deadline = min(clock.deadline, time.perf_counter() + cap_s)
    for _ in range(iters):
        val, x = inner(_col_sums(c_ptr, c_idx, lam))
        L = float((w - lam).sum()) + val
        if L < best - 1e-12 * max(1.0, abs(best) if np.isfinite(best) else 1.0):
            best = L
            since = 0
        else:
            since += 1
            if since >= 50:
                theta *= 0.5
                since = 0
        nz = np.flatnonzero(x)
        g = _row_hits(c_ptr, c_idx, nz.astype(np.int64), x[nz], n_rows) - 1.0  # dL/dlam
        g[(lam <= 0) & (g > 0)] = 0.0
        g[(lam >= w) & (g < 0)] = 0.0
        nrm = float(np.square(g).sum())  # not BLAS: its threads stall under CPU contention
        if nrm <= 1e-18 or theta < 1e-4 or time.perf_counter() > deadline:
            break
        step = theta * max(L - lower, 1e-9 * max(1.0, L)) / nrm
        lam = np.clip(lam - step * g, 0.0, w)
    return best


def _cov_bound(
    prob: _CovProblem, objective: float, clock: _Clock, seed: int, bound_method: str
) -> tuple[float, _HighsOut | None]:
    """Certified upper bound, and the LP result when the LP was solved (for fixing)."""
    total = float(prob.w.sum())
    # site groups (multi-tier): only the LP bound is implemented
    lagr_ok = prob.n_sites == prob.A.shape[1]
    use_lagr = lagr_ok and (
        bound_method == "lagrangian" or (bound_method == "auto" and prob.A.nnz > _LAGRANGIAN_NNZ)
    )
    bound = total
    lp = None
    if not use_lagr:
        model, _, _ = _cov_model(prob, integer=False)
        lp = _solve_lp(model, time_limit=max(clock.left(), 0.05), seed=seed)
        if np.isfinite(lp.bound):
            bound = min(bound, lp.bound)
        elif lagr_ok:
            use_lagr = True
        if lp.status == "time_limit" and not np.isfinite(lp.bound):
            clock.timed_out = True
    if use_lagr:
        bound = min(
            bound,
            _cov_lagrangian(prob, objective, clock, cap_s=max(1.0, min(20.0, 0.5 * clock.left()))),
        )
    return max(bound, objective), lp


def _cov_solve(
    prob: _CovProblem,
    *,
    method: str,
    mip_gap: float,
    seed: int,
    clock: _Clock,
    bound_method: str = "auto",
) -> _CovAnswer:
    n_rows, n_cols = prob.A.shape
    if n_rows == 0 or prob.A.nnz == 0:
        clock.note(0.0, 0.0)
        return _CovAnswer(_EMPTY_INT.copy(), 0.0, 0.0, "optimal", "none")
    structs = _cov_structs(prob.A)
    sel, obj, solver = _cov_heuristic(
        prob, structs, swap=method != "greedy", seed=seed, clock=clock
    )
    clock.stage("bound", 0.35)
    if obj >= float(prob.w.sum()) * (1 - 1e-12):  # everything coverable is covered
        clock.note(obj, obj)
        return _CovAnswer(np.sort(sel), obj, obj, "optimal", solver)
    bound, lp = _cov_bound(prob, obj, clock, seed, bound_method)
    clock.note(obj, bound)
    clock.stage("bound", 0.5)
    gap = _gap(obj, bound)
    if method == "exact" or (method == "auto" and not _within(gap, mip_gap)):
        tol = 1e-9 * max(1.0, obj)
        # 1. the MILP restricted to the sites the LP uses (and the heuristic's): small, and
        #    HiGHS often solves it in seconds (engine notes: the full model stalls at 100k)
        if lp is not None and lp.x is not None and clock.left() > 0.05:
            cols = np.union1d(np.flatnonzero(lp.x[:n_cols] > 1e-3), sel)
            if cols.size < 0.8 * n_cols:
                sub = _cov_restrict(prob, cols)
                rsel, robj, rout = _cov_mip(
                    sub,
                    np.searchsorted(cols, sel),
                    obj,
                    None,
                    time_limit=0.5 * clock.left(),
                    mip_gap=0.0,
                    seed=seed,
                    clock=clock,
                    restricted=True,
                )
                logger.debug(
                    "LP-restricted MILP on %d of %d sites: %s, %.9g",
                    cols.size,
                    n_cols,
                    rout.status,
                    robj,
                )
                if robj > obj + tol:
                    sel, obj, solver = cols[rsel], robj, "highs-mip (LP-restricted)"
                clock.note(obj, bound)
                gap = _gap(obj, bound)
        # 2. the full MILP, warm-started
        too_big = prob.A.nnz > _MIP_MAX_NNZ
        if method == "auto" and too_big and not _within(gap, mip_gap):
            logger.info(
                "skipping the full MILP: %d non-zeros is beyond what HiGHS solves in "
                "reasonable time; pass method='exact' to run it anyway",
                prob.A.nnz,
            )
        elif (method == "exact" or not _within(gap, mip_gap)) and clock.left() > 0.05:
            msel, mobj, out = _cov_mip(
                prob, sel, obj, lp, time_limit=clock.left(), mip_gap=mip_gap, seed=seed, clock=clock
            )
            if mobj > obj + tol:
                sel, obj, solver = msel, mobj, "highs-mip"
            if np.isfinite(out.bound):
                bound = min(bound, out.bound)
            bound = max(bound, obj)
            if out.status == "time_limit":
                clock.timed_out = True
            clock.note(obj, bound)
        elif not _within(gap, mip_gap):
            clock.timed_out = True
    status = _status(_gap(obj, bound), mip_gap, clock.timed_out)
    return _CovAnswer(np.sort(sel), obj, bound, status, solver)


def _cov_restrict(prob: _CovProblem, cols: np.ndarray) -> _CovProblem:
    """The covering problem over candidate columns ``cols`` only (rows merged again)."""
    sub = prob.A[:, cols]
    keep = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sub[keep]
    sub.sort_indices()
    merged, mw = _merge_rows(sub, prob.w[keep])
    sites, site = np.unique(prob.site[cols], return_inverse=True)
    return _CovProblem(
        merged,
        mw,
        prob.costs[cols],
        prob.label[cols],
        prob.limit,
        site.astype(np.int32),
        int(sites.size),
        prob.budget,
        prob.has_costs,
    )


def _cov_mip(
    prob: _CovProblem,
    sel: np.ndarray,
    obj: float,
    lp: _HighsOut | None,
    *,
    time_limit: float,
    mip_gap: float,
    seed: int,
    clock: _Clock,
    restricted: bool = False,
) -> tuple[np.ndarray, float, _MipOut]:
    """HiGHS MILP of a covering problem warm-started with ``sel`` (reduced-cost fixing from
    ``lp`` when given). Returns the better of ``sel`` and the MILP answer, and the run.
    ``restricted``: a sub-problem, whose MIP bound is no bound of the whole problem."""
    n_cols = prob.A.shape[1]
    model, multi, _ = _cov_model(prob, integer=True)
    start = np.zeros(model.c.size)
    start[sel] = 1.0
    if lp is not None and lp.reduced is not None and np.isfinite(lp.bound):
        fix0, fix1 = _fix_by_reduced_cost(
            lp.reduced[:n_cols], lp.bound, obj, start[:n_cols] > 0.5, True
        )
        model.col_ub[:n_cols][fix0] = 0.0
        lb = np.zeros(model.c.size)
        lb[:n_cols][fix1] = 1.0
        model.col_lb = lb
        logger.debug(
            "reduced-cost fixing: %d sites out, %d in, of %d",
            int(fix0.sum()),
            int(fix1.sum()),
            n_cols,
        )
    if multi.size:
        start[n_cols:] = ((prob.A[multi] @ start[:n_cols]) > 0).astype(np.float64)
    out = _solve_mip(
        model,
        time_limit=time_limit,
        mip_gap=mip_gap,
        seed=seed,
        start=start,
        n_keep=n_cols,
        evaluate=lambda x: _cov_evaluate(prob, x),
        larger_is_better=True,
        clock=clock,
        to_bound=(lambda b: math.nan) if restricted else float,
    )
    if out.x is not None and out.value > obj + 1e-9 * max(1.0, obj):
        return np.flatnonzero(out.x > 0.5), out.value, out
    return sel, obj, out


def _cov_evaluate(prob: _CovProblem, x: np.ndarray) -> float | None:
    """Covered weight of a MILP solution, or None if it breaks a constraint."""
    sel = np.flatnonzero(x > 0.5)
    if np.isinf(prob.costs[sel]).any() or np.unique(prob.site[sel]).size != sel.size:
        return None
    if (np.bincount(prob.label[sel], minlength=prob.limit.size) > prob.limit).any():
        return None
    if prob.has_costs and prob.costs[sel].sum() > prob.budget * (1 + 1e-9) + 1e-9:
        return None
    return _cov_objective(prob, sel)


# --------------------------------------------------------------------------------------------
# Capacitated engine (maximal covering and p-median)
# --------------------------------------------------------------------------------------------


@dataclass
class _CapProblem:
    """max sum_q w_i ben_q z_q over assignment pairs q = (i, j), capacities per column."""

    n_rows: int
    n_cols: int
    pr_row: np.ndarray  # sorted in assignment order
    pr_col: np.ndarray
    pr_ben: np.ndarray
    w: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    budget: float
    p: int
    ub_gain: np.ndarray


def _cap_model(cp: _CapProblem, *, integer: bool, capacitated: bool = True) -> _Model:
    """max sum_q w_i ben_q z_q
    s.t. sum_{q in row i} z_q <= 1;  z_q - x_j <= 0;  sum_{q in col j} w_i z_q - cap_j x_j <= 0;
         sum_j x_j <= p;  sum_j c_j x_j <= budget;  0 <= x, z <= 1, x integer."""
    P = cp.pr_row.size
    nc = cp.n_cols
    zcol = nc + np.arange(P)
    blocks = [
        sp.csr_array((np.ones(P), (cp.pr_row, zcol)), shape=(cp.n_rows, nc + P)),
        sp.csr_array(
            (
                np.concatenate([np.ones(P), -np.ones(P)]),
                (np.concatenate([np.arange(P), np.arange(P)]), np.concatenate([zcol, cp.pr_col])),
            ),
            shape=(P, nc + P),
        ),
    ]
    lo = [np.full(cp.n_rows, -_INF), np.full(P, -_INF)]
    up = [np.ones(cp.n_rows), np.zeros(P)]
    if capacitated:
        fin = np.flatnonzero(np.isfinite(cp.caps))
        rank = np.full(nc, -1, dtype=np.int64)
        rank[fin] = np.arange(fin.size)
        qf = np.flatnonzero(rank[cp.pr_col] >= 0)
        blocks.append(
            sp.csr_array(
                (
                    np.concatenate([cp.w[cp.pr_row[qf]], -cp.caps[fin]]),
                    (
                        np.concatenate([rank[cp.pr_col[qf]], np.arange(fin.size)]),
                        np.concatenate([zcol[qf], fin]),
                    ),
                ),
                shape=(fin.size, nc + P),
            )
        )
        lo.append(np.full(fin.size, -_INF))
        up.append(np.zeros(fin.size))
    blocks.append(sp.csr_array(np.concatenate([np.ones(nc), np.zeros(P)])[None, :]))
    lo.append(np.array([-_INF]))
    up.append(np.array([float(cp.p)]))
    if np.isfinite(cp.budget):
        blocks.append(
            sp.csr_array(
                np.concatenate([np.where(np.isfinite(cp.costs), cp.costs, 0.0), np.zeros(P)])[
                    None, :
                ]
            )
        )
        lo.append(np.array([-_INF]))
        up.append(np.array([float(cp.budget)]))
    M = sp.csr_array(sp.vstack(blocks, format="csr"))
    col_ub = np.ones(nc + P)
    col_ub[:nc][np.isinf(cp.costs)] = 0.0
    c = np.concatenate([np.zeros(nc), cp.w[cp.pr_row] * cp.pr_ben])
    return _Model(
        M,
        np.concatenate(lo),
        np.concatenate(up),
        c,
        col_ub,
        True,
        np.concatenate([np.full(nc, integer), np.zeros(P, dtype=bool)]),
    )


def _transport(cp: _CapProblem, selected: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    """Optimal split assignment of demand to the selected sites under capacities (an LP)."""
    loads = np.zeros(cp.n_cols)
    is_sel = np.zeros(cp.n_cols, dtype=bool)
    is_sel[selected] = True
    greedy_v = float(_cap_assign(cp.pr_row, cp.pr_col, cp.pr_ben, cp.w, cp.caps, is_sel, loads))
    greedy_loads = loads.copy()
    q = np.flatnonzero(is_sel[cp.pr_col])
    if q.size == 0:
        return 0.0, loads
    sub = _CapProblem(
        cp.n_rows,
        cp.n_cols,
        cp.pr_row[q],
        cp.pr_col[q],
        cp.pr_ben[q],
        cp.w,
        cp.caps,
        np.zeros(cp.n_cols),
        _INF,
        cp.n_cols,
        cp.ub_gain,
    )
    model = _cap_model(sub, integer=False)
    model.col_ub[: cp.n_cols] = is_sel.astype(np.float64)
    h = _highs_setup(model, mip=False, time_limit=60.0, mip_gap=0.0, seed=seed, ipm=False)
    h.run()
    sol = h.getSolution()
    if _status_of(h) != "optimal" or not sol.value_valid:
        return greedy_v, greedy_loads
    z = np.clip(np.asarray(sol.col_value)[cp.n_cols :], 0.0, 1.0)
    amount = z * cp.w[sub.pr_row]
    # repair tiny capacity / demand overshoots from LP tolerances
    loads = np.bincount(sub.pr_col, weights=amount, minlength=cp.n_cols)
    scale = np.ones(cp.n_cols)
    over = loads > cp.caps
    scale[over] = cp.caps[over] / loads[over]
    amount = amount * scale[sub.pr_col]
    rowsum = np.bincount(sub.pr_row, weights=amount, minlength=cp.n_rows)
    rs = np.ones(cp.n_rows)
    big = rowsum > cp.w
    rs[big] = cp.w[big] / rowsum[big]
    amount = amount * rs[sub.pr_row]
    value = float(np.dot(amount, sub.pr_ben))
    loads = np.bincount(sub.pr_col, weights=amount, minlength=cp.n_cols)
    if value < greedy_v:
        return greedy_v, greedy_loads
    return value, loads


def _cap_solve(
    cp: _CapProblem,
    *,
    method: str,
    mip_gap: float,
    seed: int,
    clock: _Clock,
    report: _Report = _Report(),
) -> tuple[np.ndarray, float, float, np.ndarray, str, str]:
    """Returns selected, value (benefit), bound on value, loads per column, status, solver.

    ``report`` maps the benefit to the objective the caller reports; the gap, the decision to
    run the MILP and the status are taken on that objective."""
    tol = 1e-12 * max(1.0, float(cp.w.sum()))
    costs = cp.costs
    budget = cp.budget if np.isfinite(cp.budget) else 1e300
    sel, val = _cap_greedy(
        cp.pr_row, cp.pr_col, cp.pr_ben, cp.w, cp.caps, costs, float(budget), cp.p, cp.ub_gain, tol
    )
    clock.note(val)
    clock.stage("greedy", 0.15)
    solver = "greedy"
    if method != "greedy" and sel.size:
        is_sel = np.zeros(cp.n_cols, dtype=bool)
        is_sel[sel] = True
        sel_list = np.zeros(cp.n_cols, dtype=np.int64)
        sel_list[: sel.size] = sel
        istate = np.array([sel.size], dtype=np.int64)
        fstate = np.array([val, float(np.where(np.isfinite(costs[sel]), costs[sel], 0).sum())])
        loads = np.zeros(cp.n_cols)
        useful = np.flatnonzero((cp.ub_gain > tol) & np.isfinite(costs))
        order = useful[np.argsort(-cp.ub_gain[useful], kind="stable")].astype(np.int64)

        def kernel(a: int, b: int) -> int:
            return int(
                _cap_swap_chunk(
                    cp.pr_row,
                    cp.pr_col,
                    cp.pr_ben,
                    cp.w,
                    cp.caps,
                    costs,
                    float(budget),
                    cp.p,
                    order,
                    a,
                    b,
                    is_sel,
                    sel_list,
                    istate,
                    fstate,
                    loads,
                    tol,
                )
            )

        _local_search(kernel, order.size, clock, _swap_cap(clock))
        sel = np.sort(sel_list[: istate[0]])
        solver = "greedy+swap"
    val, loads = _transport(cp, sel, seed)
    clock.note(val)
    clock.stage("bound", 0.35)
    model = _cap_model(cp, integer=False)
    lp = _solve_lp(model, time_limit=max(clock.left(), 0.05), seed=seed)
    if np.isfinite(lp.bound):
        bound = lp.bound
    else:  # trivial bound: every demand unit gets its best pair
        rowmax = np.zeros(cp.n_rows)
        np.maximum.at(rowmax, cp.pr_row, cp.pr_ben)
        bound = float(np.dot(cp.w, rowmax))
    if lp.status == "time_limit" and not np.isfinite(lp.bound):
        clock.timed_out = True
    bound = max(bound, val)
    clock.note(val, bound)
    clock.stage("bound", 0.5)
    if method == "exact" or (method == "auto" and not _within(report.gap(val, bound), mip_gap)):
        model = _cap_model(cp, integer=True)

        def evaluate(x: np.ndarray) -> float | None:
            msel = np.flatnonzero(x > 0.5)
            if msel.size > cp.p or np.isinf(costs[msel]).any():
                return None
            if np.isfinite(cp.budget) and costs[msel].sum() > cp.budget * (1 + 1e-9) + 1e-9:
                return None
            return _transport(cp, msel, seed)[0]

        rounds = 0
        while clock.left() > 0.05:
            start = np.zeros(model.c.size)
            start[sel] = 1.0
            rel, abs_gap = report.highs_gaps(mip_gap, val, bound)
            # a further round asks for more than HiGHS's own figures showed last time
            out = _solve_mip(
                model,
                time_limit=clock.left(),
                mip_gap=rel * 0.5**rounds,
                seed=seed,
                start=start,
                n_keep=cp.n_cols,
                evaluate=evaluate,
                larger_is_better=True,
                clock=clock,
                abs_gap=abs_gap * 0.5**rounds,
            )
            rounds += 1
            if out.x is not None and out.value > val + 1e-9 * max(1.0, val):
                sel = np.flatnonzero(out.x > 0.5)
                val, loads = _transport(cp, sel, seed)
                solver = "highs-mip"
            if np.isfinite(out.bound):
                bound = min(bound, out.bound)
            bound = max(bound, val)
            clock.note(val, bound)
            if out.status == "time_limit":
                clock.timed_out = True
            if _within(report.gap(val, bound), mip_gap) or out.status != "optimal" or rounds >= 3:
                break
        else:  # out of time before the gap on the reported objective was closed
            clock.timed_out = True
    status = _status(report.gap(val, bound), mip_gap, clock.timed_out)
    return np.sort(sel), val, bound, loads, status, solver


# --------------------------------------------------------------------------------------------
# Public: maximal covering
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


def solve_max_coverage(
    cover: Any,
    weights: Any,
    *,
    p: int | None = None,
    budget: float | None = None,
    costs: Any = None,
    covered_by_existing: Any = None,
    capacities: Any = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    mip_gap: float = 0.005,
    seed: int = 0,
    bound: str = "auto",
    progress: ProgressCallback | None = None,
) -> Solution:
    """Choose new sites that cover the most residents (maximal covering location, MCLP).

    Maximise the weight of demand units within reach of at least one new site, given at most
    ``p`` new sites and/or a total ``budget`` on their ``costs``. Demand already covered by
    existing facilities and demand units no candidate reaches are dropped first, and demand
    units with identical covering sets are merged.

    Formulation (``x_j`` open site, ``y_i`` demand covered)::

        max  sum_i w_i y_i
        s.t. y_i <= sum_{j covers i} x_j,   sum_j x_j <= p,   sum_j c_j x_j <= budget,
             x binary, 0 <= y <= 1

    With ``capacities``, ``y`` is replaced by assignment variables ``z_ij`` (share of unit
    ``i`` served by site ``j``): ``sum_j z_ij <= 1``, ``z_ij <= x_j`` and
    ``sum_i w_i z_ij <= capacity_j x_j``; a demand unit may be split between sites. The
    heuristic assigns demand to selected sites with spare capacity (units with the fewest
    choices first), and the final answer is re-assigned optimally by a transportation LP;
    ``loads`` gives the residents each new site serves. Existing facilities keep the demand
    they cover, without capacity limits.

    Parameters
    ----------
    cover : scipy.sparse matrix
        ``n_demand x n_candidates`` coverage (non-zero: candidate ``j`` is within the time
        threshold of demand unit ``i``). CSR is used as is; other formats are converted.
    weights : array of float
        Residents of each demand unit (>= 0).
    p : int, optional
        Most new sites. Sites that would cover nobody new are not proposed, so fewer may be
        returned.
    budget : float, optional
        Most total cost of the new sites (with ``costs``; without them each site costs 1).
    costs : array of float, optional
        Cost of each candidate (>= 0; ``inf`` forbids a candidate).
    covered_by_existing : array of bool, optional
        Demand units already within reach of a kept existing facility.
    capacities : array of float, optional
        Residents each candidate could serve (``inf`` = unlimited), e.g. staff x 1,000 / 1.5
        from the staffing ratio of 1-1.5 staff per 1,000 residents.
    method : {"auto", "greedy", "heuristic", "exact"}
        ``"greedy"``: greedy only; ``"heuristic"``: greedy, swap and iterated local search.
        Both come with a certified bound. ``"auto"``: the heuristic, then, if the gap exceeds
        ``mip_gap``, the MILP restricted to the candidates the LP uses, then the full HiGHS
        MILP warm-started with the best answer (skipped above 2 million non-zeros, where HiGHS
        makes no progress in useful time). ``"exact"`` always runs the full MILP.
    time_limit_s : float
        Wall-time limit of the whole call.
    mip_gap : float
        Relative gap (on ``objective``, see :class:`Solution`) accepted as optimal.
    seed : int
        Seed of the local search order, its random kicks and HiGHS; answers are deterministic
        for a seed unless a time limit (or the local search's own cap of 30 % of the time
        left) cuts the search short.
    bound : {"auto", "lp", "lagrangian"}
        How to bound heuristic answers: the LP relaxation (HiGHS interior point for large
        models), or a Lagrangian relaxation (cheaper, slightly weaker; ``"auto"`` uses it
        for relaxations with more than 2 million non-zeros).
    progress : callable, optional
        ``progress(stage, fraction)`` is called as the solve advances.

    Returns
    -------
    Solution
        ``objective`` is the weight newly covered; ``covered_weight_after`` adds the weight
        covered by existing facilities.

    Raises
    ------
    OptimizationError
        Shapes that do not match, negative or NaN weights / costs / capacities, negative
        budget, ``p`` < 1 or larger than the number of candidates, no candidates.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], bool))
    >>> sol = solve_max_coverage(cover, [10, 20, 30, 5], p=1)
    >>> sol.selected.tolist(), sol.objective, sol.status
    ([1], 50.0, 'optimal')
    """
    where = "solve_max_coverage"
    clock = _Clock(time_limit_s, progress)
    A, probs, w, ex = _check_cover_inputs(where, cover, weights, covered_by_existing)
    n_rows, n_cols = A.shape
    c = _check_vector(
        costs, n_cols, name="costs", what="candidate (column of cover)", probs=probs, allow_inf=True
    )
    caps = _check_vector(
        capacities,
        n_cols,
        name="capacities",
        what="candidate (column of cover)",
        probs=probs,
        allow_inf=True,
    )
    pp = _check_p(p, n_cols, probs)
    if p is None and budget is None:
        probs.add("neither p nor budget is given", "pass p= (number of new sites) or budget=")
    _check_budget(budget, probs)
    if costs is not None and budget is None:
        logger.debug("costs given without budget: only infinite costs (forbidden sites) matter")
    _check_bound(bound, probs)
    _check_method(method, probs)
    _check_limits(time_limit_s, mip_gap, probs)
    _check_cover_nonempty(A, probs)
    probs.raise_if_any()
    assert w is not None
    clock.stage("prepare", 0.0)

    deg = np.diff(A.indptr)
    before = float(w[ex].sum())
    uncoverable = np.flatnonzero(~ex & (deg == 0) & (w > 0))
    active = np.flatnonzero(~ex & (deg > 0) & (w > 0))
    M, mw = _merge_rows(A[active], w[active])
    has_costs = budget is not None
    cost_arr = c if c is not None else np.ones(n_cols)
    bud = float(budget) if budget is not None else _INF
    limit_p = pp if pp is not None else _NO_LIMIT
    logger.debug(
        "%s: %d demand units -> %d active -> %d merged rows; %d candidates",
        where,
        n_rows,
        active.size,
        M.shape[0],
        n_cols,
    )

    if caps is not None:
        pr_row, pr_col, pr_ben, ub = _cap_pairs_cover(M, mw, caps)
        cp = _CapProblem(
            M.shape[0],
            n_cols,
            pr_row,
            pr_col,
            pr_ben,
            mw,
            caps,
            cost_arr if has_costs else np.where(np.isinf(cost_arr), _INF, 0.0),
            bud,
            int(min(limit_p, n_cols)),
            ub,
        )
        sel, val, bnd, loads, status, solver = _cap_solve(
            cp, method=method, mip_gap=mip_gap, seed=seed, clock=clock
        )
        return _finish(
            "max_coverage",
            clock,
            selected=sel,
            objective=val,
            bound=bnd,
            status=status,
            solver=solver,
            before=before,
            after=before + val,
            uncoverable=uncoverable,
            loads=loads[sel],
        )

    prob = _CovProblem(
        A=M,
        w=mw,
        costs=cost_arr if has_costs else np.where(np.isinf(cost_arr), _INF, 1.0),
        label=np.zeros(n_cols, dtype=np.int32),
        limit=np.array([limit_p], dtype=np.int64),
        site=np.arange(n_cols, dtype=np.int32),
        n_sites=n_cols,
        budget=bud,
        has_costs=has_costs,
    )
    ans = _cov_solve(
        prob, method=method, mip_gap=mip_gap, seed=seed, clock=clock, bound_method=bound
    )
    return _finish(
        "max_coverage",
        clock,
        selected=ans.selected,
        objective=ans.objective,
        bound=ans.bound,
        status=ans.status,
        solver=ans.solver,
        before=before,
        after=before + ans.objective,
        uncoverable=uncoverable,
    )


def _cap_pairs_cover(
    M: sp.csr_array, w: np.ndarray, caps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Assignment pairs of a capacitated MCLP, demand with the fewest choices first."""
    deg = np.diff(M.indptr)
    rows = np.repeat(np.arange(M.shape[0]), deg)
    cols = M.indices.astype(np.int64)
    order = np.lexsort((cols, rows, deg[rows]))
    pr_row = np.ascontiguousarray(rows[order], dtype=np.int64)
    pr_col = np.ascontiguousarray(cols[order], dtype=np.int64)
    ben = np.ones(pr_row.size)
    colsum = np.bincount(cols, weights=w[rows], minlength=M.shape[1])
    return pr_row, pr_col, ben, np.minimum(colsum, caps)


# --------------------------------------------------------------------------------------------
# Public: set cover
# --------------------------------------------------------------------------------------------


def solve_set_cover(
    cover: Any,
    weights: Any,
    *,
    target_share: float = 1.0,
    costs: Any = None,
    covered_by_existing: Any = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    mip_gap: float = 0.005,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> Solution:
    """Fewest (or cheapest) new sites reaching every coverable resident (set covering, LSCP).

    With ``target_share=1`` every demand unit (weight > 0) that some candidate reaches is
    covered; units no candidate reaches are listed in ``Solution.uncoverable`` and the rest is
    solved, rather than failing. With ``target_share < 1`` the sites must bring the covered
    share of the total weight (existing coverage included) to ``target_share``.

    Formulation::

        min  sum_j c_j x_j
        s.t. sum_{j covers i} x_j >= 1         for every coverable unit  (target_share = 1)
        or   y_i <= sum_{j covers i} x_j,  sum_i w_i y_i >= need,  0 <= y <= 1   (partial)

    The heuristic is a cost-effectiveness greedy, redundant-site removal and iterated greedy
    (drop a random fifth of the sites, refill); the LP relaxation gives the lower bound
    (rounded up when all costs are whole numbers).

    Parameters
    ----------
    cover : scipy.sparse matrix
        ``n_demand x n_candidates`` coverage.
    weights : array of float
        Residents of each demand unit.
    target_share : float
        Share of the total weight to have covered, in (0, 1].
    costs : array of float, optional
        Cost of each candidate (>= 0, ``inf`` forbids it); without costs the number of sites
        is minimised.
    covered_by_existing : array of bool, optional
        Demand already within reach of an existing facility.
    method, time_limit_s, mip_gap, seed, progress
        As in :func:`solve_max_coverage`.

    Returns
    -------
    Solution
        ``objective`` is the number of sites or their total cost.

    Raises
    ------
    InfeasibleError
        ``target_share`` < 1 cannot be reached even with every candidate (the message gives
        the best reachable share).
    OptimizationError
        Shapes, negative values, no candidates, ``target_share`` outside (0, 1].

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]], bool))
    >>> sol = solve_set_cover(cover, [10, 20, 30, 5])
    >>> sol.selected.tolist(), sol.objective, sol.uncoverable.tolist()
    ([0, 1], 2.0, [3])
    """
    where = "solve_set_cover"
    clock = _Clock(time_limit_s, progress)
    A, probs, w, ex = _check_cover_inputs(where, cover, weights, covered_by_existing)
    n_rows, n_cols = A.shape
    c = _check_vector(
        costs, n_cols, name="costs", what="candidate (column of cover)", probs=probs, allow_inf=True
    )
    if not (_is_number(target_share) and 0 < target_share <= 1):
        probs.add(
            f"target_share={target_share!r} must be in (0, 1]",
            "pass the share of residents to cover, e.g. 0.95",
        )
    _check_method(method, probs)
    _check_limits(time_limit_s, mip_gap, probs)
    _check_cover_nonempty(A, probs)
    probs.raise_if_any()
    assert w is not None
    clock.stage("prepare", 0.0)

    cost_arr = c if c is not None else np.ones(n_cols)
    allowed = np.isfinite(cost_arr)
    A_ok = A
    if not allowed.all():  # forbidden candidates cover nobody
        A_ok = sp.csr_array((A @ sp.diags_array(allowed.astype(np.float64))) != 0)
        A_ok.sort_indices()
    deg = np.diff(A_ok.indptr)
    total = float(w.sum())
    before = float(w[ex].sum())
    uncoverable = np.flatnonzero(~ex & (deg == 0) & (w > 0))
    active = np.flatnonzero(~ex & (deg > 0) & (w > 0))
    reachable = before + float(w[active].sum())
    full = target_share >= 1.0
    if full:
        need = float(w[active].sum())
    else:
        need_total = target_share * total
        if need_total > reachable * (1 + 1e-12) + 1e-9:
            best_share = reachable / total if total > 0 else 0.0
            raise InfeasibleError(
                f"{where}: target_share={target_share:g} cannot be reached: even with every "
                f"candidate the covered share is {best_share:.4f} ({best_share:.2%}). Fix: lower "
                f"target_share to at most {math.floor(best_share * 1e4) / 1e4:g}, raise the time "
                "threshold or add candidate sites."
            )
        need = max(0.0, need_total - before)
    sub = A_ok[active]
    M, mw = _merge_rows(sub, w[active])
    if full:
        val = np.ones(M.shape[0])
        need_v = float(M.shape[0])
    else:
        val = mw
        need_v = need
    if M.shape[0] == 0 or need_v <= 1e-12:
        clock.note(0.0, 0.0)
        return _finish(
            "set_cover",
            clock,
            selected=_EMPTY_INT,
            objective=0.0,
            bound=0.0,
            status="optimal",
            solver="none",
            before=before,
            after=before,
            uncoverable=uncoverable,
        )
    sel, obj, bnd, status, solver = _setcover_solve(
        M, val, cost_arr, need_v, full, method=method, mip_gap=mip_gap, seed=seed, clock=clock
    )
    hit = np.zeros(n_cols, dtype=bool)
    hit[sel] = True
    cov_rows = (sub @ hit.astype(np.float64)) > 0
    after = before + float(w[active][cov_rows].sum())
    return _finish(
        "set_cover",
        clock,
        selected=sel,
        objective=obj,
        bound=bnd,
        status=status,
        solver=solver,
        before=before,
        after=after,
        uncoverable=uncoverable,
    )


def _setcover_model(
    M: sp.csr_array, val: np.ndarray, costs: np.ndarray, need: float, full: bool, *, integer: bool
) -> _Model:
    n_rows, n_cols = M.shape
    cost = np.where(np.isfinite(costs), costs, 0.0)
    col_ub_x = np.isfinite(costs).astype(np.float64)
    if full:
        return _Model(
            sp.csr_array(M, dtype=np.float64),
            np.ones(n_rows),
            np.full(n_rows, _INF),
            cost,
            col_ub_x,
            False,
            np.full(n_cols, integer),
        )
    top = sp.hstack(
        [-sp.csr_array(M, dtype=np.float64), sp.identity(n_rows, format="csr")], format="csr"
    )
    last = sp.csr_array(np.concatenate([np.zeros(n_cols), val])[None, :])
    A = sp.csr_array(sp.vstack([top, last], format="csr"))
    return _Model(
        A,
        np.concatenate([np.full(n_rows, -_INF), [need]]),
        np.concatenate([np.zeros(n_rows), [_INF]]),
        np.concatenate([cost, np.zeros(n_rows)]),
        np.concatenate([col_ub_x, np.ones(n_rows)]),
        False,
        np.concatenate([np.full(n_cols, integer), np.zeros(n_rows, dtype=bool)]),
    )


def _setcover_build(
    structs: tuple, val: np.ndarray, costs: np.ndarray, need: float, init: np.ndarray
) -> np.ndarray:
    """Complete ``init`` by cost-effectiveness greedy until ``need`` is covered, then drop
    redundant sites (most expensive first)."""
    r_ptr, r_idx, c_ptr, c_idx = structs
    n_cols = c_ptr.size - 1
    tol = 1e-9 * max(1.0, float(val.sum()))
    kcost = np.where(np.isfinite(costs), costs, _INF)
    lim = np.array([_NO_LIMIT], dtype=np.int64)
    sel, _ = _cov_greedy(
        r_ptr,
        r_idx,
        c_ptr,
        c_idx,
        val,
        kcost,
        np.zeros(n_cols, np.int32),
        lim,
        np.arange(n_cols, dtype=np.int32),
        n_cols,
        1e300,
        True,
        need - tol,
        np.asarray(init, dtype=np.int64),
        tol * 1e-3,
    )
    is_sel = np.zeros(n_cols, dtype=bool)
    is_sel[sel] = True
    cnt, _, _, obj = _cov_state(r_ptr, r_idx, is_sel, val, n_cols)
    sizes = np.diff(c_ptr)[sel]
    desc = sel[np.lexsort((sizes, -kcost[sel]))]
    keep, _ = _drop_redundant(c_ptr, c_idx, val, cnt, desc.astype(np.int64), need, obj, tol)
    return np.sort(desc[keep])


def _setcover_heuristic(
    structs: tuple,
    val: np.ndarray,
    costs: np.ndarray,
    need: float,
    *,
    improve: bool,
    seed: int,
    clock: _Clock,
    rounds: int = 60,
) -> tuple[np.ndarray, float]:
    """Greedy + redundancy removal, then iterated greedy: drop a random fifth of the sites and
    complete again, keeping the result when it is not worse."""
    kcost = np.where(np.isfinite(costs), costs, _INF)

    def build(init: np.ndarray) -> np.ndarray:
        return _setcover_build(structs, val, costs, need, init)

    best = build(_EMPTY_INT)
    best_cost = float(kcost[best].sum())
    clock.note(best_cost)
    if improve and best.size > 1:
        rng = np.random.default_rng(seed)
        deadline = min(clock.deadline, time.perf_counter() + _swap_cap(clock))
        for _ in range(rounds):
            if time.perf_counter() > deadline:
                break
            k = max(1, best.size // 5)
            keep = np.sort(rng.choice(best, size=best.size - k, replace=False)).astype(np.int64)
            cand = build(keep)
            cc = float(kcost[cand].sum())
            if cc <= best_cost + 1e-12:
                if cc < best_cost - 1e-12:
                    clock.note(cc)
                best, best_cost = cand, cc
    return best, best_cost


def _setcover_solve(
    M: sp.csr_array,
    val: np.ndarray,
    costs: np.ndarray,
    need: float,
    full: bool,
    *,
    method: str,
    mip_gap: float,
    seed: int,
    clock: _Clock,
) -> tuple[np.ndarray, float, float, str, str]:
    structs = _cov_structs(M)
    sel, obj = _setcover_heuristic(
        structs, val, costs, need, improve=method != "greedy", seed=seed, clock=clock
    )
    solver = "greedy" if method == "greedy" else "greedy+swap"
    clock.stage("bound", 0.35)
    model = _setcover_model(M, val, costs, need, full, integer=False)
    lp = _solve_lp(model, time_limit=max(clock.left(), 0.05), seed=seed)
    fin = costs[np.isfinite(costs)]
    integral = bool(np.all(np.abs(fin - np.round(fin)) < 1e-9))

    def round_bound(b: float) -> float:
        if integral and np.isfinite(b):
            return float(math.ceil(b - 1e-6 * max(1.0, abs(b))))
        return b

    bound = round_bound(lp.bound) if np.isfinite(lp.bound) else 0.0
    if lp.status == "time_limit" and not np.isfinite(lp.bound):
        clock.timed_out = True
    if lp.x is not None and method != "greedy":
        # LP-guided starts: keep the sites the relaxation likes, complete greedily
        xl = lp.x[: M.shape[1]]
        for theta in (0.9, 0.7, 0.5, 0.3, 0.1):
            cand = _setcover_build(structs, val, costs, need, np.flatnonzero(xl >= theta))
            cc = float(costs[cand].sum())
            if cc < obj - 1e-12:
                sel, obj = cand, cc
                clock.note(obj)
    bound = min(bound, obj)
    clock.note(obj, bound)
    clock.stage("bound", 0.5)
    if method == "exact" or (method == "auto" and not _within(_gap(obj, bound), mip_gap)):
        n_cols = M.shape[1]
        # 1. MILP restricted to the sites the LP uses and the heuristic's (still feasible)
        if lp.x is not None and clock.left() > 0.05:
            cols = np.union1d(np.flatnonzero(lp.x[:n_cols] > 1e-3), sel)
            if cols.size < 0.8 * n_cols:
                rsel, robj, rout = _setcover_mip(
                    sp.csr_array(M[:, cols]),
                    val,
                    costs[cols],
                    need,
                    full,
                    np.searchsorted(cols, sel),
                    obj,
                    time_limit=0.5 * clock.left(),
                    mip_gap=0.0,
                    seed=seed,
                    clock=clock,
                    to_bound=lambda b: math.nan,
                )
                logger.debug(
                    "LP-restricted set-cover MILP on %d of %d sites: %s, %.9g",
                    cols.size,
                    n_cols,
                    rout.status,
                    robj,
                )
                if robj < obj - 1e-9 * max(1.0, obj):
                    sel, obj, solver = cols[rsel], robj, "highs-mip (LP-restricted)"
                    clock.note(obj, bound)
        # 2. the full MILP
        too_big = M.nnz > _MIP_MAX_NNZ
        if method == "auto" and too_big and not _within(_gap(obj, bound), mip_gap):
            logger.info(
                "skipping the full MILP: %d non-zeros is beyond what HiGHS solves in "
                "reasonable time; pass method='exact' to run it anyway",
                M.nnz,
            )
        elif (method == "exact" or not _within(_gap(obj, bound), mip_gap)) and clock.left() > 0.05:
            sel, obj_new, out = _setcover_mip(
                M,
                val,
                costs,
                need,
                full,
                sel,
                obj,
                time_limit=clock.left(),
                mip_gap=mip_gap,
                seed=seed,
                clock=clock,
                to_bound=round_bound,
            )
            if obj_new < obj - 1e-9 * max(1.0, obj):
                obj, solver = obj_new, "highs-mip"
            if np.isfinite(out.bound):
                bound = max(bound, round_bound(out.bound))
            bound = min(bound, obj)
            if out.status == "time_limit":
                clock.timed_out = True
            clock.note(obj, bound)
        elif not _within(_gap(obj, bound), mip_gap):
            clock.timed_out = True
    status = _status(_gap(obj, bound), mip_gap, clock.timed_out)
    return np.sort(sel), obj, bound, status, solver


def _setcover_mip(
    M: sp.csr_array,
    val: np.ndarray,
    costs: np.ndarray,
    need: float,
    full: bool,
    sel: np.ndarray,
    obj: float,
    *,
    time_limit: float,
    mip_gap: float,
    seed: int,
    clock: _Clock,
    to_bound: Callable[[float], float],
) -> tuple[np.ndarray, float, _MipOut]:
    """Set-cover MILP warm-started with ``sel``; the better of ``sel`` and its answer."""
    n_cols = M.shape[1]
    model = _setcover_model(M, val, costs, need, full, integer=True)
    start = np.zeros(model.c.size)
    start[sel] = 1.0
    if not full:
        start[n_cols:] = ((M @ start[:n_cols]) > 0).astype(np.float64)

    def evaluate(x: np.ndarray) -> float | None:
        pick = x > 0.5
        if np.isinf(costs[pick]).any():
            return None
        covered_v = float(val[(M @ pick.astype(np.float64)) > 0].sum())
        if covered_v < need - 1e-9 * max(1.0, need):
            return None
        return float(costs[pick].sum())

    out = _solve_mip(
        model,
        time_limit=time_limit,
        mip_gap=mip_gap,
        seed=seed,
        start=start,
        n_keep=n_cols,
        evaluate=evaluate,
        larger_is_better=False,
        clock=clock,
        to_bound=to_bound,
    )
    if out.x is not None and out.value < obj - 1e-9 * max(1.0, obj):
        return np.flatnonzero(out.x > 0.5), out.value, out
    return sel, obj, out


# --------------------------------------------------------------------------------------------
# Public: p-median and p-center
# --------------------------------------------------------------------------------------------


@dataclass
class _TimeProblem:
    T: sp.csr_array  # merged active rows: times strictly below the row's base
    base: np.ndarray  # per merged row
    w: np.ndarray  # per merged row
    row_of: np.ndarray  # original active row -> merged row
    active: np.ndarray  # original rows in T (weight > 0 and something beats the base)
    base_all: np.ndarray  # per original row
    total_w: float
    uncoverable: np.ndarray
    thr: float
    w_all: np.ndarray
    existing: np.ndarray


def _prepare_times(
    where: str,
    time_s: Any,
    weights: Any,
    *,
    p: Any,
    existing_time_s: Any,
    penalty_s: Any,
    capacities: Any,
    method: str,
    time_limit_s: float,
    mip_gap: float,
    threshold_s: float,
    bound: str = "auto",
) -> tuple[_TimeProblem, int, np.ndarray | None]:
    T = _as_csr(time_s, name="time_s", where=where, pattern=False)
    n_rows, n_cols = T.shape
    probs = _Problems(where)
    w = _check_vector(
        weights,
        n_rows,
        name="weights",
        what="demand unit (row of time_s)",
        probs=probs,
        allow_none=False,
    )
    if T.nnz and (not np.all(np.isfinite(T.data)) or (T.data < 0).any()):
        probs.add(
            "time_s holds negative, NaN or infinite times",
            "store only finite times >= 0 (leave pairs beyond the cutoff out)",
        )
    ex = np.full(n_rows, _INF)
    if existing_time_s is not None:
        e = np.asarray(existing_time_s, dtype=np.float64).ravel()
        if e.size != n_rows:
            probs.add(
                f"existing_time_s has {e.size} values but time_s has {n_rows} rows (demand units)",
                "pass one time per demand unit (inf where none)",
            )
        elif np.isnan(e).any() or (e < 0).any():
            probs.add(
                "existing_time_s has negative or NaN values",
                "use inf for demand units no existing facility reaches",
            )
        else:
            ex = e
    caps = _check_vector(
        capacities,
        n_cols,
        name="capacities",
        what="candidate (column of time_s)",
        probs=probs,
        allow_inf=True,
    )
    pp = _check_p(p, n_cols, probs)
    if p is None:
        probs.add("p is required", "pass p= (number of new sites)")
    if penalty_s is not None and not (
        _is_number(penalty_s) and penalty_s > 0 and math.isfinite(penalty_s)
    ):
        probs.add(
            f"penalty_s={penalty_s!r} must be a positive finite number of seconds",
            "pass the time charged beyond the cutoff, e.g. the cutoff itself",
        )
    if not (_is_number(threshold_s) and threshold_s >= 0):
        probs.add(
            f"threshold_s={threshold_s!r} must be a number of seconds >= 0",
            "pass e.g. threshold_s=900 (15 minutes)",
        )
    _check_bound(bound, probs)
    _check_method(method, probs)
    _check_limits(time_limit_s, mip_gap, probs)
    if n_cols == 0:
        probs.add("time_s has no candidate columns", "generate candidate sites first")
    elif T.nnz == 0:
        probs.add(
            "no candidate is within the cutoff of any demand unit (time_s is empty)",
            "raise the cutoff or add candidate sites closer to the residents",
        )
    probs.raise_if_any()
    assert w is not None and pp is not None
    pen = float(penalty_s) if penalty_s is not None else float(T.data.max())
    base_all = np.minimum(ex, pen)
    # keep only entries that beat the base, and rows with weight
    rows = np.repeat(np.arange(n_rows), np.diff(T.indptr))
    keep = T.data < base_all[rows]
    T2 = sp.csr_array(
        (
            T.data[keep],
            T.indices[keep],
            np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=n_rows))]),
        ),
        shape=T.shape,
    )
    deg = np.diff(T2.indptr)
    active = np.flatnonzero((deg > 0) & (w > 0))
    uncoverable = np.flatnonzero((np.diff(T.indptr) == 0) & np.isinf(ex) & (w > 0))
    sub = T2[active]
    group, first = _group_rows(sub, values=True, key=base_all[active])
    Tm = sub[first]
    Tm.sort_indices()
    mw = np.bincount(group, weights=w[active], minlength=first.size)
    prob = _TimeProblem(
        Tm,
        base_all[active][first],
        mw,
        group,
        active,
        base_all,
        float(w.sum()),
        uncoverable,
        float(threshold_s),
        w,
        ex,
    )
    return prob, pp, caps


def _time_structs(tp: _TimeProblem) -> tuple:
    r_ptr, r_idx = _parts(tp.T)
    r_t = np.ascontiguousarray(tp.T.data, dtype=np.float64)
    TC = tp.T.tocsc()
    TC.sort_indices()
    c_ptr, c_idx = _parts(TC)
    c_t = np.ascontiguousarray(TC.data, dtype=np.float64)
    return r_ptr, r_idx, r_t, c_ptr, c_idx, c_t


def _final_times(
    tp: _TimeProblem, selected: np.ndarray, n_cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Time of every original demand unit to its nearest facility, and that facility (-1 for
    existing / penalty)."""
    r_ptr, r_idx = _parts(tp.T)
    is_sel = np.zeros(n_cols, dtype=bool)
    is_sel[selected] = True
    d1, f1, _, _, _, _ = _pm_state(
        r_ptr, r_idx, np.ascontiguousarray(tp.T.data, np.float64), is_sel, tp.base, tp.w, n_cols
    )
    t_all = tp.base_all.copy()
    f_all = np.full(t_all.size, -1, dtype=np.int64)
    t_all[tp.active] = d1[tp.row_of]
    f_all[tp.active] = f1[tp.row_of]
    return t_all, f_all


def _covered(tp: _TimeProblem, times: np.ndarray) -> float:
    return float(tp.w_all[times <= tp.thr].sum())


def _pm_lagrangian(
    tp: _TimeProblem,
    p: int,
    lower: float,
    start_lam: np.ndarray,
    clock: _Clock,
    *,
    iters: int = 1000,
    cap_s: float = 20.0,
) -> float:
    """Upper bound on the p-median savings by subgradient optimisation of :func:`_pm_lagr_step`
    (every multiplier vector gives a valid bound; the best one seen is returned). Starts from
    the heuristic's savings per row; Polyak steps towards the heuristic value."""
    TC = tp.T.tocsc()
    TC.sort_indices()
    c_ptr, c_idx = _parts(TC)
    rows = c_idx.astype(np.int64)
    c_a = np.ascontiguousarray(tp.w[rows] * (tp.base[rows] - TC.data))
    best_row = np.zeros(tp.T.shape[0])
    np.maximum.at(best_row, rows, c_a)
    counts = np.zeros(tp.T.shape[0], dtype=np.int64)
    best = float(best_row.sum())  # everyone at their best candidate: valid for any p
    deadline = min(clock.deadline, time.perf_counter() + cap_s)
    lam = np.minimum(start_lam, best_row)
    theta, since, run_best = 2.0, 0, _INF
    for _ in range(iters):
        L = float(_pm_lagr_step(c_ptr, c_idx, c_a, lam, p, counts))
        if L < run_best - 1e-12 * max(1.0, abs(L)):
            run_best, since = L, 0
        else:
            since += 1
            if since >= 30:
                theta, since = theta * 0.5, 0
        best = min(best, L)
        g = 1.0 - counts
        g[(lam <= 0) & (g > 0)] = 0.0
        nrm = float(np.square(g).sum())  # not BLAS: its threads stall under CPU contention
        if nrm <= 0 or theta < 1e-3 or time.perf_counter() > deadline:
            break
        step = theta * max(L - lower, 1e-9 * max(1.0, L)) / nrm
        lam = np.maximum(lam - step * g, 0.0)
    return best


def solve_p_median(
    time_s: Any,
    weights: Any,
    *,
    p: int,
    existing_time_s: Any = None,
    penalty_s: float | None = None,
    capacities: Any = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    mip_gap: float = 0.005,
    seed: int = 0,
    threshold_s: float = 900.0,
    bound: str = "auto",
    progress: ProgressCallback | None = None,
) -> Solution:
    """Choose ``p`` new sites minimising the population-weighted mean travel time (p-median).

    Each demand unit goes to its nearest facility, existing or new. A pair missing from
    ``time_s`` is beyond the search cutoff and costs ``penalty_s``, so a demand unit's time is
    ``min(existing_time_s, penalty_s, time to the nearest new site)``.

    Formulation (savings form; ``b_i = min(existing_time_s_i, penalty_s)``, pairs with
    ``t_ij < b_i`` only)::

        max  sum_ij w_i (b_i - t_ij) z_ij
        s.t. sum_j z_ij <= 1,  z_ij <= x_j,  sum_j x_j <= p,  x binary, z >= 0

    and objective = (sum_i w_i b_i - savings) / sum_i w_i. With ``capacities``, also
    ``sum_i w_i z_ij <= capacity_j x_j``: demand is assigned to the nearest site with spare
    capacity (the heuristic walks pairs nearest first; the final answer is re-assigned by a
    transportation LP), a demand unit may be split between sites, and existing facilities
    take any overflow without limit. The heuristic is lazy greedy plus fast interchange
    (Whitaker / Resende-Werneck); the LP relaxation gives the lower bound.

    Parameters
    ----------
    time_s : scipy.sparse matrix
        ``n_demand x n_candidates`` travel times in seconds within a cutoff (stored zeros are
        real zero times).
    weights : array of float
        Residents of each demand unit.
    p : int
        Most new sites (fewer when more would not shorten any trip).
    existing_time_s : array of float, optional
        Time of each demand unit to its nearest kept existing facility (``inf`` if none).
    penalty_s : float, optional
        Time charged for pairs beyond the cutoff; defaults to the largest stored time (the
        cutoff as far as the matrix tells), which under-states far trips. Pass the cutoff or
        more.
    capacities : array of float, optional
        Residents each candidate could serve.
    threshold_s : float
        Time that counts as "covered" in ``covered_weight_before/after`` (default 900 s, the
        15-minute rule).
    bound : {"auto", "lp", "lagrangian"}
        Lower bound of heuristic answers (uncapacitated): the LP relaxation, or the classic
        Lagrangian relaxation of the assignment rows (subgradient; cheap, near the LP).
        ``"auto"`` uses the LP up to 150,000 (demand, site) pairs within the cutoff.
    method, time_limit_s, mip_gap, seed, progress
        As in :func:`solve_max_coverage`.

    Returns
    -------
    Solution
        ``objective`` and ``bound`` are weighted mean times in seconds; ``loads`` are the
        residents assigned to each new site.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> t = sp.csr_array(np.array([[60.0, 0], [300, 120], [0, 60]]))  # 0 = beyond the cutoff
    >>> t.eliminate_zeros()
    >>> sol = solve_p_median(t, [1, 1, 1], p=1, penalty_s=900)
    >>> sol.selected.tolist(), round(sol.objective, 1)
    ([1], 360.0)
    """
    where = "solve_p_median"
    clock = _Clock(time_limit_s, progress)
    tp, pp, caps = _prepare_times(
        where,
        time_s,
        weights,
        p=p,
        existing_time_s=existing_time_s,
        penalty_s=penalty_s,
        capacities=capacities,
        method=method,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        threshold_s=threshold_s,
        bound=bound,
    )
    clock.stage("prepare", 0.0)
    n_cols = tp.T.shape[1]
    W = tp.total_w if tp.total_w > 0 else 1.0
    base_sum = float(np.dot(tp.w_all, tp.base_all))
    before = _covered(tp, tp.existing)

    # the engines maximise the savings; the mean time is what is reported (and judged)
    report = _Report(base_sum / W, -1.0 / W)
    to_mean = report

    if tp.T.shape[0] == 0:
        clock.note(to_mean(0.0), to_mean(0.0))
        return _finish(
            "p_median",
            clock,
            selected=_EMPTY_INT,
            objective=to_mean(0.0),
            bound=to_mean(0.0),
            status="optimal",
            solver="none",
            before=before,
            after=before,
            uncoverable=tp.uncoverable,
        )
    if caps is not None:
        cp = _cap_pairs_time(tp, caps, pp)
        sel, val, bnd, loads, status, solver = _cap_solve(
            cp, method=method, mip_gap=mip_gap, seed=seed, clock=clock, report=report
        )
        clock.history[:] = [
            (s, to_mean(o), to_mean(b) if np.isfinite(b) else b) for s, o, b in clock.history
        ]
        times, _ = _final_times(tp, sel, n_cols)
        # with capacities the final times are an optimistic count for covered weight
        return _finish(
            "p_median",
            clock,
            selected=sel,
            objective=to_mean(val),
            bound=to_mean(bnd),
            status=status,
            solver=solver,
            before=before,
            after=_covered(tp, times),
            uncoverable=tp.uncoverable,
            loads=loads[sel],
        )

    structs = _time_structs(tp)
    r_ptr, r_idx, r_t, c_ptr, c_idx, c_t = structs
    tol = 1e-12 * max(1.0, base_sum)
    sel = _pm_greedy(c_ptr, c_idx, c_t, tp.w, tp.base, pp, tol)
    is_sel = np.zeros(n_cols, dtype=bool)
    is_sel[sel] = True
    d1, f1, d2, f2, loss, obj = _pm_state(r_ptr, r_idx, r_t, is_sel, tp.base, tp.w, n_cols)
    merged_base = float(np.dot(tp.w, tp.base))
    savings = merged_base - obj
    clock.note(to_mean(savings))
    clock.stage("greedy", 0.15)
    solver = "greedy"
    if method != "greedy":
        sel_list = np.zeros(n_cols, dtype=np.int64)
        sel_list[: sel.size] = sel
        istate = np.array([sel.size, 0], dtype=np.int64)
        fstate = np.array([obj])
        extra = np.zeros(n_cols)
        stamp = np.zeros(tp.T.shape[0], dtype=np.int64)
        useful = np.flatnonzero(np.diff(c_ptr) > 0)
        order = np.random.default_rng(seed).permutation(useful).astype(np.int64)

        def kernel(a: int, b: int) -> int:
            return int(
                _pm_swap_chunk(
                    c_ptr,
                    c_idx,
                    c_t,
                    r_ptr,
                    r_idx,
                    r_t,
                    tp.w,
                    tp.base,
                    pp,
                    order,
                    a,
                    b,
                    is_sel,
                    sel_list,
                    istate,
                    fstate,
                    d1,
                    f1,
                    d2,
                    f2,
                    loss,
                    extra,
                    stamp,
                    tol,
                )
            )

        _local_search(kernel, order.size, clock, _swap_cap(clock))
        sel = np.sort(sel_list[: istate[0]])
        is_sel[:] = False
        is_sel[sel] = True
        d1, f1, _, _, _, obj = _pm_state(r_ptr, r_idx, r_t, is_sel, tp.base, tp.w, n_cols)
        savings = merged_base - obj
        solver = "greedy+swap"
        clock.note(to_mean(savings))
    clock.stage("bound", 0.35)
    cp = _cap_pairs_time(tp, np.full(n_cols, _INF), pp)
    ub = _INF
    use_lagr = bound == "lagrangian" or (bound == "auto" and cp.pr_row.size > _PM_LP_PAIRS)
    if not use_lagr:
        model = _cap_model(cp, integer=False, capacitated=False)
        lp = _solve_lp(model, time_limit=max(clock.left(), 0.05), seed=seed)
        ub = lp.bound
        use_lagr = not np.isfinite(ub)
    if use_lagr:  # d1, f1: the state of ``sel`` (the heuristic's answer)
        ub = min(
            ub,
            _pm_lagrangian(
                tp,
                pp,
                savings,
                tp.w * (tp.base - d1),
                clock,
                cap_s=max(0.5, min(20.0, 0.5 * clock.left())),
            ),
        )
    ub = max(ub, savings)
    clock.note(to_mean(savings), to_mean(ub))
    clock.stage("bound", 0.5)
    if method == "exact" or (method == "auto" and not _within(report.gap(savings, ub), mip_gap)):
        model = _cap_model(cp, integer=True, capacitated=False)

        def evaluate(x: np.ndarray) -> float | None:
            msel = np.flatnonzero(x > 0.5)
            if msel.size > pp:
                return None
            mask = np.zeros(n_cols, dtype=bool)
            mask[msel] = True
            return merged_base - _pm_state(r_ptr, r_idx, r_t, mask, tp.base, tp.w, n_cols)[5]

        rounds = 0
        while clock.left() > 0.05:
            start = np.zeros(model.c.size)
            start[sel] = 1.0
            start[n_cols:] = (f1[cp.pr_row] == cp.pr_col).astype(np.float64)
            # HiGHS's gaps are on the savings: converted so that it stops only when the gap on
            # the mean time is within mip_gap (a further round asks for more)
            rel, abs_gap = report.highs_gaps(mip_gap, savings, ub)
            out = _solve_mip(
                model,
                time_limit=clock.left(),
                mip_gap=rel * 0.5**rounds,
                seed=seed,
                start=start,
                n_keep=n_cols,
                evaluate=evaluate,
                larger_is_better=True,
                clock=clock,
                to_objective=to_mean,
                to_bound=to_mean,
                abs_gap=abs_gap * 0.5**rounds,
            )
            rounds += 1
            if out.x is not None and out.value > savings + 1e-9 * max(1.0, savings):
                sel, savings, solver = np.flatnonzero(out.x > 0.5), out.value, "highs-mip"
                is_sel[:] = False
                is_sel[sel] = True
                d1, f1, _, _, _, _ = _pm_state(r_ptr, r_idx, r_t, is_sel, tp.base, tp.w, n_cols)
            if np.isfinite(out.bound):
                ub = min(ub, out.bound)
            ub = max(ub, savings)
            clock.note(to_mean(savings), to_mean(ub))
            if out.status == "time_limit":
                clock.timed_out = True
            if _within(report.gap(savings, ub), mip_gap) or out.status != "optimal" or rounds >= 3:
                break
        else:  # out of time before the gap on the mean time was closed
            clock.timed_out = True
    objective, bound = to_mean(savings), to_mean(ub)
    status = _status(_gap(objective, bound), mip_gap, clock.timed_out)
    times, fac = _final_times(tp, sel, n_cols)
    loads = np.bincount(fac[fac >= 0], weights=tp.w_all[fac >= 0], minlength=n_cols)[sel]
    return _finish(
        "p_median",
        clock,
        selected=sel,
        objective=objective,
        bound=bound,
        status=status,
        solver=solver,
        before=before,
        after=_covered(tp, times),
        uncoverable=tp.uncoverable,
        loads=loads,
    )


def _covers_all(S: sp.csr_array, x: np.ndarray) -> float | None:
    """Number of sites of a set-cover MILP solution, or None if some row is left uncovered."""
    pick = (x > 0.5).astype(np.float64)
    return float(pick.sum()) if ((S @ pick) > 0).all() else None


def _cap_pairs_time(tp: _TimeProblem, caps: np.ndarray, p: int) -> _CapProblem:
    """Assignment pairs of a (capacitated) p-median, nearest first."""
    T = tp.T
    rows = np.repeat(np.arange(T.shape[0]), np.diff(T.indptr))
    cols = T.indices.astype(np.int64)
    t = np.asarray(T.data, dtype=np.float64)
    order = np.lexsort((cols, rows, t))
    pr_row = np.ascontiguousarray(rows[order], dtype=np.int64)
    pr_col = np.ascontiguousarray(cols[order], dtype=np.int64)
    ben = np.ascontiguousarray(tp.base[pr_row] - t[order])
    ub = np.bincount(pr_col, weights=tp.w[pr_row] * ben, minlength=T.shape[1])
    return _CapProblem(
        T.shape[0],
        T.shape[1],
        pr_row,
        pr_col,
        ben,
        tp.w,
        np.asarray(caps, dtype=np.float64),
        np.zeros(T.shape[1]),
        _INF,
        p,
        ub,
    )


def solve_p_center(
    time_s: Any,
    weights: Any,
    *,
    p: int,
    existing_time_s: Any = None,
    penalty_s: float | None = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    mip_gap: float = 0.005,
    seed: int = 0,
    threshold_s: float = 900.0,
    progress: ProgressCallback | None = None,
) -> Solution:
    """Choose ``p`` new sites minimising the worst travel time of any resident (p-center).

    Demand units with zero weight are ignored. The times are as in :func:`solve_p_median`.
    The optimum is one of the stored times or base times; it is found by bisection on that
    sorted list, each step asking whether ``p`` sites can bring every demand unit within the
    threshold ``T`` (a set-cover question): greedy set cover answers "yes" with a witness, the
    set-cover LP bound (rounded up) answers "no"; with ``method="auto"``/``"exact"`` the
    remaining undecided steps are settled by the set-cover MILP, until the worst time found is
    within ``mip_gap`` of the bound. ``bound`` is the smallest threshold not proved infeasible.

    Parameters
    ----------
    time_s, weights, p, existing_time_s, penalty_s, threshold_s
        As in :func:`solve_p_median`.
    method, time_limit_s, mip_gap, seed, progress
        As in :func:`solve_max_coverage`.

    Returns
    -------
    Solution
        ``objective`` and ``bound`` are the worst travel time in seconds.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> t = sp.csr_array(np.array([[60.0, 500], [300, 120], [400, 60]]))
    >>> sol = solve_p_center(t, [1, 1, 1], p=1, penalty_s=900)
    >>> sol.selected.tolist(), sol.objective
    ([0], 400.0)
    """
    where = "solve_p_center"
    clock = _Clock(time_limit_s, progress)
    tp, pp, _ = _prepare_times(
        where,
        time_s,
        weights,
        p=p,
        existing_time_s=existing_time_s,
        penalty_s=penalty_s,
        capacities=None,
        method=method,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        threshold_s=threshold_s,
    )
    clock.stage("prepare", 0.0)
    n_cols = tp.T.shape[1]
    wpos = tp.w_all > 0
    before = _covered(tp, tp.existing)
    # demand units outside T (nothing beats their base) keep their base time: a floor
    outside = wpos.copy()
    outside[tp.active] = False
    floor = float(tp.base_all[outside].max()) if outside.any() else 0.0
    T = tp.T
    if T.shape[0] == 0:
        clock.note(floor, floor)
        return _finish(
            "p_center",
            clock,
            selected=_EMPTY_INT,
            objective=floor,
            bound=floor,
            status="optimal",
            solver="none",
            before=before,
            after=before,
            uncoverable=tp.uncoverable,
        )
    rowmin = np.minimum.reduceat(T.data, T.indptr[:-1])
    lb0 = max(floor, float(rowmin.max()))
    # the optimum is a stored time, a base time or the floor
    values = np.unique(np.concatenate([T.data, tp.base, [lb0]]))
    values = values[values >= lb0]
    rows_all = np.repeat(np.arange(T.shape[0]), np.diff(T.indptr))

    def instance(thr: float) -> sp.csr_array | None:
        """Set-cover rows of threshold ``thr`` (merged), or None if some row cannot be met."""
        need = tp.base > thr
        keep = (T.data <= thr) & need[rows_all]
        sub = sp.csr_array(
            (np.ones(int(keep.sum()), dtype=bool), (rows_all[keep], T.indices[keep])), shape=T.shape
        )[need]
        sub.sort_indices()
        if (np.diff(sub.indptr) == 0).any():
            return None
        _, first = _group_rows(sub, values=False)
        return sub[first]

    def greedy_ok(thr: float) -> np.ndarray | None:
        S = instance(thr)
        if S is None:
            return None
        if S.shape[0] == 0:
            return _EMPTY_INT
        sel, _ = _setcover_heuristic(
            _cov_structs(S),
            np.ones(S.shape[0]),
            np.ones(n_cols),
            float(S.shape[0]),
            improve=True,
            seed=seed,
            clock=clock,
            rounds=10,
        )
        return sel if sel.size <= pp else None

    def lp_says_no(thr: float) -> bool:
        S = instance(thr)
        if S is None:
            return True
        if S.shape[0] == 0:
            return False
        model = _setcover_model(S, np.ones(S.shape[0]), np.ones(n_cols), 0.0, True, integer=False)
        lp = _solve_lp(model, time_limit=max(clock.left(), 0.05), seed=seed)
        return bool(np.isfinite(lp.bound)) and math.ceil(lp.bound - 1e-6 * max(1.0, lp.bound)) > pp

    def objective_of(sel: np.ndarray) -> float:
        times, _ = _final_times(tp, sel, n_cols)
        return float(times[wpos].max()) if wpos.any() else 0.0

    # upper end: bisection with greedy set cover (at the largest value nothing needs a site)
    lo_i, hi_i = 0, values.size - 1
    best_sel = _EMPTY_INT
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        s = greedy_ok(float(values[mid]))
        if s is not None:
            hi_i, best_sel = mid, s
        else:
            lo_i = mid + 1
    obj = objective_of(best_sel)
    clock.note(obj)
    clock.stage("greedy", 0.25)
    # lower end: the smallest value the set-cover LP does not rule out
    top = int(np.searchsorted(values, obj, side="left"))
    lo_i, hi_i = 0, min(top, values.size - 1)
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        if lp_says_no(float(values[mid])):
            lo_i = mid + 1
        else:
            hi_i = mid
    bound = float(values[lo_i])
    clock.note(obj, bound)
    clock.stage("bound", 0.5)
    solver = "greedy-bisection"
    if obj > bound and (
        method == "exact" or (method == "auto" and not _within(_gap(obj, bound), mip_gap))
    ):
        hi_i = int(np.searchsorted(values, obj, side="left"))
        while lo_i < hi_i and not _within(_gap(obj, float(values[lo_i])), mip_gap):
            if clock.left() <= 0.05:
                clock.timed_out = True
                break
            mid = (lo_i + hi_i) // 2
            S = instance(float(values[mid]))
            if S is None:
                lo_i = mid + 1
                continue
            model = _setcover_model(
                S, np.ones(S.shape[0]), np.ones(n_cols), 0.0, True, integer=True
            )
            out = _solve_mip(
                model,
                time_limit=clock.left(),
                mip_gap=0.0,
                seed=seed,
                start=None,
                n_keep=n_cols,
                evaluate=lambda x, S=S: _covers_all(S, x),
                larger_is_better=False,
                clock=None,
            )
            msel = np.flatnonzero(out.x > 0.5) if out.x is not None else None
            if msel is not None and msel.size <= pp:
                hi_i = mid
                mo = objective_of(msel)
                if mo < obj:
                    best_sel, obj, solver = msel, mo, "highs-bisection"
                    clock.note(obj, float(values[lo_i]))
            elif np.isfinite(out.bound) and math.ceil(out.bound - 1e-6) > pp:
                lo_i = mid + 1  # the smallest cover needs more than p sites
            else:
                clock.timed_out = True
                break
        bound = float(values[min(lo_i, values.size - 1)])
        clock.note(obj, min(bound, obj))
    bound = min(bound, obj)
    status = _status(_gap(obj, bound), mip_gap, clock.timed_out)
    times, _ = _final_times(tp, best_sel, n_cols)
    return _finish(
        "p_center",
        clock,
        selected=np.sort(best_sel),
        objective=obj,
        bound=bound,
        status=status,
        solver=solver,
        before=before,
        after=_covered(tp, times),
        uncoverable=tp.uncoverable,
    )


# --------------------------------------------------------------------------------------------
# Public: multi-tier
# --------------------------------------------------------------------------------------------


def solve_multi_tier(
    tiers: Sequence[TierSpec],
    weights: Any,
    *,
    budget: float | None = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    mip_gap: float = 0.005,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> Solution:
    """Site several facility tiers at once (e.g. community health centres and stations).

    Each tier ``t`` has its own coverage matrix (its own time threshold); a new site of tier
    ``u`` meets the need of tier ``t`` for demand unit ``i`` when ``u == t`` or ``t`` is listed
    in ``u.serves``, and the site is within tier ``t``'s threshold of ``i``.

    Formulation (``x_jt``: candidate ``j`` hosts tier ``t``; ``y_it``: tier-``t`` need of
    unit ``i`` met)::

        max  sum_t f_t sum_i w_i y_it
        s.t. y_it <= sum_j cover_t[i, j] (x_jt + sum_{u serves t} x_ju)
             sum_t x_jt <= 1                 (a site hosts at most one tier)
             sum_j x_jt <= p_t               (per-tier p, when given)
             sum_jt c_jt x_jt <= budget      (shared budget, when given)
             x binary, 0 <= y <= 1

    Demand whose tier-``t`` need is met by existing facilities (``covered_by_existing``) is
    left out of that tier's rows. Internally every (tier, site) pair is a column and every
    (tier, demand) pair a row of one stacked covering problem, solved like
    :func:`solve_max_coverage` (greedy, swap local search respecting the site, tier and
    budget constraints, LP bound, MILP).

    Parameters
    ----------
    tiers : sequence of TierSpec
        The tiers, all with covers of the same shape.
    weights : array of float
        Residents of each demand unit.
    budget : float, optional
        Shared budget over every tier's ``costs``.
    method, time_limit_s, mip_gap, seed, progress
        As in :func:`solve_max_coverage`.

    Returns
    -------
    Solution
        ``objective`` = sum over tiers of ``weight_factor`` x weight newly covered at that
        tier; ``tier_of_selected`` names the tier built at each selected site.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> near = sp.csr_array(np.array([[1, 0], [0, 1]], bool))
    >>> far = sp.csr_array(np.array([[1, 1], [1, 1]], bool))
    >>> tiers = [TierSpec("center", far, p=1, serves=("station",)),
    ...          TierSpec("station", near, p=1)]
    >>> sol = solve_multi_tier(tiers, [100, 50])
    >>> sol.selected.tolist(), sol.tier_of_selected.tolist(), sol.objective
    ([0, 1], ['center', 'station'], 300.0)
    """
    where = "solve_multi_tier"
    clock = _Clock(time_limit_s, progress)
    probs = _Problems(where)
    tiers = list(tiers)
    if not tiers:
        raise OptimizationError(f"{where}: no tiers given. Fix: pass at least one TierSpec.")
    for t in tiers:
        if not isinstance(t, TierSpec):
            raise OptimizationError(
                f"{where}: {t!r} is not a TierSpec. Fix: wrap each tier in "
                "TierSpec(name, cover, p=..., ...)."
            )
    names = [t.name for t in tiers]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        probs.add(f"tier names repeat: {', '.join(dup)}", "give every tier a distinct name")
    covers = [
        _as_csr(t.cover, name=f"tier '{t.name}' cover", where=where, pattern=True) for t in tiers
    ]
    shape = covers[0].shape
    for t, a in zip(tiers, covers, strict=True):
        if a.shape != shape:
            probs.add(
                f"tier '{t.name}' cover has shape {a.shape} but tier '{tiers[0].name}' has {shape}",
                "use the same demand units (rows) and candidate sites (columns) for every tier",
            )
    probs.raise_if_any()
    n_rows, n_cols = shape
    w = _check_vector(
        weights,
        n_rows,
        name="weights",
        what="demand unit (row of cover)",
        probs=probs,
        allow_none=False,
    )
    _check_budget(budget, probs)
    tier_costs: list[np.ndarray] = []
    exs: list[np.ndarray] = []
    ps: list[int | None] = []
    for t in tiers:
        c = _check_vector(
            t.costs,
            n_cols,
            name=f"tier '{t.name}' costs",
            what="candidate (column of cover)",
            probs=probs,
            allow_inf=True,
        )
        tier_costs.append(c if c is not None else np.zeros(n_cols))
        exs.append(
            _check_mask(
                t.covered_by_existing,
                n_rows,
                name=f"tier '{t.name}' covered_by_existing",
                probs=probs,
            )
        )
        ps.append(_check_p(t.p, n_cols, probs, name=f"tier '{t.name}' p"))
        if t.p is None and (t.costs is None or budget is None):
            probs.add(
                f"tier '{t.name}' has neither p nor costs under a shared budget",
                f"give tier '{t.name}' p=, or costs= and pass budget=",
            )
        if not (
            _is_number(t.weight_factor) and t.weight_factor >= 0 and math.isfinite(t.weight_factor)
        ):
            probs.add(
                f"tier '{t.name}' weight_factor={t.weight_factor!r} must be >= 0",
                "use a finite non-negative factor",
            )
        for s in t.serves:
            if s not in names:
                probs.add(
                    f"tier '{t.name}' serves unknown tier '{s}'",
                    f"use one of {', '.join(map(repr, names))}",
                )
            elif s == t.name:
                probs.add(f"tier '{t.name}' lists itself in serves", "remove it")
    _check_method(method, probs)
    _check_limits(time_limit_s, mip_gap, probs)
    if n_cols == 0:
        probs.add("the covers have no candidate columns", "generate candidate sites first")
    elif all(a.nnz == 0 for a in covers):
        probs.add(
            "no candidate covers any demand unit at any tier",
            "raise the time thresholds or add candidate sites",
        )
    probs.raise_if_any()
    assert w is not None
    clock.stage("prepare", 0.0)

    nt = len(tiers)
    index = {n: k for k, n in enumerate(names)}
    factors = np.array([float(t.weight_factor) for t in tiers])
    before = float(sum(factors[k] * w[exs[k]].sum() for k in range(nt)))
    # rows of tier t' active: not existing-covered, weight > 0, factor > 0
    row_blocks = []
    row_w = []
    covered_by: list[list[int]] = [[] for _ in range(nt)]  # tiers whose columns meet t's need
    for u, t in enumerate(tiers):
        covered_by[u].append(u)
        for s in t.serves:
            if s in index and s != t.name:
                covered_by[index[s]].append(u)
    unc_mask = np.zeros(n_rows, dtype=bool)
    for k in range(nt):
        act = np.flatnonzero(~exs[k] & (w > 0) & (factors[k] > 0))
        blocks = [covers[k][act] if u in covered_by[k] else None for u in range(nt)]
        blocks = [
            b if b is not None else sp.csr_array((act.size, n_cols), dtype=bool) for b in blocks
        ]
        row_blocks.append(sp.hstack(blocks, format="csr"))
        row_w.append(factors[k] * w[act])
        reach = np.diff(covers[k].indptr) > 0
        unc_mask |= ~exs[k] & ~reach & (w > 0)
    S = sp.csr_array(sp.vstack(row_blocks, format="csr"), dtype=bool)
    S.sort_indices()
    sw = np.concatenate(row_w)
    keep = np.diff(S.indptr) > 0
    S = S[np.flatnonzero(keep)]
    sw = sw[keep]
    M, mw = _merge_rows(S, sw)
    costs = np.concatenate(tier_costs)
    has_costs = budget is not None
    limit = np.array([p if p is not None else _NO_LIMIT for p in ps], dtype=np.int64)
    prob = _CovProblem(
        A=M,
        w=mw,
        costs=costs if has_costs else np.where(np.isinf(costs), _INF, 1.0),
        label=np.repeat(np.arange(nt, dtype=np.int32), n_cols),
        limit=limit,
        site=np.tile(np.arange(n_cols, dtype=np.int32), nt),
        n_sites=n_cols,
        budget=float(budget) if budget is not None else _INF,
        has_costs=has_costs,
    )
    ans = _cov_solve(prob, method=method, mip_gap=mip_gap, seed=seed, clock=clock)
    site = ans.selected % n_cols
    tier = ans.selected // n_cols
    order = np.argsort(site, kind="stable")
    return _finish(
        "multi_tier",
        clock,
        selected=site[order],
        objective=ans.objective,
        bound=ans.bound,
        status=ans.status,
        solver=ans.solver,
        before=before,
        after=before + ans.objective,
        uncoverable=np.flatnonzero(unc_mask),
        tiers=np.array([names[k] for k in tier[order]], dtype=str) if tier.size else _EMPTY_STR,
    )


# --------------------------------------------------------------------------------------------
# Public: evaluation
# --------------------------------------------------------------------------------------------


def evaluate_sites(
    cover: Any,
    weights: Any,
    selected: Any,
    *,
    covered_by_existing: Any = None,
) -> SiteEvaluation:
    """What a given set of sites adds: newly covered weight per site and in total.

    One pass over the non-zeros of ``cover`` (no solver), fast enough for interactive
    what-if in the app.

    Parameters
    ----------
    cover : scipy.sparse matrix
        ``n_demand x n_candidates`` coverage.
    weights : array of float
        Residents of each demand unit.
    selected : array of int
        Candidate indices of the sites, without repeats (order matters for ``marginal``).
    covered_by_existing : array of bool, optional
        Demand already covered.

    Returns
    -------
    SiteEvaluation

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.array([[1, 0], [1, 1], [0, 1]], bool))
    >>> ev = evaluate_sites(cover, [10, 20, 30], [0, 1])
    >>> ev.alone.tolist(), ev.marginal.tolist(), ev.exclusive.tolist(), ev.total
    ([30.0, 50.0], [30.0, 30.0], [10.0, 30.0], 60.0)
    """
    where = "evaluate_sites"
    A, probs, w, ex = _check_cover_inputs(where, cover, weights, covered_by_existing)
    n_rows, n_cols = A.shape
    sel = np.asarray(selected).ravel()
    if sel.size and not np.issubdtype(sel.dtype, np.integer):
        probs.add("selected must hold integer candidate indices", "pass column numbers of cover")
        sel = np.zeros(0, dtype=np.int64)
    sel = sel.astype(np.int64)
    if sel.size and (sel.min() < 0 or sel.max() >= n_cols):
        probs.add(f"selected has indices outside 0..{n_cols - 1}", "pass column numbers of cover")
    elif np.unique(sel).size != sel.size:
        probs.add("selected repeats a site", "list each site once")
    probs.raise_if_any()
    assert w is not None
    rank = np.full(n_cols, -1, dtype=np.int64)
    rank[sel] = np.arange(sel.size)
    r_ptr, r_idx = _parts(A)
    active = ~ex & (w > 0)
    alone, marginal, exclusive, total = _evaluate_kernel(r_ptr, r_idx, w, active, rank, sel.size)
    before = float(w[ex].sum())
    return SiteEvaluation(
        _frozen(sel),
        _frozen(alone),
        _frozen(marginal),
        _frozen(exclusive),
        float(total),
        before,
        before + float(total),
    )
