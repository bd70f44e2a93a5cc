"""planner batch: many counties on Dask equal one analysis of the whole region."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import planner
from planner import batch, coverage
from planner._errors import InputError, InputFileError
from planner.synthetic import make_region


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    return make_region(tmp_path_factory.mktemp("region4"), cols=2, rows=2)


@pytest.fixture(scope="module")
def region_ds(region):
    return planner.load_dataset(region)


@pytest.fixture(scope="module")
def walk_run(region, region_ds, tmp_path_factory):
    """The serial batch of the region with the default settings (walk, 15 minutes), run once for
    the module: ``(result, out_dir)``, read only (tests that write run their own)."""
    out = tmp_path_factory.mktemp("walk_run")
    res = batch.run_batch(
        region / "regions.gpkg",
        data=region_ds,
        settings=batch.BatchSettings(),
        out_dir=out,
        executor="serial",
    )
    return res, out


def _single(ds, mode, minutes, horizon):
    """One analysis of the merged region, times beyond the horizon set to inf (what a region knows)."""
    res = planner.analyze(ds, mode=mode, minutes=minutes, isochrone_minutes=None)
    d = res.demand.copy()
    d.loc[d["minutes"] > horizon, "minutes"] = np.inf
    return res, d


@pytest.mark.parametrize(
    "mode,minutes,horizon", [("walk", 15, None), ("drive", 10, 20), ("ebike", 15, None)]
)
def test_batch_equals_single_analysis_unit_by_unit(
    region, region_ds, walk_run, tmp_path, mode, minutes, horizon
):
    st = batch.BatchSettings(mode=mode, minutes=minutes, horizon_minutes=horizon)
    if st == batch.BatchSettings():
        res, out = walk_run  # the module's run of these settings
    else:
        out = tmp_path
        res = batch.run_batch(
            region / "regions.gpkg",
            data=region_ds,
            settings=st,
            out_dir=tmp_path,
            executor="serial",
        )
    single, d = _single(region_ds, mode, minutes, st.horizon)
    # every demand unit: same covered flag, same time (within the horizon), counted once
    bd = batch.read_layer(out, "demand")
    assert len(bd) == len(d)
    m = d.merge(bd, on=["row", "col"], suffixes=("_s", "_b"), validate="one_to_one")
    assert (m["covered_s"] == m["covered_b"]).all()
    fin = np.isfinite(m["minutes_s"].to_numpy(float))
    assert (fin == np.isfinite(m["minutes_b"].to_numpy(float))).all()
    np.testing.assert_allclose(
        m.loc[fin, "minutes_b"], m.loc[fin, "minutes_s"], rtol=0, atol=1e-6 / 60
    )
    # every admin unit of every level: same population and covered population
    want = coverage.admin_summary(d, region_ds.boundaries).set_index(["level", "admin_code"])
    got = res.admin_summary.set_index(["level", "admin_code"])
    want = want[want.index.get_level_values(1) != ""]
    got = got.loc[want.index]
    np.testing.assert_allclose(got["population"], want["population"], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(
        got["covered_population"], want["covered_population"], rtol=1e-12, atol=1e-6
    )
    np.testing.assert_allclose(got["mean_minutes"], want["mean_minutes"], rtol=1e-9, equal_nan=True)
    # the merged summary has planner coverage's columns, a row for all, each region and each unit
    s = pd.read_csv(out / "summary.csv", dtype={"admin_code": str})
    assert list(s.columns) == batch.SUMMARY_COLUMNS
    assert s.iloc[0]["population"] == pytest.approx(single.total_population, rel=1e-12)
    assert s.iloc[0]["covered_population"] == pytest.approx(single.covered_population, rel=1e-12)
    assert set(s.loc[s["level"] == "region", "admin_code"]) == set(res.regions["admin_code"])


def test_halo_matters_border_facility_serves_next_county(region, region_ds, tmp_path):
    """Some residents are covered only by a facility of the neighbouring county."""
    res, d = _single(region_ds, "drive", 10, 10)
    fac_ids = res.facilities["facility_id"].astype(str).to_numpy()
    own_county = d["county_code"].astype(str).to_numpy()
    nearest = d["nearest_facility"].astype(str).to_numpy()
    across = (
        d["covered"].to_numpy()
        & (np.char.find(nearest.astype(str), "-") > 0)
        & np.array([not n.startswith(c) for n, c in zip(nearest, own_county, strict=True)])
    )
    assert across.sum() > 0, "the synthetic region should have residents served across a border"
    assert set(nearest[across]) <= set(fac_ids)
    # a region cut without its halo loses them
    reg = batch.read_regions(region / "regions.gpkg")
    code = own_county[across][0]
    i = int(np.flatnonzero(reg["admin_code"].to_numpy() == code)[0])
    st = batch.BatchSettings(mode="drive", minutes=10)
    cut, own = batch.cut_region(region_ds, reg, i, st)
    inside = batch.assign_regions(cut.facilities.geometry, reg.iloc[[i]]) == 0
    no_halo = planner.Dataset(
        roads=cut.roads,
        facilities=cut.facilities[inside],
        population=cut.population,
        boundaries=cut.boundaries,
    )
    with_halo = planner.analyze(cut, mode="drive", minutes=10, isochrone_minutes=None)
    without = planner.analyze(no_halo, mode="drive", minutes=10, isochrone_minutes=None)
    assert with_halo.covered_population > without.covered_population
    assert with_halo.covered_population == pytest.approx(
        float(d.loc[own_county == code, "population"][d.loc[own_county == code, "covered"]].sum()),
        rel=1e-12,
    )


def test_resume_skips_unchanged_regions(region, region_ds, tmp_path):
    st = batch.BatchSettings(mode="walk", minutes=15)
    first = batch.run_batch(
        region / "regions.gpkg", data=region_ds, settings=st, out_dir=tmp_path, executor="serial"
    )
    assert not first.regions["skipped"].any()
    again = batch.run_batch(
        region / "regions.gpkg", data=region_ds, settings=st, out_dir=tmp_path, executor="serial"
    )
    assert again.regions["skipped"].all()
    pd.testing.assert_frame_equal(first.summary, again.summary)
    # drop one facility deep inside county 4: only that county is recomputed
    fac = region_ds.facilities
    reg = batch.read_regions(region / "regions.gpkg")
    where = batch.assign_regions(fac.geometry, reg)
    centre = reg.geometry.iloc[3].centroid
    cand = np.flatnonzero(where == 3)
    d2 = (fac.geometry.x.iloc[cand] - centre.x) ** 2 + (fac.geometry.y.iloc[cand] - centre.y) ** 2
    victim = cand[int(np.argmin(d2.to_numpy()))]
    changed = planner.Dataset(
        roads=region_ds.roads,
        facilities=fac.drop(fac.index[victim]),
        population=region_ds.population,
        boundaries=region_ds.boundaries,
    )
    third = batch.run_batch(
        region / "regions.gpkg", data=changed, settings=st, out_dir=tmp_path, executor="serial"
    )
    assert third.regions["skipped"].tolist() == [True, True, True, False]


def test_dask_local_cluster_survives_a_killed_worker(region, region_ds, tmp_path, monkeypatch):
    """A worker dies mid-write: Dask retries it, the outputs equal an undisturbed run, no partial files."""
    st = batch.BatchSettings(mode="drive", minutes=10)
    ref = batch.run_batch(
        region / "regions.gpkg",
        data=region_ds,
        settings=st,
        out_dir=tmp_path / "ref",
        executor="serial",
    )
    marker = tmp_path / "killed"
    monkeypatch.setenv(batch.FAULT_ENV, f"419902:{marker}")
    # worker processes are spawned and re-run __main__ by its path: in a full test run another
    # test (Streamlit's AppTest) has left a temporary script there, which fails outside it
    main = sys.modules["__main__"]
    monkeypatch.delattr(main, "__file__", raising=False)
    monkeypatch.setattr(main, "__spec__", None, raising=False)
    res = batch.run_batch(
        region / "regions.gpkg", data=region_ds, settings=st, out_dir=tmp_path / "dask", workers=2
    )
    assert marker.exists(), "the fault hook should have killed one worker"
    pd.testing.assert_frame_equal(res.summary, ref.summary)
    assert not list((tmp_path / "dask" / "regions").glob(".*"))
    for code in res.regions["admin_code"]:
        a = pd.read_parquet(tmp_path / "dask" / "regions" / code / "demand.parquet")
        b = pd.read_parquet(tmp_path / "ref" / "regions" / code / "demand.parquet")
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))


def _wait_for(path: Path, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        if path.exists() and path.stat().st_size > 0:
            return
        time.sleep(0.2)
    raise TimeoutError(path)


@pytest.mark.slow
def test_cli_against_a_separately_started_scheduler(region, walk_run, tmp_path):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, then `planner batch --scheduler`."""
    # `python -m dask`: the dask command of this interpreter (a `dask` found on PATH may be a
    # version manager's shim that picks another Python, one without planner)
    dask_cli = [sys.executable, "-m", "dask"]
    from dask.distributed import Client

    sfile = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [
                *dask_cli,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(sfile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    address = ""
    try:
        _wait_for(sfile, 60)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        *dask_cli,
                        "worker",
                        "--scheduler-file",
                        str(sfile),
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--dashboard-address",
                        "127.0.0.1:0",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            )
        address = json.loads(sfile.read_text())["address"]
        with Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=60)
        from planner.cli import main

        rc = main(
            [
                "batch",
                "--regions",
                str(region / "regions.gpkg"),
                "--data",
                str(region),
                "--mode",
                "walk",
                "--scheduler",
                address,
                "--out",
                str(tmp_path / "out"),
                "--quiet",
            ]
        )
        assert rc == 0
        ref = walk_run[0]  # the same settings (the CLI's defaults), run serially
        got = pd.read_csv(tmp_path / "out" / "summary.csv", dtype={"admin_code": str})
        pd.testing.assert_frame_equal(
            got, pd.read_csv(ref.written["summary"], dtype={"admin_code": str})
        )
    finally:
        if address:
            # the scheduler stops its workers at once (a SIGTERM'd worker takes about 8 s)
            try:
                with Client(address, timeout="10s") as c:
                    c.shutdown()
            except OSError:
                pass  # the processes are terminated below anyway
        for p in procs[::-1]:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_halo_covers_the_fastest_trip():
    walk = batch.BatchSettings(mode="walk", minutes=15).travel_mode()
    assert batch.halo_m(walk, 15) == pytest.approx(4.8 / 3.6 * 900 + 2 * walk.access_max_m)
    drive = batch.BatchSettings(mode="drive").travel_mode()
    roads = gpd.GeoDataFrame(
        {"highway": ["residential", "primary"], "maxspeed_kmh": [np.nan, 120.0]},
        geometry=gpd.GeoSeries.from_wkt(["LINESTRING(0 0,1 1)"] * 2),
        crs=4326,
    )
    v = batch.fastest_speed_kmh(drive, roads)
    assert v >= 55.0
    if drive.use_maxspeed:
        assert v == pytest.approx(120 * drive.maxspeed_factor)


