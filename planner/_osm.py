"""The OpenStreetMap reader (.osm, .osm.pbf, .osm.xml): road classes, tags, speeds, access.

Internal to :mod:`planner.load` (which re-exports the public names); kept apart as osmnx keeps
``_osm_xml.py``.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError, InputFileError
from ._readfile import WGS84, cell_text, is_missing

logger = logging.getLogger("planner.load")

_DROP_HIGHWAY = frozenset(
    {
        "proposed",
        "construction",
        "abandoned",
        "platform",
        "bus_stop",
        "rest_area",
        "services",
        "raceway",
        "elevator",
        "corridor",
        "planned",
        "disused",
        "razed",
        "demolished",
        "dismantled",
        "no",
        "none",
        "emergency_access_point",
        "traffic_signals",
        "stop",
        "give_way",
        "street_lamp",
        "turning_circle",
        "turning_loop",
        "mini_roundabout",
        "motorway_junction",
        "speed_camera",
    }
)
OSM_CLASSES = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
        "living_street",
        "service",
        "pedestrian",
        "track",
        "bus_guideway",
        "escape",
        "road",
        "busway",
        "footway",
        "bridleway",
        "steps",
        "path",
        "cycleway",
        "sidewalk",
        "crossing",
    }
)
"""OSM ``highway`` values that vector road classes may be given as directly."""

CHINESE_CLASSES: dict[str, str] = {
    "高速公路": "motorway",
    "高速": "motorway",
    "国道": "trunk",
    "省道": "primary",
    "县道": "secondary",
    "乡道": "tertiary",
    "村道": "unclassified",
    "专用公路": "unclassified",
    "快速路": "trunk",
    "城市快速路": "trunk",
    "主干路": "primary",
    "主干道": "primary",
    "次干路": "secondary",
    "次干道": "secondary",
    "支路": "residential",
    "辅路": "tertiary",
    "匝道": "motorway_link",
    "步行街": "pedestrian",
    "人行道": "footway",
    "机耕路": "track",
    "一级公路": "primary",
    "二级公路": "secondary",
    "三级公路": "tertiary",
    "四级公路": "unclassified",
    "等外公路": "track",
    "小路": "path",
    "内部道路": "service",
}
"""Chinese road class names and their OSM ``highway`` equivalents."""

CHANGSHA_SUBTYPES: dict[str, str] = {
    "20101": "trunk",  # national road (107国道, 319国道)
    "20102": "motorway",  # expressway (京珠高速公路 ...)
    "20103": "trunk",  # urban expressway / ring road (中环路, 外环路)
    "20104": "primary",  # arterial (五一大道, 芙蓉北路 ...)
    "20105": "secondary",  # secondary road
    "20106": "tertiary",  # roundabout (环岛)
    "20108": "primary",  # bridge (湘江大桥, 浏阳河大桥)
    "20109": "primary_link",  # interchange (立交桥)
    "20110": "trunk",  # elevated road (东风高架桥)
    "20111": "motorway_link",  # ramp (中环路出口/入口)
    "20112": "tertiary",  # auxiliary / side road (辅路)
    "20113": "unclassified",  # unnamed, 4 segments
    "20199": "residential",  # other / branch roads
}
"""Road ``subtype`` codes of the Changsha HiAccess data (and Chinese data built the same way).

Derived from the road names in ``changsha/roads.*``: each code's most frequent names are given in
the comments. They are not the codes of a published national standard, so other data with
five-digit codes should pass ``class_map=``.
"""

CLASS_CANDIDATES = (
    "highway",
    "fclass",
    "class",
    "type",
    "subtype",
    "road_class",
    "roadclass",
    "等级",
    "道路等级",
    "道路类型",
    "kind",
)
DIRECTION_CANDIDATES = ("oneway", "direction", "dir", "方向", "单行")
SPEED_CANDIDATES = ("maxspeed", "maxspeed_kmh", "speed_kmh", "speed", "限速", "设计速度")
ROAD_NAME_CANDIDATES = ("name", "名称", "road_name", "路名", "道路名称", "roadname")

CHANGSHA_DIRECTIONS: dict[str, int] = {"0": 0, "1": 1, "2": 1, "3": 0}
"""Numeric ``direction`` codes of the Changsha HiAccess roads (the default for numbers).

