"""What every check reads: units, facilities and proposals placed in them, line rows."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import InputError
from ..standards import Rules

if TYPE_CHECKING:
    pass


from ._text import EMPTY, Msg, msg, render, tier
from .rules import FAIL, NA

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Context: units, facilities and proposals placed in them
# --------------------------------------------------------------------------------------------


def _register(fac: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The facility register as the checks read it: WGS-84, ids and names filled in."""
    if not {"tier", "geometry"} <= set(fac.columns):
        raise InputError(
            "facilities need 'tier' and point geometry. Fix: read them with planner.read_facilities()."
        )
    fac = fac.to_crs("EPSG:4326").reset_index(drop=True)
    if "facility_id" not in fac.columns:
        fac = fac.assign(facility_id=[f"F{i + 1}" for i in range(len(fac))])
    if "name" not in fac.columns:
        fac = fac.assign(name="")
    elif fac["name"].isna().any():  # e.g. proposed sites added to a register: no name
        fac = fac.assign(name=fac["name"].astype(object).where(fac["name"].notna(), ""))
    return fac


def _demand_minutes(result: Any, demand_minutes: Any) -> np.ndarray | None:
    """Minutes per demand unit: the result's, or the caller's of the same shape."""
    if result.demand is None:
        if demand_minutes is not None:
            raise InputError(
                "demand_minutes given but the result has no population. Fix: leave it out."
            )
        return None
    mins = result.demand["minutes"].to_numpy(float)
    if demand_minutes is None:
        return mins
    given = np.asarray(demand_minutes, dtype=float)
    if given.shape != mins.shape:
        raise InputError(
            f"demand_minutes must hold one time per demand unit ({len(mins):,}), "
            f"got shape {given.shape}. Fix: pass the minutes of this result's demand."
        )
    return given


