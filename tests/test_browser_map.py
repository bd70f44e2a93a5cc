"""The app's map and layout as a person sees them on a 1366 × 768 laptop, in Chinese and English:
``streamlit run app.py`` driven by Playwright with Debian's chromium (never ``playwright
install``), every request that does not go to the local server blocked.

Checks that the headline numbers, metric labels and tier chips are not cut, that the legend
folds up and opens again, that roads and township names are drawn without tiles and village
names appear when zoomed in, and that a base map whose tiles cannot load says so on the map.
Screenshots go to ``test-output/``; with ``PLANNER_UPDATE_SCREENSHOT=1`` they are also copied
to ``docs/screenshots/`` (``map_zh.png``, ``map_en.png``, ``map_zh_zoom.png`` and the README's
``app.png``), so a test run leaves the tree clean. Skipped without chromium.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _browser import (
    MAP_FRAME,
    app_server,
    chromium_page,
    idle,
)

from planner import maps
from planner.i18n import STRINGS, Translator

REPO = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO / "test-output"
DOCS = REPO / "docs" / "screenshots"
VIEWPORT = (1366, 768)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory) as url:
        yield url


def _map_frame(page):
    page.frame_locator(MAP_FRAME).locator(".leaflet-marker-pane .planner-symbol").first.wait_for(
        state="attached", timeout=180_000
    )
    idle(page)
    return [f for f in page.frames if "streamlit_folium" in f.url][-1]


# Elements whose text is cut: wider content than box (the ellipsis case), per kind.
_CUT_JS = """() => {
    const out = [];
    const check = (kind, sel) => document.querySelectorAll(sel).forEach(e => {
        if (e.scrollWidth > e.clientWidth + 1) out.push([kind, e.innerText, e.scrollWidth, e.clientWidth]);
    });
    check("value", '[data-testid="stMetricValue"] [data-testid="stMarkdownContainer"]');
    check("value", '[data-testid="stMetricValue"]');
    check("label", '[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"]');
    check("chip", '[data-testid="stMultiSelectTagsContainer"] [data-tag] > span[title]');
    return out;
}"""

_HEADLINE_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => {
    const v = m.querySelector('[data-testid="stMetricValue"]');
    const r = v.getBoundingClientRect(), box = m.getBoundingClientRect();
    return [m.querySelector('[data-testid="stMetricLabel"]').innerText, v.innerText,
            r.right <= box.right + 1];
})"""


def _copy(shot: Path, name: str) -> None:
    if os.environ.get("PLANNER_UPDATE_SCREENSHOT") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / name)


def _check_page(page, lang: str) -> dict:
    """The checks at 1366 x 768 in one language; returns what it measured."""
    T = Translator(lang)
    frame = _map_frame(page)
    cut = page.evaluate(_CUT_JS)
    assert cut == [], f"cut text ({lang}): {cut}"
    headline = page.evaluate(_HEADLINE_JS)
    shown = {label: value for label, value, _ in headline}
    assert all(inside for _, _, inside in headline), headline
    assert "…" not in "".join(shown.values()), shown
    assert any("," in v and v.replace(",", "").isdigit() for v in shown.values()), shown
    # the tier chips are told apart: the whole name is shown
    chips = page.evaluate(
        """() => Array.from(document.querySelectorAll(
            '[data-testid="stMultiSelectTagsContainer"] [data-tag] > span[title]'))
            .map(e => [e.innerText.replace(/\\s+/g, " ").trim(), e.title])"""
    )
    assert chips and all(text == title for text, title in chips), chips
    assert len({text for text, _ in chips}) == len(chips)

    # the map without tiles: roads, township names, one legend box, metric scale only
    assert frame.evaluate("document.querySelectorAll('.leaflet-tile').length") == 0
    assert frame.evaluate("document.querySelectorAll('path.planner-road').length") >= 4
    towns = frame.evaluate(
        "Array.from(document.querySelectorAll('.planner-place-township'))"
        ".filter(e => getComputedStyle(e).display !== 'none').length"
    )
    assert towns >= 10, towns
    scale = frame.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-scale-line')).map(e => e.innerText)"
    )
    assert len(scale) == 1 and scale[0].endswith("m"), scale  # km or m, no miles
    assert frame.evaluate("document.querySelectorAll('.planner-legend').length") == 1
    head = STRINGS["basemap"][lang]  # the sidebar's base map choice is there
    assert page.get_by_text(head, exact=True).count() >= 1
    legend_title = {"zh": "图例", "en": "Legend"}[lang]
    box_sel = ".planner-legend-box"
    assert frame.evaluate(f"document.querySelector('{box_sel}').open") is True
    body_h = frame.evaluate(
        f"document.querySelector('{box_sel} .planner-legend-body').offsetHeight"
    )
    page.mouse.move(5, 5)
    page.wait_for_timeout(300)
    return {"frame": frame, "T": T, "legend_title": legend_title, "body_h": body_h}


