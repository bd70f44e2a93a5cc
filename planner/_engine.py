"""Compiled shortest-path kernels on CSR graphs (numba).

Only :mod:`planner.network` and :mod:`planner.access` use this module. Every kernel works on a
graph held as CSR arrays ``indptr`` (int64, n+1), ``indices`` (int32 heads) and ``weights``
(float64 seconds, finite, >= 0) and costs in proportion to the nodes it reaches, not to the
graph's size: work arrays are allocated once per call without being filled (only a one-byte
state per node is zeroed) and only the touched entries are reset between sources. Every kernel
releases the GIL (``nogil``): :mod:`planner.access` runs chunks of sources on a thread pool.

Sources are *seed sets*: a facility that joins the network in the middle of an edge seeds both
end nodes with the time of the partial edge plus its off-network leg.

Two searches compute the same labels:

- **bucket queue** (``_bucket_sssp``, used by every public kernel): Dial's algorithm with
  buckets ``delta`` seconds wide in a circular array of singly linked lists of pool entries. A
  bucket is scanned until it is empty, re-scanning a node whose label drops while its bucket is
  open (label-correcting inside the bucket, as in delta-stepping), so the result is exact for
  any ``delta`` and any weights (zero-weight and parallel arcs included): the labels are the
  same floating-point sums Dijkstra's algorithm forms. A node whose label drops to a lower
  bucket gets a new entry; the old one goes stale and is skipped. Reach sets come out in time
  order (each bucket's nodes are sorted when it closes).
- **binary heap** (``_bounded_sssp`` and the ``*_heap`` kernels): plain Dijkstra, kept as the
  reference the tests compare the bucket kernels with.

The bucket width only changes speed: by default (``delta <= 0``) it is 1/16 of a low quantile
of a sample of the arc weights (:func:`default_delta`).

Kernels: :func:`reach_runs` + :func:`gather_runs` (reach sets, used by ``access.reach``),
:func:`reach_batch` (the same, gathered), :func:`nearest_source` (one multi-source search),
:func:`cover_pairs` + :func:`scatter_pairs` (demand x facility times as a CSR),
:func:`cover_bits` (the same pairs as a packed bitset), :func:`hilbert_index` (node order).
Sources are searched in Hilbert order of their first seed (:func:`_source_order`): neighbouring
searches then find much of their part of the graph in cache.

The module stays one file (over the house's ~1,000 lines) on purpose: the public kernels call
``_bucket_sssp`` and its helpers, and numba's on-disk cache checks only the source of the file a
kernel is defined in. Split across files, an edit to the search would leave callers compiled
from the old one in the cache. Each kernel module of planner (this one, ``_isochrone*``,
``optimize._kernels``) calls only kernels of its own file.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf
# A literal argument (0, True) of a kernel called from another is typed as that literal and
# compiles a specialisation of its own beside the int64 or boolean one (a full compile each on
# a cold start, ~1 s for the bucket search): callers pass np.int64(0), and the bucket search's
# flags as these run-time booleans (one compiled search for every kernel; no slower warm).
_YES = np.bool_(True)
_NO = np.bool_(False)


class OutputTooLarge(Exception):
    """Raised by a kernel whose output would pass its ``budget`` (see :func:`reach_runs`)."""


# node states of the bucket search
_UNSEEN = 0  # label +inf (dist[] not valid)
_QUEUED = 1  # labelled and in a bucket, never scanned
_SCANNED = 2  # scanned, in no bucket
_REQUEUED = 3  # scanned once and back in the (open) bucket after its label dropped


# -- binary heap ----------------------------------------------------------------------------------


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
def _bounded_sssp(
    indptr, indices, weights, seed_nodes, seed_times, cutoff, dist, settled, heap_t, heap_n, touched
):
    """Dijkstra (binary heap) from a seed set, stopping at ``cutoff``; returns the number of
    touched nodes.

    ``dist`` must be +inf and ``settled`` False everywhere on entry; on return the entries listed
    in ``touched[:count]`` hold the results (in the order they were settled, i.e. by time) and
    the caller resets them. The heap needs room for ``len(indices) + len(seed_nodes)`` entries.
    """
    size = 0
    count = 0
    for k in range(seed_nodes.shape[0]):
        s = seed_nodes[k]
        t = seed_times[k]
        if t <= cutoff and t < dist[s]:
            dist[s] = t
            size = _heap_push(heap_t, heap_n, size, t, s)
    while size > 0:
        t, u, size = _heap_pop(heap_t, heap_n, size)
        if settled[u] or t > dist[u]:
            continue
        settled[u] = True
        touched[count] = u
        count += 1
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            nt = t + weights[a]
            if nt <= cutoff and nt < dist[v]:
                dist[v] = nt
                size = _heap_push(heap_t, heap_n, size, nt, v)
    return count


# -- bucket queue ---------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def argsort_stable(keys, lo, hi):
    """Positions (from ``lo``) that sort ``keys[lo:hi]`` stably: ``np.argsort(kind="stable")``
    for keys without NaN.

    planner's one compiled sort: each of numba's ``np.sort``/``np.argsort`` specialisations
    costs about a second to compile, which every first run after install pays (issue 15); this
    merge sort (insertion-sorted runs of 32, merged bottom-up) compiles in a fraction of that.
    """
    n = hi - lo
    idx = np.arange(n)
    if n < 2:
        return idx
    run = 32
    for a in range(0, n, run):
        b = min(a + run, n)
        for i in range(a + 1, b):
            x = idx[i]
            kx = keys[lo + x]
            j = i - 1
            while j >= a and keys[lo + idx[j]] > kx:
                idx[j + 1] = idx[j]
                j -= 1
            idx[j + 1] = x
    src = idx
    dst = np.empty(n, dtype=np.int64)
    width = run
    while width < n:
        for a in range(0, n, 2 * width):
            mid = min(a + width, n)
            b = min(a + 2 * width, n)
            i = a
            j = mid
            for k in range(a, b):
                # ties take the left run first: stable
                if j < b and (i >= mid or keys[lo + src[j]] < keys[lo + src[i]]):
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
        src, dst = dst, src
        width *= 2
    return src


@njit(cache=True, nogil=True)
def default_delta(weights):
    """Bucket width: 1/16 of the 10th percentile of up to 4,096 arc weights sampled evenly.

    Measured on drive graphs (arcs of 6-35 s) the search is fastest with buckets of 0.25-1 s
    (a bucket then holds a few dozen nodes and almost none is scanned twice); on walk graphs
    (arcs of 60-180 s) anything from 2 to 16 s is as fast.
    """
    m = weights.shape[0]
    if m == 0:
        return 1.0
    step = max(1, m // 4096)
    sample = weights[::step]
    pos = sample[sample > 0]
    if pos.shape[0] == 0:
        return 1.0
    k = argsort_stable(pos, np.int64(0), pos.shape[0])[pos.shape[0] // 10]
    return float(pos[k]) / 16.0


@njit(cache=True, nogil=True)
def _inv_delta(delta, weights, span, top):
    """1 / bucket width, widened if needed so the circular array stays below 2**20 slots and
    every label's bucket number (label / width, at most ``top`` / width) fits an int64 exactly."""
    if not delta > 0:
        delta = default_delta(weights)
    inv = 1.0 / delta
    if span * inv > 1 << 20:
        inv = (1 << 20) / span
    # float -> int64 of a value beyond 2**63 is undefined: keep bucket numbers below 2**52
    lim = 4503599627370496.0 / max(top, 1.0)
    if not inv <= lim:
        inv = lim
    return inv


