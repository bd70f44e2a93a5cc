"""The compiled kernels of planner._engine against networkx, and against each other.

Random CSR graphs with one-way arcs, zero-weight and parallel arcs, disconnected parts and seed
sets with offsets; the bucket-queue kernels must give Dijkstra's answers (to 1e-9 s; in practice
the same floating-point sums), for any bucket width.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from _kernels import sorted_search
from conftest import UTM, random_roads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import _engine as E
from planner.access import (
    coverage_bitset,
    coverage_sets,
    facility_sources,
    node_nearest,
    reach,
)
from planner.network import build_network

TOL = 1e-9
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- random graphs --------------------------------------------------------------------------------


def random_graph(seed: int, *, integer: bool = False):
    """CSR arrays of a random directed graph in two disconnected parts, with parallel arcs,
    zero-weight arcs and one-way arcs (most arcs have no reverse)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    cut = int(rng.integers(1, n))  # nodes [0, cut) and [cut, n) are never joined
    m = int(rng.integers(0, 4 * n))
    a = rng.integers(0, n, size=m)
    b = np.where(a < cut, rng.integers(0, cut, size=m), rng.integers(cut, n, size=m))
    if integer:
        w = rng.integers(0, 6, size=m).astype(float)
    else:
        w = np.round(rng.exponential(10.0, size=m), int(rng.integers(0, 4)))
        w[rng.random(m) < 0.1] = 0.0
    # parallel arcs: repeat some arcs with another weight
    rep = rng.random(m) < 0.15
    a = np.concatenate([a, a[rep]])
    b = np.concatenate([b, b[rep]])
    w = np.concatenate([w, w[rep] * rng.uniform(0.5, 2.0, size=int(rep.sum()))])
    # self loops are allowed (harmless)
    order = np.lexsort((b, a))
    a, b, w = a[order], b[order], w[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return indptr, b.astype(np.int32), w.astype(np.float64)


def random_sources(seed: int, n: int, *, integer: bool = False, n_src: int | None = None):
    """Seed sets (CSR): 0-3 seeds per source, offsets >= 0, some seeds repeated."""
    rng = np.random.default_rng(seed + 1)
    n_src = int(rng.integers(1, 8)) if n_src is None else n_src
    counts = rng.integers(0, 4, size=n_src)
    ptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    nodes = rng.integers(0, n, size=int(ptr[-1])).astype(np.int32)
    times = (
        rng.integers(0, 8, size=len(nodes)).astype(float)
        if integer
        else np.round(rng.exponential(5.0, size=len(nodes)), 2) * (rng.random(len(nodes)) < 0.7)
    )
    return ptr, nodes, times


def nx_graph(indptr, indices, weights) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(len(indptr) - 1))
    src = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    for a, b, w in zip(src.tolist(), indices.tolist(), weights.tolist(), strict=True):
        if not g.has_edge(a, b) or g[a][b]["w"] > w:
            g.add_edge(a, b, w=w)
    return g


def nx_reach(g: nx.DiGraph, nodes, times, cutoff) -> dict[int, float]:
    """Times from a seed set (super source with an arc of the seed's offset to each seed)."""
    h = g.copy()
    h.add_node("s")
    for v, t in zip(nodes.tolist(), times.tolist(), strict=True):
        if not h.has_edge("s", v) or h["s"][v]["w"] > t:
            h.add_edge("s", v, w=t)
    out = nx.single_source_dijkstra_path_length(h, "s", cutoff=cutoff, weight="w")
    out.pop("s")
    return out


def as_dict(ptr, nodes, times, i) -> dict[int, float]:
    a, b = ptr[i], ptr[i + 1]
    d = dict(zip(nodes[a:b].tolist(), times[a:b].tolist(), strict=True))
    assert len(d) == b - a, "a node is listed twice"
    return d


