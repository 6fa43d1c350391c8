"""Where a dataset lies: a storage backend and the key prefix of its root folder.

A lab points ``bp verify`` at a local folder, a ``file://`` URI or ``gs://bucket/prefix``;
the gate points it at the committed export attempt inside the pipeline's storage. Both
are a :class:`DatasetRoot`: every read goes through the storage interface, with paths
relative to the dataset root (as in ``meta/SHA256SUMS``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bp_sdk.errors import ConfigError
from bp_sdk.storage import Storage, check_path, join, open_storage, parse_storage_uri


@dataclass(frozen=True)
class DatasetFile:
    """One object under the dataset root: its path relative to the root and its size."""

    path: str
    size: int


@dataclass
class DatasetRoot:
    """A dataset's root folder inside a storage backend."""

    storage: Storage
    prefix: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        self.prefix = self.prefix.strip("/")
        if self.prefix:
            check_path(self.prefix)
        if not self.label:
            self.label = f"{self.storage.uri}/{self.prefix}" if self.prefix else self.storage.uri

    def key(self, rel: str) -> str:
        """Storage key of a path relative to the root (checked: no '..', no odd characters)."""
        return join(self.prefix, check_path(rel)) if self.prefix else check_path(rel)

    def open(self, rel: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A seekable binary stream of a dataset file."""
        return self.storage.open_read(self.key(rel))

    def read(self, rel: str) -> bytes:
        """A whole (small) dataset file."""
        return self.storage.read_bytes(self.key(rel))

    def exists(self, rel: str) -> bool:
        """True if the file is there."""
        return self.storage.exists(self.key(rel))

    def files(self) -> list[DatasetFile]:
        """Every object under the root, relative paths in key order."""
        start = f"{self.prefix}/" if self.prefix else ""
        return [
            DatasetFile(info.path[len(start) :], info.size)
            for info in self.storage.list(start)
            if info.path.startswith(start)
        ]

    def under(self, rel_dir: str) -> list[DatasetFile]:
        """Files under a folder of the dataset (``videos/``, ``lossless/`` ...)."""
        folder = rel_dir.rstrip("/") + "/"
        return [f for f in self.files() if f.path.startswith(folder)]

    def close(self) -> None:
        """Release the backend's clients."""
        self.storage.close()


def open_target(target: str) -> DatasetRoot:
    """The dataset at a local folder, ``file:///abs/path`` or ``gs://bucket/prefix``.

    A local folder that does not exist is a :class:`ConfigError` (nothing is created:
    ``open_storage`` would make an empty folder for a ``file://`` root).
    """
    if "://" in target:
        try:
            scheme, where, _prefix = parse_storage_uri(target)
        except ValueError as exc:
            raise ConfigError(
                f"invalid dataset location {target[:200]!r}: {exc}",
                next_step="Give a folder, file:///absolute/path or gs://bucket/prefix.",
            ) from None
        if scheme == "file":
            _require_dir(Path(where), target)
        return DatasetRoot(open_storage(target), "", target)
    path = Path(target).expanduser()
    _require_dir(path, target)
    return DatasetRoot(open_storage(path.resolve().as_uri()), "", target)


def _require_dir(path: Path, shown: str) -> None:
    if not path.exists():
        raise ConfigError(
            f"dataset location {shown[:200]!r} does not exist",
            next_step="Give the folder that holds meta/info.json (or its file:// or gs:// URI).",
        )
    if not path.is_dir():
        raise ConfigError(
            f"dataset location {shown[:200]!r} is not a folder",
            next_step="Give the dataset's root folder (the one that holds meta/info.json).",
        )
