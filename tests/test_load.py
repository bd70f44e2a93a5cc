"""Tests of planner.load: roads, facilities, boundaries, population, CRS and encodings."""

from __future__ import annotations

import bz2
import gzip
import math
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner import CRSError, InputError, InputFileError, _osm, _readfile, load
from planner import _chinacrs as cc
from planner.standards import TIERS

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def need(*parts: str) -> Path:
    """Path of a shared real-data file, or skip the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path.resolve()}")
    return path


def check_roads_contract(roads: gpd.GeoDataFrame) -> None:
    assert roads.crs.to_epsg() == 4326
    assert {"highway", "oneway", "maxspeed_kmh", "name"} <= set(roads.columns)
    assert roads["oneway"].dtype == np.int8
    assert set(np.unique(roads["oneway"])) <= {-1, 0, 1}
    assert roads["maxspeed_kmh"].dtype == float
    assert pd.api.types.is_string_dtype(roads["name"]) and roads["name"].notna().all()
    assert pd.api.types.is_string_dtype(roads["highway"]) and (roads["highway"] != "").all()
    assert (roads.geom_type == "LineString").all()
    assert not shapely.has_z(roads.geometry.to_numpy()).any()
    assert isinstance(roads.index, pd.RangeIndex)


# =============================================================================================
# roads: OSM
# =============================================================================================

OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="planner-tests">
 <node id="1" lat="34.800" lon="114.300"/>
 <node id="2" lat="34.801" lon="114.301"/>
 <node id="3" lat="34.802" lon="114.302"/>
 <node id="4" lat="34.803" lon="114.303"/>
 <node id="5" lat="34.804" lon="114.304"/>
 <node id="6" lat="34.805" lon="114.305"/>
 <node id="7" lat="34.806" lon="114.306"/>
 <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
  <tag k="highway" v="primary"/><tag k="maxspeed" v="60"/><tag k="name" v="中山路"/></way>
 <way id="101"><nd ref="1"/><nd ref="2"/><nd ref="999"/><nd ref="3"/><nd ref="4"/><nd ref="998"/><nd ref="5"/>
  <tag k="highway" v="residential"/><tag k="oneway" v="-1"/><tag k="maxspeed" v="30 mph"/></way>
 <way id="102"><nd ref="4"/><nd ref="5"/><nd ref="6"/><nd ref="4"/>
  <tag k="building" v="yes"/></way>
 <way id="103"><nd ref="5"/><nd ref="6"/>
  <tag k="highway" v="construction"/></way>
 <way id="104"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="5"/>
  <tag k="highway" v="pedestrian"/><tag k="area" v="yes"/></way>
 <way id="105"><nd ref="6"/><nd ref="7"/>
  <tag k="highway" v="tertiary"/><tag k="junction" v="roundabout"/><tag k="maxspeed" v="CN:urban"/>
  <tag k="name:zh" v="环岛"/></way>
 <way id="106"><nd ref="2"/><nd ref="6"/>
  <tag k="highway" v="motorway"/><tag k="ref" v="G30"/><tag k="maxspeed" v="120 km/h"/></way>
 <way id="107"><nd ref="3"/><nd ref="7"/>
  <tag k="highway" v="service"/><tag k="oneway" v="yes"/><tag k="maxspeed" v="none"/></way>
 <way id="108"><nd ref="997"/><nd ref="996"/><nd ref="1"/>
  <tag k="highway" v="footway"/></way>
 <way id="109"><nd ref="3"/><nd ref="3"/>
  <tag k="highway" v="path"/></way>
 <way id="110"><nd ref="1"/><nd ref="7"/>
  <tag k="highway" v="bus_stop"/></way>
</osm>
"""


@pytest.fixture
def osm_xml(tmp_path: Path) -> Path:
    path = tmp_path / "small.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def test_osm_xml_small(osm_xml: Path):
    roads = load.read_roads(osm_xml)
    check_roads_contract(roads)
    assert roads["osm_id"].dtype == np.int64
    # way 101 is cut at its two missing nodes into 1-2, 3-4 (5 alone is dropped);
    # 102 (building), 103 (construction), 104 (area), 108 (one present node),
    # 109 (one distinct point) and 110 (bus_stop) are not roads
    assert roads["osm_id"].tolist() == [100, 101, 101, 105, 106, 107]
    by = roads.set_index(roads.index)
    assert by.loc[0, "highway"] == "primary" and by.loc[0, "maxspeed_kmh"] == 60
    assert by.loc[0, "name"] == "中山路" and by.loc[0, "oneway"] == 0
    assert shapely.get_num_points(by.loc[0, "geometry"]) == 3
    cut = roads[roads["osm_id"] == 101]
    assert cut["oneway"].tolist() == [-1, -1]
    assert cut["maxspeed_kmh"].iloc[0] == pytest.approx(30 * 1.609344)
    np.testing.assert_allclose(
        shapely.get_coordinates(cut.geometry.iloc[0]), [[114.300, 34.800], [114.301, 34.801]]
    )
    np.testing.assert_allclose(
        shapely.get_coordinates(cut.geometry.iloc[1]), [[114.302, 34.802], [114.303, 34.803]]
    )
    rb = roads[roads["osm_id"] == 105].iloc[0]
    assert rb["oneway"] == 1 and rb["maxspeed_kmh"] == 50 and rb["name"] == "环岛"
    mw = roads[roads["osm_id"] == 106].iloc[0]
    assert mw["oneway"] == 0  # motorways are one-way only when tagged
    assert mw["name"] == "G30" and mw["maxspeed_kmh"] == 120
    sv = roads[roads["osm_id"] == 107].iloc[0]
    assert sv["oneway"] == 1 and math.isnan(sv["maxspeed_kmh"])
    # the OSM node id of every vertex (cut ways keep the ids of their present nodes)
    assert [ids.tolist() for ids in roads["node_ids"]] == [
        [1, 2, 3],
        [1, 2],
        [3, 4],
        [6, 7],
        [2, 6],
        [3, 7],
    ]
    assert all(ids.dtype == np.int64 for ids in roads["node_ids"])
    assert (roads["access"] == "").all() and pd.api.types.is_string_dtype(roads["foot"])


def test_osm_compressed_and_logging(tmp_path: Path, caplog):
    gz = tmp_path / "small.osm.gz"
    gz.write_bytes(gzip.compress(OSM_XML.encode()))
    b2 = tmp_path / "small.osm.bz2"
    b2.write_bytes(bz2.compress(OSM_XML.encode()))
    with caplog.at_level("INFO", logger="planner.load"):
        a = load.read_roads(gz)
    b = load.read_roads(b2)
    assert a["osm_id"].tolist() == b["osm_id"].tolist() == [100, 101, 101, 105, 106, 107]
    lines = [r for r in caplog.records if r.name == "planner.load"]
    assert len(lines) == 1 and lines[0].levelname == "INFO"  # one summary line per load
    text = lines[0].getMessage()
    assert "read 6 road lines" in text and "3 non-road ways dropped" in text
    assert "4 nodes are missing" in text and "1 ways cut" in text
    assert "1 ways with fewer than 2 present nodes dropped" in text


def test_osm_class_map_and_bbox(osm_xml: Path):
    roads = load.read_roads(osm_xml, class_map={"service": "unclassified"})
    assert roads.loc[roads["osm_id"] == 107, "highway"].item() == "unclassified"
    roads = load.read_roads(osm_xml, bbox=(114.2995, 34.7995, 114.3015, 34.8015))
    assert sorted(set(roads["osm_id"])) == [100, 101, 106]


@pytest.mark.parametrize("decl", ['<!DOCTYPE osm [<!ENTITY a "aaaa">]>', '<!ENTITY lol "lol">'])
def test_osm_xml_bomb_refused(tmp_path: Path, decl: str):
    text = OSM_XML.replace("<osm version", decl + "\n<osm version", 1)
    path = tmp_path / "bomb.osm"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"bomb\.osm: .*<!DOCTYPE> or <!ENTITY>.*Fix: export"):
        load.read_roads(path)
    gz = tmp_path / "bomb.osm.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(InputError, match="<!ENTITY>"):
        load.read_roads(gz)


