"""The batched episode runner: a work queue over the N worlds of one ``SimBatch``.

Each world takes the next work item (an :class:`~bp_episodes.worklist.EpisodePlan`) when
its episode ends — at its last frame, when it diverges, or past its time limit — so no
world idles while work is left: the item's seeded initial state is sampled
(:func:`~bp_episodes.initial_state.sample_initial_state`, as the per-world loop does), the
worlds that reset together are planned together, and only they are reset. Per control
step, with no per-world Python: the observations of every live world are recorded, the
phase machine gives every hand target, the batched IK every joint target, the batch steps,
and the metrics are measured as arrays. An ending episode comes out as an
:class:`EpisodeOutcome` holding the same arrays and :class:`~bp_episodes.metrics.EpisodeMetrics`
that :func:`~bp_episodes.episode.run_episode` gives for it.

:func:`record_batched` is the episodes stage's path for ``EPISODES_RUNNER=batched``: each
ending episode gets the same record keys, stream checks and data file (or failure record)
as :meth:`bp_episodes.stage.EpisodesStage._one` writes. Episodes end in any order, so the
sample strip takes its rows from the first episodes of the work list, not the first to end
(the same rows whatever the number of worlds).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from bp_contracts.episode import EpisodeRecord
from bp_contracts.simready import SimObject
from bp_sdk.clock import StageClock
from numpy.typing import NDArray

from bp_episodes.backend import SimBatch
from bp_episodes.batched.ahead import Made, PlanAhead
from bp_episodes.batched.deflating import WorldDeflaters
from bp_episodes.batched.experts.registry import batched_expert_for
from bp_episodes.batched.follower import PhaseMachine
from bp_episodes.batched.ik import BatchedIK
from bp_episodes.batched.measure import CARRY_PHASES, Measure, StepInput
from bp_episodes.batched.planning import Planner
from bp_episodes.batched.recording import FrameBuffers, observe
from bp_episodes.batched.worlds import WorldView, contact_arrays, reset_worlds
from bp_episodes.data_file import DEFAULT_LEVEL, EpisodeData
from bp_episodes.episode import SETTLE_S, RecordOptions, _why
from bp_episodes.expert.base import Follower
from bp_episodes.expert.ik import ArmIK
from bp_episodes.initial_state import InitialState, sample_initial_state
from bp_episodes.metrics import EpisodeMetrics, path_and_jerk, quality
from bp_episodes.scene import SceneHandles
from bp_episodes.worklist import EpisodePlan

if TYPE_CHECKING:
    from bp_sdk.runner import StageContext

    from bp_episodes.settings import EpisodesSettings
    from bp_episodes.stage import EpisodesStage

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass
class EpisodeOutcome:
    """One finished work item: its recording and metrics, or why it has none."""

    plan: EpisodePlan
    init: InitialState
    data: EpisodeData | None
    metrics: EpisodeMetrics | None
    error: str | None  # as the stage records it: "timeout: …" or "capture or planning failed: …"
    world: int
    wall_s: float

    @property
    def arrays(self) -> dict[str, NDArray[Any]] | None:
        """Every stream whole (deflated ones read back), in recording order."""
        if self.data is None:
            return None
        return {k: self.data.frames(k, DEFAULT_LEVEL) for k in self.data.order}


@dataclass(frozen=True)
class _Episode:
    """What a world's running episode keeps beside the arrays."""

    plan: EpisodePlan
    init: InitialState
    follower: Follower
    frames: int
    cut_by_limit: bool
    start_pos: F64
    started: float


