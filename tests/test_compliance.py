"""The standards compliance report: rule lines, hand counts on the demo, equity, outputs, CLI."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner import compliance
from planner.compliance import (
    compliance_report,
    gini,
    load_rules,
    lorenz_curve,
    rules_from_dict,
    weighted_quantile,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"


# --------------------------------------------------------------------------------------------
# Hand counts straight from the demo files (geopandas only, no planner loader)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw():
    b = gpd.read_file(DEMO / "boundaries" / "demo_admin.geojson")
    f = pd.read_csv(DEMO / "facilities" / "demo_facilities.csv", dtype=str)
    f = gpd.GeoDataFrame(
        f, geometry=gpd.points_from_xy(f["lon"].astype(float), f["lat"].astype(float)), crs=4326
    )
    return b, f


def _inside(f: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """Facilities per unit by point in polygon (0 for units without any)."""
    j = gpd.sjoin(f, units[["admin_code", "geometry"]], predicate="within")
    return (
        units["admin_code"]
        .map(j.groupby("admin_code").size())
        .fillna(0)
        .astype(int)
        .set_axis(units["admin_name"])
    )


@pytest.fixture(scope="module")
def hand(raw):
    b, f = raw
    subs = b[(b["level"] == "township") & (b["kind"] == "subdistrict")]
    towns = b[(b["level"] == "township") & b["kind"].isin(["town", "township"])]
    comms = b[(b["level"] == "village") & (b["kind"] == "community")]
    vils = b[(b["level"] == "village") & (b["kind"] == "village")]
    centers = f[f["type"] == "社区卫生服务中心"]
    stations = f[f["type"].isin(["社区卫生服务站", "社区卫生服务中心"])]
    clinics = f[f["type"] == "村卫生室"]
    named = set(clinics["name"].str.removesuffix("卫生室"))
    return {
        "centers_per_subdistrict": _inside(centers, subs),
        "township_centers": _inside(f[f["type"] == "乡镇卫生院"], towns),
        "communities_without_station": set(_inside(stations, comms).loc[lambda s: s == 0].index),
        "villages_without_clinic_inside": set(_inside(clinics, vils).loc[lambda s: s == 0].index),
        "villages_without_own_clinic": set(vils.loc[~vils["admin_name"].isin(named), "admin_name"]),
        "n_villages": len(vils),
    }


@pytest.fixture(scope="module")
def result():
    return planner.analyze(planner.load_demo(), mode="walk", minutes=15, isochrone_minutes=None)


@pytest.fixture(scope="module")
def report(result):
    return compliance_report(result)


def test_hand_counts_are_what_the_demo_was_built_for(hand):
    # the demo README: 东城街道 has no center of its own; 28 villages got no clinic
    assert hand["centers_per_subdistrict"].loc[lambda s: s == 0].index.tolist() == ["东城街道"]
    assert len(hand["villages_without_own_clinic"]) == 28
    # 15 clinics stand 1.2-3 km away, some in a neighbour: more villages have none inside
    assert len(hand["villages_without_clinic_inside"]) == 40
    assert (hand["township_centers"] == 1).all() and len(hand["township_centers"]) == 11


def test_every_rule_is_listed_with_a_number_and_a_status(report):
    assert report.rules["rule"].tolist() == list(range(1, 9))
    assert set(report.rules["status"]) <= {"pass", "fail", "not assessed"}
    assert report.rules["text"].str.len().gt(20).all()
    assert set(report.checks["rule"]) == set(range(1, 9))
    assert set(report.checks["status"]) <= {"pass", "fail", "not assessed"}
    assert list(report.checks.columns) == compliance.CHECK_COLUMNS
    # every line cites its rule's text; every failure says what would fix it
    texts = report.rules.set_index("rule")["text"]
    assert (report.checks["requirement"] == report.checks["rule"].map(texts)).all()
    assert report.failures["fix"].str.len().gt(10).all()
    assert (report.checks.loc[report.checks["status"] != "fail", "fix"] == "").all()
    status = report.rules.set_index("rule")["status"]
    assert status[1] == status[2] == status[3] == status[5] == "fail"
    assert status[4] == "pass"
    assert (
        status[6] == status[7] == status[8] == "not assessed"
    )  # no housing layer, proposals, staff


def test_rule2_centers_match_the_hand_count(report, hand):
    lines = report.status("2a").set_index("admin_name")
    counted = hand["centers_per_subdistrict"]
    assert sorted(lines.index) == sorted(counted.index)
    assert (lines["value"] == counted.reindex(lines.index)).all()
    assert lines.index[lines["status"] == "fail"].tolist() == ["东城街道"]
    assert lines.loc["东城街道", "fix"].startswith(
        "add 1 community health service center (社区卫生服务中心) in 东城街道"
    )
    # 2b: only 城关街道 is above 100,000 residents, with one center it needs a second
    big = report.status("2b")
    assert big["admin_name"].tolist() == ["城关街道"] and big["population"].iloc[0] > 100_000
    assert (
        big["value"].iloc[0] == 1 and big["target"].iloc[0] == 2 and big["status"].iloc[0] == "fail"
    )


def test_rules_3_and_4_match_the_hand_count(report, hand):
    r3 = report.status("3")
    assert set(r3.loc[r3["status"] == "fail", "admin_name"]) == hand["communities_without_station"]
    r4 = report.status("4").set_index("admin_name")
    assert (r4["value"] == hand["township_centers"].reindex(r4.index)).all()
    assert (r4["status"] == "pass").all()


def test_rule5_villages_match_the_hand_count(report, hand):
    v = report.villages.set_index("admin_name")
    assert len(v) == hand["n_villages"] == 232
    assert set(v.index[v["own_clinics"] == 0]) == hand["villages_without_own_clinic"]
    assert set(v.index[v["clinics_inside"] == 0]) == hand["villages_without_clinic_inside"]
    assert v["own_clinics"].sum() == 204 and v["clinics_inside"].sum() == 204
    # villages without a clinic of their own either share a neighbour's (network query) or fail
    no_own = v[v["own_clinics"] == 0]
    assert set(no_own["status"]) <= {"shared", "no clinic"}
    shared = no_own[no_own["status"] == "shared"]
    assert (shared["shared_share"] >= 0.5).all() and (shared["shared_minutes"] <= 15).all()
    r5 = report.status("5")
    assert len(r5) == 232
    assert (
        (r5["status"] == "fail").sum()
        == (no_own["status"] == "no clinic").sum()
        == 28 - len(shared)
    )
    assert set(r5.loc[r5["status"] == "fail", "admin_name"]) == set(
        no_own.index[no_own["status"] == "no clinic"]
    )


def test_rule5_point_in_polygon_only(result, hand):
    rep = compliance_report(result, match_clinics_by_name=False)
    v = rep.villages.set_index("admin_name")
    assert set(v.index[v["own_clinics"] == 0]) == hand["villages_without_clinic_inside"]


def test_rule5_sharing_can_be_forbidden(result, report):
    import dataclasses

    strict = compliance_report(
        result, rules=dataclasses.replace(planner.Rules(), villages_may_share_clinic=False)
    )
    assert (strict.status("5")["status"] == "fail").sum() == 28


def test_rule1_shares_agree_with_the_demand_table(report, result):
    dem = result.demand
    pop = dem["population"].to_numpy(float)
    ok = dem["minutes"].to_numpy(float) <= 15
    r1 = report.status("1").set_index("admin_code")
    for code, lines in r1.iterrows():
        m = dem["township_code"].to_numpy() == code if len(code) == 9 else np.ones(len(dem), bool)
        assert lines["value"] == pytest.approx(pop[m & ok].sum() / pop[m].sum(), rel=1e-9)
        assert lines["status"] == ("pass" if pop[m & ~ok].sum() == 0 else "fail")
    assert r1.loc["419901", "value"] == pytest.approx(result.covered_share)
    assert r1.loc["419901201", "status"] == "pass"  # 板桥乡: everyone within 15 min


def test_rule8_reports_residents_and_implied_staff(report):
    r8 = report.checks[report.checks["rule"] == 8]
    assert set(r8["check"]) == {"8a", "8b", "8c"}
    assert (r8["status"] == "not assessed").all()  # the demo has no staff counts
    a = report.status("8a").set_index("admin_name")
    assert a.loc["王集镇", "value"] == pytest.approx(24_687.3, abs=1)
    assert "25-37 staff" in a.loc["王集镇", "detail"]
    gp = report.status("8c")
    assert gp["value"].iloc[0] == pytest.approx(476_457.49 * 4 / 10_000, rel=1e-6)
    fac = report.facilities
    tc = fac[fac["tier"] == "township_center"]
    assert (
        len(tc) == 11
        and (tc["implied_staff_high"] / tc["implied_staff_low"]).round(6).eq(1.5).all()
    )


def test_staff_counts_are_checked_when_present(result):
    fac = result.facilities.copy()
    fac["staff"] = np.where(fac["tier"] == "township_center", 30.0, 2.0)
    rep = compliance_report(result, facilities=fac)
    a = rep.status("8a").set_index("admin_name")
    assert a.loc["王集镇", "status"] == "pass"  # 30 staff >= 24.7 needed
    assert a.loc["马营乡", "status"] == "pass"
    b = rep.status("8b")
    assert b["status"].iloc[0] == "pass"  # 408 village doctors >= 221


def test_proposals_are_listed_in_the_failing_units(result, raw):
    b, _ = raw
    comm = b.loc[b["admin_name"] == "解放路社区"].geometry.iloc[0]
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["P1", "P2", "P3"],
            "tier": ["community_center", "community_station", "community_station"],
            "floor_area_m2": [4200.0, 250.0, 650.0],
        },
        geometry=[
            shapely.Point(
                114.325377, 34.523976
            ),  # 锦绣新城配套商业楼 (candidate C023), in 东城街道
            comm.representative_point(),
            shapely.Point(114.9, 34.9),
        ],  # the last outside the county
        crs="EPSG:4326",
    )
    rep = compliance_report(result, proposals=sites)
    line = rep.status("2a").set_index("admin_name").loc["东城街道"]
    assert "P1 (community_center" in line["proposals"] and "P1" in line["fix"]
    p = rep.proposals.set_index("site_id")
    assert (
        p.loc["P1", "township_name"] == "东城街道"
        and "rule 2a (东城街道)" in p.loc["P1", "addresses"]
    )
    assert p.loc["P3", "township_code"] == "" and p.loc["P3", "addresses"] == ""
    assert p.loc["P1", "newly_covered_population"] > 0
    # rule 7: floor areas against the size rules (center 3,500 m2, station 300 m2)
    r7 = rep.status("7").set_index("proposals")["status"]
    assert r7.to_dict() == {"P1": "pass", "P2": "fail", "P3": "pass"}
    # rule 1: the township line says what the proposals would reach
    r1 = rep.status("1").set_index("admin_name")
    assert "with the proposals" in r1.loc["东城街道", "fix"]


def test_proposals_from_a_siting_run(result):
    from planner import siting

    run = siting.propose_sites(result, new_sites=2, method="greedy", time_limit_s=20)
    rep = compliance_report(result, proposals=run)
    assert len(rep.proposals) == len(run.proposals)
    assert rep.proposals["newly_covered_population"].sum() == pytest.approx(
        run.proposals["newly_covered_population"].sum()
    )
    with pytest.raises(planner.InputError, match="SitingRun or a GeoDataFrame"):
        compliance_report(result, proposals=[(114.3, 34.5)])


# --------------------------------------------------------------------------------------------
# Equity
# --------------------------------------------------------------------------------------------


def test_gini_of_equal_access_is_zero():
    assert gini([7.0] * 5) == 0.0
    assert gini([12.0, 12.0, 12.0], [100, 5_000, 3]) == 0.0


def test_gini_hand_cases():
    assert gini([0.0, 1.0]) == pytest.approx(0.5)
    # weights 1, 1, 2 on times 1, 2, 3: 1 - sum of the trapezoids under the Lorenz curve = 1.75/9
    assert gini([3.0, 1.0, 2.0], [2, 1, 1]) == pytest.approx(1.75 / 9)
    lc = lorenz_curve([3.0, 1.0, 2.0], [2, 1, 1])
    np.testing.assert_allclose(lc["population_share"], [0, 0.25, 0.5, 1])
    np.testing.assert_allclose(lc["time_share"], [0, 1 / 9, 3 / 9, 1])


def test_gini_matches_the_mean_difference_formula():
    rng = np.random.default_rng(7)
    x = rng.uniform(1, 40, 30)
    w = rng.integers(1, 20, 30)
    people = np.repeat(x, w)  # one value per person
    brute = np.abs(people[:, None] - people[None, :]).mean() / (2 * people.mean())
    assert gini(x, w) == pytest.approx(brute, rel=1e-12)


def test_weighted_quantile():
    assert weighted_quantile([1, 2, 3], [1, 1, 2], 0.5) == 2.0
    np.testing.assert_array_equal(
        weighted_quantile([5, 1, 3], [1, 1, 1], [0.0, 0.34, 1.0]), [1, 3, 5]
    )
    assert weighted_quantile([1, np.inf], [1, 3], 0.5) == np.inf


def test_equity_tables(report, result):
    tt = report.travel_times.set_index("group")
    assert list(tt.index) == ["all", "urban (subdistricts)", "rural (towns and townships)"]
    assert tt.loc["all", "population"] == pytest.approx(result.total_population)
    assert tt.loc["urban (subdistricts)", "population"] + tt.loc[
        "rural (towns and townships)", "population"
    ] == pytest.approx(result.total_population)
    q = tt.loc["all", ["p10", "p25", "p50", "p75", "p90", "p95", "p99"]].to_numpy(float)
    assert (np.diff(q) >= 0).all()
    dem = result.demand
    assert tt.loc["all", "p50"] == weighted_quantile(dem["minutes"], dem["population"], 0.5)
    eq = report.equity.set_index(["metric", "group"])["value"]
    assert 0 < eq["gini", "township"] < eq["gini", "village"] < 1
    assert report.gini("township") == eq["gini", "township"]
    s = result.admin_summary.query("level == 'township'")
    assert eq["gini", "township"] == pytest.approx(gini(s["mean_minutes"], s["population"]))
    assert eq["mean_minutes_gap", "rural - urban"] == pytest.approx(
        eq["mean_minutes", "rural"] - eq["mean_minutes", "urban"]
    )
    lz = report.lorenz[report.lorenz["level"] == "township"]
    assert len(lz) == 17 and lz["population_share"].is_monotonic_increasing
    assert lz["time_share"].iloc[-1] == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def test_writes_all_three_formats(report, tmp_path):
    written = compliance.write_compliance(report, tmp_path)
    assert set(written) == {"xlsx", "html", "md"}
    assert {p.name for p in written.values()} == {
        "compliance.xlsx",
        "compliance.html",
        "compliance.md",
    }
    sheets = pd.read_excel(written["xlsx"], sheet_name=None)
    assert set(compliance.SHEETS) == set(sheets)
    assert len(sheets["checks"]) == len(report.checks) and len(sheets["rules"]) == 8
    assert sheets["failures"]["fix"].str.contains("东城街道").any()
    page = written["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "东城街道" in page and "<svg" in page
    for remote in ("<script", "<link", "src=", "https://", "cdn"):
        assert remote not in page.lower()
    md = written["md"].read_text(encoding="utf-8")
    assert (
        "## Rules" in md
        and "| 2 | a community health service center per subdistrict | fail |" in md
    )
    assert "add 1 community health service center (社区卫生服务中心) in 东城街道" in md
    assert "Synthetic demo data" in md


def test_write_only_some_formats_and_reject_unknown(report, tmp_path):
    assert set(compliance.write_compliance(report, tmp_path, formats=["md"])) == {"md"}
    with pytest.raises(planner.InputError, match="unknown report format"):
        compliance.write_compliance(report, tmp_path, formats=["pdf"])


# --------------------------------------------------------------------------------------------
# Rules from TOML
# --------------------------------------------------------------------------------------------


def test_rules_from_toml(tmp_path):
    p = tmp_path / "rules.toml"
    p.write_text(
        "coverage_minutes = 10\nresidents_per_center = [30000, 60000]\nvillages_may_share_clinic = false\n"
        "[min_floor_area_m2]\ncommunity_station = 400\n",
        encoding="utf-8",
    )
    r = load_rules(p)
    assert r.coverage_minutes == 10.0 and r.residents_per_center == (30_000, 60_000)
    assert not r.villages_may_share_clinic
    assert (
        r.min_floor_area_m2["community_station"] == 400
        and r.min_floor_area_m2["community_center"] == 3500
    )
    # a [rules] table (e.g. inside a scenario file) works too
    q = tmp_path / "scenario.toml"
    q.write_text("[rules]\ngp_per_10000 = 5\n", encoding="utf-8")
    assert load_rules(q).gp_per_10000 == 5.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("coverage_minutes = \n", "not valid TOML"),
        (
            "coverage_minute = 10\n",
            r"unknown rule 'coverage_minute'.*known rules: .*coverage_minutes",
        ),
        ('coverage_minutes = "fifteen"\n', "coverage_minutes must be a number"),
        ("coverage_minutes = -5\n", "coverage_minutes must be > 0"),
        (
            "residents_per_center = [100000, 30000]\n",
            r"residents_per_center must be a \(low, high\) pair",
        ),
        ("residents_per_center = 30000\n", r"residents_per_center must be a pair of numbers"),
        ("clinic_per_village = 1\n", "clinic_per_village must be true or false"),
        ("station_min_residents = 2.5\n", "station_min_residents must be a whole number"),
        (
            '[min_floor_area_m2]\ncommunity_station = "big"\n',
            "min_floor_area_m2 must be a table of numbers",
        ),
    ],
)
def test_bad_rules_file_gives_a_clear_error(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(planner.ScenarioError, match=match) as exc:
        load_rules(p)
    assert str(p) in str(exc.value) and "Fix:" in str(exc.value)


def test_several_problems_are_reported_together():
    with pytest.raises(ValueError, match=r"unknown rule 'x'.*gp_per_10000 must be a number"):
        rules_from_dict({"x": 1, "gp_per_10000": "many"})


def test_missing_rules_file(tmp_path):
    with pytest.raises(planner.InputFileError, match="rules file not found"):
        load_rules(tmp_path / "nope.toml")


def test_rules_change_the_report(result):
    rep = compliance_report(
        result, rules={"coverage_minutes": 10, "residents_per_center": [30000, 60000]}
    )
    r1 = rep.status("1").set_index("admin_code")
    dem = result.demand
    ok = dem["minutes"].to_numpy(float) <= 10
    assert r1.loc["419901", "value"] == pytest.approx(
        dem["population"][ok].sum() / dem["population"].sum()
    )
    assert "within 10 min" in r1.loc["419901", "detail"]
    # 2b: with at most 60,000 residents per center, 城关街道 (100,549) needs 2 and 东城街道 (65,377) 2
    big = rep.status("2b").set_index("admin_name")
    assert big.loc["城关街道", "target"] == 2 and big.loc["东城街道", "target"] == 2


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def test_cli_report_with_rules(tmp_path, capsys):
    from planner.cli import main

    rules = tmp_path / "rules.toml"
    rules.write_text("coverage_minutes = 10\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["report", "--rules", str(rules), "--out", str(out), "--quiet", "--lang", "en"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "rule 2 a community health service center per subdistrict: FAIL" in text
    assert {p.name for p in out.iterdir()} == {
        "compliance.xlsx",
        "compliance.html",
        "compliance.md",
    }
    settings = pd.read_excel(out / "compliance.xlsx", sheet_name="Settings").set_index("Setting")[
        "Value"
    ]
    assert (
        settings["rules.coverage_minutes"] == "10.0"
        or float(settings["rules.coverage_minutes"]) == 10.0
    )
    assert "within 10 min" in (out / "compliance.md").read_text(encoding="utf-8")


def test_cli_bad_rules_file(tmp_path, capsys):
    from planner.cli import main

    bad = tmp_path / "rules.toml"
    bad.write_text("coverage_minutes = 'x'\nfoo = 1\n", encoding="utf-8")
    assert main(["report", "--rules", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("planner: error: ")
        and "unknown rule 'foo'" in err
        and "coverage_minutes must be a number" in err
    )
    assert not (tmp_path / "o").exists()
    assert (
        main(["report", "--rules", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "rules file not found" in capsys.readouterr().err


def test_report_needs_a_coverage_result():
    with pytest.raises(planner.InputError, match="CoverageResult"):
        compliance_report(planner.load_demo())
