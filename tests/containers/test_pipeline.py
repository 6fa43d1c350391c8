"""The real job images, in sequence, turn an example blueprint into committed episodes; a
container stopped with SIGTERM mid-episodes leaves a failure marker and exits 143."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bp_contracts.simready import SimreadyManifest
from bp_contracts.stages import RUN_STAGES, SHARDED_STAGES
from bp_contracts.tasks import TaskSet
from bp_sdk.commit import CommitRecord, read_committed, require_committed
from bp_sdk.layout import Unit
from bp_sdk.markers import list_markers
from bp_sdk.storage import Storage, open_storage

from tests.conftest import EXAMPLES, job_env, put_scene, script
from tests.containers.conftest import (
    built_image,
    image_for,
    open_to_container,
    run_job,
    stop_when_logged,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCENE = "kitchen_counter"
RUN = "r1"
UPSTREAM = [s for s in RUN_STAGES if s not in SHARDED_STAGES]  # the stages before episodes
SMALL = {
    "VARIATIONS_COUNT": "1",
    "EPISODES_PER_TASK": "1",
    "EPISODES_MAX_VARIANTS": "1",
    "EPISODES_RESOLUTION": "64",
    "EPISODES_MIN_SUCCESS_RATE": "0",
}


def env(run: str = RUN, **extra: str) -> dict[str, str]:
    """The environment every stage container gets (each reads only its own settings)."""
    return {"SCENE_ID": SCENE, "RUN_ID": run, **SMALL, **extra}


def one_task(storage: Storage, run: str = RUN) -> str:
    """The pick-and-place task of v0000 on the squattest object (the quickest episode)."""
    tasks = require_committed(storage, SCENE, run, "tasks").read_model("tasks.json", TaskSet)
    simready = require_committed(storage, SCENE, run, "simready").read_model(
        "simready_manifest.json", SimreadyManifest
    )
    height = {o.id: o.size_m[2] for o in simready.objects}
    picks = [t for t in tasks.tasks if t.kind == "pick_place" and "v0000" in t.targets]
    assert picks, "the tasks stage made no pick-and-place task on v0000"
    return min(picks, key=lambda t: (height.get(t.object, 1.0), t.task_id)).task_id


@dataclass
class Upstream:
    """kitchen_counter prepared up to tasks in a host folder, and which stages ran in images."""

    root: Path
    storage: Storage
    in_images: list[str]


@pytest.fixture(scope="module")
def upstream(docker_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    """kitchen_counter through ingest … tasks, each asserted to commit: the ingest image, then
    each middle stage's image where it was built (CI may build only a subset; a stage named
    in BP_DOCKER_IMAGES must have its image), else its entry point from this environment."""
    images = {stage: built_image(docker_engine, stage) for stage in UPSTREAM}
    images["ingest"] = image_for(docker_engine, "ingest")
    image_for(docker_engine, "episodes")
    root = tmp_path_factory.mktemp("containers") / "storage"
    root.mkdir()
    storage = open_storage(root.as_uri())
    put_scene(storage, SCENE, EXAMPLES / SCENE)
    open_to_container(root)
    for stage in UPSTREAM:
        image = images[stage]
        if image is not None:
            done = run_job(image, root, env())
            code, logs = done.exit_code, done.logs
        else:
            local = subprocess.run(
                [script(f"bp-{stage}")],
                env=job_env(storage, SCENE, RUN, **SMALL),
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            code, logs = local.returncode, local.stderr
            open_to_container(root)
        assert code == 0, f"bp-{stage} exited {code}:\n{logs[-4000:]}"
        assert read_committed(storage, SCENE, RUN, stage), f"bp-{stage} exited 0 without a commit"
    return Upstream(root, storage, [s for s in UPSTREAM if images[s] is not None])


def test_images_run_the_pipeline_to_episodes(docker_engine: Any, upstream: Upstream) -> None:
    """ingest → … → episodes images each commit on file:///data; the episode holds real frames
    and every commit record names the revision baked into its image."""
    root, storage = upstream.root, upstream.storage
    image = image_for(docker_engine, "episodes")
    done = run_job(image, root, env(EPISODES_TASKS=one_task(storage)))
    assert done.exit_code == 0, done.logs[-4000:]

    for stage in [*upstream.in_images, "episodes"]:
        committed = read_committed(storage, SCENE, RUN, stage)
        assert committed, f"{stage} has no commit record"
        labels = docker_engine.images.get(f"bp-{stage}:local").labels
        for unit in committed:
            code = unit.record.code
            assert code["revision"] == labels["org.opencontainers.image.revision"] != "unknown"
            assert code["package"] == f"bp-{stage}"

    units = read_committed(storage, SCENE, RUN, "episodes")
    assert units is not None and len(units) == 1
    (unit,) = units
    assert unit.read_json("shard.json")["summary"]["episodes"] == 1
    meta_name = next(
        n for n in unit.record.files if n.startswith("episodes/") and n.endswith(".json")
    )
    meta = unit.read_json(meta_name)
    with np.load(io.BytesIO(unit.read_bytes(meta["data_file"])), allow_pickle=False) as data:
        frames = data["observation.images.scene"]
        assert frames.shape[0] > 10 and frames.shape[1:] == (64, 64, 3)
        assert frames.dtype == np.uint8
        assert frames.std() > 10  # a rendered scene, not a blank buffer
        assert np.abs(np.diff(frames.astype(np.int16), axis=0)).max() > 0  # the robot moves
        assert data["action"].shape[0] == frames.shape[0] and np.isfinite(data["action"]).all()


def test_sigterm_mid_episodes_writes_a_marker_and_exits_143(
    docker_engine: Any, upstream: Upstream
) -> None:
    """`docker stop` (SIGTERM) while episodes simulate: exit 143, a retryable failure marker
    naming SIGTERM in the attempt, and no commit record."""
    root, storage = upstream.root, upstream.storage
    run = "r-sigterm"
    copy_upstream(storage, root, RUN, run)
    image = image_for(docker_engine, "episodes")
    settings = env(
        run, EPISODES_TASKS=one_task(storage), EPISODES_PER_TASK="3", CLOUD_RUN_EXECUTION="stopped"
    )
    done = stop_when_logged(image, root, settings, needle="shard 0/1: ")
    assert done.exit_code == 143, done.logs[-4000:]
    assert "SIGTERM" in done.logs
    assert read_committed(storage, SCENE, run, "episodes") is None
    assert not list((root / "scenes" / SCENE / "runs" / run / "episodes").rglob("_SUCCESS.json"))
    (marker,) = list_markers(storage, Unit(SCENE, run, "episodes", 0, 1))
    assert marker.stage == "episodes" and not marker.permanent and marker.exit_code == 143
    assert "SIGTERM" in marker.message
    assert marker.attempt_id == "stopped-a0"


def copy_upstream(storage: Storage, root: Path, src: str, dst: str) -> None:
    """Copy the committed upstream stages of run ``src`` to run ``dst`` (records rewritten)."""
    prefix = f"scenes/{SCENE}/runs/{src}/"
    for info in storage.list(prefix):
        rel = info.path[len(prefix) :]
        if rel.split("/")[0] not in UPSTREAM:
            continue
        data = storage.read_bytes(info.path)
        if rel.endswith("/_SUCCESS.json"):
            rec = CommitRecord.model_validate_json(data)
            rec = rec.model_copy(
                update={
                    "run_id": dst,
                    "attempt_dir": rec.attempt_dir.replace(f"/runs/{src}/", f"/runs/{dst}/"),
                }
            )
            data = rec.to_bytes()
        storage.write_bytes(f"scenes/{SCENE}/runs/{dst}/{rel}", data)
    open_to_container(root)
