"""A short, printable HTML report for people: title, headline numbers, the map, the table per
township and further sections, in Chinese or English (each heading carries the other language
as a subtitle). Used by the app's HTML export and ``planner report``'s ``compliance.html``.
"""

from __future__ import annotations

import html
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

import folium
import numpy as np
import pandas as pd

from . import maps, report
from ._constants import MODE_NAMES
from .i18n import output_text


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


def table_html(df: pd.DataFrame, *, lang: str) -> str:
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


def heading(key: str, lang: str) -> str:
    """A section heading in ``lang`` with the other language's as a subtitle."""
    other = "en" if lang == "zh" else "zh"
    return (
        f"<h2>{html.escape(output_text(key, lang))}"
        f' <small lang="{other}">{html.escape(output_text(key, other))}</small></h2>'
    )


def _headline(result: Any, lang: str, extra: Sequence[tuple[str, str]]) -> str:
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


def _township_table(result: Any) -> pd.DataFrame:
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
.planner-table td:first-child{white-space:nowrap}
.planner-table th{background:#f2f2f2}
@page{size:A4 portrait;margin:12mm}
@media print{
 body{display:block}.planner-report{padding:0;max-width:none}
 .folium-map{width:100%!important;height:150mm!important;page-break-inside:avoid;margin:0}
 .leaflet-control-zoom,.leaflet-control-layers{display:none}
 .planner-tables h2{break-after:avoid}.planner-table tr{break-inside:avoid}
 .planner-figure{break-inside:avoid}
 details{break-inside:avoid}
}
details{margin:4px 0}details summary{cursor:pointer;font-weight:600;padding:3px 0}
"""


def _report_head(result: Any, title: str, lang: str, figures: Sequence[tuple[str, str]]) -> str:
    """Title, settings line, synthetic-data note and the headline numbers."""
    import datetime

    from . import __version__

    s = result.settings
    mode = output_text(s.mode, lang) if s.mode in MODE_NAMES else s.mode
    today = datetime.date.today().isoformat()
    meta = (
        f"{output_text('mode', lang)}: {mode} · {s.minutes:g} "
        f"{'分钟' if lang == 'zh' else 'min'} · {html.escape(result.dataset_name)} · "
        + output_text("made", lang, version=__version__, date=today)
    )
    parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="planner-meta">{meta}</p>']
    if result.synthetic:
        parts.append(f'<p class="planner-note">{html.escape(output_text("synthetic", lang))}</p>')
    parts.append(heading("headline", lang) + _headline(result, lang, figures))
    return "".join(parts)


def report_page(
    result: Any,
    m: folium.Map,
    *,
    title: str,
    lang: str,
    sections: Sequence[str] = (),
    figures: Sequence[tuple[str, str]] = (),
) -> str:
    """The page as one self-contained HTML string (inline Leaflet, works offline).

    Parameters
    ----------
    result
        The :class:`planner.CoverageResult` whose headline and townships are shown.
    m
        Its map, every layer and the layer control added (:func:`planner.report.coverage_map`).
    title
        The page's title.
    lang
        "zh" or "en".
    sections
        HTML of further sections (use :func:`heading` and :func:`table_html`), after the table
        per township.
    figures
        More headline figures, ``(label, value)``.
    """
    body = []
    if result.has_population and result.admin_summary is not None:
        body.append(heading("by_township", lang) + table_html(_township_table(result), lang=lang))
    body.extend(sections)
    root = cast(folium.Figure, m.get_root())
    root.header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"))
    root.header.add_child(folium.Element(f"<style>{_REPORT_CSS}</style>"))
    head = _report_head(result, title, lang, figures)
    root.html.add_child(folium.Element(f'<div class="planner-report planner-head">{head}</div>'))
    root.html.add_child(
        folium.Element(f'<div class="planner-report planner-tables">{"".join(body)}</div>')
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = maps.save_html(m, Path(tmp) / "report.html")
        return path.read_text(encoding="utf-8")


def _value_text(value: Any, metric: str) -> str:
    """A check's value or target: a share in per cent, else a number with separators."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    if "share" in str(metric):
        return f"{100 * float(value):.1f}%"
    return f"{float(value):,.0f}" if abs(float(value)) >= 10 else f"{float(value):,.2f}"


def _rule_title(rule: int, lang: str) -> str:
    from .i18n import COMPLIANCE_RULE_TITLES

    zh, en = COMPLIANCE_RULE_TITLES.get(int(rule), (str(rule), str(rule)))
    return zh if lang == "zh" else en


def _localized(comp: Any, lang: str) -> Any:
    """The compliance report with its sentences (fixes, details) in ``lang`` when it can."""
    if lang in ("zh", "en") and hasattr(comp, "localized"):
        return comp.localized(lang)
    return comp


def _failure_sections(comp: Any, lang: str) -> list[str]:
    """One collapsed table of failing units per rule with what would fix them (in ``lang``)."""
    out = []
    comp = _localized(comp, lang)
    fails = comp.failures
    for rule, g in fails.groupby("rule", sort=True):
        rows = pd.DataFrame(
            {
                "admin_name": g["admin_name"].fillna(""),
                "level": g["level"].fillna(""),
                "population": g["population"],
                "value": [_value_text(v, m) for v, m in zip(g["value"], g["metric"], strict=True)],
                "target": [
                    _value_text(v, m) for v, m in zip(g["target"], g["metric"], strict=True)
                ],
            }
        )
        if lang in ("zh", "en"):
            rows["fix"] = g["fix"].fillna("").to_numpy()
        title = output_text(
            "rule_failing", lang, rule=rule, title=_rule_title(int(rule), lang), n=len(g)
        )
        out.append(
            f"<details><summary>{html.escape(title)}</summary>"
            f"{table_html(rows.reset_index(drop=True), lang=lang)}</details>"
        )
    return out


def compliance_page(comp: Any, result: Any, *, lang: str, proposals: Any = None) -> str:
    """``planner report``'s ``compliance.html`` in ``lang``: the headline and map of ``result``,
    the townships, the rules with their status, and the failing units per rule (collapsed).

    ``comp`` is the :class:`planner.compliance.ComplianceReport` of ``result``; ``proposals``
    (sites with ``site_id``, ``tier``, a geometry) are drawn on the map.
    """
    rules = comp.rules
    table = pd.DataFrame(
        {
            "rule": rules["rule"].astype(str),
            "rule_name": [_rule_title(int(r), lang) for r in rules["rule"]],
            "status": rules["status"],
            "checked": rules["checked"],
            "passed": rules["passed"],
            "failed": rules["failed"],
            "not_assessed": rules["not_assessed"],
        }
    )
    sections = [heading("rules", lang) + table_html(table, lang=lang)]
    failures = _failure_sections(comp, lang)
    if failures:
        sections.append(heading("failures", lang) + "".join(failures))
    sections.append(f'<p class="planner-meta">{html.escape(output_text("see_xlsx", lang))}</p>')
    sites = None
    if proposals is not None and len(proposals):
        sites = proposals.rename(columns={"facility_id": "site_id"}).copy()
        if "newly_covered_population" not in sites.columns:
            sites["newly_covered_population"] = np.nan
    m = report.coverage_map(result, assets="inline", proposals=sites, lang=_map_lang(lang))
    n_fail = int((rules["status"] == "fail").sum())
    figures = [(output_text("rules_failed", lang), f"{n_fail} / {len(rules)}")]
    title = output_text("compliance_title", lang, name=comp.dataset_name)
    return report_page(result, m, title=title, lang=lang, sections=sections, figures=figures)


def _md_table(df: pd.DataFrame, *, lang: str) -> str:
    """A Markdown table for people: headers in ``lang`` with units, values as in the HTML."""
    kinds = [report.column_kind(str(c)) for c in df.columns]
    esc = lambda t: html.unescape(t).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    head = [esc(report.column_label(str(c), lang=lang)) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in df.itertuples(index=False):
        cells = [
            esc(_cell(report.value_label(v, lang=lang), k)[0])
            for v, k in zip(row, kinds, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def compliance_markdown_page(comp: Any, result: Any, *, lang: str) -> str:
    """``planner report``'s ``compliance.md`` in ``lang``: the headline, the townships, the
    rules with their status and the failing units per rule (the text of
    :func:`compliance_page`, without the map)."""
    s = result.settings
    lines = [f"# {output_text('compliance_title', lang, name=comp.dataset_name)}", ""]
    if result.synthetic:
        lines += [f"> {output_text('synthetic', lang)}", ""]
    lines += [f"## {output_text('headline', lang)}", ""]
    if result.has_population:
        total, covered = result.total_population, result.covered_population
        sep = "：" if lang == "zh" else ": "
        lines += [
            f"- {output_text('population', lang)}{sep}{total:,.0f}",
            f"- {output_text('covered', lang, minutes=s.minutes)}{sep}{covered:,.0f}",
            f"- {output_text('uncovered', lang, minutes=s.minutes)}{sep}{total - covered:,.0f}",
            f"- {output_text('share', lang)}{sep}{100 * result.covered_share:.1f}%",
        ]
        lines += ["", f"## {output_text('by_township', lang)}", ""]
        lines.append(_md_table(_township_table(result), lang=lang))
    rules = comp.rules
    table = pd.DataFrame(
        {
            "rule": rules["rule"].astype(str),
            "rule_name": [_rule_title(int(r), lang) for r in rules["rule"]],
            "status": rules["status"],
            "passed": rules["passed"],
            "failed": rules["failed"],
            "not_assessed": rules["not_assessed"],
        }
    )
    lines += [f"## {output_text('rules', lang)}", "", _md_table(table, lang=lang)]
    fails = _localized(comp, lang).failures
    if len(fails):
        lines += [f"## {output_text('failures', lang)}", ""]
    for rule, g in fails.groupby("rule", sort=True):
        title = output_text(
            "rule_failing", lang, rule=rule, title=_rule_title(int(rule), lang), n=len(g)
        )
        rows = pd.DataFrame(
            {
                "admin_name": g["admin_name"].fillna(""),
                "level": g["level"].fillna(""),
                "population": g["population"],
                "value": [_value_text(v, m) for v, m in zip(g["value"], g["metric"], strict=True)],
                "target": [
                    _value_text(v, m) for v, m in zip(g["target"], g["metric"], strict=True)
                ],
            }
        )
        if lang in ("zh", "en"):
            rows["fix"] = g["fix"].fillna("").to_numpy()
        lines += [f"### {title}", "", _md_table(rows.reset_index(drop=True), lang=lang)]
    lines.append(output_text("see_xlsx", lang))
    return "\n".join(lines) + "\n"


def _map_lang(lang: str) -> Literal["zh", "en"]:
    return "zh" if lang == "zh" else "en"
