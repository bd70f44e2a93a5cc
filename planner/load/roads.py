"""Read road lines (``read_roads``, ``download_roads``): classes, directions, speeds.

Part of :mod:`planner.load`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .._errors import InputError
from .._osm import (
    CLASS_CANDIDATES,
    DIRECTION_CANDIDATES,
    DIRECTION_DEFAULT,
    OSM_ACCESS_TAGS,
    ROAD_NAME_CANDIDATES,
    SPEED_CANDIDATES,
    class_key,
    hashable,
    map_classes,
    parse_maxspeed,
    read_osm,
)
from .._readfile import (
    OSM_SUFFIXES,
    VECTOR_SUFFIXES,
    WGS84,
    cell_text,
    data_columns,
    geoseries_to_wgs84,
    listing,
    parse_crs,
    read_vector,
    require_column,
    suffix_of,
    text_series,
    unused_columns,
)
from .._validate import Problems, describe_rows, find_column, require_file

logger = logging.getLogger("planner.load")


def _check_bbox(bbox: Any) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        b = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        b = ()
    if (
        len(b) != 4
        or not (b[0] < b[2] and b[1] < b[3])
        or max(abs(b[0]), abs(b[2])) > 180
        or max(abs(b[1]), abs(b[3])) > 90
    ):
        raise InputError(
            f"read_roads: bbox={bbox!r} is not (min_lon, min_lat, max_lon, max_lat) in WGS-84 degrees. "
            "Fix: pass e.g. bbox=(112.9, 28.1, 113.1, 28.3)."
        )
    return b


def read_roads(
    path: str | Path,
    *,
    layer: Any = None,
    class_column: str | None = None,
    class_map: Mapping[Any, str] | None = None,
    default_class: str | None = None,
    direction_column: str | None = None,
    direction_map: Mapping[Any, int] | None = None,
    speed_column: str | None = None,
    name_column: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    bbox: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """Read a road network as LineStrings in WGS-84 with OSM-style classes and directions.

    **OpenStreetMap** files (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``, ``.pbf``) are read
    with pyosmium. Ways with a ``highway`` tag are kept except non-roads (``proposed``,
    ``construction``, ``abandoned``, ``platform``, ``bus_stop``, ``rest_area``, ``services``,
    ``raceway``, ``elevator``, ``corridor`` ...) and areas (``area=yes``). ``oneway``
    (yes/true/1 -> 1, -1/reverse -> -1, no -> 0; ``junction=roundabout`` -> 1; motorways are only
    one-way when tagged), ``maxspeed`` (see :func:`parse_maxspeed`) and ``name`` (else
    ``name:zh``, else ``ref``) are read, and the way id is kept as ``osm_id``. The access tags
    (:data:`OSM_ACCESS_TAGS`: ``access``, ``foot``, ``bicycle``, ``vehicle``, ``motor_vehicle``,
    ``motorcar``, ``service``) are kept as text columns ("" where untagged): each travel mode
    reads its own (:func:`planner.network.usable_roads`). ``node_ids`` holds the OSM node id of
    every vertex (an int64 array per line): the network joins lines at shared nodes, not at
    shared positions. Ways of clipped extracts that reference missing nodes are cut into their
    runs of >= 2 present nodes. XML files with ``<!DOCTYPE``/``<!ENTITY`` declarations are
    refused.

    **Vector** files (``.shp``, ``.gpkg``, ``.geojson``, ``.json``, ``.fgb``) are read with pyogrio
    in any CRS; MultiLineStrings are split into LineStrings.

    - *Class* (auto: highway, fclass, class, type, subtype, road_class, 等级; the first column
      whose values all map, else the one mapping most) is mapped to an OSM ``highway`` value by
      ``class_map``, else: OSM values pass through; Chinese names (:data:`CHINESE_CLASSES`:
      高速公路 motorway, 国道 trunk, 省道 primary, 县道 secondary, 乡道 tertiary, 村道
      unclassified, 快速路 trunk, 主干路 primary, 次干路 secondary, 支路 residential, 辅路
      tertiary ...); the Changsha ``subtype`` codes (:data:`CHANGSHA_SUBTYPES`).
    - *Direction* (auto: oneway, direction, dir) becomes ``oneway`` by ``direction_map``, else by
      the default: numbers 0/3 both ways, 1 **and 2** one-way along the digitised direction (the
      Changsha coding, :data:`CHANGSHA_DIRECTIONS`: 1 and 2 mark the two carriageways of a
      divided road), -1 against; text yes/true 1, no/false 0, FT 1, TF -1, and the HERE-style
      B (both) / F (from the reference node: 1) / T (towards it: -1). A column holding only T and
      F is read as a true/false flag (T one-way along the line). Missing values are two-way.
      Numeric codes differ between suppliers (in some, 2 means against the line, or 1 both
      ways): check a roundabout or a divided road, and pass ``direction_map`` when they differ.
    - *Speed* (auto: maxspeed, speed_kmh, speed, 限速) in km/h; *name* (auto: name, 名称).

    Parameters
    ----------
    path : str or Path
        Road file.
    layer : optional
        Layer of a multi-layer vector file.
    class_column, direction_column, speed_column, name_column : str, optional
        Column names (vector files); auto-detected when not given.
    class_map : mapping, optional
        ``{source class: OSM highway value}``; wins over the defaults (also applied to OSM files).
    default_class : str, optional
        Class for unmapped or missing class values (else they are an error).
    direction_map : mapping, optional
        ``{source value: 1, 0 or -1}`` (1 one-way along the digitised direction, -1 against it,
        0 both ways); values it does not name keep the default reading. For data where 2 means
        "against the line": ``direction_map={1: 1, 2: -1, 3: 0}``.
    crs : optional
        Overrides the file's CRS; needed when it has none. ``"gcj02"``/``"bd09"`` allowed.
    encoding : str, optional
        Text encoding of a vector file (detected when not given).
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
        Keep only lines intersecting this WGS-84 box.

    Returns
    -------
    GeoDataFrame
        ``highway`` (str), ``oneway`` (int8: 0, 1, -1), ``maxspeed_kmh`` (float, NaN if unknown),
        ``name`` (str) and, for OSM, ``osm_id``, the access tag columns and ``node_ids``;
        vector files keep their other columns (``layer``, ``bridge`` and ``tunnel`` among them
        decide where lines join: :func:`planner.network.road_levels`). LineString geometry in
        EPSG:4326, RangeIndex.

    Raises
    ------
    InputError
        Unmapped classes, unknown direction values, non-line geometry, refused XML.
        :class:`~planner.CRSError` for a file without CRS and no ``crs=``.

    Examples
    --------
    >>> roads = read_roads("../shared/data/changsha/roads.shp")  # doctest: +SKIP
    >>> roads["oneway"].value_counts().to_dict()  # doctest: +SKIP
    {0: 1477, 1: 780}
    """
    t0 = time.perf_counter()
    p = require_file(path, what="roads", suffixes=OSM_SUFFIXES + VECTOR_SUFFIXES)
    source = str(p)
    box = _check_bbox(bbox)
    osm_suffix = suffix_of(p, OSM_SUFFIXES)
    if osm_suffix:
        gdf, stats = read_osm(p, osm_suffix, source=source)
        if class_map:
            mapped, _ = map_classes(gdf["highway"], class_map)
            gdf["highway"] = pd.Series(
                [m if m is not None else h for m, h in zip(mapped, gdf["highway"], strict=True)],
                dtype=str,
            )
        kind = f"OSM, {stats['dropped']} non-road ways dropped"
        if stats["missing_nodes"]:
            kind += (
                f"; {stats['missing_nodes']} nodes are missing from the (clipped) extract: "
                f"{stats['cut_ways']} ways cut into their present parts, {stats['outside']} ways "
                "with fewer than 2 present nodes dropped"
            )
    else:
        gdf, kind = _read_vector_roads(
            p,
            layer=layer,
            class_column=class_column,
            class_map=class_map,
            default_class=default_class,
            direction_column=direction_column,
            direction_map=direction_map,
            speed_column=speed_column,
            name_column=name_column,
            crs=crs,
            encoding=encoding,
            bbox=box,
            source=source,
        )
    if box is not None:
        gdf = gdf[shapely.intersects(gdf.geometry.to_numpy(), shapely.box(*box))]
    gdf = gdf.reset_index(drop=True)
    logger.info(
        "read %d road lines (%.0f km) from %s (%s) in %.2f s",
        len(gdf),
        _length_km(gdf),
        source,
        kind,
        time.perf_counter() - t0,
    )
    return gdf


def _length_km(gdf: gpd.GeoDataFrame) -> float:
    """Total length of lon/lat lines in km (haversine; for the log line)."""
    coords, idx = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    if len(coords) < 2:
        return 0.0
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    same = idx[1:] == idx[:-1]
    dlat = lat[1:] - lat[:-1]
    dlon = lon[1:] - lon[:-1]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    d = 2 * 6_371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return float(d[same].sum())


def _road_directions(
    df: pd.DataFrame,
    dir_col: Any,
    direction_map: Any,
    notes: list[str],
    problems: Problems,
) -> np.ndarray:
    """One-way codes (1 along, -1 against, 0 both) from ``dir_col``, else all two-way (noted)."""
    if dir_col is not None:
        oneway, unmapped = _map_direction(df[dir_col], direction_map)
        if unmapped:
            problems.add(
                f"column '{dir_col}' has direction values that are not understood: {listing(unmapped)}",
                fix="pass direction_map={value: 1 (one-way along the line), -1 (against it) or 0 (both ways)}",
            )
        if direction_map is not None:
            wrong_vals = sorted({v for v in direction_map.values() if v not in (-1, 0, 1)}, key=str)
            if wrong_vals:
                problems.add(
                    f"direction_map has values {listing(wrong_vals)}", fix="map to 1, 0 or -1"
                )
    else:
        oneway = np.zeros(len(df), dtype=np.int8)
        notes.append("no direction column: every road two-way")
    return oneway


def _guess_class_column(df: pd.DataFrame, cols: list[Any], class_map: Any) -> Any:
    """The candidate column whose values map to road classes best (the first that maps all)."""
    best: tuple[float, Any] = (0.0, None)
    for cand in CLASS_CANDIDATES:
        c = find_column(cols, None, (cand,))
        if c is None or c == best[1]:
            continue
        present = df[c].dropna()
        if present.empty:
            continue
        _, n_ok = map_classes(present, class_map)
        share = n_ok / len(present)
        if share == 1.0:
            best = (share, c)
            break
        if share > best[0]:
            best = (share, c)
    return best[1]


def _road_classes(
    df: pd.DataFrame,
    class_col: Any,
    class_map: Any,
    default_class: str | None,
    cols: list[Any],
    problems: Problems,
) -> pd.Series:
    """OSM highway classes of the roads: ``class_col`` mapped (unmapped ones are problems unless
    ``default_class=``), else ``default_class`` everywhere."""
    if class_col is not None and class_col in df:
        mapped, _ = map_classes(df[class_col], class_map)
        classes = pd.Series(mapped, index=df.index, dtype=object)
        bad = classes.isna().to_numpy()
        if bad.any():
            if default_class is not None:
                classes = classes.where(~bad, default_class)
            else:
                raw = df[class_col][bad]
                counts = raw.map(cell_text).value_counts()
                problems.add(
                    f"column '{class_col}' has road classes that are not mapped to OSM highway values: "
                    + ", ".join(f"'{k}' ({v} rows)" for k, v in counts.head(15).items())
                    + f" in {describe_rows(df.index[bad])}",
                    fix="pass class_map={value: 'primary', ...} (OSM highway values) or default_class='unclassified'",
                )
    elif default_class is not None:
        classes = pd.Series(default_class, index=df.index, dtype=object)
    else:
        problems.add(
            f"no road class column recognised (looked for {', '.join(CLASS_CANDIDATES[:7])}; columns are {listing(cols)})",
            fix="pass class_column= (with class_map= if its values are not OSM/Chinese classes) or default_class=",
        )
        classes = pd.Series(None, index=df.index, dtype=object)

    return classes


def _read_vector_roads(
    path: Path,
    *,
    layer: Any,
    class_column: str | None,
    class_map: Mapping[Any, str] | None,
    default_class: str | None,
    direction_column: str | None,
    direction_map: Mapping[Any, int] | None,
    speed_column: str | None,
    name_column: str | None,
    crs: Any,
    encoding: str | None,
    bbox: tuple[float, float, float, float] | None,
    source: str,
) -> tuple[gpd.GeoDataFrame, str]:
    """Vector road file -> read_roads columns, and a note for the log line."""
    parsed = parse_crs(crs, source)
    notes = ["vector"]
    file_bbox = None
    if bbox is not None and parsed is None:
        import pyogrio

        info_crs = pyogrio.read_info(path, layer=layer).get("crs")
        if info_crs:
            t = pyproj.Transformer.from_crs(
                WGS84, pyproj.CRS.from_user_input(info_crs), always_xy=True
            )
            file_bbox = t.transform_bounds(*bbox, densify_pts=21)
    df = read_vector(path, layer=layer, encoding=encoding, bbox=file_bbox, source=source)
    problems = Problems(source)
    if not isinstance(df, gpd.GeoDataFrame) or df._geometry_column_name not in df:
        raise InputError(f"{source}: has no geometry. Fix: use a line file of roads.")
    if len(df) == 0:
        raise InputError(
            f"{source}: no rows{' inside bbox' if bbox else ''}. Fix: check the file (and bbox=)."
        )
    geoms = df.geometry
    empty = (geoms.isna() | geoms.is_empty).to_numpy()
    if empty.any():
        logger.warning("%s: dropped %d rows without geometry", source, int(empty.sum()))
        notes.append(f"{int(empty.sum())} rows without geometry dropped")
        df = df[~empty]
        geoms = df.geometry
    types = shapely.get_type_id(geoms.to_numpy())
    wrong = ~np.isin(types, (1, 2, 5))
    if wrong.any():
        problems.add(
            f"geometries are {', '.join(sorted(set(geoms[wrong].geom_type)))}, not lines, in {describe_rows(df.index[wrong])}",
            fix="use a LineString/MultiLineString road file (or remove those rows)",
        )
        problems.raise_if_any()
    cols = data_columns(df)

    # class
    class_col = (
        require_column(problems, df, class_column, (), option="class_column", what="road class")
        if class_column
        else None
    )
    if class_column is None:
        class_col = _guess_class_column(df, cols, class_map)
    classes = _road_classes(df, class_col, class_map, default_class, cols, problems)

    # direction
    dir_col = require_column(
        problems,
        df,
        direction_column,
        DIRECTION_CANDIDATES,
        option="direction_column",
        what="direction",
    )
    oneway = _road_directions(df, dir_col, direction_map, notes, problems)

    speed_col = require_column(
        problems, df, speed_column, SPEED_CANDIDATES, option="speed_column", what="speed"
    )
    name_col = require_column(
        problems, df, name_column, ROAD_NAME_CANDIDATES, option="name_column", what="name"
    )
    problems.raise_if_any()

    if speed_col is not None:
        speed = np.asarray([parse_maxspeed(v) for v in df[speed_col]], dtype=float)
    else:
        speed = np.full(len(df), np.nan)
    names = (
        text_series(df[name_col])
        if name_col is not None
        else pd.Series("", index=df.index, dtype=str)
    )
    rest = unused_columns(
        df, [class_col, dir_col, speed_col, name_col], ("highway", "oneway", "maxspeed_kmh", "name")
    )
    out = pd.DataFrame(
        {
            "highway": classes.astype(str),
            "oneway": pd.Series(oneway, index=df.index, dtype=np.int8),
            "maxspeed_kmh": pd.Series(speed, index=df.index, dtype=float),
            "name": names,
        },
        index=df.index,
    )
    frame = gpd.GeoDataFrame(
        pd.concat([out, rest], axis=1), geometry=df.geometry.to_numpy(), crs=df.crs
    )
    frame = frame.reset_index(drop=True).explode(index_parts=False).reset_index(drop=True)
    geometry = geoseries_to_wgs84(frame.geometry, parsed, source)
    frame = frame.set_geometry(shapely.force_2d(geometry.to_numpy()), crs=WGS84)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    notes.append(
        f"class from '{class_col}'" if class_col is not None else f"class '{default_class}'"
    )
    if dir_col is not None:
        note = f"direction from '{dir_col}'"
        codes = (
            {class_key(v) for v in pd.unique(df[dir_col].dropna())}
            if direction_map is None
            else set()
        )
        if codes & {"1", "2"} and codes <= set(DIRECTION_DEFAULT):
            # supplier codes are not universal: say how numbers were read, and how to change it
            note += " (numeric codes: 1 and 2 one-way along the line, 3 both ways; other codings: pass direction_map=)"
        notes.append(note)
    return frame, ", ".join(notes)


def _map_direction(
    series: pd.Series, direction_map: Mapping[Any, int] | None
) -> tuple[np.ndarray, list[str]]:
    keys = [class_key(v) for v in series]
    present = {k for k in keys if k is not None}
    defaults = dict(DIRECTION_DEFAULT)
    if present and present <= {"t", "f"}:  # a true/false flag, not HERE's T/F/B
        defaults.update({"t": 1, "f": 0})
    user = dict(direction_map or {})
    user_keys = {class_key(k): v for k, v in user.items()}
    out = np.zeros(len(keys), dtype=np.int8)
    unmapped: dict[str, None] = {}
    for i, (raw, key) in enumerate(zip(series, keys, strict=True)):
        if hashable(raw) and raw in user:
            val = user[raw]
        elif key in user_keys:
            val = user_keys[key]
        elif key is None:
            val = 0
        else:
            val = defaults.get(key)
            if val is None:
                unmapped[key] = None
                continue
        out[i] = val if val in (-1, 0, 1) else 0
    return out, list(unmapped)


def download_roads(
    place: str | dict | list | None = None,
    *,
    polygon: Any = None,
    network_type: str = "all",
) -> gpd.GeoDataFrame:
    """Download roads from OpenStreetMap with osmnx, as :func:`read_roads` returns them.

    Parameters
    ----------
    place : str, dict or list, optional
        A place name osmnx geocodes (e.g. ``"Lankao County, Kaifeng, Henan, China"``).
    polygon : shapely Polygon or MultiPolygon, optional
        Area in WGS-84 (instead of ``place``).
    network_type : str
        osmnx network type: ``"all"`` (default), ``"drive"``, ``"walk"``, ``"bike"`` ...
        (osmnx makes every edge two-way for ``"walk"``, so use ``"all"`` to keep one-way streets).

    Returns
    -------
    GeoDataFrame
        ``osm_id``, ``highway``, ``oneway``, ``maxspeed_kmh``, ``name`` and the access tag
        columns of :data:`OSM_ACCESS_TAGS` (those osmnx did not keep are ""); LineStrings in EPSG:4326
        (one per street segment between intersections; one-way segments point in the travel
        direction).
    """
    if (place is None) == (polygon is None):
        raise InputError(
            "download_roads: pass either place= or polygon=. Fix: name a place or give a polygon."
        )
    import osmnx as ox

    t0 = time.perf_counter()
    if place is not None:
        graph = ox.graph_from_place(place, network_type=network_type, retain_all=True)
        source = f"OpenStreetMap ({place})"
    else:
        graph = ox.graph_from_polygon(polygon, network_type=network_type, retain_all=True)
        source = "OpenStreetMap (polygon)"
    edges = ox.graph_to_gdfs(ox.convert.to_undirected(graph), nodes=False)
    out = _roads_from_osmnx_edges(edges)
    logger.info(
        "downloaded %d road lines from %s in %.1f s", len(out), source, time.perf_counter() - t0
    )
    return out


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return value[0] if len(value) else None
    return value


def _roads_from_osmnx_edges(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """osmnx edge GeoDataFrame (undirected graph) -> read_roads columns."""
    n = len(edges)

    def col(name: str) -> pd.Series:
        return (
            edges[name] if name in edges else pd.Series([None] * n, index=edges.index, dtype=object)
        )

    def speed(v: Any) -> float:
        if isinstance(v, (list, tuple, np.ndarray)):
            vals = [parse_maxspeed(x) for x in v]
            vals = [x for x in vals if not math.isnan(x)]
            return min(vals) if vals else math.nan
        return parse_maxspeed(v)

    osm_ids = [_first(v) for v in col("osmid")]
    oneway = [
        1 if (v is True or v == 1 or str(v).lower() in ("true", "yes")) else 0
        for v in col("oneway")
    ]
    out = gpd.GeoDataFrame(
        {
            "osm_id": pd.to_numeric(pd.Series(osm_ids, dtype=object), errors="coerce")
            .fillna(-1)
            .astype(np.int64)
            .to_numpy(),
            "highway": pd.Series(
                [cell_text(_first(v)) or "road" for v in col("highway")], dtype=str
            ),
            "oneway": np.asarray(oneway, dtype=np.int8),
            "maxspeed_kmh": np.asarray([speed(v) for v in col("maxspeed")], dtype=float),
            "name": pd.Series([cell_text(_first(v)) for v in col("name")], dtype=str),
            # access tags osmnx kept (by default access and service; foot, bicycle ... when
            # added to its useful_tags_way), read by the travel modes as for OSM files
            **{
                tag: pd.Series([cell_text(_first(v)) for v in col(tag)], dtype=str)
                for tag in OSM_ACCESS_TAGS
            },
        },
        geometry=shapely.force_2d(edges.geometry.to_numpy()),
        crs=edges.crs or WGS84,
    )
    if not out.crs.equals(WGS84):
        out = out.to_crs(WGS84)
    return out.reset_index(drop=True)
