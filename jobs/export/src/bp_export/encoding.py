"""Video encoding for export: episodes encoded in parallel, appended to files in order.

Each video key (camera) is a sequence of files; episodes are appended to the current file
(:class:`bp_dataset.video.VideoEncoder`) and a new file starts at an episode boundary once
the file reaches its size bound, so frame ``i`` of a file is at exactly ``i / fps`` and an
episode's ``from_timestamp`` is the time of its first frame in the file.

:class:`EncoderPool` hands out jobs (:mod:`bp_export.encode_worker`): every (episode, key)
is an ``encode`` job, done by whichever worker process is least busy (``EXPORT_WORKERS``
processes, however many cameras there are: a camera that costs more does not hold up the
others, and a machine with more cores than cameras uses them). A worker reads only its
key's images from the episode's local npz (one inflate; the job's process never
decompresses an image), encodes them with a fresh encoder, and returns the packets (a
spool file), the episode's exact per-channel image statistics and, when asked, its middle
frame for the card. The pool appends each key's episodes to its file in episode order as
their packets arrive, so the bytes do not depend on which worker encoded what, nor on how
many there are. Each file it closes (at a size rollover or at the end) becomes a
``verify`` job: its packets are checked against the frame counts of its episodes (no
decoding; the gate decodes every frame before anything is delivered); closed files are
handed to the caller in order (:meth:`EncoderPool.take_closed`), which cross-checks and
publishes them, so finished files do not pile up.

Workers speak JSON lines over stdin/stdout (no pickle), each holds at most
:data:`INFLIGHT` jobs, every reply has a timeout, and workers start without being waited
for: the ``bp-export`` command starts them before it imports the stage (:func:`prestart`),
so their imports overlap the job's. With one worker the jobs run in the caller's process.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from bp_dataset.layout import CHUNKS_SIZE
from bp_dataset.stats import ImageStats
from bp_dataset.video import VideoEncoder, VideoParams
from bp_sdk.clock import StageClock
from bp_sdk.errors import PermanentError, RetryableError
from bp_sdk.spool import make_spool, remove_spool
from bp_sdk.workers import WorkerProcess

from bp_export.encode_worker import Jobs, handle
from bp_export.frames import read_packets

REPLY_TIMEOUT_S: Final = 1800.0  # one job (an episode's encode, a file's check) in a worker
START_TIMEOUT_S: Final = 120.0  # a worker's start-up (imports) until its first reply
INFLIGHT: Final = 2  # jobs handed to a worker before waiting: one running, one queued
WAIT: Final = "wait for encoders"
_SPARE: list[tuple[Path, list[WorkerProcess]]] = []  # processes started by prestart, not yet used


@dataclass
class _Open:
    """The file a key is currently writing."""

    chunk_index: int
    file_index: int
    encoder: VideoEncoder
    episodes: list[int]
    lengths: list[int]


@dataclass
class _KeyFiles:
    """One video key: its open file, numbering, episodes waiting their turn, closed files."""

    open: _Open | None = None
    last: tuple[int, int] | None = None  # last (chunk, file) used
    next: int = 0  # the episode to append next
    ready: dict[int, dict[str, Any]] = field(default_factory=dict)  # encoded, not yet appended
    closing: list[dict[str, Any]] = field(default_factory=list)  # closed, in order


def next_file(chunk_index: int, file_index: int, chunks_size: int = CHUNKS_SIZE) -> tuple[int, int]:
    """LeRobot's file numbering: ``file_index`` counts up to ``chunks_size`` per chunk."""
    if file_index == chunks_size - 1:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


def _encoder(spool: Path, n: int) -> WorkerProcess:
    """One video encoder process (its stderr in the spool folder; SVT-AV1 says errors only)."""
    return WorkerProcess(
        "bp_export.encode_worker",
        spool / f"encoder-{n}.log",
        "video encoder",
        env={"SVT_LOG": "1"},
        noise=("Svt[",),
        failed="video encoding failed",
    )


def prestart(workers: int) -> None:
    """Start ``workers`` encoder processes now; the next pool takes them (see :func:`drop_spares`)."""
    if workers > 1 and not _SPARE:
        spool = make_spool("encoders")
        _SPARE.append((spool, [_encoder(spool, i) for i in range(workers)]))


def drop_spares() -> None:
    """Stop processes that :func:`prestart` started and no pool took."""
    while _SPARE:
        spool, workers = _SPARE.pop()
        for w in workers:
            w.close()
        remove_spool(spool)


