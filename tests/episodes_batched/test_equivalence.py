"""The batched runner against the per-world loop (``run_episode``), both on MujocoBatch, on
the same work items: kitchen_counter's two squattest pick-and-place tasks, two episodes
each, full length (the budget of two shared CPU cores).

The runners are not bit-identical: the IK stops once a step moves no joint more than
1e-4 rad, so rounding-level differences (numpy's solve against MuJoCo's Cholesky) can end
a solve one iteration apart, and contacts amplify that — the same sensitivity the per-world
loop has to any perturbation of its start. Bounds, stated: per task, the success rates
differ by at most a 95 % two-proportion bound (1.96 · sqrt(2 p(1 − p) / n), pooled rate p,
plus 1/n for the discreteness); per episode — the same seeded initial state, so the same
plan — the frame counts are equal and the metrics agree within that noise: time to success
±1 s, penetration ±2 mm, collision frames ±3, path length ±2 cm, RMS jerk ±25 %, slips and
drops ±1, quality ±0.1; over all episodes the mean quality within 0.05 and the mean time
to success within 0.5 s. Measured: docs/EPISODES.md (Batched runner).
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from bp_episodes.backend import MujocoBatch
from bp_episodes.batched.runner import BatchedRunner
from bp_episodes.compiled import compile_committed
from bp_episodes.episode import run_episode
from bp_episodes.metrics import EpisodeMetrics
from bp_episodes.worklist import EpisodePlan, build_worklist
from bp_sdk.storage import Storage, open_storage

from tests.episodes_batched.conftest import OPTS, RESOLUTION, SCENE, Scene

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
TASKS = ("pick_place_banana_1_to_counter", "pick_place_can_soda_left")
PER_TASK = 2
WORLDS = 2


def _rate_bound(a: list[bool], b: list[bool]) -> float:
    """The largest success-rate difference two samples of one rate show (95 %)."""
    n = len(a)
    p = (sum(a) + sum(b)) / (2 * n)
    return 1.96 * math.sqrt(2 * p * (1 - p) / n) + 1 / n


def _paired(b: EpisodeMetrics, w: EpisodeMetrics) -> None:
    """One work item's metrics from both runners agree within the stated bounds."""
    assert b.frames == w.frames
    if b.success and w.success:
        assert b.time_to_success_s is not None and w.time_to_success_s is not None
        assert abs(b.time_to_success_s - w.time_to_success_s) <= 1.0
    assert abs(b.max_penetration_m - w.max_penetration_m) <= 2e-3
    assert abs(b.collision_frames - w.collision_frames) <= 3
    assert abs(b.path_length_m - w.path_length_m) <= 0.02
    assert abs(b.rms_jerk_m_s3 - w.rms_jerk_m_s3) <= 0.25 * max(w.rms_jerk_m_s3, 1.0)
    assert abs(b.slips - w.slips) <= 1 and abs(b.drops - w.drops) <= 1
    assert b.nonfinite == w.nonfinite
    assert abs(b.quality_score - w.quality_score) <= 0.1


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _per_world(uri: str, plans: list[EpisodePlan]) -> dict[str, EpisodeMetrics]:
    """``run_episode``'s metrics for ``plans``, on the scene compiled afresh in this process."""
    c, _tasks = compile_committed(open_storage(uri), SCENE, "r1", resolution=RESOLUTION)
    single = MujocoBatch(c.model, 1, RESOLUTION)
    try:
        return {p.episode_id: run_episode(single, c.h, p, c.objects, OPTS)[1] for p in plans}
    finally:
        single.close()


def test_batched_runner_agrees_with_the_per_world_loop(scene: Scene, kitchen_one: Storage) -> None:
    """Success rates within the binomial bound and metrics within the stated bounds of run_episode's."""
    tasks = [scene.task(t) for t in TASKS]
    plans = build_worklist("kitchen_counter", "equivalence", 11, ["v0000"], tasks, PER_TASK)
    # the per-world loop in a process of its own, beside the batched runner: both cores work
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        reference = pool.submit(_per_world, kitchen_one.uri, plans)
        batch = MujocoBatch(scene.model, WORLDS, RESOLUTION)
        try:
            batched = {
                o.plan.episode_id: o.metrics
                for o in BatchedRunner(batch, scene.h, scene.objects, OPTS).run(plans)
            }
        finally:
            batch.close()
        per_world = reference.result()
    for task in TASKS:
        ids = [p.episode_id for p in plans if p.task.task_id == task]
        got = [bool(m and m.success) for m in (batched[i] for i in ids)]
        ref = [per_world[i].success for i in ids]
        assert abs(sum(got) - sum(ref)) / len(ids) <= _rate_bound(got, ref), task
    mine = {eid: m for eid, m in batched.items() if m is not None}
    assert set(mine) == set(per_world)
    for eid, ref_metrics in per_world.items():
        _paired(mine[eid], ref_metrics)
    quality = [(mine[e].quality_score, per_world[e].quality_score) for e in per_world]
    assert abs(_mean([q for q, _ in quality]) - _mean([q for _, q in quality])) <= 0.05
    both = [
        (mine[e].time_to_success_s, w.time_to_success_s)
        for e, w in per_world.items()
        if mine[e].time_to_success_s is not None and w.time_to_success_s is not None
    ]
    assert (
        abs(_mean([float(a or 0) for a, _ in both]) - _mean([float(b or 0) for _, b in both]))
        <= 0.5
    )
