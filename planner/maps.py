"""Interactive Leaflet maps (folium) that work with no internet.

folium pages normally load Leaflet, jQuery, Bootstrap, Font Awesome and awesome-markers from
public CDNs, so offline the map area stays blank. Maps made here load **only Leaflet**, from the
copy vendored in ``planner/static/leaflet`` (see ``planner/static/README.md``):

- ``assets="inline"`` embeds Leaflet's JS and CSS in the page (``<script>``/``<style>``) and its
  images as ``data:`` URIs, so a saved HTML file works from disk (and in a notebook);
- ``assets="served"`` references ``/app/static/leaflet/...``, served by Streamlit's static file
  serving (``[server] enableStaticServing = true``; the repository root has a ``static`` symlink
  to ``planner/static``). Use this with ``streamlit_folium.st_folium``, which loads the map's
  ``default_js``/``default_css`` itself and does not run inline header scripts.

There is no basemap by default (a plain light background); an online OpenStreetMap layer can be
added as an option that is off until switched on in the layer control.

Layers are drawn with plain Leaflet only (GeoJSON layers, SVG ``DivIcon`` symbols, tooltips and
Leaflet controls); folium Popups (jQuery), awesome-markers icons and branca's d3 colormap legend
are avoided on purpose.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> fac = gpd.GeoDataFrame(
...     {"facility_id": ["f1"], "name": ["Town clinic"], "tier": ["township_center"]},
...     geometry=[Point(116.40, 39.90)], crs=4326)
>>> m = new_map((116.3, 39.8, 116.5, 40.0))
>>> layer = add_facilities(m, fac)
>>> control = add_layer_control(m)
>>> save_html(m, "out/map.html")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from branca.element import Figure, MacroElement
from folium.template import Template

from . import basemaps
from ._errors import CRSError, InputError, PackageDataError
from ._validate import Problems, describe_rows

log = logging.getLogger(__name__)

__all__ = [
    "LEAFLET_VERSION",
    "MINOR_ROADS_ZOOM",
    "ROAD_STYLE",
    "UNCOVERED_BREAKS",
    "UNCOVERED_COLORS",
    "STATIC_DIR",
    "TIER_STYLE",
    "TierStyle",
    "add_boundaries",
    "add_facilities",
    "add_isochrones",
    "add_layer_control",
    "add_legend",
    "add_place_labels",
    "add_proposals",
    "add_roads",
    "add_uncovered",
    "display_datum",
    "place_label_points",
    "road_display_class",
    "set_display_datum",
    "uncovered_class",
    "uncovered_legend_items",
    "new_map",
    "save_html",
    "symbol_svg",
    "tier_legend_items",
]

#: Folder of the vendored web assets (shipped as package data).
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Leaflet version vendored in ``STATIC_DIR / "leaflet"`` (the one folium 0.20 references).
LEAFLET_VERSION = "1.9.3"
_LEAFLET_DIR = STATIC_DIR / "leaflet"
_LEAFLET_IMAGES = (
    "layers.png",
    "layers-2x.png",
    "marker-icon.png",
    "marker-icon-2x.png",
    "marker-shadow.png",
)

Lang = Literal["zh", "en", "both"]

#: Plain map background used instead of a basemap (a light warm grey, like paper).
DEFAULT_BACKGROUND = "#f2efe9"

# Baidu's tiles are drawn in BD-09 on its own tiling (not the usual Web Mercator grid), so its
# tiles cannot be lined up with the overlays by shifting them; it is refused with a pointer to
# what works. Amap/Gaode (GCJ-02) is offered: the overlays are shifted into GCJ-02 for display.
_REFUSED_BASEMAPS = {"baidu": "BD-09", "bd09": "BD-09"}
_BASEMAP_ALIASES = {
    "openstreetmap": "osm",
    "gaode": "amap",
    "autonavi": "amap",
    "tianditu": "tianditu_vec",
}


# ---------------------------------------------------------------------------------------------
# Styles
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierStyle:
    """How one facility tier is drawn: colour, symbol shape, size and bilingual label."""

    color: str
    symbol: str
    zh: str
    en: str
    size_px: int

    def label(self, lang: Lang = "both") -> str:
        return _label(self.zh, self.en, lang)


# Okabe-Ito colours (distinguishable with common colour-vision deficiencies) and a different
# shape per tier, so the map still reads when printed in grey.
TIER_STYLE: dict[str, TierStyle] = {
    "hospital": TierStyle("#D55E00", "cross", "医院", "Hospital", 18),
    "township_center": TierStyle("#0072B2", "square", "乡镇卫生院", "Township health center", 15),
    "community_center": TierStyle(
        "#009E73", "diamond", "社区卫生服务中心", "Community health center", 17
    ),
    "community_station": TierStyle(
        "#CC79A7", "triangle", "社区卫生服务站", "Community health station", 15
    ),
    "village_clinic": TierStyle("#E69F00", "circle", "村卫生室", "Village clinic", 12),
    "family_doctor_point": TierStyle(
        "#56B4E9", "ring", "家庭医生服务点", "Family doctor point", 12
    ),
    "other": TierStyle("#7F7F7F", "dot", "其他医疗卫生机构", "Other health facility", 10),
}

_PROPOSAL_SIZE_PX = 22

# Boundary outline per administrative level: (weight px, colour, dash pattern, zh, en).
_LEVEL_STYLE: dict[str, tuple[float, str, str | None, str, str]] = {
    "province": (4.0, "#222222", None, "省", "province"),
    "city": (3.5, "#222222", None, "市", "city"),
    "county": (3.0, "#333333", None, "县/区", "county"),
    "township": (1.8, "#555555", None, "乡镇/街道", "township"),
    "village": (0.9, "#777777", "3 3", "村/社区", "village"),
}
_DEFAULT_LEVEL_STYLE = (1.2, "#555555", None, "", "")

# Isochrones: darkest for the shortest time, lighter as minutes grow.
_ISOCHRONE_COLORS = ("#08519c", "#c6dbef")
#: Colours of the uncovered-population classes (residents per area), yellow to red.
UNCOVERED_COLORS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
_UNCOVERED_COLORS = UNCOVERED_COLORS
#: Lower edges of the uncovered-population classes 2..5 (residents); class 1 is below 100.
#: One definition for every map (app, HTML report, CLI map), so colours compare across views.
UNCOVERED_BREAKS: tuple[int, ...] = (100, 500, 1_000, 5_000)

_BOUNDARY_PANE = "plannerBoundaries"


def _label(zh: str, en: str, lang: Lang) -> str:
    if lang == "zh":
        return zh or en
    if lang == "en":
        return en or zh
    return f"{zh} / {en}" if zh and en else (zh or en)


def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en", "both"):
        raise InputError(f"lang={lang!r}: use 'zh', 'en' or 'both'")


def _star_path(n: int = 5, r_out: float = 9.5, r_in: float = 4.0, c: float = 10.0) -> str:
    pts = []
    for i in range(2 * n):
        r = r_out if i % 2 == 0 else r_in
        a = math.pi / n * i - math.pi / 2
        pts.append(f"{c + r * math.cos(a):.2f} {c + r * math.sin(a):.2f}")
    return "M" + " L".join(pts) + " Z"


# Shapes on a 20 x 20 view box; {fill}, {stroke} and {sw} are filled in by symbol_svg().
_SYMBOL_SHAPES = {
    "circle": '<circle cx="10" cy="10" r="8.5" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>',
    "ring": '<circle cx="10" cy="10" r="7.5" fill="#ffffff" stroke="{fill}" stroke-width="4"/>',
    "dot": '<circle cx="10" cy="10" r="7" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>',
    "square": '<rect x="1.5" y="1.5" width="17" height="17" rx="2" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>',
    "diamond": '<path d="M10 0.8 L19.2 10 L10 19.2 L0.8 10 Z" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>',
    "triangle": '<path d="M10 1.2 L19.2 18.5 L0.8 18.5 Z" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>',
    "cross": (
        '<rect x="1" y="1" width="18" height="18" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>'
        '<path d="M8 4 H12 V8 H16 V12 H12 V16 H8 V12 H4 V8 H8 Z" fill="#ffffff"/>'
    ),
    "star": f'<path d="{_star_path()}" fill="{{fill}}" stroke="{{stroke}}" stroke-width="{{sw}}" stroke-linejoin="round"/>',
}


def symbol_svg(
    symbol: str, color: str, size_px: int, *, stroke: str = "#ffffff", stroke_width: float = 1.5
) -> str:
    """Inline SVG markup for a map symbol (``circle``, ``ring``, ``dot``, ``square``,
    ``diamond``, ``triangle``, ``cross`` or ``star``).

    Examples
    --------
    >>> symbol_svg("square", "#0072B2", 14)[:40]
    '<svg width="14" height="14" viewBox="0 0'
    """
    try:
        shape = _SYMBOL_SHAPES[symbol]
    except KeyError:
        raise InputError(f"symbol={symbol!r}: use one of {sorted(_SYMBOL_SHAPES)}") from None
    body = shape.format(fill=html.escape(color), stroke=html.escape(stroke), sw=f"{stroke_width:g}")
    return (
        f'<svg width="{size_px}" height="{size_px}" viewBox="0 0 20 20" '
        f'style="display:block;overflow:visible">{body}</svg>'
    )


def _tier_style(tier: str) -> TierStyle:
    return TIER_STYLE.get(tier, TIER_STYLE["other"])


def tier_legend_items(
    tiers: Iterable[str] | None = None, *, lang: Lang = "both"
) -> list[tuple[str, str]]:
    """Legend items ``(label, svg)`` for facility tiers, in :data:`TIER_STYLE` order.

    Parameters
    ----------
    tiers
        Tiers to list (unknown values are drawn and listed as ``other``); default: all tiers.
    lang
        ``"zh"``, ``"en"`` or ``"both"``.

    Examples
    --------
    >>> [label for label, _ in tier_legend_items(["village_clinic"], lang="en")]
    ['Village clinic']
    """
    _check_lang(lang)
    wanted = (
        set(TIER_STYLE) if tiers is None else {t if t in TIER_STYLE else "other" for t in tiers}
    )
    return [
        (st.label(lang), symbol_svg(st.symbol, st.color, 14))
        for tier, st in TIER_STYLE.items()
        if tier in wanted
    ]


# ---------------------------------------------------------------------------------------------
# Map and assets
# ---------------------------------------------------------------------------------------------


@cache
def _inline_assets() -> tuple[str, str, dict[str, str]]:
    """Leaflet JS, CSS (images as data: URIs) and the marker image data: URIs."""
    images = {
        name: "data:image/png;base64,"
        + base64.b64encode((_LEAFLET_DIR / "images" / name).read_bytes()).decode("ascii")
        for name in _LEAFLET_IMAGES
    }
    css = (_LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\(images/([\w.-]+)\)", lambda mt: f"url({images[mt.group(1)]})", css)
    js = (_LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover - vendored file
        raise PackageDataError(
            f"the vendored Leaflet in {_LEAFLET_DIR} cannot be embedded: it contains a closing tag. "
            "Fix: restore it as planner/static/README.md describes (or reinstall planner)."
        )
    # The source map comment would make devtools request leaflet.js.map; drop it.
    js = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", js)
    return js, css, images


def _served_base(static_url: str) -> str:
    url = static_url.strip().rstrip("/")
    if "://" in url or url.startswith("/"):
        return url
    return "/" + url


# Text of the notice shown on the map when base map tiles fail to load.
_TILE_NOTICE = (
    "底图瓦片无法加载（无网络，或密钥无效）；其余图层照常显示",
    "Base map tiles could not load (no internet, or an invalid key); the other layers still show",
)
# Zoom levels at which the map container gets a class ``planner-z<N>`` (zoom >= N), so CSS can
# show minor roads and village names only when zoomed in (no per-layer JavaScript).
_ZOOM_STEPS = tuple(range(9, 17))
#: Zoom from which minor roads (residential, unclassified...) and paths are drawn.
MINOR_ROADS_ZOOM = 13
PATHS_ZOOM = 15
#: Zoom from which township and village names are shown.
TOWNSHIP_LABELS_ZOOM = 10
VILLAGE_LABELS_ZOOM = 13

_MAP_CSS = f"""
.planner-symbol {{ background: none; border: none; }}
.planner-road-minor, .planner-road-path {{ display: none; }}
.planner-z{MINOR_ROADS_ZOOM} .planner-road-minor {{ display: inline; }}
.planner-z{PATHS_ZOOM} .planner-road-path {{ display: inline; }}
.planner-place {{ background: none; border: none; width: 0 !important; height: 0 !important; }}
.planner-place span {{
    position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
    pointer-events: none; color: #3a3a3a;
    text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 4px #fff;
}}
.planner-place-township span {{ font-size: 13px; font-weight: 600; letter-spacing: 0.5px; }}
.planner-place-village span {{ font-size: 11px; color: #555; }}
.planner-place-township, .planner-place-village {{ display: none; }}
.planner-z{TOWNSHIP_LABELS_ZOOM} .planner-place-township {{ display: block; }}
.planner-z{VILLAGE_LABELS_ZOOM} .planner-place-village {{ display: block; }}
.planner-tile-notice {{
    background: rgba(255, 243, 205, 0.95); color: #664d03; border: 1px solid #e0c36a;
    border-radius: 4px; padding: 4px 8px; font: 12px/1.3 system-ui, sans-serif; max-width: 320px;
}}
"""


class _OfflineAssets(MacroElement):
    """Loads the vendored Leaflet (inline or served), sets the plain background, the metric
    scale bar, the zoom classes and the notice shown when base map tiles fail to load.

    Added as the first child of the map, so its header comes after the map's own header and its
    script runs before any layer creates a marker.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        {%- if this.mode == "inline" %}
        <style>{{ this.inline_css }}</style>
        <script>{{ this.inline_js }}</script>
        {%- endif %}
        <style>
        #{{ this._parent.get_name() }}.leaflet-container {
            background: {{ this.background }};
            font-size: {{ this.font_size }};
        }
        {{ this.css }}
        </style>
        {% endmacro %}

        {% macro script(this, kwargs) %}
        {%- if this.mode == "inline" %}
        L.Icon.Default.imagePath = "";
        L.Icon.Default.mergeOptions({{ this.icon_urls|tojson }});
        {%- else %}
        L.Icon.Default.imagePath = {{ this.image_path|tojson }};
        {%- endif %}
        (function (map) {
            map.getContainer().style.background = {{ this.background|tojson }};
            {%- if this.scale %}
            L.control.scale({metric: true, imperial: false, maxWidth: 120}).addTo(map);
            {%- endif %}
            var box = map.getContainer(), steps = {{ this.zoom_steps|tojson }};
            function zoomClasses() {
                var z = map.getZoom();
                steps.forEach(function (t) {
                    if (z >= t) { L.DomUtil.addClass(box, "planner-z" + t); }
                    else { L.DomUtil.removeClass(box, "planner-z" + t); }
                });
            }
            map.on("zoomend", zoomClasses);
            map.whenReady(zoomClasses);
            var notice = null, failing = [];
            function showNotice(e) {
                if (failing.indexOf(e.target) < 0) { failing.push(e.target); }
                if (notice) { return; }
                notice = L.control({position: "bottomleft"});
                notice.onAdd = function () {
                    var div = L.DomUtil.create("div", "planner-tile-notice leaflet-control");
                    div.setAttribute("role", "status");
                    div.textContent = {{ this.tile_notice|tojson }};
                    return div;
                };
                notice.addTo(map);
            }
            function layerGone(e) {
                failing = failing.filter(function (l) { return l !== e.target; });
                if (notice && !failing.length) { notice.remove(); notice = null; }
            }
            function watch(layer) {
                if (!(layer instanceof L.TileLayer) || layer._plannerWatched) { return; }
                layer._plannerWatched = true;
                layer.on("tileerror", showNotice);
                layer.on("remove", layerGone);
            }
            map.eachLayer(watch);
            map.on("layeradd", function (e) { watch(e.layer); });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self, mode: str, static_url: str, background: str, *, lang: Lang = "both", scale: bool
    ) -> None:
        super().__init__()
        self._name = "OfflineAssets"
        # One text size whatever the order in which Leaflet's CSS and folium's style load
        # (folium sets 1rem, Leaflet 12px; st_folium loads Leaflet's CSS before the header).
        self.font_size = "13px"
        self.static_url = static_url
        self.background = background
        self.mode = mode
        self.lang = lang
        self.scale = scale
        self.css = _MAP_CSS
        self.zoom_steps = list(_ZOOM_STEPS)
        self.tile_notice = _label(*_TILE_NOTICE, lang)

    # Computed on render so that save_html() can switch a served map to inline.
    @property
    def inline_js(self) -> str:
        return _inline_assets()[0]

    @property
    def inline_css(self) -> str:
        return _inline_assets()[1]

    @property
    def icon_urls(self) -> dict[str, str]:
        img = _inline_assets()[2]
        return {
            "iconUrl": img["marker-icon.png"],
            "iconRetinaUrl": img["marker-icon-2x.png"],
            "shadowUrl": img["marker-shadow.png"],
        }

    @property
    def image_path(self) -> str:
        return _served_base(self.static_url) + "/leaflet/images/"


def _apply_assets(m: folium.Map, mode: str, static_url: str) -> None:
    """Replace folium's CDN links on this map instance (never on the class)."""
    if mode == "inline":
        m.default_js = []
        m.default_css = []
    else:
        base = _served_base(static_url)
        m.default_js = [("leaflet", f"{base}/leaflet/leaflet.js")]
        m.default_css = [("leaflet_css", f"{base}/leaflet/leaflet.css")]
    # Links from an earlier render stay in the figure header; drop folium's names for them.
    root = m.get_root()
    if isinstance(root, Figure):
        for name, _ in folium.Map.default_js + folium.Map.default_css:
            root.header._children.pop(name, None)


def _assets_element(m: folium.Map) -> _OfflineAssets:
    for child in m._children.values():
        if isinstance(child, _OfflineAssets):
            return child
    raise InputError("this map was not made by planner.maps.new_map(); create it with new_map()")


def _check_bounds(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
    except (TypeError, ValueError):
        raise InputError(
            f"bounds={bounds!r}: expected (minx, miny, maxx, maxy) in lon/lat degrees. "
            "Fix: pass gdf.to_crs(4326).total_bounds"
        ) from None
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))):
        raise InputError(
            f"bounds={bounds!r} contain NaN or infinity (an empty frame's total_bounds?). "
            "Fix: pass the bounds of a non-empty layer"
        )
    if (
        minx > maxx
        or miny > maxy
        or not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90)
    ):
        raise InputError(
            f"bounds={bounds!r} are not (minx, miny, maxx, maxy) in lon/lat degrees. "
            "Fix: reproject with gdf.to_crs(4326) and pass total_bounds"
        )
    # A single point (or a line) has no extent to fit; open it to about 1 km.
    if maxx - minx < 1e-4:
        minx, maxx = minx - 0.005, maxx + 0.005
    if maxy - miny < 1e-4:
        miny, maxy = miny - 0.005, maxy + 0.005
    return minx, miny, maxx, maxy


