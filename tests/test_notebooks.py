"""Execute the notebooks headless (nbclient) and check the key numbers they save.

Each notebook asserts its own invariants while it runs (a failing assert fails the test with the
cell and its traceback) and writes ``key_numbers.json`` into its output folder, which the tests
redirect to a temporary folder with ``PLANNER_NOTEBOOK_OUT``. The notebooks in git carry no
outputs; ``test_notebooks_are_stored_without_outputs`` keeps it that way.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHARED_DATA = ROOT.parent / "shared" / "data"
NAMES = ["01_coverage", "02_siting_scenarios", "03_real_data", "04_compliance_report", "05_lianchi"]

pytestmark = pytest.mark.slow


def run_notebook(name: str, out: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    """Execute ``notebooks/<name>.ipynb`` in a fresh kernel; return its key_numbers.json."""
    monkeypatch.setenv("PLANNER_NOTEBOOK_OUT", str(out))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError naming the cell when an assert in it fails
    key = out / name / "key_numbers.json"
    assert key.is_file(), f"{name} did not write {key}"
    return json.loads(key.read_text(encoding="utf-8"))


def test_notebooks_are_stored_without_outputs():
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, name
        assert all(c.outputs == [] and c.execution_count is None for c in code), (
            f"{name} has outputs: strip them"
        )
        src = "\n".join(c.source for c in code)
        # reproducibility: a seed, the version printed, a named output folder
        assert "SEED = " in src and "planner.__version__" in src and f'NAME = "{name}"' in src


def test_01_coverage(tmp_path, monkeypatch):
    key = run_notebook("01_coverage", tmp_path, monkeypatch)
    share = key["covered_share"]
    assert share["walk"] == pytest.approx(386_549.87 / 476_457.49, abs=1e-4)
    assert share["walk"] < share["ebike"] <= share["drive"] <= 1.0
    assert round(key["total_population"]) == 476_457
    assert (
        key["township_share_walk"]["板桥乡"] == 1.0 and key["township_share_walk"]["东城街道"] < 0.6
    )
    for f in (
        "map.html",
        "map.png",
        "coverage_curve.png",
        "coverage_by_township.csv",
        "settings.json",
    ):
        assert f in key["outputs"]


def test_02_siting_scenarios(tmp_path, monkeypatch):
    key = run_notebook("02_siting_scenarios", tmp_path, monkeypatch)
    for mode, curve in key["curve"].items():
        assert len(curve) == 20
        assert (np.diff(curve) >= 0).all(), (
            f"{mode}: coverage fell as p grew"
        )  # rounding keeps order
        assert curve[0] >= key["covered_before"][mode] - 1e-2  # curve saved to 3 decimals
    assert key["curve"]["walk"][-1] > key["covered_before"]["walk"] + 0.1 * 476_457
    assert 0 <= key["max_gap"] < 0.05
    cap = key["settings"]["capacity"]
    ps = key["settings"]["capacitated_p"]
    assert all(c <= p * cap + 1e-6 for c, p in zip(key["capacitated_new"], ps, strict=True))
    if key["multi_tier"]:
        tiers = {r["tier"]: r for r in key["multi_tier"]}
        assert (
            tiers["community_center"]["new_sites"] <= 2
            and tiers["community_station"]["new_sites"] <= 8
        )
    sweep = pd.read_csv(tmp_path / "02_siting_scenarios" / "sweep.csv")
    assert (
        set(sweep["mode"]) == {"walk", "ebike", "drive"}
        and (sweep["covered"] <= sweep["upper_bound"] + 1e-6).all()
    )


def test_03_real_data(tmp_path, monkeypatch):
    if not (SHARED_DATA / "changsha" / "roads.shp").exists():
        pytest.skip(f"real data not available: {SHARED_DATA}")
    key = run_notebook("03_real_data", tmp_path, monkeypatch, PLANNER_SHARED_DATA=str(SHARED_DATA))
    assert key["skipped"] is False
    assert key["roads"] == 2257 and key["oneway"] == {
        "0": 1477,
        "1": 780,
    }  # direction 1 and 2: along the line
    assert key["facilities"] == 59
    assert key["tiers"] == {
        "township_center": 36,
        "hospital": 12,
        "village_clinic": 6,
        "other": 3,
        "community_center": 2,
    }
    assert key["boundaries"] == 17
    assert 400 < key["gcj02_shift_m"][0] <= key["gcj02_shift_m"][1] < 700
    assert key["population"] == pytest.approx(1_500_000, rel=1e-6)
    assert key["sites_used"].startswith("STAND-IN")
    assert 0 < key["covered_share"] < 1
    assert key["report_rule_status"]["2"] == "not assessed"  # no boundaries for Changsha
    assert (tmp_path / "03_real_data" / "compliance" / "compliance.html").is_file()


def test_03_real_data_skips_cleanly_without_the_files(tmp_path, monkeypatch):
    key = run_notebook(
        "03_real_data", tmp_path, monkeypatch, PLANNER_SHARED_DATA=str(tmp_path / "no-such-folder")
    )
    assert key["skipped"] is True and len(key["missing"]) == 3
    assert not (tmp_path / "03_real_data" / "SYNTHETIC_population.tif").exists()


def test_04_compliance_report(tmp_path, monkeypatch):
    key = run_notebook("04_compliance_report", tmp_path, monkeypatch)
    # an independent count here as well, straight from the files
    b = gpd.read_file(ROOT / "data" / "boundaries" / "demo_admin.geojson")
    f = pd.read_csv(ROOT / "data" / "facilities" / "demo_facilities.csv")
    f = gpd.GeoDataFrame(f, geometry=gpd.points_from_xy(f["lon"], f["lat"]), crs=4326)
    subs = b[(b["level"] == "township") & (b["kind"] == "subdistrict")]
    with_center = set(
        gpd.sjoin(f[f["type"] == "社区卫生服务中心"], subs, predicate="within")["admin_name"]
    )
    vils = b[(b["level"] == "village") & (b["kind"] == "village")]
    named = set(f.loc[f["type"] == "村卫生室", "name"].str.removesuffix("卫生室"))
    assert (
        key["subdistricts_without_center"]
        == sorted(set(subs["admin_name"]) - with_center)
        == ["东城街道"]
    )
    assert key["villages_without_own_clinic"] == len(set(vils["admin_name"]) - named) == 28
    assert key["villages_without_clinic_inside"] == 40
    before, after = key["failed_before"], key["failed_after"]
    assert before["2"] == 2 and before["5"] == 28 - key["villages_sharing"] and before["4"] == 0
    assert (
        after["5"] == 0 and after["2"] == 1
    )  # 东城街道 has its center; 城关街道 (>100k) still needs a second
    assert key["covered_share_after"] > key["covered_share_before"]
    assert key["proposals"]["community_center"] == 1
    out = tmp_path / "04_compliance_report"
    assert {p.name for p in (out / "before").iterdir()} == {
        "compliance.xlsx",
        "compliance.html",
        "compliance.md",
    }


def test_05_lianchi(tmp_path, monkeypatch):
    if not (SHARED_DATA / "baoding" / "lianchi_roads_osm.gpkg").exists():
        pytest.skip(f"real data not available: {SHARED_DATA}")
    key = run_notebook("05_lianchi", tmp_path, monkeypatch, PLANNER_SHARED_DATA=str(SHARED_DATA))
    assert key["skipped"] is False and key["facilities_invented"] is True
    assert key["roads"] == 2985 and key["oneway"] == {"0": 2074, "1": 911}
    assert key["population"] == pytest.approx(675_123, rel=1e-9) and key["halo_m"] == 26_000
    assert key["gcj02_centroid_m"][0] == pytest.approx(502, abs=5) and key["gcj02_centroid_m"][
        1
    ] == pytest.approx(67, abs=5)
    share = key["covered_share"]
    assert 0 < share["walk"] < share["ebike"] <= share["drive"] <= 1.0
    assert len(key["proposals"]) == 5 and key["walk_share_after"] > share["walk"]
    assert (tmp_path / "05_lianchi" / "lianchi_data" / "sources.json").is_file()
    assert "INVENTED" in (tmp_path / "05_lianchi" / "INVENTED_register.csv").read_text(
        encoding="utf-8"
    )


def test_05_lianchi_skips_cleanly_without_the_files(tmp_path, monkeypatch):
    key = run_notebook(
        "05_lianchi", tmp_path, monkeypatch, PLANNER_SHARED_DATA=str(tmp_path / "no-such-folder")
    )
    assert key["skipped"] is True and len(key["missing"]) == 4


def test_notebook_outputs_default_to_the_gitignored_out_folder():
    assert "out/" in (ROOT / ".gitignore").read_text().splitlines()
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        assert 'ROOT / "out" / "notebooks"' in nb.cells[1].source
