"""Travel modes: walk, e-bike and drive, their speeds by road class, which roads each may use
(class and OpenStreetMap access tags), levels (bridges, tunnels) and edge speeds and times.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import NetworkError

Mode = Literal["walk", "ebike", "drive"]


#: Default driving speeds (km/h) by OSM highway class, for roads without a ``maxspeed`` tag.
#: Chinese speed limits: expressways 100-120, national/provincial roads 60-80 outside towns,
#: urban arterials 50-60, branch streets 30-40, village roads 20-30.
DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 50.0,
    "trunk": 70.0,
    "trunk_link": 40.0,
    "primary": 55.0,
    "primary_link": 35.0,
    "secondary": 45.0,
    "secondary_link": 30.0,
    "tertiary": 35.0,
    "tertiary_link": 25.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "track": 15.0,
}


#: Classes nobody may walk or ride an e-bike on.
MOTOR_ONLY = frozenset({"motorway", "motorway_link"})


#: Classes only buses may use (OSM ``busway``, ``bus_guideway``).
BUS_ONLY = frozenset({"bus_guideway", "busway"})


#: Classes cars may not use (OSM routing practice: OSRM's car profile and osmnx's ``drive``
#: network type route none of them). ``track`` stays drivable: Chinese farm roads (机耕路) and
#: sub-standard roads (等外公路) are tracks, and often the only road to a village.
NON_MOTOR = (
    frozenset(
        {
            "footway",
            "path",
            "steps",
            "pedestrian",
            "cycleway",
            "bridleway",
            "corridor",
            "elevator",
            "escalator",
            "trail",
            "via_ferrata",
            "platform",
            "sidewalk",
            "crossing",
            "escape",
        }
    )
    | BUS_ONLY
)


#: Access values that forbid a way to the mode the tag applies to. Every other value (``yes``,
#: ``designated``, ``permissive``, ``destination``, ``customers``, ...) allows it.
ACCESS_DENIED = frozenset(
    {
        "no",
        "private",
        "agricultural",
        "forestry",
        "delivery",
        "military",
        "emergency",
        "psv",
        "bus",
        "use_sidepath",
    }
)


#: Values of a mode's own tag (``foot=``, ``bicycle=``) that open a way whose class the mode
#: otherwise avoids (``highway=trunk_link`` + ``foot=yes``, ``highway=steps`` + ``bicycle=yes``).
ACCESS_GRANTED = frozenset(
    {"yes", "designated", "permissive", "destination", "customers", "official"}
)


@dataclass(frozen=True)
class TravelMode:
    """How one mode moves: speeds, allowed roads, one-way rules and off-network access.

    Parameters
    ----------
    name : {"walk", "ebike", "drive"}
    speed_kmh : float
        Speed on every allowed road (walk, e-bike); for ``drive`` the fallback speed of classes
        missing from ``class_speeds_kmh``.
    class_speeds_kmh : dict, optional
        Drive speeds by road class (defaults: :data:`DRIVE_SPEEDS_KMH`).
    use_maxspeed : bool
        Drive: use the road's ``maxspeed`` when tagged (capped by ``maxspeed_factor``).
    maxspeed_factor : float
        Share of the posted limit actually driven (default 0.85).
    urban_factor : float
        Drive speeds are multiplied by this inside the urban area given to
        :func:`build_network` (junctions, lights, traffic). 1.0 disables it.
    respect_oneway : bool
        Whether ``oneway`` tags restrict this mode.
    access_speed_kmh : float
        Speed of the straight-line part between a point and the road (default: walking).
    access_max_m : float
        Points farther than this from every road are reported as unreachable.
    excluded_classes : frozenset of str
        Road classes this mode may not use.
    no_access_classes : frozenset of str
        Road classes the mode may travel on but no home or facility can be joined to
        (motorways and their ramps: nobody drives onto a motorway from a front door).
    access_tags : tuple of str
        OSM access tags that apply to this mode, most specific first (walk: ``foot``,
        ``access``). Where roads carry these columns, the first non-empty one decides: a value
        in :data:`ACCESS_DENIED` (``no``, ``private``, ...) excludes the way; any other value
        allows it. See :func:`usable_roads`.
    tags_override_class : bool
        Whether the mode's own tag (``access_tags[0]``) with a value in :data:`ACCESS_GRANTED`
        opens a way of an excluded class (walk, e-bike: yes; drive: no).
    excluded_services : frozenset of str
        OSM ``service=`` values this mode may not use.
    """

    name: str
    speed_kmh: float
    class_speeds_kmh: tuple[tuple[str, float], ...] = ()
    use_maxspeed: bool = False
    maxspeed_factor: float = 0.85
    urban_factor: float = 1.0
    respect_oneway: bool = False
    access_speed_kmh: float = 4.8
    access_max_m: float = 500.0
    excluded_classes: frozenset[str] = frozenset()
    no_access_classes: frozenset[str] = frozenset({"motorway", "motorway_link"})
    access_tags: tuple[str, ...] = ("access",)
    tags_override_class: bool = False
    excluded_services: frozenset[str] = frozenset({"private"})

    def __post_init__(self) -> None:
        problems = []
        if not (self.speed_kmh > 0 and math.isfinite(self.speed_kmh)):
            problems.append(f"speed_kmh must be a positive number, got {self.speed_kmh!r}")
        if not (self.access_speed_kmh > 0 and math.isfinite(self.access_speed_kmh)):
            problems.append(f"access_speed_kmh must be positive, got {self.access_speed_kmh!r}")
        if not (self.access_max_m >= 0):
            problems.append(f"access_max_m must be >= 0 metres, got {self.access_max_m!r}")
        if not (0 < self.urban_factor <= 1.5):
            problems.append(f"urban_factor must be in (0, 1.5], got {self.urban_factor!r}")
        if not (0 < self.maxspeed_factor <= 1.5):
            problems.append(f"maxspeed_factor must be in (0, 1.5], got {self.maxspeed_factor!r}")
        for cls, v in self.class_speeds_kmh:
            if not (v > 0):
                problems.append(f"class speed for {cls!r} must be positive, got {v!r}")
        if problems:
            raise NetworkError(f"travel mode {self.name!r}: " + "; ".join(problems))

    @property
    def speeds(self) -> dict[str, float]:
        """Drive speeds by class (defaults updated with ``class_speeds_kmh``)."""
        speeds = dict(DRIVE_SPEEDS_KMH)
        speeds.update(dict(self.class_speeds_kmh))
        return speeds

    def replace(self, **changes: Any) -> TravelMode:
        """A copy with some settings changed (``class_speeds_kmh`` may be given as a dict)."""
        if isinstance(changes.get("class_speeds_kmh"), dict):
            changes["class_speeds_kmh"] = tuple(sorted(changes["class_speeds_kmh"].items()))
        return dataclasses.replace(self, **changes)


WALK = TravelMode(
    "walk",
    speed_kmh=4.8,
    excluded_classes=MOTOR_ONLY | BUS_ONLY | {"trunk_link"},
    access_tags=("foot", "access"),
    tags_override_class=True,
)


# E-bikes (电动自行车) are non-motor vehicles in Chinese law (GB 17761-2018: pedals, <= 25 km/h):
# they ride where bicycles ride, so they follow the bicycle tags, not motor_vehicle/moped ones.
EBIKE = TravelMode(
    "ebike",
    speed_kmh=15.0,
    respect_oneway=False,
    excluded_classes=MOTOR_ONLY | BUS_ONLY | {"steps"},
    access_tags=("bicycle", "vehicle", "access"),
    tags_override_class=True,
)


DRIVE = TravelMode(
    "drive",
    speed_kmh=30.0,
    use_maxspeed=True,
    urban_factor=0.7,
    respect_oneway=True,
    excluded_classes=NON_MOTOR,
    access_tags=("motorcar", "motor_vehicle", "vehicle", "access"),
    excluded_services=frozenset({"private", "emergency_access"}),
)


MODES: dict[str, TravelMode] = {"walk": WALK, "ebike": EBIKE, "drive": DRIVE}


def travel_mode(
    mode: str | TravelMode = "walk",
    *,
    speed_kmh: float | None = None,
    access_max_m: float | None = None,
    access_speed_factor: float | None = None,
    **changes: Any,
) -> TravelMode:
    """A :class:`TravelMode` preset with settings changed.

    Parameters
    ----------
    mode : {"walk", "ebike", "drive"} or TravelMode
    speed_kmh : float, optional
        Walk/e-bike speed; for drive, the fallback speed for unknown classes.
    access_max_m : float, optional
        Longest straight-line join between a point and the road network.
    access_speed_factor : float, optional
        Off-network speed as a factor of ``speed_kmh`` (default: walking speed for every mode).
    **changes
        Any other :class:`TravelMode` field.

    Examples
    --------
    >>> travel_mode("ebike", speed_kmh=18).speed_kmh
    18.0
    >>> travel_mode("walk", access_speed_factor=0.5).access_speed_kmh
    2.4
    """
    if isinstance(mode, TravelMode):
        base = mode
    else:
        if mode not in MODES:
            raise NetworkError(f"unknown mode {mode!r}. Fix: use one of {', '.join(MODES)}.")
        base = MODES[mode]
    if speed_kmh is not None:
        changes["speed_kmh"] = float(speed_kmh)
    if access_max_m is not None:
        changes["access_max_m"] = float(access_max_m)
    speed = float(changes.get("speed_kmh", base.speed_kmh))
    if access_speed_factor is not None:
        if not access_speed_factor > 0:
            raise NetworkError(
                f"access_speed_factor must be positive, got {access_speed_factor!r}."
            )
        changes["access_speed_kmh"] = round(speed * float(access_speed_factor), 9)
    return base.replace(**changes) if changes else base


def _tag_values(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Factorised, normalised tag values: codes and the distinct values ("" for missing).

    ``"No"`` is ``no``; ``"no;yes"`` (several values) counts by its first.
    """
    try:
        codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=False)
    except TypeError:  # unhashable cells (lists from an osmnx edge frame): compare their text
        codes, uniques = pd.factorize(
            pd.Series([_first_text(v) for v in values]), use_na_sentinel=False
        )
    text = np.array(
        [
            ""
            if v is None or (isinstance(v, float) and math.isnan(v))
            else str(v).split(";")[0].strip().lower()
            for v in uniques
        ],
        dtype=object,
    )
    return codes, text


