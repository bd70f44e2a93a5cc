"""planner's map app: who lives more than 15 minutes from primary health care, and where new
stations should go. Run from the repository root::

    streamlit run app.py

Works with no internet (Leaflet is served from ``/app/static/leaflet``; no tiles by default).
This file only draws widgets, calls cached functions of :mod:`planner` and renders the answers;
the work is done in the library (:mod:`planner.app` holds the app's helpers).
"""

from __future__ import annotations

import dataclasses
import logging
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import streamlit_folium  # noqa: F401 - registers the map component from the script thread

import planner
from planner import app as aps
from planner import i18n
from planner.app import _speed as app_speed
from planner.app.compute import (
    NO_AREA,
    NO_EDITS,
    Area,
    Progress,
    cached_bands,
    cached_cost_columns,
    cached_dataset,
    cached_payload,
    cached_result,
    cached_standards,
    cached_upload,
    cached_whatif,
    drawn_maps,
    guard,
    prefetch_modes,
    upload_root,
    worker_pool,
)
from planner.app.state import (
    candidates_file,
    init_state,
    language_changed,
    restore_whatifs,
    scenario_from_widgets,
    set_widgets,
    with_whatifs,
)
from planner.coverage import group_coverage, population_groups
from planner.pipeline import CoverageSettings
from planner.scenario import Scenario
from planner.standards import TIERS

log = logging.getLogger("planner.app")

st.set_page_config(page_title="planner · 15-minute primary care", page_icon="🏥", layout="wide")
st.html(aps.APP_CSS)  # layout that fits a 1366 x 768 laptop (planner/app/layout.py)
ss = st.session_state

MAP_KEY = "map"
NEW_SITE_TIERS = (
    "community_station",
    "community_center",
    "village_clinic",
    "township_center",
    "family_doctor_point",
    "hospital",
)

init_state()
T = i18n.Translator(ss.lang)


# ---------------------------------------------------------------------------------------------
# Actions (callbacks run before the rerun they trigger)
# ---------------------------------------------------------------------------------------------


def add_site(lon: float, lat: float, tier: str, result: planner.CoverageResult) -> bool:
    try:
        aps.check_site(result, lon, lat)
    except planner.InputError:
        ss.notice = ("warning", T("site_outside"))
        return False
    ss.scenario = ss.scenario.replace(
        proposed=(*ss.scenario.proposed, (round(lon, 6), round(lat, 6), tier))
    )
    ss.just_added = len(ss.scenario.proposed)
    return True


def remove_site(i: int) -> None:
    p = list(ss.scenario.proposed)
    if 0 <= i < len(p):
        del p[i]
    ss.scenario = ss.scenario.replace(proposed=tuple(p))
    ss.notice = None


def remove_all() -> None:
    ss.scenario = ss.scenario.replace(proposed=())
    ss.notice = None


def adopt_optimizer_sites() -> None:
    run = (ss.opt or {}).get("run")
    if run is None:
        return
    new = tuple((float(r.lon), float(r.lat), str(r.tier)) for r in run.proposals.itertuples())
    ss.scenario = ss.scenario.replace(proposed=(*ss.scenario.proposed, *new))
    ss.opt = None


def clear_optimizer() -> None:
    ss.opt = None


def use_demo() -> None:
    if ss.w_source == "demo" and not aps.is_demo(ss.scenario):
        ss.scenario = ss.scenario.replace(
            data_dir="",
            roads="",
            facilities="",
            population="",
            boundaries="",
            facilities_crs="",
            proposed=(),
        )
        ss.opt = None


def saved_path() -> Path | None:
    """The saved scenario picked in the list (read when the button is clicked)."""
    names = {name: p for name, p in aps.list_scenarios()}
    return names.get(ss.get("w_saved"))


def load_saved() -> None:
    path = saved_path()
    if path is None:
        return
    try:
        sc = aps.load_scenario(path, upload_root=upload_root())
    except planner.PlannerError as exc:
        ss.notice = ("error", T("error_where", what=T("scn_load"), message=str(exc)))
        return
    ss.scenario = sc
    set_widgets(sc, only_missing=False)
    restore_whatifs(sc)
    ss.opt = None
    ss.notice = ("success", T("scn_loaded", name=sc.name))
    # the sidebar's widgets (mode, minutes, tiers...) changed too: a fragment run would leave
    # them showing the old values, and the browser would send those back on the next change
    st.rerun()  # from a callback: the whole app reruns instead of the fragment


def delete_saved() -> None:
    path = saved_path()
    if path is not None and path.exists():
        path.unlink()
        ss.notice = ("success", T("scn_deleted", name=path.stem))


# ---------------------------------------------------------------------------------------------
# Uploads: each file's coordinate system and columns, then one data set (planner/app/uploads*.py)
# ---------------------------------------------------------------------------------------------


def upload_settings(kind: str, up: Any, *, show_error: bool = True) -> aps.Inspection | None:
    """Store and inspect one upload, draw its settings; its error (in the user's words) if
    it cannot be used."""
    try:
        insp = cached_upload(kind, up.name, up.file_id, up)
    except planner.PlannerError as exc:
        if show_error:
            st.error(aps.upload_error(exc, T, file=up.name, names={}))
        return None
    aps.draw_upload_settings(insp, ss, T)
    return insp