def new_map(
    bounds: Sequence[float],
    *,
    assets: Literal["inline", "served"] = "inline",
    static_url: str = "app/static",
    basemap: str | folium.TileLayer | None = None,
    tianditu_key: str = "",
    background: str = DEFAULT_BACKGROUND,
    lang: Lang = "both",
    width: str | int = "100%",
    height: str | int = "100%",
    max_zoom: int = 19,
    control_scale: bool = True,
    prefer_canvas: bool = False,
) -> folium.Map:
    """A folium map that needs no internet, fitted to ``bounds``.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in lon/lat degrees (WGS-84), e.g. ``gdf.total_bounds`` of
        a frame in EPSG:4326.
    assets
        ``"inline"``: Leaflet's JS/CSS are embedded in the page and its images are ``data:``
        URIs (a saved file works from disk, in a notebook or in ``components.html``).
        ``"served"``: they are loaded from ``/<static_url>/leaflet/`` (Streamlit static
        serving), which is what ``streamlit_folium.st_folium`` needs.
        No CDN is referenced in either mode.
    static_url
        URL path under which ``planner/static`` is served (Streamlit: ``app/static``).
    basemap
        ``None`` (default): no tiles, a plain ``background`` (draw the roads and place names
        with :func:`add_roads` and :func:`add_place_labels` so the map reads offline).
        An online base map of :data:`planner.basemaps.BASEMAPS`, shown when the map opens:
        ``"osm"``, ``"tianditu_vec"`` / ``"tianditu_img"`` (天地图 vector / imagery with labels;
        needs ``tianditu_key``), ``"amap"`` / ``"amap_img"`` (高德; drawn in GCJ-02, so every
        layer added afterwards is shifted into GCJ-02 for display: see
        :func:`display_datum`). A :class:`folium.TileLayer` in WGS-84 based Web Mercator is
        added as given. When tiles cannot load, the map says so in a small notice.
    tianditu_key
        Your Tianditu key (天地图 ``tk``), for the Tianditu base maps.
    background
        CSS colour of the map area where there are no tiles.
    lang
        Language of the basemap layer name and notices: ``"zh"``, ``"en"`` or ``"both"``.
    width, height
        Size of the map (CSS length or pixels).
    max_zoom
        Deepest zoom level (there are no tiles to bound it).
    control_scale
        Show a metric scale bar (no miles and feet).
    prefer_canvas
        Draw vectors on a canvas instead of SVG (faster with tens of thousands of polygons;
        the zoom-dependent roads and names need SVG).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> m = new_map((116.3, 39.8, 116.5, 40.0))
    >>> m.default_js
    []
    >>> new_map((116.3, 39.8, 116.5, 40.0), assets="served").default_js
    [('leaflet', '/app/static/leaflet/leaflet.js')]
    >>> display_datum(new_map((116.3, 39.8, 116.5, 40.0), basemap="amap"))
    'gcj02'
    """
    if assets not in ("inline", "served"):
        raise InputError(f"assets={assets!r}: use 'inline' (saved HTML) or 'served' (Streamlit)")
    _check_lang(lang)
    minx, miny, maxx, maxy = _check_bounds(bounds)
    key = _basemap_key(basemap) if basemap is not None else None
    datum = basemaps.BASEMAPS[key].datum if key is not None else "wgs84"
    if datum != "wgs84":
        (minx, maxx), (miny, maxy) = basemaps.to_display(
            np.array([minx, maxx]), np.array([miny, maxy]), datum=datum
        )
        minx, maxx, miny, maxy = (float(v) for v in (minx, maxx, miny, maxy))

    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=12,
        tiles=None,
        width=width,
        height=height,
        control_scale=False,  # ours: metric only (Leaflet's default adds miles and feet)
        prefer_canvas=prefer_canvas,
    )
    # Without a tile layer Leaflet has no zoom limit; fitting tiny bounds would zoom forever.
    m.options["maxZoom"] = int(max_zoom)
    # half zoom steps: the study area fills the map (whole steps can leave it at half size)
    m.options["zoomSnap"] = 0.5
    _apply_assets(m, assets, static_url)
    m.add_child(
        _OfflineAssets(assets, static_url, background, lang=lang, scale=control_scale),
        name="planner_offline_assets",
    )
    set_display_datum(m, datum)

    if isinstance(basemap, folium.TileLayer):
        basemap.add_to(m)
    elif key is not None:
        _add_basemap(m, key, tianditu_key=tianditu_key, lang=lang, max_zoom=int(max_zoom))
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _basemap_key(basemap: str | folium.TileLayer) -> str | None:
    """The :data:`planner.basemaps.BASEMAPS` key of ``basemap`` (None for a TileLayer)."""
    if isinstance(basemap, folium.TileLayer):
        return None
    key = str(basemap).strip().lower().replace("-", "_")
    key = _BASEMAP_ALIASES.get(key, key)
    if key in _REFUSED_BASEMAPS:
        raise InputError(
            f"basemap={basemap!r} is drawn in {_REFUSED_BASEMAPS[key]} on Baidu's own tile grid, "
            "which cannot be lined up with planner's WGS-84 layers; use 'amap' (the overlays are "
            "shifted into GCJ-02), 'tianditu_vec', 'osm' or no basemap"
        )
    if key not in basemaps.BASEMAPS:
        raise InputError(
            f"basemap={basemap!r}: use None, one of {', '.join(basemaps.BASEMAPS)} or a "
            "folium.TileLayer"
        )
    return key


