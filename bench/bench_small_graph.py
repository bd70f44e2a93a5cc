"""Public-API overhead and small-graph speed on a real city extract (issue 15).

``python -m bench.bench_small_graph`` prints medians, each beside its reference measured in
the same process: ``nearest_facility`` through the public API against the engine kernel it
calls, and drive reach sets against ``scipy.sparse.csgraph.dijkstra(limit=)``. The graph is
the Helsinki extract in ``../shared/data/helsinki`` (skipped when absent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

import planner
from planner import access

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


def _facilities(net: planner.Network, n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = net.node_xy[rng.choice(net.n_nodes, n)] + rng.normal(0, 20, (n, 2))
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs)


def main() -> int:
    """Print the two comparisons as a markdown table."""
    pbf = DATA / "Helsinki.osm.pbf"
    if not pbf.exists():
        print(f"skipped: {pbf} not found")
        return 0
    roads = planner.load.read_roads(pbf)
    print("| job | graph | planner ms | reference ms | ratio |")
    print("|---|---|---|---|---|")
    walk = planner.build_network(roads, "walk")
    fac = _facilities(walk, 1000)
    rng = np.random.default_rng(1)
    pts_xy = walk.node_xy[rng.choice(walk.n_nodes, 2000)] + 5.0
    pts = gpd.GeoSeries(gpd.points_from_xy(pts_xy[:, 0], pts_xy[:, 1]), crs=walk.crs)
    src = access.facility_sources(walk, fac)
    kern = median_ms(lambda: access.node_nearest(walk, src))
    api = median_ms(lambda: planner.nearest_facility(walk, fac, pts))
    print(
        f"| nearest_facility public API vs kernel, 1,000 facilities, 2,000 points "
        f"| walk {walk.n_nodes:,} nodes | {api:.2f} | {kern:.2f} | {api / kern:.1f}x |"
    )
    drive = planner.build_network(roads, "drive")
    dfac = _facilities(drive, 1000, seed=2)
    dsrc = access.facility_sources(drive, dfac)
    ours = median_ms(lambda: access.reach(drive, dsrc, minutes=15.0, threads=1), repeat=5)
    g = csr_matrix((drive.rweights, drive.rindices, drive.rindptr), shape=(drive.n_nodes,) * 2)
    seeds = np.unique(dsrc.seed_nodes)
    ref = median_ms(lambda: dijkstra(g, indices=seeds, limit=900.0), repeat=5)
    print(
        f"| drive reach sets 15 min, 1,000 facilities (scipy: {len(seeds)} seed nodes) "
        f"| drive {drive.n_nodes:,} nodes | {ours:.1f} | {ref:.1f} | {ours / ref:.2f}x |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
