"""Ten planners on one app server: ``streamlit run app.py`` on loopback, N sessions acting at
once, each clicking the map M times.

``python -m bench.bench_app_load [--clients protocol|chromium] [--sessions 10] [--clicks 5]
[--write]``

Two ways to make the load (``--clients``):

- ``protocol`` (default): ten planners on ten machines. N - 1 sessions are light clients that
  speak Streamlit's own protocol on the websocket ``/_stcore/stream`` as a browser does
  (protobuf ``BackMsg`` rerun requests; a click is the map component's value
  ``{"last_clicked": {lat, lng}}`` sent as a rerun of the main area's fragment, with the
  hashes of the messages already received, as the browser's message cache does) but draw
  nothing, so the server's load is that of N planners while the machine's CPU is not eaten by
  N browsers. One real chromium page (Playwright driving Debian's chromium,
  ``executable_path="/usr/bin/chromium"``; never ``playwright install``) clicks among them and
  measures what a person sees.
- ``chromium``: N chromium pages on this machine (they compete with the server for the CPU:
  on 2 cores the browsers, not the server, set the pace).

Measured: click -> numbers (the click until the "facilities after the changes" metric shows one
more station: in the chromium page when it is drawn, in a light client when its delta
arrives), click -> run finished and the bytes the server sends per click (light clients), the
chromium page's main-thread time per click (Chrome's ``Performance.getMetrics``
``TaskDuration``), the server's CPU per click (its CPU time while the sessions click, over the
clicks answered) and its peak RSS. ``--write`` also writes ``bench/results/app_load.md``.

Bounded: every wait has a timeout and the whole run stops after ``--budget`` seconds. The
server's first (cold) page open is measured on its own first, by the chromium page; then the
sessions open on the warm server (the situation of a planning bureau during the day), wait for
each other and click.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from typing import Any

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
    load_before: float = float("nan")
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

    def stop(self) -> None:
        """End the sampling and the server (killed if it has not exited within 15 s)."""
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_server(log_path: Path, app_dir: Path = REPO) -> Server:
    """``streamlit run app.py`` in ``app_dir`` (another checkout: its own ``planner``, found
    first on ``sys.path`` as the script's folder)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
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
        cwd=app_dir,
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
    server = Server(proc, url, load_before=load)
    threading.Thread(target=server.sample, daemon=True).start()
    return server


@dataclass
class Session:
    open_s: float = float("nan")
    clicks_s: list[float] = field(default_factory=list)
    #: light clients: click -> the run's end, and the bytes the server sent for the click
    finished_s: list[float] = field(default_factory=list)
    click_bytes: list[int] = field(default_factory=list)
    open_bytes: int = 0
    #: the chromium page: main-thread milliseconds per click (TaskDuration)
    browser_ms: list[float] = field(default_factory=list)
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


async def _task_ms(cdp) -> float:
    """The page's main-thread busy time so far (ms), from Chrome's performance metrics."""
    metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
    return 1000.0 * next(m["value"] for m in metrics if m["name"] == "TaskDuration")


async def _click(page, lat: float, lon: float, cdp=None) -> tuple[float, float]:
    """Click the map at ``(lat, lon)`` (where residents live uncovered: a station there adds
    some) and wait until one more station is counted. Returns (seconds, main-thread ms of the
    page until the station is drawn on the map, or NaN without ``cdp``)."""
    shown = await page.evaluate(METRIC_JS, LABEL)
    want = int(shown.replace(",", "")) + 1
    loc = page.frame_locator(MAP_FRAME).locator(".leaflet-container")
    await loc.scroll_into_view_if_needed()
    frame = [f for f in page.frames if "streamlit_folium" in f.url][-1]
    stars = await frame.evaluate("document.querySelectorAll('.planner-proposal').length")
    x, y = await frame.evaluate(
        f"(() => {{ const p = window.map.latLngToContainerPoint([{lat}, {lon}]); "
        "return [p.x, p.y]; })()"
    )
    box = await loc.bounding_box()
    busy0 = await _task_ms(cdp) if cdp is not None else float("nan")
    t0 = time.perf_counter()
    await page.mouse.click(box["x"] + x, box["y"] + y)
    await page.wait_for_function(
        f"([label, want]) => {{ const v = ({METRIC_JS})(label); "
        "return v !== null && parseInt(v.replace(/,/g, '')) >= want; }",
        arg=[LABEL, want],
        timeout=60_000,
        polling="raf",
    )
    seconds = time.perf_counter() - t0
    busy = float("nan")
    if cdp is not None:  # the browser's work for the click: until the new star is on the map
        await frame.wait_for_function(
            f"document.querySelectorAll('.planner-proposal').length > {stars}", timeout=60_000
        )
        await page.wait_for_timeout(300)  # the page settles (tabs, tables)
        busy = await _task_ms(cdp) - busy0
    return seconds, busy


def click_points(n: int) -> list[tuple[float, float]]:
    """``(lat, lon)`` of ``n`` places where residents live uncovered (the demo county, walk,
    15 minutes), largest areas first, repeated when fewer."""
    import planner

    res = planner.analyze(planner.load_demo(), isochrone_minutes=None)
    assert res.uncovered is not None  # the demo has population
    pts = res.uncovered.geometry.representative_point()
    out = [(float(p.y), float(p.x)) for p in pts]
    return [out[i % len(out)] for i in range(n)]


class Barrier:
    """Every session opens its page, then they all start clicking together (asyncio)."""

    def __init__(self, n: int) -> None:
        self.n, self.count, self.event = n, 0, asyncio.Event()
        self.t0 = 0.0
        self.on_start: list = []

    async def wait(self) -> None:
        self.count += 1
        if self.count >= self.n:
            for f in self.on_start:
                f()
            self.event.set()
        await self.event.wait()

    def leave(self) -> None:
        """A session that failed before clicking still lets the others start."""
        self.n -= 1
        if self.count >= self.n and not self.event.is_set():
            for f in self.on_start:
                f()
            self.event.set()


#: Seconds between one person's clicks (``--every``); 0: the next click as soon as the answer is
#: read (0.4-0.8 s after it: the pace of the first runs of this bench).
EVERY_S = 3.0
#: The tab the light clients keep open (``--tab``; "": the first).
TAB = ""


def set_pace(every: float) -> None:
    """Set :data:`EVERY_S` (seconds between one session's clicks; 0: after each answer)."""
    global EVERY_S
    EVERY_S = max(0.0, float(every))


async def _pause(i: int, k: int, first: float) -> None:
    """Until session ``i``'s click ``k + 1``: ``EVERY_S`` apart from its first click (a little
    jitter so that sessions do not click in step), or reading time after the answer."""
    jitter = 0.097 * ((i + k) % 5)
    if EVERY_S > 0:
        await asyncio.sleep(max(0.0, first + (k + 1) * EVERY_S + jitter - time.perf_counter()))
    else:
        await asyncio.sleep(0.4 + jitter)


async def _session(
    browser,
    url: str,
    i: int,
    points: list[tuple[float, float]],
    out: Session,
    barrier: Barrier | None = None,
    *,
    timeline: bool = False,
) -> None:
    ctx = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = await ctx.new_page()
    waited = False
    try:
        cdp = None
        if timeline:
            cdp = await ctx.new_cdp_session(page)
            await cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        out.open_s = await _open(page, url)
        # a click while the first run still draws the tabs can be lost: wait until it is done
        await page.wait_for_function(
            """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
            timeout=180_000,
        )
        if barrier is not None:
            waited = True
            await barrier.wait()
        await page.wait_for_timeout(500 + 150 * i)  # people do not click in step
        first = time.perf_counter()
        for k, (lat, lon) in enumerate(points):
            sec, busy = await _click(page, lat, lon, cdp)
            out.clicks_s.append(sec)
            out.browser_ms.append(busy)
            await _pause(i, k, first)
    except Exception as exc:  # noqa: BLE001 - a session that fails is reported, not fatal
        out.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        if barrier is not None and not waited:
            barrier.leave()
        await ctx.close()


# ---------------------------------------------------------------------------------------------
# A light client: Streamlit's protocol on the websocket, no browser
# ---------------------------------------------------------------------------------------------


class ProtocolClient:
    """One browser session as the server sees it: the websocket ``/_stcore/stream`` and
    protobuf messages (``streamlit.proto``), nothing drawn.

    A rerun request carries what a browser sends: the query string, the page's hash, the
    locale, the widget values that changed and the hashes of the large messages it holds (the
    server then sends a reference instead of the message again)."""

    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws: Any = None
        self.cached: set[str] = set()
        self.page_hash = ""
        self.map_id = ""
        self.fragment = ""
        self.metrics: dict[str, str] = {}
        self.tabs_id = ""
        #: the tab this session keeps open ("" : the first, as a page opens)
        self.tab = ""
        #: the elements of the last run, in the order the server sent them ("metric:<label>",
        #: "map", "dataframe", ...)
        self.order: list[str] = []

    async def connect(self) -> None:
        import websockets
        from websockets.typing import Subprotocol

        self.ws = await websockets.connect(
            self.ws_url, subprotocols=[Subprotocol("streamlit")], max_size=None, open_timeout=60
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(
        self,
        widgets: dict[str, str] | None = None,
        *,
        fragment: str = "",
        until: tuple = (),
        strings: dict[str, str] | None = None,
    ) -> dict:
        """Ask for a run; read the answer until the run finishes. ``until`` = (label, value):
        also note when that metric first shows at least ``value``. Returns the seconds to the
        metric (``at_s``) and to the end (``finished_s``) and the bytes received."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = "embed_options=light_theme"
        cs.page_script_hash = self.page_hash
        cs.fragment_id = fragment
        cs.context_info.locale = "en-US"
        cs.context_info.timezone = "UTC"
        cs.cached_message_hashes.extend(sorted(self.cached))
        for wid, value in (widgets or {}).items():
            w = cs.widget_states.widgets.add()
            w.id = wid
            w.json_value = value
        for wid, text in (strings or {}).items():  # e.g. the tab shown
            w = cs.widget_states.widgets.add()
            w.id = wid
            w.string_value = text
        assert self.ws is not None
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        nbytes, at = 0, float("nan")
        self.order = []
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), 120)
            nbytes += len(raw)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            if fm.metadata.cacheable:
                self.cached.add(fm.hash)
            kind = fm.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = fm.new_session.page_script_hash
            elif kind == "delta" and fm.delta.WhichOneof("type") == "add_block":
                if fm.delta.add_block.WhichOneof("type") == "tab_container":
                    self.tabs_id = fm.delta.add_block.tab_container.id
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                self.order.append(str(el.WhichOneof("type")))
                if el.WhichOneof("type") == "metric":
                    self.order[-1] = f"metric:{el.metric.label}"
                    self.metrics[el.metric.label] = el.metric.body
                    if until and el.metric.label == until[0] and at != at:
                        v = el.metric.body.replace(",", "")
                        if v.isdigit() and int(v) >= until[1]:
                            at = time.perf_counter() - t0
                elif el.WhichOneof("type") == "component_instance" and (
                    "folium" in el.component_instance.component_name
                ):
                    self.order[-1] = "map"
                    self.map_id = el.component_instance.id
                    self.fragment = fm.delta.fragment_id
            elif kind == "script_finished":
                # a run stopped early for a newer one is followed by that one's own run
                if fm.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return {"at_s": at, "finished_s": time.perf_counter() - t0, "bytes": nbytes}

    async def click(self, lat: float, lon: float) -> dict:
        """A click on the map: the component's value, as the map sends it, as a rerun of the
        main area's fragment; timed until one more facility is counted."""
        want = int(self.metrics[LABEL].replace(",", "")) + 1
        value = json.dumps({"last_clicked": {"lat": lat, "lng": lon}})
        tab = {self.tabs_id: self.tab} if self.tab and self.tabs_id else None
        out = await self.rerun(
            {self.map_id: value}, fragment=self.fragment, until=(LABEL, want), strings=tab
        )
        if out["at_s"] != out["at_s"]:
            raise RuntimeError(f"the click at {lat:.5f}, {lon:.5f} added no station")
        return out


