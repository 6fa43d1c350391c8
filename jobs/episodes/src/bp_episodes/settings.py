"""Episodes settings: how many episodes, how they are recorded, and the stage's guards."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from bp_sdk.settings import JobSettings
from bp_sim.robots import robot_names
from pydantic import Field, ValidationInfo, field_validator

PHYSICS_HZ = 500  # assemble's default timestep (2 ms); checked against assembly.json at start


class EpisodesSettings(JobSettings):
    """``bp-episodes`` configuration (environment only)."""

    stage_name: ClassVar[str] = "episodes"
    # how many worlds the batched runner steps together: where it runs, not what it records
    # (an episode's arrays do not depend on it, tested); where and with how much memory the
    # Warp backend runs: no effect on what it records either
    infra_fields: ClassVar[frozenset[str]] = JobSettings.infra_fields | {
        "episodes_worlds",
        "episodes_warp_kernel_cache",
        "episodes_warp_nconmax",
        "episodes_warp_njmax",
        "episodes_deflate_level",  # the data files' bytes, not the arrays they hold
        "episodes_writers",
    }

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
    episodes_runner: Literal["per_world", "batched"] = Field(
        default="per_world",
        description="per_world: one episode at a time; batched: EPISODES_WORLDS worlds stepped together, the expert as array code over them, each world taking the next episode when its own ends (docs/EPISODES.md, Batched runner).",
    )
    episodes_worlds: int = Field(
        default=4,
        ge=1,
        le=4096,
        description="Worlds the batched runner steps together (EPISODES_RUNNER=batched).",
    )
    mujoco_gl: Literal["egl", "osmesa", "glfw"] = Field(
        default="egl", description="MuJoCo OpenGL backend for offscreen rendering."
    )
    episodes_backend: Literal["mujoco", "warp"] = Field(
        default="mujoco",
        description="Simulator: mujoco (CPU MuJoCo, OpenGL images) or warp (MuJoCo Warp: batched physics and ray-traced images on EPISODES_WARP_DEVICE; needs the bp-episodes[warp] extra).",
    )
    episodes_warp_kernel_cache: str = Field(
        default="",
        description="Folder of compiled Warp kernels (empty: Warp's default, ~/.cache/warp); a baked or mounted cache skips the first compile (minutes).",
    )
    episodes_warp_device: str = Field(
        default="cuda:0",
        pattern=r"^(cpu|cuda(:[0-9]+)?)$",
        description="Warp device of the warp backend: cuda, cuda:<index> or cpu (slow; tests).",
    )
    episodes_warp_nconmax: int = Field(
        default=96, ge=8, le=8192, description="Warp backend: contacts allocated per world."
    )
    episodes_warp_njmax: int = Field(
        default=384,
        ge=16,
        le=16384,
        description="Warp backend: constraint rows allocated per world.",
    )
    episodes_warp_deterministic: bool = Field(
        default=True,
        description="Warp backend: MuJoCo Warp's deterministic mode (sorted contacts and reductions). Off: faster, and needed at 1,024 worlds and more (its sort workspace outgrows 2^31 bytes); runs then differ in the last bits (docs/EPISODES_WARP.md).",
    )
    episodes_deflate_level: int = Field(
        default=1,
        ge=0,
        le=9,
        description="zlib level of the episodes' data files (0: stored). 1 deflates rendered frames about twice as fast as 6 for files ~14% larger; the arrays are the same at every level.",
    )
    episodes_writers: int = Field(
        default=0,
        ge=0,
        le=256,
        description="The batched runner's deflater processes (images deflated as they are recorded) and threads writing its ended episodes (files, records) while the worlds keep stepping; 0: one per CPU core but one.",
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

    def output_params(self) -> dict[str, Any]:
        """Settings that change the stage's output; ``EPISODES_RUNNER`` only when batched,
        so that runs from before the setting existed keep their digest and seeds."""
        out = super().output_params()
        if self.episodes_runner == "per_world":
            out.pop("EPISODES_RUNNER", None)
        if self.episodes_backend == "mujoco":  # likewise the default backend, and its device
            out.pop("EPISODES_BACKEND", None)
            out.pop("EPISODES_WARP_DEVICE", None)
            out.pop("EPISODES_WARP_DETERMINISTIC", None)
        return out

    @field_validator("episodes_backend")
    @classmethod
    def _backend_installed(cls, backend: str) -> str:
        if backend == "warp":
            from bp_episodes.warp_backend.runtime import (  # noqa: PLC0415 - stdlib only
                INSTALL_HINT,
                missing_packages,
            )

            missing = missing_packages()
            if missing:
                raise ValueError(f"warp needs {', '.join(missing)}, not installed: {INSTALL_HINT}")
        return backend

    @field_validator("episodes_warp_device")
    @classmethod
    def _device_usable(cls, device: str, info: ValidationInfo) -> str:
        if info.data.get("episodes_backend") == "warp":  # absent: the backend itself failed
            from bp_episodes.warp_backend.runtime import device_problem  # noqa: PLC0415

            problem = device_problem(device, info.data.get("episodes_warp_kernel_cache") or None)
            if problem is not None:
                raise ValueError(problem)
        return device

    def task_filter(self) -> list[str]:
        """Task ids or kinds asked for (empty: all)."""
        return [t.strip() for t in self.episodes_tasks.split(",") if t.strip()]
