"""planner fetch --groups: WorldPop's age/sex layers summed into population groups, clipped and
written so that ``planner coverage --data`` reports them (all offline on small local rasters)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

import planner
from planner import fetch as F
from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"
TOTAL = DEMO / "population" / "demo_population.tif"


def _layer(path: Path, share: float, *, like: Path = TOTAL, shift: int = 0) -> Path:
    """A raster on the grid of ``like`` holding ``share`` of its people (nodata kept)."""
    with rasterio.open(like) as ds:
        prof, data = ds.profile, ds.read(1, masked=True).astype("float32")
        transform = ds.transform * rasterio.Affine.translation(shift, 0)
    with rasterio.open(
        path, "w", **(prof | {"dtype": "float32", "nodata": -1.0, "transform": transform})
    ) as out:
        out.write(np.ma.filled(data * share, -1.0), 1)
    return path


def test_age_sex_urls_are_both_sexes_of_the_groups_bands():
    urls = F.age_sex_urls("65+", year=2019, iso3="chn")
    names = [u.rsplit("/", 1)[-1] for u in urls]
    assert names == [f"chn_{s}_{a}_2019.tif" for s in ("f", "m") for a in (65, 70, 75, 80)]
    assert all(
        u.startswith("https://data.worldpop.org/GIS/AgeSex_structures/Global_2000_2020/2019/CHN/")
        for u in urls
    )
    assert [u.rsplit("/", 1)[-1] for u in F.age_sex_urls("under5")] == [
        "chn_f_0_2020.tif",
        "chn_f_1_2020.tif",
        "chn_m_0_2020.tif",
        "chn_m_1_2020.tif",
    ]
    with pytest.raises(planner.InputError, match="unknown population group '60'.*65\\+"):
        F.age_sex_urls("60")
    with pytest.raises(planner.InputError, match="2000-2020"):
        F.age_sex_urls("65+", year=2023)


def test_fetch_population_groups_downloads_each_layer_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_download(url, dest, **kw):
        calls.append((url, Path(dest)))
        return Path(dest)

    monkeypatch.setattr(F, "download", fake_download)
    files, info = F.fetch_population_groups(["under5"], year=2020)
    assert [u for u, _ in calls] == F.age_sex_urls("under5", year=2020)
    assert all(d.parent == F.cache_dir() / "worldpop" / "agesex" for _, d in calls)
    assert [p.name for p in files["under5"]] == [u.rsplit("/", 1)[-1] for u, _ in calls]
    assert info["year"] == 2020 and "WorldPop" in info["source"]


def test_sum_rasters_adds_the_bands_cell_by_cell(tmp_path):
    a = _layer(tmp_path / "a.tif", 0.1)
    b = _layer(tmp_path / "b.tif", 0.05)
    out = F.sum_rasters([a, b], tmp_path / "sum.tif")
    with rasterio.open(TOTAL) as ds:
        want = np.ma.filled(ds.read(1, masked=True).astype(float), 0.0)
    want = np.where(want > 0, want, 0.0) * 0.15
    with rasterio.open(out) as ds:
        got = np.ma.filled(ds.read(1, masked=True).astype(float), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    off = _layer(tmp_path / "off.tif", 0.1, shift=1)
    with pytest.raises(planner.InputError, match="off.tif: not on the grid of"):
        F.sum_rasters([a, off], tmp_path / "bad.tif")


def _assemble_with_groups(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    ds = planner.load_demo()
    county = ds.boundaries[ds.boundaries["level"] == "county"]
    old = [_layer(tmp_path / f"old{i}.tif", s) for i, s in enumerate((0.08, 0.05))]
    young = [_layer(tmp_path / "young.tif", 0.06)]
    folder = tmp_path / "demo"
    facilities = planner.read_facilities(DEMO / "facilities" / "demo_facilities.csv")
    written = F.assemble(
        folder,
        boundary=ds.boundaries,
        roads=DEMO / "roads" / "demo_county.osm",
        facilities=facilities,
        population=TOTAL,
        population_groups={"65+": old, "under5": young},
        area=F.halo_area(county, 2000),
        sources={"population_groups": {"source": "WorldPop age/sex", "year": 2020}},
    )
    return folder, written


def test_assemble_writes_clipped_groups_that_read_population_finds(tmp_path):
    folder, written = _assemble_with_groups(tmp_path)
    assert written["group:65+"] == folder / "population" / "groups" / "pop_65plus.tif"
    assert written["group:under5"] == folder / "population" / "groups" / "pop_under5.tif"
    with rasterio.open(written["population"]) as t, rasterio.open(written["group:65+"]) as g:
        assert t.transform == g.transform and t.shape == g.shape  # clipped alike
    pop = planner.read_population(written["population"])
    np.testing.assert_allclose(pop["pop_65plus"], 0.13 * pop["population"], rtol=1e-5)
    np.testing.assert_allclose(pop["pop_under5"], 0.06 * pop["population"], rtol=1e-5)
    src = json.loads(written["sources"].read_text(encoding="utf-8"))
    assert src["population_groups"]["year"] == 2020
    assert src["written"]["group:65+"] == "population/groups/pop_65plus.tif"


def test_coverage_on_the_folder_reports_the_groups(tmp_path, capsys):
    folder, _ = _assemble_with_groups(tmp_path)
    out = tmp_path / "out"
    assert main(["coverage", "--data", str(folder), "--out", str(out), "--raster-cell", "400"]) == 0
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    county = summary[summary["level"] == "county"].iloc[0]
    assert county["population_65plus"] == pytest.approx(0.13 * county["population"], rel=1e-5)
    assert county["population_under5"] == pytest.approx(0.06 * county["population"], rel=1e-5)
    assert 0 <= county["covered_share_65plus"] <= 1
    assert "65+" in capsys.readouterr().out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: connections are refused


def test_fetch_groups_offline_says_what_failed_and_how_to_go_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLANNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(
        F,
        "WORLDPOP_AGE_SEX_URL",
        f"http://127.0.0.1:{_closed_port()}/{{year}}/{{ISO}}/{{iso}}_{{sex}}_{{age}}_{{year}}.tif",
    )
    args = [
        "fetch",
        "--boundary",
        str(DEMO / "boundaries" / "demo_admin.geojson"),
        "--roads",
        str(DEMO / "roads" / "demo_county.osm"),
        "--facilities",
        str(DEMO / "facilities" / "demo_facilities.csv"),
        "--population",
        str(TOTAL),
        "--groups",
        "65+",
        "--quiet",
        "--out",
        str(tmp_path / "f"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "could not download population_groups" in err and "cannot reach 127.0.0.1" in err
    assert "no --groups" in err and "Traceback" not in err
    # the rest is written and runs
    assert (tmp_path / "f" / "population" / "population.tif").is_file()
    assert not (tmp_path / "f" / "population" / "groups").exists()
    # a census table has no grid for the layers: a clear error before any download
    with pytest.raises(planner.InputError, match="groups= needs a population raster"):
        F._fetch_groups(F._Parts(), ["65+"], year=2020, progress=False)


@pytest.mark.network
@pytest.mark.skipif(not os.environ.get("PLANNER_ONLINE_TESTS"), reason="set PLANNER_ONLINE_TESTS=1")
def test_fetch_groups_online(tmp_path):  # pragma: no cover - needs the internet
    files, info = F.fetch_population_groups(["under5"], year=2020, progress=False)
    assert len(files["under5"]) == 4 and info["year"] == 2020
