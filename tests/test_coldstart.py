"""A second run compiles nothing: every kernel the demo analysis uses is loaded from numba's cache.

The first ``planner coverage`` after install compiles planner's kernels (tens of seconds of CPU);
each later run must load them from the cache instead. Two fresh interpreters share one empty
``NUMBA_CACHE_DIR``: the first compiles and saves, the second must neither compile a function
(counted where numba's dispatcher compiles, which also catches a kernel without ``cache=True``)
nor save a cache entry (``NUMBA_DEBUG_CACHE``), and must have loaded some. The kernels compiled
when planner was built are left out (``PLANNER_SHIPPED_KERNELS=0``): this is the path of an
install whose build could not compile them; ``tests/test_packaging.py`` checks the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# the demo analysis with its isochrones: the reach, nearest-facility and polygon kernels
_SCRIPT = textwrap.dedent("""
    import json, sys
    import numba.core.dispatcher as d

    compiled = []
    _core = d._FunctionCompiler._compile_core

    def _counting(self, args, return_type):
        compiled.append(f"{self.py_func.__module__}.{self.py_func.__qualname__}")
        return _core(self, args, return_type)

    d._FunctionCompiler._compile_core = _counting
    import planner

    planner.analyze(planner.load_demo(), mode="walk", minutes=15)
    print("COMPILED " + json.dumps(sorted(set(c for c in compiled if c.startswith("planner.")))))
""")


def _run(cache_dir: Path) -> tuple[list[str], str]:
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(cache_dir),
        NUMBA_DEBUG_CACHE="1",
        PLANNER_SHIPPED_KERNELS="0",
    )
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("COMPILED "))
    return json.loads(line[len("COMPILED ") :]), out


@pytest.mark.slow  # the first run compiles every kernel: ~30 s of CPU
def test_second_process_compiles_nothing(tmp_path):
    first, first_log = _run(tmp_path)
    assert "planner._engine.reach_runs" in first  # the cache really started empty
    assert "data saved to" in first_log
    second, log = _run(tmp_path)
    assert second == [], f"compiled again although cached: {second}"
    saved = [x for x in log.splitlines() if "saved to" in x]
    assert saved == [], f"cache entries written by the second run: {saved[:5]}"
    assert "data loaded from" in log
