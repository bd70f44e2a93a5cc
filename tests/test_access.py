import geopandas as gpd
import numpy as np
import pytest
import shapely
from _reference import reference_times
from conftest import UTM, points, random_roads, xy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.access import facility_sources, isochrones, nearest_facility, reach, travel_time_raster
from planner.network import build_network

WALK = 4.8 / 3.6


def test_walk_time_hand_computed(tiny_roads):
    net = build_network(tiny_roads, "walk", crs=UTM, largest_component=False)
    fac = gpd.GeoDataFrame({"facility_id": ["D"]}, geometry=points((1000, 1000)), crs=UTM)
    res = nearest_facility(net, fac, points((250, 10)))
    # 10 m off-road + 750 m to B + 1000 m B->D, all at 4.8 km/h
    assert res.time_s[0] == pytest.approx((10 + 750 + 1000) / WALK, abs=1e-6)
    assert res.facility[0] == 0


def test_drive_time_hand_computed_with_oneway(tiny_roads):
    net = build_network(tiny_roads, "drive", crs=UTM, largest_component=False)
    v = 25 / 3.6
    fac_d = gpd.GeoDataFrame(geometry=points((1000, 1000)), crs=UTM)
    res = nearest_facility(net, fac_d, points((250, 10), (2000, 0)))
    assert res.time_s[0] == pytest.approx(10 / WALK + 750 / v + 1000 / v, abs=1e-6)
    # from C to D: C->E->D is forbidden, so back through B: 1000 m + 1000 m
    assert res.time_s[1] == pytest.approx(2000 / v, abs=1e-6)
    # and from D to a facility at C the one-way C-E-D runs the right way (maxspeed 36 * 0.85)
    fac_c = gpd.GeoDataFrame(geometry=points((2000, 0)), crs=UTM)
    res = nearest_facility(net, fac_c, points((1000, 1000)))
    assert res.time_s[0] == pytest.approx(2000 / (36 * 0.85 / 3.6), abs=1e-6)


def test_same_edge_partial(tiny_roads):
    net = build_network(tiny_roads, "drive", crs=UTM, largest_component=False)
    v = 25 / 3.6
    # demand and facility both on A-B, 300 m apart: direct along the edge
    fac = gpd.GeoDataFrame(geometry=points((600, 0)), crs=UTM)
    res = nearest_facility(net, fac, points((300, 5)))
    assert res.time_s[0] == pytest.approx(5 / WALK + 300 / v, abs=1e-6)


def test_unreachable_points_are_reported(tiny_roads):
    net = build_network(tiny_roads, "walk", crs=UTM, largest_component=False, access_max_m=100)
    fac = gpd.GeoDataFrame(geometry=points((1000, 1000)), crs=UTM)
    res = nearest_facility(net, fac, points((250, 10), (250, 400)))
    assert np.isfinite(res.time_s[0])
    assert np.isinf(res.time_s[1]) and res.facility[1] == -1
    assert not res.attachment.reachable[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["walk", "ebike", "drive"]))
