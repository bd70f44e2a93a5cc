"""Synthetic multi-county regions for tests, benchmarks and teaching (never real data).

:func:`make_region` tiles the embedded demo county (示范县, itself synthetic) into a grid of
``cols x rows`` counties, each with its own administrative codes, links neighbouring counties
with roads across every shared border, and puts health facilities just across each border, so
that a resident near a border may be served from the next county. It writes a data folder that
``planner coverage --data`` and ``planner batch --data`` read, plus ``regions.gpkg`` (the
counties, columns ``admin_code, admin_name``).

>>> from planner.synthetic import make_region
>>> folder = make_region("/tmp/region4", cols=2, rows=2)        # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from scipy.spatial import cKDTree

from ._errors import InputError

log = logging.getLogger(__name__)

#: First two digits of every synthetic county code: 41 (Henan) + 99, a city code no real
#: prefecture has, so a synthetic code can never be mistaken for a real county's.
CODE_PREFIX = "4199"
SYNTHETIC_NOTE = "SYNTHETIC: tiles of the planner demo county; not real data"


def _county_code(k: int) -> str:
    return f"{CODE_PREFIX}{k + 1:02d}"


def _recode(code: str, county: str) -> str:
    # demo codes all start with the demo county's 6 digits (419901...)
    return county + str(code)[6:]


def make_region(
    out_dir: str | Path,
    *,
    cols: int = 2,
    rows: int = 2,
    connectors_per_border: int = 4,
    gap_cells: int = 2,
) -> Path:
    """Write a synthetic region of ``cols * rows`` demo-like counties into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to create (``roads/``, ``facilities/``, ``population/``, ``boundaries/`` and
        ``regions.gpkg``); files in it are overwritten.
    cols, rows : int
        Grid of counties (at most 99 in all). Each has the demo's ~476,000 residents.
    connectors_per_border : int
        Roads linking two neighbouring counties across each shared border; a village clinic is
        placed on each, just inside the neighbour, so border residents are served across it.
    gap_cells : int
        Spacing between county tiles, in population-raster cells (3 arc-seconds).

    Returns
    -------
    Path
        ``out_dir``.
    """
    from .pipeline import DEMO_DIR, load_demo

    n = cols * rows
    if not (1 <= n <= 99) or cols < 1 or rows < 1:
        raise InputError(f"cols * rows must be 1..99 counties, got cols={cols}, rows={rows}.")
    out = Path(out_dir)
    for sub in ("roads", "facilities", "population", "boundaries"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    ds = load_demo()
    boundaries = ds.boundaries
    if boundaries is None:  # the demo always has them; a damaged install does not
        raise InputError(f"the demo data set in {DEMO_DIR} has no boundaries; reinstall planner.")
    with rasterio.open(DEMO_DIR / "population" / "demo_population.tif") as src:
        arr = src.read(1)
        nodata = src.nodata
        tr = src.transform
        profile = src.profile
    cell = tr.a
    h, w = arr.shape
    dx = (w + gap_cells) * cell
    dy = (h + gap_cells) * abs(tr.e)
    road_cols = [c for c in ("highway", "oneway", "maxspeed_kmh", "name") if c in ds.roads.columns]
    roads, facs, bnds, regions = [], [], [], []
    mosaic = np.full((rows * (h + gap_cells), cols * (w + gap_cells)), nodata, dtype=arr.dtype)
    for k in range(n):
        i, j = k % cols, k // cols  # column, row (row 0 at the top)
        ox, oy = i * dx, -j * dy
        county = _county_code(k)
        r = ds.roads[road_cols + ["geometry"]].copy()
        r["geometry"] = r.geometry.translate(ox, oy)
        r["county"] = county
        roads.append(r)
        f = ds.facilities.copy()
        f["geometry"] = f.geometry.translate(ox, oy)
        f["facility_id"] = county + "-" + f["facility_id"].astype(str)
        facs.append(f)
        b = boundaries.copy()
        b["geometry"] = b.geometry.translate(ox, oy)
        b["admin_code"] = [_recode(c, county) for c in b["admin_code"]]
        b["parent_code"] = [
            _recode(c, county) if str(c).startswith("419901") else "" for c in b["parent_code"]
        ]
        b.loc[b["level"] == "county", "admin_name"] = f"示范{k + 1}县"
        bnds.append(b)
        reg = b[b["level"] == "county"][["admin_code", "admin_name", "geometry"]]
        regions.append(reg)
        r0, c0 = j * (h + gap_cells), i * (w + gap_cells)
        mosaic[r0 : r0 + h, c0 : c0 + w] = arr
    roads_df = gpd.GeoDataFrame(pd.concat(roads, ignore_index=True), crs=ds.roads.crs)
    fac_df = gpd.GeoDataFrame(pd.concat(facs, ignore_index=True), crs=ds.facilities.crs)
    conn, border_fac = _connectors(roads_df, cols, rows, connectors_per_border)
    roads_df = gpd.GeoDataFrame(pd.concat([roads_df, conn], ignore_index=True), crs=ds.roads.crs)
    fac_df = gpd.GeoDataFrame(
        pd.concat([fac_df, border_fac], ignore_index=True), crs=ds.facilities.crs
    )
    roads_df.drop(columns="county").to_file(
        out / "roads" / "roads.gpkg", layer="roads", driver="GPKG"
    )
    fcsv = pd.DataFrame(
        {
            "id": fac_df["facility_id"],
            "name": fac_df["name"],
            "type": fac_df["type"],
            "lon": fac_df.geometry.x.round(7),
            "lat": fac_df.geometry.y.round(7),
        }
    )
    fcsv.to_csv(out / "facilities" / "facilities.csv", index=False, encoding="utf-8")
    bnd = gpd.GeoDataFrame(pd.concat(bnds, ignore_index=True), crs=boundaries.crs)
    bnd.to_file(out / "boundaries" / "boundaries.gpkg", layer="boundaries", driver="GPKG")
    gpd.GeoDataFrame(pd.concat(regions, ignore_index=True), crs=boundaries.crs).to_file(
        out / "regions.gpkg", layer="regions", driver="GPKG"
    )
    profile.update(width=mosaic.shape[1], height=mosaic.shape[0], compress="deflate")
    with rasterio.open(out / "population" / "population.tif", "w", **profile) as dst:
        dst.write(mosaic, 1)
        dst.update_tags(
            name=f"synthetic region of {n} demo counties",
            source=SYNTHETIC_NOTE,
            units="people per cell",
        )
    (out / "README.txt").write_text(
        f"{SYNTHETIC_NOTE}.\n{n} counties ({cols} x {rows}) made by planner.synthetic.make_region "
        f"from the demo county; {len(conn)} roads across borders, {len(border_fac)} clinics by them.\n",
        encoding="utf-8",
    )
    (out / "region.json").write_text(
        json.dumps(
            {
                "counties": n,
                "cols": cols,
                "rows": rows,
                "connectors": len(conn),
                "border_facilities": len(border_fac),
                "synthetic": True,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    log.info("wrote a synthetic region of %d counties to %s", n, out)
    return out


def _vertices(roads: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of every road vertex and the county each belongs to (a connector ending on a
    vertex is joined there: a shared vertex of two lines is a junction)."""
    xy, idx = shapely.get_coordinates(roads.geometry.values, return_index=True)
    return xy, roads["county"].to_numpy()[idx]


