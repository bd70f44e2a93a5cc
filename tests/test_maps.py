"""Offline folium maps (planner.maps): no CDN, vendored Leaflet, every layer drawn."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from _browser import chromium_page, need_chromium
from branca.colormap import ColorMap
from shapely.geometry import MultiPolygon, Point, box, shape

from planner import CRSError, InputError
from planner import maps as wm
from planner._errors import PackageDataError
from planner._maplayers import _isochrone_colors

REPO = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO / "test-output"
BOUNDS = (116.30, 39.80, 116.50, 40.00)


# ------------------------------------------------------------------------------------------
# Small hand-checkable layers (EPSG:4326)
# ------------------------------------------------------------------------------------------


@pytest.fixture
def boundaries() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "admin_code": ["110101", "110101001", "110101002", "110101001001"],
            "admin_name": ["示例区", "东街道", "西街道", "一社区"],
            "level": ["county", "township", "township", "village"],
        },
        geometry=[
            box(116.30, 39.80, 116.50, 40.00),
            box(116.40, 39.80, 116.50, 40.00),
            box(116.30, 39.80, 116.40, 40.00),
            box(116.42, 39.85, 116.48, 39.95),
        ],
        crs=4326,
    )


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    tiers = list(wm.TIER_STYLE)  # one facility per tier ...
    n = len(tiers)
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"f{i}" for i in range(n + 1)],
            "name": [f"机构 {i}" for i in range(n)] + ["A&B <Clinic>"],
            "tier": tiers + ["not_a_tier"],  # ... and one unknown tier, drawn as "other"
            "type": ["t"] * (n + 1),
        },
        geometry=[Point(116.33 + 0.02 * i, 39.90 + 0.01 * (i % 3)) for i in range(n + 1)],
        crs=4326,
    )


@pytest.fixture
def isochrones() -> gpd.GeoDataFrame:
    rows = []
    for fid, center in [("f0", Point(116.35, 39.90)), ("f1", Point(116.45, 39.92))]:
        for minutes, radius in [(5, 0.006), (10, 0.012), (15, 0.02)]:
            rows.append({"facility_id": fid, "minutes": minutes, "geometry": center.buffer(radius)})
    return gpd.GeoDataFrame(rows, crs=4326)


@pytest.fixture
def uncovered() -> gpd.GeoDataFrame:
    cells = [box(116.31 + 0.01 * i, 39.81, 116.32 + 0.01 * i, 39.82) for i in range(6)]
    cells[5] = MultiPolygon([cells[5], box(116.37, 39.83, 116.38, 39.84)])
    return gpd.GeoDataFrame(
        {"population": [3.0, 120.0, 640.0, 2500.0, 9000.0, 0.4]}, geometry=cells, crs=4326
    )


@pytest.fixture
def proposals() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": ["c1", "c2"],
            "tier": ["community_station", "village_clinic"],
            "newly_covered_population": [1234.0, 87.0],
        },
        geometry=[Point(116.36, 39.84), Point(116.47, 39.97)],
        crs=4326,
    )


@pytest.fixture
def layers(boundaries, facilities, isochrones, uncovered, proposals) -> dict:
    return {
        "boundaries": boundaries,
        "facilities": facilities,
        "isochrones": isochrones,
        "uncovered": uncovered,
        "proposals": proposals,
    }


def full_map(layers: dict, **kwargs) -> tuple[folium.Map, dict[str, folium.GeoJson]]:
    m = wm.new_map(BOUNDS, **kwargs)
    added = {
        "boundaries": wm.add_boundaries(m, layers["boundaries"]),
        "isochrones": wm.add_isochrones(m, layers["isochrones"]),
        "uncovered": wm.add_uncovered(m, layers["uncovered"]),
        "facilities": wm.add_facilities(m, layers["facilities"]),
        "proposals": wm.add_proposals(m, layers["proposals"]),
    }
    wm.add_legend(m, [("研究区 / study area", "#333333")], position="bottomleft")
    wm.add_layer_control(m)
    return m, added


# ------------------------------------------------------------------------------------------
# Helpers reading the rendered page
# ------------------------------------------------------------------------------------------

_TAG_URL = re.compile(r"<(script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']*)[\"']", re.I)


def tag_urls(page: str) -> list[tuple[str, str]]:
    """(tag, url) of every <script src> and <link href>."""
    return [(tag.lower(), url) for tag, url in _TAG_URL.findall(page)]


def without_vendored_leaflet(page: str) -> str:
    """The page minus the embedded Leaflet code/CSS and data: URIs (our own markup only)."""
    page = re.sub(r"<script>/\* @preserve\s+\* Leaflet .*?</script>", "", page, flags=re.S)
    page = re.sub(r"<style>/\* required styles \*/.*?</style>", "", page, flags=re.S)
    return re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", page)


def embedded_collections(page: str) -> list[dict]:
    """Every FeatureCollection that a folium GeoJson layer adds in the page's script."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(r"_add\((?=\{)", page):
        obj, _ = decoder.raw_decode(page, match.end())
        if obj.get("type") == "FeatureCollection":
            out.append(obj)
    return out


