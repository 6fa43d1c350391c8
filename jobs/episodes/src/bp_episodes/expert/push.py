"""Push an object along a direction: closed fingers behind it, slide through, retreat.

The hand, fingers down and side by side across the push direction (a wide pusher), comes
over a point behind the object, descends, slides through the required displacement plus
``EXTRA`` and rises. Candidates, tried in order until the arm can follow one without a
link meeting the scene (``World.tracking``): straight in; in from the robot's side of the
path (a via point, so that the wrist does not sweep across a shelf's side panel or board
on the way); each of those with the hand shifted along the object's face towards the
robot. When none is clean, the one followed best is used.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from bp_episodes.expert.base import Expert, Waypoint, World

F64 = NDArray[np.float64]
BEHIND = 0.05  # start this far behind the object (the palm is wider than the fingers)
EXTRA = 0.05  # push this much past the required displacement
CLEARANCE = 0.06
CORRIDOR = 0.06  # half width of the corridor whose boxes the hand passes over
VIAS = (0.0, 0.25)  # come in from this far on the robot's side of the push line (m)
SHIFTS = (0.0, 0.04, 0.07)  # hand shifted this far along the face towards the robot (m)


class PushExpert(Expert):
    """Horizontal push with the closed gripper."""

    kind = "push"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints that move the object by the task's displacement along its direction."""
        best: tuple[float, list[Waypoint]] | None = None
        for shift in SHIFTS:
            for via in VIAS:
                wps = self._candidate(world, via, shift)
                seen = world.tracking(wps)
                if seen.ok:
                    return wps
                if best is None or seen.score < best[0]:
                    best = (seen.score, wps)
        assert best is not None  # noqa: S101 - VIAS and SHIFTS are not empty
        return best[1]

    def _candidate(self, world: World, via: float, shift: float) -> list[Waypoint]:
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
        side = _robot_side(world, np.asarray(st.pos), d)
        start = np.asarray(st.pos) - d * (reach + BEHIND) + side * shift
        # hand travel past first contact = distance + EXTRA
        # an off-centre push turns the object a little: push further by the shift
        end = np.asarray(st.pos) + d * (distance + EXTRA + shift - reach) + side * shift
        yaw = math.atan2(d[1], d[0]) + math.pi / 2  # fingers side by side across d: a wide pusher
        yaw += math.pi * round((world.hand_yaw - yaw) / math.pi)  # symmetric: the nearer half-turn
        # over the object and whatever the hand passes near on the way (the scene's boxes:
        # a tall shelf panel beside the corridor is not under the hand and does not count)
        floor = world.floor(
            (start[0], start[1]), (end[0], end[1]), math.inf, (st.obj.id,), CORRIDOR
        )
        above = max(st.top_z, floor) + CLEARANCE
        wps = []
        if via > 0:
            v = start + side * via
            wps.append(Waypoint((v[0], v[1], above), yaw, 0.0, "approach", speed_m_s=0.35))
        return [
            *wps,
            Waypoint((start[0], start[1], above), yaw, 0.0, "approach", speed_m_s=0.35),
            Waypoint((start[0], start[1], push_z), yaw, 0.0, "descend", speed_m_s=0.15),
            Waypoint((end[0], end[1], push_z), yaw, 0.0, "push", speed_m_s=0.08),
            Waypoint((end[0], end[1], above), yaw, 0.0, "retreat", speed_m_s=0.2),
        ]


def _robot_side(world: World, pos: F64, d: F64) -> F64:
    """Unit vector across the push direction ``d`` pointing towards the robot's base."""
    n = np.array([-d[1], d[0], 0.0])
    bx, by = world.base_xy
    to_base = np.array([bx - pos[0], by - pos[1], 0.0])
    return n if float(n @ to_base) >= 0 else -n
