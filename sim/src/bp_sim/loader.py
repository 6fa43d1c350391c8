"""Load an assembled ``scene.xml`` from disk.

The assemble stage commits ``scene.xml`` with every file it names beside it: the scene's
collision meshes under ``meshes/`` and the robot's meshes under ``robot_assets/`` (the
robot source's asset tree, only the files the model uses). So the committed folder opens
with plain ``mujoco.MjModel.from_xml_path`` or ``python -m mujoco.viewer``, and
:func:`load_scene_xml` is only a convenience: it also hands MuJoCo the robot's meshes from
the installed package, which folders committed before the robot assets were included need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mujoco

from bp_sim.robots import get_robot


def robot_assets(robot_name: str) -> dict[str, bytes]:
    """The robot's mesh files by the names a composed scene uses (``robot_assets/…``)."""
    return get_robot(robot_name).build().assets


def load_scene_xml(path: Path, robot_name: str | None = None) -> Any:
    """The compiled :class:`mujoco.MjModel` of an assembled ``scene.xml``.

    With ``robot_name`` the robot's meshes come from the installed package (MuJoCo prefers
    these over files on disk); without it, from the folder of ``path``.
    """
    assets = robot_assets(robot_name) if robot_name else {}
    return mujoco.MjModel.from_xml_path(str(path), assets)
