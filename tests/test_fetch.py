"""planner fetch: the offline parts (halo, clipping, tier mapping, assembly, resumable download
from a local server, the offline message); the online path is marked ``network``."""

from __future__ import annotations

import http.server
import json
import math
import os
import socket
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import shapely.affinity
from conftest import shared

import planner
from planner import fetch as F
from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"


# --- halo ------------------------------------------------------------------------------------


def test_halo_is_the_longest_trip_plus_access_at_both_ends():
    # walk 4.8 km/h for 15 min = 1,200 m; drive at the fastest class (motorway 100 km/h) 25,000 m;
    # plus 500 m access at the home and at the facility
    assert F.halo_m(["walk"], 15) == pytest.approx(1200 + 1000)
    assert F.halo_m(["ebike"], 10) == pytest.approx(15 / 3.6 * 600 + 1000)
    assert F.halo_m(["walk", "ebike", "drive"], 15) == pytest.approx(25_000 + 1000)
    with pytest.raises(planner.InputError, match="minutes must be > 0"):
        F.halo_m(["walk"], 0)


def test_halo_area_grows_the_boundary_in_metres():
    square = gpd.GeoSeries(
        [shapely.box(500_000, 3_800_000, 501_000, 3_801_000)], crs="EPSG:32650"
    ).to_crs(4326)
    b = planner.read_boundaries(
        gpd.GeoDataFrame({"code": ["419901"]}, geometry=square.to_numpy(), crs=4326)
    )
    area = F.halo_area(b, 500)
    km2 = gpd.GeoSeries([area], crs=4326).to_crs("EPSG:32650").area.iloc[0] / 1e6
    assert km2 == pytest.approx(
        1 + 4 * 0.5 + math.pi * 0.25, rel=2e-3
    )  # square + sides + rounded corners


# --- boundary --------------------------------------------------------------------------------


def test_read_boundary_handles_gb_codes_and_gcj02_file_names():
    wgs = F.read_boundary(shared("baoding", "lianchi_boundary_wgs84.geojson"))
    assert wgs[["admin_code", "admin_name", "level"]].to_dict("records") == [
        {"admin_code": "130606", "admin_name": "莲池区", "level": "county"}
    ]
    gcj_path = shared("baoding", "lianchi_boundary_gcj02.geojson")
    assert F.coordinate_system_from_name(gcj_path) == "gcj02"
    converted = F.read_boundary(gcj_path)
    raw = F.read_boundary(gcj_path, crs="wgs84")  # taken as it says (plain lon/lat)
    utm = wgs.estimate_utm_crs()

    def dist(a, b):
        return a.to_crs(utm).centroid.iloc[0].distance(b.to_crs(utm).centroid.iloc[0])

    assert 450 < dist(raw, wgs) < 550 and dist(converted, wgs) < 100


def test_osm_units_are_the_townships_inside_the_county():
    county = F.read_boundary(
        gpd.GeoDataFrame(
            {"code": ["130606"], "name": ["莲池区"]},
            geometry=[shapely.box(115.4, 38.8, 115.6, 38.9)],
            crs=4326,
        )
    )
    feats = gpd.GeoDataFrame(
        {
            "boundary": ["administrative"] * 5,
            "admin_level": ["8", "8", "8", "6", "8"],
            "name": ["五尧乡", "东关街道", "外县镇", "莲池区", "某点"],
            "ref:admin:CN:nbs": ["130606201", np.nan, "130607100", "130606", np.nan],
        },
        geometry=[
            shapely.box(115.40, 38.80, 115.50, 38.90),
            shapely.box(115.50, 38.80, 115.60, 38.90),
            shapely.box(115.70, 38.80, 115.80, 38.90),
            shapely.box(115.4, 38.8, 115.6, 38.9),
            shapely.Point(115.45, 38.85),
        ],
        crs=4326,
    )
    units = F.osm_units(feats, county)
    assert units[["admin_code", "admin_name", "level", "parent_code"]].to_dict("records") == [
        {
            "admin_code": "130606",
            "admin_name": "莲池区",
            "level": "county",
            "parent_code": "130600",
        },
        {
            "admin_code": "130606201",
            "admin_name": "五尧乡",
            "level": "township",
            "parent_code": "130606",
        },
        {
            "admin_code": "130606-osm2",
            "admin_name": "东关街道",
            "level": "township",
            "parent_code": "130606",
        },
    ]
    assert units["kind"].tolist()[1:] == ["township", "subdistrict"]
    # a census table by name reaches the unit OSM gives no code
    table = pd.DataFrame(
        {"name": ["五尧乡", "东关街道"], "code": ["130606201", ""], "population": [10, 20]}
    )
    with pytest.warns(planner.popspread.PopulationTableWarning, match="by name.*东关街道"):
        pop = planner.read_population_table(table, units, spread="uniform", cell_m=1000)
    assert pop.groupby("admin_code")["population"].sum().to_dict() == pytest.approx(
        {"130606201": 10, "130606-osm2": 20}
    )
    assert (
        F.osm_units(feats.iloc[[3, 4]], county) is county
    )  # nothing at level 8 inside: the county alone