def test_osm_broken_file(tmp_path: Path):
    path = tmp_path / "broken.osm.pbf"
    path.write_bytes(b"this is not a pbf file at all")
    with pytest.raises(InputFileError, match=r"broken\.osm\.pbf: cannot read the OSM file"):
        load.read_roads(path)


def _reference_osm_lines(path: Path):
    """Slow independent reference: every run of >= 2 present nodes of every road way."""
    import osmium

    out = []
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for w in fp:
        if not w.is_way():
            continue
        if w.tags.get("highway") in _osm._DROP_HIGHWAY or w.tags.get("area") == "yes":
            continue
        run: list[tuple[float, float]] = []
        for nd in [*w.nodes, None]:
            if nd is not None and nd.location.valid():
                pt = (nd.location.lon, nd.location.lat)
                if not run or run[-1] != pt:
                    run.append(pt)
            else:
                if len(run) >= 2:
                    out.append((w.id, run))
                run = []
    return out


@pytest.mark.parametrize(("name", "n_lines"), [("test.osm.pbf", 331), ("Helsinki.osm.pbf", 2461)])
def test_helsinki_pbf(name: str, n_lines: int):
    path = need("helsinki", name)
    roads = load.read_roads(path)
    check_roads_contract(roads)
    assert len(roads) == n_lines
    ref = _reference_osm_lines(path)
    assert roads["osm_id"].tolist() == [i for i, _ in ref]
    for geom, (_, coords) in zip(roads.geometry, ref, strict=True):
        np.testing.assert_allclose(shapely.get_coordinates(geom), coords)
    # one OSM node id per vertex
    assert np.array_equal(
        shapely.get_num_points(roads.geometry.to_numpy()), roads["node_ids"].map(len).to_numpy()
    )
    assert not roads["highway"].isin(["platform", "construction", "corridor", "elevator"]).any()
    lon0, lat0, lon1, lat1 = roads.total_bounds
    assert 24.5 < lon0 < lon1 < 27.5 and 60.0 < lat0 < lat1 < 60.7
    assert (roads["oneway"] == 1).sum() > 0


def test_helsinki_maxspeed_and_oneway():
    roads = load.read_roads(need("helsinki", "Helsinki.osm.pbf"))
    speeds = roads["maxspeed_kmh"].dropna()
    assert set(speeds.unique()) <= {5.0, 10.0, 20.0, 30.0, 40.0, 50.0}
    assert (speeds == 30).sum() > 400
    assert roads["oneway"].value_counts().to_dict().keys() <= {0, 1}


@pytest.mark.parametrize(
    ("text", "kmh"),
    [
        ("60", 60.0),
        ("60 km/h", 60.0),
        ("60km/h", 60.0),
        ("45 kph", 45.0),
        ("30 mph", 48.28032),
        ("10 knots", 18.52),
        ("CN:urban", 50.0),
        ("cn:rural", 70.0),
        ("RU:urban", 60.0),
        ("DE:zone30", 30.0),
        ("DE:zone:30", 30.0),
        ("XX:living_street", 20.0),
        ("walk", 5.0),
        ("60;80", 60.0),
        ("none", math.nan),
        ("signals", math.nan),
        ("variable", math.nan),
        ("", math.nan),
        (None, math.nan),
        (50, 50.0),
        (0, math.nan),
        ("12,5", 12.5),
    ],
)
def test_parse_maxspeed(text, kmh):
    got = load.parse_maxspeed(text)
    if math.isnan(kmh):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(kmh)


# =============================================================================================
# roads: vector files
# =============================================================================================


def test_changsha_roads():
    roads = load.read_roads(need("changsha", "roads.shp"))
    check_roads_contract(roads)
    assert len(roads) == 2257
    # direction 1 and 2 are both one-way along the digitised line, 3 both ways: nothing reversed
    assert roads["oneway"].value_counts().to_dict() == {0: 1477, 1: 780}
    assert roads["highway"].value_counts().to_dict() == {
        "residential": 804,
        "primary": 556,
        "secondary": 297,
        "primary_link": 287,
        "tertiary": 180,
        "trunk": 88,
        "motorway_link": 21,
        "motorway": 20,
        "unclassified": 4,
    }
    np.testing.assert_allclose(
        roads.total_bounds, [112.876163, 28.082290, 113.113531, 28.285289], atol=1e-5
    )
    assert (roads["name"] == "五一大道").sum() == 45
    assert (roads["name"] == "潇湘北路").sum() == 26
    # names cut mid-character decode with replacement characters, never crash
    assert roads["name"].str.contains("\ufffd").sum() == 894
    assert (roads["name"] == "").sum() == 739
    # other source columns kept; subtype/direction/name consumed
    assert {"width", "gbcode", "Shape_Leng"} <= set(roads.columns)
    assert "subtype" not in roads.columns and "direction" not in roads.columns


def _roundabouts(direction_map=None):
    """Per Changsha roundabout (subtype 20106): its ring edges in the drive network, whether each
    allows travel counter-clockwise (around the ring's own centre) and/or clockwise, the raw
    direction code of its line, and whether the ring can be driven all the way round."""
    import networkx as nx
    import pyogrio

    from planner.network import build_network

    path = need("changsha", "roads.shp")
    raw = pyogrio.read_dataframe(path, columns=["subtype", "direction"], read_geometry=False)
    roads = load.read_roads(path, direction_map=direction_map)
    assert len(raw) == len(roads)  # one line per row: row numbers match
    rows = np.flatnonzero(raw["subtype"].astype(str) == "20106")
    net = build_network(roads, "drive", largest_component=False)
    edges = np.flatnonzero(np.isin(net.edge_source, rows))
    touch = nx.Graph()
    touch.add_nodes_from(edges)
    for i in edges:
        for j in edges:
            if {net.edge_u[i], net.edge_v[i]} & {net.edge_u[j], net.edge_v[j]}:
                touch.add_edge(i, j)
    out = []
    for comp in nx.connected_components(touch):
        comp = sorted(comp)
        ring = shapely.polygonize(list(net.edge_geometry[comp])).geoms
        assert len(ring) == 1  # one closed ring (entry/exit spurs are dangles)
        ring = ring[0]
        centre = shapely.get_coordinates(ring.centroid)[0]
        on_ring = [
            i
            for i in comp
            if ring.exterior.distance(net.edge_geometry[i].interpolate(0.5, normalized=True)) < 0.01
        ]
        arcs, info = nx.DiGraph(), []
        for i in on_ring:
            c = shapely.get_coordinates(net.edge_geometry[i]) - centre
            sweep = np.unwrap(np.arctan2(c[:, 1], c[:, 0]))
            ccw_along = sweep[-1] > sweep[0]  # digitised u -> v counter-clockwise
            fwd, back = np.isfinite(net.edge_time_uv_s[i]), np.isfinite(net.edge_time_vu_s[i])
            if fwd:
                arcs.add_edge(net.edge_u[i], net.edge_v[i])
            if back:
                arcs.add_edge(net.edge_v[i], net.edge_u[i])
            info.append(
                {
                    "code": int(raw["direction"].iloc[net.edge_source[i]]),
                    "ccw": (fwd and ccw_along) or (back and not ccw_along),
                    "cw": (fwd and not ccw_along) or (back and ccw_along),
                }
            )
        around = nx.is_strongly_connected(arcs) and all(e["ccw"] for e in info)
        out.append((info, around))
    return out


