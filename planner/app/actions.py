"""The app's actions: callbacks run before the rerun they trigger (a site added or removed, the
optimizer's sites adopted, a scenario loaded or deleted, a facility closed, moved or re-tiered,
a study boundary clicked or drawn), a click on the map, and the uploads read as one data set.

Imported only inside ``streamlit run app.py`` (it imports Streamlit).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import streamlit as st

import planner
from planner import app as aps
from planner import i18n
from planner.app.compute import Area, Progress, cached_dataset, cached_upload, upload_root
from planner.app.state import restore_whatifs, set_widgets
from planner.app.ui import MAP_KEY, T, lang, ss

log = logging.getLogger("planner.app")


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
    return names.get(str(ss.get("w_saved")))


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


def upload_settings(kind: str, up: Any, *, show_error: bool = True) -> aps.Inspection | None:
    """Store and inspect one upload, draw its settings; its error (in the user's words) if
    it cannot be used."""
    try:
        insp = cached_upload(kind, up.name, up.file_id, up)
    except planner.PlannerError as exc:
        if show_error:
            st.error(aps.upload_error(exc, T, file=up.name, names={}))
        return None
    # its format functions run again outside this run: a translator bound to its language
    aps.draw_upload_settings(insp, ss, i18n.Translator(lang()))
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
