"""The one geometry module every stage uses: quaternions, rotations, boxes, rounding.

Pure Python floats, so results are exactly reproducible (no BLAS, no platform-dependent
vectorisation). Frames are right-handed with z up, lengths in metres, quaternions
[w, x, y, z]; a rotation matrix is given by its rows. Angles carry their unit in the
name: :func:`yaw_quat_deg` takes degrees, :func:`yaw_quat_rad` radians.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Matrix = tuple[Vec3, Vec3, Vec3]

IDENTITY: Final[Quat] = (1.0, 0.0, 0.0, 0.0)
DIGITS: Final = 9  # rounding of every number written to outputs (nanometres)
EPS: Final = 1e-9


# ------------------------------------------------------------------ rounding and typing
def rnd(x: float, digits: int = DIGITS) -> float:
    """``x`` rounded for output, with -0.0 folded to 0.0."""
    r = round(float(x), digits)
    return 0.0 if r == 0 else r


def rvec(v: Iterable[float], digits: int = DIGITS) -> tuple[float, ...]:
    """Every component rounded with :func:`rnd`."""
    return tuple(rnd(c, digits) for c in v)


def v3(v: Sequence[float]) -> Vec3:
    """First three components as a typed triple."""
    return (float(v[0]), float(v[1]), float(v[2]))


def q4(q: Sequence[float]) -> Quat:
    """First four components as a typed quaternion."""
    return (float(q[0]), float(q[1]), float(q[2]), float(q[3]))


# ------------------------------------------------------------------ vectors
def add(a: Vec3, b: Vec3) -> Vec3:
    """``a + b``."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def sub(a: Vec3, b: Vec3) -> Vec3:
    """``a - b``."""
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def scale(a: Vec3, k: float) -> Vec3:
    """``k * a``."""
    return (a[0] * k, a[1] * k, a[2] * k)


def norm(a: Sequence[float]) -> float:
    """Euclidean length."""
    return math.sqrt(sum(c * c for c in a))


# ------------------------------------------------------------------ quaternions
def qmul(a: Quat, b: Quat) -> Quat:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def qconj(q: Quat) -> Quat:
    """Conjugate (the inverse of a unit quaternion)."""
    return (q[0], -q[1], -q[2], -q[3])


def qnorm(q: Quat) -> Quat:
    """``q`` scaled to unit length (identity for a zero quaternion)."""
    n = math.sqrt(sum(c * c for c in q))
    if n == 0:
        return IDENTITY
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def yaw_quat_rad(yaw_rad: float) -> Quat:
    """Turn of ``yaw_rad`` radians about +z."""
    h = yaw_rad / 2
    return (math.cos(h), 0.0, 0.0, math.sin(h))


def yaw_quat_deg(yaw_deg: float) -> Quat:
    """Turn of ``yaw_deg`` degrees about +z."""
    return yaw_quat_rad(math.radians(yaw_deg))


def axis_angle_quat(axis: Vec3, angle_rad: float) -> Quat:
    """Unit quaternion of a turn of ``angle_rad`` radians about the unit vector ``axis``."""
    h = angle_rad / 2.0
    s = math.sin(h)
    return (math.cos(h), axis[0] * s, axis[1] * s, axis[2] * s)


# ------------------------------------------------------------------ rotation matrices
def quat_to_matrix(q: Quat) -> Matrix:
    """Rows of the rotation matrix of a unit quaternion [w, x, y, z]."""
    w, x, y, z = q
    return (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )


