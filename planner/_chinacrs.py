"""Chinese web-map coordinate systems: WGS-84, GCJ-02 and BD-09.

Maps published in China offset their coordinates on purpose:

* **GCJ-02** ("Mars coordinates", 国测局坐标) is used by Amap (高德), Tencent and Google Maps
  inside China. It shifts WGS-84 points by a smooth, position-dependent offset of a few hundred
  metres.
* **BD-09** (百度坐标) is Baidu's further rotation and scaling of GCJ-02.

The forward formulas (WGS-84 -> GCJ-02 -> BD-09) are the widely published ones (e.g. the
``eviltransform`` and ``coordTransform`` projects). There is no closed-form inverse, so
:func:`gcj02_to_wgs84` and :func:`bd09_to_gcj02` invert them by fixed-point iteration until the
forward transform reproduces the input to better than 1e-9 degrees (about 0.1 mm), far better than
the usual one-step approximation (errors of 1-2 m).

Points outside China (the usual ``out_of_china`` box: longitude 72.004-137.8347, latitude
0.8293-55.8271) are returned unchanged by every function, as the Chinese map providers do.
All functions are vectorised over numpy arrays; scalars give numpy scalars back.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(114.3416, 34.7971)
>>> back = gcj02_to_wgs84(lon, lat)
>>> bool(abs(back[0] - 114.3416) < 1e-8 and abs(back[1] - 34.7971) < 1e-8)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from ._errors import CRSError

__all__ = [
    "SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "normalize_system",
    "out_of_china",
    "transform_geometries",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

SYSTEMS = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_TOL = 1e-9  # degrees; convergence target of the iterative inverses (brief asks < 1e-7)
_MAX_ITER = 30

_ALIASES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "wgs_84": "wgs84",
    "wgs 84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj_02": "gcj02",
    "gcj": "gcj02",
    "mars": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "tencent": "gcj02",
    "火星坐标": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd_09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
    "百度坐标": "bd09",
}


def normalize_system(name: Any) -> str | None:
    """``"wgs84"``, ``"gcj02"`` or ``"bd09"`` for a known spelling of those names, else None.

    Examples
    --------
    >>> normalize_system("GCJ-02"), normalize_system("Baidu"), normalize_system("EPSG:3857")
    ('gcj02', 'bd09', None)
    """
    if not isinstance(name, str):
        return None
    return _ALIASES.get(name.strip().lower())


def _arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.astype(float, copy=True), lat_a.astype(float, copy=True)


def _out(lon: np.ndarray, lat: np.ndarray) -> tuple[Any, Any]:
    # 0-d arrays become numpy scalars; n-d arrays are returned as they are
    return lon[()], lat[()]


def out_of_china(lon: Any, lat: Any) -> np.ndarray:
    """True where a point lies outside the box in which Chinese maps apply the offsets.

    Examples
    --------
    >>> out_of_china([116.4, 2.35], [39.9, 48.86]).tolist()
    [False, True]
    """
    lon_a, lat_a = _arrays(lon, lat)
    return (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84 in degrees at WGS-84 point (lon, lat), no China box applied."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _gcj_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_inverse_first_guess(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lon: np.ndarray, lat: np.ndarray, guess: tuple[np.ndarray, np.ndarray]):
    """Solve forward(x) = (lon, lat) by fixed-point iteration (forward is identity + small)."""
    x, y = guess
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex = lon - fx
        ey = lat - fy
        x = x + ex
        y = y + ey
        err = np.maximum(np.abs(ex), np.abs(ey))
        if err.size == 0 or not np.any(err > _TOL):  # NaNs compare False and stop too
            break
    return x, y


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude (degrees) to GCJ-02.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.397, 39.909)
    >>> round(float(lon), 4), round(float(lat), 4)
    (116.4032, 39.9104)
    """
    lon_a, lat_a = _arrays(lon, lat)
    inside = ~out_of_china(lon_a, lat_a)
    glon, glat = _gcj_forward(lon_a[inside], lat_a[inside])
    lon_a[inside], lat_a[inside] = glon, glat
    return _out(lon_a, lat_a)


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude to WGS-84 by iterative inversion (error < 1e-9 deg)."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = ~out_of_china(lon_a, lat_a)
    g_lon, g_lat = lon_a[inside], lat_a[inside]
    dlon, dlat = _delta(g_lon, g_lat)
    wlon, wlat = _invert(_gcj_forward, g_lon, g_lat, (g_lon - dlon, g_lat - dlat))
    lon_a[inside], lat_a[inside] = wlon, wlat
    return _out(lon_a, lat_a)


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude to Baidu BD-09."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = ~out_of_china(lon_a, lat_a)
    blon, blat = _bd_forward(lon_a[inside], lat_a[inside])
    lon_a[inside], lat_a[inside] = blon, blat
    return _out(lon_a, lat_a)


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert Baidu BD-09 longitude/latitude to GCJ-02 (iterative, error < 1e-9 deg)."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = ~out_of_china(lon_a, lat_a)
    b_lon, b_lat = lon_a[inside], lat_a[inside]
    glon, glat = _invert(_bd_forward, b_lon, b_lat, _bd_inverse_first_guess(b_lon, b_lat))
    lon_a[inside], lat_a[inside] = glon, glat
    return _out(lon_a, lat_a)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude to Baidu BD-09 (via GCJ-02)."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = ~out_of_china(lon_a, lat_a)
    glon, glat = _gcj_forward(lon_a[inside], lat_a[inside])
    blon, blat = _bd_forward(glon, glat)
    lon_a[inside], lat_a[inside] = blon, blat
    return _out(lon_a, lat_a)


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert Baidu BD-09 longitude/latitude to WGS-84 (via GCJ-02)."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = ~out_of_china(lon_a, lat_a)
    b_lon, b_lat = lon_a[inside], lat_a[inside]
    glon, glat = _invert(_bd_forward, b_lon, b_lat, _bd_inverse_first_guess(b_lon, b_lat))
    dlon, dlat = _delta(glon, glat)
    wlon, wlat = _invert(_gcj_forward, glon, glat, (glon - dlon, glat - dlat))
    lon_a[inside], lat_a[inside] = wlon, wlat
    return _out(lon_a, lat_a)