def test_regions_file_errors(tmp_path, region):
    reg = gpd.read_file(region / "regions.gpkg")
    bad = reg.rename(columns={"admin_code": "code"})
    with pytest.raises(InputFileError, match="admin_code"):
        batch.read_regions(bad)
    dup = pd.concat([reg, reg.iloc[[0]]])
    with pytest.raises(InputFileError, match="repeats"):
        batch.read_regions(gpd.GeoDataFrame(dup, crs=reg.crs))
    with pytest.raises(InputFileError, match="not found"):
        batch.read_regions(tmp_path / "nope.gpkg")
    with pytest.raises(InputError, match="horizon"):
        batch.BatchSettings(minutes=15, horizon_minutes=5)


def _brute_allocation(table: np.ndarray, budget: int) -> float:
    """Best split of the budget by enumeration (the reference for the dynamic programme)."""
    import itertools

    n = table.shape[0]
    best = 0.0
    for split in itertools.product(range(budget + 1), repeat=n):
        if sum(split) <= budget:
            best = max(best, sum(table[i, p] for i, p in enumerate(split)))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_allocate_sites_matches_enumeration_and_bounds_it(seed):
    rng = np.random.default_rng(seed)
    n, k, budget = 3, 4, 6
    curves, exact = {}, np.zeros((n, budget + 1))
    for i in range(n):
        gains = np.sort(rng.uniform(0, 1000, budget))[::-1]  # diminishing returns, like coverage
        opt = np.cumsum(gains)
        bnd = opt * (1 + rng.uniform(0, 0.05, budget))
        curves[f"r{i}"] = pd.DataFrame(
            {
                "sites": np.arange(1, k + 1),
                "objective": opt[:k],
                "bound": bnd[:k],
                "uncovered_population": opt[-1] * 1.5,
            }
        )
        exact[i, 1:] = opt
    take, value, ub = batch.allocate_sites(curves, budget)
    capped = np.zeros((n, budget + 1))
    for i, c in enumerate(curves):
        obj = curves[c]["objective"].to_numpy()
        capped[i, 1:] = [obj[min(p, k) - 1] for p in range(1, budget + 1)]
    assert value == pytest.approx(_brute_allocation(capped, budget))
    assert sum(take.values()) <= budget
    assert value == pytest.approx(sum(capped[i, p] for i, p in enumerate(take.values())))
    # the bound holds against the true optimum of any split, including splits beyond the curves
    assert ub >= _brute_allocation(exact, budget) - 1e-9
    assert ub >= value


