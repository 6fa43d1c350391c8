"""`bp stage` and `bp cleanup` on full or read-only storage: one line and exit 1, no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from bp_sdk.layout import Unit

from tests.conftest import EXAMPLES, script
from tests.faults.mounts import fill, remount_read_only, tmpfs, tree_bytes

SCENE = EXAMPLES / "kitchen_counter"


def _bp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300", "TMPDIR": str(cwd)}
    return subprocess.run([script("bp"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_bp_stage_upload_to_read_only_storage(tmp_path: Path) -> None:
    """Uploading the scene to a read-only storage: 'error: storage read-only at …' and exit 1."""
    with tmpfs(tmp_path / "bp-data", 1 << 20) as mnt:
        remount_read_only(mnt)
        out = _bp("stage", "ingest", "--scene", str(SCENE), "--storage", mnt.as_uri(), cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines[0].startswith("error: storage read-only at bp-data/scenes/kitchen_counter/input/"), lines
    assert lines[1].startswith("next: ") and len(lines) == 2, lines
    assert str(tmp_path) not in out.stderr


def test_bp_stage_job_on_full_storage(tmp_path: Path) -> None:
    """The upload fits, the job's outputs do not: the job's one line, bp's verdict, exit 1."""
    with tmpfs(tmp_path / "bp-data", tree_bytes(SCENE) + (4 << 20)) as mnt:
        fill(mnt, tree_bytes(SCENE) + (8 << 10))
        out = _bp("stage", "ingest", "--scene", str(SCENE), "--storage", mnt.as_uri(), cwd=tmp_path)
        assert not list(mnt.rglob("_SUCCESS.json"))
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert "ingest failed (StorageFull, retryable): storage full at bp-data/scenes/kitchen_counter/runs/" in out.stderr
    assert "free space or raise the quota, then retry" in out.stderr
    assert "ingest: failed (retryable)" in out.stderr


def test_bp_cleanup_on_read_only_storage(tmp_path: Path) -> None:
    """Cleanup that cannot delete says so in one line (exit 1), no traceback."""
    with tmpfs(tmp_path / "bp-data", 1 << 20) as mnt:
        stale = mnt / Unit("s", "r", "ingest").attempt_dir("dead-a0") / "x.json"
        stale.parent.mkdir(parents=True)
        stale.write_bytes(b"{}")
        remount_read_only(mnt)
        out = _bp("cleanup", "--storage", mnt.as_uri(), "--grace", "0s", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: storage read-only at bp-data/scenes/s/runs/r/ingest/attempts/dead-a0/x.json")


@pytest.mark.parametrize("args", [["stage", "ingest", "--scene", "kitchen_counter"], ["cleanup"]])
def test_bp_on_read_only_working_dir(args: list[str], tmp_path: Path) -> None:
    """The default storage (./bp-data) on a read-only working directory: one line, exit 1."""
    with tmpfs(tmp_path / "cwd", 1 << 20) as mnt:
        remount_read_only(mnt)
        out = _bp(*args, cwd=mnt)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: storage read-only at bp-data: "), out.stderr
