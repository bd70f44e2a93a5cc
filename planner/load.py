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

import bz2
import csv
import gzip
import io
import logging
import math
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import _chinacrs
from ._errors import CRSError, InputError, InputFileError, InputWarning
from ._gridcut import grid_cut, polygonal
from ._validate import Problems, check_bytes, count_column, describe_rows, find_column, require_file
from .standards import TIERS, classify_tier

__all__ = [
    "download_roads",
    "read_boundaries",
    "read_facilities",
    "read_population",
    "read_roads",
    "to_wgs84",
]

logger = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)

_OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".osm.xml")
_VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb")
_TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
_RASTER_SUFFIXES = (".tif", ".tiff")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet")

# --- small helpers ---------------------------------------------------------------------------


def _suffix_of(path: Path, suffixes: Sequence[str]) -> str | None:
    name = path.name.lower()
    for s in sorted(suffixes, key=len, reverse=True):
        if name.endswith(s):
            return s
    return None


def _columns(df: pd.DataFrame) -> list[Any]:
    geom = (
        df.geometry.name
        if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df
        else None
    )
    return [c for c in df.columns if c != geom]


def _listing(values: Iterable[Any], limit: int = 12) -> str:
    vals = [repr(v) if not isinstance(v, str) else f"'{v}'" for v in values]
    more = len(vals) - limit
    return ", ".join(vals[:limit]) + (f" and {more} more" if more > 0 else "")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    """A value as stripped text ('' for missing; integral numbers without '.0')."""
    if _is_missing(value):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    return str(value).strip()


def _text_series(values: pd.Series) -> pd.Series:
    return pd.Series([_text(v) for v in values], index=values.index, dtype=str)


_ADCODE_IN_JSON = re.compile(r'"adcode"\s*:\s*"?(\d+)')


def _code_text(value: Any) -> str:
    """An administrative/facility code as text: 410202 and 410202.0 -> '410202'."""
    text = _text(value)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    m = _ADCODE_IN_JSON.search(text)  # DataV boundaries store parent as {"adcode": 410000}
    return m.group(1) if m else text


def _example(values: Iterable[Any]) -> str:
    """An offending value for messages: the first one present, else 'empty'."""
    for v in values:
        if not _is_missing(v) and str(v).strip():
            return repr(v)
    return "empty"


def _source_label(path_or_frame: Any, what: str) -> str:
    if isinstance(path_or_frame, (str, Path)):
        return str(path_or_frame)
    return f"{what} ({type(path_or_frame).__name__} argument)"


def _rows_with_names(index: Iterable[Any], names: pd.Series | None) -> str:
    rows = list(index)
    text = describe_rows(rows)
    if names is not None and rows:
        shown = [f"'{names.loc[r]}'" for r in rows[:3] if _text(names.loc[r])]
        if shown:
            text += f" (names {', '.join(shown)})"
    return text


# --- encodings -------------------------------------------------------------------------------

_UTF8_MAX_BAD = 0.25  # share of non-ASCII bytes UTF-8 may reject and still be judged UTF-8


def _guess_encoding(samples: Iterable[bytes], *, limit: int = 20_000) -> str:
    """'utf-8' or 'gb18030' for a set of byte strings of unknown encoding.

    UTF-8 is very structured: GBK text decoded as UTF-8 fails on most of its non-ASCII bytes
    (75 % for the Longshan shapefile), while UTF-8 text that was cut mid-character fails only on
    the cut bytes (10 % for the Changsha roads). GB18030, on the other hand, accepts almost any
    byte sequence, so it cannot be judged the same way and is the fallback.
    """
    bad = total = 0
    for n, b in enumerate(samples):
        if n >= limit:
            break
        non_ascii = sum(1 for x in b if x >= 0x80)
        if not non_ascii:
            continue
        total += non_ascii
        decoded = b.decode("utf-8", errors="surrogateescape")
        bad += sum(1 for ch in decoded if "\udc80" <= ch <= "\udcff")
    if total == 0 or bad / total <= _UTF8_MAX_BAD:
        return "utf-8"
    return "gb18030"


def _detect_encoding(data: bytes | str | Path) -> str:
    """Text encoding of CSV-like bytes: 'utf-8-sig', 'utf-16', 'utf-8' or 'gb18030'.

    Tries UTF-8 first (a BOM gives 'utf-8-sig'), then judges line by line as
    :func:`_guess_encoding` does. The caller decodes with ``errors="replace"``.
    """
    if isinstance(data, (str, Path)):
        data = Path(data).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return _guess_encoding(data.splitlines())


def _redecode_frame(df: pd.DataFrame, encoding: str | None, source: str) -> pd.DataFrame:
    """Re-decode text read as ISO-8859-1 (i.e. raw bytes) with the right encoding."""
    text_cols = [
        c
        for c in df.columns
        if c != getattr(df, "_geometry_column_name", None)
        and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype))
    ]
    samples: list[bytes] = [str(c).encode("latin-1", errors="replace") for c in df.columns]
    for c in text_cols:
        samples.extend(v.encode("latin-1") for v in df[c].dropna() if isinstance(v, str))
    enc = encoding or _guess_encoding(samples)
    replaced = 0

    def dec(v: Any) -> Any:
        nonlocal replaced
        if not isinstance(v, str):
            return v
        raw = v.encode("latin-1", errors="replace")
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            replaced += 1
            return raw.decode(enc, errors="replace")

    out = df.copy()
    for c in text_cols:
        out[c] = pd.Series([dec(v) for v in out[c]], index=out.index, dtype=object).astype(str)
        out[c] = out[c].where(df[c].notna(), None)
    out.columns = [dec(c) if isinstance(c, str) else c for c in out.columns]
    if isinstance(out, gpd.GeoDataFrame) and "geometry" in out.columns:
        out = out.set_geometry("geometry")
    if replaced:
        logger.warning(
            "%s: %d text values are not valid %s; undecodable bytes shown as U+FFFD",
            source,
            replaced,
            enc,
        )
    logger.debug("%s: text decoded as %s", source, enc)
    return out


# --- CRS helpers -----------------------------------------------------------------------------

_CRS_FIX = "pass crs='wgs84', 'gcj02', 'bd09', 'EPSG:<code>' or a pyproj.CRS"


def _parse_crs(crs: Any, source: str) -> str | pyproj.CRS | None:
    """None, 'gcj02', 'bd09' or a pyproj CRS (WGS-84 spellings give EPSG:4326)."""
    if crs is None:
        return None
    if isinstance(crs, pyproj.CRS):
        return crs
    system = _chinacrs.normalize_system(crs)
    if system == "wgs84":
        return WGS84
    if system is not None:
        return system
    try:
        return pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as exc:
        raise CRSError(
            f"{source}: crs={crs!r} is not a known coordinate reference system ({exc}). Fix: {_CRS_FIX}."
        ) from None


def _is_degrees(crs: str | pyproj.CRS) -> bool:
    return isinstance(crs, str) or crs.is_geographic


