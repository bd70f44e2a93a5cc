"""Validation helpers shared by the public entry points.

Checks collect every problem they find and raise one :class:`~planner.InputError` whose message
names the source (file or argument), the column, example rows and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import InputError, InputFileError


class Problems:
    """Collects validation problems for one source and raises them together.

    Examples
    --------
    >>> p = Problems("facilities.csv")
    >>> p.add("column 'lon' is missing", fix="name the longitude column with lon_column=")
    >>> p.raise_if_any()
    Traceback (most recent call last):
    ...
    planner._errors.InputError: facilities.csv: column 'lon' is missing. Fix: name the longitude column with lon_column=
    """

    def __init__(self, source: str | Path, error: type[InputError] = InputError) -> None:
        self.source = str(source)
        self.error = error
        self.items: list[str] = []

    def add(self, problem: str, *, fix: str | None = None) -> None:
        self.items.append(problem + (f". Fix: {fix}" if fix else ""))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise self.error(f"{self.source}: {self.items[0]}")
        lines = "\n".join(f"  - {item}" for item in self.items)
        raise self.error(f"{self.source}: {len(self.items)} problems:\n{lines}")


def describe_rows(
    index: Iterable, *, limit: int = 5, noun: tuple[str, str] = ("row", "rows")
) -> str:
    """'rows 3, 7, 9 and 12 more' for error messages (row labels as given): the first ``limit``
    items, then how many more. ``noun`` is (singular, plural): ``("site", "sites")`` gives
    'sites C003, C008 and 2 more'.

    >>> describe_rows([3, 7, 9], limit=2), describe_rows(["C003"], noun=("site", "sites"))
    ('rows 3, 7 and 1 more', 'site C003')
    """
    rows = list(index)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = len(rows) - limit
    word = noun[0] if len(rows) == 1 else noun[1]
    return f"{word} {shown}" + (f" and {more} more" if more > 0 else "")


def require_file(path: str | Path, *, what: str, suffixes: Sequence[str] | None = None) -> Path:
    """Return ``path`` as a Path if it exists (and has an accepted suffix), else raise."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            f"{what} file not found: {p}. Fix: check the path (it is read relative to {Path.cwd()})."
        )
    if p.is_dir():
        raise InputFileError(
            f"{what} path is a folder, not a file: {p}. Fix: name a file inside it."
        )
    if suffixes is not None:
        name = p.name.lower()
        if not any(name.endswith(s) for s in suffixes):
            raise InputError(
                f"{p}: unsupported {what} file type. Fix: use one of {', '.join(suffixes)}."
            )
    return p


def find_column(
    columns: Iterable[str], wanted: str | None, candidates: Sequence[str]
) -> str | None:
    """The column named ``wanted``, else the first of ``candidates`` present (case-insensitive)."""
    cols = list(columns)
    if wanted is not None:
        return wanted if wanted in cols else None
    lower = {str(c).lower(): c for c in cols}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def check_finite(values: pd.Series | np.ndarray, *, source: str, column: str, fix: str) -> None:
    """Raise naming the rows whose values are missing or not finite numbers."""
    s = pd.Series(values)
    num = pd.to_numeric(s, errors="coerce")
    bad = s.index[~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))]
    if len(bad):
        raise InputError(
            f"{source}: column '{column}' has missing or non-numeric values in {describe_rows(bad)}. Fix: {fix}"
        )


# --- checks across the inputs of one data set -------------------------------------------------


def _extent(g: object) -> str:
    x0, y0, x1, y1 = g.total_bounds  # type: ignore[attr-defined]
    return f"lon {x0:.4f}..{x1:.4f}, lat {y0:.4f}..{y1:.4f}"


