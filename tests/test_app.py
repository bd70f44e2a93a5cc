"""The Streamlit app (app.py) through ``streamlit.testing.v1.AppTest``, and its helpers
(planner.app, planner.i18n).

Every number the app shows is compared with what the library computes when called directly.
A map click is what ``streamlit_folium`` stores in ``st.session_state["map"]`` before the rerun;
the tests set that value (the real click is exercised in tests/test_app_browser.py).
"""

from __future__ import annotations

import io
import json
import re
import statistics
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner import app as aps
from planner import i18n, siting
from planner.app import mapview, uploads
from planner.i18n import STRINGS, Translator, detect_language
from planner.scenario import Scenario

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
DATA = REPO / "data"
TIMEOUT = 300  # seconds per run: the first run builds the network, isochrones and the map
EN = Translator("en")

CLICK_A = (114.27, 34.52)  # lon, lat: west of the county town, many uncovered residents
CLICK_B = (114.33, 34.521)  # 锦绣新城社区, a new residential area without a facility


# ------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def walk15(demo) -> planner.CoverageResult:
    return planner.analyze(demo, mode="walk", minutes=15, isochrone_minutes=None)


@pytest.fixture
def scn_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "scenarios"
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(folder))
    return folder


def start(*, locale: str | None = "en-US", query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": locale} if locale else {}
    if query:
        at.query_params.update(query)
    return run(at)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at: AppTest, lon: float, lat: float) -> AppTest:
    """What streamlit_folium stores on a click, then the rerun it triggers."""
    at.session_state["map"] = {"last_clicked": {"lat": lat, "lng": lon}}
    return run(at)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, column: str, *, row: bool = False) -> pd.DataFrame:
    """The first table shown with a column (or, with ``row``, a row) labelled ``column``."""
    for df in at.dataframe:
        v = df.value
        if column in (v.index if row else v.columns):
            return v
    raise AssertionError(f"no table with {'row' if row else 'column'} {column!r}")


def has_table(at: AppTest, column: str) -> bool:
    return any(column in d.value.columns or column in d.value.index for d in at.dataframe)


def map_args(at: AppTest, i: int = 0) -> dict:
    return json.loads(at.get("component_instance")[i].proto.json_args)


def headline(result: planner.CoverageResult) -> dict[str, str]:
    return {
        EN("share_inside", minutes=result.settings.minutes): f"{100 * result.covered_share:.1f} %",
        EN("covered"): f"{result.covered_population:,.0f}",
        EN("uncovered"): f"{result.total_population - result.covered_population:,.0f}",
        EN("facilities_count"): f"{len(result.facilities):,}",
    }


def assert_headline(at: AppTest, result: planner.CoverageResult) -> None:
    shown = metrics(at)
    for label, value in headline(result).items():
        assert shown.get(label) == value, (label, shown.get(label), value)


def assert_whatif(at: AppTest, ds, result, proposed) -> aps.WhatIf:
    """The app's what-if numbers equal planner's for the same sites."""
    w = aps.what_if(ds, result, proposed)
    ev = siting.evaluate_sites(result, aps.proposed_frame(proposed))
    assert ev.newly_covered_population == pytest.approx(w.newly_covered_population)
    shown = metrics(at)
    assert shown[EN("newly_covered")] == f"{round(ev.newly_covered_population):+,d}"
    assert (
        shown[EN("with_proposals")]
        == f"{100 * ev.covered_population_after / ev.total_population:.1f} %"
    )
    sites = table(at, EN("col_catchment"))
    assert list(sites[EN("col_site")]) == list(w.sites["site_id"])
    np.testing.assert_allclose(sites[EN("col_newly")], w.sites["newly_covered_population"].round())
    np.testing.assert_allclose(sites[EN("col_catchment")], w.sites["catchment_population"].round())
    np.testing.assert_allclose(sites[EN("lon")], [p[0] for p in proposed], atol=1e-6)
    per_admin = table(at, EN("col_level"))
    np.testing.assert_allclose(
        per_admin[EN("col_newly")], w.per_admin["newly_covered_population"].round()
    )
    assert sorted(per_admin[EN("col_newly")].tolist()) == sorted(
        ev.per_admin["newly_covered_population"].round().tolist()
    )
    nearest = table(at, EN("col_old_facility"))
    np.testing.assert_allclose(
        nearest[EN("col_population")], w.nearest_changes["population"].round()
    )
    assert nearest[EN("col_population")].sum() == pytest.approx(
        ev.nearest_changed["population"].sum(), abs=len(nearest)
    )
    change = table(at, f"{EN('col_met')} · {EN('col_after')}")
    # counts shown as text with separators ("–" for none)
    assert change[f"{EN('col_met')} · {EN('col_after')}"].tolist() == [
        aps.count_text(v) for v in w.change["met_after"]
    ]
    assert change[f"{EN('col_missing')} · {EN('col_after')}"].tolist() == [
        aps.count_text(v) for v in w.change["missing_after"]
    ]
    town = table(at, EN("col_mean_minutes"))
    gains = w.per_admin[w.per_admin["level"] == "township"].set_index("admin_name")[
        "newly_covered_population"
    ]
    shown_gain = town.set_index(EN("col_unit"))[EN("col_newly")]
    for name, g in gains.items():
        assert shown_gain[name] == round(g)
    # the map's dynamic layer has one star per site and the newly covered areas
    fg = map_args(at)["feature_group"]
    assert fg.count('"site_id": "P') >= len(proposed) and "planner-newly-covered" in fg
    return w


# ------------------------------------------------------------------------------------------
# Opening: demo county, map, headline numbers, standards table
# ------------------------------------------------------------------------------------------