1 and 2 are both one-way **along** the digitised direction (the two carriageways of a divided
road: one is coded 1, its partner 2), 3 (and 0) both ways. Measured on ``changsha/roads.*``: the
9 roundabouts are digitised counter-clockwise under both codes, and 667 of 684 paired one-way
carriageways have their partner on their left, as right-hand traffic needs. Data whose 2 means
"against the digitised direction" pass ``direction_map={1: 1, 2: -1, 3: 0}`` to
:func:`read_roads`.
"""

DIRECTION_DEFAULT = {
    **CHANGSHA_DIRECTIONS,
    "-1": -1,
    "yes": 1,
    "true": 1,
    "no": 0,
    "false": 0,
    "reverse": -1,
    "both": 0,
    "": 0,
    "ft": 1,
    "tf": -1,
    "b": 0,
    "f": 1,
    "t": -1,
}


def class_key(value: Any) -> str | None:
    if is_missing(value):
        return None
    text = cell_text(value)
    return text.lower() if text.isascii() else text


def _default_class(key: str) -> str | None:
    if key in OSM_CLASSES:
        return key
    if key.startswith("track_grade"):  # Geofabrik shapefiles
        return "track"
    if key == "unknown":
        return "road"
    return CHINESE_CLASSES.get(key) or CHANGSHA_SUBTYPES.get(key)


def map_classes(
    series: pd.Series, class_map: Mapping[Any, str] | None
) -> tuple[list[str | None], int]:
    """Mapped OSM classes (None where unmapped or missing) and the number of mapped values."""
    user = dict(class_map or {})
    user_keys = {class_key(k): v for k, v in user.items()}
    cache: dict[Any, str | None] = {}
    out: list[str | None] = []
    n_ok = 0
    for v in series:
        try:
            hit = cache[v]
        except (KeyError, TypeError):
            key = class_key(v)
            if key is None:
                hit = None
            else:
                hit = user.get(v) if hashable(v) and v in user else user_keys.get(key)
                if hit is None:
                    hit = _default_class(key)
            if hashable(v):
                cache[v] = hit
        out.append(hit)
        n_ok += hit is not None
    return out, n_ok


def hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


_MPH = 1.609344
_KNOT = 1.852
_SPEED_RE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|km|mph|knots|kn)?$")
_ZONE_RE = re.compile(r"^(?:[a-z]{2}:)?(?:zone|urban_zone)?:?(\d+)$")
# Implicit limits ("CC:zone") in km/h. CN values follow the Road Traffic Safety Law
# implementation regulations art. 45 for roads with one lane per direction (30/40 km/h
# apply where there is no centre line): approximate, as every implicit limit is.
_IMPLICIT_SPEEDS = {
    "cn:urban": 50.0,
    "cn:rural": 70.0,
    "cn:motorway": 120.0,
    "cn:expressway": 120.0,
    "ru:urban": 60.0,
    "ru:rural": 90.0,
    "ru:motorway": 110.0,
    "ru:living_street": 20.0,
    "de:urban": 50.0,
    "de:rural": 100.0,
    "de:living_street": 7.0,
    "de:bicycle_road": 30.0,
    "fi:urban": 50.0,
    "fi:rural": 80.0,
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:motorway": 130.0,
    "gb:nsl_single": 60 * _MPH,
    "gb:nsl_dual": 70 * _MPH,
    "gb:motorway": 70 * _MPH,
    "it:urban": 50.0,
    "it:rural": 90.0,
    "it:motorway": 130.0,
    "at:urban": 50.0,
    "at:rural": 100.0,
    "ch:urban": 50.0,
    "ch:rural": 80.0,
    "ch:motorway": 120.0,
}
_GENERIC_ZONES = {"urban": 50.0, "living_street": 20.0, "walk": 5.0, "pedestrian": 5.0}


def parse_maxspeed(value: Any) -> float:
    """OSM ``maxspeed`` text to km/h (NaN if unknown).

    Handles ``"60"``, ``"60 km/h"``, ``"30 mph"``, ``"10 knots"``, ``"CN:urban"`` and other
    implicit country limits, ``"DE:zone30"``, ``"walk"``, and several values (``"60;80"``: the
    lowest). ``"none"``, ``"signals"``, ``"variable"`` give NaN.

    Examples
    --------
    >>> parse_maxspeed("30 mph"), parse_maxspeed("CN:urban"), parse_maxspeed("signals")
    (48.28032, 50.0, nan)
    """
    if is_missing(value):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return v if v > 0 else math.nan
    text = str(value).strip().lower()
    if not text:
        return math.nan
    if ";" in text or "|" in text:
        speeds = [parse_maxspeed(p) for p in re.split(r"[;|]", text)]
        finite = [s for s in speeds if not math.isnan(s)]
        return min(finite) if finite else math.nan
    m = _SPEED_RE.match(text)
    if m:
        v = float(m.group(1).replace(",", "."))
        unit = m.group(2)
        if unit == "mph":
            v *= _MPH
        elif unit in ("knots", "kn"):
            v *= _KNOT
        return v if v > 0 else math.nan
    if text in _IMPLICIT_SPEEDS:
        return _IMPLICIT_SPEEDS[text]
    m = _ZONE_RE.match(text)
    if m:
        return float(m.group(1))
    zone = text.split(":", 1)[-1]
    return _GENERIC_ZONES.get(zone, math.nan)


def _osm_oneway(oneway: str | None, junction: str | None) -> int:
    if oneway:
        v = oneway.strip().lower()
        if v in ("yes", "true", "1"):
            return 1
        if v in ("-1", "reverse"):
            return -1
        if v in ("no", "false", "0"):
            return 0
    if junction in ("roundabout", "circular"):
        return 1
    return 0


_XML_DANGER = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _guard_xml(path: Path, suffix: str, source: str) -> None:
    """Refuse OSM XML with DTDs/entity declarations (XML bombs) before parsing."""
    if suffix in (".osm.pbf", ".pbf"):
        return
    opener: Callable[..., Any] = open
    if suffix == ".osm.gz":
        opener = gzip.open
    elif suffix == ".osm.bz2":
        opener = bz2.open
    tail = b""
    try:
        with opener(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                if _XML_DANGER.search(tail + chunk):
                    raise InputError(
                        f"{source}: the OSM XML contains a <!DOCTYPE> or <!ENTITY> declaration, which "
                        "OpenStreetMap files never need and which can be used for entity-expansion "
                        "attacks. Fix: export the data again (e.g. osmium cat file.osm -o file.osm.pbf) "
                        "or remove the declaration."
                    )
                tail = chunk[-16:]
    except (OSError, EOFError) as exc:
        raise InputFileError(
            f"{source}: cannot read the file ({exc}). Fix: check that it is a valid OSM file."
        ) from None


#: OSM tags kept as columns of :func:`read_roads`: the access tags the travel modes read (see
#: :func:`planner.network.usable_roads`) and ``service``. Missing tags are "".
OSM_ACCESS_TAGS = ("access", "foot", "bicycle", "vehicle", "motor_vehicle", "motorcar", "service")


def _way_runs(way: Any) -> tuple[list[tuple[list[tuple[float, float]], list[int]]], int]:
    """The runs of located nodes of a way (positions, node ids) with two or more vertices, and
    how many of its nodes had no location (a way cut at the extract's edge)."""
    runs: list[list[tuple[float, float]]] = [[]]
    run_refs: list[list[int]] = [[]]
    missing = 0
    for nd in way.nodes:
        loc = nd.location
        if loc.valid():
            pt = (loc.lon, loc.lat)
            # a repeated position is one vertex: it keeps its first node id
            if not runs[-1] or runs[-1][-1] != pt:
                runs[-1].append(pt)
                run_refs[-1].append(nd.ref)
        else:
            missing += 1
            if runs[-1]:
                runs.append([])
                run_refs.append([])
    kept = [(r, ids) for r, ids in zip(runs, run_refs, strict=True) if len(r) >= 2]
    return kept, missing


def _osm_geometry(
    n: int,
    wkbs: list[str],
    wkb_pos: list[int],
    cut_coords: list[tuple[float, float]],
    cut_index: list[int],
    cut_pos: list[int],
    node_refs: list[int],
    n_vertices: list[int],
) -> tuple[np.ndarray, np.ndarray]:
    """The lines of :func:`read_osm` (whole ways from WKB, cut ways from their runs) and the OSM
    node ids of each line's vertices."""
    geoms = np.empty(n, dtype=object)
    if wkbs:
        geoms[np.asarray(wkb_pos)] = shapely.from_wkb(wkbs)
    if cut_pos:
        geoms[np.asarray(cut_pos)] = shapely.linestrings(
            np.asarray(cut_coords), indices=np.asarray(cut_index)
        )
    # one int64 array per line, all views of one flat array (no per-line allocation)
    flat_refs = np.asarray(node_refs, dtype=np.int64)
    node_ids = np.empty(n, dtype=object)
    for i, line_ids in enumerate(
        np.split(flat_refs, np.cumsum(n_vertices)[:-1]) if n_vertices else []
    ):
        node_ids[i] = line_ids  # item by item: a list of equal-length arrays would broadcast as 2-D
    return geoms, node_ids


def read_osm(path: Path, suffix: str, *, source: str) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    import osmium

    _guard_xml(path, suffix, source)
    factory = osmium.geom.WKBFactory()
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    osm_ids: list[int] = []
    highways: list[str] = []
    oneways: list[int] = []
    speeds: list[float] = []
    names: list[str] = []
    tag_values: dict[str, list[str]] = {k: [] for k in OSM_ACCESS_TAGS}
    # OSM node id of every vertex of every line, flat (lines in order): the network joins lines
    # at shared node ids, never at coordinates alone (two nodes at one position on different
    # levels, e.g. footways stacked in a tunnel, are no junction)
    node_refs: list[int] = []
    n_vertices: list[int] = []
    wkbs: list[str] = []
    wkb_pos: list[int] = []
    cut_coords: list[tuple[float, float]] = []
    cut_index: list[int] = []
    cut_pos: list[int] = []
    speed_cache: dict[str | None, float] = {}
    stats = {
        "ways": 0,
        "dropped": 0,
        "cut_ways": 0,
        "outside": 0,
        "missing_nodes": 0,
        "degenerate": 0,
    }

    def add(way_id: int, tags: Any) -> None:
        osm_ids.append(way_id)
        highways.append(tags.get("highway"))
        oneways.append(_osm_oneway(tags.get("oneway"), tags.get("junction")))
        ms = tags.get("maxspeed")
        if ms not in speed_cache:
            speed_cache[ms] = parse_maxspeed(ms)
        speeds.append(speed_cache[ms])
        names.append(tags.get("name") or tags.get("name:zh") or tags.get("ref") or "")
        for k, values in tag_values.items():
            values.append(tags.get(k) or "")

    try:
        for obj in fp:
            way: Any = obj  # only ways pass the EntityFilter
            stats["ways"] += 1
            tags = way.tags
            if tags.get("highway") in _DROP_HIGHWAY or tags.get("area") == "yes":
                stats["dropped"] += 1
                continue
            try:
                wkb = factory.create_linestring(way)
            except (osmium.InvalidLocationError, RuntimeError):
                wkb = None  # missing nodes inside the way, or fewer than two points
            if wkb is not None:
                # libosmium silently skips missing nodes at the ends of a way and repeated
                # locations: when points were skipped, look at the nodes ourselves (rare).
                order: Literal["little", "big"] = "little" if wkb[:2] == "01" else "big"
                n_pts = int.from_bytes(bytes.fromhex(wkb[10:18]), order)
                if n_pts == len(way.nodes):
                    wkb_pos.append(len(osm_ids))
                    wkbs.append(wkb)
                    node_refs.extend([nd.ref for nd in way.nodes])
                    n_vertices.append(n_pts)
                    add(way.id, tags)
                    continue
            kept, missing = _way_runs(way)
            if missing:
                stats["missing_nodes"] += missing
                stats["cut_ways" if kept else "outside"] += 1
            elif not kept:
                stats["degenerate"] += 1
            for run, ids in kept:
                cut_pos.append(len(osm_ids))
                cut_coords.extend(run)
                cut_index.extend([len(cut_pos) - 1] * len(run))
                node_refs.extend(ids)
                n_vertices.append(len(ids))
                add(way.id, tags)
    except RuntimeError as exc:
        raise InputFileError(
            f"{source}: cannot read the OSM file ({exc}). Fix: check that it is a valid .osm/.pbf file."
        ) from None

    geoms, node_ids = _osm_geometry(
        len(osm_ids), wkbs, wkb_pos, cut_coords, cut_index, cut_pos, node_refs, n_vertices
    )
    gdf = gpd.GeoDataFrame(
        {
            "osm_id": np.asarray(osm_ids, dtype=np.int64),
            "highway": pd.Series(highways, dtype=str),
            "oneway": np.asarray(oneways, dtype=np.int8),
            "maxspeed_kmh": np.asarray(speeds, dtype=float),
            "name": pd.Series(names, dtype=str),
            **{k: pd.Series(v, dtype=str) for k, v in tag_values.items()},
            "node_ids": node_ids,
        },
        geometry=geoms,
        crs=WGS84,
    )
    return gdf, stats
