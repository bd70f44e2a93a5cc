"""The app's upload helpers (planner/app/uploads*.py): an upload's own coordinate system, the
user's choice, GCJ-02 hints, column guessing and mapping, the normalised copy the app reads.

Each reading through the app's helpers is compared with planner's readers called directly
with the same parameters, and coordinates with the forward GCJ-02/BD-09 formulas.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner import _chinacrs, popspread
from planner.app import uploads, uploads_columns, uploads_crs, uploads_panel
from planner.app.uploads_columns import UploadOptions
from planner.app.uploads_crs import UploadProblem
from planner.i18n import Translator

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)}")
    return p


def copy_shapefile(folder: str, stem: str, dest: Path) -> Path:
    """The shapefile's parts copied to ``dest`` (as the app stores an unzipped upload)."""
    src = shared(folder, f"{stem}.shp")
    for part in src.parent.glob(f"{stem}.*"):
        shutil.copy(part, dest / part.name)
    return dest / f"{stem}.shp"


# ------------------------------------------------------------------------------------------
# Coordinate systems
# ------------------------------------------------------------------------------------------


def test_file_crs_says_what_each_file_names(tmp_path):
    pts = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(500000, 3800000)], crs=4547)
    pts.to_file(tmp_path / "p.gpkg", engine="pyogrio")
    info = uploads_crs.file_crs(tmp_path / "p.gpkg")
    assert (info.crs, info.origin, info.projected) == ("EPSG:4547", "gpkg", True)

    pts.to_file(tmp_path / "p.shp", engine="pyogrio")
    assert uploads_crs.file_crs(tmp_path / "p.shp").crs == "EPSG:4547"
    (tmp_path / "p.prj").unlink()  # a shapefile without .prj has none
    assert uploads_crs.file_crs(tmp_path / "p.shp").origin == "none"

    # GeoJSON: WGS-84 by the standard unless it has a crs member
    (tmp_path / "plain.geojson").write_text(
        '{"type": "FeatureCollection", "features": []}', encoding="utf-8"
    )
    plain = uploads_crs.file_crs(tmp_path / "plain.geojson")
    assert (plain.crs, plain.origin) == ("EPSG:4326", "geojson_default")
    pts.to_file(tmp_path / "m.geojson", engine="pyogrio", RFC7946="NO")
    named = uploads_crs.file_crs(tmp_path / "m.geojson")
    assert (named.crs, named.origin) == ("EPSG:4547", "geojson")

    assert uploads_crs.file_crs(tmp_path / "f.csv").origin == "table"
    assert uploads_crs.file_crs(tmp_path / "r.osm.pbf").origin == "osm"


def test_file_crs_of_the_real_files():
    longshan = uploads_crs.file_crs(shared("longshan", "hospitals.shp"))
    assert (longshan.crs, longshan.origin) == ("EPSG:3857", "prj")
    changsha = uploads_crs.file_crs(shared("changsha", "roads.shp"))
    # a custom projection without EPSG code: its WKT, named after the projection
    assert changsha.origin == "prj" and changsha.projected
    assert "Equidistant_Cylindrical" in changsha.label and not changsha.crs.startswith("EPSG")
    kaifeng = uploads_crs.file_crs(shared("kaifeng", "districts_gcj02.geojson"))
    assert kaifeng.origin == "geojson_default"


@pytest.mark.parametrize(
    ("choice", "code", "expected"),
    [
        ("file", "", None),
        ("wgs84", "", "wgs84"),
        ("gcj02", "", "gcj02"),
        ("bd09", "", "bd09"),
        ("epsg", "3857", "EPSG:3857"),
        ("epsg", " EPSG:4547 ", "EPSG:4547"),
        ("epsg", "epsg 4326", "EPSG:4326"),
    ],
)
def test_crs_argument(choice, code, expected):
    assert uploads_crs.crs_argument(choice, code) == expected


@pytest.mark.parametrize("code", ["abc", "", "EPSG:", "99999"])
def test_bad_epsg_codes_are_refused_in_the_users_words(code):
    with pytest.raises(UploadProblem, match="EPSG") as exc:
        uploads_crs.crs_argument("epsg", code)
    assert exc.value.key == "crs_bad_epsg"
    zh = Translator("zh")(exc.value.key, **exc.value.fields)
    assert "EPSG 代码" in zh and "4547" in zh
    with pytest.raises(planner.InputError, match="choice"):
        uploads_crs.crs_argument("mercator")


