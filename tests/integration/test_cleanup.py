"""Cleanup removes stale uncommitted attempts and never touches committed ones."""

from __future__ import annotations

import json
import os
import socket
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


def _ingest(file_storage: Storage, scene_factory) -> tuple[str, Unit]:
    scene = scene_factory()
    assert run_stage(IngestStage(), job_env(file_storage, scene, run="r1", CLOUD_RUN_EXECUTION="good")) == 0
    return scene, Unit(scene, "r1", "ingest")


def test_stage_level_temp_links_are_removed(file_storage: Storage, storage_root: Path, scene_factory) -> None:
    """`.bp-tmp-*` hard links of _SUCCESS.json beside the record (a kill between link and unlink) go with --grace 0s."""
    _scene, unit = _ingest(file_storage, scene_factory)
    record = storage_root / unit.commit_path
    links = [record.parent / ".bp-tmp-abc12345", record.parent / ".bp-tmp-def67890"]
    for link in links:
        os.link(record, link)
    report = cleanup(file_storage, timedelta(0))
    assert sorted(report.temp_files) == sorted(p.relative_to(storage_root).as_posix() for p in links)
    assert not any(p.exists() for p in links)
    assert record.is_file() and report.committed_attempts == 1
    assert read_committed(file_storage, unit.scene, "r1", "ingest") is not None


def test_temp_files_anywhere_are_removed_after_grace(file_storage: Storage, storage_root: Path) -> None:
    """Interrupted writes of inputs, approvals and leases are temp files too; recent ones are kept."""
    old = [storage_root / "scenes/s/input/.bp-tmp-1", storage_root / "datasets/d/approvals/.bp-tmp-2",
           storage_root / "scenes/s/runs/r/.bp-tmp-3"]
    for p in old:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half")
    _age(storage_root, "scenes", DAY)
    _age(storage_root, "datasets", DAY)
    fresh = storage_root / "scenes/s/input/.bp-tmp-4"
    fresh.write_bytes(b"being written")
    report = cleanup(file_storage, timedelta(hours=1))
    assert len(report.temp_files) == 3 and not any(p.exists() for p in old)
    assert fresh.exists()


def test_deliveries_swept(file_storage: Storage, storage_root: Path) -> None:
    """An incomplete delivery (no _DELIVERY.json) goes; a complete one keeps all but its temp files."""
    done = Path("deliveries/acme/ds-1")
    file_storage.write_bytes(f"{done}/meta/info.json", b"{}")
    file_storage.write_bytes(f"{done}/_DELIVERY.json", b"{}")
    leftover = storage_root / done / "robomimic" / ".bp-tmp-xyz"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"x" * 1000)
    partial = Path("deliveries/acme/ds-2")
    file_storage.write_bytes(f"{partial}/meta/info.json", b"{}")
    file_storage.write_bytes(f"{partial}/DELIVERY.md", b"# statement without a record")
    dry = cleanup(file_storage, timedelta(0), dry_run=True)
    assert dry.incomplete_deliveries == [partial.as_posix()] and leftover.exists()
    report = cleanup(file_storage, timedelta(0))
    assert report.incomplete_deliveries == [partial.as_posix()]
    assert report.temp_files == [leftover.relative_to(storage_root).as_posix()]
    assert not (storage_root / partial).exists() and not leftover.exists()
    assert file_storage.exists(f"{done}/meta/info.json") and not (storage_root / done / "robomimic").exists()


def test_recent_incomplete_delivery_kept(file_storage: Storage) -> None:
    """A delivery being copied right now (newer than the grace period) is left alone."""
    file_storage.write_bytes("deliveries/acme/ds-3/meta/info.json", b"{}")
    report = cleanup(file_storage, timedelta(hours=1))
    assert report.incomplete_deliveries == [] and report.kept_recent == ["deliveries/acme/ds-3"]
    assert file_storage.exists("deliveries/acme/ds-3/meta/info.json")


