"""The study boundary drawn with the map's tool (planner/app/area.py ``drawn_boundary``,
planner/app/edit_layers.py ``DrawTool``): the GeoJSON the map reports becomes WGS-84 corners
(shifted back from GCJ-02 on an Amap base map), bad drawings are refused with the fix, and the
tool's assets are the vendored files (no CDN), byte for byte the ones the README lists.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import folium
import pytest

import planner
from planner import app as aps
from planner.app.edit_layers import DRAW_ASSETS, DrawTool
from planner.basemaps import to_display

STATIC = Path(planner.__file__).resolve().parent / "static"


def _feature(ring: list[tuple[float, float]]) -> dict:
    """One of the ``all_drawings`` streamlit_folium reports (Leaflet's toGeoJSON)."""
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]]},
    }


def test_a_drawn_polygon_gives_its_corners():
    ring = [(114.20, 34.50), (114.30, 34.50), (114.30, 34.56), (114.20, 34.56)]
    assert aps.drawn_boundary(_feature(ring)) == tuple(ring)  # the closing corner dropped
    # on an Amap base map the map is in GCJ-02: drawn there, the corners come back in WGS-84
    gx, gy = to_display([p[0] for p in ring], [p[1] for p in ring], datum="gcj02")
    shown = list(zip(map(float, gx), map(float, gy), strict=True))
    assert abs(shown[0][0] - ring[0][0]) > 0.003  # the shift is real (~500 m)
    back = aps.drawn_boundary(_feature(shown), datum="gcj02")
    for (x, y), (bx, by) in zip(ring, back, strict=True):
        assert abs(bx - x) < 2e-6 and abs(by - y) < 2e-6  # rounded to 1e-6 degrees


@pytest.mark.parametrize(
    ("feature", "match"),
    [
        ({"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}}, "polygon"),
        (None, "not a polygon"),
        (_feature([(0.0, 0.0), (1.0, 1.0)]), "at least 3 corners"),
        (_feature([(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)]), "crosses itself"),
        (
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [["x"]]}},
            "no readable corners",
        ),
    ],
)
def test_bad_drawings_are_refused_with_the_fix(feature, match):
    with pytest.raises(planner.InputError, match=match):
        aps.drawn_boundary(feature)


def test_the_draw_tool_uses_only_the_vendored_assets():
    m = folium.Map(tiles=None)
    fg = folium.FeatureGroup().add_to(m)
    fg.add_child(DrawTool(lang="zh"))
    script = aps.feature_groups_script([fg])
    urls = re.findall(r'"(/app/static/[^"]+)"', script)
    assert sorted(urls) == [f"{DRAW_ASSETS}/leaflet.draw.css", f"{DRAW_ASSETS}/leaflet.draw.js"]
    assert "://" not in script  # nothing from the network
    assert "画研究范围（多边形）" in script or "\\u753b" in script
    for url in urls:  # served from planner/static (the repository's static -> planner/static)
        assert (STATIC / url.removeprefix("/app/static/")).is_file(), url
    # the CSS's icons are there too
    css = (STATIC / "leaflet-draw" / "leaflet.draw.css").read_text(encoding="utf-8")
    for rel in set(re.findall(r"url\('?([^')]+)'?\)", css)):
        assert (STATIC / "leaflet-draw" / rel).is_file(), rel
    assert "MIT" in (STATIC / "leaflet-draw" / "LICENSE").read_text(encoding="utf-8")


def test_the_vendored_files_are_the_ones_the_readme_lists():
    readme = (STATIC / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^([0-9a-f]{64})  (leaflet-draw/\S+)$", readme, flags=re.M)
    assert len(listed) == 5
    for digest, rel in listed:
        assert hashlib.sha256((STATIC / rel).read_bytes()).hexdigest() == digest, rel


def test_the_edit_layers_carry_the_tool_and_the_boundary():
    ds = planner.load_demo()
    ring = ((114.20, 34.50), (114.30, 34.50), (114.30, 34.56))
    groups = aps.edit_layers(
        None,
        ds.facilities,
        edits=aps.FacilityEdits(),
        polygon=aps.polygon_from_clicks(ring),
        lang="en",
    )
    script = aps.feature_groups_script(groups)
    assert "L.Control.Draw" in script and "planner-study-area" in script
    off = aps.feature_groups_script(
        aps.edit_layers(None, ds.facilities, edits=aps.FacilityEdits(), draw_tool=False)
    )
    assert "L.Control.Draw" not in off
