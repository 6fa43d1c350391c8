"""The episode metrics of N worlds, measured for all of them after every control step.

The same quantities :func:`bp_episodes.episode.run_episode` measures, from the same
definitions: joint-limit and velocity violations (``JOINT_LIMIT_TOL``, ``VELOCITY_LIMITS``),
robot–environment collisions and penetration from the contact list (the pedestal ignored,
the gripper on the task's object a touch, not a collision), slips and drops of a held
object (``SLIP_M``), the IK's worst error — as array code over worlds and contacts. What the
success predicates read (object position, speed, gripper touch, joint fraction) is kept per
frame; at the episode's end :func:`bp_contracts.tasks.all_hold` — the one implementation —
judges every frame, and ``metrics.path_and_jerk``/``metrics.quality`` finish the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from bp_contracts.tasks import JOINT_RANGE_EPS, ObjectFrame, Region, TaskSpec, all_hold
from numpy.typing import NDArray

from bp_episodes.batched.recording import FrameBuffers
from bp_episodes.batched.worlds import ContactArrays, geom_mask
from bp_episodes.measure import JOINT_LIMIT_TOL, SLIP_M
from bp_episodes.metrics import EpisodeMetrics
from bp_episodes.scene import VELOCITY_LIMITS, SceneHandles

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
CARRY_PHASES: Final = ("lift", "carry", "lower")  # run_episode's held-object phases
MAX_PAIRS: Final = 20  # collision pairs named per episode (run_episode's cut)


@dataclass(frozen=True)
class StepInput:
    """What one control step gives the measurement, for the live worlds ``rows``."""

    rows: I64
    frame: I64  # each row's frame index
    qpos: F64  # N × nq after the step
    qvel: F64
    contacts: ContactArrays
    obj_pos: F64  # N × 3, each world's task object
    site_z: F64  # N, hand site height
    carrying: B  # per row: a held-object phase with the gripper closing (grip < 0.5)
    ik_err: F64  # per row: the IK's position error of this step's action


class Measure:
    """Running metrics of N worlds; a world's are reset when it starts an episode."""

    def __init__(self, h: SceneHandles, num_worlds: int, dt: float) -> None:
        self.h, self.n, self.dt = h, num_worlds, dt
        ngeom = int(h.model.ngeom)
        self.ngeom = ngeom
        self.is_robot = geom_mask(ngeom, h.robot_geoms)
        self.is_gripper = geom_mask(ngeom, h.gripper_geoms)
        self.is_ignored = geom_mask(ngeom, h.ignore_geoms)
        self.handled = np.zeros((num_worlds, ngeom), dtype=bool)  # each world's task object
        self.counts = np.zeros((num_worlds, 5), dtype=np.int64)  # limit, vel, coll, slip, drop
        self.max_pen = np.zeros(num_worlds)
        self.ik_max = np.zeros(num_worlds)
        self.prev_pos = np.zeros((num_worlds, 3))
        self.grip_offset = np.full(num_worlds, np.nan)
        self.joint = np.full((num_worlds, 3), np.nan)  # qpos address, lo, span of the task joint
        self.history = FrameBuffers(num_worlds)
        self._pairs: list[I64] = []  # (world, episode serial, pair code) rows
        self.serial = np.zeros(num_worlds, dtype=np.int64)

    def start(self, world: int, task: TaskSpec, start_pos: F64, serial: int, frames: int) -> None:
        """Reset world ``world``'s metrics for a new episode of ``task``."""
        h = self.h
        self.handled[world] = geom_mask(self.ngeom, h.object_geoms[task.object])
        self.counts[world] = 0
        self.max_pen[world] = self.ik_max[world] = 0.0
        self.prev_pos[world] = start_pos
        self.grip_offset[world] = np.nan
        joint = h.joints.get(task.object)
        self.joint[world] = np.nan
        if joint is not None:
            adr, lo, hi = joint
            self.joint[world] = (adr, lo, max(hi - lo, JOINT_RANGE_EPS))
        self.serial[world] = serial
        self.history.reserve(frames)

    def step(self, s: StepInput) -> B:
        """Measure one step for the worlds ``s.rows``; returns which rows went non-finite
        (measured no further: run_episode stops there)."""
        h = self.h
        self.ik_max[s.rows] = np.maximum(self.ik_max[s.rows], s.ik_err)
        q, v = s.qpos[s.rows], s.qvel[s.rows]
        bad = ~(np.all(np.isfinite(q), axis=1) & np.all(np.isfinite(v), axis=1))
        ok = ~bad
        rows, frame, q, v = s.rows[ok], s.frame[ok], q[ok], v[ok]
        arm_q = q[:, h.arm_qadr]
        lo, hi = h.arm_range[:, 0], h.arm_range[:, 1]
        limits = np.any((arm_q < lo - JOINT_LIMIT_TOL) | (arm_q > hi + JOINT_LIMIT_TOL), axis=1)
        fast = np.any(np.abs(v[:, h.arm_dadr]) > np.asarray(VELOCITY_LIMITS), axis=1)
        touching, hit = self._contacts(s.contacts, rows)
        pos = s.obj_pos[rows]
        speed = np.linalg.norm(pos - self.prev_pos[rows], axis=1) / self.dt
        self.prev_pos[rows] = pos
        slips, drops = self._held(rows, s.site_z[rows] - pos[:, 2], s.carrying[ok], touching)
        self.counts[rows] += np.stack([limits, fast, hit, slips, drops], axis=1)
        hist = self.history
        hist.write("pos", rows, frame, pos)
        hist.write("speed", rows, frame, speed)
        hist.write("touching", rows, frame, touching)
        hist.write("fraction", rows, frame, self._fraction(rows, q))
        return np.asarray(bad, dtype=bool)

    def _contacts(self, c: ContactArrays, rows: I64) -> tuple[B, B]:
        """Per row: the gripper touches the task object; a robot link meets the scene.
        Penetration counts every contact; hit pairs are kept for the episode's record."""
        live = np.zeros(self.n, dtype=bool)
        live[rows] = True
        sel = live[c.world]
        w, g1, g2 = c.world[sel], c.geom1[sel], c.geom2[sel]
        np.maximum.at(self.max_pen, w, -c.dist[sel])
        r1, r2 = self.is_robot[g1], self.is_robot[g2]
        rg, other = np.where(r1, g1, g2), np.where(r1, g2, g1)
        cross = (r1 != r2) & ~self.is_ignored[other]
        touch = cross & self.is_gripper[rg] & self.handled[w, other]
        hit = cross & ~touch
        touching = np.zeros(self.n, dtype=bool)
        touching[w[touch]] = True
        hits = np.zeros(self.n, dtype=bool)
        hits[w[hit]] = True
        if np.any(hit):
            codes = rg[hit] * self.ngeom + other[hit]
            self._pairs.append(np.stack([w[hit], self.serial[w[hit]], codes], axis=1))
        return touching[rows], hits[rows]

    def _held(self, rows: I64, offset: F64, carrying: B, touching: B) -> tuple[B, B]:
        """Slips (still touching) and drops (not) of a held object: the hand rose more than
        ``SLIP_M`` above the object since the grip or the last slip."""
        first = carrying & np.isnan(self.grip_offset[rows])
        gone = carrying & ~first & (offset - self.grip_offset[rows] > SLIP_M)
        self.grip_offset[rows] = np.where(first | gone, offset, self.grip_offset[rows])
        return gone & touching, gone & ~touching

    def _fraction(self, rows: I64, q: F64) -> F64:
        """Each row's task joint as a fraction of its range (NaN without one)."""
        j = self.joint[rows]
        has = ~np.isnan(j[:, 0])
        adr = np.where(has, j[:, 0], 0).astype(np.int64)
        value = q[np.arange(len(rows)), adr]
        return np.where(has, (value - j[:, 1]) / np.where(has, j[:, 2], 1.0), np.nan)

    def pairs(self, world: int) -> list[str]:
        """The collision pairs of world ``world``'s current episode, named and sorted (and
        forgotten)."""
        if not self._pairs:
            return []
        rows = np.concatenate(self._pairs)
        mine = (rows[:, 0] == world) & (rows[:, 1] == self.serial[world])
        self._pairs = [rows[~mine]] if np.any(~mine) else []
        m = self.h.model
        names = {
            f"{m.geom(int(c) // self.ngeom).name} / {m.geom(int(c) % self.ngeom).name}"
            for c in np.unique(rows[mine, 2])
        }
        return sorted(names)[:MAX_PAIRS]

    def finish(self, world: int, frames: int, met: EpisodeMetrics) -> None:
        """Copy world ``world``'s counts into ``met``."""
        c = self.counts[world]
        met.joint_limit_violations, met.velocity_violations = int(c[0]), int(c[1])
        met.collision_frames, met.slips, met.drops = int(c[2]), int(c[3]), int(c[4])
        met.max_penetration_m = float(self.max_pen[world])
        met.ik_max_error_m = float(self.ik_max[world])
        met.collision_pairs = self.pairs(world)

    def success_since(
        self, world: int, frames: int, task: TaskSpec, start: F64, target: Region | None
    ) -> int | None:
        """The frame from which every predicate held to the end (None: not at the end),
        each frame judged by :func:`bp_contracts.tasks.all_hold`."""
        hist = self.history.take(world, frames)
        since: int | None = None
        for k in range(frames):
            frac = float(hist["fraction"][k])
            frame = ObjectFrame(
                hist["pos"][k],
                start,
                float(hist["speed"][k]),
                bool(hist["touching"][k]),
                None if np.isnan(frac) else frac,
            )
            if all_hold(task.success, frame, target):
                since = k + 1 if since is None else since
            else:
                since = None
        return since
