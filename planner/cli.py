"""The ``planner`` command line.

    planner coverage --out out/            # the embedded demo county, walking, 15 minutes
    planner coverage --data mycounty/ --mode ebike --minutes 15 --raster-cell 200 --out out/

Errors in the input are printed as one message naming the file, column or rows and the fix
(exit status 2), never as a traceback (use --debug for one).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from ._constants import MODE_NAMES, OBJECTIVES

log = logging.getLogger("planner")


def _progress_bar(enabled: bool):
    """A callable(stage, fraction) that draws one tqdm bar per stage on stderr."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, fraction: float) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=100,
                desc=f"{stage:<16}",
                unit="%",
                leave=False,
                disable=None,
                bar_format="{desc} {bar} {percentage:3.0f}%",
                file=sys.stderr,
            )
        bar.n = int(round(100 * fraction))
        bar.refresh()
        if fraction >= 1.0:
            bar.close()

    return update


def _add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (default: the embedded synthetic demo county)")
    g.add_argument(
        "--data", type=Path, help="folder with roads/, facilities/, population/, boundaries/"
    )
    g.add_argument(
        "--roads", type=Path, help="roads: OSM .osm/.osm.pbf, or lines (.shp/.gpkg/.geojson)"
    )
    g.add_argument(
        "--facilities", type=Path, help="facilities: CSV/XLSX/GeoJSON/shapefile/GeoPackage"
    )
    g.add_argument(
        "--population",
        type=Path,
        help="population: GeoTIFF, polygons/points with a population column, or a CSV/XLSX table of "
        "residents per admin code (census, 统计年鉴; needs --boundaries with the same codes; spread "
        "over the roads inside each unit)",
    )
    g.add_argument("--boundaries", type=Path, help="admin boundaries with code, name, level")
    g.add_argument(
        "--facilities-crs",
        default=None,
        help="coordinate system of the facilities: wgs84, gcj02, bd09 or EPSG:N (default: the file's, else wgs84)",
    )
    g.add_argument(
        "--facilities-sheet",
        default=None,
        metavar="SHEET",
        help="sheet of an XLSX facilities workbook: its name or number (1 = first; default: the first)",
    )


def _add_mode_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("travel")
    g.add_argument("--mode", choices=list(MODE_NAMES), default="walk")
    g.add_argument(
        "--speed-kmh",
        type=float,
        default=None,
        help="walk/e-bike speed (drive: speed of unknown road classes)",
    )
    g.add_argument(
        "--access-max-m",
        type=float,
        default=None,
        help="longest straight-line join from a home or facility to the road (default 500)",
    )
    g.add_argument(
        "--access-speed-factor",
        type=float,
        default=None,
        help="off-road speed as a factor of the mode's speed (default: walking speed)",
    )
    g.add_argument("--minutes", type=float, default=15.0, help="coverage threshold (default 15)")
    g.add_argument(
        "--tiers",
        nargs="+",
        default=None,
        metavar="TIER",
        help="facility tiers that count (default: all primary-care tiers and hospitals)",
    )


