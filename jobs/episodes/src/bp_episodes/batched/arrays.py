"""Array code over a leading batch axis: the array module, quaternions and rotations.

Every batched function takes ``xp`` (default numpy) and uses only the numpy API subset that
cupy (and warp's numpy interop) share, so a GPU array module can be passed without changing
the code; :func:`array_module` resolves a name, an unknown one is an error listing the valid
ones. The rotation functions are MuJoCo's formulas (``mju_mulQuat``, ``mju_quat2Mat``,
``mju_quat2Vel``) and :func:`bp_contracts.geometry.matrix_to_quat`'s pivot convention, on
arrays shaped ``(..., 4)`` (quaternions, wxyz) or ``(..., 3, 3)``.
"""

from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import Any, Final

import numpy as np

Array = Any  # an array of the array module in use (numpy by default)
ARRAY_MODULES: Final[tuple[str, ...]] = ("numpy", "cupy")


class UnknownArrayModuleError(ValueError):
    """An array module name that is not one of :data:`ARRAY_MODULES`."""


def array_module(name: str = "numpy") -> ModuleType:
    """The module for ``name`` (``numpy`` or ``cupy``; cupy must be installed)."""
    if name not in ARRAY_MODULES:
        raise UnknownArrayModuleError(
            f"unknown array module {name!r}; valid: {', '.join(ARRAY_MODULES)}"
        )
    if name == "numpy":
        return np
    return importlib.import_module(name)


def quat_mul(a: Array, b: Array, xp: ModuleType = np) -> Array:
    """The Hamilton product ``a ⊗ b``."""
    a0, a1, a2, a3 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    b0, b1, b2, b3 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return xp.stack(
        [
            a0 * b0 - a1 * b1 - a2 * b2 - a3 * b3,
            a0 * b1 + a1 * b0 + a2 * b3 - a3 * b2,
            a0 * b2 - a1 * b3 + a2 * b0 + a3 * b1,
            a0 * b3 + a1 * b2 - a2 * b1 + a3 * b0,
        ],
        axis=-1,
    )


def quat_conj(q: Array, xp: ModuleType = np) -> Array:
    """The conjugate (the inverse of a unit quaternion)."""
    return xp.concatenate([q[..., :1], -q[..., 1:]], axis=-1)


def quat_normalize(q: Array, xp: ModuleType = np) -> Array:
    """``q`` scaled to unit length."""
    return q / xp.sqrt(xp.sum(q * q, axis=-1, keepdims=True))


def quat_to_mat(q: Array, xp: ModuleType = np) -> Array:
    """Rotation matrices ``(..., 3, 3)`` of unit quaternions."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return xp.stack([xp.stack(r, axis=-1) for r in rows], axis=-2)


def axis_angle(axis: Array, angle: Array, xp: ModuleType = np) -> Array:
    """Quaternions turning ``angle`` (shape ``(...)``) about unit ``axis`` (``(..., 3)``)."""
    half = angle / 2
    return xp.concatenate([xp.cos(half)[..., None], axis * xp.sin(half)[..., None]], axis=-1)


def rotate(q: Array, v: Array, xp: ModuleType = np) -> Array:
    """``v`` (``(..., 3)``) rotated by unit quaternions ``q``."""
    return xp.matmul(quat_to_mat(q, xp), v[..., None])[..., 0]


def quat_to_vel(q: Array, xp: ModuleType = np) -> Array:
    """Rotation vectors (axis × angle in (-π, π]) of quaternions, as ``mju_quat2Vel`` with
    dt = 1: the same vector for ``q`` and ``-q``."""
    axis = q[..., 1:]
    sin_half = xp.sqrt(xp.sum(axis * axis, axis=-1))
    unit = axis / xp.where(sin_half > 0, sin_half, 1.0)[..., None]
    speed = 2 * xp.arctan2(sin_half, q[..., 0])
    speed = xp.where(speed > math.pi, speed - 2 * math.pi, speed)
    return unit * speed[..., None]


def mat_to_quat(r: Array, xp: ModuleType = np) -> Array:
    """Unit quaternions of rotation matrices with the pivot component positive: w when the
    trace is positive, else the largest diagonal's (``matrix_to_quat(..., positive_w=False)``,
    the same arithmetic in the same order)."""
    m00, m01, m02 = r[..., 0, 0], r[..., 0, 1], r[..., 0, 2]
    m10, m11, m12 = r[..., 1, 0], r[..., 1, 1], r[..., 1, 2]
    m20, m21, m22 = r[..., 2, 0], r[..., 2, 1], r[..., 2, 2]
    tr = m00 + m11 + m22
    case_w = tr > 0
    case_x = ~case_w & (m00 > m11) & (m00 > m22)
    case_y = ~case_w & ~case_x & (m11 > m22)
    pivot = xp.where(
        case_w,
        tr + 1.0,
        xp.where(
            case_x,
            1.0 + m00 - m11 - m22,
            xp.where(case_y, 1.0 + m11 - m00 - m22, 1.0 + m22 - m00 - m11),
        ),
    )
    s = xp.sqrt(xp.maximum(pivot, 0.0)) * 2
    s = xp.where(s > 0, s, 1.0)
    qw = xp.stack([0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s], axis=-1)
    qx = xp.stack([(m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s], axis=-1)
    qy = xp.stack([(m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s], axis=-1)
    qz = xp.stack([(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s], axis=-1)
    q = xp.where(
        case_w[..., None],
        qw,
        xp.where(case_x[..., None], qx, xp.where(case_y[..., None], qy, qz)),
    )
    c0, c1, c2, c3 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    n = xp.sqrt(c0 * c0 + c1 * c1 + c2 * c2 + c3 * c3)  # the scalar version's summation order
    return q / n[..., None]


def hand_quat(yaw: Array, tilt: Array, roll: Array, xp: ModuleType = np) -> Array:
    """:func:`bp_episodes.expert.ik.hand_quat` over arrays: the downward hand turned ``yaw``
    about world z, tilted about its closing axis and rolled about its fingers."""
    zero = xp.zeros_like(yaw)
    down = xp.stack([zero, zero, zero + 1.0, zero], axis=-1)
    turn = xp.stack([xp.cos(yaw / 2), zero, zero, xp.sin(yaw / 2)], axis=-1)
    q = quat_mul(turn, down, xp)
    q = quat_mul(q, xp.stack([xp.cos(tilt / 2), xp.sin(tilt / 2), zero, zero], axis=-1), xp)
    return quat_mul(q, xp.stack([xp.cos(roll / 2), zero, zero, xp.sin(roll / 2)], axis=-1), xp)
