"""End to end: every example goes ingest → simready → assemble → variations → tasks, in-process."""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass

import pytest
from bp_contracts.assembly import Assembly
from bp_contracts.simready import SimreadyManifest
from bp_contracts.tasks import TaskSet
from bp_contracts.variation import Variant
from bp_sdk.errors import ExitCode
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage, open_storage

from tests.conftest import EXAMPLE_SCENES, EXAMPLES, job_env, minimal_blueprint, put_scene
from tests.tasks._support import Outcome, committed_upstream, republish, run_tasks, task_problems

pytest.importorskip("bp_simready.stage", reason="the simready stage is not written yet")
pytest.importorskip("bp_assemble.stage", reason="the assemble stage is not written yet")
pytest.importorskip("bp_variations.stage", reason="the variations stage is not written yet")

from bp_assemble.stage import AssembleStage
from bp_ingest.stage import IngestStage
from bp_simready.stage import SimreadyStage
from bp_variations.stage import VariationsStage

UPSTREAM = (IngestStage, SimreadyStage, AssembleStage, VariationsStage)


@dataclass
class Example:
    """One example scene: its upstream documents and the tasks of runs r1 and r2 (same inputs)."""

    sim: SimreadyManifest
    asm: Assembly
    variants: list[Variant]
    r1: Outcome
    r2: Outcome


def _upstream(storage: Storage, scene: str, run: str = "r1") -> None:
    for stage in UPSTREAM:
        code = run_stage(stage(), job_env(storage, scene, run))
        logging.getLogger().handlers.clear()
        assert code == 0, f"{stage.name} failed on {scene} (exit {code})"


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    """One file:// storage for the module."""
    return open_storage(tmp_path_factory.mktemp("tasks_examples").as_uri())


@pytest.fixture(scope="module")
def examples(storage: Storage) -> dict[str, Example]:
    """Every example through the real chain; tasks run again as r2 on the same upstream bytes."""
    out: dict[str, Example] = {}
    for scene in EXAMPLE_SCENES:
        put_scene(storage, scene, EXAMPLES / scene)
        _upstream(storage, scene)
        republish(storage, scene, "r1", "r2")
        r1, r2 = run_tasks(storage, scene, "r1"), run_tasks(storage, scene, "r2")
        logging.getLogger().handlers.clear()
        sim, asm, variants = committed_upstream(storage, scene, "r1")
        out[scene] = Example(sim, asm, variants, r1, r2)
    return out


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_tasks_are_valid(scene: str, examples: dict[str, Example]) -> None:
    """Objects exist; targets are on their support, free, reachable; predicates and words well-formed."""
    ex = examples[scene]
    assert ex.r1.code == 0, ex.r1.marker_text()
    ts = ex.r1.taskset()
    assert ts.tasks, "no tasks"
    assert task_problems(ts, ex.sim, ex.asm, ex.variants) == []


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_is_deterministic(scene: str, examples: dict[str, Example]) -> None:
    """Runs under different RUN_IDs commit byte-identical tasks.json and Isaac Lab files."""
    ex = examples[scene]
    assert ex.r1.files() == ex.r2.files()


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_isaac_lab_package_parses(scene: str, examples: dict[str, Example]) -> None:
    """Every generated Python file parses and mentions the ids it is about."""
    ex = examples[scene]
    files = ex.r1.files()
    ts = TaskSet.model_validate_json(files["tasks.json"])
    base = f"isaac_lab/{scene}"
    for name, data in files.items():
        if name.endswith(".py"):
            ast.parse(data.decode(), filename=name)
    env_cfg = files[f"{base}/env_cfg.py"].decode()
    assert all(repr(o.id) in env_cfg for o in ex.sim.objects)
    init = files[f"{base}/__init__.py"].decode()
    for t in ts.tasks:
        module = files[f"{base}/tasks/{t.task_id}.py"].decode()
        assert repr(t.task_id) in module and repr(t.object) in module and t.task_id in init
    assert f"{base}/README.md" in files


def test_every_task_kind_of_the_examples(examples: dict[str, Example]) -> None:
    """Across the examples there are pick-and-place tasks onto receptacles and pushes."""
    tasks = [t for ex in examples.values() for t in ex.r1.taskset().tasks]
    assert any(t.kind == "pick_place" and t.task_id.endswith("_to_tray_1") for t in tasks)
    assert any(t.kind == "push" for t in tasks)


def test_pantry_drawer_with_a_longer_reach(storage: Storage, examples: dict[str, Example]) -> None:
    """With TASKS_MAX_REACH_M=0.95 the pantry's drawer unit gets open and close tasks that pass the checks."""
    ex = examples["pantry_shelf"]
    republish(storage, "pantry_shelf", "r1", "reach95")
    out = run_tasks(storage, "pantry_shelf", "reach95", TASKS_MAX_REACH_M="0.95")
    logging.getLogger().handlers.clear()
    assert out.code == 0, out.marker_text()
    ts = out.taskset()
    kinds = {t.kind for t in ts.tasks if t.object == "drawer_unit_1"}
    assert kinds == {"open_drawer", "close_drawer"}
    assert task_problems(ts, ex.sim, ex.asm, ex.variants, max_reach=0.95) == []


def test_no_task_scene_fails_cleanly(storage: Storage) -> None:
    """A table and a wide bowl: tasks exits 3, the marker names both objects, nothing is committed."""
    bp = minimal_blueprint()
    bp["objects"] = [
        bp["objects"][0],
        {
            "id": "wide_bowl",
            "category": "bowl",
            "size": [0.2, 0.2, 0.08],
            "pose": {"position": [0.1, 0.0, 0.79]},
            "support": "table",
        },
    ]
    put_scene(storage, "no_task", bp)
    _upstream(storage, "no_task")
    out = run_tasks(storage, "no_task")
    logging.getLogger().handlers.clear()
    assert out.code == ExitCode.PERMANENT
    (marker,) = out.markers()
    assert "no task can be made for scene 'no_task'" in marker.message
    assert any(p.startswith("object table:") for p in marker.problems)
    assert any(p.startswith("object wide_bowl: not graspable") for p in marker.problems)
    assert [k for k in out.stored_keys() if not k.endswith("_FAILURE.json")] == []
