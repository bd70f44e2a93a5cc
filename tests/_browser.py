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
        + ["--browser.gatherUsageStats", "false"],
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
