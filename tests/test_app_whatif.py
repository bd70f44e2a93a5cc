"""The app's what-ifs of the existing facilities, its study area, the minutes slider as a filter
and the printed map, through ``streamlit.testing.v1.AppTest``: every number shown is compared
with the library's (planner.app.what_if with FacilityEdits, planner.app.restrict,
planner.analyze)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import planner
from planner import app as aps
from planner.i18n import Translator

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
EN = Translator("en")


@pytest.fixture
def at(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(tmp_path / "scenarios"))
    app = AppTest.from_file(APP, default_timeout=300)
    app.context = {"locale": "en-US"}
    return run(app)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at: AppTest, lon: float, lat: float) -> AppTest:
    at.session_state["map"] = {"last_clicked": {"lat": lat, "lng": lon}}
    return run(at)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def deltas(at: AppTest) -> dict[str, str]:
    return {m.label: m.delta for m in at.metric}


def busiest(result) -> str:
    own = result.demand.groupby("nearest_facility")["population"].sum()
    return str(own.sort_values().index[-1])


def test_close_move_and_retier_a_facility(at, demo, walk15):
    fid = busiest(walk15)
    uncovered = walk15.total_population - walk15.covered_population
    # pick it on the map: a click near its marker
    at.radio(key="w_click").set_value("pick")
    p = demo.facilities.loc[demo.facilities["facility_id"] == fid].geometry.iloc[0]
    click(at, p.x + 0.00005, p.y)  # about 5 m east of its marker
    assert at.session_state["w_fac_pick"] == fid
    assert at.session_state["scenario"].proposed == ()  # a pick adds no station
    # close it: the uncovered count rises by what the library says
    at.button(key="btn_fac_close").click()
    run(at)
    closed = aps.FacilityEdits().close(fid)
    w = aps.what_if(demo, walk15, (), edits=closed)
    assert w.newly_covered_population < 0
    shown = metrics(at)
    assert shown[EN("uncovered_after")] == f"{w.uncovered_population_after:,.0f}"
    assert shown[EN("newly_covered")] == f"{round(w.newly_covered_population):+,d}"
    assert deltas(at)[EN("uncovered_after")] == f"{round(-w.newly_covered_population):+,d}"
    assert w.uncovered_population_after > uncovered
    assert shown[EN("facilities_after")] == f"{len(walk15.facilities) - 1:,}"
    assert any(EN("edit_close", name="", detail="").strip() in m.value for m in at.markdown)
    # the map shows the closed facility and the residents it no longer covers
    fg = at.get("component_instance")[0].proto.json_args
    assert "planner-closed" in fg and "planner-newly-uncovered" in fg
    # move it instead: the Move button, then a click where to
    at.button(key="btn_fac_move").click()
    run(at)
    assert at.session_state["w_click"] == "move"
    q = walk15.uncovered.geometry.representative_point().iloc[0]
    click(at, q.x, q.y)
    moved = aps.FacilityEdits().move(fid, q.x, q.y)
    assert at.session_state["edits"] == moved
    w = aps.what_if(demo, walk15, (), edits=moved)
    assert metrics(at)[EN("newly_covered")] == f"{round(w.newly_covered_population):+,d}"
    # the map: where it went, what it newly covers and what it no longer covers
    fg = at.get("component_instance")[0].proto.json_args
    for css in ("planner-moved", "planner-newly-covered", "planner-newly-uncovered"):
        assert css in fg, css
    # a tier change on top
    at.selectbox(key="w_fac_tier").set_value("hospital")
    at.button(key="btn_fac_retier").click()
    run(at)
    both = moved.set_tier(fid, "hospital")
    assert at.session_state["edits"] == both
    w = aps.what_if(demo, walk15, (), edits=both)
    assert metrics(at)[EN("uncovered_after")] == f"{w.uncovered_population_after:,.0f}"
    # undo everything: back to the plain analysis
    at.button(key="btn_undo_all").click()
    run(at)
    assert metrics(at)[EN("uncovered_after")] == "–"


def test_study_area_restricts_the_headline(at, walk15):
    s = walk15.admin_summary
    towns = s[s["level"] == "township"].head(2)
    at.multiselect(key="w_area_units").set_value(list(towns["admin_code"]))
    run(at)
    shown = metrics(at)
    assert shown[EN("covered")] == f"{towns['covered_population'].sum():,.0f}"
    uncovered = towns["population"].sum() - towns["covered_population"].sum()
    assert shown[EN("uncovered")] == f"{uncovered:,.0f}"
    sub = aps.restrict(walk15, admin_codes=towns["admin_code"])
    assert shown[EN("share_inside", minutes=15)] == f"{100 * sub.covered_share:.1f} %"
    # a boundary clicked on the map, corner by corner
    at.multiselect(key="w_area_units").set_value([])
    at.radio(key="w_click").set_value("vertex")
    run(at)
    x0, y0, x1, y1 = walk15.demand.total_bounds
    xm = (x0 + x1) / 2
    corners = [(x0 - 0.01, y0 - 0.01), (xm, y0 - 0.01), (xm, y1 + 0.01), (x0 - 0.01, y1 + 0.01)]
    for lon, lat in corners:
        click(at, lon, lat)
    at.button(key="btn_area_use").click()
    run(at)
    sub = aps.restrict(walk15, polygon=aps.polygon_from_clicks(at.session_state["area_corners"]))
    assert metrics(at)[EN("covered")] == f"{sub.covered_population:,.0f}"
    assert sub.total_population < walk15.total_population
    at.button(key="btn_area_clear").click()
    run(at)
    assert metrics(at)[EN("covered")] == f"{walk15.covered_population:,.0f}"


def test_minutes_slider_is_a_filter_and_the_map_waits(at, demo, walk15):
    # maps drawn by earlier tests in this process count as drawn by "this server": forget them,
    # so the 10-minute map is new here whatever ran before (the test passed alone only)
    import streamlit as st

    st.cache_resource.clear()
    t0 = time.perf_counter()
    at.sidebar.slider(key="w_minutes").set_value(10)
    run(at)
    seconds = time.perf_counter() - t0
    r10 = planner.analyze(demo, minutes=10, isochrone_minutes=None, network=walk15.network)
    assert metrics(at)[EN("covered")] == f"{r10.covered_population:,.0f}"
    # the map keeps the 15-minute isochrones until asked
    assert any("15-minute" in c.value for c in at.caption)
    at.button(key="btn_map_redraw").click()
    run(at)
    assert not any("15-minute" in c.value for c in at.caption)
    print(f"\nminutes 15 -> 10, a whole AppTest rerun: {seconds:.2f} s (reported, not asserted)")


def test_export_map_button_gives_a_pdf(at, demo, walk15):
    labels = [d.proto.label for d in at.get("download_button")]
    assert EN("exp_map") in labels
    # what the button's deferred data calls
    pdf = aps.printable_map(walk15, None, lang="zh", format="pdf")
    assert pdf.startswith(b"%PDF")
    png = aps.printable_map(
        walk15,
        aps.what_if(demo, walk15, ((114.27, 34.52, "hospital"),)),
        lang="en",
        format="png",
        paper="A4",
    )
    assert png.startswith(b"\x89PNG")


def test_the_base_map_is_sent_once_per_session(at):
    """After the run that drew it, the map component gets only the layers: the base map's
    script (what streamlit_folium runs once, in a frame without a map) is not sent again."""
    import json

    def args() -> dict:
        return json.loads(at.get("component_instance")[0].proto.json_args)

    first = args()
    first_id = at.get("component_instance")[0].proto.id
    assert len(first["script"]) > 100_000
    click(at, 114.27, 34.52)
    again = args()
    assert len(again["script"]) < 1_000 and again["script"].startswith("/*")
    assert again["feature_group"] != first["feature_group"]  # the new station's layer is sent
    # a frame the browser rebuilt runs that short script, which asks for the whole map
    # (as a component value): the next run sends it whole, once
    at.session_state["map"] = {"planner_needs_map": 1733350000000}
    run(at)
    assert len(args()["script"]) > 100_000
    run(at)
    assert len(args()["script"]) < 1_000
    # the same component (same key: the browser keeps its frame and map)
    assert at.get("component_instance")[0].proto.id == first_id
    # another map (a base map chosen) is sent whole
    at.sidebar.selectbox(key="w_basemap").set_value("osm")
    run(at)
    assert "tile.openstreetmap.org" in args()["script"]
