"""The streaming LeRobot v3.0 writer: one episode in, rows/arrays/frames out.

:class:`DatasetWriter` takes accepted episodes one at a time and writes, incrementally:
the frame rows (``data/``), the lossless arrays (``lossless/``), the robomimic demo, and
hands the episode's npz to the video encoders. It keeps only what the metadata needs per
episode (one row of the episode table) and running statistics. :meth:`finish` closes the
encoders, checks every video file it wrote against the frame counts it expects (packets,
no decoding: the gate decodes every frame), and writes the metadata (episodes, tasks,
stats, info).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from bp_dataset.features import LOSSLESS_MEANING, MEANING, Recording, data_columns
from bp_dataset.info import CameraMeta, DepthEncoding, Info, PipelineBlock, SegmentationEncoding
from bp_dataset.layout import (
    CHUNKS_SIZE,
    INFO,
    INITIAL_STATES,
    LOSSLESS_PATH,
    OBJECTS,
    STATS,
    TASKS,
    data_path,
    episodes_path,
    lossless_path,
    video_path,
)
from bp_dataset.stats import ImageStats, RunningStats, order_stats
from bp_dataset.video import VideoParams
from bp_sdk.clock import StageClock
from bp_sdk.errors import PermanentError, Problem

from bp_export.encoding import EncoderPool
from bp_export.files import RollingNpz, RollingParquet, Staging
from bp_export.frames import frame_from_json
from bp_export.lerobot import (
    data_schema,
    episodes_schema,
    flat_stats,
    frame_columns,
    frame_table,
    numeric_stats,
    rows_table,
    tasks_table,
)
from bp_export.sources import ExportEpisode


@dataclass
class WriterConfig:
    """What the writer needs to know about the dataset it writes."""

    dataset_id: str
    recording: Recording
    features: dict[str, Any]
    video: VideoParams
    cameras: dict[str, CameraMeta]
    physics_timestep_s: float
    data_file_bytes: int
    video_file_bytes: int
    data_file_mb: int
    video_file_mb: int
    workers: int
    objects: list[str] = field(default_factory=list)
    depth: DepthEncoding | None = None
    segmentation: SegmentationEncoding | None = None


@dataclass
class Written:
    """What the writer produced (for the summary, lineage and quality)."""

    episodes: int = 0
    frames: int = 0
    tasks: list[str] = field(default_factory=list)
    splits: dict[str, str] = field(default_factory=dict)
    video_files: int = 0
    info: Info | None = None


class DatasetWriter:
    """Writes one LeRobot v3.0 dataset into ``staging``, episode by episode."""

    def __init__(
        self,
        cfg: WriterConfig,
        staging: Staging,
        cancelled: Any = lambda: None,
        clock: StageClock | None = None,
    ) -> None:
        self.cfg = cfg
        self.staging = staging
        self.clock = clock if clock is not None else StageClock()
        rec = cfg.recording
        self.schema = data_schema(cfg.features)
        self.columns = data_columns(cfg.features)
        self.video_keys = rec.video_keys()
        self.lossless_keys = rec.lossless_keys()
        self.data = RollingParquet(staging, data_path, self.schema, cfg.data_file_bytes)
        self.lossless = (
            RollingNpz(staging, lossless_path, cfg.data_file_bytes) if self.lossless_keys else None
        )
        self.running = {
            c: RunningStats(
                int(np.prod(cfg.features[c]["shape"])), kind=_KIND[cfg.features[c]["dtype"]]
            )
            for c in self.columns
        }
        self.tasks: dict[str, int] = {}
        self.rows: list[dict[str, Any]] = []
        self.frames = 0
        self.train = 0
        self.video_files = 0
        self.next_episode = dict.fromkeys(
            self.video_keys, 0
        )  # per key: next episode a file must hold
        self.pool = EncoderPool(
            self.video_keys,
            cfg.video,
            staging.root / "videos",
            cfg.video_file_bytes,
            cfg.workers,
            cancelled,
            self.clock,
        )

    # ------------------------------------------------------------------ episodes
    def task_index(self, instruction: str) -> int:
        """The index an accepted episode's task gets (new tasks are numbered in order)."""
        return self.tasks.get(instruction, len(self.tasks))

    def add(
        self,
        record: ExportEpisode,
        npz: Path,
        arrays: dict[str, np.ndarray],
        reward: np.ndarray,
        done: np.ndarray,
        success: np.ndarray,
        sample: bool = False,
    ) -> dict[str, Any]:
        """Write one accepted episode (its npz stays on disk until the encoders are done)."""
        rec = self.cfg.recording
        idx = record.dataset_index
        if idx != len(self.rows):
            raise PermanentError(f"episode index {idx} out of order (expected {len(self.rows)})")
        if record.split == "train" and self.train != idx:
            raise PermanentError("train episodes must come before valid episodes")
        self.tasks.setdefault(record.instruction, record.task_index)
        t = int(arrays["observation.state"].shape[0])
        decoded = all(k in arrays for k in self.video_keys)  # robomimic needed the images
        images = {k: arrays[k] for k in self.video_keys} if decoded else None
        self.pool.submit(idx, str(npz), t, sample, images)
        with self.clock("frame rows + data parquet"):
            cols = frame_columns(
                arrays,
                rec.cameras,
                reward,
                done,
                success,
                idx,
                self.frames,
                record.task_index,
                rec.fps,
            )
            chunk, file = self.data.append(frame_table(cols, self.schema))
        with self.clock("stats (numeric)"):
            stats = numeric_stats(cols, self.cfg.features)
            for c in self.columns:
                self.running[c].update(cols[c])
        row: dict[str, Any] = {
            "episode_index": idx,
            "tasks": [record.instruction],
            "length": t,
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": self.frames,
            "dataset_to_index": self.frames + t,
            "stats": stats,
            "meta/episodes/chunk_index": 0,
            "meta/episodes/file_index": 0,
            "scene_id": record.scene_id,
            "run_id": record.run_id,
            "episode_id": record.episode_id,
            "task_id": record.task_id,
            "success": bool(record.success),
            "quality_score": record.quality_score,
            "split": record.split,
        }
        if self.lossless is not None:
            with self.clock("lossless npz"):
                lc, lf = self.lossless.append(idx, {k: arrays[k] for k in self.lossless_keys})
            row["lossless/chunk_index"], row["lossless/file_index"] = lc, lf
        self.rows.append(row)
        self.frames += t
        if record.split == "train":
            self.train += 1
        return row

    def poll(self) -> None:
        """Collect finished encoder work without waiting; publish files that are done."""
        self.pool.poll()
        self._accept_files()

    def done_with(self, index: int) -> bool:
        """True once the encoders no longer need the episode's npz."""
        return self.pool.done_with(index)

    def sample_frames(self, index: int) -> dict[str, np.ndarray]:
        """The middle frame of every video key of an episode submitted with ``sample``."""
        got = self.pool.results.get(index, {}).get("samples", {})
        missing = [k for k in self.video_keys if k not in got]
        if missing:
            raise PermanentError(
                f"the encoders returned no sample frame of {missing} for episode {index}"
            )
        return {k: frame_from_json(got[k]) for k in self.video_keys}

    # ------------------------------------------------------------------ finishing
    def finish(self) -> Written:
        """Close encoders (every video file's packets checked), write the metadata files."""
        if not self.rows:
            raise PermanentError("no episode to write")
        image_stats = self.pool.finish()
        self._accept_files()
        problems = [
            Problem(
                key,
                f"video files hold episodes 0..{self.next_episode[key] - 1}, expected 0..{len(self.rows) - 1}",
            )
            for key in self.video_keys
            if self.next_episode[key] != len(self.rows)
        ]
        if problems:
            raise PermanentError("video encoding lost episodes", problems=problems)
        with self.clock("metadata (episodes, tasks, stats, info)"):
            self.data.close()
            if self.lossless is not None:
                self.lossless.close()
            self._write_episodes()
            tasks = sorted(self.tasks, key=lambda k: self.tasks[k])
            pq.write_table(tasks_table(tasks), self.staging.path(TASKS))
            self.staging.publish(TASKS)
            self.staging.write_bytes(STATS, _json(self._stats(image_stats)))
            n = len(self.rows)
            splits = {"train": f"0:{self.train}"} if self.train else {}
            if self.train < n:
                splits["valid"] = f"{self.train}:{n}"
            info = self._info(n, len(tasks), splits)
            self.staging.write_bytes(INFO, info.to_bytes())
        return Written(n, self.frames, tasks, splits, self.video_files, info)

    def _accept_files(self) -> None:
        """Cross-check each closed video file with the episodes it must hold, then publish it.

        The encoder checked the file's packets against the frame counts given to it; here
        the file's episodes must continue the key's sequence, have this writer's lengths, and
        sit where the encoder said each episode landed (back to back from time 0).
        """
        for f in self.pool.take_closed():
            key = f["key"]
            rel = video_path(key, f["chunk_index"], f["file_index"])
            problems = [Problem(rel, p) for p in f["problems"]]
            first = self.next_episode[key]
            episodes = list(f["episodes"])
            if episodes != list(range(first, first + len(episodes))):
                problems.append(
                    Problem(
                        rel, f"holds episodes {episodes[:20]}, expected them from {first} in order"
                    )
                )
            fps = self.cfg.recording.fps
            start = 0
            for e, n in zip(episodes, f["lengths"], strict=True):
                row = self.rows[e] if 0 <= e < len(self.rows) else None
                placed = self.pool.results.get(e, {}).get("videos", {}).get(key)
                if row is None or placed is None or n != row["length"]:
                    problems.append(
                        Problem(
                            rel,
                            f"episode {e} was not encoded with its {row and row['length']} frames",
                        )
                    )
                    continue
                if (placed["chunk_index"], placed["file_index"]) != (
                    f["chunk_index"],
                    f["file_index"],
                ):
                    problems.append(Problem(rel, f"episode {e} is placed in another file"))
                if placed["from_timestamp"] != start / fps:
                    problems.append(
                        Problem(
                            rel,
                            f"episode {e} starts at {placed['from_timestamp']} s, expected {start / fps} s",
                        )
                    )
                for part in ("chunk_index", "file_index", "from_timestamp", "to_timestamp"):
                    row[f"videos/{key}/{part}"] = placed[part]
                row["stats"][key] = self.pool.results[e]["stats"][key]
                start += n
            if problems:
                raise PermanentError(
                    f"video files do not hold exactly the exported frames ({len(problems)} problems): export failed",
                    problems=problems,
                    next_step="This is an encoder or disk fault, not an input problem; report it with this marker.",
                )
            self.next_episode[key] = first + len(episodes)
            with self.clock("publish videos (copy + sha256)"):
                self.staging.publish(rel)
            self.video_files += 1

    def _write_episodes(self) -> None:
        rows = []
        for r in self.rows:
            flat = {k: v for k, v in r.items() if k != "stats"}
            ordered: dict[str, Any] = {}
            head = [
                "episode_index",
                "tasks",
                "length",
                "data/chunk_index",
                "data/file_index",
                "dataset_from_index",
                "dataset_to_index",
            ]
            for k in head:
                ordered[k] = flat.pop(k)
            for key in self.video_keys:
                for part in ("chunk_index", "file_index", "from_timestamp", "to_timestamp"):
                    ordered[f"videos/{key}/{part}"] = flat.pop(f"videos/{key}/{part}")
            ordered.update(
                flat_stats({f: r["stats"][f] for f in self.cfg.features if f in r["stats"]})
            )
            ordered.update(flat)
            rows.append(ordered)
        schema = episodes_schema(rows[0], self.video_keys)
        rel = episodes_path(0, 0)
        pq.write_table(rows_table(rows, schema), self.staging.path(rel), compression="snappy")
        self.staging.publish(rel)

    def _stats(self, image_stats: dict[str, ImageStats]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, feat in self.cfg.features.items():
            if feat["dtype"] == "video":
                out[key] = image_stats[key].result()
            else:
                out[key] = order_stats(self.running[key].result())
        return out

    def _info(self, episodes: int, tasks: int, splits: dict[str, str]) -> Info:
        cfg = self.cfg
        rec = cfg.recording
        meaning: dict[str, str] = {}
        for key in cfg.features:
            if key in MEANING:
                meaning[key] = MEANING[key]
            elif key.startswith("observation.camera_pose."):
                meaning[key] = MEANING["observation.camera_pose.<camera>"]
            elif key.startswith("observation.images."):
                meaning[key] = (
                    f"RGB frames of camera {key.rsplit('.', 1)[-1]} ({rec.resolution}x{rec.resolution}), "
                    f"video ({cfg.video.encoder}, {cfg.video.pix_fmt}); intrinsics in blueprintpipeline.cameras"
                )
        for stream in self.lossless_keys:
            meaning[stream] = LOSSLESS_MEANING.get(
                stream.rsplit(".", 1)[0] if stream.count(".") > 1 else stream, stream
            )
        return Info(
            robot_type=rec.robot_type,
            total_episodes=episodes,
            total_frames=self.frames,
            total_tasks=tasks,
            chunks_size=CHUNKS_SIZE,
            data_files_size_in_mb=cfg.data_file_mb,
            video_files_size_in_mb=cfg.video_file_mb,
            fps=rec.fps,
            splits=splits,
            features=cfg.features,
            blueprintpipeline=PipelineBlock(
                dataset_id=cfg.dataset_id,
                tier=rec.tier,
                cameras=cfg.cameras,
                physics_timestep_s=cfg.physics_timestep_s,
                control_rate_hz=rec.fps,
                meaning=meaning,
                lossless_streams=self.lossless_keys,
                lossless_path=LOSSLESS_PATH if self.lossless_keys else None,
                video_encoder=cfg.video.encoder,
                objects=list(cfg.objects),
                objects_file=OBJECTS,
                initial_states=INITIAL_STATES,
                depth=cfg.depth if rec.tier in ("plus", "full") else None,
                segmentation=cfg.segmentation if rec.tier == "full" else None,
            ),
        )

    def close(self) -> None:
        """Stop the encoders (after finish, or on an error path)."""
        self.pool.close()


_KIND = {"bool": "b", "int64": "i", "int32": "i", "float32": "f", "float64": "f"}


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, allow_nan=False) + "\n").encode()
