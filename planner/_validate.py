"""Validation helpers shared by the public entry points.

Checks collect every problem they find and raise one :class:`~planner.InputError` whose message
names the source (file or argument), the column, example rows and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import InputError, InputFileError


class Problems:
    """Collects validation problems for one source and raises them together.

    Examples
    --------
    >>> p = Problems("facilities.csv")
    >>> p.add("column 'lon' is missing", fix="name the longitude column with lon_column=")
    >>> p.raise_if_any()
    Traceback (most recent call last):
    ...
    planner._errors.InputError: facilities.csv: column 'lon' is missing. Fix: name the longitude column with lon_column=
    """

    def __init__(self, source: str | Path, error: type[InputError] = InputError) -> None:
        self.source = str(source)
        self.error = error
        self.items: list[str] = []

    def add(self, problem: str, *, fix: str | None = None) -> None:
        self.items.append(problem + (f". Fix: {fix}" if fix else ""))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise self.error(f"{self.source}: {self.items[0]}")
        lines = "\n".join(f"  - {item}" for item in self.items)
        raise self.error(f"{self.source}: {len(self.items)} problems:\n{lines}")


def describe_rows(index: Iterable, *, limit: int = 5) -> str:
    """'rows 3, 7, 9 and 12 more' for error messages (row labels as given)."""
    rows = list(index)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = len(rows) - limit
    noun = "row" if len(rows) == 1 else "rows"
    return f"{noun} {shown}" + (f" and {more} more" if more > 0 else "")


def require_file(path: str | Path, *, what: str, suffixes: Sequence[str] | None = None) -> Path:
    """Return ``path`` as a Path if it exists (and has an accepted suffix), else raise."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} file not found: {p}. Fix: check the path (it is read relative to {Path.cwd()}).")
    if p.is_dir():
        raise InputFileError(f"{what} path is a folder, not a file: {p}. Fix: name a file inside it.")
    if suffixes is not None:
        name = p.name.lower()
        if not any(name.endswith(s) for s in suffixes):
            raise InputError(
                f"{p}: unsupported {what} file type. Fix: use one of {', '.join(suffixes)}."
            )
    return p


def find_column(
    columns: Iterable[str], wanted: str | None, candidates: Sequence[str]
) -> str | None:
    """The column named ``wanted``, else the first of ``candidates`` present (case-insensitive)."""
    cols = list(columns)
    if wanted is not None:
        return wanted if wanted in cols else None
    lower = {str(c).lower(): c for c in cols}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def check_finite(values: pd.Series | np.ndarray, *, source: str, column: str, fix: str) -> None:
    """Raise naming the rows whose values are missing or not finite numbers."""
    s = pd.Series(values)
    num = pd.to_numeric(s, errors="coerce")
    bad = s.index[~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))]
    if len(bad):
        raise InputError(
            f"{source}: column '{column}' has missing or non-numeric values in {describe_rows(bad)}. Fix: {fix}"
        )
