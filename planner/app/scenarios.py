"""Scenarios on disk (save, load, list, autosave) and the rows that compare them."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import pipeline
from .._errors import ScenarioError
from ..pipeline import CoverageResult, Dataset
from ..scenario import Scenario
from .standards_table import RULES
from .whatif import WhatIf

#: The repository root (scenarios are kept in ``scenarios/`` there when run from a checkout).
REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Scenarios on disk
# ---------------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"[^\w\-. ]+", re.UNICODE)


def scenario_dir() -> Path:
    """Where scenarios are kept: ``$PLANNER_SCENARIO_DIR``, else ``./scenarios`` in the
    repository (gitignored), else ``~/.planner/scenarios``."""
    env = os.environ.get("PLANNER_SCENARIO_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "scenarios"
    return Path.home() / ".planner" / "scenarios"


def scenario_file_name(name: str) -> str:
    """A safe file name for a scenario name (letters of any script, digits, ``-_. `` kept)."""
    clean = _NAME_RE.sub("_", name.strip()).strip(" ._")[:80]
    if not clean:
        raise ScenarioError("a scenario needs a name. Fix: type a name before saving.")
    return clean + ".toml"


def persist_uploads(sc: Scenario, folder: Path) -> Scenario:
    """Copy the scenario's uploaded files into ``folder/uploads/`` (content-addressed) so that
    the scenario still loads after a server restart; paths are rewritten."""
    changes: dict[str, str] = {}
    store = (folder / "uploads").resolve()
    for field_name in ("roads", "facilities", "population", "boundaries", "candidates_file"):
        value = getattr(sc, field_name)
        if not value:
            continue
        src = Path(value)
        if (
            not src.exists()
            or src.resolve().is_relative_to(store)
            or src.resolve().is_relative_to(pipeline.DEMO_DIR)
        ):
            continue
        digest_dir = src.parent.name
        dest_dir = store / field_name / digest_dir
        dest_dir.mkdir(parents=True, exist_ok=True)
        for part in src.parent.iterdir():  # a shapefile comes with its .shx, .dbf, .prj...
            if part.is_file() and part.stem == src.stem and not (dest_dir / part.name).exists():
                shutil.copy2(part, dest_dir / part.name)
        changes[field_name] = str(dest_dir / src.name)
    return sc.replace(**changes) if changes else sc


def _allowed_data_path(value: str, folder: Path, upload_root: Path | None) -> bool:
    p = Path(value).resolve()
    roots = [(folder / "uploads").resolve(), pipeline.DEMO_DIR.resolve()]
    if upload_root is not None:
        roots.append(Path(upload_root).resolve())
    return any(p.is_relative_to(r) for r in roots)


def save_scenario(sc: Scenario, folder: Path | None = None) -> Path:
    """Save under ``folder`` (default :func:`scenario_dir`) as ``<name>.toml``, uploads copied."""
    folder = scenario_dir() if folder is None else Path(folder)
    sc = persist_uploads(sc, folder)
    return sc.save(folder / scenario_file_name(sc.name))


def load_scenario(
    path: str | Path, *, folder: Path | None = None, upload_root: Path | None = None
) -> Scenario:
    """Load a saved scenario; data files must lie in the scenario folder's ``uploads/``, the
    app's upload folder or the demo data (a scenario file cannot make the app read other files)."""
    folder = scenario_dir() if folder is None else Path(folder)
    sc = Scenario.load(path)
    bad = [
        f"{k}={getattr(sc, k)!r}"
        for k in ("data_dir", "roads", "facilities", "population", "boundaries", "candidates_file")
        if getattr(sc, k) and not _allowed_data_path(getattr(sc, k), folder, upload_root)
    ]
    if bad:
        raise ScenarioError(
            f"{path}: data files outside the scenario folder: {', '.join(bad)}. "
            f"Fix: save the scenario from the app, which copies uploads into {folder / 'uploads'}."
        )
    missing = [
        k
        for k in ("roads", "facilities", "population", "boundaries", "candidates_file")
        if getattr(sc, k) and not Path(getattr(sc, k)).exists()
    ]
    if missing:
        raise ScenarioError(
            f"{path}: data files no longer exist: {', '.join(missing)}. Fix: upload them again."
        )
    return sc


def list_scenarios(folder: Path | None = None) -> list[tuple[str, Path]]:
    """(name, path) of the saved scenarios, newest first."""
    folder = scenario_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.toml"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [(p.stem, p) for p in files]


def autosave_path(session_id: str, folder: Path | None = None) -> Path:
    """Where the working scenario of a browser session is kept between page reloads."""
    if not re.fullmatch(r"[0-9a-f]{8,32}", session_id or ""):
        raise ScenarioError(f"bad session id {session_id!r}.")
    folder = scenario_dir() if folder is None else Path(folder)
    return folder / ".autosave" / f"{session_id}.toml"


def prune_autosaves(folder: Path | None = None, *, days: float = 30.0) -> int:
    """Delete working scenarios of browser sessions not seen for ``days``; return how many."""
    folder = scenario_dir() if folder is None else Path(folder)
    limit = time.time() - days * 86400
    n = 0
    for p in (folder / ".autosave").glob("*.toml"):
        try:
            if p.stat().st_mtime < limit:
                p.unlink()
                n += 1
        except OSError:
            pass
    return n


# ---------------------------------------------------------------------------------------------
# Comparing scenarios
# ---------------------------------------------------------------------------------------------


def scenario_row(
    sc: Scenario,
    dataset: Dataset,
    result: CoverageResult,
    whatif: WhatIf | None,
    summary: pd.DataFrame,
) -> dict[str, Any]:
    """One column of the comparison table (plain values)."""
    total = result.total_population
    covered = result.covered_population
    newly = whatif.newly_covered_population if whatif is not None else 0.0
    row: dict[str, Any] = {
        "name": sc.name,
        "data": dataset.name,
        "mode": sc.mode,
        "minutes": float(sc.minutes),
        "tiers": ", ".join(sc.tiers) if sc.tiers else "primary (all)",
        "proposed_sites": len(sc.proposed),
        "population": total,
        "covered_before": covered,
        "newly_covered": newly,
        "covered_after": covered + newly,
        "covered_share_after": (covered + newly) / total if total else np.nan,
    }
    s = (whatif.summary_after if whatif is not None else summary).set_index("rule")
    for rule in RULES:
        if rule in s.index and rule != "RF":
            row[f"{rule}_met"] = (
                f"{int(s.at[rule, 'met'] + s.at[rule, 'shared'])}/{int(s.at[rule, 'units'])}"
            )
    return row


def scenario_row_text(row: Mapping[str, Any]) -> dict[str, str]:
    """A :func:`scenario_row` as a person reads it: residents as whole numbers with thousands
    separators, the share in per cent, minutes without trailing zeros."""
    people = ("population", "covered_before", "newly_covered", "covered_after")
    out: dict[str, str] = {}
    for k, v in row.items():
        if k in people:
            out[k] = f"{v:,.0f}"
        elif k == "covered_share_after":
            out[k] = f"{100 * v:.1f} %" if np.isfinite(v) else "–"
        elif k == "minutes":
            out[k] = f"{v:g}"
        else:
            out[k] = str(v)
    return out
