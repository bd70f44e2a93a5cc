"""The report as text, Markdown, HTML and Excel."""

from __future__ import annotations

import html
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import InputError

if TYPE_CHECKING:
    pass

from ._text import STATUS_TEXT, msg
from .core import ComplianceReport
from .rules import FAIL, FORMATS, NA, PASS

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Text, Markdown, HTML, Excel
# --------------------------------------------------------------------------------------------


def summary_lines(report: ComplianceReport, *, max_fixes_per_check: int = 3) -> list[str]:
    """Deprecated name of :func:`compliance_lines` (it clashed with :func:`planner.summary_lines`)."""
    warnings.warn(
        "planner.compliance.summary_lines is now compliance_lines (planner.summary_lines is the "
        "coverage summary); the old name will be removed.",
        DeprecationWarning,
        stacklevel=2,
    )
    return compliance_lines(report, max_fixes_per_check=max_fixes_per_check)


def compliance_lines(
    report: ComplianceReport, *, max_fixes_per_check: int = 3, lang: str = "en"
) -> list[str]:
    """Human-readable lines: one per rule, then the first failing lines of each check with their
    fixes, then equity; in ``lang`` (``"en"``, the CLI's console text, or ``"zh"``)."""
    rep = report.localized(lang)
    base = report.localized("en")  # groups as codes

    def say(key: str, **fields: Any) -> str:
        return msg(key, **fields).render(lang)

    tag = say("lines_synthetic") if report.synthetic else ""
    out = [say("lines_head", name=report.dataset_name, tag=tag)]
    for r in rep.rules.itertuples():
        status = STATUS_TEXT.get(r.status, (r.status.upper(), r.status))
        out.append(
            say(
                "lines_rule",
                rule=r.rule,
                title=r.title,
                status=status[1] if lang == "zh" else status[0],
                summary=r.summary,
            )
        )
    fails = rep.failures
    if len(fails):
        out.append(say("lines_fails", n=len(fails), k=max_fixes_per_check))
        for _check, g in fails.groupby("check", sort=False):
            for f in g.head(max_fixes_per_check).itertuples():
                out.append(say("lines_fix", check=f.check, name=f.admin_name or "-", fix=f.fix))
            if len(g) > max_fixes_per_check:
                out.append(say("lines_more", check=_check, n=len(g) - max_fixes_per_check))
    out += _equity_lines(base, lang)
    return out


def _equity_lines(report: ComplianceReport, lang: str) -> list[str]:
    from ._text import GROUP_ZH

    out = []
    g = report.gini("township")
    if np.isfinite(g):
        out.append(msg("lines_gini", g=g, v=report.gini("village")).render(lang))
    eq = report.equity.set_index(["metric", "group"])["value"]
    mins = report.rules_used.coverage_minutes
    if ("mean_minutes", "urban") in eq.index:
        out.append(
            msg(
                "lines_urban",
                u=eq["mean_minutes", "urban"],
                r=eq["mean_minutes", "rural"],
                gap=eq["mean_minutes_gap", "rural - urban"],
                mins=mins,
                cu=100 * eq["covered_share", "urban"],
                cr=100 * eq["covered_share", "rural"],
            ).render(lang)
        )
    grp = report.equity[report.equity["metric"] == "group_covered_share"]
    if len(grp):
        parts = [
            msg(
                "lines_group",
                group=GROUP_ZH.get(r.group, r.group) if lang == "zh" else r.group,
                share=100 * r.value,
            ).render(lang)
            for r in grp.itertuples()
        ]
        out.append(
            msg(
                "lines_groups", mins=mins, groups=msg("lines_group_sep").render(lang).join(parts)
            ).render(lang)
        )
    return out


def _display(v: Any, col: str = "", lang: str = "en") -> str:
    zh = lang == "zh"
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return ("是" if v else "否") if zh else ("yes" if v else "no")
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        x = float(v)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            if "minutes" in col or col.startswith("p"):
                return "无法到达" if zh else "unreachable"
            return "inf" if x > 0 else "-inf"
        if "share" in col or (col in ("value", "target") and abs(x) < 1 and x != int(x)):
            return f"{x:.3f}"
        if x == int(x) and abs(x) < 1e15:
            return f"{int(x):,}"
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.2f}"
    if zh and isinstance(v, str):
        return _value_zh(v, col)
    return str(v)


def _value_zh(v: str, col: str) -> str:
    """A text cell for Chinese readers: levels, statuses, tiers and metrics named in Chinese."""
    from ..i18n import OUTPUT_VALUES
    from ._text import METRIC_ZH

    if col == "metric":
        return METRIC_ZH.get(v, v)
    if v in OUTPUT_VALUES:
        return OUTPUT_VALUES[v][0]
    return v


