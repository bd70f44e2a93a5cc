"""Uploads in a real browser (``streamlit run app.py`` driven by Playwright with Debian's
chromium, every request that does not go to the local server blocked), in Chinese and English:
the Longshan facilities as a zip with the Changsha roads through the column mapping, and the
Kaifeng GCJ-02 boundaries converted. The logic of each step is checked in
tests/test_app_uploads_walk.py (AppTest); here, that a person sees and can do it.

Screenshots of each step go to ``test-output/``; with ``PLANNER_UPDATE_SCREENSHOT=1`` they are
also copied to ``docs/screenshots/uploads_*.png`` (so a test run leaves the tree clean).
Skipped when chromium, the playwright package or ../shared/data is missing.

The server starts on a working scenario of small files (an autosave, as a reload would find),
so the first view does not compute the demo county and each test stays well under 30 s.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from _browser import chromium_page, idle, need_chromium, streamlit_server

import planner
from planner import app as aps
from planner.i18n import Translator
from planner.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
SHARED = REPO / ".." / "shared" / "data"
TEST_OUTPUT = REPO / "test-output"
DOCS = REPO / "docs" / "screenshots"
VIEWPORT = (1366, 768)
WAIT_MS = 60_000

pytestmark = pytest.mark.browser


def need_shared(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)}")
    return p


def zipped(folder: str, stem: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(need_shared(folder, f"{stem}.shp").parent.glob(f"{stem}.*")):
            zf.write(p, p.name)
    return buf.getvalue()


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> Path:
    """A scenario folder holding the working scenario the pages open on: the Changsha roads
    and the Longshan facilities, no residents (quick to show)."""
    need_shared("changsha", "roads.shp")
    need_shared("longshan", "hospitals.shp")
    return tmp_path_factory.mktemp("scenarios")


def working_scenario(folder: Path) -> str:
    """A fresh session id whose autosaved scenario is the quick one."""
    ws = secrets.token_hex(8)
    path = aps.autosave_path(ws, folder)
    sc = Scenario(
        name="quick",
        roads=str(SHARED / "changsha" / "roads.shp"),
        facilities=str(SHARED / "longshan" / "hospitals.shp"),
    )
    aps.persist_uploads(sc, folder).save(path)
    return ws


@pytest.fixture(scope="module")
def server(scenarios, tmp_path_factory):
    """``streamlit run app.py`` on a free local port; always stopped afterwards."""
    need_chromium()
    with streamlit_server(
        scenario_dir=scenarios, log_dir=tmp_path_factory.mktemp("server"), cwd=REPO
    ) as url:
        yield url


def shot(locator, name: str) -> None:
    """A screenshot of ``locator`` as test-output/<name>, copied to docs/screenshots/ when
    PLANNER_UPDATE_SCREENSHOT=1. The window is made tall enough for the whole element (the
    sidebar scrolls inside itself, and a screenshot shows only what is on the screen)."""
    TEST_OUTPUT.mkdir(exist_ok=True)
    target = TEST_OUTPUT / name
    page = locator.page
    height = int(locator.bounding_box()["height"]) + 400
    page.set_viewport_size({"width": VIEWPORT[0], "height": max(VIEWPORT[1], height)})
    page.wait_for_timeout(300)  # the sidebar's layout follows the window
    locator.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(200)
    locator.screenshot(path=str(target))
    page.set_viewport_size({"width": VIEWPORT[0], "height": VIEWPORT[1]})
    assert target.stat().st_size < 400_000  # small PNGs
    if os.environ.get("PLANNER_UPDATE_SCREENSHOT") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(target, DOCS / name)


def open_app(page, url: str, ws: str, T: Translator) -> object:
    page.goto(f"{url}/?ws={ws}")
    sidebar = page.locator('section[data-testid="stSidebar"]')
    sidebar.get_by_text(T("data_header"), exact=True).wait_for(timeout=WAIT_MS)
    sidebar.locator('input[type="file"]').first.wait_for(state="attached", timeout=WAIT_MS)
    return sidebar


def put_files(sidebar, files: dict[int, tuple[str, bytes]]) -> None:
    """Files into the sidebar's uploaders (0 roads, 1 facilities, 2 boundaries, 3 population)."""
    inputs = sidebar.locator('input[type="file"]')
    for i, (name, data) in files.items():
        # the previous file's rerun finished first (its settings panel changes the sidebar; a
        # file set into an uploader that the rerun is replacing was lost, now and then)
        idle(sidebar.page, timeout=WAIT_MS)
        inputs.nth(i).set_input_files(
            files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
        )
        sidebar.get_by_text(name).first.wait_for(timeout=WAIT_MS)


