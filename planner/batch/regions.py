"""Regions and their halo: read the region polygons, cut a data set for one region, content hashes.

Part of :mod:`planner.batch`, which re-exports the public names.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import coverage, pipeline
from .._errors import InputFileError
from ..network import DRIVE_SPEEDS_KMH, TravelMode
from .settings import MANIFEST, BatchSettings

log = logging.getLogger("planner.batch")

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
    from .. import __version__

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
