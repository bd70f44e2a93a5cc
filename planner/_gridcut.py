"""Cutting polygons by one grid of square cells (documented internal, shared by load and popspread).

Both :func:`planner.load.read_population` (population polygons split into cells) and
:mod:`planner.popspread` (units spread over residential land) cut polygons by the same grid,
anchored at 0 so that neighbouring polygons share cells. One function does it, so the two paths
treat edges that sit a hair off a grid line (reprojection moves them by ~1e-9 of a cell) alike.
"""

from __future__ import annotations

import numpy as np
import shapely

from ._errors import InputError

#: Of a cell: bounds this close to a grid line count as on it (no extra row/column of slivers).
GRID_EPS = 1e-6

__all__ = ["GRID_EPS", "grid_cut", "polygonal"]


def polygonal(values: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of GeometryCollections (e.g. from make_valid or a clip)."""
    out = values.copy()
    for i in np.flatnonzero(shapely.get_type_id(values) == 7):
        parts = shapely.get_parts(shapely.get_parts(values[i]))
        polys = parts[shapely.get_type_id(parts) == 3]
        out[i] = shapely.multipolygons(polys) if len(polys) != 1 else polys[0]
    return out


def grid_cut(
    polys: np.ndarray, cell_m: float, *, source: str, fix: str
) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons (projected, metres) by one grid of ``cell_m`` squares anchored at 0.

    Parameters
    ----------
    polys : numpy.ndarray of shapely geometries
        Polygons in a metric CRS.
    cell_m : float
        Cell side in metres.
    source : str
        Names the input in the error raised when the grid would be too large.
    fix : str
        The fix that error proposes (e.g. ``"pass a larger cell_m="``).

    Returns
    -------
    pieces, owner : numpy.ndarray
        The polygonal pieces (slivers below 1e-6 of a cell dropped) and the position in
        ``polys`` of the polygon each comes from.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> pieces, owner = grid_cut(np.array([shapely.box(0, 0, 200, 100)]), 100.0, source="x", fix="")
    >>> len(pieces), owner.tolist()
    (2, [0, 0])
    """
    bounds = shapely.bounds(polys)
    x0 = np.floor(bounds[:, 0] / cell_m + GRID_EPS) * cell_m
    y0 = np.floor(bounds[:, 1] / cell_m + GRID_EPS) * cell_m
    nx = np.maximum(np.ceil((bounds[:, 2] - x0) / cell_m - GRID_EPS), 1).astype(np.int64)
    ny = np.maximum(np.ceil((bounds[:, 3] - y0) / cell_m - GRID_EPS), 1).astype(np.int64)
    counts = nx * ny
    total = int(counts.sum())
    if total > 20_000_000:
        raise InputError(
            f"{source}: {cell_m:g} m cells over these polygons would make {total:,} cells. "
            f"Fix: {fix}."
        )
    owner = np.repeat(np.arange(len(polys)), counts)
    local = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    bx = x0[owner] + (local % nx[owner]) * cell_m
    by = y0[owner] + (local // nx[owner]) * cell_m
    boxes = shapely.box(bx, by, bx + cell_m, by + cell_m)
    shapely.prepare(polys)
    hit = shapely.intersects(polys[owner], boxes)
    owner, boxes = owner[hit], boxes[hit]
    pieces = polygonal(shapely.intersection(boxes, polys[owner]))
    # slivers (< 1e-6 of a cell, from edges a hair off the grid) place no one
    keep = np.isin(shapely.get_type_id(pieces), (3, 6)) & (
        shapely.area(pieces) > 1e-6 * cell_m * cell_m
    )
    return pieces[keep], owner[keep]
