"""``run_job_cloud``: the real Cloud Run v2 REST clients against the local stand-in."""

from __future__ import annotations

from typing import Any

import pytest
from bp_cli import cloud_job
from bp_cli.cloud import CloudClients, CloudError, make_clients, run_job_cloud
from bp_sdk.errors import ExitCode

from tests.cloud.conftest import Captured
from tests.cloud.standin import StandIn, Tasks

PROJECT, REGION = "proj-1", "europe-west1"
ENV = {"SCENE_ID": "kitchen_counter", "RUN_ID": "r-1a2b", "EPISODES_PER_TASK": "2"}
JOB_PATH = f"/v2/projects/{PROJECT}/locations/{REGION}/jobs/bp-episodes"


def _run(out: Captured, clients: CloudClients, **kwargs: Any) -> tuple[int, str]:
    args: dict[str, Any] = {
        "job": "bp-episodes",
        "env": ENV,
        "task_count": 2,
        "clients": clients,
        "poll_s": 0.0,
    }
    return run_job_cloud(out.console, project=PROJECT, region=REGION, **(args | kwargs))


def test_succeeded_job_sends_overrides_and_prints_task_counts(
    standin: StandIn, run_clients: CloudClients, out: Captured
) -> None:
    """A job that succeeds: env overrides and task count in the body, counts printed, exit 0."""
    standin.script_job(
        "bp-episodes", [Tasks(running=2), Tasks(running=1, succeeded=1), Tasks(succeeded=2)]
    )
    code, execution = _run(out, run_clients)
    assert code == 0
    assert (
        execution
        == f"projects/{PROJECT}/locations/{REGION}/jobs/bp-episodes/executions/bp-episodes-x0001"
    )
    [run] = standin.calls("POST")
    assert run.path == f"{JOB_PATH}:run"
    assert run.body == {
        "overrides": {
            "containerOverrides": [
                {
                    "env": [
                        {"name": "EPISODES_PER_TASK", "value": "2"},
                        {"name": "RUN_ID", "value": "r-1a2b"},
                        {"name": "SCENE_ID", "value": "kitchen_counter"},
                    ]
                }
            ],
            "taskCount": 2,
        }
    }
    lines = out.lines()
    counts = [line.strip() for line in lines if "tasks:" in line]
    assert counts == [
        "tasks: 2 running, 0 succeeded, 0 failed of 2",
        "tasks: 1 running, 1 succeeded, 0 failed of 2",
        "tasks: 0 running, 2 succeeded, 0 failed of 2",
    ]
    assert lines[-1] == "job execution succeeded"
    assert f"execution: {execution}" in lines
    assert any(p.startswith(f"{JOB_PATH}/executions/") for p in (r.path for r in standin.requests))


def test_failed_job_prints_operation_error_and_returns_1(
    standin: StandIn, run_clients: CloudClients, out: Captured
) -> None:
    """A job whose operation ends in an error: its message (literally), exit 1, no traceback."""
    message = "Task bp-episodes-x0001-task1 failed: exit code 3 [bold]see logs[/bold]"
    standin.script_job(
        "bp-episodes",
        [Tasks(running=2), Tasks(succeeded=1, failed=1, retried=3)],
        error=(9, message),
    )
    code, execution = _run(out, run_clients)
    assert code == 1
    assert execution.endswith("/jobs/bp-episodes/executions/bp-episodes-x0001")
    assert f"job execution failed: {message}" in out.text
    assert "tasks: 0 running, 1 succeeded, 1 failed of 2 (3 retried)" in out.text
    assert "Traceback" not in out.text
    assert "job execution succeeded" not in out.text


def test_no_task_count_leaves_the_jobs_own(
    standin: StandIn, run_clients: CloudClients, out: Captured
) -> None:
    """task_count=None sends no taskCount override (the job's configured count applies)."""
    standin.script_job("bp-ingest", [Tasks(succeeded=1)])
    code, _ = _run(out, run_clients, job="bp-ingest", env={"RUN_ID": "r"}, task_count=None)
    assert code == 0
    [run] = standin.calls("POST")
    assert run.body == {
        "overrides": {"containerOverrides": [{"env": [{"name": "RUN_ID", "value": "r"}]}]}
    }


def test_full_resource_name_is_used_as_is(
    standin: StandIn, run_clients: CloudClients, out: Captured
) -> None:
    """A job given as projects/…/jobs/NAME is run there, not under --project/--region."""
    standin.script_job("bp-ingest", [Tasks(succeeded=1)])
    code, _ = _run(out, run_clients, job="projects/other/locations/us-east1/jobs/bp-ingest")
    assert code == 0
    assert (
        standin.calls("POST")[0].path == "/v2/projects/other/locations/us-east1/jobs/bp-ingest:run"
    )


def test_ctrl_c_stops_following_and_prints_how_to_cancel(
    standin: StandIn, run_clients: CloudClients, out: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while waiting: exit 130, the execution left running, the gcloud cancel command shown."""
    standin.script_job("bp-episodes", [Tasks(running=2), Tasks(running=2), Tasks(succeeded=2)])

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cloud_job, "_sleep", interrupt)
    code, execution = _run(out, run_clients)
    assert code == 130
    assert execution.endswith("bp-episodes-x0001")
    assert (
        "gcloud run jobs executions cancel bp-episodes-x0001 --region europe-west1 --project proj-1"
        in out.text
    )


def test_unknown_job_is_one_line(
    standin: StandIn, run_clients: CloudClients, out: Captured
) -> None:
    """A job that is not deployed: one line naming it, exit code 2, and what to check."""
    with pytest.raises(CloudError) as caught:
        _run(out, run_clients, job="bp-nope")
    text = caught.value.render()
    assert "\n" not in text
    assert f"running job projects/{PROJECT}/locations/{REGION}/jobs/bp-nope: not found" in text
    assert caught.value.exit_code == ExitCode.CONFIG


def test_unreachable_endpoint_is_one_line(closed_port: int, out: Captured) -> None:
    """Nothing listening at the REST endpoint: one short line, retryable."""
    clients = make_clients(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(CloudError) as caught:
        _run(out, clients)
    text = caught.value.render()
    assert text == (
        f"running job projects/{PROJECT}/locations/{REGION}/jobs/bp-episodes: "
        f"cannot reach http://127.0.0.1:{closed_port} (Connection refused)"
    )
    assert caught.value.exit_code == ExitCode.RETRYABLE
