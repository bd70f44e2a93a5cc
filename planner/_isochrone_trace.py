"""Isochrone polygons, the tracing: marching squares on the field, and the rings as polygons.

Part of :mod:`planner._isochrone` (which describes the method and its error bound):
:func:`march` traces the zero level of a field on the cells the outline may cross,
:func:`assemble` makes the rings polygons (holes to the smallest shell holding them), and
:func:`raised` / :func:`rings_inside` nest a facility's thresholds without a GEOS overlay
(on one grid by construction; across grids by a test on the rings). Compiled with numba; the
kernels release the GIL.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _crossing(z, edge):
    """Where the zero level crosses grid edge ``edge`` (node units), linearly interpolated.

    Edge ``2 (j nx + i)`` runs from node (j, i) to (j, i + 1), edge ``2 (j nx + i) + 1`` to
    (j + 1, i). The fraction is kept off the nodes so that rings never touch.
    """
    nx = z.shape[1]
    cell = edge // 2
    j = cell // nx
    i = cell - j * nx
    vertical = edge % 2 == 1
    fa = z[j, i]
    fb = z[j + 1, i] if vertical else z[j, i + 1]
    t = min(max(fa / (fa - fb), 1e-6), 1.0 - 1e-6)
    if vertical:
        return float(i), j + t
    return i + t, float(j)


@njit(cache=True, nogil=True, inline="always")
def _cell_edge(k, j, i, nx):
    """Id of edge ``k`` of cell (j, i), counter-clockwise: bottom, right, top, left."""
    if k == 0:
        return 2 * (j * nx + i)
    if k == 1:
        return 2 * (j * nx + i + 1) + 1
    if k == 2:
        return 2 * ((j + 1) * nx + i)
    return 2 * (j * nx + i) + 1


@njit(cache=True, nogil=True, inline="always")
def _corner(f0, f1, f2, f3, k):
    """Corner ``k`` (mod 4) of a cell's values, counter-clockwise from its lower left."""
    k = k % 4
    if k == 0:
        return f0
    if k == 1:
        return f1
    if k == 2:
        return f2
    return f3


@njit(cache=True, nogil=True)
def _cell_segments(z, j, i, starts, ends, m):
    """Marching squares in cell (j, i): its segments, inside (f < 0) on their left.

    Going round the cell counter-clockwise, each edge from an inside corner to an outside one
    (an exit) is joined to an entry: the next one, or in a saddle whose centre is outside,
    the one after (the two inside corners then stay apart). Returns the new count; the
    segments are written where ``starts`` has room (two a cell at most).
    """
    nx = z.shape[1]
    write = len(starts) > m
    f0, f1, f2, f3 = z[j, i], z[j, i + 1], z[j + 1, i + 1], z[j + 1, i]
    n_in = (f0 < 0.0) + (f1 < 0.0) + (f2 < 0.0) + (f3 < 0.0)
    if n_in == 0 or n_in == 4:
        return m
    saddle = n_in == 2 and (f0 < 0.0) == (f2 < 0.0)
    centre_in = (f0 + f1 + f2 + f3) < 0.0
    for k in range(4):
        if not (_corner(f0, f1, f2, f3, k) < 0.0 and _corner(f0, f1, f2, f3, k + 1) >= 0.0):
            continue  # not an exit
        e = k + 1
        if saddle and not centre_in:
            e = k + 3
        else:
            while not (_corner(f0, f1, f2, f3, e) >= 0.0 and _corner(f0, f1, f2, f3, e + 1) < 0.0):
                e += 1
        if write:
            starts[m] = _cell_edge(k, j, i, nx)
            ends[m] = _cell_edge(e % 4, j, i, nx)
        m += 1
    return m


@njit(cache=True, nogil=True)
def _march_cells(z, live, block, starts, ends):
    """Run :func:`_cell_segments` over the cells of the ``live`` blocks with corners of both
    signs (a cell's block is that of its lower-left node); the count."""
    ny, nx = z.shape
    m = np.int64(0)  # not a literal 0: one compiled signature of _cell_segments
    for bj in range(live.shape[0]):
        for bi in range(live.shape[1]):
            if not live[bj, bi]:
                continue
            for j in range(bj * block, min(ny - 1, bj * block + block)):
                for i in range(bi * block, min(nx - 1, bi * block + block)):
                    neg = (z[j, i] < 0.0) + (z[j, i + 1] < 0.0) + (z[j + 1, i] < 0.0)
                    neg += z[j + 1, i + 1] < 0.0
                    if 0 < neg < 4:
                        m = _cell_segments(z, j, i, starts, ends, m)
    return m


