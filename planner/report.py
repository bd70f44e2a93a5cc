"""Outputs: GeoPackage layers, summary tables, the travel-time raster and the offline map.

>>> import planner                                                   # doctest: +SKIP
>>> result = planner.analyze(planner.load_demo())                    # doctest: +SKIP
>>> planner.write_outputs(result, "out/", raster_cell_m=200)         # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._errors import InputError

if TYPE_CHECKING:
    from .pipeline import CoverageResult

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = [
    "admin_code",
    "admin_name",
    "level",
    "population",
    "covered_population",
    "covered_share",
    "no_facility_in_piece_population",
]


def _finite(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        if c in out.columns:
            v = out[c].to_numpy(dtype=float)
            out[c] = np.where(np.isfinite(v), v, np.nan)
    return out


def write_raster(
    array: np.ndarray, transform: Any, crs: Any, path: str | Path, *, nodata: float = -9999.0
) -> Path:
    """Write a float32 single-band GeoTIFF; NaN cells become ``nodata``."""
    import rasterio

    path = Path(path)
    data = np.where(np.isfinite(array), array, nodata).astype(np.float32)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
        compress="deflate",
    ) as dst:
        dst.write(data, 1)
        dst.update_tags(1, units="minutes", description="travel time to the nearest facility")
    return path


def summary_table(result: CoverageResult) -> pd.DataFrame:
    """``admin_code, admin_name, level, population, covered_population, covered_share,
    no_facility_in_piece_population`` (residents on road pieces that hold no facility), then
    ``population_<g>, covered_population_<g>, covered_share_<g>`` per population group ``g``
    (after the fixed columns, so readers of the first ones are unaffected)."""
    if result.admin_summary is None:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    tab = result.admin_summary
    groups = [
        c
        for c in tab.columns
        if c.startswith(("population_", "covered_population_", "covered_share_"))
        and c not in SUMMARY_COLUMNS
    ]
    return tab[SUMMARY_COLUMNS + groups].copy()


def _group_label(group: str) -> str:
    """How a group is named to a reader: ``65plus`` -> ``65+``."""
    import re

    return re.sub(r"^under(\d)", r"under \1", group.replace("plus", "+"))


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def summary_lines(result: CoverageResult, *, level: str = "township") -> list[str]:
    """Human-readable lines: headline and covered/uncovered population per unit of ``level``."""
    s = result.settings
    lines = []
    tag = " [SYNTHETIC DEMO DATA]" if result.synthetic else ""
    lines.append(
        f"{result.dataset_name}{tag}: {s.mode}, {s.minutes:g}-minute circle, tiers: {', '.join(s.selected_tiers)}"
    )
    n_unreach = int((~result.facilities["reachable"]).sum())
    lines.append(f"facilities: {len(result.facilities):,} ({n_unreach} too far from any road)")
    if not result.has_population:
        lines.append(
            "population: none given - population figures are omitted (isochrones and raster only)"
        )
        return lines
    lines.append(
        f"population {result.total_population:,.0f}: covered {result.covered_population:,.0f} "
        f"({100 * result.covered_share:.1f} %), uncovered {result.total_population - result.covered_population:,.0f}"
        + (
            f" (of which {result.unreachable_population:,.0f} farther than {result.network.mode.access_max_m:g} m from any road)"
            if result.unreachable_population > 0
            else ""
        )
    )
    from .coverage import group_coverage, population_groups

    groups = population_groups(result.demand)
    for r in group_coverage(result.demand).iloc[1:].itertuples():
        share = "n/a" if not np.isfinite(r.covered_share) else f"{100 * r.covered_share:.1f} %"
        lines.append(
            f"  of them aged {_group_label(r.group)}: {r.population:,.0f}, covered {r.covered_population:,.0f} "
            f"({share}), uncovered {r.population - r.covered_population:,.0f}"
        )
    lonely = result.no_facility_in_piece_population
    if lonely > 0 and result.demand is not None:
        n_pieces = result.demand.loc[result.demand["no_facility_in_piece"], "piece"].nunique()
        lines.append(
            f"of the uncovered, {lonely:,.0f} live on {n_pieces:,} pieces of road not connected to any "
            "facility (no facility in their piece of the network)"
        )
    tab = result.admin_summary
    rows = tab[tab["level"] == level] if tab is not None else pd.DataFrame()
    if len(rows):
        width = max(8, *(_width(str(n)) for n in rows["admin_name"]))
        gcols = [g for g in groups if f"covered_share_{g}" in rows.columns]
        head = "".join(f"  {_group_label(g):>7}" for g in gcols)
        lines.append(
            f"{_pad('unit', width)}  {'population':>10}  {'covered':>10}  {'uncovered':>10}  {'share':>6}{head}"
        )

        def pct(v: float, w: int) -> str:
            return " " * (w - 3) + "n/a" if not np.isfinite(v) else f"{100 * v:{w - 1}.1f}%"

        for r in rows.itertuples(index=False):
            share = pct(r.covered_share, 6)
            per_group = "".join(f"  {pct(getattr(r, f'covered_share_{g}'), 7)}" for g in gcols)
            lines.append(
                f"{_pad(str(r.admin_name), width)}  {r.population:>10,.0f}  {r.covered_population:>10,.0f}  "
                f"{r.uncovered_population:>10,.0f}  {share}{per_group}"
            )
    if result.uncovered is not None and len(result.uncovered):
        top = result.uncovered.head(5)
        lines.append("largest uncovered residential areas:")
        for r in top.itertuples():
            where = getattr(r, "village_name", "") or getattr(r, "township_name", "") or ""
            mm = (
                "no facility reachable"
                if not np.isfinite(r.mean_minutes)
                else f"mean {r.mean_minutes:.0f} min"
            )
            lines.append(
                f"  #{r.rank}: {r.population:,.0f} residents, {r.area_km2:.2f} km2, {mm} {where}".rstrip()
            )
    return lines


#: Prefix of the hidden folder inside an output folder where a set of outputs is written before
#: it replaces the old one (left behind only when the process is killed mid-write).
STAGING_PREFIX = ".planner-partial-"


def check_output_dir(out_dir: str | Path, *, what: str = "out_dir") -> Path:
    """Raise before any work when ``out_dir`` cannot be an output folder (it is a file, lies
    under a file, or cannot be written); ``what`` names the option in the message."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(
            f"{what} {out} is a file, not a folder. Fix: name a folder (it is created if missing)."
        )
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(
            f"{what} {out}: {parent} is a file, not a folder. Fix: name a folder path."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"{what} {out}: cannot write in {parent} (permission denied). Fix: name a folder you can write to."
        )
    return out


