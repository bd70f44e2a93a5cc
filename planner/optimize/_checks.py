"""Input checks and demand-row merging for :mod:`planner.optimize`.

Checks collect every problem in :class:`_Problems` and raise one error naming the parameters;
:func:`merge_identical_rows` merges demand units with the same covering set.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import OptimizationError
from .._validate import Problems
from ._kernels import _row_hashes, _rows_equal_to_rep
from ._results import _EMPTY_FLOAT, _EMPTY_INT, METHODS, MergedRows

logger = logging.getLogger(__name__)

# Validation
# --------------------------------------------------------------------------------------------


class _Problems(Problems):
    """The project's problem collector (:class:`planner._validate.Problems`) for one solver call.

    Same message format ("where: problem. Fix: fix", or a numbered list); raises
    :class:`OptimizationError`, and takes ``fix`` positionally as the solvers' checks pass it.
    """

    def __init__(self, where: str) -> None:
        # Problems is typed for InputError; the solvers' checks raise OptimizationError (also a
        # PlannerError and ValueError) with the same message format.
        super().__init__(where, error=OptimizationError)  # type: ignore[arg-type]

    def add(self, problem: str, fix: str | None = None) -> None:
        super().add(problem, fix=fix)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def _check_budget(budget: Any, probs: _Problems) -> None:
    if budget is not None and not (_is_number(budget) and budget >= 0):
        probs.add(f"budget={budget!r} must be a number >= 0", "pass a non-negative budget")


def _check_method(method: str, probs: _Problems) -> None:
    if method not in METHODS:
        probs.add(f"method={method!r} is not known", f"use one of {', '.join(map(repr, METHODS))}")


def _check_bound(bound: str, probs: _Problems) -> None:
    if bound not in ("auto", "lp", "lagrangian"):
        probs.add(f"bound={bound!r} is not known", "use 'auto', 'lp' or 'lagrangian'")


def _check_limits(time_limit_s: float, mip_gap: float, probs: _Problems) -> None:
    if not (_is_number(time_limit_s) and time_limit_s > 0):
        probs.add(
            f"time_limit_s={time_limit_s!r} must be a positive number of seconds",
            "pass e.g. time_limit_s=60",
        )
    if not (_is_number(mip_gap) and 0 <= mip_gap < 1):
        probs.add(
            f"mip_gap={mip_gap!r} must be a relative gap in [0, 1)",
            "pass e.g. mip_gap=0.005 (0.5 %), or 0 to prove optimality",
        )


def _as_csr(matrix: Any, *, name: str, where: str, pattern: bool) -> sp.csr_array:
    """A fresh CSR copy (the input is never modified) with sorted indices.

    ``pattern=True`` keeps only the non-zero pattern (a boolean coverage matrix); otherwise the
    stored values are kept, including stored zeros (a time of 0 s is a real time).
    """
    if sp.issparse(matrix):
        a = sp.csr_array(matrix, copy=True)
    else:
        arr = np.asarray(matrix)
        if arr.ndim != 2:
            raise OptimizationError(
                f"{where}: {name} must be a 2-D matrix (demand units x candidate sites), got "
                f"{arr.ndim} dimension(s). Fix: pass a scipy.sparse CSR matrix."
            )
        a = sp.csr_array(arr)
    if a.ndim != 2:
        raise OptimizationError(
            f"{where}: {name} must be 2-D. Fix: pass a scipy.sparse CSR matrix."
        )
    if pattern:
        if a.dtype != np.bool_:
            data = np.asarray(a.data)
            if data.size and not np.all(np.isfinite(data.astype(float, copy=False))):
                raise OptimizationError(
                    f"{where}: {name} holds NaN or infinite values. Fix: pass a boolean or 0/1 "
                    "coverage matrix."
                )
            a = sp.csr_array(a != 0)
        a.eliminate_zeros()
    else:
        a = sp.csr_array(a, dtype=np.float64)
    a.sum_duplicates()
    a.sort_indices()
    return a


def _parts(a: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """(indptr int64, indices int32) of a CSR/CSC array, the dtypes the kernels are built for."""
    return (
        np.ascontiguousarray(a.indptr, dtype=np.int64),
        np.ascontiguousarray(a.indices, dtype=np.int32),
    )


def _check_vector(
    values: Any,
    n: int,
    *,
    name: str,
    what: str,
    probs: _Problems,
    allow_inf: bool = False,
    allow_none: bool = True,
) -> np.ndarray | None:
    if values is None:
        if not allow_none:
            probs.add(f"{name} is required", f"pass one value per {what}")
        return None
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        probs.add(f"{name} is not numeric", f"pass one number per {what}")
        return None
    if arr.size != n:
        probs.add(
            f"{name} has {arr.size} values but there are {n} {what}s",
            f"pass exactly one value per {what}",
        )
        return None
    bad = np.isnan(arr) | (arr < 0) | (~allow_inf & np.isinf(arr))
    if bad.any():
        idx = np.flatnonzero(bad)
        shown = ", ".join(str(i) for i in idx[:5]) + (
            f" and {idx.size - 5} more" if idx.size > 5 else ""
        )
        kind = "negative or NaN" if allow_inf else "negative, NaN or infinite"
        probs.add(
            f"{name} has {kind} values at positions {shown}",
            f"give every {what} a finite {name} >= 0",
        )
        return None
    return arr


def _check_mask(values: Any, n: int, *, name: str, probs: _Problems) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != n:
        probs.add(
            f"{name} has {arr.size} values but there are {n} demand units (rows)",
            "pass one boolean per row",
        )
        return np.zeros(n, dtype=bool)
    if arr.dtype != np.bool_:
        if not np.isin(arr, (0, 1)).all():
            probs.add(f"{name} must be boolean", "pass True/False per demand unit")
            return np.zeros(n, dtype=bool)
        arr = arr.astype(bool)
    return arr.copy()


def _check_p(p: Any, n_cols: int, probs: _Problems, *, name: str = "p") -> int | None:
    if p is None:
        return None
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        probs.add(f"{name}={p!r} must be a whole number of sites", f"pass e.g. {name}=10")
        return None
    p = int(p)
    if p < 1:
        probs.add(f"{name}={p} asks for fewer than one new site", f"pass {name} >= 1")
        return None
    if p > n_cols:
        probs.add(
            f"{name}={p} but there are only {n_cols} candidate sites",
            f"lower {name} to at most {n_cols} or add candidate sites",
        )
        return None
    return p


def _check_cover_inputs(
    where: str, cover: Any, weights: Any, covered_by_existing: Any
) -> tuple[sp.csr_array, _Problems, np.ndarray | None, np.ndarray]:
    """``cover`` as CSR, a fresh problem list, and the checked ``weights`` and
    ``covered_by_existing`` (one per row) of a coverage entry point."""
    A = _as_csr(cover, name="cover", where=where, pattern=True)
    probs = _Problems(where)
    w = _check_vector(
        weights,
        A.shape[0],
        name="weights",
        what="demand unit (row of cover)",
        probs=probs,
        allow_none=False,
    )
    ex = _check_mask(covered_by_existing, A.shape[0], name="covered_by_existing", probs=probs)
    return A, probs, w, ex


def _check_cover_nonempty(a: sp.csr_array, probs: _Problems, *, name: str = "cover") -> None:
    if a.shape[1] == 0:
        probs.add(f"{name} has no candidate columns", "generate candidate sites first")
    elif a.nnz == 0:
        probs.add(
            f"no candidate covers any demand unit ({name} is all zero)",
            "raise the time threshold, or add candidate sites closer to the residents",
        )


# --------------------------------------------------------------------------------------------
# Row merging
# --------------------------------------------------------------------------------------------


def _group_rows(
    a: sp.csr_array, *, values: bool, key: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows: (group of each row, first row of each group), groups in order of
    first appearance. ``values`` also compares stored values; ``key`` a per-row float key."""
    n = a.shape[0]
    if n == 0:
        return _EMPTY_INT.copy(), _EMPTY_INT.copy()
    indptr, indices = _parts(a)
    data_bits = (
        np.ascontiguousarray(a.data, dtype=np.float64).view(np.int64) if values else _EMPTY_INT
    )
    key_bits = (
        np.ascontiguousarray(key, dtype=np.float64).view(np.int64)
        if key is not None
        else _EMPTY_INT
    )
    h1, h2 = _row_hashes(indptr, indices, data_bits, key_bits)
    order = np.lexsort((h2, h1))  # stable: equal hashes keep ascending row order
    s1, s2 = h1[order], h2[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (s1[1:] != s1[:-1]) | (s2[1:] != s2[:-1])
    gid_sorted = np.cumsum(new) - 1
    group = np.empty(n, dtype=np.int64)
    group[order] = gid_sorted
    rep = order[new]  # smallest row of each hash group
    bad = _rows_equal_to_rep(indptr, indices, data_bits, key_bits, group, rep)
    if bad.any():  # a 128-bit hash collision: regroup the affected rows exactly
        logger.debug("row hash collision on %d rows; regrouping exactly", int(bad.sum()))
        exact: dict[tuple, int] = {}
        next_id = rep.size
        reps = list(rep)
        for i in np.flatnonzero(bad):
            sl = slice(indptr[i], indptr[i + 1])
            k = (
                int(group[i]),
                indices[sl].tobytes(),
                data_bits[sl].tobytes() if values else b"",
                key_bits[i].tobytes() if key is not None else b"",
            )
            if k not in exact:
                exact[k] = next_id
                reps.append(i)
                next_id += 1
            group[i] = exact[k]
        rep = np.asarray(reps, dtype=np.int64)
    perm = np.argsort(rep, kind="stable")
    new_id = np.empty(rep.size, dtype=np.int64)
    new_id[perm] = np.arange(rep.size)
    return new_id[group], rep[perm]


def _merge_rows(a: sp.csr_array, w: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Rows of ``a`` with the same covering set merged (in order of first appearance) and
    their weights ``w`` summed."""
    group, first = _group_rows(a, values=False)
    return a[first], np.bincount(group, weights=w, minlength=first.size)


def merge_identical_rows(cover: Any, weights: Any) -> MergedRows:
    """Merge demand units whose covering sets are identical, summing their weights.

    Coverage objectives depend only on which candidates cover a demand unit, so units sharing
    the same set of covering candidates can be solved as one row. Real data merge well: demand
    points that join the road network at the same node share every travel time.

    Parameters
    ----------
    cover : scipy.sparse matrix or 2-D array
        ``n_demand x n_candidates`` coverage (non-zero = covered).
    weights : array of float
        Weight (residents) of each demand unit.

    Returns
    -------
    MergedRows
        ``(cover, weights, row_of, first_row)``: the merged CSR matrix (same kind as the input
        when it is a scipy ``csr_matrix``, else ``csr_array``), summed weights, the merged row
        of every original unit, and the first original unit of every merged row.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=bool))
    >>> m = merge_identical_rows(cover, [10.0, 5.0, 2.5])
    >>> m.weights.tolist(), m.row_of.tolist()
    ([12.5, 5.0], [0, 1, 0])
    """
    a = _as_csr(cover, name="cover", where="merge_identical_rows", pattern=True)
    probs = _Problems("merge_identical_rows")
    w = _check_vector(
        weights,
        a.shape[0],
        name="weights",
        what="demand unit (row of cover)",
        probs=probs,
        allow_none=False,
    )
    probs.raise_if_any()
    assert w is not None
    group, first = _group_rows(a, values=False)
    merged = a[first]
    if isinstance(cover, sp.spmatrix):
        merged = sp.csr_matrix(merged)
    mw = np.bincount(group, weights=w, minlength=first.size) if first.size else _EMPTY_FLOAT
    return MergedRows(merged, mw, group, first)


# --------------------------------------------------------------------------------------------