@njit(cache=True, nogil=True)
def march(z, live, block):
    """The closed rings of the zero level of ``z``, in node units: ``(xs, ys, ring_ptr)``.

    Marching squares over the cells of the ``live`` blocks of ``block`` x ``block`` nodes (the
    others are not crossed, :func:`field`): each crossed grid edge starts one segment and ends
    another (the grid's border is outside), and the rings follow the segments edge to edge.
    """
    # one pass into room for the most there can be (two segments a cell of the live blocks):
    # 40 % less than counting first
    room = 2 * int(live.sum()) * block * block + 1
    starts = np.empty(room, dtype=np.int64)
    ends = np.empty(room, dtype=np.int64)
    n = min(_march_cells(z, live, block, starts, ends), room)  # (no more: kept memory-safe)
    # each crossed grid edge starts exactly one segment: an open-addressing table edge ->
    # segment finds the next one (no sort: numba's argsort costs a second of compiling)
    size = 1
    while size < 2 * n + 2:
        size *= 2
    mask = size - 1
    key = np.full(size, -1, dtype=np.int64)
    seg = np.empty(size, dtype=np.int64)
    for s in range(n):
        slot = (starts[s] * 2654435761) & mask
        while key[slot] != -1:
            slot = (slot + 1) & mask
        key[slot], seg[slot] = starts[s], s
    xs = np.empty(n)
    ys = np.empty(n)
    ring_ptr = np.zeros(n + 1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    m = 0
    rings = 0
    for s0 in range(n):
        if done[s0]:
            continue
        s = s0
        while not done[s]:
            done[s] = True
            xs[m], ys[m] = _crossing(z, starts[s])
            m += 1
            slot = (ends[s] * 2654435761) & mask
            while key[slot] != ends[s] and key[slot] != -1:
                slot = (slot + 1) & mask
            if key[slot] == -1:
                break  # no segment starts there (not for a finite field: kept memory-safe)
            s = seg[slot]
        rings += 1
        ring_ptr[rings] = m
    return xs, ys, ring_ptr[: rings + 1]


@njit(cache=True, nogil=True)
def raised(z, zb, oj, oi, block):
    """``z = max(z, zb)`` node by node, node ``(j, i)`` of ``z`` being ``(oj + j, oi + i)`` of
    ``zb`` (a window of its lattice; nodes outside ``zb`` are made outside); the blocks with a
    cell whose corners differ in sign (all of them looked at: the raised field may cross where
    ``z`` alone did not)."""
    ny, nx = z.shape
    for j in range(ny):
        for i in range(nx):
            jb, ib = oj + j, oi + i
            if 0 <= jb < zb.shape[0] and 0 <= ib < zb.shape[1]:
                if zb[jb, ib] > z[j, i]:
                    z[j, i] = zb[jb, ib]
            elif z[j, i] < 0.0:
                z[j, i] = -z[j, i]
    live = np.zeros(((ny + block - 1) // block, (nx + block - 1) // block), dtype=np.bool_)
    for j in range(ny - 1):
        for i in range(nx - 1):
            neg = (z[j, i] < 0.0) + (z[j, i + 1] < 0.0) + (z[j + 1, i] < 0.0)
            neg += z[j + 1, i + 1] < 0.0
            if 0 < neg < 4:
                live[j // block, i // block] = True
    return live


@njit(cache=True, nogil=True)
def signed_areas(xs, ys, ring_ptr):
    """Shoelace area of each ring (positive counter-clockwise)."""
    out = np.zeros(len(ring_ptr) - 1)
    for r in range(len(ring_ptr) - 1):
        a = ring_ptr[r]
        b = ring_ptr[r + 1]
        s = 0.0
        for k in range(a, b):
            k1 = k + 1 if k + 1 < b else a
            s += xs[k] * ys[k1] - xs[k1] * ys[k]
        out[r] = 0.5 * s
    return out


@njit(cache=True, nogil=True)
def _row_buckets(xs, ys, ring_ptr):
    """Segments of closed rings (node units) bucketed by the cell rows they span.

    Returns ``(ring_of, nxt, row_ptr, seg)``: each vertex's ring and the next vertex of its
    ring, and in ``seg[row_ptr[j]:row_ptr[j + 1]]`` the segments (by first vertex) whose
    ``y`` range meets row ``j``, ``[j, j + 1]``. Traced segments lie in one cell, so most are
    in one row or two; simplified ones may span more.
    """
    n = len(ring_ptr) - 1
    nv = len(xs)
    ring_of = np.empty(nv, dtype=np.int64)
    nxt = np.empty(nv, dtype=np.int64)
    for r in range(n):
        for k in range(ring_ptr[r], ring_ptr[r + 1]):
            ring_of[k] = r
            nxt[k] = k + 1 if k + 1 < ring_ptr[r + 1] else ring_ptr[r]
    rows = 1
    for k in range(nv):
        rows = max(rows, int(math.floor(max(ys[k], 0.0))) + 1)
    row_ptr = np.zeros(rows + 1, dtype=np.int64)
    for k in range(nv):
        j0, j1 = _rows_of(ys[k], ys[nxt[k]], rows)
        for j in range(j0, j1 + 1):
            row_ptr[j + 1] += 1
    for j in range(rows):
        row_ptr[j + 1] += row_ptr[j]
    fill = row_ptr[:-1].copy()
    seg = np.empty(row_ptr[rows], dtype=np.int64)
    for k in range(nv):
        j0, j1 = _rows_of(ys[k], ys[nxt[k]], rows)
        for j in range(j0, j1 + 1):
            seg[fill[j]] = k
            fill[j] += 1
    return ring_of, nxt, row_ptr, seg


@njit(cache=True, nogil=True, inline="always")
def _rows_of(ya, yb, rows):
    """The rows ``[j0, j1]`` a segment from height ``ya`` to ``yb`` meets (clipped)."""
    j0 = min(int(math.floor(max(min(ya, yb), 0.0))), rows - 1)
    j1 = min(int(math.floor(max(max(ya, yb), 0.0))), rows - 1)
    return j0, j1


@njit(cache=True, nogil=True, inline="always")
def _row_span(row_ptr, py):
    """The bucketed segments a horizontal ray at height ``py`` may cross: those of row
    ``floor(py)`` (every segment with ``min y <= py <= max y`` is there)."""
    rows = len(row_ptr) - 1
    j = min(int(math.floor(max(py, 0.0))), rows - 1)
    return row_ptr[j], row_ptr[j + 1]


@njit(cache=True, nogil=True, inline="always")
def _crosses(xs, ys, k, k1, px, py):
    """Whether the ray from (px, py) towards -x crosses segment ``k -> k1`` (even-odd rule)."""
    if (ys[k] > py) != (ys[k1] > py):
        return px < xs[k] + (py - ys[k]) * (xs[k1] - xs[k]) / (ys[k1] - ys[k])
    return False


@njit(cache=True, nogil=True)
def _hole_owners(xs, ys, ring_ptr, area):
    """For each hole (negative ``area``), the smallest shell holding its first vertex; -1 else.

    Rings in node units: the even-odd count of every ring at once costs one row's segments
    per hole (:func:`_row_buckets`), not every shell's vertices.
    """
    n = len(ring_ptr) - 1
    owner = np.full(n, -1, dtype=np.int64)
    if len(xs) == 0:
        return owner
    ring_of, nxt, row_ptr, seg = _row_buckets(xs, ys, ring_ptr)
    parity = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        if area[r] >= 0.0:
            continue
        px, py = xs[ring_ptr[r]], ys[ring_ptr[r]]
        lo, hi = _row_span(row_ptr, py)
        for q in range(lo, hi):
            k = seg[q]
            if _crosses(xs, ys, k, nxt[k], px, py):
                parity[ring_of[k]] = not parity[ring_of[k]]
        best = np.inf
        for q in range(lo, hi):
            s = ring_of[seg[q]]
            if parity[s] and 0.0 < area[s] < best:
                owner[r], best = s, area[s]
        for q in range(lo, hi):
            parity[ring_of[seg[q]]] = False
    return owner


def assemble(
    xs: np.ndarray,
    ys: np.ndarray,
    ring_ptr: np.ndarray,
    area: np.ndarray,
    h: float = 1.0,
    gx0: float = 0.0,
    gy0: float = 0.0,
):
    """Polygons from closed rings: counter-clockwise ones are shells, clockwise ones holes.

    ``xs``, ``ys`` in node units as traced (the polygon's coordinates are ``gx0 + h xs``,
    ``gy0 + h ys``); ``area`` is each ring's signed area as traced (its orientation).

    Each hole goes to the smallest shell that holds it (:func:`_hole_owners`; rings never
    cross: marching squares with the saddles resolved by the cell centre draws disjoint rings).
    """
    n = len(ring_ptr) - 1
    if n == 0:
        return shapely.Polygon()
    ring_id = np.repeat(np.arange(n), np.diff(ring_ptr))
    rings = shapely.linearrings(xs * h + gx0, ys * h + gy0, indices=ring_id)
    # each ring's polygon: a shell its own, a hole its owner's (-1: none, dropped); then one
    # vectorised call, each polygon's shell before its holes
    group = np.where(area > 0, np.arange(n), _hole_owners(xs, ys, ring_ptr, area))
    use = np.flatnonzero((group >= 0) & (area != 0))
    if len(use) == 0:
        return shapely.Polygon()
    use = use[np.lexsort((area[use] < 0, group[use]))]
    first = np.r_[True, group[use][1:] != group[use][:-1]]
    polys = shapely.polygons(rings[use], indices=np.cumsum(first) - 1)
    if len(polys) == 1:
        return polys[0]
    return shapely.multipolygons(polys)


@njit(cache=True, nogil=True)
def _inside_count(xs, ys, nxt, row_ptr, seg, px, py):
    """Whether (px, py) is inside the rings bucketed by :func:`_row_buckets` (even-odd)."""
    inside = False
    lo, hi = _row_span(row_ptr, py)
    for q in range(lo, hi):
        k = seg[q]
        if _crosses(xs, ys, k, nxt[k], px, py):
            inside = not inside
    return inside


@njit(cache=True, nogil=True, inline="always")
def _orient(ax, ay, bx, by, cx, cy):
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True, nogil=True)
def _boundaries_meet(axs, ays, a_nxt, bxs, bys, b_nxt, scale, ox, oy):
    """Whether a segment of rings ``a`` (their node units; ``scale * x + ox`` in ``b``'s) meets
    (crosses or touches) one of rings ``b``, each of whose segments lies in one cell of ``b``'s
    grid and is found there. Conservative: collinear contact counts as meeting."""
    if len(bxs) == 0 or len(axs) == 0:
        return False
    nxc, nyc = 1, 1
    for k in range(len(bxs)):
        nxc = max(nxc, int(math.floor(max(bxs[k], 0.0))) + 2)
        nyc = max(nyc, int(math.floor(max(bys[k], 0.0))) + 2)
    # b's segments by cell in an open-addressing table (cell -> first segment, then links):
    # room for the segments, not for every cell of the grid
    size = 1
    while size < 2 * len(bxs) + 2:
        size *= 2
    mask = size - 1
    key = np.full(size, -1, dtype=np.int64)
    head = np.empty(size, dtype=np.int64)
    link = np.empty(len(bxs), dtype=np.int64)
    for k in range(len(bxs)):
        k1 = b_nxt[k]
        c = int(math.floor(max(min(bys[k], bys[k1]), 0.0))) * nxc
        c += int(math.floor(max(min(bxs[k], bxs[k1]), 0.0)))
        slot = (c * 2654435761) & mask
        while key[slot] != -1 and key[slot] != c:
            slot = (slot + 1) & mask
        if key[slot] == -1:
            key[slot], head[slot] = c, -1
        link[k], head[slot] = head[slot], k
    for k in range(len(axs)):
        k1 = a_nxt[k]
        x0, y0 = scale * axs[k] + ox, scale * ays[k] + oy
        x1, y1 = scale * axs[k1] + ox, scale * ays[k1] + oy
        i0 = max(int(math.floor(min(x0, x1))) - 1, 0)
        i1 = min(int(math.floor(max(x0, x1))), nxc - 1)
        j0 = max(int(math.floor(min(y0, y1))) - 1, 0)
        j1 = min(int(math.floor(max(y0, y1))), nyc - 1)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * nxc + i
                slot = (c * 2654435761) & mask
                while key[slot] != -1 and key[slot] != c:
                    slot = (slot + 1) & mask
                q = head[slot] if key[slot] == c else -1
                while q >= 0:
                    q1 = b_nxt[q]
                    d1 = _orient(x0, y0, x1, y1, bxs[q], bys[q])
                    d2 = _orient(x0, y0, x1, y1, bxs[q1], bys[q1])
                    d3 = _orient(bxs[q], bys[q], bxs[q1], bys[q1], x0, y0)
                    d4 = _orient(bxs[q], bys[q], bxs[q1], bys[q1], x1, y1)
                    if d1 * d2 <= 0.0 and d3 * d4 <= 0.0:
                        return True
                    q = link[q]
    return False


@njit(cache=True, nogil=True)
def rings_inside(axs, ays, a_ptr, bxs, bys, b_ptr, scale, ox, oy):
    """Whether the region of rings ``a`` lies inside that of rings ``b`` (even-odd regions of
    disjoint rings, each in its grid's node units; ``a`` at ``scale * x + ox`` in ``b``'s),
    their boundaries apart. Then each ring lies wholly inside or outside the other region, so:
    every ring of ``a`` inside ``b``, and no ring of ``b`` inside ``a`` (just across it would
    be a point of ``a`` outside ``b``). ``False`` when unsure (boundaries that touch)."""
    if len(axs) == 0:
        return True
    _, a_nxt, a_rows, a_seg = _row_buckets(axs, ays, a_ptr)
    _, b_nxt, b_rows, b_seg = _row_buckets(bxs, bys, b_ptr)
    if _boundaries_meet(axs, ays, a_nxt, bxs, bys, b_nxt, scale, ox, oy):
        return False
    for r in range(len(a_ptr) - 1):
        k = a_ptr[r]
        px, py = scale * axs[k] + ox, scale * ays[k] + oy
        if not _inside_count(bxs, bys, b_nxt, b_rows, b_seg, px, py):
            return False
    for r in range(len(b_ptr) - 1):
        k = b_ptr[r]
        px, py = (bxs[k] - ox) / scale, (bys[k] - oy) / scale
        if _inside_count(axs, ays, a_nxt, a_rows, a_seg, px, py):
            return False
    return True


@njit(cache=True, nogil=True)
def simplify_rings(xs, ys, ring_ptr, tol):
    """Douglas-Peucker on each closed ring: which vertices to keep (all within ``tol``).

    Each ring is split at its first vertex and the vertex farthest from it, and both halves
    are simplified with an explicit stack.
    """
    keep = np.zeros(len(xs), dtype=np.bool_)
    stack = np.empty((2 * len(xs) + 2, 2), dtype=np.int64)
    for r in range(len(ring_ptr) - 1):
        a, b = ring_ptr[r], ring_ptr[r + 1]
        far, best = a, -1.0
        for k in range(a, b):
            d = (xs[k] - xs[a]) ** 2 + (ys[k] - ys[a]) ** 2
            if d > best:
                far, best = k, d
        keep[a] = True
        keep[far] = True
        top = 0
        stack[0, 0], stack[0, 1] = a, far
        stack[1, 0], stack[1, 1] = far, b  # index b stands for a (the ring closes)
        top = 2
        while top > 0:
            top -= 1
            i0, i1 = stack[top, 0], stack[top, 1]
            if i1 - i0 < 2:
                continue
            e = i1 if i1 < b else a
            dx, dy = xs[e] - xs[i0], ys[e] - ys[i0]
            ln = math.sqrt(dx * dx + dy * dy)
            worst, at = -1.0, -1
            for k in range(i0 + 1, i1):
                if ln > 0.0:
                    d = abs((xs[k] - xs[i0]) * dy - (ys[k] - ys[i0]) * dx) / ln
                else:
                    d = math.sqrt((xs[k] - xs[i0]) ** 2 + (ys[k] - ys[i0]) ** 2)
                if d > worst:
                    worst, at = d, k
            if worst > tol:
                keep[at] = True
                stack[top, 0], stack[top, 1] = i0, at
                stack[top + 1, 0], stack[top + 1, 1] = at, i1
                top += 2
    return keep