def use_uploads(inspections: dict[str, aps.Inspection]) -> None:
    """Read every upload with its chosen coordinate system and columns, then load them as one
    data set; errors name the file and the fix in the user's language."""
    names = {str(i.path): i.filename for i in inspections.values()}
    paths: dict[str, str] = {}
    for kind in aps.UPLOAD_ORDER:
        insp = inspections.get(kind)
        if insp is None:
            continue
        try:
            prepared = aps.prepare_upload(kind, insp.path, aps.upload_options(insp, ss))
        except planner.PlannerError as exc:
            log.info("upload %s: %s", kind, exc)
            st.error(aps.upload_error(exc, T, file=insp.filename, names=names))
            return
        paths[kind] = str(prepared.path)
        names[str(prepared.path)] = insp.filename
    candidate = ss.scenario.replace(
        data_dir="",
        roads=paths["roads"],
        facilities=paths["facilities"],
        population=paths.get("population", ""),
        boundaries=paths.get("boundaries", ""),
        facilities_crs="",
        proposed=(),
    )
    try:
        ds = Progress(st).run(T("progress_data"), cached_dataset, aps.data_key(candidate))
    except planner.PlannerError as exc:
        log.info("uploads: %s", exc)
        files = ", ".join(i.filename for i in inspections.values())
        st.error(
            T("upl_failed_load", files=files)
            + "\n\n"
            + T("upl_err_detail", detail=aps.scrub_paths(str(exc), names))
        )
        return
    ss.scenario = candidate
    ss.opt = None
    ss.notice = ("success", T("uploads_loaded", name=ds.name))
    st.success(T("upl_counts", facilities=len(ds.facilities), roads=len(ds.roads)))
    fac = inspections["facilities"]
    ss.upl_hint = None
    if ss.get(aps.crs_widget_key(fac)) in ("file", "wgs84") and not fac.file.projected:
        d = aps.points_gcj02(ds.roads, ds.facilities)
        if d is not None:
            ss.upl_hint = (aps.crs_widget_key(fac), fac.filename, d)


# ---------------------------------------------------------------------------------------------
# Sidebar: language, data, travel settings, map
# ---------------------------------------------------------------------------------------------

sb = st.sidebar
sb.radio(
    T("language"),
    list(i18n.LANGUAGES),
    key="lang",
    horizontal=True,
    on_change=language_changed,
    format_func=lambda v: {"zh": "中文", "en": "English"}[v],
)
LANG = ss.lang
T = i18n.Translator(LANG)


def tier_name(tier: str) -> str:
    return aps.tier_label(tier, LANG)


def group_label(group: str) -> str:
    """A population group's name for the reader (known groups translated, others as named)."""
    return T(f"group_{group}") if f"group_{group}" in i18n.STRINGS else group


def rule_name(rule: str) -> str:
    """``R1 <label>`` (the label does not depend on the minutes)."""
    return f"{rule} {aps.rule_text(rule, LANG, minutes=15)[0]}"


sb.header(T("data_header"))
sb.radio(
    T("data_source"),
    ["demo", "files"],
    key="w_source",
    on_change=use_demo,
    format_func=lambda v: T("source_demo") if v == "demo" else T("source_upload"),
)
if ss.w_source == "files":
    uploads: dict[str, Any] = {}
    inspections: dict[str, aps.Inspection] = {}
    for kind in ("roads", "facilities", "boundaries", "population"):
        uploads[kind] = sb.file_uploader(
            T(f"upload_{kind}"),
            type=list(aps.UPLOAD_TYPES[kind]),
            key=f"up_{kind}",
            max_upload_size=aps.UPLOAD_LIMIT_MB[kind],
            help=T("upload_limit", mb=aps.UPLOAD_LIMIT_MB[kind]),
        )
        # its coordinate system and columns (planner/app/uploads_panel.py)
        if uploads[kind] is not None:
            with sb:
                insp = upload_settings(kind, uploads[kind])
            if insp is not None:
                inspections[kind] = insp
    if sb.button(T("use_uploads"), key="btn_use_uploads", type="primary"):
        if uploads["roads"] is None or uploads["facilities"] is None:
            sb.error(T("need_roads_facilities"))
        elif set(inspections) == {k for k, f in uploads.items() if f is not None}:
            with sb, guard(T("use_uploads"), sb):
                use_uploads(inspections)
    if ss.get("upl_hint"):  # points that look like GCJ-02 (tested against the roads by use_uploads)
        key, name, d = ss.upl_hint
        sb.warning(T("points_look_gcj02", file=name, as_is=d["as_is"], undone=d["undone"]))
        sb.button(
            T("convert_web_map", system="GCJ-02"),
            key="btn_conv_points",
            on_click=ss.update,
            args=({key: "gcj02", "upl_hint": None},),
        )

sb.header(T("travel_header"))
sb.radio(
    T("mode"), list(aps.MODES), key="w_mode", horizontal=True, format_func=lambda v: T(f"mode_{v}")
)
sb.slider(T("minutes"), min_value=5, max_value=60, step=1, key="w_minutes")
sb.multiselect(T("tiers"), list(TIERS), key="w_tiers", format_func=tier_name)
with sb.expander(T("advanced")):
    st.number_input(
        T("speed"),
        min_value=0.5,
        max_value=200.0,
        step=0.5,
        key="w_speed",
        placeholder=f"{aps.MODE_SPEED_KMH[ss.w_mode]:g}",
        help=T("speed_help"),
    )
    st.number_input(
        T("access_max"),
        min_value=0.0,
        max_value=5000.0,
        step=50.0,
        key="w_access",
        placeholder=f"{aps.DEFAULT_ACCESS_MAX_M:g}",
    )
sb.header(T("map_header"))
if ss.w_basemap not in aps.BASEMAP_CHOICES:  # a value from an older session (a bool)
    ss.w_basemap = "none"
sb.selectbox(
    T("basemap"),
    list(aps.BASEMAP_CHOICES),
    key="w_basemap",
    format_func=lambda v: T(f"basemap_{v}"),
    help=T("basemap_help"),
)
if aps.basemap_needs_key(ss.w_basemap):
    sb.text_input(
        T("tianditu_key"), key="w_tianditu_key", type="password", help=T("tianditu_key_help")
    )
    if not ss.w_tianditu_key.strip():
        sb.caption(T("tianditu_need_key"))


