"""Load a dataset with the OFFICIAL lerobot reader and check every frame of every episode.

Runs inside the test-only venv (``.venv-lerobot/bin/python``, see ``scripts/lerobot_env.sh``),
never in the workspace: ``tests/conformance/harness.py`` starts it as a subprocess with a
timeout and ``HF_HUB_OFFLINE=1``. Prints one JSON object on stdout; exit 0 only if every
check passed.

What it checks (every problem is collected, none stops the run):
* ``LeRobotDataset(repo_id, root=...)`` opens the folder offline (lerobot 0.4.4: codebase
  v3.x, episodes/tasks metadata) and ``meta/stats.json`` exists;
* each data parquet's columns are exactly the non-video features (the reader itself would
  hand out None for a missing column);
* totals: ``len(ds)`` = ``total_frames``, episodes = ``total_episodes``, tasks = ``total_tasks``;
* every frame of every episode, through ``ds[i]`` (which decodes each camera's video and
  raises if the decoded frame's time is not ``from_timestamp + timestamp`` within
  ``tolerance_s`` = 1e-4 s): index, episode_index, frame_index, timestamp = frame_index / fps,
  task string, and each feature's shape and dtype against ``meta/info.json``;
* independently of lerobot, with PyAV: every video file decodes, and every frame's
  ``from_timestamp + timestamp`` matches a decoded frame's presentation time within 1e-4 s,
  with exactly the episode's frame count in ``[from_timestamp, to_timestamp)``;
* with ``--aggregate-with OTHER``: lerobot's ``aggregate_datasets`` merges this dataset with
  another one (e.g. the official writer's) and the merged dataset passes the same checks
  (identical features and video info, stats.json, the episodes' file-index columns).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TOL_S = 1e-4
TORCH_DTYPES = {
    "float32": "torch.float32",
    "float64": "torch.float64",
    "int64": "torch.int64",
    "int32": "torch.int32",
    "bool": "torch.bool",
    "uint8": "torch.uint8",
}


class Problems:
    """Collects problems (kept up to a limit, all counted); ``prefixed`` shares the list."""

    def __init__(self, limit: int, prefix: str = "", parent: Problems | None = None) -> None:
        self.limit = limit
        self.prefix = prefix
        self.parent = parent
        self.items: list[str] = []
        self.count = 0

    def add(self, msg: str) -> None:
        if self.parent is not None:
            self.parent.add(self.prefix + msg)
            return
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(self.prefix + msg)

    def prefixed(self, prefix: str) -> Problems:
        return Problems(self.limit, prefix, self)


def check_item(item: dict[str, Any], features: dict[str, Any], probs: Problems, where: str) -> None:
    """Shapes and dtypes of one ``ds[i]`` against the info.json features."""
    for key, ft in features.items():
        if key not in item:
            probs.add(f"{where}: feature {key!r} missing from the item")
            continue
        value = item[key]
        shape = tuple(ft["shape"])
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            probs.add(
                f"{where}: {key} is {type(value).__name__}, not a tensor (its column is missing or empty?)"
            )
            continue
        if ft["dtype"] in ("video", "image"):
            want = (shape[2], shape[0], shape[1])  # decoded frames are channel-first
            if tuple(value.shape) != want:
                probs.add(f"{where}: {key} decoded shape {tuple(value.shape)}, expected {want}")
            if str(value.dtype) != "torch.float32":
                probs.add(f"{where}: {key} decoded dtype {value.dtype}, expected torch.float32")
            elif value.numel() and (float(value.min()) < 0.0 or float(value.max()) > 1.0):
                probs.add(f"{where}: {key} pixel values outside [0, 1]")
            continue
        want_shape = () if shape == (1,) else shape
        if tuple(value.shape) != want_shape:
            probs.add(
                f"{where}: {key} shape {tuple(value.shape)}, expected {want_shape} (info {list(shape)})"
            )
        want_dtype = TORCH_DTYPES.get(ft["dtype"])
        if want_dtype is not None and str(value.dtype) != want_dtype:
            probs.add(
                f"{where}: {key} dtype {value.dtype}, expected {want_dtype} (info {ft['dtype']!r})"
            )


def check_frames(ds: Any, info: dict[str, Any], probs: Problems) -> dict[str, Any]:
    """Iterate every frame of every episode through the official ``__getitem__``."""
    from lerobot.datasets.video_utils import FrameTimestampError

    fps = info["fps"]
    features = info["features"]
    frames = 0
    timestamp_errors = 0
    for ep_idx in range(ds.meta.total_episodes):
        ep = ds.meta.episodes[ep_idx]
        if int(ep["episode_index"]) != ep_idx:
            probs.add(f"episodes parquet row {ep_idx} holds episode_index {ep['episode_index']}")
        start, end = int(ep["dataset_from_index"]), int(ep["dataset_to_index"])
        if end - start != int(ep["length"]):
            probs.add(
                f"episode {ep_idx}: dataset_to_index - dataset_from_index = {end - start} != length {ep['length']}"
            )
        ep_errors = 0
        for i in range(start, end):
            where = f"episode {ep_idx} frame {i - start} (index {i})"
            try:
                item = ds[i]
            except FrameTimestampError as exc:
                timestamp_errors += 1
                ep_errors += 1
                if ep_errors <= 3:  # the count says the rest
                    reason = str(exc).split(". It means")[0]
                    probs.add(f"{where}: the reader's decoded frame is off: {reason}")
                continue
            except Exception as exc:  # noqa: BLE001 - the reader's own failure is the finding
                probs.add(f"{where}: the reader raised {type(exc).__name__}: {exc}")
                continue
            frames += 1
            if int(item["index"]) != i:
                probs.add(f"{where}: index {int(item['index'])}")
            if int(item["episode_index"]) != ep_idx:
                probs.add(f"{where}: episode_index {int(item['episode_index'])}")
            if int(item["frame_index"]) != i - start:
                probs.add(f"{where}: frame_index {int(item['frame_index'])}")
            ts = float(item["timestamp"])
            if abs(ts - (i - start) / fps) > TOL_S:
                probs.add(f"{where}: timestamp {ts} != frame_index / fps = {(i - start) / fps}")
            if not isinstance(item.get("task"), str) or not item["task"]:
                probs.add(f"{where}: no task string")
            check_item(item, features, probs, where)
        if ep_errors > 3:
            probs.add(
                f"episode {ep_idx}: {ep_errors} of {end - start} frames failed the reader's frame-time check"
            )
    return {"frames_read": frames, "frame_timestamp_errors": timestamp_errors}


def check_videos_pyav(ds: Any, info: dict[str, Any], probs: Problems) -> dict[str, Any]:
    """Decode every video file with PyAV; match each frame's expected time to a decoded pts."""
    import av
    import numpy as np

    root = Path(ds.root)
    decoded: dict[str, list[float]] = {}
    stream_info: dict[str, dict[str, Any]] = {}
    max_err = 0.0
    matched = 0
    timestamps = np.asarray(ds.hf_dataset.with_format(None)["timestamp"], dtype=np.float64)
    for key in ds.meta.video_keys:
        for ep_idx in range(ds.meta.total_episodes):
            ep = ds.meta.episodes[ep_idx]
            rel = str(ds.meta.get_video_file_path(ep_idx, key))
            if rel not in decoded:
                path = root / rel
                try:
                    with av.open(str(path)) as container:
                        stream = container.streams.video[0]
                        tb = stream.time_base
                        pts = [
                            float(f.pts * tb) for f in container.decode(stream) if f.pts is not None
                        ]
                        stream_info[rel] = {
                            "codec": stream.codec.canonical_name,
                            "decoder": stream.codec_context.name,
                            "pix_fmt": stream.codec_context.pix_fmt,
                            "width": stream.codec_context.width,
                            "height": stream.codec_context.height,
                            "time_base": str(Fraction(tb.numerator, tb.denominator)),
                            "frames": len(pts),
                        }
                except (av.FFmpegError, OSError) as exc:
                    probs.add(f"{rel}: PyAV cannot decode it: {exc}")
                    pts = []
                decoded[rel] = sorted(pts)
            pts_arr = np.asarray(decoded[rel])
            if pts_arr.size == 0:
                continue
            start, end = int(ep["dataset_from_index"]), int(ep["dataset_to_index"])
            from_ts = float(ep[f"videos/{key}/from_timestamp"])
            to_ts = float(ep[f"videos/{key}/to_timestamp"])
            want = from_ts + timestamps[start:end]
            pos = np.clip(np.searchsorted(pts_arr, want), 1, len(pts_arr) - 1)
            nearest = np.minimum(np.abs(pts_arr[pos - 1] - want), np.abs(pts_arr[pos] - want))
            if len(pts_arr) == 1:
                nearest = np.abs(pts_arr[0] - want)
            bad = np.flatnonzero(nearest >= TOL_S)
            max_err = max(max_err, float(nearest.max()) if nearest.size else 0.0)
            matched += int(nearest.size - bad.size)
            for j in bad[:5]:
                probs.add(
                    f"{key} episode {ep_idx} frame {int(j)}: no decoded frame at {want[j]:.6f} s "
                    f"(from_timestamp {from_ts} + timestamp {timestamps[start + j]:.6f}); nearest is {nearest[j]:.6f} s away"
                )
            in_range = int(
                np.count_nonzero((pts_arr >= from_ts - TOL_S) & (pts_arr < to_ts - TOL_S))
            )
            if in_range != end - start:
                probs.add(
                    f"{key} episode {ep_idx}: {in_range} decoded frames in [from_timestamp {from_ts}, "
                    f"to_timestamp {to_ts}), expected the episode's {end - start}"
                )
    return {
        "video_files": len(decoded),
        "video_frames_decoded_pyav": sum(len(v) for v in decoded.values()),
        "frames_matched_pyav": matched,
        "max_frame_time_error_s": max_err,
        "streams": stream_info,
    }


