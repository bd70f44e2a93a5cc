"""The travel-time raster covers the area (issue 10, section 3).

Default extent: the boundaries when given, else the roads grown by ``access_max_m``; a raster can
be written on another raster's grid (``like=`` / ``--raster-like``); the snap tolerance of its
cells is an option.
"""

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine
from conftest import ROOT, UTM, X0, Y0, xy

import planner
from planner import access, cli
from planner.access import RasterGrid, travel_time_raster
from planner.network import build_network

V = 4.8 / 3.6  # walking, on and off the road (m/s)


def _road():
    """A straight road from (0, 0) to (1000, 0) in two lines (a node at 600)."""
    return gpd.GeoDataFrame(
        {
            "highway": ["residential", "residential"],
            "oneway": np.zeros(2, dtype=np.int8),
            "maxspeed_kmh": [np.nan, np.nan],
        },
        geometry=[
            shapely.LineString([xy(0, 0), xy(600, 0)]),
            shapely.LineString([xy(600, 0), xy(1000, 0)]),
        ],
        crs=UTM,
    )


FAC = gpd.GeoSeries([shapely.Point(xy(200, 30))], crs=UTM)


def _by_hand(x, y, access_max_m):
    """Minutes from (x, y) (metres from the road's start) to the facility at (200, 30), NaN
    beyond ``access_max_m`` from the road: straight to the nearest road point, along the road,
    30 m off it to the facility."""
    px = np.clip(x, 0, 1000)
    off = np.hypot(x - px, y)
    t = (off + np.abs(px - 200) + 30) / V / 60
    return np.where(off <= access_max_m, t, np.nan)


def _centres(arr, transform):
    rows, cols = np.indices(arr.shape)
    return transform @ (cols + 0.5, rows + 0.5)


def test_cells_beyond_the_last_road_get_values_equal_to_a_hand_computation():
    net = build_network(_road(), "walk", crs=UTM)
    arr, transform, crs = travel_time_raster(net, FAC, cell_m=50)
    # the roads grown by access_max_m (500 m): before, the node extent was a single row of cells
    assert tuple(transform)[:6] == (50, 0, X0 - 500, 0, -50, Y0 + 500)
    assert arr.shape == (20, 40) and crs == net.crs
    cx, cy = _centres(arr, transform)
    want = _by_hand(cx - X0, cy - Y0, 500)
    np.testing.assert_allclose(arr, want, rtol=1e-5)
    beyond = (np.abs(cy - Y0) > 25) | (cx < X0) | (cx > X0 + 1000)  # outside the nodes' extent
    assert np.isfinite(arr[beyond]).sum() > 600


def test_snap_tolerance_is_an_option():
    net = build_network(_road(), "walk", crs=UTM)
    arr, transform, _ = travel_time_raster(net, FAC, cell_m=20, access_max_m=120)
    assert tuple(transform)[:6] == (20, 0, X0 - 120, 0, -20, Y0 + 120)
    cx, cy = _centres(arr, transform)
    np.testing.assert_allclose(arr, _by_hand(cx - X0, cy - Y0, 120), rtol=1e-5)
    assert np.isnan(arr).any() and np.isfinite(arr).any()
    with pytest.raises(planner.NetworkError, match="access_max_m"):
        travel_time_raster(net, FAC, access_max_m=-1)


def _write_like(path, transform, shape, crs):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=shape[0],
        width=shape[1],
        count=1,
        dtype="int16",
        crs=crs,
        transform=transform,
    ) as dst:
        dst.write(np.zeros(shape, dtype=np.int16), 1)
    return path


def test_raster_on_a_given_grid_has_exactly_its_grid(tmp_path):
    """A grid in Web Mercator, 37 m cells, not aligned with the roads: the same transform, shape
    and CRS, and each cell the time of its centre (projected to the network's CRS)."""
    net = build_network(_road(), "walk", crs=UTM)
    lon, lat = pyproj.Transformer.from_crs(UTM, "EPSG:3857", always_xy=True).transform(
        X0 - 333.3, Y0 + 411.1
    )
    transform = Affine(37.0, 0, lon, 0, -37.0, lat)
    like = _write_like(tmp_path / "like.tif", transform, (23, 41), "EPSG:3857")
    arr, t, crs = travel_time_raster(net, FAC, like=like)
    assert arr.shape == (23, 41) and t == transform and pyproj.CRS(crs) == pyproj.CRS("EPSG:3857")
    cx, cy = _centres(arr, transform)
    ux, uy = pyproj.Transformer.from_crs("EPSG:3857", UTM, always_xy=True).transform(
        cx.ravel(), cy.ravel()
    )
    want = _by_hand(ux - X0, uy - Y0, 500).reshape(arr.shape)
    np.testing.assert_allclose(arr, want, rtol=1e-5)
    assert np.isfinite(arr).sum() > 100
    # the same through RasterGrid, and through write_raster: the file has the grid too
    arr2, *_ = travel_time_raster(net, FAC, like=RasterGrid.from_file(like))
    np.testing.assert_array_equal(arr, arr2)


