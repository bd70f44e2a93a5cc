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

There is no basemap by default (a plain light background): :func:`add_roads` and
:func:`add_place_labels` draw the road network and the township/village names so the map reads
without tiles. Online base maps are an option (:data:`planner.basemaps.BASEMAPS`: OpenStreetMap,
Tianditu vector/imagery with a key, Amap with every layer shifted into GCJ-02 for display); a
small notice on the map says so when their tiles cannot load. Every legend of a corner shares
one box that folds up; uncovered residents are drawn in fixed classes
(:data:`UNCOVERED_BREAKS`), the same on every map; the scale bar is metric only.

Layers are drawn with plain Leaflet only (GeoJSON layers, SVG ``DivIcon`` symbols, tooltips and
Leaflet controls); folium Popups (jQuery), awesome-markers icons and branca's d3 colormap legend
are avoided on purpose. The module is cut by concern: ``_mapcore`` (labels, display datum,
compact GeoJSON), ``_maplayers`` (the analysis layers and their styles), ``_mapcontext`` (roads,
place names), ``_maplegend`` (the legend box); everything public is re-exported here.

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
import logging
import math
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import folium
import numpy as np
from branca.element import Figure, MacroElement
from folium.template import Template

from . import basemaps
from ._errors import InputError, PackageDataError

# The map is cut by concern (documented internal modules); this module is the public face.
from ._mapcontext import (
    MINOR_ROADS_ZOOM,
    PATHS_ZOOM,
    ROAD_STYLE,
    TOWNSHIP_LABELS_ZOOM,
    VILLAGE_LABELS_ZOOM,
    add_place_labels,
    add_roads,
    place_label_points,
    road_display_class,
)
from ._mapcore import Lang, check_lang, display_datum, set_display_datum, text_in
from ._maplayers import (
    TIER_STYLE,
    UNCOVERED_BREAKS,
    UNCOVERED_COLORS,
    TierStyle,
    add_boundaries,
    add_facilities,
    add_isochrones,
    add_proposals,
    add_uncovered,
    symbol_svg,
    tier_legend_items,
    uncovered_class,
    uncovered_legend_items,
)
from ._maplegend import add_legend

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BACKGROUND",
    "LEAFLET_VERSION",
    "MINOR_ROADS_ZOOM",
    "PATHS_ZOOM",
    "ROAD_STYLE",
    "STATIC_DIR",
    "TIER_STYLE",
    "TOWNSHIP_LABELS_ZOOM",
    "UNCOVERED_BREAKS",
    "UNCOVERED_COLORS",
    "VILLAGE_LABELS_ZOOM",
    "Lang",
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
    "leaflet_assets",
    "new_map",
    "place_label_points",
    "road_display_class",
    "save_html",
    "set_display_datum",
    "symbol_svg",
    "tier_legend_items",
    "uncovered_class",
    "uncovered_legend_items",
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


def leaflet_assets() -> tuple[str, str]:
    """The vendored Leaflet's JavaScript and CSS (its images as ``data:`` URIs), to embed in a
    page or a script instead of linking them."""
    js, css, _ = _inline_assets()
    return js, css


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
        self.planner_lang = lang  # read by the legend (planner._mapcore.map_lang)
        self.scale = scale
        self.css = _MAP_CSS
        self.zoom_steps = list(_ZOOM_STEPS)
        self.tile_notice = text_in(*_TILE_NOTICE, lang)

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
    check_lang(lang)
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
    online = text_in("（需联网）", " (online)", lang) if lang != "both" else "（需联网 / online）"
    for i, url in enumerate(urls):
        name = spec.label(lang) + online
        if i:
            name = spec.label(lang) + text_in(" 注记", " labels", lang)
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
