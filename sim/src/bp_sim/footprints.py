"""Footprints and support surfaces: oriented rectangles in world xy and their tests.

Pure Python and numpy (no MuJoCo); the free-spot search on these surfaces is
:mod:`bp_sim.placement`. World frame: metres, z up, yaw in radians counter-clockwise about
+z seen from above.

A :class:`Footprint` is an oriented rectangle in the xy plane; two footprints *overlap*
with a margin ``m`` unless a separating axis (one of the four edge normals) shows a gap
of at least ``m`` between them, so "no overlap" guarantees a true clearance of at least
``m``. The batch tests (:func:`inside_batch`, :func:`hits_batch`) evaluate many candidate
poses of one rectangle at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from bp_contracts.geometry import Quat, qmul, qnorm, quat_to_matrix, yaw_quat_rad
from bp_contracts.simready import SimObject

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FLOOR: Final = "floor"
FLOOR_HALF_M: Final = 10.0  # default floor area: 20 m x 20 m about the origin
EPS: Final = 1e-9  # numeric slack of the inside test
VERTICAL_TOL: Final = 1e-9  # |R[2][k]| this close to 1: local axis k is vertical


@dataclass(frozen=True)
class Footprint:
    """An oriented rectangle in world xy: centre, half extents along its own axes, yaw."""

    cx: float
    cy: float
    half_x: float
    half_y: float
    yaw: float = 0.0

    @property
    def area(self) -> float:
        """Area in square metres."""
        return 4.0 * self.half_x * self.half_y

    def corners(self) -> list[tuple[float, float]]:
        """The four corners, counter-clockwise from (-x, -y) in the rectangle's frame."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        out = []
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            lx, ly = sx * self.half_x, sy * self.half_y
            out.append((self.cx + c * lx - s * ly, self.cy + s * lx + c * ly))
        return out

    def overlaps(self, other: Footprint, margin: float = 0.0) -> bool:
        """True unless a separating axis shows a gap of at least ``margin`` (SAT)."""
        hit = hits_batch(
            np.array([self.cx]),
            np.array([self.cy]),
            np.array([self.yaw]),
            self.half_x,
            self.half_y,
            stack_footprints([other]),
            margin,
        )
        return bool(hit[0])

    def inside(self, surface: Surface | Footprint, margin: float = 0.0) -> bool:
        """True if every corner lies inside ``surface`` shrunk by ``margin`` on each side."""
        area = surface.area if isinstance(surface, Surface) else surface
        ok = inside_batch(
            area,
            np.array([self.cx]),
            np.array([self.cy]),
            np.array([self.yaw]),
            self.half_x,
            self.half_y,
            margin,
        )
        return bool(ok[0])

    def moved(self, cx: float, cy: float, yaw: float) -> Footprint:
        """The same rectangle at another centre and yaw."""
        return Footprint(cx, cy, self.half_x, self.half_y, yaw)


@dataclass(frozen=True)
class Surface:
    """The usable top of a support: its height, its area in xy and which object it is."""

    support: str
    z_top: float
    area: Footprint


def half_height(size: tuple[float, float, float], orientation: Quat) -> float:
    """Half the vertical extent of a box of full ``size`` turned by ``orientation``."""
    r = quat_to_matrix(qnorm(orientation))
    return sum(abs(r[2][j]) * size[j] for j in range(3)) / 2.0


def footprint_of(
    obj: SimObject,
    position: tuple[float, float, float] | None = None,
    orientation: Quat | None = None,
) -> Footprint:
    """The xy projection of the object's rotated size box as an oriented rectangle.

    For a pure yaw (one local axis vertical) this is exactly the box's top face. For any
    other rotation it is the bounding rectangle of the projected box, aligned with the
    horizontal direction of the local axis that lies flattest.
    """
    p = obj.position_m if position is None else position
    q = qnorm(obj.orientation_wxyz if orientation is None else orientation)
    r = quat_to_matrix(q)
    size = obj.size_m
    # columns of r: the object's local axes in the world
    horizontal = [math.hypot(r[0][j], r[1][j]) for j in range(3)]
    vertical = max(range(3), key=lambda j: abs(r[2][j]))
    if abs(abs(r[2][vertical]) - 1.0) <= VERTICAL_TOL:
        i, k = (j for j in range(3) if j != vertical)
        yaw = math.atan2(r[1][i], r[0][i])
        return Footprint(p[0], p[1], size[i] / 2.0, size[k] / 2.0, yaw)
    i = max(range(3), key=lambda j: horizontal[j])
    ax = (r[0][i] / horizontal[i], r[1][i] / horizontal[i])
    ay = (-ax[1], ax[0])
    hx = sum(abs(ax[0] * r[0][j] + ax[1] * r[1][j]) * size[j] for j in range(3)) / 2.0
    hy = sum(abs(ay[0] * r[0][j] + ay[1] * r[1][j]) * size[j] for j in range(3)) / 2.0
    return Footprint(p[0], p[1], hx, hy, math.atan2(ax[1], ax[0]))