def _crs_name(crs: str | pyproj.CRS) -> str:
    if isinstance(crs, str) and crs == "wgs84":
        return "WGS-84"
    if isinstance(crs, str):
        return {"gcj02": "GCJ-02", "bd09": "BD-09"}[crs]
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _projected_crs_hint(x: float) -> str:
    """Likely projected CRSs for an easting ``x`` in metres (Gauss-Kruger eastings carry the zone)."""
    zone = int(abs(x) // 1_000_000)
    if 25 <= zone <= 45:  # CGCS2000 3-degree Gauss-Kruger with zone prefix: EPSG:4513 (zone 25) ...
        return f"crs='EPSG:{4513 + zone - 25}' (CGCS2000 / 3-degree Gauss-Kruger zone {zone}, the 'x' begins with {zone})"
    if 13 <= zone <= 23:  # CGCS2000 6-degree Gauss-Kruger with zone prefix: EPSG:4491 (zone 13) ...
        return f"crs='EPSG:{4491 + zone - 13}' (CGCS2000 / 6-degree Gauss-Kruger zone {zone}, the 'x' begins with {zone})"
    return (
        "the projected CRS the file was made in, e.g. crs='EPSG:32650' (UTM 50N; 326NN for zone NN), "
        "'EPSG:4547' (CGCS2000 / 3-degree Gauss-Kruger CM 114E) or 'EPSG:3857' (Web Mercator)"
    )


def _check_degree_bounds(geoms: gpd.GeoSeries, crs: Any, source: str) -> None:
    """Raise when coordinates labelled as degrees are outside -180..180 / -90..90 (metres, mostly:
    a GeoJSON is WGS-84 by definition, so UTM coordinates in one are read as degrees)."""
    b = geoms.total_bounds
    if not np.isfinite(b).all() or (
        abs(b[0]) <= 180 and abs(b[2]) <= 180 and abs(b[1]) <= 90 and abs(b[3]) <= 90
    ):
        return
    name = _crs_name(crs if isinstance(crs, str) else pyproj.CRS.from_user_input(crs))
    raise CRSError(
        f"{source}: the coordinates are labelled {name} (degrees) but reach {b.round(1).tolist()}, which "
        f"are not degrees: they look like projected metres. Fix: pass {_projected_crs_hint(b[0])}"
    )


def _geoseries_to_wgs84(
    geoms: gpd.GeoSeries, crs: str | pyproj.CRS | None, source: str
) -> gpd.GeoSeries:
    if crs is None:
        if geoms.crs is None:
            raise CRSError(
                f"{source}: the data have no coordinate reference system. Fix: {_CRS_FIX} "
                "(e.g. crs='EPSG:4326' for plain longitude/latitude, or add a .prj file)."
            )
        crs = geoms.crs
    if _is_degrees(crs if isinstance(crs, str) else pyproj.CRS.from_user_input(crs)):
        _check_degree_bounds(geoms, crs, source)
    if isinstance(crs, str):
        return _chinacrs.transform_geometries(geoms, crs, "wgs84")
    out = geoms.set_crs(crs, allow_override=True)
    if not out.crs.equals(WGS84):
        out = out.to_crs(WGS84)
    return out


def to_wgs84(data: Any, crs: Any = None) -> Any:
    """Return geometries in WGS-84 longitude/latitude (EPSG:4326).

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries, shapely geometry or array-like of geometries
        Not changed.
    crs : str, int or pyproj.CRS, optional
        The coordinate system ``data`` is in; overrides the CRS the data are labelled with. Besides
        anything pyproj understands (``"EPSG:3857"``, ``4547``), ``"wgs84"``, ``"gcj02"`` (Amap,
        Tencent) and ``"bd09"`` (Baidu). Needed when ``data`` has no CRS.

    Returns
    -------
    Same kind as ``data`` (arrays and lists give a numpy array of geometries).

    Raises
    ------
    CRSError
        If the CRS is unknown or missing.

    Examples
    --------
    >>> import shapely
    >>> p = to_wgs84(shapely.Point(114.35, 34.80), "gcj02")
    >>> round(p.x, 4), round(p.y, 4)
    (114.3441, 34.8008)
    """
    source = "to_wgs84"
    parsed = _parse_crs(crs, source)
    if isinstance(data, gpd.GeoDataFrame):
        out = data.copy()
        geoms = _geoseries_to_wgs84(data.geometry, parsed, source)
        out[data.geometry.name] = geoms.to_numpy()
        return out.set_crs(WGS84, allow_override=True)
    if isinstance(data, gpd.GeoSeries):
        return _geoseries_to_wgs84(data, parsed, source)
    if isinstance(data, shapely.Geometry):
        return _geoseries_to_wgs84(gpd.GeoSeries([data]), parsed, source).iloc[0]
    return _geoseries_to_wgs84(gpd.GeoSeries(list(data)), parsed, source).to_numpy()


# --- generic readers -------------------------------------------------------------------------


def _has_cpg(path: Path) -> bool:
    stem = path.with_suffix("")
    return any(stem.with_suffix(s).exists() for s in (".cpg", ".CPG", ".Cpg"))


def _pyogrio_read(path: Path, **kwargs: Any) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        return pyogrio.read_dataframe(path, **kwargs)
    except UnicodeDecodeError:
        raise
    except pyogrio.errors.DataLayerError as exc:
        raise InputError(
            f"{path}: cannot read layer ({exc}). Fix: name an existing layer with layer=."
        ) from None
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FieldError,
    ) as exc:
        raise InputFileError(
            f"{path}: cannot read the file ({exc}). Fix: check that it is a valid vector file."
        ) from None


def _read_vector(
    path: Path,
    *,
    layer: Any = None,
    encoding: str | None = None,
    bbox: tuple | None = None,
    source: str,
) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio, detecting the text encoding as the module explains."""
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    if bbox is not None:
        kwargs["bbox"] = bbox
    is_shp = path.suffix.lower() == ".shp"
    # Shapefiles without .cpg, or with encoding= given, are decoded by us from the raw bytes
    # (GDAL would trust the DBF language byte, which is wrong for e.g. the Changsha roads).
    raw_path = is_shp and (encoding is not None or not _has_cpg(path))
    if not raw_path:
        try:
            if encoding is not None:
                return _pyogrio_read(path, encoding=encoding, **kwargs)
            return _pyogrio_read(path, **kwargs)
        except UnicodeDecodeError:
            pass
    raw = _pyogrio_read(path, encoding="ISO-8859-1", **kwargs)
    return _redecode_frame(raw, encoding, source)


def _sniff_separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


_LEADING_ZERO = re.compile(r"^0\d")


def _numeric_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Make columns numeric when every value is a number and none has a leading zero."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        present = s.dropna().astype(str).str.strip()
        if present.empty or present.str.match(_LEADING_ZERO).any():
            continue
        num = pd.to_numeric(present, errors="coerce")
        if num.notna().all():
            out[c] = pd.to_numeric(s, errors="coerce")
    return out


def _read_csv(path: Path, encoding: str | None, source: str) -> pd.DataFrame:
    raw = path.read_bytes()
    enc = encoding or _detect_encoding(raw)
    text = raw.decode(enc, errors="replace")
    if "\ufffd" in text and enc != "utf-8-sig" and encoding is None:
        logger.warning("%s: some bytes are not valid %s; shown as U+FFFD", source, enc)
    sep = "\t" if path.suffix.lower() == ".tsv" else _sniff_separator(text)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(
            f"{source}: cannot read as CSV ({exc}). Fix: save it as a comma-separated UTF-8 file."
        ) from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    return _numeric_columns(df)


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and other MS Office 97-2003 files)


def _read_excel(path: Path, sheet: Any, source: str) -> pd.DataFrame:
    import zipfile

    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_OLE_MAGIC):
        raise InputError(
            f"{source}: this is an old Excel (.xls) workbook with an .xlsx name. Fix: open it in Excel "
            "or LibreOffice and save it as .xlsx or .csv."
        )
    if not head.startswith(_ZIP_MAGIC):
        # A CSV export renamed to .xlsx (common with web tools): read it as what it is.
        sample = path.read_bytes()[:65536]
        if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputFileError(
                f"{source}: not an Excel workbook (an .xlsx file is a zip archive) and not text either. "
                "Fix: save the table as .xlsx or .csv again."
            )
        warnings.warn(
            f"{source}: not an Excel workbook but text; it was read as CSV. Fix: rename it to .csv",
            InputWarning,
            stacklevel=4,
        )
        return _read_csv(path, None, source)
    try:
        df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, engine="openpyxl")
    except ValueError as exc:
        raise InputError(
            f"{source}: {exc}. Fix: pass sheet= one of {_listing(_sheet_names(path))}."
        ) from None
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise InputFileError(
            f"{source}: cannot read the workbook ({type(exc).__name__}: {exc}). Fix: open it in Excel "
            "or LibreOffice and save it again as .xlsx, or export the sheet as .csv."
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _sheet_names(path: Path) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _sheets_hint(
    path_or_frame: Any, sheet: Any, problems: Problems, *, lon: Sequence[str], lat: Sequence[str]
) -> None:
    """When a workbook's sheet lacked coordinates, name the sheets that have them."""
    if not isinstance(path_or_frame, (str, Path)):
        return
    path = Path(path_or_frame)
    if _suffix_of(path, (".xlsx", ".xlsm")) is None:
        return
    try:
        heads = pd.read_excel(path, sheet_name=None, nrows=0, engine="openpyxl")
    except Exception:  # noqa: BLE001 - only a hint; the real problem is already reported
        return
    names = list(heads)
    if len(names) < 2:
        return
    read = (
        names[sheet] if isinstance(sheet, int) and 0 <= sheet < len(names) else (sheet or names[0])
    )
    with_coords = [
        n
        for n, h in heads.items()
        if n != read
        and _find_coordinate_column(list(h.columns), lon, _LON_WORDS) is not None
        and _find_coordinate_column(list(h.columns), lat, _LAT_WORDS) is not None
    ]
    problems.add(
        f"the workbook has {len(names)} sheets ({_listing(names)}) and sheet '{read}' was read"
        + (f"; sheet {_listing(with_coords)} has coordinate columns" if with_coords else ""),
        fix=f"pass sheet='{with_coords[0] if with_coords else names[1]}' to read another sheet",
    )


