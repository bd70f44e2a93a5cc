"""The app's sidebar: language, data (the demo or uploads with their coordinate systems and
columns), travel settings and the base map.

Imported only inside ``streamlit run app.py`` (it imports Streamlit).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from planner import app as aps
from planner import i18n
from planner.app.actions import upload_settings, use_demo, use_uploads
from planner.app.compute import guard
from planner.app.state import language_changed
from planner.app.ui import T, labelled, ss, tier_names
from planner.standards import TIERS


def draw_sidebar() -> None:
    """Draw the sidebar (its widgets' values are read from the session state)."""
    sb = st.sidebar
    sb.radio(
        T("language"),
        list(i18n.LANGUAGES),
        key="lang",
        horizontal=True,
        on_change=language_changed,
        format_func=lambda v: {"zh": "中文", "en": "English"}[v],
    )
    sb.header(T("data_header"))
    sb.radio(
        T("data_source"),
        ["demo", "files"],
        key="w_source",
        on_change=use_demo,
        format_func={"demo": T("source_demo"), "files": T("source_upload")}.__getitem__,
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
        if ss.get(
            "upl_hint"
        ):  # points that look like GCJ-02 (tested against the roads by use_uploads)
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
        T("mode"),
        list(aps.MODES),
        key="w_mode",
        horizontal=True,
        format_func=labelled("mode_"),
    )
    sb.slider(T("minutes"), min_value=5, max_value=60, step=1, key="w_minutes")
    sb.multiselect(T("tiers"), list(TIERS), key="w_tiers", format_func=tier_names())
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
        format_func=labelled("basemap_"),
        help=T("basemap_help"),
    )
    if aps.basemap_needs_key(ss.w_basemap):
        sb.text_input(
            T("tianditu_key"), key="w_tianditu_key", type="password", help=T("tianditu_key_help")
        )
        if not ss.w_tianditu_key.strip():
            sb.caption(T("tianditu_need_key"))
