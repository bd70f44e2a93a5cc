"""Reading any vector file or table: format sniffing, text encoding (GBK/UTF-8), CRS.

Internal to :mod:`planner.load` (which re-exports the public names); the names here without a
leading underscore are documented internal helpers shared with :mod:`planner.load` and
:mod:`planner._osm`.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import _chinacrs
from ._errors import CRSError, InputError, InputFileError, InputWarning
from ._validate import Problems, describe_rows, find_column, require_file

logger = logging.getLogger("planner.load")

WGS84 = pyproj.CRS.from_epsg(4326)

OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".osm.xml")
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
RASTER_SUFFIXES = (".tif", ".tiff")
PARQUET_SUFFIXES = (".parquet", ".geoparquet")

# --- small helpers ---------------------------------------------------------------------------


def suffix_of(path: Path, suffixes: Sequence[str]) -> str | None:
    name = path.name.lower()
    for s in sorted(suffixes, key=len, reverse=True):
        if name.endswith(s):
            return s
    return None


def data_columns(df: pd.DataFrame) -> list[Any]:
    geom = (
        df.geometry.name
        if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df
        else None
    )
    return [c for c in df.columns if c != geom]


def listing(values: Iterable[Any], limit: int = 12) -> str:
    vals = [repr(v) if not isinstance(v, str) else f"'{v}'" for v in values]
    more = len(vals) - limit
    return ", ".join(vals[:limit]) + (f" and {more} more" if more > 0 else "")


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def cell_text(value: Any) -> str:
    """A value as stripped text ('' for missing; integral numbers without '.0')."""
    if is_missing(value):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    return str(value).strip()


def text_series(values: pd.Series) -> pd.Series:
    return pd.Series([cell_text(v) for v in values], index=values.index, dtype=str)


_ADCODE_IN_JSON = re.compile(r'"adcode"\s*:\s*"?(\d+)')


def code_text(value: Any) -> str:
    """An administrative/facility code as text: 410202 and 410202.0 -> '410202'."""
    text = cell_text(value)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    m = _ADCODE_IN_JSON.search(text)  # DataV boundaries store parent as {"adcode": 410000}
    return m.group(1) if m else text


def first_example(values: Iterable[Any]) -> str:
    """An offending value for messages: the first one present, else 'empty'."""
    for v in values:
        if not is_missing(v) and str(v).strip():
            return repr(v)
    return "empty"


def _source_label(path_or_frame: Any, what: str) -> str:
    if isinstance(path_or_frame, (str, Path)):
        return str(path_or_frame)
    return f"{what} ({type(path_or_frame).__name__} argument)"


def rows_with_names(index: Iterable[Any], names: pd.Series | None) -> str:
    rows = list(index)
    text = describe_rows(rows)
    if names is not None and rows:
        shown = [f"'{names.loc[r]}'" for r in rows[:3] if cell_text(names.loc[r])]
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

CRS_FIX = "pass crs='wgs84', 'gcj02', 'bd09', 'EPSG:<code>' or a pyproj.CRS"


def parse_crs(crs: Any, source: str) -> str | pyproj.CRS | None:
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
            f"{source}: crs={crs!r} is not a known coordinate reference system ({exc}). Fix: {CRS_FIX}."
        ) from None


def is_degrees(crs: str | pyproj.CRS) -> bool:
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


def geoseries_to_wgs84(
    geoms: gpd.GeoSeries, crs: str | pyproj.CRS | None, source: str
) -> gpd.GeoSeries:
    if crs is None:
        if geoms.crs is None:
            raise CRSError(
                f"{source}: the data have no coordinate reference system. Fix: {CRS_FIX} "
                "(e.g. crs='EPSG:4326' for plain longitude/latitude, or add a .prj file)."
            )
        crs = geoms.crs
    if is_degrees(crs if isinstance(crs, str) else pyproj.CRS.from_user_input(crs)):
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
    parsed = parse_crs(crs, source)
    if isinstance(data, gpd.GeoDataFrame):
        out = data.copy()
        geoms = geoseries_to_wgs84(data.geometry, parsed, source)
        out[data.geometry.name] = geoms.to_numpy()
        return out.set_crs(WGS84, allow_override=True)
    if isinstance(data, gpd.GeoSeries):
        return geoseries_to_wgs84(data, parsed, source)
    if isinstance(data, shapely.Geometry):
        return geoseries_to_wgs84(gpd.GeoSeries([data]), parsed, source).iloc[0]
    return geoseries_to_wgs84(gpd.GeoSeries(list(data)), parsed, source).to_numpy()


# --- generic readers -------------------------------------------------------------------------


def _has_cpg(path: Path) -> bool:
    stem = path.with_suffix("")
    return any(stem.with_suffix(s).exists() for s in (".cpg", ".CPG", ".Cpg"))


def _pyogrio_read(path: Path, **kwargs: Any) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            frame = pyogrio.read_dataframe(path, **kwargs)
        for w in caught:  # GDAL's notes on the file (an unreadable geometry, ...): one line each
            if issubclass(w.category, RuntimeWarning):
                warnings.warn(f"{path}: {w.message}", InputWarning, stacklevel=3)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return frame
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


def read_vector(
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
            f"{source}: {exc}. Fix: pass sheet= one of {listing(_sheet_names(path))}."
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


def sheets_hint(
    path_or_frame: Any, sheet: Any, problems: Problems, *, lon: Sequence[str], lat: Sequence[str]
) -> None:
    """When a workbook's sheet lacked coordinates, name the sheets that have them."""
    if not isinstance(path_or_frame, (str, Path)):
        return
    path = Path(path_or_frame)
    if suffix_of(path, (".xlsx", ".xlsm")) is None:
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
        f"the workbook has {len(names)} sheets ({listing(names)}) and sheet '{read}' was read"
        + (f"; sheet {listing(with_coords)} has coordinate columns" if with_coords else ""),
        fix=f"pass sheet='{with_coords[0] if with_coords else names[1]}' to read another sheet",
    )