def test_read_boundary_without_codes():
    g = gpd.GeoDataFrame(
        {"display_name": ["莲池区, 保定市, 河北省, 中国"]},
        geometry=[shapely.box(115.4, 38.8, 115.5, 38.9)],
        crs=4326,
    )
    b = F.read_boundary(g, admin_code="130606")
    assert b[["admin_code", "admin_name", "level"]].iloc[0].tolist() == [
        "130606",
        "莲池区",
        "county",
    ]
    two = pd.concat([g, g], ignore_index=True)
    with pytest.raises(planner.InputError, match="2 polygons and no administrative code column"):
        F.read_boundary(gpd.GeoDataFrame(two, crs=4326))


# --- roads -----------------------------------------------------------------------------------


def test_clip_roads_keeps_whole_lines_touching_the_area_with_their_columns():
    raw = gpd.read_file(shared("baoding", "lianchi_roads_osm.gpkg"))
    b = F.read_boundary(shared("baoding", "lianchi_boundary_wgs84.geojson"))
    area = F.halo_area(b, 0.0)
    clipped = F.clip_roads(raw, area)
    assert list(clipped.columns) == list(raw.columns)
    inside = shapely.intersects(area, raw.geometry.to_numpy())
    assert len(clipped) == int(inside.sum()) and 0 < len(clipped) < len(raw)
    # whole lines: geometry unchanged, and some of them reach out of the area
    assert clipped.geometry.geom_equals(raw.geometry[inside]).all()
    assert (~shapely.within(clipped.geometry.to_numpy(), area)).any()


# --- facilities ------------------------------------------------------------------------------


def _osm_features(lon0: float = 115.45, lat0: float = 38.80) -> gpd.GeoDataFrame:
    """OSM-like health features around (lon0, lat0)."""
    dx, dy = lon0 - 115.45, lat0 - 38.80
    rows = [
        ("node", 1, "莲池区五尧乡卫生院", "clinic", None, shapely.Point(115.45, 38.80)),
        ("node", 2, "东金庄村卫生室", "doctors", None, shapely.Point(115.46, 38.81)),
        ("node", 3, "东关社区卫生服务站", None, "clinic", shapely.Point(115.47, 38.86)),
        (
            "way",
            4,
            "保定市第一中心医院",
            "hospital",
            "hospital",
            shapely.box(115.48, 38.87, 115.49, 38.88),
        ),
        ("node", 5, "", "hospital", None, shapely.Point(115.50, 38.87)),
        ("node", 6, "张氏诊所", "clinic", None, shapely.Point(115.51, 38.86)),
        ("node", 7, "保定市妇幼保健院", "hospital", "hospital", shapely.Point(115.52, 38.86)),
        ("node", 8, "裕华社区卫生服务中心", "clinic", "centre", shapely.Point(115.53, 38.86)),
    ]
    idx = pd.MultiIndex.from_tuples([(e, i) for e, i, *_ in rows], names=["element", "id"])
    return gpd.GeoDataFrame(
        {
            "name": [r[2] or np.nan for r in rows],
            "amenity": [r[3] for r in rows],
            "healthcare": [r[4] for r in rows],
        },
        geometry=[shapely.affinity.translate(r[5], dx, dy) for r in rows],
        index=idx,
        crs=4326,
    )


