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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _constants
from ._errors import InputError, ScenarioError
from .standards import TIERS

if TYPE_CHECKING:
    from .pipeline import CoverageResult, Dataset

#: The version of the scenario.toml format this planner writes (``format_version``). A file
#: without it is version 1 (before the facility edits and the study area were saved); it
#: loads with no edits and the whole county. A newer file is refused with a clear message.
FORMAT_VERSION = 2

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


# ---------------------------------------------------------------------------------------------
# What a person changes: the facility register's edits and the study area
# ---------------------------------------------------------------------------------------------

#: The three kinds of facility edit (the actions of :meth:`FacilityEdits.rows`).
ACTIONS = ("close", "move", "tier")


def _check_lonlat(what: str, lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        raise InputError(
            f"{what}: ({lon}, {lat}) are not lon/lat degrees. "
            "Fix: give WGS-84 longitude and latitude."
        )


@dataclass(frozen=True)
class FacilityEdits:
    """Changes to the facility register: ``closed`` ids, ``moved`` ``(id, lon, lat)`` (WGS-84)
    and ``retiered`` ``(id, tier)``. One edit per facility: closing a facility drops its move
    and tier change; moving or re-tiering a closed facility reopens it.

    A small frozen (hashable) value: the app keeps it in the session and uses it as a cache
    key; a :class:`Scenario` saves it in scenario.toml (``[edits]``).

    >>> e = FacilityEdits().close("F1").set_tier("F2", "community_center")
    >>> e.rows()
    [('F1', 'close', ''), ('F2', 'tier', 'community_center')]
    """

    closed: tuple[str, ...] = ()
    moved: tuple[tuple[str, float, float], ...] = ()
    retiered: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "closed", tuple(str(c) for c in self.closed))
        object.__setattr__(
            self, "moved", tuple((str(f), float(x), float(y)) for f, x, y in self.moved)
        )
        object.__setattr__(self, "retiered", tuple((str(f), str(t)) for f, t in self.retiered))
        bad = [t for _, t in self.retiered if t not in TIERS]
        if bad:
            raise InputError(f"unknown tiers {bad}. Fix: use one of {', '.join(TIERS)}.")
        for fid, lon, lat in self.moved:
            _check_lonlat(f"facility {fid}", lon, lat)

    def __bool__(self) -> bool:
        return bool(self.closed or self.moved or self.retiered)

    @property
    def facility_ids(self) -> tuple[str, ...]:
        """Every facility edited, in the order of the edits."""
        ids = [*self.closed, *(m[0] for m in self.moved), *(r[0] for r in self.retiered)]
        return tuple(dict.fromkeys(ids))

    def undo(self, facility_id: str) -> FacilityEdits:
        """These edits without any of ``facility_id``."""
        f = str(facility_id)
        return FacilityEdits(
            closed=tuple(c for c in self.closed if c != f),
            moved=tuple(m for m in self.moved if m[0] != f),
            retiered=tuple(r for r in self.retiered if r[0] != f),
        )

    def close(self, facility_id: str) -> FacilityEdits:
        """Close ``facility_id`` (its move or tier change is dropped)."""
        rest = self.undo(facility_id)
        return dataclasses.replace(rest, closed=(*rest.closed, str(facility_id)))

    def move(self, facility_id: str, lon: float, lat: float) -> FacilityEdits:
        """Move ``facility_id`` to ``(lon, lat)`` (WGS-84); keeps a tier change, reopens."""
        f = str(facility_id)
        return FacilityEdits(
            closed=tuple(c for c in self.closed if c != f),
            moved=(*(m for m in self.moved if m[0] != f), (f, float(lon), float(lat))),
            retiered=self.retiered,
        )

    def set_tier(self, facility_id: str, tier: str) -> FacilityEdits:
        """Give ``facility_id`` the tier ``tier``; keeps a move, reopens a closed one."""
        f = str(facility_id)
        return FacilityEdits(
            closed=tuple(c for c in self.closed if c != f),
            moved=self.moved,
            retiered=(*(r for r in self.retiered if r[0] != f), (f, str(tier))),
        )

    def rows(self) -> list[tuple[str, str, str]]:
        """``(facility_id, action, detail)`` per edit, ``action`` one of :data:`ACTIONS`."""
        out = [(c, "close", "") for c in self.closed]
        out += [(f, "move", f"{lon:.6f}, {lat:.6f}") for f, lon, lat in self.moved]
        out += [(f, "tier", t) for f, t in self.retiered]
        return out

    def apply(self, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The register with these edits (a new frame, the input is not changed).

        Raises
        ------
        InputError
            When an edited facility id is not in ``facilities['facility_id']``.
        """
        ids = facilities["facility_id"].astype(str).to_numpy(dtype=object)
        unknown = [f for f in self.facility_ids if f not in set(ids)]
        if unknown:
            raise InputError(
                f"facilities {unknown} are not in the register. "
                "Fix: pick facilities from the data's facility_id column."
            )
        out = facilities[~np.isin(ids, list(self.closed))].copy()
        if self.moved:
            oid = out["facility_id"].astype(str)
            pts = gpd.GeoSeries(
                shapely.points([(lon, lat) for _, lon, lat in self.moved]), crs="EPSG:4326"
            )
            if out.crs is not None and not out.crs.equals("EPSG:4326"):
                pts = pts.to_crs(out.crs)
            geom = out.geometry.copy()
            for (fid, lon, lat), p in zip(self.moved, pts.values, strict=True):
                sel = (oid == fid).to_numpy()
                geom[sel] = p
                for col, v in (("lon", lon), ("lat", lat)):
                    if col in out.columns:
                        out.loc[sel, col] = v
            out = out.set_geometry(geom)
        for fid, tier in self.retiered:
            out.loc[(out["facility_id"].astype(str) == fid).to_numpy(), "tier"] = tier
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``[edits]`` table of scenario.toml (empty lists left out)."""
        d: dict[str, Any] = {
            "closed": list(self.closed),
            "moved": [{"facility_id": f, "lon": x, "lat": y} for f, x, y in self.moved],
            "retiered": [{"facility_id": f, "tier": t} for f, t in self.retiered],
        }
        return {k: v for k, v in d.items() if v}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "scenario") -> FacilityEdits:
        """The edits of an ``[edits]`` table (see :meth:`to_dict`)."""
        where = f"{source}: [edits]"
        if not isinstance(data, dict):
            raise ScenarioError(
                f"{where} must be a table with closed, moved and retiered. Fix: correct it, or "
                "save the scenario again from the app."
            )
        unknown = sorted(set(data) - {"closed", "moved", "retiered"})
        if unknown:
            raise ScenarioError(
                f"{where}: unknown keys {unknown}. Fix: use closed, moved and retiered."
            )
        try:
            closed = tuple(str(c) for c in data.get("closed", ()))
            moved = tuple(
                (str(m["facility_id"]), float(m["lon"]), float(m["lat"]))
                for m in data.get("moved", ())
            )
            retiered = tuple(
                (str(r["facility_id"]), str(r["tier"])) for r in data.get("retiered", ())
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise ScenarioError(
                f"{where}: closed is a list of facility ids, moved a list of tables with "
                "facility_id, lon, lat, retiered a list of tables with facility_id, tier "
                f"({type(exc).__name__}: {exc}). Fix: correct the table, or save the scenario "
                "again from the app."
            ) from None
        try:
            return cls(closed=closed, moved=moved, retiered=retiered)
        except InputError as exc:  # an unknown tier, a move that is not lon/lat
            raise ScenarioError(f"{where}: {exc}") from None


def boundary_polygon(points: Iterable[tuple[float, float]]) -> shapely.Polygon:
    """A study boundary from its corners (``(lon, lat)`` WGS-84, in order around the area;
    the ring need not be closed).

    Raises
    ------
    InputError
        With fewer than three corners, or when the edges cross.
    """
    pts = [(float(x), float(y)) for x, y in points]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]  # a closed ring (as GeoJSON gives it): the same polygon
    if len(pts) < 3:
        raise InputError(
            f"a study boundary needs at least 3 corners, got {len(pts)}. Fix: click more corners."
        )
    for x, y in pts:
        _check_lonlat("study boundary", x, y)
    poly = shapely.Polygon(pts)
    if not poly.is_valid or poly.area <= 0:
        raise InputError(
            "the study boundary crosses itself. Fix: clear it and click the corners in order "
            "around the area."
        )
    return poly


