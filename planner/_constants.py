"""Names every stage shares, defined once (light: no heavy imports, so the CLI and the scenario
file can validate input before numba or geopandas load).

The travel modes' speeds and rules live with :class:`planner.network.TravelMode`
(``planner.network.MODES``); this module holds only the names.
"""

from __future__ import annotations

#: Travel modes, in the order the CLI and the app list them (see ``planner.network.MODES``).
MODE_NAMES: tuple[str, ...] = ("walk", "ebike", "drive")

#: Siting objectives: MCLP, LSCP, p-median, p-center (see :func:`planner.siting.propose_sites`).
OBJECTIVES: tuple[str, ...] = ("max-coverage", "min-sites", "min-time", "min-max-time")

#: Where candidate sites come from: near uncovered residents, village centres, a file of
#: premises, or road junctions.
CANDIDATE_SOURCES: tuple[str, ...] = ("uncovered", "villages", "file", "nodes")