def test_siting_per_region_and_regional_budget(region, region_ds, tmp_path):
    from planner import siting

    batch.run_batch(
        region / "regions.gpkg",
        data=region_ds,
        out_dir=tmp_path / "per",
        executor="serial",
        settings=batch.BatchSettings(mode="walk", new_sites=2),
    )
    table = pd.read_csv(tmp_path / "per" / "siting.csv", dtype={"admin_code": str})
    assert (table["new_sites"] == 2).all()
    # a region's figure is what propose_sites finds on that region's own analysis
    reg = batch.read_regions(region / "regions.gpkg")
    st = batch.BatchSettings(mode="walk")
    cut, own = batch.cut_region(region_ds, reg, 1, st)
    res = planner.analyze(cut, mode="walk", isochrone_minutes=None)
    run = siting.propose_sites(res, new_sites=2)
    got = table.set_index("admin_code").loc[reg["admin_code"].iloc[1], "newly_covered_population"]
    assert got == pytest.approx(run.solution.objective, rel=1e-9)
    props = pd.read_csv(tmp_path / "per" / "proposals.csv", dtype={"admin_code": str})
    assert len(props) == 8 and props.groupby("admin_code").size().eq(2).all()
    budget = batch.run_batch(
        region / "regions.gpkg",
        data=region_ds,
        out_dir=tmp_path / "budget",
        executor="serial",
        settings=batch.BatchSettings(mode="walk", regional_sites=5),
    )
    summ = json.loads((tmp_path / "budget" / "siting.json").read_text())
    assert summ["new_sites"] == 5
    assert summ["bound"] >= summ["newly_covered_population"] > 0
    # five sites split across regions cover at least as much as five in the single best region
    best_single = max(
        pd.read_csv(tmp_path / "budget" / "regions" / c / "siting_curve.csv")
        .query("sites == 5")["objective"]
        .iloc[0]
        for c in budget.regions["admin_code"]
    )
    assert summ["newly_covered_population"] >= best_single - 1e-6
    assert summ["gap"] <= 0.01


