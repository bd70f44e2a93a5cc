"""The compiled kernels are safe for any threshold and any graph, and memory is guarded.

Random small graphs (empty, one node, isolated sources, zero-weight, parallel and huge arcs)
with thresholds from 0 to +inf, against scipy's Dijkstra; the arrays the kernels index without
checks are refused first; a threshold beyond the network's reach is "everything", fast and in
bounded memory (the demo at 1e9 minutes and inf runs in a subprocess, so heap corruption fails a
test instead of killing pytest). Run these also with ``NUMBA_BOUNDSCHECK=1`` (scripts/test.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _kernels import sorted_search
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra

from planner import InputError, NetworkError, _validate
from planner import _engine as E
from planner.access import (
    _REACH_PAIR_BYTES,
    coverage_bitset,
    coverage_sets,
    nearest_facility,
    raster_grid,
    reach,
    travel_time_raster,
)
from planner.network import build_network

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: thresholds in seconds: nothing, tiny, ordinary, beyond any path, far beyond, no limit
CUTOFFS = [0.0, 1e-12, 7.5, 60.0, 6e10, 1e300, np.inf]
DELTAS = [0.0, 1e-9, 0.5, 1e6]
ROOT = Path(__file__).resolve().parents[1]


# -- random graphs and the scipy reference ----------------------------------------------------------


def graph(seed: int):
    """CSR of a random directed graph of 0-30 nodes: isolated nodes, zero-weight, parallel and
    self arcs, and now and then arcs of 1e7-1e12 s beside arcs of a millisecond."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 31))
    m = int(rng.integers(0, 3 * n + 1)) if n else 0
    a = rng.integers(0, max(n, 1), size=m)
    b = rng.integers(0, max(n, 1), size=m)
    w = rng.exponential(10.0, size=m)
    w[rng.random(m) < 0.2] = 0.0
    w[rng.random(m) < 0.1] = 1e-3
    if rng.random() < 0.3:
        w[rng.random(m) < 0.1] = 10.0 ** rng.uniform(7, 12)
    o = np.lexsort((b, a))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:]) if n else None
    return indptr, b[o].astype(np.int32), w[o].astype(np.float64)


def sources(seed: int, n: int):
    """0-5 sources of 0-3 seeds each (none at all on an empty graph), offsets >= 0."""
    rng = np.random.default_rng(seed + 7)
    n_src = int(rng.integers(0, 6))
    counts = rng.integers(0, 4, size=n_src) if n else np.zeros(n_src, dtype=np.int64)
    ptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    nodes = rng.integers(0, max(n, 1), size=int(ptr[-1])).astype(np.int32)
    times = rng.exponential(5.0, size=len(nodes)) * (rng.random(len(nodes)) < 0.6)
    return ptr, nodes, times


def ref_times(indptr, indices, weights, nodes, times) -> np.ndarray:
    """Shortest times from a seed set: scipy's Dijkstra from a super source (node n) on a
    dense matrix whose missing arcs are +inf (so zero-weight arcs stay arcs)."""
    n = len(indptr) - 1
    if n == 0:
        return np.zeros(0)
    rows = np.concatenate([np.repeat(np.arange(n), np.diff(indptr)), np.full(len(nodes), n)])
    cols = np.concatenate([indices, nodes]).astype(np.int64)
    dense = np.full((n + 1, n + 1), np.inf)
    np.minimum.at(dense, (rows, cols), np.concatenate([weights, times]))
    g = csgraph_from_dense(dense, null_value=np.inf)
    return dijkstra(g, directed=True, indices=n)[:n]


def reached(d: np.ndarray, cutoff: float) -> dict[int, float]:
    keep = np.flatnonzero(np.isfinite(d) & (d <= cutoff))
    return dict(zip(keep.tolist(), d[keep].tolist(), strict=True))


def close(got: dict, ref: dict) -> None:
    assert got.keys() == ref.keys()
    for k, v in ref.items():
        assert abs(got[k] - v) <= 1e-9 * max(1.0, abs(v)), (k, got[k], v)


# -- property tests ---------------------------------------------------------------------------------


