"""The episodes stage: shards commit independently, a killed shard's retry completes,
outputs are loadable, and the success-rate guard fails a shard that does not work."""

from __future__ import annotations

import io
import signal
import subprocess
import time

import numpy as np
import pytest
from bp_contracts.simready import SimreadyManifest
from bp_contracts.tasks import TaskSet
from bp_episodes.stage import EpisodesStage
from bp_sdk.commit import read_committed
from bp_sdk.errors import ExitCode
from bp_sdk.layout import Unit
from bp_sdk.markers import list_markers
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage
from PIL import Image

from tests.conftest import job_env, script

pytestmark = pytest.mark.slow
SCENE = "kitchen_counter"


def squat_tasks(storage: Storage, n: int) -> list[str]:
    """The ``n`` pick-and-place tasks of v0000 on the squattest objects."""
    from bp_sdk.commit import require_committed

    ts = require_committed(storage, SCENE, "r1", "tasks").read_model("tasks.json", TaskSet)
    sr = require_committed(storage, SCENE, "r1", "simready").read_model("simready_manifest.json", SimreadyManifest)
    height = {o.id: o.size_m[2] for o in sr.objects}
    tasks = [t for t in ts.tasks if t.kind == "pick_place" and "v0000" in t.targets]
    tasks.sort(key=lambda t: (height.get(t.object, 1.0), t.task_id))
    return [t.task_id for t in tasks[:n]]


def env_for(storage: Storage, run: str, tasks: list[str], **extra: str) -> dict[str, str]:
    """Small, fast episode settings."""
    return job_env(storage, SCENE, run="r1", EPISODES_TASKS=",".join(tasks), EPISODES_PER_TASK="1",
                   EPISODES_MAX_VARIANTS="1", EPISODES_RESOLUTION="64", EPISODES_MIN_SUCCESS_RATE="0",
                   CLOUD_RUN_EXECUTION=run, **extra)


def test_shards_commit_and_outputs_load(kitchen: Storage) -> None:
    """Two shards each commit their episodes; the data loads without pickle and the strip is a picture."""
    tasks = squat_tasks(kitchen, 2)
    for i in range(2):
        env = env_for(kitchen, "shards", tasks, CLOUD_RUN_TASK_INDEX=str(i), CLOUD_RUN_TASK_COUNT="2")
        assert run_stage(EpisodesStage(), env) == 0
    units = read_committed(kitchen, SCENE, "r1", "episodes")
    assert units is not None and len(units) == 2
    ids = []
    for unit in units:
        summary = unit.read_json("shard.json")["summary"]
        assert summary["episodes"] == 1
        meta_names = [n for n in unit.record.files if n.endswith(".json") and n.startswith("episodes/")]
        meta = unit.read_json(meta_names[0])
        ids.append(meta["episode_id"])
        assert set(meta["cameras"]) == {"scene", "wrist"}
        fx = meta["cameras"]["scene"]["intrinsics"][0][0]
        assert fx > 0
        with np.load(io.BytesIO(unit.read_bytes(meta["data_file"])), allow_pickle=False) as data:
            counts = {k: data[k].shape[0] for k in data.files}
            assert len(set(counts.values())) == 1, counts
            assert data["observation.images.scene"].shape[1:] == (64, 64, 3)
            assert np.isfinite(data["action"]).all()
        strip = Image.open(io.BytesIO(unit.read_bytes("samples.png")))
        pixels = np.asarray(strip.convert("L"), dtype=np.float64)
        assert strip.width == 6 * 64 and pixels.std() > 10
    assert len(set(ids)) == 2  # the shards split the list, no episode twice


def test_killed_shard_loses_only_its_work(kitchen: Storage) -> None:
    """SIGKILL one shard mid-way: the other shard's commit stands, the stage is incomplete,
    and the killed shard's retry completes it."""
    tasks = squat_tasks(kitchen, 1)
    run = "r-kill"
    env0 = {**env_for(kitchen, "kill", tasks, CLOUD_RUN_TASK_INDEX="0", CLOUD_RUN_TASK_COUNT="2"),
            "RUN_ID": run, "EPISODES_PER_TASK": "4"}  # two episodes per shard
    env1 = {**env0, "CLOUD_RUN_TASK_INDEX": "1"}
    _copy_run(kitchen, "r1", run)
    # shard 1 runs beside shard 0 (as Cloud Run's tasks do): both cores at work
    other = subprocess.Popen([script("bp-episodes")], env=env1, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        proc = subprocess.Popen([script("bp-episodes")], env=env0, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            if '"quality"' in line or time.monotonic() > deadline:
                break  # the shard's first episode is written; its second is running
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
        _out, err = other.communicate(timeout=600)
    finally:
        if other.poll() is None:  # a failure above leaves no shard running
            other.kill()
            other.communicate(timeout=30)
    assert other.returncode == 0, err[-2000:]
    assert read_committed(kitchen, SCENE, run, "episodes") is None  # shard 0 never committed
    retry = subprocess.run([script("bp-episodes")], env={**env0, "CLOUD_RUN_TASK_ATTEMPT": "1"},
                           capture_output=True, text=True, timeout=600, check=False)
    assert retry.returncode == 0, retry.stderr[-2000:]
    units = read_committed(kitchen, SCENE, run, "episodes")
    assert units is not None and len(units) == 2
    assert units[0].record.attempt.attempt_id == "kill-a1"


def test_success_rate_guard_fails_the_shard(kitchen: Storage) -> None:
    """Episodes that cannot finish (1 s wall limit) are failures with their reason; the shard fails below the minimum."""
    tasks = squat_tasks(kitchen, 1)
    env = {**env_for(kitchen, "guard", tasks, EPISODES_TIMEOUT_S="1"), "RUN_ID": "r-guard",
           "EPISODES_MIN_SUCCESS_RATE": "0.5"}
    _copy_run(kitchen, "r1", "r-guard")
    assert run_stage(EpisodesStage(), env) == ExitCode.PERMANENT
    assert read_committed(kitchen, SCENE, "r-guard", "episodes") is None
    (marker,) = list_markers(kitchen, Unit(SCENE, "r-guard", "episodes", 0, 1))
    assert "success rate 0%" in marker.message
    assert any("timeout" in p for p in marker.problems)


def _copy_run(storage: Storage, src: str, dst: str) -> None:
    """Copy the committed upstream stages of run ``src`` to run ``dst`` (records rewritten)."""
    from bp_sdk.commit import CommitRecord

    prefix = f"scenes/{SCENE}/runs/{src}/"
    for info in storage.list(prefix):
        rel = info.path[len(prefix):]
        if rel.startswith("episodes/"):
            continue
        data = storage.read_bytes(info.path)
        if rel.endswith("/_SUCCESS.json"):
            rec = CommitRecord.model_validate_json(data)
            rec = rec.model_copy(update={"run_id": dst, "attempt_dir": rec.attempt_dir.replace(f"/runs/{src}/", f"/runs/{dst}/")})
            data = rec.to_bytes()
        storage.write_bytes(f"scenes/{SCENE}/runs/{dst}/{rel}", data)
