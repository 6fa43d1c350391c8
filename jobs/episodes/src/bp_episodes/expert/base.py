"""The scripted expert's small base: waypoints, a follower, and what a planner may see.

An expert plans a list of :class:`Waypoint` from the world as it is at reset (object
poses, sizes, support heights, obstacle boxes, the target region); the follower turns them
into an end-effector pose and a gripper command for any time ``t``; IK turns the pose
into joint targets. Planners are pure functions of their inputs: same world, same plan.

The hand's orientation is a yaw about world z and a tilt about the fingers' closing axis
(:func:`bp_episodes.expert.ik.hand_quat`): tilt 0 points the fingers down (top grasps),
tilt π/2 points them horizontally (side grasps, door handles), the wrist above the hand.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from bp_contracts.simready import SimObject
from bp_contracts.tasks import Region, TaskSpec
from numpy.typing import NDArray

from bp_episodes.expert.ik import hand_quat
from bp_episodes.expert.obstacles import Box, ceiling_over, floor_under, in_strip

F64 = NDArray[np.float64]
Ease = Literal["both", "in", "out", "none"]
TRACK_POS_TOL = 0.015  # a plan the IK follows within these errors is kinematically sound
TRACK_ROT_TOL = 0.15


@dataclass(frozen=True)
class Tracking:
    """How the arm follows a plan kinematically (``track.py``): worst IK errors and the
    robot links that would meet the scene on the way."""

    pos_err_m: float = 0.0
    rot_err_rad: float = 0.0
    hits: int = 0  # checked poses where a robot link penetrates the scene
    first_hit: str = ""  # "t=…s link / geom" of the first

    @property
    def ok(self) -> bool:
        """Within ``TRACK_POS_TOL``/``TRACK_ROT_TOL`` and touching nothing it should not."""
        return (
            self.pos_err_m <= TRACK_POS_TOL and self.rot_err_rad <= TRACK_ROT_TOL and not self.hits
        )

    @property
    def score(self) -> float:
        """Lower is better: metres of error, 0.1 m per radian, 0.05 m per colliding pose."""
        return self.pos_err_m + 0.1 * self.rot_err_rad + 0.05 * self.hits


@dataclass(frozen=True)
class Waypoint:
    """Where the hand should be at the end of a segment, and the gripper command."""

    pos: tuple[float, float, float]
    yaw: float
    gripper: float  # 0 closed .. 1 open
    label: str
    speed_m_s: float = 0.25
    min_s: float = 0.3
    hold_s: float = 0.0  # wait at the waypoint afterwards (e.g. for the fingers to close)
    tilt: float = 0.0  # 0: fingers down; pi/2: fingers horizontal (see ik.hand_quat)
    roll: float = 0.0  # about the fingers; pi/2 with tilt pi/2: closing vertically
    # velocity profile of the segment: "both" starts and stops at rest; a chain of "in",
    # "none"..., "out" moves through the inner waypoints at speed_m_s (arcs)
    ease: Ease = "both"


@dataclass(frozen=True)
class ObjectState:
    """An object as the planner sees it at reset."""

    obj: SimObject
    pos: tuple[float, float, float]
    quat: tuple[float, float, float, float]

    @property
    def yaw(self) -> float:
        """Heading of the object's x axis about world z."""
        w, x, y, z = self.quat
        return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))

    @property
    def top_z(self) -> float:
        """Height of the object's top (upright objects)."""
        return self.pos[2] + self.obj.size_m[2] / 2

    @property
    def bottom_z(self) -> float:
        """Height of the object's bottom (upright objects)."""
        return self.pos[2] - self.obj.size_m[2] / 2


