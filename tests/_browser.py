"""Debian's chromium driven by Playwright for the browser tests, never leaving the page's origin.

Never ``playwright install``: the tests use the system chromium (installed by scripts/test.sh).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def need_chromium() -> None:
    """Skip the test, saying why, when chromium or the playwright package is missing."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip(
        "playwright.sync_api",
        reason="needs the playwright Python package (pip install playwright; never `playwright install`)",
    )


@contextmanager
def chromium_page(
    allowed: str, *, viewport: tuple[int, int] = (1500, 1100), locale: str | None = None
) -> Iterator[tuple[object, list[str], list[str]]]:
    """A chromium page whose requests may only go to URLs starting with ``allowed``: yields
    ``(page, attempted, problems)``, the requests it blocked and the page and console errors."""
    from playwright.sync_api import sync_playwright

    attempted: list[str] = []
    problems: list[str] = []

    def route(r):
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            options = {"viewport": {"width": viewport[0], "height": viewport[1]}}
            if locale:
                options["locale"] = locale
            ctx = browser.new_context(**options)
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console", lambda m: m.type == "error" and problems.append(f"console: {m.text}")
            )
            yield page, attempted, problems
        finally:
            browser.close()


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(
    *, scenario_dir: Path, log_dir: Path, cwd: Path, startup_s: float = 90.0
) -> Iterator[str]:
    """``streamlit run app.py`` on a free local port (scenarios in ``scenario_dir``); yields its
    URL once healthy and always stops it. Fails the test, naming the log, when it does not start."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {**os.environ, "PLANNER_SCENARIO_DIR": str(scenario_dir)}
    log = (log_dir / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
        + ["--server.address", "127.0.0.1", "--server.port", str(port)]
        + ["--browser.gatherUsageStats", "false"]
        # no file watcher: an edit of a source file during the run (another checkout, an
        # editor) would put "source file changed" in the status widget, which idle() waits out
        + ["--server.fileWatcherType", "none"],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
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


REPO = Path(__file__).resolve().parents[1]

#: The map component's frame (the last one: the page may briefly hold an old one).
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"] >> nth=-1'

#: The text of the metric labelled ``label`` on the page, or null.
METRIC_JS = """(label) => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        const l = m.querySelector('[data-testid="stMetricLabel"]');
        if (l && l.innerText.trim() === label) {
            return m.querySelector('[data-testid="stMetricValue"]').innerText.trim(); } }
    return null; }"""


@contextmanager
def app_server(tmp_path_factory: pytest.TempPathFactory, *, browser: bool = True) -> Iterator[str]:
    """The app on a free local port with its own scenario and log folders (for a module-scoped
    ``server`` fixture); skips the test when chromium is missing (``browser=False``: the
    tests talk to the server without one)."""
    if browser:
        need_chromium()
    with streamlit_server(
        scenario_dir=tmp_path_factory.mktemp("scenarios"),
        log_dir=tmp_path_factory.mktemp("server"),
        cwd=REPO,
    ) as url:
        yield url


def metric(page: object, label: str) -> str | None:
    """The metric ``label``'s text on the page, or None."""
    return page.evaluate(METRIC_JS, label)  # type: ignore[attr-defined]


def wait_metric(page: object, label: str, pred: str, timeout: float = 60_000) -> float:
    """Until the metric ``label`` satisfies the JS predicate ``pred`` on its text ``v``;
    returns the seconds waited."""
    import time

    t0 = time.perf_counter()
    page.wait_for_function(  # type: ignore[attr-defined]
        f"(label) => {{ const v = ({METRIC_JS})(label); return v !== null && ({pred}); }}",
        arg=label,
        timeout=timeout,
        polling="raf",
    )
    return time.perf_counter() - t0


def idle(page: object, timeout: float = 60_000) -> None:
    """Until Streamlit has finished its run (no status widget), with a short settle on both
    sides (a rerun may start just after a click)."""
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=timeout
    )
    page.wait_for_timeout(300)  # type: ignore[attr-defined]


def step_minutes(page: object, key: str, share_label: str, timeout: float = 90_000) -> float:
    """One step of the sidebar's minutes slider (``key``: "ArrowLeft" down, "ArrowRight" up):
    waits for the metric ``share_label`` of the new minutes, then for the run to finish
    (:func:`idle`). Returns the seconds until the metric showed."""
    import time

    page.locator('.st-key-w_minutes input[type="range"]').focus()  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    page.keyboard.press(key)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"(label) => ({METRIC_JS})(label) !== null",
        arg=share_label,
        timeout=60_000,
        polling="raf",
    )
    seconds = time.perf_counter() - t0
    idle(page, timeout=timeout)
    return seconds
