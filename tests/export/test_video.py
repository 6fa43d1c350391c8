"""bp_dataset.video: frames go in at exactly i/fps, and decoding every frame (verify_video)
or reading every packet (verify_packets) catches any file that does not hold exactly the
frames it should."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from bp_dataset.video import (
    VideoEncoder,
    VideoParams,
    count_frames,
    encode_episode,
    read_frames,
    verify_packets,
    verify_video,
)
from bp_export.frames import read_packets, write_packets

FPS = 20
SIZE = 64


def _frames(n: int, seed: int) -> np.ndarray:
    """Smooth moving gradients (compressible like camera images, different per frame)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    out = np.empty((n, SIZE, SIZE, 3), dtype=np.uint8)
    base = rng.integers(0, 255, 3)
    for i in range(n):
        for c in range(3):
            out[i, :, :, c] = (base[c] + 2 * x + y * (c + 1) + 3 * i) % 256
    return out


def _encode(path: Path, episodes: list[np.ndarray], encoder: str = "libsvtav1") -> VideoParams:
    params = VideoParams(encoder=encoder, fps=FPS, width=SIZE, height=SIZE)
    enc = VideoEncoder(path, params)
    for frames in episodes:
        enc.add_episode(frames)
    enc.close()
    return params


@pytest.mark.parametrize("encoder", ["libsvtav1", "libx264"])
def test_encoded_file_verifies(tmp_path: Path, encoder: str) -> None:
    """Two episodes (7 and 12 frames) encode to 19 frames at exactly i/fps, each episode starting on a keyframe."""
    path = tmp_path / "v.mp4"
    eps = [_frames(7, 1), _frames(12, 2)]
    params = _encode(path, eps, encoder)
    check = verify_video(path, [7, 12], FPS, SIZE, SIZE, params.codec_name, "yuv420p")
    assert check.ok, check.problems
    assert check.frames == 19 and check.per_episode == [7, 12]
    assert count_frames(path) == 19
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times = [f.pts * s.time_base for f in c.decode(s)]
    assert [float(t) for t in times] == [i / FPS for i in range(19)]
    decoded = read_frames(path, 7, 12).astype(np.int16)
    assert np.abs(decoded - eps[1].astype(np.int16)).mean() < 8  # lossy, but the same picture


def test_wrong_expectations_are_problems(tmp_path: Path) -> None:
    """Claiming other episode lengths, another size or another codec is reported, never accepted."""
    path = tmp_path / "v.mp4"
    _encode(path, [_frames(5, 1), _frames(5, 2)])
    assert not verify_video(path, [5, 6], FPS, SIZE, SIZE).ok
    odd = verify_video(path, [3, 7], FPS, SIZE, SIZE)  # frame 3 is no keyframe (GOP 2)
    assert any("frame 3 starts episode #1 but is not a keyframe" in p for p in odd.problems)
    assert any("64x64" in p for p in verify_video(path, [5, 5], FPS, 32, 32).problems)
    assert any(
        "codec" in p for p in verify_video(path, [5, 5], FPS, SIZE, SIZE, codec="h264").problems
    )
    assert any("expected exactly" in p for p in verify_video(path, [5, 5], 25, SIZE, SIZE).problems)


def test_dropped_frame_is_found(tmp_path: Path) -> None:
    """An encoder that skips a frame leaves a gap in time: the count and the frame times both fail."""
    path = tmp_path / "v.mp4"
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=SIZE, height=SIZE)
    enc = VideoEncoder(path, params)
    frames = _frames(10, 3)
    enc.add_episode(frames[:4])
    enc.frames += 1  # frame 4 never reaches the file
    enc.add_episode(frames[5:])
    enc.close()
    check = verify_video(path, [10], FPS, SIZE, SIZE)
    assert not check.ok
    assert any("decoded 9 frames, expected 10" in p for p in check.problems)
    assert any("frame 4 is at 0.250000 s" in p for p in check.problems)