def _first_text(value: Any) -> Any:
    if isinstance(value, list | tuple | np.ndarray):
        return str(value[0]) if len(value) else None
    return value


def usable_roads(roads: pd.DataFrame, mode: str | TravelMode = "walk") -> np.ndarray:
    """Which road rows a mode may use: road class, OSM access tags and ``service=``.

    The rules (a table is in ``docs/network-rules.md``):

    1. A row whose ``highway`` is in ``mode.excluded_classes`` is not used, unless the mode's
       own tag (``foot=`` for walk, ``bicycle=`` for e-bike; ``mode.access_tags[0]``) grants it
       with a value in :data:`ACCESS_GRANTED` and ``mode.tags_override_class`` is set (drive: never).
    2. Access tags, most specific first (walk ``foot > access``; e-bike ``bicycle > vehicle >
       access``; drive ``motorcar > motor_vehicle > vehicle > access``): the first one present
       decides. A value in :data:`ACCESS_DENIED` (``no``, ``private``, ``agricultural``,
       ``forestry``, ``delivery``, ``military``, ``emergency``, ``psv``, ``bus``,
       ``use_sidepath``) excludes the row; any other (``yes``, ``designated``, ``permissive``,
       ``destination``, ``customers``, ...) allows it. So ``access=no`` + ``foot=yes`` is a
       footpath walkers may use and cars may not.
    3. A ``service=`` value in ``mode.excluded_services`` (drive: ``emergency_access``,
       ``private``; walk, e-bike: ``private``) excludes the row.

    Tag columns that the roads do not have are taken as absent: road files without OSM tags
    (shapefiles, Chinese data) are filtered by class only.

    Parameters
    ----------
    roads : DataFrame
        Rows with a ``highway`` column and, optionally, the tag columns :func:`planner.read_roads`
        keeps from OSM files (``access``, ``foot``, ``bicycle``, ``vehicle``,
        ``motor_vehicle``, ``motorcar``, ``service``; "" where absent).
    mode : {"walk", "ebike", "drive"} or TravelMode

    Returns
    -------
    ndarray of bool, one per row.

    Examples
    --------
    >>> import pandas as pd
    >>> roads = pd.DataFrame({"highway": ["service", "footway", "trunk_link"],
    ...                       "access": ["private", "no", ""], "foot": ["", "yes", "yes"]})
    >>> usable_roads(roads, "walk").tolist(), usable_roads(roads, "drive").tolist()
    ([False, True, True], [False, False, False])
    """
    tm = travel_mode(mode)
    if "highway" not in roads.columns:
        raise NetworkError(
            "roads lack the column 'highway'. Fix: load them with planner.read_roads(), which adds it."
        )
    n = len(roads)
    allowed = ~roads["highway"].isin(tm.excluded_classes).to_numpy()
    # the first access tag present decides: +1 granted, -1 denied, 0 undecided (or plain allowed)
    verdict = np.zeros(n, dtype=np.int8)
    decided = np.zeros(n, dtype=bool)
    for k, tag in enumerate(tm.access_tags):
        if tag not in roads.columns:
            continue
        codes, values = _tag_values(roads[tag].to_numpy())
        present = (values != "")[codes] & ~decided
        denied = np.isin(values, list(ACCESS_DENIED))[codes]
        verdict[present & denied] = -1
        if k == 0 and tm.tags_override_class:
            granted = np.isin(values, list(ACCESS_GRANTED))[codes]
            verdict[present & granted] = 1
        decided |= present
    usable = (allowed | (verdict == 1)) & (verdict >= 0)
    if "service" in roads.columns and tm.excluded_services:
        codes, values = _tag_values(roads["service"].to_numpy())
        usable &= ~np.isin(values, list(tm.excluded_services))[codes]
    return usable


