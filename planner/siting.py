"""Where new stations should go: candidates, siting runs and the what-if of proposed sites.

The solvers in :mod:`planner.optimize` work on sparse matrices; this module builds those from
the road network (sparse demand x candidate travel times, never dense) and turns answers back
into places.

>>> import planner                                                                # doctest: +SKIP
>>> result = planner.analyze(planner.load_demo())                                 # doctest: +SKIP
>>> run = planner.propose_sites(result, objective="max-coverage", new_sites=5)    # doctest: +SKIP
>>> run.proposals[["site_id", "newly_covered_population"]]                        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import access, load, optimize, standards
from ._cache import memo
from ._constants import OBJECTIVES
from ._errors import InputError, OptimizationError
from ._progress import report as report_progress

if TYPE_CHECKING:
    from .pipeline import CoverageResult

log = logging.getLogger(__name__)

#: Decimals of the lon/lat written for proposals: 1e-9 degrees is ~0.1 mm, so re-reading a
#: proposals file reproduces the optimizer's figures exactly.
COORD_DECIMALS = 9


def candidate_sites(
    result: CoverageResult,
    *,
    source: str = "uncovered",
    spacing_m: float = 300.0,
    path: str | Path | None = None,
    tier: str = "community_station",
    exclusion: gpd.GeoDataFrame | None = None,
    min_floor_area: bool = True,
) -> gpd.GeoDataFrame:
    """Candidate sites for new facilities.

    Parameters
    ----------
    result : CoverageResult
    source : {"uncovered", "file", "villages", "nodes"}
        ``uncovered``: road junctions from which an uncovered resident can be reached within the
        threshold, thinned to one per ``spacing_m`` square; ``file``: premises from ``path`` (CSV
        or any vector file with lon/lat or points; a ``floor_area_m2`` column is filtered by the
        size rules of the standards for ``tier``); ``villages``: a point inside each
        administrative village; ``nodes``: every junction, thinned.
    tier : str
        Tier the new sites would have.
    exclusion : GeoDataFrame, optional
        Polygons where no site may go (water, protected land...).

    Returns
    -------
    GeoDataFrame
        ``site_id, tier, kind`` (+ ``floor_area_m2`` from files), points in EPSG:4326.
    """
    if tier not in standards.TIERS:
        raise InputError(f"unknown tier {tier!r}. Fix: use one of {', '.join(standards.TIERS)}.")
    if not spacing_m > 0:
        raise InputError(f"spacing_m must be positive, got {spacing_m!r}.")
    net = result.network
    if source in ("uncovered", "nodes"):
        if source == "uncovered":
            if result.demand is None:
                raise InputError(
                    "candidates from uncovered demand need population. Fix: load a population file or use source='nodes'."
                )
            rows = np.flatnonzero(
                ~result.demand["covered"].to_numpy() & result.demand["reachable"].to_numpy()
            )
            nodes = _nodes_near(net, demand_attachment(result).take(rows), result.settings.minutes)
        else:
            nodes = np.arange(net.n_nodes)
        xy = net.node_xy[nodes]
        keep = _thin(xy, spacing_m)
        xy = xy[keep]
        lonlat = net.to_lonlat(xy)
        gdf = gpd.GeoDataFrame(
            {"kind": np.full(len(lonlat), "road junction"), "node": nodes[keep]},
            geometry=shapely.points(lonlat),
            crs="EPSG:4326",
        )
    elif source == "villages":
        b = result.boundaries
        if b is None or not (b["level"] == "village").any():
            raise InputError(
                "no village-level boundaries to place candidates in. Fix: load boundaries with villages, or use another source."
            )
        v = b[b["level"] == "village"]
        gdf = gpd.GeoDataFrame(
            {"kind": "village centre", "admin_code": v["admin_code"].to_numpy()},
            geometry=v.geometry.representative_point().to_numpy(),
            crs=b.crs,
        )
    elif source == "file":
        if path is None:
            raise InputError(
                "source='file' needs path=. Fix: pass the premises file (CSV with lon, lat)."
            )
        from ._validate import require_file

        # checked here so that a missing file is called the candidates file, not a facilities one
        prem = load.read_facilities(require_file(path, what="candidates"), default_tier=tier)
        gdf = prem.rename(columns={"facility_id": "source_id"})
        gdf["kind"] = gdf.get("kind", "premises")
        if min_floor_area and "floor_area_m2" in gdf.columns:
            need = standards.Rules().min_floor_area_m2.get(tier)
            if need:
                area = pd.to_numeric(gdf["floor_area_m2"], errors="coerce")
                small = ~(area >= need)
                if small.all():
                    raise InputError(
                        f"{path}: none of the {len(gdf)} premises has floor_area_m2 >= {need} m2, the minimum for a new "
                        f"{tier} (standards rule 7). Fix: choose another tier, or pass min_floor_area=False."
                    )
                gdf = gdf[~small]
        # the file's own columns stay (costs, capacities a run may name: --cost-column)
        base = [c for c in ("source_id", "name", "kind", "floor_area_m2") if c in gdf.columns]
        own = [c for c in gdf.columns if c not in (*base, "geometry", "type", "tier", "site_id")]
        gdf = gdf[[*base, *own, "geometry"]]
    else:
        raise InputError(
            f"unknown candidate source {source!r}. Fix: use uncovered, file, villages or nodes."
        )
    if exclusion is not None and len(gdf):
        ex = shapely.union_all(exclusion.to_crs(gdf.crs).geometry.values)
        gdf = gdf[~gdf.intersects(ex)]
    gdf = gdf.reset_index(drop=True)
    gdf.insert(0, "site_id", [f"C{i + 1:04d}" for i in range(len(gdf))])
    gdf.insert(1, "tier", tier)
    return gdf


def _nodes_near(net, att, minutes: float) -> np.ndarray:
    """Nodes the residents joined to the network by ``att`` can reach within ``minutes``
    (forward search from them)."""
    from . import _engine

    if len(att) == 0:
        return np.zeros(0, dtype=np.int64)
    ok = att.reachable
    seeds = np.concatenate([att.u[ok], att.v[ok]]).astype(np.int32)
    times = np.concatenate([att.to_u_s[ok], att.to_v_s[ok]])
    fin = np.isfinite(times)
    dist, _ = _engine.nearest_source(
        net.indptr,
        net.indices,
        net.weights,
        seeds[fin],
        times[fin],
        np.zeros(int(fin.sum()), dtype=np.int64),
        float(minutes) * 60,
        0.0,  # the kernel's own bucket width, passed: one compiled signature for every caller
    )
    return np.flatnonzero(np.isfinite(dist))


def _thin(xy: np.ndarray, spacing: float) -> np.ndarray:
    """One point per ``spacing`` square: the one nearest the square's centre (deterministic)."""
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    cell = np.floor(xy / spacing).astype(np.int64)
    centre = (cell + 0.5) * spacing
    d = np.hypot(*(xy - centre).T)
    order = np.lexsort((np.arange(len(xy)), d, cell[:, 1], cell[:, 0]))
    c = cell[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (c[1:] != c[:-1]).any(axis=1)
    return np.sort(order[first])


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Demand, existing coverage and candidate coverage as sparse arrays, ready for a solver."""

    weights: np.ndarray
    demand_index: np.ndarray  # rows of result.demand used
    attachment: Any  # those rows joined to the network
    existing_time_s: np.ndarray
    candidates: gpd.GeoDataFrame
    sets: access.CoverageSets
    minutes: float

    @property
    def covered_by_existing(self) -> np.ndarray:
        return self.existing_time_s <= self.minutes * 60 + 1e-9


def siting_problem(
    result: CoverageResult,
    candidates: gpd.GeoDataFrame,
    *,
    minutes: float | None = None,
    cutoff_minutes: float | None = None,
) -> SitingProblem:
    """Build the sparse coverage/time structure of demand units x candidate sites."""
    if result.demand is None:
        raise InputError("siting needs population. Fix: load a population file.")
    if len(candidates) == 0:
        raise OptimizationError(
            "there are no candidate sites. Fix: choose another candidate source or a smaller spacing."
        )
    mins = float(minutes or result.settings.minutes)
    dem = result.demand
    use = np.flatnonzero((dem["population"].to_numpy() > 0) & dem["reachable"].to_numpy())
    att = demand_attachment(result).take(use)
    sets = access.coverage_sets(result.network, candidates, att, minutes=cutoff_minutes or mins)
    t_exist = dem["minutes"].to_numpy(float)[use] * 60.0
    return SitingProblem(
        weights=dem["population"].to_numpy(float)[use],
        demand_index=use,
        attachment=att,
        existing_time_s=t_exist,
        candidates=candidates,
        sets=sets,
        minutes=mins,
    )


@dataclass(frozen=True, eq=False)
class SitingRun:
    """The answer of :func:`propose_sites`: proposals, the solver's certificate and coverage."""

    proposals: gpd.GeoDataFrame
    solution: Any
    objective_name: str
    covered_population_before: float
    covered_population_after: float
    total_population: float
    candidates: gpd.GeoDataFrame
    seconds: float
    #: the relative gap asked for: the solver stops once its answer is proved within it of the
    #: best possible (``status`` ``"near_optimal"``; ``"optimal"`` when the bound proves it)
    mip_gap: float = 0.005
    #: residents no candidate site reaches within the threshold (and no existing facility
    #: covers): no choice of sites covers them, so min-sites' ``target_share=1.0`` stops short
    uncoverable_population: float = 0.0
    #: demand points those residents live at (``solution.uncoverable`` lists them)
    uncoverable_units: int = 0
    #: residents farther than ``access_max_m`` from every road (no site on the network reaches them)
    unreachable_population: float = 0.0

    def summary(self) -> dict[str, Any]:
        s = self.solution
        return {
            "objective": float(s.objective),
            "bound": float(s.bound),
            "gap": float(s.gap),
            "mip_gap": float(self.mip_gap),
            "status": s.status,
            "solver": s.solver,
            "seconds": round(float(s.seconds), 3),
            "objective_name": self.objective_name,
            "new_sites": int(len(self.proposals)),
            "covered_population_before": self.covered_population_before,
            "covered_population_after": self.covered_population_after,
            "total_population": self.total_population,
            "uncoverable_population": self.uncoverable_population,
            "uncoverable_units": self.uncoverable_units,
            "unreachable_population": self.unreachable_population,
        }


def propose_sites(
    result: CoverageResult,
    *,
    objective: str = "max-coverage",
    new_sites: int | None = None,
    budget: float | None = None,
    costs: Sequence[float] | str | None = None,
    capacity: float | str | None = None,
    target_share: float = 1.0,
    candidates: gpd.GeoDataFrame | None = None,
    tier: str = "community_station",
    spacing_m: float = 300.0,
    time_limit_s: float = 60.0,
    mip_gap: float = 0.005,
    method: str = "auto",
    seed: int = 0,
    progress=None,
    weight: str | None = None,
) -> SitingRun:
    """Choose new sites for facilities on the road network.

    Parameters
    ----------
    result : CoverageResult
        The coverage of the existing facilities (kept).
    objective : {"max-coverage", "min-sites", "min-time", "min-max-time"}
        MCLP (most residents newly within the threshold with ``new_sites`` or ``budget``),
        LSCP (fewest sites covering ``target_share`` of residents), p-median (least mean
        time) or p-center (least worst time).
    costs : array or column name of ``candidates``, optional
        Site costs for ``budget``.
    capacity : float or column name, optional
        Residents one new facility can serve (max-coverage and min-time).
    time_limit_s : float
        Wall-time limit of the solver.
    mip_gap : float
        Relative gap asked for, for every objective: the solver keeps going (within
        ``time_limit_s``) until its answer is proved within ``mip_gap`` of the best possible
        on the objective it reports (``status`` ``"near_optimal"``, or ``"optimal"`` when the
        bound proves the answer best); 0 asks for a proof of optimality.
    method : {"auto", "greedy", "heuristic", "exact"}
        As in :func:`planner.optimize.solve_max_coverage`.
    seed : int
        Seed of the local search and of HiGHS.
    weight : str, optional
        A population group (``"65plus"``, also written ``"65+"``; see
        :func:`planner.coverage.population_groups`) whose residents the objective counts
        instead of everyone's (residents newly covered, mean or worst time of that group).
        The covered populations of the run stay those of everyone.

    Returns
    -------
    SitingRun
        Proposals with ``site_id, lon, lat, tier, newly_covered_population`` and the solver's
        :class:`~planner.optimize.Solution` (``objective``, ``bound``, ``gap``, ``status``:
        residents newly covered for max-coverage, number or cost of sites for min-sites, mean
        and worst travel time in seconds for min-time and min-max-time);
        ``covered_population_after`` is recomputed by re-joining the written coordinates, so
        ``planner coverage --add-facilities proposals.csv`` reproduces it.
    """
    t0 = time.perf_counter()
    if objective not in OBJECTIVES:
        raise OptimizationError(
            f"unknown objective {objective!r}. Fix: use one of {', '.join(OBJECTIVES)}."
        )
    if weight is not None and result.demand is not None:
        from .coverage import group_weights

        group_w = group_weights(result.demand, weight)  # checked before any work
    if candidates is None:
        candidates = candidate_sites(result, tier=tier, spacing_m=spacing_m)
    if len(candidates) == 0:
        raise OptimizationError(
            "no candidate sites: every resident is already covered or no road junction is near an uncovered one. "
            "Fix: pass candidates, or raise the threshold."
        )
    if new_sites is not None and objective != "min-sites":
        _check_new_sites(new_sites, len(candidates))
    report_progress(progress, "coverage sets", 0.0)
    cut = (
        None
        if objective in ("max-coverage", "min-sites")
        else max(result.settings.minutes * 4, 60.0)
    )
    prob = siting_problem(result, candidates, cutoff_minutes=cut)
    if weight is not None:
        # the same demand units, weighted by the group's residents instead of everyone
        prob = dataclasses.replace(prob, weights=group_w[prob.demand_index])
    report_progress(progress, "coverage sets", 1.0)
    cost_arr = _column_or_array(candidates, costs, "costs")
    cap_arr = _column_or_array(candidates, capacity, "capacity")
    T = prob.minutes * 60
    cover = prob.sets.time_s
    if cut is not None:  # times were computed to a longer cutoff: coverage is within T only
        cover = cover.copy()
        cover.data = np.where(cover.data <= T + 1e-9, cover.data, 0)
        cover.eliminate_zeros()
    from scipy import sparse

    cov01 = sparse.csr_array(
        (np.ones(cover.nnz, dtype=np.int8), cover.indices, cover.indptr), shape=cover.shape
    )
    # every objective gets the caller's mip_gap (min-time, min-max-time and min-sites used to
    # run at the solvers' default 0.005 whatever was asked)
    common: dict[str, Any] = dict(
        method=method, time_limit_s=time_limit_s, mip_gap=mip_gap, seed=seed, progress=progress
    )
    sol = _solve(
        objective,
        prob,
        cov01,
        new_sites=new_sites,
        budget=budget,
        target_share=target_share,
        costs=cost_arr,
        capacities=cap_arr,
        penalty_s=cut * 60 if cut else None,
        common=common,
    )
    chosen = candidates.iloc[np.asarray(sol.selected, dtype=int)].copy()
    return _siting_run(
        result,
        _proposal_frame(chosen, tier),
        sol,
        objective,
        candidates,
        t0,
        mip_gap=mip_gap,
        demand_index=prob.demand_index,
    )


def _check_new_sites(new_sites: Any, n_candidates: int) -> None:
    """``new_sites`` checked here so the message names this function's parameter, not ``p``."""
    if isinstance(new_sites, bool) or not isinstance(new_sites, int | np.integer) or new_sites < 1:
        raise OptimizationError(
            f"new_sites={new_sites!r} must be a whole number of sites, 1 or more. "
            "Fix: pass e.g. new_sites=5."
        )
    if new_sites > n_candidates:
        raise OptimizationError(
            f"new_sites={new_sites} but there are only {n_candidates} candidate sites. Fix: lower "
            f"new_sites to at most {n_candidates}, or pass more candidates (smaller spacing_m)."
        )


def _solve(
    objective: str,
    prob: SitingProblem,
    cov01: Any,
    *,
    new_sites: int | None,
    budget: float | None,
    target_share: float,
    costs: np.ndarray | None,
    capacities: np.ndarray | None,
    penalty_s: float | None,
    common: dict[str, Any],
) -> optimize.Solution:
    """Run the solver of ``objective`` on the siting problem (0/1 coverage ``cov01``)."""
    if objective == "max-coverage":
        if new_sites is None and budget is None:
            raise OptimizationError(
                "max-coverage needs new_sites (p) or budget. Fix: pass new_sites=P or budget=B."
            )
        return optimize.solve_max_coverage(
            cov01,
            prob.weights,
            p=new_sites,
            budget=budget,
            costs=costs,
            covered_by_existing=prob.covered_by_existing,
            capacities=capacities,
            **common,
        )
    if objective == "min-sites":
        return optimize.solve_set_cover(
            cov01,
            prob.weights,
            target_share=target_share,
            costs=costs,
            covered_by_existing=prob.covered_by_existing,
            **common,
        )
    if new_sites is None:
        raise OptimizationError(f"{objective} needs new_sites (p). Fix: pass new_sites=P.")
    if objective == "min-time":
        return optimize.solve_p_median(
            prob.sets.time_s,
            prob.weights,
            p=new_sites,
            existing_time_s=prob.existing_time_s,
            penalty_s=penalty_s,
            capacities=capacities,
            **common,
        )
    return optimize.solve_p_center(
        prob.sets.time_s,
        prob.weights,
        p=new_sites,
        existing_time_s=prob.existing_time_s,
        penalty_s=penalty_s,
        **common,
    )


def _siting_run(
    result: CoverageResult,
    proposals: gpd.GeoDataFrame,
    sol,
    objective_name: str,
    candidates: gpd.GeoDataFrame,
    t0: float,
    *,
    mip_gap: float,
    demand_index: np.ndarray,
) -> SitingRun:
    """The run of the chosen sites, its coverage recomputed from the written proposals, and the
    residents no site could cover (``sol.uncoverable`` indexes ``demand_index``: everyone's
    residents are counted, whatever group weighted the objective)."""
    ev = evaluate_sites(result, proposals)
    assert result.demand is not None  # siting_problem checked it
    units = np.asarray(demand_index)[np.asarray(sol.uncoverable, dtype=np.int64)]
    pop = result.demand["population"].to_numpy(float)
    proposals["newly_covered_population"] = ev.per_site["newly_covered_population"].to_numpy()
    return SitingRun(
        proposals=proposals,
        solution=sol,
        objective_name=objective_name,
        covered_population_before=result.covered_population,
        covered_population_after=ev.covered_population_after,
        total_population=result.total_population,
        candidates=candidates,
        seconds=time.perf_counter() - t0,
        mip_gap=float(mip_gap),
        uncoverable_population=math.fsum(pop[units]),
        uncoverable_units=int(units.size),
        unreachable_population=result.unreachable_population,
    )


def _column_or_array(cand: gpd.GeoDataFrame, value, what: str):
    if value is None:
        return None
    if isinstance(value, str):
        if value not in cand.columns:
            raise InputError(
                f"candidates have no column {value!r} for {what}. Fix: use one of {list(cand.columns)}."
            )
        return _numeric_column(cand, value, what)
    if isinstance(value, int | float | np.number):
        return np.full(len(cand), float(value))
    arr = np.asarray(value, dtype=float)
    if len(arr) != len(cand):
        raise InputError(f"{what} has {len(arr)} values for {len(cand)} candidates.")
    return arr


def _numeric_column(cand: gpd.GeoDataFrame, column: str, what: str) -> np.ndarray:
    """The candidates' ``column`` as numbers >= 0 (``inf``: the site cannot be chosen); text,
    blanks and negative numbers are refused, naming the first candidates and their values."""
    raw = cand[column]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    bad = np.flatnonzero(np.isnan(num) | (num < 0))
    if bad.size:
        ids = cand["source_id"] if "source_id" in cand.columns else cand["site_id"]
        shown = ", ".join(
            f"{ids.iloc[i]} ({'empty' if pd.isna(raw.iloc[i]) else repr(raw.iloc[i])})"
            for i in bad[:5]
        )
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise InputError(
            f"candidates column {column!r} ({what}) must hold a number >= 0 for every site; "
            f"{bad.size} of {len(cand)} do not: {shown}{more}. Fix: write plain numbers in "
            f"{column!r} (no units or thousands separators), or name another column."
        )
    return num


def _proposal_frame(chosen: gpd.GeoDataFrame, tier: str) -> gpd.GeoDataFrame:
    pts = chosen.geometry.to_crs("EPSG:4326")
    lon = np.round(pts.x.to_numpy(), COORD_DECIMALS)
    lat = np.round(pts.y.to_numpy(), COORD_DECIMALS)
    tiers = chosen["tier"].to_numpy() if "tier" in chosen.columns else np.full(len(chosen), tier)
    out = gpd.GeoDataFrame(
        {
            "site_id": chosen["site_id"].astype(str).to_numpy(),
            "lon": lon,
            "lat": lat,
            "tier": tiers,
        },
        geometry=shapely.points(np.column_stack([lon, lat])),
        crs="EPSG:4326",
    )
    return out


@dataclass(frozen=True, eq=False)
class SiteEvaluation:
    """What proposed sites change (the official's question).

    Attributes
    ----------
    per_site : ``site_id, tier, newly_covered_population`` (residents first brought within the
        threshold by that site alone, shared gains counted once, to the site nearest them),
        ``catchment_population`` (residents for whom the site becomes the nearest facility),
        ``overlap_population`` (already-covered residents within its threshold).
    per_admin : newly covered population per admin unit and level.
    nearest_changed : demand rows whose nearest facility changes (with old and new times).
    loads : residents per facility (nearest-facility assignment) before and after.
    """

    per_site: pd.DataFrame
    per_admin: pd.DataFrame
    nearest_changed: pd.DataFrame
    loads: pd.DataFrame
    covered_population_before: float
    covered_population_after: float
    total_population: float
    seconds: float

    @property
    def newly_covered_population(self) -> float:
        return self.covered_population_after - self.covered_population_before


def evaluate_sites(
    result, sites: gpd.GeoDataFrame, *, minutes: float | None = None
) -> SiteEvaluation:
    """Evaluate proposed sites against the existing coverage in ``result`` (fast: one bounded
    search per site, the existing nearest-facility times are reused)."""
    t0 = time.perf_counter()
    if result.demand is None:
        raise InputError("evaluating sites needs population. Fix: load a population file.")
    if "site_id" not in sites.columns:
        sites = sites.assign(site_id=[f"S{i + 1}" for i in range(len(sites))])
    mins = float(minutes or result.settings.minutes)
    T = mins * 60.0
    base = _evaluation_base(result, mins)
    pop, old_t, old_cov = base.pop, base.old_t, base.old_cov
    n_sites = len(sites)
    if n_sites == 0:
        return _no_change(base, t0)
    net = result.network
    att = demand_attachment(result)
    cutoff = max(T, 1.0)
    # residents whose nearest facility may change are within their current time of a site:
    # search up to the largest finite current time (bounded by 4x the threshold)
    search = max(cutoff, min(base.max_finite_s if base.max_finite_s > 0 else cutoff, 4 * T))
    sets = access.coverage_sets(net, sites, att, minutes=search / 60.0)
    m = sets.time_s.tocoo()
    rows, cols, tt = m.row, m.col, m.data
    # best new time per demand and which site
    new_t = np.full(len(pop), np.inf)
    new_site = np.full(len(pop), -1)
    if len(rows):
        o = np.lexsort((tt, rows))
        r_, c_, t_ = rows[o], cols[o], tt[o]
        first = np.ones(len(r_), dtype=bool)
        first[1:] = r_[1:] != r_[:-1]
        new_t[r_[first]] = t_[first]
        new_site[r_[first]] = c_[first]
    after_t = np.minimum(old_t, new_t)
    new_cov = after_t / 60.0 <= mins + 1e-9
    gained = new_cov & ~old_cov
    site_ids = sites["site_id"].astype(str).to_numpy()
    newly = np.bincount(new_site[gained], weights=pop[gained], minlength=n_sites)
    changed = new_t < old_t
    catch = np.bincount(new_site[changed], weights=pop[changed], minlength=n_sites)
    within = tt <= T + 1e-9
    o_rows, o_cols = rows[within], cols[within]
    keep = old_cov[o_rows]
    overlap = np.bincount(o_cols[keep], weights=pop[o_rows[keep]], minlength=n_sites)
    per_site = pd.DataFrame(
        {
            "site_id": site_ids,
            "tier": sites["tier"].to_numpy() if "tier" in sites.columns else "",
            "newly_covered_population": newly,
            "catchment_population": catch,
            "overlap_population": overlap,
        }
    )
    # per admin unit: the residents gained, beside the unit's totals (computed once per result)
    g_rows = np.flatnonzero(gained)
    parts = []
    for level, (codes, labels, before, total) in base.levels.items():
        gain = np.bincount(codes[g_rows], weights=pop[g_rows], minlength=len(labels))
        parts.append(admin_change_rows(labels, gain, before, total, level, gain > 0))
    per_admin_df = admin_change_frame(parts)
    if base.names is not None:  # every column also when the sites add nobody (an empty frame)
        per_admin_df.insert(
            1, "admin_name", per_admin_df["admin_code"].map(base.names).fillna("").astype(object)
        )
        per_admin_df["covered_share_before"] = per_admin_df["covered_before"].astype(
            float
        ) / per_admin_df["population"].astype(float)
        per_admin_df["covered_share_after"] = (
            per_admin_df["covered_before"].astype(float)
            + per_admin_df["newly_covered_population"].astype(float)
        ) / per_admin_df["population"].astype(float)
    idx = np.flatnonzero(changed)
    nearest_changed = pd.DataFrame(
        {
            "demand_row": idx,
            "population": pop[idx],
            "old_facility": base.owner_labels[base.owner[idx]],
            "old_minutes": old_t[idx] / 60.0,
            "new_site": site_ids[new_site[idx]] if len(idx) else [],
            "new_minutes": new_t[idx] / 60.0,
        }
    )
    # residents per facility before and after: the changed units move to their new site
    n_own = len(base.owner_labels)
    after_owner = np.where(changed, n_own + np.clip(new_site, 0, None), base.owner)
    after_load = np.bincount(after_owner, weights=pop, minlength=n_own + n_sites)
    moved_to = np.bincount(new_site[changed], minlength=n_sites) > 0  # sites that get anyone
    labels = np.concatenate([base.owner_labels, site_ids[moved_to]])
    loads = (
        pd.DataFrame(
            {
                "residents_before": np.concatenate(
                    [base.load_before, np.zeros(int(moved_to.sum()))]
                ),
                "residents_after": np.concatenate(
                    [after_load[:n_own], after_load[n_own:][moved_to]]
                ),
            },
            index=labels,
        )
        .groupby(level=0)
        .sum()
    )
    loads = loads[loads.index != ""].rename_axis("facility_id").reset_index()
    after = math.fsum(pop[new_cov])  # exact sums: equal to CoverageResult.covered_population
    return SiteEvaluation(
        per_site=per_site,
        per_admin=per_admin_df,
        nearest_changed=nearest_changed,
        loads=loads,
        covered_population_before=base.covered_before,
        covered_population_after=after,
        total_population=base.total,
        seconds=time.perf_counter() - t0,
    )


@dataclass(frozen=True)
class _EvaluationBase:
    """What every evaluation against one result and threshold shares (computed once)."""

    pop: np.ndarray
    old_t: np.ndarray  # current time to the nearest facility, seconds
    old_cov: np.ndarray
    max_finite_s: float
    owner: np.ndarray  # index into owner_labels of each unit's nearest facility
    owner_labels: np.ndarray
    load_before: np.ndarray  # residents per owner label
    levels: dict  # level -> (codes, labels, covered residents, residents) per unit
    names: pd.Series | None
    covered_before: float
    total: float


def _evaluation_base(result, mins: float) -> _EvaluationBase:
    return memo(
        result, ("evaluation_base", float(mins)), lambda: _make_evaluation_base(result, mins)
    )


ADMIN_CHANGE_COLUMNS = (
    "admin_code",
    "newly_covered_population",
    "covered_before",
    "population",
    "level",
)


def admin_change_rows(
    labels: np.ndarray,
    change: np.ndarray,
    before: np.ndarray,
    total: np.ndarray,
    level: str,
    keep: np.ndarray,
) -> pd.DataFrame:
    """Rows of the units ``keep`` of one level: the change in residents covered beside the
    unit's covered residents before and its residents (documented internal: siting's and the
    app's what-ifs build their per-unit tables with it)."""
    u = np.flatnonzero(keep)
    return pd.DataFrame(
        {
            "admin_code": labels[u],
            "newly_covered_population": change[u],
            "covered_before": before[u],
            "population": total[u],
            "level": level,
        }
    )


def admin_change_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of every level in one table (the columns of :data:`ADMIN_CHANGE_COLUMNS`, also
    when no unit changed)."""
    if parts:
        return pd.concat(parts, ignore_index=True)
    return pd.DataFrame(columns=list(ADMIN_CHANGE_COLUMNS))


def _make_evaluation_base(result: CoverageResult, mins: float) -> _EvaluationBase:
    dem = _demand(result)
    pop = dem["population"].to_numpy(float)
    old_t = dem["minutes"].to_numpy(float) * 60.0
    old_cov = old_t / 60.0 <= mins + 1e-9  # the same test as coverage.coverage_table
    fin = old_t[np.isfinite(old_t)]
    owner_labels, owner = np.unique(
        dem["nearest_facility"].to_numpy().astype(str), return_inverse=True
    )
    levels = {}
    for level in ("county", "township", "village"):
        col = f"{level}_code"
        if col in dem.columns:
            labels, codes = np.unique(dem[col].to_numpy().astype(str), return_inverse=True)
            levels[level] = (
                codes,
                labels,
                np.bincount(codes, weights=np.where(old_cov, pop, 0.0), minlength=len(labels)),
                np.bincount(codes, weights=pop, minlength=len(labels)),
            )
    names = None
    if result.boundaries is not None:
        names = result.boundaries.drop_duplicates("admin_code").set_index("admin_code")[
            "admin_name"
        ]
    base = _EvaluationBase(
        pop=pop,
        old_t=old_t,
        old_cov=old_cov,
        max_finite_s=float(fin.max()) if len(fin) else 0.0,
        owner=owner,
        owner_labels=owner_labels,
        load_before=np.bincount(owner, weights=pop, minlength=len(owner_labels)),
        levels=levels,
        names=names,
        covered_before=math.fsum(pop[old_cov]),
        total=math.fsum(pop),
    )
    return base


def _no_change(base: _EvaluationBase, t0: float) -> SiteEvaluation:
    """The evaluation of an empty set of sites: nothing changes."""
    loads = pd.DataFrame(
        {"residents_before": base.load_before, "residents_after": base.load_before},
        index=base.owner_labels,
    )
    loads = loads[loads.index != ""].rename_axis("facility_id").reset_index()
    return SiteEvaluation(
        per_site=pd.DataFrame(
            columns=[
                "site_id",
                "tier",
                "newly_covered_population",
                "catchment_population",
                "overlap_population",
            ]
        ),
        per_admin=pd.DataFrame(
            columns=[
                "admin_code",
                "admin_name",
                "newly_covered_population",
                "covered_before",
                "population",
                "level",
            ]
        ),
        nearest_changed=pd.DataFrame(
            columns=[
                "demand_row",
                "population",
                "old_facility",
                "old_minutes",
                "new_site",
                "new_minutes",
            ]
        ),
        loads=loads,
        covered_population_before=base.covered_before,
        covered_population_after=base.covered_before,
        total_population=base.total,
        seconds=time.perf_counter() - t0,
    )


def demand_attachment(result: CoverageResult) -> Any:
    """The demand units of ``result`` joined to its road network (computed once per result).

    Documented internal: shared by siting and the standards checks, which must join the same
    points the same way. Returns the network's attachment (see ``Network.snap``).
    """
    return memo(
        result,
        "demand_attachment",
        lambda: result.network.snap(_demand(result).geometry.representative_point()),
    )


def _demand(result: CoverageResult) -> gpd.GeoDataFrame:
    if result.demand is None:
        raise InputError(
            f"the coverage result of {result.dataset_name!r} has no population, so no residents to "
            "site for. Fix: run the analysis with population data (population=...)."
        )
    return result.demand


def write_proposals(
    run: SitingRun, out_dir: str | Path, *, boundaries: gpd.GeoDataFrame | None = None
) -> dict[str, Path]:
    """``proposals.csv``, ``proposals.gpkg`` and ``solution.json`` in ``out_dir``.

    ``proposals.csv`` has the columns ``site_id, lon, lat, tier, newly_covered_population``,
    then ``township, village``: the names of the units of ``boundaries`` each site falls in
    ("" outside every unit of a level, and without ``boundaries``).
    """
    import json

    from .report import locate_sites

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "proposals.csv"
    cols = ["site_id", "lon", "lat", "tier", "newly_covered_population"]
    table = run.proposals[cols].copy()
    where = locate_sites(run.proposals, boundaries)
    table["township"] = where["township"].to_numpy()
    table["village"] = where["village"].to_numpy()
    table.to_csv(csv, index=False, float_format=f"%.{COORD_DECIMALS}f")
    gpkg = out / "proposals.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    run.proposals.to_file(gpkg, layer="proposals", driver="GPKG")
    js = out / "solution.json"
    js.write_text(json.dumps(run.summary(), indent=2, ensure_ascii=False), encoding="utf-8")
    return {"proposals_csv": csv, "proposals_gpkg": gpkg, "solution": js}


#: Which lower tiers' need a facility of a tier also meets (a center also does a station's job).
SERVES: dict[str, tuple[str, ...]] = {
    "community_center": ("community_station", "family_doctor_point"),
    "community_station": ("family_doctor_point",),
    "township_center": ("village_clinic",),
    "hospital": (
        "community_center",
        "community_station",
        "family_doctor_point",
        "township_center",
        "village_clinic",
    ),
}


@dataclass(frozen=True)
class TierRequest:
    """One tier of a multi-tier siting run: how many new sites and within how many minutes."""

    tier: str
    new_sites: int
    minutes: float | None = None  # default: the analysis threshold

    @classmethod
    def parse(cls, text: str) -> TierRequest:
        """``"community_station:5"`` or ``"community_center:1:20"`` (tier, p, minutes)."""
        parts = text.split(":")
        try:
            tier = parts[0]
            p = int(parts[1]) if len(parts) > 1 else 1
            m = float(parts[2]) if len(parts) > 2 else None
        except ValueError as exc:
            raise InputError(
                f"tier request {text!r}: expected TIER:P[:MINUTES], e.g. 'community_station:5' ({exc})."
            ) from exc
        return cls(tier, p, m)


def propose_multi_tier(
    result: CoverageResult,
    requests: Sequence[TierRequest],
    *,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float = 300.0,
    time_limit_s: float = 60.0,
    mip_gap: float = 0.005,
    method: str = "auto",
    seed: int = 0,
    progress=None,
) -> SitingRun:
    """Site several tiers at once (e.g. stations and centers, or village clinics and township
    centers), each with its own number of sites and time threshold.

    Each tier's need is met by existing facilities of that tier or of a tier that serves it
    (:data:`SERVES`), and by new sites likewise; a candidate site hosts at most one tier. The
    objective is the population covered summed over tiers (:func:`planner.optimize.solve_multi_tier`).
    """
    from . import optimize as opt

    t0 = time.perf_counter()
    if not requests:
        raise OptimizationError(
            "no tiers requested. Fix: pass e.g. requests=[TierRequest('community_station', 5), "
            "TierRequest('community_center', 1)] (or TierRequest.parse('community_station:5'))."
        )
    names = [r.tier for r in requests]
    bad = [t for t in names if t not in standards.TIERS]
    if bad:
        raise InputError(f"unknown tiers {bad}. Fix: use some of {', '.join(standards.TIERS)}.")
    if len(set(names)) != len(names):
        raise OptimizationError(f"a tier is requested twice: {names}. Fix: name each tier once.")
    if candidates is None:
        candidates = candidate_sites(result, tier=names[0], spacing_m=spacing_m)
    if len(candidates) == 0:
        raise OptimizationError("no candidate sites. Fix: pass candidates, or raise the threshold.")
    minutes = {r.tier: float(r.minutes or result.settings.minutes) for r in requests}
    prob = siting_problem(result, candidates, cutoff_minutes=max(minutes.values()))
    att = prob.attachment
    fac = result.facilities
    specs = []
    for r in requests:
        serving = [r.tier] + [t for t, low in SERVES.items() if r.tier in low]
        ex = fac[fac["tier"].isin(serving)]
        if len(ex):
            t_ex = access.nearest_facility(
                result.network, ex, att, max_minutes=minutes[r.tier]
            ).time_s
        else:
            t_ex = np.full(len(att), np.inf)
        m = prob.sets.time_s.copy()
        m.data = (m.data <= minutes[r.tier] * 60 + 1e-9).astype(np.int8)
        m.eliminate_zeros()
        specs.append(
            opt.TierSpec(
                name=r.tier,
                cover=m,
                p=r.new_sites,
                covered_by_existing=t_ex <= minutes[r.tier] * 60 + 1e-9,
                serves=tuple(t for t in SERVES.get(r.tier, ()) if t in names),
            )
        )
    sol = opt.solve_multi_tier(
        specs,
        prob.weights,
        method=method,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        seed=seed,
        progress=progress,
    )
    chosen = candidates.iloc[np.asarray(sol.selected, dtype=int)].copy()
    chosen["tier"] = np.asarray(sol.tier_of_selected, dtype=object)
    return _siting_run(
        result,
        _proposal_frame(chosen, names[0]),
        sol,
        "multi-tier max-coverage",
        candidates,
        t0,
        mip_gap=mip_gap,
        demand_index=prob.demand_index,
    )
