"""Fetch a county's data into a folder ``planner coverage --data`` runs on.

    planner fetch --place "莲池区, 保定市, 河北省" --out lianchi/
    planner fetch --boundary lianchi.geojson --roads lianchi.gpkg --population census.csv \\
                  --facilities register.xlsx --out lianchi/        # offline, from your own files

The folder holds ``boundaries/``, ``roads/``, ``facilities/``, ``population/``, a
``sources.json`` (where each part came from, when, and the settings) and a ``README.txt``.

Only the downloads need the internet: the boundary (OSM administrative relation via osmnx's
Nominatim geocoder, or by its division code ``ref:admin:CN`` via Overpass; with its townships,
``admin_level=8``, when OSM has them: :func:`osm_units`), the roads (osmnx,
for the boundary grown by a halo: the longest trip the chosen modes make in the chosen minutes),
health facilities (OSM ``amenity=hospital|clinic|doctors`` and ``healthcare=*``; incomplete, so
marked "from OSM, incomplete: check against your register") and the WorldPop population raster
(downloaded once into a cache, resumable) with, by default, WorldPop's age/sex layers of the
groups 65+ and under 5 (:data:`DEFAULT_GROUPS`; ``groups=()`` for none), so coverage is reported
per group beside the total; a group that cannot be downloaded is named and left out. Everything after a download is a pure function tested
offline on local files: :func:`read_boundary`, :func:`halo_m`, :func:`halo_area`,
:func:`clip_roads`, :func:`osm_units`, :func:`osm_facilities`, :func:`clip_raster`, :func:`population_table` and
:func:`assemble`. A file given by the user replaces the matching download; when a download cannot
be reached, :func:`fetch` still writes the parts it has and raises one :class:`FetchError` naming
every missing part and the parameter that supplies it.

The package: ``parts`` (the offline parts, tested without a network), ``downloads`` (HTTP,
OpenStreetMap, WorldPop), ``county`` (``fetch`` itself), ``cli`` (``planner fetch``); every
public name is re-exported here.
"""

from __future__ import annotations

from .cli import (  # noqa: F401 - re-exported
    add_parser,
    cmd_fetch,
)
from .county import (  # noqa: F401 - re-exported
    fetch,
)
from .downloads import (  # noqa: F401 - re-exported
    cache_dir,
    download,
    fetch_boundary,
    fetch_facilities,
    fetch_population,
    fetch_population_groups,
    fetch_roads,
    fetch_units,
)
from .parts import (  # noqa: F401 - re-exported
    DEFAULT_GROUPS,
    OSM_NOTE,
    WORLDPOP_AGE_GROUPS,
    WORLDPOP_AGE_SEX_URL,
    WORLDPOP_URLS,
    FetchError,
    FetchWarning,
    age_sex_urls,
    assemble,
    clip_raster,
    clip_roads,
    coordinate_system_from_name,
    halo_area,
    halo_m,
    osm_facilities,
    osm_units,
    population_table,
    read_boundary,
    sum_rasters,
)

__all__ = [
    "DEFAULT_GROUPS",
    "FetchError",
    "FetchWarning",
    "OSM_NOTE",
    "WORLDPOP_AGE_GROUPS",
    "WORLDPOP_AGE_SEX_URL",
    "WORLDPOP_URLS",
    "age_sex_urls",
    "sum_rasters",
    "assemble",
    "cache_dir",
    "clip_raster",
    "clip_roads",
    "download",
    "fetch",
    "halo_area",
    "halo_m",
    "osm_facilities",
    "osm_units",
    "population_table",
    "read_boundary",
]
