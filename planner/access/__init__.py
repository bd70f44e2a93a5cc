"""Travel times to facilities: reach sets, nearest-facility times, isochrones and rasters.

Times run **from the resident to the facility**: the searches start at the facilities on the
reversed graph. A facility joins the network in the middle of its nearest edge, so each search is
seeded at both end nodes with the time of the partial edge plus the off-network leg, and a point on
the same edge as a facility may reach it directly along the edge.

Examples
--------
>>> import planner                                                     # doctest: +SKIP
>>> ds = planner.load_demo()                                           # doctest: +SKIP
>>> net = planner.build_network(ds.roads, mode="walk")                 # doctest: +SKIP
>>> iso = planner.isochrones(net, ds.facilities, minutes=(5, 10, 15))  # doctest: +SKIP

The stages live in one module each: :mod:`.sources` (facilities joined to the network),
:mod:`.search` (reach sets, nearest facility), :mod:`.cover` (coverage sets), :mod:`.polygons`
(isochrone polygons) and :mod:`.raster` (travel-time rasters). This package re-exports their
names, so ``planner.access.X`` keeps working for every ``X`` it had.
"""

from __future__ import annotations

from .cover import (  # noqa: F401 - re-exported: planner.access keeps every name
    CoverageBits,
    CoverageSets,
    _CoverJob,
    _demand_at_nodes,
    _direct_pairs,
    coverage_bitset,
    coverage_sets,
)
from .polygons import (  # noqa: F401 - re-exported: planner.access keeps every name
    _CELL_M,
    ISO_CHUNK,
    ISOCHRONE_METHODS,
    _default_cell_m,
    _isochrone_frame,
    _isochrone_options,
    isochrones,
    isochrones_by_tier,
)
from .raster import (  # noqa: F401 - re-exported: planner.access keeps every name
    _RASTER_CHUNK,
    _RASTER_CHUNK_BYTES,
    RASTER_BYTES_PER_CELL,
    RasterGrid,
    _check_cells,
    _raster_bytes,
    grid_shape,
    raster_extent,
    raster_grid,
    travel_time_raster,
)
from .search import (  # noqa: F401 - re-exported: planner.access keeps every name
    _COVER_PAIR_BYTES,
    _REACH_PAIR_BYTES,
    NearestResult,
    Reach,
    _chunks,
    _combine,
    _facilities_by_edge,
    _InThread,
    _over_budget,
    _pair_budget,
    _pairs_by_point,
    _pool,
    _same_edge,
    _same_edge_pairs,
    _source_chunks,
    bucket_delta,
    nearest_facility,
    node_nearest,
    reach,
)
from .sources import (  # noqa: F401 - re-exported: planner.access keeps every name
    _IDENTITY_ENTRIES,
    Sources,
    _coords_key,
    _edge_time,
    _geometry_array,
    _GeometryIdentity,
    _joined,
    _object_pointers,
    _ranges,
    _sources,
    facility_sources,
    joined,
)

__all__ = [
    "CoverageBits",
    "CoverageSets",
    "ISOCHRONE_METHODS",
    "ISO_CHUNK",
    "NearestResult",
    "RASTER_BYTES_PER_CELL",
    "RasterGrid",
    "Reach",
    "Sources",
    "bucket_delta",
    "coverage_bitset",
    "coverage_sets",
    "facility_sources",
    "isochrones",
    "isochrones_by_tier",
    "joined",
    "nearest_facility",
    "node_nearest",
    "raster_extent",
    "raster_grid",
    "reach",
    "travel_time_raster",
]