def floor_surface(area: Footprint | None = None) -> Surface:
    """The floor (z = 0): ``area`` or a 20 m x 20 m square about the origin."""
    return Surface(FLOOR, 0.0, area or Footprint(0.0, 0.0, FLOOR_HALF_M, FLOOR_HALF_M, 0.0))


def support_surface(support: SimObject | None) -> Surface:
    """The top face of a support (shelf board, table, countertop, tray...); None: the floor."""
    if support is None:
        return floor_surface()
    z_top = support.position_m[2] + half_height(support.size_m, support.orientation_wxyz)
    return Surface(support.id, z_top, footprint_of(support))


def yaw_turn(orientation: Quat, yaw: float) -> Quat:
    """``orientation`` turned by ``yaw`` radians about the world z axis."""
    return qnorm(qmul(yaw_quat_rad(yaw), orientation))


# ----------------------------------------------------------------- batch geometry
def stack_footprints(obstacles: list[Footprint]) -> FloatArray:
    """Obstacles as an (M, 5) array: cx, cy, half_x, half_y, yaw."""
    if not obstacles:
        return np.zeros((0, 5))
    return np.array([[o.cx, o.cy, o.half_x, o.half_y, o.yaw] for o in obstacles], dtype=float)


def inside_batch(
    area: Footprint,
    xs: FloatArray,
    ys: FloatArray,
    yaws: FloatArray,
    hx: float,
    hy: float,
    margin: float,
) -> BoolArray:
    """For each candidate: is the rectangle inside ``area`` shrunk by ``margin``?"""
    c, s = math.cos(area.yaw), math.sin(area.yaw)
    dx, dy = xs - area.cx, ys - area.cy
    u = dx * c + dy * s
    v = -dx * s + dy * c
    rel = yaws - area.yaw
    ac, as_ = np.abs(np.cos(rel)), np.abs(np.sin(rel))
    eu = hx * ac + hy * as_
    ev = hx * as_ + hy * ac
    ok_u = np.abs(u) + eu <= area.half_x - margin + EPS
    ok_v = np.abs(v) + ev <= area.half_y - margin + EPS
    result: BoolArray = ok_u & ok_v
    return result


def hits_batch(
    xs: FloatArray,
    ys: FloatArray,
    yaws: FloatArray,
    hx: float,
    hy: float,
    obstacles: FloatArray,
    margin: float,
) -> BoolArray:
    """For each candidate: does it overlap any obstacle (separating-axis test with margin)?"""
    n = xs.shape[0]
    if obstacles.shape[0] == 0:
        return np.zeros(n, dtype=bool)
    ca, sa = np.cos(yaws)[:, None], np.sin(yaws)[:, None]  # candidate axes (N, 1)
    ox, oy = obstacles[None, :, 0], obstacles[None, :, 1]
    ohx, ohy, oyaw = obstacles[None, :, 2], obstacles[None, :, 3], obstacles[None, :, 4]
    cb, sb = np.cos(oyaw), np.sin(oyaw)  # obstacle axes (1, M)
    dx, dy = ox - xs[:, None], oy - ys[:, None]
    separated = np.zeros((n, obstacles.shape[0]), dtype=bool)
    # candidate axes a1 = (ca, sa), a2 = (-sa, ca); obstacle axes b1 = (cb, sb), b2 = (-sb, cb)
    for axx, axy in ((ca, sa), (-sa, ca), (cb, sb), (-sb, cb)):
        dist = np.abs(dx * axx + dy * axy)
        r_cand = hx * np.abs(ca * axx + sa * axy) + hy * np.abs(-sa * axx + ca * axy)
        r_obst = ohx * np.abs(cb * axx + sb * axy) + ohy * np.abs(-sb * axx + cb * axy)
        separated |= dist >= r_cand + r_obst + margin
    # a hit: some obstacle with no separating axis
    return np.asarray((~separated).any(axis=1), dtype=bool)


__all__ = [
    "EPS",
    "FLOOR",
    "BoolArray",
    "FloatArray",
    "Footprint",
    "Surface",
    "floor_surface",
    "footprint_of",
    "half_height",
    "hits_batch",
    "inside_batch",
    "stack_footprints",
    "support_surface",
    "yaw_turn",
]
