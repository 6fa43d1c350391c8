"""Each episode's plan at its reset, for the worlds that reset together, with the
candidate plans' kinematic and collision checks (:mod:`bp_episodes.expert.track`) batched.

A world's planner sees exactly what :func:`bp_episodes.episode.run_episode` gives it — the
same :func:`bp_episodes.world.expert_world` (objects, extras, the scene's boxes, the target
surface), read from a :class:`~bp_episodes.batched.worlds.Snapshot` of the episode's
initial state — and the task kind's batched expert plans it with the unchanged scripted
planner. :class:`PlanRound` runs these planners side by side, one thread per world; their
checks are answered together: once every planner still running waits on a check, all
waiting checks are evaluated as one batch by :class:`TrackBatch`, as ``make_tracker``'s
tracker evaluates one: the follower sampled every ``TRACK_DT`` to the plan's end, each pose
solved from the last two solutions extrapolated to the IK's fixed point (the batched IK,
all requests at once), and at every pose the whole robot tested against the scene frozen
at reset with MuJoCo's collision detection (contacts deeper than ``PENETRATION_TOL``, the
allowed geoms and the gripper on the handled object excepted); a ``follows`` check stops at
its first failing pose. Each answer depends on its own request only, so plans do not depend
on which worlds reset together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import mujoco
import numpy as np
from bp_contracts.simready import SimObject
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.batched.experts.registry import batched_expert_for
from bp_episodes.batched.follower import PhaseMachine
from bp_episodes.batched.ik import BatchedIK
from bp_episodes.batched.worlds import Snapshot, geom_mask
from bp_episodes.expert.base import (
    TRACK_POS_TOL,
    TRACK_ROT_TOL,
    Follower,
    Tracking,
    Waypoint,
    World,
)
from bp_episodes.expert.track import PENETRATION_TOL, TRACK_DT
from bp_episodes.initial_state import InitialState
from bp_episodes.scene import SceneHandles
from bp_episodes.worklist import EpisodePlan
from bp_episodes.world import expert_world

F64 = NDArray[np.float64]
B = NDArray[np.bool_]


Key = tuple[object, ...]


@dataclass
class _Path:
    """The poses a check followed: each one's joints, IK errors and first collision."""

    keys: tuple[Key, ...]
    q: list[F64] = field(default_factory=list)
    err: list[tuple[float, float]] = field(default_factory=list)
    hit: list[str] = field(default_factory=list)

    def cut(self, n: int) -> _Path:
        """The first ``n`` poses."""
        return _Path(self.keys, self.q[:n], self.err[:n], self.hit[:n])

    def bad(self) -> bool:
        """Whether a pose fails the plan (``Tracking.ok``)."""
        return any(p > TRACK_POS_TOL or r > TRACK_ROT_TOL for p, r in self.err) or any(self.hit)

    def tracking(self) -> Tracking:
        """The check's answer."""
        hits = [h for h in self.hit if h]
        return Tracking(
            max((e[0] for e in self.err), default=0.0),
            max((e[1] for e in self.err), default=0.0),
            len(hits),
            hits[0] if hits else "",
        )


@dataclass(frozen=True)
class TrackStart:
    """One world's check set-up (``make_tracker``'s arguments), geoms as boolean masks,
    and the paths its earlier checks followed (their shared first poses are reused)."""

    qpos: F64
    start: tuple[float, float, float]
    start_yaw: float
    robot: B
    allowed: B
    gripper: B
    handled: B
    seen: list[_Path] = field(default_factory=list, compare=False)


@dataclass(frozen=True)
class TrackRequest:
    """One check: a world's start, a candidate's waypoints, and whether to stop at the
    first pose that fails the plan (``follows``) or follow it to the end (``tracking``)."""

    start: TrackStart
    waypoints: list[Waypoint]
    until_bad: bool = False


