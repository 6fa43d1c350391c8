"""Load an assembled ``scene.xml`` from disk, supplying the robot's meshes.

``scene.xml`` is self-contained for the scene's own objects (their collision meshes sit
next to it under ``meshes/``) but names the robot's meshes under the placeholder folder
``robot_assets/`` (the robot source's asset root; 39 MB for the Panda, so it is not copied
into every scene). :func:`load_scene_xml` hands those files to MuJoCo from the installed
robot package. Without Python, make ``robot_assets`` next to ``scene.xml`` a link to the
asset root named in ``assembly.json`` (for robosuite: ``<site-packages>/robosuite/models/assets``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mujoco

from bp_sim.robots import get_robot


def robot_assets(robot_name: str) -> dict[str, bytes]:
    """The robot's mesh files by the names a composed scene uses (``robot_assets/…``)."""
    return get_robot(robot_name).build().assets


def load_scene_xml(path: Path, robot_name: str) -> Any:
    """The compiled :class:`mujoco.MjModel` of an assembled ``scene.xml``."""
    return mujoco.MjModel.from_xml_path(str(path), robot_assets(robot_name))
