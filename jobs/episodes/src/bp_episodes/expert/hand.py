"""The Panda hand's size around its grip site, and where a side grasp can go.

Measured on the composed robot (robosuite's collision meshes, grip site at the fingertip
pads' centre): the palm is 0.031 m behind the site and reaches 0.123 m back, 0.10 m to
each side along the closing axis and 0.032 m across it; the fingertips reach 0.009 m past
the site; link 7 reaches 0.044 m across the closing axis 0.1–0.15 m behind the site, link 6
0.136 m on the wrist's side. With the hand tilted horizontal (tilt π/2, wrist above), that
is ~0.04 m below the site and ~0.15 m above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bp_episodes.expert.base import ObjectState, World

HALF_WIDTH = 0.105  # along the closing axis, palm and fingers
BACK = 0.15  # behind the site along the fingers: palm and wrist
TIP = 0.01  # fingertips past the site
PALM = 0.031  # palm face behind the site
SIDE_DOWN = 0.04  # below the site with the hand horizontal
SIDE_UP = 0.15  # above the site with the hand horizontal (link 6)
MAX_WIDTH = 0.074  # widest object across the fingers (0.08 opening, pads and margin)
FINGER_OPEN = 0.04  # each finger's travel from closed
FINGER_THICK = 0.026  # a finger's outer face beyond its inner face
SIDE_DEPTH = 0.024  # object's near face at most this far in front of the site (palm clear)
ROUND_PAST = 0.003  # site past a round object's axis
SIDE_BACKOFF = 0.06  # pre-grasp: fingertips this far from the object's near face
MAX_TURN = 1.4  # farthest a side approach turns from the preferred direction (rad)
OUTWARD = 0.35  # preferred side approach: turned this far outward from base→object (rad)


@dataclass(frozen=True)
class SideApproach:
    """Fingers horizontal along ``angle`` (world, rad), closing across the object."""

    angle: float
    depth: float  # object's extent along the approach
    round_: bool = False  # a cylinder or sphere: grip its widest chord

    @property
    def u(self) -> tuple[float, float]:
        """Unit approach direction seen from above."""
        return math.cos(self.angle), math.sin(self.angle)

    @property
    def inset(self) -> float:
        """How far short of the object's centre the site stops: flat sides are gripped with
        the pads wholly on them and the palm clear; a round object by its widest chord, the
        pads' centre (4 mm behind the site) on its axis — gripped nearer, the chord's normals
        squeeze it out of the fingers."""
        if self.round_:
            return -ROUND_PAST
        return max(0.0, self.depth / 2 - SIDE_DEPTH)

    def site_xy(self, centre: tuple[float, float]) -> tuple[float, float]:
        """Where the site goes for an object centred at ``centre``."""
        ux, uy = self.u
        return centre[0] - ux * self.inset, centre[1] - uy * self.inset

    def pre_xy(self, centre: tuple[float, float]) -> tuple[float, float]:
        """Pre-grasp site position, backed off from an object centred at ``centre``."""
        ux, uy = self.u
        back = self.depth / 2 + SIDE_BACKOFF
        return centre[0] - ux * back, centre[1] - uy * back

    def behind(self, xy: tuple[float, float], extra: float = 0.0) -> tuple[float, float]:
        """The point ``BACK + extra`` behind ``xy`` (where the wrist is)."""
        ux, uy = self.u
        return xy[0] - ux * (BACK + extra), xy[1] - uy * (BACK + extra)

    def ahead(self, xy: tuple[float, float]) -> tuple[float, float]:
        """The fingertips' reach in front of ``xy``."""
        ux, uy = self.u
        return xy[0] + ux * TIP, xy[1] + uy * TIP


def is_round(st: ObjectState) -> bool:
    """Whether the object is a single cylinder or sphere (any side approach fits it)."""
    parts = st.obj.parts
    return len(parts) == 1 and parts[0].shape in ("cylinder", "sphere")


def round_width(st: ObjectState) -> float:
    """Diameter of a round object's collision shape (its size box may be wider)."""
    return 2.0 * st.obj.parts[0].size[0]


def _preferred(world: World, xy: tuple[float, float]) -> tuple[float, float]:
    """Preferred side approach to ``xy`` and the sign of "outward".

    The Panda reaches a horizontal hand (wrist above) with joint 5 at its limit when the
    fingers point straight away from the base; turned ``OUTWARD`` further from the robot's
    forward axis than the base→object direction, joint 5 keeps ~0.3 rad of margin (IK
    measured on the composed robot, objects 0.5–0.65 m away, ±0.8 rad either side).
    """
    bx, by = world.base_xy
    radial = math.atan2(xy[1] - by, xy[0] - bx)
    outward = 1.0 if _wrap(radial - world.extras.get("base_yaw", radial)) >= 0 else -1.0
    return radial + outward * OUTWARD, outward


TURNS = (0.0, -0.15, 0.15, 0.3, -0.35, -0.55, -0.7)  # tried in this order, x outward


def side_approaches(world: World, st: ObjectState) -> list[SideApproach]:
    """Side approaches that fit the object between the fingers, best first."""
    preferred, outward = _preferred(world, (st.pos[0], st.pos[1]))
    sx, sy = st.obj.size_m[0], st.obj.size_m[1]
    if is_round(st):
        width = round_width(st)
        if width > MAX_WIDTH:
            return []
        return [SideApproach(preferred + outward * t, width, round_=True) for t in TURNS]
    out: list[SideApproach] = []
    for k in range(4):
        angle = st.yaw + k * math.pi / 2
        across, along = (sy, sx) if k % 2 == 0 else (sx, sy)
        turn = abs(_wrap(angle - preferred))
        if across <= MAX_WIDTH and turn <= MAX_TURN:
            out.append(SideApproach(preferred + _wrap(angle - preferred), along))
    return sorted(out, key=lambda a: abs(a.angle - preferred))


def place_approaches(
    world: World, xy: tuple[float, float], held: SideApproach
) -> list[SideApproach]:
    """Side approaches to put down, at ``xy``, an object held as ``held``: the hand may
    turn about the vertical while carrying (the object turns with it), so any direction
    fits; best first."""
    preferred, outward = _preferred(world, xy)
    return [SideApproach(preferred + outward * t, held.depth, held.round_) for t in TURNS]


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi
