"""``planner map``: the command line of :func:`planner.printmap.print_map`.

Part of :mod:`planner.printmap`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import InputError
from .figure import print_map
from .style import FORMATS, ORIENTATIONS

log = logging.getLogger("planner.printmap")

# ---------------------------------------------------------------------------------------------
# command line: planner map


def add_parser(
    sub: Any, *, add_data_args: Callable[[Any], None], add_mode_args: Callable[[Any], None]
) -> Any:
    """The ``planner map`` subcommand."""
    p = sub.add_parser(
        "map",
        help="print the coverage map to PDF or PNG (A4/A3) for a report",
        description="Compute coverage (as `planner coverage`) and print a map with a title, legend, north "
        "arrow, scale bar, data sources and date, as PDF (vector) or PNG.",
    )
    add_data_args(p)
    add_mode_args(p)
    p.add_argument(
        "--isochrones",
        type=float,
        nargs="*",
        default=[5, 10, 15],
        help="isochrone bands in minutes (default 5 10 15; none: no bands)",
    )
    p.add_argument(
        "--proposals",
        type=Path,
        default=None,
        help="proposed sites to draw as stars (e.g. proposals.csv of planner optimize)",
    )
    # dest differs from the folder options' "out": this one names a file
    p.add_argument(
        "--out",
        dest="map_out",
        type=Path,
        required=True,
        metavar="FILE",
        help="the map file: .pdf (vector) or .png",
    )
    p.add_argument(
        "--paper",
        choices=["A4", "A3"],
        type=str.upper,
        default="A4",
        help="paper size (default A4)",
    )
    p.add_argument(
        "--orientation",
        choices=list(ORIENTATIONS),
        default="landscape",
        help="page orientation (default landscape)",
    )
    p.add_argument(
        "--dpi", type=float, default=300, help="resolution of a PNG (default 300, for print)"
    )
    p.add_argument(
        "--title", default=None, help="map title (default: '<county> 15分钟步行医疗服务圈覆盖分析')"
    )
    p.add_argument(
        "--lang", choices=["zh", "en"], default="zh", help="language of the map (default zh)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _check_cli(args: Any) -> None:
    suffix = Path(args.map_out).suffix.lower()
    if suffix.lstrip(".") not in FORMATS:
        raise InputError(
            f"--out {args.map_out}: the map is written as PDF or PNG, not "
            f"{suffix or 'a file without a suffix'!r}. Fix: name a .pdf or .png file."
        )
    if Path(args.map_out).is_dir():
        raise InputError(f"--out {args.map_out} is a folder. Fix: name a .pdf or .png file.")
    if not 30 <= args.dpi <= 1200:
        raise InputError(f"--dpi must be from 30 to 1200, got {args.dpi:g}.")


def cmd_map(args: Any) -> int:
    """Run ``planner map`` from parsed arguments."""
    from .. import load, pipeline
    from ..scenario import sheet_argument

    _check_cli(args)  # before any data are read
    t0 = time.perf_counter()
    if args.data is None and not any(
        (args.roads, args.facilities, args.population, args.boundaries)
    ):
        ds = pipeline.load_demo()
    elif args.data is None and (args.roads is None or args.facilities is None):
        raise InputError(
            "without --data, both --roads and --facilities are needed. Fix: pass both, or --data DIR."
        )
    else:
        ds = pipeline.load_dataset(
            args.data,
            roads=args.roads,
            facilities=args.facilities,
            population=args.population,
            boundaries=args.boundaries,
            facilities_crs=args.facilities_crs,
            facilities_sheet=sheet_argument(args.facilities_sheet),
        )
    print(f"loaded {ds!r} in {time.perf_counter() - t0:.1f} s")
    proposals = None
    if args.proposals is not None:
        proposals = load.read_facilities(
            args.proposals,
            default_tier="community_station",
            id_column="site_id" if _has_column(args.proposals, "site_id") else None,
        )
    result = pipeline.analyze(
        ds,
        mode=args.mode,
        minutes=args.minutes,
        tiers=args.tiers,
        isochrone_minutes=args.isochrones if args.isochrones else None,
        speed_kmh=args.speed_kmh,
        access_max_m=args.access_max_m,
        access_speed_factor=args.access_speed_factor,
    )
    t1 = time.perf_counter()
    # sources by file name only: a printed map never shows a machine's folders
    sources = (
        None
        if ds.synthetic
        else {kind: _source_text(kind, p, args.lang) for kind, p in ds.sources.items() if p}
    )
    path = print_map(
        result,
        args.map_out,
        paper=args.paper,
        orientation=args.orientation,
        dpi=args.dpi,
        title=args.title,
        lang=args.lang,
        proposals=proposals,
        sources=sources,
    )
    assert isinstance(path, Path)  # a path was given
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t1:.1f} s")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _source_text(kind: str, path: str, lang: str) -> str:
    """A source file by name; OpenStreetMap roads with the attribution their licence asks for."""
    name = Path(path).name
    if kind == "roads" and (name.lower().endswith((".osm", ".pbf")) or "osm" in name.lower()):
        name += (
            "（© OpenStreetMap 贡献者，ODbL）"
            if lang == "zh"
            else " (© OpenStreetMap contributors, ODbL)"
        )
    return name


def _has_column(path: Path, name: str) -> bool:
    try:
        head = Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return False
    return name in {c.strip() for c in head.split(",")}
