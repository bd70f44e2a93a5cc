"""Capacitated engine shared by maximal covering and p-median: assignment model, greedy and
swap heuristics, transport-LP evaluation of a selection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._highs import _highs_setup, _Model, _solve_lp, _solve_mip, _status_of
from ._kernels import _cap_assign, _cap_greedy, _cap_swap_chunk
from ._results import (
    _IDENTITY_REPORT,
    _INF,
    _Clock,
    _local_search,
    _Report,
    _status,
    _swap_cap,
    _within,
)

logger = logging.getLogger(__name__)

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
        # without capacities its LP (at most _PM_LP_PAIRS pairs) is faster by simplex
        simplex=not capacitated,
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
    # float64 already (weighted); asarray only tells the type checker
    loads = np.asarray(np.bincount(sub.pr_col, weights=amount, minlength=cp.n_cols), np.float64)
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
    # float64 already (weighted); asarray only tells the type checker
    loads = np.asarray(np.bincount(sub.pr_col, weights=amount, minlength=cp.n_cols), np.float64)
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
    report: _Report = _IDENTITY_REPORT,
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