def _add_basemap(m: folium.Map, key: str, *, tianditu_key: str, lang: Lang, max_zoom: int) -> None:
    spec = basemaps.BASEMAPS[key]
    urls = basemaps.tile_urls(key, api_key=tianditu_key, lang="en" if lang == "en" else "zh")
    online = _label("（需联网）", " (online)", lang) if lang != "both" else "（需联网 / online）"
    for i, url in enumerate(urls):
        name = spec.label(lang) + online
        if i:
            name = spec.label(lang) + _label(" 注记", " labels", lang)
        folium.TileLayer(
            url,
            name=name,
            attr=spec.attribution,
            subdomains=spec.subdomains,
            overlay=True,  # a switchable layer, drawn in the tile pane under every overlay
            show=True,  # chosen by the user; the notice says so when the tiles cannot load
            max_zoom=max_zoom,
            max_native_zoom=spec.max_native_zoom,
        ).add_to(m)


class _DisplayDatum(MacroElement):
    """Marks a map or feature group whose layers are drawn in another datum (renders nothing)."""

    _template = Template("")

    def __init__(self, datum: str) -> None:
        super().__init__()
        self._name = "DisplayDatum"
        self.datum = datum


def set_display_datum(parent: folium.Map | folium.FeatureGroup, datum: str) -> None:
    """Draw the layers added to ``parent`` from now on in ``datum`` (``"wgs84"`` or
    ``"gcj02"``). :func:`new_map` sets it from the base map; a feature group rendered apart
    from its map (``streamlit_folium``'s dynamic layers) needs it set to the map's datum."""
    if datum not in basemaps.DATUMS:
        raise InputError(f"datum={datum!r}: use one of {', '.join(basemaps.DATUMS)}")
    for name, child in list(parent._children.items()):
        if isinstance(child, _DisplayDatum):
            del parent._children[name]
    if datum != "wgs84":
        parent.add_child(_DisplayDatum(datum))


