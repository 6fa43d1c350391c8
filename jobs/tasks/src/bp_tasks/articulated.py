"""Open/close tasks for drawers and doors: where the handle is, and whether the arm gets there.

The handle's grasp point (``Articulation.handle_m``, in the moving part's frame) is carried
through the joint: a slide moves it along the axis, a hinge turns it about the axis line
through ``anchor_m``; the object's pose takes it to the world. Joint values are fractions
of the range end farthest from 0 (closed is 0). A task is possible in a variant when the
handle is reachable closed, at the goal and (for closing) fully open, and the part opens
towards the robot.
"""

from __future__ import annotations

from dataclasses import dataclass

from bp_contracts.geometry import Vec3, add, apply, axis_angle_matrix, norm, sub
from bp_contracts.simready import Articulation
from bp_contracts.tasks import Region

from bp_tasks.placement import reach_issue, rounded
from bp_tasks.settings import TasksSettings
from bp_tasks.world import Body, Robot

HANDLE_HALF_M = 0.05  # half size of the region the handle should reach (targets)
KINDS = {"drawer": ("open_drawer", "close_drawer"), "door": ("open_door", "close_door")}


def open_extreme(art: Articulation) -> float:
    """The joint value of "fully open": the range end farthest from the closed 0."""
    lo, hi = art.range
    return hi if abs(hi) >= abs(lo) else lo


def handle_at(body: Body, q: float) -> Vec3:
    """World position of the handle with the joint at ``q`` (metres or radians)."""
    art = body.articulation
    if art is None:
        raise ValueError(f"{body.id} has no articulation")
    local = add(art.part_pos_m, art.handle_m)
    n = norm(art.axis)
    axis = (art.axis[0] / n, art.axis[1] / n, art.axis[2] / n)
    if art.joint == "slide":
        local = add(local, (axis[0] * q, axis[1] * q, axis[2] * q))
    else:
        local = add(art.anchor_m, apply(axis_angle_matrix(axis, q), sub(local, art.anchor_m)))
    return add(body.position, apply(body.box.matrix, local))


def travel(body: Body, q0: float, q1: float) -> float:
    """Distance the handle moves from ``q0`` to ``q1`` (an arc for a hinge)."""
    art = body.articulation
    if art is None:
        raise ValueError(f"{body.id} has no articulation")
    if art.joint == "slide":
        return abs(q1 - q0)
    p = handle_at(body, 0.0)
    n = norm(art.axis)
    axis_w = apply(body.box.matrix, (art.axis[0] / n, art.axis[1] / n, art.axis[2] / n))
    anchor_w = add(body.position, apply(body.box.matrix, art.anchor_m))
    r = sub(p, anchor_w)
    along = sum(r[i] * axis_w[i] for i in range(3))
    radius = norm(sub(r, (axis_w[0] * along, axis_w[1] * along, axis_w[2] * along)))
    return radius * abs(q1 - q0)


@dataclass(frozen=True)
class JointGoal:
    """One variant's handle goal for an open or close task."""

    region: Region
    reach_m: float
    travel_m: float


def joint_goal(body: Body, robot: Robot, opening: bool, s: TasksSettings) -> JointGoal | str:
    """The handle's goal region for opening (or closing) in this variant, or why not."""
    art = body.articulation
    if art is None:
        return "not articulated"
    full = open_extreme(art)
    if full == 0:
        return "its joint range is empty"
    fraction = s.tasks_open_fraction if opening else s.tasks_close_fraction
    start_q = 0.0 if opening else full
    goal_q = fraction * full
    points = [handle_at(body, 0.0), handle_at(body, goal_q), handle_at(body, full)]
    closed, opened = points[0], points[2]
    moves = (opened[0] - closed[0], opened[1] - closed[1])
    towards = (robot.shoulder[0] - closed[0], robot.shoulder[1] - closed[1])
    if moves[0] * towards[0] + moves[1] * towards[1] <= 0:
        return f"its {art.kind} opens away from the robot"
    for label, p in zip(("closed", "at the goal", "fully open"), points, strict=True):
        issue = reach_issue(robot, p, s)
        if issue is not None:
            return f"handle {label} is {issue}"
    goal = points[1]
    region = Region(
        center_m=rounded(goal),
        half_extents_m=(HANDLE_HALF_M, HANDLE_HALF_M, HANDLE_HALF_M),
        support=body.id,
    )
    reach = max(robot.distance(p) for p in points)
    return JointGoal(region, reach, travel(body, start_q, goal_q))
