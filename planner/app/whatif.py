"""What-if of proposed sites (the answer of a click on the map) and the optimizer's proposals."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import siting
from .._errors import InputError, OptimizationError
from ..pipeline import CoverageResult, Dataset
from ..scenario import Scenario
from ..standards import Rules
from ._common import memo, unit_trees
from .standards_table import (
    DEFAULT_RULES,
    changed_units,
    facility_units,
    standards_change,
    standards_summary,
    standards_units,
)

# ---------------------------------------------------------------------------------------------
# What-if of proposed sites
# ---------------------------------------------------------------------------------------------


def proposed_frame(proposed: Sequence[tuple[float, float, str]]) -> gpd.GeoDataFrame:
    """Hand-proposed sites ``(lon, lat, tier)`` as ``site_id P1.., facility_id, lon, lat, tier``."""
    return Scenario(proposed=tuple(proposed)).proposed_frame()


def study_area(result: CoverageResult) -> shapely.Geometry | None:
    """The union of the boundaries (None without boundaries)."""
    b = result.boundaries
    if b is None or len(b) == 0:
        return None
    top = b[b["level"] == "county"] if (b["level"] == "county").any() else b
    return shapely.union_all(top.geometry.values)


def check_site(
    result: CoverageResult, lon: float, lat: float, *, area: shapely.Geometry | None = None
) -> None:
    """Raise :class:`~planner.InputError` when a proposed site is outside the study area (or
    the coordinates are not lon/lat)."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(
            f"({lon}, {lat}) are not lon/lat degrees. Fix: give WGS-84 longitude and latitude."
        )
    area = study_area(result) if area is None else area
    if area is not None and not shapely.intersects(area, shapely.Point(lon, lat)):
        raise InputError(
            f"({lon:.5f}, {lat:.5f}) is outside the study area. Fix: place the site inside the boundaries."
        )


@dataclass(frozen=True, eq=False)
class WhatIf:
    """What hand-proposed sites change (everything the app's what-if panel shows).

    Attributes
    ----------
    sites : ``site_id, lon, lat, tier, newly_covered_population, catchment_population,
        overlap_population, township_name``
    evaluation : :class:`planner.siting.SiteEvaluation`
    per_admin : newly covered residents per admin unit (``level, admin_code, admin_name,
        newly_covered_population, covered_share_before, covered_share_after``)
    nearest_changes : residents whose nearest facility changes, by (old facility -> new site):
        ``old_facility, old_name, new_site, population, old_minutes, new_minutes``
        (population-weighted means)
    newly_covered_areas : footprints of the newly covered demand units per site (EPSG:4326)
    minutes_after : time to the nearest facility per demand unit with the sites
    standards_before, standards_after : :func:`standards_units`
    summary_before, summary_after, change : :func:`standards_summary`, :func:`standards_change`
    units_changed : :func:`changed_units`
    seconds : wall time
    """

    sites: gpd.GeoDataFrame
    evaluation: siting.SiteEvaluation
    per_admin: pd.DataFrame
    nearest_changes: pd.DataFrame
    newly_covered_areas: gpd.GeoDataFrame
    minutes_after: np.ndarray
    standards_before: pd.DataFrame
    standards_after: pd.DataFrame
    summary_before: pd.DataFrame
    summary_after: pd.DataFrame
    change: pd.DataFrame
    units_changed: pd.DataFrame
    seconds: float

    @property
    def newly_covered_population(self) -> float:
        return self.evaluation.newly_covered_population

    @property
    def covered_share_after(self) -> float:
        ev = self.evaluation
        return (
            ev.covered_population_after / ev.total_population
            if ev.total_population
            else float("nan")
        )


def _admin_names(dataset: Dataset) -> pd.Series:
    bnd = dataset.boundaries
    if bnd is None:
        return pd.Series(dtype=str)
    return bnd.drop_duplicates("admin_code").set_index("admin_code")["admin_name"]


def _facility_names(dataset: Dataset) -> pd.Series:
    fac = dataset.facilities.drop_duplicates("facility_id")
    return pd.Series(
        fac["name"].astype(str).to_numpy(), index=fac["facility_id"].astype(str).to_numpy()
    )