def _read_table(
    path_or_frame: Any,
    *,
    what: str,
    layer: Any = None,
    sheet: Any = None,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, str]:
    """A DataFrame or GeoDataFrame (a copy) and a label for messages."""
    source = _source_label(path_or_frame, what)
    if isinstance(path_or_frame, pd.DataFrame):
        return path_or_frame.copy(), source
    if not isinstance(path_or_frame, (str, Path)):
        raise InputError(
            f"{what}: expected a file path or a (Geo)DataFrame, got {type(path_or_frame).__name__}. "
            "Fix: pass a path or a DataFrame."
        )
    suffixes = _VECTOR_SUFFIXES + _TABLE_SUFFIXES + _PARQUET_SUFFIXES
    path = require_file(path_or_frame, what=what, suffixes=suffixes + (".xls",))
    suffix = _suffix_of(path, suffixes + (".xls",))
    if suffix == ".xls":
        raise InputError(
            f"{source}: old Excel .xls files are not supported. Fix: save the sheet as .xlsx or .csv."
        )
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, encoding, source), source
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, sheet, source), source
    if suffix in _PARQUET_SUFFIXES:
        try:
            return gpd.read_parquet(path), source
        except ValueError:
            return pd.read_parquet(path), source
    return _read_vector(path, layer=layer, encoding=encoding, source=source), source


def _rest(df: pd.DataFrame, used: Iterable[Any], reserved: Iterable[str]) -> pd.DataFrame:
    """Source columns not consumed by a loader; names clashing with output columns get '_source'."""
    used_set = {c for c in used if c is not None}
    reserved_set = set(reserved)
    cols = [c for c in _columns(df) if c not in used_set]
    rest = pd.DataFrame(df[cols]) if cols else pd.DataFrame(index=df.index)
    return rest.rename(columns={c: f"{c}_source" for c in cols if c in reserved_set})


def _require_column(
    problems: Problems,
    df: pd.DataFrame,
    wanted: str | None,
    candidates: Sequence[str],
    *,
    option: str,
    what: str,
) -> str | None:
    """The column named by the option or auto-detected; adds a problem if the option names none."""
    col = find_column(_columns(df), wanted, candidates)
    if wanted is not None and col is None:
        problems.add(
            f"{option}={wanted!r} is not a column (columns: {_listing(_columns(df))})",
            fix=f"name the {what} column exactly as in the file",
        )
    return col


# --- point geometry from tables --------------------------------------------------------------

_LON = ("lon", "lng", "long", "longitude", "x", "经度", "wgs84_lon", "gcj02_lon", "bd09_lon")
_LAT = ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj02_lat", "bd09_lat")
_LON_WORDS = frozenset({"lon", "lng", "long", "longitude", "x", "经度"})
_LAT_WORDS = frozenset({"lat", "latitude", "y", "纬度"})
# Words in a coordinate column's name that say which system it is in: web-map exports name their
# columns after the map (高德经度, amap_lng, gcj02_lat, 百度纬度, bd09_lon). Order: BD-09 first,
# because Baidu exports sometimes say "bd09 (from gcj02)".
_SYSTEM_WORDS = (
    ("bd09", re.compile(r"bd[\-_ ]?09(?:ll|mc)?|baidu|百度|^bd(?=[\-_ ]|lon|lng|lat|x|y)")),
    (
        "gcj02",
        re.compile(
            r"gcj[\-_ ]?(?:02)?|高德|腾讯|火星|amap|gaode|tencent|mars|^gd(?=[\-_ ]|lon|lng|lat)"
        ),
    ),
    ("wgs84", re.compile(r"wgs[\-_ ]?(?:84)?|gps")),
)
_COORD_FILLER = re.compile(r"[\s\-_()（）.:：]+|坐标|座标|coord(?:inate)?s?")
_SYSTEM_NAMES = {"wgs84": "WGS-84", "gcj02": "GCJ-02 (Amap/Tencent)", "bd09": "BD-09 (Baidu)"}


def _column_system(name: Any) -> tuple[str | None, str]:
    """The coordinate system a column's name announces (or None) and the name without it."""
    text = str(name).strip().lower()
    for system, pattern in _SYSTEM_WORDS:
        if pattern.search(text):
            return system, _COORD_FILLER.sub("", pattern.sub("", text))
    return None, _COORD_FILLER.sub("", text)


def _find_coordinate_column(
    cols: Sequence[Any], candidates: Sequence[str], words: frozenset[str]
) -> Any:
    """A candidate column (case-insensitive), else one whose name is a coordinate word plus a
    system word (``高德经度``, ``lng_gcj02``, ``BD09 lat``)."""
    col = find_column(cols, None, candidates)
    if col is not None:
        return col
    for c in cols:
        system, rest = _column_system(c)
        if system is not None and rest in words:
            return c
    return None


def _system_from_columns(xc: Any, yc: Any, *, source: str, problems: Problems) -> str | None:
    """The system both coordinate columns' names announce ('wgs84', 'gcj02', 'bd09') or None."""
    systems = {s for s in (_column_system(xc)[0], _column_system(yc)[0]) if s is not None}
    if len(systems) > 1:
        problems.add(
            f"the coordinate columns '{xc}' and '{yc}' are named after different coordinate systems "
            f"({' and '.join(_SYSTEM_NAMES[s] for s in sorted(systems))})",
            fix="name the columns of one system with lon_column= and lat_column=, and pass its crs=",
        )
        return None
    return systems.pop() if systems else None


def _check_degrees(
    x: np.ndarray,
    y: np.ndarray,
    index: pd.Index,
    *,
    problems: Problems,
    xname: str,
    yname: str,
    crs_name: str,
    names: pd.Series | None,
) -> bool:
    """Add problems for coordinates that cannot be degrees; True if all look fine."""
    if len(x) == 0:
        return True
    bad = (np.abs(x) > 180) | (np.abs(y) > 90)
    swapped_ok = (np.abs(y) <= 180) & (np.abs(x) <= 90)
    china_swapped = (x >= 3) & (x <= 54) & (y >= 73) & (y <= 136)
    if (bad.any() and swapped_ok[bad].all()) or china_swapped.all():
        rows = index[bad] if bad.any() else index
        problems.add(
            f"longitude and latitude look swapped: '{xname}' holds values like {x[0]:.4f} and "
            f"'{yname}' values like {y[0]:.4f} (longitudes in China are 73-135, latitudes 3-54) "
            f"in {_rows_with_names(rows, names)}",
            fix=f"swap the columns (pass lon_column='{yname}', lat_column='{xname}')",
        )
        return False
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems.add(
            f"coordinates in '{xname}'/'{yname}' look like projected metres (e.g. {x[i]:.1f}, {y[i]:.1f}), "
            f"not {crs_name} degrees, in {_rows_with_names(index[bad], names)}",
            fix="pass the projected CRS with crs= (e.g. crs='EPSG:3857' for Web Mercator, "
            "'EPSG:4547' for CGCS2000 / 3-degree Gauss-Kruger CM 114E, 'EPSG:32650' for UTM 50N)",
        )
        return False
    return True


