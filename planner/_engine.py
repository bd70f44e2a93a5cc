"""Compiled shortest-path kernels on CSR graphs (numba).

Only :mod:`planner.network` and :mod:`planner.access` use this module. Every kernel works on a
graph held as CSR arrays ``indptr`` (int64, n+1), ``indices`` (int32 heads) and ``weights``
(float64 seconds) and costs in proportion to the nodes it reaches, not to the graph's size:
distance buffers are allocated once per call (or per thread) and only the touched entries are
reset between sources.

Sources are *seed sets*: a facility that joins the network in the middle of an edge seeds both
end nodes with the time of the partial edge plus its off-network leg.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True, nogil=True, inline="always")
def _heap_push(heap_t, heap_n, size, t, n):
    i = size
    heap_t[i] = t
    heap_n[i] = n
    while i > 0:
        parent = (i - 1) >> 1
        if heap_t[parent] <= heap_t[i]:
            break
        heap_t[parent], heap_t[i] = heap_t[i], heap_t[parent]
        heap_n[parent], heap_n[i] = heap_n[i], heap_n[parent]
        i = parent
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def _heap_pop(heap_t, heap_n, size):
    t = heap_t[0]
    n = heap_n[0]
    size -= 1
    heap_t[0] = heap_t[size]
    heap_n[0] = heap_n[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        right = left + 1
        if right < size and heap_t[right] < heap_t[left]:
            child = right
        if heap_t[i] <= heap_t[child]:
            break
        heap_t[child], heap_t[i] = heap_t[i], heap_t[child]
        heap_n[child], heap_n[i] = heap_n[i], heap_n[child]
        i = child
    return t, n, size


@njit(cache=True, nogil=True)
def _bounded_sssp(indptr, indices, weights, seed_nodes, seed_times, cutoff, dist, settled,
                  heap_t, heap_n, touched):
    """Dijkstra from a seed set, stopping at ``cutoff``; returns the number of touched nodes.

    ``dist`` must be +inf and ``settled`` False everywhere on entry; on return the entries listed
    in ``touched[:count]`` hold the results and the caller resets them.
    """
    size = 0
    count = 0
    for k in range(seed_nodes.shape[0]):
        s = seed_nodes[k]
        t = seed_times[k]
        if t <= cutoff and t < dist[s]:
            if dist[s] == INF:
                touched[count] = s
                count += 1
            dist[s] = t
            if size >= heap_t.shape[0]:
                return -1
            size = _heap_push(heap_t, heap_n, size, t, s)
    while size > 0:
        t, u, size = _heap_pop(heap_t, heap_n, size)
        if settled[u] or t > dist[u]:
            continue
        settled[u] = True
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            nt = t + weights[a]
            if nt <= cutoff and nt < dist[v]:
                if dist[v] == INF:
                    touched[count] = v
                    count += 1
                dist[v] = nt
                if size >= heap_t.shape[0]:
                    return -1
                size = _heap_push(heap_t, heap_n, size, nt, v)
    return count


@njit(cache=True, nogil=True)
def reach_batch(indptr, indices, weights, src_ptr, seed_nodes, seed_times, cutoff):
    """Bounded searches for many sources.

    Source ``i`` has seeds ``seed_nodes[src_ptr[i]:src_ptr[i+1]]``. Returns CSR-like arrays
    ``(out_ptr, out_nodes, out_times)``: the nodes each source reaches within ``cutoff`` seconds,
    sorted by time.
    """
    n = indptr.shape[0] - 1
    m = indices.shape[0]
    n_src = src_ptr.shape[0] - 1
    dist = np.full(n, INF)
    settled = np.zeros(n, dtype=np.bool_)
    heap_cap = m + seed_nodes.shape[0] + 1
    heap_t = np.empty(heap_cap)
    heap_n = np.empty(heap_cap, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    out_ptr = np.zeros(n_src + 1, dtype=np.int64)
    cap = max(16, 64 * n_src)
    out_nodes = np.empty(cap, dtype=np.int32)
    out_times = np.empty(cap)
    total = 0
    for i in range(n_src):
        a, b = src_ptr[i], src_ptr[i + 1]
        count = _bounded_sssp(indptr, indices, weights, seed_nodes[a:b], seed_times[a:b], cutoff,
                              dist, settled, heap_t, heap_n, touched)
        if total + count > cap:
            while total + count > cap:
                cap *= 2
            new_nodes = np.empty(cap, dtype=np.int32)
            new_times = np.empty(cap)
            new_nodes[:total] = out_nodes[:total]
            new_times[:total] = out_times[:total]
            out_nodes = new_nodes
            out_times = new_times
        times = np.empty(count)
        for k in range(count):
            times[k] = dist[touched[k]]
        order = np.argsort(times, kind="mergesort")
        for k in range(count):
            node = touched[order[k]]
            out_nodes[total + k] = node
            out_times[total + k] = dist[node]
        for k in range(count):
            node = touched[k]
            dist[node] = INF
            settled[node] = False
        total += count
        out_ptr[i + 1] = total
    return out_ptr, out_nodes[:total].copy(), out_times[:total].copy()


@njit(cache=True, nogil=True)
def nearest_source(indptr, indices, weights, seed_nodes, seed_times, seed_labels, cutoff):
    """One multi-source Dijkstra: for every node the time to the closest seed and its label.

    Unreached nodes get time +inf and label -1. Ties keep the first label settled.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, INF)
    label = np.full(n, -1, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    heap_cap = indices.shape[0] + seed_nodes.shape[0] + 1
    heap_t = np.empty(heap_cap)
    heap_n = np.empty(heap_cap, dtype=np.int32)
    size = 0
    for k in range(seed_nodes.shape[0]):
        s = seed_nodes[k]
        t = seed_times[k]
        if t <= cutoff and (t < dist[s] or (t == dist[s] and seed_labels[k] < label[s])):
            dist[s] = t
            label[s] = seed_labels[k]
            size = _heap_push(heap_t, heap_n, size, t, s)
    while size > 0:
        t, u, size = _heap_pop(heap_t, heap_n, size)
        if settled[u] or t > dist[u]:
            continue
        settled[u] = True
        lu = label[u]
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            nt = t + weights[a]
            if nt <= cutoff and nt < dist[v]:
                dist[v] = nt
                label[v] = lu
                size = _heap_push(heap_t, heap_n, size, nt, v)
    return dist, label


@njit(cache=True)
def hilbert_index(ix, iy, order):
    """Hilbert-curve index of integer grid coordinates in [0, 2**order)."""
    n = ix.shape[0]
    out = np.empty(n, dtype=np.int64)
    side = np.int64(1) << order
    for k in range(n):
        x = np.int64(ix[k])
        y = np.int64(iy[k])
        d = np.int64(0)
        s = side >> 1
        while s > 0:
            rx = np.int64(1) if (x & s) > 0 else np.int64(0)
            ry = np.int64(1) if (y & s) > 0 else np.int64(0)
            d += s * s * ((3 * rx) ^ ry)
            if ry == 0:
                if rx == 1:
                    x = side - 1 - x
                    y = side - 1 - y
                x, y = y, x
            s >>= 1
        out[k] = d
    return out


@njit(cache=True, nogil=True)
def cover_pairs(indptr, indices, weights, src_ptr, seed_nodes, seed_times, cutoff,
                node_ptr, node_demand, node_time, n_demand):
    """Demand units within ``cutoff`` of each source: sparse (source, demand, time) triples.

    Demand unit ``i`` is attached to nodes: ``node_demand[node_ptr[v]:node_ptr[v+1]]`` lists the
    units attached at node ``v`` and ``node_time`` the time from the unit to ``v``. A unit's time
    to a source is the minimum over its attachments of (time to node + node's time to source).
    Returns ``(ptr, demand, time)`` grouped by source, demand sorted within each source.
    """
    n = indptr.shape[0] - 1
    m = indices.shape[0]
    n_src = src_ptr.shape[0] - 1
    dist = np.full(n, INF)
    settled = np.zeros(n, dtype=np.bool_)
    heap_cap = m + seed_nodes.shape[0] + 1
    heap_t = np.empty(heap_cap)
    heap_n = np.empty(heap_cap, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    best = np.full(n_demand, INF)
    seen = np.empty(n_demand, dtype=np.int64)
    out_ptr = np.zeros(n_src + 1, dtype=np.int64)
    cap = max(16, 16 * n_src)
    out_d = np.empty(cap, dtype=np.int64)
    out_t = np.empty(cap)
    total = 0
    for s in range(n_src):
        a, b = src_ptr[s], src_ptr[s + 1]
        count = _bounded_sssp(indptr, indices, weights, seed_nodes[a:b], seed_times[a:b], cutoff,
                              dist, settled, heap_t, heap_n, touched)
        k = 0
        for q in range(count):
            v = touched[q]
            dv = dist[v]
            for r in range(node_ptr[v], node_ptr[v + 1]):
                i = node_demand[r]
                t = dv + node_time[r]
                if t <= cutoff and t < best[i]:
                    if best[i] == INF:
                        seen[k] = i
                        k += 1
                    best[i] = t
        for q in range(count):
            v = touched[q]
            dist[v] = INF
            settled[v] = False
        if total + k > cap:
            while total + k > cap:
                cap *= 2
            nd = np.empty(cap, dtype=np.int64)
            nt = np.empty(cap)
            nd[:total] = out_d[:total]
            nt[:total] = out_t[:total]
            out_d = nd
            out_t = nt
        ids = np.sort(seen[:k])
        for q in range(k):
            i = ids[q]
            out_d[total + q] = i
            out_t[total + q] = best[i]
            best[i] = INF
        total += k
        out_ptr[s + 1] = total
    return out_ptr, out_d[:total].copy(), out_t[:total].copy()
