"""Benchmark of planner.optimize on synthetic siting instances, with spopt's MCLP for scale.

Run ``python -m bench.bench_optimize`` (full, ~15-25 minutes) or ``--quick`` (under 2 minutes).
Prints a table and writes it to ``bench/results/optimize.md``.

Instances: demand points (clustered like a city, snapped to a lattice of "road nodes" so some
share a covering set) and candidate sites on the unit square; a candidate covers a demand point
within a radius tuned to give ~10 candidates per demand point (walk-like) or a share of all
candidates (drive-like, 18 %). Travel times are distance / radius x 900 s, so the radius is the
15-minute threshold.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from bench import bench_engine
from planner import optimize as opt

RESULTS = Path(__file__).resolve().parent / "results" / "optimize.md"
THRESHOLD_S = 900.0


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


@dataclass
class Instance:
    name: str
    demand_xy: np.ndarray
    cand_xy: np.ndarray
    weights: np.ndarray
    radius: float
    cover: sp.csr_array
    covered_by_existing: np.ndarray
    existing_time_s: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.cover.shape


@nb.njit(cache=True)
def _count_pairs(dx, dy, cx, cy, order, cell_start, g, h, r2):  # pragma: no cover
    n = dx.size
    counts = np.zeros(n, np.int64)
    for i in range(n):
        gx = int(dx[i] / h)
        gy = int(dy[i] / h)
        c = 0
        for ax in range(max(gx - 1, 0), min(gx + 2, g)):
            for ay in range(max(gy - 1, 0), min(gy + 2, g)):
                cell = ax * g + ay
                for q in range(cell_start[cell], cell_start[cell + 1]):
                    j = order[q]
                    ex = cx[j] - dx[i]
                    ey = cy[j] - dy[i]
                    if ex * ex + ey * ey <= r2:
                        c += 1
        counts[i] = c
    return counts


@nb.njit(cache=True)
def _fill_pairs(
    dx, dy, cx, cy, order, cell_start, g, h, r2, indptr, indices, dist
):  # pragma: no cover
    for i in range(dx.size):
        gx = int(dx[i] / h)
        gy = int(dy[i] / h)
        k = indptr[i]
        for ax in range(max(gx - 1, 0), min(gx + 2, g)):
            for ay in range(max(gy - 1, 0), min(gy + 2, g)):
                cell = ax * g + ay
                for q in range(cell_start[cell], cell_start[cell + 1]):
                    j = order[q]
                    ex = cx[j] - dx[i]
                    ey = cy[j] - dy[i]
                    d2 = ex * ex + ey * ey
                    if d2 <= r2:
                        indices[k] = j
                        dist[k] = math.sqrt(d2)
                        k += 1


def pairs_within(demand_xy: np.ndarray, cand_xy: np.ndarray, radius: float) -> sp.csr_array:
    """CSR of distances of every (demand, candidate) pair within ``radius`` (grid buckets)."""
    g = max(1, int(1.0 / radius))
    h = 1.0 / g
    cell = np.minimum((cand_xy[:, 0] / h).astype(np.int64), g - 1) * g + np.minimum(
        (cand_xy[:, 1] / h).astype(np.int64), g - 1
    )
    order = np.argsort(cell, kind="stable").astype(np.int64)
    cell_start = np.searchsorted(cell[order], np.arange(g * g + 1)).astype(np.int64)
    dx, dy = (np.ascontiguousarray(demand_xy[:, k]) for k in (0, 1))
    cx, cy = (np.ascontiguousarray(cand_xy[:, k]) for k in (0, 1))
    counts = _count_pairs(dx, dy, cx, cy, order, cell_start, g, h, radius * radius)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    dist = np.empty(int(indptr[-1]), dtype=np.float64)
    _fill_pairs(dx, dy, cx, cy, order, cell_start, g, h, radius * radius, indptr, indices, dist)
    return sp.csr_array((dist, indices, indptr), shape=(len(dx), len(cx)))


def _clustered(
    rng: np.random.Generator, n: int, n_clusters: int, spread: float, uniform_share: float
) -> np.ndarray:
    centers = rng.random((n_clusters, 2))
    scale = rng.lognormal(0.0, 0.5, n_clusters)
    k = rng.integers(0, n_clusters, n)
    pts = centers[k] + rng.normal(0.0, spread, (n, 2)) * scale[k, None]
    u = rng.random(n) < uniform_share
    pts[u] = rng.random((int(u.sum()), 2))
    return np.clip(pts, 0.0, 1.0 - 1e-9)


def make_instance(
    n_demand: int,
    n_cand: int,
    *,
    kind: str = "walk",
    per_demand: float = 10.0,
    density: float = 0.18,
    seed: int = 0,
    existing_share: float = 0.05,
) -> Instance:
    """A seedable synthetic siting instance.

    ``kind="walk"``: radius giving ~``per_demand`` candidates per demand point;
    ``kind="drive"``: radius giving ``density`` of all candidates per demand point.
    ``existing_share``: existing facilities as a share of the candidate count.
    """
    rng = np.random.default_rng(seed)
    n_clusters = max(4, n_demand // 2500)
    demand = _clustered(rng, n_demand, n_clusters, 0.04, 0.25)
    # demand points join the road network at lattice nodes: some share a node
    lattice = 0.6 / math.sqrt(n_demand)
    demand = np.clip((np.floor(demand / lattice) + 0.5) * lattice, 0.0, 1.0 - 1e-9)
    cand = _clustered(rng, n_cand, n_clusters, 0.06, 0.5)
    weights = np.round(rng.lognormal(3.5, 1.0, n_demand), 1)
    target = per_demand if kind == "walk" else density * n_cand
    tree = cKDTree(cand)
    sample = demand[rng.choice(n_demand, size=min(n_demand, 3000), replace=False)]
    k = max(1, min(int(round(target)), n_cand))
    r = float(np.median(tree.query(sample, k=[k])[0]))
    for _ in range(3):  # calibrate the mean count
        mean = float(np.mean(tree.query_ball_point(sample, r, return_length=True)))
        r *= math.sqrt(target / max(mean, 1e-9))
    dist = pairs_within(demand, cand, r)
    cover = sp.csr_array(
        (np.ones(dist.nnz, dtype=bool), dist.indices, dist.indptr), shape=dist.shape
    )
    n_ex = max(1, int(existing_share * n_cand))
    existing = _clustered(rng, n_ex, n_clusters, 0.05, 0.3)
    d_ex, _ = cKDTree(existing).query(demand, k=1)
    ex_time = d_ex / r * THRESHOLD_S
    name = f"{kind} {n_demand // 1000}k x {n_cand / 1000:g}k"
    return Instance(name, demand, cand, weights, r, cover, ex_time <= THRESHOLD_S, ex_time)


def time_matrix(inst: Instance, cutoff_factor: float = 2.0) -> sp.csr_array:
    """Travel times (s) within ``cutoff_factor`` x the 15-minute radius."""
    d = pairs_within(inst.demand_xy, inst.cand_xy, inst.radius * cutoff_factor)
    return sp.csr_array((d.data / inst.radius * THRESHOLD_S, d.indices, d.indptr), shape=d.shape)


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------


def _rss_peak_mb() -> float:
    """The process's resident-memory high-water mark (MB) since :func:`bench_engine.measure`
    last reset it."""
    return bench_engine._status_kb("VmHWM") / 1024


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak resident memory in MB during the call) of one run."""
    out, secs, _, _ = bench_engine.measure(fn, 1)
    return out, secs, _rss_peak_mb()


