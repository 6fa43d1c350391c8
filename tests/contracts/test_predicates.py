"""The success predicates: one definition, evaluated by episodes and generated into Isaac Lab."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from bp_contracts import tasks as contract
from bp_contracts.tasks import (
    DEFAULT_VALUES,
    ObjectFrame,
    Predicate,
    Region,
    TaskSpec,
    all_hold,
    holds,
    in_region,
    joint_fraction,
)
from bp_tasks.isaac import predicate_params, render_predicates

TARGET = Region(center_m=(0.5, 0.0, 0.8), half_extents_m=(0.1, 0.05, 0.02), support="table")


def _frame(
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
    start: tuple[float, float, float] = (0.0, 0.0, 0.0),
    speed: float = 0.0,
    touching: bool = False,
    joint: float | None = None,
) -> ObjectFrame:
    return ObjectFrame(np.asarray(pos), np.asarray(start), speed, touching, joint)


def test_region_is_inclusive_with_a_z_tolerance() -> None:
    """On the box's faces counts as inside; z gets REGION_Z_TOLERANCE_M more, x and y nothing."""
    x_edge, y_edge = 0.5 + 0.1, 0.0 - 0.05
    assert in_region(np.array([x_edge, y_edge, 0.8]), TARGET)
    assert not in_region(np.array([x_edge + 1e-6, 0.0, 0.8]), TARGET)
    z_top = 0.8 + 0.02 + contract.REGION_Z_TOLERANCE_M
    assert in_region(np.array([0.5, 0.0, z_top - 1e-9]), TARGET)
    assert not in_region(np.array([0.5, 0.0, z_top + 1e-6]), TARGET)


@pytest.mark.parametrize(
    ("predicate", "at", "beyond"),
    [
        (
            Predicate(kind="object_at_rest", object="o", value=0.05),
            {"speed": 0.05},
            {"speed": 0.0501},
        ),
        (
            Predicate(kind="object_lifted", object="o", value=0.1),
            {"pos": (0, 0, 0.1)},
            {"pos": (0, 0, 0.0999)},
        ),
        (
            Predicate(kind="joint_at_least", object="o", value=0.8),
            {"joint": 0.8},
            {"joint": 0.7999},
        ),
        (Predicate(kind="joint_at_most", object="o", value=0.1), {"joint": 0.1}, {"joint": 0.1001}),
        (
            Predicate(kind="object_displaced", object="o", value=0.1, direction=(0.0, 2.0, 0.0)),
            {"pos": (0, 0.1, 0)},
            {"pos": (0, 0.0999, 0)},
        ),
    ],
)
def test_thresholds_are_inclusive(predicate: Predicate, at: dict, beyond: dict) -> None:
    """A value exactly at the threshold holds; just past it does not (<= and >= everywhere)."""
    assert holds(predicate, _frame(**at), None)
    assert not holds(predicate, _frame(**beyond), None)


@pytest.mark.parametrize("kind", sorted(DEFAULT_VALUES))
def test_missing_values_take_the_contract_default(kind: str) -> None:
    """Without a value a predicate uses DEFAULT_VALUES; an explicit 0 is 0, not the default."""
    p = Predicate(kind=kind, object="o")  # type: ignore[arg-type]
    assert p.threshold() == DEFAULT_VALUES[kind]
    assert Predicate(kind=kind, object="o", value=0.0).threshold() == 0.0  # type: ignore[arg-type]


def test_gripper_and_joint_predicates() -> None:
    """gripper_released needs no contact; joint predicates need a joint; all_hold needs all."""
    released = Predicate(kind="gripper_released", object="o")
    assert holds(released, _frame(), None) and not holds(released, _frame(touching=True), None)
    assert not holds(Predicate(kind="joint_at_least", object="o"), _frame(joint=None), None)
    inside = Predicate(kind="object_in_region", object="o")
    assert not holds(inside, _frame(pos=(0.5, 0.0, 0.8)), None)
    assert all_hold([inside, released], _frame(pos=(0.5, 0.0, 0.8)), TARGET)
    assert not all_hold([inside, released], _frame(pos=(0.5, 0.0, 0.8), touching=True), TARGET)
    assert joint_fraction(0.3, 0.0, 0.6) == pytest.approx(0.5)
    assert joint_fraction(0.0, 0.0, 0.0) == 0.0  # a degenerate range does not divide by zero


def _constants(source: str) -> dict[str, object]:
    tree = ast.parse(source)
    out: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                out[target.id] = ast.literal_eval(node.value)
    return out


def test_isaac_lab_constants_are_the_contracts() -> None:
    """The generated predicates.py carries the contract's tolerance, fraction and epsilon."""
    consts = _constants(render_predicates())
    assert consts["REGION_Z_TOLERANCE_M"] == contract.REGION_Z_TOLERANCE_M
    assert consts["RELEASED_OPENING_FRACTION"] == contract.RELEASED_OPENING_FRACTION
    assert consts["JOINT_RANGE_EPS"] == contract.JOINT_RANGE_EPS


def test_isaac_lab_comparisons_are_inclusive() -> None:
    """Every comparison in the generated predicate terms is <= or >=, as in the episodes stage."""
    tree = ast.parse(render_predicates())
    kinds = set(contract.PREDICATE_KINDS)
    seen = set()
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name in kinds:
            seen.add(fn.name)
            for node in ast.walk(fn):
                if isinstance(node, ast.Compare):
                    assert all(isinstance(op, ast.LtE | ast.GtE) for op in node.ops), fn.name
    assert seen == kinds


def test_isaac_lab_task_thresholds_are_resolved_by_the_contract() -> None:
    """A task's SUCCESS entries carry each threshold as the episodes stage uses it, directions unit."""
    attrs = {"o": "obj_o"}
    for kind in contract.PREDICATE_KINDS:
        p = Predicate(kind=kind, object="o")  # type: ignore[arg-type]
        params = predicate_params(p, attrs)
        assert params["value"] == p.threshold()
    push = Predicate(kind="object_displaced", object="o", value=0.1, direction=(3.0, 4.0, 0.0))
    d = predicate_params(push, attrs)["direction"]
    assert d == pytest.approx((0.6, 0.8, 0.0)) and math.isclose(sum(c * c for c in d), 1.0)


def test_close_tasks_start_open_by_the_contracts_fraction() -> None:
    """Close tasks start CLOSE_TASK_START_FRACTION open (episodes and Isaac Lab alike), open tasks closed."""
    base = {
        "task_id": "t",
        "object": "o",
        "instruction": "close it",
        "success": [],
        "time_limit_s": 10.0,
        "reach_m": 0.5,
    }
    close = TaskSpec.model_validate({**base, "kind": "close_drawer"})
    opening = TaskSpec.model_validate({**base, "kind": "open_door"})
    assert close.initial_joint_fraction() == contract.CLOSE_TASK_START_FRACTION
    assert opening.initial_joint_fraction() == 0.0
