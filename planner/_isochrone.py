"""Isochrone polygons of one facility: the reached pieces of road and the shape they sweep.

Only :mod:`planner.access` uses this module. For one facility and one threshold, every reached
piece of road (an edge's segment, cut where the time runs out and where the off-network radius
reaches ``access_max_m``) carries a disc whose radius falls linearly along it: the off-network
distance that can still be covered with the time left. The isochrone is the union of the convex
hulls of each piece's two end discs (the area swept by the disc). Two ways to draw it:

- ``"exact"``: every hull as a polygon (``quad_segs`` vertices per quarter circle) and
  ``shapely.union_all`` of them. Exact up to the polygonised arcs; GEOS does most of the work.
- ``"grid"``: a field on a grid of ``cell_m`` cells,
  ``f(x) = min over pieces of (min over the piece of |x - p(s)| - r(s))``, which is the Euclidean
  distance to the union outside it (the min over one piece has a closed form,
  :func:`_piece_field`), is traced at its zero level by marching squares (compiled, with
  linear interpolation along the cell edges and saddles resolved by the cell centre,
  :func:`_march`), and the rings become polygons (:func:`_assemble`). The cost follows the
  outline, not the area: nodes get exact values only within 1.5 cells of the outline; blocks
  deep inside one hull are marked at once (:func:`_mark_full`), a piece skips the blocks and
  sub-blocks its field cannot lower and every piece whose blocks are all inside
  (:func:`_piece_nodes`), and only blocks the outline may cross are traced. Before that, the
  pieces whose hull is a disc held by another's are dropped (:func:`_covered_discs`: exact;
  on foot about half of them) and runs of joined full-radius pieces become chords
  (:func:`_merged`, within ``MERGE`` cells).

Error bound of ``"grid"``, with ``delta = cell_m * (sqrt(2) + SIMPLIFY)`` (the cell diagonal,
plus a tenth of a cell: ``MERGE`` for the chords of :func:`_merged` and ``SIMPLIFY - MERGE``
for the Douglas-Peucker simplification of the traced rings, :func:`_simplify_rings`). Every
grid node is classified exactly (inside or outside the union of the merged pieces), so:

- every point of the grid polygon lies within ``delta`` of the exact union (it lies in a cell
  with a corner inside the union);
- every point of the exact union deeper than ``delta`` inside it is in the grid polygon (all four
  corners of its cell are inside), so the grid polygon contains the union eroded by ``delta``;
- hence every point of the exact union lies within ``delta`` of the grid polygon, except in the
  needle-like tips narrower than ``2 * delta`` that the union has along the roads where time runs
  out: those may be cut short or dropped. Going back along the road the radius grows by at least
  ``k = access_speed / fastest road speed`` per metre, so there the distance is at most
  ``delta * (1 + 1 / k)`` (k = 1 walking: no needles; about 0.3 by e-bike, 0.05-0.2 driving).

Per cell size (the caller reports ``tolerance_m = cell * (sqrt(2) + 0.1) + 0.5 m``, the 0.5 m
being the smallest disc): 5 m cells 8.1 m, 10 m 15.6 m, 15 m 23.2 m, 30 m 45.9 m, 60 m 91.4 m,
120 m 182 m. On smooth stretches of boundary the linear interpolation makes the error a small
fraction of a cell, and arcs come out closer to circles than the ``quad_segs`` polygons of
``"exact"``. When no disc is wider than ``THIN_CELLS`` cells (a tiny ``access_max_m``) the
exact union is used.

The cell scales with the polygon (:func:`grid_cell`): the finest cell times the smallest power
of two that keeps the grid within ``max_nodes`` nodes, so a polygon's time and memory are
bounded whatever the threshold, and the bound above holds with the cell actually used. The
road pieces are built once per facility for its largest threshold (:class:`TimedPieces`, one
compiled pass over the reached edges, :func:`_timed_kernel`) and cut for each smaller one. A
polygon whose every disc is full-size (no time runs out on any road: a threshold beyond the
facility's reach) depends only on the set of reached nodes (:func:`full_key`), so facilities
that share it share one polygon. Per-network tables (segments, incidence, edge slack) are
cached in a :class:`weakref.WeakKeyDictionary` keyed by the network.

The field kernel is compiled with numba and releases the GIL, so threads help.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numba import njit

#: With no disc wider than this many cells, ``"grid"`` falls back to the exact union.
THIN_CELLS = 1.5
#: Coarse blocks of the field kernel, in cells (a block wholly inside one hull is filled at once).
BLOCK = 16
#: Sub-blocks of the field kernel, in nodes (a piece skips those its field cannot lower).
SUB = 4
#: Simplification of the road pieces, in cells (part of the bound): runs of full-radius road
#: pieces replaced by their chord (:func:`_merged`). The traced rings are not simplified.
SIMPLIFY = 0.1
#: The same budget under the name :func:`_merged` uses.
MERGE = SIMPLIFY
#: Longest run of road pieces merged into one.
RUN = 64


@dataclass(frozen=True)
class Segments:
    """Straight segments of every edge's geometry."""

    edge_ptr: np.ndarray  # segments of edge e: edge_ptr[e]:edge_ptr[e+1]
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    s0: np.ndarray  # fraction along the edge at the segment start
    s1: np.ndarray


@dataclass(frozen=True)
class Pieces:
    """Reached pieces of road: segment ends and the radius left at each (metres)."""

    x0: np.ndarray
    y0: np.ndarray
    r0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    r1: np.ndarray

    def __len__(self) -> int:
        return len(self.x0)

    def take(self, idx: np.ndarray) -> Pieces:
        return Pieces(
            self.x0[idx], self.y0[idx], self.r0[idx], self.x1[idx], self.y1[idx], self.r1[idx]
        )


