"""Facility tiers and the planning rules' defaults (docs: ``shared/docs/standards.md``).

This module is data: the tiers of the primary-care network, their labels, the mapping of facility
type values to tiers, and the default values of the planning rules. The report stage decides what
to do with them.

Industry codes
--------------
Chinese facility registers often carry the national industry code of GB/T 4754 section Q
(卫生和社会工作) as the facility type, e.g. ``Q8323``. Two editions are in use:

================  ==========================  ==========================
meaning           GB/T 4754-2011 (Q 83)       GB/T 4754-2017 (Q 84)
================  ==========================  ==========================
hospitals         8311-8316                   8411-8416
community center  8321 社区卫生服务中心（站）  8421
subdistrict h.c.  8322 街道卫生院              8422
township h.c.     8323 乡镇卫生院              8423
village clinic    (none)                      8424 村卫生室
outpatient dept.  8330 门诊部（所）            8425
public health     8340-8390                   8431-8436, 8491-8499
================  ==========================  ==========================

The editions overlap: in 2011 the 84xx codes are *social work* (care homes), in 2017 the 83xx codes
are *education*. :func:`classify_tier` therefore decides the edition per call
(``edition="auto"``): if any value is an 83xx code the values are read as the 2011 edition (84xx
then become ``"other"``), otherwise as the 2017 edition. Pass ``edition="2011"`` or ``"2017"`` to
force one.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ._errors import InputError, ScenarioError

__all__ = [
    "PRIMARY_TIERS",
    "TIERS",
    "TIER_LABELS",
    "Rules",
    "classify_tier",
]

TIERS: tuple[str, ...] = (
    "community_center",
    "community_station",
    "family_doctor_point",
    "hospital",
    "township_center",
    "village_clinic",
    "other",
)
"""Every tier a facility can have (``read_facilities`` column ``tier``)."""

PRIMARY_TIERS: tuple[str, ...] = tuple(t for t in TIERS if t != "other")
"""Tiers that count as primary health care for the 15-minute rule."""

TIER_LABELS: dict[str, dict[str, str]] = {
    "community_center": {"zh": "社区卫生服务中心", "en": "Community health service center"},
    "community_station": {"zh": "社区卫生服务站", "en": "Community health service station"},
    "family_doctor_point": {"zh": "家庭医生服务点", "en": "Family-doctor service point"},
    "hospital": {
        "zh": "医院（县医院、县域医疗次中心）",
        "en": "Hospital (county hospital, county medical sub-center)",
    },
    "township_center": {"zh": "乡镇卫生院", "en": "Township health center"},
    "village_clinic": {"zh": "村卫生室", "en": "Village clinic"},
    "other": {"zh": "其他医疗卫生机构", "en": "Other health facility"},
}
"""Chinese (``"zh"``) and English (``"en"``) label of each tier."""

# --- industry codes --------------------------------------------------------------------------

_CODES_2011: dict[str, str] = {
    **{f"831{i}": "hospital" for i in range(1, 7)},  # 综合/中医/中西医结合/民族/专科医院, 疗养院
    "8321": "community_center",  # 社区卫生服务中心（站）; the name tells a station apart
    "8322": "township_center",  # 街道卫生院 (subdistrict health center)
    "8323": "township_center",  # 乡镇卫生院
    "8330": "other",  # 门诊部（所）
    "8340": "other",  # 计划生育技术服务活动
    "8350": "other",  # 妇幼保健院（所、站）
    "8360": "other",  # 专科疾病防治院（所、站）
    "8370": "other",  # 疾病预防控制中心
    "8390": "other",  # 其他卫生活动
}
_CODES_2017: dict[str, str] = {
    **{f"841{i}": "hospital" for i in range(1, 7)},
    "8421": "community_center",  # 社区卫生服务中心（站）
    "8422": "township_center",  # 街道卫生院
    "8423": "township_center",  # 乡镇卫生院
    "8424": "village_clinic",  # 村卫生室
    "8425": "other",  # 门诊部（所）
    **{f"843{i}": "other" for i in range(1, 7)},  # 疾控, 专科疾病防治, 妇幼保健, 急救, 采供血, 计生
    "8491": "other",
    "8492": "other",
    "8499": "other",
}
_CODE_RE = re.compile(r"^Q?(\d{4})$")

# --- words -----------------------------------------------------------------------------------

# Public-health and other non-primary institutions: checked before the tier words, because e.g.
# "妇幼保健院" would otherwise match nothing and "急救中心" should never read as a center.
_OTHER_WORDS = (
    "妇幼保健",
    "疾控",
    "疾病预防控制",
    "卫生监督",
    "卫生管理",
    "血站",
    "采供血",
    "急救",
    "救护",
    "计划生育",
    "专科疾病防治",
)
# (substring, tier), first match wins. Used for type text; order from specific to generic.
_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("家庭医生", "family_doctor_point"),
    ("签约服务点", "family_doctor_point"),
    ("社区卫生服务中心", "community_center"),
    ("社区卫生服务站", "community_station"),
    ("医疗次中心", "hospital"),
    *((w, "other") for w in _OTHER_WORDS),
    ("门诊部", "other"),
    ("诊所", "other"),
    ("村卫生室", "village_clinic"),
    ("卫生室", "village_clinic"),
    ("乡镇卫生院", "township_center"),
    ("中心卫生院", "township_center"),
    ("街道卫生院", "township_center"),
    ("卫生院", "township_center"),
    ("县医院", "hospital"),
    ("人民医院", "hospital"),
    ("中医院", "hospital"),
    ("医院", "hospital"),
)
# Lower-case English phrases (type text), first match wins.
_ENGLISH_WORDS: tuple[tuple[str, str], ...] = (
    ("family doctor", "family_doctor_point"),
    ("family-doctor", "family_doctor_point"),
    ("community health service center", "community_center"),
    ("community health service centre", "community_center"),
    ("community health center", "community_center"),
    ("community health centre", "community_center"),
    ("community health service station", "community_station"),
    ("community health station", "community_station"),
    ("maternal", "other"),
    ("child health", "other"),
    ("disease control", "other"),
    ("cdc", "other"),
    ("village clinic", "village_clinic"),
    ("village health", "village_clinic"),
    ("township", "township_center"),
    ("medical sub-center", "hospital"),
    ("medical sub-centre", "hospital"),
    ("hospital", "hospital"),
    ("health center", "community_center"),
    ("health centre", "community_center"),
)
_TIER_ALIASES = {t: t for t in TIERS} | {
    "center": "community_center",
    "station": "community_station",
    "family_doctor": "family_doctor_point",
    "township": "township_center",
    "village": "village_clinic",
}


def _name_tier(name: str) -> str | None:
    """Tier from an unambiguous keyword of a facility name, else None."""
    if not name:
        return None
    if "家庭医生" in name:
        return "family_doctor_point"
    if "社区卫生服务中心" in name:
        return "community_center"
    if "社区卫生服务站" in name:
        return "community_station"
    if any(w in name for w in _OTHER_WORDS):
        return "other"
    if "村卫生室" in name or name.endswith("卫生室"):
        return "village_clinic"
    if "医疗次中心" in name:
        return "hospital"
    if "卫生院" in name:  # 乡镇卫生院, 中心卫生院, 街道卫生院 and their branches (分院)
        return "township_center"
    if "医院" in name:
        return "hospital"
    return None


def _clean(value: Any) -> str:
    """A type value as clean text: '' for missing, integers without '.0', whitespace removed."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value)
    if text.lower() in ("nan", "none", "<na>"):
        return ""
    return "".join(text.split()) if _CODE_RE.match("".join(text.split()).upper()) else text.strip()


