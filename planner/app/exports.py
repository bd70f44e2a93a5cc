"""Exports of the app: tables (Excel, CSV zip), a GeoPackage and a self-contained HTML report."""

from __future__ import annotations

import html
import io
import math
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from .. import maps, report, siting
from ..i18n import output_text
from ..pipeline import CoverageResult
from ._common import map_lang
from .standards_table import DEFAULT_RULES, RULES, rule_text
from .whatif import WhatIf

# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


def export_tables(
    result: CoverageResult,
    whatif: WhatIf | None,
    standards: pd.DataFrame,
    summary: pd.DataFrame,
    run: siting.SitingRun | None = None,
    *,
    lang: str = "en",
) -> dict[str, pd.DataFrame]:
    """The tables of an export, by sheet / file name (rule names and requirements in ``lang``)."""
    tables: dict[str, pd.DataFrame] = {"coverage": report.summary_table(result)}
    minutes = DEFAULT_RULES.coverage_minutes
    texts = [rule_text(r, map_lang(lang), minutes=minutes) for r in summary["rule"]]
    named = summary.copy()
    named.insert(1, "rule_name", [t[0] for t in texts])
    named.insert(2, "requirement", [t[1] for t in texts])
    named["source"] = [RULES[r]["source"] for r in summary["rule"]]
    tables["standards_summary"] = named
    tables["standards_units"] = standards
    if whatif is not None and len(whatif.sites):
        tables["proposed_sites"] = pd.DataFrame(whatif.sites.drop(columns="geometry"))
        tables["newly_covered_by_unit"] = whatif.per_admin
        tables["nearest_changes"] = whatif.nearest_changes
        tables["standards_change"] = whatif.change
    if run is not None:
        tables["optimizer_sites"] = _locate(run.proposals, result)
        tables["optimizer_solution"] = pd.DataFrame([run.summary()])
    return tables


def tables_xlsx(tables: dict[str, pd.DataFrame], *, lang: str | None = None) -> bytes:
    """The tables as one Excel workbook (:func:`planner.report.write_xlsx`): with ``lang``
    ("zh" or "en") sheet names and headers in that language with units, residents with
    thousands separators and shares in per cent; ``None`` keeps the tables' own names."""
    buf = io.BytesIO()
    report.write_xlsx(tables, buf, lang=None if lang is None else map_lang(lang))
    return buf.getvalue()


def tables_csv_zip(tables: dict[str, pd.DataFrame], *, lang: str | None = None) -> bytes:
    """The tables as CSV files in a zip, UTF-8 with a byte-order mark (so Excel opens them as
    UTF-8): with ``lang`` file names and headers in that language
    (:func:`planner.report.people_csv`); ``None`` keeps the tables' own names."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, df in tables.items():
            if lang is None:
                zf.writestr(f"{name}.csv", df.to_csv(index=False).encode("utf-8-sig"))
            else:
                lg = map_lang(lang)
                zf.writestr(
                    f"{report.sheet_label(name, lang=lg)}.csv", report.people_csv(df, lang=lg)
                )
    return buf.getvalue()


def export_gpkg(
    result: CoverageResult,
    tables: dict[str, pd.DataFrame],
    *,
    whatif: WhatIf | None = None,
    run: siting.SitingRun | None = None,
    bands: gpd.GeoDataFrame | None = None,
) -> bytes:
    """A GeoPackage with the coverage layers, proposed and optimizer sites and the tables."""
    import tempfile

    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.gpkg"
        written = report.write_outputs(result, tmp, map_html=False)
        shutil.move(written["gpkg"], path)
        if bands is not None and len(bands):
            bands.to_file(path, layer="isochrone_bands", driver="GPKG")
        if whatif is not None and len(whatif.sites):
            whatif.sites.to_file(path, layer="proposed_sites", driver="GPKG")
            if len(whatif.newly_covered_areas):
                whatif.newly_covered_areas.to_file(path, layer="newly_covered", driver="GPKG")
        if run is not None and len(run.proposals):
            run.proposals.to_file(path, layer="optimizer_sites", driver="GPKG")
        for name, df in tables.items():
            if name == "coverage":
                continue
            flat = df.copy()
            for c in flat.columns:
                if flat[c].dtype == object:
                    flat[c] = flat[c].astype(str)
            pyogrio.write_dataframe(flat, path, layer=name, driver="GPKG")
        return path.read_bytes()


def _locate(sites: gpd.GeoDataFrame, result: CoverageResult) -> pd.DataFrame:
    """``sites`` without geometry, with the township and village each lies in appended."""
    out = pd.DataFrame(sites.drop(columns="geometry"))
    where = report.locate_sites(sites, result.boundaries)
    for col in ("township", "village"):
        if col not in out.columns:
            out[col] = where[col].to_numpy()
    return out


def _cell(value: object, kind: str) -> tuple[str, bool]:
    """A table cell's text and whether it is a number (right-aligned): residents with
    thousands separators, shares in per cent, '–' for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–", True
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return html.escape(str(value)), False
    x = float(value)
    if kind == "share":
        return f"{100 * x:.1f}%", True
    if kind in ("people", "count", "m", "m2"):
        return f"{x:,.0f}", True
    if kind == "coord":
        return f"{x:.5f}", True
    return f"{x:,.1f}", True