def _points(
    df: pd.DataFrame,
    *,
    source: str,
    problems: Problems,
    crs: Any,
    lon_column: str | None,
    lat_column: str | None,
    x_column: str | None,
    y_column: str | None,
    names: pd.Series | None,
    what: str,
) -> tuple[gpd.GeoSeries | None, Any, list[Any]]:
    """Geometry from a geometry column or coordinate columns, not yet converted.

    Returns the geometries, the CRS to convert them from (None: their own label) and the
    coordinate columns used. Problems are collected, not raised.
    """
    parsed = _parse_crs(crs, source)
    cols = _columns(df)
    if lon_column is not None and x_column is not None:
        problems.add("both lon_column= and x_column= given", fix="pass only one of them")
        return None, None, []
    if lat_column is not None and y_column is not None:
        problems.add("both lat_column= and y_column= given", fix="pass only one of them")
        return None, None, []
    xc, yc = lon_column or x_column, lat_column or y_column
    explicit = xc is not None or yc is not None
    has_geom = (
        isinstance(df, gpd.GeoDataFrame)
        and df._geometry_column_name in df
        and bool((~(df.geometry.isna() | df.geometry.is_empty)).any())
    )
    if explicit:
        if xc is None or yc is None:
            problems.add(
                "only one coordinate column named",
                fix="pass both lon_column= and lat_column= (or x_column= and y_column=)",
            )
            return None, None, []
        missing = [c for c in (xc, yc) if c not in cols]
        if missing:
            problems.add(
                f"coordinate column(s) {_listing(missing)} not found (columns: {_listing(cols)})",
                fix="name the coordinate columns exactly as in the file",
            )
            return None, None, []
    elif has_geom:
        geoms = _check_geometry_points(
            df.geometry, parsed, problems=problems, names=names, what=what
        )
        return geoms, parsed, []
    else:
        xc = _find_coordinate_column(cols, _LON, _LON_WORDS)
        yc = _find_coordinate_column(cols, _LAT, _LAT_WORDS)
        if xc is None or yc is None:
            problems.add(
                f"no coordinates: found no longitude column ({', '.join(_LON[:6])}) and/or latitude "
                f"column ({', '.join(_LAT[:5])}) and no geometry; columns are {_listing(cols)}",
                fix="name them with lon_column= and lat_column= (or x_column=/y_column= with crs=)",
            )
            return None, None, []
    x = pd.to_numeric(df[xc], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    y = pd.to_numeric(df[yc], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = True
    for col, vals in ((xc, x), (yc, y)):
        bad = ~np.isfinite(vals)
        if bad.any():
            first = _example(df[col].to_numpy()[bad])
            problems.add(
                f"column '{col}' has missing or non-numeric values (e.g. {first}) in "
                f"{_rows_with_names(df.index[bad], names)}",
                fix="fill in numeric coordinates or remove those rows",
            )
            ok = False
    if not ok:
        return None, None, [xc, yc]
    named = _system_from_columns(xc, yc, source=source, problems=problems)
    if parsed is None and named in ("gcj02", "bd09"):
        # A web-map export read as WGS-84 would be ~500 m off (GCJ-02) or ~1 km (BD-09) with no
        # error anywhere: the column names are the only hint, so follow them and say so.
        warnings.warn(
            f"{source}: the coordinate columns '{xc}'/'{yc}' are named as {_SYSTEM_NAMES[named]} "
            f"coordinates, so they were converted from {_crs_name(named)} to WGS-84 (a shift of "
            f"several hundred metres). Fix: if they are WGS-84 after all, pass crs='wgs84'",
            InputWarning,
            stacklevel=3,
        )
        parsed = named
    elif named is not None and parsed is not None:
        given = "wgs84" if not isinstance(parsed, str) and parsed.equals(WGS84) else parsed
        if isinstance(given, str) and given != named:
            warnings.warn(
                f"{source}: the coordinate columns '{xc}'/'{yc}' are named as {_SYSTEM_NAMES[named]} "
                f"coordinates but crs={crs!r} was given; they were read as {_crs_name(parsed)}. Fix: "
                f"pass crs='{named}' if the names are right",
                InputWarning,
                stacklevel=3,
            )
    if parsed is None:
        parsed = WGS84
    if _is_degrees(parsed) and not _check_degrees(
        x,
        y,
        df.index,
        problems=problems,
        xname=str(xc),
        yname=str(yc),
        crs_name=_crs_name(parsed),
        names=names,
    ):
        return None, None, [xc, yc]
    return gpd.GeoSeries(gpd.points_from_xy(x, y), index=df.index), parsed, [xc, yc]


def _check_geometry_points(
    geoms: gpd.GeoSeries,
    parsed: Any,
    *,
    problems: Problems,
    names: pd.Series | None,
    what: str,
) -> gpd.GeoSeries | None:
    """Geometries that are present and, if the CRS is in degrees, plausible degrees."""
    empty = (geoms.isna() | geoms.is_empty).to_numpy()
    if empty.any():
        problems.add(
            f"missing or empty geometry in {_rows_with_names(geoms.index[empty], names)}",
            fix=f"give every {what} a location or remove those rows",
        )
        return None
    crs = parsed if parsed is not None else geoms.crs
    if crs is None:
        return geoms  # the conversion raises CRSError
    crs = crs if isinstance(crs, str) else pyproj.CRS.from_user_input(crs)
    if _is_degrees(crs):
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms.to_numpy()))
        if not _check_degrees(
            pts[:, 0],
            pts[:, 1],
            geoms.index,
            problems=problems,
            xname="x",
            yname="y",
            crs_name=_crs_name(crs),
            names=names,
        ):
            return None
    return geoms


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
    return f"{message}: {_rows_with_names(rows, names)}. Fix: {fix}"


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
    df, source = _read_table(
        path_or_frame, what="facilities", layer=layer, sheet=sheet, encoding=encoding
    )
    if len(df) == 0:
        raise InputError(f"{source}: no rows. Fix: give at least one facility.")
    problems = Problems(source)
    id_col = _require_column(problems, df, id_column, _ID, option="id_column", what="id")
    name_col = _require_column(problems, df, name_column, _NAME, option="name_column", what="name")
    type_col = _require_column(problems, df, type_column, _TYPE, option="type_column", what="type")
    tier_col = None
    if tier_column is not None:
        tier_col = _require_column(problems, df, tier_column, (), option="tier_column", what="tier")
    names = (
        _text_series(df[name_col])
        if name_col is not None
        else pd.Series("", index=df.index, dtype=str)
    )
    geoms, geom_crs, coord_cols = _points(
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

    # ids
    if id_col is not None:
        ids = pd.Series([_code_text(v) for v in df[id_col]], index=df.index, dtype=str)
        missing = ids == ""
        if missing.any():
            problems.add(
                f"column '{id_col}' has missing ids in {_rows_with_names(df.index[missing.to_numpy()], names)}",
                fix="give every facility an id (or remove the id column so that ids F1, F2 ... are generated)",
            )
        dup = ids[ids.duplicated(keep=False) & ~missing]
        if len(dup):
            problems.add(
                f"column '{id_col}' has duplicate ids {_listing(pd.unique(dup))} in {describe_rows(dup.index)}",
                fix="make the ids unique (or remove duplicated facilities)",
            )
    else:
        ids = pd.Series([f"F{i}" for i in range(1, len(df) + 1)], index=df.index, dtype=str)

    types = (
        _text_series(df[type_col])
        if type_col is not None
        else pd.Series("", index=df.index, dtype=str)
    )

    # tiers
    notes: list[str] = []  # warnings, given once the data are known to be readable
    if tier_map is not None:
        bad = {k: v for k, v in tier_map.items() if v not in TIERS}
        if bad:
            problems.add(
                f"tier_map maps to unknown tiers {_listing(bad.values())}",
                fix=f"map to one of {', '.join(TIERS)}",
            )
    if default_tier is not None and default_tier not in TIERS:
        problems.add(
            f"default_tier={default_tier!r} is not a tier", fix=f"use one of {', '.join(TIERS)}"
        )
        default_tier = None
    tmap = {} if tier_map is None else dict(tier_map)
    if tier_col is not None:
        raw = df[tier_col]
        tiers_list = []
        for v in raw:
            t = tmap.get(v, tmap.get(_text(v))) if tmap else None
            if t is None and default_tier is not None and _text(v) == "":
                t = default_tier
            if t is None:
                key = re.sub(r"[\s\-]+", "_", _text(v).lower())
                t = _TIER_ALIASES.get(key, f"?{_text(v)}")
            tiers_list.append(t)
        tiers = pd.Series(tiers_list, index=df.index, dtype=str)
        unknown = tiers.str.startswith("?")
        if unknown.any():
            problems.add(
                f"column '{tier_col}' has values that are not tiers: "
                f"{_listing(pd.unique(tiers[unknown].str[1:]))} in {describe_rows(df.index[unknown.to_numpy()])}",
                fix=f"use one of {', '.join(TIERS)} or pass tier_map={{value: tier}}",
            )
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
            # unrecognised rows are the ones whose tier follows the default: they become 'other',
            # which counts toward no coverage, so they would vanish from the analysis unsaid
            other_default = classify_tier(types.to_numpy(), names.to_numpy(), default="hospital")
            unknown = (
                (tiers == "other").to_numpy()
                & (other_default == "hospital")
                & mapped.isna().to_numpy()
            )
            unknown &= ~vet_rows  # reported below as what they are
            if unknown.any():
                kinds = pd.unique(types[unknown])
                example = next((k for k in kinds if k), None)
                notes.append(
                    _row_note(
                        f"{source}: {int(unknown.sum())} facilities have a type"
                        + (f" ({_listing(kinds, 6)})" if example else " (none given)")
                        + " and a name that planner does not recognise; they get tier 'other', which "
                        "counts toward no coverage",
                        df.index[unknown],
                        names,
                        (
                            f"map their types to tiers with tier_map={{'{example}': 'village_clinic'}} "
                            if example
                            else "name their type with type_column= or their tier with tier_column= "
                        )
                        + f"(tiers: {', '.join(TIERS)}), or pass default_tier= for a file of one kind",
                    )
                )
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
        _sheets_hint(path_or_frame, sheet, problems, lon=_LON, lat=_LAT)
    problems.raise_if_any()
    for note in notes:
        warnings.warn(note, InputWarning, stacklevel=2)
    assert geoms is not None
    geometry = _to_points(_geoseries_to_wgs84(geoms, geom_crs, source), source=source, names=names)
    rest = _rest(
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
            f"Fix: check the CRS ({_CRS_FIX})."
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
            f"missing or empty geometry in {_rows_with_names(gdf.index[empty], names)}",
            fix="give every unit a polygon or remove those rows",
        )
    types = shapely.get_type_id(geoms.to_numpy())
    wrong = ~empty & ~np.isin(types, (3, 6, 7))
    if wrong.any():
        kinds = sorted(set(geoms[wrong].geom_type))
        problems.add(
            f"geometries are {', '.join(kinds)}, not polygons, in {_rows_with_names(gdf.index[wrong], names)}",
            fix="use polygon boundaries (or remove those rows)",
        )
    if problems:
        return None
    parsed = _parse_crs(crs, source)
    if (
        parsed is not None
        and _is_degrees(parsed)
        or (parsed is None and geoms.crs is not None and geoms.crs.is_geographic)
    ):
        b = geoms.total_bounds
        if abs(b[0]) > 180 or abs(b[2]) > 180 or abs(b[1]) > 90 or abs(b[3]) > 90:
            problems.add(
                f"coordinates look like projected metres (bounds {b.round(1).tolist()}), not degrees",
                fix="pass the projected CRS with crs= (e.g. crs='EPSG:3857')",
            )
            return None
    out = _geoseries_to_wgs84(geoms, parsed, source)
    values = shapely.force_2d(out.to_numpy())
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        values = values.copy()
        values[invalid] = _polygonal(shapely.make_valid(values[invalid]))
        logger.debug("%s: repaired %d invalid polygons with make_valid", source, int(invalid.sum()))
        still_bad = invalid & ~np.isin(shapely.get_type_id(values), (3, 6))
        if still_bad.any():
            problems.add(
                f"geometry could not be repaired into polygons in {_rows_with_names(gdf.index[still_bad], names)}",
                fix="fix those polygons in a GIS",
            )
            return None
    return gpd.GeoSeries(values, index=gdf.index, crs=WGS84)


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
    df, source = _read_table(path_or_frame, what="boundaries", layer=layer, encoding=encoding)
    if not isinstance(df, gpd.GeoDataFrame) or df._geometry_column_name not in df:
        raise InputError(
            f"{source}: has no geometry. Fix: use a polygon file (shapefile, GeoPackage, GeoJSON) "
            "or a GeoDataFrame."
        )
    if len(df) == 0:
        raise InputError(f"{source}: no rows. Fix: give at least one administrative unit.")
    problems = Problems(source)
    cols = _columns(df)
    code_col = _require_column(problems, df, code_column, _CODE, option="code_column", what="code")
    if code_column is None and code_col is None:
        problems.add(
            f"no administrative code column (looked for {', '.join(_CODE[:5])}; columns are {_listing(cols)})",
            fix="name it with code_column=",
        )
    name_col = _require_column(
        problems, df, name_column, _ADMIN_NAME, option="name_column", what="name"
    )
    level_col = _require_column(
        problems, df, level_column, _LEVEL, option="level_column", what="level"
    )
    parent_col = _require_column(
        problems, df, parent_column, _PARENT, option="parent_column", what="parent code"
    )
    if problems:
        problems.raise_if_any()

    # names: one column, or the finest of hierarchical columns (city/district files)
    hier_cols: list[Any] = []
    if name_col is not None:
        names = _text_series(df[name_col])
    else:
        hier_cols = [c for h in _HIER_NAMES if (c := find_column(cols, None, (h,))) is not None]
        names = pd.Series("", index=df.index, dtype=str)
        for c in reversed(hier_cols):  # coarse first, finer ones overwrite
            vals = _text_series(df[c])
            names = names.where(vals == "", vals)

    codes = pd.Series([_code_text(v) for v in df[code_col]], index=df.index, dtype=str)
    missing = (codes == "").to_numpy()
    if missing.any():
        problems.add(
            f"column '{code_col}' has missing codes in {_rows_with_names(df.index[missing], names)}",
            fix="fill in the administrative codes",
        )
    dup = codes[codes.duplicated(keep=False) & ~missing]
    if len(dup):
        problems.add(
            f"column '{code_col}' has duplicate codes {_listing(pd.unique(dup))} in {describe_rows(dup.index)}",
            fix="dissolve the rows of each unit into one (GeoDataFrame.dissolve(by=...)) or fix the codes",
        )

    # levels
    levels = []
    unknown: list[str] = []
    unresolved = []
    raw_levels = (
        df[level_col] if level_col is not None else pd.Series(None, index=df.index, dtype=object)
    )
    for label, raw, code, name in zip(df.index, raw_levels, codes, names, strict=True):
        text = _text(raw)
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
            f"column '{level_col}' has unknown levels {_listing(pd.unique(pd.Series(unknown)))}",
            fix="use county/township/village (or 区县/乡镇/村), province or city",
        )
    elif unresolved:
        problems.add(
            f"cannot tell the level of {_rows_with_names(unresolved, names)} from a level column, "
            "the code length or the name",
            fix="pass level_column= naming a column with county/township/village",
        )
    levels_s = pd.Series(levels, index=df.index, dtype=str)
    kinds = pd.Series(
        [_kind(n, lv) for n, lv in zip(names, levels, strict=True)], index=df.index, dtype=str
    )
    kind_col = find_column(cols, None, ("kind",))
    if kind_col is not None:
        given = _text_series(df[kind_col]).str.lower()
        if given.isin(_KINDS).all():
            kinds = kinds.where(given == "", given)
        else:
            kind_col = None  # not our kinds: kept as 'kind_source'

    if parent_col is not None:
        parents = pd.Series([_code_text(v) for v in df[parent_col]], index=df.index, dtype=str)
    else:
        parents = pd.Series("", index=df.index, dtype=str)
    derived = pd.Series([_parent_from_code(c) for c in codes], index=df.index, dtype=str)
    parents = parents.where(parents != "", derived)

    geometry = _polygon_geometry(df, source=source, crs=crs, problems=problems, names=names)
    problems.raise_if_any()
    assert geometry is not None
    used = [code_col, name_col, level_col, parent_col, kind_col, *hier_cols]
    rest = _rest(df, used, ("admin_code", "admin_name", "level", "kind", "parent_code"))
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
                        f"{option}={{{g!r}: {col!r}}}: no column {col!r}; columns are {_listing(cols)}",
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
            fpath = require_file(f, what=f"population group {g!r}", suffixes=_RASTER_SUFFIXES)
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
        parsed = _parse_crs(crs, source)
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
        taken as groups.

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
            suffixes=_RASTER_SUFFIXES + _VECTOR_SUFFIXES + _TABLE_SUFFIXES + _PARQUET_SUFFIXES,
        )
        if _suffix_of(path, _RASTER_SUFFIXES):
            out = _raster_population(path, crs=crs, band=band, source=str(path))
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
    df, source = _read_table(path_or_frame, what="population", layer=layer, encoding=encoding)
    if len(df) == 0:
        raise InputError(f"{source}: no rows. Fix: give at least one populated area or point.")
    problems = Problems(source)
    cols = _columns(df)
    pop_col = _require_column(problems, df, column, _POP, option="column", what="population")
    if column is None and pop_col is None:
        problems.add(
            f"no population column (looked for {', '.join(_POP[:5])}; columns are {_listing(cols)})",
            fix="name it with column=",
        )
    pop = None
    if pop_col is not None:
        pop_s = pd.to_numeric(df[pop_col], errors="coerce")
        pop = pop_s.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(pop)
        if bad.any():
            first = _example(df[pop_col].to_numpy()[bad])
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
    group_cols = find_group_columns(
        cols, groups, exclude=[pop_col] if pop_col is not None else [], problems=problems
    )
    gvals = (
        group_values(df, group_cols, pop, problems=problems, source=source) if group_cols else None
    )
    geoms, geom_crs, coord_cols = _points(
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
    if geoms is not None:
        types = shapely.get_type_id(geoms.to_numpy())
        wrong = ~np.isin(types, (0, 3, 4, 6))
        if wrong.any():
            problems.add(
                f"geometries are {', '.join(sorted(set(geoms[wrong].geom_type)))}, not polygons or points, "
                f"in {describe_rows(df.index[wrong])}",
                fix="use residential polygons, points or a raster",
            )
    problems.raise_if_any()
    assert geoms is not None and pop is not None
    wgs = _geoseries_to_wgs84(geoms, geom_crs, source)
    positive = pop > 0
    if not positive.any():
        raise InputError(
            f"{source}: every value of '{pop_col}' is 0. Fix: check the population column."
        )
    if gvals is not None and (gvals[~positive] > 0).any():
        lost = gvals[~positive].sum(axis=0)
        warnings.warn(
            f"{source}: rows with population 0 hold residents of groups ("
            + ", ".join(f"{g}: {v:,.0f}" for g, v in zip(group_cols, lost, strict=True) if v > 0)
            + ") that are left out with them. Fix: check the population column of those rows",
            InputWarning,
            stacklevel=2,
        )
    values = shapely.force_2d(wgs.to_numpy())[positive]
    pop = pop[positive]
    if gvals is not None:
        gvals = gvals[positive]
    labels = df.index[positive]
    group_names = [
        f"pop_{g}" for g in group_cols
    ]  # output names: a source column of that name is renamed
    rest = _rest(
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

_DROP_HIGHWAY = frozenset(
    {
        "proposed",
        "construction",
        "abandoned",
        "platform",
        "bus_stop",
        "rest_area",
        "services",
        "raceway",
        "elevator",
        "corridor",
        "planned",
        "disused",
        "razed",
        "demolished",
        "dismantled",
        "no",
        "none",
        "emergency_access_point",
        "traffic_signals",
        "stop",
        "give_way",
        "street_lamp",
        "turning_circle",
        "turning_loop",
        "mini_roundabout",
        "motorway_junction",
        "speed_camera",
    }
)
OSM_CLASSES = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
        "living_street",
        "service",
        "pedestrian",
        "track",
        "bus_guideway",
        "escape",
        "road",
        "busway",
        "footway",
        "bridleway",
        "steps",
        "path",
        "cycleway",
        "sidewalk",
        "crossing",
    }
)
"""OSM ``highway`` values that vector road classes may be given as directly."""