def display_datum(parent: Any) -> str:
    """The datum in which layers added to ``parent`` are drawn: ``"gcj02"`` on an Amap base
    map, otherwise ``"wgs84"``. Read a click on the map back into WGS-84 with
    :func:`planner.basemaps.from_display`."""
    for child in getattr(parent, "_children", {}).values():
        if isinstance(child, _DisplayDatum):
            return child.datum
    return "wgs84"


# ---------------------------------------------------------------------------------------------
# GeoDataFrame -> compact GeoJSON
# ---------------------------------------------------------------------------------------------


def _prepare(
    gdf: gpd.GeoDataFrame,
    required: Sequence[str],
    *,
    what: str,
    points: bool = False,
    numeric: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Check columns and CRS; return a copy in EPSG:4326 without empty geometries."""
    p = Problems(what)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        p.add(
            f"column(s) {', '.join(map(repr, missing))} missing (has {', '.join(map(str, gdf.columns))})",
            fix=f"provide columns {', '.join(required)}",
        )
    for col in numeric:
        if col in gdf.columns and not pd.api.types.is_numeric_dtype(gdf[col]):
            p.add(
                f"column {col!r} is not numeric", fix=f"convert it with pd.to_numeric(gdf[{col!r}])"
            )
    p.raise_if_any()
    if gdf.crs is None:
        raise CRSError(
            f"{what}: the GeoDataFrame has no CRS. Fix: gdf.set_crs(4326) if the coordinates are "
            "WGS-84 lon/lat, otherwise set the right CRS"
        )
    out = gdf if gdf.crs.equals("EPSG:4326") else gdf.to_crs(4326)
    empty = out.geometry.isna() | out.geometry.is_empty
    if empty.any():
        log.warning(
            "%s: %d row(s) without geometry not drawn: %s",
            what,
            int(empty.sum()),
            describe_rows(out.index[empty]),
        )
        out = out[~empty]
    if points:
        bad = ~out.geom_type.isin(["Point"])
        if bad.any():
            raise InputError(
                f"{what}: {int(bad.sum())} geometry(ies) are not points "
                f"(rows {describe_rows(out.index[bad])}). Fix: use gdf.representative_point()"
            )
    return out


def _simplify(geoms: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Simplify lon/lat geometries by about ``tolerance_m`` metres (local equirectangular)."""
    if tolerance_m <= 0 or len(geoms) == 0:
        return geoms
    _, miny, _, maxy = shapely.total_bounds(geoms)
    k = max(math.cos(math.radians((miny + maxy) / 2)), 0.01)
    scale = np.array([k, 1.0])
    scaled = shapely.transform(geoms, lambda c: c * scale)
    simple = shapely.simplify(scaled, tolerance_m / 111_320.0, preserve_topology=True)
    return shapely.transform(simple, lambda c: c / scale)


def _json_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (str, int, bool)):
        return v
    return str(v)


