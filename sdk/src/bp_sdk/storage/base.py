"""The one storage interface every stage reads and writes through.

Paths are relative POSIX keys under the backend's root. They are confined by
construction: absolute paths, ``..``/``.`` segments, empty segments, backslashes and
characters outside ``[A-Za-z0-9._-]`` are refused before any I/O.
"""

from __future__ import annotations

import builtins
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from bp_sdk.errors import PathError

MAX_PATH = 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
TMP_PREFIX = ".bp-tmp-"


def check_path(path: str, *, allow_empty: bool = False, allow_temp: bool = False) -> str:
    """Return ``path`` if it is a safe relative key, else raise :class:`PathError`."""
    if path == "" and allow_empty:
        return path
    problems: list[str] = []
    if not path:
        problems.append("is empty")
    if len(path) > MAX_PATH:
        problems.append(f"is longer than {MAX_PATH} characters")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        problems.append("is absolute")
    if "\\" in path:
        problems.append("contains a backslash")
    if "\x00" in path:
        problems.append("contains a NUL byte")
    segments = path.strip("/").split("/") if path else []
    for seg in segments:
        if seg in {".", ".."}:
            problems.append(f"contains a '{seg}' segment")
        elif seg == "":
            problems.append("contains an empty segment ('//')")
        elif not _SEGMENT.fullmatch(seg):
            problems.append(f"segment {seg[:40]!r} has characters outside [A-Za-z0-9._-]")
        elif seg.startswith(TMP_PREFIX) and not allow_temp:
            problems.append(f"segment {seg[:40]!r} uses the reserved prefix {TMP_PREFIX!r}")
    if path.endswith("/") and not allow_empty:
        problems.append("ends with '/'")
    if problems:
        shown = path[:80].encode("unicode_escape").decode()
        raise PathError(f"refused storage path {shown!r}: " + "; ".join(dict.fromkeys(problems)))
    return path


def join(*parts: str) -> str:
    """Join key parts with '/', skipping empty ones, and check the result."""
    return check_path("/".join(p.strip("/") for p in parts if p))


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key relative to the root, size and last update.

    ``generation`` changes whenever the object is replaced (GCS's object generation;
    locally the file's modification time in nanoseconds): compare-and-swap writes
    (:meth:`Storage.replace_if_generation`) name the generation they expect.
    """

    path: str
    size: int
    updated: datetime
    generation: int | None = None


class Storage(ABC):
    """Read/write bytes and streams, list, stat, delete, create-if-absent."""

    uri: str

    @abstractmethod
    def read_bytes(self, path: str) -> bytes:
        """Whole object; :class:`NotFoundError` if missing."""

    @abstractmethod
    def open_read(self, path: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream of the object; :class:`NotFoundError` if missing."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None:
        """Write (or replace) an object atomically."""

    @abstractmethod
    def open_write(self, path: str) -> AbstractContextManager[BinaryIO]:
        """A writable stream; the object appears whole on clean exit, never on error."""

    @abstractmethod
    def create_if_absent(self, path: str, data: bytes) -> None:
        """Write only if no object exists; :class:`PreconditionFailed` otherwise."""

    @abstractmethod
    def replace_if_generation(self, path: str, data: bytes, generation: int) -> int:
        """Write only if the object's generation is ``generation`` (0: only if absent);
        return the new generation; :class:`PreconditionFailed` otherwise."""

    @abstractmethod
    def delete_if_generation(self, path: str, generation: int) -> None:
        """Delete only if the object's generation is ``generation``;
        :class:`PreconditionFailed` otherwise (also when it is missing)."""

    @abstractmethod
    def stat(self, path: str) -> ObjectInfo | None:
        """Size and update time, or None if missing."""

    @abstractmethod
    def list(self, prefix: str = "", *, include_temporary: bool = False) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (recursive), in key order.

        ``include_temporary`` also lists leftovers of interrupted writes (only the
        local backend has them), so cleanup can remove them.
        """

    @abstractmethod
    def delete(self, path: str) -> None:
        """Remove an object (no error if it is missing)."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release network clients (no-op for local storage)."""

    def where(self, path: str = "") -> str:
        """Where ``path`` is, for messages (no absolute host path): the URI and key."""
        return f"{self.uri}/{path}" if path else self.uri

    def check_writable(self) -> None:  # noqa: B027 - optional hook: object stores need none
        """Raise :class:`~bp_sdk.errors.StorageRefused` / :class:`~bp_sdk.errors.StorageFull`
        at once when writes cannot succeed (a read-only or full local file system)."""

    def free_bytes(self) -> int | None:
        """Space left for writes, where the backend can tell (None: unknown or unbounded)."""
        return None

    def prune_empty_folders(self, prefix: str, older_than: datetime) -> int:
        """Remove folders under ``prefix`` that hold nothing and were last changed before
        ``older_than`` (only file systems have folders); how many were removed."""
        return 0

    def exists(self, path: str) -> bool:
        """True if the object exists."""
        return self.stat(path) is not None

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        """Immediate child folder names under ``prefix`` (a folder key ending in '/')."""
        prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        names: set[str] = set()
        for info in self.list(prefix):
            rest = info.path[len(prefix) :]
            if "/" in rest:
                names.add(rest.split("/", 1)[0])
        return sorted(names)