def chosen_basemap() -> tuple[str | None, str]:
    """(base map for the map, Tianditu key): none while a Tianditu key is missing."""
    name, tk = ss.w_basemap, (ss.w_tianditu_key or "").strip()
    if name == "none" or (aps.basemap_needs_key(name) and not tk):
        return None, ""
    return name, tk if aps.basemap_needs_key(name) else ""


# ---------------------------------------------------------------------------------------------
# Main area (a fragment): compute (cached), process a map click, then draw the panels
# ---------------------------------------------------------------------------------------------


def fmt_kind(v: str) -> str:
    return T(f"kind_{v}") if v else ""


def fmt_status(v: str) -> str:
    return T(f"status_{v}")


def township_table(result: planner.CoverageResult, whatif: aps.WhatIf | None) -> pd.DataFrame:
    tab = result.admin_summary
    if tab is None:  # no population: the coverage tab says so instead
        return pd.DataFrame()
    t = tab[tab["level"] == "township"].copy()
    out = pd.DataFrame(
        {
            T("col_unit"): t["admin_name"].to_numpy(),
            T("col_kind"): [fmt_kind(k) for k in t["kind"]],
            T("col_population"): t["population"].round().to_numpy(),
            T("col_covered"): t["covered_population"].round().to_numpy(),
            T("col_uncovered"): t["uncovered_population"].round().to_numpy(),
            T("col_share"): (100 * t["covered_share"]).round(1).to_numpy(),
            T("col_mean_minutes"): t["mean_minutes"].round(1).to_numpy(),
        }
    )
    if whatif is not None:
        pa = whatif.per_admin
        gain = pa[pa["level"] == "township"].set_index("admin_code")["newly_covered_population"]
        g = t["admin_code"].map(gain).fillna(0.0).to_numpy()
        out[T("col_newly")] = g.round()
        out[T("col_share_after")] = (
            100 * (t["covered_population"].to_numpy() + g) / t["population"].to_numpy()
        ).round(1)
    return out


def standards_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The standards summary as readable text: separators, per cent, "–" for nothing."""
    t = aps.standards_display(summary, LANG, minutes=planner.Rules().coverage_minutes)
    return t.rename(columns={c: T(f"col_{c}") for c in t.columns})


def cnt(values: Any) -> list[str]:
    """Counts as text for a table: "1,234", "–" for none (never None or nan)."""
    return [aps.count_text(v) for v in values]


def val(rules: Any, values: Any) -> list[str]:
    """Unit values as text: per cent for R1, residents otherwise, "–" for none."""
    return [aps.value_text(r, v) for r, v in zip(rules, values, strict=True)]


def fmt_figure(rule: str, v: float) -> str:
    """A rule's figure for a table cell: "–" when there is none (never "nan %")."""
    return aps.figure_text(rule, v)


@dataclass(frozen=True)
class View:
    """What the panels of one run draw from."""

    sc: Scenario
    ds: planner.Dataset
    result: planner.CoverageResult
    key: tuple[str, ...]
    settings: CoverageSettings
    whatif: aps.WhatIf | None
    std_units: pd.DataFrame
    std_summary: pd.DataFrame
    opt: dict | None
    opt_run: Any
    edits: aps.FacilityEdits = NO_EDITS
    area: Area = NO_AREA
    #: whether the standards tab is the one shown: the standards after the changes (a third of
    #: a click's work) are checked only when they are looked at (or exported)


# ---------------------------------------------------------------------------------------------
# What-if of the existing facilities (close, move, change tier) and the study area
# ---------------------------------------------------------------------------------------------

#: What a click on the map does: add a station, pick a facility, move the picked one there,
#: add a corner of the study boundary.
CLICK_ACTIONS = ("add", "pick", "move", "vertex")


def signed(x: float) -> str:
    """A change in residents with its sign: "+1,234", "-567", "+0" (never "-0")."""
    v = round(float(x))
    return f"{v + 0:+,d}"


def facilities_after(v: View) -> int:
    """Facilities counted with the edits and the proposed sites."""
    n = len(v.result.facilities)
    if v.edits:
        reg = v.edits.apply(v.ds.facilities)
        n = len(reg[reg["tier"].isin(list(v.settings.selected_tiers))])
    return n + len(v.sc.proposed)


def reset_edits() -> None:
    """Forget the facility edits and the study area (other data were loaded)."""
    ss.edits = aps.FacilityEdits()
    ss.w_fac_pick = ""
    ss.w_area_units = []
    ss.area_vertices = ()
    ss.area_corners = ()


def current_area() -> Area:
    """The study area chosen: admin units picked, corners of a clicked boundary."""
    return (tuple(sorted(ss.w_area_units or ())), tuple(ss.area_corners))


def on_click(lon: float, lat: float, ds: planner.Dataset, result: planner.CoverageResult) -> None:
    """A click on the map, as the click control says."""
    action = ss.w_click
    if action == "add":
        add_site(lon, lat, ss.w_new_tier, result)
    elif action == "pick":
        placed = aps.FacilityEdits(moved=ss.edits.moved).apply(ds.facilities)
        fid = aps.nearest_facility_id(placed, lon, lat)
        if fid is None:
            ss.notice = ("warning", T("fac_not_near"))
        else:
            ss.w_fac_pick = fid
    elif action == "move":
        fid = ss.w_fac_pick
        try:
            aps.check_site(result, lon, lat)
        except planner.InputError:
            ss.notice = ("warning", T("site_outside"))
            return
        if fid:
            ss.edits = ss.edits.move(fid, lon, lat)
            ss.w_click = "pick"
            ss.notice = ("success", T("fac_moved", fid=fid))
        else:
            ss.notice = ("warning", T("fac_pick_first"))
    elif action == "vertex":
        ss.area_vertices = (*ss.area_vertices, (round(lon, 6), round(lat, 6)))


