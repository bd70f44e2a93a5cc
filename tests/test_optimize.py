"""Tests of planner.optimize against brute force over all subsets on small instances."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.spatial import cKDTree

from planner import InfeasibleError, OptimizationError
from planner.optimize import (
    METHODS,
    Solution,
    TierSpec,
    evaluate_selection,
    merge_identical_rows,
    solve_max_coverage,
    solve_multi_tier,
    solve_p_center,
    solve_p_median,
    solve_set_cover,
)

TOL = 1e-6


# --------------------------------------------------------------------------------------------
# Instances and brute-force references
# --------------------------------------------------------------------------------------------


def random_cover(
    seed: int, n: int | None = None, m: int | None = None, density: float | None = None
):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(12, 41))
    m = m or int(rng.integers(6, 13))
    density = density or float(rng.uniform(0.1, 0.4))
    dense = rng.random((n, m)) < density
    # duplicate some rows so merging has work to do
    dup = rng.random(n) < 0.2
    src = rng.integers(0, n, n)
    dense[dup] = dense[src[dup]]
    w = np.round(rng.uniform(0, 100, n), 1)
    w[rng.random(n) < 0.05] = 0.0
    return sp.csr_array(dense), w, dense


def random_times(seed: int, n: int | None = None, m: int | None = None):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(12, 31))
    m = m or int(rng.integers(6, 11))
    d = np.sqrt(((rng.random((n, 1, 2)) - rng.random((1, m, 2))) ** 2).sum(-1))
    t = np.round(d * 1800, 0)
    cutoff = 900.0
    stored = t <= cutoff
    # snap some demand to the same "node": identical rows
    dup = rng.random(n) < 0.2
    src = rng.integers(0, n, n)
    t[dup] = t[src[dup]]
    stored[dup] = stored[src[dup]]
    T = sp.csr_array(
        (t[stored], np.nonzero(stored)[1], np.r_[0, np.cumsum(stored.sum(1))]), shape=t.shape
    )
    dense = np.where(stored, t, np.inf)
    existing = np.where(rng.random(n) < 0.3, np.round(rng.uniform(100, 1500, n)), np.inf)
    w = np.round(rng.uniform(1, 50, n), 1)
    return T, w, dense, existing


def brute_mclp(dense, w, p, *, ex=None, costs=None, budget=None):
    n, m = dense.shape
    ex = np.zeros(n, bool) if ex is None else ex
    best = 0.0
    for k in range(0, (p or m) + 1):
        for S in itertools.combinations(range(m), k):
            if budget is not None and costs[list(S)].sum() > budget + 1e-9:
                continue
            hit = dense[:, list(S)].any(axis=1) & ~ex
            best = max(best, float(w[hit].sum()))
    return best


def brute_lscp(dense, w, *, ex=None, costs=None):
    n, m = dense.shape
    ex = np.zeros(n, bool) if ex is None else ex
    need = (~ex) & dense.any(axis=1) & (w > 0)
    costs = np.ones(m) if costs is None else costs
    best = math.inf
    for k in range(0, m + 1):
        for S in itertools.combinations(range(m), k):
            if (dense[:, list(S)].any(axis=1) | ~need).all():
                best = min(best, float(costs[list(S)].sum()))
    return best


def brute_partial(dense, w, share, *, ex=None):
    n, m = dense.shape
    ex = np.zeros(n, bool) if ex is None else ex
    best = math.inf
    for k in range(0, m + 1):
        for S in itertools.combinations(range(m), k):
            hit = dense[:, list(S)].any(axis=1) | ex
            if w[hit].sum() >= share * w.sum() - 1e-9:
                best = min(best, k)
        if best < math.inf:
            return best
    return best


def node_times(dense_t, existing, penalty, S):
    base = np.minimum(existing, penalty)
    if not S:
        return base
    return np.minimum(base, np.minimum(dense_t[:, list(S)], penalty).min(axis=1))


def brute_pmedian(dense_t, w, p, existing, penalty):
    m = dense_t.shape[1]
    best = math.inf
    for S in itertools.combinations(range(m), p):
        best = min(best, float(np.dot(w, node_times(dense_t, existing, penalty, S)) / w.sum()))
    return best


def brute_pcenter(dense_t, w, p, existing, penalty):
    m = dense_t.shape[1]
    best = math.inf
    for S in itertools.combinations(range(m), p):
        best = min(best, float(node_times(dense_t, existing, penalty, S)[w > 0].max()))
    return best


def assignment_lp(benefit, w, caps):
    """max sum w_i b_ij z_ij, sum_j z_ij <= 1, sum_i w_i z_ij <= cap_j (benefit -inf = no pair)."""
    n, k = benefit.shape
    ok = np.isfinite(benefit) & (benefit > 0)
    idx = np.argwhere(ok)
    if idx.size == 0:
        return 0.0
    c = -np.array([w[i] * benefit[i, j] for i, j in idx])
    A, b = [], []
    for i in range(n):
        A.append([1.0 if ii == i else 0.0 for ii, _ in idx])
        b.append(1.0)
    for j in range(k):
        A.append([w[ii] if jj == j else 0.0 for ii, jj in idx])
        b.append(caps[j] if np.isfinite(caps[j]) else w.sum() + 1)
    res = linprog(c, A_ub=np.array(A), b_ub=np.array(b), bounds=(0, 1), method="highs")
    return -res.fun


def check_solution_fields(sol: Solution) -> None:
    assert sol.selected.dtype == np.int64
    assert np.all(np.diff(sol.selected) > 0)
    assert sol.gap >= 0
    assert sol.status in ("optimal", "time_limit", "feasible", "infeasible")
    assert isinstance(sol.history, tuple)
    assert sol.uncoverable.dtype == np.int64
    with pytest.raises(ValueError):
        sol.selected[0:1] = 0  # read-only


# --------------------------------------------------------------------------------------------
# Maximal covering
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_mclp_against_brute_force(seed):
    cover, w, dense = random_cover(seed)
    rng = np.random.default_rng(100 + seed)
    ex = rng.random(dense.shape[0]) < 0.2
    p = int(rng.integers(1, 5))
    best = brute_mclp(dense, w, p, ex=ex)
    sols = {
        m: solve_max_coverage(cover, w, p=p, covered_by_existing=ex, method=m, mip_gap=0.0)
        for m in METHODS
    }
    for m, sol in sols.items():
        check_solution_fields(sol)
        assert sol.objective <= best + TOL, m
        assert sol.bound >= best - TOL, m
        assert sol.selected.size <= p
        assert sol.covered_weight_after == pytest.approx(sol.covered_weight_before + sol.objective)
        # the reported objective is the true coverage of the reported sites
        assert sol.objective == pytest.approx(brute_mclp(dense[:, sol.selected], w, None, ex=ex))
    assert sols["greedy"].objective <= sols["heuristic"].objective + TOL
    assert sols["exact"].objective == pytest.approx(best)
    assert sols["exact"].status == "optimal"
    assert sols["auto"].objective == pytest.approx(best)
    assert sols["exact"].covered_weight_before == pytest.approx(w[ex].sum())


@pytest.mark.parametrize("seed", range(6))
def test_mclp_budget_against_brute_force(seed):
    cover, w, dense = random_cover(seed + 50)
    rng = np.random.default_rng(seed)
    costs = np.round(rng.uniform(1, 10, dense.shape[1]), 1)
    budget = float(np.round(rng.uniform(5, 20), 1))
    best = brute_mclp(dense, w, None, costs=costs, budget=budget)
    for m in ("heuristic", "exact"):
        sol = solve_max_coverage(cover, w, budget=budget, costs=costs, method=m, mip_gap=0.0)
        assert costs[sol.selected].sum() <= budget + 1e-9
        assert sol.objective <= best + TOL
        assert sol.bound >= best - TOL
    assert sol.objective == pytest.approx(best)
    # budget and p together
    sol = solve_max_coverage(cover, w, p=2, budget=budget, costs=costs, method="exact", mip_gap=0)
    assert sol.selected.size <= 2 and costs[sol.selected].sum() <= budget + 1e-9
    best2 = max(
        (
            brute_mclp(dense[:, list(S)], w, None)
            for k in range(3)
            for S in itertools.combinations(range(dense.shape[1]), k)
            if costs[list(S)].sum() <= budget
        ),
        default=0.0,
    )
    assert sol.objective == pytest.approx(best2)


@pytest.mark.parametrize("bound", ["lp", "lagrangian"])
def test_mclp_bounds_are_valid(bound):
    for seed in range(8):
        cover, w, dense = random_cover(seed + 200)
        best = brute_mclp(dense, w, 3)
        sol = solve_max_coverage(cover, w, p=3, method="heuristic", bound=bound)
        assert sol.objective <= best + TOL <= sol.bound + 2 * TOL
    costs = np.arange(1.0, dense.shape[1] + 1)
    best = brute_mclp(dense, w, None, costs=costs, budget=6.0)
    sol = solve_max_coverage(cover, w, budget=6.0, costs=costs, method="heuristic", bound=bound)
    assert best <= sol.bound + TOL


def test_mclp_swap_reaches_a_one_swap_local_optimum():
    cover, w, dense = random_cover(7, n=40, m=12, density=0.2)
    sol = solve_max_coverage(cover, w, p=3, method="heuristic")
    S = set(sol.selected.tolist())
    for k in S:
        for c in set(range(12)) - S:
            T = sorted((S - {k}) | {c})
            assert brute_mclp(dense[:, T], w, None) <= sol.objective + TOL


def test_mclp_merged_rows_give_the_same_answer():
    cover, w, dense = random_cover(3, n=40, m=10)
    merged = merge_identical_rows(cover, w)
    assert merged.cover.shape[0] < cover.shape[0]
    assert merged.weights.sum() == pytest.approx(w.sum())
    assert (merged.cover.toarray()[merged.row_of] == dense).all()
    assert (merged.first_row[merged.row_of[merged.first_row]] == merged.first_row).all()
    a = solve_max_coverage(cover, w, p=3, method="exact", mip_gap=0)
    b = solve_max_coverage(merged.cover, merged.weights, p=3, method="exact", mip_gap=0)
    assert a.objective == pytest.approx(b.objective)


def test_merge_identical_rows_keeps_the_matrix_kind_and_input():
    m = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1]], dtype=float))
    before = m.copy()
    out = merge_identical_rows(m, [1, 2, 3])
    assert isinstance(out.cover, sp.csr_matrix)
    assert out.weights.tolist() == [3.0, 3.0]
    assert out.row_of.tolist() == [0, 0, 1]
    assert (m != before).nnz == 0


def test_mclp_is_deterministic_for_a_seed():
    cover, w, _ = random_cover(11, n=40, m=12)
    a = solve_max_coverage(cover, w, p=4, method="heuristic", seed=3)
    b = solve_max_coverage(cover, w, p=4, method="heuristic", seed=3)
    assert a.selected.tolist() == b.selected.tolist() and a.objective == b.objective


def test_mclp_everything_already_covered():
    cover, w, _ = random_cover(1)
    sol = solve_max_coverage(cover, w, p=2, covered_by_existing=np.ones(w.size, bool))
    assert sol.selected.size == 0 and sol.objective == 0 and sol.status == "optimal"
    assert sol.covered_weight_after == pytest.approx(w.sum())


def test_mclp_progress_and_history():
    cover, w, _ = random_cover(2)
    seen: list[tuple[str, float]] = []
    sol = solve_max_coverage(cover, w, p=2, progress=lambda s, f: seen.append((s, f)))
    assert seen[-1] == ("done", 1.0)
    assert all(0 <= f <= 1 for _, f in seen)
    assert sol.history and all(len(h) == 3 for h in sol.history)


def test_mclp_forbidden_candidates():
    cover, w, dense = random_cover(4)
    costs = np.ones(dense.shape[1])
    costs[[0, 1]] = np.inf
    sol = solve_max_coverage(cover, w, p=3, costs=costs, budget=10, method="exact", mip_gap=0)
    assert not set(sol.selected.tolist()) & {0, 1}
    assert sol.objective == pytest.approx(brute_mclp(dense[:, 2:], w, 3))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), p=st.integers(1, 4))
def test_mclp_property_greedy_le_exact_le_bound(seed, p):
    cover, w, dense = random_cover(seed, n=20, m=8)
    g = solve_max_coverage(cover, w, p=p, method="greedy")
    e = solve_max_coverage(cover, w, p=p, method="exact", mip_gap=0)
    assert g.objective <= e.objective + TOL <= g.bound + 2 * TOL
    more = solve_max_coverage(cover, w, p=min(p + 1, 8), method="exact", mip_gap=0)
    assert more.objective >= e.objective - TOL  # coverage never falls when p grows


# --------------------------------------------------------------------------------------------
# Capacitated
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_capacitated_mclp_against_brute_force(seed):
    cover, w, dense = random_cover(seed + 300, n=15, m=6)
    rng = np.random.default_rng(seed)
    caps = np.round(rng.uniform(20, 150, 6), 0)
    caps[0] = np.inf
    p = 2
    best = 0.0
    for k in range(p + 1):
        for S in itertools.combinations(range(6), k):
            ben = np.where(dense[:, list(S)], 1.0, -np.inf)
            best = max(best, assignment_lp(ben, w, caps[list(S)]))
    for m in ("heuristic", "exact"):
        sol = solve_max_coverage(cover, w, p=p, capacities=caps, method=m, mip_gap=0)
        assert sol.loads.shape == sol.selected.shape
        assert np.all(sol.loads <= caps[sol.selected] + 1e-6)
        assert sol.loads.sum() == pytest.approx(sol.objective, rel=1e-6, abs=1e-6)
        assert sol.objective <= best + 1e-5
        assert sol.bound >= best - 1e-5
    assert sol.objective == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_capacitated_p_median_against_brute_force(seed):
    T, w, dense, existing = random_times(seed + 400, n=14, m=6)
    rng = np.random.default_rng(seed)
    caps = np.round(rng.uniform(30, 200, 6), 0)
    pen = 1200.0
    base = np.minimum(existing, pen)
    best = math.inf
    for S in itertools.combinations(range(6), 2):
        ben = base[:, None] - np.minimum(dense[:, list(S)], pen)
        sav = assignment_lp(np.where(ben > 0, ben, -np.inf), w, caps[list(S)])
        best = min(best, (np.dot(w, base) - sav) / w.sum())
    sol = solve_p_median(
        T,
        w,
        p=2,
        existing_time_s=existing,
        penalty_s=pen,
        capacities=caps,
        method="exact",
        mip_gap=0,
    )
    assert np.all(sol.loads <= caps[sol.selected] + 1e-6)
    assert sol.objective == pytest.approx(best, rel=1e-6)
    assert sol.bound <= best + 1e-6


# --------------------------------------------------------------------------------------------
# Set cover
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_lscp_against_brute_force(seed):
    cover, w, dense = random_cover(seed + 500)
    rng = np.random.default_rng(seed)
    ex = rng.random(dense.shape[0]) < 0.15
    best = brute_lscp(dense, w, ex=ex)
    for m in METHODS:
        sol = solve_set_cover(cover, w, covered_by_existing=ex, method=m, mip_gap=0)
        need = ~ex & dense.any(axis=1) & (w > 0)
        assert dense[:, sol.selected].any(axis=1)[need].all(), m
        assert sol.objective == sol.selected.size
        assert sol.objective >= best and sol.bound <= best, m
        unc = np.flatnonzero(~ex & ~dense.any(axis=1) & (w > 0))
        assert sol.uncoverable.tolist() == unc.tolist()
    assert sol.objective == best and sol.status == "optimal"


def test_lscp_exact_does_not_trust_the_warm_start_vector():
    # HiGHS 1.16 returned the warm-start vector (4 sites) as its final solution here while
    # reporting the incumbent's objective (3): the wrapper must find the real 3-site answer.
    cover, w, dense = random_cover(1031)
    ex = np.random.default_rng(1031).random(dense.shape[0]) < 0.2
    sol = solve_set_cover(cover, w, covered_by_existing=ex, method="exact", mip_gap=0)
    assert sol.objective == brute_lscp(dense, w, ex=ex) == 3
    assert sol.status == "optimal" and sol.gap == 0


def test_lscp_costs_against_brute_force():
    for seed in range(4):
        cover, w, dense = random_cover(seed + 600)
        costs = np.round(np.random.default_rng(seed).uniform(1, 5, dense.shape[1]), 2)
        best = brute_lscp(dense, w, costs=costs)
        sol = solve_set_cover(cover, w, costs=costs, method="exact", mip_gap=0)
        assert sol.objective == pytest.approx(best)
        assert sol.bound <= best + 1e-9


@pytest.mark.parametrize("share", [0.5, 0.8, 0.9])
def test_lscp_target_share_against_brute_force(share):
    cover, w, dense = random_cover(42, n=30, m=10, density=0.3)
    reach = w[dense.any(axis=1)].sum() / w.sum()
    if share > reach:
        with pytest.raises(InfeasibleError, match="best|reached"):
            solve_set_cover(cover, w, target_share=share)
        return
    best = brute_partial(dense, w, share)
    sol = solve_set_cover(cover, w, target_share=share, method="exact", mip_gap=0)
    assert sol.objective == best
    assert sol.covered_weight_after >= share * w.sum() - 1e-6


def test_lscp_unreachable_share_says_best_share():
    dense = np.array([[1, 0], [0, 1], [0, 0]], dtype=bool)
    with pytest.raises(InfeasibleError, match=r"covered share is 0\.5000"):
        solve_set_cover(sp.csr_array(dense), [1, 1, 2], target_share=0.9)


# --------------------------------------------------------------------------------------------
# p-median and p-center
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_p_median_against_brute_force(seed):
    T, w, dense, existing = random_times(seed + 700)
    p = int(np.random.default_rng(seed).integers(1, 4))
    pen = 1200.0
    best = brute_pmedian(dense, w, p, existing, pen)
    sols = {
        m: solve_p_median(T, w, p=p, existing_time_s=existing, penalty_s=pen, method=m, mip_gap=0)
        for m in METHODS
    }
    for m, sol in sols.items():
        check_solution_fields(sol)
        assert sol.objective >= best - 1e-6, m
        assert sol.bound <= best + 1e-6, m
        assert sol.objective == pytest.approx(
            np.dot(w, node_times(dense, existing, pen, sol.selected.tolist())) / w.sum()
        )
        assert sol.loads.size == sol.selected.size
    assert sols["exact"].objective == pytest.approx(best)
    assert sols["auto"].objective == pytest.approx(best)
    assert sols["greedy"].objective >= sols["heuristic"].objective - 1e-9


def test_p_median_lagrangian_bound_is_valid():
    for seed in range(6):
        T, w, dense, existing = random_times(seed + 900)
        best = brute_pmedian(dense, w, 2, existing, 1200.0)
        lp = solve_p_median(
            T, w, p=2, existing_time_s=existing, penalty_s=1200.0, method="heuristic", bound="lp"
        )
        lg = solve_p_median(
            T,
            w,
            p=2,
            existing_time_s=existing,
            penalty_s=1200.0,
            method="heuristic",
            bound="lagrangian",
        )
        assert lg.bound <= best + 1e-6 and lp.bound <= best + 1e-6
        assert lg.objective == lp.objective  # the bound does not change the heuristic


def test_p_median_is_deterministic_for_a_seed():
    T, w, _, existing = random_times(17, n=30, m=10)
    a = solve_p_median(T, w, p=3, existing_time_s=existing, method="heuristic", seed=5)
    b = solve_p_median(T, w, p=3, existing_time_s=existing, method="heuristic", seed=5)
    assert a.selected.tolist() == b.selected.tolist() and a.objective == b.objective


def test_p_median_default_penalty_and_covered_weight():
    T, w, dense, existing = random_times(5)
    pen = float(T.data.max())
    sol = solve_p_median(
        T, w, p=2, existing_time_s=existing, method="exact", mip_gap=0, threshold_s=600
    )
    assert sol.objective == pytest.approx(brute_pmedian(dense, w, 2, existing, pen))
    times = node_times(dense, existing, pen, sol.selected.tolist())
    assert sol.covered_weight_after == pytest.approx(w[times <= 600].sum())
    assert sol.covered_weight_before == pytest.approx(w[existing <= 600].sum())


@pytest.mark.parametrize("seed", range(8))
def test_p_center_against_brute_force(seed):
    T, w, dense, existing = random_times(seed + 800)
    p = int(np.random.default_rng(seed).integers(1, 4))
    pen = 1200.0
    best = brute_pcenter(dense, w, p, existing, pen)
    for m in ("heuristic", "exact", "auto"):
        sol = solve_p_center(
            T, w, p=p, existing_time_s=existing, penalty_s=pen, method=m, mip_gap=0
        )
        assert sol.objective >= best - 1e-9 and sol.bound <= best + 1e-9, m
        assert sol.objective == pytest.approx(
            node_times(dense, existing, pen, sol.selected.tolist())[w > 0].max()
        )
    assert sol.objective == pytest.approx(best)
    assert sol.status == "optimal"


# --------------------------------------------------------------------------------------------
# Multi-tier
# --------------------------------------------------------------------------------------------


def brute_multi(dense_by_tier, w, factors, serves, ps, costs=None, budget=None, exs=None):
    nt = len(dense_by_tier)
    n, m = dense_by_tier[0].shape
    exs = exs or [np.zeros(n, bool)] * nt
    best = 0.0
    for assign in itertools.product(range(-1, nt), repeat=m):
        a = np.array(assign)
        if any(ps[t] is not None and (a == t).sum() > ps[t] for t in range(nt)):
            continue
        if budget is not None:
            cost = sum(costs[t][j] for j, t in enumerate(assign) if t >= 0)
            if cost > budget + 1e-9:
                continue
        val = 0.0
        for t in range(nt):
            meets = [u for u in range(nt) if u == t or t in serves[u]]
            cols = np.isin(a, meets)
            hit = dense_by_tier[t][:, cols].any(axis=1) & ~exs[t]
            val += factors[t] * w[hit].sum()
        best = max(best, val)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_multi_tier_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = 14, 6
    near = rng.random((n, m)) < 0.2
    far = near | (rng.random((n, m)) < 0.3)  # the center's threshold is longer
    w = np.round(rng.uniform(1, 50, n), 1)
    ex_station = rng.random(n) < 0.2
    tiers = [
        TierSpec("center", sp.csr_array(far), p=1, weight_factor=2.0, serves=("station",)),
        TierSpec("station", sp.csr_array(near), p=2, covered_by_existing=ex_station),
    ]
    best = brute_multi(
        [far, near], w, [2.0, 1.0], [(1,), ()], [1, 2], exs=[np.zeros(n, bool), ex_station]
    )
    for method in ("heuristic", "exact"):
        sol = solve_multi_tier(tiers, w, method=method, mip_gap=0)
        assert sol.objective <= best + TOL and sol.bound >= best - TOL
        assert np.unique(sol.selected).size == sol.selected.size  # one tier per site
        assert (sol.tier_of_selected == "center").sum() <= 1
        assert (sol.tier_of_selected == "station").sum() <= 2
    assert sol.objective == pytest.approx(best)


def test_multi_tier_shared_budget():
    rng = np.random.default_rng(9)
    n, m = 12, 5
    a = rng.random((n, m)) < 0.3
    b = rng.random((n, m)) < 0.3
    w = np.round(rng.uniform(1, 50, n), 1)
    ca = np.round(rng.uniform(3, 6, m), 1)
    cb = np.round(rng.uniform(1, 3, m), 1)
    tiers = [TierSpec("a", sp.csr_array(a), costs=ca), TierSpec("b", sp.csr_array(b), costs=cb)]
    best = brute_multi([a, b], w, [1.0, 1.0], [(), ()], [None, None], costs=[ca, cb], budget=8)
    sol = solve_multi_tier(tiers, w, budget=8, method="exact", mip_gap=0)
    spent = sum(
        (ca if t == "a" else cb)[j] for j, t in zip(sol.selected, sol.tier_of_selected, strict=True)
    )
    assert spent <= 8 + 1e-9
    assert sol.objective == pytest.approx(best)


# --------------------------------------------------------------------------------------------
# evaluate_selection
# --------------------------------------------------------------------------------------------


def test_evaluate_selection_against_brute_force():
    cover, w, dense = random_cover(13, n=40, m=10)
    ex = np.random.default_rng(1).random(40) < 0.2
    sel = [4, 1, 7]
    ev = evaluate_selection(cover, w, sel, covered_by_existing=ex)
    act = ~ex
    for k, j in enumerate(sel):
        assert ev.alone[k] == pytest.approx(w[dense[:, j] & act].sum())
        others = [s for s in sel if s != j]
        assert ev.exclusive[k] == pytest.approx(
            w[dense[:, j] & ~dense[:, others].any(axis=1) & act].sum()
        )
        before = dense[:, sel[:k]].any(axis=1) if k else np.zeros(40, bool)
        assert ev.marginal[k] == pytest.approx(w[dense[:, j] & ~before & act].sum())
    assert ev.total == pytest.approx(w[dense[:, sel].any(axis=1) & act].sum())
    assert ev.marginal.sum() == pytest.approx(ev.total)
    assert ev.covered_weight_after == pytest.approx(w[ex].sum() + ev.total)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.fixture
def small():
    cover, w, _ = random_cover(0, n=20, m=8)
    return cover, w


def test_old_evaluation_names_warn_and_give_the_same_answer():
    """optimize.evaluate_sites / SiteEvaluation are deprecated aliases (renamed so they are not
    confused with planner.siting's): they warn and return the same result."""
    import planner.optimize as opt

    cover, w, _ = random_cover(13, n=40, m=10)
    new = evaluate_selection(cover, w, [4, 1, 7])
    with pytest.warns(DeprecationWarning, match="evaluate_selection"):
        old = opt.evaluate_sites(cover, w, [4, 1, 7])
    assert isinstance(old, opt.SelectionEvaluation)
    assert old.marginal.tolist() == new.marginal.tolist() and old.total == new.total
    with pytest.warns(DeprecationWarning, match="SelectionEvaluation"):
        cls = opt.SiteEvaluation
    assert cls is opt.SelectionEvaluation
    with pytest.raises(AttributeError):
        opt.NoSuchName  # noqa: B018


def test_documented_internal_lp_relaxation_bounds_the_solution():
    """CoverageProblem / coverage_model / solve_lp_relaxation (the bench's LP-only step): the LP
    bound of an MCLP is at least the optimum found by brute force, and at most all weight."""
    from planner.optimize import CoverageProblem, coverage_model, solve_lp_relaxation

    cover, w, dense = random_cover(5, n=30, m=8)
    n = cover.shape[1]
    M, mw, _, _ = merge_identical_rows(cover, w)
    prob = CoverageProblem(
        A=M,
        w=mw,
        costs=np.ones(n),
        label=np.zeros(n, np.int32),
        limit=np.array([2]),
        site=np.arange(n, dtype=np.int32),
        n_sites=n,
        budget=math.inf,
        has_costs=False,
    )
    model, _, _ = coverage_model(prob, integer=False)
    out = solve_lp_relaxation(model, time_limit=30.0, seed=0)
    best = max(w[dense[:, list(c)].any(axis=1)].sum() for c in itertools.combinations(range(n), 2))
    assert out.status == "optimal"
    assert best - 1e-6 <= out.bound <= w[dense.any(axis=1)].sum() + 1e-6
    with pytest.raises(TypeError):
        CoverageProblem(M, mw)  # type: ignore[misc]  # keyword-only


def test_error_p_larger_than_candidates(small):
    cover, w = small
    with pytest.raises(OptimizationError, match=r"p=9 but there are only 8 candidate sites"):
        solve_max_coverage(cover, w, p=9)


def test_error_p_below_one(small):
    cover, w = small
    with pytest.raises(OptimizationError, match=r"p=0 asks for fewer than one"):
        solve_max_coverage(cover, w, p=0)
    with pytest.raises(ValueError, match=r"p=0"):  # also a ValueError
        solve_p_median(sp.csr_array(np.eye(3)), [1, 1, 1], p=0)


def test_error_no_candidates():
    with pytest.raises(OptimizationError, match="no candidate columns"):
        solve_max_coverage(sp.csr_array((5, 0), dtype=bool), np.ones(5), p=1)
    with pytest.raises(OptimizationError, match="no candidate covers any demand unit"):
        solve_set_cover(sp.csr_array((5, 3), dtype=bool), np.ones(5))
    with pytest.raises(OptimizationError, match="no candidate is within the cutoff"):
        solve_p_median(sp.csr_array((5, 3)), np.ones(5), p=1)


def test_error_negative_budget_and_costs(small):
    cover, w = small
    with pytest.raises(OptimizationError, match=r"budget=-1 must be a number >= 0"):
        solve_max_coverage(cover, w, budget=-1)
    costs = np.ones(8)
    costs[3] = -2
    with pytest.raises(OptimizationError, match=r"costs has negative or NaN values at positions 3"):
        solve_max_coverage(cover, w, budget=5, costs=costs)
    with pytest.raises(OptimizationError, match=r"costs has negative or NaN"):
        solve_set_cover(cover, w, costs=costs)


def test_error_shapes_say_which(small):
    cover, w = small
    with pytest.raises(OptimizationError, match=r"weights has 19 values but there are 20"):
        solve_max_coverage(cover, w[:-1], p=1)
    with pytest.raises(OptimizationError, match=r"costs has 7 values but there are 8"):
        solve_max_coverage(cover, w, budget=3, costs=np.ones(7))
    with pytest.raises(OptimizationError, match=r"covered_by_existing has 3 values"):
        solve_max_coverage(cover, w, p=1, covered_by_existing=[True, False, True])
    with pytest.raises(OptimizationError, match=r"capacities has 2 values"):
        solve_max_coverage(cover, w, p=1, capacities=[1, 2])
    with pytest.raises(OptimizationError, match=r"existing_time_s has 2 values but time_s has 3"):
        solve_p_median(sp.csr_array(np.eye(3)), [1, 1, 1], p=1, existing_time_s=[1, 2])
    with pytest.raises(OptimizationError, match=r"tier 'b' cover has shape \(3, 2\)"):
        solve_multi_tier(
            [TierSpec("a", np.eye(2), p=1), TierSpec("b", np.ones((3, 2)), p=1)], [1, 1]
        )


def test_error_weights_negative_or_nan(small):
    cover, w = small
    bad = w.copy()
    bad[[2, 5]] = [-1, np.nan]
    with pytest.raises(
        OptimizationError,
        match=r"weights has negative, NaN or infinite values "
        r"at positions 2, 5",
    ):
        solve_max_coverage(cover, bad, p=1)
    with pytest.raises(OptimizationError, match="weights"):
        evaluate_selection(cover, bad, [0])


def test_error_collects_every_problem(small):
    cover, w = small
    with pytest.raises(OptimizationError, match=r"3 problems") as e:
        solve_max_coverage(cover, w[:-1], p=99, method="fast")
    assert "method='fast'" in str(e.value)


def test_error_other_cases(small):
    cover, w = small
    with pytest.raises(OptimizationError, match="neither p nor budget"):
        solve_max_coverage(cover, w)
    with pytest.raises(OptimizationError, match=r"target_share=1.5 must be in \(0, 1\]"):
        solve_set_cover(cover, w, target_share=1.5)
    with pytest.raises(OptimizationError, match="serves unknown tier 'clinic'"):
        solve_multi_tier([TierSpec("a", cover, p=1, serves=("clinic",))], w)
    with pytest.raises(OptimizationError, match="neither p nor costs"):
        solve_multi_tier([TierSpec("a", cover)], w)
    with pytest.raises(OptimizationError, match="selected repeats a site"):
        evaluate_selection(cover, w, [1, 1])
    with pytest.raises(OptimizationError, match="time_s holds negative"):
        solve_p_center(sp.csr_array(np.array([[-1.0, 2.0]])), [1], p=1)
    with pytest.raises(OptimizationError, match="time_limit_s"):
        solve_max_coverage(cover, w, p=1, time_limit_s=0)


# --------------------------------------------------------------------------------------------
# Medium instance: certified gap
# --------------------------------------------------------------------------------------------


def medium_instance(n=20_000, m=2_000, per_demand=10.0, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.random((8, 2))
    k = rng.integers(0, 8, n)
    demand = np.clip(centers[k] + rng.normal(0, 0.05, (n, 2)), 0, 1)
    cand = rng.random((m, 2))
    r = math.sqrt(per_demand / (math.pi * m)) * 0.8
    tree = cKDTree(cand)
    lists = tree.query_ball_point(demand, r)
    indptr = np.r_[0, np.cumsum([len(x) for x in lists])]
    indices = np.concatenate([np.sort(x) for x in lists]).astype(np.int32)
    cover = sp.csr_array((np.ones(indices.size, bool), indices, indptr), shape=(n, m))
    w = np.round(rng.lognormal(3.5, 1.0, n), 1)
    return cover, w


def test_time_limit_is_never_reported_as_optimal():
    cover, w = medium_instance(n=8000, m=800, seed=3)
    sol = solve_max_coverage(cover, w, p=40, method="exact", mip_gap=0.0, time_limit_s=1.0)
    assert sol.seconds < 10
    if sol.gap > 1e-9:
        assert sol.status == "time_limit"
    assert sol.objective <= sol.bound


@pytest.mark.slow
def test_medium_instance_certified_gap_below_one_percent():
    cover, w = medium_instance()
    assert 5 < cover.nnz / cover.shape[0] < 20
    sol = solve_max_coverage(cover, w, p=50, method="heuristic", time_limit_s=60)
    assert sol.gap <= 0.01, sol
    assert sol.objective <= sol.bound
    auto = solve_max_coverage(cover, w, p=50, method="auto", time_limit_s=30)
    assert auto.objective >= sol.objective - 1e-6
    assert auto.gap <= max(sol.gap, 0.005) + 1e-12
