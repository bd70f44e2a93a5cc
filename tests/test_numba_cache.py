"""Where the compiled kernels are cached: the package's own folder, else a user cache folder."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from planner import _numba_cache as nc

ROOT = Path(__file__).resolve().parents[1]


def _read_only_package(tmp_path: Path) -> Path:
    # tests run as root, which may write anywhere: a path below a regular file can't be made
    blocker = tmp_path / "site-packages"
    blocker.write_text("")
    return blocker / "planner"


def test_writable_package_keeps_numba_default(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert nc.configure(tmp_path, env) is None
    assert "NUMBA_CACHE_DIR" not in env


def test_read_only_package_uses_the_user_cache(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    got = nc.configure(_read_only_package(tmp_path), env)
    assert got == tmp_path / "xdg" / "planner" / "numba"
    assert got.is_dir()
    assert env["NUMBA_CACHE_DIR"] == str(got)


def test_without_xdg_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert nc.user_cache_dir({}) == tmp_path / "home" / ".cache" / "planner" / "numba"


def test_the_users_numba_cache_dir_is_kept(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "mine"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert nc.configure(_read_only_package(tmp_path), env) is None
    assert env["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")
    assert not (tmp_path / "xdg").exists()


def test_numba_writes_its_cache_where_configure_points(tmp_path):
    # a fresh interpreter: importing planner has already imported numba, so this also checks
    # that configure() reaches numba's config; a cached kernel compiled afterwards must land in
    # the user cache, not next to its module
    mod = tmp_path / "src" / "kern.py"
    mod.parent.mkdir()
    mod.write_text("from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x + 1\n")
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from planner import _numba_cache as nc
        import os
        os.environ.pop("NUMBA_CACHE_DIR", None)
        got = nc.configure(Path({str(_read_only_package(tmp_path))!r}))
        sys.path.insert(0, {str(mod.parent)!r})
        import kern
        assert kern.f(1) == 2
        print(got)
    """)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    env.pop("NUMBA_CACHE_DIR", None)
    p = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    cache = tmp_path / "xdg" / "planner" / "numba"
    assert p.stdout.strip() == str(cache)
    assert list(cache.rglob("kern.f-*.nbi")), list(cache.rglob("*"))
    assert not (mod.parent / "__pycache__").exists() or not list(
        (mod.parent / "__pycache__").glob("*.nbi")
    )


# --- kernels compiled at build time (planner/_kernel_cache) -------------------------------

_FAKE_KERNEL = (
    "from numba import njit\n\n\n@njit(cache=True)\ndef {name}(a, b):\n    return a + b\n"
)


_FAKE_MODULES = {"_engine.py": "add", "_isochrone.py": "plus", "optimize/_kernels.py": "total"}


def _fake_package(tmp_path: Path) -> Path:
    """A package laid out like planner (a subpackage too), one tiny kernel per module, and a
    module with a kernel nobody recorded."""
    pkg = tmp_path / "pkg"
    (pkg / "optimize").mkdir(parents=True)
    for rel, name in {**_FAKE_MODULES, "_unused.py": "unused"}.items():
        (pkg / rel).write_text(_FAKE_KERNEL.format(name=name))
    sig = [{"array": ["float64", 1, "C", False]}, "int64"]
    records = [
        {"module": "planner._engine", "name": "add", "args": sig},
        {"module": "planner._isochrone", "name": "plus", "args": ["int64", "int64"]},
        {"module": "planner.optimize._kernels", "name": "total", "args": ["int64", "int64"]},
        {"module": "planner._gone", "name": "renamed", "args": ["int64"]},  # skipped
    ]
    (pkg / nc.SIGNATURES_FILE).write_text(json.dumps({"signatures": records}))
    return pkg


# seed from the fake package's shipped kernels, import its modules, call `add` once and report
# numba's own count of cache hits and misses (a miss is a compile)
_LOAD = textwrap.dedent("""
    import importlib.util, json, sys
    from pathlib import Path
    import numpy as np
    spec = importlib.util.spec_from_file_location("_nc", {nc_file!r})
    nc = importlib.util.module_from_spec(spec); spec.loader.exec_module(nc)
    pkg = Path({pkg!r})
    seeded = nc.seed_from_shipped(pkg)
    nc._load_kernel_modules(pkg, ["planner._engine"])
    import planner._engine as e
    assert e.add(np.zeros(3), 2)[0] == 2.0
    st = e.add.stats
    print(json.dumps({{"seeded": [str(s) for s in seeded], "hits": sum(st.cache_hits.values()),
                      "misses": sum(st.cache_misses.values())}}))
""")


