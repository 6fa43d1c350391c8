"""Kinematic check of a plan: follow its waypoints with the IK alone, no dynamics.

A planner with several candidate plans (grasp heights, approach directions, grips) asks
the world how well the arm can follow each one — from the posture the episode starts in,
solving each pose from the last solution as the episode loop does — and keeps the first
that stays within tolerance. At every checked pose the whole robot (links, hand, fingers)
is also tested against the scene with MuJoCo's own collision detection, the scene frozen
as it is at reset: that is what tells a side grasp whose wrist would need more than joint
5's range, or a push whose forearm would cross a shelf's side panel, from one the arm can
really do.

The cheap path (the default) gives the exact path's answers within a stated tolerance
(``tests/episodes/test_planning_cost.py``) at a fraction of its cost:

* each pose is solved by :meth:`ArmIK.solve_fast` (the fixed point :meth:`ArmIK.solve`
  settles on, in a few Newton steps) from the last two solutions extrapolated;
* candidates share their poses: the gripper does not move the arm, and two plans with the
  same first waypoints pass the same poses until the first that differs, so those poses
  (solutions, errors, collisions) are reused within the episode, exactly;
* the collision test is MuJoCo's collision detection after kinematics alone, filtered
  with arrays.

``exact=True`` is the reference: 20 plain IK iterations from the last solution, a full
``mj_fwdPosition`` and a contact loop at every pose, nothing reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import mujoco
import numpy as np
from numpy.typing import NDArray

from bp_episodes.expert.base import TRACK_POS_TOL, TRACK_ROT_TOL, Follower, Tracking, Waypoint
from bp_episodes.expert.ik import ArmIK

F64 = NDArray[np.float64]
TRACK_DT = 0.1  # s between checked poses (the follower's path is smooth)
PENETRATION_TOL = 0.005  # m: deeper contacts of a robot geom count as collisions

Tracker = Callable[[list[Waypoint]], Tracking]
_Key = tuple[object, ...]


@dataclass(frozen=True)
class _Pose:
    """One checked pose: the arm's joints, the IK's errors and the first collision."""

    q: F64
    pos_err: float
    rot_err: float
    hit: str


def _kinematic_key(wp: Waypoint) -> _Key:
    """What of a waypoint moves the hand (and times the follower): not the gripper."""
    return (wp.pos, wp.yaw, wp.tilt, wp.roll, wp.speed_m_s, wp.min_s, wp.hold_s, wp.ease)


class ArmTracker:
    """Follows candidate plans with the IK from the episode's start (see :func:`make_tracker`)."""

    def __init__(
        self,
        ik: ArmIK,
        qpos: F64,
        start: tuple[float, float, float],
        start_yaw: float,
        robot_geoms: Iterable[int] = (),
        allowed: Iterable[int] = (),
        gripper_geoms: Iterable[int] = (),
        handled: Iterable[int] = (),
        *,
        exact: bool = False,
    ) -> None:
        self.ik = ik
        self.model = ik.model
        self.data = mujoco.MjData(ik.model)
        self.qpos = np.array(qpos, dtype=np.float64)
        self.start = start
        self.start_yaw = start_yaw
        self.exact = exact
        self.robot = frozenset(robot_geoms)
        self.ok = frozenset(allowed)
        self.gripper = frozenset(gripper_geoms)
        self.held = frozenset(handled)
        ng = self.model.ngeom
        self._robot_m = self._mask(self.robot, ng)
        self._ok_m = self._mask(self.ok, ng)
        self._gripper_m = self._mask(self.gripper, ng)
        self._held_m = self._mask(self.held, ng)
        self._seen: list[tuple[tuple[_Key, ...], list[_Pose]]] = []
        self.poses_solved = 0  # poses solved (not reused) so far (profiling)

    @staticmethod
    def _mask(ids: frozenset[int], n: int) -> NDArray[np.bool_]:
        m = np.zeros(n, dtype=bool)
        m[list(ids)] = True
        return m

    def __call__(self, waypoints: list[Waypoint]) -> Tracking:
        """Worst IK errors along ``waypoints`` and the poses where the robot meets the scene."""
        poses = self._follow(waypoints)
        hits = [p.hit for p in poses if p.hit]
        return Tracking(
            max((p.pos_err for p in poses), default=0.0),
            max((p.rot_err for p in poses), default=0.0),
            len(hits),
            hits[0] if hits else "",
        )

    def follows(self, waypoints: list[Waypoint]) -> bool:
        """``Tracking.ok`` for ``waypoints``, stopping at the first pose that fails it."""
        poses = self._follow(waypoints, until_bad=True)
        return not any(_bad(p) for p in poses)

    def joint_path(self, waypoints: list[Waypoint]) -> F64:
        """The arm's joints at every checked pose (every ``TRACK_DT``, then the end)."""
        return np.stack([p.q for p in self._follow(waypoints)])

    def _follow(self, waypoints: list[Waypoint], *, until_bad: bool = False) -> list[_Pose]:
        follower = Follower(self.start, self.start_yaw, 1.0, waypoints)
        keys = tuple(_kinematic_key(w) for w in waypoints)
        steps = int(np.ceil(follower.duration / TRACK_DT))
        reuse: list[_Pose] = []
        if not self.exact:
            reuse = self._reusable(keys, follower, steps)
            if len(reuse) == steps + 1 or (until_bad and any(_bad(p) for p in reuse)):
                return reuse
        poses = list(reuse)
        q = self.qpos.copy()
        ik = self.ik
        for k in range(len(poses), steps + 1):
            t = min(k * TRACK_DT, follower.duration)
            pos, quat, _, _ = follower.pose(t)
            if poses:
                q[ik.qadr] = poses[-1].q  # the exact path starts from the last solution
            if self.exact:
                sol = ik.solve(q, pos, quat)
            else:
                sol = ik.solve_fast(q, pos, quat, guess=_guess(poses, ik))
            q[ik.qadr] = sol.qpos
            self.poses_solved += 1
            poses.append(_Pose(sol.qpos, sol.pos_err_m, sol.rot_err_rad, self._hit(q, t)))
            if until_bad and _bad(poses[-1]):
                break
        if not self.exact:
            self._seen.append((keys, poses))
        return poses

    def _reusable(self, keys: tuple[_Key, ...], follower: Follower, steps: int) -> list[_Pose]:
        """Poses an earlier plan already checked, up to the end of the last waypoint shared."""
        best: list[_Pose] = []
        for seen_keys, seen in self._seen:
            n = 0
            for a, b in zip(keys, seen_keys, strict=False):
                if a != b:
                    break
                n += 1
            if n == 0:
                continue
            if n == len(keys) == len(seen_keys):
                share = seen  # the same motion (only the gripper differs), maybe cut short
            else:
                until = follower.segment_end(n - 1)
                share = [p for k, p in enumerate(seen[: steps + 1]) if k * TRACK_DT <= until]
            if len(share) > len(best):
                best = share
        return best

    def _hit(self, q: F64, t: float) -> str:
        """``t=…s link / geom`` of the first robot–scene contact deeper than the tolerance."""
        if not self.robot:
            return ""
        m, d = self.model, self.data
        d.qpos[:] = q
        if self.exact:
            mujoco.mj_fwdPosition(m, d)
            return self._hit_loop(t)
        mujoco.mj_kinematics(m, d)
        mujoco.mj_collision(m, d)
        n = d.ncon
        if not n:
            return ""
        geom = d.contact.geom[:n]
        g1, g2 = geom[:, 0], geom[:, 1]
        r1 = self._robot_m[g1]
        mine, other = np.where(r1, g1, g2), np.where(r1, g2, g1)
        sel = (r1 != self._robot_m[g2]) & (d.contact.dist[:n] <= -PENETRATION_TOL)
        sel &= ~self._ok_m[other] & ~(self._gripper_m[mine] & self._held_m[other])
        if not sel.any():
            return ""
        i = int(np.argmax(sel))
        return f"t={t:.1f}s {m.geom(int(mine[i])).name} / {m.geom(int(other[i])).name}"

    def _hit_loop(self, t: float) -> str:
        """The exact path's contact loop (the same answer as the arrays in :meth:`_hit`)."""
        m, d = self.model, self.data
        for c in d.contact[: d.ncon]:
            g1, g2 = int(c.geom1), int(c.geom2)
            if (g1 in self.robot) == (g2 in self.robot) or c.dist > -PENETRATION_TOL:
                continue
            mine, other = (g1, g2) if g1 in self.robot else (g2, g1)
            if other in self.ok or (mine in self.gripper and other in self.held):
                continue
            return f"t={t:.1f}s {m.geom(mine).name} / {m.geom(other).name}"
        return ""