def test_nearest_equals_networkx_reference(seed, mode):
    roads = random_roads(seed)
    net = build_network(roads, mode, crs=UTM, largest_component=False, access_max_m=400)
    rng = np.random.default_rng(seed)
    span = 6 * 300
    dem = rng.uniform(-100, span + 100, size=(40, 2)) + [500_000, 3_800_000]
    fac = rng.uniform(0, span, size=(4, 2)) + [500_000, 3_800_000]
    # put some demand on the same edges as facilities (partial-edge case)
    dem[:4] = fac + rng.normal(0, 20, size=(4, 2))
    fgdf = gpd.GeoDataFrame(geometry=shapely.points(fac), crs=UTM)
    res = nearest_facility(net, fgdf, gpd.GeoSeries(shapely.points(dem), crs=UTM))
    ref = reference_times(net, dem, fac)
    both_inf = np.isinf(ref) & np.isinf(res.time_s)
    with np.errstate(invalid="ignore"):
        close = np.abs(ref - res.time_s) < 1e-6
    assert np.all(both_inf | close), np.c_[ref, res.time_s]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_reach_equals_networkx(seed):
    import networkx as nx

    roads = random_roads(seed)
    net = build_network(roads, "drive", crs=UTM, largest_component=False)
    rng = np.random.default_rng(seed)
    fac = rng.uniform(0, 1800, size=(5, 2)) + [500_000, 3_800_000]
    src = facility_sources(net, gpd.GeoSeries(shapely.points(fac), crs=UTM))
    r = reach(net, src, minutes=2.0, threads=2)
    g = nx.DiGraph()
    rsrc = np.repeat(np.arange(net.n_nodes), np.diff(net.rindptr))
    for a, b, w in zip(rsrc, net.rindices, net.rweights, strict=True):
        if not g.has_edge(a, b) or g[a][b]["w"] > w:
            g.add_edge(int(a), int(b), w=float(w))
    for i in range(len(fac)):
        a, b = src.src_ptr[i], src.src_ptr[i + 1]
        g2 = g.copy()
        for node, t in zip(src.seed_nodes[a:b], src.seed_times[a:b], strict=True):
            g2.add_edge("s", int(node), w=float(t))
        ref = (
            nx.single_source_dijkstra_path_length(g2, "s", cutoff=120.0, weight="w")
            if "s" in g2
            else {}
        )
        ref.pop("s", None)
        nodes, times = r.of(i)
        assert dict(zip(nodes.tolist(), times.tolist(), strict=True)).keys() == ref.keys()
        for n_, t_ in zip(nodes, times, strict=True):
            assert abs(ref[int(n_)] - t_) < 1e-6
        assert np.all(np.diff(times) >= 0)


def _straight_road(length=3000.0):
    return gpd.GeoDataFrame(
        {
            "highway": ["residential"],
            "oneway": np.array([0], dtype=np.int8),
            "maxspeed_kmh": [np.nan],
        },
        geometry=[shapely.LineString([xy(-length, 0), xy(length, 0)])],
        crs=UTM,
    )


def test_isochrone_area_hand_computed():
    # walking 15 min reaches R = 1200 m along the road; off-road reach capped at C = 500 m:
    # a stadium 2 (R - C) long and 2 C wide with round ends: 2(R-C)2C + pi C^2
    net = build_network(_straight_road(), "walk", crs=UTM, access_max_m=500)
    fac = gpd.GeoDataFrame({"facility_id": ["a"]}, geometry=points((0, 0)), crs=UTM)
    iso = isochrones(net, fac, minutes=[15], quad_segs=32).to_crs(UTM)
    r, c = 1200.0, 500.0
    assert iso.area.iloc[0] == pytest.approx(2 * (r - c) * 2 * c + np.pi * c * c, rel=2e-3)


def test_isochrone_uncapped_walk_is_a_disc():
    net = build_network(_straight_road(), "walk", crs=UTM, access_max_m=5000)
    fac = gpd.GeoDataFrame({"facility_id": ["a"]}, geometry=points((0, 0)), crs=UTM)
    iso = isochrones(net, fac, minutes=[10], quad_segs=32).to_crs(UTM)
    assert iso.area.iloc[0] == pytest.approx(np.pi * 800.0**2, rel=2e-3)


def test_isochrones_nest_and_have_holes():
    # a 1 km square block walked from one corner: the 15-min polygon (reach 1200 m, off-road
    # 50 m) leaves the middle of the block empty
    sq = [xy(0, 0), xy(1000, 0), xy(1000, 1000), xy(0, 1000), xy(0, 0)]
    roads = gpd.GeoDataFrame(
        {
            "highway": ["residential"] * 4,
            "oneway": np.zeros(4, dtype=np.int8),
            "maxspeed_kmh": np.nan,
        },
        geometry=[shapely.LineString(sq[i : i + 2]) for i in range(4)],
        crs=UTM,
    )
    net = build_network(roads, "walk", crs=UTM, access_max_m=50)
    fac = gpd.GeoDataFrame(
        {"facility_id": ["a"], "tier": ["community_station"]}, geometry=points((0, 0)), crs=UTM
    )
    iso = isochrones(net, fac, minutes=(5, 10, 15, 30)).to_crs(UTM)
    g = iso.set_index("minutes").geometry
    for a, b in ((5, 10), (10, 15), (15, 30)):
        assert g[b].buffer(1e-6).contains(g[a])
        assert g[b].area > g[a].area
    # the 30-min polygon covers the whole ring of streets and has the block's middle as a hole
    poly = max(shapely.get_parts(g[30]), key=lambda p: p.area)
    assert len(poly.interiors) == 1
    assert not g[30].contains(shapely.Point(xy(500, 500)))
    assert g[30].contains(shapely.Point(xy(500, 40)))


