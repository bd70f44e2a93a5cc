"""Reach sets and nearest-facility times: the reverse searches from the facilities.

Part of :mod:`planner.access`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _engine
from .._cache import memo
from .._errors import InputError
from .._progress import Progress, report
from .._validate import check_minutes, format_bytes, max_bytes
from ..network import Attachment, Network
from .sources import Sources, _edge_time, _ranges, facility_sources, joined

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reach:
    """Nodes each facility is reachable from within ``cutoff_s`` (CSR-like).

    ``nodes[ptr[i]:ptr[i+1]]`` are the nodes from which facility ``i`` is reached, with the
    travel times ``time_s`` (node to facility), sorted by time.
    """

    ptr: np.ndarray
    nodes: np.ndarray
    time_s: np.ndarray
    cutoff_s: float

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.ptr[i], self.ptr[i + 1]
        return self.nodes[a:b], self.time_s[a:b]


def reach(
    network: Network,
    facilities: Any,
    *,
    minutes: float = 15.0,
    threads: int = 2,
    progress: Progress | None = None,
) -> Reach:
    """Bounded reverse searches from every facility: the nodes within ``minutes`` of each.

    Cost grows with the nodes reached, not with the graph's size. Work is split across
    ``threads`` (the kernels release the GIL).
    """
    minutes = check_minutes(minutes, name="minutes")
    src = facilities if isinstance(facilities, Sources) else facility_sources(network, facilities)
    cutoff = minutes * 60.0
    n = len(src)
    t0 = time.perf_counter()
    # -- engine (bench/bench_engine.py): sources go to the threads in Hilbert order of their
    # first seed (neighbouring searches share cache); each chunk's results stay in its buffer
    # and one compiled gather writes them in place -------------------------------------------
    counts = np.diff(src.src_ptr)
    first_seed = np.zeros(n, dtype=np.int64)
    if len(src.seed_nodes):
        first_seed = src.seed_nodes[np.minimum(src.src_ptr[:-1], len(src.seed_nodes) - 1)]
    by_space = np.argsort(np.where(counts > 0, first_seed, -1), kind="stable")
    s_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts[by_space], out=s_ptr[1:])
    pick = np.repeat(src.src_ptr[:-1][by_space], counts[by_space]) + _ranges(counts[by_space])
    s_nodes, s_times = src.seed_nodes[pick], src.seed_times[pick]
    chunks = _source_chunks(n, threads)
    # the output is only known as it is found (a threshold beyond the network's reach: every
    # node of a facility's piece, for every facility): the kernels stop at the memory limit
    budget = _pair_budget(len(chunks), _REACH_PAIR_BYTES)
    delta = bucket_delta(network)

    def run(k: int):
        a, b = chunks[k]
        return _engine.reach_runs(
            network.rindptr,
            network.rindices,
            network.rweights,
            s_ptr[a : b + 1] - s_ptr[a],
            s_nodes[s_ptr[a] : s_ptr[b]],
            s_times[s_ptr[a] : s_ptr[b]],
            cutoff,
            delta,
            budget,
            k,
        )

    parts = []
    with _pool(threads, len(chunks)) as pool:
        with _over_budget(
            f"the reach sets of {n:,} facilities within {minutes:g} minutes",
            budget,
            _REACH_PAIR_BYTES,
            "minutes=",
        ):
            for k, part in enumerate(pool.map(run, range(len(chunks)))):
                parts.append(part)
                report(progress, "reach", (k + 1) / len(chunks))
        sizes = np.zeros(n, dtype=np.int64)
        for (a, b), part in zip(chunks, parts, strict=True):
            sizes[by_space[a:b]] = part[1]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        nodes = np.empty(int(ptr[-1]), dtype=np.int32)
        times = np.empty(int(ptr[-1]))

        def place(k: int) -> None:
            a, b = chunks[k]
            start, count, buf_n, buf_t = parts[k]
            _engine.gather_runs(start, count, buf_n, buf_t, by_space[a:b], ptr, nodes, times)
            parts[k] = None

        list(pool.map(place, range(len(chunks))))
    out = Reach(ptr, nodes, times, cutoff)
    # -- end engine --------------------------------------------------------------------------
    log.info(
        "reach: %d facilities, %s node-times within %.0f min in %.2f s",
        n,
        f"{len(out.nodes):,}",
        minutes,
        time.perf_counter() - t0,
    )
    return out


#: Peak bytes per (node, time) pair of :func:`reach` (kernel buffers as they grow, then the result).
_REACH_PAIR_BYTES = 32
#: Peak bytes per (point, facility, time) pair of :func:`coverage_sets` (kernel buffers, the
#: gathered pairs, then the CSR).
_COVER_PAIR_BYTES = 40


def bucket_delta(network: Network) -> float:
    """The bucket width of the reverse searches on ``network``
    (:func:`planner._engine.default_delta` of its reverse arc times), computed once per network.

    The kernels compute it when given none; on a city graph that was more than half of a
    nearest-facility search (a stable sort of up to 4,096 sampled arc times, ~0.13 ms of 0.23 ms
    on the 3,487-node Helsinki walk graph). The same width, so the same answers.
    """
    return memo(network, "bucket_delta", lambda: float(_engine.default_delta(network.rweights)))


def _pair_budget(n_chunks: int, pair_bytes: int) -> np.ndarray:
    """The kernels' shared output bound: most pairs under :func:`planner._validate.max_bytes`,
    then one running count per chunk."""
    budget = np.zeros(n_chunks + 1, dtype=np.int64)
    budget[0] = max_bytes() // pair_bytes
    return budget


@contextlib.contextmanager
def _over_budget(what: str, budget: np.ndarray, pair_bytes: int, param: str):
    """Turn a kernel's :class:`planner._engine.OutputTooLarge` into an error naming ``param``."""
    try:
        yield
    except _engine.OutputTooLarge:
        raise InputError(
            f"{what} would need more than {format_bytes(int(budget[0]) * pair_bytes)} of memory "
            f"(the limit). Fix: give a smaller {param}, fewer facilities at once, or raise the limit "
            f"with the environment variable PLANNER_MAX_BYTES (e.g. PLANNER_MAX_BYTES=16G)."
        ) from None


