"""The app's map: coverage bands, the base map, the what-if layers and drawing them in Streamlit.

Streamlit is imported lazily and only by :func:`show_map` (and the payload helpers)."""

from __future__ import annotations

import hashlib
import html
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from .. import access, basemaps, maps
from .._errors import InputError
from ..pipeline import CoverageResult, Dataset
from ._common import map_lang
from .settings import BAND_CELL_M
from .whatif import WhatIf

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Isochrone bands for the map
# ---------------------------------------------------------------------------------------------


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (an intersection may add stray lines and points)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.MultiPolygon()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def coverage_bands(
    result: CoverageResult,
    minutes: Sequence[float],
    *,
    facilities: gpd.GeoDataFrame | None = None,
    cell_m: float = BAND_CELL_M,
    bounds: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """Areas within each of ``minutes`` of the nearest facility, as nested polygons.

    The union of every facility's isochrone, computed on a ``cell_m`` grid with one
    nearest-facility search (:func:`planner.access.travel_time_raster`): a cell is inside when its
    centre, joined to the road network like a resident, reaches a facility in time, the very
    test used for residents, so the map shows exactly the residents the numbers count as
    covered. Per-facility isochrones (:func:`planner.access.isochrones`) are more generous
    (they let a resident walk off-road from any reached road point, not only from the nearest
    one: 483 against 418 km² within 15 minutes' walk on the demo county) and their union is
    heavier (2.8 s and 230k vertices against 0.9 s and 3k vertices, walking, demo county).

    Returns
    -------
    GeoDataFrame
        ``facility_id`` (""), ``minutes``, ``area_km2``; EPSG:4326, one (multi)polygon per
        threshold, nested.
    """
    from rasterio import features

    levels = sorted({float(m) for m in minutes})
    if not levels or levels[0] <= 0:
        raise InputError(f"minutes must be positive, got {list(minutes)!r}.")
    net = result.network
    fac = result.facilities if facilities is None else facilities
    if bounds is None and result.boundaries is not None and len(result.boundaries):
        bounds = tuple(result.boundaries.to_crs(net.crs).total_bounds)
    arr, transform, crs = access.travel_time_raster(
        net,
        fac,
        cell_m=cell_m,
        bounds=cast(tuple[float, float, float, float], tuple(float(v) for v in bounds))
        if bounds is not None
        else None,
        max_minutes=levels[-1],
    )
    geoms = []
    for m in levels:
        mask = np.isfinite(arr) & (arr <= m + 1e-9)
        parts = [
            shapely.geometry.shape(g)
            for g, _ in features.shapes(
                mask.astype(np.uint8), mask=mask, transform=transform, connectivity=4
            )
        ]
        geom = shapely.union_all(parts) if parts else shapely.Polygon()
        # smooth the cell staircase (a quarter of the vertices, and it reads as an isochrone)
        geoms.append(
            _polygonal(
                shapely.make_valid(shapely.simplify(geom, 0.75 * cell_m, preserve_topology=True))
            )
        )
    for k in range(len(geoms) - 2, -1, -1):  # keep the thresholds nested after smoothing
        geoms[k] = _polygonal(shapely.intersection(geoms[k], geoms[k + 1]))
    out = gpd.GeoDataFrame({"facility_id": "", "minutes": levels}, geometry=geoms, crs=crs)
    out["area_km2"] = shapely.area(out.geometry.values) / 1e6
    return out.to_crs("EPSG:4326")


# ---------------------------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------------------------

_NEWLY_COVERED_COLOR = "#1a9850"
_OPTIMIZED_STROKE = "#ffffff"


def _lbl(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


def _parent(group: folium.FeatureGroup) -> folium.Map:
    """The planner.maps layer helpers add to any folium parent; they are annotated for maps."""
    return cast(folium.Map, group)


class _ImmediateClick(MacroElement):
    """Send a map click to Streamlit at once, and mark the spot until the answer arrives.

    ``streamlit_folium`` reports clicks through a 250 ms debounce, which alone would use most of
    the app's 0.3 s budget from click to answer. This handler posts the same value
    (``{"last_clicked": {"lat", "lng"}}``) the moment Leaflet fires the click and records it as
    the component's last value, so the debounced report that follows finds nothing new and sends
    nothing. It also draws a hollow star where the click was at once; it goes when the app's
    answer adds the new layers (or after 5 s, when the click was refused). Outside ``st_folium`` (no ``__GLOBAL_DATA__``) it does nothing.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("click", function (e) {
            var g = window.__GLOBAL_DATA__;
            if (!g || !window.parent || window.parent === window) { return; }
            var value = {last_clicked: {lat: e.latlng.lat, lng: e.latlng.lng}};
            if ((g.returned_objects || []).indexOf("all_drawings") >= 0) {
                // the value streamlit_folium's own report will hold (same keys, same order;
                // a layer's click handler, which sets it, ran before this map handler)
                value.all_drawings = g.all_drawings;
            }
            g.previous_data = value;
            window.parent.postMessage({isStreamlitMessage: true, type: "streamlit:setComponentValue",
                                       value: value, dataType: "json"}, "*");
            var pending = L.marker(e.latlng, {interactive: false, zIndexOffset: 2000,
                icon: L.divIcon({className: "planner-symbol planner-pending", html: {{ this.svg|tojson }},
                                 iconSize: [22, 22], iconAnchor: [11, 11]})});
            var map = {{ this._parent.get_name() }};
            function done(ev) {  // the app's answer: streamlit-folium adds the new layer groups
                if (ev && ev.layer === pending) { return; }
                if (ev && !(ev.layer instanceof L.FeatureGroup)) { return; }
                map.off("layeradd", done);
                if (pending._map) { pending.remove(); }
            }
            pending.addTo(map);
            map.on("layeradd", done);
            setTimeout(done, 5000);
        });
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "ImmediateClick"
        self.svg = maps.symbol_svg("star", "#ffffff", 22, stroke="#111111", stroke_width=1.3)


def base_map(
    dataset: Dataset,
    result: CoverageResult,
    bands: gpd.GeoDataFrame | None,
    *,
    lang: str = "en",
    basemap: str | bool | None = None,
    tianditu_key: str = "",
    assets: str = "served",
    immediate_click: bool = True,
    roads: bool = True,
    place_names: bool = True,
) -> folium.Map:
    """The app's map without the what-if layers: roads and place names (so it reads without
    tiles), boundaries, isochrone bands, uncovered population, facilities by tier, one
    collapsible legend and the layer control.

    No tiles unless ``basemap`` names one of :data:`planner.basemaps.BASEMAPS` (``True`` is
    ``"osm"``); on an Amap base map every layer is shifted into GCJ-02 for display (read
    clicks back with :func:`click_lonlat`). ``immediate_click`` reports clicks to Streamlit
    without streamlit-folium's 250 ms delay."""
    b = (
        dataset.boundaries
        if dataset.boundaries is not None and len(dataset.boundaries)
        else result.facilities
    )
    lg = map_lang(lang)
    m = maps.new_map(
        tuple(b.total_bounds),
        assets="inline" if assets == "inline" else "served",
        basemap=_basemap_name(basemap),
        tianditu_key=tianditu_key,
        lang=lg,
    )
    has_units = dataset.boundaries is not None and len(dataset.boundaries)
    if roads and dataset.roads is not None and len(dataset.roads):
        maps.add_roads(m, dataset.roads, lang=lg)
    if has_units:
        maps.add_boundaries(m, dataset.boundaries, lang=lg)
    if bands is not None and len(bands):
        maps.add_isochrones(m, bands, dissolve=True, lang=lg)
    if result.uncovered is not None and len(result.uncovered):
        maps.add_uncovered(m, result.uncovered, lang=lg)
    if place_names and has_units:
        maps.add_place_labels(m, dataset.boundaries, lang=lg)
    maps.add_facilities(m, result.facilities[~result.facilities["proposed"]], lang=lg)
    star = maps.TIER_STYLE["community_station"].color
    maps.add_legend(
        m,
        [
            (
                _lbl("建议站点（点击地图添加）", "Proposed site (click the map)", lang),
                maps.symbol_svg("star", star, 16, stroke="#111111", stroke_width=1.3),
            ),
            (
                _lbl("优化选址", "Optimizer site", lang),
                maps.symbol_svg("star", star, 16, stroke=_OPTIMIZED_STROKE, stroke_width=2.5),
            ),
            (_lbl("新增覆盖区域", "Newly covered area", lang), _NEWLY_COVERED_COLOR),
        ],
        title=_lbl("方案", "Proposals", lang),
    )
    maps.add_layer_control(m, collapsed=True)
    if immediate_click:
        m.add_child(_ImmediateClick())
    return m


def _basemap_name(basemap: str | bool | None) -> str | None:
    if basemap is True:
        return "osm"
    if basemap is False or basemap is None or basemap in ("", "none"):
        return None
    return str(basemap)


def click_lonlat(clicked: dict, *, datum: str = "wgs84") -> tuple[float, float]:
    """WGS-84 ``(lon, lat)`` of a click on the map (``{"lat", "lng"}`` as ``st_folium``
    returns it). On a map drawn in GCJ-02 (an Amap base map) the click is shifted back, so a
    site lands where the person pointed on the base map; the analysis stays in WGS-84."""
    lon, lat = basemaps.from_display(float(clicked["lng"]), float(clicked["lat"]), datum=datum)
    return float(lon), float(lat)


def whatif_layers(
    whatif: WhatIf | None,
    optimized: gpd.GeoDataFrame | None = None,
    *,
    lang: str = "en",
    datum: str = "wgs84",
) -> list[folium.FeatureGroup]:
    """The map's dynamic layers (changed without reloading the map): newly covered areas and
    proposed sites, and the optimizer's sites (``site_id, tier, newly_covered_population``),
    drawn in the base map's ``datum`` (``MapPayload.datum``)."""
    fg = folium.FeatureGroup(name=_lbl("建议站点", "Proposed sites", lang))
    maps.set_display_datum(fg, datum)
    if whatif is not None and len(whatif.sites):
        areas = whatif.newly_covered_areas
        if len(areas):
            shown = basemaps.geometries_to_display(
                np.asarray(areas.geometry.values, dtype=object), datum=datum
            )
            data = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": i,
                        "properties": {
                            "site_id": html.escape(str(r.site_id)),
                            "population": round(float(r.population)),
                        },
                        "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-6)),
                    }
                    for i, (r, geom) in enumerate(
                        zip(areas.itertuples(index=False), shown, strict=True)
                    )
                ],
            }
            folium.GeoJson(
                data,
                name=_lbl("新增覆盖区域", "Newly covered", lang),
                style_function=lambda f: {
                    "color": _NEWLY_COVERED_COLOR,
                    "weight": 1,
                    "fillColor": _NEWLY_COVERED_COLOR,
                    "fillOpacity": 0.55,
                    "className": "planner-newly-covered",
                },
                tooltip=folium.GeoJsonTooltip(
                    ["site_id", "population"],
                    aliases=[
                        _lbl("站点", "Site", lang),
                        _lbl("新增覆盖人口", "Newly covered residents", lang),
                    ],
                    localize=True,
                ),
            ).add_to(fg)
        maps.add_proposals(_parent(fg), whatif.sites, lang=map_lang(lang), legend=False)
    layers = [fg]
    og = folium.FeatureGroup(name=_lbl("优化选址", "Optimizer sites", lang))
    maps.set_display_datum(og, datum)
    if optimized is not None and len(optimized):
        layer = maps.add_proposals(
            _parent(og),
            optimized,
            lang=map_lang(lang),
            legend=False,
            name=_lbl("优化选址", "Optimizer sites", lang),
        )
        style = layer.style_function

        def optimized_style(feature: dict, _style: Callable = style) -> dict:
            out = dict(_style(feature))
            out["html"] = (
                out["html"]
                .replace('stroke="#111111"', f'stroke="{_OPTIMIZED_STROKE}"')
                .replace('stroke-width="1.3"', 'stroke-width="2.5"')
            )
            out["className"] = "planner-symbol planner-optimized"
            return out

        layer.style_function = optimized_style
    layers.append(og)
    return layers


