"""Keeping the app quick where a person waits (documented internal, used by ``app.py``).

- :func:`retimed_network`: a change of speed or access distance in the sidebar gives a network
  with the same roads and junctions and new edge times, from the network already built (no
  noding, no CSR sort, no geometry: milliseconds instead of a rebuild).
- :class:`TurnTaking`: the work a run does after its answer (the tables of the tabs) takes
  turns across the server's sessions, so that a click's numbers in one session are not slowed
  by many sessions drawing tables at once (Python threads share one interpreter lock).
- :func:`profiled`: with ``PLANNER_PROFILE=<folder>`` in the environment, each call of the
  decorated function writes a cProfile file there (the app's first view and a click, profiled
  in the running server; py-spy is not available everywhere).
"""

from __future__ import annotations

import cProfile
import dataclasses
import functools
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import shapely

from .._errors import NetworkError
from ..network import Network, TravelMode, edge_speeds, travel_mode

_F = TypeVar("_F", bound=Callable[..., Any])
_RUNS = itertools.count(1)


def topology_options(options: dict[str, Any]) -> dict[str, Any]:
    """The mode options that change which roads a mode uses and where they join (none of the
    app's: speed, access distance and access speed only change times): the options a
    network must be built for; the others are applied by :func:`retimed_network`."""
    timing = {"speed_kmh", "access_max_m", "access_speed_factor"}
    return {k: v for k, v in options.items() if k not in timing}


def retimed_network(
    net: Network, roads: pd.DataFrame, mode: TravelMode, *, urban_area: Any = None
) -> Network:
    """``net`` with the travel times of ``mode`` (same roads, junctions and numbering).

    ``mode`` may differ from ``net.mode`` in its speeds, its off-network access (distance,
    speed) and its urban factor, not in which roads it uses or how it reads one-way tags
    (those change the graph: build it again with :func:`planner.build_network`). The times
    are those :func:`planner.build_network` gives for ``mode``: each edge's speed from its road
    class and its road's ``maxspeed_kmh`` (``roads`` is the table the network was built from,
    read through ``net.edge_source``), times the urban factor for edges whose middle lies in
    ``urban_area``; forbidden directions stay forbidden.

    Raises
    ------
    NetworkError
        (a ValueError) when ``mode`` uses other roads or one-way rules than ``net.mode``.
    """
    old = net.mode
    same_graph = (
        mode.name == old.name
        and mode.respect_oneway == old.respect_oneway
        and mode.excluded_classes == old.excluded_classes
        and mode.access_tags == old.access_tags
        and mode.tags_override_class == old.tags_override_class
        and mode.excluded_services == old.excluded_services
    )
    if not same_graph:
        raise NetworkError(
            f"mode {mode.name!r} uses other roads or one-way rules than the network's "
            f"({old.name!r}): build the network again with planner.build_network()."
        )
    if mode == old:
        return net
    src = net.edge_source
    maxspeed = pd.to_numeric(roads["maxspeed_kmh"].iloc[src], errors="coerce").to_numpy(float)
    speed = edge_speeds(mode, np.asarray(net.edge_class).astype(str), maxspeed)
    if urban_area is not None and mode.urban_factor != 1.0:
        # as build_network: the middle of each edge, in the network's metric CRS
        ua = _metric_geometry(urban_area, net)
        mid = shapely.line_interpolate_point(net.edge_geometry, 0.5, normalized=True)
        speed = np.where(shapely.intersects(ua, mid), speed * mode.urban_factor, speed)
    t = net.edge_length_m / (speed / 3.6)
    # a forbidden direction (+inf) stays forbidden; the others take the new time
    t_uv = np.where(np.isfinite(net.edge_time_uv_s), t, np.inf)
    t_vu = np.where(np.isfinite(net.edge_time_vu_s), t, np.inf)
    # every arc runs along its edge one way or the other, both ways at the same time
    return dataclasses.replace(
        net,
        mode=mode,
        weights=t[net.arc_edge],
        rweights=t[net.rarc_edge],
        edge_time_uv_s=t_uv,
        edge_time_vu_s=t_vu,
    )


def _metric_geometry(area: Any, net: Network) -> shapely.Geometry:
    """An urban area (shapely geometry in EPSG:4326, or a GeoSeries) in the network's CRS."""
    import geopandas as gpd

    if isinstance(area, gpd.GeoSeries | gpd.GeoDataFrame):
        return shapely.union_all(area.to_crs(net.crs).geometry.values)
    return shapely.union_all(gpd.GeoSeries([area], crs="EPSG:4326").to_crs(net.crs).values)


def network_mode(mode: str, options: dict[str, Any]) -> TravelMode:
    """The :class:`TravelMode` of ``mode`` with the app's ``options`` (speed, access...)."""
    return travel_mode(mode, **options)


class TurnTaking:
    """At most ``slots`` holders at a time; a caller waits ``max_wait_s`` at most, then goes
    ahead anyway (a turn is a priority, never a deadlock: a run waiting for its turn cannot be
    stopped by Streamlit until it goes on)."""

    def __init__(self, slots: int = 1, *, max_wait_s: float = 1.0) -> None:
        self._sem = threading.BoundedSemaphore(slots)
        self.max_wait_s = float(max_wait_s)

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Hold a slot while the block runs; yields whether one was had (False: waited
        ``max_wait_s`` and went ahead without one)."""
        got = self._sem.acquire(timeout=self.max_wait_s)
        try:
            yield got
        finally:
            if got:
                self._sem.release()


def profiled(name: str) -> Callable[[_F], _F]:
    """Decorate a function so that, with ``PLANNER_PROFILE=<folder>`` set, each call writes
    ``<folder>/<name>-<n>-<ms>ms.prof`` (read it with ``python -m pstats`` or snakeviz).
    Without the variable the function runs as it is (one environment look-up per call)."""

    def deco(fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            folder = os.environ.get("PLANNER_PROFILE")
            if not folder:
                return fn(*args, **kwargs)
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            try:
                return prof.runcall(fn, *args, **kwargs)
            finally:
                ms = 1000 * (time.perf_counter() - t0)
                out = Path(folder)
                out.mkdir(parents=True, exist_ok=True)
                prof.dump_stats(str(out / f"{name}-{next(_RUNS):03d}-{ms:.0f}ms.prof"))

        return cast(_F, wrapper)

    return deco
