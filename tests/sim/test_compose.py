"""compose_scene: deterministic, complete, names as documented, variants applied, bad input refused."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
from bp_contracts.assembly import CameraSpec, LightSpec
from bp_contracts.geometry import rotate
from bp_contracts.simready import Inertia
from bp_contracts.variation import ObjectPose, Variant
from bp_sdk.errors import InputError
from bp_sim.compose import HOME_KEY, PEDESTAL, free_joint, part_body, part_joint
from bp_sim.robots import get_robot
from bp_sim.scene_defaults import (
    default_cameras,
    default_placement,
    main_support,
    top_z,
    work_target,
)

from tests.sim._simready import bare_manifest, box_object
from tests.sim._support import ROBOT, Example, compose


def _variant(scene: str, **changes: object) -> Variant:
    base = {
        "scene_id": scene,
        "variant_id": "v0001",
        "index": 1,
        "seed": 7,
        "nominal": False,
        "poses": [],
        "colours": {},
        "distractors": [],
        "lights": [],
        "cameras": [],
        "ranges": {},
        "placement_attempts": 0,
    }
    base.update(changes)
    return Variant.model_validate(base)


@pytest.mark.parametrize("scene", ["kitchen_counter", "pantry_shelf"])
def test_compose_is_deterministic(scene: str, examples: dict[str, Example]) -> None:
    """Composing the same inputs twice gives the same MJCF text, with no absolute path in it."""
    ex = examples[scene]
    a = compose(ex.simready, ex.meshes).to_xml()
    b = compose(ex.simready, ex.meshes).to_xml()
    assert a == b
    assert "/work/" not in a and "site-packages" not in a and 'file="/' not in a


def test_every_object_is_a_body_with_its_physics(examples: dict[str, Example]) -> None:
    """Bodies carry the manifest's mass, inertia, pose, friction and colour; static ones have no joint, movable ones a free joint."""
    ex = examples["kitchen_counter"]
    model = compose(ex.simready, ex.meshes).compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_forward(model, data)
    for obj in ex.simready.objects:
        body = model.body(obj.id)
        assert body.mass[0] == pytest.approx(obj.inertia.mass_kg)
        assert list(body.inertia) == pytest.approx(list(obj.inertia.diag_kg_m2))
        assert list(data.body(obj.id).xpos) == pytest.approx(list(obj.position_m), abs=1e-9)
        if obj.static:
            assert body.jntnum[0] == 0
        else:
            assert model.joint(free_joint(obj.id)).type[0] == mujoco.mjtJoint.mjJNT_FREE
        geom = model.geom(f"{obj.id}/{obj.parts[0].name}")
        assert list(geom.friction) == pytest.approx(list(obj.friction))
        assert list(geom.rgba) == pytest.approx(list(obj.rgba))
    mug = model.geom("mug_blue/hull")
    assert mug.type[0] == mujoco.mjtGeom.mjGEOM_MESH  # the blueprint's mesh, loaded from bytes


def test_articulated_objects_get_a_static_carcass_and_a_moving_part(
    examples: dict[str, Example],
) -> None:
    """The drawer unit is static with a slide child; the laptop is free with a hinged lid; ranges, damping and friction loss as given."""
    pantry = examples["pantry_shelf"]
    model = compose(pantry.simready, pantry.meshes).compile()
    unit = pantry.simready.by_id()["drawer_unit_1"]
    art = unit.articulation
    assert art is not None and art.kind == "drawer"
    assert model.body("drawer_unit_1").jntnum[0] == 0
    j = model.joint(part_joint("drawer_unit_1", "drawer"))
    assert j.type[0] == mujoco.mjtJoint.mjJNT_SLIDE
    assert model.body(j.bodyid[0]).name == part_body("drawer_unit_1", "drawer")
    assert list(j.range) == pytest.approx(list(art.range))
    assert j.damping[0] == pytest.approx(art.damping) and j.frictionloss[0] == pytest.approx(
        art.frictionloss
    )
    assert model.site("drawer_unit_1/handle") is not None
    office = examples["office_desk"]
    model = compose(office.simready, office.meshes).compile()
    assert model.joint(free_joint("laptop_1")).type[0] == mujoco.mjtJoint.mjJNT_FREE
    assert model.joint(part_joint("laptop_1", "lid")).type[0] == mujoco.mjtJoint.mjJNT_HINGE


