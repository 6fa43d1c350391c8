"""Bad input stops simready cleanly: one permanent error listing every problem, a failure
marker naming the objects, and nothing else written."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from bp_ingest.stage import IngestStage
from bp_sdk.errors import ExitCode
from bp_sdk.layout import input_dir
from bp_sdk.storage import Storage, join, open_storage
from bp_simready.stage import SimreadyStage

from tests.conftest import EXAMPLES, config_markers_only, minimal_blueprint, put_scene
from tests.simready._support import Chain, chain, run

MUG_OBJ = (EXAMPLES / "kitchen_counter" / "meshes" / "mug.obj").read_bytes()


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    """A fresh file:// storage."""
    return open_storage((tmp_path / "store").as_uri())


def heavy_blueprint() -> dict[str, Any]:
    """A 5 m stone countertop (587 kg) and a 12 m stone island (2,022 kg, and longer than 10 m) with two mugs."""
    bp = minimal_blueprint()
    mug = bp["objects"][1]
    bp["objects"] = [
        {
            "id": "counter_long",
            "category": "countertop",
            "size": [5.0, 0.62, 0.91],
            "pose": {"position": [0, 0, 0.455]},
            "support": "floor",
        },
        {
            "id": "island_huge",
            "category": "kitchen_island",
            "size": [12.0, 0.9, 0.9],
            "pose": {"position": [0, 3, 0.45]},
            "support": "floor",
        },
        {**mug, "id": "mug_a", "support": "counter_long", "pose": {"position": [0, 0, 0.96]}},
        {**mug, "id": "mug_b", "support": "island_huge", "pose": {"position": [0, 3, 0.95]}},
    ]
    return bp


def only_marker(c: Chain) -> None:
    """The simready stage folder holds exactly one failure marker and nothing else."""
    keys = c.simready_keys()
    assert len(keys) == 1 and keys[0].endswith("/_FAILURE.json"), keys


def test_implausible_masses_fail_with_every_object_and_check_named(storage: Storage) -> None:
    """A 587 kg countertop and a 2,022 kg, 12 m island: exit 3, one marker naming both objects, each check, value and range."""
    c = chain(storage, "heavy", heavy_blueprint())
    assert c.ingest_code == 0
    assert c.code == ExitCode.PERMANENT
    only_marker(c)
    (marker,) = c.markers()
    assert marker.error_type == "InputError" and marker.permanent and marker.exit_code == 3
    assert "2 objects cannot be simulated as given (3 problems)" in marker.message
    text = "\n".join(marker.problems)
    assert len(marker.problems) == 3, text
    counter = next(p for p in marker.problems if p.startswith("counter_long"))
    assert "$.objects[0], countertop" in counter
    assert "mass_kg = 586.768 is outside 0.01..500" in counter and "0.01..500" in counter
    assert "stone 2600 kg/m³" in counter and "box 5 x 0.62 x 0.91 m x fill 0.08" in counter
    assert "(fix: check the object's size and units" in counter
    island = [p for p in marker.problems if p.startswith("island_huge")]
    assert any("mass_kg = 2021.76" in p for p in island), island
    assert any("extent_max_m = 12 is outside 1e-06..10" in p for p in island), island
    assert not any(p.startswith("mug_") for p in marker.problems)
    assert marker.next_step.startswith("Fix every listed problem")


def test_a_retry_of_the_implausible_scene_stops_at_once(storage: Storage) -> None:
    """Running simready again for the same inputs finds the permanent marker and exits 3
    without doing the work again: its attempt holds only a marker repeating the reason."""
    c = chain(storage, "heavy", heavy_blueprint(), CLOUD_RUN_EXECUTION="e1")
    assert c.code == ExitCode.PERMANENT
    again = run(
        SimreadyStage(), storage, "heavy", CLOUD_RUN_EXECUTION="e1", CLOUD_RUN_TASK_ATTEMPT="1"
    )
    assert again == ExitCode.PERMANENT
    keys = c.simready_keys()
    assert [k.rsplit("/", 2)[-2] for k in keys] == ["e1-a0", "e1-a1"] and all(k.endswith("/_FAILURE.json") for k in keys)


