"""The delivered dataset's file layout: LeRobot v3.0 paths plus our own metadata.

Every path a dataset file can have is built here. Paths are relative to the dataset
root (the folder that holds ``meta/info.json``).

```
meta/info.json                                    LeRobot: features, fps, path templates, splits
meta/stats.json                                   LeRobot: per-feature min/max/mean/std/count/quantiles
meta/tasks.parquet                                LeRobot: task string -> task_index
meta/episodes/chunk-XXX/file-XXX.parquet          LeRobot: one row per episode
data/chunk-XXX/file-XXX.parquet                   LeRobot: one row per frame (non-video features)
videos/<video key>/chunk-XXX/file-XXX.mp4         LeRobot: episodes concatenated, one codec
lossless/chunk-XXX/file-XXX.npz                   ours: depth/segmentation (tiers plus/full)
robomimic/dataset.hdf5                            robomimic 0.3 HDF5
meta/lineage.json                                 ours: sources, code, physics, seeds, licenses
meta/quality.json                                 ours: per-episode metrics, dataset summary
README.md                                         the dataset card
meta/SHA256SUMS                                   sha256 of every other file (`sha256sum -c`)
```
"""

from __future__ import annotations

from typing import Final

CODEBASE_VERSION: Final = "v3.0"
INFO: Final = "meta/info.json"
STATS: Final = "meta/stats.json"
TASKS: Final = "meta/tasks.parquet"
LINEAGE: Final = "meta/lineage.json"
QUALITY: Final = "meta/quality.json"
CARD: Final = "README.md"
SHA256SUMS: Final = "meta/SHA256SUMS"
ROBOMIMIC: Final = "robomimic/dataset.hdf5"

# LeRobot v3.0 path templates (written into info.json, used to build every path)
DATA_PATH: Final = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH: Final = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH: Final = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
LOSSLESS_PATH: Final = "lossless/chunk-{chunk_index:03d}/file-{file_index:03d}.npz"
CHUNKS_SIZE: Final = 1000  # files per chunk folder


def data_path(chunk_index: int, file_index: int) -> str:
    """``data/chunk-000/file-000.parquet``."""
    return DATA_PATH.format(chunk_index=chunk_index, file_index=file_index)


def video_path(video_key: str, chunk_index: int, file_index: int) -> str:
    """``videos/observation.images.wrist/chunk-000/file-000.mp4``."""
    return VIDEO_PATH.format(video_key=video_key, chunk_index=chunk_index, file_index=file_index)


def episodes_path(chunk_index: int, file_index: int) -> str:
    """``meta/episodes/chunk-000/file-000.parquet``."""
    return EPISODES_PATH.format(chunk_index=chunk_index, file_index=file_index)


def lossless_path(chunk_index: int, file_index: int) -> str:
    """``lossless/chunk-000/file-000.npz``."""
    return LOSSLESS_PATH.format(chunk_index=chunk_index, file_index=file_index)


def lossless_member(episode_index: int, stream: str) -> str:
    """Key of one episode's stream inside a lossless npz: ``episode_000012/observation.depth.wrist``."""
    return f"episode_{episode_index:06d}/{stream}"
