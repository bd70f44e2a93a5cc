"""The travel-time raster covers the area (issue 10, section 3).

Default extent: the boundaries when given, else the roads grown by ``access_max_m``; a raster can
be written on another raster's grid (``like=`` / ``--raster-like``); the snap tolerance of its
cells is an option.
"""

import argparse
import types

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
from planner.access import raster as access_raster
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


# -- one extent rule (access.raster_extent): the CLI's early size check, write_outputs and
# raster_grid all take the raster's area from it, so they cannot disagree -----------------------


def _early(roads, boundaries, cell, mode="walk", raster_access_m=None, access_max_m=None):
    """The (rows, columns) ``planner coverage --raster-cell`` checks before the analysis."""
    args = argparse.Namespace(raster_cell=cell, raster_access_m=raster_access_m)
    travel = {"mode": mode, "access_max_m": access_max_m}
    ds = types.SimpleNamespace(roads=roads, boundaries=boundaries)
    return cli._check_raster_size(args, ds, travel)


def _lines(coords_lonlat_or_xy, highways, crs):
    return gpd.GeoDataFrame(
        {
            "highway": highways,
            "oneway": np.zeros(len(highways), dtype=np.int8),
            "maxspeed_kmh": np.full(len(highways), np.nan),
        },
        geometry=[shapely.LineString(c) for c in coords_lonlat_or_xy],
        crs=crs,
    )


@pytest.mark.parametrize("cell", [100.0, 500.0])
def test_early_check_counts_the_cells_of_the_raster_written_with_boundaries(
    demo, walk15, tmp_path, cell
):
    """With boundaries the early check's grid is the raster's, cell for cell."""
    early = _early(demo.roads, demo.boundaries, cell)
    net = walk15.network
    grid = access.raster_grid(
        net, cell_m=cell, bounds=access.raster_extent(net, boundaries=demo.boundaries)
    )
    assert early == grid.shape
    if cell == 500.0:  # and the file write_outputs writes has that grid
        out = planner.write_outputs(walk15, tmp_path / "o", raster_cell_m=cell, map_html=False)
        with rasterio.open(out["raster"]) as src:
            assert src.shape == early and src.transform == grid.transform


@pytest.mark.parametrize(
    ("mode", "raster_access_m", "access_max_m"),
    [("walk", None, None), ("walk", 300.0, None), ("walk", None, 200.0), ("drive", None, None)],
)
def test_early_check_counts_the_cells_of_raster_grid_without_boundaries(
    demo, mode, raster_access_m, access_max_m
):
    """Without boundaries the early check spans the roads' vertices, the grid the network's
    nodes: never fewer cells, and on the demo (whose outermost vertices are line ends) the same."""
    opts = {} if access_max_m is None else {"access_max_m": access_max_m}
    net = build_network(demo.roads, mode, **opts)
    grid = access.raster_grid(net, cell_m=100.0, access_max_m=raster_access_m)
    early = _early(demo.roads, None, 100.0, mode, raster_access_m, access_max_m)
    assert early == grid.shape


def test_early_check_spans_only_the_roads_the_mode_uses():
    """A motorway 3 km beyond the streets is no node of the walking network: the raster does
    not span it, and the early check (which counted every road) no longer does either."""
    streets = [[xy(0, 0), xy(1000, 0)], [xy(500, -400), xy(500, 400)]]
    roads = _lines([*streets, [xy(1000, 0), xy(4000, 0)]], ["residential"] * 2 + ["motorway"], UTM)
    grid = access.raster_grid(build_network(roads, "walk"), cell_m=50.0)
    assert grid.shape == (36, 40)  # (800 + 2 x 500) / 50, (1000 + 2 x 500) / 50
    assert _early(roads, None, 50.0) == grid.shape


def test_early_check_bounds_the_raster_from_above_where_a_road_bends_beyond_its_nodes():
    """A road's inner vertices are no nodes: the early check (which cannot know the nodes before
    the network is built) spans them, so it counts more cells, never fewer."""
    roads = _lines([[xy(0, 0), xy(500, 800), xy(1000, 0)]], ["residential"], UTM)
    grid = access.raster_grid(build_network(roads, "walk"), cell_m=50.0)
    early = _early(roads, None, 50.0)
    assert grid.shape == (20, 40) and early == (36, 40)


def test_early_check_uses_the_crs_of_the_network_with_boundaries():
    """Streets west of 114 E (UTM zone 49) and a motorway walkers may not use running east to
    130 E: the network is built in zone 49 (the CRS of the roads it uses), and the boundaries'
    extent must be taken there too. The early check took it in the zone of every road (51),
    where the box is 7 rows and 6 columns of 100 m larger."""
    lat = 30.0
    roads = _lines(
        [
            [(113.90, lat), (113.99, lat)],
            [(113.95, lat - 0.04), (113.95, lat + 0.04)],
            [(113.99, lat), (130.0, lat)],
        ],
        ["residential", "residential", "motorway"],
        "EPSG:4326",
    )
    box = gpd.GeoDataFrame(geometry=[shapely.box(113.88, lat - 0.05, 113.99, lat + 0.05)], crs=4326)
    net = build_network(roads, "walk")
    assert net.crs == pyproj.CRS.from_epsg(32649)
    assert access.raster_extent(roads, boundaries=box) == access.raster_extent(net, boundaries=box)
    grid = access.raster_grid(net, cell_m=100.0, bounds=access.raster_extent(net, boundaries=box))
    assert _early(roads, box, 100.0) == grid.shape == (114, 110)
    every_road = planner.network.local_metric_crs(roads)  # the zone the early check used
    assert access.grid_shape(tuple(box.to_crs(every_road).total_bounds), 100.0) == (121, 116)


def test_the_three_take_the_extent_from_raster_extent(demo, walk15, tmp_path, monkeypatch):
    """Grow the rule by 1 km on every side, in planner.access.raster_extent only: the early
    check, raster_grid and write_outputs all draw the grown area (4 more rows and columns of
    500 m), so none keeps a copy of the rule."""
    rule = access.raster_extent
    callers = []

    def grown(*a, **k):
        callers.append(a[0].__class__.__name__)
        minx, miny, maxx, maxy = rule(*a, **k)
        return minx - 1000, miny - 1000, maxx + 1000, maxy + 1000

    net = walk15.network
    before = (
        _early(demo.roads, None, 500.0),
        access.raster_grid(net, cell_m=500.0).shape,
        planner.write_outputs(walk15, tmp_path / "a", raster_cell_m=500, map_html=False),
    )
    monkeypatch.setattr(access, "raster_extent", grown)
    monkeypatch.setattr(access_raster, "raster_extent", grown)
    after = (
        _early(demo.roads, None, 500.0),
        access.raster_grid(net, cell_m=500.0).shape,
        planner.write_outputs(walk15, tmp_path / "b", raster_cell_m=500, map_html=False),
    )
    assert callers == ["GeoDataFrame", "Network", "Network"]
    for b, a in zip(before[:2], after[:2], strict=True):
        assert a == (b[0] + 4, b[1] + 4)
    with rasterio.open(before[2]["raster"]) as b, rasterio.open(after[2]["raster"]) as a:
        assert a.shape == (b.shape[0] + 4, b.shape[1] + 4)
        assert a.transform.c == pytest.approx(b.transform.c - 1000)
