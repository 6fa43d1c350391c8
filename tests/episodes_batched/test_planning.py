"""Plans at reset, batched across worlds: the same waypoints the per-world loop plans, and
tracking checks that answer as ``make_tracker``'s tracker (kitchen_counter, real MuJoCo)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from bp_episodes.backend import MujocoBatch
from bp_episodes.batched.ik import BatchedIK
from bp_episodes.batched.planning import Planner, TrackBatch, TrackRequest, TrackStart
from bp_episodes.expert.base import Follower, Waypoint
from bp_episodes.expert.ik import ArmIK
from bp_episodes.expert.registry import expert_for
from bp_episodes.expert.track import make_tracker
from bp_episodes.initial_state import InitialState, sample_initial_state
from bp_episodes.worklist import EpisodePlan, build_worklist
from bp_episodes.world import expert_world

from tests.episodes_batched.conftest import OPTS, RESOLUTION, Scene

pytestmark = pytest.mark.slow
TASKS = ("pick_place_banana_1_to_counter", "pick_place_can_soda_left")


def _arm_ik(scene: Scene) -> ArmIK:
    h = scene.h
    joints = [h.robot.scoped(j) for j in h.robot.arm_joints]
    return ArmIK(scene.model, joints, h.robot.scoped(h.robot.ee_site), h.home_qpos[h.arm_qadr])


def _per_world(
    scene: Scene, batch: MujocoBatch, plan: EpisodePlan, init: InitialState
) -> tuple[list[Waypoint], object]:
    """The plan and tracker exactly as run_episode makes them."""
    h = scene.h
    batch.reset([init.qpos])
    world = expert_world(h, batch, plan, scene.objects, plan.task.targets.get(plan.variant_id))
    handled = h.object_geoms[plan.task.object]
    tracker = make_tracker(
        _arm_ik(scene),
        batch.qpos()[0],
        world.hand_start,
        world.hand_yaw,
        h.robot_geoms,
        h.ignore_geoms,
        h.gripper_geoms,
        handled,
    )
    return expert_for(plan.task.kind).plan(replace(world, track=tracker)), tracker


def test_plans_at_reset_equal_the_per_world_plans(scene: Scene) -> None:
    """Four items planned together get run_episode's waypoints and its tracker's answers."""
    tasks = [scene.task(t) for t in TASKS]
    plans = build_worklist("kitchen_counter", "planning", 7, ["v0000"], tasks, 2)
    inits = [sample_initial_state(scene.h, p, scene.objects, OPTS.perturbation()) for p in plans]
    planner = Planner(scene.h, scene.objects, BatchedIK(_arm_ik(scene)))
    together = planner.plan(list(zip(plans, inits, strict=True)))
    batch = MujocoBatch(scene.model, 1, RESOLUTION)
    checks = TrackBatch(planner.round.batch.ik, scene.model, scene.h.arm_qadr)
    try:
        for plan, init, follower in zip(plans, inits, together, strict=True):
            assert isinstance(follower, Follower), follower
            waypoints, tracker = _per_world(scene, batch, plan, init)
            assert follower.waypoints == waypoints, plan.episode_id
            start = planner._start((plan, init), planner._world(plan, init))
            (mine,) = checks.evaluate([TrackRequest(start, waypoints)])
            ref = tracker(waypoints)  # type: ignore[operator]
            assert abs(mine.pos_err_m - ref.pos_err_m) < 1e-4
            assert abs(mine.rot_err_rad - ref.rot_err_rad) < 1e-3
            assert (mine.hits, mine.first_hit) == (ref.hits, ref.first_hit)
    finally:
        batch.close()


def test_follows_stops_at_the_first_failing_pose(scene: Scene) -> None:
    """A follows check judges plans as the full check does and stops at the first bad pose."""
    plan = build_worklist("kitchen_counter", "planning", 7, ["v0000"], [scene.task(TASKS[0])], 1)[0]
    init = sample_initial_state(scene.h, plan, scene.objects, OPTS.perturbation())
    planner = Planner(scene.h, scene.objects, BatchedIK(_arm_ik(scene)))
    (follower,) = planner.plan([(plan, init)])
    assert isinstance(follower, Follower)
    good = follower.waypoints
    low = [replace(w, pos=(w.pos[0], w.pos[1], w.pos[2] - 0.25)) for w in good]

    def start() -> TrackStart:  # a fresh one: no poses of earlier checks to reuse
        return planner._start((plan, init), planner._world(plan, init))

    full = planner.round.batch.evaluate([TrackRequest(start(), w) for w in (good, low)])
    early = planner.round.batch.evaluate([TrackRequest(start(), w, True) for w in (good, low)])
    assert [t.ok for t in full] == [t.ok for t in early]
    assert not full[1].ok
    assert early[1].hits <= 1 < full[1].hits
    assert np.isfinite(full[0].pos_err_m)
