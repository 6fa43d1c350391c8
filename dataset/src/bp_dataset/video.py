"""Video files of a dataset: encode frames with PyAV, and check what was written.

LeRobot v3.0 stores each camera's episodes concatenated in one mp4 per file index; a
reader seeks to ``from_timestamp + timestamp`` and accepts a frame within 1e-4 s. So a
file written here has constant frame rate, frame ``i`` at pts exactly ``i / fps``
(the muxer's time base is a multiple of fps), and one codec and pixel format everywhere.

:func:`encode_episode` encodes one episode with a fresh encoder into packets (which can be
made anywhere: another process, in parallel with other episodes); :class:`VideoEncoder`
appends episodes, or their packets, to one file. :func:`verify_video` decodes every frame
of a file and checks the count, every frame's time and size, and how many frames fall in
each episode's time range; :func:`verify_packets` checks the same from the container and
its packets without decoding (the export's check; the gate decodes). Any difference is a
problem, never a warning.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np

# encoder → codec name as LeRobot's get_video_info reports it (stream.codec.canonical_name)
CODEC_NAMES: Final = {"libsvtav1": "av1", "libx264": "h264"}
PIX_FMT: Final = "yuv420p"


@dataclass(frozen=True)
class VideoParams:
    """How every video file of a dataset is encoded."""

    encoder: str
    fps: int
    width: int
    height: int
    crf: int = 30
    gop: int = 2
    pix_fmt: str = PIX_FMT
    threads: int = 1  # encoder threads per file (the export runs one encoder per process)

    @property
    def codec_name(self) -> str:
        """``av1`` / ``h264``: what the info block's ``video.codec`` holds."""
        return CODEC_NAMES[self.encoder]

    def options(self) -> dict[str, str]:
        """Encoder options: LeRobot's (g, crf, and preset 12 for SVT-AV1), pinned threads."""
        if self.encoder == "libsvtav1":
            return {
                "g": str(self.gop),
                "crf": str(self.crf),
                "preset": "12",
                "svtav1-params": f"lp={self.threads}",
            }
        if self.encoder == "libx264":
            return {
                "g": str(self.gop),
                "crf": str(self.crf),
                "preset": "veryfast",
                "threads": str(self.threads),
            }
        raise ValueError(f"unsupported encoder {self.encoder!r}; use one of {sorted(CODEC_NAMES)}")


@dataclass(frozen=True)
class EncodedPacket:
    """One packet of an episode's stream, times in frames from the episode's start."""

    pts: int
    dts: int | None
    duration: int
    keyframe: bool
    data: bytes


def _check_frames(frames: np.ndarray, p: VideoParams) -> None:
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (p.height, p.width, 3):
        raise ValueError(
            f"expected (N, {p.height}, {p.width}, 3) uint8 frames, got {frames.shape} {frames.dtype}"
        )


def _open_encoder(p: VideoParams) -> Any:
    cc: Any = av.CodecContext.create(p.encoder, "w")
    cc.width = p.width
    cc.height = p.height
    cc.pix_fmt = p.pix_fmt
    cc.time_base = Fraction(1, p.fps)
    cc.framerate = Fraction(p.fps)
    cc.flags |= av.codec.context.Flags.global_header  # the same header as a file's stream
    cc.options = p.options()
    cc.open()
    return cc


def _encode(p: VideoParams, frames: np.ndarray) -> tuple[list[Any], bytes | None]:
    """The episode's packets (PyAV's) from a fresh encoder, flushed; and its header."""
    _check_frames(frames, p)
    os.environ.setdefault("SVT_LOG", "1")
    cc = _open_encoder(p)
    tb = Fraction(1, p.fps)
    packets: list[Any] = []
    for i, img in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        frame.pts = i
        frame.time_base = tb
        packets += cc.encode(frame)
    packets += cc.encode(None)
    return packets, cc.extradata


def encode_episode(p: VideoParams, frames: np.ndarray) -> tuple[list[EncodedPacket], bytes | None]:
    """One episode's packets from a fresh encoder (flushed), and its codec header."""
    packets, header = _encode(p, frames)
    return [
        EncodedPacket(int(k.pts), k.dts, int(k.duration or 0), bool(k.is_keyframe), bytes(k))
        for k in packets
    ], header


