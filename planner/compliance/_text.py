"""The people-facing sentences of the compliance checks, in English and Chinese.

Every ``detail`` and ``fix`` of a check line is built as a :class:`Msg`: a sequence of
``(key, fields)`` fragments rendered with the templates of :data:`TEXT` in one language. The
report keeps the English rendering in its tables (their documented content, read by programs)
and the messages beside them, so :meth:`ComplianceReport.localized` can render the same lines in
Chinese. Both templates of a key format the same fields with the same number formats, so a
line's figures are identical in every language (``tests/test_compliance_lang.py``).

The Chinese wording follows the standards' own terms (``docs/standards.md``): 社区卫生服务中心,
社区卫生服务站, 乡镇卫生院, 村卫生室, 行政村, 街道, 常住人口, 15分钟医疗服务圈.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGS = ("en", "zh")


@dataclass(frozen=True)
class Term:
    """A word that differs by language (a tier, a travel mode): ``en`` and ``zh``."""

    en: str
    zh: str

    def render(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Msg:
    """A sentence made of template fragments ``(key, fields)``; ``+`` joins two."""

    parts: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    def __add__(self, other: Msg) -> Msg:
        return Msg(self.parts + other.parts)

    def __bool__(self) -> bool:
        return bool(self.parts)

    def keys(self) -> set[str]:
        """The template keys this message uses, nested ones included."""
        out = set()
        for key, fields in self.parts:
            out.add(key)
            for _, v in fields:
                if isinstance(v, Msg):
                    out |= v.keys()
        return out

    def render(self, lang: str = "en") -> str:
        out = []
        for key, fields in self.parts:
            en, zh = TEXT[key]
            template = zh if lang == "zh" else en
            out.append(template.format(**{k: render(v, lang) for k, v in fields}))
        return "".join(out)


EMPTY = Msg()


def msg(key: str, **fields: Any) -> Msg:
    """One fragment: the template ``key`` of :data:`TEXT` with ``fields``."""
    return Msg(((key, tuple(fields.items())),))


def render(value: Any, lang: str = "en") -> Any:
    """A field or a whole message in ``lang`` (numbers and plain strings as they are)."""
    if isinstance(value, Msg | Term):
        return value.render(lang)
    return value


#: Chinese names of the tiers (the standards' terms); English keeps the tier code.
TIER_ZH = {
    "community_center": "社区卫生服务中心",
    "community_station": "社区卫生服务站",
    "family_doctor_point": "家庭医生服务点",
    "hospital": "医院",
    "township_center": "乡镇卫生院",
    "village_clinic": "村卫生室",
    "other": "其他机构",
}

MODE_ZH = {"walk": "步行", "ebike": "骑电动自行车", "drive": "驾车"}


def tier(code: str) -> Term:
    """A tier code as the English lines show it (the code) and its Chinese name."""
    return Term(str(code), TIER_ZH.get(str(code), str(code)))


def mode(code: str) -> Term:
    return Term(str(code), MODE_ZH.get(str(code), str(code)))


def pop_text(x: float) -> Any:
    """Residents with separators, or "n/a" (无数据) when unknown."""
    return Term("n/a", "无数据") if not math.isfinite(x) else f"{x:,.0f}"


#: ``{key: (en, zh)}``. The English templates are the lines' documented wording.
TEXT: dict[str, tuple[str, str]] = {
    # -- shared ------------------------------------------------------------------------------
    "no_boundaries": ("no boundaries loaded", "未载入行政区划边界"),
    "no_population": ("no population loaded", "未载入人口数据"),
    "rule_off": ("{flag} is off in these rules", "本次规则未启用此项（{flag}）"),
    "not_counted": (
        "{label} ({tier}) facilities were not part of the analysis; pass facilities= with the "
        "full register",
        "本次分析未纳入{label}；请提供完整的医疗机构名录（facilities=）",
    ),
    "proposed_there": ("; proposed sites there: {props}", "；该单元内的建议站点：{props}"),
    "site": ("{site} ({tier})", "{site}（{tier}）"),
    "site_gain": (
        "{site} ({tier}, +{gain:,.0f} residents)",
        "{site}（{tier}，新增覆盖{gain:,.0f}人）",
    ),
    "sep": ("; ", "；"),
    # -- rule 1 ------------------------------------------------------------------------------
    "r1_no_population": (
        "no population was loaded: the share of residents cannot be computed",
        "未载入人口数据，无法计算常住人口覆盖比例",
    ),
    "r1_no_residents": ("no residents in the population data", "人口数据中无常住人口"),
    "r1_detail": (
        "{c:,.0f} of {p:,.0f} residents ({pct} %) within {mins:g} min; {out:,.0f} beyond",
        "常住人口{p:,.0f}人中{c:,.0f}人（{pct}%）在{mins:g}分钟内可达，其余{out:,.0f}人超出",
    ),
    "r1_fix": (
        "bring {n:,.0f} more residents within {mins:g} min",
        "需使另外{n:,.0f}名常住人口进入{mins:g}分钟医疗服务圈",
    ),
    "r1_largest": (
        "; the largest uncovered area holds {pop:,.0f} residents around {where} "
        "({area:.2f} km2, {mm})",
        "；最大的未覆盖片区在{where}一带，有{pop:,.0f}人（{area:.2f}平方公里，{mm}）",
    ),
    "r1_unreachable": ("no facility reachable", "无可达医疗机构"),
    "r1_mean": ("mean {m:.0f} min", "平均{m:.0f}分钟"),
    "r1_with_proposals": (
        "; with the proposals {share:.1f} % (+{gain:,.0f} residents)",
        "；按建议选址覆盖率可达{share:.1f}%（新增{gain:,.0f}人）",
    ),
    "r1_from_sites": (" from sites {props}", "，来自站点{props}"),
    "r1_see_townships": ("; see the township lines", "；详见各乡镇的检查结果"),
    "r1_areas": (
        "; {n} uncovered areas, the largest with {pop:,.0f} residents ({area:.2f} km2, see "
        "result.uncovered)",
        "；共{n}个未覆盖片区，最大的有{pop:,.0f}人（{area:.2f}平方公里，见 result.uncovered）",
    ),
    # -- rule 2 ------------------------------------------------------------------------------
    "r2_no_subdistrict": (
        "no subdistrict (街道, kind 'subdistrict') in the boundaries",
        "行政区划边界中没有街道（kind 为 subdistrict）",
    ),
    "r2a_fix": (
        "add 1 community health service center (社区卫生服务中心) in {name}",
        "在{name}增设1个社区卫生服务中心",
    ),
    "r2a_detail": (
        "{k} community health service center(s) in {name}",
        "{name}有社区卫生服务中心{k}个",
    ),
    "r2b_fix": (
        "add {extra} community health service center{s} in {name} ({pop:,.0f} residents, more "
        "than {hi:,} per center)",
        "在{name}增设{extra}个社区卫生服务中心（常住人口{pop:,.0f}人，每个中心服务超过{hi:,}人）",
    ),
    "r2b_large": (
        ", or - as Qingdao allows above {large:,} residents - {lo}-{hi} extra centers or more "
        "stations (it has {st} stations)",
        "，或按青岛做法（常住人口超过{large:,}人）增设{lo}-{hi}个中心或更多社区卫生服务站"
        "（现有服务站{st}个）",
    ),
    "r2b_detail": (
        "{pop:,.0f} residents, {k} center(s): {per} residents per center (planning range "
        "{lo:,}-{hi:,})",
        "常住人口{pop:,.0f}人，社区卫生服务中心{k}个，每个中心服务{per}人（规划范围{lo:,}-{hi:,}人）",
    ),
    "r2b_detail_none": (
        "{pop:,.0f} residents, {k} center(s): no residents per center (planning range "
        "{lo:,}-{hi:,})",
        "常住人口{pop:,.0f}人，社区卫生服务中心{k}个，无中心分担（规划范围{lo:,}-{hi:,}人）",
    ),
    "r2b_pass": (
        "no subdistrict has more than {hi:,} residents (one center each suffices)",
        "没有常住人口超过{hi:,}人的街道（每个街道设一个中心即可）",
    ),
    # -- rule 3 ------------------------------------------------------------------------------
    "r3_no_community": (
        "no community (社区, kind 'community') in the boundaries",
        "行政区划边界中没有社区（kind 为 community）",
    ),
    "r3_detail": (
        "{k_st} station(s) and {k_ce} center(s) in {name}",
        "{name}有社区卫生服务站{k_st}个、社区卫生服务中心{k_ce}个",
    ),
    "r3_below": (
        "; below {thr:,} residents: no station required",
        "；常住人口不足{thr:,}人，不要求设站",
    ),
    "r3_fix": (
        "add 1 community health service station (社区卫生服务站) in {name}",
        "在{name}增设1个社区卫生服务站",
    ),
    # -- rule 4 ------------------------------------------------------------------------------
    "r4_no_town": (
        "no town or township (镇/乡, kind 'town'/'township') in the boundaries",
        "行政区划边界中没有镇或乡（kind 为 town/township）",
    ),
    "r4_fix": (
        "add 1 township health center (乡镇卫生院) in {name}",
        "在{name}设置1所政府办乡镇卫生院",
    ),
    "r4_detail": ("{k} township health center(s) in {name}", "{name}有乡镇卫生院{k}所"),
    # -- rule 5 ------------------------------------------------------------------------------
    "r5_no_village": (
        "no administrative village (行政村, level 'village', kind 'village') in the boundaries",
        "行政区划边界中没有行政村（level 与 kind 均为 village）",
    ),
    "r5_own": ("own clinic {ids}", "有本村卫生室 {ids}"),
    "r5_outside": (" (stands outside the village boundary)", "（位于村界之外）"),
    "r5_shared": (
        "no clinic of its own; shares {clinic} of {village}, which {share:.0f} % of its "
        "residents reach within {mins:g} min ({mode}, median {med:.1f} min)",
        "无本村卫生室；与{village}共用{clinic}，本村{share:.0f}%的常住人口{mode}{mins:g}分钟内可达"
        "（中位时间{med:.1f}分钟）",
    ),
    "r5_shared_fix": (
        "add a village clinic in {name} (sharing is not allowed by these rules)",
        "在{name}设置村卫生室（本次规则不允许共用）",
    ),
    "r5_none": ("no clinic of its own", "无本村卫生室"),
    "r5_inside": (
        "; {n} clinic(s) of other villages stand inside it",
        "；村内有其他村的卫生室{n}个",
    ),
    "r5_best": (
        "; the best clinic nearby reaches {share:.0f} % of its residents within {mins:g} min",
        "；附近最近便的卫生室{mins:g}分钟内可覆盖本村{share:.0f}%的常住人口",
    ),
    "r5_no_residents": ("; no residents in the population data", "；人口数据中本村无常住人口"),
    "r5_fix": (
        "add 1 village clinic (村卫生室) in {name} ({pop} residents)",
        "在{name}设置1个村卫生室（常住人口{pop}人）",
    ),
    "r5_link": (
        ", or improve the link to {clinic} ({share:.0f} % within {mins:g} min now)",
        "，或改善到{clinic}的交通（目前{mins:g}分钟内可达{share:.0f}%）",
    ),
    # -- rules 6-7 ---------------------------------------------------------------------------
    "r6_needs_layer": (
        "needs a layer of planned housing with its planned facility, which the data do not "
        "carry; model planned housing as added population with its station in a scenario",
        "需要规划住区及其配套医疗设施的图层，现有数据中没有；可在情景方案中把规划住区作为新增人口，"
        "并同时加入其配套的社区卫生服务站",
    ),
    "r7_no_proposals": (
        "no proposed premises given (pass proposals=)",
        "未提供拟建设施（proposals=）",
    ),
    "r7_no_area": (
        "the proposed sites carry no floor_area_m2 (choose candidates from premises with floor "
        "areas, e.g. candidate_sites(source='file'))",
        "建议站点没有建筑面积（floor_area_m2）；请从注明建筑面积的备选房屋中选址，"
        "例如 candidate_sites(source='file')",
    ),
    "r7_label": ("proposed {tier} {site}", "拟建{tier} {site}"),
    "r7_no_rule": ("{label}: no size rule for this tier", "{label}：此类机构无面积标准"),
    "r7_unknown": ("{label}: floor area unknown", "{label}：建筑面积不详"),
    "r7_detail": (
        "{label}: {area:,.0f} m2 (minimum {need:,.0f} m2)",
        "{label}：建筑面积{area:,.0f}平方米（最低{need:,.0f}平方米）",
    ),
    "r7_fix": (
        "choose premises of at least {need:,.0f} m2 for {site}",
        "为{site}选择建筑面积不少于{need:,.0f}平方米的房屋",
    ),
    "r7_beds": (", {beds:.0f} beds (minimum {min})", "，床位{beds:.0f}张（最低{min}张）"),
    "r7_beds_fix": (" and {min} beds", "，床位不少于{min}张"),
    # -- rule 8 ------------------------------------------------------------------------------
    "r8_no_towns": ("no towns/townships in the boundaries", "行政区划边界中没有镇或乡"),
    "r8_tc_not_analysed": ("township centers not analysed", "分析未包括乡镇卫生院"),
    "r8a_none": ("no township health center (see rule 4)", "无乡镇卫生院（见第4条）"),
    "r8a_detail": (
        "{per:,.0f} residents per township health center ({k}); that population implies "
        "{lo:,.0f}-{hi:,.0f} staff at {s_lo:g}-{s_hi:g} per 1,000",
        "每所乡镇卫生院服务{per:,.0f}人（共{k}所）；按每1,000人配{s_lo:g}-{s_hi:g}人计，"
        "需人员{lo:,.0f}-{hi:,.0f}人",
    ),
    "r8a_counted": ("; staff counted {tot:,.0f}", "；现有人员{tot:,.0f}人"),
    "r8a_fix": (
        "add {n} staff in {name}'s township health center",
        "{name}乡镇卫生院需增加人员{n}人",
    ),
    "r8a_no_staff": (
        "; no staff counts in the facility data to check against",
        "；机构数据中没有人员数，无法核对",
    ),
    "r8b_none": (
        "no population or no administrative villages",
        "未载入人口数据或没有行政村",
    ),
    "r8b_detail": (
        "{k} clinics serve {p:,.0f} residents of their villages ({per} per clinic, largest "
        "{largest}); that implies {lo:,.0f}-{hi:,.0f} village doctors",
        "{k}个村卫生室服务本村常住人口{p:,.0f}人（平均每个卫生室{per}人，最多{largest}人）；"
        "据此需乡村医生{lo:,.0f}-{hi:,.0f}名",
    ),
    "r8b_per_clinic": (" ({a:.1f}-{b:.1f} per clinic)", "（每个卫生室{a:.1f}-{b:.1f}名）"),
    "r8b_fix": ("add {n} village doctors", "需增加乡村医生{n}名"),
    "r8b_no_staff": ("; no staff counts to check against", "；没有人员数，无法核对"),
    "r8c_detail": (
        "{have:,.0f} general practitioners for {p:,.0f} residents (need {need:,.0f})",
        "常住人口{p:,.0f}人，有全科医生{have:,.0f}名（需{need:,.0f}名）",
    ),
    "r8c_fix": ("add {n} general practitioners", "需增加全科医生{n}名"),
    "r8c_need": (
        "{p:,.0f} residents need {need:,.0f} general practitioners at {g:g} per 10,000; no GP "
        "counts in the facility data",
        "常住人口{p:,.0f}人，按每10,000人{g:g}名计需全科医生{need:,.0f}名；机构数据中没有全科医生人数",
    ),
    # -- the rules table's summary -------------------------------------------------------------
    "sum_pass": ("{check}: {ok} of {n} pass", "{check}：{n}项中{ok}项达标"),
    "sum_fail": (", {f} fail", "，{f}项未达标"),
    "sum_na": ("; {n} not assessed", "；{n}项未评估"),
    "sum_reason": ("{check}: {reason}", "{check}：{reason}"),
    "sum_range": (
        "{check}: {metric} {lo:,.0f}-{hi:,.0f} over {n} units{reason}",
        "{check}：{n}个单元的{metric}为{lo:,.0f}-{hi:,.0f}{reason}",
    ),
    "sum_lines": ("{check}: {n} lines{reason}", "{check}：{n}条{reason}"),
    "sum_tail": (" ({tail})", "（{tail}）"),
    # -- proposals table -----------------------------------------------------------------------
    "address": ("rule {check} ({name})", "第{check}条（{name}）"),
    # -- compliance_lines ----------------------------------------------------------------------
    "lines_head": (
        "standards compliance: {name}{tag}",
        "基层医疗卫生设施标准达标情况：{name}{tag}",
    ),
    "lines_synthetic": (" [SYNTHETIC DEMO DATA]", "【示范数据，非真实地区】"),
    "lines_rule": (
        "rule {rule} {title}: {status} - {summary}",
        "第{rule}条 {title}：{status} - {summary}",
    ),
    "lines_fails": (
        "{n} failing lines; what would fix them (first {k} per check):",
        "未达标{n}项；改进办法（每个检查项列出前{k}项）：",
    ),
    "lines_fix": ("  [{check}] {name}: {fix}", "  [{check}] {name}：{fix}"),
    "lines_more": (
        "  [{check}] ... and {n} more (see the report files)",
        "  [{check}] ……另有{n}项（见报告文件）",
    ),
    "lines_gini": (
        "equity: Gini of mean access time across townships {g:.3f}, villages {v:.3f}",
        "公平性：各乡镇平均出行时间的基尼系数{g:.3f}，各村{v:.3f}",
    ),
    "lines_urban": (
        "urban vs rural: mean {u:.1f} vs {r:.1f} min (rural - urban {gap:+.1f} min), within "
        "{mins:g} min {cu:.1f} % vs {cr:.1f} %",
        "城乡比较：平均出行时间城区{u:.1f}分钟、农村{r:.1f}分钟（农村减城区{gap:+.1f}分钟），"
        "{mins:g}分钟内覆盖率城区{cu:.1f}%、农村{cr:.1f}%",
    ),
    "lines_groups": (
        "population groups within {mins:g} min: {groups}",
        "各人群{mins:g}分钟内覆盖率：{groups}",
    ),
    "lines_group": ("{group} {share:.1f} %", "{group}{share:.1f}%"),
    "lines_group_sep": (", ", "，"),
    # -- compliance_markdown / compliance_html -------------------------------------------------
    "doc_md_title": (
        "# Standards compliance report: {name}\n",
        "# {name}：基层医疗卫生设施标准达标报告\n",
    ),
    "doc_md_synthetic": (
        "> **Synthetic demo data** (示范县 does not exist): an example of the report, not a real "
        "place.\n",
        "> **合成示范数据**（示范县并不存在）：仅为报告示例，不是真实地区。\n",
    ),
    "doc_md_meta": (
        "Mode **{mode}**, threshold **{mins:g} min**, population {pop}, {n} facilities, planner "
        "{version}. Rules from `standards.md` (values in the settings table).\n",
        "出行方式**{mode}**，时间阈值**{mins:g}分钟**，常住人口{pop}，医疗机构{n}个，planner {version}。"
        "条款依据 `standards.md`（取值见设置表）。\n",
    ),
    "doc_md_rules": ("## Rules\n", "## 标准条款\n"),
    "doc_md_rules_checked": ("\n### The rules as checked\n", "\n### 本次检查的条款\n"),
    "doc_md_rule_text": ("{rule}. **{title}**: {text}", "第{rule}条 **{title}**：{text}"),
    "doc_md_failures": ("## Failures and what would fix them\n", "## 未达标项及改进办法\n"),
    "doc_md_rule_failing": (
        "### Rule {rule}: {title} ({n} failing)\n",
        "### 第{rule}条 {title}（{n}项未达标）\n",
    ),
    "doc_md_not_assessed": ("## Not assessed\n", "## 未评估\n"),
    "doc_md_equity": ("## Equity\n", "## 公平性\n"),
    "doc_md_quantiles": (
        "Travel time to the nearest facility (minutes), population-weighted quantiles:\n",
        "到最近医疗机构的出行时间（分钟），按人口加权的分位数：\n",
    ),
    "doc_md_gini": (
        "\nGini coefficient of access time and the urban-rural gap:\n",
        "\n出行时间的基尼系数与城乡差距：\n",
    ),
    "doc_md_proposals": ("## Proposed sites\n", "## 建议站点\n"),
    "doc_md_units": ("## Admin units\n", "## 各行政单元\n"),
    "doc_md_all_checks": ("## All checks\n", "## 全部检查\n"),
    "doc_md_settings": ("## Settings\n", "## 设置\n"),
    "doc_html_title": ("Standards compliance: {name}", "{name}：标准达标情况"),
    "doc_html_h1": ("Standards compliance report: {name}", "{name}：基层医疗卫生设施标准达标报告"),
    "doc_html_synthetic": (
        '<p class="note"><strong>Synthetic demo data</strong> (示范县 does not exist): an example '
        "of the report, not a real place.</p>",
        '<p class="note"><strong>合成示范数据</strong>（示范县并不存在）：仅为报告示例，不是真实地区。</p>',
    ),
    "doc_html_meta": (
        "<p>Mode <b>{mode}</b>, threshold <b>{mins:g} min</b>, population {pop}, {n} facilities, "
        "planner {version}.</p>",
        "<p>出行方式<b>{mode}</b>，时间阈值<b>{mins:g}分钟</b>，常住人口{pop}，医疗机构{n}个，"
        "planner {version}。</p>",
    ),
    "doc_rules": ("Rules", "标准条款"),
    "doc_failures": ("Failures and what would fix them", "未达标项及改进办法"),
    "doc_rule_failing": ("Rule {rule}: {title} ({n} failing)", "第{rule}条 {title}（{n}项未达标）"),
    "doc_not_assessed": ("Not assessed", "未评估"),
    "doc_equity": ("Equity", "公平性"),
    "doc_quantiles": (
        "Travel time to the nearest facility (minutes), population-weighted quantiles:",
        "到最近医疗机构的出行时间（分钟），按人口加权的分位数：",
    ),
    "doc_proposals": ("Proposed sites", "建议站点"),
    "doc_units": ("Admin units", "各行政单元"),
    "doc_all_checks": ("All checks", "全部检查"),
    "doc_villages": ("Villages (rule 5)", "各行政村（第5条）"),
    "doc_facilities": ("Facilities (rule 8)", "各医疗机构（第8条）"),
    "doc_settings": ("Settings", "设置"),
    "doc_lorenz_aria": ("Lorenz curve of access time", "出行时间的洛伦兹曲线"),
    "doc_lorenz_label": ("{level}s (Gini {g:.3f})", "{level}（基尼系数{g:.3f}）"),
    "doc_lorenz_x": (
        "cumulative share of residents (units by mean time, shortest first)",
        "常住人口累计比例（单元按平均时间从短到长排列）",
    ),
    "doc_lorenz_y": ("cumulative share of travel time", "出行时间累计比例"),
}

#: Check statuses in lines for people.
STATUS_TEXT = {
    "pass": ("PASS", "达标"),
    "fail": ("FAIL", "未达标"),
    "not assessed": ("NOT ASSESSED", "未评估"),
}

#: The ``metric`` of the check lines, in Chinese (the English is the column's own value).
METRIC_ZH = {
    "share within threshold": "时限内人口比例",
    "community health centers": "社区卫生服务中心数",
    "subdistricts above the limit": "人口超限的街道数",
    "stations or centers": "社区卫生服务站和中心数",
    "township health centers": "乡镇卫生院数",
    "own village clinics": "本村卫生室数",
    "floor area m2": "建筑面积（平方米）",
    "residents per township health center": "每所乡镇卫生院服务人口",
    "staff": "人员数",
    "village doctors": "乡村医生数",
    "residents per village clinic": "每个村卫生室服务人口",
    "general practitioners": "全科医生数",
    "general practitioners needed": "所需全科医生数",
}

#: Names of the lines that stand for no admin unit (``admin_code`` empty).
PSEUDO_UNIT_ZH = {"all residents": "全体常住人口", "villages with a clinic": "有卫生室的行政村"}

#: Rule 5 status of a village (``villages.status``, ``units.rule5_status``).
VILLAGE_STATUS_ZH = {
    "own clinic": "有本村卫生室",
    "no clinic": "无卫生室",
    "shared": "共用邻村卫生室",
}

#: Groups of the travel-time and equity tables.
GROUP_ZH = {
    "all": "全体",
    "all residents": "全体常住人口",
    "urban (subdistricts)": "城区（街道）",
    "rural (towns and townships)": "农村（镇、乡）",
    "urban": "城区",
    "rural": "农村",
    "urban - rural": "城区 - 农村",
    "rural - urban": "农村 - 城区",
    "demand units": "需求单元",
    "township": "乡镇",
    "village": "村",
    "county": "县",
    "aged 65+": "65岁及以上",
    "aged under 5": "5岁以下",
}

UNIT_ZH = {"share": "比例", "min": "分钟"}

#: The equity table's notes: ``(pattern of the English note, Chinese template)``.
NOTE_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"mean access time across ([\d,]+) (\w+)-level units, population-weighted"),
        "{0}个{1}级单元的平均出行时间，按人口加权",
    ),
    (
        re.compile(r"access time across ([\d,]+) demand units \(residents who reach a facility\)"),
        "{0}个需求单元的出行时间（可到达医疗机构的居民）",
    ),
    (re.compile(r"within ([\d.]+) min, of ([\d,]+) residents"), "{0}分钟内，共{1}人"),
    (re.compile(r"within ([\d.]+) min"), "{0}分钟内"),
    (re.compile(r"positive: urban residents are covered more often"), "正值：城区居民覆盖更多"),
    (re.compile(r"positive: rural residents travel longer"), "正值：农村居民出行时间更长"),
    (re.compile(r"population-weighted"), "按人口加权"),
    (re.compile(r"weighted by the group's residents"), "按该人群人口加权"),
)

LEVEL_ZH = {"county": "县", "township": "乡镇", "village": "村"}


def note_zh(note: str) -> str:
    """An equity note in Chinese (a note of unknown form is kept)."""
    for pattern, template in NOTE_ZH:
        m = pattern.fullmatch(note)
        if m:
            fields = [LEVEL_ZH.get(g, g) for g in m.groups()]
            return template.format(*fields)
    return note


def translate_values(values: Any, table: Mapping[str, str], lang: str) -> list[Any]:
    """``values`` with the entries of ``table`` in Chinese (``lang="zh"``), others as they are."""
    if lang != "zh":
        return list(values)
    return [table.get(v, v) if isinstance(v, str) else v for v in values]