#: Per-network caches of this module (segments, incidence, edge slack), dropped with the network.
_CACHE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _cached(network, name: str, build: Callable[[Any], Any]) -> Any:
    """``build(network)``, computed once per network and kept while the network lives.

    A module-level :class:`weakref.WeakKeyDictionary` rather than attributes set on the
    network: :class:`~planner.network.Network` stays owned by its own module.
    """
    per_net = _CACHE.setdefault(network, {})
    if name not in per_net:
        per_net[name] = build(network)
    return per_net[name]


def segments(network) -> Segments:
    """The straight segments of every edge's geometry (cached per network)."""
    return _cached(network, "segments", _build_segments)


def _build_segments(network) -> Segments:
    coords, idx = shapely.get_coordinates(network.edge_geometry, return_index=True)
    same = idx[1:] == idx[:-1]
    a = np.flatnonzero(same)
    e = idx[a]
    x0, y0 = coords[a, 0], coords[a, 1]
    x1, y1 = coords[a + 1, 0], coords[a + 1, 1]
    ln = np.hypot(x1 - x0, y1 - y0)
    total = np.bincount(e, weights=ln, minlength=network.n_edges)
    edge_start = np.cumsum(total) - total
    cum = np.cumsum(ln) - edge_start[e]  # position along its edge of each segment's end
    tot = np.where(total[e] > 0, total[e], 1.0)
    s1 = cum / tot
    s0 = (cum - ln) / tot
    ptr = np.zeros(network.n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(e, minlength=network.n_edges), out=ptr[1:])
    return Segments(ptr, x0, y0, x1, y1, s0, s1)


def incidence(network) -> tuple[np.ndarray, np.ndarray]:
    """Incident edges per node, both directions, as CSR (cached per network)."""
    return _cached(network, "incidence", _build_incidence)