class TrackBatch:
    """Evaluates many tracking requests at once."""

    def __init__(self, ik: BatchedIK, model: Any, arm_qadr: NDArray[np.int64]) -> None:
        self.ik, self.model, self.qadr = ik, model, arm_qadr
        self.data = mujoco.MjData(model)

    def evaluate(self, requests: list[TrackRequest]) -> list[Tracking]:
        """How the arm follows each request's waypoints from its start: each pose solved
        from the last two solutions extrapolated, as the episode loop solves, the poses an
        earlier check of the same world shared reused (``until_bad`` requests stop at their
        first failing pose)."""
        n = len(requests)
        machine = PhaseMachine(n)
        duration = np.zeros(n)
        paths = []
        for i, r in enumerate(requests):
            follower = Follower(r.start.start, r.start.start_yaw, 1.0, r.waypoints)
            machine.load(i, follower)
            duration[i] = follower.duration
            paths.append(_reused(r, follower))
        steps = np.ceil(duration / TRACK_DT).astype(np.int64)
        begin = np.array([len(p.q) for p in paths], dtype=np.int64)
        going = np.array(
            [
                len(p.q) <= k and not (r.until_bad and p.bad())
                for p, k, r in zip(paths, steps.tolist(), requests, strict=True)
            ],
            dtype=bool,
        )
        self._follow(requests, paths, machine, duration, steps, begin, going)
        for r, p, fresh in zip(requests, paths, going, strict=True):
            if fresh:
                r.start.seen.append(p)
        return [p.tracking() for p in paths]

    def _follow(
        self,
        requests: list[TrackRequest],
        paths: list[_Path],
        machine: PhaseMachine,
        duration: F64,
        steps: NDArray[np.int64],
        begin: NDArray[np.int64],
        going: B,
    ) -> None:
        """Extend every going path pose by pose, all rows' IK at once."""
        going = going.copy()
        until_bad = np.array([r.until_bad for r in requests], dtype=bool)
        q = np.stack(
            [_last(p, r.start.qpos[self.qadr]) for p, r in zip(paths, requests, strict=True)]
        )
        solved = np.stack([np.stack([_last(p, q[i], 2), q[i]]) for i, p in enumerate(paths)])
        count = begin.copy()
        for k in range(int(begin.min(initial=0)), int(steps.max(initial=0)) + 1):
            rows = np.flatnonzero(going & (k >= begin) & (k <= steps))
            if rows.size == 0:
                if not np.any(going & (k < begin)):
                    break
                continue
            t = np.minimum(k * TRACK_DT, duration[rows])
            machine.advance(t, rows)
            pos, quat, _, _ = machine.command(t, rows)
            guess, has = self.ik.guess(solved[rows], count[rows], least=2)
            sol = self.ik.solve_fast(q[rows], pos, quat, guess, has)
            q[rows] = sol.qpos
            solved[rows] = np.stack([solved[rows, 1], sol.qpos], axis=1)
            count[rows] += 1
            for i, (row, tr) in enumerate(zip(rows.tolist(), t.tolist(), strict=True)):
                path = paths[row]
                path.q.append(sol.qpos[i].copy())
                path.err.append((float(sol.pos_err_m[i]), float(sol.rot_err_rad[i])))
                path.hit.append(self._hit(requests[row].start, q[row], tr))
                if until_bad[row] and _bad_pose(path):
                    going[row] = False

    def _hit(self, st: TrackStart, arm_q: F64, t: float) -> str:
        """The first robot geom penetrating the scene at this posture ("" when none):
        MuJoCo's collision detection after kinematics alone."""
        if not st.robot.any():
            return ""
        d = self.data
        d.qpos[:] = st.qpos
        d.qpos[self.qadr] = arm_q
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_collision(self.model, d)
        g = d.contact.geom[: d.ncon].astype(np.int64).reshape(-1, 2)
        deep = d.contact.dist[: d.ncon] <= -PENETRATION_TOL
        r1, r2 = st.robot[g[:, 0]], st.robot[g[:, 1]]
        mine, other = np.where(r1, g[:, 0], g[:, 1]), np.where(r1, g[:, 1], g[:, 0])
        bad = deep & (r1 != r2) & ~st.allowed[other] & ~(st.gripper[mine] & st.handled[other])
        if not bad.any():
            return ""
        i = int(np.argmax(bad))
        m = self.model
        return f"t={t:.1f}s {m.geom(int(mine[i])).name} / {m.geom(int(other[i])).name}"


