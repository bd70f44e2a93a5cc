"""The end-to-end coverage analysis: data set in, coverage result out.

>>> import planner
>>> result = planner.analyze(planner.load_demo(), mode="walk", minutes=15)   # doctest: +SKIP
>>> result.admin_summary.query("level == 'township'")                       # doctest: +SKIP

Each step is a pure function of its inputs (no global state), so a province can be split by
county with a travel-time halo and the counties run independently with the same answers.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import access, coverage, load, standards
from ._errors import InputError, InputFileError, NetworkError
from .network import Network, build_network, network_pieces, travel_mode

log = logging.getLogger(__name__)


def _demo_dir() -> Path:
    # A wheel carries the demo data as the package planner.demo_data (built from the top-level
    # data/ folder by pyproject.toml's package-dir mapping: one copy in git); a clone or an
    # editable install reads data/ itself.
    shipped = Path(__file__).resolve().parent / "demo_data"
    return shipped if (shipped / "roads").is_dir() else Path(__file__).resolve().parents[1] / "data"


#: Where the embedded demo county lives (``planner/demo_data`` in a wheel, else ``data/``).
DEMO_DIR = _demo_dir()

ROAD_SUFFIXES = (
    ".osm.pbf",
    ".pbf",
    ".osm",
    ".osm.gz",
    ".osm.bz2",
    ".gpkg",
    ".shp",
    ".geojson",
    ".fgb",
)
TABLE_SUFFIXES = (".csv", ".xlsx", ".geojson", ".json", ".shp", ".gpkg")
POP_SUFFIXES = (".tif", ".tiff", ".gpkg", ".geojson", ".shp", ".csv", ".xlsx")

Progress = Callable[[str, float], None] | None


@dataclass(frozen=True, eq=False)
class Dataset:
    """The inputs of an analysis, loaded and validated (all in EPSG:4326)."""

    roads: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    population: gpd.GeoDataFrame | None = None
    boundaries: gpd.GeoDataFrame | None = None
    name: str = "dataset"
    synthetic: bool = False
    sources: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        pop = (
            "none"
            if self.population is None
            else f"{self.population['population'].sum():,.0f} residents"
        )
        return (
            f"Dataset({self.name!r}{' [synthetic]' if self.synthetic else ''}: {len(self.roads):,} roads, "
            f"{len(self.facilities):,} facilities, population {pop}, "
            f"{0 if self.boundaries is None else len(self.boundaries):,} admin units)"
        )

    def urban_area(self) -> gpd.GeoDataFrame | None:
        """Subdistricts (街道): where the drive mode's urban slow-down applies."""
        b = self.boundaries
        if b is None or "kind" not in b.columns:
            return None
        urban = b[(b["level"] == "township") & (b["kind"] == "subdistrict")]
        return urban if len(urban) else None


def _find(
    folder: Path, suffixes: Sequence[str], *, prefer: str | None = None, avoid: str | None = None
) -> Path | None:
    if not folder.is_dir():
        return None
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(tuple(suffixes))
    )
    if avoid:
        files = [p for p in files if avoid not in p.name.lower()] or files
    if prefer:
        preferred = [p for p in files if prefer in p.name.lower()]
        files = preferred or files
    return files[0] if files else None


