"""The analysis layers of the map: boundaries, facilities by tier, isochrones, uncovered
population in fixed classes, proposed sites; their styles and symbols (:mod:`planner.maps`)."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import branca.colormap
import folium
import geopandas as gpd
import numpy as np

from ._constants import UNCOVERED_BREAKS, UNCOVERED_COLORS
from ._errors import InputError
from ._mapcore import (
    Lang,
    check_lang,
    compact_json,
    display_datum,
    ensure_pane,
    escaped,
    feature_collection,
    json_value,
    prepare,
    text_in,
    tooltip_for,
)
from ._maplegend import add_legend

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
        return text_in(self.zh, self.en, lang)


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
_UNCOVERED_COLORS = UNCOVERED_COLORS

_BOUNDARY_PANE = "plannerBoundaries"


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
    check_lang(lang)
    wanted = (
        set(TIER_STYLE) if tiers is None else {t if t in TIER_STYLE else "other" for t in tiers}
    )
    return [
        (st.label(lang), symbol_svg(st.symbol, st.color, 14))
        for tier, st in TIER_STYLE.items()
        if tier in wanted
    ]


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------

#: Decimals of the polygon layers' coordinates: 1e-5 degrees, about 1 m (they are simplified
#: by 5 m; 6 decimals wrote 0.1 m for nothing). Points keep 6.
_DECIMALS = 5
_DATA_TOKEN = "planner-geojson-data"


class _CompactGeoJson(folium.GeoJson):
    """folium's GeoJson layer whose data is written as compact JSON: no spaces, Chinese names
    in UTF-8 (3 bytes, not the 6 of ``\\uXXXX``), keys in their order (folium's ``tojson``
    writes ``", "`` and ``": "`` and escapes every non-ASCII character): on the demo county's
    map about a third fewer bytes. Everything else is folium's (styles, tooltips, markers)."""

    def __init__(self, data: dict, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        mod = folium.GeoJson._template.module.__dict__
        script = mod["script"]

        def compact_script(
            this: Any, *args: Any
        ) -> str:  # (this, kwargs); streamlit_folium: (this)
            data = this.data
            this.data = _DATA_TOKEN
            try:
                text = str(script(this, *args))
            finally:
                this.data = data
            token = json.dumps(_DATA_TOKEN)
            if text.count(token) != 1:  # pragma: no cover - another folium template
                return str(script(this, *args))
            return text.replace(token, compact_json(data))

        parts = {k: mod[k] for k in ("header", "html") if k in mod}
        self._template = SimpleNamespace(module=SimpleNamespace(**parts, script=compact_script))


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
        Map from :func:`planner.maps.new_map`.
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
    check_lang(lang)
    g = prepare(gdf, ["admin_code", "admin_name", "level"], what="boundaries")
    levels = escaped(g["level"])
    rank = [_LEVEL_STYLE.get(lv, _DEFAULT_LEVEL_STYLE)[0] for lv in levels]
    order = np.argsort(rank, kind="stable")  # finer levels first, county lines drawn on top
    g = g.iloc[order]
    levels = [levels[i] for i in order]
    level_label = [
        text_in(*_LEVEL_STYLE[lv][3:], lang) if lv in _LEVEL_STYLE else lv for lv in levels
    ]
    data = feature_collection(
        g,
        {
            "admin_name": escaped(g["admin_name"]),
            "admin_code": escaped(g["admin_code"]),
            "level": levels,
            "level_label": level_label,
        },
        simplify_m=simplify_m,
        datum=display_datum(m),
        decimals=_DECIMALS,
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

    ensure_pane(m, _BOUNDARY_PANE, 450)
    layer = _CompactGeoJson(
        data,
        name=name or text_in("行政区划", "Boundaries", lang),
        show=show,
        style_function=style,
        highlight_function=highlight,
        tooltip=tooltip_for(
            data,
            ["admin_name", "admin_code", "level_label"],
            [
                text_in("名称", "Name", lang),
                text_in("代码", "Code", lang),
                text_in("级别", "Level", lang),
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
    compact: bool = True,
) -> folium.GeoJson:
    marker = folium.Marker(icon=folium.DivIcon(class_name="planner-symbol"))
    if z_index_offset:
        marker.options["zIndexOffset"] = z_index_offset
    kind = _CompactGeoJson if compact else folium.GeoJson
    layer = kind(data, name=name, show=show, style_function=style, tooltip=tooltip, marker=marker)
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
        Map from :func:`planner.maps.new_map`.
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
    check_lang(lang)
    g = prepare(gdf, ["facility_id", "name", "tier"], what="facilities", points=True)
    tiers = escaped(g["tier"])
    props: dict[str, list] = {
        "facility_id": escaped(g["facility_id"]),
        "name": escaped(g["name"]),
        "tier": tiers,
        "tier_label": [
            _tier_style(t).label(lang) if t in TIER_STYLE else f"{t} ({_tier_style(t).label(lang)})"
            for t in tiers
        ],
    }
    fields = ["name", "tier_label", "facility_id"]
    aliases = [
        text_in("名称", "Name", lang),
        text_in("级别", "Tier", lang),
        text_in("编号", "ID", lang),
    ]
    if "type" in g.columns:
        props["type"] = escaped(g["type"])
        fields.insert(2, "type")
        aliases.insert(2, text_in("类型", "Type", lang))
    data = feature_collection(g, props, datum=display_datum(m))  # points: 6 decimals

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
        name=name or text_in("医疗卫生机构", "Facilities", lang),
        show=show,
        tooltip=tooltip_for(data, fields, aliases),
    )
    if legend and tiers:
        add_legend(
            m,
            tier_legend_items(tiers, lang=lang),
            title=text_in("医疗卫生机构", "Facilities", lang),
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
        Map from :func:`planner.maps.new_map`.
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
    check_lang(lang)
    g = prepare(gdf, ["facility_id", "minutes"], what="isochrones", numeric=["minutes"])
    if dissolve and len(g):
        g = g[["minutes", "geometry"]].dissolve(by="minutes", as_index=False)
        g["facility_id"] = ""
    g = g.sort_values("minutes", ascending=False, kind="stable")
    minutes = g["minutes"].to_numpy(dtype=float)
    levels = sorted(set(minutes[np.isfinite(minutes)].tolist()))
    colors = _isochrone_colors(levels)
    props: dict[str, list] = {"minutes": [json_value(v) for v in minutes]}
    fields, aliases = ["minutes"], [text_in("分钟", "Minutes", lang)]
    if not dissolve:
        props["facility_id"] = escaped(g["facility_id"])
        fields.insert(0, "facility_id")
        aliases.insert(0, text_in("机构编号", "Facility", lang))
        if "name" in g.columns:
            props["name"] = escaped(g["name"])
            fields.insert(0, "name")
            aliases.insert(0, text_in("机构", "Facility", lang))
    data = feature_collection(
        g, props, simplify_m=simplify_m, datum=display_datum(m), decimals=_DECIMALS
    )

    def style(feature: dict) -> dict:
        color = colors.get(feature["properties"]["minutes"], "#999999")
        return {
            "color": color,
            "weight": 1,
            "opacity": 0.8,
            "fillColor": color,
            "fillOpacity": fill_opacity,
        }

    label = text_in("等时圈", "Isochrones", lang)
    layer = _CompactGeoJson(
        data,
        name=name or label,
        show=show,
        style_function=style,
        highlight_function=lambda f: {"weight": 3},
        tooltip=tooltip_for(data, fields, aliases),
    )
    layer.add_to(m)
    if legend and levels:
        items = [
            (
                text_in(f"{_minutes_text(v)} 分钟内", f"within {_minutes_text(v)} min", lang),
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
    check_lang(lang)
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
        Map from :func:`planner.maps.new_map`.
    gdf
        Column ``population`` (>= 0), (Multi)Polygons (demand-unit footprints) in EPSG:4326.
    name, show, lang
        Layer name (default bilingual "Uncovered population"), initial visibility, language.
    colormap
        A branca colormap to use instead of the fixed classes. It is used for the colours
        only: it is **not** added to the map, because branca's own legend loads d3 from a CDN;
        the legend is drawn by :func:`planner.maps.add_legend`.
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
    check_lang(lang)
    g = prepare(gdf, ["population"], what="uncovered", numeric=["population"])
    pop = g["population"].to_numpy(dtype=float)
    shown = [None if not np.isfinite(v) else round(v) for v in pop]
    data = feature_collection(
        g,
        {"population": shown},
        simplify_m=simplify_m,
        datum=display_datum(m),
        decimals=_DECIMALS,
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

    label = text_in("未覆盖人口", "Uncovered population", lang)
    layer = _CompactGeoJson(
        data,
        name=name or label,
        show=show,
        style_function=style,
        highlight_function=lambda f: {"weight": 2, "color": "#000000"},
        tooltip=tooltip_for(
            data, ["population"], [text_in("未覆盖人口（人）", "Uncovered (people)", lang)]
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
        Map from :func:`planner.maps.new_map`.
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
    check_lang(lang)
    g = prepare(
        gdf,
        ["site_id", "tier", "newly_covered_population"],
        what="proposals",
        points=True,
        numeric=["newly_covered_population"],
    )
    tiers = escaped(g["tier"])
    newly = g["newly_covered_population"].to_numpy(dtype=float)
    data = feature_collection(
        g,
        {
            "site_id": escaped(g["site_id"]),
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

    label = text_in("建议新增站点", "Proposed sites", lang)
    layer = _point_layer(
        m,
        data,
        style,
        name=name or label,
        show=show,
        tooltip=tooltip_for(
            data,
            ["site_id", "tier_label", "newly_covered_population"],
            [
                text_in("站点", "Site", lang),
                text_in("级别", "Tier", lang),
                text_in("新增覆盖人口", "Newly covered population", lang),
            ],
        ),
        z_index_offset=1000,
        # the sites travel with each click's layers (small); kept in folium's own JSON
        compact=False,
    )
    if legend and tiers:
        present = {t if t in TIER_STYLE else "other" for t in tiers}
        items = [
            (
                text_in(f"建议：{st.zh}", f"Proposed: {st.en}", lang),
                symbol_svg("star", st.color, 16, stroke="#111111", stroke_width=1.3),
            )
            for tier, st in TIER_STYLE.items()
            if tier in present
        ]
        add_legend(m, items, title=label, layer=layer)
    return layer
