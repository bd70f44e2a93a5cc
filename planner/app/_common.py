"""Helpers shared by the modules of :mod:`planner.app` (documented internal: not re-exported).

- :func:`memo` keeps a value computed from a frozen result or data set on that object, so the
  standards table and the what-if of one result share the work;
- :func:`unit_trees` indexes the township and village polygons for point-in-unit look-ups;
- :func:`map_lang` maps the app's language to the one the map helpers of :mod:`planner.maps` take.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import geopandas as gpd
import numpy as np
import shapely

from .._cache import memo as _memo

_T = TypeVar("_T")


def memo(obj: Any, name: str, make: Callable[[], _T]) -> _T:
    """A value computed once per (frozen) result or data set object and kept on it: the
    project's one cache (:func:`planner._cache.memo`), under keys of the app's own."""
    return _memo(obj, ("app", name), make)


def unit_trees(boundaries: gpd.GeoDataFrame) -> dict[str, tuple[shapely.STRtree, np.ndarray]]:
    """Per level (``township``, ``village``): an STRtree of the unit polygons and their codes."""
    out = {}
    for level in ("township", "village"):
        units = boundaries[boundaries["level"] == level]
        if len(units):
            out[level] = (
                shapely.STRtree(units.geometry.values),
                units["admin_code"].astype(str).to_numpy(dtype=object),
            )
    return out


def map_lang(lang: str) -> Literal["zh", "en"]:
    """The map helpers' language for the app's: ``"zh"`` or ``"en"``."""
    return "zh" if lang == "zh" else "en"
