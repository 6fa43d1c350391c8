"""The planner's cheap path (Newton IK from extrapolated guesses, poses shared between
candidates, array contact filters) against the exact reference path: the same plan, the
same joint-space path within a stated tolerance, for less IK work."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import mujoco
import numpy as np
import pytest
from bp_contracts.simready import SimObject
from bp_contracts.tasks import TaskSet
from bp_episodes.backend import MujocoBatch
from bp_episodes.compiled import compile_committed
from bp_episodes.episode import Planned, RecordOptions, plan_episode
from bp_episodes.expert.ik import ArmIK, down_quat
from bp_episodes.expert.track import ArmTracker
from bp_episodes.initial_state import sample_initial_state
from bp_episodes.recording import _contact_table
from bp_episodes.scene import SceneHandles
from bp_episodes.worklist import build_worklist
from bp_sdk.storage import Storage

SCENE = "kitchen_counter"
# top grasps (the banana near the workspace's edge, the can into the bowl), a side grasp
# (the water bottle) and the spray bottle to the right, which the arm cannot reach well
TASKS = (
    "pick_place_banana_1_to_counter",
    "pick_place_can_soda_to_bowl_white",
    "pick_place_bottle_water_left",
    "pick_place_spray_bottle_cleaner_right",
)
JOINT_TOL_RAD = 0.01  # cheap vs exact joints at every checked pose (measured ≤ 0.0011)
ERR_TOL_M = 0.001  # cheap vs exact worst IK position error of the chosen plan


def _setup(storage: Storage) -> tuple[Any, SceneHandles, dict[str, SimObject], TaskSet]:
    c, tasks = compile_committed(storage, SCENE, "r1", resolution=32)
    return c.model, c.h, c.objects, tasks


@pytest.mark.slow
def test_cheap_planning_gives_the_exact_plan(kitchen: Storage) -> None:
    """Same waypoints, joints within ``JOINT_TOL_RAD``, fewer IK iterations (≤ ⅓ in all)."""
    # measured: joints ≤ 0.0011 rad apart; iterations 0.17–0.66 of the exact path's a task,
    # 0.28 over the four
    model, h, objects, ts = _setup(kitchen)
    by_id = {t.task_id: t for t in ts.tasks if "v0000" in t.targets}
    tasks = [by_id[t] for t in TASKS if t in by_id]
    assert len(tasks) >= 3, f"kitchen_counter poses too few of {TASKS}: {sorted(by_id)}"
    opts = RecordOptions(20, "core", 600, 0.05, 0.03, 0.2)
    batch = MujocoBatch(model, 1, 32)
    iterations = {"cheap": 0, "exact": 0}
    try:
        for task in tasks:
            plan = build_worklist(SCENE, "test", 0, ["v0000"], [task], 1)[0]
            init = sample_initial_state(h, plan, objects, opts.perturbation())
            batch.reset([init.qpos])
            cheap = plan_episode(batch, h, plan, objects)
            exact = plan_episode(batch, h, plan, objects, exact_tracking=True)
            assert cheap.ik.iterations_run < exact.ik.iterations_run, task.task_id
            iterations["cheap"] += cheap.ik.iterations_run
            iterations["exact"] += exact.ik.iterations_run
            assert cheap.waypoints == exact.waypoints, task.task_id
            wps = cheap.waypoints
            gap = np.abs(cheap.tracker.joint_path(wps) - exact.tracker.joint_path(wps)).max()
            assert gap <= JOINT_TOL_RAD, f"{task.task_id}: joints {gap:.4f} rad apart"
            a, b = cheap.tracker(wps), exact.tracker(wps)
            assert abs(a.pos_err_m - b.pos_err_m) <= ERR_TOL_M, (task.task_id, a, b)
            assert a.hits == b.hits and a.ok == b.ok, (task.task_id, a, b)
    finally:
        batch.close()
    assert iterations["cheap"] * 3 <= iterations["exact"], iterations


def test_fast_ik_settles_where_the_plain_iteration_does(kitchen: Storage) -> None:
    """From a guess a few mrad off, ``solve_fast`` lands on ``solve``'s fixed point in < 10."""
    # the fixed point: solve run 400 iterations; within 1e-5 rad
    model, h, _, _ = _setup(kitchen)
    ik = ArmIK(
        model,
        [h.robot.scoped(j) for j in h.robot.arm_joints],
        h.robot.scoped(h.robot.ee_site),
        h.home_qpos[h.arm_qadr],
    )
    start = h.home_qpos.copy()
    home_pos, _ = ik.site_pose(start)
    rng = np.random.default_rng(0)
    for _ in range(8):
        pos = home_pos + rng.uniform([-0.15, -0.15, -0.15], [0.15, 0.15, 0.05])
        quat = down_quat(float(rng.uniform(-1.0, 1.0)))
        ref = ik.solve(start, pos, quat, iterations=400)
        guess = ref.qpos + rng.uniform(-0.005, 0.005, 7)
        before = ik.iterations_run
        fast = ik.solve_fast(start, pos, quat, guess=guess, step_tol=1e-6)
        assert ik.iterations_run - before < 10
        assert np.abs(fast.qpos - ref.qpos).max() <= 1e-5
        assert fast.pos_err_m == pytest.approx(ref.pos_err_m, abs=1e-5)


