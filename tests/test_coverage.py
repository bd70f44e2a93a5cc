import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import UTM, random_roads, xy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.access import nearest_facility
from planner.coverage import OUTSIDE, admin_summary, assign_admin, coverage_table, uncovered_areas
from planner.network import build_network


def _cells(n=6, size=300.0, pop=None):
    """An n x n grid of square demand cells (metric CRS) with integer populations."""
    geoms, pops = [], []
    for i in range(n):
        for j in range(n):
            geoms.append(shapely.box(*xy(i * size, j * size), *xy((i + 1) * size, (j + 1) * size)))
            pops.append(10 * (i + 1) + j if pop is None else pop)
    return gpd.GeoDataFrame({"population": np.array(pops, dtype=float)}, geometry=geoms, crs=UTM)


def _admin():
    """Two townships (west, east halves), each with two villages (north, south)."""
    rows = []
    for t, x0 in ((0, 0), (1, 900)):
        tcode = f"41990110{t}"
        rows.append(
            (tcode, f"T{t}", "township", "419901", shapely.box(*xy(x0, 0), *xy(x0 + 900, 1800)))
        )
        for v, y0 in ((0, 0), (1, 900)):
            rows.append(
                (
                    f"{tcode}20{v}",
                    f"T{t}V{v}",
                    "village",
                    tcode,
                    shapely.box(*xy(x0, y0), *xy(x0 + 900, y0 + 900)),
                )
            )
    rows.append(("419901", "County", "county", "", shapely.box(*xy(0, 0), *xy(1800, 1800))))
    df = pd.DataFrame(
        rows, columns=["admin_code", "admin_name", "level", "parent_code", "geometry"]
    )
    df["kind"] = ""
    return gpd.GeoDataFrame(df, geometry="geometry", crs=UTM)


def test_admin_sums_at_every_level_hand_count():
    demand = _cells()
    admin = assign_admin(demand, _admin())
    t = (
        np.array([5.0] * 18 + [20.0] * 18) * 60
    )  # first 18 cells (i = 0..2: west half) within 15 min
    table = coverage_table(
        demand, t, np.zeros(36, dtype=int), minutes=15, facility_ids=np.array(["F1"]), admin=admin
    )
    s = admin_summary(table, _admin())
    total = demand["population"].sum()
    for level, g in s.groupby("level"):
        assert g["population"].sum() == pytest.approx(total), level
        assert (g["covered_population"] + g["uncovered_population"]).sum() == pytest.approx(total)
    west = s.set_index("admin_code").loc["419901100"]
    # west township: i = 0, 1, 2 and j = 0..5 -> sum(10(i+1) + j)
    assert west["population"] == sum(10 * (i + 1) + j for i in range(3) for j in range(6))
    assert west["covered_share"] == 1.0
    east = s.set_index("admin_code").loc["419901101"]
    assert east["covered_population"] == 0 and east["mean_minutes"] == pytest.approx(20.0)


def test_demand_outside_boundaries_is_counted():
    demand = _cells(n=7)  # the 7th row and column lie outside the county
    table = coverage_table(
        demand,
        np.full(49, 60.0),
        np.zeros(49, dtype=int),
        minutes=15,
        facility_ids=np.array(["F"]),
        admin=assign_admin(demand, _admin()),
    )
    s = admin_summary(table, _admin())
    out = s[s["admin_name"] == OUTSIDE]
    assert set(out["level"]) == {"county", "township", "village"}
    for _, g in s.groupby("level"):
        assert g["population"].sum() == pytest.approx(demand["population"].sum())


