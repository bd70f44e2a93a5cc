"""``run_batch``: the regions as Dask tasks (a local cluster or a scheduler), resumed and merged.

Part of :mod:`planner.batch`, which re-exports the public names.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import coverage, pipeline
from .._errors import InputError, InputFileError
from .._progress import Progress
from .._progress import report as report_progress
from .region import _folder_task, _region_task, allocate_sites
from .regions import _done, assign_regions, content_hash, cut_region, halo_m, read_regions
from .settings import SUMMARY_COLUMNS, BatchResult, BatchSettings, RegionOutcome

log = logging.getLogger("planner.batch")

# ---------------------------------------------------------------------------------------------
# the batch


def _cluster(
    scheduler: str | None, workers: int | None, memory_limit: str | None, processes: bool
) -> tuple[Any, Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise InputError(
            "planner batch needs dask.distributed. Fix: pip install 'dask[distributed]'."
        ) from exc
    if scheduler:
        return Client(scheduler, timeout="30s"), None
    n = workers or max(1, os.cpu_count() or 1)
    # the workers' own log lines (heartbeats failing while the cluster shuts down) are noise
    # for a command-line user: only critical ones are shown
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=processes,
        memory_limit=memory_limit or "auto",
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    return Client(cluster), cluster


def run_batch(
    regions: str | Path | gpd.GeoDataFrame,
    *,
    data: pipeline.Dataset | str | Path | None = None,
    data_root: str | Path | None = None,
    roads: str | Path | None = None,
    facilities: str | Path | None = None,
    population: str | Path | None = None,
    boundaries: str | Path | None = None,
    facilities_crs: str | None = None,
    settings: BatchSettings | None = None,
    out_dir: str | Path = "out/batch",
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: str | None = None,
    executor: str = "dask",
    processes: bool = True,
    progress: Progress | None = None,
    on_region: Callable[[int, int, RegionOutcome], None] | None = None,
    on_cluster: Callable[[str | None], None] | None = None,
) -> BatchResult:
    """Coverage for every region, each with its halo, on Dask; merged summaries.

    Parameters
    ----------
    regions : path or GeoDataFrame
        Region polygons (``admin_code``, ``admin_name``; any level).
    data : Dataset or folder, optional
        One data set covering every region (cut per region, with a halo). Or name the files with
        ``roads``, ``facilities``, ``population``, ``boundaries``.
    data_root : folder, optional
        Instead: one data folder per region, ``data_root/<admin_code>/`` (each should already
        hold its own halo of roads and facilities, as ``planner fetch`` writes).
    settings : BatchSettings
    out_dir : folder
        Receives ``summary.csv``, ``admin_summary.parquet``, ``regions.csv`` and
        ``regions/<admin_code>/`` per region.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); default: a local cluster.
    workers, memory_limit : optional
        Local cluster size (default: one single-threaded worker per core) and memory per worker
        (Dask's syntax, e.g. ``"4GiB"``).
    executor : {"dask", "serial"}
        ``"serial"`` runs the regions one after another in this process (same answers).
    progress : callable(stage, fraction), optional
        The one progress protocol of planner: ``progress("regions", share of regions done)``.
    on_region : callable(done, total, outcome), optional
        Called as each region finishes (or is found done), with its :class:`RegionOutcome`.
    on_cluster : callable(dashboard_link), optional
        Called once the Dask client is connected (the CLI prints the dashboard link).

    Returns
    -------
    BatchResult
    """
    t0 = time.perf_counter()
    settings = settings or BatchSettings()
    reg = read_regions(regions)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputFileError(f"--out {out} is a file. Fix: name a folder.")
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    outcomes: list[RegionOutcome] = []
    if data_root is not None:
        jobs = _folder_jobs(reg, Path(data_root), settings, out, facilities_crs)
    else:
        if isinstance(data, pipeline.Dataset):
            ds = data
        else:
            ds = pipeline.load_dataset(
                data,
                roads=roads,
                facilities=facilities,
                population=population,
                boundaries=boundaries,
                facilities_crs=facilities_crs,
            )
        jobs, outcomes = _cut_jobs(reg, ds, settings, out)
    total = len(jobs) + len(outcomes)
    for o in outcomes:
        _region_done(progress, on_region, len(outcomes), total, o)
    if executor not in ("dask", "serial"):
        raise InputError(f"executor must be 'dask' or 'serial', got {executor!r}.")
    dashboard = None
    if jobs:
        dashboard = _run_jobs(
            jobs,
            outcomes,
            total,
            executor=executor,
            scheduler=scheduler,
            workers=workers,
            memory_limit=memory_limit,
            processes=processes,
            progress=progress,
            on_region=on_region,
            on_cluster=on_cluster,
        )
    _remove_stale(out)  # every task is done: a temporary folder left now is a killed worker's
    return _merge(reg, outcomes, out, time.perf_counter() - t0, dashboard, settings)


def _folder_jobs(
    reg: gpd.GeoDataFrame,
    root: Path,
    settings: BatchSettings,
    out: Path,
    facilities_crs: str | None,
) -> list[tuple[str, tuple]]:
    """One task per region whose data lie in ``root/<admin_code>/``."""
    jobs: list[tuple[str, tuple]] = []
    for i, row in reg.iterrows():
        folder = root / str(row["admin_code"])
        if not folder.is_dir():
            raise InputFileError(
                f"no data folder {folder} for region {row['admin_code']} {row['admin_name']}. "
                f"Fix: put each region's data in {root}/<admin_code>/."
            )
        args = (
            str(folder),
            shapely.to_wkb(reg.geometry.iloc[i]),
            row["admin_code"],
            row["admin_name"],
            settings,
            str(out),
            facilities_crs,
        )
        jobs.append(("folder", args))
    return jobs


def _cut_jobs(
    reg: gpd.GeoDataFrame, ds: pipeline.Dataset, settings: BatchSettings, out: Path
) -> tuple[list[tuple[str, tuple]], list[RegionOutcome]]:
    """One task per region cut from one data set; regions already done (same hash) are reused."""
    jobs: list[tuple[str, tuple]] = []
    outcomes: list[RegionOutcome] = []
    dem = (
        assign_regions(coverage.demand_points(ds.population), reg)
        if ds.population is not None
        else None
    )
    halo = halo_m(settings.travel_mode(), settings.horizon, ds.roads)
    if dem is not None and ds.population is not None and (dem < 0).any():
        outside = float(ds.population.loc[dem < 0, "population"].sum())
        log.warning("%s residents live outside every region and are not counted", f"{outside:,.0f}")
    for i in range(len(reg)):
        cut, own = cut_region(ds, reg, i, settings, demand_region=dem, halo=halo)
        code, name = reg["admin_code"].iloc[i], reg["admin_name"].iloc[i]
        digest = content_hash(cut, code, reg.geometry.iloc[i], settings, own)
        man = _done(out / "regions" / code, digest)
        if man is not None:
            outcomes.append(
                RegionOutcome(
                    code,
                    name,
                    True,
                    0.0,
                    man["population"],
                    man["covered_population"],
                    man["n_facilities"],
                    man["n_roads"],
                    digest,
                    str(out / "regions" / code),
                )
            )
            continue
        args = (
            cut,
            own,
            code,
            name,
            shapely.to_wkb(reg.geometry.iloc[i]),
            digest,
            settings,
            str(out),
        )
        jobs.append(("cut", args))
    return jobs, outcomes


def _run_jobs(
    jobs: list[tuple[str, tuple]],
    outcomes: list[RegionOutcome],
    total: int,
    *,
    executor: str,
    scheduler: str | None,
    workers: int | None,
    memory_limit: str | None,
    processes: bool,
    progress: Progress | None,
    on_region: Callable[[int, int, RegionOutcome], None] | None,
    on_cluster: Callable[[str | None], None] | None,
) -> str | None:
    """Run the region tasks (serially or on Dask), appending to ``outcomes``; the dashboard link."""
    if executor == "serial":
        for kind, a in jobs:
            o = _region_task(*a) if kind == "cut" else _folder_task(*a)
            outcomes.append(o)
            _region_done(progress, on_region, len(outcomes), total, o)
        return None
    from dask.distributed import as_completed

    client, cluster = _cluster(scheduler, workers, memory_limit, processes)
    try:
        dashboard = getattr(client, "dashboard_link", None)
        if on_cluster:
            on_cluster(dashboard)
        futures = []
        for kind, a in jobs:
            fn = _region_task if kind == "cut" else _folder_task
            # the cut data travel inside the task (not scattered): scattered data die with the
            # worker holding them, and a retried task would find them gone
            futures.append(
                client.submit(
                    fn,
                    *a,
                    key=f"planner-region-{a[2]}-{uuid.uuid4().hex[:6]}",
                    retries=2,
                    pure=False,
                )
            )
        for fut in as_completed(futures):
            o = fut.result()
            outcomes.append(o)
            _region_done(progress, on_region, len(outcomes), total, o)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return dashboard


def _region_done(
    progress: Progress | None,
    on_region: Callable[[int, int, RegionOutcome], None] | None,
    done: int,
    total: int,
    outcome: RegionOutcome,
) -> None:
    report_progress(progress, "regions", done / total if total else 1.0)
    if on_region is not None:
        on_region(done, total, outcome)


def _remove_stale(out: Path) -> None:
    """Temporary folders left by workers killed mid-write (never read as outputs)."""
    folder = out / "regions"
    if folder.is_dir():
        for stale in list(folder.glob(".*.tmp-*")) + list(folder.glob(".*.old-*")):
            shutil.rmtree(stale, ignore_errors=True)


def _merge(
    reg: gpd.GeoDataFrame,
    outcomes: list[RegionOutcome],
    out: Path,
    seconds: float,
    dashboard: str | None,
    settings: BatchSettings,
) -> BatchResult:
    by_code = {o.admin_code: o for o in outcomes}
    parts = []
    rows = []
    for r in reg.itertuples(index=False):
        o = by_code[r.admin_code]
        f = Path(o.folder) / "admin_summary.parquet"
        s = (
            pd.read_parquet(f)
            if f.exists()
            else pd.DataFrame(columns=["region_code", *SUMMARY_COLUMNS])
        )
        parts.append(s)
        share = o.covered_population / o.population if o.population > 0 else np.nan
        rows.append(
            {
                "admin_code": r.admin_code,
                "admin_name": r.admin_name,
                "level": getattr(r, "level", None) or "region",
                "population": o.population,
                "covered_population": o.covered_population,
                "covered_share": share,
                "skipped": o.skipped,
                "seconds": o.seconds,
                "n_facilities": o.n_facilities,
                "n_roads": o.n_roads,
                "peak_rss_mb": o.peak_rss_mb,
                "worker_pid": o.worker_pid,
                "content_hash": o.content_hash,
            }
        )
    regions_df = pd.DataFrame(rows)
    admin = _combine_units(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()
    pop, cov = _fsum(regions_df["population"]), _fsum(regions_df["covered_population"])
    top = pd.DataFrame(
        [
            {
                "admin_code": "",
                "admin_name": "all regions",
                "level": "all",
                "population": pop,
                "covered_population": cov,
                "covered_share": cov / pop if pop > 0 else np.nan,
            }
        ]
    )
    summary = pd.concat(
        [top, regions_df[SUMMARY_COLUMNS], admin[SUMMARY_COLUMNS] if len(admin) else None],
        ignore_index=True,
    )
    from ..report import staged_outputs

    written: dict[str, Path] = {}
    # the merged set is staged and moved into place together: a failure keeps the previous set
    with staged_outputs(out) as stage:
        if settings.curve_sites:
            written.update(_merge_siting(reg, by_code, stage, settings))
        if settings.compliance:
            parts_c = []
            for code in reg["admin_code"]:
                f = Path(by_code[code].folder) / "compliance_checks.parquet"
                if f.exists():
                    parts_c.append(pd.read_parquet(f).assign(region_code=code))
            checks = pd.concat(parts_c, ignore_index=True) if parts_c else pd.DataFrame()
            written["compliance"] = stage / "compliance_checks.csv"
            checks.to_csv(
                written["compliance"], index=False, encoding="utf-8-sig"
            )  # BOM: for Chinese Excel
        written["summary"] = stage / "summary.csv"
        summary.to_csv(written["summary"], index=False, encoding="utf-8")
        written["regions"] = stage / "regions.csv"
        regions_df.to_csv(written["regions"], index=False, encoding="utf-8")
        written["admin_summary"] = stage / "admin_summary.parquet"
        admin.to_parquet(written["admin_summary"], index=False)
    written = {k: out / p.name for k, p in written.items()}
    return BatchResult(
        summary=summary,
        admin_summary=admin,
        regions=regions_df,
        out_dir=out,
        seconds=round(seconds, 3),
        dashboard=dashboard,
        written=written,
    )


def _combine_units(parts: pd.DataFrame) -> pd.DataFrame:
    """One row per unit and level: figures of a unit spanning several regions summed over them."""
    if parts.empty:
        return parts
    p = parts.copy()
    p["_wt"] = p["mean_minutes"].fillna(0.0) * p["timed_population"]
    key = ["level", "admin_code"]
    first = p.groupby(key, sort=False)[["admin_name", "kind", "parent_code"]].first()
    sums = p.groupby(key, sort=False)[
        ["population", "covered_population", "uncovered_population", "timed_population", "_wt"]
    ].sum()
    regions = p.groupby(key, sort=False)["region_code"].agg(
        lambda c: ",".join(sorted(set(map(str, c))))
    )
    out = first.join(sums).join(regions).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["covered_share"] = np.where(
            out["population"] > 0, out["covered_population"] / out["population"], np.nan
        )
        out["mean_minutes"] = np.where(
            out["timed_population"] > 0, out["_wt"] / out["timed_population"], np.nan
        )
    order = {lv: i for i, lv in enumerate((*coverage.LEVELS, "all"))}
    out["_o"] = out["level"].map(order).fillna(len(order))
    out = out.sort_values(["_o", "admin_code"], kind="stable")
    cols = [
        "region_code",
        "admin_code",
        "admin_name",
        "level",
        "kind",
        "parent_code",
        "population",
        "covered_population",
        "uncovered_population",
        "covered_share",
        "mean_minutes",
        "timed_population",
    ]
    return out[cols].reset_index(drop=True)


def _merge_siting(
    reg: gpd.GeoDataFrame, by_code: dict[str, RegionOutcome], out: Path, settings: BatchSettings
) -> dict[str, Path]:
    """Proposals of every region (per-region optimum, or the regional budget's split)."""
    curves, props = {}, {}
    for code in reg["admin_code"]:
        folder = Path(by_code[code].folder)
        curves[code] = pd.read_csv(folder / "siting_curve.csv")
        props[code] = gpd.read_parquet(folder / "proposals.parquet")
    if settings.regional_sites is not None:
        take, total, ub = allocate_sites(curves, int(settings.regional_sites))
    else:
        take = {c: int(settings.new_sites or 0) for c in curves}
    rows, chosen = [], []
    for code, p in take.items():
        cv = curves[code].sort_values("sites")
        if p == 0 or len(cv) == 0:
            rows.append(
                {"admin_code": code, "new_sites": 0, "newly_covered_population": 0.0, "bound": 0.0}
            )
            continue
        cv = cv[cv["sites"] <= p]
        best = cv.iloc[
            int(np.argmax(cv["objective"].to_numpy(float)))
        ]  # first p reaching the best value
        used = int(best["sites"])
        pr = props[code]
        pr = pr[pr["sites"] == used] if float(best["objective"]) > 0 else pr.iloc[0:0]
        chosen.append(pr.assign(admin_code=code))
        rows.append(
            {
                "admin_code": code,
                "new_sites": int(len(pr)),
                "newly_covered_population": float(best["objective"]),
                "bound": float(cv.loc[cv["sites"] == p, "bound"].iloc[0])
                if (cv["sites"] == p).any()
                else float(best["bound"]),
            }
        )
    table = pd.DataFrame(rows)
    if settings.regional_sites is None:
        total, ub = _fsum(table["newly_covered_population"]), _fsum(table["bound"])
    summary = {
        "objective": "max-coverage",
        "budget": settings.regional_sites,
        "new_sites_per_region": settings.new_sites,
        "new_sites": int(table["new_sites"].sum()),
        "newly_covered_population": total,
        "bound": ub,
        "gap": (ub - total) / ub if ub > 0 else 0.0,
        "bound_meaning": "no choice of sites (and, with a budget, no split of it across regions) "
        "covers more residents in the per-region model",
    }
    frames = [c for c in chosen if len(c)]
    proposals = (
        gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        if frames
        else gpd.GeoDataFrame({"site_id": [], "admin_code": []}, geometry=[], crs="EPSG:4326")
    )
    keep = [
        c
        for c in ("admin_code", "site_id", "lon", "lat", "tier", "newly_covered_population")
        if c in proposals.columns
    ]
    paths = {
        "proposals": out / "proposals.csv",
        "siting": out / "siting.csv",
        "siting_json": out / "siting.json",
    }
    pd.DataFrame(proposals[keep]).to_csv(paths["proposals"], index=False, encoding="utf-8")
    table.to_csv(paths["siting"], index=False, encoding="utf-8")
    paths["siting_json"].write_text(json.dumps(summary, indent=1, default=float), encoding="utf-8")
    return paths


def _fsum(values: pd.Series) -> float:
    import math

    return math.fsum(pd.to_numeric(values, errors="coerce").fillna(0.0).to_numpy(float))


def read_layer(out_dir: str | Path, layer: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """One layer (``demand``, ``facilities``, ``uncovered``, ``isochrones``, ``admin_summary``) of
    every region of a batch, with a ``region_code`` column."""
    frames = []
    for folder in sorted((Path(out_dir) / "regions").iterdir()):
        f = folder / f"{layer}.parquet"
        if folder.name.startswith(".") or not f.exists():
            continue
        try:
            df = gpd.read_parquet(f)
        except ValueError:
            df = pd.read_parquet(f)
        df["region_code"] = folder.name
        frames.append(df)
    if not frames:
        raise InputFileError(
            f"no {layer}.parquet in {Path(out_dir) / 'regions'}. Fix: run planner batch first."
        )
    out = pd.concat(frames, ignore_index=True)
    return (
        gpd.GeoDataFrame(out, crs=frames[0].crs) if isinstance(frames[0], gpd.GeoDataFrame) else out
    )
