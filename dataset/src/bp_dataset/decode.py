"""Decode a dataset's videos with PyAV, as a lab's reader would, and check their frames.

A LeRobot v3.0 video file holds several episodes back to back. An episode is the frames
whose time lies in ``[from_timestamp, to_timestamp)`` of its row in ``meta/episodes``; the
official reader requires the k-th of them to be shown at ``from_timestamp + k / fps``
within 1e-4 s. :func:`decode_file` decodes every frame of one file (so a truncated or
corrupt file fails here, not in a training job) and :func:`check_episode_frames` checks
one episode's frames against its length and fps.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Final

import av
import av.error

TOLERANCE_S: Final = 1e-4  # what lerobot's reader allows between a frame's time and its query


@dataclass(frozen=True)
class VideoSpan:
    """One episode's part of a video file (from ``meta/episodes``)."""

    episode_index: int
    length: int
    from_timestamp: float
    to_timestamp: float


@dataclass
class DecodedVideo:
    """What decoding one file found: stream parameters and every frame's time."""

    path: str
    codec: str | None = None
    pix_fmt: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None  # the stream's average frame rate
    times: list[float] = field(default_factory=list)  # seconds, pts x time base
    problems: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        """Frames decoded."""
        return len(self.times)


def decode_file(path: str, stream: BinaryIO) -> DecodedVideo:
    """Decode every frame of the video in ``stream``; problems name ``path``.

    Frames are decoded (not only demuxed): a packet the decoder rejects is reported. The
    pixel data is not converted, which keeps decoding at the codec's own speed.
    """
    out = DecodedVideo(path)
    try:
        container = av.open(stream, mode="r")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        out.problems.append(f"{path}: cannot be opened as a video ({_why(exc)})")
        return out
    try:
        videos = container.streams.video
        if len(videos) != 1:
            out.problems.append(
                f"{path}: expected exactly one video stream, found {len(videos)} "
                "(the file is truncated or corrupt)"
            )
            if not videos:
                return out
        vs = videos[0]
        vs.thread_type = "AUTO"
        ctx = vs.codec_context
        out.codec, out.pix_fmt = ctx.codec.canonical_name, ctx.pix_fmt
        out.width, out.height = ctx.width, ctx.height
        out.fps = float(vs.average_rate) if vs.average_rate else None
        base = vs.time_base
        if base is None:
            out.problems.append(f"{path}: the video stream has no time base")
            return out
        try:
            for frame in container.decode(vs):
                if frame.pts is None:
                    out.problems.append(
                        f"{path}: frame {len(out.times)} has no presentation timestamp"
                    )
                    return out
                out.times.append(float(frame.pts * base))
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            out.problems.append(
                f"{path}: decoding failed after {len(out.times)} frames ({_why(exc)}); "
                "the file is truncated or corrupt"
            )
    finally:
        container.close()
    if out.times != sorted(out.times):
        out.problems.append(f"{path}: frame times are not increasing")
    return out


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


def check_episode_frames(
    video: DecodedVideo, spans: Sequence[VideoSpan], fps: int, tolerance_s: float = TOLERANCE_S
) -> list[str]:
    """Problems of the episodes stored in ``video``: frame counts, frame times, no frame
    left over. Each problem names the file and the episode."""
    problems: list[str] = []
    times = sorted(video.times)
    used = 0
    tol = tolerance_s
    for span in sorted(spans, key=lambda s: s.from_timestamp):
        start, end = span.from_timestamp, span.to_timestamp
        lo = bisect.bisect_left(times, start - tol)
        hi = bisect.bisect_left(times, end - tol)
        mine = times[lo:hi]
        used += len(mine)
        where = f"{video.path}: episode {span.episode_index}"
        if len(mine) != span.length:
            problems.append(
                f"{where}: {len(mine)} frames decoded in [{start:.4f}, {end:.4f}) s, "
                f"expected {span.length} (the episode's length)"
            )
        expected_end = start + span.length / fps
        if abs(end - expected_end) > tol:
            problems.append(
                f"{where}: to_timestamp {end:.6f} s != from_timestamp + length/fps = "
                f"{expected_end:.6f} s"
            )
        for k, t in enumerate(mine):
            want = start + k / fps
            if abs(t - want) > tol:
                problems.append(
                    f"{where}: frame {k} is shown at {t:.6f} s, expected {want:.6f} s "
                    f"(from_timestamp + {k}/{fps}) within {tolerance_s} s"
                )
                break  # one per episode: the rest are usually shifted the same way
    if used != len(times):
        problems.append(
            f"{video.path}: {len(times) - used} decoded frames belong to no episode "
            f"({len(times)} frames, episodes account for {used})"
        )
    return problems


def decode_and_check(
    path: str,
    stream: BinaryIO,
    spans: Sequence[VideoSpan],
    fps: int,
    expect: dict[str, object],
) -> tuple[int, list[str]]:
    """Decode one file and check it: stream parameters as declared (``expect`` holds
    ``codec``, ``pix_fmt``, ``width``, ``height``), then every episode's frames."""
    video = decode_file(path, stream)
    problems = list(video.problems)
    got = {
        "fps": video.fps,
        "codec": video.codec,
        "pix_fmt": video.pix_fmt,
        "width": video.width,
        "height": video.height,
    }
    for k, want in expect.items():
        if got.get(k) is not None and got[k] != want:
            problems.append(f"{path}: {k} is {got[k]!r}, info.json declares {want!r}")
    if not video.problems:
        problems += check_episode_frames(video, spans, fps)
    return video.frames, problems
