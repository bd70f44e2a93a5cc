"""The app's session state: the working scenario and the widgets that show it.

- :func:`init_state` fills ``st.session_state`` once per session: the language from the
  browser, the working scenario restored from its autosave (``?ws=`` in the address), then
  every widget's default;
- :func:`widget_values` / :func:`set_widgets` show a scenario in the widgets, and
  :func:`scenario_from_widgets` reads the analysis and optimizer widgets back into one;
- :func:`restore_whatifs` / :func:`with_whatifs` move the facility edits and the study area
  between a scenario and the session;
- :func:`language_changed` sets the translated widgets again after a language switch.

Example (inside ``streamlit run app.py``)::

    from planner.app import state
    state.init_state()
    sc = state.scenario_from_widgets()
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import streamlit as st

import planner
from planner import app as aps
from planner import i18n
from planner.app.compute import T, cached_upload, pruned_autosaves, upload_root
from planner.scenario import Scenario, StudyArea
from planner.standards import PRIMARY_TIERS

log = logging.getLogger("planner.app")
ss = st.session_state


def widget_values(sc: Scenario) -> dict[str, Any]:
    """Widget values that show scenario ``sc``."""
    return {
        "w_source": "demo" if aps.is_demo(sc) else "files",
        "w_mode": sc.mode,
        "w_minutes": int(round(sc.minutes)),
        "w_tiers": list(sc.tiers) if sc.tiers else list(PRIMARY_TIERS),
        "w_speed": sc.speed_kmh,
        "w_access": sc.access_max_m,
        "w_objective": sc.objective if sc.objective in aps.OBJECTIVES else "max-coverage",
        "w_constraint": "budget" if sc.budget is not None else "p",
        "w_p": int(sc.new_sites or 5),
        "w_budget": float(sc.budget if sc.budget is not None else 5.0),
        "w_target": float(sc.target_share),
        "w_opt_tier": sc.new_tier,
        "w_cand": sc.candidates if sc.candidates in aps.CANDIDATE_SOURCES else "uncovered",
        "w_spacing": float(sc.spacing_m),
        "w_time_limit": float(sc.time_limit_s),
        "w_name": sc.name,
    }


def set_widgets(sc: Scenario, *, only_missing: bool) -> None:
    for k, v in widget_values(sc).items():
        if not only_missing or k not in ss:
            ss[k] = v


def restore_whatifs(sc: Scenario) -> None:
    """The facility edits and the study area of a loaded or restored scenario, into the
    session (kept for its data: main_area forgets them only when other data are loaded)."""
    ss.edits = sc.edits
    ss.w_area_units = list(sc.area.admin_codes)
    ss.area_corners = sc.area.boundary
    ss.area_vertices = ()
    ss.edits_data = aps.data_key(sc)


def with_whatifs(sc: Scenario) -> Scenario:
    """``sc`` with the session's facility edits and study area (what is saved with it)."""
    area = StudyArea(
        admin_codes=tuple(sorted(ss.get("w_area_units") or ())),
        boundary=tuple(ss.get("area_corners") or ()),
    )
    return sc.replace(edits=ss.get("edits") or aps.FacilityEdits(), area=area)


def init_state() -> None:
    pruned_autosaves()
    if "lang" not in ss:
        headers: Any = st.context.headers or {}
        ss.lang = i18n.detect_language(st.context.locale, headers.get("Accept-Language"))
    if "scenario" not in ss:
        ws = st.query_params.get("ws", "")
        sc = None
        try:
            path = aps.autosave_path(ws)  # refuses anything but a hex id
        except planner.PlannerError:
            ws = secrets.token_hex(8)
            st.query_params["ws"] = ws
        else:
            try:
                sc = aps.load_scenario(path, upload_root=upload_root())
            except planner.PlannerError as exc:
                log.info("no working scenario to restore for %s: %s", ws, exc)
        ss.ws = ws
        ss.scenario = sc or Scenario(name="scenario 1")
        ss.autosaved = sc
        set_widgets(ss.scenario, only_missing=False)
        restore_whatifs(ss.scenario)
    set_widgets(ss.scenario, only_missing=True)  # widgets not drawn last run lose their state
    for k, v in {
        "w_basemap": "none",
        "w_tianditu_key": "",
        "w_click": "add",
        "w_fac_pick": "",
        "w_fac_tier": "community_center",
        "w_area_units": [],
        "w_map_format": "pdf",
        "w_map_paper": "A4",
        "edits": aps.FacilityEdits(),
        "edits_data": None,
        "area_vertices": (),
        "area_corners": (),
        "map_drawn": None,
        "w_new_tier": "community_station",
        "w_typed_crs": "wgs84",
        "w_lon": None,
        "w_lat": None,
        "w_cost_col": "",
        "w_compare": [],
        "w_compare_maps": False,
        "last_click": None,
        "notice": None,
        "opt": None,
        "just_added": None,
    }.items():
        ss.setdefault(k, v)


def candidates_file() -> tuple[str, str | None]:
    """(path of the premises file for the optimizer, error message): the uploaded file, else
    the demo county's premises when the demo is loaded."""
    up = ss.get("up_candidates")
    if up is not None:  # read with its coordinate system and columns (uploads_panel.py)
        try:
            insp = cached_upload("candidates", up.name, up.file_id, up)
            return str(
                aps.prepare_upload("candidates", insp.path, aps.upload_options(insp, ss)).path
            ), None
        except planner.PlannerError as exc:
            return "", aps.upload_error(exc, T, file=up.name, names={})
    if aps.is_demo(ss.scenario):
        return str(aps.demo_candidates_file()), None
    return "", None


def scenario_from_widgets() -> Scenario:
    """The working scenario with the values of the analysis and optimizer widgets."""
    cand, cfile = ss.w_cand, ""
    by_budget = ss.w_objective == "max-coverage" and ss.w_constraint == "budget"
    if cand == "file":
        cfile = candidates_file()[0]
        if not cfile:  # no premises file yet: the scenario keeps its former source
            cand = ss.scenario.candidates if ss.scenario.candidates != "file" else "uncovered"
    return with_whatifs(ss.scenario).replace(
        name=(ss.w_name or "").strip() or ss.scenario.name,
        mode=ss.w_mode,
        minutes=float(ss.w_minutes),
        tiers=aps.canonical_tiers(ss.w_tiers or ()),
        speed_kmh=float(ss.w_speed) if ss.w_speed is not None else None,
        access_max_m=float(ss.w_access) if ss.w_access is not None else None,
        objective=ss.w_objective,
        new_sites=None if (ss.w_objective == "min-sites" or by_budget) else int(ss.w_p),
        budget=float(ss.w_budget) if by_budget else None,
        target_share=float(ss.w_target),
        new_tier=ss.w_opt_tier,
        candidates=cand,
        candidates_file=cfile,
        spacing_m=float(ss.w_spacing),
        time_limit_s=float(ss.w_time_limit),
    )


#: Widgets whose option labels are translated. The browser keeps a choice as its label, so after
#: a language switch their values are set again, which sends the labels in the new language.
TRANSLATED_WIDGETS = (
    "w_source",
    "w_mode",
    "w_tiers",
    "w_new_tier",
    "w_objective",
    "w_constraint",
    "w_opt_tier",
    "w_cand",
    "w_cost_col",
    "w_weight",
    "w_rule_pick",
    "w_basemap",
    "w_click",
    "w_fac_pick",
    "w_fac_tier",
    "w_area_units",
)


def language_changed() -> None:
    for k in (*TRANSLATED_WIDGETS, *aps.upload_widget_keys(ss)):
        if k in ss:
            ss[k] = ss[k]
