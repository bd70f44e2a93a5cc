import numpy as np
import pytest
from conftest import UTM, points, random_roads, xy

from planner import NetworkError
from planner.network import build_network, travel_mode


def _edge(net, a, b):
    """Index of the edge between junctions a and b (given as local metre coordinates)."""
    ia = np.flatnonzero(np.hypot(*(net.node_xy - xy(*a)).T) < 1e-6)[0]
    ib = np.flatnonzero(np.hypot(*(net.node_xy - xy(*b)).T) < 1e-6)[0]
    hit = np.flatnonzero(((net.edge_u == ia) & (net.edge_v == ib)) | ((net.edge_u == ib) & (net.edge_v == ia)))
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
    fwd = {(int(a), int(b), float(w)) for a, b, w in zip(src, net.indices, net.weights, strict=True)}
    rsrc = np.repeat(np.arange(net.n_nodes), np.diff(net.rindptr))
    rev = {(int(b), int(a), float(w)) for a, b, w in zip(rsrc, net.rindices, net.rweights, strict=True)}
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
        {"highway": ["residential"], "oneway": np.array([0], dtype=np.int8), "maxspeed_kmh": [np.nan]},
        geometry=[shapely.LineString([xy(5000, 5000), xy(5100, 5000)])], crs=UTM,
    )
    roads = gpd.pd.concat([tiny_roads, extra], ignore_index=True)
    assert build_network(roads, "walk", crs=UTM, largest_component=False).n_nodes == 8
    # the unconnected bridge F-G and the far fragment are dropped
    assert build_network(roads, "walk", crs=UTM).n_nodes == 4


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
        {"highway": ["motorway", "residential"], "oneway": np.array([1, 0], dtype=np.int8),
         "maxspeed_kmh": [np.nan, np.nan]},
        geometry=[shapely.LineString([xy(0, 0), xy(2000, 0)]), shapely.LineString([xy(0, 300), xy(2000, 300)])],
        crs=UTM,
    )
    net = build_network(roads, "drive", crs=UTM, largest_component=False)
    att = net.snap(points((1000, 20)))  # 20 m from the motorway, 280 m from the street
    assert net.edge_class[att.edge[0]] == "residential"
    assert att.offset_m[0] == pytest.approx(280.0)
