"""One episode: reset with its seed, run the expert through IK at the control rate,
record every stream at the same frames, and measure what happened."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
from bp_contracts.simready import SimObject
from bp_contracts.tasks import Region
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.expert.base import Follower, Waypoint, World
from bp_episodes.expert.ik import ArmIK
from bp_episodes.expert.registry import expert_for
from bp_episodes.expert.track import ArmTracker, make_tracker
from bp_episodes.initial_state import InitialState, Perturbation, sample_initial_state
from bp_episodes.measure import StepMeasure
from bp_episodes.metrics import EpisodeMetrics, path_and_jerk, quality
from bp_episodes.recording import Recording, record_observation
from bp_episodes.scene import SceneHandles
from bp_episodes.worklist import EpisodePlan
from bp_episodes.world import expert_world

F64 = NDArray[np.float64]
SETTLE_S = 0.6


class EpisodeTimeoutError(RuntimeError):
    """The episode ran past its wall-clock limit."""


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
    world = expert_world(h, batch, plan, objects, plan.task.targets.get(plan.variant_id))
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
    started = time.monotonic()
    planned = _start(batch, h, plan, objects, opts, init)
    follower = Follower(planned.world.hand_start, planned.world.hand_yaw, 1.0, planned.waypoints)
    clock = _Clock.of(h, plan, opts, follower)
    rec, met = Recording(), EpisodeMetrics()
    target = plan.task.targets.get(plan.variant_id)
    measure = StepMeasure.begin(batch, h, plan, target, clock.dt)
    solved: list[F64] = []  # the IK's solutions so far: the next solve starts from them
    qpos, qvel = batch.qpos()[0], batch.qvel()[0]
    for k in range(clock.n_frames):
        if time.monotonic() - started > opts.timeout_s:
            raise EpisodeTimeoutError(f"episode {plan.episode_id} exceeded {opts.timeout_s:.0f} s")
        t = k * clock.dt
        measure.ee_track.append(record_observation(rec, batch, h, opts.tier, qpos, qvel).copy())
        ctrl, grip, phase = _act(rec, met, h, planned.ik, follower, solved, qpos, t)
        batch.step(ctrl, clock.substeps)
        qpos, qvel = batch.qpos()[0], batch.qvel()[0]  # also the next frame's
        if not measure.after_step(met, batch, k, t, phase, grip, qpos, qvel):
            break
    _finish(met, rec, measure, clock, batch, follower)
    return rec, met


def _start(
    batch: SimBatch,
    h: SceneHandles,
    plan: EpisodePlan,
    objects: dict[str, SimObject],
    opts: RecordOptions,
    init: InitialState | None,
) -> Planned:
    """Reset world 0 of ``batch`` to ``init`` (sampled when not given) and plan from there."""
    if init is None:
        init = sample_initial_state(h, plan, objects, opts.perturbation())
    batch.reset([init.qpos])
    return plan_episode(batch, h, plan, objects)


@dataclass(frozen=True)
class _Clock:
    """One episode's control rate and length."""

    dt: float  # seconds per frame
    substeps: int  # physics steps per frame
    n_frames: int
    cut_by_limit: bool  # the task's time limit ends the episode before the expert's plan

    @classmethod
    def of(
        cls, h: SceneHandles, plan: EpisodePlan, opts: RecordOptions, follower: Follower
    ) -> _Clock:
        """The plan followed at ``opts.fps``, then settled, within the task's time limit."""
        substeps = round(1.0 / (opts.fps * h.model.opt.timestep))
        dt = 1.0 / opts.fps
        n_frames = math.ceil(min(plan.task.time_limit_s, follower.duration + SETTLE_S) * opts.fps)
        cut_by_limit = follower.duration + SETTLE_S > plan.task.time_limit_s
        return cls(dt, substeps, n_frames, cut_by_limit)


def _act(
    rec: Recording,
    met: EpisodeMetrics,
    h: SceneHandles,
    ik: ArmIK,
    follower: Follower,
    solved: list[F64],
    qpos: F64,
    t: float,
) -> tuple[F64, float, str]:
    """Record the action at time ``t`` (the follower's pose through the IK, warm-started from
    ``solved``); the control that applies it, the gripper command, the follower's phase."""
    want_pos, want_quat, grip, phase = follower.pose(t)
    sol = ik.solve_fast(qpos, want_pos, want_quat, guess=_guess(ik, solved))
    solved.append(sol.qpos)
    met.ik_max_error_m = max(met.ik_max_error_m, sol.pos_err_m)
    action = np.concatenate([sol.qpos, [grip]]).astype(np.float32)
    rec.add("action", action)
    rec.add("timestamp", np.asarray(t, dtype=np.float32))
    ctrl = np.concatenate([sol.qpos, [grip * h.robot.gripper_open_ctrl]])[None, :]
    return ctrl, grip, phase


def _finish(
    met: EpisodeMetrics,
    rec: Recording,
    measure: StepMeasure,
    clock: _Clock,
    batch: SimBatch,
    follower: Follower,
) -> None:
    """Complete ``met`` at the episode's end: frames, path, collisions, the verdict, quality."""
    met.frames = len(rec.arrays.get("action", []))
    met.duration_s = met.frames * clock.dt
    met.frame_counts = {k: len(v) for k, v in rec.arrays.items()}
    met.path_length_m, met.rms_jerk_m_s3 = path_and_jerk(np.asarray(measure.ee_track), clock.dt)
    met.collision_pairs = sorted(measure.collision_pairs)[:20]
    if met.failure_reason is None:
        _verdict(met, measure, clock, batch, follower)
    met.quality_score = quality(met)


def _verdict(
    met: EpisodeMetrics,
    measure: StepMeasure,
    clock: _Clock,
    batch: SimBatch,
    follower: Follower,
) -> None:
    """Success and its time, or why not (the time limit named when it cut the plan short)."""
    plan = measure.plan
    if measure.success_since is not None:
        met.success = True
        met.time_to_success_s = round(measure.success_since * clock.dt, 4)
        return
    met.failure_reason = _why(plan, batch, measure.h, measure.start_pos, measure.target)
    if clock.cut_by_limit:
        met.failure_reason = (
            f"time limit {plan.task.time_limit_s:g} s reached before the expert finished "
            f"(plan {follower.duration:.1f} s); " + met.failure_reason
        )


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
