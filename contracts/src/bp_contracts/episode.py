"""The episode record (``episodes/<episode_id>.json``, ``bp.episode/v1``) and its arrays
(``episodes/<episode_id>.npz``), written by the episodes stage, read by export and the report.

One record per simulated episode, kept or not: identity (episode, variant, task, seed),
how it was recorded (fps, tier, resolution, cameras with intrinsics, depth encoding,
segmentation map, simulator), where it started (``initial_state``), what happened
(``status``, ``failure_reason``, ``metrics``) and, when its data was kept, the npz that
holds its streams (``data_file``, ``streams``, ``dtypes``).

The arrays: one stream per key, a leading frame axis, every stream the same length
(``frames``). :func:`stream_specs` gives each stream's per-frame shape and dtype kind for
a recording; which streams a tier declares is the dataset's business
(``bp_dataset.features``), the tier names are defined here.

Metrics are measurements: they may hold NaN or infinity (export rejects such an episode
with its reason); everything else in the record must be finite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bp_contracts.geometry import Quat, Vec3
from bp_contracts.tasks import TaskKind

EPISODES_DIR: Final = "episodes"  # in each episodes shard's committed outputs
SHARD_SUMMARY_FILE: Final = "shard.json"
SAMPLES_FILE: Final = "samples.png"
EPISODE_SCHEMA: Final = "bp.episode/v1"

Tier = Literal["core", "plus", "full"]
TIERS: Final[tuple[Tier, ...]] = ("core", "plus", "full")
DEPTH_TIERS: Final = frozenset({"plus", "full"})  # tiers that record depth
SEGMENTATION_TIERS: Final = frozenset({"full"})  # tiers that record segmentation and object rows
Status = Literal["success", "failure"]
# ``<variant>-<task_id>-<index>``: a task id may already use the identifier's 128 characters
EpisodeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")]
Intrinsics = tuple[Vec3, Vec3, Vec3]

# ------------------------------------------------------------------ file names


def episode_file(episode_id: str) -> str:
    """``episodes/<episode_id>.json``: the record."""
    return f"{EPISODES_DIR}/{episode_id}.json"


def episode_data_file(episode_id: str) -> str:
    """``episodes/<episode_id>.npz``: the arrays (only when the episode was kept)."""
    return f"{EPISODES_DIR}/{episode_id}.npz"


def is_episode_file(name: str) -> bool:
    """True for a record's name (``episodes/*.json``) among a shard's committed files."""
    return name.startswith(f"{EPISODES_DIR}/") and name.endswith(".json")


# ------------------------------------------------------------------ arrays
STATE: Final = "observation.state"  # 7 arm joints (rad) + gripper opening (m)
VELOCITY: Final = "observation.velocity"
EE_POSE: Final = "observation.ee_pose"  # x, y, z, qw, qx, qy, qz
ACTION: Final = "action"  # 7 joint targets + gripper command
TIMESTAMP: Final = "timestamp"  # frame_index / fps, seconds
OBJECT_POSES: Final = "observation.object_poses"  # rows: movable_objects
CONTACTS: Final = "observation.contacts"  # rows: movable_objects
ARM_JOINTS: Final = 7
VECTOR_SIZE: Final = ARM_JOINTS + 1
CONTACT_COLUMNS: Final = 4  # touching the robot, touching anything else, contacts, penetration


def image_key(camera: str) -> str:
    """RGB frames of a camera."""
    return f"observation.images.{camera}"


def extrinsics_key(camera: str) -> str:
    """Camera-to-world 4×4 pose of a camera per frame."""
    return f"camera.extrinsics.{camera}"


def depth_key(camera: str) -> str:
    """Depth frames of a camera (metres, float32)."""
    return f"observation.depth.{camera}"


def segmentation_key(camera: str) -> str:
    """Segmentation frames of a camera (geom ids, -1 background)."""
    return f"observation.segmentation.{camera}"


@dataclass(frozen=True)
class StreamSpec:
    """Per-frame shape and dtype kind of one stream ('f' float, 'u' uint8, 'i' integer)."""

    shape: tuple[int, ...]
    kind: Literal["f", "u", "i"]
    dtype: str  # what the episodes stage writes

    def accepts(self, dtype_kind: str, itemsize: int) -> bool:
        """Whether an array of this dtype kind and item size has the stream's type."""
        if self.kind == "u":
            return dtype_kind == "u" and itemsize == 1
        if self.kind == "i":
            return dtype_kind in ("i", "u")
        return dtype_kind == "f"