#: The private parts of ``streamlit_folium`` (0.27) used to render the base map only once.
_ST_FOLIUM_PARTS = (
    "_component_func",
    "_get_html",
    "_get_header",
    "_get_map_string",
    "get_full_id",
    "_get_feature_group_string",
)


def _st_folium_internals() -> bool:
    import streamlit_folium as sf

    return all(hasattr(sf, name) for name in _ST_FOLIUM_PARTS)


@dataclass(frozen=True, eq=False)
class MapPayload:
    """A map rendered once for ``streamlit_folium``'s component (rendering the demo map takes
    ~0.4 s, too slow to repeat on every click; the what-if layers are sent separately).

    When ``streamlit_folium`` lacks the parts this relies on (another version), ``script`` is
    empty and :func:`show_map` falls back to the public ``st_folium(map, ...)``.
    """

    map: folium.Map
    script: str
    header: str
    html: str
    map_id: str
    css_links: list[str]
    js_links: list[str]
    digest: str
    external_links: list[str]
    #: The datum the map is drawn in ("gcj02" on an Amap base map): clicks are read back
    #: with :func:`click_lonlat` and the dynamic layers drawn with ``whatif_layers(datum=)``.
    datum: str = "wgs84"
    #: The vendored Leaflet's JavaScript, and a line that puts its CSS first in the frame's
    #: head, which :func:`show_map` sends in front of ``script`` (not in front of
    #: :data:`MAP_KEPT`), instead of links the map's frame would fetch (see
    #: :func:`map_payload`); "" when the map links Leaflet itself.
    leaflet_js: str = ""

    def component_script(self) -> str:
        """The script the map component runs: Leaflet's and the map's, or ``script`` alone
        when it is not the map's (:data:`MAP_KEPT`) or Leaflet is linked."""
        if not self.leaflet_js or self.script == MAP_KEPT:
            return self.script
        return f"{self.leaflet_js}\n;{self.script}"