# ------------------------------------------------------------------------------------------
# Offline assets
# ------------------------------------------------------------------------------------------


def test_vendored_leaflet_files_present():
    leaflet = wm.STATIC_DIR / "leaflet"
    for name in [
        "leaflet.js",
        "leaflet.css",
        "LICENSE",
        *(f"images/{n}" for n in wm._LEAFLET_IMAGES),
    ]:
        assert (leaflet / name).is_file(), name
    assert f"Leaflet {wm.LEAFLET_VERSION}" in (leaflet / "leaflet.js").read_text()[:200]
    assert "BSD 2-Clause" in (leaflet / "LICENSE").read_text()
    # folium references the same Leaflet version from its CDN.
    assert f"leaflet@{wm.LEAFLET_VERSION}/" in dict(folium.Map.default_js)["leaflet"]
    assert (wm.STATIC_DIR / "README.md").is_file()


def test_repo_static_symlink_and_streamlit_config():
    link = REPO / "static"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == wm.STATIC_DIR
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True


def test_inline_map_loads_nothing_from_the_network(layers):
    m, _ = full_map(layers)
    page = m.get_root().render()

    assert tag_urls(page) == []  # no <script src> or <link href> at all: everything is inline
    assert "Leaflet 1.9.3" in page and "L.map(" in page
    assert ".leaflet-pane" in page and "url(images/" not in page  # CSS inline, images data: URIs
    assert 'L.Icon.Default.imagePath = ""' in page
    ours = without_vendored_leaflet(page)
    assert not re.search(r"https?://|//cdn|cdn\.|cdnjs|jsdelivr|unpkg", ours, re.I), re.findall(
        r"\S*(?:https?://|cdn)\S*", ours, re.I
    )
    for lib in [
        "jquery",
        "bootstrap",
        "font-awesome",
        "fontawesome",
        "awesome-markers",
        "d3.",
        "$(",
    ]:
        assert lib not in ours.lower(), lib
    assert wm._external_assets(page) == []


def test_folium_class_defaults_are_not_mutated():
    before_js, before_css = list(folium.Map.default_js), list(folium.Map.default_css)
    wm.new_map(BOUNDS, assets="served")
    wm.new_map(BOUNDS)
    assert folium.Map.default_js == before_js and folium.Map.default_css == before_css
    plain = folium.Map().get_root().render()
    assert "cdn.jsdelivr.net/npm/leaflet@1.9.3" in plain  # folium itself is untouched


