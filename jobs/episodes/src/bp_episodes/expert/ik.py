"""Damped-least-squares inverse kinematics on MuJoCo Jacobians.

Solves for arm joint positions that put the end-effector site at a position and
orientation, on a private ``MjData`` (kinematics only, the simulation is untouched),
with a null-space pull towards the home posture and joint-limit clamping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


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
        self._eye = np.eye(len(joint_names))

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
        d = self.data
        d.qpos[:] = qpos_full
        q = d.qpos[self.qadr].copy()
        err = np.zeros(6)
        cur = np.zeros(4)
        neg = np.zeros(4)
        dif = np.zeros(4)
        pos_err = rot_err = np.inf
        for _ in range(iterations):
            d.qpos[self.qadr] = q
            mujoco.mj_kinematics(self.model, d)
            mujoco.mj_comPos(self.model, d)
            err[:3] = target_pos - d.site_xpos[self.site]
            mujoco.mju_mat2Quat(cur, d.site_xmat[self.site])
            mujoco.mju_negQuat(neg, cur)
            mujoco.mju_mulQuat(dif, target_quat, neg)
            mujoco.mju_quat2Vel(err[3:], dif, 1.0)
            pos_err, rot_err = float(np.linalg.norm(err[:3])), float(np.linalg.norm(err[3:]))
            if pos_err < pos_tol and rot_err < rot_tol:
                break
            mujoco.mj_jacSite(self.model, d, self._jp, self._jr, self.site)
            jac = self._jac
            jac[:3] = self._jp[:, self.dadr]
            jac[3:] = self._jr[:, self.dadr]
            pinv = jac.T @ np.linalg.inv(jac @ jac.T + self._damp)  # one 6x6 inverse per iteration
            dq = pinv @ err + (self._eye - pinv @ jac) @ (self.null_gain * (self.home - q))
            scale = float(np.max(np.abs(dq)))
            if scale > self.max_step:
                dq *= self.max_step / scale
            q = np.clip(q + dq, self.lo, self.hi)
        return IKResult(q, pos_err, rot_err, pos_err < 5e-3 and rot_err < 5e-2)


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