def check_data_columns(root: Path, info: dict[str, Any], probs: Problems) -> int:
    """Each data parquet's columns are exactly the non-video features, in any order.

    The reader does not insist (``datasets`` fills a missing column with None), but a policy
    batch then fails far from the cause, so the harness does.
    """
    import pyarrow.parquet as pq

    want = {k for k, ft in info["features"].items() if ft["dtype"] != "video"}
    files = sorted((root / "data").glob("*/*.parquet"))
    for path in files:
        got = set(pq.read_schema(path).names)
        rel = path.relative_to(root)
        if got - want:
            probs.add(f"{rel}: columns not declared as features: {sorted(got - want)}")
        if want - got:
            probs.add(f"{rel}: declared features missing as columns: {sorted(want - got)}")
    return len(files)


def check_dataset(ds: Any, info: dict[str, Any], probs: Problems) -> dict[str, Any]:
    """Totals, data columns, every frame through the reader, every video frame time through PyAV."""
    out: dict[str, Any] = {"video_backend": ds.video_backend}
    out["data_files"] = check_data_columns(Path(ds.root), info, probs)
    expect = {
        "total_frames": len(ds),
        "total_episodes": ds.meta.total_episodes,
        "total_tasks": len(ds.meta.tasks),
    }
    for key, got in expect.items():
        if info.get(key) != got:
            probs.add(f"info.json {key} = {info.get(key)}, the reader sees {got}")
    if len(ds.meta.episodes) != info.get("total_episodes"):
        probs.add(
            f"meta/episodes has {len(ds.meta.episodes)} rows, info.json total_episodes = {info.get('total_episodes')}"
        )
    if ds.meta.stats is None:
        probs.add(
            "meta/stats.json is missing (aggregate_datasets and training normalisation need it)"
        )
    out.update(expect)
    out["fps"] = info.get("fps")
    out["video_keys"] = list(ds.meta.video_keys)
    out.update(check_videos_pyav(ds, info, probs))  # first: its findings are the most specific
    out.update(check_frames(ds, info, probs))
    if out["frames_read"] != info.get("total_frames"):
        probs.add(
            f"read {out['frames_read']} frames, info.json total_frames = {info.get('total_frames')}"
        )
    return out


