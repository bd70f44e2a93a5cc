"""Travel times to facilities: reach sets, nearest-facility times, isochrones and rasters.

Times run **from the resident to the facility**: the searches start at the facilities on the
reversed graph. A facility joins the network in the middle of its nearest edge, so each search is
seeded at both end nodes with the time of the partial edge plus the off-network leg, and a point on
the same edge as a facility may reach it directly along the edge.

Examples
--------
>>> import planner                                                     # doctest: +SKIP
>>> ds = planner.load_demo()                                           # doctest: +SKIP
>>> net = planner.build_network(ds.roads, mode="walk")                 # doctest: +SKIP
>>> iso = planner.isochrones(net, ds.facilities, minutes=(5, 10, 15))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from . import _engine, _isochrone
from ._cache import memo
from ._errors import InputError, InputFileError, NetworkError
from ._progress import Progress, report
from ._validate import check_bytes, check_minutes, format_bytes, max_bytes
from .network import Attachment, Network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sources:
    """Facilities joined to a network: seed sets for the reverse searches."""

    attachment: Attachment
    src_ptr: np.ndarray
    seed_nodes: np.ndarray
    seed_times: np.ndarray

    @property
    def reachable(self) -> np.ndarray:
        return self.attachment.reachable

    def __len__(self) -> int:
        return len(self.attachment)


def _coords_key(xy: np.ndarray) -> tuple[int, bytes]:
    """A key for a set of metric coordinates: its length and a 128-bit digest of the values
    (SHA-256, which CPUs run in hardware: twice as fast as BLAKE2b here, ~18 us for 2,000 points)."""
    data = np.ascontiguousarray(xy, dtype=np.float64)
    return len(data), hashlib.sha256(data.tobytes()).digest()[:16]


def joined(network: Network, points: Any) -> Attachment:
    """``network.snap(points)``, computed once per network and point coordinates.

    A repeated query with the same facilities or points (the app, a scenario sweep, a loop over
    thresholds) skips the spatial join, which costs ~40x the nearest-facility search itself on a
    city graph; only the projection to the network's CRS and a digest of the coordinates are
    paid again. The returned arrays are shared: do not modify them.
    """
    if isinstance(points, Attachment):
        return points
    return _joined(network, points)[0]


def _joined(network: Network, points: Any) -> tuple[Attachment, tuple[int, bytes]]:
    ident = _GeometryIdentity.of(points)
    if ident is not None:
        hit = ident.lookup(network)
        if hit is not None:
            return hit
    xy = points if isinstance(points, np.ndarray) else network.project(points)
    key = _coords_key(xy)
    out = memo(network, ("snap", *key), lambda: network.snap(xy)), key
    if ident is not None:
        ident.store(network, out)
    return out


#: Geometry arrays remembered per network by :class:`_GeometryIdentity` (most recent first).
_IDENTITY_ENTRIES = 8


class _GeometryIdentity:
    """The geometry objects of a GeoDataFrame/GeoSeries, recognised again by identity.

    A repeated query with the same frames (the app, a sweep over thresholds) paid for reading
    the coordinates back out of the shapely objects and digesting them (~0.13 ms of 0.40 ms for
    1,000 facilities and 2,000 points). Shapely geometries are immutable, so the same objects in
    the same order under the same CRS have the same coordinates: the object pointers (CPython's
    ``id``) are copied out of the object array in one memcpy and compared with the remembered
    ones. The entry holds a copy of the object array, so none of its objects can be freed and
    its id reused while it lives. A moved point (a new object), replaced geometry, dropped row,
    ``.loc`` assignment or other CRS misses, and the coordinates are read and digested as before.
    """

    __slots__ = ("crs", "objects", "ptrs")

    def __init__(self, objects: np.ndarray, crs: Any, ptrs: np.ndarray) -> None:
        self.objects, self.crs, self.ptrs = objects, crs, ptrs

    @classmethod
    def of(cls, points: Any) -> _GeometryIdentity | None:
        if isinstance(points, gpd.GeoDataFrame):
            g = _geometry_array(points)
        elif isinstance(points, gpd.GeoSeries):
            g = points.values
        else:
            return None
        arr = np.asarray(g)
        if arr.dtype != object or arr.ndim != 1 or not arr.flags.c_contiguous or g.crs is None:
            return None
        return cls(arr, g.crs, _object_pointers(arr))

    def lookup(self, network: Network) -> tuple[Attachment, tuple[int, bytes]] | None:
        entries: list[tuple[_GeometryIdentity, tuple[Attachment, tuple[int, bytes]]]] = memo(
            network, "geometry_identity", list
        )
        for i, (seen, out) in enumerate(entries):
            if (
                len(seen.ptrs) == len(self.ptrs)
                and np.array_equal(seen.ptrs, self.ptrs)
                and (seen.crs is self.crs or seen.crs == self.crs)
            ):
                if i:
                    entries.insert(0, entries.pop(i))
                return out
        return None

    def store(self, network: Network, out: tuple[Attachment, tuple[int, bytes]]) -> None:
        entries: list[tuple[_GeometryIdentity, tuple[Attachment, tuple[int, bytes]]]] = memo(
            network, "geometry_identity", list
        )
        # a copy: the caller's array may be modified in place (``.loc``), the copy holds the
        # objects whose pointers were taken
        entries.insert(0, (_GeometryIdentity(self.objects.copy(), self.crs, self.ptrs), out))
        del entries[_IDENTITY_ENTRIES:]


def _geometry_array(frame: gpd.GeoDataFrame) -> Any:
    """The active geometry column's GeometryArray, without building a GeoSeries (pandas'
    ``frame.geometry`` took 13 us warm, 0.17 ms after a ``gc.collect``: more than the search);
    ``frame.geometry.values`` when pandas' column accessor is not there or the name is ambiguous."""
    with contextlib.suppress(AttributeError, KeyError, TypeError):
        loc = frame.columns.get_loc(frame._geometry_column_name)
        if isinstance(loc, int):
            g = frame._get_column_array(loc)
            if isinstance(g, gpd.array.GeometryArray):
                return g
    return frame.geometry.values


