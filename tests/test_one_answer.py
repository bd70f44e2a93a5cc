"""One answer per question: the app's standards table and ``planner report`` decide the rules
with one engine (planner.compliance), and the CLI's explicit options override a scenario in
every form argparse accepts.

The hand counts here come straight from the demo files with geopandas/shapely, not from planner.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner import app as aps
from planner import cli
from planner.compliance import compliance_report, standards_checks
from planner.scenario import Scenario

DEMO = Path(__file__).resolve().parents[1] / "data"

#: the app's status for a report line (rule 5 "shared" villages pass in the report)
APP_STATUS = {"pass": {"met", "shared"}, "fail": {"missing"}, "not assessed": {"info"}}


@pytest.fixture(scope="module")
def walk15(demo) -> planner.CoverageResult:
    return planner.analyze(demo, mode="walk", minutes=15, isochrone_minutes=None)


@pytest.fixture(scope="module")
def raw():
    b = gpd.read_file(DEMO / "boundaries" / "demo_admin.geojson")
    f = pd.read_csv(DEMO / "facilities" / "demo_facilities.csv", dtype=str)
    f = gpd.GeoDataFrame(
        f, geometry=gpd.points_from_xy(f["lon"].astype(float), f["lat"].astype(float)), crs=4326
    )
    return b, f


def _agree(units: pd.DataFrame, checks: pd.DataFrame) -> None:
    """Every unit line of rules 1-5 of the report is a row of the app's table with the same
    status, and the app has no other rule 1-5 row."""
    rep = checks[(checks["admin_code"] != "") & (checks["rule"] <= 5)]
    app = units[units["rule"] != "RF"]
    assert len(app) == len(rep)
    a = app.set_index(["rule", "admin_code"])
    assert not a.index.duplicated().any()
    for line in rep.itertuples():
        row = a.loc[(f"R{line.check}", line.admin_code)]
        assert row["status"] in APP_STATUS[line.status], (
            line.check,
            line.admin_name,
            row["status"],
            line.status,
        )
        assert row["population"] == pytest.approx(line.population, nan_ok=True)
        if line.check == "1":
            assert row["value"] == pytest.approx(line.value, nan_ok=True)
        else:
            assert row["count"] == line.value


def test_app_table_and_report_agree_unit_by_unit(demo, walk15):
    units = aps.standards_units(demo, walk15)
    # what `planner report` computes (cmd_report: compliance_report(result, rules=...))
    report = compliance_report(walk15)
    _agree(units, report.checks)
    # and the per-rule counts the two used to disagree on (app 192/40, R1 16 units, R2 1 failing)
    s = aps.standards_summary(units, demo, walk15).set_index("rule")
    r = report.rules.set_index("rule")
    assert s.at["R5", "met"] + s.at["R5", "shared"] == r.at[5, "passed"] == 206
    assert s.at["R5", "missing"] == r.at[5, "failed"] == 26
    assert s.at["R1", "units"] == r.at[1, "checked"] == 17
    assert s.at["R1", "missing"] == r.at[1, "failed"] == 16
    assert s.at["R2a", "missing"] + s.at["R2b", "missing"] == r.at[2, "failed"] == 2
    assert s.at["R3", "missing"] == r.at[3, "failed"] == 12
    assert s.at["R4", "missing"] == r.at[4, "failed"] == 0


def test_what_if_table_is_the_report_with_the_sites(demo, walk15):
    """The what-if's 'after' table is the report on the register plus the sites, judged with
    the times the sites give."""
    r5 = aps.standards_units(demo, walk15)
    village = r5[(r5["rule"] == "R5") & (r5["status"] == "missing")].iloc[0]
    pt = demo.boundaries.set_index("admin_code").geometry[village.admin_code].representative_point()
    proposed = [(pt.x, pt.y, "village_clinic"), (114.27, 34.52, "community_station")]
    w = aps.what_if(demo, walk15, proposed)
    sites = aps.proposed_frame(proposed)
    register = gpd.GeoDataFrame(
        pd.concat([demo.facilities, sites[["facility_id", "tier", "geometry"]]], ignore_index=True),
        geometry="geometry",
        crs=demo.facilities.crs,
    )
    report = compliance_report(walk15, facilities=register, demand_minutes=w.minutes_after)
    _agree(w.standards_after, report.checks)
    after = w.standards_after.set_index(["rule", "admin_code"])
    assert (
        after.at[("R5", village.admin_code), "status"] == "met"
    )  # the new clinic is the village's own
    assert w.change.set_index("rule").at["R5", "met_change"] == 1
    # the county line of rule 1 is the share with the sites
    county = after.loc["R1"]
    county = county[county["level"] == "county"]
    assert county["value"].iloc[0] == pytest.approx(w.covered_share_after)


def test_rule5_by_hand(demo, walk15, raw):
    """Own clinic: named after the village (standing within 5 km) or standing in it without
    naming another village; shared: another village's clinic, standing in the village or an
    adjacent one, reaches at least half the residents."""
    b, f = raw
    vils = b[(b["level"] == "village") & (b["kind"] == "village")].reset_index(drop=True)
    clinics = f[f["type"] == "村卫生室"].reset_index(drop=True)
    metric = vils.estimate_utm_crs()
    vm, cm = vils.to_crs(metric), clinics.to_crs(metric)
    own: dict[str, int] = {}
    for i, c in clinics.iterrows():
        named = [j for j, n in enumerate(vils["admin_name"]) if len(n) >= 2 and n in c["name"]]
        longest = max((len(vils["admin_name"][j]) for j in named), default=0)
        named = [j for j in named if len(vils["admin_name"][j]) == longest]
        near = [j for j in named if vm.geometry[j].distance(cm.geometry[i]) <= 5000]
        if near:
            j = min(near, key=lambda j: vm.geometry[j].distance(cm.geometry[i]))
        else:
            inside = [j for j in range(len(vils)) if vils.geometry[j].intersects(c.geometry)]
            if not inside:
                continue
            j = inside[0]
        own[vils["admin_code"][j]] = own.get(vils["admin_code"][j], 0) + 1
    no_own = set(vils["admin_code"]) - set(own)
    assert len(own) == 204 and len(no_own) == 28
    units = aps.standards_units(demo, walk15)
    r5 = units[units["rule"] == "R5"].set_index("admin_code")
    assert set(r5.index[r5["status"] == "met"]) == set(own)
    assert set(r5.index[r5["status"] != "met"]) == no_own
    shared = r5.index[r5["status"] == "shared"]
    assert len(shared) == 2 and (r5.loc[shared, "value"] >= 0.5).all()
    # the shared clinic stands in a village that touches the sharing one
    vill = standards_checks(walk15, facilities=demo.facilities).villages.set_index("admin_code")
    geo = vils.set_index("admin_code").geometry
    name_of = vils.set_index("admin_name").geometry
    for code in shared:
        fid = vill.at[code, "shared_with"].rsplit("(", 1)[1].rstrip(")")
        clinic_pt = f.loc[f["id"] == fid].geometry.iloc[0]
        host = vill.at[code, "shared_with_village"]
        assert host in name_of.index and shapely.intersects(name_of[host].buffer(1e-5), geo[code])
        # it stands in the village or in one touching it, and is another village's clinic
        assert any(
            g.intersects(clinic_pt) and shapely.intersects(g.buffer(1e-5), geo[code])
            for g in vils.geometry
        )
        assert vill.at[code, "own_clinics"] == 0 and host != vill.at[code, "admin_name"]


def test_rule2_by_hand(demo, walk15, raw):
    """2a: a center in every subdistrict; 2b: above 100,000 residents one center per 100,000."""
    b, f = raw
    subs = b[(b["level"] == "township") & (b["kind"] == "subdistrict")]
    centers = f[f["type"] == "社区卫生服务中心"]
    pop = walk15.demand.groupby("township_code")["population"].sum()
    units = aps.standards_units(demo, walk15).set_index(["rule", "admin_code"])
    failing_2b = set()
    for s in subs.itertuples():
        k = int(centers.within(s.geometry).sum())
        assert units.at[("R2a", s.admin_code), "count"] == k
        assert units.at[("R2a", s.admin_code), "status"] == ("met" if k >= 1 else "missing")
        p = float(pop.get(s.admin_code, 0.0))
        if p > 100_000:
            need = math.ceil(p / 100_000)
            assert units.at[("R2b", s.admin_code), "required"] == need
            if k < need:
                failing_2b.add(s.admin_name)
        else:
            assert ("R2b", s.admin_code) not in units.index
    assert failing_2b == {"城关街道"}  # 100,549 residents, one center
    missing = units[units["status"] == "missing"].reset_index()
    assert set(missing.loc[missing["rule"] == "R2a", "admin_name"]) == {"东城街道"}


def test_rule1_county_line_and_figure(demo, walk15):
    units = aps.standards_units(demo, walk15)
    r1 = units[units["rule"] == "R1"]
    assert (r1["level"] == "county").sum() == 1 and (r1["level"] == "township").sum() == 16
    assert r1.loc[r1["level"] == "county", "value"].iloc[0] == pytest.approx(walk15.covered_share)
    s = aps.standards_summary(units, demo, walk15).set_index("rule")
    assert aps.figure_text("R1", s.at["R1", "figure"]) == f"{100 * walk15.covered_share:.1f} %"
    # no figure: a dash, never "nan %"
    assert aps.figure_text("R1", float("nan")) == "–"
    assert aps.figure_text("R2a", float("nan")) == "–"
    assert aps.figure_text("RF", 2080.6) == "2,081"


def test_a_site_that_adds_nobody_is_a_normal_answer(demo, walk15):
    hospital = demo.facilities[demo.facilities["name"] == "示范县人民医院"].geometry.iloc[0]
    w = aps.what_if(demo, walk15, [(hospital.x + 0.0002, hospital.y, "community_station")])
    assert w.newly_covered_population == 0
    assert len(w.per_admin) == 0
    for col in (
        "level",
        "admin_code",
        "admin_name",
        "newly_covered_population",
        "covered_share_before",
        "covered_share_after",
    ):
        assert col in w.per_admin.columns
    assert (w.change["met_change"] == 0).all()


# --------------------------------------------------------------------------------------------
# CLI: explicit options override the scenario in every form; absent ones do not
# --------------------------------------------------------------------------------------------


@pytest.fixture
def scenario_file(tmp_path) -> Path:
    return Scenario(name="s", mode="ebike", minutes=10.0).save(tmp_path / "s.toml")


OPT = ["optimize", "--new-sites", "2", "--out", "out"]


@pytest.mark.parametrize(
    "form", [["--mode", "drive"], ["--mode=drive"], ["--mod", "drive"], ["--mo=drive"]]
)
def test_cli_mode_overrides_the_scenario_in_every_form(scenario_file, form):
    args = cli.build_parser().parse_args([*OPT, "--scenario", str(scenario_file), *form])
    sc = cli._scenario_from_args(args)
    assert sc.mode == "drive" and sc.minutes == 10.0


@pytest.mark.parametrize(
    "form", [["--minutes", "20"], ["--minutes=20"], ["--minu", "20"], ["--minute=20"]]
)
def test_cli_minutes_overrides_the_scenario_in_every_form(scenario_file, form):
    args = cli.build_parser().parse_args([*OPT, "--scenario", str(scenario_file), *form])
    sc = cli._scenario_from_args(args)
    assert sc.minutes == 20.0 and sc.mode == "ebike"


def test_cli_absent_options_keep_the_scenario_and_defaults_without_one(scenario_file):
    sc = cli._scenario_from_args(
        cli.build_parser().parse_args([*OPT, "--scenario", str(scenario_file)])
    )
    assert (sc.mode, sc.minutes) == ("ebike", 10.0)
    # an explicit value equal to the parser's old default still overrides
    sc = cli._scenario_from_args(
        cli.build_parser().parse_args(
            [*OPT, "--scenario", str(scenario_file), "--mode=walk", "--minutes=15"]
        )
    )
    assert (sc.mode, sc.minutes) == ("walk", 15.0)
    sc = cli._scenario_from_args(cli.build_parser().parse_args(OPT))
    assert (sc.mode, sc.minutes) == ("walk", 15.0)


def test_cli_other_commands_keep_their_defaults():
    p = cli.build_parser()
    cov = p.parse_args(["coverage", "--out", "o"])
    # coverage leaves an absent --mode/--minutes as None (so they do not override a
    # --scenario's) and runs walk, 15 minutes without one
    travel = cli._coverage_travel(cov, None)
    assert (travel["mode"], travel["minutes"]) == ("walk", 15.0)
    assert p.parse_args(["coverage", "--mod=drive", "--out", "o"]).mode == "drive"
    rep = p.parse_args(["report", "--out", "o"])
    assert rep.mode == "walk" and rep.minutes is None


def test_standards_checks_rejects_misaligned_minutes(walk15):
    with pytest.raises(planner.InputError, match="demand_minutes"):
        standards_checks(walk15, demand_minutes=np.zeros(3))


def test_report_counts_the_whole_register_with_a_tier_subset(tmp_path, monkeypatch):
    """`planner report --tiers X` counts every facility of the register, as the app's table does."""
    import planner
    from planner import compliance
    from planner.cli import main

    seen = {}
    real = compliance.compliance_report

    def spy(result, **kw):
        seen.update(kw)
        return real(result, **kw)

    monkeypatch.setattr(compliance, "compliance_report", spy)
    assert (
        main(
            [
                "report",
                "--tiers",
                "community_station",
                "--formats",
                "md",
                "--quiet",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    fac = seen["facilities"]
    assert len(fac) == len(planner.load_demo().facilities)
    assert set(fac["tier"]) > {"community_station"}
