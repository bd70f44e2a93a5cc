"""Equity of access: weighted quantiles, Lorenz curves, Gini, per group."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass

from ._context import _Context
from .rules import _TOWNSHIP_KINDS

log = logging.getLogger(__name__)


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
    from ..coverage import group_weights, population_groups

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
    from ..coverage import group_weights, population_groups

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