def what_if(
    dataset: Dataset,
    result: CoverageResult,
    proposed: Sequence[tuple[float, float, str]],
    *,
    standards_before: pd.DataFrame | None = None,
    summary_before: pd.DataFrame | None = None,
    rules: Rules = DEFAULT_RULES,
) -> WhatIf:
    """Evaluate hand-proposed sites ``(lon, lat, tier)`` against ``result``.

    The coverage part is :func:`planner.siting.evaluate_sites`; this adds names, the newly
    covered areas, the residents whose nearest facility changes and the standards table before
    and after. Pass ``standards_before`` (from :func:`standards_units`) and ``summary_before``
    (its :func:`standards_summary`) to skip recomputing them: they do not depend on the sites.
    """
    t0 = time.perf_counter()
    if result.demand is None:
        raise InputError("the what-if needs population. Fix: load a population file.")
    sites = proposed_frame(proposed)
    ev = siting.evaluate_sites(result, sites)
    dem = result.demand
    mins = float(result.settings.minutes)
    # times with the sites: the evaluation lists every unit whose nearest facility changes
    after = dem["minutes"].to_numpy(float).copy()
    nc = ev.nearest_changed
    rows = nc["demand_row"].to_numpy(int)
    after[rows] = np.minimum(after[rows], nc["new_minutes"].to_numpy(float))
    # names
    bnd = dataset.boundaries
    names = memo(dataset, "admin_names", partial(_admin_names, dataset))
    per_site = ev.per_site.copy()
    out_sites = sites[["site_id", "lon", "lat", "tier", "geometry"]].merge(
        per_site.drop(columns=["tier"]), on="site_id", how="left"
    )
    where = (
        facility_units(sites, bnd, trees=memo(dataset, "unit_trees", lambda: unit_trees(bnd)))
        if bnd is not None and len(bnd)
        else pd.DataFrame(index=pd.RangeIndex(len(sites)))
    )
    for level in ("township", "village"):
        col = f"{level}_code"
        out_sites[f"{level}_name"] = (
            where[col].map(names).fillna("").to_numpy() if col in where.columns else ""
        )
    out_sites = gpd.GeoDataFrame(out_sites, geometry="geometry", crs="EPSG:4326")
    # per admin unit
    pa = ev.per_admin.copy()
    # every column even when the sites add nobody (an empty frame is a normal answer)
    if "admin_name" not in pa.columns:
        pa.insert(1, "admin_name", pa["admin_code"].map(names).fillna("").astype(object))
    if "covered_share_before" not in pa.columns:
        pa["covered_share_before"] = pa["covered_before"] / pa["population"]
        pa["covered_share_after"] = (pa["covered_before"] + pa["newly_covered_population"]) / pa[
            "population"
        ]
    level_order = {"county": 0, "township": 1, "village": 2}
    if len(pa):
        pa = pa.sort_values(
            ["level", "newly_covered_population"],
            ascending=[True, False],
            key=lambda s: s.map(level_order) if s.name == "level" else s,
            kind="stable",
        )
    pa = pa.reset_index(drop=True)
    # whose nearest facility changes
    if len(nc):
        old_m = nc["old_minutes"].to_numpy(float)
        finite = np.isfinite(old_m)
        g = pd.DataFrame(
            {
                "old_facility": nc["old_facility"].to_numpy(dtype=object),
                "new_site": nc["new_site"].to_numpy(dtype=object),
                "population": nc["population"].to_numpy(float),
                "w_old": np.where(
                    finite, nc["population"].to_numpy(float) * np.where(finite, old_m, 0), 0.0
                ),
                "w_new": nc["population"].to_numpy(float) * nc["new_minutes"].to_numpy(float),
                "infinite": (~finite).astype(float),
            }
        )
        agg = g.groupby(["old_facility", "new_site"], sort=False).sum().reset_index()
        agg["old_minutes"] = np.where(agg["infinite"] > 0, np.inf, agg["w_old"] / agg["population"])
        agg["new_minutes"] = agg["w_new"] / agg["population"]
        fac_names = memo(dataset, "facility_names", partial(_facility_names, dataset))
        agg["old_name"] = agg["old_facility"].astype(str).map(fac_names).fillna("")
        changes = agg[
            ["old_facility", "old_name", "new_site", "population", "old_minutes", "new_minutes"]
        ]
        changes = changes.sort_values("population", ascending=False, kind="stable").reset_index(
            drop=True
        )
    else:
        changes = pd.DataFrame(
            columns=[
                "old_facility",
                "old_name",
                "new_site",
                "population",
                "old_minutes",
                "new_minutes",
            ]
        )
    # newly covered footprints, one geometry per site
    gained = nc[(nc["new_minutes"] <= mins + 1e-9) & ~(nc["old_minutes"] <= mins + 1e-9)]
    parts = []
    for sid, grp in gained.groupby("new_site", sort=True):
        cells = dem.geometry.values[grp["demand_row"].to_numpy(int)]
        try:  # raster cells tile the plane: the coverage union is exact and much faster
            geom = shapely.coverage_union_all(cells)
        except shapely.errors.GEOSException:
            geom = shapely.union_all(cells)
        parts.append(
            {"site_id": str(sid), "population": float(grp["population"].sum()), "geometry": geom}
        )
    areas = gpd.GeoDataFrame(
        parts, columns=["site_id", "population", "geometry"], geometry="geometry", crs=dem.crs
    )
    if len(areas) and dem.crs is not None and not dem.crs.equals("EPSG:4326"):
        areas = areas.to_crs("EPSG:4326")
    # standards
    if standards_before is None:
        standards_before = standards_units(dataset, result, rules=rules)
    std_after = standards_units(
        dataset, result, extra_facilities=sites, minutes_after=after, rules=rules
    )
    sum_before = (
        summary_before
        if summary_before is not None
        else standards_summary(standards_before, dataset, result, rules=rules)
    )
    sum_after = standards_summary(std_after, dataset, result, minutes_after=after, rules=rules)
    return WhatIf(
        sites=out_sites,
        evaluation=ev,
        per_admin=pa,
        nearest_changes=changes,
        newly_covered_areas=areas,
        minutes_after=after,
        standards_before=standards_before,
        standards_after=std_after,
        summary_before=sum_before,
        summary_after=sum_after,
        change=standards_change(sum_before, sum_after),
        units_changed=changed_units(standards_before, std_after),
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------------------------
# Optimizer
# ---------------------------------------------------------------------------------------------

OBJECTIVES = siting.OBJECTIVES
CANDIDATE_SOURCES = ("uncovered", "villages", "file", "nodes")


def numeric_columns(path: str | Path | None) -> list[str]:
    """Numeric columns of a candidates file other than coordinates (choices for site costs)."""
    if not path:
        return []
    from .. import load

    try:
        cand = load.read_facilities(path, default_tier="community_station")
    except Exception:  # noqa: BLE001 - only a list of choices; the run reports errors
        return []
    skip = {"lon", "lat", "x", "y", "longitude", "latitude", "geometry"}
    return [c for c in cand.columns if c not in skip and pd.api.types.is_numeric_dtype(cand[c])]


def run_optimizer(
    result: CoverageResult,
    *,
    objective: str,
    new_sites: int | None = None,
    budget: float | None = None,
    cost_column: str | None = None,
    target_share: float = 1.0,
    tier: str = "community_station",
    candidates: str = "uncovered",
    candidates_file: str | Path | None = None,
    spacing_m: float = 300.0,
    time_limit_s: float = 60.0,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
    weight: str | None = None,
) -> siting.SitingRun:
    """Candidates from ``candidates`` then :func:`planner.siting.propose_sites` (``budget``
    needs ``cost_column`` of the candidates file, else each site costs 1; ``weight``: a
    population group whose residents the objective counts, e.g. ``"65plus"``)."""
    if objective not in OBJECTIVES:
        raise OptimizationError(
            f"unknown objective {objective!r}. Fix: use one of {', '.join(OBJECTIVES)}."
        )
    if candidates not in CANDIDATE_SOURCES:
        raise OptimizationError(
            f"unknown candidate source {candidates!r}. Fix: use one of {', '.join(CANDIDATE_SOURCES)}."
        )
    if progress:
        progress("candidates", 0.0)
    cand = siting.candidate_sites(
        result, source=candidates, path=candidates_file, tier=tier, spacing_m=spacing_m
    )
    costs: Any = None
    if budget is not None:
        costs = cost_column if cost_column else np.ones(len(cand))
    if progress:
        progress("candidates", 1.0)
    return siting.propose_sites(
        result,
        objective=objective,
        new_sites=new_sites if objective != "min-sites" else None,
        budget=budget if objective == "max-coverage" else None,
        costs=costs if objective == "max-coverage" else None,
        target_share=target_share,
        candidates=cand,
        tier=tier,
        spacing_m=spacing_m,
        time_limit_s=time_limit_s,
        seed=seed,
        progress=progress,
        weight=weight or None,
    )
