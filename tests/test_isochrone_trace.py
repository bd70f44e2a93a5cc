"""Isochrone polygons: the compiled grid path piece by piece, against independent references.

- the field kernel (blocks skipped when full or out of reach, pieces skipped when every block
  they touch is full) against a brute-force minimum over densely sampled road points;
- the marching-squares tracer against contourpy on random fields (same zero level);
- a smaller threshold's field raised to a larger one's traces inside its polygon (nesting by
  construction), and the ring test of nesting across cells against GEOS;
- the compiled Douglas-Peucker (small polygons) against the bound it promises;
- large thresholds: the grid stays within ``max_cells`` nodes and the process's memory stays
  bounded whatever the threshold (a subprocess, so the peak is this job's alone).
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from conftest import UTM, random_roads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import _isochrone, _isochrone_field, _isochrone_trace
from planner.access import isochrones
from planner.network import build_network

ROOT = Path(__file__).resolve().parents[1]


def _random_pieces(rng, n, extent, rmax):
    x = rng.uniform(0, extent, (2, n))
    y = rng.uniform(0, extent, (2, n))
    r = rng.uniform(0.5, rmax, (2, n))
    return _isochrone.Pieces(x[0], y[0], r[0], x[1], y[1], r[1])


def _brute_field(p, px, py, samples=200):
    """min over pieces of min over s of |x - p(s)| - r(s), s sampled on each piece."""
    s = np.linspace(0.0, 1.0, samples)
    best = np.full(px.shape, np.inf)
    for k in range(len(p)):
        cx = p.x0[k] + s * (p.x1[k] - p.x0[k])
        cy = p.y0[k] + s * (p.y1[k] - p.y0[k])
        cr = p.r0[k] + s * (p.r1[k] - p.r0[k])
        d = np.hypot(px[..., None] - cx, py[..., None] - cy) - cr
        best = np.minimum(best, d.min(axis=-1))
    return best


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 20),
    rmax=st.sampled_from([30.0, 120.0, 300.0]),
    h=st.sampled_from([8.0, 15.0]),
)
def test_field_matches_brute_force_near_the_outline(seed, n, rmax, h):
    # the kernel skips blocks and pieces: wherever the outline can pass (|f| < 1.5 cells) its
    # value must be the true minimum, and its sign must be right everywhere
    rng = np.random.default_rng(seed)
    p = _random_pieces(rng, n, 400.0, rmax)
    gx0, gy0, nx, ny = _isochrone.lattice(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, h)
    band = 1.5 * h
    block = max(2, min(_isochrone.BLOCK, int(max(p.r0.max(), p.r1.max()) / (3.0 * h))))
    z = np.empty((ny, nx))
    _isochrone_field.field(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, gx0, gy0, h, band, block, z)
    px, py = np.meshgrid(gx0 + h * np.arange(nx), gy0 + h * np.arange(ny))
    ref = _brute_field(p, px, py)
    # sampling 200 points a piece overestimates the minimum by at most half a step (the radius
    # changes by less than the distance along the piece)
    slack = np.hypot(p.x1 - p.x0, p.y1 - p.y0).max() / 199 + 1e-9
    near = np.abs(ref) < band - slack
    assert np.all(z[near] <= ref[near] + 1e-9)
    assert np.all(z[near] >= ref[near] - slack)
    sure = np.abs(ref) > slack
    assert np.all(np.sign(z[sure]) == np.sign(ref[sure]))
    assert np.all(z <= band + 1e-9)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    rmax=st.sampled_from([30.0, 120.0, 300.0]),
    h=st.sampled_from([5.0, 15.0, 40.0]),
)
def test_live_blocks_hold_every_crossed_cell(seed, n, rmax, h):
    # the field returns the blocks the outline may cross; tracing only those must give the
    # polygon traced over every block (small pieces are evaluated row by row, large ones
    # block by block: both kinds in one field)
    rng = np.random.default_rng(seed)
    p = _random_pieces(rng, n, 600.0, rmax)
    gx0, gy0, nx, ny = _isochrone.lattice(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, h)
    band = 1.5 * h
    block = max(2, min(_isochrone.BLOCK, int(max(p.r0.max(), p.r1.max()) / (3.0 * h))))
    z = np.empty((ny, nx))
    live = _isochrone_field.field(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, gx0, gy0, h, band, block, z)
    every = np.ones_like(live)
    got = _isochrone_trace.march(z, live, block)
    ref = _isochrone_trace.march(z, every, block)
    a = _isochrone_trace.assemble(*got, _isochrone_trace.signed_areas(*got))
    b = _isochrone_trace.assemble(*ref, _isochrone_trace.signed_areas(*ref))
    assert len(got[0]) == len(ref[0])
    assert a.area == pytest.approx(b.area, rel=1e-12, abs=1e-9)
    assert shapely.symmetric_difference(a, b).area <= 1e-9 * max(b.area, 1.0)


def _contourpy_polygon(z):
    import contourpy

    gen = contourpy.contour_generator(z=z, name="serial", fill_type=contourpy.FillType.OuterOffset)
    points, offsets = gen.filled(-1e9, 0.0)
    polys = []
    for pts, off in zip(points, offsets, strict=True):
        rings = [shapely.LinearRing(pts[a:b]) for a, b in zip(off[:-1], off[1:], strict=True)]
        polys.append(shapely.Polygon(rings[0], rings[1:]))
    return shapely.union_all(polys) if polys else shapely.Polygon()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(3, 40), nx=st.integers(3, 40))
def test_marching_squares_matches_contourpy(seed, ny, nx):
    # random fields (many saddles, holes and islands) with an outside border, as the lattice's
    # padding guarantees; the rings must form a valid polygon equal to contourpy's
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.0, (ny, nx)) + 0.3
    z[0, :] = z[-1, :] = z[:, 0] = z[:, -1] = 1.0
    xs, ys, ptr = _isochrone_trace.march(z, np.ones((1, 1), dtype=bool), max(ny, nx))  # one block
    area = _isochrone_trace.signed_areas(xs, ys, ptr)
    got = _isochrone_trace.assemble(xs, ys, ptr, area)
    ref = _contourpy_polygon(z)
    assert got.is_valid
    assert got.area == pytest.approx(ref.area, rel=1e-9, abs=1e-9)
    # saddles may be joined differently (both are valid readings): at most their cells differ
    n_saddle = int(
        (
            ((z[:-1, :-1] < 0) == (z[1:, 1:] < 0))
            & ((z[:-1, 1:] < 0) == (z[1:, :-1] < 0))
            & ((z[:-1, :-1] < 0) != (z[:-1, 1:] < 0))
        ).sum()
    )
    assert shapely.symmetric_difference(got, ref).area <= n_saddle + 1e-9


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ny=st.integers(3, 30),
    nx=st.integers(3, 30),
    oj=st.integers(0, 4),
    oi=st.integers(0, 4),
)
def test_raised_field_traces_inside(seed, ny, nx, oj, oi):
    # a smaller threshold's field (on a window of the larger one's lattice, nodes offset by
    # (oj, oi)) raised to the larger one's node by node traces inside the larger one's polygon:
    # marching squares is monotone in the node values (what lets grid_polygons skip the
    # intersection). Random fields with many saddles and ties
    rng = np.random.default_rng(seed)
    big = rng.normal(0.0, 1.0, (ny + oj + 2, nx + oi + 2)) + 0.3
    big[0, :] = big[-1, :] = big[:, 0] = big[:, -1] = 1.0
    win = big[oj : oj + ny, oi : oi + nx]
    small = win + np.where(rng.random(win.shape) < 0.3, 0.0, rng.exponential(0.5, win.shape))
    small -= rng.random(win.shape) < 0.2  # some nodes below the larger field: raised back
    small[0, :] = small[-1, :] = small[:, 0] = small[:, -1] = 1.0
    small = np.ascontiguousarray(small)
    live = _isochrone_trace.raised(small, big, oj, oi, max(ny, nx))
    assert (small >= win).all()
    assert bool(live.all()) == bool(live.any())  # one block
    one = np.ones((1, 1), dtype=bool)
    polys = []
    for z, dj, di in ((big, 0, 0), (small, oj, oi)):
        xs, ys, ptr = _isochrone_trace.march(z, one, max(z.shape))
        area = _isochrone_trace.signed_areas(xs, ys, ptr)
        polys.append(_isochrone_trace.assemble(xs + di, ys + dj, ptr, area))
    assert polys[0].is_valid and polys[1].is_valid
    assert polys[1].is_empty or polys[0].buffer(1e-9).covers(polys[1])
    assert shapely.difference(polys[1], polys[0]).area < 1e-9


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), tol=st.sampled_from([0.05, 0.1, 0.5]))
def test_ring_simplification_stays_within_tolerance(seed, tol):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 300))
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = 20 + rng.normal(0, 0.3, n).cumsum() * 0.1
    xs, ys = rad * np.cos(t), rad * np.sin(t)
    ptr = np.array([0, n])
    keep = _isochrone_trace.simplify_rings(xs, ys, ptr, tol)
    assert keep[0] and keep.sum() >= 2
    ring = shapely.LineString(np.c_[np.r_[xs, xs[:1]], np.r_[ys, ys[:1]]])
    kx, ky = xs[keep], ys[keep]
    simple = shapely.LineString(np.c_[np.r_[kx, kx[:1]], np.r_[ky, ky[:1]]])
    # every dropped vertex lies within tol of the simplified ring
    assert shapely.distance(shapely.points(xs, ys), simple).max() <= tol + 1e-9
    assert shapely.hausdorff_distance(ring, simple) <= tol + 1e-9


def _traced_rings(z):
    xs, ys, ptr = _isochrone_trace.march(z, np.ones((1, 1), dtype=bool), max(z.shape))
    area = _isochrone_trace.signed_areas(xs, ys, ptr)
    return xs, ys, ptr, _isochrone_trace.assemble(xs, ys, ptr, area)


def _nested_fields(rng, n, lift, off):
    """A coarse field (cell 2) and a fine one (cell 1, node (j, i) at ``off + i``, ``off + j``)
    that mostly lies above it (bilinear) plus noise, dipping below at a few nodes."""
    big = rng.normal(0.0, 1.0, (n, n)) - 0.5
    big[0, :] = big[-1, :] = big[:, 0] = big[:, -1] = 1.0
    u = np.clip((off + np.arange(2 * n)) / 2, 0, n - 1)
    i0 = np.minimum(np.floor(u).astype(int), n - 2)
    t = u - i0
    rows = big[:, i0] * (1 - t) + big[:, i0 + 1] * t
    fine = rows[i0, :] * (1 - t)[:, None] + rows[i0 + 1, :] * t[:, None]
    fine += lift + rng.exponential(0.3, fine.shape) - (rng.random(fine.shape) < 0.03)
    fine[0, :] = fine[-1, :] = fine[:, 0] = fine[:, -1] = 1.0
    return big, fine


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 16),
    lift=st.sampled_from([0.0, 0.2, 0.5]),
    off=st.integers(0, 3),
)
def test_rings_inside_agrees_with_geos(seed, n, lift, off):
    # a polygon traced on a fine grid (cell 1) inside or sticking out of one traced on a coarse
    # grid (cell 2, origins apart by whole fine cells), as grid_polygons meets them across
    # thresholds: the ring test says "inside" exactly when GEOS's covers does (it may say
    # "unsure" only where the boundaries touch)
    rng = np.random.default_rng(seed)
    big, fine = _nested_fields(rng, n, lift, off)
    bx, by, bptr, bpoly = _traced_rings(big)
    ax, ay, aptr, apoly = _traced_rings(fine)
    apoly_b = shapely.affinity.affine_transform(apoly, [0.5, 0, 0, 0.5, off / 2, off / 2])
    got = _isochrone_trace.rings_inside(ax, ay, aptr, bx, by, bptr, 0.5, off / 2, off / 2)
    geos = apoly_b.is_empty or bpoly.covers(apoly_b)
    if got:
        assert geos
    elif geos:
        assert shapely.distance(apoly_b.boundary, bpoly.boundary) < 1e-9


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_large_thresholds_keep_the_grid_within_max_cells(mode, monkeypatch):
    # 300 minutes, 1e4 and inf reach the whole network: every grid stays within max_cells
    net = build_network(random_roads(5, n=6), mode, crs=UTM, largest_component=False)
    rng = np.random.default_rng(5)
    xy = net.node_xy[rng.choice(net.n_nodes, 3, replace=False)]
    fac = gpd.GeoDataFrame(
        {"facility_id": ["a", "b", "c"]}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM
    )
    sizes = []
    field = _isochrone_field.field

    def spy(x0, y0, r0, x1, y1, r1, gx0, gy0, h, band, block, z):
        sizes.append(z.size)
        return field(x0, y0, r0, x1, y1, r1, gx0, gy0, h, band, block, z)

    monkeypatch.setattr(_isochrone, "field", spy)
    iso = isochrones(net, fac, minutes=(15, 300, 1e4, float("inf")), max_cells=4096, threads=1)
    assert sizes and max(sizes) <= 4096
    assert iso.geometry.is_valid.all() and not iso.geometry.is_empty.any()
    big = iso[iso["minutes"] >= 300]
    assert (big["tolerance_m"] > 0).all()
    # the whole network plus its buffer: the three large thresholds give the same polygon
    g = big.sort_values(["facility_id", "minutes"]).geometry.to_numpy().reshape(3, 3)
    for row in g:
        assert row[0].equals(row[1]) and row[1].equals(row[2])


MEMORY_JOB = textwrap.dedent(
    """
    import resource, sys
    import geopandas as gpd, numpy as np
    sys.path.insert(0, {root!r})
    from bench import graphs
    from planner.access import isochrones
    net = graphs.network_from_arrays(graphs.synthetic_city(40_000, seed=3), {mode!r})
    xy = net.node_xy[np.random.default_rng(1).choice(net.n_nodes, 4, replace=False)]
    fac = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs)
    isochrones(net, fac.iloc[:1], minutes=[5], threads=1)  # compile, load caches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    iso = isochrones(net, fac, minutes=[{minutes}], threads=2)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) / 1024.0, float(iso["area_km2"].max()))
    """
)


@pytest.mark.parametrize(("mode", "minutes"), [("walk", 300.0), ("drive", 300.0)])
def test_memory_bounded_at_large_thresholds(mode, minutes):
    # a 40k-node city reached whole: the peak resident set grows by far less than 1 GB (the
    # grid is capped by max_cells, the pieces follow the reached roads)
    job = MEMORY_JOB.format(root=str(ROOT), mode=mode, minutes=minutes)
    out = subprocess.run(
        [sys.executable, "-c", job], capture_output=True, text=True, timeout=600, check=True
    )
    rise_mb, area = (float(v) for v in out.stdout.split()[-2:])
    assert area > 10.0  # the polygon really spans the city
    assert rise_mb < 400.0


def _walk_chain(rng, n_paths=6, steps=12, cap=60.0):
    """Pieces along random paths from shared roots, the radius falling 1 m per metre (walking
    off the road as fast as along it) after a full-radius start: joints shared exactly."""
    pieces = []
    for _ in range(n_paths):
        x, y, r = rng.uniform(0, 50, 2).tolist() + [cap]
        full = int(rng.integers(0, 4))
        for k in range(steps):
            ang = rng.uniform(0, 2 * np.pi)
            step = rng.uniform(2.0, 12.0)
            nx_, ny_ = x + step * np.cos(ang), y + step * np.sin(ang)
            nr = r if k < full else max(0.5, r - step * rng.uniform(1.0, 1.3))
            pieces.append((x, y, r, nx_, ny_, nr))
            x, y, r = nx_, ny_, nr
    a = np.array(pieces)
    order = rng.permutation(len(a))
    return _isochrone.Pieces(*(a[order, k].copy() for k in range(6)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_covered_discs_change_nothing(seed):
    # the dropped pieces' hulls lie inside the kept ones': the union is the same
    rng = np.random.default_rng(seed)
    p = _walk_chain(rng)
    drop = _isochrone_field.covered_discs(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1)
    assert drop.any() and not drop.all()
    everything = _isochrone.exact_polygon(p, 32)
    kept = _isochrone.exact_polygon(p.take(np.flatnonzero(~drop)), 32)
    # 32 vertices a quarter circle: a held disc's polygon may poke out of its holder's by
    # r (1 - cos(pi / 128)) < 0.02 m
    assert shapely.difference(everything, kept.buffer(0.02)).area < 1e-6 * everything.area


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.sampled_from([0.05, 0.5, 2.0]))
def test_merged_pieces_within_eps(seed, eps):
    # runs of joined full-radius pieces along a wiggly road become chords within eps
    rng = np.random.default_rng(seed)
    n = 40
    t = np.linspace(0, 200, n + 1)
    x, y = t, 3.0 * np.sin(t / rng.uniform(5, 40)) + rng.normal(0, 0.05, n + 1)
    y[5:16] = y[5]  # a straight stretch: at least one run merges, whatever eps
    r = np.full(n, 25.0)
    r[rng.integers(0, n)] = 24.0  # a different radius breaks the run
    p = _isochrone.Pieces(x[:-1], y[:-1], r, x[1:], y[1:], r)
    q = _isochrone.Pieces(*_isochrone_field.merged(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, eps))
    assert len(q) < len(p)
    a = _isochrone.exact_polygon(p, 16)
    b = _isochrone.exact_polygon(q, 16)
    arcs = 25.0 * (1 - np.cos(np.pi / 64)) + 1e-6
    assert shapely.difference(a, b.buffer(eps + arcs)).area < 1e-6
    assert shapely.difference(b, a.buffer(eps + arcs)).area < 1e-6


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.sampled_from([0.05, 0.5, 2.0]))
def test_merged_tapering_runs_within_eps(seed, eps):
    # runs of joined pieces whose radius falls along the road (the time runs out on it), at a
    # speed that changes on the way (a slope per piece), become one piece within eps
    rng = np.random.default_rng(seed)
    n = 40
    steps = rng.uniform(1.0, 4.0, n)
    t = np.concatenate([[0.0], np.cumsum(steps)])
    x, y = t, 3.0 * np.sin(t / rng.uniform(5, 40)) + rng.normal(0, 0.05, n + 1)
    y[5:16] = y[5]  # a straight stretch: at least one run merges, whatever eps
    slope = np.full(n, 0.1)
    slope[rng.integers(0, n) :] = rng.uniform(0.02, 0.15)  # another road speed from there on
    r = 40.0 - np.concatenate([[0.0], np.cumsum(slope * steps)])
    p = _isochrone.Pieces(x[:-1], y[:-1], r[:-1], x[1:], y[1:], r[1:])
    q = _isochrone.Pieces(*_isochrone_field.merged(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, eps))
    assert len(q) < len(p)
    a = _isochrone.exact_polygon(p, 16)
    b = _isochrone.exact_polygon(q, 16)
    arcs = 40.0 * (1 - np.cos(np.pi / 64)) + 1e-6
    assert shapely.difference(a, b.buffer(eps + arcs)).area < 1e-6
    assert shapely.difference(b, a.buffer(eps + arcs)).area < 1e-6
    # and the merge is not vacuous: a bend of more than eps from the chord stays a joint
    far = _isochrone.Pieces(
        np.array([0.0, 50.0]),
        np.array([0.0, 3 * eps]),
        np.array([30.0, 20.0]),
        np.array([50.0, 100.0]),
        np.array([3 * eps, 0.0]),
        np.array([20.0, 10.0]),
    )
    assert (
        len(
            _isochrone_field.merged(
                *(getattr(far, k) for k in ("x0", "y0", "r0", "x1", "y1", "r1")), eps
            )[0]
        )
        == 2
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 30))
def test_pieces_at_a_budget_split_where_the_radius_reaches_the_cap(seed, n):
    # every timed piece here crosses the cap inside (two pieces each, the most there can be):
    # the one-pass kernel must hold them all, the parts meet where the radius is the cap, and
    # a budget before every piece's start keeps none
    rng = np.random.default_rng(seed)
    cap, v_off, budget = 100.0, 1.0, 1000.0
    x0, y0 = rng.uniform(0, 500, (2, n))
    x1, y1 = x0 + rng.uniform(-80, 80, n), y0 + rng.uniform(-80, 80, n)
    t0 = rng.uniform(0.0, budget - cap - 50.0, n)  # radius above the cap at the start...
    t1 = rng.uniform(budget - cap + 10.0, budget - 1.0, n)  # ...and below it at the end
    tp = _isochrone.TimedPieces(x0, y0, t0, x1, y1, t1)
    p = tp.at(budget, v_off, cap)
    assert len(p) == 2 * n
    np.testing.assert_allclose(p.r1[0::2], cap)
    np.testing.assert_allclose(p.r0[1::2], cap)
    np.testing.assert_array_equal(p.x1[0::2], p.x0[1::2])
    w = (budget - cap - t0) / (t1 - t0)  # where the radius is the cap
    np.testing.assert_allclose(p.x0[1::2], x0 + w * (x1 - x0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(p.r1[1::2], np.maximum((budget - t1) * v_off, 0.5))
    assert len(tp.at(-1.0, v_off, cap)) == 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(20, 150), h=st.sampled_from([8.0, 15.0]))
def test_marked_blocks_lie_deeper_than_the_band(seed, n, h):
    # the first pass of the field marks blocks as deep inside (never evaluated again): every
    # node of a marked block must be deeper than the band, also with pieces skipped because
    # the blocks around them were marked already (dense, overlapping pieces: many are)
    rng = np.random.default_rng(seed)
    p = _random_pieces(rng, n, 300.0, 300.0)
    gx0, gy0, nx, ny = _isochrone.lattice(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1, h)
    band = 1.5 * h
    block = max(2, min(_isochrone.BLOCK, int(max(p.r0.max(), p.r1.max()) / (3.0 * h))))
    full = np.zeros(((ny + block - 1) // block, (nx + block - 1) // block), dtype=bool)
    q = _isochrone_field._piece_table(p.x0, p.y0, p.r0, p.x1, p.y1, p.r1)
    _isochrone_field._mark_full(q, gx0, gy0, h, band, block, full)
    assert full.any()
    mask = np.kron(full, np.ones((block, block), dtype=bool))[:ny, :nx]
    px, py = np.meshgrid(gx0 + h * np.arange(nx), gy0 + h * np.arange(ny))
    ref = _brute_field(p, px[mask], py[mask])
    assert np.all(ref <= -band + 1e-9)
