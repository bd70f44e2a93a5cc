"""Exports read by people (issue 11): Excel and CSV in Chinese or English, the HTML report's
content and map script, and the township/village of proposed sites."""

from __future__ import annotations

import io
import re
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

import planner
import planner.app as aps
from planner import report

CLICK = (114.27, 34.52)  # west of the demo county town, many uncovered residents


@pytest.fixture(scope="module")
def walk15(demo) -> planner.CoverageResult:
    return planner.analyze(demo, mode="walk", minutes=15, isochrone_minutes=None)


@pytest.fixture(scope="module")
def app_tables(demo, walk15):
    w = aps.what_if(demo, walk15, ((*CLICK, "community_station"),))
    run_ = aps.run_optimizer(walk15, objective="max-coverage", new_sites=2, candidates="villages")
    tables = aps.export_tables(walk15, w, w.standards_after, w.summary_after, run_)
    return w, run_, tables


def _sheet(wb: openpyxl.Workbook, name: str) -> tuple[list, list[list]]:
    rows = list(wb[name].iter_rows(values_only=True))
    return list(rows[0]), [list(r) for r in rows[1:]]


# ---------------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------------


def test_xlsx_in_chinese_has_chinese_sheets_headers_formats_frozen_row_and_widths(
    walk15, app_tables
):
    _, _, tables = app_tables
    wb = openpyxl.load_workbook(io.BytesIO(aps.tables_xlsx(tables, lang="zh")))
    assert wb.sheetnames[:3] == ["覆盖情况", "标准达标汇总", "各单元达标情况"]
    assert "优化选址" in wb.sheetnames and "建议站点" in wb.sheetnames
    head, rows = _sheet(wb, "覆盖情况")
    assert head[:6] == [
        "行政区划代码",
        "名称",
        "级别",
        "人口（人）",
        "覆盖人口（人）",
        "覆盖率（%）",
    ]
    assert "65岁及以上覆盖率（%）" in head
    ws = wb["覆盖情况"]
    assert ws.freeze_panes == "A2"
    # the cells stay numbers, shown with separators / in per cent by their number format
    summary = report.summary_table(walk15)
    pop, share = head.index("人口（人）"), head.index("覆盖率（%）")
    assert [r[pop] for r in rows] == pytest.approx(summary["population"].tolist())
    assert [r[share] for r in rows] == pytest.approx(summary["covered_share"].tolist())
    assert ws.cell(row=2, column=pop + 1).number_format == "#,##0"
    assert ws.cell(row=2, column=share + 1).number_format == "0.0%"
    assert [r[2] for r in rows][:2] == ["县", "乡镇"]  # levels translated
    # widths fit the longest shown value or header (CJK characters count double), within limits
    for col in ws.iter_cols(min_row=1, max_row=1):
        width = ws.column_dimensions[col[0].column_letter].width
        assert 8 <= width <= 60
    county_pop = f"{summary['population'].iloc[0]:,.0f}"
    assert ws.column_dimensions["D"].width >= len(county_pop)
    assert ws.column_dimensions["B"].width >= 2 * len("城关街道")
    # optimizer sites name their township and village
    head, rows = _sheet(wb, "优化选址")
    assert head[-2:] == ["乡镇", "村"] and all(r[-2] and r[-1] for r in rows)


def test_xlsx_in_english_and_untranslated(app_tables):
    _, _, tables = app_tables
    wb = openpyxl.load_workbook(io.BytesIO(aps.tables_xlsx(tables, lang="en")))
    assert wb.sheetnames[:2] == ["Coverage", "Standards summary"]
    head, _ = _sheet(wb, "Coverage")
    assert head[3:6] == ["Residents (persons)", "Covered residents (persons)", "Covered share (%)"]
    assert not any(re.search(r"[\u4e00-\u9fff]", str(h)) for h in head)
    # without a language the tables keep their own names, for programs
    wb = openpyxl.load_workbook(io.BytesIO(aps.tables_xlsx(tables)))
    assert wb.sheetnames[0] == "coverage" and _sheet(wb, "coverage")[0][0] == "admin_code"


def test_write_xlsx_refuses_an_unknown_language(tmp_path):
    with pytest.raises(ValueError, match="lang='fr'.*'zh' or 'en'"):
        report.write_xlsx(
            {"coverage": pd.DataFrame({"population": [1.0]})}, tmp_path / "x.xlsx", lang="fr"
        )


