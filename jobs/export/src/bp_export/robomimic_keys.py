"""robomimic observation keys and ``env_args`` for our recordings (the mapping as data).

The table of keys, their sources and meanings is in :mod:`bp_export.robomimic`'s docstring;
:data:`LOWDIM_MAP` is that table. :func:`build_env_meta` describes our MuJoCo scene
honestly: :data:`ENV_TYPE` is not a robomimic ``EnvType`` (1 robosuite, 2 gym, 3
iGibson-MOMART), because robomimic cannot instantiate this environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bp_dataset.features import ACTION_NAMES
from bp_sdk.errors import ConfigError, Problem

ENV_TYPE: Final = 100  # not a robomimic EnvType: see the module docstring


@dataclass(frozen=True)
class ObsField:
    """One robomimic observation key cut from a recorded stream."""

    key: str
    start: int | None = None  # column range of a (T, D) stream; None: all of it
    stop: int | None = None
    reorder_quat: bool = False  # last axis ends with a w x y z quaternion → x y z w
    flatten: bool = False  # (T, n, k) → (T, n*k)
    meaning: str = ""


# recorded low-dimensional stream → robomimic keys (the table in the module docstring)
LOWDIM_MAP: Final[dict[str, tuple[ObsField, ...]]] = {
    "observation.state": (
        ObsField("robot0_joint_pos", 0, 7, meaning="arm joint positions (rad)"),
        ObsField("robot0_gripper_opening", 7, 8, meaning="gripper opening, both fingers (m)"),
    ),
    "observation.velocity": (
        ObsField("robot0_joint_vel", 0, 7, meaning="arm joint velocities (rad/s)"),
        ObsField("robot0_gripper_opening_vel", 7, 8, meaning="gripper opening rate (m/s)"),
    ),
    "observation.ee_pose": (
        ObsField("robot0_eef_pos", 0, 3, meaning="grip site position, world frame (m)"),
        ObsField(
            "robot0_eef_quat",
            3,
            7,
            reorder_quat=True,
            meaning="grip site orientation, quaternion x y z w",
        ),
    ),
    "observation.object_poses": (
        ObsField(
            "object",
            reorder_quat=True,
            flatten=True,
            meaning="per movable object: position (m) + quaternion x y z w, world frame",
        ),
    ),
    "observation.contacts": (
        ObsField(
            "object_contacts",
            flatten=True,
            meaning="per movable object: touches robot (0/1), touches other (0/1), contact count, deepest penetration (m)",
        ),
    ),
    "observation.object_present": (
        ObsField(
            "object_present",
            meaning="per object of the dataset's object list: 1 if it exists in the demo's scene variant, else 0",
        ),
    ),
}
# expected trailing shape of each low-dim stream (None: any size on that axis)
LOWDIM_SHAPES: Final[dict[str, tuple[int | None, ...]]] = {
    "observation.state": (8,),
    "observation.velocity": (8,),
    "observation.ee_pose": (7,),
    "observation.object_poses": (None, 7),
    "observation.contacts": (None, 4),
    "observation.object_present": (None,),
}
IMAGE_PREFIXES: Final[dict[str, str]] = {
    "observation.images.": "image",
    "observation.depth.": "depth",
}


def env_meta_problems(env_meta: Mapping[str, Any]) -> list[Problem]:
    """Why ``env_meta`` is not a robomimic env_args document (empty: it is)."""
    problems = []
    if not isinstance(env_meta.get("env_name"), str) or not env_meta.get("env_name"):
        problems.append(Problem("env_meta.env_name", "must be a non-empty string"))
    if isinstance(env_meta.get("type"), bool) or not isinstance(env_meta.get("type"), int):
        problems.append(
            Problem("env_meta.type", f"must be an integer, got {env_meta.get('type')!r}")
        )
    if not isinstance(env_meta.get("env_kwargs"), dict):
        problems.append(Problem("env_meta.env_kwargs", "must be a JSON object"))
    try:
        json.dumps(env_meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.append(Problem("env_meta", f"is not plain JSON: {exc}"))
    return problems


def image_obs_key(stream: str) -> str:
    """``observation.images.wrist`` → ``wrist_image``; ``observation.depth.wrist`` → ``wrist_depth``."""
    for prefix, suffix in IMAGE_PREFIXES.items():
        if stream.startswith(prefix) and len(stream) > len(prefix):
            return f"{stream[len(prefix) :]}_{suffix}"
    raise ConfigError(
        f"unknown image stream {stream!r}",
        problems=[
            Problem("image_keys", f"{stream!r} is not one of {sorted(IMAGE_PREFIXES)}<camera>")
        ],
    )


def obs_key_map(image_keys: Iterable[str], lowdim_keys: Iterable[str]) -> dict[str, str]:
    """``{robomimic obs key: "<recorded stream>[columns] - meaning"}`` for the card and lineage."""
    out: dict[str, str] = {}
    for stream in lowdim_keys:
        for f in LOWDIM_MAP[stream]:
            cols = "" if f.start is None else f"[{f.start}:{f.stop}]"
            out[f.key] = f"{stream}{cols} - {f.meaning}"
    for stream in image_keys:
        kind = (
            "RGB uint8 (H, W, 3)"
            if stream.startswith("observation.images.")
            else "depth float32 m (H, W, 1)"
        )
        out[image_obs_key(stream)] = f"{stream} - {kind}"
    return out


def build_env_meta(
    *,
    dataset_id: str,
    scene_ids: Sequence[str],
    robot: str,
    fps: int,
    cameras: Sequence[str],
    resolution: int,
    physics_timestep_s: float,
    simulator_version: str | None,
    tier: str,
) -> dict[str, Any]:
    """The ``env_args`` document (robomimic's env_meta: env_name, type, env_kwargs)."""
    return {
        "env_name": f"blueprintpipeline/{dataset_id}",
        "type": ENV_TYPE,
        "env_kwargs": {
            "framework": "blueprintpipeline",
            "simulator": "mujoco",
            "simulator_version": simulator_version,
            "robot": robot,
            "controller": "joint_position",
            "action_names": list(ACTION_NAMES),
            "action_meaning": "7 arm joint position targets (rad) + gripper command (0 closed ... 1 open), held for 1/control_freq s",
            "control_freq": fps,
            "physics_timestep_s": physics_timestep_s,
            "camera_names": list(cameras),
            "camera_height": resolution,
            "camera_width": resolution,
            "scenes": list(scene_ids),
            "tier": tier,
            "quaternion_order": "xyzw",
            "note": (
                f"type {ENV_TYPE} is not a robomimic EnvType: this MuJoCo scene is not a robosuite "
                "or gym environment and robomimic cannot create it; load, train and evaluate offline "
                "with experiment.rollout.enabled=false. Scenes, physics and code versions are in "
                "meta/lineage.json of the LeRobot dataset this file belongs to."
            ),
        },
    }
