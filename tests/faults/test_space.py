"""The one-line errors for full, read-only and refused space, and where they come from."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import ClassVar

import pytest
from bp_sdk.errors import BPError, RetryableError, StorageFull, StorageRefused
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.space import explain, space_error
from bp_sdk.storage import Storage, open_storage

from tests.faults.checks import FULL, failure_line
from tests.faults.mounts import fill, remount_read_only, tmpfs


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [
        (errno.ENOSPC, StorageFull, "storage full at k: no space left on the device (ENOSPC); free space or raise the quota, then retry"),
        (errno.EDQUOT, StorageFull, "storage full at k: disk quota exceeded (EDQUOT); free space or raise the quota, then retry"),
        (errno.EROFS, StorageRefused, "storage read-only at k: the file system is read-only (EROFS); make it writable for the job (or use another location), then retry"),
        (errno.EACCES, StorageRefused, "storage refused the write at k: permission denied (EACCES); make it writable for the job (or use another location), then retry"),
    ],
)
def test_space_error_messages(code: int, kind: type[BPError], text: str) -> None:
    """Each errno gives its own one line: what, where, what to do; exit 1 (retryable)."""
    err = space_error(OSError(code, os.strerror(code)), "k")
    assert isinstance(err, kind) and err.message == text and int(err.exit_code) == 1


def test_explain_names_places_without_host_paths(tmp_path: Path) -> None:
    """A named file under the storage root is a key under its name; under TMPDIR, TMPDIR/…; else a bare name."""
    root = tmp_path / "bp-data"
    inside = OSError(errno.ENOSPC, "full", str(root / "scenes" / "x.json"))
    assert explain(inside, root, "bp-data").message.startswith("storage full at bp-data/scenes/x.json:")  # type: ignore[union-attr]
    local = OSError(errno.ENOSPC, "full", str(Path(tempfile.gettempdir()) / "bp-spool" / "a.bin"))
    assert explain(local).message.startswith("local temp space full at TMPDIR/bp-spool/a.bin:")  # type: ignore[union-attr]
    other = OSError(errno.EROFS, "ro", "/opt/some/where/file.log")
    msg = explain(other).message  # type: ignore[union-attr]
    assert msg.startswith("local disk read-only at file.log:") and "/opt" not in msg
    wrapped = RuntimeError("encoder failed")
    wrapped.__cause__ = OSError(errno.EDQUOT, "quota", str(root / "a"))
    assert isinstance(explain(wrapped, root, "bp-data"), StorageFull)
    assert explain(ValueError("no")) is None and explain(OSError(errno.EIO, "io")) is None


def test_full_local_storage_raises_one_line(tmp_path: Path) -> None:
    """A write to a full file:// root raises StorageFull naming the key, and leaves no temp file."""
    with tmpfs(tmp_path / "bp-data", 256 << 10) as mnt:
        storage = open_storage(mnt.as_uri())
        fill(mnt, 4096)
        with pytest.raises(StorageFull) as info:
            storage.write_bytes("scenes/s/input/scene.json", os.urandom(64 << 10))
        assert info.value.message.startswith("storage full at bp-data/scenes/s/input/scene.json: ")
        assert str(mnt) not in str(info.value)
        assert not list(mnt.rglob(".bp-tmp-*"))
        with pytest.raises(StorageFull), storage.open_write("a/b.bin") as f:
            for _ in range(64):
                f.write(b"x" * 4096)
        assert storage.free_bytes() is not None


def test_read_only_local_storage_raises_one_line(tmp_path: Path) -> None:
    """Writes, deletes and the up-front check on a read-only root raise StorageRefused."""
    with tmpfs(tmp_path / "bp-data", 1 << 20) as mnt:
        storage = open_storage(mnt.as_uri())
        storage.write_bytes("k/x.json", b"{}")
        remount_read_only(mnt)
        with pytest.raises(StorageRefused, match=r"^storage read-only at bp-data/k/y\.json: "):
            storage.write_bytes("k/y.json", b"{}")
        with pytest.raises(StorageRefused, match=r"storage read-only at bp-data/k/x\.json"):
            storage.delete("k/x.json")
        with pytest.raises(StorageRefused, match="storage read-only at bp-data: "):
            storage.check_writable()
        with pytest.raises(StorageRefused, match="storage read-only at missing: "):
            open_storage((mnt / "missing").as_uri())
        assert storage.read_bytes("k/x.json") == b"{}"  # reading still works


class _Settings(JobSettings):
    stage_name: ClassVar[str] = "probe"


class _SwallowingStage(Stage[_Settings]):
    """Writes until storage is full, then re-raises the error as a vaguer one (as a stage
    that collects per-file problems does)."""

    name = "probe"
    distribution = "bp-sdk"
    settings_cls = _Settings

    def inputs(self, settings: _Settings, storage: Storage) -> dict[str, str]:
        return {}

    def run(self, ctx: StageContext[_Settings]) -> StageResult:
        try:
            for i in range(1000):
                ctx.output.write_bytes(f"part-{i}.bin", os.urandom(32 << 10))
        except BPError:
            raise RetryableError("copy failed for 1 file", next_step="retry") from None
        return StageResult()


def test_runner_names_a_swallowed_space_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stage that turns 'storage full' into a vague error still fails with the one storage-full line."""
    with tmpfs(tmp_path / "bp-data", 1 << 20) as mnt:
        env = {"STORAGE_URI": mnt.as_uri(), "SCENE_ID": "s", "RUN_ID": "r", "CLOUD_RUN_EXECUTION": "e"}
        capsys.readouterr()
        assert run_stage(_SwallowingStage(), env) == 1
        m = failure_line(capsys.readouterr().err, FULL, "probe", [str(mnt)])
        assert m.group("unwritten") is None  # the partial files were removed: the marker fits
        attempt = mnt / "scenes/s/runs/r/probe/attempts/e-a0"
        assert sorted(p.name for p in attempt.iterdir()) == ["_FAILURE.json"]
        assert '"superseded_error": "RetryableError: copy failed for 1 file"' in (attempt / "_FAILURE.json").read_text()


class _LocalDiskStage(_SwallowingStage):
    def run(self, ctx: StageContext[_Settings]) -> StageResult:
        raise OSError(errno.EROFS, "Read-only file system")


def test_runner_unnamed_local_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An OSError with no file name from stage code is one line too (no traceback)."""
    root = tmp_path / "bp-data"
    env = {"STORAGE_URI": root.as_uri(), "SCENE_ID": "s", "RUN_ID": "r"}
    capsys.readouterr()
    assert run_stage(_LocalDiskStage(), env) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "local disk read-only at a file the job was writing" in err


