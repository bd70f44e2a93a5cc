"""The app's base map as sent to the browser on the demo county (issue 11: the first view).

- Leaflet travels with the map (``MapPayload.leaflet_js``, its JS and CSS, in front of the map's
  script): the map's frame fetches nothing from the server before drawing, and a run that sends
  :data:`planner.app.MAP_KEPT` instead of the map does not send Leaflet either (nor does the
  header, sent on every run);
- the polygon layers' coordinates are rounded to 1e-5 degrees (about 1 m) and their GeoJSON is
  written compactly (no spaces, Chinese in UTF-8): the map's script stays under a bound (567 kB
  before, 489 kB after, Chinese labels);
- in chromium (Debian's, via Playwright; skipped without it), the payload assembled as
  ``streamlit_folium`` assembles it draws the map, styles it with Leaflet's CSS, shows a
  facility's tooltip, and a mouse click reports the latitude and longitude of the point clicked.
"""

from __future__ import annotations

import json
import re

import pytest
import shapely
from _browser import CHROMIUM, CHROMIUM_ARGS, need_chromium

import planner
from planner import app as aps
from planner import maps

#: The map's own script (Chinese labels) on the demo county, bytes: 567,068 before issue 11.
SCRIPT_BOUND = 520_000


@pytest.fixture(scope="module")
def demo_map():
    ds = planner.load_demo()
    result = planner.analyze(ds, isochrone_minutes=None)
    bands = aps.coverage_bands(result, aps.band_levels(15))
    payload = aps.map_payload(aps.base_map(ds, result, bands, lang="zh"))
    return ds, result, bands, payload


def _collections(script: str) -> dict[str, dict]:
    """Every FeatureCollection a GeoJson layer adds in ``script``, by layer variable."""
    decoder = json.JSONDecoder()
    out = {}
    for match in re.finditer(r"(geo_json_\w+)_add\((?=\{)", script):
        obj, _ = decoder.raw_decode(script, match.end())
        if obj.get("type") == "FeatureCollection":
            out[match.group(1)] = obj
    return out


def _decimals(coords: object) -> int:
    """The most decimals of any number in a (nested) coordinate list."""
    text = json.dumps(coords)
    return max(len(d) for d in re.findall(r"\d+\.(\d+)", text) or [""])


def test_leaflet_sent_with_the_map_not_linked(demo_map):
    *_, payload = demo_map
    js, css = maps.leaflet_assets()
    assert payload.leaflet_js.startswith(js) and f"Leaflet {maps.LEAFLET_VERSION}" in js[:200]
    assert json.dumps(css) in payload.leaflet_js and "url(images/" not in css
    assert payload.js_links == [] and payload.css_links == []
    # the header, sent again on every run, does not carry Leaflet's CSS
    assert "leaflet" not in payload.header.lower().replace("leaflet-container", "")
    sent = payload.component_script()
    assert sent.startswith(js) and sent.endswith(payload.script)
    assert sent.index("L.map(") > len(js)  # the map is made after Leaflet is defined
    # a later run sends the short script instead of the map, and no Leaflet with it
    import dataclasses

    kept = dataclasses.replace(payload, script=aps.MAP_KEPT)
    assert kept.component_script() == aps.MAP_KEPT
    # a map that links Leaflet itself (or links are wanted): nothing is moved
    linked = aps.map_payload(payload.map, leaflet_in_script=False)
    assert linked.leaflet_js == "" and linked.component_script() == linked.script
    assert linked.js_links == ["/app/static/leaflet/leaflet.js"]
    assert linked.css_links == ["/app/static/leaflet/leaflet.css"]


