"""The report and the one rules engine (:func:`standards_checks`) every surface draws."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .._errors import InputError
from ..standards import Rules

if TYPE_CHECKING:
    from ..pipeline import CoverageResult

from ._context import _Context
from ._tables import (
    _addresses,
    _proposal_table,
    _rule_summary,
    _settings_table,
    _settings_values,
    _units_table,
)
from ._text import (
    GROUP_ZH,
    PSEUDO_UNIT_ZH,
    UNIT_ZH,
    VILLAGE_STATUS_ZH,
    note_zh,
    render,
    translate_values,
)
from .checks import _rule1, _rule2, _rule3, _rule4
from .checks_facilities import _rule6, _rule7, _rule8
from .checks_villages import _rule5, _village_clinics
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
    lang : str
        The language of the people-facing text (``detail``, ``fix``, ``proposals``,
        ``requirement``, the rules' ``title``, ``text`` and ``summary``, the notes): ``"en"``
        as computed; :meth:`localized` gives the report in another language. Codes (``rule``,
        ``check``, ``status``, ``level``, ``kind``, ``tier``, ``metric``) never change.
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
    lang: str = "en"
    # the messages behind detail, fix and proposals of each check line (row order of checks)
    _texts: list = field(default_factory=list, repr=False)
    _english: ComplianceReport | None = field(default=None, repr=False)

    def localized(self, lang: str) -> ComplianceReport:
        """The report with its people-facing text in ``lang`` (``"zh"`` or ``"en"``).

        Every figure and code stays as it is: ``detail``, ``fix``, ``proposals`` and
        ``requirement`` of the checks, the rules' ``title``, ``text`` and ``summary``, the
        proposals' ``addresses``, rule 5 statuses of villages, the groups and notes of the
        equity tables and the settings' descriptions are rendered in ``lang``. ``"en"`` is the
        report as computed.

        Raises
        ------
        InputError
            ``lang`` is not ``"zh"`` or ``"en"``.
        """
        if lang not in ("zh", "en"):
            raise InputError(f"lang must be 'zh' or 'en', got {lang!r}. Fix: pass lang='zh'.")
        base = self._english or self
        if lang == "en":
            return base
        if lang == self.lang:
            return self
        return _localize(base, lang)

    @property
    def failures(self) -> pd.DataFrame:
        """The failing checks, with their fixes."""
        return self.checks[self.checks["status"] == FAIL].reset_index(drop=True)

    def gini(self, level: str = "township") -> float:
        """Population-weighted Gini coefficient of mean access time across units of ``level``."""
        eq = (self._english or self).equity  # the groups as codes
        row = eq[(eq["metric"] == "gini") & (eq["group"] == level)]
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
    check_df, line_texts = _check_frame(checks, texts)
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
        _texts=line_texts,
    )
    log.info(
        "compliance report for %s: %d checks, %d failing, in %.2f s",
        rep.dataset_name,
        len(check_df),
        int((check_df["status"] == FAIL).sum()),
        rep.seconds,
    )
    return rep


def _check_frame(lines: list[dict[str, Any]], texts: dict[int, str]) -> tuple[pd.DataFrame, list]:
    """The check lines as :data:`CHECK_COLUMNS` sorted by rule and check, and their messages."""
    df = pd.DataFrame(lines, columns=[*CHECK_COLUMNS, "_texts"])
    df["rule"] = df["rule"].astype(int)
    df["requirement"] = df["rule"].map(texts)
    df = df.sort_values(["rule", "check"], kind="stable").reset_index(drop=True)
    return df[CHECK_COLUMNS], df["_texts"].tolist()


def _localize(rep: ComplianceReport, lang: str) -> ComplianceReport:
    """``rep`` (English) with its people-facing text in ``lang``."""
    checks = rep.checks.copy()
    for i, col in enumerate(("detail", "fix", "proposals")):
        checks[col] = [render(t[i], lang) for t in rep._texts]
    texts = _rule_texts(rep.rules_used, lang)
    checks["requirement"] = checks["rule"].map(texts)
    pseudo = (checks["admin_code"] == "").to_numpy()
    names = checks["admin_name"].to_numpy(dtype=object)
    names[pseudo] = translate_values(names[pseudo], PSEUDO_UNIT_ZH, lang)
    checks["admin_name"] = names
    proposals = rep.proposals.copy()
    if len(proposals):
        proposals["addresses"] = _addresses(proposals, checks, lang)
    villages = rep.villages.copy()
    villages["status"] = translate_values(villages["status"], VILLAGE_STATUS_ZH, lang)
    units = rep.units.copy()
    if "rule5_status" in units.columns:
        units["rule5_status"] = translate_values(units["rule5_status"], VILLAGE_STATUS_ZH, lang)
    tt = rep.travel_times.copy()
    tt["group"] = translate_values(tt["group"], GROUP_ZH, lang)
    eq = rep.equity.copy()
    eq["group"] = translate_values(eq["group"], GROUP_ZH, lang)
    eq["unit"] = translate_values(eq["unit"], UNIT_ZH, lang)
    eq["note"] = [note_zh(n) if isinstance(n, str) else n for n in eq["note"]]
    settings = rep.settings.copy()
    settings["value"] = _settings_values(settings, lang)
    return dataclasses.replace(
        rep,
        checks=checks,
        rules=_rule_summary(checks, texts, lang),
        proposals=proposals,
        villages=villages,
        units=units,
        travel_times=tt,
        equity=eq,
        settings=settings,
        lang=lang,
        _english=rep,
    )


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
    df, _ = _check_frame(checks, _rule_texts(r))
    return StandardsChecks(
        checks=df,
        villages=villages,
        facilities=pd.DataFrame(ctx.facilities.drop(columns="geometry")),
    )
