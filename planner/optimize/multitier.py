"""Several facility tiers at once (:func:`solve_multi_tier`): one tier per site, per-tier
``p`` and a shared budget, solved on the coverage engine.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import OptimizationError
from ._checks import (
    _as_csr,
    _check_budget,
    _check_limits,
    _check_mask,
    _check_method,
    _check_p,
    _check_vector,
    _is_number,
    _merge_rows,
    _Problems,
)
from ._results import _EMPTY_STR, _INF, ProgressCallback, Solution, TierSpec, _Clock, _finish
from .coverage import _NO_LIMIT, CoverageProblem, _cov_solve

logger = logging.getLogger(__name__)

# Public: multi-tier
# --------------------------------------------------------------------------------------------


def _check_tiers(
    tiers: list[TierSpec],
    names: list[str],
    n_rows: int,
    n_cols: int,
    budget: float | None,
    probs: _Problems,
) -> tuple[list[np.ndarray], list[np.ndarray], list[int | None]]:
    """Check each tier's costs, existing cover, p, weight factor and serves; per-tier arrays."""
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
    return tier_costs, exs, ps


def _tier_rows(
    tiers: list[TierSpec],
    covers: list[sp.csr_array],
    w: np.ndarray,
    exs: list[np.ndarray],
    factors: np.ndarray,
    index: dict[str, int],
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Stacked need rows of every tier over all tiers' columns, their weights, uncoverable rows.

    A tier's active rows (not covered by an existing facility, weight and factor > 0) are met by
    its own columns and by those of the tiers that serve it; empty rows are dropped.
    """
    nt = len(tiers)
    n_rows = w.size
    n_cols = covers[0].shape[1]
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
    return S, sw, unc_mask


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
    tier_costs, exs, ps = _check_tiers(tiers, names, n_rows, n_cols, budget, probs)
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
    S, sw, unc_mask = _tier_rows(tiers, covers, w, exs, factors, index)
    M, mw = _merge_rows(S, sw)
    costs = np.concatenate(tier_costs)
    has_costs = budget is not None
    limit = np.array([p if p is not None else _NO_LIMIT for p in ps], dtype=np.int64)
    prob = CoverageProblem(
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
