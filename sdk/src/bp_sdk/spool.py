"""Local spool folders: a job's scratch space on the machine's disk, owned by its process.

A stage that needs local files (encoder output, a decomposition's archives, ...) asks for
a folder here instead of ``tempfile.mkdtemp``::

    folder = make_spool("export")          # or: with spool_dir("export") as folder:

Every folder lives under one root, ``<TMPDIR>/bp-spool/`` (:func:`spool_root`), is named
``<name>-<pid>-<random>`` and holds a small owner file (pid, the process's start time,
the host), so that nothing else has to be guessed:

* the folder goes when its ``with`` block ends, or by :func:`remove_spool`;
* the runner removes what its process still owns on the way out (:func:`remove_own`),
  whatever way the stage ended, short of SIGKILL;
* :func:`sweep` removes the folders of processes that no longer run on this host (a
  SIGKILL, an out-of-memory kill): ``bp cleanup`` runs it, and every job at its start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("bp.spool")

ROOT_NAME = "bp-spool"
OWNER_FILE = ".bp-owner.json"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_FOLDER = re.compile(r"^([a-z][a-z0-9-]{0,39})-(\d+)-[A-Za-z0-9_]+$")
ORPHAN_GRACE_S = 60.0  # a folder without an owner file may be a few ms from getting one
_lock = threading.Lock()
_own: set[Path] = set()


def spool_root() -> Path:
    """``<TMPDIR>/bp-spool``: where every spool folder of this machine lives."""
    return Path(tempfile.gettempdir()) / ROOT_NAME


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot, from /proc), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19])


def is_alive(pid: int, start: int | None = None) -> bool:
    """True while process ``pid`` runs (and, given ``start``, is the one that started then:
    a reused pid does not count); a zombie is dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    ticks = _start_ticks(pid)
    if ticks is None:  # a zombie, or gone meanwhile; without /proc, trust kill(0)
        return not Path("/proc/self/stat").exists()
    return start is None or ticks == start


def make_spool(name: str) -> Path:
    """A new private folder ``<root>/<name>-<pid>-<random>/`` for this process's scratch
    files (``name``: lower-case letters, digits and '-'). Remove it with
    :func:`remove_spool` (or use :func:`spool_dir`); the runner removes it at the latest."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"spool name {name!r}: use lower-case letters, digits and '-'")
    root = spool_root()
    root.mkdir(mode=0o755, exist_ok=True)
    pid = os.getpid()
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-{pid}-", dir=root))
    owner = {"pid": pid, "start": _start_ticks(pid), "host": socket.gethostname()}
    try:
        (folder / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    with _lock:
        _own.add(folder)
    return folder


def remove_spool(folder: Path) -> None:
    """Remove a spool folder and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)
    with _lock:
        _own.discard(folder)


@contextlib.contextmanager
def spool_dir(name: str) -> Iterator[Path]:
    """A spool folder for the ``with`` block, removed when it ends."""
    folder = make_spool(name)
    try:
        yield folder
    finally:
        remove_spool(folder)


def remove_own() -> int:
    """Remove every spool folder this process made and still has (the runner's last step);
    how many. Folders inherited over ``fork`` belong to the parent and are left alone."""
    with _lock:
        mine = sorted(_own)
        _own.clear()
    removed = 0
    for folder in mine:
        if _owner(folder).get("pid") == os.getpid() and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _owner(folder: Path) -> dict[str, object]:
    try:
        raw = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


@dataclass
class SweepReport:
    """What :func:`sweep` found: folders removed (with their bytes), and kept."""

    removed: list[str] = field(default_factory=list)
    removed_bytes: int = 0
    kept: int = 0


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / name).lstat().st_size
    return total


def _dead(folder: Path, host: str, orphan_grace_s: float) -> bool:
    """True when ``folder``'s owner ran on this host and no longer runs."""
    owner = _owner(folder)
    if owner:
        pid, start = owner.get("pid"), owner.get("start")
        if owner.get("host") != host or not isinstance(pid, int):
            return False
        return not is_alive(pid, start if isinstance(start, int) else None)
    m = _FOLDER.fullmatch(folder.name)  # no owner file (killed right after mkdtemp)
    if m is None:
        return False
    try:
        age = time.time() - folder.stat().st_mtime
    except OSError:
        return False
    return age >= orphan_grace_s and not is_alive(int(m.group(2)))


def sweep(
    root: Path | None = None, *, dry_run: bool = False, orphan_grace_s: float = ORPHAN_GRACE_S
) -> SweepReport:
    """Remove the spool folders of processes that no longer run on this host. A folder
    without an owner file (its process killed between making it and writing the file) goes
    once its pid is dead and it is ``orphan_grace_s`` old (``bp cleanup --grace`` lowers it)."""
    base = root or spool_root()
    report = SweepReport()
    if not base.is_dir():
        return report
    host = socket.gethostname()
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        if not _dead(folder, host, orphan_grace_s):
            report.kept += 1
            continue
        report.removed.append(folder.name)
        report.removed_bytes += _size(folder)
        if not dry_run:
            shutil.rmtree(folder, ignore_errors=True)
    if report.removed:
        log.info(
            "spool: %d folders of dead processes %s (%d bytes)",
            len(report.removed),
            "would be removed" if dry_run else "removed",
            report.removed_bytes,
        )
    return report
