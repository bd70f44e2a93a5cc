"""Many regions at once: cut a data set by county (with a travel-time halo), run each on Dask.

A provincial health commission checks all its counties at once. :func:`run_batch` cuts one
data set by region polygons (counties, or the townships of one county), runs the coverage
analysis for every region as an independent task and merges the per-region summaries. Each task
gets the region's own residents plus a **halo** of roads and facilities around it, wide enough
that every journey a resident can make within the travel horizon stays inside it, so facilities
across a border serve their neighbours and the answer equals one analysis of the whole area:

* residents are counted only in their own region (each demand unit belongs to the first region,
  in file order, that contains its representative point);
* facilities within ``v_max * horizon + 2 * access_max_m`` of the region are kept (``v_max`` is
  the fastest speed the mode can reach on these roads; the two access legs are the resident's
  and the facility's straight-line joins to the road);
* roads within one more ``access_max_m`` are kept (so a facility at the halo's edge joins the
  same road as in the whole network), whole lines, never clipped;
* boundaries touching that area are kept too (the drive mode slows down inside subdistricts).

Times beyond the horizon (``horizon_minutes``, default: the coverage threshold) are not computed
in a region: they are reported as infinite, and ``mean_minutes`` in the summaries is the mean
over residents within the horizon. Coverage, covered population and every time within the
horizon equal the single-machine answer (checked unit by unit in the tests).

Tasks run on Dask (``dask.distributed``): a local cluster sized to the machine by default, or an
existing scheduler (``scheduler="tcp://host:8786"``). A region whose inputs and settings are
unchanged since the last run (same content hash) is skipped, so a killed run resumes; a region's
outputs are written into a temporary folder and renamed into place only when complete, so a
worker killed mid-write leaves no partial outputs (Dask retries the task elsewhere).

>>> from planner import batch
>>> res = batch.run_batch("regions.gpkg", data="region/", out_dir="out/henan")   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import coverage, pipeline
from ._errors import InputError, InputFileError
from ._progress import Progress
from ._progress import report as report_progress
from .network import DRIVE_SPEEDS_KMH, TravelMode, travel_mode

log = logging.getLogger(__name__)

#: Columns of the merged ``summary.csv`` (the same as ``planner coverage``'s summary.csv) and
#: of ``admin_summary.parquet`` (plus ``region_code``).
SUMMARY_COLUMNS = [
    "admin_code",
    "admin_name",
    "level",
    "population",
    "covered_population",
    "covered_share",
]
MANIFEST = "manifest.json"
#: Environment variable of a fault-injection hook used by the tests: ``CODE:MARKER`` makes the
#: task of region CODE kill its own process once (after writing part of its outputs), leaving
#: MARKER behind so the retry runs normally.
FAULT_ENV = "PLANNER_BATCH_FAULT"


@dataclass(frozen=True)
class BatchSettings:
    """What every region computes (hashable; part of each region's content hash)."""

    mode: str = "walk"
    minutes: float = 15.0
    tiers: tuple[str, ...] = ()
    isochrone_minutes: tuple[float, ...] | None = None
    horizon_minutes: float | None = None
    speed_kmh: float | None = None
    access_max_m: float | None = None
    access_speed_factor: float | None = None
    #: siting: new sites per region (each region optimised on its own), or a regional budget
    #: split across regions (``regional_sites``); ``max_sites_per_region`` caps the per-region
    #: curve computed for the split (default: min(regional_sites, 10)).
    new_sites: int | None = None
    regional_sites: int | None = None
    max_sites_per_region: int | None = None
    new_tier: str = "community_station"
    time_limit_s: float = 60.0
    #: also check every region against the standards (planner.compliance) and merge the checks
    compliance: bool = False

    def __post_init__(self) -> None:
        for name in ("new_sites", "regional_sites", "max_sites_per_region"):
            v = getattr(self, name)
            if v is not None and (int(v) != v or v < 1):
                raise InputError(f"{name} must be a positive whole number, got {v!r}.")
        if self.new_sites is not None and self.regional_sites is not None:
            raise InputError(
                "give new_sites (per region) or regional_sites (a budget for all), not both."
            )
        pipeline.CoverageSettings(
            mode=self.mode, minutes=self.minutes, tiers=self.tiers
        )  # validates
        if self.horizon_minutes is not None and not self.horizon_minutes >= self.minutes:
            raise InputError(
                f"horizon_minutes ({self.horizon_minutes!r}) must be at least minutes ({self.minutes!r})."
            )

    @property
    def curve_sites(self) -> int:
        """Largest number of new sites optimised per region (0: no siting)."""
        if self.new_sites is not None:
            return int(self.new_sites)
        if self.regional_sites is not None:
            return int(self.max_sites_per_region or min(self.regional_sites, 10))
        return 0

    @property
    def horizon(self) -> float:
        return float(self.horizon_minutes if self.horizon_minutes is not None else self.minutes)

    def travel_mode(self) -> TravelMode:
        return travel_mode(
            self.mode,
            speed_kmh=self.speed_kmh,
            access_max_m=self.access_max_m,
            access_speed_factor=self.access_speed_factor,
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RegionOutcome:
    """What one region's task produced."""

    admin_code: str
    admin_name: str
    skipped: bool
    seconds: float
    population: float
    covered_population: float
    n_facilities: int
    n_roads: int
    content_hash: str
    folder: str
    peak_rss_mb: float = float("nan")
    worker_pid: int = 0


@dataclass(frozen=True)
class BatchResult:
    """The merged outputs of :func:`run_batch`."""

    summary: pd.DataFrame
    admin_summary: pd.DataFrame
    regions: pd.DataFrame
    out_dir: Path
    seconds: float
    dashboard: str | None = None
    written: dict[str, Path] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# regions and halo


def read_regions(
    regions: str | Path | gpd.GeoDataFrame,
    *,
    code_column: str = "admin_code",
    name_column: str = "admin_name",
) -> gpd.GeoDataFrame:
    """Region polygons with ``admin_code``, ``admin_name`` (and ``level`` if given), in WGS-84.

    Raises
    ------
    InputFileError
        When the file is missing, a column is absent, codes repeat or geometries are not polygons.
    """
    source = str(regions) if not isinstance(regions, gpd.GeoDataFrame) else "regions"
    if isinstance(regions, gpd.GeoDataFrame):
        gdf = regions.copy()
    else:
        path = Path(regions)
        if not path.exists():
            raise InputFileError(
                f"regions file not found: {path}. Fix: pass --regions FILE (polygons "
                "with admin_code and admin_name columns)."
            )
        import pyogrio

        gdf = pyogrio.read_dataframe(path)
    missing = [c for c in (code_column, name_column) if c not in gdf.columns]
    if missing:
        raise InputFileError(
            f"{source}: no column {', '.join(map(repr, missing))} (columns: {', '.join(map(str, gdf.columns))}). "
            "Fix: name the region code and name columns admin_code and admin_name "
            "(in Python: read_regions(..., code_column=, name_column=))."
        )
    if gdf.crs is None:
        raise InputFileError(
            f"{source} has no coordinate system. Fix: save it with one (e.g. EPSG:4326)."
        )
    gdf = gdf.to_crs("EPSG:4326")
    gdf["admin_code"] = gdf[code_column].astype(str).str.strip()
    gdf["admin_name"] = gdf[name_column].astype(str).str.strip()
    bad = ~gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]) | gdf.geometry.is_empty
    if bad.any():
        raise InputFileError(
            f"{source}: rows {list(np.flatnonzero(bad.to_numpy())[:10])} are not polygons. "
            "Fix: regions must be polygons."
        )
    dup = gdf["admin_code"].duplicated(keep=False)
    if dup.any():
        raise InputFileError(
            f"{source}: admin_code repeats: {sorted(set(gdf.loc[dup, 'admin_code']))[:10]}. "
            "Fix: one row per region (dissolve multi-part regions first)."
        )
    cols = ["admin_code", "admin_name"] + (["level"] if "level" in gdf.columns else [])
    return gpd.GeoDataFrame(gdf[cols], geometry=gdf.geometry.values, crs="EPSG:4326").reset_index(
        drop=True
    )