def read_table(
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
    suffixes = VECTOR_SUFFIXES + TABLE_SUFFIXES + PARQUET_SUFFIXES
    path = require_file(path_or_frame, what=what, suffixes=suffixes + (".xls",))
    suffix = suffix_of(path, suffixes + (".xls",))
    if suffix == ".xls":
        raise InputError(
            f"{source}: old Excel .xls files are not supported. Fix: save the sheet as .xlsx or .csv."
        )
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, encoding, source), source
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, sheet, source), source
    if suffix in PARQUET_SUFFIXES:
        try:
            return gpd.read_parquet(path), source
        except ValueError:
            return pd.read_parquet(path), source
    return read_vector(path, layer=layer, encoding=encoding, source=source), source


def unused_columns(df: pd.DataFrame, used: Iterable[Any], reserved: Iterable[str]) -> pd.DataFrame:
    """Source columns not consumed by a loader; names clashing with output columns get '_source'."""
    used_set = {c for c in used if c is not None}
    reserved_set = set(reserved)
    cols = [c for c in data_columns(df) if c not in used_set]
    rest = pd.DataFrame(df[cols]) if cols else pd.DataFrame(index=df.index)
    return rest.rename(columns={c: f"{c}_source" for c in cols if c in reserved_set})


def require_column(
    problems: Problems,
    df: pd.DataFrame,
    wanted: str | None,
    candidates: Sequence[str],
    *,
    option: str,
    what: str,
) -> str | None:
    """The column named by the option or auto-detected; adds a problem if the option names none."""
    col = find_column(data_columns(df), wanted, candidates)
    if wanted is not None and col is None:
        problems.add(
            f"{option}={wanted!r} is not a column (columns: {listing(data_columns(df))})",
            fix=f"name the {what} column exactly as in the file",
        )
    return col


# --- point geometry from tables --------------------------------------------------------------

