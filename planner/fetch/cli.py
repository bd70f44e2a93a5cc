"""``planner fetch``: the command line of :func:`planner.fetch.fetch`.

Part of :mod:`planner.fetch`, which re-exports the public names.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

from .._constants import MODE_NAMES
from .._errors import InputError
from .county import fetch
from .parts import (
    DEFAULT_GROUPS,
    OSM_NOTE,
    WORLDPOP_AGE_GROUPS,
    WORLDPOP_URLS,
    FetchError,
    FetchWarning,
)

logger = logging.getLogger("planner.fetch")

# --- command line -----------------------------------------------------------------------------

_FLAGS = {
    "boundary": "--boundary FILE (a polygon file of the county; GCJ-02 files named *_gcj02.* are converted)",
    "roads": "--roads FILE (an OSM .pbf extract, e.g. from download.geofabrik.de, or road lines)",
    "facilities": "--facilities FILE (your facility register: CSV/XLSX with name, type, lon, lat)",
    "population": "--population FILE (a WorldPop/GHS-POP GeoTIFF, or a census table of residents per admin "
    "code with --population-column)",
    "population_groups": "--no-groups (or the groups as columns of a census table given with --population)",
}


def add_parser(sub: Any) -> Any:
    """The ``planner fetch`` subcommand."""
    p = sub.add_parser(
        "fetch",
        help="download a county's boundary, roads, health facilities and population into a data folder",
        description="Write a data folder that `planner coverage --data OUT` runs on. Parts not given as files "
        "are downloaded (OpenStreetMap via osmnx, WorldPop); downloads are cached and resumable.",
    )
    g = p.add_argument_group("the area (one of)")
    g.add_argument(
        "--place", default=None, help='a name the geocoder knows, e.g. "莲池区, 保定市, 河北省"'
    )
    g.add_argument(
        "--boundary",
        type=Path,
        default=None,
        help="a polygon file of the county (or its townships)",
    )
    g.add_argument(
        "--admin-code",
        default=None,
        help="division code (e.g. 130606): finds the OSM relation by ref:admin:CN, or labels --boundary",
    )
    g = p.add_argument_group("your own files instead of downloads")
    g.add_argument(
        "--roads", type=Path, default=None, help="roads: OSM .pbf/.osm or lines (.gpkg/.shp)"
    )
    g.add_argument(
        "--facilities", type=Path, default=None, help="your facility register (CSV/XLSX/GeoJSON)"
    )
    g.add_argument(
        "--population",
        type=Path,
        default=None,
        help="a population GeoTIFF, or a CSV/XLSX of residents per admin code (census, 统计年鉴)",
    )
    g.add_argument(
        "--population-column", default=None, help="the table's population column, e.g. Pop_2010"
    )
    g.add_argument(
        "--boundary-crs",
        default=None,
        help="coordinate system of --boundary: wgs84, gcj02, bd09, EPSG:N",
    )
    g.add_argument("--facilities-crs", default=None, help="coordinate system of --facilities")
    g = p.add_argument_group("what the data must serve (sizes the road halo)")
    g.add_argument("--modes", nargs="+", choices=list(MODE_NAMES), default=list(MODE_NAMES))
    g.add_argument("--minutes", type=float, default=15.0, help="longest trip analysed (default 15)")
    g.add_argument("--year", type=int, default=2020, help="WorldPop year (2000-2020, default 2020)")
    g.add_argument(
        "--resolution", choices=sorted(WORLDPOP_URLS), default="100m", help="WorldPop cell size"
    )
    g.add_argument(
        "--groups",
        nargs="+",
        choices=[*WORLDPOP_AGE_GROUPS, "none"],
        default=None,
        help="population groups from WorldPop's age/sex layers (100 m), reported beside the "
        f"total (default with the WorldPop 100 m download: {' '.join(DEFAULT_GROUPS)}; "
        "'none' for none)",
    )
    g.add_argument(
        "--no-groups",
        action="store_true",
        help="no population groups (the same as --groups none)",
    )
    p.add_argument("--out", type=Path, required=True, help="the data folder to write")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _groups_arg(args: Any) -> list[str] | None:
    """``--groups``/``--no-groups`` as ``fetch(groups=)``: ``None`` is the default."""
    chosen = getattr(args, "groups", None)
    if getattr(args, "no_groups", False) or (chosen is not None and "none" in chosen):
        if chosen is not None and set(chosen) - {"none"}:
            raise InputError(
                f"--groups {' '.join(chosen)}: 'none' cannot go with groups. Fix: name the "
                "groups, or --groups none (--no-groups) for none."
            )
        return []
    return chosen


def _print_groups(src: dict[str, Any]) -> None:
    """Say which population groups the folder has and which could not be downloaded."""
    import sys

    info = src.get("population_groups") or {}
    have = [k.removeprefix("group:") for k in src.get("written", {}) if k.startswith("group:")]
    if have:
        print(f"population groups: {', '.join(have)} (coverage is reported for each)")
    missing = info.get("missing") or {}
    for g, why in missing.items():
        print(f"WARNING: population group {g} not downloaded: {why}", file=sys.stderr)
    if missing:
        print(
            f"WARNING: the folder has the total population{''.join(', ' + h for h in have)} "
            f"but not {', '.join(missing)}. Fix: run the same command again to resume (layers "
            "already downloaded are cached), or --no-groups to leave the groups out.",
            file=sys.stderr,
        )


def _print_fetch_error(exc: FetchError) -> None:
    import sys

    first = str(exc).split("\nFix:")[0]
    print(f"planner: error: {first}", file=sys.stderr)
    print(
        "Fix: connect to the internet and run again, or supply the files instead: "
        + "; ".join(_FLAGS[k] for k in exc.missing),
        file=sys.stderr,
    )
    if exc.written:
        print(
            f"wrote the other parts: {', '.join(str(p) for p in exc.written.values())}",
            file=sys.stderr,
        )


def cmd_fetch(args: Any) -> int:
    """Run ``planner fetch``; offline failures are explained in flags, with exit status 2."""
    t0 = time.perf_counter()
    groups = _groups_arg(args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FetchWarning)  # said below, in flags
            written = fetch(
                args.out,
                place=args.place,
                boundary=args.boundary,
                admin_code=args.admin_code,
                roads=args.roads,
                facilities=args.facilities,
                population=args.population,
                population_column=args.population_column,
                modes=args.modes,
                minutes=args.minutes,
                year=args.year,
                resolution=args.resolution,
                boundary_crs=args.boundary_crs,
                facilities_crs=args.facilities_crs,
                progress=not args.quiet,
                groups=groups,
            )
    except FetchError as exc:
        if args.debug:
            raise
        _print_fetch_error(exc)
        return 2
    for name, path in written.items():
        print(f"{name:<11} {path}")
    src = json.loads(written["sources"].read_text(encoding="utf-8"))
    if (src.get("facilities") or {}).get("note") == OSM_NOTE:
        print(f"NOTE: facilities are {OSM_NOTE}.")
    _print_groups(src)
    print(
        f"done in {time.perf_counter() - t0:.1f} s. Next: planner coverage --data {args.out} --out out/"
    )
    return 0
