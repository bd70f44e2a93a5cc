"""Malformed files found by feeding planner broken inputs: each gets one clear line naming the
file, the rows and the fix (never a traceback, a source line of a library, or a 300-digit number)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
import shapely

import planner
from planner import InputError, InputWarning


def _polygons(path: Path, rings: list[list[list[float]]]) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": {"code": f"41000{i}", "name": f"unit{i}", "level": "township"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for i, ring in enumerate(rings)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


SQUARE = [[114.0, 34.0], [114.1, 34.0], [114.1, 34.1], [114.0, 34.1], [114.0, 34.0]]
#: corners out of order: the ring crosses itself (its signed halves cancel: area 0 as drawn)
BOW_TIE = [[114.2, 34.0], [114.3, 34.1], [114.3, 34.0], [114.2, 34.1], [114.2, 34.0]]
#: two lobes meeting at one corner, drawn as one ring: invalid, but repaired to the same area
FIGURE_EIGHT = [
    [114.5, 34.05],
    [114.55, 34.0],
    [114.6, 34.05],
    [114.55, 34.1],
    [114.5, 34.05],
    [114.45, 34.1],
    [114.4, 34.05],
    [114.45, 34.0],
    [114.5, 34.05],
]


def test_boundaries_crossing_themselves_are_named(tmp_path: Path):
    path = _polygons(tmp_path / "b.geojson", [SQUARE, BOW_TIE])
    assert not shapely.is_valid(shapely.Polygon(BOW_TIE))
    with pytest.warns(InputWarning, match=r"cross themselves.*row 1 \(names 'unit1'\)") as got:
        b = planner.read_boundaries(path)
    assert sum("cross themselves" in str(w.message) for w in got) == 1
    assert str(path) in str(got[0].message)
    # still repaired: both triangles of the bow tie, valid, with their true area
    assert b.geometry.is_valid.all()
    assert b.geometry.iloc[1].area == pytest.approx(0.005, rel=1e-9)


def test_a_self_touching_ring_is_repaired_quietly(tmp_path: Path):
    path = _polygons(tmp_path / "b.geojson", [SQUARE, FIGURE_EIGHT])
    assert not shapely.is_valid(shapely.Polygon(FIGURE_EIGHT))
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        b = planner.read_boundaries(path)
    assert b.geometry.is_valid.all()
    assert b.geometry.iloc[1].area == pytest.approx(shapely.Polygon(FIGURE_EIGHT).area)


def test_coordinates_too_large_for_any_system(tmp_path: Path):
    path = tmp_path / "f.csv"
    pd.DataFrame(
        {
            "id": ["A", "B"],
            "type": ["社区卫生服务站"] * 2,
            "lon": [1e308, 114.3],
            "lat": [34.5, 34.5],
        }
    ).to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        planner.read_facilities(path)
    text = str(exc.value)
    assert "too large to be coordinates" in text and "1e+308" in text and "row 0" in text
    assert len(text) < 400  # the number is not written out in 309 digits


def test_gdal_notes_on_a_file_name_the_file(tmp_path: Path):
    path = tmp_path / "f.geojson"
    feats = [
        {"type": "Feature", "properties": {"id": "A", "type": "社区卫生服务站"}, "geometry": None},
        {
            "type": "Feature",
            "properties": {"id": "B", "type": "社区卫生服务站"},
            "geometry": {"type": "Point", "coordinates": []},
        },
    ]
    good = {"type": "Feature", "properties": {"id": "C", "type": "社区卫生服务站"}}
    good["geometry"] = {"type": "Point", "coordinates": [114.3, 34.5]}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [*feats, good]}))
    with pytest.warns(InputWarning) as got, pytest.raises(InputError, match=r"rows 0, 1\b"):
        planner.read_facilities(path)
    gdal = [str(w.message) for w in got if "dimension" in str(w.message)]
    assert gdal and all(m.startswith(str(path)) for m in gdal)
    assert not [w for w in got if issubclass(w.category, RuntimeWarning)]


def test_a_file_whose_every_geometry_is_empty(tmp_path: Path):
    path = tmp_path / "f.geojson"
    feats = [
        {"type": "Feature", "properties": {"id": k, "type": "社区卫生服务站"}, "geometry": None}
        for k in "AB"
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(InputError, match=r"geometry is missing or empty \(2 rows\)") as exc:
        planner.read_facilities(path)
    assert "lon_column" not in str(exc.value)  # not a table without coordinate columns
