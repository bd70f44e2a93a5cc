"""The what-ifs a person makes (facilities closed, moved, re-tiered; proposed sites) and the
study area (admin units picked, a drawn boundary) are kept in scenario.toml, read back, and
honoured by ``Scenario.analyze``/``Scenario.evaluate`` and the CLI's ``optimize --scenario``.

The numbers are checked against an independent computation: the edits applied to the facility
table by hand (plain pandas, not ``FacilityEdits.apply``), ``planner.analyze`` on that, and the
residents inside the area summed by hand (shapely on each demand unit's point, the township
code column); and against the app's what-if (``planner.app.what_if`` on the restricted result).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner import app as aps
from planner._errors import ScenarioError
from planner.scenario import FORMAT_VERSION, FacilityEdits, Scenario, StudyArea


def _what_ifs(demo, walk15) -> tuple[FacilityEdits, StudyArea, tuple]:
    """Edits of three facilities, a study area (one township and a box over the county's
    western half) and one proposed station."""
    own = walk15.demand.groupby("nearest_facility")["population"].sum().sort_values()
    closed, moved, retiered = (str(f) for f in own.index[-3:])
    q = walk15.uncovered.geometry.representative_point()
    edits = (
        FacilityEdits()
        .close(closed)
        .move(moved, round(float(q.iloc[0].x), 6), round(float(q.iloc[0].y), 6))
        .set_tier(retiered, "other")  # "other" does not count: as good as closed
    )
    s = walk15.admin_summary
    towns = s[s["level"] == "township"].sort_values("population")
    x0, y0, x1, y1 = walk15.demand.total_bounds
    xm = round((x0 + x1) / 2, 6)
    box = ((x0 - 0.01, y0 - 0.01), (xm, y0 - 0.01), (xm, y1 + 0.01), (x0 - 0.01, y1 + 0.01))
    area = StudyArea(admin_codes=tuple(towns["admin_code"].astype(str)), boundary=box)
    site = (round(float(q.iloc[1].x), 6), round(float(q.iloc[1].y), 6), "community_station")
    return edits, area, (site,)


# ------------------------------------------------------------------------------------------
# scenario.toml: round trip, format versions, atomic writes
# ------------------------------------------------------------------------------------------


def test_edits_area_and_sites_round_trip_through_toml(tmp_path, demo, walk15):
    edits, area, sites = _what_ifs(demo, walk15)
    sc = Scenario(name="关闭一所卫生室", proposed=sites, edits=edits, area=area, minutes=12)
    path = sc.save(tmp_path / "s.toml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"format_version = {FORMAT_VERSION}\n")
    assert "[edits]" in text and "[area]" in text
    back = Scenario.load(path)
    assert back == sc and hash(back) == hash(sc)
    assert back.edits.closed == edits.closed and back.edits.moved == edits.moved
    assert back.area.boundary == area.boundary and back.area.admin_codes == area.admin_codes
    # nothing made: no [edits]/[area] tables, and the file reads back the same
    plain = Scenario(name="plain")
    ptext = plain.save(tmp_path / "p.toml").read_text(encoding="utf-8")
    assert "[edits]" not in ptext and "[area]" not in ptext
    assert Scenario.load(tmp_path / "p.toml") == plain


def test_an_older_scenario_file_still_loads(tmp_path):
    # scenario.toml as planner wrote it before edits and areas were saved (no format_version)
    old = tmp_path / "old.toml"
    old.write_text(
        'name = "old"\nmode = "drive"\nminutes = 10.0\ntiers = []\n'
        '[[proposed]]\nlon = 114.27\nlat = 34.52\ntier = "community_station"\n',
        encoding="utf-8",
    )
    sc = Scenario.load(old)
    assert sc.mode == "drive" and sc.proposed == ((114.27, 34.52, "community_station"),)
    assert not sc.edits and not sc.area
    # saved again, it is the current format, same content
    again = Scenario.load(sc.save(tmp_path / "again.toml"))
    assert again == sc


def test_bad_or_newer_files_are_refused_with_the_fix(tmp_path):
    def load(text: str) -> Scenario:
        p = tmp_path / "x.toml"
        p.write_text(text, encoding="utf-8")
        return Scenario.load(p)

    with pytest.raises(ScenarioError, match="newer planner.*Fix: update planner"):
        load(f"format_version = {FORMAT_VERSION + 1}\nname = 'x'\n")
    with pytest.raises(ScenarioError, match="format_version must be a whole number"):
        load("format_version = 'two'\n")
    with pytest.raises(ScenarioError, match=r"\[edits\]: unknown tiers \['clinic'\]"):
        load("[edits]\nretiered = [{facility_id = 'F1', tier = 'clinic'}]\n")
    with pytest.raises(ScenarioError, match=r"\[edits\]: .*moved a list of tables"):
        load("[edits]\nmoved = [{facility_id = 'F1', lon = 114.2}]\n")
    with pytest.raises(ScenarioError, match=r"\[edits\]: unknown keys \['opened'\]"):
        load("[edits]\nopened = ['F1']\n")
    with pytest.raises(ScenarioError, match=r"\[area\]: a study boundary needs at least 3"):
        load("[area]\nboundary = [[114.2, 34.5], [114.3, 34.5]]\n")
    with pytest.raises(ScenarioError, match=r"\[area\]: the study boundary crosses itself"):
        load("[area]\nboundary = [[0, 0], [1, 1], [1, 0], [0, 1]]\n")


def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = Scenario(name="first", edits=FacilityEdits().close("F1")).save(tmp_path / "s.toml")
    before = path.read_bytes()

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        Scenario(name="second").save(path)
    assert path.read_bytes() == before  # the old scenario, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]  # no half-written file


# ------------------------------------------------------------------------------------------
# Running a scenario with edits and an area: the same numbers as the app, and as by hand
# ------------------------------------------------------------------------------------------


def _by_hand(ds: planner.Dataset, edits: FacilityEdits) -> planner.Dataset:
    """The edited register, written out with plain pandas (the independent reference)."""
    fac = ds.facilities.copy()
    fac = fac[~fac["facility_id"].astype(str).isin(edits.closed)].copy()
    for fid, lon, lat in edits.moved:
        sel = fac["facility_id"].astype(str) == fid
        fac.loc[sel, "geometry"] = shapely.Point(lon, lat)
    for fid, tier in edits.retiered:
        fac.loc[fac["facility_id"].astype(str) == fid, "tier"] = tier
    assert fac.crs.equals("EPSG:4326")  # the loaders' contract: lon/lat
    return dataclasses.replace(ds, facilities=fac)


def _inside_by_hand(result: planner.CoverageResult, area: StudyArea) -> pd.Series:
    """Which demand units are inside: township code picked and the point in the box."""
    dem = result.demand
    pts = dem.geometry.representative_point().to_crs(4326) if dem.crs else dem.geometry
    box = shapely.Polygon(area.boundary)
    in_box = np.array([box.contains(p) for p in pts])
    codes = set(area.admin_codes)
    in_units = np.zeros(len(dem), dtype=bool)
    for col in [c for c in dem.columns if c.endswith("_code")]:
        in_units |= dem[col].astype(str).isin(codes).to_numpy()
    return pd.Series(in_box & in_units, index=dem.index)


def test_a_scenario_run_equals_the_app_what_if_and_a_hand_computation(demo, walk15):
    edits, area, sites = _what_ifs(demo, walk15)
    sc = Scenario(name="w", proposed=sites, edits=edits, area=area)

    after = sc.evaluate(demo, network=walk15.network)  # edits + proposed site, in the area
    before = sc.analyze(demo, network=walk15.network)  # edits only, in the area

    # the app: the what-if on the county result restricted to the area
    sub = aps.restrict(walk15, admin_codes=area.admin_codes, polygon=area.polygon())
    w = aps.what_if(demo, sub, sites, edits=edits)
    assert after.total_population == pytest.approx(sub.total_population, abs=1e-6)
    assert after.covered_population == pytest.approx(w.covered_population_after, abs=1e-6)

    # by hand: edit the table, analyse the whole county, sum the residents inside
    sites_frame = gpd.GeoDataFrame(
        {"facility_id": ["S1"], "tier": [sites[0][2]]},
        geometry=[shapely.Point(sites[0][0], sites[0][1])],
        crs=4326,
    )
    hand_ds = _by_hand(demo, edits)
    full_after = planner.analyze(
        hand_ds, isochrone_minutes=None, network=walk15.network, add_facilities=sites_frame
    )
    full_before = planner.analyze(hand_ds, isochrone_minutes=None, network=walk15.network)
    inside = _inside_by_hand(full_after, area)
    assert 0 < inside.sum() < len(inside)  # the area is a real part of the county
    d = full_after.demand[inside.to_numpy()]
    assert after.total_population == pytest.approx(d["population"].sum(), abs=1e-6)
    assert after.covered_population == pytest.approx(
        d.loc[d["covered"], "population"].sum(), abs=1e-6
    )
    d0 = full_before.demand[_inside_by_hand(full_before, area).to_numpy()]
    assert before.covered_population == pytest.approx(
        d0.loc[d0["covered"], "population"].sum(), abs=1e-6
    )
    # the edits change something here (else the test would prove little)
    whole = aps.restrict(walk15, admin_codes=area.admin_codes, polygon=area.polygon())
    assert before.covered_population != pytest.approx(whole.covered_population, abs=1)
    assert after.covered_population > before.covered_population


def test_cli_optimize_from_a_saved_scenario_honours_its_edits_and_area(
    tmp_path, demo, walk15, capsys
):
    from planner.cli import main

    edits, area, _ = _what_ifs(demo, walk15)
    path = Scenario(name="cli", edits=edits, area=area).save(tmp_path / "in.toml")
    out = tmp_path / "out"
    code = main(
        [
            "optimize",
            "--scenario",
            str(path),
            "--new-sites",
            "1",
            "--time-limit",
            "20",
            "--no-map",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    expect = (
        Scenario.load(path).replace(objective="max-coverage").analyze(demo, network=walk15.network)
    )
    line = next(s for s in printed.splitlines() if s.startswith("before:"))
    assert line.startswith(
        f"before: {expect.covered_population:,.0f} of {expect.total_population:,.0f} residents"
    )
    assert expect.total_population < walk15.total_population  # the area counted, not the county
    saved = Scenario.load(out / "scenario.toml")  # the run's scenario keeps them
    assert saved.edits == edits and saved.area == area
    assert Path(out / "proposals.csv").is_file()


def test_cli_coverage_from_a_saved_scenario_counts_its_what_ifs(tmp_path, demo, walk15, capsys):
    from planner.cli import main

    edits, area, sites = _what_ifs(demo, walk15)
    sc = Scenario(name="cli", mode="walk", minutes=12, edits=edits, area=area, proposed=sites)
    path = sc.save(tmp_path / "in.toml")
    out = tmp_path / "out"
    argv = ["coverage", "--scenario", str(path), "--isochrones", "--no-map", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 closed, 1 moved, 1 re-tiered" in printed
    assert "evaluating 1 proposed sites of the scenario" in printed
    expect = sc.evaluate(demo, network=walk15.network)  # checked by hand above
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    row = summary.iloc[0].to_dict()
    pop = next(v for k, v in row.items() if k in ("total_population", "population"))
    cov = next(v for k, v in row.items() if k == "covered_population")
    assert pop == pytest.approx(expect.total_population, rel=1e-9)
    assert cov == pytest.approx(expect.covered_population, rel=1e-9)
    # a flag given on the command line overrides the scenario's value
    assert main([*argv, "--minutes", "15", "--out", str(tmp_path / "o15")]) == 0
    at15 = sc.replace(minutes=15.0).evaluate(demo, network=walk15.network)
    s15 = pd.read_csv(tmp_path / "o15" / "summary.csv", encoding="utf-8-sig").iloc[0]
    assert s15["covered_population"] == pytest.approx(at15.covered_population, rel=1e-9)
