"""Read health facilities (``read_facilities``): points, ids, names and tiers.

Part of :mod:`planner.load`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import CRSError, InputError, InputWarning
from .._readfile import (
    CRS_FIX,
    LAT,
    LON,
    WGS84,
    cell_text,
    code_text,
    geoseries_to_wgs84,
    listing,
    points_from_columns,
    read_table,
    require_column,
    rows_with_names,
    sheets_hint,
    text_series,
    unused_columns,
)
from .._validate import Problems, describe_rows
from ..standards import TIERS, classify_tier

logger = logging.getLogger("planner.load")


ID_COLUMNS = ("facility_id", "id", "编号", "机构编号", "机构代码")
NAME_COLUMNS = ("name", "名称", "机构名称", "facility_name", "单位名称", "医院名称", "name_zh")
TYPE_COLUMNS = (
    "type",
    "类型",
    "机构类型",
    "类别",
    "机构类别",
    "category",
    "healthcare",
    "amenity",
    "fclass",
)
_TIER_ALIASES = {t: t for t in TIERS}
# Animal hospitals and veterinary clinics: "医院" in their names reads as a hospital.
_VETERINARY = re.compile(
    r"宠物|动物医院|动物诊所|动物诊疗|兽医|兽药|畜牧|禽病|veterinar|\bvet\b|animal (?:hospital|clinic)|pet (?:hospital|clinic)",
    re.IGNORECASE,
)


def _row_note(message: str, rows: pd.Index, names: pd.Series, fix: str) -> str:
    return f"{message}: {rows_with_names(rows, names)}. Fix: {fix}"


def _facility_ids(df: pd.DataFrame, id_col: Any, names: pd.Series, problems: Problems) -> pd.Series:
    """Facility ids from ``id_col`` (missing or duplicate ones are problems), else F1, F2, ..."""
    if id_col is not None:
        ids = pd.Series([code_text(v) for v in df[id_col]], index=df.index, dtype=str)
        missing = ids == ""
        if missing.any():
            problems.add(
                f"column '{id_col}' has missing ids in {rows_with_names(df.index[missing.to_numpy()], names)}",
                fix="give every facility an id (or remove the id column so that ids F1, F2 ... are generated)",
            )
        dup = ids[ids.duplicated(keep=False) & ~missing]
        if len(dup):
            problems.add(
                f"column '{id_col}' has duplicate ids {listing(pd.unique(dup))} in {describe_rows(dup.index)}",
                fix="make the ids unique (or remove duplicated facilities)",
            )
    else:
        ids = pd.Series([f"F{i}" for i in range(1, len(df) + 1)], index=df.index, dtype=str)

    return ids


def _tiers_from_column(
    df: pd.DataFrame,
    tier_col: Any,
    tmap: dict[Any, str],
    default_tier: str | None,
    problems: Problems,
) -> pd.Series:
    """Tiers from a tier column: ``tier_map``, then ``default_tier`` for empty cells, then the
    tier names and aliases (other values are problems)."""
    raw = df[tier_col]
    tiers_list = []
    for v in raw:
        t = tmap.get(v, tmap.get(cell_text(v))) if tmap else None
        if t is None and default_tier is not None and cell_text(v) == "":
            t = default_tier
        if t is None:
            key = re.sub(r"[\s\-]+", "_", cell_text(v).lower())
            t = _TIER_ALIASES.get(key, f"?{cell_text(v)}")
        tiers_list.append(t)
    tiers = pd.Series(tiers_list, index=df.index, dtype=str)
    unknown = tiers.str.startswith("?")
    if unknown.any():
        problems.add(
            f"column '{tier_col}' has values that are not tiers: "
            f"{listing(pd.unique(tiers[unknown].str[1:]))} in {describe_rows(df.index[unknown.to_numpy()])}",
            fix=f"use one of {', '.join(TIERS)} or pass tier_map={{value: tier}}",
        )
    return tiers


def _check_tier_options(
    tier_map: Mapping[str, str] | None, default_tier: str | None, problems: Problems
) -> str | None:
    """Check tier_map= and default_tier= (an unknown default_tier is dropped after reporting)."""
    if tier_map is not None:
        bad = {k: v for k, v in tier_map.items() if v not in TIERS}
        if bad:
            problems.add(
                f"tier_map maps to unknown tiers {listing(bad.values())}",
                fix=f"map to one of {', '.join(TIERS)}",
            )
    if default_tier is not None and default_tier not in TIERS:
        problems.add(
            f"default_tier={default_tier!r} is not a tier", fix=f"use one of {', '.join(TIERS)}"
        )
        default_tier = None
    return default_tier


def _unknown_type_note(
    source: str,
    index: pd.Index,
    types: pd.Series,
    names: pd.Series,
    tiers: pd.Series,
    mapped: pd.Series,
    vet_rows: np.ndarray,
) -> str | None:
    """The note on facilities whose type and name planner does not recognise (tier 'other')."""
    # unrecognised rows are the ones whose tier follows the default: they become 'other',
    # which counts toward no coverage, so they would vanish from the analysis unsaid
    other_default = classify_tier(types.to_numpy(), names.to_numpy(), default="hospital")
    unknown = (
        (tiers == "other").to_numpy() & (other_default == "hospital") & mapped.isna().to_numpy()
    )
    unknown &= ~vet_rows  # reported below as what they are
    if unknown.any():
        kinds = pd.unique(types[unknown])
        example = next((k for k in kinds if k), None)
        return _row_note(
            f"{source}: {int(unknown.sum())} facilities have a type"
            + (f" ({listing(kinds, 6)})" if example else " (none given)")
            + " and a name that planner does not recognise; they get tier 'other', which "
            "counts toward no coverage",
            index[unknown],
            names,
            (
                f"map their types to tiers with tier_map={{'{example}': 'village_clinic'}} "
                if example
                else "name their type with type_column= or their tier with tier_column= "
            )
            + f"(tiers: {', '.join(TIERS)}), or pass default_tier= for a file of one kind",
        )
    return None


def read_facilities(
    path_or_frame: str | Path | pd.DataFrame,
    *,
    crs: Any = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
    x_column: str | None = None,
    y_column: str | None = None,
    id_column: str | None = None,
    name_column: str | None = None,
    type_column: str | None = None,
    tier_column: str | None = None,
    tier_map: Mapping[Any, str] | None = None,
    default_tier: str | None = None,
    encoding: str | None = None,
    layer: Any = None,
    sheet: Any = None,
) -> gpd.GeoDataFrame:
    """Read health facilities as points in WGS-84, each with a tier.

    Parameters
    ----------
    path_or_frame : str, Path, DataFrame or GeoDataFrame
        CSV (UTF-8 with or without BOM, or GBK/GB18030), XLSX, GeoJSON, shapefile, GeoPackage,
        FlatGeobuf or GeoParquet file, or a (Geo)DataFrame (not changed).
    crs : str, int or pyproj.CRS, optional
        Coordinate system of the coordinates: ``"wgs84"``, ``"gcj02"`` (Amap/Tencent),
        ``"bd09"`` (Baidu), ``"EPSG:<code>"`` or a pyproj CRS. Default: the file's CRS if it has
        one, else WGS-84 longitude/latitude.
    lon_column, lat_column : str, optional
        Longitude/latitude columns. Auto-detected (lon, lng, longitude, x, 经度 / lat, latitude,
        y, 纬度, also with a map's name: gcj02_lon, 高德经度, amap_lng, bd09_lat, 百度纬度 ...)
        when the file has no geometry. Columns named after GCJ-02 or BD-09 (gcj, 高德, amap,
        腾讯 / bd09, 百度, baidu) are converted from that system when ``crs`` is not given, with
        an :class:`~planner.InputWarning` saying so.
    x_column, y_column : str, optional
        Projected coordinate columns (pass ``crs=`` with them).
    id_column : str, optional
        Unique facility ids (auto: facility_id, id, 编号). Default: generated ``F1``, ``F2`` ...
    name_column, type_column : str, optional
        Name (auto: name, 名称, 机构名称) and type (auto: type, 类型, 机构类型, category) columns.
    tier_column : str, optional
        A column that already holds tiers (values of :data:`planner.standards.TIERS`, or mapped
        to them by ``tier_map``). Default: tiers from
        :func:`planner.standards.classify_tier` of the type and name.
    tier_map : mapping, optional
        ``{value: tier}``. Applied to ``tier_column`` values when given, else to type values
        (before the automatic classification).
    default_tier : str, optional
        Tier for facilities whose type and name are not recognised (and for missing values of
        ``tier_column``), e.g. ``"community_station"`` for a file of proposed stations; facilities
        recognised as non-primary stay ``"other"``. Default: ``"other"`` (and missing
        ``tier_column`` values are an error).
    encoding : str, optional
        Text encoding; detected when not given.
    layer, sheet : optional
        Layer of a multi-layer file, sheet of an XLSX workbook.

    Returns
    -------
    GeoDataFrame
        Columns ``facility_id`` (str, unique), ``name``, ``type`` (cleaned source value), ``tier``
        and the other source columns; Point geometry in EPSG:4326; the input index.

    Raises
    ------
    InputError
        Missing or non-numeric coordinates, swapped or projected-looking coordinates, duplicate
        ids, unknown tiers, no rows; a workbook sheet without coordinates (naming the sheets that
        have them). :class:`~planner.CRSError` for an unknown or missing CRS.

    Warns
    -----
    InputWarning
        Naming the rows and the fix, when coordinate columns named after GCJ-02/BD-09 were
        converted; when facilities of an unrecognised type and name get tier ``"other"`` (which
        counts toward no coverage; not with ``default_tier``); when animal hospitals and
        veterinary clinics (宠物医院, 动物医院, 兽医, veterinary) are given tier ``"other"``; when
        polygon or line geometries are replaced by a point on them; when a CSV file named
        ``.xlsx`` is read as CSV.

    Examples
    --------
    >>> import pandas as pd
    >>> f = read_facilities(pd.DataFrame({"name": ["城关镇卫生院"], "lon": [114.3], "lat": [34.8]}))
    >>> f[["facility_id", "name", "tier"]].to_dict("records")
    [{'facility_id': 'F1', 'name': '城关镇卫生院', 'tier': 'township_center'}]
    """
    t0 = time.perf_counter()
    df, source = read_table(
        path_or_frame, what="facilities", layer=layer, sheet=sheet, encoding=encoding
    )
    if len(df) == 0:
        raise InputError(f"{source}: no rows. Fix: give at least one facility.")
    problems = Problems(source)
    id_col = require_column(problems, df, id_column, ID_COLUMNS, option="id_column", what="id")
    name_col = require_column(
        problems, df, name_column, NAME_COLUMNS, option="name_column", what="name"
    )
    type_col = require_column(
        problems, df, type_column, TYPE_COLUMNS, option="type_column", what="type"
    )
    tier_col = None
    if tier_column is not None:
        tier_col = require_column(problems, df, tier_column, (), option="tier_column", what="tier")
    names = (
        text_series(df[name_col])
        if name_col is not None
        else pd.Series("", index=df.index, dtype=str)
    )
    geoms, geom_crs, coord_cols = points_from_columns(
        df,
        source=source,
        problems=problems,
        crs=crs,
        lon_column=lon_column,
        lat_column=lat_column,
        x_column=x_column,
        y_column=y_column,
        names=names,
        what="facility",
    )

    ids = _facility_ids(df, id_col, names, problems)

    types = (
        text_series(df[type_col])
        if type_col is not None
        else pd.Series("", index=df.index, dtype=str)
    )

    # tiers
    notes: list[str] = []  # warnings, given once the data are known to be readable
    default_tier = _check_tier_options(tier_map, default_tier, problems)
    tmap = {} if tier_map is None else dict(tier_map)
    if tier_col is not None:
        tiers = _tiers_from_column(df, tier_col, tmap, default_tier, problems)
    else:
        tiers = pd.Series(
            classify_tier(types.to_numpy(), names.to_numpy(), default=default_tier or "other"),
            index=df.index,
            dtype=str,
        )
        mapped = pd.Series(None, index=df.index, dtype=object)
        vet_rows = (names.str.contains(_VETERINARY) | types.str.contains(_VETERINARY)).to_numpy()
        if tmap:
            mapped = pd.Series(
                [
                    tmap.get(v, tmap.get(t))
                    for v, t in zip(df[type_col] if type_col else types, types, strict=True)
                ],
                index=df.index,
                dtype=object,
            )
            tiers = tiers.where(mapped.isna(), mapped).astype(str)
        if default_tier is None:
            note = _unknown_type_note(source, df.index, types, names, tiers, mapped, vet_rows)
            if note is not None:
                notes.append(note)
    # every animal hospital is named, also those whose name alone would have left them 'other'
    vet = (names.str.contains(_VETERINARY) | types.str.contains(_VETERINARY)).to_numpy()
    if vet.any():
        tiers = tiers.where(~vet, "other")
        notes.append(
            _row_note(
                f"{source}: {int(vet.sum())} facilities look like animal hospitals or veterinary clinics "
                "(宠物/动物医院/兽医); they were given tier 'other' and do not count toward coverage",
                df.index[vet],
                names,
                "if one is a health facility for people, give it its tier with tier_column= or rename it",
            )
        )

    if geoms is None and not coord_cols:
        sheets_hint(path_or_frame, sheet, problems, lon=LON, lat=LAT)
    problems.raise_if_any()
    for note in notes:
        warnings.warn(note, InputWarning, stacklevel=2)
    assert geoms is not None
    geometry = _to_points(geoseries_to_wgs84(geoms, geom_crs, source), source=source, names=names)
    rest = unused_columns(
        df,
        [id_col, name_col, type_col, tier_col, *coord_cols],
        ("facility_id", "name", "type", "tier"),
    )
    out = gpd.GeoDataFrame(
        {"facility_id": ids, "name": names, "type": types, "tier": tiers},
        index=df.index,
    )
    out = gpd.GeoDataFrame(pd.concat([out, rest], axis=1), geometry=geometry.to_numpy(), crs=WGS84)
    counts = out["tier"].value_counts()
    logger.info(
        "read %d facilities from %s in %.2f s (%s)",
        len(out),
        source,
        time.perf_counter() - t0,
        ", ".join(f"{k} {v}" for k, v in counts.items()),
    )
    return out


def _to_points(
    geoms: gpd.GeoSeries, *, source: str, names: pd.Series | None = None
) -> gpd.GeoSeries:
    """2-D points; single-point MultiPoints unpacked, other shapes replaced by a point on them
    (``shapely.point_on_surface``: inside a polygon, on a line), with a warning."""
    values = shapely.force_2d(geoms.to_numpy())
    types = shapely.get_type_id(values)
    single_multi = (types == 4) & (shapely.get_num_geometries(values) == 1)
    if single_multi.any():
        values = values.copy()
        values[single_multi] = shapely.get_geometry(values[single_multi], 0)
        types = shapely.get_type_id(values)
    not_point = types != 0
    if not_point.any():
        values = values.copy()
        kinds = sorted(set(geoms[not_point].geom_type))
        values[not_point] = shapely.point_on_surface(values[not_point])
        # a building outline is a fine location; a road line or a whole district is not, and
        # either way the user should know the facility is now one point
        warnings.warn(
            _row_note(
                f"{source}: {int(not_point.sum())} facility geometries are {', '.join(kinds)}, not points; "
                "each was replaced by one point on it (shapely.point_on_surface)",
                geoms.index[not_point],
                names if names is not None else pd.Series("", index=geoms.index),
                "give facilities as points (their entrance) if that point is not where the facility is",
            ),
            InputWarning,
            stacklevel=3,
        )
    coords = shapely.get_coordinates(values)
    if not np.isfinite(coords).all():
        bad = geoms.index[
            ~np.isfinite(shapely.get_coordinates(values).reshape(len(values), -1)).all(axis=1)
        ]
        raise CRSError(
            f"{source}: coordinates could not be converted to WGS-84 in {describe_rows(bad)}. "
            f"Fix: check the CRS ({CRS_FIX})."
        )
    return gpd.GeoSeries(values, index=geoms.index, crs=WGS84)
