"""workflows/pipeline.yaml through the local interpreter with the real jobs: a blueprint to a
verified delivery, a transient failure retried, a permanent one stopping the run."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from bp_cli.local_flow import LocalSetup, deploy
from bp_flow.runtime import FakeClock
from bp_sdk.layout import SUCCESS
from bp_sdk.markers import FailureMarker
from bp_sdk.storage import open_storage

from tests.conftest import EXAMPLES
from tests.orchestration.support import SMALL, bp, broken_scene, put_loose_gate

HERE = Path(__file__).resolve().parent
STAGES = [
    "ingest",
    "simready",
    "assemble",
    "variations",
    "tasks",
    "episodes",
    "export",
    "gate",
    "deliver",
]


def commit_times(root: Path) -> dict[str, str]:
    """Every commit record (reports aside) → its committed_at."""
    out = {}
    for path in root.rglob(SUCCESS):
        if "/reports/" not in path.as_posix():
            out[path.relative_to(root).as_posix()] = json.loads(path.read_text())["committed_at"]
    return out


TWO_TASKS = "pick_place_banana_1_to_counter,pick_place_can_soda_left"


@pytest.mark.slow
def test_blueprint_to_verified_delivery_and_rerun_does_no_work(tmp_path: Path) -> None:
    """`bp run` executes pipeline.yaml: kitchen_counter is delivered, `bp verify` passes on
    the copy, the report is committed; running it again commits nothing new."""
    root = tmp_path / "store"
    storage = open_storage(root.as_uri())
    # two of kitchen_counter's seven pick-and-place tasks: one episode for each of the 2 tasks
    settings = {**SMALL, "EPISODES_TASKS": TWO_TASKS, **put_loose_gate(storage)}
    scene = str(EXAMPLES / "kitchen_counter")
    first = bp(
        "run", scene, "--storage", root.as_uri(), "--tasks", "2", cwd=tmp_path, settings=settings
    )
    assert first.code == 0, first.err[-4000:]
    assert "status: delivered" in first.err
    for stage in STAGES:
        assert f"✓ {stage} ok" in first.err, stage
    (run,) = storage.list_dirs("scenes/kitchen_counter/runs/")
    delivered = root / "deliveries" / "internal" / f"kitchen_counter-{run}"
    assert (delivered / "_DELIVERY.json").is_file()
    assert bp("verify", str(delivered), cwd=tmp_path).code == 0
    assert storage.list_dirs(f"scenes/kitchen_counter/runs/{run}/reports/"), "no run report"
    assert list((tmp_path / "bp-logs" / run).glob("bp-episodes-*.log"))
    before = commit_times(root)
    again = bp(
        "run", scene, "--storage", root.as_uri(), "--tasks", "2", cwd=tmp_path, settings=settings
    )
    assert again.code == 0, again.err[-3000:]
    for stage in STAGES:
        assert f"✓ {stage} already committed" in again.err, stage
    assert commit_times(root) == before


def test_transient_failure_is_retried_and_the_run_completes(tmp_path: Path) -> None:
    """simready fails once with a retryable error: the workflow reads its marker, waits the
    back-off (10 s on the workflow's clock), runs the job again and the run completes."""
    root = tmp_path / "store"
    storage = open_storage(root.as_uri())
    from bp_cli.scenes import upload_scene

    upload_scene(storage, EXAMPLES / "kitchen_counter", "kitchen_counter")
    clock = FakeClock(start=time.time())
    setup = LocalSetup(
        root.as_uri(),
        commands={"simready": [sys.executable, str(HERE / "flaky_simready.py")]},
        job_env={"FLAKY_COUNTER": str(tmp_path / "flaky.txt")},
        clock=clock,
    )
    deployment, _launcher = deploy(setup)
    args = {"scene_id": "kitchen_counter", "run_id": "r-flaky", "until": "tasks", "report": False}
    outcome = deployment.execute("pipeline", args)
    assert outcome.state == "SUCCEEDED", outcome.error
    simready = next(s for s in outcome.result["stages"] if s["stage"] == "simready")
    assert simready["attempts"] == 2 and clock.sleeps == [10]
    markers = [
        FailureMarker.model_validate_json(storage.read_bytes(i.path))
        for i in storage.list("scenes/kitchen_counter/runs/r-flaky/simready/")
        if i.path.endswith("_FAILURE.json")
    ]
    assert len(markers) == 1 and markers[0].permanent is False and "transient" in markers[0].message
    assert storage.exists("scenes/kitchen_counter/runs/r-flaky/tasks/_SUCCESS.json")


def test_permanent_failure_stops_the_run_with_the_markers_message(tmp_path: Path) -> None:
    """A broken blueprint fails ingest permanently: one summary with the problem and the next
    step, no traceback, exit 3, nothing downstream ran."""
    scene = broken_scene(tmp_path / "broken")
    root = tmp_path / "store"
    ran = bp("run", str(scene), "--storage", root.as_uri(), cwd=tmp_path)
    assert ran.code == 3, ran.err[-3000:]
    assert "ingest failed (InputError)" in ran.err and "$.objects[0].size[0]" in ran.err
    assert "next:" in ran.err and "marker: file://" in ran.err
    assert "Traceback" not in ran.err + ran.out
    (run,) = open_storage(root.as_uri()).list_dirs("scenes/broken/runs/")
    assert sorted(p.name for p in (root / "scenes" / "broken" / "runs" / run).iterdir()) in (
        ["ingest"],
        ["ingest", "reports"],
    )


def test_ctrl_c_stops_the_tasks_and_leaves_markers(tmp_path: Path) -> None:
    """Ctrl-C during episodes: every task gets SIGTERM and writes its failure marker, bp
    exits 130 saying how to resume, and no job process is left running."""
    import signal
    import subprocess

    import psutil

    from tests.conftest import script

    root = tmp_path / "store"
    argv = [
        script("bp"),
        "run",
        str(EXAMPLES / "kitchen_counter"),
        "--storage",
        root.as_uri(),
        "--until",
        "episodes",
        "--no-report",
    ]
    argv += [f"--set={k}={v}" for k, v in SMALL.items()]
    # a shell's background job (`cmd &`) starts with SIGINT ignored, and a child inherits
    # that through exec: bp would never see the Ctrl-C. A handler (not SIG_IGN) in this
    # process while it forks gives the child the default disposition, as a terminal would.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    seen = ""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen += line
        if "▶ episodes started" in line:
            break
    children = psutil.Process(proc.pid).children(recursive=True)
    time.sleep(3)  # the episode tasks are at work
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    assert "run the same command again to resume" in err
    (run,) = open_storage(root.as_uri()).list_dirs("scenes/kitchen_counter/runs/")
    markers = [
        FailureMarker.model_validate_json(p.read_bytes())
        for p in (root / "scenes" / "kitchen_counter" / "runs" / run / "episodes").rglob(
            "_FAILURE.json"
        )
    ]
    assert markers and all(m.error_type == "Terminated" for m in markers)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
