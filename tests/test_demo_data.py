"""The embedded synthetic demo county (data/, made by data/make_demo.py).

These tests read the files directly (osmium, json, rasterio, csv) and never import planner, so
they describe the data contract the loaders can rely on.
"""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import osmium
import pytest
import rasterio
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, shape

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SCRIPT = DATA / "make_demo.py"
OSM = DATA / "roads" / "demo_county.osm"
ADMIN = DATA / "boundaries" / "demo_admin.geojson"
POP = DATA / "population" / "demo_population.tif"
FAC = DATA / "facilities" / "demo_facilities.csv"
CAND = DATA / "facilities" / "demo_candidates.csv"
README = DATA / "README.md"
OUTPUTS = [OSM, ADMIN, POP, FAC, CAND]
BEGIN = "<!-- BEGIN make_demo summary"
END = "<!-- END make_demo summary -->"

NOT_WALKABLE = {"motorway", "motorway_link", "proposed", "construction"}
FACILITY_TYPES = {"县医院", "社区卫生服务中心", "社区卫生服务站", "乡镇卫生院", "村卫生室"}
CANDIDATE_KINDS = {"vacant premises", "village committee", "school annex"}

_TO_M = Transformer.from_crs(
    "EPSG:4326",
    "+proj=tmerc +lat_0=34.5 +lon_0=114.3 +ellps=WGS84 +units=m +no_defs",
    always_xy=True,
)


def metric(g):
    return shapely.transform(g, lambda c: np.column_stack(_TO_M.transform(c[:, 0], c[:, 1])))


# ------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def osm():
    nodes: dict[int, tuple[float, float]] = {}
    node_tags: dict[int, dict] = {}
    ways: list[tuple[int, list[int], dict]] = []

    class Handler(osmium.SimpleHandler):
        def node(self, n):
            nodes[n.id] = (n.location.lon, n.location.lat)
            if len(n.tags):
                node_tags[n.id] = {t.k: t.v for t in n.tags}

        def way(self, w):
            ways.append((w.id, [r.ref for r in w.nodes], {t.k: t.v for t in w.tags}))

    Handler().apply_file(str(OSM))
    return {"nodes": nodes, "node_tags": node_tags, "ways": ways}


@pytest.fixture(scope="module")
def road_lines(osm):
    """(way id, refs, tags, LineString in lon/lat) for every highway way."""
    nodes = osm["nodes"]
    return [
        (wid, refs, tags, LineString([nodes[r] for r in refs]))
        for wid, refs, tags in osm["ways"]
        if "highway" in tags
    ]


@pytest.fixture(scope="module")
def admin():
    doc = json.loads(ADMIN.read_text(encoding="utf-8"))
    feats = [(f["properties"], shape(f["geometry"]), f["geometry"]) for f in doc["features"]]
    return {"doc": doc, "features": feats}


@pytest.fixture(scope="module")
def units(admin):
    by_level: dict[str, list] = {"county": [], "township": [], "village": []}
    for props, g, _ in admin["features"]:
        by_level[props["level"]].append((props, g))
    return by_level


@pytest.fixture(scope="module")
def facilities():
    with FAC.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def candidates():
    with CAND.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def summary():
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN) : text.index(END)]
    rows = {}
    for line in block.splitlines():
        m = re.fullmatch(r"\| ([a-z_]+[^ |]*) \| ([^|]+) \|", line.strip())
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


@pytest.fixture(scope="module")
def county(units):
    assert len(units["county"]) == 1
    return units["county"][0][1]


# ------------------------------------------------------------------------------------------------
# files, README and reproducibility
# ------------------------------------------------------------------------------------------------
def test_files_exist_and_are_labelled_synthetic():
    for p in OUTPUTS + [SCRIPT, README]:
        assert p.is_file(), p
    assert OSM.stat().st_size <= 4_500_000
    head = OSM.read_text(encoding="utf-8")[:600]
    assert '<osm version="0.6" generator="planner make_demo.py">' in head
    assert "Demo County (synthetic)" in head
    assert "synthetic" in README.read_text(encoding="utf-8")
    doc = json.loads(ADMIN.read_text(encoding="utf-8"))
    assert "synthetic" in doc["name"] and "synthetic" in doc["description"]
    with rasterio.open(POP) as src:
        assert "synthetic" in src.tags()["name"]