def assert_same(got: dict, ref: dict) -> None:
    assert got.keys() == ref.keys()
    for k, v in ref.items():
        assert abs(got[k] - v) <= TOL, (k, got[k], v)


# -- reach sets -----------------------------------------------------------------------------------


@SETTINGS
@given(
    seed=st.integers(0, 2**31),
    cutoff=st.sampled_from([0.0, 3.0, 17.5, 60.0, np.inf]),
    delta=st.sampled_from([0.0, 1e-3, 0.7, 5.0, 1e4]),
)
def test_reach_equals_networkx(seed, cutoff, delta):
    indptr, indices, weights = random_graph(seed)
    ptr, nodes, times = random_sources(seed, len(indptr) - 1)
    g = nx_graph(indptr, indices, weights)
    out = E.reach_batch(indptr, indices, weights, ptr, nodes, times, cutoff, delta)
    heap = E.reach_batch_heap(indptr, indices, weights, ptr, nodes, times, cutoff)
    assert np.array_equal(out[0], heap[0])
    for i in range(len(ptr) - 1):
        a, b = ptr[i], ptr[i + 1]
        ref = nx_reach(g, nodes[a:b], times[a:b], cutoff)
        assert_same(as_dict(*out, i), ref)
        assert_same(as_dict(*heap, i), ref)
        t = out[2][out[0][i] : out[0][i + 1]]
        assert np.all(np.diff(t) >= 0), "reach sets are sorted by time"


@SETTINGS
@given(seed=st.integers(0, 2**31))
def test_bucket_and_heap_give_identical_times(seed):
    """Not just within 1e-9: the same floating-point sums, for any bucket width."""
    indptr, indices, weights = random_graph(seed)
    ptr, nodes, times = random_sources(seed, len(indptr) - 1)
    heap = E.reach_batch_heap(indptr, indices, weights, ptr, nodes, times, 40.0)
    ref = [as_dict(*heap, i) for i in range(len(ptr) - 1)]
    for delta in (0.0, 0.013, 2.0, 1e6):
        out = E.reach_batch(indptr, indices, weights, ptr, nodes, times, 40.0, delta)
        assert [as_dict(*out, i) for i in range(len(ptr) - 1)] == ref


@SETTINGS
@given(seed=st.integers(0, 2**31), c1=st.floats(0, 50), extra=st.floats(0, 50))
def test_reach_is_monotone_in_cutoff(seed, c1, extra):
    indptr, indices, weights = random_graph(seed)
    ptr, nodes, times = random_sources(seed, len(indptr) - 1)
    small = E.reach_batch(indptr, indices, weights, ptr, nodes, times, c1)
    big = E.reach_batch(indptr, indices, weights, ptr, nodes, times, c1 + extra)
    for i in range(len(ptr) - 1):
        s, b = as_dict(*small, i), as_dict(*big, i)
        assert s.keys() <= b.keys()
        assert all(s[k] == b[k] for k in s)
        assert all(t > c1 for k, t in b.items() if k not in s)


def test_cutoff_exactly_at_a_node_time():
    # 0 -> 1 -> 2 -> 3 with weights 1.5, 2.25, 0 (exact in binary); seed at 0 with offset 0.25
    indptr = np.array([0, 1, 2, 3, 3], dtype=np.int64)
    indices = np.array([1, 2, 3], dtype=np.int32)
    weights = np.array([1.5, 2.25, 0.0])
    ptr = np.array([0, 1], dtype=np.int64)
    seeds, offs = np.array([0], dtype=np.int32), np.array([0.25])
    for kernel in (E.reach_batch, E.reach_batch_heap):
        p, nodes, times = kernel(indptr, indices, weights, ptr, seeds, offs, 4.0)
        assert dict(zip(nodes.tolist(), times.tolist(), strict=True)) == {
            0: 0.25,
            1: 1.75,
            2: 4.0,
            3: 4.0,
        }
        p, nodes, times = kernel(indptr, indices, weights, ptr, seeds, offs, np.nextafter(4.0, 0))
        assert nodes.tolist() == [0, 1]
        # a seed beyond the cutoff reaches nothing, not even itself
        p, nodes, times = kernel(indptr, indices, weights, ptr, seeds, offs, 0.2)
        assert len(nodes) == 0 and p.tolist() == [0, 0]