@njit(cache=True, nogil=True)
def _source_order(src_ptr, seed_nodes):
    """Sources sorted by their lowest seed node: nodes are numbered along a Hilbert curve, so
    consecutive searches then cover overlapping ground and find it in cache (~20 % faster)."""
    n_src = src_ptr.shape[0] - 1
    key = np.zeros(n_src)  # node numbers (int32) are exact as floats
    for i in range(n_src):
        lo = np.inf
        for k in range(src_ptr[i], src_ptr[i + 1]):
            lo = min(lo, np.float64(seed_nodes[k]))
        key[i] = lo
    return argsort_stable(key, np.int64(0), n_src)


@njit(cache=True, nogil=True)
def _gather(start, count, nodes, times, n_src):
    """Per-source runs ``[start[i], start[i] + count[i])`` of a buffer, in source order."""
    ptr = np.zeros(n_src + 1, dtype=np.int64)
    for i in range(n_src):
        ptr[i + 1] = ptr[i] + count[i]
    out_n = np.empty(ptr[n_src], dtype=nodes.dtype)
    out_t = np.empty(ptr[n_src])
    for i in range(n_src):
        a = start[i]
        b = ptr[i]
        for k in range(count[i]):
            out_n[b + k] = nodes[a + k]
            out_t[b + k] = times[a + k]
    return ptr, out_n, out_t


@njit(cache=True, nogil=True)
def _n_slots(span, inv_delta):
    """A power of two > span / delta + 3 (at least 32): labels alive at once never share a slot."""
    need = int(span * inv_delta) + 4
    c = 32
    while c < need:
        c <<= 1
    return c


@njit(cache=True, nogil=True)
def _finite_cutoff(cutoff):
    """The cutoff as the largest label a search may set: +inf (no bound) becomes the largest
    finite float, so an infinite label (an impassable arc) never enters a bucket; NaN reaches
    nothing."""
    if cutoff > 1.7976931348623157e308:
        return 1.7976931348623157e308
    return cutoff


@njit(cache=True, nogil=True)
def _check_graph(indptr, indices, weights, seed_nodes, seed_times):
    """Raise ValueError on arrays that would make a search index out of bounds or not end.

    The kernels index ``dist[indices[a]]`` and ``indptr[u + 1]`` without checks; a negative or
    NaN weight makes the label-correcting buckets loop. O(n + m), done once per batch.
    """
    n = indptr.shape[0] - 1
    m = indices.shape[0]
    if n < 0:
        raise ValueError("indptr must hold n + 1 >= 1 offsets")
    if weights.shape[0] != m:
        raise ValueError("weights and indices must have the same length")
    if indptr[0] != 0 or indptr[n] != m:
        raise ValueError("indptr must start at 0 and end at len(indices)")
    for u in range(n):
        if indptr[u + 1] < indptr[u]:
            raise ValueError("indptr must not decrease")
    for a in range(m):
        if indices[a] < 0 or indices[a] >= n:
            raise ValueError("indices must be node numbers in [0, n)")
        if not weights[a] >= 0:
            raise ValueError("arc weights must be >= 0 (not NaN)")
    if seed_times.shape[0] != seed_nodes.shape[0]:
        raise ValueError("seed_nodes and seed_times must have the same length")
    for k in range(seed_nodes.shape[0]):
        if seed_nodes[k] < 0 or seed_nodes[k] >= n:
            raise ValueError("seed nodes must be node numbers in [0, n)")
        if seed_times[k] < 0:
            raise ValueError("seed times must be >= 0")
    # bucket entries and reached-node lists are int32
    if n + m + seed_nodes.shape[0] + 1 >= 2147483647:
        raise ValueError("graph too large for int32 bucket entries")


