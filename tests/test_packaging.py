"""The wheel carries everything the package needs: a non-editable install runs the demo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    """Packages are listed by hand (the demo-data mapping needs it): a new one must not be forgotten."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(conf["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "planner").rglob("__init__.py")
    }
    assert found <= listed, (
        f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
    )
    assert conf["tool"]["setuptools"]["package-dir"]["planner.demo_data"] == "data"


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_readme_main_job(tmp_path):
    """Build the wheel, install it (no editable link) in a new virtual environment, run the demo."""
    dist = tmp_path / "dist"
    source = _tracked_copy(tmp_path / "source")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if r.returncode != 0 and (
        "No matching distribution" in r.stderr or "Could not fetch" in r.stderr
    ):
        pytest.skip(f"cannot reach the package registry to build the wheel: {r.stderr[-300:]}")
    assert r.returncode == 0, r.stderr[-2000:]
    wheels = list(dist.glob("planner-*.whl"))
    assert len(wheels) == 1
    import zipfile

    names = zipfile.ZipFile(wheels[0]).namelist()
    for f in (
        "planner/demo_data/roads/demo_county.osm",
        "planner/demo_data/population/demo_population.tif",
        "planner/demo_data/facilities/demo_facilities.csv",
        "planner/demo_data/boundaries/demo_admin.geojson",
        "planner/static/leaflet/leaflet.js",
        "planner/_kernel_signatures.json",
        "planner/_kernel_cache/BUILD.json",  # the kernels the build compiled
    ):
        assert f in names, f"{f} missing from the wheel"
    venv = tmp_path / "venv"
    # the test environment's dependencies are reused (no download); planner itself comes only
    # from the wheel: the venv's own site-packages come before the base's editable link
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300
    )
    py = venv / "bin" / "python"
    subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            str(wheels[0]),
        ],
        check=True,
        timeout=600,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    where = subprocess.run(
        [
            str(py),
            "-c",
            "import planner, planner.pipeline as p; print(planner.__file__); print(p.DEMO_DIR)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    file_, demo = where.stdout.split()
    assert str(venv) in file_, f"planner imported from {file_}, not from the wheel"
    assert str(venv) in demo and demo.endswith("demo_data")
    # the README's first command, counting every compile of a planner kernel: the kernels the
    # build compiled must be used (user caches empty: a fresh XDG cache, no NUMBA_CACHE_DIR)
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("PLANNER_SHIPPED_KERNELS", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    run = subprocess.run(
        [
            str(py),
            "-c",
            _COUNTING_CLI,
            "coverage",
            "--raster-cell",
            "200",
            "--out",
            "out/demo",
            "--no-map",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "SYNTHETIC" in run.stdout
    assert (tmp_path / "out" / "demo" / "summary.csv").exists()
    line = next(x for x in run.stdout.splitlines() if x.startswith("COMPILED "))
    compiled = json.loads(line[len("COMPILED ") :])
    assert compiled == [], f"compiled although the wheel carries them: {compiled}"
    _check_changed_source_is_refused(py, Path(file_).parent, env, tmp_path)


def _tracked_copy(dest: Path) -> Path:
    """The files git tracks, as they are in the work tree, copied to ``dest`` (the wheel is built
    from there, as from a clean checkout: no stale ``build/`` output or untracked file gets in,
    and the build does not rewrite the work tree's ``planner/_kernel_cache`` while other tests
    run). Without git (an unpacked sdist), the project folder itself."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return ROOT
    for name in filter(None, listed.split("\0")):
        src, dst = ROOT / name, dest / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree, not yet in git
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)
    return dest


# runs planner's CLI and prints every planner function numba compiled on the way
_COUNTING_CLI = textwrap.dedent("""
    import json, sys
    import numba.core.event as ev

    compiled = []

    class _Count(ev.Listener):
        def on_start(self, event):
            f = event.data["dispatcher"].py_func
            compiled.append(f"{f.__module__}.{f.__qualname__}")

        def on_end(self, event):
            pass

    ev.register("numba:compile", _Count())
    from planner.cli import main

    code = main(sys.argv[1:])
    print("COMPILED " + json.dumps(sorted({c for c in compiled if c.startswith("planner.")})))
    sys.exit(code)
""")

# after an edit of one kernel module, its shipped kernels are refused; the others still load
_LOOKUP = textwrap.dedent("""
    import importlib, json
    from pathlib import Path
    import planner
    from planner import _numba_cache as nc

    recs = json.loads((Path(planner.__file__).parent / nc.SIGNATURES_FILE).read_text())
    found = {}
    for rec in recs["signatures"]:
        disp = getattr(importlib.import_module(rec["module"]), rec["name"], None)
        if disp is None:
            continue  # recorded before a rename: the build skipped it too
        sig = tuple(nc.decode_type(a) for a in rec["args"])
        hit = disp._cache.load_overload(sig, disp.targetctx) is not None
        found.setdefault(rec["module"], []).append(hit)
    print("FOUND " + json.dumps(found))
""")


def _check_changed_source_is_refused(py: Path, package: Path, env: dict, cwd: Path) -> None:
    """Edit the installed ``_engine.py``: its cached kernels must not load, the others must."""
    engine = package / "_engine.py"
    engine.write_text(engine.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    out = subprocess.run(
        [str(py), "-c", _LOOKUP],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=True,
    ).stdout
    found = json.loads(next(x for x in out.splitlines() if x.startswith("FOUND "))[6:])
    assert not any(found["planner._engine"]), "a kernel of an edited module was loaded"
    assert all(found["planner._isochrone"]), found