ROWS: list[dict[str, Any]] = []


def record(
    inst: str,
    nnz: int,
    p: int,
    method: str,
    seconds: float,
    objective: float,
    bound: float = math.nan,
    gap: float = math.nan,
    status: str = "",
    mem: float = math.nan,
    note: str = "",
    **extra: Any,
) -> None:
    """One table row; ``extra`` (``key`` and the like) is kept for :func:`summary_rows`."""
    row = dict(
        instance=inst,
        nnz=nnz,
        p=p,
        method=method,
        seconds=seconds,
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        mem=mem,
        note=note,
        **extra,
    )
    ROWS.append(row)
    print(_fmt(row), flush=True)


def record_solution(
    inst: str,
    nnz: int,
    p: int,
    method: str,
    seconds: float,
    sol: opt.Solution,
    mem: float = math.nan,
    note: str = "",
    **extra: Any,
) -> None:
    """:func:`record` of a planner solution: its objective, bound, gap and status."""
    record(
        inst,
        nnz,
        p,
        method,
        seconds,
        sol.objective,
        sol.bound,
        sol.gap,
        sol.status,
        mem,
        note,
        **extra,
    )


def _num(x: float, fmt: str) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _fmt(r: dict[str, Any]) -> str:
    return (
        f"| {r['instance']} | {r['nnz']:,} | {r['p']} | {r['method']} | "
        f"{_num(r['seconds'], '.3f')} | {_num(r['objective'], ',.1f')} | "
        f"{_num(r['bound'], ',.1f')} | {_num(100 * r['gap'], '.3f') if r['gap'] == r['gap'] else ''} | "
        f"{r['status']} | {_num(r['mem'], ',.0f')} | {r['note']} |"
    )