@dataclass(frozen=True)
class World:
    """What a planner may use: the task, the objects at reset, the hand's start."""

    task: TaskSpec
    target: Region | None
    objects: dict[str, ObjectState]
    hand_start: tuple[float, float, float]
    hand_yaw: float
    extras: dict[str, float] = field(default_factory=dict)
    boxes: tuple[Box, ...] = ()  # collision geometry at reset (obstacles.boxes_from_model)
    # how the arm follows a list of waypoints (track.py); None: assume it does
    track: Callable[[list[Waypoint]], Tracking] | None = None

    def tracking(self, waypoints: list[Waypoint]) -> Tracking:
        """How well the arm follows ``waypoints`` kinematically (perfectly without a tracker)."""
        return Tracking() if self.track is None else self.track(waypoints)

    def trackable(self, waypoints: list[Waypoint]) -> bool:
        """Whether the arm follows ``waypoints`` within tolerance and without collisions."""
        # a tracker with a follows method answers it, stopping at the first bad pose
        follows = getattr(self.track, "follows", None)
        if follows is not None:
            return bool(follows(waypoints))
        return self.tracking(waypoints).ok

    def tallest_between(
        self, a: tuple[float, float], b: tuple[float, float], skip: str, width: float = 0.15
    ) -> float:
        """Top height of the tallest object whose centre lies within ``width`` of segment a→b."""
        ax, ay = a
        bx, by = b
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy or 1e-9
        top = 0.0
        for oid, st in self.objects.items():
            if oid == skip:
                continue
            px, py = st.pos[0] - ax, st.pos[1] - ay
            t = max(0.0, min(1.0, (px * dx + py * dy) / length2))
            ex, ey = px - t * dx, py - t * dy
            if math.hypot(ex, ey) <= width + max(st.obj.size_m[0], st.obj.size_m[1]) / 2:
                top = max(top, st.top_z)
        return top

    def floor(
        self,
        a: tuple[float, float],
        b: tuple[float, float],
        below: float,
        skip: tuple[str, ...] = (),
        width: float = 0.06,
    ) -> float:
        """Highest box top near segment a→b among boxes starting below ``below`` (the
        objects' own boxes when the world has no collision boxes)."""
        if self.boxes:
            return floor_under(self.boxes, a, b, width, below, skip)
        return self.tallest_between(a, b, skip=skip[0] if skip else "", width=width)

    def ceiling(
        self,
        a: tuple[float, float],
        b: tuple[float, float],
        above: float,
        skip: tuple[str, ...] = (),
        width: float = 0.06,
    ) -> float:
        """Lowest box bottom near segment a→b among boxes starting at or over ``above``."""
        return ceiling_over(self.boxes, a, b, width, above, skip)

    def blocked(
        self,
        a: tuple[float, float],
        b: tuple[float, float],
        half_width: float,
        z_lo: float,
        z_hi: float,
        skip: tuple[str, ...] = (),
    ) -> bool:
        """Whether a box meets the slab over the rectangle a→b (± ``half_width``) between
        heights ``z_lo`` and ``z_hi``."""
        return bool(in_strip(self.boxes, a, b, half_width, z_lo, z_hi, skip))

    @property
    def base_xy(self) -> tuple[float, float]:
        """The robot base's position seen from above (the hand's start without it)."""
        e = self.extras
        if "base_x" in e and "base_y" in e:
            return e["base_x"], e["base_y"]
        return self.hand_start[0], self.hand_start[1]