def _key(wp: Waypoint) -> Key:
    """What of a waypoint moves the hand and times the follower (not the gripper)."""
    return (wp.pos, wp.yaw, wp.tilt, wp.roll, wp.speed_m_s, wp.min_s, wp.hold_s, wp.ease)


def _reused(r: TrackRequest, follower: Follower) -> _Path:
    """The poses an earlier check of the same world already followed that this one passes
    too: those up to the end (hold included) of the last waypoint both share."""
    keys = tuple(_key(w) for w in r.waypoints)
    steps = int(np.ceil(follower.duration / TRACK_DT))
    best = _Path(keys)
    for seen in r.start.seen:
        n = 0
        for a, b in zip(keys, seen.keys, strict=False):
            if a != b:
                break
            n += 1
        if n == 0:
            continue
        if n == len(keys) == len(seen.keys):
            share = seen.cut(len(seen.q))  # the same motion (only the gripper differs)
        else:
            until = follower._segments[n - 1].leave
            m = min(len(seen.q), steps + 1)
            share = seen.cut(sum(1 for k in range(m) if k * TRACK_DT <= until))
        if len(share.q) > len(best.q):
            best = _Path(keys, share.q, share.err, share.hit)
    return best


def _last(path: _Path, default: F64, back: int = 1) -> F64:
    """The joints of the path's ``back``-th last pose (``default`` when it has fewer)."""
    return np.asarray(path.q[-back], dtype=np.float64) if len(path.q) >= back else default


def _bad_pose(path: _Path) -> bool:
    """Whether the path's last pose fails the plan."""
    p, r = path.err[-1]
    return p > TRACK_POS_TOL or r > TRACK_ROT_TOL or bool(path.hit[-1])


@dataclass
class _Job:
    start: TrackStart
    request: TrackRequest | None = None
    answer: Tracking | Exception | None = None
    result: Any = None
    done: bool = False
    error: BaseException | None = field(default=None)


class PlanRound:
    """Planners of the worlds that reset together, run side by side; their tracking checks
    answered in batches by a :class:`TrackBatch`."""

    def __init__(self, batch: TrackBatch) -> None:
        self.batch = batch
        self._cond = threading.Condition()

    def run(self, starts: list[TrackStart], plan: Callable[[int, WorldTracker], Any]) -> list[Any]:
        """``plan(i, tracker)`` for every start ``i`` (the tracker answers its checks in
        batches); each result, or the exception its planner raised."""
        jobs = [_Job(st) for st in starts]
        threads = [
            threading.Thread(target=self._work, args=(i, job, plan), daemon=True)
            for i, job in enumerate(jobs)
        ]
        for th in threads:
            th.start()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: all(j.done or j.request is not None for j in jobs))
                waiting = [j for j in jobs if not j.done and j.request is not None]
                if not waiting:
                    break
            try:
                answers: list[Tracking | Exception] = list(
                    self.batch.evaluate([cast(TrackRequest, j.request) for j in waiting])
                )
            except Exception as exc:  # noqa: BLE001 - handed to the planners that asked
                answers = [exc] * len(waiting)
            with self._cond:
                for j, a in zip(waiting, answers, strict=True):
                    j.request, j.answer = None, a
                self._cond.notify_all()
        for th in threads:
            th.join()
        return [j.error if j.error is not None else j.result for j in jobs]

    def _work(self, i: int, job: _Job, plan: Callable[[int, WorldTracker], Any]) -> None:
        def ask(waypoints: list[Waypoint], until_bad: bool) -> Tracking:
            with self._cond:
                job.request = TrackRequest(job.start, list(waypoints), until_bad)
                self._cond.notify_all()
                self._cond.wait_for(lambda: job.answer is not None)
                answer, job.answer = job.answer, None
            if isinstance(answer, Exception):
                raise answer
            return cast(Tracking, answer)

        try:
            job.result = plan(i, WorldTracker(ask))
        except Exception as exc:  # noqa: BLE001 - a planner's failure is that world's result
            job.error = exc
        finally:
            with self._cond:
                job.done = True
                self._cond.notify_all()


