"""The app's fast paths (planner/app/_speed.py): a network retimed for another speed or access
distance is the network planner.build_network builds for it, and the analysis on it gives the
same numbers; the profiler switch writes a profile only when asked."""

from __future__ import annotations

import numpy as np
import pytest

import planner
from planner.app import _speed
from planner.network import travel_mode

CSR = ("indptr", "indices", "arc_edge", "rindptr", "rindices", "rarc_edge", "edge_u", "edge_v")


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("walk", {"speed_kmh": 6.0}),
        ("walk", {"access_max_m": 200.0}),
        ("ebike", {"speed_kmh": 20.0, "access_speed_factor": 0.5}),
        # drive: class speeds, maxspeed tags, one-way streets and the urban slow-down
        ("drive", {"speed_kmh": 45.0, "access_max_m": 800.0}),
    ],
)
def test_retimed_network_is_the_rebuilt_network(demo, mode, options):
    ua = demo.urban_area()
    base = planner.build_network(demo.roads, mode, urban_area=ua)
    rebuilt = planner.build_network(demo.roads, mode, urban_area=ua, **options)
    new = _speed.retimed_network(base, demo.roads, travel_mode(mode, **options), urban_area=ua)
    assert new.mode == rebuilt.mode
    for name in CSR:
        np.testing.assert_array_equal(getattr(new, name), getattr(rebuilt, name), err_msg=name)
    for name in ("weights", "rweights", "edge_time_uv_s", "edge_time_vu_s"):
        np.testing.assert_allclose(getattr(new, name), getattr(rebuilt, name), rtol=1e-12)
    # the times did change (drive's speed_kmh is only the speed of classes without one: the
    # demo has none)
    if "speed_kmh" in options and mode != "drive":
        assert not np.allclose(new.weights, base.weights)
    if mode == "drive":  # one-way streets stay one-way
        for name in ("edge_time_uv_s", "edge_time_vu_s"):
            np.testing.assert_array_equal(
                np.isinf(getattr(new, name)), np.isinf(getattr(base, name))
            )
        assert np.isinf(new.edge_time_uv_s).any() and np.isinf(new.edge_time_vu_s).any()
    # the base network is left as it was
    np.testing.assert_array_equal(
        base.weights, planner.build_network(demo.roads, mode, urban_area=ua).weights
    )


def test_analysis_on_a_retimed_network_equals_a_rebuilt_one(demo):
    opts = {"speed_kmh": 3.6, "access_max_m": 300.0}
    base = planner.build_network(demo.roads, "walk")
    net = _speed.retimed_network(base, demo.roads, travel_mode("walk", **opts))
    a = planner.analyze(demo, isochrone_minutes=None, network=net, **opts)
    b = planner.analyze(demo, isochrone_minutes=None, **opts)
    assert a.covered_population == pytest.approx(b.covered_population, rel=1e-12)
    np.testing.assert_allclose(a.demand["minutes"], b.demand["minutes"], rtol=1e-9)
    # slower walking covers fewer residents than the default speed
    assert a.covered_population < planner.analyze(demo, isochrone_minutes=None).covered_population


def test_retimed_network_refuses_another_graph(demo):
    base = planner.build_network(demo.roads, "walk")
    with pytest.raises(planner.NetworkError, match="build the network again"):
        _speed.retimed_network(base, demo.roads, travel_mode("drive"))
    assert _speed.retimed_network(base, demo.roads, base.mode) is base


def test_topology_options_drop_the_timing_ones():
    opts = {"speed_kmh": 5.0, "access_max_m": 10.0, "access_speed_factor": 1.0, "x": 1}
    assert _speed.topology_options(opts) == {"x": 1}


def test_profiled_writes_a_profile_only_when_asked(tmp_path, monkeypatch):
    @_speed.profiled("square")
    def square(x: int) -> int:
        return x * x

    monkeypatch.delenv("PLANNER_PROFILE", raising=False)
    assert square(3) == 9
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("PLANNER_PROFILE", str(tmp_path / "prof"))
    assert square(4) == 16
    (out,) = (tmp_path / "prof").glob("square-*.prof")
    import pstats

    assert any("square" in str(k) for k in pstats.Stats(str(out)).stats)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------
# A click's standards change: drawn with the other tabs, once per click, the library's table
# ------------------------------------------------------------------------------------------


def test_a_click_checks_the_standards_once_and_shows_the_librarys_change(
    tmp_path, monkeypatch, demo
):
    """The standards re-check after a change runs once per click, whatever tab is shown (the
    tabs are drawn without a rerun when a person switches: measured with ten sessions, this
    answered clicks sooner than checking only while the standards tab was open), and its table
    is the library's."""
    pytest.importorskip("streamlit")
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from planner import app as aps
    from planner.app import whatif as whatif_module
    from planner.i18n import Translator

    en = Translator("en")
    calls: list[int] = []
    original = whatif_module.standards_units

    def counted(*args, **kwargs):
        if "extra_facilities" in kwargs:  # the check after the changes
            calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(whatif_module, "standards_units", counted)
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(tmp_path / "scenarios"))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.context = {"locale": "en-US"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    lon, lat = 114.27, 34.52
    at.session_state["map"] = {"last_clicked": {"lat": lat, "lng": lon}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    w = aps.what_if(
        demo, planner.analyze(demo, isochrone_minutes=None), ((lon, lat, "community_station"),)
    )
    assert shown[en("newly_covered")] == f"{round(w.newly_covered_population):+,d}"
    # at most once for the click (none when this server's cache has the same what-if already)
    assert len(calls) <= 1
    met_after = f"{en('col_met')} · {en('col_after')}"  # a column of the change table
    (change,) = [d.value for d in at.dataframe if met_after in d.value.columns]
    assert change[met_after].tolist() == [aps.count_text(v) for v in w.change["met_after"]]


def test_turn_taking_holds_one_at_a_time_and_never_blocks_for_long():
    import threading
    import time

    turns = _speed.TurnTaking(1, max_wait_s=0.3)
    inside = threading.Event()
    leave = threading.Event()

    def holder() -> None:
        with turns.turn() as got:
            assert got
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(5)
    t0 = time.perf_counter()
    with turns.turn() as got:  # the slot is held: wait max_wait_s, then go ahead without it
        waited = time.perf_counter() - t0
        assert not got
    assert 0.25 <= waited < 2.0
    leave.set()
    t.join(5)
    with turns.turn() as got:  # released: had at once
        assert got
    with turns.turn() as got:  # and released again after the block
        assert got