def test_like_grid_validation(tmp_path):
    net = build_network(_road(), "walk", crs=UTM)
    with pytest.raises(planner.InputFileError, match="nowhere.tif"):
        travel_time_raster(net, FAC, like=tmp_path / "nowhere.tif")
    no_crs = _write_like(tmp_path / "nocrs.tif", Affine(10, 0, 0, 0, -10, 0), (2, 2), None)
    with pytest.raises(planner.InputError, match="nocrs.tif has no coordinate system"):
        travel_time_raster(net, FAC, like=no_crs)
    like = _write_like(tmp_path / "l.tif", Affine(10, 0, X0, 0, -10, Y0), (2, 2), UTM)
    with pytest.raises(planner.NetworkError, match="either bounds= or like="):
        travel_time_raster(net, FAC, like=like, bounds=(0, 0, 1, 1))


def test_cli_raster_like_writes_on_that_grid(tmp_path):
    data = ROOT / "data"
    ds = planner.load_demo()
    net_crs = planner.network.local_metric_crs(ds.roads)
    f = ds.facilities.geometry.iloc[0]  # a grid around the first facility
    x0, y0 = pyproj.Transformer.from_crs(4326, net_crs, always_xy=True).transform(f.x, f.y)
    transform = Affine(250.0, 0, x0 - 1600, 0, -250.0, y0 + 2100)
    like = _write_like(tmp_path / "ref.tif", transform, (17, 13), net_crs)
    out = tmp_path / "o"
    rc = cli.main(
        [
            "coverage",
            "--roads",
            str(data / "roads" / "demo_county.osm"),
            "--facilities",
            str(data / "facilities" / "demo_facilities.csv"),
            "--isochrones",
            "--raster-like",
            str(like),
            "--raster-access-m",
            "300",
            "--no-map",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    with rasterio.open(out / "access.tif") as src, rasterio.open(like) as ref:
        assert src.transform == ref.transform and src.shape == ref.shape and src.crs == ref.crs
        a = src.read(1)
    assert (a != -9999).any()


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--raster-cell", "0"], "--raster-cell must be a positive number"),
        (["--raster-like", "missing.tif"], "missing.tif"),
        (
            ["--raster-cell", "100", "--raster-like", "x.tif"],
            "either --raster-cell or --raster-like",
        ),
        (["--raster-access-m", "100"], "--raster-access-m needs --raster-cell or --raster-like"),
        (["--raster-cell", "100", "--raster-access-m", "-5"], "--raster-access-m must be"),
    ],
)
def test_cli_raster_options_are_checked(tmp_path, capsys, flags, says):
    rc = cli.main(["coverage", "--out", str(tmp_path / "o"), "--quiet", "--no-map", *flags])
    assert rc == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_default_extent_in_write_outputs_is_the_boundaries(tmp_path):
    """With boundaries the raster spans them (unchanged); access.travel_time_raster's own
    default spans the roads grown by access_max_m."""
    ds = planner.load_demo()
    res = planner.analyze(ds, isochrone_minutes=None)
    written = planner.write_outputs(res, tmp_path / "o", raster_cell_m=1000, map_html=False)
    minx, miny, maxx, maxy = ds.boundaries.to_crs(res.network.crs).total_bounds
    with rasterio.open(written["raster"]) as src:
        assert src.transform.c == pytest.approx(minx) and src.transform.f == pytest.approx(maxy)
        assert src.width == int(np.ceil((maxx - minx) / 1000)) and src.height == int(
            np.ceil((maxy - miny) / 1000)
        )
    _, t, _ = access.travel_time_raster(res.network, res.facilities, cell_m=1000)
    nx0, ny1 = res.network.node_xy.min(axis=0)[0], res.network.node_xy.max(axis=0)[1]
    assert t.c == pytest.approx(nx0 - 500) and t.f == pytest.approx(ny1 + 500)
