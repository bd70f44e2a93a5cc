import numpy as np
import pytest
from conftest import UTM, points, random_roads, xy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner import NetworkError
from planner.load import OSM_ACCESS_TAGS
from planner.network import build_network, road_levels, travel_mode


def _edge(net, a, b):
    """Index of the edge between junctions a and b (given as local metre coordinates)."""
    ia = np.flatnonzero(np.hypot(*(net.node_xy - xy(*a)).T) < 1e-6)[0]
    ib = np.flatnonzero(np.hypot(*(net.node_xy - xy(*b)).T) < 1e-6)[0]
    hit = np.flatnonzero(
        ((net.edge_u == ia) & (net.edge_v == ib)) | ((net.edge_u == ib) & (net.edge_v == ia))
    )
    assert len(hit) == 1
    return hit[0], ia, ib


def test_noding_splits_at_shared_vertices_not_at_crossings(tiny_roads):
    net = build_network(tiny_roads, "walk", crs=UTM, largest_component=False)
    # junctions A B C D + bridge ends F G (E and H are shape points); the bridge does not cut A-B
    assert net.n_nodes == 6
    assert net.n_edges == 6
    e, _, _ = _edge(net, (0, 0), (1000, 0))
    assert net.edge_length_m[e] == pytest.approx(1000.0)


def test_walk_times_are_length_over_speed_both_ways(tiny_roads):
    net = build_network(tiny_roads, "walk", crs=UTM, largest_component=False)
    e, _, _ = _edge(net, (1000, 0), (1000, 1000))
    assert net.edge_time_uv_s[e] == pytest.approx(1000 / (4.8 / 3.6))
    assert net.edge_time_vu_s[e] == pytest.approx(1000 / (4.8 / 3.6))  # walkers ignore one-way


def test_drive_respects_oneway_and_classes(tiny_roads):
    net = build_network(tiny_roads, "drive", crs=UTM, largest_component=False)
    assert "footway" not in set(net.edge_class)
    e, ia, ib = _edge(net, (1000, 0), (1000, 1000))  # B->D allowed only
    t_fwd = net.edge_time_uv_s[e] if net.edge_u[e] == ia else net.edge_time_vu_s[e]
    t_back = net.edge_time_vu_s[e] if net.edge_u[e] == ia else net.edge_time_uv_s[e]
    assert t_fwd == pytest.approx(1000 / (25 / 3.6))
    assert np.isinf(t_back)
    # C-E-D digitised C->E->D with oneway=-1: only D->C, at maxspeed 36 * 0.85
    e, ic, idd = _edge(net, (2000, 0), (1000, 1000))
    t_cd = net.edge_time_uv_s[e] if net.edge_u[e] == ic else net.edge_time_vu_s[e]
    t_dc = net.edge_time_vu_s[e] if net.edge_u[e] == ic else net.edge_time_uv_s[e]
    assert np.isinf(t_cd)
    assert t_dc == pytest.approx(2000 / (36 * 0.85 / 3.6))


def test_csr_matches_edge_table(tiny_roads):
    net = build_network(tiny_roads, "drive", crs=UTM, largest_component=False)
    src = np.repeat(np.arange(net.n_nodes), np.diff(net.indptr))
    for a, b, w, e in zip(src, net.indices, net.weights, net.arc_edge, strict=True):
        if net.edge_u[e] == a:
            assert net.edge_v[e] == b and w == net.edge_time_uv_s[e]
        else:
            assert net.edge_u[e] == b and w == net.edge_time_vu_s[e]
    # the reverse graph holds the same arcs turned around
    fwd = {
        (int(a), int(b), float(w)) for a, b, w in zip(src, net.indices, net.weights, strict=True)
    }
    rsrc = np.repeat(np.arange(net.n_nodes), np.diff(net.rindptr))
    rev = {
        (int(b), int(a), float(w)) for a, b, w in zip(rsrc, net.rindices, net.rweights, strict=True)
    }
    assert fwd == rev


def test_snap_to_nearest_point_of_nearest_edge(tiny_roads):
    net = build_network(tiny_roads, "walk", crs=UTM, largest_component=False)
    att = net.snap(points((250, 10), (500, 3000)))
    assert att.offset_m[0] == pytest.approx(10.0)
    assert att.access_s[0] == pytest.approx(10 / (4.8 / 3.6))
    geom = net.edge_geometry[att.edge[0]]
    assert geom.length == pytest.approx(1000)
    # 250 m from A along A-B, to either end
    assert sorted([att.to_u_s[0], att.to_v_s[0]]) == pytest.approx(
        sorted([7.5 + 250 / (4.8 / 3.6), 7.5 + 750 / (4.8 / 3.6)])
    )
    assert att.edge[1] == -1 and np.isinf(att.to_u_s[1])  # 2 km from every road: reported


