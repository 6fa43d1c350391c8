"""Fixtures of the episode tests: one scene prepared through the real upstream stages."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

from collections.abc import Callable
from pathlib import Path

import pytest
from bp_assemble.stage import AssembleStage
from bp_ingest.stage import IngestStage
from bp_sdk.runner import Stage, run_stage
from bp_sdk.storage import Storage, open_storage
from bp_simready.stage import SimreadyStage
from bp_tasks.stage import TasksStage
from bp_variations.stage import VariationsStage

from tests.conftest import EXAMPLES, job_env, put_scene

UPSTREAM: list[Callable[[], Stage]] = [IngestStage, SimreadyStage, AssembleStage, VariationsStage, TasksStage]  # type: ignore[type-arg]


def prepare(root: Path, scene: str, variants: int = 2) -> Storage:
    """Run ingest → tasks for one example scene; return the storage."""
    storage = open_storage(root.as_uri())
    put_scene(storage, scene, EXAMPLES / scene)
    env = job_env(storage, scene, VARIATIONS_COUNT=str(variants))
    for make in UPSTREAM:
        code = run_stage(make(), env)
        assert code == 0, f"{make.__name__} failed with {code}"
    return storage


@pytest.fixture(scope="session")
def kitchen(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    """kitchen_counter prepared up to tasks (2 variants)."""
    return prepare(tmp_path_factory.mktemp("kitchen"), "kitchen_counter")
