"""Drawing a study boundary in a real browser (``streamlit run app.py``, Debian's chromium
through Playwright, every request outside the local server blocked): the map's polygon tool
(Leaflet.draw, vendored in planner/static/leaflet-draw) draws a boundary, and the headline
counts only the residents inside it: the library's figure for the very shape the map reported.
Drawing adds no station (the clicks go to the tool, not to the what-if). Clearing it gives the
county back. A screenshot goes to ``test-output/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _browser import (
    MAP_FRAME,
    app_server,
    chromium_page,
    idle,
    metric,
    wait_metric,
)

import planner
from planner import app as aps
from planner.i18n import Translator

REPO = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO / "test-output"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory) as url:
        yield url


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_draw_a_study_boundary_in_chromium(server, lang):
    T = Translator(lang)
    ds = planner.load_demo()
    walk15 = planner.analyze(ds, isochrone_minutes=None)
    x0, y0, x1, y1 = walk15.demand.total_bounds
    xm = (x0 + x1) / 2
    # the western half of the county, corner by corner (lat, lon as Leaflet takes them)
    corners = [(y0 - 0.01, x0 - 0.01), (y0 - 0.01, xm), (y1 + 0.01, xm), (y1 + 0.01, x0 - 0.01)]
    TEST_OUTPUT.mkdir(exist_ok=True)
    locale = "zh-CN" if lang == "zh" else "en-US"
    with chromium_page(server, locale=locale, viewport=(1366, 900)) as (page, attempted, problems):
        page.goto(server)
        frame_loc = page.frame_locator(MAP_FRAME)
        frame_loc.locator(".leaflet-marker-pane .planner-symbol").first.wait_for(
            state="attached", timeout=180_000
        )
        wait_metric(page, T("covered"), "true", timeout=180_000)
        idle(page)
        whole = metric(page, T("covered"))
        assert whole == f"{walk15.covered_population:,.0f}"

        # the tool is on the map, served from the local server, with the page's language
        tool = frame_loc.locator("a.leaflet-draw-draw-polygon")
        tool.wait_for(timeout=60_000)
        assert tool.get_attribute("title") == (
            "画研究范围（多边形）" if lang == "zh" else "Draw the study area (polygon)"
        )
        frame = [f for f in page.frames if "streamlit_folium" in f.url][-1]
        frame.evaluate(f"window.map.fitBounds([[{y0}, {x0}], [{y1}, {x1}]], {{animate: false}})")
        page.wait_for_timeout(500)
        tool.click()
        box = frame_loc.locator(".leaflet-container").bounding_box()
        for i, (lat, lon) in enumerate([*corners, corners[0]]):  # the first again closes it
            x, y = frame.evaluate(
                f"(() => {{ const p = window.map.latLngToContainerPoint([{lat}, {lon}]); "
                "return [p.x, p.y]; })()"
            )
            t0 = time.perf_counter()
            page.mouse.click(box["x"] + x, box["y"] + y)
            if i < len(corners):
                page.wait_for_timeout(250)
        wait_metric(page, T("covered"), f"v !== {whole!r}")
        seconds = time.perf_counter() - t0
        idle(page)

        # the numbers are the library's for the shape the map reported
        drawn = frame.evaluate("window.__GLOBAL_DATA__.all_drawings")[-1]
        ring = aps.drawn_boundary(drawn)
        assert len(ring) == 4
        for (lat, lon), (rx, ry) in zip(corners, ring, strict=True):
            assert abs(rx - lon) < 0.002 and abs(ry - lat) < 0.002  # within a pixel or two
        sub = aps.restrict(walk15, polygon=aps.polygon_from_clicks(ring))
        assert 0 < sub.total_population < walk15.total_population
        assert metric(page, T("covered")) == f"{sub.covered_population:,.0f}"
        uncovered = sub.total_population - sub.covered_population
        assert metric(page, T("uncovered")) == f"{uncovered:,.0f}"
        assert page.get_by_text(T("area_drawn", n=4)).count() == 1
        # drawing added no station, and the app draws the boundary it uses
        assert metric(page, T("with_proposals")) == "–"
        frame.wait_for_function(
            "document.querySelectorAll('path.planner-study-area').length === 1", timeout=30_000
        )
        page.screenshot(path=str(TEST_OUTPUT / f"area_drawn_{lang}.png"))

        # cleared: the whole county again
        page.locator(".st-key-btn_area_clear button").click()
        wait_metric(page, T("covered"), f"v === {whole!r}")
        idle(page)
        frame.wait_for_function(
            "document.querySelectorAll('path.planner-study-area').length === 0", timeout=30_000
        )

        # with the tool on the map, an ordinary click (here on an uncovered area) still adds a
        # station, reported once (the immediate click report and streamlit_folium's own carry
        # the same value)
        page.evaluate(
            """() => { window.plannerPosts = 0; window.addEventListener('message', (e) => {
                if (e.data && e.data.type === 'streamlit:setComponentValue') {
                    window.plannerPosts += 1; } }); }"""
        )
        q = walk15.uncovered.geometry.representative_point().iloc[0]
        frame_loc.locator(".leaflet-container").scroll_into_view_if_needed()
        box = frame_loc.locator(".leaflet-container").bounding_box()  # the page scrolled
        x, y = frame.evaluate(
            f"(() => {{ const p = window.map.latLngToContainerPoint([{q.y}, {q.x}]); "
            "return [p.x, p.y]; })()"
        )
        page.mouse.click(box["x"] + x, box["y"] + y)
        try:
            wait_metric(page, T("with_proposals"), "v !== '–'")
        except Exception:
            page.screenshot(path=str(TEST_OUTPUT / f"area_click_failed_{lang}.png"))
            raise AssertionError(
                f"click at {x:.0f},{y:.0f} ({q.x:.5f}, {q.y:.5f}): "
                + str(frame.evaluate("JSON.stringify(window.__GLOBAL_DATA__.previous_data)"))[:600]
                + f" posts {page.evaluate('window.plannerPosts')}"
            ) from None
        idle(page)
        page.wait_for_timeout(1000)
        assert page.evaluate("window.plannerPosts") == 1
        # the click landed on an uncovered area's polygon: not taken for a drawn boundary
        assert metric(page, T("covered")) == whole

    assert attempted == [], f"requests outside the local server: {attempted}"
    assert problems == [], problems
    print(
        f"\nchromium, {lang}: last corner clicked -> numbers in {seconds:.2f} s (reported, not asserted)"
    )
