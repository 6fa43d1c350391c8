"""Full or read-only storage, for every stage: one line, exit 1, nothing committed.

Each stage runs in-process (``run_stage``, its entry point's code) on a copy of a real
store in which it has its work to do, placed on a tmpfs that is filled to leave a few KB,
or remounted read-only. The job must exit 1 (retryable), log exactly one error line that
says what ran out or refused, where (a key under the root's name, no host path) and what
to do, write the marker when it fits (and say so when it cannot), commit nothing, and
leave its local temp space empty.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from bp_sdk.runner import run_stage

from tests.faults.checks import FULL, READ_ONLY, assert_marker, failure_line
from tests.faults.mounts import fill, remount_read_only, tmpfs, tree_bytes
from tests.faults.stages import Spec, env_for

pytestmark = pytest.mark.slow
STAGES = ["ingest", "simready", "assemble", "variations", "tasks", "episodes", "export", "gate",
          "deliver", "report"]
LEAVE = 8 << 10  # free bytes left on the full storage: less than any stage writes
MARGIN = 8 << 20
EXECUTION = "fault"
ATTEMPT = f"{EXECUTION}-a0"


def _run(spec: Spec, root: Path, local_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the stage in-process with its local temp space in ``local_tmp``."""
    monkeypatch.setattr(tempfile, "tempdir", str(local_tmp))
    monkeypatch.setenv("TMPDIR", str(local_tmp))  # child processes (encoders, CoACD) too
    return run_stage(spec.make(), env_for(root.as_uri(), spec, CLOUD_RUN_EXECUTION=EXECUTION))


def _local_temp_left(local_tmp: Path) -> list[str]:
    """What the job left in its local temp space (an empty spool root does not count)."""
    return sorted(p.relative_to(local_tmp).as_posix() for p in local_tmp.rglob("*")
                  if p.is_file() or (p.is_dir() and not any(p.iterdir()) and p.name != "bp-spool"))


@pytest.mark.parametrize("name", STAGES)
def test_full_storage_is_one_line(name: str, stage_specs: dict[str, Spec], prepared: dict[str, Path],
                                  tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A storage with a few KB left: exit 1, one 'storage full at …' line, marker or says why not."""
    spec = stage_specs[name]
    local_tmp = tmp_path / "tmp"
    local_tmp.mkdir()
    with tmpfs(tmp_path / "bp-data", tree_bytes(prepared[name]) + MARGIN) as mnt:
        shutil.copytree(prepared[name], mnt, dirs_exist_ok=True)
        fill(mnt, LEAVE)
        capsys.readouterr()
        code = _run(spec, mnt, local_tmp, monkeypatch)
        err = capsys.readouterr().err
        assert code == 1, err[-2000:]
        hosts = [str(mnt), str(tmp_path)]
        m = failure_line(err, FULL, spec.unit.label, hosts)
        assert m.group("what") == "storage" and m.group("where").startswith("bp-data/")
        assert not (mnt / spec.unit.commit_path).exists()
        if m.group("unwritten") is None:
            message = next(r for r in err.splitlines() if '"ERROR"' in r)
            assert_marker(mnt, spec.unit, ATTEMPT, message, "StorageFull", hosts)
    assert _local_temp_left(local_tmp) == []


@pytest.mark.parametrize("name", STAGES)
def test_read_only_storage_is_one_line(name: str, stage_specs: dict[str, Spec],
                                       prepared: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only storage: exit 1 at once, one 'storage read-only' line saying no marker could be written."""
    spec = stage_specs[name]
    local_tmp = tmp_path / "tmp"
    local_tmp.mkdir()
    with tmpfs(tmp_path / "bp-data", tree_bytes(prepared[name]) + MARGIN) as mnt:
        shutil.copytree(prepared[name], mnt, dirs_exist_ok=True)
        remount_read_only(mnt)
        capsys.readouterr()
        code = _run(spec, mnt, local_tmp, monkeypatch)
        err = capsys.readouterr().err
        assert code == 1, err[-2000:]
        m = failure_line(err, READ_ONLY, spec.unit.label, [str(mnt), str(tmp_path)])
        assert m.group("where") == "bp-data"
        assert m.group("unwritten") is not None
        assert not (mnt / spec.unit.dir).exists()
    assert _local_temp_left(local_tmp) == []


@pytest.mark.parametrize("name", ["ingest", "export"])
def test_full_local_temp_is_one_line(name: str, stage_specs: dict[str, Spec],
                                     prepared: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A full TMPDIR (the job's local spool): one 'local temp space full at TMPDIR' line, exit 1, marker written."""
    spec = stage_specs[name]
    root = tmp_path / "bp-data"
    shutil.copytree(prepared[name], root)
    with tmpfs(tmp_path / "tmp", 1 << 20) as local_tmp:
        fill(local_tmp, 0)
        capsys.readouterr()
        code = _run(spec, root, local_tmp, monkeypatch)
        err = capsys.readouterr().err
        assert code == 1, err[-2000:]
        m = failure_line(err, FULL, spec.unit.label, [str(tmp_path)])
        assert m.group("what") == "local temp space" and m.group("where").startswith("TMPDIR")
        assert m.group("unwritten") is None
        message = next(r for r in err.splitlines() if '"ERROR"' in r)
        assert_marker(root, spec.unit, ATTEMPT, message, "StorageFull", [str(tmp_path)])
        (local_tmp / "filler.bin").unlink()
        left = _local_temp_left(local_tmp)
    assert not (root / spec.unit.commit_path).exists()
    assert left == []
