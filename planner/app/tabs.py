"""The app's tabs below the map (but the optimizer's, :mod:`planner.app.optimizer_tab`):
coverage per township, the standards and their change, the proposed sites, scenarios saved and
compared, and the downloads.

Imported only inside ``streamlit run app.py`` (it imports Streamlit).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import planner
from planner import app as aps
from planner.app.actions import delete_saved, load_saved
from planner.app.compute import (
    Progress,
    cached_bands,
    cached_dataset,
    cached_payload,
    cached_result,
    cached_standards,
    cached_whatif,
    guard,
    upload_root,
)
from planner.app.state import scenario_from_widgets
from planner.app.ui import (
    T,
    View,
    cnt,
    fmt_figure,
    fmt_kind,
    fmt_status,
    lang,
    rule_name,
    rule_names,
    ss,
    standards_table,
    township_table,
    val,
)


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
            format_func=rule_names(),
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
                    T("col_tier"): [aps.tier_label(t, lang()) for t in s["tier"]],
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
                                T("progress_map"), cached_payload, k, s_, lang(), None
                            )
                            aps.show_map(
                                pl,
                                aps.whatif_layers(w, lang=lang(), datum=pl.datum),
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
    # the downloads are made when clicked, outside this run: the language and title bound now
    lg = lang()
    title = T("report_title", name=sc.name, minutes=sc.minutes)
    st.subheader(T("exp_header"))
    st.caption(T("exp_note"))
    safe = aps.scenario_file_name(sc.name)[:-5]

    def tables() -> dict[str, pd.DataFrame]:
        # the standards after the changes: checked when a download asks for them
        exp_std = whatif.standards_after if whatif is not None else std_units
        exp_sum = whatif.summary_after if whatif is not None else std_summary
        return aps.export_tables(result, whatif, exp_std, exp_sum, opt_run, lang=lg)

    def gpkg() -> bytes:
        return aps.export_gpkg(
            result, tables(), whatif=whatif, run=opt_run, bands=cached_bands(key, settings)
        )

    def report_html() -> str:
        return aps.html_report(
            result,
            title=title,
            lines=planner.summary_lines(result),
            tables=tables(),
            whatif=whatif,
            run=opt_run,
            bands=cached_bands(key, settings),
            lang=lg,
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
        data=lambda: aps.tables_xlsx(tables(), lang=lg),
        file_name=f"{safe}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="dl_xlsx",
        on_click="ignore",
    )
    e3.download_button(
        T("exp_csv"),
        data=lambda: aps.tables_csv_zip(tables(), lang=lg),
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
        data=lambda: aps.printable_map(result, whatif, lang=lg, format=fmt, paper=paper),
        file_name=f"{safe}-map.{fmt}",
        mime="application/pdf" if fmt == "pdf" else "image/png",
        key="dl_map",
        on_click="ignore",
        icon=":material/print:",
    )
