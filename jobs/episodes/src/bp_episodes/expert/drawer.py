"""Open or close a drawer (or door) by its handle.

Open: grasp the handle bar from above with the fingers closing across it, pull along the
opening direction, release, retreat. Close: push the handle back with the closed gripper.
"""

from __future__ import annotations

import math

import numpy as np

from bp_episodes.expert.base import Expert, Waypoint, World

APPROACH = 0.08


def _handle(world: World) -> tuple[np.ndarray, np.ndarray, float]:
    """World position of the handle, the opening direction and the travel to do."""
    h = world.extras
    pos = np.array([h["handle_x"], h["handle_y"], h["handle_z"]])
    d = np.array([h["open_x"], h["open_y"], 0.0])
    d /= float(np.linalg.norm(d)) or 1.0
    return pos, d, float(h["travel_m"])


class OpenDrawerExpert(Expert):
    """Pull a drawer open by its handle."""

    kind = "open_drawer"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints: over the handle, down, close, pull, release, up."""
        pos, d, travel = _handle(world)
        yaw = math.atan2(d[1], d[0])  # fingers close along d, across the bar
        end = pos + d * travel
        return [
            Waypoint((pos[0], pos[1], pos[2] + APPROACH), yaw, 1.0, "approach", speed_m_s=0.3),
            Waypoint((pos[0], pos[1], pos[2]), yaw, 1.0, "descend", speed_m_s=0.12),
            Waypoint((pos[0], pos[1], pos[2]), yaw, 0.0, "grasp", min_s=0.1, hold_s=0.6),
            Waypoint((end[0], end[1], end[2]), yaw, 0.0, "pull", speed_m_s=0.08),
            Waypoint((end[0], end[1], end[2]), yaw, 1.0, "release", min_s=0.1, hold_s=0.4),
            Waypoint((end[0], end[1], end[2] + APPROACH), yaw, 1.0, "retreat", speed_m_s=0.2),
        ]


class CloseDrawerExpert(Expert):
    """Push a drawer closed."""

    kind = "close_drawer"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints: in front of the handle, push it home, retreat."""
        pos, d, travel = _handle(world)
        yaw = math.atan2(d[1], d[0])
        start = pos + d * 0.05
        end = pos - d * (travel + 0.01)
        return [
            Waypoint(
                (start[0], start[1], start[2] + APPROACH), yaw, 0.0, "approach", speed_m_s=0.3
            ),
            Waypoint((start[0], start[1], start[2]), yaw, 0.0, "descend", speed_m_s=0.12),
            Waypoint((end[0], end[1], end[2]), yaw, 0.0, "push", speed_m_s=0.08),
            Waypoint((end[0], end[1], end[2] + APPROACH), yaw, 0.0, "retreat", speed_m_s=0.2),
        ]
