"""A road network in pieces (issue 10, section 2): every piece is kept.

Points join their nearest usable road whatever piece it is in, residents are served by the
facilities of their own piece, and those living on pieces without any facility are counted.
"""

import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _reference import reference_times
from conftest import UTM, X0, Y0, random_roads, shared, xy

import planner
from planner import access, report
from planner.network import build_network, network_pieces, usable_roads
from planner.pipeline import Dataset


def _lines(coords_list, *, highway="residential", oneway=None):
    n = len(coords_list)
    return gpd.GeoDataFrame(
        {
            "highway": [highway] * n if isinstance(highway, str) else highway,
            "oneway": np.zeros(n, dtype=np.int8)
            if oneway is None
            else np.asarray(oneway, dtype=np.int8),
            "maxspeed_kmh": np.full(n, np.nan),
        },
        geometry=[shapely.LineString([xy(*c) for c in cs]) for cs in coords_list],
        crs=UTM,
    )


def _two_pieces():
    """Main piece: a 2 km road along y=0 (3 lines); island: a 400 m road along y=1000."""
    return _lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (2000, 0)],
            [(2000, 0), (2000, 300)],
            [(0, 1000), (400, 1000)],
        ]
    )


def _points(*coords, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(xy(*c)) for c in coords], crs=UTM)


WALK_MS = 4.8 / 3.6


def test_pieces_are_labelled_largest_first():
    net = build_network(_two_pieces(), "walk", crs=UTM)
    assert net.n_nodes == 6  # both pieces kept (the default used to drop the island)
    pieces = network_pieces(net)
    assert np.bincount(pieces).tolist() == [4, 2]
    island = np.flatnonzero(net.node_xy[:, 1] > Y0 + 500)
    assert set(pieces[island]) == {1}


def test_residents_of_a_piece_without_facility_are_uncovered_and_counted():
    roads = _two_pieces()
    fac = _points((500, 0), facility_id=["F1"], tier=["community_station"])
    # 100, 200 residents near the main road; 300 and 400 on the island (1 km away from the main road)
    pop = _points(
        (300, 50), (1500, 0), (100, 1020), (380, 990), population=[100.0, 200.0, 300.0, 400.0]
    )
    ds = Dataset(roads=roads.to_crs(4326), facilities=fac.to_crs(4326), population=pop.to_crs(4326))
    res = planner.analyze(ds, mode="walk", minutes=30, isochrone_minutes=None)
    d = res.demand
    # everyone joins a road (the island's residents join the island, 20 m and 10 m away)
    assert d["reachable"].all()
    assert d["covered"].tolist() == [True, True, False, False]
    assert np.isinf(d["minutes"].to_numpy()[2:]).all()
    assert d["no_facility_in_piece"].tolist() == [False, False, True, True]
    assert res.no_facility_in_piece_population == 700.0
    assert res.unreachable_population == 0.0
    s = res.admin_summary
    assert s["no_facility_in_piece_population"].tolist() == [700.0]
    assert s["uncovered_population"].tolist() == [700.0]
    # summary.csv and the printed summary say it
    assert report.summary_table(res)["no_facility_in_piece_population"].tolist() == [700.0]
    text = "\n".join(report.summary_lines(res))
    assert "700 live on 1 pieces of road not connected to any facility" in text
    # the main piece's residents: 200 m along + 50 m off-road, and 1000 m along
    assert d["minutes"].iloc[0] == pytest.approx((200 + 50) / WALK_MS / 60)
    assert d["minutes"].iloc[1] == pytest.approx(1000 / WALK_MS / 60)


def test_a_facility_on_the_island_serves_the_island_only():
    roads = _two_pieces()
    fac = _points((500, 0), (200, 1000), facility_id=["F1", "F2"], tier=["community_station"] * 2)
    pop = _points((300, 50), (100, 1020), population=[100.0, 300.0])
    ds = Dataset(roads=roads.to_crs(4326), facilities=fac.to_crs(4326), population=pop.to_crs(4326))
    res = planner.analyze(ds, mode="walk", minutes=30, isochrone_minutes=None)
    assert res.demand["nearest_facility"].tolist() == ["F1", "F2"]
    assert res.demand["minutes"].iloc[1] == pytest.approx((20 + 100) / WALK_MS / 60)
    assert res.no_facility_in_piece_population == 0.0
    assert res.facilities["piece"].tolist() == [0, 1]


def test_a_point_near_a_small_piece_joins_that_piece():
    # a 60 m spur 40 m from the point; the main road 300 m away
    roads = pd_concat(_two_pieces(), _lines([[(3000, 340), (3060, 340)]]))
    net = build_network(roads, "walk", crs=UTM)
    att = net.snap(np.array([[X0 + 3030, Y0 + 300]]))
    assert att.offset_m[0] == pytest.approx(40.0)
    pieces = network_pieces(net)
    assert pieces[att.u[0]] == pieces[att.v[0]] != 0  # the spur, not the main piece (0)
    assert np.bincount(pieces).tolist() == [4, 2, 2]
    with pytest.raises(planner.NetworkError, match="min_piece_nodes"):
        build_network(roads, "walk", crs=UTM, min_piece_nodes=-1)