def test_served_map_references_streamlit_static_path(layers):
    m, _ = full_map(layers, assets="served")
    page = m.get_root().render()
    urls = tag_urls(page)
    assert urls == [
        ("script", "/app/static/leaflet/leaflet.js"),
        ("link", "/app/static/leaflet/leaflet.css"),
    ]
    assert "Leaflet 1.9.3" not in page  # not embedded
    assert 'L.Icon.Default.imagePath = "/app/static/leaflet/images/"' in page
    # Every served path exists under planner/static (served via the ./static symlink).
    for _, url in urls:
        assert (wm.STATIC_DIR / url.removeprefix("/app/static/")).is_file()
    assert (wm.STATIC_DIR / "leaflet/images/marker-icon.png").is_file()
    # streamlit-folium loads exactly these links (it reads default_js/default_css).
    assert m.default_js == [("leaflet", "/app/static/leaflet/leaflet.js")]
    assert m.default_css == [("leaflet_css", "/app/static/leaflet/leaflet.css")]


def test_served_map_custom_static_url():
    m = wm.new_map(BOUNDS, assets="served", static_url="/planner/app/static/")
    page = m.get_root().render()
    assert ("script", "/planner/app/static/leaflet/leaflet.js") in tag_urls(page)


def test_no_basemap_by_default_plain_background(layers):
    m, _ = full_map(layers)
    assert not [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    page = m.get_root().render()
    assert wm.DEFAULT_BACKGROUND in page
    assert "tile.openstreetmap.org" not in page


def test_osm_basemap_only_when_asked_and_shown_when_asked(layers):
    m, _ = full_map(layers, basemap="osm")
    tiles = [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    # chosen by the user: on when the map opens, and switchable in the layer control
    assert len(tiles) == 1 and tiles[0].show is True and tiles[0].overlay is True
    page = m.get_root().render()
    assert tag_urls(page) == []
    hosts = set(re.findall(r"https?://([^/\"'\s]+)", without_vendored_leaflet(page)))
    assert hosts and all(h.endswith("openstreetmap.org") for h in hosts), hosts


@pytest.mark.parametrize(("name", "datum"), [("baidu", "BD-09"), ("BD09", "BD-09")])
def test_baidu_basemap_refused(name, datum):
    """Baidu's BD-09 tiles use their own tiling: refused, pointing to what works."""
    with pytest.raises(ValueError, match=datum) as err:
        wm.new_map(BOUNDS, basemap=name)
    assert "'amap'" in str(err.value)


def test_bad_options():
    with pytest.raises(ValueError, match="assets="):
        wm.new_map(BOUNDS, assets="cdn")
    with pytest.raises(ValueError, match="basemap="):
        wm.new_map(BOUNDS, basemap="satellite")
    with pytest.raises(ValueError, match="lang="):
        wm.new_map(BOUNDS, lang="fr")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: wm.new_map(BOUNDS, assets="cdn"), "assets="),
        (lambda: wm.new_map(BOUNDS, basemap="satellite"), "basemap="),
        (lambda: wm.new_map(BOUNDS, basemap="baidu"), "BD-09"),
        (lambda: wm.new_map(BOUNDS, basemap="tianditu_vec"), "tianditu_key="),
        (lambda: wm.new_map(BOUNDS, lang="fr"), "lang="),
        (lambda: wm.symbol_svg("hexagon", "#000000", 16), "symbol="),
        (lambda: wm.add_legend(wm.new_map(BOUNDS), [], position="middle"), "position="),
    ],
)
def test_bad_options_raise_the_projects_input_error(call, match):
    """planner's own error (callers that catch ValueError still do: it subclasses it)."""
    with pytest.raises(InputError, match=match) as err:
        call()
    assert isinstance(err.value, ValueError)


