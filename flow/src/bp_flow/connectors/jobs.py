"""``googleapis.run.v2.projects.locations.jobs.run`` run by a local launcher.

The connector waits for the execution, as on GCP. It returns a small ``Execution``
resource; a failed execution raises the error map the connector raises on GCP
(``tags: [OperationError]``, a ``message``, and the long-running ``operation`` with its
``error`` and the execution as ``metadata``), so the workflow's error handling is the
same code on a laptop and in the cloud. An unknown job is an ``HttpError`` 404.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bp_flow.connectors.storage import http_error, rfc3339
from bp_flow.errors import OPERATION_ERROR, TIMEOUT_ERROR, WorkflowError
from bp_flow.launch.base import JobRun, Launcher, TaskOutcome
from bp_flow.runtime import Runtime

NAME = "googleapis.run.v2.projects.locations.jobs.run"
MAX_TASKS = 10_000


def parse_job_name(name: Any) -> tuple[str, str, str]:
    """``projects/P/locations/L/jobs/J`` → (P, L, J); a 400 HttpError otherwise."""
    parts = str(name).split("/") if isinstance(name, str) else []
    if (
        len(parts) != 6
        or parts[0] != "projects"
        or parts[2] != "locations"
        or parts[4] != "jobs"
        or not all(parts[1::2])
    ):
        raise http_error(
            400, f"name must be projects/PROJECT/locations/REGION/jobs/JOB, got {name!r}"
        )
    return parts[1], parts[3], parts[5]


def new_execution_id(job: str) -> str:
    """``<job>-<UTC time>-<4 hex>``: unique, sortable, a valid identifier."""
    return f"{job}-{datetime.now(tz=UTC).strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(2)}"[:128]


def _env_overrides(body: Mapping[str, Any]) -> tuple[dict[str, str], int, float | None]:
    overrides = body.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise http_error(400, "body.overrides must be a map")
    env: dict[str, str] = {}
    containers = overrides.get("containerOverrides") or []
    if not isinstance(containers, list) or len(containers) > 1:
        raise http_error(400, "containerOverrides: one container is supported")
    for item in (containers[0].get("env") or []) if containers else []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise http_error(400, "containerOverrides[0].env holds {name, value} maps")
        value = item.get("value", "")
        env[item["name"]] = value if isinstance(value, str) else str(value)
    count = overrides.get("taskCount", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_TASKS:
        raise http_error(400, f"taskCount must be 1..{MAX_TASKS}, got {count!r}")
    timeout = overrides.get("timeout")
    seconds = float(str(timeout).removesuffix("s")) if timeout else None
    return env, count, seconds


class LocalJobs:
    """Runs ``jobs.run`` with a launcher; knows which stage each job id runs."""

    def __init__(self, launcher: Launcher, stages_by_job: Mapping[str, str]) -> None:
        self.launcher = launcher
        self.stages_by_job = dict(stages_by_job)

    def functions(self) -> dict[str, Callable[[Runtime, dict[str, Any]], Any]]:
        """Connector name → callable, for the engine."""
        return {NAME: self.run}

    def run(self, rt: Runtime, args: dict[str, Any]) -> Any:
        """Start the execution, wait for it, return it or raise the connector's error."""
        project, region, job = parse_job_name(args.get("name"))
        stage = self.stages_by_job.get(job)
        if stage is None:
            raise http_error(
                404, f"Resource 'projects/{project}/locations/{region}/jobs/{job}' was not found"
            )
        body = args.get("body") or {}
        env, count, timeout = _env_overrides(body if isinstance(body, dict) else {})
        execution = new_execution_id(job)
        run = JobRun(job, stage, execution, env, count, timeout)
        started = datetime.now(tz=UTC)
        t0 = time.monotonic()
        outcomes = self.launcher.launch(run)
        limit = (args.get("connector_params") or {}).get("timeout")
        resource = _execution(project, region, run, outcomes, started)
        if isinstance(limit, int | float) and time.monotonic() - t0 > limit:
            raise WorkflowError(
                {"message": f"timed out waiting for execution {execution}", "tags": [TIMEOUT_ERROR]}
            )
        failed = [o for o in outcomes if o.exit_code != 0]
        if failed:
            raise _operation_error(project, region, run, failed, resource)
        return resource


def _execution(
    project: str, region: str, run: JobRun, outcomes: list[TaskOutcome], started: datetime
) -> dict[str, Any]:
    failed = sum(1 for o in outcomes if o.exit_code != 0)
    done = datetime.now(tz=UTC)
    return {
        "name": f"projects/{project}/locations/{region}/jobs/{run.job}/executions/{run.execution}",
        "job": run.job,
        "taskCount": run.task_count,
        "succeededCount": len(outcomes) - failed,
        "failedCount": failed,
        "retriedCount": sum(o.attempts - 1 for o in outcomes),
        "startTime": rfc3339(started),
        "completionTime": rfc3339(done),
        "logUri": next((o.log.as_uri() for o in outcomes if o.log is not None), ""),
    }


def _operation_error(
    project: str, region: str, run: JobRun, failed: list[TaskOutcome], resource: dict[str, Any]
) -> WorkflowError:
    first = failed[0]
    detail = (
        f"Task {run.execution}-task{first.index} failed with message: "
        f"The container exited with a non-zero status of {first.exit_code}."
    )
    message = f"The execution failed: {len(failed)} of {run.task_count} tasks failed. {detail}"
    return WorkflowError(
        {
            "message": message,
            "tags": [OPERATION_ERROR],
            "operation": {
                "name": f"projects/{project}/locations/{region}/operations/{uuid.uuid4()}",
                "done": True,
                "error": {"code": 2, "message": message},
                "metadata": resource,
            },
        }
    )
