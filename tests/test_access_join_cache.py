"""Facilities and points are joined to a network once per network and coordinates.

``nearest_facility`` through the public API used to join the facilities (and the points) to the
network on every call: ~40x the search itself on a city graph. The join is now kept with the
network (``planner._cache.memo``), keyed by the coordinates, so a repeated call skips it, a moved
facility is joined afresh, and the answers equal those on a fresh network.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from _reference import reference_times
from conftest import UTM, random_roads

from planner.access import facility_sources, joined, nearest_facility
from planner.network import build_network

OFF = np.array([500_000.0, 3_800_000.0])


def _setup(seed: int = 3):
    net = build_network(random_roads(seed), "walk", crs=UTM, largest_component=False)
    rng = np.random.default_rng(seed)
    fac = rng.uniform(0, 1800, size=(5, 2)) + OFF
    dem = rng.uniform(-100, 1900, size=(60, 2)) + OFF
    dem[:5] = fac + rng.normal(0, 15, size=(5, 2))  # same edge as a facility: the direct case
    return net, fac, dem


def _gdf(xy: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=shapely.points(xy), crs=UTM)


def _count_snaps(net, monkeypatch) -> list[int]:
    calls: list[int] = []
    snap = type(net).snap

    def counting(self, pts, **kw):
        calls.append(len(pts))
        return snap(self, pts, **kw)

    monkeypatch.setattr(type(net), "snap", counting)
    return calls


def test_repeated_query_joins_once(monkeypatch):
    net, fac, dem = _setup()
    calls = _count_snaps(net, monkeypatch)
    first = nearest_facility(net, _gdf(fac), _gdf(dem))
    assert sorted(calls) == [5, 60]
    again = nearest_facility(net, _gdf(fac), _gdf(dem))  # new frames, same coordinates
    assert sorted(calls) == [5, 60]
    np.testing.assert_array_equal(again.time_s, first.time_s)
    np.testing.assert_array_equal(again.facility, first.facility)


def test_moved_facility_is_joined_again_and_matches_reference(monkeypatch):
    net, fac, dem = _setup(7)
    nearest_facility(net, _gdf(fac), _gdf(dem))
    moved = fac.copy()
    moved[0] += [400.0, -250.0]
    calls = _count_snaps(net, monkeypatch)
    res = nearest_facility(net, _gdf(moved), _gdf(dem))
    assert calls == [5]  # the facilities moved; the points did not
    ref = reference_times(net, dem, moved)
    fresh = build_network(random_roads(7), "walk", crs=UTM, largest_component=False)
    np.testing.assert_array_equal(
        res.time_s, nearest_facility(fresh, _gdf(moved), _gdf(dem)).time_s
    )
    both_inf = np.isinf(ref) & np.isinf(res.time_s)
    with np.errstate(invalid="ignore"):
        assert np.all(both_inf | (np.abs(ref - res.time_s) < 1e-6))


def test_cached_join_is_shared_and_one_kernel_signature():
    # the same objects come back; their arrays stay writeable so the kernels see one array type
    # (numba compiles a kernel again for read-only arrays: seconds on a cold start)
    net, fac, dem = _setup()
    src = facility_sources(net, _gdf(fac))
    assert facility_sources(net, _gdf(fac)) is src
    assert joined(net, _gdf(fac)) is src.attachment
    assert src.seed_times.flags.writeable and src.seed_nodes.flags.writeable
    from planner import _engine

    nearest_facility(net, _gdf(fac), _gdf(dem))
    sigs = _engine.nearest_source.signatures
    assert sigs and not any(getattr(t, "readonly", False) for sig in sigs for t in sig)


def test_same_edge_pairs_are_kept_per_facility_join(monkeypatch):
    """The direct same-edge pairs depend on the two joins alone: computed once per pair of joins,
    never reused for other facilities (alternating sets give each set's fresh answers)."""
    import planner.access.search as access  # where nearest_facility looks it up

    net, fac, dem = _setup(5)
    other = fac.copy()
    other[:2] += [35.0, -20.0]  # moved along or off their edges: other direct pairs
    fresh = build_network(random_roads(5), "walk", crs=UTM, largest_component=False)
    want = {k: nearest_facility(fresh, _gdf(xy), _gdf(dem)) for k, xy in (("a", fac), ("b", other))}
    calls: list[int] = []
    pairs = access._same_edge_pairs

    def counting(pts, f):
        calls.append(len(f))
        return pairs(pts, f)

    monkeypatch.setattr(access, "_same_edge_pairs", counting)
    for k, xy in (("a", fac), ("b", other), ("a", fac), ("b", other)):
        got = nearest_facility(net, _gdf(xy), _gdf(dem))
        np.testing.assert_array_equal(got.time_s, want[k].time_s)
        np.testing.assert_array_equal(got.facility, want[k].facility)
    assert calls == [5, 5]  # once per facility join, not once per call


def test_nearest_search_uses_the_networks_bucket_width_once():
    """The bucket width is computed once per network (it was most of a city-graph search) and is
    the kernels' own default, so the answers are those of the kernel left to choose it."""
    from planner import _engine
    from planner.access import bucket_delta, node_nearest

    net, fac, _dem = _setup(2)
    assert bucket_delta(net) == _engine.default_delta(net.rweights)
    assert bucket_delta(net) is bucket_delta(net)
    src = facility_sources(net, _gdf(fac))
    t, lab = node_nearest(net, src)
    labels = np.repeat(np.arange(len(src), dtype=np.int64), np.diff(src.src_ptr))
    t0, lab0 = _engine.nearest_source(
        net.rindptr, net.rindices, net.rweights, src.seed_nodes, src.seed_times, labels, np.inf
    )
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_array_equal(lab, lab0)


def test_projection_of_points_polygons_and_empty_geometries():
    """Points take the fast path (x, y directly); polygons a point on their surface, as before;
    an empty geometry is named."""
    import pytest

    from planner import NetworkError

    net, fac, _dem = _setup()
    poly = shapely.box(*(fac[0] - 30), *(fac[0] + 30))
    mixed = gpd.GeoSeries([shapely.Point(fac[1]), poly, shapely.Point(fac[2])], crs=UTM)
    xy = net.project(mixed)
    want = shapely.get_coordinates(shapely.point_on_surface(np.asarray(mixed.values)))
    np.testing.assert_array_equal(xy, want)
    np.testing.assert_array_equal(net.project(_gdf(fac)), fac)
    lonlat = _gdf(fac).to_crs(4326)
    np.testing.assert_allclose(net.project(lonlat), fac, atol=1e-6)
    with pytest.raises(NetworkError, match="empty"):
        net.project(gpd.GeoSeries([shapely.Point(fac[0]), shapely.Point()], crs=UTM))
    with pytest.raises(NetworkError, match="no CRS"):
        net.project(gpd.GeoSeries([shapely.Point(fac[0])]))
