"""Isochrone polygons of facilities (the drawing itself is :mod:`planner._isochrone`'s).

Part of :mod:`planner.access`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from .. import _isochrone, _memory
from .._errors import NetworkError
from .._progress import Progress, report
from ..network import Network
from .search import reach
from .sources import facility_sources

log = logging.getLogger(__name__)

# -- isochrone polygons --------------------------------------------------------------------------

#: Isochrone drawing methods (see :func:`isochrones`).
ISOCHRONE_METHODS = ("grid", "exact")
#: Facilities per reach call of :func:`isochrones` (bounds the reach sets held at once).
ISO_CHUNK = 16


def isochrones(
    network: Network,
    facilities: gpd.GeoDataFrame,
    *,
    minutes: Sequence[float] = (5, 10, 15),
    id_column: str = "facility_id",
    quad_segs: int = 4,
    threads: int = 2,
    progress: Progress | None = None,
    method: str = "grid",
    cell_m: float | None = None,
    max_cells: int = 1 << 19,
) -> gpd.GeoDataFrame:
    """Isochrone polygons per facility and threshold that follow the road network.

    Each polygon is the union, over every road point from which the facility is reached in time
    (the partial edge at the cutoff included), of a disc whose radius is the off-network distance
    that can still be covered with the time left (capped at ``access_max_m``, at least 0.5 m).
    Polygons have holes where nothing is reached, and the thresholds nest (the 10-minute polygon
    lies inside the 15-minute one).

    Parameters
    ----------
    minutes : sequence of float
        Thresholds, in minutes.
    quad_segs : int
        Vertices per quarter circle of the discs drawn as polygons (all of them with
        ``method="exact"``, the thin tips with ``"grid"``).
    threads : int
        Facilities are drawn on this many threads.
    progress : callable(stage, fraction), optional
        Called as ``progress("isochrones", fraction of facilities done)``
        (:mod:`planner._progress`).
    method : {"grid", "exact"}
        ``"grid"`` (default) traces the union on a grid from its distance field, with linear
        interpolation (the cell: ``cell_m``, doubled until the grid has at most ``max_cells``
        nodes; runs of road pieces simplified by a tenth of a cell). Every point of its polygon lies
        within ``tolerance_m`` = cell * (sqrt(2) + 0.1) + 0.5 m of the exact union, and every
        point of the exact union within that of its polygon except the needle-like tips,
        narrower than two cells, that the union has where the time runs out along fast roads
        (there within ``tolerance_m * (1 + v_road / v_access)``); in practice the error is a
        fraction of a cell. ``"exact"`` builds one polygon per reached piece of road and
        unions them with GEOS (exact up to ``quad_segs``; seconds per facility for a 15-minute
        drive).
    cell_m : float, optional
        Finest grid cell of ``method="grid"`` in metres. Default: 5 m walking, 10 m by e-bike,
        15 m driving, scaled down with ``access_max_m`` below 500 m (at least 1 m). When no disc
        is wider than 1.5 of these cells the exact union is drawn instead.
    max_cells : int
        Most grid nodes of one polygon (``method="grid"``): a large polygon gets a coarser cell
        (``cell_m`` times a power of two), so time and memory per polygon stay bounded whatever
        the threshold; its error bound grows with the cell and is reported in ``tolerance_m``.
        The default (524,288 nodes, 4 MB) keeps a 15-minute walk at the finest cell.

    Returns
    -------
    GeoDataFrame
        Columns ``facility_id``, ``tier`` (when the facilities have one), ``minutes``,
        ``area_km2``, ``tolerance_m`` (the error bound above for ``"grid"``; 0 for polygons
        drawn exactly); EPSG:4326. A threshold beyond the facility's whole reach gives the
        reached network plus the access buffer (drawn once for every facility that shares it).

    Examples
    --------
    >>> import planner
    >>> ds = planner.load_demo()                                           # doctest: +SKIP
    >>> net = planner.build_network(ds.roads, mode="drive")                # doctest: +SKIP
    >>> iso = planner.isochrones(net, ds.facilities, minutes=(5, 10, 15))  # doctest: +SKIP
    >>> exact = planner.isochrones(net, ds.facilities.head(3), method="exact")  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    mins, cell_m = _isochrone_options(network, minutes, method, cell_m, max_cells)
    _memory.keep_freed_memory()  # ~50 MB of arrays a facility: keep freed pages (see _memory)
    cap = network.mode.access_max_m
    src = facility_sources(network, facilities)
    # facilities joining the network at the same point share their polygons: drawn once
    first, same = _isochrone.same_place(src.attachment)
    fac_att = src.attachment.take(first)
    n_fac = len(first)
    polys = np.empty((len(mins), n_fac), dtype=object)
    tol = np.zeros((len(mins), n_fac))
    v_off = network.mode.access_speed_kmh / 3.6
    # incident edges per node (both directions) for the reached-edge lookup
    inc_ptr, inc_edge = _isochrone.incidence(network)
    seg = _isochrone.segments(network)
    slack = _isochrone.edge_slack(network)
    # polygons of facilities whose every disc is full-size are a function of the nodes reached
    # (a large threshold: often the whole network plus the access buffer); drawn once
    shared: dict[bytes, tuple[Any, float]] = {}

    # nested[k, i]: polygon k of facility i lies inside polygon k + 1 by construction
    nested = np.zeros((len(mins), n_fac), dtype=bool)
    area = np.zeros((len(mins), n_fac))
    wgs = np.empty((len(mins), n_fac), dtype=object)

    def to_wgs(block: np.ndarray) -> np.ndarray:
        geo = gpd.GeoSeries(block.ravel(), crs=network.crs).to_crs("EPSG:4326").to_numpy()
        return np.asarray(geo, dtype=object).reshape(block.shape)

    def draw(tp, i: int, todo: list[tuple[int, float, bytes | None]]) -> None:
        down = todo[::-1]  # largest first: each smaller one is traced on its grid if it can
        got = _isochrone.draw(
            tp, [m * 60.0 for _, m, _ in down], method, v_off, cap, cell_m, quad_segs, max_cells
        )
        for j, (k, _, _) in enumerate(down):
            polys[k, i], tol[k, i] = got.polygons[j], _isochrone.tolerance_m(got.cells[j])
            nested[k, i] = j > 0 and got.nested[j] and down[j - 1][0] == k + 1

    def work(bounds: tuple[int, int]) -> int:
        a, b = bounds
        # reach sets chunk by chunk: memory follows a chunk's reach, whatever the threshold
        rows = np.arange(a, b)
        r = reach(
            network, facility_sources(network, fac_att.take(rows)), minutes=mins[-1], threads=1
        )
        scratch = _isochrone.time_scratch(network)  # this thread's node -> time table
        for j, i in enumerate(rows):
            nodes, times = r.of(j)
            todo = []
            for k, m in enumerate(mins):
                key = _isochrone.full_key(
                    network, nodes, times, m * 60.0, fac_att, i, slack, cap / v_off
                )
                if key is not None and key in shared:
                    polys[k, i], tol[k, i] = shared[key]
                else:
                    todo.append((k, m, key))
            if not todo:
                continue
            # the road pieces once, for the largest threshold left; each threshold cuts them
            budget = todo[-1][1] * 60.0
            sel = times <= budget
            tp = _isochrone.timed_pieces(
                network,
                seg,
                inc_ptr,
                inc_edge,
                nodes[sel],
                times[sel],
                budget,
                fac_att,
                i,
                scratch=scratch,
            )
            draw(tp, int(i), todo)
            for k, _, key in todo:
                if key is not None:
                    shared[key] = (polys[k, i], tol[k, i])
        for i in rows:  # nesting where it does not hold by construction (different cells)
            _isochrone.nest(polys[:, i], nested[:, i])
        # areas and the reprojection here, in the worker threads (GEOS and PROJ release the GIL)
        area[:, a:b] = shapely.area(polys[:, a:b]) / 1e6
        wgs[:, a:b] = to_wgs(polys[:, a:b])
        polys[:, a:b] = None  # the metric copies go: only one copy of each polygon is held
        return b - a

    done = 0
    chunks = guided_chunks(n_fac, max(1, threads), ISO_CHUNK)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:  # numba and GEOS release the GIL
        for count in pool.map(work, chunks):
            done += count
            report(progress, "isochrones", done / max(n_fac, 1))
    out = _isochrone_frame(facilities, id_column, mins, wgs, area, tol, same)
    log.info(
        "isochrones (%s): %d facilities x %d thresholds in %.2f s",
        method,
        n_fac,
        len(mins),
        time.perf_counter() - t0,
    )
    return out


