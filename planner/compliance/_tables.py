"""The report's tables: rule summary, units, proposals, settings."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass

from ._context import _Context, _fmt_pop
from ._text import MODE_ZH, TIER_ZH, Msg, msg
from .equity import _group_unit_shares
from .rules import FAIL, NA, PASS, RULE_TITLES

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _rule_title(rule: int, lang: str) -> str:
    from ..i18n import COMPLIANCE_RULE_TITLES

    return COMPLIANCE_RULE_TITLES[rule][0] if lang == "zh" else RULE_TITLES[rule]


def _rule_summary(checks: pd.DataFrame, texts: dict[int, str], lang: str = "en") -> pd.DataFrame:
    """One row per rule; ``checks`` hold ``detail`` in ``lang`` (the summary quotes it)."""
    rows = []
    sep = msg("sep").render(lang)
    for rule in range(1, 9):
        c = checks[checks["rule"] == rule]
        n_pass = int((c["status"] == PASS).sum())
        n_fail = int((c["status"] == FAIL).sum())
        n_na = int((c["status"] == NA).sum())
        status = FAIL if n_fail else PASS if n_pass else NA
        if status == NA:
            summary = sep.join(
                _na_summary(check, g, lang) for check, g in c.groupby("check", sort=True)
            )
        else:
            by = c[c["status"] != NA].groupby("check")["status"]
            parts = []
            for check, s in by:
                f = int((s == FAIL).sum())
                m = msg("sum_pass", check=check, ok=len(s) - f, n=len(s))
                parts.append((m + msg("sum_fail", f=f) if f else m).render(lang))
            summary = sep.join(parts)
            if n_na:
                summary += msg("sum_na", n=n_na).render(lang)
        rows.append(
            {
                "rule": rule,
                "title": _rule_title(rule, lang),
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


def _na_summary(check: str, lines: pd.DataFrame, lang: str = "en") -> str:
    """One phrase for the not-assessed lines of a check: the reason, or the range of the number."""
    from ._text import METRIC_ZH

    details = list(dict.fromkeys(lines["detail"].astype(str)))
    if len(details) == 1:
        return msg("sum_reason", check=check, reason=details[0]).render(lang)
    v = lines["value"].to_numpy(float)
    v = v[np.isfinite(v)]
    tails = {d.rsplit(msg("sep").render(lang), 1)[-1] for d in details}
    reason: Msg | str = msg("sum_tail", tail=tails.pop()) if len(tails) == 1 else ""
    if len(v):
        metric = str(lines["metric"].iloc[0])
        metric = METRIC_ZH.get(metric, metric) if lang == "zh" else metric
        m = msg(
            "sum_range",
            check=check,
            metric=metric,
            lo=v.min(),
            hi=v.max(),
            n=len(lines),
            reason=reason,
        )
        return m.render(lang)
    return msg("sum_lines", check=check, n=len(lines), reason=reason).render(lang)


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
    out["addresses"] = _addresses(out, checks)
    for c in cols:
        if c not in out.columns:
            out[c] = math.nan if c in ("newly_covered_population", "floor_area_m2") else ""
    return out[cols + [c for c in out.columns if c not in cols]].reset_index(drop=True)


def _addresses(sites: pd.DataFrame, checks: pd.DataFrame, lang: str = "en") -> list[str]:
    """Per proposed site, the failing rule 1-5 lines of the units it stands in."""
    fails = checks[checks["status"] == FAIL]
    sep = msg("sep").render(lang)
    addr = []
    for s in sites.itertuples():
        hits = []
        for level in ("township", "village"):
            code = getattr(s, f"{level}_code", "")
            if code:
                f = fails[(fails["admin_code"] == code) & (fails["rule"] <= 5)]
                hits += [
                    msg("address", check=c, name=n).render(lang)
                    for c, n in zip(f["check"], f["admin_name"], strict=True)
                ]
        addr.append(sep.join(dict.fromkeys(hits)))
    return addr


_SHARED_METHOD = (
    "network query: travel times from the village's residents to clinics in it and "
    "adjacent villages, analysis mode, within coverage_minutes"
)

#: The settings' descriptions in Chinese, ``{key: {English value: Chinese}}``.
_SETTINGS_ZH: dict[str, dict[str, str]] = {
    "synthetic": {
        "yes: synthetic demo data, not a real place": "是：合成示范数据，非真实地区",
        "no": "否",
    },
    "population": {"none loaded": "未载入"},
    "proposals": {"none": "无"},
    "match_clinics_by_name": {"True": "是", "False": "否"},
    "shared_clinic_method": {
        _SHARED_METHOD: "路网查询：按本次分析的出行方式，计算本村居民到本村及相邻村卫生室的出行时间，"
        "以 coverage_minutes 为限"
    },
}


def _settings_values(settings: pd.DataFrame, lang: str) -> list[str]:
    """The settings table's values in ``lang`` (descriptions, modes and tiers; codes kept)."""
    if lang != "zh":
        return settings["value"].tolist()
    out = []
    for key, value in zip(settings["key"], settings["value"], strict=True):
        v = str(value)
        if key in _SETTINGS_ZH:
            v = _SETTINGS_ZH[key].get(v, v)
        elif key == "mode":
            v = {"ebike": "电动自行车"}.get(v, MODE_ZH.get(v, v))
        elif key == "tiers":
            v = "、".join(TIER_ZH.get(t, t) for t in v.split(", ") if t)
        out.append(v)
    return out


def _settings_table(
    ctx: _Context, by_name: bool, max_m: float, min_share: float, target: float
) -> pd.DataFrame:
    from .. import __version__

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
        ("shared_clinic_method", _SHARED_METHOD),
    ]
    for k, v in ctx.rules.to_dict().items():
        rows.append((f"rules.{k}", str(v)))
    return pd.DataFrame(rows, columns=["key", "value"])
