"""Set cover (LSCP): the fewest sites, or the least cost, that cover every coverable
demand unit (``solve_set_cover``), exact with HiGHS after a greedy start and LP bounds.

Part of :mod:`planner.optimize`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import InfeasibleError
from ._checks import (
    _check_cover_inputs,
    _check_cover_nonempty,
    _check_limits,
    _check_method,
    _check_vector,
    _is_number,
    _merge_rows,
)
from ._highs import _MipOut, _Model, _solve_lp, _solve_mip
from ._kernels import (
    _cov_greedy,
    _cov_state,
    _drop_redundant,
)
from ._results import (
    _EMPTY_INT,
    _INF,
    _MIP_MAX_NNZ,
    ProgressCallback,
    Solution,
    _Clock,
    _finish,
    _gap,
    _status,
    _swap_cap,
    _within,
)
from .coverage import _NO_LIMIT, _cov_structs

logger = logging.getLogger(__name__)


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


def _setcover_lp_starts(
    structs: tuple,
    val: np.ndarray,
    costs: np.ndarray,
    need: float,
    xl: np.ndarray,
    sel: np.ndarray,
    obj: float,
    *,
    clock: _Clock,
) -> tuple[np.ndarray, float]:
    """LP-guided starts: keep the sites the relaxation likes, complete greedily; the best."""
    for theta in (0.9, 0.7, 0.5, 0.3, 0.1):
        cand = _setcover_build(structs, val, costs, need, np.flatnonzero(xl >= theta))
        cc = float(costs[cand].sum())
        if cc < obj - 1e-12:
            sel, obj = cand, cc
            clock.note(obj)
    return sel, obj


def _setcover_restricted(
    M: sp.csr_array,
    val: np.ndarray,
    costs: np.ndarray,
    need: float,
    full: bool,
    lp_x: np.ndarray,
    sel: np.ndarray,
    obj: float,
    bound: float,
    solver: str,
    *,
    seed: int,
    clock: _Clock,
) -> tuple[np.ndarray, float, str]:
    """The MILP restricted to the sites the LP uses and the heuristic's (half the time left);
    its answer if better."""
    n_cols = M.shape[1]
    cols = np.union1d(np.flatnonzero(lp_x[:n_cols] > 1e-3), sel)
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
    return sel, obj, solver


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
        sel, obj = _setcover_lp_starts(
            structs, val, costs, need, lp.x[: M.shape[1]], sel, obj, clock=clock
        )
    bound = min(bound, obj)
    clock.note(obj, bound)
    clock.stage("bound", 0.5)
    if method == "exact" or (method == "auto" and not _within(_gap(obj, bound), mip_gap)):
        # 1. MILP restricted to the sites the LP uses and the heuristic's (still feasible)
        if lp.x is not None and clock.left() > 0.05:
            sel, obj, solver = _setcover_restricted(
                M, val, costs, need, full, lp.x, sel, obj, bound, solver, seed=seed, clock=clock
            )
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
# Public: evaluation
# --------------------------------------------------------------------------------------------
