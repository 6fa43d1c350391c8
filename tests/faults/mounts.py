"""Small file systems for the fault tests: a tmpfs that is too small, a read-only remount.

Every mount is made under a folder the test created inside its own temp dir, and undone in
a ``finally``. Mounting needs root: without it the tests are skipped with the reason; as
root with ``CI`` set, a mount that fails is a test failure (CI must run them).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

MOUNT_TIMEOUT_S = 30


def _guard(path: Path) -> Path:
    """``path`` must lie inside the machine's temp dir (never the repository, never /)."""
    resolved = path.resolve()
    tmp = Path(tempfile.gettempdir()).resolve()
    if not resolved.is_relative_to(tmp) or resolved == tmp:
        raise AssertionError(f"refusing to mount outside a temp dir: {resolved}")
    return resolved


def _mount(args: list[str]) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=MOUNT_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        why = f"{' '.join(args[:4])} failed: {proc.stderr.strip()[:200]}"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def require_root() -> None:
    """Skip (with the reason) unless this process may mount file systems."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root: run the fault tests as root (CI does)")


def _umount(path: Path) -> None:
    proc = subprocess.run(["umount", str(path)], capture_output=True, timeout=MOUNT_TIMEOUT_S, check=False)
    if proc.returncode != 0:  # something still holds a file: detach it lazily
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=MOUNT_TIMEOUT_S, check=False)


@contextlib.contextmanager
def tmpfs(folder: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of ``size_bytes`` mounted on ``folder`` (created, inside a temp dir)."""
    require_root()
    mnt = _guard(folder)
    mnt.mkdir(parents=True, exist_ok=False)
    pages = max(1, -(-size_bytes // 4096))
    _mount(["mount", "-t", "tmpfs", "-o", f"size={pages * 4096},mode=0755", "bp-faults", str(mnt)])
    try:
        yield mnt
    finally:
        _umount(mnt)
        with contextlib.suppress(OSError):
            mnt.rmdir()


def remount_read_only(mnt: Path) -> None:
    """Make the tmpfs at ``mnt`` (mounted by :func:`tmpfs`) read-only."""
    _mount(["mount", "-o", "remount,ro", str(_guard(mnt))])


def fill(mnt: Path, leave_bytes: int) -> int:
    """Take all of the file system's space but ``leave_bytes``; the filler's size."""
    st = os.statvfs(_guard(mnt))
    size = max(0, st.f_bavail * st.f_frsize - leave_bytes)
    filler = mnt / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if size:
            os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)
    return size


def free_bytes(mnt: Path) -> int:
    """Bytes still free for writes."""
    st = os.statvfs(mnt)
    return st.f_bavail * st.f_frsize


def tree_bytes(root: Path) -> int:
    """Bytes of every file under ``root`` (rounded up to 4 KiB pages, as tmpfs counts)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            total += -(-(Path(dirpath) / name).stat().st_size // 4096) * 4096
    return total
