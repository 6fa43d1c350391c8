"""Plain-Python 2D geometry for task placement: oriented boxes, footprints and their
overlap tests (rotations come from :mod:`bp_contracts.geometry`).

Frames follow the scene manifest: metres, z up, quaternions [w, x, y, z]. Footprints are
convex polygons in the xy plane (counter-clockwise); overlap is the separating-axis test,
so a rotated object is tested by its true outline, not by a circle or a grown box.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from bp_contracts.geometry import (
    EPS,
    Matrix,
    Quat,
    Vec2,
    Vec3,
    apply,
    box_half_extents_world,
    quat_to_matrix,
)

Polygon = tuple[Vec2, ...]

UPRIGHT_COS = 0.999  # a local axis this close to world z counts as vertical


# ------------------------------------------------------------------ 2D polygons
def rect(cx: float, cy: float, hx: float, hy: float) -> Polygon:
    """Axis-aligned rectangle, counter-clockwise."""
    return ((cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy), (cx - hx, cy + hy))


def oriented_rect(c: Vec2, u: Vec2, hu: float, hv: float) -> Polygon:
    """Rectangle centred at ``c`` with unit axis ``u`` (and ``v`` = ``u`` turned +90°)."""
    v = (-u[1], u[0])
    pts = []
    for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        pts.append((c[0] + su * hu * u[0] + sv * hv * v[0], c[1] + su * hu * u[1] + sv * hv * v[1]))
    return tuple(pts)


def convex_hull(points: Iterable[Vec2]) -> Polygon:
    """Counter-clockwise convex hull (Andrew's monotone chain), collinear points dropped."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return tuple(pts)

    def cross(o: Vec2, a: Vec2, b: Vec2) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Vec2] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= EPS:
            lower.pop()
        lower.append(p)
    upper: list[Vec2] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= EPS:
            upper.pop()
        upper.append(p)
    return tuple(lower[:-1] + upper[:-1])


def translate(poly: Polygon, dx: float, dy: float) -> Polygon:
    """``poly`` moved by (dx, dy)."""
    return tuple((x + dx, y + dy) for x, y in poly)


def _axes(poly: Polygon) -> list[Vec2]:
    out = []
    n = len(poly)
    for i in range(n):
        (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % n]
        ex, ey = x2 - x1, y2 - y1
        length = math.hypot(ex, ey)
        if length > EPS:
            out.append((-ey / length, ex / length))
    return out


def _project(poly: Polygon, axis: Vec2) -> tuple[float, float]:
    dots = [x * axis[0] + y * axis[1] for x, y in poly]
    return min(dots), max(dots)


def overlap(a: Polygon, b: Polygon, tol: float = 1e-6) -> bool:
    """True if convex polygons ``a`` and ``b`` share area (touching within ``tol`` does not count)."""
    for axis in _axes(a) + _axes(b):
        lo_a, hi_a = _project(a, axis)
        lo_b, hi_b = _project(b, axis)
        if hi_a <= lo_b + tol or hi_b <= lo_a + tol:
            return False
    return True


def inside(inner: Polygon, outer: Polygon, tol: float = 1e-9) -> bool:
    """True if every vertex of ``inner`` lies in the convex, counter-clockwise ``outer``."""
    n = len(outer)
    for i in range(n):
        (x1, y1), (x2, y2) = outer[i], outer[(i + 1) % n]
        for px, py in inner:
            if (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1) < -tol:
                return False
    return True


def bounds(poly: Polygon) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y)."""
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


# ------------------------------------------------------------------ boxes
@dataclass(frozen=True)
class Box:
    """An oriented box: centre, orientation and full extents along its own axes."""

    center: Vec3
    quat: Quat
    size: Vec3

    @cached_property
    def matrix(self) -> Matrix:
        """Its rotation matrix."""
        return quat_to_matrix(self.quat)

    @cached_property
    def half_extents(self) -> Vec3:
        """Half extents of the world-axis-aligned box around it."""
        s = self.size
        return box_half_extents_world(self.quat, (s[0] / 2, s[1] / 2, s[2] / 2))

    @property
    def z_range(self) -> tuple[float, float]:
        """(bottom, top) in world z."""
        return self.center[2] - self.half_extents[2], self.center[2] + self.half_extents[2]

    @property
    def height(self) -> float:
        """World-vertical extent."""
        return 2 * self.half_extents[2]

    @cached_property
    def footprint(self) -> Polygon:
        """Convex outline of the box seen from above."""
        m, (sx, sy, sz) = self.matrix, self.size
        pts = []
        for a in (-0.5, 0.5):
            for b in (-0.5, 0.5):
                for c in (-0.5, 0.5):
                    p = apply(m, (a * sx, b * sy, c * sz))
                    pts.append((self.center[0] + p[0], self.center[1] + p[1]))
        return convex_hull(pts)

    def top_face(self) -> tuple[Vec2, Vec2, float, float] | None:
        """(centre, unit axis u, half u, half v) of the horizontal top face, or None if tilted."""
        m = self.matrix
        vertical = [j for j in range(3) if abs(m[2][j]) >= UPRIGHT_COS]
        if len(vertical) != 1:
            return None
        j_u, j_v = [j for j in range(3) if j != vertical[0]]
        u = (m[0][j_u], m[1][j_u])
        length = math.hypot(*u)
        u = (u[0] / length, u[1] / length)
        return (self.center[0], self.center[1]), u, self.size[j_u] / 2, self.size[j_v] / 2
