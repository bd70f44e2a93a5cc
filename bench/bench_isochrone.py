"""Isochrone polygons: time and memory against the threshold and the number of facilities.

Run by ``python -m bench`` (the engine benchmark's ``isochrones`` job calls :func:`run`) or
alone: ``python -m bench.bench_isochrone [--quick]``. Writes ``bench/results/isochrone.md``;
``--targets K`` times only the two target rows on ``K`` facilities each (no file).

Rows (graphs from :mod:`bench.graphs`, facilities near random junctions, ``threads=2``):

- the issue's two targets: 5/10/15 min for 1,000 drive facilities on the 100k graph (<= 25 s)
  and 1,000 walk facilities on the 1M graph (<= 10 s); timed on a sample of facilities and
  scaled to 1,000 (the cost is per facility);
- the threshold curve: 15, 60 and 300 minutes, drive and walk, with the peak memory (target:
  bounded, <= 1 GB), the outline length, the grid cell used and the reported ``tolerance_m``,
  and the time per km of outline (the cost should grow no faster than the outline);
- the facility curve: the same job for 1x, 3x and 10x the facilities (time per facility flat);
- the reference in the same run: ``method="exact"`` (GEOS union of every piece's hull) on a few
  facilities, with the grid polygons' largest distance to it and the area ratio;
- the issue's real-data runs, when ``../shared/data`` is there: ``planner coverage`` on the
  Changsha roads with its 298 schools at 300 min with a 100 m raster (<= 10 s), and on the
  Helsinki walk extract with 500 facilities at 5/10/15 min (<= 5 s), as subprocesses (wall and
  CPU seconds of the whole run, warm kernel cache).

The machine is shared: every curve row carries CPU milliseconds per facility next to the wall
clock, and the exact reference runs in the same process.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from bench.bench_engine import LAST_CPU, Row, load_average, measure, record

RESULTS = Path(__file__).resolve().parent / "results" / "isochrone.md"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
THREADS = 2
CURVE: list[dict] = []  # the threshold and facility curves, for the markdown table


def facilities(net, k: int, seed: int = 5) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = net.node_xy[rng.choice(net.n_nodes, size=k, replace=False)] + rng.normal(0, 20, (k, 2))
    return gpd.GeoDataFrame(
        {"facility_id": [f"F{i}" for i in range(k)]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=net.crs,
    )


def _polys(net, fac, minutes, **kw):
    from planner.access import isochrones

    return isochrones(net, fac, minutes=minutes, threads=THREADS, **kw)


def _outline_km(iso: gpd.GeoDataFrame, crs) -> float:
    return float(shapely.length(iso.to_crs(crs).geometry.to_numpy()).sum() / 1e3)


def target_rows(ctx, sizes: dict[str, str], sample: int | None = None) -> None:
    """The issue's two targets (timed on a sample, scaled to 1,000 facilities; ``sample``
    facilities per mode instead of the default)."""
    plan = (
        ("drive", sizes["drive"], 25.0, "100k", 8 if ctx.quick else 40),
        ("walk", sizes["walk"], 10.0, "1M", 50 if ctx.quick else 200),
    )
    for mode, size, target, tgraph, k in plan:
        k = sample or k
        net = ctx.net(size, mode)
        fac = facilities(net, k)
        _polys(net, fac.iloc[:2], (5, 10, 15))  # compile / load the kernels
        iso, secs, peak, _ = measure(lambda net=net, fac=fac: _polys(net, fac, (5, 10, 15)), 1)
        cpu = LAST_CPU[0]
        tol = iso.groupby("minutes")["tolerance_m"].median()
        record(
            Row(
                job=f"isochrone polygons 5/10/15 min, 1,000 facilities, {mode}",
                graph=size,
                planner_s=secs * 1000 / k,
                cpu_s=cpu * 1000 / k,
                peak_mb=peak,
                target=f"<= {target:g} s (1,000 facilities, {tgraph} graph)",
                target_s=target,
                target_graph=tgraph,
                key=f"polygons-{mode}",
                note=f"timed on {k} facilities, {THREADS} threads, scaled to 1,000 "
                f"({secs / k * 1e3:,.1f} ms per facility); median tolerance_m "
                + ", ".join(f"{m:g} min {t:.0f} m" for m, t in tol.items()),
            )
        )


def threshold_curve(ctx, size: str) -> None:
    """15, 60, 300 minutes, drive and walk: time, memory, outline, cell."""
    k = 4 if ctx.quick else 10
    for mode in ("walk", "drive"):
        net = ctx.net(size, mode)
        fac = facilities(net, k, seed=7)
        for m in (15.0, 60.0, 300.0):
            iso, secs, peak, _ = measure(lambda net=net, fac=fac, m=m: _polys(net, fac, (m,)), 1)
            cpu = LAST_CPU[0]
            outline = _outline_km(iso, net.crs) / k
            row = dict(
                curve="threshold",
                mode=mode,
                graph=size,
                minutes=m,
                facilities=k,
                ms_per_facility=secs / k * 1e3,
                cpu_ms_per_facility=cpu / k * 1e3,
                peak_mb=peak,
                outline_km=outline,
                area_km2=float(iso["area_km2"].mean()),
                tolerance_m=float(iso["tolerance_m"].median()),
                ms_per_outline_km=secs / k * 1e3 / max(outline, 1e-9),
                cpu_ms_per_outline_km=cpu / k * 1e3 / max(outline, 1e-9),
            )
            CURVE.append(row)
            record(
                Row(
                    job=f"isochrone polygons, {mode}, {m:g} min (threshold curve)",
                    graph=size,
                    planner_s=secs / k,
                    cpu_s=cpu / k,
                    peak_mb=peak,
                    target="<= 1 GB whatever the threshold",
                    target_mb=1024.0,
                    note=f"s per facility ({k} timed); outline {outline:,.0f} km, area "
                    f"{row['area_km2']:,.0f} km2, tolerance {row['tolerance_m']:.0f} m, "
                    f"{row['ms_per_outline_km']:.2f} ms (CPU {row['cpu_ms_per_outline_km']:.2f} "
                    "ms) per km of outline",
                )
            )


def facility_curve(ctx, size: str) -> None:
    """1x, 3x, 10x facilities at 5/10/15 min, walk and drive: the time per facility should
    stay flat."""
    for mode, base in (("walk", 10 if ctx.quick else 30), ("drive", 2 if ctx.quick else 4)):
        net = ctx.net(size, mode)
        for k in (base, 3 * base, 10 * base):
            fac = facilities(net, k, seed=9)
            iso, secs, peak, _ = measure(lambda net=net, fac=fac: _polys(net, fac, (5, 10, 15)), 1)
            cpu = LAST_CPU[0]
            big = iso[iso["minutes"] == 15]
            CURVE.append(
                dict(
                    curve="facilities",
                    mode=mode,
                    graph=size,
                    minutes=15.0,
                    facilities=k,
                    ms_per_facility=secs / k * 1e3,
                    cpu_ms_per_facility=cpu / k * 1e3,
                    peak_mb=peak,
                    outline_km=_outline_km(big, net.crs) / k,
                    area_km2=float(big["area_km2"].mean()),
                    tolerance_m=float(big["tolerance_m"].median()),
                    ms_per_outline_km=float("nan"),
                    cpu_ms_per_outline_km=float("nan"),
                )
            )
            record(
                Row(
                    job=f"isochrone polygons, {mode} 5/10/15 min, {k} facilities (facility curve)",
                    graph=size,
                    planner_s=secs,
                    cpu_s=cpu,
                    peak_mb=peak,
                    note=f"{secs / k * 1e3:.1f} ms (CPU {cpu / k * 1e3:.1f} ms) per facility",
                )
            )


def exact_reference(ctx, size: str) -> None:
    """``method="exact"`` on a few facilities: its time, and how far the grid polygons are."""
    for mode, k in (("walk", 3), ("drive", 1)):
        net = ctx.net(size, mode)
        fac = facilities(net, k, seed=13)
        grid, g_secs, _, _ = measure(lambda net=net, fac=fac: _polys(net, fac, (5, 10, 15)), 1)
        g_cpu = LAST_CPU[0]
        exact, e_secs, e_peak, _ = measure(
            lambda net=net, fac=fac: _polys(net, fac, (5, 10, 15), method="exact"), 1
        )
        e_cpu = LAST_CPU[0]
        g = grid.to_crs(net.crs).geometry.to_numpy()
        e = exact.to_crs(net.crs).geometry.to_numpy()
        ratio = shapely.area(g) / shapely.area(e)
        tol = grid["tolerance_m"].to_numpy()
        # the stated bound, as areas (a vertex Hausdorff distance would count a sub-cell hole of
        # one polygon, filled in the other, as far off): the share of each polygon farther than
        # tolerance_m from the other (the exact one's needle tips along fast roads may be)
        g_out = shapely.area(shapely.difference(g, shapely.buffer(e, tol + 1.0))) / shapely.area(g)
        e_out = shapely.area(shapely.difference(e, shapely.buffer(g, tol + 1.0))) / shapely.area(e)
        record(
            Row(
                job=f"isochrone polygons 5/10/15 min, {mode}: grid against method='exact'",
                graph=size,
                planner_s=g_secs / k,
                cpu_s=g_cpu / k,
                refs=[("exact (GEOS union)", e_secs / k)],
                peak_mb=e_peak,
                note=f"s per facility ({k} facilit{'y' if k == 1 else 'ies'}); CPU ratio exact / "
                f"grid {e_cpu / max(g_cpu, 1e-9):.1f}x; reported tolerance_m "
                f"{tol.min():.0f}-{tol.max():.0f} m; share of the grid polygon farther than it "
                f"(+1 m for the exact one's arcs) from the exact one: at most {g_out.max():.2e}; "
                f"of the exact one from the grid one: at most {e_out.max():.2e} (needle tips); "
                f"area grid / exact {ratio.min():.4f}-{ratio.max():.4f}",
            )
        )


def _cli_run(args: list[str]) -> tuple[float, float]:
    """``planner coverage`` with ``args`` in a subprocess: (wall seconds, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "planner.cli", "coverage", *args, "--no-map", "--quiet"],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _helsinki_facilities(path: Path, k: int = 500) -> None:
    """``k`` facilities near random junctions of the Helsinki walk network (seeded)."""
    import planner

    roads = planner.load.read_roads(DATA / "helsinki" / "Helsinki.osm.pbf")
    net = planner.build_network(roads, "walk")
    rng = np.random.default_rng(0)
    xy = net.node_xy[rng.choice(net.n_nodes, k, replace=False)] + rng.normal(0, 20, (k, 2))
    gpd.GeoDataFrame(
        {"facility_id": [f"h{i}" for i in range(k)], "tier": "other"},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=net.crs,
    ).to_crs(4326).to_file(path)