def test_unit_spanning_regions_is_summed_over_them(region, region_ds, tmp_path):
    """A prefecture covering all four counties gets one row equal to the single analysis."""
    b = region_ds.boundaries
    city = gpd.GeoDataFrame(
        {
            "admin_code": ["419900"],
            "admin_name": ["示范市"],
            "level": ["city"],
            "kind": ["city"],
            "parent_code": [""],
        },
        geometry=[b[b["level"] == "county"].union_all()],
        crs=b.crs,
    )
    ds = planner.Dataset(
        roads=region_ds.roads,
        facilities=region_ds.facilities,
        population=region_ds.population,
        boundaries=gpd.GeoDataFrame(pd.concat([city, b], ignore_index=True), crs=b.crs),
    )
    res = batch.run_batch(
        region / "regions.gpkg",
        data=ds,
        out_dir=tmp_path,
        executor="serial",
        settings=batch.BatchSettings(mode="walk"),
    )
    _, d = _single(ds, "walk", 15, 15)
    want = (
        coverage.admin_summary(d, ds.boundaries)
        .set_index(["level", "admin_code"])
        .loc[("city", "419900")]
    )
    got = res.admin_summary.set_index(["level", "admin_code"]).loc[("city", "419900")]
    assert got["region_code"].count(",") == 3
    assert got["population"] == pytest.approx(want["population"], rel=1e-12)
    assert got["covered_population"] == pytest.approx(want["covered_population"], rel=1e-12)
    assert got["mean_minutes"] == pytest.approx(want["mean_minutes"], rel=1e-9)


