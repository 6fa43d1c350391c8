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
meta/objects.json                                 ours: the fixed object list, segmentation id maps
meta/initial_states.parquet                       ours: every episode's initial state (seeded)
README.md                                         the dataset card
meta/SHA256SUMS                                   sha256 of every other file (`sha256sum -c`)
```
"""

from __future__ import annotations

import hashlib
from typing import Final

CODEBASE_VERSION: Final = "v3.0"
INFO: Final = "meta/info.json"
STATS: Final = "meta/stats.json"
TASKS: Final = "meta/tasks.parquet"
LINEAGE: Final = "meta/lineage.json"
QUALITY: Final = "meta/quality.json"
OBJECTS: Final = "meta/objects.json"
INITIAL_STATES: Final = "meta/initial_states.parquet"
SAMPLES: Final = "meta/samples.png"
# provenance: what records the run (differs between re-generations); every other file is content
PROVENANCE_FILES: Final = (LINEAGE,)
CARD: Final = "README.md"
SHA256SUMS: Final = "meta/SHA256SUMS"
CONTENT_DIGEST_EXCLUDES: Final = (LINEAGE, CARD, SHA256SUMS)  # the content digest covers the rest
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


def content_lines(digests: dict[str, str]) -> bytes:
    """The ``meta/SHA256SUMS`` lines of the content files (every file but lineage, the card
    and SHA256SUMS), sorted by path: ``<sha256>  <path>\\n``."""
    keep = sorted(p for p in digests if p not in CONTENT_DIGEST_EXCLUDES)
    return "".join(f"{digests[p]}  {p}\n" for p in keep).encode()


def content_digest(digests: dict[str, str]) -> str:
    """The content digest: sha256 of :func:`content_lines` (stable across re-generations of the
    same inputs; a lab recomputes it with
    ``grep -v -e '  meta/lineage.json$' -e '  README.md$' meta/SHA256SUMS | sha256sum``)."""
    return hashlib.sha256(content_lines(digests)).hexdigest()