def close_picked() -> None:
    if ss.w_fac_pick:
        ss.edits = ss.edits.close(ss.w_fac_pick)


def start_move() -> None:
    if ss.w_fac_pick:
        ss.w_click = "move"


def retier_picked() -> None:
    if ss.w_fac_pick:
        ss.edits = ss.edits.set_tier(ss.w_fac_pick, ss.w_fac_tier)


def undo_edit(fid: str) -> None:
    ss.edits = ss.edits.undo(fid)


def undo_all_edits() -> None:
    ss.edits = aps.FacilityEdits()


def use_boundary() -> None:
    try:
        aps.polygon_from_clicks(ss.area_vertices)
    except planner.InputError as exc:
        ss.notice = ("error", T("error_where", what=T("area_header"), message=str(exc)))
        return
    ss.area_corners, ss.area_vertices = ss.area_vertices, ()
    ss.w_click = "add"


def clear_boundary() -> None:
    ss.area_corners, ss.area_vertices = (), ()


def take_drawing() -> None:
    """A shape drawn with the map's draw tool (new since the last run) becomes the study
    boundary; one that cannot be (crossing edges, too few corners) is refused with a note."""
    drawings = (ss.get(MAP_KEY) or {}).get("all_drawings")
    drawn = drawings[-1] if isinstance(drawings, list) and drawings else None
    if not drawn or drawn == ss.get("last_drawing"):
        return
    ss.last_drawing = drawn
    try:
        corners = aps.drawn_boundary(drawn, datum=ss.get("map_datum", "wgs84"))
    except planner.InputError as exc:
        ss.notice = ("error", T("error_where", what=T("area_header"), message=str(exc)))
        return
    ss.area_corners, ss.area_vertices = corners, ()
    ss.notice = ("success", T("area_drawn", n=len(corners)))


def edits_panel(v: View) -> None:
    """Pick an existing facility (on the map or in the list), then close, move or re-tier it."""
    st.markdown(f"**{T('fac_header')}**")
    reg = v.ds.facilities.drop_duplicates("facility_id")
    names = reg["name"].astype(str) if "name" in reg.columns else reg["facility_id"].astype(str)
    labels = {
        str(f): f"{n} · {tier_name(str(t))} · {f}"
        for f, n, t in zip(reg["facility_id"], names, reg["tier"], strict=True)
    }
    if ss.w_fac_pick not in labels:
        ss.w_fac_pick = ""
    st.selectbox(
        T("fac_pick"),
        ["", *labels],
        key="w_fac_pick",
        format_func=lambda f: labels.get(f, T("fac_none")),
        help=T("fac_pick_help"),
    )
    if ss.w_fac_pick:
        b1, b2 = st.columns(2)
        b1.button(T("fac_close"), key="btn_fac_close", on_click=close_picked)
        b2.button(T("fac_move"), key="btn_fac_move", on_click=start_move)
        if ss.w_click == "move":
            st.caption(T("fac_move_help"))
        t1, t2 = st.columns([3, 2], vertical_alignment="bottom")
        t1.selectbox(T("fac_tier"), list(TIERS), key="w_fac_tier", format_func=tier_name)
        t2.button(T("fac_retier"), key="btn_fac_retier", on_click=retier_picked)
    for i, (fid, action, detail) in enumerate(v.edits.rows()):
        row, btn = st.columns([6, 1], vertical_alignment="center")
        name = labels.get(fid, fid)
        shown = tier_name(detail) if action == "tier" else detail
        row.markdown(T(f"edit_{action}", name=name, detail=shown))
        btn.button(
            "",
            icon=":material/undo:",
            key=f"undo_{i}",
            on_click=undo_edit,
            args=(fid,),
            help=T("fac_undo"),
        )
    if v.edits:
        st.button(T("fac_undo_all"), key="btn_undo_all", on_click=undo_all_edits)


def area_panel(v: View) -> None:
    """Restrict the analysis to admin units picked or a boundary clicked on the map."""
    b = v.ds.boundaries
    if b is None or not len(b):
        return
    with st.expander(T("area_header"), expanded=v.area != NO_AREA):
        units = b[b["level"].isin(["township", "village"])].drop_duplicates("admin_code")
        labels = {
            str(c): f"{n} ({T(f'level_{lv}')})"
            for c, n, lv in zip(
                units["admin_code"], units["admin_name"], units["level"], strict=True
            )
        }
        ss.w_area_units = [c for c in ss.w_area_units if c in labels]
        st.multiselect(
            T("area_units"), list(labels), key="w_area_units", format_func=lambda c: labels[c]
        )
        st.caption(T("area_draw_tool"))
        st.caption(T("area_draw_help", n=len(ss.area_vertices)))
        c1, c2 = st.columns(2)
        c1.button(
            T("area_use"),
            key="btn_area_use",
            on_click=use_boundary,
            disabled=len(ss.area_vertices) < 3,
        )
        c2.button(T("area_clear"), key="btn_area_clear", on_click=clear_boundary)


def map_settings(key: tuple[str, ...], settings: CoverageSettings) -> CoverageSettings:
    """The settings the map is drawn for: the current ones when this server has drawn that
    map already, on the first view, on other data, or when asked; else the last drawn, with a
    note and a button (drawing the isochrones takes seconds: the numbers answer first)."""
    basemap = chosen_basemap()
    last = ss.map_drawn
    redraw = ss.pop("map_redraw", False)
    if last is None or last[0] != key or redraw or (key, settings, LANG, *basemap) in drawn_maps():
        ss.map_drawn = (key, settings)
        return settings
    shown = last[1]
    if shown != settings:
        n, b = st.columns([4, 1], vertical_alignment="center")
        n.caption(T("map_stale", mode=T(f"mode_{shown.mode}"), minutes=shown.minutes))
        b.button(
            T("map_redraw"), key="btn_map_redraw", on_click=ss.update, args=({"map_redraw": True},)
        )
    return shown