CHINESE_CLASSES: dict[str, str] = {
    "高速公路": "motorway",
    "高速": "motorway",
    "国道": "trunk",
    "省道": "primary",
    "县道": "secondary",
    "乡道": "tertiary",
    "村道": "unclassified",
    "专用公路": "unclassified",
    "快速路": "trunk",
    "城市快速路": "trunk",
    "主干路": "primary",
    "主干道": "primary",
    "次干路": "secondary",
    "次干道": "secondary",
    "支路": "residential",
    "辅路": "tertiary",
    "匝道": "motorway_link",
    "步行街": "pedestrian",
    "人行道": "footway",
    "机耕路": "track",
    "一级公路": "primary",
    "二级公路": "secondary",
    "三级公路": "tertiary",
    "四级公路": "unclassified",
    "等外公路": "track",
    "小路": "path",
    "内部道路": "service",
}
"""Chinese road class names and their OSM ``highway`` equivalents."""

CHANGSHA_SUBTYPES: dict[str, str] = {
    "20101": "trunk",  # national road (107国道, 319国道)
    "20102": "motorway",  # expressway (京珠高速公路 ...)
    "20103": "trunk",  # urban expressway / ring road (中环路, 外环路)
    "20104": "primary",  # arterial (五一大道, 芙蓉北路 ...)
    "20105": "secondary",  # secondary road
    "20106": "tertiary",  # roundabout (环岛)
    "20108": "primary",  # bridge (湘江大桥, 浏阳河大桥)
    "20109": "primary_link",  # interchange (立交桥)
    "20110": "trunk",  # elevated road (东风高架桥)
    "20111": "motorway_link",  # ramp (中环路出口/入口)
    "20112": "tertiary",  # auxiliary / side road (辅路)
    "20113": "unclassified",  # unnamed, 4 segments
    "20199": "residential",  # other / branch roads
}
"""Road ``subtype`` codes of the Changsha HiAccess data (and Chinese data built the same way).

Derived from the road names in ``changsha/roads.*``: each code's most frequent names are given in
the comments. They are not the codes of a published national standard, so other data with
five-digit codes should pass ``class_map=``.
"""

