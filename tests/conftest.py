"""Shared fixtures: embedded storage, scenes in storage, job environments."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bp_sdk.layout import input_dir
from bp_sdk.storage import Storage, join, open_storage

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "scenes"
EXAMPLE_SCENES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "scene.json").is_file())
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Jobs run in-process replace the root handlers; put them back after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    """An empty folder for file:// storage."""
    root = tmp_path / "storage"
    root.mkdir()
    return root


@pytest.fixture
def file_storage(storage_root: Path) -> Storage:
    """An embedded (file://) storage backend."""
    return open_storage(storage_root.as_uri())


def put_scene(storage: Storage, scene_id: str, blueprint: dict[str, Any] | bytes | Path,
              extra: dict[str, bytes] | None = None) -> None:
    """Store a blueprint (dict, raw bytes, or an example folder) as scenes/<id>/input/."""
    base = input_dir(scene_id)
    if isinstance(blueprint, Path):
        for path in sorted(blueprint.rglob("*")):
            if path.is_file():
                storage.write_bytes(join(base, path.relative_to(blueprint).as_posix()), path.read_bytes())
    else:
        data = blueprint if isinstance(blueprint, bytes) else json.dumps(blueprint).encode()
        storage.write_bytes(join(base, "scene.json"), data)
    for rel, data in (extra or {}).items():
        storage.write_bytes(join(base, rel), data)


def job_env(storage: Storage, scene: str, run: str = "r1", **extra: str) -> dict[str, str]:
    """A minimal environment for a job process (PATH and the emulator host kept)."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR", "STORAGE_EMULATOR_HOST"}}
    env.update({"STORAGE_URI": storage.uri, "SCENE_ID": scene, "RUN_ID": run, "LOG_FORMAT": "json"})
    env.update(extra)
    return env


def minimal_blueprint(**overrides: Any) -> dict[str, Any]:
    """A small valid blueprint: a table and a mug on it."""
    bp: dict[str, Any] = {
        "schema_version": "1",
        "name": "test table",
        "units": "m",
        "up_axis": "z",
        "objects": [
            {"id": "table", "category": "table", "size": [1.2, 0.8, 0.75],
             "pose": {"position": [0, 0, 0.375]}, "support": "floor"},
            {"id": "mug", "category": "mug", "size": [0.09, 0.09, 0.1],
             "pose": {"position": [0.1, 0.0, 0.8]}, "support": "table"},
            {"id": "apple", "category": "apple", "size": [0.08, 0.08, 0.08],
             "pose": {"position": [-0.2, 0.1, 0.79]}, "support": "table"},
        ],
    }
    bp.update(overrides)
    return bp


@pytest.fixture
def scene_factory(file_storage: Storage) -> Callable[..., str]:
    """Store a blueprint under a scene id and return the id."""

    def make(blueprint: dict[str, Any] | bytes | None = None, scene_id: str = "scene1",
             extra: dict[str, bytes] | None = None) -> str:
        put_scene(file_storage, scene_id, blueprint if blueprint is not None else minimal_blueprint(), extra)
        return scene_id

    return make


def script(name: str) -> str:
    """Absolute path of a console script of this environment."""
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


# ----------------------------------------------------------------------------------------
# Dataset fixtures (export, gate, verify, deliver tests reuse them; built once per session).
#
# ``episodes_store_core`` / ``episodes_store_full``: a file:// store with kitchen_counter
# run "r1" prepared by the real stages (ingest → tasks, 1 variant) and real episodes
# (2 pick-and-place tasks × 1 episode, 64² images, 2 cameras, 20 fps) at tier core / full.
# ``exported_core`` / ``exported_full``: the real export of those episodes (default
# settings: libsvtav1, valid fraction 0.1, 2 encoder processes), dataset ids
# "kitchen-core" / "kitchen-full". Each returns ``tests.datasets.EpisodesStore`` or
# ``ExportedDataset``: ``.storage``, ``.scene``, ``.run``, (``.dataset_id``, ``.root`` the
# dataset folder holding meta/info.json, ``.record`` its commit record). Treat them as
# read-only: copy the dataset folder before corrupting anything.
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def episodes_store_core(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Real tier-core episodes of kitchen_counter (run r1) in their own store."""
    from tests.datasets import build_episodes_store

    return build_episodes_store(tmp_path_factory.mktemp("episodes-core"), "core")


@pytest.fixture(scope="session")
def episodes_store_full(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Real tier-full episodes of kitchen_counter (run r1) in their own store."""
    from tests.datasets import build_episodes_store

    return build_episodes_store(tmp_path_factory.mktemp("episodes-full"), "full")


@pytest.fixture(scope="session")
def exported_core(episodes_store_core: Any) -> Any:
    """The committed tier-core dataset "kitchen-core" exported from ``episodes_store_core``."""
    from tests.datasets import export_dataset

    return export_dataset(episodes_store_core.storage, episodes_store_core.run, "kitchen-core")


@pytest.fixture(scope="session")
def exported_full(episodes_store_full: Any) -> Any:
    """The committed tier-full dataset "kitchen-full" exported from ``episodes_store_full``."""
    from tests.datasets import export_dataset

    return export_dataset(episodes_store_full.storage, episodes_store_full.run, "kitchen-full")


def config_markers_only(storage: Storage) -> list[str]:
    """Every key in ``storage`` that is not a ConfigError failure marker (a job with invalid
    settings writes nothing else: it exits 2 before any work, leaving only that marker)."""
    others = []
    for info in storage.list(""):
        if info.path.endswith("/_FAILURE.json") and b'"error_type": "ConfigError"' in storage.read_bytes(info.path):
            continue
        others.append(info.path)
    return others