@dataclass(eq=False)
class _Context:
    result: Any
    rules: Rules
    boundaries: gpd.GeoDataFrame | None
    summary: pd.DataFrame | None  # admin_summary, one row per unit (outside rows dropped)
    facilities: gpd.GeoDataFrame  # with township_code, village_code (point in polygon)
    tiers_counted: tuple[str, ...]
    proposals: gpd.GeoDataFrame | None
    proposal_eval: Any
    covered_mask: np.ndarray | None  # demand within rules.coverage_minutes
    metric_crs: Any
    minutes: np.ndarray | None = (
        None  # time to the nearest facility per demand unit (what-if: with sites)
    )
    minutes_given: bool = (
        False  # minutes differ from the result's (a what-if): per-unit figures recomputed
    )
    _attrs: pd.DataFrame | None = None  # boundary attributes with population (see units)
    _codes: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # see demand_codes

    @classmethod
    def build(cls, result, rules: Rules, facilities, proposals, demand_minutes=None) -> _Context:
        b = result.boundaries
        if b is not None and len(b) == 0:
            b = None
        if b is not None:
            b = b.to_crs("EPSG:4326") if b.crs is not None and b.crs.to_epsg() != 4326 else b
            b = b.drop_duplicates("admin_code").reset_index(drop=True)
            if "kind" not in b.columns:
                b = b.assign(kind="")
        summary = None
        if result.admin_summary is not None:
            summary = result.admin_summary[result.admin_summary["admin_code"].astype(str) != ""]
            summary = summary.drop_duplicates(["level", "admin_code"]).reset_index(drop=True)
        fac = _register(facilities if facilities is not None else result.facilities)
        fac = _place(fac, b)
        tiers_counted = tuple(sorted(set(fac["tier"].astype(str))))
        if facilities is None:
            tiers_counted = tuple(sorted(set(tiers_counted) | set(result.settings.selected_tiers)))
        mins = _demand_minutes(result, demand_minutes)
        covered = None if mins is None else mins <= rules.coverage_minutes + 1e-9
        prop = _proposal_points(proposals)
        ev = None
        if prop is not None:
            prop = _place(prop, b)
            if result.demand is not None and len(prop):
                from .. import siting

                ev = siting.evaluate_sites(
                    result, prop[["site_id", "tier", "geometry"]], minutes=rules.coverage_minutes
                )
                prop = prop.assign(
                    newly_covered_population=ev.per_site["newly_covered_population"].to_numpy()
                )
        return cls(
            result=result,
            rules=rules,
            boundaries=b,
            summary=summary,
            facilities=fac,
            tiers_counted=tiers_counted,
            proposals=prop,
            proposal_eval=ev,
            covered_mask=covered,
            metric_crs=result.network.crs,
            minutes=mins,
            minutes_given=demand_minutes is not None,
        )

    # -- helpers -------------------------------------------------------------------------------
    def units(self, level: str, kinds: Sequence[str] | None = None) -> pd.DataFrame:
        """Boundary units of a level (and kinds) with their population from the summary."""
        if self.boundaries is None:
            return pd.DataFrame(
                columns=["admin_code", "admin_name", "level", "kind", "parent_code", "population"]
            )
        if (
            self._attrs is None
        ):  # the attributes without the polygons, once (selecting polygons is slow)
            b = self.boundaries
            attrs = pd.DataFrame(
                {
                    c: b[c].to_numpy()
                    for c in ("admin_code", "admin_name", "level", "kind", "parent_code")
                    if c in b.columns
                }
            )
            if self.summary is not None:
                sm = self.summary
                pops = dict(
                    zip(
                        zip(sm["level"].tolist(), sm["admin_code"].tolist(), strict=True),
                        sm["population"].astype(float).tolist(),
                        strict=True,
                    )
                )
                attrs["population"] = np.array(
                    [
                        pops.get(k, 0.0)
                        for k in zip(
                            attrs["level"].tolist(), attrs["admin_code"].tolist(), strict=True
                        )
                    ],
                    dtype=float,
                )
                attrs.loc[np.isnan(attrs["population"].to_numpy()), "population"] = 0.0
            else:
                attrs["population"] = np.nan
            self._attrs = attrs
        u = self._attrs[self._attrs["level"] == level]
        if kinds is not None:
            u = u[u["kind"].isin(list(kinds))]
        return u.reset_index(drop=True)

    def demand_codes(self, level: str) -> np.ndarray:
        """``<level>_code`` of every demand unit as a plain array, converted once (Arrow strings
        are slow to compare unit by unit)."""
        cache = self._codes
        if level not in cache:
            cache[level] = self.result.demand[f"{level}_code"].astype(object).to_numpy(dtype=object)
        return cache[level]

    def count(self, tiers: Sequence[str], level: str) -> pd.Series:
        """Facilities of ``tiers`` per unit code of ``level`` (units without any left out)."""
        tier = self.facilities["tier"].astype(str).to_numpy(dtype=object)
        code = self.facilities[f"{level}_code"].astype(str).to_numpy(dtype=object)
        n = Counter(code[np.isin(tier, list(tiers))].tolist())
        return pd.Series(n, dtype=int) if n else pd.Series(dtype=int)

    def counted(self, tier: str) -> bool:
        return tier in self.tiers_counted

    def proposals_in(self, code: str, level: str) -> Msg:
        """The proposed sites standing in a unit: ``P1 (community_station, +1,234 residents); ...``."""
        if self.proposals is None or not len(self.proposals):
            return EMPTY
        p = self.proposals[self.proposals[f"{level}_code"] == code]
        out = EMPTY
        for i, row in enumerate(p.itertuples()):
            gain = getattr(row, "newly_covered_population", math.nan)
            if i:
                out += msg("sep")
            if isinstance(gain, float) and math.isfinite(gain):
                out += msg("site_gain", site=row.site_id, tier=tier(str(row.tier)), gain=gain)
            else:
                out += msg("site", site=row.site_id, tier=tier(str(row.tier)))
        return out


