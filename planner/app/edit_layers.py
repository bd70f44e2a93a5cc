"""The map layers of the facility edits and the study area (sent with the what-if layers,
without reloading the base map): facilities closed, moved or re-tiered, the areas they no
longer cover, the facility picked, the study boundary (clicked corner by corner or drawn),
and the drawing tool that draws it.

Only Leaflet's own vector layers (circle markers, lines, polygons) and Leaflet.draw, vendored
in ``planner/static/leaflet-draw`` (MIT) and served by Streamlit like Leaflet itself: nothing
is loaded from the network, so the layers and the tool work offline like the rest of the map.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from .. import basemaps
from ..standards import TIERS
from .edits import FacilityEdits
from .whatif import WhatIf

#: Where Streamlit serves the vendored Leaflet.draw (``planner/static/leaflet-draw``).
DRAW_ASSETS = "/app/static/leaflet-draw"
#: Leaflet.draw's texts in Chinese (its own are English): the toolbar, tooltips, errors.
_DRAW_TEXT_ZH = {
    "draw": {
        "toolbar": {
            "actions": {"title": "取消绘制", "text": "取消"},
            "finish": {"title": "完成绘制", "text": "完成"},
            "undo": {"title": "删除最后一个顶点", "text": "删除最后一点"},
            "buttons": {"polygon": "画研究范围（多边形）", "rectangle": "画研究范围（矩形）"},
        },
        "handlers": {
            "polygon": {
                "tooltip": {
                    "start": "点击地图开始画边界",
                    "cont": "继续点击边界的顶点",
                    "end": "点击第一个顶点（或“完成”）结束",
                }
            },
            "polyline": {"error": "<strong>错误：</strong>边界不能自相交！"},
            "rectangle": {"tooltip": {"start": "按住鼠标拖出矩形"}},
            "simpleshape": {"tooltip": {"end": "松开鼠标结束"}},
        },
    }
}
_DRAW_TEXT_EN = {
    "draw": {
        "toolbar": {
            "buttons": {
                "polygon": "Draw the study area (polygon)",
                "rectangle": "Draw the study area (rectangle)",
            }
        },
        "handlers": {
            "polygon": {
                "tooltip": {
                    "start": "Click to start the study boundary",
                    "cont": "Click the next corner",
                    "end": "Click the first corner (or Finish) to end",
                }
            },
        },
    }
}


class DrawTool(MacroElement):
    """Leaflet.draw's polygon and rectangle tools on the map of ``streamlit_folium``: a shape
    drawn is reported to the app in the map component's ``all_drawings`` (a list with one
    GeoJSON feature, in the map's datum) and is the study boundary
    (:func:`planner.app.area.drawn_boundary`). Not ``last_active_drawing``: streamlit_folium
    sets that to any layer clicked (an uncovered area, a township).

    Sent with the dynamic layers, so the cached base map is not changed: the first time it
    runs in a map frame it loads the vendored script and style sheet from
    :data:`DRAW_ASSETS` and adds the tool once; each later run only removes the sketch of the
    last shape (the app draws the accepted boundary itself). Outside ``st_folium`` (no
    ``window.map``) it does nothing.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var map = window.map;
          if (!map || typeof map.addControl !== "function") { return; }
          if (window.plannerDrawn) { window.plannerDrawn.clearLayers(); }
          if (map.plannerDrawTool) { return; }
          map.plannerDrawTool = true;
          function merge(into, from) {
            for (var k in from) {
              if (from[k] && typeof from[k] === "object" && into[k]) { merge(into[k], from[k]); }
              else { into[k] = from[k]; }
            }
          }
          function ready() {
            if (!L.Control.Draw) { return; }
            merge(L.drawLocal, {{ this.text|tojson }});
            var drawn = new L.FeatureGroup();
            map.addLayer(drawn);
            window.drawnItems = drawn;  // where streamlit_folium looks for drawings
            window.plannerDrawn = drawn;
            var style = {{ this.style|tojson }};
            map.addControl(new L.Control.Draw({
              position: "topleft",
              edit: false,
              draw: {
                polygon: {allowIntersection: false, showArea: false, showLength: false,
                          shapeOptions: style},
                rectangle: {showArea: false, shapeOptions: style},
                polyline: false, circle: false, marker: false, circlemarker: false
              }
            }));
            map.on("draw:created", function (e) {
              drawn.clearLayers();
              drawn.addLayer(e.layer);  // a sketch until the app's answer draws the boundary
              // reported as streamlit_folium's all_drawings: its own handler ran before this
              // one (the shape was not in drawnItems yet); its report follows in 250 ms
              var g = window.__GLOBAL_DATA__;
              if (g) { g.all_drawings = drawn.toGeoJSON().features; }
              setTimeout(function () { drawn.removeLayer(e.layer); }, 8000);
            });
          }
          if (L.Control && L.Control.Draw) { ready(); return; }
          var css = document.createElement("link");
          css.rel = "stylesheet";
          css.href = {{ (this.assets ~ "/leaflet.draw.css")|tojson }};
          document.head.appendChild(css);
          var js = document.createElement("script");
          js.src = {{ (this.assets ~ "/leaflet.draw.js")|tojson }};
          js.onload = ready;
          document.head.appendChild(js);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, lang: str = "en", assets: str = DRAW_ASSETS) -> None:
        super().__init__()
        self._name = "DrawTool"
        self.text = _DRAW_TEXT_ZH if lang == "zh" else _DRAW_TEXT_EN
        self.assets = assets.rstrip("/")
        self.style = {"color": _AREA_COLOR, "weight": 3, "dashArray": "8 4", "fill": False}


