"""Candidate sites: around uncovered residents, at village centres, at road junctions, or
premises from a file (their own columns kept: costs, capacities).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import load, standards
from .._errors import InputError

if TYPE_CHECKING:
    from ..pipeline import CoverageResult

from .problem import demand_attachment

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
        from .._validate import require_file

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
    if source == "file":  # named by the errors about its columns (siting.candidate_numbers)
        gdf.attrs["source_file"] = str(path)
    return gdf


def _nodes_near(net, att, minutes: float) -> np.ndarray:
    """Nodes the residents joined to the network by ``att`` can reach within ``minutes``
    (forward search from them)."""
    from .. import _engine

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
