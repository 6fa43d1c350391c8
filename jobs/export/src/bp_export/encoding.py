"""Video encoding for export: each video key owned by one process, fed episode by episode.

Each video key (camera) is a sequence of files; episodes are appended to the current file
(:class:`bp_dataset.video.VideoEncoder`) and a new file starts at an episode boundary once
the file reaches its size bound, so frame ``i`` of a file is at exactly ``i / fps`` and an
episode's ``from_timestamp`` is the time of its first frame in the file.

:class:`KeyEncoders` holds the encoders of some keys and does the work: for an episode
it loads only its own keys from the episode's local npz (so the decompression of images
is split between processes too), encodes them and returns where the episode landed and
its exact per-channel image statistics. Each file it closes (at a size rollover or at
the end) is decoded at once and checked against the frame counts the caller gave for its
episodes; the caller cross-checks and publishes it, so finished files do not pile up.

:class:`EncoderPool` spreads the keys over worker processes (``python -m
bp_export.encode_worker``) that speak JSON lines over stdin/stdout (no pickle), keeps a
few episodes in flight per worker, and enforces a timeout on every reply. With one
worker it runs :class:`KeyEncoders` in the caller's process.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
from bp_dataset.layout import CHUNKS_SIZE
from bp_dataset.stats import ImageStats
from bp_dataset.video import VideoEncoder, VideoParams, verify_video
from bp_sdk.errors import PermanentError, RetryableError

REPLY_TIMEOUT_S: Final = 1800.0  # one episode's encode (and a file's check) in a worker
INFLIGHT: Final = 3  # episodes handed to a worker before waiting for its reply
_ENV_KEEP: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")


@dataclass
class _Open:
    """The file a key is currently writing."""

    chunk_index: int
    file_index: int
    encoder: VideoEncoder
    episodes: list[int]
    lengths: list[int]


def next_file(chunk_index: int, file_index: int, chunks_size: int = CHUNKS_SIZE) -> tuple[int, int]:
    """LeRobot's file numbering: ``file_index`` counts up to ``chunks_size`` per chunk."""
    if file_index == chunks_size - 1:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


class KeyEncoders:
    """Encoders of some video keys, writing ``<out_dir>/<key>/chunk-XXX/file-XXX.mp4``.

    A file is decoded and checked as soon as it is closed (at a rollover or at the end),
    against the frame counts the caller gave for its episodes; the caller publishes it
    and removes it, so local disk holds one open file per key.
    """

    def __init__(
        self,
        keys: list[str],
        params: VideoParams,
        out_dir: Path,
        max_file_bytes: int,
        chunks_size: int = CHUNKS_SIZE,
    ) -> None:
        self.keys = keys
        self.params = params
        self.out_dir = out_dir
        self.max_file_bytes = max_file_bytes
        self.chunks_size = chunks_size
        self.open: dict[str, _Open] = {}
        self.last: dict[str, tuple[int, int]] = {}  # last file index used per key
        self.closed: list[dict[str, Any]] = []  # closed since the last reply
        self.stats = {k: ImageStats() for k in keys}

    def _path(self, key: str, chunk: int, file: int) -> Path:
        p = self.out_dir / key / f"chunk-{chunk:03d}" / f"file-{file:03d}.mp4"
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def _close(self, key: str) -> None:
        cur = self.open.pop(key)
        cur.encoder.close()
        p = self.params
        check = verify_video(
            cur.encoder.path, cur.lengths, p.fps, p.width, p.height, p.codec_name, p.pix_fmt
        )
        self.closed.append(
            {
                "key": key,
                "chunk_index": cur.chunk_index,
                "file_index": cur.file_index,
                "path": str(cur.encoder.path),
                "episodes": cur.episodes,
                "lengths": cur.lengths,
                "decoded_frames": check.frames,
                "decoded_per_episode": check.per_episode,
                "problems": check.problems,
            }
        )

    def _take_closed(self) -> list[dict[str, Any]]:
        out, self.closed = self.closed, []
        return out

    def _current(self, key: str) -> _Open:
        """The key's open file, rolling over to a new one past the size bound."""
        cur = self.open.get(key)
        if cur is not None and cur.encoder.size() >= self.max_file_bytes:
            self._close(key)
            cur = None
        if cur is None:
            last = self.last.get(key)
            chunk, file = next_file(*last, self.chunks_size) if last else (0, 0)
            self.last[key] = (chunk, file)
            enc = VideoEncoder(self._path(key, chunk, file), self.params)
            cur = self.open[key] = _Open(chunk, file, enc, [], [])
        return cur

    def episode(self, index: int, npz: str, frames: int) -> dict[str, Any]:
        """Encode one episode's frames of every key: where it landed, its image stats, and
        the files closed (and checked) meanwhile."""
        videos: dict[str, Any] = {}
        stats: dict[str, Any] = {}
        fps = self.params.fps
        with np.load(npz, allow_pickle=False) as data:
            for key in self.keys:
                images = data[key]
                if images.shape[0] != frames:
                    raise PermanentError(
                        f"episode {index}: {key} has {images.shape[0]} frames, expected {frames}"
                    )
                cur = self._current(key)
                start = cur.encoder.frames
                cur.encoder.add_episode(images)
                cur.episodes.append(index)
                cur.lengths.append(frames)
                videos[key] = {
                    "chunk_index": cur.chunk_index,
                    "file_index": cur.file_index,
                    "from_timestamp": start / fps,
                    "to_timestamp": (start + frames) / fps,
                }
                ep = ImageStats()
                ep.update(images)
                self.stats[key].merge(ep)
                stats[key] = ep.result()
                del images
        return {"index": index, "videos": videos, "stats": stats, "closed": self._take_closed()}

    def finish(self) -> dict[str, Any]:
        """Close (and check) every open file; those files and the dataset image statistics."""
        for key in list(self.open):
            self._close(key)
        return {
            "closed": self._take_closed(),
            "stats": {k: v.to_json() for k, v in self.stats.items()},
        }

    def abort(self) -> None:
        """Close everything on an error path."""
        for cur in self.open.values():
            cur.encoder.abort()
        self.open.clear()


