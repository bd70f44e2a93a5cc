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

from .build import (  # noqa: F401 - every name stays importable from planner.network
    _argsort_stable,
    _as_geometry,
    _csr,
    _linestrings,
    _ranges,
    _small_pieces,
    _split_by_level,
    _split_loops,
    _vertex_ids,
    _vertex_levels,
    build_network,
    hilbert_order,
    largest_component_mask,
    network_from_arrays,
)
from .graph import (  # noqa: F401 - every name stays importable from planner.network
    Attachment,
    Network,
    _partial,
    _piece_labels,
    local_metric_crs,
    network_pieces,
)
from .modes import (  # noqa: F401 - every name stays importable from planner.network
    _FALSE_FLAGS,
    ACCESS_DENIED,
    ACCESS_GRANTED,
    BUS_ONLY,
    DRIVE,
    DRIVE_SPEEDS_KMH,
    EBIKE,
    MAX_PLAUSIBLE_MAXSPEED_KMH,
    MODES,
    MOTOR_ONLY,
    NON_MOTOR,
    WALK,
    Mode,
    TravelMode,
    _first_text,
    _plausible_maxspeed,
    _tag_values,
    edge_speeds,
    edge_times,
    road_levels,
    travel_mode,
    usable_roads,
)
