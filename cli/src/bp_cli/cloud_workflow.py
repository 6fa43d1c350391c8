"""``bp run --cloud``: start the deployed ``pipeline`` workflow and follow it to the end.

Progress comes from the execution's ``status.current_steps``: Workflows reports the
step running now (today only the innermost one; later the whole call stack), never
variable values, so a line names the step of ``workflows/pipeline.yaml`` and what it
does, and the stage where the step itself tells it (gate, deliver, report). The result
table at the end names every stage.

Ctrl-C offers to cancel: bp asks ``cancel the execution? [y/N]``; ``y`` cancels it and
waits until Workflows reports it cancelled (exit 130); anything else, a second Ctrl-C
or no terminal leaves it running in the cloud, prints where to follow it, and exits 130.
"""

from __future__ import annotations

import json
import time
from typing import Any

from google.api_core import exceptions as gexc
from google.auth.exceptions import GoogleAuthError
from google.cloud.workflows.executions_v1 import types as wf
from rich.console import Console

from bp_cli.cloud_clients import (
    CALL_TIMEOUT_S,
    CloudClients,
    api_call,
    cloud_failure,
    make_clients,
)
from bp_cli.cloud_report import print_failure, print_result

State = wf.Execution.State
RUNNING = frozenset({State.ACTIVE, State.QUEUED})
INTERRUPTED = 130
TIMED_OUT = 124
MAX_POLL_ERRORS = 5  # consecutive transient poll failures before giving up
TRANSIENT = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, OSError)
_sleep = time.sleep  # tests replace it

# (routine, step) of workflows/pipeline.yaml -> what it means; "*" matches any step
STEP_TEXT: dict[tuple[str, str], str] = {
    ("main", "check_args"): "checking the arguments",
    ("main", "check_required"): "checking the arguments",
    ("main", "init"): "configuring the run",
    ("main", "init_report"): "configuring the run",
    ("main", "run_stages"): "running the stages",
    ("main", "report_failed_run"): "stage report: recording the failed run",
    ("main", "report_run"): "stage report: recording the run",
    ("main", "fail"): "a stage failed: ending the run",
    ("configure", "*"): "configuring the run",
    ("stage_order", "*"): "configuring the run",
    ("run_routed", "*"): "a stage is starting",
    ("run_stage", "prepare"): "a stage is starting",
    ("run_stage", "shards"): "a stage is starting",
    ("run_stage", "run"): "a stage job is running (or waiting to be retried)",
    ("run_stage", "once"): "a stage job is running on Cloud Run",
    ("run_stage", "done"): "a stage finished",
    ("is_retryable", "*"): "a stage job failed: deciding whether to retry it",
    ("run_job", "run"): "a stage job is running on Cloud Run",
    ("run_job", "classify"): "a stage job failed: reading its failure marker",
    ("run_job", "fail"): "a stage job failed",
    ("run_job", "*"): "a stage job is starting on Cloud Run",
    ("stage_failure", "*"): "a stage job failed: reading its failure marker",
    ("failure_without_marker", "*"): "a stage job failed without a failure marker",
    ("read_gate", "*"): "stage gate: reading the verdict",
    ("read_delivery", "*"): "stage deliver: reading the delivery record",
    ("run_report", "*"): "stage report: running",
}
HELPERS = frozenset({"has_tag", "unit_prefix", "read_object"})  # serve the step before them


def run_workflow_cloud(
    console: Console,
    *,
    project: str,
    region: str,
    workflow: str = "pipeline",
    argument: dict[str, Any],
    poll_s: float = 5.0,
    clients: CloudClients | None = None,
    timeout_s: float | None = None,
) -> int:
    """Start ``workflow`` with ``argument``; follow it; 0 succeeded, 1 failed, 130 cancelled.

    124 when ``timeout_s`` passed first (the execution keeps running). Calls that
    cannot be made raise CloudError (one line and a next step).
    """
    clients = clients or make_clients(None)
    parent = f"projects/{project}/locations/{region}/workflows/{workflow}"
    with api_call(f"starting workflow {parent}", clients.workflows_endpoint):
        started = clients.executions.create_execution(
            request=wf.CreateExecutionRequest(
                parent=parent, execution=wf.Execution(argument=json.dumps(argument))
            ),
            timeout=CALL_TIMEOUT_S,
        )
    console.print(f"execution: {started.name}", markup=False, highlight=False)
    console.print(f"console:   {execution_link(started.name)}", markup=False, highlight=False)
    final = _follow(console, clients, started.name, poll_s, timeout_s)
    return final if isinstance(final, int) else _finish(console, final, argument)


