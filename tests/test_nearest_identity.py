"""A repeated ``nearest_facility`` with the same frames recognises their geometry objects.

The join cache (``planner.access._GeometryIdentity``) skips reading the coordinates back out of
the shapely objects and digesting them when the call's geometry array holds the very objects
(same order, same CRS) of a recent call on the same network. Every way of changing the frames
between calls must give the answer of an independent computation (networkx on a graph split at
every point, ``_reference.reference_times``) and of an uncached call on a fresh network.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _reference import reference_times
from conftest import UTM, random_roads

from planner.access import nearest_facility
from planner.network import build_network

OFF = np.array([500_000.0, 3_800_000.0])


def _net(seed: int = 11):
    return build_network(random_roads(seed), "walk", crs=UTM, largest_component=False)


def _frames(seed: int = 11):
    rng = np.random.default_rng(seed)
    fac = rng.uniform(0, 1800, size=(6, 2)) + OFF
    dem = rng.uniform(-100, 1900, size=(50, 2)) + OFF
    dem[:6] = fac + rng.normal(0, 15, size=(6, 2))  # same edge as a facility: the direct case
    f = gpd.GeoDataFrame(
        {"name": [f"f{i}" for i in range(6)]}, geometry=shapely.points(fac), crs=UTM
    )
    d = gpd.GeoDataFrame(geometry=shapely.points(dem), crs=UTM)
    return f, d


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(np.asarray(frame.to_crs(UTM).geometry.values))


def _check(net, fac, dem, seed: int = 11):
    """The cached network's answer equals networkx's and a fresh network's."""
    got = nearest_facility(net, fac, dem)
    fresh = nearest_facility(_net(seed), fac.copy(), dem.copy())
    np.testing.assert_array_equal(got.time_s, fresh.time_s)
    np.testing.assert_array_equal(got.facility, fresh.facility)
    ref = reference_times(net, _xy(dem), _xy(fac))
    both_inf = np.isinf(ref) & np.isinf(got.time_s)
    with np.errstate(invalid="ignore"):
        assert np.all(both_inf | (np.abs(ref - got.time_s) < 1e-6))
    return got


def _count_projections(net, monkeypatch) -> list[int]:
    calls: list[int] = []
    project = type(net).project

    def counting(self, geoms):
        calls.append(len(geoms))
        return project(self, geoms)

    monkeypatch.setattr(type(net), "project", counting)
    return calls


def test_same_frames_skip_reading_the_coordinates(monkeypatch):
    net = _net()
    fac, dem = _frames()
    first = _check(net, fac, dem)
    calls = _count_projections(net, monkeypatch)
    again = nearest_facility(net, fac, dem)
    assert calls == []  # the same objects: neither frame's coordinates were read again
    np.testing.assert_array_equal(again.time_s, first.time_s)
    np.testing.assert_array_equal(again.facility, first.facility)
    # a new frame holding the same geometry objects is recognised too
    nearest_facility(net, gpd.GeoDataFrame(geometry=fac.geometry.values, crs=UTM), dem)
    assert calls == []
    # new objects with the same coordinates are read, then found by their digest
    nearest_facility(net, gpd.GeoDataFrame(geometry=shapely.points(_xy(fac)), crs=UTM), dem)
    assert calls == [6]


def test_point_moved_in_place_with_loc():
    net = _net()
    fac, dem = _frames()
    before = _check(net, fac, dem)
    x, y = _xy(fac)[0]
    fac.loc[0, "geometry"] = shapely.Point(x + 400.0, y - 250.0)  # the same frame, modified
    after = _check(net, fac, dem)
    assert not np.array_equal(after.time_s, before.time_s)


def test_demand_point_moved_in_place_with_loc():
    net = _net()
    fac, dem = _frames()
    before = _check(net, fac, dem)
    dem.loc[7, "geometry"] = shapely.Point(*_xy(fac)[2])  # onto a facility
    after = _check(net, fac, dem)
    assert after.time_s[7] != before.time_s[7]


def test_geometry_replaced():
    net = _net()
    fac, dem = _frames()
    _check(net, fac, dem)
    fac["geometry"] = fac.geometry.translate(150.0, 90.0)
    _check(net, fac, dem)
    fac = fac.set_geometry(shapely.points(_xy(fac)[::-1]))  # the same points, reversed order
    got = _check(net, fac, dem)
    assert set(got.facility[got.facility >= 0]) <= set(range(6))


def test_row_dropped_and_rows_reordered():
    net = _net()
    fac, dem = _frames()
    _check(net, fac, dem)
    # the same objects minus one: positions shift
    _check(net, fac.drop(index=2).reset_index(drop=True), dem)
    _check(net, fac.iloc[[5, 4, 3, 2, 1, 0]], dem)
    _check(net, fac, dem.drop(index=[0, 9]))


@pytest.mark.parametrize("how", ["to_crs", "set_crs"])
def test_crs_changed(how):
    net = _net()
    fac, dem = _frames()
    _check(net, fac, dem)
    if how == "to_crs":  # the same places in other coordinates: the same answer (to rounding)
        moved = fac.to_crs(4326)
        np.testing.assert_allclose(
            nearest_facility(net, moved, dem).time_s,
            nearest_facility(net, fac, dem).time_s,
            rtol=1e-9,
        )
        _check(net, moved, dem)
    else:  # the same objects declared in a neighbouring zone: other places
        moved = fac.set_crs("EPSG:32649", allow_override=True)
        assert moved.geometry.values[0] is fac.geometry.values[0]
        got = _check(net, moved, dem)
        assert not np.array_equal(got.time_s, nearest_facility(net, fac, dem).time_s)


def test_same_frames_on_another_network():
    fac, dem = _frames()
    walk = _net()
    drive = build_network(random_roads(11), "drive", crs=UTM, largest_component=False)
    w = nearest_facility(walk, fac, dem)
    d = nearest_facility(drive, fac, dem)
    fresh = build_network(random_roads(11), "drive", crs=UTM, largest_component=False)
    np.testing.assert_array_equal(d.time_s, nearest_facility(fresh, fac.copy(), dem.copy()).time_s)
    assert not np.array_equal(w.time_s, d.time_s)
    np.testing.assert_array_equal(nearest_facility(walk, fac, dem).time_s, w.time_s)


def test_many_frames_alternating():
    """More frames than the cache remembers, alternating: each gets its own answer."""
    net = _net()
    fac, dem = _frames()
    sets = [fac.assign(geometry=fac.geometry.translate(40.0 * k, -25.0 * k)) for k in range(11)]
    want = [nearest_facility(_net(), s.copy(), dem.copy()) for s in sets]
    for _ in range(2):
        for s, w in zip(sets, want, strict=True):
            got = nearest_facility(net, s, dem)
            np.testing.assert_array_equal(got.time_s, w.time_s)
            np.testing.assert_array_equal(got.facility, w.facility)


def test_active_geometry_column_switched():
    """Two geometry columns: the active one is the one read, and switching it is seen."""
    net = _net()
    fac, dem = _frames()
    fac["other"] = fac.geometry.translate(300.0, -200.0)
    _check(net, fac, dem)
    switched = fac.set_geometry("other")
    got = _check(net, switched, dem)
    plain = gpd.GeoDataFrame(geometry=shapely.points(_xy(switched)), crs=UTM)
    np.testing.assert_array_equal(got.time_s, nearest_facility(_net(), plain, dem).time_s)
    fac = fac.rename_geometry("site")  # a renamed active column
    _check(net, fac, dem)
