"""The standards' rules: titles, check columns, and reading them from TOML."""

from __future__ import annotations

import dataclasses
import logging
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import InputError, InputFileError, ScenarioError
from ..standards import Rules

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)


FORMATS = ("xlsx", "html", "md")

PASS, FAIL, NA = "pass", "fail", "not assessed"

#: Short titles of the numbered rules of standards.md.
RULE_TITLES: dict[int, str] = {
    1: "15-minute medical service circle",
    2: "a community health service center per subdistrict",
    3: "a community health service station per community",
    4: "a township health center per township",
    5: "a village clinic per administrative village",
    6: "medical facility planned with new housing",
    7: "sizes of new premises",
    8: "staffing ratios",
}

#: Columns of :attr:`ComplianceReport.checks`.
CHECK_COLUMNS = [
    "rule",
    "check",
    "requirement",
    "admin_code",
    "admin_name",
    "level",
    "kind",
    "population",
    "metric",
    "value",
    "target",
    "status",
    "detail",
    "fix",
    "proposals",
]

_STAFF_COLUMNS = ("staff", "staff_count", "n_staff", "职工数", "人员数", "卫技人员数")
_TOWNSHIP_KINDS = ("town", "township")


def _rule_texts(r: Rules, lang: str = "en") -> dict[int, str]:
    """Rule number -> the rule as standards.md words it, with this run's values, in ``lang``."""
    lo, hi = r.residents_per_center
    fa = r.min_floor_area_m2
    s_lo, s_hi = r.staff_per_1000
    v_lo, v_hi = r.village_doctors_per_1000
    e_lo, e_hi = r.extra_centers_large_subdistrict
    sizes = {
        "c": fa.get("community_center", math.nan),
        "b": r.min_beds_community_center,
        "s": fa.get("community_station", math.nan),
        "h": fa.get("hospital", math.nan),
        "v": fa.get("village_clinic", math.nan),
    }
    if lang == "zh":
        return _rule_texts_zh(r, sizes)
    station = (
        "every community"
        if r.station_min_residents is None
        else f"every community of at least {r.station_min_residents:,} residents"
    )
    return {
        1: f"every resident within {r.coverage_minutes:g} minutes of a primary-care facility "
        "(城区15分钟医疗服务圈 / 15分钟健康服务圈)",
        2: f"a community health service center (社区卫生服务中心) per subdistrict (街道), or per "
        f"{lo:,}-{hi:,} residents; a subdistrict over {r.large_subdistrict_residents:,} residents "
        f"may add {e_lo}-{e_hi} centers or more stations",
        3: f"a community health service station (社区卫生服务站) in {station} (社区)",
        4: "one government-run township health center (乡镇卫生院) per township (乡镇)",
        5: "a village clinic (村卫生室) per administrative village (行政村); adjacent small, "
        "well-connected villages may share one"
        + ("" if r.villages_may_share_clinic else " (sharing not allowed in this run)"),
        6: "new residential areas plan their medical facility together with the housing",
        7: "new center >= {c:,.0f} m2 and >= {b} beds; station >= {s:,.0f} m2; community hospital "
        ">= {h:,.0f} m2; village clinic >= {v:,.0f} m2".format(**sizes),
        8: f"township health center staff {s_lo:g}-{s_hi:g} per 1,000 residents; village doctors "
        f"{v_lo:g}-{v_hi:g} per 1,000 residents; {r.gp_per_10000:g} general practitioners per "
        "10,000 residents",
    }


def _rule_texts_zh(r: Rules, sizes: Mapping[str, Any]) -> dict[int, str]:
    """The rules in the words of the plans themselves (the same figures as the English)."""
    lo, hi = r.residents_per_center
    s_lo, s_hi = r.staff_per_1000
    v_lo, v_hi = r.village_doctors_per_1000
    e_lo, e_hi = r.extra_centers_large_subdistrict
    station = (
        "每个社区"
        if r.station_min_residents is None
        else f"常住人口不少于{r.station_min_residents:,}人的每个社区"
    )
    return {
        1: f"每位常住人口在{r.coverage_minutes:g}分钟内可到达一处基层医疗卫生机构"
        "（城区15分钟医疗服务圈 / 15分钟健康服务圈）",
        2: f"每个街道（或每{lo:,}-{hi:,}名常住人口）设置一个社区卫生服务中心；常住人口超过"
        f"{r.large_subdistrict_residents:,}人的街道可增设{e_lo}-{e_hi}个中心或更多社区卫生服务站",
        3: f"{station}设置社区卫生服务站",
        4: "每个乡镇设置一所政府办乡镇卫生院",
        5: "每个行政村设置一个村卫生室；相邻、规模小且交通便利的行政村可合建共用"
        + ("" if r.villages_may_share_clinic else "（本次不允许共用）"),
        6: "新建住区的医疗卫生设施与住宅同步规划建设",
        7: "新建社区卫生服务中心建筑面积不少于{c:,.0f}平方米、床位不少于{b}张；社区卫生服务站不少于"
        "{s:,.0f}平方米；社区医院不少于{h:,.0f}平方米；村卫生室不少于{v:,.0f}平方米".format(
            **sizes
        ),
        8: f"乡镇卫生院人员按每1,000名常住人口{s_lo:g}-{s_hi:g}人配备；乡村医生按每1,000名常住人口"
        f"{v_lo:g}-{v_hi:g}名配备；每10,000名常住人口配备{r.gp_per_10000:g}名全科医生",
    }


