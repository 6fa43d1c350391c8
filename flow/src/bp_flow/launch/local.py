"""Tasks as local processes of the job's own console script (``bp-<stage>``), exactly what
its container runs, found through the installed package metadata."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from bp_flow.launch.base import JobRun, TaskEvents, cloud_run_env
from bp_flow.launch.tasks import TaskLauncher


def script_for(stage: str) -> Path | None:
    """``bp-<stage>`` beside this Python, else on PATH; None if not installed."""
    local = Path(sys.executable).parent / f"bp-{stage}"
    if local.exists():
        return local
    found = shutil.which(f"bp-{stage}")
    return Path(found) if found else None


class SubprocessLauncher(TaskLauncher):
    """Each task is ``bp-<stage>`` (or a command given per stage) as a subprocess."""

    def __init__(
        self,
        base_env: Mapping[str, str],
        *,
        commands: Mapping[str, list[str]] | None = None,
        log_dir: Path | None = None,
        events: TaskEvents | None = None,
        max_retries: int = 0,
        parallelism: int | None = None,
    ) -> None:
        super().__init__(
            base_env,
            log_dir=log_dir,
            events=events,
            max_retries=max_retries,
            parallelism=parallelism,
        )
        self.commands = dict(commands or {})

    def command(self, run: JobRun, index: int, attempt: int) -> tuple[list[str], dict[str, str]]:
        """The stage's console script; the machine's environment beneath the job's."""
        argv = self.commands.get(run.stage)
        if argv is None:
            script = script_for(run.stage)
            if script is None:
                raise FileNotFoundError(f"bp-{run.stage} is not installed")
            argv = [str(script)]
        env = dict(os.environ)
        env.update(self.job_env(run, cloud_run_env(run, index, attempt)))
        return list(argv), env
