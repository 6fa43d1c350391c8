"""Put a blueprint folder into storage and derive the run id from the configuration.

What a scene folder may hold is checked for the whole folder before a byte of it is read
or uploaded, and every problem is reported at once (one :class:`InputError`, each problem
naming the file relative to the folder):

- regular files only: a named pipe, socket or device is refused (reading a pipe would
  block ``bp stage`` / ``bp run`` until killed);
- symbolic links only to files inside the folder (links to folders are not followed);
- hard links only among names inside the folder: a file that also has a name outside
  it is refused, like a symbolic link leaving it (copy the file in instead);
- names that are valid storage keys;
- at most :data:`MAX_FILE_BYTES` per file and :data:`MAX_SCENE_BYTES` in all.

Each file is then opened non-blocking, checked again (the same file, still regular) and
hashed as it is copied, so the digest is that of the bytes stored. Stored files get the
storage's mode (0644 on ``file://``, :data:`bp_sdk.storage.local.FILE_MODE`) whatever
their mode in the folder; the content is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bp_sdk.digest import sha256_json, sha256_stream
from bp_sdk.errors import InputError, PathError, Problem
from bp_sdk.ids import ID_HINT, is_valid_id
from bp_sdk.layout import input_dir
from bp_sdk.storage import Storage, check_path, join
from bp_sdk.storage.local import special_kind

from bp_cli.errors import UsageError

BLUEPRINT = "scene.json"
MAX_FILE_BYTES = 8 << 30  # 8 GiB: the most INGEST_MAX_BLUEPRINT_BYTES may be raised to
MAX_SCENE_BYTES = 16 << 30  # 16 GiB: the whole folder
CHUNK = 1 << 20
COPY_IN = "copy the file in instead"
SHRINK = (
    "make it smaller (decimate the mesh, split the scene), or put the files in storage "
    "under scenes/<id>/input/ yourself and pass --scene <id>"
)
_OPEN_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC  # a pipe swapped in must not block


@dataclass(frozen=True)
class Limits:
    """Size bounds of a scene folder's upload, in bytes."""

    file_bytes: int = MAX_FILE_BYTES
    total_bytes: int = MAX_SCENE_BYTES


@dataclass(frozen=True)
class LocalFile:
    """A checked file of a scene folder: where it is, and what ``stat`` said of it."""

    path: Path
    dev: int
    ino: int
    nlink: int
    size: int
    via_link: bool  # reached through a symbolic link (inside the folder)