@njit(cache=True, nogil=True)
def _check_ptr(ptr, length, what):
    """``ptr`` splits ``length`` entries into runs: starts at 0, never decreases, ends at length."""
    if ptr.shape[0] < 1 or ptr[0] != 0 or ptr[ptr.shape[0] - 1] != length:
        raise ValueError(what)
    for i in range(ptr.shape[0] - 1):
        if ptr[i + 1] < ptr[i]:
            raise ValueError(what)


@njit(cache=True, nogil=True)
def _check_demand(n, n_src, node_ptr, node_demand, node_time, n_demand, ex_ptr, ex_demand, ex_time):
    """Raise ValueError unless the demand arrays of the coverage kernels index in bounds."""
    if node_ptr.shape[0] != n + 1:
        raise ValueError("node_ptr must hold n + 1 offsets")
    _check_ptr(node_ptr, node_demand.shape[0], "node_ptr must split node_demand into runs")
    if node_time.shape[0] != node_demand.shape[0] or ex_time.shape[0] != ex_demand.shape[0]:
        raise ValueError("demand times must match the demand entries")
    for r in range(node_demand.shape[0]):
        if node_demand[r] < 0 or node_demand[r] >= n_demand:
            raise ValueError("node_demand must be demand numbers in [0, n_demand)")
    if ex_ptr.shape[0] != n_src + 1:
        raise ValueError("ex_ptr must hold n_sources + 1 offsets")
    _check_ptr(ex_ptr, ex_demand.shape[0], "ex_ptr must split ex_demand into runs")
    for r in range(ex_demand.shape[0]):
        if ex_demand[r] < 0 or ex_demand[r] >= n_demand:
            raise ValueError("ex_demand must be demand numbers in [0, n_demand)")


@njit(cache=True, nogil=True)
def _slot_span(weights, seed_times, cutoff):
    """``(span, top)``: the largest gap between labels alive at the same time (the longest
    finite arc or the spread of the seeds within the cutoff, and never more than the cutoff
    minus the lowest seed), and the largest label a search can set (the cutoff, or the highest
    seed plus every finite arc)."""
    w = 0.0
    total = 0.0
    for a in range(weights.shape[0]):
        x = weights[a]
        if x < INF:
            total += x
            if x > w:
                w = x
    lo = INF
    hi = -INF
    for k in range(seed_times.shape[0]):
        t = seed_times[k]
        if t <= cutoff:
            lo = min(lo, t)
            hi = max(hi, t)
    if not lo < INF:
        return 0.0, 0.0  # no seed within the cutoff: nothing is searched
    # labels alive at once lie within one arc of the open bucket, or among the seeds: a huge or
    # infinite cutoff must not widen the buckets (one bucket holding the whole graph makes the
    # label-correcting scan quadratic or worse)
    span = max(w, hi - lo)
    top = min(cutoff, hi + total)
    return min(span, max(cutoff - lo, 0.0)), top