def fastest_speed_kmh(mode: TravelMode, roads: gpd.GeoDataFrame | None = None) -> float:
    """An upper bound on the speed of any edge the mode can use on ``roads``.

    Walk and e-bike move at one speed; drive at the fastest class speed, or the fastest posted
    ``maxspeed_kmh`` times ``maxspeed_factor`` when the mode uses posted limits. The urban
    slow-down only lowers speeds, so it is ignored here (a factor above 1 is honoured).
    """
    v = float(mode.speed_kmh)
    if mode.name == "drive" or mode.class_speeds_kmh:
        speeds = dict(DRIVE_SPEEDS_KMH) if mode.name == "drive" else {}
        speeds.update(dict(mode.class_speeds_kmh))
        if roads is not None and "highway" in roads.columns:
            present = set(roads["highway"].dropna().astype(str))
            v = max([v] + [s for c, s in speeds.items() if c in present])
        else:
            v = max([v, *speeds.values()])
        if mode.use_maxspeed and roads is not None and "maxspeed_kmh" in roads.columns:
            ms = pd.to_numeric(roads["maxspeed_kmh"], errors="coerce").to_numpy(float)
            ms = ms[np.isfinite(ms) & (ms > 0)]
            if len(ms):
                v = max(v, float(ms.max()) * mode.maxspeed_factor)
    return v * max(1.0, float(mode.urban_factor))


