"""Damped-least-squares IK over N worlds at once: :class:`bp_episodes.expert.ik.ArmIK`'s
method as array code.

Each row iterates as ``ArmIK.solve`` does — error from the site pose, stop when within the
tolerances, else ``dq = Jᵀ(JJᵀ + λ²I)⁻¹ e`` plus the null-space pull ``(I − J⁺J) k(home − q)``
to home, the step scaled to at most ``max_step`` and the joints clamped to their ranges —
and a row that has stopped stays put while the others go on, so every row gets the answer
it would get alone. :meth:`BatchedIK.solve_fast` is ``ArmIK.solve_fast``'s method: Newton
steps from a guess to the plain iteration's fixed point, plain steps from the start where
they do not hold. The parameters are read from an ``ArmIK`` (one definition).
The orientation error is the rotation vector of ``R_target R_siteᵀ`` (``mju_quat2Vel`` of
the quaternion difference, the same vector), through quaternions near a half turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from bp_episodes.batched.arrays import mat_to_quat, quat_conj, quat_mul, quat_to_mat, quat_to_vel
from bp_episodes.batched.kinematics import ArmChain
from bp_episodes.expert.ik import ArmIK

Array = Any
NEAR_HALF_TURN = -0.99  # cos of the error angle below which the quaternion route is used
# the per-world loop's IK (ArmIK.solve_fast from a warm start, expert/ik.py):
SETTLE_RAD = 1e-4  # stop once no joint moved more than this by a step
NEWTON_BELOW_M = 0.005  # Newton steps only this close to the target


@dataclass(frozen=True)
class BatchIKResult:
    """Joint targets per row and how close they get (the errors of the last evaluation)."""

    qpos: Array  # (N, J)
    pos_err_m: Array  # (N,)
    rot_err_rad: Array  # (N,)
    converged: Array  # (N,) bool: within 5 mm / 0.05 rad, as ArmIK's result says


class BatchedIK:
    """IK for one arm of a compiled model, vectorised over a leading batch axis."""

    def __init__(self, ik: ArmIK, xp: ModuleType = np) -> None:
        if not 0.0 < ik.null_gain < 1.0:
            raise ValueError(
                f"the null-space gain {ik.null_gain} is not in (0, 1): no Newton steps"
            )
        adr = ik.model.jnt_qposadr.tolist()
        self.chain = ArmChain.from_model(ik.model, [adr.index(int(a)) for a in ik.qadr], ik.site)
        self.xp = xp
        self.home = xp.asarray(ik.home)
        self.lo, self.hi = xp.asarray(ik.lo), xp.asarray(ik.hi)
        self.max_step = float(ik.max_step)
        self.null_gain = float(ik.null_gain)
        self.damp = xp.asarray((ik.damping**2) * np.eye(6))

    def guess(self, solved: Array, count: Array, least: int = 1) -> tuple[Array, Array]:
        """Where each row's Newton steps start, and which rows have such a guess: the last
        two solutions extrapolated (the hand's path is smooth), else the last one when
        ``least`` is 1 (the episode loop; the planner's tracker asks for two). ``solved``
        holds each row's previous and last solution (N × 2 × J), ``count`` how many it had."""
        xp = self.xp
        ahead = xp.clip(2.0 * solved[:, 1] - solved[:, 0], self.lo, self.hi)
        guess = xp.where((count >= 2)[:, None], ahead, solved[:, 1])
        return guess, count >= max(least, 1)

    def site_pose(self, q: Array) -> tuple[Array, Array]:
        """Site positions and quaternions (pivot positive) for arm joint vectors ``q``."""
        pose = self.chain.forward(q, self.xp)
        return pose.site_pos, mat_to_quat(pose.site_rot, self.xp)

    def solve(
        self,
        q0: Array,
        target_pos: Array,
        target_quat: Array,
        *,
        iterations: int = 20,
        pos_tol: float = 2e-4,
        rot_tol: float = 2e-3,
        step_tol: float = 0.0,
    ) -> BatchIKResult:
        """``ArmIK.solve`` for every row: plain steps from ``q0`` (N × J); with ``step_tol``
        a row also stops once its step moves no joint more than that (settled)."""
        tr = quat_to_mat(target_quat, self.xp)
        q, pe, re, _ = self._iterate(
            q0, target_pos, target_quat, tr, (iterations, pos_tol, rot_tol, step_tol), False
        )
        return BatchIKResult(q, pe, re, (pe < 5e-3) & (re < 5e-2))

    def solve_fast(
        self,
        q0: Array,
        target_pos: Array,
        target_quat: Array,
        guess: Array,
        has_guess: Array,
        *,
        iterations: int = 20,
        pos_tol: float = 2e-4,
        rot_tol: float = 2e-3,
        step_tol: float = SETTLE_RAD,
    ) -> BatchIKResult:
        """``ArmIK.solve_fast`` for every row: Newton steps from the row's guess to the plain
        iteration's fixed point while it lies within ``NEWTON_BELOW_M`` of the target, no
        joint clamps and it settles; else (and without a guess) plain steps from ``q0``,
        stopping once settled."""
        xp = self.xp
        tr = quat_to_mat(target_quat, xp)
        limits = (iterations, pos_tol, rot_tol, step_tol)
        q, pe, re = xp.array(q0, dtype=xp.float64), xp.zeros(q0.shape[0]), xp.zeros(q0.shape[0])
        fine = xp.zeros(q0.shape[0], dtype=bool)
        rows = xp.flatnonzero(has_guess)
        if rows.shape[0]:
            qn, pn, rn, ok = self._iterate(
                guess[rows], target_pos[rows], target_quat[rows], tr[rows], limits, True
            )
            rows = rows[ok]
            q[rows], pe[rows], re[rows], fine[rows] = qn[ok], pn[ok], rn[ok], True
        rest = xp.flatnonzero(~fine)
        if rest.shape[0]:
            qp, pp, rp, _ = self._iterate(
                q0[rest], target_pos[rest], target_quat[rest], tr[rest], limits, False
            )
            q[rest], pe[rest], re[rest] = qp, pp, rp
        return BatchIKResult(q, pe, re, (pe < 5e-3) & (re < 5e-2))

    def _iterate(
        self,
        q0: Array,
        target_pos: Array,
        target_quat: Array,
        target_rot: Array,
        limits: tuple[int, float, float, float],
        newton: bool,
    ) -> tuple[Array, Array, Array, Array]:
        """Plain or Newton steps for every row until it meets the tolerances, settles or
        runs out of iterations; also which rows' answers stand (a Newton row fails when it
        is ``NEWTON_BELOW_M`` or more off, clamps a joint, or does not settle)."""
        xp = self.xp
        iterations, pos_tol, rot_tol, step_tol = limits
        n = q0.shape[0]
        q = xp.array(q0, dtype=xp.float64)
        pos_err, rot_err = xp.full(n, xp.inf), xp.full(n, xp.inf)
        ok = xp.ones(n, dtype=bool)
        live = xp.arange(n)
        for _ in range(iterations):
            pose = self.chain.forward(q[live], xp)
            err_p = target_pos[live] - pose.site_pos
            err_r = self._rot_error(target_rot[live], target_quat[live], pose.site_rot)
            pe = xp.sqrt((err_p * err_p).sum(axis=1))
            re = xp.sqrt((err_r * err_r).sum(axis=1))
            pos_err[live], rot_err[live] = pe, re
            moving = ~((pe < pos_tol) & (re < rot_tol))
            if newton:
                far = moving & (pe >= NEWTON_BELOW_M)
                ok[live[far]] = False
                moving &= ~far
            live = live[moving]
            if live.shape[0] == 0:
                return q, pos_err, rot_err, ok
            err = xp.concatenate([err_p[moving], err_r[moving]], axis=1)
            jac = self.chain.jacobian(pose.rows(moving), xp)
            q[live], scale, clamped = self._step(q[live], jac, err, newton)
            going = scale >= step_tol
            if newton:
                ok[live[going & clamped]] = False
                going &= ~clamped
            live = live[going]
            if live.shape[0] == 0:
                return q, pos_err, rot_err, ok
        if newton:
            ok[live] = False  # not settled
        return q, pos_err, rot_err, ok

    def _rot_error(self, target_rot: Array, target_quat: Array, site_rot: Array) -> Array:
        """Rotation vectors taking each site orientation to its target."""
        xp = self.xp
        r = xp.matmul(target_rot, site_rot.transpose(0, 2, 1))
        cos = (r[:, 0, 0] + r[:, 1, 1] + r[:, 2, 2] - 1) / 2
        v = xp.stack([r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1]], 1)
        v = v / 2  # sin(angle) × axis
        sin = xp.sqrt((v * v).sum(axis=1))
        angle = xp.arctan2(sin, cos)
        out = v * xp.where(sin > 0, angle / xp.where(sin > 0, sin, 1.0), 1.0)[:, None]
        far = cos < NEAR_HALF_TURN
        if bool(xp.any(far)):
            site_quat = mat_to_quat(site_rot[far], xp)
            out[far] = quat_to_vel(quat_mul(target_quat[far], quat_conj(site_quat, xp), xp), xp)
        return out

    def _step(self, q: Array, jac: Array, err: Array, newton: bool) -> tuple[Array, Array, Array]:
        """One step per row, limited and clamped. Plain: with ``A = JJᵀ + λ²I`` and the pull
        ``z``, ``J⁺e + (I − J⁺J)z = z + Jᵀy₁``, ``y₁ = A⁻¹(e − Jz)``. Newton (to the plain
        iteration's fixed point): ``(z + Jᵀ(y₁ − (1 − g)y₂)) / g``, ``y₂ = K⁻¹(e − λ²y₁)``,
        ``K = JJᵀ + gλ²I``. Returns the joints, each step's largest joint move before the
        limit, and which rows a joint range clamped."""
        xp = self.xp
        g = self.null_gain
        z = g * (self.home - q)
        jt = jac.transpose(0, 2, 1)
        jjt = xp.matmul(jac, jt)
        rhs = (err - xp.matmul(jac, z[..., None])[..., 0])[..., None]
        y1 = xp.linalg.solve(jjt + self.damp, rhs)
        if newton:
            y2 = xp.linalg.solve(jjt + g * self.damp, err[..., None] - self.damp[0, 0] * y1)
            dq = (z + xp.matmul(jt, y1 - (1.0 - g) * y2)[..., 0]) / g
        else:
            dq = z + xp.matmul(jt, y1)[..., 0]
        scale = xp.abs(dq).max(axis=1)
        over = scale > self.max_step
        dq = xp.where(over[:, None], dq * (self.max_step / xp.where(over, scale, 1.0))[:, None], dq)
        free = q + dq
        out = xp.clip(free, self.lo, self.hi)
        return out, scale, xp.any(out != free, axis=1)
