"""What-ifs that edit the existing facilities (close, move, change tier), study areas and the
threshold as a filter (planner/app/edits.py, planner/app/area.py, planner/app/whatif.py).

Every figure is checked against a full recomputation: ``planner.analyze`` on the data set with
the edited facility register (or at the other threshold, or summed over the picked units), and
against a hand-computed road.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import UTM, xy

import planner
from planner import app as aps
from planner.app.area import at_minutes, polygon_from_clicks, restrict
from planner.app.edits import FacilityEdits, edited_dataset, edited_result

WALK_MS = 4.8 / 3.6


@pytest.fixture(scope="module")
def walk15(demo) -> planner.CoverageResult:
    return planner.analyze(demo, mode="walk", minutes=15, isochrone_minutes=None)


def _full(ds, result, edits, **kw) -> planner.CoverageResult:
    """The reference: a whole new analysis of the data set with the edited register."""
    s = result.settings
    return planner.analyze(
        edited_dataset(ds, edits),
        mode=s.mode,
        minutes=s.minutes,
        tiers=s.tiers or None,
        isochrone_minutes=None,
        network=result.network,
        **kw,
    )


def _assert_equal_to_full(ds, result, edits, proposed=()) -> aps.WhatIf:
    w = aps.what_if(ds, result, proposed, edits=edits)
    sites = aps.proposed_frame(proposed) if proposed else None
    full = _full(ds, result, edits, add_facilities=sites)
    np.testing.assert_allclose(
        w.minutes_after, full.demand["minutes"].to_numpy(), rtol=0, atol=1e-9
    )
    assert w.covered_population_after == pytest.approx(full.covered_population, abs=1e-6)
    assert w.newly_covered_population == pytest.approx(
        full.covered_population - result.covered_population, abs=1e-6
    )
    # per township: the change equals the difference of the two admin summaries
    before = result.admin_summary.set_index(["level", "admin_code"])["covered_population"]
    after = full.admin_summary.set_index(["level", "admin_code"])["covered_population"]
    diff = (after - before).fillna(0.0)
    shown = w.per_admin.set_index(["level", "admin_code"])["newly_covered_population"]
    for k, v in diff.items():
        assert shown.get(k, 0.0) == pytest.approx(v, abs=1e-6), k
    # edited_result is the full analysis unit by unit
    er = edited_result(ds, result, edits)
    if not proposed:
        assert er.demand["nearest_facility"].tolist() == full.demand["nearest_facility"].tolist()
        assert er.demand["covered"].tolist() == full.demand["covered"].tolist()
        assert (
            er.demand["no_facility_in_piece"].tolist()
            == full.demand["no_facility_in_piece"].tolist()
        )
    # the standards after are the rules engine's on the edited register
    ref = aps.standards_units(
        edited_dataset(ds, edits),
        result,
        extra_facilities=sites,
        minutes_after=full.demand["minutes"].to_numpy(),
    )
    assert w.standards_after["status"].tolist() == ref["status"].tolist()
    np.testing.assert_allclose(
        w.standards_after["count"].to_numpy(float), ref["count"].to_numpy(float)
    )
    return w


def _busiest(result) -> str:
    own = result.demand.groupby("nearest_facility")["population"].sum()
    return str(own.sort_values().index[-1])


# ------------------------------------------------------------------------------------------
# Against a full recomputation on the demo county
# ------------------------------------------------------------------------------------------


def test_closing_a_facility_equals_a_full_recomputation(demo, walk15):
    fid = _busiest(walk15)
    w = _assert_equal_to_full(demo, walk15, FacilityEdits().close(fid))
    assert w.newly_covered_population < 0  # the busiest facility covers people nobody else does
    assert w.uncovered_population_after > walk15.total_population - walk15.covered_population
    assert len(w.newly_uncovered_areas) and set(w.newly_uncovered_areas["site_id"]) == {fid}
    # the residents it served now go to other facilities
    assert set(w.nearest_changes["old_facility"]) == {fid}
    loads = w.evaluation.loads.set_index("facility_id")
    assert loads.at[fid, "residents_after"] == 0
    assert loads["residents_after"].sum() == pytest.approx(
        walk15.demand.loc[walk15.demand["nearest_facility"] != "", "population"].sum()
    )


def test_moving_a_facility_equals_a_full_recomputation(demo, walk15):
    fid = _busiest(walk15)
    # to the largest uncovered area
    p = walk15.uncovered.geometry.representative_point().iloc[0]
    w = _assert_equal_to_full(demo, walk15, FacilityEdits().move(fid, p.x, p.y))
    assert len(w.newly_covered_areas) and len(w.newly_uncovered_areas)


def test_changing_a_tier_equals_a_full_recomputation(demo):
    # only centers count: a station made a center starts covering people
    tiers = ("community_center", "township_center")
    r = planner.analyze(demo, tiers=tiers, isochrone_minutes=None)
    fac = demo.facilities
    station = fac[fac["tier"] == "community_station"]
    uncovered = r.uncovered.geometry.representative_point().iloc[0]
    near = station.to_crs(UTM).distance(gpd.GeoSeries([uncovered], crs=4326).to_crs(UTM).iloc[0])
    near = near.sort_values().index[0]
    fid = str(station.at[near, "facility_id"])
    w = _assert_equal_to_full(demo, r, FacilityEdits().set_tier(fid, "community_center"))
    assert w.newly_covered_population > 0
    # and a tier change that keeps the facility counted changes the counts, not the coverage
    center = str(fac.loc[fac["tier"] == "community_center", "facility_id"].iloc[0])
    w2 = _assert_equal_to_full(demo, r, FacilityEdits().set_tier(center, "township_center"))
    assert w2.newly_covered_population == 0


def test_edits_and_proposed_sites_together(demo, walk15):
    fid = _busiest(walk15)
    p = walk15.uncovered.geometry.representative_point()
    proposed = ((p.iloc[1].x, p.iloc[1].y, "community_station"),)
    _assert_equal_to_full(demo, walk15, FacilityEdits().close(fid), proposed)


def test_without_edits_the_what_if_is_unchanged(demo, walk15):
    proposed = ((114.27, 34.52, "community_station"),)
    a = aps.what_if(demo, walk15, proposed)
    b = aps.what_if(demo, walk15, proposed, edits=FacilityEdits())
    assert a.newly_covered_population == b.newly_covered_population
    ev = planner.siting.evaluate_sites(walk15, aps.proposed_frame(proposed))
    assert a.newly_covered_population == ev.newly_covered_population
    assert len(a.newly_uncovered_areas) == 0


def test_facility_edits_value_and_errors(demo):
    e = FacilityEdits().close("F1").move("F2", 114.3, 34.5).set_tier("F2", "hospital")
    assert e.closed == ("F1",) and e.moved == (("F2", 114.3, 34.5),)
    assert e.retiered == (("F2", "hospital"),)
    assert e.move("F1", 114.0, 34.0).closed == ()  # moving a closed facility reopens it
    assert e.close("F2").moved == () and e.close("F2").retiered == ()
    assert not e.undo("F1").undo("F2") and hash(e) == hash(FacilityEdits(*dataclasses.astuple(e)))
    with pytest.raises(planner.InputError, match="unknown tiers"):
        FacilityEdits(retiered=(("F1", "palace"),))
    with pytest.raises(planner.InputError, match="not lon/lat"):
        FacilityEdits().move("F1", 500000.0, 3800000.0)
    with pytest.raises(planner.InputError, match="not in the register.*facility_id"):
        FacilityEdits().close("NOPE").apply(demo.facilities)
    # the input frame is not changed
    before = demo.facilities.copy()
    FacilityEdits().close(str(before["facility_id"].iloc[0])).apply(demo.facilities)
    assert demo.facilities.equals(before)


# ------------------------------------------------------------------------------------------
# A hand-computed road
# ------------------------------------------------------------------------------------------


def _road_case() -> planner.Dataset:
    """A straight 2 km road; F1 at 0 m, F2 at 2000 m; 100 residents at 400 m, 200 at 1600 m."""
    road = gpd.GeoDataFrame(
        {
            "highway": ["residential"],
            "oneway": np.array([0], dtype=np.int8),
            "maxspeed_kmh": [np.nan],
        },
        geometry=[shapely.LineString([xy(0, 0), xy(2000, 0)])],
        crs=UTM,
    )
    fac = gpd.GeoDataFrame(
        {
            "facility_id": ["F1", "F2"],
            "name": ["one", "two"],
            "tier": ["community_station", "community_station"],
        },
        geometry=[shapely.Point(xy(0, 0)), shapely.Point(xy(2000, 0))],
        crs=UTM,
    )
    pop = gpd.GeoDataFrame(
        {"population": [100.0, 200.0]},
        geometry=[shapely.Point(xy(400, 0)), shapely.Point(xy(1600, 0))],
        crs=UTM,
    )
    return planner.Dataset(
        roads=road.to_crs(4326), facilities=fac.to_crs(4326), population=pop.to_crs(4326)
    )


def test_hand_case_close_move_and_tier():
    ds = _road_case()
    r = planner.analyze(ds, minutes=10, isochrone_minutes=None)  # 10 min walk = 800 m
    np.testing.assert_allclose(r.demand["minutes"], [400 / WALK_MS / 60, 400 / WALK_MS / 60])
    assert r.covered_population == 300
    # closing F2: the 200 residents walk 1600 m to F1 (20 min), uncovered
    w = aps.what_if(ds, r, (), edits=FacilityEdits().close("F2"))
    np.testing.assert_allclose(w.minutes_after, [400 / WALK_MS / 60, 1600 / WALK_MS / 60])
    assert w.newly_covered_population == -200 and w.uncovered_population_after == 200
    assert w.nearest_changes[["old_facility", "new_site"]].values.tolist() == [["F2", "F1"]]
    # moving F2 to 1000 m: they walk 600 m to it
    x, y = gpd.GeoSeries([shapely.Point(xy(1000, 0))], crs=UTM).to_crs(4326).iloc[0].coords[0]
    w = aps.what_if(ds, r, (), edits=FacilityEdits().move("F2", x, y))
    np.testing.assert_allclose(w.minutes_after, [400 / WALK_MS / 60, 600 / WALK_MS / 60], atol=1e-6)
    assert w.newly_covered_population == 0
    # F2 made a hospital while only stations count: as closed
    r2 = planner.analyze(ds, minutes=10, tiers=("community_station",), isochrone_minutes=None)
    w = aps.what_if(ds, r2, (), edits=FacilityEdits().set_tier("F2", "hospital"))
    assert w.newly_covered_population == -200
    # every facility closed: nobody is covered, no error
    w = aps.what_if(ds, r, (), edits=FacilityEdits().close("F1").close("F2"))
    assert w.covered_population_after == 0 and np.isinf(w.minutes_after).all()


# ------------------------------------------------------------------------------------------
# The threshold as a filter; study areas
# ------------------------------------------------------------------------------------------


def test_at_minutes_equals_a_new_analysis(demo, walk15):
    for m in (5, 10, 22):
        fast = at_minutes(walk15, m)
        full = planner.analyze(demo, minutes=m, isochrone_minutes=None, network=walk15.network)
        assert fast.settings == full.settings
        assert fast.covered_population == full.covered_population
        assert fast.demand["covered"].tolist() == full.demand["covered"].tolist()
        a = fast.admin_summary.set_index(["level", "admin_code"])
        b = full.admin_summary.set_index(["level", "admin_code"])
        np.testing.assert_allclose(
            a["covered_population"], b.loc[a.index, "covered_population"], atol=1e-6
        )
        assert len(fast.uncovered) == len(full.uncovered)
        assert fast.uncovered["population"].sum() == pytest.approx(
            full.uncovered["population"].sum()
        )


def test_study_area_of_picked_townships_equals_their_summary(demo, walk15):
    s = walk15.admin_summary
    towns = s[s["level"] == "township"].head(2)
    sub = restrict(walk15, admin_codes=towns["admin_code"])
    assert sub.total_population == pytest.approx(towns["population"].sum())
    assert sub.covered_population == pytest.approx(towns["covered_population"].sum())
    assert set(
        sub.admin_summary.loc[sub.admin_summary["level"] == "township", "admin_code"]
    ) == set(towns["admin_code"])
    # a what-if on the study area counts only residents inside it
    p = walk15.uncovered.geometry.representative_point().iloc[0]
    w_all = aps.what_if(demo, walk15, ((p.x, p.y, "community_station"),))
    w_sub = aps.what_if(demo, sub, ((p.x, p.y, "community_station"),))
    inside = w_all.per_admin[
        (w_all.per_admin["level"] == "township")
        & w_all.per_admin["admin_code"].isin(towns["admin_code"])
    ]["newly_covered_population"].sum()
    assert w_sub.newly_covered_population == pytest.approx(inside)


def test_study_area_polygon_from_clicks(walk15):
    pts = walk15.demand.geometry.representative_point()
    x0, y0, x1, y1 = pts.total_bounds
    xm = (x0 + x1) / 2
    poly = polygon_from_clicks(
        [(x0 - 0.01, y0 - 0.01), (xm, y0 - 0.01), (xm, y1 + 0.01), (x0 - 0.01, y1 + 0.01)]
    )
    sub = restrict(walk15, polygon=poly)
    west = (pts.x <= xm).to_numpy()
    d = walk15.demand
    assert sub.total_population == pytest.approx(d.loc[west, "population"].sum())
    assert sub.covered_population == pytest.approx(d.loc[west & d["covered"], "population"].sum())
    with pytest.raises(planner.InputError, match="at least 3 corners"):
        polygon_from_clicks([(0, 0), (1, 1)])
    with pytest.raises(planner.InputError, match="crosses itself"):
        polygon_from_clicks([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(planner.InputError, match="nobody lives inside"):
        restrict(walk15, polygon=shapely.box(0, 0, 1, 1))


def test_derived_results_share_the_demand_join(walk15):
    """at_minutes, restrict and edited_result reuse the demand's join to the network: the
    same join a fresh one gives (so the what-ifs on them need no second spatial query)."""
    from planner import siting

    s = walk15.admin_summary
    codes = s.loc[s["level"] == "township", "admin_code"].head(1)
    for derived in (at_minutes(walk15, 12), restrict(walk15, admin_codes=codes)):
        shared = siting.demand_attachment(derived)
        fresh = walk15.network.snap(derived.demand.geometry.representative_point())
        np.testing.assert_array_equal(shared.u, fresh.u)
        np.testing.assert_array_equal(shared.v, fresh.v)
        np.testing.assert_allclose(shared.to_u_s, fresh.to_u_s)
        np.testing.assert_array_equal(shared.reachable, fresh.reachable)


def test_other_tiers_from_a_result_equal_a_new_analysis(demo, walk15):
    """The app's tier change: the demand's join reused, one search, the analysis' numbers."""
    for tiers in (("village_clinic", "township_center"), ("community_station",)):
        fast = edited_result(demo, walk15, FacilityEdits(), tiers=tiers)
        full = planner.analyze(demo, tiers=tiers, isochrone_minutes=None, network=walk15.network)
        assert fast.settings == full.settings
        assert fast.demand["nearest_facility"].tolist() == full.demand["nearest_facility"].tolist()
        np.testing.assert_allclose(
            fast.demand["minutes"], full.demand["minutes"], rtol=0, atol=1e-9
        )
        assert fast.covered_population == full.covered_population
        assert fast.facilities["facility_id"].tolist() == full.facilities["facility_id"].tolist()
        a = fast.admin_summary.set_index(["level", "admin_code"])["covered_population"]
        b = full.admin_summary.set_index(["level", "admin_code"])["covered_population"]
        np.testing.assert_allclose(a, b.loc[a.index], atol=1e-6)
    with pytest.raises(planner.InputError, match="no facilities of tiers"):
        small = planner.Dataset(
            roads=demo.roads, facilities=demo.facilities[demo.facilities["tier"] == "hospital"]
        )
        edited_result(small, walk15, FacilityEdits(), tiers=("village_clinic",))
