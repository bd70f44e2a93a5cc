"""Read population (``read_population``): points, polygons, rasters and group columns.

Part of :mod:`planner.load`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .. import _chinacrs
from .._errors import CRSError, InputError, InputFileError, InputWarning
from .._gridcut import grid_cut, polygonal
from .._readfile import (
    PARQUET_SUFFIXES,
    RASTER_SUFFIXES,
    TABLE_SUFFIXES,
    VECTOR_SUFFIXES,
    WGS84,
    data_columns,
    first_example,
    geoseries_to_wgs84,
    listing,
    parse_crs,
    points_from_columns,
    read_table,
    require_column,
    suffix_of,
    unused_columns,
)
from .._validate import Problems, check_bytes, count_column, describe_rows, require_file

logger = logging.getLogger("planner.load")


POPULATION_COLUMNS = (
    "population",
    "pop",
    "人口",
    "count",
    "value",
    "人口数",
    "pop_count",
    "total_pop",
)


#: Column names that name a population group by themselves (census tables, WorldPop-derived
#: tables), matched after lowering case, dropping spaces and writing ～/~/–/— as "-". Any
#: other numeric column named ``pop_<group>`` is a group too.
GROUP_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "65plus": (
        "65+",
        "65plus",
        "65_plus",
        "aged_65_plus",
        "age_65_plus",
        "aged65plus",
        "over65",
        "over_65",
        "65_and_over",
        "65岁及以上",
        "65岁以上",
        "65周岁及以上",
        "65岁及以上人口",
        "65岁以上人口",
    ),
    "60plus": (
        "60+",
        "60plus",
        "60_plus",
        "aged_60_plus",
        "age_60_plus",
        "over60",
        "over_60",
        "60岁及以上",
        "60岁以上",
        "60周岁及以上",
        "60岁及以上人口",
        "60岁以上人口",
    ),
    "under5": (
        "under5",
        "under_5",
        "aged_under_5",
        "age_under_5",
        "0-4",
        "0-4岁",
        "age_0_4",
        "aged_0_4",
        "0_4",
        "5岁以下",
        "0-4岁人口",
        "5岁以下人口",
    ),
}


def _norm_column(name: Any) -> str:
    t = str(name).strip().lower().replace(" ", "")
    for dash in ("～", "~", "–", "—", "至"):
        t = t.replace(dash, "-")
    return t


def find_group_columns(
    columns: Sequence[Any],
    groups: Mapping[str, Any] | None,
    *,
    exclude: Iterable[Any] = (),
    problems: Problems | None = None,
    option: str = "groups",
) -> dict[str, Any]:
    """Which columns hold population groups: ``{group name: column}``.

    With ``groups`` (``{group: column}``, e.g. ``{"65+": "65岁及以上"}``) those columns, each
    checked to exist (a missing one is added to ``problems``); without, the columns named in
    :data:`GROUP_COLUMN_NAMES` and any ``pop_<age group>`` column (``pop_65plus``,
    ``pop_under5``, ``pop_15_64``; not ``pop_2010``: other groups need ``groups=``), except
    ``exclude`` (the total's column). Group names are canonical
    (:func:`planner.coverage.group_name`).
    """
    from ..coverage import GROUP_PREFIX, group_name

    cols = list(columns)
    out: dict[str, Any] = {}
    if groups is not None:
        for g, col in groups.items():
            if not group_name(g):
                if problems is not None:
                    problems.add(
                        f"{option}={{{g!r}: {col!r}}}: the group name has no letter a-z or digit",
                        fix=f"name the group in Latin letters/digits in {option}=, e.g. '65plus' or 'female'",
                    )
                continue
            if col not in cols:
                if problems is not None:
                    problems.add(
                        f"{option}={{{g!r}: {col!r}}}: no column {col!r}; columns are {listing(cols)}",
                        fix=f"name an existing column in {option}=",
                    )
                continue
            out[group_name(g)] = col
        return out
    skip = {_norm_column(c) for c in exclude if c is not None} | {
        _norm_column(c) for c in POPULATION_COLUMNS
    }
    by_norm = {_norm_column(c): c for c in cols}
    for g, names in GROUP_COLUMN_NAMES.items():
        for n in names:
            c = by_norm.get(_norm_column(n))
            if c is not None and _norm_column(c) not in skip:
                out.setdefault(g, c)
    for c in cols:
        n = _norm_column(c)
        # only pop_<age group> (pop_65plus, pop_under5, pop_0_4): a census table's pop_2010,
        # pop_2018 are other years of the total, not groups
        if (
            n.startswith(GROUP_PREFIX)
            and n not in skip
            and c not in out.values()
            and _AGE_GROUP.match(group_name(n))
        ):
            out.setdefault(group_name(n), c)
    return {g: c for g, c in out.items() if g}


_AGE_GROUP = re.compile(r"^(aged_?|age_?)?(\d+_?(plus|over|and_over)|under_?\d+|\d+_\d+)$")


def group_values(
    df: pd.DataFrame,
    columns: Mapping[str, Any],
    total: np.ndarray | None,
    *,
    problems: Problems,
    source: str,
) -> np.ndarray:
    """The group columns of ``df`` as a float array (rows x groups), checked: missing,
    non-numeric or negative counts go to ``problems`` (rows named); a group larger than the
    total in some rows is warned about (:class:`~planner.InputWarning`)."""
    arr = np.zeros((len(df), len(columns)))
    for j, (g, col) in enumerate(columns.items()):
        v = count_column(
            df[col],
            f"group {g!r} (column '{col}')",
            problems,
            missing_fix="fill in the number of residents of the group (0 if none)",
            negative_fix="counts must be >= 0",
        )
        if total is not None:
            over = np.isfinite(v) & np.isfinite(total) & (v > total * (1 + 1e-9) + 1e-9)
            if over.any():
                warnings.warn(
                    f"{source}: group {g!r} (column '{col}') is larger than the total population in "
                    f"{describe_rows(df.index[over])}; coverage shares of the group stay right but the group "
                    "is not a part of the total there. Fix: check that both columns count the same units",
                    InputWarning,
                    stacklevel=3,
                )
        arr[:, j] = np.where(np.isfinite(v), v, 0.0)
    return arr


def raster_group_files(path: str | Path) -> dict[str, Path]:
    """The group rasters beside a population raster: ``groups/pop_<group>.tif`` in its folder.

    This is the layout ``planner fetch --groups`` writes (``population/population.tif`` and
    ``population/groups/pop_65plus.tif``), so a data folder carries its groups without options.
    """
    folder = Path(path).parent / "groups"
    if not folder.is_dir():
        return {}
    return {
        p.name[len("pop_") : -len(".tif")]: p
        for p in sorted(folder.glob("pop_*.tif"))
        if len(p.name) > len("pop_.tif")
    }


def _raster_groups(
    path: Path,
    out: gpd.GeoDataFrame,
    groups: Mapping[str, Any],
    *,
    band: int,
) -> gpd.GeoDataFrame:
    """Add ``pop_<group>`` columns read from other rasters of the same grid (WorldPop's age/sex
    layers): a group given as a list of rasters is their sum (e.g. the male and female layers)."""
    import rasterio

    from ..coverage import GROUP_PREFIX, group_name

    with rasterio.open(path) as ref:
        shape, transform = (ref.height, ref.width), ref.transform
    out = out.copy()
    rows, cols = out["row"].to_numpy(), out["col"].to_numpy()
    for g, sources in groups.items():
        files = [sources] if isinstance(sources, (str, Path)) else list(sources)
        total = np.zeros((len(out),))
        lost = 0.0
        for f in files:
            fpath = require_file(f, what=f"population group {g!r}", suffixes=RASTER_SUFFIXES)
            with rasterio.open(fpath) as ds:
                if (ds.height, ds.width) != shape or not ds.transform.almost_equals(transform):
                    raise InputError(
                        f"{fpath}: the raster of group {g!r} is not on the grid of {path} ({ds.width} x {ds.height} "
                        f"cells vs {shape[1]} x {shape[0]}, or another origin/cell size). Fix: use layers of the "
                        "same product and year (e.g. WorldPop's age/sex layers of the same country and year), "
                        "or warp them onto the population raster's grid"
                    )
                _check_raster_size(ds, band=band, source=str(fpath))
                data = np.ma.filled(ds.read(band, masked=True).astype(float), np.nan)
            data = np.where(np.isfinite(data) & (data > 0), data, 0.0)
            got = data[rows, cols]
            lost += float(data.sum() - got.sum())
            total += got
        if lost > 1e-6 * max(1.0, float(total.sum())):
            warnings.warn(
                f"{path}: {lost:,.0f} residents of group {g!r} lie in cells where the total population raster has "
                "none and are left out. Fix: use a total raster of the same product and year as the group layers",
                InputWarning,
                stacklevel=4,
            )
        out[f"{GROUP_PREFIX}{group_name(g)}"] = total
    return out


def _local_utm(geoms_wgs84: gpd.GeoSeries) -> pyproj.CRS:
    return gpd.GeoSeries(geoms_wgs84.to_numpy(), crs=WGS84).estimate_utm_crs()


def _check_raster_size(ds: Any, *, band: int, source: str) -> None:
    """Refuse, from the header and before reading, a band whose reading would not fit in the
    memory limit (:func:`planner._validate.max_bytes`): a compressed GeoTIFF of a few hundred kB
    can declare a grid of tens of GiB."""
    cells = int(ds.width) * int(ds.height)
    itemsize = np.dtype(ds.dtypes[band - 1]).itemsize
    # the band, its mask, the float64 copy and three boolean masks, alive at once
    check_bytes(
        cells * (itemsize + 1 + 8 + 3),
        what=f"{source}: reading band {band} of the raster ({ds.width:,} x {ds.height:,} cells, {cells:,})",
        fix="clip it to the study area first, e.g. gdal_translate -projwin XMIN YMAX XMAX YMIN in.tif clipped.tif",
    )


def _raster_population(path: Path, *, crs: Any, band: int, source: str) -> gpd.GeoDataFrame:
    import rasterio

    try:
        ds = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(
            f"{source}: cannot read the raster ({exc}). Fix: check that it is a GeoTIFF."
        ) from None
    with ds:
        if not 1 <= band <= ds.count:
            raise InputError(
                f"{source}: band={band} but the raster has {ds.count} band(s). Fix: pass band= between 1 and {ds.count}."
            )
        parsed = parse_crs(crs, source)
        if parsed is None:
            if ds.crs is None:
                raise CRSError(
                    f"{source}: the raster has no coordinate reference system. Fix: pass crs= "
                    "(WorldPop and GHS-POP 'WGS84' rasters are crs='EPSG:4326')."
                )
            parsed = pyproj.CRS.from_user_input(ds.crs.to_wkt())
        _check_raster_size(ds, band=band, source=source)
        data = ds.read(band, masked=True)
        transform = ds.transform
        nodata = ds.nodatavals[band - 1]
    values = np.ma.filled(data.astype(float), np.nan)
    del data
    finite = np.isfinite(values)
    negative = finite & (values < 0)
    keep = finite & (values > 0)
    rows, cols = np.nonzero(keep)
    pop = values[rows, cols]
    if negative.any():
        # nodata cells are masked above; negative values left are either an unset nodata value
        # (WorldPop's -99999 without the tag) or damage, and both change the total unsaid
        neg = values[negative]
        warnings.warn(
            f"{source}: {int(negative.sum()):,} cells of band {band} have negative values (from "
            f"{neg.min():g} to {neg.max():g}, {pd.Series(neg).value_counts().index[0]:g} most often) and were "
            f"dropped; the {len(pop):,} cells > 0 hold {pop.sum():,.0f} residents"
            + (
                f" (the raster's nodata value is {nodata:g})"
                if nodata is not None
                else " (the raster has no nodata value)"
            )
            + ". Fix: if they are a nodata marker, set it (gdal_edit.py -a_nodata VALUE); otherwise "
            "correct those cells",
            InputWarning,
            stacklevel=4,
        )
    if len(pop) == 0:
        raise InputError(
            f"{source}: no cell has a population > 0 (band {band}). Fix: check the band and the nodata value."
        )
    a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f
    corner_c = np.array([0, 1, 1, 0, 0])
    corner_r = np.array([0, 0, 1, 1, 0])
    cc = cols[:, None] + corner_c[None, :]
    rr = rows[:, None] + corner_r[None, :]
    xs = a * cc + b * rr + c
    ys = d * cc + e * rr + f
    polys = shapely.polygons(np.stack([xs, ys], axis=-1))
    label = WGS84 if isinstance(parsed, str) else parsed
    geoms = gpd.GeoSeries(polys, crs=label)
    if isinstance(parsed, str):
        geoms = _chinacrs.transform_geometries(geoms, parsed)
    elif not label.equals(WGS84):
        geoms = geoms.to_crs(WGS84)
    return gpd.GeoDataFrame(
        {"population": pop, "row": rows.astype(np.int64), "col": cols.astype(np.int64)},
        geometry=geoms.to_numpy(),
        crs=WGS84,
    )


def _split_polygons(
    polys_utm: np.ndarray,
    pop: np.ndarray,
    cell_m: float,
    *,
    source: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut polygons by a grid of cell_m squares; population shared by area (sums preserved).

    Returns the pieces, their population and the position of their source polygon.
    """
    pieces, owner = grid_cut(
        polys_utm, cell_m, source=source, fix="pass a larger cell_m= or use a population raster"
    )
    area = shapely.area(pieces)
    area_sum = np.bincount(owner, weights=area, minlength=len(polys_utm))
    share = area / area_sum[owner]
    return pieces, pop[owner] * share, owner


def _read_population_raster(
    path: Path, *, crs: Any, band: int, groups: Mapping[str, Any] | None, t0: float
) -> gpd.GeoDataFrame:
    """read_population's raster path: cells, and the group rasters given or beside it."""
    out = _raster_population(path, crs=crs, band=band, source=str(path))
    groups = groups if groups is not None else raster_group_files(path)
    if groups:
        out = _raster_groups(path, out, groups, band=band)
    logger.info(
        "read %d populated raster cells (total %.0f) from %s in %.2f s",
        len(out),
        out["population"].sum(),
        path,
        time.perf_counter() - t0,
    )
    return out


def _population_column(
    df: pd.DataFrame, column: str | None, cols: Any, problems: Problems
) -> tuple[str | None, np.ndarray | None]:
    """The population column and its values; missing, non-numeric or negative ones go to
    ``problems`` (rows named)."""
    pop_col = require_column(
        problems, df, column, POPULATION_COLUMNS, option="column", what="population"
    )
    if column is None and pop_col is None:
        problems.add(
            f"no population column (looked for {', '.join(POPULATION_COLUMNS[:5])}; columns are {listing(cols)})",
            fix="name it with column=",
        )
    pop = None
    if pop_col is not None:
        pop_s = pd.to_numeric(df[pop_col], errors="coerce")
        pop = pop_s.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(pop)
        if bad.any():
            first = first_example(df[pop_col].to_numpy()[bad])
            problems.add(
                f"column '{pop_col}' has missing or non-numeric values (e.g. {first}) in {describe_rows(df.index[bad])}",
                fix="fill in a number (0 if nobody lives there) or remove those rows",
            )
        neg = np.isfinite(pop) & (pop < 0)
        if neg.any():
            problems.add(
                f"column '{pop_col}' has negative values (e.g. {pop[neg][0]:g}) in {describe_rows(df.index[neg])}",
                fix="population must be >= 0; treat nodata values as missing and remove those rows",
            )
    return pop_col, pop


def _warn_lost_groups(
    source: str, gvals: np.ndarray | None, positive: np.ndarray, group_cols: Mapping[str, str]
) -> None:
    """Warn when rows of population 0 hold residents of groups (they are left out)."""
    if gvals is not None and (gvals[~positive] > 0).any():
        lost = gvals[~positive].sum(axis=0)
        warnings.warn(
            f"{source}: rows with population 0 hold residents of groups ("
            + ", ".join(f"{g}: {v:,.0f}" for g, v in zip(group_cols, lost, strict=True) if v > 0)
            + ") that are left out with them. Fix: check the population column of those rows",
            InputWarning,
            stacklevel=3,
        )


def _check_population_geometry(geoms: Any, index: pd.Index, problems: Problems) -> None:
    """Population units must be polygons or points."""
    if geoms is not None:
        types = shapely.get_type_id(geoms.to_numpy())
        wrong = ~np.isin(types, (0, 3, 4, 6))
        if wrong.any():
            problems.add(
                f"geometries are {', '.join(sorted(set(geoms[wrong].geom_type)))}, not polygons or points, "
                f"in {describe_rows(index[wrong])}",
                fix="use residential polygons, points or a raster",
            )


def read_population(
    path_or_frame: str | Path | pd.DataFrame,
    *,
    column: str | None = None,
    crs: Any = None,
    layer: Any = None,
    cell_m: float = 100.0,
    band: int = 1,
    encoding: str | None = None,
    groups: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Read population as demand units (raster cells, residential polygons or points).

    Parameters
    ----------
    path_or_frame : str, Path, DataFrame or GeoDataFrame
        A GeoTIFF (``.tif``/``.tiff``; e.g. WorldPop, GHS-POP; any CRS; every cell with
        population > 0 becomes a unit, nodata and negative cells are dropped), a polygon or point
        file or frame with a population column, or a CSV/XLSX with lon/lat and population columns.
    column : str, optional
        Population column (auto: population, pop, 人口, count, value).
    crs : optional
        Overrides the file's CRS; ``"gcj02"``/``"bd09"`` for web-map coordinates.
    layer : optional
        Layer of a multi-layer vector file.
    cell_m : float
        Polygons larger than ``4 * cell_m**2`` are cut into a grid of ``cell_m`` squares (in the
        local UTM zone) with the population shared by area; points get a square footprint of side
        ``cell_m``.
    band : int
        Raster band (1-based).
    encoding : str, optional
        Text encoding of a vector/CSV file (detected when not given).
    groups : mapping, optional
        Population groups (residents aged 65+, under 5, ...), ``{group: source}``: for a table or
        vector file the column holding the group's residents (e.g. ``{"65+": "65岁及以上"}``);
        for a raster another raster on the same grid, or a list of them that are summed (e.g.
        WorldPop's ``chn_f_65_2020.tif`` and ``chn_m_65_2020.tif``). Without it, table columns
        named like ``65岁及以上``, ``65+``, ``aged_65_plus``, ``0-4岁``, ``under5``
        (:data:`GROUP_COLUMN_NAMES`) or ``pop_<age group>`` (``pop_65plus``, ``pop_0_4``) are
        taken as groups; for a raster, the rasters ``groups/pop_<group>.tif`` in its folder
        (:func:`raster_group_files`, what ``planner fetch --groups`` writes).

    Returns
    -------
    GeoDataFrame
        ``population`` (float > 0) and a Polygon footprint per demand unit in EPSG:4326, with a new
        RangeIndex; a column ``pop_<group>`` per population group (``"65+"`` is written
        ``pop_65plus``), shared among the pieces of a split polygon like the total. Raster input adds ``row``/``col`` (cell position); vector input adds
        ``source_index`` (the input row label) and the other source columns. The total population
        equals the input total (up to float rounding).

    Raises
    ------
    InputError
        Missing, non-numeric or negative population (rows named), non-area/point geometry, nothing
        with population > 0; a raster band whose reading would pass the memory limit
        (:func:`planner._validate.max_bytes`, 4 GiB unless ``PLANNER_MAX_BYTES`` says otherwise;
        checked from the header, before reading). :class:`~planner.CRSError` for a raster or
        file without CRS.

    Warns
    -----
    InputWarning
        Raster cells with negative values that are not the raster's nodata value (counted,
        with the population that is left), dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> p = read_population(pd.DataFrame({"lon": [114.30], "lat": [34.80], "pop": [250]}))
    >>> float(p["population"].sum()), p.geometry.iloc[0].geom_type
    (250.0, 'Polygon')
    """
    t0 = time.perf_counter()
    if not cell_m > 0:
        raise InputError(
            f"read_population: cell_m must be > 0, got {cell_m}. Fix: pass e.g. cell_m=100."
        )
    if isinstance(path_or_frame, (str, Path)):
        path = require_file(
            path_or_frame,
            what="population",
            suffixes=RASTER_SUFFIXES + VECTOR_SUFFIXES + TABLE_SUFFIXES + PARQUET_SUFFIXES,
        )
        if suffix_of(path, RASTER_SUFFIXES):
            return _read_population_raster(path, crs=crs, band=band, groups=groups, t0=t0)
    df, source = read_table(path_or_frame, what="population", layer=layer, encoding=encoding)
    if len(df) == 0:
        raise InputError(f"{source}: no rows. Fix: give at least one populated area or point.")
    problems = Problems(source)
    cols = data_columns(df)
    pop_col, pop = _population_column(df, column, cols, problems)
    group_cols = find_group_columns(
        cols, groups, exclude=[pop_col] if pop_col is not None else [], problems=problems
    )
    gvals = (
        group_values(df, group_cols, pop, problems=problems, source=source) if group_cols else None
    )
    geoms, geom_crs, coord_cols = points_from_columns(
        df,
        source=source,
        problems=problems,
        crs=crs,
        lon_column=None,
        lat_column=None,
        x_column=None,
        y_column=None,
        names=None,
        what="population unit",
    )
    _check_population_geometry(geoms, df.index, problems)
    problems.raise_if_any()
    assert geoms is not None and pop is not None
    wgs = geoseries_to_wgs84(geoms, geom_crs, source)
    positive = pop > 0
    if not positive.any():
        raise InputError(
            f"{source}: every value of '{pop_col}' is 0. Fix: check the population column."
        )
    _warn_lost_groups(source, gvals, positive, group_cols)
    values = shapely.force_2d(wgs.to_numpy())[positive]
    pop = pop[positive]
    if gvals is not None:
        gvals = gvals[positive]
    labels = df.index[positive]
    group_names = [
        f"pop_{g}" for g in group_cols
    ]  # output names: a source column of that name is renamed
    rest = unused_columns(
        df,
        [pop_col, *coord_cols, *group_cols.values()],
        ("population", "source_index", *group_names),
    )
    rest = rest.iloc[np.flatnonzero(positive)]
    # a source column named pop_<x> that is not a group (pop_density, pop_2018) would be taken
    # for one downstream (planner.coverage.population_groups): it keeps its values as src_pop_<x>
    rest = rest.rename(
        columns={c: f"src_{c}" for c in rest.columns if isinstance(c, str) and c.startswith("pop_")}
    )

    utm = _local_utm(gpd.GeoSeries(values, crs=WGS84))
    utm_values = gpd.GeoSeries(values, crs=WGS84).to_crs(utm).to_numpy()
    types = shapely.get_type_id(values)
    is_point = np.isin(types, (0, 4))
    if (types == 4).any():
        utm_values = utm_values.copy()
        utm_values[types == 4] = shapely.centroid(utm_values[types == 4])
    invalid = ~is_point & ~shapely.is_valid(utm_values)
    if invalid.any():
        utm_values = utm_values.copy()
        utm_values[invalid] = polygonal(shapely.make_valid(utm_values[invalid]))
    area = np.where(is_point, 0.0, shapely.area(utm_values))
    big = ~is_point & (area > 4 * cell_m * cell_m)
    keep_as_is = ~is_point & ~big

    parts_geom: list[np.ndarray] = []
    parts_pop: list[np.ndarray] = []
    parts_pos: list[np.ndarray] = []
    if keep_as_is.any():
        pos = np.flatnonzero(keep_as_is)
        parts_geom.append(values[pos])
        parts_pop.append(pop[pos])
        parts_pos.append(pos)
    if is_point.any():
        pos = np.flatnonzero(is_point)
        xy = shapely.get_coordinates(utm_values[pos])
        h = cell_m / 2
        squares = shapely.box(xy[:, 0] - h, xy[:, 1] - h, xy[:, 0] + h, xy[:, 1] + h)
        parts_geom.append(gpd.GeoSeries(squares, crs=utm).to_crs(WGS84).to_numpy())
        parts_pop.append(pop[pos])
        parts_pos.append(pos)
    if big.any():
        pos = np.flatnonzero(big)
        pieces, piece_pop, owner = _split_polygons(utm_values[pos], pop[pos], cell_m, source=source)
        parts_geom.append(gpd.GeoSeries(pieces, crs=utm).to_crs(WGS84).to_numpy())
        parts_pop.append(piece_pop)
        parts_pos.append(pos[owner])
    positions = np.concatenate(parts_pos)
    order = np.argsort(positions, kind="stable")
    positions = positions[order]
    geometry = np.concatenate(parts_geom)[order]
    population = np.concatenate(parts_pop)[order]
    out = pd.DataFrame({"population": population, "source_index": labels[positions]})
    if gvals is not None:
        from ..coverage import GROUP_PREFIX

        # a piece of a split polygon gets the share of each group it gets of the total
        share = population / pop[positions]
        for j, g in enumerate(group_cols):
            out[f"{GROUP_PREFIX}{g}"] = gvals[positions, j] * share
    rest_rows = rest.iloc[positions].reset_index(drop=True)
    out = gpd.GeoDataFrame(pd.concat([out, rest_rows], axis=1), geometry=geometry, crs=WGS84)
    logger.info(
        "read population %.0f in %d demand units (%d input rows, %d with population 0 dropped, "
        "%d polygons split into %g m cells) from %s in %.2f s",
        out["population"].sum(),
        len(out),
        len(df),
        int((~positive).sum()),
        int(big.sum()),
        cell_m,
        source,
        time.perf_counter() - t0,
    )
    return out
