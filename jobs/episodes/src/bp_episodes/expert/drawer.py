"""Open or close a drawer by its handle.

The handle is a horizontal bar on posts in front of the drawer's front panel. The hand
comes horizontal (tilt π/2) and rolled a quarter turn about its fingers, so that the
fingers point at the front and close vertically across the bar with the palm's long side
upright and clear of the panel (a top-down hand would put its palm into the panel above
a handle at mid-height). It moves in until the bar is between the fingertips, closes,
pulls (open) or pushes (close) along the slide by the travel still to do, opens,
withdraws along the slide and rises. Candidates (the roll either way; straight in at
the handle's height, or over what lies between) are followed kinematically with the IK
and the first clean one is used.
"""

from __future__ import annotations

import math

import numpy as np

from bp_episodes.expert import hand
from bp_episodes.expert.base import Expert, Waypoint, World
from bp_episodes.expert.ik import side_yaw

STANDOFF = 0.10  # pre-grasp and retreat: site this far out along the slide
GRIP_INSET = 0.002  # site this far past the bar's centre (pads centred on the bar)
PULL_SPEED = 0.08
CLOSE_PAST = 0.01  # push this far past closed (the carcass stops the drawer)
RISE = 0.06
TILT = math.pi / 2
ROLLS = (-math.pi / 2, math.pi / 2)  # fingers close vertically; the wrist to either side


def _handle(world: World) -> tuple[np.ndarray, np.ndarray, float]:
    """World position of the handle, the opening direction and the travel to do."""
    h = world.extras
    pos = np.array([h["handle_x"], h["handle_y"], h["handle_z"]])
    d = np.array([h["open_x"], h["open_y"], 0.0])
    d /= float(np.linalg.norm(d)) or 1.0
    return pos, d, float(h["travel_m"])


def slide_plan(world: World, pos: np.ndarray, d: np.ndarray, move: float) -> list[Waypoint]:
    """The first of the candidate plans (roll either way; straight in at the handle's height
    or over whatever lies between) the arm follows cleanly, else the one it follows best."""
    best: tuple[float, list[Waypoint]] | None = None
    for over in (False, True):
        for roll in ROLLS:
            wps = _slide(world, pos, d, move, roll, over)
            seen = world.tracking(wps)
            if seen.ok:
                return wps
            if best is None or seen.score < best[0]:
                best = (seen.score, wps)
    assert best is not None  # noqa: S101 - ROLLS is not empty
    return best[1]


def _slide(
    world: World, pos: np.ndarray, d: np.ndarray, move: float, roll: float, over: bool
) -> list[Waypoint]:
    """Grasp the bar at ``pos`` and move it ``move`` metres along ``d`` (negative: back)."""
    u = -d  # the fingers point into the front
    yaw = side_yaw(math.atan2(u[1], u[0]))
    yaw += 2 * math.pi * round((world.hand_yaw - yaw) / (2 * math.pi))
    grip = pos + u * GRIP_INSET
    pre = grip + d * STANDOFF
    end = grip + d * move
    out = end + d * STANDOFF
    skip: tuple[str, ...] = ()  # the part itself too: an open door or drawer is in the way
    floor = world.floor(world.hand_start[:2], (pre[0], pre[1]), grip[2], skip, hand.HALF_WIDTH)
    high = max(grip[2], floor + hand.HALF_WIDTH + 0.05) if over else grip[2]

    def wp(
        p: np.ndarray, grip_cmd: float, label: str, speed: float = 0.25, hold: float = 0.0
    ) -> Waypoint:
        return Waypoint(
            (float(p[0]), float(p[1]), float(p[2])),
            yaw,
            grip_cmd,
            label,
            speed_m_s=speed,
            min_s=0.1 if hold else 0.3,
            hold_s=hold,
            tilt=TILT,
            roll=roll,
        )

    return [
        wp(np.array([pre[0], pre[1], high]), 1.0, "approach", speed=0.4),
        wp(pre, 1.0, "descend", speed=0.2),
        wp(grip, 1.0, "reach", speed=0.08),
        wp(grip, 0.0, "grasp", hold=0.6),
        wp(end, 0.0, "pull" if move >= 0 else "push", speed=PULL_SPEED),
        wp(end, 1.0, "release", hold=0.4),
        wp(out, 1.0, "retreat", speed=0.15),
        wp(out + np.array([0.0, 0.0, RISE]), 1.0, "clear", speed=0.15),
    ]


class OpenDrawerExpert(Expert):
    """Pull a drawer open by its handle."""

    kind = "open_drawer"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints: in front of the handle, in, close, pull, release, out."""
        pos, d, travel = _handle(world)
        return slide_plan(world, pos, d, travel)


class CloseDrawerExpert(Expert):
    """Push a drawer closed by its handle."""

    kind = "close_drawer"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints: in front of the handle, in, close, push home, release, out."""
        pos, d, travel = _handle(world)
        return slide_plan(world, pos, d, -(travel + CLOSE_PAST))
