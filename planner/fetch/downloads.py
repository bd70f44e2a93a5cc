"""The downloads of a fetch: the cache, resumable HTTP downloads, OpenStreetMap through osmnx (cached, with progress), WorldPop rasters and age/sex layers.

Part of :mod:`planner.fetch`, which re-exports the public names.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from .. import load
from .._errors import InputError
from .parts import (
    _OSM_HEALTH_TAGS,
    WORLDPOP_URLS,
    FetchError,
    age_sex_urls,
    osm_facilities,
    osm_units,
    read_boundary,
)

logger = logging.getLogger("planner.fetch")

# --- downloads (online) -----------------------------------------------------------------------


def cache_dir() -> Path:
    """Where downloads are kept: ``$PLANNER_CACHE`` or ``~/.cache/planner``."""
    return Path(os.environ.get("PLANNER_CACHE") or Path.home() / ".cache" / "planner")


def _host(url: str) -> str:
    m = re.match(r"^[a-z]+://([^/]+)", url)
    return m.group(1) if m else url


def download(
    url: str,
    dest: str | Path,
    *,
    what: str = "download",
    progress: bool = True,
    timeout_s: float = 30.0,
    chunk_bytes: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``dest`` once, resumably, with a progress bar.

    An existing ``dest`` is returned as it is (the cache). Bytes arrive in ``dest + ".part"``; a
    later call sends ``Range: bytes=<size of .part>-`` and appends, so an interrupted download
    continues where it stopped (a server that ignores the range sends the whole file, which then
    replaces the part). The file is renamed to ``dest`` only when complete.

    Raises
    ------
    FetchError
        The server cannot be reached or answers with an error, or the transfer breaks off (the
        ``.part`` file is kept for the next call).
    """
    import requests
    from tqdm.auto import tqdm

    dest = Path(dest)
    if dest.is_file():
        logger.info("%s: using the cached %s", what, dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    try:
        resp = requests.get(url, headers=headers, stream=True, timeout=timeout_s)
    except requests.RequestException as exc:
        raise FetchError(
            f"{what}: cannot reach {_host(url)} ({type(exc).__name__}; {url})."
        ) from None
    with resp:
        if resp.status_code == 416 and start:  # the part is already complete
            part.replace(dest)
            return dest
        if resp.status_code >= 400:
            raise FetchError(f"{what}: {url} answered HTTP {resp.status_code} {resp.reason}.")
        append = start > 0 and resp.status_code == 206
        if start and not append:
            logger.info(
                "%s: the server ignored the range request; downloading from the start", what
            )
            start = 0
        length = int(resp.headers.get("Content-Length") or 0)
        total = start + length if length else None
        try:
            with (
                open(part, "ab" if append else "wb") as fh,
                tqdm(
                    total=total,
                    initial=start,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=what,
                    disable=not progress,
                    leave=False,
                ) as bar,
            ):
                for chunk in resp.iter_content(chunk_size=chunk_bytes):
                    fh.write(chunk)
                    bar.update(len(chunk))
        except requests.RequestException as exc:
            raise FetchError(
                f"{what}: the download from {_host(url)} broke off ({exc}); "
                f"{part.stat().st_size:,} bytes are kept in {part}: run again to resume."
            ) from None
    got = part.stat().st_size
    if total is not None and got != total:
        raise FetchError(
            f"{what}: got {got:,} of {total:,} bytes from {_host(url)}; the part is kept in {part}: "
            "run again to resume."
        )
    part.replace(dest)
    return dest


def _probe(what: str, url: str, timeout_s: float = 5.0) -> None:
    """Fail fast when ``url``'s server cannot be reached (osmnx would wait 60 s for Overpass's
    status before failing)."""
    import requests

    try:
        requests.head(url, timeout=timeout_s, allow_redirects=False)
    except requests.RequestException as exc:
        raise FetchError(f"{what}: cannot reach {_host(url)} ({type(exc).__name__}).") from None


#: An osmnx log line that announces how many requests a download takes.
_OSM_REQUESTS = re.compile(r"Requesting data from API in (\d+) request")
#: osmnx log lines that end one request: a download or an answer from its cache.
_OSM_ANSWER = re.compile(r"^(Downloaded ([\d,.]+)kB|Retrieved response from cache)")


@contextlib.contextmanager
def _osm_session(what: str, *, progress: bool) -> Iterator[Any]:
    """osmnx set up for a fetch, put back afterwards: its HTTP cache in :func:`cache_dir`
    (``osm/``), so a broken or repeated fetch asks OpenStreetMap only for what it has not
    answered yet, and a progress bar counting the requests (osmnx announces how many a
    polygon takes and logs each answer; the bar follows those lines)."""
    import osmnx as ox
    from osmnx import utils as ox_utils
    from tqdm.auto import tqdm

    saved = (ox.settings.use_cache, ox.settings.cache_folder, ox_utils.log)
    folder = cache_dir() / "osm"
    folder.mkdir(parents=True, exist_ok=True)
    ox.settings.use_cache, ox.settings.cache_folder = True, str(folder)
    bar = tqdm(
        total=None,
        desc=f"OpenStreetMap {what}",
        unit="req",
        disable=not progress,
        leave=False,
        mininterval=0,  # a request takes seconds: show each one
    )
    received = [0.0]

    def log(message: str, *args: Any, **kwargs: Any) -> None:
        if m := _OSM_REQUESTS.search(message):
            bar.total = (bar.total or 0) + int(m.group(1))
            bar.refresh()
        elif m := _OSM_ANSWER.search(message):
            received[0] += float(m.group(2).replace(",", "")) if m.group(2) else 0.0
            bar.set_postfix_str(f"{received[0] / 1000:,.1f} MB", refresh=False)
            bar.update(1)
        saved[2](message, *args, **kwargs)

    ox_utils.log = log
    try:
        yield bar
    finally:
        ox.settings.use_cache, ox.settings.cache_folder, ox_utils.log = saved
        bar.close()


def _osm_call(
    what: str, func: Callable[[], Any], *, server: str = "overpass", progress: bool = True
) -> Any:
    """Run an osmnx call (:func:`_osm_session`: cached, with a progress bar), turning
    connection failures into a FetchError naming the server."""
    import osmnx as ox
    import requests

    _probe(what, ox.settings.nominatim_url if server == "nominatim" else ox.settings.overpass_url)
    try:
        with _osm_session(what, progress=progress):
            return func()
    except requests.RequestException as exc:
        host = (
            _host(str(getattr(exc.request, "url", "") or ""))
            if getattr(exc, "request", None)
            else "OpenStreetMap"
        )
        raise FetchError(f"{what}: cannot reach {host} ({type(exc).__name__}).") from None


def fetch_boundary(
    *, place: str | None = None, admin_code: str | None = None, progress: bool = True
) -> gpd.GeoDataFrame:
    """The OSM administrative relation of ``place`` (Nominatim) or of division code
    ``admin_code`` (``ref:admin:CN`` via Overpass), as :func:`read_boundary` returns it."""
    import osmnx as ox

    if place is not None:
        g = _osm_call(
            "boundary", lambda: ox.geocode_to_gdf(place), server="nominatim", progress=progress
        )
    else:
        import requests

        query = f'[out:json][timeout:60];relation["boundary"="administrative"]["ref:admin:CN"="{admin_code}"];out ids;'
        url = ox.settings.overpass_url.rstrip("/") + "/interpreter"
        try:
            resp = requests.post(url, data={"data": query}, timeout=ox.settings.requests_timeout)
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise FetchError(
                f"boundary: cannot reach {_host(url)} ({type(exc).__name__})."
            ) from None
        rels = [e["id"] for e in resp.json().get("elements", [])]
        if not rels:
            raise InputError(
                f"no OSM administrative relation has ref:admin:CN={admin_code}. Fix: pass place= "
                "(e.g. '莲池区, 保定市, 河北省') or boundary=FILE."
            )
        g = _osm_call(
            "boundary",
            lambda: ox.geocode_to_gdf(f"R{rels[0]}", by_osmid=True),
            server="nominatim",
            progress=progress,
        )
    return read_boundary(g.iloc[[0]], admin_code=admin_code)


def fetch_units(county: gpd.GeoDataFrame, *, progress: bool = True) -> gpd.GeoDataFrame:
    """The county with its townships from OSM (:func:`osm_units`)."""
    import osmnx as ox

    geom = shapely.union_all(county.geometry.to_numpy())
    feats = _osm_call(
        "townships",
        lambda: ox.features_from_polygon(
            geom, tags={"boundary": "administrative", "admin_level": "8"}
        ),
        progress=progress,
    )
    return osm_units(feats, county)


def fetch_roads(area: shapely.Geometry, *, progress: bool = True) -> gpd.GeoDataFrame:
    """Every road of OSM in ``area`` (osmnx ``network_type="all"``), as read_roads returns them."""
    return _osm_call(
        "roads",
        lambda: load.download_roads(polygon=area, network_type="all"),
        progress=progress,
    )


def fetch_facilities(area: shapely.Geometry, *, progress: bool = True) -> gpd.GeoDataFrame:
    """Health facilities of OSM in ``area`` (:func:`osm_facilities` of the features)."""
    import osmnx as ox

    feats = _osm_call(
        "facilities",
        lambda: ox.features_from_polygon(area, tags=_OSM_HEALTH_TAGS),
        progress=progress,
    )
    return osm_facilities(feats)


def fetch_population(
    area: shapely.Geometry,
    *,
    year: int = 2020,
    resolution: str = "100m",
    iso3: str = "CHN",
    url: str | None = None,
    progress: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """The WorldPop raster covering ``area``, downloaded once into :func:`cache_dir`."""
    if url is None:
        if resolution not in WORLDPOP_URLS:
            raise InputError(
                f"resolution={resolution!r}. Fix: use one of {', '.join(WORLDPOP_URLS)}."
            )
        url = WORLDPOP_URLS[resolution].format(year=int(year), iso=iso3.lower(), ISO=iso3.upper())
    dest = cache_dir() / "worldpop" / url.rsplit("/", 1)[-1]
    path = download(
        url, dest, what=f"WorldPop {iso3.upper()} {year} {resolution}", progress=progress
    )
    return path, {
        "source": "WorldPop (www.worldpop.org), CC BY 4.0",
        "year": int(year),
        "resolution": resolution,
        "url": url,
        "cache": str(path),
    }


def fetch_population_groups(
    groups: Sequence[str],
    *,
    year: int = 2020,
    iso3: str = "CHN",
    progress: bool = True,
    keep_going: bool = False,
) -> tuple[dict[str, list[Path]], dict[str, Any]]:
    """WorldPop's age/sex layers of each group (:func:`age_sex_urls`), downloaded once into
    :func:`cache_dir`; returns ``{group: files}`` and what to record in ``sources.json``.

    Each layer is its own resumable download (:func:`download`): layers already in the cache
    are not fetched again, so a run that broke off continues with the layer it stopped at.
    With ``keep_going`` a group whose layer cannot be downloaded is left out of ``files`` and
    named, with the reason, under ``"missing"`` of the record; the other groups go on.
    Otherwise the first failure raises.

    Raises
    ------
    FetchError
        A layer cannot be downloaded (without ``keep_going``).
    """
    urls = {g: age_sex_urls(g, year=year, iso3=iso3) for g in groups}  # bad groups fail first
    n_all = sum(len(u) for u in urls.values())
    files: dict[str, list[Path]] = {}
    missing: dict[str, str] = {}
    done = 0
    for g, group_urls in urls.items():
        got: list[Path] = []
        try:
            for url in group_urls:
                name = url.rsplit("/", 1)[-1]
                done += 1
                logger.info("population group %s: layer %d of %d (%s)", g, done, n_all, name)
                got.append(
                    download(
                        url,
                        cache_dir() / "worldpop" / "agesex" / name,
                        what=f"WorldPop {g} {done}/{n_all} {name}",
                        progress=progress,
                    )
                )
        except FetchError as exc:
            if not keep_going:
                raise
            missing[g] = str(exc)
            done += len(group_urls) - len(got) - 1
            logger.warning("population group %s not downloaded: %s", g, exc)
            continue
        files[g] = got
    info: dict[str, Any] = {
        "source": "WorldPop age and sex structures (www.worldpop.org), CC BY 4.0",
        "year": int(year),
        "groups": {g: [p.name for p in f] for g, f in files.items()},
        "summed": "both sexes, the group's age bands",
    }
    if missing:
        info["missing"] = missing
    return files, info
