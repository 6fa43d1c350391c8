"""A prepared scene's variant compiled as the episodes stage compiles it, for tests that
drive the simulator directly (one loader instead of one per test folder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bp_contracts.assembly import Assembly
from bp_contracts.simready import SimObject, SimreadyManifest
from bp_contracts.tasks import TaskSet
from bp_contracts.variation import Variant
from bp_episodes.scene import SceneHandles, handles
from bp_sdk.commit import require_committed
from bp_sdk.storage import Storage
from bp_sim.compose import compose_scene
from bp_sim.robots import get_robot


@dataclass(frozen=True)
class Compiled:
    """The compiled model, its handles at one resolution, the scene's objects and tasks."""

    model: Any
    h: SceneHandles
    objects: dict[str, SimObject]
    tasks: TaskSet


def compile_variant(
    storage: Storage, scene: str, resolution: int, run: str = "r1", variant: str = "v0000"
) -> Compiled:
    """Read the committed upstream of ``scene``/``run`` and compile ``variant``."""
    up = {
        k: require_committed(storage, scene, run, k)
        for k in ("simready", "assemble", "variations", "tasks")
    }
    sr = up["simready"].read_model("simready_manifest.json", SimreadyManifest)
    asm = up["assemble"].read_model("assembly.json", Assembly)
    var = up["variations"].read_model(f"variations/{variant}.json", Variant)
    model = compose_scene(
        sr,
        asm.robot,
        asm.cameras,
        asm.lights,
        var,
        timestep=asm.timestep_s,
        mesh_loader=up["simready"].read_bytes,
    ).compile()
    objects = {o.id: o for o in [*sr.objects, *var.distractors]}
    h = handles(model, get_robot("franka_panda"), list(objects.values()), asm.cameras, resolution)
    return Compiled(model, h, objects, up["tasks"].read_model("tasks.json", TaskSet))