def test_regenerates_byte_for_byte(tmp_path):
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    for p in OUTPUTS:
        new = tmp_path / p.relative_to(DATA)
        assert new.read_bytes() == p.read_bytes(), f"{p.name} differs from a fresh run"
    produced = sorted(
        q.relative_to(tmp_path).as_posix() for q in tmp_path.rglob("*") if q.is_file()
    )
    assert produced == sorted(p.relative_to(DATA).as_posix() for p in OUTPUTS)  # no .aux.xml etc.
    printed = res.stdout[res.stdout.index(BEGIN) : res.stdout.index(END) + len(END)]
    readme = README.read_text(encoding="utf-8")
    assert printed in readme, "README summary is stale: run python data/make_demo.py"


def test_readme_counts_match_files(summary, osm, road_lines, units, facilities, candidates):
    assert int(summary["osm_nodes"]) == len(osm["nodes"])
    assert int(summary["osm_ways"]) == len(osm["ways"])
    assert int(summary["osm_highway_ways"]) == len(road_lines)
    assert int(summary["osm_bytes"]) == OSM.stat().st_size
    assert int(summary["osm_bridge_ways"]) == sum(
        1 for *_, t, _ in road_lines if t.get("bridge") == "yes"
    )
    kinds = Counter(p["kind"] for p, _ in units["township"] + units["village"])
    assert int(summary["admin_subdistricts"]) == kinds["subdistrict"]
    assert int(summary["admin_towns"]) == kinds["town"]
    assert int(summary["admin_townships"]) == kinds["township"]
    assert int(summary["admin_communities"]) == kinds["community"]
    assert int(summary["admin_villages"]) == kinds["village"]
    with rasterio.open(POP) as src:
        a = src.read(1)
        assert int(summary["raster_width"]) == src.width
        assert int(summary["raster_height"]) == src.height
    total = float(a[a != src.nodata].astype(np.float64).sum())
    assert int(summary["population_total"]) == round(total)
    assert int(summary["facilities"]) == len(facilities)
    types = Counter(r["type"] for r in facilities)
    for t in FACILITY_TYPES:
        assert int(summary[f"facilities_{t}"]) == types[t]
    assert int(summary["candidates"]) == len(candidates)


# ------------------------------------------------------------------------------------------------
# roads
# ------------------------------------------------------------------------------------------------
def test_osm_structure(osm):
    text = OSM.read_text(encoding="utf-8")
    assert re.search(
        r'<bounds minlat="[\d.]+" minlon="[\d.]+" maxlat="[\d.]+" maxlon="[\d.]+"/>', text
    )
    assert "timestamp" not in text
    coords = re.findall(r'<node id="\d+" lat="(-?\d+\.\d+)" lon="(-?\d+\.\d+)"', text)
    assert len(coords) == len(osm["nodes"])
    assert all(len(a.split(".")[1]) == 7 and len(b.split(".")[1]) == 7 for a, b in coords)
    nodes = osm["nodes"]
    assert 10_000 <= len(nodes) <= 25_000
    lon = np.array([v[0] for v in nodes.values()])
    lat = np.array([v[1] for v in nodes.values()])
    assert 113.9 < lon.min() and lon.max() < 114.7 and 34.2 < lat.min() and lat.max() < 34.8
    for wid, refs, _ in osm["ways"]:
        assert len(refs) >= 2, wid
        missing = [r for r in refs if r not in nodes]
        assert not missing, f"way {wid} refers to missing nodes {missing[:5]}"


def test_road_hierarchy_and_tags(osm):
    ways = osm["ways"]
    hw = Counter(t["highway"] for _, _, t in ways if "highway" in t)
    for cls in (
        "motorway",
        "motorway_link",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "proposed",
    ):
        assert hw[cls] > 0, cls
    trunk = [t for _, _, t in ways if t.get("highway") == "trunk"]
    assert all(t.get("ref", "").startswith("G") and t.get("maxspeed") == "80" for t in trunk)
    prov = {
        t["ref"]
        for _, _, t in ways
        if t.get("highway") == "primary" and t.get("ref", "").startswith("S")
    }
    assert len(prov) == 2
    for _, _, t in ways:
        if t.get("highway") == "primary" and t.get("ref", "").startswith("S") and "maxspeed" in t:
            assert 50 <= int(t["maxspeed"]) <= 70
    oneway = Counter(
        t.get("oneway")
        for _, _, t in ways
        if t.get("highway") in ("primary", "secondary", "tertiary", "residential")
    )
    assert oneway["yes"] >= 2 and oneway["-1"] >= 1
    assert any("maxspeed" in t for _, _, t in ways if t.get("highway") == "residential")
    names = [t["name"] for _, _, t in ways if "name" in t and "highway" in t]
    assert len(names) > 50 and all(re.search(r"[\u4e00-\u9fff]", n) for n in names)
    skip = [t for _, _, t in ways if "highway" not in t or t["highway"] == "proposed"]
    assert any(t.get("building") == "yes" for t in skip)
    assert any(t.get("landuse") == "residential" for t in skip)
    assert any(t.get("highway") == "proposed" for t in skip)
    assert sum(1 for t in skip if t.get("waterway") == "river") == 1
    # closed ways for the areas
    for _, refs, t in ways:
        if t.get("building") or t.get("landuse"):
            assert refs[0] == refs[-1]


