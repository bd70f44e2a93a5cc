"""Building a :class:`~planner.network.graph.Network` from road lines: rows chosen per mode,
lines split into edges at junctions (shared vertices, same level), times per direction, nodes
renumbered along a Hilbert curve, CSR arrays; small disconnected pieces reported or dropped.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .. import _engine
from .._errors import NetworkError
from .graph import Network, _piece_labels, local_metric_crs
from .modes import TravelMode, edge_speeds, edge_times, road_levels, travel_mode, usable_roads

log = logging.getLogger("planner.network")  # the name the single module had


def _vertex_levels(
    roads: pd.DataFrame, r_pos: np.ndarray, line_row: np.ndarray, cidx: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per vertex: a level key, and whether the vertex joins every level at its position.

    - OSM roads (a ``node_ids`` column: one OSM node id per vertex): the key is the node id, so
      lines join at shared nodes only. Lines whose ids do not match their vertices (edited
      geometry, multi-part rows, no ids) join by position.
    - Road lines with ``layer``/``bridge``/``tunnel`` columns: the key is the level
      (:func:`road_levels`); line ends join every line at their position (a bridge meets the
      road at grade at its ends), other vertices only lines on the same level.
    - Otherwise None: every vertex joins by position.
    """
    n_lines = len(line_row)
    first = np.ones(len(cidx), dtype=bool)
    first[1:] = cidx[1:] != cidx[:-1]
    last = np.ones(len(cidx), dtype=bool)
    last[:-1] = first[1:]
    if "node_ids" in roads.columns:
        ids = roads["node_ids"].iloc[r_pos].to_numpy()
        lens = np.fromiter(
            (len(a) if isinstance(a, np.ndarray | list | tuple) else -1 for a in ids),
            np.int64,
            len(ids),
        )
        counts = np.bincount(cidx, minlength=n_lines)
        single = np.bincount(line_row, minlength=len(r_pos)) == 1
        ok_line = single[line_row] & (lens[line_row] == counts)
        level = np.full(len(cidx), np.iinfo(np.int64).min, dtype=np.int64)
        ok_vertex = ok_line[cidx]
        if ok_line.any():
            try:
                level[ok_vertex] = np.concatenate(
                    [np.asarray(a) for a in ids[line_row[ok_line]]]
                ).astype(np.int64)
            except (TypeError, ValueError):  # ids that are not integers: join by position
                ok_vertex[:] = False
        return level, ~ok_vertex
    row_level = road_levels(roads)
    if row_level is None:
        return None
    return row_level[r_pos][line_row][cidx], first | last


def _split_by_level(xy_id: np.ndarray, level: np.ndarray, joins_all: np.ndarray) -> np.ndarray:
    """Node number of each vertex: one node per (position, level), or per position where any
    vertex there joins every level."""
    collapse = np.zeros(int(xy_id.max()) + 1, dtype=bool)
    collapse[xy_id[joins_all]] = True
    lev = np.where(collapse[xy_id], np.iinfo(np.int64).min, level)
    lev_code = np.unique(lev, return_inverse=True)[1].ravel().astype(np.int64)
    n_lev = int(lev_code.max()) + 1
    key = xy_id.astype(np.int64) * n_lev + lev_code  # < n_vertices**2: no overflow below 3e9
    return np.unique(key, return_inverse=True)[1].ravel()


