"""Library functions behind the Streamlit app (``app.py``): uploads, standards table, what-if,
coverage bands for the map, the map itself, scenarios on disk and exports.

``app.py`` only draws widgets and calls these; everything here is plain Python that a notebook
or a test can call too. Streamlit is imported lazily and only by :func:`show_map`.

>>> import planner
>>> from planner import app_support as aps
>>> ds = planner.load_demo()                                              # doctest: +SKIP
>>> result = planner.analyze(ds, isochrone_minutes=None)                  # doctest: +SKIP
>>> w = aps.what_if(ds, result, ((114.27, 34.52, "community_station"),))  # doctest: +SKIP
>>> w.newly_covered_population                                            # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import math
import os
import re
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from . import _validate, _webmap, access, pipeline, report, siting
from ._errors import InputError, InputFileError, OptimizationError, ScenarioError
from .pipeline import CoverageResult, CoverageSettings, Dataset
from .scenario import Scenario
from .standards import PRIMARY_TIERS, TIER_LABELS, TIERS, Rules

log = logging.getLogger(__name__)
_T = TypeVar("_T")

REPO_ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------

MODES = ("walk", "ebike", "drive")
#: Default speed of each mode in km/h (for drive: the speed of road classes without one).
MODE_SPEED_KMH = {"walk": 4.8, "ebike": 15.0, "drive": 30.0}
DEFAULT_ACCESS_MAX_M = 500.0
#: Grid cell of the isochrone bands drawn on the app's map (metres).
BAND_CELL_M = 100.0


def coverage_settings(sc: Scenario) -> CoverageSettings:
    """The coverage part of a scenario (hashable: the app's cache key). No isochrones:
    the app draws :func:`coverage_bands` instead, which are much faster to compute."""
    return CoverageSettings(
        mode=sc.mode,
        minutes=float(sc.minutes),
        tiers=tuple(sc.tiers),
        isochrone_minutes=(),
        speed_kmh=sc.speed_kmh,
        access_max_m=sc.access_max_m,
        access_speed_factor=sc.access_speed_factor,
    )


def data_key(sc: Scenario) -> tuple[str, ...]:
    """The data part of a scenario (hashable). Uploaded files live in folders named by the
    SHA-256 of their content, so equal paths mean equal data."""
    return (sc.data_dir, sc.roads, sc.facilities, sc.population, sc.boundaries, sc.facilities_crs)


def is_demo(sc: Scenario) -> bool:
    return not any((sc.data_dir, sc.roads, sc.facilities))


def band_levels(minutes: float) -> tuple[float, ...]:
    """Nested isochrone thresholds drawn on the map: thirds of ``minutes`` (5/10/15 for 15)."""
    m = float(minutes)
    return tuple(sorted({round(m / 3, 2), round(2 * m / 3, 2), m}))


def canonical_tiers(selected: Iterable[str]) -> tuple[str, ...]:
    """``()`` when ``selected`` is exactly the default set (every primary tier), else the tiers
    in :data:`TIERS` order, so that equal choices give equal cache keys and scenario files."""
    sel = set(selected)
    if sel == set(PRIMARY_TIERS):
        return ()
    return tuple(t for t in TIERS if t in sel)


# ---------------------------------------------------------------------------------------------
# Loading data (demo or uploads)
# ---------------------------------------------------------------------------------------------

#: Largest accepted upload per input, in megabytes.
UPLOAD_LIMIT_MB: dict[str, int] = {
    "roads": 200,
    "facilities": 20,
    "boundaries": 100,
    "population": 200,
    "candidates": 20,
}
#: Accepted file name endings per input (``zip``: a zipped shapefile).
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "roads": ("osm", "pbf", "zip", "gpkg", "geojson"),
    "facilities": ("csv", "xlsx", "geojson", "json", "zip"),
    "boundaries": ("geojson", "json", "gpkg", "zip"),
    "population": ("tif", "tiff", "geojson", "gpkg", "zip", "csv", "xlsx"),
    "candidates": ("csv", "xlsx", "geojson", "json"),
}
#: Zip archives: most members, most bytes unpacked, and the parts of a shapefile kept.
ZIP_MAX_MEMBERS = 64
ZIP_MAX_BYTES = 1_000_000_000
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
#: Facility coordinate systems offered in the app (value passed to ``read_facilities``).
FACILITY_CRS = ("wgs84", "gcj02", "bd09")


def _safe_name(filename: str) -> str:
    """The last path component with anything but letters, digits, ``.-_`` replaced."""
    base = re.split(r"[\\/]", str(filename))[-1].strip() or "upload"
    base = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).lstrip(".")
    return (base or "upload")[:120]


def _suffix(filename: str) -> str:
    low = filename.lower()
    if low.endswith(".osm.pbf"):
        return "pbf"
    return low.rsplit(".", 1)[-1] if "." in low else ""


def store_upload(kind: str, filename: str, data: bytes, root: str | Path) -> Path:
    """Write an uploaded file under ``root/<kind>/<sha256>/`` and return the path to load.

    Checks the size (:data:`UPLOAD_LIMIT_MB`) and the file type (:data:`UPLOAD_TYPES`); a zip
    archive must hold exactly one shapefile, which is unpacked (no path from the archive is
    used, members are size-checked while reading). Nothing in the file is ever executed.

    Raises
    ------
    InputError
        Too large, wrong type, or a zip that is not one shapefile.
    """
    if kind not in UPLOAD_TYPES:
        raise InputError(
            f"unknown upload kind {kind!r}. Fix: use one of {', '.join(UPLOAD_TYPES)}."
        )
    name = _safe_name(filename)
    limit = UPLOAD_LIMIT_MB[kind]
    if len(data) > limit * 1024 * 1024:
        raise InputError(
            f"{name}: {len(data) / 1024 / 1024:,.1f} MB is more than the {limit} MB allowed for {kind}. "
            "Fix: clip the file to the study area (e.g. osmium extract, or ogr2ogr -clipsrc)."
        )
    suffix = _suffix(name)
    if suffix not in UPLOAD_TYPES[kind]:
        raise InputError(
            f"{name}: a .{suffix or '?'} file cannot be used as {kind}. "
            f"Fix: upload one of {', '.join('.' + s for s in UPLOAD_TYPES[kind])}."
        )
    if len(data) == 0:
        raise InputError(f"{name}: the file is empty. Fix: upload the file again.")
    digest = hashlib.sha256(data).hexdigest()[:20]
    folder = Path(root) / kind / digest
    folder.mkdir(parents=True, exist_ok=True)
    if suffix == "zip":
        return _unzip_shapefile(data, folder, name)
    path = folder / name
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def _unzip_shapefile(data: bytes, folder: Path, name: str) -> Path:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{name}: not a readable zip archive ({exc}). Fix: upload a .zip of the shapefile."
        ) from exc
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        if len(members) > ZIP_MAX_MEMBERS:
            raise InputError(
                f"{name}: {len(members)} files in the archive (at most {ZIP_MAX_MEMBERS}). "
                "Fix: zip only the shapefile's .shp, .shx, .dbf, .prj and .cpg."
            )
        parts = [
            i
            for i in members
            if Path(i.filename).suffix.lower() in _SHAPEFILE_PARTS
            and not Path(i.filename).name.startswith(("._", "."))
        ]
        shps = [i for i in parts if i.filename.lower().endswith(".shp")]
        if len(shps) != 1:
            found = ", ".join(Path(i.filename).name for i in shps) or "none"
            raise InputError(
                f"{name}: the archive must hold exactly one shapefile (.shp); found {found}. "
                "Fix: zip one layer's .shp, .shx, .dbf and .prj together."
            )
        stem = Path(shps[0].filename).stem
        keep = [i for i in parts if Path(i.filename).stem == stem]
        if sum(i.file_size for i in keep) > ZIP_MAX_BYTES:
            raise InputError(
                f"{name}: the shapefile unpacks to more than {ZIP_MAX_BYTES // 1_000_000} MB. "
                "Fix: clip it to the study area."
            )
        out_stem = _safe_name(stem) or "layer"
        budget = ZIP_MAX_BYTES
        for info in keep:
            target = folder / (out_stem + Path(info.filename).suffix.lower())
            try:
                with zf.open(info) as src:  # read with a cap: the header's size may lie
                    content = src.read(budget + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
                # a damaged member, a size or CRC that does not match the header, an unsupported
                # compression method or an encrypted member: the archive cannot be trusted
                raise InputError(
                    f"{name}: {Path(info.filename).name} in the archive cannot be unpacked "
                    f"({type(exc).__name__}: {exc}). Fix: zip the shapefile again (without a "
                    "password) and upload the new archive."
                ) from None
            if len(content) > budget:
                raise InputError(
                    f"{name}: the shapefile unpacks to more than {ZIP_MAX_BYTES // 1_000_000} MB. "
                    "Fix: clip it to the study area."
                )
            budget -= len(content)
            target.write_bytes(content)
    return folder / (out_stem + ".shp")


def load_data(sc: Scenario) -> Dataset:
    """The scenario's data set (the demo county when it names no files), checked with
    :func:`check_dataset`; its warnings are in ``dataset.sources['warnings']``."""
    if is_demo(sc):
        return pipeline.load_demo()
    if not sc.roads or not sc.facilities:
        missing = " and ".join(k for k in ("roads", "facilities") if not getattr(sc, k))
        raise InputFileError(
            f"no {missing} file given. Fix: upload the {missing} of the study area."
        )
    import warnings as _warnings

    from ._errors import PlannerWarning

    with _warnings.catch_warnings(record=True) as caught:  # the loaders' warnings go on the page
        _warnings.simplefilter("always", PlannerWarning)
        ds = pipeline.load_dataset(
            None,
            roads=sc.roads,
            facilities=sc.facilities,
            population=sc.population or None,
            boundaries=sc.boundaries or None,
            facilities_crs=sc.facilities_crs or None,
            name=Path(sc.facilities).stem,
            check=False,  # checked below, in the app's words
        )
    warnings = [str(w.message) for w in caught if issubclass(w.category, PlannerWarning)]
    for w in caught:
        if not issubclass(w.category, PlannerWarning):
            _warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    warnings += check_dataset(ds)
    if warnings:
        ds.sources["warnings"] = "\n".join(warnings)
    return ds


def check_dataset(ds: Dataset, *, tolerance_deg: float = 0.02) -> list[str]:
    """Checks of a loaded data set that the loaders cannot make on one file alone.

    The checks of :func:`planner._validate.check_extents` (the same the library and the CLI
    make): raises :class:`~planner.CRSError` when no facility, no road or no resident lies
    within the boundaries (a wrong coordinate system, or lon/lat swapped); returns warnings
    (facilities outside the boundaries, which still count: residents cross borders; facilities
    that look like GCJ-02 coordinates uploaded as WGS-84).
    """
    warnings = _validate.check_extents(
        roads=ds.roads, facilities=ds.facilities, boundaries=ds.boundaries, population=ds.population,
        sources=ds.sources, tolerance_deg=tolerance_deg,
        crs_fix="choose the coordinate system the file was made in",
    )
    d = _validate.looks_like_gcj02(ds.roads, ds.facilities)
    if d is not None:
        warnings.append(
            f"the facilities look like GCJ-02 (Amap/Tencent) coordinates read as WGS-84: undoing the "
            f"GCJ-02 offset brings them from a median {d['as_is']:,.0f} m to {d['undone']:,.0f} m from "
            "the nearest road. If they come from Amap, Tencent or another Chinese web map, choose "
            "GCJ-02 as their coordinate system."
        )
    return warnings


def demo_candidates_file() -> Path:
    """The vacant premises of the demo county (``data/facilities/demo_candidates.csv``)."""
    return pipeline.DEMO_DIR / "facilities" / "demo_candidates.csv"


# ---------------------------------------------------------------------------------------------
# Isochrone bands for the map
# ---------------------------------------------------------------------------------------------


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (an intersection may add stray lines and points)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.MultiPolygon()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def coverage_bands(
    result: CoverageResult,
    minutes: Sequence[float],
    *,
    facilities: gpd.GeoDataFrame | None = None,
    cell_m: float = BAND_CELL_M,
    bounds: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """Areas within each of ``minutes`` of the nearest facility, as nested polygons.

    The union of every facility's isochrone, computed on a ``cell_m`` grid with one
    nearest-facility search (:func:`planner.access.travel_time_raster`): a cell is inside when its
    centre, joined to the road network like a resident, reaches a facility in time, the very
    test used for residents, so the map shows exactly the residents the numbers count as
    covered. Per-facility isochrones (:func:`planner.access.isochrones`) are more generous
    (they let a resident walk off-road from any reached road point, not only from the nearest
    one: 483 against 418 km² within 15 minutes' walk on the demo county) and their union is
    heavier (2.8 s and 230k vertices against 0.9 s and 3k vertices, walking, demo county).

    Returns
    -------
    GeoDataFrame
        ``facility_id`` (""), ``minutes``, ``area_km2``; EPSG:4326, one (multi)polygon per
        threshold, nested.
    """
    from rasterio import features

    levels = sorted({float(m) for m in minutes})
    if not levels or levels[0] <= 0:
        raise InputError(f"minutes must be positive, got {list(minutes)!r}.")
    net = result.network
    fac = result.facilities if facilities is None else facilities
    if bounds is None and result.boundaries is not None and len(result.boundaries):
        bounds = tuple(result.boundaries.to_crs(net.crs).total_bounds)
    arr, transform, crs = access.travel_time_raster(
        net,
        fac,
        cell_m=cell_m,
        bounds=cast(tuple[float, float, float, float], tuple(float(v) for v in bounds))
        if bounds is not None
        else None,
        max_minutes=levels[-1],
    )
    geoms = []
    for m in levels:
        mask = np.isfinite(arr) & (arr <= m + 1e-9)
        parts = [
            shapely.geometry.shape(g)
            for g, _ in features.shapes(
                mask.astype(np.uint8), mask=mask, transform=transform, connectivity=4
            )
        ]
        geom = shapely.union_all(parts) if parts else shapely.Polygon()
        # smooth the cell staircase (a quarter of the vertices, and it reads as an isochrone)
        geoms.append(
            _polygonal(
                shapely.make_valid(shapely.simplify(geom, 0.75 * cell_m, preserve_topology=True))
            )
        )
    for k in range(len(geoms) - 2, -1, -1):  # keep the thresholds nested after smoothing
        geoms[k] = _polygonal(shapely.intersection(geoms[k], geoms[k + 1]))
    out = gpd.GeoDataFrame({"facility_id": "", "minutes": levels}, geometry=geoms, crs=crs)
    out["area_km2"] = shapely.area(out.geometry.values) / 1e6
    return out.to_crs("EPSG:4326")


# ---------------------------------------------------------------------------------------------
# Standards (shared/docs/standards.md)
# ---------------------------------------------------------------------------------------------

#: The rules the standards table checks: label, requirement and source (zh / en).
RULES: dict[str, dict[str, str]] = {
    "R1": {
        "zh": "15分钟医疗服务圈",
        "en": "15-minute medical service circle",
        "req_zh": "每位居民{minutes:g}分钟内到达基层医疗卫生机构（全县及每个乡镇/街道）",
        "req_en": "every resident within {minutes:g} min of primary care (county and each township/subdistrict)",
        "source": "standards rule 1: 城区15分钟医疗服务圈 (Kaifeng 2023–2025 plan; Qingdao 2024 draft)",
    },
    "R2a": {
        "zh": "每个街道一个社区卫生服务中心",
        "en": "A community health center per subdistrict",
        "req_zh": "街道内至少1个社区卫生服务中心",
        "req_en": "at least 1 center in each subdistrict",
        "source": "standards rule 2 (Qingdao 2024 draft; Zhengzhou Erqi 2018)",
    },
    "R2b": {
        "zh": "每中心服务人口上限",
        "en": "Residents per community health center",
        "req_zh": "人口超过10万的街道：每10万人1个中心",
        "req_en": "a subdistrict over 100,000 residents: one center per 100,000",
        "source": "standards rule 2 (Qingdao 2024 draft: 30,000–100,000 residents per center)",
    },
    "R3": {
        "zh": "每个社区一个社区卫生服务站",
        "en": "A community health station per community",
        "req_zh": "每个社区至少1个社区卫生服务站（或中心）",
        "req_en": "at least 1 station (or center) in each community",
        "source": "standards rule 3 (Kaifeng 2023–2025 plan)",
    },
    "R4": {
        "zh": "每个乡镇一所乡镇卫生院",
        "en": "A township health center per township",
        "req_zh": "每个镇/乡至少1所乡镇卫生院",
        "req_en": "at least 1 township health center in each town/township",
        "source": "standards rule 4 (Qingdao 2024 draft; Baoding)",
    },
    "R5": {
        "zh": "每个行政村一个村卫生室",
        "en": "A village clinic per administrative village",
        "req_zh": "每个行政村至少1个村卫生室（按名称或位置）；相邻村的卫生室{minutes:g}分钟内可达本村至少一半居民时记为“共享”",
        "req_en": "at least 1 clinic in each village (by name or location); shared when a clinic of an "
        "adjacent village reaches at least half its residents within {minutes:g} min",
        "source": "standards rule 5 (Baoding; Kaifeng 2023–2025 plan)",
    },
    "RF": {
        "zh": "每个基层医疗卫生机构服务人口",
        "en": "Residents per primary-care facility",
        "req_zh": "参考值：村医每千人1–1.5名；全科医生每万人4名",
        "req_en": "reference: 1–1.5 village doctors per 1,000; 4 GPs per 10,000 residents",
        "source": "standards rule 8 (Qingdao 2024 draft)",
    },
}
STATUS = ("met", "shared", "missing", "info")
#: The standards' default values (frozen, so one shared instance is safe as a default).
DEFAULT_RULES = Rules()


def figure_text(rule: str, value: float) -> str:
    """A rule's figure for a table cell: a share in per cent (R1), residents otherwise, and
    "–" when there is none (a unit or county without residents: never "nan %")."""
    if value is None or not np.isfinite(value):
        return "–"
    return f"{100 * value:.1f} %" if rule == "R1" else f"{value:,.0f}"


def rule_text(rule: str, lang: str, *, minutes: float) -> tuple[str, str]:
    """(label, requirement) of a rule in ``lang`` (``zh`` or ``en``)."""
    r = RULES[rule]
    return r[lang], r[f"req_{lang}"].format(minutes=minutes)


def _unit_trees(boundaries: gpd.GeoDataFrame) -> dict[str, tuple[shapely.STRtree, np.ndarray]]:
    out = {}
    for level in ("township", "village"):
        units = boundaries[boundaries["level"] == level]
        if len(units):
            out[level] = (
                shapely.STRtree(units.geometry.values),
                units["admin_code"].astype(str).to_numpy(dtype=object),
            )
    return out


def facility_units(
    facilities: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame | None, *, trees: dict | None = None
) -> pd.DataFrame:
    """Admin code of each facility at each level (``<level>_code``, "" outside), by position."""
    out = pd.DataFrame(index=pd.RangeIndex(len(facilities)))
    if boundaries is None or len(boundaries) == 0 or len(facilities) == 0:
        return out
    geo = facilities.geometry
    pts = (
        geo if geo.crs is None or geo.crs.equals(boundaries.crs) else geo.to_crs(boundaries.crs)
    ).values
    for level, (tree, unit_codes) in (
        trees if trees is not None else _unit_trees(boundaries)
    ).items():
        codes = np.full(len(pts), "", dtype=object)
        ip, iu = tree.query(pts, predicate="within")
        first = np.unique(ip, return_index=True)[1]
        codes[ip[first]] = unit_codes[iu[first]]
        out[f"{level}_code"] = codes
    return out


def _memo(obj: Any, name: str, make: Callable[[], _T]) -> _T:
    """A value computed once per (frozen) result or data set object and kept on it."""
    cache = obj.__dict__.setdefault("_app_support_cache", {}) if hasattr(obj, "__dict__") else {}
    if name not in cache:
        cache[name] = make()
    return cache[name]


def _units(boundaries: gpd.GeoDataFrame, level: str) -> list[tuple[str, str, str]]:
    u = boundaries[boundaries["level"] == level]
    kinds = u["kind"].astype(str).tolist() if "kind" in u.columns else [""] * len(u)
    return list(
        zip(
            u["admin_code"].astype(str).tolist(),
            u["admin_name"].astype(str).tolist(),
            kinds,
            strict=True,
        )
    )


def _demand_codes(result: CoverageResult, level: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(unique codes, index of each demand unit's code) at ``level``."""
    col = f"{level}_code"
    if result.demand is None or col not in result.demand.columns:
        return None
    codes, inverse = np.unique(
        result.demand[col].astype(str).to_numpy(dtype=object), return_inverse=True
    )
    return codes, inverse


def _counts(codes: np.ndarray, tiers: np.ndarray, wanted: Sequence[str]) -> dict[str, int]:
    sel = np.isin(tiers, list(wanted)) & (codes != "")
    vals, n = np.unique(codes[sel].astype(str), return_counts=True)
    return dict(zip(vals.tolist(), n.tolist(), strict=True))


#: App status of a compliance check status (``shared``: rule 5 villages sharing a neighbour's clinic).
_STATUS_OF = {"pass": "met", "fail": "missing", "not assessed": "info"}


def standards_units(
    dataset: Dataset,
    result: CoverageResult,
    *,
    extra_facilities: gpd.GeoDataFrame | None = None,
    minutes_after: np.ndarray | None = None,
    rules: Rules = DEFAULT_RULES,
) -> pd.DataFrame:
    """Every unit checked against every rule of :data:`RULES`, as the app's tables show it.

    The rules are decided by :func:`planner.compliance.standards_checks` (the engine of the
    compliance report, so the app and ``planner report`` agree unit by unit); this only
    reshapes its lines. Facilities are the whole register ``dataset.facilities`` plus
    ``extra_facilities`` (proposed sites, column ``tier``); ``minutes_after`` (a what-if) replaces
    ``result.demand['minutes']``.

    Returns
    -------
    DataFrame
        ``rule, level, admin_code, admin_name, kind, population, value, count, required, status``
        where ``rule`` is ``R`` + the report's check id (``R1``, ``R2a``, ``R2b``, ``R3``, ``R4``,
        ``R5``) or ``RF`` (residents per primary-care facility, information only), ``value`` the
        share of residents within the time (R1), residents per center (R2a, R2b, RF), the share a
        shared clinic reaches (R5 ``shared``) or NaN, ``count`` the facilities that count,
        ``required`` how many the rule asks for, and ``status`` one of ``met``, ``shared``,
        ``missing``, ``info`` (not assessed, e.g. a unit without residents).
    """
    from . import compliance

    cols = [
        "rule",
        "level",
        "admin_code",
        "admin_name",
        "kind",
        "population",
        "value",
        "count",
        "required",
        "status",
    ]
    b = dataset.boundaries
    if b is None or len(b) == 0:
        return pd.DataFrame(columns=cols)
    fac = dataset.facilities
    if extra_facilities is not None and len(extra_facilities):
        extra = extra_facilities.to_crs(fac.crs) if fac.crs is not None else extra_facilities
        keep = [c for c in ("facility_id", "name", "tier", "geometry") if c in extra.columns]
        fac = gpd.GeoDataFrame(
            pd.concat([fac, extra[keep]], ignore_index=True), geometry="geometry", crs=fac.crs
        )
    sc = compliance.standards_checks(result, rules=rules, facilities=fac, demand_minutes=minutes_after)
    ch = sc.checks[(sc.checks["admin_code"] != "") & (sc.checks["rule"] <= 5)]
    check = ch["check"].astype(str).to_numpy(dtype=object)
    value = ch["value"].to_numpy(float)
    pop = ch["population"].to_numpy(float)
    status = ch["status"].map(_STATUS_OF).fillna("info").to_numpy(dtype=object)
    is_r1 = check == "1"
    count = np.where(is_r1, np.nan, value)
    required = np.where(is_r1, np.nan, ch["target"].to_numpy(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_center = np.where(count > 0, pop / count, np.nan)
    shown = np.where(is_r1, value, np.where(np.isin(check, ["2a", "2b"]), per_center, np.nan))
    if len(sc.villages):
        v = sc.villages.set_index("admin_code")
        shared = (check == "5") & (status == "met") & (
            ch["admin_code"].map(v["status"]).to_numpy(dtype=object) == "shared"
        )
        status[shared] = "shared"
        shown = np.where(shared, ch["admin_code"].map(v["shared_share"]).to_numpy(float), shown)
    out = pd.DataFrame(
        {
            "rule": "R" + ch["check"].astype(str).to_numpy(dtype=object),
            "level": ch["level"].to_numpy(dtype=object),
            "admin_code": ch["admin_code"].to_numpy(dtype=object),
            "admin_name": ch["admin_name"].to_numpy(dtype=object),
            "kind": ch["kind"].to_numpy(dtype=object),
            "population": pop,
            "value": shown,
            "count": count,
            "required": required,
            "status": status,
        }
    )
    # RF, information only: residents per primary-care facility standing in each township
    twn = ch[is_r1 & (ch["level"] == "township").to_numpy()]
    placed = sc.facilities
    if len(twn) and "township_code" in placed.columns:
        prim = placed[placed["tier"].astype(str).isin(list(PRIMARY_TIERS))]
        n = prim.groupby(prim["township_code"].astype(str)).size()
        k = twn["admin_code"].map(n).fillna(0).to_numpy(float)
        p = twn["population"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(k > 0, p / k, np.nan)
        rf = pd.DataFrame(
            {
                "rule": "RF",
                "level": "township",
                "admin_code": twn["admin_code"].to_numpy(dtype=object),
                "admin_name": twn["admin_name"].to_numpy(dtype=object),
                "kind": twn["kind"].to_numpy(dtype=object),
                "population": p,
                "value": per,
                "count": k,
                "required": np.nan,
                "status": "info",
            }
        )
        out = pd.concat([out, rf], ignore_index=True)
    order = {r: i for i, r in enumerate(RULES)}
    out = out[out["rule"].isin(list(RULES))]
    out = out.sort_values("rule", key=lambda s: s.map(order), kind="stable")
    return out.reset_index(drop=True)[cols]


def standards_summary(
    units: pd.DataFrame,
    dataset: Dataset,
    result: CoverageResult,
    *,
    minutes_after: np.ndarray | None = None,
    rules: Rules = DEFAULT_RULES,
) -> pd.DataFrame:
    """One row per rule: ``rule, units, met, shared, missing, share_met, figure``.

    ``figure`` is the rule's county-wide number: the share of all residents within the time
    (R1), residents per community health center in the subdistricts (R2a, R2b), residents per
    primary-care facility (RF); NaN otherwise.
    """
    rule_col = units["rule"].to_numpy(dtype=object)
    status = units["status"].to_numpy(dtype=object)
    count = units["count"].to_numpy(float)
    popu = units["population"].to_numpy(float)
    rows = []
    for rule in RULES:
        sel = rule_col == rule
        if not sel.any():
            continue
        st = status[sel]
        met, shared, missing = (int((st == s).sum()) for s in ("met", "shared", "missing"))
        judged = met + shared + missing
        figure = float("nan")
        demand = result.demand
        if rule == "R1" and demand is not None:
            pop = demand["population"].to_numpy(float)
            mins = (
                demand["minutes"].to_numpy(float)
                if minutes_after is None
                else np.asarray(minutes_after)
            )
            figure = (
                float(pop[mins <= rules.coverage_minutes + 1e-9].sum() / pop.sum())
                if pop.sum()
                else figure
            )
        elif rule in ("R2a", "R2b", "RF"):
            n = count[sel].sum()
            figure = float(popu[sel].sum() / n) if n else figure
        rows.append(
            {
                "rule": rule,
                "units": int(sel.sum()),
                "met": met,
                "shared": shared,
                "missing": missing,
                "share_met": (met + shared) / judged if judged else float("nan"),
                "figure": figure,
            }
        )
    return pd.DataFrame(
        rows, columns=["rule", "units", "met", "shared", "missing", "share_met", "figure"]
    )


def standards_change(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Rule by rule: met/missing and the county figure before and after, and the changes."""
    b = before.set_index("rule")
    a = after.set_index("rule").reindex(b.index)
    out = pd.DataFrame(
        {
            "rule": b.index,
            "met_before": (b["met"] + b["shared"]).to_numpy(),
            "met_after": (a["met"] + a["shared"]).to_numpy(),
            "missing_before": b["missing"].to_numpy(),
            "missing_after": a["missing"].to_numpy(),
            "figure_before": b["figure"].to_numpy(),
            "figure_after": a["figure"].to_numpy(),
        }
    )
    out["met_change"] = out["met_after"] - out["met_before"]
    out["figure_change"] = out["figure_after"] - out["figure_before"]
    return out


def changed_units(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Units whose status, facility count or (R1) share changed: ``rule, admin_code,
    admin_name, status_before, status_after, count_before, count_after, value_before,
    value_after`` (rule RF, a figure only, left out)."""
    cols = [
        "rule",
        "admin_code",
        "admin_name",
        "status_before",
        "status_after",
        "count_before",
        "count_after",
        "value_before",
        "value_after",
    ]
    key = ["rule", "admin_code"]
    if len(before) == len(after) and (before[key].to_numpy() == after[key].to_numpy()).all():
        m = before.rename(columns={c: f"{c}_before" for c in ("status", "count", "value")})
        for c in ("status", "count", "value"):
            m[f"{c}_after"] = after[c].to_numpy()
    else:
        m = before.merge(
            after.drop(columns=["admin_name"]), on=key, suffixes=("_before", "_after"), how="outer"
        )
    s0, s1 = m["status_before"].to_numpy(dtype=object), m["status_after"].to_numpy(dtype=object)
    c0, c1 = m["count_before"].to_numpy(float), m["count_after"].to_numpy(float)
    v0, v1 = m["value_before"].to_numpy(float), m["value_after"].to_numpy(float)
    rule = m["rule"].to_numpy(dtype=object)
    changed = (s0 != s1) | ~np.isclose(c0, c1, equal_nan=True)
    changed |= (rule == "R1") & ~np.isclose(v0, v1, equal_nan=True, rtol=0, atol=1e-9)
    changed &= rule != "RF"
    return m.loc[changed, cols].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# What-if of proposed sites
# ---------------------------------------------------------------------------------------------


def proposed_frame(proposed: Sequence[tuple[float, float, str]]) -> gpd.GeoDataFrame:
    """Hand-proposed sites ``(lon, lat, tier)`` as ``site_id P1.., facility_id, lon, lat, tier``."""
    return Scenario(proposed=tuple(proposed)).proposed_frame()


def study_area(result: CoverageResult) -> shapely.Geometry | None:
    """The union of the boundaries (None without boundaries)."""
    b = result.boundaries
    if b is None or len(b) == 0:
        return None
    top = b[b["level"] == "county"] if (b["level"] == "county").any() else b
    return shapely.union_all(top.geometry.values)


def check_site(
    result: CoverageResult, lon: float, lat: float, *, area: shapely.Geometry | None = None
) -> None:
    """Raise :class:`~planner.InputError` when a proposed site is outside the study area (or
    the coordinates are not lon/lat)."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(
            f"({lon}, {lat}) are not lon/lat degrees. Fix: give WGS-84 longitude and latitude."
        )
    area = study_area(result) if area is None else area
    if area is not None and not shapely.intersects(area, shapely.Point(lon, lat)):
        raise InputError(
            f"({lon:.5f}, {lat:.5f}) is outside the study area. Fix: place the site inside the boundaries."
        )


@dataclass(frozen=True, eq=False)
class WhatIf:
    """What hand-proposed sites change (everything the app's what-if panel shows).

    Attributes
    ----------
    sites : ``site_id, lon, lat, tier, newly_covered_population, catchment_population,
        overlap_population, township_name``
    evaluation : :class:`planner.siting.SiteEvaluation`
    per_admin : newly covered residents per admin unit (``level, admin_code, admin_name,
        newly_covered_population, covered_share_before, covered_share_after``)
    nearest_changes : residents whose nearest facility changes, by (old facility -> new site):
        ``old_facility, old_name, new_site, population, old_minutes, new_minutes``
        (population-weighted means)
    newly_covered_areas : footprints of the newly covered demand units per site (EPSG:4326)
    minutes_after : time to the nearest facility per demand unit with the sites
    standards_before, standards_after : :func:`standards_units`
    summary_before, summary_after, change : :func:`standards_summary`, :func:`standards_change`
    units_changed : :func:`changed_units`
    seconds : wall time
    """

    sites: gpd.GeoDataFrame
    evaluation: siting.SiteEvaluation
    per_admin: pd.DataFrame
    nearest_changes: pd.DataFrame
    newly_covered_areas: gpd.GeoDataFrame
    minutes_after: np.ndarray
    standards_before: pd.DataFrame
    standards_after: pd.DataFrame
    summary_before: pd.DataFrame
    summary_after: pd.DataFrame
    change: pd.DataFrame
    units_changed: pd.DataFrame
    seconds: float

    @property
    def newly_covered_population(self) -> float:
        return self.evaluation.newly_covered_population

    @property
    def covered_share_after(self) -> float:
        ev = self.evaluation
        return (
            ev.covered_population_after / ev.total_population
            if ev.total_population
            else float("nan")
        )


def _admin_names(dataset: Dataset) -> pd.Series:
    bnd = dataset.boundaries
    if bnd is None:
        return pd.Series(dtype=str)
    return bnd.drop_duplicates("admin_code").set_index("admin_code")["admin_name"]


def _facility_names(dataset: Dataset) -> pd.Series:
    fac = dataset.facilities.drop_duplicates("facility_id")
    return pd.Series(
        fac["name"].astype(str).to_numpy(), index=fac["facility_id"].astype(str).to_numpy()
    )


def what_if(
    dataset: Dataset,
    result: CoverageResult,
    proposed: Sequence[tuple[float, float, str]],
    *,
    standards_before: pd.DataFrame | None = None,
    summary_before: pd.DataFrame | None = None,
    rules: Rules = DEFAULT_RULES,
) -> WhatIf:
    """Evaluate hand-proposed sites ``(lon, lat, tier)`` against ``result``.

    The coverage part is :func:`planner.siting.evaluate_sites`; this adds names, the newly
    covered areas, the residents whose nearest facility changes and the standards table before
    and after. Pass ``standards_before`` (from :func:`standards_units`) and ``summary_before``
    (its :func:`standards_summary`) to skip recomputing them: they do not depend on the sites.
    """
    t0 = time.perf_counter()
    if result.demand is None:
        raise InputError("the what-if needs population. Fix: load a population file.")
    sites = proposed_frame(proposed)
    ev = siting.evaluate_sites(result, sites)
    dem = result.demand
    mins = float(result.settings.minutes)
    # times with the sites: the evaluation lists every unit whose nearest facility changes
    after = dem["minutes"].to_numpy(float).copy()
    nc = ev.nearest_changed
    rows = nc["demand_row"].to_numpy(int)
    after[rows] = np.minimum(after[rows], nc["new_minutes"].to_numpy(float))
    # names
    bnd = dataset.boundaries
    names = _memo(dataset, "admin_names", partial(_admin_names, dataset))
    per_site = ev.per_site.copy()
    out_sites = sites[["site_id", "lon", "lat", "tier", "geometry"]].merge(
        per_site.drop(columns=["tier"]), on="site_id", how="left"
    )
    where = (
        facility_units(sites, bnd, trees=_memo(dataset, "unit_trees", lambda: _unit_trees(bnd)))
        if bnd is not None and len(bnd)
        else pd.DataFrame(index=pd.RangeIndex(len(sites)))
    )
    for level in ("township", "village"):
        col = f"{level}_code"
        out_sites[f"{level}_name"] = (
            where[col].map(names).fillna("").to_numpy() if col in where.columns else ""
        )
    out_sites = gpd.GeoDataFrame(out_sites, geometry="geometry", crs="EPSG:4326")
    # per admin unit
    pa = ev.per_admin.copy()
    # every column even when the sites add nobody (an empty frame is a normal answer)
    if "admin_name" not in pa.columns:
        pa.insert(1, "admin_name", pa["admin_code"].map(names).fillna("").astype(object))
    if "covered_share_before" not in pa.columns:
        pa["covered_share_before"] = pa["covered_before"] / pa["population"]
        pa["covered_share_after"] = (pa["covered_before"] + pa["newly_covered_population"]) / pa[
            "population"
        ]
    level_order = {"county": 0, "township": 1, "village": 2}
    if len(pa):
        pa = pa.sort_values(
            ["level", "newly_covered_population"],
            ascending=[True, False],
            key=lambda s: s.map(level_order) if s.name == "level" else s,
            kind="stable",
        )
    pa = pa.reset_index(drop=True)
    # whose nearest facility changes
    if len(nc):
        old_m = nc["old_minutes"].to_numpy(float)
        finite = np.isfinite(old_m)
        g = pd.DataFrame(
            {
                "old_facility": nc["old_facility"].to_numpy(dtype=object),
                "new_site": nc["new_site"].to_numpy(dtype=object),
                "population": nc["population"].to_numpy(float),
                "w_old": np.where(
                    finite, nc["population"].to_numpy(float) * np.where(finite, old_m, 0), 0.0
                ),
                "w_new": nc["population"].to_numpy(float) * nc["new_minutes"].to_numpy(float),
                "infinite": (~finite).astype(float),
            }
        )
        agg = g.groupby(["old_facility", "new_site"], sort=False).sum().reset_index()
        agg["old_minutes"] = np.where(agg["infinite"] > 0, np.inf, agg["w_old"] / agg["population"])
        agg["new_minutes"] = agg["w_new"] / agg["population"]
        fac_names = _memo(dataset, "facility_names", partial(_facility_names, dataset))
        agg["old_name"] = agg["old_facility"].astype(str).map(fac_names).fillna("")
        changes = agg[
            ["old_facility", "old_name", "new_site", "population", "old_minutes", "new_minutes"]
        ]
        changes = changes.sort_values("population", ascending=False, kind="stable").reset_index(
            drop=True
        )
    else:
        changes = pd.DataFrame(
            columns=[
                "old_facility",
                "old_name",
                "new_site",
                "population",
                "old_minutes",
                "new_minutes",
            ]
        )
    # newly covered footprints, one geometry per site
    gained = nc[(nc["new_minutes"] <= mins + 1e-9) & ~(nc["old_minutes"] <= mins + 1e-9)]
    parts = []
    for sid, grp in gained.groupby("new_site", sort=True):
        cells = dem.geometry.values[grp["demand_row"].to_numpy(int)]
        try:  # raster cells tile the plane: the coverage union is exact and much faster
            geom = shapely.coverage_union_all(cells)
        except shapely.errors.GEOSException:
            geom = shapely.union_all(cells)
        parts.append(
            {"site_id": str(sid), "population": float(grp["population"].sum()), "geometry": geom}
        )
    areas = gpd.GeoDataFrame(
        parts, columns=["site_id", "population", "geometry"], geometry="geometry", crs=dem.crs
    )
    if len(areas) and dem.crs is not None and not dem.crs.equals("EPSG:4326"):
        areas = areas.to_crs("EPSG:4326")
    # standards
    if standards_before is None:
        standards_before = standards_units(dataset, result, rules=rules)
    std_after = standards_units(
        dataset, result, extra_facilities=sites, minutes_after=after, rules=rules
    )
    sum_before = (
        summary_before
        if summary_before is not None
        else standards_summary(standards_before, dataset, result, rules=rules)
    )
    sum_after = standards_summary(std_after, dataset, result, minutes_after=after, rules=rules)
    return WhatIf(
        sites=out_sites,
        evaluation=ev,
        per_admin=pa,
        nearest_changes=changes,
        newly_covered_areas=areas,
        minutes_after=after,
        standards_before=standards_before,
        standards_after=std_after,
        summary_before=sum_before,
        summary_after=sum_after,
        change=standards_change(sum_before, sum_after),
        units_changed=changed_units(standards_before, std_after),
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------------------------
# Optimizer
# ---------------------------------------------------------------------------------------------

OBJECTIVES = siting.OBJECTIVES
CANDIDATE_SOURCES = ("uncovered", "villages", "file", "nodes")


def numeric_columns(path: str | Path | None) -> list[str]:
    """Numeric columns of a candidates file other than coordinates (choices for site costs)."""
    if not path:
        return []
    from . import load

    try:
        cand = load.read_facilities(path, default_tier="community_station")
    except Exception:  # noqa: BLE001 - only a list of choices; the run reports errors
        return []
    skip = {"lon", "lat", "x", "y", "longitude", "latitude", "geometry"}
    return [c for c in cand.columns if c not in skip and pd.api.types.is_numeric_dtype(cand[c])]


def run_optimizer(
    result: CoverageResult,
    *,
    objective: str,
    new_sites: int | None = None,
    budget: float | None = None,
    cost_column: str | None = None,
    target_share: float = 1.0,
    tier: str = "community_station",
    candidates: str = "uncovered",
    candidates_file: str | Path | None = None,
    spacing_m: float = 300.0,
    time_limit_s: float = 60.0,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> siting.SitingRun:
    """Candidates from ``candidates`` then :func:`planner.siting.propose_sites` (``budget``
    needs ``cost_column`` of the candidates file, else each site costs 1)."""
    if objective not in OBJECTIVES:
        raise OptimizationError(
            f"unknown objective {objective!r}. Fix: use one of {', '.join(OBJECTIVES)}."
        )
    if candidates not in CANDIDATE_SOURCES:
        raise OptimizationError(
            f"unknown candidate source {candidates!r}. Fix: use one of {', '.join(CANDIDATE_SOURCES)}."
        )
    if progress:
        progress("candidates", 0.0)
    cand = siting.candidate_sites(
        result, source=candidates, path=candidates_file, tier=tier, spacing_m=spacing_m
    )
    costs: Any = None
    if budget is not None:
        costs = cost_column if cost_column else np.ones(len(cand))
    if progress:
        progress("candidates", 1.0)
    return siting.propose_sites(
        result,
        objective=objective,
        new_sites=new_sites if objective != "min-sites" else None,
        budget=budget if objective == "max-coverage" else None,
        costs=costs if objective == "max-coverage" else None,
        target_share=target_share,
        candidates=cand,
        tier=tier,
        spacing_m=spacing_m,
        time_limit_s=time_limit_s,
        seed=seed,
        progress=progress,
    )


# ---------------------------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------------------------

_NEWLY_COVERED_COLOR = "#1a9850"
_OPTIMIZED_STROKE = "#ffffff"


def _lbl(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


def _map_lang(lang: str) -> Literal["zh", "en"]:
    return "zh" if lang == "zh" else "en"


def _parent(group: folium.FeatureGroup) -> folium.Map:
    """The _webmap layer helpers add to any folium parent; they are annotated for maps."""
    return cast(folium.Map, group)


class _ImmediateClick(MacroElement):
    """Send a map click to Streamlit at once, and mark the spot until the answer arrives.

    ``streamlit_folium`` reports clicks through a 250 ms debounce, which alone would use most of
    the app's 0.3 s budget from click to answer. This handler posts the same value
    (``{"last_clicked": {"lat", "lng"}}``) the moment Leaflet fires the click and records it as
    the component's last value, so the debounced report that follows finds nothing new and sends
    nothing. It also draws a hollow star where the click was at once; it goes when the app's
    answer adds the new layers (or after 5 s, when the click was refused). Outside ``st_folium`` (no ``__GLOBAL_DATA__``) it does nothing.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("click", function (e) {
            var g = window.__GLOBAL_DATA__;
            if (!g || !window.parent || window.parent === window) { return; }
            var value = {last_clicked: {lat: e.latlng.lat, lng: e.latlng.lng}};
            g.previous_data = value;
            window.parent.postMessage({isStreamlitMessage: true, type: "streamlit:setComponentValue",
                                       value: value, dataType: "json"}, "*");
            var pending = L.marker(e.latlng, {interactive: false, zIndexOffset: 2000,
                icon: L.divIcon({className: "planner-symbol planner-pending", html: {{ this.svg|tojson }},
                                 iconSize: [22, 22], iconAnchor: [11, 11]})});
            var map = {{ this._parent.get_name() }};
            function done(ev) {  // the app's answer: streamlit-folium adds the new layer groups
                if (ev && ev.layer === pending) { return; }
                if (ev && !(ev.layer instanceof L.FeatureGroup)) { return; }
                map.off("layeradd", done);
                if (pending._map) { pending.remove(); }
            }
            pending.addTo(map);
            map.on("layeradd", done);
            setTimeout(done, 5000);
        });
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "ImmediateClick"
        self.svg = _webmap.symbol_svg("star", "#ffffff", 22, stroke="#111111", stroke_width=1.3)


def base_map(
    dataset: Dataset,
    result: CoverageResult,
    bands: gpd.GeoDataFrame | None,
    *,
    lang: str = "en",
    basemap: bool = False,
    assets: str = "served",
    immediate_click: bool = True,
) -> folium.Map:
    """The app's map without the what-if layers: boundaries, isochrone bands, uncovered
    population, facilities by tier, a legend for the dynamic layers and the layer control.
    No tiles unless ``basemap`` (OpenStreetMap, off until switched on); ``immediate_click``
    reports clicks to Streamlit without streamlit-folium's 250 ms delay."""
    b = (
        dataset.boundaries
        if dataset.boundaries is not None and len(dataset.boundaries)
        else result.facilities
    )
    m = _webmap.new_map(
        tuple(b.total_bounds),
        assets="inline" if assets == "inline" else "served",
        basemap="osm" if basemap else None,
        lang=_map_lang(lang),
    )
    if dataset.boundaries is not None and len(dataset.boundaries):
        _webmap.add_boundaries(m, dataset.boundaries, lang=_map_lang(lang))
    if bands is not None and len(bands):
        _webmap.add_isochrones(m, bands, dissolve=True, lang=_map_lang(lang))
    if result.uncovered is not None and len(result.uncovered):
        _webmap.add_uncovered(m, result.uncovered, lang=_map_lang(lang))
    _webmap.add_facilities(
        m, result.facilities[~result.facilities["proposed"]], lang=_map_lang(lang)
    )
    star = _webmap.TIER_STYLE["community_station"].color
    _webmap.add_legend(
        m,
        [
            (
                _lbl("建议站点（点击地图添加）", "Proposed site (click the map)", lang),
                _webmap.symbol_svg("star", star, 16, stroke="#111111", stroke_width=1.3),
            ),
            (
                _lbl("优化选址", "Optimizer site", lang),
                _webmap.symbol_svg("star", star, 16, stroke=_OPTIMIZED_STROKE, stroke_width=2.5),
            ),
            (_lbl("新增覆盖区域", "Newly covered area", lang), _NEWLY_COVERED_COLOR),
        ],
        title=_lbl("方案", "Proposals", lang),
        position="bottomleft",
    )
    _webmap.add_layer_control(m, collapsed=True)
    if immediate_click:
        m.add_child(_ImmediateClick())
    return m


def whatif_layers(
    whatif: WhatIf | None,
    optimized: gpd.GeoDataFrame | None = None,
    *,
    lang: str = "en",
) -> list[folium.FeatureGroup]:
    """The map's dynamic layers (changed without reloading the map): newly covered areas and
    proposed sites, and the optimizer's sites (``site_id, tier, newly_covered_population``)."""
    fg = folium.FeatureGroup(name=_lbl("建议站点", "Proposed sites", lang))
    if whatif is not None and len(whatif.sites):
        areas = whatif.newly_covered_areas
        if len(areas):
            data = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": i,
                        "properties": {
                            "site_id": html.escape(str(r.site_id)),
                            "population": round(float(r.population)),
                        },
                        "geometry": shapely.geometry.mapping(
                            shapely.set_precision(r.geometry, 1e-6)
                        ),
                    }
                    for i, r in enumerate(areas.itertuples(index=False))
                ],
            }
            folium.GeoJson(
                data,
                name=_lbl("新增覆盖区域", "Newly covered", lang),
                style_function=lambda f: {
                    "color": _NEWLY_COVERED_COLOR,
                    "weight": 1,
                    "fillColor": _NEWLY_COVERED_COLOR,
                    "fillOpacity": 0.55,
                    "className": "planner-newly-covered",
                },
                tooltip=folium.GeoJsonTooltip(
                    ["site_id", "population"],
                    aliases=[
                        _lbl("站点", "Site", lang),
                        _lbl("新增覆盖人口", "Newly covered residents", lang),
                    ],
                    localize=True,
                ),
            ).add_to(fg)
        _webmap.add_proposals(_parent(fg), whatif.sites, lang=_map_lang(lang), legend=False)
    layers = [fg]
    og = folium.FeatureGroup(name=_lbl("优化选址", "Optimizer sites", lang))
    if optimized is not None and len(optimized):
        layer = _webmap.add_proposals(
            _parent(og),
            optimized,
            lang=_map_lang(lang),
            legend=False,
            name=_lbl("优化选址", "Optimizer sites", lang),
        )
        style = layer.style_function

        def optimized_style(feature: dict, _style: Callable = style) -> dict:
            out = dict(_style(feature))
            out["html"] = (
                out["html"]
                .replace('stroke="#111111"', f'stroke="{_OPTIMIZED_STROKE}"')
                .replace('stroke-width="1.3"', 'stroke-width="2.5"')
            )
            out["className"] = "planner-symbol planner-optimized"
            return out

        layer.style_function = optimized_style
    layers.append(og)
    return layers


#: The private parts of ``streamlit_folium`` (0.27) used to render the base map only once.
_ST_FOLIUM_PARTS = (
    "_component_func",
    "_get_html",
    "_get_header",
    "_get_map_string",
    "get_full_id",
    "_get_feature_group_string",
)


def _st_folium_internals() -> bool:
    import streamlit_folium as sf

    return all(hasattr(sf, name) for name in _ST_FOLIUM_PARTS)


@dataclass(frozen=True, eq=False)
class MapPayload:
    """A map rendered once for ``streamlit_folium``'s component (rendering the demo map takes
    ~0.4 s, too slow to repeat on every click; the what-if layers are sent separately).

    When ``streamlit_folium`` lacks the parts this relies on (another version), ``script`` is
    empty and :func:`show_map` falls back to the public ``st_folium(map, ...)``.
    """

    map: folium.Map
    script: str
    header: str
    html: str
    map_id: str
    css_links: list[str]
    js_links: list[str]
    digest: str
    external_links: list[str]


def map_payload(m: folium.Map) -> MapPayload:
    """Render ``m`` the way :func:`streamlit_folium.st_folium` does, once."""
    import streamlit_folium as sf

    css: list[str] = []
    js: list[str] = []

    def walk(el: Any) -> Iterable[Any]:
        yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(m):
        css.extend(href for _, href in getattr(el, "default_css", []))
        js.extend(src for _, src in getattr(el, "default_js", []))
    css, js = list(dict.fromkeys(css)), list(dict.fromkeys(js))
    external = [u for u in css + js if "://" in u or u.startswith("//")]
    if external:
        log.warning("the map would load assets from the network: %s", ", ".join(external))
    if not _st_folium_internals():
        log.warning(
            "streamlit_folium %s lacks %s: the map is re-rendered on every run",
            getattr(sf, "__version__", "?"),
            ", ".join(_ST_FOLIUM_PARTS),
        )
        return MapPayload(m, "", "", "", "", css, js, "", external)
    m.get_root().render()
    m.render()
    page_html = sf._get_html(m)
    header = sf._get_header(m)
    script = sf._get_map_string(m)
    return MapPayload(
        map=m,
        script=script,
        header=header,
        html=page_html,
        map_id=sf.get_full_id(m),
        css_links=css,
        js_links=js,
        digest=hashlib.sha256(script.encode()).hexdigest(),
        external_links=external,
    )


def feature_groups_script(groups: Sequence[folium.FeatureGroup]) -> str:
    """The JavaScript that ``streamlit_folium`` evaluates to (re)draw dynamic layers."""
    import streamlit_folium as sf

    return "".join(
        sf._get_feature_group_string(fg, map=folium.Map(tiles=None), idx=i)
        for i, fg in enumerate(groups)
    )


def show_map(
    payload: MapPayload, groups: Sequence[folium.FeatureGroup], *, key: str, height: int = 620
) -> dict | None:
    """Draw the map with ``streamlit_folium``'s component and return what it returns
    (``{"last_clicked": {"lat", "lng"}}``). The base map is sent as rendered once; only the
    dynamic layers are rendered on each run. On a clicked map, the value is also stored in
    ``st.session_state[key]`` before the rerun (as ``st_folium(..., key=key)`` does)."""
    import streamlit as st
    import streamlit_folium as sf

    if not payload.script:  # another streamlit_folium: the public function, slower
        m = payload.map
        before = set(m._children)
        try:
            return sf.st_folium(
                m,
                key=key,
                height=height,
                use_container_width=True,
                returned_objects=["last_clicked"],
                feature_group_to_add=list(groups),
            )
        finally:
            for name in set(m._children) - before:  # st_folium adds the groups to the map
                del m._children[name]
    fg_script = feature_groups_script(groups)
    hash_key = f"st_folium_{key}_{payload.digest[:24]}"

    def on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    return sf._component_func(
        script=payload.script,
        header=payload.header,
        html=payload.html,
        id=payload.map_id,
        key=hash_key,
        height=height,
        width=None,
        returned_objects=["last_clicked"],
        default={"last_clicked": None},
        zoom=None,
        center=None,
        feature_group=fg_script,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=payload.css_links,
        js_links=payload.js_links,
        on_change=on_change,
        wrap_longitude=False,
    )


# ---------------------------------------------------------------------------------------------
# Scenarios on disk
# ---------------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"[^\w\-. ]+", re.UNICODE)


def scenario_dir() -> Path:
    """Where scenarios are kept: ``$PLANNER_SCENARIO_DIR``, else ``./scenarios`` in the
    repository (gitignored), else ``~/.planner/scenarios``."""
    env = os.environ.get("PLANNER_SCENARIO_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "scenarios"
    return Path.home() / ".planner" / "scenarios"


def scenario_file_name(name: str) -> str:
    """A safe file name for a scenario name (letters of any script, digits, ``-_. `` kept)."""
    clean = _NAME_RE.sub("_", name.strip()).strip(" ._")[:80]
    if not clean:
        raise ScenarioError("a scenario needs a name. Fix: type a name before saving.")
    return clean + ".toml"


def persist_uploads(sc: Scenario, folder: Path) -> Scenario:
    """Copy the scenario's uploaded files into ``folder/uploads/`` (content-addressed) so that
    the scenario still loads after a server restart; paths are rewritten."""
    changes: dict[str, str] = {}
    store = (folder / "uploads").resolve()
    for field_name in ("roads", "facilities", "population", "boundaries", "candidates_file"):
        value = getattr(sc, field_name)
        if not value:
            continue
        src = Path(value)
        if (
            not src.exists()
            or src.resolve().is_relative_to(store)
            or src.resolve().is_relative_to(pipeline.DEMO_DIR)
        ):
            continue
        digest_dir = src.parent.name
        dest_dir = store / field_name / digest_dir
        dest_dir.mkdir(parents=True, exist_ok=True)
        for part in src.parent.iterdir():  # a shapefile comes with its .shx, .dbf, .prj...
            if part.is_file() and part.stem == src.stem and not (dest_dir / part.name).exists():
                shutil.copy2(part, dest_dir / part.name)
        changes[field_name] = str(dest_dir / src.name)
    return sc.replace(**changes) if changes else sc


def _allowed_data_path(value: str, folder: Path, upload_root: Path | None) -> bool:
    p = Path(value).resolve()
    roots = [(folder / "uploads").resolve(), pipeline.DEMO_DIR.resolve()]
    if upload_root is not None:
        roots.append(Path(upload_root).resolve())
    return any(p.is_relative_to(r) for r in roots)


def save_scenario(sc: Scenario, folder: Path | None = None) -> Path:
    """Save under ``folder`` (default :func:`scenario_dir`) as ``<name>.toml``, uploads copied."""
    folder = scenario_dir() if folder is None else Path(folder)
    sc = persist_uploads(sc, folder)
    return sc.save(folder / scenario_file_name(sc.name))


def load_scenario(
    path: str | Path, *, folder: Path | None = None, upload_root: Path | None = None
) -> Scenario:
    """Load a saved scenario; data files must lie in the scenario folder's ``uploads/``, the
    app's upload folder or the demo data (a scenario file cannot make the app read other files)."""
    folder = scenario_dir() if folder is None else Path(folder)
    sc = Scenario.load(path)
    bad = [
        f"{k}={getattr(sc, k)!r}"
        for k in ("data_dir", "roads", "facilities", "population", "boundaries", "candidates_file")
        if getattr(sc, k) and not _allowed_data_path(getattr(sc, k), folder, upload_root)
    ]
    if bad:
        raise ScenarioError(
            f"{path}: data files outside the scenario folder: {', '.join(bad)}. "
            f"Fix: save the scenario from the app, which copies uploads into {folder / 'uploads'}."
        )
    missing = [
        k
        for k in ("roads", "facilities", "population", "boundaries", "candidates_file")
        if getattr(sc, k) and not Path(getattr(sc, k)).exists()
    ]
    if missing:
        raise ScenarioError(
            f"{path}: data files no longer exist: {', '.join(missing)}. Fix: upload them again."
        )
    return sc


def list_scenarios(folder: Path | None = None) -> list[tuple[str, Path]]:
    """(name, path) of the saved scenarios, newest first."""
    folder = scenario_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.toml"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [(p.stem, p) for p in files]


def autosave_path(session_id: str, folder: Path | None = None) -> Path:
    """Where the working scenario of a browser session is kept between page reloads."""
    if not re.fullmatch(r"[0-9a-f]{8,32}", session_id or ""):
        raise ScenarioError(f"bad session id {session_id!r}.")
    folder = scenario_dir() if folder is None else Path(folder)
    return folder / ".autosave" / f"{session_id}.toml"


def prune_autosaves(folder: Path | None = None, *, days: float = 30.0) -> int:
    """Delete working scenarios of browser sessions not seen for ``days``; return how many."""
    folder = scenario_dir() if folder is None else Path(folder)
    limit = time.time() - days * 86400
    n = 0
    for p in (folder / ".autosave").glob("*.toml"):
        try:
            if p.stat().st_mtime < limit:
                p.unlink()
                n += 1
        except OSError:
            pass
    return n


# ---------------------------------------------------------------------------------------------
# Comparing scenarios
# ---------------------------------------------------------------------------------------------


def scenario_row(
    sc: Scenario,
    dataset: Dataset,
    result: CoverageResult,
    whatif: WhatIf | None,
    summary: pd.DataFrame,
) -> dict[str, Any]:
    """One column of the comparison table (plain values)."""
    total = result.total_population
    covered = result.covered_population
    newly = whatif.newly_covered_population if whatif is not None else 0.0
    row: dict[str, Any] = {
        "name": sc.name,
        "data": dataset.name,
        "mode": sc.mode,
        "minutes": float(sc.minutes),
        "tiers": ", ".join(sc.tiers) if sc.tiers else "primary (all)",
        "proposed_sites": len(sc.proposed),
        "population": total,
        "covered_before": covered,
        "newly_covered": newly,
        "covered_after": covered + newly,
        "covered_share_after": (covered + newly) / total if total else np.nan,
    }
    s = (whatif.summary_after if whatif is not None else summary).set_index("rule")
    for rule in RULES:
        if rule in s.index and rule != "RF":
            row[f"{rule}_met"] = (
                f"{int(s.at[rule, 'met'] + s.at[rule, 'shared'])}/{int(s.at[rule, 'units'])}"
            )
    return row


def scenario_row_text(row: Mapping[str, Any]) -> dict[str, str]:
    """A :func:`scenario_row` as a person reads it: residents as whole numbers with thousands
    separators, the share in per cent, minutes without trailing zeros."""
    people = ("population", "covered_before", "newly_covered", "covered_after")
    out: dict[str, str] = {}
    for k, v in row.items():
        if k in people:
            out[k] = f"{v:,.0f}"
        elif k == "covered_share_after":
            out[k] = f"{100 * v:.1f} %" if np.isfinite(v) else "–"
        elif k == "minutes":
            out[k] = f"{v:g}"
        else:
            out[k] = str(v)
    return out


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


def export_tables(
    result: CoverageResult,
    whatif: WhatIf | None,
    standards: pd.DataFrame,
    summary: pd.DataFrame,
    run: siting.SitingRun | None = None,
    *,
    lang: str = "en",
) -> dict[str, pd.DataFrame]:
    """The tables of an export, by sheet / file name (rule names and requirements in ``lang``)."""
    tables: dict[str, pd.DataFrame] = {"coverage": report.summary_table(result)}
    minutes = DEFAULT_RULES.coverage_minutes
    texts = [rule_text(r, _map_lang(lang), minutes=minutes) for r in summary["rule"]]
    named = summary.copy()
    named.insert(1, "rule_name", [t[0] for t in texts])
    named.insert(2, "requirement", [t[1] for t in texts])
    named["source"] = [RULES[r]["source"] for r in summary["rule"]]
    tables["standards_summary"] = named
    tables["standards_units"] = standards
    if whatif is not None and len(whatif.sites):
        tables["proposed_sites"] = pd.DataFrame(whatif.sites.drop(columns="geometry"))
        tables["newly_covered_by_unit"] = whatif.per_admin
        tables["nearest_changes"] = whatif.nearest_changes
        tables["standards_change"] = whatif.change
    if run is not None:
        tables["optimizer_sites"] = pd.DataFrame(run.proposals.drop(columns="geometry"))
        tables["optimizer_solution"] = pd.DataFrame([run.summary()])
    return tables


def tables_xlsx(tables: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in tables.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
    return buf.getvalue()


def tables_csv_zip(tables: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, df in tables.items():
            zf.writestr(
                f"{name}.csv", df.to_csv(index=False).encode("utf-8-sig")
            )  # BOM: Excel reads UTF-8
    return buf.getvalue()


def export_gpkg(
    result: CoverageResult,
    tables: dict[str, pd.DataFrame],
    *,
    whatif: WhatIf | None = None,
    run: siting.SitingRun | None = None,
    bands: gpd.GeoDataFrame | None = None,
) -> bytes:
    """A GeoPackage with the coverage layers, proposed and optimizer sites and the tables."""
    import tempfile

    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.gpkg"
        written = report.write_outputs(result, tmp, map_html=False)
        shutil.move(written["gpkg"], path)
        if bands is not None and len(bands):
            bands.to_file(path, layer="isochrone_bands", driver="GPKG")
        if whatif is not None and len(whatif.sites):
            whatif.sites.to_file(path, layer="proposed_sites", driver="GPKG")
            if len(whatif.newly_covered_areas):
                whatif.newly_covered_areas.to_file(path, layer="newly_covered", driver="GPKG")
        if run is not None and len(run.proposals):
            run.proposals.to_file(path, layer="optimizer_sites", driver="GPKG")
        for name, df in tables.items():
            if name == "coverage":
                continue
            flat = df.copy()
            for c in flat.columns:
                if flat[c].dtype == object:
                    flat[c] = flat[c].astype(str)
            pyogrio.write_dataframe(flat, path, layer=name, driver="GPKG")
        return path.read_bytes()


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(
        index=False,
        border=0,
        classes="planner-table",
        na_rep="–",
        float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}",
    )


def html_report(
    result: CoverageResult,
    *,
    title: str,
    lines: Sequence[str],
    tables: dict[str, pd.DataFrame],
    whatif: WhatIf | None = None,
    run: siting.SitingRun | None = None,
    bands: gpd.GeoDataFrame | None = None,
    lang: str = "en",
) -> str:
    """A self-contained HTML report: the title and summary ``lines``, the map
    (:func:`planner.report.coverage_map` with inline Leaflet, plus the isochrone ``bands`` and
    the proposed and optimizer sites, saved by :func:`planner._webmap.save_html`) and the
    ``tables``."""
    import tempfile

    proposals = None
    frames = []
    if whatif is not None and len(whatif.sites):
        frames.append(whatif.sites[["site_id", "tier", "newly_covered_population", "geometry"]])
    if run is not None and len(run.proposals):
        frames.append(run.proposals[["site_id", "tier", "newly_covered_population", "geometry"]])
    if frames:
        proposals = gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326"
        )
    m = report.coverage_map(result, assets="inline", proposals=proposals, lang=lang)
    if bands is not None and len(bands) and result.isochrones is None:
        _webmap.add_isochrones(m, bands, dissolve=True)  # the layer control lists it when rendered
    head = f"<h1>{html.escape(title)}</h1><pre>{html.escape(chr(10).join(lines))}</pre>"
    body = [
        f"<h2>{html.escape(name.replace('_', ' '))}</h2>{_table_html(df)}"
        for name, df in tables.items()
    ]
    # the page reads: title and summary, the map, the tables (flex order; folium adds the map last)
    style = (
        "<style>html,body{height:auto!important;overflow:auto!important}"
        "body{display:flex;flex-direction:column}"
        ".folium-map{height:70vh!important;min-height:420px;position:relative!important;order:1;flex:none}"
        ".planner-report{font:14px/1.45 system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;"
        "margin:16px 24px;color:#222}.planner-head{order:0}.planner-tables{order:2}"
        ".planner-report pre{font-size:13px;background:#f7f7f7;padding:8px 10px;overflow:auto}"
        ".planner-table{border-collapse:collapse;margin:6px 0 18px}"
        ".planner-table th,.planner-table td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
        ".planner-table th{background:#f4f4f4}</style>"
    )
    m.get_root().header.add_child(folium.Element(style))
    m.get_root().html.add_child(
        folium.Element(f'<div class="planner-report planner-head">{head}</div>')
    )
    m.get_root().html.add_child(
        folium.Element(f'<div class="planner-report planner-tables">{"".join(body)}</div>')
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = _webmap.save_html(m, Path(tmp) / "report.html")
        return path.read_text(encoding="utf-8")


def tier_label(tier: str, lang: str) -> str:
    return TIER_LABELS.get(tier, {}).get(lang, tier)


__all__ = [
    "BAND_CELL_M",
    "CANDIDATE_SOURCES",
    "FACILITY_CRS",
    "MODES",
    "MODE_SPEED_KMH",
    "OBJECTIVES",
    "RULES",
    "UPLOAD_LIMIT_MB",
    "UPLOAD_TYPES",
    "MapPayload",
    "WhatIf",
    "band_levels",
    "base_map",
    "canonical_tiers",
    "changed_units",
    "check_dataset",
    "check_site",
    "coverage_bands",
    "coverage_settings",
    "data_key",
    "export_gpkg",
    "export_tables",
    "facility_units",
    "html_report",
    "is_demo",
    "list_scenarios",
    "load_data",
    "load_scenario",
    "map_payload",
    "persist_uploads",
    "proposed_frame",
    "rule_text",
    "run_optimizer",
    "save_scenario",
    "scenario_dir",
    "scenario_file_name",
    "scenario_row",
    "show_map",
    "standards_change",
    "standards_summary",
    "standards_units",
    "figure_text",
    "store_upload",
    "study_area",
    "tables_csv_zip",
    "tables_xlsx",
    "tier_label",
    "what_if",
    "whatif_layers",
    "autosave_path",
    "prune_autosaves",
    "feature_groups_script",
    "numeric_columns",
    "demo_candidates_file",
]
