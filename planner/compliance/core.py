"""The report and the one rules engine (:func:`standards_checks`) every surface draws."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .._errors import InputError
from ..standards import Rules

if TYPE_CHECKING:
    from ..pipeline import CoverageResult

from ._context import _Context
from ._tables import _proposal_table, _rule_summary, _settings_table, _units_table
from .checks import _rule1, _rule2, _rule3, _rule4, _rule5, _rule6, _rule7, _rule8, _village_clinics
from .equity import _equity
from .rules import CHECK_COLUMNS, FAIL, NA, PASS, _as_rules, _rule_texts

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ComplianceReport:
    """The standards compliance report: tidy tables, every field always present.

    Attributes
    ----------
    rules : DataFrame
        One row per rule 1-8: ``rule, title, text, status, checked, passed, failed,
        not_assessed, summary`` (``status``: ``fail`` if any check failed, ``pass`` if all
        assessed checks passed, else ``not assessed``).
    checks : DataFrame
        One row per check (rule x admin unit, facility or proposal), columns
        :data:`CHECK_COLUMNS`: ``check`` is the check id (``"1"``, ``"2a"``, ... ``"8c"``),
        ``metric``/``value``/``target`` the number checked, ``status`` ``pass``/``fail``/
        ``not assessed``, ``detail`` the sentence behind it, ``fix`` what would fix a failure
        and ``proposals`` the proposed sites that stand in the unit.
    units : DataFrame
        Every admin unit: population, share within the threshold, mean minutes, and the number
        of centers, stations, township centers and village clinics standing in it.
    villages : DataFrame
        Rule 5 per administrative village: clinics inside, own clinics (by name or location),
        the clinic it shares (``shared_with``, its village and the share of residents it reaches).
    facilities : DataFrame
        Rule 8 per facility: unit, residents for whom it is the nearest facility, residents per
        facility of its tier in its unit, and the staff those residents imply.
    proposals : DataFrame
        The proposed sites with the units they stand in, what they newly cover and the failing
        checks of those units (empty without ``proposals=``).
    travel_times : DataFrame
        Population-weighted quantiles of the time to the nearest facility (all, urban, rural).
    lorenz : DataFrame
        Lorenz curve points of mean access time across admin units per level.
    equity : DataFrame
        ``metric, group, value, unit, note``: Gini coefficients and the urban-rural gap.
    settings : DataFrame
        ``key, value``: data set, mode, threshold, every rule value, planner version.
    dataset_name, synthetic, rules_used
        What was checked, whether it is the synthetic demo, and the rules applied.
    """

    rules: pd.DataFrame
    checks: pd.DataFrame
    units: pd.DataFrame
    villages: pd.DataFrame
    facilities: pd.DataFrame
    proposals: pd.DataFrame
    travel_times: pd.DataFrame
    lorenz: pd.DataFrame
    equity: pd.DataFrame
    settings: pd.DataFrame
    dataset_name: str
    synthetic: bool
    rules_used: Rules
    seconds: float

    @property
    def failures(self) -> pd.DataFrame:
        """The failing checks, with their fixes."""
        return self.checks[self.checks["status"] == FAIL].reset_index(drop=True)

    def gini(self, level: str = "township") -> float:
        """Population-weighted Gini coefficient of mean access time across units of ``level``."""
        row = self.equity[(self.equity["metric"] == "gini") & (self.equity["group"] == level)]
        return float(row["value"].iloc[0]) if len(row) else math.nan

    def status(self, check: str) -> pd.DataFrame:
        """The lines of one check id (``"2a"``, ``"5"`` ...)."""
        return self.checks[self.checks["check"] == str(check)].reset_index(drop=True)

    def __repr__(self) -> str:
        counts = self.checks["status"].value_counts()
        return (
            f"ComplianceReport({self.dataset_name!r}: {len(self.checks)} checks, "
            f"{counts.get(PASS, 0)} pass, {counts.get(FAIL, 0)} fail, "
            f"{counts.get(NA, 0)} not assessed)"
        )


def compliance_report(
    result: CoverageResult,
    *,
    rules: Rules | Mapping[str, Any] | None = None,
    proposals=None,
    facilities: gpd.GeoDataFrame | None = None,
    match_clinics_by_name: bool = True,
    name_match_max_m: float = 5000.0,
    share_min_residents_share: float = 0.5,
    coverage_target_share: float | None = None,
    demand_minutes: Any = None,
) -> ComplianceReport:
    """Check a coverage result against the rules of the standards.

    Parameters
    ----------
    result : CoverageResult
        From :func:`planner.analyze` (isochrones are not needed: ``isochrone_minutes=None``).
        Its travel mode is the mode of rule 1 and of shared village clinics.
    rules : Rules or mapping, optional
        The rule values (default :class:`~planner.standards.Rules()`); a mapping is read with
        :func:`rules_from_dict`.
    proposals : SitingRun or GeoDataFrame, optional
        Proposed sites (e.g. ``planner.siting.propose_sites(...)`` or its ``proposals``): each
        failing line lists the proposed sites standing in its unit, rule 1 lines give the share
        the proposals would reach, and rule 7 checks their floor area (``floor_area_m2``, from
        the column or the run's candidates).
    facilities : GeoDataFrame, optional
        The facility register to count (default ``result.facilities``: the analysed tiers and
        any added facilities). Pass the full register when the analysis left tiers out.
    match_clinics_by_name : bool
        Give a village clinic to the village its name names (see the module notes).
    name_match_max_m : float
        A name match counts only within this distance of the named village.
    share_min_residents_share : float
        Rule 5: share of a village's residents a neighbour's clinic must reach within the
        threshold for the village to share it.
    coverage_target_share : float
        Rule 1: the share of residents that must be within the threshold (1.0: everyone).
    demand_minutes : array, optional
        Time to the nearest facility per row of ``result.demand`` to judge instead of the
        result's own (a what-if with proposed sites that are also in ``facilities``).

    Returns
    -------
    ComplianceReport

    Raises
    ------
    InputError
        ``result`` is not a coverage result, or ``proposals`` is neither a SitingRun nor a
        GeoDataFrame of points.
    """
    t0 = time.perf_counter()
    r, coverage_target_share = _check_args(
        result, rules, share_min_residents_share, coverage_target_share, "compliance_report"
    )
    ctx = _Context.build(result, r, facilities, proposals, demand_minutes)
    texts = _rule_texts(r)
    checks, villages = _unit_rules(
        ctx,
        match_clinics_by_name,
        name_match_max_m,
        share_min_residents_share,
        coverage_target_share,
    )
    checks += _rule6(ctx)
    checks += _rule7(ctx)
    fac_table, rule8 = _rule8(ctx, villages)
    checks += rule8
    check_df = pd.DataFrame(checks, columns=CHECK_COLUMNS)
    check_df["rule"] = check_df["rule"].astype(int)
    check_df["requirement"] = check_df["rule"].map(texts)
    check_df = check_df.sort_values(["rule", "check"], kind="stable").reset_index(drop=True)
    rules_df = _rule_summary(check_df, texts)
    tt, lorenz, equity = _equity(ctx)
    proposals_df = _proposal_table(ctx, check_df)
    settings = _settings_table(
        ctx,
        match_clinics_by_name,
        name_match_max_m,
        share_min_residents_share,
        coverage_target_share,
    )
    rep = ComplianceReport(
        rules=rules_df,
        checks=check_df,
        units=_units_table(ctx, villages),
        villages=villages,
        facilities=fac_table,
        proposals=proposals_df,
        travel_times=tt,
        lorenz=lorenz,
        equity=equity,
        settings=settings,
        dataset_name=str(result.dataset_name),
        synthetic=bool(result.synthetic),
        rules_used=r,
        seconds=time.perf_counter() - t0,
    )
    log.info(
        "compliance report for %s: %d checks, %d failing, in %.2f s",
        rep.dataset_name,
        len(check_df),
        int((check_df["status"] == FAIL).sum()),
        rep.seconds,
    )
    return rep


def _check_args(
    result: CoverageResult,
    rules,
    share_min_residents_share: float,
    coverage_target_share: float | None,
    caller: str,
) -> tuple[Rules, float]:
    r = _as_rules(rules)
    if not hasattr(result, "facilities") or not hasattr(result, "settings"):
        raise InputError(
            f"{caller} needs a CoverageResult from planner.analyze(), not "
            f"{type(result).__name__}. Fix: result = planner.analyze(dataset)."
        )
    if coverage_target_share is None:
        coverage_target_share = r.coverage_target_share
    if not 0 < coverage_target_share <= 1:
        raise InputError(f"coverage_target_share must be in (0, 1], got {coverage_target_share!r}.")
    if not 0 < share_min_residents_share <= 1:
        raise InputError(
            f"share_min_residents_share must be in (0, 1], got {share_min_residents_share!r}."
        )
    return r, float(coverage_target_share)


def _unit_rules(
    ctx: _Context, by_name: bool, max_m: float, min_share: float, target: float
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Rules 1-5, unit by unit: the one place these rules are decided (report, app, notebooks)."""
    villages = _village_clinics(ctx, by_name, max_m, min_share)
    checks = _rule1(ctx, target) + _rule2(ctx) + _rule3(ctx) + _rule4(ctx) + _rule5(ctx, villages)
    return checks, villages


@dataclass(frozen=True, eq=False)
class StandardsChecks:
    """Rules 1-5 of the standards per admin unit, without the rest of the report.

    Attributes
    ----------
    checks : DataFrame
        Columns :data:`CHECK_COLUMNS`, exactly the rule 1-5 lines of
        :attr:`ComplianceReport.checks` for the same inputs.
    villages : DataFrame
        Rule 5 per administrative village (as :attr:`ComplianceReport.villages`).
    facilities : DataFrame
        The facilities counted, with the units they stand in (``<level>_code``).
    """

    checks: pd.DataFrame
    villages: pd.DataFrame
    facilities: pd.DataFrame


def standards_checks(
    result: CoverageResult,
    *,
    rules: Rules | Mapping[str, Any] | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    demand_minutes: Any = None,
    match_clinics_by_name: bool = True,
    name_match_max_m: float = 5000.0,
    share_min_residents_share: float = 0.5,
    coverage_target_share: float | None = None,
) -> StandardsChecks:
    """Rules 1-5 per admin unit, decided by the same code as :func:`compliance_report`.

    The app's standards table and its what-if draw from this (it skips the equity measures,
    rules 6-8 and the output tables, so it is fast enough for every click).

    Parameters
    ----------
    result : CoverageResult
    rules, facilities, match_clinics_by_name, name_match_max_m, share_min_residents_share, coverage_target_share
        As for :func:`compliance_report`.
    demand_minutes : array, optional
        Time to the nearest facility per row of ``result.demand`` (a what-if: the times with
        proposed sites, which are then part of ``facilities``).

    Returns
    -------
    StandardsChecks
    """
    r, target = _check_args(
        result, rules, share_min_residents_share, coverage_target_share, "standards_checks"
    )
    ctx = _Context.build(result, r, facilities, None, demand_minutes)
    checks, villages = _unit_rules(
        ctx, match_clinics_by_name, name_match_max_m, share_min_residents_share, target
    )
    df = pd.DataFrame(checks, columns=CHECK_COLUMNS)
    df["rule"] = df["rule"].astype(int)
    df["requirement"] = df["rule"].map(_rule_texts(r))
    df = df.sort_values(["rule", "check"], kind="stable").reset_index(drop=True)
    return StandardsChecks(
        checks=df,
        villages=villages,
        facilities=pd.DataFrame(ctx.facilities.drop(columns="geometry")),
    )
