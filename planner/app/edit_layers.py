"""The map layers of the facility edits and the study area (sent with the what-if layers,
without reloading the base map): facilities closed, moved or re-tiered, the areas they no
longer cover, the facility picked, and the study boundary being clicked.

Only Leaflet's own vector layers (circle markers, lines, polygons): nothing to load from the
network, so the layers draw offline like the rest of the map.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import shapely

from .. import basemaps
from ..standards import TIERS
from .edits import FacilityEdits
from .whatif import WhatIf

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
) -> list[folium.FeatureGroup]:
    """The dynamic layers of the facility edits (``register``: the unedited facilities) and
    the study area, in the base map's ``datum``."""
    fg = folium.FeatureGroup(name=_t("机构调整", "Facility changes", lang))
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
