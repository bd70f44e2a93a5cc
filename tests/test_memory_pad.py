"""planner._memory: freed memory kept in the process between the hot paths' arrays.

The drive isochrones allocate and free about 50 MB a facility; without the pad each thread's
heap returns its freed top to the system and faults it in again (a third of the CPU time on
the bench). Counted here as page faults of a worker thread that allocates and frees arrays of
a few MB over and over, in a fresh process with the pad and without it.
"""

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from planner import _memory

ROOT = Path(__file__).resolve().parents[1]

JOB = textwrap.dedent(
    """
    import resource, sys, threading
    import numpy as np
    sys.path.insert(0, {root!r})
    from planner import _memory
    on = _memory.keep_freed_memory()
    def job():
        for _ in range(30):
            arrs = [np.ones(300_000 + 1000 * k) for k in range(12)]  # 2.4 MB each
            del arrs
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t = threading.Thread(target=job)
    t.start()
    t.join()
    print(on, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    """
)


def _faults(pad: str) -> tuple[bool, int]:
    env = {**os.environ, "PLANNER_TOP_PAD": pad}
    out = subprocess.run(
        [sys.executable, "-c", JOB.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt"
)
def test_pad_keeps_freed_pages_in_the_process():
    on, with_pad = _faults("64M")
    off, without = _faults("0")
    assert on and not off
    # 30 rounds of 29 MB: without the pad nearly every round faults its pages in again
    assert with_pad * 5 < without


@pytest.mark.parametrize(
    ("raw", "want"),
    [("", 64 << 20), ("0", 0), ("128M", 128 << 20), ("1g", 1 << 30), ("4096", 4096)],
)
def test_pad_from_the_environment(monkeypatch, raw, want):
    monkeypatch.setenv("PLANNER_TOP_PAD", raw)
    assert _memory._pad_from_env() == want


def test_a_pad_that_is_not_a_size_falls_back_with_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("PLANNER_TOP_PAD", "lots")
    with caplog.at_level("WARNING", logger="planner._memory"):
        assert _memory._pad_from_env() == _memory.DEFAULT_TOP_PAD
    assert "PLANNER_TOP_PAD" in caplog.text