def halo_m(
    mode: TravelMode, horizon_minutes: float, roads: gpd.GeoDataFrame | None = None
) -> float:
    """How far around a region facilities must be kept: ``v_max * horizon + 2 * access_max_m``."""
    v = fastest_speed_kmh(mode, roads) / 3.6
    if not np.isfinite(horizon_minutes):
        return float("inf")
    return v * float(horizon_minutes) * 60.0 + 2.0 * float(mode.access_max_m)


def assign_regions(points: gpd.GeoSeries, regions: gpd.GeoDataFrame) -> np.ndarray:
    """Index of the region containing each point (the first in file order on shared borders); -1 outside."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0:
        return out
    pts = points.to_crs(regions.crs).values
    tree = shapely.STRtree(regions.geometry.values)
    pi, ri = tree.query(pts, predicate="intersects")  # intersects: a point on a border counts
    if len(pi):
        order = np.lexsort((ri, pi))
        pi, ri = pi[order], ri[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = ri[first]
    return out


def _overlapping_units(boundaries: gpd.GeoDataFrame, region: shapely.Geometry) -> np.ndarray:
    """Codes of the units sharing area with the region (a unit spanning several regions, such as
    a prefecture, belongs to each: its figures are summed over them when merging)."""
    idx = boundaries.geometry.sindex.query(region, predicate="intersects")
    if len(idx) == 0:
        return np.array([], dtype=object)
    geoms = boundaries.geometry.values[idx]
    share = shapely.area(shapely.intersection(geoms, region)) / np.maximum(
        shapely.area(geoms), 1e-30
    )
    return boundaries["admin_code"].to_numpy()[idx[share > 1e-6]].astype(str)


def _local_crs(geom: shapely.Geometry) -> str:
    """The WGS-84 UTM zone of a lon/lat geometry's centre (computed, not looked up: pyproj's
    database query takes ~0.1 s)."""
    c = geom.centroid
    zone = min(60, max(1, int((c.x + 180.0) // 6.0) + 1))
    return f"EPSG:{32600 + zone if c.y >= 0 else 32700 + zone}"


def cut_region(
    dataset: pipeline.Dataset,
    regions: gpd.GeoDataFrame,
    index: int,
    settings: BatchSettings,
    *,
    demand_region: np.ndarray | None = None,
    halo: float | None = None,
) -> tuple[pipeline.Dataset, list[str]]:
    """The part of ``dataset`` region ``index`` needs: own residents, roads and facilities in the halo.

    ``demand_region`` (from :func:`assign_regions` on the demand points) and ``halo`` (from
    :func:`halo_m` on the whole data set's roads) can be passed to save recomputing them per
    region: both scan the whole data set.

    Returns
    -------
    (Dataset, own_units)
        The cut data set, and the admin codes of the boundary units that belong to this region.
    """
    tm = settings.travel_mode()
    geom = regions.geometry.iloc[index]
    crs = _local_crs(geom)
    g = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs).iloc[0]
    h_fac = halo if halo is not None else halo_m(tm, settings.horizon, dataset.roads)
    h_road = h_fac + float(tm.access_max_m)

    def near(frame: gpd.GeoDataFrame, dist: float) -> gpd.GeoDataFrame:
        if not np.isfinite(dist):
            return frame
        # buffer in the region's own UTM zone, then query the frame's lon/lat index with the
        # buffered outline (densified first so its edges follow the projection): no frame is
        # reprojected per region
        area = shapely.segmentize(shapely.buffer(g, dist, quad_segs=16), 1000.0)
        area_ll = gpd.GeoSeries([area], crs=crs).to_crs("EPSG:4326").iloc[0]
        idx = frame.geometry.sindex.query(area_ll, predicate="intersects")
        return frame.iloc[np.sort(idx)]

    roads = near(dataset.roads, h_road)
    facilities = near(dataset.facilities, h_fac)
    population = None
    if dataset.population is not None:
        if demand_region is None:
            demand_region = assign_regions(coverage.demand_points(dataset.population), regions)
        population = dataset.population[demand_region == index]
    boundaries = None
    own = np.array([], dtype=object)
    if dataset.boundaries is not None:
        boundaries = near(dataset.boundaries, h_road)
        own = _overlapping_units(dataset.boundaries, regions.geometry.iloc[index])
    code = regions["admin_code"].iloc[index]
    cut = pipeline.Dataset(
        roads=roads,
        facilities=facilities,
        population=population,
        boundaries=boundaries,
        name=f"{dataset.name} / {code} {regions['admin_name'].iloc[index]}",
        synthetic=dataset.synthetic,
        sources=dict(dataset.sources),
    )
    return cut, [str(u) for u in own]


# ---------------------------------------------------------------------------------------------
# content hash


def _frame_digest(h: Any, frame: pd.DataFrame | None) -> None:
    if frame is None:
        h.update(b"none")
        return
    h.update(str(len(frame)).encode())
    geo = isinstance(frame, gpd.GeoDataFrame)
    cols = [c for c in frame.columns if not (geo and c == frame.geometry.name)]
    if cols and len(frame):
        plain = frame[cols].astype(str)
        h.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
        h.update(",".join(map(str, cols)).encode())
    if geo and len(frame):
        h.update(b"".join(shapely.to_wkb(frame.geometry.values, hex=False)))


def content_hash(
    cut: pipeline.Dataset,
    region_code: str,
    region_geom: shapely.Geometry,
    settings: BatchSettings,
    own_units: Sequence[str],
) -> str:
    """SHA-256 of a region's inputs and settings: equal hashes mean equal outputs."""
    from . import __version__

    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"settings": settings.as_dict(), "code": region_code, "version": __version__},
            sort_keys=True,
            default=str,
        ).encode()
    )
    h.update(shapely.to_wkb(region_geom))
    h.update("|".join(sorted(map(str, own_units))).encode())
    for frame in (cut.roads, cut.facilities, cut.population, cut.boundaries):
        _frame_digest(h, frame)
    return h.hexdigest()