def test_motorway_joins_roads_only_at_interchanges(osm):
    users: dict[int, set[str]] = {}
    for _, refs, t in osm["ways"]:
        for r in refs:
            users.setdefault(r, set()).add(t.get("highway", "-"))
    for _, refs, t in osm["ways"]:
        if t.get("highway") != "motorway":
            continue
        assert t.get("oneway") == "yes"
        for r in refs:
            assert users[r] <= {"motorway", "motorway_link"}, "motorway shares a node with a road"
    links = [(refs, t) for _, refs, t in osm["ways"] if t.get("highway") == "motorway_link"]
    assert 4 <= len(links) <= 8
    for refs, _ in links:
        ends = users[refs[0]] | users[refs[-1]]
        assert "motorway" in ends and ends - {"motorway", "motorway_link"}


def test_river_is_crossed_only_at_bridges(osm, road_lines):
    nodes = osm["nodes"]
    river = [
        LineString([nodes[r] for r in refs])
        for _, refs, t in osm["ways"]
        if t.get("waterway") == "river"
    ][0]
    crossing = [
        (wid, t)
        for wid, _, t, line in road_lines
        if t["highway"] not in ("proposed",) and line.intersects(river)
    ]
    assert crossing
    bad = [(wid, t.get("name"), t["highway"]) for wid, t in crossing if t.get("bridge") != "yes"]
    assert not bad, f"roads crossing the river without a bridge: {bad[:5]}"
    bridges = [t for _, _, t, _ in road_lines if t.get("bridge") == "yes"]
    assert {id(t) for t in bridges} == {id(t) for _, t in crossing}
    assert 4 <= len({t["bridge:name"] for t in bridges}) <= 6
    assert all(t.get("layer") == "1" for t in bridges)
    # roads that were cut stop short of the water: dead ends near both banks
    river_m = metric(river)
    ends = Counter()
    for _, refs, t, _ in road_lines:
        if t.get("bridge") == "yes" or t["highway"] in NOT_WALKABLE:
            continue
        for r in (refs[0], refs[-1]):
            if river_m.distance(metric(Point(nodes[r]))) < 60:
                ends[r] += 1
    assert len(ends) >= 10


def test_at_grade_crossings_share_nodes(osm, road_lines):
    """Two at-grade roads that cross meet at a common node (only the motorway passes over)."""
    nodes = osm["nodes"]
    grade = [(refs, line) for _, refs, t, line in road_lines if t["highway"] not in NOT_WALKABLE]
    tree = shapely.STRtree([g for _, g in grade])
    a_idx, b_idx = tree.query([g for _, g in grade], predicate="intersects")
    bad = 0
    for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
        if a >= b:
            continue
        inter = grade[a][1].intersection(grade[b][1])
        shared = [nodes[r] for r in set(grade[a][0]) & set(grade[b][0])]
        for g in getattr(inter, "geoms", [inter]):
            assert g.geom_type == "Point", "two roads overlap"
            if not any(abs(g.x - x) < 2e-7 and abs(g.y - y) < 2e-7 for x, y in shared):
                bad += 1
    assert bad == 0, f"{bad} road crossings without a shared node"


def test_walking_network_is_connected(osm):
    parent: dict[int, int] = {}

    def find(a):
        root = a
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(a, a) != root:
            parent[a], a = root, parent[a]
        return root

    for _, refs, t in osm["ways"]:
        if "highway" not in t or t["highway"] in NOT_WALKABLE:
            continue
        for a, b in zip(refs[:-1], refs[1:], strict=True):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    roots = {
        find(n)
        for _, refs, t in osm["ways"]
        if "highway" in t and t["highway"] not in NOT_WALKABLE
        for n in refs
    }
    assert len(roots) == 1


