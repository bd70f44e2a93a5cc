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

#: Colours of the uncovered-population classes (residents per area), yellow to red.
UNCOVERED_COLORS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Lower edges of the uncovered-population classes 2..5 (residents); class 1 is below 100.
#: One definition for every map (app, HTML report, CLI map, printed map), so colours compare
#: across views.
UNCOVERED_BREAKS: tuple[int, ...] = (100, 500, 1_000, 5_000)