def expander(sidebar, title: str):
    return sidebar.locator('[data-testid="stExpander"]').filter(has_text=title).first


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_longshan_and_changsha_uploads_in_chromium(server, scenarios, lang):
    T = Translator(lang)
    t0 = time.perf_counter()
    with chromium_page(server, viewport=VIEWPORT, locale="zh-CN" if lang == "zh" else "en-US") as (
        page,
        attempted,
        problems,
    ):
        sidebar = open_app(page, server, working_scenario(scenarios), T)
        put_files(
            sidebar,
            {
                0: ("roads.zip", zipped("changsha", "roads")),
                1: ("hospitals.zip", zipped("longshan", "hospitals")),
            },
        )
        # the facilities: their .prj's coordinate system, the default choice
        fac = expander(sidebar, T("upl_settings", file="hospitals.zip"))
        fac.wait_for(timeout=WAIT_MS)
        fac.locator("summary").click()
        fac.get_by_text(T("crs_found_prj", crs="EPSG:3857 WGS 84 / Pseudo-Mercator")).wait_for(
            timeout=WAIT_MS
        )
        shot(fac, f"uploads_crs_prj_{lang}.png")
        fac.locator("summary").click()
        # the roads: the column mapping with the first rows and the one-way codes
        roads = expander(sidebar, T("upl_settings", file="roads.zip"))
        roads.locator("summary").click()
        roads.locator('[data-testid="stDataFrame"]').wait_for(timeout=WAIT_MS)
        roads.get_by_text(T("direction_codes", value="2")).wait_for(timeout=WAIT_MS)
        shot(roads, f"uploads_mapping_{lang}.png")
        roads.locator("summary").click()

        sidebar.get_by_role("button", name=T("use_uploads")).click()
        done = sidebar.get_by_text(T("upl_counts", facilities=59, roads=2257))
        done.wait_for(timeout=WAIT_MS)
        shot(
            sidebar.locator('[data-testid="stAlert"]').filter(
                has_text=T("upl_counts", facilities=59, roads=2257)
            ),
            f"uploads_loaded_{lang}.png",
        )
        assert not attempted, attempted  # nothing left the machine
        assert not problems, problems
    seconds = time.perf_counter() - t0
    print(f"\nLongshan + Changsha uploads in chromium ({lang}): {seconds:.1f} s")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kaifeng_gcj02_boundaries_in_chromium(server, scenarios, lang):
    T = Translator(lang)
    src = need_shared("kaifeng", "districts_gcj02.geojson")
    n_roads = len(planner.read_roads(DATA / "roads" / "demo_county.osm"))
    t0 = time.perf_counter()
    with chromium_page(server, viewport=VIEWPORT, locale="zh-CN" if lang == "zh" else "en-US") as (
        page,
        attempted,
        problems,
    ):
        sidebar = open_app(page, server, working_scenario(scenarios), T)
        put_files(
            sidebar,
            {
                0: ("demo_county.osm", (DATA / "roads" / "demo_county.osm").read_bytes()),
                1: (
                    "demo_facilities.csv",
                    (DATA / "facilities" / "demo_facilities.csv").read_bytes(),
                ),
                2: (src.name, src.read_bytes()),
            },
        )
        # the file says GCJ-02 while labelled as lon/lat: the app says so (opened by itself)
        bnd = expander(sidebar, T("upl_settings", file=src.name))
        bnd.get_by_text(T("looks_web_map", where=src.name, system="GCJ-02")).wait_for(
            timeout=WAIT_MS
        )
        shot(bnd, f"uploads_crs_{lang}.png")
        bnd.get_by_role("button", name=T("convert_web_map", system="GCJ-02")).click()
        bnd.get_by_text(T("converted_web_map", system="GCJ-02")).wait_for(timeout=WAIT_MS)
        shot(bnd, f"uploads_converted_{lang}.png")
        sidebar.get_by_role("button", name=T("use_uploads")).click()
        sidebar.get_by_text(T("upl_counts", facilities=229, roads=n_roads)).wait_for(
            timeout=WAIT_MS
        )
        assert not attempted, attempted
        assert not problems, problems
    seconds = time.perf_counter() - t0
    print(f"\nKaifeng GCJ-02 boundaries in chromium ({lang}): {seconds:.1f} s")
