"""Where a stage's time goes: wall and CPU seconds added up per named step.

A stage reports its clock in its commit summary (``stage_seconds``), so a benchmark or an
operator reads where a run spent its time from the run itself. Steps timed in worker
threads count that thread's CPU time (``thread=True``); steps of the main thread count the
process's (every thread's) CPU time, which is what the machine was busy with meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageClock:
    """Wall and CPU seconds per named step; safe to add to from several threads."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, step: str, thread: bool = False) -> Iterator[None]:
        """Time the ``with`` block as ``step`` (CPU: this thread's with ``thread``, else the
        process's)."""
        cpu = time.thread_time if thread else time.process_time
        w, c = time.perf_counter(), cpu()
        try:
            yield
        finally:
            self.add(step, time.perf_counter() - w, cpu() - c)

    def add(self, step: str, wall_s: float, cpu_s: float) -> None:
        """Add seconds to ``step``."""
        with self._lock:
            self.wall[step] = self.wall.get(step, 0.0) + wall_s
            self.cpu[step] = self.cpu.get(step, 0.0) + cpu_s

    def merge(self, other: dict[str, dict[str, float]]) -> None:
        """Add another clock's :meth:`to_json`."""
        for step, v in other.items():
            self.add(step, float(v["wall_s"]), float(v["cpu_s"]))

    def to_json(self) -> dict[str, dict[str, float]]:
        """``{step: {"wall_s", "cpu_s"}}`` rounded to milliseconds, in the order first timed."""
        with self._lock:
            return {
                s: {"wall_s": round(self.wall[s], 3), "cpu_s": round(self.cpu[s], 3)}
                for s in self.wall
            }