def test_robot_stands_on_a_pedestal_at_the_placement(examples: dict[str, Example]) -> None:
    """The base sits on top of a pedestal of the placement's height, turned by its yaw; the home key has the robot's pose."""
    ex = examples["kitchen_counter"]
    robot = get_robot(ROBOT)
    placement = default_placement(ex.simready, robot)
    model = compose(ex.simready, ex.meshes).compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_forward(model, data)
    base = data.body(robot.scoped(robot.base_body))
    bx, by, bz = placement.base_position_m
    assert list(base.xpos) == pytest.approx([bx, by, bz + placement.pedestal_height_m], abs=1e-9)
    heading = base.xmat.reshape(3, 3)[:, 0]
    yaw = math.radians(placement.yaw_deg)
    assert list(heading) == pytest.approx([math.cos(yaw), math.sin(yaw), 0.0], abs=1e-9)
    ped = model.geom(PEDESTAL)
    assert 2 * ped.size[2] == pytest.approx(placement.pedestal_height_m)
    for joint, q in zip(robot.joints, placement.home_qpos, strict=True):
        assert data.qpos[model.joint(robot.scoped(joint)).qposadr[0]] == pytest.approx(q)


def test_blueprint_robot_base_is_used_and_the_pedestal_follows_the_rule(
    examples: dict[str, Example],
) -> None:
    """With robot_base the placement is the blueprint's; the pedestal top is 0.1 m under the main support's top."""
    robot = get_robot(ROBOT)
    for ex in examples.values():
        placement = default_placement(ex.simready, robot)
        assert placement.placed_by == "blueprint"
        assert ex.simready.robot_base is not None
        assert placement.base_position_m == pytest.approx(ex.simready.robot_base[0])
        support = main_support(ex.simready)
        assert support is not None
        assert placement.pedestal_height_m == pytest.approx(top_z(support) - 0.1, abs=1e-9)
    assert main_support(examples["pantry_shelf"].simready).id == "shelf_board_mid"  # type: ignore[union-attr]
    assert main_support(examples["kitchen_counter"].simready).id == "counter"  # type: ignore[union-attr]


def test_without_robot_base_the_robot_faces_the_main_support(examples: dict[str, Example]) -> None:
    """With no robot_base the robot stands 0.25 m off the support's front edge, facing it, within reach of its objects."""
    robot = get_robot(ROBOT)
    for ex in examples.values():
        simready = ex.simready.model_copy(update={"robot_base": None})
        placement = default_placement(simready, robot)
        assert placement.placed_by == "default"
        support = main_support(simready)
        assert support is not None
        yaw = math.radians(placement.yaw_deg)
        to_support = np.subtract(support.position_m[:2], placement.base_position_m[:2])
        assert np.dot(to_support, [math.cos(yaw), math.sin(yaw)]) > 0  # facing it
        target = work_target(simready)
        assert math.dist(target[:2], placement.base_position_m[:2]) < robot.reach_m
    # a turned support: the robot turns with it
    turned = bare_manifest(
        "turned",
        [
            box_object("t", (1.2, 0.6, 0.7), (1.0, 2.0, 0.35), 30.0, static=True).model_copy(
                update={
                    "orientation_wxyz": (math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4))
                }
            ),
            box_object("b", (0.05, 0.05, 0.05), (1.0, 2.0, 0.725), 0.1, support="t"),
        ],
    )
    placement = default_placement(turned, robot)
    assert placement.yaw_deg == pytest.approx(180.0)
    assert placement.base_position_m[:2] == pytest.approx((1.0 + 0.3 + 0.25, 2.0))