class WorldTracker:
    """One world's tracker for its planner (``World.track``): each check is answered by the
    batch round; ``follows`` stops at the first failing pose."""

    def __init__(self, ask: Callable[[list[Waypoint], bool], Tracking]) -> None:
        self._ask = ask

    def __call__(self, waypoints: list[Waypoint]) -> Tracking:
        """Worst IK errors along ``waypoints`` and the poses where the robot meets the scene."""
        return self._ask(waypoints, False)

    def follows(self, waypoints: list[Waypoint]) -> bool:
        """Whether the arm follows ``waypoints`` within tolerance and without collisions."""
        return self._ask(waypoints, True).ok


class Planner:
    """Plans for one compiled scene."""

    def __init__(self, h: SceneHandles, objects: dict[str, SimObject], ik: BatchedIK) -> None:
        self.h, self.objects = h, objects
        self.round = PlanRound(TrackBatch(ik, h.model, h.arm_qadr))
        n = int(h.model.ngeom)
        self._robot, self._gripper = geom_mask(n, h.robot_geoms), geom_mask(n, h.gripper_geoms)

    def plan(self, items: list[tuple[EpisodePlan, InitialState]]) -> list[Follower | Exception]:
        """A follower of each item's plan from its initial state, or why none was made."""
        worlds: list[World | Exception] = []
        for plan, init in items:
            try:
                worlds.append(self._world(plan, init))
            except (RuntimeError, ValueError) as exc:
                worlds.append(exc)
        live = [i for i, w in enumerate(worlds) if isinstance(w, World)]
        built = [cast(World, worlds[i]) for i in live]
        starts = [self._start(items[i], w) for i, w in zip(live, built, strict=True)]

        def one(k: int, track: WorldTracker) -> Any:
            world = replace(built[k], track=cast("Any", track))
            return batched_expert_for(world.task.kind).plan(world)

        answers = iter(self.round.run(starts, one))
        out: list[Follower | Exception] = []
        for w in worlds:
            if isinstance(w, Exception):
                out.append(w)
                continue
            a = next(answers)
            out.append(
                a if isinstance(a, Exception) else Follower(w.hand_start, w.hand_yaw, 1.0, a)
            )
        return out

    def _world(self, plan: EpisodePlan, init: InitialState) -> World:
        """What the planner sees of the episode's initial state."""
        snap = Snapshot(self.h.model, init.qpos)
        target = plan.task.targets.get(plan.variant_id)
        return expert_world(self.h, cast(SimBatch, snap), plan, self.objects, target)

    def _start(self, item: tuple[EpisodePlan, InitialState], world: World) -> TrackStart:
        """The tracking check's set-up, as ``run_episode`` makes its tracker."""
        h, (plan, init) = self.h, item
        handled = h.object_geoms[plan.task.object]
        joint = h.joints.get(plan.task.object)
        allowed = h.ignore_geoms | (handled if joint is not None else frozenset())
        n = int(h.model.ngeom)
        return TrackStart(
            np.asarray(init.qpos, dtype=np.float64),
            world.hand_start,
            world.hand_yaw,
            self._robot,
            geom_mask(n, allowed),
            self._gripper,
            geom_mask(n, handled),
        )