def test_unembeddable_vendored_leaflet_is_a_package_data_error(tmp_path, monkeypatch):
    broken = tmp_path / "leaflet"
    shutil.copytree(wm._LEAFLET_DIR, broken)
    js = broken / "leaflet.js"
    js.write_text(js.read_text(encoding="utf-8") + "\n// </script>\n", encoding="utf-8")
    monkeypatch.setattr(wm, "_LEAFLET_DIR", broken)
    wm._inline_assets.cache_clear()
    try:
        with pytest.raises(PackageDataError, match="closing tag") as err:
            wm._inline_assets()
        assert isinstance(err.value, RuntimeError) and str(broken) in str(err.value)
    finally:
        wm._inline_assets.cache_clear()  # the next map embeds the real Leaflet again


@pytest.mark.parametrize(
    ("bounds", "match"),
    [
        ((np.nan, np.nan, np.nan, np.nan), "NaN"),
        ((116.5, 39.8, 116.3, 40.0), "not \\(minx"),
        ((500000.0, 4400000.0, 510000.0, 4410000.0), "not \\(minx"),
        ((116.3, 39.8), "expected"),
    ],
)
def test_bad_bounds(bounds, match):
    with pytest.raises(InputError, match=match):
        wm.new_map(bounds)


def test_point_bounds_are_opened_and_zoom_is_limited():
    m = wm.new_map((116.4, 39.9, 116.4, 39.9))
    page = m.get_root().render()
    fit = re.search(r"fitBounds\(\s*\[\[([^\]]+)\], \[([^\]]+)\]\]", page)
    (lat0, lon0), (lat1, lon1) = (map(float, g.split(",")) for g in fit.groups())
    assert lat1 - lat0 > 0.005 and lon1 - lon0 > 0.005
    assert '"maxZoom": 19' in page


# ------------------------------------------------------------------------------------------
# Layers
# ------------------------------------------------------------------------------------------


def test_every_layer_adds_its_features(layers):
    m, added = full_map(layers)
    for key, layer in added.items():
        assert len(layer.data["features"]) == len(layers[key]), key
    page = m.get_root().render()
    counts = sorted(len(fc["features"]) for fc in embedded_collections(page))
    assert counts == sorted(len(gdf) for gdf in layers.values())
    names = re.search(r"overlays :\s*\{(.*?)\}", page, re.S).group(1)
    for label in [
        "Boundaries",
        "Isochrones",
        "Uncovered population",
        "Facilities",
        "Proposed sites",
    ]:
        assert label in names


def test_coordinates_rounded_to_6_decimals_and_properties_minimal(layers):
    _, added = full_map(layers)
    for layer in added.values():
        text = json.dumps([f["geometry"]["coordinates"] for f in layer.data["features"]])
        numbers = re.findall(r"-?\d+(?:\.(\d+))?(?:e-?\d+)?", text)
        assert numbers and max(len(d) for d in numbers) <= 6
    assert set(added["uncovered"].data["features"][0]["properties"]) == {"population"}


def test_polygons_simplified_to_about_5_m():
    circle = Point(116.4, 39.9).buffer(0.01, quad_segs=256)  # ~1 km radius, 1025 vertices
    gdf = gpd.GeoDataFrame({"population": [10.0]}, geometry=[circle], crs=4326)
    kept = wm.add_uncovered(wm.new_map(BOUNDS), gdf, simplify_m=0).data["features"][0]
    simple = wm.add_uncovered(wm.new_map(BOUNDS), gdf).data["features"][0]
    n_kept = len(kept["geometry"]["coordinates"][0])
    n_simple = len(simple["geometry"]["coordinates"][0])
    assert n_kept == 1025 and n_simple < n_kept / 3
    # Hausdorff distance in metres (local equirectangular scale) stays within ~5 m.
    k = np.cos(np.radians(39.9))
    a, b = (
        shapely.transform(shape(f["geometry"]), lambda c: c * [k * 111_320, 111_320])
        for f in (kept, simple)
    )
    assert a.hausdorff_distance(b) <= 5.5


