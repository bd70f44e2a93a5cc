"""Shared fixtures: tiny hand-checkable road networks, facilities and population."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

if os.environ.get("NUMBA_BOUNDSCHECK") == "1":
    # the kernels compiled by the install are unchecked, and numba's cache key does not include
    # bounds checking: seeded into the cache, they would be used instead of checked builds
    os.environ["PLANNER_SHIPPED_KERNELS"] = "0"

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
UTM = "EPSG:32650"
X0, Y0 = 500_000.0, 3_800_000.0


def shared(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test cleanly when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p}")
    return p


def xy(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


@pytest.fixture
def tiny_roads() -> gpd.GeoDataFrame:
    """A 6-junction network in metres (EPSG:32650), with hand-checkable times.

    A(0,0) - B(1000,0) - C(2000,0)       two-way residential
    B -> D(1000,1000)                    one-way along the line (oneway=1)
    C - E(2000,1000) - D, digitised C->E->D, one-way against the line (oneway=-1): D->E->C only
    F(500,-500) - G(500,500)             crosses A-B without a junction (a bridge)
    D - H(0,1000) - A                    footway (walk only)
    """
    lines = [
        shapely.LineString([xy(0, 0), xy(1000, 0)]),
        shapely.LineString([xy(1000, 0), xy(2000, 0)]),
        shapely.LineString([xy(1000, 0), xy(1000, 1000)]),
        shapely.LineString([xy(2000, 0), xy(2000, 1000), xy(1000, 1000)]),
        shapely.LineString([xy(500, -500), xy(500, 500)]),
        shapely.LineString([xy(1000, 1000), xy(0, 1000), xy(0, 0)]),
    ]
    return gpd.GeoDataFrame(
        {
            "highway": [
                "residential",
                "residential",
                "residential",
                "residential",
                "primary",
                "footway",
            ],
            "oneway": np.array([0, 0, 1, -1, 0, 0], dtype=np.int8),
            "maxspeed_kmh": [np.nan, np.nan, np.nan, 36.0, np.nan, np.nan],
            "name": ["AB", "BC", "BD", "CED", "bridge", "path"],
        },
        geometry=lines,
        crs=UTM,
    )


def points(*coords: tuple[float, float]) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.Point(xy(*c)) for c in coords], crs=UTM)


def random_roads(
    seed: int, n: int = 7, spacing: float = 300.0, oneway_share: float = 0.3
) -> gpd.GeoDataFrame:
    """A perturbed grid with random one-way streets, bends and missing links."""
    rng = np.random.default_rng(seed)
    pts = {
        (i, j): (i * spacing + rng.normal(0, 30), j * spacing + rng.normal(0, 30))
        for i in range(n)
        for j in range(n)
    }
    lines, oneway, hw = [], [], []
    classes = ["primary", "secondary", "tertiary", "residential", "unclassified"]
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if (i + di, j + dj) not in pts or rng.random() < 0.12:
                    continue
                a, b = pts[(i, j)], pts[(i + di, j + dj)]
                mid = ((a[0] + b[0]) / 2 + rng.normal(0, 25), (a[1] + b[1]) / 2 + rng.normal(0, 25))
                coords = [xy(*a), xy(*mid), xy(*b)]
                if rng.random() < 0.5:
                    coords = coords[::-1]
                lines.append(shapely.LineString(coords))
                r = rng.random()
                oneway.append(0 if r > oneway_share else (1 if r < oneway_share / 2 else -1))
                hw.append(classes[rng.integers(len(classes))])
    return gpd.GeoDataFrame(
        {
            "highway": hw,
            "oneway": np.array(oneway, dtype=np.int8),
            "maxspeed_kmh": np.where(rng.random(len(lines)) < 0.2, 40.0, np.nan),
            "name": "",
        },
        geometry=lines,
        crs=UTM,
    )


@pytest.fixture(scope="session")
def demo():
    """The embedded demo data set, loaded once per test session (tests must not modify it)."""
    import planner

    return planner.load_demo()


@pytest.fixture(scope="session")
def walk15(demo):
    """The demo's walking 15-minute analysis without isochrones, once per session (read only)."""
    import planner

    return planner.analyze(demo, isochrone_minutes=None)
