"""Kinematic check of a plan: follow its waypoints with the IK alone, no dynamics.

A planner with several candidate plans (grasp heights, approach directions, grips) asks
the world how well the arm can follow each one — from the posture the episode starts in,
solving each pose from the last solution as the episode loop does — and keeps the first
that stays within tolerance. At every checked pose the whole robot (links, hand, fingers)
is also tested against the scene with MuJoCo's own collision detection, the scene frozen
as it is at reset: that is what tells a side grasp whose wrist would need more than joint
5's range, or a push whose forearm would cross a shelf's side panel, from one the arm can
really do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import mujoco
import numpy as np
from numpy.typing import NDArray

from bp_episodes.expert.base import Follower, Tracking, Waypoint
from bp_episodes.expert.ik import ArmIK

F64 = NDArray[np.float64]
TRACK_DT = 0.1  # s between checked poses (the follower's path is smooth)
PENETRATION_TOL = 0.005  # m: deeper contacts of a robot geom count as collisions

Tracker = Callable[[list[Waypoint]], Tracking]


def make_tracker(
    ik: ArmIK,
    qpos: F64,
    start: tuple[float, float, float],
    start_yaw: float,
    robot_geoms: Iterable[int] = (),
    allowed: Iterable[int] = (),
    gripper_geoms: Iterable[int] = (),
    handled: Iterable[int] = (),
) -> Tracker:
    """A function telling how the arm follows a list of waypoints from ``qpos`` (a full
    qpos of the episode's start): worst IK errors, and the poses where a geom of
    ``robot_geoms`` penetrates a scene geom by more than ``PENETRATION_TOL`` — except
    geoms in ``allowed`` (the pedestal; an articulated part, which stays put here while
    the hand moves it in the episode) and, for ``gripper_geoms``, those in ``handled``
    (the object the task handles)."""
    model = ik.model
    data = mujoco.MjData(model)
    robot = frozenset(robot_geoms)
    ok = frozenset(allowed)
    gripper = frozenset(gripper_geoms)
    held = frozenset(handled)

    def hit(t: float) -> str:
        for c in data.contact[: data.ncon]:
            g1, g2 = int(c.geom1), int(c.geom2)
            if (g1 in robot) == (g2 in robot) or c.dist > -PENETRATION_TOL:
                continue
            mine, other = (g1, g2) if g1 in robot else (g2, g1)
            if other in ok or (mine in gripper and other in held):
                continue
            return f"t={t:.1f}s {model.geom(mine).name} / {model.geom(other).name}"
        return ""

    def track(waypoints: list[Waypoint]) -> Tracking:
        follower = Follower(start, start_yaw, 1.0, waypoints)
        q = np.array(qpos, dtype=np.float64)
        worst_pos = worst_rot = 0.0
        hits, first = 0, ""
        steps = int(np.ceil(follower.duration / TRACK_DT))
        for k in range(steps + 1):
            t = min(k * TRACK_DT, follower.duration)
            pos, quat, _, _ = follower.pose(t)
            sol = ik.solve(q, pos, quat)
            q[ik.qadr] = sol.qpos
            worst_pos = max(worst_pos, sol.pos_err_m)
            worst_rot = max(worst_rot, sol.rot_err_rad)
            if robot:
                data.qpos[:] = q
                mujoco.mj_fwdPosition(model, data)
                where = hit(t)
                if where:
                    hits += 1
                    first = first or where
        return Tracking(worst_pos, worst_rot, hits, first)

    return track
