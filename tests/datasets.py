"""Builders of real episode stores and exported datasets, shared by the dataset tests
(export, gate, verify, deliver).

* :func:`build_episodes_store` runs the real upstream stages (ingest → tasks) and the
  real episodes stage for ``kitchen_counter`` (1 variant, small images) into a fresh
  file:// store.
* :func:`derive_run` copies a committed run to a new run id through the commit protocol
  (every record rewritten with the sizes and digests of what it now holds), optionally
  changing each episode on the way (inject NaN, drop a stream, flip a status, ...): the
  way tests make broken or extra episodes without simulating again.
* :func:`export_dataset` runs the real export stage and returns the committed dataset.
"""

from __future__ import annotations

import io
import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from bp_contracts.simready import SimreadyManifest
from bp_contracts.stages import RUN_STAGES, SHARDED_STAGES
from bp_contracts.tasks import TaskSet
from bp_sdk.commit import (
    AttemptRef,
    CommitRecord,
    CommittedUnit,
    OutputWriter,
    ShardRef,
    commit,
    load_record,
    now,
    outputs_digest,
    read_committed,
    require_committed,
)
from bp_sdk.layout import Unit
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage, open_storage

from tests.conftest import EXAMPLES, job_env, put_scene

SCENE = "kitchen_counter"
UPSTREAM_STAGES = tuple(s for s in RUN_STAGES if s not in SHARDED_STAGES)  # the stages before episodes
Episode = tuple[dict[str, Any], dict[str, np.ndarray] | None]
Transform = Callable[[dict[str, Any], dict[str, np.ndarray] | None], Episode | None]


@dataclass(frozen=True)
class EpisodesStore:
    """A storage root holding committed episodes of one scene run."""

    storage: Storage
    root: Path
    scene: str
    run: str
    tier: str


@dataclass(frozen=True)
class ExportedDataset:
    """A committed export: the storage, its ids, and the dataset root on disk."""

    storage: Storage
    scene: str
    run: str
    dataset_id: str
    root: Path  # the folder holding meta/info.json (the committed attempt folder)
    record: CommitRecord


def squat_tasks(storage: Storage, run: str, n: int) -> list[str]:
    """The ``n`` pick-and-place tasks of v0000 on the squattest objects (the expert's surest)."""
    ts = require_committed(storage, SCENE, run, "tasks").read_model("tasks.json", TaskSet)
    sr = require_committed(storage, SCENE, run, "simready").read_model(
        "simready_manifest.json", SimreadyManifest
    )
    height = {o.id: o.size_m[2] for o in sr.objects}
    tasks = [t for t in ts.tasks if t.kind == "pick_place" and "v0000" in t.targets]
    tasks.sort(key=lambda t: (height.get(t.object, 1.0), t.task_id))
    return [t.task_id for t in tasks[:n]]


def build_episodes_store(
    root: Path, tier: str, run: str = "r1", tasks: int = 2, resolution: int = 64
) -> EpisodesStore:
    """Real upstream stages and real episodes (1 variant, 1 episode per task) in ``root``."""
    from tests.episodes.conftest import UPSTREAM

    root.mkdir(parents=True, exist_ok=True)
    storage = open_storage(root.as_uri())
    put_scene(storage, SCENE, EXAMPLES / SCENE)
    env = job_env(storage, SCENE, run=run, VARIATIONS_COUNT="1")
    for make in UPSTREAM:
        code = run_stage(make(), env)
        assert code == 0, f"{make.__name__} failed with exit code {code}"
    record_episodes(storage, run, tier, tasks, resolution)
    failed = {
        eid: meta.get("failure_reason")
        for eid, (meta, _) in read_episodes(storage, SCENE, run)
        if meta.get("status") != "success"
    }
    assert not failed, f"the dataset fixtures need successful episodes; the expert failed: {failed}"
    return EpisodesStore(storage, root, SCENE, run, tier)


def record_episodes(
    storage: Storage, run: str, tier: str, tasks: int = 2, resolution: int = 64, **extra: str
) -> None:
    """Run the real episodes stage on a run whose upstream stages committed: the ``tasks``
    squattest pick-and-place tasks of v0000, one episode each."""
    from bp_episodes.stage import EpisodesStage

    env = job_env(
        storage,
        SCENE,
        run=run,
        EPISODES_TASKS=",".join(squat_tasks(storage, run, tasks)),
        EPISODES_PER_TASK="1",
        EPISODES_MAX_VARIANTS="1",
        EPISODES_RESOLUTION=str(resolution),
        EPISODES_MIN_SUCCESS_RATE="0",
        EPISODES_TIER=tier,
        **extra,
    )
    code = run_stage(EpisodesStage(), env)
    assert code == 0, f"episodes failed with exit code {code}"


def copy_upstream(src: Storage, dst: Storage, run: str, scene: str = SCENE) -> None:
    """Copy a scene's input and the committed upstream stages of ``run`` (ingest → tasks),
    byte for byte, commit records included, into another storage root."""
    keep = [f"scenes/{scene}/input/"]
    keep += [f"scenes/{scene}/runs/{run}/{stage}/" for stage in UPSTREAM_STAGES]
    for prefix in keep:
        for info in src.list(prefix):
            dst.write_bytes(info.path, src.read_bytes(info.path))


def read_episodes(storage: Storage, scene: str, run: str) -> list[tuple[str, Episode]]:
    """Every committed episode of a run as ``(episode_id, (meta, arrays or None))``."""
    units = read_committed(storage, scene, run, "episodes")
    assert units, f"no committed episodes in {scene}/{run}"
    out = []
    for unit in units:
        for name in sorted(unit.record.files):
            if name.startswith("episodes/") and name.endswith(".json"):
                meta = unit.read_json(name)
                arrays = None
                if meta.get("data_file"):
                    with np.load(
                        io.BytesIO(unit.read_bytes(meta["data_file"])), allow_pickle=False
                    ) as z:
                        arrays = {k: z[k] for k in z.files}
                out.append((meta["episode_id"], (meta, arrays)))
    return sorted(out, key=lambda e: e[0])


