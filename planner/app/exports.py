"""Exports of the app: tables (Excel, CSV zip), a GeoPackage and a self-contained HTML report."""

from __future__ import annotations

import html
import io
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd

from .. import maps, report, siting
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
        tables["optimizer_sites"] = pd.DataFrame(run.proposals.drop(columns="geometry"))
        tables["optimizer_solution"] = pd.DataFrame([run.summary()])
    return tables


def tables_xlsx(tables: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in tables.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
    return buf.getvalue()


def tables_csv_zip(tables: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, df in tables.items():
            zf.writestr(
                f"{name}.csv", df.to_csv(index=False).encode("utf-8-sig")
            )  # BOM: Excel reads UTF-8
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


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(
        index=False,
        border=0,
        classes="planner-table",
        na_rep="–",
        float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}",
    )


def html_report(
    result: CoverageResult,
    *,
    title: str,
    lines: Sequence[str],
    tables: dict[str, pd.DataFrame],
    whatif: WhatIf | None = None,
    run: siting.SitingRun | None = None,
    bands: gpd.GeoDataFrame | None = None,
    lang: str = "en",
) -> str:
    """A self-contained HTML report: the title and summary ``lines``, the map
    (:func:`planner.report.coverage_map` with inline Leaflet, plus the isochrone ``bands`` and
    the proposed and optimizer sites, saved by :func:`planner.maps.save_html`) and the
    ``tables``."""
    import tempfile

    proposals = None
    frames = []
    if whatif is not None and len(whatif.sites):
        frames.append(whatif.sites[["site_id", "tier", "newly_covered_population", "geometry"]])
    if run is not None and len(run.proposals):
        frames.append(run.proposals[["site_id", "tier", "newly_covered_population", "geometry"]])
    if frames:
        proposals = gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326"
        )
    m = report.coverage_map(result, assets="inline", proposals=proposals, lang=lang)
    if bands is not None and len(bands) and result.isochrones is None:
        maps.add_isochrones(m, bands, dissolve=True)  # the layer control lists it when rendered
    head = f"<h1>{html.escape(title)}</h1><pre>{html.escape(chr(10).join(lines))}</pre>"
    body = [
        f"<h2>{html.escape(name.replace('_', ' '))}</h2>{_table_html(df)}"
        for name, df in tables.items()
    ]
    # the page reads: title and summary, the map, the tables (flex order; folium adds the map last)
    style = (
        "<style>html,body{height:auto!important;overflow:auto!important}"
        "body{display:flex;flex-direction:column}"
        ".folium-map{height:70vh!important;min-height:420px;position:relative!important;order:1;flex:none}"
        ".planner-report{font:14px/1.45 system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;"
        "margin:16px 24px;color:#222}.planner-head{order:0}.planner-tables{order:2}"
        ".planner-report pre{font-size:13px;background:#f7f7f7;padding:8px 10px;overflow:auto}"
        ".planner-table{border-collapse:collapse;margin:6px 0 18px}"
        ".planner-table th,.planner-table td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
        ".planner-table th{background:#f4f4f4}</style>"
    )
    m.get_root().header.add_child(folium.Element(style))
    m.get_root().html.add_child(
        folium.Element(f'<div class="planner-report planner-head">{head}</div>')
    )
    m.get_root().html.add_child(
        folium.Element(f'<div class="planner-report planner-tables">{"".join(body)}</div>')
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = maps.save_html(m, Path(tmp) / "report.html")
        return path.read_text(encoding="utf-8")
