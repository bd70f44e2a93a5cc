"""What the optimizer and the raster options say about inputs that cannot give the answer asked
for: residents no site can cover, candidate costs that are not numbers, a raster cell that is
too large or too small for the area. Each was silent (or late) before."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pandas as pd
import pytest

import planner
from planner import app as aps
from planner import cli, siting


@pytest.fixture(scope="module")
def min_sites_run(walk15):
    return siting.propose_sites(walk15, objective="min-sites", target_share=1.0, time_limit_s=60)


def test_uncoverable_residents_are_counted_and_match_all_candidates_built(
    walk15, demo, min_sites_run
):
    run = min_sites_run
    assert run.uncoverable_population > 0 and run.uncoverable_units > 0
    # full cover of the coverable: nothing is left but the uncoverable and the unreachable
    left = run.total_population - run.covered_population_after
    assert math.isclose(left, run.uncoverable_population + run.unreachable_population, rel_tol=1e-9)
    # independently: build every candidate; whoever is still uncovered is what no site covers
    cands = run.candidates.rename(columns={"site_id": "facility_id"})
    every = planner.analyze(
        demo,
        isochrone_minutes=None,
        add_facilities=cands[["facility_id", "tier", "geometry"]].to_crs("EPSG:4326"),
    )
    still = every.total_population - every.covered_population
    assert math.isclose(still, left, rel_tol=1e-9, abs_tol=1e-6)
    summary = run.summary()
    assert summary["uncoverable_population"] == run.uncoverable_population
    assert summary["uncoverable_units"] == run.uncoverable_units


def test_cli_min_sites_names_the_uncoverable_residents(tmp_path, capsys, min_sites_run):
    out = tmp_path / "ms"
    args = ["optimize", "--objective", "min-sites", "--target-share", "1.0", "--no-map"]
    assert cli.main([*args, "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if x.startswith("out of reach of every candidate"))
    assert f"{min_sites_run.uncoverable_population:,.0f} residents" in line
    assert f"({min_sites_run.uncoverable_units:,} demand points)" in line
    sol = json.loads((out / "solution.json").read_text(encoding="utf-8"))
    assert math.isclose(sol["uncoverable_population"], min_sites_run.uncoverable_population)


def _premises(tmp_path, costs) -> str:
    df = pd.read_csv(aps.demo_candidates_file())
    df["cost"] = costs(len(df))
    path = tmp_path / "premises.csv"
    df.to_csv(path, index=False)
    return str(path)


def test_text_costs_are_refused_naming_the_column_rows_and_values(tmp_path, capsys):
    def costs(n):
        c = ["2"] * n
        c[2], c[7], c[9] = "", "1,200", "-3"
        return c

    path = _premises(tmp_path, costs)
    rc = cli.main(
        ["optimize", "--budget", "5", "--candidates", path, "--out", str(tmp_path / "o"), "--quiet"]
    )
    err = capsys.readouterr().err
    assert rc != 0
    assert "'cost'" in err and "C003 (empty)" in err and "C008 ('1,200')" in err
    assert "C010" in err and "3 of" in err and "Fix:" in err
    assert (
        f"{path}: candidates column 'cost'" in err and "--cost-column" in err
    )  # the file, the flag
    assert "Traceback" not in err


def test_a_cost_column_of_the_premises_file_is_kept_and_the_budget_holds(walk15, tmp_path):
    rng = np.random.default_rng(0)
    path = _premises(tmp_path, lambda n: rng.integers(1, 4, n))
    cand = siting.candidate_sites(walk15, source="file", path=path, tier="community_station")
    assert "cost" in cand.columns  # was dropped: only floor_area_m2 could be a cost
    run = siting.propose_sites(walk15, budget=4.0, costs="cost", candidates=cand)
    chosen = cand.set_index("site_id").loc[run.proposals["site_id"], "cost"]
    assert 0 < len(chosen) and chosen.sum() <= 4.0


def test_a_missing_candidates_file_is_called_so(tmp_path, capsys):
    rc = cli.main(
        ["optimize", "--new-sites", "2", "--candidates", str(tmp_path / "nope.csv")]
        + ["--out", str(tmp_path / "o"), "--quiet"]
    )
    assert rc != 0 and "candidates file not found" in capsys.readouterr().err


def test_raster_cell_too_coarse_warns_too_fine_fails_before_the_analysis(tmp_path, capsys):
    args = ["coverage", "--no-map", "--quiet", "--out"]
    assert cli.main([*args, str(tmp_path / "a"), "--raster-cell", "20000"]) == 0
    io = capsys.readouterr()
    assert "planner: warning: --raster-cell 20000 m gives access.tif only" in io.err
    assert "Fix: use --raster-cell" in io.err
    assert (tmp_path / "a" / "access.tif").exists()

    assert cli.main([*args, str(tmp_path / "b"), "--raster-cell", "0.05"]) != 0
    io = capsys.readouterr()
    assert "(--raster-cell)" in io.err and "--boundaries" in io.err
    assert "network (" not in io.out  # refused before the network was built
    assert not (tmp_path / "b").exists()

    assert cli.main([*args, str(tmp_path / "c"), "--raster-cell", "100"]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("cell", ["-5", "nan", "inf", "-inf"])
def test_raster_cell_not_positive_finite_is_refused_before_any_work(tmp_path, capsys, cell):
    out = tmp_path / "o"
    rc = cli.main(["coverage", "--no-map", "--quiet", "--out", str(out), f"--raster-cell={cell}"])
    io = capsys.readouterr()
    assert rc == 2
    assert "--raster-cell must be a positive number of metres" in io.err
    assert "Traceback" not in io.err and "network (" not in io.out and not out.exists()


def test_bad_costs_name_the_first_five_sites_and_how_many_more():
    """Eight bad costs: the message names the first five sites with their values, then
    'and 3 more' (the listing of planner._validate.describe_rows)."""
    import geopandas as gpd

    cost = ["1", "x", None, "-1", "2", "n/a", "1 200", "-5", "3", "?", "4", "km"]
    cand = gpd.GeoDataFrame({"site_id": [f"S{i:02d}" for i in range(12)], "cost": cost})
    with pytest.raises(planner.InputError) as exc:
        siting.candidate_numbers(cand, "cost", "costs")
    msg = str(exc.value)
    assert "8 of 12 do not" in msg
    for shown in ("S01 ('x')", "S02 (empty)", "S03 ('-1')", "S05 ('n/a')", "S06 ('1 200')"):
        assert shown in msg
    assert "S07" not in msg and "S11" not in msg
    assert "and 3 more" in msg


def test_reevaluated_coverage_that_differs_is_a_planner_warning(tmp_path, capsys, monkeypatch):
    """The coverage of the files written differs from the optimizer's (made to, here): one
    'planner: warning:' line saying which figures, by how much and what to do (was a bare
    print without the 'planner:' prefix)."""
    real = cli._write_optimize_outputs

    def off_by(*a, **k):
        written, after = real(*a, **k)
        return written, types.SimpleNamespace(covered_population=after.covered_population + 1234.5)

    monkeypatch.setattr(cli, "_write_optimize_outputs", off_by)
    out = tmp_path / "o"
    rc = cli.main(["optimize", "--new-sites", "2", "--no-map", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 0
    line = next(x for x in err.splitlines() if "differs" in x)
    assert line.startswith("planner: warning: the coverage of the files written (")
    assert "covered_population_after in solution.json" in line
    assert "by +1,234.500 residents" in line and "Fix:" in line
    assert str(out / "proposals.csv") in line
    assert err.count("planner: warning:") == 1


def test_reevaluated_coverage_that_agrees_warns_nothing(tmp_path, capsys):
    out = tmp_path / "o"
    rc = cli.main(["optimize", "--new-sites", "2", "--no-map", "--quiet", "--out", str(out)])
    assert rc == 0 and "differs" not in capsys.readouterr().err
