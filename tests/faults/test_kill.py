"""SIGKILL every stage's job while it writes, then ``bp cleanup --grace 0s``: nothing is left.

Each stage's console script runs on a copy of a real store in which it has its work to do,
with its own TMPDIR. As soon as it has written something (a file in its attempt folder, a
temp file beside its commit record, a spool folder, local temp files, or for deliver a
file of the delivered copy) its process group gets SIGKILL, as a container does. After
``bp cleanup --grace 0s``: no uncommitted attempt folder, no ``.bp-tmp-*`` anywhere, no
spool folder of the dead process, nothing under ``deliveries/`` that is not a complete
delivery, and every committed unit still verifies.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from bp_sdk.commit import CommitRecord, CommittedUnit
from bp_sdk.storage import open_storage

from tests.conftest import script
from tests.faults.stages import Spec, env_for

pytestmark = pytest.mark.slow
STAGES = ["ingest", "simready", "assemble", "variations", "tasks", "episodes", "export", "gate",
          "deliver", "report"]
TRIES = 5
POLL_S = 0.002
JOB_TIMEOUT_S = 240


@dataclass
class Killed:
    """What the kill interrupted and what cleanup left."""

    seen: str
    root: Path
    tmp: Path
    cleanup_output: str


def _written(root: Path, spec: Spec, tmp: Path) -> str | None:
    """What the job has written so far that cleanup must deal with, if anything."""
    unit = root / spec.unit.dir
    if spec.name == "deliver":
        found = [p for p in (root / "deliveries").rglob("*") if p.is_file()]
        return f"delivery file {found[0].name}" if found else None
    for p in (unit / "attempts").rglob("*") if (unit / "attempts").is_dir() else []:
        if p.is_file():
            return f"attempt file {p.name}"
    if unit.is_dir() and any(p.name.startswith(".bp-tmp-") for p in unit.iterdir()):
        return "temp file beside the commit record"
    spool = tmp / "bp-spool"
    if spool.is_dir() and any(spool.iterdir()):
        return "spool folder"
    # a job's own local folders (bp-…); Python's tempfile probes TMPDIR with short-lived
    # files of random names at start-up: those are not the job's writes
    if any(p.name.startswith("bp-") and p.name != "bp-spool" for p in tmp.iterdir()):
        return "local temp folder"
    return None


def _kill_when_written(spec: Spec, root: Path, tmp: Path, execution: str) -> str | None:
    """Start the job; SIGKILL its process group once it wrote something. What it had
    written, or None if it ended on its own first."""
    env = env_for(root.as_uri(), spec, CLOUD_RUN_EXECUTION=execution, TMPDIR=str(tmp))
    with (tmp.parent / f"{execution}.log").open("wb") as log:
        proc = subprocess.Popen([script(spec.script)], env=env, stdout=log, stderr=log,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while proc.poll() is None and time.monotonic() < deadline:
            seen = _written(root, spec, tmp)
            if seen is not None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return seen
            time.sleep(POLL_S)
        assert proc.poll() is not None, f"{spec.script} neither wrote nor ended in {JOB_TIMEOUT_S}s"
        return None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def kill_and_clean(spec: Spec, prepared: Path, work: Path) -> Killed:
    """Kill the stage mid-write (retrying on a fresh copy if it finished first), then clean."""
    root, tmp = work / "bp-data", work / "tmp"
    for attempt in range(TRIES):
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(prepared, root)
        tmp.mkdir(parents=True)
        seen = _kill_when_written(spec, root, tmp, f"kill{attempt}")
        if seen is not None:
            break
    else:
        pytest.fail(f"{spec.script} finished before writing anything, {TRIES} times")
    env = {**os.environ, "TMPDIR": str(tmp)}
    out = subprocess.run([script("bp"), "cleanup", "--storage", root.as_uri(), "--grace", "0s"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return Killed(seen, root, tmp, out.stderr)


def _committed(root: Path) -> list[CommitRecord]:
    return [CommitRecord.model_validate_json(p.read_bytes()) for p in root.rglob("_SUCCESS.json")]


def assert_storage_clean(k: Killed) -> None:
    """No uncommitted attempt folder, no temp file, no incomplete delivery; commits verify."""
    records = _committed(k.root)
    committed = {r.attempt_dir for r in records}
    # an attempt that failed with a marker keeps it (bp cleanup without --remove-markers):
    # a folder holding only _FAILURE.json is a record, not garbage
    attempts = {p.relative_to(k.root).as_posix() for d in k.root.rglob("attempts") if d.is_dir()
                for p in d.iterdir()
                if {f.name for f in p.rglob("*") if f.is_file()} != {"_FAILURE.json"}}
    assert attempts <= committed, f"left after cleanup: {sorted(attempts - committed)}"
    temps = [p.relative_to(k.root).as_posix() for p in k.root.rglob(".bp-tmp-*")]
    assert temps == [], temps
    deliveries = k.root / "deliveries"
    for folder in deliveries.glob("*/*") if deliveries.is_dir() else []:
        assert (folder / "_DELIVERY.json").is_file(), f"incomplete delivery left: {folder.name}"
    storage = open_storage(k.root.as_uri())
    for record in records:
        unit = CommittedUnit(storage, record)
        for name in record.files:
            unit.read_bytes(name)  # raises if a committed byte changed


def local_temp_left(k: Killed) -> list[str]:
    """Everything left in the job's TMPDIR (an empty spool root does not count)."""
    spool = k.tmp / "bp-spool"
    return sorted(p.name for p in k.tmp.iterdir() if p != spool) + sorted(
        f"bp-spool/{p.name}" for p in (spool.iterdir() if spool.is_dir() else [])
    )


@pytest.mark.parametrize("name", STAGES)
def test_kill_then_cleanup_leaves_nothing(name: str, stage_specs: dict[str, Spec],
                                          prepared: dict[str, Path], tmp_path: Path) -> None:
    """SIGKILL mid-write, then bp cleanup --grace 0s: no attempt, temp, spool or partial delivery left."""
    k = kill_and_clean(stage_specs[name], prepared[name], tmp_path)
    assert_storage_clean(k)
    assert local_temp_left(k) == [], f"killed at: {k.seen}"