def test_uncovered_areas_dissolve_and_rank():
    demand = _cells(pop=100.0)
    covered = np.ones(36, dtype=bool)
    covered[[0, 1, 6]] = False  # an L of three cells in one corner
    covered[35] = False  # a lone cell in the far corner
    t = np.where(covered, 60.0, 1800.0)
    table = coverage_table(
        demand, t, np.zeros(36, dtype=int), minutes=15, facility_ids=np.array(["F"])
    )
    unc = uncovered_areas(table, crs=UTM)
    assert list(unc["rank"]) == [1, 2]
    assert list(unc["population"]) == [300.0, 100.0]
    assert unc.to_crs(UTM).area.round(0).tolist() == [3 * 300 * 300, 300 * 300]
    assert unc["mean_minutes"].tolist() == pytest.approx([30.0, 30.0])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 5000),
    mode=st.sampled_from(["walk", "drive"]),
    minutes=st.floats(1, 20),
    extra=st.floats(0.5, 10),
)
def test_coverage_monotone_in_minutes_and_facilities(seed, mode, minutes, extra):
    net = build_network(random_roads(seed), mode, crs=UTM, largest_component=False)
    rng = np.random.default_rng(seed)
    pts = gpd.GeoSeries(
        shapely.points(rng.uniform(0, 1800, (60, 2)) + [500_000, 3_800_000]), crs=UTM
    )
    pop = rng.integers(1, 100, 60).astype(float)
    fac = gpd.GeoSeries(
        shapely.points(rng.uniform(0, 1800, (3, 2)) + [500_000, 3_800_000]), crs=UTM
    )
    more = gpd.GeoSeries(
        list(fac)
        + [shapely.Point(rng.uniform(0, 1800) + 500_000, rng.uniform(0, 1800) + 3_800_000)],
        crs=UTM,
    )
    t1 = nearest_facility(net, fac, pts).time_s
    t2 = nearest_facility(net, more, pts).time_s
    assert np.all(t2 <= t1 + 1e-9)  # a facility added never makes anyone farther
    cov = lambda t, m: pop[t <= m * 60].sum()  # noqa: E731
    assert cov(t2, minutes) >= cov(t1, minutes)
    assert cov(t1, minutes + extra) >= cov(t1, minutes)


def test_residents_of_pieces_without_facility_per_unit_hand_count():
    """The no_facility_in_piece flag is summed per unit and level; NaN when the table lacks it."""
    demand = _cells(n=7)  # the 7th row and column lie outside the county
    admin = assign_admin(demand, _admin())
    t = np.full(49, 60.0)
    table = coverage_table(
        demand, t, np.zeros(49, dtype=int), minutes=15, facility_ids=np.array(["F"]), admin=admin
    )
    s = admin_summary(table, _admin())
    assert s["no_facility_in_piece_population"].isna().all()
    # cells with i == 4 (in the east township) and i == 6 (outside) are on a piece with no facility
    i = np.repeat(np.arange(7), 7)
    table["no_facility_in_piece"] = (i == 4) | (i == 6)
    table.loc[table["no_facility_in_piece"], "minutes"] = np.inf
    table.loc[table["no_facility_in_piece"], "covered"] = False
    s = admin_summary(table, _admin()).set_index(["level", "admin_code"])[
        "no_facility_in_piece_population"
    ]
    pop = demand["population"].to_numpy()
    j = np.tile(np.arange(7), 7)
    east_north = pop[(i == 4) & (j >= 3) & (j < 6)].sum()
    assert s[("township", "419901101")] == pop[(i == 4) & (j < 6)].sum()
    assert s[("township", "419901100")] == 0.0
    assert s[("village", "419901101201")] == east_north
    assert s[("county", "419901")] == pop[(i == 4) & (j < 6)].sum()
    outside, lonely = (i == 6) | (j == 6), (i == 4) | (i == 6)
    assert s[("county", "")] == pop[outside & lonely].sum()
    for level in ("county", "township", "village"):
        assert s[level].sum() == pytest.approx(pop[(i == 4) | (i == 6)].sum())
    # with no boundaries: one row for all
    assert admin_summary(table, None)["no_facility_in_piece_population"].tolist() == [
        pop[(i == 4) | (i == 6)].sum()
    ]