def test_changsha_roundabouts_run_counter_clockwise():
    """Direction 1 and 2 are both one-way along the digitised line: the 9 roundabouts, digitised
    counter-clockwise under both codes, can be driven round counter-clockwise (right-hand
    traffic) and never clockwise."""
    rings = _roundabouts()
    assert len(rings) == 9
    edges = [e for info, _ in rings for e in info]
    assert {e["code"] for e in edges} == {1, 2} and sum(e["code"] == 2 for e in edges) >= 15
    assert all(e["ccw"] != e["cw"] for e in edges)  # every ring edge one-way
    # one line of the data itself (code 1, read the same under any reading of code 2) is
    # digitised clockwise; every other ring edge, code 1 or 2, runs counter-clockwise
    wrong = [e for e in edges if e["cw"]]
    assert len(wrong) == 1 and wrong[0]["code"] == 1
    assert sum(around for _, around in rings) == 8
    # the former reading (2 = against the line) turns every code-2 ring edge clockwise
    old = _roundabouts(direction_map={1: 1, 2: -1, 3: 0})
    old_edges = [e for info, _ in old for e in info]
    assert all(e["cw"] for e in old_edges if e["code"] == 2)
    assert sum(around for _, around in old) == 0


def test_changsha_with_utf8_cpg(tmp_path: Path):
    import shutil

    src = need("changsha", "roads.shp")
    for ext in (".shp", ".shx", ".dbf", ".prj"):
        shutil.copy(src.with_suffix(ext), tmp_path / f"roads{ext}")
    (tmp_path / "roads.cpg").write_text("UTF-8")
    roads = load.read_roads(tmp_path / "roads.shp")
    assert len(roads) == 2257 and (roads["name"] == "五一大道").sum() == 45
    assert load.read_roads(src, encoding="utf-8")["name"].str.contains("\ufffd").sum() == 894


def test_changsha_options():
    path = need("changsha", "roads.shp")
    # NavInfo-style: suppose 2 meant both ways and 3 one-way along the line
    roads = load.read_roads(
        path,
        class_map={20199: "unclassified", "20104": "trunk"},
        direction_map={1: 1, 2: 0, 3: 1},
        bbox=(112.95, 28.15, 113.0, 28.2),
    )
    assert 0 < len(roads) < 2257
    assert set(roads["oneway"].unique()) <= {0, 1}
    assert "residential" not in set(roads["highway"]) and "unclassified" in set(roads["highway"])
    assert "trunk" in set(roads["highway"])
    assert shapely.intersects(
        roads.geometry.to_numpy(), shapely.box(112.95, 28.15, 113.0, 28.2)
    ).all()


def _lines_frame(crs=4326):
    lines = [
        shapely.LineString([(113.00, 28.20), (113.01, 28.20)]),
        shapely.MultiLineString(
            [[(113.00, 28.21), (113.01, 28.21)], [(113.02, 28.21), (113.03, 28.21)]]
        ),
        shapely.LineString([(113.00, 28.22), (113.01, 28.23)]),
        shapely.LineString([(113.00, 28.24), (113.01, 28.24)]),
    ]
    g = gpd.GeoDataFrame(
        {
            "名称": ["五一大道", "芙蓉路", None, "京珠高速"],
            "等级": ["主干路", "支路", "乡道", "高速公路"],
            "dir": ["FT", "B", "TF", None],
            "限速": [60, None, 40, 120],
            "width": [20, 8, 6, 30],
        },
        geometry=lines,
        crs=4326,
    )
    return g.to_crs(crs)


def test_vector_roads_chinese_classes(tmp_path: Path):
    path = tmp_path / "roads.gpkg"
    _lines_frame(3857).to_file(path)
    roads = load.read_roads(path)
    check_roads_contract(roads)
    assert len(roads) == 5  # the MultiLineString is split
    assert roads["highway"].tolist() == [
        "primary",
        "residential",
        "residential",
        "tertiary",
        "motorway",
    ]
    assert roads["oneway"].tolist() == [1, 0, 0, -1, 0]
    assert roads["name"].tolist() == ["五一大道", "芙蓉路", "芙蓉路", "", "京珠高速"]
    np.testing.assert_allclose(roads["maxspeed_kmh"].to_numpy(), [60, np.nan, np.nan, 40, 120])
    assert roads["width"].tolist() == [20, 8, 8, 6, 30]
    np.testing.assert_allclose(
        shapely.get_coordinates(roads.geometry.iloc[0]), [[113.0, 28.2], [113.01, 28.2]], atol=1e-9
    )


def test_vector_roads_gcj02_and_no_crs(tmp_path: Path):
    g = _lines_frame()
    path = tmp_path / "nocrs.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "'crs' was not provided": intended
        g.set_crs(None, allow_override=True).to_file(path, encoding="UTF-8")
    for ext in (".prj",):
        p = path.with_suffix(ext)
        if p.exists():
            p.unlink()
    with pytest.raises(
        CRSError, match=r"nocrs\.shp: the data have no coordinate reference system\. Fix: pass crs="
    ):
        load.read_roads(path)
    roads = load.read_roads(path, crs="gcj02")
    x, y = cc.gcj02_to_wgs84(113.00, 28.20)
    np.testing.assert_allclose(
        shapely.get_coordinates(roads.geometry.iloc[0])[0], [x, y], atol=1e-9
    )
    roads = load.read_roads(path, crs="EPSG:4326")
    assert roads.geometry.iloc[0].coords[0] == pytest.approx((113.0, 28.2))
    with pytest.raises(CRSError, match="crs='bogus' is not a known coordinate reference system"):
        load.read_roads(path, crs="bogus")


def test_vector_roads_gbk_shapefile_without_cpg(tmp_path: Path):
    path = tmp_path / "gbk.shp"
    _lines_frame(3857).to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    roads = load.read_roads(path)
    assert roads["name"].iloc[0] == "五一大道"
    assert roads["highway"].iloc[0] == "primary"  # 主干路 decoded, mapped


def test_vector_roads_cpg_honoured(tmp_path: Path):
    path = tmp_path / "gbk_cpg.shp"
    _lines_frame().to_file(path, encoding="GBK")
    assert path.with_suffix(".cpg").exists()
    roads = load.read_roads(path)
    assert roads["name"].tolist()[:2] == ["五一大道", "芙蓉路"]


def test_vector_roads_encoding_override(tmp_path: Path):
    path = tmp_path / "gbk.shp"
    _lines_frame().to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    roads = load.read_roads(path, encoding="gbk")
    assert roads["name"].iloc[0] == "五一大道"


def test_vector_roads_unmapped_class(tmp_path: Path):
    g = _lines_frame()
    g["等级"] = ["主干路", "大路", "大路", "xx"]
    path = tmp_path / "r.geojson"
    g.to_file(path)
    with pytest.raises(
        InputError,
        match=r"r\.geojson: column '等级' has road classes that are not mapped.*'大路' \(2 rows\).*'xx' \(1 rows\).*rows 1, 2, 3.*Fix: pass class_map=",
    ):
        load.read_roads(path)
    roads = load.read_roads(path, default_class="unclassified")
    assert roads["highway"].tolist() == [
        "primary",
        "unclassified",
        "unclassified",
        "unclassified",
        "unclassified",
    ]
    roads = load.read_roads(path, class_map={"大路": "secondary", "xx": "track"})
    assert roads["highway"].tolist() == ["primary", "secondary", "secondary", "secondary", "track"]


def test_vector_roads_no_class_column(tmp_path: Path):
    g = _lines_frame().drop(columns=["等级"])
    path = tmp_path / "r.geojson"
    g.to_file(path)
    with pytest.raises(
        InputError,
        match=r"no road class column recognised.*columns are .*'名称'.*Fix: pass class_column=",
    ):
        load.read_roads(path)
    assert (load.read_roads(path, default_class="residential")["highway"] == "residential").all()
    with pytest.raises(
        InputError,
        match=r"class_column='kind_of_road' is not a column.*Fix: name the road class column",
    ):
        load.read_roads(path, class_column="kind_of_road")


