"""Fixtures of the conformance tests: the test-only venv and a store of committed episodes.

Policy: tests marked ``lerobot`` need ``.venv-lerobot`` (``bash scripts/lerobot_env.sh``).
When it is missing they FAIL, saying how to make it — never a silent skip.

Episodes come from the real stages (ingest → tasks → episodes, kitchen_counter, two
pick-and-place tasks at 64², 20 fps), made once per session; set ``BP_CONFORMANCE_STORE`` to
the root folder of an existing ``file://`` store with committed episodes (one run; e.g. the
``/tmp/bpfix-core`` fixture) to use that instead. Tests never write into such a store: they
work on a hard-linked copy.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest

from tests.conformance import harness

SCENE = "kitchen_counter"
STORE_ENV = "BP_CONFORMANCE_STORE"


@dataclass(frozen=True)
class EpisodeStore:
    """A ``file://`` store root holding one run's committed episode shards."""

    root: Path
    scene: str
    run: str

    def episode_metas(self) -> list[dict[str, Any]]:
        """Every committed episode's JSON (via each shard's _SUCCESS.json)."""
        out = []
        shards = self.root / "scenes" / self.scene / "runs" / self.run / "episodes" / "shards"
        for marker in sorted(shards.glob("*/_SUCCESS.json")):
            record = json.loads(marker.read_text())
            attempt = self.root / record["attempt_dir"]
            for rel in sorted(record["files"]):
                if rel.startswith("episodes/") and rel.endswith(".json"):
                    out.append(json.loads((attempt / rel).read_text()))
        return out

    def success_frames(self) -> int:
        """Frames of the successful episodes (what a core-tier dataset holds)."""
        return sum(int(m["frames"]) for m in self.episode_metas() if m.get("status") == "success")

    def linked_copy(self, dest: Path) -> EpisodeStore:
        """A copy of the scene's tree made of hard links (cheap; the original stays untouched)."""
        src = self.root / "scenes" / self.scene
        shutil.copytree(src, dest / "scenes" / self.scene, copy_function=os.link)
        return EpisodeStore(dest, self.scene, self.run)


@pytest.fixture(scope="session")
def lerobot_python() -> Path:
    """The test venv's python; fails (not skips) with the command to run when it is missing."""
    try:
        return harness.require_env()
    except harness.EnvMissingError as exc:
        pytest.fail(str(exc), pytrace=False)


def _find_run(root: Path, scene: str) -> str:
    runs = sorted(
        {
            p.parents[3].name
            for p in (root / "scenes" / scene / "runs").glob("*/episodes/shards/*/_SUCCESS.json")
        }
    )
    if len(runs) != 1:
        pytest.fail(
            f"{STORE_ENV}={root}: expected one run with committed episodes of {scene}, found {runs}",
            pytrace=False,
        )
    return runs[0]


def _record_episodes(root: Path) -> EpisodeStore:
    """Run the real stages for two squat pick-and-place tasks of kitchen_counter."""
    from bp_assemble.stage import AssembleStage
    from bp_contracts.simready import SimreadyManifest
    from bp_contracts.tasks import TaskSet
    from bp_episodes.stage import EpisodesStage
    from bp_ingest.stage import IngestStage
    from bp_sdk.commit import require_committed
    from bp_sdk.runner import Stage, run_stage
    from bp_sdk.storage import open_storage
    from bp_simready.stage import SimreadyStage
    from bp_tasks.stage import TasksStage
    from bp_variations.stage import VariationsStage

    from tests.conftest import EXAMPLES, job_env, put_scene

    storage = open_storage(root.as_uri())
    put_scene(storage, SCENE, EXAMPLES / SCENE)
    env = job_env(storage, SCENE, VARIATIONS_COUNT="1")
    upstream: list[Callable[[], Stage[Any]]] = [
        IngestStage,
        SimreadyStage,
        AssembleStage,
        VariationsStage,
        TasksStage,
    ]
    for make in upstream:
        assert run_stage(make(), env) == 0, f"{make.__name__} failed"
    tasks = require_committed(storage, SCENE, "r1", "tasks").read_model("tasks.json", TaskSet)
    sr = require_committed(storage, SCENE, "r1", "simready").read_model(
        "simready_manifest.json", SimreadyManifest
    )
    height = {o.id: o.size_m[2] for o in sr.objects}
    picks = sorted(
        (t for t in tasks.tasks if t.kind == "pick_place"),
        key=lambda t: (height.get(t.object, 1.0), t.task_id),
    )
    chosen = [t.task_id for t in picks[:2]]
    env = job_env(
        storage,
        SCENE,
        EPISODES_TASKS=",".join(chosen),
        EPISODES_PER_TASK="1",
        EPISODES_MAX_VARIANTS="1",
        EPISODES_RESOLUTION="64",
        EPISODES_FPS="20",
        EPISODES_MIN_SUCCESS_RATE="0",
        CLOUD_RUN_EXECUTION="conformance",
    )
    assert run_stage(EpisodesStage(), env) == 0, "the episodes stage failed"
    return EpisodeStore(root, SCENE, "r1")


@pytest.fixture(scope="session")
def episode_store(tmp_path_factory: pytest.TempPathFactory) -> EpisodeStore:
    """Committed episodes: ``$BP_CONFORMANCE_STORE`` if set, else recorded now (real stages)."""
    given = os.environ.get(STORE_ENV)
    if given:
        root = Path(given).resolve()
        return EpisodeStore(root, SCENE, _find_run(root, SCENE))
    store = _record_episodes(tmp_path_factory.mktemp("conformance-store"))
    if store.success_frames() == 0:
        pytest.fail(
            "the recorded episodes all failed: nothing for a core-tier dataset to hold",
            pytrace=False,
        )
    return store


