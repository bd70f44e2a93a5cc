"""Where the compiled kernels are cached: the package's own folder, else a user cache folder."""

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