def test_vector_roads_class_autodetect_skips_unmappable(tmp_path: Path):
    # like Changsha: 'type' is a constant code, 'subtype' holds the classes
    g = _lines_frame().drop(columns=["等级"])
    g["type"] = 201
    g["subtype"] = [20104, 20199, 20112, 20102]
    path = tmp_path / "r.geojson"
    g.to_file(path)
    roads = load.read_roads(path)
    assert roads["highway"].tolist() == [
        "primary",
        "residential",
        "residential",
        "tertiary",
        "motorway",
    ]
    assert roads["type"].tolist() == [201] * 5


def test_vector_roads_direction_values(tmp_path: Path):
    g = _lines_frame()
    g["dir"] = ["FT", "up", "down", "FT"]
    path = tmp_path / "r.geojson"
    g.to_file(path)
    with pytest.raises(
        InputError,
        match=r"column 'dir' has direction values that are not understood: 'up', 'down'.*Fix: pass direction_map=",
    ):
        load.read_roads(path)
    roads = load.read_roads(path, direction_map={"up": 1, "down": -1, "FT": 0})
    assert roads["oneway"].tolist() == [0, 1, 1, -1, 0]
    with pytest.raises(InputError, match="direction_map has values 2"):
        load.read_roads(path, direction_map={"up": 2, "down": -1})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 1, 2, 3], [0, 1, 1, 0]),  # Changsha coding: 1 and 2 both along the line
        ([-1, "2", 2.0, "3"], [-1, 1, 1, 0]),
        (["yes", "no", "-1", "true"], [1, 0, -1, 1]),
        (["B", "F", "T", "B"], [0, 1, -1, 0]),  # HERE style
        (["T", "F", "F", "T"], [1, 0, 0, 1]),  # a true/false flag
        (["FT", "TF", None, "1"], [1, -1, 0, 1]),
    ],
)
def test_direction_defaults(values, expected):
    oneway, unmapped = load.roads._map_direction(pd.Series(values, dtype=object), None)
    assert oneway.tolist() == expected and unmapped == []


def test_vector_roads_non_lines(tmp_path: Path):
    g = gpd.GeoDataFrame(
        {"highway": ["primary", "primary", "residential"]},
        geometry=[
            shapely.LineString([(0, 0), (1, 1)]),
            shapely.Point(0, 0),
            shapely.box(0, 0, 1, 1),
        ],
        crs=4326,
    )
    path = tmp_path / "mixed.gpkg"
    g.to_file(path)
    with pytest.raises(
        InputError,
        match=r"mixed\.gpkg: geometries are Point, Polygon, not lines, in rows 1, 2\. Fix: use a LineString",
    ):
        load.read_roads(path)


def test_read_roads_file_errors(tmp_path: Path):
    with pytest.raises(InputFileError, match="roads file not found"):
        load.read_roads(tmp_path / "nope.shp")
    bad = tmp_path / "roads.txt"
    bad.write_text("x")
    with pytest.raises(InputError, match="unsupported roads file type"):
        load.read_roads(bad)
    with pytest.raises(InputError, match=r"bbox=\(1, 2\) is not \(min_lon"):
        load.read_roads(need("changsha", "roads.shp"), bbox=(1, 2))


def test_roads_from_osmnx_edges():
    edges = gpd.GeoDataFrame(
        {
            "osmid": [[10, 11], 12, 13],
            "highway": [["residential", "tertiary"], "primary", "service"],
            "oneway": [False, True, False],
            "maxspeed": [["30", "50"], "60", None],
            "name": [["甲路", "乙路"], "丙路", float("nan")],
            "access": [None, "no", float("nan")],
            "service": [None, None, "emergency_access"],
        },
        geometry=[
            shapely.LineString([(0, 0), (1, 1)]),
            shapely.LineString([(1, 1), (2, 2)]),
            shapely.LineString([(2, 2), (3, 3)]),
        ],
        crs=4326,
    )
    roads = load.roads._roads_from_osmnx_edges(edges)
    check_roads_contract(roads)
    assert roads["osm_id"].tolist() == [10, 12, 13]
    assert roads["highway"].tolist() == ["residential", "primary", "service"]
    assert roads["oneway"].tolist() == [0, 1, 0]
    np.testing.assert_allclose(roads["maxspeed_kmh"], [30, 60, np.nan])
    assert roads["name"].tolist() == ["甲路", "丙路", ""]
    assert roads["access"].tolist() == ["", "no", ""] and roads["foot"].tolist() == ["", "", ""]
    from planner.network import usable_roads

    assert usable_roads(roads, "drive").tolist() == [
        True,
        False,
        False,
    ]  # access=no, emergency_access


def test_download_roads_arguments():
    with pytest.raises(InputError, match="pass either place= or polygon="):
        load.download_roads()


@pytest.mark.network
@pytest.mark.skipif(
    os.environ.get("PLANNER_ONLINE_TESTS") != "1", reason="set PLANNER_ONLINE_TESTS=1"
)
def test_download_roads_online():
    roads = load.download_roads(
        polygon=shapely.box(114.345, 34.795, 114.355, 34.805), network_type="drive"
    )
    check_roads_contract(roads)
    assert len(roads) > 0


# =============================================================================================
# facilities
# =============================================================================================


def check_facilities_contract(f: gpd.GeoDataFrame) -> None:
    assert f.crs.to_epsg() == 4326
    assert list(f.columns[:4]) == ["facility_id", "name", "type", "tier"]
    assert f["facility_id"].is_unique
    assert f["tier"].isin(TIERS).all()
    assert (f.geom_type == "Point").all()
    assert not shapely.has_z(f.geometry.to_numpy()).any()


def test_longshan_facilities():
    f = load.read_facilities(need("longshan", "hospitals.shp"))
    check_facilities_contract(f)
    assert len(f) == 59
    assert "龙山县人民医院" in set(f["name"])
    assert f["facility_id"].tolist()[:3] == ["F1", "F2", "F3"]
    assert not f["type"].str.contains(r"\s").any()
    assert f.loc[20, "type"] == "Q8315" and f.loc[24, "type"] == "Q8323"
    assert f["tier"].value_counts().to_dict() == {
        "township_center": 36,
        "hospital": 12,
        "village_clinic": 6,
        "other": 3,
        "community_center": 2,
    }
    by_name = dict(zip(f["name"], f["tier"], strict=False))
    assert by_name["华塘社区卫生服务中心"] == "community_center"
    assert by_name["民安街道社区卫生服务中心"] == "community_center"  # coded Q8323
    assert by_name["桐木村卫生室"] == "village_clinic"  # coded Q8323
    assert by_name["枫溪村卫生室"] == "village_clinic"  # coded Q8322
    assert by_name["龙山县妇幼保健院"] == "other"
    assert by_name["水田办事处卫生管理站"] == "other"
    assert by_name["湘西自治州矿山救护中队"] == "other"  # a mine rescue team coded Q8323
    assert by_name["龙山县第二人民医院"] == "hospital"  # coded Q8322
    lon0, lat0, lon1, lat1 = f.total_bounds
    assert 109.2 < lon0 < lon1 < 109.9 and 28.7 < lat0 < lat1 < 29.6
    assert {"OBJECTID", "GRADE"} <= set(f.columns) and "NAME" not in f.columns


def _facility_frame():
    return pd.DataFrame(
        {
            "编号": ["A1", "A2", "A3"],
            "名称": ["城关镇卫生院", "东风社区卫生服务站", "李庄村卫生室"],
            "类型": ["乡镇卫生院\r\n", "社区卫生服务站", "村卫生室"],
            "经度": [114.30, 114.35, 114.40],
            "纬度": [34.80, 34.79, 34.78],
            "floor_area_m2": [1200.0, 300.0, 90.0],
        }
    )


