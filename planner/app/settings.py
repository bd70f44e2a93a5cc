"""The app's settings: travel modes and speeds, the scenario's cache keys, tiers and bands."""

from __future__ import annotations

from collections.abc import Iterable

from .._constants import MODE_NAMES
from ..basemaps import BASEMAPS
from ..network import MODES as TRAVEL_MODES
from ..pipeline import CoverageSettings
from ..scenario import Scenario
from ..standards import PRIMARY_TIERS, TIER_LABELS, TIERS

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------

MODES = MODE_NAMES
#: Default speed of each mode in km/h (for drive: the speed of road classes without one).
MODE_SPEED_KMH = {m: TRAVEL_MODES[m].speed_kmh for m in MODES}
DEFAULT_ACCESS_MAX_M = 500.0
#: Grid cell of the isochrone bands drawn on the app's map (metres).
BAND_CELL_M = 100.0
#: Base maps offered in the sidebar: "none" (offline, the default), then the online ones.
BASEMAP_CHOICES: tuple[str, ...] = ("none", *BASEMAPS)


def basemap_needs_key(name: str) -> bool:
    """Whether base map ``name`` (a :data:`BASEMAP_CHOICES` value) needs a Tianditu key."""
    return name in BASEMAPS and BASEMAPS[name].needs_key


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
    """Nested isochrone thresholds drawn on the map: about a third and two thirds of
    ``minutes``, rounded to whole minutes, and ``minutes`` itself (5/10/15 for 15, 3/7/10 for
    10, 2/3/5 for 5), so the legend reads "3 分钟内", never "3.33 分钟内".

    Examples
    --------
    >>> band_levels(10)
    (3.0, 7.0, 10.0)
    >>> band_levels(2)
    (1.0, 2.0)
    """
    m = float(minutes)
    inner = {float(round(m * k)) for k in (1 / 3, 2 / 3)}
    return tuple(sorted({v for v in inner if 1 <= v < m} | {m}))


def canonical_tiers(selected: Iterable[str]) -> tuple[str, ...]:
    """``()`` when ``selected`` is exactly the default set (every primary tier), else the tiers
    in :data:`TIERS` order, so that equal choices give equal cache keys and scenario files."""
    sel = set(selected)
    if sel == set(PRIMARY_TIERS):
        return ()
    return tuple(t for t in TIERS if t in sel)


def tier_label(tier: str, lang: str) -> str:
    return TIER_LABELS.get(tier, {}).get(lang, tier)
