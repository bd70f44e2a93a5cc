"""The checks of rules 1-4, one function per rule (README: "Is the county meeting the standards?");
rule 5 is in :mod:`.checks_villages`, rules 6-8 in :mod:`.checks_facilities`."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from ..standards import TIER_LABELS

if TYPE_CHECKING:
    pass

from ._context import _Context, _line, _pct
from ._text import EMPTY, Msg, Term, msg, pop_text, tier
from .rules import _TOWNSHIP_KINDS, FAIL, PASS

log = logging.getLogger(__name__)


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
                detail=msg("r1_no_population"),
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
                    detail=msg("r1_no_residents"),
                )
            )
            continue
        share = c / p
        out = p - c
        ok = share >= target - 1e-12
        detail = msg("r1_detail", c=c, p=p, pct=_pct(share), mins=mins, out=out)
        fix: Msg = EMPTY
        props: Msg = EMPTY
        if not ok:
            fix = msg("r1_fix", n=out - (1 - target) * p, mins=mins)
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


def _largest_area_text(a: dict) -> Msg:
    where = a.get("village_name", "") or a.get("township_name", "")
    mm = (
        msg("r1_unreachable")
        if not np.isfinite(a["mean_minutes"])
        else msg("r1_mean", m=a["mean_minutes"])
    )
    return msg("r1_largest", pop=a["population"], where=where, area=a["area_km2"], mm=mm)


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
) -> tuple[Msg, Msg]:
    """The rest of a failing unit's fix (where the gap is, what the proposals do) and its sites."""
    code, level = u["admin_code"], u["level"]
    fix: Msg = EMPTY
    props: Msg = EMPTY
    if level == "township":
        a = largest.get(code)
        if a is not None:
            fix += _largest_area_text(a)
        props = ctx.proposals_in(code, "township")
        if after is not None:
            gain = after.get(("township", code), 0.0)
            share = 100 * (covered + gain) / residents
            fix += msg("r1_with_proposals", share=share, gain=gain)
            if props:
                fix += msg("r1_from_sites", props=props)
    elif after is not None and ctx.proposal_eval is not None:
        gain = ctx.proposal_eval.newly_covered_population
        fix += msg("r1_with_proposals", share=100 * (covered + gain) / residents, gain=gain)
    elif n_groups > 1:
        fix += msg("r1_see_townships")
    elif unc is not None and len(unc):
        a0 = unc.iloc[0]
        fix += msg("r1_areas", n=len(unc), pop=a0["population"], area=a0["area_km2"])
    return fix, props


# --------------------------------------------------------------------------------------------
# Rules 2-4: centers, stations, township health centers
# --------------------------------------------------------------------------------------------


def _not_counted(rule: int, check: str, tier_code: str) -> list[dict]:
    label = TIER_LABELS.get(tier_code, {}).get("en", tier_code)
    return [
        _line(
            rule,
            check,
            detail=msg("not_counted", label=Term(label, tier(tier_code).zh), tier=tier_code),
        )
    ]


