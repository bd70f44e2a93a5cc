"""``--lang zh|en`` of the CLI (issue 11): files read by people follow it, files read by programs
keep their documented columns in every language, proposals name their township and village."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest

import planner
from planner import cli
from planner.i18n import OUTPUT_VALUES

CJK = re.compile(r"[\u4e00-\u9fff]")


def _has(page: str, text: str) -> bool:
    """``text`` as a quoted string in a folium page (a layer name), as written or JSON-escaped."""
    return f'"{text}"' in page or json.dumps(text) in page


@pytest.fixture(scope="module")
def optimized(tmp_path_factory) -> dict[str, Path]:
    """``planner optimize`` on the demo in Chinese (the default) and in English."""
    out = {}
    for lang in ("zh", "en"):
        folder = tmp_path_factory.mktemp(f"opt_{lang}")
        argv = ["optimize", "--new-sites", "3", "--out", str(folder), "--quiet"]
        if lang == "en":
            argv += ["--lang", "en"]
        assert cli.main(argv) == 0
        out[lang] = folder
    return out


def test_program_files_are_identical_in_every_language(optimized):
    zh, en = optimized["zh"], optimized["en"]
    for name in ("summary.csv", "proposals.csv", "scenario.toml"):
        assert (zh / name).read_bytes() == (en / name).read_bytes(), name
    # solution.json: identical but for the solver's wall time
    a, b = (json.loads((d / "solution.json").read_text(encoding="utf-8")) for d in (zh, en))
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    # the GeoPackages: same layers, same columns, same values (the files hold timestamps)
    for name in ("coverage.gpkg", "proposals.gpkg"):
        layers = pyogrio.list_layers(zh / name)
        assert layers.tolist() == pyogrio.list_layers(en / name).tolist()
        for layer, _ in layers:
            x = pyogrio.read_dataframe(zh / name, layer=layer)
            y = pyogrio.read_dataframe(en / name, layer=layer)
            assert not any(CJK.search(str(c)) for c in x.columns)
            pd.testing.assert_frame_equal(pd.DataFrame(x), pd.DataFrame(y))
    head = (zh / "summary.csv").read_text(encoding="utf-8").splitlines()[0]
    assert head.startswith(
        "admin_code,admin_name,level,population,covered_population,covered_share,"
    )


def test_proposals_csv_appends_township_and_village_of_a_spatial_join(optimized):
    table = pd.read_csv(optimized["zh"] / "proposals.csv", keep_default_na=False)
    assert list(table.columns) == [
        "site_id",
        "lon",
        "lat",
        "tier",
        "newly_covered_population",
        "township",
        "village",
    ]
    b = planner.load_demo().boundaries
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=4326)
    for level in ("township", "village"):
        units = b[b["level"] == level][["admin_name", "geometry"]]
        joined = gpd.sjoin(pts.to_crs(b.crs), units, how="left", predicate="within")
        want = joined[~joined.index.duplicated()]["admin_name"].fillna("").tolist()
        assert table[level].tolist() == want
        assert all(want)  # the demo's proposals all lie inside a unit


def test_people_files_follow_lang(optimized):
    zh = openpyxl.load_workbook(optimized["zh"] / "proposals.xlsx")
    en = openpyxl.load_workbook(optimized["en"] / "proposals.xlsx")
    assert zh.sheetnames == ["建议站点", "求解结果"] and en.sheetnames == ["Proposals", "Solution"]
    head = [c.value for c in zh["建议站点"][1]]
    assert head == [
        "站点编号",
        "经度（度）",
        "纬度（度）",
        "机构级别",
        "新增覆盖人口（人）",
        "乡镇",
        "村",
    ]
    assert zh["建议站点"].freeze_panes == "A2"
    assert zh["建议站点"].cell(row=2, column=5).number_format == "#,##0"
    assert [c.value for c in en["Proposals"][1]][-2:] == ["Township", "Village"]
    # the workbook holds the same sites as proposals.csv
    table = pd.read_csv(optimized["zh"] / "proposals.csv", keep_default_na=False)
    rows = list(zh["建议站点"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == table["site_id"].tolist()
    assert [r[-1] for r in rows] == table["village"].tolist()
    # the tier is shown in the reader's language
    assert {r[3] for r in rows} == {"社区卫生服务站"}
    # so are the solver's status and objective (solution.json keeps the program values)
    solution = json.loads((optimized["zh"] / "solution.json").read_text(encoding="utf-8"))
    for book, sheet in ((zh, "求解结果"), (en, "Solution")):
        head, values = list(book[sheet].iter_rows(min_row=1, max_row=2, values_only=True))
        cells = dict(zip(head, values, strict=True))
        lang = 0 if book is zh else 1
        assert cells[("状态", "Status")[lang]] == OUTPUT_VALUES[solution["status"]][lang]
        assert (
            cells[("目标", "Objective name")[lang]]
            == OUTPUT_VALUES[solution["objective_name"]][lang]
        )
    # map.html: the legend and layer names in the chosen language
    zh_map = (optimized["zh"] / "map.html").read_text(encoding="utf-8")
    en_map = (optimized["en"] / "map.html").read_text(encoding="utf-8")
    assert _has(zh_map, "医疗卫生机构") and not _has(en_map, "医疗卫生机构")
    assert _has(en_map, "Facilities") and not _has(zh_map, "Facilities")


def test_optimize_prints_the_township_and_village_of_each_site(optimized, capsys, tmp_path):
    assert cli.main(["optimize", "--new-sites", "1", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "proposals.csv", keep_default_na=False)
    r = table.iloc[0]
    assert f"{r.site_id}:" in printed and f"in {r.township} {r.village}" in printed


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_workbook_follows_lang(tmp_path, lang):
    argv = ["report", "--out", str(tmp_path), "--quiet", "--lang", lang]
    assert cli.main(argv) == 0
    wb = openpyxl.load_workbook(tmp_path / "compliance.xlsx")
    want = ["条款", "未达标项", "全部检查"] if lang == "zh" else ["Rules", "Failures", "All checks"]
    assert wb.sheetnames[:3] == want
    ws = wb[want[0]]
    assert ws.freeze_panes == "A2"
    head = [c.value for c in ws[1]]
    assert head[0] == ("条款" if lang == "zh" else "Rule")
    assert bool(CJK.search("".join(str(h) for h in head))) == (lang == "zh")
    # the Markdown and HTML pages: headings in the language, figures with separators
    md = (tmp_path / "compliance.md").read_text(encoding="utf-8")
    page = (tmp_path / "compliance.html").read_text(encoding="utf-8")
    result = planner.analyze(planner.load_demo(), mode="walk", minutes=15, isochrone_minutes=None)
    total = f"{result.total_population:,.0f}"
    if lang == "zh":
        assert "基层医疗卫生设施配置标准达标报告" in md.splitlines()[0]
        assert "## 标准条款" in md and "## 各乡镇覆盖情况" in md and f"总人口：{total}" in md
        assert "<h2>标准条款 <small" in page
    else:
        assert md.startswith("# Standards compliance report:") and "## Rules" in md
        assert f"Residents: {total}" in md and "<h2>Rules <small" in page
        assert not CJK.search(md.split("## Coverage by township")[0].split("\n", 3)[-1])


def test_coverage_lang_en_writes_an_english_map(tmp_path):
    argv = ["coverage", "--out", str(tmp_path), "--quiet", "--lang", "en", "--isochrones", "15"]
    assert cli.main(argv) == 0
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert _has(page, "Facilities") and not _has(page, "医疗卫生机构")


def test_lang_is_checked_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        cli.main(["coverage", "--out", "x", "--lang", "fr"])
    assert "invalid choice: 'fr'" in capsys.readouterr().err
