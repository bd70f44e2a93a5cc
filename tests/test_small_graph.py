"""Small graphs and long runs of empty buckets (issue 15).

On a small graph every search reaches most nodes long before the cutoff, and with short arcs
the bucket width is a small fraction of a second: a search then meets thousands of empty
buckets per node it settles. The bucket kernels skip them through a bitmap of empty buckets
(32 to a word, kept after the buckets' list heads); these tests hold the skipping to the exact
answers: the binary-heap reference bit for bit, networkx and scipy (one search per seed set
from a virtual source node, so the sums are formed in the same order) to the last bit on
integer weights and to 1e-9 s otherwise, on graphs with one-way arcs, ties, unreachable nodes
and zero-length arcs, with runs of empty buckets across bitmap words and around the circular
array.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from _kernels import sorted_search
from conftest import UTM, random_roads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from test_engine import as_dict, assert_same, nx_graph, nx_reach, random_graph, random_sources

from planner import _engine as E
from planner.access import facility_sources, reach
from planner.network import build_network

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def scipy_reach(indptr, indices, weights, ptr, nodes, times, cutoff):
    """Times from each seed set with scipy: a virtual node per source, with an arc of the
    seed's offset to each seed (the label of a seed is then the offset itself, as in planner)."""
    n = len(indptr) - 1
    k = len(ptr) - 1
    rows = np.concatenate(
        [np.repeat(np.arange(n), np.diff(indptr)), np.repeat(np.arange(n, n + k), np.diff(ptr))]
    )
    cols = np.concatenate([indices, nodes]).astype(np.int64)
    w = np.concatenate([weights, times])
    # parallel arcs: keep the shortest (scipy's csr would add them up)
    key = rows * (n + k) + cols
    o = np.lexsort((w, key))
    first = np.ones(len(o), dtype=bool)
    first[1:] = key[o][1:] != key[o][:-1]
    o = o[first]
    g = sparse.csr_array((w[o], (rows[o], cols[o])), shape=(n + k, n + k))
    # zero-length arcs are arcs for csgraph only while stored as explicit zeros
    assert g.nnz == len(o)
    lim = np.inf if not np.isfinite(cutoff) else cutoff
    d = dijkstra(g, directed=True, indices=np.arange(n, n + k), limit=lim)[:, :n]
    return [
        {int(v): float(d[i, v]) for v in np.flatnonzero((d[i] <= cutoff) & np.isfinite(d[i]))}
        for i in range(k)
    ]


def sparse_buckets_graph(seed: int):
    """A random graph whose arcs span many bucket widths: zero arcs, ties, arcs of 31, 32 and
    33 widths (one bitmap word and its edges) and of thousands of widths (around the circle)."""
    indptr, indices, _w = random_graph(seed, integer=True)
    rng = np.random.default_rng(seed + 7)
    choices = np.array([0.0, 1.0, 31.0, 32.0, 33.0, 64.0, 95.0, 1000.0, 4097.0])
    weights = choices[rng.integers(0, len(choices), size=len(indices))]
    return indptr, indices, weights


@SETTINGS
@given(
    seed=st.integers(0, 2**31),
    cutoff=st.sampled_from([0.0, 33.0, 100.0, 5000.0, 1e6, np.inf]),
    delta=st.sampled_from([1.0, 0.5, 0.01]),
)
def test_skipped_empty_buckets_give_the_heap_answers_bit_for_bit(seed, cutoff, delta):
    indptr, indices, weights = sparse_buckets_graph(seed)
    n = len(indptr) - 1
    ptr, nodes, times = random_sources(seed, n, integer=True)
    got = E.reach_batch(indptr, indices, weights, ptr, nodes, times, cutoff, delta)
    ref = E.reach_batch_heap(indptr, indices, weights, ptr, nodes, times, cutoff)
    ref_scipy = scipy_reach(indptr, indices, weights, ptr, nodes, times, cutoff)
    for i in range(len(ptr) - 1):
        g = as_dict(*got, i)
        assert g == as_dict(*ref, i)  # same nodes, same floating-point sums
        assert g == ref_scipy[i]  # integer sums are exact: scipy gives the same numbers
        a, b = got[0][i], got[0][i + 1]
        assert np.all(np.diff(got[2][a:b]) >= 0)  # sorted by time
    labels = np.arange(len(nodes), dtype=np.int64)
    t, lab = E.nearest_source(indptr, indices, weights, nodes, times, labels, cutoff, delta)
    th, lh = E.nearest_source_heap(indptr, indices, weights, nodes, times, labels, cutoff)
    assert np.array_equal(t, th) and np.array_equal(lab, lh)


