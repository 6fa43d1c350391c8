"""Open or close a hinged door by its handle, swinging it along the hinge arc.

The door's handle is a vertical bar on posts in front of the door panel. The hand, its
fingers towards the door (horizontal, or pitched down when the arm reaches that better)
and its wrist above, comes to a point in front of the handle, moves in until the bar is
between the fingertips, and closes across the bar. Grips are tried in order (``grips``)
and the first the arm can follow kinematically along the whole swing is used. It then follows the handle's arc about the hinge axis — waypoints every
``ARC_STEP_RAD`` from the current angle to the goal, each with the hand turned with the
door, passed through at constant speed — so the grasp turns with the door instead of
twisting against it. At the goal it opens, withdraws along the normal, and rises.

Open goes to the task's ``joint_at_least`` fraction plus ``OPEN_MARGIN``; close goes a
little past 0 (the carcass and the joint's limit stop the door), so the door is shut,
not just near shut. Success is the task's predicate on the joint angle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bp_episodes.expert import hand
from bp_episodes.expert.base import Ease, Expert, Waypoint, World
from bp_episodes.expert.ik import side_yaw

F64 = NDArray[np.float64]
ARC_STEP_RAD = math.radians(6.0)  # waypoint spacing along the arc
SWING_SPEED = 0.08  # m/s of the handle along the arc
OPEN_MARGIN = 0.08  # open this fraction of the range past the task's goal
CLOSE_PAST_RAD = 0.02  # aim this far past closed
STANDOFF = 0.10  # pre-grasp and retreat: site this far out along the normal
GRIP_INSET = 0.002  # site this far past the bar's centre (pads centred on the bar)
RISE = 0.06  # rise after withdrawing
TILTS = (1.0, math.pi / 2, 1.25)  # grips tried: pitched down (reaches best), horizontal
MAX_TURN = 0.2  # fingers turned this far from the door's normal still clear the panel


@dataclass(frozen=True)
class Hinge:
    """The door's hinge at reset, in the world."""

    anchor: F64
    axis: F64  # unit; the joint angle grows turning about it (right hand)
    angle: float
    lo: float
    hi: float
    handle: F64  # grasp point at ``angle``

    def handle_at(self, angle: float) -> F64:
        """The grasp point with the door at ``angle``."""
        return self.anchor + _rotate(self.handle - self.anchor, self.axis, angle - self.angle)

    def normal_at(self, angle: float) -> F64:
        """Outward unit normal of the door's front at ``angle`` (horizontal): the way the
        handle moves when the door opens."""
        t = np.cross(self.axis, self.handle_at(angle) - self.anchor)
        t[2] = 0.0
        return np.asarray(t / (float(np.linalg.norm(t)) or 1.0))


def hinge(world: World) -> Hinge:
    """The task object's hinge from the world's extras; a clear error when there is none."""
    e = world.extras
    need = ("hinge_x", "axis_x", "joint_q", "joint_lo", "joint_hi", "handle_x")
    missing = [k for k in need if k not in e]
    if missing:
        raise ValueError(
            f"task {world.task.task_id}: {world.task.object} has no hinge in the world "
            f"(missing {', '.join(missing)}); door experts need a hinged part"
        )
    axis = np.array([e["axis_x"], e["axis_y"], e["axis_z"]])
    if abs(axis[2]) < 0.9:
        raise ValueError(
            f"task {world.task.task_id}: the hinge axis {np.round(axis, 3).tolist()} is not "
            "vertical; the door expert swings doors about vertical hinges only"
        )
    return Hinge(
        anchor=np.array([e["hinge_x"], e["hinge_y"], e["hinge_z"]]),
        axis=axis / float(np.linalg.norm(axis)),
        angle=e["joint_q"],
        lo=e["joint_lo"],
        hi=e["joint_hi"],
        handle=np.array([e["handle_x"], e["handle_y"], e["handle_z"]]),
    )


def _rotate(v: F64, axis: F64, angle: float) -> F64:
    """Rodrigues: ``v`` turned ``angle`` about unit ``axis``."""
    c, s = math.cos(angle), math.sin(angle)
    return np.asarray(v * c + np.cross(axis, v) * s + axis * float(axis @ v) * (1 - c))


def _goal_fraction(world: World, kind: str, default: float) -> float:
    for p in world.task.success:
        if p.kind == kind and p.value is not None:
            return float(p.value)
    return default


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


@dataclass(frozen=True)
class Grip:
    """How the hand holds the bar: ``tilt`` (π/2 horizontal; less, the fingers pitched down
    towards the bar, which the wrist reaches lower with) and ``turn`` about the vertical away
    from the door's normal (the fingers clear the panel up to ~``MAX_TURN``)."""

    tilt: float
    turn: float

    def yaw(self, normal: F64, prev: float) -> float:
        """Hand yaw for a door whose front faces ``normal``, nearest ``prev``."""
        approach = math.atan2(-normal[1], -normal[0]) + self.turn
        yaw = side_yaw(approach, self.tilt)
        return yaw + 2 * math.pi * round((prev - yaw) / (2 * math.pi))

    def fingers(self, normal: F64) -> F64:
        """Unit direction of the fingers for a door whose front faces ``normal``."""
        c, s = math.cos(self.turn), math.sin(self.turn)
        h = np.array([-normal[0] * c + normal[1] * s, -normal[0] * s - normal[1] * c, 0.0])
        return np.asarray(h * math.sin(self.tilt) + np.array([0.0, 0.0, -math.cos(self.tilt)]))