def check_aggregate(root: Path, other: Path, probs: Problems) -> dict[str, Any]:
    """``aggregate_datasets([root, other])`` into a temporary folder, then check the result."""
    from lerobot.datasets.aggregate import aggregate_datasets
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    with tempfile.TemporaryDirectory(prefix="bp-aggregate-") as tmp:
        dst = Path(tmp) / "aggregated"
        try:
            aggregate_datasets(
                repo_ids=["bp/this", "bp/other"],
                aggr_repo_id="bp/aggregated",
                roots=[root, other],
                aggr_root=dst,
            )
            info = json.loads((dst / "meta" / "info.json").read_text())
            ds = LeRobotDataset("bp/aggregated", root=dst)
        except Exception as exc:  # noqa: BLE001 - the official tool refusing the pair is the finding
            probs.add(f"aggregate_datasets failed: {type(exc).__name__}: {exc}")
            return {"ok": False}
        out = check_dataset(ds, info, probs)
        out.pop("streams", None)
        return out


def main(argv: list[str] | None = None) -> int:
    """Run every check and print the JSON summary."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--root", type=Path, required=True, help="the dataset folder (holds meta/info.json)"
    )
    ap.add_argument("--repo-id", default="bp/conformance", help="any repo id: nothing is fetched")
    ap.add_argument("--max-problems", type=int, default=50)
    ap.add_argument(
        "--aggregate-with", type=Path, default=None, help="also aggregate with this dataset"
    )
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    probs = Problems(args.max_problems)
    summary: dict[str, Any] = {"root": str(args.root)}
    info_path = args.root / "meta" / "info.json"
    try:
        info = json.loads(info_path.read_text())
    except (OSError, ValueError) as exc:
        probs.add(f"meta/info.json unreadable: {exc}")
        return _finish(summary, probs, t0)

    import lerobot
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    summary["lerobot_version"] = getattr(lerobot, "__version__", "?")
    summary["codebase_version"] = info.get("codebase_version")
    try:
        ds = LeRobotDataset(args.repo_id, root=args.root)
    except Exception as exc:  # noqa: BLE001 - the official reader refusing the folder is the finding
        probs.add(f"LeRobotDataset(...) refused the dataset: {type(exc).__name__}: {exc}")
        return _finish(summary, probs, t0)

    summary.update(check_dataset(ds, info, probs))
    if args.aggregate_with is not None:
        summary["aggregate"] = check_aggregate(
            args.root, args.aggregate_with, probs.prefixed("aggregate: ")
        )
    return _finish(summary, probs, t0)


def _finish(summary: dict[str, Any], probs: Problems, t0: float) -> int:
    summary["ok"] = probs.count == 0
    summary["problem_count"] = probs.count
    summary["problems"] = probs.items
    summary["wall_s"] = round(time.perf_counter() - t0, 3)
    sys.stdout.write(json.dumps(summary, default=str) + "\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