def _table_html(df: pd.DataFrame, *, lang: str) -> str:
    """A table for people: headers in ``lang`` with units, values formatted by column kind."""
    kinds = [report.column_kind(str(c)) for c in df.columns]
    head = "".join(
        f"<th>{html.escape(report.column_label(str(c), lang=lang))}</th>" for c in df.columns
    )
    rows = []
    for row in df.itertuples(index=False):
        cells = []
        for v, kind in zip(row, kinds, strict=True):
            text, number = _cell(report.value_label(v, lang=lang), kind)
            cells.append(f'<td class="num">{text}</td>' if number else f"<td>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="planner-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _heading(key: str, lang: str) -> str:
    """A section heading in ``lang`` with the other language's as a subtitle."""
    other = "en" if lang == "zh" else "zh"
    return (
        f"<h2>{html.escape(output_text(key, lang))}"
        f' <small lang="{other}">{html.escape(output_text(key, other))}</small></h2>'
    )


def _headline(result: CoverageResult, lang: str, extra: Sequence[tuple[str, str]]) -> str:
    """The report's headline numbers as figure boxes."""
    minutes = result.settings.minutes
    boxes = [(output_text("facilities", lang), f"{int((~result.facilities['proposed']).sum()):,}")]
    if result.has_population:
        total, covered = result.total_population, result.covered_population
        boxes = [
            (output_text("population", lang), f"{total:,.0f}"),
            (output_text("covered", lang, minutes=minutes), f"{covered:,.0f}"),
            (output_text("uncovered", lang, minutes=minutes), f"{total - covered:,.0f}"),
            (output_text("share", lang), f"{100 * result.covered_share:.1f}%"),
            *boxes,
        ]
    boxes += list(extra)
    return (
        '<div class="planner-figures">'
        + "".join(
            f'<div class="planner-figure"><div class="v">{html.escape(v)}</div>'
            f'<div class="k">{html.escape(k)}</div></div>'
            for k, v in boxes
        )
        + "</div>"
    )


def _township_table(result: CoverageResult) -> pd.DataFrame:
    """Residents, covered, uncovered and the share per township (and per group share)."""
    tab = report.summary_table(result)
    rows = tab[tab["level"] == "township"]
    cols = ["admin_name", "population", "covered_population"]
    out = rows[cols].copy()
    out["uncovered_population"] = rows["population"] - rows["covered_population"]
    out["covered_share"] = rows["covered_share"]
    for c in rows.columns:
        if c.startswith("covered_share_"):
            out[c] = rows[c]
    return out.reset_index(drop=True)


#: Columns of the standards summary shown in the report.
_STANDARDS_COLUMNS = ["rule_name", "requirement", "units", "met", "missing", "share_met"]
_SITE_COLUMNS = ["site_id", "tier", "township", "village", "newly_covered_population"]

_REPORT_CSS = """
html,body{height:auto!important;overflow:auto!important;margin:0}
body{display:flex;flex-direction:column}
.planner-report{font:14px/1.45 system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',
 sans-serif;margin:0 auto;padding:12px 24px;color:#222;max-width:1100px;width:100%;box-sizing:border-box}
.planner-head{order:0}.planner-tables{order:2}
.folium-map{order:1;flex:none;height:560px!important;max-width:1100px;width:calc(100% - 48px)!important;
 margin:0 auto;position:relative!important;border:1px solid #ccc}
.planner-report h1{font-size:22px;margin:4px 0}.planner-report h1 small,.planner-report h2 small{
 font-weight:normal;color:#777;font-size:60%;margin-left:.5em}
.planner-report h2{font-size:17px;margin:18px 0 6px;border-bottom:2px solid #2c7fb8}
.planner-meta{color:#555}.planner-note{background:#fff7d6;border:1px solid #e6c200;padding:4px 10px}
.planner-figures{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.planner-figure{border:1px solid #ddd;border-radius:4px;padding:6px 12px;min-width:120px}
.planner-figure .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.planner-figure .k{color:#555;font-size:12px}
.planner-table{border-collapse:collapse;margin:4px 0 10px;font-size:13px;width:100%}
.planner-table th,.planner-table td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}
.planner-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.planner-table th{background:#f2f2f2}
@page{size:A4 portrait;margin:12mm}
@media print{
 body{display:block}.planner-report{padding:0;max-width:none}
 .folium-map{width:100%!important;height:150mm!important;page-break-inside:avoid;margin:0}
 .leaflet-control-zoom,.leaflet-control-layers{display:none}
 .planner-tables h2{break-after:avoid}.planner-table tr{break-inside:avoid}
 .planner-figure{break-inside:avoid}
}
"""


def _report_map(
    result: CoverageResult,
    *,
    whatif: WhatIf | None,
    run: siting.SitingRun | None,
    bands: gpd.GeoDataFrame | None,
    lang: Literal["zh", "en"],
) -> folium.Map:
    """The report's map: every layer added before the layer control.

    Leaflet's layer control reads its layers when it is built; a layer added to the folium map
    after the control is a JavaScript variable declared (``var``) after the control's script, so
    the control received ``undefined`` and stopped the page at ``layer.setZIndex`` (the bands
    used to be added after :func:`planner.report.coverage_map` had added the control)."""
    frames = []
    if whatif is not None and len(whatif.sites):
        frames.append(whatif.sites[["site_id", "tier", "newly_covered_population", "geometry"]])
    if run is not None and len(run.proposals):
        frames.append(run.proposals[["site_id", "tier", "newly_covered_population", "geometry"]])
    proposals = None
    if frames:
        proposals = gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326"
        )
    m = report.coverage_map(
        result, assets="inline", proposals=proposals, lang=lang, layer_control=False
    )
    if bands is not None and len(bands) and result.isochrones is None:
        maps.add_isochrones(m, bands, dissolve=True, lang=map_lang(lang))
    maps.add_layer_control(m)
    return m


