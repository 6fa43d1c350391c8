"""One variant of a prepared scene composed and compiled as the episodes stage does it.

:func:`compile_variant` is the stage's own step (simready + assembly + variant → the MuJoCo
model, its handles at one resolution, the scene's objects); :func:`compile_committed` reads
a prepared scene's committed upstream first, for tests and benchmarks that drive the
simulator directly. Importing this module does not import MuJoCo (set ``MUJOCO_GL`` before
calling either).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, SimObject, SimreadyManifest
from bp_contracts.tasks import TASKS_FILE, TaskSet
from bp_contracts.variation import Variant, variant_file
from bp_sdk.commit import require_committed
from bp_sdk.storage import Storage

if TYPE_CHECKING:
    from bp_sim.compose import MeshLoader
    from bp_sim.robots.base import RobotModel

    from bp_episodes.scene import SceneHandles

DEFAULT_RESOLUTION = 128  # the stage's default EPISODES_RESOLUTION


@dataclass(frozen=True)
class CompiledVariant:
    """The compiled model, its handles at one resolution, and the scene's objects by id
    (the simready objects, then the variant's distractors)."""

    model: Any  # mujoco.MjModel
    h: SceneHandles
    objects: dict[str, SimObject]


def compile_variant(
    simready: SimreadyManifest,
    assembly: Assembly,
    variant: Variant,
    mesh_loader: MeshLoader,
    robot: RobotModel,
    resolution: int,
) -> CompiledVariant:
    """Compose ``variant`` of the scene (the assembly's robot placement, cameras, lights and
    timestep; meshes from ``mesh_loader``), compile it, and look up its handles for
    ``robot`` (a :func:`bp_sim.robots.get_robot` model) at ``resolution``."""
    from bp_sim.compose import compose_scene  # noqa: PLC0415 - imports MuJoCo (after MUJOCO_GL is set)

    from bp_episodes.scene import handles  # noqa: PLC0415 - imports MuJoCo

    model = compose_scene(
        simready,
        assembly.robot,
        assembly.cameras,
        assembly.lights,
        variant,
        timestep=assembly.timestep_s,
        mesh_loader=mesh_loader,
    ).compile()
    objects = {o.id: o for o in [*simready.objects, *variant.distractors]}
    h = handles(model, robot, list(objects.values()), assembly.cameras, resolution)
    return CompiledVariant(model, h, objects)


def compile_committed(
    storage: Storage,
    scene: str,
    run: str,
    variant_id: str = "v0000",
    resolution: int = DEFAULT_RESOLUTION,
    robot: str = "franka_panda",
) -> tuple[CompiledVariant, TaskSet]:
    """Read the committed simready, assemble, variations and tasks units of ``scene``/``run``
    (verified, as the stage reads them) and compile ``variant_id``; also its task set."""
    from bp_sim.robots import get_robot  # noqa: PLC0415 - a robot's module may import MuJoCo

    up = {
        k: require_committed(storage, scene, run, k)
        for k in ("simready", "assemble", "variations", "tasks")
    }
    simready = up["simready"].read_model(SIMREADY_MANIFEST_FILE, SimreadyManifest)
    assembly = up["assemble"].read_model(ASSEMBLY_FILE, Assembly)
    variant = up["variations"].read_model(variant_file(variant_id), Variant)
    tasks = up["tasks"].read_model(TASKS_FILE, TaskSet)
    compiled = compile_variant(
        simready, assembly, variant, up["simready"].read_bytes, get_robot(robot), resolution
    )
    return compiled, tasks
