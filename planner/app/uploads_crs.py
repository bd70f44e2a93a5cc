"""Coordinate systems of uploaded files: what the file says, what the user chose, what it means.

Every upload offers the same choice (:data:`CRS_CHOICES`): the file's own coordinate system
(the default: a shapefile's ``.prj``, a GeoPackage's or GeoTIFF's CRS, WGS-84 for a GeoJSON
without a ``crs`` member, as RFC 7946 says), WGS-84, GCJ-02 (Amap, Tencent), BD-09 (Baidu) or
an EPSG code. :func:`file_crs` reads what the file says without reading its features;
:func:`crs_argument` turns a choice into the ``crs=`` of planner's readers;
:func:`web_map_hint` says when a file announces GCJ-02 or BD-09 coordinates in its name,
metadata or column names while it is labelled as plain longitude/latitude (the Kaifeng
boundaries from Amap, ~500 m off when read as WGS-84).

>>> crs_argument("epsg", "3857")
'EPSG:3857'
>>> crs_argument("file") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _chinacrs
from .._errors import CRSError, InputError

#: Coordinate-system choices of every upload, in the order the app lists them.
CRS_CHOICES = ("file", "wgs84", "gcj02", "bd09", "epsg")
#: Coordinate systems of coordinates typed by hand ("按坐标添加").
TYPED_CRS = ("wgs84", "gcj02", "bd09")

_GEOJSON_HEAD_BYTES = 65_536
_WEB_MAP_WORDS = (
    ("bd09", re.compile(r"bd[\-_ ]?09|baidu|百度", re.IGNORECASE)),
    ("gcj02", re.compile(r"gcj[\-_ ]?02|gcj|高德|火星|amap|gaode|腾讯|tencent", re.IGNORECASE)),
)


class UploadProblem(InputError):
    """An upload that cannot be used as chosen. ``key`` and ``fields`` give the message in the
    user's language (:mod:`planner.i18n`); ``str()`` is the English text."""

    def __init__(self, message: str, *, key: str, **fields: Any) -> None:
        super().__init__(message)
        self.key = key
        self.fields = fields


@dataclass(frozen=True)
class FileCrs:
    """What an uploaded file says about its coordinate system.

    Attributes
    ----------
    crs : str
        ``"EPSG:<code>"``, the WKT of a CRS without EPSG code, or ``""`` when the file has none
        (tables: longitude/latitude columns, read as WGS-84 unless their names say otherwise).
    label : str
        For people: ``"EPSG:3857 WGS 84 / Pseudo-Mercator"``, ``"Equidistant_Cylindrical"``.
    origin : str
        Where it was found: ``"prj"`` (a shapefile's .prj), ``"gpkg"``, ``"geojson"`` (a
        ``crs`` member), ``"geojson_default"`` (none: WGS-84 by the GeoJSON standard),
        ``"raster"``, ``"osm"`` (always WGS-84), ``"table"`` (CSV/XLSX coordinates), ``"none"``
        (a shapefile without .prj, a file whose CRS cannot be read).
    projected : bool
        Whether the coordinates are metres (not degrees).
    """

    crs: str
    label: str
    origin: str
    projected: bool = False


def _describe(crs: Any) -> tuple[str, str, bool]:
    import pyproj

    c = pyproj.CRS.from_user_input(crs)
    epsg = c.to_epsg(min_confidence=70)
    if epsg:
        return f"EPSG:{epsg}", f"EPSG:{epsg} {c.name}", bool(c.is_projected)
    return c.to_wkt(), c.name, bool(c.is_projected)


def _vector_crs(path: Path) -> Any:
    import pyogrio

    try:
        return pyogrio.read_info(path).get("crs")
    except Exception:  # noqa: BLE001 - the reader reports unreadable files, in its words
        return None


def _raster_crs(path: Path) -> Any:
    try:
        import rasterio

        with rasterio.open(path) as src:
            return src.crs.to_wkt() if src.crs else None
    except Exception:  # noqa: BLE001 - the reader reports unreadable rasters
        return None


def _geojson_head(path: Path) -> str:
    """The GeoJSON text before its first feature (where ``crs`` and notes are), decoded."""
    with open(path, "rb") as fh:
        head = fh.read(_GEOJSON_HEAD_BYTES).decode("utf-8", errors="replace")
    cut = head.find('"features"')
    return head if cut < 0 else head[:cut]