def build_network(
    roads: gpd.GeoDataFrame,
    mode: str | TravelMode = "walk",
    *,
    crs: pyproj.CRS | str | None = None,
    urban_area: Any = None,
    snap_m: float = 0.01,
    largest_component: bool = False,
    min_piece_nodes: int = 0,
    **mode_options: Any,
) -> Network:
    """Build the travel-time graph of one mode from road lines.

    Parameters
    ----------
    roads : GeoDataFrame
        Road lines with columns ``highway``, ``oneway`` (0, 1, -1) and ``maxspeed_kmh``, as
        returned by :func:`planner.load.read_roads`. Which rows the mode uses:
        :func:`usable_roads` (class, OSM access tags, ``service``). Where lines join:

        - with a ``node_ids`` column (OSM files): at shared OSM nodes only; two nodes at the
          same position (stacked footways, a bridge over a road) stay apart;
        - with ``layer``/``bridge``/``tunnel`` columns (Geofabrik shapefiles): at line ends,
          and at shared vertices of lines on the same level (:func:`road_levels`);
        - else at every shared vertex.

        Vertices are shared when they round to the same ``snap_m`` grid point; lines that
        cross without a shared vertex never connect.
    mode : {"walk", "ebike", "drive"} or TravelMode
    crs : CRS, optional
        Metric CRS to work in (default: the UTM zone of the roads).
    urban_area : shapely geometry or GeoSeries (EPSG:4326), optional
        Where the drive ``urban_factor`` applies (e.g. the subdistricts of the county town).
    snap_m : float
        Vertices closer than this are one node (rounding grid, metres).
    largest_component : bool
        Keep only the largest (strongly, for one-way modes) connected component. Off by
        default: real road networks come in pieces (a village across a river whose bridge is
        missing, an island, a road system that joins the rest only by a motorway walkers may not
        use, the edges of a clipped extract), and dropping them sends their residents and
        facilities to roads far away or reports them as off the network. With every piece kept,
        points join their nearest usable road whatever piece it is in and residents are served
        by the facilities of their own piece (:func:`network_pieces` labels them).
    min_piece_nodes : int
        Drop the connected pieces (weakly connected: one-way streets do not split a piece) with
        fewer nodes than this, logging a warning that lists what was dropped. 0 (default) keeps
        every piece.
    **mode_options
        Passed to :func:`travel_mode` (``speed_kmh``, ``access_max_m``,
        ``access_speed_factor``, ...).

    Returns
    -------
    Network
    """
    t0 = time.perf_counter()
    tm = travel_mode(mode, **mode_options)
    if not (isinstance(min_piece_nodes, int | np.integer) and min_piece_nodes >= 0):
        raise NetworkError(f"min_piece_nodes must be a whole number >= 0, got {min_piece_nodes!r}.")
    missing = [c for c in ("highway", "oneway", "maxspeed_kmh") if c not in roads.columns]
    if missing:
        raise NetworkError(
            f"roads lack columns {missing}. Fix: load them with planner.read_roads(), which "
            "adds highway, oneway and maxspeed_kmh."
        )
    if roads.crs is None:
        raise NetworkError("roads have no CRS. Fix: load them with planner.read_roads().")
    usable = usable_roads(roads, tm)
    g = roads.geometry.to_numpy()
    geom_ok = ~shapely.is_missing(g) & ~shapely.is_empty(g)
    del g
    r_pos = np.flatnonzero(usable & geom_ok)  # row numbers in the input
    if len(r_pos) == 0:
        raise NetworkError(
            f"no roads usable by mode {tm.name!r} (excluded classes: {sorted(tm.excluded_classes)}; "
            f"access tags read: {', '.join(tm.access_tags)})."
        )
    src = roads.geometry.iloc[r_pos]  # the geometry column only: the other columns are read per row
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs(src)
    geoms = src.to_crs(metric).to_numpy()
    del src
    line_row = np.arange(len(geoms))  # position in r_pos of the road each line comes from
    if not (shapely.get_type_id(geoms) == 1).all():  # multi-part or mixed: split into parts
        geoms, line_row = shapely.get_parts(geoms, return_index=True)
        keep = shapely.get_type_id(geoms) == 1  # LineString
        geoms, line_row = geoms[keep], line_row[keep]
    coords, cidx = shapely.get_coordinates(geoms, return_index=True)
    del geoms
    if len(coords) < 2:
        raise NetworkError("roads hold no line geometry with two or more points.")

    # -- noding: one node per distinct (rounded) vertex and level (OSM node id, or road layer);
    # a junction is a vertex shared by lines
    vert = _vertex_ids(coords, snap_m)
    levels = _vertex_levels(roads, r_pos, line_row, cidx) if len(vert) else None
    if levels is not None:
        vert = _split_by_level(vert, *levels)
    del levels
    first = np.ones(len(cidx), dtype=bool)
    first[1:] = cidx[1:] != cidx[:-1]
    last = np.ones(len(cidx), dtype=bool)
    last[:-1] = first[1:]
    is_node = first | last | (np.bincount(vert)[vert] >= 2)
    _split_loops(vert, is_node, last)
    del first
    seg_ok = ~last  # segment k runs from coordinate k to k+1 within the same line
    del last
    seg_len = np.zeros(len(coords))
    d = np.diff(coords, axis=0)
    seg_len[:-1] = np.hypot(d[:, 0], d[:, 1])
    del d
    seg_len[~seg_ok] = 0.0
    starts = is_node & seg_ok
    del is_node
    start_coord = np.flatnonzero(starts)
    n_edges_raw = len(start_coord)
    seg_idx = np.flatnonzero(seg_ok)
    del seg_ok
    e_of = (np.cumsum(starts) - 1)[seg_idx]  # edge of each segment (nondecreasing, none empty)
    del starts
    length = np.bincount(e_of, weights=seg_len[seg_idx], minlength=n_edges_raw)
    del seg_len
    # end coordinate of each edge: the end of its last segment
    end_coord = seg_idx[np.r_[np.flatnonzero(e_of[1:] != e_of[:-1]), len(e_of) - 1]] + 1
    del e_of, seg_idx
    eu_vert = vert[start_coord]
    ev_vert = vert[end_coord]
    # edges of positive length between two distinct nodes; the others are never built
    valid = np.flatnonzero((length > 0) & (eu_vert != ev_vert))
    start_coord, end_coord, length = start_coord[valid], end_coord[valid], length[valid]
    eu_vert, ev_vert = eu_vert[valid], ev_vert[valid]
    e_line = line_row[cidx[start_coord]]  # position in r_pos of each edge's road
    del valid, cidx, line_row

    # -- attributes and times, per road (then per edge) -------------------------------------
    hw_road = roads["highway"].iloc[r_pos].astype(str).to_numpy()
    ow = pd.to_numeric(roads["oneway"].iloc[r_pos], errors="coerce").fillna(0).astype(np.int8)
    oneway = ow.to_numpy()[e_line]
    maxspeed = pd.to_numeric(roads["maxspeed_kmh"].iloc[r_pos], errors="coerce")
    maxspeed = maxspeed.to_numpy(dtype=float)
    speed = edge_speeds(tm, hw_road, maxspeed)[e_line]  # elementwise: per road = per edge
    t_uv, t_vu = edge_times(tm, length, speed, oneway)

    # nodes: the vertices an edge uses, in the order of their rounded (x, y)
    vert_xy = np.zeros((int(vert.max()) + 1, 2))
    vert_xy[vert, 0] = coords[:, 0]  # a node's coordinates: its last vertex (all round to the
    vert_xy[vert, 1] = coords[:, 1]  # same key); one column at a time is ~3x faster than rows
    del vert
    is_used = np.zeros(len(vert_xy), dtype=bool)
    is_used[eu_vert] = True
    is_used[ev_vert] = True
    nxy = vert_xy[is_used]
    new_id = np.cumsum(is_used) - 1
    eu, ev = new_id[eu_vert], new_id[ev_vert]
    del vert_xy, is_used, new_id, eu_vert, ev_vert
    edge = np.arange(len(eu))  # the edges kept, as positions in the arrays above

    keep_node = None
    if largest_component and len(nxy):
        keep_node = largest_component_mask(len(nxy), eu, ev, t_uv, t_vu, strong=tm.respect_oneway)
    if min_piece_nodes > 1 and len(nxy):
        small = _small_pieces(nxy, eu, ev, int(min_piece_nodes), metric)
        keep_node = ~small if keep_node is None else keep_node & ~small
    if keep_node is not None:
        keep_edge = keep_node[eu] & keep_node[ev]
        eu, ev, edge = eu[keep_edge], ev[keep_edge], edge[keep_edge]
        # a strongly connected component may still hold edges that leave and come back through
        # forbidden directions; edges between kept nodes stay
        remap = np.cumsum(keep_node) - 1
        nxy = nxy[keep_node]
        eu, ev = remap[eu], remap[ev]

    # -- Hilbert renumbering ------------------------------------------------------------------
    order = hilbert_order(nxy)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    nxy = nxy[order]
    eu, ev = rank[eu], rank[ev]
    # edges sorted by their first node, for locality of geometry lookups too
    eorder = _argsort_stable(eu * len(nxy) + ev)
    eu, ev, edge = eu[eorder], ev[eorder], edge[eorder]

    # -- geometry, built once, for the edges kept ---------------------------------------------
    egeom = _linestrings(coords, start_coord[edge], end_coord[edge])
    del coords, start_coord, end_coord
    length, speed, oneway, e_line = length[edge], speed[edge], oneway[edge], e_line[edge]
    if urban_area is not None and tm.urban_factor != 1.0:
        ua = _as_geometry(urban_area, metric)
        inside = shapely.intersects(ua, shapely.line_interpolate_point(egeom, 0.5, normalized=True))
        speed = np.where(inside, speed * tm.urban_factor, speed)
    t_uv, t_vu = edge_times(tm, length, speed, oneway)

    net = network_from_arrays(
        tm,
        metric,
        nxy,
        eu,
        ev,
        length,
        t_uv,
        t_vu,
        hw_road[e_line].astype(object),
        egeom,
        r_pos[e_line].astype(np.int64),
    )
    log.info(
        "built %s graph: %s nodes, %s edges, %s arcs in %.2f s",
        tm.name,
        f"{net.n_nodes:,}",
        f"{net.n_edges:,}",
        f"{net.n_arcs:,}",
        time.perf_counter() - t0,
    )
    return net


