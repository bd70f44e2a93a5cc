"""The app's computations and their progress: what the page calls and caches per server.

- :func:`cached_dataset`, :func:`cached_network`, :func:`cached_times`, :func:`cached_result`,
  :func:`cached_bands`, :func:`cached_standards`, :func:`cached_payload`, :func:`cached_whatif`:
  ``st.cache_resource`` functions keyed by the data key tuple (:func:`planner.app.data_key`),
  :class:`planner.pipeline.CoverageSettings` and small values; ``_progress`` is never hashed.
  The times are computed once per data set, mode and tier set (at :data:`TIMES_MINUTES`); any
  other threshold and study area is a filter on them;
- :func:`prefetch_modes` computes the other modes' times in the background after the first view;
- :class:`Progress` runs a step in a worker thread and shows one ``st.status`` box only when
  something is computed; :func:`guard` shows errors in the user's words (the traceback goes to
  the log);
- :func:`cached_upload`, :func:`upload_root`, :func:`pruned_autosaves`: per-server state of the
  uploads and the autosaved scenarios.

Example (inside ``streamlit run app.py``)::

    from planner.app import compute
    result = compute.cached_result(aps.data_key(sc), aps.coverage_settings(sc))
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import planner
from planner import app as aps
from planner import i18n
from planner.app import _speed as app_speed
from planner.pipeline import CoverageSettings
from planner.scenario import Scenario

log = logging.getLogger("planner.app")  # the app's logger (the name app.py has always used)


def T(key: str, **kw: Any) -> str:
    """The text ``key`` in the session's language (the language widget's value)."""
    return i18n.Translator(st.session_state.lang)(key, **kw)


@st.cache_resource(show_spinner=False)
def pruned_autosaves() -> int:
    """Once per server: forget the working scenarios of sessions unused for 30 days."""
    return aps.prune_autosaves(days=30)


@st.cache_resource(show_spinner=False)
def upload_root() -> Path:
    """Where this server writes uploaded files (content-addressed, see aps.store_upload)."""
    return Path(tempfile.mkdtemp(prefix="planner-uploads-"))


@contextmanager
def guard(what: str, where: Any = None) -> Iterator[None]:
    """Show planner's errors as they are, anything else as a friendly error with a one-line detail.

    The traceback goes to the log (never to the page); Streamlit's own control flow
    (``st.stop``, ``st.rerun``: BaseExceptions) passes through.
    """
    target = where if where is not None else st
    try:
        yield
    except planner.PlannerError as exc:
        log.info("%s: %s", what, exc)
        target.error(T("error_where", what=what, message=str(exc)))
    except Exception as exc:  # noqa: BLE001 - the app must never crash
        log.exception("%s failed", what)  # the traceback, for the maintainers
        target.error(T("error_generic"))
        with target.expander(T("error_details")):
            st.code(f"{what}: {type(exc).__name__}: {exc}", language=None)


@st.cache_resource(show_spinner=False)
def worker_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="planner-work")


class Progress:
    """One ``st.status`` box for the long steps of a run, created only if something is
    actually computed (cache hits show nothing). Each step runs in a worker thread and reports
    ``(stage, fraction)`` through a queue, so cached functions never touch Streamlit."""

    def __init__(self, container: Any) -> None:
        self.container = container
        self.status: Any = None
        self.bar: Any = None
        self.t0 = time.perf_counter()
        self.steps: list[str] = []

    def run(self, label: str, fn: Callable[..., Any], *args: Any) -> Any:
        q: queue.SimpleQueue = queue.SimpleQueue()
        fut = worker_pool().submit(fn, *args, _progress=lambda stage, frac: q.put((stage, frac)))
        while True:
            done = bool(wait([fut], timeout=0.05)[0])  # returns at once when the step is done
            while not q.empty():
                stage, frac = q.get()
                if self.status is None:
                    self.status = self.container.status(label, expanded=True)
                    self.bar = self.status.progress(0.0)
                if label not in self.steps:
                    self.steps.append(label)
                    self.status.update(label=label)
                    self.status.write(label)
                self.bar.progress(min(max(float(frac), 0.0), 1.0), text=f"{label} · {stage}")
            if done:
                break
        try:
            return fut.result()
        except BaseException:
            if self.status is not None:
                self.status.update(state="error", expanded=True)
            raise

    def finish(self) -> None:
        if self.status is not None:
            self.status.update(
                label=T(
                    "done_in", what=" · ".join(self.steps), seconds=time.perf_counter() - self.t0
                ),
                state="complete",
                expanded=False,
            )


# ---------------------------------------------------------------------------------------------
# Cached computations (keys: data key tuple, CoverageSettings, small values)
# ---------------------------------------------------------------------------------------------


def _note(progress: Callable | None, stage: str, frac: float) -> None:
    if progress is not None:
        progress(stage, frac)


def _scenario_of(key: tuple[str, ...]) -> Scenario:
    d, r, f, p, b, crs = key
    return Scenario(
        data_dir=d, roads=r, facilities=f, population=p, boundaries=b, facilities_crs=crs
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_dataset(key: tuple[str, ...], _progress: Callable | None = None) -> planner.Dataset:
    _note(_progress, "files", 0.0)
    ds = aps.load_data(_scenario_of(key))
    _note(_progress, "files", 1.0)
    return ds


@st.cache_resource(show_spinner=False, max_entries=12)
def cached_network(
    key: tuple[str, ...], mode: str, options: tuple, _progress: Callable | None = None
) -> planner.Network:
    ds = cached_dataset(key, _progress=_progress)
    opts = dict(options)
    graph = app_speed.topology_options(opts)
    if graph != opts:  # another speed or access distance: the same graph, new edge times (ms)
        base = cached_network(key, mode, tuple(sorted(graph.items())), _progress=_progress)
        tm = app_speed.network_mode(mode, opts)
        return app_speed.retimed_network(base, ds.roads, tm, urban_area=ds.urban_area())
    _note(_progress, "network", 0.0)
    return planner.build_network(ds.roads, mode, urban_area=ds.urban_area(), **opts)


#: The times to the nearest facility are computed once per data set, mode and tier set (at this
#: threshold); any other threshold is a filter on them (aps.at_minutes: no new search).
TIMES_MINUTES = 15.0
#: A study area: (admin codes picked, corners of a clicked boundary); () = the whole county.
Area = tuple[tuple[str, ...], tuple[tuple[float, float], ...]]
NO_AREA: Area = ((), ())
NO_EDITS = aps.FacilityEdits()


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_times(
    key: tuple[str, ...], settings: CoverageSettings, _progress: Callable | None = None
) -> planner.CoverageResult:
    """The analysis (the one nearest-facility search) for a data set, mode and tier set."""
    ds = cached_dataset(key, _progress=_progress)
    if settings.tiers:  # other tiers: the default set's analysis gives the demand's join
        base = cached_times(key, dataclasses.replace(settings, tiers=()), _progress=_progress)
        _note(_progress, "travel times", 0.0)
        return aps.edited_result(ds, base, NO_EDITS, tiers=settings.tiers)
    net = cached_network(
        key, settings.mode, tuple(sorted(settings.mode_options().items())), _progress=_progress
    )
    result = planner.analyze(
        ds,
        mode=settings.mode,
        minutes=settings.minutes,
        tiers=settings.tiers or None,
        isochrone_minutes=None,
        network=net,
        progress=_progress,
        **settings.mode_options(),
    )
    if result.demand is not None and len(result.facilities):
        # warm up in the background, not on the first view's path: the first evaluation loads
        # the compiled kernels and joins the demand to the network, so that the first click on
        # the map answers as fast as the next ones
        worker_pool().submit(_warm_up, ds, result)
    return result


def _warm_up(ds: planner.Dataset, result: planner.CoverageResult) -> None:
    f = result.facilities.iloc[:1]
    try:
        aps.what_if(
            ds,
            result,
            ((float(f.geometry.x.iloc[0]), float(f.geometry.y.iloc[0]), "community_station"),),
            standards_before=pd.DataFrame(columns=["rule"]),
            summary_before=pd.DataFrame(columns=["rule"]),
        )
    except Exception:  # noqa: BLE001 - only a warm-up: the first click reports any error
        log.exception("what-if warm-up failed")


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_result(
    key: tuple[str, ...],
    settings: CoverageSettings,
    _progress: Callable | None = None,
    area: Area = NO_AREA,
) -> planner.CoverageResult:
    """The result at ``settings.minutes`` (a filter on the times), in the study ``area``."""
    times = cached_times(
        key, dataclasses.replace(settings, minutes=TIMES_MINUTES), _progress=_progress
    )
    result = aps.at_minutes(times, settings.minutes)
    codes, corners = area
    if codes or corners:
        poly = aps.polygon_from_clicks(corners) if corners else None
        result = aps.restrict(result, admin_codes=codes, polygon=poly)
    return result


@st.cache_resource(show_spinner=False, max_entries=16)
def cached_bands(
    key: tuple[str, ...], settings: CoverageSettings, _progress: Callable | None = None
):
    result = cached_result(key, settings, _progress=_progress)
    _note(_progress, "isochrones", 0.0)
    return aps.coverage_bands(result, aps.band_levels(settings.minutes))


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_standards(
    key: tuple[str, ...], settings: CoverageSettings, area: Area = NO_AREA
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds, result = cached_dataset(key), cached_result(key, settings, area=area)
    units = aps.standards_units(ds, result)
    return units, aps.standards_summary(units, ds, result)


@st.cache_resource(show_spinner=False, max_entries=12)
def cached_payload(
    key: tuple[str, ...],
    settings: CoverageSettings,
    lang: str,
    basemap: str | None,
    tianditu_key: str = "",
    _progress: Callable | None = None,
) -> aps.MapPayload:
    ds, result = cached_dataset(key), cached_result(key, settings)
    bands = cached_bands(key, settings, _progress=_progress)
    _note(_progress, "map", 0.5)
    m = aps.base_map(ds, result, bands, lang=lang, basemap=basemap, tianditu_key=tianditu_key)
    payload = aps.map_payload(m)
    drawn_maps().add((key, settings, lang, basemap, tianditu_key))
    return payload


@st.cache_resource(show_spinner=False, max_entries=8)
def prefetched(key: tuple[str, ...], settings: CoverageSettings) -> bool:
    """Once per server, data set and settings: the times of the other modes, computed in the
    background, so that a switch of mode answers from them (no network, no search)."""
    for mode in aps.MODES:
        if mode != settings.mode:
            other = dataclasses.replace(
                settings, mode=mode, minutes=TIMES_MINUTES, speed_kmh=None, access_max_m=None
            )
            worker_pool().submit(cached_times, key, other)
    return True


def prefetch_modes(key: tuple[str, ...], settings: CoverageSettings) -> None:
    """After the first view is drawn: the other modes' times (see :func:`prefetched`)."""
    if settings.speed_kmh is None and settings.access_max_m is None:
        prefetched(key, dataclasses.replace(settings, minutes=TIMES_MINUTES))