def area_mask(
    result: CoverageResult,
    *,
    admin_codes: Iterable[str] = (),
    polygon: shapely.Geometry | None = None,
) -> np.ndarray:
    """Which demand units of ``result`` are inside the study area: in one of ``admin_codes``
    (townships or villages, any level) and inside ``polygon`` (lon/lat, EPSG:4326), each when
    given."""
    from . import coverage

    dem = result.demand
    if dem is None:
        raise InputError("a study area needs population. Fix: load a population file.")
    keep = np.ones(len(dem), dtype=bool)
    codes = {str(c) for c in admin_codes}
    if codes:
        cols = [c for c in dem.columns if c.endswith("_code")]
        if not cols:
            raise InputError("picking admin units needs boundaries. Fix: load a boundaries file.")
        inside = np.zeros(len(dem), dtype=bool)
        for c in cols:
            inside |= dem[c].astype(str).isin(codes).to_numpy()
        keep &= inside
    if polygon is not None:
        if polygon.is_empty or not polygon.is_valid:
            raise InputError(
                "the study boundary is empty or crosses itself. Fix: draw it again, "
                "clicking the corners in order."
            )
        pts = coverage.demand_points(dem)
        if pts.crs is not None and not pts.crs.equals("EPSG:4326"):
            pts = pts.to_crs("EPSG:4326")
        keep &= shapely.contains_xy(polygon, shapely.get_x(pts.values), shapely.get_y(pts.values))
    return keep


