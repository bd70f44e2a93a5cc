"""Exports of the app: tables (Excel, CSV zip), a GeoPackage and a self-contained HTML report."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import folium
import geopandas as gpd
import pandas as pd

from .. import maps, report, siting
from ..i18n import output_text
from ..pipeline import CoverageResult
from ..report_page import heading, report_page, table_html
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


#: Columns of the standards summary shown in the report.
_STANDARDS_COLUMNS = ["rule_name", "requirement", "units", "met", "missing", "share_met"]
_SITE_COLUMNS = ["site_id", "tier", "township", "village", "newly_covered_population"]


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

    lang = map_lang(lang)
    sites = _report_sites(result, whatif, run)
    m = _report_map(result, whatif=whatif, run=run, bands=bands, lang=lang)
    sections = []
    std = tables.get("standards_summary")
    if std is not None and len(std):
        cols = [c for c in _STANDARDS_COLUMNS if c in std.columns]
        sections.append(heading("standards", lang) + table_html(std[cols], lang=lang))
    if len(sites):
        sections.append(heading("proposals", lang) + table_html(sites, lang=lang))
    extra = [(output_text("proposals", lang), f"{len(sites):,}")] if len(sites) else []
    return report_page(result, m, title=title, lang=lang, sections=sections, figures=extra)