@st.cache_resource(show_spinner=False)
def drawn_maps() -> set:
    """The base maps this server has drawn (their arguments): a settings change shows the
    new map at once when it is drawn already, else when asked (drawing takes seconds)."""
    return set()


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_whatif(
    key: tuple[str, ...],
    settings: CoverageSettings,
    proposed: tuple[tuple[float, float, str], ...],
    edits: aps.FacilityEdits = NO_EDITS,
    area: Area = NO_AREA,
) -> aps.WhatIf | None:
    ds, result = cached_dataset(key), cached_result(key, settings, area=area)
    if not (proposed or edits) or result.demand is None:
        return None
    units, summary = cached_standards(key, settings, area)
    return aps.what_if(
        ds, result, proposed, edits=edits, standards_before=units, summary_before=summary
    )


@st.cache_data(show_spinner=False, max_entries=8)
def cached_cost_columns(path: str) -> list[str]:
    return aps.numeric_columns(path)


@st.cache_resource(show_spinner=False, max_entries=16)
def cached_upload(kind: str, name: str, file_id: str, _data: Any) -> aps.Inspection:
    """The stored upload and what it holds, once per uploaded file (not on every rerun)."""
    path = aps.store_upload(kind, name, _data.getvalue(), upload_root())
    return aps.inspect_upload(kind, path, name)