def matrix_to_quat(r: Sequence[Sequence[float]], *, positive_w: bool = True) -> Quat:
    """Unit quaternion of a rotation matrix given by rows.

    ``positive_w`` (the default) picks the hemisphere with w ≥ 0, one quaternion per
    rotation. With ``positive_w=False`` the pivot component is positive instead — w when
    the trace is positive, else the largest of x, y, z (MuJoCo's ``mju_mat2Quat``
    convention): continuous through w = 0, which suits a recorded stream such as a
    downward-facing hand's orientation.
    """
    m00, m01, m02 = (float(c) for c in r[0])
    m10, m11, m12 = (float(c) for c in r[1])
    m20, m21, m22 = (float(c) for c in r[2])
    tr = m00 + m11 + m22
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        q = (0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s)
    elif m00 > m11 and m00 > m22:
        s = math.sqrt(1.0 + m00 - m11 - m22) * 2
        q = ((m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s)
    elif m11 > m22:
        s = math.sqrt(1.0 + m11 - m00 - m22) * 2
        q = ((m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s)
    else:
        s = math.sqrt(1.0 + m22 - m00 - m11) * 2
        q = ((m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s)
    q = qnorm(q)
    if positive_w:
        return q if q[0] >= 0 else (-q[0], -q[1], -q[2], -q[3])
    return q


def apply(m: Matrix, v: Vec3) -> Vec3:
    """``m @ v``."""
    return (
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    )


def rotate(q: Quat, v: Vec3) -> Vec3:
    """``v`` turned by the unit quaternion ``q``."""
    return apply(quat_to_matrix(q), v)


def axis_angle_matrix(axis: Vec3, angle_rad: float) -> Matrix:
    """Rotation matrix of ``angle_rad`` radians about ``axis`` (normalised here; Rodrigues)."""
    n = norm(axis)
    if n < EPS:
        raise ValueError("rotation axis has zero length")
    x, y, z = (axis[0] / n, axis[1] / n, axis[2] / n)
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    t = 1 - c
    return (
        (t * x * x + c, t * x * y - s * z, t * x * z + s * y),
        (t * x * y + s * z, t * y * y + c, t * y * z - s * x),
        (t * x * z - s * y, t * y * z + s * x, t * z * z + c),
    )


def look_at(eye: Vec3, target: Vec3) -> Quat:
    """Orientation of a MuJoCo camera at ``eye`` looking at ``target`` with world z up.

    A MuJoCo camera looks along its −z axis with +y up in the image.
    """
    f = sub(target, eye)
    n = norm(f)
    if n == 0:
        raise ValueError("camera eye and target coincide")
    back = scale(f, -1.0 / n)  # camera +z
    up = (0.0, 0.0, 1.0)
    right = (
        up[1] * back[2] - up[2] * back[1],
        up[2] * back[0] - up[0] * back[2],
        up[0] * back[1] - up[1] * back[0],
    )
    rn = norm(right)
    # looking straight down or up: pick world x as the image's right
    right = (1.0, 0.0, 0.0) if rn < EPS else scale(right, 1.0 / rn)
    cam_up = (
        back[1] * right[2] - back[2] * right[1],
        back[2] * right[0] - back[0] * right[2],
        back[0] * right[1] - back[1] * right[0],
    )
    # columns: right, up, back
    rows = (
        (right[0], cam_up[0], back[0]),
        (right[1], cam_up[1], back[1]),
        (right[2], cam_up[2], back[2]),
    )
    return matrix_to_quat(rows)


# ------------------------------------------------------------------ boxes
def box_half_extents_world(q: Quat, half: Vec3) -> Vec3:
    """Half extents of the world-aligned box around a box of half extents ``half`` turned by ``q``."""
    r = quat_to_matrix(q)
    return (
        abs(r[0][0]) * half[0] + abs(r[0][1]) * half[1] + abs(r[0][2]) * half[2],
        abs(r[1][0]) * half[0] + abs(r[1][1]) * half[1] + abs(r[1][2]) * half[2],
        abs(r[2][0]) * half[0] + abs(r[2][1]) * half[1] + abs(r[2][2]) * half[2],
    )


def box_height(q: Quat, size: Vec3) -> float:
    """Vertical extent of a box of full extents ``size`` turned by ``q``."""
    r = quat_to_matrix(q)[2]
    return abs(r[0]) * size[0] + abs(r[1]) * size[1] + abs(r[2]) * size[2]


def box_corners(center: Vec3, q: Quat, size: Vec3) -> list[Vec3]:
    """The eight corners of a box (full extents ``size``) turned by ``q`` about ``center``."""
    m = quat_to_matrix(q)
    out = []
    for a in (-0.5, 0.5):
        for b in (-0.5, 0.5):
            for c in (-0.5, 0.5):
                out.append(add(center, apply(m, (a * size[0], b * size[1], c * size[2]))))
    return out


def up_axis(q: Quat) -> int:
    """Index of the box's own axis closest to world up (z)."""
    row = quat_to_matrix(q)[2]  # world z in the box's frame: the third row
    mags = [abs(c) for c in row]
    return mags.index(max(mags))
