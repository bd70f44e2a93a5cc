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

from .core import ComplianceReport, StandardsChecks, compliance_report, standards_checks
from .equity import gini, lorenz_curve, weighted_quantile
from .rules import CHECK_COLUMNS, FORMATS, RULE_TITLES, load_rules, rules_from_dict
from .write import (
    SHEETS,
    compliance_html,
    compliance_lines,
    compliance_markdown,
    summary_lines,  # noqa: F401 - deprecated name of compliance_lines, kept importable
    write_compliance,
)

__all__ = [
    "CHECK_COLUMNS",
    "FORMATS",
    "RULE_TITLES",
    "SHEETS",
    "ComplianceReport",
    "StandardsChecks",
    "compliance_html",
    "compliance_lines",
    "compliance_markdown",
    "compliance_report",
    "gini",
    "load_rules",
    "lorenz_curve",
    "rules_from_dict",
    "standards_checks",
    "weighted_quantile",
    "write_compliance",
]