_CLASS_CANDIDATES = (
    "highway",
    "fclass",
    "class",
    "type",
    "subtype",
    "road_class",
    "roadclass",
    "等级",
    "道路等级",
    "道路类型",
    "kind",
)
_DIRECTION_CANDIDATES = ("oneway", "direction", "dir", "方向", "单行")
_SPEED_CANDIDATES = ("maxspeed", "maxspeed_kmh", "speed_kmh", "speed", "限速", "设计速度")
_ROAD_NAME_CANDIDATES = ("name", "名称", "road_name", "路名", "道路名称", "roadname")

CHANGSHA_DIRECTIONS: dict[str, int] = {"0": 0, "1": 1, "2": 1, "3": 0}
"""Numeric ``direction`` codes of the Changsha HiAccess roads (the default for numbers).

1 and 2 are both one-way **along** the digitised direction (the two carriageways of a divided
road: one is coded 1, its partner 2), 3 (and 0) both ways. Measured on ``changsha/roads.*``: the
9 roundabouts are digitised counter-clockwise under both codes, and 667 of 684 paired one-way
carriageways have their partner on their left, as right-hand traffic needs. Data whose 2 means
"against the digitised direction" pass ``direction_map={1: 1, 2: -1, 3: 0}`` to
:func:`read_roads`.
"""

_DIRECTION_DEFAULT = {
    **CHANGSHA_DIRECTIONS,
    "-1": -1,
    "yes": 1,
    "true": 1,
    "no": 0,
    "false": 0,
    "reverse": -1,
    "both": 0,
    "": 0,
    "ft": 1,
    "tf": -1,
    "b": 0,
    "f": 1,
    "t": -1,
}


def _class_key(value: Any) -> str | None:
    if _is_missing(value):
        return None
    text = _text(value)
    return text.lower() if text.isascii() else text


def _default_class(key: str) -> str | None:
    if key in OSM_CLASSES:
        return key
    if key.startswith("track_grade"):  # Geofabrik shapefiles
        return "track"
    if key == "unknown":
        return "road"
    return CHINESE_CLASSES.get(key) or CHANGSHA_SUBTYPES.get(key)


def _map_classes(
    series: pd.Series, class_map: Mapping[Any, str] | None
) -> tuple[list[str | None], int]:
    """Mapped OSM classes (None where unmapped or missing) and the number of mapped values."""
    user = dict(class_map or {})
    user_keys = {_class_key(k): v for k, v in user.items()}
    cache: dict[Any, str | None] = {}
    out: list[str | None] = []
    n_ok = 0
    for v in series:
        try:
            hit = cache[v]
        except (KeyError, TypeError):
            key = _class_key(v)
            if key is None:
                hit = None
            else:
                hit = user.get(v) if _hashable(v) and v in user else user_keys.get(key)
                if hit is None:
                    hit = _default_class(key)
            if _hashable(v):
                cache[v] = hit
        out.append(hit)
        n_ok += hit is not None
    return out, n_ok


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


