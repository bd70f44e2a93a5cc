"""Online base maps for planner's maps, and the datum the overlays are drawn in.

planner's layers are WGS-84 (EPSG:4326). Tianditu (天地图, the official base map, in CGCS2000,
which differs from WGS-84 by centimetres: the same for display) and OpenStreetMap line up with
them as they are. Amap/Gaode (高德) tiles are drawn in GCJ-02, offset from WGS-84 by typically
100-700 m, so on an Amap base map the overlays are **shifted into GCJ-02 for display** (with
:func:`planner._chinacrs.wgs84_to_gcj02`) and a click on such a map is shifted back
(:func:`from_display`) before any analysis: the analysis itself always stays in WGS-84.

Baidu (BD-09) is not offered: its tiles also use a non-standard Web Mercator tiling.

Examples
--------
>>> sorted(BASEMAPS)
['amap', 'amap_img', 'osm', 'tianditu_img', 'tianditu_vec']
>>> BASEMAPS["amap"].datum
'gcj02'
>>> lon, lat = to_display(114.3, 34.8, datum="gcj02")
>>> back = from_display(lon, lat, datum="gcj02")
>>> bool(abs(back[0] - 114.3) < 1e-8 and abs(back[1] - 34.8) < 1e-8)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import _chinacrs
from ._errors import InputError

__all__ = [
    "BASEMAPS",
    "DATUMS",
    "Basemap",
    "from_display",
    "tile_urls",
    "to_display",
]

Datum = Literal["wgs84", "gcj02"]
#: Datums the overlays can be drawn in.
DATUMS: tuple[str, ...] = ("wgs84", "gcj02")

_TIANDITU = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILECOL={{x}}&TILEROW={{y}}&TILEMATRIX={{z}}&tk={key}"
)
_AMAP = "https://{host}0{{s}}.is.autonavi.com/appmaptile?lang={lang}&size=1&scale=1&style={style}&x={{x}}&y={{y}}&z={{z}}"


@dataclass(frozen=True)
class Basemap:
    """An online base map: its names, datum, attribution and whether it needs a key."""

    key: str
    zh: str
    en: str
    datum: Datum
    attribution: str
    subdomains: str
    needs_key: bool = False
    max_native_zoom: int = 18

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en if lang == "en" else f"{self.zh} / {self.en}"


BASEMAPS: dict[str, Basemap] = {
    "osm": Basemap(
        "osm",
        "OpenStreetMap",
        "OpenStreetMap",
        "wgs84",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        "abc",
        max_native_zoom=19,
    ),
    "tianditu_vec": Basemap(
        "tianditu_vec",
        "天地图 矢量",
        "Tianditu vector",
        "wgs84",
        '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> 国家地理信息公共服务平台',
        "01234567",
        needs_key=True,
    ),
    "tianditu_img": Basemap(
        "tianditu_img",
        "天地图 影像",
        "Tianditu imagery",
        "wgs84",
        '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> 国家地理信息公共服务平台',
        "01234567",
        needs_key=True,
    ),
    "amap": Basemap(
        "amap", "高德地图", "Amap (Gaode)", "gcj02", "&copy; 高德地图 AutoNavi", "1234"
    ),
    "amap_img": Basemap(
        "amap_img", "高德 影像", "Amap imagery", "gcj02", "&copy; 高德地图 AutoNavi", "1234"
    ),
}


def tile_urls(key: str, *, api_key: str = "", lang: str = "zh") -> list[str]:
    """Tile URL templates of base map ``key``: the base layer, then a label layer if any.

    Parameters
    ----------
    key
        One of :data:`BASEMAPS`.
    api_key
        The Tianditu key (天地图 ``tk``; a free key from https://console.tianditu.gov.cn/).
    lang
        Label language of Tianditu and Amap: ``"en"`` for English labels, otherwise Chinese.

    Examples
    --------
    >>> tile_urls("tianditu_vec", api_key="abc")[1].endswith("tk=abc")
    True
    """
    if key not in BASEMAPS:
        raise InputError(f"basemap={key!r}: use None or one of {', '.join(BASEMAPS)}")
    if BASEMAPS[key].needs_key and not api_key.strip():
        raise InputError(
            f"basemap={key!r} needs a Tianditu key: pass tianditu_key= (a free key from "
            "https://console.tianditu.gov.cn/)"
        )
    tk = api_key.strip()
    en = lang == "en"
    if key == "osm":
        return ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    if key in ("tianditu_vec", "tianditu_img"):
        base = "vec" if key == "tianditu_vec" else "img"
        labels = ("eva" if en else "cva") if base == "vec" else ("eia" if en else "cia")
        return [_TIANDITU.format(layer=base, key=tk), _TIANDITU.format(layer=labels, key=tk)]
    amap_lang = "en" if en else "zh_cn"
    if key == "amap":
        return [_AMAP.format(host="webrd", lang=amap_lang, style=8)]
    return [
        _AMAP.format(host="webst", lang=amap_lang, style=6),
        _AMAP.format(host="webst", lang=amap_lang, style=8),
    ]


def _check_datum(datum: str) -> None:
    if datum not in DATUMS:
        raise InputError(f"datum={datum!r}: use one of {', '.join(DATUMS)}")


def to_display(lon: Any, lat: Any, *, datum: str) -> tuple[Any, Any]:
    """WGS-84 lon/lat -> the coordinates drawn on a map in ``datum`` (``"wgs84"``: unchanged)."""
    _check_datum(datum)
    if datum == "wgs84":
        return lon, lat
    return _chinacrs.wgs84_to_gcj02(lon, lat)


def from_display(lon: Any, lat: Any, *, datum: str) -> tuple[Any, Any]:
    """Coordinates read on a map drawn in ``datum`` (a click) -> WGS-84 lon/lat.

    The inverse of :func:`to_display` to better than 1e-9 degrees (iterated, see
    :mod:`planner._chinacrs`)."""
    _check_datum(datum)
    if datum == "wgs84":
        return lon, lat
    return _chinacrs.gcj02_to_wgs84(lon, lat)


def geometries_to_display(geoms: Any, *, datum: str) -> Any:
    """Shapely geometries (WGS-84) moved into ``datum`` for display."""
    _check_datum(datum)
    if datum == "wgs84":
        return geoms
    return _chinacrs.transform_geometries(geoms, "wgs84", "gcj02")
