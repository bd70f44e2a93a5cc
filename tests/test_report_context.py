"""The maps written for people (map.html, the reports) carry the roads and place names the app
draws, so they read offline without tiles."""

from __future__ import annotations

import pytest

from planner import report


@pytest.fixture(scope="module")
def walk15():
    import planner

    return planner.analyze(planner.load_demo(), mode="walk", minutes=15)


def test_coverage_map_draws_roads_and_names(walk15):
    html = report.coverage_map(walk15, lang="zh").get_root().render()
    bare = report.coverage_map(walk15, lang="zh", context=False).get_root().render()
    # every township name of the demo is on the map with context, none without
    names = walk15.boundaries.loc[walk15.boundaries["level"] == "township", "admin_name"]
    assert len(names) > 3
    assert all(n in html for n in names)
    assert not any(n in bare for n in names)
    # the roads layer is present (and listed in the layer control) only with context
    assert "plannerRoads" in html and "plannerRoads" not in bare


def test_every_map_uses_one_set_of_uncovered_classes():
    from planner import maps, printmap

    assert printmap.UNCOVERED_BREAKS == (0.0, *map(float, maps.UNCOVERED_BREAKS))
    assert printmap.UNCOVERED_COLORS == maps.UNCOVERED_COLORS
    assert len(printmap.UNCOVERED_COLORS) == len(printmap.UNCOVERED_BREAKS)
