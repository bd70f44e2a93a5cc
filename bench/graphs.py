"""Synthetic road graphs for the engine benchmark, and the real Changsha roads when present.

:func:`synthetic_city` draws a perturbed grid of junctions with five road classes (one grid line
in 32 a trunk road, then primary, secondary, tertiary and residential streets), ~15 % one-way
ways (most of them residential), ~6 % missing links, a bend in the middle of every block and ways
that run through several junctions, as OpenStreetMap ways do. Junctions carry random OSM-like
ids and the ways come in random order, so nothing in the input is ordered in space.

The same city is available two ways:

- :meth:`SyntheticCity.roads` - the road lines as a GeoDataFrame in a UTM CRS with the columns of
  :func:`planner.load.read_roads` (``highway``, ``oneway`` 0/1/-1, ``maxspeed_kmh``, ``name``):
  the input of :func:`planner.build_network`;
- :func:`network_from_arrays` - a :class:`planner.network.Network` built straight from the
  junction and edge arrays, skipping the geometry work of :func:`planner.build_network` (noding
  millions of vertices). It gives the same graph (same node order, same arcs and times; checked
  in ``tests/test_engine.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import network as _net

CRS = "EPSG:32649"  # UTM 49N (Changsha)
X0, Y0 = 600_000.0, 3_000_000.0
CLASSES = ("trunk", "primary", "secondary", "tertiary", "residential")
ROOT = Path(__file__).resolve().parents[1]
CHANGSHA_ROADS = ROOT.parent / "shared" / "data" / "changsha" / "roads.shp"


@dataclass(frozen=True, eq=False)
class SyntheticCity:
    """A synthetic road network as arrays (one row per junction-to-junction block)."""

    node_id: np.ndarray  # int64 OSM-like ids, random
    node_xy: np.ndarray  # (n, 2) metres in CRS
    edge_u: np.ndarray  # int64 positions into node_id (the edge is digitised u -> v)
    edge_v: np.ndarray
    edge_mid: np.ndarray  # (m, 2) the bend in the middle of each block
    edge_way: np.ndarray  # way of each edge (ways run through several junctions)
    edge_seq: np.ndarray  # order of the edge along its way's digitised direction
    way_highway: np.ndarray  # per way
    way_oneway: np.ndarray  # int8 per way: 0, 1 along the digitised direction, -1 against it
    way_maxspeed: np.ndarray  # float per way, NaN when untagged
    crs: str = CRS

    @property
    def n_nodes(self) -> int:
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    @property
    def n_ways(self) -> int:
        return len(self.way_highway)

    def roads(self) -> gpd.GeoDataFrame:
        """The ways as LineStrings (the input of :func:`planner.build_network`)."""
        order = np.lexsort((self.edge_seq, self.edge_way))  # a way's edges, in its direction
        w = self.edge_way[order]
        u, v, mid = self.edge_u[order], self.edge_v[order], self.edge_mid[order]
        counts = np.bincount(w, minlength=self.n_ways)
        # coordinates of a way: u0, mid0, u1, mid1, ..., u_last, mid_last, v_last
        first_of_way = np.ones(len(w), dtype=bool)
        first_of_way[1:] = w[1:] != w[:-1]
        xy = self.node_xy
        per_edge = np.stack([xy[u], mid], axis=1).reshape(-1, 2)  # u_k, mid_k
        last = np.flatnonzero(np.r_[first_of_way[1:], True])  # last edge of each way
        # insert v of the last edge after its (u, mid) pair
        insert_at = 2 * (last + 1)
        coords = np.insert(per_edge, insert_at, xy[v[last]], axis=0)
        way_of_coord = np.repeat(np.arange(self.n_ways), 2 * counts + 1)
        geoms = shapely.linestrings(coords, indices=way_of_coord)
        return gpd.GeoDataFrame(
            {
                "highway": self.way_highway,
                "oneway": self.way_oneway.astype(np.int8),
                "maxspeed_kmh": self.way_maxspeed,
                "name": "",
            },
            geometry=geoms,
            crs=self.crs,
        )


def synthetic_city(
    n_nodes: int = 100_000, *, spacing_m: float = 130.0, seed: int = 0
) -> SyntheticCity:
    """A perturbed-grid city of about ``n_nodes`` junctions (see the module docstring)."""
    rng = np.random.default_rng(seed)
    k = int(round(np.sqrt(n_nodes)))
    n = k * k
    gi, gj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    gi, gj = gi.ravel(), gj.ravel()
    jitter = rng.normal(0, 0.12 * spacing_m, size=(n, 2))
    xy = np.column_stack([X0 + gi * spacing_m, Y0 + gj * spacing_m]) + jitter
    # line classes: every 32nd line trunk, 16th primary, 8th secondary, 4th tertiary, else residential
    off = rng.integers(0, 32, size=2)

    def line_class(idx: np.ndarray, o: int) -> np.ndarray:
        r = (idx + o) % 32
        cls = np.full(len(idx), 4, dtype=np.int8)
        cls[r % 4 == 0] = 3
        cls[r % 8 == 0] = 2
        cls[r % 16 == 0] = 1
        cls[r == 0] = 0
        return cls

    node = gi * k + gj
    us, vs, cl = [], [], []
    # horizontal blocks (i, j) - (i + 1, j), along line j; vertical (i, j) - (i, j + 1), along line i
    h = gi < k - 1
    us.append(node[h])
    vs.append(node[h] + k)
    cl.append(line_class(gj[h], int(off[0])))
    vv = gj < k - 1
    us.append(node[vv])
    vs.append(node[vv] + 1)
    cl.append(line_class(gi[vv], int(off[1])))
    u = np.concatenate(us)
    v = np.concatenate(vs)
    cls = np.concatenate(cl)
    line = np.concatenate([gj[h], k + gi[vv]])  # which grid line the block is on
    pos = np.concatenate([gi[h], gj[vv]])  # position along the line
    # missing links, never on trunk or primary roads
    keep = (rng.random(len(u)) >= 0.06) | (cls <= 1)
    u, v, cls, line, pos = u[keep], v[keep], cls[keep], line[keep], pos[keep]
    order = np.lexsort((pos, line))
    u, v, cls, line, pos = u[order], v[order], cls[order], line[order], pos[order]
    # ways: break a line at gaps and at random junctions (mean ~4 blocks per way)
    new_way = np.ones(len(u), dtype=bool)
    new_way[1:] = (
        (line[1:] != line[:-1]) | (pos[1:] != pos[:-1] + 1) | (rng.random(len(u) - 1) < 0.25)
    )
    # also at junctions where both crossing blocks are missing: a way passing through such a
    # junction would make it a mere bend (no node) in build_network
    degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
    new_way[1:] |= degree[u[1:]] == 2
    way = np.cumsum(new_way) - 1
    n_ways = int(way[-1]) + 1
    way_cls = cls[new_way]
    # bend in the middle of each block
    mid = (xy[u] + xy[v]) / 2 + rng.normal(0, 0.08 * spacing_m, size=(len(u), 2))
    # digitised direction of each way: reverse about half of them
    flip = rng.random(n_ways) < 0.5
    fe = flip[way]
    u, v = np.where(fe, v, u), np.where(fe, u, v)
    seq = np.where(fe, -pos, pos)
    # one-way: ~15 % of ways overall (residential mostly), half of them against the digitised line
    p_one = np.array([0.05, 0.10, 0.10, 0.15, 0.16])[way_cls]
    oneway = np.where(rng.random(n_ways) < p_one, np.where(rng.random(n_ways) < 0.5, 1, -1), 0)
    # maxspeed tags on the bigger roads
    tag_p = np.array([0.7, 0.5, 0.2, 0.05, 0.0])[way_cls]
    tag_v = np.array([80.0, 60.0, 50.0, 40.0, 30.0])[way_cls]
    maxspeed = np.where(rng.random(n_ways) < tag_p, tag_v, np.nan)
    # drop junctions no edge uses, then give OSM-like random ids and shuffle everything
    used = np.zeros(n, dtype=bool)
    used[u] = True
    used[v] = True
    remap = np.cumsum(used) - 1
    xy = xy[used]
    u, v = remap[u], remap[v]
    m = len(xy)
    perm = rng.permutation(m)  # position of old node i in the new (random) order
    node_xy = np.empty_like(xy)
    node_xy[perm] = xy
    u, v = perm[u], perm[v]
    node_id = np.sort(rng.choice(np.arange(10_000_000, 10_000_000 + 20 * m), size=m, replace=False))
    node_id = node_id[rng.permutation(m)]
    way_perm = rng.permutation(n_ways)  # random way order, like OSM way ids
    way = way_perm[way]
    inv = np.empty(n_ways, dtype=np.int64)
    inv[way_perm] = np.arange(n_ways)
    return SyntheticCity(
        node_id=node_id,
        node_xy=node_xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_mid=mid,
        edge_way=way.astype(np.int64),
        edge_seq=seq.astype(np.int64),
        way_highway=np.asarray(CLASSES, dtype=object)[way_cls[inv]],
        way_oneway=oneway[inv].astype(np.int8),
        way_maxspeed=maxspeed[inv],
    )


def network_from_arrays(
    city: SyntheticCity,
    mode: str = "walk",
    *,
    largest_component: bool = False,
    geometry: bool = True,
    **mode_options,
) -> _net.Network:
    """A :class:`planner.network.Network` from junction/edge arrays, without noding geometry.

    Equal to ``planner.build_network(city.roads(), mode, crs=city.crs)`` (same node numbering,
    arcs and times) at a fraction of the cost. ``geometry=False`` leaves ``edge_geometry`` as
    ``None`` placeholders (routing only: no :meth:`Network.snap`, no isochrone polygons).
    """
    tm = _net.travel_mode(mode, **mode_options)
    # per way, then per edge: class codes, not strings, on the million-edge arrays
    way_hw = pd.Series(city.way_highway)
    usable = ~way_hw.isin(list(tm.excluded_classes)).to_numpy()
    code, classes = pd.factorize(way_hw)
    way_speed = _net.edge_speeds(tm, way_hw.to_numpy(dtype=str), city.way_maxspeed)
    e_ok = usable[city.edge_way]
    eu, ev, mid = city.edge_u[e_ok], city.edge_v[e_ok], city.edge_mid[e_ok]
    ew = city.edge_way[e_ok]
    xy = city.node_xy
    length = np.hypot(*(mid - xy[eu]).T) + np.hypot(*(xy[ev] - mid).T)
    hw = code[ew].astype(np.int8)
    t_uv, t_vu = _net.edge_times(tm, length, way_speed[ew], city.way_oneway[ew])
    # nodes: those used by an edge, in build_network's order (sorted by rounded coordinates)
    used = np.flatnonzero(np.bincount(np.concatenate([eu, ev]), minlength=len(xy)))
    key = np.round(xy[used] / 0.01).astype(np.int64)
    o = np.lexsort((key[:, 1], key[:, 0]))
    used = used[o]
    pos = np.full(len(xy), -1, dtype=np.int64)
    pos[used] = np.arange(len(used))
    eu, ev = pos[eu], pos[ev]
    nxy = xy[used]
    if largest_component and len(nxy):
        keep_node = _net.largest_component_mask(
            len(nxy), eu, ev, t_uv, t_vu, strong=tm.respect_oneway
        )
        keep_edge = keep_node[eu] & keep_node[ev]
        eu, ev, length, t_uv, t_vu, hw, mid = (
            a[keep_edge] for a in (eu, ev, length, t_uv, t_vu, hw, mid)
        )
        remap = np.cumsum(keep_node) - 1
        nxy = nxy[keep_node]
        eu, ev = remap[eu], remap[ev]
    order = _net.hilbert_order(nxy)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    nxy = nxy[order]
    eu, ev = rank[eu], rank[ev]
    eorder = np.lexsort((ev, eu))
    eu, ev, length, t_uv, t_vu, hw, mid = (a[eorder] for a in (eu, ev, length, t_uv, t_vu, hw, mid))
    if geometry:
        coords = np.stack([nxy[eu], mid, nxy[ev]], axis=1).reshape(-1, 2)
        egeom = shapely.linestrings(coords, indices=np.repeat(np.arange(len(eu)), 3))
    else:
        egeom = np.full(len(eu), None, dtype=object)
    return _net.network_from_arrays(
        tm, city.crs, nxy, eu, ev, length, t_uv, t_vu, np.asarray(classes, dtype=object)[hw], egeom
    )


def random_points(
    city: SyntheticCity, n: int, *, seed: int = 1, margin_m: float = 200.0
) -> np.ndarray:
    """``n`` points uniform over the city's extent (metric x, y in the city's CRS)."""
    rng = np.random.default_rng(seed)
    lo = city.node_xy.min(axis=0) + margin_m
    hi = city.node_xy.max(axis=0) - margin_m
    return rng.uniform(lo, hi, size=(n, 2))


def changsha_roads() -> gpd.GeoDataFrame | None:
    """The real central-Changsha roads via :func:`planner.load.read_roads`, or None if absent."""
    if not CHANGSHA_ROADS.exists():
        return None
    from planner.load import read_roads

    return read_roads(CHANGSHA_ROADS)


def describe(city: SyntheticCity) -> pd.Series:
    """Counts of the city's parts (for the benchmark's notes)."""
    return pd.Series(
        {
            "junctions": city.n_nodes,
            "blocks": city.n_edges,
            "ways": city.n_ways,
            "one-way ways %": 100 * float((city.way_oneway != 0).mean()),
            **{f"{c} ways %": 100 * float((city.way_highway == c).mean()) for c in CLASSES},
        }
    )
