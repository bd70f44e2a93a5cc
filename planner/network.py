"""Travel-time networks per mode: walk, e-bike and drive, held as compact CSR arrays.

:func:`build_network` turns road lines (from :func:`planner.load.read_roads`) into a routable
graph: the rows a mode may use are chosen by class and OSM access tags (:func:`usable_roads`),
lines are split into edges where they share vertices (junctions: shared OSM nodes, or shared
vertices on the same ``layer``), each edge gets a
travel time per direction from the mode's speeds, nodes are renumbered along a Hilbert curve
(neighbours in space are neighbours in memory) and the graph is stored as forward and reverse
CSR arrays for the compiled kernels in :mod:`planner._engine`.

:meth:`Network.snap` joins points to the network at the nearest point of the nearest edge (not
just the nearest node); the straight-line part is travelled at the mode's off-network speed up
to a maximum distance, and points farther away are reported as unreachable.

Examples
--------
>>> import planner
>>> ds = planner.load_demo()                                   # doctest: +SKIP
>>> net = planner.build_network(ds.roads, mode="walk")         # doctest: +SKIP
>>> net.n_nodes > 1000                                         # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from . import _engine
from ._cache import memo
from ._errors import NetworkError

log = logging.getLogger(__name__)

Mode = Literal["walk", "ebike", "drive"]

#: Default driving speeds (km/h) by OSM highway class, for roads without a ``maxspeed`` tag.
#: Chinese speed limits: expressways 100-120, national/provincial roads 60-80 outside towns,
#: urban arterials 50-60, branch streets 30-40, village roads 20-30.
DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 50.0,
    "trunk": 70.0,
    "trunk_link": 40.0,
    "primary": 55.0,
    "primary_link": 35.0,
    "secondary": 45.0,
    "secondary_link": 30.0,
    "tertiary": 35.0,
    "tertiary_link": 25.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "track": 15.0,
}

#: Classes nobody may walk or ride an e-bike on.
MOTOR_ONLY = frozenset({"motorway", "motorway_link"})
#: Classes only buses may use (OSM ``busway``, ``bus_guideway``).
BUS_ONLY = frozenset({"bus_guideway", "busway"})
#: Classes cars may not use (OSM routing practice: OSRM's car profile and osmnx's ``drive``
#: network type route none of them). ``track`` stays drivable: Chinese farm roads (机耕路) and
#: sub-standard roads (等外公路) are tracks, and often the only road to a village.
NON_MOTOR = (
    frozenset(
        {
            "footway",
            "path",
            "steps",
            "pedestrian",
            "cycleway",
            "bridleway",
            "corridor",
            "elevator",
            "escalator",
            "trail",
            "via_ferrata",
            "platform",
            "sidewalk",
            "crossing",
            "escape",
        }
    )
    | BUS_ONLY
)

#: Access values that forbid a way to the mode the tag applies to. Every other value (``yes``,
#: ``designated``, ``permissive``, ``destination``, ``customers``, ...) allows it.
ACCESS_DENIED = frozenset(
    {
        "no",
        "private",
        "agricultural",
        "forestry",
        "delivery",
        "military",
        "emergency",
        "psv",
        "bus",
        "use_sidepath",
    }
)
#: Values of a mode's own tag (``foot=``, ``bicycle=``) that open a way whose class the mode
#: otherwise avoids (``highway=trunk_link`` + ``foot=yes``, ``highway=steps`` + ``bicycle=yes``).
ACCESS_GRANTED = frozenset(
    {"yes", "designated", "permissive", "destination", "customers", "official"}
)


@dataclass(frozen=True)
class TravelMode:
    """How one mode moves: speeds, allowed roads, one-way rules and off-network access.

    Parameters
    ----------
    name : {"walk", "ebike", "drive"}
    speed_kmh : float
        Speed on every allowed road (walk, e-bike); for ``drive`` the fallback speed of classes
        missing from ``class_speeds_kmh``.
    class_speeds_kmh : dict, optional
        Drive speeds by road class (defaults: :data:`DRIVE_SPEEDS_KMH`).
    use_maxspeed : bool
        Drive: use the road's ``maxspeed`` when tagged (capped by ``maxspeed_factor``).
    maxspeed_factor : float
        Share of the posted limit actually driven (default 0.85).
    urban_factor : float
        Drive speeds are multiplied by this inside the urban area given to
        :func:`build_network` (junctions, lights, traffic). 1.0 disables it.
    respect_oneway : bool
        Whether ``oneway`` tags restrict this mode.
    access_speed_kmh : float
        Speed of the straight-line part between a point and the road (default: walking).
    access_max_m : float
        Points farther than this from every road are reported as unreachable.
    excluded_classes : frozenset of str
        Road classes this mode may not use.
    no_access_classes : frozenset of str
        Road classes the mode may travel on but no home or facility can be joined to
        (motorways and their ramps: nobody drives onto a motorway from a front door).
    access_tags : tuple of str
        OSM access tags that apply to this mode, most specific first (walk: ``foot``,
        ``access``). Where roads carry these columns, the first non-empty one decides: a value
        in :data:`ACCESS_DENIED` (``no``, ``private``, ...) excludes the way; any other value
        allows it. See :func:`usable_roads`.
    tags_override_class : bool
        Whether the mode's own tag (``access_tags[0]``) with a value in :data:`ACCESS_GRANTED`
        opens a way of an excluded class (walk, e-bike: yes; drive: no).
    excluded_services : frozenset of str
        OSM ``service=`` values this mode may not use.
    """

    name: str
    speed_kmh: float
    class_speeds_kmh: tuple[tuple[str, float], ...] = ()
    use_maxspeed: bool = False
    maxspeed_factor: float = 0.85
    urban_factor: float = 1.0
    respect_oneway: bool = False
    access_speed_kmh: float = 4.8
    access_max_m: float = 500.0
    excluded_classes: frozenset[str] = frozenset()
    no_access_classes: frozenset[str] = frozenset({"motorway", "motorway_link"})
    access_tags: tuple[str, ...] = ("access",)
    tags_override_class: bool = False
    excluded_services: frozenset[str] = frozenset({"private"})

    def __post_init__(self) -> None:
        problems = []
        if not (self.speed_kmh > 0 and math.isfinite(self.speed_kmh)):
            problems.append(f"speed_kmh must be a positive number, got {self.speed_kmh!r}")
        if not (self.access_speed_kmh > 0 and math.isfinite(self.access_speed_kmh)):
            problems.append(f"access_speed_kmh must be positive, got {self.access_speed_kmh!r}")
        if not (self.access_max_m >= 0):
            problems.append(f"access_max_m must be >= 0 metres, got {self.access_max_m!r}")
        if not (0 < self.urban_factor <= 1.5):
            problems.append(f"urban_factor must be in (0, 1.5], got {self.urban_factor!r}")
        if not (0 < self.maxspeed_factor <= 1.5):
            problems.append(f"maxspeed_factor must be in (0, 1.5], got {self.maxspeed_factor!r}")
        for cls, v in self.class_speeds_kmh:
            if not (v > 0):
                problems.append(f"class speed for {cls!r} must be positive, got {v!r}")
        if problems:
            raise NetworkError(f"travel mode {self.name!r}: " + "; ".join(problems))

    @property
    def speeds(self) -> dict[str, float]:
        """Drive speeds by class (defaults updated with ``class_speeds_kmh``)."""
        speeds = dict(DRIVE_SPEEDS_KMH)
        speeds.update(dict(self.class_speeds_kmh))
        return speeds

    def replace(self, **changes: Any) -> TravelMode:
        """A copy with some settings changed (``class_speeds_kmh`` may be given as a dict)."""
        if isinstance(changes.get("class_speeds_kmh"), dict):
            changes["class_speeds_kmh"] = tuple(sorted(changes["class_speeds_kmh"].items()))
        return dataclasses.replace(self, **changes)


WALK = TravelMode(
    "walk",
    speed_kmh=4.8,
    excluded_classes=MOTOR_ONLY | BUS_ONLY | {"trunk_link"},
    access_tags=("foot", "access"),
    tags_override_class=True,
)
# E-bikes (电动自行车) are non-motor vehicles in Chinese law (GB 17761-2018: pedals, <= 25 km/h):
# they ride where bicycles ride, so they follow the bicycle tags, not motor_vehicle/moped ones.
EBIKE = TravelMode(
    "ebike",
    speed_kmh=15.0,
    respect_oneway=False,
    excluded_classes=MOTOR_ONLY | BUS_ONLY | {"steps"},
    access_tags=("bicycle", "vehicle", "access"),
    tags_override_class=True,
)
DRIVE = TravelMode(
    "drive",
    speed_kmh=30.0,
    use_maxspeed=True,
    urban_factor=0.7,
    respect_oneway=True,
    excluded_classes=NON_MOTOR,
    access_tags=("motorcar", "motor_vehicle", "vehicle", "access"),
    excluded_services=frozenset({"private", "emergency_access"}),
)
MODES: dict[str, TravelMode] = {"walk": WALK, "ebike": EBIKE, "drive": DRIVE}


def travel_mode(
    mode: str | TravelMode = "walk",
    *,
    speed_kmh: float | None = None,
    access_max_m: float | None = None,
    access_speed_factor: float | None = None,
    **changes: Any,
) -> TravelMode:
    """A :class:`TravelMode` preset with settings changed.

    Parameters
    ----------
    mode : {"walk", "ebike", "drive"} or TravelMode
    speed_kmh : float, optional
        Walk/e-bike speed; for drive, the fallback speed for unknown classes.
    access_max_m : float, optional
        Longest straight-line join between a point and the road network.
    access_speed_factor : float, optional
        Off-network speed as a factor of ``speed_kmh`` (default: walking speed for every mode).
    **changes
        Any other :class:`TravelMode` field.

    Examples
    --------
    >>> travel_mode("ebike", speed_kmh=18).speed_kmh
    18.0
    >>> travel_mode("walk", access_speed_factor=0.5).access_speed_kmh
    2.4
    """
    if isinstance(mode, TravelMode):
        base = mode
    else:
        if mode not in MODES:
            raise NetworkError(f"unknown mode {mode!r}. Fix: use one of {', '.join(MODES)}.")
        base = MODES[mode]
    if speed_kmh is not None:
        changes["speed_kmh"] = float(speed_kmh)
    if access_max_m is not None:
        changes["access_max_m"] = float(access_max_m)
    speed = float(changes.get("speed_kmh", base.speed_kmh))
    if access_speed_factor is not None:
        if not access_speed_factor > 0:
            raise NetworkError(
                f"access_speed_factor must be positive, got {access_speed_factor!r}."
            )
        changes["access_speed_kmh"] = round(speed * float(access_speed_factor), 9)
    return base.replace(**changes) if changes else base


@dataclass(frozen=True)
class Attachment:
    """Where points join the network (arrays of one entry per point).

    ``edge`` is -1 and the times +inf for points farther than ``access_max_m`` from every usable
    road. ``to_u_s``/``to_v_s`` are the times from the point to the edge's end nodes (off-network
    leg plus the partial edge, respecting one-way rules); ``from_u_s``/``from_v_s`` the times from
    the end nodes to the point.
    """

    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    frac: np.ndarray
    offset_m: np.ndarray
    access_s: np.ndarray
    to_u_s: np.ndarray
    to_v_s: np.ndarray
    from_u_s: np.ndarray
    from_v_s: np.ndarray

    @property
    def reachable(self) -> np.ndarray:
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, rows: np.ndarray) -> Attachment:
        """The attachment of a subset of the points (no second spatial query)."""
        return Attachment(**{f.name: getattr(self, f.name)[rows] for f in dataclasses.fields(self)})


@dataclass(eq=False)
class Network:
    """A routable travel-time graph for one mode.

    Attributes
    ----------
    mode : TravelMode
    crs : pyproj.CRS
        The metric CRS of ``node_xy`` and ``edge_geometry``.
    node_xy : ndarray (n, 2)
        Node coordinates, nodes numbered along a Hilbert curve.
    indptr, indices, weights : CSR arrays of the forward graph (seconds).
    arc_edge : edge index of each forward arc.
    rindptr, rindices, rweights, rarc_edge : the reverse graph.
    edge_u, edge_v : end nodes of each edge (the geometry runs from u to v).
    edge_length_m, edge_time_uv_s, edge_time_vu_s : lengths and times (+inf where forbidden).
    edge_class : road class of each edge.
    edge_geometry : shapely LineStrings in ``crs``.
    edge_source : position (row number) in the input roads of the line each edge comes from.
    """

    mode: TravelMode
    crs: pyproj.CRS
    node_xy: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    arc_edge: np.ndarray
    rindptr: np.ndarray
    rindices: np.ndarray
    rweights: np.ndarray
    rarc_edge: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_time_uv_s: np.ndarray
    edge_time_vu_s: np.ndarray
    edge_class: np.ndarray
    edge_geometry: np.ndarray
    edge_source: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _tree: Any = field(default=None, repr=False)
    _to_crs: Any = field(default=None, repr=False)
    _from_crs: Any = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @property
    def n_arcs(self) -> int:
        return int(self.indices.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the routing arrays (geometry excluded)."""
        arrays = [getattr(self, f.name) for f in dataclasses.fields(self)]
        return int(sum(a.nbytes for a in arrays if isinstance(a, np.ndarray) and a.dtype != object))

    def __repr__(self) -> str:
        return (
            f"Network(mode={self.mode.name!r}, nodes={self.n_nodes:,}, edges={self.n_edges:,}, "
            f"arcs={self.n_arcs:,}, crs={self.crs.to_string()!r})"
        )

    # -- coordinates -------------------------------------------------------------------------
    def project(self, geoms: Any) -> np.ndarray:
        """Points (GeoSeries/GeoDataFrame in any CRS, or lon/lat arrays) to metric x, y arrays."""
        if isinstance(geoms, gpd.GeoDataFrame | gpd.GeoSeries):
            # the geometry array, not the series: pandas' overhead was most of a repeated join
            # (a frame's column is looked up once: its crs is another lookup)
            g = (geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms).values
            if g.crs is None:
                raise NetworkError("points have no CRS. Fix: set one with .set_crs('EPSG:4326').")
            if not g.crs == self.crs:
                g = g.to_crs(self.crs)
            arr = np.asarray(g)
            # points (the usual input): x and y directly (NaN for other geometries; GEOS refuses
            # empty points), else the general path below, which also names empty geometries
            with contextlib.suppress(shapely.errors.GEOSException):
                xy = np.column_stack([shapely.get_x(arr), shapely.get_y(arr)])
                if not np.isnan(xy).any():
                    return xy
            pts = arr if (shapely.get_type_id(arr) == 0).all() else shapely.point_on_surface(arr)
            xy = shapely.get_coordinates(pts)
            if len(xy) != len(arr):
                raise NetworkError(
                    "some geometries are empty; drop them before joining to the network."
                )
            return xy
        lon, lat = np.asarray(geoms[0], float), np.asarray(geoms[1], float)
        x, y = self._transformer().transform(lon, lat)
        return np.column_stack([x, y])

    def _transformer(self) -> pyproj.Transformer:
        if self._to_crs is None:
            self._to_crs = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        return self._to_crs

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        if self._from_crs is None:
            self._from_crs = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = self._from_crs.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    # -- joining points ----------------------------------------------------------------------
    @property
    def tree(self) -> shapely.STRtree:
        """Spatial index over the edges points may join (see ``TravelMode.no_access_classes``)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self.edge_geometry[self.access_edges])
        return self._tree

    @property
    def access_edges(self) -> np.ndarray:
        """Indices of the edges points may be joined to."""
        return memo(
            self,
            "access_edges",
            lambda: np.flatnonzero(~np.isin(self.edge_class, list(self.mode.no_access_classes))),
        )

    def snap(self, points: Any, *, access_max_m: float | None = None) -> Attachment:
        """Join points to the nearest point of the nearest edge.

        Parameters
        ----------
        points : GeoSeries, GeoDataFrame or (n, 2) array of metric x, y in ``self.crs``
        access_max_m : float, optional
            Override the mode's maximum off-network distance.
        """
        xy = points if isinstance(points, np.ndarray) else self.project(points)
        max_m = self.mode.access_max_m if access_max_m is None else float(access_max_m)
        n = len(xy)
        edge = np.full(n, -1, dtype=np.int64)
        offset = np.full(n, np.inf)
        frac = np.zeros(n)
        if n and len(self.access_edges):
            pts = shapely.points(xy)
            idx, dist = self.tree.query_nearest(
                pts,
                max_distance=max_m if max_m > 0 else 1e-9,
                return_distance=True,
                all_matches=True,
            )
            # ties (a point equally near two edges, e.g. at a junction): keep the lowest edge index
            p_idx, e_idx = idx[0], self.access_edges[idx[1]]
            order = np.lexsort((e_idx, p_idx))
            p_idx, e_idx, dist = p_idx[order], e_idx[order], dist[order]
            first = np.ones(len(p_idx), dtype=bool)
            first[1:] = p_idx[1:] != p_idx[:-1]
            p_idx, e_idx, dist = p_idx[first], e_idx[first], dist[first]
            ok = dist <= max_m
            p_idx, e_idx, dist = p_idx[ok], e_idx[ok], dist[ok]
            edge[p_idx] = e_idx
            offset[p_idx] = dist
            geoms = self.edge_geometry[e_idx]
            along = shapely.line_locate_point(geoms, pts[p_idx])
            glen = shapely.length(geoms)
            frac[p_idx] = np.clip(
                np.where(glen > 0, along / np.where(glen > 0, glen, 1), 0.0), 0, 1
            )
        ok = edge >= 0
        e = np.where(ok, edge, 0)
        access_speed = self.mode.access_speed_kmh / 3.6
        access_s = np.where(ok, offset / access_speed, np.inf)
        t_uv = self.edge_time_uv_s[e] if self.n_edges else np.zeros(n)
        t_vu = self.edge_time_vu_s[e] if self.n_edges else np.zeros(n)
        with np.errstate(invalid="ignore"):
            # moving from the point toward u runs the edge backwards (v->u) for frac of it
            to_u = access_s + _partial(frac, t_vu)
            to_v = access_s + _partial(1 - frac, t_uv)
            from_u = access_s + _partial(frac, t_uv)
            from_v = access_s + _partial(1 - frac, t_vu)
        inf = np.inf
        return Attachment(
            edge=edge,
            u=np.where(ok, self.edge_u[e] if self.n_edges else -1, -1),
            v=np.where(ok, self.edge_v[e] if self.n_edges else -1, -1),
            frac=frac,
            offset_m=np.where(ok, offset, inf),
            access_s=access_s,
            to_u_s=np.where(ok, to_u, inf),
            to_v_s=np.where(ok, to_v, inf),
            from_u_s=np.where(ok, from_u, inf),
            from_v_s=np.where(ok, from_v, inf),
        )

    # -- reference ---------------------------------------------------------------------------
    def to_networkx(self):
        """The graph as a networkx MultiDiGraph (edge attribute ``time_s``), for tests and export.

        Never use it on a hot path: it takes ~35x the memory of the CSR arrays.
        """
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from(
            (i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(self.node_xy)
        )
        src = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        g.add_edges_from(
            (int(a), int(b), {"time_s": float(w), "edge": int(e)})
            for a, b, w, e in zip(src, self.indices, self.weights, self.arc_edge, strict=True)
        )
        return g

    def edges_frame(self) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame in EPSG:4326 (for maps and export)."""
        gdf = gpd.GeoDataFrame(
            {
                "u": self.edge_u,
                "v": self.edge_v,
                "highway": self.edge_class,
                "length_m": self.edge_length_m,
                "time_uv_s": self.edge_time_uv_s,
                "time_vu_s": self.edge_time_vu_s,
            },
            geometry=self.edge_geometry,
            crs=self.crs,
        )
        return gdf.to_crs("EPSG:4326")