class BatchedRunner:
    """Runs work items on the worlds of ``batch`` until the queue is empty."""

    def __init__(
        self,
        batch: SimBatch,
        h: SceneHandles,
        objects: dict[str, SimObject],
        opts: RecordOptions,
        clock: StageClock | None = None,
        deflaters: WorldDeflaters | None = None,
        plan_ahead: bool = False,
    ) -> None:
        """``clock`` gets where the time goes; ``deflaters``: the images are deflated as they
        come (:mod:`.deflating`) instead of kept whole; ``plan_ahead``: items are planned on a
        thread ahead of the worlds (:mod:`.ahead`) and an idle world takes whichever is ready
        (otherwise each world that ends waits for its next item's plan, and items go to
        worlds in a fixed order)."""
        self.batch, self.h, self.objects, self.opts = batch, h, objects, opts
        self.clock = clock if clock is not None else StageClock()
        n = batch.num_worlds
        m = h.model
        self.ik = BatchedIK(_arm_ik(h))  # numpy: the backends hand host arrays
        self.planner = Planner(h, objects, BatchedIK(_arm_ik(h)))  # its own: may run on a thread
        self.plan_ahead = plan_ahead
        self.dt = 1.0 / opts.fps
        self.substeps = round(1.0 / (opts.fps * m.opt.timestep))
        self.machine = PhaseMachine(n)
        self.measure = Measure(h, n, self.dt)
        self.frames = FrameBuffers(n, deflaters=deflaters)
        self.ctrl = np.zeros((n, int(m.nu)))
        self.active = np.zeros(n, dtype=bool)
        self.frame = np.zeros(n, dtype=np.int64)
        self.length = np.zeros(n, dtype=np.int64)
        self.started = np.zeros(n)
        self.obj_body = np.zeros(n, dtype=np.int64)
        self.solved = np.zeros((n, 2, len(h.arm_qadr)))  # each world's last two IK solutions
        self.nsolved = np.zeros(n, dtype=np.int64)
        self.episodes: list[_Episode | None] = [None] * n
        self.serial = 0
        self.timeout_s = opts.timeout_s * n  # the worlds share the machine: N episodes at once

    def run(self, plans: Iterable[EpisodePlan]) -> Iterator[EpisodeOutcome]:
        """Every item's outcome, in the order the episodes end."""
        queue = deque(plans)
        for kind in sorted({p.task.kind for p in queue}):
            batched_expert_for(kind)  # an uncovered kind fails before anything runs
        n = self.batch.num_worlds
        ahead = PlanAhead(self._made, queue, max(16, n // 16), n) if self.plan_ahead else None
        try:
            while True:
                yield from self._fill(queue, ahead)
                live = np.flatnonzero(self.active)
                if live.size == 0 and (ahead is None or ahead.exhausted()):
                    return
                if live.size:
                    yield from self._step(live)
        finally:
            if ahead is not None:
                ahead.close()

    # ------------------------------------------------------------------ resets
    def _made(self, take: list[EpisodePlan], thread: bool = True) -> list[Made]:
        """Each item with its seeded initial state and its plan (or why it has none)."""
        how = self.opts.perturbation()
        with self.clock("initial states", thread=thread):
            inits = [sample_initial_state(self.h, p, self.objects, how) for p in take]
        with self.clock("planning", thread=thread):
            planned = self.planner.plan(list(zip(take, inits, strict=True)))
        return list(zip(take, inits, planned, strict=True))

    def _fill(self, queue: deque[EpisodePlan], ahead: PlanAhead | None) -> Iterator[EpisodeOutcome]:
        """Give idle worlds (in index order) the next items: those planned ahead that are
        ready (waiting only when no world is running), or the queue's next, planned now."""
        idle = np.flatnonzero(~self.active)
        while idle.size:
            if ahead is not None:
                with self.clock("wait for plans"):
                    made = ahead.take(idle.size, wait=not self.active.any())
            elif queue:
                made = self._made(
                    [queue.popleft() for _ in range(min(idle.size, len(queue)))], False
                )
            else:
                made = []
            if not made:
                return
            t0 = time.monotonic()
            ready = []
            for w, (p, init, f) in zip(idle.tolist(), made, strict=False):
                if isinstance(f, Follower):
                    ready.append((w, p, init, f))
                elif isinstance(f, RuntimeError | ValueError):
                    why = f"capture or planning failed: {type(f).__name__}: {f}"
                    yield EpisodeOutcome(p, init, None, None, why, w, 0.0)
                else:
                    raise f
            if ready:
                worlds = [r[0] for r in ready]
                with self.clock("reset worlds"):
                    reset_worlds(self.batch, worlds, [r[2].qpos for r in ready])
                    bodies = np.array([self.h.bodies[r[1].task.object] for r in ready])
                    start = self._object_positions(np.array(worlds), bodies)
                for (w, p, init, f), pos in zip(ready, start, strict=True):
                    self._start(w, p, init, f, pos, t0)
            idle = np.flatnonzero(~self.active)

    def _object_positions(self, worlds: I64, bodies: I64) -> F64:
        """Position of body ``bodies[i]`` in world ``worlds[i]`` (one query per body)."""
        out = np.zeros((len(worlds), 3))
        for body in np.unique(bodies).tolist():
            mine = bodies == body
            out[mine] = self.batch.body_pose(body)[0][worlds[mine]]
        return out

    def _start(
        self,
        w: int,
        plan: EpisodePlan,
        init: InitialState,
        follower: Follower,
        start_pos: F64,
        t0: float,
    ) -> None:
        """World ``w`` begins ``plan`` (already reset to ``init``; its object at ``start_pos``)."""
        task = plan.task
        frames = math.ceil(min(task.time_limit_s, follower.duration + SETTLE_S) * self.opts.fps)
        cut = follower.duration + SETTLE_S > task.time_limit_s
        self.episodes[w] = _Episode(plan, init, follower, frames, cut, start_pos, t0)
        self.machine.load(w, follower)
        self.serial += 1
        self.measure.start(w, task, start_pos, self.serial, frames)
        self.frames.reserve(frames)
        self.active[w] = True
        self.frame[w], self.length[w], self.started[w] = 0, frames, t0
        self.obj_body[w] = self.h.bodies[task.object]
        self.nsolved[w] = 0

    # ------------------------------------------------------------------ control steps
    def _step(self, live: I64) -> Iterator[EpisodeOutcome]:
        """One control step of every live world, then the outcomes of those that ended."""
        late = live[time.monotonic() - self.started[live] > self.timeout_s]
        for w in late.tolist():
            yield self._timed_out(w)
        live = live[~np.isin(live, late)]
        if live.size == 0:
            return
        h, frame, clock = self.h, self.frame[live], self.clock
        t = frame * self.dt
        if self.frames.deflaters is not None:
            self.frames.deflaters.next_step()
        with clock("observe (render, copy to host, record)"):
            ee = observe(self.batch, h, self.opts.tier, live, frame, self.frames)
            self.measure.history.write("ee", live, frame, ee)
        with clock("expert (phase machine, IK)"):
            self.machine.advance(t, live)
            pos, quat, grip, label = self.machine.command(t, live)
            guess, has = self.ik.guess(self.solved[live], self.nsolved[live])
            arm = self.batch.qpos()[live][:, h.arm_qadr]
            sol = self.ik.solve_fast(arm, pos, quat, guess, has)
            self.solved[live] = np.stack([self.solved[live, 1], sol.qpos], axis=1)
            self.nsolved[live] += 1
            action = np.concatenate([sol.qpos, grip[:, None]], axis=1)
            self.frames.write("action", live, frame, action.astype(np.float32))
            self.frames.write("timestamp", live, frame, t.astype(np.float32))
            self.ctrl[live] = np.concatenate(
                [sol.qpos, (grip * h.robot.gripper_open_ctrl)[:, None]], axis=1
            )
        with clock("physics"):
            self.batch.step(self.ctrl, self.substeps)
        with clock("metrics"):
            bad = self.measure.step(self._after(live, frame, label, grip, sol.pos_err_m))
        self.frame[live] += 1
        ended = (self.frame[live] >= self.length[live]) | bad
        for w, diverged in zip(live[ended].tolist(), bad[ended].tolist(), strict=True):
            with clock("episode ends (streams, metrics)"):
                out = self._finish(w, diverged)
            yield out

    def _after(self, live: I64, frame: I64, label: I64, grip: F64, ik_err: F64) -> StepInput:
        """What the measurement reads of the worlds after the step."""
        obj = np.zeros((self.batch.num_worlds, 3))
        obj[live] = self._object_positions(live, self.obj_body[live])
        carry_ids = [self.machine.label_id(p) for p in CARRY_PHASES]
        return StepInput(
            live,
            frame,
            self.batch.qpos(),
            self.batch.qvel(),
            contact_arrays(self.batch),
            obj,
            self.batch.site_pose(self.h.site)[0][:, 2],
            np.isin(label, carry_ids) & (grip < 0.5),
            ik_err,
        )

    # ------------------------------------------------------------------ endings
    def _finish(self, w: int, diverged: bool) -> EpisodeOutcome:
        """World ``w``'s episode ended: its arrays and metrics, as run_episode makes them."""
        ep = cast(_Episode, self.episodes[w])
        n = int(self.frame[w])
        data = self.frames.take_episode(w, n)
        met = EpisodeMetrics(frames=n, duration_s=n * self.dt)
        met.frame_counts = dict.fromkeys(data.order, n)
        ee = self.measure.history.take(w, n, ["ee"])["ee"]
        met.path_length_m, met.rms_jerk_m_s3 = path_and_jerk(ee, self.dt)
        self.measure.finish(w, n, met)
        task, target = ep.plan.task, ep.plan.task.targets.get(ep.plan.variant_id)
        if diverged:
            met.nonfinite = True
            met.failure_reason = (
                f"simulation diverged (non-finite state) at t={(n - 1) * self.dt:.2f}s"
            )
        else:
            since = self.measure.success_since(w, n, task, ep.start_pos, target)
            if since is not None:
                met.success, met.time_to_success_s = True, round(since * self.dt, 4)
            else:
                view = cast(SimBatch, WorldView(self.batch, w))
                met.failure_reason = _why(ep.plan, view, self.h, ep.start_pos, target)
                if ep.cut_by_limit:
                    met.failure_reason = (
                        f"time limit {task.time_limit_s:g} s reached before the expert finished "
                        f"(plan {ep.follower.duration:.1f} s); " + met.failure_reason
                    )
        met.quality_score = quality(met)
        self.active[w] = False
        self.episodes[w] = None
        return EpisodeOutcome(ep.plan, ep.init, data, met, None, w, self._wall(w))

    def _timed_out(self, w: int) -> EpisodeOutcome:
        """World ``w`` ran past the wall-clock limit: a failure without data."""
        ep = cast(_Episode, self.episodes[w])
        self.measure.pairs(w)  # forget its collision pairs
        self.frames.drop(w)  # and its frames
        self.active[w] = False
        self.episodes[w] = None
        why = f"timeout: episode {ep.plan.episode_id} exceeded {self.timeout_s:.0f} s"
        return EpisodeOutcome(ep.plan, ep.init, None, None, why, w, self._wall(w))

    def _wall(self, w: int) -> float:
        """Seconds since world ``w``'s episode was taken."""
        return round(time.monotonic() - float(self.started[w]), 3)


# ---------------------------------------------------------------------- the episodes stage
SAMPLE_ROWS = 4  # the stage's strip height
SAMPLE_FROM = 16  # the strip's rows come from the first this many work items that have data
Rows = list[tuple[str, list[Any]]]


def record_batched(
    stage: EpisodesStage,
    ctx: StageContext[EpisodesSettings],
    batch: SimBatch,
    h: SceneHandles,
    plans: list[EpisodePlan],
    objects: dict[str, SimObject],
    opts: RecordOptions,
    samples: Rows,
    clock: StageClock,
) -> Iterator[tuple[EpisodeRecord, float]]:
    """Every episode of ``plans`` run on all worlds of ``batch``: its record (written) and
    wall time, in the order they end; ``samples`` gets the strip rows of the first ones.

    ``EPISODES_WRITERS`` deflater processes deflate the images as they are recorded
    (:mod:`.deflating`) and as many threads write each ended episode's data file and record
    while the worlds step on; at most two episodes per thread wait to be written, so memory
    stays bounded when writing falls behind. Plans are made ahead on a thread (:mod:`.ahead`)."""
    s = ctx.settings
    threads = s.episodes_writers or max((os.cpu_count() or 2) - 1, 1)
    order = {p.episode_id: i for i, p in enumerate(plans)}
    candidates: dict[int, Rows] = {}
    pending: deque[tuple[Future[EpisodeRecord], EpisodeOutcome, Rows | None]] = deque()

    def written(wait: bool) -> Iterator[tuple[EpisodeRecord, float]]:
        while pending and (wait or pending[0][0].done() or len(pending) > 2 * threads):
            future, out, rows = pending.popleft()
            with clock("wait for writers"):
                record = future.result()
            if rows:
                candidates[order[out.plan.episode_id]] = rows
                _keep_first(candidates, SAMPLE_ROWS - len(samples))
            yield record, out.wall_s

    deflaters = WorldDeflaters(batch.num_worlds, s.episodes_deflate_level, threads, clock)
    with contextlib.closing(deflaters), ThreadPoolExecutor(threads, "bp-episode-writer") as pool:
        runner = BatchedRunner(batch, h, objects, opts, clock, deflaters, plan_ahead=True)
        for out in runner.run(plans):
            meta = stage._meta(ctx, batch, h, out.plan, objects)
            meta["initial_state"] = out.init.to_json()
            # sample rows only from the first work items: reading deflated images back costs
            rows: Rows | None = [] if order[out.plan.episode_id] < SAMPLE_FROM else None
            pending.append((pool.submit(_write, stage, ctx, h, out, meta, rows, clock), out, rows))
            yield from written(wait=False)
        yield from written(wait=True)
    for _, rows in sorted(candidates.items()):
        samples.extend(rows[: SAMPLE_ROWS - len(samples)])


def _write(
    stage: EpisodesStage,
    ctx: StageContext[EpisodesSettings],
    h: SceneHandles,
    out: EpisodeOutcome,
    meta: dict[str, Any],
    rows: Rows | None,
    clock: StageClock,
) -> EpisodeRecord:
    """Write one ended episode as ``EpisodesStage._one`` does (on a writer thread); its strip
    rows go to ``rows``."""
    from bp_episodes.stage import _write_record  # noqa: PLC0415 - the stage imports this module

    with clock("write episodes (deflate, files, records)", thread=True):
        if out.data is None or out.metrics is None:
            meta.update(status="failure", kept=False, failure_reason=out.error)
            return _write_record(ctx, meta)
        return stage._keep(ctx, h, out.plan, meta, out.data, out.metrics, rows)


def _keep_first(candidates: dict[int, Rows], room: int) -> None:
    """Drop the candidates past the first ``room`` rows (in work-list order)."""
    total = 0
    for index in sorted(candidates):
        if total >= room:
            del candidates[index]
        else:
            total += len(candidates[index])


def _arm_ik(h: SceneHandles) -> ArmIK:
    """The arm's IK (each user its own: it keeps a private MjData)."""
    return ArmIK(
        h.model,
        [h.robot.scoped(j) for j in h.robot.arm_joints],
        h.robot.scoped(h.robot.ee_site),
        h.home_qpos[h.arm_qadr],
    )
