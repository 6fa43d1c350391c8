"""``tasks.json`` (schema v1), written by tasks: what the robot is asked to do, and when it
has done it.

Success predicates are data, never code. They are defined here once — kinds, default
thresholds, tolerances, comparisons — and evaluated here (:func:`holds`, plain Python on 3-vectors) by the
episodes stage; the Isaac Lab package that tasks writes takes the same constants and the
same resolved thresholds (generated into its text). Every comparison is inclusive
(``<=`` / ``>=``). Target regions are given per variant (objects move between variants).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, get_args

from bp_sdk.ids import Identifier
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bp_contracts.geometry import Vec3

TASKS_FILE: Final = "tasks.json"  # in the tasks stage's committed outputs
TASKS_SCHEMA: Final = "bp.tasks/v1"

PredicateKind = Literal[
    "object_in_region",  # object's centre inside ``region`` (per variant: the task's target)
    "object_lifted",  # object's centre at least ``value`` m above its start
    "object_at_rest",  # object's speed at most ``value`` m/s
    "gripper_released",  # the object is not in contact with the gripper
    "joint_at_least",  # articulation joint of ``object`` ≥ ``value`` (fraction of its range)
    "joint_at_most",  # articulation joint of ``object`` ≤ ``value`` (fraction of its range)
    "object_displaced",  # object's centre moved ≥ ``value`` m along ``direction``
]
TaskKind = Literal["pick_place", "push", "open_drawer", "close_drawer", "open_door", "close_door"]
PREDICATE_KINDS: Final[tuple[str, ...]] = get_args(PredicateKind)
TASK_KINDS: Final[tuple[str, ...]] = get_args(TaskKind)

# ------------------------------------------------------------------ predicate constants
# A region's box is tested as given in x and y; in z its half extent grows by this much, for
# the object's own height (its centre rests above the support's top face).
REGION_Z_TOLERANCE_M: Final = 0.03
# The threshold a predicate uses when tasks.json gives no ``value``.
DEFAULT_VALUES: Final[dict[str, float]] = {
    "object_lifted": 0.05,  # m above the start
    "object_at_rest": 0.05,  # m/s
    "object_displaced": 0.1,  # m along the direction
    "joint_at_least": 0.8,  # fraction of the joint's range
    "joint_at_most": 0.1,  # fraction of the joint's range
}
DEFAULT_DIRECTION: Final[Vec3] = (1.0, 0.0, 0.0)  # object_displaced without a direction
JOINT_RANGE_EPS: Final = 1e-9  # a joint range narrower than this counts as this wide
# Isaac Lab has no contact query in the generated package: there ``gripper_released``
# holds when the fingers are open at least this fraction of their travel.
RELEASED_OPENING_FRACTION: Final = 0.9
# A close task starts with its drawer or door open this fraction of its range (the
# episodes stage and the Isaac Lab reset alike); an open task starts closed.
CLOSE_TASK_START_FRACTION: Final = 0.7

if TYPE_CHECKING:  # numpy only for the callers' types: the contracts do not import it
    import numpy as np
    from numpy.typing import NDArray

    F64: TypeAlias = NDArray[np.float64] | Sequence[float]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Region(_Frozen):
    """An axis-aligned box in the world frame."""

    center_m: Vec3
    half_extents_m: Vec3
    support: str  # the object (or "floor") the region lies on

    @field_validator("half_extents_m")
    @classmethod
    def _non_negative(cls, v: Vec3) -> Vec3:
        if min(v) < 0:
            raise ValueError("half extents must be >= 0")
        return v


class Predicate(_Frozen):
    """One condition; a task succeeds when all of its predicates hold at once."""

    kind: PredicateKind
    object: Identifier
    value: float | None = None
    direction: Vec3 | None = None

    @field_validator("direction")
    @classmethod
    def _direction(cls, v: Vec3 | None) -> Vec3 | None:
        if v is not None and math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) == 0:
            raise ValueError("direction must not be the zero vector")
        return v

    def threshold(self) -> float | None:
        """The value compared against: ``value``, else the kind's default (None: no threshold)."""
        if self.value is not None:
            return self.value
        return DEFAULT_VALUES.get(self.kind)

    def unit_direction(self) -> Vec3:
        """``direction`` (default +x) scaled to unit length."""
        d = self.direction if self.direction is not None else DEFAULT_DIRECTION
        n = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) or 1.0
        return (d[0] / n, d[1] / n, d[2] / n)


