"""Roads and place names on the map, so that it reads without tiles (:mod:`planner.maps`).

Roads are drawn by class in quiet warm greys (major roads wider), merged per class and sent as
delta-coded integers; township and village names are written at a point well inside each unit.
Minor roads and village names appear only when zoomed in: the map container carries CSS
classes ``planner-z<N>`` (see ``planner.maps``), so no per-layer JavaScript runs on zoom.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
import shapely.ops
from folium.template import Template

from . import basemaps
from ._mapcore import (
    Lang,
    check_lang,
    compact_json,
    display_datum,
    ensure_pane,
    escaped,
    prepare,
    simplify_lonlat,
    text_in,
)

log = logging.getLogger("planner.maps")

#: Zoom from which minor roads (residential, unclassified...) and paths are drawn.
MINOR_ROADS_ZOOM = 13
PATHS_ZOOM = 15
#: Zoom from which township and village names are shown.
TOWNSHIP_LABELS_ZOOM = 10
VILLAGE_LABELS_ZOOM = 13


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
        simple = simplify_lonlat(np.array([merged], dtype=object), simplify_m)[0]
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
        return compact_json(self.classes)


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
    max_vertices: int = 30_000,
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
        Map from :func:`planner.maps.new_map`.
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
    >>> from planner.maps import new_map
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> roads = gpd.GeoDataFrame({"highway": ["primary", "residential"]},
    ...     geometry=[LineString([(116.3, 39.9), (116.5, 39.9)]),
    ...               LineString([(116.4, 39.8), (116.4, 40.0)])], crs=4326)
    >>> layer = add_roads(new_map((116.3, 39.8, 116.5, 40.0)), roads)
    >>> [c["road_class"] for c in layer.classes]
    ['primary', 'minor']
    """
    check_lang(lang)
    g = prepare(roads, [], what="roads")
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
    ensure_pane(m, _ROADS_PANE, 350)  # above tiles (200), under every polygon (400)
    layer = _RoadLines(classes, name=name or text_in("道路", "Roads", lang), show=show)
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
        return compact_json(self.rows)


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
    g = prepare(boundaries, ["admin_code", "admin_name", "level"], what="boundaries")
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
        Map from :func:`planner.maps.new_map`.
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
    check_lang(lang)
    pts = place_label_points(boundaries, levels=levels)
    names = escaped(pts["admin_name"])
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
    ensure_pane(m, _LABELS_PANE, 590)  # above the polygons, under the facility symbols (600)
    layer = _PlaceLabels(
        rows, name=name or text_in("地名", "Place names", lang), show=show, pane=_LABELS_PANE
    )
    layer.add_to(m)
    return layer
