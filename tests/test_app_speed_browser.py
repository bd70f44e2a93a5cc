"""Speed where a person waits, against a real server (``streamlit run app.py``):

- what the server sends, read on its websocket as a browser would (bench/bench_app_load's light
  client): the numbers before the map, the map before the standards tables; a click sends the
  layers and the numbers, not the base map again;
- every sidebar control changed in chromium (Playwright with Debian's chromium, every request
  outside the local server blocked): the headline equals the library's figure after each change;
  the seconds each change took are printed, not asserted (this machine is shared).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

import pytest
from _browser import (
    MAP_FRAME,
    METRIC_JS,
    app_server,
    chromium_page,
    idle,
    need_chromium,
    step_minutes,
)

import planner
from planner.i18n import Translator
from planner.standards import PRIMARY_TIERS

REPO = Path(__file__).resolve().parents[1]
EN = Translator("en")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory, browser=False) as url:
        yield url


def test_the_server_sends_numbers_first_and_no_base_map_per_click(server, demo):
    pytest.importorskip("websockets")
    from bench.bench_app_load import LABEL, ProtocolClient

    walk15 = planner.analyze(demo, isochrone_minutes=None)
    lat, lon = 34.52, 114.27  # where a station adds residents (tests/test_app_whatif.py)

    async def session() -> tuple[list[str], dict, dict, list[str]]:
        client = ProtocolClient(server)
        await client.connect()
        try:
            opened = await client.rerun()
            first = list(client.order)
            clicked = await client.click(lat, lon)
            return first, opened, clicked, list(client.order)
        finally:
            await client.close()

    first, opened, clicked, after = asyncio.run(session())
    # the first view: the headline numbers, then the map, then the tables of the tabs (the
    # standards, seconds on a cold server, are checked after the map is out)
    numbers, map_at = first.index(f"metric:{LABEL}"), first.index("map")
    assert numbers < map_at < first.index("dataframe"), first
    assert f"metric:{EN('covered')}" in first[:map_at]
    assert opened["bytes"] > 500_000  # the base map's script (~0.6 MB on the demo)
    # a click: one more station counted, its layers sent, the base map not sent again
    assert clicked["at_s"] == clicked["at_s"]  # the count went up by one
    assert after.index(f"metric:{LABEL}") < after.index("map")
    assert clicked["bytes"] < 200_000, clicked
    print(
        f"\nfirst view {opened['bytes'] / 1e3:.0f} kB; click {clicked['bytes'] / 1e3:.0f} kB, "
        f"numbers after {1000 * clicked['at_s']:.0f} ms, run done after "
        f"{1000 * clicked['finished_s']:.0f} ms (covered before: {walk15.covered_population:,.0f})"
    )


def _number(text: str | None) -> int:
    assert text is not None
    return int(text.replace(",", ""))


def _covered(page) -> int:
    return _number(page.evaluate(METRIC_JS, EN("covered")))


def _until_covered(page, want: float, timeout: float = 90_000) -> float:
    """Seconds until the headline "residents covered" shows ``want`` (rounded)."""
    t0 = time.perf_counter()
    page.wait_for_function(
        f"([label, want]) => {{ const v = ({METRIC_JS})(label); "
        "return v !== null && v.replace(/,/g, '') === want; }",
        arg=[EN("covered"), str(round(want))],
        timeout=timeout,
        polling="raf",
    )
    return time.perf_counter() - t0


def test_every_sidebar_control_in_chromium(server, demo):
    need_chromium()
    base = planner.analyze(demo, isochrone_minutes=None)
    ebike = planner.analyze(demo, mode="ebike", isochrone_minutes=None)
    no_clinics = [t for t in PRIMARY_TIERS if t != "village_clinic"]
    fewer = planner.analyze(demo, tiers=no_clinics, isochrone_minutes=None)
    slow = planner.analyze(demo, speed_kmh=3.6, isochrone_minutes=None)
    near = planner.analyze(demo, speed_kmh=3.6, access_max_m=100.0, isochrone_minutes=None)
    assert len({round(r.covered_population) for r in (base, ebike, fewer, slow, near)}) == 5
    timings: dict[str, float] = {}
    sidebar = '[data-testid="stSidebar"]'
    with chromium_page(server, locale="en-US") as (page, attempted, problems):
        t0 = time.perf_counter()
        page.goto(server)
        page.frame_locator(MAP_FRAME).locator(
            ".leaflet-marker-pane .planner-symbol"
        ).first.wait_for(state="attached", timeout=180_000)
        timings["first view (map drawn)"] = time.perf_counter() - t0
        _until_covered(page, base.covered_population)
        idle(page, timeout=90_000)

        # the mode: e-bike, then walk again (the other modes' times are computed meanwhile)
        page.wait_for_timeout(1500)
        _option(page, EN("mode_ebike")).click()
        timings["mode walk -> e-bike"] = _until_covered(page, ebike.covered_population)
        idle(page, timeout=90_000)
        _option(page, EN("mode_walk")).click()
        timings["mode e-bike -> walk"] = _until_covered(page, base.covered_population)
        idle(page, timeout=90_000)

        # the tiers: village clinics out, then in again
        tiers = page.locator(".st-key-w_tiers")
        tiers.get_by_role("button", name=f"Remove {_tier_name('village_clinic')}").click()
        timings["tiers: village clinics out"] = _until_covered(page, fewer.covered_population)
        idle(page, timeout=90_000)
        tiers.locator("input").click()
        page.get_by_role("option", name=_tier_name("village_clinic")).click()
        page.keyboard.press("Escape")
        timings["tiers: village clinics in"] = _until_covered(page, base.covered_population)
        idle(page, timeout=90_000)

        # speed and access distance (under "advanced"): the same graph, new times
        page.locator(f"{sidebar} summary").filter(has_text=EN("advanced")).click()
        speed = page.locator(".st-key-w_speed input")
        speed.fill("3.6")
        speed.press("Enter")
        timings["walking speed 4.8 -> 3.6 km/h"] = _until_covered(page, slow.covered_population)
        idle(page, timeout=90_000)
        access = page.locator(".st-key-w_access input")
        access.fill("100")
        access.press("Enter")
        timings["access distance 500 -> 100 m"] = _until_covered(page, near.covered_population)
        idle(page, timeout=90_000)

        # the minutes: one step down and up again (a filter on the times)
        timings["minutes 15 -> 14"] = step_minutes(
            page, "ArrowLeft", EN("share_inside", minutes=14)
        )

    assert attempted == [], attempted
    assert problems == [], problems
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        "\nsidebar changes in chromium (s): "
        + "; ".join(f"{k} {v:.2f}" for k, v in timings.items())
        + f"; load average {load:.1f} on {os.cpu_count()} CPUs"
    )


def _option(page, text: str):
    """The sidebar radio option labelled exactly ``text``."""
    options = page.locator('[data-testid="stSidebar"] [data-testid="stRadioOption"]')
    return options.filter(has_text=re.compile(f"^{re.escape(text)}$"))


def _tier_name(tier: str) -> str:
    from planner.app import tier_label

    return tier_label(tier, "en")
