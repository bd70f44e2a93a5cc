"""The app's settings of one upload: its coordinate system and, when needed, its columns.

:func:`inspect_upload` (plain Python) says what a stored upload holds: the coordinate system
the file names (:func:`~planner.app.uploads_crs.file_crs`), a sample of its rows, the app's
guess of each needed column and which needed ones are missing, and a GCJ-02/BD-09 hint.
:func:`draw_upload_settings` draws that in Streamlit (imported lazily): a coordinate-system
choice whose default is the file's own, a warning with a button that converts when the file
looks like GCJ-02 or BD-09, and a column-mapping step (the first rows and a choice per
column) opened by itself when a needed column is missing. :func:`upload_options` reads the
widgets back as :class:`~planner.app.uploads_columns.UploadOptions` for
:func:`~planner.app.uploads_columns.prepare_upload`.

Widget keys carry a digest of the stored path, so a new file starts from its own defaults.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import _validate
from .uploads_columns import (
    DIRECTION_CHOICES,
    FIELDS,
    PREVIEW_ROWS,
    UploadOptions,
    direction_map,
    direction_values,
    guess_columns,
    is_population_table,
    missing_fields,
    read_sample,
    unrecognised_fields,
)
from .uploads_crs import CRS_CHOICES, FileCrs, UploadProblem, crs_argument, file_crs, web_map_hint

_SYSTEM_LABEL = {"gcj02": "GCJ-02", "bd09": "BD-09"}


@dataclass(frozen=True)
class Inspection:
    """What a stored upload holds (see the module notes). ``fields_kind`` is the key of
    :data:`~planner.app.uploads_columns.FIELDS` that applies (``population_table`` for a
    table of residents per administrative code; ``""`` for rasters and OSM files)."""

    kind: str
    fields_kind: str
    filename: str
    path: Path
    file: FileCrs
    sample: pd.DataFrame
    has_geometry: bool
    guesses: dict[str, str]
    missing: tuple[str, ...]
    hint: tuple[str, str]

    @property
    def key(self) -> str:
        """Suffix of this upload's widget keys."""
        digest = hashlib.sha256(str(self.path).encode()).hexdigest()[:10]
        return f"{self.kind}_{digest}"


def inspect_upload(kind: str, path: str | Path, filename: str) -> Inspection:
    """What the upload ``filename`` stored at ``path`` holds (reads a sample, not the file).

    Raises
    ------
    UploadProblem
        The file cannot be read.
    """
    p = Path(path)
    info = file_crs(p)
    sample, has_geometry = read_sample(p)
    if info.origin in ("raster", "osm"):
        fields_kind = ""
    elif kind == "population" and is_population_table(sample, has_geometry):
        fields_kind = "population_table"
    else:
        fields_kind = kind
    guesses = guess_columns(fields_kind, sample) if fields_kind else {}
    missing = missing_fields(fields_kind, guesses, has_geometry=has_geometry) if fields_kind else []
    hint = ("", "") if info.projected else web_map_hint(filename, p, list(sample.columns))
    return Inspection(
        kind=kind,
        fields_kind=fields_kind,
        filename=filename,
        path=p,
        file=info,
        sample=sample,
        has_geometry=has_geometry,
        guesses=guesses,
        missing=tuple(missing),
        hint=hint,
    )


def crs_widget_key(insp: Inspection) -> str:
    return f"w_crs_{insp.key}"


def upload_options(insp: Inspection, state: MutableMapping[Any, Any]) -> UploadOptions:
    """The options chosen in the widgets of ``insp`` (defaults for widgets not drawn): the
    coordinate system, the columns that are missing or differ from the guess, the one-way
    codes' readings.

    Raises
    ------
    UploadProblem
        A bad EPSG code (``crs_bad_epsg``); a needed column not chosen (``need_columns``).
    """
    choice = state.get(crs_widget_key(insp), "file")
    crs = crs_argument(choice, state.get(f"w_epsg_{insp.key}", ""))
    columns: dict[str, str] = {}
    if insp.fields_kind:
        for f in FIELDS[insp.fields_kind]:
            chosen = state.get(f"w_col_{insp.key}_{f.key}", insp.guesses.get(f.key, ""))
            # passed unless the reader finds it by itself: the guess, under one of its names
            by_name = chosen.lower() in {n.lower() for n in f.names}
            if chosen and (chosen != insp.guesses.get(f.key) or not by_name):
                columns[f.key] = chosen
        still = missing_fields(
            insp.fields_kind,
            {**insp.guesses, **columns},
            has_geometry=insp.has_geometry,
        )
        if still:
            raise UploadProblem(
                f"{insp.filename}: choose the columns {', '.join(still)}.",
                key="need_columns",
                file=insp.filename,
                fields=", ".join(still),
            )
    dmap = None
    if insp.fields_kind == "roads":
        col = columns.get("direction") or insp.guesses.get("direction", "")
        codes = direction_values(insp.path, col) if col else []
        dmap = direction_map({v: state.get(f"w_dir_{insp.key}_{v}", "auto") for v in codes})
    return UploadOptions(crs=crs, columns=columns, direction_map=dmap)