def _area_summary(
    dem: gpd.GeoDataFrame, result: CoverageResult, keep_codes: set[str]
) -> pd.DataFrame | None:
    """The admin summary of a study area: the units with residents inside, and those picked."""
    from . import coverage

    if result.admin_summary is None:
        return None
    s = coverage.admin_summary(dem, result.boundaries)
    codes = s["admin_code"].astype(str)
    inside = (s["population"].to_numpy(float) > 0) | codes.isin(keep_codes).to_numpy()
    return s[inside & (codes != "").to_numpy()].reset_index(drop=True)


def restrict(
    result: CoverageResult,
    *,
    admin_codes: Iterable[str] = (),
    polygon: shapely.Geometry | None = None,
) -> CoverageResult:
    """``result`` counting only the residents inside the study area (see :func:`area_mask`).

    The demand (its index kept), the admin summary (units with residents inside, and the
    units picked) and the uncovered areas are restricted; the facilities and the network stay
    whole (residents inside may be served from outside). Without any restriction, ``result``
    itself.

    Raises
    ------
    InputError
        When nobody lives inside the study area.
    """
    from . import coverage

    codes = {str(c) for c in admin_codes}
    if not codes and polygon is None:
        return result
    mask = area_mask(result, admin_codes=codes, polygon=polygon)
    assert result.demand is not None  # area_mask raised otherwise
    if not mask.any():
        raise InputError(
            "nobody lives inside the study area. Fix: pick other units or draw a larger boundary."
        )
    dem = result.demand[mask]
    return dataclasses.replace(
        result,
        demand=dem,
        admin_summary=_area_summary(dem, result, codes),
        uncovered=coverage.uncovered_areas(
            dem, boundaries=result.boundaries, crs=result.network.crs
        ),
    )


