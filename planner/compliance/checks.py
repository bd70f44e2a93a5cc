"""The checks of rules 1-8, one function per rule (README: "Is the county meeting the standards?")."""

from __future__ import annotations

import functools
import logging
import math
from collections import Counter
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..standards import TIER_LABELS

if TYPE_CHECKING:
    pass

from ._context import _Context, _line, _pct
from ._text import EMPTY, Msg, Term, mode, msg, pop_text, tier
from .equity import weighted_quantile
from .rules import _STAFF_COLUMNS, _TOWNSHIP_KINDS, FAIL, PASS

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
    from .. import access, siting

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
        return [_line(5, "5", detail=msg("rule_off", flag="clinic_per_village"))]
    if ctx.boundaries is None:
        return [_line(5, "5", detail=msg("no_boundaries"))]
    if not ctx.counted("village_clinic"):
        return _not_counted(5, "5", "village_clinic")
    if not len(vil):
        return [
            _line(
                5,
                "5",
                detail=msg("r5_no_village"),
            )
        ]
    mins = r.coverage_minutes
    mode_code = ctx.result.settings.mode
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
            detail = msg("r5_own", ids=v["own_clinic_ids"])
            if v["own_clinic_outside"]:
                detail += msg("r5_outside")
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
            detail = msg(
                "r5_shared",
                clinic=v["shared_with"],
                village=v["shared_with_village"],
                share=100 * v["shared_share"],
                mins=mins,
                mode=mode(mode_code),
                med=v["shared_minutes"],
            )
            ok = r.villages_may_share_clinic
            fix = msg("r5_shared_fix", name=v["admin_name"])
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
        detail = msg("r5_none")
        if v["clinics_inside"]:
            detail += msg("r5_inside", n=v["clinics_inside"])
        if np.isfinite(best):
            detail += msg("r5_best", share=100 * best, mins=mins)
        elif not (v["population"] > 0):
            detail += msg("r5_no_residents")
        fix = msg("r5_fix", name=v["admin_name"], pop=pop_text(v["population"]))
        if v["shared_with"] and r.villages_may_share_clinic:
            fix += msg("r5_link", clinic=v["shared_with"], share=100 * v["shared_share"], mins=mins)
        if props:
            fix += msg("proposed_there", props=props)
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
        return [_line(6, "6", detail=msg("rule_off", flag="plan_facility_with_new_housing"))]
    return [_line(6, "6", detail=msg("r6_needs_layer"))]


def _rule7(ctx: _Context) -> list[dict]:
    r = ctx.rules
    p = ctx.proposals
    if p is None or not len(p):
        return [_line(7, "7", detail=msg("r7_no_proposals"))]
    if "floor_area_m2" not in p.columns:
        return [
            _line(
                7,
                "7",
                detail=msg("r7_no_area"),
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
        label = msg("r7_label", tier=tier(s["tier"]), site=s["site_id"])
        if not np.isfinite(need):
            rows.append(
                _line(
                    7,
                    "7",
                    unit=u,
                    metric="floor area m2",
                    value=area,
                    detail=msg("r7_no_rule", label=label),
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
                    detail=msg("r7_unknown", label=label),
                    proposals=s["site_id"],
                )
            )
            continue
        ok = area >= need
        detail = msg("r7_detail", label=label, area=area, need=need)
        fix = msg("r7_fix", need=need, site=s["site_id"])
        if s["tier"] == "community_center" and "beds" in s:
            beds = pd.to_numeric(pd.Series([s["beds"]]), errors="coerce").iloc[0]
            if np.isfinite(beds):
                detail += msg("r7_beds", beds=beds, min=r.min_beds_community_center)
                if beds < r.min_beds_community_center:
                    ok = False
                    fix += msg("r7_beds_fix", min=r.min_beds_community_center)
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
            msg("no_population")
            if res.demand is None
            else msg("r8_no_towns")
            if not len(towns)
            else msg("r8_tc_not_analysed")
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
                        detail=msg("r8a_none"),
                    )
                )
                continue
            per = u["population"] / k
            need_lo, need_hi = u["population"] * s_lo / 1000, u["population"] * s_hi / 1000
            detail = msg("r8a_detail", per=per, k=k, lo=need_lo, hi=need_hi, s_lo=s_lo, s_hi=s_hi)
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
                        detail=detail + msg("r8a_counted", tot=tot),
                        fix=msg("r8a_fix", n=math.ceil(need_lo - tot), name=u["admin_name"]),
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
                        detail=detail + msg("r8a_no_staff"),
                    )
                )
    # 8b: village doctors, over all administrative villages
    v_lo, v_hi = r.village_doctors_per_1000
    if res.demand is None or not len(vil):
        rows.append(_line(8, "8b", detail=msg("r8b_none")))
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
        largest = float(vc["unit_residents_per_facility"].max()) if len(vc) else math.nan
        detail = msg(
            "r8b_detail",
            k=k,
            p=p,
            per=pop_text(per),
            largest=pop_text(largest),
            lo=p * v_lo / 1000,
            hi=p * v_hi / 1000,
        )
        if k:
            detail += msg("r8b_per_clinic", a=per * v_lo / 1000, b=per * v_hi / 1000)
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
                    fix=msg("r8b_fix", n=math.ceil(need - have.sum())),
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
                    detail=detail + msg("r8b_no_staff"),
                )
            )
    # 8c: general practitioners
    if res.demand is None:
        rows.append(_line(8, "8c", detail=msg("no_population")))
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
                    detail=msg("r8c_detail", have=have, p=p, need=need),
                    fix=msg("r8c_fix", n=math.ceil(need - have)),
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
                    detail=msg("r8c_need", p=p, need=need, g=r.gp_per_10000),
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