def _feature_collection(
    gdf: gpd.GeoDataFrame,
    properties: Mapping[str, Sequence[Any]],
    *,
    simplify_m: float = 0.0,
    datum: str = "wgs84",
    decimals: int = 6,
) -> dict:
    """GeoJSON dict with coordinates rounded to ``decimals`` (6: ~0.1 m) and only
    ``properties``, moved into ``datum`` for display (the analysis stays in WGS-84)."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geoms = _simplify(geoms, simplify_m)
    geoms = basemaps.geometries_to_display(geoms, datum=datum)
    geoms = shapely.transform(geoms, lambda c: np.round(c, decimals))
    cols = {k: [_json_value(v) for v in vals] for k, vals in properties.items()}
    features = []
    for i, geom in enumerate(geoms):
        features.append(
            {
                "type": "Feature",
                "id": i,
                "properties": {k: vals[i] for k, vals in cols.items()},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _text(series: pd.Series) -> list[str]:
    # Escaped: Leaflet tooltips are HTML, so a name like "A&B <x>" must not become markup.
    return ["" if pd.isna(v) else html.escape(str(v), quote=False) for v in series]


def _tooltip(
    data: dict, fields: Sequence[str], aliases: Sequence[str]
) -> folium.GeoJsonTooltip | None:
    if not data["features"]:  # folium checks the fields against the first feature
        return None
    return folium.GeoJsonTooltip(
        fields=list(fields), aliases=list(aliases), localize=True, sticky=True
    )


def _ensure_pane(m: folium.Map, name: str, z_index: int) -> None:
    for child in m._children.values():
        if isinstance(child, folium.map.CustomPane) and child.name == name:
            return
    # pointer_events=False sets "pointer-events: none" on the pane, so the pane's SVG does not
    # cover layers below it; Leaflet's interactive paths set "pointer-events: auto" themselves,
    # so the outlines still show their tooltips.
    m.add_child(folium.map.CustomPane(name, z_index=z_index, pointer_events=False))


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------


def add_boundaries(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    show: bool = True,
    lang: Lang = "both",
    simplify_m: float = 5.0,
) -> folium.GeoJson:
    """Administrative boundaries as outlines (thicker for higher levels) with name/code tooltips.

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    gdf
        Columns ``admin_code``, ``admin_name``, ``level`` (``province``, ``city``, ``county``,
        ``township``, ``village``), (Multi)Polygons in EPSG:4326 (other CRSs are reprojected).
    name
        Layer name in the layer control (default: bilingual "Boundaries").
    show
        Whether the layer is on when the map opens.
    lang
        Language of labels: ``"zh"``, ``"en"`` or ``"both"``.
    simplify_m
        Simplification tolerance in metres (0 keeps every vertex).

    Returns
    -------
    folium.GeoJson
        The layer added (``layer.data`` holds the GeoJSON).

    Notes
    -----
    The outlines are drawn in their own pane above the other polygons, and only the lines react
    to the mouse, so isochrone and uncovered-area tooltips still work inside the boundaries.
    """
    _check_lang(lang)
    g = _prepare(gdf, ["admin_code", "admin_name", "level"], what="boundaries")
    levels = _text(g["level"])
    rank = [_LEVEL_STYLE.get(lv, _DEFAULT_LEVEL_STYLE)[0] for lv in levels]
    order = np.argsort(rank, kind="stable")  # finer levels first, county lines drawn on top
    g = g.iloc[order]
    levels = [levels[i] for i in order]
    level_label = [
        _label(*_LEVEL_STYLE[lv][3:], lang) if lv in _LEVEL_STYLE else lv for lv in levels
    ]
    data = _feature_collection(
        g,
        {
            "admin_name": _text(g["admin_name"]),
            "admin_code": _text(g["admin_code"]),
            "level": levels,
            "level_label": level_label,
        },
        simplify_m=simplify_m,
        datum=display_datum(m),
    )

    def style(feature: dict) -> dict:
        weight, color, dash, _, _ = _LEVEL_STYLE.get(
            feature["properties"]["level"], _DEFAULT_LEVEL_STYLE
        )
        out = {"color": color, "weight": weight, "opacity": 0.9, "fill": False}
        if dash:
            out["dashArray"] = dash
        return out

    def highlight(feature: dict) -> dict:
        weight = _LEVEL_STYLE.get(feature["properties"]["level"], _DEFAULT_LEVEL_STYLE)[0]
        return {"color": "#000000", "weight": weight + 2}

    _ensure_pane(m, _BOUNDARY_PANE, 450)
    layer = folium.GeoJson(
        data,
        name=name or _label("行政区划", "Boundaries", lang),
        show=show,
        style_function=style,
        highlight_function=highlight,
        tooltip=_tooltip(
            data,
            ["admin_name", "admin_code", "level_label"],
            [
                _label("名称", "Name", lang),
                _label("代码", "Code", lang),
                _label("级别", "Level", lang),
            ],
        ),
        pane=_BOUNDARY_PANE,
    )
    layer.add_to(m)
    return layer


def _point_layer(
    m: folium.Map,
    data: dict,
    style: Any,
    *,
    name: str,
    show: bool,
    tooltip: folium.GeoJsonTooltip | None,
    z_index_offset: int = 0,
) -> folium.GeoJson:
    marker = folium.Marker(icon=folium.DivIcon(class_name="planner-symbol"))
    if z_index_offset:
        marker.options["zIndexOffset"] = z_index_offset
    layer = folium.GeoJson(
        data, name=name, show=show, style_function=style, tooltip=tooltip, marker=marker
    )
    layer.add_to(m)
    return layer


def _icon_options(svg: str, size: int, css_class: str) -> dict:
    return {
        "html": svg,
        "iconSize": [size, size],
        "iconAnchor": [size / 2, size / 2],
        "tooltipAnchor": [size / 2, 0],
        "className": css_class,
    }


def add_facilities(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    show: bool = True,
    lang: Lang = "both",
    legend: bool = True,
) -> folium.GeoJson:
    """Health facilities, one symbol and colour per tier (see :data:`TIER_STYLE`).

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    gdf
        Columns ``facility_id``, ``name``, ``tier`` (optional ``type``), Points in EPSG:4326.
        Tiers not in :data:`TIER_STYLE` are drawn as ``other``.
    name, show, lang
        Layer name (default bilingual "Facilities"), initial visibility, label language.
    legend
        Add a legend of the tiers present (shown while the layer is on).

    Returns
    -------
    folium.GeoJson
    """
    _check_lang(lang)
    g = _prepare(gdf, ["facility_id", "name", "tier"], what="facilities", points=True)
    tiers = _text(g["tier"])
    props: dict[str, list] = {
        "facility_id": _text(g["facility_id"]),
        "name": _text(g["name"]),
        "tier": tiers,
        "tier_label": [
            _tier_style(t).label(lang) if t in TIER_STYLE else f"{t} ({_tier_style(t).label(lang)})"
            for t in tiers
        ],
    }
    fields = ["name", "tier_label", "facility_id"]
    aliases = [
        _label("名称", "Name", lang),
        _label("级别", "Tier", lang),
        _label("编号", "ID", lang),
    ]
    if "type" in g.columns:
        props["type"] = _text(g["type"])
        fields.insert(2, "type")
        aliases.insert(2, _label("类型", "Type", lang))
    data = _feature_collection(g, props, datum=display_datum(m))

    def style(feature: dict) -> dict:
        tier = feature["properties"]["tier"]
        st = _tier_style(tier)
        key = tier if tier in TIER_STYLE else "other"
        return _icon_options(
            symbol_svg(st.symbol, st.color, st.size_px), st.size_px, f"planner-symbol planner-{key}"
        )

    layer = _point_layer(
        m,
        data,
        style,
        name=name or _label("医疗卫生机构", "Facilities", lang),
        show=show,
        tooltip=_tooltip(data, fields, aliases),
    )
    if legend and tiers:
        add_legend(
            m,
            tier_legend_items(tiers, lang=lang),
            title=_label("医疗卫生机构", "Facilities", lang),
            layer=layer,
        )
    return layer


def add_isochrones(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    show: bool = True,
    lang: Lang = "both",
    dissolve: bool = False,
    legend: bool = True,
    fill_opacity: float = 0.3,
    simplify_m: float = 5.0,
) -> folium.GeoJson:
    """Isochrones (areas reachable within ``minutes``) for one or several thresholds.

    Larger thresholds are drawn first (underneath) in lighter blues, so nested isochrones read
    as rings from dark (closest) to light.

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    gdf
        Columns ``facility_id``, ``minutes`` (optional ``name``), (Multi)Polygons in EPSG:4326.
    name, show, lang
        Layer name (default bilingual "Isochrones"), initial visibility, label language.
    dissolve
        Merge the isochrones of all facilities per threshold (one feature per ``minutes``), so
        overlaps do not darken; tooltips then show only the minutes.
    legend
        Add a legend of the thresholds (shown while the layer is on).
    fill_opacity
        Fill opacity of each isochrone.
    simplify_m
        Simplification tolerance in metres (0 keeps every vertex).

    Returns
    -------
    folium.GeoJson
    """
    _check_lang(lang)
    g = _prepare(gdf, ["facility_id", "minutes"], what="isochrones", numeric=["minutes"])
    if dissolve and len(g):
        g = g[["minutes", "geometry"]].dissolve(by="minutes", as_index=False)
        g["facility_id"] = ""
    g = g.sort_values("minutes", ascending=False, kind="stable")
    minutes = g["minutes"].to_numpy(dtype=float)
    levels = sorted(set(minutes[np.isfinite(minutes)].tolist()))
    colors = _isochrone_colors(levels)
    props: dict[str, list] = {"minutes": [_json_value(v) for v in minutes]}
    fields, aliases = ["minutes"], [_label("分钟", "Minutes", lang)]
    if not dissolve:
        props["facility_id"] = _text(g["facility_id"])
        fields.insert(0, "facility_id")
        aliases.insert(0, _label("机构编号", "Facility", lang))
        if "name" in g.columns:
            props["name"] = _text(g["name"])
            fields.insert(0, "name")
            aliases.insert(0, _label("机构", "Facility", lang))
    data = _feature_collection(g, props, simplify_m=simplify_m, datum=display_datum(m))

    def style(feature: dict) -> dict:
        color = colors.get(feature["properties"]["minutes"], "#999999")
        return {
            "color": color,
            "weight": 1,
            "opacity": 0.8,
            "fillColor": color,
            "fillOpacity": fill_opacity,
        }

    label = _label("等时圈", "Isochrones", lang)
    layer = folium.GeoJson(
        data,
        name=name or label,
        show=show,
        style_function=style,
        highlight_function=lambda f: {"weight": 3},
        tooltip=_tooltip(data, fields, aliases),
    )
    layer.add_to(m)
    if legend and levels:
        items = [
            (
                _label(f"{_minutes_text(v)} 分钟内", f"within {_minutes_text(v)} min", lang),
                _rgba(colors[v], fill_opacity),
            )
            for v in levels
        ]
        add_legend(m, items, title=label, layer=layer)
    return layer


def _minutes_text(v: float) -> str:
    """Minutes for a label: whole minutes as integers ("5"), others to a tenth ("7.5")."""
    return f"{round(v)}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def _rgba(hex_color: str, alpha: float) -> str:
    """CSS colour of a fill as drawn with ``fillOpacity`` (for legend swatches)."""
    h = hex_color.lstrip("#")[:6]
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def _isochrone_colors(levels: Sequence[float]) -> dict[float, str]:
    if not levels:
        return {}
    if len(levels) == 1:
        return {levels[0]: _ISOCHRONE_COLORS[0]}
    cmap = branca.colormap.LinearColormap(list(_ISOCHRONE_COLORS), vmin=0, vmax=len(levels) - 1)
    return {v: cmap(i) for i, v in enumerate(levels)}


def uncovered_class(population: Any) -> np.ndarray:
    """Index in :data:`UNCOVERED_BREAKS` classes of each (rounded) resident count: the same
    fixed classes on every map, so two views can be compared by colour."""
    values = np.round(np.asarray(population, dtype=float))
    return np.searchsorted(np.asarray(UNCOVERED_BREAKS, dtype=float), values, side="right")


def uncovered_legend_items(lang: Lang = "both") -> list[tuple[str, str]]:
    """``(label, colour)`` of the uncovered-population classes, with their unit.

    Examples
    --------
    >>> [label for label, _ in uncovered_legend_items("zh")]
    ['< 100 人', '100–499 人', '500–999 人', '1,000–4,999 人', '≥ 5,000 人']
    """
    _check_lang(lang)
    unit = {"zh": "人", "en": "people", "both": "人"}[lang]
    edges = list(UNCOVERED_BREAKS)
    labels = [f"< {edges[0]:,} {unit}"]
    labels += [f"{lo:,}–{hi - 1:,} {unit}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"≥ {edges[-1]:,} {unit}")
    return list(zip(labels, _UNCOVERED_COLORS, strict=True))


def add_uncovered(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    show: bool = True,
    lang: Lang = "both",
    colormap: branca.colormap.ColorMap | None = None,
    legend: bool = True,
    fill_opacity: float = 0.75,
    simplify_m: float = 5.0,
) -> folium.GeoJson:
    """Uncovered population as a choropleth in fixed classes of ``population``.

    The classes (:data:`UNCOVERED_BREAKS`: < 100, 100–499, 500–999, 1,000–4,999, ≥ 5,000
    residents) are the same on every map, so the colours of two scenarios, modes or
    thresholds mean the same numbers.

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    gdf
        Column ``population`` (>= 0), (Multi)Polygons (demand-unit footprints) in EPSG:4326.
    name, show, lang
        Layer name (default bilingual "Uncovered population"), initial visibility, language.
    colormap
        A branca colormap to use instead of the fixed classes. It is used for the colours
        only: it is **not** added to the map, because branca's own legend loads d3 from a CDN;
        the legend is drawn by :func:`add_legend`.
    legend
        Add a legend of the classes (shown while the layer is on).
    fill_opacity
        Fill opacity of the areas.
    simplify_m
        Simplification tolerance in metres (0 keeps every vertex).

    Returns
    -------
    folium.GeoJson
    """
    _check_lang(lang)
    g = _prepare(gdf, ["population"], what="uncovered", numeric=["population"])
    pop = g["population"].to_numpy(dtype=float)
    shown = [None if not np.isfinite(v) else round(v) for v in pop]
    data = _feature_collection(
        g, {"population": shown}, simplify_m=simplify_m, datum=display_datum(m)
    )
    if colormap is not None:
        cmap = colormap

        def color_of(v: float) -> str:
            return cmap.rgb_hex_str(v)

        items = _colormap_items(cmap)
    else:

        def color_of(v: float) -> str:
            return _UNCOVERED_COLORS[int(uncovered_class(v))]

        items = uncovered_legend_items(lang)

    def style(feature: dict) -> dict:
        v = feature["properties"]["population"]
        color = "#cccccc" if v is None else color_of(v)
        return {"color": color, "weight": 0.5, "fillColor": color, "fillOpacity": fill_opacity}

    label = _label("未覆盖人口", "Uncovered population", lang)
    layer = folium.GeoJson(
        data,
        name=name or label,
        show=show,
        style_function=style,
        highlight_function=lambda f: {"weight": 2, "color": "#000000"},
        tooltip=_tooltip(
            data, ["population"], [_label("未覆盖人口（人）", "Uncovered (people)", lang)]
        ),
    )
    layer.add_to(m)
    if legend and len(g):
        add_legend(
            m,
            [(text, _rgba(color, fill_opacity)) for text, color in items],
            title=label,
            layer=layer,
        )
    return layer


def _colormap_items(cmap: branca.colormap.ColorMap) -> list[tuple[str, str]]:
    index = list(getattr(cmap, "index", [cmap.vmin, cmap.vmax]))
    if isinstance(cmap, branca.colormap.StepColormap):
        return [
            (f"{lo:,.0f} – {hi:,.0f}", cmap.rgb_hex_str((lo + hi) / 2))
            for lo, hi in zip(index[:-1], index[1:], strict=True)
        ]
    # Continuous colormap: sample five values.
    values = np.linspace(cmap.vmin, cmap.vmax, 5)
    return [(f"{v:,.0f}", cmap.rgb_hex_str(v)) for v in values]


def add_proposals(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    show: bool = True,
    lang: Lang = "both",
    legend: bool = True,
) -> folium.GeoJson:
    """Proposed new sites as stars (filled with the tier colour), drawn above facilities.

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    gdf
        Columns ``site_id``, ``tier``, ``newly_covered_population``, Points in EPSG:4326.
    name, show, lang
        Layer name (default bilingual "Proposed sites"), initial visibility, label language.
    legend
        Add a legend entry per proposed tier (shown while the layer is on).

    Returns
    -------
    folium.GeoJson
    """
    _check_lang(lang)
    g = _prepare(
        gdf,
        ["site_id", "tier", "newly_covered_population"],
        what="proposals",
        points=True,
        numeric=["newly_covered_population"],
    )
    tiers = _text(g["tier"])
    newly = g["newly_covered_population"].to_numpy(dtype=float)
    data = _feature_collection(
        g,
        {
            "site_id": _text(g["site_id"]),
            "tier": tiers,
            "tier_label": [_tier_style(t).label(lang) for t in tiers],
            "newly_covered_population": [None if not np.isfinite(v) else round(v) for v in newly],
        },
        datum=display_datum(m),
    )

    def style(feature: dict) -> dict:
        st = _tier_style(feature["properties"]["tier"])
        svg = symbol_svg("star", st.color, _PROPOSAL_SIZE_PX, stroke="#111111", stroke_width=1.3)
        return _icon_options(svg, _PROPOSAL_SIZE_PX, "planner-symbol planner-proposal")

    label = _label("建议新增站点", "Proposed sites", lang)
    layer = _point_layer(
        m,
        data,
        style,
        name=name or label,
        show=show,
        tooltip=_tooltip(
            data,
            ["site_id", "tier_label", "newly_covered_population"],
            [
                _label("站点", "Site", lang),
                _label("级别", "Tier", lang),
                _label("新增覆盖人口", "Newly covered population", lang),
            ],
        ),
        z_index_offset=1000,
    )
    if legend and tiers:
        present = {t if t in TIER_STYLE else "other" for t in tiers}
        items = [
            (
                _label(f"建议：{st.zh}", f"Proposed: {st.en}", lang),
                symbol_svg("star", st.color, 16, stroke="#111111", stroke_width=1.3),
            )
            for tier, st in TIER_STYLE.items()
            if tier in present
        ]
        add_legend(m, items, title=label, layer=layer)
    return layer


# ---------------------------------------------------------------------------------------------
# Roads and place names: the map reads without tiles
# ---------------------------------------------------------------------------------------------

#: How the road classes are drawn: (weight px, colour, dash, zh, en). Quiet warm greys, wider
#: for major roads; ``minor`` roads show from :data:`MINOR_ROADS_ZOOM`, ``path`` from
#: :data:`PATHS_ZOOM` (CSS classes on the map container, see ``_OfflineAssets``).
ROAD_STYLE: dict[str, tuple[float, str, str | None, str, str]] = {
    "motorway": (3.4, "#d7b48a", None, "高速公路/快速路", "Motorway / trunk road"),
    "primary": (2.6, "#bdb5a8", None, "主干道", "Primary road"),
    "secondary": (2.0, "#c5beb2", None, "次干道", "Secondary road"),
    "tertiary": (1.5, "#ccc6bc", None, "支路/县乡道", "Tertiary road"),
    "minor": (1.0, "#d3cec6", None, "街巷/村道", "Minor road"),
    "path": (0.8, "#d3cec6", "2 3", "小路", "Path / track"),
}
_HIGHWAY_CLASS = {
    **dict.fromkeys(("motorway", "motorway_link", "trunk", "trunk_link"), "motorway"),
    **dict.fromkeys(("primary", "primary_link"), "primary"),
    **dict.fromkeys(("secondary", "secondary_link"), "secondary"),
    **dict.fromkeys(("tertiary", "tertiary_link"), "tertiary"),
    **dict.fromkeys(
        ("track", "path", "footway", "cycleway", "pedestrian", "steps", "bridleway"), "path"
    ),
}
_ROADS_PANE = "plannerRoads"
_LABELS_PANE = "plannerLabels"


def _compact_json(value: Any) -> str:
    """JSON for a ``<script>``: no spaces, UTF-8 kept (a Chinese name is 3 bytes, not the 6 of
    ``\\uXXXX``), and ``<``, ``>``, ``&`` escaped so nothing can close the script."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def road_display_class(highway: Iterable[Any]) -> list[str]:
    """The drawn class (a :data:`ROAD_STYLE` key) of each OSM ``highway`` value; anything
    else (residential, unclassified, service, unknown) is ``minor``.

    Examples
    --------
    >>> road_display_class(["trunk_link", "tertiary", "residential", "footway", None])
    ['motorway', 'tertiary', 'minor', 'path', 'minor']
    """
    return [_HIGHWAY_CLASS.get(str(h).strip().lower(), "minor") for h in highway]


