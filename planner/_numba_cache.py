"""Where numba keeps planner's compiled kernels, and the kernels compiled when planner is built.

The kernels are compiled with ``cache=True``. numba writes that cache next to the source
(``planner/__pycache__``); a wheel installed into a read-only site-packages cannot be written
there, so :func:`configure` points numba at a user cache directory instead:
``$XDG_CACHE_HOME/planner/numba`` (else ``~/.cache/planner/numba``). A ``NUMBA_CACHE_DIR`` the user
set is never overridden. It runs when :mod:`planner` is imported, before any kernel is defined
(numba picks the cache location when a cached function is decorated).

Compiling the kernels the demo uses costs about 30 s of CPU, so they are compiled when planner
is built (``pip install .``, ``pip install -e .``, ``pip wheel .``: the build backend in
``build_backend/`` calls :func:`build_shipped`): the signatures recorded in
``_kernel_signatures.json`` (by ``scripts/record_kernel_signatures.py``) are compiled for this
machine's CPU into ``planner/_kernel_cache/``, which the wheel carries. On import,
:func:`seed_from_shipped` copies them into the cache directory numba uses for each kernel
module (once per build). numba then checks every entry itself before using it: its version, a
hash of the module's source, the function's bytecode and the CPU name and features it was
compiled for; an entry that fails any of these is compiled again. Seeding is skipped when the
build's numba, numpy (minor) or Python version or a module's source hash differ from the
installed ones, or when ``PLANNER_SHIPPED_KERNELS=0``. A kernel called with argument types not
recorded is compiled at first use and cached as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent

if __package__:
    from ._errors import PackageDataError
else:  # loaded on its own by the build backend (planner's dependencies may be missing there)
    import importlib.util as _util

    _spec: Any = _util.spec_from_file_location("_planner_errors", PACKAGE_DIR / "_errors.py")
    _errors_module: Any = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_errors_module)
    PackageDataError = _errors_module.PackageDataError  # type: ignore[misc]

#: Where the build puts the compiled kernels, inside the package (never in git).
SHIPPED_DIR_NAME = "_kernel_cache"
#: The signatures compiled at build time: the kernel calls of the demo's coverage and optimize.
SIGNATURES_FILE = "_kernel_signatures.json"
_BUILD_INFO = "BUILD.json"
_RERECORD = "Fix: run `python scripts/record_kernel_signatures.py` with this numba"


def user_cache_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/planner/numba``, else ``~/.cache/planner/numba``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "planner" / "numba"


def _writable(directory: Path) -> bool:
    """Whether numba could keep its cache in ``directory/__pycache__`` (as numba tests it)."""
    cache = directory / "__pycache__"
    try:
        cache.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=cache):
            pass
    except OSError:
        return False
    return True


def cache_dir(
    package_dir: Path = PACKAGE_DIR, environ: MutableMapping[str, str] | None = None
) -> Path | None:
    """The directory numba should use instead of the package's own, or ``None`` to leave it."""
    env = os.environ if environ is None else environ
    if env.get("NUMBA_CACHE_DIR"):
        return None  # the user's choice
    if _writable(package_dir):
        return None
    return user_cache_dir(env)


def configure(
    package_dir: Path = PACKAGE_DIR, environ: MutableMapping[str, str] | None = None
) -> Path | None:
    """Point numba's cache at :func:`user_cache_dir` when the package directory is read-only.

    Returns the directory set, or ``None`` when nothing was changed (the package directory is
    writable, the user set ``NUMBA_CACHE_DIR``, or no user cache directory can be made: numba
    then compiles each run, as it would anyway).
    """
    env = os.environ if environ is None else environ
    target = cache_dir(package_dir, env)
    if target is None:
        return None
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    env["NUMBA_CACHE_DIR"] = str(target)
    # numba reads the variable once, when it is first imported; if it already was, set it too
    config: Any = sys.modules.get("numba.core.config")  # a module: typed loosely
    if config is not None and environ is None:
        config.CACHE_DIR = str(target)
    return target