def test_empty_inputs():
    indptr = np.zeros(4, dtype=np.int64)
    indices = np.zeros(0, dtype=np.int32)
    weights = np.zeros(0)
    none = np.zeros(0, dtype=np.int32)
    for kernel in (E.reach_batch, E.reach_batch_heap):
        p, nodes, times = kernel(
            indptr, indices, weights, np.zeros(1, dtype=np.int64), none, np.zeros(0), 10.0
        )
        assert p.tolist() == [0] and len(nodes) == 0
        p, nodes, times = kernel(
            indptr,
            indices,
            weights,
            np.array([0, 0, 1], dtype=np.int64),
            np.array([2], dtype=np.int32),
            np.array([1.0]),
            10.0,
        )
        assert p.tolist() == [0, 0, 1] and nodes.tolist() == [2] and times.tolist() == [1.0]


def test_pool_compaction_keeps_the_search_exact():
    """With a tiny entry pool the search must drop stale entries and still be exact (and sort
    its output by time, large buckets included)."""
    for seed in range(30):
        indptr, indices, weights = random_graph(seed)
        n = len(indptr) - 1
        ptr, nodes, times = random_sources(seed, n, n_src=1)
        heap = E.reach_batch_heap(indptr, indices, weights, ptr, nodes, times, np.inf)
        inv = 1.0 / 0.5
        span, _top = E._slot_span(weights, times, np.inf)
        dist, state, order, order_t, head, _, _ = E._workspace(n, 0, 0, E._n_slots(span, inv))
        # room for one live entry per node and nothing else
        pool_node = np.empty(n + 1, dtype=np.int32)
        pool_next = np.empty(n + 1, dtype=np.int32)
        ws = (dist, state, order, order_t, head, pool_node, pool_next)
        count = sorted_search(indptr, indices, weights, nodes, times, np.inf, inv, ws)
        got = dict(zip(order[:count].tolist(), dist[order[:count]].tolist(), strict=True))
        assert got == as_dict(*heap, 0)
        assert np.array_equal(order_t[:count], dist[order[:count]])
        assert np.all(np.diff(order_t[:count]) >= 0)
        assert np.all(head == -1)
        assert np.count_nonzero(state) == count


def test_circular_buckets_with_far_apart_seeds():
    # seeds 1e5 s apart on a path, tiny buckets, no cutoff: the circular array must not alias
    n = 50
    indptr = np.arange(n + 1, dtype=np.int64)
    indptr[-1] = n - 1
    indices = np.arange(1, n, dtype=np.int32)
    weights = np.full(n - 1, 0.3)
    seeds = np.array([0, 30], dtype=np.int32)
    offs = np.array([1e5, 0.0])
    ptr = np.array([0, 2], dtype=np.int64)
    heap = E.reach_batch_heap(indptr, indices, weights, ptr, seeds, offs, np.inf)
    out = E.reach_batch(indptr, indices, weights, ptr, seeds, offs, np.inf, 0.01)
    assert as_dict(*out, 0) == as_dict(*heap, 0)
    d, lab = E.nearest_source(indptr, indices, weights, seeds, offs, np.array([0, 1]), np.inf, 0.01)
    dh, labh = E.nearest_source_heap(
        indptr, indices, weights, seeds, offs, np.array([0, 1]), np.inf
    )
    assert np.array_equal(d, dh) and np.array_equal(lab, labh)