LON = ("lon", "lng", "long", "longitude", "x", "经度", "wgs84_lon", "gcj02_lon", "bd09_lon")
LAT = ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj02_lat", "bd09_lat")
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
            f"in {rows_with_names(rows, names)}",
            fix=f"swap the columns (pass lon_column='{yname}', lat_column='{xname}')",
        )
        return False
    huge = (np.abs(x) > 1e8) | (np.abs(y) > 1e8)  # not metres either: the Earth is 4e7 m round
    if huge.any():
        i = int(np.flatnonzero(huge)[0])
        problems.add(
            f"'{xname}'/'{yname}' hold values too large to be coordinates in any system "
            f"(e.g. {x[i]:.6g}, {y[i]:.6g}) in {rows_with_names(index[huge], names)}",
            fix="check that these columns hold the coordinates, or remove those rows",
        )
        return False
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems.add(
            f"coordinates in '{xname}'/'{yname}' look like projected metres (e.g. {x[i]:.1f}, {y[i]:.1f}), "
            f"not {crs_name} degrees, in {rows_with_names(index[bad], names)}",
            fix="pass the projected CRS with crs= (e.g. crs='EPSG:3857' for Web Mercator, "
            "'EPSG:4547' for CGCS2000 / 3-degree Gauss-Kruger CM 114E, 'EPSG:32650' for UTM 50N)",
        )
        return False
    return True


def _follow_column_names(
    xc: Any, yc: Any, parsed: Any, *, crs: Any, source: str, problems: Problems
) -> Any:
    """The CRS to read coordinate columns in, given what their names say (gcj02/bd09 names win
    over no ``crs=``; a ``crs=`` that contradicts them is kept with a warning)."""
    named = _system_from_columns(xc, yc, source=source, problems=problems)
    if parsed is None and named in ("gcj02", "bd09"):
        # A web-map export read as WGS-84 would be ~500 m off (GCJ-02) or ~1 km (BD-09) with no
        # error anywhere: the column names are the only hint, so follow them and say so.
        warnings.warn(
            f"{source}: the coordinate columns '{xc}'/'{yc}' are named as {_SYSTEM_NAMES[named]} "
            f"coordinates, so they were converted from {_crs_name(named)} to WGS-84 (a shift of "
            f"several hundred metres). Fix: if they are WGS-84 after all, pass crs='wgs84'",
            InputWarning,
            stacklevel=4,
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
                stacklevel=4,
            )
    return parsed


def points_from_columns(
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
    parsed = parse_crs(crs, source)
    cols = data_columns(df)
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
                f"coordinate column(s) {listing(missing)} not found (columns: {listing(cols)})",
                fix="name the coordinate columns exactly as in the file",
            )
            return None, None, []
    elif has_geom:
        geoms = _check_geometry_points(
            df.geometry, parsed, problems=problems, names=names, what=what
        )
        return geoms, parsed, []
    else:
        xc = _find_coordinate_column(cols, LON, _LON_WORDS)
        yc = _find_coordinate_column(cols, LAT, _LAT_WORDS)
        geom_column = isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df
        if (xc is None or yc is None) and geom_column and len(df):
            problems.add(
                f"every {what}'s geometry is missing or empty ({len(df)} rows) and there are no "
                f"coordinate columns (columns are {listing(cols)})",
                fix="give the features point geometries (or lon/lat columns)",
            )
            return None, None, []
        if xc is None or yc is None:
            problems.add(
                f"no coordinates: found no longitude column ({', '.join(LON[:6])}) and/or latitude "
                f"column ({', '.join(LAT[:5])}) and no geometry; columns are {listing(cols)}",
                fix="name them with lon_column= and lat_column= (or x_column=/y_column= with crs=)",
            )
            return None, None, []
    x = pd.to_numeric(df[xc], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    y = pd.to_numeric(df[yc], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = True
    for col, vals in ((xc, x), (yc, y)):
        bad = ~np.isfinite(vals)
        if bad.any():
            first = first_example(df[col].to_numpy()[bad])
            problems.add(
                f"column '{col}' has missing or non-numeric values (e.g. {first}) in "
                f"{rows_with_names(df.index[bad], names)}",
                fix="fill in numeric coordinates or remove those rows",
            )
            ok = False
    if not ok:
        return None, None, [xc, yc]
    parsed = _follow_column_names(xc, yc, parsed, crs=crs, source=source, problems=problems)
    if parsed is None:
        parsed = WGS84
    if is_degrees(parsed) and not _check_degrees(
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
            f"missing or empty geometry in {rows_with_names(geoms.index[empty], names)}",
            fix=f"give every {what} a location or remove those rows",
        )
        return None
    crs = parsed if parsed is not None else geoms.crs
    if crs is None:
        return geoms  # the conversion raises CRSError
    crs = crs if isinstance(crs, str) else pyproj.CRS.from_user_input(crs)
    if is_degrees(crs):
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
