"""``python -m bench.bench_batch [--counties 20] [--mode walk]``: planner batch on a synthetic region.

Builds a region of demo-like counties (:func:`planner.synthetic.make_region`: ~476,000 residents
each, roads and clinics across borders), then runs ``planner batch`` on it with 1 and 2 Dask
workers (and once serially in this process, the reference), and prints and writes
``bench/results/batch.md``: total time, time per county, peak memory per worker, the speed-up
from the second worker, and the cost per county against the number of counties (the curve),
with what a province (160 counties) and the whole country (2,850 counties) would take at the
measured rate. Every run's summary must equal the serial run's (checked here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def _run(region: Path, out: Path, settings, **kw):
    from planner import batch

    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    res = batch.run_batch(
        region / "regions.gpkg", data=kw.pop("data"), settings=settings, out_dir=out, **kw
    )
    return res, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.bench_batch", description=__doc__.splitlines()[0]
    )
    ap.add_argument(
        "--counties", type=int, default=20, help="counties in the synthetic region (default 20)"
    )
    ap.add_argument("--mode", default="walk")
    ap.add_argument("--minutes", type=float, default=15.0)
    args = ap.parse_args(argv)
    import logging

    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import planner
    from planner import batch
    from planner.synthetic import make_region

    cols = 5 if args.counties >= 10 else 2
    rows_ = max(1, -(-args.counties // cols))
    tmp = Path(tempfile.mkdtemp(prefix="planner-bench-batch-"))
    try:
        t = time.perf_counter()
        region = make_region(tmp / "region", cols=cols, rows=rows_)
        t_make = time.perf_counter() - t
        t = time.perf_counter()
        ds = planner.load_dataset(region)
        t_load = time.perf_counter() - t
        n = cols * rows_
        st = batch.BatchSettings(mode=args.mode, minutes=args.minutes)
        lines = []
        ref, t_serial = _run(region, tmp / "serial", st, data=ds, executor="serial")
        runs = {"serial (this process)": (ref, t_serial)}
        for w in (1, 2):
            res, secs = _run(region, tmp / f"w{w}", st, data=ds, workers=w)
            pd.testing.assert_frame_equal(res.summary, ref.summary)  # same answers on any cluster
            runs[f"Dask, {w} worker{'s' if w > 1 else ''}"] = (res, secs)
        # the curve: the same job on the first k counties
        curve = []
        for k in sorted({1, 2, 4, min(8, n), n}):
            reg = batch.read_regions(region / "regions.gpkg").iloc[:k]
            t = time.perf_counter()
            batch.run_batch(reg, data=ds, settings=st, out_dir=tmp / f"curve{k}", executor="serial")
            curve.append((k, time.perf_counter() - t))
        pop = ref.summary.iloc[0]["population"]
        lines += [
            "# planner batch: many counties on Dask",
            "",
            f"`python -m bench.bench_batch --counties {args.counties} --mode {args.mode}` on {os.cpu_count()} cores, "
            f"{time.strftime('%Y-%m-%d %H:%M')}. Synthetic region of {n} demo-like counties "
            f"({pop:,.0f} residents, {len(ds.roads):,} road lines, {len(ds.facilities):,} facilities; "
            f"made in {t_make:.1f} s, loaded in {t_load:.1f} s); {args.mode}, {args.minutes:g} min, no isochrone "
            "polygons. Every run's summary equals the serial run's (checked).",
            "",
            "| run | total s | per county s (median) | peak MB per worker (max) | speed-up vs 1 worker |",
            "|---|---|---|---|---|",
        ]
        one = runs["Dask, 1 worker"][1]
        for name, (res, secs) in runs.items():
            r = res.regions
            lines.append(
                f"| {name} | {secs:.1f} | {statistics.median(r['seconds']):.2f} | "
                f"{r['peak_rss_mb'].max():,.0f} | {one / secs:.2f} |"
            )
        lines += [
            "",
            "Cost against the number of counties (serial, in this process):",
            "",
            "| counties | seconds | seconds per county |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {s:.1f} | {s / k:.2f} |" for k, s in curve]
        per = runs["Dask, 2 workers"][1] / n
        lines += [
            "",
            f"At the measured {per:.2f} s per county with 2 workers (cutting included), a province of "
            f"160 counties takes about {160 * per / 60:.1f} min and the country's 2,850 counties about "
            f"{2850 * per / 60:.0f} min on this 2-core machine; each worker peaked at "
            f"{runs['Dask, 2 workers'][0].regions['peak_rss_mb'].max():,.0f} MB. Real counties have more "
            "roads and residents than these synthetic ones; scale by their size (the curve above is linear).",
            "",
        ]
        text = "\n".join(lines)
        print(text)
        RESULTS.mkdir(exist_ok=True)
        tmp_out = RESULTS / "batch.md.tmp"
        tmp_out.write_text(text, encoding="utf-8")
        os.replace(tmp_out, RESULTS / "batch.md")
        print(f"wrote {RESULTS / 'batch.md'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
