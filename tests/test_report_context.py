"""The maps written for people (map.html, the reports) carry the roads and place names the app
draws, so they read offline without tiles."""

from __future__ import annotations

import json
import re

import pytest

from planner import report


@pytest.fixture(scope="module")
def walk15():
    import planner

    return planner.analyze(planner.load_demo(), mode="walk", minutes=15)


def test_coverage_map_draws_roads_and_names(walk15):
    html = report.coverage_map(walk15, lang="zh").get_root().render()
    bare = report.coverage_map(walk15, lang="zh", context=False).get_root().render()
    # every township name of the demo is drawn as a place label with context, none without
    # (the names are also in the boundaries' tooltips, in both)
    names = walk15.boundaries.loc[walk15.boundaries["level"] == "township", "admin_name"]
    assert len(names) > 3
    rows = [json.loads(m) for m in re.findall(r"\}\)\(\w+, (\[\[.*?\]\])\);", html)]
    labels = {r[2] for group in rows for r in group if r[3] == "township"}
    assert set(names) <= labels
    assert "planner-place planner-place-" in html and "planner-place planner-place-" not in bare
    # the roads layer is present (and listed in the layer control) only with context
    assert "plannerRoads" in html and "plannerRoads" not in bare


def test_every_map_uses_one_set_of_uncovered_classes():
    from planner import maps, printmap

    assert printmap.UNCOVERED_BREAKS == (0.0, *map(float, maps.UNCOVERED_BREAKS))
    assert printmap.UNCOVERED_COLORS == maps.UNCOVERED_COLORS
    assert len(printmap.UNCOVERED_COLORS) == len(printmap.UNCOVERED_BREAKS)
