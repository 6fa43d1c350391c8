"""Forward kinematics and the site Jacobian of one arm, over a batch of joint vectors.

The chain is read once from the compiled model: the bodies from the first one that holds an
arm joint down to the end-effector site's body. Everything above that body must be fixed
(no joint), so its frame is a constant; the fixed bodies between two joints (and between
the last joint and the site) fold into constant offsets. The transforms are MuJoCo's
(``mj_kinematics``): a body's frame is its parent's times its offset, a hinge turns it
about the joint's axis through the joint's anchor. The site Jacobian of a hinge is its
world axis (rotation) and the axis crossed with the anchor-to-site lever (translation), as
``mj_jacSite`` gives. Rotations are 3 × 3 matrices, a hinge's by Rodrigues' formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import mujoco
import numpy as np
from numpy.typing import NDArray

Array = Any
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Pose:
    """The site's pose and every arm joint's world anchor and axis, per batch row."""

    site_pos: Array  # (N, 3)
    site_rot: Array  # (N, 3, 3)
    anchors: Array  # (N, J, 3)
    axes: Array  # (N, J, 3)

    def rows(self, keep: Array) -> Pose:
        """The rows ``keep``."""
        return Pose(self.site_pos[keep], self.site_rot[keep], self.anchors[keep], self.axes[keep])


@dataclass(frozen=True)
class ArmChain:
    """Root frame, one constant offset and one hinge per joint, and the site's offset."""

    root_pos: F64  # (3,) frame the first joint's offset starts from
    root_rot: F64  # (3, 3)
    offset_pos: F64  # (J, 3) each joint body's origin in the frame after the previous joint
    offset_rot: F64  # (J, 3, 3)
    joint_pos: F64  # (J, 3) anchors in the joint body's frame
    joint_axis: F64  # (J, 3) unit axes in the joint body's frame
    joint_ref: F64  # (J,) qpos0: each angle is measured from it
    site_pos: F64  # (3,) in the last joint body's frame
    site_rot: F64  # (3, 3)
    root: F64 = field(init=False)  # (4, 4) the root frame
    site: F64 = field(init=False)  # (4, 4) the site in the last joint body's frame
    anchor_in: F64 = field(init=False)  # (J, 3) each anchor in the frame before its joint
    cross_k: F64 = field(init=False)  # (J, 3, 3) cross-product matrices of the local axes
    cross_k2: F64 = field(init=False)  # (J, 3, 3) their squares
    turn_base: F64 = field(init=False)  # (3, 3) identity

    def __post_init__(self) -> None:
        """Derive the constants :meth:`forward` uses."""
        put = object.__setattr__
        put(self, "root", _homogeneous(self.root_rot, self.root_pos))
        put(self, "site", _homogeneous(self.site_rot, self.site_pos))
        put(self, "anchor_in", np.einsum("jab,jb->ja", self.offset_rot, self.joint_pos))
        k = np.array([_cross_matrix(a) for a in self.joint_axis]).reshape(-1, 3, 3)
        put(self, "cross_k", k)
        put(self, "cross_k2", k @ k)
        put(self, "turn_base", np.eye(3))

    @property
    def njoints(self) -> int:
        """How many arm joints."""
        return len(self.joint_ref)

    @classmethod
    def from_model(cls, model: Any, joint_ids: list[int], site: int) -> ArmChain:
        """Read the chain of ``site`` for the arm joints ``joint_ids`` (in arm order)."""
        bodies = _path_to(model, int(model.site_bodyid[site]))
        jointed = [int(model.jnt_bodyid[j]) for j in joint_ids]
        if sorted(jointed, key=bodies.index) != jointed or len(set(jointed)) != len(jointed):
            raise ValueError("the arm joints are not one hinge per body down the site's chain")
        first = bodies.index(jointed[0])
        for b in bodies[:first]:
            if int(model.body_jntnum[b]):
                raise ValueError(f"body {model.body(b).name!r} above the arm moves: no fixed root")
        data = mujoco.MjData(model)
        mujoco.mj_kinematics(model, data)
        parent = int(model.body_parentid[bodies[first]])
        offsets: list[tuple[F64, F64]] = []
        pos, rot = np.zeros(3), np.eye(3)
        for b in bodies[first:]:
            pos, rot = pos + rot @ model.body_pos[b], rot @ _mat(model.body_quat[b])
            if b in jointed:
                j = joint_ids[jointed.index(b)]
                if int(model.body_jntnum[b]) != 1 or int(model.jnt_type[j]) != int(
                    mujoco.mjtJoint.mjJNT_HINGE
                ):
                    raise ValueError(f"body {model.body(b).name!r} is not moved by one arm hinge")
                offsets.append((pos, rot))
                pos, rot = np.zeros(3), np.eye(3)
        return cls(
            data.xpos[parent].copy(),
            data.xmat[parent].reshape(3, 3).copy(),
            np.array([p for p, _ in offsets]),
            np.array([r for _, r in offsets]),
            np.array([model.jnt_pos[j] for j in joint_ids], dtype=np.float64),
            np.array([model.jnt_axis[j] for j in joint_ids], dtype=np.float64),
            np.array([model.qpos0[model.jnt_qposadr[j]] for j in joint_ids], dtype=np.float64),
            pos + rot @ model.site_pos[site],
            rot @ _mat(model.site_quat[site]),
        )

    def forward(self, q: Array, xp: ModuleType = np) -> Pose:
        """The site pose and joint axes for joint vectors ``q`` (N × J): each joint's
        homogeneous transform (offset, then the hinge about its anchor) built for all
        joints at once, then chained."""
        n, nj = q.shape[0], self.njoints
        turned = xp.matmul(xp.asarray(self.offset_rot), self._turns(q, xp))  # (N, J, 3, 3)
        local = xp.zeros((n, nj, 4, 4))
        local[:, :, :3, :3] = turned
        local[:, :, :3, 3] = (
            xp.asarray(self.offset_pos + self.anchor_in)
            - xp.matmul(turned, xp.asarray(self.joint_pos)[..., None])[..., 0]
        )
        local[:, :, 3, 3] = 1.0
        cum = [xp.matmul(xp.asarray(self.root), local[:, 0])]
        for j in range(1, nj):
            cum.append(xp.matmul(cum[-1], local[:, j]))
        frames = xp.stack(cum, axis=1)  # (N, J, 4, 4): each joint body's world frame
        rot = frames[:, :, :3, :3]
        axes = xp.matmul(rot, xp.asarray(self.joint_axis)[..., None])[..., 0]
        anchors = (
            frames[:, :, :3, 3] + xp.matmul(rot, xp.asarray(self.joint_pos)[..., None])[..., 0]
        )
        site = xp.matmul(cum[-1], xp.asarray(self.site))
        return Pose(site[:, :3, 3], site[:, :3, :3], anchors, axes)

    def _turns(self, q: Array, xp: ModuleType) -> Array:
        """Every hinge's rotation (N × J × 3 × 3), Rodrigues' formula about its local axis."""
        angle = q - xp.asarray(self.joint_ref)
        s, c = xp.sin(angle)[..., None, None], xp.cos(angle)[..., None, None]
        return (
            xp.asarray(self.turn_base)
            + s * xp.asarray(self.cross_k)
            + (1 - c) * xp.asarray(self.cross_k2)
        )

    def jacobian(self, pose: Pose, xp: ModuleType = np) -> Array:
        """The 6 × J site Jacobians (translation rows first), N × 6 × J."""
        a = pose.axes
        lever = pose.site_pos[:, None, :] - pose.anchors
        jacp = cross(a, lever, xp)
        return xp.concatenate([jacp.transpose(0, 2, 1), a.transpose(0, 2, 1)], axis=1)


def cross(a: Array, b: Array, xp: ModuleType = np) -> Array:
    """Row-wise cross products of ``(..., 3)`` arrays."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return xp.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _path_to(model: Any, body: int) -> list[int]:
    """Bodies from the world's child down to ``body``."""
    out = []
    while body > 0:
        out.append(body)
        body = int(model.body_parentid[body])
    return out[::-1]


def _mat(quat: F64) -> F64:
    """The rotation matrix of a quaternion (normalised first)."""
    out = np.zeros(9)
    mujoco.mju_quat2Mat(out, np.asarray(quat, dtype=np.float64) / np.linalg.norm(quat))
    return out.reshape(3, 3)


def _homogeneous(rot: F64, pos: F64) -> F64:
    """The 4 × 4 transform of a rotation and a translation."""
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rot, pos
    return out


def _cross_matrix(a: F64) -> F64:
    """The matrix ``K`` with ``K @ v == a × v``."""
    return np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