_FALSE_FLAGS = frozenset({"", "f", "false", "no", "n", "0", "0.0", "none", "nan"})


def road_levels(roads: pd.DataFrame) -> np.ndarray | None:
    """The vertical level of each road row from its ``layer``, ``bridge`` and ``tunnel`` columns.

    ``layer`` when it is a non-zero number, else 1 on a bridge and -1 in a tunnel (the OSM
    defaults ``bridge=yes`` -> ``layer=1``, ``tunnel=yes`` -> ``layer=-1``), else 0. Bridge and
    tunnel flags are true unless empty or ``F``/``false``/``no``/``0`` (Geofabrik writes ``T``/``F``).
    None when the roads have none of the three columns.

    Examples
    --------
    >>> import pandas as pd
    >>> road_levels(pd.DataFrame({"layer": [0, 2, 0, 0], "bridge": ["F", "T", "T", "F"],
    ...                           "tunnel": ["F", "F", "F", "T"]})).tolist()
    [0, 2, 1, -1]
    """
    if not {"layer", "bridge", "tunnel"} & set(roads.columns):
        return None
    n = len(roads)

    def flag(col: str) -> np.ndarray:
        if col not in roads.columns:
            return np.zeros(n, dtype=bool)
        codes, values = _tag_values(roads[col].to_numpy())
        return ~np.isin(values, list(_FALSE_FLAGS))[codes]

    layer = np.zeros(n, dtype=np.int64)
    if "layer" in roads.columns:
        lay = pd.to_numeric(roads["layer"], errors="coerce").to_numpy(dtype=float)
        layer = np.where(np.isfinite(lay), np.round(lay), 0).astype(np.int64)
    return np.where(layer != 0, layer, np.where(flag("bridge"), 1, np.where(flag("tunnel"), -1, 0)))


