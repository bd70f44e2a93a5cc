"""The siting problem: demand units (residents joined to the network) by candidate sites, as
sparse travel times (never dense).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from .. import access
from .._cache import memo
from .._errors import InputError, OptimizationError

if TYPE_CHECKING:
    from ..pipeline import CoverageResult


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Demand, existing coverage and candidate coverage as sparse arrays, ready for a solver."""

    weights: np.ndarray
    demand_index: np.ndarray  # rows of result.demand used
    attachment: Any  # those rows joined to the network
    existing_time_s: np.ndarray
    candidates: gpd.GeoDataFrame
    sets: access.CoverageSets
    minutes: float

    @property
    def covered_by_existing(self) -> np.ndarray:
        return self.existing_time_s <= self.minutes * 60 + 1e-9


def siting_problem(
    result: CoverageResult,
    candidates: gpd.GeoDataFrame,
    *,
    minutes: float | None = None,
    cutoff_minutes: float | None = None,
) -> SitingProblem:
    """Build the sparse coverage/time structure of demand units x candidate sites."""
    if result.demand is None:
        raise InputError("siting needs population. Fix: load a population file.")
    if len(candidates) == 0:
        raise OptimizationError(
            "there are no candidate sites. Fix: choose another candidate source or a smaller spacing."
        )
    mins = float(minutes or result.settings.minutes)
    dem = result.demand
    use = np.flatnonzero((dem["population"].to_numpy() > 0) & dem["reachable"].to_numpy())
    att = demand_attachment(result).take(use)
    sets = access.coverage_sets(result.network, candidates, att, minutes=cutoff_minutes or mins)
    t_exist = dem["minutes"].to_numpy(float)[use] * 60.0
    return SitingProblem(
        weights=dem["population"].to_numpy(float)[use],
        demand_index=use,
        attachment=att,
        existing_time_s=t_exist,
        candidates=candidates,
        sets=sets,
        minutes=mins,
    )


def demand_attachment(result: CoverageResult) -> Any:
    """The demand units of ``result`` joined to its road network (computed once per result).

    Documented internal: shared by siting and the standards checks, which must join the same
    points the same way. Returns the network's attachment (see ``Network.snap``).
    """
    return memo(
        result,
        "demand_attachment",
        lambda: result.network.snap(_demand(result).geometry.representative_point()),
    )


def _demand(result: CoverageResult) -> gpd.GeoDataFrame:
    if result.demand is None:
        raise InputError(
            f"the coverage result of {result.dataset_name!r} has no population, so no residents to "
            "site for. Fix: run the analysis with population data (population=...)."
        )
    return result.demand
