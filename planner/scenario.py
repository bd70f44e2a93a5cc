"""Scenarios: a frozen, replayable description of one analysis or siting run.

A :class:`Scenario` names the data sources, the travel mode and its settings, the threshold, the
tiers, the siting problem and its parameters, the candidates and the seed. It validates itself,
is hashable (a cache key in the app) and saves to / loads from TOML so a run can be replayed::

    sc = Scenario(name="8 stations", objective="max-coverage", new_sites=8)
    sc.save("scenarios/8-stations.toml")
    same = Scenario.load("scenarios/8-stations.toml")
    run = sc.run()                                  # loads the data, analyses, optimizes
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _constants
from ._errors import ScenarioError
from .standards import TIERS

MODES = _constants.MODE_NAMES
# "none": analyse only, no siting
OBJECTIVES = ("none", *_constants.OBJECTIVES)
CANDIDATE_SOURCES = _constants.CANDIDATE_SOURCES


def sheet_argument(value: Any) -> str | int | None:
    """A sheet as people number it (name, or 1 = first) to ``read_facilities(sheet=)`` (0-based)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    return int(text) - 1 if text.isdigit() and int(text) >= 1 else text


def _decode_toml(data: bytes, source: str) -> str:
    """TOML text: UTF-8 (with or without BOM) as the format requires, else GB18030, which
    Chinese Windows editors save by default (Notepad before 2019, WPS); anything else is refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise ScenarioError(
            f"{source}: not UTF-8 text ({utf8_error}) and not GBK/GB18030 either. Fix: save the "
            "scenario as UTF-8 (in Notepad: Save as, Encoding UTF-8)."
        ) from None
    import logging

    logging.getLogger(__name__).warning(
        "%s: read as GBK/GB18030 text (TOML files should be UTF-8)", source
    )
    return text


@dataclass(frozen=True)
class Scenario:
    """One replayable planning scenario.

    Parameters
    ----------
    name : str
    data_dir : str, optional
        Folder with roads/, facilities/, population/, boundaries/ (empty: the demo county).
    roads, facilities, population, boundaries : str, optional
        Files overriding those found in ``data_dir``.
    facilities_crs : str, optional
        ``wgs84``, ``gcj02``, ``bd09`` or ``EPSG:N``.
    facilities_sheet : str, optional
        Sheet of an XLSX facilities workbook: its name, or its number counted from 1 (empty: the
        first sheet).
    mode : {"walk", "ebike", "drive"}
    minutes : float
    tiers : tuple of str
        Tiers that count as coverage (empty: all primary-care tiers and hospitals).
    speed_kmh, access_max_m, access_speed_factor : float, optional
    objective : {"none", "max-coverage", "min-sites", "min-time", "min-max-time"}
    new_sites : int, optional
    budget : float, optional
    target_share : float
    new_tier : str
        Tier of the proposed sites.
    candidates : {"uncovered", "file", "villages", "nodes"}
    candidates_file : str, optional
    spacing_m : float
    capacity : float, optional
    time_limit_s : float
    seed : int
    proposed : tuple of (lon, lat, tier)
        Sites a person proposed by hand (evaluated, not optimized).
    tier_requests : tuple of str
        Multi-tier siting: ``"TIER:P[:MINUTES]"`` per tier (e.g. ``"community_station:5"``,
        ``"community_center:1"``); when given, ``new_tier`` and ``new_sites`` are not used.
    """

    name: str = "scenario"
    data_dir: str = ""
    roads: str = ""
    facilities: str = ""
    population: str = ""
    boundaries: str = ""
    facilities_crs: str = ""
    facilities_sheet: str = ""
    mode: str = "walk"
    minutes: float = 15.0
    tiers: tuple[str, ...] = ()
    speed_kmh: float | None = None
    access_max_m: float | None = None
    access_speed_factor: float | None = None
    objective: str = "none"
    new_sites: int | None = None
    budget: float | None = None
    target_share: float = 1.0
    new_tier: str = "community_station"
    candidates: str = "uncovered"
    candidates_file: str = ""
    spacing_m: float = 300.0
    capacity: float | None = None
    time_limit_s: float = 60.0
    seed: int = 0
    proposed: tuple[tuple[float, float, str], ...] = ()
    tier_requests: tuple[str, ...] = ()
    # the population group the optimizer weights demand by ("65+", "under5", a group column);
    # "" weights every resident alike (TOML has no null, so no None here)
    weight: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", tuple(self.tiers))
        object.__setattr__(self, "tier_requests", tuple(self.tier_requests))
        object.__setattr__(
            self, "proposed", tuple((float(a), float(b), str(t)) for a, b, t in self.proposed)
        )
        problems = [*self._choice_problems(), *self._number_problems()]
        if problems:
            raise ScenarioError(f"scenario {self.name!r}: " + "; ".join(problems) + ".")

    def _choice_problems(self) -> list[str]:
        """Mode, minutes, tiers, objective, sites, budget, share and candidates."""
        problems: list[str] = []
        if self.mode not in MODES:
            problems.append(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not (
            isinstance(self.minutes, int | float)
            and math.isfinite(self.minutes)
            and self.minutes > 0
        ):
            problems.append(f"minutes must be a positive number, got {self.minutes!r}")
        bad = [t for t in (*self.tiers, self.new_tier) if t not in TIERS]
        if bad:
            problems.append(f"unknown tiers {bad} (use {', '.join(TIERS)})")
        if self.objective not in OBJECTIVES:
            problems.append(f"objective {self.objective!r} is not one of {', '.join(OBJECTIVES)}")
        if self.new_sites is not None and (
            int(self.new_sites) != self.new_sites or self.new_sites < 1
        ):
            problems.append(f"new_sites must be a whole number >= 1, got {self.new_sites!r}")
        if self.budget is not None and not self.budget >= 0:
            problems.append(f"budget must be >= 0, got {self.budget!r}")
        if not 0 < self.target_share <= 1:
            problems.append(f"target_share must be in (0, 1], got {self.target_share!r}")
        if self.candidates not in CANDIDATE_SOURCES:
            problems.append(
                f"candidates {self.candidates!r} is not one of {', '.join(CANDIDATE_SOURCES)}"
            )
        if self.candidates == "file" and not self.candidates_file:
            problems.append("candidates = 'file' needs candidates_file")
        return problems

    def _number_problems(self) -> list[str]:
        """Spacing, time limit, speeds, tier requests and the weight."""
        problems: list[str] = []
        if not self.spacing_m > 0:
            problems.append(f"spacing_m must be positive, got {self.spacing_m!r}")
        if not self.time_limit_s > 0:
            problems.append(f"time_limit_s must be positive, got {self.time_limit_s!r}")
        for k in ("speed_kmh", "access_max_m", "access_speed_factor", "capacity"):
            v = getattr(self, k)
            if v is not None and not (math.isfinite(v) and v >= 0):
                problems.append(f"{k} must be a non-negative number, got {v!r}")
        for text in self.tier_requests:
            from ._errors import InputError
            from .siting import TierRequest

            try:
                req = TierRequest.parse(text)
            except InputError as exc:
                problems.append(str(exc).rstrip("."))
                continue
            if req.tier not in TIERS:
                problems.append(f"tier_requests: unknown tier {req.tier!r}")
        if not isinstance(self.weight, str):
            problems.append(f"weight must be a group name (text), got {self.weight!r}")
        elif self.weight and self.tier_requests:
            problems.append("weight works with one tier of new sites: drop weight or tier_requests")
        return problems

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain types only; ``None`` fields are left out (TOML has no null)."""
        d = dataclasses.asdict(self)
        d["tiers"] = list(self.tiers)
        d["tier_requests"] = list(self.tier_requests)
        d["proposed"] = [{"lon": a, "lat": b, "tier": t} for a, b, t in self.proposed]
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "scenario") -> Scenario:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScenarioError(
                f"{source}: unknown keys {unknown}. Fix: remove them or correct their spelling "
                f"(known keys: {', '.join(sorted(known))})."
            )
        d = dict(data)
        if "proposed" in d:
            try:
                d["proposed"] = tuple(
                    (p["lon"], p["lat"], p.get("tier", "community_station")) for p in d["proposed"]
                )
            except (TypeError, KeyError) as exc:
                raise ScenarioError(
                    f"{source}: 'proposed' must be a list of tables with lon, lat, tier ({exc})."
                ) from exc
        for key in ("tiers", "tier_requests"):
            if key in d:
                d[key] = tuple(d[key])
        try:
            return cls(**d)
        except TypeError as exc:
            raise ScenarioError(f"{source}: {exc}") from exc

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> Path:
        """Write the scenario as TOML (folders created as needed)."""
        import os
        import tempfile

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        text = self.to_toml()
        # a unique temporary name in the same folder, renamed over the old file: a crash never
        # leaves half a scenario, and two saves at once never write into one temporary file
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".partial", dir=p.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        p = Path(path)
        if not p.is_file():
            raise ScenarioError(f"scenario file not found: {p}.")
        try:
            data = tomllib.loads(_decode_toml(p.read_bytes(), str(p)))
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(
                f"{p}: not valid TOML ({exc}). Fix: check the line it names."
            ) from exc
        return cls.from_dict(data, source=str(p))

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)

    # -- running ---------------------------------------------------------------------------------
    def load_data(self):
        from . import pipeline

        if not any((self.data_dir, self.roads, self.facilities)):
            return pipeline.load_demo()
        return pipeline.load_dataset(
            self.data_dir or None,
            roads=self.roads or None,
            facilities=self.facilities or None,
            population=self.population or None,
            boundaries=self.boundaries or None,
            facilities_crs=self.facilities_crs or None,
            facilities_sheet=sheet_argument(self.facilities_sheet),
        )

    def analyze(self, dataset=None, *, network=None, progress=None, add_facilities=None):
        from . import pipeline

        ds = dataset if dataset is not None else self.load_data()
        return pipeline.analyze(
            ds,
            mode=self.mode,
            minutes=self.minutes,
            tiers=self.tiers or None,
            speed_kmh=self.speed_kmh,
            access_max_m=self.access_max_m,
            access_speed_factor=self.access_speed_factor,
            network=network,
            progress=progress,
            add_facilities=add_facilities,
        )

    def proposed_frame(self):
        """The hand-proposed sites as a GeoDataFrame (``site_id, lon, lat, tier``)."""
        import geopandas as gpd
        import shapely

        rows = list(self.proposed)
        return gpd.GeoDataFrame(
            {
                "site_id": [f"P{i + 1}" for i in range(len(rows))],
                "facility_id": [f"P{i + 1}" for i in range(len(rows))],
                "lon": [r[0] for r in rows],
                "lat": [r[1] for r in rows],
                "tier": [r[2] for r in rows],
            },
            geometry=shapely.points([(r[0], r[1]) for r in rows]) if rows else [],
            crs="EPSG:4326",
        )

    def optimize(self, result, *, progress=None):
        """Run this scenario's siting problem on a coverage result."""
        from . import siting

        if self.objective == "none":
            raise ScenarioError(f"scenario {self.name!r} has objective 'none'. Fix: set objective.")
        cands = None
        if self.candidates != "uncovered":
            cands = siting.candidate_sites(
                result,
                source=self.candidates,
                path=self.candidates_file or None,
                tier=self.new_tier,
                spacing_m=self.spacing_m,
            )
        if self.tier_requests:
            return siting.propose_multi_tier(
                result,
                [siting.TierRequest.parse(t) for t in self.tier_requests],
                candidates=cands,
                spacing_m=self.spacing_m,
                time_limit_s=self.time_limit_s,
                seed=self.seed,
                progress=progress,
            )
        return siting.propose_sites(
            result,
            objective=self.objective,
            new_sites=self.new_sites,
            budget=self.budget,
            target_share=self.target_share,
            candidates=cands,
            tier=self.new_tier,
            spacing_m=self.spacing_m,
            capacity=self.capacity,
            time_limit_s=self.time_limit_s,
            seed=self.seed,
            progress=progress,
            weight=self.weight or None,
        )
