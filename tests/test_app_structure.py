"""The app's page code, checked by reading it (no Streamlit run needed).

- ``app.py`` stays thin: it sets up the page and calls :mod:`planner.app`; it defines nothing.
- A widget's format function and a download's data function are called again *outside* the run
  that drew them (by Streamlit when a download is clicked, by its testing tools for a widget):
  there ``st.session_state`` is not the session's, so such functions must not read it (the
  language, ``T(...)``, ``ss``). They bind what they need while the run draws them. A deferred
  PDF download that read the language at call time delivered nothing in chromium.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE_MODULES = ("actions", "sidebar", "page", "panels", "tabs", "optimizer_tab", "ui")
#: Names whose call or use reads the session state when evaluated.
READS_SESSION = {"T", "lang", "ss", "tier_name", "group_label", "rule_name"}


def test_app_py_is_thin():
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    defined = [
        n.name
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert not defined, f"app.py defines {defined}: move them to planner/app/"
    assert len((ROOT / "app.py").read_text(encoding="utf-8").splitlines()) < 80


def _deferred(tree: ast.AST) -> list[ast.AST]:
    """Lambdas, and functions defined inside functions (closures passed as callbacks)."""
    out: list[ast.AST] = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            out += [n for n in ast.walk(fn) if isinstance(n, ast.FunctionDef) and n is not fn]
    return out


def _session_reads(node: ast.AST) -> list[str]:
    return sorted(
        {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in READS_SESSION}
    )


@pytest.mark.parametrize("module", PAGE_MODULES)
def test_deferred_functions_do_not_read_the_session(module):
    path = ROOT / "planner" / "app" / f"{module}.py"
    bad = [
        f"{path.name}:{n.lineno} reads {_session_reads(n)}"
        for n in _deferred(ast.parse(path.read_text(encoding="utf-8")))
        if _session_reads(n)
    ]
    assert not bad, "bind these while the run draws the widget:\n" + "\n".join(bad)


def test_the_checker_catches_a_late_read():
    code = (
        "def panel():\n"
        "    st.download_button('x', data=lambda: make(lang=lang()))\n"
        "    def later():\n        return T('title')\n"
    )
    found = [n for n in _deferred(ast.parse(code)) if _session_reads(n)]
    assert len(found) == 2
