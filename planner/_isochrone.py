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
  distance to the union outside it (the min over one piece has a closed form), is traced at
  its zero level by marching squares (compiled, with linear interpolation along the cell edges
  and saddles resolved by the cell centre), and the rings become polygons. The field is
  :mod:`planner._isochrone_field`'s (:func:`field`), the tracing
  :mod:`planner._isochrone_trace`'s (:func:`march`, :func:`assemble`). The cost follows the
  outline, not the area: nodes get exact values only within 1.5 cells of the outline; blocks
  deep inside one hull are marked at once, a piece skips the blocks and sub-blocks its field
  cannot lower and every piece whose blocks are all inside, and only blocks the outline may
  cross are traced. Before that, the pieces whose hull is a disc held by another's are dropped
  (:func:`covered_discs`: exact; on foot about half of them) and runs of joined full-radius
  pieces become chords (:func:`merged`, within ``MERGE`` cells). The traced rings are disjoint
  and simple, so the polygon is valid by construction; rings of at most
  ``SIMPLIFY_MAX_VERTICES`` vertices are simplified (Douglas-Peucker within ``SIMPLIFY -
  MERGE`` cells, kept when GEOS finds the result valid), larger ones kept as traced (there the
  validity check would cost more than the tracing).

Error bound of ``"grid"``, with ``delta = cell_m * (sqrt(2) + SIMPLIFY)`` (the cell diagonal,
plus a tenth of a cell: ``MERGE`` for the chords of :func:`merged` and ``SIMPLIFY - MERGE``
for the simplification of the traced rings, :func:`simplify_rings`). Every
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
that share it share one polygon.

The thresholds of one facility nest (:func:`grid_polygons`): one whose cell is the larger
one's is traced on that grid with its field raised to the larger field node by node
(marching squares is monotone in the node values), so it lies inside by construction; across
cells the traced rings are tested (:func:`rings_inside`), and the caller cuts with GEOS
(:func:`nest`) only the pairs whose boundaries touch or cross. Per-network tables (segments, incidence, edge slack) are
cached in a :class:`weakref.WeakKeyDictionary` keyed by the network.

The kernels are compiled with numba and release the GIL, so threads help.
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

from ._errors import NetworkError
from ._isochrone_field import BLOCK, covered_discs, field, merged
from ._isochrone_trace import (
    assemble,
    march,
    raised,
    rings_inside,
    signed_areas,
    simplify_rings,
)

#: With no disc wider than this many cells, ``"grid"`` falls back to the exact union.
THIN_CELLS = 1.5
#: Simplification of the road pieces plus the traced outline, in cells (part of the bound).
SIMPLIFY = 0.1
#: Of which: runs of full-radius road pieces replaced by their chord (:func:`merged`).
MERGE = 0.05
#: Traced rings with at most this many vertices are simplified by ``SIMPLIFY - MERGE`` cells
#: (Douglas-Peucker, :func:`simplify_rings`, then GEOS's validity check; 5-6x fewer vertices
#: on foot). Larger ones are kept as traced: valid by construction, and the check would cost
#: more than the tracing (16 ms per 15-min drive polygon).
SIMPLIFY_MAX_VERTICES = 4096


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


def same_place(fac_att) -> tuple[np.ndarray, np.ndarray]:
    """Facilities that join the network at the same point, once: ``(first, inverse)`` with
    ``first`` the rows drawn and ``inverse[i]`` the position in ``first`` of facility ``i``'s.

    A facility's polygons depend only on where it joins the network (its edge, the fraction
    along it and its off-network time), so facilities with the same join (several in one
    building, or a list with duplicates) share them exactly.
    """
    key = np.stack(
        [
            np.asarray(fac_att.edge, dtype=np.float64),
            np.asarray(fac_att.frac, dtype=np.float64),
            np.asarray(fac_att.access_s, dtype=np.float64),
        ],
        axis=1,
    )
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # keep the facilities' own order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order].astype(np.int64), rank[inverse.ravel()].astype(np.int64)


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
        return Pieces(*out)


