"""The what-if of proposed sites: who is newly covered, per site and per admin unit, whose
nearest facility changes (:func:`evaluate_sites`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import access
from .._cache import memo
from .._errors import InputError

if TYPE_CHECKING:
    from ..pipeline import CoverageResult

from .problem import _demand, demand_attachment


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
