"""Execute a workflow locally with live progress; Ctrl-C stops the tasks cleanly.

The execution runs on a worker thread while the main thread waits, so an interrupt is
handled in one place: the running tasks get SIGTERM (each writes its failure marker),
the execution is cancelled before its next step, and the run can be resumed by running
the same command again (committed stages are skipped).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bp_flow.launch.base import TaskEvents, TaskLine
from bp_flow.local import Outcome
from rich.console import Console

from bp_cli.local_flow import LocalSetup, deploy
from bp_cli.progress import RunProgress

LOG_ROOT = "bp-logs"


@dataclass
class LocalRun:
    """What to run and how to show it."""

    workflow: str
    argument: dict[str, Any]
    setup: LocalSetup
    rows: list[str]
    log_format: str = "console"
    key: Callable[[Any], str] | None = None


def log_dir_for(name: str) -> Path:
    """``./bp-logs/<name>/``: every task's output, one file per task execution."""
    return Path.cwd() / LOG_ROOT / name


def _json_passthrough() -> TaskEvents:
    def on_line(line: TaskLine) -> None:
        sys.stderr.write(line.text + "\n")

    return TaskEvents(on_line=on_line)


def execute(console: Console, job: LocalRun) -> Outcome:
    """Run the workflow to its end (or until Ctrl-C) and return how it ended."""
    progress = RunProgress(console, job.rows, key=job.key)
    job.setup.events = _json_passthrough() if job.log_format == "json" else progress.events()
    deployment, launcher = deploy(job.setup)
    box: dict[str, Outcome] = {}

    def work() -> None:
        box["outcome"] = deployment.execute(job.workflow, job.argument)

    worker = threading.Thread(target=work, name="workflow", daemon=True)
    with progress if job.log_format != "json" else _Nothing():
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            console.print("[bold yellow]interrupted:[/] stopping the running tasks (SIGTERM)…")
            deployment.cancel()
            launcher.cancel()
            worker.join(60)
    return box.get("outcome") or Outcome(
        "", job.workflow, "CANCELLED", error={"message": "interrupted"}
    )


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