def test_large_buckets_are_sorted():
    """One bucket holding every node (a huge bucket width) still yields nodes by time."""
    rng = np.random.default_rng(0)
    n = 300
    a = rng.integers(0, n, size=4 * n)
    b = rng.integers(0, n, size=4 * n)
    w = rng.uniform(0, 10, size=4 * n)
    order = np.lexsort((b, a))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    indices, weights = b[order].astype(np.int32), w[order]
    ptr = np.array([0, 2], dtype=np.int64)
    seeds, offs = np.array([0, 1], dtype=np.int32), np.array([0.0, 3.0])
    heap = E.reach_batch_heap(indptr, indices, weights, ptr, seeds, offs, np.inf)
    for delta in (1e9, 25.0):
        out = E.reach_batch(indptr, indices, weights, ptr, seeds, offs, np.inf, delta)
        assert as_dict(*out, 0) == as_dict(*heap, 0)
        assert np.all(np.diff(out[2]) >= 0) and len(out[1]) > 48


# -- nearest source -------------------------------------------------------------------------------


@SETTINGS
@given(
    seed=st.integers(0, 2**31),
    cutoff=st.sampled_from([2.0, 9.0, np.inf]),
    delta=st.sampled_from([0.0, 0.5, 3.0]),
)
def test_nearest_source_equals_networkx(seed, cutoff, delta):
    """Integer weights make ties common: the lowest label among the nearest seeds must win."""
    indptr, indices, weights = random_graph(seed, integer=True)
    n = len(indptr) - 1
    ptr, nodes, times = random_sources(seed, n, integer=True)
    labels = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr)).astype(np.int64)
    g = nx_graph(indptr, indices, weights)
    best = np.full(n, np.inf)
    who = np.full(n, -1)
    for i in range(len(ptr) - 1):  # sources in increasing label order: strict < keeps the lowest
        a, b = ptr[i], ptr[i + 1]
        for v, t in nx_reach(g, nodes[a:b], times[a:b], cutoff).items():
            if t < best[v]:
                best[v], who[v] = t, i
    d, lab = E.nearest_source(indptr, indices, weights, nodes, times, labels, cutoff, delta)
    dh, labh = E.nearest_source_heap(indptr, indices, weights, nodes, times, labels, cutoff)
    for dd, ll in ((d, lab), (dh, labh)):
        assert np.array_equal(np.isinf(dd), np.isinf(best))
        fin = np.isfinite(best)
        assert np.all(np.abs(dd[fin] - best[fin]) <= TOL)
        assert np.array_equal(ll, who)


@SETTINGS
@given(seed=st.integers(0, 2**31))
def test_nearest_source_bucket_equals_heap_on_real_valued_weights(seed):
    indptr, indices, weights = random_graph(seed)
    ptr, nodes, times = random_sources(seed, len(indptr) - 1)
    labels = np.random.default_rng(seed).permutation(len(nodes)).astype(np.int64)
    d, lab = E.nearest_source(indptr, indices, weights, nodes, times, labels, np.inf)
    dh, labh = E.nearest_source_heap(indptr, indices, weights, nodes, times, labels, np.inf)
    assert np.array_equal(d, dh)
    assert np.array_equal(lab, labh)


# -- coverage -------------------------------------------------------------------------------------


def random_demand(seed: int, n: int, n_src: int):
    rng = np.random.default_rng(seed + 2)
    n_dem = int(rng.integers(1, 30))
    # each unit joins 1-2 nodes with a time; some units join nothing
    k = rng.integers(0, 3, size=n_dem)
    pid = np.repeat(np.arange(n_dem), k)
    node = rng.integers(0, n, size=len(pid))
    tt = np.round(rng.exponential(4.0, size=len(pid)), 1)
    order = np.argsort(node, kind="stable")
    node, pid, tt = node[order], pid[order].astype(np.int64), tt[order]
    node_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(node, minlength=n), out=node_ptr[1:])
    # direct pairs (like a unit on the facility's edge)
    m = int(rng.integers(0, 6))
    ex_src = np.sort(rng.integers(0, n_src, size=m))
    ex_ptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(np.bincount(ex_src, minlength=n_src), out=ex_ptr[1:])
    ex_dem = rng.integers(0, n_dem, size=m).astype(np.int64)
    ex_t = np.round(rng.uniform(0, 30, size=m), 1)
    return n_dem, node_ptr, pid, tt, node, ex_ptr, ex_dem, ex_t