def side_panel(v: View) -> None:
    """Headline numbers and the what-if panel (sent before the map, so they show first)."""
    sc, result, whatif = v.sc, v.result, v.whatif
    st.subheader(T("headline"))
    if result.has_population:
        c1, c2 = st.columns(2)
        c1.metric(T("share_inside", minutes=sc.minutes), f"{100 * result.covered_share:.1f} %")
        c2.metric(T("facilities_count"), f"{len(result.facilities):,}")
        c3, c4 = st.columns(2)
        c3.metric(T("covered"), f"{result.covered_population:,.0f}")
        c4.metric(T("uncovered"), f"{result.total_population - result.covered_population:,.0f}")
        groups = group_coverage(result.demand).iloc[1:]
        if len(groups):  # residents aged 65+, under 5, ... beside the total
            st.caption(
                T(
                    "group_shares",
                    minutes=sc.minutes,
                    shares=" · ".join(
                        f"{group_label(r.group)} {100 * r.covered_share:.1f} %"
                        for r in groups.itertuples()
                    ),
                )
            )
        if result.unreachable_population > 0:
            st.caption(
                T(
                    "unreachable_note",
                    pop=result.unreachable_population,
                    m=result.network.mode.access_max_m,
                )
            )
        # drawn before any proposal too, so that a click updates them rather than adding them
        c5, c6 = st.columns(2)
        c7, c8 = st.columns(2)
        if whatif is not None:
            c5.metric(
                T("with_proposals"),
                f"{100 * whatif.covered_share_after:.1f} %",
                delta=f"{100 * (whatif.covered_share_after - result.covered_share):+.1f} pp",
            )
            # signed: a closure uncovers residents ("-2,619"), a site that adds nobody is "+0"
            c6.metric(T("newly_covered"), signed(whatif.newly_covered_population))
            lost = whatif.uncovered_population_after - (
                result.total_population - result.covered_population
            )
            c7.metric(
                T("uncovered_after"),
                f"{whatif.uncovered_population_after:,.0f}",
                delta=signed(lost),
                delta_color="inverse",
            )
        else:
            c5.metric(T("with_proposals"), "–")
            c6.metric(T("newly_covered"), "–")
            c7.metric(T("uncovered_after"), "–")
        c8.metric(T("facilities_after"), f"{facilities_after(v):,}")
        if v.area != NO_AREA:
            st.caption(T("area_counting", units=len(v.area[0]), corners=len(v.area[1])))
    else:
        st.info(T("no_population"))
        st.metric(T("facilities_count"), f"{len(result.facilities):,}")

    st.subheader(T("whatif_header"))
    if result.has_population:
        st.caption(T("whatif_help"))
        a, b = st.columns(2)
        a.radio(
            T("click_does"),
            list(CLICK_ACTIONS),
            key="w_click",
            format_func=lambda v: T(f"click_{v}"),
        )
        b.selectbox(T("new_tier"), list(NEW_SITE_TIERS), key="w_new_tier", format_func=tier_name)
        with st.expander(T("add_by_coords")):
            # typed coordinates may be GCJ-02 (copied from Amap) or BD-09 (Baidu): converted
            st.selectbox(
                T("typed_crs"),
                list(aps.TYPED_CRS),
                key="w_typed_crs",
                format_func=lambda v: T(f"crs_{v}"),
            )
            x, y = st.columns(2)
            x.number_input(
                T("typed_lon"), min_value=-180.0, max_value=180.0, format="%.6f", key="w_lon"
            )
            y.number_input(
                T("typed_lat"), min_value=-90.0, max_value=90.0, format="%.6f", key="w_lat"
            )
            if (
                st.button(T("add_site"), key="btn_add_site")
                and ss.w_lon is not None
                and ss.w_lat is not None
            ):
                lon, lat = aps.typed_point_wgs84(float(ss.w_lon), float(ss.w_lat), ss.w_typed_crs)
                if add_site(lon, lat, ss.w_new_tier, result):
                    st.rerun()
        if whatif is not None:
            sites = whatif.sites
            if ss.just_added and ss.just_added <= len(sites):
                r = sites.iloc[ss.just_added - 1]
                st.success(
                    T(
                        "site_added",
                        site=r.site_id,
                        tier=aps.tier_label(r.tier, LANG),
                        pop=r.newly_covered_population,
                    )
                )
            for i, r in enumerate(sites.itertuples()):
                row, btn = st.columns([6, 1], vertical_alignment="center")
                place = " ".join(v for v in (r.township_name, r.village_name) if v)
                row.markdown(
                    T(
                        "site_row",
                        site=r.site_id,
                        tier=aps.tier_label(r.tier, LANG),
                        place=place or "–",
                        pop=r.newly_covered_population,
                    )
                )
                btn.button(
                    "",
                    icon=":material/close:",
                    key=f"rm_{i}",
                    on_click=remove_site,
                    args=(i,),
                    help=T("remove"),
                )
            st.button(T("remove_all"), key="btn_rm_all", on_click=remove_all)
            st.caption(T("whatif_timing", ms=whatif.seconds * 1000))
        else:
            st.caption(T("no_proposals"))
        edits_panel(v)
        area_panel(v)
    ss.just_added = None


