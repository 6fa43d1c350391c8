"""The dataset's schema as data: tiers, the per-frame features, and their meaning.

One features dict (LeRobot's ``info.json["features"]`` format) is built here from the
recording's cameras, resolution and fps; export writes it, and the gate and
``bp verify`` check a dataset against it. Nothing else defines a column.

Tiers (the content must match the declared tier exactly):

| tier | cameras (RGB video) | depth | segmentation | object poses | contacts | failure rollouts |
|---|---|---|---|---|---|---|
| core | yes | – | – | – | – | – |
| plus | yes | yes (lossless) | – | – | – | – |
| full | yes | yes (lossless) | yes (lossless) | yes | yes | yes (flagged) |

Depth, segmentation, object poses and contacts must stay lossless, so they live in
``lossless/`` ``.npz`` files (one per episode file), never in lossy video and never as
LeRobot features. Object rows follow the dataset's fixed object list (``info.json →
blueprintpipeline.objects``): every episode has the same shape, and
``observation.object_present`` (derived by export, not recorded) says which rows exist in
the episode's scene and variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bp_contracts.episode import Tier  # the tiers an episode is recorded at

ARM_JOINTS: Final = tuple(f"joint{i}" for i in range(1, 8))
STATE_NAMES: Final = (*ARM_JOINTS, "gripper_opening")
VELOCITY_NAMES: Final = (*(f"{j}.vel" for j in ARM_JOINTS), "gripper_opening.vel")
POSE_NAMES: Final = ("x", "y", "z", "qw", "qx", "qy", "qz")
ACTION_NAMES: Final = (*(f"{j}.target" for j in ARM_JOINTS), "gripper_command")

# LeRobot's own index features, present in every dataset
INDEX_FEATURES: Final[dict[str, dict[str, Any]]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}

# What each vector means: units, frame and rate (written to info.json and the card)
MEANING: Final[dict[str, str]] = {
    "observation.state": "7 arm joint positions (rad) + gripper opening (m, sum of both fingers), measured at the frame",
    "observation.velocity": "7 arm joint velocities (rad/s) + gripper opening rate (m/s)",
    "observation.ee_pose": "end-effector (grip site) position (m) and orientation quaternion wxyz, world frame",
    "action": "7 arm joint position targets (rad) for the position actuators + gripper command (0 closed ... 1 open), held for one control period (1/fps)",
    "observation.camera_pose.<camera>": "camera-to-world pose of the camera at the frame: position (m) + quaternion wxyz; MuJoCo camera convention (looks along -z, y up)",
    "next.reward": "1.0 when the task's success predicate holds after the frame's action (in the next observation), else 0.0; sparse, documented in the card",
    "next.done": "true on the episode's last frame",
    "next.success": "true when the task's success predicate holds after the frame's action",
}

# Streams recorded by the episodes stage (npz keys) that each tier requires per camera
LOSSLESS_PER_CAMERA: Final[dict[Tier, tuple[str, ...]]] = {
    "core": (),
    "plus": ("observation.depth",),
    "full": ("observation.depth", "observation.segmentation"),
}
LOSSLESS_GLOBAL: Final[dict[Tier, tuple[str, ...]]] = {
    "core": (),
    "plus": (),
    "full": ("observation.object_poses", "observation.contacts", "observation.object_present"),
}
# lossless streams export derives (the episodes stage does not record them)
DERIVED_STREAMS: Final = frozenset({"observation.object_present"})
OBJECT_STREAMS: Final = ("observation.object_poses", "observation.contacts")
ABSENT_POSE: Final = (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)  # object rows absent from an episode
# What each lossless stream holds (info.json "meaning" and the card)
LOSSLESS_MEANING: Final[dict[str, str]] = {
    "observation.depth": (
        "depth per pixel (float32, metres along the camera's optical axis; 0.0 = background: "
        "nothing nearer than the far clipping plane; see blueprintpipeline.depth), lossless npz"
    ),
    "observation.segmentation": (
        "MuJoCo geom id per pixel (int32, -1 background); id -> geom/body/object names per "
        "scene variant in meta/objects.json, lossless npz"
    ),
    "observation.object_poses": (
        "per object of blueprintpipeline.objects (one row each, same order in every episode): "
        "position (m) + quaternion wxyz, world; absent rows are 0 0 0 1 0 0 0"
    ),
    "observation.contacts": (
        "per object of blueprintpipeline.objects: touches robot (0/1), touches other (0/1), "
        "contact count, deepest penetration (m); absent rows are 0"
    ),
    "observation.object_present": (
        "per object of blueprintpipeline.objects: 1 if the object exists in the episode's scene "
        "and variant, else 0 (uint8; constant over an episode)"
    ),
}
KEEPS_FAILURES: Final[dict[Tier, bool]] = {"core": False, "plus": False, "full": True}


def _vector(names: tuple[str, ...]) -> dict[str, Any]:
    return {"dtype": "float32", "shape": [len(names)], "names": list(names)}


@dataclass(frozen=True)
class Recording:
    """What a dataset's episodes were recorded with; every source must agree."""

    fps: int
    resolution: int
    cameras: tuple[str, ...]
    tier: Tier
    robot_type: str

    def video_keys(self) -> list[str]:
        """``observation.images.<camera>`` for every camera, in order."""
        return [f"observation.images.{c}" for c in self.cameras]

    def lossless_keys(self) -> list[str]:
        """The lossless streams this tier requires (npz keys), in a fixed order."""
        per_cam = [f"{k}.{c}" for k in LOSSLESS_PER_CAMERA[self.tier] for c in self.cameras]
        return [*per_cam, *LOSSLESS_GLOBAL[self.tier]]


