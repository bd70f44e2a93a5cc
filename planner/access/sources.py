"""Facilities joined to a network: the seed sets of the reverse searches, and the cache that recognises frames already joined.

Part of :mod:`planner.access`.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np

from .._cache import memo
from ..network import Attachment, Network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sources:
    """Facilities joined to a network: seed sets for the reverse searches."""

    attachment: Attachment
    src_ptr: np.ndarray
    seed_nodes: np.ndarray
    seed_times: np.ndarray

    @property
    def reachable(self) -> np.ndarray:
        return self.attachment.reachable

    def __len__(self) -> int:
        return len(self.attachment)


def _coords_key(xy: np.ndarray) -> tuple[int, bytes]:
    """A key for a set of metric coordinates: its length and a 128-bit digest of the values
    (SHA-256, which CPUs run in hardware: twice as fast as BLAKE2b here, ~18 us for 2,000 points)."""
    data = np.ascontiguousarray(xy, dtype=np.float64)
    return len(data), hashlib.sha256(data.tobytes()).digest()[:16]


def joined(network: Network, points: Any) -> Attachment:
    """``network.snap(points)``, computed once per network and point coordinates.

    A repeated query with the same facilities or points (the app, a scenario sweep, a loop over
    thresholds) skips the spatial join, which costs ~40x the nearest-facility search itself on a
    city graph; only the projection to the network's CRS and a digest of the coordinates are
    paid again. The returned arrays are shared: do not modify them.
    """
    if isinstance(points, Attachment):
        return points
    return _joined(network, points)[0]


def _joined(network: Network, points: Any) -> tuple[Attachment, tuple[int, bytes]]:
    ident = _GeometryIdentity.of(points)
    if ident is not None:
        hit = ident.lookup(network)
        if hit is not None:
            return hit
    xy = points if isinstance(points, np.ndarray) else network.project(points)
    key = _coords_key(xy)
    out = memo(network, ("snap", *key), lambda: network.snap(xy)), key
    if ident is not None:
        ident.store(network, out)
    return out


#: Geometry arrays remembered per network by :class:`_GeometryIdentity` (most recent first).
_IDENTITY_ENTRIES = 8


class _GeometryIdentity:
    """The geometry objects of a GeoDataFrame/GeoSeries, recognised again by identity.

    A repeated query with the same frames (the app, a sweep over thresholds) paid for reading
    the coordinates back out of the shapely objects and digesting them (~0.13 ms of 0.40 ms for
    1,000 facilities and 2,000 points). Shapely geometries are immutable, so the same objects in
    the same order under the same CRS have the same coordinates: the object pointers (CPython's
    ``id``) are copied out of the object array in one memcpy and compared with the remembered
    ones. The entry holds a copy of the object array, so none of its objects can be freed and
    its id reused while it lives. A moved point (a new object), replaced geometry, dropped row,
    ``.loc`` assignment or other CRS misses, and the coordinates are read and digested as before.
    """

    __slots__ = ("crs", "objects", "ptrs")

    def __init__(self, objects: np.ndarray, crs: Any, ptrs: np.ndarray) -> None:
        self.objects, self.crs, self.ptrs = objects, crs, ptrs

    @classmethod
    def of(cls, points: Any) -> _GeometryIdentity | None:
        if isinstance(points, gpd.GeoDataFrame):
            g = _geometry_array(points)
        elif isinstance(points, gpd.GeoSeries):
            g = points.values
        else:
            return None
        arr = np.asarray(g)
        if arr.dtype != object or arr.ndim != 1 or not arr.flags.c_contiguous or g.crs is None:
            return None
        return cls(arr, g.crs, _object_pointers(arr))

    def lookup(self, network: Network) -> tuple[Attachment, tuple[int, bytes]] | None:
        entries: list[tuple[_GeometryIdentity, tuple[Attachment, tuple[int, bytes]]]] = memo(
            network, "geometry_identity", list
        )
        for i, (seen, out) in enumerate(entries):
            if (
                len(seen.ptrs) == len(self.ptrs)
                and np.array_equal(seen.ptrs, self.ptrs)
                and (seen.crs is self.crs or seen.crs == self.crs)
            ):
                if i:
                    entries.insert(0, entries.pop(i))
                return out
        return None

    def store(self, network: Network, out: tuple[Attachment, tuple[int, bytes]]) -> None:
        entries: list[tuple[_GeometryIdentity, tuple[Attachment, tuple[int, bytes]]]] = memo(
            network, "geometry_identity", list
        )
        # a copy: the caller's array may be modified in place (``.loc``), the copy holds the
        # objects whose pointers were taken
        entries.insert(0, (_GeometryIdentity(self.objects.copy(), self.crs, self.ptrs), out))
        del entries[_IDENTITY_ENTRIES:]


def _geometry_array(frame: gpd.GeoDataFrame) -> Any:
    """The active geometry column's GeometryArray, without building a GeoSeries (pandas'
    ``frame.geometry`` took 13 us warm, 0.17 ms after a ``gc.collect``: more than the search);
    ``frame.geometry.values`` when pandas' column accessor is not there or the name is ambiguous."""
    with contextlib.suppress(AttributeError, KeyError, TypeError):
        loc = frame.columns.get_loc(frame._geometry_column_name)
        if isinstance(loc, int):
            g = frame._get_column_array(loc)
            if isinstance(g, gpd.array.GeometryArray):
                return g
    return frame.geometry.values


