"""Limits on lengths (docs/BLUEPRINT.md, "Limits on lengths"): finite but absurd sizes and
positions are refused by ingest, in metres after the unit conversion, each value named by
object and JSON path with the value, the limit and a fix; all of them in one error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bp_sdk.markers import FailureMarker

from tests.ingest._support import Outcome, blueprint, by_id, close, files_under, ok_manifest

Run = Callable[..., Outcome]
FACTORS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}


def in_units(units: str) -> dict[str, Any]:
    """The minimal blueprint (table, mug, apple) written in ``units``."""
    k = 1 / FACTORS[units]
    bp = blueprint(units=units)
    for o in bp["objects"]:
        o["size"] = [c * k for c in o["size"]]
        o["pose"]["position"] = [c * k for c in o["pose"]["position"]]
    return bp


def refused(out: Outcome, storage_root: Path) -> FailureMarker:
    """Exit 3 with an InputError marker, no manifest anywhere; the marker."""
    assert out.code == 3, f"exit {out.code}"
    marker = out.marker()
    assert (marker.error_type, marker.permanent) == ("InputError", True), marker.message
    mine = [f for f in files_under(storage_root) if f"/{out.scene}/" in f"/{f}"]
    assert mine and not any(f.endswith("scene_manifest.json") for f in mine), mine
    return marker


def problem_at(marker: FailureMarker, where: str) -> str:
    """The one problem whose location is ``where``."""
    hits = [p for p in marker.problems if p.startswith(where + ": ")]
    assert len(hits) == 1, (where, marker.problems)
    return hits[0]


def edit(bp: dict[str, Any], obj: int, path: str, value: float) -> dict[str, Any]:
    """``bp`` with ``objects[obj].<path>`` (``size.1``, ``pose.position.0``) set to ``value``."""
    *head, last = path.split(".")
    node: Any = bp["objects"][obj]
    for p in head:
        node = node[p]
    node[int(last)] = value
    return bp


# (case id, units, object index, field path, value, JSON path, texts in the problem)
CASES = [
    (
        "position-1e308-m",
        "m",
        1,
        "pose.position.0",
        1e308,
        "$.objects[1].pose.position[0]",
        ("object 'mug'", "position x = 1e+308 m", "outside the ±1000 m limit"),
    ),
    (
        "position-1e7-mm",
        "mm",
        2,
        "pose.position.1",
        1e7,
        "$.objects[2].pose.position[1]",
        ("object 'apple'", "position y = 1e+07 mm (10000 m)", "±1000 m"),
    ),
    (
        "negative-position-in-ft",
        "ft",
        0,
        "pose.position.2",
        -4000.0,
        "$.objects[0].pose.position[2]",
        ("object 'table'", "-4000 ft (-1219.2 m)", "±1000 m"),
    ),
    (
        "size-1e-300-m",
        "m",
        1,
        "size.2",
        1e-300,
        "$.objects[1].size[2]",
        ("object 'mug'", "size z = 1e-300 m", "below the 0.1 mm minimum"),
    ),
    (
        "size-0.05-mm",
        "mm",
        2,
        "size.0",
        0.05,
        "$.objects[2].size[0]",
        ("object 'apple'", "0.05 mm (5e-05 m)", "0.1 mm minimum"),
    ),
    (
        "size-1e9-m",
        "m",
        0,
        "size.1",
        1e9,
        "$.objects[0].size[1]",
        ("object 'table'", "size y = 1e+09 m", "above the 100 m maximum"),
    ),
    (
        "size-20000-cm",
        "cm",
        0,
        "size.0",
        20000.0,
        "$.objects[0].size[0]",
        ("object 'table'", "20000 cm (200 m)", "100 m maximum"),
    ),
]


@pytest.mark.parametrize(
    ("units", "obj", "path", "value", "where", "texts"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_limit_applies_in_metres_and_names_object_and_path(
    units: str,
    obj: int,
    path: str,
    value: float,
    where: str,
    texts: tuple[str, ...],
    run_ingest: Run,
    storage_root: Path,
) -> None:
    """One out-of-range value (after unit conversion) is one problem at its JSON path with the object, value, limit and a fix."""
    marker = refused(run_ingest(edit(in_units(units), obj, path, value)), storage_root)
    assert marker.message.endswith("(1 problem)"), marker.message
    text = problem_at(marker, where)
    for t in texts:
        assert t in text, (t, text)
    assert "(fix: " in text and f"units: {units}" in text, text


def test_robot_base_position_is_bounded_in_metres(run_ingest: Run, storage_root: Path) -> None:
    """A robot base 5,000 in away (127 m) is fine; 50,000 in (1,270 m) is refused at robot_base.position[1]."""
    near = in_units("in") | {"robot_base": {"position": [0.0, -5000.0, 0.0], "yaw_deg": 90.0}}
    m = ok_manifest(run_ingest(near, scene="near"))
    assert m.robot_base is not None and close(m.robot_base.position_m, [0.0, -127.0, 0.0], 1e-6)
    far = in_units("in") | {"robot_base": {"position": [0.0, -50000.0, 0.0], "yaw_deg": 90.0}}
    marker = refused(run_ingest(far, scene="far"), storage_root)
    text = problem_at(marker, "$.robot_base.position[1]")
    assert "-50000 in (-1270 m)" in text and "±1000 m" in text and "(fix: " in text


def test_values_just_inside_the_limits_are_ingested(run_ingest: Run) -> None:
    """A 0.1 mm thin sheet, a 100 m wall 900 m out and a robot 999 m out are ingested unchanged."""
    bp = blueprint(robot_base={"position": [-999.0, 0.0, 0.0], "yaw_deg": 0.0})
    bp["objects"] += [
        {
            "id": "sheet",
            "category": "foil_sheet",
            "size": [0.2, 0.3, 1e-4],
            "pose": {"position": [0.3, 0.2, 0.75005]},
            "support": "table",
        },
        {
            "id": "wall",
            "category": "wall_panel",
            "size": [100.0, 0.2, 3.0],
            "pose": {"position": [0.0, 900.0, 1.5]},
        },
    ]
    m = ok_manifest(run_ingest(bp))
    objs = by_id(m)
    assert close(objs["sheet"].size_m, [0.2, 0.3, 1e-4])
    assert close(objs["wall"].size_m, [100.0, 0.2, 3.0])
    assert close(objs["wall"].position_m, [0.0, 900.0, 1.5])


def test_box_reaching_past_1000_m_is_refused(run_ingest: Run, storage_root: Path) -> None:
    """A 10 m table centred 999 m out reaches 1,004 m: one problem naming it, the reach and the limit."""
    bp = blueprint()
    bp["objects"][0]["size"] = [10.0, 0.8, 0.75]
    bp["objects"][0]["pose"]["position"] = [999.0, 0.0, 0.375]
    for o in bp["objects"][1:]:
        o["pose"]["position"][0] += 999.0
    marker = refused(run_ingest(bp), storage_root)
    text = problem_at(marker, "$.objects[0]")
    assert "object 'table'" in text and "reaches 1004 m from the origin along x" in text, text
    assert "±1000 m" in text and "(fix: " in text and "origin" in text
    assert len(marker.problems) == 1, marker.problems


def test_scene_grown_by_calibration_past_1000_m_is_refused(
    run_ingest: Run, storage_root: Path
) -> None:
    """Objects 1/100 of their priors, 500 m out: the scene-scale calibration would put them 50 km out, and ingest says so."""
    bp = blueprint()
    for o in bp["objects"]:
        o["size"] = [c / 100 for c in o["size"]]
        o["pose"]["position"] = [c / 100 for c in o["pose"]["position"]]
        o["pose"]["position"][1] += 500.0
    marker = refused(run_ingest(bp), storage_root)
    text = problem_at(marker, "$.objects[0]")
    assert "along y after the scene-scale calibration scaled the whole scene by 100" in text
    assert "reaches 50000" in text and "±1000 m" in text, text


def test_every_problem_is_listed_in_one_error(run_ingest: Run, storage_root: Path) -> None:
    """Limits on three objects and the robot base, an unknown support and a bad header field: one error with all six."""
    bp = in_units("mm") | {"name": "", "robot_base": {"position": [2e6, 0.0, 0.0]}}
    edit(bp, 0, "size.0", 1e9)
    edit(bp, 1, "pose.position.2", -1e300)
    edit(bp, 2, "size.1", 1e-300)
    bp["objects"][2]["support"] = "shelf"
    marker = refused(run_ingest(bp), storage_root)
    assert marker.message == "blueprint 'scene1' is invalid (6 problems)", marker.message
    assert "1e+09 mm (1e+06 m)" in problem_at(marker, "$.objects[0].size[0]")
    assert "-1e+300 mm (-1e+297 m)" in problem_at(marker, "$.objects[1].pose.position[2]")
    assert "1e-300 mm (1e-303 m)" in problem_at(marker, "$.objects[2].size[1]")
    assert "2e+06 mm (2000 m)" in problem_at(marker, "$.robot_base.position[0]")
    assert "unknown object 'shelf'" in problem_at(marker, "$.objects[2].support")
    problem_at(marker, "$.name")


def test_y_up_scene_is_bounded_in_its_own_axes(run_ingest: Run, storage_root: Path) -> None:
    """In a y-up file the offending coordinate is named by the file's own index and axis."""
    bp = blueprint(up_axis="y")
    for o in bp["objects"]:
        x, y, z = o["pose"]["position"]
        o["pose"]["position"] = [x, z, -y]
    edit(bp, 1, "pose.position.1", 5000.0)
    marker = refused(run_ingest(bp), storage_root)
    assert "position y = 5000 m" in problem_at(marker, "$.objects[1].pose.position[1]")
