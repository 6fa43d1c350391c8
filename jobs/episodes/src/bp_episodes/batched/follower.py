"""The expert's phase machine over N worlds: each world's plan as rows of segment arrays, a
phase index per world, and the hand pose and gripper command for every world at once.

A plan is the segments :class:`bp_episodes.expert.base.Follower` makes of its waypoints
(the same timing, one definition); loading it fills one world's row. At each control step
every world's phase advances past the segments whose end (arrival + hold) lies before its
own time — a vectorised transition — and the pose is interpolated within the phase with the
segment's velocity profile, exactly as ``Follower.state`` does. A world past its last
segment is in the terminal phase ``done`` and holds the last waypoint.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Final

import numpy as np

from bp_episodes.batched.arrays import hand_quat
from bp_episodes.expert.base import Follower, _wrap

Array = Any
DONE: Final = "done"
EASES: Final = ("both", "in", "out", "none")
_SCALARS: Final = ("start", "arrive", "leave", "yaw0", "dyaw", "tilt0", "dtilt", "roll0")
_MORE: Final = ("droll", "grip0", "grip1")


class PhaseMachine:
    """Plans of N worlds as padded segment arrays, and each world's current phase."""

    def __init__(self, num_worlds: int, xp: ModuleType = np) -> None:
        self.xp = xp
        self.n = num_worlds
        self.labels: list[str] = [DONE]  # label id → phase label; 0 is the terminal phase
        self.phase = xp.zeros(num_worlds, dtype=xp.int64)
        self.count = xp.zeros(num_worlds, dtype=xp.int64)  # segments per world
        self.final = xp.zeros((num_worlds, 7))  # held when done: pos, yaw, tilt, roll, grip
        self._width = 0
        self.seg: dict[str, Array] = {}
        self._grow(1)

    def label_id(self, label: str) -> int:
        """The id of a phase label (new labels are added)."""
        if label not in self.labels:
            self.labels.append(label)
        return self.labels.index(label)

    def load(self, world: int, follower: Follower) -> None:
        """Put ``follower``'s plan in row ``world`` and start it in its first phase."""
        segments = follower._segments
        self._grow(len(segments))
        for key, a in self.seg.items():
            a[world] = 0 if key in ("ease", "label") else np.inf if key == "leave" else 0.0
        for i, sg in enumerate(segments):
            wp = sg.wp
            row = {
                "start": sg.start,
                "arrive": sg.arrive,
                "leave": sg.leave,
                "yaw0": sg.yaw0,
                "dyaw": _wrap(wp.yaw - sg.yaw0),
                "tilt0": sg.tilt0,
                "dtilt": wp.tilt - sg.tilt0,
                "roll0": sg.roll0,
                "droll": wp.roll - sg.roll0,
                "grip0": sg.grip0,
                "grip1": wp.gripper,
                "ease": EASES.index(wp.ease),
                "label": self.label_id(wp.label),
            }
            for key, v in row.items():
                self.seg[key][world, i] = v
            self.seg["pos0"][world, i] = np.array(sg.pos0)
            self.seg["dpos"][world, i] = np.array(wp.pos) - np.array(sg.pos0)
        self.count[world] = len(segments)
        self.phase[world] = 0
        f = follower
        end: list[float] = [*f.start, f.start_yaw, f.start_tilt, f.start_roll, f.start_gripper]
        if segments:
            last = segments[-1].wp
            end = [*last.pos, last.yaw, last.tilt, last.roll, last.gripper]
        self.final[world] = self.xp.asarray(np.array(end, dtype=np.float64))

    def advance(self, t: Array, rows: Array) -> None:
        """Move each world of ``rows`` past the segments that ended before its time ``t``."""
        xp = self.xp
        while True:
            cur = xp.minimum(self.phase[rows], self._width - 1)
            ended = (self.phase[rows] < self.count[rows]) & (t > self.seg["leave"][rows, cur])
            if not bool(xp.any(ended)):
                return
            self.phase[rows] = self.phase[rows] + ended

    def command(self, t: Array, rows: Array) -> tuple[Array, Array, Array, Array]:
        """Hand position (R × 3), orientation (R × 4 wxyz), gripper command (R,) and phase
        label id (R,) of the worlds ``rows`` at their times ``t`` (call :meth:`advance` first)."""
        xp = self.xp
        ph = self.phase[rows]
        done = ph >= self.count[rows]
        i = xp.minimum(ph, self._width - 1)
        g = {k: a[rows, i] for k, a in self.seg.items()}
        span = xp.maximum(g["arrive"] - g["start"], 1e-9)
        s = xp.where(t >= g["arrive"], 1.0, xp.maximum(0.0, (t - g["start"]) / span))
        s = _profile(s, g["ease"], xp)
        pos = g["pos0"] + s[:, None] * g["dpos"]
        yaw = g["yaw0"] + s * g["dyaw"]
        tilt = g["tilt0"] + s * g["dtilt"]
        roll = g["roll0"] + s * g["droll"]
        grip = xp.where(t >= g["start"], g["grip1"], g["grip0"])
        f = self.final[rows]
        pos = xp.where(done[:, None], f[:, :3], pos)
        yaw, tilt, roll = (xp.where(done, f[:, k], v) for k, v in ((3, yaw), (4, tilt), (5, roll)))
        grip = xp.where(done, f[:, 6], grip)
        label = xp.where(done, 0, g["label"])
        return pos, hand_quat(yaw, tilt, roll, xp), grip, label

    def _grow(self, width: int) -> None:
        """Make room for ``width`` segments per world."""
        if width <= self._width:
            return
        xp, old = self.xp, self.seg
        new: dict[str, Array] = {k: xp.zeros((self.n, width)) for k in (*_SCALARS, *_MORE)}
        new["leave"][:] = xp.inf
        new["ease"] = xp.zeros((self.n, width), dtype=xp.int64)
        new["label"] = xp.zeros((self.n, width), dtype=xp.int64)
        new["pos0"] = xp.zeros((self.n, width, 3))
        new["dpos"] = xp.zeros((self.n, width, 3))
        for k, a in old.items():
            new[k][:, : self._width] = a
        self.seg, self._width = new, width


def _profile(s: Array, ease: Array, xp: ModuleType) -> Array:
    """The segments' velocity profiles (``base._profile``) by ease code."""
    both = s * s * (3 - 2 * s)
    return xp.where(
        ease == 0, both, xp.where(ease == 1, s * s, xp.where(ease == 2, s * (2 - s), s))
    )
