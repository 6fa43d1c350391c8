"""One episode: reset with its seed, run the expert through IK at the control rate,
record every stream at the same frames, and measure what happened."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from bp_contracts.geometry import matrix_to_quat
from bp_contracts.simready import SimObject
from bp_contracts.tasks import ObjectFrame, Region, all_hold, joint_fraction
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.expert.base import Follower, ObjectState, Waypoint, World
from bp_episodes.expert.ik import ArmIK
from bp_episodes.expert.obstacles import boxes_from_model
from bp_episodes.expert.registry import expert_for
from bp_episodes.expert.track import ArmTracker, make_tracker
from bp_episodes.initial_state import InitialState, Perturbation, sample_initial_state
from bp_episodes.metrics import (
    EpisodeMetrics,
    contact_arrays,
    geom_mask,
    path_and_jerk,
    quality,
)
from bp_episodes.scene import VELOCITY_LIMITS, SceneHandles, hand_yaw
from bp_episodes.worklist import EpisodePlan

F64 = NDArray[np.float64]
SETTLE_S = 0.6
JOINT_LIMIT_TOL = 0.01
SLIP_M = 0.02
OPEN_TRAVEL = 0.9  # fraction of the range an open task pulls


class EpisodeTimeoutError(RuntimeError):
    """The episode ran past its wall-clock limit."""


@dataclass
class Recording:
    """Every stream of one episode, frame-aligned."""

    arrays: dict[str, list[NDArray[Any]]] = field(default_factory=dict)

    def add(self, key: str, value: NDArray[Any]) -> None:
        """Append one frame of one stream."""
        self.arrays.setdefault(key, []).append(value)

    def stacked(self) -> dict[str, NDArray[Any]]:
        """Arrays with a leading time axis."""
        return {k: np.stack(v) for k, v in self.arrays.items()}


@dataclass(frozen=True)
class RecordOptions:
    """What to record and how often, and how far each episode's start may differ from the
    variant's placement (see :mod:`bp_episodes.initial_state`)."""

    fps: int
    tier: str
    timeout_s: float
    joint_noise_rad: float
    object_jitter_m: float = 0.0
    object_yaw_rad: float = 0.0

    def perturbation(self) -> Perturbation:
        """The initial-state perturbation these options ask for."""
        return Perturbation(self.object_jitter_m, self.object_yaw_rad, self.joint_noise_rad)


def _world(
    h: SceneHandles,
    batch: SimBatch,
    plan: EpisodePlan,
    objects: dict[str, SimObject],
    target: Region | None,
) -> World:
    states = {}
    for oid, body in h.bodies.items():
        pos, quat = batch.body_pose(body)
        states[oid] = ObjectState(objects[oid], tuple(pos[0]), tuple(quat[0]))
    spos, srot = batch.site_pose(h.site)
    extras: dict[str, float] = {}
    obj = objects[plan.task.object]
    joint = h.joints.get(plan.task.object)
    if obj.articulation is not None and joint is not None:
        hpos, _ = batch.site_pose(h.handles[plan.task.object])
        _, oquat = batch.body_pose(h.bodies[plan.task.object])
        d = _rotate(oquat[0], np.asarray(obj.articulation.open_direction))
        adr, jlo, jhi = joint
        now = float(batch.qpos()[0][adr])
        travel = (
            (OPEN_TRAVEL * (jhi - jlo) - (now - jlo))
            if plan.task.kind.startswith("open_")
            else (now - jlo)
        )
        extras.update(
            handle_x=float(hpos[0][0]),
            handle_y=float(hpos[0][1]),
            handle_z=float(hpos[0][2]),
            open_x=float(d[0]),
            open_y=float(d[1]),
            travel_m=max(travel, 0.0),
            joint_q=now,
            joint_lo=jlo,
            joint_hi=jhi,
        )
        if obj.articulation.joint == "hinge":
            opos, _ = batch.body_pose(h.bodies[plan.task.object])
            anchor = opos[0] + _rotate(oquat[0], np.asarray(obj.articulation.anchor_m))
            axis = _rotate(oquat[0], np.asarray(obj.articulation.axis))
            axis = axis / (float(np.linalg.norm(axis)) or 1.0)
            extras.update(
                {f"hinge_{c}": float(v) for c, v in zip("xyz", anchor, strict=True)}
                | {f"axis_{c}": float(v) for c, v in zip("xyz", axis, strict=True)}
            )
    if target is not None:
        # the real surface under the target: a region's floor may lie inside a solid receptacle
        top = target.center_m[2] + target.half_extents_m[2] + 0.5
        hit = batch.ray_down(
            0, target.center_m[0], target.center_m[1], top, h.bodies[plan.task.object]
        )
        if hit is not None:
            extras["target_surface_z"] = hit
    base, bquat = batch.body_pose(h.model.body(h.robot.scoped(h.robot.base_body)).id)
    forward = _rotate(bquat[0], np.array([1.0, 0.0, 0.0]))
    extras.update(
        base_x=float(base[0][0]),
        base_y=float(base[0][1]),
        base_z=float(base[0][2]),
        base_yaw=math.atan2(float(forward[1]), float(forward[0])),
    )
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