def _done(folder: Path, digest: str) -> dict[str, Any] | None:
    try:
        man = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return man if man.get("content_hash") == digest else None


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
    from . import compliance

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
    from . import siting
    from ._errors import OptimizationError

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
    from .report import staged_outputs

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


# ---------------------------------------------------------------------------------------------
# command line (registered by planner.cli)


def add_parser(
    sub: Any, *, add_data_args: Callable[[Any], None], add_mode_args: Callable[[Any], None]
) -> Any:
    """The ``planner batch`` subcommand."""
    p = sub.add_parser(
        "batch",
        help="coverage for many regions (counties) at once, on Dask",
        description="Cut one data set by region polygons (with a travel-time halo) and run the coverage "
        "analysis of every region on a Dask cluster; merge the summaries.",
    )
    p.add_argument(
        "--regions",
        type=Path,
        required=True,
        help="region polygons with admin_code and admin_name columns (counties, townships, ...)",
    )
    add_data_args(p)
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="instead of one data set: a data folder per region, DATA_ROOT/<admin_code>/",
    )
    add_mode_args(p)
    p.add_argument(
        "--isochrones",
        type=float,
        nargs="*",
        default=None,
        help="also compute isochrone polygons at these minutes (default: none)",
    )
    p.add_argument(
        "--horizon-minutes",
        type=float,
        default=None,
        help="longest time computed exactly (default: --minutes); sizes the halo",
    )
    g = p.add_argument_group("siting (optional)")
    g.add_argument(
        "--new-sites",
        type=int,
        default=None,
        metavar="P",
        help="propose P new sites in every region (most residents newly covered)",
    )
    g.add_argument(
        "--regional-sites",
        type=int,
        default=None,
        metavar="B",
        help="a budget of B new sites for all regions, split where they cover the most",
    )
    g.add_argument(
        "--max-sites-per-region",
        type=int,
        default=None,
        metavar="K",
        help="with --regional-sites: sites optimised per region (default min(B, 10))",
    )
    p.add_argument(
        "--compliance",
        action="store_true",
        help="also check every region against the standards; writes compliance_checks.csv",
    )
    p.add_argument(
        "--scheduler", default=None, help="address of an existing Dask scheduler (tcp://HOST:PORT)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local cluster: number of workers (default: cores)",
    )
    p.add_argument(
        "--memory-limit",
        default=None,
        help="local cluster: memory per worker, e.g. 4GiB (default: auto)",
    )
    p.add_argument(
        "--serial", action="store_true", help="no Dask: run the regions one after another here"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def cmd_batch(args: Any) -> int:
    """Run ``planner batch`` from parsed arguments."""
    import sys

    from tqdm import tqdm

    t0 = time.perf_counter()
    settings = BatchSettings(
        mode=args.mode or "walk",
        minutes=float(args.minutes if args.minutes is not None else 15.0),
        tiers=tuple(args.tiers or ()),
        isochrone_minutes=tuple(args.isochrones) if args.isochrones else None,
        horizon_minutes=args.horizon_minutes,
        speed_kmh=args.speed_kmh,
        access_max_m=args.access_max_m,
        access_speed_factor=args.access_speed_factor,
        new_sites=args.new_sites,
        regional_sites=args.regional_sites,
        max_sites_per_region=args.max_sites_per_region,
        compliance=args.compliance,
    )
    bar = None if args.quiet else tqdm(total=0, unit="region", desc="regions", file=sys.stderr)

    def on_region(done: int, total: int, o: RegionOutcome) -> None:
        if bar is None:
            return
        bar.total = total
        bar.update(done - bar.n)
        bar.set_postfix_str(f"{o.admin_code} {'skipped' if o.skipped else f'{o.seconds:.1f} s'}")

    if not args.debug:
        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    data = args.data
    if data is None and args.data_root is None and args.roads is None:
        data = pipeline.DEMO_DIR
    res = run_batch(
        args.regions,
        data=data,
        data_root=args.data_root,
        roads=args.roads,
        facilities=args.facilities,
        population=args.population,
        boundaries=args.boundaries,
        facilities_crs=args.facilities_crs,
        settings=settings,
        out_dir=args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        memory_limit=args.memory_limit,
        executor="serial" if args.serial else "dask",
        on_region=on_region,
        on_cluster=lambda link: print(f"Dask dashboard: {link}", file=sys.stderr, flush=True),
    )
    if bar is not None:
        bar.close()
    top = res.summary.iloc[0]
    skipped = int(res.regions["skipped"].sum())
    print(
        f"{len(res.regions)} regions ({skipped} unchanged, skipped): population {top['population']:,.0f}, "
        f"covered {top['covered_population']:,.0f} ({100 * top['covered_share']:.1f} %) within "
        f"{settings.minutes:g} min ({settings.mode})"
    )
    for r in res.regions.itertuples():
        share = 100 * r.covered_share if r.population > 0 else float("nan")
        print(
            f"  {r.admin_code} {r.admin_name}: {r.population:,.0f} residents, {share:.1f} % covered"
        )
    if "siting_json" in res.written:
        sj = json.loads(res.written["siting_json"].read_text(encoding="utf-8"))
        print(
            f"{sj['new_sites']} new sites: +{sj['newly_covered_population']:,.0f} residents covered, "
            f"bound {sj['bound']:,.0f} (gap {100 * sj['gap']:.2f} %)"
        )
    print(
        f"wrote {', '.join(str(p) for p in res.written.values())} and {args.out}/regions/<admin_code>/"
    )
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0