def map_panel(v: View, progress: Progress) -> None:
    """The map: the cached base map and this run's what-if and optimizer layers."""
    key, settings, whatif, opt_run = v.key, v.settings, v.whatif, v.opt_run
    with guard(T("progress_map")):
        shown = map_settings(key, settings)
        payload = progress.run(
            T("progress_map"), cached_payload, key, shown, LANG, *chosen_basemap()
        )
        ss.map_datum = payload.datum  # the next click is read back from this map's datum
        groups = aps.whatif_layers(
            whatif,
            opt_run.proposals if opt_run is not None else None,
            lang=LANG,
            datum=payload.datum,
        )
        groups += aps.edit_layers(
            whatif,
            v.ds.facilities,
            edits=v.edits,
            picked=ss.w_fac_pick or None,
            vertices=ss.area_vertices,
            polygon=aps.polygon_from_clicks(v.area[1]) if v.area[1] else None,
            lang=LANG,
            datum=payload.datum,
            tier_names={t: tier_name(t) for t in TIERS},
        )
        aps.show_map(sent_once(payload), groups, key=MAP_KEY, height=aps.MAP_HEIGHT_PX)


def sent_once(payload: aps.MapPayload) -> aps.MapPayload:
    """The payload to send: without the base map's script (~565 kB on the demo) when the
    previous run of this session drew the same map. streamlit_folium runs the script only
    when its frame has no map yet (``window.map``), afterwards it only swaps the layers, so
    resending it costs the server, the network and every browser a parse per click for
    nothing. A run that did not draw the map (an error, an interrupted run) sends it whole,
    and so does the run after a rebuilt frame asked for it (``aps.MAP_KEPT``)."""
    ss.map_now = payload.digest
    asked = aps.needs_whole_map(ss.get(MAP_KEY), ss.get("map_asked"))
    if asked is not None:
        ss.map_asked = asked
        return payload
    if ss.get("map_prev") == payload.digest:
        return dataclasses.replace(payload, script=aps.MAP_KEPT)
    return payload


def tab_coverage(v: View) -> None:
    """Coverage per township or subdistrict."""
    sc, result, whatif = v.sc, v.result, v.whatif
    if result.has_population and result.admin_summary is not None:
        st.caption(T("coverage_table_caption", minutes=sc.minutes))
        st.dataframe(
            township_table(result, whatif),
            hide_index=True,
            key="tbl_townships",
            column_config={
                T("col_share"): st.column_config.ProgressColumn(
                    T("col_share"), min_value=0, max_value=100, format="%.1f %%"
                ),
                T("col_population"): st.column_config.NumberColumn(format="localized"),
                T("col_covered"): st.column_config.NumberColumn(format="localized"),
                T("col_uncovered"): st.column_config.NumberColumn(format="localized"),
            },
        )
    else:
        st.info(T("no_population"))


def tab_standards(v: View) -> None:
    """The standards report, and how the proposed sites change it."""
    whatif, std_units, std_summary = v.whatif, v.std_units, v.std_summary
    if len(std_summary) == 0:
        st.info(T("no_boundaries"))
    else:
        st.caption(T("standards_caption", minutes=planner.Rules().coverage_minutes))
        st.dataframe(standards_table(std_summary), hide_index=True, key="tbl_standards")
        if whatif is not None:
            st.markdown(f"**{T('standards_change')}**")
            ch = whatif.change
            st.dataframe(
                pd.DataFrame(
                    {
                        T("col_rule"): [rule_name(r) for r in ch["rule"]],
                        f"{T('col_met')} · {T('col_before')}": cnt(ch["met_before"]),
                        f"{T('col_met')} · {T('col_after')}": cnt(ch["met_after"]),
                        f"{T('col_missing')} · {T('col_before')}": cnt(ch["missing_before"]),
                        f"{T('col_missing')} · {T('col_after')}": cnt(ch["missing_after"]),
                        f"{T('col_figure')} · {T('col_before')}": [
                            fmt_figure(r, v)
                            for r, v in zip(ch["rule"], ch["figure_before"], strict=True)
                        ],
                        f"{T('col_figure')} · {T('col_after')}": [
                            fmt_figure(r, v)
                            for r, v in zip(ch["rule"], ch["figure_after"], strict=True)
                        ],
                    }
                ),
                hide_index=True,
                key="tbl_standards_change",
            )
            uc = whatif.units_changed
            if len(uc):
                st.markdown(f"**{T('units_changed')}**")
                st.dataframe(
                    pd.DataFrame(
                        {
                            T("col_rule"): uc["rule"],
                            T("col_unit"): uc["admin_name"],
                            T("col_before"): [fmt_status(s) for s in uc["status_before"]],
                            T("col_after"): [fmt_status(s) for s in uc["status_after"]],
                            f"{T('col_count')} · {T('col_before')}": cnt(uc["count_before"]),
                            f"{T('col_count')} · {T('col_after')}": cnt(uc["count_after"]),
                            f"{T('col_value')} · {T('col_before')}": val(
                                uc["rule"], uc["value_before"]
                            ),
                            f"{T('col_value')} · {T('col_after')}": val(
                                uc["rule"], uc["value_after"]
                            ),
                        }
                    ),
                    hide_index=True,
                    key="tbl_units_changed",
                )
        st.markdown(f"**{T('standards_detail')}**")
        rule_pick = st.selectbox(
            T("standards_rule_pick"),
            list(std_summary["rule"]),
            key="w_rule_pick",
            format_func=rule_name,
        )
        units = whatif.standards_after if whatif is not None else std_units
        u = units[units["rule"] == rule_pick]
        st.dataframe(
            pd.DataFrame(
                {
                    T("col_unit"): u["admin_name"],
                    T("col_kind"): [fmt_kind(k) for k in u["kind"]],
                    T("col_population"): cnt(u["population"]),
                    T("col_count"): cnt(u["count"]),
                    T("col_value"): val(u["rule"], u["value"]),
                    T("col_status"): [fmt_status(s) for s in u["status"]],
                }
            ),
            hide_index=True,
            key="tbl_standards_units",
        )


