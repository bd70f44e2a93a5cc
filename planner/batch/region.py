"""One region's task: the analysis, standards checks and siting of one region, written atomically.

Part of :mod:`planner.batch`, which re-exports the public names.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import coverage, pipeline
from .regions import _done, assign_regions, content_hash, cut_region, halo_m, read_regions
from .settings import FAULT_ENV, MANIFEST, SUMMARY_COLUMNS, BatchSettings, RegionOutcome

log = logging.getLogger("planner.batch")

# ---------------------------------------------------------------------------------------------
# one region


def _limit_horizon(result: pipeline.CoverageResult, horizon_min: float) -> pd.DataFrame | None:
    """Demand with times beyond the horizon set to inf (what a region can know)."""
    if result.demand is None:
        return None
    d = result.demand.copy()
    far = d["minutes"].to_numpy(float) > horizon_min
    d.loc[far, "minutes"] = np.inf
    return d


def analyze_region(
    cut: pipeline.Dataset,
    own_units: Sequence[str],
    settings: BatchSettings,
) -> tuple[pipeline.CoverageResult, pd.DataFrame | None, pd.DataFrame | None]:
    """Coverage of one region's residents on its cut data set.

    Returns
    -------
    (CoverageResult, demand, admin_summary)
        The full result on the cut data, the region's demand units (times beyond the horizon
        set to inf) and its admin summary restricted to its own units (plus a row per level for
        residents outside every unit, when there are any).
    """
    result = pipeline.analyze(
        cut,
        mode=settings.mode,
        minutes=settings.minutes,
        tiers=settings.tiers or None,
        isochrone_minutes=settings.isochrone_minutes,
        speed_kmh=settings.speed_kmh,
        access_max_m=settings.access_max_m,
        access_speed_factor=settings.access_speed_factor,
    )
    demand = _limit_horizon(result, settings.horizon)
    summary = None
    if demand is not None:
        bnd = cut.boundaries
        if bnd is not None:
            bnd = bnd[bnd["admin_code"].astype(str).isin(set(map(str, own_units)))]
        summary = coverage.admin_summary(demand, bnd)
        summary["timed_population"] = _timed_population(demand, summary)
    return result, demand, summary


def _timed_population(demand: pd.DataFrame, summary: pd.DataFrame) -> np.ndarray:
    """Residents with a finite time per summary row: the weight of ``mean_minutes`` when rows
    of one unit from several regions are merged."""
    pop = demand["population"].to_numpy(float) * np.isfinite(demand["minutes"].to_numpy(float))
    out = np.zeros(len(summary))
    for level in summary["level"].unique():
        col = f"{level}_code"
        rows = np.flatnonzero(summary["level"].to_numpy() == level)
        if col in demand.columns:
            w = pd.Series(pop).groupby(demand[col].astype(str).to_numpy()).sum()
            out[rows] = (
                w.reindex(summary["admin_code"].iloc[rows].astype(str)).fillna(0.0).to_numpy()
            )
        else:  # the "all" row of a run without boundaries
            out[rows] = pop.sum()
    return out


def _region_checks(
    result: pipeline.CoverageResult,
    cut: pipeline.Dataset,
    own_units: Sequence[str],
    region_geom: shapely.Geometry,
) -> pd.DataFrame:
    """The standards checks of the units lying wholly in the region (facility counts and
    residents of a unit spanning regions would be partial, so those units are left to a run
    over a region that holds them)."""
    from .. import compliance

    rep = compliance.compliance_report(result)
    c = rep.checks
    whole = set()
    if cut.boundaries is not None and len(own_units):
        b = cut.boundaries[cut.boundaries["admin_code"].astype(str).isin(set(map(str, own_units)))]
        g = b.geometry.values
        inside = shapely.area(shapely.intersection(g, region_geom)) >= 0.999 * shapely.area(g)
        whole = set(b["admin_code"].astype(str)[inside])
    keep = c["admin_code"].astype(str).isin(whole) | (c["admin_code"].astype(str) == "")
    out = c[keep].copy()
    return out


def siting_curve(
    result: pipeline.CoverageResult, settings: BatchSettings
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Most residents newly covered in one region with 1..``settings.curve_sites`` new sites.

    Returns
    -------
    (curve, proposals)
        ``curve``: ``sites, objective, bound, gap, status, uncovered_population`` per number of
        sites (``objective``: residents newly within the threshold; ``bound``: the solver's
        certified upper bound for that number); ``proposals``: the sites of every row, with a
        ``sites`` column.
    """
    from .. import siting
    from .._errors import OptimizationError

    uncovered = (
        0.0
        if result.demand is None
        else float(result.demand.loc[~result.demand["covered"], "population"].sum())
    )
    rows, props = [], []
    cands = None
    if result.demand is not None and uncovered > 0:
        try:
            cands = siting.candidate_sites(result, tier=settings.new_tier)
        except OptimizationError:
            cands = None
    for p in range(1, settings.curve_sites + 1):
        if cands is None or len(cands) == 0:
            rows.append(
                {
                    "sites": p,
                    "objective": 0.0,
                    "bound": 0.0,
                    "gap": 0.0,
                    "status": "nothing to cover",
                    "uncovered_population": uncovered,
                }
            )
            continue
        run = siting.propose_sites(
            result,
            objective="max-coverage",
            new_sites=min(p, len(cands)),
            candidates=cands,
            tier=settings.new_tier,
            time_limit_s=settings.time_limit_s,
        )
        s = run.solution
        rows.append(
            {
                "sites": p,
                "objective": float(s.objective),
                "bound": float(s.bound),
                "gap": float(s.gap),
                "status": s.status,
                "uncovered_population": uncovered,
            }
        )
        pr = run.proposals.copy()
        pr["sites"] = p
        props.append(pr)
    curve = pd.DataFrame(rows)
    if props:
        proposals = gpd.GeoDataFrame(pd.concat(props, ignore_index=True), crs=props[0].crs)
    else:
        proposals = gpd.GeoDataFrame({"site_id": [], "sites": []}, geometry=[], crs="EPSG:4326")
    return curve, proposals


