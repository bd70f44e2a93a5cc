"""End to end on the embedded demo county, and the CLI."""

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from conftest import ROOT, shared

import planner
from planner import cli


@pytest.fixture(scope="module")
def demo():
    return planner.load_demo()


@pytest.fixture(scope="module")
def result(demo):
    return planner.analyze(demo, mode="walk", minutes=15)


def test_demo_is_labelled_synthetic(demo):
    assert demo.synthetic and "synthetic" in demo.name.lower()


def test_three_lines(result):
    s = result.admin_summary
    assert set(s["level"]) >= {"county", "township", "village"}
    total = result.total_population
    for _level, g in s.groupby("level"):
        assert g["population"].sum() == pytest.approx(total)
        assert g["covered_population"].sum() == pytest.approx(result.covered_population)
    assert 0.5 < result.covered_share < 1.0
    # the uncovered areas hold exactly the uncovered residents
    assert result.uncovered["population"].sum() == pytest.approx(total - result.covered_population)


def test_minutes_and_facilities_never_lower_coverage(demo, result):
    r10 = planner.analyze(demo, minutes=10, isochrone_minutes=None, network=result.network)
    assert r10.covered_population <= result.covered_population
    top = result.uncovered.iloc[0].geometry.representative_point()
    add = gpd.GeoDataFrame(
        {"facility_id": ["new"], "tier": ["community_station"]}, geometry=[top], crs=4326
    )
    r_add = planner.analyze(
        demo, isochrone_minutes=None, network=result.network, add_facilities=add
    )
    assert r_add.covered_population > result.covered_population
    assert r_add.facilities["proposed"].sum() == 1


def test_isochrones_nest_on_demo(result):
    iso = result.isochrones.to_crs(result.network.crs)
    g = {m: grp.set_index("facility_id").geometry for m, grp in iso.groupby("minutes")}
    ids = g[15.0].index[:40]
    for fid in ids:
        assert g[15.0][fid].buffer(1e-6).contains(g[10.0][fid])
        assert g[10.0][fid].buffer(1e-6).contains(g[5.0][fid])


def test_ebike_covers_more_than_walk(demo, result):
    e = planner.analyze(demo, mode="ebike", isochrone_minutes=None)
    assert e.covered_population >= result.covered_population


def test_cli_coverage_outputs(tmp_path, result):
    out = tmp_path / "out"
    rc = cli.main(["coverage", "--out", str(out), "--raster-cell", "500", "--quiet"])
    assert rc == 0
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert layers == {"facilities", "isochrones", "demand", "uncovered", "admin_summary"}
    summary = pd.read_csv(out / "summary.csv", dtype={"admin_code": str})
    assert list(summary.columns[:7]) == [
        "admin_code",
        "admin_name",
        "level",
        "population",
        "covered_population",
        "covered_share",
        "no_facility_in_piece_population",
    ]
    # then the demo's synthetic population groups (tests/test_population_groups.py)
    assert list(summary.columns[7:]) == [
        f"{c}_{g}"
        for g in ("65plus", "under5")
        for c in ("population", "covered_population", "covered_share")
    ]
    county = summary[summary["level"] == "county"].iloc[0]
    assert county["covered_population"] == pytest.approx(result.covered_population)
    with rasterio.open(out / "access.tif") as src:
        a = src.read(1)
        assert src.dtypes[0] == "float32" and src.nodata == -9999.0 and src.res == (500.0, 500.0)
        assert np.nanmin(np.where(a == src.nodata, np.nan, a)) >= 0
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "leaflet" in html.lower() and "cdn.jsdelivr" not in html


def test_cli_without_population(tmp_path):
    data = ROOT / "data"
    out = tmp_path / "o"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "planner.cli",
            "coverage",
            "--roads",
            str(data / "roads" / "demo_county.osm"),
            "--facilities",
            str(data / "facilities" / "demo_facilities.csv"),
            "--raster-cell",
            "1000",
            "--no-map",
            "--quiet",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "population figures are omitted" in proc.stdout
    assert (out / "access.tif").exists()
    assert {n for n, _ in pyogrio.list_layers(out / "coverage.gpkg")} == {
        "facilities",
        "isochrones",
    }


def test_cli_bad_input_is_one_clear_message(tmp_path):
    bad = tmp_path / "f.csv"
    bad.write_text("id,name,type,x\n1,a,村卫生室,3\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "planner.cli",
            "coverage",
            "--roads",
            str(ROOT / "data" / "roads" / "demo_county.osm"),
            "--facilities",
            str(bad),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "f.csv" in proc.stderr and "Fix" in proc.stderr


def test_add_facilities_from_csv(tmp_path, demo, result):
    top = result.uncovered.iloc[0].geometry.representative_point()
    csv = tmp_path / "p.csv"
    csv.write_text(
        f"site_id,lon,lat,tier\nS1,{top.x:.9f},{top.y:.9f},community_station\n", encoding="utf-8"
    )
    out = tmp_path / "o"
    assert (
        cli.main(
            [
                "coverage",
                "--add-facilities",
                str(csv),
                "--isochrones",
                "--no-map",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = pd.read_csv(out / "summary.csv", dtype={"admin_code": str})
    assert s[s["level"] == "county"]["covered_population"].iloc[0] > result.covered_population


def test_changsha_roads_route_one_way(tmp_path):
    roads = planner.read_roads(shared("changsha", "roads.shp"))
    net = planner.build_network(roads, "drive", largest_component=False)
    src_oneway = roads["oneway"].to_numpy()[net.edge_source]
    fwd, back = np.isfinite(net.edge_time_uv_s), np.isfinite(net.edge_time_vu_s)
    # every edge keeps its line's direction rule: 1 along the digitised line, -1 against it
    assert np.all(fwd[src_oneway == 1] & ~back[src_oneway == 1])
    assert np.all(~fwd[src_oneway == -1] & back[src_oneway == -1])
    assert np.all(fwd[src_oneway == 0] & back[src_oneway == 0])
    # (direction 1 and 2 are both one-way along the line: issue 10, section 4)
    assert set(np.unique(roads["oneway"].to_numpy()[np.unique(net.edge_source)])) >= {0, 1}
    walk = planner.build_network(roads, "walk", largest_component=False)
    assert np.isfinite(walk.edge_time_vu_s[walk.edge_class != "motorway"]).all()
    # a routable graph: most nodes are in the largest strongly connected component
    strong = planner.build_network(roads, "drive", largest_component=True)
    assert strong.n_nodes > 0.8 * net.n_nodes


def test_isochrones_union_per_tier(result):
    by_tier = planner.isochrones_by_tier(result.isochrones)
    iso = result.isochrones
    assert set(by_tier["tier"]) == set(iso["tier"])
    crs = result.network.crs
    for row in by_tier[by_tier["minutes"] == 15.0].itertuples():
        parts = iso[(iso["tier"] == row.tier) & (iso["minutes"] == 15.0)].to_crs(crs).geometry
        union = gpd.GeoSeries([row.geometry], crs=4326).to_crs(crs).iloc[0]
        # the union covers each facility's polygon and is no larger than their sum
        assert all(union.buffer(1e-3).contains(p) for p in parts)
        assert union.area <= parts.area.sum() + 1e-3