def edge_times(
    tm: TravelMode, length: np.ndarray, speed_kmh: np.ndarray, oneway: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Travel times (s) along and against each edge's line, +inf where one-way rules forbid.

    Documented internal: the build step shared with ``bench.graphs`` (arrays in, arrays out).
    """
    t = length / (speed_kmh / 3.6)
    t_uv = t.copy()
    t_vu = t
    if tm.respect_oneway:
        t_vu[oneway == 1] = np.inf
        t_uv[oneway == -1] = np.inf
    return t_uv, t_vu


def edge_speeds(tm: TravelMode, hw: np.ndarray, maxspeed: np.ndarray) -> np.ndarray:
    """Speed (km/h) of each road for the mode: by class and ``maxspeed`` (documented internal)."""
    if tm.name != "drive" and not tm.class_speeds_kmh:
        return np.full(len(hw), tm.speed_kmh)
    speeds = tm.speeds if tm.name == "drive" else dict(tm.class_speeds_kmh)
    code, classes = pd.factorize(np.asarray(hw), use_na_sentinel=False)  # look up each class once
    s = pd.Series(classes).map(speeds).to_numpy(dtype=float, na_value=np.nan)[code]
    s = np.where(np.isfinite(s), s, tm.speed_kmh)
    if tm.use_maxspeed:
        maxspeed = _plausible_maxspeed(maxspeed)
        ms = maxspeed * tm.maxspeed_factor
        s = np.where(np.isfinite(ms) & (ms > 0), ms, s)
    return s


#: Largest ``maxspeed`` taken as given (km/h). China's highest posted limit is 120 km/h and
#: few countries post more than 130-140; larger values are typing errors or placeholders
#: (``maxspeed=99999``) and are treated as unknown (the class speed is used), with a warning.
MAX_PLAUSIBLE_MAXSPEED_KMH = 150.0


def _plausible_maxspeed(maxspeed: np.ndarray) -> np.ndarray:
    """``maxspeed`` with values above :data:`MAX_PLAUSIBLE_MAXSPEED_KMH` made NaN (warned)."""
    maxspeed = np.asarray(maxspeed, dtype=float)
    bad = np.isfinite(maxspeed) & (maxspeed > MAX_PLAUSIBLE_MAXSPEED_KMH)
    if not bad.any():
        return maxspeed
    import warnings

    from .._errors import InputWarning

    values = np.unique(maxspeed[bad])
    warnings.warn(
        f"{int(bad.sum())} road lines have maxspeed above {MAX_PLAUSIBLE_MAXSPEED_KMH:g} km/h "
        f"({', '.join(f'{v:g}' for v in values[:5])}{' ...' if len(values) > 5 else ''}); these values "
        "are taken as unknown and the speed of the road class is used. Fix: correct the maxspeed "
        "values in the road data",
        InputWarning,
        stacklevel=4,
    )
    return np.where(bad, np.nan, maxspeed)