def _load(pkg: Path, cache: Path, **env_extra: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), **env_extra)
    env.pop("PLANNER_SHIPPED_KERNELS", None)
    script = _LOAD.format(nc_file=nc.__file__, pkg=str(pkg))
    p = subprocess.run(
        [sys.executable, "-c", script],
        cwd=pkg.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_type_records_round_trip():
    from numba.core import types

    for ty in (
        types.Array(types.float64, 1, "C"),
        types.Array(types.int32, 2, "A", readonly=True),
        types.UniTuple(types.int64, 3),
        types.Tuple([types.int64, types.Array(types.boolean, 1, "C")]),
        types.Omitted(None),
        types.Omitted(0.5),
        types.Omitted(float),
        types.unicode_type,
        types.uint32,
    ):
        assert nc.decode_type(json.loads(json.dumps(nc.encode_type(ty)))) == ty


def test_shipped_kernels_are_loaded_and_checked(tmp_path):
    pkg = _fake_package(tmp_path)
    shipped = nc.build_shipped(pkg)
    assert shipped == pkg / nc.SHIPPED_DIR_NAME
    info = json.loads((shipped / "BUILD.json").read_text())
    assert sorted(info["modules"]) == sorted(_FAKE_MODULES)  # what was recorded, no more
    # a fresh, empty cache: seeded from the build, the kernel is loaded, nothing compiled
    got = _load(pkg, tmp_path / "user1")
    assert got["seeded"] and got["hits"] == 1 and got["misses"] == 0, got
    # a second run keeps the cache it has (seeded once per build)
    again = _load(pkg, tmp_path / "user1")
    assert again["seeded"] == [] and again["hits"] == 1 and again["misses"] == 0, again
    # the user emptied the cache (numba's files gone, the seeding's marker left): seeded again
    for f in (tmp_path / "user1").rglob("*.nb?"):
        f.unlink()
    again = _load(pkg, tmp_path / "user1")
    assert again["seeded"] and again["hits"] == 1 and again["misses"] == 0, again
    # another CPU (numba's own check on the CPU name it was compiled for): compiled again
    assert _load(pkg, tmp_path / "user2", NUMBA_CPU_NAME="generic")["misses"] == 1
    # another numba version recorded in the build: not seeded, compiled
    info2 = dict(info, numba="0.0.1")
    (shipped / "BUILD.json").write_text(json.dumps(info2))
    got = _load(pkg, tmp_path / "user3")
    assert got["seeded"] == [] and got["misses"] == 1, got
    (shipped / "BUILD.json").write_text(json.dumps(info))


def test_changed_source_is_never_loaded_from_the_shipped_kernels(tmp_path):
    pkg = _fake_package(tmp_path)
    nc.build_shipped(pkg)
    engine = pkg / "_engine.py"
    engine.write_text(engine.read_text() + "\n# edited after the build\n")
    got = _load(pkg, tmp_path / "user1")
    assert got["misses"] == 1 and got["hits"] == 0, got
    assert all("_engine" not in s for s in got["seeded"])
    # even copied by hand past the seeding's own check, numba refuses them (source hash)
    import shutil

    user = tmp_path / "user2"
    got = _load(pkg, user)  # creates numba's directory for the package
    target = next(user.glob("pkg_*"))
    for f in (pkg / nc.SHIPPED_DIR_NAME).glob("_engine.*"):
        shutil.copy(f, target / f.name)
    assert _load(pkg, user)["misses"] == 1


def test_a_build_for_other_versions_is_not_seeded():
    import numba
    import numpy

    ok = {
        "numba": numba.__version__,
        "numpy": nc.numpy_minor(numpy.__version__),
        "python": list(sys.version_info[:2]),
        "platform": sys.platform,
    }
    assert nc._build_matches(ok)
    for key, other in (("numba", "0.1.0"), ("numpy", "1.0"), ("python", [3, 9]), ("platform", "x")):
        assert not nc._build_matches(dict(ok, **{key: other})), key
