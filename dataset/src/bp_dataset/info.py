"""``meta/info.json``: LeRobot v3.0's dataset description plus our ``blueprintpipeline`` block.

The model validates on load; the gate and ``bp verify`` read a dataset's info through it,
so a malformed info.json is one clear error listing every problem.
"""

from __future__ import annotations

from typing import Any, Literal

from bp_contracts.episode import TIERS, Tier
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bp_dataset.layout import CHUNKS_SIZE, CODEBASE_VERSION, DATA_PATH, VIDEO_PATH


class CameraMeta(BaseModel):
    """One camera: pinhole intrinsics at the recording resolution, mount and field of view.
    Extrinsics are per frame (``observation.camera_pose.<camera>``)."""

    model_config = ConfigDict(extra="forbid")
    mount: Literal["scene", "wrist"]
    fovy_deg: float = Field(gt=0, lt=180)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    intrinsics: list[list[float]]  # 3x3 K, pixels

    @field_validator("intrinsics")
    @classmethod
    def _three_by_three(cls, k: list[list[float]]) -> list[list[float]]:
        if len(k) != 3 or any(len(r) != 3 for r in k):
            raise ValueError("intrinsics must be a 3x3 matrix")
        return k


class DepthEncoding(BaseModel):
    """How depth images encode distance (tiers plus and full)."""

    model_config = ConfigDict(extra="forbid")
    unit: Literal["m"] = "m"
    dtype: Literal["float32"] = "float32"
    measure: str = "distance along the camera's optical axis (z-depth), not along the ray"
    background_value: float = 0.0
    background: str = "no surface nearer than the far clipping plane (open space)"
    near_m: float = Field(ge=0, description="nearest valid depth (near clipping plane)")
    far_m: float = Field(gt=0, description="every valid depth is below this (far clipping plane)")
    per_scene: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="scene id -> (near, far) clipping planes in metres"
    )


class SegmentationEncoding(BaseModel):
    """What a segmentation pixel holds (tier full)."""

    model_config = ConfigDict(extra="forbid")
    ids: str = "MuJoCo geom id of the surface seen at the pixel"
    background: int = -1
    max_id: int = Field(ge=-1, description="largest geom id in the dataset's scenes")
    maps: str = Field(description="file mapping each id to geom, body and object per scene variant")


class PipelineBlock(BaseModel):
    """What LeRobot's format has no field for: tier, cameras, control, meanings, ids."""

    model_config = ConfigDict(extra="forbid")
    dataset_id: str
    tier: Tier
    cameras: dict[str, CameraMeta]
    physics_timestep_s: float = Field(gt=0)
    control_rate_hz: int = Field(gt=0)
    meaning: dict[str, str]
    lossless_streams: list[str] = Field(default_factory=list)
    lossless_path: str | None = None
    video_encoder: str  # the encoder used, e.g. libsvtav1 (info blocks name the codec)
    # the dataset's fixed object list: rows of object poses, contacts, presence and initial states
    objects: list[str] = Field(default_factory=list)
    objects_file: str | None = None  # objects, categories and segmentation maps (meta/objects.json)
    initial_states: str | None = None  # every episode's initial state (meta/initial_states.parquet)
    depth: DepthEncoding | None = None
    segmentation: SegmentationEncoding | None = None

    @field_validator("tier")
    @classmethod
    def _tier(cls, t: str) -> str:
        if t not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}")
        return t


class Info(BaseModel):
    """``meta/info.json`` (LeRobot codebase v3.0)."""

    model_config = ConfigDict(extra="forbid")
    codebase_version: Literal["v3.0"] = CODEBASE_VERSION
    robot_type: str
    total_episodes: int = Field(ge=0)
    total_frames: int = Field(ge=0)
    total_tasks: int = Field(ge=0)
    chunks_size: int = Field(default=CHUNKS_SIZE, gt=0)
    data_files_size_in_mb: int = Field(gt=0)
    video_files_size_in_mb: int = Field(gt=0)
    fps: int = Field(gt=0)
    splits: dict[str, str]
    data_path: str = DATA_PATH
    video_path: str | None = VIDEO_PATH
    features: dict[str, dict[str, Any]]
    blueprintpipeline: PipelineBlock

    @field_validator("splits")
    @classmethod
    def _splits(cls, splits: dict[str, str]) -> dict[str, str]:
        for name, rng in splits.items():
            parts = rng.split(":")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ValueError(f"split {name!r} must be 'start:end' episode indices, got {rng!r}")
        return splits

    def split_ranges(self) -> dict[str, range]:
        """``{"train": range(0, 8), "valid": range(8, 10)}``."""
        out = {}
        for name, rng in self.splits.items():
            a, b = (int(x) for x in rng.split(":"))
            out[name] = range(a, b)
        return out

    def video_keys(self) -> list[str]:
        """Features stored as video."""
        return [k for k, v in self.features.items() if v.get("dtype") == "video"]

    def to_bytes(self) -> bytes:
        """Pretty JSON (what export writes)."""
        return (self.model_dump_json(indent=2) + "\n").encode()
