"""What every robot in the registry provides: names, home pose, source, and a builder.

A robot module builds an :class:`mujoco.MjSpec` whose root body is ``base_body`` and
whose names carry no prefix; :func:`bp_sim.compose.compose_scene` attaches it under the
prefix :data:`ROBOT_PREFIX`. Mesh files are rewritten to relative paths under the folder
:data:`ROBOT_ASSETS` (mirroring the robot's asset root) and their bytes are handed over in
:attr:`RobotBuild.assets`, so a composed ``to_xml()`` never holds an absolute path. The
assemble stage commits exactly those bytes under those names beside ``scene.xml`` (with
the source's licence, :attr:`RobotSourceInfo.license_file`), so the file opens on its own.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROBOT_PREFIX = "robot/"
ROBOT_ASSETS = "robot_assets"


@dataclass(frozen=True)
class RobotSourceInfo:
    """Where the robot's model files come from (recorded in lineage)."""

    package: str
    version: str
    root: Path  # asset root on this machine (never written to outputs)
    files: tuple[str, ...]  # model files relative to ``root``
    license: str
    license_file: Path | None = None  # the source's licence text on this machine, if shipped


@dataclass(frozen=True)
class RobotBuild:
    """A freshly built robot spec and the bytes of every mesh it references."""

    spec: Any  # mujoco.MjSpec
    assets: dict[str, bytes]


@dataclass(frozen=True)
class RobotModel:
    """A robot of the registry. Names are local (without :data:`ROBOT_PREFIX`)."""

    name: str
    base_body: str
    arm_joints: tuple[str, ...]
    arm_actuators: tuple[str, ...]
    home_qpos: tuple[float, ...]  # arm joints then gripper joints (open)
    gripper_joints: tuple[str, ...]
    gripper_actuator: str
    gripper_open_ctrl: float
    gripper_closed_ctrl: float
    ee_site: str
    wrist_camera_body: str
    wrist_camera_pos: tuple[float, float, float]  # in the wrist camera body's frame
    wrist_camera_quat: tuple[float, float, float, float]
    wrist_camera_fovy_deg: float
    max_grasp_width_m: float
    max_payload_kg: float
    reach_m: float
    shoulder_height_m: float  # first arm axis above the base
    base_radius_m: float  # footprint radius of the base (pedestal size)
    source: RobotSourceInfo
    builder: Callable[[], RobotBuild]

    @property
    def joints(self) -> tuple[str, ...]:
        """Arm then gripper joints: the order of :attr:`home_qpos`."""
        return self.arm_joints + self.gripper_joints

    @property
    def home_ctrl(self) -> tuple[float, ...]:
        """Actuator targets that hold the home pose with the gripper open."""
        return (*self.home_qpos[: len(self.arm_joints)], self.gripper_open_ctrl)

    def build(self) -> RobotBuild:
        """A new spec of the robot (each call returns an independent copy)."""
        return self.builder()

    def scoped(self, local: str) -> str:
        """Name of a robot element inside a composed scene."""
        return ROBOT_PREFIX + local


def package_root(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def package_version(distribution: str) -> str:
    """Installed version of a distribution."""
    return importlib.metadata.version(distribution)


@cache
def distribution_license(distribution: str) -> Path | None:
    """The licence file an installed distribution ships (``LICENSE*``/``COPYING*``), if any."""
    dist = importlib.metadata.distribution(distribution)
    names = sorted(
        str(f)
        for f in dist.files or []
        if f.name.upper().startswith(("LICENSE", "LICENCE", "COPYING"))
    )
    return Path(str(dist.locate_file(names[0]))) if names else None


@cache
def _read_cached(path: str) -> bytes:
    return Path(path).read_bytes()


def rehome_meshes(spec: Any, root: Path, rel_dir: str) -> dict[str, bytes]:
    """Point every mesh of ``spec`` at ``robot_assets/<rel_dir>/<meshdir>/<file>`` and read it.

    ``rel_dir`` is the folder of the spec's XML file relative to the asset ``root``.
    Returns the bytes by new file name (files are cached per process).
    """
    meshdir = spec.meshdir.strip("/")
    assets: dict[str, bytes] = {}
    for mesh in spec.meshes:
        parts = [p for p in (rel_dir.strip("/"), meshdir, mesh.file) if p]
        rel = "/".join(parts)
        assets[f"{ROBOT_ASSETS}/{rel}"] = _read_cached(str(root / rel))
        mesh.file = f"{ROBOT_ASSETS}/{rel}"
    spec.meshdir = ""
    return assets
