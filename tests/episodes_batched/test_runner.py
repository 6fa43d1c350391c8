"""The batched runner's work queue on real MuJoCo worlds: a world whose episode ended takes
the next item while the others go on, and the recording is deterministic — byte-identical
for the same items and number of worlds, and the same with another number of worlds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bp_episodes.backend import MujocoBatch
from bp_episodes.batched.runner import BatchedRunner, EpisodeOutcome
from bp_episodes.worklist import EpisodePlan, build_worklist

from tests.episodes_batched.conftest import OPTS, RESOLUTION, Scene

pytestmark = pytest.mark.slow
LONG_S, SHORT_S = 3.0, 0.9  # time limits: 60 and 18 frames at 20 fps


def _items(scene: Scene) -> list[EpisodePlan]:
    """One long episode, then three short ones (real tasks with shorter time limits)."""
    long = scene.task("pick_place_banana_1_to_counter", time_limit_s=LONG_S)
    short = scene.task("pick_place_can_soda_left", time_limit_s=SHORT_S)
    return [
        *build_worklist("kitchen_counter", "runner", 3, ["v0000"], [long], 1),
        *build_worklist("kitchen_counter", "runner", 3, ["v0000"], [short], 3),
    ]


def _run(scene: Scene, worlds: int) -> list[EpisodeOutcome]:
    batch = MujocoBatch(scene.model, worlds, RESOLUTION)
    try:
        return list(BatchedRunner(batch, scene.h, scene.objects, OPTS).run(_items(scene)))
    finally:
        batch.close()


@pytest.fixture(scope="module")
def two_worlds(scene: Scene) -> list[EpisodeOutcome]:
    """The four items on two worlds."""
    return _run(scene, 2)


def _by_id(outcomes: list[EpisodeOutcome]) -> dict[str, EpisodeOutcome]:
    return {o.plan.episode_id: o for o in outcomes}


def _same(a: EpisodeOutcome, b: EpisodeOutcome) -> None:
    assert a.arrays is not None and b.arrays is not None
    assert list(a.arrays) == list(b.arrays)
    for key, value in a.arrays.items():
        assert value.dtype == b.arrays[key].dtype and value.tobytes() == b.arrays[key].tobytes(), (
            key
        )
    assert a.metrics is not None and b.metrics is not None
    assert a.metrics.to_json() == b.metrics.to_json()
    assert a.init.to_json() == b.init.to_json()


def test_a_world_whose_episode_ended_takes_the_next_item(two_worlds: list[EpisodeOutcome]) -> None:
    """World 1 runs three short episodes in turn while world 0 runs the long one."""
    ended = [
        (o.plan.task.task_id, o.world, o.metrics.frames if o.metrics else None) for o in two_worlds
    ]
    assert ended == [
        ("pick_place_can_soda_left", 1, 18),
        ("pick_place_can_soda_left", 1, 18),
        ("pick_place_can_soda_left", 1, 18),
        ("pick_place_banana_1_to_counter", 0, 60),
    ]
    for o in two_worlds:
        assert o.arrays is not None
        stamps: Any = o.arrays["timestamp"]
        assert stamps[0] == 0.0 and np.allclose(np.diff(stamps), 1 / OPTS.fps)
        assert o.metrics is not None and not o.metrics.success  # cut by the short limits
        assert o.metrics.failure_reason and "time limit" in o.metrics.failure_reason
    starts = [o.arrays["observation.state"][0] for o in two_worlds if o.arrays is not None]
    assert len({s.tobytes() for s in starts}) == 4  # each item's own seeded initial state


def test_runs_are_byte_identical_for_any_number_of_worlds(
    scene: Scene, two_worlds: list[EpisodeOutcome]
) -> None:
    """Two runs on two worlds and one on one world record identical arrays, metrics and starts."""
    again, alone = _by_id(_run(scene, 2)), _by_id(_run(scene, 1))
    first = _by_id(two_worlds)
    assert set(first) == set(again) == set(alone)
    for eid, outcome in first.items():
        _same(outcome, again[eid])
        _same(outcome, alone[eid])


def test_the_runner_runs_on_the_warp_backend(scene: Scene) -> None:
    """On WarpBatch (CPU) two short items record what they record on MujocoBatch (to 1e-5)."""
    pytest.importorskip("mujoco_warp", reason="the bp-episodes[warp] extra is not installed")
    from bp_episodes.warp_backend.batch import WarpBatch, WarpOptions

    short = [
        scene.task(t, time_limit_s=0.5)
        for t in ("pick_place_banana_1_to_counter", "pick_place_can_soda_left")
    ]
    items = build_worklist("kitchen_counter", "warp", 5, ["v0000"], short, 1)
    warp = WarpBatch(scene.model, 2, RESOLUTION, WarpOptions(device="cpu", kinds=("rgb",)))
    cpu = MujocoBatch(scene.model, 2, RESOLUTION)
    try:
        got = _by_id(list(BatchedRunner(warp, scene.h, scene.objects, OPTS).run(items)))
        ref = _by_id(list(BatchedRunner(cpu, scene.h, scene.objects, OPTS).run(items)))
    finally:
        warp.close()
        cpu.close()
    assert set(got) == set(ref) == {p.episode_id for p in items}
    for eid, outcome in got.items():
        assert outcome.arrays is not None and ref[eid].arrays is not None
        for key in ("observation.state", "action", "observation.ee_pose"):
            assert np.allclose(outcome.arrays[key], ref[eid].arrays[key], atol=1e-5), key
        assert outcome.metrics is not None and outcome.metrics.frames == 10
