"""Assemble refuses what it cannot stand behind: unstable scenes, bad settings, missing or inconsistent upstream."""

from __future__ import annotations

import pytest
from bp_sdk.layout import stage_dir
from bp_sdk.storage import Storage

from tests.assemble._support import assemble, commit_simready
from tests.conftest import EXAMPLES, put_scene
from tests.ingest._support import ingest, ok_manifest
from tests.sim._simready import bare_manifest, box_object, simready_from

SCENE = "kitchen_counter"


def _kitchen(
    storage: Storage,
    run: str = "r1",
    robot_base: tuple[tuple[float, float, float], float] | None = None,
    **moves: tuple[float, float, float],
) -> None:
    """Ingest the kitchen example and commit stand-in simready output, with objects (or the robot) moved."""
    put_scene(storage, SCENE, EXAMPLES / SCENE)
    simready, sources = simready_from(ok_manifest(ingest(storage, SCENE, run)))
    objects = [
        o.model_copy(update={"position_m": moves[o.id]}) if o.id in moves else o
        for o in simready.objects
    ]
    changes: dict[str, object] = {"objects": objects}
    if robot_base is not None:
        changes["robot_base"] = robot_base
    meshes = {name: (EXAMPLES / SCENE / src).read_bytes() for name, src in sources.items()}
    commit_simready(storage, SCENE, run, simready.model_copy(update=changes), meshes)


def _assemble_keys(storage: Storage, run: str = "r1") -> list[str]:
    return [
        i.path.rsplit("/", 1)[-1] for i in storage.list(stage_dir(SCENE, run, "assemble") + "/")
    ]


def test_floating_object_is_a_permanent_error_naming_it(file_storage: Storage) -> None:
    """A mug 5 cm above the counter falls while settling: exit 3, the marker names it and its drift; nothing is written."""
    _kitchen(file_storage, mug_blue=(0.26, -0.18, 1.0075))
    out = assemble(file_storage, SCENE)
    assert out.code == 3
    marker = out.marker()
    assert marker.permanent and marker.error_type == "PermanentError"
    assert "not stable" in marker.message
    mug = [p for p in marker.problems if p.startswith("mug_blue: mug_blue drifted")]
    assert len(mug) == 1 and "(limit 5.0 mm)" in mug[0] and "fix:" in mug[0]
    assert not any(p.startswith(("apple_red", "bowl_white")) for p in marker.problems)
    assert marker.partial_results["stability"]["stable"] is False
    assert not out.is_committed()
    assert _assemble_keys(file_storage) == ["_FAILURE.json"]  # no scene.xml, usd, preview...


def test_overlapping_objects_are_named_together(file_storage: Storage) -> None:
    """A can placed inside the bottle: exit 3 naming both objects as interpenetrating."""
    _kitchen(file_storage, can_soda=(0.32, -0.05, 0.971))
    out = assemble(file_storage, SCENE)
    assert out.code == 3
    problems = out.marker().problems
    assert any(
        p.startswith("bottle_water, can_soda: bottle_water and can_soda interpenetrate")
        for p in problems
    ), problems
    assert _assemble_keys(file_storage) == ["_FAILURE.json"]


def test_a_robot_standing_inside_the_counter_is_an_input_error(file_storage: Storage) -> None:
    """robot_base under the counter's edge (a blind spot of physics: both are welded to the world): exit 3 naming the counter."""
    _kitchen(file_storage, robot_base=((0.0, -0.2, 0.0), 90.0))
    out = assemble(file_storage, SCENE)
    assert out.code == 3
    marker = out.marker()
    assert marker.error_type == "InputError"
    assert len(marker.problems) == 1
    assert marker.problems[0].startswith(
        "counter, robot: the blueprint robot_base at (0.000, -0.200) m"
    )
    assert "move robot_base" in marker.problems[0]
    assert _assemble_keys(file_storage) == ["_FAILURE.json"]


