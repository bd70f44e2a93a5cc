"""What-if of proposed sites (the answer of a click on the map), of closing, moving or
re-tiering existing facilities, and the optimizer's proposals."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import _constants, siting
from .._errors import InputError, OptimizationError
from ..pipeline import CoverageResult, Dataset
from ..scenario import Scenario
from ..standards import Rules
from ._common import memo, unit_trees
from .edits import FacilityEdits, edited_dataset, edited_result
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
    """What hand-proposed sites and edits of the existing facilities change (everything the
    app's what-if panel shows).

    Attributes
    ----------
    sites : ``site_id, lon, lat, tier, newly_covered_population, catchment_population,
        overlap_population, township_name, village_name``
    evaluation : :class:`planner.siting.SiteEvaluation` (with edits: against the unedited
        coverage, ``newly_covered_population`` the net change, negative when a closure
        uncovers more residents than the sites cover)
    per_admin : change of the covered residents per admin unit (``level, admin_code,
        admin_name, newly_covered_population, covered_share_before, covered_share_after``)
    nearest_changes : residents whose nearest facility changes, by (old facility -> new
        facility or site): ``old_facility, old_name, new_site, population, old_minutes,
        new_minutes`` (population-weighted means)
    newly_covered_areas : footprints of the newly covered demand units per site or facility
        (EPSG:4326)
    newly_uncovered_areas : footprints of the demand units no longer covered (a closure, a
        move, a tier taken out of the analysis), per facility that covered them
    minutes_after : time to the nearest facility per demand unit with the changes
    edits : the :class:`~planner.app.edits.FacilityEdits` evaluated
    standards_before, summary_before : :func:`standards_units`, :func:`standards_summary`
    standards_after, summary_after, change, units_changed : computed on first use (the rules
        engine is the slow part of a click: the headline does not wait for it)
    seconds : wall time of everything but the standards after
    """

    sites: gpd.GeoDataFrame
    evaluation: siting.SiteEvaluation
    per_admin: pd.DataFrame
    nearest_changes: pd.DataFrame
    newly_covered_areas: gpd.GeoDataFrame
    newly_uncovered_areas: gpd.GeoDataFrame
    minutes_after: np.ndarray
    edits: FacilityEdits
    standards_before: pd.DataFrame
    summary_before: pd.DataFrame
    seconds: float
    #: (data set with the edits, result, proposed sites, rules) for the standards after
    standards_inputs: tuple[Dataset, CoverageResult, gpd.GeoDataFrame, Rules] = field(repr=False)

    @property
    def newly_covered_population(self) -> float:
        """Residents covered after minus before (negative when the changes uncover more)."""
        return self.evaluation.newly_covered_population

    @property
    def covered_population_after(self) -> float:
        return self.evaluation.covered_population_after

    @property
    def uncovered_population_after(self) -> float:
        ev = self.evaluation
        return ev.total_population - ev.covered_population_after

    @property
    def covered_share_after(self) -> float:
        ev = self.evaluation
        return (
            ev.covered_population_after / ev.total_population
            if ev.total_population
            else float("nan")
        )

    @cached_property
    def standards_after(self) -> pd.DataFrame:
        ds, result, sites, rules = self.standards_inputs
        return standards_units(
            ds, result, extra_facilities=sites, minutes_after=self.minutes_after, rules=rules
        )

    @cached_property
    def summary_after(self) -> pd.DataFrame:
        ds, result, _, rules = self.standards_inputs
        return standards_summary(
            self.standards_after, ds, result, minutes_after=self.minutes_after, rules=rules
        )

    @cached_property
    def change(self) -> pd.DataFrame:
        return standards_change(self.summary_before, self.summary_after)

    @cached_property
    def units_changed(self) -> pd.DataFrame:
        return changed_units(self.standards_before, self.standards_after)


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


def _site_places(
    dataset: Dataset, sites: gpd.GeoDataFrame, per_site: pd.DataFrame
) -> gpd.GeoDataFrame:
    """The sites with their evaluation and the township and village they stand in."""
    bnd = dataset.boundaries
    names = memo(dataset, "admin_names", partial(_admin_names, dataset))
    # string ids also when there is no site (an empty frame's ids would be floats)
    out = (
        sites[["site_id", "lon", "lat", "tier", "geometry"]]
        .astype({"site_id": object})
        .merge(
            per_site.drop(columns=["tier"]).astype({"site_id": object}), on="site_id", how="left"
        )
    )
    where = (
        facility_units(sites, bnd, trees=memo(dataset, "unit_trees", lambda: unit_trees(bnd)))
        if bnd is not None and len(bnd)
        else pd.DataFrame(index=pd.RangeIndex(len(sites)))
    )
    for level in ("township", "village"):
        col = f"{level}_code"
        out[f"{level}_name"] = (
            where[col].map(names).fillna("").to_numpy() if col in where.columns else ""
        )
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _per_admin(pa: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """Every column even when nothing changes (an empty frame is a normal answer), by level
    then largest change."""
    pa = pa.copy()
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
    return pa.reset_index(drop=True)


_CHANGE_COLUMNS = [
    "old_facility",
    "old_name",
    "new_site",
    "population",
    "old_minutes",
    "new_minutes",
]


def _nearest_changes(nc: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """Residents whose nearest facility changes, summed per (old facility, new one)."""
    if not len(nc):
        return pd.DataFrame(columns=_CHANGE_COLUMNS)
    old_m = nc["old_minutes"].to_numpy(float)
    new_m = nc["new_minutes"].to_numpy(float)
    pop = nc["population"].to_numpy(float)
    fin_o, fin_n = np.isfinite(old_m), np.isfinite(new_m)
    g = pd.DataFrame(
        {
            "old_facility": nc["old_facility"].to_numpy(dtype=object),
            "new_site": nc["new_site"].to_numpy(dtype=object),
            "population": pop,
            "w_old": pop * np.where(fin_o, old_m, 0.0),
            "w_new": pop * np.where(fin_n, new_m, 0.0),
            "inf_old": (~fin_o).astype(float),
            "inf_new": (~fin_n).astype(float),
        }
    )
    agg = g.groupby(["old_facility", "new_site"], sort=False).sum().reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["old_minutes"] = np.where(agg["inf_old"] > 0, np.inf, agg["w_old"] / agg["population"])
        agg["new_minutes"] = np.where(agg["inf_new"] > 0, np.inf, agg["w_new"] / agg["population"])
    fac_names = memo(dataset, "facility_names", partial(_facility_names, dataset))
    agg["old_name"] = agg["old_facility"].astype(str).map(fac_names).fillna("")
    return (
        agg[_CHANGE_COLUMNS]
        .sort_values("population", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def _footprints(dem: gpd.GeoDataFrame, rows: np.ndarray, by: np.ndarray) -> gpd.GeoDataFrame:
    """Union of the footprints of demand ``rows`` per value of ``by`` (EPSG:4326)."""
    parts = []
    pop = dem["population"].to_numpy(float)
    if len(rows):
        frame = pd.DataFrame({"row": rows, "by": by})
        for sid, grp in frame.groupby("by", sort=True):
            r = grp["row"].to_numpy(int)
            cells = dem.geometry.values[r]
            try:  # raster cells tile the plane: the coverage union is exact and much faster
                geom = shapely.coverage_union_all(cells)
            except shapely.errors.GEOSException:
                geom = shapely.union_all(cells)
            parts.append({"site_id": str(sid), "population": float(pop[r].sum()), "geometry": geom})
    areas = gpd.GeoDataFrame(
        parts, columns=["site_id", "population", "geometry"], geometry="geometry", crs=dem.crs
    )
    if len(areas) and dem.crs is not None and not dem.crs.equals("EPSG:4326"):
        areas = areas.to_crs("EPSG:4326")
    return areas


def what_if(
    dataset: Dataset,
    result: CoverageResult,
    proposed: Sequence[tuple[float, float, str]],
    *,
    edits: FacilityEdits | None = None,
    standards_before: pd.DataFrame | None = None,
    summary_before: pd.DataFrame | None = None,
    rules: Rules = DEFAULT_RULES,
) -> WhatIf:
    """Evaluate hand-proposed sites ``(lon, lat, tier)`` and ``edits`` of the existing
    facilities (closures, moves, tier changes) against ``result``.

    Without edits the coverage part is :func:`planner.siting.evaluate_sites` (one bounded
    search per site); with edits it is :func:`planner.app.edits.edited_result` (one search over
    the edited facilities) with the sites evaluated on top, and every figure is the change
    from ``result`` (exactly what ``planner.analyze`` gives with the edited register). This adds
    names, the newly covered and uncovered areas, the residents whose nearest facility changes
    and the standards table before and after. Pass ``standards_before`` (from
    :func:`standards_units`) and ``summary_before`` (its :func:`standards_summary`) to skip
    recomputing them: they do not depend on the changes.
    """
    t0 = time.perf_counter()
    if result.demand is None:
        raise InputError("the what-if needs population. Fix: load a population file.")
    edits = edits if edits is not None else FacilityEdits()
    sites = proposed_frame(proposed)
    if edits:
        ev, after = _evaluate_edited(dataset, result, sites, edits)
        std_ds = edited_dataset(dataset, edits)
    else:
        ev = siting.evaluate_sites(result, sites)
        # times with the sites: the evaluation lists every unit whose nearest facility changes
        after = result.demand["minutes"].to_numpy(float).copy()
        nc = ev.nearest_changed
        rows = nc["demand_row"].to_numpy(int)
        after[rows] = np.minimum(after[rows], nc["new_minutes"].to_numpy(float))
        std_ds = dataset
    dem = result.demand
    mins = float(result.settings.minutes) + 1e-9
    before = dem["minutes"].to_numpy(float)
    nc = ev.nearest_changed
    rows = nc["demand_row"].to_numpy(int)
    new_cov = nc["new_minutes"].to_numpy(float) <= mins
    old_cov = nc["old_minutes"].to_numpy(float) <= mins
    gained, lost = new_cov & ~old_cov, old_cov & ~new_cov
    if edits:  # a closure uncovers residents whose nearest facility does not change owner name
        lost_rows = np.flatnonzero((before <= mins) & ~(after <= mins))
        owner = dem["nearest_facility"].astype(str).to_numpy(dtype=object)
        uncovered_areas = _footprints(dem, lost_rows, owner[lost_rows])
    else:
        uncovered_areas = _footprints(dem, rows[lost], nc["old_facility"].to_numpy()[lost])
    if standards_before is None:
        standards_before = standards_units(dataset, result, rules=rules)
    if summary_before is None:
        summary_before = standards_summary(standards_before, dataset, result, rules=rules)
    names = memo(dataset, "admin_names", partial(_admin_names, dataset))
    return WhatIf(
        sites=_site_places(dataset, sites, ev.per_site),
        evaluation=ev,
        per_admin=_per_admin(ev.per_admin, names),
        nearest_changes=_nearest_changes(nc, dataset),
        newly_covered_areas=_footprints(dem, rows[gained], nc["new_site"].to_numpy()[gained]),
        newly_uncovered_areas=uncovered_areas,
        minutes_after=after,
        edits=edits,
        standards_before=standards_before,
        summary_before=summary_before,
        seconds=time.perf_counter() - t0,
        standards_inputs=(std_ds, result, sites, rules),
    )


def _evaluate_edited(
    dataset: Dataset, result: CoverageResult, sites: gpd.GeoDataFrame, edits: FacilityEdits
) -> tuple[siting.SiteEvaluation, np.ndarray]:
    """The evaluation of ``edits`` and ``sites`` against ``result`` (every figure a change
    from ``result``), and the time to the nearest facility after, per demand unit."""
    t0 = time.perf_counter()
    assert result.demand is not None
    base = edited_result(dataset, result, edits)
    assert base.demand is not None
    dem = result.demand
    pop = dem["population"].to_numpy(float)
    before_t = dem["minutes"].to_numpy(float)
    before_own = dem["nearest_facility"].astype(str).to_numpy(dtype=object)
    after_t = base.demand["minutes"].to_numpy(float).copy()
    after_own = base.demand["nearest_facility"].astype(str).to_numpy(dtype=object).copy()
    on_edited = siting.evaluate_sites(base, sites)  # the sites on top of the edited register
    snc = on_edited.nearest_changed
    if len(snc):
        r = snc["demand_row"].to_numpy(int)
        after_t[r] = snc["new_minutes"].to_numpy(float)
        after_own[r] = snc["new_site"].to_numpy(dtype=object)
    mins = float(result.settings.minutes) + 1e-9
    old_cov, new_cov = before_t <= mins, after_t <= mins
    # a unit changes when its nearest facility or its time does (a move keeps the id)
    same_t = (before_t == after_t) | np.isclose(before_t, after_t, rtol=0, atol=1e-9)
    idx = np.flatnonzero((before_own != after_own) | ~same_t)
    nearest_changed = pd.DataFrame(
        {
            "demand_row": idx,
            "population": pop[idx],
            "old_facility": before_own[idx],
            "old_minutes": before_t[idx],
            "new_site": after_own[idx],
            "new_minutes": after_t[idx],
        }
    )
    parts = []
    for level in ("county", "township", "village"):
        col = f"{level}_code"
        if col not in dem.columns:
            continue
        labels, codes = np.unique(dem[col].to_numpy().astype(str), return_inverse=True)
        b = np.bincount(codes, weights=np.where(old_cov, pop, 0.0), minlength=len(labels))
        a = np.bincount(codes, weights=np.where(new_cov, pop, 0.0), minlength=len(labels))
        tot = np.bincount(codes, weights=pop, minlength=len(labels))
        parts.append(siting.admin_change_rows(labels, a - b, b, tot, level, np.abs(a - b) > 1e-9))
    per_admin = siting.admin_change_frame(parts)
    loads = (
        pd.DataFrame(
            {
                "residents_before": pd.Series(pop).groupby(before_own).sum(),
                "residents_after": pd.Series(pop).groupby(after_own).sum(),
            }
        )
        .fillna(0.0)
        .rename_axis("facility_id")
        .reset_index()
    )
    loads = loads[loads["facility_id"] != ""].reset_index(drop=True)
    ev = siting.SiteEvaluation(
        per_site=on_edited.per_site,
        per_admin=per_admin,
        nearest_changed=nearest_changed,
        loads=loads,
        covered_population_before=math.fsum(pop[old_cov]),
        covered_population_after=math.fsum(pop[new_cov]),
        total_population=math.fsum(pop),
        seconds=time.perf_counter() - t0,
    )
    return ev, after_t


def printable_map(
    result: CoverageResult,
    whatif: WhatIf | None = None,
    *,
    lang: str = "zh",
    format: str = "pdf",
    paper: str = "A4",
    orientation: str = "landscape",
) -> bytes:
    """The printable map of ``result`` (:func:`planner.printmap.print_map`, what ``planner
    map`` writes) as the bytes of a PDF or PNG, with the what-if's proposed sites as stars."""
    from .. import printmap

    sites = whatif.sites if whatif is not None and len(whatif.sites) else None
    out = printmap.print_map(
        result,
        None,
        format=format,
        lang="zh" if lang == "zh" else "en",
        proposals=sites,
        paper=paper,
        orientation=orientation,
        dpi=200 if format == "png" else 300,
    )
    assert isinstance(out, bytes)  # path_or_buffer=None gives the bytes
    return out


# ---------------------------------------------------------------------------------------------
# Optimizer
# ---------------------------------------------------------------------------------------------

OBJECTIVES = siting.OBJECTIVES
CANDIDATE_SOURCES = _constants.CANDIDATE_SOURCES  # one definition (planner/_constants.py)


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