def check_extents(
    *,
    roads: object,
    facilities: object,
    boundaries: object | None,
    population: object | None = None,
    sources: dict[str, str] | None = None,
    tolerance_deg: float = 0.02,
    crs_fix: str = "pass the coordinate system the file was made in (crs=)",
) -> list[str]:
    """Check that the inputs of one analysis lie in the same place (all in EPSG:4326).

    Raises :class:`~planner.CRSError` when no facility, no road or no resident lies within
    ``tolerance_deg`` of the boundaries (a wrong coordinate system, lon/lat swapped, or files of
    another area: every resident would be counted "outside boundaries"). Returns warnings for
    facilities outside the boundaries (they still count: residents cross borders).
    ``crs_fix`` is how the caller's users choose a coordinate system (a parameter, a flag or a
    menu), used in the messages.
    """
    import shapely

    from ._errors import CRSError

    src = sources or {}
    warnings: list[str] = []
    b = boundaries
    if b is None or len(b) == 0:  # type: ignore[arg-type]
        return warnings
    area = shapely.union_all(b.geometry.values)  # type: ignore[attr-defined]
    zone = shapely.buffer(area, tolerance_deg)
    shapely.prepare(zone)
    fac = facilities
    inside = shapely.intersects(zone, fac.geometry.values)  # type: ignore[attr-defined]
    where_b = f"boundaries {src.get('boundaries', '')}".rstrip()
    if len(fac) and not inside.any():  # type: ignore[arg-type]
        raise CRSError(
            f"{src.get('facilities', 'facilities')}: none of the {len(fac)} facilities lies inside the "  # type: ignore[arg-type]
            f"boundaries (facilities: {_extent(fac)}; {where_b}: {_extent(b)}). Fix: {crs_fix} "
            "(WGS-84, GCJ-02 from Amap/Tencent, BD-09 from Baidu), check that lon and lat are not "
            "swapped, or use the boundaries of the same area."
        )
    roads_in = shapely.intersects(zone, roads.geometry.values)  # type: ignore[attr-defined]
    if len(roads) and not roads_in.any():  # type: ignore[arg-type]
        raise CRSError(
            f"{src.get('roads', 'roads')}: no road lies inside the boundaries (roads: {_extent(roads)}; "
            f"{where_b}: {_extent(b)}). Fix: use the roads of the same area, or boundaries in the right CRS."
        )
    if population is not None and len(population):  # type: ignore[arg-type]
        pop = population
        step = max(1, len(pop) // 20_000)  # type: ignore[arg-type]  # a sample tells none from some
        pts = shapely.point_on_surface(pop.geometry.values[::step])  # type: ignore[attr-defined]
        if not shapely.intersects(zone, pts).any():
            raise CRSError(
                f"{src.get('population', 'population')}: no resident lies inside the boundaries "
                f"(population: {_extent(pop)}; {where_b}: {_extent(b)}), so every resident would "
                "be counted outside them. Fix: use the population and boundaries of the same area, "
                "in the coordinate system each file was made in."
            )
    if (~inside).any():
        ids = ", ".join(fac.loc[~inside, "facility_id"].astype(str).head(8))  # type: ignore[attr-defined]
        more = int((~inside).sum()) - 8
        warnings.append(
            f"{int((~inside).sum())} facilities lie outside the boundaries: {ids}"
            + (f" and {more} more" if more > 0 else "")
            + ". They still count (residents cross borders); check their coordinates if that is wrong."
        )
    return warnings


#: GCJ-02 test: facilities read as WGS-84 are taken to be GCJ-02 when undoing the GCJ-02 offset
#: brings them at least this many times closer to the roads (median distance to the nearest
#: road), the median before is at least GCJ02_MIN_MEDIAN_M, and applying the offset once more
#: takes them farther away (so it is the direction of the offset that helps, not any shift).
GCJ02_FACTOR = 2.5
GCJ02_MIN_MEDIAN_M = 50.0


def gcj02_offset_test(
    roads: object, points: object, *, sample: int = 500
) -> dict[str, float] | None:
    """Median distance (m) from ``points`` to the nearest of ``roads`` as they are
    (``as_is``), with the GCJ-02 offset undone (``undone``: read as GCJ-02) and applied once more
    (``applied``). None when the points lie outside China or near no road. Both in EPSG:4326.
    """
    import geopandas as gpd
    import shapely

    from . import _chinacrs

    geoms = points.geometry.values  # type: ignore[attr-defined]
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0 or len(roads) == 0:  # type: ignore[arg-type]
        return None
    step = max(1, len(geoms) // sample)
    xy = shapely.get_coordinates(shapely.point_on_surface(geoms[::step]))
    x, y = xy[:, 0], xy[:, 1]
    inside = ~_chinacrs.out_of_china(x, y)
    if not inside.any():
        return None
    x, y = x[inside], y[inside]
    pad = 0.03  # degrees, beyond the GCJ-02 offset (< 0.01) and the usual distance to a road
    sindex = roads.sindex  # type: ignore[attr-defined]
    near = sindex.query(shapely.box(x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad))
    if len(near) == 0:
        return None
    pts = gpd.GeoSeries(shapely.points(x, y), crs=4326)
    metric = pts.estimate_utm_crs()
    tree = shapely.STRtree(roads.geometry.iloc[near].to_crs(metric).to_numpy())  # type: ignore[attr-defined]
    out = {}
    for key, (fx, fy) in (
        ("as_is", (x, y)),
        ("undone", _chinacrs.gcj02_to_wgs84(x, y)),
        ("applied", _chinacrs.wgs84_to_gcj02(x, y)),
    ):
        p = gpd.GeoSeries(shapely.points(fx, fy), crs=4326).to_crs(metric).to_numpy()
        _, dist = tree.query_nearest(p, return_distance=True, all_matches=False)
        out[key] = float(np.median(dist))
    return out


def looks_like_gcj02(roads: object, points: object) -> dict[str, float] | None:
    """The distances of :func:`gcj02_offset_test` when they say ``points`` are GCJ-02, else None."""
    d = gcj02_offset_test(roads, points)
    if d is None:
        return None
    if (
        d["as_is"] >= GCJ02_MIN_MEDIAN_M
        and d["undone"] * GCJ02_FACTOR <= d["as_is"]
        and d["applied"] > d["as_is"]
    ):
        return d
    return None


# --- thresholds and memory ------------------------------------------------------------------------


def check_minutes(value: object, *, name: str, error: type[Exception] = InputError) -> float:
    """A travel-time threshold in minutes as a float: a number >= 0, ``inf`` meaning "no limit".

    NaN, negative numbers and non-numbers raise ``error`` naming the parameter ``name``. A
    threshold beyond the network's reach is valid: everything reachable is within it.
    """
    try:
        m = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise error(
            f"{name} must be a number of minutes >= 0 (inf for no limit), got {value!r}."
        ) from None
    if not m >= 0:  # NaN fails too
        raise error(f"{name} must be a number of minutes >= 0 (inf for no limit), got {value!r}.")
    return m


#: Default for :func:`max_bytes`: the largest array (or set of arrays) one call may allocate.
DEFAULT_MAX_BYTES = 4 * 2**30
_UNITS = {
    "": 1,
    "K": 2**10,
    "KB": 2**10,
    "KIB": 2**10,
    "M": 2**20,
    "MB": 2**20,
    "MIB": 2**20,
    "G": 2**30,
    "GB": 2**30,
    "GIB": 2**30,
    "T": 2**40,
    "TB": 2**40,
    "TIB": 2**40,
}


def parse_size(raw: str) -> float | None:
    """Bytes of a size written as bytes or with a unit (``8G``, ``512MiB``, ``64m``); ``None``
    when it is not one."""
    num = raw.strip().rstrip("KMGTkmgtiBb ")
    unit = raw.strip()[len(num) :].strip().upper()
    try:
        return float(num) * _UNITS[unit]
    except (ValueError, KeyError):
        return None


def max_bytes() -> int:
    """Memory limit of the guarded allocations: the environment variable ``PLANNER_MAX_BYTES``
    (bytes, or with a unit: ``8G``, ``512MiB``), else :data:`DEFAULT_MAX_BYTES` (4 GiB)."""
    raw = os.environ.get("PLANNER_MAX_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    value = parse_size(raw)
    if value is None:
        raise InputError(
            f"PLANNER_MAX_BYTES={raw!r} is not a size. Fix: give bytes or a size such as 8G or 512MiB."
        )
    if not (np.isfinite(value) and value > 0):
        raise InputError(
            f"PLANNER_MAX_BYTES={raw!r} must be positive. Fix: give a size such as 8G."
        )
    return int(value)


def format_bytes(n: float) -> str:
    """'3.2 GiB', '410 MiB', '12 kiB'."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("kiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def check_bytes(
    n_bytes: float, *, what: str, fix: str, error: type[Exception] = InputError
) -> None:
    """Raise ``error`` before allocating ``n_bytes`` for ``what`` when it exceeds :func:`max_bytes`;
    the message gives the estimate, the limit, ``fix`` and how to raise the limit."""
    limit = max_bytes()
    if n_bytes > limit:
        raise error(
            f"{what} would need about {format_bytes(n_bytes)} of memory, more than the limit of "
            f"{format_bytes(limit)}. Fix: {fix} (or raise the limit with the environment variable "
            f"PLANNER_MAX_BYTES, e.g. PLANNER_MAX_BYTES=16G)."
        )


def count_column(
    values: pd.Series,
    label: str,
    problems: Problems,
    *,
    missing_fix: str,
    negative_fix: str,
) -> np.ndarray:
    """Numbers of a count column (thousands separators allowed), as floats.

    Missing or non-numeric values and negative ones are added to ``problems`` with the rows
    (``label`` names the column in the message); they come back as NaN or as given.
    """
    v = pd.to_numeric(
        values.astype(str).str.replace(",", "").str.strip(), errors="coerce"
    ).to_numpy(float)
    bad = ~np.isfinite(v)
    if bad.any():
        problems.add(
            f"{label} has missing or non-numeric values in {describe_rows(values.index[bad])}",
            fix=missing_fix,
        )
    neg = np.isfinite(v) & (v < 0)
    if neg.any():
        problems.add(
            f"{label} has negative values in {describe_rows(values.index[neg])}", fix=negative_fix
        )
    return v