def _connectors(roads: gpd.GeoDataFrame, cols: int, rows: int, per_border: int):
    """Straight secondary roads between facing line ends of neighbouring counties."""
    pts, county = _vertices(
        roads[
            roads["highway"].isin(
                ["primary", "secondary", "tertiary", "unclassified", "residential"]
            )
        ]
    )
    lines: list[shapely.LineString] = []
    names: list[str] = []
    facs: list[dict[str, object]] = []
    for k in range(cols * rows):
        i, j = k % cols, k // cols
        for di, dj in ((1, 0), (0, 1)):
            if i + di >= cols or j + dj >= rows:
                continue
            k2 = k + di + dj * cols
            a = pts[county == _county_code(k)]
            b = pts[county == _county_code(k2)]
            ax = 1 if di else 0  # the axis the border runs along (y for an east neighbour)
            lo, hi = a[:, ax].min(), a[:, ax].max()
            for q in range(per_border):
                t = lo + (hi - lo) * (q + 0.5) / per_border
                # the end of county k farthest towards k2 near this position, and k2's facing end
                near_a = a[np.abs(a[:, ax] - t) < (hi - lo) / (2 * per_border)]
                if len(near_a) == 0:
                    continue
                # the closest pair of vertices across the border in this band
                d, j2 = cKDTree(b).query(near_a)
                pa, pb = near_a[int(np.argmin(d))], b[j2[int(np.argmin(d))]]
                lines.append(shapely.LineString([pa, pb]))
                names.append(f"跨县连接路 {_county_code(k)}-{_county_code(k2)} #{q + 1}")
                # a clinic by the road's end inside the neighbour (about 20 m off the road)
                fx, fy = pb[0], pb[1] + 0.0002
                facs.append(
                    {
                        "facility_id": f"{_county_code(k2)}-B{len(facs) + 1:03d}",
                        "name": f"边界村卫生室 {len(facs) + 1}",
                        "type": "村卫生室",
                        "tier": "village_clinic",
                        "geometry": shapely.Point(fx, fy),
                    }
                )
    conn = gpd.GeoDataFrame(
        {"highway": "secondary", "oneway": 0, "name": names}, geometry=lines, crs=roads.crs
    )
    if "maxspeed_kmh" in roads.columns:
        conn["maxspeed_kmh"] = np.nan
    fac = (
        gpd.GeoDataFrame(facs, geometry="geometry", crs=roads.crs)
        if facs
        else gpd.GeoDataFrame(
            {"facility_id": [], "name": [], "type": [], "tier": []}, geometry=[], crs=roads.crs
        )
    )
    return conn, fac
