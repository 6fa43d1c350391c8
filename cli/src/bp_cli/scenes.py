"""Put a blueprint folder into storage and derive the run id from the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bp_sdk.digest import sha256_json, sha256_stream
from bp_sdk.errors import InputError, PathError, Problem
from bp_sdk.ids import ID_HINT, is_valid_id
from bp_sdk.layout import input_dir
from bp_sdk.storage import Storage, check_path, join

from bp_cli.errors import UsageError

BLUEPRINT = "scene.json"


def local_files(folder: Path) -> dict[str, Path]:
    """Every regular file under ``folder`` by its relative key (refusing odd names and links)."""
    problems: list[Problem] = []
    out: dict[str, Path] = {}
    root = folder.resolve()
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            problems.append(
                Problem(
                    rel,
                    "symbolic link pointing outside the scene folder",
                    "copy the file in instead",
                )
            )
            continue
        try:
            check_path(rel)
        except PathError as err:
            problems.append(Problem(rel, err.message, "rename it"))
            continue
        out[rel] = path
    if problems:
        raise InputError(
            f"scene folder {folder.name!r} has files that cannot be uploaded", problems=problems
        )
    if BLUEPRINT not in out:
        raise UsageError(f"{folder} has no {BLUEPRINT}; a scene folder holds scene.json (+ meshes)")
    return out


def scene_id_for(folder: Path) -> str:
    """The folder's name, which must be a valid id."""
    name = folder.resolve().name
    if not is_valid_id(name):
        raise UsageError(f"scene folder name {name!r} is not a valid scene id: {ID_HINT}")
    return name


def upload_scene(storage: Storage, folder: Path, scene_id: str) -> dict[str, str]:
    """Mirror ``folder`` into ``scenes/<id>/input/`` (stale files removed); return digests."""
    files = local_files(folder)
    prefix = input_dir(scene_id) + "/"
    digests: dict[str, str] = {}
    for rel, path in files.items():
        with path.open("rb") as f:
            digests["input/" + rel] = sha256_stream(f)[0]
        key = join(prefix, rel)
        with path.open("rb") as src, storage.open_write(key) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    for info in list(storage.list(prefix)):
        if info.path[len(prefix) :] not in files:
            storage.delete(info.path)
    return digests


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