def test_min_piece_nodes_drops_small_pieces_with_a_warning(caplog):
    roads = pd_concat(_two_pieces(), _lines([[(3000, 340), (3060, 340)]]))
    with caplog.at_level(logging.WARNING, logger="planner.network"):
        net = build_network(roads, "walk", crs=UTM, min_piece_nodes=3)
    assert net.n_nodes == 4  # the main piece (4 nodes) only
    assert "dropped 2 road pieces (4 of 8 nodes)" in caplog.text
    att = net.snap(np.array([[X0 + 3030, Y0 + 300]]), access_max_m=2000)
    assert att.offset_m[0] == pytest.approx(
        np.hypot(1030, 0)
    )  # the end of the main road at (2000, 300)
    assert build_network(roads, "walk", crs=UTM, min_piece_nodes=2).n_nodes == 8


def test_ring_roads_and_loops_are_kept():
    """A ring road touching nothing and a cul-de-sac loop back to its junction: each used to be
    one edge from a node to itself, dropped (the Changsha school that joined a road 43 m
    farther than its nearest one sat beside such a ring)."""
    ring = [(5000, 0), (5100, 0), (5100, 100), (5000, 100), (5000, 0)]
    lollipop = [(1000, 0), (1000, -100), (1100, -100), (1100, 0), (1000, 0)]
    roads = pd_concat(_two_pieces(), _lines([ring, lollipop]))
    net = build_network(roads, "walk", crs=UTM)
    assert set(net.edge_source.tolist()) == set(range(len(roads)))  # every line has edges
    att = net.snap(np.array([[X0 + 5050, Y0 + 120], [X0 + 1050, Y0 - 130]]))
    assert att.offset_m.tolist() == pytest.approx([20.0, 30.0])
    # the loop is routable: from its far side (1050, -100) to a facility at the junction (1000, 0)
    fac = gpd.GeoSeries([shapely.Point(xy(1000, 0))], crs=UTM)
    home = gpd.GeoSeries([shapely.Point(xy(1050, -100))], crs=UTM)
    assert access.nearest_facility(net, fac, home).time_s[0] == pytest.approx(150 / WALK_MS)


def pd_concat(*frames):
    return gpd.GeoDataFrame(gpd.pd.concat(frames, ignore_index=True), crs=UTM)


def test_one_way_dead_end_is_reached_but_cannot_leave():
    """Drive: B->C is one-way into a dead end. Without strong-component trimming C stays; a
    facility at C is reached from A; a resident at C reaches nothing (no way out)."""
    roads = _lines([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]], oneway=[0, 1])
    net = build_network(roads, "drive", crs=UTM)
    assert net.n_nodes == 3  # the old default (largest strong component) kept A, B only
    v = 25 / 3.6  # residential, no maxspeed
    at_c = gpd.GeoSeries([shapely.Point(xy(2000, 0))], crs=UTM)
    at_a = gpd.GeoSeries([shapely.Point(xy(0, 0))], crs=UTM)
    near = access.nearest_facility(net, at_c, at_a)
    assert near.time_s[0] == pytest.approx(2000 / v)
    assert np.isinf(access.nearest_facility(net, at_a, at_c).time_s[0])


@pytest.mark.parametrize("seed", [1, 7])
def test_times_equal_networkx_on_a_multi_piece_graph(seed):
    """Three random grids with one-way streets, 5 km apart; facilities in two of them."""
    parts = []
    for k in range(3):
        r = random_roads(seed + k, n=4)
        parts.append(r.set_geometry(r.geometry.translate(5000 * k, 0)))
    roads = pd_concat(*parts)
    rng = np.random.default_rng(seed)
    for mode in ("walk", "drive"):
        net = build_network(roads, mode, crs=UTM, access_max_m=300)
        fac_xy = np.column_stack(
            [X0 + rng.uniform(0, 900, 4) + np.repeat([0, 5000], 2), Y0 + rng.uniform(0, 900, 4)]
        )
        dem_xy = np.column_stack(
            [
                X0 + rng.uniform(-100, 1000, 60) + np.repeat([0, 5000, 10000], 20),
                Y0 + rng.uniform(-100, 1000, 60),
            ]
        )
        fac = gpd.GeoSeries(shapely.points(fac_xy), crs=UTM)
        got = access.nearest_facility(
            net, fac, gpd.GeoSeries(shapely.points(dem_xy), crs=UTM)
        ).time_s
        want = reference_times(net, dem_xy, fac_xy)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
        assert np.isinf(got[40:]).all()  # the third grid has no facility
        assert np.isfinite(got[:40]).any()


def test_changsha_schools_join_their_nearest_walkable_road():
    """Walk on the Changsha roads: a 48 km road system reached only by an expressway used to be
    dropped whole; school 193 (221 m from it) was reported off the network and others joined
    roads up to 2,920 m farther than their nearest walkable one."""
    roads = planner.read_roads(shared("changsha", "roads.shp"))
    schools = gpd.read_file(shared("changsha", "schools.shp")).to_crs(4326)
    net = build_network(roads, "walk", access_max_m=3000)
    att = net.snap(schools)
    # independent: the straight-line distance to the nearest road line walkers may use and join
    ok = usable_roads(roads, "walk") & ~roads["highway"].isin(net.mode.no_access_classes).to_numpy()
    lines = roads[ok].to_crs(net.crs).geometry.to_numpy()
    tree = shapely.STRtree(lines)
    pts = schools.to_crs(net.crs).geometry.to_numpy()
    _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    np.testing.assert_allclose(att.offset_m, dist, atol=0.01)
    by_id = dict(zip(schools["OBJECTID"], att.offset_m, strict=True))
    assert by_id[193] == pytest.approx(221.4, abs=0.1)
    assert by_id[194] == pytest.approx(21.5, abs=0.1)
    assert by_id[196] == pytest.approx(589.5, abs=0.1)
    assert np.bincount(network_pieces(net)).size > 1  # the network is in pieces, all kept
