"""planner: who lives too far from primary health care, and where new stations should go.

Three lines from data to answers::

    import planner
    result = planner.analyze(planner.load_demo(), mode="walk", minutes=15)
    result.admin_summary        # covered / uncovered residents per county, township, village

Stages (one module each): :mod:`planner.load` -> :mod:`planner.network` ->
:mod:`planner.access` -> :mod:`planner.coverage` -> :mod:`planner.optimize` /
:mod:`planner.siting` -> :mod:`planner.report`; :mod:`planner.pipeline` chains them.
"""

from __future__ import annotations

__version__ = "0.1.0"

# first: numba picks where it caches compiled kernels when they are defined
from . import _numba_cache  # noqa: F401
from ._errors import (
    CRSError,
    InfeasibleError,
    InputError,
    InputFileError,
    InputWarning,
    NetworkError,
    OptimizationError,
    PlannerError,
    PlannerWarning,
    ScenarioError,
)
from .access import (
    RasterGrid,
    coverage_sets,
    isochrones,
    isochrones_by_tier,
    nearest_facility,
    reach,
    travel_time_raster,
)
from .compliance import compliance_report, write_compliance
from .coverage import admin_summary, assign_admin, uncovered_areas
from .load import (
    download_roads,
    read_boundaries,
    read_facilities,
    read_population,
    read_roads,
    to_wgs84,
)
from .network import (
    DRIVE,
    EBIKE,
    WALK,
    Network,
    TravelMode,
    build_network,
    network_pieces,
    travel_mode,
)
from .pipeline import (
    CoverageResult,
    CoverageSettings,
    Dataset,
    analyze,
    coverage_curve,
    load_dataset,
    load_demo,
)
from .popspread import read_population_table
from .report import coverage_map, summary_lines, write_outputs
from .scenario import FacilityEdits, Scenario, StudyArea
from .standards import PRIMARY_TIERS, TIER_LABELS, TIERS, Rules, classify_tier

__all__ = [
    "__version__",
    "FacilityEdits",
    "Scenario",
    "StudyArea",
    "CRSError",
    "InfeasibleError",
    "InputError",
    "InputFileError",
    "NetworkError",
    "OptimizationError",
    "PlannerError",
    "ScenarioError",
    "InputWarning",
    "PlannerWarning",
    "RasterGrid",
    "coverage_sets",
    "isochrones",
    "isochrones_by_tier",
    "nearest_facility",
    "reach",
    "travel_time_raster",
    "admin_summary",
    "assign_admin",
    "uncovered_areas",
    "download_roads",
    "read_boundaries",
    "read_facilities",
    "read_population",
    "read_roads",
    "to_wgs84",
    "DRIVE",
    "EBIKE",
    "WALK",
    "Network",
    "TravelMode",
    "build_network",
    "network_pieces",
    "travel_mode",
    "CoverageResult",
    "CoverageSettings",
    "Dataset",
    "analyze",
    "coverage_curve",
    "load_dataset",
    "load_demo",
    "coverage_map",
    "summary_lines",
    "write_outputs",
    "compliance_report",
    "write_compliance",
    "PRIMARY_TIERS",
    "TIER_LABELS",
    "TIERS",
    "Rules",
    "classify_tier",
    "read_population_table",
]