# --- the kernels compiled at build time ---------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def numba_cache_path(source: Path) -> Path | None:
    """The directory numba caches ``source``'s kernels in, chosen by numba's own locators.

    ``None`` when numba would find none (it then compiles every run) or a custom locator list
    (``NUMBA_CACHE_LOCATOR_CLASSES``) is set.
    """
    from numba.core import caching
    from numba.core import config as _config

    config: Any = _config  # a module: typed loosely
    if config.CACHE_LOCATOR_CLASSES:
        return None
    locator_classes: list[Any] = list(caching.CacheImpl._locator_classes)
    for locator_class in locator_classes:
        # a locator reads only the first line number of the function: any function will do
        locator = locator_class.from_function(numba_cache_path, str(source))
        if locator is not None:
            return Path(locator.get_cache_path())
    return None


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f"{dst.name}.tmp.{uuid.uuid4().hex[:12]}")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def numpy_minor(version: str) -> str:
    """``"2.4"`` for numpy ``"2.4.6"``."""
    return ".".join(version.split(".")[:2])


def _build_matches(info: dict[str, Any]) -> bool:
    """Whether a build's kernels could be used by this interpreter, numba and numpy at all."""
    import numba
    import numpy

    return bool(
        info.get("numba") == numba.__version__
        # numba types some numpy functions by numpy's version (numpy 2's promotion rules)
        and info.get("numpy") == numpy_minor(numpy.__version__)
        and info.get("python") == list(sys.version_info[:2])
        and info.get("platform") == sys.platform
    )


def seed_from_shipped(
    package_dir: Path = PACKAGE_DIR, environ: MutableMapping[str, str] | None = None
) -> list[Path]:
    """Copy the kernels compiled at build time into numba's cache directories (once per build).

    A module is seeded only when the build's numba version, Python version and platform match
    and the module's source is byte for byte the one compiled; numba checks each entry again
    (source hash, bytecode, CPU) when it loads it. Returns the directories seeded now. Never
    raises: without the shipped kernels planner compiles them at first use, as it always could.
    """
    env = os.environ if environ is None else environ
    shipped = package_dir / SHIPPED_DIR_NAME
    if env.get("PLANNER_SHIPPED_KERNELS") == "0" or not (shipped / _BUILD_INFO).is_file():
        return []
    try:
        info = json.loads((shipped / _BUILD_INFO).read_text(encoding="utf-8"))
        if not _build_matches(info):
            return []
        return [
            target
            for rel, entry in info["modules"].items()
            if (target := _seed_module(package_dir, shipped, rel, entry, info["build_id"]))
        ]
    except (OSError, ValueError, KeyError, TypeError, PackageDataError):
        return []  # a damaged or foreign build: numba compiles instead


def _seed_module(
    package_dir: Path, shipped: Path, rel: str, entry: dict[str, Any], build_id: str
) -> Path | None:
    source = package_dir / rel
    if not source.is_file() or _sha256(source) != entry["sha256"]:
        return None  # edited since the build: its kernels would be refused anyway
    target = numba_cache_path(source)
    if target is None:
        return None
    marker = target / f"{source.stem}.planner-seeded"
    indexes = [n for n in entry["files"] if n.endswith(".nbi")]
    if (
        marker.is_file()
        and marker.read_text(encoding="utf-8") == build_id
        and all((target / n).is_file() for n in indexes)
    ):
        return None  # seeded before; numba may have added entries since: keep them
    target.mkdir(parents=True, exist_ok=True)
    # data files first, the index last: an index never names a file not yet there
    names = sorted(entry["files"], key=lambda n: n.endswith(".nbi"))
    for name in names:
        _copy_atomic(shipped / Path(rel).parent / name, target / name)
    marker.write_text(build_id, encoding="utf-8")
    return target


# --- signatures: recorded from the demo, compiled at build time ----------------------------

_SCALARS = (
    "boolean int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64 "
    "complex64 complex128 none unicode_type"
).split()