def test_infinite_values_become_empty_cells(tmp_path):
    df = pd.DataFrame({"admin_name": ["a", "b"], "mean_minutes": [3.5, np.inf]})
    report.write_xlsx({"coverage": df}, tmp_path / "t.xlsx", lang="en")
    _, rows = _sheet(openpyxl.load_workbook(tmp_path / "t.xlsx"), "Coverage")
    assert rows == [["a", 3.5], ["b", None]]


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def test_csv_for_people_has_a_bom_chinese_headers_whole_residents_and_per_cent(walk15, app_tables):
    _, _, tables = app_tables
    with zipfile.ZipFile(io.BytesIO(aps.tables_csv_zip(tables, lang="zh"))) as zf:
        assert "覆盖情况.csv" in zf.namelist()
        raw = zf.read("覆盖情况.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype={"行政区划代码": str})
    summary = report.summary_table(walk15)
    assert list(back.columns[:3]) == ["行政区划代码", "名称", "级别"]
    assert back["人口（人）"].tolist() == summary["population"].round().astype(int).tolist()
    assert back["覆盖率（%）"].to_numpy() == pytest.approx(
        (100 * summary["covered_share"]).round(1).to_numpy()
    )
    with zipfile.ZipFile(io.BytesIO(aps.tables_csv_zip(tables, lang="en"))) as zf:
        raw = zf.read("Coverage.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig").columns[3] == "Residents (persons)"


# ---------------------------------------------------------------------------------------------
# Township and village of proposed sites
# ---------------------------------------------------------------------------------------------


def test_locate_sites_matches_a_geopandas_sjoin(demo):
    b = demo.boundaries
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = b.total_bounds
    # points inside and around the county (some outside every unit)
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(
            rng.uniform(x0 - 0.02, x1 + 0.02, 60), rng.uniform(y0 - 0.02, y1 + 0.02, 60)
        ),
        crs=b.crs,
    )
    got = report.locate_sites(pts, b)
    for level in ("township", "village"):
        units = b[b["level"] == level]
        joined = gpd.sjoin(pts, units[["admin_name", "geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        want = joined["admin_name"].fillna("").tolist()
        assert got[level].tolist() == want
    assert (got["township"] == "").any() and (got["township"] != "").any()


def test_locate_sites_without_boundaries_is_empty(demo):
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(114.3, 34.5)], crs="EPSG:4326")
    assert report.locate_sites(pts, None).to_dict("records") == [{"township": "", "village": ""}]


# ---------------------------------------------------------------------------------------------
# HTML report
# ---------------------------------------------------------------------------------------------


def _layers_before_control(page: str) -> list[str]:
    """JavaScript names the layer control lists that are defined only after it (Leaflet then
    gets ``undefined`` and stops at ``layer.setZIndex``)."""
    script = page[page.index("L.map(") :]
    control = re.search(r"var (layer_control_\w+)_layers = \{(.*?)\};", script, re.S)
    assert control is not None, "no layer control in the page"
    listed = re.findall(r":\s*(\w+_[0-9a-f]{32})\b", control.group(2))
    assert listed
    late = []
    for name in listed:
        m = re.search(rf"\bvar {name} = ", script)
        if m is None or m.start() > control.start():
            late.append(name)
    return late


def test_html_report_defines_every_layer_before_the_layer_control(demo, walk15, app_tables):
    w, run_, tables = app_tables
    bands = aps.coverage_bands(walk15, aps.band_levels(15))
    page = aps.html_report(
        walk15, title="Plan", tables=tables, whatif=w, run=run_, bands=bands, lang="zh"
    )
    assert _layers_before_control(page) == []


def test_coverage_map_html_defines_every_layer_before_the_layer_control(demo):
    result = planner.analyze(demo, mode="walk", minutes=15)
    page = report.coverage_map(result, lang="zh").get_root().render()
    assert _layers_before_control(page) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_report_is_short_and_in_the_readers_language(walk15, app_tables, lang):
    w, run_, tables = app_tables
    page = aps.html_report(
        walk15,
        title="Plan A",
        lines=["old console line"],
        tables=tables,
        whatif=w,
        run=run_,
        lang=lang,
    )
    text = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert "old console line" not in text and "<pre>" not in text
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    assert len(headings) == 4  # headline, townships, standards, proposed sites
    assert not any(re.search(r"\w_\w", h) for h in headings)  # no snake_case
    main = [re.sub(r"\s*<small.*", "", h) for h in headings]
    if lang == "zh":
        assert main == ["主要数字", "各乡镇覆盖情况", "标准达标情况", "建议站点"]
        assert '<small lang="en">Coverage by township</small>' in text
    else:
        assert main == ["Headline", "Coverage by township", "Standards", "Proposed sites"]
    # headline figures from the result, with separators
    assert (
        f"{walk15.total_population:,.0f}" in text and f"{100 * walk15.covered_share:.1f}%" in text
    )
    # the table per township: every township, its residents with separators
    towns = report.summary_table(walk15).query("level == 'township'")
    for r in towns.itertuples():
        assert f'<td>{r.admin_name}</td><td class="num">{r.population:,.0f}</td>' in text
    # proposed sites name their township and village
    where = report.locate_sites(run_.proposals, walk15.boundaries)
    for t, v in where.itertuples(index=False):
        assert f"<td>{t}</td><td>{v}</td>" in text
    assert "@media print" in text and "A4" in text
