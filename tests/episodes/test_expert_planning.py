"""The scripted expert's planning, without physics: hand orientations, the follower's
velocity profiles, the obstacle boxes, and the choices the planners make from them."""

from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np
import pytest
from bp_contracts.simready import SimObject
from bp_contracts.tasks import Predicate, Region, TaskSpec
from bp_episodes.expert import hand
from bp_episodes.expert.base import Follower, ObjectState, Waypoint, World
from bp_episodes.expert.door import CloseDoorExpert, OpenDoorExpert, hinge
from bp_episodes.expert.ik import hand_quat, side_yaw
from bp_episodes.expert.obstacles import Box, ceiling_over, floor_under, in_strip
from bp_episodes.expert.pick_place import PickPlaceExpert
from bp_episodes.expert.registry import EXPERTS
from bp_episodes.expert.side_grasp import SIDE_HEIGHT

TABLE_TOP = 0.75


def _axes(quat: np.ndarray) -> np.ndarray:
    m = np.zeros(9)
    mujoco.mju_quat2Mat(m, quat)
    return m.reshape(3, 3)


def _obj(oid: str, size: tuple[float, float, float], shape: str = "box") -> SimObject:
    part: dict[str, Any] = {"name": "body", "shape": shape, "size": [s / 2 for s in size]}
    if shape == "cylinder":
        part["size"] = [size[0] / 2, size[2] / 2, 0.0]
    return SimObject.model_validate(
        {
            "id": oid,
            "category": "thing",
            "role": "object",
            "static": False,
            "graspable": True,
            "graspable_reason": "",
            "support": "table",
            "size_m": size,
            "position_m": (0.0, 0.0, TABLE_TOP + size[2] / 2),
            "orientation_wxyz": (1.0, 0.0, 0.0, 0.0),
            "material": "plastic",
            "density_kg_m3": 500.0,
            "volume_m3": size[0] * size[1] * size[2],
            "volume_source": "primitive",
            "inertia": {"mass_kg": 0.3, "diag_kg_m2": (1e-3, 1e-3, 1e-3)},
            "friction": (1.0, 0.005, 0.0001),
            "restitution": 0.1,
            "rgba": (0.5, 0.5, 0.5, 1.0),
            "parts": [part],
        }
    )


def _box_of(
    oid: str, x: float, y: float, size: tuple[float, float, float], z0: float = TABLE_TOP
) -> Box:
    return Box(
        oid,
        (x - size[0] / 2, y - size[1] / 2, z0),
        (x + size[0] / 2, y + size[1] / 2, z0 + size[2]),
    )


def _world(
    things: dict[str, tuple[tuple[float, float, float], tuple[float, float], str]],
    task_object: str,
    target_xy: tuple[float, float],
    extra_boxes: tuple[Box, ...] = (),
) -> World:
    """A table in front of a robot at (0, -0.6) facing +y, with objects (size, xy, shape)."""
    objects = {}
    boxes = [Box("table", (-0.7, -0.3, 0.0), (0.7, 0.5, TABLE_TOP))]
    for oid, (size, xy, shape) in things.items():
        objects[oid] = ObjectState(
            _obj(oid, size, shape), (xy[0], xy[1], TABLE_TOP + size[2] / 2), (1.0, 0.0, 0.0, 0.0)
        )
        boxes.append(_box_of(oid, xy[0], xy[1], size))
    h = things[task_object][0][2]
    target = Region(
        center_m=(target_xy[0], target_xy[1], TABLE_TOP + (h + 0.02) / 2),
        half_extents_m=(0.06, 0.06, (h + 0.02) / 2),
        support="table",
    )
    task = TaskSpec(
        task_id="t",
        kind="pick_place",
        object=task_object,
        instruction="move it",
        targets={"v0000": target},
        success=[Predicate(kind="object_in_region", object=task_object)],
        time_limit_s=30.0,
        reach_m=0.7,
    )
    return World(
        task,
        target,
        objects,
        (0.0, -0.29, 1.14),
        0.0,
        {"base_x": 0.0, "base_y": -0.6, "base_yaw": math.pi / 2},
        tuple(boxes) + extra_boxes,
    )


