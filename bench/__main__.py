"""``python -m bench [--quick] [--only NAME]``: every target of the speed issue, in one table.

Runs the engine benchmark (:mod:`bench.bench_engine`, detailed table in
``bench/results/engine.md``; it includes the demo county's cold run and the app's what-if,
:mod:`bench.bench_whatif`), then the optimizer's (:mod:`bench.bench_optimize`, detailed table
in ``bench/results/optimize.md``), and ends with one summary table of every target, PASS or
FAIL, with the references measured in the same run: printed and written to
``bench/results/summary.md``. The exit status is 1 when a target fails, a job breaks or (in a
run without ``--only``) a target was not measured.

``--quick`` uses the 100k-node graph and smaller optimizer instances; targets stated for the
1M-node graph then read ``n/a``. ``--only optimize`` runs only the optimizer part; any other
``--only`` names engine jobs (``--list`` shows them) and skips the optimizer. Runs with
``--only`` write ``bench/results/summary.only.tmp`` instead, so a partial run never replaces
the full table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from bench import bench_engine, bench_optimize
from bench.bench_engine import Row, fmt, header

RESULTS = Path(__file__).resolve().parent / "results"

#: The issue's targets, in its order: row key -> the job as the issue states it.
TARGETS = {
    "reach-drive": "1,000 drive isochrones (15 min) on a 1M-node graph, reach sets",
    "reach-walk": "1,000 walk isochrones (15 min) on a 1M-node graph, reach sets",
    "nearest": "nearest-facility time for every node, 1,000 facilities, 1M drive",
    "coverage-walk": "coverage sets, 100k demand x 5k candidates, 15-min walk",
    "coverage-drive": "coverage sets, 100k demand x 5k candidates, 15-min drive",
    "mclp": "MCLP p=100 on 100k x 5k (walk)",
    "whatif": "one what-if station on the demo county (scenario loaded)",
    "memory": "engine memory for a 1M-node graph, one mode",
    "demo": "full `planner coverage` on the demo county, cold",
    "polygons-drive": "isochrone polygons 5/10/15 min, 1,000 facilities, drive, 100k graph",
    "polygons-walk": "isochrone polygons, 1,000 facilities, walk, 1M graph",
}
#: Rows shown without a target.
FIGURES: tuple[str, ...] = ()
COLUMNS = ("job", "graph", "planner", "refs", "ratio", "peak", "target", "result")


def summary_rows(complete: bool) -> list[Row]:
    """One row per target (a ``NOT RUN`` row for a missing one when ``complete``), the
    figures without a target, and every job that broke."""
    rows = bench_engine.ROWS + bench_optimize.summary_rows()
    by_key = {r.key: r for r in rows if r.key}
    out = []
    for key, job in TARGETS.items():
        if key in by_key:
            out.append(by_key[key])
        elif complete:
            out.append(Row(job=job, graph="-", planner_s=None, status="NOT RUN", key=key))
    out += [by_key[k] for k in FIGURES if k in by_key]
    out += [r for r in rows if r.status == "ERROR"]
    return out


def failed(row: Row) -> bool:
    return row.judge().startswith(("FAIL", "ERROR", "NOT RUN"))


def write_summary(
    rows: list[Row], table: list[str], args: argparse.Namespace, started: float
) -> Path:
    flags = " --quick" if args.quick else ""
    flags += "".join(f" --only {n}" for n in args.only)
    path = RESULTS / ("summary.only.tmp" if args.only else "summary.md")
    n_fail = sum(failed(r) for r in rows)
    verdict = (
        f"{n_fail} of {len(rows)} rows FAIL, broke or were not run"
        if n_fail
        else "Every target measured here is met"
    )
    lines = [
        "# planner speed: every target of the issue",
        "",
        f"`python -m bench{flags}` on {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}; total {time.perf_counter() - started:.0f} s; load "
        f"average at the end {bench_engine.load_average()}, free cores {bench_engine.free_cores():.2f} "
        f"(2.0 on an idle machine; wall-clock figures carry the noise of other processes). "
        f"{verdict}.",
        "",
        "planner: median wall-clock seconds (details, CPU seconds and the number of runs in "
        "`engine.md` and `optimize.md` beside this file). References ran in the same process "
        "and the same run. Ratio: reference / planner (for spopt: on the instance spopt "
        "solved; for memory: MB / MB). Peak MB: rise of the process's resident set over the "
        "call. Targets stated for the 1M-node graph read `n/a` in a --quick run.",
        "",
        *table,
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small instances (a few minutes)")
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="one engine job (repeatable), or 'optimize'",
    )
    ap.add_argument("--list", action="store_true", help="list the engine jobs and exit")
    args = ap.parse_args(argv)
    if args.list:
        return bench_engine.main(["--list"])
    started = time.perf_counter()
    engine_jobs = [n for n in args.only if n != "optimize"]
    if not args.only or engine_jobs:
        flags = (["--quick"] if args.quick else []) + [f"--only={n}" for n in engine_jobs]
        bench_engine.main(flags)
    if not args.only or "optimize" in args.only:
        print("\n# optimizer benchmark (bench.bench_optimize)\n", flush=True)
        bench_optimize.main(["--quick"] if args.quick else [])
    rows = summary_rows(complete=not args.only)
    table = [header(COLUMNS), *(fmt(r, COLUMNS) for r in rows)]
    path = write_summary(rows, table, args, started)
    print("\n# summary: every target of the issue\n", *table, f"\nwrote {path}", sep="\n")
    return 1 if any(failed(r) for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