def stream_specs(
    cameras: tuple[str, ...] | list[str], resolution: int, objects: int
) -> dict[str, StreamSpec]:
    """Every stream an episode may hold, for its cameras, resolution and movable objects."""
    r = resolution
    out: dict[str, StreamSpec] = {
        STATE: StreamSpec((VECTOR_SIZE,), "f", "float32"),
        VELOCITY: StreamSpec((VECTOR_SIZE,), "f", "float32"),
        EE_POSE: StreamSpec((7,), "f", "float32"),
        ACTION: StreamSpec((VECTOR_SIZE,), "f", "float32"),
        TIMESTAMP: StreamSpec((), "f", "float32"),
        OBJECT_POSES: StreamSpec((objects, 7), "f", "float32"),
        CONTACTS: StreamSpec((objects, CONTACT_COLUMNS), "f", "float32"),
    }
    for c in cameras:
        out[image_key(c)] = StreamSpec((r, r, 3), "u", "uint8")
        out[extrinsics_key(c)] = StreamSpec((4, 4), "f", "float32")
        out[depth_key(c)] = StreamSpec((r, r), "f", "float32")
        out[segmentation_key(c)] = StreamSpec((r, r), "i", "int32")
    return out


# ------------------------------------------------------------------ the record
class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


class SimulatorInfo(_Block):
    """The simulator that recorded the episode."""

    name: str
    version: str


class CameraRecord(_Block):
    """A camera as recorded: mount, vertical field of view, pinhole intrinsics (pixels)."""

    mount: Literal["scene", "wrist"]
    fovy_deg: float = Field(gt=0, lt=180)
    intrinsics: Intrinsics


DEPTH_BACKGROUND_M: Final = 0.0  # depth of a pixel that sees no surface before the far plane
SEGMENTATION_BACKGROUND: Final = -1  # segmentation id of a pixel that sees no geom


class DepthEncoding(_Block):
    """How depth images encode distance (tiers plus and full): fixed but for the clipping
    planes, which depend on the scene."""

    unit: Literal["m"] = "m"
    dtype: Literal["float32"] = "float32"
    measure: str = "distance along the camera's optical axis (z-depth), not along the ray"
    background_value: float = DEPTH_BACKGROUND_M
    background: str = "no surface nearer than the far clipping plane (open space, sky)"
    near_m: float = Field(gt=0)
    far_m: float = Field(gt=0)
    valid: str = "near_m <= depth < far_m; 0.0 is never a valid depth"

    @classmethod
    def for_planes(cls, near_m: float, far_m: float) -> DepthEncoding:
        """The encoding of a scene rendered with these clipping planes (every key set)."""
        fixed = {k: f.default for k, f in cls.model_fields.items() if k not in ("near_m", "far_m")}
        return cls.model_validate({**fixed, "near_m": round(near_m, 6), "far_m": round(far_m, 6)})

    @model_validator(mode="after")
    def _planes(self) -> DepthEncoding:
        if self.far_m <= self.near_m:
            raise ValueError("far_m must be greater than near_m")
        return self


class GeomTable(_Block):
    """What each segmentation id (the list index, a MuJoCo geom id) shows."""

    name: list[str]
    body: list[str]
    object: list[str | None]  # a movable or static object's id, "robot", or null

    @model_validator(mode="after")
    def _aligned(self) -> GeomTable:
        if not len(self.name) == len(self.body) == len(self.object):
            raise ValueError("name, body and object must list every geom once")
        return self


class Segmentation(_Block):
    """The segmentation map (tier full)."""

    background: int = SEGMENTATION_BACKGROUND
    geoms: GeomTable


class ObjectStart(_Block):
    """A movable object's pose at frame 0."""

    position_m: Vec3
    orientation_wxyz: Quat


