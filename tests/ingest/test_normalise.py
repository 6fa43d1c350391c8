"""Normalisation by ingest: units, y-up → z-up, quaternions and scale calibration."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import pytest
from bp_contracts.scene_manifest import SceneManifest

from tests.ingest._support import (
    Outcome,
    Quat,
    blueprint,
    bottom,
    by_id,
    close,
    ok_manifest,
    rotation_matrix,
)

Run = Callable[..., Outcome]
FACTORS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
H = math.sqrt(0.5)
YAW30: Quat = (math.cos(math.radians(15)), 0.0, 0.0, math.sin(math.radians(15)))


def base_scene() -> dict[str, Any]:
    """The minimal scene in metres with a robot base and a yawed mug."""
    bp = blueprint(robot_base={"position": [0.05, -0.7, 0.0], "yaw_deg": 90.0})
    bp["objects"][1]["pose"]["orientation_wxyz"] = list(YAW30)
    return bp


def scaled(bp: dict[str, Any], k: float) -> dict[str, Any]:
    """``bp`` with every length multiplied by ``k`` (sizes, positions, robot base)."""
    for o in bp["objects"]:
        o["size"] = [c * k for c in o["size"]]
        o["pose"]["position"] = [c * k for c in o["pose"]["position"]]
    if "robot_base" in bp:
        bp["robot_base"]["position"] = [c * k for c in bp["robot_base"]["position"]]
    return bp


def assert_same_geometry(a: SceneManifest, b: SceneManifest, tol: float = 1e-9) -> None:
    """Same objects with the same sizes, positions and orientations, and the same robot base."""
    assert [o.id for o in a.objects] == [o.id for o in b.objects]
    for x, y in zip(a.objects, b.objects, strict=True):
        assert close(x.size_m, y.size_m, tol), (x.id, x.size_m, y.size_m)
        assert close(x.position_m, y.position_m, tol), (x.id, x.position_m, y.position_m)
        assert close(x.orientation_wxyz, y.orientation_wxyz, tol), (
            x.id,
            x.orientation_wxyz,
            y.orientation_wxyz,
        )
    assert (a.robot_base is None) == (b.robot_base is None)
    if a.robot_base and b.robot_base:
        assert close(a.robot_base.position_m, b.robot_base.position_m, tol)
        assert close(a.robot_base.yaw_deg, b.robot_base.yaw_deg, tol)


# ------------------------------------------------------------------- units
@pytest.mark.parametrize("units", ["cm", "mm", "in", "ft"])
def test_units_give_the_same_manifest_numbers_as_metres(units: str, run_ingest: Run) -> None:
    """The same scene written in cm, mm, in or ft ingests to the metre scene's numbers within 1e-9."""
    metres = ok_manifest(run_ingest(base_scene(), scene="in_m"))
    other = ok_manifest(
        run_ingest(scaled(base_scene(), 1 / FACTORS[units]) | {"units": units}, scene=f"in_{units}")
    )
    assert_same_geometry(metres, other)
    assert other.units == "m"
    assert other.calibration.source_units == units
    assert other.calibration.unit_factor == FACTORS[units]
    assert other.calibration.changes == [] and other.calibration.scene_scale == 1.0
    assert close(other.calibration.median_prior_ratio, metres.calibration.median_prior_ratio)


def test_metre_scene_keeps_its_numbers(run_ingest: Run) -> None:
    """A metric z-up scene with sizes at their priors comes out with the blueprint's own numbers."""
    bp = base_scene()
    m = ok_manifest(run_ingest(bp))
    for raw, obj in zip(bp["objects"], m.objects, strict=True):
        assert close(obj.size_m, raw["size"]) and close(obj.position_m, raw["pose"]["position"])
    assert close(by_id(m)["mug"].orientation_wxyz, YAW30, 1e-12)
    assert m.robot_base is not None and close(m.robot_base.position_m, [0.05, -0.7, 0.0])
    assert m.calibration.source_up_axis == "z" and m.calibration.axis_conversion is None
    assert m.calibration.median_prior_ratio == 1.0


# ------------------------------------------------------------------- axes
C = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0))  # y-up point → z-up point


def apply(m: Any, v: Any) -> tuple[float, float, float]:
    """Matrix (rows) times vector."""
    return tuple(sum(m[i][j] * v[j] for j in range(3)) for i in range(3))  # type: ignore[return-value]


def corners(position: Any, q: Any, size: Any) -> list[tuple[float, ...]]:
    """The 8 corners of a box, sorted."""
    r = rotation_matrix(q)
    out = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            for sz in (-1, 1):
                local = (sx * size[0] / 2, sy * size[1] / 2, sz * size[2] / 2)
                out.append(
                    tuple(
                        round(p + d, 9) + 0.0
                        for p, d in zip(position, apply(r, local), strict=True)
                    )
                )
    return sorted(out)