_LOST_COLOR = "#d73027"
_EDIT_COLOR = "#542788"
_AREA_COLOR = "#2166ac"


def _t(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


def _xy(lon: float, lat: float, datum: str) -> tuple[float, float]:
    """(lat, lon) as Leaflet takes them, in the map's datum."""
    x, y = basemaps.to_display(np.asarray([lon]), np.asarray([lat]), datum=datum)
    return float(np.asarray(y)[0]), float(np.asarray(x)[0])


def _positions(facilities: gpd.GeoDataFrame) -> dict[str, tuple[float, float, str, str]]:
    """facility_id -> (lon, lat, name, tier) in WGS-84."""
    f = facilities.drop_duplicates("facility_id")
    g = f.geometry if f.crs is None or f.crs.equals("EPSG:4326") else f.geometry.to_crs(4326)
    names = f["name"].astype(str) if "name" in f.columns else f["facility_id"].astype(str)
    return {
        str(i): (float(p.x), float(p.y), str(n), str(t))
        for i, p, n, t in zip(
            f["facility_id"].astype(str), g.values, names, f["tier"].astype(str), strict=True
        )
    }


_GAINED_COLOR = "#1a9850"


def _lost_areas(
    fg: folium.FeatureGroup, whatif: WhatIf, *, lang: str, datum: str, gained: bool = False
) -> None:
    """The areas no longer covered (red); with ``gained``, the newly covered ones (green: a
    move without proposed sites, whose gains the proposals' layer does not draw)."""
    areas = whatif.newly_covered_areas if gained else whatif.newly_uncovered_areas
    if not len(areas):
        return
    color = _GAINED_COLOR if gained else _LOST_COLOR
    css = "planner-newly-covered" if gained else "planner-newly-uncovered"
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
                    "facility": html.escape(str(r.site_id)),
                    "population": round(float(r.population)),
                },
                "geometry": shapely.geometry.mapping(shapely.set_precision(g, 1e-6)),
            }
            for i, (r, g) in enumerate(zip(areas.itertuples(index=False), shown, strict=True))
        ],
    }
    folium.GeoJson(
        data,
        name=_t("新增覆盖区域", "Newly covered", lang)
        if gained
        else _t("不再覆盖的区域", "No longer covered", lang),
        style_function=lambda f: {
            "color": color,
            "weight": 1,
            "fillColor": color,
            "fillOpacity": 0.5,
            "className": css,
        },
        tooltip=folium.GeoJsonTooltip(
            ["facility", "population"],
            aliases=[
                _t("机构", "Facility", lang) if gained else _t("原机构", "Was served by", lang),
                _t("新增覆盖人口", "Residents", lang)
                if gained
                else _t("不再覆盖人口", "Residents", lang),
            ],
            localize=True,
        ),
    ).add_to(fg)