def test_hand_quat_tilt_points_fingers_horizontally_with_the_wrist_above() -> None:
    """Tilt 0 is the downward hand; tilt π/2 points the fingers along (sin yaw, -cos yaw) with
    the closing axis horizontal and the wrist side (site -y) up; roll π/2 closes vertically."""
    for yaw in (0.0, 0.7, -2.0):
        down = _axes(hand_quat(yaw))
        np.testing.assert_allclose(down[:, 2], [0, 0, -1], atol=1e-9)
        side = _axes(hand_quat(yaw, math.pi / 2))
        np.testing.assert_allclose(side[:, 2], [math.sin(yaw), -math.cos(yaw), 0], atol=1e-9)
        assert abs(side[2, 0]) < 1e-9, "closing axis must stay horizontal"
        assert -side[2, 1] > 0.99, "the wrist side must point up"
        rolled = _axes(hand_quat(yaw, math.pi / 2, math.pi / 2))
        assert abs(abs(rolled[2, 0]) - 1) < 1e-9, "roll π/2 closes vertically"
    approach = 1.1
    fingers = _axes(hand_quat(side_yaw(approach), math.pi / 2))[:, 2]
    np.testing.assert_allclose(fingers, [math.cos(approach), math.sin(approach), 0], atol=1e-9)


def test_follower_eases_arcs_through_inner_waypoints_at_speed() -> None:
    """An "in"/"none"/"out" chain starts and ends at rest, keeps the speed through the inner
    waypoints (no stop-and-go), and every segment ends exactly on its waypoint."""
    wps = [
        Waypoint(
            (0.1 * i, 0.0, 0.5),
            0.0,
            0.0,
            "swing",
            speed_m_s=0.1,
            min_s=0.0,
            ease="in" if i == 1 else ("out" if i == 4 else "none"),
        )
        for i in range(1, 5)
    ]
    f = Follower((0.0, 0.0, 0.5), 0.0, 0.0, wps)
    dt = 1e-3
    ts = np.arange(0.0, f.duration + dt, dt)
    x = np.array([f.at(t)[0][0] for t in ts])
    v = np.diff(x) / dt
    assert abs(v[0]) < 1e-2 and abs(v[-1]) < 1e-2
    inner = v[(ts[:-1] > f.duration * 0.35) & (ts[:-1] < f.duration * 0.65)]
    np.testing.assert_allclose(inner, 0.1, rtol=1e-3)
    assert np.max(np.abs(np.diff(v))) < 1e-3, "velocity must be continuous"
    np.testing.assert_allclose(f.at(f.duration)[0], wps[-1].pos)


def test_obstacle_queries_read_floor_ceiling_and_slab() -> None:
    """floor/ceiling take boxes near a corridor below/over a level; a slab meets only boxes
    in its rectangle and height band."""
    board = Box("board", (-0.4, -0.15, 0.68), (0.4, 0.15, 0.70))
    top = Box("board_above", (-0.4, -0.15, 1.08), (0.4, 0.15, 1.10))
    side = Box("panel", (0.38, -0.16, 0.0), (0.40, 0.15, 1.6))
    boxes = [board, top, side]
    assert floor_under(boxes, (0.0, 0.0), (0.1, 0.0), 0.05, below=1.0) == pytest.approx(0.70)
    assert ceiling_over(boxes, (0.0, 0.0), (0.1, 0.0), 0.05, above=0.71) == pytest.approx(1.08)
    assert ceiling_over(boxes, (0.0, -0.5), (0.1, -0.5), 0.05, above=0.71) == math.inf
    assert floor_under(boxes, (0.2, 0.0), (0.3, 0.0), 0.1, below=1.0) == pytest.approx(
        1.6
    )  # the panel is near
    assert in_strip(boxes, (0.0, -0.4), (0.0, 0.0), 0.05, 0.75, 0.9) == []
    assert in_strip(boxes, (0.0, -0.4), (0.0, 0.0), 0.05, 0.65, 0.9) == [board]
    assert in_strip(boxes, (0.2, -0.4), (0.35, 0.0), 0.04, 0.75, 0.9) == [side]