def test_web_map_hints(tmp_path):
    assert uploads_crs.web_map_hint("districts_gcj02.geojson")[0] == "gcj02"
    assert uploads_crs.web_map_hint("百度坐标点.csv")[0] == "bd09"
    assert uploads_crs.web_map_hint("f.csv", columns=["名称", "高德经度", "高德纬度"]) == (
        "gcj02",
        "高德经度",
    )
    note = tmp_path / "b.geojson"
    note.write_text(
        '{"type": "FeatureCollection", "crs_note": "Amap coordinates", "features": []}',
        encoding="utf-8",
    )
    assert uploads_crs.web_map_hint("b.geojson", note)[0] == "gcj02"
    assert uploads_crs.web_map_hint("roads.geojson", columns=["name", "fclass"]) == ("", "")


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_typed_coordinates_are_converted_to_wgs84(system):
    lon, lat = 114.3416, 34.7971  # WGS-84
    glon, glat = _chinacrs.wgs84_to_gcj02(lon, lat)  # the forward formula, as Amap shows it
    if system == "bd09":
        glon, glat = _chinacrs.gcj02_to_bd09(glon, glat)
    assert abs(float(glon) - lon) > 1e-3  # the offset is real (hundreds of metres)
    back = uploads_crs.typed_point_wgs84(float(glon), float(glat), system)
    assert back == pytest.approx((lon, lat), abs=1e-7)
    assert uploads_crs.typed_point_wgs84(lon, lat, "wgs84") == (lon, lat)
    with pytest.raises(planner.CRSError, match="typed"):
        uploads_crs.typed_point_wgs84(lon, lat, "EPSG:3857")


# ------------------------------------------------------------------------------------------
# Columns
# ------------------------------------------------------------------------------------------


def test_guess_columns_and_what_is_missing():
    fac = pd.DataFrame({"机构名称": ["城关镇卫生院"], "高德经度": ["114.3"], "高德纬度": ["34.8"]})
    g = uploads_columns.guess_columns("facilities", fac)
    assert (g["lon"], g["lat"], g["name"], g["type"]) == ("高德经度", "高德纬度", "机构名称", "")
    assert uploads_columns.missing_fields("facilities", g) == []

    odd = pd.DataFrame({"机构": ["a"], "E": ["114.3"], "N": ["34.8"]})
    g = uploads_columns.guess_columns("facilities", odd)
    assert uploads_columns.missing_fields("facilities", g) == ["lon", "lat", "type"]
    # a file with geometry needs no coordinate columns
    assert uploads_columns.missing_fields("facilities", g, has_geometry=True) == ["type"]
    # two columns that could be longitudes: no guess
    two = pd.DataFrame({"lon_gcj": ["1"], "lon_bd": ["2"], "lat": ["3"]})
    assert uploads_columns.guess_columns("facilities", two)["lon"] == ""

    bnd = pd.DataFrame({"adcode": ["410200"], "district": ["x"]})
    assert uploads_columns.guess_columns("boundaries", bnd)["code"] == "adcode"
    assert uploads_columns.missing_fields("boundaries", {"code": ""}) == ["code"]


def test_road_class_is_guessed_by_its_values():
    # Changsha-like: 'type' (201 for every road) comes first by name but maps to nothing;
    # 'subtype' holds the road class codes
    roads = pd.DataFrame(
        {"type": ["201"] * 4, "subtype": ["20104", "20105", "20199", "20104"], "等级名": ["a"] * 4}
    )
    assert uploads_columns.guess_columns("roads", roads)["class"] == "subtype"
    cn = pd.DataFrame({"道路类别": ["国道", "省道", "县道", "乡道"], "x": ["1", "2", "3", "4"]})
    assert uploads_columns.guess_columns("roads", cn)["class"] == "道路类别"
    none = pd.DataFrame({"foo": ["a", "b"], "bar": ["1", "2"]})
    g = uploads_columns.guess_columns("roads", none)
    assert g["class"] == "" and uploads_columns.missing_fields("roads", g) == ["class"]


def test_direction_map():
    assert uploads_columns.direction_map({"1": "along", "2": "against", "3": "both"}) == {
        "1": 1,
        1: 1,
        "2": -1,
        2: -1,
        "3": 0,
        3: 0,
    }
    assert uploads_columns.direction_map({"F": "along", "T": "auto"}) == {"F": 1}
    assert uploads_columns.direction_map({"1": "auto"}) is None


