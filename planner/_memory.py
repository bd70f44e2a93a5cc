"""Keep freed memory in the process between the many short-lived arrays of the hot paths.

Drawing an isochrone polygon allocates and frees about 50 MB of arrays (road pieces, the piece
table, the grids, the traced rings) per facility in drive mode. With glibc's defaults the
freed top of each thread's heap goes back to the system and the next facility faults the
same pages in again: a third of the CPU time (31 of 93 ms per facility on the 100k-node bench
graph, 2 threads, 2026-12-05) went to the kernel. glibc keeps ``M_TOP_PAD`` bytes at the top of
a heap when it trims; :func:`keep_freed_memory` raises that pad to 64 MB (``PLANNER_TOP_PAD``
bytes, a size such as ``128M``, or ``0`` to leave glibc's default), which brought the system
time to 3 ms per facility and the wall time from 49.8 to 31.9 ms (at the end of the day, with
the other changes: 22.5 against 1.0-1.2 ms of system CPU, 37.1-37.8 against 24.7-24.8 ms wall).

The setting is process-wide and made once, the first time a hot path asks for it. It changes
no result; it only lets each thread's heap keep up to the pad of freed memory (the resident
set then stays near its peak instead of shrinking between facilities; the peak itself is
unchanged). Other C libraries (musl, macOS, Windows) have no ``mallopt``: nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
import os
import platform

from ._validate import parse_size

log = logging.getLogger(__name__)

#: glibc's ``M_TOP_PAD`` parameter number (malloc.h).
M_TOP_PAD = -2
#: The pad asked for unless ``PLANNER_TOP_PAD`` says otherwise (bytes).
DEFAULT_TOP_PAD = 64 << 20


def _pad_from_env() -> int:
    raw = os.environ.get("PLANNER_TOP_PAD", "").strip()
    if not raw:
        return DEFAULT_TOP_PAD
    value = parse_size(raw)
    if value is None or not math.isfinite(value):
        log.warning("PLANNER_TOP_PAD=%r is not a size (bytes, or e.g. 64M); using 64M", raw)
        return DEFAULT_TOP_PAD
    return int(value)


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep up to the pad of freed memory per heap (once per process).

    Returns whether the setting is in effect (``False`` without glibc, or with
    ``PLANNER_TOP_PAD=0``).
    """
    return _apply(_pad_from_env())


def _apply(pad: int) -> bool:
    if pad <= 0 or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_TOP_PAD, min(pad, 2**31 - 1)))
    log.debug("mallopt(M_TOP_PAD, %d): %s", pad, "set" if ok else "refused")
    return ok