def execution_link(name: str) -> str:
    """The Cloud console page of a workflow execution."""
    parts = name.split("/")
    if len(parts) != 8:
        return "https://console.cloud.google.com/workflows"
    project, region, workflow, execution = parts[1], parts[3], parts[5], parts[7]
    return (
        f"https://console.cloud.google.com/workflows/workflow/{region}/{workflow}"
        f"/execution/{execution}?project={project}"
    )


def describe(steps: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(``routine.step``, meaning) of the deepest step that is not a helper; None if none."""
    for routine, step in reversed(steps):
        if routine in HELPERS:
            continue
        text = STEP_TEXT.get((routine, step)) or STEP_TEXT.get((routine, "*")) or ""
        return f"{routine}.{step}", text
    return None


class _Progress:
    """Prints each change of the current step once, with the time since bp started."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.began = time.monotonic()
        self.last: tuple[str, str] | None = None

    def update(self, execution: wf.Execution) -> None:
        steps = [(s.routine, s.step) for s in execution.status.current_steps]
        now = describe(steps)
        if now is None or now == self.last:
            return
        self.last = now
        minutes, seconds = divmod(int(time.monotonic() - self.began), 60)
        where, text = now
        line = f"  {minutes:3d}:{seconds:02d}  {where}" + (f" — {text}" if text else "")
        self.console.print(line, markup=False, highlight=False)


def _follow(
    console: Console, clients: CloudClients, name: str, poll_s: float, timeout_s: float | None
) -> wf.Execution | int:
    """Poll until the execution leaves ACTIVE/QUEUED; an exit code if bp stops following first."""
    progress = _Progress(console)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    errors = 0
    try:
        while True:
            execution = _poll(clients, name, errors)
            errors = 0 if execution is not None else errors + 1
            if execution is not None:
                progress.update(execution)
                if execution.state not in RUNNING:
                    return execution
            if deadline is not None and time.monotonic() >= deadline:
                console.print(
                    f"still running after {timeout_s:g} s: {execution_link(name)}",
                    markup=False,
                    highlight=False,
                )
                return TIMED_OUT
            _sleep(poll_s)
    except KeyboardInterrupt:
        return _interrupted(console, clients, name)


def _poll(clients: CloudClients, name: str, errors: int) -> wf.Execution | None:
    """The execution now; None after a transient failure while a few more are allowed."""
    what = f"reading execution {name}"
    try:
        return clients.executions.get_execution(name=name, timeout=CALL_TIMEOUT_S)
    except TRANSIENT as err:
        if errors + 1 < MAX_POLL_ERRORS:
            return None
        raise cloud_failure(err, what, clients.workflows_endpoint) from None
    except (gexc.GoogleAPIError, GoogleAuthError) as err:
        raise cloud_failure(err, what, clients.workflows_endpoint) from None


def _interrupted(console: Console, clients: CloudClients, name: str) -> wf.Execution | int:
    """Ask whether to cancel: the cancelled execution, or 130 when it is left running."""
    console.print()
    try:
        answer = console.input(f"cancel the execution {name}? [y/N] ", markup=False)
    except (KeyboardInterrupt, EOFError):
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        console.print(
            f"left running; follow it at {execution_link(name)}", markup=False, highlight=False
        )
        return INTERRUPTED
    with api_call(f"cancelling execution {name}", clients.workflows_endpoint):
        execution = clients.executions.cancel_execution(name=name, timeout=CALL_TIMEOUT_S)
        while execution.state in RUNNING:
            _sleep(1.0)
            execution = clients.executions.get_execution(name=name, timeout=CALL_TIMEOUT_S)
    return execution


def _finish(console: Console, execution: wf.Execution, argument: dict[str, Any]) -> int:
    """Print how the execution ended; its exit code."""
    if execution.state == State.SUCCEEDED:
        print_result(console, execution.result)
        return 0
    if execution.state == State.FAILED:
        print_failure(console, execution, argument)
        return 1
    if execution.state == State.CANCELLED:
        console.print(f"cancelled: {execution.name}", style="bold yellow", markup=False)
        return INTERRUPTED
    details = execution.state_error.details or "no details"
    console.print(
        f"execution {execution.name} is {execution.state.name}: {details}",
        style="bold red",
        markup=False,
    )
    return 1