#: The vendored Leaflet's files as the map links them (``maps.new_map(assets="served")``).
_LEAFLET_LINKS = ("/leaflet/leaflet.js", "/leaflet/leaflet.css")


def map_payload(m: folium.Map, *, leaflet_in_script: bool = True) -> MapPayload:
    """Render ``m`` the way :func:`streamlit_folium.st_folium` does, once.

    With ``leaflet_in_script`` (the default), the vendored Leaflet travels with the map:
    its JavaScript and CSS (images as ``data:`` URIs; the CSS put first in the frame's head, so
    the map's own styles come after it) go in ``leaflet_js``, which :func:`show_map` puts
    before the map's script (``streamlit_folium`` runs the script as an inline ``<script>``);
    ``js_links`` and ``css_links`` lose them. The map's frame then asks the server for nothing
    before drawing: on a cold server its request for ``leaflet.js`` waited ~1 s for the server,
    busy with the rest of the same first run (bench/results/app_load.md). It costs ~165 kB more
    on the session's first run only: later runs send :data:`MAP_KEPT` instead of the script
    (the header, sent on every run, is left as it was).
    """
    import streamlit_folium as sf

    css: list[str] = []
    js: list[str] = []

    def walk(el: Any) -> Iterable[Any]:
        yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(m):
        css.extend(href for _, href in getattr(el, "default_css", []))
        js.extend(src for _, src in getattr(el, "default_js", []))
    css, js = list(dict.fromkeys(css)), list(dict.fromkeys(js))
    external = [u for u in css + js if "://" in u or u.startswith("//")]
    if external:
        log.warning("the map would load assets from the network: %s", ", ".join(external))
    if not _st_folium_internals():
        log.warning(
            "streamlit_folium %s lacks %s: the map is re-rendered on every run",
            getattr(sf, "__version__", "?"),
            ", ".join(_ST_FOLIUM_PARTS),
        )
        return MapPayload(m, "", "", "", "", css, js, "", external, maps.display_datum(m))
    m.get_root().render()
    m.render()
    page_html = sf._get_html(m)
    header = sf._get_header(m)
    script = sf._get_map_string(m)
    leaflet_js = ""
    if leaflet_in_script:
        leaflet_js, js, css = _leaflet_in_script(js, css)
    return MapPayload(
        map=m,
        script=script,
        header=header,
        html=page_html,
        map_id=sf.get_full_id(m),
        css_links=css,
        js_links=js,
        digest=hashlib.sha256(script.encode()).hexdigest(),
        external_links=external,
        datum=maps.display_datum(m),
        leaflet_js=leaflet_js,
    )


