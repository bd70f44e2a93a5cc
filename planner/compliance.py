"""The standards compliance report: every rule of ``standards.md``, per admin unit, with fixes.

For a :class:`~planner.pipeline.CoverageResult` it checks, per administrative unit,

===== =========================================================================================
rule  what is checked (defaults from :class:`planner.standards.Rules`)
===== =========================================================================================
1     share of residents within the 15-minute circle (county and every township-level unit;
      village-level shares in ``units``)
2a    a community health service center (社区卫生服务中心) in every subdistrict (街道)
2b    a subdistrict above the upper bound (100,000 residents) has one center per 100,000
3     a station (社区卫生服务站) or center in every community (社区) above the threshold
4     a township health center (乡镇卫生院) in every town and township (镇/乡)
5     a village clinic (村卫生室) per administrative village, or one shared with a neighbour
6     facilities planned with new housing (needs a planned-housing layer: not assessed)
7     floor area (and beds) of proposed premises
8a-c  residents per township health center / village clinic and the staff that implies;
      general practitioners per 10,000 residents
===== =========================================================================================

and measures equity: population-weighted quantiles of travel time, the Lorenz curve and Gini
coefficient of mean access time across admin units, and the urban (subdistricts) - rural gap.

This is the one rules engine: :func:`standards_checks` returns the rule 1-5 lines of the same
code alone (fast enough for every what-if click), and the app's standards table
(``planner.app.standards_units``) only reshapes them, so the app, ``planner report``
and the notebooks agree unit by unit.

How facilities are placed in units
----------------------------------
Facilities are counted in the unit whose polygon contains them (point in polygon). A village
clinic is *the clinic of* the village its name names (``李庄村卫生室`` -> 李庄村; longest
village name contained in the clinic name, within ``name_match_max_m`` of that village), since
registers name clinics after their village even when the clinic stands outside the boundary;
clinics whose names name no village belong to the village they stand in. Pass
``match_clinics_by_name=False`` for pure point in polygon; both counts are in ``villages``.

Shared village clinics (rule 5) are decided by a **network query**, not by the nearest-facility
times of the analysis (which may point at a township center): for each village without a clinic
of its own, the travel times (analysis mode) from its residents to every village clinic standing
in the village or in an adjacent one (polygons touching) are computed; the village shares the
clinic that reaches the most of its residents when it reaches at least half of them
(``share_min_residents_share``) within ``Rules.coverage_minutes``.

>>> import planner                                                         # doctest: +SKIP
>>> from planner.compliance import compliance_report, write_compliance     # doctest: +SKIP
>>> result = planner.analyze(planner.load_demo(), isochrone_minutes=None)  # doctest: +SKIP
>>> report = compliance_report(result)                                     # doctest: +SKIP
>>> report.rules[["rule", "title", "status", "failed"]]                    # doctest: +SKIP
>>> write_compliance(report, "out/compliance")                             # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import html
import logging
import math
import re
import time
import tomllib
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError, InputFileError, ScenarioError
from .standards import TIER_LABELS, Rules

if TYPE_CHECKING:
    from .pipeline import CoverageResult

log = logging.getLogger(__name__)

__all__ = [
    "CHECK_COLUMNS",
    "FORMATS",
    "RULE_TITLES",
    "ComplianceReport",
    "StandardsChecks",
    "compliance_html",
    "compliance_markdown",
    "compliance_report",
    "gini",
    "load_rules",
    "lorenz_curve",
    "rules_from_dict",
    "standards_checks",
    "compliance_lines",
    "weighted_quantile",
    "write_compliance",
]

#: Output formats of :func:`write_compliance`.
FORMATS = ("xlsx", "html", "md")

PASS, FAIL, NA = "pass", "fail", "not assessed"

#: Short titles of the numbered rules of standards.md.
RULE_TITLES: dict[int, str] = {
    1: "15-minute medical service circle",
    2: "a community health service center per subdistrict",
    3: "a community health service station per community",
    4: "a township health center per township",
    5: "a village clinic per administrative village",
    6: "medical facility planned with new housing",
    7: "sizes of new premises",
    8: "staffing ratios",
}

#: Columns of :attr:`ComplianceReport.checks`.
CHECK_COLUMNS = [
    "rule",
    "check",
    "requirement",
    "admin_code",
    "admin_name",
    "level",
    "kind",
    "population",
    "metric",
    "value",
    "target",
    "status",
    "detail",
    "fix",
    "proposals",
]

_STAFF_COLUMNS = ("staff", "staff_count", "n_staff", "职工数", "人员数", "卫技人员数")
_TOWNSHIP_KINDS = ("town", "township")


def _rule_texts(r: Rules) -> dict[int, str]:
    """Rule number -> the rule as standards.md words it, with this run's values."""
    lo, hi = r.residents_per_center
    fa = r.min_floor_area_m2
    s_lo, s_hi = r.staff_per_1000
    v_lo, v_hi = r.village_doctors_per_1000
    station = (
        "every community"
        if r.station_min_residents is None
        else f"every community of at least {r.station_min_residents:,} residents"
    )
    return {
        1: f"every resident within {r.coverage_minutes:g} minutes of a primary-care facility "
        "(城区15分钟医疗服务圈 / 15分钟健康服务圈)",
        2: f"a community health service center (社区卫生服务中心) per subdistrict (街道), or per "
        f"{lo:,}-{hi:,} residents; a subdistrict over {r.large_subdistrict_residents:,} residents "
        f"may add {r.extra_centers_large_subdistrict[0]}-{r.extra_centers_large_subdistrict[1]} "
        "centers or more stations",
        3: f"a community health service station (社区卫生服务站) in {station} (社区)",
        4: "one government-run township health center (乡镇卫生院) per township (乡镇)",
        5: "a village clinic (村卫生室) per administrative village (行政村); adjacent small, "
        "well-connected villages may share one"
        + ("" if r.villages_may_share_clinic else " (sharing not allowed in this run)"),
        6: "new residential areas plan their medical facility together with the housing",
        7: "new center >= {c:,.0f} m2 and >= {b} beds; station >= {s:,.0f} m2; community hospital "
        ">= {h:,.0f} m2; village clinic >= {v:,.0f} m2".format(
            c=fa.get("community_center", math.nan),
            b=r.min_beds_community_center,
            s=fa.get("community_station", math.nan),
            h=fa.get("hospital", math.nan),
            v=fa.get("village_clinic", math.nan),
        ),
        8: f"township health center staff {s_lo:g}-{s_hi:g} per 1,000 residents; village doctors "
        f"{v_lo:g}-{v_hi:g} per 1,000 residents; {r.gp_per_10000:g} general practitioners per "
        "10,000 residents",
    }


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
    result,
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


# --------------------------------------------------------------------------------------------
# Rules from TOML
# --------------------------------------------------------------------------------------------


def _as_rules(rules) -> Rules:
    if rules is None:
        return Rules()
    if isinstance(rules, Rules):
        return rules
    if isinstance(rules, Mapping):
        return rules_from_dict(rules)
    raise InputError(
        f"rules must be a planner.Rules or a mapping, not {type(rules).__name__}. "
        "Fix: pass Rules(...) or load_rules('rules.toml')."
    )


