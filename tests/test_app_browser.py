"""The Streamlit app in a real browser: ``streamlit run app.py`` driven by Playwright with
Debian's chromium, every request that does not go to the local server blocked.

Skipped with a message when /usr/bin/chromium or the playwright package is missing (never run
``playwright install``: the test uses the system chromium). Screenshots go to ``test-output/``;
with ``PLANNER_UPDATE_SCREENSHOT=1`` the English one is also copied to
``docs/screenshots/app.png``, the README's picture (so a test run leaves the tree clean).
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

import pytest
from _browser import (
    MAP_FRAME,
    METRIC_JS,
    app_server,
    chromium_page,
)

import planner
from planner import app as aps
from planner.i18n import STRINGS, Translator
from planner.scenario import Scenario
from planner.standards import PRIMARY_TIERS

REPO = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO / "test-output"
SCREENSHOT = REPO / "docs" / "screenshots" / "app.png"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory) as url:
        yield url


def test_app_in_chromium(server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    ds = planner.load_demo()
    n_facilities = len(ds.facilities)
    n_boundaries = len(ds.boundaries)
    # click where residents live that no facility covers now: the three largest uncovered areas
    uncovered = planner.analyze(ds, isochrone_minutes=None).uncovered.head(3)
    clicks = [(p.y, p.x) for p in uncovered.geometry.representative_point()]
    TEST_OUTPUT.mkdir(exist_ok=True)
    t_start = time.perf_counter()
    with chromium_page(server, locale="zh-CN") as (page, attempted, problems):
        # a browser that asks for Chinese gets the Chinese app
        page.goto(server)
        page.get_by_role("heading", name=STRINGS["title"]["zh"]).wait_for(timeout=180_000)

        # The map: Leaflet from /app/static, every facility drawn, every layer and legend.
        frame_loc = page.frame_locator(MAP_FRAME)
        frame_loc.locator(".leaflet-marker-pane .planner-symbol").first.wait_for(
            state="attached", timeout=180_000
        )
        frame = next(f for f in page.frames if "streamlit_folium" in f.url)
        frame.wait_for_function(
            f"document.querySelectorAll('.leaflet-marker-pane .planner-symbol').length >= {n_facilities}",
            timeout=60_000,
        )
        t_loaded = time.perf_counter() - t_start
        assert frame.evaluate("L.version") == "1.9.3"
        markers = frame.evaluate(
            "document.querySelectorAll('.leaflet-marker-pane .planner-symbol').length"
        )
        outlines = frame.evaluate(
            "document.querySelectorAll('.leaflet-plannerBoundaries-pane svg path').length"
        )
        overlay = frame.evaluate(
            "document.querySelectorAll('.leaflet-overlay-pane svg path').length"
        )
        # the sections of the map's one legend box
        legends = frame.evaluate("document.querySelectorAll('.planner-legend-section').length")
        layers = frame.evaluate(
            "document.querySelectorAll('.leaflet-control-layers-overlays label').length"
        )
        tiles = frame.evaluate("document.querySelectorAll('.leaflet-tile').length")
        assert markers == n_facilities, markers
        assert outlines == n_boundaries, outlines
        assert overlay >= 3 + 1, overlay  # isochrone bands (3) and the uncovered areas
        # legends: facilities, bands, uncovered, proposals; layers: roads, boundaries, bands,
        # uncovered, place names, facilities
        assert legends == 4 and layers == 6, (legends, layers)
        assert tiles == 0  # no basemap unless asked for
        _wait_until_idle(page)
        page.screenshot(path=str(TEST_OUTPUT / "app_zh.png"), full_page=False)
        page.wait_for_timeout(500)  # as a person would: not a click in the screenshot's wake

        # Click the map: a station is added and the numbers change.
        zh_newly = STRINGS["newly_covered"]["zh"]
        latencies, star_latencies, marks, newly = [], [], [], []
        for i, (lat, lng) in enumerate(clicks):
            x, y = frame.evaluate(
                f"(() => {{ const p = window.map.latLngToContainerPoint([{lat}, {lng}]); "
                "return [p.x, p.y]; })()"
            )
            before = _remove_buttons(page)
            shown = _metric(page, zh_newly)
            # timed in the page: when the number changes (at the next frame, when it is painted)
            page.evaluate(_WATCH_METRIC_JS, [zh_newly, shown])
            box = frame_loc.locator(".leaflet-container").bounding_box()  # the page may have moved
            # a click that lands while the app is still rerunning (a loaded CI machine) can
            # be lost: click once more, and time from the click that registered
            for attempt in range(2):
                t0 = time.perf_counter()
                t0_page = page.evaluate("performance.now()")
                page.mouse.click(box["x"] + x, box["y"] + y)
                try:
                    frame.wait_for_function(
                        "document.querySelectorAll('.planner-pending').length >= 1",
                        timeout=10_000,
                        polling=10,
                    )
                    mark = time.perf_counter() - t0
                    # the numbers: "newly covered residents" changes
                    page.wait_for_function("window.__metricShown !== null", timeout=30_000)
                    break
                except PlaywrightTimeoutError:
                    if attempt == 1:
                        raise
                    print(f"click {i + 1} was not registered; clicking again")
            numbers_ms = page.evaluate("window.__metricShown") - t0_page
            marks.append(mark)
            page.wait_for_function(
                f"() => ({_REMOVE_BUTTONS_JS})() > {before}", timeout=30_000, polling="raf"
            )  # and the station is listed, with its remove button
            frame.wait_for_function(
                f"document.querySelectorAll('.leaflet-marker-pane .planner-proposal').length >= {i + 1}",
                timeout=30_000,
                polling="raf",
            )
            t2 = time.perf_counter()
            latencies.append(numbers_ms / 1000)
            star_latencies.append(t2 - t0)
            newly.append(_metric(page, zh_newly))
            page.mouse.move(5, 5)
            page.wait_for_timeout(600)
        assert all(v and int(v.replace(",", "")) > 0 for v in newly), newly
        assert len({v for v in newly}) == len(newly), newly  # each station adds residents
        green = frame.evaluate("document.querySelectorAll('path.planner-newly-covered').length")
        # the click marks are gone once the answers are drawn
        assert frame.evaluate("document.querySelectorAll('.planner-pending').length") == 0
        assert green == len(clicks), green
        page.screenshot(path=str(TEST_OUTPUT / "app_zh_whatif.png"), full_page=False)

        # Switch the language.
        page.locator('[data-testid="stSidebar"] label').filter(has_text="English").click()
        page.get_by_role("heading", name=STRINGS["title"]["en"]).wait_for(timeout=120_000)
        frame_loc.locator(".leaflet-control-layers-overlays label", has_text="Facilities").wait_for(
            state="attached", timeout=120_000
        )
        frame = next(f for f in page.frames if "streamlit_folium" in f.url)
        frame.wait_for_function(
            f"document.querySelectorAll('.leaflet-marker-pane .planner-proposal').length >= {len(clicks)}",
            timeout=60_000,
        )
        assert _metric(page, STRINGS["newly_covered"]["en"]) == newly[-1]
        _wait_until_idle(page)
        # the translated choices still show what was chosen, in English now
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_by_role("radio", name="Walk").is_checked()
        assert sidebar.get_by_role("radio", name="Demo County (synthetic)").is_checked()
        assert sidebar.get_by_text("Village clinic").count() >= 1  # a chip of the tiers list
        assert sidebar.get_by_text(STRINGS["mode_walk"]["zh"]).count() == 0
        page.mouse.move(5, 5)
        page.wait_for_timeout(800)
        shot = TEST_OUTPUT / "app_en.png"
        page.screenshot(path=str(shot), full_page=False)

    assert attempted == [], f"requests outside the local server: {attempted}"
    assert problems == [], problems
    assert shot.stat().st_size > 50_000
    if os.environ.get("PLANNER_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nchromium: first load with the map {t_loaded:.1f} s; click -> mark on the map "
        f"{[round(1000 * t) for t in marks]} ms; click -> numbers "
        f"{[round(1000 * t) for t in latencies]} ms (median {1000 * statistics.median(latencies):.0f}), "
        f"click -> star on the map {[round(1000 * t) for t in star_latencies]} ms; newly covered {newly}; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs; screenshots in {TEST_OUTPUT}"
    )
    # The goal is 0.3 s on a quiet machine; this bound only catches a broken update path.
    assert statistics.median(latencies) < 3.0, latencies


def test_optimizer_adopt_and_scenarios_in_chromium(server):
    """Optimizer -> adopt -> remove one -> save -> sidebar change -> reload -> load -> compare,
    in one session, with the numbers a person sees equal to the library's. These widgets live
    in the main area's fragment; AppTest reruns the whole script and cannot see that."""
    from playwright.sync_api import expect

    ds = planner.load_demo()
    walk15 = planner.analyze(ds, isochrone_minutes=None)
    default = Scenario(name="scenario 1")  # the app's settings when it opens
    run = aps.run_optimizer(
        walk15,
        objective="max-coverage",
        new_sites=3,
        target_share=default.target_share,
        tier=default.new_tier,
        candidates=default.candidates,
        spacing_m=default.spacing_m,
        time_limit_s=default.time_limit_s,
        seed=default.seed,
    )
    s = run.summary()
    adopted = tuple((float(r.lon), float(r.lat), str(r.tier)) for r in run.proposals.itertuples())
    assert len(adopted) == 3
    kept = (adopted[0], adopted[2])  # P2 is removed with its ✕
    w_all, w_kept = aps.what_if(ds, walk15, adopted), aps.what_if(ds, walk15, kept)
    no_clinics = planner.analyze(
        ds, tiers=[t for t in PRIMARY_TIERS if t != "village_clinic"], isochrone_minutes=None
    )
    w_no_clinics = aps.what_if(ds, no_clinics, kept)
    T = Translator("en")
    share, newly = T("share_inside", minutes=15.0), T("newly_covered")
    name = "Optimizer plan"
    t_start = time.perf_counter()
    with chromium_page(server, locale="en-US") as (page, attempted, problems):
        page.goto(server)
        _wait_for_map(page)
        _wait_metric(page, share, f"{100 * walk15.covered_share:.1f} %")

        # The optimizer: p = 3, run; a status box shows the progress, then the result.
        page.get_by_role("tab", name=T("tab_optimize")).click()
        p_input = page.locator(".st-key-w_p input")
        p_input.fill("3")
        p_input.press("Enter")
        _wait_until_idle(page)
        page.evaluate(_WATCH_STATUS_JS, T("progress_optimize"))
        page.get_by_role("button", name=T("run_optimizer")).click()
        _wait_metric(page, T("opt_gap"), f"{100 * s['gap']:.2f} %")
        # the status box with its progress bar is drawn while the optimizer runs, but on a fast
        # run it can be replaced before the browser paints it; the notice after it stays
        page.get_by_text(T("done_in", what=T("progress_optimize"), seconds=0)[:-6]).first.wait_for()
        print(f"\nstatus box with a progress bar seen: {page.evaluate('window.__statusSeen')}")
        assert _metric(page, T("opt_objective_value")) == f"{s['objective']:,.0f}"
        assert _metric(page, T("opt_covered_after")) == f"{s['covered_population_after']:,.0f}"
        frame = _map_frame(page)
        frame.wait_for_function(
            "document.querySelectorAll('.leaflet-marker-pane .planner-optimized').length == 3",
            timeout=30_000,
        )
        shown_sites = _grid(page, T("col_site"), T("col_newly"))
        assert [r[-1] for r in shown_sites[1:]] == [
            f"{v:.0f}" for v in run.proposals["newly_covered_population"].round()
        ], shown_sites

        # Adopt them: three proposed stations, the what-if numbers of the library.
        page.get_by_role("button", name=T("opt_adopt")).click()
        _wait_metric(page, newly, f"{round(w_all.newly_covered_population):+,d}")
        _wait_remove_buttons(page, 3)
        page.get_by_text(T("opt_result"), exact=True).wait_for(state="detached", timeout=60_000)
        frame = _map_frame(page)
        frame.wait_for_function(
            "document.querySelectorAll('.leaflet-marker-pane .planner-proposal').length == 3"
            " && document.querySelectorAll('.leaflet-marker-pane .planner-optimized').length == 0",
            timeout=30_000,
        )

        # Remove P2 with its ✕: the other two keep their numbers.
        page.locator(".st-key-rm_1 button:visible").click()
        _wait_metric(page, newly, f"{round(w_kept.newly_covered_population):+,d}")
        _wait_remove_buttons(page, 2)
        rows = _site_rows(page)
        assert [r.split(" · ")[0] for r in rows] == ["P1", "P2"], rows
        assert [r.rsplit("+", 1)[1] for r in rows] == [
            T("site_row", site="", tier="", place="", pop=v).rsplit("+", 1)[1]
            for v in w_kept.sites["newly_covered_population"]
        ], rows

        # Save it under a name.
        page.get_by_role("tab", name=T("tab_scenarios")).click()
        name_input = page.locator(".st-key-w_name input")
        name_input.fill(name)
        name_input.press("Enter")
        _wait_until_idle(page)
        page.get_by_role("button", name=T("scn_save")).click()
        page.get_by_text(T("scn_saved", path="")).wait_for(timeout=30_000)
        expect(page.get_by_role("combobox", name=T("scn_saved_list"))).to_have_value(
            name, timeout=30_000
        )

        # A sidebar change (a full rerun): the same two stations, counted against fewer
        # facilities.
        sidebar = page.locator('[data-testid="stSidebar"]')
        clinic = aps.tier_label("village_clinic", "en")
        sidebar.get_by_role("button", name=f"Remove {clinic}").click()
        _wait_metric(page, share, f"{100 * no_clinics.covered_share:.1f} %")
        _wait_metric(page, newly, f"{round(w_no_clinics.newly_covered_population):+,d}")
        _wait_remove_buttons(page, 2)

        # Reload the page: the working scenario comes back from ?ws=.
        assert "ws=" in page.url
        page.reload()
        _wait_for_map(page)
        _wait_metric(page, share, f"{100 * no_clinics.covered_share:.1f} %")
        _wait_metric(page, newly, f"{round(w_no_clinics.newly_covered_population):+,d}")
        _wait_remove_buttons(page, 2)
        assert sidebar.get_by_role("button", name=f"Remove {clinic}").count() == 0
        page.get_by_role("tab", name=T("tab_scenarios")).click()
        assert page.locator(".st-key-w_name input").input_value() == name

        # Load the saved scenario: numbers and the sidebar show it (village clinics count).
        expect(page.get_by_role("combobox", name=T("scn_saved_list"))).to_have_value(name)
        page.get_by_role("button", name=T("scn_load"), exact=True).click()
        page.get_by_text(T("scn_loaded", name=name)).wait_for(timeout=30_000)
        _wait_metric(page, share, f"{100 * walk15.covered_share:.1f} %")
        _wait_metric(page, newly, f"{round(w_kept.newly_covered_population):+,d}")
        sidebar.get_by_role("button", name=f"Remove {clinic}").wait_for(timeout=30_000)
        _wait_remove_buttons(page, 2)

        # Compare the working scenario with the saved one: a table with both.
        page.get_by_role("combobox", name=T("scn_compare")).click()
        page.get_by_role("option", name=name, exact=True).click()
        page.keyboard.press("Escape")
        current = f"{name} {T('scn_current')}"
        cmp = _grid(page, current, timeout=60_000)
        assert cmp[0][1:] == [current, name], cmp
        proposed_row = next(r for r in cmp if r[0] == T("cmp_proposed_sites"))
        assert proposed_row[1:] == ["2", "2"], cmp
        newly_row = next(r for r in cmp if r[0] == T("cmp_newly_covered"))
        assert newly_row[1:] == [f"{w_kept.newly_covered_population:,.0f}"] * 2, cmp
        _wait_until_idle(page)

    assert attempted == [], f"requests outside the local server: {attempted}"
    assert problems == [], problems
    print(f"\noptimizer, adopt, scenarios in chromium: {time.perf_counter() - t_start:.1f} s")


