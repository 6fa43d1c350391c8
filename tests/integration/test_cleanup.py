"""Cleanup removes stale uncommitted attempts and never touches committed ones."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from bp_ingest.stage import IngestStage
from bp_sdk.cleanup import cleanup, parse_duration
from bp_sdk.commit import read_committed
from bp_sdk.layout import Unit
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage, join

from tests.conftest import job_env, script

DAY = 86_400


def _age(root: Path, prefix: str, seconds: float) -> None:
    """Make every file under ``prefix`` look ``seconds`` old."""
    for path in (root / prefix).rglob("*"):
        if path.is_file():
            st = path.stat()
            os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_cleanup_keeps_committed_and_recent(file_storage: Storage, storage_root: Path, scene_factory) -> None:
    """Old uncommitted attempts (incl. interrupted temp files) go; committed, recent and markers stay."""
    scene = scene_factory()
    assert run_stage(IngestStage(), job_env(file_storage, scene, run="r1", CLOUD_RUN_EXECUTION="good")) == 0
    unit = Unit(scene, "r1", "ingest")
    stale = unit.attempt_dir("crashed-a0")
    file_storage.write_bytes(join(stale, "scene_manifest.json"), b"partial")
    file_storage.write_bytes(join(stale, "_FAILURE.json"), b"{}")
    (storage_root / stale / ".bp-tmp-orphan").write_bytes(b"half a write")
    recent = unit.attempt_dir("running-a0")
    file_storage.write_bytes(join(recent, "scene_manifest.json"), b"in progress")
    _age(storage_root, "scenes", 2 * DAY)
    file_storage.write_bytes(join(recent, "more.json"), b"just now")

    dry = cleanup(file_storage, timedelta(hours=24), dry_run=True)
    assert dry.removed == [stale] and file_storage.exists(join(stale, "scene_manifest.json"))

    report = cleanup(file_storage, timedelta(hours=24))
    assert report.removed == [stale]
    assert report.removed_files == 2  # the partial file and the orphaned temp file
    assert report.kept_recent == [recent]
    assert report.committed_attempts == 1
    assert not file_storage.exists(join(stale, "scene_manifest.json"))
    assert not (storage_root / stale / ".bp-tmp-orphan").exists()
    assert file_storage.exists(join(stale, "_FAILURE.json"))  # markers are kept
    committed = read_committed(file_storage, scene, "r1", "ingest")
    assert committed is not None
    committed[0].read_bytes("scene_manifest.json")  # still intact and verified


def test_cleanup_cli(file_storage: Storage, storage_root: Path, scene_factory) -> None:
    """`bp cleanup` and `bp-cleanup` run against a storage root and report what they removed."""
    scene = scene_factory()
    stale = Unit(scene, "r9", "ingest").attempt_dir("x-a0")
    file_storage.write_bytes(join(stale, "a.json"), b"1")
    _age(storage_root, "scenes", 3 * DAY)
    out = subprocess.run([script("bp"), "cleanup", "--storage", file_storage.uri, "--grace", "1d", "--dry-run"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "would remove 1 attempt folders" in out.stderr
    out = subprocess.run([script("bp-cleanup"), "--storage", file_storage.uri, "--grace", "1d"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert not file_storage.exists(join(stale, "a.json"))


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", DAY), ("7d", 7 * DAY)])
def test_parse_duration(text: str, seconds: int) -> None:
    """Grace periods are whole numbers of s, m, h or d."""
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "1.5h", "-1h", "10y"])
def test_parse_duration_rejects(text: str) -> None:
    """Malformed grace periods are refused with the accepted forms."""
    with pytest.raises(ValueError, match="s, m, h or d"):
        parse_duration(text)


def test_cleanup_covers_dataset_stages(file_storage: Storage, storage_root: Path) -> None:
    """Stale attempts of dataset stages (datasets/<id>/<stage>) are garbage too; scene runs and datasets are both swept."""
    stale = Unit("s", "r", "export", dataset="ds-1").attempt_dir("crashed-a0")
    file_storage.write_bytes(join(stale, "meta/info.json"), b"half a dataset")
    other = Unit("s2", "r2", "ingest").attempt_dir("crashed-a0")
    file_storage.write_bytes(join(other, "scene_manifest.json"), b"partial")
    _age(storage_root, "datasets", 2 * DAY)
    _age(storage_root, "scenes", 2 * DAY)
    report = cleanup(file_storage, timedelta(hours=24))
    assert sorted(report.removed) == sorted([stale, other])
    assert stale.startswith("datasets/ds-1/export/attempts/")
    assert not file_storage.exists(join(stale, "meta/info.json"))
