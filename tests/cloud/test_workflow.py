"""``run_workflow_cloud``: the real Workflows Executions client against the local stand-in."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from bp_cli import cloud_workflow
from bp_cli.cloud import CloudClients, CloudError, make_clients, run_workflow_cloud
from bp_sdk.errors import ExitCode

from tests.cloud.conftest import Captured
from tests.cloud.standin import Frame, StandIn

PROJECT, REGION = "proj-1", "europe-west1"
ARGUMENT: dict[str, Any] = {
    "scene_id": "kitchen_counter",
    "run_id": "r-1a2b",
    "bucket": "bp-bucket",
    "settings": {"EPISODES_PER_TASK": "2"},
    "episodes_shards": 4,
}
RESULT = {
    "status": "delivered",
    "scene_id": "kitchen_counter",
    "run_id": "r-1a2b",
    "dataset_id": "kitchen_counter-r-1a2b",
    "stages": [
        {"stage": "ingest", "result": "ok", "seconds": 31.4, "attempts": 1, "tasks": 1},
        {"stage": "episodes", "result": "ok", "seconds": 612.9, "attempts": 2, "tasks": 4},
    ],
    "gate": {
        "passed": False,
        "failed": ["min_episodes"],
        "dataset_digest": "ab12cd34",
        "config_version": "gate-v3",
    },
    "delivery": {
        "destination": "gs://lab-bucket/[bold]datasets[/bold]",
        "dataset_digest": "ab12cd34",
        "approval_id": "appr-9",
    },
    "report": {
        "result": "ok",
        "key": "scenes/kitchen_counter/runs/r-1a2b/reports/e1/_SUCCESS.json",
    },
    "next_step": None,
}
FAILURE = {
    "message": "episodes failed (EpisodeError): the gripper lost [red]every[/red] object",
    "tags": ["StageFailed", "Permanent", "EpisodeError"],
    "stage": "episodes",
    "error_type": "EpisodeError",
    "permanent": True,
    "next_step": "Raise EPISODES_GRIP_FORCE and run again with a new RUN_ID.",
    "marker": "scenes/kitchen_counter/runs/r-1a2b/episodes/shards/00001-of-00004/attempts/e-a0/_FAILURE.json",
    "exit_code": 3,
}


def _run(out: Captured, clients: CloudClients, **kwargs: Any) -> int:
    args: dict[str, Any] = {"argument": ARGUMENT, "poll_s": 0.0, "clients": clients}
    return run_workflow_cloud(out.console, project=PROJECT, region=REGION, **(args | kwargs))


def _index(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


def test_succeeded_prints_progress_in_order_and_result(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """A succeeding execution: each step change once, in order, then the result table; exit 0."""
    standin.script_workflow(
        [
            Frame(steps=[("main", "init")]),
            Frame(steps=[("configure", "base")]),
            Frame(steps=[("run_job", "run")]),
            Frame(steps=[("run_job", "run")]),
            Frame(steps=[("has_tag", "answer")]),
            Frame(steps=[("read_gate", "read")]),
            Frame(steps=[("main", "run_stages"), ("run_stage", "once"), ("read_object", "get")]),
            Frame(steps=[("surprise_routine", "new_step")]),
            Frame(state="SUCCEEDED", steps=[("main", "result")], result=RESULT),
        ]
    )
    assert _run(out, workflow_clients) == 0
    lines = out.lines()
    order = [
        "main.init — configuring the run",
        "configure.base — configuring the run",
        "run_job.run — a stage job is running on Cloud Run",
        "read_gate.read — stage gate: reading the verdict",
        "run_stage.once — a stage job is running on Cloud Run",
        "surprise_routine.new_step",
        "main.result",
    ]
    positions = [_index(lines, needle) for needle in order]
    assert positions == sorted(positions)
    assert sum("run_job.run" in line for line in lines) == 1
    assert not any("has_tag" in line or "read_object" in line for line in lines)
    [create] = standin.calls("CreateExecution")
    assert create.path == f"projects/{PROJECT}/locations/{REGION}/workflows/pipeline"
    assert json.loads(create.body.execution.argument) == ARGUMENT
    name = f"projects/{PROJECT}/locations/{REGION}/workflows/pipeline/executions/exec-1"
    assert f"execution: {name}" in lines
    assert (
        "https://console.cloud.google.com/workflows/workflow/europe-west1/pipeline/execution/exec-1?project=proj-1"
        in out.text
    )
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows == [["ingest", "ok", "31", "1", "1"], ["episodes", "ok", "613", "2", "4"]]
    assert lines[-1] == "pipeline delivered"
    assert "failed: min_episodes (thresholds gate-v3)" in out.text
    assert "dataset digest  ab12cd34" in out.text
    assert "delivered to    gs://lab-bucket/[bold]datasets[/bold]" in out.text
    assert "approval        appr-9" in out.text


def test_failed_prints_marker_message_next_step_and_where(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """A failed stage: stage, the marker's message (literally), next step, gs:// marker; exit 1."""
    standin.script_workflow(
        [
            Frame(steps=[("run_job", "run")]),
            Frame(steps=[("stage_failure", "read")]),
            Frame(state="FAILED", steps=[("main", "fail")], error=FAILURE),
        ]
    )
    assert _run(out, workflow_clients) == 1
    text = out.text
    assert "pipeline failed at stage episodes (permanent): EpisodeError" in text
    assert FAILURE["message"] in text
    assert f"next:   {FAILURE['next_step']}" in text
    assert f"marker: gs://bp-bucket/{FAILURE['marker']}" in text
    assert "stage_failure.read — a stage job failed: reading its failure marker" in text
    assert "Traceback" not in text
    assert "pipeline delivered" not in text


