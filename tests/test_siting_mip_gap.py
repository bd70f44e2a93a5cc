"""siting passes the caller's ``mip_gap`` to every objective, and its errors name library
parameters (``new_sites=``), not command-line flags."""

from __future__ import annotations

import argparse

import pytest

import planner
from planner import InputError, OptimizationError, cli, optimize, siting


@pytest.fixture(scope="module")
def result():
    return planner.analyze(planner.load_demo(), isochrone_minutes=None)


@pytest.mark.parametrize(
    "objective, solver",
    [
        ("max-coverage", "solve_max_coverage"),
        ("min-sites", "solve_set_cover"),
        ("min-time", "solve_p_median"),
        ("min-max-time", "solve_p_center"),
    ],
)
def test_every_objective_gets_the_callers_mip_gap(result, monkeypatch, objective, solver):
    seen = {}
    original = getattr(optimize, solver)

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(optimize, solver, spy)
    few = siting.candidate_sites(result).iloc[::8]  # a small model: this test is about plumbing
    run = siting.propose_sites(
        result,
        objective=objective,
        new_sites=2,
        mip_gap=0.0375,
        method="greedy",
        time_limit_s=20,
        candidates=few,
    )
    assert seen.get("mip_gap") == 0.0375, seen
    sol = run.solution
    # the status follows the gap on the reported objective and the mip_gap asked for
    assert (sol.status in ("optimal", "near_optimal")) == (sol.gap <= 0.0375 + 1e-6)
    assert (sol.status == "optimal") == (sol.gap <= 1e-6)  # "optimal" only when proved
    assert run.summary()["mip_gap"] == 0.0375  # solution.json says what "near_optimal" means


@pytest.mark.parametrize("objective", ["max-coverage", "min-time", "min-max-time"])
def test_missing_new_sites_names_the_parameter(result, objective):
    with pytest.raises(OptimizationError, match=r"new_sites=P") as info:
        siting.propose_sites(result, objective=objective)
    assert "--" not in str(info.value)


def test_tier_errors_name_no_flags(result):
    with pytest.raises(InputError, match=r"tier request 'community_station:x'") as info:
        siting.TierRequest.parse("community_station:x")
    assert "--" not in str(info.value)
    with pytest.raises(OptimizationError, match=r"requests=\[TierRequest") as info:
        siting.propose_multi_tier(result, [])
    assert "--" not in str(info.value)


def test_too_many_new_sites_names_new_sites_and_the_cli_shows_the_flag(result):
    cands = siting.candidate_sites(result)
    with pytest.raises(
        OptimizationError, match=r"new_sites=100000 but there are only \d+ candidate"
    ) as info:
        siting.propose_sites(result, objective="min-time", new_sites=100_000, candidates=cands)
    assert "solve_p_median" not in str(info.value) and "p=" not in str(info.value)
    with pytest.raises(OptimizationError, match=r"new_sites=0 must be a whole number"):
        siting.propose_sites(result, new_sites=0, candidates=cands)
    # the CLI shows the same message in its own words
    shown = cli._in_flags(str(info.value), argparse.Namespace(facilities=None))
    assert "--new-sites 100000 but" in shown and "new_sites" not in shown
    assert "lower --new-sites to at most" in shown
