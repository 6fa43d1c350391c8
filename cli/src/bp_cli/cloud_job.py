"""``bp stage NAME --cloud``: run the deployed Cloud Run job of a stage and wait for it.

``jobs.run`` with env overrides and a task count returns a long-running operation whose
metadata names the new execution; bp polls the operation until it is done and, between
polls, the execution itself for its task counts. A failed execution ends the operation
with an error: bp prints it and returns 1, and the caller prints the stage's failure
marker from storage. Ctrl-C stops following (the execution keeps running; bp prints how
to cancel it) and returns 130.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from google.api_core import exceptions as gexc
from google.api_core.operation import Operation
from google.auth.exceptions import GoogleAuthError
from google.cloud import run_v2
from rich.console import Console

from bp_cli.cloud_clients import CALL_TIMEOUT_S, CloudClients, api_call, make_clients

INTERRUPTED = 130
TIMED_OUT = 124
_sleep = time.sleep  # tests replace it
Counts = tuple[int, int, int, int]  # running, succeeded, failed, retried


def run_job_cloud(
    console: Console,
    *,
    project: str,
    region: str,
    job: str,
    env: Mapping[str, str],
    task_count: int | None,
    clients: CloudClients | None = None,
    timeout_s: float | None = None,
    poll_s: float = 5.0,
) -> tuple[int, str]:
    """Run job ``job`` (``bp-ingest`` or a full resource name) and wait: (exit code, execution name).

    0 succeeded, 1 failed, 130 Ctrl-C, 124 ``timeout_s`` passed (the last two leave the
    execution running). Calls that cannot be made raise CloudError.
    """
    clients = clients or make_clients(None)
    name = (
        job if job.startswith("projects/") else f"projects/{project}/locations/{region}/jobs/{job}"
    )
    with api_call(f"running job {name}", clients.run_endpoint):
        op = clients.jobs.run_job(
            request=run_job_request(name, env, task_count), timeout=CALL_TIMEOUT_S
        )
    execution = op.metadata.name if op.metadata is not None else ""
    console.print(f"execution: {execution or '(unnamed)'}", markup=False, highlight=False)
    console.print(f"console:   {execution_link(execution)}", markup=False, highlight=False)
    try:
        code = _wait(console, clients, op, execution, poll_s, timeout_s)
    except KeyboardInterrupt:
        console.print()
        code = INTERRUPTED
    if code in (INTERRUPTED, TIMED_OUT):
        console.print(
            f"left running; cancel it with: {cancel_command(execution)}",
            markup=False,
            highlight=False,
        )
    return code, execution


def run_job_request(
    name: str, env: Mapping[str, str], task_count: int | None
) -> run_v2.RunJobRequest:
    """``jobs.run`` with the env overrides of the (single) container and the task count."""
    Overrides = run_v2.RunJobRequest.Overrides  # noqa: N806 - a class
    container = Overrides.ContainerOverride(
        env=[run_v2.EnvVar(name=k, value=v) for k, v in sorted(env.items())]
    )
    overrides = Overrides(container_overrides=[container])
    if task_count is not None:
        overrides.task_count = task_count
    return run_v2.RunJobRequest(name=name, overrides=overrides)


def execution_link(execution: str) -> str:
    """The Cloud console page of a job execution."""
    parts = execution.split("/")
    if len(parts) != 8:
        return "https://console.cloud.google.com/run/jobs"
    project, region, name = parts[1], parts[3], parts[7]
    return (
        f"https://console.cloud.google.com/run/jobs/executions/details/{region}/{name}"
        f"/tasks?project={project}"
    )


def cancel_command(execution: str) -> str:
    """The gcloud command that cancels a job execution."""
    parts = execution.split("/")
    if len(parts) != 8:
        return "gcloud run jobs executions cancel EXECUTION --region REGION"
    return f"gcloud run jobs executions cancel {parts[7]} --region {parts[3]} --project {parts[1]}"


def _wait(
    console: Console,
    clients: CloudClients,
    op: Operation,
    execution: str,
    poll_s: float,
    timeout_s: float | None,
) -> int:
    """Poll the operation (and the execution's task counts) to the end; the exit code."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last: Counts | None = None
    watch = bool(execution)
    while True:
        with api_call(f"waiting for {execution or op.operation.name}", clients.run_endpoint):
            done = op.done()  # type: ignore[no-untyped-call]
        if done:
            break
        if watch:
            counts = _counts(clients, execution)
            watch = counts is not None
            if counts is not None and counts != last:
                _print_counts(console, counts, op)
                last = counts
        if deadline is not None and time.monotonic() >= deadline:
            console.print(f"still running after {timeout_s:g} s", markup=False)
            return TIMED_OUT
        _sleep(poll_s)
    return _outcome(console, clients, op, execution)


def _counts(clients: CloudClients, execution: str) -> Counts | None:
    """The execution's task counts; None if it cannot be read (progress then stops)."""
    try:
        ex = clients.run_executions.get_execution(name=execution, timeout=CALL_TIMEOUT_S)
    except (gexc.GoogleAPIError, GoogleAuthError, OSError):
        return None
    return ex.running_count, ex.succeeded_count, ex.failed_count, ex.retried_count


def _print_counts(console: Console, counts: Counts, op: Operation) -> None:
    running, succeeded, failed, retried = counts
    total = op.metadata.task_count if op.metadata is not None else 0
    line = f"  tasks: {running} running, {succeeded} succeeded, {failed} failed"
    line += f" of {total}" if total else ""
    line += f" ({retried} retried)" if retried else ""
    console.print(line, markup=False, highlight=False)


def _outcome(console: Console, clients: CloudClients, op: Operation, execution: str) -> int:
    """Print how the finished execution ended; 0 or 1."""
    status = op.operation.error
    if op.operation.HasField("error"):
        counts = _counts(clients, execution) if execution else None
        if counts is not None:
            _print_counts(console, counts, op)
        console.print("job execution failed:", style="bold red", end=" ")
        console.print(status.message or f"error code {status.code}", markup=False)
        return 1
    result = op.result()  # type: ignore[no-untyped-call]
    _print_counts(
        console,
        (result.running_count, result.succeeded_count, result.failed_count, result.retried_count),
        op,
    )
    console.print("job execution succeeded", style="bold green")
    return 0
