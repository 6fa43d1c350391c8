"""Small frame helpers (pure Python floats, so results are exactly reproducible).

Quaternions are [w, x, y, z], frames right-handed with z up, lengths in metres.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

IDENTITY: Quat = (1.0, 0.0, 0.0, 0.0)
DIGITS = 9  # rounding of every number written to outputs (nanometres)


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


def qnorm(q: Quat) -> Quat:
    """``q`` scaled to unit length (identity for a zero quaternion)."""
    n = math.sqrt(sum(c * c for c in q))
    if n == 0:
        return IDENTITY
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def rotmat(q: Quat) -> tuple[Vec3, Vec3, Vec3]:
    """Rows of the rotation matrix of a unit quaternion."""
    w, x, y, z = q
    return (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )


def rotate(q: Quat, v: Vec3) -> Vec3:
    """``v`` turned by ``q``."""
    r = rotmat(q)
    return (
        r[0][0] * v[0] + r[0][1] * v[1] + r[0][2] * v[2],
        r[1][0] * v[0] + r[1][1] * v[1] + r[1][2] * v[2],
        r[2][0] * v[0] + r[2][1] * v[1] + r[2][2] * v[2],
    )


def add(a: Vec3, b: Vec3) -> Vec3:
    """``a + b``."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def sub(a: Vec3, b: Vec3) -> Vec3:
    """``a - b``."""
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def scale(a: Vec3, k: float) -> Vec3:
    """``k * a``."""
    return (a[0] * k, a[1] * k, a[2] * k)


def norm(a: Vec3) -> float:
    """Euclidean length."""
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


def yaw_quat(yaw_deg: float) -> Quat:
    """Turn of ``yaw_deg`` degrees about +z."""
    h = math.radians(yaw_deg) / 2
    return (math.cos(h), 0.0, 0.0, math.sin(h))


def quat_from_matrix(r: Sequence[Sequence[float]]) -> Quat:
    """Unit quaternion (w ≥ 0) of a rotation matrix given by rows."""
    m00, m01, m02 = r[0]
    m10, m11, m12 = r[1]
    m20, m21, m22 = r[2]
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
    return q if q[0] >= 0 else (-q[0], -q[1], -q[2], -q[3])


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
    right = (1.0, 0.0, 0.0) if rn < 1e-9 else scale(right, 1.0 / rn)
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
    return quat_from_matrix(rows)


def box_half_extents_world(q: Quat, half: Vec3) -> Vec3:
    """Half extents of the world-aligned box around a box of half extents ``half`` turned by ``q``."""
    r = rotmat(q)
    return (
        abs(r[0][0]) * half[0] + abs(r[0][1]) * half[1] + abs(r[0][2]) * half[2],
        abs(r[1][0]) * half[0] + abs(r[1][1]) * half[1] + abs(r[1][2]) * half[2],
        abs(r[2][0]) * half[0] + abs(r[2][1]) * half[1] + abs(r[2][2]) * half[2],
    )
