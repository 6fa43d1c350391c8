"""Tasks as containers of the job images (``bp-<stage>:local`` from
``scripts/build_images.sh``), through the ``docker`` command line.

Only the job's own settings enter the container (what Terraform would set on the Cloud
Run job, the workflow's overrides, and the ``CLOUD_RUN_*`` variables), never the host's
environment. A ``file://`` storage root is mounted at ``/data`` and ``STORAGE_URI`` is
rewritten to match; with ``gs://`` storage the container shares the host's network so an
emulator on ``127.0.0.1`` (``STORAGE_EMULATOR_HOST``) answers it as it answers the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from bp_flow.launch.base import JobRun, TaskEvents, cloud_run_env
from bp_flow.launch.tasks import TaskLauncher

MOUNT = "/data"
DOCKER_TIMEOUT_S = 60.0


def container_name(run: JobRun, index: int, attempt: int) -> str:
    """A unique, valid container name for one task attempt."""
    return f"{run.execution}-t{index}-a{attempt}"[:120]


class DockerLauncher(TaskLauncher):
    """Each task is ``docker run --rm`` of the stage's image."""

    def __init__(
        self,
        base_env: Mapping[str, str],
        *,
        images: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        events: TaskEvents | None = None,
        max_retries: int = 0,
        parallelism: int | None = None,
        docker: str | None = None,
    ) -> None:
        super().__init__(
            base_env,
            log_dir=log_dir,
            events=events,
            max_retries=max_retries,
            parallelism=parallelism,
        )
        self.images = dict(images or {})
        found = docker or shutil.which("docker")
        if found is None:
            raise FileNotFoundError(
                "the docker command is not installed (bash scripts/docker_engine.sh)"
            )
        self.docker = found

    def image(self, stage: str) -> str:
        """The image a stage runs in."""
        return self.images.get(stage, f"bp-{stage}:local")

    def command(self, run: JobRun, index: int, attempt: int) -> tuple[list[str], dict[str, str]]:
        """``docker run`` with the job env, the storage mount and the host's user."""
        env = self.job_env(run, cloud_run_env(run, index, attempt))
        argv = [
            self.docker,
            "run",
            "--rm",
            "--name",
            container_name(run, index, attempt),
            "--network",
            "host",
        ]
        uri = env.get("STORAGE_URI", "")
        if uri.startswith("file://"):
            root = uri.removeprefix("file://")
            argv += ["--volume", f"{root}:{MOUNT}"]
            env["STORAGE_URI"] = f"file://{MOUNT}"
        argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
        for key in sorted(env):
            argv += ["--env", key]  # values travel in the docker CLI's environment, not argv
        argv.append(self.image(run.stage))
        process_env = {
            k: v
            for k, v in os.environ.items()
            if k in {"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"}
        }
        process_env.update(env)
        return argv, process_env

    def after_kill(self, run: JobRun, index: int, attempt: int) -> None:
        """Remove a container whose client was killed."""
        subprocess.run(  # noqa: S603 - fixed argv, no shell
            [self.docker, "rm", "--force", container_name(run, index, attempt)],
            capture_output=True,
            timeout=DOCKER_TIMEOUT_S,
            check=False,
        )
