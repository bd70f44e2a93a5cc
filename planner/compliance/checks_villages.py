"""The check of rule 5 (README: "Is the county meeting the standards?"): a village clinic in every
administrative village, matched by place or by name, clinics shared between villages."""

from __future__ import annotations

import functools
import math
from collections import Counter
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    pass

from ._context import _Context, _line
from ._text import mode, msg, pop_text
from .checks import _not_counted
from .equity import weighted_quantile
from .rules import FAIL, PASS

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