def _inspect(path: Path, rel: str, root: Path) -> os.stat_result | Problem | None:
    """The file's stat (a link's target's), a problem, or None for a folder (skipped)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None  # gone since the listing
    if stat.S_ISLNK(st.st_mode):
        try:
            inside = path.resolve().is_relative_to(root)
            st = path.stat()
        except (OSError, RuntimeError):
            return Problem(rel, "symbolic link to nothing (dangling or a loop)", "fix or remove it")
        if not inside:
            return Problem(rel, "symbolic link pointing outside the scene folder", COPY_IN)
    if stat.S_ISDIR(st.st_mode):
        return None
    kind = special_kind(st.st_mode)
    if kind is not None or not stat.S_ISREG(st.st_mode):
        return Problem(
            rel,
            f"{kind or 'special file'}, not a regular file: only regular files are uploaded",
            "replace it with a regular file, or move it out of the scene folder",
        )
    return st


def _scan(folder: Path) -> tuple[dict[str, LocalFile], list[Problem], Counter[tuple[int, int]]]:
    """Every uploadable file by key, the problems, and the names each inode has inside."""
    problems: list[Problem] = []
    out: dict[str, LocalFile] = {}
    names: Counter[tuple[int, int]] = Counter()
    root = folder.resolve()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        found = _inspect(path, rel, root)
        if found is None:
            continue
        if isinstance(found, Problem):
            problems.append(found)
            continue
        via_link = path.is_symlink()
        if not via_link:
            names[(found.st_dev, found.st_ino)] += 1
        try:
            check_path(rel)
        except PathError as err:
            problems.append(Problem(rel, err.message, "rename it"))
            continue
        out[rel] = LocalFile(
            path, found.st_dev, found.st_ino, found.st_nlink, found.st_size, via_link
        )
    return out, problems, names


def _outside_links(files: dict[str, LocalFile], names: Counter[tuple[int, int]]) -> list[Problem]:
    """Files with hard links whose other names lie outside the folder."""
    problems = []
    for rel, f in files.items():
        inside = names[(f.dev, f.ino)]
        if not f.via_link and f.nlink > inside:
            problems.append(
                Problem(
                    rel,
                    f"hard link to a file outside the scene folder ({f.nlink} names, "
                    f"{inside} of them inside it)",
                    COPY_IN,
                )
            )
    return problems


def _too_big(files: dict[str, LocalFile], limits: Limits) -> list[Problem]:
    """Files over the per-file bound, and the folder over the total bound."""
    problems = [
        Problem(
            rel, f"{f.size:,} bytes, more than the {limits.file_bytes:,} a file may have", SHRINK
        )
        for rel, f in files.items()
        if f.size > limits.file_bytes
    ]
    total = sum(f.size for f in files.values())
    if total > limits.total_bytes:
        problems.append(
            Problem(
                "(all files)",
                f"{total:,} bytes in all, more than the {limits.total_bytes:,} a scene folder "
                "may have",
                SHRINK,
            )
        )
    return problems


def local_files(folder: Path, limits: Limits | None = None) -> dict[str, LocalFile]:
    """Every file under ``folder`` by its relative key, checked (see the module's doc)."""
    files, problems, names = _scan(folder)
    problems += _outside_links(files, names)
    problems += _too_big(files, limits or Limits())
    if problems:
        raise InputError(
            f"scene folder {folder.name!r} has files that cannot be uploaded",
            problems=problems,
            next_step="Fix every listed file in the scene folder, then run the command again.",
        )
    if BLUEPRINT not in files:
        raise UsageError(f"{folder} has no {BLUEPRINT}; a scene folder holds scene.json (+ meshes)")
    return files


def scene_id_for(folder: Path) -> str:
    """The folder's name, which must be a valid id."""
    name = folder.resolve().name
    if not is_valid_id(name):
        raise UsageError(f"scene folder name {name!r} is not a valid scene id: {ID_HINT}")
    return name


def _changed(rel: str, what: str) -> InputError:
    return InputError(
        "the scene folder changed while it was being uploaded",
        problems=[Problem(rel, what, "leave the folder alone during the upload")],
        next_step="Run the command again once nothing is writing to the scene folder.",
    )


def _open_checked(f: LocalFile, rel: str) -> BinaryIO:
    """Open without blocking; refuse a file that is no longer the one checked."""
    fd = os.open(f.path, _OPEN_READ)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (f.dev, f.ino):
        os.close(fd)
        raise _changed(rel, "replaced by another file since the folder was checked")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _copy(f: LocalFile, rel: str, storage: Storage, key: str, limit: int) -> str:
    """Copy one checked file into storage, hashing the bytes written; their sha256."""
    h = hashlib.sha256()
    size = 0
    with _open_checked(f, rel) as src, storage.open_write(key) as dst:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:  # the stored object is discarded: open_write never commits it
                raise _changed(rel, f"grew past {limit:,} bytes during the upload")
            h.update(chunk)
            dst.write(chunk)
    return h.hexdigest()


def upload_scene(
    storage: Storage, folder: Path, scene_id: str, limits: Limits | None = None
) -> dict[str, str]:
    """Mirror ``folder`` into ``scenes/<id>/input/`` (stale files removed); return digests."""
    limits = limits or Limits()
    files = local_files(folder, limits)
    prefix = input_dir(scene_id) + "/"
    digests = {
        "input/" + rel: _copy(f, rel, storage, join(prefix, rel), limits.file_bytes)
        for rel, f in files.items()
    }
    for info in list(storage.list(prefix)):
        if info.path[len(prefix) :] not in files:
            storage.delete(info.path)
    return digests


def upload_scenes(storage: Storage, folders: list[Path]) -> list[str]:
    """Check every folder (all their problems in one error), then upload each; their ids."""
    ids = [scene_id_for(folder) for folder in folders]
    problems: list[Problem] = []
    for folder in folders:
        try:
            local_files(folder)
        except InputError as err:
            problems += [
                Problem(f"{folder.name}/{p.where}", p.message, p.hint) for p in err.problems
            ]
    if problems:
        raise InputError("scene folders have files that cannot be uploaded", problems=problems)
    for folder, scene_id in zip(folders, ids, strict=True):
        upload_scene(storage, folder, scene_id)
    return ids


def stored_digests(storage: Storage, scene_id: str) -> dict[str, str]:
    """Digests of the scene's input already in storage."""
    prefix = input_dir(scene_id) + "/"
    out = {}
    for info in storage.list(prefix):
        with storage.open_read(info.path) as f:
            out["input/" + info.path[len(prefix) :]] = sha256_stream(f)[0]
    if "input/" + BLUEPRINT not in out:
        raise UsageError(
            f"scene {scene_id!r} has no input in storage ({prefix}{BLUEPRINT}); pass the scene folder instead of its id"
        )
    return out


def derive_run_id(inputs: Mapping[str, str], overrides: Mapping[str, str]) -> str:
    """``r-`` + 12 hex of the digest of the scene input and the settings overrides."""
    return "r-" + sha256_json({"inputs": dict(inputs), "overrides": dict(overrides)})[:12]