def handle(
    state: KeyEncoders | None, msg: dict[str, Any]
) -> tuple[KeyEncoders | None, dict[str, Any]]:
    """One request of the worker protocol → (new state, reply)."""
    op = msg.get("op")
    if op == "start":
        params = VideoParams(**msg["params"])
        new = KeyEncoders(
            list(msg["keys"]),
            params,
            Path(msg["out_dir"]),
            int(msg["max_file_bytes"]),
            int(msg.get("chunks_size", CHUNKS_SIZE)),
        )
        return new, {"ok": True, "op": "start"}
    if state is None:
        raise ValueError(f"request {op!r} before start")
    if op == "episode":
        return state, {
            "ok": True,
            "op": "episode",
            **state.episode(int(msg["index"]), str(msg["npz"]), int(msg["frames"])),
        }
    if op == "finish":
        return state, {"ok": True, "op": "finish", **state.finish()}
    raise ValueError(f"unknown request {op!r}")


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, keys: list[str], spool: Path, n: int) -> None:
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env["SVT_LOG"] = "1"  # SVT-AV1: errors only
        self.keys = keys
        self.stderr_path = spool / f"encoder-{n}.log"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bp_export.encode_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        if self.proc.stdin is None or self.proc.stdout is None:  # pragma: no cover - PIPE given
            raise RetryableError("could not open pipes to a video encoder process")
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.pending: list[int] = []
        self.buf = b""

    def send(self, msg: dict[str, Any]) -> None:
        try:
            self.stdin.write(json.dumps(msg).encode() + b"\n")
            self.stdin.flush()
        except (BrokenPipeError, OSError):
            raise RetryableError(f"video encoder process exited early{self.tail()}") from None

    def tail(self) -> str:
        try:
            text = self.stderr_path.read_bytes()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("Svt[")]
        return (": " + " | ".join(lines[-5:])) if lines else ""

    def receive(self, timeout_s: float, cancelled: Callable[[], None]) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        sel = selectors.DefaultSelector()
        sel.register(self.stdout, selectors.EVENT_READ)
        try:
            while b"\n" not in self.buf:
                cancelled()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RetryableError(f"video encoder gave no reply within {timeout_s:.0f} s")
                if sel.select(timeout=min(left, 1.0)):
                    chunk = os.read(self.stdout.fileno(), 1 << 16)
                    if not chunk:
                        raise RetryableError(f"video encoder process exited early{self.tail()}")
                    self.buf += chunk
        finally:
            sel.close()
        line, self.buf = self.buf.split(b"\n", 1)
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise PermanentError(f"video encoding failed: {reply.get('error', 'unknown error')}")
        return reply

    def close(self, timeout_s: float = 30.0) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout_s)
        self.stdout.close()
        self._stderr.close()


