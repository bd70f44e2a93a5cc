"""The standards table of the app: one row per unit and rule, drawn from :mod:`planner.compliance`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..pipeline import CoverageResult, Dataset
from ..standards import PRIMARY_TIERS, Rules
from ._common import unit_trees

# ---------------------------------------------------------------------------------------------
# Standards (shared/docs/standards.md)
# ---------------------------------------------------------------------------------------------

#: The rules the standards table checks: label, requirement and source (zh / en).
RULES: dict[str, dict[str, str]] = {
    "R1": {
        "zh": "15分钟医疗服务圈",
        "en": "15-minute medical service circle",
        "req_zh": "每位居民{minutes:g}分钟内到达基层医疗卫生机构（全县及每个乡镇/街道）",
        "req_en": "every resident within {minutes:g} min of primary care (county and each township/subdistrict)",
        "source": "standards rule 1: 城区15分钟医疗服务圈 (Kaifeng 2023–2025 plan; Qingdao 2024 draft)",
    },
    "R2a": {
        "zh": "每个街道一个社区卫生服务中心",
        "en": "A community health center per subdistrict",
        "req_zh": "街道内至少1个社区卫生服务中心",
        "req_en": "at least 1 center in each subdistrict",
        "source": "standards rule 2 (Qingdao 2024 draft; Zhengzhou Erqi 2018)",
    },
    "R2b": {
        "zh": "每中心服务人口上限",
        "en": "Residents per community health center",
        "req_zh": "人口超过10万的街道：每10万人1个中心",
        "req_en": "a subdistrict over 100,000 residents: one center per 100,000",
        "source": "standards rule 2 (Qingdao 2024 draft: 30,000–100,000 residents per center)",
    },
    "R3": {
        "zh": "每个社区一个社区卫生服务站",
        "en": "A community health station per community",
        "req_zh": "每个社区至少1个社区卫生服务站（或中心）",
        "req_en": "at least 1 station (or center) in each community",
        "source": "standards rule 3 (Kaifeng 2023–2025 plan)",
    },
    "R4": {
        "zh": "每个乡镇一所乡镇卫生院",
        "en": "A township health center per township",
        "req_zh": "每个镇/乡至少1所乡镇卫生院",
        "req_en": "at least 1 township health center in each town/township",
        "source": "standards rule 4 (Qingdao 2024 draft; Baoding)",
    },
    "R5": {
        "zh": "每个行政村一个村卫生室",
        "en": "A village clinic per administrative village",
        "req_zh": "每个行政村至少1个村卫生室（按名称或位置）；相邻村的卫生室{minutes:g}分钟内可达本村至少一半居民时记为“共享”",
        "req_en": "at least 1 clinic in each village (by name or location); shared when a clinic of an "
        "adjacent village reaches at least half its residents within {minutes:g} min",
        "source": "standards rule 5 (Baoding; Kaifeng 2023–2025 plan)",
    },
    "RF": {
        "zh": "每个基层医疗卫生机构服务人口",
        "en": "Residents per primary-care facility",
        "req_zh": "参考值：村医每千人1–1.5名；全科医生每万人4名",
        "req_en": "reference: 1–1.5 village doctors per 1,000; 4 GPs per 10,000 residents",
        "source": "standards rule 8 (Qingdao 2024 draft)",
    },
}
STATUS = ("met", "shared", "missing", "info")
#: The standards' default values (frozen, so one shared instance is safe as a default).
DEFAULT_RULES = Rules()


def figure_text(rule: str, value: float) -> str:
    """A rule's figure for a table cell: a share in per cent (R1), residents otherwise, and
    "–" when there is none (a unit or county without residents: never "nan %")."""
    if _missing(value):
        return "–"
    return f"{100 * value:.1f} %" if rule == "R1" else f"{value:,.0f}"


def rule_text(rule: str, lang: str, *, minutes: float) -> tuple[str, str]:
    """(label, requirement) of a rule in ``lang`` (``zh`` or ``en``)."""
    r = RULES[rule]
    return r[lang], r[f"req_{lang}"].format(minutes=minutes)


def facility_units(
    facilities: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame | None, *, trees: dict | None = None
) -> pd.DataFrame:
    """Admin code of each facility at each level (``<level>_code``, "" outside), by position."""
    out = pd.DataFrame(index=pd.RangeIndex(len(facilities)))
    if boundaries is None or len(boundaries) == 0 or len(facilities) == 0:
        return out
    geo = facilities.geometry
    pts = (
        geo if geo.crs is None or geo.crs.equals(boundaries.crs) else geo.to_crs(boundaries.crs)
    ).values
    for level, (tree, unit_codes) in (
        trees if trees is not None else unit_trees(boundaries)
    ).items():
        codes = np.full(len(pts), "", dtype=object)
        ip, iu = tree.query(pts, predicate="within")
        first = np.unique(ip, return_index=True)[1]
        codes[ip[first]] = unit_codes[iu[first]]
        out[f"{level}_code"] = codes
    return out


def _units(boundaries: gpd.GeoDataFrame, level: str) -> list[tuple[str, str, str]]:
    u = boundaries[boundaries["level"] == level]
    kinds = u["kind"].astype(str).tolist() if "kind" in u.columns else [""] * len(u)
    return list(
        zip(
            u["admin_code"].astype(str).tolist(),
            u["admin_name"].astype(str).tolist(),
            kinds,
            strict=True,
        )
    )


def _demand_codes(result: CoverageResult, level: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(unique codes, index of each demand unit's code) at ``level``."""
    col = f"{level}_code"
    if result.demand is None or col not in result.demand.columns:
        return None
    codes, inverse = np.unique(
        result.demand[col].astype(str).to_numpy(dtype=object), return_inverse=True
    )
    return codes, inverse


