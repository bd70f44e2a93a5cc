"""The app's panels beside and on the map: the headline numbers, the what-if of new sites and
of existing facilities, the study area, and the map itself (the cached base map with this
run's layers, sent whole only when the browser does not have it).

Imported only inside ``streamlit run app.py`` (it imports Streamlit).
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from planner import app as aps
from planner.app.actions import (
    add_site,
    clear_boundary,
    close_picked,
    remove_all,
    remove_site,
    retier_picked,
    start_move,
    undo_all_edits,
    undo_edit,
    use_boundary,
)
from planner.app.compute import NO_AREA, Progress, cached_payload, drawn_maps, guard
from planner.app.ui import (
    CLICK_ACTIONS,
    MAP_KEY,
    NEW_SITE_TIERS,
    T,
    View,
    chosen_basemap,
    facilities_after,
    group_label,
    labelled,
    lang,
    signed,
    ss,
    tier_name,
    tier_names,
)
from planner.coverage import group_coverage
from planner.pipeline import CoverageSettings
from planner.standards import TIERS


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
    none = T("fac_none")
    st.selectbox(
        T("fac_pick"),
        ["", *labels],
        key="w_fac_pick",
        format_func=lambda f: labels.get(f, none),
        help=T("fac_pick_help"),
    )
    if ss.w_fac_pick:
        b1, b2 = st.columns(2)
        b1.button(T("fac_close"), key="btn_fac_close", on_click=close_picked)
        b2.button(T("fac_move"), key="btn_fac_move", on_click=start_move)
        if ss.w_click == "move":
            st.caption(T("fac_move_help"))
        t1, t2 = st.columns([3, 2], vertical_alignment="bottom")
        t1.selectbox(T("fac_tier"), list(TIERS), key="w_fac_tier", format_func=tier_names())
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
    if (
        last is None
        or last[0] != key
        or redraw
        or (key, settings, lang(), *basemap) in drawn_maps()
    ):
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
            format_func=labelled("click_"),
        )
        b.selectbox(T("new_tier"), list(NEW_SITE_TIERS), key="w_new_tier", format_func=tier_names())
        with st.expander(T("add_by_coords")):
            # typed coordinates may be GCJ-02 (copied from Amap) or BD-09 (Baidu): converted
            st.selectbox(
                T("typed_crs"),
                list(aps.TYPED_CRS),
                key="w_typed_crs",
                format_func=labelled("crs_"),
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
                        tier=aps.tier_label(r.tier, lang()),
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
                        tier=aps.tier_label(r.tier, lang()),
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
            T("progress_map"), cached_payload, key, shown, lang(), *chosen_basemap()
        )
        ss.map_datum = payload.datum  # the next click is read back from this map's datum
        groups = aps.whatif_layers(
            whatif,
            opt_run.proposals if opt_run is not None else None,
            lang=lang(),
            datum=payload.datum,
        )
        groups += aps.edit_layers(
            whatif,
            v.ds.facilities,
            edits=v.edits,
            picked=ss.w_fac_pick or None,
            vertices=ss.area_vertices,
            polygon=aps.polygon_from_clicks(v.area[1]) if v.area[1] else None,
            lang=lang(),
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
