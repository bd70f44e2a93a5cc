"""Facilities at the same place (several in one building, a list with duplicates) share their
isochrone polygons: drawn once, the same shapes as each drawn alone."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import shapely

import planner
from planner import _isochrone
from planner.access import isochrones


def test_same_place_groups_equal_joins_in_order():
    att = SimpleNamespace(
        edge=np.array([3, 1, 3, 3, -1, 1]),
        frac=np.array([0.5, 0.2, 0.5, 0.6, np.nan, 0.2]),
        access_s=np.array([1.0, 2.0, 1.0, 1.0, np.inf, 2.5]),
    )
    first, inverse = _isochrone.same_place(att)
    # brute force: the first row of each distinct (edge, frac, access_s), in row order
    keys = list(zip(att.edge.tolist(), att.frac.tolist(), att.access_s.tolist(), strict=True))
    seen: dict = {}
    for i, k in enumerate(keys):
        seen.setdefault(k if not np.isnan(k[1]) else ("nan", i), i)
    assert first.tolist() == sorted(seen.values()) == [0, 1, 3, 4, 5]
    assert [keys[first[j]] for j in inverse[[0, 1, 2, 3, 5]]] == [keys[i] for i in (0, 1, 2, 3, 5)]


def test_duplicated_facilities_are_drawn_once_with_the_same_shapes(monkeypatch):
    ds = planner.load_demo()
    net = planner.build_network(ds.roads, mode="walk")
    fac = ds.facilities.iloc[[0, 5, 9]].reset_index(drop=True)
    copies = pd.concat([fac, fac.iloc[[1, 1, 0]]], ignore_index=True)
    copies["facility_id"] = [f"X{i}" for i in range(len(copies))]
    alone = isochrones(net, fac, minutes=(5, 15), threads=1)
    drawn = []
    original = _isochrone.timed_pieces

    def counting(*args, **kwargs):
        drawn.append(args[-1])
        return original(*args, **kwargs)

    monkeypatch.setattr(_isochrone, "timed_pieces", counting)
    both = isochrones(net, copies, minutes=(5, 15), threads=1)
    assert len(drawn) == 3  # three places, six facilities
    assert list(both["facility_id"]) == [f"X{i}" for i in range(6)] * 2
    source = [0, 1, 2, 1, 1, 0]
    for m in (5, 15):
        got = both[both["minutes"] == m].geometry.to_numpy()
        want = alone[alone["minutes"] == m].geometry.to_numpy()
        for k, j in enumerate(source):
            assert shapely.equals_exact(got[k], want[j], tolerance=0.0)
