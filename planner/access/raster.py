"""Travel-time rasters: the time to the nearest facility at every cell of a grid.

Part of :mod:`planner.access`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj

from .._errors import InputError, InputFileError, NetworkError
from .._validate import check_bytes, max_bytes
from ..network import Network, TravelMode, local_metric_crs, travel_mode, usable_roads
from .search import _combine, _same_edge, node_nearest
from .sources import Sources, facility_sources

if TYPE_CHECKING:
    import geopandas as gpd

log = logging.getLogger(__name__)

# -- raster ---------------------------------------------------------------------------------------

#: Bytes per cell a raster holds until it is written: the float32 minutes, and
#: :func:`planner.report.write_raster`'s mask and float32 copies (measured peak on the demo).
RASTER_BYTES_PER_CELL = 13
#: Bytes of the spatial join of one batch of cells (:data:`_RASTER_CHUNK` cells), whatever the grid.
_RASTER_CHUNK_BYTES = 400 * 2**20
#: Cells joined to the network per batch (bounds the temporaries of the spatial join).
_RASTER_CHUNK = 1 << 20


@dataclass(frozen=True)
class RasterGrid:
    """A raster grid: an affine ``transform`` (of the upper-left corner), ``shape`` (rows,
    columns) and ``crs``. Cell ``(r, c)`` has its centre at ``transform * (c + 0.5, r + 0.5)``.

    Use :meth:`from_file` to take the grid of another raster (AccessMod, HiAccess or ArcGIS
    output) and write :func:`travel_time_raster` on it, cell for cell.
    """

    transform: Any
    shape: tuple[int, int]
    crs: Any

    def __post_init__(self) -> None:
        from affine import Affine

        rows, cols = (int(v) for v in self.shape)
        if rows < 1 or cols < 1:
            raise InputError(
                f"a raster grid needs at least one row and one column, got shape {self.shape!r}."
            )
        t = Affine(*tuple(self.transform)[:6])
        if t.is_degenerate:
            raise InputError(
                f"the raster grid's transform {tuple(t)[:6]} is degenerate (a cell of zero area)."
            )
        if self.crs is None:
            raise InputError(
                "the raster grid has no CRS. Fix: give its coordinate system (e.g. EPSG:32649)."
            )
        object.__setattr__(self, "shape", (rows, cols))
        object.__setattr__(self, "transform", t)
        object.__setattr__(self, "crs", pyproj.CRS.from_user_input(self.crs))

    @classmethod
    def from_file(cls, path: str | Path) -> RasterGrid:
        """The grid of a raster file (GeoTIFF or any format GDAL reads); only the header is read."""
        import rasterio

        path = Path(path)
        if not path.is_file():
            raise InputFileError(
                f"raster {path} not found. Fix: give the path of an existing raster (e.g. a GeoTIFF)."
            )
        try:
            with rasterio.open(path) as src:
                transform, shape, crs = src.transform, (src.height, src.width), src.crs
        except rasterio.errors.RasterioError as exc:
            raise InputFileError(
                f"{path} cannot be read as a raster ({exc}). Fix: give a GeoTIFF or another GDAL raster."
            ) from exc
        if crs is None:
            raise InputError(
                f"raster {path} has no coordinate system. Fix: set one (e.g. gdal_edit.py -a_srs EPSG:32649 {path.name})."
            )
        return cls(transform, shape, pyproj.CRS.from_wkt(crs.to_wkt()))

    @property
    def n_cells(self) -> int:
        return self.shape[0] * self.shape[1]

    def centres(self, rows: slice | None = None) -> np.ndarray:
        """(n, 2) x, y of the cell centres of ``rows`` (all rows by default), row by row, in ``crs``."""
        r0, r1, _ = (rows or slice(None)).indices(self.shape[0])
        cc, rr = np.meshgrid(np.arange(self.shape[1]) + 0.5, np.arange(r0, r1) + 0.5)
        t = self.transform
        return np.column_stack(
            [(t.a * cc + t.b * rr + t.c).ravel(), (t.d * cc + t.e * rr + t.f).ravel()]
        )


def raster_extent(
    roads: Network | gpd.GeoDataFrame,
    *,
    boundaries: Any = None,
    access_max_m: float | None = None,
    mode: str | TravelMode | None = None,
) -> tuple[float, float, float, float]:
    """The area a default travel-time raster covers: (minx, miny, maxx, maxy), in metres.

    The one rule of the raster's extent (:func:`raster_grid`, :func:`planner.write_outputs` and
    ``planner coverage --raster-cell``'s early size check all call this):

    - the ``boundaries``' total bounds when there are any (non-empty);
    - else the road nodes grown by ``access_max_m`` on every side (default: the mode's
      ``access_max_m``), so every cell that can be joined to a road lies inside.

    Parameters
    ----------
    roads : Network or GeoDataFrame
        The network the raster is computed on: the extent is in ``network.crs``. Or, before the
        network is built, the road lines it will be built from (as :func:`planner.build_network`
        takes them): the extent is then in the CRS ``build_network`` picks for them (the UTM zone
        of the roads ``mode`` may use), and spans every vertex of those roads, not only their
        nodes. That is an upper bound, never smaller than the network's extent: the nodes are
        a subset of those vertices (line ends and shared vertices; a line's inner vertices, the
        roads of pieces dropped by ``min_piece_nodes`` and zero-length edges are not nodes).
        Computing the nodes exactly would mean building the network.
    boundaries : GeoDataFrame or GeoSeries, optional
        Admin units; when non-empty the raster spans their total bounds (in the CRS above).
    access_max_m : float, optional
        Metres added on every side of the roads (the raster cells' snap tolerance).
    mode : {"walk", "ebike", "drive"} or TravelMode, optional
        With road lines only: the travel mode (which roads it uses, its ``access_max_m``;
        default "walk"). A network carries its own.

    Examples
    --------
    >>> import planner                                                          # doctest: +SKIP
    >>> ds = planner.load_demo()                                                # doctest: +SKIP
    >>> net = planner.build_network(ds.roads, mode="walk")                      # doctest: +SKIP
    >>> planner.access.raster_extent(net) == planner.access.raster_extent(      # doctest: +SKIP
    ...     ds.roads, mode="walk")  # the roads' vertices span at least the nodes
    False
    """
    if isinstance(roads, Network):
        if mode is not None:
            raise NetworkError("mode= is for road lines: a network carries its own mode.")
        tm, crs = roads.mode, roads.crs
    else:
        tm = travel_mode("walk" if mode is None else mode)
        # the rows and the CRS planner.build_network works with: usable roads with a geometry
        g = roads.geometry[usable_roads(roads, tm)]
        g = g[~(g.isna() | g.is_empty)]
        if len(g) == 0:
            raise NetworkError(f"no roads usable by mode {tm.name!r}: the raster has no extent.")
        crs = local_metric_crs(g)
    if boundaries is not None and len(boundaries):
        minx, miny, maxx, maxy = (float(v) for v in boundaries.to_crs(crs).total_bounds)
        return minx, miny, maxx, maxy
    pad = tm.access_max_m if access_max_m is None else float(access_max_m)
    if not (np.isfinite(pad) and pad >= 0):
        raise NetworkError(f"access_max_m must be a number of metres >= 0, got {access_max_m!r}.")
    if isinstance(roads, Network):
        if roads.n_nodes == 0:
            raise NetworkError("the network has no nodes: give bounds= for the raster.")
        (minx, miny), (maxx, maxy) = roads.node_xy.min(axis=0), roads.node_xy.max(axis=0)
    else:
        minx, miny, maxx, maxy = g.to_crs(crs).total_bounds
    return float(minx - pad), float(miny - pad), float(maxx + pad), float(maxy + pad)


def raster_grid(
    network: Network,
    *,
    cell_m: float = 100.0,
    bounds: tuple[float, float, float, float] | None = None,
    access_max_m: float | None = None,
) -> RasterGrid:
    """The default grid of :func:`travel_time_raster`: square ``cell_m`` cells in ``network.crs``.

    It covers ``bounds`` when given, else :func:`raster_extent` of the network: the road nodes
    grown by ``access_max_m`` (default: the mode's), so every cell that can be joined to a road
    lies inside it.
    """
    from affine import Affine

    if not (np.isfinite(cell_m) and cell_m > 0):
        raise NetworkError(f"cell_m must be a positive number of metres, got {cell_m!r}.")
    if bounds is None:
        minx, miny, maxx, maxy = raster_extent(network, access_max_m=access_max_m)
    else:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        if not (np.isfinite([minx, miny, maxx, maxy]).all() and maxx >= minx and maxy >= miny):
            raise NetworkError(
                f"bounds must be finite (minx, miny, maxx, maxy) with max >= min, got {bounds!r}."
            )
    nrow, ncol = grid_shape((minx, miny, maxx, maxy), cell_m)
    return RasterGrid(Affine(cell_m, 0, minx, 0, -cell_m, maxy), (nrow, ncol), network.crs)


def _raster_bytes(n_cells: int) -> float:
    """Peak memory of :func:`travel_time_raster` and writing its result, estimated from the size."""
    return (
        float(n_cells) * RASTER_BYTES_PER_CELL
        + min(n_cells, _RASTER_CHUNK) * _RASTER_CHUNK_BYTES / _RASTER_CHUNK
    )


def grid_shape(bounds: tuple[float, float, float, float], cell_m: float) -> tuple[int, int]:
    """(rows, columns) of a grid of ``cell_m`` cells over ``bounds`` (metres), refused before
    anything is allocated when it would not fit in memory (the error names a cell that fits).

    Callers may check a raster here before the analysis that precedes it (``planner coverage
    --raster-cell`` does)."""
    minx, miny, maxx, maxy = bounds
    ncol = max(1, int(np.ceil((maxx - minx) / cell_m)))
    nrow = max(1, int(np.ceil((maxy - miny) / cell_m)))
    _check_cells(nrow * ncol, f"a {cell_m:g} m raster over this area", cell_m)
    return nrow, ncol


def _check_cells(n: int, what: str, cell_m: float | None = None) -> None:
    """Refuse, before allocating, a raster whose estimated memory passes
    :func:`planner._validate.max_bytes`; name a cell size that would fit when ``cell_m`` is known."""
    need = _raster_bytes(n)
    room = max_bytes() - _RASTER_CHUNK_BYTES
    if need <= max_bytes():
        return
    if cell_m is not None and room > 0:
        # cells scale as 1 / cell_m**2; two significant digits, rounded up
        fit = cell_m * float(np.sqrt(n * RASTER_BYTES_PER_CELL / room))
        mag = 10.0 ** np.floor(np.log10(fit) - 1)
        fix = f"use cells of at least {np.ceil(fit / mag) * mag:g} m (cell_m=) or a smaller area (bounds=)"
    else:
        fix = "use a coarser grid or a smaller area"
    check_bytes(need, what=f"{what} ({n:,} cells)", fix=fix, error=NetworkError)


def travel_time_raster(
    network: Network,
    facilities: Any,
    *,
    cell_m: float = 100.0,
    bounds: tuple[float, float, float, float] | None = None,
    like: RasterGrid | str | Path | None = None,
    access_max_m: float | None = None,
    max_minutes: float | None = None,
) -> tuple[np.ndarray, Any, Any]:
    """Minutes to the nearest facility on a regular grid (cell centres joined to the network).

    Each cell centre joins its nearest usable road if one lies within ``access_max_m`` (the
    straight-line part at the mode's off-network speed, as homes join), and gets the travel time
    from there to the nearest facility; cells farther from every road, or whose road reaches no
    facility, are NaN.

    Parameters
    ----------
    cell_m : float
        Cell size in metres (grid in ``network.crs``).
    bounds : (minx, miny, maxx, maxy), optional
        In ``network.crs``. Default: the road nodes grown by ``access_max_m`` on every side, so
        cells beyond the outermost road that can still reach it get a value. :func:`planner.write_outputs`
        passes the boundaries' extent when there are boundaries.
    like : RasterGrid or path, optional
        Write on this grid instead (a :class:`RasterGrid` or the path of a raster whose
        transform, size and CRS are taken), so the result can be compared cell by cell with
        another model's raster. ``cell_m`` and ``bounds`` are then not used.
    access_max_m : float, optional
        The snap tolerance: the longest straight-line join from a cell centre to a road, in
        metres (default: the mode's ``access_max_m``, as for homes and facilities).
    max_minutes : float, optional
        Stop searching beyond this time (farther cells are NaN).

    Returns
    -------
    (array, transform, crs)
        float32 minutes of shape (rows, columns), NaN where no facility is reachable; the grid's
        affine transform and CRS, ready for :func:`planner.report.write_raster`.

    Examples
    --------
    >>> import planner                                                         # doctest: +SKIP
    >>> ds = planner.load_demo()                                               # doctest: +SKIP
    >>> net = planner.build_network(ds.roads, mode="walk")                     # doctest: +SKIP
    >>> arr, transform, crs = planner.travel_time_raster(net, ds.facilities, cell_m=200)  # doctest: +SKIP
    >>> arr2, *_ = planner.travel_time_raster(net, ds.facilities, like="accessmod.tif")   # doctest: +SKIP
    """
    snap_m = network.mode.access_max_m if access_max_m is None else float(access_max_m)
    if not (np.isfinite(snap_m) and snap_m >= 0):
        raise NetworkError(f"access_max_m must be a number of metres >= 0, got {access_max_m!r}.")
    if like is not None:
        if bounds is not None:
            raise NetworkError("give either bounds= or like= for the raster, not both.")
        grid = like if isinstance(like, RasterGrid) else RasterGrid.from_file(like)
        _check_cells(grid.n_cells, "the raster grid given (like=)")
    else:
        grid = raster_grid(network, cell_m=cell_m, bounds=bounds, access_max_m=snap_m)
    t0 = time.perf_counter()
    src = facilities if isinstance(facilities, Sources) else facility_sources(network, facilities)
    dist, label = node_nearest(network, src, max_minutes=max_minutes)
    to_net = None
    if not grid.crs.equals(network.crs):
        to_net = pyproj.Transformer.from_crs(grid.crs, network.crs, always_xy=True)
    rows, cols = grid.shape
    out = np.full(grid.n_cells, np.nan, dtype=np.float32)
    step = max(1, _RASTER_CHUNK // cols)
    for r0 in range(0, rows, step):  # a batch of rows at a time: memory bounded whatever the grid
        xy = grid.centres(slice(r0, min(rows, r0 + step)))
        if to_net is not None:
            x, y = to_net.transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([x, y])
        ok = np.isfinite(xy).all(axis=1)  # cells the projection cannot map stay NaN
        att = network.snap(xy[ok], access_max_m=snap_m)
        best, _who = _combine(att, dist, label)
        best, _who = _same_edge(att, src.attachment, best, _who)
        if max_minutes is not None:
            best[best > float(max_minutes) * 60.0] = np.inf
        vals = np.full(len(xy), np.nan)
        vals[ok] = np.where(np.isfinite(best), best / 60.0, np.nan)
        out[r0 * cols : r0 * cols + len(xy)] = vals
    log.info(
        "travel-time raster: %d x %d cells, %.1f %% with a value, in %.2f s",
        rows,
        cols,
        100.0 * float(np.isfinite(out).mean()),
        time.perf_counter() - t0,
    )
    return out.reshape(rows, cols), grid.transform, grid.crs