@SETTINGS
@given(
    seed=st.integers(0, 2**31),
    cutoff=st.sampled_from([0.0, 3.0, 17.5, 60.0, 1e5, np.inf]),
    delta=st.sampled_from([0.0, 1e-3, 0.05]),
)
def test_small_graph_reach_equals_networkx_and_scipy(seed, cutoff, delta):
    """Real-valued weights with zero arcs, parallel and one-way arcs, two pieces never joined."""
    indptr, indices, weights = random_graph(seed)
    n = len(indptr) - 1
    ptr, nodes, times = random_sources(seed, n)
    got = E.reach_batch(indptr, indices, weights, ptr, nodes, times, cutoff, delta)
    heap = E.reach_batch_heap(indptr, indices, weights, ptr, nodes, times, cutoff)
    ref_scipy = scipy_reach(indptr, indices, weights, ptr, nodes, times, cutoff)
    g = nx_graph(indptr, indices, weights)
    for i in range(len(ptr) - 1):
        mine = as_dict(*got, i)
        assert mine == as_dict(*heap, i)
        a, b = ptr[i], ptr[i + 1]
        assert_same(mine, nx_reach(g, nodes[a:b], times[a:b], cutoff))
        assert_same(mine, ref_scipy[i])


def test_head_and_bitmap_are_reset_after_every_search():
    """A chain of arcs 40 bucket widths apart with a circular array of 64 buckets: the search
    walks round the circle many times; the list heads and the empty-bucket bits must all be
    back to -1 afterwards (the next search of the batch relies on it)."""
    n = 200
    indptr = np.arange(n + 1, dtype=np.int64)
    indptr[-1] = n - 1
    indices = np.arange(1, n, dtype=np.int32)
    weights = np.full(n - 1, 40.0)
    inv = 1.0
    n_slots = E._n_slots(40.0, inv)
    assert n_slots == 64
    ws = E._workspace(n, n - 1, 1, n_slots)
    _dist, state, order, order_t, head, _, _ = ws
    assert head.shape[0] == n_slots + n_slots // 32 and np.all(head == -1)
    for start in (0, 17, 150):
        seeds = np.array([start], dtype=np.int32)
        count = sorted_search(indptr, indices, weights, seeds, np.array([0.5]), np.inf, inv, ws)
        assert count == n - start
        assert np.array_equal(order[:count], np.arange(start, n))
        assert np.array_equal(order_t[:count], 0.5 + 40.0 * np.arange(count))
        assert np.all(head == -1)
        state[order[:count]] = 0


def test_reach_on_a_small_city_graph_equals_networkx():
    """The public reach sets on a small graph of one-way streets (drive) equal networkx's."""
    roads = random_roads(3, n=6, oneway_share=0.5)
    net = build_network(roads, "drive", crs=UTM, largest_component=False)
    rng = np.random.default_rng(4)
    xy = net.node_xy[rng.choice(net.n_nodes, 30)] + rng.normal(0, 15, (30, 2))
    src = facility_sources(net, gpd.GeoSeries(shapely.points(xy), crs=UTM))
    g = nx_graph(net.rindptr, net.rindices, net.rweights)
    for minutes in (0.5, 3.0, 1e4):
        r = reach(net, src, minutes=minutes, threads=2)
        for i in range(len(src)):
            a, b = src.src_ptr[i], src.src_ptr[i + 1]
            assert_same(
                as_dict(r.ptr, r.nodes, r.time_s, i),
                nx_reach(g, src.seed_nodes[a:b], src.seed_times[a:b], minutes * 60.0),
            )