def _road_geometries(
    g: gpd.GeoDataFrame, classes: list[str], *, simplify_m: float, max_vertices: int
) -> tuple[list[str], list[Any]]:
    """One merged, simplified MultiLineString per class, most important first; classes at the
    end are dropped while the vertices exceed ``max_vertices``."""
    geoms = np.asarray(g.geometry.values, dtype=object)
    lines = shapely.get_parts(geoms, return_index=True)
    cls = np.asarray(classes, dtype=object)[lines[1]]
    kept_cls: list[str] = []
    kept: list[Any] = []
    total = 0
    for key in ROAD_STYLE:
        parts = lines[0][cls == key]
        parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings only
        if not len(parts):
            continue
        merged = shapely.line_merge(shapely.multilinestrings(parts))
        simple = _simplify(np.array([merged], dtype=object), simplify_m)[0]
        n = int(shapely.get_num_coordinates(simple))
        if total + n > max_vertices:
            log.info(
                "roads: %s and finer classes not drawn (%d vertices would pass max_vertices=%d)",
                key,
                total + n,
                max_vertices,
            )
            break
        total += n
        kept_cls.append(key)
        kept.append(simple)
    return kept_cls, kept


class _RoadLines(folium.map.Layer):
    """Road lines, one Leaflet polyline per class, sent as delta-coded integers (1e-5 degrees,
    about 1 m): half the bytes of GeoJSON coordinates."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup();
        (function (group, classes) {
            classes.forEach(function (c) {
                var lines = c.lines.map(function (a) {
                    var out = [], x = 0, y = 0;
                    for (var i = 0; i < a.length; i += 2) {
                        x += a[i]; y += a[i + 1]; out.push([y / 1e5, x / 1e5]);
                    }
                    return out;
                });
                L.polyline(lines, c.style).addTo(group);
            });
        })({{ this.get_name() }}, {{ this.classes_json }});
        {% endmacro %}
        """
    )

    def __init__(self, classes: list[dict], *, name: str, show: bool) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RoadLines"
        self.classes = classes

    @property
    def classes_json(self) -> str:
        return _compact_json(self.classes)


