"""Siting runs: the solver of each objective on the siting problem, the answer turned back into
places (:class:`SitingRun`), several tiers at once, and the files a run writes.
"""

from __future__ import annotations

import dataclasses
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

from .. import access, optimize, standards
from .._constants import OBJECTIVES
from .._errors import InputError, OptimizationError
from .._progress import report as report_progress
from .._validate import describe_rows

if TYPE_CHECKING:
    from ..pipeline import CoverageResult

from .candidates import COORD_DECIMALS, candidate_sites
from .evaluate import evaluate_sites
from .problem import SitingProblem, siting_problem


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
        from ..coverage import group_weights

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
    # the candidates' costs and capacities checked before the coverage sets are computed
    cost_arr = _column_or_array(candidates, costs, "costs")
    cap_arr = _column_or_array(candidates, capacity, "capacity")
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
        return candidate_numbers(cand, value, what)
    if isinstance(value, int | float | np.number):
        return np.full(len(cand), float(value))
    arr = np.asarray(value, dtype=float)
    if len(arr) != len(cand):
        raise InputError(f"{what} has {len(arr)} values for {len(cand)} candidates.")
    return arr


def candidate_numbers(cand: gpd.GeoDataFrame, column: str, what: str) -> np.ndarray:
    """The candidates' ``column`` as numbers >= 0 (``inf``: the site cannot be chosen); text,
    blanks and negative numbers are refused, naming the candidates file (when they come from
    one), the first candidates and their values."""
    raw = cand[column]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    bad = np.flatnonzero(np.isnan(num) | (num < 0))
    if bad.size:
        ids = cand["source_id"] if "source_id" in cand.columns else cand["site_id"]
        shown = describe_rows(
            (
                f"{ids.iloc[i]} ({'empty' if pd.isna(raw.iloc[i]) else repr(raw.iloc[i])})"
                for i in bad
            ),
            noun=("site", "sites"),
        )
        source = cand.attrs.get("source_file")
        raise InputError(
            (f"{source}: " if source else "")
            + f"candidates column {column!r} ({what}) must hold a number >= 0 for every site; "
            f"{bad.size} of {len(cand)} do not: {shown}. Fix: write plain numbers in "
            f"{column!r} (no units or thousands separators), or name another column ({what}=)."
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


def write_proposals(
    run: SitingRun, out_dir: str | Path, *, boundaries: gpd.GeoDataFrame | None = None
) -> dict[str, Path]:
    """``proposals.csv``, ``proposals.gpkg`` and ``solution.json`` in ``out_dir``.

    ``proposals.csv`` has the columns ``site_id, lon, lat, tier, newly_covered_population``,
    then ``township, village``: the names of the units of ``boundaries`` each site falls in
    ("" outside every unit of a level, and without ``boundaries``).
    """
    import json

    from ..report import locate_sites

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
    from .. import optimize as opt

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
