"""Population groups (issue 13, "Population groups"): residents aged 65+, under 5, ... carried as
``pop_<group>`` columns beside the total, reported per admin unit and usable as optimizer weights."""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import ROOT, UTM, xy

import planner
from planner import cli, report, siting
from planner.coverage import LEVELS, group_coverage, group_name, group_weights, population_groups
from planner.pipeline import DEMO_GROUP_SHARES, Dataset, demo_population_groups
from planner.popspread import read_population_table, township_totals

WALK_MS = 4.8 / 3.6


def _line_roads(xs):
    """Residential road along y=0 with a junction at every x of ``xs`` (metres, EPSG:32650)."""
    lines = [shapely.LineString([xy(a, 0), xy(b, 0)]) for a, b in zip(xs[:-1], xs[1:], strict=True)]
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "highway": ["residential"] * n,
            "oneway": np.zeros(n, dtype=np.int8),
            "maxspeed_kmh": np.full(n, np.nan),
        },
        geometry=lines,
        crs=UTM,
    )


def _points(*coords, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(xy(*c)) for c in coords], crs=UTM)


# --- reading ----------------------------------------------------------------------------------


def test_group_names_are_canonical():
    assert group_name("65+") == group_name("pop_65plus") == group_name("65plus") == "65plus"
    assert group_name("pop_Under5") == "under5"


def test_table_columns_are_detected_and_named():
    df = pd.DataFrame(
        {
            "lon": [114.30, 114.31],
            "lat": [34.80, 34.81],
            "人口": [250, 100],
            "65岁及以上": [40, 30],
            "0-4岁": [10, "5"],
            "other": [1, 2],
        }
    )
    p = planner.read_population(df)
    assert population_groups(p) == ["65plus", "under5"]
    assert p["pop_65plus"].tolist() == [40.0, 30.0]
    assert p["pop_under5"].tolist() == [10.0, 5.0]
    assert "other" in p.columns and "65岁及以上" not in p.columns  # consumed, not repeated
    # explicit mapping: only those, with canonical names
    q = planner.read_population(df, groups={"65+": "65岁及以上"})
    assert population_groups(q) == ["65plus"]
    assert "0-4岁" in q.columns  # left as an ordinary source column


def test_other_years_of_the_total_are_not_groups():
    # the columns of ../shared/data/county_population.csv: Pop_2018 is mostly empty
    df = pd.DataFrame(
        {
            "lon": [114.30],
            "lat": [34.80],
            "Pop_2000": [100.0],
            "Pop_2010": [120.0],
            "Pop_2018": [None],
            "pop_density": [3.0],
            "pop_15_64": [80.0],
        }
    )
    p = planner.read_population(df, column="Pop_2010")
    assert population_groups(p) == ["15_64"]
    assert p["Pop_2018"].isna().all() and p["src_pop_density"].tolist() == [3.0]
    with pytest.raises(planner.InputError, match="the group name has no letter a-z or digit"):
        planner.read_population(df, column="Pop_2010", groups={"女性": "Pop_2000"})


def test_bad_group_values_and_columns_are_named():
    df = pd.DataFrame(
        {"lon": [114.30, 114.31], "lat": [34.80, 34.81], "pop": [250, 100], "pop_65plus": [40, -3]}
    )
    with pytest.raises(
        planner.InputError,
        match=r"group '65plus' \(column 'pop_65plus'\) has negative values in row 1",
    ):
        planner.read_population(df)
    df["pop_65plus"] = [40, None]
    with pytest.raises(planner.InputError, match="missing or non-numeric values in row 1"):
        planner.read_population(df)
    with pytest.raises(
        planner.InputError, match=r"groups=\{'65\+': 'aged65'\}: no column 'aged65'"
    ):
        planner.read_population(df.drop(columns="pop_65plus"), groups={"65+": "aged65"})
    df["pop_65plus"] = [400, 10]
    with pytest.warns(planner.InputWarning, match="larger than the total population in row 0"):
        planner.read_population(df)


