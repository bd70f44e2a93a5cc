"""The app's optimizer tab: its widgets, the run (with a progress bar) and the last run's
objective, bound, gap, status and sites with their township and village.

Imported only inside ``streamlit run app.py`` (it imports Streamlit).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import planner
from planner import app as aps
from planner import i18n
from planner.app.actions import adopt_optimizer_sites, clear_optimizer, upload_settings
from planner.app.compute import cached_cost_columns, guard
from planner.app.state import candidates_file, scenario_from_widgets
from planner.app.ui import NEW_SITE_TIERS, T, View, group_labels, labelled, lang, ss, tier_names
from planner.coverage import population_groups


def tab_optimizer(v: View) -> None:
    """Ask the optimizer for new sites; show them with the gap to the best."""
    st.subheader(T("opt_header"))
    if not v.result.has_population:
        st.info(T("needs_population"))
        return
    cand_file, weight = optimizer_inputs(v.ds, v.result)
    sc = ss.scenario = scenario_from_widgets()
    opt_params = (
        sc.objective,
        sc.new_sites,
        sc.budget,
        ss.w_cost_col,
        sc.target_share,
        sc.new_tier,
        sc.candidates,
        cand_file,
        sc.spacing_m,
        sc.time_limit_s,
        weight,
    )
    optimizer_button(v, sc, cand_file, weight, opt_params)
    if v.opt_run is not None:
        optimizer_results(v, opt_params)


def optimizer_inputs(ds, result) -> tuple[str, str | None]:
    """The optimizer's widgets; the candidates file (or "") and the population group weighted."""
    o1, o2, o3 = st.columns(3)
    o1.selectbox(
        T("objective"),
        list(aps.OBJECTIVES),
        key="w_objective",
        format_func=labelled("obj_"),
    )
    if ss.w_objective == "max-coverage":
        o1.radio(
            T("constraint"),
            ["p", "budget"],
            key="w_constraint",
            horizontal=True,
            format_func=labelled("by_"),
        )
    if ss.w_objective == "min-sites":
        o2.slider(T("target_share"), min_value=0.5, max_value=1.0, step=0.01, key="w_target")
    elif ss.w_objective == "max-coverage" and ss.w_constraint == "budget":
        o2.number_input(T("budget"), min_value=0.0, step=1.0, key="w_budget")
    else:
        o2.number_input(T("new_sites"), min_value=1, max_value=100, step=1, key="w_p")
    o2.selectbox(T("opt_tier"), list(NEW_SITE_TIERS), key="w_opt_tier", format_func=tier_names())
    o3.selectbox(
        T("candidates"),
        list(aps.CANDIDATE_SOURCES),
        key="w_cand",
        format_func=labelled("cand_"),
    )
    cand_file, cand_error = candidates_file() if ss.w_cand == "file" else ("", None)
    if ss.w_cand == "file":
        o3.file_uploader(
            T("cand_upload"),
            type=list(aps.UPLOAD_TYPES["candidates"]),
            key="up_candidates",
            max_upload_size=aps.UPLOAD_LIMIT_MB["candidates"],
        )
        if ss.get("up_candidates") is not None:  # its coordinate system and columns
            with o3:
                upload_settings("candidates", ss.up_candidates, show_error=False)
        if cand_error:
            o3.error(T("error_where", what=T("cand_upload"), message=cand_error))
        elif ss.get("up_candidates") is None and ds.synthetic:
            o3.caption(T("cand_demo_file", name=aps.demo_candidates_file().name))
        elif not cand_file:
            o3.caption(T("cand_need_file"))
    if ss.w_cand in ("uncovered", "nodes"):
        o3.number_input(T("spacing"), min_value=50.0, max_value=5000.0, step=50.0, key="w_spacing")
    if ss.w_objective == "max-coverage" and ss.w_constraint == "budget":
        choices = [""] + (cached_cost_columns(cand_file) if cand_file else [])
        if ss.w_cost_col not in choices:
            ss.w_cost_col = ""
        each_one = T("cost_each_one")
        o2.selectbox(
            T("cost_column"),
            choices,
            key="w_cost_col",
            format_func=lambda v: v or each_one,
        )
    o1.number_input(T("time_limit"), min_value=1.0, max_value=3600.0, step=5.0, key="w_time_limit")
    groups = population_groups(result.demand)
    if groups:  # optimise for the residents of one population group (65+, under 5, ...)
        if ss.get("w_weight", "") not in ["", *groups]:
            ss.w_weight = ""
        o3.selectbox(
            T("opt_weight"),
            ["", *groups],
            key="w_weight",
            format_func=group_labels(),
        )
    weight = (ss.get("w_weight") or None) if groups else None
    return cand_file, weight


