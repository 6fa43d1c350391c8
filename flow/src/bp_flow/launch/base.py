"""Running a job's tasks locally: what a launcher is given, what it returns, and the
log capture every launcher shares.

A launcher plays Cloud Run's part for ``jobs.run``: it starts ``task_count`` task
processes (or containers) with the job's environment, the overrides, and the
``CLOUD_RUN_*`` variables Cloud Run sets, re-runs a failed task up to ``max_retries``
times (``CLOUD_RUN_TASK_ATTEMPT`` counting up), and reports how each task ended.
Task output is captured line by line into a log file per task; JSON lines (the jobs'
Cloud Logging format) are parsed and handed to an observer, which is how ``bp run``
shows progress.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

TERM_GRACE_S = 15.0


@dataclass(frozen=True)
class JobRun:
    """One execution of a job as ``jobs.run`` asked for it."""

    job: str  # the Cloud Run job id, e.g. bp-episodes
    stage: str  # the pipeline stage the job runs
    execution: str  # execution id (attempt folders are named after it)
    overrides: Mapping[str, str]  # containerOverrides[0].env
    task_count: int = 1
    task_timeout_s: float | None = None


@dataclass(frozen=True)
class TaskOutcome:
    """How one task ended after its retries."""

    index: int
    exit_code: int
    attempts: int
    seconds: float
    log: Path | None = None


@dataclass(frozen=True)
class TaskLine:
    """One line a task printed; ``record`` is the parsed JSON log record, if it was one."""

    run: JobRun
    index: int
    attempt: int
    text: str
    record: dict[str, Any] | None


class Launcher(Protocol):
    """Runs every task of a job execution and waits for them."""

    def launch(self, run: JobRun) -> list[TaskOutcome]:
        """Start the tasks, wait, and return one outcome per task index."""

    def cancel(self) -> None:
        """Terminate running tasks (SIGTERM, then kill after a grace period)."""


@dataclass
class TaskEvents:
    """Callbacks a launcher calls (all optional, called from launcher threads)."""

    on_start: Callable[[JobRun, int, int], None] | None = None  # run, index, attempt
    on_line: Callable[[TaskLine], None] | None = None
    on_end: Callable[[JobRun, int, int, int], None] | None = None  # run, index, attempt, exit


def cloud_run_env(run: JobRun, index: int, attempt: int) -> dict[str, str]:
    """The variables Cloud Run sets in every task."""
    return {
        "CLOUD_RUN_JOB": run.job,
        "CLOUD_RUN_EXECUTION": run.execution,
        "CLOUD_RUN_TASK_INDEX": str(index),
        "CLOUD_RUN_TASK_COUNT": str(run.task_count),
        "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
    }


def parse_line(text: str) -> dict[str, Any] | None:
    """The JSON log record on a line, or None."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class Capture:
    """Copies a task's output to its log file and to the observer, on a thread."""

    run: JobRun
    index: int
    attempt: int
    log_path: Path | None
    events: TaskEvents
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self, stream: IO[bytes]) -> None:
        """Start reading ``stream`` until it closes."""
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        sink = self.log_path.open("ab") if self.log_path is not None else None
        try:
            for raw in iter(stream.readline, b""):
                if sink is not None:
                    sink.write(raw)
                    sink.flush()
                if self.events.on_line is not None:
                    text = raw.decode("utf-8", errors="replace").rstrip("\n")
                    self.events.on_line(
                        TaskLine(self.run, self.index, self.attempt, text, parse_line(text))
                    )
        finally:
            if sink is not None:
                sink.close()
            stream.close()

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the output to be drained."""
        if self._thread is not None:
            self._thread.join(timeout)


def stop(proc: subprocess.Popen[bytes], grace_s: float = TERM_GRACE_S) -> int:
    """SIGTERM (Cloud Run's timeout signal), then SIGKILL after ``grace_s``; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace_s)
    return exit_code(proc.returncode)


def exit_code(code: int | None) -> int:
    """A shell-style exit code (a signal N becomes 128+N)."""
    if code is None:
        return 1
    return code if code >= 0 else 128 - code