def _build_incidence(network) -> tuple[np.ndarray, np.ndarray]:
    n = network.n_nodes
    ends = np.concatenate([network.edge_u, network.edge_v])
    edges = np.concatenate([np.arange(network.n_edges), np.arange(network.n_edges)])
    order = np.argsort(ends, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
    return ptr, edges[order].astype(np.int64)


def edge_slack(network) -> np.ndarray:
    """Per node, the longest finite travel time of an edge at it (either way; cached)."""
    return _cached(network, "edge_slack", _build_edge_slack)


def _build_edge_slack(network) -> np.ndarray:
    t = np.fmax(network.edge_time_uv_s, network.edge_time_vu_s)  # the finite one if one is inf
    t = np.where(np.isfinite(t), t, 0.0)
    out = np.zeros(network.n_nodes)
    np.maximum.at(out, network.edge_u, t)
    np.maximum.at(out, network.edge_v, t)
    return out


def full_key(network, nodes, times, budget, fac_att, i, slack, cap_s) -> bytes | None:
    """A key of facility ``i``'s polygon at ``budget`` when every one of its discs is full-size.

    Then no time runs out on any road: every edge at a reached node is covered whole with the
    full ``access_max_m`` disc (``cap_s`` seconds of access), and the polygon depends only on
    the set of reached nodes (so facilities with the same set share it). ``None`` otherwise.
    Sufficient test: each reached node's time plus its longest edge (:func:`edge_slack`), and
    the facility's own edge, leave ``cap_s`` of the budget; both ends of the facility's edge
    are reached (its pieces then lie on edges the nodes cover anyway).
    """
    import hashlib

    fe = fac_att.edge[i]
    if fe < 0:
        return None
    sel = times <= budget
    n = nodes[sel]
    if len(n) == 0:
        return None
    room = budget - cap_s
    if not float(np.max(times[sel] + slack[n])) <= room:
        return None
    t_fe = np.fmax(network.edge_time_uv_s[fe], network.edge_time_vu_s[fe])
    if not fac_att.access_s[i] + (t_fe if np.isfinite(t_fe) else 0.0) <= room:
        return None
    if not ((n == network.edge_u[fe]).any() and (n == network.edge_v[fe]).any()):
        return None
    return hashlib.blake2b(np.sort(n).tobytes(), digest_size=16).digest()


@dataclass(frozen=True)
class TimedPieces:
    """Reached pieces of road with the time to the facility at each end (linear along each).

    Drawn once per facility for the largest threshold; :meth:`at` gives the pieces and radii of
    any smaller one (the thresholds share the road pieces and nest by construction).
    """

    x0: np.ndarray
    y0: np.ndarray
    t0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    t1: np.ndarray

    def __len__(self) -> int:
        return len(self.x0)

    def at(self, budget: float, v_off: float, cap: float) -> Pieces:
        """The pieces reached within ``budget`` seconds, cut at the budget, with their radii.

        The radius is ``(budget - t) * v_off``, linear along each piece; pieces are split where
        it reaches ``cap`` (so each part has a linear radius and the hull of its end discs is
        exact), then clipped to [0.5 m, cap].
        """
        out = _at_kernel(
            self.x0, self.y0, self.t0, self.x1, self.y1, self.t1, float(budget), v_off, cap
        )
        return Pieces(*out)  # rows of one C-ordered array: contiguous


@njit(cache=True, nogil=True)
def _at_piece(x0, y0, t0, x1, y1, t1, budget, v_off, cap, out, m):
    """One timed piece at ``budget`` (see :meth:`TimedPieces.at`): 0-2 pieces from row ``m``,
    written when ``out`` has room (the counting pass passes an empty one)."""
    write = out.shape[1] > m
    if min(t0, t1) > budget:
        return m
    if max(t0, t1) > budget:  # the time runs out on it: end 0 the earlier, end 1 at the cut
        if t0 > t1:
            x0, y0, t0, x1, y1, t1 = x1, y1, t1, x0, y0, t0
        w = (budget - t0) / (t1 - t0)
        x1, y1, t1 = x0 + w * (x1 - x0), y0 + w * (y1 - y0), budget
    if np.isinf(budget):  # nothing runs out: every disc is the full cap
        R0, R1 = cap, cap
    else:
        R0, R1 = (budget - t0) * v_off, (budget - t1) * v_off
    lo, hi = 0.5, max(cap, 0.5)
    if (R0 - cap) * (R1 - cap) < 0.0:  # the radius reaches the cap inside: two linear parts
        w = (R0 - cap) / (R0 - R1)
        mx, my = x0 + w * (x1 - x0), y0 + w * (y1 - y0)
        if write:
            _put(out, m, x0, y0, min(max(R0, lo), hi), mx, my, min(max(cap, lo), hi))
            _put(out, m + 1, mx, my, min(max(cap, lo), hi), x1, y1, min(max(R1, lo), hi))
        return m + 2
    if write:
        _put(out, m, x0, y0, min(max(R0, lo), hi), x1, y1, min(max(R1, lo), hi))
    return m + 1


@njit(cache=True, nogil=True, inline="always")
def _put(out, m, a, b, c, d, e, f):
    """Column ``m`` of ``out`` (one row per field)."""
    out[0, m], out[1, m], out[2, m], out[3, m], out[4, m], out[5, m] = a, b, c, d, e, f


@njit(cache=True, nogil=True)
def _at_kernel(x0, y0, t0, x1, y1, t1, budget, v_off, cap):
    """:meth:`TimedPieces.at` compiled: count the pieces, then fill them."""
    # one compiled signature for both passes: no literal flags or counts (each literal value
    # is a specialisation numba compiles again)
    out = np.empty((6, 0))
    for _ in range(2):
        m = np.int64(0)
        for k in range(len(x0)):
            m = _at_piece(x0[k], y0[k], t0[k], x1[k], y1[k], t1[k], budget, v_off, cap, out, m)
        if out.shape[1] == m:
            break
        out = np.empty((6, m))
    return out


def timed_pieces(net, seg, inc_ptr, inc_edge, nodes, times, budget, fac_att, i) -> TimedPieces:
    """Every piece of road reached by facility ``i`` within ``budget`` seconds, with its times.

    ``nodes``/``times`` are the facility's reach set cut at ``budget``; the pieces are cut
    where the time runs out. One compiled pass over the reached nodes' edges
    (:func:`_timed_kernel`): the cost follows the reached edges, with no array over all nodes.
    """
    if fac_att.edge[i] < 0:
        return _no_timed()
    out = _timed_kernel(
        np.ascontiguousarray(nodes, dtype=np.int64),
        np.ascontiguousarray(times, dtype=np.float64),
        float(budget),
        net.edge_u,
        net.edge_v,
        net.edge_time_uv_s,
        net.edge_time_vu_s,
        inc_ptr,
        inc_edge,
        seg.edge_ptr,
        seg.x0,
        seg.y0,
        seg.x1,
        seg.y1,
        seg.s0,
        seg.s1,
        int(fac_att.edge[i]),
        float(fac_att.frac[i]),
        float(fac_att.access_s[i]),
    )
    return TimedPieces(*out)


@njit(cache=True, nogil=True)
def _time_table(nodes, times):
    """An open-addressing hash table node -> time of the reach set (size a power of two)."""
    size = 1
    while size < 2 * len(nodes) + 2:
        size *= 2
    keys = np.full(size, -1, dtype=np.int64)
    vals = np.empty(size)
    mask = size - 1
    for k in range(len(nodes)):
        h = (nodes[k] * 2654435761) & mask
        while keys[h] != -1 and keys[h] != nodes[k]:
            h = (h + 1) & mask
        if keys[h] == -1 or times[k] < vals[h]:
            keys[h] = nodes[k]
            vals[h] = times[k]
    return keys, vals


@njit(cache=True, nogil=True, inline="always")
def _time_of(keys, vals, node):
    """The time of ``node`` in :func:`_time_table`'s table (inf when not reached)."""
    mask = len(keys) - 1
    h = (node * 2654435761) & mask
    while keys[h] != -1:
        if keys[h] == node:
            return vals[h]
        h = (h + 1) & mask
    return np.inf


@njit(cache=True, nogil=True)
def _end_piece(t_end, t_edge, s_star, start, budget):
    """The piece of an edge reached through one of its ends: ``(ok, b)``, from ``start`` to ``b``.

    ``t_end`` is the time at the end (``start`` 0: node u, 1: node v), ``t_edge`` the time to
    cross the edge towards that end. Beyond ``s_star``, where the two ends' times meet, the
    other end's discs hold this end's (same centre, smaller radius): the piece stops there.
    """
    if not np.isfinite(t_end):
        return False, start
    if start == 0.0 and s_star <= 0.0:  # the other end's pieces cover the whole edge
        return False, start
    if start == 1.0 and s_star >= 1.0:
        return False, start
    reach = 0.0
    if np.isfinite(t_edge) and t_edge > 0.0:
        reach = min(max((budget - t_end) / t_edge, 0.0), 1.0)
    if start == 0.0:
        return True, (s_star if s_star < reach else reach)  # nan compares False
    return True, (s_star if 1.0 - s_star < reach else 1.0 - reach)


@njit(cache=True, nogil=True, inline="always")
def _emit(pe, pa, pb, pt, pr, m, e, a, b, ta, rate):
    """Store piece ``m`` (edge ``e`` from ``a``, time ``ta``, to ``b``); the next index."""
    pe[m], pa[m], pb[m], pt[m] = e, a, b, ta
    pr[m] = rate if np.isfinite(rate) else 0.0  # no way along: the end point alone
    return m + 1


@njit(cache=True, nogil=True)
def _edge_pieces(nodes, times, budget, eu, ev, t_uv, t_vu, inc_ptr, inc_edge, fe, ff, a_off):
    """The reached part of each edge, per end it is reached through, and the facility's own.

    Returns ``(edge, a, b, ta, rate)`` per piece: the piece runs along ``edge`` from fraction
    ``a`` (time ``ta``) to ``b``, the time growing by ``rate`` per unit of fraction.
    """
    keys, vals = _time_table(nodes, times)
    n_max = 2
    for k in range(len(nodes)):
        n_max += inc_ptr[nodes[k] + 1] - inc_ptr[nodes[k]]
    pe = np.empty(n_max, dtype=np.int64)
    pa = np.empty(n_max)
    pb = np.empty(n_max)
    pt = np.empty(n_max)
    pr = np.empty(n_max)
    m = 0
    for k in range(len(nodes)):
        node = nodes[k]
        for q in range(inc_ptr[node], inc_ptr[node + 1]):
            e = inc_edge[q]
            tu = _time_of(keys, vals, eu[e])
            tv = _time_of(keys, vals, ev[e])
            # along the edge from u: a point at fraction s reaches u in s * t_vu, then the
            # facility; from v: (1 - s) * t_uv. The two meet at s_star.
            s_star = np.nan
            both = np.isfinite(tu) and np.isfinite(tv) and np.isfinite(t_vu[e])
            if both and np.isfinite(t_uv[e]) and t_vu[e] + t_uv[e] > 0.0:
                s_star = (tv + t_uv[e] - tu) / (t_vu[e] + t_uv[e])
            # each end is emitted when the edge is met from that end's node (once per end)
            if eu[e] == node:
                ok, b = _end_piece(tu, t_vu[e], s_star, 0.0, budget)
                if ok and tu <= budget:
                    m = _emit(pe, pa, pb, pt, pr, m, e, 0.0, b, tu, t_vu[e])
            if ev[e] == node:
                ok, b = _end_piece(tv, t_uv[e], s_star, 1.0, budget)
                if ok and tv <= budget:
                    m = _emit(pe, pa, pb, pt, pr, m, e, 1.0, b, tv, t_uv[e])
    # the facility's own edge, reached directly along it: towards u (s < ff) and towards v
    if a_off <= budget:
        if np.isfinite(t_uv[fe]):
            b = ff - (budget - a_off) / t_uv[fe] if t_uv[fe] > 0.0 else 0.0
            m = _emit(pe, pa, pb, pt, pr, m, fe, ff, min(max(b, 0.0), ff), a_off, t_uv[fe])
        if np.isfinite(t_vu[fe]):
            b = ff + (budget - a_off) / t_vu[fe] if t_vu[fe] > 0.0 else 1.0
            m = _emit(pe, pa, pb, pt, pr, m, fe, ff, min(max(b, ff), 1.0), a_off, t_vu[fe])
    return pe[:m], pa[:m], pb[:m], pt[:m], pr[:m]


@njit(cache=True, nogil=True)
def _timed_kernel(
    nodes,
    times,
    budget,
    eu,
    ev,
    t_uv,
    t_vu,
    inc_ptr,
    inc_edge,
    sp,
    sx0,
    sy0,
    sx1,
    sy1,
    ss0,
    ss1,
    fe,
    ff,
    a_off,
):
    """The pieces of :func:`_edge_pieces`, expanded into the straight segments they overlap."""
    pe, pa, pb, pt, pr = _edge_pieces(
        nodes, times, budget, eu, ev, t_uv, t_vu, inc_ptr, inc_edge, fe, ff, a_off
    )
    total = 0
    for k in range(len(pe)):
        total += sp[pe[k] + 1] - sp[pe[k]]
    x0 = np.empty(total)
    y0 = np.empty(total)
    t0 = np.empty(total)
    x1 = np.empty(total)
    y1 = np.empty(total)
    t1 = np.empty(total)
    m = 0
    for k in range(len(pe)):
        lo = min(pa[k], pb[k])
        hi = max(pa[k], pb[k])
        for s in range(sp[pe[k]], sp[pe[k] + 1]):
            c0 = max(ss0[s], lo)
            c1 = min(ss1[s], hi)
            if c1 < c0:
                continue
            span = ss1[s] - ss0[s]
            if not span > 0.0:
                span = 1.0
            w0 = (c0 - ss0[s]) / span
            w1 = (c1 - ss0[s]) / span
            x0[m] = sx0[s] + w0 * (sx1[s] - sx0[s])
            y0[m] = sy0[s] + w0 * (sy1[s] - sy0[s])
            x1[m] = sx0[s] + w1 * (sx1[s] - sx0[s])
            y1[m] = sy0[s] + w1 * (sy1[s] - sy0[s])
            t0[m] = pt[k] + abs(c0 - pa[k]) * pr[k]
            t1[m] = pt[k] + abs(c1 - pa[k]) * pr[k]
            m += 1
    return x0[:m], y0[:m], t0[:m], x1[:m], y1[:m], t1[:m]


def _no_timed() -> TimedPieces:
    z = np.zeros(0)
    return TimedPieces(z, z, z, z, z, z)


# -- exact ------------------------------------------------------------------------------------


def exact_polygon(p: Pieces, quad_segs: int):
    """Union of the hulls of every piece, each drawn with ``quad_segs`` vertices per quarter."""
    if len(p) == 0:
        return shapely.Polygon()
    return shapely.union_all(hulls(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, quad_segs))


def hulls(x0, y0, r0, x1, y1, r1, quad_segs):
    """Convex hulls of pairs of discs (the area swept by a disc of linearly varying radius).

    Built directly from the two outer tangents: an arc around the back of the first disc and
    one around the front of the second, as one polygon per pair (no intermediate geometries).
    """
    n = len(x0)
    if n == 0:
        return np.empty(0, dtype=object)
    x0, y0, r0 = x0.astype(float).copy(), y0.astype(float).copy(), r0.astype(float).copy()
    x1, y1, r1 = x1.astype(float).copy(), y1.astype(float).copy(), r1.astype(float).copy()
    d = np.hypot(x1 - x0, y1 - y0)
    # one disc inside the other: the hull is the larger disc
    in0 = d <= r0 - r1
    in1 = d <= r1 - r0
    x1[in0], y1[in0], r1[in0] = x0[in0], y0[in0], r0[in0]
    x0[in1], y0[in1], r0[in1] = x1[in1], y1[in1], r1[in1]
    d = np.where(in0 | in1, 0.0, d)
    theta = np.arctan2(y1 - y0, x1 - x0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosa = np.where(d > 0, (r0 - r1) / np.where(d > 0, d, 1.0), 0.0)
    alpha = np.arccos(np.clip(cosa, -1.0, 1.0))
    k0 = 4 * quad_segs + 1
    k1 = 2 * quad_segs + 1
    t0 = np.linspace(0.0, 1.0, k0)
    t1 = np.linspace(0.0, 1.0, k1)
    a0 = (theta + alpha)[:, None] + t0[None, :] * (2 * np.pi - 2 * alpha)[:, None]
    a1 = (theta - alpha)[:, None] + t1[None, :] * (2 * alpha)[:, None]
    ring = np.empty((n, k0 + k1 + 1, 2))
    ring[:, :k0, 0] = x0[:, None] + r0[:, None] * np.cos(a0)
    ring[:, :k0, 1] = y0[:, None] + r0[:, None] * np.sin(a0)
    ring[:, k0 : k0 + k1, 0] = x1[:, None] + r1[:, None] * np.cos(a1)
    ring[:, k0 : k0 + k1, 1] = y1[:, None] + r1[:, None] * np.sin(a1)
    ring[:, -1] = ring[:, 0]
    return shapely.polygons(ring)


# -- grid -------------------------------------------------------------------------------------


def grid_cell(p: Pieces, cell_m: float, max_nodes: int) -> float:
    """The grid cell for these pieces: ``cell_m``, coarsened so the grid has <= ``max_nodes``.

    The grid spans the pieces' extent plus the largest radius, so its cost and memory are
    bounded whatever the threshold; the error bound (``cell * sqrt(2)``) grows with the cell.
    """
    rmax = max(float(p.r0.max()), float(p.r1.max()))
    w = max(float(p.x0.max()), float(p.x1.max())) - min(float(p.x0.min()), float(p.x1.min()))
    h = max(float(p.y0.max()), float(p.y1.max())) - min(float(p.y0.min()), float(p.y1.min()))
    w += 2 * rmax
    h += 2 * rmax
    # cell_m times a power of two: the lattices of all cells nest (multiples of cell_m). The
    # grid (see lattice) has at most extent / c + 7 nodes a side: 2 c padding each side, one
    # cell of rounding at the low end, one at the high end, one node more than cells
    c = float(cell_m)
    while (w / c + 7) * (h / c + 7) > max_nodes:
        c *= 2.0
    return c


def lattice(x0, y0, r0, x1, y1, r1, h: float) -> tuple[float, float, int, int]:
    """The grid of cell ``h`` around these pieces: origin and node counts ``(gx0, gy0, nx, ny)``.

    Nodes lie on multiples of ``h`` (the same lattice for every threshold and facility), with
    two cells of padding beyond the largest disc.
    """
    pad = 2.0 * h
    rmax = max(float(r0.max()), float(r1.max()))
    lo_x = min(float(x0.min()), float(x1.min())) - rmax - pad
    lo_y = min(float(y0.min()), float(y1.min())) - rmax - pad
    hi_x = max(float(x0.max()), float(x1.max())) + rmax + pad
    hi_y = max(float(y0.max()), float(y1.max())) + rmax + pad
    gx0 = math.floor(lo_x / h) * h
    gy0 = math.floor(lo_y / h) * h
    nx = int(math.ceil((hi_x - gx0) / h)) + 1
    ny = int(math.ceil((hi_y - gy0) / h)) + 1
    return gx0, gy0, nx, ny


def tolerance_m(cell: float) -> float:
    """The error bound of a grid polygon drawn on ``cell`` (0: drawn exactly), in metres: the
    cell's diagonal, ``SIMPLIFY`` cells for the chords and 0.5 m for the smallest disc."""
    return float(cell * (math.sqrt(2.0) + SIMPLIFY) + 0.5) if cell > 0 else 0.0


def draw(
    tp: TimedPieces,
    budgets: list[float],
    method: str,
    v_off: float,
    cap: float,
    cell_m: float,
    quad_segs: int,
    max_nodes: int,
) -> Traced:
    """One facility's polygons for ``budgets`` (seconds, decreasing) by ``method``:
    :func:`grid_polygons`, or ``"exact"`` (:func:`exact_polygon`, none nested by construction)."""
    if method == "exact":
        polys = [exact_polygon(tp.at(b, v_off, cap), quad_segs) for b in budgets]
        return Traced(polys, [0.0] * len(budgets), [False] * len(budgets))
    return grid_polygons(tp, budgets, v_off, cap, cell_m, quad_segs, max_nodes)


def nest(polys: np.ndarray, nested: np.ndarray) -> None:
    """Make one facility's polygons (increasing thresholds) nest, in place.

    ``nested[k]``: polygon ``k`` lies inside ``k + 1`` by construction. The others (drawn on
    different cells they differ within the tolerance) are tested and cut only when they stick
    out; a polygon whose larger one was cut is tested again.
    """
    cut = False
    for k in range(len(polys) - 2, -1, -1):
        if nested[k] and not cut:
            continue
        cut = not shapely.covers(polys[k + 1], polys[k])
        if cut:
            polys[k] = shapely.intersection(polys[k], polys[k + 1])


def grid_polygon(p: Pieces, cell_m: float, quad_segs: int, max_nodes: int = 1 << 62):
    """The union of the hulls traced on a grid; see the module docstring.

    The cell is ``cell_m``, coarsened to keep the grid at most ``max_nodes`` nodes
    (:func:`grid_cell`). Returns the polygon and the cell used. When no disc is wider than
    ``THIN_CELLS`` cells of ``cell_m`` (a tiny ``access_max_m``) the grid cannot draw the union
    at all and the exact union is returned instead (with cell 0).
    """
    poly, h, _ = _grid_one(p, cell_m, quad_segs, max_nodes, None)
    return poly, h


@dataclass(frozen=True)
class Traced:
    """One facility's polygons, largest threshold first (see :func:`grid_polygons`)."""

    polygons: list  # shapely geometries, in the order of the budgets given
    cells: list[float]  # the cell of each (0: drawn exactly)
    nested: list[bool]  # polygon k lies inside polygon k - 1 by construction


def grid_polygons(
    tp: TimedPieces,
    budgets: list[float],
    v_off: float,
    cap: float,
    cell_m: float,
    quad_segs: int,
    max_nodes: int,
) -> Traced:
    """One facility's grid polygons for ``budgets`` (seconds, decreasing), nested by
    construction where they can be.

    A threshold whose cell is the same as the next larger one's is traced on that one's grid
    with its field raised to the larger one's at every node (:func:`_raised`): marching squares
    is monotone in the node values (a lower value only moves a crossing outwards or adds an
    inside corner), so the smaller polygon lies inside the larger one, and the larger field is
    within ``MERGE`` cells of the exact smaller field wherever it is higher (it is a field of
    more pieces with larger radii, up to the chords of :func:`_merged`): the bound holds. The
    caller intersects only the pairs not nested here (different cells).
    """
    polys, cells, nested = [], [], []
    prev = None
    for b in budgets:
        poly, h, grid = _grid_one(tp.at(b, v_off, cap), cell_m, quad_segs, max_nodes, prev)
        nested.append(grid is not None and prev is not None and _inside(grid, prev))
        polys.append(poly)
        cells.append(h)
        prev = grid
    return Traced(polys, cells, nested)


def _inside(grid, prev) -> bool:
    """Whether the polygon of ``grid`` lies inside that of ``prev`` (a larger threshold's):
    by construction when traced on its grid (:func:`_raised`), else tested on the rings
    (:func:`_rings_inside`, a tenth of GEOS's ``covers``)."""
    if grid[1] is prev[1]:
        return True
    (ax, ay, a_ptr), (bx, by, b_ptr) = grid[3], prev[3]
    ha, hb = grid[2], prev[2]
    scale = ha / hb
    ox, oy = (grid[1][0] - prev[1][0]) / hb, (grid[1][1] - prev[1][1]) / hb
    return bool(_rings_inside(ax, ay, a_ptr, bx, by, b_ptr, scale, ox, oy))


def _grid_one(p: Pieces, cell_m: float, quad_segs: int, max_nodes: int, prev):
    """:func:`grid_polygon` of ``p``; also its grid ``(field, lattice, cell)`` (``None`` when
    drawn exactly), traced on ``prev``'s grid when that has the same cell (see
    :func:`grid_polygons`)."""
    if len(p) == 0:
        return shapely.Polygon(), 0.0, None
    if max(float(p.r0.max()), float(p.r1.max())) < THIN_CELLS * cell_m:
        return exact_polygon(p, quad_segs), 0.0, None
    h = grid_cell(p, cell_m, max_nodes)
    q = Pieces(*_merged(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, MERGE * h))
    covered = _covered_discs(q.x0, q.y0, q.r0, q.x1, q.y1, q.r1)
    if covered.any():
        q = q.take(np.flatnonzero(~covered))
    on = prev if prev is not None and prev[2] == h else None
    poly, z, grid, rings = _traced(q.x0, q.y0, q.r0, q.x1, q.y1, q.r1, h, on)
    return poly, h, (z, grid, h, rings)


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
def _covered_discs(x0, y0, r0, x1, y1, r1):
    """Pieces whose hull is a disc held by another piece's hull (exact, no bound used).

    A piece whose radius falls at least as fast as it runs (``|r1 - r0| >= length``: walking
    off the road is as fast as along it) sweeps only its larger end disc. That disc is held by
    any other piece ending at the same point with at least that radius there, and dropping it
    changes nothing as long as the holder has a larger largest radius or is not such a piece
    itself (the holders then form chains of growing radius that end at a kept piece). Points
    are matched to 0.1 mm. On foot, where the access speed is the walking speed, this drops
    the pieces of the last ``access_max_m`` of every path: about half of a walking polygon's.
    """
    n = len(x0)
    disc = np.empty(n, dtype=np.bool_)
    for p in range(n):
        d = math.hypot(x1[p] - x0[p], y1[p] - y0[p])
        disc[p] = d <= abs(r1[p] - r0[p]) + 1e-6
    if not disc.any():  # driving: the radius falls slower than the road runs
        return np.zeros(n, dtype=np.bool_)
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
def _merged(x0, y0, r0, x1, y1, r1, eps):
    """The pieces with runs of joined full-radius pieces replaced by their chord.

    Real roads come as many short straight segments (OpenStreetMap: a vertex every few metres
    on a curve), each a piece. Where consecutive pieces join end to start and all carry the
    same radius, their union is a sausage along a polyline; the sausage along the chord lies
    within ``eps`` of it when every joint is within ``eps`` of the chord (both ways: each is
    the other's points moved by at most ``eps``). Part of the stated bound: the traced rings
    are then simplified by ``SIMPLIFY - MERGE`` cells only. Runs are at most ``RUN`` pieces.
    """
    n = len(x0)
    keep_a = np.empty(n, dtype=np.int64)
    keep_b = np.empty(n, dtype=np.int64)
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
        keep_a[m], keep_b[m] = i, j
        m += 1
        i = j + 1
    a, b = keep_a[:m], keep_b[:m]
    return x0[a], y0[a], r0[a], x1[b], y1[b], r1[b]


def _traced(x0, y0, r0, x1, y1, r1, cell_m, on=None):
    """The zero level of the field of these pieces, as a (Multi)Polygon; also the field, its
    lattice ``(gx0, gy0, nx, ny)`` and the rings ``(xs, ys, ring_ptr)`` in node units.

    The field (:func:`_field`) is traced by marching squares on the cells with corners of
    both signs (:func:`_march`), then rings become polygons (:func:`_assemble`). With ``on``
    (a larger threshold's ``(field, lattice, cell)`` on the same cell), the field is computed
    on that lattice and raised to that field (:func:`grid_polygons`).

    The rings as traced are disjoint and simple (saddles resolved by the cell centre, crossings
    kept off the nodes), so the polygon is valid by construction: no simplification, which
    could make rings cross, and no validity check (GEOS's took longer than the tracing).
    """
    h = float(cell_m)
    rmax = max(float(r0.max()), float(r1.max()))
    grid = on[1] if on is not None else lattice(x0, y0, r0, x1, y1, r1, h)
    gx0, gy0, nx, ny = grid
    # |f| is exact up to here: every cell the zero level crosses has |f| <= h sqrt(2) at its
    # corners; farther nodes only need their sign
    band = 1.5 * h
    z = np.empty((ny, nx))
    # blocks of about a third of the largest radius: small enough to lie deep inside one hull
    block = max(2, min(BLOCK, int(rmax / (3.0 * h))))
    live = _field(x0, y0, r0, x1, y1, r1, gx0, gy0, h, band, block, z)
    if on is not None:
        live = _raised(z, on[0], block)
    xs, ys, ring_ptr = _march(z, live, block)
    area = _signed_areas(xs, ys, ring_ptr)
    return _assemble(xs, ys, ring_ptr, area, h, gx0, gy0), z, grid, (xs, ys, ring_ptr)


@njit(cache=True, nogil=True)
def _raised(z, zb, block):
    """``z = max(z, zb)`` node by node; the blocks with a cell whose corners differ in sign
    (all of them looked at: the raised field may cross where ``z`` alone did not)."""
    ny, nx = z.shape
    for j in range(ny):
        for i in range(nx):
            if zb[j, i] > z[j, i]:
                z[j, i] = zb[j, i]
    live = np.zeros(((ny + block - 1) // block, (nx + block - 1) // block), dtype=np.bool_)
    for j in range(ny - 1):
        for i in range(nx - 1):
            neg = (z[j, i] < 0.0) + (z[j, i + 1] < 0.0) + (z[j + 1, i] < 0.0)
            neg += z[j + 1, i + 1] < 0.0
            if 0 < neg < 4:
                live[j // block, i // block] = True
    return live


def _assemble(
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
def _row_buckets(xs, ys, ring_ptr):
    """Segments of rings traced by :func:`_march` (node units) bucketed by cell row.

    Each segment lies in one cell, whose row is ``floor`` of its lower end's ``y``. Returns
    ``(ring_of, nxt, row_ptr, seg)``: each vertex's ring and the next vertex of its ring, and
    the segments (by first vertex) of row ``j`` in ``seg[row_ptr[j]:row_ptr[j + 1]]``.
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
        row_ptr[min(int(math.floor(max(min(ys[k], ys[nxt[k]]), 0.0))), rows - 1) + 1] += 1
    for j in range(rows):
        row_ptr[j + 1] += row_ptr[j]
    fill = row_ptr.copy()
    seg = np.empty(nv, dtype=np.int64)
    for k in range(nv):
        j = min(int(math.floor(max(min(ys[k], ys[nxt[k]]), 0.0))), rows - 1)
        seg[fill[j]] = k
        fill[j] += 1
    return ring_of, nxt, row_ptr, seg


@njit(cache=True, nogil=True, inline="always")
def _row_span(row_ptr, py):
    """The bucketed segments a horizontal ray at height ``py`` may cross: rows
    ``floor(py) - 1`` and ``floor(py)``."""
    rows = len(row_ptr) - 1
    j = int(math.floor(max(py, 0.0)))
    return row_ptr[min(max(j - 1, 0), rows)], row_ptr[min(j + 1, rows)]


@njit(cache=True, nogil=True, inline="always")
def _crosses(xs, ys, k, k1, px, py):
    """Whether the ray from (px, py) towards -x crosses segment ``k -> k1`` (even-odd rule)."""
    if (ys[k] > py) != (ys[k1] > py):
        return px < xs[k] + (py - ys[k]) * (xs[k1] - xs[k]) / (ys[k1] - ys[k])
    return False


@njit(cache=True, nogil=True)
def _hole_owners(xs, ys, ring_ptr, area):
    """For each hole (negative ``area``), the smallest shell holding its first vertex; -1 else.

    Rings in node units, as :func:`_march` traces them: the even-odd count of every ring at
    once costs one row's segments per hole (:func:`_row_buckets`), not every shell's vertices.
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
    head = np.full(nxc * nyc, -1, dtype=np.int64)
    link = np.empty(len(bxs), dtype=np.int64)
    for k in range(len(bxs)):
        k1 = b_nxt[k]
        c = int(math.floor(max(min(bys[k], bys[k1]), 0.0))) * nxc
        c += int(math.floor(max(min(bxs[k], bxs[k1]), 0.0)))
        link[k], head[c] = head[c], k
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
                q = head[j * nxc + i]
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
def _rings_inside(axs, ays, a_ptr, bxs, bys, b_ptr, scale, ox, oy):
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
def _signed_areas(xs, ys, ring_ptr):
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
def _cut(lo, hi, a, b):
    """[lo, hi] intersected with {x: a <= x} or {x: x <= a} style bounds given as (a, b)."""
    return max(lo, min(a, b)), min(hi, max(a, b))


@njit(cache=True, nogil=True)
def _stadium_row(x0, y0, x1, y1, rad, cy):
    """The x-interval where the line ``y = cy`` meets the stadium of radius ``rad`` around the
    segment (empty when lo > hi): the hull of its end discs' chords and its strip's."""
    lo, hi = np.inf, -np.inf
    for ex, ey in ((x0, y0), (x1, y1)):
        dy = cy - ey
        if abs(dy) <= rad:
            w = math.sqrt(rad * rad - dy * dy)
            lo, hi = min(lo, ex - w), max(hi, ex + w)
    dx, dy = x1 - x0, y1 - y0
    ln = math.sqrt(dx * dx + dy * dy)
    if ln > 0.0:
        ux, uy = dx / ln, dy / ln
        a, b = -np.inf, np.inf
        # 0 <= (x - x0) ux + (cy - y0) uy <= ln and |(x - x0) uy - (cy - y0) ux| <= rad
        for c, k, lim_lo, lim_hi in (
            ((cy - y0) * uy, ux, 0.0, ln),
            (-(cy - y0) * ux, uy, -rad, rad),
        ):
            if k != 0.0:
                a, b = _cut(a, b, x0 + (lim_lo - c) / k, x0 + (lim_hi - c) / k)
            elif not lim_lo <= c <= lim_hi:
                a, b = np.inf, -np.inf
        if a <= b:
            lo, hi = min(lo, a), max(hi, b)
    return lo, hi


@njit(cache=True, nogil=True)
def _mark_full(q, gx0, gy0, h, band, block, full):
    """Mark the blocks deeper than ``band`` inside one hull.

    A block whose centre lies within ``r_min - band - half diagonal`` of a piece (``r_min`` its
    smaller radius) has field below ``-(band + half diagonal)`` there, so ``<= -band`` at all
    its nodes (1-Lipschitz). That region is a stadium: marked row by row of blocks, in time
    linear in the rows (pieces are many and short on real roads).
    """
    nby, nbx = full.shape
    bw = block * h
    half_diag = 0.5 * bw * math.sqrt(2.0)
    o = 0.5 * bw
    for p in range(q.shape[0]):
        row = q[p]
        rad = min(row[5], row[10]) - band - half_diag
        if rad <= 0.0:
            continue
        by0, by1 = _span(min(row[1], row[9]) - rad, max(row[1], row[9]) + rad, gy0 + o, bw, nby - 1)
        for bj in range(by0, by1 + 1):
            lo, hi = _stadium_row(row[0], row[1], row[8], row[9], rad, gy0 + o + bj * bw)
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


@njit(cache=True, nogil=True)
def _nodes_min(z, row, ja, jb, ia, ib, gx0, gy0, h, band):
    """``z = min(z, field of the piece)`` over nodes [ja, jb] x [ia, ib]; how many are deep."""
    deep = 0
    for j in range(ja, jb + 1):
        py = gy0 + j * h
        for i in range(ia, ib + 1):
            if z[j, i] <= -band:  # already deep inside: nothing to learn here
                deep += 1
                continue
            g = _piece_field(gx0 + i * h, py, row)
            if g < z[j, i]:
                z[j, i] = g
                if g <= -band:
                    deep += 1
    return deep


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
def _piece_nodes(z, row, gx0, gy0, h, band, block, full, sat, sub_deep, touched):
    """One piece at the nodes within its radius + band, outside the full blocks.

    A block whose every node is now deeper than the band (inside the union of several hulls)
    becomes full, so the later pieces skip it too. Rows of blocks that were full from the
    start are skipped in O(1) (``sat``). ``touched`` marks the blocks whose nodes it evaluated.
    """
    ny, nx = z.shape
    rr = max(row[5], row[10]) + band
    i0, i1 = _span(min(row[0], row[8]) - rr, max(row[0], row[8]) + rr, gx0, h, nx - 1)
    j0, j1 = _span(min(row[1], row[9]) - rr, max(row[1], row[9]) + rr, gy0, h, ny - 1)
    if i0 > i1 or j0 > j1 or _all_full(sat, i0 // block, i1 // block, j0 // block, j1 // block):
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
            touched[bj, bi] = True
            deep = _block_min(z, row, ja, jb, ia, ib, gx0, gy0, h, band, bj, bi, block, sub_deep)
            whole = (min(ny, bj * block + block) - bj * block) * (
                min(nx, bi * block + block) - bi * block
            )
            if deep == whole:
                full[bj, bi] = True


@njit(cache=True, nogil=True)
def _field(x0, y0, r0, x1, y1, r1, gx0, gy0, h, band, block, z):
    """Fill ``z[j, i]`` (node ``(gx0 + i h, gy0 + j h)``) with the field, exact where
    ``|f| < band`` and of the right sign (clamped to ``band`` above) elsewhere.

    Two passes over the pieces. The first marks the coarse blocks of ``block`` x ``block`` cells
    that lie deeper than ``band`` inside one hull (:func:`_mark_full`). The second evaluates
    each piece at the nodes near it, skipping the marked blocks (and the pieces whose every
    block is full: deep inside the union), which are then filled with ``-band``.

    Returns the blocks the outline may cross: those with nodes evaluated that are not full.
    Elsewhere ``|f| >= band > h sqrt(2)``, so no cell with a corner there is crossed.
    """
    ny, nx = z.shape
    full = np.zeros(((ny + block - 1) // block, (nx + block - 1) // block), dtype=np.bool_)
    q = _piece_table(x0, y0, r0, x1, y1, r1)
    _mark_full(q, gx0, gy0, h, band, block, full)
    z[:, :] = band
    sat = _summed(full)  # a piece whose every block is full is deep inside: skipped
    nsub = (block + SUB - 1) // SUB
    sub_deep = np.zeros((full.shape[0] * nsub, full.shape[1] * nsub), dtype=np.bool_)
    touched = np.zeros_like(full)
    for p in range(q.shape[0]):
        _piece_nodes(z, q[p], gx0, gy0, h, band, block, full, sat, sub_deep, touched)
    for bj in range(full.shape[0]):
        for bi in range(full.shape[1]):
            if full[bj, bi]:
                z[bj * block : bj * block + block, bi * block : bi * block + block] = -band
    return touched & ~full
    # values below -band are left as they are: only signs matter that far from the outline


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
    segments are written when ``starts`` has room (the counting pass passes empty arrays).
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
def _march(z, live, block):
    """The closed rings of the zero level of ``z``, in node units: ``(xs, ys, ring_ptr)``.

    Marching squares over the cells of the ``live`` blocks of ``block`` x ``block`` nodes (the
    others are not crossed, :func:`_field`): each crossed grid edge starts one segment and ends
    another (the grid's border is outside), and the rings follow the segments edge to edge.
    """
    dummy = np.empty(0, dtype=np.int64)
    n = _march_cells(z, live, block, dummy, dummy)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    _march_cells(z, live, block, starts, ends)
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
