"""The map's legend: every legend of a map corner in one compact box that folds up.

Each call of :func:`planner.maps.add_legend` adds a section (its own title folds it too),
shown while its layer is on the map; the box starts folded on a small map.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Literal

import folium
from branca.element import MacroElement
from folium.template import Template

from ._errors import InputError
from ._mapcore import map_lang, text_in

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
    >>> from planner.maps import new_map
    >>> m = new_map((116.3, 39.8, 116.5, 40.0))
    >>> legend = add_legend(m, [("15 分钟内 / within 15 min", "#08519c")], title="等时圈")
    """
    if position not in ("topleft", "topright", "bottomleft", "bottomright"):
        raise InputError(f"position={position!r}: use topleft, topright, bottomleft or bottomright")
    pairs = list(items.items()) if isinstance(items, Mapping) else [tuple(i) for i in items]
    rows = "".join(_legend_row(label, swatch) for label, swatch in pairs)
    head = f"<summary>{html.escape(title)}</summary>" if title else ""
    lang = map_lang(m)
    _ensure_legend_support(m)
    element = _Legend(
        head + rows,
        position,
        layer,
        title=title or "",
        box_title=text_in("图例", "Legend", lang),
    )
    m.add_child(element)
    return element