class VideoEncoder:
    """One mp4 file of concatenated episodes; frame ``i`` of the file is at ``i / fps``.

    Each episode is encoded by a fresh encoder, flushed at its end, and its packets are
    muxed into the file shifted by the frames before it (a stream copy, as LeRobot's
    writer concatenates episodes). So every episode starts on a keyframe, and after each
    episode the file's size is exact (nothing waits in the encoder's lookahead): the
    decision to start a new file does not depend on thread timing, and the same frames
    always give the same bytes.
    """

    def __init__(self, path: Path, params: VideoParams) -> None:
        self.path = path
        self.params = params
        self.frames = 0
        self.muxed_bytes = 0  # encoded payload in the file so far (exact between episodes)
        logging.getLogger("libav").setLevel(logging.WARNING)
        # SVT-AV1 prints its banner to stderr (not through FFmpeg's log) unless told not to;
        # stderr lines that are not JSON would pollute the job's structured logs
        os.environ.setdefault("SVT_LOG", "1")
        self._out: Any = av.open(str(path), mode="w", format="mp4")
        # the stream's own encoder only describes the codec (the file header); episodes
        # are encoded by encoders made alike (see _encoder) and their packets copied in
        stream: Any = self._out.add_stream(
            params.encoder, rate=params.fps, options=params.options()
        )
        stream.width = params.width
        stream.height = params.height
        stream.pix_fmt = params.pix_fmt
        stream.time_base = Fraction(1, params.fps)
        self._stream = stream
        self._closed = False

    def _check_header(self, header: bytes | None) -> None:
        mine = self._stream.codec_context.extradata
        if mine is not None and header != mine:
            raise RuntimeError("an episode's encoder made another codec header than the file's")

    def _mux(self, packet: Any, offset: int) -> None:
        packet.pts += offset
        if packet.dts is not None:
            packet.dts += offset
        packet.time_base = Fraction(1, self.params.fps)
        packet.stream = self._stream
        self.muxed_bytes += packet.size
        self._out.mux(packet)

    def add_episode(self, frames: np.ndarray) -> None:
        """Encode one episode's ``(N, H, W, 3)`` uint8 frames and append them to the file."""
        packets, header = _encode(self.params, frames)
        for packet in packets:
            self._mux(packet, self.frames)
        self._check_header(header)
        self.frames += len(frames)

    def add_packets(self, packets: list[EncodedPacket], frames: int, header: bytes | None) -> None:
        """Append an episode :func:`encode_episode` encoded (the bytes :meth:`add_episode` gives)."""
        self._check_header(header)
        for k in packets:
            packet = av.Packet(k.data)
            packet.pts, packet.dts, packet.duration = k.pts, k.dts, k.duration
            packet.is_keyframe = k.keyframe
            self._mux(packet, self.frames)
        self.frames += frames

    def size(self) -> int:
        """Bytes of encoded video in the file so far (the muxer adds its index at close)."""
        return self.muxed_bytes

    def close(self) -> None:
        """Finish the file."""
        if self._closed:
            return
        self._closed = True
        self._out.close()

    def abort(self) -> None:
        """Close without caring about the result (on an error path)."""
        if not self._closed:
            self._closed = True
            try:
                self._out.close()
            except (av.FFmpegError, OSError, ValueError):
                logging.getLogger(__name__).debug("closing an aborted video failed", exc_info=True)


@dataclass
class VideoCheck:
    """What checking a video file found (``frames``: frames decoded, or packets with data)."""

    path: str
    frames: int = 0
    per_episode: list[int] = field(default_factory=list)
    codec: str = ""
    pix_fmt: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def count_frames(path: Path) -> int:
    """Number of video packets with data in the file (no decoding)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size > 0)


class _Expected:
    """What a file of episodes back to back must hold; notes what differs in ``check``.

    Item ``i`` (a frame, or a packet in presentation order) must be at exactly ``i / fps``;
    items are counted in the episode whose time range holds them, and the item that starts
    an episode must be a keyframe.
    """

    def __init__(
        self, check: VideoCheck, episode_lengths: list[int], fps: int, max_problems: int
    ) -> None:
        self.check = check
        self.lengths = list(episode_lengths)
        self.fps = fps
        self.max_problems = max_problems
        self.bounds = np.cumsum([0, *episode_lengths])
        self.starts = set(self.bounds[:-1].tolist())
        self.per_episode = np.zeros(len(episode_lengths), dtype=np.int64)

    def problem(self, msg: str) -> None:
        if len(self.check.problems) < self.max_problems:
            self.check.problems.append(msg)

    def stream(self, container: Any, codec: str | None, pix_fmt: str | None) -> Any | None:
        """The first video stream with its codec and pixel format checked; None (a problem
        noted) when there is none or it has no time base."""
        if not container.streams.video:
            self.problem("has no video stream")
            return None
        stream = container.streams.video[0]
        check = self.check
        check.codec = str(stream.codec.canonical_name)
        check.pix_fmt = str(stream.codec_context.pix_fmt)
        if codec is not None and check.codec != codec:
            self.problem(f"codec is {check.codec!r}, expected {codec!r}")
        if pix_fmt is not None and check.pix_fmt != pix_fmt:
            self.problem(f"pixel format is {check.pix_fmt!r}, expected {pix_fmt!r}")
        if stream.time_base is None:
            self.problem("stream has no time base")
            return None
        return stream

    def place(self, what: str, i: int, pts: int, tb: Fraction, keyframe: bool) -> None:
        """Check item ``i``'s time and keyframe flag; count it in the episode its time is in."""
        num, den, fps = tb.numerator, tb.denominator, self.fps
        # time = pts * num / den must equal i / fps exactly
        if pts * num * fps != i * den:
            self.problem(f"{what} {i} is at {pts * num / den:.6f} s, expected exactly {i}/{fps} s")
        k = int(np.searchsorted(self.bounds, pts * num * fps / den + 1e-6, side="right")) - 1
        if 0 <= k < len(self.per_episode):
            self.per_episode[k] += 1
        if i in self.starts and not keyframe:
            self.problem(
                f"{what} {i} starts episode #{int(np.searchsorted(self.bounds, i))} but is not a keyframe"
            )

    def finish(self, total: str, unit: str) -> VideoCheck:
        """Compare the counts with the episode lengths (``total``: what was counted in all,
        as a phrase; ``unit``: what an episode's count is of)."""
        check = self.check
        check.per_episode = [int(x) for x in self.per_episode]
        expected_total = int(self.bounds[-1])
        if check.frames != expected_total:
            self.problem(f"{total}, expected {expected_total}")
        for k, (got, want) in enumerate(zip(check.per_episode, self.lengths, strict=True)):
            if got != want:
                self.problem(f"episode #{k} in this file has {got} {unit}, expected {want}")
        return check


