"""Bad input gets a clear answer: a warning naming the rows and the fix, or an error; never a
silently wrong number, never a traceback (issue 10, section 6).

Each test writes its small bad file with ``tmp_path`` and checks the message as well as the
numbers that would otherwise have been wrong.
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import UTM

import planner
from planner import _chinacrs, _validate, cli, coverage, load, pipeline
from planner._errors import (
    CRSError,
    InputError,
    InputFileError,
    InputWarning,
    NetworkError,
    ScenarioError,
)
from planner.scenario import Scenario

DEMO = pipeline.DEMO_DIR
DEMO_ROADS = DEMO / "roads" / "demo_county.osm"
DEMO_FACILITIES = DEMO / "facilities" / "demo_facilities.csv"
DEMO_BOUNDARIES = DEMO / "boundaries" / "demo_admin.geojson"
DEMO_POPULATION = DEMO / "population" / "demo_population.tif"


def _messages(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, InputWarning)]


# --- wrong numbers without a warning -------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon_col", "lat_col", "system"),
    [
        ("gcj02_lon", "gcj02_lat", "gcj02"),
        ("高德经度", "高德纬度", "gcj02"),
        ("amap_lng", "amap_lat", "gcj02"),
        ("百度经度", "百度纬度", "bd09"),
        ("bd09_lng", "bd09_lat", "bd09"),
        ("Baidu Lon", "Baidu Lat", "bd09"),
    ],
)
def test_web_map_column_names_are_converted_with_a_warning(lon_col, lat_col, system):
    true_lon, true_lat = 114.2851, 34.5153
    lon, lat = _chinacrs.convert(true_lon, true_lat, "wgs84", system)
    df = pd.DataFrame({"name": ["城关镇卫生院"], lon_col: [lon], lat_col: [lat]})
    with pytest.warns(
        InputWarning,
        match=rf"'{lon_col}'/'{lat_col}' are named as .*converted .* to WGS-84.*crs='wgs84'",
    ):
        f = load.read_facilities(df)
    p = f.geometry.iloc[0]
    # 544 m off before; now where it belongs (the iterative inverse is exact to 1e-9 degrees)
    assert p.x == pytest.approx(true_lon, abs=1e-7) and p.y == pytest.approx(true_lat, abs=1e-7)


def test_web_map_column_names_and_an_explicit_crs():
    lon, lat = _chinacrs.wgs84_to_gcj02(114.2851, 34.5153)
    df = pd.DataFrame({"name": ["a卫生室"], "gcj02_lon": [lon], "gcj02_lat": [lat]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right crs given: nothing to say
        f = load.read_facilities(df, crs="gcj02")
    assert f.geometry.iloc[0].x == pytest.approx(114.2851, abs=1e-7)
    with pytest.warns(
        InputWarning, match=r"named as GCJ-02 .* but crs='wgs84' was given.*crs='gcj02'"
    ):
        g = load.read_facilities(df, crs="wgs84")
    assert g.geometry.iloc[0].x == pytest.approx(float(lon))  # as the user said
    mixed = pd.DataFrame({"name": ["a卫生室"], "gcj02_lon": [lon], "bd09_lat": [lat]})
    with pytest.raises(InputError, match="named after different coordinate systems"):
        load.read_facilities(mixed)


def test_veterinary_hospitals_are_not_hospitals():
    df = pd.DataFrame(
        {
            "name": [
                "爱宠宠物医院",
                "示范县动物医院",
                "县兽医站",
                "示范县人民医院",
                "Happy Paws Veterinary Hospital",
            ],
            "lon": [114.3] * 5,
            "lat": [34.5] * 5,
        }
    )
    with pytest.warns(
        InputWarning,
        match=r"4 facilities look like animal hospitals.*rows 0, 1, 2, 4.*'爱宠宠物医院'",
    ):
        f = load.read_facilities(df)
    assert f["tier"].tolist() == ["other", "other", "other", "hospital", "other"]
    # and so they count toward no coverage (the default tiers leave 'other' out)
    assert pipeline.select_facilities(f, planner.PRIMARY_TIERS)["name"].tolist() == [
        "示范县人民医院"
    ]


def test_unknown_facility_type_is_named():
    df = pd.DataFrame(
        {
            "name": ["红星站", "示范县人民医院", "向阳点"],
            "type": ["医务室X", "县医院", "医务室X"],
            "lon": [114.3] * 3,
            "lat": [34.5] * 3,
        }
    )
    with pytest.warns(
        InputWarning,
        match=r"2 facilities have a type \('医务室X'\).*tier 'other'.*rows 0, 2 "
        r"\(names '红星站', '向阳点'\).*tier_map=\{'医务室X': 'village_clinic'\}",
    ):
        f = load.read_facilities(df)
    assert f["tier"].tolist() == ["other", "hospital", "other"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fix the message names works and silences it
        g = load.read_facilities(df, tier_map={"医务室X": "village_clinic"})
    assert g["tier"].tolist() == ["village_clinic", "hospital", "village_clinic"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # recognised as non-primary on purpose: no warning
        load.read_facilities(
            pd.DataFrame({"name": ["县妇幼保健院"], "lon": [114.3], "lat": [34.5]})
        )


def test_polygon_and_line_facilities_are_reported():
    g = gpd.GeoDataFrame(
        {"name": ["城关镇卫生院", "示范县人民医院", "东村卫生室"]},
        geometry=[
            shapely.box(114.30, 34.50, 114.301, 34.501),
            shapely.LineString([(114.31, 34.51), (114.32, 34.52)]),
            shapely.Point(114.33, 34.53),
        ],
        crs=4326,
    )
    with pytest.warns(
        InputWarning, match=r"2 facility geometries are LineString, Polygon, not points.*rows 0, 1"
    ):
        f = load.read_facilities(g)
    assert (f.geom_type == "Point").all()
    assert shapely.contains(g.geometry.iloc[0], f.geometry.iloc[0])  # a point inside the outline
    assert g.geometry.iloc[1].distance(f.geometry.iloc[1]) < 1e-9  # a point on the line


def test_implausible_maxspeed_is_capped(tiny_roads):
    roads = tiny_roads.copy()
    roads["maxspeed_kmh"] = [99999.0, 60.0, np.nan, np.nan, np.nan, np.nan]
    with pytest.warns(
        InputWarning, match=r"1 road lines have maxspeed above 150 km/h \(99999\).*class is used"
    ):
        net = planner.build_network(roads, "drive")
    # road AB (1000 m, residential) takes the residential class speed, not 99999 km/h (0.04 s)
    ab = net.edge_source == 0
    expected = 1000.0 / (planner.DRIVE.speeds["residential"] / 3.6)
    np.testing.assert_allclose(net.edge_time_uv_s[ab].sum(), expected, rtol=1e-6)
    ref = planner.build_network(
        roads.assign(maxspeed_kmh=[np.nan, 60.0, np.nan, np.nan, np.nan, np.nan]), "drive"
    )
    np.testing.assert_allclose(np.sort(net.edge_time_uv_s), np.sort(ref.edge_time_uv_s))


def test_overlapping_townships_are_named_with_their_residents():
    units = gpd.GeoDataFrame(
        {
            "admin_code": ["410202001", "410202002"],
            "admin_name": ["甲街道", "乙镇"],
            "level": ["township"] * 2,
        },
        geometry=[shapely.box(0, 0, 2, 1), shapely.box(1, 0, 3, 1)],
        crs=UTM,
    ).to_crs(4326)
    demand = gpd.GeoDataFrame(
        {"population": [10.0, 20.0, 40.0]},
        geometry=[shapely.Point(0.5, 0.5), shapely.Point(1.5, 0.5), shapely.Point(2.5, 0.5)],
        crs=UTM,
    ).to_crs(4326)
    with pytest.warns(
        InputWarning,
        match=r"township units overlap, and 20 residents lie in more than one.*"
        r"410202001 '甲街道' and 410202002 '乙镇': 20 residents \(1 demand units\), "
        r"counted in 410202001 only",
    ):
        a = coverage.assign_admin(demand, units)
    assert a["township_code"].tolist() == ["410202001", "410202001", "410202002"]
    # the rule is the boundaries' row order, whatever the spatial index returns first
    with pytest.warns(InputWarning, match="counted in 410202002 only"):
        b = coverage.assign_admin(demand, units.iloc[::-1])
    assert b["township_code"].tolist() == ["410202001", "410202002", "410202002"]


def test_negative_raster_cells_are_counted(tmp_path: Path):
    import rasterio
    from rasterio.transform import from_origin

    a = np.full((4, 4), 10.0, dtype="float32")
    a[2:] = -99999.0  # WorldPop's nodata marker, without the nodata tag: half the raster
    path = tmp_path / "pop.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=4,
        width=4,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(114.0, 34.6, 0.001, 0.001),
    ) as dst:
        dst.write(a, 1)
    with pytest.warns(
        InputWarning,
        match=r"8 cells of band 1 have negative values \(from -99999 to -99999.*"
        r"dropped; the 8 cells > 0 hold 80 residents.*no nodata value.*gdal_edit",
    ):
        p = load.read_population(path)
    assert p["population"].sum() == 80


def test_huge_sparse_raster_refused_from_its_header(tmp_path: Path):
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "sparse.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=100_000,
        width=100_000,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(114.0, 34.6, 1e-5, 1e-5),
        compress="deflate",
        tiled=True,
        sparse_ok=True,
    ) as dst:
        dst.write(np.ones((1, 1), dtype="float32"), 1, window=((0, 1), (0, 1)))
    assert path.stat().st_size < 5_000_000  # small on disk, 37+ GiB in memory
    with pytest.raises(
        InputError, match=r"100,000 x 100,000 cells.*GiB.*Fix: clip it.*gdal_translate -projwin"
    ):
        load.read_population(path)


def _far_boundaries(tmp_path: Path) -> Path:
    b = gpd.read_file(DEMO_BOUNDARIES)
    b["geometry"] = b.geometry.translate(xoff=5.0)  # another county, 450 km east
    path = tmp_path / "far_admin.geojson"
    b.to_file(path, driver="GeoJSON")
    return path


def test_boundaries_nowhere_near_the_data_are_refused(tmp_path: Path, capsys):
    far = _far_boundaries(tmp_path)
    with pytest.raises(
        CRSError, match=r"none of the 229 facilities lies inside the boundaries.*facilities_crs="
    ):
        pipeline.load_dataset(roads=DEMO_ROADS, facilities=DEMO_FACILITIES, boundaries=far)
    rc = cli.main(
        [
            "coverage",
            "--roads",
            str(DEMO_ROADS),
            "--facilities",
            str(DEMO_FACILITIES),
            "--boundaries",
            str(far),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert (
        "none of the 229 facilities lies inside the boundaries" in err and "--facilities-crs" in err
    )
    assert not (tmp_path / "out" / "summary.csv").exists()


def test_population_nowhere_near_the_boundaries_is_refused():
    ds = pipeline.load_dataset(
        roads=DEMO_ROADS,
        facilities=DEMO_FACILITIES,
        boundaries=DEMO_BOUNDARIES,
        population=DEMO_POPULATION,
    )
    far = ds.population.copy()
    far["geometry"] = far.geometry.translate(xoff=5.0)
    with pytest.raises(CRSError, match="no resident lies inside the boundaries"):
        _validate.check_extents(
            roads=ds.roads, facilities=ds.facilities, boundaries=ds.boundaries, population=far
        )


# --- tracebacks ------------------------------------------------------------------------------------


def test_out_naming_a_file_is_refused_before_any_work(tmp_path: Path, monkeypatch, capsys):
    target = tmp_path / "report.txt"
    target.write_text("not a folder")

    def never(*a, **k):
        raise AssertionError("data loaded before --out was checked")

    monkeypatch.setattr(pipeline, "load_demo", never)
    for command in (["coverage"], ["optimize", "--new-sites", "2"], ["report"]):
        rc = cli.main([*command, "--out", str(target), "--quiet"])
        assert rc == 2
        assert f"--out {target} is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "not a folder"


def test_geojson_holding_projected_metres(tmp_path: Path):
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"]},
        geometry=[shapely.LineString([(250_000, 3_822_000), (251_000, 3_822_000)])],
    )
    path = tmp_path / "roads.geojson"
    roads.to_file(path, driver="GeoJSON")  # no CRS: a GeoJSON is WGS-84 by definition
    with pytest.raises(
        CRSError,
        match=r"labelled EPSG:4326 \(degrees\) but reach .*projected metres.*crs='EPSG:32650'",
    ):
        load.read_roads(path)
    gk = roads.set_geometry(
        roads.geometry.translate(xoff=38_000_000)
    )  # 3-degree Gauss-Kruger, zone 38
    gk.to_file(path, driver="GeoJSON")
    with pytest.raises(
        CRSError, match=r"crs='EPSG:4526' \(CGCS2000 / 3-degree Gauss-Kruger zone 38"
    ):
        load.read_roads(path)
    assert load.read_roads(path, crs="EPSG:4526").total_bounds[0] == pytest.approx(111.3, abs=0.5)


def test_scenario_toml_saved_as_gbk(tmp_path: Path):
    text = 'name = "东城街道 8 个站点"\nobjective = "max-coverage"\nnew_sites = 8\n'
    path = tmp_path / "s.toml"
    path.write_bytes(text.encode("gbk"))
    sc = Scenario.load(path)
    assert sc.name == "东城街道 8 个站点" and sc.new_sites == 8
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # UTF-8 with BOM (Windows Notepad)
    assert Scenario.load(path).name == "东城街道 8 个站点"
    path.write_bytes(b'name = "\x81\x30"\n')  # neither UTF-8 nor GB18030
    with pytest.raises(
        ScenarioError,
        match="not UTF-8 text .* and not GBK/GB18030 either. Fix: save the scenario as UTF-8",
    ):
        Scenario.load(path)


def test_csv_text_named_xlsx(tmp_path: Path):
    path = tmp_path / "clinics.xlsx"
    path.write_bytes("name,lon,lat\n城关镇卫生院,114.3,34.5\n".encode("gbk"))
    with pytest.warns(
        InputWarning,
        match=r"not an Excel workbook but text; it was read as CSV. Fix: rename it to .csv",
    ):
        f = load.read_facilities(path)
    assert f["name"].tolist() == ["城关镇卫生院"] and f["tier"].tolist() == ["township_center"]
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(InputError, match=r"old Excel \(.xls\) workbook with an .xlsx name"):
        load.read_facilities(path)
    path.write_bytes(b"\x00\x01\x02binary" * 50)
    with pytest.raises(InputFileError, match="not an Excel workbook .* and not text either"):
        load.read_facilities(path)
    path.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(InputFileError, match="cannot read the workbook"):
        load.read_facilities(path)


def _zip_with_understated_size() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for ext in ("shp", "shx", "dbf"):
            zf.writestr(f"roads.{ext}", b"x" * 5000)
    data = bytearray(buf.getvalue())
    struct.pack_into("<I", data, 22, 100)  # local header: uncompressed size 100 instead of 5000
    cd = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 100)  # central directory: the same lie
    return bytes(data)


def test_zip_whose_header_understates_a_member(tmp_path: Path):
    from planner import app as aps

    with pytest.raises(
        InputError,
        match=r"roads.shp in the archive cannot be unpacked \(BadZipFile.*zip the shapefile again",
    ):
        aps.store_upload("roads", "roads.zip", _zip_with_understated_size(), tmp_path)


# --- unclear messages ------------------------------------------------------------------------------


def test_osm_file_without_highways_is_named(tmp_path: Path):
    osm = tmp_path / "buildings_only.osm"
    osm.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        ' <node id="1" lat="34.5" lon="114.3"/><node id="2" lat="34.51" lon="114.31"/>'
        '<node id="3" lat="34.51" lon="114.3"/>\n'
        ' <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>\n'
        "</osm>\n",
        encoding="utf-8",
    )
    ds = pipeline.load_dataset(roads=osm, facilities=DEMO_FACILITIES)
    with pytest.raises(
        NetworkError, match=rf"{osm}: no roads usable by mode 'walk'.*holds no roads at all"
    ):
        pipeline.analyze(ds, isochrone_minutes=None)


def _two_sheet_workbook(path: Path) -> Path:
    fac = pd.read_csv(DEMO_FACILITIES).head(5)
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"说明": ["机构名单见第二页"]}).to_excel(xw, sheet_name="说明", index=False)
        fac.to_excel(xw, sheet_name="机构", index=False)
    return path


def test_data_on_the_second_sheet(tmp_path: Path):
    path = _two_sheet_workbook(tmp_path / "clinics.xlsx")
    with pytest.raises(
        InputError,
        match=r"the workbook has 2 sheets \('说明', '机构'\) and sheet '说明' was read; "
        r"sheet '机构' has coordinate columns. Fix: pass sheet='机构'",
    ):
        load.read_facilities(path)
    assert len(load.read_facilities(path, sheet="机构")) == 5
    assert len(load.read_facilities(path, sheet=1)) == 5
    for sheet in ("机构", "2"):  # by name, or numbered from 1 as people count sheets
        args = cli.build_parser().parse_args(
            [
                "coverage",
                "--roads",
                str(DEMO_ROADS),
                "--facilities",
                str(path),
                "--facilities-sheet",
                sheet,
                "--out",
                str(tmp_path / "o"),
            ]
        )
        assert len(cli._load(args).facilities) == 5
    sc = cli._scenario_from_args(
        cli.build_parser().parse_args(
            [
                "optimize",
                "--roads",
                str(DEMO_ROADS),
                "--facilities",
                str(path),
                "--facilities-sheet",
                "2",
                "--new-sites",
                "1",
                "--out",
                str(tmp_path / "o"),
            ]
        )
    )
    assert sc.facilities_sheet == "2" and len(sc.load_data().facilities) == 5


def test_cli_flag_names_in_messages(tmp_path: Path, capsys):
    path = _two_sheet_workbook(tmp_path / "clinics.xlsx")
    rc = cli.main(
        [
            "coverage",
            "--roads",
            str(DEMO_ROADS),
            "--facilities",
            str(path),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    assert rc == 2
    assert "Fix: pass --facilities-sheet '机构'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["coverage", "--isochrones", "0", "-5"], "--isochrones must be minutes > 0, got 0, -5"),
        (
            ["coverage", "--raster-cell", "0"],
            "--raster-cell must be a positive number of metres, got 0",
        ),
        (["coverage", "--minutes", "-1"], "--minutes must be a number > 0, got -1"),
        (["optimize", "--new-sites", "0"], "--new-sites must be 1 or more, got 0"),
        (["coverage", "--speed-kmh", "nan"], "--speed-kmh must be a number > 0, got nan"),
    ],
)
def test_bad_option_values_name_the_option(argv, message, tmp_path: Path, monkeypatch, capsys):
    def never(*a, **k):
        raise AssertionError("data loaded before the options were checked")

    monkeypatch.setattr(pipeline, "load_demo", never)
    assert cli.main([*argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert message in capsys.readouterr().err


# --- beyond the anchors: GCJ-02 told from the roads ------------------------------------------------


def _demo_facilities_in_gcj02(tmp_path: Path) -> Path:
    fac = pd.read_csv(DEMO_FACILITIES, dtype={"id": str})
    fac["lon"], fac["lat"] = _chinacrs.wgs84_to_gcj02(fac["lon"].to_numpy(), fac["lat"].to_numpy())
    path = tmp_path / "facilities_amap.csv"
    fac.to_csv(path, index=False)  # plain lon/lat columns: nothing in the file says GCJ-02
    return path


def test_gcj02_facilities_told_from_the_roads(tmp_path: Path, capsys):
    path = _demo_facilities_in_gcj02(tmp_path)
    with pytest.warns(
        InputWarning,
        match=r"look like GCJ-02 .* from a median 18\d m to 1\d m from the nearest "
        r"road. Fix: .*facilities_crs='gcj02'",
    ):
        pipeline.load_dataset(roads=DEMO_ROADS, facilities=path, boundaries=DEMO_BOUNDARIES)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error", InputWarning
        )  # converted as the message says: silent and right
        ds = pipeline.load_dataset(
            roads=DEMO_ROADS, facilities=path, boundaries=DEMO_BOUNDARIES, facilities_crs="gcj02"
        )
        demo = pipeline.load_dataset(
            roads=DEMO_ROADS, facilities=DEMO_FACILITIES, boundaries=DEMO_BOUNDARIES
        )
    np.testing.assert_allclose(
        shapely.get_coordinates(ds.facilities.geometry.values),
        shapely.get_coordinates(demo.facilities.geometry.values),
        atol=1e-6,
    )
    # the CLI says it with its own option
    args = cli.build_parser().parse_args(
        [
            "coverage",
            "--roads",
            str(DEMO_ROADS),
            "--facilities",
            str(path),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    with cli._cli_warnings(args):
        cli._load(args)
    err = capsys.readouterr().err
    assert (
        "planner: warning:" in err
        and "pass --facilities-crs gcj02" in err
        and "facilities_crs" not in err
    )


def test_gcj02_test_is_quiet_on_wgs84_and_far_data():
    ds = pipeline.load_dataset(roads=DEMO_ROADS, facilities=DEMO_FACILITIES)
    d = _validate.gcj02_offset_test(ds.roads, ds.facilities)
    assert (
        d is not None
        and d["as_is"] < d["undone"]
        and _validate.looks_like_gcj02(ds.roads, ds.facilities) is None
    )
    abroad = ds.facilities.set_geometry(
        ds.facilities.geometry.translate(xoff=-100.0)
    )  # outside China
    assert _validate.gcj02_offset_test(ds.roads, abroad) is None


def test_app_shows_the_loaders_warnings(tmp_path: Path):
    from planner import app as aps

    fac = pd.read_csv(DEMO_FACILITIES, dtype={"id": str}).head(20)
    fac.loc[0, "name"], fac.loc[0, "type"] = "示范县宠物医院", ""
    fac["gcj02_lon"], fac["gcj02_lat"] = _chinacrs.wgs84_to_gcj02(
        fac.pop("lon").to_numpy(), fac.pop("lat").to_numpy()
    )
    path = tmp_path / "amap_export.csv"
    fac.to_csv(path, index=False)
    ds = aps.load_data(Scenario(roads=str(DEMO_ROADS), facilities=str(path)))
    shown = ds.sources["warnings"]
    assert "'gcj02_lon'/'gcj02_lat' are named as GCJ-02" in shown and "animal hospitals" in shown
    assert ds.facilities.loc[0, "tier"] == "other"
    demo = pd.read_csv(DEMO_FACILITIES).head(20)
    np.testing.assert_allclose(
        ds.facilities.geometry.x.to_numpy(), demo["lon"].to_numpy(), atol=1e-7
    )
