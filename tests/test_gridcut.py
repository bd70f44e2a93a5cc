"""The one grid cut shared by load (population polygons) and popspread (population tables)."""

import numpy as np
import shapely

from planner import load, popspread
from planner._gridcut import grid_cut


def _shift(cell_m: float) -> np.ndarray:
    # bounds 1e-9 of a cell off the grid lines on every side (what reprojection does to a
    # polygon drawn on the grid)
    e = 1e-9 * cell_m
    return np.array([shapely.box(-e, 100.0 + e, 200.0 + e, 300.0 - e)])


def test_edge_a_hair_off_the_grid_same_in_both_paths():
    cell_m = 100.0
    polys = _shift(cell_m)
    pieces, owner = grid_cut(polys, cell_m, source="t", fix="f")
    # 2 x 2 cells, no sliver row or column
    assert len(pieces) == 4 and owner.tolist() == [0, 0, 0, 0]
    np.testing.assert_allclose(shapely.area(pieces).sum(), shapely.area(polys[0]))
    spread_pieces, spread_owner = popspread._cells(polys, cell_m)
    load_pieces, load_pop, load_owner = load.population._split_polygons(
        polys, np.array([400.0]), cell_m, source="t"
    )
    assert shapely.equals(spread_pieces, load_pieces).all()
    assert spread_owner.tolist() == load_owner.tolist()
    np.testing.assert_allclose(load_pop, [100.0] * 4)
    np.testing.assert_allclose(load_pop.sum(), 400.0, rtol=1e-12)


def test_grid_is_anchored_at_zero_for_neighbours():
    polys = np.array([shapely.box(0, 0, 150, 100), shapely.box(150, 0, 300, 100)])
    pieces, owner = grid_cut(polys, 100.0, source="t", fix="f")
    # the cell 100..200 is shared by both polygons, each keeping its half
    assert owner.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(shapely.area(pieces), [1e4, 5e3, 5e3, 1e4])
