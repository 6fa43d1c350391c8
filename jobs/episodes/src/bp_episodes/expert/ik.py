"""Damped-least-squares inverse kinematics on MuJoCo Jacobians.

Solves for arm joint positions that put the end-effector site at a position and
orientation, on a private ``MjData`` (kinematics only, the simulation is untouched),
with a null-space pull towards the home posture and joint-limit clamping.

The damped pseudo-inverse leaks some of the null-space pull into the task, so the plain
iteration (:meth:`ArmIK.solve`) settles on a fixed point a few millimetres off the target
(centimetres near the workspace's edge) instead of meeting ``pos_tol``, slowly (the pull
converges by a factor 0.8 an iteration): every call runs all its 20 iterations.
:meth:`ArmIK.solve_fast` finds the same fixed point in a few Newton steps from a guess
(the episode loop and the planner's tracker extrapolate their last two solutions) while
that fixed point lies within ``NEWTON_BELOW_M`` of the target and no joint clamps; else
it takes :meth:`ArmIK.solve`'s plain steps from the same start, stopping once settled.
Without a guess (the first two poses) it takes the plain steps too: a start near the target
(the hand where it is) may meet ``pos_tol`` before settling, and the plain steps stop
where :meth:`ArmIK.solve` stops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
STEP_TOL = 1e-4  # rad: the cheap path's stop (joints moving less per iteration: settled)
NEWTON_BELOW_M = 0.005  # Newton steps only this close (the linearisation holds)


@dataclass(frozen=True)
class IKResult:
    """Joint targets and how close they get."""

    qpos: F64
    pos_err_m: float
    rot_err_rad: float
    converged: bool


class ArmIK:
    """IK for one arm of a compiled model."""

    def __init__(
        self,
        model: Any,
        joint_names: list[str],
        site_name: str,
        home: F64,
        *,
        damping: float = 0.05,
        max_step_rad: float = 0.2,
        nullspace_gain: float = 0.2,
    ) -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        self.site = model.site(site_name).id
        self.qadr = np.array([model.joint(n).qposadr[0] for n in joint_names])
        self.dadr = np.array([model.joint(n).dofadr[0] for n in joint_names])
        self.lo = np.array([model.joint(n).range[0] for n in joint_names])
        self.hi = np.array([model.joint(n).range[1] for n in joint_names])
        self.home = np.asarray(home, dtype=np.float64)
        self.damping = damping
        self.max_step = max_step_rad
        self.null_gain = nullspace_gain
        self._jp = np.zeros((3, model.nv))
        self._jr = np.zeros((3, model.nv))
        self._jac = np.zeros((6, len(joint_names)))
        self._damp = (damping**2) * np.eye(6)
        self._a = np.zeros((6, 6))
        self._k = np.zeros((6, 6))
        self.iterations_run = 0  # iterations of all solves so far (profiling)
        self.newton_below_m = NEWTON_BELOW_M

    def site_pose(self, qpos_full: F64) -> tuple[F64, F64]:
        """Position and quaternion (wxyz) of the site for a full qpos."""
        self.data.qpos[:] = qpos_full
        mujoco.mj_kinematics(self.model, self.data)
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self.site])
        return self.data.site_xpos[self.site].copy(), quat

    def solve(
        self,
        qpos_full: F64,
        target_pos: F64,
        target_quat: F64,
        *,
        iterations: int = 20,
        pos_tol: float = 2e-4,
        rot_tol: float = 2e-3,
    ) -> IKResult:
        """Arm joint positions reaching the target, starting from ``qpos_full``."""
        return self._iterate(
            qpos_full, None, target_pos, target_quat, iterations, pos_tol, rot_tol
        )[0]

    def solve_fast(
        self,
        qpos_full: F64,
        target_pos: F64,
        target_quat: F64,
        *,
        guess: F64 | None = None,
        iterations: int = 20,
        pos_tol: float = 2e-4,
        rot_tol: float = 2e-3,
        step_tol: float = STEP_TOL,
    ) -> IKResult:
        """:meth:`solve`'s fixed point by Newton steps from ``guess`` (module docstring)."""
        # settled once no joint moves more than step_tol; without a guess or outside the
        # Newton regime, solve's plain steps from qpos_full, stopping once settled
        if guess is not None and 0.0 < self.null_gain < 1.0:
            out, settled = self._iterate(
                qpos_full, guess, target_pos, target_quat, iterations, pos_tol, rot_tol,
                step_tol=step_tol, newton=True,
            )  # fmt: skip
            if settled:
                return out
        return self._iterate(
            qpos_full, None, target_pos, target_quat, iterations, pos_tol, rot_tol,
            step_tol=step_tol,
        )[0]  # fmt: skip

    def _iterate(
        self,
        qpos_full: F64,
        guess: F64 | None,
        target_pos: F64,
        target_quat: F64,
        iterations: int,
        pos_tol: float,
        rot_tol: float,
        *,
        step_tol: float = 0.0,
        newton: bool = False,
    ) -> tuple[IKResult, bool]:
        """Plain or Newton steps, and whether the answer stands (not: Newton left its regime)."""
        m, d, site, qadr = self.model, self.data, self.site, self.qadr
        d.qpos[:] = qpos_full
        q = d.qpos[qadr].copy() if guess is None else np.array(guess, dtype=np.float64)
        target_pos = np.asarray(target_pos, dtype=np.float64)
        target_quat = np.asarray(target_quat, dtype=np.float64)
        err, cur, neg, dif = np.zeros(6), np.zeros(4), np.zeros(4), np.zeros(4)
        y1, y2 = np.zeros(6), np.zeros(6)
        jac, a, k, jp, jr = self._jac, self._a, self._k, self._jp, self._jr
        g, lam2 = self.null_gain, self.damping**2
        pos_err = rot_err = math.inf
        for _ in range(iterations):
            self.iterations_run += 1
            d.qpos[qadr] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            np.subtract(target_pos, d.site_xpos[site], out=err[:3])
            mujoco.mju_mat2Quat(cur, d.site_xmat[site])
            mujoco.mju_negQuat(neg, cur)
            mujoco.mju_mulQuat(dif, target_quat, neg)
            mujoco.mju_quat2Vel(err[3:], dif, 1.0)
            e0, e1, e2, e3, e4, e5 = err.tolist()
            pos_err = math.sqrt(e0 * e0 + e1 * e1 + e2 * e2)
            rot_err = math.sqrt(e3 * e3 + e4 * e4 + e5 * e5)
            if pos_err < pos_tol and rot_err < rot_tol:
                break
            if newton and pos_err >= self.newton_below_m:
                return IKResult(q, pos_err, rot_err, False), False
            mujoco.mj_jacSite(m, d, jp, jr, site)
            jac[:3] = jp[:, self.dadr]
            jac[3:] = jr[:, self.dadr]
            # the plain step pinv e + (I - pinv J) z = z + J^T y1, pinv = J^T A^-1,
            # A = J J^T + λ² I, y1 = A^-1 (e - J z): one 6×6 Cholesky solve
            z = g * (self.home - q)
            jjt = jac @ jac.T
            np.add(jjt, self._damp, out=a)
            mujoco.mju_cholFactor(a, 0.0)
            mujoco.mju_cholSolve(y1, a, err - jac @ z)
            if newton:
                # d(step)/dq = -M, M = g I + (1-g) J^T A^-1 J; by Woodbury M^-1 v =
                # (v - (1-g) J^T K^-1 J v) / g, K = J J^T + g λ² I, and J·step = e - λ² y1
                np.add(jjt, g * self._damp, out=k)
                mujoco.mju_cholFactor(k, 0.0)
                mujoco.mju_cholSolve(y2, k, err - lam2 * y1)
                dq = (z + jac.T @ (y1 - (1.0 - g) * y2)) / g
            else:
                dq = z + jac.T @ y1
            scale = float(np.abs(dq).max())
            if scale > self.max_step:
                dq *= self.max_step / scale
            free = q + dq
            q = np.minimum(np.maximum(free, self.lo), self.hi)
            if scale < step_tol:
                break
            if newton and (q != free).any():
                return IKResult(q, pos_err, rot_err, False), False  # clamped: plain steps
        else:
            if newton:
                return IKResult(q, pos_err, rot_err, False), False  # not settled
        return IKResult(q, pos_err, rot_err, pos_err < 5e-3 and rot_err < 5e-2), True