def test_failed_without_stage_prints_message_and_marker_key(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """An argument error (no stage, no bucket argument): its tags and message; exit 1."""
    payload = {
        "message": "pipeline needs the arguments scene_id and run_id",
        "tags": ["ValueError"],
    }
    standin.script_workflow(
        [Frame(state="FAILED", steps=[("main", "check_required")], error=payload)]
    )
    assert _run(out, workflow_clients, argument={"scene_id": "s"}) == 1
    assert "pipeline failed (ValueError)" in out.text
    assert payload["message"] in out.text
    assert "next:" not in out.text


def test_cancelled_returns_130(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """An execution cancelled elsewhere ends bp with 130 and says so."""
    standin.script_workflow([Frame(steps=[("run_job", "run")]), Frame(state="CANCELLED")])
    assert _run(out, workflow_clients) == 130
    assert (
        "cancelled: projects/proj-1/locations/europe-west1/workflows/pipeline/executions/exec-1"
        in out.text
    )
    assert standin.calls("CancelExecution") == []


@pytest.mark.parametrize(("answer", "cancels"), [("y\n", True), ("n\n", False), ("", False)])
def test_ctrl_c_offers_to_cancel(
    standin: StandIn,
    workflow_clients: CloudClients,
    out: Captured,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    cancels: bool,
) -> None:
    """Ctrl-C asks; 'y' cancels the execution, 'n' or no answer leaves it running; both exit 130."""
    standin.script_workflow([Frame(steps=[("run_job", "run")])])

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cloud_workflow, "_sleep", interrupt)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    assert _run(out, workflow_clients) == 130
    assert "cancel the execution projects/proj-1/" in out.text
    assert len(standin.calls("CancelExecution")) == (1 if cancels else 0)
    assert ("cancelled: " in out.text) == cancels
    assert ("left running" in out.text) == (not cancels)


def test_timeout_leaves_it_running(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """Past timeout_s bp stops following (124) without cancelling."""
    standin.script_workflow([Frame(steps=[("run_job", "run")])])
    assert _run(out, workflow_clients, timeout_s=0.0) == 124
    assert "still running after 0 s" in out.text
    assert standin.calls("CancelExecution") == []


def test_transient_poll_failures_are_ridden_out(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """A few UNAVAILABLE polls in a row do not stop bp; the run's outcome still counts."""
    standin.script_workflow(
        [Frame(steps=[("run_job", "run")]), Frame(state="SUCCEEDED", result=RESULT)]
    )
    standin.unavailable_gets = cloud_workflow.MAX_POLL_ERRORS - 1
    assert _run(out, workflow_clients) == 0
    assert len(standin.calls("GetExecution")) == cloud_workflow.MAX_POLL_ERRORS + 1


def test_persistent_poll_failures_are_one_line(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """UNAVAILABLE on every poll: after MAX_POLL_ERRORS in a row, one retryable line."""
    standin.script_workflow([Frame(steps=[("run_job", "run")])])
    standin.unavailable_gets = 1000
    with pytest.raises(CloudError) as caught:
        _run(out, workflow_clients)
    assert "reading execution projects/proj-1/" in caught.value.render()
    assert "\n" not in caught.value.render()
    assert caught.value.exit_code == ExitCode.RETRYABLE
    assert len(standin.calls("GetExecution")) == cloud_workflow.MAX_POLL_ERRORS


def test_unknown_workflow_is_one_line(
    standin: StandIn, workflow_clients: CloudClients, out: Captured
) -> None:
    """A workflow that is not deployed: one line naming it, exit code 2."""
    with pytest.raises(CloudError) as caught:
        _run(out, workflow_clients, workflow="nope")
    err = caught.value
    assert "\n" not in err.render()
    assert "workflows/nope: not found" in err.render()
    assert err.exit_code == ExitCode.CONFIG
    assert "infra/terraform" in err.next_step


def test_unreachable_endpoint_is_one_line(closed_port: int, out: Captured) -> None:
    """Nothing listening at the endpoint: one line saying it cannot be reached, retryable."""
    clients = make_clients(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(CloudError) as caught:
        _run(out, clients)
    text = caught.value.render()
    assert "\n" not in text
    assert text.endswith(f"cannot reach 127.0.0.1:{closed_port} (Connection refused)")
    assert caught.value.exit_code == ExitCode.RETRYABLE
    assert out.text == ""