def test_largest_component_drops_fragments(tiny_roads):
    import geopandas as gpd
    import shapely

    extra = gpd.GeoDataFrame(
        {
            "highway": ["residential"],
            "oneway": np.array([0], dtype=np.int8),
            "maxspeed_kmh": [np.nan],
        },
        geometry=[shapely.LineString([xy(5000, 5000), xy(5100, 5000)])],
        crs=UTM,
    )
    roads = gpd.pd.concat([tiny_roads, extra], ignore_index=True)
    assert build_network(roads, "walk", crs=UTM, largest_component=False).n_nodes == 8
    # the unconnected bridge F-G and the far fragment are dropped
    assert build_network(roads, "walk", crs=UTM, largest_component=True).n_nodes == 4


def test_mode_settings_validate():
    with pytest.raises(NetworkError, match="speed_kmh must be a positive"):
        travel_mode("walk", speed_kmh=-1)
    with pytest.raises(NetworkError, match="unknown mode 'bus'"):
        travel_mode("bus")
    with pytest.raises(NetworkError, match="access_speed_factor must be positive"):
        travel_mode("ebike", access_speed_factor=0)
    assert travel_mode("ebike", access_speed_factor=0.5).access_speed_kmh == pytest.approx(7.5)


def test_missing_columns_error(tiny_roads):
    with pytest.raises(NetworkError, match="read_roads"):
        build_network(tiny_roads.drop(columns="oneway"), "walk")


def test_hilbert_order_keeps_neighbours_close():
    roads = random_roads(3, n=12)
    net = build_network(roads, "walk", crs=UTM, largest_component=False)
    gap = np.abs(net.edge_u.astype(int) - net.edge_v.astype(int))
    assert np.median(gap) < net.n_nodes / 10


def test_points_never_join_a_motorway():
    import geopandas as gpd
    import shapely

    roads = gpd.GeoDataFrame(
        {
            "highway": ["motorway", "residential"],
            "oneway": np.array([1, 0], dtype=np.int8),
            "maxspeed_kmh": [np.nan, np.nan],
        },
        geometry=[
            shapely.LineString([xy(0, 0), xy(2000, 0)]),
            shapely.LineString([xy(0, 300), xy(2000, 300)]),
        ],
        crs=UTM,
    )
    net = build_network(roads, "drive", crs=UTM, largest_component=False)
    att = net.snap(points((1000, 20)))  # 20 m from the motorway, 280 m from the street
    assert net.edge_class[att.edge[0]] == "residential"
    assert att.offset_m[0] == pytest.approx(280.0)


# =============================================================================================
# build_network against a slow, obvious reference (the semantics of the row-sorting noding)
# =============================================================================================


