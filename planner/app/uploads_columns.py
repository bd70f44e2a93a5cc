"""Columns of uploaded files: a preview, the app's guesses, and reading with the chosen columns.

When an upload's columns are not the ones planner recognises (``lon``/``lat``, ``type``,
``highway``, ``population`` ...), the app shows the first rows (:func:`read_sample`) and a
choice per needed column, filled with :func:`guess_columns`; :func:`missing_fields` says which
needed ones have no column. :func:`prepare_upload` then reads the file with planner's own
readers, passing the chosen columns and coordinate system as their parameters
(``lon_column=``, ``class_column=``, ``direction_map=``, ``crs=`` ...), and writes what they
return as a GeoPackage in WGS-84 with planner's column names next to the upload. The scenario
points at that file, so the data set, a saved scenario and the CLI read the same data with no
options (:func:`planner.load_dataset`).

>>> import pandas as pd
>>> sample = pd.DataFrame({"机构": ["城关镇卫生院"], "E": [114.3], "N": [34.8]})
>>> guesses = guess_columns("facilities", sample)
>>> guesses["lon"], missing_fields("facilities", guesses)
('', ['lon', 'lat', 'type'])
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import _validate, load
from .._errors import PlannerWarning
from ..standards import classify_tier
from .uploads_crs import UploadProblem

#: Rows of an upload shown in the column-mapping step.
PREVIEW_ROWS = 5
#: Rows read to guess columns (road classes are recognised by their values).
SAMPLE_ROWS = 500
#: Most distinct one-way codes offered for a value-by-value choice.
MAX_DIRECTION_VALUES = 12
#: One-way readings offered per code: the reader's default, both ways, along, against the line.
DIRECTION_CHOICES = ("auto", "both", "along", "against")
_DIRECTION_VALUE = {"both": 0, "along": 1, "against": -1}

_TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


@dataclass(frozen=True)
class Field:
    """A column an upload needs: ``key`` (the app's name), ``option`` (the reader's parameter),
    whether it is ``required`` and the column names guessed for it (case-insensitive)."""

    key: str
    option: str
    required: bool
    names: tuple[str, ...]


# The readers' own column names (planner.load.COLUMN_CANDIDATES); the app also guesses "gb"
# for a code and "常住人口" for a population, which it then passes to the reader by name.
_CANDIDATES = load.COLUMN_CANDIDATES
_LON = _CANDIDATES["lon"]
_LAT = _CANDIDATES["lat"]
_LON_RE = re.compile(r"(lon|lng|经度|东经)", re.IGNORECASE)
_LAT_RE = re.compile(r"(lat|纬度|北纬)", re.IGNORECASE)
_NAME = _CANDIDATES["facility_name"]
_TYPE = _CANDIDATES["facility_type"]
_CODE = (*_CANDIDATES["admin_code"], "gb")
_POP = (*_CANDIDATES["population"], "常住人口")

#: The columns each kind of upload needs (population: points or polygons; a table per
#: administrative code is ``population_table``).
FIELDS: dict[str, tuple[Field, ...]] = {
    "facilities": (
        Field("lon", "lon_column", True, _LON),
        Field("lat", "lat_column", True, _LAT),
        Field("name", "name_column", False, _NAME),
        Field("type", "type_column", False, _TYPE),
        Field("tier", "tier_column", False, ("tier", "planner_tier")),
    ),
    "candidates": (
        Field("lon", "lon_column", True, _LON),
        Field("lat", "lat_column", True, _LAT),
        Field("name", "name_column", False, _NAME),
    ),
    "roads": (
        Field("class", "class_column", True, _CANDIDATES["road_class"]),
        Field("direction", "direction_column", False, _CANDIDATES["road_direction"]),
        Field("name", "name_column", False, _CANDIDATES["road_name"]),
        Field("speed", "speed_column", False, _CANDIDATES["road_speed"]),
    ),
    "boundaries": (
        Field("code", "code_column", True, _CODE),
        Field("name", "name_column", False, _CANDIDATES["admin_name"]),
        Field("level", "level_column", False, _CANDIDATES["admin_level"]),
    ),
    "population": (
        Field("population", "column", True, _POP),
        Field("lon", "lon_column", True, _LON),
        Field("lat", "lat_column", True, _LAT),
    ),
    "population_table": (
        Field("code", "code_column", True, _CODE),
        Field("population", "population_column", True, _POP),
        Field("name", "name_column", False, ("name", "名称", "乡镇", "乡镇名称")),
    ),
}


# ---------------------------------------------------------------------------------------------
# A sample of the file
# ---------------------------------------------------------------------------------------------


def _redecode(value: Any) -> Any:
    """Text read as ISO-8859-1 back to its bytes, decoded as UTF-8, else GB18030 (Chinese
    shapefiles without .cpg), else UTF-8 with replacements."""
    if not isinstance(value, str):
        return value
    raw = value.encode("latin-1", errors="replace")
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _read_csv_sample(path: Path, rows: int) -> pd.DataFrame:
    data = path.read_bytes()[:2_000_000]
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("utf-8", errors="replace")
    first = text.splitlines()[0] if text else ""
    sep = max((",", ";", "\t", "|"), key=first.count)
    import io

    return pd.read_csv(io.StringIO(text), sep=sep, nrows=rows, dtype=str, keep_default_na=False)


def read_sample(path: str | Path, *, rows: int = SAMPLE_ROWS) -> tuple[pd.DataFrame, bool]:
    """The first ``rows`` rows of an upload without geometry, and whether it has geometry.

    Shapefiles without a ``.cpg`` are decoded as UTF-8, else GB18030 (as planner's readers do).
    Raster and OSM files have no columns: an empty frame.

    Raises
    ------
    UploadProblem
        The file cannot be read (``key="upload_unreadable"``).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            return _read_csv_sample(p, rows), False
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(p, nrows=rows, dtype=str, engine="openpyxl"), False
        if suffix in (".tif", ".tiff", ".osm", ".pbf") or p.name.lower().endswith(".osm.pbf"):
            return pd.DataFrame(), True
        import pyogrio

        kwargs: dict[str, Any] = {"max_features": rows, "read_geometry": False}
        if suffix == ".shp" and not any(
            p.with_suffix(s).exists() for s in (".cpg", ".CPG", ".Cpg")
        ):
            df = pyogrio.read_dataframe(p, encoding="ISO-8859-1", **kwargs)
            for c in df.columns:
                if not pd.api.types.is_numeric_dtype(df[c]):
                    df[c] = df[c].map(_redecode)
            df.columns = [_redecode(c) for c in df.columns]
        else:
            df = pyogrio.read_dataframe(p, **kwargs)
        return pd.DataFrame(df), True
    except Exception as exc:  # noqa: BLE001 - any unreadable upload gets the same message
        raise UploadProblem(
            f"{p.name}: cannot be read ({type(exc).__name__}). Fix: check that it is a valid "
            "file of the kind asked for, e.g. open it in QGIS or Excel and save it again.",
            key="upload_unreadable",
            file=p.name,
        ) from None


# ---------------------------------------------------------------------------------------------
# Guessing columns
# ---------------------------------------------------------------------------------------------


def _by_name(columns: list[str], names: tuple[str, ...]) -> str:
    return _validate.find_column(columns, None, names) or ""


def _road_class_share(values: pd.Series) -> float:
    """Share of non-missing values that planner maps to a road class by default."""
    known = set(load.OSM_CLASSES) | set(load.CHINESE_CLASSES) | set(load.CHANGSHA_SUBTYPES)
    text = values.dropna().astype(str).str.strip()
    text = text.str.replace(r"\.0$", "", regex=True)
    text = text[text != ""]
    return float(text.isin(known).mean()) if len(text) else 0.0


def _guess_road_class(sample: pd.DataFrame, columns: list[str]) -> str:
    """The first named candidate whose values all map, else the column whose values map most
    (at least half), as :func:`planner.read_roads` picks it."""
    named = [c for n in FIELDS["roads"][0].names for c in columns if c.lower() == n.lower()]
    shares = {c: _road_class_share(sample[c]) for c in columns}
    for c in named:
        if shares[c] == 1.0:
            return c
    best = max(shares, key=lambda c: shares[c], default="")
    return best if best and shares[best] >= 0.5 else ""


def _guess_coordinate(columns: list[str], names: tuple[str, ...], pattern: re.Pattern) -> str:
    found = _by_name(columns, names)
    if found:
        return found
    hits = [c for c in columns if pattern.search(c)]
    return hits[0] if len(hits) == 1 else ""


def guess_columns(kind: str, sample: pd.DataFrame) -> dict[str, str]:
    """For each of ``FIELDS[kind]``, the column of ``sample`` that holds it, or ``""``.

    Names are matched case-insensitively (coordinate columns also by the words lon/lng/经度 and
    lat/纬度 in a longer name, ``高德经度``); a road class column by its values.
    """
    columns = [str(c) for c in sample.columns]
    out: dict[str, str] = {}
    for f in FIELDS[kind]:
        if f.key == "lon":
            out[f.key] = _guess_coordinate(columns, f.names, _LON_RE)
        elif f.key == "lat":
            out[f.key] = _guess_coordinate(columns, f.names, _LAT_RE)
        elif kind == "roads" and f.key == "class":
            out[f.key] = _guess_road_class(sample, columns)
        else:
            out[f.key] = _by_name(columns, f.names)
    return out


def is_population_table(sample: pd.DataFrame, has_geometry: bool) -> bool:
    """A table of residents per administrative code: no geometry, no coordinate columns (its
    code column may still need choosing)."""
    if has_geometry:
        return False
    g = guess_columns("population", sample)
    return not (g["lon"] or g["lat"])


def missing_fields(
    kind: str, guesses: Mapping[str, str], *, has_geometry: bool = False
) -> list[str]:
    """The needed fields of ``kind`` without a column: required ones (coordinates only for a
    file without geometry), and for facilities a type, tier or name to tell their tier by."""
    out = []
    for f in FIELDS[kind]:
        if f.key in ("lon", "lat") and has_geometry:
            continue
        if f.required and not guesses.get(f.key):
            out.append(f.key)
    if kind == "facilities" and not any(guesses.get(k) for k in ("type", "tier", "name")):
        out.append("type")
    return out


def direction_values(path: str | Path, column: str) -> list[str]:
    """The distinct values of a road file's one-way column as text (at most
    :data:`MAX_DIRECTION_VALUES`, most common first). Remembered per file and column (uploads
    are stored under their content's hash, so a path's content never changes)."""
    return list(_direction_values(str(path), column))


@functools.lru_cache(maxsize=32)
def _direction_values(path: str, column: str) -> tuple[str, ...]:
    try:
        import pyogrio

        values = pyogrio.read_dataframe(path, columns=[column], read_geometry=False)[column]
    except Exception:  # noqa: BLE001 - a column that cannot be read offers no values
        return ()
    text = values.dropna().astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    return tuple(str(v) for v in text.value_counts().index[:MAX_DIRECTION_VALUES])


#: Fields that are not required but usually there: not finding them is said (roads without a
#: one-way column are all two-way; facilities without names are listed by id).
EXPECTED: dict[str, tuple[str, ...]] = {"roads": ("direction",), "facilities": ("name",)}


def unrecognised_fields(kind: str, guesses: Mapping[str, str]) -> list[str]:
    """The :data:`EXPECTED` fields of ``kind`` without a column (not required).

    >>> unrecognised_fields("roads", {"class": "fclass", "direction": ""})
    ['direction']
    """
    return [k for k in EXPECTED.get(kind, ()) if not guesses.get(k)]


def direction_map(choices: Mapping[str, str]) -> dict[Any, int] | None:
    """``direction_map=`` for :func:`planner.read_roads` from ``{code: DIRECTION_CHOICES value}``
    (``"auto"`` leaves the reader's default); None when every code is ``"auto"``.

    Numeric codes are given both as text and as numbers, as the file may hold either.

    >>> direction_map({"1": "along", "2": "against", "3": "auto"})
    {'1': 1, 1: 1, '2': -1, 2: -1}
    """
    out: dict[Any, int] = {}
    for code, choice in choices.items():
        if choice not in _DIRECTION_VALUE:
            continue
        out[code] = _DIRECTION_VALUE[choice]
        if re.fullmatch(r"-?\d+", code):
            out[int(code)] = _DIRECTION_VALUE[choice]
    return out or None


# ---------------------------------------------------------------------------------------------
# Reading with the chosen columns, writing a normalised copy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadOptions:
    """How to read one upload: ``crs`` (the readers' ``crs=``, None for the file's own),
    ``columns`` (``{field key: column}``, only those to pass), ``direction_map`` and
    ``default_class`` (roads)."""

    crs: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    direction_map: Mapping[Any, int] | None = None
    default_class: str | None = None

    def is_default(self) -> bool:
        return (
            self.crs is None
            and not any(self.columns.values())
            and not self.direction_map
            and not self.default_class
        )

    def digest(self) -> str:
        data = {
            "crs": self.crs,
            "columns": dict(sorted((k, v) for k, v in self.columns.items() if v)),
            "direction_map": sorted((str(k), v) for k, v in (self.direction_map or {}).items()),
            "default_class": self.default_class,
        }
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:12]


