"""What the expert sees of world 0 of a batch: the objects' poses, the hand, the scene's
obstacle boxes and the extras its plan reads (an articulated object's handle, opening
direction, travel and hinge line; the surface under the target; the robot's base)."""

from __future__ import annotations

import math

import numpy as np
from bp_contracts.simready import Articulation, SimObject
from bp_contracts.tasks import Region
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.expert.base import ObjectState, World
from bp_episodes.expert.obstacles import boxes_from_model
from bp_episodes.scene import SceneHandles, hand_yaw
from bp_episodes.worklist import EpisodePlan

F64 = NDArray[np.float64]
OPEN_TRAVEL = 0.9  # fraction of the range an open task pulls


def expert_world(
    h: SceneHandles,
    batch: SimBatch,
    plan: EpisodePlan,
    objects: dict[str, SimObject],
    target: Region | None,
) -> World:
    """World 0 of ``batch`` as the expert of ``plan``'s task sees it."""
    states = {}
    for oid, body in h.bodies.items():
        pos, quat = batch.body_pose(body)
        states[oid] = ObjectState(objects[oid], tuple(pos[0]), tuple(quat[0]))
    spos, srot = batch.site_pose(h.site)
    extras: dict[str, float] = {}
    obj = objects[plan.task.object]
    joint = h.joints.get(plan.task.object)
    if obj.articulation is not None and joint is not None:
        extras.update(_articulation_extras(h, batch, plan, obj.articulation, joint))
    if target is not None:
        surface = _target_surface_z(h, batch, plan, target)
        if surface is not None:
            extras["target_surface_z"] = surface
    extras.update(_base_extras(h, batch))
    boxes = boxes_from_model(h.model, batch.qpos()[0], h.object_geoms, h.ignore_geoms)
    return World(
        plan.task,
        target,
        states,
        (float(spos[0][0]), float(spos[0][1]), float(spos[0][2])),
        hand_yaw(srot[0]),
        extras,
        boxes,
    )


def _articulation_extras(
    h: SceneHandles,
    batch: SimBatch,
    plan: EpisodePlan,
    art: Articulation,
    joint: tuple[int, float, float],
) -> dict[str, float]:
    """The task object's handle, opening direction, travel left and joint (and a hinge's line)."""
    hpos, _ = batch.site_pose(h.handles[plan.task.object])
    _, oquat = batch.body_pose(h.bodies[plan.task.object])
    d = _rotate(oquat[0], np.asarray(art.open_direction))
    adr, jlo, jhi = joint
    now = float(batch.qpos()[0][adr])
    travel = (
        (OPEN_TRAVEL * (jhi - jlo) - (now - jlo))
        if plan.task.kind.startswith("open_")
        else (now - jlo)
    )
    extras = {
        "handle_x": float(hpos[0][0]),
        "handle_y": float(hpos[0][1]),
        "handle_z": float(hpos[0][2]),
        "open_x": float(d[0]),
        "open_y": float(d[1]),
        "travel_m": max(travel, 0.0),
        "joint_q": now,
        "joint_lo": jlo,
        "joint_hi": jhi,
    }
    if art.joint == "hinge":
        extras.update(_hinge_extras(h, batch, plan, art, oquat[0]))
    return extras


def _hinge_extras(
    h: SceneHandles, batch: SimBatch, plan: EpisodePlan, art: Articulation, oquat: F64
) -> dict[str, float]:
    """A hinge's line in the world: a point on it (``hinge_*``) and its unit axis (``axis_*``)."""
    opos, _ = batch.body_pose(h.bodies[plan.task.object])
    anchor = opos[0] + _rotate(oquat, np.asarray(art.anchor_m))
    axis = _rotate(oquat, np.asarray(art.axis))
    axis = axis / (float(np.linalg.norm(axis)) or 1.0)
    return {f"hinge_{c}": float(v) for c, v in zip("xyz", anchor, strict=True)} | {
        f"axis_{c}": float(v) for c, v in zip("xyz", axis, strict=True)
    }


def _target_surface_z(
    h: SceneHandles, batch: SimBatch, plan: EpisodePlan, target: Region
) -> float | None:
    """The real surface under the target: a region's floor may lie inside a solid receptacle."""
    top = target.center_m[2] + target.half_extents_m[2] + 0.5
    return batch.ray_down(
        0, target.center_m[0], target.center_m[1], top, h.bodies[plan.task.object]
    )


def _base_extras(h: SceneHandles, batch: SimBatch) -> dict[str, float]:
    """The robot base's position and heading."""
    base, bquat = batch.body_pose(h.model.body(h.robot.scoped(h.robot.base_body)).id)
    forward = _rotate(bquat[0], np.array([1.0, 0.0, 0.0]))
    return {
        "base_x": float(base[0][0]),
        "base_y": float(base[0][1]),
        "base_z": float(base[0][2]),
        "base_yaw": math.atan2(float(forward[1]), float(forward[0])),
    }


def _rotate(q: F64, v: F64) -> F64:
    """Rotate ``v`` by unit quaternion ``q`` [w, x, y, z]."""
    w, x, y, z = q
    u = np.array([x, y, z])
    return np.asarray(v + 2 * np.cross(u, np.cross(u, v) + w * v))