def _rotate(q: F64, v: F64) -> F64:
    """Rotate ``v`` by unit quaternion ``q`` [w, x, y, z]."""
    w, x, y, z = q
    u = np.array([x, y, z])
    return np.asarray(v + 2 * np.cross(u, np.cross(u, v) + w * v))


@dataclass(frozen=True)
class Planned:
    """The expert's plan for one episode, and the world, IK and tracker that made it."""

    world: World
    ik: ArmIK
    tracker: ArmTracker
    waypoints: list[Waypoint]


def plan_episode(
    batch: SimBatch,
    h: SceneHandles,
    plan: EpisodePlan,
    objects: dict[str, SimObject],
    *,
    exact_tracking: bool = False,
) -> Planned:
    """The task kind's expert's plan from world 0 of ``batch`` (just reset), IK-tracked."""
    # exact_tracking: the tracker's exact reference path instead of its cheap one
    joint = h.joints.get(plan.task.object)
    world = _world(h, batch, plan, objects, plan.task.targets.get(plan.variant_id))
    ik = ArmIK(
        h.model,
        [h.robot.scoped(j) for j in h.robot.arm_joints],
        h.robot.scoped(h.robot.ee_site),
        h.home_qpos[h.arm_qadr],
    )
    handled = h.object_geoms[plan.task.object]
    allowed = h.ignore_geoms | (handled if joint is not None else frozenset())
    tracker = make_tracker(
        ik,
        batch.qpos()[0],
        world.hand_start,
        world.hand_yaw,
        h.robot_geoms,
        allowed,
        h.gripper_geoms,
        handled,
        exact=exact_tracking,
    )
    world = replace(world, track=tracker)
    return Planned(world, ik, tracker, expert_for(plan.task.kind).plan(world))