# ------------------------------------------------------------------------------------------------
# boundaries
# ------------------------------------------------------------------------------------------------
def test_admin_codes_names_and_parents(units):
    ((cprops, _),) = units["county"]
    assert cprops["admin_code"] == "419901" and cprops["admin_name"] == "示范县"
    for props, _ in units["township"] + units["village"]:
        assert set(props) >= {"admin_code", "admin_name", "level", "parent_code"}
    town_codes = set()
    kinds = Counter()
    for props, _ in units["township"]:
        code, name = props["admin_code"], props["admin_name"]
        assert re.fullmatch(r"\d{9}", code) and props["parent_code"] == "419901" == code[:6]
        n = int(code[6:])
        if name.endswith("街道"):
            assert 1 <= n <= 99 and props["kind"] == "subdistrict"
        elif name.endswith("镇"):
            assert 100 <= n <= 199 and props["kind"] == "town"
        else:
            assert name.endswith("乡") and 200 <= n <= 399 and props["kind"] == "township"
        kinds[props["kind"]] += 1
        town_codes.add(code)
    assert 4 <= kinds["subdistrict"] <= 5
    assert 10 <= kinds["town"] + kinds["township"] <= 12
    codes = [p["admin_code"] for p, _ in units["township"] + units["village"]]
    assert len(codes) == len(set(codes))
    for props, _ in units["village"]:
        code, name = props["admin_code"], props["admin_name"]
        assert (
            re.fullmatch(r"\d{12}", code)
            and props["parent_code"] == code[:9]
            and code[:9] in town_codes
        )
        n = int(code[9:])
        if name.endswith("社区"):
            assert 1 <= n <= 199 and props["kind"] == "community"
        else:
            assert name.endswith("村") and 200 <= n <= 399 and props["kind"] == "village"
        kinds[props["kind"]] += 1
    assert 20 <= kinds["community"] <= 30
    assert 150 <= kinds["village"] <= 300
    village_names = [p["admin_name"] for p, _ in units["village"]]
    assert len(village_names) == len(set(village_names))


def test_admin_geojson_format(admin):
    text = ADMIN.read_text(encoding="utf-8")
    assert admin["doc"]["type"] == "FeatureCollection"
    nums = re.findall(r"-?\d+\.\d+", text[text.index('"features"') :])
    assert nums and all(len(x.split(".")[1]) == 6 for x in nums)
    for _, g, raw in admin["features"]:
        assert raw["type"] in ("Polygon", "MultiPolygon")
        assert g.is_valid
        polys = [g] if g.geom_type == "Polygon" else list(g.geoms)
        for p in polys:  # RFC 7946: counter-clockwise shells
            assert p.exterior.is_ccw


def test_admin_units_tile_the_county(units, county):
    county_m = metric(county)
    area = county_m.area
    assert 900e6 < area < 1500e6  # about 40 km x 35 km, irregular
    minx, miny, maxx, maxy = county_m.bounds
    assert 36e3 < maxx - minx < 46e3 and 31e3 < maxy - miny < 40e3
    villages = [metric(g) for _, g in units["village"]]
    townships = {p["admin_code"]: metric(g) for p, g in units["township"]}
    vunion = shapely.union_all(villages)
    assert abs(vunion.area - area) / area < 1e-3
    assert abs(sum(v.area for v in villages) - area) / area < 1e-3  # no overlaps
    assert abs(sum(t.area for t in townships.values()) - area) / area < 1e-3
    assert (
        shapely.union_all(list(townships.values())).symmetric_difference(county_m).area / area
        < 1e-3
    )
    for code, tg in townships.items():
        assert tg.geom_type == "Polygon", f"{code} is not contiguous"
        mem = [metric(g) for p, g in units["village"] if p["parent_code"] == code]
        assert mem
        diff = shapely.union_all(mem).symmetric_difference(tg).area
        assert diff / tg.area < 1e-4, code


def test_subdistricts_form_the_county_town(units):
    subs = [(p, g) for p, g in units["township"] if p["kind"] == "subdistrict"]
    centre = [g for p, g in subs if p["admin_name"] == "城关街道"][0]
    for p, g in subs:
        assert g.distance(centre) < 1e-6, p["admin_name"]
    sub_codes = {p["admin_code"] for p, _ in subs}
    for p, _ in units["village"]:
        if p["kind"] == "community":
            assert p["parent_code"] in sub_codes