def test_facilities_csv_utf8_bom_and_gbk(tmp_path: Path):
    df = _facility_frame()
    for enc in ("utf-8-sig", "gbk", "utf-8"):
        path = tmp_path / f"f_{enc}.csv"
        path.write_bytes(df.to_csv(index=False).encode(enc))
        f = load.read_facilities(path)
        check_facilities_contract(f)
        assert f["facility_id"].tolist() == ["A1", "A2", "A3"]
        assert f["name"].tolist() == df["名称"].tolist()
        assert f["type"].tolist() == ["乡镇卫生院", "社区卫生服务站", "村卫生室"]
        assert f["tier"].tolist() == ["township_center", "community_station", "village_clinic"]
        assert f["floor_area_m2"].tolist() == [1200.0, 300.0, 90.0]
        assert f.geometry.x.tolist() == [114.30, 114.35, 114.40]
        assert "经度" not in f.columns


def test_facilities_xlsx_sheet(tmp_path: Path):
    path = tmp_path / "f.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="说明", index=False)
        _facility_frame().to_excel(writer, sheet_name="医院", index=False)
    f = load.read_facilities(path, sheet="医院")
    assert f["tier"].tolist() == ["township_center", "community_station", "village_clinic"]
    with pytest.raises(InputError, match=r"f\.xlsx: .*Fix: pass sheet= one of '说明', '医院'"):
        load.read_facilities(path, sheet="nope")


def test_facilities_frame_not_mutated_and_index_kept():
    df = _facility_frame().set_index(pd.Index([10, 20, 30]))
    before = df.copy()
    f = load.read_facilities(df, id_column="编号")
    pd.testing.assert_frame_equal(df, before)
    assert list(f.index) == [10, 20, 30]
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(12726000.0, 4134000.0)], crs=3857)
    g_before = g.copy()
    out = load.read_facilities(g)
    assert g.crs.to_epsg() == 3857 and g.geometry.equals(g_before.geometry)
    assert out.geometry.x.iloc[0] == pytest.approx(114.3199, abs=1e-3)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_facilities_chinese_crs(system: str):
    df = _facility_frame()
    f = load.read_facilities(df, crs=system)
    x, y = cc.convert(df["经度"].to_numpy(), df["纬度"].to_numpy(), system, "wgs84")
    np.testing.assert_allclose(f.geometry.x, x, atol=1e-12)
    np.testing.assert_allclose(f.geometry.y, y, atol=1e-12)


def test_facilities_projected_xy_and_geojson(tmp_path: Path):
    df = pd.DataFrame(
        {"name": ["a", "b"], "X": [12726000.0, 12730000.0], "Y": [4134000.0, 4135000.0]}
    )
    f = load.read_facilities(df, x_column="X", y_column="Y", crs="EPSG:3857")
    assert f.geometry.x.iloc[0] == pytest.approx(114.3199, abs=1e-3)
    g = gpd.GeoDataFrame(
        _facility_frame(),
        geometry=gpd.points_from_xy([114.3, 114.35, 114.4], [34.8, 34.79, 34.78]),
        crs=4326,
    )
    path = tmp_path / "f.geojson"
    g.to_file(path)
    f = load.read_facilities(path)  # geometry wins over the lon/lat columns
    check_facilities_contract(f)
    assert f["tier"].tolist() == ["township_center", "community_station", "village_clinic"]
    gcj = load.read_facilities(path, crs="gcj02")
    x, y = cc.gcj02_to_wgs84(114.3, 34.8)
    assert gcj.geometry.iloc[0].coords[0] == pytest.approx((x, y), abs=1e-12)


def test_facilities_tier_column_and_map():
    df = _facility_frame()
    df["级别"] = ["township_center", "站", "village clinic"]
    f = load.read_facilities(df, tier_column="级别", tier_map={"站": "community_station"})
    assert f["tier"].tolist() == ["township_center", "community_station", "village_clinic"]
    df["级别"] = ["township_center", "站", "big"]
    with pytest.raises(
        InputError,
        match=r"column '级别' has values that are not tiers: '站', 'big' in rows 1, 2\. Fix: use one of community_center",
    ):
        load.read_facilities(df, tier_column="级别")
    f = load.read_facilities(_facility_frame(), tier_map={"村卫生室": "community_station"})
    assert f["tier"].tolist() == ["township_center", "community_station", "community_station"]
    with pytest.raises(
        InputError, match=r"tier_map maps to unknown tiers 'clinic'\. Fix: map to one of"
    ):
        load.read_facilities(_facility_frame(), tier_map={"村卫生室": "clinic"})


def test_facilities_errors_missing_columns():
    df = pd.DataFrame({"名称": ["a"], "east": [114.3], "north": [34.8]})
    with pytest.raises(
        InputError,
        match=r"no coordinates: .*columns are '名称', 'east', 'north'\. Fix: name them with lon_column= and lat_column=",
    ):
        load.read_facilities(df)
    with pytest.raises(
        InputError,
        match=r"coordinate column\(s\) 'lon' not found .*Fix: name the coordinate columns",
    ):
        load.read_facilities(df, lon_column="lon", lat_column="north")
    with pytest.raises(InputError, match="only one coordinate column named"):
        load.read_facilities(df, lon_column="east")
    with pytest.raises(InputError, match=r"id_column='code' is not a column"):
        load.read_facilities(df, lon_column="east", lat_column="north", id_column="code")


def test_facilities_errors_bad_coordinates():
    df = pd.DataFrame(
        {"name": ["a", "b", "c"], "lon": [114.3, "abc", None], "lat": [34.8, 34.9, 35.0]}
    )
    with pytest.raises(
        InputError,
        match=r"column 'lon' has missing or non-numeric values \(e\.g\. 'abc'\) in rows 1, 2 \(names 'b', 'c'\)\. Fix: fill in",
    ):
        load.read_facilities(df)


def test_facilities_errors_swapped():
    df = pd.DataFrame({"name": ["a", "b"], "lon": [34.8, 34.9], "lat": [114.3, 114.4]})
    with pytest.raises(
        InputError,
        match=r"longitude and latitude look swapped.*rows 0, 1.*Fix: swap the columns \(pass lon_column='lat', lat_column='lon'\)",
    ):
        load.read_facilities(df)
    # valid degrees, but only plausible for China when swapped (80E 30N is Tibet)
    df = pd.DataFrame({"name": ["a"], "longitude": [30.0], "latitude": [80.0]})
    with pytest.raises(InputError, match="look swapped"):
        load.read_facilities(df)


def test_facilities_errors_projected_with_wgs84():
    df = pd.DataFrame({"name": ["a"], "x": [12162045.9], "y": [3348374.8]})
    with pytest.raises(
        InputError,
        match=r"look like projected metres \(e\.g\. 12162045\.9, 3348374\.8\), not EPSG:4326 degrees.*Fix: pass the projected CRS with crs=",
    ):
        load.read_facilities(df)
    f = load.read_facilities(df, crs=3857)
    assert f.geometry.x.iloc[0] == pytest.approx(109.25352, abs=1e-4)
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(12162045.9, 3348374.8)], crs=4326)
    with pytest.raises(InputError, match="look like projected metres"):
        load.read_facilities(g)


def test_facilities_errors_ids():
    df = _facility_frame()
    df["编号"] = ["A1", "A1", None]
    with pytest.raises(
        InputError,
        match=r"2 problems:\n  - column '编号' has missing ids in row 2 \(names '李庄村卫生室'\).*\n  - column '编号' has duplicate ids 'A1' in rows 0, 1\. Fix: make the ids unique",
    ):
        load.read_facilities(df)
    df["编号"] = [1, 2, 3]
    assert load.read_facilities(df)["facility_id"].tolist() == ["1", "2", "3"]


def test_facilities_errors_empty_and_crs():
    with pytest.raises(InputError, match=r"no rows\. Fix: give at least one facility"):
        load.read_facilities(pd.DataFrame({"lon": [], "lat": []}))
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(114.3, 34.8)])
    with pytest.raises(CRSError, match=r"no coordinate reference system\. Fix: pass crs="):
        load.read_facilities(g)
    assert load.read_facilities(g, crs="wgs84").geometry.x.iloc[0] == 114.3
    with pytest.raises(CRSError, match="crs='mars2' is not a known"):
        load.read_facilities(_facility_frame(), crs="mars2")
    g = gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[shapely.Point(114.3, 34.8), None], crs=4326
    )
    with pytest.raises(InputError, match=r"missing or empty geometry in row 1 \(names 'b'\)"):
        load.read_facilities(g)
    with pytest.raises(InputError, match="expected a file path or a"):
        load.read_facilities([1, 2])


