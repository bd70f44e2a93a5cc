"""Isochrone polygons, the field: the road pieces reduced, and their distance field on a grid.

Part of :mod:`planner._isochrone` (which describes the method and its error bound): the pieces
whose hull is a disc held by another's are dropped (:func:`covered_discs`), runs of joined
full-radius pieces become chords (:func:`merged`), and :func:`field` computes
``f(x) = min over pieces of (min over the piece of |x - p(s)| - r(s))`` at the grid nodes near
the outline (exact where ``|f| < band``, the right sign elsewhere). Compiled with numba; the
kernels release the GIL.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Coarse blocks of the field kernel, in cells (a block wholly inside one hull is filled at once).
BLOCK = 16
#: Sub-blocks of the field kernel, in nodes (a piece skips those its field cannot lower).
SUB = 4
#: Longest run of road pieces merged into one.
RUN = 64
#: :func:`covered_discs` looks for holders only when at least one piece in this many is a disc
#: (walking: about half; driving, once one-way ends give no point pieces: under 2 %, where
#: finding and dropping them cost more field time than they save, 1.2 ms a facility).
RARE_DISCS = 32
#: The rows of small pieces are evaluated in whole multiples of this many nodes (reaching up
#: to ``LANES - 1`` nodes past the piece's box, where its field is at least ``band`` and leaves
#: the node as it is): no scalar remainder after the vector loop. 15 % off the field of a
#: drive polygon (rows of 8-13 nodes), the same polygons.
LANES = 8
#: A piece whose box (its largest radius + band) holds at most this many grid nodes is
#: evaluated at every node of it, row by row (a vectorised loop: about a nanosecond a node);
#: larger ones block by block, skipping what they cannot change (:func:`_piece_nodes`).
DIRECT_NODES = 1024


@njit(cache=True, nogil=True, inline="always")
def _point_key(x, y):
    """A hash of a point rounded to 0.1 mm (joints computed twice may differ in the last bit)."""
    kx = np.int64(round(x * 1e4))
    ky = np.int64(round(y * 1e4))
    return kx, ky, (kx * 73856093) ^ (ky * 19349663)


@njit(cache=True, nogil=True)
def _disc_ends(x0, y0, r0, x1, y1, r1, disc):
    """A hash set of the disc pieces' larger ends (open addressing, size a power of two):
    ``(kx, ky, used)`` per slot, keys from :func:`_point_key`."""
    size = 1
    while size < 4 * int(disc.sum()) + 4:
        size *= 2
    mask = size - 1
    kx_t = np.zeros(size, dtype=np.int64)
    ky_t = np.zeros(size, dtype=np.int64)
    used = np.zeros(size, dtype=np.bool_)
    for p in range(len(x0)):
        if disc[p]:
            ax, ay = (x0[p], y0[p]) if r0[p] >= r1[p] else (x1[p], y1[p])
            kx, ky, hsh = _point_key(ax, ay)
            slot = hsh & mask
            while used[slot] and not (kx_t[slot] == kx and ky_t[slot] == ky):
                slot = (slot + 1) & mask
            used[slot], kx_t[slot], ky_t[slot] = True, kx, ky
    return kx_t, ky_t, used


@njit(cache=True, nogil=True)
def covered_discs(x0, y0, r0, x1, y1, r1):
    """Pieces whose hull is a disc held by another piece's hull (exact, no bound used).

    A piece whose radius falls at least as fast as it runs (``|r1 - r0| >= length``: walking
    off the road is as fast as along it) sweeps only its larger end disc. That disc is held by
    any other piece ending at the same point with at least that radius there, and dropping it
    changes nothing as long as the holder has a larger largest radius or is not such a piece
    itself (the holders then form chains of growing radius that end at a kept piece). Points
    are matched to 0.1 mm. On foot, where the access speed is the walking speed, this drops
    the pieces of the last ``access_max_m`` of every path: about half of a walking polygon's.
    When fewer than one piece in ``RARE_DISCS`` is a disc (driving: only pieces cut to a
    point), none is dropped: keeping them is exact, and the search would cost more.
    """
    n = len(x0)
    disc = np.empty(n, dtype=np.bool_)
    for p in range(n):
        dx, dy, dr = x1[p] - x0[p], y1[p] - y0[p], abs(r1[p] - r0[p]) + 1e-6
        disc[p] = dx * dx + dy * dy <= dr * dr
    if disc.sum() * RARE_DISCS < n:  # driving: the radius falls slower than the road runs
        return np.zeros(n, dtype=np.bool_)  # (keeping a few is exact; the search costs more)
    kx_t, ky_t, used = _disc_ends(x0, y0, r0, x1, y1, r1, disc)
    mask = len(used) - 1
    # per point: the best holder (largest radius there, then largest largest radius); every
    # piece end at one of those points is a candidate
    best_r = np.full(mask + 1, -1.0)
    best_big = np.full(mask + 1, -1.0)
    best_p = np.full(mask + 1, -1, dtype=np.int64)
    for p in range(n):
        big = max(r0[p], r1[p])
        for e in range(2):
            px, py, pr = (x0[p], y0[p], r0[p]) if e == 0 else (x1[p], y1[p], r1[p])
            kx, ky, hsh = _point_key(px, py)
            slot = hsh & mask
            while used[slot] and not (kx_t[slot] == kx and ky_t[slot] == ky):
                slot = (slot + 1) & mask
            if not used[slot]:
                continue  # not the larger end of any disc piece
            if pr > best_r[slot] or (pr == best_r[slot] and big > best_big[slot]):
                best_r[slot], best_big[slot], best_p[slot] = pr, big, p
    out = np.zeros(n, dtype=np.bool_)
    for p in range(n):
        if not disc[p]:
            continue
        ax, ay, ar = (x0[p], y0[p], r0[p]) if r0[p] >= r1[p] else (x1[p], y1[p], r1[p])
        kx, ky, hsh = _point_key(ax, ay)
        slot = hsh & mask
        while not (kx_t[slot] == kx and ky_t[slot] == ky):
            slot = (slot + 1) & mask
        q = best_p[slot]
        if q != p and best_r[slot] >= ar and (best_big[slot] > ar or not disc[q]):
            out[p] = True
    return out


@njit(cache=True, nogil=True)
def _chord_ok(x0, y0, x1, y1, ex, ey, a, b, eps):
    """Whether the joints ``(x1[k], y1[k])``, k in [a, b), lie within ``eps`` of the chord
    from ``(x0[a], y0[a])`` to ``(ex, ey)``."""
    dx, dy = ex - x0[a], ey - y0[a]
    ln = math.sqrt(dx * dx + dy * dy)
    for k in range(a, b):
        px, py = x1[k] - x0[a], y1[k] - y0[a]
        t = 0.0 if ln == 0.0 else min(max((px * dx + py * dy) / (ln * ln), 0.0), 1.0)
        if math.hypot(px - t * dx, py - t * dy) > eps:
            return False
    return True


@njit(cache=True, nogil=True)
def _taper_ok(x0, y0, r0, x1, y1, r1, ln, a, b, eps):
    """Whether the pieces [a, b] (joined end to start) lie within ``eps`` of the one piece from
    ``(x0[a], y0[a], r0[a])`` to ``(x1[b], y1[b], r1[b])``: at each joint, the distance to the
    chord point at the same share of the length plus the difference of the radii there
    (``ln``: the pieces' lengths)."""
    total = 0.0
    for k in range(a, b + 1):
        total += ln[k]
    if not total > 0.0:
        return False
    cx, cy, cr = x1[b] - x0[a], y1[b] - y0[a], r1[b] - r0[a]
    run = 0.0
    for k in range(a, b):
        run += ln[k]
        w = run / total
        dx, dy = x1[k] - (x0[a] + w * cx), y1[k] - (y0[a] + w * cy)
        d = math.sqrt(dx * dx + dy * dy)
        rho = r0[a] + w * cr
        if d + max(abs(r1[k] - rho), abs(r0[k + 1] - rho)) > eps:
            return False
    return True


@njit(cache=True, nogil=True)
def merged(x0, y0, r0, x1, y1, r1, eps):
    """The pieces with runs of joined pieces replaced by one piece each.

    Real roads come as many short straight segments (OpenStreetMap: a vertex every few metres
    on a curve), each a piece. Where consecutive pieces join end to start and all carry the
    same radius, their union is a sausage along a polyline; the sausage along the chord lies
    within ``eps`` of it when every joint is within ``eps`` of the chord (both ways: each is
    the other's points moved by at most ``eps``). Where the radius changes along the run (the
    time runs out along it), the run becomes the piece along the chord with a linear radius
    when, at every joint, the distance to the chord point at the same share of the run's
    length plus the difference of the radii is at most ``eps`` (:func:`_taper_ok`): both are
    linear between joints, so every disc of the run then lies within ``eps`` of a disc of the
    piece and back. ``eps`` is ``MERGE`` cells of the stated bound. Runs are at most ``RUN``
    pieces.
    """
    n = len(x0)
    keep_a = np.empty(n, dtype=np.int64)
    keep_b = np.empty(n, dtype=np.int64)
    ln = np.empty(n)
    for k in range(n):
        ln[k] = math.sqrt((x1[k] - x0[k]) ** 2 + (y1[k] - y0[k]) ** 2)
    m = 0
    i = np.int64(0)  # not a literal 0: one compiled signature of _chord_ok
    while i < n:
        j = i
        if r0[i] == r1[i]:
            while (
                j + 1 < n
                and j + 1 - i < RUN
                and r0[j + 1] == r0[i]
                and r1[j + 1] == r0[i]
                and x0[j + 1] == x1[j]
                and y0[j + 1] == y1[j]
                and _chord_ok(x0, y0, x1, y1, x1[j + 1], y1[j + 1], i, j + 1, eps)
            ):
                j += 1
        else:
            while (
                j + 1 < n
                and j + 1 - i < RUN
                and r0[j + 1] != r1[j + 1]
                and x0[j + 1] == x1[j]
                and y0[j + 1] == y1[j]
                and abs(r0[j + 1] - r1[j]) <= eps
                and _taper_ok(x0, y0, r0, x1, y1, r1, ln, i, j + 1, eps)
            ):
                j += 1
        keep_a[m], keep_b[m] = i, j
        m += 1
        i = j + 1
    a, b = keep_a[:m], keep_b[:m]
    return x0[a], y0[a], r0[a], x1[b], y1[b], r1[b]


@njit(cache=True, nogil=True, inline="always")
def _piece_field(px, py, row):
    """min over the piece of |x - p(s)| - r(s), r linear in s with slope k (|k| < 1 unless ln < 0).

    ``row`` is the piece's row of :func:`_piece_table`: x0, y0, ux, uy, ln, r0, k, c, x1, y1, r1.
    """
    dx = px - row[0]
    dy = py - row[1]
    ln = row[4]
    if ln < 0.0:  # one end disc holds the other (or a point piece): the larger disc
        g0 = math.sqrt(dx * dx + dy * dy) - row[5]
        ex = px - row[8]
        ey = py - row[9]
        g1 = math.sqrt(ex * ex + ey * ey) - row[10]
        return g0 if g0 < g1 else g1
    ux, uy = row[2], row[3]
    a = dx * ux + dy * uy
    hp = abs(dx * uy - dy * ux)
    s = a + row[7] * hp  # the minimiser of the convex |x - p(s)| - r(s), then clamped to the piece
    if s < 0.0:
        s = 0.0
    elif s > ln:
        s = ln
    q = a - s
    return math.sqrt(q * q + hp * hp) - row[5] - row[6] * s


@njit(cache=True, nogil=True)
def _piece_table(x0, y0, r0, x1, y1, r1):
    """One row per piece for :func:`_piece_field`: x0, y0, ux, uy, ln, r0, k, c, x1, y1, r1."""
    n = len(x0)
    q = np.zeros((n, 11))
    for p in range(n):
        dx = x1[p] - x0[p]
        dy = y1[p] - y0[p]
        d = math.sqrt(dx * dx + dy * dy)
        q[p, 0], q[p, 1], q[p, 5] = x0[p], y0[p], r0[p]
        q[p, 8], q[p, 9], q[p, 10] = x1[p], y1[p], r1[p]
        if d > abs(r1[p] - r0[p]):
            kp = (r1[p] - r0[p]) / d
            q[p, 2], q[p, 3], q[p, 4] = dx / d, dy / d, d
            q[p, 6], q[p, 7] = kp, kp / math.sqrt(1.0 - kp * kp)
        else:
            q[p, 4] = -1.0  # one end disc holds the other: no direction
    return q


@njit(cache=True, nogil=True, inline="always")
def _span(lo, hi, origin, step, last):
    """Indices ``k`` in [0, last] with ``lo <= origin + k * step <= hi`` (empty when a > b)."""
    a = max(0, int(math.ceil((lo - origin) / step)))
    b = min(last, int(math.floor((hi - origin) / step)))
    return a, b


@njit(cache=True, nogil=True, inline="always")
def _marked_around(full, row, rad, gx0, gy0, bw):
    """Whether the blocks at the piece's middle and at ``0.7 rad`` from it on either axis are
    all marked (``rad`` at least a block, all five in the grid)."""
    nby, nbx = full.shape
    d = int(0.7 * rad / bw)
    ci = int((0.5 * (row[0] + row[8]) - gx0) / bw)
    cj = int((0.5 * (row[1] + row[9]) - gy0) / bw)
    if d < 1 or cj - d < 0 or cj + d >= nby or ci - d < 0 or ci + d >= nbx:
        return False
    return (
        full[cj, ci]
        and full[cj - d, ci]
        and full[cj + d, ci]
        and full[cj, ci - d]
        and full[cj, ci + d]
    )


@njit(cache=True, nogil=True)
def _mark_full(q, gx0, gy0, h, band, block, full):
    """Mark the blocks deeper than ``band`` inside one hull.

    A block whose centre lies within ``r_min - band - half diagonal`` of a piece (``r_min`` its
    smaller radius) has field below ``-(band + half diagonal)`` there, so ``<= -band`` at all
    its nodes (1-Lipschitz). That region is a stadium: marked row by row of blocks, in time
    linear in the rows (pieces are many and short on real roads). Only the chords of the end
    discs and what lies between them are marked in each row: a part of the stadium, so the
    marks stay sufficient. A piece whose middle and four points around it are already marked
    is skipped (:func:`_marked_around`): in the interior nearly every piece is, and what it
    would add is a few blocks the field then evaluates (marks are only ever a part of the deep
    region; fewer change no value). A sixth off the field of a drive polygon.
    """
    nby, nbx = full.shape
    bw = block * h
    half_diag = 0.5 * bw * math.sqrt(2.0)
    o = 0.5 * bw
    for p in range(q.shape[0]):
        row = q[p]
        rad = min(row[5], row[10]) - band - half_diag
        if rad <= 0.0 or _marked_around(full, row, rad, gx0, gy0, bw):
            continue
        by0, by1 = _span(min(row[1], row[9]) - rad, max(row[1], row[9]) + rad, gy0 + o, bw, nby - 1)
        for bj in range(by0, by1 + 1):
            # the row's chords of the two end discs and what lies between them: inside the
            # stadium (convex), and nearly all of it on short road pieces
            cy = gy0 + o + bj * bw
            lo, hi = np.inf, -np.inf
            for ex, ey in ((row[0], row[1]), (row[8], row[9])):
                dy = cy - ey
                if abs(dy) <= rad:
                    w = math.sqrt(rad * rad - dy * dy)
                    lo, hi = min(lo, ex - w), max(hi, ex + w)
            if lo > hi:
                continue
            bx0, bx1 = _span(lo, hi, gx0 + o, bw, nbx - 1)
            for bi in range(bx0, bx1 + 1):
                full[bj, bi] = True


@njit(cache=True, nogil=True)
def _summed(full):
    """Summed-area table of the full blocks (a row and a column of zeros first)."""
    nby, nbx = full.shape
    sat = np.zeros((nby + 1, nbx + 1), dtype=np.int64)
    for bj in range(nby):
        acc = 0
        for bi in range(nbx):
            acc += 1 if full[bj, bi] else 0
            sat[bj + 1, bi + 1] = sat[bj, bi + 1] + acc
    return sat


@njit(cache=True, nogil=True)
def _all_full(sat, bx0, bx1, by0, by1):
    """Whether every block of [by0, by1] x [bx0, bx1] is full (O(1) from the table)."""
    n = sat[by1 + 1, bx1 + 1] - sat[by0, bx1 + 1] - sat[by1 + 1, bx0] + sat[by0, bx0]
    return n == (bx1 - bx0 + 1) * (by1 - by0 + 1)


@njit(cache=True, nogil=True, inline="always")
def _along(dx, ay, by, ux, uy, ln, r0, k, c):
    """:func:`_piece_field` of a node ``dx`` along its row (``ay = dy uy``, ``by = dy ux``, the
    row's share of the projections), for the vectorised row loops."""
    a = dx * ux + ay
    e = dx * uy - by
    hp = e if e >= 0.0 else -e
    s = a + c * hp
    s = s if s > 0.0 else 0.0
    s = s if s < ln else ln
    q = a - s
    return math.sqrt(q * q + hp * hp) - r0 - k * s


@njit(cache=True, nogil=True)
def _nodes_min(z, row, ja, jb, ia, ib, gx0, gy0, h, band):
    """``z = min(z, field of the piece)`` over nodes [ja, jb] x [ia, ib]; how many are deep.

    The rows are branch-free loops that the compiler vectorises (unsigned indices: no
    negative-index wraparound), the same arithmetic as :func:`_piece_field`.
    """
    deep = 0
    if row[4] < 0.0:  # a disc piece: the two end discs
        for j in range(ja, jb + 1):
            py = gy0 + j * h
            for i in range(ia, ib + 1):
                v = min(z[j, i], _piece_field(gx0 + i * h, py, row))
                z[j, i] = v
                deep += 1 if v <= -band else 0
        return deep
    x0, y0, ux, uy, ln, r0, k, c = row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
    n = ib + 1 - ia
    for j in range(ja, jb + 1):
        dy = gy0 + j * h - y0
        ay = dy * uy
        by = dy * ux
        zr = z[j, ia : ib + 1]
        for t in range(n):
            g = _along(gx0 + (ia + t) * h - x0, ay, by, ux, uy, ln, r0, k, c)
            zt = zr[np.uint64(t)]
            v = g if g < zt else zt
            zr[np.uint64(t)] = v
            deep += 1 if v <= -band else 0
    return deep


# no NaN or inf reaches it (finite pieces, z starts at band) and the sign of a zero does not
# matter: the loop may use fused multiply-adds and drop those checks (5 % off the field)
@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "contract"})
def _row_min(z, row, j, ia, ib, gx0, gy0, h):
    """``z = min(z, field of the piece)`` over nodes [ia, ib] of row ``j``: :func:`_nodes_min`
    without the count of deep nodes (which the rows of small pieces do not use; without that
    reduction the loop runs about a fifth faster). Not for disc pieces (``row[4] < 0``)."""
    x0, y0, ux, uy, ln, r0, k, c = row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
    dy = gy0 + j * h - y0
    ay = dy * uy
    by = dy * ux
    zr = z[j]
    for i in range(ia, ib + 1):
        g = _along(gx0 + i * h - x0, ay, by, ux, uy, ln, r0, k, c)
        zt = zr[np.uint64(i)]
        zr[np.uint64(i)] = g if g < zt else zt