def _code(text: str) -> str | None:
    m = _CODE_RE.match(text.upper())
    return m.group(1) if m else None


def _text_tier(text: str) -> str | None:
    """Tier from type text (Chinese words, English words, tier names), else None."""
    for word, tier in _TYPE_WORDS:
        if word in text:
            return tier
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    if key in _TIER_ALIASES:
        return _TIER_ALIASES[key]
    low = text.lower()
    for word, tier in _ENGLISH_WORDS:
        if word in low:
            return tier
    return None


def classify_tier(
    types: Iterable[Any],
    names: Iterable[Any] | None = None,
    *,
    edition: str = "auto",
    default: str = "other",
) -> np.ndarray:
    """Map facility type values (and optionally names) to tiers of :data:`TIERS`.

    A type value is read, in this order, as

    1. a GB/T 4754 industry code (``"Q8323"``, ``"8323"``, ``8323``; stray whitespace such as
       ``"\\r\\n"`` ignored; edition 2011 or 2017, see the module notes),
    2. Chinese type text (``社区卫生服务中心``, ``乡镇卫生院``, ``村卫生室``, ``人民医院`` ...;
       public-health institutions such as ``妇幼保健院`` or ``疾控中心`` are ``"other"``),
    3. a tier name itself (``"village_clinic"``),
    4. English words (``"community health service center"``, ``"township health center"``,
       ``"hospital"``; a bare ``"health center"`` reads as a community center).

    When ``names`` are given, an unambiguous keyword of the name (ends with ``卫生室`` ->
    village clinic, ``社区卫生服务中心``, ``社区卫生服务站``, ``卫生院`` -> township center,
    ``医院`` -> hospital, ``妇幼保健``/``疾控``/``救护``/``卫生管理`` ... -> other) overrides a
    *code* or an unrecognised type, because registers code many facilities generically (the
    Longshan file codes village clinics as ``Q8322``/``Q8323``). Explicit type *text* wins over
    the name. Anything unrecognised gets ``default`` (``"other"``); facilities recognised as
    non-primary (妇幼保健院, 疾控, public-health codes ...) stay ``"other"`` whatever the default.

    Parameters
    ----------
    types : iterable
        Type values, one per facility (strings, numbers or missing values).
    names : iterable, optional
        Facility names, same length as ``types``.
    edition : {"auto", "2011", "2017"}
        Edition of GB/T 4754 the codes follow.
    default : str
        Tier of unrecognised (or missing) types whose name says nothing either, e.g.
        ``"community_station"`` for a file of proposed stations without a type column.

    Returns
    -------
    numpy.ndarray of str
        One tier per facility.

    Examples
    --------
    >>> classify_tier(["Q8323\\r\\n", "社区卫生服务站", "hospital", None]).tolist()
    ['township_center', 'community_station', 'hospital', 'other']
    >>> classify_tier(["8424", "8423"]).tolist()  # no 83xx code: read as GB/T 4754-2017
    ['village_clinic', 'township_center']
    >>> classify_tier(["Q8323", "Q8322"], ["桐木村卫生室", "龙山县第二人民医院"]).tolist()
    ['village_clinic', 'hospital']
    """
    type_list = [_clean(t) for t in types]
    if names is None:
        name_list = [""] * len(type_list)
    else:
        name_list = [_clean(v) for v in names]
        if len(name_list) != len(type_list):
            raise InputError(
                f"classify_tier: {len(type_list)} types but {len(name_list)} names. "
                "Fix: pass one name per type."
            )
    if default not in TIERS:
        raise InputError(
            f"classify_tier: default must be one of {', '.join(TIERS)}, not {default!r}. "
            "Fix: pass one of those tiers."
        )
    if edition not in ("auto", "2011", "2017"):
        raise InputError(
            f"classify_tier: edition must be 'auto', '2011' or '2017', not {edition!r}. "
            "Fix: pass edition='auto' to detect it from the codes."
        )
    if edition == "auto":
        has_2011 = any((c := _code(t)) is not None and c.startswith("83") for t in type_list)
        edition = "2011" if has_2011 else "2017"
    codes = _CODES_2011 if edition == "2011" else _CODES_2017

    cache: dict[tuple[str, str], str] = {}
    out = []
    for text, name in zip(type_list, name_list, strict=True):
        key = (text, name)
        tier = cache.get(key)
        if tier is None:
            code = _code(text)
            if code is not None:
                tier = _name_tier(name) or codes.get(code, default)
            else:
                tier = _text_tier(text) if text else None
                if tier is None:
                    tier = _name_tier(name) or default
            cache[key] = tier
        out.append(tier)
    return np.asarray(out, dtype=str) if out else np.asarray([], dtype=str)


