"""Read administrative boundaries (``read_boundaries``): codes, names, levels, parents.

Part of :mod:`planner.load`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import InputError, InputWarning
from .._gridcut import polygonal
from .._readfile import (
    WGS84,
    cell_text,
    code_text,
    data_columns,
    geoseries_to_wgs84,
    is_degrees,
    listing,
    parse_crs,
    read_table,
    require_column,
    rows_with_names,
    text_series,
    unused_columns,
)
from .._validate import Problems, describe_rows, find_column

logger = logging.getLogger("planner.load")


CODE_COLUMNS = (
    "admin_code",
    "adcode",
    "code",
    "代码",
    "区划代码",
    "行政区划代码",
    "xzqdm",
    "gb_code",
)
ADMIN_NAME_COLUMNS = ("admin_name", "name", "名称", "区划名称", "行政区划名称", "xzqmc")
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
LEVEL_COLUMNS = ("level", "admin_level", "级别", "层级", "行政级别")
PARENT_COLUMNS = (
    "parent_code",
    "parent",
    "parent_adcode",
    "parentcode",
    "上级代码",
    "上级编码",
    "pcode",
)

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
        before = shapely.area(values[invalid])
        values[invalid] = polygonal(shapely.make_valid(values[invalid]))
        logger.debug("%s: repaired %d invalid polygons with make_valid", source, int(invalid.sum()))
        # a ring that merely touches itself repairs to the same area; a crossing one (a bow
        # tie, corners out of order) to another shape, which the user should see
        after = shapely.area(values[invalid])
        moved = np.abs(after - before) > 0.01 * np.maximum(after, 1e-12)
        if moved.any():
            warnings.warn(
                f"{source}: {int(moved.sum())} boundary polygons cross themselves and were "
                f"repaired into another shape (area changed by more than 1 %) in "
                f"{rows_with_names(gdf.index[np.flatnonzero(invalid)[moved]], names)}. "
                "Check those polygons in a GIS: their corners may be out of order.",
                InputWarning,
                stacklevel=3,
            )
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
    code_col = require_column(
        problems, df, code_column, CODE_COLUMNS, option="code_column", what="code"
    )
    if code_column is None and code_col is None:
        problems.add(
            f"no administrative code column (looked for {', '.join(CODE_COLUMNS[:5])}; columns are {listing(cols)})",
            fix="name it with code_column=",
        )
    name_col = require_column(
        problems, df, name_column, ADMIN_NAME_COLUMNS, option="name_column", what="name"
    )
    level_col = require_column(
        problems, df, level_column, LEVEL_COLUMNS, option="level_column", what="level"
    )
    parent_col = require_column(
        problems, df, parent_column, PARENT_COLUMNS, option="parent_column", what="parent code"
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
