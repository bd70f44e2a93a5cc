"""Stage ``load``: read roads, facilities, administrative boundaries and population.

Every loader returns a GeoDataFrame in **EPSG:4326** with the columns of ``docs/architecture.md``,
never changes its input, and raises :class:`~planner.InputError` (or a subclass) naming the file,
the column, example rows and the fix when the input is unusable.

Coordinate systems: a file's own CRS is used when it has one; ``crs=`` overrides it and may also be
``"gcj02"`` (Amap/Tencent "Mars" coordinates) or ``"bd09"`` (Baidu), which are converted to WGS-84
with :mod:`planner._chinacrs`.

Text encodings: Chinese files come as UTF-8 or GBK/GB18030, often unlabelled. CSV files are
decoded as UTF-8 (with or without BOM) when that works, else GB18030. Shapefiles honour their
``.cpg`` file; without one, the raw bytes are read and decoded as UTF-8 when they mostly are valid
UTF-8 (so text cut mid-character still decodes, with U+FFFD replacement characters), else as
GB18030. ``encoding=`` overrides the detection.

The readers live in one module each (``facilities``, ``boundaries``, ``population``,
``roads``); this package re-exports their public names, and those of the shared file readers
(:mod:`planner._readfile`) and OSM rules (:mod:`planner._osm`), so ``planner.load.X`` keeps
working for every public ``X``.
"""

from __future__ import annotations

from .._osm import (  # noqa: F401 - re-exported: planner.load keeps every public name
    CHANGSHA_DIRECTIONS,
    CHANGSHA_SUBTYPES,
    CHINESE_CLASSES,
    CLASS_CANDIDATES,
    DIRECTION_CANDIDATES,
    DIRECTION_DEFAULT,
    OSM_ACCESS_TAGS,
    OSM_CLASSES,
    ROAD_NAME_CANDIDATES,
    SPEED_CANDIDATES,
    class_key,
    hashable,
    map_classes,
    parse_maxspeed,
    read_osm,
)
from .._readfile import (  # noqa: F401 - re-exported: planner.load keeps every public name
    CRS_FIX,
    LAT,
    LON,
    OSM_SUFFIXES,
    PARQUET_SUFFIXES,
    RASTER_SUFFIXES,
    TABLE_SUFFIXES,
    VECTOR_SUFFIXES,
    WGS84,
    cell_text,
    code_text,
    data_columns,
    first_example,
    geoseries_to_wgs84,
    is_degrees,
    listing,
    parse_crs,
    points_from_columns,
    read_table,
    read_vector,
    require_column,
    rows_with_names,
    sheets_hint,
    suffix_of,
    text_series,
    to_wgs84,
    unused_columns,
)
from .boundaries import (  # noqa: F401 - re-exported
    ADMIN_NAME_COLUMNS,
    CODE_COLUMNS,
    LEVEL_COLUMNS,
    PARENT_COLUMNS,
    read_boundaries,
)
from .facilities import ID_COLUMNS, NAME_COLUMNS, TYPE_COLUMNS, read_facilities  # noqa: F401
from .population import (  # noqa: F401 - re-exported
    GROUP_COLUMN_NAMES,
    POPULATION_COLUMNS,
    find_group_columns,
    group_values,
    raster_group_files,
    read_population,
)
from .roads import download_roads, read_roads

__all__ = [
    "COLUMN_CANDIDATES",
    "download_roads",
    "read_boundaries",
    "read_facilities",
    "read_population",
    "read_roads",
    "to_wgs84",
]

#: The column names each reader recognises, by field, in the order they are tried (the first
#: present wins). One definition for the readers and the app's column guesses
#: (:mod:`planner.app.uploads_columns`).
COLUMN_CANDIDATES: dict[str, tuple[str, ...]] = {
    "lon": LON,
    "lat": LAT,
    "facility_id": ID_COLUMNS,
    "facility_name": NAME_COLUMNS,
    "facility_type": TYPE_COLUMNS,
    "admin_code": CODE_COLUMNS,
    "admin_name": ADMIN_NAME_COLUMNS,
    "admin_level": LEVEL_COLUMNS,
    "parent_code": PARENT_COLUMNS,
    "population": POPULATION_COLUMNS,
    "road_class": CLASS_CANDIDATES,
    "road_direction": DIRECTION_CANDIDATES,
    "road_speed": SPEED_CANDIDATES,
    "road_name": ROAD_NAME_CANDIDATES,
}
