"""``print_map`` and ``map_figure``: the page, its options, the CJK font and the atomic save.

Part of :mod:`planner.printmap`, which re-exports the public names.
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
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import geopandas as gpd

from .. import __version__
from .._errors import InputError
from .drawing import _draw
from .style import _BOLD, _CJK, _TEXT, CJK_FONTS, FORMATS, ORIENTATIONS, PAPER_MM, PrintMapWarning

log = logging.getLogger("planner.printmap")


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