_CONVERTERS = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("bd09", "wgs84"): bd09_to_wgs84,
    ("wgs84", "bd09"): wgs84_to_bd09,
}


def _system(name: str, what: str) -> str:
    system = normalize_system(name)
    if system is None:
        raise CRSError(
            f"unknown {what} coordinate system {name!r}. Fix: use one of 'wgs84', 'gcj02', 'bd09'."
        )
    return system


def convert(lon: Any, lat: Any, source: str, target: str = "wgs84") -> tuple[Any, Any]:
    """Convert coordinates between any two of ``"wgs84"``, ``"gcj02"`` and ``"bd09"``.

    Examples
    --------
    >>> lon, lat = convert(116.404, 39.915, "bd09", "bd09")
    >>> float(lon), float(lat)
    (116.404, 39.915)
    """
    src = _system(source, "source")
    dst = _system(target, "target")
    if src == dst:
        return _out(*_arrays(lon, lat))
    return _CONVERTERS[(src, dst)](lon, lat)


def transform_geometries(geoms: Any, source: str, target: str = "wgs84") -> Any:
    """Convert the coordinates of shapely geometries between WGS-84, GCJ-02 and BD-09.

    Parameters
    ----------
    geoms : shapely geometry, array-like of geometries, or GeoSeries
        Geometries with longitude/latitude coordinates in ``source``. Z values are dropped.
    source, target : str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` (common spellings such as ``"GCJ-02"`` work).

    Returns
    -------
    Same kind as ``geoms``: a geometry, a numpy array of geometries, or a GeoSeries with the
    same index (its CRS set to EPSG:4326: all three systems are longitude/latitude).

    Examples
    --------
    >>> import shapely
    >>> p = transform_geometries(shapely.Point(114.35, 34.80), "gcj02")
    >>> round(p.x, 4), round(p.y, 4)
    (114.3441, 34.8008)
    """
    src = _system(source, "source")
    dst = _system(target, "target")

    def func(coords: np.ndarray) -> np.ndarray:
        if src == dst or len(coords) == 0:
            return coords
        x, y = _CONVERTERS[(src, dst)](coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    try:
        import geopandas as gpd
    except ImportError:  # pragma: no cover - geopandas is a dependency
        gpd = None
    if gpd is not None and isinstance(geoms, gpd.GeoSeries):
        values = shapely.transform(np.asarray(geoms.array, dtype=object), func)
        return gpd.GeoSeries(values, index=geoms.index, crs="EPSG:4326", name=geoms.name)
    if isinstance(geoms, shapely.Geometry):
        return shapely.transform(geoms, func)
    return shapely.transform(np.asarray(geoms, dtype=object), func)
