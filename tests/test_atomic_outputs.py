"""Outputs are replaced whole or not at all (issue 10, section 6): a failure or a kill while
writing leaves the previous set of outputs as it was, never half new beside half old."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import planner
from planner import cli, pipeline, report
from planner.scenario import Scenario


@pytest.fixture(scope="module")
def demo_result():
    return planner.analyze(planner.load_demo(), isochrone_minutes=None)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _boom(*args, **kwargs):
    raise RuntimeError("simulated failure while writing")


def _smaller(result):
    """A result whose files differ from ``result``'s (fewer facilities and units)."""
    return dataclasses.replace(
        result, facilities=result.facilities.head(5), admin_summary=result.admin_summary.head(3)
    )


def test_write_outputs_failure_keeps_the_old_set(demo_result, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    written = report.write_outputs(demo_result, out, map_html=False)
    assert set(written) == {"gpkg", "summary"} and all(p.parent == out for p in written.values())
    before = _snapshot(out)
    assert set(before) == {"coverage.gpkg", "summary.csv"}
    # the GeoPackage of the new result is written, then summary.csv fails
    monkeypatch.setattr(report, "summary_table", _boom)
    with pytest.raises(RuntimeError, match="simulated failure"):
        report.write_outputs(_smaller(demo_result), out, map_html=False)
    assert (
        _snapshot(out) == before
    )  # old coverage.gpkg beside old summary.csv, no staging folder left
    monkeypatch.undo()
    report.write_outputs(_smaller(demo_result), out, map_html=False)
    after = _snapshot(out)
    assert set(after) == set(before) and after["coverage.gpkg"] != before["coverage.gpkg"]
    assert after["summary.csv"].count(b"\n") == 4  # header and the 3 units of the new result


def test_cli_coverage_failure_mid_write_keeps_the_old_set(demo_result, tmp_path: Path, monkeypatch):
    out = tmp_path / "cov"
    results = iter([demo_result, _smaller(demo_result)])
    monkeypatch.setattr(pipeline, "analyze", lambda *a, **k: next(results))
    assert cli.main(["coverage", "--out", str(out), "--no-map", "--quiet"]) == 0
    before = _snapshot(out)
    monkeypatch.setattr(report, "summary_table", _boom)
    with pytest.raises(RuntimeError, match="simulated failure"):
        cli.main(["coverage", "--out", str(out), "--no-map", "--quiet"])
    assert _snapshot(out) == before


def test_cli_report_failure_mid_write_keeps_the_old_set(demo_result, tmp_path: Path, monkeypatch):
    from planner import compliance

    out = tmp_path / "rep"
    monkeypatch.setattr(pipeline, "analyze", lambda *a, **k: demo_result)
    monkeypatch.setattr(compliance, "compliance_report", lambda *a, **k: "report v1")
    monkeypatch.setattr(compliance, "compliance_lines", lambda r: [])

    def write(rep, folder, formats, **_options):
        folder = Path(folder)
        (folder / "compliance.md").write_text(f"{rep}\n")
        if rep == "report v2":
            raise RuntimeError("simulated failure while writing")  # after the first file
        (folder / "compliance.html").write_text(f"<p>{rep}</p>")
        return {"md": folder / "compliance.md", "html": folder / "compliance.html"}

    monkeypatch.setattr(compliance, "write_compliance", write)
    assert cli.main(["report", "--out", str(out), "--quiet"]) == 0
    before = _snapshot(out)
    assert before == {"compliance.html": b"<p>report v1</p>", "compliance.md": b"report v1\n"}
    monkeypatch.setattr(compliance, "compliance_report", lambda *a, **k: "report v2")
    with pytest.raises(RuntimeError, match="simulated failure"):
        cli.main(["report", "--out", str(out), "--quiet"])
    assert _snapshot(out) == before


def test_a_killed_writer_leaves_the_old_outputs(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "coverage.gpkg").write_bytes(b"old gpkg")
    (out / "summary.csv").write_bytes(b"old summary")
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from planner import report
        with report.staged_outputs({str(out)!r}) as stage:
            (stage / "coverage.gpkg").write_bytes(b"new gpkg")
            Path({str(tmp_path / "ready")!r}).touch()
            time.sleep(60)  # killed here, with the new GeoPackage written and summary.csv not yet
            (stage / "summary.csv").write_bytes(b"new summary")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "writer did not start"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert (out / "coverage.gpkg").read_bytes() == b"old gpkg"
    assert (out / "summary.csv").read_bytes() == b"old summary"
    # what the killed run left is a hidden staging folder, not a half-new output
    assert [p.name.startswith(report.STAGING_PREFIX) for p in out.iterdir() if p.is_dir()] == [True]


def test_scenario_save_is_atomic(tmp_path: Path, monkeypatch):
    path = tmp_path / "s.toml"
    Scenario(name="old", new_sites=3).save(path)
    old = path.read_bytes()

    def fail(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        Scenario(name="new", new_sites=5).save(path)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]  # no temporary file left
    monkeypatch.undo()
    Scenario(name="new", new_sites=5).save(path)
    assert Scenario.load(path).name == "new"


def test_cli_optimize_failure_mid_write_keeps_the_old_set(demo_result, tmp_path: Path, monkeypatch):
    """The optimizer's outputs (proposals, solution, scenario and the coverage of the solution)
    are one set: a failure in the last file leaves the previous run's set."""
    import json
    import types

    import pandas as pd

    from planner import siting

    out = tmp_path / "opt"
    monkeypatch.setattr(pipeline, "analyze", lambda *a, **k: demo_result)
    runs = iter(["run 1", "run 2"])

    def propose(before, **kwargs):
        sol = types.SimpleNamespace(
            objective=1.0, bound=1.0, gap=0.0, status="optimal", solver="stub", seconds=0.0
        )
        return types.SimpleNamespace(
            tag=next(runs),
            solution=sol,
            objective_name="stub",
            proposals=pd.DataFrame(columns=["site_id"]),
            candidates=[],
            covered_population_before=0.0,
            covered_population_after=demo_result.covered_population,
            uncoverable_population=0.0,  # as a SitingRun (nobody out of every site's reach)
            uncoverable_units=0,
            unreachable_population=0.0,
        )

    def write_proposals(run, folder, **_options):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)  # as siting.write_proposals does
        (folder / "proposals.csv").write_text(
            f"site_id,lon,lat,tier,note\nS1,114.285,34.515,community_station,{run.tag}\n",
            encoding="utf-8",
        )
        (folder / "solution.json").write_text(
            json.dumps({"run": run.tag, "covered_population_after": demo_result.covered_population})
        )
        return {"proposals_csv": folder / "proposals.csv", "solution": folder / "solution.json"}

    monkeypatch.setattr(siting, "propose_sites", propose)
    monkeypatch.setattr(siting, "write_proposals", write_proposals)
    argv = ["optimize", "--new-sites", "1", "--out", str(out), "--no-map", "--quiet"]
    assert cli.main(argv) == 0
    before = _snapshot(out)
    assert {
        "proposals.csv",
        "solution.json",
        "scenario.toml",
        "coverage.gpkg",
        "summary.csv",
    } <= set(before)
    assert b"run 1" in before["solution.json"]
    monkeypatch.setattr(report, "summary_table", _boom)  # the coverage of the second run fails
    with pytest.raises(RuntimeError, match="simulated failure"):
        cli.main(argv)
    assert _snapshot(out) == before  # still run 1's proposals beside run 1's coverage
