"""Task planning on scenes built in code: targets, pushes, drawers and doors, skip reasons."""

from __future__ import annotations

import math

from bp_contracts.tasks import TaskSet
from bp_tasks.planner import Planner

from tests.tasks._support import (
    assembly,
    door,
    drawer,
    sim_object,
    simready,
    task_problems,
    variant,
)
from tests.tasks.conftest import TABLE_TOP, table_scene


def _plan(world, s):
    plan = Planner(world, s).plan()
    return plan, {t.task_id: t for t in plan.tasks}


def _check(plan, objects, variants, **robot) -> list[str]:
    ts = TaskSet(
        scene_id="s1",
        variants=[v.variant_id for v in variants],
        tasks=plan.tasks,
        skipped=plan.skipped,
    )
    return task_problems(ts, simready("s1", objects), assembly("s1", **robot), variants)


def test_table_scene_tasks_are_valid(make_world, settings) -> None:
    """Every task of the table scene has a free, reachable target on its support and well-formed predicates."""
    plan, tasks = _plan(make_world(), settings())
    assert _check(plan, table_scene(), [variant("s1", 0)]) == []
    assert "pick_place_can_to_tray" in tasks and tasks["pick_place_can_to_tray"].instruction
    assert "pick_place_can_to_bowl" in tasks  # the can fits in the bowl
    assert tasks["pick_place_can_to_bowl"].targets["v0000"].support == "bowl"
    assert any(t.startswith("push_block_") for t in tasks)
    assert "the red can" in tasks["pick_place_can_to_tray"].instruction.lower()


def test_receptacle_instructions_use_on_and_in(make_world, settings) -> None:
    """A tray takes 'on', a bowl takes 'in'."""
    _, tasks = _plan(make_world(), settings())
    tray = [
        tasks["pick_place_can_to_tray"].instruction,
        *tasks["pick_place_can_to_tray"].paraphrases,
    ]
    bowl = [
        tasks["pick_place_can_to_bowl"].instruction,
        *tasks["pick_place_can_to_bowl"].paraphrases,
    ]
    assert all("tray" in t and (" on " in t or " onto " in t) for t in tray)
    assert all("bowl" in t and (" in " in t or " into " in t or " inside " in t) for t in bowl)


def test_not_graspable_and_static_reasons(make_world, settings) -> None:
    """Objects without tasks are skipped with simready's reason or 'static'."""
    plan, _ = _plan(make_world(), settings())
    assert plan.skipped["table"].startswith("static support")
    assert plan.skipped["bowl"].startswith("not graspable: 0.170 m wide")
    assert "no push: not box-like (cylinder)" in plan.skipped["bowl"]


def test_non_graspable_box_gets_a_push(make_world, settings) -> None:
    """The cereal box cannot be grasped but can be pushed; the push moves it 0.10 m along a unit direction."""
    _, tasks = _plan(make_world(), settings())
    (push,) = [t for t in tasks.values() if t.object == "cereal"]
    assert push.kind == "push"
    displaced = push.success[0]
    assert displaced.kind == "object_displaced" and displaced.value == 0.10
    assert math.isclose(math.hypot(*displaced.direction), 1.0)
    region = push.targets["v0000"]
    start = (-0.05, 0.05)
    moved = (region.center_m[0] - start[0], region.center_m[1] - start[1])
    assert math.isclose(
        moved[0] * displaced.direction[0] + moved[1] * displaced.direction[1], 0.10, abs_tol=1e-9
    )


def test_move_target_respects_direction_and_distance(make_world, settings) -> None:
    """A same-support target lies at least 0.15 m from the start, in the direction its instruction names."""
    _, tasks = _plan(make_world(), settings())
    (move,) = [
        t
        for t in tasks.values()
        if t.task_id.startswith("pick_place_can_")
        and t.task_id.split("_")[-1] in ("left", "right", "back", "front")
    ]
    word = move.task_id.split("_")[-1]
    c = move.targets["v0000"].center_m
    dx, dy = c[0] - 0.10, c[1] - (-0.15)
    along = {"left": -dx, "right": dx, "back": dy, "front": -dy}[word]  # robot faces +y
    assert along >= 0.15 - 1e-9
    phrase = {"left": "left", "right": "right", "back": "farther", "front": "closer"}[word]
    assert phrase in move.instruction


def test_unreachable_object_is_skipped_with_distance(make_world, settings) -> None:
    """An object 1.1 m away is skipped as unreachable, naming its distance and the limit."""
    objs = [
        sim_object("table", "table", (3.0, 3.0, 0.75), (0.0, 0.8, 0.375)),
        sim_object("far_can", "can", (0.066, 0.066, 0.12), (0.0, 0.9, 0.81), support="table"),
        sim_object(
            "near_can",
            "can",
            (0.066, 0.066, 0.12),
            (0.2, -0.1, 0.81),
            support="table",
            rgba=(0.1, 0.1, 0.9, 1.0),
        ),
    ]
    plan, _ = _plan(make_world(objs), settings())
    assert plan.skipped["far_can"].startswith("unreachable: 1.")
    assert "m from the shoulder (limit 0.800 m)" in plan.skipped["far_can"]


