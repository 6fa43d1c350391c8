"""The OFFICIAL LeRobot writer on our committed episodes: the baseline of bench/export_bench.py.

Runs inside the test-only venv (``.venv-lerobot/bin/python bench/lerobot_writer.py``, made by
``scripts/lerobot_env.sh``; stdlib + numpy + lerobot only). It reads the episodes that the
episodes stage committed in a ``file://`` store (each shard's ``_SUCCESS.json`` names its
files) and writes them with ``LeRobotDataset.create(...)`` / ``add_frame`` / ``save_episode`` /
``finalize`` — the recording path of lerobot 0.4.4, svt-av1 at the episodes' fps — timing the
whole write. It prints one JSON object (frames, episodes, seconds, frames/s) on stdout.

The features mirror ``bp_dataset.features`` (state, velocity, end-effector pose, per-camera
pose, action, sparse reward/done/success, one video per camera) so that the dataset it
writes is the reference for our exporter's format (see ``/tmp/lerobot-ref/REFERENCE.md``).

Usage:
    .venv-lerobot/bin/python bench/lerobot_writer.py --store /tmp/bpfix-core \\
        --scene kitchen_counter --out /tmp/lerobot-ref [--run r-...] [--episodes success|all]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
STATE_NAMES = (*ARM_JOINTS, "gripper_opening")
VELOCITY_NAMES = (*(f"{j}.vel" for j in ARM_JOINTS), "gripper_opening.vel")
POSE_NAMES = ("x", "y", "z", "qw", "qx", "qy", "qz")
ACTION_NAMES = (*(f"{j}.target" for j in ARM_JOINTS), "gripper_command")


def _confined(root: Path, rel: str) -> Path:
    """``root / rel``, refusing anything that would leave ``root``."""
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise SystemExit(f"refusing a path outside the store: {rel!r}")
    return path


def find_run(store: Path, scene: str, run: str | None) -> Path:
    """The run folder holding committed episode shards (the only one, or the one named)."""
    runs = store / "scenes" / scene / "runs"
    if run is not None:
        return _confined(store, f"scenes/{scene}/runs/{run}")
    found = sorted(p.parents[3] for p in runs.glob("*/episodes/shards/*/_SUCCESS.json"))
    unique = sorted(set(found))
    if len(unique) != 1:
        names = [p.name for p in unique]
        raise SystemExit(
            f"expected one run with committed episodes under {runs}, found {names}: pass --run"
        )
    return unique[0]


def committed_episodes(store: Path, run_dir: Path) -> list[tuple[dict[str, Any], Path]]:
    """(episode JSON, npz path) for every committed episode, in shard then name order."""
    out: list[tuple[dict[str, Any], Path]] = []
    for marker in sorted((run_dir / "episodes" / "shards").glob("*/_SUCCESS.json")):
        record = json.loads(marker.read_text())
        attempt = _confined(store, record["attempt_dir"])
        for rel in sorted(record["files"]):
            if rel.startswith("episodes/") and rel.endswith(".json"):
                meta = json.loads(_confined(attempt, rel).read_text())
                if meta.get("kept", True) and meta.get("data_file"):
                    out.append((meta, _confined(attempt, meta["data_file"])))
    return out


def quat_wxyz(rot: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z), w >= 0, of each 3x3 rotation in ``rot`` (N, 3, 3)."""
    m = rot.astype(np.float64)
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    q = np.empty((len(m), 4))
    # the largest of w, x, y, z decides the stable formula
    cand = np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1)
    pick = np.argmax(cand, axis=1)
    for i, (k, mi) in enumerate(zip(pick, m, strict=True)):
        if k == 0:
            s = np.sqrt(1.0 + tr[i]) * 2
            q[i] = (
                0.25 * s,
                (mi[2, 1] - mi[1, 2]) / s,
                (mi[0, 2] - mi[2, 0]) / s,
                (mi[1, 0] - mi[0, 1]) / s,
            )
        elif k == 1:
            s = np.sqrt(max(1.0 + mi[0, 0] - mi[1, 1] - mi[2, 2], 1e-12)) * 2
            q[i] = (
                (mi[2, 1] - mi[1, 2]) / s,
                0.25 * s,
                (mi[0, 1] + mi[1, 0]) / s,
                (mi[0, 2] + mi[2, 0]) / s,
            )
        elif k == 2:
            s = np.sqrt(max(1.0 + mi[1, 1] - mi[0, 0] - mi[2, 2], 1e-12)) * 2
            q[i] = (
                (mi[0, 2] - mi[2, 0]) / s,
                (mi[0, 1] + mi[1, 0]) / s,
                0.25 * s,
                (mi[1, 2] + mi[2, 1]) / s,
            )
        else:
            s = np.sqrt(max(1.0 + mi[2, 2] - mi[0, 0] - mi[1, 1], 1e-12)) * 2
            q[i] = (
                (mi[1, 0] - mi[0, 1]) / s,
                (mi[0, 2] + mi[2, 0]) / s,
                (mi[1, 2] + mi[2, 1]) / s,
                0.25 * s,
            )
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def features_for(cameras: list[str], resolution: int) -> dict[str, dict[str, Any]]:
    """LeRobot features (shapes as tuples: ``validate_frame`` compares them to array shapes)."""

    def vec(names: tuple[str, ...]) -> dict[str, Any]:
        return {"dtype": "float32", "shape": (len(names),), "names": list(names)}

    feats: dict[str, dict[str, Any]] = {
        "observation.state": vec(STATE_NAMES),
        "observation.velocity": vec(VELOCITY_NAMES),
        "observation.ee_pose": vec(POSE_NAMES),
    }
    for cam in cameras:
        feats[f"observation.camera_pose.{cam}"] = vec(POSE_NAMES)
    feats["action"] = vec(ACTION_NAMES)
    feats["next.reward"] = {"dtype": "float32", "shape": (1,), "names": None}
    feats["next.done"] = {"dtype": "bool", "shape": (1,), "names": None}
    feats["next.success"] = {"dtype": "bool", "shape": (1,), "names": None}
    for cam in cameras:
        feats[f"observation.images.{cam}"] = {
            "dtype": "video",
            "shape": (resolution, resolution, 3),
            "names": ["height", "width", "channels"],
        }
    return feats


