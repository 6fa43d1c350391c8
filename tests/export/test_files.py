"""Size-bounded files: data, lossless and video files roll over at episode boundaries,
and every episode's place (file, rows, from_timestamp) stays exact across files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bp_dataset.layout import data_path, lossless_path
from bp_dataset.layout import lossless_member as member
from bp_dataset.video import VideoParams, verify_video
from bp_export.encoding import EncoderPool, KeyEncoders, next_file
from bp_export.files import RollingNpz, RollingParquet, Staging
from bp_sdk.commit import OutputWriter
from bp_sdk.errors import PermanentError
from bp_sdk.layout import Unit
from bp_sdk.storage import Storage

FPS = 20


def _images(n: int, seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _npz(tmp: Path, i: int, frames: np.ndarray) -> Path:
    p = tmp / f"ep{i}.npz"
    savez = np.savez_compressed
    savez(p, **{"observation.images.a": frames, "observation.images.b": frames[:, ::-1].copy()})
    return p


def test_next_file_counts_like_lerobot() -> None:
    """file_index counts up to chunks_size - 1, then the chunk index moves on."""
    assert next_file(0, 0, 3) == (0, 1)
    assert next_file(0, 2, 3) == (1, 0)


def test_video_files_roll_over_at_episode_boundaries(tmp_path: Path) -> None:
    """A 1-byte bound gives one file per episode (sizes are exact between episodes); each
    file is checked at close, and timestamps restart at 0 in every file."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=64, height=64)
    enc = KeyEncoders(["observation.images.a"], params, tmp_path / "videos", max_file_bytes=1)
    lengths = [5, 8, 3]
    placed, closed = [], []
    for i, n in enumerate(lengths):
        reply = enc.episode(i, str(_npz(tmp_path, i, _images(n, i))), n)
        placed.append(reply["videos"]["observation.images.a"])
        closed += reply["closed"]
    assert [f["episodes"] for f in closed] == [[0], [1]]  # closed (and checked) at each rollover
    files = closed + enc.finish()["closed"]
    assert [(f["chunk_index"], f["file_index"], f["episodes"]) for f in files] == [
        (0, 0, [0]),
        (0, 1, [1]),
        (0, 2, [2]),
    ]
    assert [p["from_timestamp"] for p in placed] == [0.0, 0.0, 0.0]
    assert [p["to_timestamp"] for p in placed] == [n / FPS for n in lengths]
    for f, n in zip(files, lengths, strict=True):
        assert f["problems"] == [] and f["decoded_per_episode"] == [n]
        assert verify_video(Path(f["path"]), [n], FPS, 64, 64).ok


def test_pool_of_workers_encodes_and_verifies(tmp_path: Path) -> None:
    """Two worker processes encode two keys; episodes share a file back to back, decoded and checked at close."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=64, height=64)
    keys = ["observation.images.a", "observation.images.b"]
    pool = EncoderPool(keys, params, tmp_path / "v", 1 << 30, workers=2)
    try:
        lengths = [6, 9]
        for i, n in enumerate(lengths):
            pool.submit(i, str(_npz(tmp_path, i, _images(n, 10 + i))), n)
        stats = pool.finish()
        files = pool.take_closed()
        assert sorted(f["key"] for f in files) == keys
        assert all(f["problems"] == [] and f["decoded_per_episode"] == lengths for f in files)
        assert pool.results[1]["videos"]["observation.images.b"]["from_timestamp"] == 6 / FPS
        assert stats["observation.images.a"].frames == 15
        assert not verify_video(Path(files[0]["path"]), [6, 10], FPS, 64, 64).ok
    finally:
        pool.close()


def test_worker_errors_are_reported(tmp_path: Path) -> None:
    """A worker that cannot read its episode answers with the error; the pool raises it."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=64, height=64)
    pool = EncoderPool(
        ["observation.images.a", "observation.images.b"], params, tmp_path / "v", 1 << 30, workers=2
    )
    try:
        pool.submit(0, str(tmp_path / "missing.npz"), 4)
        with pytest.raises(PermanentError, match="video encoding failed: FileNotFoundError"):
            pool.finish()
    finally:
        pool.close()


def test_parquet_and_npz_roll_over(file_storage: Storage) -> None:
    """Data parquet and lossless npz start a new file once the bound is reached, and publish each one."""
    writer = OutputWriter(file_storage, Unit("s", "r", "export", dataset="d"), "t-a0")
    schema = pa.schema([pa.field("x", pa.float32())])
    with Staging(writer) as staging:
        rp = RollingParquet(staging, data_path, schema, max_bytes=1)
        got = [
            rp.append(pa.table({"x": np.arange(n, dtype=np.float32)}, schema=schema))
            for n in (3, 4)
        ]
        assert got == [(0, 0), (0, 1)]
        assert rp.close() == [data_path(0, 0), data_path(0, 1)]
        rn = RollingNpz(staging, lossless_path, max_bytes=1)
        assert rn.append(0, {"observation.depth.a": np.ones((2, 4, 4), np.float32)}) == (0, 0)
        assert rn.append(1, {"observation.depth.a": np.zeros((3, 4, 4), np.float32)}) == (0, 1)
        rn.close()
    assert set(writer.files) == {
        data_path(0, 0),
        data_path(0, 1),
        lossless_path(0, 0),
        lossless_path(0, 1),
    }
    base = Path(file_storage.uri.removeprefix("file://")) / writer.dir
    assert pq.read_table(base / data_path(0, 1))["x"].to_pylist() == [0, 1, 2, 3]
    with np.load(base / lossless_path(0, 1), allow_pickle=False) as z:
        assert z.files == [member(1, "observation.depth.a")]
        assert z[member(1, "observation.depth.a")].shape == (3, 4, 4)