def _object_pointers(arr: np.ndarray) -> np.ndarray:
    """The ``id`` of every object of a contiguous 1-d object array, copied in one go (an object
    array stores the pointers; ``map(id, arr)`` costs ~30 ns an element)."""
    n = len(arr)
    if not n:
        return np.zeros(0, dtype=np.intp)
    buf = (ctypes.c_ssize_t * n).from_address(arr.ctypes.data)
    return np.array(buf, dtype=np.intp, copy=True)


def facility_sources(network: Network, facilities: Any) -> Sources:
    """Join facilities to the network and build their seed sets (reverse direction).

    A facility farther than ``access_max_m`` from every road gets an empty seed set (it reaches
    nobody); :func:`planner.coverage.analyze` reports such facilities. The join and the seed
    sets are kept per network and facility coordinates (:func:`joined`).
    """
    if isinstance(facilities, Attachment):
        return _sources(facilities)
    att, key = _joined(network, facilities)
    return memo(network, ("facility_sources", *key), lambda: _sources(att))


def _sources(att: Attachment) -> Sources:
    n = len(att)
    # to reach the facility from node u one travels u->point: from_u_s
    nodes = np.column_stack([att.u, att.v]).ravel()
    times = np.column_stack([att.from_u_s, att.from_v_s]).ravel()
    ok = np.isfinite(times) & (nodes >= 0)
    counts = ok.reshape(n, 2).sum(axis=1)
    src_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=src_ptr[1:])
    # shared by every caller with the same facilities, but left writeable: numba compiles a
    # kernel once more for read-only arrays (a second signature costs seconds on a cold start)
    return Sources(att, src_ptr, nodes[ok].astype(np.int32), times[ok].astype(np.float64))


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


@dataclass(frozen=True)
class CoverageSets:
    """Which points each facility (or candidate site) reaches within ``cutoff_s``.

    ``time_s`` is a sparse CSR matrix (n_points x n_facilities) of travel times (point to
    facility) for the pairs within the cutoff; ``cover`` the same pattern as a 0/1 matrix.
    Dense matrices are never built.
    """

    time_s: Any
    cutoff_s: float

    @property
    def cover(self):
        from scipy import sparse

        m = self.time_s
        return sparse.csr_array((np.ones(m.nnz, dtype=np.int8), m.indices, m.indptr), shape=m.shape)

    @property
    def nnz(self) -> int:
        return int(self.time_s.nnz)