def _add_lang_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lang",
        choices=["zh", "en"],
        default="zh",
        help="language of the files read by people (xlsx, html, md, map.html; default zh); files "
        "read by programs (summary.csv, proposals.csv, solution.json, the GeoPackages) keep their "
        "column names in every language, and the console text is English",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="planner",
        description="Who lives too far from primary health care, and where new stations should go.",
    )
    parser.add_argument("--version", action="version", version=f"planner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    cov = sub.add_parser("coverage", help="travel times, isochrones and covered population")
    _add_data_args(cov)
    _add_mode_args(cov)
    # None unless given: with --scenario an absent --mode/--minutes keeps the scenario's
    cov.set_defaults(mode=None, minutes=None)
    cov.add_argument(
        "--scenario",
        type=Path,
        default=None,
        help="a scenario TOML file (saved by the app or planner optimize): its data, travel "
        "settings, facility edits (closed, moved, re-tiered), study area and proposed sites; "
        "options given here override it",
    )
    cov.add_argument(
        "--add-facilities",
        type=Path,
        default=None,
        help="proposed stations to evaluate (CSV/GeoJSON; e.g. an optimizer's proposals.csv)",
    )
    cov.add_argument(
        "--isochrones",
        type=float,
        nargs="*",
        default=[5, 10, 15],
        help="isochrone thresholds in minutes (default 5 10 15; --minutes is added)",
    )
    cov.add_argument(
        "--raster-cell",
        type=float,
        default=None,
        help="also write access.tif with this cell size (metres), over the boundaries, else over the "
        "roads grown by --raster-access-m",
    )
    cov.add_argument(
        "--raster-like",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write access.tif on the grid of this raster (its transform, size and CRS), "
        "to compare cell by cell with AccessMod, HiAccess or ArcGIS output",
    )
    cov.add_argument(
        "--raster-access-m",
        type=float,
        default=None,
        metavar="M",
        help="longest straight-line join from a raster cell to a road (default: --access-max-m)",
    )
    cov.add_argument(
        "--min-piece-nodes",
        type=int,
        default=0,
        metavar="N",
        help="drop road pieces with fewer than N nodes (default 0: keep every piece; "
        "a warning lists what is dropped)",
    )
    cov.add_argument("--no-map", action="store_true", help="skip map.html")
    cov.add_argument("--out", type=Path, required=True, help="output folder")
    opt = sub.add_parser(
        "optimize",
        help="propose new sites (max coverage, fewest sites, least time, least worst time)",
    )
    _add_data_args(opt)
    _add_mode_args(opt)
    # no defaults: argparse leaves None unless --mode/--minutes is given in any form (--mode=drive,
    # --mod drive), so an explicit value overrides the scenario and an absent one does not
    opt.set_defaults(mode=None, minutes=None)
    opt.add_argument(
        "--scenario",
        type=Path,
        default=None,
        help="a scenario TOML file (options given here override it); the run's scenario is saved to OUT/scenario.toml",
    )
    opt.add_argument(
        "--objective",
        choices=list(OBJECTIVES),
        default=None,
    )
    g = opt.add_mutually_exclusive_group()
    g.add_argument("--new-sites", type=int, default=None, metavar="P", help="number of new sites")
    g.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="B",
        help="total budget (candidates need a cost column)",
    )
    opt.add_argument(
        "--cost-column",
        default="cost",
        help="candidate column with site costs for --budget (default: cost)",
    )
    opt.add_argument(
        "--target-share",
        type=float,
        default=None,
        help="min-sites: share of residents to cover (default 1.0)",
    )
    opt.add_argument(
        "--tier",
        nargs="+",
        default=None,
        metavar="TIER[:P[:MINUTES]]",
        help="tier of the new sites (default community_station); several as TIER:P[:MINUTES] "
        "site tiers together, e.g. --tier community_station:5 community_center:1",
    )
    opt.add_argument(
        "--candidates",
        type=Path,
        default=None,
        help="candidate premises (CSV with lon, lat[, floor_area_m2, cost]); default: road junctions near uncovered residents",
    )
    opt.add_argument(
        "--spacing-m",
        type=float,
        default=None,
        help="spacing of generated candidates (default 300 m)",
    )
    opt.add_argument(
        "--capacity", type=float, default=None, help="residents one new site can serve"
    )
    opt.add_argument(
        "--weight",
        default=None,
        metavar="GROUP",
        help="optimise for the residents of one population group (e.g. 65+ or under5: a pop_<group> "
        "column of the population) instead of everyone",
    )
    opt.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="solver time limit in seconds (default 60)",
    )
    opt.add_argument("--seed", type=int, default=None)
    opt.add_argument("--no-map", action="store_true", help="skip map.html")
    opt.add_argument("--out", type=Path, required=True, help="output folder")

    for p in (cov, opt):
        _add_lang_arg(p)
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.add_argument("--debug", action="store_true", help="show tracebacks")

    rep = sub.add_parser(
        "report", help="standards compliance report (rules of standards.md): xlsx, html, md"
    )
    _add_data_args(rep)
    _add_mode_args(rep)
    rep.set_defaults(minutes=None)  # default: the rules' coverage_minutes (15)
    rep.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="TOML file overriding rule values (fields of planner.Rules, e.g. coverage_minutes = 10)",
    )
    rep.add_argument(
        "--proposals",
        type=Path,
        default=None,
        help="proposed sites (e.g. proposals.csv of planner optimize): listed in the failing units they stand in",
    )
    rep.add_argument(
        "--formats",
        nargs="+",
        choices=["xlsx", "html", "md"],
        default=["xlsx", "html", "md"],
        help="files to write (default: all three)",
    )
    rep.add_argument("--out", type=Path, required=True, help="output folder")
    _add_lang_arg(rep)
    rep.add_argument("--quiet", action="store_true", help="no progress bars")
    rep.add_argument("--debug", action="store_true", help="show tracebacks")
    from . import batch

    batch.add_parser(sub, add_data_args=_add_data_args, add_mode_args=_add_mode_args)
    from . import fetch

    fetch.add_parser(sub)
    from . import printmap

    printmap.add_parser(sub, add_data_args=_add_data_args, add_mode_args=_add_mode_args)
    return parser


