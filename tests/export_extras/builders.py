"""Small synthetic episodes for the export extras: real numpy arrays, the episode JSON's shape."""

from __future__ import annotations

from typing import Any

import numpy as np
from bp_contracts.episode import EpisodeRecord
from bp_dataset.features import MEANING, Recording, features
from bp_dataset.info import Info
from bp_export.sources import ExportEpisode

FPS = 20
RES = 16
CAMERAS = ("scene", "wrist")
K = [[14.0, 0.0, 8.0], [0.0, 14.0, 8.0], [0.0, 0.0, 1.0]]


def _quats(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    q = rng.normal(size=(*shape, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return q


def make_arrays(
    frames: int, *, seed: int = 0, tier: str = "core", n_objects: int = 2
) -> dict[str, np.ndarray]:
    """Every stream the episodes stage records for ``tier``, ``frames`` long."""
    rng = np.random.default_rng(seed)
    t = frames
    a: dict[str, np.ndarray] = {
        "observation.state": rng.uniform(-2, 2, (t, 8)).astype(np.float32),
        "observation.velocity": rng.normal(size=(t, 8)).astype(np.float32),
        "observation.ee_pose": np.concatenate(
            [rng.uniform(-1, 1, (t, 3)), _quats(rng, (t,))], axis=1
        ).astype(np.float32),
        "action": rng.uniform(-2, 2, (t, 8)).astype(np.float32),
        "timestamp": (np.arange(t) / FPS).astype(np.float32),
    }
    for cam in CAMERAS:
        a[f"observation.images.{cam}"] = rng.integers(0, 256, (t, RES, RES, 3), dtype=np.uint8)
        a[f"camera.extrinsics.{cam}"] = np.tile(np.eye(4, dtype=np.float32), (t, 1, 1))
        if tier in ("plus", "full"):
            a[f"observation.depth.{cam}"] = rng.uniform(0.1, 3, (t, RES, RES)).astype(np.float32)
        if tier == "full":
            a[f"observation.segmentation.{cam}"] = rng.integers(
                -1, 40, (t, RES, RES), dtype=np.int32
            )
    if tier == "full":
        a["observation.object_poses"] = np.concatenate(
            [rng.uniform(-1, 1, (t, n_objects, 3)), _quats(rng, (t, n_objects))], axis=2
        ).astype(np.float32)
        a["observation.contacts"] = rng.uniform(0, 1, (t, n_objects, 4)).astype(np.float32)
    return a


def make_meta(
    episode_id: str,
    *,
    frames: int,
    success: bool = True,
    onset: int | None = None,
    task_id: str = "pick_place_cube",
    instruction: str = "Pick up the red cube.",
    variant_id: str = "v0000",
    obj: str = "cube",
    quality: float = 0.9,
    collision_frames: int = 0,
    seed: int = 1234,
    tier: str = "core",
) -> dict[str, Any]:
    """An episode JSON like the episodes stage writes (``onset`` = first frame showing success)."""
    if success and onset is None:
        onset = max(1, frames - 5)
    return {
        "episode_id": episode_id,
        "status": "success" if success else "failure",
        "kept": True,
        "failure_reason": None if success else "object not at the target",
        "fps": FPS,
        "frames": frames,
        "tier": tier,
        "resolution": RES,
        "seed": seed,
        "task_id": task_id,
        "task_kind": "pick_place",
        "instruction": instruction,
        "object": obj,
        "variant_id": variant_id,
        "cameras": {c: {"mount": c, "fovy_deg": 60.0, "intrinsics": K} for c in CAMERAS},
        "metrics": {
            "success": success,
            "time_to_success_s": round(onset / FPS, 4) if success and onset is not None else None,
            "frames": frames,
            "duration_s": frames / FPS,
            "collision_frames": collision_frames,
            "collision_pairs": ["robot/hand / counter"] if collision_frames else [],
            "max_penetration_m": 0.001,
            "joint_limit_violations": 0,
            "velocity_violations": 0,
            "path_length_m": 1.2,
            "rms_jerk_m_s3": 4.0,
            "slips": 0,
            "drops": 0,
            "nonfinite": False,
            "ik_max_error_m": 0.01,
            "quality_score": quality,
            "failure_reason": None if success else "object not at the target",
        },
    }


def record_of(episode_id: str, **fields: Any) -> EpisodeRecord:
    """An episode record as the episodes stage writes it, with ``fields`` set on top."""
    return EpisodeRecord.model_validate({**make_meta(episode_id, frames=10), **fields})


def make_record(
    index: int,
    *,
    frames: int = 30,
    success: bool = True,
    onset: int | None = None,
    split: str = "train",
    scene_id: str = "scene_a",
    run_id: str = "r-1",
    task_index: int = 0,
    tier: str = "core",
    **meta_kw: Any,
) -> ExportEpisode:
    """A record whose ``arrays()`` returns real synthetic streams."""
    eid = meta_kw.pop("episode_id", f"v0000-pick_place_cube-{index:03d}")
    meta = make_meta(eid, frames=frames, success=success, onset=onset, tier=tier, **meta_kw)
    return ExportEpisode(
        dataset_index=index,
        scene_id=scene_id,
        run_id=run_id,
        episode_id=eid,
        task_index=task_index,
        instruction=str(meta["instruction"]),
        success=success,
        meta=EpisodeRecord.model_validate(meta),
        split=split,
        loader=lambda: make_arrays(frames, seed=index, tier=tier),
    )


def make_info(episodes: int, frames: int, tasks: int, *, tier: str = "core") -> Info:
    """A valid ``meta/info.json`` model for the synthetic recording."""
    rec = Recording(FPS, RES, CAMERAS, tier, "franka_panda")  # type: ignore[arg-type]
    return Info(
        robot_type="franka_panda",
        total_episodes=episodes,
        total_frames=frames,
        total_tasks=tasks,
        data_files_size_in_mb=100,
        video_files_size_in_mb=200,
        fps=FPS,
        splits={"train": f"0:{episodes - 1}", "valid": f"{episodes - 1}:{episodes}"},
        features=features(rec, "av1", "yuv420p"),
        blueprintpipeline={
            "dataset_id": "ds-test",
            "tier": tier,
            "cameras": {
                c: {
                    "mount": "scene" if c == "scene" else "wrist",
                    "fovy_deg": 60.0,
                    "width": RES,
                    "height": RES,
                    "intrinsics": K,
                }
                for c in CAMERAS
            },
            "physics_timestep_s": 0.002,
            "control_rate_hz": FPS,
            "meaning": dict(MEANING),
            "video_encoder": "libsvtav1",
        },
    )