def test_isochrones_larger_first_and_lighter(isochrones):
    m = wm.new_map(BOUNDS)
    layer = wm.add_isochrones(m, isochrones)
    minutes = [f["properties"]["minutes"] for f in layer.data["features"]]
    assert minutes == sorted(minutes, reverse=True)
    colors = _isochrone_colors([5.0, 10.0, 15.0])

    def luminance(hex_color: str) -> float:
        r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert luminance(colors[5.0]) < luminance(colors[10.0]) < luminance(colors[15.0])
    page = m.get_root().render()
    assert "within 5 min" in page and "within 15 min" in page  # legend


def test_isochrones_dissolve_one_feature_per_threshold(isochrones):
    layer = wm.add_isochrones(wm.new_map(BOUNDS), isochrones, dissolve=True)
    assert [f["properties"]["minutes"] for f in layer.data["features"]] == [15, 10, 5]


def test_facility_symbols_distinct_per_tier(facilities):
    styles = list(wm.TIER_STYLE.values())
    assert len({s.color for s in styles}) == len(styles)
    assert len({s.symbol for s in styles}) == len(styles)
    assert all(s.zh and s.en for s in styles)
    m = wm.new_map(BOUNDS)
    layer = wm.add_facilities(m, facilities)
    page = m.get_root().render()
    for tier in wm.TIER_STYLE:
        assert f"planner-symbol planner-{tier}" in page
    props = {f["properties"]["facility_id"]: f["properties"] for f in layer.data["features"]}
    assert props["f1"]["tier_label"] == wm.TIER_STYLE[facilities["tier"][1]].label("both")
    assert "Other health facility" in props[f"f{len(wm.TIER_STYLE)}"]["tier_label"]
    assert props[f"f{len(wm.TIER_STYLE)}"]["name"] == "A&amp;B &lt;Clinic&gt;"  # tooltip is HTML
    assert "<svg" in page and ".DivIcon(" in page and "AwesomeMarkers" not in page


def test_labels_follow_lang(facilities):
    m = wm.new_map(BOUNDS)
    layer = wm.add_facilities(m, facilities, lang="zh")
    assert layer.layer_name == "医疗卫生机构"
    assert layer.data["features"][0]["properties"]["tier_label"] == wm.TIER_STYLE["hospital"].zh
    assert wm.add_facilities(m, facilities, lang="en").layer_name == "Facilities"


def test_uncovered_choropleth_with_legend_and_no_branca_d3(uncovered):
    m = wm.new_map(BOUNDS)
    layer = wm.add_uncovered(m, uncovered)
    fills = {}
    for f in layer.data["features"]:
        fills[f["properties"]["population"]] = layer.style_function(f)["fillColor"]
    # the fixed classes: < 100, 100-499, 500-999, 1,000-4,999, >= 5,000 residents
    assert fills == {
        3: "#ffffb2",
        120: "#fecc5c",
        640: "#fd8d3c",
        2500: "#f03b20",
        9000: "#bd0026",
        0: "#ffffb2",
    }
    page = m.get_root().render()
    assert "planner-legend" in page and "Uncovered population" in page
    assert not [c for c in m._children.values() if isinstance(c, ColorMap)]
    assert not re.search(r"d3(js|\.v\d|\.min)", page)


def test_proposals_are_stars_above_facilities(proposals):
    m = wm.new_map(BOUNDS)
    layer = wm.add_proposals(m, proposals)
    assert '"zIndexOffset": 1000' in m.get_root().render()
    style = layer.style_function(layer.data["features"][0])
    assert "planner-proposal" in style["className"] and "<path" in style["html"]
    assert layer.data["features"][0]["properties"]["newly_covered_population"] == 1234