def test_group_residents_of_empty_rows_are_not_lost_silently():
    df = pd.DataFrame(
        {"lon": [114.30, 114.31], "lat": [34.80, 34.81], "pop": [250, 0], "pop_65plus": [40, 12]}
    )
    with pytest.warns(planner.InputWarning) as rec:  # also: larger than the total in row 1
        p = planner.read_population(df)
    assert any(
        "rows with population 0 hold residents of groups (65plus: 12)" in str(w.message)
        for w in rec
    )
    assert p["pop_65plus"].tolist() == [40.0]
    ds = planner.load_demo()
    tw = ds.boundaries[ds.boundaries["level"] == "township"].head(2)
    table = pd.DataFrame(
        {"code": tw["admin_code"].to_numpy(), "population": [1000.0, 0.0], "65+": [100.0, 7.0]}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_population_table(table, ds.boundaries, spread="uniform")
    assert any(
        "units with population 0 have residents of groups (65plus: 7)" in str(w.message)
        for w in caught
    )


def test_split_polygon_shares_groups_like_the_total():
    box = shapely.box(114.30, 34.80, 114.31, 34.81)
    g = gpd.GeoDataFrame(
        {"population": [1000.0, 10.0], "pop_65plus": [150.0, 4.0]},
        geometry=[box, shapely.box(114.32, 34.80, 114.3205, 34.8005)],
        crs=4326,
    )
    p = planner.read_population(g)
    assert len(p) > 50  # the big one was cut into 100 m cells
    big = p["source_index"] == 0
    np.testing.assert_allclose(p.loc[big, "pop_65plus"].sum(), 150.0, rtol=1e-12)
    np.testing.assert_allclose(
        p.loc[big, "pop_65plus"] / p.loc[big, "population"], 0.15, rtol=1e-12
    )
    np.testing.assert_allclose(p.loc[~big, "pop_65plus"].sum(), 4.0, rtol=1e-12)


def test_group_rasters_on_the_population_grid(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import Affine

    def from_origin(west, north, dx, dy):
        return Affine(dx, 0.0, west, 0.0, -dy, north)

    tr = from_origin(114.30, 34.81, 0.001, 0.001)

    def write(name, arr, transform=tr):
        path = tmp_path / name
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            height=arr.shape[0],
            width=arr.shape[1],
            count=1,
            dtype="float32",
            crs="EPSG:4326",
            transform=transform,
            nodata=-99999,
        ) as dst:
            dst.write(arr.astype(np.float32), 1)
        return path

    total = write("total.tif", np.array([[10, 0, 20], [5, 40, -99999]]))
    f65 = write("f65.tif", np.array([[1, 0, 2], [0, 3, 0]]))
    m65 = write("m65.tif", np.array([[2, 0, 1], [1, 2, -99999]]))
    u5 = write("u5.tif", np.array([[0, 7, 1], [0, 2, 0]]))  # 7 where nobody lives
    with pytest.warns(
        planner.InputWarning, match="7 residents of group 'under5' lie in cells where the total"
    ):
        p = planner.read_population(total, groups={"65+": [f65, m65], "under5": u5})
    cells = {(r, c): i for i, (r, c) in enumerate(zip(p["row"], p["col"], strict=True))}
    assert sorted(cells) == [(0, 0), (0, 2), (1, 0), (1, 1)]
    assert [p["pop_65plus"][cells[k]] for k in sorted(cells)] == [3.0, 3.0, 1.0, 5.0]
    assert [p["pop_under5"][cells[k]] for k in sorted(cells)] == [0.0, 1.0, 0.0, 2.0]
    other = write("other.tif", np.ones((2, 3)), transform=from_origin(114.40, 34.81, 0.001, 0.001))
    with pytest.raises(
        planner.InputError, match="other.tif: the raster of group '65plus' is not on the grid"
    ):
        planner.read_population(total, groups={"65plus": other})


# --- coverage per group -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_units():
    """A 3 km road, one facility at its west end; three units at 100, 1000 and 2500 m along it."""
    roads = _line_roads([0, 1000, 2000, 3000])
    fac = _points((0, 0), facility_id=["F1"], tier=["community_station"])
    pop = _points(
        (100, 0),
        (1000, 0),
        (2500, 0),
        population=[100.0, 200.0, 300.0],
        pop_65plus=[30.0, 10.0, 90.0],
        pop_under5=[5.0, 20.0, 15.0],
    )
    ds = Dataset(
        roads=roads.to_crs(4326),
        facilities=fac.to_crs(4326),
        population=planner.read_population(pop.to_crs(4326), cell_m=20),
    )
    return planner.analyze(ds, mode="walk", minutes=15, isochrone_minutes=None)


def test_three_units_by_hand(three_units):
    res = three_units
    # walking 4.8 km/h: 15 min = 1200 m, so the units at 100 and 1000 m are covered, 2500 m is not
    assert res.demand["covered"].tolist() == [True, True, False]
    gc = group_coverage(res.demand).set_index("group")
    assert gc.loc["total", ["population", "covered_population"]].tolist() == [600.0, 300.0]
    assert gc.loc["65plus", ["population", "covered_population"]].tolist() == [130.0, 40.0]
    assert gc.loc["under5", ["population", "covered_population"]].tolist() == [40.0, 25.0]
    s = res.admin_summary.iloc[0]
    assert (s["population_65plus"], s["covered_population_65plus"]) == (130.0, 40.0)
    assert s["covered_share_65plus"] == pytest.approx(40 / 130)
    assert (s["population_under5"], s["covered_population_under5"]) == (40.0, 25.0)
    assert s["covered_share_under5"] == pytest.approx(25 / 40)
    # the uncovered area (the unit at 2500 m) says who lives there
    assert res.uncovered[["population", "pop_65plus", "pop_under5"]].values.tolist() == [
        [300.0, 90.0, 15.0]
    ]
    text = "\n".join(report.summary_lines(res))
    assert "of them aged 65+: 130, covered 40 (30.8 %), uncovered 90" in text
    assert "of them aged under 5: 40, covered 25 (62.5 %), uncovered 15" in text


def test_summary_csv_keeps_its_columns_first(three_units):
    tab = report.summary_table(three_units)
    assert list(tab.columns[: len(report.SUMMARY_COLUMNS)]) == report.SUMMARY_COLUMNS
    assert list(tab.columns[len(report.SUMMARY_COLUMNS) :]) == [
        "population_65plus",
        "covered_population_65plus",
        "covered_share_65plus",
        "population_under5",
        "covered_population_under5",
        "covered_share_under5",
    ]


@pytest.fixture(scope="module")
def demo_walk():
    return planner.analyze(planner.load_demo(), mode="walk", minutes=15, isochrone_minutes=None)


def test_demo_group_sums_per_level(demo_walk):
    d, s = demo_walk.demand, demo_walk.admin_summary
    assert population_groups(d) == ["65plus", "under5"]
    for g in ("65plus", "under5"):
        w = d[f"pop_{g}"].to_numpy(float)
        assert (s[f"covered_population_{g}"] <= s[f"population_{g}"] + 1e-9).all()
        for level in [lv for lv in LEVELS if f"{lv}_code" in d.columns]:
            rows = s[s["level"] == level]
            # every level adds up to the group's total (the "(outside boundaries)" row included)
            assert rows[f"population_{g}"].sum() == pytest.approx(w.sum(), rel=1e-9)
            assert rows[f"covered_population_{g}"].sum() == pytest.approx(
                w[d["covered"]].sum(), rel=1e-9
            )
            # and each unit's figure is the plain sum over its demand units (independent groupby)
            by_code = (
                pd.Series(w * d["covered"].to_numpy()).groupby(d[f"{level}_code"].to_numpy()).sum()
            )
            got = rows.set_index("admin_code")[f"covered_population_{g}"]
            np.testing.assert_allclose(
                got.to_numpy(), by_code.reindex(got.index).fillna(0).to_numpy(), rtol=1e-9
            )


def test_demo_groups_are_deterministic_and_documented(demo_walk):
    a = planner.load_demo().population
    b = planner.load_demo().population
    pd.testing.assert_frame_equal(a[["pop_65plus", "pop_under5"]], b[["pop_65plus", "pop_under5"]])
    assert (a["pop_65plus"] + a["pop_under5"] < a["population"]).all()
    ds = planner.load_demo()
    # shares: plausible overall and higher in rural townships than in the urban subdistricts
    tw = ds.boundaries[ds.boundaries["level"] == "township"].set_index("admin_code")["kind"]
    kind = demo_walk.demand["township_code"].map(tw).to_numpy()
    pop = demo_walk.demand["population"].to_numpy()
    for g, shares in DEMO_GROUP_SHARES.items():
        w = demo_walk.demand[f"pop_{g}"].to_numpy()
        urban = w[kind == "subdistrict"].sum() / pop[kind == "subdistrict"].sum()
        rural = w[kind != "subdistrict"].sum() / pop[kind != "subdistrict"].sum()
        assert urban == pytest.approx(shares["subdistrict"], rel=0.05)
        assert rural == pytest.approx(shares["rural"], rel=0.05)
        assert rural > urban
    # the data files are untouched: the groups are derived from the raster at load time
    plain = planner.read_population(ROOT / "data" / "population" / "demo_population.tif")
    assert population_groups(plain) == []
    again = demo_population_groups(plain, ds.boundaries)
    np.testing.assert_array_equal(again["pop_65plus"].to_numpy(), a["pop_65plus"].to_numpy())
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    outside = re.sub(
        r"<!-- BEGIN make_demo summary.*?<!-- END make_demo summary -->", "", readme, flags=re.S
    )
    assert "pop_65plus" in outside and "pop_under5" in outside and "synthetic" in outside


# --- population tables ------------------------------------------------------------------------


def test_population_table_preserves_each_group_per_unit():
    ds = planner.load_demo()
    tw = ds.boundaries[ds.boundaries["level"] == "township"]
    n = len(tw)
    table = pd.DataFrame(
        {
            "区划代码": tw["admin_code"].to_numpy(),
            "常住人口": np.arange(n) * 1000.0 + 5000.0,
            "65岁及以上": np.arange(n) * 150.0 + 701.0,
            "0-4岁": (np.arange(n) % 3) * 100.0 + 250.0,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.InputWarning)
        p = read_population_table(table, ds.boundaries, roads=ds.roads)
    assert population_groups(p) == ["65plus", "under5"]
    back = township_totals(p, ds.boundaries).set_index("admin_code").loc[table["区划代码"]]
    np.testing.assert_allclose(
        back["population"].to_numpy(), table["常住人口"].to_numpy(), rtol=1e-9
    )
    np.testing.assert_allclose(
        back["pop_65plus"].to_numpy(), table["65岁及以上"].to_numpy(), rtol=1e-9
    )
    np.testing.assert_allclose(back["pop_under5"].to_numpy(), table["0-4岁"].to_numpy(), rtol=1e-9)
    # spread like the total: the same share of the unit in every demand unit
    np.testing.assert_allclose(
        (p["pop_65plus"] / p["population"]).groupby(p["admin_code"]).std().fillna(0).to_numpy(),
        0,
        atol=1e-12,
    )


# --- optimizer weights ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def elderly_elsewhere():
    """Most residents live at 3 km along a 6 km road, most of the old at 5.5 km."""
    xs = [0, 1000, 2000, 3000, 4000, 5000, 5500, 6000]
    roads = _line_roads(xs)
    fac = _points((0, 0), facility_id=["F1"], tier=["community_station"])
    pop = _points(
        (3000, 0),
        (3100, 0),
        (5500, 0),
        (5400, 0),
        population=[600.0, 400.0, 150.0, 100.0],
        pop_65plus=[20.0, 10.0, 90.0, 70.0],
    )
    ds = Dataset(
        roads=roads.to_crs(4326),
        facilities=fac.to_crs(4326),
        population=planner.read_population(pop.to_crs(4326), cell_m=20),
    )
    res = planner.analyze(ds, mode="walk", minutes=15, isochrone_minutes=None)
    cands = _points(
        *[(x, 0) for x in xs[1:]],
        site_id=[f"S{x}" for x in xs[1:]],
        tier=["community_station"] * (len(xs) - 1),
    ).to_crs(4326)
    return ds, res, cands


def _brute_force(ds, cands, group):
    """The candidate that covers most of ``group``, by a full coverage analysis per candidate."""
    best = {}
    for i in range(len(cands)):
        add = cands.iloc[[i]].rename(columns={"site_id": "facility_id"})
        r = planner.analyze(ds, mode="walk", minutes=15, isochrone_minutes=None, add_facilities=add)
        best[cands["site_id"].iloc[i]] = (
            group_coverage(r.demand).set_index("group").loc[group, "covered_population"]
        )
    top = max(best.values())
    return {k for k, v in best.items() if v == top}, top


def test_weight_changes_the_chosen_site(elderly_elsewhere):
    ds, res, cands = elderly_elsewhere
    everyone = siting.propose_sites(res, new_sites=1, candidates=cands, method="exact")
    old = siting.propose_sites(res, new_sites=1, candidates=cands, method="exact", weight="65+")
    best_all, _ = _brute_force(ds, cands, "total")
    best_old, top_old = _brute_force(ds, cands, "65plus")
    assert best_all.isdisjoint(best_old)  # the case is built so that the two questions differ
    assert everyone.proposals["site_id"].iloc[0] in best_all
    assert old.proposals["site_id"].iloc[0] in best_old
    # the objective counts the group's residents newly covered
    before = group_coverage(res.demand).set_index("group").loc["65plus", "covered_population"]
    assert old.solution.objective == pytest.approx(top_old - before)


def test_unknown_weight_names_the_groups(three_units, elderly_elsewhere):
    with pytest.raises(planner.InputError, match=r"weight='80\+'.*groups present: 65plus, under5"):
        siting.propose_sites(three_units, new_sites=1, weight="80+")
    with pytest.raises(planner.InputError, match="groups present: none"):
        group_weights(three_units.demand.drop(columns=["pop_65plus", "pop_under5"]), "65plus")


def test_cli_optimize_weight(tmp_path, elderly_elsewhere, capsys):
    ds, _, cands = elderly_elsewhere
    roads = tmp_path / "roads.gpkg"
    ds.roads.to_file(roads)
    fac = tmp_path / "fac.csv"
    pd.DataFrame(
        {
            "facility_id": ["F1"],
            "name": ["站"],
            "type": ["社区卫生服务站"],
            "lon": ds.facilities.geometry.x,
            "lat": ds.facilities.geometry.y,
        }
    ).to_csv(fac, index=False)
    pop = tmp_path / "pop.gpkg"
    ds.population.to_file(pop)
    cand = tmp_path / "cand.csv"
    pd.DataFrame(
        {"site_id": cands["site_id"], "lon": cands.geometry.x, "lat": cands.geometry.y}
    ).to_csv(cand, index=False)
    base = [
        "optimize",
        "--roads",
        str(roads),
        "--facilities",
        str(fac),
        "--population",
        str(pop),
        "--candidates",
        str(cand),
        "--new-sites",
        "1",
        "--no-map",
        "--quiet",
    ]
    assert cli.main([*base, "--weight", "65+", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "before: 0 of 190 residents of group 65+ within 15 min (0.0 %)" in out
    assert "after: 160 of 190 residents of group 65+ within 15 min (84.2 %)" in out
    assert cli.main([*base, "--weight", "80+", "--out", str(tmp_path / "p")]) != 0
    err = capsys.readouterr().err
    assert "--weight 80+" in err and "weight=" not in err


# --- the compliance report --------------------------------------------------------------------


def test_compliance_report_shows_groups(three_units, demo_walk, tmp_path):
    from planner import compliance

    rep = compliance.compliance_report(three_units)
    eq = rep.equity[rep.equity["metric"] == "group_covered_share"].set_index("group")["value"]
    assert eq.to_dict() == pytest.approx(
        {"all residents": 300 / 600, "aged 65+": 40 / 130, "aged under 5": 25 / 40}
    )
    assert (
        "population groups within 15 min: all residents 50.0 %, aged 65+ 30.8 %, aged under 5 62.5 %"
        in compliance.compliance_lines(rep)
    )
    # per unit on the demo: the report's shares are the coverage summary's
    rep = compliance.compliance_report(demo_walk)
    tw = rep.units[rep.units["level"] == "township"].set_index("admin_code")
    s = demo_walk.admin_summary.query("level == 'township'").set_index("admin_code")
    np.testing.assert_allclose(
        tw["covered_share_65plus"].to_numpy(float),
        s.loc[tw.index, "covered_share_65plus"].to_numpy(float),
        rtol=1e-9,
    )
    written = compliance.write_compliance(rep, tmp_path)
    assert "covered_share_65plus" in written["md"].read_text(encoding="utf-8")
    assert "aged 65+" in written["html"].read_text(encoding="utf-8")
    assert "covered_share_under5" in pd.read_excel(written["xlsx"], sheet_name="units").columns


# --- the app ----------------------------------------------------------------------------------


def test_app_shows_groups_and_optimises_for_one(tmp_path, monkeypatch, demo_walk):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from planner import app as aps
    from planner.i18n import Translator

    en = Translator("en")
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(tmp_path / "scenarios"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.context = {"locale": "en-US"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    gc = group_coverage(demo_walk.demand).set_index("group")["covered_share"]
    shown = en(
        "group_shares",
        minutes=15,
        shares=f"aged 65+ {100 * gc['65plus']:.1f} % · under 5 {100 * gc['under5']:.1f} %",
    )
    assert shown in [c.value for c in at.caption]
    at.selectbox(key="w_objective").set_value("max-coverage")
    at.selectbox(key="w_cand").set_value("villages")
    at.number_input(key="w_p").set_value(2)
    at.selectbox(key="w_weight").set_value("65plus")
    at.run()
    at.button(key="btn_optimize").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    lib = aps.run_optimizer(
        demo_walk,
        objective="max-coverage",
        new_sites=2,
        candidates="villages",
        time_limit_s=60.0,
        weight="65plus",
    )
    everyone = aps.run_optimizer(
        demo_walk, objective="max-coverage", new_sites=2, candidates="villages", time_limit_s=60.0
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[en("opt_objective_value")] == f"{lib.solution.objective:,.0f}"
    assert lib.solution.objective < everyone.solution.objective  # counted in the group's residents
