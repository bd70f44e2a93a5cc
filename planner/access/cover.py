"""Coverage sets: which demand points each candidate site reaches within a threshold (pairs with times, or a packed bitset).

Part of :mod:`planner.access`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _engine
from .._validate import check_bytes, check_minutes
from ..network import Attachment, Network
from .search import (
    _COVER_PAIR_BYTES,
    _over_budget,
    _pair_budget,
    _same_edge_pairs,
    _source_chunks,
    bucket_delta,
)
from .sources import Sources, facility_sources

log = logging.getLogger(__name__)


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