@dataclass(frozen=True)
class StudyArea:
    """The part of the county an analysis counts: admin units picked (``admin_codes``, any
    level) and a drawn ``boundary`` (its corners, ``(lon, lat)`` WGS-84, in order), each when
    given; residents must be inside both. Empty: the whole county. Saved in scenario.toml as
    ``[area]``.

    >>> StudyArea(boundary=((0, 0), (1, 0), (1, 1))).polygon().area
    0.5
    """

    admin_codes: tuple[str, ...] = ()
    boundary: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "admin_codes", tuple(str(c) for c in self.admin_codes))
        object.__setattr__(self, "boundary", tuple((float(x), float(y)) for x, y in self.boundary))
        if self.boundary:
            boundary_polygon(self.boundary)  # raises on too few corners or crossing edges

    def __bool__(self) -> bool:
        return bool(self.admin_codes or self.boundary)

    def polygon(self) -> shapely.Polygon | None:
        """The drawn boundary as a polygon (None without one)."""
        return boundary_polygon(self.boundary) if self.boundary else None

    def apply(self, result: CoverageResult) -> CoverageResult:
        """``result`` counting only the residents inside (:func:`restrict`)."""
        return restrict(result, admin_codes=self.admin_codes, polygon=self.polygon())

    def to_dict(self) -> dict[str, Any]:
        """The ``[area]`` table of scenario.toml (empty lists left out)."""
        d: dict[str, Any] = {
            "admin_codes": list(self.admin_codes),
            "boundary": [[x, y] for x, y in self.boundary],
        }
        return {k: v for k, v in d.items() if v}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "scenario") -> StudyArea:
        """The study area of an ``[area]`` table (see :meth:`to_dict`)."""
        where = f"{source}: [area]"
        if not isinstance(data, dict):
            raise ScenarioError(f"{where} must be a table with admin_codes and boundary.")
        unknown = sorted(set(data) - {"admin_codes", "boundary"})
        if unknown:
            raise ScenarioError(f"{where}: unknown keys {unknown}. Fix: use admin_codes, boundary.")
        try:
            boundary = tuple((float(x), float(y)) for x, y in data.get("boundary", ()))
            codes = tuple(str(c) for c in data.get("admin_codes", ()))
        except (TypeError, ValueError) as exc:
            raise ScenarioError(
                f"{where}: admin_codes is a list of codes, boundary a list of [lon, lat] "
                f"corners ({exc})."
            ) from None
        try:
            return cls(admin_codes=codes, boundary=boundary)
        except InputError as exc:
            raise ScenarioError(f"{where}: {exc}") from None


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
    weight : str
        The population group the optimizer weights demand by (``"65+"``, ``"under5"``);
        empty: every resident alike.
    edits : FacilityEdits
        Facilities closed, moved or re-tiered (the what-if of the existing register):
        :meth:`analyze` runs on the edited register.
    area : StudyArea
        Admin units picked and a drawn boundary: :meth:`analyze` counts only the residents
        inside.

    scenario.toml carries ``format_version`` (:data:`FORMAT_VERSION`); a file without it
    (written before the edits and the study area were saved) loads with neither.
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
    edits: FacilityEdits = FacilityEdits()
    area: StudyArea = StudyArea()

    def __post_init__(self) -> None:
        if not isinstance(self.edits, FacilityEdits):
            raise ScenarioError(f"scenario {self.name!r}: edits must be a FacilityEdits.")
        if not isinstance(self.area, StudyArea):
            raise ScenarioError(f"scenario {self.name!r}: area must be a StudyArea.")
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
        """Plain types only; ``None`` fields and empty edits and area are left out (TOML has
        no null); ``format_version`` first."""
        d: dict[str, Any] = {"format_version": FORMAT_VERSION}
        d.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        d["tiers"] = list(self.tiers)
        d["tier_requests"] = list(self.tier_requests)
        d["proposed"] = [{"lon": a, "lat": b, "tier": t} for a, b, t in self.proposed]
        d["edits"] = self.edits.to_dict() or None
        d["area"] = self.area.to_dict() or None
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "scenario") -> Scenario:
        """A scenario from :meth:`to_dict`'s table, of this format or an older one."""
        d = dict(data)
        version = d.pop("format_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ScenarioError(
                f"{source}: format_version must be a whole number >= 1, got {version!r}."
            )
        if version > FORMAT_VERSION:
            raise ScenarioError(
                f"{source}: written by a newer planner (format_version {version}; this one "
                f"reads up to {FORMAT_VERSION}). Fix: update planner, or save the scenario "
                "again from this version."
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ScenarioError(
                f"{source}: unknown keys {unknown}. Fix: remove them or correct their spelling "
                f"(known keys: {', '.join(sorted(known | {'format_version'}))})."
            )
        if "edits" in d:
            d["edits"] = FacilityEdits.from_dict(d["edits"], source=source)
        if "area" in d:
            d["area"] = StudyArea.from_dict(d["area"], source=source)
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
        except InputError as exc:  # a bad edit (unknown tier, not lon/lat)
            raise ScenarioError(f"{source}: {exc}") from None

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

    def edited(self, dataset: Dataset) -> Dataset:
        """``dataset`` with this scenario's :attr:`edits` applied to its facility register
        (``dataset`` itself without edits)."""
        if not self.edits:
            return dataset
        return dataclasses.replace(dataset, facilities=self.edits.apply(dataset.facilities))

    def analyze(
        self, dataset=None, *, network=None, progress=None, add_facilities=None
    ) -> CoverageResult:
        """:func:`planner.analyze` with this scenario's settings, on the register with its
        :attr:`edits`, counting the residents inside its study :attr:`area`.

        ``dataset`` is the data as loaded (:meth:`load_data`, the default), without the
        edits: they are applied here. ``add_facilities`` are evaluated as new facilities
        (the hand-:attr:`proposed` sites are not added: see :meth:`evaluate`).
        """
        from . import pipeline

        ds = self.edited(dataset if dataset is not None else self.load_data())
        result = pipeline.analyze(
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
        return self.area.apply(result)

    def evaluate(self, dataset=None, *, network=None, progress=None) -> CoverageResult:
        """The coverage after this scenario's what-ifs: the edited register plus the
        hand-:attr:`proposed` sites, in the study area (the app's "with proposals" figures).
        Without proposed sites, :meth:`analyze`."""
        added = self.proposed_frame() if self.proposed else None
        return self.analyze(dataset, network=network, progress=progress, add_facilities=added)

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
