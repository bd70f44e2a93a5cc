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