def test_facilities_default_tier():
    df = pd.DataFrame(
        {
            "name": ["拟建站点1", "妇幼保健院分院", "某某村卫生室"],
            "lon": [114.3] * 3,
            "lat": [34.8] * 3,
        }
    )
    f = load.read_facilities(df, default_tier="community_station")
    assert f["tier"].tolist() == ["community_station", "other", "village_clinic"]
    assert load.read_facilities(df)["tier"].tolist() == ["other", "other", "village_clinic"]
    df["tier"] = ["hospital", None, ""]
    f = load.read_facilities(df, tier_column="tier", default_tier="community_station")
    assert f["tier"].tolist() == ["hospital", "community_station", "community_station"]
    with pytest.raises(InputError, match=r"default_tier='clinic' is not a tier\. Fix: use one of"):
        load.read_facilities(df, default_tier="clinic")


def test_facilities_polygons_become_points():
    g = gpd.GeoDataFrame(
        {"name": ["某某社区卫生服务中心"]},
        geometry=[shapely.box(114.3, 34.8, 114.301, 34.801)],
        crs=4326,
    )
    f = load.read_facilities(g)
    assert f.geom_type.tolist() == ["Point"] and f["tier"].tolist() == ["community_center"]
    assert shapely.box(114.3, 34.8, 114.301, 34.801).contains(f.geometry.iloc[0])


# =============================================================================================
# boundaries
# =============================================================================================


def check_boundaries_contract(b: gpd.GeoDataFrame) -> None:
    assert b.crs.to_epsg() == 4326
    assert list(b.columns[:5]) == ["admin_code", "admin_name", "level", "kind", "parent_code"]
    assert b["level"].isin(["province", "city", "county", "township", "village"]).all()
    assert b.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert b.is_valid.all()


def test_kaifeng_boundaries_wgs84():
    b = load.read_boundaries(need("kaifeng", "districts_wgs84.geojson"))
    check_boundaries_contract(b)
    assert len(b) == 11
    assert b["level"].value_counts().to_dict() == {"county": 10, "city": 1}
    rows = b.set_index("admin_code")
    assert rows.loc["410200", "admin_name"] == "开封市" and rows.loc["410200", "kind"] == ""
    assert rows.loc["410200", "parent_code"] == "410000"
    assert (
        rows.loc["410203", "admin_name"] == "顺河回族区"
        and rows.loc["410203", "kind"] == "district"
    )
    assert rows.loc["410221", "kind"] == "county"
    assert rows.loc["410103", "parent_code"] == "410100"
    assert (b["parent_code"][b["level"] == "county"].str[:4].isin(["4102", "4101"])).all()
    assert "note" in b.columns


def test_kaifeng_boundaries_gcj02():
    path = need("kaifeng", "districts_gcj02.geojson")
    b = load.read_boundaries(path, crs="gcj02")
    check_boundaries_contract(b)
    assert len(b) == 17
    assert b["level"].value_counts().to_dict() == {"county": 15, "city": 2}
    assert b["admin_name"].tolist()[:3] == ["开封市", "龙亭区", "顺河回族区"]
    assert b.loc[b["admin_code"] == "410100", "admin_name"].item() == "郑州市"
    assert b.loc[b["admin_code"] == "410202", "parent_code"].item() == "410200"
    assert {"province", "city", "district"}.isdisjoint(b.columns)
    wgs = load.read_boundaries(need("kaifeng", "districts_wgs84.geojson"))
    a = wgs.loc[wgs["admin_code"] == "410200"].to_crs(32650).geometry.iloc[0]
    c = b.loc[b["admin_code"] == "410200"].to_crs(32650).geometry.iloc[0]
    raw = load.read_boundaries(path)  # without crs= the GCJ-02 offset stays
    r = raw.loc[raw["admin_code"] == "410200"].to_crs(32650).geometry.iloc[0]
    assert a.centroid.distance(c.centroid) < 10 < 500 < a.centroid.distance(r.centroid)


def _units():
    return gpd.GeoDataFrame(
        {
            "code": [410202001, "410202001009", "410221100", "410221100201", "410202"],
            "名称": ["北书店街道", "南京巷社区", "城关镇", "东关村", "龙亭区"],
        },
        geometry=[shapely.box(i, 34, i + 0.5, 34.5) for i in (114.0, 114.0, 115.0, 115.0, 114.0)],
        crs=4326,
    )


def test_boundaries_levels_kinds_parents_from_codes():
    units = _units()
    before = units.copy()
    b = load.read_boundaries(units)
    pd.testing.assert_frame_equal(units, before)
    check_boundaries_contract(b)
    assert b["admin_code"].tolist() == [
        "410202001",
        "410202001009",
        "410221100",
        "410221100201",
        "410202",
    ]
    assert b["level"].tolist() == ["township", "village", "township", "village", "county"]
    assert b["kind"].tolist() == ["subdistrict", "community", "town", "village", "district"]
    assert b["parent_code"].tolist() == ["410202", "410202001", "410221", "410221100", "410200"]


def test_boundaries_level_column_and_parent_column():
    units = _units()
    units["级别"] = ["街道", "社区", "镇", "村", "区县"]
    units["上级代码"] = ["x1", None, "x3", None, None]
    b = load.read_boundaries(units)
    assert b["level"].tolist() == ["township", "village", "township", "village", "county"]
    assert b["parent_code"].tolist() == ["x1", "410202001", "x3", "410221100", "410200"]
    units["级别"] = ["街道", "hamlet", "镇", "村", "big"]
    with pytest.raises(
        InputError,
        match=r"column '级别' has unknown levels 'hamlet', 'big'\. Fix: use county/township/village",
    ):
        load.read_boundaries(units)


def test_boundaries_kind_column():
    units = _units()
    units["kind"] = ["subdistrict", "", "township", "village", "district"]
    b = load.read_boundaries(units)
    assert b["kind"].tolist() == ["subdistrict", "community", "township", "village", "district"]
    assert "kind_source" not in b.columns
    units["kind"] = ["a", "b", "c", "d", "e"]
    b = load.read_boundaries(units)
    assert b["kind"].tolist() == ["subdistrict", "community", "town", "village", "district"]
    assert b["kind_source"].tolist() == ["a", "b", "c", "d", "e"]


def test_boundaries_level_from_name_when_code_is_not_numeric():
    g = gpd.GeoDataFrame(
        {"admin_code": ["A", "B", "C"], "name": ["城关镇", "李庄村", "某地"]},
        geometry=[shapely.box(0, 0, 1, 1)] * 3,
        crs=4326,
    )
    with pytest.raises(
        InputError,
        match=r"cannot tell the level of row 2 \(names '某地'\).*Fix: pass level_column=",
    ):
        load.read_boundaries(g)
    b = load.read_boundaries(g.iloc[:2])
    assert b["level"].tolist() == ["township", "village"] and b["parent_code"].tolist() == ["", ""]


