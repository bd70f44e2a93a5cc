"""Printed maps for a report to officials: PDF or PNG, A4/A3, with title, legend and scale.

:func:`print_map` draws one :class:`~planner.pipeline.CoverageResult` as a planning bureau prints
it: a Chinese title, the county and township outlines with township names, the roads by class in
quiet greys, the isochrone bands (whole minutes), the uncovered residents in fixed classes (人),
the facilities by tier, a legend (图例), a north arrow (指北针), a metric scale bar and a numeric
scale (比例尺), the coordinate system, data sources and the date (制图日期), and the synthetic-data
label on the demo. The map is drawn in the area's UTM zone at a round scale (1:50,000,
1:100,000, ...), so the scale bar and the numeric scale are true on paper at 100 % print size.

Text needs a CJK font: the first of the usual ones found by matplotlib (WenQuanYi Micro Hei from
Debian's ``fonts-wqy-microhei``, Noto Sans CJK, Source Han Sans, SimHei, Microsoft YaHei,
PingFang, ...). Without one the map is drawn with English labels (a warning says so), never with
empty boxes for the missing characters.

>>> import planner
>>> from planner.printmap import print_map
>>> result = planner.analyze(planner.load_demo())          # doctest: +SKIP
>>> print_map(result, "map.pdf", paper="A3")               # doctest: +SKIP
PosixPath('map.pdf')
>>> png = print_map(result, None, format="png", dpi=150)   # bytes, e.g. for a download button  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import io
import logging
import math
import os
import re
import tempfile
import time
import warnings
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from . import __version__, standards
from ._errors import InputError, PlannerWarning
from .maps import UNCOVERED_BREAKS as _web_breaks
from .maps import UNCOVERED_COLORS as _web_colors

log = logging.getLogger(__name__)

#: Paper sizes in millimetres (portrait width, height), ISO 216.
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS = ("landscape", "portrait")
FORMATS = ("pdf", "png")

#: Fixed classes of uncovered residents per area (人), lower bounds, inclusive: the classes and
#: colours of every map planner draws (:data:`planner.maps.UNCOVERED_BREAKS`), so the printed map,
#: the app and the HTML reports compare by colour.
UNCOVERED_BREAKS: tuple[float, ...] = (0.0, *map(float, _web_breaks))
UNCOVERED_COLORS: tuple[str, ...] = _web_colors

#: CJK fonts tried in this order (family names as matplotlib's font manager knows them).
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "STHeiti",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
)

#: Facility symbols by tier: (marker, face colour, size in points at A4).
_TIER_STYLE: dict[str, tuple[str, str, float]] = {
    "hospital": ("P", "#b2182b", 8.5),
    "township_center": ("s", "#2166ac", 5.5),
    "community_center": ("D", "#762a83", 5.0),
    "community_station": ("^", "#d9730d", 5.0),
    "family_doctor_point": ("v", "#35978f", 4.0),
    "village_clinic": ("o", "#404040", 2.6),
    "other": ("X", "#7f7f7f", 4.0),
}
#: Tiers from the strongest (legend first, drawn on top) to the weakest.
_TIER_ORDER = (
    "hospital",
    "township_center",
    "community_center",
    "community_station",
    "family_doctor_point",
    "village_clinic",
    "other",
)
_PROPOSED_STYLE = ("*", "#e7298a", 11.0)

#: Road classes in groups drawn from quiet to strong grey: (label zh, label en, colour, width pt).
_ROAD_GROUPS: tuple[tuple[tuple[str, ...], str, str, str, float], ...] = (
    (
        ("motorway", "motorway_link", "trunk", "trunk_link"),
        "高速公路、干线公路",
        "Motorway, trunk road",
        "#6b6b6b",
        1.5,
    ),
    (("primary", "primary_link"), "主要道路", "Primary road", "#7d7d7d", 1.15),
    (("secondary", "secondary_link"), "次要道路", "Secondary road", "#939393", 0.85),
    (("tertiary", "tertiary_link"), "县乡道路", "Tertiary road", "#a8a8a8", 0.6),
    ((), "其他道路", "Other road", "#c2c2c2", 0.35),
)

_BAND_COLORS = ("#238b45", "#74c476", "#b5e0ab", "#e2f3dc")

_TEXT = {
    "legend": ("图例", "Legend"),
    "north": ("指北针", "North arrow"),
    "scale": ("比例尺", "Scale"),
    "km": ("公里", "km"),
    "m": ("米", "m"),
    "facilities": ("医疗卫生机构", "Health facilities"),
    "proposed": ("拟新建站点", "Proposed site"),
    "bands": ("{mode}可达范围", "Travel time ({mode})"),
    "uncovered": ("{minutes}分钟外居住人口（人）", "Residents beyond {minutes} min (persons)"),
    "roads": ("道路", "Roads"),
    "admin": ("行政边界", "Boundaries"),
    "county": ("县（区）界", "County boundary"),
    "township": ("乡镇（街道）界", "Township boundary"),
    "minutes_le": ("{b} 分钟以内", "within {b} min"),
    "minutes_band": ("{a}–{b} 分钟", "{a}–{b} min"),
    "synthetic": ("合成示范数据 SYNTHETIC DEMO DATA", "SYNTHETIC DEMO DATA"),
    "synthetic_note": (
        "虚构县，仅供演示，不能用于实际规划",
        "a made-up county, for demonstration only",
    ),
    "date": ("制图日期：{d.year}年{d.month}月{d.day}日", "Date: {d:%Y-%m-%d}"),
    "sources": ("数据来源：{s}", "Data sources: {s}"),
    "crs": ("坐标系：{c}", "Coordinate system: {c}"),
    "maker": ("制图：planner {v}", "Made with planner {v}"),
    "settings": (
        "分析设置：{mode}，服务圈 {minutes} 分钟，计入{tiers}",
        "Settings: {mode}, {minutes}-minute threshold, counting {tiers}",
    ),
    "headline": (
        "{minutes}分钟内覆盖 {cov:,.0f} 人，占常住人口 {share:.1f}%；未覆盖 {unc:,.0f} 人（总人口 {tot:,.0f} 人）",
        "{cov:,.0f} of {tot:,.0f} residents ({share:.1f} %) within {minutes} min; {unc:,.0f} beyond",
    ),
    "all_tiers": ("全部基层医疗卫生机构和医院", "all primary-care tiers and hospitals"),
    "disclaimer": (
        "注：行政边界仅供分析参考，不作为权属界线依据。",
        "Boundaries are for analysis only, not authoritative.",
    ),
    "synthetic_sources": (
        "planner 合成示范数据（道路、人口、医疗机构、行政区划均为生成数据）",
        "planner synthetic demo data (roads, residents, facilities and boundaries are generated)",
    ),
    "title": (
        "{place} {minutes}分钟{mode}医疗服务圈覆盖分析",
        "{place}: {minutes}-minute {mode} access to primary health care",
    ),
}
_MODE = {
    "walk": ("步行", "walking"),
    "ebike": ("电动自行车", "e-bike"),
    "drive": ("驾车", "driving"),
}
_SOURCE_KIND = {
    "roads": ("道路", "roads"),
    "facilities": ("医疗机构", "facilities"),
    "population": ("人口", "population"),
    "boundaries": ("行政区划", "boundaries"),
}

_CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef\uf900-\ufaff]")


class PrintMapWarning(PlannerWarning):
    """The map was drawn, but not as asked (e.g. English labels for want of a CJK font)."""


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """The family name of a font on this system that draws Chinese, or ``None``.

    The fonts of :data:`CJK_FONTS` are tried in order; a font counts only if it holds the
    glyphs the map uses (checked in the font file, not guessed from its name).
    """
    from matplotlib import font_manager, ft2font

    by_name: dict[str, list[str]] = {}
    for f in font_manager.fontManager.ttflist:
        by_name.setdefault(f.name, []).append(f.fname)
    names = [n for n in CJK_FONTS if n in by_name]
    # any other font whose name says CJK (a system with an unusual font still gets Chinese)
    names += sorted(
        n for n in by_name if n not in names and re.search(r"CJK|Hei|Song|Kai|Ming|YaHei|SC$", n)
    )
    for name in names:
        for path in by_name[name]:
            try:
                font = ft2font.FT2Font(path)
                if all(font.get_char_index(ord(c)) for c in "图例指北针比例尺县镇"):
                    return name
            except (OSError, RuntimeError, ValueError):  # unreadable font file: try the next one
                continue
    return None


_BOLD = ["bold"]


@functools.lru_cache(maxsize=8)
def _has_bold(family: str) -> bool:
    from matplotlib import font_manager

    def weight(w: Any) -> int:
        w = font_manager.weight_dict.get(w, 400) if isinstance(w, str) else w
        return int(w)

    return any(
        f.name == family and weight(f.weight) >= 600 for f in font_manager.fontManager.ttflist
    )


def _check_options(paper: str, orientation: str, dpi: float) -> str:
    key = str(paper).upper()
    problems = []
    if key not in PAPER_MM:
        problems.append(f"paper must be one of {', '.join(PAPER_MM)}, got {paper!r}")
    if orientation not in ORIENTATIONS:
        problems.append(f"orientation must be 'landscape' or 'portrait', got {orientation!r}")
    if not (isinstance(dpi, int | float) and 30 <= dpi <= 1200):
        problems.append(f"dpi must be a number from 30 to 1200, got {dpi!r}")
    if problems:
        raise InputError("; ".join(problems) + ".")
    return key


def map_format(path_or_buffer: Any, format: str | None = None) -> str:
    """The file format ('pdf' or 'png') of a map written to ``path_or_buffer``.

    From ``format`` when given, else from the path's suffix; a buffer or ``None`` without
    ``format`` gets PDF. Raises :class:`~planner.InputError` naming the suffix otherwise.
    """
    if format is not None:
        fmt = str(format).lower().lstrip(".")
        if fmt not in FORMATS:
            raise InputError(f"format must be 'pdf' or 'png', got {format!r}.")
        return fmt
    if isinstance(path_or_buffer, str | os.PathLike):
        suffix = Path(path_or_buffer).suffix.lower()
        if suffix.lstrip(".") not in FORMATS:
            raise InputError(
                f"path_or_buffer {str(path_or_buffer)!r}: a map is written as PDF or PNG, not "
                f"{suffix or 'a file without a suffix'!r}. Fix: name a .pdf or .png file (or pass format=)."
            )
        return suffix.lstrip(".")
    return "pdf"


def print_map(
    result: Any,
    path_or_buffer: str | os.PathLike | IO[bytes] | None,
    *,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: float = 300,
    title: str | None = None,
    lang: str = "zh",
    proposals: gpd.GeoDataFrame | None = None,
    format: str | None = None,
    sources: str | Mapping[str, str] | None = None,
    date: _dt.date | None = None,
) -> Path | IO[bytes] | bytes:
    """Print a coverage map to a PDF or PNG file (or buffer, or bytes).

    Parameters
    ----------
    result : CoverageResult
        From :func:`planner.analyze`; its isochrones are drawn when it has them.
    path_or_buffer : path, binary file object or None
        A ``.pdf`` or ``.png`` path (written atomically: a temporary file renamed into place,
        so a failure never leaves half a map), a writable binary buffer, or ``None`` to get
        the file's bytes back (for a download button).
    paper, orientation : "A4" or "A3"; "landscape" or "portrait"
        The page. A PDF page is exactly the paper size; a PNG has ``paper * dpi`` pixels.
    dpi : float
        Resolution of a PNG (and of the few raster parts of a PDF); 300 for print.
    title : str, optional
        Default: "<county> 15分钟步行医疗服务圈覆盖分析" from the boundaries' county name (else
        the data set's name), the mode and the minutes.
    lang : "zh" or "en"
        Language of the map's text. Without a CJK font on the system, "en" is used (with a
        :class:`PrintMapWarning`), never boxes for missing characters.
    proposals : GeoDataFrame, optional
        Proposed sites (e.g. ``propose_sites(...).proposals``) drawn as stars.
    format : "pdf" or "png", optional
        Default: the path's suffix; PDF for a buffer or ``None``.
    sources : str or mapping, optional
        The data sources line; a mapping ``{"roads": "...", ...}`` is listed by kind. Default:
        the synthetic demo's note, else the data set's name.
    date : datetime.date, optional
        The map's date (default: today).

    Returns
    -------
    Path (a path was given), the buffer, or bytes (``path_or_buffer=None``).

    Examples
    --------
    >>> import planner
    >>> res = planner.analyze(planner.load_demo())              # doctest: +SKIP
    >>> print_map(res, "map.png", orientation="portrait")      # doctest: +SKIP
    PosixPath('map.png')
    """
    fmt = map_format(path_or_buffer, format)
    t0 = time.perf_counter()
    fig = map_figure(
        result,
        paper=paper,
        orientation=orientation,
        dpi=dpi,
        title=title,
        lang=lang,
        proposals=proposals,
        sources=sources,
        date=date,
    )
    if fmt == "png":
        # whole pixels of the paper at this resolution (A4 at 300 dpi: 3508 x 2480, as ISO 216
        # rounds them); matplotlib would truncate 3507.87 to 3507
        w, h = fig.get_size_inches()
        fig.set_size_inches((round(w * dpi) + 0.01) / dpi, (round(h * dpi) + 0.01) / dpi)
    kw = {"format": fmt, "dpi": dpi, "metadata": _metadata(fig, fmt)}
    import matplotlib

    # TrueType (Type 42) fonts: the PDF's text can be searched, copied and edited
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        if path_or_buffer is None:
            buf = io.BytesIO()
            fig.savefig(buf, **kw)
            out: Any = buf.getvalue()
        elif isinstance(path_or_buffer, str | os.PathLike):
            out = _save_atomic(fig, Path(path_or_buffer), kw)
        else:
            fig.savefig(path_or_buffer, **kw)
            out = path_or_buffer
    log.info(
        "printed the map (%s, %s %s) in %.1f s", fmt, paper, orientation, time.perf_counter() - t0
    )
    return out


def _metadata(fig: Any, fmt: str) -> dict[str, str]:
    title = fig.get_label()  # the map's title, set by _draw
    if fmt == "pdf":
        return {"Title": title, "Creator": f"planner {__version__}"}
    return {"Title": title, "Software": f"planner {__version__}"}


def _save_atomic(fig: Any, path: Path, kw: dict[str, Any]) -> Path:
    """Write next to ``path`` under a temporary name, then rename it into place."""
    if path.is_dir():
        raise InputError(
            f"path_or_buffer {str(path)!r} is a folder. Fix: name a .pdf or .png file."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, **kw)
        # mkstemp makes the file private (0600): give it the mode any new file would get
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _nice(x: float, steps: tuple[float, ...] = (1, 2, 2.5, 5)) -> float:
    """The largest 'round' number (steps × 10^k) not above ``x``."""
    k = math.floor(math.log10(x))
    best = steps[0] * 10.0**k
    for s in steps:
        if s * 10.0**k <= x:
            best = s * 10.0**k
    return best


def _round_scale(needed: float) -> float:
    """The smallest round scale denominator (1, 1.5, 2, 2.5, 3, 4, 5, 7.5 × 10^k) ≥ ``needed``."""
    k = math.floor(math.log10(needed))
    for base in (k, k + 1):
        for s in (1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10):
            if s * 10.0**base >= needed * (1 - 1e-12):
                return s * 10.0**base
    return 10.0 ** (k + 2)  # pragma: no cover


def _minutes_text(m: float) -> str:
    return f"{round(m):d}" if abs(m - round(m)) < 1e-6 else f"{m:.1f}"


def map_figure(
    result: Any,
    *,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: float = 300,
    title: str | None = None,
    lang: str = "zh",
    proposals: gpd.GeoDataFrame | None = None,
    sources: str | Mapping[str, str] | None = None,
    date: _dt.date | None = None,
) -> Any:
    """The printed map as a matplotlib :class:`~matplotlib.figure.Figure` (see :func:`print_map`).

    The figure is made without pyplot (no global state, safe in a server's threads). Its map
    axes is ``fig.planner_axes["map"]``; the scale bar's patches carry ``gid="scalebar"``.
    """
    import matplotlib
    from matplotlib.figure import Figure

    key = _check_options(paper, orientation, dpi)
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}.")
    font = find_cjk_font()
    if font is None:
        if lang == "zh":
            warnings.warn(
                "no Chinese (CJK) font found on this system, so the map is labelled in English. "
                "Fix: install one (Debian: apt-get install fonts-wqy-microhei; or Noto Sans CJK).",
                PrintMapWarning,
                stacklevel=2,
            )
        lang = "en"
    li = 0 if lang == "zh" else 1

    def tr(key: str, **kw: Any) -> str:
        return _TEXT[key][li].format(**kw)

    def safe(text: str) -> str:
        # without a CJK font, Chinese characters would print as boxes: leave them out
        return (
            text
            if font is not None
            else re.sub(r"\s+", " ", _CJK.sub("", text)).strip(" ()（）:：")
        )

    w_mm, h_mm = PAPER_MM[key]
    if orientation == "landscape":
        w_mm, h_mm = h_mm, w_mm
    k = math.sqrt(w_mm * h_mm / (297.0 * 210.0))  # text and line sizes grow with the paper
    families = ([font] if font else []) + ["DejaVu Sans"]
    # most CJK fonts ship one weight: asking for bold would only log a warning per text
    _BOLD[0] = "bold" if font is None or _has_bold(font) else "normal"
    with matplotlib.rc_context(
        {"font.family": families, "pdf.fonttype": 42, "axes.unicode_minus": False}
    ):
        fig = Figure(figsize=(w_mm / 25.4, h_mm / 25.4), dpi=dpi)
        _draw(
            fig,
            result,
            landscape=orientation == "landscape",
            k=k,
            tr=tr,
            safe=safe,
            lang=lang,
            title=title,
            proposals=proposals,
            sources=sources,
            date=date or _dt.date.today(),
        )
    return fig


def _layers(result: Any, proposals: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """Every layer in the area's UTM zone (metres)."""
    fac = result.facilities
    b = result.boundaries
    base = b if b is not None and len(b) else fac
    crs = gpd.GeoSeries(base.geometry, crs=base.crs).estimate_utm_crs()
    net = result.network
    roads = gpd.GeoSeries(net.edge_geometry, crs=net.crs)
    if not pyproj.CRS(net.crs).equals(crs):
        roads = roads.to_crs(crs)
    out: dict[str, Any] = {
        "crs": crs,
        "roads": roads,
        "road_class": np.asarray(net.edge_class).astype(str),
    }
    out["facilities"] = fac.to_crs(crs)
    out["proposals"] = None if proposals is None or not len(proposals) else proposals.to_crs(crs)
    out["county"] = out["township"] = None
    if b is not None and len(b):
        bb = b.to_crs(crs)
        if "level" in bb.columns:
            out["county"] = bb[bb["level"] == "county"]
            out["township"] = bb[bb["level"] == "township"]
        else:
            out["county"] = bb
    out["isochrones"] = None
    if result.isochrones is not None and len(result.isochrones):
        out["isochrones"] = _bands(result, crs)
    out["uncovered"] = (
        None
        if result.uncovered is None or not len(result.uncovered)
        else result.uncovered.to_crs(crs)
    )
    return out


#: Isochrone bands per result (their union is the slow part of a map): printing the same
#: result again (A3 after A4, PNG after PDF) reuses them; entries go with their result.
_BANDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _bands(result: Any, crs: pyproj.CRS) -> dict[float, Any]:
    """One band per threshold: the union of every facility's isochrone polygon."""
    cached = _BANDS.get(result)
    if cached is not None and cached[0] == crs:
        return cached[1]
    iso = result.isochrones.to_crs(crs)
    bands = {
        float(m): shapely.union_all(g.geometry.to_numpy())
        for m, g in iso.groupby("minutes", sort=True)
    }
    with contextlib.suppress(TypeError):  # a result that cannot be weakly referenced is not cached
        _BANDS[result] = (crs, bands)
    return bands


def _extent(L: dict[str, Any]) -> tuple[float, float, float, float]:
    for name in ("county", "township"):
        g = L.get(name)
        if g is not None and len(g):
            return tuple(g.total_bounds)
    parts = [L["roads"].total_bounds, L["facilities"].total_bounds]
    arr = np.array(parts)
    return (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())


def _draw(
    fig: Any,
    result: Any,
    *,
    landscape: bool,
    k: float,
    tr: Callable[..., str],
    safe: Callable[[str], str],
    lang: str,
    title: str | None,
    proposals: gpd.GeoDataFrame | None,
    sources: str | Mapping[str, str] | None,
    date: _dt.date,
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Rectangle

    settings = result.settings
    minutes = _minutes_text(settings.minutes)
    mode_word = _MODE.get(settings.mode, (settings.mode, settings.mode))[0 if lang == "zh" else 1]
    L = _layers(result, proposals)
    place = _place_name(result, L, lang)
    if title is None:
        title = tr("title", place=place, minutes=minutes, mode=mode_word)
    title = safe(title)
    fig.set_label(title)  # for the file's metadata (_metadata)

    W, H = fig.get_size_inches()
    # page frame: a thick outer line and a thin inner one, as printed maps have
    for inset, lw in ((0.012, 1.6), (0.018, 0.5)):
        fig.add_artist(
            Rectangle(
                (inset * H / W, inset),
                1 - 2 * inset * H / W,
                1 - 2 * inset,
                transform=fig.transFigure,
                fill=False,
                lw=lw * k,
                ec="#222222",
            )
        )
    top = 0.895 if landscape else 0.91
    title_text = fig.text(
        0.5,
        0.945 if landscape else 0.955,
        title,
        ha="center",
        va="center",
        fontsize=17 * k,
        fontweight=_BOLD[0],
        color="#111111",
    )
    if landscape:
        map_box = (0.035, 0.05, 0.70, top - 0.05)
        legend_box = (0.755, 0.37, 0.22, top - 0.37)
        notes_box = (0.755, 0.05, 0.22, 0.30)
    else:
        map_box = (0.05, 0.30, 0.90, top - 0.30)
        legend_box = (0.05, 0.04, 0.56, 0.235)
        notes_box = (0.635, 0.04, 0.315, 0.235)
    ax = fig.add_axes(map_box)
    fig.planner_axes = {"map": ax}
    _set_extent(ax, L, W, H, map_box)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_linewidth(0.9 * k)
        s.set_color("#222222")
    ax.set_facecolor("#ffffff")
    handles = _draw_layers(
        ax, L, result, k=k, tr=tr, safe=safe, lang=lang, mode_word=mode_word, minutes=minutes
    )
    ax.set_xlabel("")  # geopandas labels the axes of a projected CRS
    ax.set_ylabel("")
    _north_arrow(ax, L, k=k, tr=tr)
    scale = fig.planner_scale
    _scale_bar(ax, k=k, tr=tr, scale=scale)
    if result.synthetic:
        ax.text(
            0.012,
            0.985,
            tr("synthetic"),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=10.5 * k,
            fontweight=_BOLD[0],
            color="#c00000",
            zorder=30,
            bbox={"boxstyle": "square,pad=0.35", "fc": "white", "ec": "#c00000", "lw": 1.2 * k},
        )
        ax.text(
            0.012,
            0.935,
            safe(tr("synthetic_note")),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=7 * k,
            color="#c00000",
            zorder=30,
            bbox={"boxstyle": "square,pad=0.25", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    # an Agg canvas only now: geopandas redraws the figure after each layer when it has one
    FigureCanvasAgg(fig)
    _fit_width(title_text, 0.92)
    _legend(fig, handles, legend_box, k=k, tr=tr, landscape=landscape)
    _notes(
        fig,
        result,
        L,
        notes_box,
        k=k,
        tr=tr,
        safe=safe,
        lang=lang,
        minutes=minutes,
        mode_word=mode_word,
        sources=sources,
        date=date,
        landscape=landscape,
    )


def _fit_width(text: Any, share: float) -> None:
    """Shrink a text's font until it spans at most ``share`` of the page's width."""
    fig = text.figure
    renderer = fig.canvas.get_renderer()
    for _ in range(20):
        if text.get_window_extent(renderer).width <= share * fig.bbox.width:
            return
        text.set_fontsize(text.get_fontsize() * 0.93)


def _place_name(result: Any, L: dict[str, Any], lang: str) -> str:
    county = L.get("county")
    if lang == "zh" and county is not None and len(county) == 1 and "admin_name" in county.columns:
        return str(county["admin_name"].iloc[0])
    return str(result.dataset_name)


def _set_extent(ax: Any, L: dict[str, Any], W: float, H: float, box: tuple[float, ...]) -> None:
    """Centre the area in the map frame at the smallest round scale that fits it."""
    x0, y0, x1, y1 = _extent(L)
    pad = 0.03
    w_m = box[2] * W * 0.0254  # the frame's size on paper, metres
    h_m = box[3] * H * 0.0254
    need = max((x1 - x0) * (1 + 2 * pad) / w_m, (y1 - y0) * (1 + 2 * pad) / h_m, 1.0)
    scale = _round_scale(need)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = scale * w_m / 2, scale * h_m / 2
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect("equal", adjustable="datalim")
    ax.figure.planner_scale = scale


def _road_group(classes: np.ndarray) -> np.ndarray:
    group = np.full(classes.shape, len(_ROAD_GROUPS) - 1, dtype=np.int64)
    for i, (names, *_rest) in enumerate(_ROAD_GROUPS[:-1]):
        group[np.isin(classes, names)] = i
    return group


def _draw_layers(
    ax: Any,
    L: dict[str, Any],
    result: Any,
    *,
    k: float,
    tr: Callable[..., str],
    safe: Callable[[str], str],
    lang: str,
    mode_word: str,
    minutes: str,
) -> dict[str, list]:
    """Draw every layer, bottom to top; return the legend's entries by section."""
    handles: dict[str, list] = {}
    county = L["county"]
    if county is not None and len(county):
        county.plot(ax=ax, color="#fbfbf7", edgecolor="none", zorder=0)
    band_handles = _draw_bands(ax, L, tr=tr)
    if band_handles:
        handles[tr("bands", mode=mode_word)] = band_handles
    cls_handles = _draw_uncovered(ax, L, k=k)
    if L["uncovered"] is not None:
        handles[tr("uncovered", minutes=minutes)] = cls_handles
    road_handles = _draw_roads(ax, L, k=k, lang=lang)
    if road_handles:
        handles[tr("roads")] = road_handles
    admin_handles = _draw_admin(ax, L, k=k, tr=tr)
    if admin_handles:
        handles[tr("admin")] = admin_handles
    fac_handles = _draw_facilities(ax, L, k=k, tr=tr, lang=lang)
    handles = {tr("facilities"): fac_handles, **handles}
    _draw_labels(ax, L, k=k, safe=safe)
    return handles


def _draw_bands(ax: Any, L: dict[str, Any], *, tr: Callable[..., str]) -> list:
    from matplotlib.patches import Patch

    band_handles: list = []
    # isochrone bands, widest first, each painted over by the next narrower one
    iso = L["isochrones"]
    if iso:
        # detail finer than 0.05 mm on paper cannot be seen, and would make the PDF ~30x larger
        tol = ax.figure.planner_scale * 0.05e-3
        iso = {m: shapely.simplify(g, tol) for m, g in iso.items()}
        ms = sorted(iso)
        colors = _BAND_COLORS[-len(ms) :] if len(ms) <= len(_BAND_COLORS) else None
        for i, m in enumerate(reversed(ms)):
            j = len(ms) - 1 - i
            c = colors[j] if colors else _cmap_color("Greens", 0.8 - 0.6 * j / max(1, len(ms) - 1))
            gpd.GeoSeries([iso[m]], crs=L["crs"]).plot(
                ax=ax, color=c, edgecolor="none", alpha=0.85, zorder=1 + i * 0.01
            )
        for j, m in enumerate(ms):
            c = colors[j] if colors else _cmap_color("Greens", 0.8 - 0.6 * j / max(1, len(ms) - 1))
            label = (
                tr("minutes_le", b=_minutes_text(m))
                if j == 0
                else tr("minutes_band", a=_minutes_text(ms[j - 1]), b=_minutes_text(m))
            )
            band_handles.append((Patch(fc=c, ec="none", alpha=0.85), label))
    return band_handles


def _draw_uncovered(ax: Any, L: dict[str, Any], *, k: float) -> list:
    from matplotlib.patches import Patch

    # uncovered residents in fixed classes
    unc = L["uncovered"]
    breaks = UNCOVERED_BREAKS
    cls_handles = []
    for i, lo in enumerate(breaks):
        hi = breaks[i + 1] if i + 1 < len(breaks) else math.inf
        if unc is not None:
            part = unc[(unc["population"] >= lo) & (unc["population"] < hi)]
            if len(part):
                # the areas are unions of grid cells: fill without cell edges, then one outline
                # (filled as one union, closed over the hair-thin gaps between cells, so no seams show)
                merged = shapely.union_all(
                    shapely.buffer(shapely.make_valid(part.geometry.to_numpy()), 0.5)
                ).buffer(-0.5)
                gpd.GeoSeries([merged], crs=L["crs"]).plot(
                    ax=ax,
                    color=UNCOVERED_COLORS[i],
                    edgecolor="#99000d",
                    linewidth=0.25 * k,
                    zorder=2,
                )
        text = (
            f"< {hi:,.0f}"
            if i == 0
            else f"≥ {lo:,.0f}"
            if hi == math.inf
            else f"{lo:,.0f}–{hi:,.0f}"
        )
        cls_handles.append((Patch(fc=UNCOVERED_COLORS[i], ec="#7f0000", lw=0.3), text))
    return cls_handles


def _draw_roads(ax: Any, L: dict[str, Any], *, k: float, lang: str) -> list:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    li = 0 if lang == "zh" else 1
    # roads, quiet greys, strongest on top
    roads = L["roads"]
    group = _road_group(L["road_class"])
    road_handles: list[tuple[Any, str]] = []
    for i in range(len(_ROAD_GROUPS) - 1, -1, -1):
        sel = np.flatnonzero(group == i)
        if not len(sel):
            continue
        _names, zh, en, color, width = _ROAD_GROUPS[i]
        coords, idx = shapely.get_coordinates(roads.iloc[sel].to_numpy(), return_index=True)
        cuts = np.flatnonzero(np.diff(idx)) + 1
        segs = np.split(coords, cuts)
        ax.add_collection(
            LineCollection(
                segs,
                colors=color,
                linewidths=width * k,
                capstyle="round",
                joinstyle="round",
                zorder=3 + (len(_ROAD_GROUPS) - i) * 0.01,
            )
        )
        road_handles.insert(0, (Line2D([], [], color=color, lw=width * k * 1.3), (zh, en)[li]))
    return road_handles


def _draw_admin(ax: Any, L: dict[str, Any], *, k: float, tr: Callable[..., str]) -> list:
    from matplotlib.lines import Line2D

    county, township = L["county"], L["township"]
    # boundaries
    admin_handles = []
    if township is not None and len(township):
        township.boundary.plot(
            ax=ax, color="#6f6f6f", linewidth=0.6 * k, linestyle=(0, (4, 1.5, 1, 1.5)), zorder=4
        )
        admin_handles.append(
            (
                Line2D([], [], color="#6f6f6f", lw=0.8 * k, linestyle=(0, (4, 1.5, 1, 1.5))),
                tr("township"),
            )
        )
    if county is not None and len(county):
        county.boundary.plot(ax=ax, color="#8c6bb1", linewidth=3.2 * k, alpha=0.35, zorder=4.1)
        county.boundary.plot(
            ax=ax,
            color="#3f007d",
            linewidth=0.9 * k,
            linestyle=(0, (6, 1.5, 1, 1.5, 1, 1.5)),
            zorder=4.2,
        )
        admin_handles.insert(
            0,
            (
                Line2D(
                    [], [], color="#3f007d", lw=1.0 * k, linestyle=(0, (6, 1.5, 1, 1.5, 1, 1.5))
                ),
                tr("county"),
            ),
        )
    return admin_handles


def _draw_facilities(
    ax: Any, L: dict[str, Any], *, k: float, tr: Callable[..., str], lang: str
) -> list:
    from matplotlib.lines import Line2D

    # facilities by tier (strongest tier drawn last, on top)
    fac = L["facilities"]
    fac_handles: list[tuple[Any, str]] = []
    props = fac[fac["proposed"]] if "proposed" in fac.columns else fac.iloc[:0]
    fac = fac[~fac.index.isin(props.index)]
    present = set(fac["tier"])
    order = [t for t in reversed(_TIER_ORDER) if t in present] + sorted(present - set(_TIER_ORDER))
    for z, tier in enumerate(order):
        marker, color, size = _TIER_STYLE.get(tier, _TIER_STYLE["other"])
        g = fac[fac["tier"] == tier]
        xy = shapely.get_coordinates(g.geometry.to_numpy())
        ax.plot(
            xy[:, 0],
            xy[:, 1],
            linestyle="none",
            marker=marker,
            markersize=size * k,
            mfc=color,
            mec="white",
            mew=0.5 * k,
            zorder=10 + z * 0.1,
        )
        name = standards.TIER_LABELS.get(tier, {"zh": tier, "en": tier})[lang]
        label = f"{name}：{len(g)} 处" if lang == "zh" else f"{name}: {len(g)}"
        symbol = Line2D(
            [],
            [],
            linestyle="none",
            marker=marker,
            markersize=size * k * 1.1,
            mfc=color,
            mec="white",
            mew=0.5 * k,
        )
        # strongest tier first; tiers outside the known order after them
        fac_handles.insert(0 if tier in _TIER_ORDER else len(fac_handles), (symbol, label))
    extra = [props] + ([L["proposals"]] if L["proposals"] is not None else [])
    n_prop = sum(len(p) for p in extra)
    if n_prop:
        marker, color, size = _PROPOSED_STYLE
        for p in extra:
            if len(p):
                xy = shapely.get_coordinates(p.geometry.to_numpy())
                ax.plot(
                    xy[:, 0],
                    xy[:, 1],
                    linestyle="none",
                    marker=marker,
                    markersize=size * k,
                    mfc=color,
                    mec="black",
                    mew=0.5 * k,
                    zorder=12,
                )
        fac_handles.append(
            (
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker=marker,
                    markersize=size * k,
                    mfc=color,
                    mec="black",
                    mew=0.5 * k,
                ),
                f"{tr('proposed')}：{n_prop} 处" if lang == "zh" else f"{tr('proposed')}: {n_prop}",
            )
        )
    return fac_handles


def _draw_labels(ax: Any, L: dict[str, Any], *, k: float, safe: Callable[[str], str]) -> None:
    from matplotlib import patheffects

    township = L["township"]
    # township names at a point inside each township, with a white halo
    if township is not None and len(township) and "admin_name" in township.columns:
        # the halo is a stroked copy underneath: text drawn with path effects becomes outlines in
        # a PDF, and the names should stay text (searchable, editable in a drawing program)
        halo = [patheffects.Stroke(linewidth=2.2 * k, foreground="white")]
        pts = township.geometry.representative_point()
        for name, p in zip(township["admin_name"], pts, strict=True):
            text = safe(str(name))
            if text:
                for zorder, effects in ((19.5, halo), (20.0, None)):
                    ax.text(
                        p.x,
                        p.y,
                        text,
                        ha="center",
                        va="center",
                        fontsize=7.5 * k,
                        color="#333333",
                        zorder=zorder,
                        path_effects=effects,
                        clip_on=True,
                    )


def _cmap_color(name: str, x: float) -> Any:
    import matplotlib

    return matplotlib.colormaps[name](x)


def _north_arrow(ax: Any, L: dict[str, Any], *, k: float, tr: Callable[..., str]) -> None:
    """A north arrow pointing to true north (UTM grid north differs by the meridian convergence)."""
    from matplotlib.patches import Polygon
    from matplotlib.transforms import Affine2D

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    lon, lat = pyproj.Transformer.from_crs(L["crs"], 4326, always_xy=True).transform(cx, cy)
    try:
        conv = pyproj.Proj(L["crs"]).get_factors(lon, lat).meridian_convergence
    except Exception:  # noqa: BLE001 - any projection without factors: draw grid north
        conv = 0.0
    fig = ax.figure
    # the arrow lives in a small box of physical size (inches), top right of the map frame
    bbox = ax.get_position()
    W, H = fig.get_size_inches()
    size_in = 0.55 * k
    cx_f = bbox.x1 - (0.45 * k) / W
    cy_f = bbox.y1 - (0.62 * k) / H
    to_fig = Affine2D().scale(size_in / W, size_in / H)
    rot = Affine2D().rotate_deg(conv)
    left = np.array([[0, 0.5], [-0.18, -0.45], [0, -0.25]])
    right = np.array([[0, 0.5], [0.18, -0.45], [0, -0.25]])
    for pts, fc in ((left, "#222222"), (right, "white")):
        t = rot + to_fig + Affine2D().translate(cx_f, cy_f) + fig.transFigure
        fig.add_artist(
            Polygon(pts, closed=True, fc=fc, ec="#222222", lw=0.7 * k, transform=t, zorder=30)
        )
    tip = rot.transform([[0, 0.72]])[0]
    fig.text(
        cx_f + tip[0] * size_in / W,
        cy_f + tip[1] * size_in / H,
        "N",
        ha="center",
        va="center",
        fontsize=10 * k,
        fontweight=_BOLD[0],
        zorder=30,
    )
    fig.text(
        cx_f,
        cy_f - 0.42 * size_in / H * 1.6,
        tr("north"),
        ha="center",
        va="top",
        fontsize=6.5 * k,
        color="#333333",
        zorder=30,
    )


def _scale_bar(ax: Any, *, k: float, tr: Callable[..., str], scale: float) -> None:
    """A metric bar (4 alternating segments, a round length about a fifth of the frame) and the
    numeric scale, at the bottom left of the map."""
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice((x1 - x0) * 0.22, steps=(1, 2, 4, 5))
    km = length >= 1000
    unit, div = (tr("km"), 1000.0) if km else (tr("m"), 1.0)
    px = x0 + (x1 - x0) * 0.035
    py = y0 + (y1 - y0) * 0.045
    hgt = (y1 - y0) * 0.008
    # white box behind the bar and its labels
    dx, dy = x1 - x0, y1 - y0
    ax.add_patch(
        Rectangle(
            (px - dx * 0.012, py - dy * 0.022),
            length + dx * 0.075,
            dy * 0.095,
            fc="white",
            ec="#999999",
            lw=0.4 * k,
            alpha=0.9,
            zorder=25,
        )
    )
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (px + i * length / 4, py),
                length / 4,
                hgt,
                fc="#222222" if i % 2 == 0 else "white",
                ec="#222222",
                lw=0.6 * k,
                zorder=26,
                gid="scalebar",
            )
        )
    for frac in (0.0, 0.5, 1.0):
        ax.text(
            px + length * frac,
            py + hgt * 1.6,
            f"{length * frac / div:g}",
            ha="center",
            va="bottom",
            fontsize=6.8 * k,
            zorder=27,
            gid="scalebar-label" if frac == 1.0 else None,
        )
    ax.text(
        px + length + dx * 0.008,
        py + hgt / 2,
        unit,
        ha="left",
        va="center",
        fontsize=6.8 * k,
        zorder=27,
        gid="scalebar-unit",
    )
    ax.text(
        px,
        py + hgt * 5.8,
        f"{tr('scale')} 1:{scale:,.0f}",
        ha="left",
        va="bottom",
        fontsize=7.2 * k,
        zorder=27,
        gid="scale-ratio",
    )
    ax.figure.planner_scalebar_m = length


def _wrap(text: str, width: float) -> list[str]:
    """Lines of at most ``width`` em: Chinese characters 1 em, Latin letters and digits about
    0.55 em; a break falls between Chinese characters or at a space, never inside a number."""
    tokens = re.findall(r"[^\s\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+|\s+|.", text)
    lines: list[str] = []
    cur, cur_w = "", 0.0
    for tok in tokens:
        w = sum(1.0 if _CJK.match(c) else 0.55 for c in tok)
        if cur_w + w > width and cur.strip():
            lines.append(cur.rstrip())
            cur, cur_w = ("", 0.0) if tok.isspace() else (tok, w)
            continue
        cur += tok
        cur_w += w
    if cur.strip():
        lines.append(cur.rstrip())
    return lines or [""]


def _legend(
    fig: Any,
    handles: dict[str, list],
    box: tuple[float, ...],
    *,
    k: float,
    tr: Callable[..., str],
    landscape: bool,
) -> None:
    """The legend (图例): one block per section, flowing down the box and on into a new column."""
    from matplotlib.legend import Legend

    renderer = fig.canvas.get_renderer()
    x, y, w, h = box
    fig.text(x, y + h, tr("legend"), ha="left", va="top", fontsize=12 * k, fontweight=_BOLD[0])
    head = fig.text(x, y + h, tr("legend"), alpha=0)  # measure the heading once
    hh = head.get_window_extent(renderer).height / fig.bbox.height * 1.9
    head.remove()
    col_x, cur_y = x, y + h - hh
    col_w = 0.0
    for section, items in handles.items():
        if not items:
            continue
        leg = Legend(
            fig,
            [h_ for h_, _ in items],
            [t for _, t in items],
            loc="upper left",
            bbox_to_anchor=(col_x, cur_y),
            bbox_transform=fig.transFigure,
            frameon=False,
            fontsize=7.2 * k,
            title=section,
            title_fontsize=8 * k,
            alignment="left",
            handlelength=1.8,
            handleheight=0.9,
            borderpad=0.1,
            labelspacing=0.35,
            handletextpad=0.6,
            borderaxespad=0,
        )
        fig.legends.append(leg)
        ext = leg.get_window_extent(renderer)
        lh = ext.height / fig.bbox.height
        lw = ext.width / fig.bbox.width
        if cur_y - lh < y and cur_y < y + h - hh - 1e-9:
            # does not fit below: start the next column
            col_x += col_w + 0.015
            cur_y = y + h - hh
            col_w = 0.0
            leg.set_bbox_to_anchor((col_x, cur_y), transform=fig.transFigure)
        leg.get_title().set_fontweight(_BOLD[0])
        col_w = max(col_w, lw)
        cur_y -= lh + 0.012


def _notes(
    fig: Any,
    result: Any,
    L: dict[str, Any],
    box: tuple[float, ...],
    *,
    k: float,
    tr: Callable[..., str],
    safe: Callable[[str], str],
    lang: str,
    minutes: str,
    mode_word: str,
    sources: str | Mapping[str, str] | None,
    date: _dt.date,
    landscape: bool,
) -> None:
    x, y, w, h = box
    lines: list[str] = []
    if result.has_population:
        tot = result.total_population
        cov = result.covered_population
        lines.append(
            tr(
                "headline",
                minutes=minutes,
                cov=cov,
                tot=tot,
                unc=tot - cov,
                share=100 * result.covered_share,
            )
        )
    tiers = result.settings.tiers
    tier_text = (
        tr("all_tiers")
        if not tiers
        else "、".join(standards.TIER_LABELS.get(t, {lang: t})[lang] for t in tiers)
        if lang == "zh"
        else ", ".join(standards.TIER_LABELS.get(t, {lang: t})[lang] for t in tiers)
    )
    lines.append(tr("settings", mode=mode_word, minutes=minutes, tiers=tier_text))
    if sources is None:
        src = tr("synthetic_sources") if result.synthetic else str(result.dataset_name)
    elif isinstance(sources, Mapping):
        li = 0 if lang == "zh" else 1
        sep = "；" if lang == "zh" else "; "
        src = sep.join(
            f"{_SOURCE_KIND.get(kind, (kind, kind))[li]} {v}" for kind, v in sources.items()
        )
    else:
        src = str(sources)
    lines.append(tr("sources", s=src))
    crs = L["crs"]
    lines.append(
        tr(
            "crs",
            c=f"{crs.name}（EPSG:{crs.to_epsg()}）"
            if lang == "zh"
            else f"{crs.name} (EPSG:{crs.to_epsg()})",
        )
    )
    if L["county"] is not None or L["township"] is not None:
        lines.append(tr("disclaimer"))
    lines.append(tr("date", d=date) + ("　" if lang == "zh" else "  ") + tr("maker", v=__version__))
    # wrap to the box: a Chinese character is about twice as wide as a Latin letter
    fs = 6.8 * k
    width_pt = w * fig.get_size_inches()[0] * 72
    em_per_line = width_pt / fs
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(_wrap(safe(line), em_per_line))
    fig.text(
        x,
        y,
        "\n".join(wrapped),
        ha="left",
        va="bottom",
        fontsize=fs,
        color="#333333",
        linespacing=1.45,
    )


# ---------------------------------------------------------------------------------------------
# command line: planner map


def add_parser(
    sub: Any, *, add_data_args: Callable[[Any], None], add_mode_args: Callable[[Any], None]
) -> Any:
    """The ``planner map`` subcommand."""
    p = sub.add_parser(
        "map",
        help="print the coverage map to PDF or PNG (A4/A3) for a report",
        description="Compute coverage (as `planner coverage`) and print a map with a title, legend, north "
        "arrow, scale bar, data sources and date, as PDF (vector) or PNG.",
    )
    add_data_args(p)
    add_mode_args(p)
    p.add_argument(
        "--isochrones",
        type=float,
        nargs="*",
        default=[5, 10, 15],
        help="isochrone bands in minutes (default 5 10 15; none: no bands)",
    )
    p.add_argument(
        "--proposals",
        type=Path,
        default=None,
        help="proposed sites to draw as stars (e.g. proposals.csv of planner optimize)",
    )
    # dest differs from the folder options' "out": this one names a file
    p.add_argument(
        "--out",
        dest="map_out",
        type=Path,
        required=True,
        metavar="FILE",
        help="the map file: .pdf (vector) or .png",
    )
    p.add_argument(
        "--paper",
        choices=["A4", "A3"],
        type=str.upper,
        default="A4",
        help="paper size (default A4)",
    )
    p.add_argument(
        "--orientation",
        choices=list(ORIENTATIONS),
        default="landscape",
        help="page orientation (default landscape)",
    )
    p.add_argument(
        "--dpi", type=float, default=300, help="resolution of a PNG (default 300, for print)"
    )
    p.add_argument(
        "--title", default=None, help="map title (default: '<county> 15分钟步行医疗服务圈覆盖分析')"
    )
    p.add_argument(
        "--lang", choices=["zh", "en"], default="zh", help="language of the map (default zh)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _check_cli(args: Any) -> None:
    suffix = Path(args.map_out).suffix.lower()
    if suffix.lstrip(".") not in FORMATS:
        raise InputError(
            f"--out {args.map_out}: the map is written as PDF or PNG, not "
            f"{suffix or 'a file without a suffix'!r}. Fix: name a .pdf or .png file."
        )
    if Path(args.map_out).is_dir():
        raise InputError(f"--out {args.map_out} is a folder. Fix: name a .pdf or .png file.")
    if not 30 <= args.dpi <= 1200:
        raise InputError(f"--dpi must be from 30 to 1200, got {args.dpi:g}.")


def cmd_map(args: Any) -> int:
    """Run ``planner map`` from parsed arguments."""
    from . import load, pipeline
    from .scenario import sheet_argument

    _check_cli(args)  # before any data are read
    t0 = time.perf_counter()
    if args.data is None and not any(
        (args.roads, args.facilities, args.population, args.boundaries)
    ):
        ds = pipeline.load_demo()
    elif args.data is None and (args.roads is None or args.facilities is None):
        raise InputError(
            "without --data, both --roads and --facilities are needed. Fix: pass both, or --data DIR."
        )
    else:
        ds = pipeline.load_dataset(
            args.data,
            roads=args.roads,
            facilities=args.facilities,
            population=args.population,
            boundaries=args.boundaries,
            facilities_crs=args.facilities_crs,
            facilities_sheet=sheet_argument(args.facilities_sheet),
        )
    print(f"loaded {ds!r} in {time.perf_counter() - t0:.1f} s")
    proposals = None
    if args.proposals is not None:
        proposals = load.read_facilities(
            args.proposals,
            default_tier="community_station",
            id_column="site_id" if _has_column(args.proposals, "site_id") else None,
        )
    result = pipeline.analyze(
        ds,
        mode=args.mode,
        minutes=args.minutes,
        tiers=args.tiers,
        isochrone_minutes=args.isochrones if args.isochrones else None,
        speed_kmh=args.speed_kmh,
        access_max_m=args.access_max_m,
        access_speed_factor=args.access_speed_factor,
    )
    t1 = time.perf_counter()
    # sources by file name only: a printed map never shows a machine's folders
    sources = (
        None
        if ds.synthetic
        else {kind: _source_text(kind, p, args.lang) for kind, p in ds.sources.items() if p}
    )
    path = print_map(
        result,
        args.map_out,
        paper=args.paper,
        orientation=args.orientation,
        dpi=args.dpi,
        title=args.title,
        lang=args.lang,
        proposals=proposals,
        sources=sources,
    )
    assert isinstance(path, Path)  # a path was given
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t1:.1f} s")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _source_text(kind: str, path: str, lang: str) -> str:
    """A source file by name; OpenStreetMap roads with the attribution their licence asks for."""
    name = Path(path).name
    if kind == "roads" and (name.lower().endswith((".osm", ".pbf")) or "osm" in name.lower()):
        name += (
            "（© OpenStreetMap 贡献者，ODbL）"
            if lang == "zh"
            else " (© OpenStreetMap contributors, ODbL)"
        )
    return name


def _has_column(path: Path, name: str) -> bool:
    try:
        head = Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return False
    return name in {c.strip() for c in head.split(",")}
