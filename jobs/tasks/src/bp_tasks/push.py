"""Push tasks: slide a box-like object a set distance along a free direction.

Directions are fixed in the robot's frame (away from it, to its left, to its right) so the
success predicate's direction is the same in every variant. A push is possible in a
variant when the object is reachable at both ends, the whole path (the hull of its
footprint at the start and at the end, grown by the target margin) stays on its support
and is free, and there is room behind the object for the gripper to push from.
"""

from __future__ import annotations

from dataclasses import dataclass

from bp_contracts.geometry import Vec2
from bp_contracts.tasks import Region

from bp_tasks.geometry import convex_hull, inside, rect, translate
from bp_tasks.headroom import headroom_issue
from bp_tasks.placement import (
    BAND_EPS_M,
    Z_MARGIN_M,
    blocker,
    reach_issue,
    rounded,
    support_exclusions,
)
from bp_tasks.settings import TasksSettings
from bp_tasks.world import FLOOR, Body, Layout, Robot

PUSH_MIN_HEIGHT_M = 0.025  # flatter objects (phones, markers) slide under the fingers
APPROACH_M = 0.06  # free room behind the object for the fingers
DIRECTIONS = ("away", "left", "right")


def direction_vector(robot: Robot, direction: str) -> Vec2:
    """Unit vector (xy) of a push direction in the world frame."""
    if direction == "away":
        return robot.forward
    left = robot.left
    return left if direction == "left" else (-left[0], -left[1])


def pushable(body: Body) -> str | None:
    """Why ``body`` cannot be pushed at all, or None."""
    if body.shape != "box":
        return f"not box-like ({body.shape})"
    if body.support == FLOOR:
        return "stands on the floor"
    if body.box.height < PUSH_MIN_HEIGHT_M:
        return f"{body.box.height:.3f} m tall: too flat to push (minimum {PUSH_MIN_HEIGHT_M} m)"
    return None


@dataclass(frozen=True)
class PushTarget:
    """Where a push ends in one variant."""

    region: Region
    reach_m: float


def push_target(
    layout: Layout, robot: Robot, body: Body, direction: str, s: TasksSettings
) -> PushTarget | str:
    """The end region of pushing ``body`` along ``direction`` in this variant, or why not."""
    dx, dy = direction_vector(robot, direction)
    d = s.tasks_push_distance_m
    m = s.tasks_target_margin_m
    px, py, pz = body.position
    end = (px + d * dx, py + d * dy, pz)
    for p in (body.position, end):
        issue = reach_issue(robot, p, s)
        if issue is not None:
            return f"{'start' if p is body.position else 'end'} {issue}"
    surface = layout.surface(body.support, robot)
    fp = body.box.footprint
    path = convex_hull(fp + translate(fp, d * dx, d * dy))
    hx, hy, hz = body.box.half_extents
    grown = convex_hull(
        [(x + sx * m, y + sy * m) for x, y in path for sx in (-1, 1) for sy in (-1, 1)]
    )
    if not inside(rect(end[0], end[1], hx + m, hy + m), surface.outline):
        return f"the end is off {body.support}"
    exclude = support_exclusions(layout, body.support) | {body.id}
    obstacles = layout.obstacles(
        surface.z_top + BAND_EPS_M, surface.z_top + 2 * hz + Z_MARGIN_M, exclude
    )
    hit = blocker(grown, obstacles)
    if hit is not None:
        return f"{hit} is in the way"
    # the end region is the world-aligned box around the moved footprint, grown by the margin:
    # it must be free too (for a turned object it sticks out of the swept path)
    moved = translate(fp, d * dx, d * dy)
    xs, ys = [x for x, _ in moved], [y for _, y in moved]
    ex, ey = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    ehx, ehy = (max(xs) - min(xs)) / 2 + m, (max(ys) - min(ys)) / 2 + m
    if not inside(rect(ex, ey, ehx, ehy), surface.outline):
        return f"the end is off {body.support}"
    hit = blocker(rect(ex, ey, ehx, ehy), obstacles)
    if hit is not None:
        return f"{hit} is in the way"
    behind = convex_hull(fp + translate(fp, -APPROACH_M * dx, -APPROACH_M * dy))
    hit = blocker(behind, obstacles)
    if hit is not None:
        return f"no room behind it to push from ({hit})"
    room = headroom_issue(
        layout,
        convex_hull(behind + grown),
        surface.z_top + 2 * hz,
        body.support,
        body.id,
        s.tasks_min_headroom_m,
    )
    if room is not None:
        return room
    region = Region(
        center_m=rounded((ex, ey, end[2])),
        half_extents_m=rounded((ehx, ehy, hz + Z_MARGIN_M)),
        support=body.support,
    )
    return PushTarget(region, max(robot.distance(body.position), robot.distance(end)))
