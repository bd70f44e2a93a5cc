"""Shared internals of :mod:`planner.maps` (documented internal, not public API).

The helpers every layer of the map uses: bilingual labels, the display datum of a map (WGS-84,
or GCJ-02 on an Amap base map), turning a GeoDataFrame into compact GeoJSON in that datum,
tooltips and panes. :mod:`planner.maps`, :mod:`planner._maplayers`,
:mod:`planner._mapcontext` and :mod:`planner._maplegend` import these; nothing else should.
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from . import basemaps
from ._errors import CRSError, InputError
from ._validate import Problems, describe_rows

log = logging.getLogger("planner.maps")

Lang = Literal["zh", "en", "both"]


def text_in(zh: str, en: str, lang: Lang) -> str:
    if lang == "zh":
        return zh or en
    if lang == "en":
        return en or zh
    return f"{zh} / {en}" if zh and en else (zh or en)


def check_lang(lang: str) -> None:
    if lang not in ("zh", "en", "both"):
        raise InputError(f"lang={lang!r}: use 'zh', 'en' or 'both'")


def map_lang(m: Any) -> Lang:
    """The language a map was made in (:func:`planner.maps.new_map`'s ``lang``), else both."""
    for child in getattr(m, "_children", {}).values():
        lang = getattr(child, "planner_lang", None)
        if lang in ("zh", "en", "both"):
            return lang
    return "both"


def compact_json(value: Any) -> str:
    """JSON for a ``<script>``: no spaces, UTF-8 kept (a Chinese name is 3 bytes, not the 6 of
    ``\\uXXXX``), and ``<``, ``>``, ``&`` escaped so nothing can close the script."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------------------------
# Display datum
# ---------------------------------------------------------------------------------------------


class DisplayDatum(MacroElement):
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
        if isinstance(child, DisplayDatum):
            del parent._children[name]
    if datum != "wgs84":
        parent.add_child(DisplayDatum(datum))


def display_datum(parent: Any) -> str:
    """The datum in which layers added to ``parent`` are drawn: ``"gcj02"`` on an Amap base
    map, otherwise ``"wgs84"``. Read a click on the map back into WGS-84 with
    :func:`planner.basemaps.from_display`."""
    for child in getattr(parent, "_children", {}).values():
        if isinstance(child, DisplayDatum):
            return child.datum
    return "wgs84"


# ---------------------------------------------------------------------------------------------
# GeoDataFrame -> compact GeoJSON
# ---------------------------------------------------------------------------------------------


def prepare(
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


def simplify_lonlat(geoms: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Simplify lon/lat geometries by about ``tolerance_m`` metres (local equirectangular)."""
    if tolerance_m <= 0 or len(geoms) == 0:
        return geoms
    _, miny, _, maxy = shapely.total_bounds(geoms)
    k = max(math.cos(math.radians((miny + maxy) / 2)), 0.01)
    scale = np.array([k, 1.0])
    scaled = shapely.transform(geoms, lambda c: c * scale)
    simple = shapely.simplify(scaled, tolerance_m / 111_320.0, preserve_topology=True)
    return shapely.transform(simple, lambda c: c / scale)


def json_value(v: Any) -> Any:
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


def feature_collection(
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
    geoms = simplify_lonlat(geoms, simplify_m)
    geoms = basemaps.geometries_to_display(geoms, datum=datum)
    geoms = shapely.transform(geoms, lambda c: np.round(c, decimals))
    cols = {k: [json_value(v) for v in vals] for k, vals in properties.items()}
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


def escaped(series: pd.Series) -> list[str]:
    # Escaped: Leaflet tooltips are HTML, so a name like "A&B <x>" must not become markup.
    return ["" if pd.isna(v) else html.escape(str(v), quote=False) for v in series]


def tooltip_for(
    data: dict, fields: Sequence[str], aliases: Sequence[str]
) -> folium.GeoJsonTooltip | None:
    if not data["features"]:  # folium checks the fields against the first feature
        return None
    return folium.GeoJsonTooltip(
        fields=list(fields), aliases=list(aliases), localize=True, sticky=True
    )


def ensure_pane(m: folium.Map, name: str, z_index: int) -> None:
    for child in m._children.values():
        if isinstance(child, folium.map.CustomPane) and child.name == name:
            return
    # pointer_events=False sets "pointer-events: none" on the pane, so the pane's SVG does not
    # cover layers below it; Leaflet's interactive paths set "pointer-events: auto" themselves,
    # so the outlines still show their tooltips.
    m.add_child(folium.map.CustomPane(name, z_index=z_index, pointer_events=False))