def test_osm_facilities_tiers_from_names_then_tags(tmp_path):
    f = F.osm_facilities(_osm_features())
    assert f["tier"].tolist() == [
        "township_center",
        "village_clinic",
        "community_station",
        "hospital",
        "hospital",
        "other",
        "other",
        "community_center",
    ]
    assert f["facility_id"].tolist()[:4] == ["osm-node-1", "osm-node-2", "osm-node-3", "osm-way-4"]
    assert (f["note"] == F.OSM_NOTE).all() and (f["source"] == "OpenStreetMap").all()
    assert shapely.contains_xy(shapely.box(115.48, 38.87, 115.49, 38.88), f["lon"][3], f["lat"][3])
    assert f["osm_tags"][3] == "amenity=hospital;healthcare=hospital"
    # written and read back as planner reads a register: the same tiers
    f.drop(columns="geometry").to_csv(tmp_path / "f.csv", index=False)
    back = planner.read_facilities(tmp_path / "f.csv")
    assert back["tier"].tolist() == f["tier"].tolist()


# --- population ------------------------------------------------------------------------------


def test_clip_raster_keeps_the_cells_whose_centre_is_inside(tmp_path):
    b = planner.read_boundaries(DEMO / "boundaries" / "demo_admin.geojson")
    unit = b[b["admin_name"] == "城关街道"]
    area = F.halo_area(unit, 300)
    out = F.clip_raster([DEMO / "population" / "demo_population.tif"], area, tmp_path / "p.tif")
    with rasterio.open(out) as ds:
        data = ds.read(1, masked=True)
        clipped = float(data.sum())
    # independent: every populated cell of the source, kept when its centre lies in the area
    cells = planner.read_population(DEMO / "population" / "demo_population.tif")
    centre = shapely.centroid(cells.geometry.to_numpy())
    want = float(
        cells["population"]
        .to_numpy()[shapely.contains_xy(area, shapely.get_x(centre), shapely.get_y(centre))]
        .sum()
    )
    assert clipped == pytest.approx(want, rel=1e-6) and 0 < clipped < cells["population"].sum()


def test_clip_raster_mosaics_tiles_like_the_whole(tmp_path):
    """Two tiles (the west and east halves of the demo raster) give what the whole raster gives."""
    src = DEMO / "population" / "demo_population.tif"
    with rasterio.open(src) as ds:
        prof, data = ds.profile, ds.read()
        half = ds.width // 2
        for name, sl, off in (
            ("w.tif", np.s_[:, :, :half], 0),
            ("e.tif", np.s_[:, :, half:], half),
        ):
            part = data[sl]
            with rasterio.open(
                tmp_path / name,
                "w",
                **(
                    prof
                    | {
                        "width": part.shape[2],
                        "transform": ds.transform * rasterio.Affine.translation(off, 0),
                    }
                ),
            ) as out:
                out.write(part)
    b = planner.read_boundaries(DEMO / "boundaries" / "demo_admin.geojson")
    area = F.halo_area(b[b["admin_name"].isin(["城关街道", "东城街道", "西城街道"])], 500)
    whole = F.clip_raster([src], area, tmp_path / "whole.tif")
    tiles = F.clip_raster([tmp_path / "w.tif", tmp_path / "e.tif"], area, tmp_path / "tiles.tif")
    with rasterio.open(whole) as a, rasterio.open(tiles) as t:
        assert a.transform == t.transform and a.shape == t.shape
        assert float(t.read(1, masked=True).sum()) == pytest.approx(
            float(a.read(1, masked=True).sum()), rel=1e-9
        )


def test_population_table_cuts_a_yearbook_to_the_boundary():
    b = F.read_boundary(shared("baoding", "lianchi_boundary_wgs84.geojson"))
    table = shared("county_population.csv")
    t = F.population_table(table, b, population_column="Pop_2010")
    assert t.to_dict("records") == [
        {"admin_code": "130606", "admin_name": "莲池区", "population": 675_123.0}
    ]
    with pytest.raises(
        planner.InputError, match="no population column.*Pop_2010.*population_column="
    ):
        F.population_table(table, b)
    other = b.assign(admin_code="999999")
    with pytest.raises(planner.InputError, match="no row for 999999"):
        F.population_table(table, other, population_column="Pop_2010")


# --- assembly --------------------------------------------------------------------------------


