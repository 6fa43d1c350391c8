"""The tasks stage through the real runner, on upstream outputs committed from code."""

from __future__ import annotations

import ast
import json

import pytest
from bp_sdk.errors import ExitCode
from bp_sdk.storage import Storage

from tests.tasks._support import (
    assembly,
    publish,
    run_tasks,
    sim_object,
    simready,
    task_problems,
    variant,
)
from tests.tasks.conftest import TABLE_TOP, table_scene


def _variants() -> list:
    moved = {"can": ((0.0, -0.2, TABLE_TOP + 0.06), (1.0, 0.0, 0.0, 0.0))}
    extra = [
        sim_object(
            "d0", "toy_block", (0.05, 0.05, 0.05), (0.05, 0.0, TABLE_TOP + 0.025), support="table"
        )
    ]
    return [variant("s1", 0), variant("s1", 1, poses=moved, distractors=extra)]


def _publish(
    storage: Storage, run: str = "r1", objects=None, variants=None, scene: str = "s1"
) -> None:
    objs = table_scene() if objects is None else objects
    publish(
        storage,
        scene,
        run,
        simready(scene, objs),
        assembly(scene),
        _variants() if variants is None else variants,
    )


def test_commits_tasks_and_isaac_package(file_storage: Storage) -> None:
    """The stage commits tasks.json and the Isaac Lab package, and every task passes the independent checks."""
    _publish(file_storage)
    out = run_tasks(file_storage, "s1")
    assert out.code == 0, out.marker_text()
    ts = out.taskset()
    assert ts.variants == ["v0000", "v0001"]
    assert task_problems(ts, simready("s1", table_scene()), assembly("s1"), _variants()) == []
    files = out.files()
    names = set(files)
    assert {
        "tasks.json",
        "isaac_lab/s1/__init__.py",
        "isaac_lab/s1/env_cfg.py",
        "isaac_lab/s1/README.md",
    } <= names
    assert {f"isaac_lab/s1/tasks/{t.task_id}.py" for t in ts.tasks} <= names
    raw = json.loads(files["tasks.json"])
    assert json.dumps(raw, indent=2, sort_keys=True) + "\n" == files["tasks.json"].decode()


def test_same_inputs_same_bytes_under_another_run_id(file_storage: Storage) -> None:
    """Two runs with different RUN_IDs commit byte-identical tasks.json and Isaac Lab files."""
    _publish(file_storage, "r1")
    _publish(file_storage, "r2")
    one, two = run_tasks(file_storage, "s1", "r1"), run_tasks(file_storage, "s1", "r2")
    assert one.code == two.code == 0
    assert one.files() == two.files()


def test_isaac_files_parse_and_name_everything(file_storage: Storage) -> None:
    """Every generated Python file parses; env_cfg names every object, __init__ every task."""
    _publish(file_storage)
    out = run_tasks(file_storage, "s1")
    files, ts = out.files(), out.taskset()
    for name, data in files.items():
        if name.endswith(".py"):
            ast.parse(data.decode(), filename=name)
    env_cfg = files["isaac_lab/s1/env_cfg.py"].decode()
    init = files["isaac_lab/s1/__init__.py"].decode()
    for o in table_scene():
        assert repr(o.id) in env_cfg
    for t in ts.tasks:
        assert repr(t.task_id) in files[f"isaac_lab/s1/tasks/{t.task_id}.py"].decode()
        assert (
            t.task_id in init
            and repr(t.object) in files[f"isaac_lab/s1/tasks/{t.task_id}.py"].decode()
        )


def test_hostile_category_stays_a_string_literal(file_storage: Storage) -> None:
    """Text from upstream (here a category with quotes, newlines and code) only ever lands inside literals."""
    evil = 'can"\nimport os\nos.system("x")  #'
    objs = [
        *table_scene(),
        sim_object(
            "odd",
            evil,
            (0.05, 0.05, 0.05),
            (0.0, -0.3, TABLE_TOP + 0.025),
            support="table",
            graspable=True,
        ),
    ]
    _publish(file_storage, objects=objs, variants=[variant("s1", 0)])
    out = run_tasks(file_storage, "s1")
    assert out.code == 0, out.marker_text()
    for name, data in out.files().items():
        if not name.endswith(".py"):
            continue
        tree = ast.parse(data.decode())
        assert not any(
            isinstance(n, ast.Import) and any(a.name == "os" for a in n.names)
            for n in ast.walk(tree)
        ), name
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "system"
        ]
        assert not calls, name


def test_no_task_scene_fails_permanently_and_writes_nothing(file_storage: Storage) -> None:
    """A table and a wide bowl: exit 3, the marker names each object and why, no file is written."""
    objs = [
        sim_object("table", "table", (1.2, 0.8, 0.75), (0.0, 0.0, 0.375)),
        sim_object(
            "big_bowl", "bowl", (0.3, 0.3, 0.1), (0.1, -0.1, 0.8), support="table", graspable=False
        ),
    ]
    _publish(file_storage, objects=objs, variants=[variant("s1", 0)])
    out = run_tasks(file_storage, "s1")
    assert out.code == ExitCode.PERMANENT
    (marker,) = out.markers()
    assert marker.permanent and marker.message.startswith("no task can be made for scene 's1'")
    assert any(p.startswith("object table: static support") for p in marker.problems)
    assert any(p.startswith("object big_bowl: not graspable") for p in marker.problems)
    assert [k for k in out.stored_keys() if not k.endswith("_FAILURE.json")] == []


def test_upstream_disagreement_lists_every_problem(file_storage: Storage) -> None:
    """A variant naming unknown objects and a duplicate distractor id fails once with every problem."""
    bad = variant(
        "s1",
        0,
        poses={"ghost": ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0, 0.0))},
        distractors=[
            sim_object("can", "can", (0.066, 0.066, 0.12), (0.0, 0.0, 0.81), support="table")
        ],
        colours={"phantom": (1.0, 0.0, 0.0, 1.0)},
    )
    _publish(file_storage, variants=[bad])
    out = run_tasks(file_storage, "s1")
    assert out.code == ExitCode.PERMANENT
    (marker,) = out.markers()
    text = "\n".join(marker.problems)
    assert (
        "unknown object 'ghost'" in text and "'phantom'" in text and "distractor id 'can'" in text
    )


def test_missing_upstream_is_permanent(file_storage: Storage) -> None:
    """Without committed upstream stages the stage stops with a permanent error naming the stage."""
    out = run_tasks(file_storage, "s1")
    assert out.code == ExitCode.PERMANENT
    (marker,) = out.markers()
    assert "simready" in marker.message


@pytest.mark.parametrize(
    ("env", "name"),
    [
        (
            {"TASKS_MAX_REACH_M": "0.2", "TASKS_MIN_HORIZONTAL_REACH_M": "0.3"},
            "TASKS_MIN_HORIZONTAL_REACH_M",
        ),
        ({"TASKS_PUSH_DISTANCE_M": "-1"}, "TASKS_PUSH_DISTANCE_M"),
    ],
)
def test_bad_settings_exit_2(file_storage: Storage, env: dict[str, str], name: str, capsys) -> None:
    """Inconsistent or out-of-range settings are a configuration error naming the variable."""
    out = run_tasks(file_storage, "s1", **env)
    assert out.code == ExitCode.CONFIG
    assert name in capsys.readouterr().err
