"""What the app's panels share (:mod:`planner.app.actions`, :mod:`~planner.app.sidebar`,
:mod:`~planner.app.panels`, :mod:`~planner.app.tabs`, :mod:`~planner.app.optimizer_tab`,
:mod:`~planner.app.page`): the session state, the text in the session's language, names of
tiers, groups and rules for the reader, table formatting and :class:`View`, what the panels of
one run draw from.

Imported only inside ``streamlit run app.py`` (it imports Streamlit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

import planner
from planner import app as aps
from planner import i18n
from planner.app.compute import NO_AREA, NO_EDITS, Area, T
from planner.pipeline import CoverageSettings
from planner.scenario import Scenario

__all__ = ["T", "ss"]  # re-exported for the panels

ss = st.session_state

#: The key of the main map's component (its clicks and drawings are read back from it).
MAP_KEY = "map"
#: Tiers a new site can have (what a click adds, what the optimizer proposes).
NEW_SITE_TIERS = (
    "community_station",
    "community_center",
    "village_clinic",
    "township_center",
    "family_doctor_point",
    "hospital",
)

#: What a click on the map does: add a station, pick a facility, move the picked one there,
#: add a corner of the study boundary.
CLICK_ACTIONS = ("add", "pick", "move", "vertex")


def lang() -> str:
    """The session's language (``"zh"`` or ``"en"``)."""
    return i18n.Translator(ss.lang).lang


# A widget's format function is called again outside the run that drew it (Streamlit's
# testing, a rerun's diff): the functions below bind the language of the run that asks for
# them, rather than reading the session state when called.


def labelled(prefix: str) -> Callable[[str], str]:
    """A format function: ``v`` -> the text of ``prefix + v`` in this run's language."""
    t = i18n.Translator(lang())
    return lambda v: t(f"{prefix}{v}")


def tier_names() -> Callable[[str], str]:
    """A format function: a tier -> its name in this run's language."""
    lg = lang()
    return lambda tier: aps.tier_label(tier, lg)


def group_labels() -> Callable[[str], str]:
    """A format function: a population group (``""``: everyone) -> its name for the reader
    (known groups translated, others as named)."""
    t = i18n.Translator(lang())

    def label(group: str) -> str:
        key = f"group_{group or 'all'}"
        return t(key) if key in i18n.STRINGS else group

    return label


def rule_names() -> Callable[[str], str]:
    """A format function: a rule -> ``R1 <label>`` (the label does not depend on the minutes)."""
    lg = lang()
    return lambda rule: f"{rule} {aps.rule_text(rule, lg, minutes=15)[0]}"


def tier_name(tier: str) -> str:
    """A tier's name in the session's language."""
    return tier_names()(tier)


def group_label(group: str) -> str:
    """A population group's name for the reader."""
    return group_labels()(group)


def rule_name(rule: str) -> str:
    """``R1 <label>``."""
    return rule_names()(rule)


def chosen_basemap() -> tuple[str | None, str]:
    """(base map for the map, Tianditu key): none while a Tianditu key is missing."""
    name, tk = ss.w_basemap, (ss.w_tianditu_key or "").strip()
    if name == "none" or (aps.basemap_needs_key(name) and not tk):
        return None, ""
    return name, tk if aps.basemap_needs_key(name) else ""


def fmt_kind(v: str) -> str:
    return T(f"kind_{v}") if v else ""


def fmt_status(v: str) -> str:
    return T(f"status_{v}")


def township_table(result: planner.CoverageResult, whatif: aps.WhatIf | None) -> pd.DataFrame:
    tab = result.admin_summary
    if tab is None:  # no population: the coverage tab says so instead
        return pd.DataFrame()
    t = tab[tab["level"] == "township"].copy()
    out = pd.DataFrame(
        {
            T("col_unit"): t["admin_name"].to_numpy(),
            T("col_kind"): [fmt_kind(k) for k in t["kind"]],
            T("col_population"): t["population"].round().to_numpy(),
            T("col_covered"): t["covered_population"].round().to_numpy(),
            T("col_uncovered"): t["uncovered_population"].round().to_numpy(),
            T("col_share"): (100 * t["covered_share"]).round(1).to_numpy(),
            T("col_mean_minutes"): t["mean_minutes"].round(1).to_numpy(),
        }
    )
    if whatif is not None:
        pa = whatif.per_admin
        gain = pa[pa["level"] == "township"].set_index("admin_code")["newly_covered_population"]
        g = t["admin_code"].map(gain).fillna(0.0).to_numpy()
        out[T("col_newly")] = g.round()
        out[T("col_share_after")] = (
            100 * (t["covered_population"].to_numpy() + g) / t["population"].to_numpy()
        ).round(1)
    return out


def standards_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The standards summary as readable text: separators, per cent, "–" for nothing."""
    t = aps.standards_display(summary, lang(), minutes=planner.Rules().coverage_minutes)
    return t.rename(columns={c: T(f"col_{c}") for c in t.columns})


def cnt(values: Any) -> list[str]:
    """Counts as text for a table: "1,234", "–" for none (never None or nan)."""
    return [aps.count_text(v) for v in values]


def val(rules: Any, values: Any) -> list[str]:
    """Unit values as text: per cent for R1, residents otherwise, "–" for none."""
    return [aps.value_text(r, v) for r, v in zip(rules, values, strict=True)]


def fmt_figure(rule: str, v: float) -> str:
    """A rule's figure for a table cell: "–" when there is none (never "nan %")."""
    return aps.figure_text(rule, v)


@dataclass(frozen=True)
class View:
    """What the panels of one run draw from."""

    sc: Scenario
    ds: planner.Dataset
    result: planner.CoverageResult
    key: tuple[str, ...]
    settings: CoverageSettings
    whatif: aps.WhatIf | None
    std_units: pd.DataFrame
    std_summary: pd.DataFrame
    opt: dict | None
    opt_run: Any
    edits: aps.FacilityEdits = NO_EDITS
    area: Area = NO_AREA
    #: whether the standards tab is the one shown: the standards after the changes (a third of
    #: a click's work) are checked only when they are looked at (or exported)


def signed(x: float) -> str:
    """A change in residents with its sign: "+1,234", "-567", "+0" (never "-0")."""
    v = round(float(x))
    return f"{v + 0:+,d}"


def facilities_after(v: View) -> int:
    """Facilities counted with the edits and the proposed sites."""
    n = len(v.result.facilities)
    if v.edits:
        reg = v.edits.apply(v.ds.facilities)
        n = len(reg[reg["tier"].isin(list(v.settings.selected_tiers))])
    return n + len(v.sc.proposed)
