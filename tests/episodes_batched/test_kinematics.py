"""The batched expert's array code against the per-world definitions it mirrors: forward
kinematics and Jacobians (MuJoCo), the IK (``ArmIK``), rotations, the phase machine
(``Follower``), and the registries (real MuJoCo, kitchen_counter's Panda)."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
from bp_contracts.geometry import matrix_to_quat
from bp_episodes.batched.arrays import (
    UnknownArrayModuleError,
    array_module,
    hand_quat,
    mat_to_quat,
    quat_mul,
    quat_to_mat,
    quat_to_vel,
)
from bp_episodes.batched.experts.registry import (
    BATCHED_EXPERTS,
    UncoveredTaskError,
    batched_expert_for,
)
from bp_episodes.batched.follower import PhaseMachine
from bp_episodes.batched.ik import BatchedIK
from bp_episodes.expert import ik as scalar_ik
from bp_episodes.expert.base import Follower, Waypoint
from bp_episodes.expert.ik import ArmIK
from bp_episodes.expert.registry import EXPERTS

from tests.episodes_batched.conftest import Scene


def _arm_ik(scene: Scene) -> ArmIK:
    h = scene.h
    joints = [h.robot.scoped(j) for j in h.robot.arm_joints]
    return ArmIK(scene.model, joints, h.robot.scoped(h.robot.ee_site), h.home_qpos[h.arm_qadr])


def _postures(scene: Scene, n: int, seed: int) -> np.ndarray:
    """``n`` full qpos with the arm's joints spread about home."""
    rng = np.random.default_rng(seed)
    q = np.repeat(scene.h.home_qpos[None], n, axis=0)
    q[:, scene.h.arm_qadr] += rng.uniform(-0.4, 0.4, (n, len(scene.h.arm_qadr)))
    return q


def test_forward_kinematics_and_jacobian_match_mujoco(scene: Scene) -> None:
    """Site poses and site Jacobians of 32 postures equal MuJoCo's mj_kinematics/mj_jacSite."""
    ik = _arm_ik(scene)
    bik = BatchedIK(ik)
    q = _postures(scene, 32, seed=1)
    pose = bik.chain.forward(q[:, ik.qadr])
    jac = bik.chain.jacobian(pose)
    d = mujoco.MjData(scene.model)
    jp, jr = np.zeros((3, scene.model.nv)), np.zeros((3, scene.model.nv))
    for i, row in enumerate(q):
        d.qpos[:] = row
        mujoco.mj_kinematics(scene.model, d)
        mujoco.mj_comPos(scene.model, d)
        mujoco.mj_jacSite(scene.model, d, jp, jr, ik.site)
        assert np.allclose(pose.site_pos[i], d.site_xpos[ik.site], atol=1e-12)
        assert np.allclose(pose.site_rot[i].ravel(), d.site_xmat[ik.site], atol=1e-12)
        assert np.allclose(jac[i, :3], jp[:, ik.dadr], atol=1e-12)
        assert np.allclose(jac[i, 3:], jr[:, ik.dadr], atol=1e-12)


def test_ik_rows_match_armik_and_do_not_depend_on_each_other(scene: Scene) -> None:
    """Rows equal ArmIK.solve and ArmIK.solve_fast (with and without a guess) and their own solves alone."""
    ik = _arm_ik(scene)
    bik = BatchedIK(ik)
    rng = np.random.default_rng(2)
    q = _postures(scene, 24, seed=3)
    start_pos, _ = bik.site_pose(q[:, ik.qadr])
    target = start_pos + rng.uniform(-0.05, 0.05, start_pos.shape)
    zero = np.zeros(len(q))
    quat = hand_quat(rng.uniform(-3, 3, len(q)), rng.choice([0.0, math.pi / 2], len(q)), zero)
    plain = bik.solve(q[:, ik.qadr], target, quat)
    first = plain.qpos  # a guess near each fixed point: the plain solve's answer
    has = np.arange(len(q)) % 2 == 0
    fast = bik.solve_fast(q[:, ik.qadr], target, quat, first, has)
    for i in range(len(q)):
        ref = ik.solve(q[i].copy(), target[i], quat[i])
        assert np.allclose(plain.qpos[i], ref.qpos, atol=1e-9)
        assert abs(plain.pos_err_m[i] - ref.pos_err_m) < 1e-9
        assert bool(plain.converged[i]) == ref.converged
        guess = first[i] if has[i] else None
        ref_fast = ik.solve_fast(q[i].copy(), target[i], quat[i], guess=guess)
        assert np.allclose(fast.qpos[i], ref_fast.qpos, atol=1e-9)
        assert abs(fast.pos_err_m[i] - ref_fast.pos_err_m) < 1e-9
        one = (q[i : i + 1, ik.qadr], target[i : i + 1], quat[i : i + 1])
        assert np.array_equal(bik.solve(*one).qpos[0], plain.qpos[i])
        alone = bik.solve_fast(*one, first[i : i + 1], has[i : i + 1])
        assert np.array_equal(alone.qpos[0], fast.qpos[i])


