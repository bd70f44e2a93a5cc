"""Real roads: Lianchi District, Baoding (OpenStreetMap, Geofabrik columns), facts checked by hand.

Data: ../shared/data/baoding (README in ../shared/data); skipped when absent.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from conftest import shared
from scipy.sparse.csgraph import connected_components

import planner
from planner import fetch


@pytest.fixture(scope="module")
def raw() -> gpd.GeoDataFrame:
    return gpd.read_file(shared("baoding", "lianchi_roads_osm.gpkg"))


@pytest.fixture(scope="module")
def roads(raw) -> gpd.GeoDataFrame:
    return planner.read_roads(shared("baoding", "lianchi_roads_osm.gpkg"))


def _arcs(net: planner.Network) -> set[tuple]:
    """Directed arcs a mode may travel, as (from x, y, to x, y) rounded to 1 cm."""
    xy = np.round(net.node_xy, 2)
    fwd = np.isfinite(net.edge_time_uv_s)
    bwd = np.isfinite(net.edge_time_vu_s)
    u, v = net.edge_u, net.edge_v
    out = {(*xy[a], *xy[b]) for a, b in zip(u[fwd], v[fwd], strict=True)}
    return out | {(*xy[b], *xy[a]) for a, b in zip(u[bwd], v[bwd], strict=True)}


def test_oneway_codes_F_along_and_T_against_the_digitised_direction(raw, roads, tmp_path):
    assert raw["oneway"].value_counts().to_dict() == {"B": 2074, "F": 911}
    assert (roads["oneway"].to_numpy() == np.where(raw["oneway"] == "F", 1, 0)).all()
    drive = planner.build_network(roads, "drive")
    f_rows = np.flatnonzero((raw["oneway"] == "F").to_numpy())
    on_f = np.isin(drive.edge_source, f_rows)
    # every edge cut from an F line is open one way only, the way its line was drawn
    assert on_f.sum() > 900
    assert (
        np.isfinite(drive.edge_time_uv_s[on_f]) != np.isfinite(drive.edge_time_vu_s[on_f])
    ).all()
    # the file has no T: draw every F line backwards and call it T -> the same directed arcs
    flipped = raw.copy()
    is_f = flipped["oneway"] == "F"
    flipped.loc[is_f, "geometry"] = flipped.loc[is_f, "geometry"].reverse()
    flipped.loc[is_f, "oneway"] = "T"
    flipped.to_file(tmp_path / "as_t.gpkg", layer="roads")
    as_t = planner.read_roads(tmp_path / "as_t.gpkg")
    assert (as_t["oneway"].to_numpy() == np.where(is_f, -1, 0)).all()
    assert _arcs(planner.build_network(as_t, "drive")) == _arcs(drive)
    # walking ignores one-way rules: both directions open on the same edges
    walk = planner.build_network(roads, "walk")
    w_f = np.isin(walk.edge_source, f_rows)
    assert (
        np.isfinite(walk.edge_time_uv_s[w_f]).all() and np.isfinite(walk.edge_time_vu_s[w_f]).all()
    )


def test_motorways_are_excluded_for_walking_and_ebikes(raw, roads):
    motor = set(np.flatnonzero(raw["fclass"].isin(["motorway", "motorway_link"]).to_numpy()))
    assert len(motor) == 91 + 105
    for mode in ("walk", "ebike"):
        net = planner.build_network(roads, mode)
        assert not motor & set(net.edge_source.tolist())
        assert not {"motorway", "motorway_link"} & set(net.edge_class)
    drive = planner.build_network(roads, "drive")
    assert motor <= set(drive.edge_source.tolist())


def test_every_connected_piece_is_kept(roads):
    ds = planner.Dataset(
        roads=roads,
        facilities=planner.read_facilities(
            gpd.GeoDataFrame(
                {"name": ["虚构社区卫生服务中心 (INVENTED)"]},
                geometry=[shapely.Point(115.4973, 38.8766)],
                crs=4326,
            )
        ),
    )
    net = planner.analyze(ds, mode="walk", isochrone_minutes=None).network
    everything = planner.build_network(roads, "walk", largest_component=False)
    assert net.n_nodes == everything.n_nodes and net.n_edges == everything.n_edges
    # independently: the pieces of the network (scipy), many small ones beside a large one
    g = sp.coo_matrix((np.ones(net.n_edges), (net.edge_u, net.edge_v)), shape=(net.n_nodes,) * 2)
    n, labels = connected_components(g, directed=False)
    share = np.bincount(labels).max() / net.n_nodes
    assert n > 10 and 0.9 < share < 0.99  # the README: 97 % of the nodes in the largest piece


def test_gcj02_boundary_is_recognised_and_lands_on_the_wgs84_one():
    wgs = fetch.read_boundary(shared("baoding", "lianchi_boundary_wgs84.geojson"))
    path = shared("baoding", "lianchi_boundary_gcj02.geojson")
    assert fetch.coordinate_system_from_name(path) == "gcj02"
    as_labelled = fetch.read_boundary(
        path, crs="wgs84"
    )  # taken as the plain lon/lat it claims to be
    converted = fetch.read_boundary(path)  # recognised by its name, converted
    assert converted["admin_code"].tolist() == wgs["admin_code"].tolist() == ["130606"]
    utm = wgs.estimate_utm_crs()
    w = wgs.to_crs(utm).geometry.iloc[0]

    def compare(other):
        o = other.to_crs(utm).geometry.iloc[0]
        return (
            w.centroid.distance(o.centroid),
            w.intersection(o).area / w.union(o).area,
            o.area / 1e6,
        )

    d0, iou0, km2 = compare(as_labelled)
    d1, iou1, _ = compare(converted)
    # measured with the standard conversion: 502 m apart before, 67 m after (the outlines differ
    # in detail: 176 vs 177 km2, so centroids and overlap, not vertices)
    assert d0 == pytest.approx(502, abs=5) and d1 == pytest.approx(67, abs=5)
    assert w.area / 1e6 == pytest.approx(176, abs=1) and km2 == pytest.approx(177, abs=1)
    assert iou0 < 0.87 and iou1 > 0.95


def test_census_total_spread_over_the_district_roads(roads):
    b = fetch.read_boundary(shared("baoding", "lianchi_boundary_wgs84.geojson"))
    table = fetch.population_table(shared("county_population.csv"), b, population_column="Pop_2010")
    pop = planner.read_population_table(table, b, roads=roads)
    assert pop["population"].sum() == pytest.approx(675_123, rel=1e-9)
    assert pop.attrs["spread"] == {"roads": 1}
    # all of it on cells crossed by housing streets inside the district
    housing = roads[roads["highway"].isin(["residential", "living_street"])]
    hit = shapely.STRtree(pop.geometry.to_numpy()).query(
        housing.geometry.to_numpy(), predicate="intersects"
    )[1]
    assert set(range(len(pop))) == set(hit.tolist())
    assert shapely.within(
        shapely.centroid(pop.geometry.to_numpy()), shapely.buffer(b.geometry.iloc[0], 1e-6)
    ).all()