@njit(cache=True, nogil=True)
def _workspace(n, m, n_seeds, n_slots):
    """Work arrays of one thread; only ``state`` (one byte per node) is written here."""
    dist = np.empty(n)  # valid where state != _UNSEEN
    state = np.zeros(n, dtype=np.int8)
    order = np.empty(n, dtype=np.int32)
    order_t = np.empty(n)
    # the buckets' list heads, then one bit per bucket, set while it is empty (see _bucket_sssp)
    head = np.full(n_slots + n_slots // 32, -1, dtype=np.int32)
    # bucket entries: a pool of (node, next entry) reused by every search
    cap = n + m + n_seeds + 1
    pool_node = np.empty(cap, dtype=np.int32)
    pool_next = np.empty(cap, dtype=np.int32)
    return dist, state, order, order_t, head, pool_node, pool_next


@njit(cache=True, nogil=True)
def _bucket_setup(indptr, indices, weights, seed_nodes, seed_times, cutoff, delta):
    """Bucket width and work arrays of one batch of bucket-queue searches (checks the graph)."""
    n = indptr.shape[0] - 1
    _check_graph(indptr, indices, weights, seed_nodes, seed_times)
    span, top = _slot_span(weights, seed_times, cutoff)
    inv = _inv_delta(delta, weights, span, top)
    dist, state, order, order_t, head, pool_node, pool_next = _workspace(
        n, indices.shape[0], seed_nodes.shape[0], _n_slots(span, inv)
    )
    return inv, dist, state, order, order_t, head, pool_node, pool_next


@njit(cache=True, nogil=True)
def _compact(state, dist, inv_delta, head, pool_node, pool_next, nq):
    """Drop the stale entries of every bucket (only if the pool ever fills up).

    A queued node whose label dropped to a lower bucket keeps a stale entry in its old bucket
    with its state still queued: only the entry in the slot of its current label's bucket is
    kept, once (``state`` is marked while compacting), so at most ``nq`` entries remain.
    """
    n_slots = head.shape[0] // 33 * 32  # the list heads (the empty-bucket bits after them)
    mask = n_slots - 1
    keep_node = np.empty(nq, dtype=np.int32)
    keep_slot = np.empty(nq, dtype=np.int64)
    k = 0
    # a kept entry goes back to the slot it came from: its bucket's bit stays clear (non-empty)
    for sl in range(n_slots):
        e = head[sl]
        while e != -1:
            v = pool_node[e]
            sv = state[v]
            if (
                (sv == _QUEUED or sv == _REQUEUED)
                and k < nq
                and (np.int64(dist[v] * inv_delta) & mask) == sl
            ):
                keep_node[k] = v
                keep_slot[k] = sl
                k += 1
                state[v] = sv + 4  # kept: a second entry in this slot is not
            e = pool_next[e]
        head[sl] = -1
    for q in range(k - 1, -1, -1):
        v = keep_node[q]
        state[v] -= 4
        sl = keep_slot[q]
        pool_node[q] = v
        pool_next[q] = head[sl]
        head[sl] = q
    return k


@njit(cache=True, nogil=True, inline="always")
def _sort_bucket(order, order_t, first, end, dist):
    """Sort the closed bucket ``order[first:end]`` by time, writing the times to ``order_t``."""
    k = end - first
    for i in range(first, end):
        order_t[i] = dist[order[i]]
    if k > 48:
        idx = argsort_stable(order_t, np.int64(first), np.int64(end))
        seg = order[first:end].copy()
        seg_t = order_t[first:end].copy()
        for i in range(k):
            order[first + i] = seg[idx[i]]
            order_t[first + i] = seg_t[idx[i]]
        return
    # insertion sort: a bucket holds few nodes
    for i in range(first + 1, end):
        x = order[i]
        tx = order_t[i]
        j = i - 1
        while j >= first and order_t[j] > tx:
            order_t[j + 1] = order_t[j]
            order[j + 1] = order[j]
            j -= 1
        order_t[j + 1] = tx
        order[j + 1] = x


@njit(cache=True, nogil=True, inline="always")
def _trailing_zeros(x):
    """The number of trailing zero bits of ``x`` (0 < x < 2**32)."""
    k = 0
    if (x & 0xFFFF) == 0:
        k += 16
        x >>= 16
    if (x & 0xFF) == 0:
        k += 8
        x >>= 8
    if (x & 0xF) == 0:
        k += 4
        x >>= 4
    if (x & 0x3) == 0:
        k += 2
        x >>= 2
    if (x & 0x1) == 0:
        k += 1
    return k


@njit(cache=True, nogil=True)
def _bucket_sssp(  # noqa: C901 (one loop: split into called kernels it ran 1.7-2x slower)
    indptr,
    indices,
    weights,
    seed_nodes,
    seed_times,
    cutoff,
    inv_delta,
    dist,
    state,
    order,
    order_t,
    head,
    pool_node,
    pool_next,
    label,
    seed_labels,
    use_labels,
    sort,
):
    """Exact bounded search with a bucket queue; returns the number of nodes reached.

    On return ``order[:count]`` lists the reached nodes (if ``sort``, sorted by time, with their
    times in ``order_t[:count]``; else only grouped by bucket), and ``state`` is nonzero exactly
    for them: the caller resets ``state[order[:count]]`` to 0.
    ``head`` (see :func:`_workspace`) is all -1 on entry and on return: the list heads of the
    ``n_slots`` buckets (a power of two, see :func:`_n_slots`), then ``n_slots / 32`` words with
    a bit per bucket, set while the bucket is empty, so runs of empty buckets (a cutoff of many
    bucket widths on a small graph) are skipped 32 at a time instead of one by one.
    With ``use_labels`` each node also gets the lowest label among the seeds it is nearest to
    (ties in time go to the lowest label).

    Buckets are singly linked lists of pool entries; a node whose label drops to a lower bucket
    gets a new entry and its old one goes stale (skipped when popped: the node is scanned by
    then), so every node holds at most one live entry.
    """
    n_slots = head.shape[0] // 33 * 32
    mask = n_slots - 1
    cap = pool_node.shape[0]
    top = 0
    nq = 0
    cb = np.int64(1) << 62
    for k in range(seed_nodes.shape[0]):
        s = seed_nodes[k]
        t = seed_times[k]
        if not t <= cutoff:
            continue
        st = state[s]
        b = np.int64(t * inv_delta)
        if st == _UNSEEN or (t < dist[s] and np.int64(dist[s] * inv_delta) != b):
            if top == cap:
                top = _compact(state, dist, inv_delta, head, pool_node, pool_next, np.int64(nq))
            sl = b & mask
            pool_node[top] = s
            pool_next[top] = head[sl]
            head[sl] = top
            head[n_slots + (sl >> 5)] &= ~(1 << (sl & 31))
            top += 1
        if st == _UNSEEN:
            dist[s] = t
            state[s] = _QUEUED
            nq += 1
            if use_labels:
                label[s] = seed_labels[k]
        elif t < dist[s]:
            dist[s] = t
            if use_labels:
                label[s] = seed_labels[k]
        elif use_labels and t == dist[s] and seed_labels[k] < label[s]:
            label[s] = seed_labels[k]
        if b < cb:
            cb = b
    count = 0
    while nq > 0:
        slot = cb & mask
        # the buckets from this one on that hold entries (bits of the word: 1 = empty)
        ahead = (~np.int64(head[n_slots + (slot >> 5)]) & 0xFFFFFFFF) >> (slot & 31)
        if ahead == 0:
            cb += 32 - (slot & 31)  # the rest of this word's buckets are empty
            continue
        if (ahead & 1) == 0:
            cb += _trailing_zeros(ahead)  # to the next bucket with entries
            slot = cb & mask
        first = count
        while head[slot] != -1:
            e = head[slot]
            head[slot] = pool_next[e]
            u = pool_node[e]
            su = state[u]
            if su == _SCANNED:
                continue  # stale entry: the node was scanned in a lower bucket
            nq -= 1
            if su == _QUEUED:
                order[count] = u
                count += 1
            state[u] = _SCANNED
            du = dist[u]
            lu = label[u] if use_labels else 0
            for a in range(indptr[u], indptr[u + 1]):
                v = indices[a]
                nt = du + weights[a]
                if not nt <= cutoff:  # NaN never enters a bucket
                    continue
                sv = state[v]
                push = -1
                if sv == _UNSEEN:
                    dist[v] = nt
                    state[v] = _QUEUED
                    nq += 1
                    push = np.int64(nt * inv_delta) & mask
                    if use_labels:
                        label[v] = lu
                elif nt < dist[v]:
                    if sv == _SCANNED:
                        # scanned in this open bucket (earlier buckets are final): scan again
                        state[v] = _REQUEUED
                        nq += 1
                        push = slot
                    else:
                        nb = np.int64(nt * inv_delta)
                        if np.int64(dist[v] * inv_delta) != nb:
                            push = nb & mask
                    dist[v] = nt
                    if use_labels:
                        label[v] = lu
                elif use_labels and nt == dist[v] and lu < label[v]:
                    label[v] = lu
                    if sv == _SCANNED:
                        state[v] = _REQUEUED
                        nq += 1
                        push = slot
                if push >= 0:
                    if top == cap:
                        top = _compact(
                            state, dist, inv_delta, head, pool_node, pool_next, np.int64(nq)
                        )
                    pool_node[top] = v
                    pool_next[top] = head[push]
                    head[push] = top
                    head[n_slots + (push >> 5)] &= ~(1 << (push & 31))
                    top += 1
        head[n_slots + (slot >> 5)] |= 1 << (slot & 31)
        if sort and count > first:
            # the bucket is closed: its nodes are final
            _sort_bucket(order, order_t, first, count, dist)
        cb += 1
    # stale entries may be left in later buckets
    for w in range(n_slots >> 5):
        if head[n_slots + w] != -1:
            for sl in range(w << 5, (w + 1) << 5):
                head[sl] = -1
            head[n_slots + w] = -1
    return count


@njit(cache=True, nogil=True)
def _spend(budget, slot, total):
    """Record this batch's output size in ``budget[1 + slot]`` and raise
    :class:`OutputTooLarge` when all batches' sizes together pass ``budget[0]``.

    Batches running on other threads own the other slots: reading them unlocked can only see
    an older, smaller size, so the check is never stricter than the true total.
    """
    budget[1 + slot] = total
    used = np.int64(0)
    for j in range(1, budget.shape[0]):
        used += budget[j]
    if used > budget[0]:
        raise OutputTooLarge("the output would pass its budget")


@njit(cache=True, nogil=True)
def _grow(nodes, times, need):
    """``(nodes, times)`` (int32 and float64 buffers of one length), doubled until they hold
    ``need`` entries, the old entries copied.

    One function for both buffers and a plain copy loop: each dtype of a one-array ``_grow``
    and the shape check of a slice assignment were compiles of their own (~1 s of a cold start).
    """
    cap = nodes.shape[0]
    if need <= cap:
        return nodes, times
    while cap < need:
        cap *= 2
    out_n = np.empty(cap, dtype=np.int32)
    out_t = np.empty(cap)
    for k in range(nodes.shape[0]):
        out_n[k] = nodes[k]
        out_t[k] = times[k]
    return out_n, out_t


# -- reach sets -----------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def reach_runs(
    indptr,
    indices,
    weights,
    src_ptr,
    seed_nodes,
    seed_times,
    cutoff,
    delta=0.0,
    budget=None,
    slot=0,
):
    """Bounded searches for many sources (bucket queue), results left where they were written.

    Source ``i`` has seeds ``seed_nodes[src_ptr[i]:src_ptr[i+1]]``. Sources are searched in
    Hilbert order (:func:`_source_order`) and their results appended to one buffer: returns
    ``(start, count, nodes, times)`` with source ``i``'s nodes (sorted by time) and times at
    ``[start[i], start[i] + count[i])`` of ``nodes``/``times``. ``delta`` is the bucket width
    in seconds (<= 0: :func:`default_delta`). :func:`gather_runs` puts them in source order.

    ``budget`` (int64, optional) bounds the output of several batches: ``budget[0]`` is the most
    (node, time) pairs all of them may return together and ``budget[1 + slot]`` this batch's
    count so far; :class:`OutputTooLarge` is raised as soon as the sum passes the bound (a
    threshold beyond the network's reach makes every source reach every node of its piece).
    """
    cutoff = _finite_cutoff(cutoff)
    _check_ptr(src_ptr, seed_nodes.shape[0], "src_ptr must split the seeds into runs")
    n_src = src_ptr.shape[0] - 1
    inv, dist, state, order, order_t, head, pool_node, pool_next = _bucket_setup(
        indptr, indices, weights, seed_nodes, seed_times, cutoff, delta
    )
    label = np.empty(0, dtype=np.int64)
    start = np.zeros(n_src, dtype=np.int64)
    count_of = np.zeros(n_src, dtype=np.int64)
    buf_nodes = np.empty(max(16, 64 * n_src), dtype=np.int32)
    buf_times = np.empty(buf_nodes.shape[0])
    total = 0
    done = 0
    for i in _source_order(src_ptr, seed_nodes):
        a, b = src_ptr[i], src_ptr[i + 1]
        count = _bucket_sssp(
            indptr,
            indices,
            weights,
            seed_nodes[a:b],
            seed_times[a:b],
            cutoff,
            inv,
            dist,
            state,
            order,
            order_t,
            head,
            pool_node,
            pool_next,
            label,
            label,
            _NO,
            _YES,
        )
        done += 1
        if budget is not None:
            _spend(budget, slot, total + count)
        if total + count > buf_nodes.shape[0]:
            # grow to the expected total at this rate of nodes per source
            need = max(total + count, (total + count) * n_src // done * 9 // 8)
            buf_nodes, buf_times = _grow(buf_nodes, buf_times, need)
        for k in range(count):
            buf_nodes[total + k] = order[k]
            buf_times[total + k] = order_t[k]
        for k in range(count):
            state[order[k]] = _UNSEEN
        start[i] = total
        count_of[i] = count
        total += count
    return start, count_of, buf_nodes, buf_times


@njit(cache=True, nogil=True)
def gather_runs(start, count, nodes, times, src_ids, out_ptr, out_nodes, out_times):
    """Copy run ``k`` of :func:`reach_runs` to ``out_*[out_ptr[src_ids[k]]:]``."""
    for k in range(start.shape[0]):
        a = start[k]
        b = out_ptr[src_ids[k]]
        for q in range(count[k]):
            out_nodes[b + q] = nodes[a + q]
            out_times[b + q] = times[a + q]


@njit(cache=True, nogil=True)
def reach_batch(indptr, indices, weights, src_ptr, seed_nodes, seed_times, cutoff, delta=0.0):
    """Bounded searches for many sources (bucket queue).

    Source ``i`` has seeds ``seed_nodes[src_ptr[i]:src_ptr[i+1]]``. Returns CSR-like arrays
    ``(out_ptr, out_nodes, out_times)``: the nodes each source reaches within ``cutoff`` seconds,
    sorted by time. ``delta`` is the bucket width in seconds (<= 0: :func:`default_delta`).
    """
    start, count, nodes, times = reach_runs(
        indptr, indices, weights, src_ptr, seed_nodes, seed_times, cutoff, delta
    )
    return _gather(start, count, nodes, times, start.shape[0])


@njit(cache=True, nogil=True)
def reach_batch_heap(indptr, indices, weights, src_ptr, seed_nodes, seed_times, cutoff):
    """:func:`reach_batch` with a binary heap (reference implementation)."""
    cutoff = _finite_cutoff(cutoff)
    _check_ptr(src_ptr, seed_nodes.shape[0], "src_ptr must split the seeds into runs")
    _check_graph(indptr, indices, weights, seed_nodes, seed_times)
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
    out_nodes = np.empty(max(16, 64 * n_src), dtype=np.int32)
    out_times = np.empty(out_nodes.shape[0])
    total = 0
    for i in range(n_src):
        a, b = src_ptr[i], src_ptr[i + 1]
        count = _bounded_sssp(
            indptr,
            indices,
            weights,
            seed_nodes[a:b],
            seed_times[a:b],
            cutoff,
            dist,
            settled,
            heap_t,
            heap_n,
            touched,
        )
        out_nodes, out_times = _grow(out_nodes, out_times, total + count)
        for k in range(count):
            node = touched[k]
            out_nodes[total + k] = node
            out_times[total + k] = dist[node]
        # seeds beyond the cutoff are never labelled; labelled nodes are all settled
        for k in range(count):
            node = touched[k]
            dist[node] = INF
            settled[node] = False
        total += count
        out_ptr[i + 1] = total
    return out_ptr, out_nodes[:total].copy(), out_times[:total].copy()


# -- nearest source -------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def nearest_source(
    indptr, indices, weights, seed_nodes, seed_times, seed_labels, cutoff, delta=0.0
):
    """One multi-source search: for every node the time to the closest seed and its label.

    Unreached nodes get time +inf and label -1. A node equally near several seeds gets the
    lowest of their labels (so the answer does not depend on the order of the search).
    """
    cutoff = _finite_cutoff(cutoff)
    if seed_labels.shape[0] != seed_nodes.shape[0]:
        raise ValueError("seed_labels and seed_nodes must have the same length")
    n = indptr.shape[0] - 1
    inv, dist, state, order, order_t, head, pool_node, pool_next = _bucket_setup(
        indptr, indices, weights, seed_nodes, seed_times, cutoff, delta
    )
    label = np.empty(n, dtype=np.int64)
    count = _bucket_sssp(
        indptr,
        indices,
        weights,
        seed_nodes,
        seed_times,
        cutoff,
        inv,
        dist,
        state,
        order,
        order_t,
        head,
        pool_node,
        pool_next,
        label,
        seed_labels,
        _YES,
        _NO,
    )
    out_t = np.full(n, INF)
    out_l = np.full(n, -1, dtype=np.int64)
    for k in range(count):
        v = order[k]
        out_t[v] = dist[v]
        out_l[v] = label[v]
    return out_t, out_l


