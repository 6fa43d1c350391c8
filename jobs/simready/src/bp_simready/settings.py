"""Simready settings: the common job settings plus grasp limits and convex-decomposition bounds."""

from __future__ import annotations

from typing import ClassVar

from bp_sdk.settings import JobSettings
from pydantic import Field


class SimreadySettings(JobSettings):
    """``bp-simready`` configuration (environment only)."""

    stage_name: ClassVar[str] = "simready"

    simready_max_grasp_width_m: float = Field(
        default=0.07,
        gt=0.0,
        le=0.5,
        description="Widest object (narrowest horizontal extent, metres) the gripper can close on: the Panda's 0.08 m opening less 5 mm a side for tracking error.",
    )
    simready_max_grasp_kg: float = Field(
        default=1.0,
        gt=0.0,
        le=50.0,
        description="Heaviest object (kg) marked graspable.",
    )
    simready_coacd_threshold: float = Field(
        default=0.05,
        ge=0.01,
        le=1.0,
        description="CoACD concavity threshold for mesh collision decomposition (lower: more, tighter hulls; slower).",
    )
    simready_coacd_max_hulls: int = Field(
        default=16,
        ge=1,
        le=64,
        description="Most convex hulls one mesh is decomposed into.",
    )
    simready_coacd_timeout_s: float = Field(
        default=120.0,
        gt=0.0,
        le=3600.0,
        description="Longest convex decomposition of one mesh (seconds, in a child process); a slower mesh is an input error.",
    )
    simready_max_mesh_faces: int = Field(
        default=200_000,
        ge=4,
        le=5_000_000,
        description="Largest mesh (triangles) simready decomposes; bigger meshes are an input error (decimate them first).",
    )