def test_scene_camera_looks_at_the_work_area(examples: dict[str, Example]) -> None:
    """The scene camera's view axis passes through the work target; the wrist camera rides on the hand."""
    robot = get_robot(ROBOT)
    ex = examples["office_desk"]
    placement = default_placement(ex.simready, robot)
    scene_cam, wrist = default_cameras(ex.simready, placement, robot)
    view = rotate(scene_cam.quat_wxyz, (0.0, 0.0, -1.0))
    to_target = np.subtract(work_target(ex.simready), scene_cam.pos_m)
    assert np.dot(view, to_target / np.linalg.norm(to_target)) == pytest.approx(1.0, abs=1e-6)
    model = compose(ex.simready, ex.meshes).compile()
    assert model.body(model.camera("wrist").bodyid[0]).name == robot.scoped(robot.wrist_camera_body)
    assert wrist.mount == "wrist"


def test_variant_overrides_poses_colours_lights_cameras_and_adds_distractors(
    examples: dict[str, Example],
) -> None:
    """A variant moves objects, recolours them, adds distractor bodies and replaces lights and cameras."""
    ex = examples["kitchen_counter"]
    apple = ex.simready.by_id()["apple_red"]
    moved = (apple.position_m[0] + 0.05, apple.position_m[1], apple.position_m[2])
    extra = box_object(
        "distractor_0", (0.04, 0.04, 0.04), (0.45, -0.2, 0.93), 0.1, support="counter"
    )
    variant = _variant(
        ex.scene,
        poses=[ObjectPose(id="apple_red", position_m=moved, orientation_wxyz=(1.0, 0.0, 0.0, 0.0))],
        colours={"mug_blue": (0.1, 0.2, 0.9, 1.0)},
        distractors=[extra],
        lights=[
            LightSpec(
                name="only", pos_m=(0.0, 0.0, 3.0), dir=(0.0, 0.0, -1.0), diffuse=(0.9, 0.9, 0.9)
            )
        ],
        cameras=[
            CameraSpec(
                name="top",
                mount="scene",
                pos_m=(0.0, 0.0, 2.5),
                quat_wxyz=(1.0, 0.0, 0.0, 0.0),
                fovy_deg=60.0,
            )
        ],
    )
    spec = compose(ex.simready, ex.meshes, variant)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_forward(model, data)
    assert list(data.body("apple_red").xpos) == pytest.approx(list(moved))
    assert list(model.geom("mug_blue/hull").rgba) == pytest.approx([0.1, 0.2, 0.9, 1.0])
    assert model.joint(free_joint("distractor_0")).type[0] == mujoco.mjtJoint.mjJNT_FREE
    assert [model.light(i).name for i in range(model.nlight)] == ["only"]
    assert [model.camera(i).name for i in range(model.ncam)] == ["top"]
    assert spec.to_xml() != compose(ex.simready, ex.meshes).to_xml()


def test_bad_input_is_refused_with_every_problem_named(examples: dict[str, Example]) -> None:
    """Impossible inertia, no parts, and a variant naming unknown objects: one InputError naming each object."""
    ex = examples["kitchen_counter"]
    objs = ex.simready.by_id()
    bad = [
        objs["apple_red"].model_copy(
            update={"inertia": Inertia(mass_kg=0.2, diag_kg_m2=(1e-4, 1e-4, 1e-2))}
        ),
        objs["bowl_white"].model_copy(update={"parts": []}),
    ]
    simready = ex.simready.model_copy(
        update={
            "objects": [o for o in ex.simready.objects if o.id not in ("apple_red", "bowl_white")]
            + bad
        }
    )
    variant = _variant(
        ex.scene,
        poses=[
            ObjectPose(
                id="ghost", position_m=(0.0, 0.0, 1.0), orientation_wxyz=(1.0, 0.0, 0.0, 0.0)
            )
        ],
        colours={"phantom": (1.0, 0.0, 0.0, 1.0)},
    )
    with pytest.raises(InputError) as info:
        compose(simready, ex.meshes, variant)
    text = str(info.value)
    assert "apple_red" in text and "triangle inequality" in text
    assert "bowl_white" in text and "no collision parts" in text
    assert "ghost" in text and "phantom" in text
    assert len(info.value.problems) == 4