@njit(cache=True, nogil=True)
def _deep_nodes(z, ja, jb, ia, ib, band):
    """How many nodes of [ja, jb] x [ia, ib] are already deeper than the band."""
    deep = 0
    for j in range(ja, jb + 1):
        for i in range(ia, ib + 1):
            if z[j, i] <= -band:
                deep += 1
    return deep


@njit(cache=True, nogil=True)
def _block_min(z, row, ja, jb, ia, ib, gx0, gy0, h, band, bj, bi, block, sub_deep):
    """:func:`_nodes_min` over the nodes [ja, jb] x [ia, ib] of block (bj, bi), by sub-blocks
    of ``SUB`` x ``SUB`` nodes. A sub-block is skipped when the piece's field at its centre
    leaves every node at least ``band`` (1-Lipschitz: only the nodes near the piece's own
    outline are evaluated), or when all its nodes are already deep (``sub_deep``, kept up to
    date here). Returns how many of the nodes are deep."""
    ny, nx = z.shape
    nsub = (block + SUB - 1) // SUB
    deep = 0
    for kj in range(nsub):
        fj0 = bj * block + kj * SUB
        fj1 = min(bj * block + min(block, kj * SUB + SUB), ny) - 1
        sj, sj1 = max(ja, fj0), min(jb, fj1)
        if sj > sj1:
            continue
        for ki in range(nsub):
            fi0 = bi * block + ki * SUB
            fi1 = min(bi * block + min(block, ki * SUB + SUB), nx) - 1
            si, si1 = max(ia, fi0), min(ib, fi1)
            if si > si1:
                continue
            n = (sj1 - sj + 1) * (si1 - si + 1)
            if sub_deep[bj * nsub + kj, bi * nsub + ki]:
                deep += n
                continue
            cx = gx0 + 0.5 * (si + si1) * h
            cy = gy0 + 0.5 * (sj + sj1) * h
            hd = 0.5 * h * math.sqrt((si1 - si) ** 2 + (sj1 - sj) ** 2)
            if _piece_field(cx, cy, row) >= band + hd:
                d = _deep_nodes(z, sj, sj1, si, si1, band)
            else:
                d = _nodes_min(z, row, sj, sj1, si, si1, gx0, gy0, h, band)
            deep += d
            if d == n and sj == fj0 and sj1 == fj1 and si == fi0 and si1 == fi1:
                sub_deep[bj * nsub + kj, bi * nsub + ki] = True
    return deep