def test_read_sample_decodes_a_gbk_shapefile(tmp_path):
    shp = copy_shapefile("longshan", "hospitals", tmp_path)
    sample, has_geometry = uploads_columns.read_sample(shp)
    assert has_geometry and len(sample) == 59
    assert sample["NAME"].str.contains("卫生院").sum() > 10  # GBK read right, not mojibake
    with pytest.raises(UploadProblem) as exc:
        bad = tmp_path / "bad.gpkg"
        bad.write_bytes(b"not a geopackage")
        uploads_columns.read_sample(bad)
    assert exc.value.key == "upload_unreadable" and str(tmp_path) not in str(exc.value)


# ------------------------------------------------------------------------------------------
# Reading with the chosen columns: the normalised copy reads back as planner reads the original
# ------------------------------------------------------------------------------------------


def facilities_csv(tmp_path: Path) -> Path:
    df = pd.DataFrame(
        {
            "机构": ["城关镇卫生院", "东村卫生室", "新区社区卫生服务站"],
            "类别码": ["卫生院", "村卫生室", "社区卫生服务站"],
            "E": [114.30, 114.31, 114.32],
            "N": [34.80, 34.81, 34.82],
            "层级": ["township_center", "village_clinic", "village_clinic"],
        }
    )
    path = tmp_path / "fac.csv"
    df.to_csv(path, index=False, encoding="gbk")
    return path


def test_facilities_with_mapped_columns_and_gcj02(tmp_path):
    path = facilities_csv(tmp_path)
    with pytest.raises(planner.InputError):
        planner.read_facilities(path)  # the reader alone does not find the coordinates
    columns = {"lon": "E", "lat": "N", "name": "机构", "type": "类别码"}
    opts = UploadOptions(crs="gcj02", columns=columns)
    prepared = uploads_columns.prepare_upload("facilities", path, opts)
    assert prepared.path.suffix == ".gpkg" and prepared.path != path
    again = planner.read_facilities(prepared.path)  # what load_dataset reads, no options
    direct = planner.read_facilities(
        path, crs="gcj02", lon_column="E", lat_column="N", name_column="机构", type_column="类别码"
    )
    assert again["tier"].tolist() == direct["tier"].tolist()
    assert again["name"].tolist() == ["城关镇卫生院", "东村卫生室", "新区社区卫生服务站"]
    # converted from GCJ-02: the forward formula gives the file's coordinates back
    x, y = _chinacrs.wgs84_to_gcj02(again.geometry.x.to_numpy(), again.geometry.y.to_numpy())
    assert np.allclose(x, [114.30, 114.31, 114.32], atol=1e-8)
    assert np.allclose(y, [34.80, 34.81, 34.82], atol=1e-8)
    # the same options give the same copy (content- and option-addressed)
    assert uploads_columns.prepare_upload("facilities", path, opts).path == prepared.path
    other = uploads_columns.prepare_upload("facilities", path, UploadOptions(columns=columns))
    assert other.path != prepared.path


def test_a_tier_column_survives_the_copy(tmp_path):
    path = facilities_csv(tmp_path)
    columns = {"lon": "E", "lat": "N", "name": "机构", "tier": "层级"}
    prepared = uploads_columns.prepare_upload("facilities", path, UploadOptions(columns=columns))
    again = planner.read_facilities(prepared.path)
    # the third is a community station by its name, a village clinic by the tier column
    assert again["tier"].tolist() == ["township_center", "village_clinic", "village_clinic"]
    assert again["source_type"].tolist()[2] == ""