def y_up_scene(*objects: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A y-up metre blueprint with the given objects."""
    return blueprint(up_axis="y", objects=list(objects), **extra)


def box(
    oid: str,
    size: list[float],
    position: list[float],
    q: list[float] | None = None,
    category: str = "box",
) -> dict[str, Any]:
    """One floor-supported blueprint object."""
    pose: dict[str, Any] = {"position": position}
    if q is not None:
        pose["orientation_wxyz"] = q
    return {"id": oid, "category": category, "size": size, "pose": pose}


def test_y_up_points_sizes_and_robot_base_become_z_up(run_ingest: Run) -> None:
    """y-up: position (x, y, z) → (x, -z, y), size (sx, sy, sz) → (sx, sz, sy), robot base moved the same way."""
    bp = y_up_scene(
        box("b1", [0.1, 0.2, 0.3], [1.0, 2.0, 3.0]),
        box("b2", [0.12, 0.08, 0.1], [-0.5, 0.04, -0.25]),
        robot_base={"position": [0.5, 0.0, -0.8], "yaw_deg": 45.0},
    )
    m = ok_manifest(run_ingest(bp))
    b1, b2 = by_id(m)["b1"], by_id(m)["b2"]
    assert close(b1.position_m, [1.0, -3.0, 2.0]) and close(b1.size_m, [0.1, 0.3, 0.2])
    assert close(b2.position_m, [-0.5, 0.25, 0.04]) and close(b2.size_m, [0.12, 0.1, 0.08])
    assert close(b1.orientation_wxyz, [1, 0, 0, 0])
    assert m.robot_base is not None
    assert close(m.robot_base.position_m, [0.5, 0.8, 0.0]) and m.robot_base.yaw_deg == 45.0
    assert m.calibration.source_up_axis == "y" and m.calibration.axis_conversion
    assert m.up_axis == "z"


@pytest.mark.parametrize("deg", [30.0, 90.0, 120.0, -75.0, 179.0])
def test_turn_about_y_becomes_the_same_turn_about_z(deg: float, run_ingest: Run) -> None:
    """An orientation turned by an angle about +y in a y-up file is the same turn about +z in the manifest."""
    half = math.radians(deg) / 2
    bp = y_up_scene(
        box("b", [0.2, 0.1, 0.05], [0.0, 0.05, 0.0], [math.cos(half), 0.0, math.sin(half), 0.0])
    )
    q = by_id(ok_manifest(run_ingest(bp)))["b"].orientation_wxyz
    assert close(q, [math.cos(half), 0.0, 0.0, math.sin(half)], 1e-12), q


@pytest.mark.parametrize("q", [(0.3, -0.5, 0.7, 0.2), (0.0, 0.6, 0.0, 0.8), (-0.5, 0.5, -0.5, 0.5)])
def test_y_up_box_keeps_its_shape_in_the_z_up_frame(q: Quat, run_ingest: Run) -> None:
    """Any turned y-up box has, after ingest, exactly the corners of the y-up box mapped into z-up."""
    n = math.sqrt(sum(c * c for c in q))
    unit = tuple(c / n for c in q)
    size, pos = [0.2, 0.1, 0.05], [0.3, 0.4, -0.6]
    obj = by_id(ok_manifest(run_ingest(y_up_scene(box("b", size, pos, list(unit))))))["b"]
    expected = sorted(
        tuple(round(c, 9) + 0.0 for c in apply(C, p)) for p in corners(pos, unit, size)
    )
    got = corners(obj.position_m, obj.orientation_wxyz, obj.size_m)
    assert all(close(a, b, 1e-8) for a, b in zip(got, expected, strict=True)), (got, expected)
    assert obj.orientation_wxyz[0] >= 0


def test_y_up_scene_equals_the_z_up_scene_it_was_written_from(run_ingest: Run) -> None:
    """The kitchen-like base scene rewritten y-up (in cm) ingests to the z-up metre scene's numbers."""
    zup = base_scene()
    yup = scaled(base_scene(), 100.0) | {"units": "cm", "up_axis": "y"}
    for o in yup["objects"]:
        x, y, z = o["pose"]["position"]
        o["pose"]["position"] = [x, z, -y]
        sx, sy, sz = o["size"]
        o["size"] = [sx, sz, sy]
        if "orientation_wxyz" in o["pose"]:  # a yaw about z is a turn about +y in the y-up file
            w, _, _, qz = o["pose"]["orientation_wxyz"]
            o["pose"]["orientation_wxyz"] = [w, 0.0, qz, 0.0]
    x, y, z = yup["robot_base"]["position"]
    yup["robot_base"]["position"] = [x, z, -y]
    assert_same_geometry(
        ok_manifest(run_ingest(zup, scene="zup")), ok_manifest(run_ingest(yup, scene="yup"))
    )


# ------------------------------------------------------------------- quaternions
@pytest.mark.parametrize(
    ("given", "expected", "warns"),
    [
        ((2.0, 0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0), True),
        ((0.0, 0.0, 0.0, 3.0), (0.0, 0.0, 0.0, 1.0), True),
        ((1.0, 0.0, 0.0, 1.0), (H, 0.0, 0.0, H), True),
        ((0.1, 0.2, 0.2, 0.4), (0.2, 0.4, 0.4, 0.8), True),
        ((-1.0, 0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0), False),
        (YAW30, YAW30, False),
    ],
)
def test_quaternions_are_normalised_with_a_warning(
    given: Quat, expected: Quat, warns: bool, run_ingest: Run
) -> None:
    """A non-unit orientation comes out unit length (w >= 0) and is reported in the warnings."""
    bp = blueprint()
    bp["objects"][1]["pose"]["orientation_wxyz"] = list(given)
    m = ok_manifest(run_ingest(bp))
    q = by_id(m)["mug"].orientation_wxyz
    assert close(q, expected, 1e-12), q
    assert abs(math.sqrt(sum(c * c for c in q)) - 1.0) < 1e-12
    notes = [w for w in m.warnings if "normalised" in w]
    assert notes == (
        ["1 orientation quaternions were not unit length and were normalised"] if warns else []
    )


# ------------------------------------------------------------------- scale calibration
def test_normal_sizes_are_left_alone(run_ingest: Run) -> None:
    """A scene whose sizes match their priors gets no calibration change and no warning."""
    bp = blueprint()
    m = ok_manifest(run_ingest(bp))
    assert m.calibration.changes == []
    assert m.calibration.scene_scale == 1.0
    assert m.warnings == []
    for raw, obj in zip(bp["objects"], m.objects, strict=True):
        assert close(obj.size_m, raw["size"]) and close(obj.position_m, raw["pose"]["position"])


def test_scene_ten_times_too_big_is_rescaled_as_a_whole(run_ingest: Run) -> None:
    """Every length x10 (decimetres labelled as metres): one scene-wide change by 0.1 restores the true scene."""
    normal = ok_manifest(run_ingest(base_scene(), scene="normal"))
    big = ok_manifest(run_ingest(scaled(base_scene(), 10.0), scene="big"))
    changes = big.calibration.changes
    assert [(c.target, c.factor) for c in changes] == [("scene", 0.1)], changes
    assert "median" in changes[0].reason and "10x" in changes[0].reason
    assert big.calibration.scene_scale == 0.1
    assert close(big.calibration.median_prior_ratio, 10.0)
    assert_same_geometry(normal, big)


@pytest.mark.parametrize(
    ("k", "rescaled"), [(1.4, False), (1 / 1.4, False), (1.6, True), (1 / 1.6, True)]
)
def test_scene_scale_tolerance_is_1_5(k: float, rescaled: bool, run_ingest: Run) -> None:
    """A scene 1.4x off its priors is kept; 1.6x off is rescaled by the inverse of the median ratio."""
    m = ok_manifest(run_ingest(scaled(base_scene(), k)))
    if not rescaled:
        assert m.calibration.changes == [] and m.calibration.scene_scale == 1.0
    else:
        assert [c.target for c in m.calibration.changes] == ["scene"]
        assert close(m.calibration.scene_scale, 1 / k)
        assert close(by_id(m)["table"].size_m, [1.2, 0.8, 0.75])


def test_scene_scale_tolerance_follows_the_setting(run_ingest: Run) -> None:
    """INGEST_SCALE_TOLERANCE=2 keeps a scene that is 1.6x its priors."""
    m = ok_manifest(run_ingest(scaled(base_scene(), 1.6), INGEST_SCALE_TOLERANCE="2"))
    assert m.calibration.changes == [] and m.calibration.scene_scale == 1.0


TABLE_TOP = 0.75


@pytest.mark.parametrize(
    ("k", "q"),
    [(12.0, None), (12.0, (H, H, 0.0, 0.0)), (1 / 12, None), (3.5, YAW30)],
    ids=["12x-upright", "12x-on-its-side", "twelfth-upright", "3.5x-yawed"],
)
def test_single_outlier_is_rescaled_about_its_base(
    k: float, q: Quat | None, run_ingest: Run
) -> None:
    """One mug far off its prior is scaled to the prior about its base: bottom, x and y unchanged, change recorded."""
    size = [0.09 * k, 0.09 * k, 0.1 * k]
    qq = q or (1.0, 0.0, 0.0, 0.0)
    height = sum(abs(rotation_matrix(qq)[2][j]) * size[j] for j in range(3))
    bp = blueprint()
    bp["objects"][1]["size"] = size
    bp["objects"][1]["pose"] = {
        "position": [0.1, 0.0, TABLE_TOP + height / 2],
        "orientation_wxyz": list(qq),
    }
    m = ok_manifest(run_ingest(bp))
    assert m.calibration.scene_scale == 1.0
    assert [(c.target, round(c.factor, 6)) for c in m.calibration.changes] == [
        ("mug", round(1 / k, 6))
    ]
    assert "mug" in m.calibration.changes[0].reason and "base" in m.calibration.changes[0].reason
    mug = by_id(m)["mug"]
    assert close(mug.size_m, [0.09, 0.09, 0.1])
    assert close(bottom(mug), TABLE_TOP), bottom(mug)
    assert close(mug.position_m[:2], [0.1, 0.0])
    assert close(mug.orientation_wxyz, qq, 1e-12)
    for oid in ("table", "apple"):
        raw = next(o for o in bp["objects"] if o["id"] == oid)
        assert close(by_id(m)[oid].size_m, raw["size"]) and close(
            by_id(m)[oid].position_m, raw["pose"]["position"]
        )


def test_object_within_three_times_its_prior_is_kept(run_ingest: Run) -> None:
    """A mug 2.9x its prior is not an outlier: no change."""
    bp = blueprint()
    bp["objects"][1]["size"] = [0.09 * 2.9, 0.09 * 2.9, 0.1 * 2.9]
    m = ok_manifest(run_ingest(bp))
    assert m.calibration.changes == []
    assert close(by_id(m)["mug"].size_m, bp["objects"][1]["size"])


def test_few_known_objects_skip_scene_calibration_with_a_warning(run_ingest: Run) -> None:
    """With fewer than three objects of known category the scene scale is not calibrated, and ingest says so."""
    bp = scaled(blueprint(), 10.0)
    bp["objects"] = bp["objects"][:2]
    m = ok_manifest(run_ingest(bp))
    assert "scene" not in [c.target for c in m.calibration.changes]
    assert m.calibration.scene_scale == 1.0
    assert any("only 2 objects with a known category" in w for w in m.warnings), m.warnings


def test_unknown_category_is_a_warning_not_an_error(run_ingest: Run) -> None:
    """An unknown category ingests with a warning, no prior (never rescaled), role object and generic material."""
    bp = blueprint()
    bp["objects"].append(
        {
            "id": "robot_toy",
            "category": "spaceship",
            "size": [5.0, 5.0, 5.0],
            "pose": {"position": [0.3, 0.2, 3.25]},
            "support": "table",
        }
    )
    m = ok_manifest(run_ingest(bp))
    toy = by_id(m)["robot_toy"]
    assert toy.known_category is False
    assert (toy.role, toy.material, toy.graspable, toy.static) == (
        "object",
        "generic",
        False,
        False,
    )
    assert close(toy.size_m, [5.0, 5.0, 5.0])
    assert m.calibration.changes == []
    assert any("unknown category 'spaceship' (1 objects)" in w for w in m.warnings), m.warnings
    assert m.object_count == 4


def test_manifest_fills_roles_materials_static_and_mesh_digest(run_ingest: Run) -> None:
    """Priors give role, graspable, material and static defaults; blueprint values override; meshes get their sha256."""
    mesh = b"o mug\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    bp = blueprint()
    bp["objects"][1]["mesh"] = "meshes/mug.obj"
    bp["objects"][2].update(static=True, material="plastic")
    m = ok_manifest(run_ingest(bp, extra={"meshes/mug.obj": mesh}))
    table, mug, apple = by_id(m)["table"], by_id(m)["mug"], by_id(m)["apple"]
    assert (table.role, table.static, table.material, table.graspable) == (
        "support",
        True,
        "wood",
        False,
    )
    assert (mug.role, mug.static, mug.material, mug.graspable) == ("object", False, "ceramic", True)
    assert (apple.static, apple.material) == (True, "plastic")
    assert mug.mesh == "meshes/mug.obj" and mug.mesh_sha256 == hashlib.sha256(mesh).hexdigest()
    assert table.mesh is None and table.mesh_sha256 is None
    assert (mug.support, apple.support, table.support) == ("table", "table", "floor")


def test_utf8_bom_is_accepted(file_storage, scene_factory) -> None:
    """A blueprint saved with a UTF-8 byte-order mark ingests like one without."""
    import json as _json

    from bp_ingest.stage import IngestStage
    from bp_sdk.runner import run_stage

    from tests.conftest import job_env, minimal_blueprint

    scene = scene_factory(b"\xef\xbb\xbf" + _json.dumps(minimal_blueprint()).encode())
    assert run_stage(IngestStage(), job_env(file_storage, scene)) == 0