def _place(points: gpd.GeoDataFrame, b: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Add ``<level>_code`` and ``<level>_name`` for every boundary level (point in polygon).

    A point on a shared border goes to the first unit in boundary order.
    """
    out = points.copy()
    if b is None:
        return out
    pts = out.geometry.to_numpy()
    for level in ("county", "township", "village"):
        units = b.loc[b["level"] == level]
        codes = np.full(len(out), "", dtype=object)
        names = np.full(len(out), "", dtype=object)
        if len(units) and len(out):
            # one vectorised tree query instead of a spatial join: this runs on every what-if click
            ip, iu = shapely.STRtree(units.geometry.to_numpy()).query(pts, predicate="intersects")
            order = np.lexsort((iu, ip))
            ip, iu = ip[order], iu[order]
            first = np.unique(ip, return_index=True)[1]
            codes[ip[first]] = units["admin_code"].astype(str).to_numpy(dtype=object)[iu[first]]
            names[ip[first]] = units["admin_name"].astype(str).to_numpy(dtype=object)[iu[first]]
        out[f"{level}_code"] = codes.astype(str) if len(out) else codes
        out[f"{level}_name"] = names.astype(str) if len(out) else names
    return out


def _proposal_points(proposals) -> gpd.GeoDataFrame | None:
    """Proposed sites as points with ``site_id, tier`` (+ ``floor_area_m2``/``beds`` if known)."""
    if proposals is None:
        return None
    extra = None
    if hasattr(proposals, "proposals") and hasattr(proposals, "candidates"):
        run = proposals
        gdf = run.proposals
        extra = run.candidates
    elif isinstance(proposals, gpd.GeoDataFrame):
        gdf = proposals
    else:
        raise InputError(
            f"proposals must be a SitingRun or a GeoDataFrame of points, not "
            f"{type(proposals).__name__}. Fix: pass propose_sites(...) or read_facilities(path)."
        )
    if len(gdf) and not (gdf.geom_type == "Point").all():
        raise InputError("proposals must be points. Fix: pass one point per proposed site.")
    if gdf.crs is None:
        raise InputError("proposals have no CRS. Fix: set it, e.g. gdf.set_crs('EPSG:4326').")
    out = gdf.to_crs("EPSG:4326").reset_index(drop=True).copy()
    if "site_id" not in out.columns:
        out["site_id"] = (
            out["facility_id"].astype(str)
            if "facility_id" in out.columns
            else [f"P{i + 1}" for i in range(len(out))]
        )
    out["site_id"] = out["site_id"].astype(str)
    if "tier" not in out.columns:
        out["tier"] = "community_station"
    if extra is not None and "site_id" in extra.columns:
        ex = extra.drop_duplicates("site_id").set_index(
            extra["site_id"].drop_duplicates().astype(str)
        )
        for col in ("floor_area_m2", "beds", "name"):
            if col in ex.columns and col not in out.columns:
                out[col] = out["site_id"].map(ex[col]).to_numpy()
    keep = [
        c
        for c in (
            "site_id",
            "tier",
            "name",
            "floor_area_m2",
            "beds",
            "newly_covered_population",
            "geometry",
        )
        if c in out.columns
    ]
    return gpd.GeoDataFrame(out[keep], geometry="geometry", crs="EPSG:4326")


def _line(
    rule: int,
    check: str,
    *,
    unit: Mapping[str, Any] | None = None,
    metric: str = "",
    value: float = math.nan,
    target: float = math.nan,
    status: str = NA,
    detail: Msg | str = "",
    fix: Msg | str = "",
    proposals: Msg | str = "",
) -> dict[str, Any]:
    """One check line; ``detail``, ``fix`` and ``proposals`` are kept as messages too (in
    ``"_texts"``) so the report can show them in another language."""
    u = unit or {}
    fix = fix if status == FAIL else ""
    return {
        "rule": rule,
        "check": check,
        "requirement": "",
        "admin_code": str(u.get("admin_code", "")),
        "admin_name": str(u.get("admin_name", "")),
        "level": str(u.get("level", "")),
        "kind": str(u.get("kind", "")),
        "population": float(u.get("population", math.nan))
        if u.get("population") is not None
        else math.nan,
        "metric": metric,
        "value": float(value),
        "target": float(target),
        "status": status,
        "detail": render(detail),
        "fix": render(fix),
        "proposals": render(proposals),
        "_texts": (detail, fix, proposals),
    }


def _pct(share: float) -> str:
    """A share as a percentage rounded down to 0.1, so that anything short of all reads below 100."""
    return f"{math.floor(1000 * share + 1e-9) / 10:.1f}"


def _fmt_pop(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:,.0f}"
