"""Fixtures of the batched runner's tests: kitchen_counter prepared through the real upstream
stages (ingest → tasks, one variant) and its v0000 scene compiled once."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

from dataclasses import dataclass
from typing import Any

import pytest
from bp_contracts.simready import SimObject
from bp_contracts.tasks import TaskSet, TaskSpec
from bp_episodes.compiled import compile_committed
from bp_episodes.episode import RecordOptions
from bp_episodes.scene import SceneHandles
from bp_sdk.storage import Storage

from tests.episodes.conftest import prepare

SCENE = "kitchen_counter"
RESOLUTION = 32  # the smallest the settings allow: rendering is most of a CPU episode
# the stage's defaults: fps, tier, wall-clock limit, start perturbation
OPTS = RecordOptions(20, "core", 600.0, 0.05, 0.03, 0.2)


@dataclass(frozen=True)
class Scene:
    """One compiled variant of kitchen_counter and its tasks."""

    model: Any
    h: SceneHandles
    objects: dict[str, SimObject]
    tasks: TaskSet

    def task(self, task_id: str, **change: Any) -> TaskSpec:
        """The task ``task_id`` (fields replaced by ``change``, e.g. a shorter time limit)."""
        task = next(t for t in self.tasks.tasks if t.task_id == task_id)
        return task.model_copy(update=change)


@pytest.fixture(scope="session")
def kitchen_one(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    """kitchen_counter prepared up to tasks (1 variant)."""
    return prepare(tmp_path_factory.mktemp("kitchen_one"), SCENE, variants=1)


@pytest.fixture(scope="session")
def scene(kitchen_one: Storage) -> Scene:
    """Variant v0000 compiled, with its handles at the tests' resolution."""
    c, tasks = compile_committed(kitchen_one, SCENE, "r1", resolution=RESOLUTION)
    return Scene(c.model, c.h, c.objects, tasks)
