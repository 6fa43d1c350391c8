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
from dataclasses import dataclass, field
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


@dataclass
class _Contacts:
    """The deepest contact of a run (robot self-contacts excluded) and the pairs over the limit."""

    limit: float
    robot_bodies: set[int]
    geom_body: Any
    worst: float = 0.0
    worst_pair: tuple[int, int] | None = None
    deep: dict[tuple[str, str], float] = field(default_factory=dict)  # pair -> deepest over limit

    def record(self, model: Any, data: Any) -> None:
        """Take in this step's contacts that are deeper than seen so far."""
        contacts = data.contact
        deeper = np.flatnonzero(-contacts.dist > min(self.worst, self.limit))
        for k in deeper:  # usually none: only contacts deeper than seen so far
            depth = -float(contacts.dist[k])
            g1, g2 = int(contacts.geom[k][0]), int(contacts.geom[k][1])
            self._take(model, depth, g1, g2)

    def _take(self, model: Any, depth: float, g1: int, g2: int) -> None:
        """Count one contact of ``depth`` between geoms ``g1`` and ``g2``."""
        b1, b2 = self.geom_body[g1], self.geom_body[g2]
        if b1 in self.robot_bodies and b2 in self.robot_bodies:
            return
        if depth > self.worst:
            self.worst, self.worst_pair = depth, (g1, g2)
        if depth > self.limit:
            lo, hi = sorted((_owner(model, b1), _owner(model, b2)))
            self.deep[(lo, hi)] = max(self.deep.get((lo, hi), 0.0), depth)


def _home_data(model: Any) -> Any:
    """Fresh MjData at the home keyframe, forward-computed."""
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_forward(model, data)
    return data


def _step(
    model: Any,
    data: Any,
    steps: int,
    limit: float,
    progress: Callable[[int, int], None] | None,
) -> _Contacts:
    """Step ``steps`` times, watching contacts for penetration deeper than ``limit``."""
    seen = _Contacts(limit, _robot_bodies(model), model.geom_bodyid)
    for step in range(steps):
        mujoco.mj_step(model, data)
        if data.ncon == 0:
            continue  # (no progress call on a step without contacts)
        seen.record(model, data)
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, steps)
    return seen


def _home_error(model: Any, data: Any, robot: RobotModel) -> float:
    """Max |q − q_home| over the arm joints."""
    arm_q = [data.qpos[model.joint(robot.scoped(j)).qposadr[0]] for j in robot.arm_joints]
    home_q = [
        model.key_qpos[model.key(HOME_KEY).id][model.joint(robot.scoped(j)).qposadr[0]]
        for j in robot.arm_joints
    ]
    return float(np.max(np.abs(np.asarray(arm_q) - np.asarray(home_q))))


def _motion(
    model: Any, data: Any, ids: list[int], starts: list[Any], vel: Any
) -> tuple[float, float, float]:
    """Drift, drop and final speed of one object: the worst over its bodies."""
    drift = 0.0
    drop = 0.0
    speed = 0.0
    for body_id, p0 in zip(ids, starts, strict=True):
        p1 = data.xpos[body_id]
        drift = max(drift, float(np.linalg.norm(p1 - p0)))
        drop = max(drop, float(p0[2] - p1[2]))
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, body_id, vel, 0)
        speed = max(speed, float(np.linalg.norm(vel[3:])))
    return drift, drop, speed


def _object_reasons(oid: str, drift: float, drop: float, speed: float, b: Bounds) -> list[str]:
    """Why one object is not stable (empty when it is)."""
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
    return reasons


def _objects(
    model: Any,
    data: Any,
    tracked: list[tuple[str, list[int]]],
    start: dict[str, list[Any]],
    b: Bounds,
) -> list[ObjectStability]:
    """The verdict on every tracked object, from its start and final state."""
    vel = np.zeros(6)
    results = []
    for oid, ids in tracked:
        drift, drop, speed = _motion(model, data, ids, start[oid], vel)
        reasons = _object_reasons(oid, drift, drop, speed, b)
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
    return results


def _worst_contact(model: Any, pair: tuple[int, int] | None) -> str | None:
    """The deepest contact's two geoms by name (their body's name for an unnamed geom)."""
    if pair is None:
        return None
    geom_body = model.geom_bodyid
    return " / ".join(model.geom(g).name or model.body(geom_body[g]).name for g in pair)


def _scene_reasons(
    results: list[ObjectStability],
    deep: dict[tuple[str, str], float],
    home_err: float,
    robot_ok: bool,
    b: Bounds,
) -> list[str]:
    """Every reason the scene fails: its objects', interpenetrating pairs', the robot's."""
    reasons = [r for o in results for r in o.reasons]
    for (a, c), depth in sorted(deep.items()):
        reasons.append(
            f"{a} and {c} interpenetrate by {_mm(depth)} (limit {_mm(b.max_penetration_m)}): "
            "they overlap or one is pushed into the other"
        )
    if not robot_ok:
        reasons.append(
            f"robot left its home pose by {home_err:.3f} rad (limit {b.max_home_error_rad} rad): "
            "it is pushed by the scene or cannot hold itself"
        )
    return reasons


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
    data = _home_data(model)
    tracked = _tracked(model, objects)
    start = {oid: [data.xpos[i].copy() for i in ids] for oid, ids in tracked}
    seen = _step(model, data, steps, b.max_penetration_m, progress)
    home_err = _home_error(model, data, robot)
    results = _objects(model, data, tracked, start, b)
    worst_contact = _worst_contact(model, seen.worst_pair)
    robot_ok = home_err <= b.max_home_error_rad
    reasons = _scene_reasons(results, seen.deep, home_err, robot_ok, b)
    return StabilityReport(
        scene_id=scene_id,
        steps=steps,
        timestep_s=float(model.opt.timestep),
        max_drift_allowed_m=b.max_drift_m,
        max_penetration_allowed_m=b.max_penetration_m,
        max_penetration_m=rnd(seen.worst, 6),
        worst_contact=worst_contact,
        robot_home_error_rad=rnd(home_err, 6),
        robot_ok=robot_ok,
        objects=results,
        ok=not reasons,
        reasons=reasons,
    )