def _edit_markers(
    fg: folium.FeatureGroup,
    edits: FacilityEdits,
    where: dict[str, tuple[float, float, str, str]],
    *,
    lang: str,
    datum: str,
    tier_names: dict[str, str],
) -> None:
    for fid in edits.closed:
        if fid in where:
            lon, lat, name, _ = where[fid]
            folium.CircleMarker(
                _xy(lon, lat, datum),
                radius=9,
                color=_LOST_COLOR,
                weight=3,
                fill=True,
                fill_color="#ffffff",
                fill_opacity=0.9,
                dash_array="3 3",
                class_name="planner-closed",
                tooltip=html.escape(f"{_t('已关闭', 'Closed', lang)}: {fid} {name}"),
            ).add_to(fg)
    for fid, lon, lat in edits.moved:
        if fid in where:
            lon0, lat0, name, _ = where[fid]
            folium.PolyLine(
                [_xy(lon0, lat0, datum), _xy(lon, lat, datum)],
                color=_EDIT_COLOR,
                weight=2,
                dash_array="6 4",
                class_name="planner-move-line",
            ).add_to(fg)
            folium.CircleMarker(
                _xy(lon, lat, datum),
                radius=8,
                color=_EDIT_COLOR,
                weight=3,
                fill=True,
                fill_color=_EDIT_COLOR,
                fill_opacity=0.6,
                class_name="planner-moved",
                tooltip=html.escape(f"{_t('移到此处', 'Moved here', lang)}: {fid} {name}"),
            ).add_to(fg)
    moved_to = {m[0]: (m[1], m[2]) for m in edits.moved}
    for fid, tier in edits.retiered:
        if fid in where:
            lon, lat, name, old = where[fid]
            lon, lat = moved_to.get(fid, (lon, lat))
            folium.CircleMarker(
                _xy(lon, lat, datum),
                radius=11,
                color="#f46d43",
                weight=3,
                fill=False,
                class_name="planner-retiered",
                tooltip=html.escape(
                    f"{fid} {name}: {tier_names.get(old, old)} → {tier_names.get(tier, tier)}"
                ),
            ).add_to(fg)


def _study_area(
    fg: folium.FeatureGroup,
    vertices: Sequence[tuple[float, float]],
    polygon: shapely.Geometry | None,
    *,
    lang: str,
    datum: str,
) -> None:
    if polygon is not None and not polygon.is_empty:
        ring = [_xy(x, y, datum) for x, y in shapely.get_coordinates(polygon.exterior)]
        folium.Polygon(
            ring,
            color=_AREA_COLOR,
            weight=3,
            dash_array="8 4",
            fill=False,
            class_name="planner-study-area",
            tooltip=_t("研究范围", "Study area", lang),
        ).add_to(fg)
    pts = [_xy(x, y, datum) for x, y in vertices]
    if len(pts) >= 2:
        folium.PolyLine(pts, color=_AREA_COLOR, weight=2, class_name="planner-area-draft").add_to(
            fg
        )
    for p in pts:
        folium.CircleMarker(
            p, radius=4, color=_AREA_COLOR, fill=True, class_name="planner-area-vertex"
        ).add_to(fg)


def edit_layers(
    whatif: WhatIf | None,
    register: gpd.GeoDataFrame,
    *,
    edits: FacilityEdits,
    picked: str | None = None,
    vertices: Sequence[tuple[float, float]] = (),
    polygon: shapely.Geometry | None = None,
    lang: str = "en",
    datum: str = "wgs84",
    tier_names: dict[str, str] | None = None,
    draw_tool: bool = True,
) -> list[folium.FeatureGroup]:
    """The dynamic layers of the facility edits (``register``: the unedited facilities) and
    the study area, in the base map's ``datum``; with ``draw_tool``, the tool that draws a
    study boundary (:class:`DrawTool`)."""
    fg = folium.FeatureGroup(name=_t("机构调整", "Facility changes", lang))
    if draw_tool:
        fg.add_child(DrawTool(lang=lang))
    where = _positions(register)
    if whatif is not None:
        _lost_areas(fg, whatif, lang=lang, datum=datum)
        if not len(whatif.sites):  # the proposals' layer draws the gains only with sites
            _lost_areas(fg, whatif, lang=lang, datum=datum, gained=True)
    _edit_markers(
        fg,
        edits,
        where,
        lang=lang,
        datum=datum,
        tier_names=tier_names or {t: t for t in TIERS},
    )
    if picked and picked in where:
        lon, lat, name, _ = where[picked]
        lon, lat = {m[0]: (m[1], m[2]) for m in edits.moved}.get(picked, (lon, lat))
        folium.CircleMarker(
            _xy(lon, lat, datum),
            radius=14,
            color="#000000",
            weight=2,
            fill=False,
            class_name="planner-picked",
            tooltip=html.escape(f"{picked} {name}"),
        ).add_to(fg)
    _study_area(fg, vertices, polygon, lang=lang, datum=datum)
    return [fg]


def nearest_facility_id(
    register: gpd.GeoDataFrame, lon: float, lat: float, *, max_m: float = 500.0
) -> str | None:
    """The facility of ``register`` nearest a clicked point, if within ``max_m`` metres."""
    if not len(register):
        return None
    where = _positions(register)
    ids = np.array(list(where))
    xy = np.array([(v[0], v[1]) for v in where.values()])
    # metres on a small area: an equirectangular approximation is plenty to pick a marker
    kx = 111_320.0 * np.cos(np.radians(lat))
    d = np.hypot((xy[:, 0] - lon) * kx, (xy[:, 1] - lat) * 110_540.0)
    i = int(np.argmin(d))
    return str(ids[i]) if d[i] <= max_m else None