def test_boundaries_outline_only_thicker_for_higher_levels(boundaries):
    m = wm.new_map(BOUNDS)
    layer = wm.add_boundaries(m, boundaries)
    styles = {f["properties"]["level"]: layer.style_function(f) for f in layer.data["features"]}
    assert all(s["fill"] is False for s in styles.values())
    assert styles["county"]["weight"] > styles["township"]["weight"] > styles["village"]["weight"]
    assert [f["properties"]["level"] for f in layer.data["features"]][-1] == "county"  # on top
    page = m.get_root().render()
    assert "createPane" in page and "pointerEvents = 'none'" in page
    props = [f["properties"] for f in embedded_collections(page)[0]["features"]]
    assert {"admin_name": "东街道", "admin_code": "110101001"}.items() <= props[1].items()


def test_legend_items_escaped_and_bound_to_layer(facilities):
    m = wm.new_map(BOUNDS)
    layer = wm.add_facilities(m, facilities, legend=False)
    wm.add_legend(m, {"<b>x</b> / 图例": "#ff0000"}, title="T & T", layer=layer)
    page = m.get_root().render()
    assert "\\u0026lt;b\\u0026gt;x" in page  # label escaped (then JSON-escaped)
    # one section of the map's single legend box, shown while the layer is on
    assert re.search(
        rf"plannerLegendSection\(map_\w+, \{{[^}}]*layer: {layer.get_name()}\s*\}}", page
    )
    with pytest.raises(ValueError, match="position"):
        wm.add_legend(m, [], position="middle")


def test_inputs_not_mutated_and_other_crs_reprojected(layers):
    before = {k: v.copy() for k, v in layers.items()}
    full_map(layers)
    for k, v in layers.items():
        assert v.equals(before[k]) and v.crs == before[k].crs, k
    m = wm.new_map(BOUNDS)
    a = wm.add_facilities(m, layers["facilities"])
    b = wm.add_facilities(m, layers["facilities"].to_crs(3857))
    ca = [f["geometry"]["coordinates"] for f in a.data["features"]]
    cb = [f["geometry"]["coordinates"] for f in b.data["features"]]
    np.testing.assert_allclose(ca, cb, atol=2e-6)


def test_validation_messages(facilities, uncovered):
    m = wm.new_map(BOUNDS)
    with pytest.raises(InputError, match=r"facilities: column\(s\) 'tier' missing"):
        wm.add_facilities(m, facilities.drop(columns="tier"))
    with pytest.raises(CRSError, match="set_crs"):
        wm.add_facilities(m, facilities.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="not points"):
        wm.add_facilities(
            m, facilities.set_geometry(shapely.buffer(facilities.geometry.array, 0.001))
        )
    with pytest.raises(InputError, match="'population' is not numeric"):
        wm.add_uncovered(m, uncovered.assign(population="many"))


def test_empty_layers_render(uncovered, facilities):
    m = wm.new_map(BOUNDS)
    assert wm.add_uncovered(m, uncovered.iloc[:0]).data["features"] == []
    assert wm.add_facilities(m, facilities.iloc[:0]).data["features"] == []
    m.get_root().render()


def test_save_html_self_contained(tmp_path, layers):
    m, _ = full_map(layers, assets="served")
    path = wm.save_html(m, tmp_path / "sub" / "map.html")
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size > 150_000  # Leaflet itself is ~147 kB
    assert tag_urls(page) == [] and "Leaflet 1.9.3" in page and "/app/static" not in page
    assert len(embedded_collections(page)) == 5
    # The map itself stays a served map for st_folium.
    again = m.get_root().render()
    assert ("script", "/app/static/leaflet/leaflet.js") in tag_urls(again)
    assert "Leaflet 1.9.3" not in again


def test_save_html_warns_about_cdn_plugins(tmp_path, caplog):
    from folium.plugins import MarkerCluster

    m = wm.new_map(BOUNDS)
    MarkerCluster().add_to(m)  # needs leaflet.markercluster from a CDN: not offline
    with caplog.at_level("WARNING", logger="planner.maps"):
        wm.save_html(m, tmp_path / "map.html")
    assert "loads assets from the network" in caplog.text and "markercluster" in caplog.text


