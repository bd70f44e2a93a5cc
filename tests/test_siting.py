"""Siting on the demo county: candidates, proposals, the what-if, the optimize CLI."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import planner
from planner import OptimizationError, cli, siting
from planner._errors import ScenarioError
from planner.scenario import Scenario


@pytest.fixture(scope="module")
def result():
    return planner.analyze(planner.load_demo(), isochrone_minutes=None)


def test_candidates_reach_uncovered_residents(result):
    c = siting.candidate_sites(result, spacing_m=300)
    assert len(c) > 50 and c["site_id"].is_unique
    xy = result.network.project(c)
    cell = np.floor(xy / 300).astype(int)
    assert len(np.unique(cell, axis=0)) == len(c)  # one per 300 m square


def test_candidates_from_premises_respect_floor_area(result):
    path = planner.pipeline.DEMO_DIR / "facilities" / "demo_candidates.csv"
    c = siting.candidate_sites(result, source="file", path=path, tier="community_center")
    raw = pd.read_csv(path)
    assert len(c) == (raw["floor_area_m2"] >= 3500).sum()  # standards rule 7: centers >= 3,500 m2
    v = siting.candidate_sites(result, source="villages", tier="village_clinic")
    assert len(v) == (result.boundaries["level"] == "village").sum()


def test_evaluate_one_site_by_hand(result):
    top = result.uncovered.iloc[0].geometry.representative_point()
    site = gpd.GeoDataFrame(
        {"site_id": ["S"], "tier": ["community_station"]}, geometry=[top], crs=4326
    )
    ev = siting.evaluate_sites(result, site)
    # independent: rerun the whole analysis with the site added
    full = planner.analyze(
        planner.load_demo(),
        isochrone_minutes=None,
        network=result.network,
        add_facilities=site.rename(columns={"site_id": "facility_id"}),
    )
    assert ev.covered_population_after == full.covered_population
    assert ev.per_site["newly_covered_population"].sum() == pytest.approx(
        ev.newly_covered_population
    )
    by_level = ev.per_admin.groupby("level")["newly_covered_population"].sum()
    for level in ("county", "township", "village"):
        assert by_level[level] == pytest.approx(ev.newly_covered_population)
    changed = (
        full.demand["nearest_facility"].to_numpy() != result.demand["nearest_facility"].to_numpy()
    )
    assert set(ev.nearest_changed["demand_row"]) == set(np.flatnonzero(changed))
    assert ev.seconds < 5  # not a timing test: a guard against an accidental full recompute


def test_propose_max_coverage_reproduced_by_coverage(tmp_path, result):
    out = tmp_path / "opt"
    assert cli.main(["optimize", "--new-sites", "5", "--quiet", "--no-map", "--out", str(out)]) == 0
    sol = json.loads((out / "solution.json").read_text())
    assert sol["gap"] <= 0.01 and sol["bound"] >= sol["objective"] - 1e-6
    assert sol["covered_population_after"] - sol["covered_population_before"] == pytest.approx(
        sol["objective"]
    )
    props = pd.read_csv(out / "proposals.csv")
    assert list(props.columns) == [
        "site_id",
        "lon",
        "lat",
        "tier",
        "newly_covered_population",
        "township",  # appended: where each site lies (issue 11)
        "village",
    ]
    assert len(props) == 5
    again = planner.analyze(
        planner.load_demo(),
        isochrone_minutes=None,
        network=result.network,
        add_facilities=cli.load_proposals(out / "proposals.csv"),
    )
    assert again.covered_population == sol["covered_population_after"]  # exactly
    assert Scenario.load(out / "scenario.toml").new_sites == 5


def test_greedy_never_beats_bound_and_more_sites_cover_more(result):
    cands = siting.candidate_sites(result)
    prev = result.covered_population
    for p in (1, 3, 6):
        run = siting.propose_sites(result, new_sites=p, candidates=cands, method="heuristic")
        assert run.solution.objective <= run.solution.bound + 1e-6
        assert run.covered_population_after >= prev - 1e-6
        prev = run.covered_population_after


def test_min_sites_covers_everything_coverable(result):
    cands = siting.candidate_sites(result)
    run = siting.propose_sites(result, objective="min-sites", candidates=cands, time_limit_s=30)
    prob = siting.siting_problem(result, cands)
    coverable = prob.covered_by_existing | (np.diff(prob.sets.cover.indptr) > 0)
    ev = siting.evaluate_sites(result, run.proposals)
    # everyone some candidate (or an existing facility) can reach is covered afterwards
    assert ev.covered_population_after >= prob.weights[coverable].sum() - 1e-6
    assert ev.covered_population_after < ev.total_population  # the river cuts some off for good


def test_bad_requests(result):
    with pytest.raises(OptimizationError, match=r"new_sites=P"):
        siting.propose_sites(result, objective="max-coverage")
    with pytest.raises(OptimizationError, match="unknown objective"):
        siting.propose_sites(result, objective="best")
    with pytest.raises(planner.InputError, match="unknown tier"):
        siting.candidate_sites(result, tier="clinic")
    empty = siting.candidate_sites(result).iloc[:0]
    with pytest.raises(OptimizationError, match="candidate"):
        siting.propose_sites(result, new_sites=2, candidates=empty)


def test_scenario_roundtrip_and_unknown_keys(tmp_path):
    sc = Scenario(
        name="x",
        mode="ebike",
        minutes=10,
        tiers=("village_clinic",),
        objective="max-coverage",
        new_sites=3,
        proposed=((114.3, 34.5, "community_station"),),
    )
    p = sc.save(tmp_path / "s.toml")
    assert Scenario.load(p) == sc
    assert hash(Scenario.load(p)) == hash(sc)
    p.write_text(p.read_text() + "colour = 'red'\n")
    with pytest.raises(ScenarioError, match="unknown keys \\['colour'\\]"):
        Scenario.load(p)
    with pytest.raises(ScenarioError, match="new_sites must be a whole number"):
        Scenario(new_sites=0)
    with pytest.raises(ScenarioError, match="budget must be >= 0"):
        Scenario(budget=-5)


def test_evaluate_no_sites_changes_nothing(result):
    empty = gpd.GeoDataFrame({"site_id": [], "tier": []}, geometry=[], crs=4326)
    ev = siting.evaluate_sites(result, empty)
    assert ev.newly_covered_population == 0
    assert ev.covered_population_after == result.covered_population
    assert len(ev.per_site) == 0 and len(ev.nearest_changed) == 0


def test_multi_tier_respects_each_tier(result, tmp_path):
    reqs = [siting.TierRequest("community_station", 3), siting.TierRequest("community_center", 1)]
    run = siting.propose_multi_tier(result, reqs, time_limit_s=30)
    tiers = run.proposals["tier"].value_counts()
    assert tiers.get("community_station", 0) <= 3 and tiers.get("community_center", 0) <= 1
    assert run.proposals["site_id"].is_unique  # one tier per site
    assert run.solution.objective <= run.solution.bound + 1e-6
    assert run.covered_population_after >= run.covered_population_before
    sc = Scenario(
        objective="max-coverage", tier_requests=("community_station:3", "community_center:1")
    )
    assert Scenario.load(sc.save(tmp_path / "mt.toml")) == sc
    with pytest.raises(ScenarioError, match="unknown tier 'clinic'"):
        Scenario(tier_requests=("clinic:2",))
    with pytest.raises(planner.InputError, match="TIER:P"):
        siting.TierRequest.parse("community_station:many")
    with pytest.raises(OptimizationError, match="twice"):
        siting.propose_multi_tier(result, [reqs[0], reqs[0]])
