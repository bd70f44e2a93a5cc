"""The app's map on an online base map: the sidebar choice, the layers shifted into GCJ-02 on
Amap, and a click read back into WGS-84 (planner.app.mapview and app.py, through AppTest)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import planner
from planner import app as aps
from planner._chinacrs import wgs84_to_gcj02
from planner.i18n import Translator

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def metres(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    r = 6_371_008.8
    p0, p1 = math.radians(lat0), math.radians(lat1)
    a = (
        math.sin((p1 - p0) / 2) ** 2
        + math.cos(p0) * math.cos(p1) * math.sin(math.radians(lon1 - lon0) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def demo():
    ds = planner.load_demo()
    return ds, planner.analyze(ds, isochrone_minutes=None)


def test_whatif_layers_follow_the_base_maps_datum(demo):
    ds, result = demo
    u = result.uncovered.geometry.iloc[0].representative_point()
    w = aps.what_if(ds, result, ((u.x, u.y, "community_station"),))
    plain = aps.feature_groups_script(aps.whatif_layers(w, lang="zh"))
    shifted = aps.feature_groups_script(aps.whatif_layers(w, lang="zh", datum="gcj02"))
    site = [round(float(v), 6) for v in (w.sites.geometry.x.iloc[0], w.sites.geometry.y.iloc[0])]
    gx, gy = (round(float(v), 6) for v in wgs84_to_gcj02(*site))
    assert f"[{site[0]}, {site[1]}]" in plain and f"[{gx}, {gy}]" not in plain
    assert f"[{gx}, {gy}]" in shifted and f"[{site[0]}, {site[1]}]" not in shifted
    assert shifted.count("planner-newly-covered") == plain.count("planner-newly-covered") >= 1


def test_base_map_on_amap_is_drawn_in_gcj02(demo):
    ds, result = demo
    payload = aps.map_payload(aps.base_map(ds, result, None, lang="en", basemap="amap"))
    assert payload.datum == "gcj02"
    assert "autonavi.com" in payload.script
    plain = aps.map_payload(aps.base_map(ds, result, None, lang="en"))
    assert plain.datum == "wgs84" and "tileLayer" not in plain.script
    assert aps.BASEMAP_CHOICES[0] == "none"  # offline by default
    assert aps.basemap_needs_key("tianditu_vec") and not aps.basemap_needs_key("amap")


def test_click_on_the_amap_map_adds_the_site_where_the_person_pointed(tmp_path, monkeypatch):
    """Sidebar: Amap. A click on the GCJ-02 map at the place of a WGS-84 point adds the site
    at that WGS-84 point (within 1 m), and the what-if numbers are the library's for it."""
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(tmp_path))
    ds = planner.load_demo()
    result = planner.analyze(ds, isochrone_minutes=None)
    pt = result.uncovered.geometry.iloc[0].representative_point()
    at = AppTest.from_file(APP, default_timeout=120)
    at.context = {"locale": "en-US"}
    at.run()
    at.sidebar.selectbox(key="w_basemap").set_value("amap")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    args = json.loads(at.get("component_instance")[0].proto.json_args)
    assert "autonavi.com" in args["script"]
    gx, gy = wgs84_to_gcj02(pt.x, pt.y)
    assert metres(pt.x, pt.y, float(gx), float(gy)) > 100  # a click not shifted back is off
    at.session_state["map"] = {"last_clicked": {"lat": float(gy), "lng": float(gx)}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (lon, lat, tier) = at.session_state["scenario"].proposed[0]
    assert metres(pt.x, pt.y, lon, lat) < 1.0
    w = aps.what_if(ds, result, ((lon, lat, tier),))
    shown = {m.label: m.value for m in at.metric}
    newly = shown[Translator("en")("newly_covered")].lstrip("+")  # shown as a gain
    assert newly == f"{w.newly_covered_population:,.0f}"
    # the star is drawn in GCJ-02 too, where the person clicked
    fg = json.loads(at.get("component_instance")[0].proto.json_args)["feature_group"]
    sx, sy = (round(float(v), 6) for v in wgs84_to_gcj02(lon, lat))
    assert f"[{sx}, {sy}]" in fg
    assert metres(sx, sy, float(gx), float(gy)) < 1.0


def test_tianditu_needs_a_key_before_tiles_are_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(tmp_path))
    T = Translator("en")
    at = AppTest.from_file(APP, default_timeout=120)
    at.context = {"locale": "en-US"}
    at.run()
    at.sidebar.selectbox(key="w_basemap").set_value("tianditu_img")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
    assert "tianditu" not in script and "tileLayer" not in script  # no key: no tiles yet
    assert any(T("tianditu_need_key") in c.value for c in at.sidebar.caption)
    at.sidebar.text_input(key="w_tianditu_key").set_value("0123abcd")
    at.run()
    script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
    assert "tianditu.gov.cn/img_w" in script and "tianditu.gov.cn/eia_w" in script  # + labels
    assert script.count("tk=0123abcd") == 2
