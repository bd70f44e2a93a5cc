"""The one caching idiom of planner: values derived from an immutable object, memoised on it.

Results, networks and data sets are frozen dataclasses (or treated as immutable once built), so
anything computed from one of them alone (the demand units joined to the network, a network's
connected pieces, the app's per-result tables) can be kept with it and dropped with it. Every
such cache goes through :func:`memo`: one store per object, keyed by the caller, never an
attribute set from another module.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

_T = TypeVar("_T")
_STORE = "_planner_memo"


def memo(obj: Any, key: Hashable, make: Callable[[], _T]) -> _T:
    """``make()`` computed once per ``(obj, key)`` and kept on ``obj`` while it lives.

    ``obj`` must not change after the first call for ``key`` (results, networks and data sets
    do not). Objects without a ``__dict__`` are not cached: ``make()`` runs every time.
    """
    store = memo_store(obj)
    if store is None:
        return make()
    if key not in store:
        store[key] = make()
    return store[key]


def memo_store(obj: Any) -> dict[Hashable, Any] | None:
    """The memo dictionary of ``obj`` (created on first use), or None when it cannot hold one."""
    d = getattr(obj, "__dict__", None)
    if d is None:
        return None
    store = d.get(_STORE)
    if store is None:
        store = {}
        # object.__setattr__ also works on frozen dataclasses; the store itself is a plain dict
        object.__setattr__(obj, _STORE, store)
    return store
