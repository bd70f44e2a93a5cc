"""The house rules that tools do not check: module boundaries and one name per thing.

- No module of planner (nor bench/ or app.py) uses another module's private names (a leading
  underscore): it imports public or documented internal functions. Modules of one subpackage
  (``planner/optimize/``, ``planner/app/``) may share private helpers among themselves.
- No module writes a private attribute onto another module's objects (caches go through
  ``planner._cache.memo``).
- Functions that share a name across modules do different things under one name only where the
  list below allows it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "planner"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _package_of(mod: str, is_pkg_init: bool) -> str:
    return mod if is_pkg_init else mod.rpartition(".")[0]


def _resolve(mod: str, is_pkg_init: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = _package_of(mod, is_pkg_init).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _same_subpackage(a: str, b: str) -> bool:
    """Both in one subpackage below planner (planner.optimize.*, planner.app.*)."""
    pa, pb = a.split("."), b.split(".")
    return len(pa) >= 2 and len(pb) >= 2 and pa[:2] == pb[:2] and pa[1] in _SUBPACKAGES


_SUBPACKAGES = {p.name for p in PKG.iterdir() if (p / "__init__.py").exists()}


def _sources() -> list[Path]:
    files = sorted(PKG.rglob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
    return files + [ROOT / "app.py"]


def _violations(path: Path) -> list[str]:
    mod = _module_name(path)
    is_init = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[str] = []
    aliases: dict[str, str] = {}  # local name -> planner module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            src = _resolve(mod, is_init, node)
            if not src.startswith("planner"):
                continue
            for a in node.names:
                full = f"{src}.{a.name}"
                if (PKG.parent / Path(*full.split("."))).with_suffix(".py").exists() or (
                    PKG.parent / Path(*full.split(".")) / "__init__.py"
                ).exists():
                    aliases[a.asname or a.name] = full  # a module imported by name
                elif _is_private(a.name) and src != mod and not _same_subpackage(src, mod):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {src}.{a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("planner"):
                    aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0]
                    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target = aliases.get(node.value.id)
            if (
                target is not None
                and _is_private(node.attr)
                and target != mod
                and not _same_subpackage(target, mod)
            ):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {target}.{node.attr}")
        out += [f"{path.relative_to(ROOT)}:{node.lineno} {w}" for w in _private_writes(node)]
    return out


def _private_writes(node: ast.AST) -> list[str]:
    """``obj._name = ...`` on anything but ``self``/``cls``."""
    if not isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        return []
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [
        f"writes the private attribute {t.attr} of another object"
        for t in targets
        if isinstance(t, ast.Attribute)
        and _is_private(t.attr)
        and not (isinstance(t.value, ast.Name) and t.value.id in ("self", "cls"))
    ]


def test_no_module_uses_another_modules_private_names():
    found = [v for p in _sources() for v in _violations(p)]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_checker_catches_what_it_should(tmp_path, monkeypatch):
    # the rule itself could silently pass everything: feed it each kind of violation
    bad = PKG / "_contract_probe_tmp.py"
    bad.write_text(
        "from . import network\nfrom .siting import _demand\nfrom .network import Network\n"
        "def f(net):\n    net._cache = 1\n    return network._largest_component\n",
        encoding="utf-8",
    )
    try:
        found = _violations(bad)
    finally:
        bad.unlink()
    assert any("imports planner.siting._demand" in v for v in found)
    assert any("uses planner.network._largest_component" in v for v in found)
    assert any("writes the private attribute _cache" in v for v in found)


def test_compliance_summary_lines_is_a_deprecated_alias(monkeypatch):
    from planner import compliance

    assert "summary_lines" not in compliance.__all__
    assert "compliance_lines" in compliance.__all__
    from planner.compliance import write

    seen = []
    monkeypatch.setattr(write, "compliance_lines", lambda r, **kw: seen.append((r, kw)) or ["line"])
    with pytest.warns(DeprecationWarning, match="compliance_lines"):
        assert compliance.summary_lines("report", max_fixes_per_check=1) == ["line"]
    assert seen == [("report", {"max_fixes_per_check": 1})]


def test_shared_names_are_defined_once():
    """Mode names, objectives and candidate sources: one definition, every user imports it."""
    from planner import _constants, network, scenario, siting
    from planner.app import settings, whatif

    assert tuple(network.MODES) == _constants.MODE_NAMES
    assert siting.OBJECTIVES is _constants.OBJECTIVES
    assert scenario.OBJECTIVES == ("none", *_constants.OBJECTIVES)
    assert scenario.CANDIDATE_SOURCES is _constants.CANDIDATE_SOURCES
    assert whatif.CANDIDATE_SOURCES is _constants.CANDIDATE_SOURCES
    assert settings.MODES == _constants.MODE_NAMES
    assert settings.MODE_SPEED_KMH == {m: network.MODES[m].speed_kmh for m in settings.MODES}
    # no module spells the lists out again in code (docstrings and typing.Literal may)
    wanted = {frozenset(_constants.MODE_NAMES), frozenset(_constants.OBJECTIVES)}
    spelled = []
    for path in sorted(PKG.rglob("*.py")) + [ROOT / "app.py"]:
        if path.name == "_constants.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        literal_types = {
            id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)
        }  # Literal["walk", ...]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Tuple | ast.List | ast.Set)
                and id(node) not in literal_types
                and node.elts
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
            ):
                values = frozenset(e.value for e in node.elts)  # type: ignore[attr-defined]
                if any(w <= values for w in wanted):
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not spelled, "lists spelled out again instead of imported:\n" + "\n".join(spelled)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"types": ["8424"], "names": ["a", "b"]},
        {"types": ["8424"], "default": "palace"},
        {"types": ["8424"], "edition": "1999"},
    ],
)
def test_classify_tier_raises_the_projects_input_error(kwargs):
    from planner import InputError, standards

    with pytest.raises(InputError, match="Fix:"):
        standards.classify_tier(**kwargs)


def test_planner_raises_its_own_errors():
    """Every error raised on purpose is a planner error (which also subclasses the built-in);
    the compiled kernels' argument checks in _engine raise built-ins (numba compiles them)."""
    bare = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "_engine.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name)
                and node.exc.func.id in {"ValueError", "RuntimeError", "TypeError", "KeyError"}
            ):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno} raises {node.exc.func.id}")
    assert not bare, "bare built-in errors:\n" + "\n".join(bare)


