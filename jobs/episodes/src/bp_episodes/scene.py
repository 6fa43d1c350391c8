"""Indices into a composed model that the episode loop needs, found once per model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from bp_contracts.assembly import CameraSpec
from bp_contracts.simready import SimObject
from bp_sim.compose import HOME_KEY, PEDESTAL, free_joint, part_joint
from bp_sim.robots.base import ROBOT_PREFIX, RobotModel
from numpy.typing import NDArray

F64 = NDArray[np.float64]
# Franka Panda joint velocity limits (rad/s), datasheet
VELOCITY_LIMITS = (2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61)


@dataclass(frozen=True)
class CameraInfo:
    """A camera of the model and its pinhole intrinsics at the recording resolution."""

    name: str
    id: int
    mount: str
    fovy_deg: float
    intrinsics: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class SceneHandles:
    """Ids and addresses for one compiled scene."""

    model: Any
    robot: RobotModel
    home_qpos: F64
    arm_qadr: NDArray[np.int64]
    arm_dadr: NDArray[np.int64]
    finger_qadr: NDArray[np.int64]
    finger_dadr: NDArray[np.int64]
    arm_range: F64
    site: int
    cameras: list[CameraInfo]
    bodies: dict[str, int]  # object id → body id
    movable: list[str]
    robot_geoms: frozenset[int]
    gripper_geoms: frozenset[int]
    object_geoms: dict[str, frozenset[int]]
    ignore_geoms: frozenset[int]  # pedestal: touches the robot's base by design
    joints: dict[str, tuple[int, float, float]]  # articulated object id → (qpos adr, lo, hi)
    handles: dict[str, int]  # articulated object id → handle site id
    free_qadr: dict[str, int]  # movable object id → qpos address of its free joint (pos, wxyz)


def _subtree(model: Any, root: int) -> set[int]:
    out = {root}
    for b in range(model.nbody):
        p = b
        while p > 0:
            if p == root:
                out.add(b)
                break
            p = int(model.body_parentid[p])
    return out


def intrinsics(fovy_deg: float, res: int) -> tuple[tuple[float, float, float], ...]:
    """3×3 pinhole matrix for a square image of ``res`` pixels."""
    f = (res / 2) / math.tan(math.radians(fovy_deg) / 2)
    c = res / 2
    return ((f, 0.0, c), (0.0, f, c), (0.0, 0.0, 1.0))


def handles(
    model: Any, robot: RobotModel, objects: list[SimObject], cameras: list[CameraSpec], res: int
) -> SceneHandles:
    """Look everything up once."""
    arm = [robot.scoped(j) for j in robot.arm_joints]
    fingers = [robot.scoped(j) for j in robot.gripper_joints]
    robot_bodies = {b for b in range(model.nbody) if model.body(b).name.startswith(ROBOT_PREFIX)}
    hand = model.body(robot.scoped(robot.wrist_camera_body)).id
    gripper_bodies = _subtree(model, hand)
    geom_body = model.geom_bodyid
    bodies = {o.id: model.body(o.id).id for o in objects}
    object_geoms: dict[str, frozenset[int]] = {}
    for o in objects:
        sub = _subtree(model, bodies[o.id])
        object_geoms[o.id] = frozenset(g for g in range(model.ngeom) if int(geom_body[g]) in sub)
    ignore = frozenset(g for g in range(model.ngeom) if model.geom(g).name == PEDESTAL)
    joints = {}
    handle_sites = {}
    for o in objects:
        if o.articulation is not None:
            handle_sites[o.id] = model.site(f"{o.id}/handle").id
            j = model.joint(part_joint(o.id, o.articulation.kind))
            joints[o.id] = (int(j.qposadr[0]), float(j.range[0]), float(j.range[1]))
    cams = []
    for spec in cameras:
        cid = model.camera(spec.name).id
        cams.append(
            CameraInfo(spec.name, cid, spec.mount, spec.fovy_deg, intrinsics(spec.fovy_deg, res))
        )
    return SceneHandles(
        model=model,
        robot=robot,
        home_qpos=model.key(HOME_KEY).qpos.copy(),
        arm_qadr=np.array([model.joint(n).qposadr[0] for n in arm]),
        arm_dadr=np.array([model.joint(n).dofadr[0] for n in arm]),
        finger_qadr=np.array([model.joint(n).qposadr[0] for n in fingers]),
        finger_dadr=np.array([model.joint(n).dofadr[0] for n in fingers]),
        arm_range=np.array([model.joint(n).range for n in arm]),
        site=model.site(robot.scoped(robot.ee_site)).id,
        cameras=cams,
        bodies=bodies,
        movable=[o.id for o in objects if not o.static],
        robot_geoms=frozenset(g for g in range(model.ngeom) if int(geom_body[g]) in robot_bodies),
        gripper_geoms=frozenset(
            g for g in range(model.ngeom) if int(geom_body[g]) in gripper_bodies
        ),
        object_geoms=object_geoms,
        ignore_geoms=ignore,
        joints=joints,
        handles=handle_sites,
        free_qadr={
            o.id: int(model.joint(free_joint(o.id)).qposadr[0]) for o in objects if not o.static
        },
    )


def hand_yaw(rot: F64) -> float:
    """Yaw of a downward hand (inverse of ``down_quat``): from the site's x axis."""
    return math.atan2(-float(rot[1, 0]), -float(rot[0, 0]))


def geom_table(h: SceneHandles) -> dict[str, list[Any]]:
    """What each segmentation id (MuJoCo geom id, the list index) shows: the geom's name (or
    ``geom<id>`` when unnamed), its body's name, and its owner: a movable or static object's
    id, ``robot`` (arm, hand, fingers), or null for the rest of the scene (floor, pedestal)."""
    m = h.model
    owner: dict[int, str] = {}
    for oid, geoms in h.object_geoms.items():
        for g in geoms:
            owner[g] = oid
    for g in h.robot_geoms:
        owner[g] = "robot"
    names, bodies, owners = [], [], []
    for g in range(m.ngeom):
        names.append(m.geom(g).name or f"geom{g}")
        bodies.append(m.body(int(m.geom_bodyid[g])).name or f"body{int(m.geom_bodyid[g])}")
        owners.append(owner.get(g))
    return {"name": names, "body": bodies, "object": owners}