@dataclass(frozen=True, eq=False)
class _CoverJob:
    """What both coverage kernels need: seeds, demand attached to nodes, same-edge pairs."""

    network: Network
    src: Sources
    n_pts: int
    cutoff: float
    node_ptr: np.ndarray
    pid: np.ndarray
    tt: np.ndarray
    ex_ptr: np.ndarray
    ex_dem: np.ndarray
    ex_t: np.ndarray
    chunks: list

    @property
    def n_src(self) -> int:
        return len(self.src)

    @classmethod
    def prepare(cls, network, facilities, points, minutes, threads) -> _CoverJob:
        src = (
            facilities if isinstance(facilities, Sources) else facility_sources(network, facilities)
        )
        cutoff = check_minutes(minutes, name="minutes") * 60.0
        att = points if isinstance(points, Attachment) else network.snap(points)
        node_ptr, pid, tt = _demand_at_nodes(network, att)
        ex_ptr, ex_dem, ex_t = _direct_pairs(att, src, cutoff)
        return cls(
            network,
            src,
            len(att),
            cutoff,
            node_ptr,
            pid,
            tt,
            ex_ptr,
            ex_dem,
            ex_t,
            _source_chunks(len(src), threads),
        )

    def chunk_args(self, bounds: tuple[int, int]):
        """Kernel arguments for sources ``a:b``: (search and demand arrays, same-edge pairs)."""
        a, b = bounds
        src, net = self.src, self.network
        s0, s1 = src.src_ptr[a], src.src_ptr[b]
        e0, e1 = self.ex_ptr[a], self.ex_ptr[b]
        search = (
            net.rindptr,
            net.rindices,
            net.rweights,
            src.src_ptr[a : b + 1] - s0,
            src.seed_nodes[s0:s1],
            src.seed_times[s0:s1],
            self.cutoff,
            self.node_ptr,
            self.pid,
            self.tt,
        )
        direct = (self.ex_ptr[a : b + 1] - e0, self.ex_dem[e0:e1], self.ex_t[e0:e1])
        return search, direct


def coverage_sets(
    network: Network,
    facilities: Any,
    points: Any,
    *,
    minutes: float,
    threads: int = 2,
) -> CoverageSets:
    """Sparse point x facility travel times within ``minutes`` (for the siting optimizer).

    One bounded reverse search per facility; each reached node hands its time on to the points
    attached to it. Exact (same-edge pairs included) and never dense.
    """
    from scipy import sparse

    # -- engine (bench/bench_engine.py): direct pairs go into the kernel, a compiled transpose
    # replaces the lexsort; int32 columns, float64 times --------------------------------------
    job = _CoverJob.prepare(network, facilities, points, minutes, threads)
    n_pts, n_src, cutoff, chunks = job.n_pts, job.n_src, job.cutoff, job.chunks

    budget = _pair_budget(len(chunks), _COVER_PAIR_BYTES)
    delta = bucket_delta(network)

    def run(k: int):
        search, direct = job.chunk_args(chunks[k])
        kernel: Callable[..., Any] = _engine.cover_pairs  # a numba dispatcher: untyped
        return kernel(*search, n_pts, *direct, delta, budget, k)

    what = (
        f"the coverage sets of {n_src:,} facilities x {n_pts:,} points within {minutes:g} minutes"
    )
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        with _over_budget(what, budget, _COVER_PAIR_BYTES, "minutes="):
            parts = list(pool.map(run, range(len(chunks))))
    counts = np.zeros(n_pts, dtype=np.int64)
    for _ptr, d, _t in parts:
        counts += np.bincount(d, minlength=n_pts)
    indptr = np.zeros(n_pts + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    data = np.empty(int(indptr[-1]))
    fill = indptr[:-1].copy()
    for k, (a, _b) in enumerate(chunks):
        ptr, d, t = parts[k]
        _engine.scatter_pairs(ptr, d, t, a, fill, indices, data)
        parts[k] = None  # free each chunk's pairs once they are in place
    mat = sparse.csr_array((data, indices, indptr), shape=(n_pts, n_src))
    return CoverageSets(mat, cutoff)


def _demand_at_nodes(network: Network, att: Attachment):
    """Points listed at the nodes they join: ``pid[node_ptr[v]:node_ptr[v+1]]`` with times ``tt``."""
    ok = np.flatnonzero(att.reachable)
    node = np.concatenate([att.u[ok], att.v[ok]]).astype(np.int64)
    pid = np.concatenate([ok, ok]).astype(np.int64)
    tt = np.concatenate([att.to_u_s[ok], att.to_v_s[ok]])
    fin = np.isfinite(tt)
    node, pid, tt = node[fin], pid[fin], tt[fin]
    order = np.argsort(node, kind="stable")
    node, pid, tt = node[order], pid[order], tt[order]
    node_ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(node, minlength=network.n_nodes), out=node_ptr[1:])
    return node_ptr, pid, tt