def test_save_html_needs_a_planner_map(tmp_path):
    with pytest.raises(InputError, match="new_map"):
        wm.save_html(folium.Map(), tmp_path / "map.html")


# ------------------------------------------------------------------------------------------
# Real browser
# ------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_saved_map_renders_offline_in_chromium(tmp_path, layers):
    need_chromium()
    start = time.perf_counter()
    m, _ = full_map(layers)
    path = wm.save_html(m, tmp_path / "map.html")

    n_poly = len(layers["isochrones"]) + len(layers["uncovered"])
    n_outlines = len(layers["boundaries"])
    n_markers = len(layers["facilities"]) + len(layers["proposals"])

    with chromium_page("file:", viewport=(1100, 800)) as (page, attempted, problems):
        page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container", timeout=15_000)
        page.wait_for_selector(".leaflet-marker-pane .planner-symbol", timeout=15_000)
        page.wait_for_function(
            f"document.querySelectorAll('.leaflet-overlay-pane path').length >= {n_poly}",
            timeout=15_000,
        )

        overlay_paths = page.locator(".leaflet-overlay-pane svg path").count()
        outline_paths = page.locator(".leaflet-plannerBoundaries-pane svg path").count()
        markers = page.locator(".leaflet-marker-pane .planner-symbol").count()
        stars = page.locator(".leaflet-marker-pane .planner-proposal").count()
        legends = page.evaluate(
            "Array.from(document.querySelectorAll('.planner-legend-section')).filter(e => e.style.display !== 'none').length"
        )
        boxes = page.locator(".planner-legend").count()
        overlays = page.locator(".leaflet-control-layers-overlays label").count()
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor"
        )
        assert page.evaluate("L.version") == wm.LEAFLET_VERSION
        font_size = page.evaluate(
            "getComputedStyle(document.querySelector('.leaflet-control-layers')).fontSize"
        )

        # Uncovered cells lie under the boundary pane: their tooltips must still work.
        cell = page.locator(".leaflet-overlay-pane svg path[fill='#bd0026']").first
        cell.hover(force=True)
        page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
        tooltip = page.locator(".leaflet-tooltip").inner_text()

        # Switching a layer off in the layer control also hides its legend.
        page.locator(".leaflet-control-layers-overlays label", has_text="Facilities").click()
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.planner-legend-section')).filter(e => e.style.display !== 'none').length === 4"
        )
        markers_after_toggle = page.locator(".leaflet-marker-pane .planner-symbol").count()
        page.locator(".leaflet-control-layers-overlays label", has_text="Facilities").click()
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.planner-legend-section')).filter(e => e.style.display !== 'none').length === 5"
        )

        TEST_OUTPUT.mkdir(exist_ok=True)
        shot = TEST_OUTPUT / "webmap_offline.png"
        page.screenshot(path=str(shot))
    elapsed = time.perf_counter() - start

    assert attempted == [], f"network requests attempted: {attempted}"
    assert problems == [], problems
    assert overlay_paths == n_poly
    assert outline_paths == n_outlines
    assert markers == n_markers and stars == len(layers["proposals"])
    assert legends == 5  # facilities, isochrones, uncovered, proposals + the custom one
    assert boxes == 2  # one legend box per corner used (bottom right, bottom left)
    assert overlays == 5
    assert markers_after_toggle == len(layers["proposals"])
    assert background == "rgb(242, 239, 233)"  # DEFAULT_BACKGROUND, no tiles
    assert font_size == "13px"
    assert "9,000" in tooltip, tooltip  # the cell of the top class (>= 5,000 residents)
    assert shot.stat().st_size > 10_000
    print(
        f"\nchromium: {overlay_paths} overlay paths, {outline_paths} outlines, {markers} markers "
        f"({stars} stars), {legends} legends, tooltip {tooltip!r}; screenshot {shot}; "
        f"{elapsed:.1f} s"
    )
