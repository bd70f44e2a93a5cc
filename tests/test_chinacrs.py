"""Tests of planner._chinacrs: WGS-84 / GCJ-02 / BD-09 conversions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import _chinacrs as cc

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

china_lon = st.floats(min_value=73.7, max_value=134.8, allow_nan=False)
china_lat = st.floats(min_value=18.2, max_value=53.5, allow_nan=False)


# --- reference values -------------------------------------------------------------------------


def test_published_reference_pairs():
    # README of the widely used wandergis/coordTransform_py (same published formulas)
    lon, lat = cc.wgs84_to_gcj02(128.543, 37.065)
    assert float(lon) == pytest.approx(128.54820547949757, abs=1e-10)
    assert float(lat) == pytest.approx(37.065651049489816, abs=1e-10)
    lon, lat = cc.gcj02_to_bd09(128.543, 37.065)
    assert float(lon) == pytest.approx(128.54944656269413, abs=1e-10)
    assert float(lat) == pytest.approx(37.07113427883019, abs=1e-10)
    # that README's inverses are the one-step approximations (error ~1 m); ours iterate, so
    # they agree to ~2e-5 degrees and are exact inverses of the forward transforms
    lon, lat = cc.gcj02_to_wgs84(128.543, 37.065)
    assert float(lon) == pytest.approx(128.53779452050244, abs=3e-5)
    assert float(lat) == pytest.approx(37.06434895051018, abs=3e-5)
    lon, lat = cc.bd09_to_gcj02(128.543, 37.065)
    assert float(lon) == pytest.approx(128.5365893261212, abs=3e-5)
    assert float(lat) == pytest.approx(37.058754503281534, abs=3e-5)


def test_offset_size_in_kaifeng():
    # GCJ-02 moves Kaifeng roughly 540 m east and 120 m south... of the WGS-84 position
    lon, lat = 114.35, 34.80
    glon, glat = cc.wgs84_to_gcj02(lon, lat)
    dx = (glon - lon) * 111_320 * np.cos(np.radians(lat))
    dy = (glat - lat) * 110_574
    assert 450 < dx < 650
    assert -200 < dy < 0


def test_iterative_inverse_is_exact():
    lon, lat = 114.35, 34.80
    wlon, wlat = cc.gcj02_to_wgs84(lon, lat)
    back = cc.wgs84_to_gcj02(wlon, wlat)
    assert abs(back[0] - lon) < 1e-9 and abs(back[1] - lat) < 1e-9
    blon, blat = cc.gcj02_to_bd09(lon, lat)
    glon, glat = cc.bd09_to_gcj02(blon, blat)
    assert abs(glon - lon) < 1e-9 and abs(glat - lat) < 1e-9


# --- round trips (hypothesis) -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_wgs_gcj(lon, lat):
    g = cc.wgs84_to_gcj02(lon, lat)
    w = cc.gcj02_to_wgs84(*g)
    assert abs(w[0] - lon) < 1e-6 and abs(w[1] - lat) < 1e-6


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_wgs_bd(lon, lat):
    b = cc.wgs84_to_bd09(lon, lat)
    w = cc.bd09_to_wgs84(*b)
    assert abs(w[0] - lon) < 1e-6 and abs(w[1] - lat) < 1e-6
    g = cc.bd09_to_gcj02(*b)
    g2 = cc.wgs84_to_gcj02(lon, lat)
    assert abs(g[0] - g2[0]) < 1e-6 and abs(g[1] - g2[1]) < 1e-6


def test_round_trip_vectorised():
    rng = np.random.default_rng(0)
    lon = rng.uniform(73.7, 134.8, 50_000)
    lat = rng.uniform(18.2, 53.5, 50_000)
    for fwd, inv in [
        (cc.wgs84_to_gcj02, cc.gcj02_to_wgs84),
        (cc.gcj02_to_bd09, cc.bd09_to_gcj02),
        (cc.wgs84_to_bd09, cc.bd09_to_wgs84),
    ]:
        x, y = fwd(lon, lat)
        assert x.shape == lon.shape
        bx, by = inv(x, y)
        assert np.abs(bx - lon).max() < 1e-7 and np.abs(by - lat).max() < 1e-7


# --- outside China, shapes, names -------------------------------------------------------------


@pytest.mark.parametrize(
    "func",
    [
        cc.wgs84_to_gcj02,
        cc.gcj02_to_wgs84,
        cc.gcj02_to_bd09,
        cc.bd09_to_gcj02,
        cc.bd09_to_wgs84,
        cc.wgs84_to_bd09,
    ],
)
def test_outside_china_unchanged(func):
    lon = np.array([2.35, -74.0, 24.94, 151.2, 100.0])
    lat = np.array([48.86, 40.7, 60.17, -33.9, 60.0])
    x, y = func(lon, lat)
    np.testing.assert_array_equal(x, lon)
    np.testing.assert_array_equal(y, lat)


def test_inputs_not_mutated_and_nan_passes():
    lon = np.array([114.35, np.nan])
    lat = np.array([34.80, 34.8])
    x, y = cc.wgs84_to_gcj02(lon, lat)
    assert lon[0] == 114.35 and np.isnan(x[1])
    assert np.isfinite(x[0])
    x, y = cc.gcj02_to_wgs84(lon, lat)
    assert np.isnan(x[1]) and np.isfinite(x[0])


def test_scalars_and_empty():
    x, y = cc.wgs84_to_gcj02(114.35, 34.80)
    assert np.ndim(x) == 0
    x, y = cc.gcj02_to_wgs84([], [])
    assert x.shape == (0,)


def test_normalize_and_convert():
    assert cc.normalize_system("GCJ-02") == "gcj02"
    assert cc.normalize_system("baidu") == "bd09"
    assert cc.normalize_system("EPSG:4326") == "wgs84"
    assert cc.normalize_system("EPSG:3857") is None
    x, y = cc.convert(114.35, 34.80, "wgs84", "bd09")
    assert (x, y) == cc.wgs84_to_bd09(114.35, 34.80)
    with pytest.raises(ValueError, match="unknown source coordinate system 'mercator'"):
        cc.convert(1, 2, "mercator")


def test_transform_geometries_kinds():
    import geopandas as gpd

    line = shapely.LineString([(114.30, 34.80), (114.31, 34.81)])
    poly = shapely.box(114.3, 34.8, 114.4, 34.9)
    arr = np.array([line, poly, None], dtype=object)
    out = cc.transform_geometries(arr, "gcj02")
    assert isinstance(out, np.ndarray) and out[2] is None
    ref = cc.gcj02_to_wgs84(*shapely.get_coordinates(line).T)
    np.testing.assert_allclose(shapely.get_coordinates(out[0]), np.column_stack(ref))
    s = gpd.GeoSeries([line, poly], index=[5, 7], crs=4326)
    out_s = cc.transform_geometries(s, "bd09", "gcj02")
    assert list(out_s.index) == [5, 7] and out_s.crs.to_epsg() == 4326
    single = cc.transform_geometries(shapely.Point(114.3, 34.8), "wgs84", "wgs84")
    assert single.equals(shapely.Point(114.3, 34.8))


# --- real data: Kaifeng districts in GCJ-02 vs WGS-84 -----------------------------------------


def _kaifeng_pairs():
    gcj_path = DATA / "kaifeng" / "districts_gcj02.geojson"
    wgs_path = DATA / "kaifeng" / "districts_wgs84.geojson"
    if not (gcj_path.exists() and wgs_path.exists()):
        pytest.skip(f"shared test data not found at {DATA.resolve()}")
    import geopandas as gpd

    gcj = gpd.read_file(gcj_path)
    wgs = gpd.read_file(wgs_path)
    gcj["name"] = gcj["district"].fillna(gcj["city"])
    pairs = wgs[["name", "adcode", "geometry"]].merge(
        gcj[["name", "geometry"]].rename(columns={"geometry": "gcj"}), on="name"
    )
    return pairs


def _compare(a, b):
    import geopandas as gpd

    A = gpd.GeoSeries(a, crs=4326).to_crs(32650)
    B = gpd.GeoSeries(b, crs=4326).to_crs(32650)
    dist = A.centroid.distance(B.centroid).to_numpy()
    iou = (A.intersection(B).area / A.union(B).area).to_numpy()
    shift = np.column_stack([B.centroid.x - A.centroid.x, B.centroid.y - A.centroid.y])
    # median distance of the other outline's vertices to this boundary
    vertex = np.array(
        [
            np.median(shapely.distance(shapely.points(shapely.get_coordinates(bb)), aa.boundary))
            for aa, bb in zip(A, B, strict=True)
        ]
    )
    return dist, iou, shift, vertex


def test_kaifeng_gcj02_to_wgs84_matches_wgs84_file():
    pairs = _kaifeng_pairs()
    assert len(pairs) == 11  # Kaifeng city, its 9 districts/counties, Zhengzhou Erqi
    before = _compare(pairs.geometry.to_numpy(), pairs["gcj"].to_numpy())
    converted = cc.transform_geometries(pairs["gcj"].to_numpy(), "gcj02")
    after = _compare(pairs.geometry.to_numpy(), converted)

    # before: the GCJ-02 outlines sit ~540 m east and ~120 m south of the WGS-84 ones
    dist, iou, shift, vertex = before
    assert np.all((dist > 490) & (dist < 600)), dist
    assert 500 < shift[:, 0].mean() < 560 and -150 < shift[:, 1].mean() < -90
    assert np.all((iou > 0.74) & (iou < 0.98)), iou  # measured 0.748 (small urban) .. 0.974
    assert np.all(vertex > 240), vertex

    # after: the systematic offset is gone
    dist, iou, shift, vertex = after
    assert np.all(np.abs(np.median(shift, axis=0)) < 5), shift
    assert np.median(dist) < 6
    assert (dist < 10).sum() == 9  # the two others differ in outline (see below)
    assert np.all(dist < 60), dist
    assert np.all(vertex < 6), vertex  # measured 1.2-5.4 m
    assert np.all(iou > 0.98), iou
    big = (
        pairs["adcode"]
        .astype(str)
        .isin(["410200", "410202", "410212", "410221", "410222", "410223", "410225"])
        .to_numpy()
    )
    assert np.all(iou[big] > 0.998), iou[big]
    assert np.all(after[1] > before[1])
    # The two files come from different vintages/simplifications of the boundary data: after
    # conversion the outlines of Gulou (鼓楼区) and Erqi (二七区) still differ by up to ~600 m
    # along parts of the boundary (Hausdorff), moving their centroids 54 m and 42 m, while
    # their vertices otherwise lie within ~5 m (median) of the WGS-84 outline.
