"""The optimizer's population weight (``--weight 65+``) is saved in scenario.toml and read back."""

import pytest

from planner import siting
from planner._errors import ScenarioError
from planner.cli import _scenario_from_args, build_parser
from planner.scenario import Scenario


def test_weight_round_trips_through_toml(tmp_path):
    sc = Scenario(name="old", objective="max-coverage", new_sites=3, weight="65+")
    path = sc.save(tmp_path / "scenario.toml")
    assert 'weight = "65+"' in path.read_text(encoding="utf-8")
    back = Scenario.load(path)
    assert back == sc and back.weight == "65+"
    # no weight: every resident alike, and the file still loads
    plain = Scenario.load(Scenario(name="all").save(tmp_path / "all.toml"))
    assert plain.weight == ""


def test_cli_saves_weight_and_rerun_keeps_it(tmp_path):
    parser = build_parser()
    first = _scenario_from_args(
        parser.parse_args(
            ["optimize", "--out", str(tmp_path / "o"), "--new-sites", "2", "--weight", "65+"]
        )
    )
    assert first.weight == "65+"
    saved = first.save(tmp_path / "scenario.toml")
    # re-running the saved scenario without --weight weights the same way
    again = _scenario_from_args(
        parser.parse_args(["optimize", "--out", str(tmp_path / "o"), "--scenario", str(saved)])
    )
    assert again.weight == "65+"
    # an explicit --weight overrides the file
    other = _scenario_from_args(
        parser.parse_args(
            [
                "optimize",
                "--out",
                str(tmp_path / "o"),
                "--scenario",
                str(saved),
                "--weight",
                "under5",
            ]
        )
    )
    assert other.weight == "under5"


def test_scenario_optimize_passes_the_weight(monkeypatch):
    seen = {}

    def fake_propose(result, **kw):
        seen.update(kw)
        return "run"

    monkeypatch.setattr(siting, "propose_sites", fake_propose)
    sc = Scenario(objective="max-coverage", new_sites=2, weight="65+")
    assert sc.optimize(object()) == "run"
    assert seen["weight"] == "65+"
    Scenario(objective="max-coverage", new_sites=2).optimize(object())
    assert seen["weight"] is None


def test_weight_with_several_tiers_is_refused():
    with pytest.raises(ScenarioError, match="weight works with one tier"):
        Scenario(objective="max-coverage", weight="65+", tier_requests=("health_center:1",))
    with pytest.raises(ScenarioError, match="weight must be a group name"):
        Scenario(weight=65)  # type: ignore[arg-type]