def tab_whatif(v: View) -> None:
    """The proposed sites: per site, per unit, whose nearest facility changes, loads."""
    result, whatif = v.result, v.whatif
    if whatif is None:
        st.caption(T("no_proposals") if result.has_population else T("needs_population"))
    else:
        st.markdown(f"**{T('per_site')}**")
        s = whatif.sites
        st.dataframe(
            pd.DataFrame(
                {
                    T("col_site"): s["site_id"],
                    T("col_tier"): [aps.tier_label(t, LANG) for t in s["tier"]],
                    T("lon"): s["lon"],
                    T("lat"): s["lat"],
                    T("col_township"): s["township_name"],
                    T("col_village"): s["village_name"],
                    T("col_newly"): s["newly_covered_population"].round(),
                    T("col_catchment"): s["catchment_population"].round(),
                    T("col_overlap"): s["overlap_population"].round(),
                }
            ),
            hide_index=True,
            key="tbl_sites",
        )
        st.markdown(f"**{T('per_admin')}**")
        pa = whatif.per_admin
        st.dataframe(
            pd.DataFrame(
                {
                    T("col_level"): [T(f"level_{v}") for v in pa["level"]],
                    T("col_unit"): pa.get("admin_name", pa["admin_code"]),
                    T("col_newly"): pa["newly_covered_population"].round(),
                    T("col_population"): pa["population"].round(),
                    T("col_share"): (100 * pa["covered_share_before"]).round(1),
                    T("col_share_after"): (100 * pa["covered_share_after"]).round(1),
                }
            ),
            hide_index=True,
            key="tbl_per_admin",
        )
        st.markdown(f"**{T('nearest_changes')}**")
        nc = whatif.nearest_changes
        st.dataframe(
            pd.DataFrame(
                {
                    T("col_old_facility"): [
                        f"{a} {b}".strip()
                        for a, b in zip(nc["old_facility"], nc["old_name"], strict=True)
                    ],
                    T("col_new_site"): nc["new_site"],
                    T("col_population"): nc["population"].round(),
                    T("col_old_minutes"): nc["old_minutes"].round(1),
                    T("col_new_minutes"): nc["new_minutes"].round(1),
                }
            ),
            hide_index=True,
            key="tbl_nearest",
        )
        st.markdown(f"**{T('loads')}**")
        loads = whatif.evaluation.loads
        st.dataframe(
            loads[loads["residents_before"].round() != loads["residents_after"].round()].round(0),
            hide_index=True,
            key="tbl_loads",
        )


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
        format_func=lambda v: T(f"obj_{v}"),
    )
    if ss.w_objective == "max-coverage":
        o1.radio(
            T("constraint"),
            ["p", "budget"],
            key="w_constraint",
            horizontal=True,
            format_func=lambda v: T(f"by_{v}"),
        )
    if ss.w_objective == "min-sites":
        o2.slider(T("target_share"), min_value=0.5, max_value=1.0, step=0.01, key="w_target")
    elif ss.w_objective == "max-coverage" and ss.w_constraint == "budget":
        o2.number_input(T("budget"), min_value=0.0, step=1.0, key="w_budget")
    else:
        o2.number_input(T("new_sites"), min_value=1, max_value=100, step=1, key="w_p")
    o2.selectbox(T("opt_tier"), list(NEW_SITE_TIERS), key="w_opt_tier", format_func=tier_name)
    o3.selectbox(
        T("candidates"),
        list(aps.CANDIDATE_SOURCES),
        key="w_cand",
        format_func=lambda v: T(f"cand_{v}"),
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
        o2.selectbox(
            T("cost_column"),
            choices,
            key="w_cost_col",
            format_func=lambda v: v or T("cost_each_one"),
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
            format_func=lambda g: group_label(g or "all"),
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
                    progress=lambda stage, f: bar.progress(
                        min(max(float(f), 0.0), 1.0), text=str(stage)
                    ),
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
    m4.metric(T("opt_status"), s["status"])
    m5.metric(T("opt_solver"), s["solver"])
    m6.metric(T("opt_seconds"), f"{s['seconds']:.2f}")
    st.metric(
        T("opt_covered_after"),
        f"{s['covered_population_after']:,.0f}",
        delta=f"{s['covered_population_after'] - s['covered_population_before']:+,.0f}",
    )
    st.caption(f"{T(unit)} · {T('opt_gap_note')}")
    p = opt_run.proposals
    where = planner.report.locate_sites(p, result.boundaries)  # township, village
    st.dataframe(
        pd.DataFrame(
            {
                T("col_site"): p["site_id"],
                T("col_tier"): [aps.tier_label(t, LANG) for t in p["tier"]],
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


def tab_scenarios(v: View) -> None:
    """Save, load and compare scenarios (kept on disk)."""
    sc = v.sc
    folder = aps.scenario_dir()
    st.caption(T("scn_folder", path=folder))
    n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
    n1.text_input(T("scn_name"), key="w_name", max_chars=80)
    if n2.button(T("scn_save"), key="btn_save", type="primary"):
        with guard(T("scn_save")):
            sc = ss.scenario = scenario_from_widgets()
            path = aps.save_scenario(sc, folder)
            st.success(T("scn_saved", path=path))
    saved = aps.list_scenarios(folder)
    if not saved:
        st.caption(T("scn_none"))
    else:
        names = {p.stem: str(p) for _, p in saved}
        l1, l2, l3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        l1.selectbox(T("scn_saved_list"), list(names), key="w_saved")
        l2.button(T("scn_load"), key="btn_load", on_click=load_saved)
        l3.button(T("scn_delete"), key="btn_delete", on_click=delete_saved)
        ss.w_compare = [n for n in ss.w_compare if n in names]
        st.multiselect(T("scn_compare"), list(names), key="w_compare")
        st.toggle(T("scn_compare_maps"), key="w_compare_maps")
        if ss.w_compare:
            with guard(T("scn_compare")):
                cmp_progress = Progress(st.container())
                entries = [(f"{sc.name} {T('scn_current')}", sc)]
                for n in ss.w_compare:
                    entries.append(
                        (
                            n,
                            aps.load_scenario(names[n], folder=folder, upload_root=upload_root()),
                        )
                    )
                rows, maps = [], []
                for label, other in entries:
                    k, s_ = aps.data_key(other), aps.coverage_settings(other)
                    d = cmp_progress.run(T("progress_compare"), cached_dataset, k)
                    r = cmp_progress.run(T("progress_compare"), cached_result, k, s_)
                    # each with its own facility edits and study area, as saved
                    a = (tuple(sorted(other.area.admin_codes)), other.area.boundary)
                    r = cached_result(k, s_, area=a)
                    w = cached_whatif(k, s_, other.proposed, other.edits, a)
                    row = aps.scenario_row(other, d, r, w, cached_standards(k, s_, a)[1])
                    row["name"] = label
                    rows.append(row)
                    maps.append((label, k, s_, w))
                cmp_progress.finish()
                table = pd.DataFrame([aps.scenario_row_text(r) for r in rows]).set_index("name").T
                labels = {
                    c: T(f"cmp_{c}") for c in rows[0] if c != "name" and not c.endswith("_met")
                }
                labels.update(
                    {c: rule_name(c.removesuffix("_met")) for c in rows[0] if c.endswith("_met")}
                )
                table.index = [labels.get(i, i) for i in table.index]
                st.dataframe(table, key="tbl_compare")
                if ss.w_compare_maps:
                    cols = st.columns(min(len(maps), 3))
                    for i, (label, k, s_, w) in enumerate(maps[:3]):
                        with cols[i]:
                            st.markdown(f"**{label}**")
                            pl = cmp_progress.run(
                                T("progress_map"), cached_payload, k, s_, LANG, None
                            )
                            aps.show_map(
                                pl,
                                aps.whatif_layers(w, lang=LANG, datum=pl.datum),
                                key=f"cmp_map_{i}",
                                height=380,
                            )


def tab_export(v: View) -> None:
    """Downloads: GeoPackage, Excel, CSV tables and the HTML report."""
    sc, result, key, settings, whatif, std_units, std_summary, opt_run = (
        v.sc,
        v.result,
        v.key,
        v.settings,
        v.whatif,
        v.std_units,
        v.std_summary,
        v.opt_run,
    )
    st.subheader(T("exp_header"))
    st.caption(T("exp_note"))
    safe = aps.scenario_file_name(sc.name)[:-5]

    def tables() -> dict[str, pd.DataFrame]:
        # the standards after the changes: checked when a download asks for them
        exp_std = whatif.standards_after if whatif is not None else std_units
        exp_sum = whatif.summary_after if whatif is not None else std_summary
        return aps.export_tables(result, whatif, exp_std, exp_sum, opt_run, lang=LANG)

    def gpkg() -> bytes:
        return aps.export_gpkg(
            result, tables(), whatif=whatif, run=opt_run, bands=cached_bands(key, settings)
        )

    def report_html() -> str:
        title = T("report_title", name=sc.name, minutes=sc.minutes)
        return aps.html_report(
            result,
            title=title,
            lines=planner.summary_lines(result),
            tables=tables(),
            whatif=whatif,
            run=opt_run,
            bands=cached_bands(key, settings),
            lang=LANG,
        )

    e1, e2, e3, e4 = st.columns(4)
    e1.download_button(
        T("exp_gpkg"),
        data=gpkg,
        file_name=f"{safe}.gpkg",
        mime="application/geopackage+sqlite3",
        key="dl_gpkg",
        on_click="ignore",
    )
    e2.download_button(
        T("exp_xlsx"),
        data=lambda: aps.tables_xlsx(tables(), lang=LANG),
        file_name=f"{safe}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="dl_xlsx",
        on_click="ignore",
    )
    e3.download_button(
        T("exp_csv"),
        data=lambda: aps.tables_csv_zip(tables(), lang=LANG),
        file_name=f"{safe}-tables.zip",
        mime="application/zip",
        key="dl_csv",
        on_click="ignore",
    )
    e4.download_button(
        T("exp_html"),
        data=report_html,
        file_name=f"{safe}.html",
        mime="text/html",
        key="dl_html",
        on_click="ignore",
    )
    # the printable map (planner map): PDF or PNG, A4 or A3
    m1, m2, m3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    m1.selectbox(T("exp_map_format"), ["pdf", "png"], key="w_map_format", format_func=str.upper)
    m2.selectbox(T("exp_map_paper"), ["A4", "A3"], key="w_map_paper")
    fmt, paper = ss.w_map_format, ss.w_map_paper
    m3.download_button(
        T("exp_map"),
        data=lambda: aps.printable_map(result, whatif, lang=LANG, format=fmt, paper=paper),
        file_name=f"{safe}-map.{fmt}",
        mime="application/pdf" if fmt == "pdf" else "image/png",
        key="dl_map",
        on_click="ignore",
        icon=":material/print:",
    )


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


with suppress(planner.PlannerError):  # main_area shows the error
    ss.scenario = scenario_from_widgets()
st.title(T("title"))
st.caption(T("subtitle", minutes=ss.scenario.minutes))
main_area()