@njit(cache=True, nogil=True)
def nearest_source_heap(indptr, indices, weights, seed_nodes, seed_times, seed_labels, cutoff):
    """:func:`nearest_source` with a binary heap (reference implementation)."""
    cutoff = _finite_cutoff(cutoff)
    if seed_labels.shape[0] != seed_nodes.shape[0]:
        raise ValueError("seed_labels and seed_nodes must have the same length")
    _check_graph(indptr, indices, weights, seed_nodes, seed_times)
    n = indptr.shape[0] - 1
    dist = np.full(n, INF)
    label = np.full(n, -1, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    # a node re-scanned to pass on a lower label on a tie adds up to its out-degree pushes
    heap_cap = 2 * indices.shape[0] + seed_nodes.shape[0] + 1
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
            if nt > cutoff:
                continue
            if nt < dist[v]:
                dist[v] = nt
                label[v] = lu
                size = _heap_push(heap_t, heap_n, size, nt, v)
            elif nt == dist[v] and lu < label[v]:
                label[v] = lu
                if settled[v]:
                    settled[v] = False
                    if size >= heap_cap:
                        heap_n, heap_t = _grow(heap_n, heap_t, 2 * heap_cap)
                        heap_cap = heap_t.shape[0]
                    size = _heap_push(heap_t, heap_n, size, nt, v)
    return dist, label


# -- node order -----------------------------------------------------------------------------------


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


# -- coverage -------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _demand_times(
    count, order, dist, cutoff, node_ptr, node_demand, node_time, best, seen, ex_demand, ex_time
):
    """Demand units within ``cutoff`` of one search (plus extra direct pairs): returns k, with
    ``seen[:k]`` the units and ``best`` their times (the caller resets ``best[seen[:k]]``)."""
    k = 0
    for q in range(count):
        v = order[q]
        dv = dist[v]
        for r in range(node_ptr[v], node_ptr[v + 1]):
            i = node_demand[r]
            t = dv + node_time[r]
            if t <= cutoff and t < best[i]:
                if best[i] == INF:
                    seen[k] = i
                    k += 1
                best[i] = t
    for r in range(ex_demand.shape[0]):
        i = ex_demand[r]
        t = ex_time[r]
        if t <= cutoff and t < best[i]:
            if best[i] == INF:
                seen[k] = i
                k += 1
            best[i] = t
    return k