class _InThread:
    """An executor's ``map`` run in the calling thread."""

    @staticmethod
    def map(fn: Callable[[int], Any], items: Any) -> Any:
        return map(fn, items)


def _pool(threads: int, n_chunks: int) -> contextlib.AbstractContextManager[Any]:
    """A thread pool for the chunks, or none for a single chunk or thread (a pool's threads
    cost ~0.5 ms per call: a third of a 16-facility reach on a city graph, which
    :func:`isochrones` makes for every 16 facilities)."""
    if threads <= 1 or n_chunks <= 1:
        return contextlib.nullcontext(_InThread())
    return ThreadPoolExecutor(max_workers=threads)


def _source_chunks(n: int, threads: int) -> list[tuple[int, int]]:
    """Work units for the thread pool: four per thread, one for small batches."""
    return _chunks(n, max(1, threads) * 4 if n > 64 else 1)


def _chunks(n: int, k: int) -> list[tuple[int, int]]:
    k = max(1, min(k, n)) if n else 1
    edges = np.linspace(0, n, k + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


@dataclass(frozen=True)
class NearestResult:
    """Time from each point to its nearest facility (``inf`` when none is reachable)."""

    time_s: np.ndarray
    facility: np.ndarray  # position of the nearest facility in the input, -1 if none
    attachment: Attachment

    @property
    def minutes(self) -> np.ndarray:
        return self.time_s / 60.0


def node_nearest(network: Network, sources: Sources, *, max_minutes: float | None = None):
    """Multi-source reverse search: for every node the time to the nearest facility and which."""
    labels = memo(
        sources,
        "seed_labels",
        lambda: np.repeat(np.arange(len(sources), dtype=np.int64), np.diff(sources.src_ptr)),
    )
    cutoff = (
        np.inf if max_minutes is None else check_minutes(max_minutes, name="max_minutes") * 60.0
    )
    return _engine.nearest_source(
        network.rindptr,
        network.rindices,
        network.rweights,
        sources.seed_nodes,
        sources.seed_times,
        labels,
        cutoff,
        bucket_delta(network),
    )


def nearest_facility(
    network: Network,
    facilities: Any,
    points: Any,
    *,
    max_minutes: float | None = None,
) -> NearestResult:
    """Time from every point to the nearest facility, on the network.

    Parameters
    ----------
    network : Network
    facilities : GeoDataFrame, Attachment or Sources
    points : GeoDataFrame/GeoSeries (any CRS; polygons use a point on their surface), or an
        :class:`~planner.network.Attachment` from ``network.snap``.
    max_minutes : float, optional
        Stop searching beyond this time (faster; farther points get ``inf``).

    Returns
    -------
    NearestResult
        ``time_s`` and ``facility`` (index into ``facilities``) per point.
    """
    src = facilities if isinstance(facilities, Sources) else facility_sources(network, facilities)
    att = joined(network, points)
    dist, label = node_nearest(network, src, max_minutes=max_minutes)
    best, who = _combine(att, dist, label)
    best, who = _same_edge(att, src.attachment, best, who)
    if max_minutes is not None:
        far = best > float(max_minutes) * 60.0
        best[far], who[far] = np.inf, -1
    return NearestResult(best, who, att)


def _combine(att: Attachment, dist: np.ndarray, label: np.ndarray):
    n = len(att)
    best = np.full(n, np.inf)
    who = np.full(n, -1, dtype=np.int64)
    reachable = att.reachable
    # every point joined (the usual case): whole arrays, no copies of the join's
    ok: Any = slice(None) if reachable.all() else reachable
    u, v = att.u[ok], att.v[ok]
    tu = att.to_u_s[ok] + dist[u]
    tv = att.to_v_s[ok] + dist[v]
    pick_v = tv < tu
    t = np.where(pick_v, tv, tu)
    lab = np.where(pick_v, label[v], label[u])
    best[ok] = t
    who[ok] = np.where(np.isfinite(t), lab, -1)
    return best, who


def _same_edge_pairs(pts: Attachment, fac: Attachment):
    """(point, facility, time) for points on the same edge as a facility, direct along the edge."""
    order, first = memo(fac, "facilities_by_edge", lambda: _facilities_by_edge(fac.edge))
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if not len(order):
        return empty
    pe = pts.edge
    cand = np.flatnonzero((pe >= 0) & (pe < len(first) - 1))
    lo = first[pe[cand]]
    counts = first[pe[cand] + 1] - lo
    has = counts > 0
    cand, lo, counts = cand[has], lo[has], counts[has]
    if not len(cand):
        return empty
    p = np.repeat(cand, counts)
    f = order[np.repeat(lo, counts) + _ranges(counts)]
    dfrac = fac.frac[f] - pts.frac[p]
    t_uv = _edge_time(pts, "uv", p)
    t_vu = _edge_time(pts, "vu", p)
    with np.errstate(invalid="ignore"):
        along = np.where(dfrac > 0, dfrac * t_uv, np.where(dfrac < 0, -dfrac * t_vu, 0.0))
    t = pts.access_s[p] + along + fac.access_s[f]
    ok = np.isfinite(t)
    return p[ok], f[ok].astype(np.int64), t[ok]


def _facilities_by_edge(edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The joined facilities grouped by edge: ``order[first[e]:first[e + 1]]`` are on edge ``e``.

    A lookup per point instead of two binary searches, kept with the attachment (the same
    facilities meet many point sets).
    """
    ok = np.flatnonzero(edge >= 0)
    order = ok[np.argsort(edge[ok], kind="stable")]
    n_edges = int(edge[ok].max()) + 1 if len(ok) else 0
    first = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge[ok], minlength=n_edges), out=first[1:])
    return order, first


def _pairs_by_point(pts: Attachment, fac: Attachment):
    """:func:`_same_edge_pairs` sorted by point, then time (stably: several facilities on one edge)."""
    p, f, t = _same_edge_pairs(pts, fac)
    o = np.lexsort((t, p))
    return p[o], f[o], t[o]


def _same_edge(pts: Attachment, fac: Attachment, best: np.ndarray, who: np.ndarray):
    """Points on the same edge as a facility may reach it directly along the edge."""
    # the pairs depend on the two joins alone (each kept per network and coordinates): kept with
    # the points' join, keyed by the facilities' join, which the entry holds (so its id cannot
    # be reused by another object while the entry lives)
    _fac, p, f, t = memo(pts, ("same_edge", id(fac)), lambda: (fac, *_pairs_by_point(pts, fac)))
    better = t < best[p]
    if better.any():
        # sorted by point, then time: the first pair left per point is its fastest
        p, f, t = p[better], f[better], t[better]
        first = np.ones(len(p), dtype=bool)
        first[1:] = p[1:] != p[:-1]
        p, f, t = p[first], f[first], t[first]
        best[p] = t
        who[p] = f
    return best, who