def test_assemble_writes_a_folder_coverage_runs_on(tmp_path):
    ds = planner.load_demo()
    county = ds.boundaries[ds.boundaries["level"] == "county"]
    area = F.halo_area(county, 2000)
    osm = F.osm_facilities(_osm_features(114.25, 34.45))
    written = F.assemble(
        tmp_path / "demo",
        boundary=ds.boundaries,
        roads=DEMO / "roads" / "demo_county.osm",
        facilities=osm,
        population=DEMO / "population" / "demo_population.tif",
        area=area,
        sources={
            "facilities": {"source": "OpenStreetMap via osmnx", "note": F.OSM_NOTE},
            "population": {"source": "WorldPop", "year": 2020},
        },
    )
    assert {p.relative_to(tmp_path / "demo").as_posix() for p in written.values()} == {
        "boundaries/boundary.geojson",
        "roads/demo_county.osm",
        "facilities/facilities.csv",
        "population/population.tif",
        "sources.json",
        "README.txt",
    }
    src = json.loads(written["sources"].read_text(encoding="utf-8"))
    assert src["population"] == {"source": "WorldPop", "year": 2020} and "fetched_at" in src
    readme = written["readme"].read_text(encoding="utf-8")
    assert F.OSM_NOTE.upper() in readme and "MISSING" not in readme
    loaded = planner.load_dataset(tmp_path / "demo")
    # the halo holds the whole county: every resident of the demo raster is there
    assert loaded.population["population"].sum() == pytest.approx(
        ds.population["population"].sum(), rel=1e-9
    )
    assert len(loaded.roads) == len(ds.roads) and len(loaded.boundaries) == len(ds.boundaries)
    assert loaded.facilities["tier"].tolist() == osm["tier"].tolist()


def test_fetch_offline_from_the_lianchi_files_and_the_census_table(tmp_path, monkeypatch, capsys):
    """The whole offline path: user files for boundary, roads, census table; facilities cannot be
    downloaded -> one error naming --facilities, and the other parts written."""

    def offline(area, **kw):
        raise F.FetchError("facilities: cannot reach overpass-api.de (ConnectionError).")

    monkeypatch.setattr(F.county, "fetch_facilities", offline)
    S = shared("baoding").parent
    out = tmp_path / "lianchi"
    args = [
        "fetch",
        "--boundary",
        str(S / "baoding" / "lianchi_boundary_wgs84.geojson"),
        "--roads",
        str(S / "baoding" / "lianchi_roads_osm.gpkg"),
        "--population",
        str(S / "county_population.csv"),
        "--population-column",
        "Pop_2010",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert (
        "cannot reach overpass-api.de" in err
        and "--facilities FILE" in err
        and "--roads" not in err
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt",
        "boundaries",
        "population",
        "roads",
        "sources.json",
    ]
    assert "facilities: MISSING" in (out / "README.txt").read_text(encoding="utf-8")
    # with a register it completes, and coverage runs on the folder
    reg = tmp_path / "register.csv"
    pd.DataFrame(
        {"name": ["虚构社区卫生服务中心 (INVENTED)"], "lon": [115.4973], "lat": [38.8766]}
    ).to_csv(reg, index=False)
    assert main([*args, "--facilities", str(reg)]) == 0
    ds = planner.load_dataset(out)
    assert ds.population["population"].sum() == pytest.approx(675_123, rel=1e-9)
    assert set(ds.population["spread"]) == {"roads"} and len(ds.roads) == 2985
    src = json.loads((out / "sources.json").read_text(encoding="utf-8"))
    assert (
        src["roads"]["halo_m"] == pytest.approx(26_000)
        and src["population"]["column"] == "Pop_2010"
    )


def test_fetch_needs_an_area(tmp_path):
    with pytest.raises(planner.InputError, match="pass place=, boundary= or admin_code="):
        F.fetch(tmp_path / "x")
    with pytest.raises(planner.InputFileError, match="boundary file not found.*place="):
        F.fetch(tmp_path / "x", boundary=tmp_path / "nowhere.geojson")
    assert not (tmp_path / "x").exists()


# --- downloads -------------------------------------------------------------------------------


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = bytes(range(256)) * 400  # 102,400 bytes
    honour_range = True
    log: list[str | None] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).log.append(self.headers.get("Range"))
        if self.path != "/pop.tif":
            self.send_error(404)
            return
        data, status = self.payload, 200
        rng = self.headers.get("Range")
        if rng and self.honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.end_headers()
                return
            data, status = data[start:], 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _RangeHandler.log = []
    _RangeHandler.honour_range = True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_once_then_from_the_cache(server, tmp_path):
    dest = tmp_path / "cache" / "pop.tif"
    assert (
        F.download(f"{server}/pop.tif", dest, progress=False).read_bytes() == _RangeHandler.payload
    )
    assert not dest.with_name("pop.tif.part").exists()
    F.download(f"{server}/pop.tif", dest, progress=False)
    assert _RangeHandler.log == [None]  # the second call did not ask the server