def _counts(codes: np.ndarray, tiers: np.ndarray, wanted: Sequence[str]) -> dict[str, int]:
    sel = np.isin(tiers, list(wanted)) & (codes != "")
    vals, n = np.unique(codes[sel].astype(str), return_counts=True)
    return dict(zip(vals.tolist(), n.tolist(), strict=True))


#: App status of a compliance check status (``shared``: rule 5 villages sharing a neighbour's clinic).
_STATUS_OF = {"pass": "met", "fail": "missing", "not assessed": "info"}


def standards_units(
    dataset: Dataset,
    result: CoverageResult,
    *,
    extra_facilities: gpd.GeoDataFrame | None = None,
    minutes_after: np.ndarray | None = None,
    rules: Rules = DEFAULT_RULES,
) -> pd.DataFrame:
    """Every unit checked against every rule of :data:`RULES`, as the app's tables show it.

    The rules are decided by :func:`planner.compliance.standards_checks` (the engine of the
    compliance report, so the app and ``planner report`` agree unit by unit); this only
    reshapes its lines. Facilities are the whole register ``dataset.facilities`` plus
    ``extra_facilities`` (proposed sites, column ``tier``); ``minutes_after`` (a what-if) replaces
    ``result.demand['minutes']``.

    Returns
    -------
    DataFrame
        ``rule, level, admin_code, admin_name, kind, population, value, count, required, status``
        where ``rule`` is ``R`` + the report's check id (``R1``, ``R2a``, ``R2b``, ``R3``, ``R4``,
        ``R5``) or ``RF`` (residents per primary-care facility, information only), ``value`` the
        share of residents within the time (R1), residents per center (R2a, R2b, RF), the share a
        shared clinic reaches (R5 ``shared``) or NaN, ``count`` the facilities that count,
        ``required`` how many the rule asks for, and ``status`` one of ``met``, ``shared``,
        ``missing``, ``info`` (not assessed, e.g. a unit without residents).
    """
    from .. import compliance

    cols = [
        "rule",
        "level",
        "admin_code",
        "admin_name",
        "kind",
        "population",
        "value",
        "count",
        "required",
        "status",
    ]
    b = dataset.boundaries
    if b is None or len(b) == 0:
        return pd.DataFrame(columns=cols)
    fac = dataset.facilities
    if extra_facilities is not None and len(extra_facilities):
        extra = extra_facilities.to_crs(fac.crs) if fac.crs is not None else extra_facilities
        keep = [c for c in ("facility_id", "name", "tier", "geometry") if c in extra.columns]
        fac = gpd.GeoDataFrame(
            pd.concat([fac, extra[keep]], ignore_index=True), geometry="geometry", crs=fac.crs
        )
    sc = compliance.standards_checks(
        result, rules=rules, facilities=fac, demand_minutes=minutes_after
    )
    ch = sc.checks[(sc.checks["admin_code"] != "") & (sc.checks["rule"] <= 5)]
    check = ch["check"].astype(str).to_numpy(dtype=object)
    value = ch["value"].to_numpy(float)
    pop = ch["population"].to_numpy(float)
    status = ch["status"].map(_STATUS_OF).fillna("info").to_numpy(dtype=object)
    is_r1 = check == "1"
    count = np.where(is_r1, np.nan, value)
    required = np.where(is_r1, np.nan, ch["target"].to_numpy(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_center = np.where(count > 0, pop / count, np.nan)
    shown = np.where(is_r1, value, np.where(np.isin(check, ["2a", "2b"]), per_center, np.nan))
    if len(sc.villages):
        v = sc.villages.set_index("admin_code")
        shared = (
            (check == "5")
            & (status == "met")
            & (ch["admin_code"].map(v["status"]).to_numpy(dtype=object) == "shared")
        )
        status[shared] = "shared"
        shown = np.where(shared, ch["admin_code"].map(v["shared_share"]).to_numpy(float), shown)
    out = pd.DataFrame(
        {
            "rule": "R" + ch["check"].astype(str).to_numpy(dtype=object),
            "level": ch["level"].to_numpy(dtype=object),
            "admin_code": ch["admin_code"].to_numpy(dtype=object),
            "admin_name": ch["admin_name"].to_numpy(dtype=object),
            "kind": ch["kind"].to_numpy(dtype=object),
            "population": pop,
            "value": shown,
            "count": count,
            "required": required,
            "status": status,
        }
    )
    # RF, information only: residents per primary-care facility standing in each township
    twn = ch[is_r1 & (ch["level"] == "township").to_numpy()]
    placed = sc.facilities
    if len(twn) and "township_code" in placed.columns:
        prim = placed[placed["tier"].astype(str).isin(list(PRIMARY_TIERS))]
        n = prim.groupby(prim["township_code"].astype(str)).size()
        k = twn["admin_code"].map(n).fillna(0).to_numpy(float)
        p = twn["population"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(k > 0, p / k, np.nan)
        rf = pd.DataFrame(
            {
                "rule": "RF",
                "level": "township",
                "admin_code": twn["admin_code"].to_numpy(dtype=object),
                "admin_name": twn["admin_name"].to_numpy(dtype=object),
                "kind": twn["kind"].to_numpy(dtype=object),
                "population": p,
                "value": per,
                "count": k,
                "required": np.nan,
                "status": "info",
            }
        )
        out = pd.concat([out, rf], ignore_index=True)
    order = {r: i for i, r in enumerate(RULES)}
    out = out[out["rule"].isin(list(RULES))]
    out = out.sort_values("rule", key=lambda s: s.map(order), kind="stable")
    return out.reset_index(drop=True)[cols]


def standards_summary(
    units: pd.DataFrame,
    dataset: Dataset,
    result: CoverageResult,
    *,
    minutes_after: np.ndarray | None = None,
    rules: Rules = DEFAULT_RULES,
) -> pd.DataFrame:
    """One row per rule: ``rule, units, met, shared, missing, share_met, figure``.

    ``figure`` is the rule's county-wide number: the share of all residents within the time
    (R1), residents per community health center in the subdistricts (R2a, R2b), residents per
    primary-care facility (RF); NaN otherwise.
    """
    rule_col = units["rule"].to_numpy(dtype=object)
    status = units["status"].to_numpy(dtype=object)
    count = units["count"].to_numpy(float)
    popu = units["population"].to_numpy(float)
    rows = []
    for rule in RULES:
        sel = rule_col == rule
        if not sel.any():
            continue
        st = status[sel]
        met, shared, missing = (int((st == s).sum()) for s in ("met", "shared", "missing"))
        judged = met + shared + missing
        figure = float("nan")
        demand = result.demand
        if rule == "R1" and demand is not None:
            pop = demand["population"].to_numpy(float)
            mins = (
                demand["minutes"].to_numpy(float)
                if minutes_after is None
                else np.asarray(minutes_after)
            )
            figure = (
                float(pop[mins <= rules.coverage_minutes + 1e-9].sum() / pop.sum())
                if pop.sum()
                else figure
            )
        elif rule in ("R2a", "R2b", "RF"):
            n = count[sel].sum()
            figure = float(popu[sel].sum() / n) if n else figure
        rows.append(
            {
                "rule": rule,
                "units": int(sel.sum()),
                "met": met,
                "shared": shared,
                "missing": missing,
                "share_met": (met + shared) / judged if judged else float("nan"),
                "figure": figure,
            }
        )
    return pd.DataFrame(
        rows, columns=["rule", "units", "met", "shared", "missing", "share_met", "figure"]
    )


def standards_change(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Rule by rule: met/missing and the county figure before and after, and the changes."""
    b = before.set_index("rule")
    a = after.set_index("rule").reindex(b.index)
    out = pd.DataFrame(
        {
            "rule": b.index,
            "met_before": (b["met"] + b["shared"]).to_numpy(),
            "met_after": (a["met"] + a["shared"]).to_numpy(),
            "missing_before": b["missing"].to_numpy(),
            "missing_after": a["missing"].to_numpy(),
            "figure_before": b["figure"].to_numpy(),
            "figure_after": a["figure"].to_numpy(),
        }
    )
    out["met_change"] = out["met_after"] - out["met_before"]
    out["figure_change"] = out["figure_after"] - out["figure_before"]
    return out


def changed_units(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Units whose status, facility count or (R1) share changed: ``rule, admin_code,
    admin_name, status_before, status_after, count_before, count_after, value_before,
    value_after`` (rule RF, a figure only, left out)."""
    cols = [
        "rule",
        "admin_code",
        "admin_name",
        "status_before",
        "status_after",
        "count_before",
        "count_after",
        "value_before",
        "value_after",
    ]
    key = ["rule", "admin_code"]
    if len(before) == len(after) and (before[key].to_numpy() == after[key].to_numpy()).all():
        m = before.rename(columns={c: f"{c}_before" for c in ("status", "count", "value")})
        for c in ("status", "count", "value"):
            m[f"{c}_after"] = after[c].to_numpy()
    else:
        m = before.merge(
            after.drop(columns=["admin_name"]), on=key, suffixes=("_before", "_after"), how="outer"
        )
    s0, s1 = m["status_before"].to_numpy(dtype=object), m["status_after"].to_numpy(dtype=object)
    c0, c1 = m["count_before"].to_numpy(float), m["count_after"].to_numpy(float)
    v0, v1 = m["value_before"].to_numpy(float), m["value_after"].to_numpy(float)
    rule = m["rule"].to_numpy(dtype=object)
    changed = (s0 != s1) | ~np.isclose(c0, c1, equal_nan=True)
    changed |= (rule == "R1") & ~np.isclose(v0, v1, equal_nan=True, rtol=0, atol=1e-9)
    changed &= rule != "RF"
    return m.loc[changed, cols].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Readable cells: thousands separators, per cent, "–" for nothing (never None or nan)
# ---------------------------------------------------------------------------------------------

_NONE = "–"


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA:
        return True
    try:
        return not np.isfinite(float(v))
    except (TypeError, ValueError):
        return True


def count_text(v: Any) -> str:
    """A count for a table cell: ``"1,234"``, ``"–"`` when there is none.

    Examples
    --------
    >>> count_text(1234.4), count_text(None), count_text(float("nan"))
    ('1,234', '–', '–')
    """
    return _NONE if _missing(v) else f"{float(v):,.0f}"


def percent_text(share: Any) -> str:
    """A share (0-1) as per cent for a table cell: ``"87.5 %"``, ``"–"`` when there is none.

    Examples
    --------
    >>> percent_text(0.875), percent_text(None)
    ('87.5 %', '–')
    """
    return _NONE if _missing(share) else f"{100 * float(share):.1f} %"


def value_text(rule: str, v: Any) -> str:
    """A unit's value under ``rule``: a share in per cent (R1), residents otherwise."""
    return percent_text(v) if rule == "R1" else count_text(v)


#: Columns of :func:`standards_display`, in order (the app titles them ``col_<name>``).
DISPLAY_COLUMNS = (
    "rule",
    "requirement",
    "units",
    "met",
    "shared",
    "missing",
    "compliance",
    "figure",
    "source",
)


def standards_display(
    summary: pd.DataFrame, lang: str, *, minutes: float = DEFAULT_RULES.coverage_minutes
) -> pd.DataFrame:
    """The standards summary (:func:`standards_summary`) as text a person reads: counts with
    thousands separators, compliance and R1's figure in per cent, "–" where there is nothing
    to show (never None, nan or "nan %"). Columns :data:`DISPLAY_COLUMNS`.

    Examples
    --------
    >>> s = pd.DataFrame({"rule": ["R1"], "units": [1200], "met": [1000], "shared": [0],
    ...     "missing": [200], "share_met": [1000 / 1200], "figure": [0.8112]})
    >>> standards_display(s, "en").iloc[0][["units", "compliance", "figure"]].tolist()
    ['1,200', '83.3 %', '81.1 %']
    """
    rows = []
    for r in summary.itertuples():
        label, req = rule_text(r.rule, lang, minutes=minutes)
        rows.append(
            {
                "rule": f"{r.rule} {label}",
                "requirement": req,
                "units": count_text(r.units),
                "met": count_text(r.met),
                "shared": count_text(r.shared),
                "missing": count_text(r.missing),
                "compliance": percent_text(r.share_met),
                "figure": figure_text(r.rule, r.figure),
                "source": RULES[r.rule]["source"],
            }
        )
    return pd.DataFrame(rows, columns=list(DISPLAY_COLUMNS))
