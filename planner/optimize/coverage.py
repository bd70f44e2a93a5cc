"""Maximal covering (MCLP), plus :func:`evaluate_selection`; set covering is :mod:`.setcover`.

The coverage engine (heuristic, LP / Lagrangian bound, restricted and full MILP) is shared
with :mod:`.multitier` and :mod:`.median` (p-center as a covering search).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._checks import (
    _check_bound,
    _check_budget,
    _check_cover_inputs,
    _check_cover_nonempty,
    _check_limits,
    _check_method,
    _check_p,
    _check_vector,
    _merge_rows,
    _parts,
)
from ._highs import _fix_by_reduced_cost, _HighsOut, _MipOut, _Model, _solve_lp, _solve_mip
from ._kernels import (
    _col_sums,
    _cov_greedy,
    _cov_state,
    _cov_swap_chunk,
    _evaluate_kernel,
    _row_hits,
)
from ._results import (
    _EMPTY_INT,
    _INF,
    _LAGRANGIAN_NNZ,
    _MIP_MAX_NNZ,
    ProgressCallback,
    SelectionEvaluation,
    Solution,
    _Clock,
    _finish,
    _frozen,
    _gap,
    _local_search,
    _status,
    _swap_cap,
    _within,
)
from .capacitated import _cap_solve, _CapProblem

logger = logging.getLogger(__name__)

# Maximal covering engine (plain, budgeted and multi-tier)
# --------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class CoverageProblem:
    """Merged maximal-covering problem over active rows (documented internal).

    The model the coverage engines solve, after identical demand rows are merged and covered or
    empty rows dropped. Public only so the bench can time one step (:func:`coverage_model`,
    :func:`solve_lp_relaxation`); it may change without notice. Keyword-only.

    Attributes
    ----------
    A : scipy.sparse.csr_array
        Rows x columns, boolean coverage of the merged rows.
    w : numpy.ndarray
        Weight of each merged row.
    costs : numpy.ndarray
        Cost per column (``inf`` = forbidden).
    label : numpy.ndarray
        Tier label per column (int32).
    limit : numpy.ndarray
        Most columns per label (int64; a huge value = no limit).
    site : numpy.ndarray
        Site of each column (int32); at most one column per site is chosen.
    n_sites : int
        Number of sites.
    budget : float
        Budget on the summed costs (``inf`` = none).
    has_costs : bool
        Whether ``costs`` are real costs (else 1 per allowed column).
    """

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


def _cov_objective(prob: CoverageProblem, selected: np.ndarray) -> float:
    if selected.size == 0 or prob.A.shape[0] == 0:
        return 0.0
    mask = np.zeros(prob.A.shape[1], dtype=bool)
    mask[selected] = True
    hit = (prob.A @ mask.astype(np.float64)) > 0
    return float(prob.w[hit].sum())


def _cov_heuristic(
    prob: CoverageProblem, structs: tuple, *, swap: bool, seed: int, clock: _Clock, kicks: int = 50
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
    prob: CoverageProblem,
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
    prob: CoverageProblem, sel: np.ndarray, useful: np.ndarray, rng: np.random.Generator
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


def _cov_model(prob: CoverageProblem, *, integer: bool) -> tuple[_Model, np.ndarray, np.ndarray]:
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


def coverage_model(
    problem: CoverageProblem, *, integer: bool
) -> tuple[_Model, np.ndarray, np.ndarray]:
    """The HiGHS model of a :class:`CoverageProblem` (documented internal, for the bench).

    Parameters
    ----------
    problem : CoverageProblem
        The merged problem.
    integer : bool
        ``True`` for the MILP, ``False`` for its LP relaxation.

    Returns
    -------
    tuple
        ``(model, multi, single)``: the model, and the merged rows that got a ``y_i`` variable
        (covered by two or more columns) and those folded into their one column.
    """
    return _cov_model(problem, integer=integer)


def _cov_lagrangian(
    prob: CoverageProblem, lower: float, clock: _Clock, *, iters: int = 2000, cap_s: float = 20.0
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
    prob: CoverageProblem, objective: float, clock: _Clock, seed: int, bound_method: str
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
    prob: CoverageProblem,
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


def _cov_restrict(prob: CoverageProblem, cols: np.ndarray) -> CoverageProblem:
    """The covering problem over candidate columns ``cols`` only (rows merged again)."""
    sub = prob.A[:, cols]
    keep = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sub[keep]
    sub.sort_indices()
    merged, mw = _merge_rows(sub, prob.w[keep])
    sites, site = np.unique(prob.site[cols], return_inverse=True)
    return CoverageProblem(
        A=merged,
        w=mw,
        costs=prob.costs[cols],
        label=prob.label[cols],
        limit=prob.limit,
        site=site.astype(np.int32),
        n_sites=int(sites.size),
        budget=prob.budget,
        has_costs=prob.has_costs,
    )


def _cov_mip(
    prob: CoverageProblem,
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


def _cov_evaluate(prob: CoverageProblem, x: np.ndarray) -> float | None:
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
# --------------------------------------------------------------------------------------------
# Public: maximal covering
# --------------------------------------------------------------------------------------------


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

    prob = CoverageProblem(
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


def evaluate_selection(
    cover: Any,
    weights: Any,
    selected: Any,
    *,
    covered_by_existing: Any = None,
) -> SelectionEvaluation:
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
    SelectionEvaluation

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.array([[1, 0], [1, 1], [0, 1]], bool))
    >>> ev = evaluate_selection(cover, [10, 20, 30], [0, 1])
    >>> ev.alone.tolist(), ev.marginal.tolist(), ev.exclusive.tolist(), ev.total
    ([30.0, 50.0], [30.0, 30.0], [10.0, 30.0], 60.0)
    """
    where = "evaluate_selection"
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
    return SelectionEvaluation(
        _frozen(sel),
        _frozen(alone),
        _frozen(marginal),
        _frozen(exclusive),
        float(total),
        before,
        before + float(total),
    )


def evaluate_sites(
    cover: Any,
    weights: Any,
    selected: Any,
    *,
    covered_by_existing: Any = None,
) -> SelectionEvaluation:
    """Deprecated name of :func:`evaluate_selection` (warns; same arguments and result).

    Renamed so it is not confused with :func:`planner.siting.evaluate_sites`, which evaluates
    sites on a network.
    """
    warnings.warn(
        "planner.optimize.evaluate_sites is deprecated; use "
        "planner.optimize.evaluate_selection (same arguments)",
        DeprecationWarning,
        stacklevel=2,
    )
    return evaluate_selection(cover, weights, selected, covered_by_existing=covered_by_existing)