def test_a_post_in_the_arms_way_is_named_with_the_robot(file_storage: Storage) -> None:
    """A static post reaching into the hand's home pose: the robot and the post interpenetrate, named as a pair."""
    table = box_object("table", (1.0, 0.6, 0.7), (0.0, 0.0, 0.35), 30.0, static=True)
    cube = box_object("cube", (0.05, 0.05, 0.05), (0.2, 0.1, 0.725), 0.1, support="table")
    # robot at y=-0.6 facing +y on a 0.6 m pedestal: its hand hangs at (0, -0.29, ~1.09)
    post = box_object(
        "post", (0.04, 0.04, 0.45), (0.0, -0.27, 0.925), 1.0, static=True, support="table"
    )
    manifest = bare_manifest(SCENE, [table, cube, post], robot_base=((0.0, -0.6, 0.0), 90.0))
    commit_simready(file_storage, SCENE, "r1", manifest, {})
    out = assemble(file_storage, SCENE)
    assert out.code == 3
    problems = out.marker().problems
    assert any(
        p.startswith("post, robot: post and robot interpenetrate") and "move robot_base" in p
        for p in problems
    ), problems


def test_rerun_of_a_permanent_failure_stops_at_once(file_storage: Storage) -> None:
    """The same unstable inputs again: exit 3 from the earlier marker, without redoing the work."""
    _kitchen(file_storage, mug_blue=(0.26, -0.18, 1.0075))
    assert assemble(file_storage, SCENE).code == 3
    again = assemble(file_storage, SCENE)
    assert again.code == 3
    assembled = [k for k in again.run_keys() if "/assemble/" in k]
    markers = [k for k in assembled if k.endswith("_FAILURE.json")]
    # the re-run did no work: it wrote only its own marker, repeating the first one's reason
    assert len(markers) == 2
    folders = [m.rsplit("/", 1)[0] for m in markers]
    bare = [f for f in folders if [k for k in assembled if k.startswith(f + "/")] == [f + "/_FAILURE.json"]]
    assert bare, "the re-run's attempt should hold its marker and nothing else"


def test_unknown_robot_is_a_configuration_error(
    file_storage: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    """ASSEMBLE_ROBOT=ur5e exits 2 before any work, listing the valid robot names."""
    out = assemble(file_storage, SCENE, ASSEMBLE_ROBOT="ur5e")
    assert out.code == 2
    err = capsys.readouterr()
    assert (
        "ASSEMBLE_ROBOT" in err.err + err.out and "valid names: franka_panda" in err.err + err.out
    )
    assert [k for k in out.run_keys() if not k.endswith("/_FAILURE.json")] == []  # only its ConfigError marker


def test_too_few_settling_steps_is_a_configuration_error(
    file_storage: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    """ASSEMBLE_SETTLE_STEPS below 500 exits 2 naming the variable."""
    out = assemble(file_storage, SCENE, ASSEMBLE_SETTLE_STEPS="100", MUJOCO_GL="glx")
    assert out.code == 2
    err = capsys.readouterr()
    text = err.err + err.out
    assert "ASSEMBLE_SETTLE_STEPS" in text and "MUJOCO_GL" in text


def test_missing_simready_is_permanent_and_says_what_to_run(file_storage: Storage) -> None:
    """Without a committed simready output: exit 3 telling to run simready first."""
    put_scene(file_storage, SCENE, EXAMPLES / SCENE)
    out = assemble(file_storage, SCENE)
    assert out.code == 3
    marker = out.marker()
    assert "'simready' has no commit record" in marker.message
    assert "Run the simready stage" in marker.next_step
    assert _assemble_keys(file_storage) == ["_FAILURE.json"]


def test_a_collision_mesh_simready_did_not_commit_is_an_input_error(file_storage: Storage) -> None:
    """A part naming a mesh file missing from simready's commit: exit 3 naming the file."""
    put_scene(file_storage, SCENE, EXAMPLES / SCENE)
    simready, _ = simready_from(ok_manifest(ingest(file_storage, SCENE)))
    commit_simready(file_storage, SCENE, "r1", simready, {})
    out = assemble(file_storage, SCENE)
    assert out.code == 3
    marker = out.marker()
    assert marker.error_type == "InputError"
    assert any(
        "meshes/mug_blue_hull.obj" in p and "committed no such file" in p for p in marker.problems
    )