def reader_kwargs(kind: str, options: UploadOptions, *, projected: bool = False) -> dict[str, Any]:
    """Keyword arguments of planner's reader of ``kind`` for ``options``.

    Coordinate columns become ``x_column``/``y_column`` when the chosen CRS is projected
    (metres), as :func:`planner.read_facilities` asks.
    """
    kwargs: dict[str, Any] = {}
    if options.crs is not None:
        kwargs["crs"] = options.crs
    fields = {f.key: f.option for f in FIELDS[kind]}
    for key, column in options.columns.items():
        if not column or key not in fields:
            continue
        option = fields[key]
        if projected and option in ("lon_column", "lat_column"):
            option = "x_column" if option == "lon_column" else "y_column"
        kwargs[option] = column
    if kind == "roads":
        if options.direction_map:
            kwargs["direction_map"] = dict(options.direction_map)
        if options.default_class:
            kwargs["default_class"] = options.default_class
    return kwargs


def _projected(crs: str | None) -> bool:
    if crs is None or not crs.upper().startswith("EPSG:"):
        return False
    import pyproj

    return bool(pyproj.CRS.from_user_input(crs).is_projected)


def read_upload(kind: str, path: str | Path, options: UploadOptions) -> gpd.GeoDataFrame:
    """Read an upload with planner's reader of ``kind`` and ``options`` (its warnings pass on).

    ``kind`` is ``roads``, ``facilities``, ``candidates`` (read as facilities), ``boundaries``
    or ``population`` (points, polygons or a raster). Coordinate columns of a population table
    are renamed to ``lon``/``lat`` (:func:`planner.read_population` finds them by name).
    """
    p = Path(path)
    kwargs = reader_kwargs(kind, options, projected=_projected(options.crs))
    if kind == "roads":
        return load.read_roads(p, **kwargs)
    if kind in ("facilities", "candidates"):
        return load.read_facilities(p, **kwargs)
    if kind == "boundaries":
        return load.read_boundaries(p, **kwargs)
    if kind == "population":
        lon, lat = kwargs.pop("lon_column", None), kwargs.pop("lat_column", None)
        kwargs.pop("x_column", None), kwargs.pop("y_column", None)
        if p.suffix.lower() in _TABLE_SUFFIXES and (lon or lat):
            frame = read_sample(p, rows=10_000_000)[0]
            frame = frame.rename(columns={lon: "lon", lat: "lat"})
            for c in ("lon", "lat", kwargs.get("column") or ""):
                if c in frame:
                    frame[c] = pd.to_numeric(frame[c], errors="coerce")
            return load.read_population(frame, **kwargs)
        return load.read_population(p, **kwargs)
    raise UploadProblem(f"unknown upload kind {kind!r}.", key="upload_unknown_kind", kind=kind)