def _reference_build(
    roads, mode, *, crs=UTM, snap_m=0.01, largest_component=False, urban_area=None
):
    """The graph build_network must give, built line by line in plain Python.

    Nodes are the distinct rounded vertices ``(round(x / snap_m), round(y / snap_m))``, numbered
    in (x, y) order then renumbered along the Hilbert curve; a node's coordinates are those of its
    last vertex; lines split at vertices two or more lines (or one line twice) share, and a part
    that returns to its start node over two or more segments at its middle vertex; edges of zero
    length or from a node to itself are dropped; edges sorted by (u, v), ties in line order; arcs
    by (tail, head), ties forward-first then edge order. Returns None when the largest component
    is ambiguous (two of the same size).
    """
    from planner.network import _as_geometry

    tm = travel_mode(mode)
    metric, lines, attrs = _ref_lines(roads, tm, crs)
    key = _ref_node_key(roads, lines, snap_m)
    edges, last_xy = _ref_edges(lines, key)
    ua = _as_geometry(urban_area, metric) if urban_area is not None else None
    t = [_ref_times(tm, attrs, ua, *e) for e in edges]
    nodes = sorted({e[0] for e in edges} | {e[1] for e in edges})
    if largest_component and nodes:
        kept = _ref_largest(tm, nodes, edges, t)
        if kept is None:
            return None
        edges, t, nodes = kept
    xy = np.array([last_xy[k] for k in nodes], dtype=float).reshape(-1, 2)
    hilbert = _ref_hilbert(xy)
    number = {nodes[old]: new for new, old in enumerate(hilbert)}
    order = sorted(range(len(edges)), key=lambda i: (number[edges[i][0]], number[edges[i][1]]))
    edges, t = [edges[i] for i in order], [t[i] for i in order]
    eu = [number[e[0]] for e in edges]
    ev = [number[e[1]] for e in edges]
    t_uv, t_vu = [x[0] for x in t], [x[1] for x in t]
    fwd = _ref_csr(len(nodes), eu, ev, t_uv, t_vu)
    rev = _ref_csr(len(nodes), ev, eu, t_uv, t_vu)
    return {
        "node_xy": xy[hilbert],
        "edge_u": np.array(eu, dtype=np.int32),
        "edge_v": np.array(ev, dtype=np.int32),
        "edge_length_m": np.array([e[3] for e in edges], dtype=np.float64),
        "edge_time_uv_s": np.array(t_uv, dtype=np.float64),
        "edge_time_vu_s": np.array(t_vu, dtype=np.float64),
        "edge_class": np.array([attrs[0][e[4]] for e in edges], dtype=object),
        "edge_source": np.array([e[4] for e in edges], dtype=np.int64),
        "geometry": [np.array(e[2], dtype=float).reshape(-1, 2) for e in edges],
        "indptr": fwd[0],
        "indices": fwd[1],
        "weights": fwd[2],
        "arc_edge": fwd[3],
        "rindptr": rev[0],
        "rindices": rev[1],
        "rweights": rev[2],
        "rarc_edge": rev[3],
    }


def _ref_lines(roads, tm, crs):
    """(metric CRS, [(row, coordinates, parts of the row)], (highway, oneway, maxspeed) per row)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from planner.network import local_metric_crs

    rows = [
        i
        for i, (h, g) in enumerate(zip(roads["highway"], roads.geometry, strict=True))
        if h not in tm.excluded_classes and g is not None and not g.is_empty
    ]
    assert not set(OSM_ACCESS_TAGS) & set(roads.columns)  # class rules only here
    metric = crs if crs is not None else local_metric_crs(roads.iloc[rows])
    geoms = gpd.GeoSeries(roads.geometry.iloc[rows].to_numpy(), crs=roads.crs).to_crs(metric)
    hw = roads["highway"].astype(str).to_numpy()
    oneway = pd.to_numeric(roads["oneway"], errors="coerce").fillna(0).astype(np.int8).to_numpy()
    maxspeed = pd.to_numeric(roads["maxspeed_kmh"], errors="coerce").to_numpy(dtype=float)
    lines = [
        (row, [tuple(c) for c in shapely.get_coordinates(part)], len(shapely.get_parts(g)))
        for row, g in zip(rows, geoms, strict=True)
        for part in shapely.get_parts(g)
        if part.geom_type == "LineString"
    ]
    return metric, lines, (hw, oneway, maxspeed)


def _ref_node_key(roads, lines, snap_m):
    """``key(line, vertex)``: the node of a vertex.

    Levels: OSM node ids (per vertex), or road levels (per row, from layer/bridge/tunnel);
    positions where a vertex joins every level hold one node, others one node per level.
    """

    def xy_key(c):
        return (round(c[0] / snap_m), round(c[1] / snap_m))

    vlevel: list[list] = []
    collapse: set = set()
    for row, cs, n_parts in lines:
        if "node_ids" in roads.columns:
            ids = roads["node_ids"].iloc[row]
            ok = n_parts == 1 and isinstance(ids, np.ndarray | list) and len(ids) == len(cs)
            vlevel.append([int(i) for i in ids] if ok else [None] * len(cs))
            if not ok:
                collapse.update(xy_key(c) for c in cs)
        elif {"layer", "bridge", "tunnel"} & set(roads.columns):
            vlevel.append([_plain_level(roads, row)] * len(cs))
            if cs:
                collapse.update((xy_key(cs[0]), xy_key(cs[-1])))
        else:
            vlevel.append([None] * len(cs))
            collapse.update(xy_key(c) for c in cs)

    def key(j, i):
        k = xy_key(lines[j][1][i])
        return k if k in collapse else (*k, vlevel[j][i])

    return key


def _ref_edges(lines, key):
    """Edges ``(u key, v key, coordinates, length, row)`` and each node's last coordinates."""
    from collections import Counter

    ks_of = [[key(j, i) for i in range(len(cs))] for j, (_, cs, _) in enumerate(lines)]
    count = Counter(k for ks in ks_of for k in ks)
    last_xy = {
        k: c
        for (_, cs, _), ks in zip(lines, ks_of, strict=True)
        for k, c in zip(ks, cs, strict=True)
    }
    edges = []
    for (row, cs, _), ks in zip(lines, ks_of, strict=True):
        if not cs:
            continue
        for a, b in _ref_cuts(ks, count):
            length = 0.0
            for p, q in zip(cs[a:b], cs[a + 1 : b + 1], strict=True):
                length += float(np.hypot(q[0] - p[0], q[1] - p[1]))
            if length > 0 and ks[a] != ks[b]:
                edges.append((ks[a], ks[b], cs[a : b + 1], length, row))
    return edges, last_xy


