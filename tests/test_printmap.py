"""Printed maps (planner.printmap): page sizes, the text a reader looks for, a true scale bar,
the CLI, atomic writes and the English fallback without a CJK font."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
import subprocess

import numpy as np
import pyproj
import pytest

matplotlib = pytest.importorskip("matplotlib")

import planner  # noqa: E402
from planner import cli, printmap  # noqa: E402
from planner._errors import InputError  # noqa: E402

MM_PER_IN = 25.4


@pytest.fixture(scope="module")
def demo():
    ds = planner.load_demo()
    return ds, planner.analyze(ds, isochrone_minutes=(5, 10, 15))


@pytest.fixture(scope="module")
def result(demo):
    return demo[1]


def _page_mm(paper, orientation):
    w, h = printmap.PAPER_MM[paper]
    return (h, w) if orientation == "landscape" else (w, h)


def _pdf_mediabox(data: bytes) -> tuple[float, float]:
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert m, "no MediaBox in the PDF"
    return float(m.group(1)), float(m.group(2))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("paper", ["A4", "A3"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_pdf_page_is_the_paper_size(result, tmp_path, paper, orientation):
    out = printmap.print_map(result, tmp_path / "map.pdf", paper=paper, orientation=orientation)
    assert out == tmp_path / "map.pdf"
    w_pt, h_pt = _pdf_mediabox(out.read_bytes())
    w_mm, h_mm = _page_mm(paper, orientation)
    assert w_pt == pytest.approx(w_mm / MM_PER_IN * 72, abs=0.01)
    assert h_pt == pytest.approx(h_mm / MM_PER_IN * 72, abs=0.01)
    assert [p.name for p in tmp_path.iterdir()] == ["map.pdf"]  # no temporary file left behind
    assert out.stat().st_mode & 0o777 == 0o666 & ~printmap._umask()  # not the temporary file's 0600


@pytest.mark.parametrize(
    ("paper", "orientation", "dpi"), [("A4", "landscape", 60), ("A3", "portrait", 40)]
)
def test_png_has_paper_times_dpi_pixels(result, tmp_path, paper, orientation, dpi):
    out = printmap.print_map(
        result, tmp_path / "map.png", paper=paper, orientation=orientation, dpi=dpi
    )
    w_mm, h_mm = _page_mm(paper, orientation)
    assert _png_size(out.read_bytes()) == (
        round(w_mm / MM_PER_IN * dpi),
        round(h_mm / MM_PER_IN * dpi),
    )
    # and as bytes, for a download button: the same image
    data = printmap.print_map(
        result, None, format="png", paper=paper, orientation=orientation, dpi=dpi
    )
    assert isinstance(data, bytes) and _png_size(data) == _png_size(out.read_bytes())


def test_pdf_text_has_title_legend_north_scale_label_and_date(result, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    if printmap.find_cjk_font() is None:
        pytest.skip("no CJK font on this system (the map falls back to English)")
    out = printmap.print_map(result, tmp_path / "map.pdf")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    today = dt.date.today()
    for needle in (
        "示范县15分钟步行医疗服务圈覆盖分析",
        "图例",
        "指北针",
        "比例尺",
        "合成示范数据SYNTHETICDEMODATA",
        f"制图日期：{today.year}年{today.month}月{today.day}日",
        "数据来源",
        "5分钟以内",
        "10–15分钟",
        "乡镇卫生院",
        "城关街道",
    ):
        assert needle in flat, f"{needle!r} not in the PDF's text"
    assert (
        "人" in flat and "≥5,000" in flat
    )  # the fixed classes of uncovered residents, with the unit
    n_centres = int((result.facilities["tier"] == "township_center").sum())
    assert f"乡镇卫生院：{n_centres}处" in flat  # the legend counts the facilities drawn


def test_scale_bar_length_equals_its_label(result):
    fig = printmap.map_figure(result, paper="A4", orientation="landscape")
    ax = fig.planner_axes["map"]
    fig.canvas.draw()
    bars = [p for p in ax.patches if p.get_gid() == "scalebar"]
    assert len(bars) == 4
    # the bar's extent on the page, back through the axes transform into map metres
    ext = [p.get_window_extent() for p in bars]
    x0d, x1d = min(e.x0 for e in ext), max(e.x1 for e in ext)
    inv = ax.transData.inverted()
    (mx0, my), (mx1, _) = inv.transform([(x0d, ext[0].y0), (x1d, ext[0].y0)])
    value = next(t for t in ax.texts if t.get_gid() == "scalebar-label").get_text()
    unit = next(t for t in ax.texts if t.get_gid() == "scalebar-unit").get_text()
    assert re.fullmatch(r"[\d.]+", value) and unit in ("公里", "km", "米", "m")
    label_m = float(value) * (1000 if unit in ("公里", "km") else 1)
    assert mx1 - mx0 == pytest.approx(label_m, rel=1e-6)
    assert label_m / (ax.get_xlim()[1] - ax.get_xlim()[0]) > 0.1  # a bar one can read
    # the map is drawn at equal scale in x and y (true shapes, a bar valid in every direction)
    sx, sy = ax.transData.transform([(1000, 0), (0, 1000)]) - ax.transData.transform(
        [(0, 0), (0, 0)]
    )
    assert sx[0] == pytest.approx(sy[1], rel=1e-9)
    # the printed numeric scale: map metres across the frame / the frame's width on paper
    ratio = next(t for t in ax.texts if t.get_gid() == "scale-ratio").get_text()
    denom = float(re.search(r"1:([\d,]+)", ratio).group(1).replace(",", ""))
    frame_m = ax.get_position().width * fig.get_size_inches()[0] * MM_PER_IN / 1000
    assert (ax.get_xlim()[1] - ax.get_xlim()[0]) / frame_m == pytest.approx(denom, rel=1e-9)
    # independent: the bar's ends on the ellipsoid (UTM is true within its scale factor, < 0.1 %)
    crs = result.network.crs
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(
        [mx0, mx1], [my, my]
    )
    _, _, geodesic_m = pyproj.Geod(ellps="WGS84").inv(lon[0], lat[0], lon[1], lat[1])
    assert geodesic_m == pytest.approx(label_m, rel=2e-3)


def test_cli_map_writes_the_file(demo, tmp_path, monkeypatch, capsys):
    ds, res = demo
    calls = []

    def analyze(dataset, **kw):  # the analysis is tested elsewhere; here: the CLI's wiring
        calls.append(kw)
        return res

    monkeypatch.setattr(planner.pipeline, "load_demo", lambda: ds)
    monkeypatch.setattr(planner.pipeline, "analyze", analyze)
    out = tmp_path / "maps" / "map.png"
    code = cli.main(
        [
            "map",
            "--out",
            str(out),
            "--paper",
            "a3",
            "--orientation",
            "portrait",
            "--dpi",
            "30",
            "--minutes",
            "15",
            "--isochrones",
            "5",
            "10",
            "15",
            "--quiet",
        ]
    )
    assert code == 0
    assert _png_size(out.read_bytes()) == (round(297 / MM_PER_IN * 30), round(420 / MM_PER_IN * 30))
    assert (
        calls and calls[0]["minutes"] == 15 and list(calls[0]["isochrone_minutes"]) == [5, 10, 15]
    )
    assert f"wrote {out}" in capsys.readouterr().out


def test_cli_bad_out_suffix_names_the_option(tmp_path, capsys):
    code = cli.main(["map", "--out", str(tmp_path / "map.jpg")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--out" in err and ".jpg" in err and ".pdf or .png" in err
    assert not (tmp_path / "map.jpg").exists()


def test_library_bad_suffix_names_the_parameter(result, tmp_path):
    with pytest.raises(InputError, match=r"path_or_buffer .*\.jpg.*\.pdf or \.png"):
        printmap.print_map(result, tmp_path / "map.jpg")
    with pytest.raises(InputError, match="paper must be one of A4, A3"):
        printmap.print_map(result, tmp_path / "map.pdf", paper="A5")


def test_failed_write_keeps_the_old_file(result, tmp_path, monkeypatch):
    out = tmp_path / "map.pdf"
    out.write_bytes(b"the previous map")

    def broken(self, fh, **kw):
        fh.write(b"%PDF-half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        printmap.print_map(result, out)
    assert out.read_bytes() == b"the previous map"
    assert [p.name for p in tmp_path.iterdir()] == ["map.pdf"]


def test_without_cjk_font_english_labels_and_no_chinese_glyphs(result, monkeypatch):
    import geopandas as gpd
    import shapely

    monkeypatch.setattr(printmap.figure, "find_cjk_font", lambda: None)
    proposals = gpd.GeoDataFrame(
        {"site_id": ["P1", "P2"]},
        crs=4326,
        geometry=[shapely.Point(114.15, 34.50), shapely.Point(114.30, 34.42)],
    )
    with pytest.warns(printmap.PrintMapWarning, match="no Chinese .*font"):
        fig = printmap.map_figure(result, lang="zh", proposals=proposals)
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert "Proposed site: 2" in texts
    assert any("SYNTHETIC DEMO DATA" in t for t in texts)
    assert any(t == "Legend" for t in texts) and any(t == "North arrow" for t in texts)
    cjk = [t for t in texts if printmap._CJK.search(t)]
    assert not cjk, f"Chinese text drawn without a Chinese font: {cjk[:5]}"


def test_wrap_never_splits_a_number():
    lines = printmap._wrap("15分钟内覆盖 386,550 人，占常住人口 81.1%；未覆盖 89,908 人", 12)
    assert all(sum(1.0 if printmap._CJK.match(c) else 0.55 for c in line) <= 12 for line in lines)
    joined = " ".join(lines)
    assert "386,550" in joined and "89,908" in joined and "81.1%" in joined
    assert np.all([len(line) > 0 for line in lines])
