"""The batched runner's large streams (camera images), deflated by processes on every core
as each control step records them (:mod:`.deflate_worker`), so the host holds each running
episode's frames compressed (~7× smaller at level 1) and the deflating runs beside the next
step's physics and rendering without taking the runner's GIL.

At 4,096 worlds, two cameras at 128² and ~260-frame episodes, whole raw episodes would need
~60 GB of host memory at any moment; deflated as they come, ~9 GB spread over the processes.

Each world belongs to one process (``world % processes``), which keeps a
:class:`~bp_episodes.data_file.StreamDeflater` per stream of it. A step's frames of one
stream go to a raw slot file in the spool folder (one memory copy) and each process is told
which rows are its worlds'; slot files alternate between two per stream, and before a step
rewrites the files of two steps ago every process has answered the requests that read them.
When a world's episode ends, its process writes the finished members to a file the runner
reads back (:class:`~bp_episodes.data_file.Member`).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import numpy as np
from bp_sdk.clock import StageClock
from bp_sdk.errors import PermanentError, RetryableError
from bp_sdk.spool import make_spool, remove_spool
from bp_sdk.workers import WorkerProcess
from numpy.typing import NDArray

from bp_episodes.data_file import Member

I64 = NDArray[np.int64]
MIN_FRAME_BYTES = 4096  # frames at least this large are deflated as they come (images)
MODULE = "bp_episodes.batched.deflate_worker"
TIMEOUT_S = 600.0  # one reply of a deflater (a start-up, a step's frames, an episode's end)
WAIT_STEP = "wait for the deflaters"
SLOT_STEP = "frames to the deflaters (slot files)"


class WorldDeflaters:
    """Deflater processes for the large streams of ``num_worlds`` worlds."""

    def __init__(self, num_worlds: int, level: int, processes: int, clock: StageClock) -> None:
        self.clock = clock
        self.spool = make_spool("episodes-deflate")
        self.workers: list[WorkerProcess] = []
        try:
            for i in range(max(min(processes, num_worlds), 1)):
                log = self.spool / f"deflater-{i}.log"
                self.workers.append(WorkerProcess(MODULE, log, "frame deflater"))
        except BaseException:
            self.close()
            raise
        n = len(self.workers)
        self.sent, self.received = [0] * n, [0] * n
        self.mark: list[int] | None = None  # requests sent before the last step began
        self.parity = 0
        self.ended = 0
        for i in range(n):
            self._send(i, {"op": "start", "level": level})

    @staticmethod
    def takes(values: NDArray[Any]) -> bool:
        """Whether frames like ``values[0]`` are deflated as they come."""
        return bool(values.shape[0]) and values[0].nbytes >= MIN_FRAME_BYTES

    def next_step(self) -> None:
        """A control step begins: the slot files it will write were read two steps ago, and
        every request of that step is answered first."""
        if self.mark is not None:
            with self.clock(WAIT_STEP):
                for i, target in enumerate(self.mark):
                    self._drain(i, target)
        self.mark = list(self.sent)
        self.parity ^= 1

    def write(self, key: str, rows: I64, frame: I64, values: NDArray[Any]) -> None:
        """Frame ``frame[i]`` of ``key`` for world ``rows[i]``, sent to its world's process."""
        path = self.spool / f"{re.sub(r'[^A-Za-z0-9._-]', '_', key)}-{self.parity}.raw"
        array = np.ascontiguousarray(values)
        with self.clock(SLOT_STEP):
            array.tofile(path)
        owner = rows % len(self.workers)
        for i in range(len(self.workers)):
            mine = np.flatnonzero(owner == i)
            if mine.size:
                take = np.stack([mine, rows[mine], frame[mine]], axis=1).tolist()
                msg = {"op": "frames", "file": str(path), "key": key, "take": take}
                msg.update(dtype=array.dtype.str, shape=list(array.shape))
                self._send(i, msg)

    def take(self, world: int) -> dict[str, Member]:
        """World ``world``'s finished streams (its process has deflated every frame sent)."""
        i = world % len(self.workers)
        out = self.spool / f"episode-{self.ended}.bin"
        self.ended += 1
        self._send(i, {"op": "finish", "world": world, "out": str(out)})
        with self.clock(WAIT_STEP):
            reply = self._drain(i, self.sent[i])
        data = out.read_bytes()
        out.unlink()
        members = {}
        for m in reply["members"]:
            blob = data[m["offset"] : m["offset"] + m["length"]]
            shape = tuple(int(x) for x in m["shape"])
            key = str(m["key"])
            members[key] = Member(
                f"{key}.npy", blob, m["crc"], m["size"], m["method"], m["dtype"], shape
            )
        return members

    def forget(self, world: int) -> None:
        """Drop world ``world``'s streams (its episode ends without data)."""
        self._send(world % len(self.workers), {"op": "finish", "world": world, "out": None})

    def close(self) -> None:
        """Add the processes' deflating time to the clock, end them, remove the spool folder."""
        try:
            with contextlib.suppress(RetryableError, PermanentError):  # best effort: timing
                for i, w in enumerate(self.workers):
                    if w.proc.poll() is None:
                        self._send(i, {"op": "clock"})
                        self.clock.merge(self._drain(i, self.sent[i]).get("clock", {}))
        finally:
            for w in self.workers:
                w.close()
            remove_spool(self.spool)

    def _send(self, i: int, msg: dict[str, Any]) -> None:
        self.workers[i].send(msg)
        self.sent[i] += 1

    def _drain(self, i: int, target: int) -> dict[str, Any]:
        """Read worker ``i``'s replies up to request ``target``; the last one read."""
        reply: dict[str, Any] = {}
        while self.received[i] < target:
            reply = self.workers[i].receive(TIMEOUT_S)
            self.received[i] += 1
        return reply