def test_separate_delivery_root(tmp_path: Path) -> None:
    """DELIVER_ROOT (<customer>/<dataset>/) is swept the same way by cleanup_delivery_root."""
    from bp_sdk.cleanup import cleanup_delivery_root
    from bp_sdk.storage import open_storage

    root = open_storage((tmp_path / "delivery-bucket").as_uri())
    root.write_bytes("acme/ds-1/meta/info.json", b"{}")
    root.write_bytes("acme/ds-1/_DELIVERY.json", b"{}")
    root.write_bytes("acme/ds-2/meta/info.json", b"{}")
    report = cleanup_delivery_root(root, timedelta(0))
    assert report.incomplete_deliveries == ["acme/ds-2"]
    assert root.exists("acme/ds-1/_DELIVERY.json") and not root.exists("acme/ds-2/meta/info.json")


def test_empty_attempt_folders_pruned(file_storage: Storage, storage_root: Path) -> None:
    """A folder a writer made but never filled (killed before its first file) goes too."""
    empty = storage_root / Unit("s", "r", "ingest").attempt_dir("killed-a0")
    empty.mkdir(parents=True)
    report = cleanup(file_storage, timedelta(0))
    assert report.empty_folders >= 1 and not empty.exists()


def test_interrupted_delivery_with_an_empty_subfolder_goes_whole(file_storage: Storage,
                                                                 storage_root: Path) -> None:
    """A killed copy that left a file and an empty subfolder is removed entirely, although
    removing its file makes the delivery folder itself newer than the sweep's start."""
    partial = storage_root / "deliveries" / "internal" / "kitchen-core"
    file_storage.write_bytes("deliveries/internal/kitchen-core/README.md", b"# no record")
    (partial / "videos" / "chunk-000").mkdir(parents=True)
    _age(storage_root, "deliveries", 3600)
    report = cleanup(file_storage, timedelta(0))
    assert report.incomplete_deliveries == ["deliveries/internal/kitchen-core"]
    assert not partial.exists(), sorted(p.name for p in partial.rglob("*"))


def test_unreadable_record_keeps_its_attempts(file_storage: Storage, storage_root: Path) -> None:
    """A damaged commit record is reported and its unit's attempts are left alone (never guess)."""
    unit = Unit("s", "r", "ingest")
    file_storage.write_bytes(unit.commit_path, b"not a record")
    file_storage.write_bytes(join(unit.attempt_dir("a-a0"), "scene_manifest.json"), b"{}")
    report = cleanup(file_storage, timedelta(0))
    assert report.unreadable_records == [unit.commit_path]
    assert file_storage.exists(join(unit.attempt_dir("a-a0"), "scene_manifest.json"))


def test_cleanup_sweeps_dead_spool(file_storage: Storage, tmp_path: Path) -> None:
    """`bp cleanup` removes spool folders of dead processes and keeps those of live ones."""
    spool_tmp = tmp_path / "tmp"
    spool_tmp.mkdir()
    code = ("import os, tempfile; tempfile.tempdir = os.environ['TMPDIR']; "
            "from bp_sdk.spool import make_spool; print(make_spool('dead'))")
    env = {**os.environ, "TMPDIR": str(spool_tmp)}
    made = subprocess.run([script("python"), "-c", code], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    dead = Path(made.stdout.strip())
    assert dead.is_dir() and dead.parent == spool_tmp / "bp-spool"
    live = spool_tmp / "bp-spool" / f"live-{os.getpid()}-x"
    live.mkdir()
    owner = {"pid": os.getpid(), "start": None, "host": socket.gethostname()}
    (live / ".bp-owner.json").write_text(json.dumps(owner))
    out = subprocess.run([script("bp"), "cleanup", "--storage", file_storage.uri, "--grace", "0s"],
                         env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "1 spool folders of dead processes" in out.stderr
    assert not dead.exists() and live.is_dir()
