"""planner's build backend: setuptools, plus the numba kernels compiled ahead of the first run.

Every hook is setuptools' (``setuptools.build_meta``). ``build_wheel`` and ``build_editable``
first compile the kernel signatures recorded in ``planner/_kernel_signatures.json`` for this
machine into ``planner/_kernel_cache/`` (``planner._numba_cache.build_shipped``), which the
wheel carries as package data and an editable install reads in place; the first
``planner coverage`` then loads them instead of compiling for about 30 s. The build
environment gets numba, numpy and shapely for it (``[build-system] requires``).

A failed compile never fails the build: it prints why, and planner compiles its kernels at
first use as before. ``PLANNER_BUILD_KERNELS=0`` skips the step (a quicker build).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401  (the hooks passed through unchanged)
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

ROOT = Path(__file__).resolve().parents[1]


def _numba_cache() -> Any:
    """``planner/_numba_cache.py`` loaded on its own (importing planner needs its runtime deps)."""
    spec = importlib.util.spec_from_file_location(
        "_planner_numba_cache_build", ROOT / "planner" / "_numba_cache.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_kernels() -> None:
    """Compile the recorded kernels into ``planner/_kernel_cache`` (never raises)."""
    if os.environ.get("PLANNER_BUILD_KERNELS") == "0":
        shutil.rmtree(ROOT / "planner" / "_kernel_cache", ignore_errors=True)
        print("planner: PLANNER_BUILD_KERNELS=0, kernels not compiled ahead", file=sys.stderr)
        return
    t0 = time.perf_counter()
    try:
        where = _numba_cache().build_shipped(ROOT / "planner")
    except Exception as exc:  # any failure: build without them, compile at first use
        shutil.rmtree(ROOT / "planner" / "_kernel_cache", ignore_errors=True)
        print(
            f"planner: kernels not compiled ahead ({exc}); the first run compiles them",
            file=sys.stderr,
        )
        return
    print(
        f"planner: kernels compiled ahead into {where} in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    compile_kernels()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    compile_kernels()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