def run_episode(
    batch: SimBatch,
    h: SceneHandles,
    plan: EpisodePlan,
    objects: dict[str, SimObject],
    opts: RecordOptions,
    init: InitialState | None = None,
) -> tuple[Recording, EpisodeMetrics]:
    """Simulate and record one episode from ``init`` (sampled from the plan's seed and
    ``opts`` when not given); failures are reported in the metrics, never hidden."""
    m = h.model
    started = time.monotonic()
    if init is None:
        init = sample_initial_state(h, plan, objects, opts.perturbation())
    joint = h.joints.get(plan.task.object)
    batch.reset([init.qpos])
    target = plan.task.targets.get(plan.variant_id)
    planned = plan_episode(batch, h, plan, objects)
    world, ik = planned.world, planned.ik
    follower = Follower(world.hand_start, world.hand_yaw, 1.0, planned.waypoints)
    substeps = round(1.0 / (opts.fps * m.opt.timestep))
    dt = 1.0 / opts.fps
    n_frames = math.ceil(min(plan.task.time_limit_s, follower.duration + SETTLE_S) * opts.fps)
    cut_by_limit = follower.duration + SETTLE_S > plan.task.time_limit_s
    rec = Recording()
    met = EpisodeMetrics()
    obj_body = h.bodies[plan.task.object]
    obj_geoms = h.object_geoms[plan.task.object]
    start_pos = batch.body_pose(obj_body)[0][0].copy()
    prev_pos = start_pos.copy()
    grip_offset: float | None = None
    success_since: int | None = None
    collision_pairs: set[str] = set()
    ee_track = []
    open_ctrl = h.robot.gripper_open_ctrl
    names = [m.geom(i).name for i in range(m.ngeom)]
    robot_m, ignore_m = geom_mask(m.ngeom, h.robot_geoms), geom_mask(m.ngeom, h.ignore_geoms)
    gripper_m, obj_m = geom_mask(m.ngeom, h.gripper_geoms), geom_mask(m.ngeom, obj_geoms)
    solved: list[F64] = []  # the IK's solutions so far: the next solve starts from them
    qpos, qvel = batch.qpos()[0], batch.qvel()[0]
    for k in range(n_frames):
        if time.monotonic() - started > opts.timeout_s:
            raise EpisodeTimeoutError(f"episode {plan.episode_id} exceeded {opts.timeout_s:.0f} s")
        t = k * dt
        spos, srot = batch.site_pose(h.site)
        # the pivot component positive (as MuJoCo's mju_mat2Quat): continuous for a downward hand
        ee_pos, ee_quat = spos[0], np.asarray(matrix_to_quat(srot[0], positive_w=False))
        # ---- observation at frame k
        width = float(np.abs(qpos[h.finger_qadr]).sum())
        rec.add("observation.state", np.concatenate([qpos[h.arm_qadr], [width]]).astype(np.float32))
        rec.add(
            "observation.velocity",
            np.concatenate([qvel[h.arm_dadr], [float(np.abs(qvel[h.finger_dadr]).sum())]]).astype(
                np.float32
            ),
        )
        rec.add("observation.ee_pose", np.concatenate([ee_pos, ee_quat]).astype(np.float32))
        for cam in h.cameras:
            rec.add(f"observation.images.{cam.name}", batch.render(cam.name, "rgb")[0])
            cpos, crot = batch.camera_pose(cam.id)
            ext = np.eye(4)
            ext[:3, :3], ext[:3, 3] = crot[0], cpos[0]
            rec.add(f"camera.extrinsics.{cam.name}", ext.astype(np.float32))
            if opts.tier in ("plus", "full"):
                rec.add(f"observation.depth.{cam.name}", batch.render(cam.name, "depth")[0])
            if opts.tier == "full":
                rec.add(f"observation.segmentation.{cam.name}", batch.render(cam.name, "seg")[0])
        if opts.tier == "full":
            poses = []
            for o in h.movable:
                bp, bq = batch.body_pose(h.bodies[o])
                poses.append(np.concatenate([bp[0], bq[0]]))
            rec.add("observation.object_poses", np.stack(poses).astype(np.float32))
            rec.add("observation.contacts", _contact_table(batch, h))
        ee_track.append(ee_pos.copy())
        # ---- action for frame k
        want_pos, want_quat, grip, phase = follower.pose(t)
        sol = ik.solve_fast(qpos, want_pos, want_quat, guess=_guess(ik, solved))
        solved.append(sol.qpos)
        met.ik_max_error_m = max(met.ik_max_error_m, sol.pos_err_m)
        action = np.concatenate([sol.qpos, [grip]]).astype(np.float32)
        rec.add("action", action)
        rec.add("timestamp", np.asarray(t, dtype=np.float32))
        # ---- step
        ctrl = np.concatenate([sol.qpos, [grip * open_ctrl]])[None, :]
        batch.step(ctrl, substeps)
        # ---- measure
        qpos, qvel = q2, v2 = batch.qpos()[0], batch.qvel()[0]  # also the next frame's
        if not (np.all(np.isfinite(q2)) and np.all(np.isfinite(v2))):
            met.nonfinite = True
            met.failure_reason = f"simulation diverged (non-finite state) at t={t:.2f}s"
            break
        arm_q = q2[h.arm_qadr]
        lo, hi = h.arm_range[:, 0], h.arm_range[:, 1]
        met.joint_limit_violations += int(
            np.any((arm_q < lo - JOINT_LIMIT_TOL) | (arm_q > hi + JOINT_LIMIT_TOL))
        )
        met.velocity_violations += int(np.any(np.abs(v2[h.arm_dadr]) > np.asarray(VELOCITY_LIMITS)))
        touching = hit = False
        geom, dist = contact_arrays(batch, 0)
        if len(dist):
            met.max_penetration_m = max(met.max_penetration_m, float(-dist.min()))
            g1, g2 = geom[:, 0], geom[:, 1]
            r1 = robot_m[g1]
            rg, other = np.where(r1, g1, g2), np.where(r1, g2, g1)
            # robot against the scene (not self-contact nor scene-scene), the pedestal aside
            cross = (r1 != robot_m[g2]) & ~ignore_m[other]
            touch = cross & gripper_m[rg] & obj_m[other]
            touching = bool(touch.any())
            bad = cross & ~touch
            hit = bool(bad.any())
            for a, b in zip(rg[bad].tolist(), other[bad].tolist(), strict=True):
                collision_pairs.add(f"{names[a]} / {names[b]}")
        met.collision_frames += int(hit)
        new_pos = batch.body_pose(obj_body)[0][0]
        speed = float(np.linalg.norm(new_pos - prev_pos)) / dt
        prev_pos = new_pos.copy()
        if phase in ("lift", "carry", "lower") and grip < 0.5:
            offset = float(batch.site_pose(h.site)[0][0][2] - new_pos[2])
            if grip_offset is None:
                grip_offset = offset
            elif offset - grip_offset > SLIP_M:
                met.drops += int(not touching)
                met.slips += int(touching)
                grip_offset = offset
        frac = None
        if joint is not None:
            adr, jlo, jhi = joint
            frac = joint_fraction(float(q2[adr]), jlo, jhi)
        frame = ObjectFrame(new_pos, start_pos, speed, touching, frac)
        ok = all_hold(plan.task.success, frame, target)
        if ok and success_since is None:
            success_since = k + 1
        elif not ok:
            success_since = None
    met.frames = len(rec.arrays.get("action", []))
    met.duration_s = met.frames * dt
    met.frame_counts = {k: len(v) for k, v in rec.arrays.items()}
    met.path_length_m, met.rms_jerk_m_s3 = path_and_jerk(np.asarray(ee_track), dt)
    met.collision_pairs = sorted(collision_pairs)[:20]
    if met.failure_reason is None:
        if success_since is not None:
            met.success = True
            met.time_to_success_s = round(success_since * dt, 4)
        else:
            met.failure_reason = _why(plan, batch, h, start_pos, target)
            if cut_by_limit:
                met.failure_reason = (
                    f"time limit {plan.task.time_limit_s:g} s reached before the expert finished "
                    f"(plan {follower.duration:.1f} s); " + met.failure_reason
                )
    met.quality_score = quality(met)
    return rec, met


