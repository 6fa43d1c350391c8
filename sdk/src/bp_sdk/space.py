"""Full, read-only or refused storage and local temp space, said in one line (exit 1).

An ``OSError`` whose errno says a write could not happen for lack of room (ENOSPC,
EDQUOT) or because the place refuses writes (EROFS, EACCES, EPERM) becomes a
:class:`~bp_sdk.errors.StorageFull` or :class:`~bp_sdk.errors.StorageRefused`. Its
message says what ran out or refused, where, and what to do, on one line::

    storage full at bp-data/scenes/s/runs/r/ingest/attempts/x-a0/scene_manifest.json:
    no space left on the device (ENOSPC); free space or raise the quota, then retry

"Where" is a storage key under the name of the storage root (``bp-data/...``), or
``TMPDIR/...`` for the job's local temp space: never an absolute host path. The local
backend translates its own errors (it knows the key); :func:`explain` is the runner's
fallback for an error raised anywhere else (stage code writing local files), and
:func:`noted` remembers a translated error that a stage caught and re-raised as
something vaguer, so the runner can still name the cause.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from bp_sdk.errors import StorageError, StorageFull, StorageRefused

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
REFUSED_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
SPACE_ERRNOS = FULL_ERRNOS | REFUSED_ERRNOS
LOW_SPACE_BYTES = 1 << 20  # below this a file system counts as full when no file is named
TMP_LABEL = "TMPDIR"
_CHAIN_DEPTH = 16

_WHY = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
_lock = threading.Lock()
_noted: list[StorageError] = []


def is_space_errno(err: BaseException) -> bool:
    """True for an ``OSError`` that says full, over quota, read-only or refused."""
    return isinstance(err, OSError) and err.errno in SPACE_ERRNOS


def space_error(err: OSError, where: str, *, what: str = "storage") -> StorageError:
    """The one-line error for ``err`` (an errno of :data:`SPACE_ERRNOS`) at ``where``.

    ``what`` names the place: ``storage``, ``local temp space`` or ``local disk``."""
    code = err.errno or 0
    why = f"{_WHY.get(code, os.strerror(code))} ({errno.errorcode.get(code, code)})"
    if code in FULL_ERRNOS:
        found: StorageError = StorageFull(
            f"{what} full at {where}: {why}; free space or raise the quota, then retry"
        )
    else:
        state = "read-only" if code == errno.EROFS else "refused the write"
        found = StorageRefused(
            f"{what} {state} at {where}: {why}; make it writable for the job "
            "(or use another location), then retry"
        )
    note(found)
    return found


@contextlib.contextmanager
def translated(where: str, *, what: str = "storage") -> Iterator[None]:
    """Turn a space ``OSError`` raised inside the block into its one-line error."""
    try:
        yield
    except OSError as err:
        if not is_space_errno(err):
            raise
        raise space_error(err, where, what=what) from None


def note(err: StorageError) -> None:
    """Remember the first space error of this attempt (see :func:`noted`)."""
    with _lock:
        if not _noted:
            _noted.append(err)


def noted() -> StorageError | None:
    """The first space error translated since :func:`reset`, if any."""
    with _lock:
        return _noted[0] if _noted else None


def reset() -> None:
    """Forget noted errors (the runner calls it as a job starts)."""
    with _lock:
        _noted.clear()


def find_oserror(exc: BaseException) -> OSError | None:
    """The first space ``OSError`` in ``exc`` or what caused it."""
    seen: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):
        if seen is None:
            return None
        if is_space_errno(seen):
            return seen  # type: ignore[return-value]  # is_space_errno checked the type
        seen = seen.__cause__ or seen.__context__
    return None


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def locate(filename: object, storage_root: Path | None, storage_name: str) -> tuple[str, str]:
    """``(what, where)`` for a file an ``OSError`` named, without absolute host paths."""
    path = Path(os.fsdecode(filename)) if isinstance(filename, str | bytes) else None
    if path is not None and storage_root is not None:
        rel = _inside(path, storage_root)
        if rel is not None:
            return "storage", f"{storage_name}/{rel}".rstrip("/.")
    if path is not None:
        rel = _inside(path, Path(tempfile.gettempdir()))
        if rel is not None:
            return "local temp space", f"{TMP_LABEL}/{rel}".rstrip("/.")
        return "local disk", path.name or "/"
    return "local disk", "a file the job was writing"


def _looks(code: int, folder: Path) -> bool:
    """Does ``folder``'s file system show the condition ``code`` names?"""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    if code == errno.EROFS:
        return bool(st.f_flag & os.ST_RDONLY)
    if code in FULL_ERRNOS:
        return st.f_bavail * st.f_frsize < LOW_SPACE_BYTES
    return not os.access(folder, os.W_OK)


def probe(code: int, storage_root: Path | None, storage_name: str) -> tuple[str, str]:
    """``(what, where)`` for an error that named no file: whichever of the storage root and
    TMPDIR shows the condition."""
    if storage_root is not None and _looks(code, storage_root):
        return "storage", storage_name
    if _looks(code, Path(tempfile.gettempdir())):
        return "local temp space", TMP_LABEL
    return "local disk", "a file the job was writing"


def explain(
    exc: BaseException, storage_root: Path | None = None, storage_name: str = "storage"
) -> StorageError | None:
    """The one-line error for ``exc`` when a space ``OSError`` caused it, else None."""
    if isinstance(exc, StorageFull | StorageRefused):
        return exc
    err = find_oserror(exc)
    if err is None:
        return None
    if err.filename is not None:
        what, where = locate(err.filename, storage_root, storage_name)
    else:
        what, where = probe(err.errno or 0, storage_root, storage_name)
    return space_error(err, where, what=what)
