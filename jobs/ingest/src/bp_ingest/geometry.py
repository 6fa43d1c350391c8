"""Unit, axis and scale normalisation (pure functions on plain floats; quaternion and box
helpers from :mod:`bp_contracts.geometry`).

Frames are right-handed. A y-up blueprint is turned +90° about x into the pipeline's
z-up frame: a point (x, y, z) becomes (x, -z, y); orientations are conjugated by the
same turn, so each object's own axes follow and its size becomes (sx, sz, sy).
"""

from __future__ import annotations

import math

from bp_contracts.geometry import Quat, Vec3, box_height, qconj, qmul

_H = math.sqrt(0.5)
Y_TO_Z: Quat = (_H, _H, 0.0, 0.0)  # +90° about x


def qnormalize(q: Quat) -> tuple[Quat, float]:
    """Unit quaternion with w ≥ 0, and the input's norm."""
    m = max(abs(c) for c in q)
    s = (q[0] / m, q[1] / m, q[2] / m, q[3] / m)
    n = math.sqrt(sum(c * c for c in s))
    u = (s[0] / n, s[1] / n, s[2] / n, s[3] / n)
    n *= m
    if u[0] < 0:
        u = (-u[0], -u[1], -u[2], -u[3])
    return u, n


def y_up_to_z_up_point(p: Vec3) -> Vec3:
    """(x, y, z) in a y-up frame → the same point in the z-up frame."""
    return (p[0], -p[2], p[1])


def y_up_to_z_up_orientation(q: Quat) -> Quat:
    """Orientation R → R_c R R_cᵀ, with R_c the +90° turn about x."""
    return qnormalize(qmul(qmul(Y_TO_Z, q), qconj(Y_TO_Z)))[0]


def y_up_to_z_up_size(s: Vec3) -> Vec3:
    """Local extents follow the local axes: (sx, sy, sz) → (sx, sz, sy)."""
    return (s[0], s[2], s[1])


def characteristic(size: Vec3) -> float:
    """Geometric mean of the extents (what is compared with a category prior)."""
    return math.cbrt(size[0] * size[1] * size[2])


def scale_about_base(position: Vec3, q: Quat, size: Vec3, factor: float) -> tuple[Vec3, Vec3]:
    """Scale an object about the centre of its base, so it stays on its support."""
    h0 = box_height(q, size)
    new_size = (size[0] * factor, size[1] * factor, size[2] * factor)
    bottom = position[2] - h0 / 2
    new_pos = (position[0], position[1], bottom + box_height(q, new_size) / 2)
    return new_pos, new_size