def down_quat(yaw: float) -> F64:
    """Orientation of a hand pointing straight down, turned ``yaw`` about world z.

    For the Panda's grip site (z along the fingers, x the closing direction) "down" is a
    half turn about y (the home pose's hand orientation), then the yaw about world z: the
    fingers then close along the world direction at angle ``yaw``.
    """
    down = np.array([0.0, 0.0, 1.0, 0.0])
    turn = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, turn, down)
    return out


def hand_quat(yaw: float, tilt: float = 0.0, roll: float = 0.0) -> F64:
    """Orientation of the hand turned ``yaw`` about world z, tilted ``tilt`` about its
    closing axis and rolled ``roll`` about its fingers: ``down_quat(yaw)`` for tilt and
    roll 0. With tilt π/2 the fingers point horizontally along (sin yaw, -cos yaw, 0), the
    wrist (the grip site's -y side) above the hand and the fingers closing horizontally;
    roll π/2 then turns the hand about the fingers so that they close vertically (across a
    horizontal bar) with the wrist to one side.
    """
    if tilt == 0.0 and roll == 0.0:
        return down_quat(yaw)
    tilted = np.zeros(4)
    mujoco.mju_mulQuat(
        tilted, down_quat(yaw), np.array([np.cos(tilt / 2), np.sin(tilt / 2), 0.0, 0.0])
    )
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, tilted, np.array([np.cos(roll / 2), 0.0, 0.0, np.sin(roll / 2)]))
    return out


def side_yaw(approach: float, tilt: float = np.pi / 2) -> float:
    """Yaw that, with ``tilt`` (either sign, not 0), points the fingers' horizontal part
    along the world angle ``approach``."""
    return float(approach + (np.pi / 2 if tilt > 0 else -np.pi / 2))
