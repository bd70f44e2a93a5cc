"""The checks of rules 6-8 (README: "Is the county meeting the standards?"): the rules counted
elsewhere, township centres, facilities' staff and the clinics each serves."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass

from ._context import _Context, _line
from ._text import msg, pop_text, tier
from .rules import _STAFF_COLUMNS, _TOWNSHIP_KINDS, FAIL, PASS

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
