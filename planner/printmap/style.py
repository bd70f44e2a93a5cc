"""The printed map's paper sizes, colours, symbols, words (zh/en) and its warning class.

Part of :mod:`planner.printmap`, which re-exports the public names.
"""

from __future__ import annotations

import logging
import math
import re

from .._constants import UNCOVERED_BREAKS as _web_breaks
from .._constants import UNCOVERED_COLORS as _web_colors
from .._errors import PlannerWarning

log = logging.getLogger("planner.printmap")

#: Paper sizes in millimetres (portrait width, height), ISO 216.
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS = ("landscape", "portrait")
FORMATS = ("pdf", "png")

#: Fixed classes of uncovered residents per area (人), lower bounds, inclusive: the classes and
#: colours of every map planner draws (:data:`planner.maps.UNCOVERED_BREAKS`, defined in ``planner._constants``), so the printed map,
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


_BOLD = ["bold"]


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
