"""What each control step of one episode did, measured in world 0 right after it: joint-limit
and velocity violations, robot–environment collisions and penetration (the pedestal ignored,
the gripper on the task's object a touch, not a collision), slips and drops of a held object,
and since which frame the task's success predicates have held."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from bp_contracts.tasks import ObjectFrame, Region, all_hold, joint_fraction
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.metrics import EpisodeMetrics, contact_arrays, geom_mask
from bp_episodes.scene import VELOCITY_LIMITS, SceneHandles
from bp_episodes.worklist import EpisodePlan

F64 = NDArray[np.float64]
B = NDArray[np.bool_]
JOINT_LIMIT_TOL = 0.01
SLIP_M = 0.02


@dataclass
class StepMeasure:
    """The measurement of one episode's steps, and what it carries from step to step."""

    h: SceneHandles
    plan: EpisodePlan
    target: Region | None
    dt: float
    start_pos: F64  # the task object's position when the episode starts
    prev_pos: F64  # ... and after the previous step
    names: list[str]  # geom names
    robot_m: B
    ignore_m: B
    gripper_m: B
    obj_m: B  # the task object's geoms
    grip_offset: float | None = None  # hand above the held object when first carried
    success_since: int | None = None  # the frame since which the predicates have held
    collision_pairs: set[str] = field(default_factory=set)
    ee_track: list[F64] = field(default_factory=list)  # the hand's position at each frame

    @classmethod
    def begin(
        cls,
        batch: SimBatch,
        h: SceneHandles,
        plan: EpisodePlan,
        target: Region | None,
        dt: float,
    ) -> StepMeasure:
        """The measurement of an episode starting from world 0 of ``batch`` as it is now."""
        m = h.model
        obj_geoms = h.object_geoms[plan.task.object]
        start_pos = batch.body_pose(h.bodies[plan.task.object])[0][0].copy()
        prev_pos = start_pos.copy()
        names = [m.geom(i).name for i in range(m.ngeom)]
        robot_m, ignore_m = geom_mask(m.ngeom, h.robot_geoms), geom_mask(m.ngeom, h.ignore_geoms)
        gripper_m, obj_m = geom_mask(m.ngeom, h.gripper_geoms), geom_mask(m.ngeom, obj_geoms)
        return cls(
            h, plan, target, dt, start_pos, prev_pos, names, robot_m, ignore_m, gripper_m, obj_m
        )

    def after_step(
        self,
        met: EpisodeMetrics,
        batch: SimBatch,
        k: int,
        t: float,
        phase: str,
        grip: float,
        q2: F64,
        v2: F64,
    ) -> bool:
        """Measure step ``k`` (taken at time ``t``, the follower in ``phase`` commanding
        ``grip``, leaving world 0 at ``q2``, ``v2``) into ``met``; False when the simulation
        diverged (the failure noted) and the episode must end."""
        if not (np.all(np.isfinite(q2)) and np.all(np.isfinite(v2))):
            met.nonfinite = True
            met.failure_reason = f"simulation diverged (non-finite state) at t={t:.2f}s"
            return False
        self._limits(met, q2, v2)
        touching = self._contacts(met, batch)
        new_pos = batch.body_pose(self.h.bodies[self.plan.task.object])[0][0]
        speed = float(np.linalg.norm(new_pos - self.prev_pos)) / self.dt
        self.prev_pos = new_pos.copy()
        if phase in ("lift", "carry", "lower") and grip < 0.5:
            self._slips(met, batch, new_pos, touching)
        self._success(k, q2, new_pos, speed, touching)
        return True

    def _limits(self, met: EpisodeMetrics, q2: F64, v2: F64) -> None:
        """Count a step past the arm's joint range or velocity limits."""
        h = self.h
        arm_q = q2[h.arm_qadr]
        lo, hi = h.arm_range[:, 0], h.arm_range[:, 1]
        met.joint_limit_violations += int(
            np.any((arm_q < lo - JOINT_LIMIT_TOL) | (arm_q > hi + JOINT_LIMIT_TOL))
        )
        met.velocity_violations += int(np.any(np.abs(v2[h.arm_dadr]) > np.asarray(VELOCITY_LIMITS)))

    def _contacts(self, met: EpisodeMetrics, batch: SimBatch) -> bool:
        """Note penetration and robot–scene collisions; whether the gripper touches the object."""
        touching = hit = False
        geom, dist = contact_arrays(batch, 0)
        if len(dist):
            met.max_penetration_m = max(met.max_penetration_m, float(-dist.min()))
            g1, g2 = geom[:, 0], geom[:, 1]
            r1 = self.robot_m[g1]
            rg, other = np.where(r1, g1, g2), np.where(r1, g2, g1)
            # robot against the scene (not self-contact nor scene-scene), the pedestal aside
            cross = (r1 != self.robot_m[g2]) & ~self.ignore_m[other]
            touch = cross & self.gripper_m[rg] & self.obj_m[other]
            touching = bool(touch.any())
            bad = cross & ~touch
            hit = bool(bad.any())
            for a, b in zip(rg[bad].tolist(), other[bad].tolist(), strict=True):
                self.collision_pairs.add(f"{self.names[a]} / {self.names[b]}")
        met.collision_frames += int(hit)
        return touching

    def _slips(self, met: EpisodeMetrics, batch: SimBatch, new_pos: F64, touching: bool) -> None:
        """While carrying: count the object sliding down in the hand (a drop if untouched)."""
        offset = float(batch.site_pose(self.h.site)[0][0][2] - new_pos[2])
        if self.grip_offset is None:
            self.grip_offset = offset
        elif offset - self.grip_offset > SLIP_M:
            met.drops += int(not touching)
            met.slips += int(touching)
            self.grip_offset = offset

    def _success(self, k: int, q2: F64, new_pos: F64, speed: float, touching: bool) -> None:
        """Whether the task's success predicates hold after step ``k``, and since when."""
        frac = None
        joint = self.h.joints.get(self.plan.task.object)
        if joint is not None:
            adr, jlo, jhi = joint
            frac = joint_fraction(float(q2[adr]), jlo, jhi)
        frame = ObjectFrame(new_pos, self.start_pos, speed, touching, frac)
        ok = all_hold(self.plan.task.success, frame, self.target)
        if ok and self.success_since is None:
            self.success_since = k + 1
        elif not ok:
            self.success_since = None
