"""``file://`` backend: the embedded default.

Writes go to a temporary file in the target folder, are fsynced, then renamed into
place (atomic on POSIX); create-if-absent uses ``os.link``, which fails if the target
exists, so exactly one writer wins.

Modes: every object is stored with :data:`FILE_MODE` (0644) whatever the mode of what it
was copied from: an input uploaded from a 0600 file is readable by the other local users
and containers that run the stages (the content is unchanged). Keep secrets out of
scene folders and storage.

Objects are regular files only. Something else found under the root (a named pipe, a
socket, a device, put there by hand) is still *listed* (size 0 for a pipe), so that
``bp verify`` reports it and cleanup or an upload's mirroring can delete it, but every
read refuses it at once with a :class:`~bp_sdk.errors.PathError` naming the key: the
file is opened non-blocking (``O_NONBLOCK | O_NOCTTY``) and checked with ``fstat`` before
a byte is read, so a pipe without a writer can never hang a stage (a device is opened,
never read; a socket cannot be opened and is named from ``stat``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from bp_sdk.errors import BPError, NotFoundError, PathError, PreconditionFailed
from bp_sdk.space import is_space_errno, space_error, translated
from bp_sdk.storage.base import TMP_PREFIX, ObjectInfo, Storage, check_path

FILE_MODE = 0o644  # every stored object, whatever the source file's mode (see above)
# a pipe must not block the open, nor a terminal become the controlling one
_OPEN_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-folder file is ("named pipe (FIFO)", ...); None otherwise."""
    kinds = (
        (stat.S_ISFIFO, "named pipe (FIFO)"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    )
    return next((name for test, name in kinds if test(mode)), None)


def _refusal(mode: int, path: str) -> BPError | None:
    """Why a file cannot be read as an object (a folder reads as not found); None if it can."""
    if stat.S_ISDIR(mode):
        return NotFoundError(f"not found in storage: {path}")
    if stat.S_ISREG(mode):
        return None
    kind = special_kind(mode) or "special file"
    return PathError(
        f"refused storage object {path!r}: a {kind}, not a regular file",
        next_step="Replace it with a regular file (or delete it): file:// storage holds "
        "only regular files and folders.",
    )


class LocalStorage(Storage):
    """Objects are files under ``root``.

    A write refused for lack of space or because the file system is read-only raises
    :class:`~bp_sdk.errors.StorageFull` / :class:`~bp_sdk.errors.StorageRefused` naming
    the key under the root's folder name (:meth:`where`), never the absolute path."""

    def __init__(self, root: Path) -> None:
        if not root.is_absolute():
            raise PathError(f"file:// storage root must be absolute, got {root}")
        self.root = root
        self.uri = root.as_uri()

    def where(self, path: str = "") -> str:
        """``<root folder name>/<key>``: where, for messages, without the host path."""
        name = self.root.name or "storage"
        return f"{name}/{path}" if path else name

    def _space(self, path: str) -> contextlib.AbstractContextManager[None]:
        return translated(self.where(path))

    def check_writable(self) -> None:
        """Refuse at once when the root's file system is read-only or has no space left."""
        try:
            st = os.statvfs(self.root)
        except OSError:
            return  # the first write says what is wrong
        if st.f_flag & os.ST_RDONLY:
            raise space_error(OSError(errno.EROFS, "read-only"), self.where())
        if st.f_bavail == 0:
            raise space_error(OSError(errno.ENOSPC, "no space"), self.where())
        if not os.access(self.root, os.W_OK):
            raise space_error(OSError(errno.EACCES, "denied"), self.where())

    def free_bytes(self) -> int | None:
        """Bytes an unprivileged writer may still use on the root's file system."""
        try:
            st = os.statvfs(self.root)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def _resolve(self, path: str, *, allow_temp: bool = False) -> Path:
        check_path(path, allow_temp=allow_temp)
        full = self.root / path
        # defence in depth: a symlink inside the root must not lead outside it
        real_root = os.path.realpath(self.root)
        if not os.path.realpath(full).startswith(real_root + os.sep):
            raise PathError(f"refused storage path {path!r}: resolves outside the storage root")
        return full

    def read_bytes(self, path: str) -> bytes:
        """Whole file content."""
        with self.open_read(path) as f:
            return f.read()

    @contextlib.contextmanager
    def open_read(self, path: str) -> Iterator[BinaryIO]:
        """Open the file for reading."""
        full = self._resolve(path)
        try:
            fd = os.open(full, _OPEN_READ)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError(f"not found in storage: {path}") from None
        except OSError as err:  # ENXIO: what opening a unix socket gives
            refused = _refusal(full.stat().st_mode, path) if err.errno == errno.ENXIO else None
            if refused is None:
                raise
            raise refused from None
        refused = _refusal(os.fstat(fd).st_mode, path)
        if refused is not None:
            os.close(fd)
            raise refused
        with os.fdopen(fd, "rb") as f:
            os.set_blocking(fd, True)
            yield f

    def write_bytes(self, path: str, data: bytes) -> None:
        """Atomic replace."""
        with self.open_write(path) as f:
            f.write(data)

    def _mkdirs(self, full: Path, path: str) -> None:
        try:
            with self._space(path):
                full.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise PathError(
                f"refused storage path {path!r}: a parent of it is an object, not a folder"
            ) from None

    @contextlib.contextmanager
    def _temp(self, path: str) -> Iterator[tuple[Path, BinaryIO]]:
        full = self._resolve(path)
        if full.is_dir():
            raise PathError(
                f"refused storage path {path!r}: a folder of other objects has this name"
            )
        self._mkdirs(full, path)
        with self._space(path):
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=full.parent)
        os.fchmod(
            fd, FILE_MODE
        )  # mkstemp's 0600 would hide outputs from other local users/containers
        tmp_path = Path(tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                try:
                    yield tmp_path, f
                except OSError as err:
                    # the caller's writes to this file: full or refused is said in one line
                    if is_space_errno(err) and err.filename in (None, tmp):
                        raise space_error(err, self.where(path)) from None
                    raise
                with self._space(path):
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as err:  # closing flushes the last buffer: it can run out of space too
            if is_space_errno(err) and err.filename in (None, tmp):
                raise space_error(err, self.where(path)) from None
            raise
        finally:
            with contextlib.suppress(OSError):  # never hide why the write failed
                tmp_path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def open_write(self, path: str) -> Iterator[BinaryIO]:
        """Write to a temp file, rename into place on success."""
        full = self._resolve(path)
        with self._temp(path) as (tmp, f):
            yield f
            with self._space(path):
                f.flush()
                os.fsync(f.fileno())
                tmp.replace(full)
        with self._space(path):
            _fsync_dir(full.parent)

    def create_if_absent(self, path: str, data: bytes) -> None:
        """Hard-link a complete temp file into place; fails if the target exists."""
        full = self._resolve(path)
        with self._temp(path) as (tmp, f), self._space(path):
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            try:
                os.link(tmp, full)
            except FileExistsError:
                raise PreconditionFailed(f"already exists: {path}") from None
        with self._space(path):
            _fsync_dir(full.parent)

    @contextlib.contextmanager
    def _folder_lock(self, path: str) -> Iterator[Path]:
        """An exclusive lock on the object's folder (compare-and-swap writers take it)."""
        full = self._resolve(path)
        self._mkdirs(full, path)
        fd = os.open(full.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield full
        finally:
            os.close(fd)  # closing releases the lock

    def _generation(self, full: Path) -> int:
        try:
            return full.stat().st_mtime_ns if full.is_file() else 0
        except (FileNotFoundError, NotADirectoryError):
            return 0

    def replace_if_generation(self, path: str, data: bytes, generation: int) -> int:
        """Compare the file's generation (mtime in ns) and replace it, under a folder lock."""
        with self._folder_lock(path) as full:
            current = self._generation(full)
            if current != generation:
                raise PreconditionFailed(
                    f"{path}: generation is {current}, not the expected {generation}"
                )
            self.write_bytes(path, data)
            new = self._generation(full)
            if new <= current:  # a coarse clock must still give a new generation
                new = current + 1
                os.utime(full, ns=(new, new))
            return new

    def delete_if_generation(self, path: str, generation: int) -> None:
        """Delete the file if its generation is the expected one, under a folder lock."""
        with self._folder_lock(path) as full:
            current = self._generation(full)
            if current == 0 or current != generation:
                raise PreconditionFailed(
                    f"{path}: generation is {current}, not the expected {generation}"
                )
            with self._space(path):
                full.unlink()

    def stat(self, path: str) -> ObjectInfo | None:
        """Size, mtime and generation of the file."""
        full = self._resolve(path)
        try:
            st = full.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not full.is_file():
            return None
        return ObjectInfo(
            path, st.st_size, datetime.fromtimestamp(st.st_mtime, tz=UTC), st.st_mtime_ns
        )

    def list(self, prefix: str = "", *, include_temporary: bool = False) -> Iterator[ObjectInfo]:
        """Walk the folder that holds ``prefix`` and yield matching files in key order."""
        if prefix:
            check_path(prefix.rstrip("/"))
        base_key = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self.root / base_key if base_key else self.root
        if not base.is_dir():
            return
        found: list[ObjectInfo] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in filenames:
                if name.startswith(TMP_PREFIX) and not include_temporary:
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        st = full.stat()
                    except FileNotFoundError:  # deleted meanwhile, or a dangling link
                        continue
                    found.append(
                        ObjectInfo(
                            key,
                            st.st_size,
                            datetime.fromtimestamp(st.st_mtime, tz=UTC),
                            st.st_mtime_ns,
                        )
                    )
        yield from sorted(found, key=lambda i: i.path)

    def prune_empty_folders(self, prefix: str, older_than: datetime) -> int:
        """Remove empty folders under ``prefix`` last changed at or before ``older_than``
        (an attempt folder whose writer was killed before its first file, say)."""
        base_key = prefix.strip("/")
        if base_key:
            check_path(base_key)
        base = self._resolve(base_key) if base_key else self.root
        if not base.is_dir():
            return 0
        limit = older_than.timestamp()
        removed = 0
        emptied: set[Path] = set()  # removing a child makes its parent look new: not a writer
        for dirpath, _dirnames, _files in os.walk(base, topdown=False):
            folder = Path(dirpath)
            if folder == base:
                continue
            try:
                recent = folder.stat().st_mtime > limit and folder not in emptied
                if recent or any(folder.iterdir()):
                    continue
                folder.rmdir()
                emptied.add(folder.parent)
            except OSError as err:
                if is_space_errno(err):
                    where = self.where(folder.relative_to(self.root).as_posix())
                    raise space_error(err, where) from None
                continue  # gone, or a writer put something there meanwhile
            removed += 1
        return removed

    def delete(self, path: str) -> None:
        """Unlink the file and prune empty parent folders up to the root."""
        full = self._resolve(path, allow_temp=True)
        if full.is_dir():
            return  # a folder is not an object: nothing to delete (as on GCS)
        try:
            with self._space(path):
                full.unlink(missing_ok=True)
        except NotADirectoryError:
            return
        parent = full.parent
        while parent != self.root and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