def test_too_close_object_is_skipped(make_world, settings) -> None:
    """An object within 0.25 m of the shoulder horizontally is skipped."""
    objs = [
        sim_object("table", "table", (1.2, 1.6, 0.75), (0.0, 0.0, 0.375)),
        sim_object("can", "can", (0.066, 0.066, 0.12), (0.0, -0.45, 0.81), support="table"),
    ]
    plan, _ = _plan(make_world(objs), settings())
    assert "horizontally (minimum 0.250 m)" in plan.skipped["can"]


def test_variant_targets_avoid_distractors_and_moved_objects(make_world, settings) -> None:
    """Per variant, targets avoid that variant's distractors and the objects where that variant put them."""
    distractors = [
        sim_object(
            f"d{i}", "toy_block", (0.05, 0.05, 0.05), (x, y, TABLE_TOP + 0.025), support="table"
        )
        for i, (x, y) in enumerate([(-0.1, -0.25), (0.0, -0.05), (-0.35, 0.1), (0.35, -0.25)])
    ]
    moved = {"can": ((0.0, -0.2, TABLE_TOP + 0.06), (1.0, 0.0, 0.0, 0.0))}
    variants = [variant("s1", 0), variant("s1", 1, poses=moved, distractors=distractors)]
    plan, _ = _plan(make_world(variants=variants), settings())
    assert _check(plan, table_scene(), variants) == []
    assert any(len(t.targets) == 2 for t in plan.tasks)


def test_variant_out_of_reach_is_left_out(make_world, settings) -> None:
    """A variant that moves the object out of reach is not among its task's targets."""
    objs = [
        *table_scene()[:1],
        sim_object("table2", "table", (0.6, 0.6, 0.75), (0.0, 1.0, 0.375)),
        *table_scene()[1:],
    ]
    far = {"can": ((0.0, 1.0, TABLE_TOP + 0.06), (1.0, 0.0, 0.0, 0.0))}
    variants = [variant("s1", 0), variant("s1", 1, poses=far)]
    plan, _ = _plan(make_world(objs, variants), settings())
    can_tasks = [t for t in plan.tasks if t.object == "can"]
    assert can_tasks and all(set(t.targets) == {"v0000"} for t in can_tasks)


def test_max_tasks_per_object(make_world, settings) -> None:
    """TASKS_MAX_TASKS_PER_OBJECT caps the tasks of each object."""
    plan, _ = _plan(make_world(), settings(TASKS_MAX_TASKS_PER_OBJECT="1"))
    objects = [t.object for t in plan.tasks]
    assert len(objects) == len(set(objects))


def test_object_carrying_another_is_not_moved(make_world, settings) -> None:
    """A movable object with something on it gets no pick or push."""
    objs = [
        sim_object("table", "table", (1.2, 0.8, 0.75), (0.0, 0.0, 0.375)),
        sim_object(
            "book", "book", (0.15, 0.07, 0.03), (0.1, -0.1, 0.765), support="table", graspable=True
        ),
        sim_object("block", "toy_block", (0.05, 0.05, 0.05), (0.1, -0.1, 0.805), support="book"),
    ]
    plan, _ = _plan(make_world(objs), settings())
    assert plan.skipped["book"] == "carries block: it cannot move without them"


def test_take_off_a_receptacle(make_world, settings) -> None:
    """An object on a tray gets 'take it off the tray and put it on the table'."""
    objs = [
        sim_object("table", "table", (1.2, 0.8, 0.75), (0.0, 0.0, 0.375)),
        sim_object("tray", "tray", (0.4, 0.3, 0.03), (0.0, -0.05, 0.765), support="table"),
        sim_object(
            "apple",
            "apple",
            (0.07, 0.07, 0.07),
            (0.1, -0.05, 0.815),
            support="tray",
            graspable=True,
            rgba=(0.8, 0.1, 0.1, 1.0),
        ),
    ]
    plan, tasks = _plan(make_world(objs), settings())
    t = tasks["pick_place_apple_to_table"]
    assert t.targets["v0000"].support == "table"
    assert "tray" in t.instruction and "table" in t.instruction
    assert _check(plan, objs, [variant("s1", 0)]) == []


def test_drawer_open_and_close(make_world, settings) -> None:
    """A reachable drawer facing the robot gets open_drawer (joint ≥ 0.8) and close_drawer (joint ≤ 0.1)."""
    objs = [
        sim_object(
            "unit",
            "drawer_unit",
            (0.45, 0.45, 0.6),
            (0.2, 0.15, 0.3),
            articulation=drawer(0.45, 0.45, 0.25, 0.15),
        )
    ]
    plan, tasks = _plan(make_world(objs, pedestal=0.3), settings())
    assert set(tasks) == {"open_drawer_unit", "close_drawer_unit"}
    assert tasks["open_drawer_unit"].success[0].kind == "joint_at_least"
    assert tasks["open_drawer_unit"].success[0].value == 0.8
    assert tasks["close_drawer_unit"].success[0].value == 0.1
    handle = tasks["open_drawer_unit"].targets["v0000"].center_m
    assert math.isclose(
        handle[1], 0.15 - 0.225 - 0.03 - 0.8 * 0.25, abs_tol=1e-9
    )  # slid out along -y
    assert "drawer unit" in tasks["open_drawer_unit"].instruction
    assert tasks["open_drawer_unit"].time_limit_s == 19.0  # 16 s + 15 s/m x 0.2 m
    assert _check(plan, objs, [variant("s1", 0)], pedestal=0.3) == []


