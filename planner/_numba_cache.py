"""Where numba keeps planner's compiled kernels, so only the first run after install compiles.

The kernels are compiled with ``cache=True``. numba writes that cache next to the source
(``planner/__pycache__``); a wheel installed into a read-only site-packages cannot be written
there, so :func:`configure` points numba at a user cache directory instead:
``$XDG_CACHE_HOME/planner/numba`` (else ``~/.cache/planner/numba``). A ``NUMBA_CACHE_DIR`` the user
set is never overridden. It runs when :mod:`planner` is imported, before any kernel is defined
(numba picks the cache location when a cached function is decorated).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent


def user_cache_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/planner/numba``, else ``~/.cache/planner/numba``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "planner" / "numba"


def _writable(directory: Path) -> bool:
    """Whether numba could keep its cache in ``directory/__pycache__`` (as numba tests it)."""
    cache = directory / "__pycache__"
    try:
        cache.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=cache):
            pass
    except OSError:
        return False
    return True


def cache_dir(
    package_dir: Path = PACKAGE_DIR, environ: MutableMapping[str, str] | None = None
) -> Path | None:
    """The directory numba should use instead of the package's own, or ``None`` to leave it."""
    env = os.environ if environ is None else environ
    if env.get("NUMBA_CACHE_DIR"):
        return None  # the user's choice
    if _writable(package_dir):
        return None
    return user_cache_dir(env)


def configure(
    package_dir: Path = PACKAGE_DIR, environ: MutableMapping[str, str] | None = None
) -> Path | None:
    """Point numba's cache at :func:`user_cache_dir` when the package directory is read-only.

    Returns the directory set, or ``None`` when nothing was changed (the package directory is
    writable, the user set ``NUMBA_CACHE_DIR``, or no user cache directory can be made: numba
    then compiles each run, as it would anyway).
    """
    env = os.environ if environ is None else environ
    target = cache_dir(package_dir, env)
    if target is None:
        return None
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    env["NUMBA_CACHE_DIR"] = str(target)
    # numba reads the variable once, when it is first imported; if it already was, set it too
    config: Any = sys.modules.get("numba.core.config")  # a module: typed loosely
    if config is not None and environ is None:
        config.CACHE_DIR = str(target)
    return target


configure()