def test_isochrone_partial_edge_cut():
    # 5 min walk from the middle of a 3 km road reaches 400 m each way; off-road reach 0 -> 0.5 m floor
    net = build_network(_straight_road(), "walk", crs=UTM, access_max_m=0)
    fac = gpd.GeoDataFrame({"facility_id": ["a"]}, geometry=points((0, 0)), crs=UTM)
    iso = isochrones(net, fac, minutes=[5]).to_crs(UTM)
    minx, _, maxx, _ = iso.total_bounds
    assert maxx - minx == pytest.approx(800 + 1.0, abs=0.5)


def test_raster_matches_nearest(tiny_roads):
    net = build_network(tiny_roads, "walk", crs=UTM, largest_component=False)
    fac = gpd.GeoDataFrame(geometry=points((1000, 1000)), crs=UTM)
    arr, transform, crs = travel_time_raster(net, fac, cell_m=250)
    assert arr.dtype == np.float32 and crs == net.crs
    # every cell centre: the time of nearest_facility, NaN where it is inf (the default extent
    # reaches access_max_m beyond the roads, so some cells are too far from every road)
    rows, cols = np.indices(arr.shape)
    cx, cy = transform @ (cols.ravel() + 0.5, rows.ravel() + 0.5)
    ref = nearest_facility(net, fac, gpd.GeoSeries(shapely.points(cx, cy), crs=UTM)).time_s / 60
    np.testing.assert_allclose(arr.ravel(), np.where(np.isfinite(ref), ref, np.nan), rtol=1e-6)
    assert np.isfinite(arr).any() and np.isnan(arr).any()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["walk", "drive"]))
def test_coverage_sets_equal_reference(seed, mode):
    from planner.access import coverage_sets

    roads = random_roads(seed)
    net = build_network(roads, mode, crs=UTM, largest_component=False, access_max_m=300)
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 1800, size=(30, 2)) + [500_000, 3_800_000]
    fac = rng.uniform(0, 1800, size=(5, 2)) + [500_000, 3_800_000]
    dem[:3] = fac[:3] + rng.normal(0, 15, size=(3, 2))
    minutes = 6.0 if mode == "walk" else 1.5
    cs = coverage_sets(
        net,
        gpd.GeoSeries(shapely.points(fac), crs=UTM),
        gpd.GeoSeries(shapely.points(dem), crs=UTM),
        minutes=minutes,
    )
    dense = np.full((len(dem), len(fac)), np.inf)
    for j in range(len(fac)):
        dense[:, j] = reference_times(net, dem, fac[j : j + 1])
    within = dense <= minutes * 60
    got = cs.time_s.toarray()
    assert np.array_equal(cs.cover.toarray().astype(bool), within)
    assert np.allclose(got[within], dense[within], atol=1e-6)


def test_progress_follows_the_one_protocol(tiny_roads):
    # progress(stage, fraction) as everywhere in planner (planner._progress), ending at 1.0
    net = build_network(tiny_roads, "walk", crs=UTM)
    fac = gpd.GeoDataFrame(geometry=points((0, 0), (200, 0)))
    seen = []
    reach(net, fac, minutes=5, progress=lambda stage, f: seen.append((stage, f)))
    isochrones(net, fac, minutes=(2, 4), progress=lambda stage, f: seen.append((stage, f)))
    assert {s for s, _ in seen} == {"reach", "isochrones"}
    assert all(0.0 <= f <= 1.0 for _, f in seen)
    assert seen[-1] == ("isochrones", 1.0)
    assert ("reach", 1.0) in seen
