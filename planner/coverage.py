"""Who is covered: per demand unit, per administrative unit, and the uncovered areas.

The functions here take the demand units (from :func:`planner.load.read_population`), the
travel times from :func:`planner.access.nearest_facility` and the boundaries
(:func:`planner.load.read_boundaries`), and are pure: the same inputs give the same tables.

Examples
--------
>>> import planner                                             # doctest: +SKIP
>>> result = planner.analyze(planner.load_demo(), minutes=15)  # doctest: +SKIP
>>> result.admin_summary.query("level == 'township'")          # doctest: +SKIP
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError

log = logging.getLogger(__name__)

LEVELS = ("province", "city", "county", "township", "village")
OUTSIDE = "(outside boundaries)"

#: Population groups (residents aged 65+, under 5, ...) are extra numeric columns of the demand
#: units named ``pop_<group>``: a subset of ``population`` in every unit, carried through every
#: stage beside the total (:func:`population_groups`).
GROUP_PREFIX = "pop_"


def group_name(label: str) -> str:
    """The canonical name of a population group: ``"65+"``, ``"pop_65plus"`` and ``"65plus"`` are
    all ``"65plus"`` (``+`` is spelled ``plus``; other characters but letters, digits and ``_`` dropped).

    >>> group_name("65+"), group_name("pop_Under5")
    ('65plus', 'under5')
    """
    import re

    g = str(label).strip().lower().replace("+", "plus")
    if g.startswith(GROUP_PREFIX):
        g = g[len(GROUP_PREFIX) :]
    return re.sub(r"[^0-9a-z_]+", "", g)


def population_groups(frame: pd.DataFrame | None) -> list[str]:
    """The population groups of a demand frame: names ``g`` of its numeric ``pop_<g>`` columns,
    in column order (empty without any)."""
    if frame is None:
        return []
    return [
        str(c)[len(GROUP_PREFIX) :]
        for c in frame.columns
        if isinstance(c, str)
        and c.startswith(GROUP_PREFIX)
        and len(c) > len(GROUP_PREFIX)
        and pd.api.types.is_numeric_dtype(frame[c])
    ]


def group_weights(demand: pd.DataFrame, group: str | None) -> np.ndarray:
    """Residents of one group per demand unit (``group=None``: everyone, the ``population`` column).

    Raises
    ------
    InputError
        The demand units have no such group (the groups present are named).
    """
    if group is None:
        return demand["population"].to_numpy(dtype=float)
    g = group_name(group)
    have = population_groups(demand)
    if g not in have:
        raise InputError(
            f"weight={group!r}: the population has no group {g!r} (a column {GROUP_PREFIX}{g}); groups present: "
            f"{', '.join(have) or 'none'}. Fix: pass one of them, or load a population with that group "
            "(read_population(..., groups={...}))."
        )
    return np.nan_to_num(demand[f"{GROUP_PREFIX}{g}"].to_numpy(dtype=float))


def group_coverage(demand: pd.DataFrame) -> pd.DataFrame:
    """Covered residents of the whole population and of each group (exact sums).

    Returns
    -------
    DataFrame
        ``group`` ("total" first, then each group), ``population``, ``covered_population``,
        ``covered_share`` (NaN for an empty group).
    """
    import math

    cov = demand["covered"].to_numpy(dtype=bool)
    rows = []
    for g in [None, *population_groups(demand)]:
        w = group_weights(demand, g)
        tot, c = math.fsum(w), math.fsum(w[cov])
        rows.append(
            {
                "group": "total" if g is None else g,
                "population": tot,
                "covered_population": c,
                "covered_share": c / tot if tot > 0 else np.nan,
            }
        )
    return pd.DataFrame(
        rows, columns=["group", "population", "covered_population", "covered_share"]
    )


def demand_points(demand: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The location of each demand unit: a point on the surface of its footprint."""
    geom = demand.geometry
    if (geom.geom_type == "Point").all():
        return geom
    return gpd.GeoSeries(shapely.point_on_surface(geom.values), index=demand.index, crs=demand.crs)