@pytest.mark.parametrize("honour", [True, False])
def test_download_resumes_a_part_file(server, tmp_path, honour):
    _RangeHandler.honour_range = honour
    dest = tmp_path / "pop.tif"
    part = tmp_path / "pop.tif.part"
    part.write_bytes(_RangeHandler.payload[:30_000])
    F.download(f"{server}/pop.tif", dest, progress=False)
    assert _RangeHandler.log == ["bytes=30000-"]
    assert (
        dest.read_bytes() == _RangeHandler.payload
    )  # appended, or replaced when the range is ignored


def test_download_failures_say_what_could_not_be_reached(server, tmp_path):
    with pytest.raises(F.FetchError, match="HTTP 404"):
        F.download(f"{server}/missing.tif", tmp_path / "m.tif", progress=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(F.FetchError, match=f"WorldPop: cannot reach 127.0.0.1:{port}"):
        F.download(
            f"http://127.0.0.1:{port}/pop.tif", tmp_path / "x.tif", what="WorldPop", progress=False
        )
    assert not (tmp_path / "x.tif").exists()


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PLANNER_CACHE", str(tmp_path))
    assert F.cache_dir() == tmp_path


@pytest.mark.network
@pytest.mark.skipif(
    os.environ.get("PLANNER_ONLINE_TESTS") != "1", reason="set PLANNER_ONLINE_TESTS=1"
)
def test_fetch_lianchi_online(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_CACHE", str(tmp_path / "cache"))
    written = F.fetch(
        tmp_path / "lianchi",
        place="莲池区, 保定市, 河北省",
        modes=["walk"],
        minutes=15,
        resolution="1km",
        progress=False,
    )
    ds = planner.load_dataset(tmp_path / "lianchi")
    assert (
        len(ds.roads) > 1000
        and len(ds.facilities) > 0
        and ds.population["population"].sum() > 100_000
    )
    assert json.loads(written["sources"].read_text(encoding="utf-8"))["population"]["year"] == 2020


def test_osm_downloads_are_cached_and_counted(monkeypatch, tmp_path, capsys):
    """An OSM download runs with osmnx's HTTP cache in planner's cache folder (a repeated or
    broken fetch asks only for what is not answered yet) and a bar counting its requests from
    osmnx's own log lines; osmnx's settings are put back afterwards."""
    import osmnx as ox
    from osmnx import utils as ox_utils

    monkeypatch.setenv("PLANNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(F.downloads, "_probe", lambda what, url, timeout_s=5.0: None)
    before = (ox.settings.use_cache, ox.settings.cache_folder, ox_utils.log)
    seen = {}

    def download():
        seen["settings"] = (ox.settings.use_cache, ox.settings.cache_folder)
        ox_utils.log("Requesting data from API in 3 request(s)")
        ox_utils.log("Downloaded 1,500.0kB from 'overpass-api.de' with status 200")
        ox_utils.log("Retrieved response from cache file 'x.json'")
        ox_utils.log("Downloaded 500.0kB from 'overpass-api.de' with status 200")
        return "roads"

    assert F.downloads._osm_call("roads", download) == "roads"
    assert seen["settings"] == (True, str(tmp_path / "cache" / "osm"))
    assert (ox.settings.use_cache, ox.settings.cache_folder, ox_utils.log) == before
    err = capsys.readouterr().err
    assert "OpenStreetMap roads" in err and "3/3" in err and "2.0 MB" in err

    def broken():
        raise requests.ConnectionError("no route")

    import requests

    with pytest.raises(F.FetchError, match="roads: cannot reach OpenStreetMap"):
        F.downloads._osm_call("roads", broken, progress=False)
    assert (ox.settings.use_cache, ox.settings.cache_folder, ox_utils.log) == before