def encode_type(ty: Any) -> Any:
    """A numba argument type as JSON (the types a Python call of a kernel can produce)."""
    import builtins

    from numba.core import types

    if isinstance(ty, types.Array):
        if not ty.aligned:
            raise PackageDataError(f"unaligned array type {ty!r}")
        return {"array": [encode_type(ty.dtype), ty.ndim, ty.layout, ty.mutable is False]}
    if isinstance(ty, types.UniTuple):
        return {"unituple": [encode_type(ty.dtype), ty.count]}
    if isinstance(ty, types.Tuple):
        return {"tuple": [encode_type(t) for t in ty.types]}
    if isinstance(ty, types.Omitted):
        value: Any = ty.value
        name = str(getattr(value, "__name__", ""))
        if isinstance(value, type) and getattr(builtins, name, None) is value:
            return {"omitted_builtin": name}
        if value is None or isinstance(value, bool | int | float | str):
            return {"omitted": value}
        raise PackageDataError(f"omitted argument with default {value!r}")
    for name in _SCALARS:
        if ty == getattr(types, name):
            return name
    raise PackageDataError(f"cannot record the argument type {ty!r}")


def decode_type(data: Any) -> Any:
    """The numba type :func:`encode_type` wrote."""
    import builtins

    from numba.core import types

    if isinstance(data, str):
        if data not in _SCALARS:
            raise PackageDataError(f"{SIGNATURES_FILE}: unknown scalar type {data!r}; {_RERECORD}")
        return getattr(types, data)
    (kind, arg), *_ = data.items()
    if kind == "array":
        dtype, ndim, layout, readonly = arg
        return types.Array(decode_type(dtype), ndim, layout, readonly=readonly)
    if kind == "unituple":
        return types.UniTuple(decode_type(arg[0]), arg[1])
    if kind == "tuple":
        return types.Tuple([decode_type(t) for t in arg])
    if kind == "omitted":
        return types.Omitted(arg)
    if kind == "omitted_builtin":
        return types.Omitted(getattr(builtins, arg))
    raise PackageDataError(f"{SIGNATURES_FILE}: unknown type record {data!r}; {_RERECORD}")


def _load_kernel_modules(package_dir: Path, modules: Iterable[str]) -> None:
    """Import ``modules`` (``planner._engine``...) from ``package_dir`` without ``__init__``.

    The build environment has numba, numpy and shapely, not the rest of planner's
    dependencies, so the packages (``planner``, ``planner.optimize``) are empty stand-ins; the
    kernels keep their real module names so their compiled code is the code an installed
    planner loads.
    """
    import importlib
    import types as pytypes

    for module in sorted(set(modules)):
        parts = module.split(".")
        for i in range(1, len(parts)):
            name = ".".join(parts[:i])
            if name not in sys.modules:
                stub = pytypes.ModuleType(name)
                stub.__path__ = [str(package_dir.joinpath(*parts[1:i]))]
                sys.modules[name] = stub
        importlib.import_module(module)


def _kernel_files(package_dir: Path) -> dict[str, list[str]]:
    """The cache files numba wrote for each loaded module of ``package_dir`` (by its path)."""
    found: dict[str, list[str]] = {}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not Path(file).resolve().is_relative_to(package_dir):
            continue
        source = Path(file).resolve()
        where = numba_cache_path(source)
        if where is None or not where.is_dir():
            continue
        files = [str(f) for f in where.glob(f"{source.stem}.*") if f.suffix in (".nbi", ".nbc")]
        if files:
            found[source.relative_to(package_dir).as_posix()] = sorted(files)
    return found


