"""The app keeps the facility edits and the study area with the working scenario: a page
reload (autosave, ``?ws=``), saving and loading a named scenario and the comparison table all
carry them, and the numbers shown after a reload equal the library's what-if."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import app as aps
from planner.i18n import Translator
from planner.scenario import FacilityEdits, Scenario, StudyArea

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
EN = Translator("en")


def start(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.context = {"locale": "en-US"}
    if query:
        at.query_params.update(query)
    return run(at)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_edits_and_area_survive_a_reload_and_a_save_and_load(tmp_path, monkeypatch, demo, walk15):
    folder = tmp_path / "scenarios"
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(folder))
    at = start()
    ws = at.session_state["ws"]
    own = walk15.demand.groupby("nearest_facility")["population"].sum().sort_values()
    fid = str(own.index[-1])
    s = walk15.admin_summary
    towns = list(s[s["level"] == "township"].head(2)["admin_code"].astype(str))
    # close the busiest facility (picked in the list), restrict to two townships
    at.selectbox(key="w_fac_pick").set_value(fid)
    run(at)
    at.button(key="btn_fac_close").click()
    run(at)
    at.multiselect(key="w_area_units").set_value(towns)
    run(at)
    edits = FacilityEdits().close(fid)
    area = StudyArea(admin_codes=tuple(sorted(towns)))
    sub = aps.restrict(walk15, admin_codes=towns)
    w = aps.what_if(demo, sub, (), edits=edits)
    shown = metrics(at)
    assert shown[EN("uncovered_after")] == f"{w.uncovered_population_after:,.0f}"

    # the working scenario on disk has them
    saved = Scenario.load(aps.autosave_path(ws, folder))
    assert saved.edits == edits and saved.area == area

    # a page reload (a new session, same ?ws=) shows the same what-if
    again = start({"ws": ws})
    assert again.session_state["edits"] == edits
    assert sorted(again.session_state["w_area_units"]) == sorted(towns)
    assert metrics(again) == shown

    # save it by name, forget the edits, then load it: they come back
    at.text_input(key="w_name").set_value("Closed")
    run(at)
    at.button(key="btn_save").click()
    run(at)
    assert Scenario.load(folder / "Closed.toml").edits == edits
    at.button(key="btn_undo_all").click()
    run(at)
    at.multiselect(key="w_area_units").set_value([])
    run(at)
    assert metrics(at)[EN("uncovered_after")] == "–"
    assert not Scenario.load(aps.autosave_path(ws, folder)).edits  # the autosave follows
    at.selectbox(key="w_saved").set_value("Closed")
    at.button(key="btn_load").click()
    run(at)
    assert at.session_state["edits"] == edits
    assert metrics(at)[EN("uncovered_after")] == f"{w.uncovered_population_after:,.0f}"

    # the comparison counts the saved scenario with its edits and area
    at.button(key="btn_undo_all").click()
    run(at)
    at.multiselect(key="w_compare").set_value(["Closed"])
    run(at)
    cmp = next(d.value for d in at.dataframe if EN("cmp_covered_share_after") in d.value.index)
    share = w.covered_population_after / sub.total_population
    assert cmp.loc[EN("cmp_covered_share_after"), "Closed"] == f"{100 * share:.1f} %"
    assert cmp.loc[EN("cmp_population"), "Closed"] == f"{sub.total_population:,.0f}"