def rules_from_dict(data: Mapping[str, Any], *, source: str = "rules") -> Rules:
    """:class:`~planner.standards.Rules` with the fields given in ``data`` overridden.

    Every problem (unknown key, wrong type, bad value) is collected and raised together as one
    :class:`~planner.ScenarioError` naming ``source`` and the key.

    Examples
    --------
    >>> rules_from_dict({"coverage_minutes": 10, "residents_per_center": [30000, 80000]}).coverage_minutes
    10.0
    """
    defaults = Rules()
    fields = {f.name for f in dataclasses.fields(Rules)}
    problems: list[str] = []
    unknown = sorted(set(data) - fields)
    for k in unknown:
        problems.append(f"unknown rule {k!r}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            continue
        default = getattr(defaults, key)
        msg = _type_problem(key, value, default)
        if msg:
            problems.append(msg)
        elif isinstance(default, Mapping):
            values[key] = {**default, **value}  # a table overrides the tiers it names only
        else:
            values[key] = value
    if not problems:
        try:
            return dataclasses.replace(defaults, **values)
        except (ScenarioError, TypeError, ValueError) as exc:
            problems.append(str(exc).removeprefix("Rules: "))
    fix = (
        f"known rules: {', '.join(sorted(fields))}"
        if unknown
        else "see the Rules defaults in planner.standards"
    )
    lines = "; ".join(problems)
    raise ScenarioError(f"{source}: {lines}. Fix: correct the value(s) ({fix}).")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _type_problem(key: str, value: Any, default: Any) -> str | None:
    if key == "station_min_residents":
        if value is None or (_is_number(value) and float(value).is_integer() and value >= 0):
            return None
        return f"{key} must be a whole number >= 0 (or left out for every community), got {value!r}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{key} must be true or false, got {value!r}"
    if isinstance(default, int):
        if _is_number(value) and float(value).is_integer() and value >= 0:
            return None
        return f"{key} must be a whole number >= 0, got {value!r}"
    if isinstance(default, float):
        return None if _is_number(value) else f"{key} must be a number, got {value!r}"
    if isinstance(default, tuple):
        if (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(_is_number(v) for v in value)
        ):
            return None
        return f"{key} must be a pair of numbers [low, high], got {value!r}"
    if isinstance(default, Mapping):
        if isinstance(value, Mapping) and all(_is_number(v) for v in value.values()):
            return None
        return f"{key} must be a table of numbers (e.g. {{ {next(iter(default))} = {next(iter(default.values()))} }}), got {value!r}"
    return None


def load_rules(path: str | Path) -> Rules:
    """Read rule overrides from a TOML file (top-level keys, or a ``[rules]`` table).

    Example file::

        coverage_minutes = 10
        residents_per_center = [30000, 80000]
        [min_floor_area_m2]
        community_station = 400

    Raises
    ------
    InputFileError
        The file does not exist.
    ScenarioError
        Not valid TOML, unknown keys or bad values (all named in one message).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(
            f"rules file not found: {p}. Fix: check the path (relative to {Path.cwd()})."
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML ({exc}). Fix: check the line it names.") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{p}: not UTF-8 text ({exc}). Fix: save the rules file as UTF-8."
        ) from exc
    table: Mapping[str, Any] = data["rules"] if isinstance(data.get("rules"), Mapping) else data
    return rules_from_dict(table, source=str(p))


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
                from . import siting

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

    def proposals_in(self, code: str, level: str) -> str:
        if self.proposals is None or not len(self.proposals):
            return ""
        p = self.proposals[self.proposals[f"{level}_code"] == code]
        if not len(p):
            return ""
        parts = []
        for row in p.itertuples():
            gain = getattr(row, "newly_covered_population", math.nan)
            g = (
                f", +{gain:,.0f} residents"
                if isinstance(gain, float) and math.isfinite(gain)
                else ""
            )
            parts.append(f"{row.site_id} ({row.tier}{g})")
        return "; ".join(parts)


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
    detail: str = "",
    fix: str = "",
    proposals: str = "",
) -> dict[str, Any]:
    u = unit or {}
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
        "detail": detail,
        "fix": fix if status == FAIL else "",
        "proposals": proposals,
    }


def _pct(share: float) -> str:
    """A share as a percentage rounded down to 0.1, so that anything short of all reads below 100."""
    return f"{math.floor(1000 * share + 1e-9) / 10:.1f}"


def _fmt_pop(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:,.0f}"


# --------------------------------------------------------------------------------------------
# Rule 1: the 15-minute circle
# --------------------------------------------------------------------------------------------


def _rule1(ctx: _Context, target: float) -> list[dict]:
    r, res = ctx.rules, ctx.result
    mins = r.coverage_minutes
    if res.demand is None:
        return [
            _line(
                1,
                "1",
                detail="no population was loaded: the share of residents cannot be computed",
                metric="share within threshold",
            )
        ]
    dem = res.demand
    pop = dem["population"].to_numpy(float)
    cov = ctx.covered_mask
    groups = _rule1_groups(ctx, dem, pop)
    unc = res.uncovered if res.uncovered is not None and res.settings.minutes == mins else None
    after = None
    if ctx.proposal_eval is not None:
        pa = ctx.proposal_eval.per_admin
        after = {
            (row.level, row.admin_code): row.newly_covered_population for row in pa.itertuples()
        }
    largest: dict[str, dict] = {}
    if unc is not None and len(unc) and "township_code" in unc.columns:
        # the first (largest) uncovered area of each township
        firsts = unc.drop_duplicates("township_code", keep="first")
        largest = dict(
            zip(firsts["township_code"].tolist(), firsts.to_dict("records"), strict=True)
        )
    rows: list[dict] = []
    for u, m in groups:
        p = math.fsum(pop[m])
        c = math.fsum(pop[m & cov])
        if p <= 0:
            rows.append(
                _line(
                    1,
                    "1",
                    unit=u,
                    metric="share within threshold",
                    target=target,
                    detail="no residents in the population data",
                )
            )
            continue
        share = c / p
        out = p - c
        ok = share >= target - 1e-12
        detail = (
            f"{c:,.0f} of {p:,.0f} residents ({_pct(share)} %) within {mins:g} min; "
            f"{out:,.0f} beyond"
        )
        fix, props = "", ""
        if not ok:
            fix = f"bring {out - (1 - target) * p:,.0f} more residents within {mins:g} min"
            more, props = _rule1_fix(
                ctx,
                u,
                covered=c,
                residents=p,
                unc=unc,
                largest=largest,
                after=after,
                n_groups=len(groups),
            )
            fix += more
        rows.append(
            _line(
                1,
                "1",
                unit=u,
                metric="share within threshold",
                value=share,
                target=target,
                status=PASS if ok else FAIL,
                detail=detail,
                fix=fix,
                proposals=props,
            )
        )
    return rows


def _rule1_groups(
    ctx: _Context, dem: gpd.GeoDataFrame, pop: np.ndarray
) -> list[tuple[dict, np.ndarray]]:
    """The units of rule 1: the county (or all residents), then each township."""
    groups: list[tuple[dict, np.ndarray]] = []
    if ctx.boundaries is not None and "county_code" in dem.columns:
        codes = ctx.demand_codes("county")
        for u in ctx.units("county").to_dict("records"):
            groups.append((u, codes == u["admin_code"]))
    if not groups:
        tot = {
            "admin_code": "",
            "admin_name": "all residents",
            "level": "all",
            "kind": "",
            "population": math.fsum(pop),
        }
        groups.append((tot, np.ones(len(dem), dtype=bool)))
    if ctx.boundaries is not None and "township_code" in dem.columns:
        codes = ctx.demand_codes("township")
        for u in ctx.units("township").to_dict("records"):
            groups.append((u, codes == u["admin_code"]))
    return groups


def _largest_area_text(a: dict) -> str:
    where = a.get("village_name", "") or a.get("township_name", "")
    mm = (
        "no facility reachable"
        if not np.isfinite(a["mean_minutes"])
        else f"mean {a['mean_minutes']:.0f} min"
    )
    return (
        f"; the largest uncovered area holds {a['population']:,.0f} residents around "
        f"{where} ({a['area_km2']:.2f} km2, {mm})"
    )


def _rule1_fix(
    ctx: _Context,
    u: dict,
    *,
    covered: float,
    residents: float,
    unc: gpd.GeoDataFrame | None,
    largest: dict[str, dict],
    after: dict | None,
    n_groups: int,
) -> tuple[str, str]:
    """The rest of a failing unit's fix (where the gap is, what the proposals do) and its sites."""
    code, level = u["admin_code"], u["level"]
    fix, props = "", ""
    if level == "township":
        a = largest.get(code)
        if a is not None:
            fix += _largest_area_text(a)
        props = ctx.proposals_in(code, "township")
        if after is not None:
            gain = after.get(("township", code), 0.0)
            fix += (
                f"; with the proposals {100 * (covered + gain) / residents:.1f} % "
                f"(+{gain:,.0f} residents)"
            )
            if props:
                fix += f" from sites {props}"
    elif after is not None and ctx.proposal_eval is not None:
        gain = ctx.proposal_eval.newly_covered_population
        fix += (
            f"; with the proposals {100 * (covered + gain) / residents:.1f} % "
            f"(+{gain:,.0f} residents)"
        )
    elif n_groups > 1:
        fix += "; see the township lines"
    elif unc is not None and len(unc):
        a0 = unc.iloc[0]
        fix += (
            f"; {len(unc)} uncovered areas, the largest with {a0['population']:,.0f} residents "
            f"({a0['area_km2']:.2f} km2, see result.uncovered)"
        )
    return fix, props


# --------------------------------------------------------------------------------------------
# Rules 2-4: centers, stations, township health centers
# --------------------------------------------------------------------------------------------


def _not_counted(rule: int, check: str, tier: str) -> list[dict]:
    label = TIER_LABELS.get(tier, {}).get("en", tier)
    return [
        _line(
            rule,
            check,
            detail=f"{label} ({tier}) facilities were not part of "
            "the analysis; pass facilities= with the full register",
        )
    ]


def _rule2(ctx: _Context) -> list[dict]:
    r = ctx.rules
    if ctx.boundaries is None:
        return [
            _line(2, "2a", detail="no boundaries loaded"),
            _line(2, "2b", detail="no boundaries loaded"),
        ]
    subs = ctx.units("township", ["subdistrict"])
    if not len(subs):
        msg = "no subdistrict (街道, kind 'subdistrict') in the boundaries"
        return [_line(2, "2a", detail=msg), _line(2, "2b", detail=msg)]
    if not ctx.counted("community_center"):
        return _not_counted(2, "2a", "community_center") + _not_counted(2, "2b", "community_center")
    n = ctx.count(["community_center"], "township")
    stations = ctx.count(["community_station"], "township")
    rows: list[dict] = []
    lo, hi = r.residents_per_center
    for u in subs.to_dict("records"):
        k = int(n.get(u["admin_code"], 0))
        props = ctx.proposals_in(u["admin_code"], "township")
        if not r.center_per_subdistrict:
            rows.append(
                _line(
                    2,
                    "2a",
                    unit=u,
                    metric="community health centers",
                    value=k,
                    target=0,
                    detail="center_per_subdistrict is off in these rules",
                )
            )
        else:
            fix = f"add 1 community health service center (社区卫生服务中心) in {u['admin_name']}"
            if props:
                fix += f"; proposed sites there: {props}"
            rows.append(
                _line(
                    2,
                    "2a",
                    unit=u,
                    metric="community health centers",
                    value=k,
                    target=1,
                    status=PASS if k >= 1 else FAIL,
                    detail=f"{k} community health service center(s) in {u['admin_name']}",
                    fix=fix,
                    proposals=props,
                )
            )
    # 2b: population per center
    large = subs[subs["population"] > hi]
    if not np.isfinite(subs["population"]).any():
        rows.append(_line(2, "2b", detail="no population loaded"))
        return rows
    for u in large.to_dict("records"):
        k = int(n.get(u["admin_code"], 0))
        need = max(1, math.ceil(u["population"] / hi))
        props = ctx.proposals_in(u["admin_code"], "township")
        extra = need - k
        ok = k >= need
        e_lo, e_hi = r.extra_centers_large_subdistrict
        fix = (
            f"add {extra} community health service center{'s' if extra > 1 else ''} in {u['admin_name']} "
            f"({u['population']:,.0f} residents, more than {hi:,} per center)"
        )
        if u["population"] > r.large_subdistrict_residents:
            fix += (
                f", or - as Qingdao allows above {r.large_subdistrict_residents:,} residents - {e_lo}-{e_hi} "
                f"extra centers or more stations (it has {int(stations.get(u['admin_code'], 0))} stations)"
            )
        if props:
            fix += f"; proposed sites there: {props}"
        rows.append(
            _line(
                2,
                "2b",
                unit=u,
                metric="community health centers",
                value=k,
                target=need,
                status=PASS if ok else FAIL,
                detail=(
                    f"{u['population']:,.0f} residents, {k} center(s): "
                    f"{_fmt_pop(u['population'] / k) if k else 'no'} residents per center "
                    f"(planning range {lo:,}-{hi:,})"
                ),
                fix=fix,
                proposals=props,
            )
        )
    if not len(large):
        rows.append(
            _line(
                2,
                "2b",
                metric="subdistricts above the limit",
                value=0,
                target=0,
                status=PASS,
                detail=f"no subdistrict has more than {hi:,} residents (one center each suffices)",
            )
        )
    return rows


def _rule3(ctx: _Context) -> list[dict]:
    r = ctx.rules
    if not r.station_per_community:
        return [_line(3, "3", detail="station_per_community is off in these rules")]
    if ctx.boundaries is None:
        return [_line(3, "3", detail="no boundaries loaded")]
    comms = ctx.units("village", ["community"])
    if not len(comms):
        return [_line(3, "3", detail="no community (社区, kind 'community') in the boundaries")]
    if not ctx.counted("community_station"):
        return _not_counted(3, "3", "community_station")
    st = ctx.count(["community_station"], "village")
    ce = ctx.count(["community_center"], "village")
    thr = r.station_min_residents
    rows: list[dict] = []
    for u in comms.to_dict("records"):
        k_st, k_ce = int(st.get(u["admin_code"], 0)), int(ce.get(u["admin_code"], 0))
        required = thr is None or (np.isfinite(u["population"]) and u["population"] >= thr)
        detail = f"{k_st} station(s) and {k_ce} center(s) in {u['admin_name']}"
        if not required:
            rows.append(
                _line(
                    3,
                    "3",
                    unit=u,
                    metric="stations or centers",
                    value=k_st + k_ce,
                    target=0,
                    status=PASS,
                    detail=detail + f"; below {thr:,} residents: no station required",
                )
            )
            continue
        props = ctx.proposals_in(u["admin_code"], "village")
        fix = f"add 1 community health service station (社区卫生服务站) in {u['admin_name']}"
        if props:
            fix += f"; proposed sites there: {props}"
        rows.append(
            _line(
                3,
                "3",
                unit=u,
                metric="stations or centers",
                value=k_st + k_ce,
                target=1,
                status=PASS if k_st + k_ce >= 1 else FAIL,
                detail=detail,
                fix=fix,
                proposals=props,
            )
        )
    return rows


def _rule4(ctx: _Context) -> list[dict]:
    r = ctx.rules
    if not r.township_center_per_township:
        return [_line(4, "4", detail="township_center_per_township is off in these rules")]
    if ctx.boundaries is None:
        return [_line(4, "4", detail="no boundaries loaded")]
    towns = ctx.units("township", _TOWNSHIP_KINDS)
    if not len(towns):
        return [
            _line(
                4,
                "4",
                detail="no town or township (镇/乡, kind 'town'/'township') in the boundaries",
            )
        ]
    if not ctx.counted("township_center"):
        return _not_counted(4, "4", "township_center")
    n = ctx.count(["township_center"], "township")
    rows = []
    for u in towns.to_dict("records"):
        k = int(n.get(u["admin_code"], 0))
        props = ctx.proposals_in(u["admin_code"], "township")
        fix = f"add 1 township health center (乡镇卫生院) in {u['admin_name']}"
        if props:
            fix += f"; proposed sites there: {props}"
        rows.append(
            _line(
                4,
                "4",
                unit=u,
                metric="township health centers",
                value=k,
                target=1,
                status=PASS if k >= 1 else FAIL,
                detail=f"{k} township health center(s) in {u['admin_name']}",
                fix=fix,
                proposals=props,
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# Rule 5: village clinics
# --------------------------------------------------------------------------------------------

VILLAGE_COLUMNS = [
    "admin_code",
    "admin_name",
    "township_code",
    "population",
    "clinics_inside",
    "own_clinics",
    "own_clinic_ids",
    "own_clinic_outside",
    "status",
    "shared_with",
    "shared_with_village",
    "shared_share",
    "shared_minutes",
    "best_other_share",
]


@functools.lru_cache(maxsize=8)
def _name_matches(village_names: tuple[str, ...]) -> dict[str, list[int]]:
    """Clinic name -> indices of the longest village names it contains, filled as names are seen
    (one table per list of village names)."""
    return {}


def _village_clinics(ctx: _Context, by_name: bool, max_m: float, min_share: float) -> pd.DataFrame:
    if ctx.boundaries is None or not ctx.counted("village_clinic"):
        return pd.DataFrame(columns=VILLAGE_COLUMNS)
    b = ctx.boundaries
    vil = b[(b["level"] == "village") & (b["kind"] == "village")].reset_index(drop=True)
    if not len(vil):
        return pd.DataFrame(columns=VILLAGE_COLUMNS)
    units = ctx.units("village", ["village"]).set_index("admin_code")
    clinics = ctx.facilities[ctx.facilities["tier"] == "village_clinic"].reset_index(drop=True)
    located = (
        clinics["village_code"].to_numpy()
        if "village_code" in clinics.columns
        else np.full(len(clinics), "")
    )
    owner = np.where(np.isin(located, vil["admin_code"].to_numpy()), located, "")
    vil_m = vil.to_crs(ctx.metric_crs)
    cl_m = clinics.to_crs(ctx.metric_crs) if len(clinics) else clinics
    if by_name and len(clinics):
        names = vil["admin_name"].astype(str).to_numpy()
        order = np.argsort([-len(n) for n in names], kind="stable")
        known = _name_matches(tuple(names.tolist()))  # the same register on every what-if click
        pairs_c, pairs_v = [], []
        for i, cname in enumerate(clinics["name"].astype(str)):
            hits = known.get(cname)
            if hits is None:
                hits, best_len = [], 0
                for j in order:
                    nm = names[j]
                    if len(nm) < best_len:
                        break
                    if len(nm) >= 2 and nm in cname:
                        best_len = len(nm)
                        hits.append(int(j))
                known[cname] = hits
            pairs_c.extend([i] * len(hits))
            pairs_v.extend(hits)
        if pairs_c:
            pc, pv = np.asarray(pairs_c), np.asarray(pairs_v)
            d = shapely.distance(vil_m.geometry.to_numpy()[pv], cl_m.geometry.to_numpy()[pc])
            # per clinic the nearest of its name matches (first in name order on ties)
            o = np.lexsort((np.arange(len(pc)), d, pc))
            first = o[np.unique(pc[o], return_index=True)[1]]
            ok = first[d[first] <= max_m]
            owner[pc[ok]] = vil["admin_code"].to_numpy()[pv[ok]]
    clinics = clinics.assign(owner_code=owner, located_code=located)
    # plain lists and dicts: this runs on every what-if click of the app
    loc_l = [str(c) for c in located]
    own_l = [str(c) for c in owner]
    ids_l = clinics["facility_id"].astype(str).tolist()
    inside = Counter(loc_l)
    own_n = Counter(c for c in own_l if c)
    own_out_n = Counter(o for o, lc in zip(own_l, loc_l, strict=True) if o and o != lc)
    own_ids: dict[str, list[str]] = {}
    for own, fid in zip(own_l, ids_l, strict=True):
        if own:
            own_ids.setdefault(own, []).append(fid)
    codes = vil["admin_code"].astype(str).tolist()
    pop_of = units["population"].to_dict()
    n = len(codes)
    df = pd.DataFrame(
        {
            "admin_code": codes,
            "admin_name": vil["admin_name"].tolist(),
            "township_code": vil["parent_code"].tolist()
            if "parent_code" in vil.columns
            else [""] * n,
            "population": [float(pop_of.get(c, math.nan)) for c in codes],
            "clinics_inside": [inside.get(c, 0) for c in codes],
            "own_clinics": [own_n.get(c, 0) for c in codes],
            "own_clinic_ids": [", ".join(own_ids.get(c, [])) for c in codes],
            "own_clinic_outside": [own_out_n.get(c, 0) for c in codes],
            "status": "",
            "shared_with": "",
            "shared_with_village": "",
            "shared_share": math.nan,
            "shared_minutes": math.nan,
            "best_other_share": math.nan,
        },
        columns=VILLAGE_COLUMNS,
    )
    df["status"] = np.where(df["own_clinics"] > 0, "own clinic", "no clinic")
    need = df.index[df["own_clinics"] == 0]
    if (
        len(need)
        and len(clinics)
        and ctx.result.demand is not None
        and "village_code" in ctx.result.demand.columns
    ):
        _shared(ctx, df, need, vil_m, clinics, min_share)
    return df


def _shared(
    ctx: _Context,
    df: pd.DataFrame,
    need: pd.Index,
    vil_m: gpd.GeoDataFrame,
    clinics: gpd.GeoDataFrame,
    min_share: float,
) -> None:
    """Fill the shared-clinic columns of ``df`` for the villages ``need`` (a network query)."""
    from . import access, siting

    res = ctx.result
    dem = res.demand
    codes = df.loc[need, "admin_code"].to_numpy()
    dem_village = ctx.demand_codes("village")
    rows = np.flatnonzero(np.isin(dem_village, codes) & (dem["population"].to_numpy() > 0))
    # adjacency: villages whose polygons touch (1 m tolerance in the metric CRS)
    geo = vil_m.set_index("admin_code").geometry
    tree = shapely.STRtree(vil_m.geometry.to_numpy())
    all_codes = vil_m["admin_code"].to_numpy()
    neighbours: dict[str, set[str]] = {}
    for c in codes:
        hit = tree.query(geo.loc[c].buffer(1.0), predicate="intersects")
        neighbours[c] = {str(all_codes[h]) for h in hit}
    if len(rows) == 0:
        return
    att = siting.demand_attachment(res).take(rows)  # joined once per result, shared with siting
    sets = access.coverage_sets(res.network, clinics, att, minutes=ctx.rules.coverage_minutes)
    m = sets.time_s.tocoo()
    pop = dem["population"].to_numpy(float)[rows]
    vcode = dem_village[rows]
    fac_loc = clinics["located_code"].to_numpy()
    fac_own = clinics["owner_code"].to_numpy()
    fac_id = clinics["facility_id"].astype(str).to_numpy()
    fac_name = clinics["name"].astype(str).to_numpy()
    T = ctx.rules.coverage_minutes * 60 + 1e-6
    keep = m.data <= T
    p_row, p_fac, p_t = m.row[keep], m.col[keep], m.data[keep]
    p_pop = pop[p_row]
    by_village: dict[str, np.ndarray] = {}
    if len(p_row):
        p_vil = vcode[p_row]
        order = np.argsort(p_vil, kind="stable")
        vals, starts = np.unique(p_vil[order], return_index=True)
        for v, part in zip(vals.tolist(), np.split(order, starts[1:]), strict=True):
            by_village[v] = part
    vpop = pd.Series(pop).groupby(vcode).sum()
    names = df.set_index("admin_code")["admin_name"]
    for i in need:
        c = df.at[i, "admin_code"]
        p_tot = float(vpop.get(c, 0.0))
        if p_tot <= 0:
            continue
        sel = by_village.get(c)
        if sel is None:
            df.at[i, "best_other_share"] = 0.0
            continue
        facs, inv = np.unique(p_fac[sel], return_inverse=True)  # sorted, as groupby("fac")
        share_of = np.bincount(inv, weights=p_pop[sel]) / p_tot
        ok = np.array([fac_loc[f] in neighbours[c] and fac_own[f] != c for f in facs], dtype=bool)
        df.at[i, "best_other_share"] = float(share_of.max())
        if not ok.any():
            continue
        cand = np.flatnonzero(ok)
        k = cand[
            np.argsort(-share_of[cand], kind="stable")[0]
        ]  # largest share, first facility on ties
        f = int(facs[k])
        share = float(share_of[k])
        mine = sel[p_fac[sel] == f]
        w = p_pop[mine]
        med = weighted_quantile(p_t[mine] / 60.0, w, 0.5) if len(mine) else math.nan
        df.at[i, "shared_share"] = share
        df.at[i, "shared_minutes"] = med
        df.at[i, "shared_with"] = f"{fac_name[f]} ({fac_id[f]})"
        owner = fac_own[f] or fac_loc[f]
        df.at[i, "shared_with_village"] = names.get(owner, owner)
        if share >= min_share - 1e-12:
            df.at[i, "status"] = "shared"


def _rule5(ctx: _Context, vil: pd.DataFrame) -> list[dict]:
    r = ctx.rules
    if not r.clinic_per_village:
        return [_line(5, "5", detail="clinic_per_village is off in these rules")]
    if ctx.boundaries is None:
        return [_line(5, "5", detail="no boundaries loaded")]
    if not ctx.counted("village_clinic"):
        return _not_counted(5, "5", "village_clinic")
    if not len(vil):
        return [
            _line(
                5,
                "5",
                detail="no administrative village (行政村, level 'village', kind 'village') in the boundaries",
            )
        ]
    mins = r.coverage_minutes
    mode = ctx.result.settings.mode
    rows = []
    for v in vil.to_dict("records"):
        u = {
            "admin_code": v["admin_code"],
            "admin_name": v["admin_name"],
            "level": "village",
            "kind": "village",
            "population": v["population"],
        }
        props = ctx.proposals_in(v["admin_code"], "village")
        if v["own_clinics"] > 0:
            detail = f"own clinic {v['own_clinic_ids']}"
            if v["own_clinic_outside"]:
                detail += " (stands outside the village boundary)"
            rows.append(
                _line(
                    5,
                    "5",
                    unit=u,
                    metric="own village clinics",
                    value=v["own_clinics"],
                    target=1,
                    status=PASS,
                    detail=detail,
                )
            )
            continue
        if v["status"] == "shared":
            detail = (
                f"no clinic of its own; shares {v['shared_with']} of {v['shared_with_village']}, which "
                f"{100 * v['shared_share']:.0f} % of its residents reach within {mins:g} min ({mode}, "
                f"median {v['shared_minutes']:.1f} min)"
            )
            ok = r.villages_may_share_clinic
            fix = (
                f"add a village clinic in {v['admin_name']} (sharing is not allowed by these rules)"
            )
            rows.append(
                _line(
                    5,
                    "5",
                    unit=u,
                    metric="own village clinics",
                    value=0,
                    target=1,
                    status=PASS if ok else FAIL,
                    detail=detail,
                    fix=fix,
                    proposals=props,
                )
            )
            continue
        best = v["best_other_share"]
        detail = "no clinic of its own"
        if v["clinics_inside"]:
            detail += f"; {v['clinics_inside']} clinic(s) of other villages stand inside it"
        if np.isfinite(best):
            detail += f"; the best clinic nearby reaches {100 * best:.0f} % of its residents within {mins:g} min"
        elif not (v["population"] > 0):
            detail += "; no residents in the population data"
        fix = f"add 1 village clinic (村卫生室) in {v['admin_name']} ({_fmt_pop(v['population'])} residents)"
        if v["shared_with"] and r.villages_may_share_clinic:
            fix += (
                f", or improve the link to {v['shared_with']} ({100 * v['shared_share']:.0f} % within "
                f"{mins:g} min now)"
            )
        if props:
            fix += f"; proposed sites there: {props}"
        rows.append(
            _line(
                5,
                "5",
                unit=u,
                metric="own village clinics",
                value=0,
                target=1,
                status=FAIL,
                detail=detail,
                fix=fix,
                proposals=props,
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# Rules 6-8
# --------------------------------------------------------------------------------------------


def _rule6(ctx: _Context) -> list[dict]:
    if not ctx.rules.plan_facility_with_new_housing:
        return [_line(6, "6", detail="plan_facility_with_new_housing is off in these rules")]
    return [
        _line(
            6,
            "6",
            detail="needs a layer of planned housing with its planned facility, which the data "
            "do not carry; model planned housing as added population with its station in a scenario",
        )
    ]


def _rule7(ctx: _Context) -> list[dict]:
    r = ctx.rules
    p = ctx.proposals
    if p is None or not len(p):
        return [_line(7, "7", detail="no proposed premises given (pass proposals=)")]
    if "floor_area_m2" not in p.columns:
        return [
            _line(
                7,
                "7",
                detail="the proposed sites carry no floor_area_m2 (choose candidates from premises "
                "with floor areas, e.g. candidate_sites(source='file'))",
            )
        ]
    rows = []
    for s in p.to_dict("records"):
        need = r.min_floor_area_m2.get(s["tier"], math.nan)
        area = pd.to_numeric(pd.Series([s.get("floor_area_m2")]), errors="coerce").iloc[0]
        u = {
            "admin_code": s.get("township_code", ""),
            "admin_name": s.get("township_name", ""),
            "level": "township",
            "kind": "",
        }
        label = f"proposed {s['tier']} {s['site_id']}"
        if not np.isfinite(need):
            rows.append(
                _line(
                    7,
                    "7",
                    unit=u,
                    metric="floor area m2",
                    value=area,
                    detail=f"{label}: no size rule for this tier",
                    proposals=s["site_id"],
                )
            )
            continue
        if not np.isfinite(area):
            rows.append(
                _line(
                    7,
                    "7",
                    unit=u,
                    metric="floor area m2",
                    target=need,
                    detail=f"{label}: floor area unknown",
                    proposals=s["site_id"],
                )
            )
            continue
        ok = area >= need
        detail = f"{label}: {area:,.0f} m2 (minimum {need:,.0f} m2)"
        fix = f"choose premises of at least {need:,.0f} m2 for {s['site_id']}"
        if s["tier"] == "community_center" and "beds" in s:
            beds = pd.to_numeric(pd.Series([s["beds"]]), errors="coerce").iloc[0]
            if np.isfinite(beds):
                detail += f", {beds:.0f} beds (minimum {r.min_beds_community_center})"
                if beds < r.min_beds_community_center:
                    ok = False
                    fix += f" and {r.min_beds_community_center} beds"
        rows.append(
            _line(
                7,
                "7",
                unit=u,
                metric="floor area m2",
                value=area,
                target=need,
                status=PASS if ok else FAIL,
                detail=detail,
                fix=fix,
                proposals=s["site_id"],
            )
        )
    return rows


def _staff_column(fac: pd.DataFrame) -> str | None:
    for c in _STAFF_COLUMNS:
        if c in fac.columns:
            return c
    return None


FACILITY_COLUMNS = [
    "facility_id",
    "name",
    "tier",
    "township_code",
    "township_name",
    "village_code",
    "village_name",
    "nearest_residents",
    "unit_residents_per_facility",
    "implied_staff_low",
    "implied_staff_high",
    "staff",
    "capacity_low",
    "capacity_high",
]


def _rule8(ctx: _Context, vil: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    r = ctx.rules
    res = ctx.result
    fac = ctx.facilities
    staff_col = _staff_column(fac)
    table = pd.DataFrame(
        {
            c: fac[c] if c in fac.columns else ""
            for c in (
                "facility_id",
                "name",
                "tier",
                "township_code",
                "township_name",
                "village_code",
                "village_name",
            )
        }
    )
    table["facility_id"] = table["facility_id"].astype(str)
    if res.demand is not None:
        load = res.demand.groupby("nearest_facility")["population"].sum()
        table["nearest_residents"] = table["facility_id"].map(load).fillna(0.0).to_numpy(float)
    else:
        table["nearest_residents"] = math.nan
    # residents per facility of the tier in its unit (township centers: township; clinics: village)
    per_unit = np.full(len(table), math.nan)
    ratio_lo = np.full(len(table), math.nan)
    ratio_hi = np.full(len(table), math.nan)
    if ctx.summary is not None and ctx.boundaries is not None:
        tpop = ctx.summary[ctx.summary["level"] == "township"].set_index("admin_code")["population"]
        is_tc = (table["tier"] == "township_center").to_numpy()
        n_tc = table[is_tc].groupby("township_code").size()
        per_unit[is_tc] = [
            tpop.get(c, math.nan) / n_tc.get(c, 1) for c in table.loc[is_tc, "township_code"]
        ]
        is_vc = (table["tier"] == "village_clinic").to_numpy()
        if len(vil):
            vpop = vil.set_index("admin_code")["population"]
            nown = vil.set_index("admin_code")["own_clinics"]
            own_of = _clinic_owner(vil)
            per_unit[is_vc] = [
                vpop.get(own_of.get(f, ""), math.nan) / max(1, nown.get(own_of.get(f, ""), 1))
                for f in table.loc[is_vc, "facility_id"]
            ]
    ratio_lo[(table["tier"] == "township_center").to_numpy()] = r.staff_per_1000[0]
    ratio_hi[(table["tier"] == "township_center").to_numpy()] = r.staff_per_1000[1]
    ratio_lo[(table["tier"] == "village_clinic").to_numpy()] = r.village_doctors_per_1000[0]
    ratio_hi[(table["tier"] == "village_clinic").to_numpy()] = r.village_doctors_per_1000[1]
    table["unit_residents_per_facility"] = per_unit
    base = np.where(np.isfinite(per_unit), per_unit, table["nearest_residents"].to_numpy(float))
    table["implied_staff_low"] = base * ratio_lo / 1000.0
    table["implied_staff_high"] = base * ratio_hi / 1000.0
    staff = (
        pd.to_numeric(fac[staff_col], errors="coerce").to_numpy(float)
        if staff_col
        else np.full(len(table), math.nan)
    )
    table["staff"] = staff
    with np.errstate(divide="ignore", invalid="ignore"):
        table["capacity_low"] = staff * 1000.0 / ratio_hi
        table["capacity_high"] = staff * 1000.0 / ratio_lo
    table = table[FACILITY_COLUMNS]

    rows: list[dict] = []
    s_lo, s_hi = r.staff_per_1000
    # 8a: township health centers, per town/township
    towns = ctx.units("township", _TOWNSHIP_KINDS) if ctx.boundaries is not None else pd.DataFrame()
    if res.demand is None or not len(towns) or not ctx.counted("township_center"):
        why = (
            "no population loaded"
            if res.demand is None
            else "no towns/townships in the boundaries"
            if not len(towns)
            else "township centers not analysed"
        )
        rows.append(_line(8, "8a", detail=why))
    else:
        tc = table[table["tier"] == "township_center"]
        for u in towns.to_dict("records"):
            here = tc[tc["township_code"] == u["admin_code"]]
            k = len(here)
            if k == 0:
                rows.append(
                    _line(
                        8,
                        "8a",
                        unit=u,
                        metric="residents per township health center",
                        detail="no township health center (see rule 4)",
                    )
                )
                continue
            per = u["population"] / k
            need_lo, need_hi = u["population"] * s_lo / 1000, u["population"] * s_hi / 1000
            detail = (
                f"{per:,.0f} residents per township health center ({k}); that population implies "
                f"{need_lo:,.0f}-{need_hi:,.0f} staff at {s_lo:g}-{s_hi:g} per 1,000"
            )
            have = here["staff"].to_numpy(float)
            if np.isfinite(have).all():
                tot = float(have.sum())
                ok = tot >= need_lo - 1e-9
                rows.append(
                    _line(
                        8,
                        "8a",
                        unit=u,
                        metric="staff",
                        value=tot,
                        target=need_lo,
                        status=PASS if ok else FAIL,
                        detail=detail + f"; staff counted {tot:,.0f}",
                        fix=f"add {math.ceil(need_lo - tot)} staff in {u['admin_name']}'s township health center",
                    )
                )
            else:
                rows.append(
                    _line(
                        8,
                        "8a",
                        unit=u,
                        metric="residents per township health center",
                        value=per,
                        detail=detail + "; no staff counts in the facility data to check against",
                    )
                )
    # 8b: village doctors, over all administrative villages
    v_lo, v_hi = r.village_doctors_per_1000
    if res.demand is None or not len(vil):
        rows.append(_line(8, "8b", detail="no population or no administrative villages"))
    else:
        vc = table[table["tier"] == "village_clinic"]
        with_clinic = vil[vil["own_clinics"] > 0]
        p = float(with_clinic["population"].sum())
        k = int(with_clinic["own_clinics"].sum())
        u = {
            "admin_code": "",
            "admin_name": "villages with a clinic",
            "level": "village",
            "kind": "village",
            "population": p,
        }
        per = p / k if k else math.nan
        detail = (
            f"{k} clinics serve {p:,.0f} residents of their villages ({_fmt_pop(per)} per clinic, "
            f"largest {_fmt_pop(float(vc['unit_residents_per_facility'].max()) if len(vc) else math.nan)}); "
            f"that implies {p * v_lo / 1000:,.0f}-{p * v_hi / 1000:,.0f} village doctors"
            + (f" ({per * v_lo / 1000:.1f}-{per * v_hi / 1000:.1f} per clinic)" if k else "")
        )
        have = vc["staff"].to_numpy(float)
        if len(vc) and np.isfinite(have).all():
            need = p * v_lo / 1000
            ok = have.sum() >= need - 1e-9
            rows.append(
                _line(
                    8,
                    "8b",
                    unit=u,
                    metric="village doctors",
                    value=float(have.sum()),
                    target=need,
                    status=PASS if ok else FAIL,
                    detail=detail,
                    fix=f"add {math.ceil(need - have.sum())} village doctors",
                )
            )
        else:
            rows.append(
                _line(
                    8,
                    "8b",
                    unit=u,
                    metric="residents per village clinic",
                    value=per,
                    detail=detail + "; no staff counts to check against",
                )
            )
    # 8c: general practitioners
    if res.demand is None:
        rows.append(_line(8, "8c", detail="no population loaded"))
    else:
        p = res.total_population
        u = {
            "admin_code": "",
            "admin_name": "all residents",
            "level": "all",
            "kind": "",
            "population": p,
        }
        need = p * r.gp_per_10000 / 10000
        gp_col = next(
            (c for c in ("gp", "gps", "general_practitioners", "全科医生") if c in fac.columns),
            None,
        )
        if gp_col:
            have = float(pd.to_numeric(fac[gp_col], errors="coerce").fillna(0).sum())
            rows.append(
                _line(
                    8,
                    "8c",
                    unit=u,
                    metric="general practitioners",
                    value=have,
                    target=need,
                    status=PASS if have >= need - 1e-9 else FAIL,
                    detail=f"{have:,.0f} general practitioners for {p:,.0f} residents (need {need:,.0f})",
                    fix=f"add {math.ceil(need - have)} general practitioners",
                )
            )
        else:
            rows.append(
                _line(
                    8,
                    "8c",
                    unit=u,
                    metric="general practitioners needed",
                    value=need,
                    detail=(
                        f"{p:,.0f} residents need {need:,.0f} general practitioners at "
                        f"{r.gp_per_10000:g} per 10,000; no GP counts in the facility data"
                    ),
                )
            )
    return table, rows


def _clinic_owner(vil: pd.DataFrame) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, ids in zip(vil["admin_code"], vil["own_clinic_ids"], strict=True):
        for f in str(ids).split(", "):
            if f:
                out[f] = code
    return out


# --------------------------------------------------------------------------------------------
# Equity
# --------------------------------------------------------------------------------------------


def weighted_quantile(values: Any, weights: Any, q: float | Sequence[float]) -> Any:
    """Population-weighted quantile(s): the smallest value with at least ``q`` of the weight at or
    below it (inverted CDF; ``inf`` values allowed).

    >>> weighted_quantile([1, 2, 3], [1, 1, 2], 0.5)
    2.0
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    keep = w > 0
    v, w = v[keep], w[keep]
    if len(v) == 0:
        out = np.full(len(qs), math.nan)
    else:
        o = np.argsort(v, kind="stable")
        v, w = v[o], w[o]
        cw = np.cumsum(w) / w.sum()
        idx = np.searchsorted(cw, qs - 1e-12, side="left")
        out = v[np.clip(idx, 0, len(v) - 1)]
    return float(out[0]) if np.ndim(q) == 0 else out


def lorenz_curve(values: Any, weights: Any = None) -> pd.DataFrame:
    """Lorenz curve of ``values`` (e.g. mean access minutes per unit) weighted by ``weights``.

    Units are sorted by value, ascending; returns ``population_share`` (cumulative share of the
    weight) and ``time_share`` (cumulative share of weight x value), starting at (0, 0).
    """
    v = np.asarray(values, dtype=float)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    keep = np.isfinite(v) & np.isfinite(w) & (w > 0)
    v, w = v[keep], w[keep]
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    pw = np.concatenate([[0.0], np.cumsum(w)])
    tw = np.concatenate([[0.0], np.cumsum(w * v)])
    p = pw / pw[-1] if len(v) and pw[-1] > 0 else pw
    t = tw / tw[-1] if len(v) and tw[-1] > 0 else p.copy()
    return pd.DataFrame(
        {"population_share": p, "time_share": t, "value": np.concatenate([[math.nan], v])}
    )


def gini(values: Any, weights: Any = None) -> float:
    """Weighted Gini coefficient of non-negative ``values`` (0 = equal; NaN/inf values dropped).

    >>> gini([5, 5, 5], [10, 20, 30])
    0.0
    >>> gini([0, 1], [1, 1])
    0.5
    """
    lc = lorenz_curve(values, weights)
    if len(lc) < 2:
        return math.nan
    p = lc["population_share"].to_numpy()
    t = lc["time_share"].to_numpy()
    g = 1.0 - float(np.sum((p[1:] - p[:-1]) * (t[1:] + t[:-1])))
    return max(0.0, g) if abs(g) < 1e-12 else g


def _equity(ctx: _Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    res = ctx.result
    tt_cols = (
        ["group", "population", "unreachable_population", "mean_minutes"]
        + [f"p{int(q * 100)}" for q in _QUANTILES]
        + ["max_minutes"]
    )
    eq_cols = ["metric", "group", "value", "unit", "note"]
    if res.demand is None:
        return (
            pd.DataFrame(columns=tt_cols),
            pd.DataFrame(
                columns=[
                    "level",
                    "admin_code",
                    "admin_name",
                    "population_share",
                    "time_share",
                    "value",
                ]
            ),
            pd.DataFrame(columns=eq_cols),
        )
    dem = res.demand
    pop = dem["population"].to_numpy(float)
    mins = ctx.minutes if ctx.minutes is not None else dem["minutes"].to_numpy(float)
    groups = {"all": np.ones(len(dem), dtype=bool)}
    urban = rural = None
    if ctx.boundaries is not None and "township_code" in dem.columns:
        tw = ctx.units("township")
        urban_codes = tw.loc[tw["kind"] == "subdistrict", "admin_code"].to_numpy()
        rural_codes = tw.loc[tw["kind"].isin(_TOWNSHIP_KINDS), "admin_code"].to_numpy()
        if len(urban_codes) and len(rural_codes):
            urban = np.isin(dem["township_code"].to_numpy(), urban_codes)
            rural = np.isin(dem["township_code"].to_numpy(), rural_codes)
            groups["urban (subdistricts)"] = urban
            groups["rural (towns and townships)"] = rural
    tt_rows = []
    for g, m in groups.items():
        w, t = pop[m], mins[m]
        fin = np.isfinite(t)
        qv = (
            weighted_quantile(t, w, list(_QUANTILES))
            if w.sum() > 0
            else np.full(len(_QUANTILES), math.nan)
        )
        row = {
            "group": g,
            "population": float(w.sum()),
            "unreachable_population": float(w[~fin].sum()),
            "mean_minutes": float((w[fin] * t[fin]).sum() / w[fin].sum())
            if w[fin].sum() > 0
            else math.nan,
        }
        row.update({f"p{int(q * 100)}": float(x) for q, x in zip(_QUANTILES, qv, strict=True)})
        row["max_minutes"] = float(t[w > 0].max()) if (w > 0).any() else math.nan
        tt_rows.append(row)
    tt = pd.DataFrame(tt_rows, columns=tt_cols)
    # Lorenz / Gini across admin units (population-weighted mean minutes per unit)
    lz, eq = [], []
    if ctx.summary is not None:
        for level in ("township", "village"):
            s = ctx.summary[(ctx.summary["level"] == level) & (ctx.summary["population"] > 0)]
            s = s[np.isfinite(s["mean_minutes"].to_numpy(float))]
            if len(s) < 2:
                continue
            lc = lorenz_curve(s["mean_minutes"].to_numpy(float), s["population"].to_numpy(float))
            o = np.argsort(s["mean_minutes"].to_numpy(float), kind="stable")
            lc.insert(0, "admin_name", [""] + list(s["admin_name"].to_numpy()[o]))
            lc.insert(0, "admin_code", [""] + list(s["admin_code"].to_numpy()[o]))
            lc.insert(0, "level", level)
            lz.append(lc)
            eq.append(
                {
                    "metric": "gini",
                    "group": level,
                    "value": gini(
                        s["mean_minutes"].to_numpy(float), s["population"].to_numpy(float)
                    ),
                    "unit": "",
                    "note": f"mean access time across {len(s)} {level}-level units, population-weighted",
                }
            )
    fin = np.isfinite(mins) & (pop > 0)
    eq.append(
        {
            "metric": "gini",
            "group": "demand units",
            "value": gini(mins[fin], pop[fin]),
            "unit": "",
            "note": f"access time across {int(fin.sum()):,} demand units (residents who reach a facility)",
        }
    )
    if urban is not None and rural is not None:
        T = ctx.rules.coverage_minutes
        cov = ctx.covered_mask

        def share(m: np.ndarray) -> float:
            return float(pop[m & cov].sum() / pop[m].sum()) if pop[m].sum() > 0 else math.nan

        def mean(m: np.ndarray) -> float:
            f = m & np.isfinite(mins)
            return float((pop[f] * mins[f]).sum() / pop[f].sum()) if pop[f].sum() > 0 else math.nan

        su, sr = share(urban), share(rural)
        mu, mr = mean(urban), mean(rural)
        du = weighted_quantile(mins[urban], pop[urban], 0.5)
        dr = weighted_quantile(mins[rural], pop[rural], 0.5)
        eq += [
            {
                "metric": "covered_share",
                "group": "urban",
                "value": su,
                "unit": "share",
                "note": f"within {T:g} min",
            },
            {
                "metric": "covered_share",
                "group": "rural",
                "value": sr,
                "unit": "share",
                "note": f"within {T:g} min",
            },
            {
                "metric": "covered_share_gap",
                "group": "urban - rural",
                "value": su - sr,
                "unit": "share",
                "note": "positive: urban residents are covered more often",
            },
            {
                "metric": "mean_minutes",
                "group": "urban",
                "value": mu,
                "unit": "min",
                "note": "population-weighted",
            },
            {
                "metric": "mean_minutes",
                "group": "rural",
                "value": mr,
                "unit": "min",
                "note": "population-weighted",
            },
            {
                "metric": "mean_minutes_gap",
                "group": "rural - urban",
                "value": mr - mu,
                "unit": "min",
                "note": "positive: rural residents travel longer",
            },
            {
                "metric": "median_minutes",
                "group": "urban",
                "value": du,
                "unit": "min",
                "note": "population-weighted",
            },
            {
                "metric": "median_minutes",
                "group": "rural",
                "value": dr,
                "unit": "min",
                "note": "population-weighted",
            },
        ]
    eq += _group_equity(ctx, pop, mins)
    lorenz = (
        pd.concat(lz, ignore_index=True)
        if lz
        else pd.DataFrame(
            columns=["level", "admin_code", "admin_name", "population_share", "time_share", "value"]
        )
    )
    lorenz = lorenz.rename(columns={"value": "mean_minutes"})
    return tt, lorenz, pd.DataFrame(eq, columns=eq_cols)


_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


def _group_label(group: str) -> str:
    """How a population group is named in the report: ``65plus`` -> ``aged 65+``."""
    return "aged " + re.sub(r"^under(\d)", r"under \1", group.replace("plus", "+"))


def _group_equity(ctx: _Context, pop: np.ndarray, mins: np.ndarray) -> list[dict]:
    """Coverage and mean time of everyone and of each population group (65+, under 5, ...)
    beside each other, from the report's own times (a what-if's included)."""
    from .coverage import group_weights, population_groups

    dem = ctx.result.demand
    groups = population_groups(dem)
    if not groups:
        return []
    T = ctx.rules.coverage_minutes
    cov = ctx.covered_mask if ctx.covered_mask is not None else np.zeros(len(pop), dtype=bool)
    fin = np.isfinite(mins)
    rows = []
    for g in [None, *groups]:
        w = pop if g is None else group_weights(dem, g)
        name = "all residents" if g is None else _group_label(g)
        tot = math.fsum(w)
        rows += [
            {
                "metric": "group_covered_share",
                "group": name,
                "value": math.fsum(w[cov]) / tot if tot > 0 else math.nan,
                "unit": "share",
                "note": f"within {T:g} min, of {tot:,.0f} residents",
            },
            {
                "metric": "group_mean_minutes",
                "group": name,
                "value": float((w[fin] * mins[fin]).sum() / w[fin].sum())
                if w[fin].sum() > 0
                else math.nan,
                "unit": "min",
                "note": "weighted by the group's residents",
            },
        ]
    return rows


def _group_unit_shares(ctx: _Context, u: pd.DataFrame) -> list[str]:
    """Add ``covered_share_<g>`` per population group to the units table ``u`` (in place, from
    the report's covered mask, so a what-if's too); return the new column names."""
    from .coverage import group_weights, population_groups

    dem = ctx.result.demand
    if dem is None or ctx.covered_mask is None:
        return []
    added = []
    for g in population_groups(dem):
        w = group_weights(dem, g)
        col = f"covered_share_{g}"
        u[col] = math.nan
        for level in ("county", "township", "village"):
            if f"{level}_code" not in dem.columns:
                continue
            key = dem[f"{level}_code"].to_numpy()
            tot = pd.Series(w).groupby(key).sum()
            cov = pd.Series(np.where(ctx.covered_mask, w, 0.0)).groupby(key).sum()
            share = (cov / tot.where(tot > 0)).astype(float)
            m = (u["level"] == level).to_numpy()
            u.loc[m, col] = u.loc[m, "admin_code"].map(share).to_numpy(float)
        added.append(col)
    return added


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _rule_summary(checks: pd.DataFrame, texts: dict[int, str]) -> pd.DataFrame:
    rows = []
    for rule in range(1, 9):
        c = checks[checks["rule"] == rule]
        n_pass = int((c["status"] == PASS).sum())
        n_fail = int((c["status"] == FAIL).sum())
        n_na = int((c["status"] == NA).sum())
        status = FAIL if n_fail else PASS if n_pass else NA
        if status == NA:
            summary = "; ".join(_na_summary(check, g) for check, g in c.groupby("check", sort=True))
        else:
            by = c[c["status"] != NA].groupby("check")["status"]
            parts = []
            for check, s in by:
                f = int((s == FAIL).sum())
                parts.append(
                    f"{check}: {len(s) - f} of {len(s)} pass" + (f", {f} fail" if f else "")
                )
            summary = "; ".join(parts)
            if n_na:
                summary += f"; {n_na} not assessed"
        rows.append(
            {
                "rule": rule,
                "title": RULE_TITLES[rule],
                "text": texts[rule],
                "status": status,
                "checked": len(c),
                "passed": n_pass,
                "failed": n_fail,
                "not_assessed": n_na,
                "summary": summary,
            }
        )
    return pd.DataFrame(rows)


def _na_summary(check: str, lines: pd.DataFrame) -> str:
    """One phrase for the not-assessed lines of a check: the reason, or the range of the number."""
    details = list(dict.fromkeys(lines["detail"].astype(str)))
    if len(details) == 1:
        return f"{check}: {details[0]}"
    v = lines["value"].to_numpy(float)
    v = v[np.isfinite(v)]
    tails = {d.rsplit("; ", 1)[-1] for d in details}
    reason = f" ({tails.pop()})" if len(tails) == 1 else ""
    if len(v):
        return f"{check}: {lines['metric'].iloc[0]} {v.min():,.0f}-{v.max():,.0f} over {len(lines)} units{reason}"
    return f"{check}: {len(lines)} lines{reason}"


def _units_table(ctx: _Context, vil: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "admin_code",
        "admin_name",
        "level",
        "kind",
        "parent_code",
        "population",
        "covered_population",
        "covered_share",
        "mean_minutes",
        "community_centers",
        "community_stations",
        "township_centers",
        "village_clinics",
        "hospitals",
        "own_village_clinics",
        "rule5_status",
    ]
    if ctx.summary is None and ctx.boundaries is None:
        return pd.DataFrame(columns=cols)
    if ctx.summary is not None:
        u = ctx.summary.copy()
        if ctx.covered_mask is not None and (
            ctx.minutes_given or ctx.rules.coverage_minutes != ctx.result.settings.minutes
        ):
            dem = ctx.result.demand
            pop = dem["population"].to_numpy(float)
            assert ctx.minutes is not None
            fin = np.isfinite(ctx.minutes)
            for level in ("county", "township", "village"):
                col = f"{level}_code"
                if col in dem.columns:
                    key = dem[col].to_numpy()
                    c = pd.Series(np.where(ctx.covered_mask, pop, 0.0)).groupby(key).sum()
                    m = u["level"] == level
                    u.loc[m, "covered_population"] = (
                        u.loc[m, "admin_code"].map(c).fillna(0.0).to_numpy()
                    )
                    if (
                        ctx.minutes_given
                    ):  # the what-if's times: mean over residents who reach a facility
                        w = pd.Series(np.where(fin, pop, 0.0)).groupby(key).sum()
                        wt = (
                            pd.Series(np.where(fin, pop * np.where(fin, ctx.minutes, 0.0), 0.0))
                            .groupby(key)
                            .sum()
                        )
                        mean = (wt / w.where(w > 0)).astype(float)
                        u.loc[m, "mean_minutes"] = u.loc[m, "admin_code"].map(mean).to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                u["covered_share"] = np.where(
                    u["population"] > 0, u["covered_population"] / u["population"], np.nan
                )
    else:
        assert ctx.boundaries is not None
        u = pd.DataFrame(ctx.boundaries.drop(columns="geometry"))
        for c in ("population", "covered_population", "covered_share", "mean_minutes"):
            u[c] = math.nan
    for tier, col in (
        ("community_center", "community_centers"),
        ("community_station", "community_stations"),
        ("township_center", "township_centers"),
        ("village_clinic", "village_clinics"),
        ("hospital", "hospitals"),
    ):
        vals = np.zeros(len(u))
        for level in ("county", "township", "village"):
            if f"{level}_code" not in ctx.facilities.columns:
                continue
            n = ctx.count([tier], level)
            m = (u["level"] == level).to_numpy()
            vals[m] = u.loc[m, "admin_code"].map(n).fillna(0).to_numpy()
        u[col] = vals.astype(int)
    if len(vil):
        v = vil.set_index("admin_code")
        u["own_village_clinics"] = u["admin_code"].map(v["own_clinics"])
        u["rule5_status"] = u["admin_code"].map(v["status"]).fillna("")
    else:
        u["own_village_clinics"] = np.nan
        u["rule5_status"] = ""
    for c in cols:
        if c not in u.columns:
            u[c] = ""
    cols = cols + _group_unit_shares(ctx, u)  # after the fixed columns
    return u[cols].reset_index(drop=True)


def _proposal_table(ctx: _Context, checks: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "site_id",
        "tier",
        "lon",
        "lat",
        "township_code",
        "township_name",
        "village_code",
        "village_name",
        "newly_covered_population",
        "floor_area_m2",
        "addresses",
    ]
    p = ctx.proposals
    if p is None:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(p.drop(columns="geometry"))
    out["lon"] = p.geometry.x.to_numpy()
    out["lat"] = p.geometry.y.to_numpy()
    fails = checks[checks["status"] == FAIL]
    addr = []
    for s in out.itertuples():
        hits = []
        for level in ("township", "village"):
            code = getattr(s, f"{level}_code", "")
            if code:
                f = fails[(fails["admin_code"] == code) & (fails["rule"] <= 5)]
                hits += [
                    f"rule {c} ({n})" for c, n in zip(f["check"], f["admin_name"], strict=True)
                ]
        addr.append("; ".join(dict.fromkeys(hits)))
    out["addresses"] = addr
    for c in cols:
        if c not in out.columns:
            out[c] = math.nan if c in ("newly_covered_population", "floor_area_m2") else ""
    return out[cols + [c for c in out.columns if c not in cols]].reset_index(drop=True)


def _settings_table(
    ctx: _Context, by_name: bool, max_m: float, min_share: float, target: float
) -> pd.DataFrame:
    from . import __version__

    res = ctx.result
    s = res.settings
    rows = [
        ("planner_version", __version__),
        ("dataset", res.dataset_name),
        ("synthetic", "yes: synthetic demo data, not a real place" if res.synthetic else "no"),
        ("mode", s.mode),
        ("analysis_minutes", f"{s.minutes:g}"),
        ("tiers", ", ".join(s.selected_tiers)),
        ("population", _fmt_pop(res.total_population) if res.demand is not None else "none loaded"),
        ("facilities_counted", f"{len(ctx.facilities):,}"),
        ("proposals", "none" if ctx.proposals is None else f"{len(ctx.proposals):,}"),
        ("coverage_target_share", f"{target:g}"),
        ("match_clinics_by_name", str(by_name)),
        ("name_match_max_m", f"{max_m:g}"),
        ("share_min_residents_share", f"{min_share:g}"),
        (
            "shared_clinic_method",
            "network query: travel times from the village's residents to clinics in it and "
            "adjacent villages, analysis mode, within coverage_minutes",
        ),
    ]
    for k, v in ctx.rules.to_dict().items():
        rows.append((f"rules.{k}", str(v)))
    return pd.DataFrame(rows, columns=["key", "value"])


# --------------------------------------------------------------------------------------------
# Text, Markdown, HTML, Excel
# --------------------------------------------------------------------------------------------


def summary_lines(report: ComplianceReport, *, max_fixes_per_check: int = 3) -> list[str]:
    """Deprecated name of :func:`compliance_lines` (it clashed with :func:`planner.summary_lines`)."""
    warnings.warn(
        "planner.compliance.summary_lines is now compliance_lines (planner.summary_lines is the "
        "coverage summary); the old name will be removed.",
        DeprecationWarning,
        stacklevel=2,
    )
    return compliance_lines(report, max_fixes_per_check=max_fixes_per_check)


def compliance_lines(report: ComplianceReport, *, max_fixes_per_check: int = 3) -> list[str]:
    """Human-readable lines: one per rule, then the first failing lines of each check with their fixes."""
    tag = " [SYNTHETIC DEMO DATA]" if report.synthetic else ""
    out = [f"standards compliance: {report.dataset_name}{tag}"]
    for r in report.rules.itertuples():
        out.append(f"rule {r.rule} {r.title}: {r.status.upper()} - {r.summary}")
    fails = report.failures
    if len(fails):
        out.append(
            f"{len(fails)} failing lines; what would fix them (first {max_fixes_per_check} per check):"
        )
        for _check, g in fails.groupby("check", sort=False):
            for f in g.head(max_fixes_per_check).itertuples():
                out.append(f"  [{f.check}] {f.admin_name or '-'}: {f.fix}")
            if len(g) > max_fixes_per_check:
                out.append(
                    f"  [{_check}] ... and {len(g) - max_fixes_per_check} more (see the report files)"
                )
    g = report.gini("township")
    if np.isfinite(g):
        out.append(
            f"equity: Gini of mean access time across townships {g:.3f}, villages {report.gini('village'):.3f}"
        )
    eq = report.equity.set_index(["metric", "group"])["value"]
    if ("mean_minutes", "urban") in eq.index:
        out.append(
            f"urban vs rural: mean {eq['mean_minutes', 'urban']:.1f} vs {eq['mean_minutes', 'rural']:.1f} min "
            f"(rural - urban {eq['mean_minutes_gap', 'rural - urban']:+.1f} min), within "
            f"{report.rules_used.coverage_minutes:g} min {100 * eq['covered_share', 'urban']:.1f} % vs "
            f"{100 * eq['covered_share', 'rural']:.1f} %"
        )
    grp = report.equity[report.equity["metric"] == "group_covered_share"]
    if len(grp):
        out.append(
            f"population groups within {report.rules_used.coverage_minutes:g} min: "
            + ", ".join(f"{r.group} {100 * r.value:.1f} %" for r in grp.itertuples())
        )
    return out


def _display(v: Any, col: str = "") -> str:
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        x = float(v)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return (
                "unreachable"
                if "minutes" in col or col.startswith("p")
                else ("inf" if x > 0 else "-inf")
            )
        if "share" in col or (col in ("value", "target") and abs(x) < 1 and x != int(x)):
            return f"{x:.3f}"
        if x == int(x) and abs(x) < 1e15:
            return f"{int(x):,}"
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.2f}"
    return str(v)


def _md_table(df: pd.DataFrame, cols: Sequence[str] | None = None) -> str:
    cols = list(cols or df.columns)
    if not len(df):
        return "_(none)_\n"
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = [
        "| " + " | ".join(esc(c) for c in cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for row in df[cols].itertuples(index=False):
        lines.append(
            "| " + " | ".join(esc(_display(v, c)) for v, c in zip(row, cols, strict=True)) + " |"
        )
    return "\n".join(lines) + "\n"


_CHECK_VIEW = [
    "check",
    "admin_name",
    "level",
    "population",
    "metric",
    "value",
    "target",
    "status",
    "detail",
    "fix",
]


def compliance_markdown(report: ComplianceReport) -> str:
    """The report as Markdown (rules, failures with fixes, equity, proposals, settings)."""
    out = [f"# Standards compliance report: {report.dataset_name}\n"]
    if report.synthetic:
        out.append(
            "> **Synthetic demo data** (示范县 does not exist): an example of the report, not a real place.\n"
        )
    s = report.settings.set_index("key")["value"]
    out.append(
        f"Mode **{s.get('mode', '')}**, threshold **{report.rules_used.coverage_minutes:g} min**, "
        f"population {s.get('population', '')}, {s.get('facilities_counted', '')} facilities, "
        f"planner {s.get('planner_version', '')}. Rules from `standards.md` (values in the settings table).\n"
    )
    out.append("## Rules\n")
    out.append(
        _md_table(
            report.rules, ["rule", "title", "status", "passed", "failed", "not_assessed", "summary"]
        )
    )
    out.append("\n### The rules as checked\n")
    for r in report.rules.itertuples():
        out.append(f"{r.rule}. **{r.title}**: {r.text}")
    out.append("")
    out.append("## Failures and what would fix them\n")
    for rule in range(1, 9):
        f = report.failures[report.failures["rule"] == rule]
        if not len(f):
            continue
        out.append(f"### Rule {rule}: {RULE_TITLES[rule]} ({len(f)} failing)\n")
        out.append(
            _md_table(f, ["check", "admin_name", "population", "value", "target", "detail", "fix"])
        )
    na = report.checks[report.checks["status"] == NA]
    if len(na):
        out.append("## Not assessed\n")
        out.append(
            _md_table(na.drop_duplicates(["check", "detail"]), ["check", "admin_name", "detail"])
        )
    out.append("## Equity\n")
    out.append("Travel time to the nearest facility (minutes), population-weighted quantiles:\n")
    out.append(_md_table(report.travel_times))
    out.append("\nGini coefficient of access time and the urban-rural gap:\n")
    out.append(_md_table(report.equity))
    if len(report.proposals):
        out.append("## Proposed sites\n")
        out.append(
            _md_table(
                report.proposals,
                [
                    "site_id",
                    "tier",
                    "township_name",
                    "village_name",
                    "newly_covered_population",
                    "floor_area_m2",
                    "addresses",
                ],
            )
        )
    out.append("## Admin units\n")
    tw = report.units[report.units["level"].isin(["county", "township"])]
    out.append(
        _md_table(
            tw,
            [
                "admin_code",
                "admin_name",
                "kind",
                "population",
                "covered_share",
                *[c for c in tw.columns if c.startswith("covered_share_")],
                "mean_minutes",
                "community_centers",
                "community_stations",
                "township_centers",
                "village_clinics",
            ],
        )
    )
    out.append("## All checks\n")
    out.append(_md_table(report.checks, _CHECK_VIEW))
    out.append("## Settings\n")
    out.append(_md_table(report.settings))
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:2em auto;max-width:1200px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f2f2f2;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.pass{background:#e3f4e3;color:#1a6b1a;font-weight:600}td.fail{background:#fbe3e3;color:#a01818;font-weight:600}
td.na{color:#777}.note{background:#fff7d6;border:1px solid #e6c200;padding:.5em 1em}
details{margin:.5em 0}summary{cursor:pointer;font-weight:600}
"""


def _html_table(df: pd.DataFrame, cols: Sequence[str] | None = None) -> str:
    cols = list(cols or df.columns)
    if not len(df):
        return "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = []
    for row in df[cols].itertuples(index=False):
        cells = []
        for v, c in zip(row, cols, strict=True):
            text = html.escape(_display(v, c))
            cls = ""
            if c == "status":
                cls = {PASS: "pass", FAIL: "fail"}.get(str(v), "na")
            elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
                cls = "num"
            cells.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _lorenz_svg(lorenz: pd.DataFrame, ginis: Mapping[str, float]) -> str:
    """An inline SVG of the Lorenz curves (no JavaScript, no external files)."""
    if not len(lorenz):
        return ""
    W, H, m = 360, 360, 40
    sx = lambda x: m + x * (W - 2 * m)  # noqa: E731
    sy = lambda y: H - m - y * (H - 2 * m)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" '
        'aria-label="Lorenz curve of access time">',
        f'<rect x="{m}" y="{m}" width="{W - 2 * m}" height="{H - 2 * m}" fill="none" stroke="#999"/>',
        f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    colours = {"township": "#1f77b4", "village": "#d62728"}
    for i, (level, g) in enumerate(lorenz.groupby("level", sort=False)):
        pts = " ".join(
            f"{sx(p):.1f},{sy(t):.1f}"
            for p, t in zip(g["population_share"], g["time_share"], strict=True)
        )
        col = colours.get(level, "#2ca02c")
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
        label = f"{level}s (Gini {ginis.get(level, math.nan):.3f})"
        parts.append(
            f'<text x="{m + 8}" y="{m + 18 + 16 * i}" fill="{col}" font-size="12">{html.escape(label)}</text>'
        )
    parts.append(
        f'<text x="{W / 2}" y="{H - 8}" font-size="11" text-anchor="middle">cumulative share of residents '
        "(units by mean time, shortest first)</text>"
    )
    parts.append(
        f'<text x="12" y="{H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 {H / 2})">'
        "cumulative share of travel time</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def compliance_html(report: ComplianceReport) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; no scripts, no CDN)."""
    esc = html.escape
    s = report.settings.set_index("key")["value"]
    out = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>Standards compliance: {esc(report.dataset_name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Standards compliance report: {esc(report.dataset_name)}</h1>",
    ]
    if report.synthetic:
        out.append(
            '<p class="note"><strong>Synthetic demo data</strong> (示范县 does not exist): an example of the '
            "report, not a real place.</p>"
        )
    out.append(
        f"<p>Mode <b>{esc(str(s.get('mode', '')))}</b>, threshold <b>{report.rules_used.coverage_minutes:g} min</b>, "
        f"population {esc(str(s.get('population', '')))}, {esc(str(s.get('facilities_counted', '')))} facilities, "
        f"planner {esc(str(s.get('planner_version', '')))}.</p>"
    )
    out.append("<h2>Rules</h2>")
    out.append(
        _html_table(
            report.rules,
            ["rule", "title", "text", "status", "passed", "failed", "not_assessed", "summary"],
        )
    )
    out.append("<h2>Failures and what would fix them</h2>")
    for rule in range(1, 9):
        f = report.failures[report.failures["rule"] == rule]
        if len(f):
            out.append(f"<h3>Rule {rule}: {esc(RULE_TITLES[rule])} ({len(f)} failing)</h3>")
            out.append(
                _html_table(
                    f, ["check", "admin_name", "population", "value", "target", "detail", "fix"]
                )
            )
    na = report.checks[report.checks["status"] == NA]
    if len(na):
        out.append("<h2>Not assessed</h2>")
        out.append(
            _html_table(na.drop_duplicates(["check", "detail"]), ["check", "admin_name", "detail"])
        )
    out.append(
        "<h2>Equity</h2><p>Travel time to the nearest facility (minutes), population-weighted quantiles:</p>"
    )
    out.append(_html_table(report.travel_times))
    ginis = {
        r.group: r.value for r in report.equity[report.equity["metric"] == "gini"].itertuples()
    }
    out.append(_lorenz_svg(report.lorenz, ginis))
    out.append(_html_table(report.equity))
    if len(report.proposals):
        out.append("<h2>Proposed sites</h2>")
        out.append(
            _html_table(
                report.proposals,
                [
                    "site_id",
                    "tier",
                    "township_name",
                    "village_name",
                    "newly_covered_population",
                    "floor_area_m2",
                    "addresses",
                ],
            )
        )
    out.append("<h2>Admin units</h2>")
    out.append(_html_table(report.units))
    out.append("<details><summary>All checks</summary>")
    out.append(_html_table(report.checks, _CHECK_VIEW))
    out.append("</details><details><summary>Villages (rule 5)</summary>")
    out.append(_html_table(report.villages))
    out.append("</details><details><summary>Facilities (rule 8)</summary>")
    out.append(_html_table(report.facilities))
    out.append("</details><h2>Settings</h2>")
    out.append(_html_table(report.settings))
    out.append("</body></html>")
    return "\n".join(out)


#: Excel sheet name -> report attribute (one sheet per table).
SHEETS = {
    "rules": "rules",
    "failures": "failures",
    "checks": "checks",
    "units": "units",
    "villages": "villages",
    "facilities": "facilities",
    "proposals": "proposals",
    "travel_times": "travel_times",
    "lorenz": "lorenz",
    "equity": "equity",
    "settings": "settings",
}


def _excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            v = out[c].to_numpy(float)
            out[c] = np.where(np.isfinite(v), v, np.nan)
    return out


def write_compliance(
    report: ComplianceReport, out_dir: str | Path, formats: Sequence[str] = FORMATS
) -> dict[str, Path]:
    """Write ``compliance.xlsx`` (one sheet per table), ``compliance.html`` (self-contained) and
    ``compliance.md`` into ``out_dir``; return ``{format: path}``.

    Raises
    ------
    InputError
        An unknown format.
    """
    fmts = [formats] if isinstance(formats, str) else list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise InputError(
            f"unknown report format(s) {bad or fmts}. Fix: use some of {', '.join(FORMATS)}."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if "xlsx" in fmts:
        p = out / "compliance.xlsx"
        with pd.ExcelWriter(p, engine="openpyxl") as xw:
            for sheet, attr in SHEETS.items():
                df = _excel_safe(getattr(report, attr))
                df.to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                ws.freeze_panes = "A2"
                for i, c in enumerate(df.columns, start=1):
                    width = max([len(str(c))] + [len(str(v)) for v in df[c].head(200)]) + 2
                    ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
                        60, width
                    )
        written["xlsx"] = p
    if "html" in fmts:
        p = out / "compliance.html"
        p.write_text(compliance_html(report), encoding="utf-8")
        written["html"] = p
    if "md" in fmts:
        p = out / "compliance.md"
        p.write_text(compliance_markdown(report), encoding="utf-8")
        written["md"] = p
    log.info("wrote %s", ", ".join(str(p) for p in written.values()))
    return written
