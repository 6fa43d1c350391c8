"""Success predicates (data from tasks.json) evaluated on the simulated state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from bp_sdk.schemas import Predicate, Region
from numpy.typing import NDArray

F64 = NDArray[np.float64]
REGION_Z_TOLERANCE = 0.03


@dataclass(frozen=True)
class ObjectFrame:
    """What predicates read about the task object at one instant."""

    pos: F64
    start_pos: F64
    speed: float
    touching_gripper: bool
    joint_fraction: float | None  # articulated objects: joint position as a fraction of its range


def in_region(pos: F64, region: Region) -> bool:
    """Centre inside the region's box (z with a tolerance for the object's own height)."""
    c = np.asarray(region.center_m)
    h = np.asarray(region.half_extents_m)
    dx, dy, dz = np.abs(pos - c)
    return bool(dx <= h[0] and dy <= h[1] and dz <= h[2] + REGION_Z_TOLERANCE)


def holds(p: Predicate, frame: ObjectFrame, target: Region | None) -> bool:
    """Whether one predicate holds."""
    if p.kind == "object_in_region":
        return target is not None and in_region(frame.pos, target)
    if p.kind == "object_at_rest":
        return frame.speed <= (p.value if p.value is not None else 0.05)
    if p.kind == "gripper_released":
        return not frame.touching_gripper
    if p.kind == "object_lifted":
        return float(frame.pos[2] - frame.start_pos[2]) >= (p.value or 0.05)
    if p.kind == "object_displaced":
        d = np.asarray(p.direction if p.direction is not None else (1.0, 0.0, 0.0))
        d = d / (np.linalg.norm(d) or 1.0)
        return float((frame.pos - frame.start_pos) @ d) >= (p.value or 0.1)
    if p.kind == "joint_at_least":
        return frame.joint_fraction is not None and frame.joint_fraction >= (p.value or 0.8)
    if p.kind == "joint_at_most":
        return frame.joint_fraction is not None and frame.joint_fraction <= (
            p.value if p.value is not None else 0.1
        )
    raise ValueError(f"unknown predicate kind {p.kind!r}")


def all_hold(predicates: list[Predicate], frame: ObjectFrame, target: Region | None) -> bool:
    """Whether every predicate holds at once."""
    return all(holds(p, frame, target) for p in predicates)
