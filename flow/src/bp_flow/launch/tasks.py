"""The task loop shared by the subprocess and Docker launchers.

Every task of an execution starts at once (as Cloud Run starts them, parallelism
permitting); a task that exits non-zero is started again with the next
``CLOUD_RUN_TASK_ATTEMPT`` until ``max_retries`` is spent; a task that outlives its
timeout gets SIGTERM, then SIGKILL. :meth:`cancel` stops everything that runs.
"""

from __future__ import annotations

import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bp_flow.launch.base import (
    Capture,
    JobRun,
    TaskEvents,
    TaskOutcome,
    exit_code,
    stop,
)

DEFAULT_TASK_TIMEOUT_S = 3600.0


class TaskLauncher(ABC):
    """Runs tasks as local processes; subclasses say which command and environment."""

    def __init__(
        self,
        base_env: Mapping[str, str],
        *,
        log_dir: Path | None = None,
        events: TaskEvents | None = None,
        max_retries: int = 0,
        parallelism: int | None = None,
    ) -> None:
        self.base_env = dict(base_env)
        self.log_dir = log_dir
        self.events = events or TaskEvents()
        self.max_retries = max_retries
        self.parallelism = parallelism
        self._live: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    @abstractmethod
    def command(self, run: JobRun, index: int, attempt: int) -> tuple[list[str], dict[str, str]]:
        """argv and process environment of one task attempt."""

    def after_kill(self, run: JobRun, index: int, attempt: int) -> None:  # noqa: B027 - optional hook
        """Called when a task had to be killed (the Docker launcher removes its container)."""

    def job_env(self, run: JobRun, extra: Mapping[str, str]) -> dict[str, str]:
        """The job's settings: base (what Terraform sets on the job) + overrides + Cloud Run's."""
        env = dict(self.base_env)
        env.update(run.overrides)
        env.update(extra)
        return env

    def launch(self, run: JobRun) -> list[TaskOutcome]:
        """Run every task (with retries) and return their outcomes in index order."""
        workers = max(1, min(run.task_count, self.parallelism or run.task_count))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"task-{run.job}") as pool:
            return list(pool.map(lambda i: self._task(run, i), range(run.task_count)))

    def cancel(self) -> None:
        """Stop every running task and start no more."""
        self._cancelled.set()
        with self._lock:
            live = list(self._live.values())
        for proc in live:
            stop(proc)

    def _log_path(self, run: JobRun, index: int) -> Path | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        suffix = f"-task{index}" if run.task_count > 1 else ""
        return self.log_dir / f"{run.execution}{suffix}.log"

    def _task(self, run: JobRun, index: int) -> TaskOutcome:
        started = time.monotonic()
        log = self._log_path(run, index)
        attempt, code = 0, 1
        while True:
            if self._cancelled.is_set():
                code = 130
                break
            code = self._attempt(run, index, attempt, log)
            if code == 0 or attempt >= self.max_retries:
                break
            attempt += 1
        return TaskOutcome(index, code, attempt + 1, time.monotonic() - started, log)

    def _attempt(self, run: JobRun, index: int, attempt: int, log: Path | None) -> int:
        argv, env = self.command(run, index, attempt)
        if self.events.on_start is not None:
            self.events.on_start(run, index, attempt)
        proc = subprocess.Popen(  # noqa: S603 - our own job entry point or the docker CLI, no shell
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches bp, which stops the tasks itself
        )
        capture = Capture(run, index, attempt, log, self.events)
        if proc.stdout is not None:
            capture.start(proc.stdout)
        with self._lock:
            self._live[(run.execution, index)] = proc
        timeout = run.task_timeout_s or DEFAULT_TASK_TIMEOUT_S
        try:
            code = exit_code(proc.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            code = stop(proc)
            self.after_kill(run, index, attempt)
        finally:
            with self._lock:
                self._live.pop((run.execution, index), None)
        capture.join()
        if self.events.on_end is not None:
            self.events.on_end(run, index, attempt, code)
        return code