async def _light_session(
    url: str, i: int, points: list[tuple[float, float]], out: Session, barrier: Barrier
) -> None:
    client = ProtocolClient(url)
    client.tab = TAB
    waited = False
    try:
        await client.connect()
        t0 = time.perf_counter()
        opened = await client.rerun()
        out.open_s, out.open_bytes = time.perf_counter() - t0, opened["bytes"]
        if not client.map_id:
            raise RuntimeError("the first run drew no map")
        waited = True
        await barrier.wait()
        await asyncio.sleep(0.5 + 0.15 * i)  # people do not click in step
        first = time.perf_counter()
        for k, (lat, lon) in enumerate(points):
            res = await client.click(lat, lon)
            out.clicks_s.append(res["at_s"])
            out.finished_s.append(res["finished_s"])
            out.click_bytes.append(res["bytes"])
            await _pause(i, k, first)
    except Exception as exc:  # noqa: BLE001 - a session that fails is reported, not fatal
        out.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        if not waited:
            barrier.leave()
        await client.close()


async def _run(url: str, sessions: int, clicks: int, server: Server, clients: str) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pts = click_points((sessions + 1) * clicks)
            cold = Session()
            # the server's first page open (cold), and one click
            # (at the largest uncovered area: the last points may lie outside the map's view)
            await _session(browser, url, 0, pts[:1], cold)
            outs = [Session() for _ in range(sessions)]
            barrier = Barrier(sessions)
            mark: dict[str, float] = {}
            barrier.on_start.append(
                lambda: mark.update(cpu0=server.cpu_s(), t0=time.perf_counter())
            )

            def points(i: int) -> list[tuple[float, float]]:
                return pts[i * clicks : (i + 1) * clicks]

            if clients == "chromium":
                jobs = [
                    _session(browser, url, i, points(i), outs[i], barrier, timeline=i == 0)
                    for i in range(sessions)
                ]
            else:  # session 1 is the chromium page, the others light clients
                jobs = [_session(browser, url, 0, points(0), outs[0], barrier, timeline=True)]
                jobs += [
                    _light_session(url, i, points(i), outs[i], barrier) for i in range(1, sessions)
                ]
            await asyncio.gather(*jobs)
            wall = time.perf_counter() - mark.get("t0", time.perf_counter())
            cpu = server.cpu_s() - mark.get("cpu0", server.cpu_s())
        finally:
            await browser.close()
    return {"cold": cold, "sessions": outs, "wall_s": wall, "cpu_s": cpu, "clients": clients}