def grips(world: World, hg: Hinge) -> list[Grip]:
    """Grips to try, best first: horizontal and straight at the door first, then turned
    towards the side the arm reaches a horizontal hand best from, then pitched down."""
    bx, by = world.base_xy
    radial = math.atan2(hg.handle[1] - by, hg.handle[0] - bx)
    side = _wrap(radial - world.extras.get("base_yaw", radial))
    preferred = radial + (hand.OUTWARD if side >= 0 else -hand.OUTWARD)
    n0 = hg.normal_at(hg.angle)
    straight = math.atan2(-n0[1], -n0[0])
    towards = MAX_TURN if _wrap(preferred - straight) >= 0 else -MAX_TURN
    return [Grip(t, turn) for t in TILTS for turn in (0.0, towards)]


def swing_plan(world: World, hg: Hinge, goal: float, grip: Grip) -> list[Waypoint]:
    """Grasp the handle, follow its arc from the current angle to ``goal``, let go, withdraw."""
    tilt = grip.tilt

    def wp(
        p: F64, yaw: float, g: float, label: str, speed: float = 0.25, hold: float = 0.0
    ) -> Waypoint:
        return Waypoint(
            (float(p[0]), float(p[1]), float(p[2])),
            yaw,
            g,
            label,
            speed_m_s=speed,
            min_s=0.1 if hold else 0.3,
            hold_s=hold,
            tilt=tilt,
        )

    n0 = hg.normal_at(hg.angle)
    f0 = grip.fingers(n0)
    site = hg.handle + f0 * GRIP_INSET
    back = np.array([f0[0], f0[1], 0.0])
    back /= float(np.linalg.norm(back)) or 1.0
    pre = site - back * STANDOFF
    yaw = grip.yaw(n0, world.hand_yaw)
    # come in at the handle's height, over whatever lies between the start and the pre-grasp
    skip: tuple[str, ...] = ()  # the part itself too: an open door or drawer is in the way
    floor = world.floor(world.hand_start[:2], (pre[0], pre[1]), site[2], skip, hand.HALF_WIDTH)
    high = max(site[2], floor + hand.SIDE_DOWN + 0.05)
    wps = [
        wp(np.array([pre[0], pre[1], high]), yaw, 1.0, "approach", speed=0.4),
        wp(pre, yaw, 1.0, "descend", speed=0.2),
        wp(site, yaw, 1.0, "reach", speed=0.08),
        wp(site, yaw, 0.0, "grasp", hold=0.6),
    ]
    steps = max(2, math.ceil(abs(goal - hg.angle) / ARC_STEP_RAD))
    for i in range(1, steps + 1):
        a = hg.angle + (goal - hg.angle) * i / steps
        n = hg.normal_at(a)
        p = hg.handle_at(a) + grip.fingers(n) * GRIP_INSET
        yaw = grip.yaw(n, yaw)
        ease: Ease = "in" if i == 1 else ("out" if i == steps else "none")
        wps.append(
            Waypoint(
                (float(p[0]), float(p[1]), float(p[2])),
                yaw,
                0.0,
                "swing",
                speed_m_s=SWING_SPEED,
                min_s=0.0,
                tilt=tilt,
                ease=ease,
            )
        )
    end = np.array(wps[-1].pos)
    n = hg.normal_at(goal)
    out = end + n * STANDOFF
    return [
        *wps,
        wp(end, yaw, 1.0, "release", hold=0.4),
        wp(out, yaw, 1.0, "retreat", speed=0.15),
        wp(out + np.array([0.0, 0.0, RISE]), yaw, 1.0, "clear", speed=0.15),
    ]


def best_swing(world: World, hg: Hinge, goal: float) -> list[Waypoint]:
    """The first grip whose swing the arm can follow; else the one it follows best."""
    best: tuple[float, list[Waypoint]] | None = None
    for grip in grips(world, hg):
        wps = swing_plan(world, hg, goal, grip)
        seen = world.tracking(wps)
        if seen.ok:
            return wps
        score = seen.score
        if best is None or score < best[0]:
            best = (score, wps)
    if best is None:  # pragma: no cover - grips() is never empty
        raise ValueError("no grip for the door handle")
    return best[1]


class OpenDoorExpert(Expert):
    """Pull a door open by its handle along the hinge arc."""

    kind = "open_door"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints: in front of the handle, in, close, swing open, release, out."""
        hg = hinge(world)
        frac = min(1.0, _goal_fraction(world, "joint_at_least", 0.8) + OPEN_MARGIN)
        return best_swing(world, hg, hg.lo + frac * (hg.hi - hg.lo))


class CloseDoorExpert(Expert):
    """Swing a door shut by its handle."""

    kind = "close_door"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints: in front of the handle, in, close, swing shut, release, out."""
        hg = hinge(world)
        return best_swing(world, hg, hg.lo - CLOSE_PAST_RAD)