# ------------------------------------------------------------------------------------------------
# population
# ------------------------------------------------------------------------------------------------
def test_population_raster(county):
    with rasterio.open(POP) as src:
        assert src.crs.to_epsg() == 4326
        assert src.dtypes[0] == "float32" and src.count == 1
        assert src.nodata == -99999
        assert abs(src.res[0] - 1 / 1200) < 1e-12 and abs(src.res[1] - 1 / 1200) < 1e-12
        assert src.profile.get("compress", "").lower() == "deflate"
        assert not any(k.startswith("TIFFTAG_DATETIME") for k in src.tags())
        a = src.read(1)
        west, north = src.transform.c, src.transform.f
    valid = a != -99999
    v = a[valid].astype(np.float64)
    assert (v >= 0).all()
    assert 350_000 <= v.sum() <= 550_000
    assert (v == 0).mean() > 0.5  # mostly fields
    assert v.max() > 150  # a dense town centre
    # valid cells are the county's cells
    rows, cols = np.nonzero(valid)
    lon = west + (cols + 0.5) / 1200
    lat = north - (rows + 0.5) / 1200
    inside = shapely.contains_xy(county, lon, lat)
    assert inside.all()


def test_population_by_settlement(units):
    with rasterio.open(POP) as src:
        a = src.read(1).astype(np.float64)
        t = src.transform
    a[a < 0] = 0
    lon = t.c + (np.arange(a.shape[1]) + 0.5) / 1200
    lat = t.f - (np.arange(a.shape[0]) + 0.5) / 1200
    LON, LAT = np.meshgrid(lon, lat)
    subs = shapely.union_all([g for p, g in units["township"] if p["kind"] == "subdistrict"])
    town = a[shapely.contains_xy(subs, LON, LAT)].sum()
    assert 200_000 <= town <= 300_000


# ------------------------------------------------------------------------------------------------
# facilities and candidates
# ------------------------------------------------------------------------------------------------
def test_facilities(facilities, units, county):
    with FAC.open(encoding="utf-8") as f:
        assert f.readline().strip() == "id,name,type,lon,lat"
    ids = [r["id"] for r in facilities]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"F\d{4}", i) for i in ids)
    assert {r["type"] for r in facilities} == FACILITY_TYPES
    for r in facilities:
        assert len(r["lon"].split(".")[1]) == 6 and len(r["lat"].split(".")[1]) == 6
        assert county.contains(Point(float(r["lon"]), float(r["lat"]))), r
    types = Counter(r["type"] for r in facilities)
    assert types["县医院"] == 1
    assert 6 <= types["社区卫生服务站"] <= 12
    pts = {r["id"]: Point(float(r["lon"]), float(r["lat"])) for r in facilities}

    def inside(g, typ):
        return [r for r in facilities if r["type"] == typ and g.contains(pts[r["id"]])]

    subs = [(p, g) for p, g in units["township"] if p["kind"] == "subdistrict"]
    without = [p["admin_name"] for p, g in subs if not inside(g, "社区卫生服务中心")]
    assert len(without) == 1
    assert types["社区卫生服务中心"] == len(subs) - 1
    rural = [(p, g) for p, g in units["township"] if p["kind"] != "subdistrict"]
    for p, g in rural:
        assert len(inside(g, "乡镇卫生院")) == 1, p["admin_name"]
    assert sum(1 for r in facilities if r["name"].endswith("中心卫生院")) == 1
    villages = [(p, g) for p, g in units["village"] if p["kind"] == "village"]
    share = types["村卫生室"] / len(villages)
    assert 0.78 <= share <= 0.92
    no_clinic = [p for p, g in villages if not inside(g, "村卫生室")]
    assert no_clinic
    # clinics are named after their village; some sit 1-3 km away from it
    centre = {p["admin_name"]: metric(g).representative_point() for p, g in villages}
    far = 0
    for r in facilities:
        if r["type"] == "村卫生室":
            assert r["name"].endswith("村卫生室") and r["name"][:-3] in centre
            d = metric(pts[r["id"]]).distance(centre[r["name"][:-3]])
            far += 1000 <= d <= 3500
    assert far >= 5


def test_candidates(candidates, county):
    with CAND.open(encoding="utf-8") as f:
        assert f.readline().strip() == "id,name,lon,lat,floor_area_m2,kind"
    assert 60 <= len(candidates) <= 120
    ids = [r["id"] for r in candidates]
    assert len(ids) == len(set(ids))
    kinds = Counter(r["kind"] for r in candidates)
    assert set(kinds) == CANDIDATE_KINDS
    areas = [int(r["floor_area_m2"]) for r in candidates]
    assert min(areas) == 80 and max(areas) == 6000
    assert sum(a >= 3500 for a in areas) >= 2 and sum(a >= 300 for a in areas) >= 20
    for r in candidates:
        assert county.contains(Point(float(r["lon"]), float(r["lat"])))
        assert not math.isnan(float(r["lon"]))
