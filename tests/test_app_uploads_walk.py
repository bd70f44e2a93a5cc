"""Uploads through the app (``streamlit.testing.v1.AppTest``), in Chinese and in English: the
Longshan facilities as a zip, the Changsha roads through the column mapping, the Kaifeng GCJ-02
boundaries converted, coordinates typed in GCJ-02. What the app loads is compared with
planner's readers called directly on the original files.

Skipped when ../shared/data is absent. The same steps in chromium, with screenshots:
tests/test_browser_uploads.py.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import planner
from planner import _chinacrs
from planner.i18n import Translator

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
DATA = REPO / "data"
SHARED = REPO / ".." / "shared" / "data"
TIMEOUT = 300
CHANGSHA_DIRECTIONS = {"1": "along", "2": "along", "3": "both"}  # the README of the data


def shared(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)}")
    return p


def zipped(folder: str, stem: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(shared(folder, f"{stem}.shp").parent.glob(f"{stem}.*")):
            zf.write(p, p.name)
    return buf.getvalue()


@pytest.fixture
def scn_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "scenarios"
    monkeypatch.setenv("PLANNER_SCENARIO_DIR", str(folder))
    return folder


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def start(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": "zh-CN" if lang == "zh" else "en-US"}
    return run(at)


def choose_files(at: AppTest, T: Translator, files: dict[str, tuple[str, bytes]]) -> AppTest:
    """Switch to uploads and put ``files`` (kind: (name, bytes)) into the uploaders."""
    at.sidebar.radio(key="w_source").set_value("files")
    run(at)
    for kind in ("roads", "facilities", "boundaries", "population"):
        up = next(u for u in at.get("file_uploader") if u.label == T(f"upload_{kind}"))
        if kind in files:
            up.set_value((files[kind][0], files[kind][1], "application/octet-stream"))
    return run(at)


def box(at: AppTest, prefix: str, suffix: str = ""):
    """The sidebar selectbox whose key starts with ``prefix`` (and ends with ``suffix``)."""
    found = [
        b
        for b in at.sidebar.selectbox
        if str(b.key).startswith(prefix) and str(b.key).endswith(suffix)
    ]
    assert len(found) == 1, [b.key for b in at.sidebar.selectbox]
    return found[0]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_longshan_zip_and_changsha_roads_through_the_mapping(scn_dir, lang):
    T = Translator(lang)
    at = start(lang)
    files = {
        "roads": ("roads.zip", zipped("changsha", "roads")),
        "facilities": ("hospitals.zip", zipped("longshan", "hospitals")),
    }
    choose_files(at, T, files)
    # each file's own coordinate system, and where it was found
    captions = texts(at.sidebar.caption)
    assert T("crs_found_prj", crs="EPSG:3857 WGS 84 / Pseudo-Mercator") in captions
    assert T("crs_found_prj", crs=T("crs_custom", name="Equidistant_Cylindrical")) in captions
    assert box(at, "w_crs_facilities_").value == "file"
    # the column mapping of the roads: the class and one-way columns, each one-way code
    assert box(at, "w_col_roads_", "_class").value == "subtype"
    assert box(at, "w_col_roads_", "_direction").value == "direction"
    assert len(at.sidebar.dataframe) == 2  # the first rows of each file
    for code, meaning in CHANGSHA_DIRECTIONS.items():
        box(at, "w_dir_roads_", f"_{code}").set_value(meaning)
    run(at)
    at.sidebar.button(key="btn_use_uploads").click()
    run(at)
    assert not at.error, texts(at.error)
    assert T("upl_counts", facilities=59, roads=2257) in texts(at.sidebar.success)

    sc = at.session_state["scenario"]
    assert len(planner.read_facilities(sc.facilities)) == 59
    roads = planner.read_roads(sc.roads)
    direct = planner.read_roads(shared("changsha", "roads.shp"), direction_map={1: 1, 2: 1, 3: 0})
    assert roads["oneway"].tolist() == direct["oneway"].tolist()
    assert roads["highway"].tolist() == direct["highway"].tolist()


def centroid_offsets_m(path: str) -> list[float]:
    wgs = planner.read_boundaries(shared("kaifeng", "districts_wgs84.geojson"))
    got = planner.read_boundaries(path)
    a = wgs.set_index("admin_code").to_crs(32650).centroid
    b = got.set_index("admin_code").to_crs(32650).centroid
    common = a.index.intersection(b.index)
    assert len(common) >= 10
    return b.loc[common].distance(a.loc[common]).tolist()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kaifeng_gcj02_boundaries_are_converted(scn_dir, lang):
    T = Translator(lang)
    src = shared("kaifeng", "districts_gcj02.geojson")
    at = start(lang)
    files = {
        "roads": ("demo_county.osm", (DATA / "roads" / "demo_county.osm").read_bytes()),
        "facilities": (
            "demo_facilities.csv",
            (DATA / "facilities" / "demo_facilities.csv").read_bytes(),
        ),
        "boundaries": (src.name, src.read_bytes()),
    }
    choose_files(at, T, files)
    # the file names GCJ-02: said, with a button that converts
    warning = T("looks_web_map", where=src.name, system="GCJ-02")
    assert warning in texts(at.sidebar.warning)
    button = next(b for b in at.sidebar.button if str(b.key).startswith("btn_conv_boundaries_"))
    assert button.label == T("convert_web_map", system="GCJ-02")
    button.click()
    run(at)
    assert box(at, "w_crs_boundaries_").value == "gcj02"
    assert warning not in texts(at.sidebar.warning)
    at.sidebar.button(key="btn_use_uploads").click()
    run(at)
    assert not at.error, texts(at.error)
    # the districts' centroids within ~100 m of the WGS-84 file's (~500 m off unconverted)
    assert max(centroid_offsets_m(at.session_state["scenario"].boundaries)) < 100


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_typed_gcj02_coordinates(scn_dir, lang):
    T = Translator(lang)
    at = start(lang)
    target = (114.33, 34.521)  # WGS-84: a new residential area of the demo without a facility
    glon, glat = (float(v) for v in _chinacrs.wgs84_to_gcj02(*target))  # as Amap shows it
    at.selectbox(key="w_typed_crs").set_value("gcj02")
    at.number_input(key="w_lon").set_value(round(glon, 6))
    at.number_input(key="w_lat").set_value(round(glat, 6))
    assert at.selectbox(key="w_typed_crs").label == T("typed_crs")
    at.button(key="btn_add_site").click()
    run(at)
    lon, lat, _tier = at.session_state["scenario"].proposed[-1]
    assert (lon, lat) == pytest.approx(target, abs=2e-6)  # the typed value is rounded to 1e-6


def test_upload_errors_are_in_the_users_language(scn_dir):
    T = Translator("zh")
    at = start("zh")
    files = {
        "roads": ("demo_county.osm", (DATA / "roads" / "demo_county.osm").read_bytes()),
        "facilities": ("hospitals.zip", zipped("longshan", "hospitals")),
    }
    choose_files(at, T, files)
    box(at, "w_crs_facilities_").set_value("epsg")
    run(at)
    next(t for t in at.sidebar.text_input if str(t.key).startswith("w_epsg_")).set_value("mercator")
    run(at)
    at.sidebar.button(key="btn_use_uploads").click()
    run(at)
    shown = " ".join(texts(at.error))
    assert T("crs_bad_epsg", code="mercator") in shown
    # forced to WGS-84, metres are refused; the message names the file, never a server path
    box(at, "w_crs_facilities_").set_value("wgs84")
    run(at)
    at.sidebar.button(key="btn_use_uploads").click()
    run(at)
    shown = " ".join(texts(at.error))
    assert T("upl_err_crs", file="hospitals.zip") in shown and "/tmp" not in shown


def test_premises_for_the_optimizer_in_gcj02_with_other_columns(scn_dir):
    T = Translator("en")
    at = start("en")
    wgs = pd.read_csv(DATA / "facilities" / "demo_candidates.csv").head(6)
    glon, glat = _chinacrs.wgs84_to_gcj02(wgs["lon"].to_numpy(), wgs["lat"].to_numpy())
    premises = wgs.drop(columns=["lon", "lat"]).assign(E=glon, N=glat)  # copied from Amap
    at.selectbox(key="w_cand").set_value("file")
    run(at)
    up = next(u for u in at.get("file_uploader") if u.label == T("cand_upload"))
    up.set_value(("premises.csv", premises.to_csv(index=False).encode(), "text/csv"))
    run(at)
    # the mapping step asks for the coordinates; until then the optimizer has no file
    assert any(T("field_lon") in w.value for w in at.warning)
    assert not at.session_state["scenario"].candidates_file
    for b in at.selectbox:
        key = str(b.key)
        if key.startswith("w_col_candidates_") and key.endswith(("_lon", "_lat")):
            b.set_value("E" if key.endswith("_lon") else "N")
        elif key.startswith("w_crs_candidates_"):
            b.set_value("gcj02")
    run(at)
    path = at.session_state["scenario"].candidates_file
    assert path.endswith(".gpkg")
    got = planner.read_facilities(path, default_tier="community_station")
    assert np.allclose(got.geometry.x, wgs["lon"], atol=1e-7)
    assert np.allclose(got.geometry.y, wgs["lat"], atol=1e-7)


def test_facilities_that_look_like_gcj02_are_offered_the_conversion(scn_dir):
    """No name says GCJ-02, but undoing the offset brings the points onto the roads."""
    T = Translator("zh")
    demo = pd.read_csv(DATA / "facilities" / "demo_facilities.csv")
    glon, glat = _chinacrs.wgs84_to_gcj02(demo["lon"].to_numpy(), demo["lat"].to_numpy())
    shifted = demo.assign(lon=glon, lat=glat)
    at = start("zh")
    files = {
        "roads": ("demo_county.osm", (DATA / "roads" / "demo_county.osm").read_bytes()),
        "facilities": ("clinics.csv", shifted.to_csv(index=False).encode()),
    }
    choose_files(at, T, files)
    at.sidebar.button(key="btn_use_uploads").click()
    run(at)
    hint = [
        w
        for w in texts(at.sidebar.warning)
        if w.startswith(T("points_look_gcj02", file="clinics.csv", as_is=0, undone=0)[:20])
    ]
    assert len(hint) == 1 and "clinics.csv" in hint[0]
    at.sidebar.button(key="btn_conv_points").click()
    run(at)
    assert box(at, "w_crs_facilities_").value == "gcj02"
    at.sidebar.button(key="btn_use_uploads").click()
    run(at)
    assert not any("clinics.csv" in w for w in texts(at.sidebar.warning))
    got = planner.read_facilities(at.session_state["scenario"].facilities)
    assert np.allclose(got.geometry.x, demo["lon"], atol=1e-7)
    assert np.allclose(got.geometry.y, demo["lat"], atol=1e-7)
