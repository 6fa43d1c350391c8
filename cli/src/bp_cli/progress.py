"""Live progress of a local workflow run: one line per stage, and per shard for sharded
stages (episodes done/total, successes so far, an ETA).

State comes from the launcher's task events: a task starting, every JSON log line it
prints (``progress`` records, errors, "already committed" skips), and its exit. On a
terminal it is a live table; elsewhere (CI logs, pipes) it prints a line per change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bp_flow.launch.base import JobRun, TaskEvents, TaskLine
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

LINE_EVERY_S = 10.0


@dataclass
class TaskState:
    """One task (shard) of the current execution of a stage."""

    started: float
    status: str = "running"
    done: int = 0
    total: int | None = None
    succeeded: int | None = None
    last_line: float = 0.0

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first item)."""
        if not self.total or not self.done or self.done >= self.total or self.status != "running":
            return None
        rate = self.done / max(1e-6, time.monotonic() - self.started)
        return (self.total - self.done) / rate

    def detail(self) -> str:
        """``3/5 episodes · 2 ok · ETA 0:40``."""
        if self.total is None:
            return ""
        parts = [f"{self.done}/{self.total}"]
        if self.succeeded is not None:
            parts.append(f"{self.succeeded} ok")
        eta = self.eta_s()
        if eta is not None:
            parts.append(f"ETA {_clock(eta)}")
        return " · ".join(parts)


@dataclass
class StageState:
    """A stage across its executions (the workflow may retry it)."""

    name: str
    status: str = "pending"
    executions: int = 0
    execution: str = ""
    started: float | None = None
    ended: float | None = None
    skipped: bool = False
    error: str = ""
    tasks: dict[int, TaskState] = field(default_factory=dict)

    def seconds(self) -> float | None:
        """Wall time of the stage so far (all executions)."""
        if self.started is None:
            return None
        return (self.ended or time.monotonic()) - self.started


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds + 0.5), 60)
    return f"{m}:{s:02d}"


class RunProgress:
    """Collects task events and shows them."""

    def __init__(
        self, console: Console, stages: list[str], key: Callable[[JobRun], str] | None = None
    ) -> None:
        self.console = console
        self.stages = {s: StageState(s) for s in stages}
        self.key = key or (lambda run: run.stage)
        self.lock = threading.Lock()
        self.live: Live | None = None
        self.interactive = console.is_terminal

    # ------------------------------------------------------------------ events
    def events(self) -> TaskEvents:
        """Callbacks for the launcher."""
        return TaskEvents(on_start=self.on_start, on_line=self.on_line, on_end=self.on_end)

    def _stage(self, name: str) -> StageState:
        if name not in self.stages:
            self.stages[name] = StageState(name)
        return self.stages[name]

    def on_start(self, run: JobRun, index: int, attempt: int) -> None:
        """A task (attempt) started."""
        with self.lock:
            st = self._stage(self.key(run))
            if st.execution != run.execution:
                st.execution, st.executions, st.tasks = run.execution, st.executions + 1, {}
                st.started = st.started or time.monotonic()
                st.status, st.ended, st.skipped = "running", None, False
                again = f" (attempt {st.executions})" if st.executions > 1 else ""
                self._say(f"▶ {st.name} started{again}: {run.task_count} task(s)")
            st.tasks[index] = TaskState(time.monotonic())

    def on_line(self, line: TaskLine) -> None:
        """A line a task printed."""
        rec = line.record
        if rec is None:
            return
        with self.lock:
            st = self._stage(self.key(line.run))
            task = st.tasks.get(line.index)
            progress = rec.get("progress")
            if isinstance(progress, dict) and task is not None:
                self._progress(st, line.index, task, progress)
            if rec.get("skipped") is True:
                st.skipped = True
            if rec.get("severity") in {"ERROR", "CRITICAL"}:
                message = str(rec.get("message", "")).splitlines()
                st.error = message[0][:300] if message else st.error

    def _progress(
        self, st: StageState, index: int, task: TaskState, progress: dict[str, Any]
    ) -> None:
        task.done = int(progress.get("done") or 0)
        total = progress.get("total")
        task.total = int(total) if isinstance(total, int) else task.total
        ok = progress.get("succeeded")
        task.succeeded = int(ok) if isinstance(ok, int) else task.succeeded
        now = time.monotonic()
        if not self.interactive and task.detail() and now - task.last_line >= LINE_EVERY_S:
            task.last_line = now
            shard = f" shard {index}" if len(st.tasks) > 1 or index else ""
            self._say(f"  {st.name}{shard}: {task.detail()}")

    def on_end(self, run: JobRun, index: int, attempt: int, code: int) -> None:
        """A task (attempt) ended."""
        with self.lock:
            st = self._stage(self.key(run))
            task = st.tasks.get(index)
            if task is not None:
                task.status = "ok" if code == 0 else f"exit {code}"
            if st.tasks and all(t.status != "running" for t in st.tasks.values()):
                failed = [t.status for t in st.tasks.values() if t.status != "ok"]
                st.ended = time.monotonic()
                st.status = "ok" if not failed else "failed"
                took = f"{st.seconds() or 0:.1f}s"
                if not failed:
                    self._say(
                        f"✓ {st.name} {'already committed' if st.skipped else 'ok'} in {took}"
                    )
                else:
                    why = f": {st.error}" if st.error else ""
                    self._say(f"✗ {st.name} failed ({', '.join(failed)}) in {took}{why}")

    # ------------------------------------------------------------------ display
    def _say(self, text: str) -> None:
        if not self.interactive:
            self.console.print(text, markup=False, highlight=False)

    def render(self) -> RenderableType:
        """The live table."""
        table = Table(show_header=True, header_style="bold", expand=False, box=None)
        for col in ("stage", "state", "time", "detail"):
            table.add_column(col, justify="right" if col == "time" else "left")
        with self.lock:
            for st in self.stages.values():
                self._row(table, st)
        return Group(table)

    def _row(self, table: Table, st: StageState) -> None:
        colour = {"ok": "green", "failed": "red", "running": "yellow"}.get(st.status, "dim")
        state = "already committed" if st.skipped and st.status == "ok" else st.status
        if st.executions > 1:
            state += f" (attempt {st.executions})"
        secs = st.seconds()
        detail = st.error if st.status == "failed" else ""
        if len(st.tasks) == 1:
            detail = detail or next(iter(st.tasks.values())).detail()
        table.add_row(
            Text(st.name),
            Text(state, style=colour),
            Text(f"{secs:.1f}s" if secs is not None else ""),
            Text(detail[:100]),
        )
        if len(st.tasks) > 1:
            for index in sorted(st.tasks):
                task = st.tasks[index]
                table.add_row(
                    Text(f"  shard {index}", style="dim"),
                    Text(task.status),
                    Text(""),
                    Text(task.detail()),
                )

    def __enter__(self) -> RunProgress:
        if self.interactive:
            self.live = Live(
                self.render(),
                console=self.console,
                refresh_per_second=4,
                transient=False,
                get_renderable=self.render,
            )
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