@SETTINGS
@given(seed=st.integers(0, 2**31), cutoff=st.sampled_from([5.0, 25.0]))
def test_cover_pairs_and_bits_equal_brute_force(seed, cutoff):
    indptr, indices, weights = random_graph(seed)
    n = len(indptr) - 1
    ptr, nodes, times = random_sources(
        seed, n, n_src=int(np.random.default_rng(seed).integers(1, 140))
    )
    n_src = len(ptr) - 1
    n_dem, node_ptr, pid, tt, node_of, ex_ptr, ex_dem, ex_t = random_demand(seed, n, n_src)
    g = nx_graph(indptr, indices, weights)
    ref = np.full((n_dem, n_src), np.inf)
    for s in range(n_src):
        a, b = ptr[s], ptr[s + 1]
        r = nx_reach(g, nodes[a:b], times[a:b], cutoff)
        for q in range(len(pid)):
            if node_of[q] in r:
                ref[pid[q], s] = min(ref[pid[q], s], r[node_of[q]] + tt[q])
        for q in range(ex_ptr[s], ex_ptr[s + 1]):
            ref[ex_dem[q], s] = min(ref[ex_dem[q], s], ex_t[q])
    ref[ref > cutoff] = np.inf
    out_ptr, dem, t = E.cover_pairs(
        indptr,
        indices,
        weights,
        ptr,
        nodes,
        times,
        cutoff,
        node_ptr,
        pid,
        tt,
        n_dem,
        ex_ptr,
        ex_dem,
        ex_t,
    )
    got = np.full((n_dem, n_src), np.inf)
    src_of = np.repeat(np.arange(n_src), np.diff(out_ptr))
    got[dem, src_of] = t
    assert len(dem) == np.isfinite(ref).sum()
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    assert np.all(np.abs(got[fin] - ref[fin]) <= TOL)
    for s in range(n_src):
        d = dem[out_ptr[s] : out_ptr[s + 1]]
        assert len(np.unique(d)) == len(d)
    # without direct pairs (the optional arguments left out)
    no_ex = E.cover_pairs(
        indptr, indices, weights, ptr, nodes, times, cutoff, node_ptr, pid, tt, n_dem
    )
    assert len(no_ex[1]) <= len(dem)
    # the bitset (one row per source), filled in two parts as two threads would
    bits = np.zeros((n_src, (n_dem + 63) // 64), dtype=np.uint64)
    total = 0
    half = n_src // 2
    for a, b in ((0, half), (half, n_src)):
        total += E.cover_bits(
            indptr,
            indices,
            weights,
            ptr[a : b + 1] - ptr[a],
            nodes[ptr[a] : ptr[b]],
            times[ptr[a] : ptr[b]],
            cutoff,
            node_ptr,
            pid,
            tt,
            bits,
            a,
            ex_ptr[a : b + 1] - ex_ptr[a],
            ex_dem[ex_ptr[a] : ex_ptr[b]],
            ex_t[ex_ptr[a] : ex_ptr[b]],
        )
    dense = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")[:, :n_dem].astype(bool)
    assert np.array_equal(dense.T, fin)
    assert total == fin.sum()
    # the transpose into a demand-major CSR
    counts = np.bincount(dem, minlength=n_dem)
    indptr_d = np.zeros(n_dem + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr_d[1:])
    cols = np.empty(len(dem), dtype=np.int32)
    data = np.empty(len(dem))
    fill = indptr_d[:-1].copy()
    E.scatter_pairs(out_ptr, dem, t, 0, fill, cols, data)
    for i in range(n_dem):
        c = cols[indptr_d[i] : indptr_d[i + 1]]
        assert np.all(np.diff(c) > 0)
        assert np.array_equal(c, np.flatnonzero(fin[i]))
        assert np.allclose(data[indptr_d[i] : indptr_d[i + 1]], ref[i, c], atol=TOL, rtol=0)


# -- public paths on built networks ---------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["walk", "drive"]))
def test_access_paths_bucket_equal_heap(seed, mode):
    roads = random_roads(seed)
    net = build_network(roads, mode, crs=UTM, largest_component=False)
    rng = np.random.default_rng(seed)
    fac = rng.uniform(0, 1800, size=(70, 2)) + [500_000, 3_800_000]
    src = facility_sources(net, gpd.GeoSeries(shapely.points(fac), crs=UTM))
    cutoff_min = 6.0 if mode == "walk" else 1.5
    r = reach(net, src, minutes=cutoff_min, threads=2)
    h = E.reach_batch_heap(
        net.rindptr,
        net.rindices,
        net.rweights,
        src.src_ptr,
        src.seed_nodes,
        src.seed_times,
        cutoff_min * 60,
    )
    for i in range(len(src)):
        assert as_dict(r.ptr, r.nodes, r.time_s, i) == as_dict(*h, i)
    labels = np.repeat(np.arange(len(src)), np.diff(src.src_ptr)).astype(np.int64)
    d, lab = node_nearest(net, src)
    dh, labh = E.nearest_source_heap(
        net.rindptr, net.rindices, net.rweights, src.seed_nodes, src.seed_times, labels, np.inf
    )
    assert np.array_equal(d, dh) and np.array_equal(lab, labh)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["walk", "drive"]))