@SETTINGS
@given(seed=st.integers(0, 2**31), cutoff=st.sampled_from(CUTOFFS), delta=st.sampled_from(DELTAS))
def test_reach_and_nearest_equal_scipy_for_any_threshold(seed, cutoff, delta):
    indptr, indices, weights = graph(seed)
    ptr, nodes, times = sources(seed, len(indptr) - 1)
    out = E.reach_batch(indptr, indices, weights, ptr, nodes, times, cutoff, delta)
    heap = E.reach_batch_heap(indptr, indices, weights, ptr, nodes, times, cutoff)
    assert np.array_equal(out[0], heap[0])
    for i in range(len(ptr) - 1):
        a, b = ptr[i], ptr[i + 1]
        ref = reached(ref_times(indptr, indices, weights, nodes[a:b], times[a:b]), cutoff)
        got = out[2][out[0][i] : out[0][i + 1]]
        close(dict(zip(out[1][out[0][i] : out[0][i + 1]].tolist(), got.tolist(), strict=True)), ref)
        assert len(set(out[1][out[0][i] : out[0][i + 1]].tolist())) == len(got), (
            "a node listed twice"
        )
        assert np.all(np.diff(got) >= 0) and np.all(np.isfinite(got))
    # one multi-source search: the time to the nearest seed of any source
    labels = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr)).astype(np.int64)
    d, lab = E.nearest_source(indptr, indices, weights, nodes, times, labels, cutoff, delta)
    ref = ref_times(indptr, indices, weights, nodes, times)
    ref = np.where(ref <= cutoff, ref, np.inf)
    assert np.allclose(d, ref, rtol=1e-12, atol=1e-9, equal_nan=False)
    assert np.array_equal(lab == -1, ~np.isfinite(d)), "-1 exactly where no seed is reached"
    dh, labh = E.nearest_source_heap(indptr, indices, weights, nodes, times, labels, cutoff)
    assert np.array_equal(d, dh) and np.array_equal(lab, labh)