def test_tall_object_gets_a_side_grasp_near_its_centre_of_mass() -> None:
    """A 24 cm bottle in the open is gripped from the side (fingers horizontal) at 45 % of its
    height, the hand keeps that grip to the place, and the plan is the same every time."""
    world = _world(
        {"bottle": ((0.068, 0.068, 0.24), (0.3, 0.0), "cylinder")}, "bottle", (-0.3, 0.0)
    )
    plan = PickPlaceExpert().plan(world)
    assert plan == PickPlaceExpert().plan(world)
    grasp = next(w for w in plan if w.label == "grasp")
    assert grasp.tilt == pytest.approx(math.pi / 2)
    assert grasp.pos[2] == pytest.approx(TABLE_TOP + SIDE_HEIGHT * 0.24, abs=1e-9)
    # the pads' centre (4 mm behind the site) on the bottle's axis: gripped across its widest chord
    fingers = _axes(hand_quat(grasp.yaw, grasp.tilt))[:, 2]
    pads = np.array(grasp.pos) - 0.004 * fingers
    assert math.hypot(pads[0] - 0.3, pads[1]) < 0.002
    lower = next(w for w in plan if w.label == "lower")
    assert lower.pos[2] == pytest.approx(
        grasp.pos[2] + 0.005, abs=1e-6
    )  # set down as it was lifted


def test_side_grasp_rises_over_neighbours_and_squat_objects_stay_top_grasped() -> None:
    """Neighbours 13 cm tall around a bottle push the side grasp up until the hand clears them;
    a squat can with room above keeps the top grasp."""
    things = {
        "bottle": ((0.068, 0.068, 0.24), (0.3, 0.0), "cylinder"),
        "mug_a": ((0.09, 0.09, 0.13), (0.2, -0.1), "cylinder"),
        "mug_b": ((0.09, 0.09, 0.13), (0.42, -0.08), "cylinder"),
        "can": ((0.066, 0.066, 0.12), (-0.1, 0.1), "cylinder"),
    }
    plan = PickPlaceExpert().plan(_world(things, "bottle", (-0.3, 0.0)))
    grasp = next(w for w in plan if w.label == "grasp")
    assert grasp.tilt == pytest.approx(math.pi / 2)
    assert grasp.pos[2] - hand.SIDE_DOWN >= TABLE_TOP + 0.13 - 1e-9, "the hand must clear the mugs"
    squat = PickPlaceExpert().plan(_world(things, "can", (-0.3, -0.1)))
    assert all(w.tilt == 0.0 for w in squat)


def test_object_under_a_shelf_board_is_side_grasped_below_the_board() -> None:
    """A squat can with a board 25 cm over it gets a side grasp; the hand and the carried can
    stay under the board the whole way."""
    board = Box("board_above", (-0.7, -0.3, 1.0), (0.7, 0.5, 1.02))
    world = _world(
        {"can": ((0.066, 0.066, 0.1), (0.2, 0.1), "cylinder")}, "can", (-0.1, 0.1), (board,)
    )
    plan = PickPlaceExpert().plan(world)
    assert any(w.tilt == pytest.approx(math.pi / 2) for w in plan)
    held = [w for w in plan if w.label in ("grasp", "lift", "carry", "lower")]
    for w in held:
        assert w.pos[2] + hand.SIDE_UP < 1.0, (
            f"{w.label} at {w.pos[2]:.3f} puts the wrist into the board"
        )


def test_top_grasp_turns_away_from_a_blocking_neighbour() -> None:
    """A tall neighbour where the preferred top grasp's palm would be makes the expert take the
    other fitting yaw; without it the preferred yaw is kept."""
    things = {"block": ((0.05, 0.05, 0.05), (0.0, 0.0), "box")}
    free = PickPlaceExpert().plan(_world(things, "block", (-0.3, 0.0)))
    things["pot"] = ((0.15, 0.15, 0.15), (0.16, 0.0), "box")
    crowded = PickPlaceExpert().plan(_world(things, "block", (-0.3, 0.0)))
    yaw_free = next(w.yaw for w in free if w.label == "grasp")
    yaw_crowded = next(w.yaw for w in crowded if w.label == "grasp")
    assert math.cos(yaw_free) ** 2 == pytest.approx(1.0, abs=1e-6)  # palm along x: meets the pot
    assert math.cos(yaw_crowded) ** 2 == pytest.approx(0.0, abs=1e-6)  # palm along y: clear


