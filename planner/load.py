"""Stage ``load``: read roads, facilities, administrative boundaries and population.

Every loader returns a GeoDataFrame in **EPSG:4326** with the columns of ``docs/architecture.md``,
never changes its input, and raises :class:`~planner.InputError` (or a subclass) naming the file,
the column, example rows and the fix when the input is unusable.

Coordinate systems: a file's own CRS is used when it has one; ``crs=`` overrides it and may also be
``"gcj02"`` (Amap/Tencent "Mars" coordinates) or ``"bd09"`` (Baidu), which are converted to WGS-84
with :mod:`planner._chinacrs`.

Text encodings: Chinese files come as UTF-8 or GBK/GB18030, often unlabelled. CSV files are
decoded as UTF-8 (with or without BOM) when that works, else GB18030. Shapefiles honour their
``.cpg`` file; without one, the raw bytes are read and decoded as UTF-8 when they mostly are valid
UTF-8 (so text cut mid-character still decodes, with U+FFFD replacement characters), else as
GB18030. ``encoding=`` overrides the detection.
"""

from __future__ import annotations

import logging
import math
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

from . import _chinacrs
from ._errors import CRSError, InputError, InputFileError, InputWarning
from ._gridcut import grid_cut, polygonal
from ._osm import (  # noqa: F401 - re-exported: planner.load keeps every public name
    CHANGSHA_DIRECTIONS,
    CHANGSHA_SUBTYPES,
    CHINESE_CLASSES,
    CLASS_CANDIDATES,
    DIRECTION_CANDIDATES,
    DIRECTION_DEFAULT,
    OSM_ACCESS_TAGS,
    OSM_CLASSES,
    ROAD_NAME_CANDIDATES,
    SPEED_CANDIDATES,
    class_key,
    hashable,
    map_classes,
    parse_maxspeed,
    read_osm,
)
from ._readfile import (  # noqa: F401 - re-exported: planner.load keeps every public name
    CRS_FIX,
    LAT,
    LON,
    OSM_SUFFIXES,
    PARQUET_SUFFIXES,
    RASTER_SUFFIXES,
    TABLE_SUFFIXES,
    VECTOR_SUFFIXES,
    WGS84,
    cell_text,
    code_text,
    data_columns,
    first_example,
    geoseries_to_wgs84,
    is_degrees,
    listing,
    parse_crs,
    points_from_columns,
    read_table,
    read_vector,
    require_column,
    rows_with_names,
    sheets_hint,
    suffix_of,
    text_series,
    to_wgs84,
    unused_columns,
)
from ._validate import Problems, check_bytes, count_column, describe_rows, find_column, require_file
from .standards import TIERS, classify_tier

__all__ = [
    "COLUMN_CANDIDATES",
    "download_roads",
    "read_boundaries",
    "read_facilities",
    "read_population",
    "read_roads",
    "to_wgs84",
]

logger = logging.getLogger(__name__)


# --- facilities ------------------------------------------------------------------------------