def test_the_cli_starts_without_the_map_and_app_libraries():
    """Building the CLI's parser (every `planner ...` run does) imports no folium, matplotlib,
    streamlit or scikit-learn: they load only for the commands that draw or serve."""
    import subprocess
    import sys

    heavy = ("folium", "branca", "matplotlib", "streamlit", "sklearn")
    code = (
        "import sys, planner.cli as c; c.build_parser(); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at start: {out.stdout.strip()}"


def _kernels_calling_other_files(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        a.asname or a.name
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and (n.level > 0 or (n.module or "").startswith("planner"))
        for a in n.names
    }
    out = []
    for n in tree.body:
        if isinstance(n, ast.FunctionDef) and any(
            "njit" in ast.unparse(d) for d in n.decorator_list
        ):
            used = {x.id for x in ast.walk(n) if isinstance(x, ast.Name)} & imported
            out += (
                [f"{path.relative_to(ROOT)}:{n.lineno} {n.name} uses {sorted(used)}"]
                if used
                else []
            )
    return out


def test_compiled_kernels_call_only_kernels_of_their_own_file():
    """numba's on-disk cache checks only the source of the file a kernel is defined in: a kernel
    calling one from another file would stay compiled against the old callee after an edit."""
    found = [v for p in sorted(PKG.rglob("*.py")) for v in _kernels_calling_other_files(p)]
    assert not found, "\n".join(found)
    probe = PKG / "_contract_kernel_probe_tmp.py"
    probe.write_text(
        "from numba import njit\nfrom ._engine import argsort_stable\n"
        "@njit(cache=True)\ndef k(a):\n    return argsort_stable(a, 0, 1)\n",
        encoding="utf-8",
    )
    try:
        assert _kernels_calling_other_files(probe)  # the check itself sees a cross-file call
    finally:
        probe.unlink()
