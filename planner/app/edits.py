"""Edits of the existing facilities for the what-if: close one, move it, change its tier.

A :class:`FacilityEdits` is a small frozen (hashable) value, so the app keeps it in the session
and uses it as a cache key. :func:`edited_result` is the coverage with the edited register: the
times to the nearest facility come from one multi-source search over the edited facilities
(the search :func:`planner.analyze` runs), everything else (admin codes of the demand, the
network, the demand joined to it) is reused from ``result``. It equals
``planner.analyze(dataset with edits.apply(dataset.facilities))`` unit by unit
(tests/test_whatif_edits.py checks that).

>>> import planner
>>> from planner.app.edits import FacilityEdits, edited_result
>>> ds = planner.load_demo()                                             # doctest: +SKIP
>>> result = planner.analyze(ds, isochrone_minutes=None)                 # doctest: +SKIP
>>> fid = str(result.facilities["facility_id"].iloc[0])                  # doctest: +SKIP
>>> after = edited_result(ds, result, FacilityEdits().close(fid))        # doctest: +SKIP
>>> after.covered_population <= result.covered_population                # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import access, coverage, siting
from .._cache import memo
from .._errors import InputError
from ..network import network_pieces
from ..pipeline import CoverageResult, Dataset, combine_facilities, select_facilities
from ..standards import TIERS

#: The three kinds of edit (the keys of :meth:`FacilityEdits.rows`).
ACTIONS = ("close", "move", "tier")


@dataclass(frozen=True)
class FacilityEdits:
    """Changes to the facility register: ``closed`` ids, ``moved`` ``(id, lon, lat)`` (WGS-84)
    and ``retiered`` ``(id, tier)``. One edit per facility: closing a facility drops its move
    and tier change; moving or re-tiering a closed facility reopens it."""

    closed: tuple[str, ...] = ()
    moved: tuple[tuple[str, float, float], ...] = ()
    retiered: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        bad = [t for _, t in self.retiered if t not in TIERS]
        if bad:
            raise InputError(f"unknown tiers {bad}. Fix: use one of {', '.join(TIERS)}.")
        for fid, lon, lat in self.moved:
            if not (
                math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90
            ):
                raise InputError(
                    f"facility {fid}: ({lon}, {lat}) are not lon/lat degrees. "
                    "Fix: give WGS-84 longitude and latitude."
                )

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


def edited_dataset(dataset: Dataset, edits: FacilityEdits) -> Dataset:
    """``dataset`` with the edited facility register (a new object; caches are not shared)."""
    return dataclasses.replace(dataset, facilities=edits.apply(dataset.facilities))


def edited_result(
    dataset: Dataset,
    result: CoverageResult,
    edits: FacilityEdits,
    *,
    tiers: Sequence[str] | None = None,
) -> CoverageResult:
    """The coverage of ``result`` with the facility register edited (and, with ``tiers``,
    other tiers counted: ``()`` for the default primary-care set, as ``planner.analyze``).

    One nearest-facility search over the edited facilities of the tiers; the demand units,
    their admin codes, the network and the demand's join to it are those of ``result`` (a
    study area restricting ``result.demand`` stays restricted).
    """
    if result.demand is None:
        raise InputError("the what-if needs population. Fix: load a population file.")
    net = result.network
    settings = result.settings
    if tiers is not None:
        settings = dataclasses.replace(settings, tiers=tuple(tiers))  # validates the tiers
    register = edits.apply(dataset.facilities)
    fac = combine_facilities(select_facilities(register, settings.selected_tiers), None)
    if tiers is not None and len(fac) == 0:
        raise InputError(
            f"no facilities of tiers {list(settings.selected_tiers)} in the data. Fix: choose "
            f"other tiers (present: {sorted(set(dataset.facilities['tier']))})."
        )
    dem = result.demand.copy()
    pieces = network_pieces(net)
    if len(fac):
        src = access.facility_sources(net, fac)
        near = access.nearest_facility(net, src, siting.demand_attachment(result))
        time_s, who = near.time_s, near.facility
        att = src.attachment
        ok = att.reachable
        fac_piece = np.where(ok, pieces[np.where(ok, att.u, 0)] if len(pieces) else -1, -1)
        fac["reachable"] = ok
        fac["access_m"] = att.offset_m
        fac["piece"] = fac_piece.astype(np.int64)
        served = np.unique(fac_piece[ok])
    else:  # every facility of these tiers closed: nobody is served
        time_s = np.full(len(dem), np.inf)
        who = np.full(len(dem), -1, dtype=np.int64)
        served = np.array([], dtype=np.int64)
    ids = fac["facility_id"].astype(str).to_numpy()
    mins = np.asarray(time_s, float) / 60.0
    dem["minutes"] = mins
    dem["nearest_facility"] = np.where(
        who >= 0, ids[np.clip(who, 0, None)] if len(ids) else "", ""
    ).astype(object)
    dem["covered"] = mins <= float(result.settings.minutes) + 1e-9  # as coverage.coverage_table
    piece = dem["piece"].to_numpy()
    dem["no_facility_in_piece"] = (piece >= 0) & ~np.isin(piece, served)
    out = dataclasses.replace(
        result,
        settings=settings,
        facilities=fac,
        isochrones=None,
        demand=dem,
        admin_summary=summary_like(dem, result),
        uncovered=coverage.uncovered_areas(dem, boundaries=result.boundaries, crs=net.crs),
    )
    return share_attachment(result, out)


def share_attachment(
    source: CoverageResult, derived: CoverageResult, rows: np.ndarray | None = None
) -> CoverageResult:
    """Give ``derived`` (the same demand units as ``source``, or its ``rows``) the demand's
    join to the network already computed for ``source``, instead of joining again (0.15 s on
    the demo county, on every derived result). Through the one cache idiom
    (:func:`planner._cache.memo`) under the key :func:`planner.siting.demand_attachment` uses."""
    if source.demand is None or source.network is not derived.network:
        return derived
    att = siting.demand_attachment(source)
    memo(derived, "demand_attachment", lambda: att if rows is None else att.take(rows))
    return derived


def summary_like(demand: gpd.GeoDataFrame, result: CoverageResult) -> pd.DataFrame | None:
    """:func:`planner.coverage.admin_summary` of ``demand`` with the rows ``result``'s summary
    has (a study area keeps only its units)."""
    if result.admin_summary is None:
        return None
    s = coverage.admin_summary(demand, result.boundaries)
    keep = pd.MultiIndex.from_frame(result.admin_summary[["level", "admin_code"]].astype(str))
    here = pd.MultiIndex.from_frame(s[["level", "admin_code"]].astype(str))
    return s[here.isin(keep)].reset_index(drop=True)