_ID = ("facility_id", "id", "编号", "机构编号", "机构代码")
_NAME = ("name", "名称", "机构名称", "facility_name", "单位名称", "医院名称", "name_zh")
_TYPE = (
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
    id_col = require_column(problems, df, id_column, _ID, option="id_column", what="id")
    name_col = require_column(problems, df, name_column, _NAME, option="name_column", what="name")
    type_col = require_column(problems, df, type_column, _TYPE, option="type_column", what="type")
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


# --- boundaries ------------------------------------------------------------------------------

_CODE = ("admin_code", "adcode", "code", "代码", "区划代码", "行政区划代码", "xzqdm", "gb_code")
_ADMIN_NAME = ("admin_name", "name", "名称", "区划名称", "行政区划名称", "xzqmc")
_HIER_NAMES = (
    "village",
    "村",
    "township",
    "street",
    "town",
    "乡镇",
    "街道",
    "district",
    "county",
    "区县",
    "city",
    "市",
    "province",
    "省",
)
_LEVEL = ("level", "admin_level", "级别", "层级", "行政级别")
_PARENT = ("parent_code", "parent", "parent_adcode", "parentcode", "上级代码", "上级编码", "pcode")

_LEVELS = {
    "province": "province",
    "省": "province",
    "省级": "province",
    "自治区": "province",
    "直辖市": "province",
    "city": "city",
    "市": "city",
    "地级市": "city",
    "地级": "city",
    "prefecture": "city",
    "市级": "city",
    "州": "city",
    "盟": "city",
    "county": "county",
    "district": "county",
    "区": "county",
    "县": "county",
    "区县": "county",
    "县区": "county",
    "县级": "county",
    "县级市": "county",
    "旗": "county",
    "区/县": "county",
    "township": "township",
    "subdistrict": "township",
    "town": "township",
    "street": "township",
    "街道": "township",
    "乡": "township",
    "镇": "township",
    "乡镇": "township",
    "乡镇街道": "township",
    "街镇": "township",
    "乡级": "township",
    "苏木": "township",
    "village": "village",
    "community": "village",
    "村": "village",
    "社区": "village",
    "村级": "village",
    "村居": "village",
    "村社区": "village",
    "村委会": "village",
    "居委会": "village",
    "嘎查": "village",
}
# name suffix -> level, longest suffixes first where they overlap (自治区 before 区)
_LEVEL_SUFFIX = (
    ("自治区", "province"),
    ("省", "province"),
    ("特别行政区", "province"),
    ("自治州", "city"),
    ("地区", "city"),
    ("盟", "city"),
    ("市", "city"),
    ("街道办事处", "township"),
    ("街道", "township"),
    ("镇", "township"),
    ("乡", "township"),
    ("苏木", "township"),
    ("社区", "village"),
    ("居委会", "village"),
    ("村委会", "village"),
    ("村民委员会", "village"),
    ("嘎查", "village"),
    ("村", "village"),
    ("区", "county"),
    ("县", "county"),
    ("旗", "county"),
)
# level -> (name suffix, kind)
_KIND_SUFFIX = {
    "county": (("区", "district"), ("县", "county"), ("旗", "county"), ("市", "county")),
    "township": (
        ("街道办事处", "subdistrict"),
        ("街道", "subdistrict"),
        ("镇", "town"),
        ("乡", "township"),
        ("苏木", "township"),
    ),
    "village": (
        ("社区居委会", "community"),
        ("社区居民委员会", "community"),
        ("居委会", "community"),
        ("社区", "community"),
        ("村委会", "village"),
        ("村民委员会", "village"),
        ("嘎查", "village"),
        ("村", "village"),
    ),
}


_KINDS = frozenset(
    {"subdistrict", "town", "township", "community", "village", "county", "district", ""}
)


def _level_from_code(code: str) -> str | None:
    if not code.isdigit():
        return None
    n = len(code)
    if n == 2:
        return "province"
    if n == 4:
        return "province" if code.endswith("00") else "city"
    if n == 6:
        if code.endswith("0000"):
            return "province"
        return "city" if code.endswith("00") else "county"
    if n == 9:
        return "township"
    if n == 12:  # full NBS codes padded with zeros
        for zeros, level in ((10, "province"), (8, "city"), (6, "county"), (3, "township")):
            if code.endswith("0" * zeros):
                return level
        return "village"
    return None


def _level_from_name(name: str) -> str | None:
    for suffix, level in _LEVEL_SUFFIX:
        if name.endswith(suffix):
            return level
    return None


def _kind(name: str, level: str) -> str:
    for suffix, kind in _KIND_SUFFIX.get(level, ()):
        if name.endswith(suffix):
            return kind
    return ""


def _parent_from_code(code: str) -> str:
    if not code.isdigit():
        return ""
    n = len(code)
    if n == 12:
        return code[:9]
    if n == 9:
        return code[:6]
    if n == 6:
        if code.endswith("0000"):
            return ""
        return code[:2] + "0000" if code.endswith("00") else code[:4] + "00"
    if n == 4:
        return code[:2]
    return ""


_polygonal = polygonal  # kept for the callers in this module


def _polygon_geometry(
    gdf: gpd.GeoDataFrame,
    *,
    source: str,
    crs: Any,
    problems: Problems,
    names: pd.Series | None,
) -> gpd.GeoSeries | None:
    geoms = gdf.geometry
    empty = (geoms.isna() | geoms.is_empty).to_numpy()
    if empty.any():
        problems.add(
            f"missing or empty geometry in {rows_with_names(gdf.index[empty], names)}",
            fix="give every unit a polygon or remove those rows",
        )
    types = shapely.get_type_id(geoms.to_numpy())
    wrong = ~empty & ~np.isin(types, (3, 6, 7))
    if wrong.any():
        kinds = sorted(set(geoms[wrong].geom_type))
        problems.add(
            f"geometries are {', '.join(kinds)}, not polygons, in {rows_with_names(gdf.index[wrong], names)}",
            fix="use polygon boundaries (or remove those rows)",
        )
    if problems:
        return None
    parsed = parse_crs(crs, source)
    if (
        parsed is not None
        and is_degrees(parsed)
        or (parsed is None and geoms.crs is not None and geoms.crs.is_geographic)
    ):
        b = geoms.total_bounds
        if abs(b[0]) > 180 or abs(b[2]) > 180 or abs(b[1]) > 90 or abs(b[3]) > 90:
            problems.add(
                f"coordinates look like projected metres (bounds {b.round(1).tolist()}), not degrees",
                fix="pass the projected CRS with crs= (e.g. crs='EPSG:3857')",
            )
            return None
    out = geoseries_to_wgs84(geoms, parsed, source)
    values = shapely.force_2d(out.to_numpy())
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        values = values.copy()
        values[invalid] = _polygonal(shapely.make_valid(values[invalid]))
        logger.debug("%s: repaired %d invalid polygons with make_valid", source, int(invalid.sum()))
        still_bad = invalid & ~np.isin(shapely.get_type_id(values), (3, 6))
        if still_bad.any():
            problems.add(
                f"geometry could not be repaired into polygons in {rows_with_names(gdf.index[still_bad], names)}",
                fix="fix those polygons in a GIS",
            )
            return None
    return gpd.GeoSeries(values, index=gdf.index, crs=WGS84)


def _admin_levels(
    df: pd.DataFrame, level_col: Any, codes: pd.Series, names: pd.Series, problems: Problems
) -> list[str]:
    """The level of each unit: its level column, else its code length, else its name ("" and a
    problem when none tells)."""
    levels = []
    unknown: list[str] = []
    unresolved = []
    raw_levels = (
        df[level_col] if level_col is not None else pd.Series(None, index=df.index, dtype=object)
    )
    for label, raw, code, name in zip(df.index, raw_levels, codes, names, strict=True):
        text = cell_text(raw)
        level = None
        if text:
            level = _LEVELS.get(text.lower())
            if level is None:
                unknown.append(text)
        if level is None:
            level = _level_from_code(code) or _level_from_name(name)
        if level is None:
            unresolved.append(label)
            level = ""
        levels.append(level)
    if unknown:
        problems.add(
            f"column '{level_col}' has unknown levels {listing(pd.unique(pd.Series(unknown)))}",
            fix="use county/township/village (or 区县/乡镇/村), province or city",
        )
    elif unresolved:
        problems.add(
            f"cannot tell the level of {rows_with_names(unresolved, names)} from a level column, "
            "the code length or the name",
            fix="pass level_column= naming a column with county/township/village",
        )
    return levels


def _kinds_and_parents(
    df: pd.DataFrame,
    cols: Any,
    names: Any,
    levels: Any,
    codes: Any,
    parent_col: str | None,
) -> tuple[pd.Series, pd.Series, str | None]:
    """Kind per unit (a ``kind`` column of our kinds wins over the one from names) and parent
    code (the column's, else derived from the code); the kind column used, if any."""
    kinds = pd.Series(
        [_kind(n, lv) for n, lv in zip(names, levels, strict=True)], index=df.index, dtype=str
    )
    kind_col = find_column(cols, None, ("kind",))
    if kind_col is not None:
        given = text_series(df[kind_col]).str.lower()
        if given.isin(_KINDS).all():
            kinds = kinds.where(given == "", given)
        else:
            kind_col = None  # not our kinds: kept as 'kind_source'

    if parent_col is not None:
        parents = pd.Series([code_text(v) for v in df[parent_col]], index=df.index, dtype=str)
    else:
        parents = pd.Series("", index=df.index, dtype=str)
    derived = pd.Series([_parent_from_code(c) for c in codes], index=df.index, dtype=str)
    parents = parents.where(parents != "", derived)
    return kinds, parents, kind_col


def read_boundaries(
    path_or_frame: str | Path | gpd.GeoDataFrame,
    *,
    code_column: str | None = None,
    name_column: str | None = None,
    level_column: str | None = None,
    parent_column: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    layer: Any = None,
) -> gpd.GeoDataFrame:
    """Read administrative units (counties, townships, villages) as polygons in WGS-84.

    Parameters
    ----------
    path_or_frame : str, Path or GeoDataFrame
        Polygon file (shapefile, GeoPackage, GeoJSON, FlatGeobuf, GeoParquet) or a GeoDataFrame
        (not changed).
    code_column : str, optional
        Administrative division codes (auto: admin_code, adcode, code, 代码, 区划代码).
    name_column : str, optional
        Names (auto: admin_name, name, 名称). If there is none, the finest of hierarchical name
        columns (village, township, district, county, city, province ...) is used per row, as in
        DataV/cnmaps files with ``city``/``district`` columns.
    level_column : str, optional
        Level (auto: level, admin_level, 级别). Values such as ``"区县"``, ``"district"``,
        ``"街道"``, ``"town"``, ``"社区"`` are normalised to ``"county"``, ``"township"``,
        ``"village"`` (``"province"``/``"city"`` kept). Missing levels are inferred from the code
        length (2 province, 4 city, 6 county, or city/province when it ends in 00/0000; 9
        township; 12 village, or higher levels when zero-padded), then from the name suffix.
    parent_column : str, optional
        Parent codes (auto: parent_code, parent, parent_adcode, 上级代码). Missing parents are
        derived from the code (12-digit -> first 9, 9-digit -> first 6, county -> its city).
    crs : optional
        Overrides the file's CRS; ``"gcj02"``/``"bd09"`` for web-map coordinates.
    encoding, layer : optional
        Text encoding (detected when not given) and layer of a multi-layer file.

    Returns
    -------
    GeoDataFrame
        ``admin_code``, ``admin_name``, ``level``, ``kind`` (subdistrict, town, township,
        community, village, district, county or ""; from a source ``kind`` column holding these
        values, else from the name suffix; "" for provinces and cities), ``parent_code`` and the
        other source columns; (Multi)Polygon geometry in EPSG:4326, invalid polygons repaired
        with ``shapely.make_valid``.

    Raises
    ------
    InputError
        No code column, missing or duplicate codes, unknown levels, non-polygon geometry.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["410202001"], "name": ["北书店街道"]},
    ...                      geometry=[shapely.box(114.3, 34.8, 114.31, 34.81)], crs=4326)
    >>> read_boundaries(g)[["admin_code", "level", "kind", "parent_code"]].to_dict("records")
    [{'admin_code': '410202001', 'level': 'township', 'kind': 'subdistrict', 'parent_code': '410202'}]
    """
    t0 = time.perf_counter()
    df, source = read_table(path_or_frame, what="boundaries", layer=layer, encoding=encoding)
    if not isinstance(df, gpd.GeoDataFrame) or df._geometry_column_name not in df:
        raise InputError(
            f"{source}: has no geometry. Fix: use a polygon file (shapefile, GeoPackage, GeoJSON) "
            "or a GeoDataFrame."
        )
    if len(df) == 0:
        raise InputError(f"{source}: no rows. Fix: give at least one administrative unit.")
    problems = Problems(source)
    cols = data_columns(df)
    code_col = require_column(problems, df, code_column, _CODE, option="code_column", what="code")
    if code_column is None and code_col is None:
        problems.add(
            f"no administrative code column (looked for {', '.join(_CODE[:5])}; columns are {listing(cols)})",
            fix="name it with code_column=",
        )
    name_col = require_column(
        problems, df, name_column, _ADMIN_NAME, option="name_column", what="name"
    )
    level_col = require_column(
        problems, df, level_column, _LEVEL, option="level_column", what="level"
    )
    parent_col = require_column(
        problems, df, parent_column, _PARENT, option="parent_column", what="parent code"
    )
    if problems:
        problems.raise_if_any()

    # names: one column, or the finest of hierarchical columns (city/district files)
    hier_cols: list[Any] = []
    if name_col is not None:
        names = text_series(df[name_col])
    else:
        hier_cols = [c for h in _HIER_NAMES if (c := find_column(cols, None, (h,))) is not None]
        names = pd.Series("", index=df.index, dtype=str)
        for c in reversed(hier_cols):  # coarse first, finer ones overwrite
            vals = text_series(df[c])
            names = names.where(vals == "", vals)

    codes = pd.Series([code_text(v) for v in df[code_col]], index=df.index, dtype=str)
    missing = (codes == "").to_numpy()
    if missing.any():
        problems.add(
            f"column '{code_col}' has missing codes in {rows_with_names(df.index[missing], names)}",
            fix="fill in the administrative codes",
        )
    dup = codes[codes.duplicated(keep=False) & ~missing]
    if len(dup):
        problems.add(
            f"column '{code_col}' has duplicate codes {listing(pd.unique(dup))} in {describe_rows(dup.index)}",
            fix="dissolve the rows of each unit into one (GeoDataFrame.dissolve(by=...)) or fix the codes",
        )

    # levels
    levels = _admin_levels(df, level_col, codes, names, problems)
    levels_s = pd.Series(levels, index=df.index, dtype=str)
    kinds, parents, kind_col = _kinds_and_parents(df, cols, names, levels, codes, parent_col)

    geometry = _polygon_geometry(df, source=source, crs=crs, problems=problems, names=names)
    problems.raise_if_any()
    assert geometry is not None
    used = [code_col, name_col, level_col, parent_col, kind_col, *hier_cols]
    rest = unused_columns(df, used, ("admin_code", "admin_name", "level", "kind", "parent_code"))
    out = pd.DataFrame(
        {
            "admin_code": codes,
            "admin_name": names,
            "level": levels_s,
            "kind": kinds,
            "parent_code": parents,
        },
        index=df.index,
    )
    out = gpd.GeoDataFrame(pd.concat([out, rest], axis=1), geometry=geometry.to_numpy(), crs=WGS84)
    logger.info(
        "read %d administrative units from %s in %.2f s (%s)",
        len(out),
        source,
        time.perf_counter() - t0,
        ", ".join(f"{k} {v}" for k, v in levels_s.value_counts().items()),
    )
    return out


# --- population ------------------------------------------------------------------------------

_POP = ("population", "pop", "人口", "count", "value", "人口数", "pop_count", "total_pop")

#: The column names each reader recognises, by field, in the order they are tried (the first
#: present wins). One definition for the readers and the app's column guesses
#: (:mod:`planner.app.uploads_columns`).
COLUMN_CANDIDATES: dict[str, tuple[str, ...]] = {
    "lon": LON,
    "lat": LAT,
    "facility_id": _ID,
    "facility_name": _NAME,
    "facility_type": _TYPE,
    "admin_code": _CODE,
    "admin_name": _ADMIN_NAME,
    "admin_level": _LEVEL,
    "parent_code": _PARENT,
    "population": _POP,
    "road_class": CLASS_CANDIDATES,
    "road_direction": DIRECTION_CANDIDATES,
    "road_speed": SPEED_CANDIDATES,
    "road_name": ROAD_NAME_CANDIDATES,
}


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
    from .coverage import GROUP_PREFIX, group_name

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
    skip = {_norm_column(c) for c in exclude if c is not None} | {_norm_column(c) for c in _POP}
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

    from .coverage import GROUP_PREFIX, group_name

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
    pop_col = require_column(problems, df, column, _POP, option="column", what="population")
    if column is None and pop_col is None:
        problems.add(
            f"no population column (looked for {', '.join(_POP[:5])}; columns are {listing(cols)})",
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
        utm_values[invalid] = _polygonal(shapely.make_valid(utm_values[invalid]))
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
        from .coverage import GROUP_PREFIX

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


# --- roads -----------------------------------------------------------------------------------


def _check_bbox(bbox: Any) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        b = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        b = ()
    if (
        len(b) != 4
        or not (b[0] < b[2] and b[1] < b[3])
        or max(abs(b[0]), abs(b[2])) > 180
        or max(abs(b[1]), abs(b[3])) > 90
    ):
        raise InputError(
            f"read_roads: bbox={bbox!r} is not (min_lon, min_lat, max_lon, max_lat) in WGS-84 degrees. "
            "Fix: pass e.g. bbox=(112.9, 28.1, 113.1, 28.3)."
        )
    return b


def read_roads(
    path: str | Path,
    *,
    layer: Any = None,
    class_column: str | None = None,
    class_map: Mapping[Any, str] | None = None,
    default_class: str | None = None,
    direction_column: str | None = None,
    direction_map: Mapping[Any, int] | None = None,
    speed_column: str | None = None,
    name_column: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    bbox: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """Read a road network as LineStrings in WGS-84 with OSM-style classes and directions.

    **OpenStreetMap** files (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``, ``.pbf``) are read
    with pyosmium. Ways with a ``highway`` tag are kept except non-roads (``proposed``,
    ``construction``, ``abandoned``, ``platform``, ``bus_stop``, ``rest_area``, ``services``,
    ``raceway``, ``elevator``, ``corridor`` ...) and areas (``area=yes``). ``oneway``
    (yes/true/1 -> 1, -1/reverse -> -1, no -> 0; ``junction=roundabout`` -> 1; motorways are only
    one-way when tagged), ``maxspeed`` (see :func:`parse_maxspeed`) and ``name`` (else
    ``name:zh``, else ``ref``) are read, and the way id is kept as ``osm_id``. The access tags
    (:data:`OSM_ACCESS_TAGS`: ``access``, ``foot``, ``bicycle``, ``vehicle``, ``motor_vehicle``,
    ``motorcar``, ``service``) are kept as text columns ("" where untagged): each travel mode
    reads its own (:func:`planner.network.usable_roads`). ``node_ids`` holds the OSM node id of
    every vertex (an int64 array per line): the network joins lines at shared nodes, not at
    shared positions. Ways of clipped extracts that reference missing nodes are cut into their
    runs of >= 2 present nodes. XML files with ``<!DOCTYPE``/``<!ENTITY`` declarations are
    refused.

    **Vector** files (``.shp``, ``.gpkg``, ``.geojson``, ``.json``, ``.fgb``) are read with pyogrio
    in any CRS; MultiLineStrings are split into LineStrings.

    - *Class* (auto: highway, fclass, class, type, subtype, road_class, 等级; the first column
      whose values all map, else the one mapping most) is mapped to an OSM ``highway`` value by
      ``class_map``, else: OSM values pass through; Chinese names (:data:`CHINESE_CLASSES`:
      高速公路 motorway, 国道 trunk, 省道 primary, 县道 secondary, 乡道 tertiary, 村道
      unclassified, 快速路 trunk, 主干路 primary, 次干路 secondary, 支路 residential, 辅路
      tertiary ...); the Changsha ``subtype`` codes (:data:`CHANGSHA_SUBTYPES`).
    - *Direction* (auto: oneway, direction, dir) becomes ``oneway`` by ``direction_map``, else by
      the default: numbers 0/3 both ways, 1 **and 2** one-way along the digitised direction (the
      Changsha coding, :data:`CHANGSHA_DIRECTIONS`: 1 and 2 mark the two carriageways of a
      divided road), -1 against; text yes/true 1, no/false 0, FT 1, TF -1, and the HERE-style
      B (both) / F (from the reference node: 1) / T (towards it: -1). A column holding only T and
      F is read as a true/false flag (T one-way along the line). Missing values are two-way.
      Numeric codes differ between suppliers (in some, 2 means against the line, or 1 both
      ways): check a roundabout or a divided road, and pass ``direction_map`` when they differ.
    - *Speed* (auto: maxspeed, speed_kmh, speed, 限速) in km/h; *name* (auto: name, 名称).

    Parameters
    ----------
    path : str or Path
        Road file.
    layer : optional
        Layer of a multi-layer vector file.
    class_column, direction_column, speed_column, name_column : str, optional
        Column names (vector files); auto-detected when not given.
    class_map : mapping, optional
        ``{source class: OSM highway value}``; wins over the defaults (also applied to OSM files).
    default_class : str, optional
        Class for unmapped or missing class values (else they are an error).
    direction_map : mapping, optional
        ``{source value: 1, 0 or -1}`` (1 one-way along the digitised direction, -1 against it,
        0 both ways); values it does not name keep the default reading. For data where 2 means
        "against the line": ``direction_map={1: 1, 2: -1, 3: 0}``.
    crs : optional
        Overrides the file's CRS; needed when it has none. ``"gcj02"``/``"bd09"`` allowed.
    encoding : str, optional
        Text encoding of a vector file (detected when not given).
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
        Keep only lines intersecting this WGS-84 box.

    Returns
    -------
    GeoDataFrame
        ``highway`` (str), ``oneway`` (int8: 0, 1, -1), ``maxspeed_kmh`` (float, NaN if unknown),
        ``name`` (str) and, for OSM, ``osm_id``, the access tag columns and ``node_ids``;
        vector files keep their other columns (``layer``, ``bridge`` and ``tunnel`` among them
        decide where lines join: :func:`planner.network.road_levels`). LineString geometry in
        EPSG:4326, RangeIndex.

    Raises
    ------
    InputError
        Unmapped classes, unknown direction values, non-line geometry, refused XML.
        :class:`~planner.CRSError` for a file without CRS and no ``crs=``.

    Examples
    --------
    >>> roads = read_roads("../shared/data/changsha/roads.shp")  # doctest: +SKIP
    >>> roads["oneway"].value_counts().to_dict()  # doctest: +SKIP
    {0: 1477, 1: 780}
    """
    t0 = time.perf_counter()
    p = require_file(path, what="roads", suffixes=OSM_SUFFIXES + VECTOR_SUFFIXES)
    source = str(p)
    box = _check_bbox(bbox)
    osm_suffix = suffix_of(p, OSM_SUFFIXES)
    if osm_suffix:
        gdf, stats = read_osm(p, osm_suffix, source=source)
        if class_map:
            mapped, _ = map_classes(gdf["highway"], class_map)
            gdf["highway"] = pd.Series(
                [m if m is not None else h for m, h in zip(mapped, gdf["highway"], strict=True)],
                dtype=str,
            )
        kind = f"OSM, {stats['dropped']} non-road ways dropped"
        if stats["missing_nodes"]:
            kind += (
                f"; {stats['missing_nodes']} nodes are missing from the (clipped) extract: "
                f"{stats['cut_ways']} ways cut into their present parts, {stats['outside']} ways "
                "with fewer than 2 present nodes dropped"
            )
    else:
        gdf, kind = _read_vector_roads(
            p,
            layer=layer,
            class_column=class_column,
            class_map=class_map,
            default_class=default_class,
            direction_column=direction_column,
            direction_map=direction_map,
            speed_column=speed_column,
            name_column=name_column,
            crs=crs,
            encoding=encoding,
            bbox=box,
            source=source,
        )
    if box is not None:
        gdf = gdf[shapely.intersects(gdf.geometry.to_numpy(), shapely.box(*box))]
    gdf = gdf.reset_index(drop=True)
    logger.info(
        "read %d road lines (%.0f km) from %s (%s) in %.2f s",
        len(gdf),
        _length_km(gdf),
        source,
        kind,
        time.perf_counter() - t0,
    )
    return gdf


def _length_km(gdf: gpd.GeoDataFrame) -> float:
    """Total length of lon/lat lines in km (haversine; for the log line)."""
    coords, idx = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    if len(coords) < 2:
        return 0.0
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    same = idx[1:] == idx[:-1]
    dlat = lat[1:] - lat[:-1]
    dlon = lon[1:] - lon[:-1]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    d = 2 * 6_371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return float(d[same].sum())


def _road_directions(
    df: pd.DataFrame,
    dir_col: Any,
    direction_map: Any,
    notes: list[str],
    problems: Problems,
) -> np.ndarray:
    """One-way codes (1 along, -1 against, 0 both) from ``dir_col``, else all two-way (noted)."""
    if dir_col is not None:
        oneway, unmapped = _map_direction(df[dir_col], direction_map)
        if unmapped:
            problems.add(
                f"column '{dir_col}' has direction values that are not understood: {listing(unmapped)}",
                fix="pass direction_map={value: 1 (one-way along the line), -1 (against it) or 0 (both ways)}",
            )
        if direction_map is not None:
            wrong_vals = sorted({v for v in direction_map.values() if v not in (-1, 0, 1)}, key=str)
            if wrong_vals:
                problems.add(
                    f"direction_map has values {listing(wrong_vals)}", fix="map to 1, 0 or -1"
                )
    else:
        oneway = np.zeros(len(df), dtype=np.int8)
        notes.append("no direction column: every road two-way")
    return oneway


def _guess_class_column(df: pd.DataFrame, cols: list[Any], class_map: Any) -> Any:
    """The candidate column whose values map to road classes best (the first that maps all)."""
    best: tuple[float, Any] = (0.0, None)
    for cand in CLASS_CANDIDATES:
        c = find_column(cols, None, (cand,))
        if c is None or c == best[1]:
            continue
        present = df[c].dropna()
        if present.empty:
            continue
        _, n_ok = map_classes(present, class_map)
        share = n_ok / len(present)
        if share == 1.0:
            best = (share, c)
            break
        if share > best[0]:
            best = (share, c)
    return best[1]


def _road_classes(
    df: pd.DataFrame,
    class_col: Any,
    class_map: Any,
    default_class: str | None,
    cols: list[Any],
    problems: Problems,
) -> pd.Series:
    """OSM highway classes of the roads: ``class_col`` mapped (unmapped ones are problems unless
    ``default_class=``), else ``default_class`` everywhere."""
    if class_col is not None and class_col in df:
        mapped, _ = map_classes(df[class_col], class_map)
        classes = pd.Series(mapped, index=df.index, dtype=object)
        bad = classes.isna().to_numpy()
        if bad.any():
            if default_class is not None:
                classes = classes.where(~bad, default_class)
            else:
                raw = df[class_col][bad]
                counts = raw.map(cell_text).value_counts()
                problems.add(
                    f"column '{class_col}' has road classes that are not mapped to OSM highway values: "
                    + ", ".join(f"'{k}' ({v} rows)" for k, v in counts.head(15).items())
                    + f" in {describe_rows(df.index[bad])}",
                    fix="pass class_map={value: 'primary', ...} (OSM highway values) or default_class='unclassified'",
                )
    elif default_class is not None:
        classes = pd.Series(default_class, index=df.index, dtype=object)
    else:
        problems.add(
            f"no road class column recognised (looked for {', '.join(CLASS_CANDIDATES[:7])}; columns are {listing(cols)})",
            fix="pass class_column= (with class_map= if its values are not OSM/Chinese classes) or default_class=",
        )
        classes = pd.Series(None, index=df.index, dtype=object)

    return classes


def _read_vector_roads(
    path: Path,
    *,
    layer: Any,
    class_column: str | None,
    class_map: Mapping[Any, str] | None,
    default_class: str | None,
    direction_column: str | None,
    direction_map: Mapping[Any, int] | None,
    speed_column: str | None,
    name_column: str | None,
    crs: Any,
    encoding: str | None,
    bbox: tuple[float, float, float, float] | None,
    source: str,
) -> tuple[gpd.GeoDataFrame, str]:
    """Vector road file -> read_roads columns, and a note for the log line."""
    parsed = parse_crs(crs, source)
    notes = ["vector"]
    file_bbox = None
    if bbox is not None and parsed is None:
        import pyogrio

        info_crs = pyogrio.read_info(path, layer=layer).get("crs")
        if info_crs:
            t = pyproj.Transformer.from_crs(
                WGS84, pyproj.CRS.from_user_input(info_crs), always_xy=True
            )
            file_bbox = t.transform_bounds(*bbox, densify_pts=21)
    df = read_vector(path, layer=layer, encoding=encoding, bbox=file_bbox, source=source)
    problems = Problems(source)
    if not isinstance(df, gpd.GeoDataFrame) or df._geometry_column_name not in df:
        raise InputError(f"{source}: has no geometry. Fix: use a line file of roads.")
    if len(df) == 0:
        raise InputError(
            f"{source}: no rows{' inside bbox' if bbox else ''}. Fix: check the file (and bbox=)."
        )
    geoms = df.geometry
    empty = (geoms.isna() | geoms.is_empty).to_numpy()
    if empty.any():
        logger.warning("%s: dropped %d rows without geometry", source, int(empty.sum()))
        notes.append(f"{int(empty.sum())} rows without geometry dropped")
        df = df[~empty]
        geoms = df.geometry
    types = shapely.get_type_id(geoms.to_numpy())
    wrong = ~np.isin(types, (1, 2, 5))
    if wrong.any():
        problems.add(
            f"geometries are {', '.join(sorted(set(geoms[wrong].geom_type)))}, not lines, in {describe_rows(df.index[wrong])}",
            fix="use a LineString/MultiLineString road file (or remove those rows)",
        )
        problems.raise_if_any()
    cols = data_columns(df)

    # class
    class_col = (
        require_column(problems, df, class_column, (), option="class_column", what="road class")
        if class_column
        else None
    )
    if class_column is None:
        class_col = _guess_class_column(df, cols, class_map)
    classes = _road_classes(df, class_col, class_map, default_class, cols, problems)

    # direction
    dir_col = require_column(
        problems,
        df,
        direction_column,
        DIRECTION_CANDIDATES,
        option="direction_column",
        what="direction",
    )
    oneway = _road_directions(df, dir_col, direction_map, notes, problems)

    speed_col = require_column(
        problems, df, speed_column, SPEED_CANDIDATES, option="speed_column", what="speed"
    )
    name_col = require_column(
        problems, df, name_column, ROAD_NAME_CANDIDATES, option="name_column", what="name"
    )
    problems.raise_if_any()

    if speed_col is not None:
        speed = np.asarray([parse_maxspeed(v) for v in df[speed_col]], dtype=float)
    else:
        speed = np.full(len(df), np.nan)
    names = (
        text_series(df[name_col])
        if name_col is not None
        else pd.Series("", index=df.index, dtype=str)
    )
    rest = unused_columns(
        df, [class_col, dir_col, speed_col, name_col], ("highway", "oneway", "maxspeed_kmh", "name")
    )
    out = pd.DataFrame(
        {
            "highway": classes.astype(str),
            "oneway": pd.Series(oneway, index=df.index, dtype=np.int8),
            "maxspeed_kmh": pd.Series(speed, index=df.index, dtype=float),
            "name": names,
        },
        index=df.index,
    )
    frame = gpd.GeoDataFrame(
        pd.concat([out, rest], axis=1), geometry=df.geometry.to_numpy(), crs=df.crs
    )
    frame = frame.reset_index(drop=True).explode(index_parts=False).reset_index(drop=True)
    geometry = geoseries_to_wgs84(frame.geometry, parsed, source)
    frame = frame.set_geometry(shapely.force_2d(geometry.to_numpy()), crs=WGS84)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    notes.append(
        f"class from '{class_col}'" if class_col is not None else f"class '{default_class}'"
    )
    if dir_col is not None:
        note = f"direction from '{dir_col}'"
        codes = (
            {class_key(v) for v in pd.unique(df[dir_col].dropna())}
            if direction_map is None
            else set()
        )
        if codes & {"1", "2"} and codes <= set(DIRECTION_DEFAULT):
            # supplier codes are not universal: say how numbers were read, and how to change it
            note += " (numeric codes: 1 and 2 one-way along the line, 3 both ways; other codings: pass direction_map=)"
        notes.append(note)
    return frame, ", ".join(notes)


def _map_direction(
    series: pd.Series, direction_map: Mapping[Any, int] | None
) -> tuple[np.ndarray, list[str]]:
    keys = [class_key(v) for v in series]
    present = {k for k in keys if k is not None}
    defaults = dict(DIRECTION_DEFAULT)
    if present and present <= {"t", "f"}:  # a true/false flag, not HERE's T/F/B
        defaults.update({"t": 1, "f": 0})
    user = dict(direction_map or {})
    user_keys = {class_key(k): v for k, v in user.items()}
    out = np.zeros(len(keys), dtype=np.int8)
    unmapped: dict[str, None] = {}
    for i, (raw, key) in enumerate(zip(series, keys, strict=True)):
        if hashable(raw) and raw in user:
            val = user[raw]
        elif key in user_keys:
            val = user_keys[key]
        elif key is None:
            val = 0
        else:
            val = defaults.get(key)
            if val is None:
                unmapped[key] = None
                continue
        out[i] = val if val in (-1, 0, 1) else 0
    return out, list(unmapped)


def download_roads(
    place: str | dict | list | None = None,
    *,
    polygon: Any = None,
    network_type: str = "all",
) -> gpd.GeoDataFrame:
    """Download roads from OpenStreetMap with osmnx, as :func:`read_roads` returns them.

    Parameters
    ----------
    place : str, dict or list, optional
        A place name osmnx geocodes (e.g. ``"Lankao County, Kaifeng, Henan, China"``).
    polygon : shapely Polygon or MultiPolygon, optional
        Area in WGS-84 (instead of ``place``).
    network_type : str
        osmnx network type: ``"all"`` (default), ``"drive"``, ``"walk"``, ``"bike"`` ...
        (osmnx makes every edge two-way for ``"walk"``, so use ``"all"`` to keep one-way streets).

    Returns
    -------
    GeoDataFrame
        ``osm_id``, ``highway``, ``oneway``, ``maxspeed_kmh``, ``name`` and the access tag
        columns of :data:`OSM_ACCESS_TAGS` (those osmnx did not keep are ""); LineStrings in EPSG:4326
        (one per street segment between intersections; one-way segments point in the travel
        direction).
    """
    if (place is None) == (polygon is None):
        raise InputError(
            "download_roads: pass either place= or polygon=. Fix: name a place or give a polygon."
        )
    import osmnx as ox

    t0 = time.perf_counter()
    if place is not None:
        graph = ox.graph_from_place(place, network_type=network_type, retain_all=True)
        source = f"OpenStreetMap ({place})"
    else:
        graph = ox.graph_from_polygon(polygon, network_type=network_type, retain_all=True)
        source = "OpenStreetMap (polygon)"
    edges = ox.graph_to_gdfs(ox.convert.to_undirected(graph), nodes=False)
    out = _roads_from_osmnx_edges(edges)
    logger.info(
        "downloaded %d road lines from %s in %.1f s", len(out), source, time.perf_counter() - t0
    )
    return out


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return value[0] if len(value) else None
    return value


def _roads_from_osmnx_edges(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """osmnx edge GeoDataFrame (undirected graph) -> read_roads columns."""
    n = len(edges)

    def col(name: str) -> pd.Series:
        return (
            edges[name] if name in edges else pd.Series([None] * n, index=edges.index, dtype=object)
        )

    def speed(v: Any) -> float:
        if isinstance(v, (list, tuple, np.ndarray)):
            vals = [parse_maxspeed(x) for x in v]
            vals = [x for x in vals if not math.isnan(x)]
            return min(vals) if vals else math.nan
        return parse_maxspeed(v)

    osm_ids = [_first(v) for v in col("osmid")]
    oneway = [
        1 if (v is True or v == 1 or str(v).lower() in ("true", "yes")) else 0
        for v in col("oneway")
    ]
    out = gpd.GeoDataFrame(
        {
            "osm_id": pd.to_numeric(pd.Series(osm_ids, dtype=object), errors="coerce")
            .fillna(-1)
            .astype(np.int64)
            .to_numpy(),
            "highway": pd.Series(
                [cell_text(_first(v)) or "road" for v in col("highway")], dtype=str
            ),
            "oneway": np.asarray(oneway, dtype=np.int8),
            "maxspeed_kmh": np.asarray([speed(v) for v in col("maxspeed")], dtype=float),
            "name": pd.Series([cell_text(_first(v)) for v in col("name")], dtype=str),
            # access tags osmnx kept (by default access and service; foot, bicycle ... when
            # added to its useful_tags_way), read by the travel modes as for OSM files
            **{
                tag: pd.Series([cell_text(_first(v)) for v in col(tag)], dtype=str)
                for tag in OSM_ACCESS_TAGS
            },
        },
        geometry=shapely.force_2d(edges.geometry.to_numpy()),
        crs=edges.crs or WGS84,
    )
    if not out.crs.equals(WGS84):
        out = out.to_crs(WGS84)
    return out.reset_index(drop=True)