def _commit(
    storage: Storage, unit: Unit, writer: OutputWriter, like: CommitRecord, run: str
) -> None:
    record = CommitRecord(
        stage=unit.stage,
        scene_id=unit.scene,
        run_id=run,
        shard=ShardRef(index=unit.shard_index, count=unit.shard_count)
        if unit.shard_index is not None
        else None,
        attempt=AttemptRef(execution="derived", attempt=0, attempt_id=writer.attempt_id),
        attempt_dir=writer.dir,
        files=dict(writer.files),
        outputs_digest=outputs_digest(writer.files),
        inputs=like.inputs,
        inputs_digest=like.inputs_digest,
        params=like.params,
        settings=like.settings,
        code=like.code,
        seeds=like.seeds,
        summary=like.summary,
        committed_at=now(),
    )
    commit(storage, record)


def derive_run(
    storage: Storage,
    src_run: str,
    dst_run: str,
    transform: Transform | None = None,
    scene: str = SCENE,
) -> list[str]:
    """Copy run ``src_run`` to ``dst_run`` (committed again, record by record); each episode
    goes through ``transform(meta, arrays) -> (meta, arrays) | None`` (None drops it).
    Returns the episode ids written."""

    def each(eid: str, episode: Episode) -> list[tuple[str, Episode]]:
        out = transform(*episode) if transform else episode
        return [] if out is None else [(eid, out)]

    return _derive(storage, src_run, dst_run, each, scene)


def derive_repeated_run(
    storage: Storage,
    src_run: str,
    dst_run: str,
    copies: int,
    change: Callable[[dict[str, Any], dict[str, np.ndarray] | None, int], Episode],
    scene: str = SCENE,
) -> list[str]:
    """Like :func:`derive_run`, but every episode is written ``copies`` times: copy ``k`` as
    ``<id>-r<k>`` (copy 0 keeps its id) through ``change(meta, arrays, k)`` — the way tests
    make repeated episodes of a task (identical ones: near-duplicates) without simulating."""

    def each(eid: str, episode: Episode) -> list[tuple[str, Episode]]:
        out = []
        for k in range(copies):
            new_id = eid if k == 0 else f"{eid}-r{k}"
            meta, arrays = change(dict(episode[0]), episode[1], k)
            out.append((new_id, ({**meta, "episode_id": new_id}, arrays)))
        return out

    return _derive(storage, src_run, dst_run, each, scene)


def _derive(
    storage: Storage,
    src_run: str,
    dst_run: str,
    each: Callable[[str, Episode], list[tuple[str, Episode]]],
    scene: str,
) -> list[str]:
    for stage in UPSTREAM_STAGES:
        units = read_committed(storage, scene, src_run, stage)
        if not units:
            continue
        (src,) = units
        unit = Unit(scene, dst_run, stage)
        writer = OutputWriter(storage, unit, "derived-a0")
        for name in sorted(src.record.files):
            writer.write_bytes(name, src.read_bytes(name))
        _commit(storage, unit, writer, src.record, dst_run)
    shards = read_committed(storage, scene, src_run, "episodes")
    assert shards
    unit = Unit(scene, dst_run, "episodes", 0, 1)
    writer = OutputWriter(storage, unit, "derived-a0")
    written = []
    for eid, episode in read_episodes(storage, scene, src_run):
        for new_id, (new_meta, new_arrays) in each(eid, episode):
            meta = new_meta
            if new_arrays is not None:
                buf = io.BytesIO()
                savez: Any = np.savez_compressed
                savez(buf, **new_arrays)
                writer.write_bytes(f"episodes/{new_id}.npz", buf.getvalue())
                meta = {**new_meta, "data_file": f"episodes/{new_id}.npz", "kept": True}
            # plain json.dumps: a test may put NaN in a metric on purpose
            writer.write_bytes(f"episodes/{new_id}.json", json.dumps(meta, indent=2).encode())
            written.append(new_id)
    _commit(storage, unit, writer, shards[0].record, dst_run)
    return written


def export_env(
    storage: Storage, run: str, dataset_id: str, scene: str = SCENE, **extra: str
) -> dict[str, str]:
    """The environment of an export job."""
    return job_env(storage, scene, run=run, DATASET_ID=dataset_id, **extra)


def export_dataset(
    storage: Storage, run: str, dataset_id: str, scene: str = SCENE, **extra: str
) -> ExportedDataset:
    """Run the real export stage and return the committed dataset (asserting exit 0)."""
    from bp_export.stage import ExportStage

    code = run_stage(ExportStage(), export_env(storage, run, dataset_id, scene, **extra))
    assert code == 0, f"export failed with exit code {code}"
    return committed_dataset(storage, scene, run, dataset_id)


def committed_dataset(storage: Storage, scene: str, run: str, dataset_id: str) -> ExportedDataset:
    """The committed export of ``dataset_id`` (its attempt folder on local disk)."""
    record = load_record(storage, Unit(scene, run, "export", dataset=dataset_id))
    assert record is not None, f"dataset {dataset_id} has no commit record"
    base = Path(storage.uri.removeprefix("file://"))
    return ExportedDataset(storage, scene, run, dataset_id, base / record.attempt_dir, record)


def committed_unit(ds: ExportedDataset) -> CommittedUnit:
    """Read access to the dataset's files through its commit record."""
    return CommittedUnit(ds.storage, ds.record)
