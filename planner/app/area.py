"""Views of one coverage result without a new search: another threshold, a study area.

The times to the nearest facility depend on the mode and the facilities, not on the
threshold: :func:`at_minutes` turns a result into the result at another threshold by
filtering those times (what :func:`planner.analyze` would compute, without its search), so the
app's minutes slider answers at once. :func:`restrict` keeps only the residents inside a study
area (admin units picked, or a drawn polygon).

>>> import planner
>>> from planner.app.area import at_minutes, restrict
>>> r15 = planner.analyze(planner.load_demo(), isochrone_minutes=None)      # doctest: +SKIP
>>> r10 = at_minutes(r15, 10)                                                # doctest: +SKIP
>>> r10.covered_population <= r15.covered_population                         # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import coverage
from .._errors import InputError
from ..pipeline import CoverageResult
from .edits import share_attachment, summary_like


def at_minutes(result: CoverageResult, minutes: float) -> CoverageResult:
    """``result`` at the threshold ``minutes``: the same times, ``covered``, the admin summary
    and the uncovered areas recomputed (no search)."""
    m = float(minutes)
    if m == float(result.settings.minutes):
        return result
    settings = dataclasses.replace(result.settings, minutes=m)  # validates m > 0
    if result.demand is None:
        return dataclasses.replace(result, settings=settings)
    dem = result.demand.copy()
    dem["covered"] = dem["minutes"].to_numpy(float) <= m + 1e-9  # as coverage.coverage_table
    out = dataclasses.replace(
        result,
        settings=settings,
        isochrones=None,
        demand=dem,
        admin_summary=_summary(dem, result, None),
        uncovered=coverage.uncovered_areas(
            dem, boundaries=result.boundaries, crs=result.network.crs
        ),
    )
    return share_attachment(result, out)


def _summary(
    dem: gpd.GeoDataFrame, result: CoverageResult, keep_codes: set[str] | None
) -> pd.DataFrame | None:
    """The admin summary of ``dem``: the rows of ``result``'s summary, or (a study area) the
    units with residents inside and the units picked."""
    if result.admin_summary is None:
        return None
    if keep_codes is None:
        return summary_like(dem, result)
    s = coverage.admin_summary(dem, result.boundaries)
    codes = s["admin_code"].astype(str)
    inside = (s["population"].to_numpy(float) > 0) | codes.isin(keep_codes).to_numpy()
    return s[inside & (codes != "").to_numpy()].reset_index(drop=True)


def area_mask(
    result: CoverageResult,
    *,
    admin_codes: Iterable[str] = (),
    polygon: shapely.Geometry | None = None,
) -> np.ndarray:
    """Which demand units of ``result`` are inside the study area: in one of ``admin_codes``
    (townships or villages, any level) and inside ``polygon`` (lon/lat, EPSG:4326), each when
    given."""
    dem = result.demand
    if dem is None:
        raise InputError("a study area needs population. Fix: load a population file.")
    keep = np.ones(len(dem), dtype=bool)
    codes = {str(c) for c in admin_codes}
    if codes:
        cols = [c for c in dem.columns if c.endswith("_code")]
        if not cols:
            raise InputError("picking admin units needs boundaries. Fix: load a boundaries file.")
        inside = np.zeros(len(dem), dtype=bool)
        for c in cols:
            inside |= dem[c].astype(str).isin(codes).to_numpy()
        keep &= inside
    if polygon is not None:
        if polygon.is_empty or not polygon.is_valid:
            raise InputError(
                "the study boundary is empty or crosses itself. Fix: draw it again, "
                "clicking the corners in order."
            )
        pts = coverage.demand_points(dem)
        if pts.crs is not None and not pts.crs.equals("EPSG:4326"):
            pts = pts.to_crs("EPSG:4326")
        keep &= shapely.contains_xy(polygon, shapely.get_x(pts.values), shapely.get_y(pts.values))
    return keep


def restrict(
    result: CoverageResult,
    *,
    admin_codes: Iterable[str] = (),
    polygon: shapely.Geometry | None = None,
) -> CoverageResult:
    """``result`` counting only the residents inside the study area (see :func:`area_mask`).

    The demand, the admin summary (units with residents inside, and the units picked) and the
    uncovered areas are restricted; the facilities and the network stay whole (residents
    inside may be served from outside). Without any restriction, ``result`` itself.
    """
    codes = {str(c) for c in admin_codes}
    if not codes and polygon is None:
        return result
    mask = area_mask(result, admin_codes=codes, polygon=polygon)
    assert result.demand is not None  # area_mask raised otherwise
    if not mask.any():
        raise InputError(
            "nobody lives inside the study area. Fix: pick other units or draw a larger boundary."
        )
    dem = result.demand[mask]
    out = dataclasses.replace(
        result,
        demand=dem,
        admin_summary=_summary(dem, result, codes),
        uncovered=coverage.uncovered_areas(
            dem, boundaries=result.boundaries, crs=result.network.crs
        ),
    )
    return share_attachment(result, out, np.flatnonzero(mask))


def polygon_from_clicks(points: Iterable[tuple[float, float]]) -> shapely.Polygon:
    """A study boundary from the corners clicked on the map (``(lon, lat)``, in order).

    Raises
    ------
    InputError
        With fewer than three corners, or when the edges cross.
    """
    pts = [(float(x), float(y)) for x, y in points]
    if len(pts) < 3:
        raise InputError(
            f"a study boundary needs at least 3 corners, got {len(pts)}. Fix: click more corners."
        )
    poly = shapely.Polygon(pts)
    if not poly.is_valid or poly.area <= 0:
        raise InputError(
            "the study boundary crosses itself. Fix: clear it and click the corners in order "
            "around the area."
        )
    return poly
