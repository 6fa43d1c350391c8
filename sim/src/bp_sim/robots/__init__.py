"""The robot registry: one module per robot, one line per robot here.

``get_robot(name)`` returns a :class:`~bp_sim.robots.base.RobotModel`. Modules are
imported only when their robot is asked for, so the registry's names can be checked
(e.g. when settings are parsed) without importing MuJoCo. To add a robot, write a module
with a ``robot() -> RobotModel`` function and add its line to :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bp_sim.robots.base import RobotModel

REGISTRY: dict[str, str] = {
    "franka_panda": "bp_sim.robots.panda",
}


def robot_names() -> list[str]:
    """Every registered robot name, sorted."""
    return sorted(REGISTRY)


class UnknownRobotError(ValueError):
    """A robot name that is not in the registry."""


def check_robot_name(name: str) -> str:
    """``name`` if it is registered; otherwise an error listing the valid names."""
    if name not in REGISTRY:
        raise UnknownRobotError(f"unknown robot {name!r}; valid names: {', '.join(robot_names())}")
    return name


def get_robot(name: str) -> RobotModel:
    """The registered robot ``name`` (its module is imported on first use)."""
    module = importlib.import_module(REGISTRY[check_robot_name(name)])
    model: RobotModel = module.robot()
    return model


__all__ = ["REGISTRY", "UnknownRobotError", "check_robot_name", "get_robot", "robot_names"]