HEADER = (
    "| instance | pairs | p | method | seconds | objective | bound | gap % | status | "
    "peak RSS MB | note |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


def run_mclp(
    inst: Instance,
    p: int,
    *,
    methods: tuple[str, ...],
    milp_limit: float,
    with_existing: bool = True,
    bound: str = "auto",
    repeat: int = 1,
    key: str = "",
) -> None:
    """``repeat`` > 1: median seconds of that many runs (and ``key``, the issue's target the
    rows measure, for :func:`summary_rows`)."""
    ex = inst.covered_by_existing if with_existing else None
    for method in methods:
        limit = milp_limit if method in ("auto", "exact") else 600.0

        def solve(m: str = method, t: float = limit) -> opt.Solution:
            return opt.solve_max_coverage(
                inst.cover,
                inst.weights,
                p=p,
                covered_by_existing=ex,
                method=m,
                time_limit_s=t,
                mip_gap=0.0 if m == "exact" else 0.005,
                bound=bound,
            )

        sol, secs, rise, _ = bench_engine.measure(solve, repeat)
        mem = _rss_peak_mb()  # of the last run: bench_engine.measure resets it before each
        kind = {
            "lp": "LP bound",
            "lagrangian": "Lagrangian bound",
            "auto": "LP bound" if inst.cover.nnz < 2_000_000 else "bound (auto)",
        }[bound]
        label = {
            "greedy": f"greedy + {kind}",
            "heuristic": f"greedy+swap + {kind}",
            "auto": "auto (heuristic, then MILPs if gap > 0.5 %)",
            "exact": f"exact: MILP warm-started, mip_gap=0, {milp_limit:g} s limit",
        }[method]
        if not with_existing:
            label += ", no existing facilities"
        if repeat > 1:
            label += f", median of {repeat} runs"
        stages = _stage_times(sol)
        record_solution(
            inst.name,
            inst.cover.nnz,
            p,
            label,
            secs,
            sol,
            mem,
            stages,
            key=key,
            rise_mb=rise,
            runs=repeat,
        )


def _stage_times(sol: opt.Solution) -> str:
    """When the heuristic finished (last history entry before the first bound) and when the
    first bound was known, for the note column."""
    h = sol.history
    k = next((i for i, (_, _, b) in enumerate(h) if b == b), len(h))
    parts = [f"solver {sol.solver}"]
    if k > 0:
        parts.append(f"heuristic {h[k - 1][0]:.3f} s (obj {h[k - 1][1]:,.1f})")
    if k < len(h):
        parts.append(f"bound at {h[k][0]:.2f} s")
    return "; ".join(parts)


def run_lp_only(inst: Instance, p: int, with_existing: bool = True) -> None:
    """Time of the LP relaxation alone (the bound step)."""
    from planner.optimize import CoverageProblem, coverage_model, solve_lp_relaxation

    A = inst.cover
    ex = inst.covered_by_existing if with_existing else np.zeros(A.shape[0], bool)
    act = np.flatnonzero(~ex & (np.diff(A.indptr) > 0) & (inst.weights > 0))
    M, mw, _, _ = opt.merge_identical_rows(A[act], inst.weights[act])
    n = A.shape[1]
    prob = CoverageProblem(
        A=M,
        w=mw,
        costs=np.ones(n),
        label=np.zeros(n, np.int32),
        limit=np.array([p]),
        site=np.arange(n, dtype=np.int32),
        n_sites=n,
        budget=math.inf,
        has_costs=False,
    )
    model, _, _ = coverage_model(prob, integer=False)
    out, secs, mem = measure(lambda: solve_lp_relaxation(model, time_limit=600.0, seed=0))
    record(
        inst.name,
        inst.cover.nnz,
        p,
        "LP relaxation alone (HiGHS IPM, no crossover)",
        secs,
        math.nan,
        out.bound,
        math.nan,
        out.status,
        mem,
        f"{M.shape[0]:,} merged rows of {act.size:,} active; model {model.A.shape[0]:,} x "
        f"{model.A.shape[1]:,}, {model.A.nnz:,} nz",
    )


def run_spopt(sizes: list[tuple[int, int, int]], budget_s: float, seed: int = 1) -> None:
    """spopt MCLP (dense cost matrix, PuLP + HiGHS) on growing instances, planner beside it."""
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError as e:  # pragma: no cover
        print(f"spopt not available: {e}")
        return
    import warnings

    for n_d, n_c, p in sizes:  # grow until one run exceeds the budget
        inst = make_instance(n_d, n_c, kind="walk", seed=seed)
        holder: dict[str, np.ndarray] = {}

        def spopt_run(inst: Instance = inst, p: int = p, holder: dict = holder) -> Any:
            # spopt's input: the dense demand x candidate cost matrix
            d = np.sqrt(((inst.demand_xy[:, None, :] - inst.cand_xy[None, :, :]) ** 2).sum(-1))
            holder["dense"] = d
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = MCLP.from_cost_matrix(
                    d, inst.weights, service_radius=inst.radius, p_facilities=p
                )
                m.solve(pulp.HiGHS(msg=False, timeLimit=budget_s))
            return m

        m, secs, mem = measure(spopt_run)
        dense = holder.pop("dense")
        status = pulp.LpStatus[m.problem.status]
        fac = np.array([j for j, v in enumerate(m.fac_vars) if v.value() and v.value() > 0.5])
        cov = (dense[:, fac] <= inst.radius).any(axis=1) if fac.size else np.zeros(n_d, bool)
        s_obj = float(inst.weights[cov].sum())
        del dense
        record(
            inst.name,
            inst.cover.nnz,
            p,
            "spopt MCLP.from_cost_matrix + PuLP HiGHS",
            secs,
            s_obj,
            math.nan,
            math.nan,
            status.lower(),
            mem,
            "dense cost matrix",
            key="spopt",
            budget_s=budget_s,
        )
        for method, gap in (("auto", 0.005), ("exact", 0.0)):
            sol, psecs, pmem = measure(
                lambda inst=inst, p=p, m=method, g=gap: opt.solve_max_coverage(
                    inst.cover, inst.weights, p=p, method=m, mip_gap=g, time_limit_s=budget_s
                )
            )
            record_solution(
                inst.name,
                inst.cover.nnz,
                p,
                f"planner {method} (mip_gap={gap:g}), same instance",
                psecs,
                sol,
                pmem,
                f"planner/spopt: time {psecs / secs:.4f}, objective {sol.objective / s_obj:.5f}",
                key=f"spopt-planner-{method}",
            )
        if secs > budget_s:
            print(f"spopt {n_d}x{n_c} took {secs:.0f} s > {budget_s:.0f} s: stopping")
            break


def orlib_pmedian(n: int, m: int, seed: int) -> np.ndarray:
    """An OR-Library-style p-median instance (Beasley's pmed generator): ``m`` random edges with
    costs 1-100 plus a spanning path, shortest-path distances between all ``n`` nodes."""
    from scipy.sparse.csgraph import shortest_path

    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    i = np.r_[rng.integers(0, n, m), perm[:-1]]
    j = np.r_[rng.integers(0, n, m), perm[1:]]
    c = rng.integers(1, 101, m + n - 1).astype(float)
    return shortest_path(sp.coo_matrix((c, (i, j)), shape=(n, n)).tocsr(), directed=False)


def scipy_pmedian(dist: np.ndarray, p: int, time_limit: float) -> tuple[float, str]:
    """The textbook p-median MILP (assign x_ij <= y_j) solved by ``scipy.optimize.milp``."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = dist.shape[0]
    nx = n * n
    one_site = sp.hstack([sp.kron(sp.eye(n), np.ones((1, n))), sp.csr_matrix((n, n))])
    open_only = sp.hstack([sp.eye(nx), -sp.kron(np.ones((n, 1)), sp.eye(n))])
    count = sp.hstack([sp.csr_matrix((1, nx)), np.ones((1, n))])
    res = milp(
        np.r_[dist.ravel(), np.zeros(n)],
        constraints=[
            LinearConstraint(one_site, 1, 1),
            LinearConstraint(open_only, -np.inf, 0),
            LinearConstraint(count, p, p),
        ],
        integrality=np.r_[np.zeros(nx), np.ones(n)],
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "mip_rel_gap": 0.0},
    )
    return float(res.fun) / n, "optimal" if res.status == 0 else f"status {res.status}"


def run_orlib(sizes: list[tuple[int, int, int]], time_limit: float) -> None:
    """Dense p-median instances of the OR-Library kind: planner (full time matrix) against the
    textbook MILP in scipy/HiGHS, both to the end (``mip_gap=0``) and with the default gap."""
    for k, (n, m, p) in enumerate(sizes):
        dist = orlib_pmedian(n, m, seed=k + 1) * 60.0
        name = f"pmed-like n={n} p={p}"
        (ref, status), secs, mem = measure(lambda d=dist, p=p: scipy_pmedian(d, p, time_limit))
        record(
            name, n * n, p, "scipy.optimize.milp, textbook model", secs, ref, ref, 0.0, status, mem
        )
        times = sp.csr_array(dist + 1e-9)  # every pair stored (zeros kept by the offset)
        top = float(dist.max())
        ones = np.ones(n)

        def planner_run(g: float, t=times, w=ones, p=p, top=top) -> opt.Solution:
            return opt.solve_p_median(
                t,
                w,
                p=p,
                threshold_s=top + 1,
                penalty_s=10 * top,
                mip_gap=g,
                time_limit_s=time_limit,
            )

        for gap in (0.005, 0.0):
            sol, psecs, pmem = measure(lambda g=gap: planner_run(g))
            record_solution(
                name,
                n * n,
                p,
                f"planner auto (mip_gap={gap:g})",
                psecs,
                sol,
                pmem,
                f"planner/scipy: time {psecs / secs:.3f}, objective {sol.objective / ref:.5f}",
                key=f"orlib-{gap:g}",
            )


def run_other(inst: Instance, p: int, time_limit: float) -> None:
    """Set cover, p-median, p-center and a capacitated MCLP on one instance."""
    sol, secs, mem = measure(
        lambda: opt.solve_set_cover(
            inst.cover,
            inst.weights,
            covered_by_existing=inst.covered_by_existing,
            time_limit_s=time_limit,
        )
    )
    record_solution(
        inst.name,
        inst.cover.nnz,
        sol.selected.size,
        "set cover (auto)",
        secs,
        sol,
        mem,
        f"solver {sol.solver}; {sol.uncoverable.size} uncoverable units",
    )
    n_cover_all = int(opt.solve_set_cover(inst.cover, inst.weights, method="heuristic").objective)
    T = time_matrix(inst)
    sol, secs, mem = measure(
        lambda: opt.solve_p_median(
            T,
            inst.weights,
            p=p,
            existing_time_s=inst.existing_time_s,
            penalty_s=2 * THRESHOLD_S,
            method="heuristic",
            time_limit_s=time_limit,
        )
    )
    record_solution(
        inst.name,
        T.nnz,
        p,
        "p-median greedy+swap + bound (mean s)",
        secs,
        sol,
        mem,
        f"solver {sol.solver}; time pairs within 30 min; Lagrangian bound (auto)",
    )
    # p-center: demand with some candidate within 15 minutes, and p = the number of sites that
    # covers all of it within 15 minutes (with fewer, the worst time is some resident's penalty)
    w_pc = inst.weights * (np.diff(inst.cover.indptr) > 0)
    sol, secs, mem = measure(
        lambda: opt.solve_p_center(
            T,
            w_pc,
            p=n_cover_all,
            existing_time_s=inst.existing_time_s,
            penalty_s=2 * THRESHOLD_S,
            method="auto",
            time_limit_s=time_limit,
        )
    )
    record_solution(
        inst.name,
        T.nnz,
        n_cover_all,
        "p-center auto (worst s)",
        secs,
        sol,
        mem,
        f"solver {sol.solver}; demand with a candidate within 15 min",
    )
    free = opt.solve_max_coverage(
        inst.cover,
        inst.weights,
        p=p,
        covered_by_existing=inst.covered_by_existing,
        method="heuristic",
    )
    caps = np.full(inst.shape[1], round(0.8 * free.objective / p))
    sol, secs, mem = measure(
        lambda: opt.solve_max_coverage(
            inst.cover,
            inst.weights,
            p=p,
            covered_by_existing=inst.covered_by_existing,
            capacities=caps,
            method="auto",
            time_limit_s=time_limit,
        )
    )
    record_solution(
        inst.name,
        inst.cover.nnz,
        p,
        "capacitated MCLP (auto)",
        secs,
        sol,
        mem,
        f"solver {sol.solver}; capacity {caps[0]:,.0f} per site (80 % of the uncapacitated "
        f"mean load); max load/cap {float((sol.loads / caps[sol.selected]).max()):.3f}",
    )


def summary_rows() -> list[bench_engine.Row]:
    """The optimizer's row of ``python -m bench``'s summary: MCLP p=100 on walk 100k x 5k
    (``auto``), with spopt's time on the largest instance it solved within its budget."""
    mclp = [r for r in ROWS if r.get("key") == "mclp"]
    if not mclp:
        return []
    r = mclp[-1]
    refs: list[tuple[str, float]] = []
    base = None
    spopt = [x for x in ROWS if x.get("key") == "spopt"]
    within = [x for x in spopt if x["seconds"] <= x["budget_s"]] or spopt
    if within:
        s = within[-1]
        same = [
            x
            for x in ROWS
            if x.get("key") == "spopt-planner-auto" and x["instance"] == s["instance"]
        ]
        base = same[-1]["seconds"] if same else None
        there = f"; planner auto {base:.3f} s on it" if base is not None else ""
        refs.append(
            (
                f"spopt ({s['instance']}, p={s['p']}: the largest it solved within "
                f"{s['budget_s']:.0f} s{there})",
                s["seconds"],
            )
        )
    gap = r["gap"]
    return [
        bench_engine.Row(
            job=f"MCLP p={r['p']} ({r['nnz']:,} pairs): solve_max_coverage(method='auto'), "
            f"certified gap {100 * gap:.2f} %, {r['runs']} run(s)",
            graph=r["instance"],
            planner_s=r["seconds"],
            refs=refs,
            ratio_base=base,
            peak_mb=r["rise_mb"],
            target="answer + gap <= 0.5 % in <= 30 s",
            target_s=30,
            target_graph="walk 100k x 5k",
            also={"gap": gap == gap and gap <= 0.005},
            key="mclp",
            note=f"status {r['status']}; {r['note']}",
        )
    ]


def write_results(args: argparse.Namespace, started: float) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# planner.optimize benchmark",
        "",
        f"`python -m bench.bench_optimize{' --quick' if args.quick else ''}` on "
        f"{platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}; total {time.perf_counter() - started:.0f} s.",
        "",
        "Synthetic instances (clustered demand snapped to lattice nodes, candidates on the unit "
        "square); walk-like coverage ~10 candidates per demand unit, drive-like 18 % dense. "
        "Existing facilities (5 % of the candidate count) cover part of the demand unless "
        "noted. Objective: residents newly covered (MCLP), sites (set cover), seconds "
        "(p-median mean, p-center max). Gap: certified, relative to the bound. Peak RSS: "
        "resident-memory high-water mark of the process during the call.",
        "",
        HEADER,
        *(_fmt(r) for r in ROWS),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print(f"\nwrote {RESULTS}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller instances (< 2 minutes)")
    ap.add_argument(
        "--spopt-budget",
        type=float,
        default=300.0,
        help="seconds allowed for one spopt run (default 300)",
    )
    args = ap.parse_args(argv)
    started = time.perf_counter()
    print(HEADER)
    # warm the numba caches so the first timed run does not include compilation
    w = make_instance(2000, 200, seed=99)
    opt.solve_max_coverage(w.cover, w.weights, p=5, method="heuristic")
    opt.solve_p_median(time_matrix(w), w.weights, p=5, method="heuristic")
    if args.quick:
        inst = make_instance(20_000, 2_000, kind="walk", seed=1)
        run_mclp(inst, 20, methods=("greedy", "heuristic", "auto"), milp_limit=30)
        run_mclp(inst, 100, methods=("heuristic", "auto"), milp_limit=30)
        big = make_instance(100_000, 5_000, kind="walk", seed=2)
        run_mclp(big, 100, methods=("auto",), milp_limit=30, key="mclp")
        run_mclp(big, 100, methods=("heuristic",), milp_limit=30)
        run_mclp(big, 100, methods=("heuristic",), milp_limit=30, bound="lagrangian")
        run_other(inst, 20, 20.0)
        run_spopt([(2_000, 200, 20)], budget_s=30.0)
        run_orlib([(100, 200, 5), (300, 1200, 30)], time_limit=60.0)
    else:
        inst = make_instance(20_000, 2_000, kind="walk", seed=1)
        run_mclp(inst, 20, methods=("greedy", "heuristic", "auto", "exact"), milp_limit=120)
        run_mclp(inst, 100, methods=("greedy", "heuristic", "auto", "exact"), milp_limit=120)
        run_other(inst, 20, 60.0)
        big = make_instance(100_000, 5_000, kind="walk", seed=2)
        run_mclp(big, 100, methods=("greedy", "heuristic"), milp_limit=120)
        run_mclp(big, 100, methods=("heuristic",), milp_limit=120, bound="lagrangian")
        run_lp_only(big, 100)
        run_mclp(big, 100, methods=("auto",), milp_limit=120, repeat=3, key="mclp")
        run_mclp(big, 100, methods=("exact",), milp_limit=120)
        run_mclp(big, 100, methods=("heuristic",), milp_limit=120, with_existing=False)
        del big
        drive = make_instance(20_000, 2_000, kind="drive", seed=3)
        run_mclp(drive, 5, methods=("heuristic", "auto"), milp_limit=120, with_existing=False)
        del drive
        gc.collect()
        drive = make_instance(100_000, 5_000, kind="drive", seed=4)
        run_mclp(drive, 3, methods=("heuristic",), milp_limit=120, with_existing=False)
        del drive
        gc.collect()
        run_spopt(
            [(2_000, 200, 20), (5_000, 500, 20), (10_000, 1_000, 20), (20_000, 2_000, 20)],
            budget_s=args.spopt_budget,
        )
        run_orlib([(100, 200, 5), (200, 800, 10), (300, 1200, 5), (300, 1200, 30)], 120.0)
    write_results(args, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