def test_roads_with_mapped_columns_and_one_way_codes(tmp_path):
    lines = [shapely.LineString([(0, 0), (1000, 0)]), shapely.LineString([(0, 0), (0, 1000)])]
    lines.append(shapely.LineString([(1000, 0), (1000, 1000)]))
    roads = gpd.GeoDataFrame(
        {"道路类别": ["国道", "县道", "乡道"], "通行": [3, 1, 2]}, geometry=lines, crs=4547
    )
    roads = roads.set_geometry(roads.translate(500000, 3800000))
    path = tmp_path / "r.gpkg"
    roads.to_file(path, engine="pyogrio")
    sample, _ = uploads_columns.read_sample(path)
    g = uploads_columns.guess_columns("roads", sample)
    assert g["class"] == "道路类别" and g["direction"] == ""  # 通行 is not a known name
    # not required, but said (every road would be two-way)
    assert uploads_columns.unrecognised_fields("roads", g) == ["direction"]
    assert uploads_columns.direction_values(path, "通行") == ["3", "1", "2"]
    # the app's choices: the one-way column and what each of its codes means
    insp = uploads_panel.inspect_upload("roads", path, "r.gpkg")
    assert insp.missing == ()
    state = {f"w_col_{insp.key}_direction": "通行"}
    state |= {
        f"w_dir_{insp.key}_{v}": c for v, c in (("3", "both"), ("1", "along"), ("2", "against"))
    }
    opts = uploads_panel.upload_options(insp, state)
    # the class column is passed too: planner finds it by its values only through the app
    assert dict(opts.columns) == {"class": "道路类别", "direction": "通行"}
    prepared = uploads_columns.prepare_upload("roads", path, opts)
    again = planner.read_roads(prepared.path)
    direct = planner.read_roads(
        path, class_column="道路类别", direction_column="通行", direction_map={1: 1, 2: -1, 3: 0}
    )
    assert again["oneway"].tolist() == direct["oneway"].tolist() == [0, 1, -1]
    assert again["highway"].tolist() == ["trunk", "secondary", "tertiary"]
    assert again.geometry.geom_equals_exact(direct.geometry, 1e-9).all()


def test_population_tables_and_points(tmp_path):
    table = tmp_path / "pop.csv"
    pd.DataFrame({"乡镇代码": ["410221100", "410221101"], "常住人口": [1200, 800]}).to_csv(
        table, index=False
    )
    sample, has_geometry = uploads_columns.read_sample(table)
    assert uploads_columns.is_population_table(sample, has_geometry)  # no coordinates
    g = uploads_columns.guess_columns("population_table", sample)
    assert uploads_columns.missing_fields("population_table", g) == ["code"]
    opts = UploadOptions(columns={"code": "乡镇代码", "population": "常住人口"})
    copy = uploads_columns.prepare_upload("population", table, opts).path
    assert popspread.looks_like_population_table(copy)  # what load_dataset spreads
    assert pd.read_csv(copy, dtype=str).to_dict("list") == {
        "admin_code": ["410221100", "410221101"],
        "population": ["1200", "800"],
    }

    coded = tmp_path / "coded.csv"
    pd.DataFrame({"区划代码": ["410221100"], "人数": [1200]}).to_csv(coded, index=False)
    sample, has_geometry = uploads_columns.read_sample(coded)
    assert uploads_columns.is_population_table(sample, has_geometry)
    g = uploads_columns.guess_columns("population_table", sample)
    assert g == {"code": "区划代码", "population": "", "name": ""}
    copy = uploads_columns.prepare_upload(
        "population", coded, UploadOptions(columns={"population": "人数"})
    ).path
    assert popspread.looks_like_population_table(copy)
    assert pd.read_csv(copy, dtype=str).columns.tolist() == ["区划代码", "population"]

    points = tmp_path / "pts.csv"
    pd.DataFrame({"东经": [114.30, 114.31], "北纬": [34.80, 34.81], "人数": [100, 250]}).to_csv(
        points, index=False
    )
    sample, _ = uploads_columns.read_sample(points)
    g = uploads_columns.guess_columns("population", sample)
    assert (g["lon"], g["lat"], g["population"]) == ("东经", "北纬", "")
    opts = UploadOptions(columns={"lon": "东经", "lat": "北纬", "population": "人数"})
    pop = planner.read_population(uploads_columns.prepare_upload("population", points, opts).path)
    assert pop["population"].sum() == pytest.approx(350.0)


# ------------------------------------------------------------------------------------------
# The real files of the issue
# ------------------------------------------------------------------------------------------