def _ref_cuts(ks, count):
    """(start, end) vertex positions of a line's parts."""
    cut = [0] + [k for k in range(1, len(ks) - 1) if count[ks[k]] >= 2] + [len(ks) - 1]
    while True:  # a loop back to its own start node is split at its middle vertex
        loops = [
            (a + b) // 2
            for a, b in zip(cut[:-1], cut[1:], strict=True)
            if ks[a] == ks[b] and b - a >= 2
        ]
        if not loops:
            return list(zip(cut[:-1], cut[1:], strict=True))
        cut = sorted(cut + loops)


def _ref_times(tm, attrs, ua, u, v, cs, length, row):
    import shapely

    hw, oneway, maxspeed = attrs
    if tm.name != "drive" and not tm.class_speeds_kmh:
        s = tm.speed_kmh
    else:
        table = tm.speeds if tm.name == "drive" else dict(tm.class_speeds_kmh)
        s = table.get(hw[row], tm.speed_kmh)
        if tm.use_maxspeed:
            ms = maxspeed[row] * tm.maxspeed_factor
            s = ms if np.isfinite(ms) and ms > 0 else s
    if ua is not None and tm.urban_factor != 1.0:
        mid = shapely.line_interpolate_point(shapely.LineString(cs), 0.5, normalized=True)
        s = s * tm.urban_factor if ua.intersects(mid) else s
    t = length / (s / 3.6)
    t_uv = np.inf if tm.respect_oneway and oneway[row] == -1 else t
    t_vu = np.inf if tm.respect_oneway and oneway[row] == 1 else t
    return t_uv, t_vu