def _load(args):
    from . import pipeline
    from .scenario import sheet_argument

    if args.data is None and not any(
        (args.roads, args.facilities, args.population, args.boundaries)
    ):
        return pipeline.load_demo()
    if args.data is None and (args.roads is None or args.facilities is None):
        from ._errors import InputError

        raise InputError(
            "without --data, both --roads and --facilities are needed. Fix: pass both, or --data DIR."
        )
    return pipeline.load_dataset(
        args.data,
        roads=args.roads,
        facilities=args.facilities,
        population=args.population,
        boundaries=args.boundaries,
        facilities_crs=args.facilities_crs,
        facilities_sheet=sheet_argument(args.facilities_sheet),
    )


def _announce(ds, t0: float):
    print(f"loaded {ds!r} in {time.perf_counter() - t0:.1f} s")
    if ds.synthetic:
        print("NOTE: this is the embedded SYNTHETIC demo county (示范县), not real data.")
    return ds


def _read_proposals(path, crs):
    """Proposed sites from a file: a proposals.csv of ``planner optimize`` or any facility file."""
    from . import load

    return load.read_facilities(
        path, crs=crs, default_tier="community_station", **_proposal_columns(path)
    )


def _proposal_columns(path) -> dict:
    """A proposals.csv written by ``planner optimize`` carries site_id and tier columns."""
    try:
        head = (
            Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()[0].split(",")
        )
    except (OSError, IndexError):
        return {}
    cols = {c.strip() for c in head}
    out = {}
    if "site_id" in cols:
        out["id_column"] = "site_id"
    if "tier" in cols:
        out["tier_column"] = "tier"
    return out