def zipped(folder: str, stem: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(shared(folder, f"{stem}.shp").parent.glob(f"{stem}.*")):
            zf.write(p, p.name)
    return buf.getvalue()


def test_longshan_zip_reads_its_prj(tmp_path):
    path = uploads.store_upload(
        "facilities", "hospitals.zip", zipped("longshan", "hospitals"), tmp_path
    )
    insp = uploads_panel.inspect_upload("facilities", path, "hospitals.zip")
    assert insp.file.crs == "EPSG:3857" and insp.missing == ()
    opts = uploads_panel.upload_options(insp, {})  # the defaults: the file's own CRS
    assert opts.is_default()
    fac = planner.read_facilities(uploads_columns.prepare_upload("facilities", path, opts).path)
    assert len(fac) == 59
    assert len(planner.read_facilities(shared("longshan", "hospitals.shp"))) == 59
    # forcing WGS-84 on metres is refused with the fix (the old app's failure)
    with pytest.raises(planner.InputError, match="EPSG:3857") as exc:
        uploads_columns.prepare_upload("facilities", path, UploadOptions(crs="wgs84"))
    text = uploads.upload_error(exc.value, Translator("zh"), file="hospitals.zip", names={})
    assert text.startswith("“hospitals.zip”的坐标不对") and str(tmp_path) not in text


def test_changsha_roads_through_the_mapping(tmp_path):
    path = uploads.store_upload("roads", "roads.zip", zipped("changsha", "roads"), tmp_path)
    insp = uploads_panel.inspect_upload("roads", path, "roads.zip")
    assert insp.guesses["class"] == "subtype" and insp.guesses["direction"] == "direction"
    state = {f"w_dir_{insp.key}_{v}": "along" for v in ("1", "2")} | {f"w_dir_{insp.key}_3": "both"}
    opts = uploads_panel.upload_options(insp, state)
    assert opts.direction_map == {"1": 1, 1: 1, "2": 1, 2: 1, "3": 0, 3: 0}
    roads = planner.read_roads(uploads_columns.prepare_upload("roads", path, opts).path)
    direct = planner.read_roads(shared("changsha", "roads.shp"), direction_map={1: 1, 2: 1, 3: 0})
    assert len(roads) == len(direct) == 2257
    assert roads["oneway"].tolist() == direct["oneway"].tolist()
    assert roads["highway"].tolist() == direct["highway"].tolist()
    # coded 2 against the line instead: those carriageways turn round
    state[f"w_dir_{insp.key}_2"] = "against"
    against = planner.read_roads(
        uploads_columns.prepare_upload(
            "roads", path, uploads_panel.upload_options(insp, state)
        ).path
    )
    import pyogrio

    codes = pyogrio.read_dataframe(
        shared("changsha", "roads.shp"), columns=["direction"], read_geometry=False
    )["direction"]
    assert (against["oneway"] == -1).tolist() == (codes == 2).tolist()
    assert (codes == 2).sum() > 0


def kaifeng_centroid_offsets(path: Path) -> pd.Series:
    wgs = planner.read_boundaries(shared("kaifeng", "districts_wgs84.geojson"))
    got = planner.read_boundaries(path)
    a = wgs.set_index("admin_code").to_crs(32650).centroid
    b = got.set_index("admin_code").to_crs(32650).centroid
    common = a.index.intersection(b.index)
    assert len(common) >= 10
    return b.loc[common].distance(a.loc[common])


def test_kaifeng_gcj02_boundaries_hint_and_conversion(tmp_path):
    src = shared("kaifeng", "districts_gcj02.geojson")
    path = uploads.store_upload("boundaries", src.name, src.read_bytes(), tmp_path)
    insp = uploads_panel.inspect_upload("boundaries", path, src.name)
    assert insp.hint[0] == "gcj02"
    as_is = uploads_columns.prepare_upload(
        "boundaries", path, uploads_panel.upload_options(insp, {})
    )
    assert kaifeng_centroid_offsets(as_is.path).median() > 450  # ~500 m off, as the issue says
    state = {uploads_panel.crs_widget_key(insp): "gcj02"}
    converted = uploads_columns.prepare_upload(
        "boundaries", path, uploads_panel.upload_options(insp, state)
    )
    # the districts: within ~10 m; the two whose outlines differ most between sources ~50 m
    assert kaifeng_centroid_offsets(converted.path).max() < 100


def test_upload_options_ask_for_missing_columns_and_good_codes(tmp_path):
    path = facilities_csv(tmp_path)
    insp = uploads_panel.inspect_upload("facilities", path, "机构表.csv")
    assert insp.missing == ("lon", "lat", "type")  # nothing to tell the tiers by, either
    with pytest.raises(UploadProblem) as exc:
        uploads_panel.upload_options(insp, {f"w_col_{insp.key}_lon": "E"})
    assert exc.value.key == "need_columns" and exc.value.fields["fields"] == "lat, type"
    state = {f"w_col_{insp.key}_{k}": v for k, v in (("lon", "E"), ("lat", "N"), ("name", "机构"))}
    opts = uploads_panel.upload_options(insp, state)
    assert dict(opts.columns) == {"lon": "E", "lat": "N", "name": "机构"} and opts.crs is None
    state[uploads_panel.crs_widget_key(insp)] = "epsg"
    state[f"w_epsg_{insp.key}"] = "no code"
    with pytest.raises(UploadProblem, match="EPSG"):
        uploads_panel.upload_options(insp, state)


def test_errors_name_the_file_and_never_a_server_path(tmp_path):
    stored = tmp_path / "facilities" / "0123abcd" / "fac.csv"
    err = planner.CRSError(f"{stored}: none of the 3 facilities lies inside the boundaries.")
    for lang, words in (("zh", "坐标系"), ("en", "coordinate system")):
        text = uploads.upload_error(
            err, Translator(lang), file="机构表.csv", names={str(stored): "机构表.csv"}
        )
        assert "机构表.csv" in text and words in text and str(tmp_path) not in text
    text = uploads.scrub_paths(f"read {stored} and /srv/x/y.gpkg; see https://epsg.io/4547")
    assert text == "read fac.csv and y.gpkg; see https://epsg.io/4547"


def test_every_upload_string_is_in_both_languages():
    from planner.i18n import STRINGS

    keys = {f"field_{f.key}" for fields in uploads_columns.FIELDS.values() for f in fields}
    keys |= {f"crs_{c}" for c in uploads_crs.CRS_CHOICES if c != "file"}
    keys |= {f"dir_{c}" for c in uploads_columns.DIRECTION_CHOICES}
    keys |= {f"map_columns_optional_{k}" for ks in uploads_columns.EXPECTED.values() for k in ks}
    origins = ("prj", "gpkg", "geojson", "geojson_default", "raster", "osm", "table", "none")
    keys |= {f"crs_found_{o}" for o in origins}
    for key in sorted(keys):
        assert set(STRINGS[key]) == {"zh", "en"}, key


def test_projected_coordinate_columns_with_an_epsg_code(tmp_path):
    import pyproj

    to_gk = pyproj.Transformer.from_crs(4326, 4547, always_xy=True)  # independent of planner
    x, y = to_gk.transform([114.30, 114.31], [34.80, 34.81])
    path = tmp_path / "gk.csv"
    pd.DataFrame({"名称": ["城关镇卫生院", "东村卫生室"], "东坐标": x, "北坐标": y}).to_csv(
        path, index=False
    )
    insp = uploads_panel.inspect_upload("facilities", path, "gk.csv")
    assert insp.missing == ("lon", "lat")
    state = {
        uploads_panel.crs_widget_key(insp): "epsg",
        f"w_epsg_{insp.key}": "4547",
        f"w_col_{insp.key}_lon": "东坐标",
        f"w_col_{insp.key}_lat": "北坐标",
    }
    opts = uploads_panel.upload_options(insp, state)
    # metres: the reader's x/y columns, with the chosen CRS
    assert uploads_columns.reader_kwargs("facilities", opts, projected=True) == {
        "crs": "EPSG:4547",
        "x_column": "东坐标",
        "y_column": "北坐标",
    }
    fac = planner.read_facilities(uploads_columns.prepare_upload("facilities", path, opts).path)
    assert np.allclose(fac.geometry.x, [114.30, 114.31], atol=1e-8)
    assert np.allclose(fac.geometry.y, [34.80, 34.81], atol=1e-8)


def test_copies_of_different_uploads_stay_apart_in_saved_scenarios(tmp_path):
    from planner.app import scenarios
    from planner.scenario import Scenario

    opts = UploadOptions(crs="gcj02")
    saved = []
    for i, lon in enumerate((114.30, 114.40)):
        data = pd.DataFrame({"name": ["城关镇卫生院"], "lon": [lon], "lat": [34.8]}).to_csv(
            index=False
        )
        stored = uploads.store_upload("facilities", "fac.csv", data.encode(), tmp_path / "up")
        copy = uploads_columns.prepare_upload("facilities", stored, opts).path
        sc = Scenario(name=f"s{i}", roads="r.osm", facilities=str(copy))
        saved.append(scenarios.persist_uploads(sc, tmp_path / "scn"))
    assert saved[0].facilities != saved[1].facilities
    lons = [planner.read_facilities(s.facilities).geometry.x.iloc[0] for s in saved]
    expected = [float(_chinacrs.gcj02_to_wgs84(lon, 34.8)[0]) for lon in (114.30, 114.40)]
    assert lons == pytest.approx(expected, abs=1e-9)
