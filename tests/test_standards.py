"""Tests of planner.standards: tiers, labels, classify_tier, Rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from planner import ScenarioError
from planner.standards import PRIMARY_TIERS, TIER_LABELS, TIERS, Rules, classify_tier

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def test_tiers_and_labels():
    assert TIERS == (
        "community_center",
        "community_station",
        "family_doctor_point",
        "hospital",
        "township_center",
        "village_clinic",
        "other",
    )
    assert PRIMARY_TIERS == TIERS[:-1]
    assert set(TIER_LABELS) == set(TIERS)
    assert all(set(v) == {"zh", "en"} and v["zh"] and v["en"] for v in TIER_LABELS.values())
    assert TIER_LABELS["village_clinic"]["zh"] == "村卫生室"


@pytest.mark.parametrize(
    ("value", "tier"),
    [
        ("社区卫生服务中心", "community_center"),
        ("社区卫生服务站", "community_station"),
        ("家庭医生服务点", "family_doctor_point"),
        ("家庭医生签约服务点", "family_doctor_point"),
        ("签约服务点", "family_doctor_point"),
        ("乡镇卫生院", "township_center"),
        ("中心卫生院", "township_center"),
        ("街道卫生院", "township_center"),
        ("卫生院", "township_center"),
        ("村卫生室", "village_clinic"),
        ("卫生室", "village_clinic"),
        ("县医院", "hospital"),
        ("人民医院", "hospital"),
        ("中医院", "hospital"),
        ("医院", "hospital"),
        ("县域医疗次中心", "hospital"),
        ("妇幼保健院", "other"),
        ("疾控中心", "other"),
        ("疾病预防控制中心", "other"),
        ("门诊部", "other"),
        ("Community Health Service Center", "community_center"),
        ("community health station", "community_station"),
        ("Township health centre", "township_center"),
        ("village clinic", "village_clinic"),
        ("County hospital", "hospital"),
        ("family doctor point", "family_doctor_point"),
        ("maternal and child health", "other"),
        ("village_clinic", "village_clinic"),
        ("Township Center", "township_center"),
        ("community-station", "community_station"),
        ("pharmacy", "other"),
        ("", "other"),
        (None, "other"),
        (float("nan"), "other"),
    ],
)
def test_classify_text(value, tier):
    assert classify_tier([value]).tolist() == [tier]


@pytest.mark.parametrize(
    ("code", "tier"),
    [
        ("Q8311", "hospital"),
        ("8312", "hospital"),
        ("Q8313", "hospital"),
        ("Q8314", "hospital"),
        ("Q8315\r\n", "hospital"),
        (" Q8316 ", "hospital"),
        ("Q8321", "community_center"),
        ("Q8322", "township_center"),
        ("Q8323", "township_center"),
        ("Q8330", "other"),
        ("Q8350", "other"),
        ("Q8390", "other"),
        (8323, "township_center"),
        (8323.0, "township_center"),
        ("q8321", "community_center"),
    ],
)
def test_classify_codes_2011(code, tier):
    assert classify_tier([code]).tolist() == [tier]


@pytest.mark.parametrize(
    ("code", "tier"),
    [
        ("8411", "hospital"),
        ("Q8416", "hospital"),
        ("8421", "community_center"),
        ("8422", "township_center"),
        ("8423", "township_center"),
        ("Q8424", "village_clinic"),
        ("8425", "other"),
        ("8433", "other"),
        ("8499", "other"),
        ("9999", "other"),
    ],
)
def test_classify_codes_2017(code, tier):
    assert classify_tier([code]).tolist() == [tier]


def test_edition_detection():
    # 83xx present -> GB/T 4754-2011, where 84xx is social work (not health)
    assert classify_tier(["Q8323", "8424"]).tolist() == ["township_center", "other"]
    assert classify_tier(["Q8323", "8424"], edition="2017").tolist() == ["other", "village_clinic"]
    assert classify_tier(["8424"], edition="2011").tolist() == ["other"]
    with pytest.raises(ValueError, match="edition must be"):
        classify_tier(["8424"], edition="2020")


def test_names_override_codes_not_text():
    types = ["Q8323", "Q8322", "Q8323", "Q8311", "Q8323", "乡镇卫生院", "", "8421", "Q8323"]
    names = [
        "桐木村卫生室",
        "龙山县第二人民医院",
        "民安街道社区卫生服务中心",
        "某某医院",
        "湘西自治州矿山救护中队",
        "某某村卫生室",
        "城关社区卫生服务站",
        "东风社区卫生服务站",
        "红岩中心卫生院西湖分院",
    ]
    assert classify_tier(types, names).tolist() == [
        "village_clinic",
        "hospital",
        "community_center",
        "hospital",
        "other",
        "township_center",
        "community_station",
        "community_station",
        "township_center",
    ]


def test_classify_default():
    out = classify_tier(
        ["", "proposed", "妇幼保健院", "9999", "Q8350"], default="community_station"
    )
    assert out.tolist() == [
        "community_station",
        "community_station",
        "other",
        "community_station",
        "other",
    ]
    with pytest.raises(ValueError, match="default must be one of"):
        classify_tier(["x"], default="clinic")


def test_classify_lengths_and_dtype():
    out = classify_tier(np.array(["Q8323", "hospital"], dtype=object))
    assert out.dtype.kind == "U"
    assert classify_tier([]).tolist() == []
    with pytest.raises(ValueError, match="2 types but 1 names"):
        classify_tier(["a", "b"], ["x"])


def test_longshan_codes_and_names():
    path = DATA / "longshan" / "hospitals.shp"
    if not path.exists():
        pytest.skip(f"shared test data not found at {DATA.resolve()}")
    import pyogrio

    df = pyogrio.read_dataframe(path, encoding="gbk", read_geometry=False)
    tiers = classify_tier(df["TYPE"], df["NAME"])
    counts = dict(zip(*np.unique(tiers, return_counts=True), strict=True))
    assert counts == {
        "township_center": 36,
        "hospital": 12,
        "village_clinic": 6,
        "other": 3,
        "community_center": 2,
    }


def test_rules_defaults_and_hashable():
    r = Rules()
    assert r.coverage_minutes == 15
    assert r.center_per_subdistrict and r.clinic_per_village and r.township_center_per_township
    assert r.residents_per_center == (30_000, 100_000)
    assert dict(r.min_floor_area_m2) == {
        "community_center": 3500,
        "community_station": 300,
        "village_clinic": 100,
        "hospital": 5000,
    }
    assert r.staff_per_1000 == (1.0, 1.5) and r.gp_per_10000 == 4
    assert hash(r) == hash(Rules())
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.coverage_minutes = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.min_floor_area_m2["hospital"] = 1  # type: ignore[index]
    r2 = dataclasses.replace(r, coverage_minutes=10, min_floor_area_m2={"hospital": 6000})
    assert r2.coverage_minutes == 10.0 and r2.min_floor_area_m2["hospital"] == 6000.0
    assert hash(r2) != hash(r)


def test_rules_round_trip_and_validation():
    r = Rules()
    d = r.to_dict()
    assert d["residents_per_center"] == [30_000, 100_000]
    assert Rules(**d) == r
    with pytest.raises(ScenarioError, match="coverage_minutes must be > 0"):
        Rules(coverage_minutes=0)
    with pytest.raises(ScenarioError, match="residents_per_center must be a"):
        Rules(residents_per_center=(100_000, 30_000))


def test_rules_fields_cite_rules():
    import inspect

    import planner.standards as s

    source = inspect.getsource(s.Rules)
    for f in dataclasses.fields(Rules):
        after = source.split(f"    {f.name}:", 1)[1]
        doc = after.split('"""', 2)[1]
        assert "Rule" in doc or "GB 50180" in doc, f.name
