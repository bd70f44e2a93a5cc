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
