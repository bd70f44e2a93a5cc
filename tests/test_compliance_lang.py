"""The compliance report's people-facing text in Chinese (issue 11): every check line of every
rule and status, the rules table, the console lines and the files for people (xlsx, html, md)
read in ``lang="zh"`` without English sentences, with the same figures as the English, which
stays as it was."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner.compliance import (
    _text,
    compliance_html,
    compliance_lines,
    compliance_markdown,
    compliance_report,
    write_compliance,
)

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "data" / "compliance_english_shapes.json"

#: A run of three or more English words (letters, apostrophes, underscores; hyphen or space
#: between) - an untranslated sentence. Single codes (P1, F12, result.uncovered, EPSG) pass.
ENGLISH = re.compile(r"[A-Za-z][A-Za-z'_]*(?:[\s-]+[A-Za-z][A-Za-z'_]*){2,}")
#: The figures of a line: digits not glued to a letter (km2, m2, P1 and F12 are not figures).
FIGURE = re.compile(r"(?<![A-Za-z_\d])\d[\d,]*(?:\.\d+)?")


def _sites(b: gpd.GeoDataFrame, *, floor_area: bool = True) -> gpd.GeoDataFrame:
    comm = b.loc[b["admin_name"] == "解放路社区"].geometry.iloc[0]
    cols = {
        "site_id": ["P1", "P2", "P3", "P4", "P5"],
        "tier": [
            "community_center",
            "community_station",
            "community_station",
            "family_doctor_point",
            "village_clinic",
        ],
    }
    if floor_area:
        cols |= {
            "floor_area_m2": [4200.0, 250.0, 650.0, 80.0, np.nan],
            "beds": [20.0, np.nan, np.nan, np.nan, np.nan],
        }
    return gpd.GeoDataFrame(
        cols,
        geometry=[
            shapely.Point(114.325377, 34.523976),
            comm.representative_point(),
            shapely.Point(114.9, 34.9),  # outside the county
            shapely.Point(114.33, 34.52),
            shapely.Point(114.40, 34.45),
        ],
        crs="EPSG:4326",
    )


def scenarios() -> dict[str, dict]:
    """compliance_report arguments that between them reach every sentence of every rule."""
    ds = planner.load_demo()
    run = dict(mode="walk", minutes=15, isochrone_minutes=None)
    res = planner.analyze(ds, **run)
    b, fac = ds.boundaries, res.facilities
    out: dict[str, dict] = {"default": dict(result=res)}
    out["proposals"] = dict(result=res, proposals=_sites(b))
    out["proposals_no_area"] = dict(result=res, proposals=_sites(b, floor_area=False))
    staff_low = fac.assign(staff=np.where(fac["tier"] == "township_center", 5.0, 0.5), gp=0.1)
    first_tc = staff_low.index[staff_low["tier"] == "township_center"][0]
    out["staff_fail"] = dict(result=res, facilities=staff_low.drop(index=first_tc))
    out["staff_pass"] = dict(
        result=res,
        facilities=fac.assign(
            staff=np.where(fac["tier"] == "township_center", 40.0, 3.0), gp=100.0
        ),
    )
    out["rules_off"] = dict(
        result=res,
        rules=dict(
            center_per_subdistrict=False,
            station_per_community=False,
            township_center_per_township=False,
            clinic_per_village=False,
            plan_facility_with_new_housing=False,
            residents_per_center=[30000, 200000],
        ),
    )
    out["strict"] = dict(
        result=res,
        rules=dict(
            villages_may_share_clinic=False,
            station_min_residents=8000,
            residents_per_center=[3000, 10000],
            large_subdistrict_residents=20000,
        ),
    )
    # a shorter threshold: neighbours' clinics reach some villages only in part
    out["sharing_hard"] = dict(
        result=res, rules=dict(coverage_minutes=10), share_min_residents_share=0.99
    )
    out["township_centers_only"] = dict(
        result=res, facilities=fac[fac["tier"] == "township_center"]
    )
    out["clinics_only"] = dict(result=res, facilities=fac[fac["tier"] == "village_clinic"])
    res_nob = planner.analyze(dataclasses.replace(ds, boundaries=None), **run)
    out["no_boundaries"] = dict(result=res_nob)
    res_nop = planner.analyze(dataclasses.replace(ds, population=None), **run)
    out["no_population"] = dict(result=res_nop, proposals=_sites(b))
    # boundaries without kinds, and a township whose residents are left out
    empty = b.loc[(b["level"] == "township")].iloc[-1]
    pop = ds.population[~ds.population.representative_point().within(empty.geometry)]
    res_odd = planner.analyze(
        dataclasses.replace(ds, boundaries=b.assign(kind=""), population=pop), **run
    )
    out["no_kinds"] = dict(result=res_odd)
    return out


@pytest.fixture(scope="module")
def reports():
    return {name: compliance_report(**kw) for name, kw in scenarios().items()}


def _people_text(rep) -> dict[str, list[str]]:
    """Every people-facing text of a report, by where it stands."""
    out = {
        f"checks.{c}": rep.checks[c].astype(str).tolist()
        for c in ("detail", "fix", "proposals", "requirement")
    }
    out["checks.unit"] = rep.checks.loc[rep.checks["admin_code"] == "", "admin_name"].tolist()
    out |= {f"rules.{c}": rep.rules[c].astype(str).tolist() for c in ("title", "text", "summary")}
    out["proposals.addresses"] = rep.proposals["addresses"].astype(str).tolist()
    out["villages.status"] = rep.villages["status"].astype(str).tolist()
    out["equity.note"] = rep.equity["note"].astype(str).tolist()
    out["equity.group"] = rep.equity["group"].astype(str).tolist()
    out["travel_times.group"] = rep.travel_times["group"].astype(str).tolist()
    out["settings.value"] = rep.settings["value"].astype(str).tolist()
    return out


def test_the_scenarios_reach_every_sentence_and_status(reports):
    used: set[str] = set()
    statuses: dict[int, set[str]] = {}
    for rep in reports.values():
        for texts in rep._texts:
            for m in texts:
                if isinstance(m, _text.Msg):
                    used |= m.keys()
        for rule, s in zip(rep.checks["rule"], rep.checks["status"], strict=True):
            statuses.setdefault(int(rule), set()).add(s)
    # the sentences of the check lines (the summary's, console's and pages' are rendered
    # directly and checked by the tests below)
    line_keys = {k for k in _text.TEXT if not k.startswith(("sum_", "lines_", "address", "doc_"))}
    # an area no facility reaches at all is not in the demo: checked on its own below
    assert line_keys - used == {"r1_unreachable"}
    assert statuses == {
        1: {"pass", "fail", "not assessed"},
        2: {"pass", "fail", "not assessed"},
        3: {"pass", "fail", "not assessed"},
        4: {"pass", "fail", "not assessed"},
        5: {"pass", "fail", "not assessed"},
        6: {"not assessed"},  # rule 6 needs a planned-housing layer: never assessed
        7: {"pass", "fail", "not assessed"},
        8: {"pass", "fail", "not assessed"},
    }


def test_chinese_text_has_no_english_sentence_and_the_same_figures(reports):
    problems = []
    for name, rep in reports.items():
        zh = rep.localized("zh")
        assert zh.lang == "zh" and zh.localized("en") is rep and rep.localized("en") is rep
        en_text, zh_text = _people_text(rep), _people_text(zh)
        for where, lines in zh_text.items():
            for e, z in zip(en_text[where], lines, strict=True):
                if ENGLISH.search(z):
                    problems.append(f"{name} {where}: English in {z!r}")
                if sorted(FIGURE.findall(e)) != sorted(FIGURE.findall(z)):
                    problems.append(f"{name} {where}: figures differ: {e!r} / {z!r}")
        le, lz = compliance_lines(rep), compliance_lines(rep, lang="zh")
        assert len(le) == len(lz)
        for e, z in zip(le, lz, strict=True):
            if ENGLISH.search(z.replace(rep.dataset_name, "")):  # the data set's own name
                problems.append(f"{name} console: English in {z!r}")
            if sorted(FIGURE.findall(e)) != sorted(FIGURE.findall(z)):
                problems.append(f"{name} console: figures differ: {e!r} / {z!r}")
    assert not problems, "\n".join(problems[:20])


def test_the_codes_and_numbers_stay_as_they_are(reports):
    rep = reports["proposals"]
    zh = rep.localized("zh")
    for col in ("rule", "check", "admin_code", "level", "kind", "metric", "status"):
        assert zh.checks[col].tolist() == rep.checks[col].tolist()
    num = ["population", "value", "target"]
    pd.testing.assert_frame_equal(zh.checks[num], rep.checks[num])
    assert zh.rules[["rule", "status", "passed", "failed"]].equals(
        rep.rules[["rule", "status", "passed", "failed"]]
    )
    assert zh.gini("township") == rep.gini("township")
    # a few lines read as a county health commission writes them
    line = zh.status("2a").set_index("admin_code")
    fails = line[line["status"] == "fail"]
    assert (
        fails["fix"].str.startswith("在").all()
        and fails["fix"].str.contains("社区卫生服务中心").all()
    )
    r1 = zh.status("1")
    assert r1["detail"].str.contains("常住人口").all()
    assert "15分钟医疗服务圈" in r1["fix"].iloc[0]
    assert zh.rules.loc[zh.rules["rule"] == 4, "title"].iloc[0] == "每个乡镇一所乡镇卫生院"
    assert (
        "P1（社区卫生服务中心，新增覆盖"
        in zh.status("2a").set_index("admin_name").loc["东城街道", "fix"]
    )
    with pytest.raises(planner.InputError, match="lang must be 'zh' or 'en'"):
        rep.localized("fr")


def test_an_area_nobody_can_reach_is_said_in_both_languages():
    from planner.compliance.checks import _largest_area_text

    m = _largest_area_text(
        {"village_name": "李庄村", "population": 1234.0, "area_km2": 0.5, "mean_minutes": np.inf}
    )
    assert m.render("en").endswith("around 李庄村 (0.50 km2, no facility reachable)")
    assert (
        m.render("zh")
        == "；最大的未覆盖片区在李庄村一带，有1,234人（0.50平方公里，无可达医疗机构）"
    )


def _shape(text: str) -> str:
    """A sentence without its figures and names: what wording a change would alter."""
    t = re.sub(r"[\u3400-\u9fff]+", "…", text)
    t = re.sub(r"(?<![A-Za-z_])\d[\d,]*(?:\.\d+)?", "#", t)
    return re.sub(r"\b[PF]#\b", "P#", t)


def _english_shapes(reports) -> list[str]:
    shapes: set[str] = set()
    for rep in reports.values():
        for lines in _people_text(rep).values():
            shapes |= {_shape(t) for t in lines}
        shapes |= {_shape(t) for t in compliance_lines(rep)}
    return sorted(shapes)


def test_english_is_the_wording_it_was(reports):
    """The English sentences are those of the code before the translation (the shapes of every
    line, figures and names left out, recorded from that code on these scenarios)."""
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = _english_shapes(reports)
    assert sorted(set(got) - set(want)) == [] and sorted(set(want) - set(got)) == []


def test_files_for_people_follow_lang(reports, tmp_path):
    import openpyxl

    rep = reports["proposals"]
    res = planner.analyze(planner.load_demo(), mode="walk", minutes=15, isochrone_minutes=None)
    written = write_compliance(rep, tmp_path / "zh", lang="zh", result=res)
    wb = openpyxl.load_workbook(written["xlsx"], read_only=True)
    problems = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str) and ENGLISH.search(v.replace(rep.dataset_name, "")):
                    problems.append(f"{ws.title}: {v!r}")
    assert not problems, "\n".join(problems[:20])
    md = written["md"].read_text(encoding="utf-8")
    assert "在东城街道增设1个社区卫生服务中心" in md  # the fixes, in Chinese
    page = written["html"].read_text(encoding="utf-8")
    assert "在东城街道增设1个社区卫生服务中心" in page
    en = write_compliance(rep, tmp_path / "en", lang="en", result=res)
    assert "add 1 community health service center (社区卫生服务中心) in 东城街道" in en[
        "md"
    ].read_text(encoding="utf-8")
    # files read by programs: the report's own tables keep their English content
    assert rep.checks["fix"].str.contains("add 1 community health service center").any()


def _visible_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", "\n", page)  # one cell per line: cells are not a sentence


def test_the_full_report_files_without_a_result_follow_lang_too(reports, tmp_path):
    """write_compliance(lang="zh") without the coverage result writes the full tables page."""
    rep = reports["proposals"]
    written = write_compliance(rep, tmp_path, formats=["md", "html"], lang="zh")
    for fmt, text in (
        ("md", written["md"].read_text(encoding="utf-8")),
        ("html", _visible_text(written["html"].read_text(encoding="utf-8"))),
    ):
        text = text.replace(rep.dataset_name, "")
        hits = [h for line in text.splitlines() for h in ENGLISH.findall(line)]
        assert not hits, (fmt, hits[:10])
        assert "未达标项及改进办法" in text and "在东城街道增设1个社区卫生服务中心" in text
    # English as before: the same page as the report's own English
    assert compliance_markdown(rep, lang="en") == compliance_markdown(rep)
    assert "Failures and what would fix them" in compliance_html(rep)
