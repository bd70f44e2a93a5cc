"""docs/architecture.md matches the code: its import diagram is the package's import graph.

The diagram lists every module of planner (a subpackage counts as one node) except the shared
leaves the document names in its text (errors, checks, constants, caches, progress, strings).
An arrow ``a --> b`` means ``a`` imports ``b`` (at module level or inside a function). The graph
of module-level imports has no cycle.

``python tests/test_architecture.py`` prints the diagram of the current code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "planner"
DOC = ROOT / "docs" / "architecture.md"
# shared leaves every stage may import; the document describes them in words
SHARED = {
    "_errors",
    "_validate",
    "_constants",
    "_cache",
    "_progress",
    "_numba_cache",
    "i18n",
    "demo_data",
}


def _node(parts: list[str]) -> str | None:
    """The diagram node of a module path below planner (``["optimize", "_kernels"]`` -> optimize)."""
    if not parts:
        return None
    name = parts[0]
    if name in SHARED or not ((PKG / f"{name}.py").exists() or (PKG / name).is_dir()):
        return None  # a shared leaf, or a name (``from . import __version__``), not a module
    return name


def import_graph() -> tuple[set[tuple[str, str]], set[tuple[str, str]], set[str]]:
    """(all edges, module-level edges, nodes) between planner's modules and subpackages."""
    edges: set[tuple[str, str]] = set()
    top: set[tuple[str, str]] = set()
    nodes: set[str] = set()
    for path in sorted(PKG.rglob("*.py")):
        rel = list(path.relative_to(PKG).with_suffix("").parts)
        src = _node(rel)
        if src is None or src == "__init__":
            continue
        nodes.add(src)
        pkg_parts = rel[:-1]  # the package a relative import starts from
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            for target in _targets(node, pkg_parts):
                dst = _node(target)
                if dst is None or dst == src or dst == "__init__":
                    continue
                edges.add((src, dst))
                if id(node) in module_level:
                    top.add((src, dst))
    return edges, top, nodes


def _targets(node: ast.AST, pkg_parts: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = pkg_parts[: len(pkg_parts) - (node.level - 1)] if node.level > 1 else pkg_parts
            mod = base + (node.module.split(".") if node.module else [])
        elif node.module and node.module.split(".")[0] == "planner":
            mod = node.module.split(".")[1:]
        else:
            return out
        if mod:
            out.append(mod)
        else:  # from . import a, b
            out += [[a.name] for a in node.names]
    elif isinstance(node, ast.Import):
        for a in node.names:
            parts = a.name.split(".")
            if parts[0] == "planner" and len(parts) > 1:
                out.append(parts[1:])
    return out


def diagram_edges() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)```", text, flags=re.S)
    assert block, "docs/architecture.md has no ```mermaid block"
    return {(a, b) for a, b in re.findall(r"^\s*(\w+)\s*-->\s*(\w+)\s*$", block.group(1), re.M)}


def mermaid() -> str:
    edges, _, nodes = import_graph()
    lines = ["```mermaid", "flowchart TD"]
    lines += [f"    {a} --> {b}" for a, b in sorted(edges)]
    lines += ["```"]
    return "\n".join(lines)


def test_the_diagram_is_the_import_graph():
    edges, _, nodes = import_graph()
    drawn = diagram_edges()
    missing = sorted(edges - drawn)
    extra = sorted(drawn - edges)
    assert not missing and not extra, (
        f"docs/architecture.md's diagram is stale.\nimports not drawn: {missing}\n"
        f"arrows with no import: {extra}\nregenerate with: python tests/test_architecture.py"
    )
    drawn_nodes = {n for e in drawn for n in e}
    assert nodes <= drawn_nodes | {"__main__"}, f"modules not in the diagram: {nodes - drawn_nodes}"


def test_module_level_imports_have_no_cycle():
    _, top, nodes = import_graph()
    graph: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in top:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, n, m]))
            if m not in state:
                visit(m, [*path, n])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [])


def test_the_graph_reader_sees_relative_and_absolute_imports(tmp_path):
    tree = ast.parse(
        "from . import access, network\nfrom .optimize import solve\nimport planner.load\n"
    )
    found = [t for node in ast.walk(tree) for t in _targets(node, [])]
    assert ["access"] in found and ["network"] in found
    assert ["optimize"] in found and ["load"] in found


if __name__ == "__main__":
    print(mermaid())