def verify_video(
    path: Path,
    episode_lengths: list[int],
    fps: int,
    width: int,
    height: int,
    codec: str | None = None,
    pix_fmt: str | None = None,
    max_problems: int = 20,
) -> VideoCheck:
    """Decode every frame; check count, times (frame i at exactly i/fps), size and codec.

    ``episode_lengths`` are the frame counts of the episodes concatenated in the file, in
    order; each episode's decoded frames are those whose time falls in its range, and its
    first frame must be a keyframe.
    """
    check = VideoCheck(path=path.name)
    want = _Expected(check, episode_lengths, fps, max_problems)
    try:
        with av.open(str(path)) as container:
            stream = want.stream(container, codec, pix_fmt)
            if stream is None:
                return check
            for i, frame in enumerate(container.decode(stream)):
                check.frames += 1
                if frame.width != width or frame.height != height:
                    want.problem(
                        f"frame {i} is {frame.width}x{frame.height}, expected {width}x{height}"
                    )
                if frame.pts is None:
                    want.problem(f"frame {i} has no timestamp")
                    continue
                want.place("frame", i, frame.pts, stream.time_base, frame.key_frame)
    except (av.FFmpegError, OSError) as exc:
        want.problem(f"does not decode: {type(exc).__name__}: {exc}")
    return want.finish(f"decoded {check.frames} frames", "decoded frames")


def verify_packets(
    path: Path,
    episode_lengths: list[int],
    fps: int,
    width: int,
    height: int,
    codec: str | None = None,
    pix_fmt: str | None = None,
    max_problems: int = 20,
) -> VideoCheck:
    """Demux (no decoding) and check what the container and packets tell.

    :func:`verify_video`'s checks where they need no decoder: codec, pixel format and size
    as the stream declares them, one packet with data per frame, the packets' times in
    presentation order (sorted by pts: B-frames come in another decode order) exactly
    ``i / fps``, each episode's packet count (by time range, as frames are counted) and a
    keyframe packet at each episode's start. ``frames`` is the number of packets. A packet
    the decoder would reject passes here: the gate decodes every frame before delivery.
    """
    check = VideoCheck(path=path.name)
    want = _Expected(check, episode_lengths, fps, max_problems)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        want.problem(f"does not open as a video file: {type(exc).__name__}: {exc}")
        return check
    with container:
        stream = want.stream(container, codec, pix_fmt)
        if stream is None:
            return check
        cc = stream.codec_context
        if cc.width != width or cc.height != height:
            want.problem(f"stream is {cc.width}x{cc.height}, expected {width}x{height}")
        timed: list[tuple[int, bool]] = []  # (pts, keyframe) of each packet with data
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream marker
                check.frames += 1
                if packet.pts is None:
                    want.problem(f"packet #{check.frames - 1} in decode order has no timestamp")
                    continue
                timed.append((int(packet.pts), bool(packet.is_keyframe)))
        except (av.FFmpegError, OSError) as exc:
            want.problem(f"does not demux: {type(exc).__name__}: {exc}")
        for i, (pts, keyframe) in enumerate(sorted(timed)):
            want.place("packet", i, pts, stream.time_base, keyframe)
    return want.finish(f"holds {check.frames} packets", "packets")


def read_frames(path: Path, start: int, count: int) -> np.ndarray:
    """Decode frames ``start .. start+count-1`` as ``(count, H, W, 3)`` uint8 RGB."""
    out = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= start + count:
                break
            if i >= start:
                out.append(frame.to_ndarray(format="rgb24"))
    return np.stack(out) if out else np.zeros((0, 0, 0, 3), dtype=np.uint8)
