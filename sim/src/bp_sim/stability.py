"""Settle a compiled scene and judge it: does anything drift, sink or interpenetrate?

From the ``home`` keyframe, with every actuator holding its home target, the model is
stepped ``steps`` times. Measured:

* per movable object (and per articulated moving part): drift = |final − initial|
  position of its body (the worse of the object's body and its moving part), drop =
  initial z − final z (positive when it fell or sank), final linear speed;
* the deepest penetration over the whole run (−min contact ``dist``), robot self-contacts
  excluded, with the pair that had it;
* the robot's home error: max |q − q_home| over the arm joints at the end.

Verdicts use the bounds given (defaults: drift ≤ 5 mm, penetration ≤ 5 mm, home error
≤ 0.05 rad, final speed ≤ 20 mm/s); each failing object gets a reason naming the figure
and its limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from bp_contracts.assembly import ObjectStability, StabilityReport
from bp_contracts.geometry import rnd
from bp_contracts.simready import SimObject

from bp_sim.compose import HOME_KEY, part_body
from bp_sim.robots.base import ROBOT_PREFIX, RobotModel

MIN_STEPS = 500


@dataclass(frozen=True)
class Bounds:
    """Limits of a stable scene."""

    max_drift_m: float = 0.005
    max_penetration_m: float = 0.005
    max_home_error_rad: float = 0.05
    max_end_speed_m_s: float = 0.02  # still moving at the end: not settled


def _mm(x: float) -> str:
    return f"{x * 1000:.1f} mm"


def _tracked(model: Any, objects: Sequence[SimObject]) -> list[tuple[str, list[int]]]:
    """(object id, body ids) for every object that can move."""
    out = []
    for o in objects:
        bodies = []
        if not o.static:
            bodies.append(model.body(o.id).id)
        if o.articulation is not None:
            bodies.append(model.body(part_body(o.id, o.articulation.kind)).id)
        if bodies:
            out.append((o.id, bodies))
    return out


def _owner(model: Any, body_id: int) -> str:
    """What a body belongs to: an object id, ``robot``, ``floor`` or the pedestal."""
    if body_id == 0:
        return "floor"
    name: str = model.body(body_id).name
    if name.startswith(ROBOT_PREFIX):
        return "robot"
    return name.split("/", 1)[0]


def _robot_bodies(model: Any) -> set[int]:
    return {i for i in range(model.nbody) if model.body(i).name.startswith(ROBOT_PREFIX)}


def settle(
    model: Any,
    objects: Sequence[SimObject],
    robot: RobotModel,
    scene_id: str,
    *,
    steps: int = MIN_STEPS,
    bounds: Bounds | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StabilityReport:
    """Step ``model`` from its home keyframe and report (``objects`` = what compose added)."""
    if steps < MIN_STEPS:
        raise ValueError(f"settle needs at least {MIN_STEPS} steps, got {steps}")
    b = bounds or Bounds()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_forward(model, data)
    tracked = _tracked(model, objects)
    start = {oid: [data.xpos[i].copy() for i in ids] for oid, ids in tracked}
    robot_bodies = _robot_bodies(model)
    geom_body = model.geom_bodyid
    worst = 0.0
    worst_pair: tuple[int, int] | None = None
    deep: dict[tuple[str, str], float] = {}  # object pair -> deepest penetration over the limit
    for step in range(steps):
        mujoco.mj_step(model, data)
        if data.ncon == 0:
            continue
        contacts = data.contact
        deeper = np.flatnonzero(-contacts.dist > min(worst, b.max_penetration_m))
        for k in deeper:  # usually none: only contacts deeper than seen so far
            depth = -float(contacts.dist[k])
            g1, g2 = int(contacts.geom[k][0]), int(contacts.geom[k][1])
            b1, b2 = geom_body[g1], geom_body[g2]
            if b1 in robot_bodies and b2 in robot_bodies:
                continue
            if depth > worst:
                worst, worst_pair = depth, (g1, g2)
            if depth > b.max_penetration_m:
                lo, hi = sorted((_owner(model, b1), _owner(model, b2)))
                deep[(lo, hi)] = max(deep.get((lo, hi), 0.0), depth)
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, steps)
    # home error over the arm joints
    arm_q = [data.qpos[model.joint(robot.scoped(j)).qposadr[0]] for j in robot.arm_joints]
    home_q = [
        model.key_qpos[model.key(HOME_KEY).id][model.joint(robot.scoped(j)).qposadr[0]]
        for j in robot.arm_joints
    ]
    home_err = float(np.max(np.abs(np.asarray(arm_q) - np.asarray(home_q))))
    vel = np.zeros(6)
    results = []
    for oid, ids in tracked:
        drift = 0.0
        drop = 0.0
        speed = 0.0
        for body_id, p0 in zip(ids, start[oid], strict=True):
            p1 = data.xpos[body_id]
            drift = max(drift, float(np.linalg.norm(p1 - p0)))
            drop = max(drop, float(p0[2] - p1[2]))
            mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, body_id, vel, 0)
            speed = max(speed, float(np.linalg.norm(vel[3:])))
        reasons = []
        if speed > b.max_end_speed_m_s:
            reasons.append(
                f"{oid} is still moving at {speed * 1000:.0f} mm/s after settling "
                f"(limit {b.max_end_speed_m_s * 1000:.0f} mm/s)"
            )
        if drift > b.max_drift_m:
            reasons.append(f"{oid} drifted {_mm(drift)} (limit {_mm(b.max_drift_m)})")
        if drop > b.max_drift_m:
            reasons.append(
                f"{oid} dropped {_mm(drop)} (limit {_mm(b.max_drift_m)}): "
                "it started above its support or sank into it"
            )
        results.append(
            ObjectStability(
                id=oid,
                drift_m=rnd(drift, 6),
                drop_m=rnd(drop, 6),
                max_speed_end_m_s=rnd(speed, 6),
                ok=not reasons,
                reasons=reasons,
            )
        )
    worst_contact = None
    if worst_pair is not None:
        worst_contact = " / ".join(
            model.geom(g).name or model.body(geom_body[g]).name for g in worst_pair
        )
    reasons = [r for o in results for r in o.reasons]
    for (a, c), depth in sorted(deep.items()):
        reasons.append(
            f"{a} and {c} interpenetrate by {_mm(depth)} (limit {_mm(b.max_penetration_m)}): "
            "they overlap or one is pushed into the other"
        )
    robot_ok = home_err <= b.max_home_error_rad
    if not robot_ok:
        reasons.append(
            f"robot left its home pose by {home_err:.3f} rad (limit {b.max_home_error_rad} rad): "
            "it is pushed by the scene or cannot hold itself"
        )
    return StabilityReport(
        scene_id=scene_id,
        steps=steps,
        timestep_s=float(model.opt.timestep),
        max_drift_allowed_m=b.max_drift_m,
        max_penetration_allowed_m=b.max_penetration_m,
        max_penetration_m=rnd(worst, 6),
        worst_contact=worst_contact,
        robot_home_error_rad=rnd(home_err, 6),
        robot_ok=robot_ok,
        objects=results,
        ok=not reasons,
        reasons=reasons,
    )