def _direct_pairs(att: Attachment, src: Sources, cutoff: float):
    """Same-edge (point, facility) pairs within ``cutoff``, grouped by facility (CSR)."""
    sp, sf, st_ = _same_edge_pairs(att, src.attachment)
    keep = st_ <= cutoff
    sp, sf, st_ = sp[keep], sf[keep], st_[keep]
    o = np.argsort(sf, kind="stable")
    ptr = np.zeros(len(src) + 1, dtype=np.int64)
    np.cumsum(np.bincount(sf, minlength=len(src)), out=ptr[1:])
    return ptr, sp[o].astype(np.int64), st_[o].astype(np.float64)


@dataclass(frozen=True)
class CoverageBits:
    """Which points each facility reaches within ``cutoff_s``, as a packed bitset.

    ``bits`` is (n_facilities x ceil(n_points / 64)) uint64: row ``j`` holds the points facility
    ``j`` covers, point ``i`` in bit ``i % 64`` of word ``i // 64``. 100k points x 5k sites take
    63 MB whatever the density (a CSR of a 15-minute drive's ~85M pairs with times: ~1 GB).
    """

    bits: np.ndarray
    n_points: int
    cutoff_s: float

    @property
    def shape(self) -> tuple[int, int]:
        """(n_points, n_facilities), as :attr:`CoverageSets.time_s`."""
        return (self.n_points, int(self.bits.shape[0]))

    @property
    def nnz(self) -> int:
        return int(self.facility_counts().sum())

    def facility_counts(self) -> np.ndarray:
        """Points within reach of each facility."""
        if hasattr(np, "bitwise_count"):  # numpy >= 2
            return np.bitwise_count(self.bits).sum(axis=1, dtype=np.int64)
        return self._unpack(0, self.bits.shape[0]).sum(axis=1, dtype=np.int64)

    def point_counts(self) -> np.ndarray:
        """Facilities within reach of each point."""
        out = np.zeros(self.n_points, dtype=np.int64)
        for a in range(0, self.bits.shape[0], 256):
            out += self._unpack(a, min(a + 256, self.bits.shape[0])).sum(axis=0, dtype=np.int64)
        return out

    def point_bits(self) -> np.ndarray:
        """The transpose, (n_points x ceil(n_facilities / 64)) uint64: row ``i`` holds the
        facilities that cover point ``i``."""
        n_fac = self.bits.shape[0]
        out = np.zeros((self.n_points, (n_fac + 63) // 64), dtype=np.uint64)
        for w, a in enumerate(range(0, n_fac, 64)):
            block = np.zeros((64, self.n_points), dtype=np.uint8)
            block[: min(64, n_fac - a)] = self._unpack(a, min(a + 64, n_fac))
            packed = np.packbits(block, axis=0, bitorder="little")  # (8, n_points)
            out[:, w] = np.ascontiguousarray(packed.T).view(np.uint64).ravel()
        return out

    def covers(self, facility: int) -> np.ndarray:
        """Indices of the points ``facility`` covers."""
        return np.flatnonzero(self._unpack(facility, facility + 1)[0])

    def to_dense(self) -> np.ndarray:
        """(n_points x n_facilities) bool; for small cases and tests."""
        return self._unpack(0, self.bits.shape[0]).T.astype(bool)

    def _unpack(self, a: int, b: int) -> np.ndarray:
        rows = np.ascontiguousarray(self.bits[a:b]).view(np.uint8)
        return np.unpackbits(rows, axis=1, bitorder="little")[:, : self.n_points]


def coverage_bitset(
    network: Network,
    facilities: Any,
    points: Any,
    *,
    minutes: float,
    threads: int = 2,
) -> CoverageBits:
    """:func:`coverage_sets` without the times, as a packed bitset (for dense drive coverage).

    Same pairs as ``coverage_sets(...).cover``; memory is n_points x n_facilities / 8 bytes
    whatever the density.
    """
    job = _CoverJob.prepare(network, facilities, points, minutes, threads)
    words = (job.n_pts + 63) // 64
    check_bytes(
        8.0 * job.n_src * words,
        what=f"a coverage bitset of {job.n_src:,} facilities x {job.n_pts:,} points",
        fix="pass fewer facilities or points at once",
    )
    bits = np.zeros((job.n_src, words), dtype=np.uint64)
    chunks = job.chunks
    delta = bucket_delta(network)

    def run(bounds):
        search, direct = job.chunk_args(bounds)
        return _engine.cover_bits(*search, bits, bounds[0], *direct, delta)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(run, chunks))
    return CoverageBits(bits, job.n_pts, job.cutoff)


# -- end engine ----------------------------------------------------------------------------------


def _edge_time(att: Attachment, direction: str, idx: np.ndarray) -> np.ndarray:
    """Full edge time in one direction, recovered from the attachment's partial times."""
    # to_v = access + (1-frac) t_uv and from_u = access + frac t_uv -> t_uv = (to_v - a) + (from_u - a)
    a = att.access_s[idx]
    if direction == "uv":
        return (att.to_v_s[idx] - a) + (att.from_u_s[idx] - a)
    return (att.to_u_s[idx] - a) + (att.from_v_s[idx] - a)


def _ranges(counts: np.ndarray) -> np.ndarray:
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


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
                network, seg, inc_ptr, inc_edge, nodes[sel], times[sel], budget, fac_att, i
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
        return b - a

    done = 0
    # chunks of at most ISO_CHUNK facilities, at least two per thread
    n_chunks = max(2 * max(1, threads), -(-n_fac // ISO_CHUNK))
    chunks = _chunks(n_fac, max(1, min(n_fac, n_chunks)))
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


# -- raster ---------------------------------------------------------------------------------------

#: Bytes per cell a raster holds until it is written: the float32 minutes, and
#: :func:`planner.report.write_raster`'s mask and float32 copies (measured peak on the demo).
RASTER_BYTES_PER_CELL = 13
#: Bytes of the spatial join of one batch of cells (:data:`_RASTER_CHUNK` cells), whatever the grid.
_RASTER_CHUNK_BYTES = 400 * 2**20
#: Cells joined to the network per batch (bounds the temporaries of the spatial join).
_RASTER_CHUNK = 1 << 20


@dataclass(frozen=True)
class RasterGrid:
    """A raster grid: an affine ``transform`` (of the upper-left corner), ``shape`` (rows,
    columns) and ``crs``. Cell ``(r, c)`` has its centre at ``transform * (c + 0.5, r + 0.5)``.

    Use :meth:`from_file` to take the grid of another raster (AccessMod, HiAccess or ArcGIS
    output) and write :func:`travel_time_raster` on it, cell for cell.
    """

    transform: Any
    shape: tuple[int, int]
    crs: Any

    def __post_init__(self) -> None:
        from affine import Affine

        rows, cols = (int(v) for v in self.shape)
        if rows < 1 or cols < 1:
            raise InputError(
                f"a raster grid needs at least one row and one column, got shape {self.shape!r}."
            )
        t = Affine(*tuple(self.transform)[:6])
        if t.is_degenerate:
            raise InputError(
                f"the raster grid's transform {tuple(t)[:6]} is degenerate (a cell of zero area)."
            )
        if self.crs is None:
            raise InputError(
                "the raster grid has no CRS. Fix: give its coordinate system (e.g. EPSG:32649)."
            )
        object.__setattr__(self, "shape", (rows, cols))
        object.__setattr__(self, "transform", t)
        object.__setattr__(self, "crs", pyproj.CRS.from_user_input(self.crs))

    @classmethod
    def from_file(cls, path: str | Path) -> RasterGrid:
        """The grid of a raster file (GeoTIFF or any format GDAL reads); only the header is read."""
        import rasterio

        path = Path(path)
        if not path.is_file():
            raise InputFileError(
                f"raster {path} not found. Fix: give the path of an existing raster (e.g. a GeoTIFF)."
            )
        try:
            with rasterio.open(path) as src:
                transform, shape, crs = src.transform, (src.height, src.width), src.crs
        except rasterio.errors.RasterioError as exc:
            raise InputFileError(
                f"{path} cannot be read as a raster ({exc}). Fix: give a GeoTIFF or another GDAL raster."
            ) from exc
        if crs is None:
            raise InputError(
                f"raster {path} has no coordinate system. Fix: set one (e.g. gdal_edit.py -a_srs EPSG:32649 {path.name})."
            )
        return cls(transform, shape, pyproj.CRS.from_wkt(crs.to_wkt()))

    @property
    def n_cells(self) -> int:
        return self.shape[0] * self.shape[1]

    def centres(self, rows: slice | None = None) -> np.ndarray:
        """(n, 2) x, y of the cell centres of ``rows`` (all rows by default), row by row, in ``crs``."""
        r0, r1, _ = (rows or slice(None)).indices(self.shape[0])
        cc, rr = np.meshgrid(np.arange(self.shape[1]) + 0.5, np.arange(r0, r1) + 0.5)
        t = self.transform
        return np.column_stack(
            [(t.a * cc + t.b * rr + t.c).ravel(), (t.d * cc + t.e * rr + t.f).ravel()]
        )


def raster_grid(
    network: Network,
    *,
    cell_m: float = 100.0,
    bounds: tuple[float, float, float, float] | None = None,
    access_max_m: float | None = None,
) -> RasterGrid:
    """The default grid of :func:`travel_time_raster`: square ``cell_m`` cells in ``network.crs``.

    It covers ``bounds`` when given, else the road nodes grown by ``access_max_m`` (default: the
    mode's), so every cell that can be joined to a road lies inside it.
    """
    from affine import Affine

    if not (np.isfinite(cell_m) and cell_m > 0):
        raise NetworkError(f"cell_m must be a positive number of metres, got {cell_m!r}.")
    if bounds is None:
        pad = network.mode.access_max_m if access_max_m is None else float(access_max_m)
        if network.n_nodes == 0:
            raise NetworkError("the network has no nodes: give bounds= for the raster.")
        minx, miny = network.node_xy.min(axis=0) - pad
        maxx, maxy = network.node_xy.max(axis=0) + pad
    else:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        if not (np.isfinite([minx, miny, maxx, maxy]).all() and maxx >= minx and maxy >= miny):
            raise NetworkError(
                f"bounds must be finite (minx, miny, maxx, maxy) with max >= min, got {bounds!r}."
            )
    ncol = max(1, int(np.ceil((maxx - minx) / cell_m)))
    nrow = max(1, int(np.ceil((maxy - miny) / cell_m)))
    _check_cells(nrow * ncol, f"a {cell_m:g} m raster over this area", cell_m)
    return RasterGrid(Affine(cell_m, 0, minx, 0, -cell_m, maxy), (nrow, ncol), network.crs)


def _raster_bytes(n_cells: int) -> float:
    """Peak memory of :func:`travel_time_raster` and writing its result, estimated from the size."""
    return (
        float(n_cells) * RASTER_BYTES_PER_CELL
        + min(n_cells, _RASTER_CHUNK) * _RASTER_CHUNK_BYTES / _RASTER_CHUNK
    )


def _check_cells(n: int, what: str, cell_m: float | None = None) -> None:
    """Refuse, before allocating, a raster whose estimated memory passes
    :func:`planner._validate.max_bytes`; name a cell size that would fit when ``cell_m`` is known."""
    need = _raster_bytes(n)
    room = max_bytes() - _RASTER_CHUNK_BYTES
    if need <= max_bytes():
        return
    if cell_m is not None and room > 0:
        # cells scale as 1 / cell_m**2; two significant digits, rounded up
        fit = cell_m * float(np.sqrt(n * RASTER_BYTES_PER_CELL / room))
        mag = 10.0 ** np.floor(np.log10(fit) - 1)
        fix = f"use cells of at least {np.ceil(fit / mag) * mag:g} m (cell_m=) or a smaller area (bounds=)"
    else:
        fix = "use a coarser grid or a smaller area"
    check_bytes(need, what=f"{what} ({n:,} cells)", fix=fix, error=NetworkError)


def travel_time_raster(
    network: Network,
    facilities: Any,
    *,
    cell_m: float = 100.0,
    bounds: tuple[float, float, float, float] | None = None,
    like: RasterGrid | str | Path | None = None,
    access_max_m: float | None = None,
    max_minutes: float | None = None,
) -> tuple[np.ndarray, Any, Any]:
    """Minutes to the nearest facility on a regular grid (cell centres joined to the network).

    Each cell centre joins its nearest usable road if one lies within ``access_max_m`` (the
    straight-line part at the mode's off-network speed, as homes join), and gets the travel time
    from there to the nearest facility; cells farther from every road, or whose road reaches no
    facility, are NaN.

    Parameters
    ----------
    cell_m : float
        Cell size in metres (grid in ``network.crs``).
    bounds : (minx, miny, maxx, maxy), optional
        In ``network.crs``. Default: the road nodes grown by ``access_max_m`` on every side, so
        cells beyond the outermost road that can still reach it get a value. :func:`planner.write_outputs`
        passes the boundaries' extent when there are boundaries.
    like : RasterGrid or path, optional
        Write on this grid instead (a :class:`RasterGrid` or the path of a raster whose
        transform, size and CRS are taken), so the result can be compared cell by cell with
        another model's raster. ``cell_m`` and ``bounds`` are then not used.
    access_max_m : float, optional
        The snap tolerance: the longest straight-line join from a cell centre to a road, in
        metres (default: the mode's ``access_max_m``, as for homes and facilities).
    max_minutes : float, optional
        Stop searching beyond this time (farther cells are NaN).

    Returns
    -------
    (array, transform, crs)
        float32 minutes of shape (rows, columns), NaN where no facility is reachable; the grid's
        affine transform and CRS, ready for :func:`planner.report.write_raster`.

    Examples
    --------
    >>> import planner                                                         # doctest: +SKIP
    >>> ds = planner.load_demo()                                               # doctest: +SKIP
    >>> net = planner.build_network(ds.roads, mode="walk")                     # doctest: +SKIP
    >>> arr, transform, crs = planner.travel_time_raster(net, ds.facilities, cell_m=200)  # doctest: +SKIP
    >>> arr2, *_ = planner.travel_time_raster(net, ds.facilities, like="accessmod.tif")   # doctest: +SKIP
    """
    snap_m = network.mode.access_max_m if access_max_m is None else float(access_max_m)
    if not (np.isfinite(snap_m) and snap_m >= 0):
        raise NetworkError(f"access_max_m must be a number of metres >= 0, got {access_max_m!r}.")
    if like is not None:
        if bounds is not None:
            raise NetworkError("give either bounds= or like= for the raster, not both.")
        grid = like if isinstance(like, RasterGrid) else RasterGrid.from_file(like)
        _check_cells(grid.n_cells, "the raster grid given (like=)")
    else:
        grid = raster_grid(network, cell_m=cell_m, bounds=bounds, access_max_m=snap_m)
    t0 = time.perf_counter()
    src = facilities if isinstance(facilities, Sources) else facility_sources(network, facilities)
    dist, label = node_nearest(network, src, max_minutes=max_minutes)
    to_net = None
    if not grid.crs.equals(network.crs):
        to_net = pyproj.Transformer.from_crs(grid.crs, network.crs, always_xy=True)
    rows, cols = grid.shape
    out = np.full(grid.n_cells, np.nan, dtype=np.float32)
    step = max(1, _RASTER_CHUNK // cols)
    for r0 in range(0, rows, step):  # a batch of rows at a time: memory bounded whatever the grid
        xy = grid.centres(slice(r0, min(rows, r0 + step)))
        if to_net is not None:
            x, y = to_net.transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([x, y])
        ok = np.isfinite(xy).all(axis=1)  # cells the projection cannot map stay NaN
        att = network.snap(xy[ok], access_max_m=snap_m)
        best, _who = _combine(att, dist, label)
        best, _who = _same_edge(att, src.attachment, best, _who)
        if max_minutes is not None:
            best[best > float(max_minutes) * 60.0] = np.inf
        vals = np.full(len(xy), np.nan)
        vals[ok] = np.where(np.isfinite(best), best / 60.0, np.nan)
        out[r0 * cols : r0 * cols + len(xy)] = vals
    log.info(
        "travel-time raster: %d x %d cells, %.1f %% with a value, in %.2f s",
        rows,
        cols,
        100.0 * float(np.isfinite(out).mean()),
        time.perf_counter() - t0,
    )
    return out.reshape(rows, cols), grid.transform, grid.crs