def optimizer_button(v: View, sc, cand_file: str, weight: str | None, opt_params: tuple) -> None:
    """The run button: solve, keep the run in the session, rerun to draw the sites."""
    result, key, settings = v.result, v.key, v.settings
    if st.button(T("run_optimizer"), key="btn_optimize", type="primary"):
        if ss.w_cand == "file" and not cand_file:
            st.error(T("cand_need_file"))
        else:
            with guard(T("progress_optimize")):
                box = st.status(T("progress_optimize"), expanded=True)
                bar = box.progress(0.0)
                run = aps.run_optimizer(
                    result,
                    objective=sc.objective,
                    new_sites=sc.new_sites,
                    budget=sc.budget,
                    cost_column=ss.w_cost_col or None,
                    target_share=sc.target_share,
                    tier=sc.new_tier,
                    candidates=sc.candidates,
                    candidates_file=cand_file or None,
                    spacing_m=sc.spacing_m,
                    time_limit_s=sc.time_limit_s,
                    seed=sc.seed,
                    weight=weight,
                    progress=lambda stage, f: show(bar, stage, f),
                )
                done = T("done_in", what=T("progress_optimize"), seconds=run.seconds)
                box.update(label=done, state="complete", expanded=False)
                ss.opt = {
                    "data": key,
                    "settings": settings,
                    "params": opt_params,
                    "run": run,
                }
                # the box goes with the rerun (which draws the sites on the map): say it here
                ss.notice = ("success", done)
                st.rerun()


def show(bar: Any, stage: str, f: float) -> None:
    """The optimizer's progress ``f`` (0-1) at ``stage`` on the bar."""
    bar.progress(min(max(float(f), 0.0), 1.0), text=str(stage))


def status_text(status: str) -> str:
    """The optimizer's status for the reader ("最优", "near-optimal"); an unknown one as it is."""
    key = f"opt_st_{status}"
    return T(key) if key in i18n.STRINGS else status


def status_help(status: str) -> str | None:
    """The status spelled out as in the exports ("optimal (proved)"), if it is a known one."""
    text = planner.report.value_label(status, lang=lang())
    return text if text != status else None


def optimizer_results(v: View, opt_params: tuple) -> None:
    """The last run: objective, bound, gap, status, the sites with their township and village."""
    result, settings, opt, opt_run = v.result, v.settings, v.opt, v.opt_run
    if opt is None or opt_run is None:
        return
    st.markdown(f"**{T('opt_result')}**")
    if opt["settings"] != settings or opt["params"] != opt_params:
        st.caption(T("opt_stale"))
    s = opt_run.summary()
    unit = {
        "max-coverage": "opt_units_residents",
        "min-sites": "opt_units_sites",
        "min-time": "opt_units_minutes",
        "min-max-time": "opt_units_worst",
    }[opt_run.objective_name]
    scale = (
        60.0 if opt_run.objective_name in ("min-time", "min-max-time") else 1.0
    )  # seconds -> minutes
    digits = 2 if scale > 1 else 0
    m1, m2, m3 = st.columns(3)
    m1.metric(T("opt_objective_value"), f"{s['objective'] / scale:,.{digits}f}", help=T(unit))
    m2.metric(T("opt_bound"), f"{s['bound'] / scale:,.{digits}f}", help=T(unit))
    m3.metric(T("opt_gap"), f"{100 * s['gap']:.2f} %", help=T("opt_gap_note"))
    m4, m5, m6 = st.columns(3)
    m4.metric(T("opt_status"), status_text(s["status"]), help=status_help(s["status"]))
    m5.metric(T("opt_solver"), s["solver"])
    m6.metric(T("opt_seconds"), f"{s['seconds']:.2f}")
    st.metric(
        T("opt_covered_after"),
        f"{s['covered_population_after']:,.0f}",
        delta=f"{s['covered_population_after'] - s['covered_population_before']:+,.0f}",
    )
    st.caption(f"{T(unit)} · {T('opt_gap_note')}")
    if opt_run.uncoverable_population > 0 or opt_run.unreachable_population > 0:
        st.caption(
            T(
                "opt_uncoverable",
                pop=opt_run.uncoverable_population,
                units=opt_run.uncoverable_units,
                far=opt_run.unreachable_population,
                minutes=settings.minutes,
            )
        )
    p = opt_run.proposals
    where = planner.report.locate_sites(p, result.boundaries)  # township, village
    st.dataframe(
        pd.DataFrame(
            {
                T("col_site"): p["site_id"],
                T("col_tier"): [aps.tier_label(t, lang()) for t in p["tier"]],
                T("lon"): p["lon"],
                T("lat"): p["lat"],
                T("col_township"): where["township"],
                T("col_village"): where["village"],
                T("col_newly"): p["newly_covered_population"].round(),
            }
        ),
        hide_index=True,
        key="tbl_opt_sites",
    )
    b1, b2 = st.columns(2)
    b1.button(T("opt_adopt"), key="btn_adopt", on_click=adopt_optimizer_sites)
    b2.button(T("opt_clear"), key="btn_opt_clear", on_click=clear_optimizer)
