"""Drawing the printed map: layers, bands, roads, labels, north arrow, scale bar, legend, notes.

Part of :mod:`planner.printmap`, which re-exports the public names.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import re
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from .. import __version__, standards
from .style import (
    _BAND_COLORS,
    _BOLD,
    _CJK,
    _MODE,
    _PROPOSED_STYLE,
    _ROAD_GROUPS,
    _SOURCE_KIND,
    _TIER_ORDER,
    _TIER_STYLE,
    UNCOVERED_BREAKS,
    UNCOVERED_COLORS,
    _minutes_text,
    _nice,
    _round_scale,
)

log = logging.getLogger("planner.printmap")


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