def _legend_folds(page, frame, legend_title: str) -> tuple[int, int]:
    """Click the legend's heading: it folds up; click again: it opens. Heights in px."""
    loc = page.frame_locator(MAP_FRAME).locator(".planner-legend-box > summary")
    assert loc.inner_text().strip() == legend_title
    before = frame.evaluate("document.querySelector('.planner-legend').offsetHeight")
    loc.click()
    frame.wait_for_function("document.querySelector('.planner-legend-box').open === false")
    folded = frame.evaluate("document.querySelector('.planner-legend').offsetHeight")
    assert folded < 40 < before, (folded, before)
    loc.click()
    frame.wait_for_function("document.querySelector('.planner-legend-box').open === true")
    return before, folded


def test_map_and_layout_at_1366x768(server):
    TEST_OUTPUT.mkdir(exist_ok=True)
    report = []
    for lang, locale in (("zh", "zh-CN"), ("en", "en-US")):
        with chromium_page(server, viewport=VIEWPORT, locale=locale) as (page, attempted, problems):
            page.goto(server)
            page.get_by_role("heading", name=STRINGS["title"][lang]).wait_for(timeout=180_000)
            got = _check_page(page, lang)
            frame = got["frame"]
            shot = TEST_OUTPUT / f"map_{lang}.png"
            page.screenshot(path=str(shot))
            _copy(shot, f"map_{lang}.png")
            if lang == "en":
                _copy(shot, "app.png")
            before, folded = _legend_folds(page, frame, got["legend_title"])

            if lang == "zh":
                # zoomed in: village names and minor roads appear (CSS by zoom level)
                frame.evaluate(f"window.map.setZoom({maps.VILLAGE_LABELS_ZOOM})")
                frame.wait_for_function(
                    "Array.from(document.querySelectorAll('.planner-place-village'))"
                    ".some(e => getComputedStyle(e).display !== 'none')",
                    timeout=10_000,
                )
                minor = frame.evaluate(
                    "Array.from(document.querySelectorAll('path.planner-road-minor'))"
                    ".filter(e => getComputedStyle(e).display !== 'none').length"
                )
                assert minor >= 1
                page.wait_for_timeout(300)
                zoom_shot = TEST_OUTPUT / "map_zh_zoom.png"
                page.frame_locator(MAP_FRAME).locator(".leaflet-container").screenshot(
                    path=str(zoom_shot)
                )
                _copy(zoom_shot, "map_zh_zoom.png")
            else:
                # an online base map whose tiles cannot load (blocked here) says so on the map
                sidebar = page.locator('[data-testid="stSidebar"]')
                sidebar.locator(".st-key-w_basemap input").click()
                page.keyboard.press("ArrowDown")  # opens the list of choices
                page.get_by_role("option", name=STRINGS["basemap_osm"]["en"]).click()
                page.frame_locator(MAP_FRAME).locator(".planner-tile-notice").wait_for(
                    timeout=120_000
                )
                notice = page.frame_locator(MAP_FRAME).locator(".planner-tile-notice").inner_text()
                assert "could not load" in notice
                shot = TEST_OUTPUT / "map_en_tile_error.png"
                page.screenshot(path=str(shot))
        outside = [u for u in attempted if "tile.openstreetmap.org" not in u]
        assert outside == [], f"requests outside the local server: {outside}"
        # the blocked tiles are reported by the browser as failed loads: nothing else may fail
        other = [p for p in problems if "ERR_FAILED" not in p and "Failed to load" not in p]
        assert other == [], other
        report.append(f"{lang}: legend {before} px -> {folded} px folded")
    print("\n" + "; ".join(report) + f"; screenshots in {TEST_OUTPUT}")