def _report_sites(
    result: CoverageResult, whatif: WhatIf | None, run: siting.SitingRun | None
) -> pd.DataFrame:
    """The proposed sites of the what-if and the optimizer, with their township and village."""
    frames = [
        _locate(s, result)
        for s in (
            whatif.sites if whatif is not None else None,
            run.proposals if run is not None else None,
        )
        if s is not None and len(s)
    ]
    if not frames:
        return pd.DataFrame(columns=_SITE_COLUMNS)
    sites = pd.concat(frames, ignore_index=True)
    return sites[[c for c in _SITE_COLUMNS if c in sites.columns]]


def _report_head(result: CoverageResult, title: str, lang: str, sites: pd.DataFrame) -> str:
    """Title, settings line, synthetic-data note and the headline numbers."""
    import datetime

    from .. import __version__

    s = result.settings
    mode = output_text(s.mode, lang) if s.mode in ("walk", "ebike", "drive") else s.mode
    today = datetime.date.today().isoformat()
    meta = (
        f"{output_text('mode', lang)}: {mode} · {s.minutes:g} "
        f"{'分钟' if lang == 'zh' else 'min'} · {html.escape(result.dataset_name)} · "
        + output_text("made", lang, version=__version__, date=today)
    )
    parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="planner-meta">{meta}</p>']
    if result.synthetic:
        parts.append(f'<p class="planner-note">{html.escape(output_text("synthetic", lang))}</p>')
    extra = []
    if len(sites):
        extra.append((output_text("proposals", lang), f"{len(sites):,}"))
    parts.append(_heading("headline", lang) + _headline(result, lang, extra))
    return "".join(parts)


def html_report(
    result: CoverageResult,
    *,
    title: str,
    lines: Sequence[str] | None = None,
    tables: dict[str, pd.DataFrame],
    whatif: WhatIf | None = None,
    run: siting.SitingRun | None = None,
    bands: gpd.GeoDataFrame | None = None,
    lang: str = "en",
) -> str:
    """A short, printable (A4) self-contained HTML report in ``lang`` ("zh" or "en"; each
    heading carries the other language as a subtitle): the title, the headline numbers, the
    map (:func:`planner.report.coverage_map` with inline Leaflet, plus the isochrone ``bands``
    and the proposed and optimizer sites), the table per township, the standards (from
    ``tables["standards_summary"]``) and the proposed sites with their township and village.

    ``lines`` (the console summary) is accepted for callers of the old report and not shown:
    the headline is computed in ``lang``.
    """
    import tempfile

    lang = map_lang(lang)
    sites = _report_sites(result, whatif, run)
    m = _report_map(result, whatif=whatif, run=run, bands=bands, lang=lang)
    body = []
    if result.has_population and result.admin_summary is not None:
        body.append(_heading("by_township", lang) + _table_html(_township_table(result), lang=lang))
    std = tables.get("standards_summary")
    if std is not None and len(std):
        cols = [c for c in _STANDARDS_COLUMNS if c in std.columns]
        body.append(_heading("standards", lang) + _table_html(std[cols], lang=lang))
    if len(sites):
        body.append(_heading("proposals", lang) + _table_html(sites, lang=lang))
    root = cast(folium.Figure, m.get_root())
    root.header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"))
    root.header.add_child(folium.Element(f"<style>{_REPORT_CSS}</style>"))
    root.html.add_child(
        folium.Element(
            f'<div class="planner-report planner-head">{_report_head(result, title, lang, sites)}</div>'
        )
    )
    root.html.add_child(
        folium.Element(f'<div class="planner-report planner-tables">{"".join(body)}</div>')
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = maps.save_html(m, Path(tmp) / "report.html")
        return path.read_text(encoding="utf-8")