class EncoderPool:
    """The video files of ``keys``, encoded by ``workers`` processes (1: in this process)."""

    def __init__(
        self,
        keys: list[str],
        params: VideoParams,
        out_dir: Path,
        max_file_bytes: int,
        workers: int,
        cancelled: Callable[[], None] = lambda: None,
        clock: StageClock | None = None,
        chunks_size: int = CHUNKS_SIZE,
    ) -> None:
        self.keys = list(keys)
        self.params = params
        self.out_dir = out_dir
        self.max_file_bytes = max_file_bytes
        self.chunks_size = chunks_size
        self.cancelled = cancelled
        self.clock = clock if clock is not None else StageClock()  # the caller's steps
        self.encoder_clock = StageClock()  # the encoders' steps, summed over processes
        self.results: dict[int, dict[str, Any]] = {}
        self.stats = {k: ImageStats() for k in self.keys}
        self.files = {k: _KeyFiles() for k in self.keys}
        self.outstanding: dict[int, int] = {}  # episode → its encode jobs not yet answered
        self.verifying: dict[str, dict[str, Any]] = {}  # path → its closed-file entry
        self.local: Jobs | None = None
        self.workers: list[WorkerProcess] = []
        if workers > 1 and _SPARE:
            self._spool, self.workers = _SPARE.pop()
            for w in self.workers[workers:]:
                w.close()
            del self.workers[workers:]
        else:
            self._spool = make_spool("encoders")
        if workers <= 1:
            self.local = Jobs(params, self._spool)
            return
        while len(self.workers) < workers:
            self.workers.append(_encoder(self._spool, len(self.workers)))
        start = {"op": "start", "params": asdict(params), "spool": str(self._spool)}
        for w in self.workers:
            w.send(start)  # answered before its first job's reply

    # ------------------------------------------------------------------ jobs
    def submit(
        self,
        index: int,
        npz: str,
        frames: int,
        sample: bool = False,
        images: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Hand one episode to the encoders, a job per key (waits while every worker is full)."""
        # sample: also return its middle frames (results[index]["samples"]); images: frames the
        # caller decoded already (robomimic) go over as raw .npy files, never inflated twice
        self.outstanding[index] = len(self.keys)
        self.results.setdefault(index, {"videos": {}, "stats": {}, "samples": {}})
        for key in self.keys:
            job = {"op": "encode", "index": index, "key": key, "npz": npz, "frames": frames}
            if images is not None:
                raw = self._spool / f"{key}-{index:06d}.npy"
                with self.clock("raw frames for the encoders"):
                    np.save(raw, images[key], allow_pickle=False)
                job["raw"] = str(raw)
            self._run({**job, "sample": sample})

    def _run(self, msg: dict[str, Any]) -> None:
        """Do a job here, or give it to the least busy worker (waiting while all are full)."""
        if self.local is not None:
            _, reply = handle(self.local, msg)
            self._on_reply(reply)
            return
        while (w := min(self.workers, key=lambda w: w.jobs)).jobs >= INFLIGHT:
            self._wait_any()
        w.send(msg)

    def _on_reply(self, reply: dict[str, Any]) -> None:
        if reply["op"] == "verify":
            self.verifying.pop(reply["path"]).update(
                {k: reply[k] for k in ("packet_count", "packets_per_episode", "problems")}
            )
            return
        if reply["op"] != "encode":
            return  # a start reply
        index, key = int(reply["index"]), str(reply["key"])
        if reply.get("raw"):
            Path(reply["raw"]).unlink(missing_ok=True)
        self.outstanding[index] -= 1
        if not self.outstanding[index]:
            del self.outstanding[index]
        entry = self.results[index]
        entry["stats"][key] = reply["stats"]
        if "sample" in reply:
            entry["samples"][key] = reply["sample"]
        self.stats[key].add_counts(np.asarray(reply["counts"]), int(reply["frames"]))
        self.files[key].ready[index] = reply
        self._append_ready(key)

    def _append_ready(self, key: str) -> None:
        """Append the key's encoded episodes that are next in order to its file."""
        kf = self.files[key]
        fps = self.params.fps
        while kf.next in kf.ready:
            reply = kf.ready.pop(kf.next)
            frames = int(reply["frames"])
            cur = self._current(key)
            start = cur.encoder.frames
            with self.clock("video mux (append packets to the mp4)"):
                packets = Path(reply["packets"])
                header = bytes.fromhex(reply["header"]) if reply["header"] else None
                try:
                    cur.encoder.add_packets(read_packets(packets), frames, header)
                except RuntimeError as exc:
                    raise PermanentError(f"video encoding failed: {exc}") from None
                packets.unlink()
            cur.episodes.append(kf.next)
            cur.lengths.append(frames)
            self.results[kf.next]["videos"][key] = {
                "chunk_index": cur.chunk_index,
                "file_index": cur.file_index,
                "from_timestamp": start / fps,
                "to_timestamp": (start + frames) / fps,
            }
            kf.next += 1

    def _current(self, key: str) -> _Open:
        """The key's open file, rolling over to a new one past the size bound."""
        kf = self.files[key]
        if kf.open is not None and kf.open.encoder.size() >= self.max_file_bytes:
            self._close(key)
        if kf.open is None:
            chunk, file = next_file(*kf.last, self.chunks_size) if kf.last else (0, 0)
            kf.last = (chunk, file)
            path = self.out_dir / key / f"chunk-{chunk:03d}" / f"file-{file:03d}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            kf.open = _Open(chunk, file, VideoEncoder(path, self.params), [], [])
        return kf.open

    def _close(self, key: str) -> None:
        """Finish the key's open file and have it checked (a verify job)."""
        kf = self.files[key]
        cur = kf.open
        if cur is None:
            return
        kf.open = None
        with self.clock("video mux (append packets to the mp4)"):
            cur.encoder.close()
        path = str(cur.encoder.path)
        entry = {
            "key": key,
            "chunk_index": cur.chunk_index,
            "file_index": cur.file_index,
            "path": path,
            "episodes": cur.episodes,
            "lengths": cur.lengths,
        }
        kf.closing.append(entry)
        self.verifying[path] = entry
        self._run({"op": "verify", "path": path, "lengths": cur.lengths})

    # ------------------------------------------------------------------ replies
    def _receive_one(self, w: WorkerProcess) -> None:
        with self.clock(WAIT):
            reply = w.receive(REPLY_TIMEOUT_S, self.cancelled)
        self._on_reply(reply)

    def _wait_any(self) -> None:
        """Wait until some worker has answered, and take every reply that is there."""
        busy = [w for w in self.workers if w.jobs]
        if not busy:
            return
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while not (ready := [w for w in busy if w.ready()]):
            self.cancelled()
            if time.monotonic() > deadline:
                raise RetryableError(f"video encoders gave no reply within {REPLY_TIMEOUT_S:.0f} s")
            with self.clock(WAIT):
                sel = selectors.DefaultSelector()
                for w in busy:
                    sel.register(w.stdout, selectors.EVENT_READ)
                try:
                    sel.select(timeout=1.0)
                finally:
                    sel.close()
        for w in ready:
            self._receive_one(w)

    def poll(self) -> None:
        """Take the replies that are already there, without waiting."""
        for w in self.workers:
            while w.jobs and w.ready():
                self._receive_one(w)

    def done_with(self, index: int) -> bool:
        """True once every encode job of the episode is answered (its npz may be deleted)."""
        return index not in self.outstanding

    def take_closed(self) -> list[dict[str, Any]]:
        """Files closed and checked since the last call (per key in order)."""
        out = []
        for key in self.keys:
            closing = self.files[key].closing
            while closing and "problems" in closing[0]:
                out.append(closing.pop(0))
        return out

    def finish(self) -> dict[str, ImageStats]:
        """Wait for every encode, close and check every file; the dataset image statistics."""
        while self.outstanding:
            if not any(w.jobs for w in self.workers):
                raise PermanentError(f"video encoding lost episodes: {sorted(self.outstanding)}")
            self._wait_any()
        for key in self.keys:
            self._close(key)
        while any(w.jobs for w in self.workers):
            self._wait_any()
        for w in self.workers:
            w.send({"op": "finish"})
        for w in self.workers:
            with self.clock(WAIT):
                self.encoder_clock.merge(w.receive(REPLY_TIMEOUT_S, self.cancelled)["clock"])
        if self.local is not None:
            self.encoder_clock.merge(self.local.clock.to_json())
        waiting = {k: sorted(kf.ready) for k, kf in self.files.items() if kf.ready}
        if self.outstanding or waiting:
            raise PermanentError(f"video encoding lost episodes: {waiting or self.outstanding}")
        return self.stats

    def close(self) -> None:
        """Stop the workers, drop open files and the spool (after finish, or on an error path)."""
        for kf in self.files.values():
            if kf.open is not None:
                kf.open.encoder.abort()
                kf.open = None
        for w in self.workers:
            w.close()
        remove_spool(self._spool)