def test_opens_on_the_demo_county_with_the_library_numbers(scn_dir, demo, walk15):
    at = start()
    assert at.title[0].value == EN("title")
    assert any("Synthetic demo data" in w.value for w in at.warning)  # labelled as synthetic
    assert_headline(at, walk15)
    args = map_args(at)  # the base map's script is sent with the session's first run only

    # per township/subdistrict: the library's admin summary
    town = table(at, EN("col_mean_minutes"))
    lib = walk15.admin_summary[walk15.admin_summary["level"] == "township"]
    assert list(town[EN("col_unit")]) == list(lib["admin_name"])
    np.testing.assert_allclose(town[EN("col_population")], lib["population"].round())
    np.testing.assert_allclose(town[EN("col_covered")], lib["covered_population"].round())
    np.testing.assert_allclose(town[EN("col_share")], (100 * lib["covered_share"]).round(1))

    # the standards table: planner's rule checks, cited
    units = aps.standards_units(demo, walk15)
    summary = aps.standards_summary(units, demo, walk15)
    std = table(at, EN("col_requirement"))
    assert std[EN("col_met")].tolist() == [f"{v:,}" for v in summary["met"]]
    assert std[EN("col_missing")].tolist() == [f"{v:,}" for v in summary["missing"]]
    # readable: per cent, separators, never None or nan
    assert std[EN("col_compliance")].str.fullmatch(r"\d+\.\d %|–").all()
    assert not std.isin(["None", "nan", "nan %"]).any().any() and std.notna().all().all()
    assert all("standards rule" in s for s in std[EN("col_source")])
    r1 = std[std[EN("col_rule")].str.startswith("R1")][EN("col_figure")].iloc[0]
    assert r1 == f"{100 * walk15.covered_share:.1f} %"  # rule 1 at 15 min = the headline share
    # the units of one rule
    at.selectbox(key="w_rule_pick").set_value("R5")
    run(at)
    per_unit = table(at, EN("col_status"))
    lib_r5 = units[units["rule"] == "R5"]
    assert len(per_unit) == len(lib_r5) == 232
    assert per_unit[EN("col_status")].tolist() == [EN(f"status_{s}") for s in lib_r5["status"]]
    assert per_unit[EN("col_count")].tolist() == [aps.count_text(v) for v in lib_r5["count"]]

    # the map: Leaflet sent with the map (its frame fetches nothing), no tiles, every facility
    # and layer in it
    assert args["js_links"] == [] and args["css_links"] == []
    assert args["script"].startswith("/* @preserve") and "Leaflet 1.9.3" in args["script"][:200]
    assert ".leaflet-container" in args["header"]
    script = args["script"]
    assert "openstreetmap" not in script.lower() and "://" not in "".join(
        args["js_links"] + args["css_links"]
    )
    assert all(f'"{fid}"' in script for fid in walk15.facilities["facility_id"])
    for layer in (
        "Boundaries",
        "Isochrones",
        "Uncovered population",
        "Facilities",
        "within 5 min",
        "within 10 min",
        "within 15 min",
        "Proposed site (click the map)",
    ):
        assert layer in script, layer
    assert args["returned_objects"] == ["last_clicked", "all_drawings"]
    assert len([b for b in at.get("download_button")]) == 5  # with the printed map


def test_language_follows_the_browser_and_switches(scn_dir):
    at = start(locale="zh-CN")
    assert at.title[0].value == STRINGS["title"]["zh"]
    assert Translator("zh")("covered") in metrics(at)
    script = map_args(at)["script"]
    assert (
        "行政区划" in script or json.dumps("行政区划")[1:-1] in script
    )  # map labels in Chinese too
    at.sidebar.radio(key="lang").set_value("en")
    run(at)
    assert at.title[0].value == EN("title") and EN("covered") in metrics(at)
    assert "Boundaries" in map_args(at)["script"]
    assert start(locale="en-GB").title[0].value == EN("title")
    assert start(locale=None).title[0].value == EN("title")