# --- rules -----------------------------------------------------------------------------------


class FrozenMap(Mapping[str, Any]):
    """A read-only, hashable mapping (so that :class:`Rules` stays hashable)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items())))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._data)


@dataclasses.dataclass(frozen=True)
class Rules:
    """Default values of the planning rules of ``standards.md`` (each field cites its rule).

    Frozen and hashable; change a value with ``dataclasses.replace(Rules(), coverage_minutes=10)``.

    Examples
    --------
    >>> Rules().coverage_minutes
    15.0
    >>> Rules().min_floor_area_m2["village_clinic"]
    100.0
    """

    coverage_minutes: float = 15.0
    """Rule 1: every resident within this many minutes of a primary-care facility (15-minute
    medical service circle, 城区15分钟医疗服务圈)."""

    coverage_target_share: float = 1.0
    """Rule 1: the share of residents that must be inside the circle (Kaifeng and Qingdao aim
    at full urban coverage: 1.0)."""

    center_per_subdistrict: bool = True
    """Rule 2: one community health service center (社区卫生服务中心) per subdistrict (街道)."""

    residents_per_center: tuple[int, int] = (30_000, 100_000)
    """Rule 2: alternatively one center per 30,000-100,000 residents."""

    large_subdistrict_residents: int = 100_000
    """Rule 2: a subdistrict above this population may add centers or more stations (Qingdao)."""

    extra_centers_large_subdistrict: tuple[int, int] = (1, 2)
    """Rule 2: how many extra centers a large subdistrict may add."""

    station_per_community: bool = True
    """Rule 3: a community health service station (社区卫生服务站) per community (社区) that
    reaches a population threshold."""

    station_min_residents: int | None = None
    """Rule 3: that threshold; the plans do not fix a number (None: every community)."""

    township_center_per_township: bool = True
    """Rule 4: one government-run township health center (乡镇卫生院) per township (乡镇)."""

    clinic_per_village: bool = True
    """Rule 5: one village clinic (村卫生室) per administrative village (行政村)."""

    villages_may_share_clinic: bool = True
    """Rule 5: adjacent small, well-connected villages may share one clinic (Kaifeng)."""

    plan_facility_with_new_housing: bool = True
    """Rule 6: new residential areas plan their medical facility together with the housing."""

    min_floor_area_m2: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: FrozenMap(
            {
                "community_center": 3500.0,
                "community_station": 300.0,
                "village_clinic": 100.0,
                "hospital": 5000.0,
            }
        )
    )
    """Rule 7: minimum floor area of new premises per tier (Qingdao); ``hospital`` is the
    community hospital figure."""

    min_beds_community_center: int = 30
    """Rule 7: a new community health service center has at least 30 beds."""

    staff_per_1000: tuple[float, float] = (1.0, 1.5)
    """Rule 8: township health center staff per 1,000 residents."""

    village_doctors_per_1000: tuple[float, float] = (1.0, 1.5)
    """Rule 8: village doctors per 1,000 residents."""

    gp_per_10000: float = 4.0
    """Rule 8: general practitioners per 10,000 residents (target for 2025)."""

    life_circle_walk_m: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: FrozenMap({"5": 300.0, "10": 500.0, "15": 1000.0})
    )
    """GB 50180-2018 (as commonly cited, not a numbered rule): walking distance of the 5-, 10- and
    15-minute life circles, shown beside the network-time results (15 minutes: 800-1,000 m)."""

    def __post_init__(self) -> None:
        problems = []
        for name in ("min_floor_area_m2", "life_circle_walk_m"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                problems.append(f"{name} must be a mapping, not {type(value).__name__}")
                continue
            object.__setattr__(self, name, FrozenMap({str(k): float(v) for k, v in value.items()}))
        for name in (
            "residents_per_center",
            "extra_centers_large_subdistrict",
            "staff_per_1000",
            "village_doctors_per_1000",
        ):
            value = tuple(getattr(self, name))
            if len(value) != 2 or value[0] > value[1] or value[0] < 0:
                problems.append(
                    f"{name} must be a (low, high) pair with 0 <= low <= high, got {value}"
                )
            object.__setattr__(self, name, value)
        if not self.coverage_minutes > 0:
            problems.append(f"coverage_minutes must be > 0, got {self.coverage_minutes}")
        if not 0 < self.coverage_target_share <= 1:
            problems.append(
                f"coverage_target_share must be in (0, 1], got {self.coverage_target_share}"
            )
        if problems:
            raise ScenarioError("Rules: " + "; ".join(problems))
        object.__setattr__(self, "coverage_minutes", float(self.coverage_minutes))
        object.__setattr__(self, "gp_per_10000", float(self.gp_per_10000))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists and dicts only) for TOML/JSON; ``Rules(**d)`` reads it back."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out