#: The number of "remove" buttons (widget keys rm_0, rm_1...): one per proposed station (a
#: button with help text has two <button> elements, one of them hidden, so count the keys).
_REMOVE_BUTTONS_JS = """() => document.querySelectorAll('[class*="st-key-rm_"]').length"""


def _wait_until_idle(page) -> None:
    """Until Streamlit has finished the run (its "running" indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=60_000
    )
    page.wait_for_timeout(300)


def _remove_buttons(page) -> int:
    return page.evaluate(_REMOVE_BUTTONS_JS)


def _wait_remove_buttons(page, n: int, timeout: float = 60_000) -> None:
    """Until the what-if list has ``n`` stations (the metrics may be drawn a moment before)."""
    try:
        page.wait_for_function(f"() => ({_REMOVE_BUTTONS_JS})() === {n}", timeout=timeout)
    except Exception as exc:
        raise AssertionError(f"{_remove_buttons(page)} stations listed, expected {n}") from exc


#: Records in ``window.__metricShown`` the time (``performance.now()``) of the first frame in
#: which the metric labelled ``label`` no longer shows ``shown``.
_WATCH_METRIC_JS = f"""([label, shown]) => {{
    window.__metricShown = null;
    const obs = new MutationObserver(() => {{
        if (({METRIC_JS})(label) !== shown) {{
            obs.disconnect();
            requestAnimationFrame(() => {{ window.__metricShown = performance.now(); }});
        }}
    }});
    obs.observe(document.body, {{childList: true, subtree: true, characterData: true}});
}}"""


def _metric(page, label: str) -> str | None:
    return page.evaluate(METRIC_JS, label)


def _wait_for_map(page) -> None:
    """Until the map shows the facilities and Streamlit has finished the run."""
    page.frame_locator(MAP_FRAME).locator(".leaflet-marker-pane .planner-symbol").first.wait_for(
        state="attached", timeout=180_000
    )
    _wait_until_idle(page)


def _map_frame(page):
    page.frame_locator(MAP_FRAME).locator(".leaflet-container").wait_for(state="attached")
    return [f for f in page.frames if "streamlit_folium" in f.url][-1]


def _wait_metric(page, label: str, value: str, timeout: float = 120_000) -> None:
    """Until the metric ``label`` shows ``value`` (the message says what it showed)."""
    try:
        page.wait_for_function(
            f"([label, value]) => ({METRIC_JS})(label) === value",
            arg=[label, value],
            timeout=timeout,
        )
    except Exception as exc:
        raise AssertionError(f"{label!r}: {_metric(page, label)!r}, expected {value!r}") from exc


#: Remembers whether a status box labelled ``label`` was ever drawn (it may be gone soon).
_WATCH_STATUS_JS = """(label) => {
    window.__statusSeen = false;
    const seen = () => Array.from(document.querySelectorAll('[data-testid="stExpander"]'))
        .some(e => e.innerText.includes(label) && e.querySelector('[data-testid="stProgress"]'));
    new MutationObserver((_, obs) => { if (seen()) { window.__statusSeen = true; obs.disconnect(); } })
        .observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def _grid(page, *headers: str, timeout: float = 30_000) -> list[list[str]]:
    """The cells of the first visible table whose header row has every one of ``headers``."""
    js = """(headers) => {
        for (const e of document.querySelectorAll('[data-testid="stDataFrame"]')) {
            if (!e.getBoundingClientRect().height) continue;
            const rows = Array.from(e.querySelectorAll('[role=row]')).map(r =>
                Array.from(r.querySelectorAll('[role=columnheader],[role=gridcell]'))
                    .map(c => c.innerText.trim()));
            if (rows.length > 1 && headers.every(h => rows[0].includes(h))) return rows;
        }
        return null; }"""
    page.wait_for_function(js, arg=list(headers), timeout=timeout)
    return page.evaluate(js, list(headers))


def _site_rows(page) -> list[str]:
    """The lines of the what-if list, one per proposed station ("P1 · tier · place · +n ...")."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[class*="st-key-rm_"]')).map(b => {
               let row = b.closest('[data-testid="stHorizontalBlock"]');
               return row.querySelector('[data-testid="stMarkdownContainer"]').innerText.trim(); })"""
    )