def test_truncated_file_fails(tmp_path: Path) -> None:
    """A video cut short (half its bytes) does not verify."""
    path = tmp_path / "v.mp4"
    _encode(path, [_frames(30, 4)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    check = verify_video(path, [30], FPS, SIZE, SIZE)
    assert not check.ok


def test_bad_frames_are_refused(tmp_path: Path) -> None:
    """Frames of the wrong size or dtype never reach the encoder."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=SIZE, height=SIZE)
    enc = VideoEncoder(tmp_path / "v.mp4", params)
    with pytest.raises(ValueError, match="uint8"):
        enc.add_episode(np.zeros((2, SIZE, SIZE, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="expected"):
        enc.add_episode(np.zeros((2, 32, 32, 3), dtype=np.uint8))
    enc.abort()


def test_packets_encoded_elsewhere_make_the_same_file(tmp_path: Path) -> None:
    """Packets from encode_episode, via a packets file, make the bytes add_episode makes."""
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=SIZE, height=SIZE)
    eps = [_frames(7, 1), _frames(12, 2), _frames(3, 3)]
    _encode(tmp_path / "direct.mp4", eps)
    enc = VideoEncoder(tmp_path / "packets.mp4", params)
    for i, frames in enumerate(eps):
        packets, header = encode_episode(params, frames)
        assert packets[0].keyframe and header
        write_packets(tmp_path / f"{i}.packets", packets)
        enc.add_packets(read_packets(tmp_path / f"{i}.packets"), len(frames), header)
    enc.close()
    assert (tmp_path / "packets.mp4").read_bytes() == (tmp_path / "direct.mp4").read_bytes()
    cut = (tmp_path / "0.packets").read_bytes()[:-5]
    (tmp_path / "cut.packets").write_bytes(cut)
    with pytest.raises(ValueError, match="truncated"):
        read_packets(tmp_path / "cut.packets")


def _gap_file(path: Path, before: int, after: int) -> None:
    """``before`` frames, then a one-frame gap in time, then ``after`` frames (one file)."""
    enc = VideoEncoder(path, VideoParams(encoder="libsvtav1", fps=FPS, width=SIZE, height=SIZE))
    enc.add_episode(_frames(before, 5))
    enc.frames += 1  # the next frame's time never reaches the file
    enc.add_episode(_frames(after, 6))
    enc.close()


@pytest.mark.parametrize("encoder", ["libsvtav1", "libx264"])
@pytest.mark.parametrize("gop", [2, 30])
def test_packets_of_encoded_file_verify(tmp_path: Path, encoder: str, gop: int) -> None:
    """A file from VideoEncoder passes the packet check, with the counts decoding gives (B-frames too)."""
    path = tmp_path / "v.mp4"
    params = VideoParams(encoder=encoder, fps=FPS, width=SIZE, height=SIZE, gop=gop)
    enc = VideoEncoder(path, params)
    for frames in (_frames(7, 1), _frames(12, 2)):
        enc.add_episode(frames)
    enc.close()
    check = verify_packets(path, [7, 12], FPS, SIZE, SIZE, params.codec_name, "yuv420p")
    assert check.ok, check.problems
    assert (check.frames, check.per_episode) == (19, [7, 12])
    assert (check.codec, check.pix_fmt) == (params.codec_name, "yuv420p")
    decoded = verify_video(path, [7, 12], FPS, SIZE, SIZE, params.codec_name, "yuv420p")
    assert decoded.ok and (decoded.frames, decoded.per_episode) == (19, [7, 12])
    if encoder == "libx264" and gop == 30:  # the sort by pts is needed: decode order differs
        with av.open(str(path)) as c:
            pts = [int(k.pts or 0) for k in c.demux(c.streams.video[0]) if k.size]
        assert pts != sorted(pts)


def test_packets_wrong_total_is_a_problem(tmp_path: Path) -> None:
    """Claiming more frames than the file has, or a file missing a frame, fails on the packet count."""
    path = tmp_path / "v.mp4"
    _encode(path, [_frames(5, 1), _frames(5, 2)])
    check = verify_packets(path, [5, 6], FPS, SIZE, SIZE)
    assert check.problems == [
        "holds 10 packets, expected 11",
        "episode #1 in this file has 5 packets, expected 6",
    ]
    _gap_file(gap := tmp_path / "gap.mp4", 4, 5)
    dropped = verify_packets(gap, [10], FPS, SIZE, SIZE)
    assert dropped.frames == 9
    assert "holds 9 packets, expected 10" in dropped.problems
    assert "packet 4 is at 0.250000 s, expected exactly 4/20 s" in dropped.problems


def test_packets_wrong_episode_split_is_a_problem(tmp_path: Path) -> None:
    """With the total right, an episode that holds fewer frames than its length is reported."""
    path = tmp_path / "v.mp4"
    _gap_file(path, 4, 6)  # 10 packets; the first episode's last frame time is missing
    check = verify_packets(path, [5, 5], FPS, SIZE, SIZE)
    assert check.frames == 10 and check.per_episode == [4, 5]
    assert "episode #0 in this file has 4 packets, expected 5" in check.problems
    assert not any("holds" in p for p in check.problems)  # the total itself is right


def test_packets_episode_start_must_be_a_keyframe(tmp_path: Path) -> None:
    """An episode claimed to start inside a long GOP (no keyframe there) is reported."""
    path = tmp_path / "v.mp4"
    params = VideoParams(encoder="libsvtav1", fps=FPS, width=SIZE, height=SIZE, gop=30)
    enc = VideoEncoder(path, params)
    enc.add_episode(_frames(20, 7))
    enc.close()
    assert verify_packets(path, [20], FPS, SIZE, SIZE).ok
    check = verify_packets(path, [8, 12], FPS, SIZE, SIZE)
    assert check.per_episode == [8, 12]
    assert check.problems == ["packet 8 starts episode #1 but is not a keyframe"]
    assert any(
        "frame 8 starts episode #1 but is not a keyframe" in p
        for p in verify_video(path, [8, 12], FPS, SIZE, SIZE).problems
    )  # what decoding finds too


def test_packets_wrong_codec_or_size_is_a_problem(tmp_path: Path) -> None:
    """Another codec, pixel format or size than expected is reported from the stream's header."""
    path = tmp_path / "v.mp4"
    _encode(path, [_frames(5, 1)])
    assert verify_packets(path, [5], FPS, SIZE, SIZE, codec="h264", pix_fmt="yuv444p").problems == [
        "codec is 'av1', expected 'h264'",
        "pixel format is 'yuv420p', expected 'yuv444p'",
    ]
    assert verify_packets(path, [5], FPS, 32, 48).problems == ["stream is 64x64, expected 32x48"]


def test_packets_of_a_non_video_is_one_problem(tmp_path: Path) -> None:
    """Bytes that are no video file are one problem in the answer, not an exception."""
    path = tmp_path / "v.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    check = verify_packets(path, [5, 5], FPS, SIZE, SIZE, "av1", "yuv420p")
    assert not check.ok and len(check.problems) == 1
    assert check.problems[0].startswith("does not open as a video file: InvalidDataError")
    assert check.frames == 0