def _header(col: str, lang: str) -> str:
    if lang != "zh":
        return col
    from ..report import column_label

    return column_label(col, lang="zh")


def _md_table(df: pd.DataFrame, cols: Sequence[str] | None = None, lang: str = "en") -> str:
    cols = list(cols or df.columns)
    if not len(df):
        return "_（无）_\n" if lang == "zh" else "_(none)_\n"
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = [
        "| " + " | ".join(esc(_header(c, lang)) for c in cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for row in df[cols].itertuples(index=False):
        lines.append(
            "| "
            + " | ".join(esc(_display(v, c, lang)) for v, c in zip(row, cols, strict=True))
            + " |"
        )
    return "\n".join(lines) + "\n"


_CHECK_VIEW = [
    "check",
    "admin_name",
    "level",
    "population",
    "metric",
    "value",
    "target",
    "status",
    "detail",
    "fix",
]


def compliance_markdown(report: ComplianceReport, *, lang: str = "en") -> str:
    """The report as Markdown (rules, failures with fixes, equity, proposals, settings), in
    ``lang`` (``"en"``, or ``"zh"``: headings, column headers and sentences in Chinese)."""
    report = report.localized(lang)

    def say(key: str, **fields: Any) -> str:
        return msg(key, **fields).render(lang)

    def table(df: pd.DataFrame, cols: Sequence[str] | None = None) -> str:
        return _md_table(df, cols, lang)

    out = [say("doc_md_title", name=report.dataset_name)]
    if report.synthetic:
        out.append(say("doc_md_synthetic"))
    s = report.settings.set_index("key")["value"]
    out.append(
        say(
            "doc_md_meta",
            mode=s.get("mode", ""),
            mins=report.rules_used.coverage_minutes,
            pop=s.get("population", ""),
            n=s.get("facilities_counted", ""),
            version=s.get("planner_version", ""),
        )
    )
    out.append(say("doc_md_rules"))
    out.append(
        table(
            report.rules, ["rule", "title", "status", "passed", "failed", "not_assessed", "summary"]
        )
    )
    out.append(say("doc_md_rules_checked"))
    for r in report.rules.itertuples():
        out.append(say("doc_md_rule_text", rule=r.rule, title=r.title, text=r.text))
    out.append("")
    out.append(say("doc_md_failures"))
    for rule in range(1, 9):
        f = report.failures[report.failures["rule"] == rule]
        if not len(f):
            continue
        title = report.rules.loc[report.rules["rule"] == rule, "title"].iloc[0]
        out.append(say("doc_md_rule_failing", rule=rule, title=title, n=len(f)))
        out.append(
            table(f, ["check", "admin_name", "population", "value", "target", "detail", "fix"])
        )
    na = report.checks[report.checks["status"] == NA]
    if len(na):
        out.append(say("doc_md_not_assessed"))
        out.append(
            table(na.drop_duplicates(["check", "detail"]), ["check", "admin_name", "detail"])
        )
    out.append(say("doc_md_equity"))
    out.append(say("doc_md_quantiles"))
    out.append(table(report.travel_times))
    out.append(say("doc_md_gini"))
    out.append(table(report.equity))
    if len(report.proposals):
        out.append(say("doc_md_proposals"))
        out.append(table(report.proposals, _PROPOSAL_VIEW))
    out.append(say("doc_md_units"))
    tw = report.units[report.units["level"].isin(["county", "township"])]
    out.append(
        table(
            tw,
            [
                "admin_code",
                "admin_name",
                "kind",
                "population",
                "covered_share",
                *[c for c in tw.columns if c.startswith("covered_share_")],
                "mean_minutes",
                "community_centers",
                "community_stations",
                "township_centers",
                "village_clinics",
            ],
        )
    )
    out.append(say("doc_md_all_checks"))
    out.append(table(report.checks, _CHECK_VIEW))
    out.append(say("doc_md_settings"))
    out.append(table(report.settings))
    return "\n".join(out)


_PROPOSAL_VIEW = [
    "site_id",
    "tier",
    "township_name",
    "village_name",
    "newly_covered_population",
    "floor_area_m2",
    "addresses",
]


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:2em auto;max-width:1200px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f2f2f2;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.pass{background:#e3f4e3;color:#1a6b1a;font-weight:600}td.fail{background:#fbe3e3;color:#a01818;font-weight:600}
td.na{color:#777}.note{background:#fff7d6;border:1px solid #e6c200;padding:.5em 1em}
details{margin:.5em 0}summary{cursor:pointer;font-weight:600}
"""


def _html_table(df: pd.DataFrame, cols: Sequence[str] | None = None, lang: str = "en") -> str:
    cols = list(cols or df.columns)
    if not len(df):
        return "<p><em>（无）</em></p>" if lang == "zh" else "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(_header(str(c), lang))}</th>" for c in cols)
    body = []
    for row in df[cols].itertuples(index=False):
        cells = []
        for v, c in zip(row, cols, strict=True):
            text = html.escape(_display(v, c, lang))
            cls = ""
            if c == "status":
                cls = {PASS: "pass", FAIL: "fail"}.get(str(v), "na")
            elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
                cls = "num"
            cells.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _lorenz_svg(lorenz: pd.DataFrame, ginis: Mapping[str, float], lang: str = "en") -> str:
    """An inline SVG of the Lorenz curves (no JavaScript, no external files)."""
    if not len(lorenz):
        return ""

    def say(key: str, **fields: Any) -> str:
        return html.escape(msg(key, **fields).render(lang))

    W, H, m = 360, 360, 40
    sx = lambda x: m + x * (W - 2 * m)  # noqa: E731
    sy = lambda y: H - m - y * (H - 2 * m)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" '
        f'aria-label="{say("doc_lorenz_aria")}">',
        f'<rect x="{m}" y="{m}" width="{W - 2 * m}" height="{H - 2 * m}" fill="none" stroke="#999"/>',
        f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    colours = {"township": "#1f77b4", "village": "#d62728"}
    for i, (level, g) in enumerate(lorenz.groupby("level", sort=False)):
        pts = " ".join(
            f"{sx(p):.1f},{sy(t):.1f}"
            for p, t in zip(g["population_share"], g["time_share"], strict=True)
        )
        col = colours.get(level, "#2ca02c")
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
        name = _value_zh(str(level), "level") if lang == "zh" else str(level)
        label = say("doc_lorenz_label", level=name, g=ginis.get(level, math.nan))
        parts.append(
            f'<text x="{m + 8}" y="{m + 18 + 16 * i}" fill="{col}" font-size="12">{label}</text>'
        )
    parts.append(
        f'<text x="{W / 2}" y="{H - 8}" font-size="11" text-anchor="middle">{say("doc_lorenz_x")}</text>'
    )
    parts.append(
        f'<text x="12" y="{H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 {H / 2})">'
        f"{say('doc_lorenz_y')}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def compliance_html(report: ComplianceReport, *, lang: str = "en") -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; no scripts, no CDN), in
    ``lang`` (``"en"``, or ``"zh"``: headings, column headers and sentences in Chinese)."""
    report = report.localized(lang)
    esc = html.escape

    def say(key: str, **fields: Any) -> str:
        return esc(msg(key, **fields).render(lang))

    def table(df: pd.DataFrame, cols: Sequence[str] | None = None) -> str:
        return _html_table(df, cols, lang)

    s = report.settings.set_index("key")["value"]
    out = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{say('doc_html_title', name=report.dataset_name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{say('doc_html_h1', name=report.dataset_name)}</h1>",
    ]
    if report.synthetic:
        out.append(msg("doc_html_synthetic").render(lang))
    out.append(
        msg(
            "doc_html_meta",
            mode=esc(str(s.get("mode", ""))),
            mins=report.rules_used.coverage_minutes,
            pop=esc(str(s.get("population", ""))),
            n=esc(str(s.get("facilities_counted", ""))),
            version=esc(str(s.get("planner_version", ""))),
        ).render(lang)
    )
    out.append(f"<h2>{say('doc_rules')}</h2>")
    out.append(
        table(
            report.rules,
            ["rule", "title", "text", "status", "passed", "failed", "not_assessed", "summary"],
        )
    )
    out.append(f"<h2>{say('doc_failures')}</h2>")
    for rule in range(1, 9):
        f = report.failures[report.failures["rule"] == rule]
        if len(f):
            title = report.rules.loc[report.rules["rule"] == rule, "title"].iloc[0]
            out.append(f"<h3>{say('doc_rule_failing', rule=rule, title=title, n=len(f))}</h3>")
            out.append(
                table(f, ["check", "admin_name", "population", "value", "target", "detail", "fix"])
            )
    na = report.checks[report.checks["status"] == NA]
    if len(na):
        out.append(f"<h2>{say('doc_not_assessed')}</h2>")
        out.append(
            table(na.drop_duplicates(["check", "detail"]), ["check", "admin_name", "detail"])
        )
    out.append(f"<h2>{say('doc_equity')}</h2><p>{say('doc_quantiles')}</p>")
    out.append(table(report.travel_times))
    base = report.localized("en")  # the groups as codes
    ginis = {r.group: r.value for r in base.equity[base.equity["metric"] == "gini"].itertuples()}
    out.append(_lorenz_svg(report.lorenz, ginis, lang))
    out.append(table(report.equity))
    if len(report.proposals):
        out.append(f"<h2>{say('doc_proposals')}</h2>")
        out.append(table(report.proposals, _PROPOSAL_VIEW))
    out.append(f"<h2>{say('doc_units')}</h2>")
    out.append(table(report.units))
    out.append(f"<details><summary>{say('doc_all_checks')}</summary>")
    out.append(table(report.checks, _CHECK_VIEW))
    out.append(f"</details><details><summary>{say('doc_villages')}</summary>")
    out.append(table(report.villages))
    out.append(f"</details><details><summary>{say('doc_facilities')}</summary>")
    out.append(table(report.facilities))
    out.append(f"</details><h2>{say('doc_settings')}</h2>")
    out.append(table(report.settings))
    out.append("</body></html>")
    return "\n".join(out)


#: Excel sheet name -> report attribute (one sheet per table).
SHEETS = {
    "rules": "rules",
    "failures": "failures",
    "checks": "checks",
    "units": "units",
    "villages": "villages",
    "facilities": "facilities",
    "proposals": "proposals",
    "travel_times": "travel_times",
    "lorenz": "lorenz",
    "equity": "equity",
    "settings": "settings",
}


def _excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            v = out[c].to_numpy(float)
            out[c] = np.where(np.isfinite(v), v, np.nan)
    return out


def _people_tables(report: ComplianceReport, lang: str) -> dict[str, pd.DataFrame]:
    """The workbook's tables for people: the report's, with the checks' metric in ``lang``."""
    from ._text import METRIC_ZH, translate_values

    tables = {sheet: getattr(report, attr) for sheet, attr in SHEETS.items()}
    for sheet in ("checks", "failures"):
        t = tables[sheet].copy()
        t["metric"] = translate_values(t["metric"], METRIC_ZH, lang)
        tables[sheet] = t
    return tables


def write_compliance(
    report: ComplianceReport,
    out_dir: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    lang: str | None = None,
    result: Any = None,
    proposals: Any = None,
) -> dict[str, Path]:
    """Write ``compliance.xlsx`` (one sheet per table), ``compliance.html`` (self-contained) and
    ``compliance.md`` into ``out_dir``; return ``{format: path}``.

    With ``lang`` ("zh" or "en") the workbook is for people (:func:`planner.report.write_xlsx`:
    sheet names and headers in that language with units, number formats for residents and
    per cent) and its sentences (each check's ``detail`` and ``fix``, the rules, the notes) are
    in that language (:meth:`ComplianceReport.localized`); ``None`` keeps the tables' own sheet
    and column names and the English text. With ``lang`` and the
    report's coverage ``result`` the HTML page is the short printable report in that language
    with the map (and ``proposals`` on it) of :func:`planner.report_page.compliance_page`, and
    the Markdown its text (:func:`planner.report_page.compliance_markdown_page`).

    Raises
    ------
    InputError
        An unknown format.
    """
    fmts = [formats] if isinstance(formats, str) else list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise InputError(
            f"unknown report format(s) {bad or fmts}. Fix: use some of {', '.join(FORMATS)}."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if lang is not None:
        report = report.localized(lang)  # the sentences for people in their language
    if "xlsx" in fmts and lang is not None:
        from ..report import write_xlsx

        p = out / "compliance.xlsx"
        write_xlsx(_people_tables(report, lang), p, lang=lang)
        written["xlsx"] = p
    elif "xlsx" in fmts:
        p = out / "compliance.xlsx"
        with pd.ExcelWriter(p, engine="openpyxl") as xw:
            for sheet, attr in SHEETS.items():
                df = _excel_safe(getattr(report, attr))
                df.to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                ws.freeze_panes = "A2"
                for i, c in enumerate(df.columns, start=1):
                    width = max([len(str(c))] + [len(str(v)) for v in df[c].head(200)]) + 2
                    ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
                        60, width
                    )
        written["xlsx"] = p
    if "html" in fmts:
        p = out / "compliance.html"
        if lang is not None and result is not None:
            from ..report_page import compliance_page

            page = compliance_page(report, result, lang=lang, proposals=proposals)
        else:
            page = compliance_html(report, lang=lang or "en")
        p.write_text(page, encoding="utf-8")
        written["html"] = p
    if "md" in fmts:
        p = out / "compliance.md"
        if lang is not None and result is not None:
            from ..report_page import compliance_markdown_page

            text = compliance_markdown_page(report, result, lang=lang)
        else:
            text = compliance_markdown(report, lang=lang or "en")
        p.write_text(text, encoding="utf-8")
        written["md"] = p
    log.info("wrote %s", ", ".join(str(p) for p in written.values()))
    return written
