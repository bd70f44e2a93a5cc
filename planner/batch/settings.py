"""The batch's settings and results: ``BatchSettings``, ``RegionOutcome``, ``BatchResult``.

Part of :mod:`planner.batch`, which re-exports the public names.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import pipeline
from .._errors import InputError
from ..network import TravelMode, travel_mode

log = logging.getLogger("planner.batch")


#: Columns of the merged ``summary.csv`` (the same as ``planner coverage``'s summary.csv) and
#: of ``admin_summary.parquet`` (plus ``region_code``).
SUMMARY_COLUMNS = [
    "admin_code",
    "admin_name",
    "level",
    "population",
    "covered_population",
    "covered_share",
]
MANIFEST = "manifest.json"
#: Environment variable of a fault-injection hook used by the tests: ``CODE:MARKER`` makes the
#: task of region CODE kill its own process once (after writing part of its outputs), leaving
#: MARKER behind so the retry runs normally.
FAULT_ENV = "PLANNER_BATCH_FAULT"


@dataclass(frozen=True)
class BatchSettings:
    """What every region computes (hashable; part of each region's content hash)."""

    mode: str = "walk"
    minutes: float = 15.0
    tiers: tuple[str, ...] = ()
    isochrone_minutes: tuple[float, ...] | None = None
    horizon_minutes: float | None = None
    speed_kmh: float | None = None
    access_max_m: float | None = None
    access_speed_factor: float | None = None
    #: siting: new sites per region (each region optimised on its own), or a regional budget
    #: split across regions (``regional_sites``); ``max_sites_per_region`` caps the per-region
    #: curve computed for the split (default: min(regional_sites, 10)).
    new_sites: int | None = None
    regional_sites: int | None = None
    max_sites_per_region: int | None = None
    new_tier: str = "community_station"
    time_limit_s: float = 60.0
    #: also check every region against the standards (planner.compliance) and merge the checks
    compliance: bool = False

    def __post_init__(self) -> None:
        for name in ("new_sites", "regional_sites", "max_sites_per_region"):
            v = getattr(self, name)
            if v is not None and (int(v) != v or v < 1):
                raise InputError(f"{name} must be a positive whole number, got {v!r}.")
        if self.new_sites is not None and self.regional_sites is not None:
            raise InputError(
                "give new_sites (per region) or regional_sites (a budget for all), not both."
            )
        pipeline.CoverageSettings(
            mode=self.mode, minutes=self.minutes, tiers=self.tiers
        )  # validates
        if self.horizon_minutes is not None and not self.horizon_minutes >= self.minutes:
            raise InputError(
                f"horizon_minutes ({self.horizon_minutes!r}) must be at least minutes ({self.minutes!r})."
            )

    @property
    def curve_sites(self) -> int:
        """Largest number of new sites optimised per region (0: no siting)."""
        if self.new_sites is not None:
            return int(self.new_sites)
        if self.regional_sites is not None:
            return int(self.max_sites_per_region or min(self.regional_sites, 10))
        return 0

    @property
    def horizon(self) -> float:
        return float(self.horizon_minutes if self.horizon_minutes is not None else self.minutes)

    def travel_mode(self) -> TravelMode:
        return travel_mode(
            self.mode,
            speed_kmh=self.speed_kmh,
            access_max_m=self.access_max_m,
            access_speed_factor=self.access_speed_factor,
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RegionOutcome:
    """What one region's task produced."""

    admin_code: str
    admin_name: str
    skipped: bool
    seconds: float
    population: float
    covered_population: float
    n_facilities: int
    n_roads: int
    content_hash: str
    folder: str
    peak_rss_mb: float = float("nan")
    worker_pid: int = 0


@dataclass(frozen=True)
class BatchResult:
    """The merged outputs of :func:`run_batch`."""

    summary: pd.DataFrame
    admin_summary: pd.DataFrame
    regions: pd.DataFrame
    out_dir: Path
    seconds: float
    dashboard: str | None = None
    written: dict[str, Path] = field(default_factory=dict)
