"""p-median (least weighted mean travel time, optional capacities) and p-center (least worst
travel time).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._checks import (
    _as_csr,
    _check_bound,
    _check_limits,
    _check_method,
    _check_p,
    _check_vector,
    _group_rows,
    _is_number,
    _parts,
    _Problems,
)
from ._highs import _MipOut, _solve_lp, _solve_mip
from ._kernels import _pm_greedy, _pm_lagr_step, _pm_state, _pm_swap_chunk
from ._results import (
    _EMPTY_INT,
    _INF,
    _PM_LP_PAIRS,
    ProgressCallback,
    Solution,
    _Clock,
    _finish,
    _gap,
    _local_search,
    _Report,
    _status,
    _swap_cap,
    _within,
)
from .capacitated import _cap_model, _cap_solve, _CapProblem
from .coverage import _cov_structs
from .setcover import _setcover_heuristic, _setcover_model

logger = logging.getLogger(__name__)

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
    # ``bound`` is the bound-method parameter; the bound on the mean time is ``mean_bound``
    objective, mean_bound = to_mean(savings), to_mean(ub)
    status = _status(_gap(objective, mean_bound), mip_gap, clock.timed_out)
    times, fac = _final_times(tp, sel, n_cols)
    loads = np.bincount(fac[fac >= 0], weights=tp.w_all[fac >= 0], minlength=n_cols)[sel]
    return _finish(
        "p_median",
        clock,
        selected=sel,
        objective=objective,
        bound=mean_bound,
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
    search = _CenterSearch(tp, values, pp=pp, seed=seed, clock=clock)
    best_sel, obj = search.greedy_upper()
    clock.note(obj)
    clock.stage("greedy", 0.25)
    lo_i = search.lp_lower(obj)
    bound = float(values[lo_i])
    clock.note(obj, bound)
    clock.stage("bound", 0.5)
    solver = "greedy-bisection"
    if obj > bound and (
        method == "exact" or (method == "auto" and not _within(_gap(obj, bound), mip_gap))
    ):
        lo_i, obj, best_sel, solver = search.mip_bisect(lo_i, obj, best_sel, solver, mip_gap)
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


class _CenterSearch:
    """The p-center searches over the candidate thresholds ``values`` (sorted): at threshold
    ``thr`` every demand unit whose base time exceeds ``thr`` needs a site within ``thr``, a set
    cover that ``p`` sites must solve."""

    def __init__(
        self, tp: _TimeProblem, values: np.ndarray, *, pp: int, seed: int, clock: _Clock
    ) -> None:
        self.tp = tp
        self.T = tp.T
        self.values = values
        self.pp = pp
        self.seed = seed
        self.clock = clock
        self.n_cols = tp.T.shape[1]
        self.wpos = tp.w_all > 0
        self.rows_all = np.repeat(np.arange(tp.T.shape[0]), np.diff(tp.T.indptr))

    def instance(self, thr: float) -> sp.csr_array | None:
        """Set-cover rows of threshold ``thr`` (merged), or None if some row cannot be met."""
        T, rows_all = self.T, self.rows_all
        need = self.tp.base > thr
        keep = (T.data <= thr) & need[rows_all]
        sub = sp.csr_array(
            (np.ones(int(keep.sum()), dtype=bool), (rows_all[keep], T.indices[keep])), shape=T.shape
        )[need]
        sub.sort_indices()
        if (np.diff(sub.indptr) == 0).any():
            return None
        _, first = _group_rows(sub, values=False)
        return sub[first]

    def greedy_ok(self, thr: float) -> np.ndarray | None:
        S = self.instance(thr)
        if S is None:
            return None
        if S.shape[0] == 0:
            return _EMPTY_INT
        sel, _ = _setcover_heuristic(
            _cov_structs(S),
            np.ones(S.shape[0]),
            np.ones(self.n_cols),
            float(S.shape[0]),
            improve=True,
            seed=self.seed,
            clock=self.clock,
            rounds=10,
        )
        return sel if sel.size <= self.pp else None

    def lp_says_no(self, thr: float) -> bool:
        S = self.instance(thr)
        if S is None:
            return True
        if S.shape[0] == 0:
            return False
        model = _setcover_model(
            S, np.ones(S.shape[0]), np.ones(self.n_cols), 0.0, True, integer=False
        )
        lp = _solve_lp(model, time_limit=max(self.clock.left(), 0.05), seed=self.seed)
        return (
            bool(np.isfinite(lp.bound))
            and math.ceil(lp.bound - 1e-6 * max(1.0, lp.bound)) > self.pp
        )

    def objective_of(self, sel: np.ndarray) -> float:
        times, _ = _final_times(self.tp, sel, self.n_cols)
        return float(times[self.wpos].max()) if self.wpos.any() else 0.0

    def greedy_upper(self) -> tuple[np.ndarray, float]:
        """Upper end: bisection with greedy set cover (at the largest value nothing needs a
        site); the sites and their objective."""
        values = self.values
        lo_i, hi_i = 0, values.size - 1
        best_sel = _EMPTY_INT
        while lo_i < hi_i:
            mid = (lo_i + hi_i) // 2
            s = self.greedy_ok(float(values[mid]))
            if s is not None:
                hi_i, best_sel = mid, s
            else:
                lo_i = mid + 1
        return best_sel, self.objective_of(best_sel)

    def lp_lower(self, obj: float) -> int:
        """Lower end: the index of the smallest value the set-cover LP does not rule out."""
        values = self.values
        top = int(np.searchsorted(values, obj, side="left"))
        lo_i, hi_i = 0, min(top, values.size - 1)
        while lo_i < hi_i:
            mid = (lo_i + hi_i) // 2
            if self.lp_says_no(float(values[mid])):
                lo_i = mid + 1
            else:
                hi_i = mid
        return lo_i

    def mip_bisect(
        self, lo_i: int, obj: float, best_sel: np.ndarray, solver: str, mip_gap: float
    ) -> tuple[int, float, np.ndarray, str]:
        """Bisection with the set-cover MILP between the LP's lower end and ``obj``, until the
        gap is within ``mip_gap`` or time runs out; ``(lo_i, obj, best_sel, solver)``."""
        values, clock, pp = self.values, self.clock, self.pp
        hi_i = int(np.searchsorted(values, obj, side="left"))
        while lo_i < hi_i and not _within(_gap(obj, float(values[lo_i])), mip_gap):
            if clock.left() <= 0.05:
                clock.timed_out = True
                break
            mid = (lo_i + hi_i) // 2
            S = self.instance(float(values[mid]))
            if S is None:
                lo_i = mid + 1
                continue
            out = self._cover_mip(S)
            msel = np.flatnonzero(out.x > 0.5) if out.x is not None else None
            if msel is not None and msel.size <= pp:
                hi_i = mid
                mo = self.objective_of(msel)
                if mo < obj:
                    best_sel, obj, solver = msel, mo, "highs-bisection"
                    clock.note(obj, float(values[lo_i]))
            elif np.isfinite(out.bound) and math.ceil(out.bound - 1e-6) > pp:
                lo_i = mid + 1  # the smallest cover needs more than p sites
            else:
                clock.timed_out = True
                break
        return lo_i, obj, best_sel, solver

    def _cover_mip(self, S: sp.csr_array) -> _MipOut:
        """Fewest sites covering every row of ``S`` (HiGHS MILP)."""
        n_cols = self.n_cols
        model = _setcover_model(S, np.ones(S.shape[0]), np.ones(n_cols), 0.0, True, integer=True)

        def covers(x: np.ndarray) -> float | None:
            return _covers_all(S, x)

        return _solve_mip(
            model,
            time_limit=self.clock.left(),
            mip_gap=0.0,
            seed=self.seed,
            start=None,
            n_keep=n_cols,
            evaluate=covers,
            larger_is_better=False,
            clock=None,
        )


# --------------------------------------------------------------------------------------------