def _ref_largest(tm, nodes, edges, t):
    """(edges, times, nodes) of the largest component (networkx), None when two tie."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    for (u, v, *_), (t_uv, t_vu) in zip(edges, t, strict=True):
        if np.isfinite(t_uv):
            g.add_edge(u, v)
        if np.isfinite(t_vu):
            g.add_edge(v, u)
    comps = (
        nx.strongly_connected_components(g)
        if tm.respect_oneway
        else nx.weakly_connected_components(g)
    )
    sizes = sorted((len(c), sorted(c)) for c in comps)
    if len(sizes) > 1 and sizes[-1][0] == sizes[-2][0]:
        return None
    keep = set(sizes[-1][1])
    kept = [i for i, e in enumerate(edges) if e[0] in keep and e[1] in keep]
    return [edges[i] for i in kept], [t[i] for i in kept], [k for k in nodes if k in keep]


def _ref_hilbert(xy):
    from planner import _engine

    if not len(xy):
        return np.zeros(0, dtype=np.int64)
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-9)
    grid = np.clip(((xy - lo) / span * 65535).astype(np.int64), 0, 65535)
    ix, iy = np.ascontiguousarray(grid[:, 0]), np.ascontiguousarray(grid[:, 1])
    return np.argsort(_engine.hilbert_index(ix, iy, 16), kind="stable")


def _ref_csr(n, src, dst, t_uv, t_vu):
    m = len(src)
    arcs = [(src[e], dst[e], t_uv[e], e) for e in range(m) if np.isfinite(t_uv[e])]
    arcs += [(dst[e], src[e], t_vu[e], e) for e in range(m) if np.isfinite(t_vu[e])]
    arcs.sort(key=lambda a: (a[0], a[1]))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount([a[0] for a in arcs], minlength=n), out=indptr[1:])
    return (
        indptr,
        np.array([a[1] for a in arcs], dtype=np.int32),
        np.array([a[2] for a in arcs], dtype=np.float64),
        np.array([a[3] for a in arcs], dtype=np.int32),
    )


def _plain_level(roads, row) -> int:
    """The level rule, one row at a time: a non-zero layer, else bridge 1, tunnel -1, else 0."""

    def flag(col):
        if col not in roads.columns:
            return False
        v = roads[col].iloc[row]
        return not (
            v is None
            or (isinstance(v, float) and np.isnan(v))
            or str(v).strip().lower() in ("", "f", "false", "no", "n", "0", "0.0", "none", "nan")
        )

    layer = 0
    if "layer" in roads.columns:
        try:
            x = float(roads["layer"].iloc[row])
            layer = round(x) if np.isfinite(x) else 0
        except (TypeError, ValueError):
            layer = 0
    if layer:
        return layer
    return 1 if flag("bridge") else -1 if flag("tunnel") else 0


def _assert_same_graph(net, ref):
    """Bit for bit: same nodes in the same order, same edges, arcs, times and geometry."""
    import shapely

    for name, want in ref.items():
        if name == "geometry":
            assert len(net.edge_geometry) == len(want)
            for e, (g, cs) in enumerate(zip(net.edge_geometry, want, strict=True)):
                assert g.geom_type == "LineString", e
                assert np.array_equal(shapely.get_coordinates(g), cs), e
            continue
        got = getattr(net, name)
        assert got.dtype == want.dtype, name
        assert got.shape == want.shape, name
        if want.dtype == object:
            assert list(got) == list(want), name
        else:
            assert np.array_equal(got, want), name


def _roads_frame(geoms, highway, oneway, maxspeed, index=None):
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {
            "highway": highway,
            "oneway": np.array(oneway, dtype=np.int8),
            "maxspeed_kmh": np.array(maxspeed, dtype=float),
            "name": "",
        },
        geometry=geoms,
        crs=UTM,
        index=index,
    )


@st.composite
def _road_sets(draw):
    """Lines over a small lattice: shared vertices, vertices that round to the same key (or just
    to the next one), repeated vertices and loops, multi-part rows, empty rows, negative and huge
    projected coordinates (far apart enough to need the row-sorting fallback)."""
    import shapely

    snap = draw(st.sampled_from([0.01, 0.01, 0.5, 1.0]))
    x0, y0 = draw(
        st.sampled_from(
            [
                (0.0, 0.0),
                (-3_250.5, -7_000.25),
                (612_345.67, 3_123_456.78),
                (-4.2e7, 9.9e6),
                (3e13, -2e13),
            ]
        )
    )
    step = draw(st.sampled_from([0.4, 7.0, 130.0, 130.0, 1e11]))
    nx_, ny_ = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    jitter = st.sampled_from([0.0, 0.0, 0.0, 0.1, -0.3, 0.49, 0.6, -0.51])

    def walk():
        n = draw(st.integers(2, 6))
        pts = [(draw(st.integers(0, nx_ - 1)), draw(st.integers(0, ny_ - 1))) for _ in range(n)]
        return [
            (x0 + i * step + draw(jitter) * snap, y0 + j * step + draw(jitter) * snap)
            for i, j in pts
        ]

    geoms, hw, ow, ms = [], [], [], []
    for _ in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["line", "line", "line", "multi", "empty", "none"]))
        if kind == "line":
            geoms.append(shapely.LineString(walk()))
        elif kind == "multi":
            geoms.append(shapely.MultiLineString([walk(), walk()]))
        else:
            geoms.append(shapely.LineString() if kind == "empty" else None)
        hw.append(draw(st.sampled_from(["residential", "primary", "footway", "motorway", "track"])))
        ow.append(draw(st.sampled_from([0, 0, 1, -1])))
        ms.append(draw(st.sampled_from([np.nan, np.nan, 40.0, 0.0])))
    index = draw(st.sampled_from([None, "duplicate"]))
    index = [7] * len(geoms) if index == "duplicate" else None
    return _roads_frame(geoms, hw, ow, ms, index=index), snap


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_road_sets(), mode=st.sampled_from(["walk", "drive"]), component=st.booleans())
def test_build_network_equals_reference_on_random_lines(case, mode, component):
    roads, snap = case
    tm = travel_mode(mode)
    usable = [
        h not in tm.excluded_classes and g is not None and not g.is_empty
        for h, g in zip(roads["highway"], roads.geometry, strict=True)
    ]
    if not any(usable):
        with pytest.raises(NetworkError, match="no roads usable"):
            build_network(roads, mode, crs=UTM, snap_m=snap)
        return
    ref = _reference_build(roads, mode, snap_m=snap, largest_component=component)
    assume(ref is not None)
    net = build_network(roads, mode, crs=UTM, snap_m=snap, largest_component=component)
    _assert_same_graph(net, ref)


@pytest.mark.parametrize("mode", ["walk", "drive"])
@pytest.mark.parametrize("seed", [0, 5])
def test_build_network_equals_reference_on_grids(seed, mode):
    import shapely

    roads = random_roads(seed, n=9)
    net = build_network(roads, mode, crs=UTM, largest_component=True)
    _assert_same_graph(net, _reference_build(roads, mode, largest_component=True))
    # drive speeds are slower inside the urban area (a lon/lat polygon over part of the grid)
    urban = _to_lonlat(shapely.box(*xy(-100, -100), *xy(1200, 1500)))
    net = build_network(roads, mode, crs=UTM, urban_area=urban, largest_component=True)
    _assert_same_graph(net, _reference_build(roads, mode, largest_component=True, urban_area=urban))


def _to_lonlat(box):
    import geopandas as gpd

    return gpd.GeoSeries([box], crs=UTM).to_crs("EPSG:4326").iloc[0]


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_build_network_equals_reference_on_changsha_roads(mode):
    from conftest import shared

    import planner

    roads = planner.read_roads(shared("changsha", "roads.shp"))  # lon/lat: projected to UTM 49N
    net = build_network(roads, mode, largest_component=True)
    ref = _reference_build(roads, mode, crs=None, largest_component=True)
    assert ref is not None and net.n_nodes > 1000
    _assert_same_graph(net, ref)


def test_build_network_equals_reference_on_synthetic_city():
    pytest.importorskip("bench.graphs")
    from bench.graphs import synthetic_city

    city = synthetic_city(1_500, seed=3)
    roads = city.roads()
    net = build_network(roads, "drive", crs=city.crs, largest_component=True)
    _assert_same_graph(net, _reference_build(roads, "drive", crs=city.crs, largest_component=True))


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(-40, 40), st.integers(-40, 40), st.sampled_from([0.0, 0.2, -0.49, 0.51])
        ),
        min_size=1,
        max_size=60,
    ),
    scale=st.sampled_from([1.0, 0.01, 1e7, 3e13]),
    shift=st.sampled_from([0.0, -1e6, 5e14]),
    snap=st.sampled_from([0.01, 1.0]),
)
def test_vertex_ids_equal_sorting_rows(rows, scale, shift, snap):
    """One int64 key per vertex numbers nodes as np.unique over (x, y) rows does (and the
    fallback for extents too wide for one key, at scale 3e13, too)."""
    from planner.network import _vertex_ids

    c = np.array([(shift + i * scale + f * snap, shift - j * scale + f * snap) for i, j, f in rows])
    want = np.unique(np.round(c / snap).astype(np.int64), axis=0, return_inverse=True)[1].ravel()
    assert np.array_equal(_vertex_ids(c, snap), want)


def test_vertex_ids_both_paths():
    from planner.network import _vertex_ids

    near = np.array([[5.0, 1.0], [-3.0, 2.0], [5.004, 0.996], [5.0, -2.0], [-3.0, 2.0]])
    assert _vertex_ids(near, 0.01).tolist() == [
        2,
        0,
        2,
        1,
        0,
    ]  # (-300, 200) < (500, -200) < (500, 100)
    wide = np.array([[1e15, 1e15], [-1e15, -1e15], [1e15, -1e15], [-1e15, -1e15]])  # 2e17^2 > 2^63
    assert _vertex_ids(wide, 0.01).tolist() == [2, 0, 1, 0]


@settings(max_examples=200, deadline=None)
@given(key=st.lists(st.integers(-5, 5) | st.integers(-(2**62), 2**62), max_size=80))
def test_argsort_stable_equals_numpy_stable(key):
    from planner.network import _argsort_stable

    k = np.array(key, dtype=np.int64)
    assert np.array_equal(_argsort_stable(k), np.argsort(k, kind="stable"))


def test_csr_orders_arcs_like_lexsort_with_int32_input():
    """network_from_arrays with int32 node numbers past 46,341 nodes (tail * n overflows int32)."""
    from planner.network import _csr

    rng = np.random.default_rng(4)
    n, m = 70_000, 5_000
    u = rng.integers(0, n, m).astype(np.int32)
    v = rng.integers(0, n, m).astype(np.int32)
    u[:50], v[:50] = u[50:100], v[50:100]  # parallel edges: ties kept in edge order
    t_uv, t_vu = rng.random(m), rng.random(m)
    t_uv[rng.random(m) < 0.2] = np.inf
    t_vu[rng.random(m) < 0.2] = np.inf
    indptr, indices, w, ae = _csr(n, u, v, t_uv, t_vu)
    e = np.arange(m)
    fu, fv = np.isfinite(t_uv), np.isfinite(t_vu)
    a = np.concatenate([u[fu], v[fv]]).astype(np.int64)
    b = np.concatenate([v[fu], u[fv]])
    o = np.lexsort((b, a))
    assert np.array_equal(indices, b[o]) and indices.dtype == np.int32
    assert np.array_equal(ae, np.concatenate([e[fu], e[fv]])[o]) and ae.dtype == np.int32
    assert np.array_equal(w, np.concatenate([t_uv[fu], t_vu[fv]])[o]) and w.dtype == np.float64
    assert np.array_equal(indptr, np.r_[0, np.cumsum(np.bincount(a, minlength=n))])


# =============================================================================================
# junctions: road layers, bridges and tunnels (road lines), OSM node ids
# =============================================================================================


def _cross(levels=None, **columns):
    """A-B (west-east) and C-D (south-north) crossing at X(0, 0), a shared vertex of both, and a
    detour A-E-F-D around it (so a walk from A to D is possible either way)."""
    import geopandas as gpd
    import shapely

    lines = [
        shapely.LineString([xy(-100, 0), xy(0, 0), xy(100, 0)]),
        shapely.LineString([xy(0, -100), xy(0, 0), xy(0, 100)]),
        shapely.LineString([xy(-100, 0), xy(-100, 300), xy(0, 300), xy(0, 100)]),
    ]
    data = {
        "highway": ["residential"] * 3,
        "oneway": np.zeros(3, dtype=np.int8),
        "maxspeed_kmh": [np.nan] * 3,
        "name": ["AB", "CD", "detour"],
    }
    if levels is not None:
        data["layer"] = levels
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=lines, crs=UTM)


def _walk_time(net, a, b):
    """networkx walking time between two nodes given as local metre coordinates."""
    import networkx as nx

    g = net.to_networkx()
    ia = np.flatnonzero(np.hypot(*(net.node_xy - xy(*a)).T) < 1e-6)
    ib = np.flatnonzero(np.hypot(*(net.node_xy - xy(*b)).T) < 1e-6)
    assert len(ia) == 1 and len(ib) == 1
    return nx.dijkstra_path_length(g, int(ia[0]), int(ib[0]), weight="time_s")


@pytest.mark.parametrize(
    ("columns", "joined"),
    [
        ({}, True),  # no level columns: every shared vertex joins
        ({"layer": [0, 0, 0]}, True),
        ({"layer": [0, 1, 0]}, False),
        ({"layer": [-1, 1, 0]}, False),
        ({"layer": [1, 1, 0]}, True),
        ({"layer": [0, 0, 0], "bridge": ["F", "T", "F"], "tunnel": ["F", "F", "F"]}, False),
        ({"layer": [0, 0, 0], "bridge": ["F", "F", "F"], "tunnel": ["T", "F", "F"]}, False),
        (
            {"layer": [1, 0, 0], "bridge": ["F", "T", "F"]},
            True,
        ),  # layer 1 and an untagged bridge: same level
        ({"bridge": ["yes", "no", None]}, False),
        ({"tunnel": [True, False, False]}, False),
        ({"layer": ["1", "1", "0"]}, True),
        ({"layer": [np.nan, 0.0, 0]}, True),
    ],
)
def test_crossing_lines_join_only_on_the_same_level(columns, joined):
    roads = _cross(**columns)
    net = build_network(roads, "walk", crs=UTM, largest_component=False)
    # joined: A B C D X E F... nodes are A, B, C, D (+X when joined); the detour's bends are shape points
    assert (net.n_nodes, net.n_edges) == ((5, 5) if joined else (4, 3))
    direct = 200 / (4.8 / 3.6)
    around = 600 / (4.8 / 3.6)  # A-E-F-D: 300 + 100 + 200
    t = _walk_time(net, (-100, 0), (0, 100))
    assert t == pytest.approx(direct if joined else around)


def test_bridge_ends_join_the_road_at_grade():
    """A bridge (layer 1) that ends on a street (layer 0) at one of the street's inner vertices
    joins it there; so does a flyover (layer 2) whose inner vertex is the street's end."""
    import geopandas as gpd
    import shapely

    lines = [
        shapely.LineString([xy(-100, 0), xy(0, 0), xy(100, 0)]),  # street, layer 0
        shapely.LineString([xy(0, 0), xy(0, 100)]),  # bridge ramp ending on the street at X
        shapely.LineString(
            [xy(50, -100), xy(50, 0), xy(50, 100)]
        ),  # crosses where the street has no vertex
        shapely.LineString(
            [xy(-100, -50), xy(100, 0), xy(100, 50)]
        ),  # passes through the street's end B
    ]
    roads = gpd.GeoDataFrame(
        {
            "highway": ["residential"] * 4,
            "oneway": np.zeros(4, dtype=np.int8),
            "maxspeed_kmh": np.nan,
            "layer": [0, 1, 1, 2],
            "bridge": ["F", "T", "T", "T"],
        },
        geometry=lines,
        crs=UTM,
    )
    net = build_network(roads, "walk", crs=UTM, largest_component=False)
    t = _walk_time(net, (-100, 0), (0, 100))
    assert t == pytest.approx(200 / (4.8 / 3.6))  # through X
    # the street's end B(100, 0) is a vertex of line 4 (layer 2): a line end joins every level
    assert _walk_time(net, (-100, 0), (100, 50)) == pytest.approx(250 / (4.8 / 3.6))