def _delta_code(geom: Any) -> list[list[int]]:
    """Each line of ``geom`` as ``[x0, y0, dx1, dy1, ...]`` in integer 1e-5 degrees."""
    out = []
    for part in shapely.get_parts(geom):
        q = np.round(shapely.get_coordinates(part) * 1e5).astype(np.int64)
        if len(q) < 2:
            continue
        d = np.vstack([q[:1], np.diff(q, axis=0)])
        keep = np.r_[True, np.any(d[1:] != 0, axis=1)]  # drop points that round together
        if keep.sum() >= 2:
            out.append(d[keep].ravel().tolist())
    return out


def _road_style(key: str) -> dict:
    weight, color, dash, _, _ = ROAD_STYLE[key]
    out: dict[str, Any] = {
        "color": color,
        "weight": weight,
        "opacity": 1.0,
        "interactive": False,
        "lineCap": "round",
        "lineJoin": "round",
        "pane": _ROADS_PANE,
        "className": f"planner-road planner-road-{key}",
    }
    if dash:
        out["dashArray"] = dash
    return out


def add_roads(
    m: folium.Map,
    roads: gpd.GeoDataFrame,
    *,
    class_column: str = "highway",
    name: str | None = None,
    show: bool = True,
    lang: Lang = "both",
    simplify_m: float = 8.0,
    max_vertices: int = 60_000,
) -> folium.map.Layer:
    """The road network as quiet thin lines by class (major roads wider), under every other
    layer, so the map reads without tiles.

    Roads are merged into one line per class, simplified and sent as delta-coded integers of
    about 1 m, which keeps the page small (the demo county's 1,037 roads take about 60 kB).
    Minor roads and paths appear only when zoomed in (from :data:`MINOR_ROADS_ZOOM` and
    :data:`PATHS_ZOOM`). The lines are not interactive: a click goes through to the map.

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    roads
        Lines with a road-class column (OSM ``highway`` values: motorway ... residential, path);
        any CRS (reprojected).
    class_column
        The road-class column; values outside :data:`ROAD_STYLE`'s classes are drawn as minor
        roads. A missing column draws every road as minor.
    name, show, lang
        Layer name (default bilingual "Roads"), initial visibility, label language.
    simplify_m
        Simplification tolerance in metres.
    max_vertices
        Upper bound of the vertices drawn: the finest classes are left out (with a log line)
        when a large city's network would pass it.

    Returns
    -------
    folium.map.Layer
        ``layer.classes``: per drawn class, ``road_class``, its Leaflet ``style`` and
        ``lines`` (delta-coded integer 1e-5 degrees, in the map's display datum).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> roads = gpd.GeoDataFrame({"highway": ["primary", "residential"]},
    ...     geometry=[LineString([(116.3, 39.9), (116.5, 39.9)]),
    ...               LineString([(116.4, 39.8), (116.4, 40.0)])], crs=4326)
    >>> layer = add_roads(new_map((116.3, 39.8, 116.5, 40.0)), roads)
    >>> [c["road_class"] for c in layer.classes]
    ['primary', 'minor']
    """
    _check_lang(lang)
    g = _prepare(roads, [], what="roads")
    values = g[class_column] if class_column in g.columns else [None] * len(g)
    keys, geoms = _road_geometries(
        g, road_display_class(values), simplify_m=simplify_m, max_vertices=max_vertices
    )
    datum = display_datum(m)
    classes = [
        {
            "road_class": key,
            "style": _road_style(key),
            "lines": _delta_code(basemaps.geometries_to_display(geom, datum=datum)),
        }
        for key, geom in zip(keys, geoms, strict=True)
    ]
    _ensure_pane(m, _ROADS_PANE, 350)  # above tiles (200), under every polygon (400)
    layer = _RoadLines(classes, name=name or _label("道路", "Roads", lang), show=show)
    layer.add_to(m)
    return layer


def _label_point(geom: Any) -> Any:
    """A point well inside a (multi)polygon for its name: the pole of inaccessibility of its
    largest part (in locally scaled degrees), or the representative point as a fallback."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return shapely.point_on_surface(geom)
    part = max(parts, key=lambda p: p.area)
    k = max(math.cos(math.radians(part.centroid.y)), 0.01)
    scaled = shapely.transform(part, lambda c: c * [k, 1.0])
    tolerance = max(math.sqrt(scaled.area) / 50, 1e-6)
    try:
        pole = shapely.ops.polylabel(scaled, tolerance=tolerance)
        point = shapely.Point(pole.x / k, pole.y)
    except Exception:  # noqa: BLE001 - an invalid ring: fall back to a point on the surface
        point = None
    if point is None or not part.contains(point):
        point = shapely.point_on_surface(part)
    return point


class _PlaceLabels(folium.map.Layer):
    """Place names as text markers (not interactive: a click goes through to the map)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        (function (group, rows) {
            rows.forEach(function (r) {
                L.marker([r[0], r[1]], {
                    pane: {{ this.pane|tojson }}, interactive: false, keyboard: false,
                    icon: L.divIcon({className: "planner-place planner-place-" + r[3],
                                     html: "<span>" + r[2] + "</span>", iconSize: null})
                }).addTo(group);
            });
        })({{ this.get_name() }}, {{ this.rows_json }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[Any]], *, name: str, show: bool, pane: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PlaceLabels"
        self.rows = rows
        self.pane = pane

    @property
    def rows_json(self) -> str:
        return _compact_json(self.rows)


def place_label_points(
    boundaries: gpd.GeoDataFrame, *, levels: Sequence[str] = ("township", "village")
) -> gpd.GeoDataFrame:
    """Where the names of the units of ``levels`` are written: one point inside each unit.

    Returns
    -------
    GeoDataFrame
        ``admin_code``, ``admin_name``, ``level`` and the label point, EPSG:4326, in the
        order of ``boundaries``.
    """
    g = _prepare(boundaries, ["admin_code", "admin_name", "level"], what="boundaries")
    g = g[g["level"].astype(str).isin(list(levels))]
    points = [_label_point(geom) for geom in g.geometry.values]
    return gpd.GeoDataFrame(
        {
            "admin_code": g["admin_code"].to_numpy(),
            "admin_name": g["admin_name"].to_numpy(),
            "level": g["level"].astype(str).to_numpy(),
        },
        geometry=points,
        crs=4326,
    )


def add_place_labels(
    m: folium.Map,
    boundaries: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] = ("township", "village"),
    name: str | None = None,
    show: bool = True,
    lang: Lang = "both",
) -> folium.map.Layer:
    """Township and village names at a point inside each unit, shown by zoom level: township
    names from :data:`TOWNSHIP_LABELS_ZOOM`, village names from :data:`VILLAGE_LABELS_ZOOM`
    (so a county-wide view is not cluttered with hundreds of village names).

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    boundaries
        Columns ``admin_code``, ``admin_name``, ``level``; (Multi)Polygons, any CRS.
    levels
        Levels whose names are written.
    name, show, lang
        Layer name (default bilingual "Place names"), initial visibility, label language.

    Returns
    -------
    folium.map.Layer
        The layer (``layer.rows``: ``[lat, lon, name, level]`` per label, in display datum).
    """
    _check_lang(lang)
    pts = place_label_points(boundaries, levels=levels)
    names = _text(pts["admin_name"])
    x, y = basemaps.to_display(
        shapely.get_x(pts.geometry.values),
        shapely.get_y(pts.geometry.values),
        datum=display_datum(m),
    )
    rows = [
        [round(float(lat), 5), round(float(lon), 5), nm, lv]
        for lat, lon, nm, lv in zip(
            np.atleast_1d(y), np.atleast_1d(x), names, pts["level"], strict=True
        )
        if nm
    ]
    _ensure_pane(m, _LABELS_PANE, 590)  # above the polygons, under the facility symbols (600)
    layer = _PlaceLabels(
        rows, name=name or _label("地名", "Place names", lang), show=show, pane=_LABELS_PANE
    )
    layer.add_to(m)
    return layer


