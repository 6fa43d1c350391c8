"""Episode data files: deflated at a chosen level, byte-reproducible, written frame by frame
as the batched runner records them, and read by numpy and by export as any ``.npz``."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bp_episodes.batched.deflating import WorldDeflaters
from bp_episodes.batched.recording import FrameBuffers
from bp_episodes.data_file import EpisodeData, StreamDeflater, crc32_combine, episode_npz
from bp_export.frames import NpzStreams
from bp_sdk.clock import StageClock
from bp_sdk.errors import PermanentError


def _episode(frames: int = 23, seed: int = 0) -> dict[str, Any]:
    """Streams shaped like a recording: smooth images (they deflate), small float rows."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, 48 * 48 * 3).reshape(48, 48, 3)
    images = (ramp[None] + rng.integers(0, 4, (frames, 48, 48, 3))).astype(np.uint8)
    return {
        "observation.state": rng.normal(size=(frames, 8)).astype(np.float32),
        "observation.images.scene": images,
        "observation.depth.scene": rng.random((frames, 48, 48)).astype(np.float32),
        "timestamp": np.arange(frames, dtype=np.float32) / 20,
    }


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_npz_reads_back_with_numpy(level: int) -> None:
    """np.load(allow_pickle=False) gives every stream back: keys in order, dtypes, shapes, values."""
    arrays = _episode()
    with np.load(io.BytesIO(episode_npz(arrays, level)), allow_pickle=False) as back:
        assert back.files == list(arrays)
        for key, value in arrays.items():
            assert back[key].dtype == value.dtype and back[key].shape == value.shape
            assert np.array_equal(back[key], value)


def test_npz_is_a_valid_zip_with_fixed_dates() -> None:
    """Every member passes its CRC check and carries 1980-01-01, so the bytes repeat."""
    arrays = _episode()
    data = episode_npz(arrays, 1)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    assert episode_npz(_episode(), 1) == data


def test_levels_trade_size_not_content() -> None:
    """Level 0 stores, higher levels deflate; the arrays are the same at every level."""
    arrays = _episode(frames=40)
    stored, fast, best = (episode_npz(arrays, lv) for lv in (0, 1, 9))
    assert len(fast) < len(stored) and len(best) <= len(fast)
    with zipfile.ZipFile(io.BytesIO(stored)) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}


def test_bad_level_is_refused() -> None:
    """A level outside zlib's 0..9 is one clear error."""
    with pytest.raises(ValueError, match=r"0\.\.9"):
        episode_npz(_episode(), 10)


@pytest.mark.parametrize("level", [0, 1, 6])
def test_streamed_frame_by_frame_gives_the_same_bytes(level: int) -> None:
    """Frames fed one at a time (as the batched runner records) give the whole arrays' bytes."""
    arrays = _episode()
    members = []
    for key, value in arrays.items():
        s = StreamDeflater(level)
        for k in range(len(value)):
            s.add(value[k : k + 1])
        members.append((key, s))
    data = EpisodeData({}, dict(members), list(arrays)).npz(level)
    assert data == episode_npz(arrays, level)


def test_export_reads_the_file(tmp_path: Path) -> None:
    """Export's own npz reader (one inflate per member, CRC-checked) reads every stream."""
    arrays = _episode()
    path = tmp_path / "e.npz"
    path.write_bytes(episode_npz(arrays, 1))
    with NpzStreams(path) as streams:
        for key, value in arrays.items():
            assert np.array_equal(streams.array(key), value)


def test_stream_refuses_a_frame_of_another_shape() -> None:
    """A frame whose shape or dtype differs from the stream's first is refused, naming both."""
    s = StreamDeflater(1)
    s.add(np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"uint8\[4, 5\].*uint8\[4, 4\]"):
        s.add(np.zeros((1, 4, 5), np.uint8))


@pytest.mark.parametrize("sizes", [(0, 5), (1, 0), (7, 1), (1000, 4097), (3, 1 << 20)])
def test_crc32_combine_matches_zlib(sizes: tuple[int, int]) -> None:
    """The combined CRC of two parts equals zlib's CRC of their concatenation."""
    a, b = os.urandom(sizes[0]), os.urandom(sizes[1])
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_deflater_processes_keep_each_worlds_frames_in_order() -> None:
    """Four worlds recorded over several steps by two deflater processes, one world forgotten
    midway and restarted: each finished episode's file equals its frames written whole."""
    eps = [_episode(frames=9, seed=w) for w in range(4)]
    clock = StageClock()
    deflaters = WorldDeflaters(4, 1, 2, clock)
    try:
        frames = FrameBuffers(4, 9, deflaters=deflaters)
        rows = np.arange(4)
        for k in range(9):
            deflaters.next_step()
            if k == 3:
                frames.drop(2)  # world 2 starts over: its first three frames are forgotten
            idx = np.array([k, k, k - 3 if k >= 3 else k, k])
            for key in eps[0]:
                frames.write(
                    key, rows, idx, np.stack([e[key][i] for e, i in zip(eps, idx, strict=True)])
                )
        got = [frames.take_episode(w, 9 if w != 2 else 6) for w in range(4)]
    finally:
        deflaters.close()
    assert not deflaters.spool.exists()
    assert clock.to_json()["deflate frames (deflater processes)"]["cpu_s"] > 0
    for w, data in enumerate(got):
        assert sorted(data.deflated) == ["observation.depth.scene", "observation.images.scene"]
        assert data.order == list(eps[w])
        want = eps[w] if w != 2 else {k: v[:6] for k, v in eps[w].items()}
        assert data.npz(1) == episode_npz(want, 1)


def test_deflater_refuses_a_missing_frame() -> None:
    """A world's frame arriving out of order is an error naming it, not a shuffled video."""
    img = np.zeros((1, 64, 64, 3), np.uint8)
    deflaters = WorldDeflaters(1, 1, 1, StageClock())
    try:
        deflaters.next_step()
        deflaters.write("observation.images.scene", np.array([0]), np.array([0]), img)
        deflaters.next_step()
        deflaters.write("observation.images.scene", np.array([0]), np.array([2]), img)
        with pytest.raises(PermanentError, match="frame 2 arrived after 1 frames"):
            deflaters.take(0)
    finally:
        deflaters.close()