@SETTINGS
@given(seed=st.integers(0, 2**31), cutoff=st.sampled_from(CUTOFFS))
def test_coverage_kernels_equal_brute_force_for_any_threshold(seed, cutoff):
    indptr, indices, weights = graph(seed)
    n = len(indptr) - 1
    ptr, nodes, times = sources(seed, n)
    n_src = len(ptr) - 1
    rng = np.random.default_rng(seed + 3)
    n_dem = int(rng.integers(0, 12))
    # each demand unit joins 0-2 nodes with a time
    att_node = rng.integers(0, max(n, 1), size=2 * n_dem) if n else np.zeros(0, dtype=np.int64)
    att_dem = np.repeat(np.arange(n_dem), 2)[: len(att_node)]
    keep = rng.random(len(att_node)) < 0.8
    att_node, att_dem = att_node[keep], att_dem[keep]
    att_t = rng.exponential(3.0, size=len(att_node))
    o = np.argsort(att_node, kind="stable")
    node_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(att_node, minlength=n), out=node_ptr[1:]) if n else None
    node_dem, node_t = att_dem[o].astype(np.int64), att_t[o]
    ex_ptr = np.zeros(n_src + 1, dtype=np.int64)
    ex_dem, ex_t = np.zeros(0, dtype=np.int64), np.zeros(0)
    brute = np.full((n_src, n_dem), np.inf)
    for s in range(n_src):
        d = ref_times(
            indptr, indices, weights, nodes[ptr[s] : ptr[s + 1]], times[ptr[s] : ptr[s + 1]]
        )
        for v, i, t in zip(att_node.tolist(), att_dem.tolist(), att_t.tolist(), strict=True):
            brute[s, i] = min(brute[s, i], d[v] + t) if n else np.inf
    brute[brute > cutoff] = np.inf
    cp, cd, ct = E.cover_pairs(
        indptr,
        indices,
        weights,
        ptr,
        nodes,
        times,
        cutoff,
        node_ptr,
        node_dem,
        node_t,
        n_dem,
        ex_ptr,
        ex_dem,
        ex_t,
    )
    got = np.full((n_src, n_dem), np.inf)
    for s in range(n_src):
        got[s, cd[cp[s] : cp[s + 1]]] = ct[cp[s] : cp[s + 1]]
    assert np.allclose(got, brute, rtol=1e-12, atol=1e-9)
    bits = np.zeros((n_src, (n_dem + 63) // 64), dtype=np.uint64)
    total = E.cover_bits(
        indptr,
        indices,
        weights,
        ptr,
        nodes,
        times,
        cutoff,
        node_ptr,
        node_dem,
        node_t,
        bits,
        0,
        ex_ptr,
        ex_dem,
        ex_t,
    )
    dense = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")[:, :n_dem].astype(bool)
    assert total == int(np.isfinite(brute).sum())
    assert np.array_equal(dense, np.isfinite(brute))


def test_tiny_pool_compaction_with_stale_queued_entries():
    """Labels that drop to a lower bucket while queued leave stale entries of queued nodes; a
    pool with room for one entry per node must compact them away without overrunning (this
    indexed out of bounds before; run under NUMBA_BOUNDSCHECK=1)."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = 40
        # a long direct arc to every node first, then a chain of short arcs that beats it
        a = np.concatenate([np.zeros(n - 1, dtype=np.int64), np.arange(n - 1)])
        b = np.concatenate([np.arange(1, n), np.arange(1, n)])
        w = np.concatenate([rng.uniform(50, 100, n - 1), rng.uniform(0.1, 1.0, n - 1)])
        o = np.lexsort((b, a))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
        indices, weights = b[o].astype(np.int32), w[o]
        seeds, offs = np.array([0], dtype=np.int32), np.zeros(1)
        for cutoff in (np.inf, 6e10):
            span, top = E._slot_span(weights, offs, cutoff)
            inv = E._inv_delta(0.25, weights, span, top)
            dist, state, order, order_t, head, _, _ = E._workspace(n, 0, 0, E._n_slots(span, inv))
            pool_node = np.empty(n + 1, dtype=np.int32)
            pool_next = np.empty(n + 1, dtype=np.int32)
            ws = (dist, state, order, order_t, head, pool_node, pool_next)
            count = sorted_search(indptr, indices, weights, seeds, offs, cutoff, inv, ws)
            ref = reached(ref_times(indptr, indices, weights, seeds, offs), cutoff)
            close(dict(zip(order[:count].tolist(), order_t[:count].tolist(), strict=True)), ref)
            assert np.all(head == -1) and np.count_nonzero(state) == count


def test_huge_threshold_keeps_buckets_narrow():
    """A threshold of 1e9 minutes must not widen the buckets (one bucket holding the whole graph
    made the label-correcting scan overflow its entry pool): width from the longest arc."""
    w = np.full(1000, 10.0)
    span, top = E._slot_span(w, np.zeros(1), 6e10)
    assert span == 10.0 and top == 10_000.0
    assert E._inv_delta(0.0, w, span, top) == pytest.approx(1 / E.default_delta(w))
    span_inf, _ = E._slot_span(w, np.zeros(1), np.inf)
    assert span_inf == span
    # no seed within the cutoff: nothing to search, one tiny array
    assert E._slot_span(w, np.array([5.0]), 1.0) == (0.0, 0.0)


def test_long_path_with_huge_threshold_is_fast_and_exact():
    """100k nodes on a path of 1 s arcs plus one 1e12 s arc, no limit: exact and quick."""
    n = 100_000
    indptr = np.arange(n + 1, dtype=np.int64)
    indptr[-1] = n - 1
    indices = np.arange(1, n, dtype=np.int32)
    weights = np.ones(n - 1)
    weights[n // 2] = 1e12
    ptr = np.array([0, 1], dtype=np.int64)
    for cutoff in (6e10, 1e300, np.inf):
        out = E.reach_batch(
            indptr, indices, weights, ptr, np.array([0], dtype=np.int32), np.zeros(1), cutoff
        )
        want = n if cutoff > 1e12 + n else n // 2 + 1
        assert len(out[1]) == want
        assert out[2][-1] == (1e12 + (n - 2) if want == n else n // 2)


# -- arrays the kernels would index without checks --------------------------------------------------


def test_kernels_refuse_arrays_that_would_index_out_of_bounds():
    indptr = np.array([0, 1, 2], dtype=np.int64)
    indices = np.array([1, 0], dtype=np.int32)
    weights = np.array([1.0, 2.0])
    ptr = np.array([0, 1], dtype=np.int64)
    seeds, offs = np.array([0], dtype=np.int32), np.zeros(1)
    run = E.reach_batch
    with pytest.raises(ValueError, match="indices"):
        run(indptr, np.array([1, 5], dtype=np.int32), weights, ptr, seeds, offs, 10.0)
    with pytest.raises(ValueError, match="weights"):
        run(indptr, indices, np.array([1.0, -1.0]), ptr, seeds, offs, 10.0)
    with pytest.raises(ValueError, match="weights"):
        run(indptr, indices, np.array([1.0, np.nan]), ptr, seeds, offs, 10.0)
    with pytest.raises(ValueError, match="seed nodes"):
        run(indptr, indices, weights, ptr, np.array([2], dtype=np.int32), offs, 10.0)
    with pytest.raises(ValueError, match="seed times"):
        run(indptr, indices, weights, ptr, seeds, np.array([-1.0]), 10.0)
    with pytest.raises(ValueError, match="src_ptr"):
        run(indptr, indices, weights, np.array([0, 3], dtype=np.int64), seeds, offs, 10.0)
    with pytest.raises(ValueError, match="indptr"):
        run(np.array([0, 2, 1], dtype=np.int64), indices, weights, ptr, seeds, offs, 10.0)
    with pytest.raises(ValueError, match="indices"):
        E.reach_batch_heap(
            indptr, np.array([1, -1], dtype=np.int32), weights, ptr, seeds, offs, 10.0
        )
    with pytest.raises(ValueError, match="seed_labels"):
        E.nearest_source(indptr, indices, weights, seeds, offs, np.zeros(3, dtype=np.int64), 10.0)
    node_ptr = np.array([0, 1, 1], dtype=np.int64)
    with pytest.raises(ValueError, match="node_demand"):
        E.cover_pairs(
            indptr,
            indices,
            weights,
            ptr,
            seeds,
            offs,
            10.0,
            node_ptr,
            np.array([4], dtype=np.int64),
            np.zeros(1),
            2,
        )
    bits = np.zeros((1, 1), dtype=np.uint64)
    empty = np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match="row"):
        E.cover_bits(
            indptr,
            indices,
            weights,
            ptr,
            seeds,
            offs,
            10.0,
            node_ptr,
            np.array([0], dtype=np.int64),
            np.zeros(1),
            bits,
            1,
            np.zeros(2, dtype=np.int64),
            empty,
            np.zeros(0),
        )
    # impassable arcs (+inf) and a NaN cutoff are fine: never reached, nothing reached
    out = run(indptr, indices, np.array([np.inf, 1.0]), ptr, seeds, offs, np.inf)
    assert out[1].tolist() == [0]
    assert len(run(indptr, indices, weights, ptr, seeds, offs, np.nan)[1]) == 0


# -- public entry points -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_net():
    from conftest import random_roads

    roads = random_roads(3, n=6)
    net = build_network(roads, "walk")
    rng = np.random.default_rng(0)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    import geopandas as gpd
    import shapely

    def pts(k):
        xy = rng.uniform(lo, hi, size=(k, 2))
        return gpd.GeoDataFrame(geometry=shapely.points(xy), crs=net.crs)

    return net, pts(7), pts(40)


@pytest.mark.parametrize("bad", [float("nan"), -1.0, -np.inf, "soon"])
def test_thresholds_are_checked_at_the_entry_points(small_net, bad):
    net, fac, pts = small_net
    calls = {
        "minutes": [
            lambda: reach(net, fac, minutes=bad),
            lambda: coverage_sets(net, fac, pts, minutes=bad),
            lambda: coverage_bitset(net, fac, pts, minutes=bad),
        ],
        "max_minutes": [
            lambda: nearest_facility(net, fac, pts, max_minutes=bad),
            lambda: travel_time_raster(net, fac, cell_m=200.0, max_minutes=bad),
        ],
    }
    for name, fns in calls.items():
        for fn in fns:
            with pytest.raises(InputError, match=f"{name} must be a number of minutes >= 0"):
                fn()


def test_infinite_threshold_is_everything_reachable(small_net):
    net, fac, pts = small_net
    r_inf = reach(net, fac, minutes=np.inf)
    r_big = reach(net, fac, minutes=1e9)
    assert np.array_equal(r_inf.ptr, r_big.ptr) and np.array_equal(r_inf.time_s, r_big.time_s)
    near = nearest_facility(net, fac, pts)
    cs = coverage_sets(net, fac, pts, minutes=np.inf)
    # every point with a finite time to its nearest facility is covered by it at no limit
    t = cs.time_s.toarray()
    t[t == 0] = np.inf
    t[cs.cover.toarray() == 1] = cs.time_s.toarray()[cs.cover.toarray() == 1]
    assert np.allclose(t.min(axis=1), near.time_s)
    bits = coverage_bitset(net, fac, pts, minutes=float("inf"))
    assert np.array_equal(bits.to_dense(), cs.cover.toarray().astype(bool))
    zero = reach(net, fac, minutes=0)
    assert np.all(zero.time_s == 0)


# -- memory guards -------------------------------------------------------------------------------------


def test_max_bytes_reads_the_environment(monkeypatch):
    monkeypatch.delenv("PLANNER_MAX_BYTES", raising=False)
    assert _validate.max_bytes() == _validate.DEFAULT_MAX_BYTES
    for raw, want in (
        ("1000", 1000),
        ("8G", 8 * 2**30),
        ("512MiB", 512 * 2**20),
        ("1.5 GB", 3 * 2**29),
    ):
        monkeypatch.setenv("PLANNER_MAX_BYTES", raw)
        assert _validate.max_bytes() == want
    for raw in ("lots", "-1G", "0"):
        monkeypatch.setenv("PLANNER_MAX_BYTES", raw)
        with pytest.raises(InputError, match="PLANNER_MAX_BYTES"):
            _validate.max_bytes()


def test_outputs_beyond_the_memory_limit_are_refused_before_they_grow(small_net, monkeypatch):
    net, fac, pts = small_net
    full = reach(net, fac, minutes=np.inf)
    # room for a third of the pairs: the kernels stop and the error names the parameter
    monkeypatch.setenv("PLANNER_MAX_BYTES", str(len(full.nodes) // 3 * _REACH_PAIR_BYTES))
    with pytest.raises(InputError, match=r"smaller minutes=.*PLANNER_MAX_BYTES"):
        reach(net, fac, minutes=np.inf, threads=2)
    assert len(reach(net, fac, minutes=0.5).nodes) < len(full.nodes) // 3  # a small one still runs
    monkeypatch.setenv("PLANNER_MAX_BYTES", "64")
    with pytest.raises(InputError, match="minutes="):
        coverage_sets(net, fac, pts, minutes=np.inf)
    monkeypatch.setenv("PLANNER_MAX_BYTES", "16")  # 7 facilities x one 8-byte word do not fit
    with pytest.raises(InputError, match="coverage bitset"):
        coverage_bitset(net, fac, pts, minutes=np.inf)


def test_raster_size_is_checked_in_bytes_with_a_cell_size_that_fits(small_net, monkeypatch):
    net, fac, _ = small_net
    monkeypatch.setenv("PLANNER_MAX_BYTES", str(600 * 2**20))
    with pytest.raises(NetworkError, match=r"cells of at least [0-9.]+ m \(cell_m=\)") as exc:
        raster_grid(net, cell_m=0.2)
    fit = float(str(exc.value).split("cells of at least ")[1].split(" m")[0])
    grid = raster_grid(net, cell_m=fit)  # the size it names fits
    assert grid.n_cells > 0
    with pytest.raises(NetworkError, match="cell_m must be a positive"):
        raster_grid(net, cell_m=0.0)
    with pytest.raises(NetworkError, match="cell_m must be a positive"):
        travel_time_raster(net, fac, cell_m=0.0)


# -- the demo at thresholds beyond its reach, in a subprocess ---------------------------------------------

_DEMO = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    import planner
    from planner import access, network

    ds = planner.load_demo()
    net = planner.build_network(ds.roads, mode="walk")
    src = access.facility_sources(net, ds.facilities)
    piece = network.network_pieces(net)
    out = {}
    for m in (1e9, float("inf")):
        t0 = time.perf_counter()
        r = access.reach(net, src, minutes=m)
        sizes = np.diff(r.ptr)
        # "beyond the network's reach" is everything: each facility reaches its whole piece
        # (reverse searches: every node that can get to it, which in a piece of two-way
        # streets and one-ways is at most the piece)
        fac_piece = piece[np.where(src.attachment.u >= 0, src.attachment.u, 0)]
        whole = np.bincount(piece)[fac_piece]
        ok = bool(np.all(sizes[src.reachable] <= whole[src.reachable]))
        res = planner.analyze(ds, mode="walk", minutes=m, isochrone_minutes=None)
        covered = float(res.demand["covered"].to_numpy().mean())
        out[str(m)] = dict(pairs=int(len(r.nodes)), within_piece=ok, covered=covered,
                           reachable=float(res.demand["reachable"].to_numpy().mean()),
                           seconds=time.perf_counter() - t0)
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    """
)


def test_demo_beyond_the_networks_reach_in_a_subprocess():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", _DEMO],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    a, b = out["1000000000.0"], out["inf"]
    assert a["pairs"] == b["pairs"] > 0
    assert a["within_piece"] and b["within_piece"]
    # every demand unit joined to a road reaches a facility of its piece (the demo's pieces all
    # hold one): at no limit, all of them are covered
    assert a["covered"] == b["covered"] == a["reachable"] > 0
    assert a["seconds"] < 60 and b["seconds"] < 60
    assert out["maxrss_mb"] < 1500, out