@njit(cache=True, nogil=True)
def _piece_nodes(z, row, gx0, gy0, h, band, block, full, sat, sub_deep):
    """One piece at the nodes within its radius + band, outside the full blocks.

    A piece whose box holds at most ``DIRECT_NODES`` nodes is evaluated at all of them, row
    by row (:func:`_nodes_min`; rows of full blocks skipped): cheaper than deciding which to
    skip. A larger one goes block by block: a block whose every node is now deeper than the
    band (inside the union of several hulls) becomes full, so the later pieces skip it too.
    Rows of blocks that were full from the start are skipped in O(1) (``sat``).
    """
    ny, nx = z.shape
    rr = max(row[5], row[10]) + band
    i0, i1 = _span(min(row[0], row[8]) - rr, max(row[0], row[8]) + rr, gx0, h, nx - 1)
    j0, j1 = _span(min(row[1], row[9]) - rr, max(row[1], row[9]) + rr, gy0, h, ny - 1)
    if i0 > i1 or j0 > j1 or _all_full(sat, i0 // block, i1 // block, j0 // block, j1 // block):
        return
    if (i1 - i0 + 1) * (j1 - j0 + 1) <= DIRECT_NODES:
        for j in range(j0, j1 + 1):
            if _all_full(sat, i0 // block, i1 // block, j // block, j // block):
                continue
            if row[4] < 0.0:
                _nodes_min(z, row, j, j, i0, i1, gx0, gy0, h, band)
            else:  # whole vectors: the extra nodes are >= band from it, left as they are
                _row_min(
                    z,
                    row,
                    j,
                    i0,
                    min(nx - 1, i0 + ((i1 - i0 + LANES) // LANES) * LANES - 1),
                    gx0,
                    gy0,
                    h,
                )
        return
    off = 0.5 * (block - 1) * h  # a block's centre node pattern, from its first node
    reach = band + off * math.sqrt(2.0)  # + the farthest node from that centre
    for bj in range(j0 // block, j1 // block + 1):
        if _all_full(sat, i0 // block, i1 // block, bj, bj):
            continue
        ja, jb = max(j0, bj * block), min(j1, bj * block + block - 1)
        cy = gy0 + bj * block * h + off
        for bi in range(i0 // block, i1 // block + 1):
            if full[bj, bi]:
                continue
            if _piece_field(gx0 + bi * block * h + off, cy, row) >= reach:
                continue  # at least band at every node of the block (1-Lipschitz): no change
            ia, ib = max(i0, bi * block), min(i1, bi * block + block - 1)
            deep = _block_min(z, row, ja, jb, ia, ib, gx0, gy0, h, band, bj, bi, block, sub_deep)
            whole = (min(ny, bj * block + block) - bj * block) * (
                min(nx, bi * block + block) - bi * block
            )
            if deep == whole:
                full[bj, bi] = True


@njit(cache=True, nogil=True)
def _live(z, band, block, full):
    """The blocks the outline may cross: not full, with a node below ``band``. Blocks whose
    every node is at most ``-band`` become full.

    A crossed cell has corners of both signs, within ``h sqrt(2) < band`` of each other
    (1-Lipschitz): the block of each corner has a node below ``band``, and no block whose
    nodes are all at most ``-band`` has a corner of a crossed cell.
    """
    ny, nx = z.shape
    live = np.zeros_like(full)
    for bj in range(full.shape[0]):
        for bi in range(full.shape[1]):
            if full[bj, bi]:
                continue
            lo, hi = np.inf, -np.inf
            for j in range(bj * block, min(ny, bj * block + block)):
                for i in range(bi * block, min(nx, bi * block + block)):
                    lo = min(lo, z[j, i])
                    hi = max(hi, z[j, i])
            if hi <= -band:
                full[bj, bi] = True
            elif lo < band:
                live[bj, bi] = True
    return live


@njit(cache=True, nogil=True)
def field(x0, y0, r0, x1, y1, r1, gx0, gy0, h, band, block, z):
    """Fill ``z[j, i]`` (node ``(gx0 + i h, gy0 + j h)``) with the field, exact where
    ``|f| < band`` and of the right sign (clamped to ``band`` above) elsewhere.

    Two passes over the pieces. The first marks the coarse blocks of ``block`` x ``block`` cells
    that lie deeper than ``band`` inside one hull (:func:`_mark_full`). The second evaluates
    each piece at the nodes near it, skipping the marked blocks (and the pieces whose every
    block is full: deep inside the union), which are then filled with ``-band``.

    Returns the blocks the outline may cross (:func:`_live`): not full, with a node below
    ``band``. Elsewhere ``|f| >= band > h sqrt(2)``, so no cell with a corner there is crossed.
    """
    ny, nx = z.shape
    full = np.zeros(((ny + block - 1) // block, (nx + block - 1) // block), dtype=np.bool_)
    q = _piece_table(x0, y0, r0, x1, y1, r1)
    _mark_full(q, gx0, gy0, h, band, block, full)
    z[:, :] = band
    sat = _summed(full)  # a piece whose every block is full is deep inside: skipped
    nsub = (block + SUB - 1) // SUB
    sub_deep = np.zeros((full.shape[0] * nsub, full.shape[1] * nsub), dtype=np.bool_)
    for p in range(q.shape[0]):
        _piece_nodes(z, q[p], gx0, gy0, h, band, block, full, sat, sub_deep)
    live = _live(z, band, block, full)
    for bj in range(full.shape[0]):
        for bi in range(full.shape[1]):
            if full[bj, bi]:
                z[bj * block : bj * block + block, bi * block : bi * block + block] = -band
    return live