class PerturbationRecord(_Block):
    """How far the initial state was allowed to differ from the variant's placement."""

    object_jitter_m: float = Field(ge=0)
    object_yaw_rad: float = Field(ge=0)
    joint_noise_rad: float = Field(ge=0)


class InitialStateRecord(_Block):
    """Where the episode started (seeded, collision-free; see the episodes stage)."""

    seed: int
    robot_qpos: list[float]
    objects: dict[str, ObjectStart]
    moved: list[str] = Field(default_factory=list)
    kept: dict[str, str] = Field(default_factory=dict)  # object (or "robot") → why unperturbed
    attempts: int = Field(default=0, ge=0)
    perturbation: PerturbationRecord | None = None


class EpisodeMetricsRecord(BaseModel):
    """What the simulation measured (NaN/inf allowed: they are measurements, and export
    rejects an episode holding them). Absent keys stay absent when dumped unset-free."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=True, validate_assignment=True)
    success: bool | None = None
    time_to_success_s: float | None = None
    duration_s: float | None = None
    frames: int | None = None
    frame_counts: dict[str, int] | None = None
    collision_frames: int | None = None
    collision_pairs: list[str] | None = None
    max_penetration_m: float | None = None
    joint_limit_violations: int | None = None
    velocity_violations: int | None = None
    path_length_m: float | None = None
    rms_jerk_m_s3: float | None = None
    slips: int | None = None
    drops: int | None = None
    nonfinite: bool | None = None
    ik_max_error_m: float | None = None
    quality_score: float | None = None
    failure_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The metrics as they were recorded (keys that were absent stay absent)."""
        return self.model_dump(exclude_unset=True)


class EpisodeRecord(_Block):
    """``episodes/<episode_id>.json``.

    Written through this model by the episodes stage (dumped with only the keys it set,
    so an episode without depth has no ``depth`` key) and read through it by export and
    the report; a record that breaks it is refused with every field at fault.
    """

    episode_id: EpisodeId
    variant_id: str
    task_id: str
    task_kind: TaskKind
    object: str
    instruction: str
    index: int | None = Field(default=None, ge=0)
    seed: int
    fps: int = Field(gt=0)
    tier: Tier
    resolution: int = Field(gt=0)
    movable_objects: list[str] = Field(default_factory=list)  # row order of object streams
    object_categories: dict[str, str] = Field(default_factory=dict)
    simulator: SimulatorInfo | None = None
    cameras: dict[str, CameraRecord]
    depth: DepthEncoding | None = None
    segmentation: Segmentation | None = None
    initial_state: InitialStateRecord | None = None
    status: Status
    kept: bool
    failure_reason: str | None = None
    metrics: EpisodeMetricsRecord | None = None
    frames: int | None = Field(default=None, ge=0)
    streams: dict[str, list[int]] = Field(default_factory=dict)  # per-frame shape of each stream
    dtypes: dict[str, str] = Field(default_factory=dict)
    data_file: str | None = None

    @model_validator(mode="after")
    def _rules(self) -> EpisodeRecord:
        if self.data_file is not None and self.data_file != episode_data_file(self.episode_id):
            raise ValueError(
                f"data_file must be {episode_data_file(self.episode_id)!r}, got {self.data_file!r}"
            )
        if len(set(self.movable_objects)) != len(self.movable_objects):
            raise ValueError("movable_objects lists an object twice")
        if set(self.streams) != set(self.dtypes):
            raise ValueError("streams and dtypes must name the same streams")
        return self

    @classmethod
    def from_json(cls, data: bytes | str) -> EpisodeRecord:
        """A record from its file's bytes.

        Parsed by :func:`json.loads` first: a text field may hold any JSON string (even an
        escaped lone surrogate) and is kept as written; the contract checks the rest.
        """
        return cls.model_validate(json.loads(data))

    @property
    def success(self) -> bool:
        """The recorded status is success."""
        return self.status == "success"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data with only the keys that were set (what the episodes stage writes)."""
        return self.model_dump(mode="json", exclude_unset=True)


def problems_of(exc: ValidationError, limit: int = 20) -> list[str]:
    """``field.path: message`` for each error of a record that failed validation."""
    out = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "$"
        out.append(f"{loc}: {err.get('msg', 'invalid')}")
    return out