@njit(cache=True, nogil=True)
def _at_kernel(x0, y0, t0, x1, y1, t1, budget, v_off, cap):
    """:meth:`TimedPieces.at` compiled: 0-2 pieces per timed piece, in one pass into room for
    two each (six arrays: a fifth faster than rows of one block)."""
    n = len(x0)
    ox0, oy0, or0 = np.empty(2 * n), np.empty(2 * n), np.empty(2 * n)
    ox1, oy1, or1 = np.empty(2 * n), np.empty(2 * n), np.empty(2 * n)
    lo, hi = 0.5, max(cap, 0.5)
    full = np.isinf(budget)  # nothing runs out: every disc is the full cap
    m = 0
    for k in range(n):
        a0, b0, s0, a1, b1, s1 = x0[k], y0[k], t0[k], x1[k], y1[k], t1[k]
        if min(s0, s1) > budget:
            continue
        if max(s0, s1) > budget:  # the time runs out on it: end 0 the earlier, end 1 at the cut
            if s0 > s1:
                a0, b0, s0, a1, b1, s1 = a1, b1, s1, a0, b0, s0
            w = (budget - s0) / (s1 - s0)
            a1, b1, s1 = a0 + w * (a1 - a0), b0 + w * (b1 - b0), budget
        R0, R1 = (cap, cap) if full else ((budget - s0) * v_off, (budget - s1) * v_off)
        if (R0 - cap) * (R1 - cap) < 0.0:  # the radius reaches the cap inside: two parts
            w = (R0 - cap) / (R0 - R1)
            mx, my = a0 + w * (a1 - a0), b0 + w * (b1 - b0)
            c = min(max(cap, lo), hi)
            ox0[m], oy0[m], or0[m] = a0, b0, min(max(R0, lo), hi)
            ox1[m], oy1[m], or1[m] = mx, my, c
            m += 1
            a0, b0, R0 = mx, my, cap
        ox0[m], oy0[m], or0[m] = a0, b0, min(max(R0, lo), hi)
        ox1[m], oy1[m], or1[m] = a1, b1, min(max(R1, lo), hi)
        m += 1
    return ox0[:m], oy0[:m], or0[:m], ox1[:m], oy1[:m], or1[:m]


def timed_pieces(
    net, seg, inc_ptr, inc_edge, nodes, times, budget, fac_att, i, *, scratch=None
) -> TimedPieces:
    """Every piece of road reached by facility ``i`` within ``budget`` seconds, with its times.

    ``nodes``/``times`` are the facility's reach set cut at ``budget``; the pieces are cut
    where the time runs out. One compiled pass over the reached nodes' edges
    (:func:`_timed_kernel`): the cost follows the reached edges. ``scratch`` (one time per
    network node, all ``inf``; see :func:`time_scratch`) is the node -> time table; the kernel
    sets only the reached nodes' entries and puts ``inf`` back, so one array serves every
    facility of a thread.
    """
    if fac_att.edge[i] < 0:
        return _no_timed()
    if scratch is None:
        scratch = time_scratch(net)
    if len(scratch) < net.n_nodes or len(nodes) != len(times):
        raise NetworkError(
            f"timed_pieces: {len(nodes)} nodes with {len(times)} times, a time table of "
            f"{len(scratch)} for {net.n_nodes} nodes. Fix: pass one reach set and "
            "time_scratch(network)."
        )
    if len(nodes) and not (0 <= int(np.min(nodes)) and int(np.max(nodes)) < net.n_nodes):
        raise NetworkError(
            "timed_pieces: the reach set holds nodes outside the network "
            f"(0 to {net.n_nodes - 1}). Fix: take it from reach() on this network."
        )
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
        scratch,
    )
    return TimedPieces(*out)


def time_scratch(net) -> np.ndarray:
    """The node -> time table of :func:`timed_pieces` (``inf`` everywhere; reusable)."""
    return np.full(net.n_nodes, np.inf)


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
def _fill_times(nodes, times, tt, n):
    """``tt[node] = time`` for the reach set (the least where a node comes twice); ``False``
    (nothing written) when the arrays do not fit the network (:func:`timed_pieces` says so
    first: this keeps the kernel memory-safe whatever it is given)."""
    if len(tt) < n or len(nodes) != len(times):
        return False
    for k in range(len(nodes)):
        if not 0 <= nodes[k] < n:
            return False
    for k in range(len(nodes)):
        tt[nodes[k]] = min(tt[nodes[k]], times[k])
    return True