class Expert(ABC):
    """A scripted policy for one kind of task."""

    kind: str

    @abstractmethod
    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints from the start pose to the end of the task."""


@dataclass(frozen=True)
class _Segment:
    start: float
    arrive: float
    leave: float
    wp: Waypoint
    pos0: tuple[float, float, float]
    yaw0: float
    tilt0: float
    roll0: float
    grip0: float


# time a segment takes with each profile, relative to moving at constant speed: smoothstep
# peaks at 1.5x the mean speed; a half profile (s^2) ends (or starts) at 2x its mean speed
_TIME_FACTOR = {"both": 1.0, "in": 2.0, "out": 2.0, "none": 1.0}


def _profile(s: float, ease: Ease) -> float:
    if ease == "both":
        return s * s * (3 - 2 * s)  # smoothstep: zero velocity at both ends
    if ease == "in":
        return s * s  # from rest to speed
    if ease == "out":
        return s * (2 - s)  # from speed to rest
    return s


@dataclass
class Follower:
    """Turns waypoints into a time-indexed hand pose and gripper command."""

    start: tuple[float, float, float]
    start_yaw: float
    start_gripper: float
    waypoints: list[Waypoint]
    start_tilt: float = 0.0
    start_roll: float = 0.0
    _segments: list[_Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = 0.0
        prev, prev_yaw, prev_grip = self.start, self.start_yaw, self.start_gripper
        prev_tilt, prev_roll = self.start_tilt, self.start_roll
        for wp in self.waypoints:
            dist = math.dist(prev, wp.pos)
            turn = max(
                abs(_wrap(wp.yaw - prev_yaw)), abs(wp.tilt - prev_tilt), abs(wp.roll - prev_roll)
            )
            move = max(wp.min_s, dist / wp.speed_m_s * _TIME_FACTOR[wp.ease], turn / 1.5)
            self._segments.append(
                _Segment(
                    t,
                    t + move,
                    t + move + wp.hold_s,
                    wp,
                    prev,
                    prev_yaw,
                    prev_tilt,
                    prev_roll,
                    prev_grip,
                )
            )
            t += move + wp.hold_s
            prev, prev_yaw, prev_grip = wp.pos, wp.yaw, wp.gripper
            prev_tilt, prev_roll = wp.tilt, wp.roll
        self.duration = t

    def segment_end(self, i: int) -> float:
        """Time the hand leaves waypoint ``i`` (its hold included)."""
        return self._segments[i].leave

    def state(self, t: float) -> tuple[F64, tuple[float, float, float], float, str]:
        """Hand position, orientation (yaw, tilt, roll), gripper command and phase label."""
        for seg in self._segments:
            if t <= seg.leave:
                wp = seg.wp
                span = max(seg.arrive - seg.start, 1e-9)
                s = 1.0 if t >= seg.arrive else max(0.0, (t - seg.start) / span)
                s = _profile(s, wp.ease)
                pos = np.array(seg.pos0) + s * (np.array(wp.pos) - np.array(seg.pos0))
                yaw = seg.yaw0 + s * _wrap(wp.yaw - seg.yaw0)
                tilt = seg.tilt0 + s * (wp.tilt - seg.tilt0)
                roll = seg.roll0 + s * (wp.roll - seg.roll0)
                grip = wp.gripper if t >= seg.start else seg.grip0
                return pos, (yaw, tilt, roll), grip, wp.label
        last = self.waypoints[-1] if self.waypoints else None
        if last is None:
            orient = (self.start_yaw, self.start_tilt, self.start_roll)
            return np.array(self.start), orient, self.start_gripper, "done"
        return np.array(last.pos), (last.yaw, last.tilt, last.roll), last.gripper, "done"

    def at(self, t: float) -> tuple[F64, float, float, str]:
        """Hand position, yaw, gripper command and phase label at time ``t``."""
        pos, orient, grip, label = self.state(t)
        return pos, orient[0], grip, label

    def pose(self, t: float) -> tuple[F64, F64, float, str]:
        """Hand position, orientation (quaternion wxyz), gripper command and phase label."""
        pos, orient, grip, label = self.state(t)
        return pos, hand_quat(*orient), grip, label


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def grasp_yaw(state: ObjectState, hand_yaw: float) -> float:
    """Hand yaw that closes the fingers across the object's narrower horizontal side,
    chosen among the equivalent half-turns nearest the hand's current yaw."""
    sx, sy = state.obj.size_m[0], state.obj.size_m[1]
    # the Panda's fingers close along the grip site's x axis, i.e. at angle ``yaw`` in the
    # world (see ik.down_quat): point it along the object's narrower side
    base = state.yaw + (0.0 if sx <= sy else math.pi / 2)
    options = [base + k * math.pi for k in (-2, -1, 0, 1, 2)]
    return min(options, key=lambda y: abs(_wrap(y - hand_yaw)) + abs(y - hand_yaw) * 1e-3)