def test_coverage_bitset_equals_coverage_sets(seed, mode):
    roads = random_roads(seed)
    net = build_network(roads, mode, crs=UTM, largest_component=False, access_max_m=300)
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 1800, size=(60, 2)) + [500_000, 3_800_000]
    fac = rng.uniform(0, 1800, size=(150, 2)) + [500_000, 3_800_000]  # three 64-bit words
    dem[:5] = fac[:5] + rng.normal(0, 15, size=(5, 2))
    f = gpd.GeoSeries(shapely.points(fac), crs=UTM)
    p = gpd.GeoSeries(shapely.points(dem), crs=UTM)
    minutes = 6.0 if mode == "walk" else 1.5
    cs = coverage_sets(net, f, p, minutes=minutes, threads=2)
    cs1 = coverage_sets(net, f, p, minutes=minutes, threads=1)
    assert (cs.time_s != cs1.time_s).nnz == 0
    m = cs.time_s
    assert np.all(np.diff(m.indptr) >= 0)
    for i in range(m.shape[0]):
        assert np.all(np.diff(m.indices[m.indptr[i] : m.indptr[i + 1]]) > 0)
    bits = coverage_bitset(net, f, p, minutes=minutes, threads=2)
    assert bits.shape == cs.time_s.shape
    dense = cs.cover.toarray().astype(bool)
    assert np.array_equal(bits.to_dense(), dense)
    assert bits.nnz == cs.nnz
    assert np.array_equal(bits.point_counts(), np.diff(m.indptr))
    assert np.array_equal(bits.facility_counts(), dense.sum(axis=0))
    assert np.array_equal(bits.covers(3), np.flatnonzero(dense[:, 3]))
    by_point = bits.point_bits()
    assert by_point.shape == (len(dem), 3)
    unpacked = np.unpackbits(by_point.view(np.uint8), axis=1, bitorder="little")[:, : len(fac)]
    assert np.array_equal(unpacked.astype(bool), dense)


# -- helpers --------------------------------------------------------------------------------------


