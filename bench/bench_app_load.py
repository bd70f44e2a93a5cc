"""Ten planners on one app server: ``streamlit run app.py`` on loopback, N browser sessions
(Playwright driving Debian's chromium, ``executable_path="/usr/bin/chromium"``; never
``playwright install``) acting at once, each clicking the map M times.

``python -m bench.bench_app_load [--sessions 10] [--clicks 5] [--write]``

For each session: the page open (navigation until the headline numbers and the map's
facilities are shown) and, for each click, click -> numbers (the click on the map until the
"facilities after the changes" metric shows one more station: the app has evaluated the
station and sent the numbers). Printed: median and p90 of both, the server's CPU (cores used
while the sessions act) and its peak RSS. ``--write`` also writes ``bench/results/app_load.md``.

Bounded: every wait has a timeout and the whole run stops after ``--budget`` seconds. The
server's first (cold) page open is measured on its own first, by one session, then the N
sessions open at once on the warm server (the situation of a planning bureau during the day).
The browsers run on the same machine as the server and compete with it for the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "app_load.md"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"] >> nth=-1'
LABEL = "Facilities after the changes"  # planner.i18n "facilities_after", English
METRIC_JS = """(label) => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        const l = m.querySelector('[data-testid="stMetricLabel"]');
        if (l && l.innerText.trim() === label) {
            return m.querySelector('[data-testid="stMetricValue"]').innerText.trim(); } }
    return null; }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A ``streamlit run app.py`` process and its CPU and memory, sampled."""

    proc: subprocess.Popen
    url: str
    peak_rss_mb: float = 0.0
    samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        import psutil

        p = psutil.Process(self.proc.pid)
        while not self._stop.wait(0.25):
            try:
                rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(True))
            except psutil.Error:
                return
            self.peak_rss_mb = max(self.peak_rss_mb, rss / 1e6)

    def cpu_s(self) -> float:
        import psutil

        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)


def start_server(log_path: Path) -> Server:
    port = _free_port()
    env = {**os.environ, "PLANNER_SCENARIO_DIR": tempfile.mkdtemp(prefix="bench-scenarios-")}
    log = log_path.open("w")
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
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"streamlit did not start; see {log_path}")
        time.sleep(0.3)
    server = Server(proc, url)
    threading.Thread(target=server.sample, daemon=True).start()
    return server


@dataclass
class Session:
    open_s: float = float("nan")
    clicks_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _open(page, url: str) -> float:
    t0 = time.perf_counter()
    await page.goto(url + "/?embed_options=light_theme")
    await page.wait_for_function(f"() => ({METRIC_JS})({LABEL!r}) !== null", timeout=180_000)
    await (
        page.frame_locator(MAP_FRAME)
        .locator(".leaflet-marker-pane .planner-symbol")
        .first.wait_for(state="attached", timeout=180_000)
    )
    return time.perf_counter() - t0


async def _click(page, lat: float, lon: float) -> float:
    """Click the map at ``(lat, lon)`` (where residents live uncovered: a station there adds
    some) and wait until one more station is counted."""
    shown = await page.evaluate(METRIC_JS, LABEL)
    want = int(shown.replace(",", "")) + 1
    loc = page.frame_locator(MAP_FRAME).locator(".leaflet-container")
    await loc.scroll_into_view_if_needed()
    frame = [f for f in page.frames if "streamlit_folium" in f.url][-1]
    x, y = await frame.evaluate(
        f"(() => {{ const p = window.map.latLngToContainerPoint([{lat}, {lon}]); "
        "return [p.x, p.y]; })()"
    )
    box = await loc.bounding_box()
    t0 = time.perf_counter()
    await page.mouse.click(box["x"] + x, box["y"] + y)
    await page.wait_for_function(
        f"([label, want]) => {{ const v = ({METRIC_JS})(label); "
        "return v !== null && parseInt(v.replace(/,/g, '')) >= want; }",
        arg=[LABEL, want],
        timeout=60_000,
        polling="raf",
    )
    return time.perf_counter() - t0


def click_points(n: int) -> list[tuple[float, float]]:
    """``(lat, lon)`` of ``n`` places where residents live uncovered (the demo county, walk,
    15 minutes), largest areas first, repeated when fewer."""
    import planner

    res = planner.analyze(planner.load_demo(), isochrone_minutes=None)
    assert res.uncovered is not None  # the demo has population
    pts = res.uncovered.geometry.representative_point()
    out = [(float(p.y), float(p.x)) for p in pts]
    return [out[i % len(out)] for i in range(n)]


async def _session(
    browser, url: str, i: int, points: list[tuple[float, float]], out: Session
) -> None:
    ctx = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = await ctx.new_page()
    try:
        out.open_s = await _open(page, url)
        await page.wait_for_timeout(500 + 150 * i)  # people do not click in step
        for k, (lat, lon) in enumerate(points):
            out.clicks_s.append(await _click(page, lat, lon))
            await page.wait_for_timeout(400 + 97 * ((i + k) % 5))  # reading the answer
    except Exception as exc:  # noqa: BLE001 - a session that fails is reported, not fatal
        out.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await ctx.close()


async def _run(url: str, sessions: int, clicks: int, server: Server) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pts = click_points((sessions + 1) * clicks)
            cold = Session()
            # the server's first page open (cold), and one click
            await _session(browser, url, 0, pts[-1:], cold)
            outs = [Session() for _ in range(sessions)]
            cpu0, t0 = server.cpu_s(), time.perf_counter()
            await asyncio.gather(
                *(
                    _session(browser, url, i, pts[i * clicks : (i + 1) * clicks], outs[i])
                    for i in range(sessions)
                )
            )
            wall = time.perf_counter() - t0
            cpu = server.cpu_s() - cpu0
        finally:
            await browser.close()
    return {"cold": cold, "sessions": outs, "wall_s": wall, "cpu_s": cpu}


def _q(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def report(res: dict, sessions: int, clicks: int, server: Server) -> str:
    outs: list[Session] = res["sessions"]
    cl = [c for s in outs for c in s.clicks_s]
    op = [s.open_s for s in outs if s.open_s == s.open_s]
    errors = [f"session {i + 1}: {e}" for i, s in enumerate(outs) for e in s.errors]
    cold: Session = res["cold"]
    lines = [
        f"# App under load: {sessions} sessions x {clicks} clicks on one server (loopback)",
        "",
        f"`python -m bench.bench_app_load --sessions {sessions} --clicks {clicks}` on "
        f"{platform.node() or 'this machine'}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        "The browsers (chromium, headless) run on the same machine and share its CPUs.",
        "",
        "| measure | median | p90 | n |",
        "|---|---|---|---|",
        f"| click -> numbers (s) | {statistics.median(cl) if cl else float('nan'):.2f} | "
        f"{_q(cl, 0.9):.2f} | {len(cl)} |",
        f"| page open, {sessions} at once, warm server (s) | "
        f"{statistics.median(op) if op else float('nan'):.1f} | {_q(op, 0.9):.1f} | {len(op)} |",
        f"| first page open, cold server, alone (s) | {cold.open_s:.1f} | | 1 |",
        f"| first click alone after it (s) | "
        f"{cold.clicks_s[0] if cold.clicks_s else float('nan'):.2f} | | 1 |",
        "",
        f"Server: {res['cpu_s']:.1f} s of CPU in {res['wall_s']:.1f} s while the sessions acted "
        f"({res['cpu_s'] / res['wall_s']:.2f} cores on average); peak RSS "
        f"{server.peak_rss_mb:,.0f} MB.",
        "",
        "Click -> numbers: from the click on the map until the headline shows one more station "
        "(the what-if evaluated and its numbers drawn in the page). Target: <= 1 s with ten "
        "sessions acting at once.",
    ]
    if errors:
        lines += ["", "Sessions that failed:", *(f"- {e}" for e in errors)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--clicks", type=int, default=5)
    ap.add_argument("--budget", type=float, default=600.0, help="stop after this many seconds")
    ap.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(REPO)}")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    log = Path(tempfile.mkdtemp(prefix="bench-app-")) / "streamlit.log"
    server = start_server(log)
    try:
        res = asyncio.run(
            asyncio.wait_for(_run(server.url, args.sessions, args.clicks, server), args.budget)
        )
    finally:
        server._stop.set()
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
    text = report(res, args.sessions, args.clicks, server)
    print(text)
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        tmp = RESULTS.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