def file_crs(path: str | Path) -> FileCrs:
    """The coordinate system ``path`` says it is in (see :class:`FileCrs`); never raises.

    Examples
    --------
    >>> file_crs("data.csv").origin
    'table'
    """
    p = Path(path)
    name = p.name.lower()
    suffix = p.suffix.lower()
    if name.endswith((".osm", ".pbf", ".osm.gz", ".osm.bz2")):
        return FileCrs("EPSG:4326", "EPSG:4326 WGS 84", "osm")
    if suffix in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
        return FileCrs("", "", "table")
    if suffix in (".tif", ".tiff"):
        found, origin = _raster_crs(p), "raster"
    elif suffix == ".shp":
        found = _vector_crs(p) if p.with_suffix(".prj").exists() else None
        origin = "prj"
    elif suffix in (".geojson", ".json"):
        if p.is_file() and re.search(r'"crs"\s*:', _geojson_head(p)):
            found, origin = _vector_crs(p), "geojson"
        else:
            return FileCrs("EPSG:4326", "EPSG:4326 WGS 84", "geojson_default")
    else:
        found, origin = _vector_crs(p), "gpkg"
    if not found:
        return FileCrs("", "", "none")
    try:
        crs, label, projected = _describe(found)
    except Exception:  # noqa: BLE001 - a .prj pyproj cannot read: as if there were none
        return FileCrs("", "", "none")
    return FileCrs(crs, label, origin, projected)


def parse_epsg(text: str) -> str:
    """``"EPSG:<code>"`` for ``"3857"``, ``"EPSG:3857"``, ``"epsg 4547"``.

    Raises
    ------
    UploadProblem
        Not a number, or not an EPSG code pyproj knows (``key="crs_bad_epsg"``).
    """
    import pyproj

    m = re.fullmatch(r"\s*(?:epsg\s*[:：]?\s*)?(\d{4,6})\s*", str(text or ""), re.IGNORECASE)
    if m is None:
        raise UploadProblem(
            f"{text!r} is not an EPSG code. Fix: type the number of the coordinate system, "
            "e.g. 4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E) or 3857 (Web Mercator).",
            key="crs_bad_epsg",
            code=str(text or ""),
        )
    code = int(m.group(1))
    try:
        pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError:
        raise UploadProblem(
            f"EPSG:{code} is not a known coordinate system. Fix: check the number (see epsg.io).",
            key="crs_bad_epsg",
            code=str(code),
        ) from None
    return f"EPSG:{code}"


def crs_argument(choice: str, epsg: str = "") -> str | None:
    """The ``crs=`` to pass to planner's readers for a :data:`CRS_CHOICES` value.

    ``"file"`` gives None (the reader takes the file's own CRS; WGS-84 for coordinate
    columns); ``"wgs84"``, ``"gcj02"`` and ``"bd09"`` are passed as they are (the readers
    convert GCJ-02 and BD-09 to WGS-84); ``"epsg"`` gives ``"EPSG:<code>"`` of ``epsg``.

    Raises
    ------
    UploadProblem
        An unknown choice or a bad EPSG code.
    """
    if choice == "file":
        return None
    if choice in _chinacrs.SYSTEMS:
        return choice
    if choice == "epsg":
        return parse_epsg(epsg)
    raise UploadProblem(
        f"unknown coordinate-system choice {choice!r}. Fix: use one of {', '.join(CRS_CHOICES)}.",
        key="crs_bad_choice",
        choice=choice,
    )


def web_map_hint(
    filename: str, path: str | Path | None = None, columns: Any = ()
) -> tuple[str, str]:
    """``(system, where)`` when a file announces GCJ-02 or BD-09 coordinates, else ``("", "")``.

    Looked for in the file name, a GeoJSON's members before its features (``crs_note``,
    ``name``, ``description``) and the column names (``高德经度``, ``gcj02_lat``). ``where`` is
    the text that says so, for the message. The readers themselves convert coordinate columns
    named after GCJ-02/BD-09; this is for the files they read as WGS-84 (a GeoJSON labelled as
    plain longitude/latitude).

    Examples
    --------
    >>> web_map_hint("districts_gcj02.geojson")
    ('gcj02', 'districts_gcj02.geojson')
    >>> web_map_hint("roads.shp", columns=["name", "fclass"])
    ('', '')
    """
    texts = [str(filename)]
    if path is not None and Path(path).suffix.lower() in (".geojson", ".json"):
        try:
            texts.append(_geojson_head(Path(path)).strip()[:300])
        except OSError:
            pass
    texts += [str(c) for c in columns]
    for text in texts:
        for system, pattern in _WEB_MAP_WORDS:
            if pattern.search(text):
                return system, text
    return "", ""


def typed_point_wgs84(lon: float, lat: float, system: str) -> tuple[float, float]:
    """WGS-84 longitude/latitude of a point typed in ``system`` (:data:`TYPED_CRS`).

    Examples
    --------
    >>> lon, lat = typed_point_wgs84(114.35, 34.80, "gcj02")
    >>> round(lon, 4), round(lat, 4)
    (114.3441, 34.8008)
    """
    if system not in TYPED_CRS:
        raise CRSError(
            f"unknown coordinate system {system!r} for typed coordinates. Fix: use one of "
            f"{', '.join(TYPED_CRS)}."
        )
    x, y = _chinacrs.convert(np.float64(lon), np.float64(lat), system, "wgs84")
    return float(x), float(y)