def test_road_levels():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "layer": [0, 2, 0, 0, None, "x", -3, 0],
            "bridge": ["F", "T", "yes", "no", "T", None, "T", "viaduct"],
            "tunnel": ["F", "F", "F", "T", "F", "F", "F", "F"],
        }
    )
    assert road_levels(frame).tolist() == [0, 2, 1, -1, 1, 0, -3, 1]
    assert road_levels(frame[["tunnel"]]).tolist() == [0, 0, 0, -1, 0, 0, 0, 0]
    assert road_levels(pd.DataFrame({"highway": ["primary"]})) is None


@st.composite
def _road_sets_with_levels(draw):
    roads, snap = draw(_road_sets())
    n = len(roads)
    kind = draw(st.sampled_from(["layer", "bridge", "both"]))
    if kind in ("layer", "both"):
        roads["layer"] = draw(st.lists(st.sampled_from([0, 0, 1, -1, 2]), min_size=n, max_size=n))
    if kind in ("bridge", "both"):
        roads["bridge"] = draw(st.lists(st.sampled_from(["F", "F", "T"]), min_size=n, max_size=n))
        roads["tunnel"] = draw(st.lists(st.sampled_from(["F", "F", "T"]), min_size=n, max_size=n))
    return roads, snap


@st.composite
def _road_sets_with_node_ids(draw):
    """Node ids from the lattice point (so lines through one point usually share an id), with a
    second id at some points (stacked nodes), and some rows whose ids do not fit."""
    import shapely

    roads, snap = draw(_road_sets())
    ids = []
    for g in roads.geometry:
        n = 0 if g is None or g.is_empty else len(shapely.get_coordinates(g))
        if draw(st.integers(0, 9)) == 0:
            ids.append(None if draw(st.booleans()) else np.arange(max(n - 1, 0), dtype=np.int64))
            continue
        c = shapely.get_coordinates(g) if n else np.zeros((0, 2))
        lattice = np.round(c / max(snap, 1e-9)).astype(np.int64)
        stack = np.array(
            draw(st.lists(st.sampled_from([0, 0, 0, 1]), min_size=n, max_size=n)), dtype=np.int64
        )
        ids.append((lattice[:, 0] * 7919 + lattice[:, 1]) * 2 + stack)
    roads["node_ids"] = pd_series_of_arrays(ids, roads.index)
    return roads, snap


def pd_series_of_arrays(arrays, index):
    import pandas as pd

    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):
        out[i] = a
    return pd.Series(out, index=index)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=_road_sets_with_levels() | _road_sets_with_node_ids(),
    mode=st.sampled_from(["walk", "drive"]),
)
def test_build_network_equals_reference_with_levels(case, mode):
    """Layer/bridge/tunnel and OSM node-id noding equal the plain-Python reference."""
    roads, snap = case
    tm = travel_mode(mode)
    usable = [
        h not in tm.excluded_classes and g is not None and not g.is_empty
        for h, g in zip(roads["highway"], roads.geometry, strict=True)
    ]
    assume(any(usable))
    ref = _reference_build(roads, mode, snap_m=snap, largest_component=False)
    net = build_network(roads, mode, crs=UTM, snap_m=snap, largest_component=False)
    _assert_same_graph(net, ref)
