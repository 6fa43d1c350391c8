"""The scene's collision geometry as world-aligned boxes, for collision-aware waypoints.

Every non-robot geom of the compiled model (panels of a shelf frame, the boards, a drawer
unit's carcass, each object's parts) becomes the axis-aligned box that bounds it at reset,
owned by its object. Planners ask two questions of a straight corridor seen from above:
how high is the highest thing under a level (the floor to clear) and how low is the lowest
thing over a level (the ceiling to stay under). A box that spans the level is in the way
at that level: it raises the floor over the ceiling, so the corridor reads as blocked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Vec2 = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in the world, owned by one object."""

    owner: str
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]


def boxes_from_model(
    model: Any, qpos: F64, owners: Mapping[str, Iterable[int]], skip: Iterable[int] = ()
) -> tuple[Box, ...]:
    """World bounding boxes of every geom listed in ``owners`` (object id → geom ids) with
    the model at ``qpos``; planes and the geoms in ``skip`` are left out."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    skipped = set(skip)
    out = []
    for owner in sorted(owners):
        for g in sorted(owners[owner]):
            if g in skipped or model.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE:
                continue
            centre, half = model.geom_aabb[g][:3], model.geom_aabb[g][3:]
            rot = data.geom_xmat[g].reshape(3, 3)
            mid = data.geom_xpos[g] + rot @ centre
            ext = np.abs(rot) @ half
            lo, hi = mid - ext, mid + ext
            out.append(
                Box(
                    owner,
                    (float(lo[0]), float(lo[1]), float(lo[2])),
                    (float(hi[0]), float(hi[1]), float(hi[2])),
                )
            )
    return tuple(out)


def _point_rect(px: float, py: float, box: Box) -> float:
    dx = max(box.lo[0] - px, 0.0, px - box.hi[0])
    dy = max(box.lo[1] - py, 0.0, py - box.hi[1])
    return math.hypot(dx, dy)


def _point_segment(p: Vec2, a: Vec2, b: Vec2) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 < 1e-12 else ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2
    t = max(0.0, min(1.0, t))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def _crosses(a: Vec2, b: Vec2, box: Box) -> bool:
    """Whether segment a→b passes through the box's rectangle (slab test)."""
    t0, t1 = 0.0, 1.0
    for i in range(2):
        d = b[i] - a[i]
        if abs(d) < 1e-12:
            if a[i] < box.lo[i] or a[i] > box.hi[i]:
                return False
            continue
        u, v = (box.lo[i] - a[i]) / d, (box.hi[i] - a[i]) / d
        t0, t1 = max(t0, min(u, v)), min(t1, max(u, v))
        if t0 > t1:
            return False
    return True


def near_corridor(box: Box, a: Vec2, b: Vec2, width: float) -> bool:
    """Whether the box, seen from above, comes within ``width`` of segment a→b."""
    if _crosses(a, b, box):
        return True
    corners = (
        (box.lo[0], box.lo[1]),
        (box.lo[0], box.hi[1]),
        (box.hi[0], box.lo[1]),
        (box.hi[0], box.hi[1]),
    )
    nearest = min(
        _point_rect(*a, box),
        _point_rect(*b, box),
        *(_point_segment(c, a, b) for c in corners),
    )
    return nearest <= width


def floor_under(
    boxes: Iterable[Box], a: Vec2, b: Vec2, width: float, below: float, skip: Iterable[str] = ()
) -> float:
    """Top of the highest box near the corridor that starts below ``below`` (0 if none)."""
    out = set(skip)
    return max(
        (
            x.hi[2]
            for x in boxes
            if x.owner not in out and x.lo[2] < below and near_corridor(x, a, b, width)
        ),
        default=0.0,
    )


def ceiling_over(
    boxes: Iterable[Box], a: Vec2, b: Vec2, width: float, above: float, skip: Iterable[str] = ()
) -> float:
    """Bottom of the lowest box near the corridor that starts at or over ``above`` (inf if none)."""
    out = set(skip)
    return min(
        (
            x.lo[2]
            for x in boxes
            if x.owner not in out and x.lo[2] >= above and near_corridor(x, a, b, width)
        ),
        default=math.inf,
    )


def in_strip(
    boxes: Iterable[Box],
    a: Vec2,
    b: Vec2,
    half_width: float,
    z_lo: float,
    z_hi: float,
    skip: Iterable[str] = (),
) -> list[Box]:
    """Boxes meeting the vertical slab over the rectangle a→b (± ``half_width`` across it)
    between heights ``z_lo`` and ``z_hi``: what a hand moving straight from a to b would touch."""
    out = set(skip)
    ux, uy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(ux, uy)
    ux, uy = (ux / length, uy / length) if length > 1e-9 else (1.0, 0.0)
    nx, ny = -uy, ux
    corners = [
        (a[0] + s * half_width * nx + t * ux * length, a[1] + s * half_width * ny + t * uy * length)
        for s in (-1.0, 1.0)
        for t in (0.0, 1.0)
    ]
    hits = []
    for x in boxes:
        if x.owner in out or x.hi[2] <= z_lo or x.lo[2] >= z_hi:
            continue
        if _separated(corners, x, (ux, uy), (nx, ny)):
            continue
        hits.append(x)
    return hits


def _separated(corners: list[Vec2], box: Box, u: Vec2, n: Vec2) -> bool:
    """Separating-axis test of a rectangle (its corners, axes u and n) against a box's
    footprint: True when some axis separates them."""
    bx = [
        (box.lo[0], box.lo[1]),
        (box.lo[0], box.hi[1]),
        (box.hi[0], box.lo[1]),
        (box.hi[0], box.hi[1]),
    ]
    for ax in ((1.0, 0.0), (0.0, 1.0), u, n):
        p = [c[0] * ax[0] + c[1] * ax[1] for c in corners]
        q = [c[0] * ax[0] + c[1] * ax[1] for c in bx]
        if max(p) < min(q) or max(q) < min(p):
            return True
    return False
