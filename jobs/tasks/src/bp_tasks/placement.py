"""Target regions: a free, reachable spot on a support surface for an object to end up in.

A region is the object's footprint (its world bounding box seen from above) grown by the
target margin, standing on the support's top, with a height band from the surface to the
object's height plus ``Z_MARGIN_M``. It is *free* when no other body whose height range
meets that band (the support and what holds the support up excepted) overlaps it from
above; *reachable* when its centre is within the maximum reach of the shoulder and beyond
the minimum horizontal reach. Candidate spots lie on a grid over the surface and are tried
in an order shuffled by a derived seed, so the same inputs always give the same spot.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from bp_contracts.geometry import Vec2, Vec3
from bp_contracts.tasks import Region

from bp_tasks.geometry import Polygon, bounds, inside, overlap, rect
from bp_tasks.settings import TasksSettings
from bp_tasks.world import Body, Layout, Obstacle, Robot, Surface

GRID_STEP_M = 0.02
BAND_EPS_M = 0.005  # bodies whose top is this close to the surface rest below it, not on it
Z_MARGIN_M = 0.02
FIT_CLEARANCE_M = 0.005
DECIMALS = 9


def rounded(v: Vec3) -> Vec3:
    """``v`` rounded to 9 decimals (what is written)."""
    return (round(v[0], DECIMALS), round(v[1], DECIMALS), round(v[2], DECIMALS))


def reach_issue(robot: Robot, p: Vec3, s: TasksSettings) -> str | None:
    """Why the arm cannot work at ``p``, or None if it can."""
    d = robot.distance(p)
    if d > s.tasks_max_reach_m:
        return f"{d:.3f} m from the shoulder (limit {s.tasks_max_reach_m:.3f} m)"
    h = robot.horizontal(p)
    if h <= s.tasks_min_horizontal_reach_m:
        return f"{h:.3f} m from the shoulder horizontally (minimum {s.tasks_min_horizontal_reach_m:.3f} m)"
    return None


def blocker(outline: Polygon, obstacles: list[Obstacle]) -> str | None:
    """Id of the first obstacle that overlaps ``outline``, or None."""
    x0, y0, x1, y1 = bounds(outline)
    for ob in obstacles:
        a0, b0, a1, b1 = ob.bounds
        if a1 <= x0 or a0 >= x1 or b1 <= y0 or b0 >= y1:
            continue
        if overlap(outline, ob.outline):
            return ob.id
    return None


def support_exclusions(layout: Layout, support: str) -> set[str]:
    """The support and everything under it: never obstacles for what stands on it."""
    return {support, *layout.ancestors(support)}


@dataclass
class Search:
    """What a failed search saw, for the skip reason."""

    spots: int = 0
    rejected: int = 0  # by the task's own rule (direction, distance from the start)
    out_of_reach: int = 0
    occupied: int = 0

    def reason(self, where: str) -> str:
        """One line: why no spot on ``where`` was taken."""
        if self.spots == 0:
            return f"the object does not fit on {where}"
        parts = []
        if self.rejected:
            parts.append(f"{self.rejected} in the wrong place")
        if self.out_of_reach:
            parts.append(f"{self.out_of_reach} out of reach")
        if self.occupied:
            parts.append(f"{self.occupied} occupied")
        return f"no free spot on {where} ({self.spots} tried: {', '.join(parts)})"


def place_on(
    layout: Layout,
    robot: Robot,
    body: Body,
    surface: Surface,
    s: TasksSettings,
    rng: random.Random,
    accept: Callable[[Vec2], bool],
    search: Search,
) -> Region | None:
    """A free, reachable region for ``body`` on ``surface`` whose centre ``accept`` takes."""
    hx, hy, hz = body.box.half_extents
    m = s.tasks_target_margin_m
    rx, ry = hx + m, hy + m
    h = 2 * hz
    obstacles = layout.obstacles(
        surface.z_top + BAND_EPS_M,
        surface.z_top + h + Z_MARGIN_M,
        support_exclusions(layout, surface.support),
    )
    spots = list(surface.spots(rx, ry, GRID_STEP_M))
    rng.shuffle(spots)
    cz = surface.z_top + hz
    for c in spots:
        search.spots += 1
        if not accept(c):
            search.rejected += 1
            continue
        if reach_issue(robot, (c[0], c[1], cz), s) is not None:
            search.out_of_reach += 1
            continue
        if blocker(rect(c[0], c[1], rx, ry), obstacles) is not None:
            search.occupied += 1
            continue
        return Region(
            center_m=rounded((c[0], c[1], cz)),
            half_extents_m=rounded((rx, ry, hz + Z_MARGIN_M)),
            support=surface.support,
        )
    return None


def place_in(
    layout: Layout,
    robot: Robot,
    body: Body,
    container: Body,
    surface: Surface,
    s: TasksSettings,
    search: Search,
) -> Region | None:
    """The region inside an open container (bowl, basket) for ``body``, if it fits and is free.

    The region is centred on the container's opening and spans from its bottom to its rim
    plus the object's height, so the object counts as inside whether the container is
    modelled hollow or solid.
    """
    hx, hy, hz = body.box.half_extents
    c = surface.center
    if not inside(rect(c[0], c[1], hx + FIT_CLEARANCE_M, hy + FIT_CLEARANCE_M), surface.outline):
        return None
    search.spots += 1
    m = s.tasks_target_margin_m
    t = next(
        (
            t
            for t in (1.0, 0.5, 0.25)
            if inside(rect(c[0], c[1], hx + t * m, hy + t * m), surface.outline)
        ),
        0.0,
    )
    rx, ry = hx + t * m, hy + t * m
    bottom, top = container.box.z_range
    lo, hi = bottom + BAND_EPS_M, top + 2 * hz
    center = (c[0], c[1], (bottom + hi) / 2)
    if reach_issue(robot, center, s) is not None:
        search.out_of_reach += 1
        return None
    obstacles = layout.obstacles(lo, hi, support_exclusions(layout, container.id))
    if blocker(rect(c[0], c[1], rx, ry), obstacles) is not None:
        search.occupied += 1
        return None
    return Region(
        center_m=rounded(center),
        half_extents_m=rounded((rx, ry, (hi - bottom) / 2)),
        support=container.id,
    )