@contextlib.contextmanager
def staged_outputs(out_dir: str | Path) -> Iterator[Path]:
    """Write a set of outputs atomically: yield an empty hidden folder inside ``out_dir``; when
    the block ends without error, move every file from it into ``out_dir`` (``os.replace``,
    atomic per file, replacing older files of the same name), else delete it.

    The old outputs are never deleted first, and none is replaced before all new ones are
    written, so a failure (or a kill) mid-write leaves the previous set whole.
    """
    out = check_output_dir(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    for item in sorted(stage.iterdir()):
        os.replace(item, out / item.name)
    stage.rmdir()


def _moved(written: dict[str, Path], stage: Path, out: Path) -> dict[str, Path]:
    """Paths under ``stage`` as they are after :func:`staged_outputs` moved them to ``out``."""
    return {
        k: out / Path(p).relative_to(stage) if Path(p).is_relative_to(stage) else Path(p)
        for k, p in written.items()
    }


def write_outputs(
    result: CoverageResult,
    out_dir: str | Path,
    *,
    raster_cell_m: float | None = None,
    raster_like: Any = None,
    raster_access_m: float | None = None,
    map_html: bool = True,
    lang: Literal["zh", "en", "both"] = "both",
) -> dict[str, Path]:
    """Write ``coverage.gpkg``, ``summary.csv``, ``access.tif`` (with ``raster_cell_m`` or
    ``raster_like``) and ``map.html`` into ``out_dir``; return the paths written.

    ``lang`` is the language of ``map.html`` (read by people); the GeoPackage and
    ``summary.csv`` (read by programs) keep their documented column names in every language.

    The files are written into a hidden folder inside ``out_dir`` and moved into place only when
    all are written (:func:`staged_outputs`): an error or a kill mid-write leaves the previous
    outputs as they were. See :func:`_write_outputs` for the raster options.
    """
    out = Path(out_dir)
    with staged_outputs(out) as stage:
        written = _write_outputs(
            result,
            stage,
            raster_cell_m=raster_cell_m,
            raster_like=raster_like,
            raster_access_m=raster_access_m,
            map_html=map_html,
            lang=lang,
        )
    written = _moved(written, stage, out)
    log.info("wrote %s", ", ".join(str(p) for p in written.values()))
    return written


def _write_outputs(
    result: CoverageResult,
    out_dir: str | Path,
    *,
    raster_cell_m: float | None = None,
    raster_like: Any = None,
    raster_access_m: float | None = None,
    map_html: bool = True,
    lang: Literal["zh", "en", "both"] = "both",
) -> dict[str, Path]:
    """Write ``coverage.gpkg``, ``summary.csv``, ``access.tif`` (with ``raster_cell_m`` or
    ``raster_like``) and ``map.html`` (in ``lang``) into ``out_dir``; return the paths written.

    The raster (:func:`planner.access.travel_time_raster`) covers
    :func:`planner.access.raster_extent`: the boundaries when there are any, else the road nodes
    grown by the snap tolerance; ``raster_like`` (a raster path or
    :class:`planner.access.RasterGrid`) writes it on another raster's grid instead, and
    ``raster_access_m`` sets the snap tolerance of its cells (default: the mode's ``access_max_m``)."""
    from . import access

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    gpkg = out / "coverage.gpkg"
    fac = _finite(result.facilities, ["access_m"])
    fac.to_file(gpkg, layer="facilities", driver="GPKG")
    if result.isochrones is not None:
        result.isochrones.to_file(gpkg, layer="isochrones", driver="GPKG")
    if result.demand is not None:
        _finite(result.demand, ["minutes"]).to_file(gpkg, layer="demand", driver="GPKG")
        if result.uncovered is not None:
            result.uncovered.to_file(gpkg, layer="uncovered", driver="GPKG")
        # a table without geometry: pyogrio writes attribute-only layers to GPKG
        import pyogrio

        pyogrio.write_dataframe(
            _finite(result.admin_summary, ["covered_share", "mean_minutes"]),
            gpkg,
            layer="admin_summary",
            driver="GPKG",
        )
    written["gpkg"] = gpkg
    summary = out / "summary.csv"
    summary_table(result).to_csv(summary, index=False, encoding="utf-8")
    written["summary"] = summary
    if raster_cell_m is not None or raster_like is not None:
        if raster_like is None and (raster_cell_m is None or not raster_cell_m > 0):
            raise InputError(f"raster_cell_m must be positive metres, got {raster_cell_m!r}.")
        bounds = None
        if raster_like is None:  # the one extent rule: boundaries, else the roads grown
            bounds = access.raster_extent(
                result.network, boundaries=result.boundaries, access_max_m=raster_access_m
            )
        arr, transform, crs = access.travel_time_raster(
            result.network,
            result.facilities,
            cell_m=raster_cell_m or 100.0,
            bounds=bounds,
            like=raster_like,
            access_max_m=raster_access_m,
        )
        written["raster"] = write_raster(arr, transform, crs, out / "access.tif")
    if map_html:
        written["map"] = out / "map.html"
        save_map(coverage_map(result, assets="inline", lang=lang), written["map"])
    return written


def coverage_map(
    result: CoverageResult,
    *,
    assets: Literal["inline", "served"] = "inline",
    basemap: str | None = None,
    proposals=None,
    lang: Literal["zh", "en", "both"] = "both",
    layer_control: bool = True,
    context: bool = True,
):
    """A folium map of the result: boundaries, isochrones, uncovered areas, facilities.

    With ``context`` (the default) the road network the analysis ran on and the township and
    village names are drawn too, so the map reads offline without tiles (as the app's map).

    ``lang`` is "zh", "en" or "both" (labels and legends in both languages). With
    ``layer_control=False`` the caller adds more layers and then
    :func:`planner.maps.add_layer_control`: Leaflet's layer control must come after every layer
    it lists (a layer added after it breaks the page's script).
    """
    from . import maps

    b = result.boundaries if result.boundaries is not None else result.facilities
    m = maps.new_map(tuple(b.total_bounds), assets=assets, basemap=basemap, lang=lang)
    if context:  # under every other layer
        maps.add_roads(m, result.network.edges_frame()[["highway", "geometry"]], lang=lang)
    if result.boundaries is not None:
        maps.add_boundaries(m, result.boundaries, lang=lang)
    if result.isochrones is not None:
        maps.add_isochrones(m, result.isochrones, lang=lang)
    if result.uncovered is not None and len(result.uncovered):
        maps.add_uncovered(m, result.uncovered, lang=lang)
    maps.add_facilities(m, result.facilities[~result.facilities["proposed"]], lang=lang)
    prop = result.facilities[result.facilities["proposed"]]
    if proposals is not None:
        maps.add_proposals(m, proposals, lang=lang)
    elif len(prop):
        p = prop.rename(columns={"facility_id": "site_id"}).copy()
        p["newly_covered_population"] = np.nan
        maps.add_proposals(m, p, lang=lang)
    if context and result.boundaries is not None:  # names on top of every layer
        maps.add_place_labels(m, result.boundaries, lang=lang)
    if layer_control:
        maps.add_layer_control(m)
    return m


def save_map(m, path: str | Path) -> Path:
    from . import maps

    maps.save_html(m, path)
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Tables for people: headers, Excel and CSV in the reader's language (issue 11)
# ---------------------------------------------------------------------------------------------

#: The languages of files read by people; ``None`` writes a table as it is (column names of
#: the data), for files read by programs.
OUTPUT_LANGUAGES = ("zh", "en")

#: Excel number format of each kind of column (the cells stay numbers).
NUMBER_FORMATS = {
    "people": "#,##0",
    "count": "#,##0",
    "share": "0.0%",
    "minutes": "0.0",
    "km2": "#,##0.00",
    "m": "#,##0",
    "m2": "#,##0",
    "coord": "0.000000",
    "seconds": "0.00",
    "number": "#,##0.00",
}

_GROUP_COLUMN = re.compile(r"^(population|covered_population|covered_share)_(\w+)$")


def _check_lang(lang: str) -> str:
    if lang not in OUTPUT_LANGUAGES:
        raise InputError(f"lang={lang!r} is not a language of the outputs. Fix: use 'zh' or 'en'.")
    return lang


def column_kind(column: str) -> str:
    """What a column holds, by its name: ``people``, ``share``, ``minutes``, ``count``, ...

    >>> column_kind("covered_share_65plus"), column_kind("population"), column_kind("admin_name")
    ('share', 'people', 'text')
    """
    from .i18n import OUTPUT_COLUMNS

    if column in OUTPUT_COLUMNS:
        return OUTPUT_COLUMNS[column][2]
    m = _GROUP_COLUMN.match(column)
    if m:
        return OUTPUT_COLUMNS[m.group(1)][2]
    for suffix, kind in (
        ("_population", "people"),
        ("_share", "share"),
        ("_minutes", "minutes"),
        ("_km2", "km2"),
        ("_m2", "m2"),
        ("_m", "m"),
    ):
        if column.endswith(suffix):
            return kind
    return "text"


def column_label(column: str, *, lang: str) -> str:
    """A column's header for people in ``lang``, with its unit.

    >>> column_label("covered_share", lang="zh"), column_label("population_65plus", lang="en")
    ('覆盖率（%）', 'Residents aged 65+ (persons)')
    """
    from .i18n import OUTPUT_COLUMNS, OUTPUT_GROUPS, OUTPUT_UNITS

    i = OUTPUT_LANGUAGES.index(_check_lang(lang))
    kind = column_kind(column)
    m = _GROUP_COLUMN.match(column)
    if column in OUTPUT_COLUMNS:
        name = OUTPUT_COLUMNS[column][i]
    elif m:
        base = OUTPUT_COLUMNS[m.group(1)][i]
        group = OUTPUT_GROUPS.get(m.group(2), (_group_label(m.group(2)),) * 2)[i]
        name = f"{group}{base}" if lang == "zh" else f"{base} {group}"
    else:
        name = column if lang == "zh" else column.replace("_", " ").capitalize()
    unit = OUTPUT_UNITS[kind][i]
    if not unit:
        return name
    return f"{name}（{unit}）" if lang == "zh" else f"{name} ({unit})"


def sheet_label(name: str, *, lang: str) -> str:
    """A table's sheet (or CSV file) name for people in ``lang`` (at most 31 characters)."""
    from .i18n import OUTPUT_SHEETS

    i = OUTPUT_LANGUAGES.index(_check_lang(lang))
    label = OUTPUT_SHEETS[name][i] if name in OUTPUT_SHEETS else name
    return re.sub(r"[\[\]:*?/\\]", "_", label)[:31]


def value_label(value: Any, *, lang: str) -> Any:
    """A cell value for people: levels, statuses and tiers in ``lang``; others as they are."""
    from .i18n import OUTPUT_VALUES

    if isinstance(value, str) and value in OUTPUT_VALUES:
        return OUTPUT_VALUES[value][OUTPUT_LANGUAGES.index(lang)]
    return value


def people_table(df: pd.DataFrame, *, lang: str) -> pd.DataFrame:
    """``df`` for people: headers in ``lang`` with units, levels/statuses/tiers translated,
    infinite numbers as empty cells; numbers stay numbers (formats are the writer's job)."""
    _check_lang(lang)
    out = _finite(df, [c for c in df.columns if pd.api.types.is_float_dtype(df[c])])
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = [value_label(v, lang=lang) for v in out[c]]
    out.columns = _unique([column_label(str(c), lang=lang) for c in df.columns])
    return out


def _unique(labels: list[str]) -> list[str]:
    """Labels made unique (two columns may share a translation) by a numbered suffix."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} {seen[label]}")
    return out


def _shown_width(value: Any, kind: str) -> int:
    """Characters a cell shows in Excel (CJK count double), for the column width."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return 0
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        x = float(value)
        if kind == "share":
            return len(f"{100 * x:.1f}%")
        fmt = {"people": ",.0f", "count": ",.0f", "m": ",.0f", "m2": ",.0f", "coord": ".6f"}
        return len(f"{x:{fmt.get(kind, ',.2f')}}")
    return _width(str(value))


def _format_sheet(ws: Any, df: pd.DataFrame, kinds: list[str]) -> None:
    """Frozen header row, number formats by kind, and widths that fit header and values."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "A2"
    for i, (col, kind) in enumerate(zip(df.columns, kinds, strict=True), start=1):
        letter = get_column_letter(i)
        head = ws.cell(row=1, column=i)
        head.font = Font(bold=True)
        head.alignment = Alignment(wrap_text=True, vertical="top")
        fmt = NUMBER_FORMATS.get(kind)
        numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
        if fmt is not None and numeric:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i, max_row=len(df) + 1):
                cell.number_format = fmt
        shown = [_shown_width(v, kind if numeric else "text") for v in df[col].head(500)]
        width = max([min(_width(str(col)), 24), *shown]) + 2
        ws.column_dimensions[letter].width = float(min(60, max(8, width)))


def write_xlsx(
    tables: dict[str, pd.DataFrame], target: str | Path | Any, *, lang: str | None = "zh"
) -> None:
    """Write ``tables`` (``{name: table}``) as one Excel workbook to ``target`` (a path or a
    binary file object), one sheet per table.

    With ``lang`` ("zh" or "en") the sheets are for people: sheet names and headers in that
    language with units (人, 分钟, km², %), residents as whole numbers with thousands separators
    and shares in per cent (number formats: the cells stay numbers), a frozen header row and
    column widths that fit. ``lang=None`` keeps the tables' own names and column names.
    """
    if lang is not None:
        _check_lang(lang)
    if isinstance(target, str | Path):
        # a temporary name, then rename: a failure leaves an older workbook whole
        path = Path(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
        os.close(fd)
        try:
            _write_xlsx(tables, tmp, lang)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        _write_xlsx(tables, target, lang)


def _write_xlsx(tables: dict[str, pd.DataFrame], target: Any, lang: str | None) -> None:
    with pd.ExcelWriter(target, engine="openpyxl") as xw:
        for name, df in tables.items():
            kinds = [column_kind(str(c)) for c in df.columns]
            if lang is None:
                floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
                sheet, shown = name[:31], _finite(df, floats)
            else:
                sheet, shown = sheet_label(name, lang=lang), people_table(df, lang=lang)
            shown.to_excel(xw, sheet_name=sheet, index=False)
            _format_sheet(xw.sheets[sheet], shown, kinds)


def people_csv(df: pd.DataFrame, *, lang: str) -> bytes:
    """``df`` as CSV for people: UTF-8 with a byte-order mark (so Excel in a Chinese Windows
    opens it as UTF-8), headers in ``lang`` with units, residents rounded to whole persons and
    shares in per cent (as the headers say)."""
    shown = people_table(df, lang=lang)
    for col, label in zip(df.columns, shown.columns, strict=True):
        kind = column_kind(str(col))
        if not pd.api.types.is_numeric_dtype(shown[label]):
            continue
        if kind == "share":
            shown[label] = (100 * shown[label].astype(float)).round(1)
        elif kind in ("people", "count"):
            shown[label] = shown[label].astype(float).round(0).astype("Int64")
    return shown.to_csv(index=False).encode("utf-8-sig")


def locate_sites(sites: Any, boundaries: Any) -> pd.DataFrame:
    """The township and village each site falls in (point in polygon on the boundaries'
    levels): a DataFrame indexed like ``sites`` with ``township`` and ``village`` names, ""
    where a site lies outside every unit of that level (or the boundaries lack the level)."""
    from .coverage import assign_admin

    out = pd.DataFrame({"township": "", "village": ""}, index=sites.index)
    if boundaries is None or not len(boundaries) or not len(sites):
        return out
    codes = assign_admin(sites, boundaries)
    for level in ("township", "village"):
        col = f"{level}_code"
        if col not in codes.columns:
            continue
        units = boundaries[boundaries["level"] == level]
        names = dict(
            zip(units["admin_code"].astype(str), units["admin_name"].astype(str), strict=True)
        )
        out[level] = [names.get(c, "") for c in codes[col]]
    return out