def network_from_arrays(
    mode: TravelMode,
    crs: pyproj.CRS | str,
    node_xy: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    length_m: np.ndarray,
    time_uv_s: np.ndarray,
    time_vu_s: np.ndarray,
    edge_class: np.ndarray,
    edge_geometry: np.ndarray,
    edge_source: np.ndarray | None = None,
) -> Network:
    """A :class:`Network` from edge arrays (times in seconds, +inf where a direction is forbidden).

    :func:`build_network` ends here; graphs made elsewhere (benchmarks, other routers) start here.
    Nodes are used in the order given: renumber them along a space-filling curve first for speed.
    """
    n = len(node_xy)
    fwd = _csr(n, edge_u, edge_v, time_uv_s, time_vu_s)
    rev = _csr(
        n, edge_v, edge_u, time_uv_s, time_vu_s
    )  # reverse graph: arc v->u carries time of u->v
    return Network(
        mode=mode,
        crs=pyproj.CRS.from_user_input(crs),
        node_xy=node_xy,
        indptr=fwd[0],
        indices=fwd[1],
        weights=fwd[2],
        arc_edge=fwd[3],
        rindptr=rev[0],
        rindices=rev[1],
        rweights=rev[2],
        rarc_edge=rev[3],
        edge_u=np.asarray(edge_u).astype(np.int32),
        edge_v=np.asarray(edge_v).astype(np.int32),
        edge_length_m=length_m,
        edge_time_uv_s=time_uv_s,
        edge_time_vu_s=time_vu_s,
        edge_class=edge_class,
        edge_geometry=edge_geometry,
        edge_source=(np.arange(len(edge_u)) if edge_source is None else edge_source).astype(
            np.int64
        ),
    )


