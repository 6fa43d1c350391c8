"""Fixtures of the batched runner's tests: kitchen_counter prepared through the real upstream
stages (ingest → tasks, one variant) and its v0000 scene compiled once."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

from dataclasses import dataclass
from typing import Any

import pytest
from bp_contracts.assembly import Assembly
from bp_contracts.simready import SimObject, SimreadyManifest
from bp_contracts.tasks import TaskSet, TaskSpec
from bp_contracts.variation import Variant
from bp_episodes.episode import RecordOptions
from bp_episodes.scene import SceneHandles, handles
from bp_sdk.commit import require_committed
from bp_sdk.storage import Storage
from bp_sim.compose import compose_scene
from bp_sim.robots import get_robot

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
    up = {
        k: require_committed(kitchen_one, SCENE, "r1", k)
        for k in ("simready", "assemble", "variations", "tasks")
    }
    sr = up["simready"].read_model("simready_manifest.json", SimreadyManifest)
    asm = up["assemble"].read_model("assembly.json", Assembly)
    variant = up["variations"].read_model("variations/v0000.json", Variant)
    model = compose_scene(
        sr,
        asm.robot,
        asm.cameras,
        asm.lights,
        variant,
        timestep=asm.timestep_s,
        mesh_loader=up["simready"].read_bytes,
    ).compile()
    objects = {o.id: o for o in [*sr.objects, *variant.distractors]}
    h = handles(model, get_robot("franka_panda"), list(objects.values()), asm.cameras, RESOLUTION)
    return Scene(model, h, objects, up["tasks"].read_model("tasks.json", TaskSet))