def _rule2(ctx: _Context) -> list[dict]:
    r = ctx.rules
    if ctx.boundaries is None:
        return [
            _line(2, "2a", detail=msg("no_boundaries")),
            _line(2, "2b", detail=msg("no_boundaries")),
        ]
    subs = ctx.units("township", ["subdistrict"])
    if not len(subs):
        why = msg("r2_no_subdistrict")
        return [_line(2, "2a", detail=why), _line(2, "2b", detail=why)]
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
                    detail=msg("rule_off", flag="center_per_subdistrict"),
                )
            )
        else:
            fix = msg("r2a_fix", name=u["admin_name"])
            if props:
                fix += msg("proposed_there", props=props)
            rows.append(
                _line(
                    2,
                    "2a",
                    unit=u,
                    metric="community health centers",
                    value=k,
                    target=1,
                    status=PASS if k >= 1 else FAIL,
                    detail=msg("r2a_detail", k=k, name=u["admin_name"]),
                    fix=fix,
                    proposals=props,
                )
            )
    # 2b: population per center
    large = subs[subs["population"] > hi]
    if not np.isfinite(subs["population"]).any():
        rows.append(_line(2, "2b", detail=msg("no_population")))
        return rows
    for u in large.to_dict("records"):
        k = int(n.get(u["admin_code"], 0))
        need = max(1, math.ceil(u["population"] / hi))
        props = ctx.proposals_in(u["admin_code"], "township")
        extra = need - k
        ok = k >= need
        e_lo, e_hi = r.extra_centers_large_subdistrict
        fix = msg(
            "r2b_fix",
            extra=extra,
            s="s" if extra > 1 else "",
            name=u["admin_name"],
            pop=u["population"],
            hi=hi,
        )
        if u["population"] > r.large_subdistrict_residents:
            fix += msg(
                "r2b_large",
                large=r.large_subdistrict_residents,
                lo=e_lo,
                hi=e_hi,
                st=int(stations.get(u["admin_code"], 0)),
            )
        if props:
            fix += msg("proposed_there", props=props)
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
                    msg(
                        "r2b_detail",
                        pop=u["population"],
                        k=k,
                        per=pop_text(u["population"] / k),
                        lo=lo,
                        hi=hi,
                    )
                    if k
                    else msg("r2b_detail_none", pop=u["population"], k=k, lo=lo, hi=hi)
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
                detail=msg("r2b_pass", hi=hi),
            )
        )
    return rows


def _rule3(ctx: _Context) -> list[dict]:
    r = ctx.rules
    if not r.station_per_community:
        return [_line(3, "3", detail=msg("rule_off", flag="station_per_community"))]
    if ctx.boundaries is None:
        return [_line(3, "3", detail=msg("no_boundaries"))]
    comms = ctx.units("village", ["community"])
    if not len(comms):
        return [_line(3, "3", detail=msg("r3_no_community"))]
    if not ctx.counted("community_station"):
        return _not_counted(3, "3", "community_station")
    st = ctx.count(["community_station"], "village")
    ce = ctx.count(["community_center"], "village")
    thr = r.station_min_residents
    rows: list[dict] = []
    for u in comms.to_dict("records"):
        k_st, k_ce = int(st.get(u["admin_code"], 0)), int(ce.get(u["admin_code"], 0))
        required = thr is None or (np.isfinite(u["population"]) and u["population"] >= thr)
        detail = msg("r3_detail", k_st=k_st, k_ce=k_ce, name=u["admin_name"])
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
                    detail=detail + msg("r3_below", thr=thr),
                )
            )
            continue
        props = ctx.proposals_in(u["admin_code"], "village")
        fix = msg("r3_fix", name=u["admin_name"])
        if props:
            fix += msg("proposed_there", props=props)
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
        return [_line(4, "4", detail=msg("rule_off", flag="township_center_per_township"))]
    if ctx.boundaries is None:
        return [_line(4, "4", detail=msg("no_boundaries"))]
    towns = ctx.units("township", _TOWNSHIP_KINDS)
    if not len(towns):
        return [
            _line(
                4,
                "4",
                detail=msg("r4_no_town"),
            )
        ]
    if not ctx.counted("township_center"):
        return _not_counted(4, "4", "township_center")
    n = ctx.count(["township_center"], "township")
    rows = []
    for u in towns.to_dict("records"):
        k = int(n.get(u["admin_code"], 0))
        props = ctx.proposals_in(u["admin_code"], "township")
        fix = msg("r4_fix", name=u["admin_name"])
        if props:
            fix += msg("proposed_there", props=props)
        rows.append(
            _line(
                4,
                "4",
                unit=u,
                metric="township health centers",
                value=k,
                target=1,
                status=PASS if k >= 1 else FAIL,
                detail=msg("r4_detail", k=k, name=u["admin_name"]),
                fix=fix,
                proposals=props,
            )
        )
    return rows