def _vertex_ids(coords: np.ndarray, snap_m: float) -> np.ndarray:
    """Node number of each vertex: the rank of its rounded (x, y) among the distinct ones.

    The same numbers as ``np.unique(np.round(coords / snap_m).astype(np.int64), axis=0,
    return_inverse=True)`` (rows ordered by x, then y), from one int64 key per vertex: ~10x
    faster than sorting rows. Extents too wide for one int64 key fall back to sorting rows.
    """
    kx = np.round(coords[:, 0] / snap_m).astype(np.int64)
    ky = np.round(coords[:, 1] / snap_m).astype(np.int64)
    if len(kx) == 0:
        return np.zeros(0, dtype=np.int64)
    x0, y0 = int(kx.min()), int(ky.min())
    width_x, width_y = int(kx.max()) - x0 + 1, int(ky.max()) - y0 + 1  # Python ints: exact
    if width_x * width_y > np.iinfo(np.int64).max:
        rows = np.column_stack([kx, ky])
        return np.unique(rows, axis=0, return_inverse=True)[1].ravel()
    kx -= x0  # key = (x - x0) * width_y + (y - y0): ordered as the rows (x, y), no overflow
    kx *= width_y
    ky -= y0
    kx += ky
    del ky
    return np.unique(kx, return_inverse=True)[1].ravel()