@njit(cache=True, nogil=True)
def _edge_pieces(nodes, times, budget, eu, ev, t_uv, t_vu, inc_ptr, inc_edge, fe, ff, a_off, tt):
    """The reached part of each edge, per end it is reached through, and the facility's own.

    Returns ``(edge, a, b, ta, rate)`` per piece: the piece runs along ``edge`` from fraction
    ``a`` (time ``ta``) to ``b``, the time growing by ``rate`` per unit of fraction. An end
    that cannot be reached along its edge (a one-way street leaving it) gives no piece: it
    would be the node's disc alone, and that disc already ends the piece of the edge by which
    the node got its time (the piece from the next node on its way to the facility runs the
    whole edge back to it, reaching it at exactly its time). On the bench's drive network these
    were 4 % of the pieces, all dropped again by :func:`covered_discs` at a cost of 3 ms a
    facility. ``tt`` (one entry per node, all ``inf``) holds the reached nodes' times
    meanwhile and is ``inf`` again on return (a direct index: 40 % faster than the hash table
    it replaced).
    """
    n = len(inc_ptr) - 1
    if len(eu) != len(ev) or not _fill_times(nodes, times, tt, n):
        nothing = np.empty(0)
        return np.empty(0, dtype=np.int64), nothing, nothing, nothing, nothing
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
            if not (0 <= e < len(eu) and 0 <= eu[e] < n and 0 <= ev[e] < n):
                continue  # not for the network's own tables (kept memory-safe)
            tu = tt[eu[e]]
            tv = tt[ev[e]]
            # along the edge from u: a point at fraction s reaches u in s * t_vu, then the
            # facility; from v: (1 - s) * t_uv. The two meet at s_star.
            s_star = np.nan
            both = np.isfinite(tu) and np.isfinite(tv) and np.isfinite(t_vu[e])
            if both and np.isfinite(t_uv[e]) and t_vu[e] + t_uv[e] > 0.0:
                s_star = (tv + t_uv[e] - tu) / (t_vu[e] + t_uv[e])
            # each end is emitted when the edge is met from that end's node (once per end)
            # an end no one can come along the edge to gives no piece (it would be the end
            # point alone): that node's disc ends the piece of the edge its time came by
            if eu[e] == node and np.isfinite(t_vu[e]):
                ok, b = _end_piece(tu, t_vu[e], s_star, 0.0, budget)
                if ok and tu <= budget:
                    m = _emit(pe, pa, pb, pt, pr, m, e, 0.0, b, tu, t_vu[e])
            if ev[e] == node and np.isfinite(t_uv[e]):
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
    for k in range(len(nodes)):
        tt[nodes[k]] = np.inf
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
    tt,
):
    """The pieces of :func:`_edge_pieces`, expanded into the straight segments they overlap."""
    pe, pa, pb, pt, pr = _edge_pieces(
        nodes, times, budget, eu, ev, t_uv, t_vu, inc_ptr, inc_edge, fe, ff, a_off, tt
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
            if c1 < c0 or (c1 == c0 and hi > lo):
                continue  # not on it, or only its end point (held by the next segment's part)
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

    A threshold whose cell is the same as the next larger one's is traced on a window of that
    one's grid with its field raised to the larger one's at every node (:func:`raised`): marching squares
    is monotone in the node values (a lower value only moves a crossing outwards or adds an
    inside corner), so the smaller polygon lies inside the larger one, and the larger field is
    within ``MERGE`` cells of the exact smaller field wherever it is higher (it is a field of
    more pieces with larger radii, up to the chords of :func:`merged`): the bound holds. The
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
    by construction when traced on its grid (:func:`raised`), else tested on the rings
    (:func:`rings_inside`, a tenth of GEOS's ``covers``)."""
    if grid[3] is None or prev[3] is None:  # simplified: GEOS tests it
        return False
    if grid[4]:  # traced with its field raised to the larger one's
        return True
    (ax, ay, a_ptr), (bx, by, b_ptr) = grid[3], prev[3]
    ha, hb = grid[2], prev[2]
    scale = ha / hb
    ox, oy = (grid[1][0] - prev[1][0]) / hb, (grid[1][1] - prev[1][1]) / hb
    return bool(rings_inside(ax, ay, a_ptr, bx, by, b_ptr, scale, ox, oy))


def _grid_one(p: Pieces, cell_m: float, quad_segs: int, max_nodes: int, prev):
    """:func:`grid_polygon` of ``p``; also its grid ``(field, lattice, cell)`` (``None`` when
    drawn exactly), traced on ``prev``'s grid when that has the same cell (see
    :func:`grid_polygons`)."""
    if len(p) == 0:
        return shapely.Polygon(), 0.0, None
    if max(float(p.r0.max()), float(p.r1.max())) < THIN_CELLS * cell_m:
        return exact_polygon(p, quad_segs), 0.0, None
    h = grid_cell(p, cell_m, max_nodes)
    q = Pieces(*merged(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, MERGE * h))
    covered = covered_discs(q.x0, q.y0, q.r0, q.x1, q.y1, q.r1)
    if covered.any():
        q = q.take(np.flatnonzero(~covered))
    # on the larger one's grid when it has the same cell and was kept as traced (a simplified
    # one no longer bounds the raised field's trace)
    on = prev if prev is not None and prev[2] == h and prev[3] is not None else None
    poly, z, grid, rings = _traced(q.x0, q.y0, q.r0, q.x1, q.y1, q.r1, h, on)
    return poly, h, (z, grid, h, rings, on is not None)


def _traced(x0, y0, r0, x1, y1, r1, cell_m, on=None):
    """The zero level of the field of these pieces, as a (Multi)Polygon; also the field, its
    lattice ``(gx0, gy0, nx, ny)`` and the rings ``(xs, ys, ring_ptr)`` in node units.

    The field (:func:`field`) is traced by marching squares on the cells with corners of
    both signs (:func:`march`), then rings become polygons (:func:`assemble`). With ``on``
    (a larger threshold's ``(field, lattice, cell, ...)`` on the same cell), the field is
    computed on its own lattice, a window of that one's, and raised to that field there
    (:func:`grid_polygons`).

    The rings as traced are disjoint and simple (saddles resolved by the cell centre, crossings
    kept off the nodes), so the polygon is valid by construction. Up to
    ``SIMPLIFY_MAX_VERTICES`` vertices they are simplified (:func:`_simplified`; the rings are
    then not returned), larger ones kept as traced (GEOS's validity check would cost more
    than the tracing).
    """
    h = float(cell_m)
    rmax = max(float(r0.max()), float(r1.max()))
    grid = lattice(x0, y0, r0, x1, y1, r1, h)
    oj = oi = 0
    if on is not None:
        # its own (smaller) lattice is a window of the larger one's: both lie on multiples of h
        oi, oj = round((grid[0] - on[1][0]) / h), round((grid[1] - on[1][1]) / h)
        if 0 <= oi and 0 <= oj and oi + grid[2] <= on[1][2] and oj + grid[3] <= on[1][3]:
            grid = (on[1][0] + oi * h, on[1][1] + oj * h, grid[2], grid[3])
        else:  # not expected (its pieces lie within the larger one's): the larger grid whole
            grid, oi, oj = on[1], 0, 0
    gx0, gy0, nx, ny = grid
    # |f| is exact up to here: every cell the zero level crosses has |f| <= h sqrt(2) at its
    # corners; farther nodes only need their sign
    band = 1.5 * h
    z = np.empty((ny, nx))
    # blocks of about a third of the largest radius: small enough to lie deep inside one hull
    block = max(2, min(BLOCK, int(rmax / (3.0 * h))))
    live = field(x0, y0, r0, x1, y1, r1, gx0, gy0, h, band, block, z)
    if on is not None:
        live = raised(z, on[0], oj, oi, block)
    xs, ys, ring_ptr = march(z, live, block)
    area = signed_areas(xs, ys, ring_ptr)
    if len(xs) <= SIMPLIFY_MAX_VERTICES:
        poly = _simplified(xs, ys, ring_ptr, area, h, gx0, gy0)
        if poly is not None:
            return poly, z, grid, None  # no rings: its nesting is GEOS's to check
    return assemble(xs, ys, ring_ptr, area, h, gx0, gy0), z, grid, (xs, ys, ring_ptr)


def _simplified(xs, ys, ring_ptr, area, h, gx0, gy0):
    """The traced rings simplified by ``SIMPLIFY - MERGE`` cells, as a polygon; ``None`` when
    that is not valid (rings that came closer than that may cross once simplified).

    Rings that collapse (narrower than that) go.
    """
    keep = simplify_rings(xs, ys, ring_ptr, SIMPLIFY - MERGE)
    kept = np.add.reduceat(keep, ring_ptr[:-1]) if len(xs) else np.zeros(0, dtype=np.int64)
    live = np.repeat(kept >= 4, np.diff(ring_ptr)) & keep
    ptr = np.zeros(int((kept >= 4).sum()) + 1, dtype=np.int64)
    np.cumsum(kept[kept >= 4], out=ptr[1:])
    poly = assemble(xs[live], ys[live], ptr, area[kept >= 4], h, gx0, gy0)
    return poly if poly.is_valid else None

    # values below -band are left as they are: only signs matter that far from the outline
