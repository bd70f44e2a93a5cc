"""``planner batch``: the command line of :func:`planner.batch.run_batch`.

Part of :mod:`planner.batch`, which re-exports the public names.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import pipeline
from .run import run_batch
from .settings import BatchSettings, RegionOutcome

log = logging.getLogger("planner.batch")

# ---------------------------------------------------------------------------------------------
# command line (registered by planner.cli)


def add_parser(
    sub: Any, *, add_data_args: Callable[[Any], None], add_mode_args: Callable[[Any], None]
) -> Any:
    """The ``planner batch`` subcommand."""
    p = sub.add_parser(
        "batch",
        help="coverage for many regions (counties) at once, on Dask",
        description="Cut one data set by region polygons (with a travel-time halo) and run the coverage "
        "analysis of every region on a Dask cluster; merge the summaries.",
    )
    p.add_argument(
        "--regions",
        type=Path,
        required=True,
        help="region polygons with admin_code and admin_name columns (counties, townships, ...)",
    )
    add_data_args(p)
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="instead of one data set: a data folder per region, DATA_ROOT/<admin_code>/",
    )
    add_mode_args(p)
    p.add_argument(
        "--isochrones",
        type=float,
        nargs="*",
        default=None,
        help="also compute isochrone polygons at these minutes (default: none)",
    )
    p.add_argument(
        "--horizon-minutes",
        type=float,
        default=None,
        help="longest time computed exactly (default: --minutes); sizes the halo",
    )
    g = p.add_argument_group("siting (optional)")
    g.add_argument(
        "--new-sites",
        type=int,
        default=None,
        metavar="P",
        help="propose P new sites in every region (most residents newly covered)",
    )
    g.add_argument(
        "--regional-sites",
        type=int,
        default=None,
        metavar="B",
        help="a budget of B new sites for all regions, split where they cover the most",
    )
    g.add_argument(
        "--max-sites-per-region",
        type=int,
        default=None,
        metavar="K",
        help="with --regional-sites: sites optimised per region (default min(B, 10))",
    )
    p.add_argument(
        "--compliance",
        action="store_true",
        help="also check every region against the standards; writes compliance_checks.csv",
    )
    p.add_argument(
        "--scheduler", default=None, help="address of an existing Dask scheduler (tcp://HOST:PORT)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local cluster: number of workers (default: cores)",
    )
    p.add_argument(
        "--memory-limit",
        default=None,
        help="local cluster: memory per worker, e.g. 4GiB (default: auto)",
    )
    p.add_argument(
        "--serial", action="store_true", help="no Dask: run the regions one after another here"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def cmd_batch(args: Any) -> int:
    """Run ``planner batch`` from parsed arguments."""
    import sys

    from tqdm import tqdm

    t0 = time.perf_counter()
    settings = BatchSettings(
        mode=args.mode or "walk",
        minutes=float(args.minutes if args.minutes is not None else 15.0),
        tiers=tuple(args.tiers or ()),
        isochrone_minutes=tuple(args.isochrones) if args.isochrones else None,
        horizon_minutes=args.horizon_minutes,
        speed_kmh=args.speed_kmh,
        access_max_m=args.access_max_m,
        access_speed_factor=args.access_speed_factor,
        new_sites=args.new_sites,
        regional_sites=args.regional_sites,
        max_sites_per_region=args.max_sites_per_region,
        compliance=args.compliance,
    )
    bar = None if args.quiet else tqdm(total=0, unit="region", desc="regions", file=sys.stderr)

    def on_region(done: int, total: int, o: RegionOutcome) -> None:
        if bar is None:
            return
        bar.total = total
        bar.update(done - bar.n)
        bar.set_postfix_str(f"{o.admin_code} {'skipped' if o.skipped else f'{o.seconds:.1f} s'}")

    if not args.debug:
        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    data = args.data
    if data is None and args.data_root is None and args.roads is None:
        data = pipeline.DEMO_DIR
    res = run_batch(
        args.regions,
        data=data,
        data_root=args.data_root,
        roads=args.roads,
        facilities=args.facilities,
        population=args.population,
        boundaries=args.boundaries,
        facilities_crs=args.facilities_crs,
        settings=settings,
        out_dir=args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        memory_limit=args.memory_limit,
        executor="serial" if args.serial else "dask",
        on_region=on_region,
        on_cluster=lambda link: print(f"Dask dashboard: {link}", file=sys.stderr, flush=True),
    )
    if bar is not None:
        bar.close()
    top = res.summary.iloc[0]
    skipped = int(res.regions["skipped"].sum())
    print(
        f"{len(res.regions)} regions ({skipped} unchanged, skipped): population {top['population']:,.0f}, "
        f"covered {top['covered_population']:,.0f} ({100 * top['covered_share']:.1f} %) within "
        f"{settings.minutes:g} min ({settings.mode})"
    )
    for r in res.regions.itertuples():
        share = 100 * r.covered_share if r.population > 0 else float("nan")
        print(
            f"  {r.admin_code} {r.admin_name}: {r.population:,.0f} residents, {share:.1f} % covered"
        )
    if "siting_json" in res.written:
        sj = json.loads(res.written["siting_json"].read_text(encoding="utf-8"))
        print(
            f"{sj['new_sites']} new sites: +{sj['newly_covered_population']:,.0f} residents covered, "
            f"bound {sj['bound']:,.0f} (gap {100 * sj['gap']:.2f} %)"
        )
    print(
        f"wrote {', '.join(str(p) for p in res.written.values())} and {args.out}/regions/<admin_code>/"
    )
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0