def test_default_delta_and_slots():
    assert E.default_delta(np.zeros(0)) == 1.0
    assert E.default_delta(np.zeros(10)) == 1.0
    w = np.linspace(1.0, 100.0, 10_000)
    assert 0 < E.default_delta(w) < 1.0
    for span, inv in ((0.0, 1.0), (900.0, 2.0), (1e9, 1.0)):
        c = E._n_slots(span, inv)
        assert c & (c - 1) == 0 and c > span * inv + 3
    # very wide spans are bounded by widening the buckets
    assert E._inv_delta(1e-9, w, 1e9, 1e9) * 1e9 <= 2**20
    # and every bucket number stays below 2**52 (float -> int64 exact)
    assert E._inv_delta(1e-300, w, 1.0, 1e300) * 1e300 <= 2.0**52


def test_hilbert_index_is_a_local_bijection():
    order = 5
    side = 1 << order
    gx, gy = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    h = E.hilbert_index(gx.ravel(), gy.ravel(), order)
    assert np.array_equal(np.sort(h), np.arange(side * side))
    pos = np.empty((side * side, 2), dtype=np.int64)
    pos[h] = np.column_stack([gx.ravel(), gy.ravel()])
    assert np.all(np.abs(np.diff(pos, axis=0)).sum(axis=1) == 1)  # each step moves one cell


def test_network_from_arrays_equals_build_network():
    """The benchmark's fast path builds the same graph as planner.build_network."""
    pytest.importorskip("bench.graphs")
    from bench.graphs import network_from_arrays, synthetic_city

    city = synthetic_city(3_000, seed=7)
    roads = city.roads()
    assert set(roads.columns) >= {"highway", "oneway", "maxspeed_kmh", "geometry"}
    assert roads.crs.to_epsg() == 32649
    assert 0.10 < (roads["oneway"] != 0).mean() < 0.20
    for mode in ("walk", "drive"):
        a = network_from_arrays(city, mode)
        b = build_network(roads, mode, crs=city.crs)
        for name in ("indptr", "indices", "rindptr", "rindices", "edge_u", "edge_v", "arc_edge"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        for name in ("weights", "rweights", "node_xy", "edge_length_m"):
            assert np.allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-9), name
        # a city-like graph: the bucket kernels equal the heap kernels on 60 sources
        rng = np.random.default_rng(1)
        seeds = rng.choice(a.n_nodes, 60, replace=False).astype(np.int32)
        offs = rng.uniform(0, 30, 60)
        ptr = np.arange(61, dtype=np.int64)
        cutoff = 300.0 if mode == "drive" else 900.0
        out = E.reach_batch(a.rindptr, a.rindices, a.rweights, ptr, seeds, offs, cutoff)
        heap = E.reach_batch_heap(a.rindptr, a.rindices, a.rweights, ptr, seeds, offs, cutoff)
        assert np.array_equal(out[0], heap[0]) and np.array_equal(out[2], heap[2])
        labels = np.arange(60, dtype=np.int64)
        d, lab = E.nearest_source(a.rindptr, a.rindices, a.rweights, seeds, offs, labels, np.inf)
        dh, labh = E.nearest_source_heap(
            a.rindptr, a.rindices, a.rweights, seeds, offs, labels, np.inf
        )
        assert np.array_equal(d, dh) and np.array_equal(lab, labh)


@pytest.mark.parametrize("n", [0, 1, 2, 31, 32, 33, 65, 1000, 4099])
def test_argsort_stable_equals_numpy_stable(n):
    # the kernels' one compiled sort (numba's own sorts cost ~1 s each to compile): equal to
    # numpy's stable argsort on a sub-range, with many ties, reversed and random keys
    from planner._engine import argsort_stable

    rng = np.random.default_rng(n)
    for keys in (rng.integers(0, 4, n).astype(float), rng.random(n), np.arange(n, 0, -1.0)):
        padded = np.concatenate([rng.random(5), keys, rng.random(3)])
        np.testing.assert_array_equal(
            argsort_stable(padded, 5, 5 + n), np.argsort(keys, kind="stable")
        )