def test_tracker_reuses_poses_exactly(kitchen: Storage) -> None:
    """Plans sharing poses with an earlier one get a fresh tracker's answers, bit for bit."""
    # shared: only the gripper differs, or only the waypoints after the lift
    model, h, objects, ts = _setup(kitchen)
    task = next(t for t in ts.tasks if t.task_id == TASKS[0])
    plan = build_worklist(SCENE, "test", 0, ["v0000"], [task], 1)[0]
    batch = MujocoBatch(model, 1, 32)
    try:
        batch.reset([h.home_qpos])
        planned = plan_episode(batch, h, plan, objects)
    finally:
        batch.close()
    wps = planned.waypoints
    assert wps[3].label == "lift", [w.label for w in wps]  # a top grasp
    turned = [*wps[:4], *(replace(w, yaw=w.yaw + 0.5) for w in wps[4:])]
    narrow = [replace(w, gripper=min(w.gripper, 0.7)) for w in wps]
    used = _fresh(planned)
    used(wps)
    for other in (turned, narrow):
        fresh = _fresh(planned)
        before = used.poses_solved
        assert used(other) == fresh(other)
        np.testing.assert_array_equal(used.joint_path(other), fresh.joint_path(other))
        assert used.poses_solved - before < fresh.poses_solved  # some were reused


def _fresh(p: Planned) -> ArmTracker:
    """A tracker like ``p``'s that has seen nothing yet."""
    t = p.tracker
    return ArmTracker(p.ik, t.qpos, t.start, t.start_yaw, t.robot, t.ok, t.gripper, t.held)


def test_contact_table_matches_a_loop_over_contacts(kitchen: Storage) -> None:
    """The array contact table equals the per-contact loop it replaced."""
    model, h, _, _ = _setup(kitchen)
    batch = MujocoBatch(model, 1, 32)
    try:
        q = h.home_qpos.copy()
        q[h.arm_qadr[3]] += 0.6  # elbow down onto the counter and what stands on it
        batch.reset([q])
        mujoco.mj_step(model, batch.datas[0], nstep=50)
        mujoco.mj_forward(model, batch.datas[0])
        want = np.zeros((len(h.movable), 4), dtype=np.float32)
        row = {g: i for i, o in enumerate(h.movable) for g in h.object_geoms[o]}
        for c in batch.contacts(0):
            for mine, other in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
                i = row.get(mine)
                if i is not None:
                    want[i, 0 if other in h.robot_geoms else 1] = 1.0
                    want[i, 2] += 1.0
                    want[i, 3] = max(want[i, 3], -c.dist)
        assert want[:, 2].sum() > 0, "no object touches anything"
        np.testing.assert_array_equal(_contact_table(batch, h), want)
    finally:
        batch.close()
