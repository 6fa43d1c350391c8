"""Every example scene through the expert: success rates per task, failures with reasons.

Up to three tasks per scene (squat objects first, plus a push when there is one), one
episode each. The rates and every failure reason are printed (run with ``-s``): failing
tasks are investigated, not hidden (see docs/EPISODES.md for the current findings).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from bp_contracts.simready import SimreadyManifest
from bp_contracts.tasks import TaskSet
from bp_episodes.stage import EpisodesStage
from bp_sdk.commit import read_committed, require_committed
from bp_sdk.runner import run_stage

from tests.conftest import EXAMPLE_SCENES, job_env
from tests.episodes.conftest import prepare

pytestmark = pytest.mark.slow


def _scene_rates(scene: str, root: Path) -> tuple[dict[str, float], list[str]]:
    storage = prepare(root, scene, variants=1)
    ts = require_committed(storage, scene, "r1", "tasks").read_model("tasks.json", TaskSet)
    sr = require_committed(storage, scene, "r1", "simready").read_model("simready_manifest.json", SimreadyManifest)
    height = {o.id: o.size_m[2] for o in sr.objects}
    picks = sorted((t for t in ts.tasks if t.kind == "pick_place" and "v0000" in t.targets),
                   key=lambda t: (height.get(t.object, 1.0), t.task_id))[:2]
    pushes = [t for t in ts.tasks if t.kind == "push" and "v0000" in t.targets][:1]
    chosen = [t.task_id for t in picks + pushes]
    if not chosen:
        return {}, [f"{scene}: no task in v0000"]
    env = job_env(storage, scene, EPISODES_TASKS=",".join(chosen), EPISODES_PER_TASK="1", EPISODES_MAX_VARIANTS="1",
                  EPISODES_RESOLUTION="64", EPISODES_MIN_SUCCESS_RATE="0")
    assert run_stage(EpisodesStage(), env) == 0
    units = read_committed(storage, scene, "r1", "episodes")
    assert units is not None
    summary = units[0].read_json("shard.json")["summary"]
    reasons = []
    for name in sorted(units[0].record.files):
        if name.startswith("episodes/") and name.endswith(".json"):
            meta = units[0].read_json(name)
            if meta["status"] != "success":
                assert meta["failure_reason"], "a failed episode must say why"
                reasons.append(f"{meta['episode_id']}: {meta['failure_reason']}")
    return {f"{scene}/{k}": v["success_rate"] for k, v in summary["per_task"].items()}, reasons


def test_expert_succeeds_on_most_tasks(tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    """Across the example scenes most tasks succeed; every failure carries its reason."""
    rates: dict[str, float] = {}
    reasons: list[str] = []
    # one process per core: the scenes are independent, and a stage keeps about one core busy
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        found = [pool.submit(_scene_rates, scene, tmp_path / scene) for scene in EXAMPLE_SCENES]
        for done in found:
            r, why = done.result()
            rates.update(r)
            reasons += why
    record_property("success_rates", rates)
    for task, rate in sorted(rates.items()):
        print(f"{rate:5.0%}  {task}")  # noqa: T201 - the report
    for line in reasons:
        print(f"  failed: {line}")  # noqa: T201 - investigated, not hidden
    overall = sum(rates.values()) / len(rates)
    assert overall >= 0.5, f"overall success {overall:.0%}: {rates}"
    scenes_with_success = {k.split("/")[0] for k, v in rates.items() if v > 0}
    assert len(scenes_with_success) >= 3, f"scenes where the expert succeeded: {sorted(scenes_with_success)}"