def compile_recorded(package_dir: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Compile each recorded ``{module, name, args}`` signature (in a fresh interpreter).

    A record whose kernel no longer exists or no longer compiles with those arguments (the
    code changed since it was recorded) is skipped and named in ``"skipped"``: that kernel is
    then compiled at first use, as without a build step. ``"files"``: the cache files numba
    wrote, per module (relative path), the recorded kernels' and the kernels they call.
    """
    import importlib

    package_dir = Path(package_dir).resolve()
    done, skipped = 0, []
    for rec in records:
        try:
            _load_kernel_modules(package_dir, [rec["module"]])
            dispatcher = getattr(importlib.import_module(rec["module"]), rec["name"])
            # the same key a Python call uses: the tuple of argument types
            dispatcher.compile(tuple(decode_type(a) for a in rec["args"]))
        except Exception as exc:  # numba's typing errors have no common base worth naming
            skipped.append(f"{rec['module']}.{rec['name']}: {type(exc).__name__}: {exc}"[:300])
            continue
        done += 1
    return {"compiled": done, "skipped": skipped, "files": _kernel_files(package_dir)}


def build_shipped(package_dir: Path, *, python: str | None = None) -> Path | None:
    """Compile the recorded signatures into ``package_dir/_kernel_cache`` (the build step).

    Runs the compiler in a fresh interpreter (``python``, default this one) with an empty
    ``NUMBA_CACHE_DIR``, then moves numba's files into the package with a ``BUILD.json`` that
    names the numba and Python versions and each module's source hash. Returns the directory,
    or ``None`` when there are no recorded signatures. Raises ``RuntimeError`` when compiling
    fails (the build backend then builds without them).
    """
    package_dir = Path(package_dir).resolve()
    sig_file = package_dir / SIGNATURES_FILE
    if not sig_file.is_file():
        return None
    shipped = package_dir / SHIPPED_DIR_NAME
    shutil.rmtree(shipped, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="planner-kernels-") as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "numba"))
        env["PLANNER_SHIPPED_KERNELS"] = "0"
        for var in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_DISABLE_JIT"):
            env.pop(var, None)  # compiled for this machine, as a run would
        code = (
            "import importlib.util, json, sys\n"
            f"spec = importlib.util.spec_from_file_location('_planner_build', {str(__file__)!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            f"from pathlib import Path\nrecs = json.loads(Path({str(sig_file)!r}).read_text())\n"
            f"res = m.compile_recorded(Path({str(package_dir)!r}), recs['signatures'])\n"
            "import numba, numpy; res['numba'] = numba.__version__\n"
            "res['numpy'] = m.numpy_minor(numpy.__version__); print(json.dumps(res))\n"
        )
        p = subprocess_run([python or sys.executable, "-c", code], env=env, cwd=tmp)
        if p.returncode != 0:
            raise PackageDataError(f"compiling planner's kernels failed:\n{p.stderr[-3000:]}")
        done = json.loads(p.stdout.strip().splitlines()[-1])
        for skipped in done["skipped"]:
            print(f"planner: recorded kernel not compiled ahead: {skipped}", file=sys.stderr)
        versions = {"numba": done["numba"], "numpy": done["numpy"]}
        return _collect(package_dir, done["files"], shipped, versions)


def subprocess_run(cmd: list[str], *, env: dict[str, str], cwd: str) -> Any:
    """``subprocess.run`` capturing text output (imported here only when building)."""
    import subprocess

    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def _collect(
    package_dir: Path, files: dict[str, list[str]], shipped: Path, versions: dict[str, str]
) -> Path:
    """Move numba's cache files for each kernel module into ``shipped``, with ``BUILD.json``."""
    modules: dict[str, Any] = {}
    for rel, paths in files.items():
        dest = shipped / Path(rel).parent
        dest.mkdir(parents=True, exist_ok=True)
        for f in paths:
            shutil.move(f, dest / Path(f).name)
        modules[rel] = {
            "sha256": _sha256(package_dir / rel),
            "files": sorted(Path(f).name for f in paths),
        }
    info = {
        **versions,
        "python": list(sys.version_info[:2]),
        "platform": sys.platform,
        "build_id": uuid.uuid4().hex,
        "modules": modules,
    }
    (shipped / _BUILD_INFO).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return shipped


if __name__ == "planner._numba_cache":  # imported as part of planner (not by the build backend)
    configure()
    seed_from_shipped()
