"""The HiGHS model layer of :mod:`planner.optimize`: model type, option setup, LP relaxation
with a certified dual bound, and the MILP with warm start and re-verification.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from ._results import _INF, _IPM_NNZ, _MIP_MAX_NNZ, _Clock

logger = logging.getLogger(__name__)

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
    #: solve the LP relaxation by simplex whatever its size (the assignment LP of the p-median:
    #: 1-3 s by simplex against 17 s by interior point at 270k non-zeros)
    simplex: bool = False

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
    ipm = model.A.nnz > _IPM_NNZ and not model.simplex
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


def solve_lp_relaxation(model: _Model, *, time_limit: float, seed: int) -> _HighsOut:
    """Solve a model's LP relaxation with HiGHS (documented internal, for the bench).

    Parameters
    ----------
    model : model
        As built by :func:`planner.optimize.coverage_model` (``integer=False``).
    time_limit : float
        Seconds.
    seed : int
        HiGHS random seed.

    Returns
    -------
    result
        With ``status``, ``x``, ``objective``, ``bound`` (certified from the duals, ``inf`` /
        ``-inf`` if none) and ``seconds``.
    """
    return _solve_lp(model, time_limit=time_limit, seed=seed)


@dataclass
class _MipOut:
    status: str  # HiGHS status: "optimal", "time_limit", "infeasible", "error"
    x: np.ndarray | None  # leading ``n_keep`` columns of the best solution (our evaluation)
    value: float  # our evaluation of ``x`` (nan if none)
    bound: float  # HiGHS MIP dual bound in model space (+-inf if none)
    seconds: float


def _collect_solutions(
    h: highspy.Highs,
    *,
    n_keep: int,
    clock: _Clock | None,
    t: float,
    time_limit: float,
    span: tuple[float, float],
) -> list[tuple[float, np.ndarray, float]]:
    """Subscribe to HiGHS's MIP callbacks: every solution found (time, first ``n_keep`` values,
    dual bound) is appended to the returned list; progress is reported every 0.5 s."""
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
    return found


def _best_verified(
    found: list[tuple[float, np.ndarray, float]],
    *,
    start: np.ndarray | None,
    n_keep: int,
    evaluate: Callable[[np.ndarray], float | None],
    larger_is_better: bool,
    clock: _Clock | None,
    to_objective: Callable[[float], float],
    to_bound: Callable[[float], float],
) -> tuple[np.ndarray | None, float]:
    """The best of HiGHS's solutions by ``evaluate`` (``None``, nan if none is feasible);
    improvements on the warm start are recorded in the clock's history."""
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
    return best_x, best_v


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
    found = _collect_solutions(h, n_keep=n_keep, clock=clock, t=t, time_limit=time_limit, span=span)
    h.run()
    status = _status_of(h)
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = _INF if model.maximize else -_INF
    sol = h.getSolution()
    if sol.value_valid:
        found.append((time.perf_counter(), np.asarray(sol.col_value)[:n_keep].copy(), bound))
    best_x, best_v = _best_verified(
        found,
        start=start,
        n_keep=n_keep,
        evaluate=evaluate,
        larger_is_better=larger_is_better,
        clock=clock,
        to_objective=to_objective,
        to_bound=to_bound,
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
