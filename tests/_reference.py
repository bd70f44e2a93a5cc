"""An independent reference for network times: networkx on a graph whose edges are split at
every demand point and facility, each joined by its own off-network edge."""

from __future__ import annotations

import networkx as nx
import numpy as np
import shapely


def reference_times(net, demand_xy, facility_xy, *, cutoff_s=np.inf):
    """Shortest time from each demand point to any facility (inf if none) with networkx."""
    g = nx.DiGraph()
    v_off = net.mode.access_speed_kmh / 3.6
    cap = net.mode.access_max_m
    joinable = net.access_edges  # motorways and ramps take no homes or facilities
    tree = shapely.STRtree(net.edge_geometry[joinable])
    on_edge: dict[int, list[tuple[float, object]]] = {}

    def attach(x, y, name):
        p = shapely.Point(x, y)
        cand = joinable[tree.query(p.buffer(cap + 1e-6))]
        if len(cand) == 0:
            return None
        d = shapely.distance(net.edge_geometry[cand], p)
        best = cand[np.lexsort((cand, d))[0]]
        dist = float(shapely.distance(net.edge_geometry[best], p))
        if dist > cap:
            return None
        geom = net.edge_geometry[best]
        frac = float(geom.project(p)) / geom.length if geom.length > 0 else 0.0
        on_edge.setdefault(int(best), []).append((frac, name))
        return dist / v_off

    access = {}
    for i, (x, y) in enumerate(demand_xy):
        access[("d", i)] = attach(x, y, ("road-d", i))
    for j, (x, y) in enumerate(facility_xy):
        access[("f", j)] = attach(x, y, ("road-f", j))
    _add_road_edges(g, net, on_edge)
    sink = ("sink",)
    for key, t in access.items():
        if t is None:
            continue
        kind, i = key
        if kind == "d":
            g.add_edge(key, ("road-d", i), w=t)
        else:
            g.add_edge(("road-f", i), sink, w=t)
    out = np.full(len(demand_xy), np.inf)
    rev = g.reverse(copy=False)
    if sink in rev:
        dist = nx.single_source_dijkstra_path_length(rev, sink, cutoff=cutoff_s, weight="w")
        for i in range(len(demand_xy)):
            out[i] = dist.get(("d", i), np.inf)
    return out


def _add_road_edges(g, net, on_edge) -> None:
    """Every road edge, cut at the points joined to it, both ways where it can be travelled."""
    for e in range(net.n_edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        stops = (
            [(0.0, u)] + sorted(on_edge.get(e, []), key=lambda t: (t[0], str(t[1]))) + [(1.0, v)]
        )
        for (fa, a), (fb, b) in zip(stops[:-1], stops[1:], strict=True):
            share = fb - fa
            for src, dst, full in ((a, b, net.edge_time_uv_s[e]), (b, a, net.edge_time_vu_s[e])):
                if np.isfinite(full) or share == 0:  # a zero-length piece costs nothing
                    w = share * full if share > 0 else 0.0
                    if not g.has_edge(src, dst) or g[src][dst]["w"] > w:
                        g.add_edge(src, dst, w=w)