_MPH = 1.609344
_KNOT = 1.852
_SPEED_RE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|km|mph|knots|kn)?$")
_ZONE_RE = re.compile(r"^(?:[a-z]{2}:)?(?:zone|urban_zone)?:?(\d+)$")
# Implicit limits ("CC:zone") in km/h. CN values follow the Road Traffic Safety Law
# implementation regulations art. 45 for roads with one lane per direction (30/40 km/h
# apply where there is no centre line): approximate, as every implicit limit is.
_IMPLICIT_SPEEDS = {
    "cn:urban": 50.0,
    "cn:rural": 70.0,
    "cn:motorway": 120.0,
    "cn:expressway": 120.0,
    "ru:urban": 60.0,
    "ru:rural": 90.0,
    "ru:motorway": 110.0,
    "ru:living_street": 20.0,
    "de:urban": 50.0,
    "de:rural": 100.0,
    "de:living_street": 7.0,
    "de:bicycle_road": 30.0,
    "fi:urban": 50.0,
    "fi:rural": 80.0,
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:motorway": 130.0,
    "gb:nsl_single": 60 * _MPH,
    "gb:nsl_dual": 70 * _MPH,
    "gb:motorway": 70 * _MPH,
    "it:urban": 50.0,
    "it:rural": 90.0,
    "it:motorway": 130.0,
    "at:urban": 50.0,
    "at:rural": 100.0,
    "ch:urban": 50.0,
    "ch:rural": 80.0,
    "ch:motorway": 120.0,
}
_GENERIC_ZONES = {"urban": 50.0, "living_street": 20.0, "walk": 5.0, "pedestrian": 5.0}


def parse_maxspeed(value: Any) -> float:
    """OSM ``maxspeed`` text to km/h (NaN if unknown).

    Handles ``"60"``, ``"60 km/h"``, ``"30 mph"``, ``"10 knots"``, ``"CN:urban"`` and other
    implicit country limits, ``"DE:zone30"``, ``"walk"``, and several values (``"60;80"``: the
    lowest). ``"none"``, ``"signals"``, ``"variable"`` give NaN.

    Examples
    --------
    >>> parse_maxspeed("30 mph"), parse_maxspeed("CN:urban"), parse_maxspeed("signals")
    (48.28032, 50.0, nan)
    """
    if _is_missing(value):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return v if v > 0 else math.nan
    text = str(value).strip().lower()
    if not text:
        return math.nan
    if ";" in text or "|" in text:
        speeds = [parse_maxspeed(p) for p in re.split(r"[;|]", text)]
        finite = [s for s in speeds if not math.isnan(s)]
        return min(finite) if finite else math.nan
    m = _SPEED_RE.match(text)
    if m:
        v = float(m.group(1).replace(",", "."))
        unit = m.group(2)
        if unit == "mph":
            v *= _MPH
        elif unit in ("knots", "kn"):
            v *= _KNOT
        return v if v > 0 else math.nan
    if text in _IMPLICIT_SPEEDS:
        return _IMPLICIT_SPEEDS[text]
    m = _ZONE_RE.match(text)
    if m:
        return float(m.group(1))
    zone = text.split(":", 1)[-1]
    return _GENERIC_ZONES.get(zone, math.nan)


def _osm_oneway(oneway: str | None, junction: str | None) -> int:
    if oneway:
        v = oneway.strip().lower()
        if v in ("yes", "true", "1"):
            return 1
        if v in ("-1", "reverse"):
            return -1
        if v in ("no", "false", "0"):
            return 0
    if junction in ("roundabout", "circular"):
        return 1
    return 0


