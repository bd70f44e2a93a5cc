"""The routable network (:class:`Network`): compact forward and reverse CSR arrays of travel
times for the compiled kernels in :mod:`planner._engine`, points joined to it
(:class:`Attachment`, :meth:`Network.snap`), its connected pieces.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .._cache import memo
from .._errors import NetworkError
from .modes import TravelMode


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