def _bad(p: _Pose) -> bool:
    """Whether this pose alone makes a plan fail ``Tracking.ok``."""
    return p.pos_err > TRACK_POS_TOL or p.rot_err > TRACK_ROT_TOL or bool(p.hit)


def _guess(poses: list[_Pose], ik: ArmIK) -> F64 | None:
    """Where Newton steps start: the last two solutions extrapolated (the path is smooth)."""
    if len(poses) < 2:
        return None
    return np.clip(2.0 * poses[-1].q - poses[-2].q, ik.lo, ik.hi)


def make_tracker(
    ik: ArmIK,
    qpos: F64,
    start: tuple[float, float, float],
    start_yaw: float,
    robot_geoms: Iterable[int] = (),
    allowed: Iterable[int] = (),
    gripper_geoms: Iterable[int] = (),
    handled: Iterable[int] = (),
    *,
    exact: bool = False,
) -> ArmTracker:
    """A function telling how the arm follows a list of waypoints from ``qpos`` (a full
    qpos of the episode's start): worst IK errors, and the poses where a geom of
    ``robot_geoms`` penetrates a scene geom by more than ``PENETRATION_TOL`` — except
    geoms in ``allowed`` (the pedestal; an articulated part, which stays put here while
    the hand moves it in the episode) and, for ``gripper_geoms``, those in ``handled``
    (the object the task handles); ``exact`` for the reference path (module docstring)."""
    return ArmTracker(
        ik, qpos, start, start_yaw, robot_geoms, allowed, gripper_geoms, handled, exact=exact
    )
