"""planner fetch --groups: WorldPop's age/sex layers summed into population groups, clipped and
written so that ``planner coverage --data`` reports them (all offline on small local rasters)."""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import warnings
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

    monkeypatch.setattr(F.downloads, "download", fake_download)
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
        F.parts,
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
    assert "--no-groups" in err and "Traceback" not in err
    # the rest is written and runs
    assert (tmp_path / "f" / "population" / "population.tif").is_file()
    assert not (tmp_path / "f" / "population" / "groups").exists()
    # a census table has no grid for the layers: a clear error before any download
    with pytest.raises(planner.InputError, match="groups= needs a population raster"):
        F.county._fetch_groups(F.county._Parts(), ["65+"], year=2020, progress=False)


# --- the default groups (65+ and under5 with WorldPop's 100 m download) ------------------------

_BANDS = {"65+": (65, 70, 75, 80), "under5": (0, 1)}
_SHARE = 0.01  # every age/sex layer holds 1 % of the total: 65+ is 8 %, under5 4 %


class _LayerHandler(http.server.BaseHTTPRequestHandler):
    root: Path = Path()
    log: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).log.append(self.path.rsplit("/", 1)[-1])
        f = type(self).root / self.path.rsplit("/", 1)[-1]
        if not f.is_file():
            self.send_error(404)
            return
        data = f.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def layers(tmp_path, monkeypatch):
    """A local WorldPop: the total raster (fetch_population) and every age/sex layer served over
    HTTP from ``root``; the real download() fetches them into a fresh cache."""
    root = tmp_path / "served"
    root.mkdir()
    for bands in _BANDS.values():
        for sex in ("f", "m"):
            for age in bands:
                _layer(root / f"chn_{sex}_{age}_2020.tif", _SHARE)
    _LayerHandler.root, _LayerHandler.log = root, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LayerHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("PLANNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(
        F.parts,
        "WORLDPOP_AGE_SEX_URL",
        f"http://127.0.0.1:{httpd.server_address[1]}/{{year}}/{{ISO}}/{{iso}}_{{sex}}_{{age}}_{{year}}.tif",
    )
    total_calls = []

    def fake_population(area, **kw):
        total_calls.append(kw)
        return TOTAL, {"source": "WorldPop (test copy)", "year": 2020, "resolution": "100m"}

    monkeypatch.setattr(F.county, "fetch_population", fake_population)
    yield root, total_calls
    httpd.shutdown()
    httpd.server_close()


def _own_files(**kw) -> dict:
    return {
        "boundary": DEMO / "boundaries" / "demo_admin.geojson",
        "roads": DEMO / "roads" / "demo_county.osm",
        "facilities": DEMO / "facilities" / "demo_facilities.csv",
        "progress": False,
    } | kw


def _cli(out: Path, *extra: str) -> list[str]:
    return [
        "fetch",
        "--boundary",
        str(DEMO / "boundaries" / "demo_admin.geojson"),
        "--roads",
        str(DEMO / "roads" / "demo_county.osm"),
        "--facilities",
        str(DEMO / "facilities" / "demo_facilities.csv"),
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]


def test_fetch_adds_65plus_and_under5_by_default_with_the_worldpop_download(tmp_path, layers):
    root, total_calls = layers
    with warnings.catch_warnings():
        warnings.simplefilter("error", F.FetchWarning)  # nothing is missing: no warning
        written = F.fetch(tmp_path / "f", **_own_files())
    assert len(total_calls) == 1 and F.DEFAULT_GROUPS == ("65+", "under5")
    assert {"group:65+", "group:under5"} <= set(written)
    # every layer of both groups fetched once, each both sexes
    assert sorted(_LayerHandler.log) == sorted(p.name for p in root.iterdir())
    pop = planner.read_population(written["population"])
    np.testing.assert_allclose(pop["pop_65plus"], 8 * _SHARE * pop["population"], rtol=1e-5)
    np.testing.assert_allclose(pop["pop_under5"], 4 * _SHARE * pop["population"], rtol=1e-5)
    src = json.loads(written["sources"].read_text(encoding="utf-8"))
    assert set(src["population_groups"]["groups"]) == {"65+", "under5"}
    assert "missing" not in src["population_groups"]
    readme = written["readme"].read_text(encoding="utf-8")
    assert "population group 65+: population/groups/pop_65plus.tif" in readme