def _argsort_stable(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")``: a fast unstable sort, then equal keys in input order.

    For keys that rarely repeat (arcs by tail and head node: only parallel edges tie).
    """
    order = np.argsort(key)
    s = key[order]
    tie = s[1:] == s[:-1]
    if tie.any():
        in_run = np.zeros(len(s), dtype=bool)
        in_run[1:] = tie
        in_run[:-1] |= tie
        pos = np.flatnonzero(in_run)  # runs of equal keys: sort each by input position
        order[pos] = order[pos][np.lexsort((order[pos], s[pos]))]
    return order


def _linestrings(
    coords: np.ndarray, start: np.ndarray, end: np.ndarray, *, chunk: int = 1 << 18
) -> np.ndarray:
    """LineStrings of ``coords[start[i]:end[i] + 1]``, built in chunks to bound the temporaries."""
    out = np.empty(len(start), dtype=object)
    for lo in range(0, len(start), chunk):
        s, e = start[lo : lo + chunk], end[lo : lo + chunk]
        counts = e - s + 1
        gather = np.repeat(s, counts) + _ranges(counts)
        out[lo : lo + chunk] = shapely.linestrings(
            coords[gather], indices=np.repeat(np.arange(len(s)), counts)
        )
    return out


def _ranges(counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges: [0..c0-1, 0..c1-1, ...]."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - offsets


def _as_geometry(area: Any, crs: pyproj.CRS) -> shapely.Geometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        return shapely.union_all(area.to_crs(crs).geometry.values)
    if isinstance(area, shapely.Geometry):  # assumed lon/lat
        return gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
    raise NetworkError(
        "urban_area must be a shapely geometry (lon/lat) or a GeoSeries/GeoDataFrame."
    )


def largest_component_mask(
    n: int, eu: np.ndarray, ev: np.ndarray, t_uv: np.ndarray, t_vu: np.ndarray, *, strong: bool
) -> np.ndarray:
    """Whether each of ``n`` nodes is in the largest (strongly, if ``strong``) connected piece
    of the arcs ``eu -> ev`` (finite ``t_uv``) and ``ev -> eu`` (finite ``t_vu``) (documented
    internal)."""
    a = np.concatenate([eu[np.isfinite(t_uv)], ev[np.isfinite(t_vu)]])
    b = np.concatenate([ev[np.isfinite(t_uv)], eu[np.isfinite(t_vu)]])
    g = sparse.csr_array((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = csgraph.connected_components(
        g, directed=True, connection="strong" if strong else "weak"
    )
    counts = np.bincount(labels)
    keep = labels == np.argmax(counts)
    dropped = n - int(keep.sum())
    if dropped:
        log.info(
            "kept the largest connected component: dropped %s of %s nodes", f"{dropped:,}", f"{n:,}"
        )
    return keep


def _split_loops(vert: np.ndarray, is_node: np.ndarray, last: np.ndarray) -> None:
    """Mark a node at the middle vertex of every edge that would run from a node back to itself.

    A ring road that touches nothing, or a cul-de-sac loop that leaves a junction and returns to
    it, has no node between its ends: as one edge from a node to itself it would be dropped,
    and points beside it would join a road farther away. Split at its middle vertex it is two
    edges. ``is_node`` is updated in place (repeated for lines that pass a point twice).
    """
    while True:
        node_idx = np.flatnonzero(is_node)
        start = node_idx[~last[node_idx]]  # every edge starts at a node that ends no line
        end = node_idx[np.searchsorted(node_idx, start, side="right")]  # the next node: same line
        loop = (vert[start] == vert[end]) & (end - start >= 2)
        if not loop.any():
            return
        is_node[(start[loop] + end[loop]) // 2] = True


def _small_pieces(
    nxy: np.ndarray, eu: np.ndarray, ev: np.ndarray, min_nodes: int, crs: pyproj.CRS
) -> np.ndarray:
    """Nodes in pieces of fewer than ``min_nodes`` nodes; a warning lists the pieces dropped."""
    labels = _piece_labels(len(nxy), eu, ev)
    size = np.bincount(labels)
    small = size[labels] < min_nodes
    if small.any():
        drop = np.flatnonzero(size < min_nodes)
        # where they are: the centre of each dropped piece in lon/lat, largest first
        cx = np.bincount(labels, weights=nxy[:, 0])[drop] / size[drop]
        cy = np.bincount(labels, weights=nxy[:, 1])[drop] / size[drop]
        lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(cx, cy)
        where = ", ".join(
            f"{size[p]} nodes at {x:.5f},{y:.5f}"
            for p, x, y in zip(drop[:10], lon[:10], lat[:10], strict=True)
        )
        log.warning(
            "min_piece_nodes=%d dropped %s road pieces (%s of %s nodes): %s%s",
            min_nodes,
            f"{len(drop):,}",
            f"{int(small.sum()):,}",
            f"{len(nxy):,}",
            where,
            " ..." if len(drop) > 10 else "",
        )
    return small


def hilbert_order(xy: np.ndarray, order: int = 16) -> np.ndarray:
    """Positions of the points ``xy`` sorted along a Hilbert curve of ``2**order`` cells a side:
    the node numbering that keeps neighbours in space near in memory (documented internal)."""
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-9)
    g = np.clip(((xy - lo) / span * ((1 << order) - 1)).astype(np.int64), 0, (1 << order) - 1)
    # contiguous columns: the kernel is compiled for C-ordered arrays only (one signature)
    h = _engine.hilbert_index(np.ascontiguousarray(g[:, 0]), np.ascontiguousarray(g[:, 1]), order)
    return _argsort_stable(h)


def _csr(n, src, dst, t_uv, t_vu):
    """CSR arrays (indptr, indices, weights, arc_edge) of arcs src->dst (t_uv) and dst->src (t_vu).

    Arcs are ordered by tail, then head, then edge position (forward arcs before backward ones).
    """
    fu = np.flatnonzero(np.isfinite(t_uv))
    fv = np.flatnonzero(np.isfinite(t_vu))
    a = np.concatenate([src[fu], dst[fv]])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    key = a.astype(np.int64)
    del a
    key *= n
    b = np.concatenate([dst[fu], src[fv]])
    key += b  # one int64 key per arc: (tail, head), 0 <= head < n
    order = _argsort_stable(key)
    del key
    indices = b[order].astype(np.int32)
    del b
    arc_edge = np.concatenate([fu, fv])[order].astype(np.int32)
    weights = np.concatenate([t_uv[fu], t_vu[fv]])[order].astype(np.float64, copy=False)
    return indptr, indices, weights, arc_edge