def real_data_rows(ctx) -> None:
    """The issue's whole-run targets on real data (skipped when ../shared/data is absent)."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        cs = DATA / "changsha"
        if (cs / "roads.shp").exists():
            jobs.append(
                (
                    "`planner coverage` Changsha, 298 schools, walk, 5/10/15/300 min + 100 m raster",
                    ["--roads", str(cs / "roads.shp"), "--facilities", str(cs / "schools.shp")]
                    + ["--tiers", "other", "--minutes", "300", "--raster-cell", "100"],
                    10.0,
                )
            )
        if (DATA / "helsinki" / "Helsinki.osm.pbf").exists():
            fac = Path(tmp) / "helsinki_facilities.geojson"
            _helsinki_facilities(fac)
            jobs.append(
                (
                    "`planner coverage` Helsinki extract, 500 facilities, walk, 5/10/15 min",
                    ["--roads", str(DATA / "helsinki" / "Helsinki.osm.pbf")]
                    + ["--facilities", str(fac), "--tiers", "other"],
                    5.0,
                )
            )
        for i, (job, args, target) in enumerate(jobs):
            out = ["--out", str(Path(tmp) / f"out{i}")]
            _cli_run(args + out)  # warm: the kernel cache is written by the first run
            wall, cpu = _cli_run(args + out)
            record(
                Row(
                    job=job,
                    graph="real",
                    planner_s=wall,
                    cpu_s=cpu,
                    target=f"<= {target:g} s whole run",
                    target_s=target,
                    note=f"whole run in a subprocess, second of two (kernels cached); CPU "
                    f"{cpu:.1f} s",
                )
            )


def _curve_line(c: dict) -> str:
    per_km = c["ms_per_outline_km"]
    cpu_km = c["cpu_ms_per_outline_km"]
    return (
        f"| {c['curve']} | {c['mode']} | {c['graph']} | {c['minutes']:g} | {c['facilities']} | "
        f"{c['ms_per_facility']:,.1f} | {c['cpu_ms_per_facility']:,.1f} | {c['peak_mb']:,.0f} | "
        f"{c['outline_km']:,.1f} | {c['area_km2']:,.1f} | {c['tolerance_m']:.0f} | "
        f"{'' if per_km != per_km else f'{per_km:.2f}'} | "
        f"{'' if cpu_km != cpu_km else f'{cpu_km:.2f}'} |"
    )


def write(rows_from: int, started: float, quick: bool) -> Path:
    from bench.__main__ import COLUMNS  # the summary table's columns, plus the notes
    from bench.bench_engine import ROWS, fmt, header

    cols = (*COLUMNS[:3], "cpu", *COLUMNS[3:], "notes")
    lines = [
        "# isochrone polygons: time and memory against threshold and facilities",
        "",
        f"`python -m bench.bench_isochrone{' --quick' if quick else ''}` (also the `isochrones` "
        f"job of `python -m bench`), {time.strftime('%Y-%m-%d %H:%M')}, {THREADS} threads; "
        f"total {time.perf_counter() - started:.0f} s; load average at the end {load_average()} "
        "(2 cores shared with other work: wall-clock figures carry its noise, CPU figures "
        "less so). Peak MB: rise of the resident set over the call.",
        "",
        header(cols),
        *(fmt(r, cols) for r in ROWS[rows_from:]),
        "",
        "## The curves",
        "",
        "Per facility; the 15-minute polygon's outline and area for the facility curve. The "
        "cost should follow the outline (the last two columns flat), not the area.",
        "",
        "| curve | mode | graph | minutes | facilities | ms per facility | CPU ms per facility "
        "| peak MB | outline km per polygon | area km2 | tolerance_m (median) | ms per km of "
        "outline | CPU ms per km of outline |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_curve_line(c) for c in CURVE),
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".md.tmp")  # written whole, then renamed
    tmp.write_text("\n".join(lines))
    tmp.replace(RESULTS)
    print(f"wrote {RESULTS}", flush=True)
    return RESULTS


def run(ctx) -> None:
    """Every isochrone row, into the shared table and ``bench/results/isochrone.md``."""
    from bench.bench_engine import ROWS

    started = time.perf_counter()
    first = len(ROWS)
    CURVE.clear()
    small = "100k"
    target_rows(ctx, {"drive": small, "walk": ctx.big})
    if ctx.big != small:
        ctx.drop(ctx.big)
    threshold_curve(ctx, small)
    facility_curve(ctx, small)
    exact_reference(ctx, small)
    real_data_rows(ctx)
    write(first, started, ctx.quick)


def main(argv: list[str] | None = None) -> int:
    from bench.bench_engine import HEADER, Context

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k-node graph only, fewer facilities")
    ap.add_argument(
        "--targets",
        type=int,
        metavar="K",
        help="only the two target rows, timed on K facilities each (printed, no results file): "
        "a quick check of the CPU per facility on a shared machine",
    )
    args = ap.parse_args(argv)
    print(HEADER, flush=True)
    ctx = Context(args.quick)
    if args.targets:
        target_rows(ctx, {"drive": "100k", "walk": ctx.big}, sample=args.targets)
        return 0
    run(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
