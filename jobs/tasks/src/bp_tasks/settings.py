"""Tasks settings: the common job settings plus reach limits, target sizes and time limits."""

from __future__ import annotations

from typing import ClassVar

from bp_sdk.settings import JobSettings
from pydantic import Field, model_validator


class TasksSettings(JobSettings):
    """``bp-tasks`` configuration (environment only)."""

    stage_name: ClassVar[str] = "tasks"

    tasks_max_reach_m: float = Field(
        default=0.80,
        gt=0.1,
        le=2.0,
        description="Farthest an object, target or handle may be from the robot's shoulder, in metres.",
    )
    tasks_min_horizontal_reach_m: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Nearest an object, target or handle may be to the shoulder, measured horizontally, in metres.",
    )
    tasks_shoulder_height_m: float = Field(
        default=0.333,
        ge=0.0,
        le=2.0,
        description="Height of the arm's shoulder joint above its mount (Franka Panda: 0.333 m).",
    )
    tasks_min_headroom_m: float = Field(
        default=0.45,
        ge=0.0,
        le=2.0,
        description="Free height needed above an object (and its target) for a top-down grasp: the Panda's wrist and forearm stand ~0.4 m above its fingertips.",
    )
    tasks_time_base_s: float = Field(
        default=16.0,
        gt=0.0,
        le=600.0,
        description="Time limit of a task: this many seconds plus TASKS_TIME_PER_M_S per metre travelled.",
    )
    tasks_time_per_m_s: float = Field(
        default=15.0,
        ge=0.0,
        le=600.0,
        description="Seconds added to a task's time limit per metre its object (or handle) travels.",
    )
    tasks_target_margin_m: float = Field(
        default=0.03,
        ge=0.0,
        le=0.5,
        description="Target regions are the object's footprint grown by this margin on every side, in metres.",
    )
    tasks_min_move_m: float = Field(
        default=0.15,
        ge=0.0,
        le=2.0,
        description="A pick-and-place target on the object's own support is at least this far from its start, in metres.",
    )
    tasks_push_distance_m: float = Field(
        default=0.10, gt=0.0, le=1.0, description="How far a push task moves its object, in metres."
    )
    tasks_rest_speed_m_s: float = Field(
        default=0.05,
        gt=0.0,
        le=1.0,
        description="An object counts as at rest below this speed (object_at_rest predicate), in m/s.",
    )
    tasks_open_fraction: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        description="open_drawer / open_door succeed when the joint reaches this fraction of its range.",
    )
    tasks_close_fraction: float = Field(
        default=0.1,
        ge=0.0,
        lt=1.0,
        description="close_drawer / close_door succeed when the joint is at most this fraction of its range.",
    )
    tasks_max_tasks_per_object: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Most tasks made for one object (articulated: per joint).",
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> TasksSettings:
        if self.tasks_min_horizontal_reach_m >= self.tasks_max_reach_m:
            raise ValueError(
                f"TASKS_MIN_HORIZONTAL_REACH_M ({self.tasks_min_horizontal_reach_m}) must be "
                f"smaller than TASKS_MAX_REACH_M ({self.tasks_max_reach_m})"
            )
        if self.tasks_close_fraction >= self.tasks_open_fraction:
            raise ValueError(
                f"TASKS_CLOSE_FRACTION ({self.tasks_close_fraction}) must be smaller than "
                f"TASKS_OPEN_FRACTION ({self.tasks_open_fraction})"
            )
        return self
