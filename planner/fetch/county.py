"""``fetch``: a county's data folder from a name, a code or a boundary, each part downloaded or given.

Part of :mod:`planner.fetch`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .. import load
from .._constants import MODE_NAMES
from .._errors import InputError
from .downloads import (
    fetch_boundary,
    fetch_facilities,
    fetch_population,
    fetch_population_groups,
    fetch_roads,
    fetch_units,
)
from .parts import (
    DEFAULT_GROUPS,
    OSM_NOTE,
    FetchError,
    FetchWarning,
    age_sex_urls,
    assemble,
    coordinate_system_from_name,
    halo_area,
    halo_m,
    population_table,
    read_boundary,
)

logger = logging.getLogger("planner.fetch")


@dataclass
class _Parts:
    boundary: gpd.GeoDataFrame | None = None
    roads: Any = None
    facilities: gpd.GeoDataFrame | None = None
    population: Path | None = None
    population_table: pd.DataFrame | None = None
    groups: dict[str, list[Path]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def fetch(
    out: str | Path,
    *,
    place: str | None = None,
    boundary: str | Path | gpd.GeoDataFrame | None = None,
    admin_code: str | None = None,
    roads: str | Path | gpd.GeoDataFrame | None = None,
    facilities: str | Path | pd.DataFrame | None = None,
    population: str | Path | None = None,
    population_column: str | None = None,
    modes: Sequence[str] = MODE_NAMES,
    minutes: float = 15.0,
    year: int = 2020,
    resolution: str = "100m",
    boundary_crs: Any = None,
    facilities_crs: Any = None,
    progress: bool = True,
    groups: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write a data folder for ``planner coverage --data``: download what is not given.

    Parameters
    ----------
    out : str or Path
        The folder to write.
    place : str, optional
        A name the geocoder knows (``"莲池区, 保定市, 河北省"``).
    boundary : str, Path or GeoDataFrame, optional
        The boundary instead of the geocoder (:func:`read_boundary`).
    admin_code : str, optional
        Division code: finds the OSM relation by ``ref:admin:CN`` when neither ``place`` nor
        ``boundary`` is given; labels a boundary that has no code.
    roads : optional
        Road lines or an OSM file instead of the download.
    facilities : optional
        Your facility register (any file :func:`planner.read_facilities` reads) instead of OSM's.
    population : str or Path, optional
        A population raster, or a table of residents per administrative code (census, 统计年鉴;
        ``population_column`` names its column, e.g. ``"Pop_2010"``), instead of WorldPop.
    modes, minutes : the analyses the roads must serve; they size the halo (:func:`halo_m`).
    year, resolution : WorldPop year and ``"100m"``/``"1km"``.
    boundary_crs, facilities_crs : coordinate systems of the given files (e.g. ``"gcj02"``).
    progress : bool
        Progress bars for downloads.
    groups : sequence of str, optional
        Population groups to add from WorldPop's age/sex layers (``"65+"``, ``"under5"``;
        :data:`WORLDPOP_AGE_GROUPS`), summed and clipped beside the 100 m population raster so
        ``planner coverage --data`` reports coverage per group. ``None`` (default):
        :data:`DEFAULT_GROUPS` when the population is WorldPop's 100 m download, none when it is
        given (``population=``) or 1 km; ``()`` for none. A default group whose layers cannot be
        downloaded is left out with a :class:`FetchWarning` naming it (the total population and
        the other groups are written; ``sources.json`` records it under
        ``population_groups.missing``); a group asked for by name is a failure like any other
        part (:class:`FetchError`, after everything else is written).

    Returns
    -------
    dict
        What :func:`assemble` wrote.

    Raises
    ------
    FetchError
        Some part could not be downloaded; the rest is written and ``missing`` lists the
        parameters that supply the missing parts (the message says how).
    """
    t0 = time.perf_counter()
    parts = _Parts()
    if boundary is not None:
        parts.boundary = read_boundary(boundary, admin_code=admin_code, crs=boundary_crs)
        crs_note = boundary_crs or (
            coordinate_system_from_name(boundary) if isinstance(boundary, (str, Path)) else None
        )
        parts.sources["boundary"] = {
            "source": str(boundary) if isinstance(boundary, (str, Path)) else "given frame",
            **({"converted_from": crs_note} if crs_note else {}),
        }
    elif place is None and admin_code is None:
        raise InputError(
            "fetch: pass place=, boundary= or admin_code=. Fix: name the county, e.g. "
            "place='莲池区, 保定市, 河北省'."
        )
    else:
        try:
            parts.boundary = fetch_boundary(place=place, admin_code=admin_code, progress=progress)
            parts.sources["boundary"] = {
                "source": "OpenStreetMap administrative relation via osmnx",
                "query": place or f"ref:admin:CN={admin_code}",
            }
            try:  # townships: welcome, not required
                parts.boundary = fetch_units(parts.boundary, progress=progress)
                parts.sources["boundary"]["townships"] = int(
                    (parts.boundary["level"] == "township").sum()
                )
            except (FetchError, InputError) as exc:
                logger.warning(
                    "townships of the county not fetched (%s); the county alone is used", exc
                )
        except FetchError as exc:
            parts.failures["boundary"] = str(exc)
    if parts.boundary is None:
        raise FetchError(_failure_text(parts.failures, out), missing=["boundary"])

    h = halo_m(modes, minutes)
    area = halo_area(parts.boundary, h)
    settings = {"modes": list(modes), "minutes": float(minutes), "halo_m": round(h, 1)}
    if roads is not None:
        parts.roads = roads
        parts.sources["roads"] = {
            "source": str(roads) if isinstance(roads, (str, Path)) else "given frame",
            "clipped_to": f"boundary + {h / 1000:.1f} km halo",
            **settings,
        }
    else:
        try:
            parts.roads = fetch_roads(area, progress=progress)
            parts.sources["roads"] = {
                "source": "OpenStreetMap via osmnx (network_type='all')",
                "licence": "ODbL",
                "area": f"boundary + {h / 1000:.1f} km halo",
                **settings,
            }
        except FetchError as exc:
            parts.failures["roads"] = str(exc)
    if facilities is not None:
        parts.facilities = load.read_facilities(facilities, crs=facilities_crs)
        parts.sources["facilities"] = {
            "source": str(facilities) if isinstance(facilities, (str, Path)) else "given frame"
        }
    else:
        try:
            parts.facilities = fetch_facilities(area, progress=progress)
            parts.sources["facilities"] = {
                "source": "OpenStreetMap via osmnx (amenity=hospital|clinic|doctors, healthcare=*)",
                "licence": "ODbL",
                "count": len(parts.facilities),
                "note": OSM_NOTE,
            }
        except FetchError as exc:
            parts.failures["facilities"] = str(exc)
    if population is not None:
        from ..popspread import looks_like_population_table

        if looks_like_population_table(population):
            parts.population_table = population_table(
                population, parts.boundary, population_column=population_column
            )
            parts.sources["population"] = {
                "source": str(population),
                "column": population_column or "auto",
                "spread": "over the roads inside each unit when loaded",
            }
        else:
            parts.population = Path(population)
            parts.sources["population"] = {"source": str(population), "clipped_to": "halo"}
    else:
        try:
            parts.population, info = fetch_population(
                area, year=year, resolution=resolution, progress=progress
            )
            parts.sources["population"] = info | {"clipped_to": "halo"}
        except FetchError as exc:
            parts.failures["population"] = str(exc)
    chosen, explicit = _chosen_groups(groups, population=population, resolution=resolution)
    if chosen:
        _fetch_groups(parts, chosen, year=year, progress=progress, explicit=explicit)

    written = assemble(
        out,
        boundary=parts.boundary,
        roads=parts.roads,
        facilities=parts.facilities,
        population=parts.population,
        population_table=parts.population_table,
        area=area,
        sources=parts.sources | {"settings": settings},
        population_groups=parts.groups or None,
    )
    logger.info("fetch: wrote %s in %.1f s", out, time.perf_counter() - t0)
    if parts.failures:
        raise FetchError(
            _failure_text(parts.failures, out), missing=list(parts.failures), written=written
        )
    return written


