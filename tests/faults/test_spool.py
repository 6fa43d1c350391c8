"""Spool folders: a job's local scratch space, removed on the way out or swept once it died."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

import pytest
from bp_sdk import spool
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage

from tests.conftest import script


@pytest.fixture
def local_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private TMPDIR for this test (the spool root lives under it)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_spool_dir_is_owned_and_removed(local_tmp: Path) -> None:
    """A spool folder is named after its owner, records pid/start/host, and goes with its block."""
    with spool.spool_dir("export") as folder:
        assert folder.parent == local_tmp / "bp-spool"
        assert folder.name.startswith(f"export-{os.getpid()}-")
        owner = json.loads((folder / spool.OWNER_FILE).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        (folder / "a.bin").write_bytes(b"x")
    assert not folder.exists()
    with pytest.raises(ValueError, match="lower-case"):
        spool.make_spool("../escape")


def test_remove_own_only_removes_this_process_folders(local_tmp: Path) -> None:
    """remove_own removes what this process made and nothing of anyone else's."""
    mine = spool.make_spool("encoders")
    other = local_tmp / "bp-spool" / "other-1-abc"
    other.mkdir()
    assert spool.remove_own() == 1
    assert not mine.exists() and other.exists()


def _dead_spool(local_tmp: Path, name: str = "dead") -> Path:
    code = f"from bp_sdk.spool import make_spool; print(make_spool({name!r}))"
    env = {**os.environ, "TMPDIR": str(local_tmp)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    return Path(out.stdout.strip())


def test_sweep_removes_dead_keeps_live_and_foreign(local_tmp: Path) -> None:
    """Folders of dead processes go; of live processes, of other hosts, or unknown, stay."""
    dead = _dead_spool(local_tmp)
    (dead / "big.bin").write_bytes(b"x" * 1000)
    live = spool.make_spool("live")
    foreign = local_tmp / "bp-spool" / "x-1-abc"
    foreign.mkdir()
    (foreign / spool.OWNER_FILE).write_text(json.dumps({"pid": 1, "start": 0, "host": "elsewhere"}))
    unknown = local_tmp / "bp-spool" / "not-ours"
    unknown.mkdir()
    dry = spool.sweep(dry_run=True)
    assert dry.removed == [dead.name] and dead.exists()
    report = spool.sweep()
    assert report.removed == [dead.name] and report.removed_bytes >= 1000
    assert not dead.exists() and live.exists() and foreign.exists() and unknown.exists()
    spool.remove_spool(live)


def test_reused_pid_counts_as_dead(local_tmp: Path) -> None:
    """A folder whose pid now belongs to another process (other start time) is swept."""
    folder = local_tmp / "bp-spool" / f"stale-{os.getpid()}-abc"
    folder.mkdir(parents=True)
    owner = {"pid": os.getpid(), "start": -1, "host": socket.gethostname()}
    (folder / spool.OWNER_FILE).write_text(json.dumps(owner))
    assert spool.is_alive(os.getpid()) and not spool.is_alive(os.getpid(), -1)
    assert spool.sweep().removed == [folder.name]


def test_folder_without_owner_file_swept_after_grace(local_tmp: Path) -> None:
    """A folder killed before its owner file was written goes once its pid is dead and it is old."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, timeout=60, check=True)
    folder = local_tmp / "bp-spool" / f"coacd-{proc.stdout.strip()}-abc"
    folder.mkdir(parents=True)
    assert spool.sweep().removed == []  # too young: its owner file may be on its way
    old = folder.stat().st_mtime - spool.ORPHAN_GRACE_S - 5
    os.utime(folder, (old, old))
    assert spool.sweep().removed == [folder.name]


def test_cleanup_grace_applies_to_folders_without_owner_file(local_tmp: Path, tmp_path: Path) -> None:
    """`bp cleanup --grace 0s` removes a dead pid's folder without owner file at once; 24h waits the default grace."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, timeout=60, check=True)
    folder = local_tmp / "bp-spool" / f"export-spool-{proc.stdout.strip()}-abc"
    folder.mkdir(parents=True)
    store = tmp_path / "store"
    store.mkdir()
    env = {**os.environ, "TMPDIR": str(local_tmp)}

    def cleanup(grace: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([script("bp"), "cleanup", "--storage", store.as_uri(), "--grace", grace],
                              env=env, capture_output=True, text=True, timeout=120, check=False)

    kept = cleanup("24h")
    assert kept.returncode == 0, kept.stderr
    assert folder.exists()  # too young for the default grace: its owner file may be on its way
    swept = cleanup("0s")
    assert swept.returncode == 0, swept.stderr
    assert not folder.exists() and "1 spool folders of dead processes" in swept.stderr


class _Settings(JobSettings):
    stage_name: ClassVar[str] = "spooler"


class _Spooler(Stage[_Settings]):
    """Makes a spool folder and never removes it (the runner must)."""

    name = "spooler"
    distribution = "bp-sdk"
    settings_cls = _Settings
    fail = False
    made: Path | None = None

    def inputs(self, settings: _Settings, storage: Storage) -> dict[str, str]:
        return {}

    def run(self, ctx: StageContext[_Settings]) -> StageResult:
        type(self).made = spool.make_spool("spooler")
        (type(self).made / "scratch.bin").write_bytes(b"x" * 100)
        if self.fail:
            raise RuntimeError("boom")
        return StageResult()


@pytest.mark.parametrize("fail", [False, True])
def test_runner_removes_the_job_spool_on_the_way_out(fail: bool, local_tmp: Path, tmp_path: Path) -> None:
    """Whether the stage commits or fails, its spool folders are gone when run_stage returns."""
    stage = _Spooler()
    stage.fail = fail
    env = {"STORAGE_URI": (tmp_path / "bp-data").as_uri(), "SCENE_ID": "s", "RUN_ID": "r"}
    assert run_stage(stage, env) == (1 if fail else 0)
    assert _Spooler.made is not None and not _Spooler.made.exists()


def test_runner_sweeps_dead_jobs_spool_at_start(local_tmp: Path, tmp_path: Path) -> None:
    """Every job starts by sweeping the spool folders that killed jobs left on this machine."""
    dead = _dead_spool(local_tmp)
    env = {"STORAGE_URI": (tmp_path / "bp-data").as_uri(), "SCENE_ID": "s", "RUN_ID": "r"}
    assert run_stage(_Spooler(), env) == 0
    assert not dead.exists()