def allocate_sites(
    curves: dict[str, pd.DataFrame], budget: int
) -> tuple[dict[str, int], float, float]:
    """Split ``budget`` new sites across regions to cover the most residents, with a bound.

    Dynamic programming over the regions on the per-region optima (exact for those values: no
    other split of the budget covers more with the solutions found); the bound is the same
    programme on the per-region certified bounds, so no split and no choice of sites can cover
    more than it. Beyond a region's computed curve (``k`` sites) its bound is extended with what
    coverage's submodularity guarantees: ``bound(p) <= min(ceil(p / k) * bound(k),
    bound(k) + (p - k) * bound(1), uncovered residents)`` (the best ``p`` sites split into groups
    of ``k``; or the best ``k`` of them plus ``p - k`` sites each adding at most what one site
    alone can), so the bound stays valid when a region would deserve more sites than were
    computed.

    Returns
    -------
    (sites per region, residents newly covered, upper bound)
    """
    codes = list(curves)
    value = np.zeros((len(codes), budget + 1))
    bound = np.zeros((len(codes), budget + 1))
    for i, c in enumerate(codes):
        cv = curves[c].sort_values("sites")
        k = len(cv)
        obj = np.r_[0.0, np.maximum.accumulate(cv["objective"].to_numpy(float))]
        bnd = np.r_[0.0, np.maximum.accumulate(cv["bound"].to_numpy(float))]
        unc = float(cv["uncovered_population"].iloc[0]) if k else 0.0
        for p in range(budget + 1):
            value[i, p] = obj[min(p, k)]
            if k == 0:
                continue
            if p <= k:
                bound[i, p] = min(unc, bnd[p])
            else:  # coverage is submodular: extend the computed bounds (see the docstring)
                bound[i, p] = min(unc, np.ceil(p / k) * bnd[k], bnd[k] + (p - k) * bnd[1])

    def best(table: np.ndarray) -> tuple[float, list[int]]:
        n = len(codes)
        f = np.full((n + 1, budget + 1), -np.inf)
        f[0, :] = 0.0
        arg = np.zeros((n + 1, budget + 1), dtype=np.int64)
        for i in range(n):
            for b in range(budget + 1):
                cand = f[i, b - np.arange(b + 1)] + table[i, : b + 1]
                j = int(np.argmax(cand))
                f[i + 1, b], arg[i + 1, b] = cand[j], j
        take, b = [], budget
        for i in range(n, 0, -1):
            take.append(int(arg[i, b]))
            b -= take[-1]
        return float(f[n, budget]), take[::-1]

    total, take = best(value)
    ub, _ = best(bound)
    return dict(zip(codes, take, strict=True)), total, max(ub, total)


