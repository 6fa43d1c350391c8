"""Episodes settings: how many episodes, how they are recorded, and the stage's guards."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from bp_sdk.settings import JobSettings
from bp_sim.robots import robot_names
from pydantic import Field, field_validator

PHYSICS_HZ = 500  # assemble's default timestep (2 ms); checked against assembly.json at start


class EpisodesSettings(JobSettings):
    """``bp-episodes`` configuration (environment only)."""

    stage_name: ClassVar[str] = "episodes"

    episodes_per_task: int = Field(
        default=2, ge=1, le=1000, description="Episodes per (variant, task) pair."
    )
    episodes_max_variants: int = Field(
        default=4, ge=1, le=1000, description="Use at most this many variants (first ones)."
    )
    episodes_tasks: str = Field(
        default="", description="Comma-separated task ids or kinds to run (empty: every task)."
    )
    episodes_fps: int = Field(
        default=20,
        ge=1,
        le=500,
        description="Recording and control rate; must divide the physics rate (500 Hz at dt = 2 ms).",
    )
    episodes_resolution: int = Field(
        default=128, ge=32, le=1024, description="Camera image width and height in pixels."
    )
    episodes_tier: Literal["core", "plus", "full"] = Field(
        default="core",
        description="core: RGB; plus: + depth; full: + segmentation, object poses and contacts.",
    )
    episodes_shadows: bool = Field(
        default=False, description="Render shadows (5-6x slower on CPU)."
    )
    episodes_robot: str = Field(default="franka_panda", description="Robot from the registry.")
    episodes_base_seed: int = Field(
        default=0,
        ge=0,
        description="Base seed; every episode's seed derives from (scene, configuration, base seed, variant, task, index).",
    )
    episodes_min_success_rate: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Fail the shard if fewer episodes succeed (a guard that the expert works; the gate judges the dataset).",
    )
    episodes_keep_failures: bool = Field(
        default=True,
        description="Keep failed episodes as failure rollouts (flagged), with their reason.",
    )
    episodes_timeout_s: float = Field(
        default=300.0, gt=0, le=3600, description="Wall-clock limit per episode."
    )
    episodes_joint_noise_rad: float = Field(
        default=0.05,
        ge=0.0,
        le=0.2,
        description="Seeded uniform noise (±rad) on the robot's start joints; a start that penetrates the scene is redrawn.",
    )
    episodes_object_jitter_m: float = Field(
        default=0.03,
        ge=0.0,
        le=0.2,
        description="Each episode shifts every movable object uniformly within this radius (m) of its variant position, collision-free (0: every episode of a variant starts alike).",
    )
    episodes_object_yaw_rad: float = Field(
        default=0.2,
        ge=0.0,
        le=math.pi,
        description="Each episode turns every movable object about the vertical by a uniform angle within ± this (rad), collision-free.",
    )
    mujoco_gl: Literal["egl", "osmesa", "glfw"] = Field(
        default="egl", description="MuJoCo OpenGL backend for offscreen rendering."
    )

    @field_validator("episodes_fps")
    @classmethod
    def _divides_physics(cls, fps: int) -> int:
        if PHYSICS_HZ % fps:
            ok = [f for f in range(1, PHYSICS_HZ + 1) if PHYSICS_HZ % f == 0 and 5 <= f <= 100]
            raise ValueError(
                f"{fps} fps does not divide the {PHYSICS_HZ} Hz physics rate; use one of {ok}"
            )
        return fps

    @field_validator("episodes_robot")
    @classmethod
    def _known_robot(cls, name: str) -> str:
        valid = robot_names()  # the registry's names; imports no MuJoCo
        if name not in valid:
            raise ValueError(f"unknown robot {name!r}; valid: {', '.join(valid)}")
        return name

    def task_filter(self) -> list[str]:
        """Task ids or kinds asked for (empty: all)."""
        return [t.strip() for t in self.episodes_tasks.split(",") if t.strip()]