def assign_admin(demand: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Admin code of every demand unit at every level present in ``boundaries``.

    Returns a DataFrame indexed like ``demand`` with one column ``<level>_code`` per level
    ("" where the unit lies outside every polygon of that level).
    """
    out = pd.DataFrame(index=demand.index)
    if boundaries is None or len(boundaries) == 0:
        return out
    pts = gpd.GeoDataFrame(geometry=demand_points(demand).to_crs(boundaries.crs))
    pts["_row"] = np.arange(len(pts))
    for level in [lv for lv in LEVELS if lv in set(boundaries["level"])]:
        units = boundaries.loc[
            boundaries["level"] == level, ["admin_code", "admin_name", "geometry"]
        ]
        units = units.reset_index(
            drop=True
        )  # index_right below is the unit's position in file order
        joined = gpd.sjoin(pts, units[["admin_code", "geometry"]], how="left", predicate="within")
        # Overlapping units of one level (digitising errors, or two editions of a township): a
        # resident inside several goes to the first of them in the boundaries' row order.
        joined = joined.sort_values(["_row", "index_right"], kind="stable")
        first = ~joined["_row"].duplicated(keep="first")
        if not first.all():
            _warn_overlaps(demand, joined, units, level)
        joined = joined[first.to_numpy()]
        out[f"{level}_code"] = joined["admin_code"].fillna("").astype(str).to_numpy()
    return out


def _warn_overlaps(
    demand: gpd.GeoDataFrame, joined: pd.DataFrame, units: pd.DataFrame, level: str
) -> None:
    """Warn naming the overlapping units of one level and the residents in the overlaps."""
    import warnings

    from ._errors import InputWarning

    rows = joined["_row"].to_numpy()
    multi = joined[pd.Series(rows).duplicated(keep=False).to_numpy()]
    pop = (
        demand["population"].to_numpy(float)
        if "population" in demand.columns
        else np.ones(len(demand))
    )
    groups = multi.groupby("_row")["index_right"].agg(lambda v: tuple(sorted(int(i) for i in v)))
    per_set = (
        pd.Series(pop[groups.index.to_numpy()]).groupby(groups.to_numpy()).agg(["sum", "size"])
    )
    per_set = per_set.sort_values("sum", ascending=False)

    def unit(i: int) -> str:
        return f"{units.at[i, 'admin_code']} '{units.at[i, 'admin_name']}'"

    parts = [
        f"{' and '.join(unit(i) for i in key)}: {row['sum']:,.0f} residents ({int(row['size'])} demand units), "
        f"counted in {units.at[key[0], 'admin_code']} only"
        for key, row in per_set.head(5).iterrows()
    ]
    more = len(per_set) - 5
    warnings.warn(
        f"{level} units overlap, and {per_set['sum'].sum():,.0f} residents lie in more than one of them: "
        + "; ".join(parts)
        + (f"; and {more} more overlaps" if more > 0 else "")
        + ". Each is counted in the first of its units in the boundaries' order. Fix: correct the "
        "boundaries so that units of one level do not overlap",
        InputWarning,
        stacklevel=4,
    )


def coverage_table(
    demand: gpd.GeoDataFrame,
    time_s: np.ndarray,
    nearest: np.ndarray,
    *,
    minutes: float,
    facility_ids: np.ndarray | None = None,
    admin: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Demand units with their time to the nearest facility and a covered flag.

    Columns added: ``minutes`` (to the nearest facility, inf if none reachable),
    ``nearest_facility`` (id, "" if none), ``covered`` (minutes <= threshold), ``reachable``
    (joined to the road network), and the admin codes from :func:`assign_admin`.
    """
    if len(time_s) != len(demand):
        raise InputError(f"{len(time_s)} travel times for {len(demand)} demand units.")
    out = demand.copy()
    mins = np.asarray(time_s, dtype=float) / 60.0
    out["minutes"] = mins
    ids = (
        np.asarray(facility_ids)
        if facility_ids is not None
        else np.arange(int(np.max(nearest, initial=-1)) + 1)
    )
    near = np.asarray(nearest)
    out["nearest_facility"] = np.where(
        near >= 0, ids[np.clip(near, 0, None)].astype(str) if len(ids) else "", ""
    )
    out["covered"] = mins <= float(minutes) + 1e-9
    if admin is not None:
        for c in admin.columns:
            out[c] = admin[c].to_numpy()
    return out


def admin_summary(
    table: pd.DataFrame,
    boundaries: gpd.GeoDataFrame | None,
    *,
    population: str = "population",
) -> pd.DataFrame:
    """Population covered and not covered per admin unit, at every level.

    Every unit of ``boundaries`` gets a row (zero population if nobody lives there); demand
    outside every unit of a level is summed in a row named "(outside boundaries)", so covered +
    uncovered equals the total at every level.

    Returns
    -------
    DataFrame
        ``admin_code, admin_name, level, kind, parent_code, population, covered_population,
        uncovered_population, covered_share, mean_minutes`` (population-weighted mean of the
        finite times), ``no_facility_in_piece_population`` (residents joined to a piece of the
        road network that holds no facility, from the table's ``no_facility_in_piece`` column;
        NaN when the table has none), ordered by level then code; then, for every population
        group ``g`` of the table (:func:`population_groups`), ``population_<g>,
        covered_population_<g>, covered_share_<g>`` over the same rows.
    """
    pop = table[population].to_numpy(dtype=float)
    cov = table["covered"].to_numpy(dtype=bool)
    # residents of road pieces without any facility: part of the uncovered, named apart because
    # no new threshold helps them, only a facility (or a missing road) in their piece
    if "no_facility_in_piece" in table.columns:
        lonely = pop * table["no_facility_in_piece"].to_numpy(dtype=bool)
    else:
        lonely = np.full(len(pop), np.nan)
    mins = table["minutes"].to_numpy(dtype=float)
    finite = np.isfinite(mins)
    known = "no_facility_in_piece" in table.columns
    rows = []
    levels = [lv for lv in LEVELS if f"{lv}_code" in table.columns]
    if boundaries is None or not levels:
        rows.append(_row("", "all", "all", "", "", pop, cov, mins, finite, lonely))
    else:
        for level in levels:
            codes = table[f"{level}_code"].astype(str).to_numpy()
            units = boundaries.loc[boundaries["level"] == level]
            df = pd.DataFrame(
                {
                    "code": codes,
                    "pop": pop,
                    "cov": pop * cov,
                    "wt": np.where(finite, pop * np.where(finite, mins, 0), 0.0),
                    "wpop": np.where(finite, pop, 0.0),
                    "lonely": lonely,
                }
            )
            agg = df.groupby("code", sort=False)[["pop", "cov", "wt", "wpop", "lonely"]].sum()
            for u in units.itertuples(index=False):
                a = agg.loc[u.admin_code] if u.admin_code in agg.index else None
                rows.append(
                    _agg_row(
                        u.admin_code,
                        u.admin_name,
                        level,
                        getattr(u, "kind", ""),
                        getattr(u, "parent_code", ""),
                        a,
                        known,
                    )
                )
            if "" in agg.index and agg.loc[""]["pop"] > 0:
                rows.append(_agg_row("", OUTSIDE, level, "", "", agg.loc[""], known))
    out = pd.DataFrame(rows)
    out["uncovered_population"] = out["population"] - out["covered_population"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["covered_share"] = np.where(
            out["population"] > 0, out["covered_population"] / out["population"], np.nan
        )
    cols = [
        "admin_code",
        "admin_name",
        "level",
        "kind",
        "parent_code",
        "population",
        "covered_population",
        "uncovered_population",
        "covered_share",
        "mean_minutes",
        "no_facility_in_piece_population",
    ]
    cols += _add_group_columns(out, table, cov, levels if boundaries is not None else [])
    order = {lv: i for i, lv in enumerate(LEVELS + ("all",))}
    out["_o"] = out["level"].map(order)
    return out.sort_values(["_o", "admin_code"], kind="stable")[cols].reset_index(drop=True)


def _add_group_columns(
    out: pd.DataFrame, table: pd.DataFrame, cov: np.ndarray, levels: list[str]
) -> list[str]:
    """Add ``population_<g>, covered_population_<g>, covered_share_<g>`` per population group to
    the summary rows ``out`` (in place; the same units and "(outside boundaries)" rows as the
    total) and return the new column names."""
    added: list[str] = []
    for g in population_groups(table):
        gp = group_weights(table, g)
        p_col, c_col, s_col = f"population_{g}", f"covered_population_{g}", f"covered_share_{g}"
        out[p_col] = 0.0
        out[c_col] = 0.0
        if not levels:  # one row for everything
            out[p_col] = float(gp.sum())
            out[c_col] = float(gp[cov].sum())
        for level in levels:
            codes = table[f"{level}_code"].astype(str).to_numpy()
            agg = (
                pd.DataFrame({"code": codes, "p": gp, "c": gp * cov})
                .groupby("code", sort=False)[["p", "c"]]
                .sum()
            )
            rows = (out["level"] == level).to_numpy()
            code = out.loc[rows, "admin_code"].astype(str)
            out.loc[rows, p_col] = code.map(agg["p"]).fillna(0.0).to_numpy(float)
            out.loc[rows, c_col] = code.map(agg["c"]).fillna(0.0).to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s_col] = np.where(out[p_col] > 0, out[c_col] / out[p_col], np.nan)
        added += [p_col, c_col, s_col]
    return added


def _agg_row(code, name, level, kind, parent, a, known: bool):
    if a is None:
        p = c = wt = wp = lonely = 0.0
    else:
        p, c, wt, wp = float(a["pop"]), float(a["cov"]), float(a["wt"]), float(a["wpop"])
        lonely = float(np.nan_to_num(a["lonely"]))
    return {
        "admin_code": code,
        "admin_name": name,
        "level": level,
        "kind": kind or "",
        "parent_code": parent or "",
        "population": p,
        "covered_population": c,
        "mean_minutes": wt / wp if wp > 0 else np.nan,
        "no_facility_in_piece_population": lonely if known else np.nan,
    }


def _row(code, name, level, kind, parent, pop, cov, mins, finite, lonely):
    wp = pop[finite].sum()
    return {
        "admin_code": code,
        "admin_name": name,
        "level": level,
        "kind": kind,
        "parent_code": parent,
        "population": float(pop.sum()),
        "covered_population": float(pop[cov].sum()),
        "mean_minutes": float((pop[finite] * mins[finite]).sum() / wp) if wp > 0 else np.nan,
        "no_facility_in_piece_population": float(lonely.sum()),
    }


def uncovered_areas(
    table: gpd.GeoDataFrame,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    crs=None,
    min_population: float = 0.0,
) -> gpd.GeoDataFrame:
    """Uncovered residential areas: footprints of uncovered demand units dissolved into
    contiguous polygons, ranked by the population living in them.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``rank, population, area_km2, mean_minutes`` (finite times only; NaN if nobody there can
        reach a facility), ``unreachable_population`` (no facility at all reachable),
        ``pop_<group>`` per population group of the table and, when
        boundaries are given, ``township_code, township_name, village_code, village_name`` of the
        unit holding most of the area's population.
    """
    unc = table.loc[~table["covered"].to_numpy(dtype=bool) & (table["population"].to_numpy() > 0)]
    cols = ["rank", "population", "area_km2", "mean_minutes", "unreachable_population"]
    if len(unc) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs="EPSG:4326")
    metric = crs or unc.estimate_utm_crs()
    geoms = unc.geometry.to_crs(metric).values
    if (shapely.get_type_id(geoms) == 0).all():  # points: no footprint, use 50 m squares
        geoms = shapely.buffer(geoms, 50, cap_style="square")
    try:
        merged = shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        merged = shapely.union_all(geoms)
    merged = shapely.union_all(shapely.get_parts(merged))  # heal touching parts
    parts = shapely.get_parts(merged)
    tree = shapely.STRtree(parts)
    pts = shapely.point_on_surface(geoms)
    hit_pt, hit_part = tree.query(pts, predicate="within")
    part_of = np.full(len(pts), -1)
    part_of[hit_pt] = hit_part
    if (part_of < 0).any():  # a point on a boundary: nearest part
        miss = np.flatnonzero(part_of < 0)
        part_of[miss] = tree.query_nearest(pts[miss], all_matches=False)[1]
    pop = unc["population"].to_numpy(dtype=float)
    mins = unc["minutes"].to_numpy(dtype=float)
    fin = np.isfinite(mins)
    k = len(parts)
    ppop = np.bincount(part_of, weights=pop, minlength=k)
    wt = np.bincount(part_of, weights=np.where(fin, pop * np.where(fin, mins, 0), 0), minlength=k)
    wp = np.bincount(part_of, weights=np.where(fin, pop, 0), minlength=k)
    unreach = np.bincount(part_of, weights=np.where(fin, 0, pop), minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(wp > 0, wt / wp, np.nan)
    out = gpd.GeoDataFrame(
        {
            "population": ppop,
            "area_km2": shapely.area(parts) / 1e6,
            "mean_minutes": mean,
            "unreachable_population": unreach,
        },
        geometry=parts,
        crs=metric,
    )
    for g in population_groups(unc):  # the old and the young living in each area, too
        out[f"{GROUP_PREFIX}{g}"] = np.bincount(part_of, weights=group_weights(unc, g), minlength=k)
    for level in ("township", "village"):
        col = f"{level}_code"
        if col in unc.columns:
            df = pd.DataFrame({"part": part_of, "code": unc[col].to_numpy(), "pop": pop})
            top = (
                df.groupby(["part", "code"])["pop"]
                .sum()
                .reset_index()
                .sort_values(["part", "pop"], ascending=[True, False])
                .drop_duplicates("part")
            )
            code = (
                pd.Series(top["code"].to_numpy(), index=top["part"].to_numpy())
                .reindex(range(k))
                .fillna("")
            )
            out[col] = code.to_numpy()
            if boundaries is not None:
                names = boundaries.set_index("admin_code")["admin_name"]
                names = names[~names.index.duplicated()]
                out[f"{level}_name"] = code.map(names).fillna("").to_numpy()
    out = out[out["population"] > min_population]
    out = out.sort_values("population", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.to_crs("EPSG:4326")