def test_rotations_match_the_scalar_definitions() -> None:
    """mat_to_quat, hand_quat, quat_mul and quat_to_vel equal the scalar and MuJoCo definitions."""
    rng = np.random.default_rng(4)
    q = rng.normal(size=(500, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    mats = quat_to_mat(q)
    expect = np.array([matrix_to_quat(m, positive_w=False) for m in mats])
    assert np.array_equal(mat_to_quat(mats), expect)
    yaw, tilt, roll = (rng.uniform(-math.pi, math.pi, 50) for _ in range(3))
    ref = np.array([scalar_ik.hand_quat(*a) for a in zip(yaw, tilt, roll, strict=True)])
    assert np.allclose(hand_quat(yaw, tilt, roll), ref, atol=1e-15)
    prod, vel = np.zeros(4), np.zeros(3)
    for a, b, ab, v in zip(
        q[:50], q[50:100], quat_mul(q[:50], q[50:100]), quat_to_vel(q[:50]), strict=True
    ):
        mujoco.mju_mulQuat(prod, a, b)
        mujoco.mju_quat2Vel(vel, a, 1.0)
        assert np.allclose(ab, prod, atol=1e-15)
        assert np.allclose(v, vel, atol=1e-12)


def _plans() -> list[list[Waypoint]]:
    """Three plans: every velocity profile, holds, a yaw across ±π, tilt and roll; and none."""
    arc = [
        Waypoint((0.5, 0.0, 1.1), 3.0, 1.0, "approach", ease="in"),
        Waypoint((0.55, 0.05, 1.05), -3.0, 1.0, "swing", ease="none", tilt=1.2),
        Waypoint((0.6, 0.0, 1.0), -2.9, 0.0, "swing", ease="out", roll=1.5, hold_s=0.4),
    ]
    simple = [
        Waypoint((0.4, -0.2, 1.2), 0.3, 0.5, "approach"),
        Waypoint((0.4, -0.2, 1.0), 0.3, 0.0, "grasp", hold_s=0.5, min_s=0.6),
        Waypoint((0.2, 0.1, 1.3), 1.0, 0.0, "carry", speed_m_s=0.1),
    ]
    return [arc, simple, []]


def test_phase_machine_matches_the_follower() -> None:
    """Three worlds on their own clocks get Follower.pose's hand pose, gripper and phase."""
    starts = [((0.3, 0.0, 1.2), 0.1), ((0.5, 0.1, 1.1), -2.0), ((0.4, 0.0, 1.0), 1.0)]
    followers = [
        Follower(pos, yaw, 1.0, wps) for (pos, yaw), wps in zip(starts, _plans(), strict=True)
    ]
    machine = PhaseMachine(3)
    for w, f in enumerate(followers):
        machine.load(w, f)
    rows = np.arange(3)
    offsets = np.array([0.0, 0.35, 1.0])  # the worlds' clocks differ
    for k in range(int(max(f.duration for f in followers) / 0.05) + 20):
        t = k * 0.05 + offsets
        machine.advance(t, rows)
        pos, quat, grip, label = machine.command(t, rows)
        for w, f in enumerate(followers):
            p, q, g, name = f.pose(float(t[w]))
            assert np.allclose(pos[w], p, atol=1e-12)
            assert np.allclose(quat[w], q, atol=1e-12)
            assert grip[w] == g
            assert machine.labels[int(label[w])] == name


def test_registry_covers_every_expert_and_names_the_covered() -> None:
    """Every expert's task kind is covered; an uncovered kind's error lists the covered ones."""
    assert set(BATCHED_EXPERTS) == set(EXPERTS)
    for kind in EXPERTS:
        assert batched_expert_for(kind).planner is EXPERTS[kind]
    with pytest.raises(UncoveredTaskError) as err:
        batched_expert_for("open_lid")
    assert "open_lid" in str(err.value)
    assert all(kind in str(err.value) for kind in BATCHED_EXPERTS)


def test_array_module_names_the_valid_ones() -> None:
    """numpy is the default array module; an unknown name's error lists the valid ones."""
    assert array_module() is np
    with pytest.raises(UnknownArrayModuleError, match="numpy, cupy"):
        array_module("jax")