def test_data_root_folders_give_the_same_answer(region, region_ds, walk_run, tmp_path):
    st = batch.BatchSettings(mode="walk")
    assert st == batch.BatchSettings()  # the settings of the module's walk_run
    folders = batch.split_to_folders(
        region / "regions.gpkg", region_ds, tmp_path / "root", settings=st
    )
    assert [f.name for f in folders] == list(
        batch.read_regions(region / "regions.gpkg")["admin_code"]
    )
    a = walk_run[0]
    b = batch.run_batch(
        region / "regions.gpkg",
        data_root=tmp_path / "root",
        settings=st,
        out_dir=tmp_path / "b",
        executor="serial",
    )
    cols = ["admin_code", "level", "population", "covered_population"]
    pd.testing.assert_frame_equal(a.summary[cols], b.summary[cols], check_exact=False, rtol=1e-9)
    with pytest.raises(InputFileError, match="no data folder"):
        batch.run_batch(
            region / "regions.gpkg",
            data_root=tmp_path / "missing",
            settings=st,
            out_dir=tmp_path / "c",
            executor="serial",
        )


def test_compliance_checks_per_region_equal_one_report(region, region_ds, tmp_path):
    """The merged standards checks equal the single analysis' report for every unit inside a region."""
    from planner import compliance

    res = batch.run_batch(
        region / "regions.gpkg",
        data=region_ds,
        out_dir=tmp_path,
        executor="serial",
        settings=batch.BatchSettings(mode="walk", compliance=True),
    )
    got = pd.read_csv(res.written["compliance"], dtype={"admin_code": str, "check": str})
    single = planner.analyze(region_ds, mode="walk", isochrone_minutes=None)
    want = compliance.compliance_report(single).checks
    want = want[want["admin_code"].astype(str).isin(set(got["admin_code"]))]
    key = ["check", "admin_code"]
    g = got[got["admin_code"].notna() & (got["admin_code"] != "")].set_index(key).sort_index()
    w = want[want["admin_code"].astype(str) != ""].assign(
        admin_code=lambda d: d["admin_code"].astype(str), check=lambda d: d["check"].astype(str)
    )
    w = w.set_index(key).sort_index()
    assert len(g) > 100
    assert g.index.equals(w.index)
    assert (g["status"] == w["status"]).all()
    np.testing.assert_allclose(
        g["value"].astype(float), w["value"].astype(float), rtol=1e-9, equal_nan=True
    )


def test_batch_progress_follows_the_one_protocol(tmp_path):
    """run_batch reports progress(stage, fraction) like every long function of planner, and each
    finished region through on_region."""
    from planner import synthetic

    region = synthetic.make_region(tmp_path / "region", cols=2, rows=1)
    calls: list[tuple[str, float]] = []
    regions: list[tuple[int, int, str]] = []
    batch.run_batch(
        region / "regions.gpkg",
        data=region,
        out_dir=tmp_path / "out",
        executor="serial",
        settings=batch.BatchSettings(minutes=5.0),
        progress=lambda stage, f: calls.append((stage, f)),
        on_region=lambda done, total, o: regions.append((done, total, o.admin_code)),
    )
    assert [c[0] for c in calls] == ["regions", "regions"]
    assert [c[1] for c in calls] == [0.5, 1.0]
    assert [(d, t) for d, t, _ in regions] == [(1, 2), (2, 2)]