def _write_atomic_folder(final: Path, write: Callable[[Path], None]) -> None:
    """Write a folder's files into a temporary sibling, then swap it into place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _maybe_fault(code: str, folder: Path) -> None:
    spec = os.environ.get(FAULT_ENV, "")
    if not spec or ":" not in spec:
        return
    fcode, marker = spec.split(":", 1)
    if fcode == code and not Path(marker).exists():
        Path(marker).write_text("killed once", encoding="utf-8")
        os._exit(17)  # a worker dying mid-write, as the OOM killer would


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, index=False)
    else:
        pd.DataFrame(frame).to_parquet(path, index=False)


def run_region(
    cut: pipeline.Dataset,
    own_units: Sequence[str],
    region_code: str,
    region_name: str,
    region_geom: shapely.Geometry,
    digest: str,
    settings: BatchSettings,
    out_dir: str | Path,
) -> RegionOutcome:
    """Analyse one region and write its outputs to ``out_dir/regions/<code>/`` (atomically).

    Skipped (outputs kept) when the folder's manifest carries the same content hash.
    """
    t0 = time.perf_counter()
    folder = Path(out_dir) / "regions" / str(region_code)
    man = _done(folder, digest)
    if man is not None:
        return RegionOutcome(
            region_code,
            region_name,
            True,
            0.0,
            man["population"],
            man["covered_population"],
            man["n_facilities"],
            man["n_roads"],
            digest,
            str(folder),
        )
    result, demand, summary = analyze_region(cut, own_units, settings)
    pop = (
        float(np.sum(demand["population"].to_numpy(float))) if demand is not None else float("nan")
    )
    cov = (
        float(demand.loc[demand["covered"], "population"].sum())
        if demand is not None
        else float("nan")
    )
    curve, sites = siting_curve(result, settings) if settings.curve_sites else (None, None)
    checks = _region_checks(result, cut, own_units, region_geom) if settings.compliance else None
    fac = result.facilities.copy()
    one = gpd.GeoDataFrame({"admin_code": [region_code]}, geometry=[region_geom], crs="EPSG:4326")
    fac["in_region"] = assign_regions(fac.geometry, one) == 0  # False: a neighbour's, in the halo

    def write(tmp: Path) -> None:
        if summary is not None:
            s = summary.copy()
            s.insert(0, "region_code", str(region_code))
            _to_parquet(s, tmp / "admin_summary.parquet")
            s[SUMMARY_COLUMNS].to_csv(tmp / "summary.csv", index=False, encoding="utf-8")
        _to_parquet(fac, tmp / "facilities.parquet")
        _maybe_fault(str(region_code), tmp)
        if demand is not None:
            _to_parquet(demand, tmp / "demand.parquet")
            if result.uncovered is not None:
                _to_parquet(result.uncovered, tmp / "uncovered.parquet")
        if result.isochrones is not None:
            _to_parquet(result.isochrones, tmp / "isochrones.parquet")
        if checks is not None:
            _to_parquet(checks, tmp / "compliance_checks.parquet")
        if curve is not None:
            curve.to_csv(tmp / "siting_curve.csv", index=False, encoding="utf-8")
            _to_parquet(sites, tmp / "proposals.parquet")
        manifest = {
            "admin_code": str(region_code),
            "admin_name": region_name,
            "content_hash": digest,
            "settings": settings.as_dict(),
            "population": pop,
            "covered_population": cov,
            "n_facilities": int(len(fac)),
            "n_roads": int(len(cut.roads)),
            "network_nodes": int(result.network.n_nodes),
            "seconds": result.seconds,
        }
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )

    _write_atomic_folder(folder, write)
    return RegionOutcome(
        region_code,
        region_name,
        False,
        round(time.perf_counter() - t0, 3),
        pop,
        cov,
        int(len(fac)),
        int(len(cut.roads)),
        digest,
        str(folder),
        _peak_rss_mb(),
        os.getpid(),
    )


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (the worker's, in a Dask task)."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except (ImportError, OSError):  # pragma: no cover - not on Windows
        return float("nan")


def _region_task(
    cut: Any,
    own: Any,
    code: str,
    name: str,
    geom_wkb: bytes,
    digest: str,
    settings: BatchSettings,
    out_dir: str,
) -> RegionOutcome:
    return run_region(cut, own, code, name, shapely.from_wkb(geom_wkb), digest, settings, out_dir)


def _folder_task(
    folder: str,
    region_geom_wkb: bytes,
    code: str,
    name: str,
    settings: BatchSettings,
    out_dir: str,
    facilities_crs: str | None,
) -> RegionOutcome:
    """A region whose data lie in a folder of their own (``--data-root``): load, keep own residents."""
    ds = pipeline.load_dataset(folder, facilities_crs=facilities_crs)
    regions = gpd.GeoDataFrame(
        {"admin_code": [code], "admin_name": [name]},
        geometry=[shapely.from_wkb(region_geom_wkb)],
        crs="EPSG:4326",
    )
    cut, own = cut_region(ds, regions, 0, settings)
    digest = content_hash(cut, code, regions.geometry.iloc[0], settings, own)
    return run_region(cut, own, code, name, regions.geometry.iloc[0], digest, settings, out_dir)


def split_to_folders(
    regions: str | Path | gpd.GeoDataFrame,
    data: pipeline.Dataset | str | Path,
    root: str | Path,
    *,
    settings: BatchSettings | None = None,
) -> list[Path]:
    """Write each region's cut (own residents, roads and facilities in its halo) to ``root/<code>/``.

    The folders are what ``planner batch --data-root`` reads: split a province once, then run
    (and re-run) its counties anywhere without loading the whole province. The halo is sized for
    ``settings`` (mode, horizon).
    """
    settings = settings or BatchSettings()
    reg = read_regions(regions)
    ds = data if isinstance(data, pipeline.Dataset) else pipeline.load_dataset(data)
    dem = (
        assign_regions(coverage.demand_points(ds.population), reg)
        if ds.population is not None
        else None
    )
    halo = halo_m(settings.travel_mode(), settings.horizon, ds.roads)
    out = []
    for i in range(len(reg)):
        cut, _ = cut_region(ds, reg, i, settings, demand_region=dem, halo=halo)
        folder = Path(root) / str(reg["admin_code"].iloc[i])

        def write(tmp: Path, cut: pipeline.Dataset = cut) -> None:
            for sub in ("roads", "facilities", "population", "boundaries"):
                (tmp / sub).mkdir()
            cut.roads.to_file(tmp / "roads" / "roads.gpkg", layer="roads", driver="GPKG")
            f = cut.facilities
            pd.DataFrame(
                {
                    "id": f["facility_id"],
                    "name": f["name"],
                    "type": f["type"],
                    "tier": f["tier"],
                    "lon": f.geometry.x,
                    "lat": f.geometry.y,
                }
            ).to_csv(tmp / "facilities" / "facilities.csv", index=False, encoding="utf-8")
            if cut.population is not None:
                cut.population.to_file(
                    tmp / "population" / "population.gpkg", layer="population", driver="GPKG"
                )
            if cut.boundaries is not None:
                cut.boundaries.to_file(
                    tmp / "boundaries" / "boundaries.gpkg", layer="boundaries", driver="GPKG"
                )

        _write_atomic_folder(folder, write)
        out.append(folder)
    return out