class EncoderPool:
    """The video keys spread over ``workers`` processes (in-process when ``workers`` is 1)."""

    def __init__(
        self,
        keys: list[str],
        params: VideoParams,
        out_dir: Path,
        max_file_bytes: int,
        workers: int,
        cancelled: Callable[[], None] = lambda: None,
    ) -> None:
        self.cancelled = cancelled
        self.results: dict[int, dict[str, Any]] = {}
        self.closed: list[dict[str, Any]] = []  # files closed and checked, not yet taken
        self.local: KeyEncoders | None = None
        self.workers: list[_Worker] = []
        self._spool = Path(tempfile.mkdtemp(prefix="bp-encoders-"))
        n = max(1, min(workers, len(keys)))
        if workers <= 1:
            self.local = KeyEncoders(keys, params, out_dir, max_file_bytes)
            return
        groups = [keys[i::n] for i in range(n)]
        start = {
            "op": "start",
            "params": asdict(params),
            "out_dir": str(out_dir),
            "max_file_bytes": max_file_bytes,
        }
        for i, group in enumerate(groups):
            w = _Worker(group, self._spool, i)
            self.workers.append(w)
            w.send({**start, "keys": group})
        for w in self.workers:
            w.receive(120.0, cancelled)

    def submit(self, index: int, npz: str, frames: int) -> None:
        """Hand one episode to every encoder (blocking while too many are in flight)."""
        if self.local is not None:
            self._merge(self.local.episode(index, npz, frames))
            return
        for w in self.workers:
            while len(w.pending) >= INFLIGHT:
                self._take(w)
            w.send({"op": "episode", "index": index, "npz": npz, "frames": frames})
            w.pending.append(index)

    def done_with(self, index: int) -> bool:
        """True once every encoder has finished the episode (its npz may be deleted)."""
        return all(index not in w.pending for w in self.workers)

    def poll(self) -> None:
        """Collect replies that are already there, without waiting."""
        for w in self.workers:
            while w.pending and self._ready(w):
                self._take(w)

    def _ready(self, w: _Worker) -> bool:
        if b"\n" in w.buf:
            return True
        sel = selectors.DefaultSelector()
        sel.register(w.stdout, selectors.EVENT_READ)
        try:
            return bool(sel.select(timeout=0))
        finally:
            sel.close()

    def _take(self, w: _Worker) -> None:
        reply = w.receive(REPLY_TIMEOUT_S, self.cancelled)
        index = int(reply["index"])
        w.pending.remove(index)
        self._merge(reply)

    def _merge(self, reply: dict[str, Any]) -> None:
        entry = self.results.setdefault(int(reply["index"]), {"videos": {}, "stats": {}})
        entry["videos"].update(reply["videos"])
        entry["stats"].update(reply["stats"])
        self.closed.extend(reply["closed"])

    def take_closed(self) -> list[dict[str, Any]]:
        """Files closed (and decoded and checked by their encoder) since the last call."""
        out, self.closed = self.closed, []
        return out

    def finish(self) -> dict[str, ImageStats]:
        """Drain, close (and check) every file; the dataset image statistics per key.
        The last files are then in :meth:`take_closed`."""
        stats: dict[str, ImageStats] = {}
        replies = []
        if self.local is not None:
            replies.append(self.local.finish())
        for w in self.workers:
            while w.pending:
                self._take(w)
            w.send({"op": "finish"})
        for w in self.workers:
            replies.append(w.receive(REPLY_TIMEOUT_S, self.cancelled))
        for r in replies:
            self.closed.extend(r["closed"])
            stats.update({k: ImageStats.from_json(v) for k, v in r["stats"].items()})
        return stats

    def close(self) -> None:
        """Stop the workers and remove their logs."""
        if self.local is not None:
            self.local.abort()
        for w in self.workers:
            w.close()
        for p in self._spool.glob("*"):
            p.unlink(missing_ok=True)
        self._spool.rmdir()
