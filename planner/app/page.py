"""The app's main area (a Streamlit fragment): compute (cached), take a click on the map, then
draw the headline, the map and the tabs; the working scenario is autosaved on the way.

Imported only inside ``streamlit run app.py`` (it imports Streamlit).
"""

from __future__ import annotations

import dataclasses
import logging

import pandas as pd
import streamlit as st

import planner
from planner import app as aps
from planner.app import _speed as app_speed
from planner.app.actions import clear_boundary, current_area, on_click, reset_edits, take_drawing
from planner.app.compute import (
    NO_AREA,
    Area,
    Progress,
    cached_bands,
    cached_dataset,
    cached_result,
    cached_standards,
    cached_whatif,
    guard,
    prefetch_modes,
    worker_pool,
)
from planner.app.optimizer_tab import tab_optimizer
from planner.app.panels import map_panel, side_panel
from planner.app.state import scenario_from_widgets, set_widgets, with_whatifs
from planner.app.tabs import tab_coverage, tab_export, tab_scenarios, tab_standards, tab_whatif
from planner.app.ui import MAP_KEY, T, View, ss

log = logging.getLogger("planner.app")


def autosave() -> None:
    """Keep the working scenario, with its facility edits and study area, across page
    reloads (``?ws=<id>`` in the address)."""
    ss.scenario = with_whatifs(ss.scenario)
    if ss.scenario != ss.autosaved:
        try:
            path = aps.autosave_path(ss.ws)
            aps.persist_uploads(ss.scenario, path.parent.parent).save(path)
            ss.autosaved = ss.scenario
        except (OSError, planner.PlannerError) as exc:
            log.warning("could not autosave the scenario: %s", exc)


@st.fragment
@app_speed.profiled("main_area")  # PLANNER_PROFILE=<folder>: a cProfile file per run
def main_area() -> None:
    """Everything below the title. A fragment: a click on the map, the what-if buttons and
    the tabs' widgets rerun only this part (the sidebar and the data stay as they are), so
    the numbers follow a click sooner; a sidebar change reruns the whole app."""
    set_widgets(ss.scenario, only_missing=True)  # as init_state does (a fragment run skips it)
    ss.map_prev, ss.map_now = ss.get("map_now"), None  # the map the last run drew (sent_once)
    try:  # the widgets drawn in this fragment may have changed
        sc = ss.scenario = scenario_from_widgets()
    except planner.PlannerError as exc:
        st.error(T("error_where", what=T("tab_scenarios"), message=str(exc)))
        sc = ss.scenario
    banner = st.container()
    # the map column stays put; messages and progress go to the side column, whose content may move
    col_map, col_side = st.columns([5, 2], gap="medium")
    notices = col_side.container()
    progress = Progress(col_side.container())

    if not ss.w_tiers:
        st.error(T("tiers_empty"))
        st.stop()

    key = aps.data_key(sc)
    settings = aps.coverage_settings(sc)
    ds = result = None
    with guard(T("progress_network")):
        ds = progress.run(T("progress_data"), cached_dataset, key)
        result = progress.run(T("progress_network"), cached_result, key, settings)
    if ds is None or result is None:
        st.stop()
    if ss.edits_data != key:  # other data: the edits and study area of the old data go
        reset_edits()
        ss.edits_data = key
    if ss.map_drawn is None:  # the first view: the isochrones (seconds) start at once, beside
        worker_pool().submit(cached_bands, key, settings)  # the numbers drawn meanwhile
    take_drawing()  # a boundary drawn on the map (reported with the click, before this run)
    area = current_area()
    try:
        result = cached_result(key, settings, area=area)
    except planner.PlannerError as exc:  # nobody inside: say so, analyse the whole county
        notices.error(T("error_where", what=T("area_header"), message=str(exc)))
        clear_boundary()
        ss.w_area_units = []
        area = NO_AREA
    if ds.synthetic:
        banner.warning(T("synthetic_banner"))
    if ds.sources.get("warnings"):
        banner.info(T("data_warning", text=ds.sources["warnings"]))

    # a click on the map (stored by the map component before this run) adds a station
    clicked = (ss.get(MAP_KEY) or {}).get("last_clicked")
    if clicked and clicked != ss.last_click:
        ss.last_click = clicked
        if result.demand is not None:
            # on an Amap base map the map is drawn in GCJ-02: the click is shifted back
            lon, lat = aps.click_lonlat(clicked, datum=ss.get("map_datum", "wgs84"))
            on_click(lon, lat, ds, result)
            sc = ss.scenario
            area = current_area()

    if ss.notice:  # from a callback or a click: shown once
        getattr(notices, ss.notice[0])(ss.notice[1])
        ss.notice = None

    whatif = None
    with guard(T("tab_whatif")):
        whatif = cached_whatif(key, settings, sc.proposed, ss.edits, area)

    opt = ss.opt if ss.opt and ss.opt.get("data") == key else None
    opt_run = opt["run"] if opt else None

    # the numbers are sent before the map, so that they show first after a click
    no_table = pd.DataFrame()  # the standards come after the map (below)
    v = View(
        sc, ds, result, key, settings, whatif, no_table, no_table, opt, opt_run, ss.edits, area
    )
    with col_side, guard(T("headline")):
        side_panel(v)
    # saved once the numbers are out (a click's answer is not delayed by the file write), before
    # the map and tabs: a reload that cuts this run short still finds it
    autosave()
    with col_map:
        map_panel(v, progress)
    progress.finish()
    prefetch_modes(key, settings)
    # the tables take turns across the server's sessions (waiting 1 s at most): ten sessions
    # drawing tables at once would slow the next numbers of every session (one interpreter lock)
    with tables_turn().turn():
        tabs_area(v, area)
    autosave()  # again: the tabs' widgets and buttons may have changed it


@st.cache_resource(show_spinner=False)
def tables_turn() -> app_speed.TurnTaking:
    return app_speed.TurnTaking(1, max_wait_s=1.0)


def tabs_area(v: View, area: Area) -> None:
    """The tabs below the map, once the numbers and the map are out."""
    # checked now (seconds on a first view; cached after)
    std_units, std_summary = cached_standards(v.key, v.settings, area)

    tabs = st.tabs(
        [
            T("tab_coverage"),
            T("tab_standards"),
            T("tab_whatif"),
            T("tab_optimize"),
            T("tab_scenarios"),
            T("tab_export"),
        ],
    )
    # every tab is drawn on each run (a tab switch is then instant, in the browser): checking
    # the standards change only while its tab was open (a rerun per switch) saved a third of a
    # click's CPU but answered ten sessions' clicks later (bench_app_load: p90 0.93-0.98 s
    # against 0.67-0.69 s, back to back)
    v = dataclasses.replace(v, std_units=std_units, std_summary=std_summary)

    panels = (tab_coverage, tab_standards, tab_whatif, tab_optimizer, tab_scenarios, tab_export)
    names = (
        "tab_coverage",
        "tab_standards",
        "tab_whatif",
        "tab_optimize",
        "tab_scenarios",
        "tab_export",
    )
    for tab, panel, name in zip(tabs, panels, names, strict=True):
        with tab, guard(T(name)):  # one failing tab shows a message; the others still draw
            panel(v)
