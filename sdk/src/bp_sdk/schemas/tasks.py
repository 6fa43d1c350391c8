"""``tasks.json`` (schema v1), written by tasks: what the robot is asked to do.

Success predicates are data, evaluated by the episode stage in simulation; they are
never code. Target regions are given per variant (objects move between variants).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from bp_sdk.ids import Identifier

TASKS_SCHEMA: Final = "bp.tasks/v1"
Vec3 = tuple[float, float, float]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Region(_Frozen):
    """An axis-aligned box in the world frame."""

    center_m: Vec3
    half_extents_m: Vec3
    support: str  # the object (or "floor") the region lies on


class Predicate(_Frozen):
    """One condition; a task succeeds when all of its predicates hold at once."""

    kind: Literal[
        "object_in_region",  # object's centre inside ``region`` (per variant: the task's target)
        "object_lifted",  # object's centre at least ``value`` m above its start
        "object_at_rest",  # object's speed below ``value`` m/s
        "gripper_released",  # the object is not in contact with the gripper
        "joint_at_least",  # articulation joint of ``object`` ≥ ``value`` (fraction of its range)
        "joint_at_most",  # articulation joint of ``object`` ≤ ``value`` (fraction of its range)
        "object_displaced",  # object's centre moved ≥ ``value`` m along ``direction``
    ]
    object: Identifier
    value: float | None = None
    direction: Vec3 | None = None


class TaskSpec(_Frozen):
    """One task."""

    task_id: Identifier
    kind: Literal["pick_place", "push", "open_drawer", "close_drawer", "open_door", "close_door"]
    object: Identifier
    instruction: str
    paraphrases: list[str] = Field(default_factory=list)
    targets: dict[str, Region] = Field(default_factory=dict)  # variant id → target region
    success: list[Predicate]
    time_limit_s: float = Field(gt=0)
    reach_m: float  # distance from the robot's shoulder to the farthest point the task needs


class TaskSet(_Frozen):
    """Every task of the scene."""

    schema_: Literal["bp.tasks/v1"] = Field(default=TASKS_SCHEMA, alias="schema")
    scene_id: Identifier
    variants: list[str]
    tasks: list[TaskSpec]
    skipped: dict[str, str] = Field(default_factory=dict)  # object id → why no task