def _gpkg_ready(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns a GeoPackage can hold: text for mixed objects, arrays dropped, no two names
    equal but for case, no ``fid``."""
    out = frame.copy()
    geom = out.geometry.name
    seen: set[str] = set()
    renames: dict[str, str] = {}
    drop = []
    for c in out.columns:
        if c == geom:
            continue
        col = out[c]
        if not pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.DatetimeTZDtype):
            if col.map(lambda v: isinstance(v, (list, tuple, np.ndarray, dict))).any():
                drop.append(c)
                continue
            out[c] = col.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        name = str(c)
        while name.lower() in seen or name.lower() == "fid":
            name += "_"
        seen.add(name.lower())
        if name != c:
            renames[c] = name
    return out.drop(columns=drop).rename(columns=renames)


def _write_gpkg(frame: gpd.GeoDataFrame, target: Path) -> Path:
    """Write ``frame`` as ``target`` (a temporary name first, then renamed)."""
    import pyogrio

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.stem + ".part.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.write_dataframe(_gpkg_ready(frame), tmp, layer=target.stem, driver="GPKG")
    tmp.replace(target)
    return target


def _keep_tiers(fac: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Facilities whose tier would not come back from their type and name when the copy is
    read again (a tier column, a tier_map) get the tier as their type; the source type is
    kept as ``source_type``."""
    again = classify_tier(fac["type"].to_numpy(), fac["name"].to_numpy())
    differ = again != fac["tier"].to_numpy()
    if not differ.any():
        return fac
    out = fac.copy()
    out["source_type"] = fac["type"]
    out.loc[differ, "type"] = fac.loc[differ, "tier"]
    return out


@dataclass(frozen=True)
class Prepared:
    """An upload ready for :func:`planner.load_dataset`: ``path`` (the upload itself when read
    with no options, else a normalised copy), ``warnings`` of the reader (English), and
    ``frame`` (what was read, None when nothing was read)."""

    path: Path
    warnings: tuple[str, ...] = ()
    frame: gpd.GeoDataFrame | None = None


def prepare_upload(kind: str, path: str | Path, options: UploadOptions) -> Prepared:
    """Read an upload with ``options`` and write a normalised copy (WGS-84, planner's column
    names) beside it, in a folder named by the options; with default options, the upload as it
    is. The copy is read back to the same rows and tiers by :func:`planner.load_dataset` with
    no options.

    Raises
    ------
    PlannerError
        What the reader raises (the message names the file and the fix).
    """
    p = Path(path)
    if options.is_default() or kind not in FIELDS:
        return Prepared(p)
    if kind == "population" and is_population_table(*read_sample(p, rows=50)):
        return Prepared(_population_table_copy(p, options))
    target = _copy_folder(p, options) / f"{p.stem}.gpkg"
    if target.exists():  # read before with the same options (the upload's folder is its hash)
        return Prepared(target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        frame = read_upload(kind, p, options)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, PlannerWarning))
    if kind in ("facilities", "candidates"):
        frame = _keep_tiers(frame)
    _write_gpkg(frame, target)
    return Prepared(target, notes, frame)