def cmd_coverage(args) -> int:
    from . import pipeline, report

    t0 = time.perf_counter()
    progress = _progress_bar(not args.quiet)
    _check_raster_args(args)
    sc = _coverage_scenario(args)
    ds = _announce(sc.load_data() if sc is not None else _load(args), t0)
    added = None
    if args.add_facilities is not None:
        added = _read_proposals(args.add_facilities, args.facilities_crs)
        print(f"evaluating {len(added)} proposed facilities from {args.add_facilities}")
    if sc is not None:
        ds, added = _scenario_what_ifs(sc, ds, added)
    travel = _coverage_travel(args, sc)
    _check_raster_size(args, ds, travel)
    result = pipeline.analyze(
        ds,
        isochrone_minutes=args.isochrones if args.isochrones else None,
        add_facilities=added,
        min_piece_nodes=args.min_piece_nodes,
        progress=progress,
        **travel,
    )
    if sc is not None and sc.area:
        result = sc.area.apply(result)
        print(f"study area of {args.scenario}: {result.total_population:,.0f} residents counted")
    net = result.network
    print(
        f"network ({travel['mode']}): {net.n_nodes:,} nodes, {net.n_edges:,} edges in {result.seconds.get('network', 0):.1f} s"
    )
    if result.isochrones is not None:
        print(
            f"isochrones: {len(result.isochrones):,} polygons ({', '.join(f'{m:g}' for m in result.settings.isochrone_minutes)} min) "
            f"in {result.seconds.get('isochrones', 0):.1f} s"
        )
    if result.demand is not None:
        print(
            f"coverage: {len(result.demand):,} demand units in {result.seconds.get('travel times', 0) + result.seconds.get('coverage', 0):.1f} s"
        )
    for line in report.summary_lines(result):
        print(line)
    t1 = time.perf_counter()
    written = report.write_outputs(
        result,
        args.out,
        raster_cell_m=args.raster_cell,
        raster_like=args.raster_like,
        raster_access_m=args.raster_access_m,
        map_html=not args.no_map,
        lang=args.lang,
    )
    print(
        f"wrote {', '.join(str(p) for p in written.values())} in {time.perf_counter() - t1:.1f} s"
    )
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _coverage_scenario(args):
    """``coverage --scenario FILE``: the scenario with the data and travel options given on
    the command line put over it (None without --scenario)."""
    if args.scenario is None:
        return None
    from .scenario import Scenario

    changes = _data_changes(args)
    for key in ("speed_kmh", "access_max_m", "access_speed_factor", "mode", "minutes"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    if args.tiers:
        changes["tiers"] = tuple(args.tiers)
    base = Scenario.load(args.scenario)
    return base.replace(**changes) if changes else base


def _scenario_what_ifs(sc, ds, added):
    """The data set with the scenario's facility edits, and the facilities to evaluate with
    its proposed sites added (printed, so the run says what it counts)."""
    import pandas as pd

    if sc.edits:
        rows = sc.edits.rows()
        print(
            f"facility edits of the scenario: {sum(r[1] == 'close' for r in rows)} closed, "
            f"{sum(r[1] == 'move' for r in rows)} moved, {sum(r[1] == 'tier' for r in rows)} re-tiered"
        )
    ds = sc.edited(ds)
    if sc.proposed:
        print(f"evaluating {len(sc.proposed)} proposed sites of the scenario")
        sites = sc.proposed_frame()
        if added is not None:
            sites = type(sites)(pd.concat([added, sites], ignore_index=True), crs=sites.crs)
        added = sites
    return ds, added


def _coverage_travel(args, sc) -> dict:
    """The travel options of ``coverage``: the scenario's (flags put over it), else the flags."""
    if sc is not None:
        return {
            "mode": sc.mode,
            "minutes": sc.minutes,
            "tiers": list(sc.tiers) or None,
            "speed_kmh": sc.speed_kmh,
            "access_max_m": sc.access_max_m,
            "access_speed_factor": sc.access_speed_factor,
        }
    return {
        "mode": args.mode or "walk",
        "minutes": args.minutes if args.minutes is not None else 15.0,
        "tiers": args.tiers,
        "speed_kmh": args.speed_kmh,
        "access_max_m": args.access_max_m,
        "access_speed_factor": args.access_speed_factor,
    }


def _check_raster_size(args, ds, travel: dict) -> tuple[int, int] | None:
    """``--raster-cell`` against the area the raster will cover, before the analysis: a grid
    too large for memory fails now (not after minutes of work), one of a few cells across is
    named in a warning.

    The area is :func:`planner.access.raster_extent`, the rule ``write_outputs`` draws the
    raster by, taken from the road lines as the network is not built yet: with boundaries it
    is the raster's area exactly (in the CRS the network will have); without, it spans every
    vertex of the roads the mode uses where the raster spans only the network's nodes, so the
    cells counted here are never fewer than the raster's (an upper bound: a grid refused here
    might have fitted by a few rows, one accepted here always fits). Returns the (rows,
    columns) checked, None when there is nothing to check."""
    if args.raster_cell is None:
        return None
    import numpy as np

    from . import access
    from ._errors import NetworkError
    from .network import travel_mode

    try:
        opts = ("speed_kmh", "access_max_m", "access_speed_factor")
        mode = travel_mode(
            travel["mode"], **{k: travel[k] for k in opts if travel.get(k) is not None}
        )
        b = access.raster_extent(
            ds.roads, boundaries=ds.boundaries, access_max_m=args.raster_access_m, mode=mode
        )
    except NetworkError:  # no usable roads, a bad mode: the analysis names it (and the file)
        return None
    cell = float(args.raster_cell)
    nrow, ncol = access.grid_shape(b, cell)
    if min(nrow, ncol) <= 4:
        w, h = (b[2] - b[0]) / 1000, (b[3] - b[1]) / 1000
        fit = min(w, h) * 1000 / 50  # about 50 cells across the shorter side
        mag = 10.0 ** np.floor(np.log10(max(fit, 1.0)))
        from ._errors import InputWarning

        # planner's warning style: shown as one 'planner: warning:' line by _cli_warnings
        warnings.warn(
            f"--raster-cell {cell:g} m gives access.tif only {nrow} x {ncol} cells over "
            f"{w:,.1f} x {h:,.1f} km: too coarse to show where access fails. "
            f"Fix: use --raster-cell {max(1.0, np.floor(fit / mag) * mag):g} or smaller.",
            InputWarning,
            stacklevel=2,
        )
    return nrow, ncol


def _check_raster_args(args) -> None:
    """The raster options, checked before any work (they speak in flags: this is the CLI)."""
    from ._errors import InputError, InputFileError

    if args.raster_cell is not None and not (
        args.raster_cell > 0 and args.raster_cell < float("inf")
    ):
        raise InputError(
            f"--raster-cell must be a positive number of metres, got {args.raster_cell!r}."
        )
    if args.raster_cell is not None and args.raster_like is not None:
        raise InputError("give either --raster-cell or --raster-like, not both.")
    if args.raster_like is not None and not args.raster_like.is_file():
        raise InputFileError(
            f"--raster-like {args.raster_like}: file not found. Fix: give an existing raster (GeoTIFF)."
        )
    if args.raster_access_m is not None:
        if not (args.raster_access_m >= 0 and args.raster_access_m < float("inf")):
            raise InputError(
                f"--raster-access-m must be a number of metres >= 0, got {args.raster_access_m!r}."
            )
        if args.raster_cell is None and args.raster_like is None:
            raise InputError(
                "--raster-access-m needs --raster-cell or --raster-like (it sets how the raster's cells join the roads)."
            )
    if args.min_piece_nodes < 0:
        raise InputError(f"--min-piece-nodes must be 0 or more, got {args.min_piece_nodes}.")


def _data_changes(args) -> dict:
    """The scenario fields of the data options given on the command line."""
    changes = {}
    for key, attr in (
        ("data_dir", "data"),
        ("roads", "roads"),
        ("facilities", "facilities"),
        ("population", "population"),
        ("boundaries", "boundaries"),
        ("facilities_crs", "facilities_crs"),
        ("facilities_sheet", "facilities_sheet"),
    ):
        v = getattr(args, attr)
        if v is not None:
            changes[key] = str(v)
    return changes


def _scenario_from_args(args):
    from .scenario import Scenario

    base = Scenario.load(args.scenario) if args.scenario else Scenario(name="cli")
    changes = _data_changes(args)
    for key, attr in (
        ("speed_kmh", "speed_kmh"),
        ("access_max_m", "access_max_m"),
        ("access_speed_factor", "access_speed_factor"),
        ("objective", "objective"),
        ("new_sites", "new_sites"),
        ("budget", "budget"),
        ("target_share", "target_share"),
        ("spacing_m", "spacing_m"),
        ("capacity", "capacity"),
        ("time_limit_s", "time_limit"),
        ("seed", "seed"),
    ):
        v = getattr(args, attr)
        if v is not None:
            changes[key] = v
    if args.tiers:
        changes["tiers"] = tuple(args.tiers)
    if args.tier:
        if len(args.tier) == 1 and ":" not in args.tier[0]:
            changes["new_tier"] = args.tier[0]
        else:
            changes["tier_requests"] = tuple(args.tier)
    # None: not given (the optimize parser has no defaults for these), so the scenario's value
    # stands; Scenario's own defaults (walk, 15 min) apply without a scenario
    if args.mode is not None:
        changes["mode"] = args.mode
    if args.minutes is not None:
        changes["minutes"] = args.minutes
    if args.candidates is not None:
        changes["candidates"] = "file"
        changes["candidates_file"] = str(args.candidates)
    if getattr(args, "weight", None) is not None:
        changes["weight"] = args.weight
    sc = base.replace(**changes) if changes else base
    if sc.objective == "none":
        sc = sc.replace(objective="max-coverage")
    return sc


def cmd_optimize(args) -> int:
    import json

    from . import report, siting

    t0 = time.perf_counter()
    progress = _progress_bar(not args.quiet)
    sc = _scenario_from_args(args)
    if (
        sc.objective in ("max-coverage", "min-time", "min-max-time")
        and sc.new_sites is None
        and sc.budget is None
        and not sc.tier_requests
    ):
        from ._errors import OptimizationError

        raise OptimizationError(
            f"{sc.objective} needs --new-sites P (or --budget B for max-coverage)."
        )
    ds = _announce(sc.load_data(), t0)
    before = sc.analyze(ds, progress=progress)
    print(
        f"before: {before.covered_population:,.0f} of {before.total_population:,.0f} residents within "
        f"{sc.minutes:g} min ({100 * before.covered_share:.1f} %)"
    )
    weight = sc.weight or None  # --weight, or the weight saved in --scenario's file
    if weight is not None:
        if sc.tier_requests:
            from ._errors import InputError

            raise InputError(
                "--weight works with one tier of new sites. Fix: drop --weight or give one --tier."
            )
        _print_group(before, weight, "before")
    cands = None
    if sc.candidates != "uncovered":
        cands = siting.candidate_sites(
            before,
            source=sc.candidates,
            path=sc.candidates_file or None,
            tier=sc.new_tier,
            spacing_m=sc.spacing_m,
        )
    costs = None
    if sc.budget is not None:
        if cands is None or args.cost_column not in cands.columns:
            from ._errors import OptimizationError

            raise OptimizationError(
                f"--budget needs candidate costs: pass --candidates FILE with a '{args.cost_column}' column "
                "(or name it with --cost-column)."
            )
        costs = args.cost_column
    if sc.tier_requests:
        run = sc.optimize(before, progress=progress)
    else:
        run = siting.propose_sites(
            before,
            objective=sc.objective,
            new_sites=sc.new_sites,
            budget=sc.budget,
            costs=costs,
            capacity=sc.capacity,
            target_share=sc.target_share,
            candidates=cands,
            tier=sc.new_tier,
            spacing_m=sc.spacing_m,
            time_limit_s=sc.time_limit_s,
            seed=sc.seed,
            progress=progress,
            weight=weight,
        )
    s = run.solution
    print(
        f"{run.objective_name}: {len(run.proposals)} new sites from {len(run.candidates):,} candidates; objective "
        f"{s.objective:,.1f}, bound {s.bound:,.1f}, gap {100 * s.gap:.2f} % ({s.status}, {s.solver}, {s.seconds:.2f} s)"
    )
    print(
        f"after: {run.covered_population_after:,.0f} residents within {sc.minutes:g} min "
        f"(+{run.covered_population_after - run.covered_population_before:,.0f})"
    )
    if run.uncoverable_population > 0 or run.unreachable_population > 0:
        # residents no new site can cover: why min-sites with --target-share 1.0 stops short
        print(
            f"out of reach of every candidate: {run.uncoverable_population:,.0f} residents "
            f"({run.uncoverable_units:,} demand points) have no candidate site within "
            f"{sc.minutes:g} min, and {run.unreachable_population:,.0f} live farther than "
            f"{before.network.mode.access_max_m:g} m from any road; no choice of sites covers them "
            "(add candidates near them, e.g. --candidates nodes, or raise --minutes)"
        )
    where = report.locate_sites(run.proposals, before.boundaries)
    for r, (township, village) in zip(
        run.proposals.itertuples(), where.itertuples(index=False), strict=True
    ):
        place = " ".join(n for n in (township, village) if n)
        print(
            f"  {r.site_id}: {r.lon:.6f}, {r.lat:.6f} ({r.tier}) +{r.newly_covered_population:,.0f} residents"
            + (f", in {place}" if place else "")
        )
    out = Path(args.out)
    # every file is written into a hidden folder and moved into place once all are written, so a
    # failure or a kill leaves the previous run's set whole (report.staged_outputs)
    with report.staged_outputs(out) as stage:
        written, after = _write_optimize_outputs(args, sc, ds, before, run, stage)
        summary = json.loads(written["solution"].read_text(encoding="utf-8"))
    written = {k: out / Path(p).relative_to(stage) for k, p in written.items()}
    _check_reevaluated(summary["covered_population_after"], after.covered_population, sc, out)
    if weight is not None:
        _print_group(after, weight, "after")
    print(f"wrote {', '.join(str(p) for p in written.values())}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _check_reevaluated(optimized: float, files: float, sc, out: Path) -> None:
    """Warn when the coverage of the files written (the analysis re-run with proposals.csv's
    sites) differs from the optimizer's figure in solution.json: the two are computed from the
    same written coordinates and should agree, so a difference means one of them is wrong."""
    diff = files - optimized
    if abs(diff) <= 1e-6 * max(1.0, files):
        return
    from ._errors import PlannerWarning

    # PlannerWarning, not InputWarning: nothing in the input is at fault. Shown as one
    # 'planner: warning:' line by _cli_warnings.
    warnings.warn(
        f"the coverage of the files written ({files:,.3f} residents within {sc.minutes:g} min, "
        f"in {out / 'summary.csv'} and coverage.gpkg, from the sites of proposals.csv) differs "
        f"from the optimizer's ({optimized:,.3f}, covered_population_after in solution.json) by "
        f"{diff:+,.3f} residents ({100 * diff / max(1.0, optimized):+.4f} %). Fix: take the files' "
        f"figure (planner coverage --scenario {out / 'scenario.toml'} --add-facilities "
        f"{out / 'proposals.csv'} reproduces it) and "
        f"report the run ({out / 'scenario.toml'}) as a planner bug: the two should agree.",
        PlannerWarning,
        stacklevel=2,
    )


def _write_optimize_outputs(args, sc, ds, before, run, stage: Path):
    """``planner optimize``'s files in ``stage``: proposals.csv (with the township and village
    of each site), proposals.gpkg, solution.json, proposals.xlsx (for people, in ``--lang``),
    scenario.toml and the coverage outputs with the proposals; return them and the result."""
    import json

    import pandas as pd

    from . import report, siting

    written = siting.write_proposals(run, stage, boundaries=before.boundaries)
    written["scenario"] = sc.save(stage / "scenario.toml")
    # the workbook shows the files programs read, so the two always agree
    table = pd.read_csv(written["proposals_csv"], encoding="utf-8-sig", keep_default_na=False)
    solution = json.loads(written["solution"].read_text(encoding="utf-8"))
    xlsx = stage / "proposals.xlsx"
    report.write_xlsx(
        {"proposals": table, "solution": pd.DataFrame([solution])}, xlsx, lang=args.lang
    )
    written["proposals_xlsx"] = xlsx
    after = sc.analyze(
        ds, network=before.network, add_facilities=load_proposals(written["proposals_csv"])
    )
    written.update(report.write_outputs(after, stage, map_html=not args.no_map, lang=args.lang))
    return written, after


def _print_group(result, weight: str, when: str) -> None:
    """One line: coverage of the population group ``weight`` (checked: an unknown group raises)."""
    from ._errors import InputError
    from .coverage import group_coverage, group_name, group_weights

    if result.demand is None:
        raise InputError(
            "--weight needs population. Fix: pass --population FILE (or a population/ folder)."
        )
    group_weights(result.demand, weight)
    row = group_coverage(result.demand).set_index("group").loc[group_name(weight)]
    print(
        f"{when}: {row.covered_population:,.0f} of {row.population:,.0f} residents of group {weight} within "
        f"{result.settings.minutes:g} min ({100 * row.covered_share:.1f} %)"
    )


def cmd_report(args) -> int:
    import dataclasses

    from . import compliance, pipeline
    from .standards import Rules

    t0 = time.perf_counter()
    progress = _progress_bar(not args.quiet)
    rules = compliance.load_rules(args.rules) if args.rules is not None else Rules()
    if args.minutes is not None:
        rules = dataclasses.replace(rules, coverage_minutes=args.minutes)
    ds = _announce(_load(args), t0)
    proposals = None
    if args.proposals is not None:
        proposals = _read_proposals(args.proposals, args.facilities_crs)
        print(f"placing {len(proposals)} proposed sites from {args.proposals}")
    result = pipeline.analyze(
        ds,
        mode=args.mode,
        minutes=rules.coverage_minutes,
        tiers=args.tiers,
        isochrone_minutes=None,
        speed_kmh=args.speed_kmh,
        access_max_m=args.access_max_m,
        access_speed_factor=args.access_speed_factor,
        progress=progress,
    )
    report = compliance.compliance_report(
        result, rules=rules, proposals=proposals, facilities=ds.facilities
    )
    for line in compliance.compliance_lines(report):
        print(line)
    from .report import staged_outputs

    with staged_outputs(args.out) as stage:  # all or nothing, as in cmd_optimize
        written = compliance.write_compliance(
            report,
            stage,
            formats=args.formats,
            lang=args.lang,
            result=result,
            proposals=proposals,
        )
    written = {k: Path(args.out) / Path(p).relative_to(stage) for k, p in written.items()}
    print(f"wrote {', '.join(str(p) for p in written.values())}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def load_proposals(path):
    """The proposals.csv written by ``planner optimize``."""
    return _read_proposals(path, None)


def _bad_numbers(values, *, low: float = 0.0, finite: bool = True) -> list:
    """The values that are not numbers > ``low`` (and finite, with ``finite``)."""
    return [v for v in values if not (v > low and (not finite or math.isfinite(v)))]


def _check_args(args) -> None:
    """Option values, checked before any data are read: each message names its option."""
    from ._errors import InputError
    from .report import check_output_dir

    if getattr(args, "out", None) is not None:
        check_output_dir(args.out, what="--out")
    problems = []
    if getattr(args, "isochrones", None):
        bad = _bad_numbers(args.isochrones)
        if bad:
            problems.append(
                f"--isochrones must be minutes > 0, got {', '.join(f'{v:g}' for v in bad)}"
            )
    if getattr(args, "minutes", None) is not None and _bad_numbers([args.minutes], finite=False):
        problems.append(f"--minutes must be a number > 0, got {args.minutes:g}")
    for flag in ("speed_kmh", "access_max_m", "spacing_m", "capacity", "time_limit", "budget"):
        v = getattr(args, flag, None)
        if v is not None and _bad_numbers(
            [v], low=-1e-300 if flag in ("access_max_m", "budget") else 0.0
        ):
            problems.append(
                f"--{flag.replace('_', '-')} must be a {'number >= 0' if flag in ('access_max_m', 'budget') else 'number > 0'}, got {v:g}"
            )
    v = getattr(args, "access_speed_factor", None)
    if v is not None and _bad_numbers([v]):
        problems.append(f"--access-speed-factor must be a number > 0, got {v:g}")
    v = getattr(args, "target_share", None)
    if v is not None and not 0 < v <= 1:
        problems.append(f"--target-share must be in (0, 1], got {v:g}")
    v = getattr(args, "new_sites", None)
    if v is not None and v < 1:
        problems.append(f"--new-sites must be 1 or more, got {v}")
    if args.command == "batch" and getattr(args, "facilities_sheet", None) is not None:
        problems.append(
            "--facilities-sheet is not used by planner batch (each region folder has its own "
            "files); save the facilities sheet as CSV in each region folder"
        )
    if problems:
        raise InputError("; ".join(problems) + ".")


#: Library parameters as the CLI spells them, for messages shown on the command line
#: (the library names its own parameters; only the CLI speaks in flags).
_FLAG_WORDS = (
    # travel_time_raster's parameters, as write_outputs passes them from --raster-cell/--raster-like
    (re.compile(r"\(cell_m=\)"), "(--raster-cell)"),
    (re.compile(r"\(like=\)"), "(--raster-like)"),
    # siting.candidate_numbers' fix, as propose_sites is called with --cost-column's column
    (re.compile(r"name another column \(costs=\)"), "name another column with --cost-column"),
    (re.compile(r" or a smaller area \(bounds=\)"), " or smaller boundaries (--boundaries)"),
    (re.compile(r"\bweight='([^']*)'"), r"--weight \1"),
    (re.compile(r"\bfacilities_crs='([^']*)'"), r"--facilities-crs \1"),
    (re.compile(r"\bfacilities_crs=(?=[\s.,;:)]|$)"), "--facilities-crs"),
    (re.compile(r"\bfacilities_crs="), "--facilities-crs "),
    (re.compile(r"\bfacilities_sheet=(?=[\s.,;:)]|$)"), "--facilities-sheet"),
    (re.compile(r"\bfacilities_sheet="), "--facilities-sheet "),
    # propose_sites' parameters (siting's messages name them; the CLI shows its flags)
    (re.compile(r"\bnew_sites="), "--new-sites "),
    (re.compile(r"\bnew_sites\b(?! \()"), "--new-sites"),
    (re.compile(r"\bspacing_m\b"), "--spacing-m"),
)


def _in_flags(text: str, args) -> str:
    """A library message in the CLI's words: parameters of the facilities file become flags."""
    for pattern, flag in _FLAG_WORDS:
        text = pattern.sub(flag, text)
    fac = getattr(args, "facilities", None)
    if fac is not None and str(fac) in text:
        # read_facilities' own parameters, in messages about the file given with --facilities
        text = re.sub(r"\bcrs='([^']*)'", r"--facilities-crs \1", text)
        text = re.sub(r"\bsheet='([^']*)'", r"--facilities-sheet '\1'", text)
        text = re.sub(r"\bsheet=", "--facilities-sheet ", text)
    return text


@contextlib.contextmanager
def _cli_warnings(args):
    """Show planner's warnings as one 'planner: warning:' line each, in the CLI's words."""
    from ._errors import PlannerWarning

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, PlannerWarning):
            print(f"planner: warning: {_in_flags(str(message), args)}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always", PlannerWarning)
        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "debug", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from ._errors import PlannerError

    try:
        from .batch import cmd_batch

        _check_args(args)
        from . import printmap
        from .fetch import cmd_fetch

        commands = {
            "coverage": cmd_coverage,
            "optimize": cmd_optimize,
            "report": cmd_report,
            "batch": cmd_batch,
            "fetch": cmd_fetch,
            "map": printmap.cmd_map,
        }
        with _cli_warnings(args):
            return commands[args.command](args)
    except PlannerError as exc:
        if args.debug:
            raise
        print(f"planner: error: {_in_flags(str(exc), args)}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if args.debug:
            raise
        print(f"planner: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
