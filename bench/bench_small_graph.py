"""Public-API overhead and small-graph speed against scipy (issue 15).

``python -m bench.bench_small_graph [--sizes 2500 10000 40000]`` prints medians, each beside its
reference measured in the same process:

- ``nearest_facility`` through the public API on the Helsinki walk graph against the search it
  runs (``access.node_nearest``) and against the engine kernel left to choose its own bucket
  width (what ``node_nearest`` cost before the width was kept per network);
- reach sets within 15 minutes for 1,000 facilities (``access.reach``, one thread, sorted by
  time) against ``scipy.sparse.csgraph.dijkstra(limit=)`` two ways: from the unique seed nodes
  (less work than the job: fewer searches, no offsets, nothing sorted) and the same job (one
  search per facility from a virtual node with an arc of each seed's offset: the same sums),
  on the Helsinki drive and walk graphs and on synthetic cities of the given sizes: where
  planner and scipy cross over.

The Helsinki rows need the extract in ``../shared/data/helsinki`` (skipped when absent).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

import planner
from planner import _engine, access

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "helsinki"


def median_ms(fn: Callable[[], object], *, repeat: int = 15) -> float:
    """Median wall time of ``fn`` in ms after one untimed (compiling, caching) call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def interleaved_ms(fns: dict[str, Callable[[], object]], *, repeat: int = 7) -> dict[str, float]:
    """Median ms of each function, the calls interleaved (a shared machine's load hits all)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v) * 1e3) for k, v in times.items()}


def _facilities(net: planner.Network, n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = net.node_xy[rng.choice(net.n_nodes, n)] + rng.normal(0, 20, (n, 2))
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs)


def scipy_same_job(net: planner.Network, src: access.Sources, cutoff: float) -> np.ndarray:
    """Dense times of every facility's search with scipy: a virtual node per facility with an
    arc of each seed's offset to the seed (planner's sums, in planner's order)."""
    n, k = net.n_nodes, len(src)
    rows = np.concatenate(
        [
            np.repeat(np.arange(n), np.diff(net.rindptr)),
            np.repeat(np.arange(n, n + k), np.diff(src.src_ptr)),
        ]
    )
    cols = np.concatenate([net.rindices, src.seed_nodes]).astype(np.int64)
    w = np.concatenate([net.rweights, src.seed_times])
    g = sparse.csr_matrix((w, (rows, cols)), shape=(n + k, n + k))
    return dijkstra(g, indices=np.arange(n, n + k), limit=cutoff)


def nearest_row(walk: planner.Network) -> str:
    fac = _facilities(walk, 1000)
    rng = np.random.default_rng(1)
    pts_xy = walk.node_xy[rng.choice(walk.n_nodes, 2000)] + 5.0
    pts = gpd.GeoSeries(gpd.points_from_xy(pts_xy[:, 0], pts_xy[:, 1]), crs=walk.crs)
    src = access.facility_sources(walk, fac)
    labels = np.repeat(np.arange(len(src), dtype=np.int64), np.diff(src.src_ptr))

    def own_width() -> object:
        return _engine.nearest_source(
            walk.rindptr,
            walk.rindices,
            walk.rweights,
            src.seed_nodes,
            src.seed_times,
            labels,
            np.inf,
        )

    ms = interleaved_ms(
        {
            "api": lambda: planner.nearest_facility(walk, fac, pts),
            "kernel": lambda: access.node_nearest(walk, src),
            "own": own_width,
        },
        repeat=31,
    )
    return (
        f"| nearest_facility public API, 1,000 facilities, 2,000 points | walk {walk.n_nodes:,} "
        f"nodes | {ms['api']:.2f} | node_nearest {ms['kernel']:.2f}; kernel choosing its bucket "
        f"width {ms['own']:.2f} | {ms['api'] / ms['kernel']:.1f}x; {ms['api'] / ms['own']:.1f}x |"
    )


def reach_row(name: str, net: planner.Network, n_fac: int) -> str:
    src = access.facility_sources(net, _facilities(net, n_fac, seed=2))
    g = sparse.csr_matrix((net.rweights, net.rindices, net.rindptr), shape=(net.n_nodes,) * 2)
    seeds = np.unique(src.seed_nodes)
    ms = interleaved_ms(
        {
            "ours": lambda: access.reach(net, src, minutes=15.0, threads=1),
            "seeds": lambda: dijkstra(g, indices=seeds, limit=900.0),
            "job": lambda: scipy_same_job(net, src, 900.0),
        },
        repeat=5 if net.n_nodes > 20_000 else 7,
    )
    pairs = len(access.reach(net, src, minutes=15.0, threads=1).nodes)
    # per search: planner runs one per facility (each seeded with its offsets), scipy's cheaper
    # reference one per distinct seed node; what one search costs tells the two apart
    return (
        f"| reach sets 15 min, {n_fac:,} facilities ({pairs / n_fac:,.0f} nodes each) | {name} "
        f"{net.n_nodes:,} nodes | {ms['ours']:.1f} | scipy from {len(seeds):,} seed nodes "
        f"{ms['seeds']:.1f}; same job {ms['job']:.1f} | {ms['ours'] / ms['seeds']:.2f}x; "
        f"{ms['ours'] / ms['job']:.2f}x; per search {ms['ours'] / n_fac * 1e3:.0f} us vs "
        f"{ms['seeds'] / len(seeds) * 1e3:.0f} us ({ms['ours'] / n_fac / (ms['seeds'] / len(seeds)):.2f}x) |"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the comparisons as a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[2_500, 10_000, 40_000])
    args = ap.parse_args(argv)
    print("| job | graph | planner ms | reference ms | ratio |")
    print("|---|---|---|---|---|")
    pbf = DATA / "Helsinki.osm.pbf"
    if pbf.exists():
        roads = planner.load.read_roads(pbf)
        walk = planner.build_network(roads, "walk")
        print(nearest_row(walk), flush=True)
        print(reach_row("Helsinki drive", planner.build_network(roads, "drive"), 1000), flush=True)
        print(reach_row("Helsinki walk", walk, 1000), flush=True)
    else:
        print(f"(Helsinki rows skipped: {pbf} not found)")
    from bench.graphs import network_from_arrays, synthetic_city

    for size in args.sizes:
        city = synthetic_city(size)
        for mode in ("drive", "walk"):
            net = network_from_arrays(city, mode)
            print(reach_row(f"synthetic {mode}", net, 1000 if size <= 10_000 else 300), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