def _partial(share: np.ndarray, full: np.ndarray) -> np.ndarray:
    """share * full, with 0 * inf = 0 (a point at a node needs no part of a forbidden edge)."""
    return np.where(share > 0, share * full, 0.0)


def local_metric_crs(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> pyproj.CRS:
    """The UTM zone CRS of the data's centre (what every planner result is computed in)."""
    g = geoms.to_crs("EPSG:4326") if geoms.crs is not None else geoms
    minx, miny, maxx, maxy = g.total_bounds
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    zone = int((lon + 180) // 6) + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return pyproj.CRS.from_epsg(epsg)


def _tag_values(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Factorised, normalised tag values: codes and the distinct values ("" for missing).

    ``"No"`` is ``no``; ``"no;yes"`` (several values) counts by its first.
    """
    try:
        codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=False)
    except TypeError:  # unhashable cells (lists from an osmnx edge frame): compare their text
        codes, uniques = pd.factorize(
            pd.Series([_first_text(v) for v in values]), use_na_sentinel=False
        )
    text = np.array(
        [
            ""
            if v is None or (isinstance(v, float) and math.isnan(v))
            else str(v).split(";")[0].strip().lower()
            for v in uniques
        ],
        dtype=object,
    )
    return codes, text


def _first_text(value: Any) -> Any:
    if isinstance(value, list | tuple | np.ndarray):
        return str(value[0]) if len(value) else None
    return value


def usable_roads(roads: pd.DataFrame, mode: str | TravelMode = "walk") -> np.ndarray:
    """Which road rows a mode may use: road class, OSM access tags and ``service=``.

    The rules (a table is in ``docs/network-rules.md``):

    1. A row whose ``highway`` is in ``mode.excluded_classes`` is not used, unless the mode's
       own tag (``foot=`` for walk, ``bicycle=`` for e-bike; ``mode.access_tags[0]``) grants it
       with a value in :data:`ACCESS_GRANTED` and ``mode.tags_override_class`` is set (drive: never).
    2. Access tags, most specific first (walk ``foot > access``; e-bike ``bicycle > vehicle >
       access``; drive ``motorcar > motor_vehicle > vehicle > access``): the first one present
       decides. A value in :data:`ACCESS_DENIED` (``no``, ``private``, ``agricultural``,
       ``forestry``, ``delivery``, ``military``, ``emergency``, ``psv``, ``bus``,
       ``use_sidepath``) excludes the row; any other (``yes``, ``designated``, ``permissive``,
       ``destination``, ``customers``, ...) allows it. So ``access=no`` + ``foot=yes`` is a
       footpath walkers may use and cars may not.
    3. A ``service=`` value in ``mode.excluded_services`` (drive: ``emergency_access``,
       ``private``; walk, e-bike: ``private``) excludes the row.

    Tag columns that the roads do not have are taken as absent: road files without OSM tags
    (shapefiles, Chinese data) are filtered by class only.

    Parameters
    ----------
    roads : DataFrame
        Rows with a ``highway`` column and, optionally, the tag columns :func:`planner.read_roads`
        keeps from OSM files (``access``, ``foot``, ``bicycle``, ``vehicle``,
        ``motor_vehicle``, ``motorcar``, ``service``; "" where absent).
    mode : {"walk", "ebike", "drive"} or TravelMode

    Returns
    -------
    ndarray of bool, one per row.

    Examples
    --------
    >>> import pandas as pd
    >>> roads = pd.DataFrame({"highway": ["service", "footway", "trunk_link"],
    ...                       "access": ["private", "no", ""], "foot": ["", "yes", "yes"]})
    >>> usable_roads(roads, "walk").tolist(), usable_roads(roads, "drive").tolist()
    ([False, True, True], [False, False, False])
    """
    tm = travel_mode(mode)
    if "highway" not in roads.columns:
        raise NetworkError(
            "roads lack the column 'highway'. Fix: load them with planner.read_roads(), which adds it."
        )
    n = len(roads)
    allowed = ~roads["highway"].isin(tm.excluded_classes).to_numpy()
    # the first access tag present decides: +1 granted, -1 denied, 0 undecided (or plain allowed)
    verdict = np.zeros(n, dtype=np.int8)
    decided = np.zeros(n, dtype=bool)
    for k, tag in enumerate(tm.access_tags):
        if tag not in roads.columns:
            continue
        codes, values = _tag_values(roads[tag].to_numpy())
        present = (values != "")[codes] & ~decided
        denied = np.isin(values, list(ACCESS_DENIED))[codes]
        verdict[present & denied] = -1
        if k == 0 and tm.tags_override_class:
            granted = np.isin(values, list(ACCESS_GRANTED))[codes]
            verdict[present & granted] = 1
        decided |= present
    usable = (allowed | (verdict == 1)) & (verdict >= 0)
    if "service" in roads.columns and tm.excluded_services:
        codes, values = _tag_values(roads["service"].to_numpy())
        usable &= ~np.isin(values, list(tm.excluded_services))[codes]
    return usable


_FALSE_FLAGS = frozenset({"", "f", "false", "no", "n", "0", "0.0", "none", "nan"})


def road_levels(roads: pd.DataFrame) -> np.ndarray | None:
    """The vertical level of each road row from its ``layer``, ``bridge`` and ``tunnel`` columns.

    ``layer`` when it is a non-zero number, else 1 on a bridge and -1 in a tunnel (the OSM
    defaults ``bridge=yes`` -> ``layer=1``, ``tunnel=yes`` -> ``layer=-1``), else 0. Bridge and
    tunnel flags are true unless empty or ``F``/``false``/``no``/``0`` (Geofabrik writes ``T``/``F``).
    None when the roads have none of the three columns.

    Examples
    --------
    >>> import pandas as pd
    >>> road_levels(pd.DataFrame({"layer": [0, 2, 0, 0], "bridge": ["F", "T", "T", "F"],
    ...                           "tunnel": ["F", "F", "F", "T"]})).tolist()
    [0, 2, 1, -1]
    """
    if not {"layer", "bridge", "tunnel"} & set(roads.columns):
        return None
    n = len(roads)

    def flag(col: str) -> np.ndarray:
        if col not in roads.columns:
            return np.zeros(n, dtype=bool)
        codes, values = _tag_values(roads[col].to_numpy())
        return ~np.isin(values, list(_FALSE_FLAGS))[codes]

    layer = np.zeros(n, dtype=np.int64)
    if "layer" in roads.columns:
        lay = pd.to_numeric(roads["layer"], errors="coerce").to_numpy(dtype=float)
        layer = np.where(np.isfinite(lay), np.round(lay), 0).astype(np.int64)
    return np.where(layer != 0, layer, np.where(flag("bridge"), 1, np.where(flag("tunnel"), -1, 0)))


def _vertex_levels(
    roads: pd.DataFrame, r_pos: np.ndarray, line_row: np.ndarray, cidx: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per vertex: a level key, and whether the vertex joins every level at its position.

    - OSM roads (a ``node_ids`` column: one OSM node id per vertex): the key is the node id, so
      lines join at shared nodes only. Lines whose ids do not match their vertices (edited
      geometry, multi-part rows, no ids) join by position.
    - Road lines with ``layer``/``bridge``/``tunnel`` columns: the key is the level
      (:func:`road_levels`); line ends join every line at their position (a bridge meets the
      road at grade at its ends), other vertices only lines on the same level.
    - Otherwise None: every vertex joins by position.
    """
    n_lines = len(line_row)
    first = np.ones(len(cidx), dtype=bool)
    first[1:] = cidx[1:] != cidx[:-1]
    last = np.ones(len(cidx), dtype=bool)
    last[:-1] = first[1:]
    if "node_ids" in roads.columns:
        ids = roads["node_ids"].iloc[r_pos].to_numpy()
        lens = np.fromiter(
            (len(a) if isinstance(a, np.ndarray | list | tuple) else -1 for a in ids),
            np.int64,
            len(ids),
        )
        counts = np.bincount(cidx, minlength=n_lines)
        single = np.bincount(line_row, minlength=len(r_pos)) == 1
        ok_line = single[line_row] & (lens[line_row] == counts)
        level = np.full(len(cidx), np.iinfo(np.int64).min, dtype=np.int64)
        ok_vertex = ok_line[cidx]
        if ok_line.any():
            try:
                level[ok_vertex] = np.concatenate(
                    [np.asarray(a) for a in ids[line_row[ok_line]]]
                ).astype(np.int64)
            except (TypeError, ValueError):  # ids that are not integers: join by position
                ok_vertex[:] = False
        return level, ~ok_vertex
    row_level = road_levels(roads)
    if row_level is None:
        return None
    return row_level[r_pos][line_row][cidx], first | last


def _split_by_level(xy_id: np.ndarray, level: np.ndarray, joins_all: np.ndarray) -> np.ndarray:
    """Node number of each vertex: one node per (position, level), or per position where any
    vertex there joins every level."""
    collapse = np.zeros(int(xy_id.max()) + 1, dtype=bool)
    collapse[xy_id[joins_all]] = True
    lev = np.where(collapse[xy_id], np.iinfo(np.int64).min, level)
    lev_code = np.unique(lev, return_inverse=True)[1].ravel().astype(np.int64)
    n_lev = int(lev_code.max()) + 1
    key = xy_id.astype(np.int64) * n_lev + lev_code  # < n_vertices**2: no overflow below 3e9
    return np.unique(key, return_inverse=True)[1].ravel()


def build_network(
    roads: gpd.GeoDataFrame,
    mode: str | TravelMode = "walk",
    *,
    crs: pyproj.CRS | str | None = None,
    urban_area: Any = None,
    snap_m: float = 0.01,
    largest_component: bool = False,
    min_piece_nodes: int = 0,
    **mode_options: Any,
) -> Network:
    """Build the travel-time graph of one mode from road lines.

    Parameters
    ----------
    roads : GeoDataFrame
        Road lines with columns ``highway``, ``oneway`` (0, 1, -1) and ``maxspeed_kmh``, as
        returned by :func:`planner.load.read_roads`. Which rows the mode uses:
        :func:`usable_roads` (class, OSM access tags, ``service``). Where lines join:

        - with a ``node_ids`` column (OSM files): at shared OSM nodes only; two nodes at the
          same position (stacked footways, a bridge over a road) stay apart;
        - with ``layer``/``bridge``/``tunnel`` columns (Geofabrik shapefiles): at line ends,
          and at shared vertices of lines on the same level (:func:`road_levels`);
        - else at every shared vertex.

        Vertices are shared when they round to the same ``snap_m`` grid point; lines that
        cross without a shared vertex never connect.
    mode : {"walk", "ebike", "drive"} or TravelMode
    crs : CRS, optional
        Metric CRS to work in (default: the UTM zone of the roads).
    urban_area : shapely geometry or GeoSeries (EPSG:4326), optional
        Where the drive ``urban_factor`` applies (e.g. the subdistricts of the county town).
    snap_m : float
        Vertices closer than this are one node (rounding grid, metres).
    largest_component : bool
        Keep only the largest (strongly, for one-way modes) connected component. Off by
        default: real road networks come in pieces (a village across a river whose bridge is
        missing, an island, a road system that joins the rest only by a motorway walkers may not
        use, the edges of a clipped extract), and dropping them sends their residents and
        facilities to roads far away or reports them as off the network. With every piece kept,
        points join their nearest usable road whatever piece it is in and residents are served
        by the facilities of their own piece (:func:`network_pieces` labels them).
    min_piece_nodes : int
        Drop the connected pieces (weakly connected: one-way streets do not split a piece) with
        fewer nodes than this, logging a warning that lists what was dropped. 0 (default) keeps
        every piece.
    **mode_options
        Passed to :func:`travel_mode` (``speed_kmh``, ``access_max_m``,
        ``access_speed_factor``, ...).

    Returns
    -------
    Network
    """
    t0 = time.perf_counter()
    tm = travel_mode(mode, **mode_options)
    if not (isinstance(min_piece_nodes, int | np.integer) and min_piece_nodes >= 0):
        raise NetworkError(f"min_piece_nodes must be a whole number >= 0, got {min_piece_nodes!r}.")
    missing = [c for c in ("highway", "oneway", "maxspeed_kmh") if c not in roads.columns]
    if missing:
        raise NetworkError(
            f"roads lack columns {missing}. Fix: load them with planner.read_roads(), which "
            "adds highway, oneway and maxspeed_kmh."
        )
    if roads.crs is None:
        raise NetworkError("roads have no CRS. Fix: load them with planner.read_roads().")
    usable = usable_roads(roads, tm)
    g = roads.geometry.to_numpy()
    geom_ok = ~shapely.is_missing(g) & ~shapely.is_empty(g)
    del g
    r_pos = np.flatnonzero(usable & geom_ok)  # row numbers in the input
    if len(r_pos) == 0:
        raise NetworkError(
            f"no roads usable by mode {tm.name!r} (excluded classes: {sorted(tm.excluded_classes)}; "
            f"access tags read: {', '.join(tm.access_tags)})."
        )
    src = roads.geometry.iloc[r_pos]  # the geometry column only: the other columns are read per row
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs(src)
    geoms = src.to_crs(metric).to_numpy()
    del src
    line_row = np.arange(len(geoms))  # position in r_pos of the road each line comes from
    if not (shapely.get_type_id(geoms) == 1).all():  # multi-part or mixed: split into parts
        geoms, line_row = shapely.get_parts(geoms, return_index=True)
        keep = shapely.get_type_id(geoms) == 1  # LineString
        geoms, line_row = geoms[keep], line_row[keep]
    coords, cidx = shapely.get_coordinates(geoms, return_index=True)
    del geoms
    if len(coords) < 2:
        raise NetworkError("roads hold no line geometry with two or more points.")

    # -- noding: one node per distinct (rounded) vertex and level (OSM node id, or road layer);
    # a junction is a vertex shared by lines
    vert = _vertex_ids(coords, snap_m)
    levels = _vertex_levels(roads, r_pos, line_row, cidx) if len(vert) else None
    if levels is not None:
        vert = _split_by_level(vert, *levels)
    del levels
    first = np.ones(len(cidx), dtype=bool)
    first[1:] = cidx[1:] != cidx[:-1]
    last = np.ones(len(cidx), dtype=bool)
    last[:-1] = first[1:]
    is_node = first | last | (np.bincount(vert)[vert] >= 2)
    _split_loops(vert, is_node, last)
    del first
    seg_ok = ~last  # segment k runs from coordinate k to k+1 within the same line
    del last
    seg_len = np.zeros(len(coords))
    d = np.diff(coords, axis=0)
    seg_len[:-1] = np.hypot(d[:, 0], d[:, 1])
    del d
    seg_len[~seg_ok] = 0.0
    starts = is_node & seg_ok
    del is_node
    start_coord = np.flatnonzero(starts)
    n_edges_raw = len(start_coord)
    seg_idx = np.flatnonzero(seg_ok)
    del seg_ok
    e_of = (np.cumsum(starts) - 1)[seg_idx]  # edge of each segment (nondecreasing, none empty)
    del starts
    length = np.bincount(e_of, weights=seg_len[seg_idx], minlength=n_edges_raw)
    del seg_len
    # end coordinate of each edge: the end of its last segment
    end_coord = seg_idx[np.r_[np.flatnonzero(e_of[1:] != e_of[:-1]), len(e_of) - 1]] + 1
    del e_of, seg_idx
    eu_vert = vert[start_coord]
    ev_vert = vert[end_coord]
    # edges of positive length between two distinct nodes; the others are never built
    valid = np.flatnonzero((length > 0) & (eu_vert != ev_vert))
    start_coord, end_coord, length = start_coord[valid], end_coord[valid], length[valid]
    eu_vert, ev_vert = eu_vert[valid], ev_vert[valid]
    e_line = line_row[cidx[start_coord]]  # position in r_pos of each edge's road
    del valid, cidx, line_row

    # -- attributes and times, per road (then per edge) -------------------------------------
    hw_road = roads["highway"].iloc[r_pos].astype(str).to_numpy()
    ow = pd.to_numeric(roads["oneway"].iloc[r_pos], errors="coerce").fillna(0).astype(np.int8)
    oneway = ow.to_numpy()[e_line]
    maxspeed = pd.to_numeric(roads["maxspeed_kmh"].iloc[r_pos], errors="coerce")
    maxspeed = maxspeed.to_numpy(dtype=float)
    speed = edge_speeds(tm, hw_road, maxspeed)[e_line]  # elementwise: per road = per edge
    t_uv, t_vu = edge_times(tm, length, speed, oneway)

    # nodes: the vertices an edge uses, in the order of their rounded (x, y)
    vert_xy = np.zeros((int(vert.max()) + 1, 2))
    vert_xy[vert, 0] = coords[:, 0]  # a node's coordinates: its last vertex (all round to the
    vert_xy[vert, 1] = coords[:, 1]  # same key); one column at a time is ~3x faster than rows
    del vert
    is_used = np.zeros(len(vert_xy), dtype=bool)
    is_used[eu_vert] = True
    is_used[ev_vert] = True
    nxy = vert_xy[is_used]
    new_id = np.cumsum(is_used) - 1
    eu, ev = new_id[eu_vert], new_id[ev_vert]
    del vert_xy, is_used, new_id, eu_vert, ev_vert
    edge = np.arange(len(eu))  # the edges kept, as positions in the arrays above

    keep_node = None
    if largest_component and len(nxy):
        keep_node = largest_component_mask(len(nxy), eu, ev, t_uv, t_vu, strong=tm.respect_oneway)
    if min_piece_nodes > 1 and len(nxy):
        small = _small_pieces(nxy, eu, ev, int(min_piece_nodes), metric)
        keep_node = ~small if keep_node is None else keep_node & ~small
    if keep_node is not None:
        keep_edge = keep_node[eu] & keep_node[ev]
        eu, ev, edge = eu[keep_edge], ev[keep_edge], edge[keep_edge]
        # a strongly connected component may still hold edges that leave and come back through
        # forbidden directions; edges between kept nodes stay
        remap = np.cumsum(keep_node) - 1
        nxy = nxy[keep_node]
        eu, ev = remap[eu], remap[ev]

    # -- Hilbert renumbering ------------------------------------------------------------------
    order = hilbert_order(nxy)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    nxy = nxy[order]
    eu, ev = rank[eu], rank[ev]
    # edges sorted by their first node, for locality of geometry lookups too
    eorder = _argsort_stable(eu * len(nxy) + ev)
    eu, ev, edge = eu[eorder], ev[eorder], edge[eorder]

    # -- geometry, built once, for the edges kept ---------------------------------------------
    egeom = _linestrings(coords, start_coord[edge], end_coord[edge])
    del coords, start_coord, end_coord
    length, speed, oneway, e_line = length[edge], speed[edge], oneway[edge], e_line[edge]
    if urban_area is not None and tm.urban_factor != 1.0:
        ua = _as_geometry(urban_area, metric)
        inside = shapely.intersects(ua, shapely.line_interpolate_point(egeom, 0.5, normalized=True))
        speed = np.where(inside, speed * tm.urban_factor, speed)
    t_uv, t_vu = edge_times(tm, length, speed, oneway)

    net = network_from_arrays(
        tm,
        metric,
        nxy,
        eu,
        ev,
        length,
        t_uv,
        t_vu,
        hw_road[e_line].astype(object),
        egeom,
        r_pos[e_line].astype(np.int64),
    )
    log.info(
        "built %s graph: %s nodes, %s edges, %s arcs in %.2f s",
        tm.name,
        f"{net.n_nodes:,}",
        f"{net.n_edges:,}",
        f"{net.n_arcs:,}",
        time.perf_counter() - t0,
    )
    return net


def network_from_arrays(
    mode: TravelMode,
    crs: pyproj.CRS | str,
    node_xy: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    length_m: np.ndarray,
    time_uv_s: np.ndarray,
    time_vu_s: np.ndarray,
    edge_class: np.ndarray,
    edge_geometry: np.ndarray,
    edge_source: np.ndarray | None = None,
) -> Network:
    """A :class:`Network` from edge arrays (times in seconds, +inf where a direction is forbidden).

    :func:`build_network` ends here; graphs made elsewhere (benchmarks, other routers) start here.
    Nodes are used in the order given: renumber them along a space-filling curve first for speed.
    """
    n = len(node_xy)
    fwd = _csr(n, edge_u, edge_v, time_uv_s, time_vu_s)
    rev = _csr(
        n, edge_v, edge_u, time_uv_s, time_vu_s
    )  # reverse graph: arc v->u carries time of u->v
    return Network(
        mode=mode,
        crs=pyproj.CRS.from_user_input(crs),
        node_xy=node_xy,
        indptr=fwd[0],
        indices=fwd[1],
        weights=fwd[2],
        arc_edge=fwd[3],
        rindptr=rev[0],
        rindices=rev[1],
        rweights=rev[2],
        rarc_edge=rev[3],
        edge_u=np.asarray(edge_u).astype(np.int32),
        edge_v=np.asarray(edge_v).astype(np.int32),
        edge_length_m=length_m,
        edge_time_uv_s=time_uv_s,
        edge_time_vu_s=time_vu_s,
        edge_class=edge_class,
        edge_geometry=edge_geometry,
        edge_source=(np.arange(len(edge_u)) if edge_source is None else edge_source).astype(
            np.int64
        ),
    )


def _vertex_ids(coords: np.ndarray, snap_m: float) -> np.ndarray:
    """Node number of each vertex: the rank of its rounded (x, y) among the distinct ones.

    The same numbers as ``np.unique(np.round(coords / snap_m).astype(np.int64), axis=0,
    return_inverse=True)`` (rows ordered by x, then y), from one int64 key per vertex: ~10x
    faster than sorting rows. Extents too wide for one int64 key fall back to sorting rows.
    """
    kx = np.round(coords[:, 0] / snap_m).astype(np.int64)
    ky = np.round(coords[:, 1] / snap_m).astype(np.int64)
    if len(kx) == 0:
        return np.zeros(0, dtype=np.int64)
    x0, y0 = int(kx.min()), int(ky.min())
    width_x, width_y = int(kx.max()) - x0 + 1, int(ky.max()) - y0 + 1  # Python ints: exact
    if width_x * width_y > np.iinfo(np.int64).max:
        rows = np.column_stack([kx, ky])
        return np.unique(rows, axis=0, return_inverse=True)[1].ravel()
    kx -= x0  # key = (x - x0) * width_y + (y - y0): ordered as the rows (x, y), no overflow
    kx *= width_y
    ky -= y0
    kx += ky
    del ky
    return np.unique(kx, return_inverse=True)[1].ravel()


def _argsort_stable(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")``: a fast unstable sort, then equal keys in input order.

    For keys that rarely repeat (arcs by tail and head node: only parallel edges tie).
    """
    order = np.argsort(key)
    s = key[order]
    tie = s[1:] == s[:-1]
    if tie.any():
        in_run = np.zeros(len(s), dtype=bool)
        in_run[1:] = tie
        in_run[:-1] |= tie
        pos = np.flatnonzero(in_run)  # runs of equal keys: sort each by input position
        order[pos] = order[pos][np.lexsort((order[pos], s[pos]))]
    return order


def edge_times(
    tm: TravelMode, length: np.ndarray, speed_kmh: np.ndarray, oneway: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Travel times (s) along and against each edge's line, +inf where one-way rules forbid.

    Documented internal: the build step shared with ``bench.graphs`` (arrays in, arrays out).
    """
    t = length / (speed_kmh / 3.6)
    t_uv = t.copy()
    t_vu = t
    if tm.respect_oneway:
        t_vu[oneway == 1] = np.inf
        t_uv[oneway == -1] = np.inf
    return t_uv, t_vu


def _linestrings(
    coords: np.ndarray, start: np.ndarray, end: np.ndarray, *, chunk: int = 1 << 18
) -> np.ndarray:
    """LineStrings of ``coords[start[i]:end[i] + 1]``, built in chunks to bound the temporaries."""
    out = np.empty(len(start), dtype=object)
    for lo in range(0, len(start), chunk):
        s, e = start[lo : lo + chunk], end[lo : lo + chunk]
        counts = e - s + 1
        gather = np.repeat(s, counts) + _ranges(counts)
        out[lo : lo + chunk] = shapely.linestrings(
            coords[gather], indices=np.repeat(np.arange(len(s)), counts)
        )
    return out


def _ranges(counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges: [0..c0-1, 0..c1-1, ...]."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - offsets


def edge_speeds(tm: TravelMode, hw: np.ndarray, maxspeed: np.ndarray) -> np.ndarray:
    """Speed (km/h) of each road for the mode: by class and ``maxspeed`` (documented internal)."""
    if tm.name != "drive" and not tm.class_speeds_kmh:
        return np.full(len(hw), tm.speed_kmh)
    speeds = tm.speeds if tm.name == "drive" else dict(tm.class_speeds_kmh)
    code, classes = pd.factorize(np.asarray(hw), use_na_sentinel=False)  # look up each class once
    s = pd.Series(classes).map(speeds).to_numpy(dtype=float, na_value=np.nan)[code]
    s = np.where(np.isfinite(s), s, tm.speed_kmh)
    if tm.use_maxspeed:
        maxspeed = _plausible_maxspeed(maxspeed)
        ms = maxspeed * tm.maxspeed_factor
        s = np.where(np.isfinite(ms) & (ms > 0), ms, s)
    return s


#: Largest ``maxspeed`` taken as given (km/h). China's highest posted limit is 120 km/h and
#: few countries post more than 130-140; larger values are typing errors or placeholders
#: (``maxspeed=99999``) and are treated as unknown (the class speed is used), with a warning.
MAX_PLAUSIBLE_MAXSPEED_KMH = 150.0


def _plausible_maxspeed(maxspeed: np.ndarray) -> np.ndarray:
    """``maxspeed`` with values above :data:`MAX_PLAUSIBLE_MAXSPEED_KMH` made NaN (warned)."""
    maxspeed = np.asarray(maxspeed, dtype=float)
    bad = np.isfinite(maxspeed) & (maxspeed > MAX_PLAUSIBLE_MAXSPEED_KMH)
    if not bad.any():
        return maxspeed
    import warnings

    from ._errors import InputWarning

    values = np.unique(maxspeed[bad])
    warnings.warn(
        f"{int(bad.sum())} road lines have maxspeed above {MAX_PLAUSIBLE_MAXSPEED_KMH:g} km/h "
        f"({', '.join(f'{v:g}' for v in values[:5])}{' ...' if len(values) > 5 else ''}); these values "
        "are taken as unknown and the speed of the road class is used. Fix: correct the maxspeed "
        "values in the road data",
        InputWarning,
        stacklevel=4,
    )
    return np.where(bad, np.nan, maxspeed)


def _as_geometry(area: Any, crs: pyproj.CRS) -> shapely.Geometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        return shapely.union_all(area.to_crs(crs).geometry.values)
    if isinstance(area, shapely.Geometry):  # assumed lon/lat
        return gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
    raise NetworkError(
        "urban_area must be a shapely geometry (lon/lat) or a GeoSeries/GeoDataFrame."
    )


def largest_component_mask(
    n: int, eu: np.ndarray, ev: np.ndarray, t_uv: np.ndarray, t_vu: np.ndarray, *, strong: bool
) -> np.ndarray:
    """Whether each of ``n`` nodes is in the largest (strongly, if ``strong``) connected piece
    of the arcs ``eu -> ev`` (finite ``t_uv``) and ``ev -> eu`` (finite ``t_vu``) (documented
    internal)."""
    a = np.concatenate([eu[np.isfinite(t_uv)], ev[np.isfinite(t_vu)]])
    b = np.concatenate([ev[np.isfinite(t_uv)], eu[np.isfinite(t_vu)]])
    g = sparse.csr_array((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = csgraph.connected_components(
        g, directed=True, connection="strong" if strong else "weak"
    )
    counts = np.bincount(labels)
    keep = labels == np.argmax(counts)
    dropped = n - int(keep.sum())
    if dropped:
        log.info(
            "kept the largest connected component: dropped %s of %s nodes", f"{dropped:,}", f"{n:,}"
        )
    return keep


def _split_loops(vert: np.ndarray, is_node: np.ndarray, last: np.ndarray) -> None:
    """Mark a node at the middle vertex of every edge that would run from a node back to itself.

    A ring road that touches nothing, or a cul-de-sac loop that leaves a junction and returns to
    it, has no node between its ends: as one edge from a node to itself it would be dropped,
    and points beside it would join a road farther away. Split at its middle vertex it is two
    edges. ``is_node`` is updated in place (repeated for lines that pass a point twice).
    """
    while True:
        node_idx = np.flatnonzero(is_node)
        start = node_idx[~last[node_idx]]  # every edge starts at a node that ends no line
        end = node_idx[np.searchsorted(node_idx, start, side="right")]  # the next node: same line
        loop = (vert[start] == vert[end]) & (end - start >= 2)
        if not loop.any():
            return
        is_node[(start[loop] + end[loop]) // 2] = True


def _piece_labels(n: int, eu: np.ndarray, ev: np.ndarray) -> np.ndarray:
    """Weakly connected piece of each node, numbered by size (0 = the largest; ties by lowest node)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    g = sparse.csr_array((np.ones(len(eu), dtype=np.int8), (eu, ev)), shape=(n, n))
    k, labels = csgraph.connected_components(g, directed=False)
    size = np.bincount(labels, minlength=k)
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    rank = np.empty(k, dtype=np.int64)
    rank[np.lexsort((first, -size))] = np.arange(k)
    return rank[labels]


def _small_pieces(
    nxy: np.ndarray, eu: np.ndarray, ev: np.ndarray, min_nodes: int, crs: pyproj.CRS
) -> np.ndarray:
    """Nodes in pieces of fewer than ``min_nodes`` nodes; a warning lists the pieces dropped."""
    labels = _piece_labels(len(nxy), eu, ev)
    size = np.bincount(labels)
    small = size[labels] < min_nodes
    if small.any():
        drop = np.flatnonzero(size < min_nodes)
        # where they are: the centre of each dropped piece in lon/lat, largest first
        cx = np.bincount(labels, weights=nxy[:, 0])[drop] / size[drop]
        cy = np.bincount(labels, weights=nxy[:, 1])[drop] / size[drop]
        lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(cx, cy)
        where = ", ".join(
            f"{size[p]} nodes at {x:.5f},{y:.5f}"
            for p, x, y in zip(drop[:10], lon[:10], lat[:10], strict=True)
        )
        log.warning(
            "min_piece_nodes=%d dropped %s road pieces (%s of %s nodes): %s%s",
            min_nodes,
            f"{len(drop):,}",
            f"{int(small.sum()):,}",
            f"{len(nxy):,}",
            where,
            " ..." if len(drop) > 10 else "",
        )
    return small


def network_pieces(network: Network) -> np.ndarray:
    """The connected piece of each node of ``network`` (an int per node, 0 = the largest piece).

    Pieces are weakly connected: nodes joined by roads in either direction, so one-way streets
    never split a piece. A point joined to an edge is in the piece of the edge's end nodes;
    :func:`planner.analyze` uses this to count the residents of pieces without any facility.

    Examples
    --------
    >>> import planner                                              # doctest: +SKIP
    >>> net = planner.build_network(planner.load_demo().roads)      # doctest: +SKIP
    >>> np.bincount(network_pieces(net))[:3]                        # doctest: +SKIP
    """
    return memo(
        network, "pieces", lambda: _piece_labels(network.n_nodes, network.edge_u, network.edge_v)
    )


def hilbert_order(xy: np.ndarray, order: int = 16) -> np.ndarray:
    """Positions of the points ``xy`` sorted along a Hilbert curve of ``2**order`` cells a side:
    the node numbering that keeps neighbours in space near in memory (documented internal)."""
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-9)
    g = np.clip(((xy - lo) / span * ((1 << order) - 1)).astype(np.int64), 0, (1 << order) - 1)
    # contiguous columns: the kernel is compiled for C-ordered arrays only (one signature)
    h = _engine.hilbert_index(np.ascontiguousarray(g[:, 0]), np.ascontiguousarray(g[:, 1]), order)
    return _argsort_stable(h)


def _csr(n, src, dst, t_uv, t_vu):
    """CSR arrays (indptr, indices, weights, arc_edge) of arcs src->dst (t_uv) and dst->src (t_vu).

    Arcs are ordered by tail, then head, then edge position (forward arcs before backward ones).
    """
    fu = np.flatnonzero(np.isfinite(t_uv))
    fv = np.flatnonzero(np.isfinite(t_vu))
    a = np.concatenate([src[fu], dst[fv]])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    key = a.astype(np.int64)
    del a
    key *= n
    b = np.concatenate([dst[fu], src[fv]])
    key += b  # one int64 key per arc: (tail, head), 0 <= head < n
    order = _argsort_stable(key)
    del key
    indices = b[order].astype(np.int32)
    del b
    arc_edge = np.concatenate([fu, fv])[order].astype(np.int32)
    weights = np.concatenate([t_uv[fu], t_vu[fv]])[order].astype(np.float64, copy=False)
    return indptr, indices, weights, arc_edge