def test_boundaries_repair_and_errors():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    g = gpd.GeoDataFrame({"adcode": ["410202"], "name": ["龙亭区"]}, geometry=[bowtie], crs=4326)
    assert not g.is_valid.all()
    b = load.read_boundaries(g)
    assert b.is_valid.all() and b.geometry.iloc[0].area == pytest.approx(0.5)
    g = gpd.GeoDataFrame(
        {"adcode": ["410202", "410203", "410203"], "name": ["龙亭区", "顺河回族区", "x"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.Point(0, 0), shapely.box(0, 0, 1, 1)],
        crs=4326,
    )
    with pytest.raises(
        InputError,
        match=r"2 problems:\n  - column 'adcode' has duplicate codes '410203' in rows 1, 2\. Fix: dissolve.*\n  - geometries are Point, not polygons, in row 1 \(names '顺河回族区'\)",
    ):
        load.read_boundaries(g)
    g = gpd.GeoDataFrame({"name": ["龙亭区"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(
        InputError,
        match=r"no administrative code column .*columns are 'name'\)\. Fix: name it with code_column=",
    ):
        load.read_boundaries(g)
    g = gpd.GeoDataFrame(
        {"adcode": [None], "name": ["龙亭区"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
    )
    with pytest.raises(InputError, match=r"column 'adcode' has missing codes in row 0"):
        load.read_boundaries(g)


def test_boundaries_without_geometry(tmp_path: Path):
    path = tmp_path / "townships.csv"
    path.write_text("code,name\n410202001,北书店街道\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"townships\.csv: has no geometry\. Fix: use a polygon file"
    ):
        load.read_boundaries(path)


def test_boundaries_projected_shapefile_gbk(tmp_path: Path):
    units = _units().to_crs(32650)
    path = tmp_path / "units.shp"
    units.to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    b = load.read_boundaries(path)
    assert b["admin_name"].tolist()[0] == "北书店街道"
    assert b.total_bounds == pytest.approx([114.0, 34.0, 115.5, 34.5], abs=1e-6)


# =============================================================================================
# population
# =============================================================================================


def from_origin(west: float, north: float, xsize: float, ysize: float):
    from affine import Affine

    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def _write_raster(path: Path, data: np.ndarray, transform, crs, nodata=None) -> None:
    import rasterio

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)


def test_population_raster_wgs84(tmp_path: Path):
    data = np.array([[1, 2, 0], [-99999, 5.5, -3], [4, 0, 10]], dtype="float32")
    path = tmp_path / "pop.tif"
    _write_raster(path, data, from_origin(114.0, 34.9, 0.01, 0.01), "EPSG:4326", nodata=-99999)
    p = load.read_population(path)
    assert p.crs.to_epsg() == 4326
    assert p["population"].tolist() == [1, 2, 5.5, 4, 10]
    assert p["population"].sum() == 22.5
    assert list(zip(p["row"], p["col"], strict=True)) == [(0, 0), (0, 1), (1, 1), (2, 0), (2, 2)]
    np.testing.assert_allclose(p.geometry.iloc[0].bounds, (114.0, 34.89, 114.01, 34.9), atol=1e-12)
    np.testing.assert_allclose(
        p.geometry.iloc[4].bounds, (114.02, 34.87, 114.03, 34.88), atol=1e-12
    )


def test_population_raster_utm_and_crs(tmp_path: Path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 50, size=(20, 30)).astype("float64")
    path = tmp_path / "utm.tif"
    _write_raster(path, data, from_origin(500_000, 3_850_000, 100, 100), "EPSG:32650")
    p = load.read_population(path)
    assert len(p) == int((data > 0).sum())
    assert p["population"].sum() == pytest.approx(data.sum())
    area = p.to_crs(32650).area
    np.testing.assert_allclose(area, 10_000, rtol=1e-6)
    nocrs = tmp_path / "nocrs.tif"
    _write_raster(nocrs, data, from_origin(114.0, 34.9, 0.001, 0.001), None)
    with pytest.raises(
        CRSError,
        match=r"nocrs\.tif: the raster has no coordinate reference system\. Fix: pass crs=",
    ):
        load.read_population(nocrs)
    assert load.read_population(nocrs, crs="EPSG:4326")["population"].sum() == pytest.approx(
        data.sum()
    )
    with pytest.raises(InputError, match=r"band=2 but the raster has 1 band\(s\)"):
        load.read_population(nocrs, crs=4326, band=2)
    zero = tmp_path / "zero.tif"
    _write_raster(zero, np.zeros((2, 2)), from_origin(114.0, 34.9, 0.001, 0.001), "EPSG:4326")
    with pytest.raises(InputError, match="no cell has a population > 0"):
        load.read_population(zero)


def _utm_polygons():
    big = shapely.box(500_000, 3_850_000, 501_000, 3_851_000)  # 1 km2: 100 cells of 100 m
    small = shapely.box(502_000, 3_850_000, 502_150, 3_850_100)  # 1.5 cells: kept whole
    tri = shapely.Polygon([(503_000, 3_850_000), (503_777, 3_850_000), (503_000, 3_850_555)])
    empty = shapely.box(504_000, 3_850_000, 504_100, 3_850_100)
    return gpd.GeoDataFrame(
        {"pop": [1000.0, 30.0, 777.0, 0.0], "小区": ["甲", "乙", "丙", "丁"]},
        geometry=[big, small, tri, empty],
        crs=32650,
    )


def test_population_polygons_split(tmp_path: Path):
    g = _utm_polygons()
    path = tmp_path / "homes.gpkg"
    g.to_file(path)
    p = load.read_population(path)
    assert p.crs.to_epsg() == 4326
    assert p["population"].sum() == pytest.approx(1807.0, rel=1e-12)
    counts = p["source_index"].value_counts().to_dict()
    assert counts[0] == 100 and counts[1] == 1 and 3 not in counts
    np.testing.assert_allclose(p.loc[p["source_index"] == 0, "population"], 10.0)
    tri = p[p["source_index"] == 2]
    assert tri["population"].sum() == pytest.approx(777.0)
    assert len(tri) > 10
    # pieces tile the triangle: shares follow areas
    area = tri.to_crs(32650).area.to_numpy()
    np.testing.assert_allclose(tri["population"], 777.0 * area / area.sum(), rtol=1e-9)
    assert tri.to_crs(32650).union_all().area == pytest.approx(g.geometry.iloc[2].area, rel=1e-6)
    assert p.loc[p["source_index"] == 1, "小区"].item() == "乙"
    assert p["population"].gt(0).all()


def test_population_polygons_cell_size_and_frame_unchanged():
    g = _utm_polygons()
    before = g.copy()
    p = load.read_population(g, cell_m=250)
    pd.testing.assert_frame_equal(g, before)
    assert (p["source_index"] == 0).sum() == 16  # 1 km / 250 m = 4 x 4
    assert p["population"].sum() == pytest.approx(1807.0)


def test_population_points(tmp_path: Path):
    path = tmp_path / "pts.csv"
    path.write_text(
        "lon,lat,人口\n114.30,34.80,120\n114.31,34.80,80.5\n114.32,34.80,0\n", encoding="utf-8"
    )
    p = load.read_population(path, cell_m=200)
    assert p["population"].tolist() == [120.0, 80.5]
    utm = p.to_crs(p.estimate_utm_crs())
    np.testing.assert_allclose(utm.area, 40_000, rtol=1e-3)
    assert (
        utm.geometry.iloc[0].centroid.distance(
            gpd.GeoSeries([shapely.Point(114.30, 34.80)], crs=4326).to_crs(utm.crs).iloc[0]
        )
        < 0.5
    )


def test_population_errors():
    g = _utm_polygons()
    with pytest.raises(
        InputError,
        match=r"no population column .*columns are 'pop2', '小区'\)\. Fix: name it with column=",
    ):
        load.read_population(g.rename(columns={"pop": "pop2"}))
    bad = g.copy()
    bad["pop"] = [1.0, -5.0, None, "many"]
    with pytest.raises(
        InputError,
        match=r"2 problems:\n  - column 'pop' has missing or non-numeric values \(e\.g\. 'many'\) in rows 2, 3\. Fix: fill in.*\n  - column 'pop' has negative values \(e\.g\. -5\) in row 1\. Fix: population must be >= 0",
    ):
        load.read_population(bad)
    zero = g.assign(pop=0.0)
    with pytest.raises(InputError, match="every value of 'pop' is 0"):
        load.read_population(zero)
    lines = gpd.GeoDataFrame(
        {"pop": [1.0]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326
    )
    with pytest.raises(
        InputError, match=r"geometries are LineString, not polygons or points, in row 0"
    ):
        load.read_population(lines)
    with pytest.raises(InputError, match="cell_m must be > 0"):
        load.read_population(g, cell_m=0)
    with pytest.raises(InputError, match="column='people' is not a column"):
        load.read_population(g, column="people")


# =============================================================================================
# helpers: to_wgs84, encodings
# =============================================================================================


def test_to_wgs84_kinds():
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(12726000.0, 4134000.0)], crs=3857)
    out = load.to_wgs84(g)
    assert out.crs.to_epsg() == 4326 and g.crs.to_epsg() == 3857 and out["a"].tolist() == [1]
    s = load.to_wgs84(g.geometry)
    assert isinstance(s, gpd.GeoSeries) and s.x.iloc[0] == pytest.approx(114.3199, abs=1e-3)
    arr = load.to_wgs84([shapely.Point(114.3, 34.8)], "gcj02")
    assert isinstance(arr, np.ndarray)
    assert arr[0].coords[0] == pytest.approx(cc.gcj02_to_wgs84(114.3, 34.8))
    p = load.to_wgs84(shapely.Point(114.3, 34.8), "bd09")
    assert p.coords[0] == pytest.approx(cc.bd09_to_wgs84(114.3, 34.8))
    with pytest.raises(
        CRSError, match=r"to_wgs84: the data have no coordinate reference system\. Fix: pass crs="
    ):
        load.to_wgs84([shapely.Point(0, 0)])


def test_detect_encoding():
    text = "名称,经度\n城关镇卫生院,114.3\n"
    assert _readfile._detect_encoding(text.encode("utf-8")) == "utf-8"
    assert _readfile._detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8")) == "utf-8-sig"
    assert _readfile._detect_encoding(text.encode("gbk")) == "gb18030"
    assert _readfile._detect_encoding(text.encode("gb18030")) == "gb18030"
    cut = "五一大道".encode()[:-1] + b"\n" + "芙蓉路".encode()
    assert _readfile._detect_encoding(cut) == "utf-8"
    assert _readfile._detect_encoding(b"a,b\n1,2\n") == "utf-8"


# =============================================================================================
# remaining validation rules
# =============================================================================================


def test_file_level_errors(tmp_path: Path):
    g = gpd.GeoDataFrame(
        {"highway": ["primary"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326
    )
    gpkg = tmp_path / "roads.gpkg"
    g.to_file(gpkg, layer="roads")
    with pytest.raises(
        InputError,
        match=r"roads\.gpkg: cannot read layer .*Fix: name an existing layer with layer=",
    ):
        load.read_roads(gpkg, layer="nope")
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(InputFileError, match=r"broken\.geojson: cannot read the file"):
        load.read_facilities(broken)
    empty_csv = tmp_path / "empty.csv"
    empty_csv.write_bytes(b"")
    with pytest.raises(
        InputFileError, match=r"empty\.csv: cannot read as CSV .*Fix: save it as a comma-separated"
    ):
        load.read_facilities(empty_csv)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(
        InputError,
        match=r"old\.xls: old Excel \.xls files are not supported\. Fix: save the sheet as \.xlsx",
    ):
        load.read_facilities(xls)
    with pytest.raises(InputFileError, match="facilities file not found"):
        load.read_facilities(tmp_path / "nope.csv")
    tif = tmp_path / "bad.tif"
    tif.write_bytes(b"not a tiff")
    with pytest.raises(InputFileError, match=r"bad\.tif: cannot read the raster"):
        load.read_population(tif)
    empty = gpd.GeoDataFrame({"highway": []}, geometry=[], crs=4326)
    path = tmp_path / "empty.gpkg"
    empty.to_file(path)
    with pytest.raises(InputError, match=r"empty\.gpkg: no rows\. Fix: check the file"):
        load.read_roads(path)


def test_facilities_both_coordinate_options():
    df = pd.DataFrame({"lon": [114.3], "lat": [34.8], "X": [1.0], "Y": [2.0]})
    with pytest.raises(
        InputError, match=r"both lon_column= and x_column= given\. Fix: pass only one"
    ):
        load.read_facilities(df, lon_column="lon", x_column="X", lat_column="lat")
    with pytest.raises(InputError, match=r"both lat_column= and y_column= given"):
        load.read_facilities(df, lat_column="lat", y_column="Y", lon_column="lon")


def test_facilities_unconvertible_coordinates(monkeypatch):
    df = pd.DataFrame({"name": ["a", "b"], "lon": [114.3, 114.4], "lat": [34.8, 34.9]})

    def broken(geoms, crs, source):
        return gpd.GeoSeries(
            [shapely.Point(114.3, 34.8), shapely.Point(np.inf, np.inf)], index=geoms.index, crs=4326
        )

    monkeypatch.setattr(load.facilities, "geoseries_to_wgs84", broken)
    with pytest.raises(
        CRSError, match=r"could not be converted to WGS-84 in row 1\. Fix: check the CRS"
    ):
        load.read_facilities(df)


def test_boundaries_more_errors():
    g = gpd.GeoDataFrame({"adcode": [], "name": []}, geometry=[], crs=4326)
    with pytest.raises(InputError, match=r"no rows\. Fix: give at least one administrative unit"):
        load.read_boundaries(g)
    g = gpd.GeoDataFrame(
        {"adcode": ["410202", "410203"], "name": ["龙亭区", "顺河回族区"]},
        geometry=[shapely.box(0, 0, 1, 1), None],
        crs=4326,
    )
    with pytest.raises(
        InputError,
        match=r"missing or empty geometry in row 1 \(names '顺河回族区'\)\. Fix: give every unit a polygon",
    ):
        load.read_boundaries(g)
    g = gpd.GeoDataFrame(
        {"adcode": ["410202"], "name": ["龙亭区"]},
        geometry=[shapely.box(12726000, 4134000, 12727000, 4135000)],
        crs=4326,
    )
    with pytest.raises(
        InputError,
        match=r"coordinates look like projected metres .*Fix: pass the projected CRS with crs=",
    ):
        load.read_boundaries(g)
    assert load.read_boundaries(g, crs=3857).total_bounds[0] == pytest.approx(114.3199, abs=1e-3)


def test_population_more_errors():
    with pytest.raises(InputError, match=r"no rows\. Fix: give at least one populated area"):
        load.read_population(pd.DataFrame({"lon": [], "lat": [], "pop": []}))
    big = gpd.GeoDataFrame(
        {"pop": [1.0]}, geometry=[shapely.box(500_000, 3_850_000, 510_000, 3_860_000)], crs=32650
    )
    with pytest.raises(
        InputError, match=r"would make 100,000,000 cells\. Fix: pass a larger cell_m="
    ):
        load.read_population(big, cell_m=1)
    nocrs = gpd.GeoDataFrame({"pop": [1.0]}, geometry=[shapely.box(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="no coordinate reference system"):
        load.read_population(nocrs)


def test_app_guesses_the_column_names_the_readers_know():
    # one list per field (load.COLUMN_CANDIDATES): names the readers knew but the app's old copies
    # did not ("道路类型", "设计速度", "roadname", "行政区划名称", "行政级别") are guessed too
    from planner.app import uploads_columns

    roads = pd.DataFrame({"道路类型": ["primary"], "设计速度": ["60"], "roadname": ["x"]})
    g = uploads_columns.guess_columns("roads", roads)
    assert (g["class"], g["speed"], g["name"]) == ("道路类型", "设计速度", "roadname")
    bnd = pd.DataFrame({"gb": ["410200"], "行政区划名称": ["x"], "行政级别": ["county"]})
    g = uploads_columns.guess_columns("boundaries", bnd)
    assert (g["code"], g["name"], g["level"]) == ("gb", "行政区划名称", "行政级别")
    for field in ("road_class", "road_speed", "road_name", "admin_name", "admin_level"):
        assert load.COLUMN_CANDIDATES[field]
