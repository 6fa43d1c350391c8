"""Find stage entry points and run them as subprocesses, exactly as a container would.

The CLI never imports job code: stages are discovered from installed package metadata
(entry-point group ``blueprintpipeline.stages``) and run through their ``bp-<stage>``
console scripts with settings in the environment.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path

from bp_cli.errors import UsageError

GROUP = "blueprintpipeline.stages"
TERM_GRACE_S = 15.0


def available_stages() -> list[str]:
    """Names of every installed stage."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def stage_script(name: str) -> Path:
    """Path of ``bp-<name>``; a clear error listing valid names if unknown."""
    names = available_stages()
    if name not in names:
        raise UsageError(
            f"unknown stage {name!r}; installed stages: {', '.join(names) or '(none)'}"
        )
    local = Path(sys.executable).parent / f"bp-{name}"
    if local.exists():
        return local
    found = shutil.which(f"bp-{name}")
    if found is None:
        raise UsageError(f"stage {name!r} is installed but its script bp-{name} is not on PATH")
    return Path(found)


def new_execution_id() -> str:
    """``local-YYYYmmddHHMMSS-xxxx``: unique per bp invocation, sortable."""
    return f"local-{datetime.now(tz=UTC).strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(2)}"


@dataclass
class TaskResult:
    """Exit code and duration of one task process."""

    index: int
    exit_code: int
    seconds: float


def run_tasks(
    script: Path, env: Mapping[str, str], count: int, timeout_s: float
) -> list[TaskResult]:
    """Run ``count`` task processes in parallel (index 0..count-1) and wait for all."""
    procs: list[tuple[int, subprocess.Popen[bytes], float]] = []
    for index in range(count):
        task_env = dict(env)
        task_env["CLOUD_RUN_TASK_INDEX"] = str(index)
        task_env["CLOUD_RUN_TASK_COUNT"] = str(count)
        proc = subprocess.Popen([str(script)], env=task_env)  # noqa: S603 - our own console script, no shell
        procs.append((index, proc, time.monotonic()))
    results = []
    deadline = time.monotonic() + timeout_s
    for index, proc, started in procs:
        try:
            code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.send_signal(
                signal.SIGTERM
            )  # like Cloud Run: SIGTERM first, the job writes its marker
            try:
                code = proc.wait(timeout=TERM_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(timeout=TERM_GRACE_S)
        results.append(
            TaskResult(index, code if code >= 0 else 128 - code, time.monotonic() - started)
        )
    return results


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment plus the job settings (the job reads only its own names)."""
    env = dict(os.environ)
    env.update(extra)
    return env
