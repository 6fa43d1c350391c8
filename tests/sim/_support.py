"""Helpers of the bp_sim tests: compose, compile and settle a stand-in scene."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bp_contracts.scene_manifest import SceneManifest
from bp_contracts.simready import SimreadyManifest
from bp_contracts.variation import Variant
from bp_sim.compose import compose_scene
from bp_sim.robots import get_robot
from bp_sim.scene_defaults import default_cameras, default_lights, default_placement

ROBOT = "franka_panda"


@dataclass(frozen=True)
class Example:
    """One example scene: its ingested manifest, stand-in physics and mesh bytes."""

    scene: str
    manifest: SceneManifest
    simready: SimreadyManifest
    meshes: dict[str, bytes]


def compose(
    simready: SimreadyManifest, meshes: dict[str, bytes], variant: Variant | None = None
) -> Any:
    """The scene's MjSpec with the default robot placement, cameras and lights."""
    robot = get_robot(ROBOT)
    placement = default_placement(simready, robot)
    return compose_scene(
        simready,
        placement,
        default_cameras(simready, placement, robot),
        default_lights(simready, placement),
        variant,
        mesh_loader=meshes.__getitem__,
    )