@njit(cache=True, nogil=True)
def cover_pairs(
    indptr,
    indices,
    weights,
    src_ptr,
    seed_nodes,
    seed_times,
    cutoff,
    node_ptr,
    node_demand,
    node_time,
    n_demand,
    ex_ptr=None,
    ex_demand=None,
    ex_time=None,
    delta=0.0,
    budget=None,
    slot=0,
):
    """Demand units within ``cutoff`` of each source: sparse (source, demand, time) triples.

    Demand unit ``i`` is attached to nodes: ``node_demand[node_ptr[v]:node_ptr[v+1]]`` lists the
    units attached at node ``v`` and ``node_time`` the time from the unit to ``v``. A unit's time
    to a source is the minimum over its attachments of (time to node + node's time to source),
    and over the optional direct pairs of source ``s``, ``ex_demand[ex_ptr[s]:ex_ptr[s+1]]`` with
    times ``ex_time`` (e.g. a unit on the same edge as the facility).
    Returns ``(ptr, demand, time)`` grouped by source (demand int32, in no particular order
    within a source). ``budget`` and ``slot`` bound the pairs returned, as in :func:`reach_runs`.
    """
    cutoff = _finite_cutoff(cutoff)
    _check_ptr(src_ptr, seed_nodes.shape[0], "src_ptr must split the seeds into runs")
    n = indptr.shape[0] - 1
    n_src = src_ptr.shape[0] - 1
    inv, dist, state, order, order_t, head, pool_node, pool_next = _bucket_setup(
        indptr, indices, weights, seed_nodes, seed_times, cutoff, delta
    )
    no_label = np.empty(0, dtype=np.int64)
    best = np.full(n_demand, INF)
    seen = np.empty(n_demand, dtype=np.int64)
    if ex_ptr is None:
        e_ptr = np.zeros(n_src + 1, dtype=np.int64)
        e_dem = np.empty(0, dtype=np.int64)
        e_time = np.empty(0)
    else:
        e_ptr = ex_ptr
        e_dem = ex_demand
        e_time = ex_time
    _check_demand(n, n_src, node_ptr, node_demand, node_time, n_demand, e_ptr, e_dem, e_time)
    start = np.zeros(n_src, dtype=np.int64)
    count_of = np.zeros(n_src, dtype=np.int64)
    buf_d = np.empty(max(16, 16 * n_src), dtype=np.int32)
    buf_t = np.empty(buf_d.shape[0])
    total = 0
    done = 0
    for s in _source_order(src_ptr, seed_nodes):
        a, b = src_ptr[s], src_ptr[s + 1]
        count = _bucket_sssp(
            indptr,
            indices,
            weights,
            seed_nodes[a:b],
            seed_times[a:b],
            cutoff,
            inv,
            dist,
            state,
            order,
            order_t,
            head,
            pool_node,
            pool_next,
            no_label,
            no_label,
            _NO,
            _NO,
        )
        k = _demand_times(
            count,
            order,
            dist,
            cutoff,
            node_ptr,
            node_demand,
            node_time,
            best,
            seen,
            e_dem[e_ptr[s] : e_ptr[s + 1]],
            e_time[e_ptr[s] : e_ptr[s + 1]],
        )
        for q in range(count):
            state[order[q]] = _UNSEEN
        done += 1
        if budget is not None:
            _spend(budget, slot, total + k)
        if total + k > buf_d.shape[0]:
            need = max(total + k, (total + k) * n_src // done * 9 // 8)
            buf_d, buf_t = _grow(buf_d, buf_t, need)
        for q in range(k):
            i = seen[q]
            buf_d[total + q] = i
            buf_t[total + q] = best[i]
            best[i] = INF
        start[s] = total
        count_of[s] = k
        total += k
    return _gather(start, count_of, buf_d, buf_t, n_src)


@njit(cache=True, nogil=True)
def cover_bits(
    indptr,
    indices,
    weights,
    src_ptr,
    seed_nodes,
    seed_times,
    cutoff,
    node_ptr,
    node_demand,
    node_time,
    bits,
    row0,
    ex_ptr,
    ex_demand,
    ex_time,
    delta=0.0,
):
    """Coverage as a packed bitset, one row per source: sets bit ``i % 64`` of word ``i // 64``
    of row ``row0 + s`` of ``bits`` (uint64, n_sources x ceil(n_demand / 64)) when demand unit
    ``i`` is within ``cutoff`` of source ``s``.

    Same inputs as :func:`cover_pairs` (the direct pairs are required, possibly empty). A unit
    is covered as soon as one of its attachments is within the cutoff, so no times are kept; a
    source's row (1/64 of a byte per demand unit) stays in cache while it is filled, and
    threads share nothing when they own different rows. Returns the number of pairs set.
    """
    cutoff = _finite_cutoff(cutoff)
    _check_ptr(src_ptr, seed_nodes.shape[0], "src_ptr must split the seeds into runs")
    n = indptr.shape[0] - 1
    inv, dist, state, order, order_t, head, pool_node, pool_next = _bucket_setup(
        indptr, indices, weights, seed_nodes, seed_times, cutoff, delta
    )
    n_src = src_ptr.shape[0] - 1
    _check_demand(
        n, n_src, node_ptr, node_demand, node_time, bits.shape[1] * 64, ex_ptr, ex_demand, ex_time
    )
    if row0 < 0 or row0 + n_src > bits.shape[0]:
        raise ValueError("bits must have a row for every source (row0 + s)")
    no_label = np.empty(0, dtype=np.int64)
    total = 0
    one = np.uint64(1)
    for s in _source_order(src_ptr, seed_nodes):
        a, b = src_ptr[s], src_ptr[s + 1]
        count = _bucket_sssp(
            indptr,
            indices,
            weights,
            seed_nodes[a:b],
            seed_times[a:b],
            cutoff,
            inv,
            dist,
            state,
            order,
            order_t,
            head,
            pool_node,
            pool_next,
            no_label,
            no_label,
            _NO,
            _NO,
        )
        row = bits[row0 + s]
        for q in range(count):
            v = order[q]
            dv = dist[v]
            state[v] = _UNSEEN
            for r in range(node_ptr[v], node_ptr[v + 1]):
                if dv + node_time[r] <= cutoff:
                    i = node_demand[r]
                    row[i >> 6] |= one << np.uint64(i & 63)
        for r in range(ex_ptr[s], ex_ptr[s + 1]):
            if ex_time[r] <= cutoff:
                i = ex_demand[r]
                row[i >> 6] |= one << np.uint64(i & 63)
        for w in range(row.shape[0]):
            total += _popcount(row[w])
    return total


@njit(cache=True, nogil=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, nogil=True)
def scatter_pairs(src_ptr, demand, times, col0, fill, out_indices, out_data):
    """Transpose source-major pairs into a demand-major CSR: pair (source s, demand i, t) goes
    to ``out_*[fill[i]]`` with column ``col0 + s``; ``fill`` (the rows' next free slots) advances.
    Called for chunks of sources in increasing order, it leaves every row's columns sorted."""
    for s in range(src_ptr.shape[0] - 1):
        for r in range(src_ptr[s], src_ptr[s + 1]):
            i = demand[r]
            p = fill[i]
            out_indices[p] = col0 + s
            out_data[p] = times[r]
            fill[i] = p + 1