@pytest.fixture(scope="session")
def official_dataset(
    lerobot_python: Path, episode_store: EpisodeStore, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, object]]:
    """The store's successful episodes written by the OFFICIAL LeRobot writer, and its timing."""
    out = tmp_path_factory.mktemp("official") / "dataset"
    result = harness.write_official(episode_store.root, out, episode_store.scene, episode_store.run)
    assert result.ok, f"the official writer failed:\n{result.explain()}\n{result.stderr_tail}"
    return out, result.summary


# ----------------------------------------------------------------------------------------
# A multi-scene, multi-variant tier-full store: kitchen_counter and office_desk (different
# object counts), variants v0000 (nominal) and v0001 (with distractors), 2 episodes per
# (variant, task) at 64². Set BP_CONFORMANCE_MULTI_STORE to a store made by this fixture
# (``specs/multi.json`` inside) to reuse it.
# ----------------------------------------------------------------------------------------
MULTI_ENV = "BP_CONFORMANCE_MULTI_STORE"
MULTI_SCENES = ("kitchen_counter", "office_desk")
MULTI_SPEC = "specs/multi.json"


@dataclass(frozen=True)
class MultiStore:
    """A ``file://`` store with committed tier-full episodes of several scene runs and a
    dataset spec (``spec``, a storage key) listing them."""

    root: Path
    sources: tuple[tuple[str, str], ...]
    spec: str = MULTI_SPEC

    def linked_copy(self, dest: Path) -> MultiStore:
        """A hard-linked copy of the scenes and the spec (the original stays untouched)."""
        for scene, _run in self.sources:
            shutil.copytree(
                self.root / "scenes" / scene, dest / "scenes" / scene, copy_function=os.link
            )
        (dest / self.spec).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.root / self.spec, dest / self.spec)
        return MultiStore(dest, self.sources, self.spec)


def _tasks_for_both_variants(storage: Any, scene: str) -> list[str]:
    """Pick-and-place tasks covering v0000 and v0001: one task with a target in both if the
    scene has one, else the squattest task of each variant."""
    from bp_contracts.simready import SimreadyManifest
    from bp_contracts.tasks import TaskSet
    from bp_sdk.commit import require_committed

    tasks = require_committed(storage, scene, "r1", "tasks").read_model("tasks.json", TaskSet)
    sr = require_committed(storage, scene, "r1", "simready").read_model(
        "simready_manifest.json", SimreadyManifest
    )
    height = {o.id: o.size_m[2] for o in sr.objects}
    picks = sorted(
        (t for t in tasks.tasks if t.kind == "pick_place"),
        key=lambda t: (height.get(t.object, 1.0), t.task_id),
    )
    both = [t for t in picks if {"v0000", "v0001"} <= set(t.targets)]
    if both:
        return [both[0].task_id]
    chosen = []
    for vid in ("v0000", "v0001"):
        for t in picks:
            if vid in t.targets:
                chosen.append(t.task_id)
                break
    return sorted(set(chosen))


def _record_scene(root: Path, scene: str) -> None:
    """One scene of the multi-scene store: the upstream stages, then its episodes."""
    from bp_episodes.stage import EpisodesStage
    from bp_sdk.runner import run_stage
    from bp_sdk.storage import open_storage

    from tests.conftest import EXAMPLES, job_env, put_scene
    from tests.episodes.conftest import UPSTREAM

    storage = open_storage(root.as_uri())
    put_scene(storage, scene, EXAMPLES / scene)
    env = job_env(storage, scene, VARIATIONS_COUNT="2")
    for make in UPSTREAM:
        assert run_stage(make(), env) == 0, f"{scene}: {make.__name__} failed"
    env = job_env(
        storage,
        scene,
        EPISODES_TASKS=",".join(_tasks_for_both_variants(storage, scene)),
        EPISODES_PER_TASK="2",
        EPISODES_MAX_VARIANTS="2",
        EPISODES_RESOLUTION="64",
        EPISODES_FPS="20",
        EPISODES_TIER="full",
        EPISODES_MIN_SUCCESS_RATE="0",
        CLOUD_RUN_EXECUTION="conformance",
    )
    assert run_stage(EpisodesStage(), env) == 0, f"{scene}: the episodes stage failed"


def _record_multi(root: Path) -> MultiStore:
    from bp_sdk.storage import open_storage

    # the scenes are independent (each its own folder of the store): one process each, so
    # both cores of a CI machine work (a stage's process mostly keeps one busy)
    with ProcessPoolExecutor(len(MULTI_SCENES), mp_context=get_context("spawn")) as pool:
        for done in [pool.submit(_record_scene, root, scene) for scene in MULTI_SCENES]:
            done.result()
    storage = open_storage(root.as_uri())
    sources = tuple((scene, "r1") for scene in MULTI_SCENES)
    spec = {
        "schema": "bp.dataset_spec/v1",
        "sources": [{"scene_id": s, "run_id": r} for s, r in sources],
        "tier": "full",
        "description": "conformance: two scenes, two variants each",
    }
    storage.write_bytes(MULTI_SPEC, json.dumps(spec).encode())
    return MultiStore(root, sources)


@pytest.fixture(scope="session")
def multi_store(tmp_path_factory: pytest.TempPathFactory) -> MultiStore:
    """The multi-scene store: ``$BP_CONFORMANCE_MULTI_STORE`` if set, else recorded now."""
    given = os.environ.get(MULTI_ENV)
    if given:
        return MultiStore(Path(given).resolve(), tuple((s, "r1") for s in MULTI_SCENES))
    return _record_multi(tmp_path_factory.mktemp("conformance-multi"))