def video_info(fps: int, resolution: int, codec: str, pix_fmt: str) -> dict[str, Any]:
    """The ``info`` block of a video feature (identical in every file: one codec)."""
    return {
        "video.height": resolution,
        "video.width": resolution,
        "video.codec": codec,
        "video.pix_fmt": pix_fmt,
        "video.is_depth_map": False,
        "video.fps": fps,
        "video.channels": 3,
        "has_audio": False,
    }


def features(rec: Recording, codec: str, pix_fmt: str) -> dict[str, Any]:
    """The complete LeRobot features dict for a recording (order is the column order)."""
    out: dict[str, Any] = {
        "observation.state": _vector(STATE_NAMES),
        "observation.velocity": _vector(VELOCITY_NAMES),
        "observation.ee_pose": _vector(POSE_NAMES),
    }
    for cam in rec.cameras:
        out[f"observation.camera_pose.{cam}"] = _vector(POSE_NAMES)
    out["action"] = _vector(ACTION_NAMES)
    out["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    out["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    out["next.success"] = {"dtype": "bool", "shape": [1], "names": None}
    for key in rec.video_keys():
        out[key] = {
            "dtype": "video",
            "shape": [rec.resolution, rec.resolution, 3],
            "names": ["height", "width", "channels"],
            "info": video_info(rec.fps, rec.resolution, codec, pix_fmt),
        }
    out.update(INDEX_FEATURES)
    return out


def data_columns(feats: dict[str, Any]) -> list[str]:
    """Columns of ``data/*.parquet``: every non-video feature, exactly."""
    return [k for k, v in feats.items() if v["dtype"] != "video"]


def required_npz_keys(rec: Recording) -> list[str]:
    """Streams an episode's npz must hold for this recording (all tiers, then the tier's;
    streams export derives are not recorded)."""
    base = ["observation.state", "observation.velocity", "observation.ee_pose", "action"]
    per_cam = [f"{p}.{c}" for c in rec.cameras for p in ("observation.images", "camera.extrinsics")]
    recorded = [k for k in rec.lossless_keys() if k not in DERIVED_STREAMS]
    return [*base, *per_cam, *recorded]