def _copy_folder(path: Path, options: UploadOptions) -> Path:
    """Where the copy of ``path`` read with ``options`` goes: beside it, in a folder named by
    the upload (its stored path names its content) and the options, so that no two copies of
    different files or options share a folder name (scenarios copy that folder by its name)."""
    key = hashlib.sha256(f"{path.resolve()}|{options.digest()}".encode()).hexdigest()[:16]
    return path.parent / f"read-{key}"


def _population_table_copy(path: Path, options: UploadOptions) -> Path:
    """A table of residents per code with the chosen columns renamed to ``admin_code``,
    ``population`` and ``name`` (UTF-8 CSV), which :func:`planner.load_dataset` spreads."""
    frame = read_sample(path, rows=10_000_000)[0]
    cols = options.columns
    rename = {
        cols.get("code", ""): "admin_code",
        cols.get("population", ""): "population",
        cols.get("name", ""): "name",
    }
    rename = {k: v for k, v in rename.items() if k and k in frame.columns}
    frame = frame.drop(
        columns=[v for v in rename.values() if v in frame.columns and v not in rename]
    )
    frame = frame.rename(columns=rename)
    target = _copy_folder(path, options) / f"{path.stem}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    frame.to_csv(tmp, index=False, encoding="utf-8")
    tmp.replace(target)
    return target


__all__ = [
    "DIRECTION_CHOICES",
    "FIELDS",
    "Field",
    "Prepared",
    "UploadOptions",
    "direction_map",
    "direction_values",
    "guess_columns",
    "is_population_table",
    "missing_fields",
    "prepare_upload",
    "read_sample",
    "read_upload",
    "reader_kwargs",
]