def load_dataset(
    data_dir: str | Path | None = None,
    *,
    roads: str | Path | None = None,
    facilities: str | Path | None = None,
    population: str | Path | None = None,
    boundaries: str | Path | None = None,
    facilities_crs: str | None = None,
    name: str | None = None,
    facilities_sheet: str | int | None = None,
    check: bool = True,
) -> Dataset:
    """Load roads, facilities, population and boundaries.

    Files named explicitly win; the rest are looked up in ``data_dir``'s ``roads/``,
    ``facilities/``, ``population/`` and ``boundaries/`` subfolders (the layout of the bundled demo).
    Population and boundaries are optional: without population, coverage figures are omitted.

    ``facilities_sheet`` is the sheet of an XLSX facilities file (name or 0-based number).

    With ``check`` (default), the inputs are checked against each other
    (:func:`planner._validate.check_extents`): a :class:`~planner.CRSError` when no facility,
    road or resident lies inside the boundaries; an :class:`~planner.InputWarning` for facilities
    outside them, and when the facilities look like GCJ-02 coordinates read as WGS-84 (undoing
    the GCJ-02 offset brings them markedly closer to the roads; see
    :func:`planner._validate.looks_like_gcj02`) while ``facilities_crs`` was not given.

    Raises
    ------
    InputFileError
        When no roads or no facilities can be found, naming where it looked.
    CRSError
        When the inputs do not lie in the same place (with ``check``).
    """
    d = Path(data_dir) if data_dir is not None else None
    if d is not None and not d.is_dir():
        raise InputFileError(
            f"data folder not found: {d}. Fix: pass a folder with roads/ and facilities/ subfolders."
        )
    road_path = Path(roads) if roads else (_find(d / "roads", ROAD_SUFFIXES) if d else None)
    fac_path = (
        Path(facilities)
        if facilities
        else (
            _find(d / "facilities", TABLE_SUFFIXES, prefer="facilit", avoid="candidate")
            if d
            else None
        )
    )
    pop_path = (
        Path(population) if population else (_find(d / "population", POP_SUFFIXES) if d else None)
    )
    bnd_path = (
        Path(boundaries) if boundaries else (_find(d / "boundaries", TABLE_SUFFIXES) if d else None)
    )
    if road_path is None:
        raise InputFileError(
            f"no road file found{' in ' + str(d / 'roads') if d else ''}. Fix: pass --roads FILE "
            f"(OSM .osm/.pbf, or lines as {', '.join(ROAD_SUFFIXES[5:])})."
        )
    if fac_path is None:
        raise InputFileError(
            f"no facility file found{' in ' + str(d / 'facilities') if d else ''}. Fix: pass --facilities FILE (CSV with id, name, type, lon, lat)."
        )
    t0 = time.perf_counter()
    r = load.read_roads(road_path)
    f = load.read_facilities(fac_path, crs=facilities_crs, sheet=facilities_sheet)
    b = load.read_boundaries(bnd_path) if bnd_path else None
    p = _read_population_any(pop_path, b, r) if pop_path else None
    synthetic = d is not None and d.resolve() == DEMO_DIR.resolve() and roads is None
    if synthetic and population is None and p is not None and b is not None:
        p = demo_population_groups(p, b)  # the demo's synthetic age groups, however it is loaded
    ds = Dataset(
        roads=r,
        facilities=f,
        population=p,
        boundaries=b,
        name=name or (d.name if d else road_path.stem),
        synthetic=synthetic,
        sources={
            k: str(v)
            for k, v in {
                "roads": road_path,
                "facilities": fac_path,
                "population": pop_path,
                "boundaries": bnd_path,
            }.items()
            if v
        },
    )
    if check:
        check_inputs(ds, facilities_crs=facilities_crs)
    log.info("loaded %r in %.2f s", ds, time.perf_counter() - t0)
    return ds


def check_inputs(ds: Dataset, *, facilities_crs: str | None = None) -> None:
    """The checks of :func:`load_dataset` across the inputs (raise or warn, in library terms)."""
    import warnings

    from . import _validate
    from ._errors import InputWarning

    for text in _validate.check_extents(
        roads=ds.roads,
        facilities=ds.facilities,
        boundaries=ds.boundaries,
        population=ds.population,
        sources=ds.sources,
        crs_fix="pass facilities_crs= with the coordinate system the file was made in",
    ):
        warnings.warn(
            f"{ds.sources.get('facilities', 'facilities')}: {text}", InputWarning, stacklevel=3
        )
    if facilities_crs is None:
        d = _validate.looks_like_gcj02(ds.roads, ds.facilities)
        if d is not None:
            warnings.warn(
                f"{ds.sources.get('facilities', 'facilities')}: the facilities look like GCJ-02 (Amap/Tencent) "
                f"coordinates read as WGS-84: undoing the GCJ-02 offset brings them from a median "
                f"{d['as_is']:,.0f} m to {d['undone']:,.0f} m from the nearest road. Fix: if they come from "
                "Amap, Tencent or another Chinese web map, pass facilities_crs='gcj02'",
                InputWarning,
                stacklevel=3,
            )


