"""Edits of the existing facilities for the what-if: close one, move it, change its tier.

A :class:`~planner.scenario.FacilityEdits` (defined with the scenario, which saves it) is a
small frozen (hashable) value, so the app keeps it in the session and uses it as a cache key. :func:`edited_result` is the coverage with the edited register: the
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
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import access, coverage, siting
from .._cache import memo
from .._errors import InputError
from ..network import network_pieces
from ..pipeline import CoverageResult, Dataset, combine_facilities, select_facilities
from ..scenario import ACTIONS, FacilityEdits

__all__ = [
    "ACTIONS",
    "FacilityEdits",
    "edited_dataset",
    "edited_result",
    "share_attachment",
    "summary_like",
]


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