def test_drawer_facing_away_is_skipped(make_world, settings) -> None:
    """A drawer that opens away from the robot gets no task, and says so."""
    art = drawer(0.45, 0.45, 0.25, 0.15)
    turned = (
        math.cos(math.pi / 4),
        0.0,
        0.0,
        math.sin(math.pi / 4),
    )  # front turned to +x, away from the robot
    objs = [
        sim_object(
            "unit",
            "drawer_unit",
            (0.45, 0.45, 0.6),
            (0.45, -0.6, 0.3),
            quat=turned,
            articulation=art,
        )
    ]
    plan, _ = _plan(make_world(objs, pedestal=0.3), settings())
    assert "opens away from the robot" in plan.skipped["unit"]


def test_door_open_and_close(make_world, settings) -> None:
    """A cabinet door gets open_door / close_door; the hinge turns the handle on an arc."""
    objs = [
        sim_object("cab", "cabinet", (0.4, 0.4, 0.6), (0.1, 0.2, 0.3), articulation=door(0.4, 0.4))
    ]
    plan, tasks = _plan(make_world(objs, pedestal=0.3), settings())
    assert set(tasks) == {"open_door_cab", "close_door_cab"}
    goal = tasks["open_door_cab"].targets["v0000"].center_m
    hinge = (0.1 - 0.2, 0.2 - 0.2)
    radius = math.hypot(0.35, 0.03)
    assert math.isclose(math.dist(goal[:2], hinge), radius, abs_tol=1e-9)
    assert tasks["open_door_cab"].time_limit_s >= 8 + 10 * radius * 0.8 * math.radians(110) - 1e-9
    assert _check(plan, objs, [variant("s1", 0)], pedestal=0.3) == []


def test_lid_has_no_task_kind(make_world, settings) -> None:
    """A lid is reported as having no task kind in the schema."""
    art = door().model_copy(update={"kind": "lid"})
    objs = [
        sim_object("desk", "desk", (1.2, 0.8, 0.75), (0.0, 0.0, 0.375)),
        sim_object(
            "bin",
            "storage_bin",
            (0.35, 0.25, 0.2),
            (0.2, -0.1, 0.85),
            support="desk",
            articulation=art,
            static=True,
        ),
    ]
    plan, _ = _plan(make_world(objs), settings())
    assert "lid has no task kind" in plan.skipped["bin"]


def test_same_name_objects_are_told_apart(make_world, settings) -> None:
    """Two red cans become 'the left red can' and 'the right red can'."""
    red = (0.8, 0.1, 0.1, 1.0)
    objs = [
        sim_object("table", "table", (1.2, 0.8, 0.75), (0.0, 0.0, 0.375)),
        sim_object(
            "can_a", "can", (0.066, 0.066, 0.12), (-0.15, -0.1, 0.81), support="table", rgba=red
        ),
        sim_object(
            "can_b", "can", (0.066, 0.066, 0.12), (0.15, -0.1, 0.81), support="table", rgba=red
        ),
    ]
    _, tasks = _plan(make_world(objs), settings())
    a = next(t for t in tasks.values() if t.object == "can_a")
    b = next(t for t in tasks.values() if t.object == "can_b")
    assert "the left red can" in a.instruction.lower()  # robot faces +y: -x is its left
    assert "the right red can" in b.instruction.lower()


def test_deterministic(make_world, settings) -> None:
    """Planning twice gives the same tasks."""
    one = Planner(make_world(), settings()).plan()
    two = Planner(make_world(), settings()).plan()
    assert one == two


def test_take_out_of_a_bowl(make_world, settings) -> None:
    """An object in a bowl is taken 'out of' it, not 'off' it."""
    objs = [
        sim_object("table", "table", (1.2, 0.8, 0.75), (0.0, 0.0, 0.375)),
        sim_object(
            "bowl",
            "bowl",
            (0.2, 0.2, 0.07),
            (0.0, -0.05, 0.785),
            support="table",
            graspable=False,
            static=True,
        ),
        sim_object(
            "apple",
            "apple",
            (0.07, 0.07, 0.07),
            (0.0, -0.05, 0.855),
            support="bowl",
            graspable=True,
            rgba=(0.8, 0.1, 0.1, 1.0),
        ),
    ]
    _, tasks = _plan(make_world(objs), settings())
    t = tasks["pick_place_apple_to_table"]
    texts = [t.instruction, *t.paraphrases]
    assert any("out of the grey bowl" in x for x in texts)
    assert not any(" off " in x for x in texts)