def test_no_groups_downloads_no_layer(tmp_path, layers, capsys):
    written = F.fetch(tmp_path / "lib", **_own_files(groups=()))
    assert not any(k.startswith("group:") for k in written) and _LayerHandler.log == []
    for flags in (["--no-groups"], ["--groups", "none"]):
        out = tmp_path / flags[-1].strip("-")
        assert main(_cli(out, *flags)) == 0
        assert (out / "population" / "population.tif").is_file()
        assert not (out / "population" / "groups").exists()
    assert _LayerHandler.log == []
    assert "population groups:" not in capsys.readouterr().out
    assert main(_cli(tmp_path / "bad", "--groups", "none", "65+")) != 0
    err = capsys.readouterr().err
    assert "'none' cannot go with groups" in err and "Traceback" not in err


def test_a_given_population_or_the_1km_download_gets_no_default_groups(tmp_path, layers):
    written = F.fetch(tmp_path / "given", **_own_files(population=TOTAL))
    assert "population" in written and not any(k.startswith("group:") for k in written)
    written = F.fetch(tmp_path / "1km", **_own_files(resolution="1km"))
    assert not any(k.startswith("group:") for k in written)
    assert _LayerHandler.log == []
    # asked for by name, a given WorldPop raster gets them
    written = F.fetch(tmp_path / "named", **_own_files(population=TOTAL, groups=["under5"]))
    assert set(k for k in written if k.startswith("group:")) == {"group:under5"}


def test_a_default_group_that_cannot_be_downloaded_is_named_and_the_rest_written(
    tmp_path, layers, capsys
):
    root, _ = layers
    (root / "chn_m_1_2020.tif").unlink()  # one under5 layer is not on the server (HTTP 404)
    with pytest.warns(F.FetchWarning, match=r"population group under5 not downloaded.*404") as w:
        written = F.fetch(tmp_path / "lib", **_own_files())
    msg = str(w[0].message)
    assert "the total population, 65+" in msg and "groups=()" in msg and "resume" in msg
    assert "group:65+" in written and "group:under5" not in written
    assert (tmp_path / "lib" / "population" / "population.tif").is_file()
    src = json.loads(written["sources"].read_text(encoding="utf-8"))
    assert list(src["population_groups"]["missing"]) == ["under5"]
    assert "population group under5: MISSING" in written["readme"].read_text(encoding="utf-8")
    # the CLI: the run succeeds and says which group is missing and how to go on, in flags
    assert main(_cli(tmp_path / "cli")) == 0
    cap = capsys.readouterr()
    assert "population groups: 65+" in cap.out
    assert "WARNING: population group under5 not downloaded" in cap.err
    assert "--no-groups" in cap.err and "groups=()" not in cap.err and "Traceback" not in cap.err


def test_the_groups_resume_from_the_cache(tmp_path, layers):
    """A run that lost a layer continues on the next run: only what is not cached is fetched."""
    root, _ = layers
    lost = root / "chn_f_1_2020.tif"
    kept = lost.read_bytes()
    lost.unlink()
    with pytest.warns(F.FetchWarning, match="under5"):
        F.fetch(tmp_path / "a", **_own_files())
    first = list(_LayerHandler.log)
    assert "chn_f_1_2020.tif" in first and "chn_m_0_2020.tif" not in first  # under5 stopped there
    lost.write_bytes(kept)
    _LayerHandler.log = []
    written = F.fetch(tmp_path / "b", **_own_files())
    assert {"group:65+", "group:under5"} <= set(written)
    # the second run asked only for the layers the first did not get
    assert sorted(_LayerHandler.log) == ["chn_f_1_2020.tif", "chn_m_0_2020.tif", "chn_m_1_2020.tif"]


def test_fetch_groups_help_names_the_default_and_the_way_out(capsys):
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "65+ under5" in text and "--no-groups" in text and "'none' for none" in text


@pytest.mark.network
@pytest.mark.skipif(not os.environ.get("PLANNER_ONLINE_TESTS"), reason="set PLANNER_ONLINE_TESTS=1")
def test_fetch_groups_online(tmp_path):  # pragma: no cover - needs the internet
    files, info = F.fetch_population_groups(["under5"], year=2020, progress=False)
    assert len(files["under5"]) == 4 and info["year"] == 2020