class TaskSpec(_Frozen):
    """One task."""

    task_id: Identifier
    kind: TaskKind
    object: Identifier
    instruction: str
    paraphrases: list[str] = Field(default_factory=list)
    targets: dict[str, Region] = Field(default_factory=dict)  # variant id → target region
    success: list[Predicate]
    time_limit_s: float = Field(gt=0)
    reach_m: float  # distance from the robot's shoulder to the farthest point the task needs

    def initial_joint_fraction(self) -> float:
        """Where the task's drawer or door starts, as a fraction of its range."""
        return CLOSE_TASK_START_FRACTION if self.kind in ("close_drawer", "close_door") else 0.0


class TaskSet(_Frozen):
    """Every task of the scene."""

    schema_: Literal["bp.tasks/v1"] = Field(default=TASKS_SCHEMA, alias="schema")
    scene_id: Identifier
    variants: list[str]
    tasks: list[TaskSpec]
    skipped: dict[str, str] = Field(default_factory=dict)  # object id → why no task


# ------------------------------------------------------------------ evaluation
@dataclass(frozen=True)
class ObjectFrame:
    """What predicates read about the task object at one instant."""

    pos: F64
    start_pos: F64
    speed: float
    touching_gripper: bool
    joint_fraction: float | None  # articulated objects: joint position as a fraction of its range


def joint_fraction(q: float, lo: float, hi: float) -> float:
    """A joint position as a fraction of its range: 0 at ``lo`` (closed), 1 at ``hi``."""
    return (q - lo) / max(hi - lo, JOINT_RANGE_EPS)


def in_region(pos: F64, region: Region) -> bool:
    """Centre inside the region's box (z with :data:`REGION_Z_TOLERANCE_M` for the object's height)."""
    c, h = region.center_m, region.half_extents_m
    dx, dy, dz = (abs(float(pos[i]) - c[i]) for i in range(3))
    return dx <= h[0] and dy <= h[1] and dz <= h[2] + REGION_Z_TOLERANCE_M


def holds(p: Predicate, frame: ObjectFrame, target: Region | None) -> bool:
    """Whether one predicate holds."""
    value = p.threshold()
    if p.kind == "object_in_region":
        return target is not None and in_region(frame.pos, target)
    if p.kind == "gripper_released":
        return not frame.touching_gripper
    assert value is not None  # noqa: S101 - every other kind has a default
    if p.kind == "object_at_rest":
        return frame.speed <= value
    if p.kind == "object_lifted":
        return float(frame.pos[2] - frame.start_pos[2]) >= value
    if p.kind == "object_displaced":
        u = p.unit_direction()
        moved = (float(frame.pos[i]) - float(frame.start_pos[i]) for i in range(3))
        return sum(d * ui for d, ui in zip(moved, u, strict=True)) >= value
    if p.kind == "joint_at_least":
        return frame.joint_fraction is not None and frame.joint_fraction >= value
    if p.kind == "joint_at_most":
        return frame.joint_fraction is not None and frame.joint_fraction <= value
    raise ValueError(f"unknown predicate kind {p.kind!r}")  # pragma: no cover - Literal


def all_hold(predicates: list[Predicate], frame: ObjectFrame, target: Region | None) -> bool:
    """Whether every predicate holds at once."""
    return all(holds(p, frame, target) for p in predicates)