def _object_pointers(arr: np.ndarray) -> np.ndarray:
    """The ``id`` of every object of a contiguous 1-d object array, copied in one go (an object
    array stores the pointers; ``map(id, arr)`` costs ~30 ns an element)."""
    n = len(arr)
    if not n:
        return np.zeros(0, dtype=np.intp)
    buf = (ctypes.c_ssize_t * n).from_address(arr.ctypes.data)
    return np.array(buf, dtype=np.intp, copy=True)


def facility_sources(network: Network, facilities: Any) -> Sources:
    """Join facilities to the network and build their seed sets (reverse direction).

    A facility farther than ``access_max_m`` from every road gets an empty seed set (it reaches
    nobody); :func:`planner.coverage.analyze` reports such facilities. The join and the seed
    sets are kept per network and facility coordinates (:func:`joined`).
    """
    if isinstance(facilities, Attachment):
        return _sources(facilities)
    att, key = _joined(network, facilities)
    return memo(network, ("facility_sources", *key), lambda: _sources(att))


def _sources(att: Attachment) -> Sources:
    n = len(att)
    # to reach the facility from node u one travels u->point: from_u_s
    nodes = np.column_stack([att.u, att.v]).ravel()
    times = np.column_stack([att.from_u_s, att.from_v_s]).ravel()
    ok = np.isfinite(times) & (nodes >= 0)
    counts = ok.reshape(n, 2).sum(axis=1)
    src_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=src_ptr[1:])
    # shared by every caller with the same facilities, but left writeable: numba compiles a
    # kernel once more for read-only arrays (a second signature costs seconds on a cold start)
    return Sources(att, src_ptr, nodes[ok].astype(np.int32), times[ok].astype(np.float64))


def _edge_time(att: Attachment, direction: str, idx: np.ndarray) -> np.ndarray:
    """Full edge time in one direction, recovered from the attachment's partial times."""
    # to_v = access + (1-frac) t_uv and from_u = access + frac t_uv -> t_uv = (to_v - a) + (from_u - a)
    a = att.access_s[idx]
    if direction == "uv":
        return (att.to_v_s[idx] - a) + (att.from_u_s[idx] - a)
    return (att.to_u_s[idx] - a) + (att.from_v_s[idx] - a)


def _ranges(counts: np.ndarray) -> np.ndarray:
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
