"""Size-bounded files: data, lossless and video files roll over at episode boundaries,
and every episode's place (file, rows, from_timestamp) stays exact across files."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bp_dataset.layout import data_path, lossless_path
from bp_dataset.layout import lossless_member as member
from bp_dataset.video import VideoParams, verify_video
from bp_export import encoding
from bp_export.encoding import EncoderPool, drop_spares, next_file, prestart
from bp_export.files import RollingNpz, RollingParquet, Staging
from bp_export.frames import NpzStreams
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


def test_npz_streams_read_what_np_load_reads(tmp_path: Path) -> None:
    """One-inflate reads equal np.load's arrays; a corrupted member is an error, not data."""
    rng = np.random.default_rng(3)
    arrays = {
        "observation.images.a": _images(5, 1, size=16),
        "x": rng.normal(size=(7, 8)).astype(np.float32),
        "t": np.arange(4, dtype=np.int64),
        "f": np.asfortranarray(rng.normal(size=(3, 5))),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    for name, save in (("z", np.savez_compressed), ("s", np.savez)):
        path = tmp_path / f"{name}.npz"
        save(path, **arrays)
        with np.load(path) as ref, NpzStreams(path) as streams:
            for key in arrays:
                got = streams.array(key)
                assert got.dtype == ref[key].dtype and got.shape == ref[key].shape
                np.testing.assert_array_equal(got, ref[key])
    path = tmp_path / "z.npz"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("observation.images.a.npy")
    data[info.header_offset + 30 + len(info.filename) + 40] ^= 0xFF
    path.write_bytes(bytes(data))
    with NpzStreams(path) as streams, pytest.raises((zipfile.BadZipFile, zlib.error)):
        streams.array("observation.images.a")


def test_next_file_counts_like_lerobot() -> None:
    """file_index counts up to chunks_size - 1, then the chunk index moves on."""
    assert next_file(0, 0, 3) == (0, 1)
    assert next_file(0, 2, 3) == (1, 0)


def test_video_files_roll_over_at_episode_boundaries(tmp_path: Path) -> None:
    """A 1-byte bound gives one file per episode (sizes are exact between episodes); each
    file is checked at close, and timestamps restart at 0 in every file."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=64, height=64)
    key = "observation.images.a"
    pool = EncoderPool([key], params, tmp_path / "videos", max_file_bytes=1, workers=1)
    lengths = [5, 8, 3]
    closed = []
    try:
        for i, n in enumerate(lengths):
            pool.submit(i, str(_npz(tmp_path, i, _images(n, i))), n)
            closed += pool.take_closed()
        assert [f["episodes"] for f in closed] == [
            [0],
            [1],
        ]  # closed (and checked) at each rollover
        pool.finish()
        files = closed + pool.take_closed()
    finally:
        pool.close()
    placed = [pool.results[i]["videos"][key] for i in range(len(lengths))]
    assert [(f["chunk_index"], f["file_index"], f["episodes"]) for f in files] == [
        (0, 0, [0]),
        (0, 1, [1]),
        (0, 2, [2]),
    ]
    assert [p["from_timestamp"] for p in placed] == [0.0, 0.0, 0.0]
    assert [p["to_timestamp"] for p in placed] == [n / FPS for n in lengths]
    for f, n in zip(files, lengths, strict=True):
        assert f["problems"] == [] and f["packets_per_episode"] == [n]
        assert verify_video(Path(f["path"]), [n], FPS, 64, 64).ok


def test_pool_of_workers_encodes_and_verifies(tmp_path: Path) -> None:
    """Two worker processes encode two keys; episodes share a file back to back, checked at close."""
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
        assert all(f["problems"] == [] and f["packets_per_episode"] == lengths for f in files)
        assert pool.results[1]["videos"]["observation.images.b"]["from_timestamp"] == 6 / FPS
        assert stats["observation.images.a"].frames == 15
        assert not verify_video(Path(files[0]["path"]), [6, 10], FPS, 64, 64).ok
    finally:
        pool.close()


def _pool_files(tmp: Path, workers: int, lengths: list[int]) -> dict[str, bytes]:
    """Encode the episodes with ``workers`` processes; every video file's bytes by name."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=64, height=64)
    keys = ["observation.images.a", "observation.images.b"]
    out = tmp / f"videos-{workers}"
    pool = EncoderPool(keys, params, out, 40_000, workers=workers)
    try:
        for i, n in enumerate(lengths):
            pool.submit(i, str(_npz(tmp, i, _images(n, 30 + i))), n, sample=i == 1)
            pool.poll()
        pool.finish()
        files = pool.take_closed()
        assert all(f["problems"] == [] for f in files)
        assert set(pool.results[1]["samples"]) == set(keys)
        return {
            Path(f["path"]).relative_to(out).as_posix(): Path(f["path"]).read_bytes() for f in files
        }
    finally:
        pool.close()


def test_more_workers_than_cameras_write_the_same_bytes(tmp_path: Path) -> None:
    """Episodes encoded by 1, 2 or 3 processes give identical files, rollovers included."""
    lengths = [6, 9, 4, 7, 5]
    one = _pool_files(tmp_path, 1, lengths)
    assert len(one) > 2  # the 40 kB bound rolled over
    assert _pool_files(tmp_path, 2, lengths) == one
    assert _pool_files(tmp_path, 3, lengths) == one


def test_prestarted_workers_are_taken_or_stopped(tmp_path: Path) -> None:
    """Prestarted encoders are taken by the next pool (extras stopped) or by drop_spares."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=64, height=64)
    prestart(3)
    spool, started = encoding._SPARE[0][0], list(encoding._SPARE[0][1])
    pool = EncoderPool(["observation.images.a"], params, tmp_path / "v", 1 << 30, workers=2)
    try:
        assert not encoding._SPARE and pool.workers == started[:2]
        assert started[2].proc.poll() is not None  # the third was stopped
        pool.submit(0, str(_npz(tmp_path, 0, _images(4, 1))), 4)
        pool.finish()
        assert [f["problems"] for f in pool.take_closed()] == [[]]
    finally:
        pool.close()
    assert not spool.exists()
    prestart(2)
    (_, unused) = encoding._SPARE[0]
    drop_spares()
    assert not encoding._SPARE and all(w.proc.poll() is not None for w in unused)


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