def _q(values: list[float], q: float) -> float:
    values = [v for v in values if v == v]
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def _row(what: str, values: list[float], fmt: str = ".2f") -> str:
    values = [v for v in values if v == v]
    med = statistics.median(values) if values else float("nan")
    return f"| {what} | {med:{fmt}} | {_q(values, 0.9):{fmt}} | {len(values)} |"


def report(res: dict, sessions: int, clicks: int, server: Server) -> str:
    outs: list[Session] = res["sessions"]
    light = res["clients"] == "protocol"
    page, others = outs[0], outs[1:] if light else outs
    cl = [c for s in outs for c in s.clicks_s]
    op = [s.open_s for s in outs if s.open_s == s.open_s]
    errors = [f"session {i + 1}: {e}" for i, s in enumerate(outs) for e in s.errors]
    cold: Session = res["cold"]
    errors += [f"the cold session: {e}" for e in cold.errors]
    n_clicks = len(cl)
    who = (
        f"1 chromium page and {sessions - 1} light protocol clients"
        if light
        else f"{sessions} chromium pages"
    )
    lines = [
        f"# App under load: {sessions} sessions x {clicks} clicks on one server (loopback)",
        "",
        f"`python -m bench.bench_app_load --clients {res['clients']} --sessions {sessions} "
        f"--clicks {clicks} --every {EVERY_S:g}{f' --tab {TAB}' if TAB else ''}` on {platform.node() or 'this machine'}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"; {who}; load average before the run {server.load_before:.1f}.",
        "",
        "| measure | median | p90 | n |",
        "|---|---|---|---|",
        _row("click -> numbers, every session (s)", cl),
        _row("click -> numbers, the chromium page (s)", page.clicks_s),
    ]
    if light:
        lines += [
            _row("click -> numbers, light clients (s)", [c for s in others for c in s.clicks_s]),
            _row(
                "click -> run finished, light clients (s)",
                [c for s in others for c in s.finished_s],
            ),
            _row(
                "bytes sent per click (kB)",
                [b / 1e3 for s in others for b in s.click_bytes],
                ".1f",
            ),
            _row("bytes sent per page open (kB)", [s.open_bytes / 1e3 for s in others], ".0f"),
        ]
    lines += [
        _row("chromium main thread per click (ms)", page.browser_ms, ".0f"),
        _row(f"page open, {sessions} at once, warm server (s)", op, ".1f"),
        f"| first page open, cold server, alone (s) | {cold.open_s:.1f} | | 1 |",
        f"| first click alone after it (s) | "
        f"{cold.clicks_s[0] if cold.clicks_s else float('nan'):.2f} | | 1 |",
        "",
        f"Server while the sessions clicked: {res['cpu_s']:.1f} s of CPU in {res['wall_s']:.1f} s "
        f"({res['cpu_s'] / max(res['wall_s'], 1e-9):.2f} cores on average), "
        f"{1000 * res['cpu_s'] / max(n_clicks, 1):.0f} ms of CPU per click answered "
        f"({n_clicks} clicks); peak RSS {server.peak_rss_mb:,.0f} MB.",
        "",
        "Click -> numbers: from the click until the headline shows one more station (in the "
        "chromium page: drawn; in a light client: its message received). Target: <= 1 s with "
        "ten sessions acting at once.",
    ]
    if errors:
        lines += ["", "Sessions that failed:", *(f"- {e}" for e in errors)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The first view on a cold server, step by step (--first-view)
# ---------------------------------------------------------------------------------------------


@dataclass
class FirstView:
    """One cold first view: seconds from ``goto`` to each step, and what the browser did."""

    app_dir: str
    load: float
    numbers_s: float = float("nan")
    frame_s: float = float("nan")
    leaflet_s: float = float("nan")
    map_s: float = float("nan")
    #: the map frame's requests to the server after the component's own page (Leaflet...)
    frame_requests: list[str] = field(default_factory=list)
    frame_wait_s: float = 0.0
    task_s: float = float("nan")
    nodes: int = 0
    warm_s: float = float("nan")
    error: str = ""


async def _first_view(browser, url: str, out: FirstView) -> None:
    ctx = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = await ctx.new_page()
    cdp = await ctx.new_cdp_session(page)
    await cdp.send("Performance.enable")
    asked: dict[str, float] = {}

    def on_request(r) -> None:
        if "/app/static/" in r.url or "/component/" in r.url and "index.html" not in r.url:
            asked[r.url] = time.perf_counter()

    def on_done(r) -> None:
        if r.url in asked:
            out.frame_requests.append(r.url.rsplit("/", 1)[-1].split("?")[0])
            out.frame_wait_s += time.perf_counter() - asked[r.url]

    page.on("request", on_request)
    page.on("requestfinished", on_done)
    try:
        t0 = time.perf_counter()
        await page.goto(url + "/?embed_options=light_theme")
        await page.wait_for_function(
            f"() => ({METRIC_JS})({LABEL!r}) !== null", timeout=180_000, polling="raf"
        )
        out.numbers_s = time.perf_counter() - t0
        await page.locator(MAP_FRAME).wait_for(state="attached", timeout=180_000)
        out.frame_s = time.perf_counter() - t0
        frame = page.frame_locator(MAP_FRAME)
        await frame.locator(".leaflet-container").first.wait_for(state="attached", timeout=180_000)
        out.leaflet_s = time.perf_counter() - t0
        await frame.locator(".leaflet-marker-pane .planner-symbol").first.wait_for(
            state="attached", timeout=180_000
        )
        out.map_s = time.perf_counter() - t0
        metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
        out.task_s = next(m["value"] for m in metrics if m["name"] == "TaskDuration")
        f = [f for f in page.frames if "streamlit_folium" in f.url][-1]
        out.nodes = int(await f.evaluate("document.getElementsByTagName('*').length"))
        await page.wait_for_function(
            """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
            timeout=180_000,
        )
    except Exception as exc:  # noqa: BLE001 - reported in the table
        out.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        await ctx.close()
    # a second page on the now warm server: what the browser and the map cost alone
    ctx = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    try:
        out.warm_s = await _open(await ctx.new_page(), url)
    except Exception as exc:  # noqa: BLE001
        out.error = out.error or f"warm: {type(exc).__name__}"
    finally:
        await ctx.close()


def first_views(app_dirs: list[Path], repeat: int, budget: float) -> list[FirstView]:
    """``repeat`` rounds; in each, one cold first view per app folder (alternating)."""
    from playwright.async_api import async_playwright

    rows: list[FirstView] = []
    for _ in range(repeat):
        for app_dir in app_dirs:
            log = Path(tempfile.mkdtemp(prefix="bench-first-view-")) / "streamlit.log"
            server = start_server(log, app_dir)
            out = FirstView(str(app_dir), server.load_before)

            async def go(url: str = server.url, row: FirstView = out) -> None:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    try:
                        await _first_view(browser, url, row)
                    finally:
                        await browser.close()

            try:
                asyncio.run(asyncio.wait_for(go(), budget))
            finally:
                server.stop()
            rows.append(out)
            print(first_view_row(out), flush=True)
    return rows


FIRST_VIEW_HEAD = (
    "| app | load | numbers (s) | map frame (s) | Leaflet map (s) | map drawn (s) | "
    "frame's requests to the server, waited (s) | main thread (s) | DOM nodes in the frame | "
    "warm server, page open (s) |\n|---|---|---|---|---|---|---|---|---|---|"
)


def first_view_row(r: FirstView) -> str:
    asked = ", ".join(sorted(set(r.frame_requests))) or "none"
    return (
        f"| {r.app_dir} | {r.load:.1f} | {r.numbers_s:.2f} | {r.frame_s:.2f} | "
        f"{r.leaflet_s:.2f} | {r.map_s:.2f} | {asked}: {r.frame_wait_s:.2f} | {r.task_s:.2f} | "
        f"{r.nodes} | {r.warm_s:.2f} |{' ' + r.error if r.error else ''}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", choices=("protocol", "chromium"), default="protocol")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--clicks", type=int, default=5)
    ap.add_argument(
        "--tab",
        default="",
        help="the tab the light clients keep open (its English label, e.g. Standards; "
        "default: the first)",
    )
    ap.add_argument(
        "--every",
        type=float,
        default=EVERY_S,
        help="seconds between one session's clicks (0: as soon as the answer is read)",
    )
    ap.add_argument("--budget", type=float, default=600.0, help="stop after this many seconds")
    ap.add_argument(
        "--first-view",
        type=int,
        default=0,
        metavar="N",
        help="instead of the load: N rounds of cold first views (a fresh server each), step by "
        "step, one per --app-dir in turn",
    )
    ap.add_argument(
        "--app-dir",
        action="append",
        type=Path,
        default=None,
        help="checkout whose app.py is run (repeat to alternate, e.g. an old commit's "
        "`git worktree`); default: this one",
    )
    ap.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(REPO)}")
    args = ap.parse_args(argv)
    set_pace(args.every)
    global TAB
    TAB = args.tab
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    if args.first_view:
        print(FIRST_VIEW_HEAD, flush=True)
        rows = first_views(args.app_dir or [REPO], args.first_view, args.budget)
        for d in dict.fromkeys(r.app_dir for r in rows):
            mine = [r.map_s for r in rows if r.app_dir == d and r.map_s == r.map_s]
            if mine:
                print(
                    f"{d}: map drawn, median {statistics.median(mine):.2f} s "
                    f"(min {min(mine):.2f}, max {max(mine):.2f}, n {len(mine)})"
                )
        return 0
    log = Path(tempfile.mkdtemp(prefix="bench-app-")) / "streamlit.log"
    server = start_server(log)
    try:
        res = asyncio.run(
            asyncio.wait_for(
                _run(server.url, args.sessions, args.clicks, server, args.clients), args.budget
            )
        )
    finally:
        server.stop()
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