def test_tampered_mesh_is_a_permanent_error_naming_the_mesh(storage: Storage) -> None:
    """A mesh changed after ingest (sha256 mismatch) stops simready: exit 3, the marker names the mesh and its user."""
    put_scene(storage, "kitchen_counter", EXAMPLES / "kitchen_counter")
    assert run(IngestStage(), storage, "kitchen_counter") == 0
    storage.write_bytes(
        join(input_dir("kitchen_counter"), "meshes/mug.obj"), MUG_OBJ + b"# changed\n"
    )
    c = Chain(storage, "kitchen_counter", "r1", 0, run(SimreadyStage(), storage, "kitchen_counter"))
    assert c.code == ExitCode.PERMANENT
    only_marker(c)
    (marker,) = c.markers()
    assert marker.error_type == "PermanentError" and marker.permanent
    assert "1 mesh of scene 'kitchen_counter' do not match the scene manifest" in marker.message
    (problem,) = marker.problems
    assert problem.startswith(
        "input/meshes/mug.obj (used by mug_blue): mesh 'meshes/mug.obj' has sha256"
    )
    assert "the input changed after ingest" in problem
    assert "RUN_ID" in marker.next_step


def test_the_first_commit_stands_when_the_mesh_changes_later(storage: Storage) -> None:
    """The committed r1 is untouched by a later mesh change; a new run id on the changed input fails instead of overwriting."""
    c = chain(storage, "kitchen_counter", EXAMPLES / "kitchen_counter")
    assert c.code == 0
    before = c.record()
    storage.write_bytes(
        join(input_dir("kitchen_counter"), "meshes/mug.obj"), MUG_OBJ + b"# changed\n"
    )
    assert (
        run(SimreadyStage(), storage, "kitchen_counter", "r1") == ExitCode.PERMANENT
    )  # inputs differ from r1's
    assert c.record() == before


@pytest.mark.parametrize(
    ("mesh", "data", "expect"),
    [
        ("meshes/bad.obj", b"this is not a mesh\n", "mesh 'meshes/bad.obj' holds no triangles"),
        (
            "meshes/cup.usda",
            b"#usda 1.0\n",
            "simready reads .glb, .gltf, .obj, .ply, .stl, not .usda",
        ),
        ("meshes/flat.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n", "is flat"),
    ],
)
def test_unusable_mesh_is_an_input_error_naming_it(
    storage: Storage, mesh: str, data: bytes, expect: str
) -> None:
    """A mesh simready cannot read, or a flat one, fails with exit 3 naming the mesh and the objects using it."""
    bp = copy.deepcopy(minimal_blueprint())
    bp["objects"][1]["mesh"] = mesh
    c = chain(storage, "badmesh", bp, extra={mesh: data})
    assert c.ingest_code == 0
    assert c.code == ExitCode.PERMANENT
    only_marker(c)
    (marker,) = c.markers()
    assert marker.error_type == "InputError"
    (problem,) = marker.problems
    assert problem.startswith(f"input/{mesh} (used by mug): ") and expect in problem, problem


def test_simready_without_ingest_says_what_to_run_first(storage: Storage) -> None:
    """With no committed ingest, simready exits 3 and tells to run ingest first."""
    assert run(SimreadyStage(), storage, "nothing") == ExitCode.PERMANENT
    keys = [i.path for i in storage.list("scenes/nothing/")]
    assert len(keys) == 1 and keys[0].endswith("/_FAILURE.json")
    marker = storage.read_bytes(keys[0]).decode()
    assert "stage 'ingest' has no commit record" in marker and "bp stage ingest" in marker


def test_bad_settings_are_a_configuration_error(storage: Storage) -> None:
    """Out-of-range SIMREADY_* settings exit 2 before any work, naming every variable."""
    code = run(
        SimreadyStage(), storage, "s", SIMREADY_MAX_GRASP_KG="-1", SIMREADY_COACD_MAX_HULLS="0"
    )
    assert code == ExitCode.CONFIG
    assert config_markers_only(storage) == []
