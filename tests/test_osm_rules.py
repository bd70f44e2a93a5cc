"""OSM rules of the road network: access tags per mode, and junctions only at shared OSM nodes.

Small tagged OSM XML files written by the tests (read with pyosmium by planner.read_roads), and
the Helsinki extract in ../shared/data (skipped when absent), checked against networkx graphs
built straight from OSM node ids.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse
from scipy.sparse import csgraph

import planner
from planner.load import OSM_ACCESS_TAGS
from planner.network import ACCESS_DENIED, build_network, travel_mode, usable_roads

SHARED = Path(__file__).parents[1] / ".." / "shared" / "data"
HELSINKI = SHARED / "helsinki" / "Helsinki.osm.pbf"


def _osm_file(
    tmp_path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]]
) -> Path:
    """Write OSM XML: nodes {id: (lon, lat)}, ways [(id, node ids, tags)]."""
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<osm version="0.6" generator="planner-tests">',
    ]
    lines += [f' <node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for wid, refs, tags in ways:
        lines.append(f' <way id="{wid}">' + "".join(f'<nd ref="{r}"/>' for r in refs))
        lines += [f'  <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append(" </way>")
    lines.append("</osm>")
    path = tmp_path / "tagged.osm"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# =============================================================================================
# access tags, one way per rule
# =============================================================================================

# (tags, usable by walk, e-bike, drive)
RULES = [
    ({"highway": "residential"}, True, True, True),
    ({"highway": "residential", "access": "no"}, False, False, False),
    ({"highway": "residential", "access": "private"}, False, False, False),
    ({"highway": "residential", "access": "destination"}, True, True, True),
    ({"highway": "residential", "access": "permissive"}, True, True, True),
    ({"highway": "residential", "access": "agricultural"}, False, False, False),
    ({"highway": "residential", "foot": "no"}, False, True, True),
    ({"highway": "residential", "bicycle": "no"}, True, False, True),
    ({"highway": "residential", "bicycle": "use_sidepath"}, True, False, True),
    ({"highway": "residential", "vehicle": "no"}, True, False, False),
    ({"highway": "residential", "motor_vehicle": "no"}, True, True, False),
    ({"highway": "residential", "motorcar": "no"}, True, True, False),
    ({"highway": "residential", "motor_vehicle": "private"}, True, True, False),
    # the mode's own tag overrides access=
    ({"highway": "residential", "access": "no", "foot": "yes"}, True, False, False),
    ({"highway": "residential", "access": "no", "bicycle": "designated"}, False, True, False),
    (
        {"highway": "residential", "access": "no", "motor_vehicle": "destination"},
        False,
        False,
        True,
    ),
    ({"highway": "residential", "access": "private", "motorcar": "yes"}, False, False, True),
    ({"highway": "residential", "motor_vehicle": "no", "motorcar": "yes"}, True, True, True),
    ({"highway": "residential", "vehicle": "no", "bicycle": "yes"}, True, True, False),
    ({"highway": "residential", "access": "yes", "foot": "no"}, False, True, True),
    # e-bikes ride where bicycles ride: motor_vehicle/moped tags do not concern them
    ({"highway": "residential", "moped": "no", "motor_vehicle": "no"}, True, True, False),
    # classes
    ({"highway": "service", "access": "private"}, False, False, False),
    ({"highway": "service", "service": "emergency_access"}, True, True, False),
    ({"highway": "service", "service": "driveway"}, True, True, True),
    ({"highway": "trail"}, True, True, False),
    ({"highway": "path"}, True, True, False),
    ({"highway": "footway"}, True, True, False),
    ({"highway": "footway", "bicycle": "no"}, True, False, False),
    ({"highway": "cycleway"}, True, True, False),
    ({"highway": "cycleway", "foot": "no"}, False, True, False),
    ({"highway": "pedestrian"}, True, True, False),
    (
        {"highway": "pedestrian", "motor_vehicle": "destination"},
        True,
        True,
        False,
    ),  # drive: class wins
    ({"highway": "steps"}, True, False, False),
    ({"highway": "steps", "bicycle": "yes"}, True, True, False),  # a ramp beside the steps
    ({"highway": "track"}, True, True, True),
    ({"highway": "track", "motor_vehicle": "agricultural"}, True, True, False),
    ({"highway": "busway"}, False, False, False),
    ({"highway": "motorway"}, False, False, True),
    ({"highway": "trunk_link"}, False, True, True),
    ({"highway": "trunk_link", "foot": "yes"}, True, True, True),
    ({"highway": "residential", "access": "No"}, False, False, False),  # case-insensitive
    ({"highway": "residential", "access": "no;yes"}, False, False, False),  # first value counts
]


@pytest.fixture
def tagged_roads(tmp_path: Path):
    """One way per rule, each a separate 2-node line 100 m apart (no junctions)."""
    nodes, ways = {}, []
    for k, (tags, *_) in enumerate(RULES):
        nodes[2 * k + 1] = (24.90 + 0.002 * k, 60.10)
        nodes[2 * k + 2] = (24.90 + 0.002 * k, 60.101)
        ways.append((1000 + k, [2 * k + 1, 2 * k + 2], tags))
    return planner.read_roads(_osm_file(tmp_path, nodes, ways))


def test_reader_keeps_access_tags(tagged_roads):
    assert len(tagged_roads) == len(RULES)
    for tag in OSM_ACCESS_TAGS:
        assert pd.api.types.is_string_dtype(tagged_roads[tag])
    row = tagged_roads.iloc[13]  # access=no + foot=yes
    assert (row["access"], row["foot"], row["bicycle"]) == ("no", "yes", "")
    assert [list(ids) for ids in tagged_roads["node_ids"][:2]] == [[1, 2], [3, 4]]


@pytest.mark.parametrize(("k", "mode"), [(k, m) for k in range(len(RULES)) for m in range(3)])
def test_access_rule(tagged_roads, k, mode):
    name = ("walk", "ebike", "drive")[mode]
    want = RULES[k][1 + mode]
    assert bool(usable_roads(tagged_roads, name)[k]) is want, (RULES[k][0], name)


@pytest.mark.parametrize("mode", ["walk", "ebike", "drive"])
def test_excluded_ways_are_not_in_the_graph(tagged_roads, mode):
    net = build_network(tagged_roads, mode, largest_component=False)
    want = {k for k, rule in enumerate(RULES) if rule[1 + ("walk", "ebike", "drive").index(mode)]}
    assert set(net.edge_source.tolist()) == want


def test_rules_without_tag_columns_follow_classes_only(tagged_roads):
    bare = tagged_roads.drop(columns=list(OSM_ACCESS_TAGS))
    for mode in ("walk", "ebike", "drive"):
        tm = travel_mode(mode)
        assert np.array_equal(
            usable_roads(bare, mode), ~bare["highway"].isin(tm.excluded_classes).to_numpy()
        )
    # NaN (a frame made elsewhere) is "untagged"
    nan = tagged_roads.copy()
    nan["access"] = nan["access"].replace("", np.nan)
    assert np.array_equal(usable_roads(nan, "drive"), usable_roads(tagged_roads, "drive"))


def test_denied_values_documented():
    text = (Path(__file__).parents[1] / "docs" / "network-rules.md").read_text(encoding="utf-8")
    for value in ACCESS_DENIED:
        assert f"`{value}`" in text


def test_no_usable_roads_names_the_tags(tmp_path: Path):
    path = _osm_file(
        tmp_path,
        {1: (24.9, 60.1), 2: (24.9, 60.101)},
        [(5, [1, 2], {"highway": "residential", "foot": "no"})],
    )
    with pytest.raises(planner.NetworkError, match=r"no roads usable by mode 'walk'.*foot, access"):
        build_network(planner.read_roads(path), "walk")


# =============================================================================================
# junctions at shared OSM nodes only
# =============================================================================================


def _stacked(tmp_path: Path, shared: bool):
    """Two footways crossing at (24.9, 60.1): through one node (shared) or through two distinct
    nodes at the same position (stacked levels)."""
    nodes = {
        1: (24.899, 60.1),
        2: (24.9, 60.1),
        3: (24.901, 60.1),
        4: (24.9, 60.099),
        5: (24.9, 60.1),
        6: (24.9, 60.101),
    }
    middle = 2 if shared else 5
    ways = [
        (10, [1, 2, 3], {"highway": "footway", "level": "1"}),
        (11, [4, middle, 6], {"highway": "footway", "level": "2"}),
    ]
    return planner.read_roads(_osm_file(tmp_path, nodes, ways))


@pytest.mark.parametrize("shared", [True, False])
def test_osm_lines_join_at_shared_nodes_only(tmp_path: Path, shared: bool):
    roads = _stacked(tmp_path, shared)
    net = build_network(roads, "walk", largest_component=False)
    # shared: one junction in the middle, 4 edges; stacked: two lines that never meet
    assert (net.n_nodes, net.n_edges) == ((5, 4) if shared else (4, 2))
    # without node ids the position decides (what happened before): always a junction
    pos = build_network(roads.drop(columns="node_ids"), "walk", largest_component=False)
    assert (pos.n_nodes, pos.n_edges) == (5, 4)


def test_lines_without_matching_node_ids_join_by_position(tmp_path: Path):
    roads = _stacked(tmp_path, shared=False)
    roads.loc[1, "node_ids"] = np.array([4, 6], dtype=np.int64)  # 2 ids for 3 vertices: not used
    net = build_network(roads, "walk", largest_component=False)
    assert (net.n_nodes, net.n_edges) == (5, 4)


# -- Helsinki ---------------------------------------------------------------------------------


def _need_helsinki() -> None:
    if not HELSINKI.exists():
        pytest.skip(f"real data not available: {HELSINKI}")


@pytest.fixture(scope="module")
def helsinki():
    _need_helsinki()
    return planner.read_roads(HELSINKI)


def _node_graph(roads, net) -> tuple[nx.DiGraph, dict[int, np.ndarray]]:
    """Independent reference: a graph whose nodes are OSM node ids, one arc per consecutive pair
    of vertices of every way the mode may use, weighted by the segment's walking time in the
    network's CRS; and each node id's metric position."""
    rows = np.flatnonzero(usable_roads(roads, net.mode))
    speed = net.mode.speed_kmh / 3.6
    g = nx.DiGraph()
    where: dict[int, np.ndarray] = {}
    geoms = roads.geometry.iloc[rows].to_crs(net.crs).to_numpy()
    for geom, ids in zip(geoms, roads["node_ids"].iloc[rows], strict=True):
        xy = shapely.get_coordinates(geom)
        for a, b, pa, pb in zip(ids[:-1], ids[1:], xy[:-1], xy[1:], strict=True):
            t = float(np.hypot(*(pb - pa))) / speed
            for u, v in ((a, b), (b, a)):  # walkers ignore one-way
                if not g.has_edge(u, v) or g[u][v]["t"] > t:
                    g.add_edge(int(u), int(v), t=t)
        where.update(zip(ids.tolist(), xy, strict=True))
    return g, where


def _times_from(net, source: int) -> np.ndarray:
    """scipy Dijkstra on the network's arcs (parallel arcs: the fastest; a sparse matrix would
    add them up)."""
    src = np.repeat(np.arange(net.n_nodes), np.diff(net.indptr))
    arcs = (
        pd.DataFrame({"a": src, "b": net.indices, "t": net.weights}).groupby(["a", "b"])["t"].min()
    )
    a, b = (arcs.index.get_level_values(k).to_numpy() for k in (0, 1))
    m = sparse.csr_array((arcs.to_numpy(), (a, b)), shape=(net.n_nodes, net.n_nodes))
    return csgraph.dijkstra(m, indices=[source])[0]


def _node_at(net, xy) -> np.ndarray:
    return np.flatnonzero(np.hypot(*(net.node_xy - xy).T) < 1e-6)


def test_helsinki_stacked_tunnel_footways_stay_apart(helsinki):
    """Node 256257243 (inside footway 23653209, level 1) and node 6152373292 (end of footway
    23653233, level 2) share a position in a tunnel: the level-2 footway ends there, the level-1
    footway passes by without a junction."""
    rows = {w: int(np.flatnonzero(helsinki["osm_id"] == w)[0]) for w in (23653209, 23653233)}

    def ways_at(net, xy):
        (node,) = _node_at(net, xy)
        incident = (net.edge_u == node) | (net.edge_v == node)
        return {int(helsinki["osm_id"].iloc[r]) for r in net.edge_source[incident]}

    net = build_network(helsinki, "walk", largest_component=False)
    _, where = _node_graph(helsinki, net)
    xy = where[256257243]
    assert np.array_equal(xy, where[6152373292])
    assert ways_at(net, xy) == {23653233}
    assert rows[23653209] in net.edge_source  # walked, just not joined there
    old = build_network(helsinki.drop(columns="node_ids"), "walk", largest_component=False)
    assert ways_at(old, xy) == {23653209, 23653233}  # the false junction of the former noding


def _junction_ids(roads, mode) -> set[int]:
    """OSM nodes that are network nodes: ends of the ways the mode may use, and nodes those ways
    use more than once (plain Python, from the rule, not from planner's noding)."""
    from collections import Counter

    rows = np.flatnonzero(usable_roads(roads, mode))
    count: Counter[int] = Counter()
    ends: set[int] = set()
    for ids in roads["node_ids"].iloc[rows]:
        count.update(ids.tolist())
        ends.update((int(ids[0]), int(ids[-1])))
    return ends | {i for i, c in count.items() if c >= 2}


def _by_position(ids, where) -> dict[tuple[float, float], list[int]]:
    out: dict[tuple[float, float], list[int]] = {}
    for i in ids:
        out.setdefault((float(where[i][0]), float(where[i][1])), []).append(i)
    return out


def test_helsinki_walk_times_equal_node_id_graph(helsinki):
    """Walking times from a node beside the stacked tunnel footways equal networkx on the OSM
    node-id graph, node for node; joining by position (the former noding) makes walks through
    the false junction shorter."""
    net = build_network(helsinki, "walk", largest_component=False)
    g, where = _node_graph(helsinki, net)
    junctions = _junction_ids(helsinki, "walk")
    assert len(junctions) == net.n_nodes
    # the source: the far end of the level-1 tunnel footway (way 23653209), at its own position
    ids = helsinki.loc[helsinki["osm_id"] == 23653209, "node_ids"].iloc[0]
    source_id = int(ids[0]) if int(ids[0]) != 256257243 else int(ids[-1])
    (source,) = _node_at(net, where[source_id])
    got = _times_from(net, source)
    ref = nx.single_source_dijkstra_path_length(g, source_id, weight="t")
    positions = _by_position(junctions, where)
    for xy, here_ids in positions.items():  # stacked junctions compared as multisets
        here = _node_at(net, np.array(xy))
        assert len(here) == len(here_ids), xy
        np.testing.assert_allclose(
            sorted(got[here]), sorted(ref.get(i, np.inf) for i in here_ids), rtol=1e-9, atol=1e-9
        )
    # the former noding: a node wherever lines touch, and shorter walks through false junctions
    old = build_network(helsinki.drop(columns="node_ids"), "walk", largest_component=False)
    assert old.n_edges > net.n_edges  # ways split where they only touch
    got_old = _times_from(old, _node_at(old, where[source_id])[0])
    pairs = [
        (min(ref.get(i, np.inf) for i in here_ids), got_old[_node_at(old, np.array(xy))[0]])
        for xy, here_ids in positions.items()
    ]
    saving = [want - was for want, was in pairs if np.isfinite(want) and np.isfinite(was)]
    assert max(saving) > 60  # walks through the false junction come out minutes shorter
    assert min(saving) > -1e-6  # and no walk gets longer


def test_helsinki_access_tags_excluded(helsinki):
    """Walk ways tagged foot=no (34), access=private (15), access=no (13) are no longer walked."""
    walk = travel_mode("walk")
    by_class = ~helsinki["highway"].isin(walk.excluded_classes).to_numpy()
    usable = usable_roads(helsinki, "walk")
    for tag, value, n in (("foot", "no", 34), ("access", "private", 15), ("access", "no", 13)):
        tagged = by_class & (helsinki[tag] == value).to_numpy()
        assert tagged.sum() == n
        assert not (usable & tagged).any()
    net = build_network(helsinki, "walk", largest_component=False)
    assert not np.isin(net.edge_source, np.flatnonzero(~usable)).any()
    drive = build_network(helsinki, "drive", largest_component=False)
    assert not set(drive.edge_class) & {
        "trail",
        "path",
        "footway",
        "cycleway",
        "pedestrian",
        "steps",
    }
    bad = helsinki.iloc[np.unique(drive.edge_source)]
    assert not (
        bad["access"].isin(["no", "private"])
        & (bad["motor_vehicle"] == "")
        & (bad["motorcar"] == "")
    ).any()
    assert not (bad["motor_vehicle"] == "no").any()


def test_helsinki_walk_around_service_ways_with_foot_no(helsinki):
    """The walk along three highway=service, foot=no ways (OSM nodes 3236096593 to 401357771):
    ignoring the tags it takes those ways; respecting them it takes the detour networkx finds on
    the node-id graph without them."""
    ignore = helsinki.copy()
    for tag in OSM_ACCESS_TAGS:
        ignore[tag] = ""
    times = {}
    for name, roads in (("ignore", ignore), ("respect", helsinki)):
        net = build_network(roads, "walk", largest_component=False)
        g, where = _node_graph(roads, net)
        (a,) = _node_at(net, where[3236096593])
        (b,) = _node_at(net, where[401357771])
        times[name] = _times_from(net, a)[b]
        assert times[name] == pytest.approx(
            nx.dijkstra_path_length(g, 3236096593, 401357771, weight="t")
        )
        if name == "ignore":
            path = nx.dijkstra_path(g, 3236096593, 401357771, weight="t")
            used = helsinki[
                [bool(set(path[1:-1]) & set(ids.tolist())) for ids in helsinki["node_ids"]]
            ]
            svc = used[(used["highway"] == "service") & (used["foot"] == "no")]
            assert set(svc["osm_id"]) == {29050024, 34573416, 317360904}
    assert times["respect"] - times["ignore"] > 1000


def test_usable_roads_odd_input():
    frame = pd.DataFrame(
        {
            "highway": ["residential", "residential", "footway"],
            "access": [["no", "yes"], None, ("yes",)],
            "foot": [None, np.nan, ["no"]],
        }
    )
    assert usable_roads(frame, "walk").tolist() == [False, True, False]
    with pytest.raises(planner.NetworkError, match="lack the column 'highway'.*read_roads"):
        usable_roads(pd.DataFrame({"access": ["no"]}), "walk")