def _door_world(angle: float) -> World:
    anchor = (-0.5, 0.0, 0.875)
    radius = 0.35
    # handle 2.4 cm in front of the door's face; the door opens towards -y (the robot)
    local = np.array([radius, -0.024, 0.0])
    c, s = math.cos(-angle), math.sin(-angle)
    handle = np.array(anchor) + np.array(
        [c * local[0] - s * local[1], s * local[0] + c * local[1], 0.0]
    )
    task = TaskSpec(
        task_id="d",
        kind="open_door",
        object="microwave",
        instruction="open it",
        success=[Predicate(kind="joint_at_least", object="microwave", value=0.8)],
        time_limit_s=30.0,
        reach_m=0.7,
    )
    extras = {
        "hinge_x": anchor[0],
        "hinge_y": anchor[1],
        "hinge_z": anchor[2],
        "axis_x": 0.0,
        "axis_y": 0.0,
        "axis_z": -1.0,
        "joint_q": angle,
        "joint_lo": 0.0,
        "joint_hi": 1.6,
        "handle_x": float(handle[0]),
        "handle_y": float(handle[1]),
        "handle_z": float(handle[2]),
        "base_x": 0.0,
        "base_y": -0.6,
        "base_yaw": math.pi / 2,
    }
    return World(task, None, {}, (0.0, -0.29, 1.14), 0.0, extras)


def test_door_expert_follows_the_hinge_arc_and_turns_with_the_door() -> None:
    """Open: grasp, then swing waypoints at the handle's radius from the hinge axis to the
    goal angle past 0.8 of the range, the hand yaw turning with the door; close from 0.7
    swings back past 0; both registered by kind."""
    assert EXPERTS["open_door"] is OpenDoorExpert and EXPERTS["close_door"] is CloseDoorExpert
    world = _door_world(0.0)
    hg = hinge(world)
    plan = OpenDoorExpert().plan(world)
    labels = [w.label for w in plan]
    assert labels[:4] == ["approach", "descend", "reach", "grasp"] and labels[-3:] == [
        "release",
        "retreat",
        "clear",
    ]
    swing = [w for w in plan if w.label == "swing"]
    radius = float(np.linalg.norm((hg.handle - hg.anchor)[:2]))
    angles = [math.atan2(plan[3].pos[1] - hg.anchor[1], plan[3].pos[0] - hg.anchor[0])]
    for w in swing:
        assert w.gripper == 0.0
        r = np.array(w.pos[:2]) - hg.anchor[:2]
        assert (
            abs(float(np.linalg.norm(r)) - radius) < 0.02
        )  # on the arc (the site a little inside the bar)
        angles.append(math.atan2(r[1], r[0]))
    turned = -(angles[-1] - angles[0])  # the door turns clockwise seen from above (axis -z)
    assert turned / 1.6 >= 0.8
    assert abs(_wrap(swing[-1].yaw - plan[3].yaw) + turned) < 0.05, "the hand turns with the door"
    close = CloseDoorExpert().plan(_door_world(0.7 * 1.6))
    end = [w for w in close if w.label == "swing"][-1]
    r = np.array(end.pos[:2]) - hg.anchor[:2]
    assert (
        math.atan2(r[1], r[0]) > math.atan2(-0.024, radius) - 0.1
    )  # back at (or just past) closed


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def test_door_expert_refuses_a_non_vertical_hinge() -> None:
    """A lid-like horizontal hinge is reported, not swung wrongly."""
    world = _door_world(0.0)
    extras = dict(world.extras, axis_x=1.0, axis_z=0.0)
    with pytest.raises(ValueError, match="not vertical"):
        OpenDoorExpert().plan(World(world.task, None, {}, world.hand_start, 0.0, extras))
