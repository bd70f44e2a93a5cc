"""``planner map --lang en`` (issue 11): the printed map's title, legend, north arrow, scale,
sources and date in English; Chinese by default."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest

pytest.importorskip("matplotlib")

from planner import cli, printmap  # noqa: E402


def _pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return re.sub(r"\s+", " ", text)


def test_map_in_english(tmp_path):
    out = tmp_path / "map.pdf"
    assert cli.main(["map", "--out", str(out), "--lang", "en", "--quiet"]) == 0
    text = _pdf_text(out)
    for needle in (
        "15-minute walking access to primary health care",
        "Legend",
        "North arrow",
        "Scale 1:",
        "Data sources:",
        f"Date: {dt.date.today().isoformat()}",
        "SYNTHETIC DEMO DATA",
        "Health facilities",
    ):
        assert needle in text, needle
    assert re.search(r"(^| )N( |$)", text)  # the letter on the arrow
    for word in ("图例", "指北针", "比例尺", "数据来源", "制图日期"):
        assert word not in text


def test_map_in_chinese_by_default(tmp_path):
    if printmap.find_cjk_font() is None:
        pytest.skip("no CJK font on this system (the map falls back to English)")
    out = tmp_path / "map.pdf"
    assert cli.main(["map", "--out", str(out), "--quiet"]) == 0
    text = _pdf_text(out).replace(" ", "")
    for word in ("图例", "指北针", "比例尺", "数据来源", "制图日期"):
        assert word in text, word
    assert "Legend" not in text and "Northarrow" not in text