def _contact_table(batch: SimBatch, h: SceneHandles) -> NDArray[np.float32]:
    """Per movable object (rows in ``h.movable`` order): touching the robot (0/1), touching
    anything else (0/1), number of contacts, deepest penetration (m)."""
    table = np.zeros((len(h.movable), 4), dtype=np.float32)
    ngeom = h.model.ngeom
    row = np.full(ngeom, -1)
    for n, o in enumerate(h.movable):
        row[list(h.object_geoms[o])] = n
    robot = geom_mask(ngeom, h.robot_geoms)
    geom, dist = contact_arrays(batch, 0)
    for mine, them in ((geom[:, 0], geom[:, 1]), (geom[:, 1], geom[:, 0])):
        keep = row[mine] >= 0
        rows, other, depth = row[mine][keep], them[keep], -dist[keep]
        table[rows, np.where(robot[other], 0, 1)] = 1.0
        np.add.at(table[:, 2], rows, 1.0)
        np.maximum.at(table[:, 3], rows, depth)
    return table


def _guess(ik: ArmIK, solved: list[F64]) -> F64 | None:
    """Where the IK's Newton steps start: the last two solutions extrapolated, or the last."""
    if len(solved) >= 2:
        return np.clip(2.0 * solved[-1] - solved[-2], ik.lo, ik.hi)
    return solved[-1] if solved else None


def _why(
    plan: EpisodePlan, batch: SimBatch, h: SceneHandles, start: F64, target: Region | None
) -> str:
    pos = batch.body_pose(h.bodies[plan.task.object])[0][0]
    if target is not None:
        c = np.asarray(target.center_m)
        return (
            f"success predicates not met at the end: object at {np.round(pos, 3).tolist()}, "
            f"target centre {np.round(c, 3).tolist()} ({float(np.linalg.norm(pos[:2] - c[:2])):.3f} m away), "
            f"moved {float(np.linalg.norm(pos - start)):.3f} m"
        )
    return f"success predicates not met at the end: object at {np.round(pos, 3).tolist()}"