def _read_population_any(
    path: Path, boundaries: gpd.GeoDataFrame | None, roads: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """A raster/polygon/point population file, or a table of totals per admin code spread over
    the roads inside each unit (:func:`planner.popspread.read_population_table`)."""
    from . import popspread

    if not popspread.looks_like_population_table(path):
        return load.read_population(path)
    if boundaries is None:
        raise InputError(
            f"{path}: a table of residents per administrative code needs the units' polygons. "
            "Fix: pass boundaries (--boundaries FILE, or a boundaries/ folder) with the same codes."
        )
    return popspread.read_population_table(path, boundaries, roads=roads)


def load_demo() -> Dataset:
    """The embedded synthetic demo county (示范县, Demo County), ~450k residents.

    It is generated by ``data/make_demo.py``; see ``data/README.md``. No file is downloaded.
    """
    if not (DEMO_DIR / "roads").is_dir():
        raise InputFileError(
            f"the demo data folder {DEMO_DIR} is missing. Fix: install planner from a clone of its "
            "repository with `pip install -e .` (the demo data live in the repository's data/ folder)."
        )
    ds = load_dataset(
        DEMO_DIR, name="示范县 Demo County (synthetic)"
    )  # with the synthetic age groups
    return dataclasses.replace(ds, synthetic=True)


#: Synthetic shares of the demo's population groups by kind of township (urban subdistricts 街道
#: vs rural towns and townships), near China's 2020 census (65+: 11 % of city residents, 17.7 %
#: of village residents; 0-4 years: about 5-6 %). Invented for the demo, like its residents.
DEMO_GROUP_SHARES: dict[str, dict[str, float]] = {
    "65plus": {"subdistrict": 0.105, "rural": 0.165},
    "under5": {"subdistrict": 0.050, "rural": 0.060},
}
#: Seed of the demo's group shares (the same columns on every load, on every machine).
DEMO_GROUP_SEED = 20201101


def demo_population_groups(
    population: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """The demo population with synthetic ``pop_65plus`` and ``pop_under5`` columns.

    Each raster cell gets the share of :data:`DEMO_GROUP_SHARES` for the kind of its township
    (``subdistrict``, else rural), times a seeded lognormal factor per cell (sigma 0.25, clipped to
    [0.5, 2]) so that the old and the young are not spread exactly like everyone. Deterministic
    (:data:`DEMO_GROUP_SEED`); the data files are not changed. A new frame is returned.
    """
    out = population.copy()
    kind = np.full(len(out), "rural", dtype=object)
    if boundaries is not None and (boundaries["level"] == "township").any():
        admin = coverage.assign_admin(out, boundaries)
        kinds = boundaries[boundaries["level"] == "township"].set_index("admin_code")["kind"]
        kinds = kinds[~kinds.index.duplicated()]
        kind = np.where(
            admin["township_code"].map(kinds).to_numpy() == "subdistrict", "subdistrict", "rural"
        )
    rng = np.random.default_rng(DEMO_GROUP_SEED)
    pop = out["population"].to_numpy(float)
    for g, shares in DEMO_GROUP_SHARES.items():
        base = np.where(kind == "subdistrict", shares["subdistrict"], shares["rural"])
        factor = np.clip(rng.lognormal(0.0, 0.25, len(out)), 0.5, 2.0)
        out[f"{coverage.GROUP_PREFIX}{g}"] = pop * base * factor
    return out


@dataclass(frozen=True)
class CoverageSettings:
    """What an analysis computes (hashable: usable as a cache key)."""

    mode: str = "walk"
    minutes: float = 15.0
    tiers: tuple[str, ...] = ()
    isochrone_minutes: tuple[float, ...] = (5.0, 10.0, 15.0)
    speed_kmh: float | None = None
    access_max_m: float | None = None
    access_speed_factor: float | None = None
    min_piece_nodes: int = 0

    def __post_init__(self) -> None:
        if not (self.minutes > 0):
            raise InputError(f"minutes must be positive, got {self.minutes!r}.")
        unknown = [t for t in self.tiers if t not in standards.TIERS]
        if unknown:
            raise InputError(
                f"unknown tiers {unknown}. Fix: use some of {', '.join(standards.TIERS)}."
            )

    @property
    def selected_tiers(self) -> tuple[str, ...]:
        return self.tiers or tuple(standards.PRIMARY_TIERS)

    def mode_options(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("speed_kmh", self.speed_kmh),
                ("access_max_m", self.access_max_m),
                ("access_speed_factor", self.access_speed_factor),
            )
            if v is not None
        }


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Everything one coverage analysis produced (GeoDataFrames in EPSG:4326).

    Attributes
    ----------
    facilities : facilities used (selected tiers plus added ones), with ``reachable``,
        ``access_m`` (distance to the road network) and ``proposed`` columns.
    isochrones : polygons per facility and threshold (``facility_id, tier, minutes, area_km2``).
    demand : demand units with ``population, minutes, nearest_facility, covered, reachable``,
        ``piece`` (the connected piece of road the unit joins, -1 when it joins none),
        ``no_facility_in_piece`` (it joins a piece that holds no facility, so nothing serves
        it whatever the threshold) and admin codes per level (``None`` without population).
    admin_summary : covered/uncovered population per admin unit and level, with the residents
        of road pieces holding no facility (``no_facility_in_piece_population``).
    uncovered : uncovered residential areas ranked by population.
    """

    settings: CoverageSettings
    dataset_name: str
    synthetic: bool
    network: Network
    facilities: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame | None
    demand: gpd.GeoDataFrame | None
    admin_summary: pd.DataFrame | None
    uncovered: gpd.GeoDataFrame | None
    boundaries: gpd.GeoDataFrame | None
    seconds: dict[str, float]

    @property
    def has_population(self) -> bool:
        return self.demand is not None

    @property
    def total_population(self) -> float:
        """Residents in all demand units (exact sum, independent of order)."""
        return (
            math.fsum(self.demand["population"].to_numpy(float))
            if self.demand is not None
            else float("nan")
        )

    @property
    def covered_population(self) -> float:
        """Residents within the threshold (exact sum, so every path that computes it agrees)."""
        if self.demand is None:
            return float("nan")
        return math.fsum(self.demand.loc[self.demand["covered"], "population"].to_numpy(float))

    @property
    def covered_share(self) -> float:
        tot = self.total_population
        return self.covered_population / tot if tot > 0 else float("nan")

    @property
    def unreachable_population(self) -> float:
        """Residents farther than ``access_max_m`` from every road (counted as uncovered)."""
        if self.demand is None:
            return float("nan")
        return float(self.demand.loc[~self.demand["reachable"], "population"].sum())

    @property
    def no_facility_in_piece_population(self) -> float:
        """Residents joined to a piece of the road network that holds no facility (uncovered).

        The road network keeps every connected piece (a village across a river whose bridge is
        missing from the data, an island, a road system reached only by a motorway walkers may
        not use): these residents reach a road, but no facility can be reached on it.
        """
        if self.demand is None:
            return float("nan")
        return math.fsum(
            self.demand.loc[self.demand["no_facility_in_piece"], "population"].to_numpy(float)
        )

    def unreachable_facilities(self) -> gpd.GeoDataFrame:
        return self.facilities[~self.facilities["reachable"]]


def select_facilities(facilities: gpd.GeoDataFrame, tiers: Sequence[str]) -> gpd.GeoDataFrame:
    """Facilities of the given tiers (all when ``tiers`` is empty)."""
    if not tiers:
        return facilities
    return facilities[facilities["tier"].isin(list(tiers))]


def combine_facilities(
    existing: gpd.GeoDataFrame, added: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """Existing facilities plus proposed ones (column ``proposed``), ids kept unique."""
    ex = existing.copy()
    ex["proposed"] = False
    if added is None or len(added) == 0:
        return ex
    ad = added.to_crs(ex.crs).copy()
    ad["proposed"] = True
    clash = set(ad["facility_id"].astype(str)) & set(ex["facility_id"].astype(str))
    if clash:
        ad["facility_id"] = "P-" + ad["facility_id"].astype(str)
    cols = [
        c
        for c in ("facility_id", "name", "type", "tier", "proposed", "geometry")
        if c in ad.columns
    ]
    return gpd.GeoDataFrame(
        pd.concat([ex, ad[cols]], ignore_index=True), geometry="geometry", crs=ex.crs
    )


def analyze(
    dataset: Dataset,
    *,
    mode: str = "walk",
    minutes: float = 15.0,
    tiers: Sequence[str] | None = None,
    isochrone_minutes: Sequence[float] | None = (5.0, 10.0, 15.0),
    add_facilities: gpd.GeoDataFrame | None = None,
    speed_kmh: float | None = None,
    access_max_m: float | None = None,
    access_speed_factor: float | None = None,
    min_piece_nodes: int = 0,
    network: Network | None = None,
    progress: Progress = None,
) -> CoverageResult:
    """Coverage of the population by facilities within ``minutes`` of travel.

    Parameters
    ----------
    dataset : Dataset
        From :func:`load_demo` or :func:`load_dataset`.
    mode : {"walk", "ebike", "drive"}
    minutes : float
        The coverage threshold (the 15-minute circle by default).
    tiers : sequence of str, optional
        Facility tiers that count (default: every primary-care tier plus hospitals,
        :data:`planner.standards.PRIMARY_TIERS`).
    isochrone_minutes : sequence of float, optional
        Thresholds of the isochrone polygons (``minutes`` is always added); ``None`` skips them.
    add_facilities : GeoDataFrame, optional
        Proposed facilities to evaluate (columns ``facility_id``, ``tier``, points).
    speed_kmh, access_max_m, access_speed_factor : optional
        Mode settings (see :func:`planner.network.travel_mode`).
    min_piece_nodes : int
        Drop road pieces with fewer nodes than this before joining anything (a warning lists
        them; see :func:`planner.build_network`). 0 (default) keeps every piece: each point
        joins its nearest usable road whatever piece it is in, residents are served by the
        facilities of their own piece, and those in pieces without any facility are counted
        (:attr:`CoverageResult.no_facility_in_piece_population`).
    network : Network, optional
        A network built earlier for the same roads and mode settings (saves rebuilding).
    progress : callable(stage, fraction), optional

    Returns
    -------
    CoverageResult
    """
    settings = CoverageSettings(
        mode=mode,
        minutes=float(minutes),
        tiers=tuple(tiers or ()),
        isochrone_minutes=tuple(
            sorted(
                {float(m) for m in (isochrone_minutes or ())}
                | ({float(minutes)} if isochrone_minutes is not None else set())
            )
        ),
        speed_kmh=speed_kmh,
        access_max_m=access_max_m,
        access_speed_factor=access_speed_factor,
        min_piece_nodes=min_piece_nodes,
    )
    seconds: dict[str, float] = {}

    def tick(stage: str, t0: float) -> float:
        seconds[stage] = round(time.perf_counter() - t0, 3)
        if progress:
            progress(stage, 1.0)
        return time.perf_counter()

    t = time.perf_counter()
    if network is None:
        if progress:
            progress("network", 0.0)
        try:
            network = build_network(
                dataset.roads,
                settings.mode,
                urban_area=dataset.urban_area(),
                min_piece_nodes=settings.min_piece_nodes,
                **settings.mode_options(),
            )
        except NetworkError as exc:  # name the road file: build_network only sees a frame
            where = dataset.sources.get("roads")
            if where and where not in str(exc):
                empty = (
                    " The file holds no roads at all (for OSM: no way with a highway tag)."
                    if len(dataset.roads) == 0
                    else ""
                )
                raise NetworkError(f"{where}: {exc}{empty}") from None
            raise
    else:
        want = travel_mode(settings.mode, **settings.mode_options())
        if network.mode != want:
            raise InputError(
                f"the network given was built for {network.mode} but the analysis asks for {want}. "
                "Fix: rebuild it with planner.build_network() or drop network=."
            )
    t = tick("network", t)

    fac = combine_facilities(
        select_facilities(dataset.facilities, settings.selected_tiers), add_facilities
    )
    if len(fac) == 0:
        raise InputError(
            f"no facilities of tiers {list(settings.selected_tiers)} in the data. Fix: choose other tiers "
            f"(present: {sorted(set(dataset.facilities['tier']))})."
        )
    src = access.facility_sources(network, fac)
    fac = fac.copy()
    fac["reachable"] = src.reachable
    fac["access_m"] = src.attachment.offset_m
    fac["piece"] = _piece_of(network, src.attachment)
    if (~src.reachable).any():
        log.warning(
            "%d facilities are farther than %.0f m from every usable road and reach nobody: %s",
            int((~src.reachable).sum()),
            network.mode.access_max_m,
            ", ".join(fac.loc[~src.reachable, "facility_id"].astype(str).head(10)),
        )
    t = tick("join facilities", t)

    iso = None
    if isochrone_minutes is not None:
        iso = access.isochrones(
            network,
            fac,
            minutes=settings.isochrone_minutes,
            progress=progress,
        )
        t = tick("isochrones", t)

    demand = summary = uncovered = None
    if dataset.population is not None:
        pts = coverage.demand_points(dataset.population)
        near = access.nearest_facility(network, src, pts)
        t = tick("travel times", t)
        admin = coverage.assign_admin(dataset.population, dataset.boundaries)
        demand = coverage.coverage_table(
            dataset.population,
            near.time_s,
            near.facility,
            minutes=settings.minutes,
            facility_ids=fac["facility_id"].astype(str).to_numpy(),
            admin=admin,
        )
        demand["reachable"] = near.attachment.reachable
        piece = _piece_of(network, near.attachment)
        served = np.unique(fac["piece"].to_numpy()[src.reachable])
        demand["piece"] = piece
        demand["no_facility_in_piece"] = (piece >= 0) & ~np.isin(piece, served)
        _log_pieces_without_facility(demand)
        summary = coverage.admin_summary(demand, dataset.boundaries)
        uncovered = coverage.uncovered_areas(demand, boundaries=dataset.boundaries, crs=network.crs)
        t = tick("coverage", t)
    return CoverageResult(
        settings=settings,
        dataset_name=dataset.name,
        synthetic=dataset.synthetic,
        network=network,
        facilities=fac,
        isochrones=iso,
        demand=demand,
        admin_summary=summary,
        uncovered=uncovered,
        boundaries=dataset.boundaries,
        seconds=seconds,
    )


def _piece_of(network: Network, att) -> np.ndarray:
    """The road piece (:func:`planner.network.network_pieces`) each joined point is in; -1 if none."""
    pieces = network_pieces(network)
    ok = att.reachable
    return np.where(ok, pieces[np.where(ok, att.u, 0)] if len(pieces) else -1, -1).astype(np.int64)


def _log_pieces_without_facility(demand: gpd.GeoDataFrame) -> None:
    lonely = demand["no_facility_in_piece"].to_numpy(bool)
    if not lonely.any():
        return
    pop = demand["population"].to_numpy(float)
    by_piece = (
        pd.Series(pop[lonely])
        .groupby(demand["piece"].to_numpy()[lonely])
        .sum()
        .sort_values(ascending=False)
    )
    log.warning(
        "%s residents (%d demand units) join %d road pieces that hold no facility, so no facility "
        "serves them (largest: %s residents); their roads do not connect to the rest of the network",
        f"{by_piece.sum():,.0f}",
        int(lonely.sum()),
        len(by_piece),
        f"{by_piece.iloc[0]:,.0f}",
    )


def facility_tier_counts(facilities: gpd.GeoDataFrame) -> pd.Series:
    """Number of facilities per tier, in the order of :data:`planner.standards.TIERS`."""
    counts = facilities["tier"].value_counts()
    return counts.reindex([t for t in standards.TIERS if t in counts.index])


def coverage_curve(result: CoverageResult, minutes: Sequence[float]) -> pd.DataFrame:
    """Covered population at several thresholds (from the times already computed)."""
    if result.demand is None:
        raise InputError("no population in this analysis. Fix: load a population file.")
    pop = result.demand["population"].to_numpy(float)
    t = result.demand["minutes"].to_numpy(float)
    tot = pop.sum()
    rows = [
        {
            "minutes": m,
            "covered_population": float(pop[t <= m].sum()),
            "covered_share": float(pop[t <= m].sum() / tot) if tot else np.nan,
        }
        for m in minutes
    ]
    return pd.DataFrame(rows)