_XML_DANGER = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _guard_xml(path: Path, suffix: str, source: str) -> None:
    """Refuse OSM XML with DTDs/entity declarations (XML bombs) before parsing."""
    if suffix in (".osm.pbf", ".pbf"):
        return
    opener: Callable[..., Any] = open
    if suffix == ".osm.gz":
        opener = gzip.open
    elif suffix == ".osm.bz2":
        opener = bz2.open
    tail = b""
    try:
        with opener(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                if _XML_DANGER.search(tail + chunk):
                    raise InputError(
                        f"{source}: the OSM XML contains a <!DOCTYPE> or <!ENTITY> declaration, which "
                        "OpenStreetMap files never need and which can be used for entity-expansion "
                        "attacks. Fix: export the data again (e.g. osmium cat file.osm -o file.osm.pbf) "
                        "or remove the declaration."
                    )
                tail = chunk[-16:]
    except (OSError, EOFError) as exc:
        raise InputFileError(
            f"{source}: cannot read the file ({exc}). Fix: check that it is a valid OSM file."
        ) from None


#: OSM tags kept as columns of :func:`read_roads`: the access tags the travel modes read (see
#: :func:`planner.network.usable_roads`) and ``service``. Missing tags are "".
OSM_ACCESS_TAGS = ("access", "foot", "bicycle", "vehicle", "motor_vehicle", "motorcar", "service")


def _read_osm(path: Path, suffix: str, *, source: str) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    import osmium

    _guard_xml(path, suffix, source)
    factory = osmium.geom.WKBFactory()
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    osm_ids: list[int] = []
    highways: list[str] = []
    oneways: list[int] = []
    speeds: list[float] = []
    names: list[str] = []
    tag_values: dict[str, list[str]] = {k: [] for k in OSM_ACCESS_TAGS}
    # OSM node id of every vertex of every line, flat (lines in order): the network joins lines
    # at shared node ids, never at coordinates alone (two nodes at one position on different
    # levels, e.g. footways stacked in a tunnel, are no junction)
    node_refs: list[int] = []
    n_vertices: list[int] = []
    wkbs: list[str] = []
    wkb_pos: list[int] = []
    cut_coords: list[tuple[float, float]] = []
    cut_index: list[int] = []
    cut_pos: list[int] = []
    speed_cache: dict[str | None, float] = {}
    stats = {
        "ways": 0,
        "dropped": 0,
        "cut_ways": 0,
        "outside": 0,
        "missing_nodes": 0,
        "degenerate": 0,
    }

    def add(way_id: int, tags: Any) -> None:
        osm_ids.append(way_id)
        highways.append(tags.get("highway"))
        oneways.append(_osm_oneway(tags.get("oneway"), tags.get("junction")))
        ms = tags.get("maxspeed")
        if ms not in speed_cache:
            speed_cache[ms] = parse_maxspeed(ms)
        speeds.append(speed_cache[ms])
        names.append(tags.get("name") or tags.get("name:zh") or tags.get("ref") or "")
        for k, values in tag_values.items():
            values.append(tags.get(k) or "")

    try:
        for obj in fp:
            way: Any = obj  # only ways pass the EntityFilter
            stats["ways"] += 1
            tags = way.tags
            if tags.get("highway") in _DROP_HIGHWAY or tags.get("area") == "yes":
                stats["dropped"] += 1
                continue
            try:
                wkb = factory.create_linestring(way)
            except (osmium.InvalidLocationError, RuntimeError):
                wkb = None  # missing nodes inside the way, or fewer than two points
            if wkb is not None:
                # libosmium silently skips missing nodes at the ends of a way and repeated
                # locations: when points were skipped, look at the nodes ourselves (rare).
                order: Literal["little", "big"] = "little" if wkb[:2] == "01" else "big"
                n_pts = int.from_bytes(bytes.fromhex(wkb[10:18]), order)
                if n_pts == len(way.nodes):
                    wkb_pos.append(len(osm_ids))
                    wkbs.append(wkb)
                    node_refs.extend([nd.ref for nd in way.nodes])
                    n_vertices.append(n_pts)
                    add(way.id, tags)
                    continue
            runs: list[list[tuple[float, float]]] = [[]]
            run_refs: list[list[int]] = [[]]
            missing = 0
            for nd in way.nodes:
                loc = nd.location
                if loc.valid():
                    pt = (loc.lon, loc.lat)
                    # a repeated position is one vertex: it keeps its first node id
                    if not runs[-1] or runs[-1][-1] != pt:
                        runs[-1].append(pt)
                        run_refs[-1].append(nd.ref)
                else:
                    missing += 1
                    if runs[-1]:
                        runs.append([])
                        run_refs.append([])
            kept = [(r, ids) for r, ids in zip(runs, run_refs, strict=True) if len(r) >= 2]
            if missing:
                stats["missing_nodes"] += missing
                stats["cut_ways" if kept else "outside"] += 1
            elif not kept:
                stats["degenerate"] += 1
            for run, ids in kept:
                cut_pos.append(len(osm_ids))
                cut_coords.extend(run)
                cut_index.extend([len(cut_pos) - 1] * len(run))
                node_refs.extend(ids)
                n_vertices.append(len(ids))
                add(way.id, tags)
    except RuntimeError as exc:
        raise InputFileError(
            f"{source}: cannot read the OSM file ({exc}). Fix: check that it is a valid .osm/.pbf file."
        ) from None

    geoms = np.empty(len(osm_ids), dtype=object)
    if wkbs:
        geoms[np.asarray(wkb_pos)] = shapely.from_wkb(wkbs)
    if cut_pos:
        geoms[np.asarray(cut_pos)] = shapely.linestrings(
            np.asarray(cut_coords), indices=np.asarray(cut_index)
        )
    # one int64 array per line, all views of one flat array (no per-line allocation)
    flat_refs = np.asarray(node_refs, dtype=np.int64)
    node_ids = np.empty(len(osm_ids), dtype=object)
    for i, line_ids in enumerate(
        np.split(flat_refs, np.cumsum(n_vertices)[:-1]) if n_vertices else []
    ):
        node_ids[i] = line_ids  # item by item: a list of equal-length arrays would broadcast as 2-D
    gdf = gpd.GeoDataFrame(
        {
            "osm_id": np.asarray(osm_ids, dtype=np.int64),
            "highway": pd.Series(highways, dtype=str),
            "oneway": np.asarray(oneways, dtype=np.int8),
            "maxspeed_kmh": np.asarray(speeds, dtype=float),
            "name": pd.Series(names, dtype=str),
            **{k: pd.Series(v, dtype=str) for k, v in tag_values.items()},
            "node_ids": node_ids,
        },
        geometry=geoms,
        crs=WGS84,
    )
    return gdf, stats


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
    return b  # type: ignore[return-value]


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
    p = require_file(path, what="roads", suffixes=_OSM_SUFFIXES + _VECTOR_SUFFIXES)
    source = str(p)
    box = _check_bbox(bbox)
    osm_suffix = _suffix_of(p, _OSM_SUFFIXES)
    if osm_suffix:
        gdf, stats = _read_osm(p, osm_suffix, source=source)
        if class_map:
            mapped, _ = _map_classes(gdf["highway"], class_map)
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
    parsed = _parse_crs(crs, source)
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
    df = _read_vector(path, layer=layer, encoding=encoding, bbox=file_bbox, source=source)
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
    cols = _columns(df)

    # class
    class_col = (
        _require_column(problems, df, class_column, (), option="class_column", what="road class")
        if class_column
        else None
    )
    if class_column is None:
        best: tuple[float, Any] = (0.0, None)
        for cand in _CLASS_CANDIDATES:
            c = find_column(cols, None, (cand,))
            if c is None or c == best[1]:
                continue
            present = df[c].dropna()
            if present.empty:
                continue
            _, n_ok = _map_classes(present, class_map)
            share = n_ok / len(present)
            if share == 1.0:
                best = (share, c)
                break
            if share > best[0]:
                best = (share, c)
        class_col = best[1]
    if class_col is not None and class_col in df:
        mapped, _ = _map_classes(df[class_col], class_map)
        classes = pd.Series(mapped, index=df.index, dtype=object)
        bad = classes.isna().to_numpy()
        if bad.any():
            if default_class is not None:
                classes = classes.where(~bad, default_class)
            else:
                raw = df[class_col][bad]
                counts = raw.map(_text).value_counts()
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
            f"no road class column recognised (looked for {', '.join(_CLASS_CANDIDATES[:7])}; columns are {_listing(cols)})",
            fix="pass class_column= (with class_map= if its values are not OSM/Chinese classes) or default_class=",
        )
        classes = pd.Series(None, index=df.index, dtype=object)

    # direction
    dir_col = _require_column(
        problems,
        df,
        direction_column,
        _DIRECTION_CANDIDATES,
        option="direction_column",
        what="direction",
    )
    if dir_col is not None:
        oneway, unmapped = _map_direction(df[dir_col], direction_map)
        if unmapped:
            problems.add(
                f"column '{dir_col}' has direction values that are not understood: {_listing(unmapped)}",
                fix="pass direction_map={value: 1 (one-way along the line), -1 (against it) or 0 (both ways)}",
            )
        if direction_map is not None:
            wrong_vals = sorted({v for v in direction_map.values() if v not in (-1, 0, 1)}, key=str)
            if wrong_vals:
                problems.add(
                    f"direction_map has values {_listing(wrong_vals)}", fix="map to 1, 0 or -1"
                )
    else:
        oneway = np.zeros(len(df), dtype=np.int8)
        notes.append("no direction column: every road two-way")

    speed_col = _require_column(
        problems, df, speed_column, _SPEED_CANDIDATES, option="speed_column", what="speed"
    )
    name_col = _require_column(
        problems, df, name_column, _ROAD_NAME_CANDIDATES, option="name_column", what="name"
    )
    problems.raise_if_any()

    if speed_col is not None:
        speed = np.asarray([parse_maxspeed(v) for v in df[speed_col]], dtype=float)
    else:
        speed = np.full(len(df), np.nan)
    names = (
        _text_series(df[name_col])
        if name_col is not None
        else pd.Series("", index=df.index, dtype=str)
    )
    rest = _rest(
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
    geometry = _geoseries_to_wgs84(frame.geometry, parsed, source)
    frame = frame.set_geometry(shapely.force_2d(geometry.to_numpy()), crs=WGS84)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    notes.append(
        f"class from '{class_col}'" if class_col is not None else f"class '{default_class}'"
    )
    if dir_col is not None:
        note = f"direction from '{dir_col}'"
        codes = (
            {_class_key(v) for v in pd.unique(df[dir_col].dropna())}
            if direction_map is None
            else set()
        )
        if codes & {"1", "2"} and codes <= set(_DIRECTION_DEFAULT):
            # supplier codes are not universal: say how numbers were read, and how to change it
            note += " (numeric codes: 1 and 2 one-way along the line, 3 both ways; other codings: pass direction_map=)"
        notes.append(note)
    return frame, ", ".join(notes)


def _map_direction(
    series: pd.Series, direction_map: Mapping[Any, int] | None
) -> tuple[np.ndarray, list[str]]:
    keys = [_class_key(v) for v in series]
    present = {k for k in keys if k is not None}
    defaults = dict(_DIRECTION_DEFAULT)
    if present and present <= {"t", "f"}:  # a true/false flag, not HERE's T/F/B
        defaults.update({"t": 1, "f": 0})
    user = dict(direction_map or {})
    user_keys = {_class_key(k): v for k, v in user.items()}
    out = np.zeros(len(keys), dtype=np.int8)
    unmapped: dict[str, None] = {}
    for i, (raw, key) in enumerate(zip(series, keys, strict=True)):
        if _hashable(raw) and raw in user:
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
            "highway": pd.Series([_text(_first(v)) or "road" for v in col("highway")], dtype=str),
            "oneway": np.asarray(oneway, dtype=np.int8),
            "maxspeed_kmh": np.asarray([speed(v) for v in col("maxspeed")], dtype=float),
            "name": pd.Series([_text(_first(v)) for v in col("name")], dtype=str),
            # access tags osmnx kept (by default access and service; foot, bicycle ... when
            # added to its useful_tags_way), read by the travel modes as for OSM files
            **{
                tag: pd.Series([_text(_first(v)) for v in col(tag)], dtype=str)
                for tag in OSM_ACCESS_TAGS
            },
        },
        geometry=shapely.force_2d(edges.geometry.to_numpy()),
        crs=edges.crs or WGS84,
    )
    if not out.crs.equals(WGS84):
        out = out.to_crs(WGS84)
    return out.reset_index(drop=True)
