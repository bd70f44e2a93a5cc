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
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import planner
from planner.i18n import STRINGS

REPO = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO / "test-output"
SCREENSHOT = REPO / "docs" / "screenshots" / "app.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# the app's map (while a new map replaces an old one, e.g. after switching the language, both exist)
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"] >> nth=-1'

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on a free local port; always stopped afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip(
        "playwright.sync_api",
        reason="needs the playwright Python package (pip install playwright; never `playwright install`)",
    )
    port = _free_port()
    env = {**os.environ, "PLANNER_SCENARIO_DIR": str(tmp_path_factory.mktemp("scenarios"))}
    log = (tmp_path_factory.mktemp("server") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start (exit {proc.poll()}); see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def test_app_in_chromium(server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    ds = planner.load_demo()
    n_facilities = len(ds.facilities)
    n_boundaries = len(ds.boundaries)
    # click where residents live that no facility covers now: the three largest uncovered areas
    uncovered = planner.analyze(ds, isochrone_minutes=None).uncovered.head(3)
    clicks = [(p.y, p.x) for p in uncovered.geometry.representative_point()]
    attempted: list[str] = []
    problems: list[str] = []

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    TEST_OUTPUT.mkdir(exist_ok=True)
    t_start = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # A browser that asks for Chinese gets the Chinese app.
            ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, locale="zh-CN")
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console", lambda m: m.type == "error" and problems.append(f"console: {m.text}")
            )
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
            legends = frame.evaluate("document.querySelectorAll('.planner-legend').length")
            layers = frame.evaluate(
                "document.querySelectorAll('.leaflet-control-layers-overlays label').length"
            )
            tiles = frame.evaluate("document.querySelectorAll('.leaflet-tile').length")
            assert markers == n_facilities, markers
            assert outlines == n_boundaries, outlines
            assert overlay >= 3 + 1, overlay  # isochrone bands (3) and the uncovered areas
            assert legends == 4 and layers == 4, (
                legends,
                layers,
            )  # facilities, bands, uncovered, proposals
            assert tiles == 0  # no basemap unless asked for
            _wait_until_idle(page)
            page.screenshot(path=str(TEST_OUTPUT / "app_zh.png"), full_page=False)

            # Click the map: a station is added and the numbers change.
            zh_newly = STRINGS["newly_covered"]["zh"]
            latencies, star_latencies, marks, newly = [], [], [], []
            for i, (lat, lng) in enumerate(clicks):
                x, y = frame.evaluate(
                    f"(() => {{ const p = window.map.latLngToContainerPoint([{lat}, {lng}]); "
                    "return [p.x, p.y]; })()"
                )
                before = _remove_buttons(page)
                box = frame_loc.locator(
                    ".leaflet-container"
                ).bounding_box()  # the page may have moved
                # a click that lands while the app is still rerunning (a loaded CI machine) can
                # be lost: click once more, and time from the click that registered
                for attempt in range(2):
                    t0 = time.perf_counter()
                    page.mouse.click(box["x"] + x, box["y"] + y)
                    try:
                        frame.wait_for_function(
                            "document.querySelectorAll('.planner-pending').length >= 1",
                            timeout=10_000,
                            polling=10,
                        )
                        mark = time.perf_counter() - t0
                        page.wait_for_function(
                            f"() => ({_REMOVE_BUTTONS_JS})() > {before}", timeout=30_000, polling="raf"
                        )
                        break
                    except PlaywrightTimeoutError:
                        if attempt == 1:
                            raise
                        print(f"click {i + 1} was not registered; clicking again")
                marks.append(mark)
                t1 = time.perf_counter()
                frame.wait_for_function(
                    f"document.querySelectorAll('.leaflet-marker-pane .planner-proposal').length >= {i + 1}",
                    timeout=30_000,
                    polling="raf",
                )
                t2 = time.perf_counter()
                latencies.append(t1 - t0)
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
            frame_loc.locator(
                ".leaflet-control-layers-overlays label", has_text="Facilities"
            ).wait_for(state="attached", timeout=120_000)
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
        finally:
            browser.close()

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


#: The number of "remove" buttons (widget keys rm_0, rm_1...): one per proposed station.
_REMOVE_BUTTONS_JS = """() => document.querySelectorAll('[class*="st-key-rm_"] button').length"""


def _wait_until_idle(page) -> None:
    """Until Streamlit has finished the run (its "running" indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=60_000
    )
    page.wait_for_timeout(300)


def _remove_buttons(page) -> int:
    return page.evaluate(_REMOVE_BUTTONS_JS)


def _metric(page, label: str) -> str | None:
    return page.evaluate(
        """(label) => { for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
               const l = m.querySelector('[data-testid="stMetricLabel"]');
               if (l && l.innerText.trim() === label) {
                   return m.querySelector('[data-testid="stMetricValue"]').innerText.trim(); } }
           return null; }""",
        label,
    )