# --------------------------------------------------------------------------------------------
# Rules from TOML
# --------------------------------------------------------------------------------------------


def _as_rules(rules) -> Rules:
    if rules is None:
        return Rules()
    if isinstance(rules, Rules):
        return rules
    if isinstance(rules, Mapping):
        return rules_from_dict(rules)
    raise InputError(
        f"rules must be a planner.Rules or a mapping, not {type(rules).__name__}. "
        "Fix: pass Rules(...) or load_rules('rules.toml')."
    )


def rules_from_dict(data: Mapping[str, Any], *, source: str = "rules") -> Rules:
    """:class:`~planner.standards.Rules` with the fields given in ``data`` overridden.

    Every problem (unknown key, wrong type, bad value) is collected and raised together as one
    :class:`~planner.ScenarioError` naming ``source`` and the key.

    Examples
    --------
    >>> rules_from_dict({"coverage_minutes": 10, "residents_per_center": [30000, 80000]}).coverage_minutes
    10.0
    """
    defaults = Rules()
    fields = {f.name for f in dataclasses.fields(Rules)}
    problems: list[str] = []
    unknown = sorted(set(data) - fields)
    for k in unknown:
        problems.append(f"unknown rule {k!r}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            continue
        default = getattr(defaults, key)
        msg = _type_problem(key, value, default)
        if msg:
            problems.append(msg)
        elif isinstance(default, Mapping):
            values[key] = {**default, **value}  # a table overrides the tiers it names only
        else:
            values[key] = value
    if not problems:
        try:
            return dataclasses.replace(defaults, **values)
        except (ScenarioError, TypeError, ValueError) as exc:
            problems.append(str(exc).removeprefix("Rules: "))
    fix = (
        f"known rules: {', '.join(sorted(fields))}"
        if unknown
        else "see the Rules defaults in planner.standards"
    )
    lines = "; ".join(problems)
    raise ScenarioError(f"{source}: {lines}. Fix: correct the value(s) ({fix}).")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _type_problem(key: str, value: Any, default: Any) -> str | None:
    if key == "station_min_residents":
        if value is None or (_is_number(value) and float(value).is_integer() and value >= 0):
            return None
        return f"{key} must be a whole number >= 0 (or left out for every community), got {value!r}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{key} must be true or false, got {value!r}"
    if isinstance(default, int):
        if _is_number(value) and float(value).is_integer() and value >= 0:
            return None
        return f"{key} must be a whole number >= 0, got {value!r}"
    if isinstance(default, float):
        return None if _is_number(value) else f"{key} must be a number, got {value!r}"
    if isinstance(default, tuple):
        if (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(_is_number(v) for v in value)
        ):
            return None
        return f"{key} must be a pair of numbers [low, high], got {value!r}"
    if isinstance(default, Mapping):
        if isinstance(value, Mapping) and all(_is_number(v) for v in value.values()):
            return None
        return f"{key} must be a table of numbers (e.g. {{ {next(iter(default))} = {next(iter(default.values()))} }}), got {value!r}"
    return None


def load_rules(path: str | Path) -> Rules:
    """Read rule overrides from a TOML file (top-level keys, or a ``[rules]`` table).

    Example file::

        coverage_minutes = 10
        residents_per_center = [30000, 80000]
        [min_floor_area_m2]
        community_station = 400

    Raises
    ------
    InputFileError
        The file does not exist.
    ScenarioError
        Not valid TOML, unknown keys or bad values (all named in one message).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(
            f"rules file not found: {p}. Fix: check the path (relative to {Path.cwd()})."
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML ({exc}). Fix: check the line it names.") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{p}: not UTF-8 text ({exc}). Fix: save the rules file as UTF-8."
        ) from exc
    table: Mapping[str, Any] = data["rules"] if isinstance(data.get("rules"), Mapping) else data
    return rules_from_dict(table, source=str(p))
