"""The Cloud Run jobs.run connector on the local subprocess launcher: tasks, env,
Cloud Run's variables, task retries, timeouts, captured logs and the error maps."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from bp_flow.connectors.jobs import NAME, LocalJobs
from bp_flow.errors import WorkflowError
from bp_flow.launch.base import TaskEvents, TaskLine
from bp_flow.launch.local import SubprocessLauncher
from bp_flow.runtime import Runtime

JOB = "projects/p/locations/l/jobs/bp-fake"

SCRIPT = """
import json, os, signal, sys, time
out = os.environ["OUT"]
idx, attempt = os.environ["CLOUD_RUN_TASK_INDEX"], os.environ["CLOUD_RUN_TASK_ATTEMPT"]
keys = ["CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_COUNT",
        "CLOUD_RUN_TASK_ATTEMPT", "BASE", "OVERRIDE"]
with open(os.path.join(out, f"task{idx}-a{attempt}.json"), "w") as f:
    json.dump({k: os.environ.get(k) for k in keys}, f)
print(json.dumps({"severity": "INFO", "message": "working", "progress": {"done": 1, "total": 2}}), flush=True)
mode = os.environ.get("MODE", "ok")
if mode == "fail_first" and attempt == "0":
    sys.exit(1)
if mode == "fail":
    sys.exit(3)
if mode == "hang":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    time.sleep(60)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    """The fake job's program."""
    path = tmp_path / "job.py"
    path.write_text(SCRIPT)
    return path


def jobs(
    tmp_path: Path, script: Path, retries: int = 0, events: TaskEvents | None = None
) -> LocalJobs:
    """The connector over a launcher that runs ``script`` as stage ``fake``."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    launcher = SubprocessLauncher(
        {"BASE": "from-terraform", "OUT": str(out)},
        commands={"fake": [sys.executable, str(script)]},
        log_dir=tmp_path / "logs",
        events=events,
        max_retries=retries,
    )
    return LocalJobs(launcher, {"bp-fake": "fake"})


def body(mode: str = "ok", tasks: int = 1, timeout: str | None = None) -> dict[str, Any]:
    """A jobs.run request body with env overrides."""
    overrides: dict[str, Any] = {
        "containerOverrides": [
            {"env": [{"name": "OVERRIDE", "value": "yes"}, {"name": "MODE", "value": mode}]}
        ],
        "taskCount": tasks,
    }
    if timeout:
        overrides["timeout"] = timeout
    return {"overrides": overrides}


def test_tasks_get_cloud_run_variables_and_env(tmp_path: Path, script: Path) -> None:
    """taskCount 3 starts three tasks of one execution, each with its index, the job's
    env beneath the overrides; the result is the Execution resource."""
    result = jobs(tmp_path, script).run(Runtime(), {"name": JOB, "body": body(tasks=3)})
    seen = [json.loads((tmp_path / "out" / f"task{i}-a0.json").read_text()) for i in range(3)]
    assert {s["CLOUD_RUN_TASK_INDEX"] for s in seen} == {"0", "1", "2"}
    assert {s["CLOUD_RUN_EXECUTION"] for s in seen} == {result["name"].rsplit("/", 1)[-1]}
    assert all(s["CLOUD_RUN_TASK_COUNT"] == "3" and s["CLOUD_RUN_JOB"] == "bp-fake" for s in seen)
    assert all(s["BASE"] == "from-terraform" and s["OVERRIDE"] == "yes" for s in seen)
    assert result["succeededCount"] == 3 and result["failedCount"] == 0
    assert result["name"].startswith("projects/p/locations/l/jobs/bp-fake/executions/bp-fake-")


def test_failed_task_raises_the_operation_error(tmp_path: Path, script: Path) -> None:
    """A task that exits non-zero fails the execution: OperationError with the operation."""
    with pytest.raises(WorkflowError) as err:
        jobs(tmp_path, script).run(Runtime(), {"name": JOB, "body": body("fail", tasks=2)})
    value = err.value.value
    assert value["tags"] == ["OperationError"]
    assert "non-zero status of 3" in value["message"]
    assert value["operation"]["done"] is True and value["operation"]["metadata"]["failedCount"] == 2


def test_task_retries_count_attempts(tmp_path: Path, script: Path) -> None:
    """With max_retries 1 a task failing once succeeds on CLOUD_RUN_TASK_ATTEMPT 1."""
    result = jobs(tmp_path, script, retries=1).run(
        Runtime(), {"name": JOB, "body": body("fail_first")}
    )
    assert result["succeededCount"] == 1 and result["retriedCount"] == 1
    assert (tmp_path / "out" / "task0-a1.json").is_file()


def test_task_timeout_sends_sigterm(tmp_path: Path, script: Path) -> None:
    """A task past overrides.timeout gets SIGTERM and the execution fails."""
    with pytest.raises(WorkflowError) as err:
        jobs(tmp_path, script).run(Runtime(), {"name": JOB, "body": body("hang", timeout="1s")})
    assert "non-zero status of 143" in err.value.value["message"]


def test_unknown_job_and_bad_name(tmp_path: Path, script: Path) -> None:
    """An unknown job is HttpError 404; a malformed name is 400."""
    connector = jobs(tmp_path, script)
    with pytest.raises(WorkflowError) as missing:
        connector.run(Runtime(), {"name": "projects/p/locations/l/jobs/bp-nope"})
    with pytest.raises(WorkflowError) as bad:
        connector.run(Runtime(), {"name": "jobs/bp-fake"})
    assert missing.value.value["code"] == 404 and bad.value.value["code"] == 400


def test_output_is_logged_and_parsed(tmp_path: Path, script: Path) -> None:
    """Task output lands in a log file per task and JSON lines reach the observer parsed."""
    lines: list[TaskLine] = []
    connector = jobs(tmp_path, script, events=TaskEvents(on_line=lines.append))
    assert NAME in connector.functions()
    result = connector.run(Runtime(), {"name": JOB, "body": body()})
    assert any(ln.record and ln.record.get("progress") == {"done": 1, "total": 2} for ln in lines)
    log = Path(result["logUri"].removeprefix("file://"))
    assert "working" in log.read_text()