def guided_chunks(n: int, threads: int, most: int) -> list[tuple[int, int]]:
    """Facilities ``[a, b)`` per task: at most ``most`` (bounds the reach sets held at once),
    shrinking towards the end (a remainder shared by the threads, split in ``2 * threads``) so
    the threads finish together instead of one waiting on the last large chunk."""
    out, a = [], 0
    while a < n:
        size = max(1, min(most, (n - a) // (2 * threads)))
        out.append((a, a + size))
        a += size
    return out


def _isochrone_options(
    network: Network, minutes: Sequence[float], method: str, cell_m: float | None, max_cells: int
) -> tuple[list[float], float]:
    """The sorted thresholds and the finest cell of :func:`isochrones`, its options checked."""
    mins = sorted({float(m) for m in minutes})
    if not mins or mins[0] <= 0:
        raise NetworkError(f"minutes must be positive numbers, got {list(minutes)!r}.")
    if method not in ISOCHRONE_METHODS:
        raise NetworkError(f"method must be one of {ISOCHRONE_METHODS}, got {method!r}.")
    if cell_m is None:
        cell_m = _default_cell_m(network)
    elif not (np.isfinite(cell_m) and cell_m > 0):
        raise NetworkError(f"cell_m must be a positive number of metres, got {cell_m!r}.")
    if not (isinstance(max_cells, (int, np.integer)) and max_cells >= 1024):
        raise NetworkError(f"max_cells must be an integer >= 1024, got {max_cells!r}.")
    return mins, float(cell_m)


def _isochrone_frame(
    facilities: gpd.GeoDataFrame,
    id_column: str,
    mins: list[float],
    wgs: np.ndarray,
    area: np.ndarray,
    tol: np.ndarray,
    same: np.ndarray,
) -> gpd.GeoDataFrame:
    """The polygons (thresholds x places, already in EPSG:4326, with their areas in km2 from
    the network's CRS) as :func:`isochrones` returns them, one row per facility and threshold:
    facility ``i`` has the polygons of place ``same[i]``."""
    n_fac = len(same)
    ids = facilities[id_column].to_numpy() if id_column in facilities.columns else np.arange(n_fac)
    rows = {
        id_column: np.tile(ids, len(mins)),
        "minutes": np.repeat(mins, n_fac),
    }
    if "tier" in facilities.columns:
        rows["tier"] = np.tile(facilities["tier"].to_numpy(), len(mins))
    out = gpd.GeoDataFrame(rows, geometry=wgs[:, same].ravel(), crs="EPSG:4326")
    out["area_km2"] = area[:, same].ravel()
    out["tolerance_m"] = tol[:, same].ravel()
    return out


#: Default grid cell of ``method="grid"`` per mode with the 500 m default ``access_max_m`` (metres).
_CELL_M = {"walk": 5.0, "ebike": 10.0, "drive": 15.0}


def _default_cell_m(network: Network) -> float:
    """Default grid cell of :func:`isochrones` (``method="grid"``) for this network, in metres."""
    scale = min(1.0, network.mode.access_max_m / 500.0)
    return max(1.0, _CELL_M.get(network.mode.name, 15.0) * scale)


def isochrones_by_tier(iso: gpd.GeoDataFrame, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Union of isochrones per tier and threshold (columns ``tier``, ``minutes``, ``area_km2``)."""
    if "tier" not in iso.columns:
        raise NetworkError(
            "isochrones have no 'tier' column. Fix: pass facilities with a tier column."
        )
    metric = crs or iso.estimate_utm_crs()
    g = iso.to_crs(metric)
    parts = []
    for (tier, m), grp in g.groupby(["tier", "minutes"], sort=True):
        parts.append((tier, m, shapely.union_all(grp.geometry.values)))
    out = gpd.GeoDataFrame(
        {"tier": [p[0] for p in parts], "minutes": [p[1] for p in parts]},
        geometry=[p[2] for p in parts],
        crs=metric,
    )
    out["area_km2"] = out.geometry.area / 1e6
    return out.to_crs("EPSG:4326")