def test_demo_map_is_compact_and_complete(demo_map):
    ds, result, bands, payload = demo_map
    size = len(payload.script.encode())
    assert size < SCRIPT_BOUND, size
    layers = _collections(payload.script)
    by_count = sorted(len(fc["features"]) for fc in layers.values())
    facilities = result.facilities[~result.facilities["proposed"]]
    assert by_count == sorted(
        [len(ds.boundaries), len(bands), len(result.uncovered), len(facilities)]
    )
    for fc in layers.values():
        kinds = {f["geometry"]["type"] for f in fc["features"]}
        coords = [f["geometry"]["coordinates"] for f in fc["features"]]
        if kinds == {"Point"}:
            assert _decimals(coords) <= 6  # facilities where they are (0.1 m)
        else:
            assert _decimals(coords) <= 5  # polygons: about 1 m
    # compact JSON: no spaces after separators, Chinese written as UTF-8, not \uXXXX
    data = payload.script[payload.script.index('{"type":"FeatureCollection"') :]
    assert '{"type":"FeatureCollection","features":[{"type":"Feature"' in payload.script
    assert '", "' not in data[:5000] and "\\u" not in data[:5000]
    town = ds.boundaries.loc[ds.boundaries["level"] == "township", "admin_name"].iloc[0]
    assert f'"{town}"' in payload.script
    # what the map shows is what the data holds: every boundary within ~1 m of its own
    fc = next(fc for fc in layers.values() if len(fc["features"]) == len(ds.boundaries))
    shown = {
        f["properties"]["admin_code"]: shapely.geometry.shape(f["geometry"]) for f in fc["features"]
    }
    assert set(shown) == set(ds.boundaries["admin_code"])
    for code, geom in zip(
        ds.boundaries["admin_code"], ds.boundaries.to_crs(4326).geometry, strict=True
    ):
        # simplified by 5 m then rounded: the outline stays within ~7 m (1e-4 deg is ~10 m)
        assert shown[code].hausdorff_distance(geom) < 1e-4, code


# The page streamlit_folium builds in its frame: the html, the header, and the script run as an
# inline <script> followed by its own line (window.map = map_div; initComponent).
_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<div id="map_div" style="width: 900px; height: 620px"></div></body></html>"""
_ASSEMBLE = """([header, script]) => {
    document.head.innerHTML += header;
    const s = document.createElement("script");
    s.innerHTML = script + "\\nwindow.map = map_div;";
    document.body.appendChild(s);
}"""


#: The centre of a facility symbol that is on top at its centre, in the map's pixels.
_FREE_SYMBOL = """(() => {
    const box = map.getContainer().getBoundingClientRect();
    for (const el of document.querySelectorAll('.leaflet-marker-pane .planner-symbol')) {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (x < box.left || y < box.top || x > box.right || y > box.bottom) continue;
        if (el.contains(document.elementFromPoint(x, y))) return [x - box.left, y - box.top];
    }
    return null; })()"""


def test_payload_draws_and_a_click_reports_its_lat_lng_in_chromium(demo_map):
    need_chromium()
    from playwright.sync_api import sync_playwright

    *_, payload = demo_map
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            asked: list[str] = []
            page.route("**/*", lambda r: (asked.append(r.request.url), r.abort()))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.set_content(_PAGE)
            page.evaluate(_ASSEMBLE, [payload.header, payload.component_script()])
            page.locator(".leaflet-marker-pane .planner-symbol").first.wait_for(state="attached")
            # Leaflet's CSS applies (panes positioned), the layers are drawn as SVG paths
            position = page.evaluate(
                "getComputedStyle(document.querySelector('.leaflet-pane')).position"
            )
            assert position == "absolute"
            # ... first in the head, as its link was: the map's own styles come after it
            first = page.evaluate("document.head.querySelector('style').dataset.planner")
            assert first == "leaflet.css"
            n_paths = page.evaluate("document.querySelectorAll('path.leaflet-interactive').length")
            assert n_paths > 300
            # a click on an uncovered area (an interactive layer) reaches the map with the
            # latitude and longitude of the pixel clicked
            page.evaluate(
                "window.clicks = []; map.on('click', e => clicks.push([e.latlng.lat, e.latlng.lng]))"
            )
            lat, lon = 34.52, 114.27  # where a station adds residents (tests/test_app_whatif.py)
            x, y = page.evaluate(
                f"(() => {{ const p = map.latLngToContainerPoint([{lat}, {lon}]); "
                "return [p.x, p.y]; })()"
            )
            box = page.locator("#map_div").bounding_box()
            page.mouse.click(box["x"] + x, box["y"] + y)
            page.wait_for_function("window.clicks.length > 0")
            got = page.evaluate("window.clicks[0]")
            # one pixel at this zoom is ~40 m: 1e-3 degrees is ~2 pixels
            assert got == pytest.approx([lat, lon], abs=1e-3), got
            # a facility's tooltip shows its name (a symbol that no other symbol covers)
            fx, fy = page.evaluate(_FREE_SYMBOL)
            page.mouse.move(box["x"] + fx, box["y"] + fy)
            tip = page.locator(".leaflet-tooltip").filter(has_text="编号")  # the facility's ID
            tip.wait_for(state="visible")
            names = set(demo_map[1].facilities["name"])
            assert any(n in tip.inner_text() for n in names), tip.inner_text()
        finally:
            browser.close()
    assert problems == [], problems
    assert [u for u in asked if not u.startswith("data:")] == []  # nothing fetched
