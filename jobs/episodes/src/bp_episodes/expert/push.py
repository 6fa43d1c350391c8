"""Push an object along a direction: closed fingers behind it, slide through, retreat."""

from __future__ import annotations

import math

import numpy as np

from bp_episodes.expert.base import Expert, Waypoint, World

BEHIND = 0.05  # start this far behind the object (the palm is wider than the fingers)
EXTRA = 0.05  # push this much past the required displacement
CLEARANCE = 0.06


class PushExpert(Expert):
    """Horizontal push with the closed gripper."""

    kind = "push"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints that move the object by the task's displacement along its direction."""
        st = world.objects[world.task.object]
        pred = next(p for p in world.task.success if p.kind == "object_displaced")
        d = np.asarray(pred.direction or (1.0, 0.0, 0.0), dtype=np.float64)
        d[2] = 0.0
        d /= float(np.linalg.norm(d)) or 1.0
        distance = float(pred.value or 0.1)
        # extent of the object's footprint along d
        c, s = math.cos(st.yaw), math.sin(st.yaw)
        ax, ay = np.array([c, s, 0.0]), np.array([-s, c, 0.0])
        reach = (
            abs(float(ax @ d)) * st.obj.size_m[0] / 2 + abs(float(ay @ d)) * st.obj.size_m[1] / 2
        )
        height = st.obj.size_m[2]
        bottom = st.pos[2] - height / 2
        push_z = bottom + min(height / 2, 0.03) + 0.005
        start = np.asarray(st.pos) - d * (reach + BEHIND)
        end = np.asarray(st.pos) + d * (
            distance + EXTRA - reach
        )  # hand travel past first contact = distance + EXTRA
        yaw = math.atan2(d[1], d[0]) + math.pi / 2  # fingers side by side across d: a wide pusher
        above = (
            max(
                st.top_z,
                world.tallest_between((start[0], start[1]), (end[0], end[1]), skip=st.obj.id),
            )
            + CLEARANCE
        )
        return [
            Waypoint((start[0], start[1], above), yaw, 0.0, "approach", speed_m_s=0.35),
            Waypoint((start[0], start[1], push_z), yaw, 0.0, "descend", speed_m_s=0.15),
            Waypoint((end[0], end[1], push_z), yaw, 0.0, "push", speed_m_s=0.08),
            Waypoint((end[0], end[1], above), yaw, 0.0, "retreat", speed_m_s=0.2),
        ]
