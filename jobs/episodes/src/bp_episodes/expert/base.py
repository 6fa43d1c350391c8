"""The scripted expert's small base: waypoints, a follower, and what a planner may see.

An expert plans a list of :class:`Waypoint` from the world as it is at reset (object
poses, sizes, support heights, obstacles, the target region); the follower turns them
into an end-effector pose and a gripper command for any time ``t``; IK turns the pose
into joint targets. Planners are pure functions of their inputs: same world, same plan.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from bp_sdk.schemas import Region, SimObject, TaskSpec
from numpy.typing import NDArray

F64 = NDArray[np.float64]


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


@dataclass(frozen=True)
class World:
    """What a planner may use: the task, the objects at reset, the hand's start."""

    task: TaskSpec
    target: Region | None
    objects: dict[str, ObjectState]
    hand_start: tuple[float, float, float]
    hand_yaw: float
    extras: dict[str, float] = field(default_factory=dict)

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


class Expert(ABC):
    """A scripted policy for one kind of task."""

    kind: str

    @abstractmethod
    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints from the start pose to the end of the task."""


@dataclass
class Follower:
    """Turns waypoints into a time-indexed hand pose and gripper command."""

    start: tuple[float, float, float]
    start_yaw: float
    start_gripper: float
    waypoints: list[Waypoint]
    _segments: list[
        tuple[float, float, float, Waypoint, tuple[float, float, float], float, float]
    ] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = 0.0
        prev, prev_yaw, prev_grip = self.start, self.start_yaw, self.start_gripper
        for wp in self.waypoints:
            dist = math.dist(prev, wp.pos)
            turn = abs(_wrap(wp.yaw - prev_yaw))
            move = max(wp.min_s, dist / wp.speed_m_s, turn / 1.5)
            self._segments.append(
                (t, t + move, t + move + wp.hold_s, wp, prev, prev_yaw, prev_grip)
            )
            t += move + wp.hold_s
            prev, prev_yaw, prev_grip = wp.pos, wp.yaw, wp.gripper
        self.duration = t

    def at(self, t: float) -> tuple[F64, float, float, str]:
        """Hand position, yaw, gripper command and phase label at time ``t``."""
        for start, arrive, leave, wp, p0, y0, g0 in self._segments:
            if t <= leave:
                s = 1.0 if t >= arrive else max(0.0, (t - start) / max(arrive - start, 1e-9))
                s = s * s * (3 - 2 * s)  # smoothstep: zero velocity at both ends
                pos = np.array(p0) + s * (np.array(wp.pos) - np.array(p0))
                yaw = y0 + s * _wrap(wp.yaw - y0)
                grip = wp.gripper if t >= start else g0
                return pos, yaw, grip, wp.label
        last = self.waypoints[-1] if self.waypoints else None
        if last is None:
            return np.array(self.start), self.start_yaw, self.start_gripper, "done"
        return np.array(last.pos), last.yaw, last.gripper, "done"


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