def _chosen_groups(
    groups: Sequence[str] | None, *, population: Any, resolution: str
) -> tuple[tuple[str, ...], bool]:
    """The groups to fetch and whether they were asked for by name (``None``: the default)."""
    if groups is not None:
        if isinstance(groups, str):
            groups = [groups]
        return tuple(dict.fromkeys(groups)), True
    if population is None and resolution == "100m":
        return DEFAULT_GROUPS, False
    logger.info(
        "no population groups by default: WorldPop's age/sex layers lie on its 100 m grid, "
        "which %s is not; pass groups= to add them",
        "the given population" if population is not None else f"the {resolution} download",
    )
    return (), False


def _fetch_groups(
    parts: _Parts, groups: Sequence[str], *, year: int, progress: bool, explicit: bool = True
) -> None:
    """The age/sex layers of ``groups`` into ``parts``: a group that cannot be downloaded is
    recorded (``explicit``: as a failure of the run; by default: with a :class:`FetchWarning`)."""
    if parts.population is None:
        if "population" in parts.failures:  # nothing to add the groups to; already reported
            if explicit:
                parts.failures["population_groups"] = (
                    f"population groups {', '.join(groups)}: not fetched, as the population "
                    "raster they belong to was not downloaded."
                )
            return
        raise InputError(
            "groups= needs a population raster on WorldPop's 100 m grid (the download, or "
            "population= a WorldPop GeoTIFF); a census table has no grid to add them to. Fix: "
            "drop groups= or give the groups as columns of your table."
        )
    for g in groups:
        age_sex_urls(g, year=year)  # unknown groups or years fail before any download
    parts.groups, info = fetch_population_groups(
        groups, year=year, progress=progress, keep_going=True
    )
    parts.sources["population_groups"] = info | {"clipped_to": "halo"}
    missing: dict[str, str] = info.get("missing") or {}
    if not missing:
        return
    names = ", ".join(missing)
    text = f"population group{'s' if len(missing) > 1 else ''} {names} not downloaded: " + (
        "; ".join(missing.values())
    )
    if explicit:
        parts.failures["population_groups"] = text
        return
    have = ", ".join(["the total population", *parts.groups])
    warnings.warn(
        f"{text}. The folder holds {have}: coverage is reported without {names}. Fix: run "
        "fetch again to resume (the layers already downloaded are cached), or pass groups=() "
        "to leave the groups out.",
        FetchWarning,
        stacklevel=3,
    )


_SUPPLY = {
    "boundary": "boundary=FILE (a polygon file of the county)",
    "roads": "roads=FILE (an OSM .pbf extract, e.g. from download.geofabrik.de, or road lines)",
    "facilities": "facilities=FILE (your facility register: CSV/XLSX with name, type, lon, lat)",
    "population": "population=FILE (a WorldPop/GHS-POP GeoTIFF, or a table of residents per admin code)",
    "population_groups": "groups=() (no population groups), or the groups as columns of a population table",
}


def _failure_text(failures: dict[str, str], out: str | Path) -> str:
    lines = [f"could not download {', '.join(failures)} (offline?):"]
    lines += [f"  - {msg}" for msg in failures.values()]
    lines.append(
        f"Fix: connect to the internet and run again, or supply the files: "
        f"{'; '.join(_SUPPLY[k] for k in failures)}. The other parts are in {out}."
    )
    return "\n".join(lines)