# ---------------------------------------------------------------------------------------------
# Legend, layer control, saving
# ---------------------------------------------------------------------------------------------


_LEGEND_CSS = """
.planner-legend {
    background: rgba(255,255,255,0.93); border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.35);
    font: 12px/1.3 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',
        'Noto Sans CJK SC',sans-serif;
    color: #222; max-width: 260px;
}
.planner-legend summary { cursor: pointer; font-weight: 600; list-style-position: inside; }
.planner-legend-box > summary { padding: 4px 8px; }
.planner-legend-body { padding: 0 8px 5px; max-height: 38vh; overflow: auto; }
.planner-legend-section > summary { font-weight: 600; margin: 3px 0 1px; color: #333; }
.planner-legend-row { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.planner-legend-row > span:first-child { flex: 0 0 16px; display: flex; justify-content: center; }
"""

_LEGEND_JS = """
window.plannerLegendSection = window.plannerLegendSection || function (map, o) {
    var boxes = map._plannerLegends = map._plannerLegends || {};
    var box = boxes[o.position];
    if (!box) {
        box = boxes[o.position] = {};
        box.control = L.control({position: o.position});
        box.control.onAdd = function () {
            var div = L.DomUtil.create("div", "planner-legend leaflet-control");
            var details = L.DomUtil.create("details", "planner-legend-box", div);
            var size = map.getSize();
            // open on a roomy map; a small one (compare maps, a phone) starts folded
            details.open = size.y >= 450 && size.x >= 560;
            L.DomUtil.create("summary", "planner-legend-head", details).textContent = o.boxTitle;
            box.body = L.DomUtil.create("div", "planner-legend-body", details);
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        box.control.addTo(map);
    }
    var sec = L.DomUtil.create(o.title ? "details" : "div", "planner-legend-section", box.body);
    sec.open = true;
    sec.innerHTML = o.html;
    function sync() {
        if (o.layer) { sec.style.display = map.hasLayer(o.layer) ? "" : "none"; }
        var shown = Array.prototype.some.call(box.body.children, function (c) {
            return c.style.display !== "none";
        });
        box.control.getContainer().style.display = shown ? "" : "none";
    }
    if (o.layer) { o.layer.on("add remove", sync); }
    sync();
};
"""


class _LegendSupport(MacroElement):
    """CSS and the JavaScript that gathers every legend of a map corner in one box (added once
    per map, before its first legend section)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this.js }}
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "LegendSupport"
        self.css = _LEGEND_CSS
        self.js = _LEGEND_JS


class _Legend(MacroElement):
    """One section of the map's legend box (a Leaflet control, so it works in ``st_folium``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        plannerLegendSection({{ this._parent.get_name() }}, {
            position: {{ this.position|tojson }}, boxTitle: {{ this.box_title|tojson }},
            title: {{ this.title|tojson }}, html: {{ this.html|tojson }},
            layer: {% if this.layer %}{{ this.layer.get_name() }}{% else %}null{% endif %}
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        html_: str,
        position: str,
        layer: folium.map.Layer | None,
        *,
        title: str,
        box_title: str,
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html_
        self.position = position
        self.layer = layer
        self.title = title
        self.box_title = box_title


def _ensure_legend_support(m: folium.Map) -> None:
    if not any(isinstance(c, _LegendSupport) for c in m._children.values()):
        m.add_child(_LegendSupport())


def _legend_row(label: str, swatch: str) -> str:
    swatch = str(swatch).strip()
    if swatch.startswith("<"):
        mark = swatch
    else:
        mark = (
            f'<span style="display:block;width:14px;height:14px;border-radius:2px;'
            f'background:{html.escape(swatch)};border:1px solid rgba(0,0,0,0.25)"></span>'
        )
    return (
        f'<div class="planner-legend-row"><span>{mark}</span>'
        f"<span>{html.escape(str(label))}</span></div>"
    )


def add_legend(
    m: folium.Map,
    items: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    title: str | None = None,
    position: Literal["topleft", "topright", "bottomleft", "bottomright"] = "bottomright",
    layer: folium.map.Layer | None = None,
) -> MacroElement:
    """A section of the map's legend: every legend of a corner shares one compact box.

    The box folds up with a click on its heading ("图例" / "Legend"), and each section with a
    click on its title; it starts folded on a small map (under 450 × 560 px). A Leaflet
    control, so it also works inside ``st_folium``.

    Parameters
    ----------
    m
        The map.
    items
        ``(label, swatch)`` pairs or a ``{label: swatch}`` mapping. A swatch is a CSS colour
        (drawn as a square) or trusted inline HTML/SVG starting with ``<`` (e.g.
        :func:`symbol_svg`). Labels are plain text (escaped); pass bilingual text as you like.
    title
        The section's title (click it to fold the section).
    position
        Corner of the map (one legend box per corner).
    layer
        If given, the section is shown only while this layer is on the map.

    Returns
    -------
    branca.element.MacroElement
        The legend section added to the map.

    Examples
    --------
    >>> m = new_map((116.3, 39.8, 116.5, 40.0))
    >>> legend = add_legend(m, [("15 分钟内 / within 15 min", "#08519c")], title="等时圈")
    """
    if position not in ("topleft", "topright", "bottomleft", "bottomright"):
        raise InputError(f"position={position!r}: use topleft, topright, bottomleft or bottomright")
    pairs = list(items.items()) if isinstance(items, Mapping) else [tuple(i) for i in items]
    rows = "".join(_legend_row(label, swatch) for label, swatch in pairs)
    head = f"<summary>{html.escape(title)}</summary>" if title else ""
    lang = _assets_lang(m)
    _ensure_legend_support(m)
    element = _Legend(
        head + rows,
        position,
        layer,
        title=title or "",
        box_title=_label("图例", "Legend", lang),
    )
    m.add_child(element)
    return element


def _assets_lang(m: Any) -> Lang:
    for child in getattr(m, "_children", {}).values():
        if isinstance(child, _OfflineAssets):
            return child.lang
    return "both"


def add_layer_control(
    m: folium.Map,
    *,
    collapsed: bool = False,
    position: Literal["topleft", "topright", "bottomleft", "bottomright"] = "topright",
) -> folium.LayerControl:
    """Leaflet's layer switcher for every named layer (call it after adding the layers)."""
    control = folium.LayerControl(collapsed=collapsed, position=position)
    control.add_to(m)
    return control


_EXTERNAL_ASSET = re.compile(
    r"<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)


def _external_assets(page: str) -> list[str]:
    """URLs that ``<script src>``, ``<link href>`` or ``<img src>`` would fetch from a network."""
    return _EXTERNAL_ASSET.findall(page)


def save_html(m: folium.Map, path: str | Path) -> Path:
    """Write the map as one self-contained HTML file that works from disk with no network.

    The map's assets are embedded whatever mode it was made with (a ``"served"`` map is written
    inline and then left as it was). Only an optional online basemap's tiles refer to the
    network.

    Parameters
    ----------
    m
        Map from :func:`new_map`.
    path
        Output file (parent folders are created).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    assets = _assets_element(m)
    mode = assets.mode
    try:
        assets.mode = "inline"
        _apply_assets(m, "inline", assets.static_url)
        page = m.get_root().render()
    finally:
        assets.mode = mode
        _apply_assets(m, mode, assets.static_url)
    external = _external_assets(page)
    if external:
        log.warning("%s loads assets from the network: %s", path, ", ".join(sorted(set(external))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    log.info("saved map %s (%.0f kB)", path, path.stat().st_size / 1024)
    return path
