"""Assemble settings: the common job settings plus robot, settling bounds and preview size."""

from __future__ import annotations

from typing import ClassVar, Literal

from bp_sdk.settings import JobSettings
from bp_sim.robots import check_robot_name
from pydantic import Field, field_validator


class AssembleSettings(JobSettings):
    """``bp-assemble`` configuration (environment only)."""

    stage_name: ClassVar[str] = "assemble"

    assemble_robot: str = Field(
        default="franka_panda",
        description="Robot from the bp_sim registry to place in the scene (e.g. franka_panda).",
    )
    assemble_settle_steps: int = Field(
        default=1000,
        ge=500,
        le=100_000,
        description="Physics steps the stability check runs from the home keyframe (at least 500).",
    )
    assemble_timestep_s: float = Field(
        default=0.002, ge=0.0005, le=0.005, description="Physics timestep of the scene in seconds."
    )
    assemble_max_drift_m: float = Field(
        default=0.005,
        gt=0.0,
        le=0.1,
        description="Largest drift (or sinking) of any movable object while settling, in metres.",
    )
    assemble_max_penetration_m: float = Field(
        default=0.005,
        gt=0.0,
        le=0.1,
        description="Largest penetration of any contact while settling (robot self-contacts excluded), in metres.",
    )
    assemble_max_home_error_rad: float = Field(
        default=0.05,
        gt=0.0,
        le=1.0,
        description="Largest deviation of any arm joint from its home pose after settling, in radians.",
    )
    assemble_preview_width: int = Field(
        default=640, ge=64, le=4096, description="Width of preview.png in pixels."
    )
    assemble_preview_height: int = Field(
        default=480, ge=48, le=4096, description="Height of preview.png in pixels."
    )
    mujoco_gl: Literal["egl", "osmesa", "glfw"] = Field(
        default="egl",
        description="MuJoCo's OpenGL backend for offscreen rendering (egl on servers and GPUs).",
    )

    @field_validator("assemble_robot")
    @classmethod
    def _known_robot(cls, value: str) -> str:
        return check_robot_name(value)