def test_detect_language_and_strings():
    assert detect_language("zh-CN") == "zh" and detect_language("zh-Hant-TW") == "zh"
    assert detect_language("en-US") == "en" and detect_language("de-DE") == "en"
    assert detect_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert detect_language(None, "en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert detect_language(None, "fr-FR, zh;q=0.7, en;q=0.5") == "zh"
    assert detect_language(None, "en;q=0.3, zh;q=0.9") == "zh"
    assert detect_language(None, None) == "en" and detect_language(None, "*") == "en"
    fields = re.compile(r"{(\w+)")
    for key, entry in STRINGS.items():
        assert entry.get("zh") and entry.get("en"), key
        assert set(fields.findall(entry["zh"])) == set(fields.findall(entry["en"])), key
    assert Translator("xx").lang == "en" and Translator("en")("no such key") == "no such key"


# ------------------------------------------------------------------------------------------
# Travel controls: mode, minutes, tiers, speeds; basemap; progress
# ------------------------------------------------------------------------------------------


def test_travel_controls_follow_the_library(scn_dir, demo):
    at = start()
    cases = [
        ({"w_mode": "ebike"}, dict(mode="ebike")),
        ({"w_mode": "walk", "w_minutes": 10}, dict(mode="walk", minutes=10)),
        (
            {"w_tiers": ["township_center", "village_clinic"]},
            dict(mode="walk", minutes=10, tiers=["township_center", "village_clinic"]),
        ),
        (
            {"w_speed": 3.6},
            dict(
                mode="walk", minutes=10, tiers=["township_center", "village_clinic"], speed_kmh=3.6
            ),
        ),
        (
            {"w_access": 150.0},
            dict(
                mode="walk",
                minutes=10,
                tiers=["township_center", "village_clinic"],
                speed_kmh=3.6,
                access_max_m=150.0,
            ),
        ),
    ]
    for widgets, kwargs in cases:
        for k, v in widgets.items():
            if k == "w_mode":
                at.sidebar.radio(key=k).set_value(v)
            elif k == "w_minutes":
                at.sidebar.slider(key=k).set_value(v)
            elif k == "w_tiers":
                at.sidebar.multiselect(key=k).set_value(v)
            else:
                at.number_input(key=k).set_value(v)
        run(at)
        lib = planner.analyze(demo, isochrone_minutes=None, **kwargs)
        assert_headline(at, lib)
        # long work shows its progress: a status box that ends "done in ... s"; another mode
        # (its times computed in the background after the first view) or another threshold (a
        # filter on the times) is no work
        if not {"w_minutes", "w_mode"} & set(widgets):
            assert any("done in" in s.label for s in at.get("status")), [
                s.label for s in at.get("status")
            ]
        assert at.session_state["scenario"].mode == kwargs["mode"]
    # the map keeps its isochrones until asked (drawing them takes seconds)
    assert "within 7 min" not in map_args(at)["script"]
    at.button(key="btn_map_redraw").click()
    run(at)
    # the isochrone bands follow the threshold (thirds of it, in whole minutes)
    script = map_args(at)["script"]
    assert "within 3 min" in script and "within 7 min" in script and "within 10 min" in script
    assert "3.33" not in script

    at.sidebar.multiselect(key="w_tiers").set_value([])
    run(at)
    assert any(EN("tiers_empty") in e.value for e in at.error)


def test_basemap_is_opt_in(scn_dir):
    at = start()
    assert "tile.openstreetmap.org" not in map_args(at)["script"]
    at.sidebar.selectbox(key="w_basemap").set_value("osm")
    run(at)
    script = map_args(at)["script"]
    assert "tile.openstreetmap.org" in script and "OpenStreetMap (online)" in script


# ------------------------------------------------------------------------------------------
# What-if: click to add, tiers, several sites, remove; the numbers equal the library's
# ------------------------------------------------------------------------------------------


def test_click_adds_a_station_and_the_numbers_equal_the_library(scn_dir, demo, walk15):
    at = start()
    assert metrics(at)[EN("with_proposals")] == metrics(at)[EN("newly_covered")] == "–"
    timings = []
    t0 = time.perf_counter()
    click(at, *CLICK_A)
    timings.append(time.perf_counter() - t0)
    proposed = ((*CLICK_A, "community_station"),)
    assert at.session_state["scenario"].proposed == proposed
    w = assert_whatif(at, demo, walk15, proposed)
    assert any(
        "Added P1" in s.value and f"{w.sites['newly_covered_population'].iloc[0]:,.0f}" in s.value
        for s in at.success
    )
    assert_headline(at, walk15)  # the base numbers stay

    # the same click again (any rerun) does not add a second station
    run(at)
    assert len(at.session_state["scenario"].proposed) == 1

    # a second site, as a village clinic
    at.selectbox(key="w_new_tier").set_value("village_clinic")
    t0 = time.perf_counter()
    click(at, *CLICK_B)
    timings.append(time.perf_counter() - t0)
    proposed = (*proposed, (*CLICK_B, "village_clinic"))
    assert at.session_state["scenario"].proposed == proposed
    assert_whatif(at, demo, walk15, proposed)

    # outside the county: refused with a warning
    click(at, 110.0, 30.0)
    assert any(EN("site_outside") in w.value for w in at.warning)
    assert at.session_state["scenario"].proposed == proposed

    # clicks only add stations while the click control says so (else they pick a facility)
    at.radio(key="w_click").set_value("pick")
    click(at, 114.30, 34.50)
    assert at.session_state["scenario"].proposed == proposed
    at.radio(key="w_click").set_value("add")
    run(at)

    # by coordinates
    at.selectbox(key="w_new_tier").set_value("community_center")
    at.number_input(key="w_lon").set_value(114.30)
    at.number_input(key="w_lat").set_value(34.50)
    at.button(key="btn_add_site").click()
    run(at)
    proposed = (*proposed, (114.30, 34.50, "community_center"))
    assert at.session_state["scenario"].proposed == proposed
    assert_whatif(at, demo, walk15, proposed)

    # remove the first; then all
    at.button(key="rm_0").click()
    run(at)
    proposed = proposed[1:]
    assert at.session_state["scenario"].proposed == proposed
    assert_whatif(at, demo, walk15, proposed)
    at.button(key="btn_rm_all").click()
    run(at)
    assert at.session_state["scenario"].proposed == ()
    assert metrics(at)[EN("with_proposals")] == "–"
    assert_headline(at, walk15)

    # how fast: the what-if step (as the app reports it) and a whole AppTest rerun after a click
    shown = []
    for lon in (114.26, 114.28, 114.29):
        t0 = time.perf_counter()
        click(at, lon, 34.515)
        timings.append(time.perf_counter() - t0)
        cap = [c.value for c in at.caption if "what-if computed in" in c.value][0]
        shown.append(float(re.search(r"in (\d+) ms", cap).group(1)))
    evaluate = []
    sites = aps.proposed_frame(at.session_state["scenario"].proposed)
    for _ in range(5):
        t0 = time.perf_counter()
        siting.evaluate_sites(walk15, sites)
        evaluate.append(time.perf_counter() - t0)
    print(
        f"\nwhat-if step in the app: {shown} ms; siting.evaluate_sites alone (3 sites): "
        f"median {1000 * statistics.median(evaluate):.0f} ms; AppTest rerun after a click: "
        f"{[round(1000 * t) for t in timings]} ms"
    )
    assert min(shown) < 300, shown


def test_whatif_standards_change_for_a_new_village_clinic(scn_dir, demo, walk15):
    units = aps.standards_units(demo, walk15)
    r5 = units[(units["rule"] == "R5") & (units["status"] == "missing")].iloc[0]
    village = demo.boundaries.set_index("admin_code").loc[r5.admin_code]
    pt = village.geometry.representative_point()
    at = start()
    at.selectbox(key="w_new_tier").set_value("village_clinic")
    click(at, pt.x, pt.y)
    w = assert_whatif(at, demo, walk15, ((pt.x, pt.y, "village_clinic"),))
    ch = w.change.set_index("rule")
    assert ch.at["R5", "met_after"] == ch.at["R5", "met_before"] + 1
    changed = table(at, f"{EN('col_count')} · {EN('col_after')}")
    row = changed[changed[EN("col_unit")] == r5.admin_name]
    assert row[EN("col_before")].iloc[0] == EN("status_missing") and row[EN("col_after")].iloc[
        0
    ] == EN("status_met")


# ------------------------------------------------------------------------------------------
# A site that adds nobody is a normal answer; a failing tab never shows a traceback
# ------------------------------------------------------------------------------------------


def page_text(at: AppTest) -> str:
    """Every message, code block and caption on the page (where a traceback would show)."""
    parts = [
        e.value for e in (*at.error, *at.warning, *at.info, *at.caption, *at.code, *at.markdown)
    ]
    return "\n".join(str(p) for p in parts)


def assert_all_tabs_drawn(at: AppTest) -> None:
    """No exception, no error box, every tab has content and the tab widgets are there."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "Traceback" not in page_text(at)
    assert len(at.tabs) == 6 and all(len(t.children) for t in at.tabs)
    assert at.button(key="btn_optimize") is not None  # optimizer tab
    assert at.button(key="btn_save") is not None  # scenarios tab
    assert len(at.get("download_button")) >= 4  # export tab


def test_a_site_that_adds_nobody_is_a_normal_answer(scn_dir, demo, walk15):
    hospital = demo.facilities[demo.facilities["name"] == "示范县人民医院"].geometry.iloc[0]
    site = (hospital.x + 0.0002, hospital.y)
    at = start()
    click(at, *site)
    proposed = ((*site, "community_station"),)
    assert at.session_state["scenario"].proposed == proposed
    assert_all_tabs_drawn(at)
    assert metrics(at)[EN("newly_covered")] == "+0"  # signed, as every change is
    assert table(at, EN("col_catchment"))[EN("col_newly")].tolist() == [0]
    per_admin = table(at, EN("col_level"))
    assert len(per_admin) == 0
    # and after a reload of the same working scenario
    again = start(query={"ws": at.session_state["ws"]})
    assert again.session_state["scenario"].proposed == proposed
    assert_all_tabs_drawn(again)


def test_walk_to_drive_with_a_placed_station(scn_dir, demo):
    at = start()
    click(at, *CLICK_A)
    assert metrics(at)[EN("newly_covered")] != "+0"
    at.sidebar.radio(key="w_mode").set_value("drive")
    run(at)
    assert at.session_state["scenario"].mode == "drive"
    assert_all_tabs_drawn(at)
    drive = planner.analyze(demo, mode="drive", isochrone_minutes=None)
    assert_headline(at, drive)
    w = aps.what_if(demo, drive, at.session_state["scenario"].proposed)
    assert metrics(at)[EN("newly_covered")] == f"{round(w.newly_covered_population):+,d}"


def test_an_error_inside_a_tab_is_a_message_not_a_traceback(scn_dir, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise KeyError("covered_share_before")

    # the scenarios tab lists the saved scenarios: make that fail as an unforeseen bug would
    monkeypatch.setattr(aps, "list_scenarios", broken)
    caplog.set_level("ERROR", logger="planner.app")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": "en-US"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(EN("error_generic") in e.value for e in at.error)
    assert "Traceback" not in page_text(at)
    assert any("covered_share_before" in c.value for c in at.code)  # one line: what failed
    # logged with its traceback, not swallowed
    rec = [r for r in caplog.records if r.name == "planner.app" and r.exc_info]
    assert rec and "KeyError" in "".join(__import__("traceback").format_exception(*rec[0].exc_info))
    # the other tabs still draw
    assert len(at.tabs) == 6
    assert at.button(key="btn_optimize") is not None
    assert len(at.get("download_button")) >= 4
    assert_headline(at, planner.analyze(planner.load_demo(), isochrone_minutes=None))


# ------------------------------------------------------------------------------------------
# Optimizer panel
# ------------------------------------------------------------------------------------------


def assert_optimizer(at: AppTest, run_: siting.SitingRun) -> None:
    shown = metrics(at)
    s = run_.summary()
    scale = 60.0 if s["objective_name"] in ("min-time", "min-max-time") else 1.0
    digits = 2 if scale > 1 else 0
    assert shown[EN("opt_objective_value")] == f"{s['objective'] / scale:,.{digits}f}"
    assert shown[EN("opt_bound")] == f"{s['bound'] / scale:,.{digits}f}"
    assert shown[EN("opt_gap")] == f"{100 * s['gap']:.2f} %"
    # the status in words (never the raw "near_optimal"), for every status the optimizer gives
    assert f"opt_st_{s['status']}" in STRINGS, s["status"]
    assert shown[EN("opt_status")] == EN(f"opt_st_{s['status']}")
    assert shown[EN("opt_solver")] == s["solver"]
    assert shown[EN("opt_covered_after")] == f"{s['covered_population_after']:,.0f}"
    # residents no site can cover are named (the demo has some beyond every candidate)
    note = EN(
        "opt_uncoverable",
        pop=run_.uncoverable_population,
        units=run_.uncoverable_units,
        far=run_.unreachable_population,
        minutes=15.0,
    )
    captions = [c.value for c in at.caption]
    assert (note in captions) == (run_.uncoverable_population + run_.unreachable_population > 0)
    sites = [
        d.value
        for d in at.dataframe
        if EN("lon") in d.value.columns and EN("col_catchment") not in d.value.columns
    ][0]
    np.testing.assert_allclose(sites[EN("lon")], run_.proposals["lon"])
    np.testing.assert_allclose(sites[EN("lat")], run_.proposals["lat"])
    np.testing.assert_allclose(
        sites[EN("col_newly")], run_.proposals["newly_covered_population"].round()
    )
    assert map_args(at)["feature_group"].count("planner-optimized") >= 1


def test_optimizer_panel_equals_the_library(scn_dir, demo, walk15):
    at = start()
    cases = [
        (
            {"w_objective": "max-coverage", "w_cand": "villages", "w_p": 3},
            dict(objective="max-coverage", new_sites=3, candidates="villages"),
        ),
        (
            {"w_constraint": "budget", "w_budget": 2.0},
            dict(objective="max-coverage", budget=2.0, candidates="villages"),
        ),
        (
            {"w_cand": "file", "w_budget": 2500.0, "w_cost_col": "floor_area_m2"},
            dict(
                objective="max-coverage",
                budget=2500.0,
                cost_column="floor_area_m2",
                candidates="file",
                candidates_file=str(aps.demo_candidates_file()),
            ),
        ),
        (
            {"w_objective": "min-sites", "w_cand": "villages", "w_target": 0.9},
            dict(objective="min-sites", target_share=0.9, candidates="villages"),
        ),
        (
            {"w_objective": "min-time", "w_p": 2},
            dict(objective="min-time", new_sites=2, candidates="villages"),
        ),
        (
            {"w_objective": "min-max-time"},
            dict(objective="min-max-time", new_sites=2, candidates="villages"),
        ),
    ]
    for widgets, kwargs in cases:
        for k, v in widgets.items():
            if k in ("w_objective", "w_cand", "w_cost_col"):
                at.selectbox(key=k).set_value(v)
            elif k == "w_constraint":
                at.radio(key=k).set_value(v)
            elif k == "w_target":
                at.slider(key=k).set_value(v)
            else:
                at.number_input(key=k).set_value(v)
            run(at)
        at.button(key="btn_optimize").click()
        run(at)
        lib = aps.run_optimizer(walk15, time_limit_s=60.0, **kwargs)
        assert_optimizer(at, lib)

    # in Chinese, the status is in Chinese too
    at.sidebar.radio(key="lang").set_value("zh")
    run(at)
    zh = Translator("zh")
    status = lib.summary()["status"]
    assert metrics(at)[zh("opt_status")] == zh(f"opt_st_{status}") != EN(f"opt_st_{status}")
    at.sidebar.radio(key="lang").set_value("en")
    run(at)

    # adopt the sites: they become proposed stations and the what-if follows
    adopted = tuple((float(r.lon), float(r.lat), str(r.tier)) for r in lib.proposals.itertuples())
    at.button(key="btn_adopt").click()
    run(at)
    assert at.session_state["scenario"].proposed == adopted
    assert_whatif(at, demo, walk15, adopted)
    assert EN("opt_result") not in [m.value for m in at.markdown]


def test_optimizer_default_candidates_and_errors(scn_dir, walk15, monkeypatch):
    at = start()
    at.selectbox(key="w_objective").set_value("max-coverage")
    at.number_input(key="w_p").set_value(2)
    at.selectbox(key="w_opt_tier").set_value("community_center")
    at.number_input(key="w_spacing").set_value(600.0)
    at.number_input(key="w_time_limit").set_value(30.0)
    run(at)
    at.button(key="btn_optimize").click()
    run(at)
    kwargs = dict(
        objective="max-coverage",
        new_sites=2,
        candidates="uncovered",
        tier="community_center",
        spacing_m=600.0,
        time_limit_s=30.0,
    )
    try:
        lib = aps.run_optimizer(walk15, **kwargs)
    except planner.PlannerError as exc:  # then the app shows the same message
        assert any(str(exc) in e.value for e in at.error)
    else:
        assert_optimizer(at, lib)
        assert set(lib.proposals["tier"]) == {"community_center"}
        at.button(key="btn_opt_clear").click()
        run(at)
        assert EN("opt_objective_value") not in metrics(at)

    # premises uploaded for the optimizer (every other row of the demo's vacant premises)
    premises = pd.read_csv(aps.demo_candidates_file()).iloc[::2]
    at.selectbox(key="w_opt_tier").set_value("community_station")
    at.selectbox(key="w_cand").set_value("file")
    run(at)
    up = [u for u in at.get("file_uploader") if u.label == EN("cand_upload")][0]
    up.set_value(("premises.csv", premises.to_csv(index=False).encode(), "text/csv"))
    run(at)
    sc = at.session_state["scenario"]
    assert sc.candidates == "file" and Path(sc.candidates_file).name == "premises.csv"
    at.button(key="btn_optimize").click()
    run(at)
    kwargs.update(tier="community_station", candidates="file", candidates_file=sc.candidates_file)
    lib = aps.run_optimizer(walk15, **kwargs)
    assert_optimizer(at, lib)
    ids = set(premises["id"])
    assert len(lib.proposals) == 2 and set(lib.candidates["source_id"]) <= ids

    # planner's errors are shown as they are; anything else as a friendly error with details
    def refuse(*a, **k):
        raise planner.OptimizationError("no candidate sites. Fix: pass candidates.")

    monkeypatch.setattr(aps, "run_optimizer", refuse)
    at.button(key="btn_optimize").click()
    run(at)
    assert any("no candidate sites. Fix: pass candidates." in e.value for e in at.error)

    def crash(*a, **k):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(aps, "run_optimizer", crash)
    at.button(key="btn_optimize").click()
    run(at)
    assert any(EN("error_generic") in e.value for e in at.error)
    assert any(x.label == EN("error_details") for x in at.expander)
    assert_headline(at, walk15)  # the rest of the app still works


# ------------------------------------------------------------------------------------------
# Uploads
# ------------------------------------------------------------------------------------------

DEMO_FILES = {
    "roads": ("demo_county.osm", DATA / "roads" / "demo_county.osm"),
    "facilities": ("demo_facilities.csv", DATA / "facilities" / "demo_facilities.csv"),
    "boundaries": ("demo_admin.geojson", DATA / "boundaries" / "demo_admin.geojson"),
    "population": ("demo_population.tif", DATA / "population" / "demo_population.tif"),
}


def upload(at: AppTest, files: dict[str, tuple[str, bytes]], *, crs: str = "file") -> AppTest:
    if at.sidebar.radio(key="w_source").value != "files":
        at.sidebar.radio(key="w_source").set_value("files")
        run(at)
    for kind in ("roads", "facilities", "boundaries", "population"):
        up = [u for u in at.get("file_uploader") if u.label == EN(f"upload_{kind}")][0]
        up.set_value(
            (files[kind][0], files[kind][1], "application/octet-stream") if kind in files else None
        )
    run(at)
    # each upload has its own coordinate-system choice (planner/app/uploads_panel.py)
    for box in at.sidebar.selectbox:
        if str(box.key).startswith("w_crs_facilities_"):
            box.set_value(crs)
    run(at)
    at.sidebar.button(key="btn_use_uploads").click()
    return run(at)


def demo_bytes() -> dict[str, tuple[str, bytes]]:
    return {k: (name, path.read_bytes()) for k, (name, path) in DEMO_FILES.items()}


def library_result(sc: Scenario, crs: str | None = None) -> planner.CoverageResult:
    """The library's answer for the files the app stored (read by the library, not the app);
    ``crs``: the facilities' coordinate system, read from the demo's own file (the app keeps a
    WGS-84 copy of facilities read in another system)."""
    ds = planner.load_dataset(
        None,
        roads=sc.roads,
        facilities=DEMO_FILES["facilities"][1] if crs else sc.facilities,
        population=sc.population,
        boundaries=sc.boundaries,
        facilities_crs=crs,
    )
    return planner.analyze(ds, isochrone_minutes=None)


def test_uploaded_files_give_the_library_numbers(scn_dir, tmp_path, demo):
    at = start()
    upload(at, demo_bytes())
    sc = at.session_state["scenario"]
    assert not aps.is_demo(sc) and Path(sc.roads).name == "demo_county.osm"
    assert_headline(at, library_result(sc))
    assert not any("Synthetic demo data" in w.value for w in at.warning)

    # the same facilities read as GCJ-02 (Amap) coordinates: a WGS-84 copy of them
    upload(at, demo_bytes(), crs="gcj02")
    sc = at.session_state["scenario"]
    assert sc.facilities_crs == "" and Path(sc.facilities).suffix == ".gpkg"
    assert_headline(at, library_result(sc, "gcj02"))

    # roads as a zipped shapefile
    shp = tmp_path / "shp"
    shp.mkdir()
    roads = demo.roads.rename(
        columns={"maxspeed_kmh": "maxspeed"}
    )  # shapefile names: 10 characters
    roads.to_file(shp / "roads.shp", engine="pyogrio", encoding="utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in shp.iterdir():
            zf.write(p, f"county/{p.name}")
    files = demo_bytes()
    files["roads"] = ("roads.zip", buf.getvalue())
    upload(at, files)
    sc = at.session_state["scenario"]
    assert sc.roads.endswith("roads.shp")
    assert_headline(at, library_result(sc))

    # back to the demo
    at.sidebar.radio(key="w_source").set_value("demo")
    run(at)
    assert aps.is_demo(at.session_state["scenario"])
    assert any("Synthetic demo data" in w.value for w in at.warning)


def _error_shown(at: AppTest, text: str) -> bool:
    return any(text in e.value for e in at.error)


def test_bad_uploads_show_clear_errors_and_keep_the_app(scn_dir, demo, walk15, monkeypatch):
    at = start()
    good = demo_bytes()
    fac_csv = (DATA / "facilities" / "demo_facilities.csv").read_text(encoding="utf-8")

    # roads and facilities are required
    upload(at, {"facilities": good["facilities"]})
    assert _error_shown(at, EN("need_roads_facilities"))

    # missing columns: the column-mapping step, and until they are chosen a message saying so
    bad = scn_dir.parent / "no_coords.csv"
    bad.write_text(fac_csv.replace("lon,lat", "x_coord,y_coord"), encoding="utf-8")
    upload(at, {**good, "facilities": ("no_coords.csv", bad.read_bytes())})
    assert any(EN("field_lon") in w.value for w in at.sidebar.warning)
    assert _error_shown(at, "no_coords.csv")

    # an XML bomb in the .osm: refused, never expanded
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n'
        b'<osm version="0.6"><node id="1" lat="34.5" lon="114.3"><tag k="name" v="&b;"/></node></osm>'
    )
    upload(at, {**good, "roads": ("bomb.osm", bomb)})
    assert _error_shown(at, "DOCTYPE")

    # not OSM at all
    upload(at, {**good, "roads": ("garbage.osm", b"this is not xml \x00\x01")})
    assert at.error and not at.exception

    # facilities far from the boundaries (wrong coordinate system or swapped lon/lat)
    df = pd.read_csv(DATA / "facilities" / "demo_facilities.csv")
    df["lon"] = df["lon"] + 3.0
    upload(at, {**good, "facilities": ("elsewhere.csv", df.to_csv(index=False).encode())})
    assert _error_shown(at, "none of the 229 facilities lies inside the boundaries")
    df = pd.read_csv(DATA / "facilities" / "demo_facilities.csv")
    df["lon"], df["lat"] = df["lat"], df["lon"]  # swapped: latitudes of 114 degrees
    upload(at, {**good, "facilities": ("swapped.csv", df.to_csv(index=False).encode())})
    assert at.error and not at.exception

    # a zip with two shapefiles
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for stem in ("a", "b"):
            for ext in ("shp", "shx", "dbf"):
                zf.writestr(f"{stem}.{ext}", b"x")
    upload(at, {**good, "roads": ("two.zip", buf.getvalue())})
    assert _error_shown(at, "exactly one shapefile")

    # too large
    # too large: the upload widget refuses it (and store_upload would too, see test_store_upload_checks)
    monkeypatch.setitem(aps.UPLOAD_LIMIT_MB, "facilities", 1)
    big = good["facilities"][1] + b"\n" * (1024 * 1024)
    upload(at, {**good, "facilities": ("big.csv", big)})
    assert _error_shown(at, EN("need_roads_facilities"))

    # after all that, the app still shows the demo county
    assert aps.is_demo(at.session_state["scenario"])
    assert_headline(at, walk15)


def test_store_upload_checks(tmp_path):
    with pytest.raises(planner.InputError, match="cannot be used as roads"):
        aps.store_upload("roads", "roads.exe", b"MZ", tmp_path)
    with pytest.raises(planner.InputError, match="empty"):
        aps.store_upload("facilities", "f.csv", b"", tmp_path)
    with pytest.raises(planner.InputError, match="more than the 20 MB allowed for facilities"):
        aps.store_upload("facilities", "f.csv", b"x" * (20 * 1024 * 1024 + 1), tmp_path)
    with pytest.raises(planner.InputError, match="not a readable zip"):
        aps.store_upload("roads", "r.zip", b"PK not really", tmp_path)
    # paths inside the archive are never used: everything lands in the upload folder
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj"):
            zf.writestr(f"../../evil/roads.{ext}", b"data")
        zf.writestr("../../evil/run.sh", b"rm -rf /")
    path = aps.store_upload("roads", "r.zip", buf.getvalue(), tmp_path)
    assert path.name == "roads.shp" and path.parent.parent.parent == tmp_path
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "roads.dbf",
        "roads.prj",
        "roads.shp",
        "roads.shx",
    ]
    assert not (tmp_path.parent / "evil").exists()
    # a zip bomb: the declared and the real sizes are both capped
    # (the limit is read by the module that stores uploads, so it is changed there)
    monkeypatch_limit = uploads.ZIP_MAX_BYTES
    try:
        uploads.ZIP_MAX_BYTES = 1000
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("big.shp", b"\0" * 100_000)
        with pytest.raises(planner.InputError, match="unpacks to more than"):
            aps.store_upload("roads", "bomb.zip", buf.getvalue(), tmp_path)
    finally:
        uploads.ZIP_MAX_BYTES = monkeypatch_limit
    # same content, same place (content-addressed), a safe name
    a = aps.store_upload("facilities", "../../x y.csv", b"id,lon,lat\n", tmp_path)
    b = aps.store_upload("facilities", "x y.csv", b"id,lon,lat\n", tmp_path)
    assert a == b and a.name == "x_y.csv"


# ------------------------------------------------------------------------------------------
# Scenarios: save, load, compare, delete; kept across page reloads
# ------------------------------------------------------------------------------------------


def test_scenarios_save_load_compare_and_survive_a_reload(scn_dir, demo, walk15):
    at = start()
    ws = at.session_state["ws"]
    assert at.query_params["ws"] == ws
    at.text_input(key="w_name").set_value("Plan A")
    click(at, *CLICK_A)
    at.button(key="btn_save").click()
    run(at)
    path_a = scn_dir / "Plan A.toml"
    assert path_a.is_file()
    saved = Scenario.load(path_a)
    assert (
        saved.name == "Plan A"
        and saved.proposed == ((*CLICK_A, "community_station"),)
        and saved.minutes == 15
    )

    at.sidebar.slider(key="w_minutes").set_value(10)
    at.text_input(key="w_name").set_value("Plan B")
    run(at)
    at.button(key="btn_save").click()
    run(at)
    assert Scenario.load(scn_dir / "Plan B.toml").minutes == 10

    # load Plan A: the widgets and the numbers follow
    at.selectbox(key="w_saved").set_value("Plan A")
    at.button(key="btn_load").click()
    run(at)
    assert at.sidebar.slider(key="w_minutes").value == 15
    assert at.session_state["scenario"].proposed == saved.proposed
    assert_headline(at, walk15)
    assert_whatif(at, demo, walk15, saved.proposed)

    # compare side by side: a table (and maps)
    at.multiselect(key="w_compare").set_value(["Plan A", "Plan B"])
    at.toggle(key="w_compare_maps").set_value(True)
    run(at)
    cmp = table(at, EN("cmp_covered_share_after"), row=True)
    assert cmp.shape[1] == 3
    b10 = planner.analyze(demo, minutes=10, isochrone_minutes=None)
    wb = aps.what_if(demo, b10, saved.proposed)
    assert cmp.loc[EN("cmp_covered_before"), "Plan B"] == f"{b10.covered_population:,.0f}"
    assert cmp.loc[EN("cmp_newly_covered"), "Plan B"] == f"{wb.newly_covered_population:,.0f}"
    share = (b10.covered_population + wb.newly_covered_population) / b10.total_population
    assert cmp.loc[EN("cmp_covered_share_after"), "Plan B"] == f"{100 * share:.1f} %"
    assert len(at.get("component_instance")) == 1 + 3  # the main map and one per scenario

    # delete
    at.selectbox(key="w_saved").set_value("Plan B")
    at.button(key="btn_delete").click()
    run(at)
    assert not (scn_dir / "Plan B.toml").exists()

    # a page reload (a new session with the same ?ws=) restores the working scenario
    again = start(query={"ws": ws})
    assert again.session_state["scenario"].proposed == saved.proposed
    assert again.session_state["scenario"].name == "Plan A"
    assert metrics(again)[EN("with_proposals")] != "–"
    # a made-up id in the address is replaced, never used as a path
    other = start(query={"ws": "../../etc/passwd"})
    assert re.fullmatch(r"[0-9a-f]{16}", other.session_state["ws"])
    assert other.session_state["scenario"].proposed == ()


def test_scenario_files_are_safe(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(tmp_path / "s"))
    assert aps.scenario_dir() == tmp_path / "s"
    assert aps.scenario_file_name("方案 A/../../x") == "方案 A_.._.._x.toml"
    with pytest.raises(planner.ScenarioError):
        aps.scenario_file_name(" ../ ")
    # a scenario file may not make the app read files outside its folders
    evil = Scenario(name="evil", roads="/etc/passwd", facilities="/etc/hosts").save(
        tmp_path / "s" / "evil.toml"
    )
    with pytest.raises(planner.ScenarioError, match="outside the scenario folder"):
        aps.load_scenario(evil)
    with pytest.raises(planner.ScenarioError):
        aps.autosave_path("../../etc")
    # uploads are copied into the scenario folder when saved, so a restart loses nothing
    up = tmp_path / "uploads"
    src = aps.store_upload(
        "facilities", "f.csv", (DATA / "facilities" / "demo_facilities.csv").read_bytes(), up
    )
    roads = aps.store_upload(
        "roads", "r.osm", (DATA / "roads" / "demo_county.osm").read_bytes(), up
    )
    path = aps.save_scenario(Scenario(name="up", roads=str(roads), facilities=str(src)))
    sc = aps.load_scenario(path)
    assert (
        Path(sc.facilities).is_relative_to(tmp_path / "s" / "uploads")
        and Path(sc.facilities).is_file()
    )


# ------------------------------------------------------------------------------------------
# Exports
# ------------------------------------------------------------------------------------------


def test_exports(tmp_path, demo, walk15):
    import openpyxl
    import pyogrio

    w = aps.what_if(demo, walk15, ((*CLICK_A, "community_station"),))
    run_ = aps.run_optimizer(walk15, objective="max-coverage", new_sites=2, candidates="villages")
    tables = aps.export_tables(walk15, w, w.standards_after, w.summary_after, run_)
    gpkg = tmp_path / "x.gpkg"
    gpkg.write_bytes(aps.export_gpkg(walk15, tables, whatif=w, run=run_))
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {
        "facilities",
        "demand",
        "uncovered",
        "admin_summary",
        "proposed_sites",
        "newly_covered",
        "optimizer_sites",
        "standards_summary",
        "standards_units",
    } <= layers
    back = gpd.read_file(gpkg, layer="proposed_sites")
    assert back["newly_covered_population"].iloc[0] == pytest.approx(
        w.sites["newly_covered_population"].iloc[0]
    )

    wb = openpyxl.load_workbook(io.BytesIO(aps.tables_xlsx(tables)))
    assert {"coverage", "standards_summary", "proposed_sites", "optimizer_solution"} <= set(
        wb.sheetnames
    )
    with zipfile.ZipFile(io.BytesIO(aps.tables_csv_zip(tables))) as zf:
        assert "standards_units.csv" in zf.namelist()
        first = zf.read("coverage.csv").decode("utf-8-sig").splitlines()[0]
        assert first.startswith("admin_code,admin_name")

    bands = aps.coverage_bands(walk15, aps.band_levels(15))
    page = aps.html_report(
        walk15,
        title="Plan A",
        lines=planner.summary_lines(walk15),
        tables=tables,
        whatif=w,
        run=run_,
        bands=bands,
        lang="en",
    )
    from planner import maps

    assert maps._external_assets(page) == []  # self-contained: works from disk, offline
    assert "Leaflet" in page and "Standards" in page and "P1" in page and "Plan A" in page
    assert "within 15 min" in page and "A village clinic per administrative village" in page


# ------------------------------------------------------------------------------------------
# Library helpers behind the app
# ------------------------------------------------------------------------------------------


def test_coverage_bands_nest_and_match_the_demand_coverage(walk15):
    bands = aps.coverage_bands(walk15, aps.band_levels(15))
    assert list(bands["minutes"]) == [5.0, 10.0, 15.0]
    g = bands.to_crs(walk15.network.crs).geometry.values
    assert (
        shapely.area(shapely.difference(g[0], g[1])) < 1.0
        and shapely.area(shapely.difference(g[1], g[2])) < 1.0
    )
    # residents in the 15-minute band are (nearly all) the covered ones: same join, same search
    dem = walk15.demand
    pts = gpd.GeoSeries(shapely.point_on_surface(dem.geometry.values), crs=dem.crs)
    pts = pts.to_crs(walk15.network.crs).values
    inside = shapely.intersects(g[2], pts)
    pop = dem["population"].to_numpy()
    agree = pop[inside == dem["covered"].to_numpy()].sum() / pop.sum()
    assert agree > 0.97, agree


def test_standards_counts_by_hand(demo, walk15):
    units = aps.standards_units(demo, walk15)
    b = demo.boundaries
    kinds = b.set_index("admin_code")["kind"]
    assert set(units.loc[units["rule"] == "R2a", "admin_code"]) == set(
        kinds[kinds == "subdistrict"].index
    )
    assert set(units.loc[units["rule"] == "R4", "admin_code"]) == set(
        kinds[kinds.isin(["town", "township"])].index
    )
    assert (units["rule"] == "R3").sum() == (b["kind"] == "community").sum() == 23
    assert (
        (units["rule"] == "R5").sum()
        == ((b["level"] == "village") & (b["kind"] != "community")).sum()
        == 232
    )
    # a unit's facility count is the number of facility points of the tier inside it
    fac = demo.facilities
    for r in units[units["rule"].isin(["R2a", "R4"])].itertuples():
        poly = b.set_index("admin_code").geometry[r.admin_code]
        tier = "community_center" if r.rule == "R2a" else "township_center"
        assert r.count == int((fac["tier"].eq(tier) & fac.within(poly)).sum())
    r1 = units[units["rule"] == "R1"].set_index("admin_code")
    town = walk15.admin_summary.set_index("admin_code")
    for code, row in r1.iterrows():
        assert row["value"] == pytest.approx(town.at[code, "covered_share"])
    assert aps.canonical_tiers(planner.PRIMARY_TIERS) == ()
    assert aps.canonical_tiers(["village_clinic", "hospital"]) == ("hospital", "village_clinic")
    assert aps.band_levels(15) == (5.0, 10.0, 15.0)


def test_check_dataset(demo):
    import dataclasses

    assert aps.check_dataset(demo) == []
    fac = demo.facilities.copy()
    fac.geometry = fac.geometry.translate(1.0, 0.0)
    with pytest.raises(planner.CRSError, match="none of the 229 facilities"):
        aps.check_dataset(dataclasses.replace(demo, facilities=fac))
    some = demo.facilities.copy()
    some.loc[some.index[:2], "geometry"] = some.geometry.iloc[:2].translate(2.0, 0.0)
    warnings = aps.check_dataset(dataclasses.replace(demo, facilities=some))
    assert len(warnings) == 1 and "2 facilities lie outside" in warnings[0]


def test_i18n_module_doctest():
    import doctest

    assert doctest.testmod(i18n).failed == 0


def _fallback_map_script():
    import streamlit as st

    from planner import app as aps
    from planner import maps

    m = maps.new_map((114.2, 34.4, 114.4, 34.6), assets="served")
    payload = aps.map_payload(m)
    st.write(f"script:{len(payload.script)}")
    aps.show_map(payload, aps.whatif_layers(None, lang="en"), key="map", height=300)
    aps.show_map(payload, aps.whatif_layers(None, lang="en"), key="map2", height=300)
    st.write(f"children:{len(m._children)}")


def test_map_falls_back_to_public_st_folium(monkeypatch):
    at = AppTest.from_function(_fallback_map_script, default_timeout=60)
    run(at)
    assert at.markdown[0].value != "script:0"  # the fast path: the base map rendered once
    # another streamlit_folium without the parts the fast path uses: the public st_folium
    monkeypatch.setattr(mapview, "_st_folium_internals", lambda: False)
    at = AppTest.from_function(_fallback_map_script, default_timeout=60)
    run(at)
    assert at.markdown[0].value == "script:0"
    assert len(at.get("component_instance")) == 2
    bare = planner.maps.new_map((114.2, 34.4, 114.4, 34.6), assets="served")
    assert at.markdown[1].value == f"children:{len(bare._children)}"  # the groups were taken off