def points_gcj02(roads: Any, points: Any) -> dict[str, float] | None:
    """The distances of :func:`planner._validate.looks_like_gcj02` when points read as WGS-84
    look like GCJ-02 (undoing the offset brings them much closer to the roads), else None."""
    return _validate.looks_like_gcj02(roads, points)


# ---------------------------------------------------------------------------------------------
# Drawing (Streamlit)
# ---------------------------------------------------------------------------------------------


def _crs_caption(info: FileCrs, T: Callable[..., str]) -> str:
    label = info.label
    if info.crs and not info.crs.upper().startswith("EPSG:"):
        label = T("crs_custom", name=info.label)
    if info.origin in ("geojson_default", "osm", "table", "none"):
        return T(f"crs_found_{info.origin}")
    return T(f"crs_found_{info.origin}", crs=label)


def _crs_label(info: FileCrs, T: Callable[..., str]) -> Callable[[str], str]:
    def fmt(v: str) -> str:
        if v == "file":
            if info.origin == "table":
                return T("crs_file_table")
            return T("crs_file", crs=info.label) if info.label else T("crs_file_none")
        return T(f"crs_{v}")

    return fmt


def _set_crs(state: MutableMapping[Any, Any], key: str, value: str) -> None:
    state[key] = value


def _draw_crs(insp: Inspection, state: MutableMapping[Any, Any], T: Callable[..., str]) -> None:
    import streamlit as st

    st.caption(_crs_caption(insp.file, T))
    if insp.file.origin == "osm":
        return
    key = crs_widget_key(insp)
    st.selectbox(
        T("crs_choice"),
        list(CRS_CHOICES),
        key=key,
        format_func=_crs_label(insp.file, T),
    )
    if state.get(key) == "epsg":
        st.text_input(T("crs_epsg_code"), key=f"w_epsg_{insp.key}")
    system, where = insp.hint
    if system and state.get(key) in ("file", "wgs84"):
        st.warning(T("looks_web_map", where=where, system=_SYSTEM_LABEL[system]))
        st.button(
            T("convert_web_map", system=_SYSTEM_LABEL[system]),
            key=f"btn_conv_{insp.key}",
            on_click=_set_crs,
            args=(state, key, system),
        )
    elif state.get(key) in _SYSTEM_LABEL:
        st.caption(T("converted_web_map", system=_SYSTEM_LABEL[state[key]]))


def _draw_columns(insp: Inspection, state: MutableMapping[Any, Any], T: Callable[..., str]) -> None:
    import streamlit as st

    st.markdown(f"**{T('map_columns')}**")
    optional = unrecognised_fields(insp.fields_kind, insp.guesses)
    if insp.missing:
        st.warning(
            T("map_columns_missing", fields=", ".join(T(f"field_{k}") for k in insp.missing))
        )
    elif optional:
        st.info(T(f"map_columns_optional_{optional[0]}"))
    else:
        st.caption(T("map_columns_ok"))
    st.caption(T("preview_rows", n=PREVIEW_ROWS))
    st.dataframe(insp.sample.head(PREVIEW_ROWS), hide_index=True, height=210)
    columns = ["", *(str(c) for c in insp.sample.columns)]
    for f in FIELDS[insp.fields_kind]:
        if f.key in ("lon", "lat") and insp.has_geometry:
            continue
        key = f"w_col_{insp.key}_{f.key}"
        state.setdefault(key, insp.guesses.get(f.key, ""))
        st.selectbox(
            T(f"field_{f.key}"),
            columns,
            key=key,
            format_func=lambda v: v or T("col_none"),
        )
    if insp.fields_kind == "roads" and state.get(f"w_col_{insp.key}_direction"):
        for v in direction_values(insp.path, state[f"w_col_{insp.key}_direction"]):
            st.selectbox(
                T("direction_codes", value=v),
                list(DIRECTION_CHOICES),
                key=f"w_dir_{insp.key}_{v}",
                format_func=lambda c: T(f"dir_{c}"),
            )


def draw_upload_settings(
    insp: Inspection, state: MutableMapping[Any, Any], T: Callable[..., str]
) -> None:
    """An expander with the coordinate system of ``insp`` and, for files with columns, the
    column-mapping step; opened by itself when a column is missing or a hint is shown."""
    import streamlit as st

    state.setdefault(crs_widget_key(insp), "file")
    opened = bool(
        insp.missing or insp.hint[0] or unrecognised_fields(insp.fields_kind, insp.guesses)
    )
    with st.expander(T("upl_settings", file=insp.filename), expanded=opened):
        _draw_crs(insp, state, T)
        if insp.fields_kind:
            _draw_columns(insp, state, T)


def upload_widget_keys(state: MutableMapping[Any, Any]) -> list[str]:
    """The keys of the upload widgets whose option labels are translated (set again after a
    language switch, as the app does for its other such widgets)."""
    prefixes = ("w_crs_", "w_col_", "w_dir_", "w_typed_crs")
    return [k for k in list(state.keys()) if str(k).startswith(prefixes)]