def episode_frames(meta: dict[str, Any], npz: Path, cameras: list[str]) -> list[dict[str, Any]]:
    """The frames of one episode as ``add_frame`` dicts (arrays of the declared dtypes)."""
    with np.load(npz, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    n = int(meta["frames"])
    fps = float(meta["fps"])
    success_at = (
        meta["metrics"].get("time_to_success_s") if meta.get("status") == "success" else None
    )
    poses = {}
    for cam in cameras:
        ext = arrays[f"camera.extrinsics.{cam}"]
        poses[cam] = np.concatenate([ext[:, :3, 3], quat_wxyz(ext[:, :3, :3])], axis=1).astype(
            np.float32
        )
    frames = []
    for i in range(n):
        ok = success_at is not None and i / fps >= float(success_at) - 1e-6
        frame: dict[str, Any] = {
            "observation.state": arrays["observation.state"][i],
            "observation.velocity": arrays["observation.velocity"][i],
            "observation.ee_pose": arrays["observation.ee_pose"][i],
            "action": arrays["action"][i],
            "next.reward": np.array([1.0 if ok else 0.0], dtype=np.float32),
            "next.done": np.array([i == n - 1], dtype=bool),
            "next.success": np.array([ok], dtype=bool),
            "task": meta["instruction"],
        }
        for cam in cameras:
            frame[f"observation.camera_pose.{cam}"] = poses[cam][i]
            frame[f"observation.images.{cam}"] = arrays[f"observation.images.{cam}"][i]
        frames.append(frame)
    return frames


def main(argv: list[str] | None = None) -> int:
    """Write the committed episodes with the official writer; print a JSON timing summary."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--store", type=Path, required=True, help="root folder of the file:// store")
    ap.add_argument("--scene", default="kitchen_counter")
    ap.add_argument("--run", default=None, help="run id (default: the only run with episodes)")
    ap.add_argument("--out", type=Path, required=True, help="dataset folder to (re)create")
    ap.add_argument("--repo-id", default="blueprint/reference")
    ap.add_argument("--vcodec", default="libsvtav1")
    ap.add_argument(
        "--episodes",
        choices=("success", "all"),
        default="success",
        help="which kept episodes to write (core tier datasets hold successes only)",
    )
    ap.add_argument("--max-episodes", type=int, default=0, help="write at most N episodes (0: all)")
    ap.add_argument(
        "--image-writer-threads", type=int, default=0, help="create()'s async PNG writer threads"
    )
    ap.add_argument("--streaming-encoding", action="store_true", help="encode while adding frames")
    args = ap.parse_args(argv)

    from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: PLC0415 - after argparse: --help stays fast

    store = args.store.resolve()
    run_dir = find_run(store, args.scene, args.run)
    episodes = committed_episodes(store, run_dir)
    if args.episodes == "success":
        episodes = [(m, p) for m, p in episodes if m.get("status") == "success"]
    if args.max_episodes:
        episodes = episodes[: args.max_episodes]
    if not episodes:
        raise SystemExit(f"no committed episodes to write under {run_dir}")
    first = episodes[0][0]
    cameras = sorted(first["cameras"])
    fps = int(first["fps"])
    resolution = int(first["resolution"])
    for meta, _ in episodes:
        if (
            sorted(meta["cameras"]) != cameras
            or int(meta["fps"]) != fps
            or int(meta["resolution"]) != resolution
        ):
            raise SystemExit(
                f"episode {meta['episode_id']} differs in cameras/fps/resolution from the first"
            )

    if args.out.exists():
        shutil.rmtree(args.out)
    feats = features_for(cameras, resolution)

    t0 = time.perf_counter()
    read_s = 0.0
    ds = LeRobotDataset.create(
        repo_id=args.repo_id,
        fps=fps,
        features=feats,
        root=args.out,
        robot_type="franka_panda",
        use_videos=True,
        vcodec=args.vcodec,
        image_writer_threads=args.image_writer_threads,
        streaming_encoding=args.streaming_encoding,
    )
    frames_total = 0
    for meta, npz in episodes:
        r0 = time.perf_counter()
        frames = episode_frames(meta, npz, cameras)
        read_s += time.perf_counter() - r0
        for frame in frames:
            ds.add_frame(frame)
        ds.save_episode()
        frames_total += len(frames)
        print(f"lerobot_writer: {meta['episode_id']}: {len(frames)} frames", file=sys.stderr)
    ds.finalize()
    wall = time.perf_counter() - t0

    result = {
        "writer": "lerobot.LeRobotDataset.create/add_frame/save_episode/finalize",
        "lerobot_version": version("lerobot"),
        "vcodec": args.vcodec,
        "fps": fps,
        "cameras": cameras,
        "resolution": resolution,
        "episodes": len(episodes),
        "frames": frames_total,
        "wall_s": round(wall, 3),
        "read_npz_s": round(read_s, 3),
        "frames_per_s": round(frames_total / wall, 2),
        "frames_per_s_excluding_npz_read": round(frames_total / max(wall - read_s, 1e-9), 2),
        "cpu_count": os.cpu_count(),
        "out": str(args.out),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
