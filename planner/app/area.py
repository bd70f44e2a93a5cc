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
from typing import Any

import numpy as np
import shapely

from .. import basemaps, coverage, scenario
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
        admin_summary=summary_like(dem, result),
        uncovered=coverage.uncovered_areas(
            dem, boundaries=result.boundaries, crs=result.network.crs
        ),
    )
    return share_attachment(result, out)


def area_mask(
    result: CoverageResult,
    *,
    admin_codes: Iterable[str] = (),
    polygon: shapely.Geometry | None = None,
) -> np.ndarray:
    """Which demand units of ``result`` are inside the study area (:func:`planner.scenario.area_mask`:
    the library's, which a saved scenario's run uses too)."""
    return scenario.area_mask(result, admin_codes=admin_codes, polygon=polygon)


def restrict(
    result: CoverageResult,
    *,
    admin_codes: Iterable[str] = (),
    polygon: shapely.Geometry | None = None,
) -> CoverageResult:
    """``result`` counting only the residents inside the study area: the library's
    :func:`planner.scenario.restrict` (what ``Scenario.analyze`` gives for a saved study
    area), reusing ``result``'s join of the demand to the network (no new join per area).
    Without any restriction, ``result`` itself."""
    out = scenario.restrict(result, admin_codes=admin_codes, polygon=polygon)
    if out is result or result.demand is None or out.demand is None:
        return out
    index = result.demand.index
    if not index.is_unique:  # the rows cannot be told apart: the derived result joins anew
        return out
    return share_attachment(result, out, index.get_indexer(out.demand.index))


def polygon_from_clicks(points: Iterable[tuple[float, float]]) -> shapely.Polygon:
    """A study boundary from the corners clicked (or drawn) on the map (``(lon, lat)``, in
    order): :func:`planner.scenario.boundary_polygon`.

    Raises
    ------
    InputError
        With fewer than three corners, or when the edges cross.
    """
    return scenario.boundary_polygon(points)


def drawn_boundary(feature: Any, *, datum: str = "wgs84") -> tuple[tuple[float, float], ...]:
    """The corners (``(lon, lat)`` WGS-84, rounded to 1e-6°, about 0.1 m) of a study boundary
    drawn with the map's draw tool: the GeoJSON feature ``streamlit_folium`` returns in
    ``all_drawings``, in the map's ``datum`` (on an Amap base map, GCJ-02: shifted back
    like a click).

    Raises
    ------
    InputError
        When the drawing is not a polygon, has fewer than three corners or crosses itself.
    """
    geom = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(geom, dict) or geom.get("type") != "Polygon" or not geom.get("coordinates"):
        raise InputError(
            "the drawing is not a polygon. Fix: draw the study boundary with the polygon or "
            "rectangle tool."
        )
    try:
        ring = np.asarray(geom["coordinates"][0], dtype=float)[:, :2]
    except (TypeError, ValueError, IndexError):
        raise InputError(
            "the drawing has no readable corners. Fix: draw the study boundary again."
        ) from None
    lon, lat = basemaps.from_display(ring[:, 0], ring[:, 1], datum=datum)
    corners = tuple(
        (round(float(x), 6), round(float(y), 6))
        for x, y in zip(np.atleast_1d(lon), np.atleast_1d(lat), strict=True)
    )
    if len(corners) > 1 and corners[0] == corners[-1]:
        corners = corners[:-1]  # GeoJSON closes the ring; the corners do not repeat
    scenario.boundary_polygon(corners)  # raises: too few corners, crossing edges
    return corners