def _leaflet_in_script(js: list[str], css: list[str]) -> tuple[str, list[str], list[str]]:
    """``MapPayload.leaflet_js`` (the vendored Leaflet's JS, then its CSS put first in the
    head) and the links without the two (other links are kept)."""
    local_js, local_css = (
        [u for u in links if "://" not in u and u.endswith(end)]
        for links, end in ((js, _LEAFLET_LINKS[0]), (css, _LEAFLET_LINKS[1]))
    )
    if not local_js:  # not a map of maps.new_map(assets="served")
        return "", js, css
    leaflet_js, leaflet_css = maps.leaflet_assets()
    if local_css:
        leaflet_js += _LEAFLET_CSS_FIRST.replace("CSS", json.dumps(leaflet_css))
    return (
        leaflet_js,
        [u for u in js if u not in local_js],
        [u for u in css if u not in local_css],
    )


#: Leaflet's CSS as the first style of the frame's head: before the map's header (whose rules,
#: e.g. ``.planner-symbol``'s transparent box, must win over Leaflet's of equal weight).
_LEAFLET_CSS_FIRST = """
;(function () {
  var style = document.createElement("style");
  style.setAttribute("data-planner", "leaflet.css");
  style.textContent = CSS;
  document.head.insertBefore(style, document.head.firstChild);
})();
"""


