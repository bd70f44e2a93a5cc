"""``python -m bench [--quick] [--only NAME]``: the engine benchmark, then the optimizer's.

The engine part is :mod:`bench.bench_engine` (table in ``bench/results/engine.md``); the
optimizer part is ``bench.bench_optimize`` (its own table, ``bench/results/optimize.md``),
run when that module exists. ``--only optimize`` runs only the optimizer part; any other
``--only`` names engine jobs (``--list`` shows them) and skips the optimizer.
"""

from __future__ import annotations

import argparse
import inspect
import sys

from bench import bench_engine


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small instances (~2 minutes per part)")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="one engine job (repeatable), or 'optimize'")
    ap.add_argument("--list", action="store_true", help="list the engine jobs and exit")
    args = ap.parse_args(argv)
    if args.list:
        return bench_engine.main(["--list"])
    engine_jobs = [n for n in args.only if n != "optimize"]
    status = 0
    if not args.only or engine_jobs:
        flags = (["--quick"] if args.quick else []) + [f"--only={n}" for n in engine_jobs]
        status = bench_engine.main(flags) or status
    if not args.only or "optimize" in args.only:
        status = _optimizer(args.quick) or status
    return status


def _optimizer(quick: bool) -> int:
    try:
        from bench import bench_optimize
    except ImportError as exc:
        print(f"bench.bench_optimize not available ({exc}); skipped the optimizer benchmark")
        return 0
    entry = getattr(bench_optimize, "main", None)
    if entry is None:
        print("bench.bench_optimize has no main(); skipped the optimizer benchmark")
        return 0
    print("\n# optimizer benchmark (bench.bench_optimize)\n", flush=True)
    params = inspect.signature(entry).parameters
    if "quick" in params:  # main(quick=...)
        return entry(quick=quick) or 0
    return entry(["--quick"] if quick else []) or 0  # main(argv)


if __name__ == "__main__":
    sys.exit(main())
