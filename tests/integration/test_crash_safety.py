"""SIGKILL at random points leaves nothing readers take; re-runs complete, then skip."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from bp_contracts.scene_manifest import SceneManifest
from bp_sdk.commit import read_committed
from bp_sdk.errors import ExitCode
from bp_sdk.layout import Unit, stage_dir
from bp_sdk.markers import list_markers
from bp_sdk.storage import Storage

from tests.conftest import job_env, put_scene, script
from tests.integration.bigscene import big_blueprint

pytestmark = pytest.mark.slow
SCENE = "big"


def _run(env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script("bp-ingest")], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _assert_nothing_or_complete(storage: Storage, run: str) -> bool:
    """Readers see either no commit, or a commit whose every file verifies."""
    units = read_committed(storage, SCENE, run, "ingest")
    if units is None:
        return False
    for unit in units:
        for name in unit.record.files:
            unit.read_bytes(name)  # raises if any byte differs from the record
    return True


def test_sigkill_at_random_points(file_storage: Storage) -> None:
    """Kill -9 anywhere in ingest: no reader takes partial output; the re-run completes and a third run skips."""
    put_scene(file_storage, SCENE, big_blueprint(1500))  # 31,500 objects
    started = time.monotonic()
    assert _run(job_env(file_storage, SCENE, run="calibrate")).returncode == 0
    duration = time.monotonic() - started

    rng = random.Random(20261123)
    delays = sorted(rng.uniform(0.05, 1.0) * duration for _ in range(8))
    committed_early = 0
    for attempt, delay in enumerate(delays):
        env = job_env(file_storage, SCENE, run="r-crash", CLOUD_RUN_EXECUTION="exec1",
                      CLOUD_RUN_TASK_ATTEMPT=str(attempt))
        proc = subprocess.Popen([script("bp-ingest")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        committed_early += _assert_nothing_or_complete(file_storage, "r-crash")
        if committed_early:
            break
    # some kill must have landed before the commit, or the test proved nothing
    assert committed_early == 0 or delays.index(delay) > 0
    # at least one kill landed while the manifest was being written (a temp file in an attempt folder)
    attempts_dir = Path(file_storage.root) / stage_dir(SCENE, "r-crash", "ingest") / "attempts"  # type: ignore[attr-defined]
    assert attempts_dir.is_dir() and any(attempts_dir.iterdir()), "no kill landed during the write phase"

    final = _run(job_env(file_storage, SCENE, run="r-crash", CLOUD_RUN_EXECUTION="exec1", CLOUD_RUN_TASK_ATTEMPT="50"))
    assert final.returncode == 0, final.stderr
    assert _assert_nothing_or_complete(file_storage, "r-crash")
    unit = read_committed(file_storage, SCENE, "r-crash", "ingest")[0]  # type: ignore[index]
    manifest = unit.read_model("scene_manifest.json", SceneManifest)
    assert manifest.object_count == 31_500
    record_bytes = file_storage.read_bytes(Unit(SCENE, "r-crash", "ingest").commit_path)

    again = _run(job_env(file_storage, SCENE, run="r-crash"))
    assert again.returncode == 0
    assert any(json.loads(line).get("skipped") for line in again.stderr.splitlines() if line.startswith("{"))
    assert file_storage.read_bytes(Unit(SCENE, "r-crash", "ingest").commit_path) == record_bytes
    # the manifest is identical to the uninterrupted calibration run's
    calib = read_committed(file_storage, SCENE, "calibrate", "ingest")[0]  # type: ignore[index]
    assert calib.record.files == unit.record.files


def test_sigterm_writes_marker_and_exits_143(file_storage: Storage) -> None:
    """SIGTERM mid-stage writes a retryable failure marker and exits 143; nothing is committed."""
    put_scene(file_storage, SCENE, big_blueprint(3000))
    env = job_env(file_storage, SCENE, run="r-term", CLOUD_RUN_EXECUTION="exec9")
    proc = subprocess.Popen([script("bp-ingest")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if "objects validated" in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == int(ExitCode.SIGTERM), err
    assert read_committed(file_storage, SCENE, "r-term", "ingest") is None
    markers = list_markers(file_storage, Unit(SCENE, "r-term", "ingest"))
    assert len(markers) == 1
    m = markers[0]
    assert m.error_type == "Terminated" and not m.permanent and m.exit_code == 143
    assert m.execution == "exec9" and m.attempt_id == "exec9-a0"
    assert m.partial_results.get("progress"), "partial results (progress) should be recorded"