#: What the map component gets instead of the base map's script once its frame has the
#: map (see ``sent_once`` in ``app.py``). ``streamlit_folium`` runs the script only in a frame
#: without a map; should the browser have rebuilt the frame (Streamlit remounts a component
#: whose place in the page changed), this script runs instead of the map's: it takes back
#: the page piece it was sent with, keeps ``streamlit_folium`` from initialising a map that
#: does not exist, and asks for the whole map with a component value
#: ``{"planner_needs_map": <time>}``, which the next run answers (:func:`needs_whole_map`).
MAP_KEPT = """/* planner: the base map was sent with an earlier run; only the layers change */
var map_div = undefined;
(function () {
  var me = document.currentScript;
  if (me && me.previousSibling) me.previousSibling.remove();
  var init = window.initComponent;
  window.initComponent = function () { window.initComponent = init; };
  window.Streamlit.setComponentValue({planner_needs_map: Date.now()});
})();
"""


def needs_whole_map(value: Any, answered: Any) -> Any:
    """The request for the whole map in the map component's ``value`` (see
    :data:`MAP_KEPT`), or None when there is none or it was ``answered`` already."""
    asked = value.get("planner_needs_map") if isinstance(value, dict) else None
    return asked if asked is not None and asked != answered else None


def feature_groups_script(groups: Sequence[folium.FeatureGroup]) -> str:
    """The JavaScript that ``streamlit_folium`` evaluates to (re)draw dynamic layers."""
    import streamlit_folium as sf

    return "".join(
        sf._get_feature_group_string(fg, map=folium.Map(tiles=None), idx=i)
        for i, fg in enumerate(groups)
    )


#: What the map component reports: clicks, and shapes drawn with the draw tool (in this
#: order, streamlit_folium's: the immediate click report builds the same value).
RETURNED = ("last_clicked", "all_drawings")


def show_map(
    payload: MapPayload, groups: Sequence[folium.FeatureGroup], *, key: str, height: int = 620
) -> dict | None:
    """Draw the map with ``streamlit_folium``'s component and return what it returns
    (``{"last_clicked": {"lat", "lng"}, "all_drawings": [<GeoJSON feature>]}``: the last
    click, and the shape drawn with the draw tool of ``planner.app.edit_layers``). The base map is sent as rendered once; only the
    dynamic layers are rendered on each run. On a clicked map, the value is also stored in
    ``st.session_state[key]`` before the rerun (as ``st_folium(..., key=key)`` does)."""
    import streamlit as st
    import streamlit_folium as sf

    if not payload.script:  # another streamlit_folium: the public function, slower
        m = payload.map
        before = set(m._children)
        try:
            return sf.st_folium(
                m,
                key=key,
                height=height,
                use_container_width=True,
                returned_objects=list(RETURNED),
                feature_group_to_add=list(groups),
            )
        finally:
            for name in set(m._children) - before:  # st_folium adds the groups to the map
                del m._children[name]
    fg_script = feature_groups_script(groups)
    hash_key = f"st_folium_{key}_{payload.digest[:24]}"

    def on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    return sf._component_func(
        script=payload.component_script(),
        header=payload.header,
        html=payload.html,
        id=payload.map_id,
        key=hash_key,
        height=height,
        width=None,
        returned_objects=list(RETURNED),
        default=dict.fromkeys(RETURNED),
        zoom=None,
        center=None,
        feature_group=fg_script,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=payload.css_links,
        js_links=payload.js_links,
        on_change=on_change,
        wrap_longitude=False,
    )
