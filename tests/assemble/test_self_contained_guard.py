"""Trying to break the self-contained folder: a scene naming a file outside it is refused before anything is written."""

from __future__ import annotations

import bp_sim.compose
import bp_sim.robots.base
import pytest
from bp_assemble.assets import mjcf_file_refs, scene_files
from bp_sdk.storage import Storage

from tests.assemble._support import assemble
from tests.assemble.conftest import prepare
from tests.conftest import EXAMPLES, put_scene

SCENE = "kitchen_counter"
HOSTILE = """<mujoco>
  <compiler meshdir="/opt/meshes"/>
  <asset>
    <mesh name="a" file="ok.stl"/>
  </asset>
</mujoco>"""


def test_guard_names_every_path_that_would_not_open_on_its_own() -> None:
    """Absolute, parent-relative, Windows and drive paths, an absolute meshdir and a file not held are all reported; good names kept."""
    xml = """<mujoco>
      <asset>
        <mesh name="good" file="meshes/good.obj"/>
        <mesh name="abs" file="/usr/share/robot/link0.stl"/>
        <mesh name="up" file="../other_scene/meshes/x.obj"/>
        <mesh name="sneaky" file="meshes/../../x.obj"/>
        <mesh name="win" file="robot_assets\\\\link1.stl"/>
        <mesh name="drive" file="C:/robot/link2.stl"/>
        <mesh name="missing" file="meshes/missing.obj"/>
        <texture name="sky" type="skybox" fileup="/textures/up.png"/>
      </asset>
    </mujoco>"""
    held = {
        "meshes/good.obj": b"g",
        "/usr/share/robot/link0.stl": b"a",
        "../other_scene/meshes/x.obj": b"u",
        "meshes/../../x.obj": b"s",
    }
    files, problems = scene_files(xml, held)
    assert files == {"meshes/good.obj": b"g"}
    outside = [p for p in problems if "outside its folder" in p]
    assert len(outside) == 6 and len(problems) == 7
    assert any("'meshes/missing.obj'" in p and "does not hold" in p for p in problems)


def test_guard_resolves_files_against_the_compilers_folders() -> None:
    """A relative file under an absolute meshdir is an absolute path to MuJoCo, so it is refused too."""
    assert mjcf_file_refs(HOSTILE) == ["/opt/meshes/ok.stl"]
    files, problems = scene_files(HOSTILE, {"ok.stl": b"x", "/opt/meshes/ok.stl": b"x"})
    assert files == {} and len(problems) == 1 and "outside its folder" in problems[0]


@pytest.mark.parametrize(
    ("target", "value"),
    [
        ("mesh_file", lambda path: f"../escape/{path.rsplit('/', 1)[-1]}"),
        ("robot_assets", "/srv/robot_assets"),
    ],
    ids=["object-mesh-outside", "robot-meshes-absolute"],
)
def test_stage_refuses_a_scene_naming_files_outside_its_folder(
    file_storage: Storage, monkeypatch: pytest.MonkeyPatch, target: str, value: object
) -> None:
    """bp_sim made to name an object mesh above the folder, or the robot's meshes by an absolute path: exit 3, nothing committed."""
    put_scene(file_storage, SCENE, EXAMPLES / SCENE)
    prepare(file_storage, SCENE, "r1")
    if target == "mesh_file":
        monkeypatch.setattr(bp_sim.compose, "mesh_file", value)
    else:
        monkeypatch.setattr(bp_sim.robots.base, "ROBOT_ASSETS", value)
    out = assemble(file_storage, SCENE)
    assert out.code == 3, out.failure_text()
    marker = out.marker()
    assert marker.permanent and not out.is_committed()
    assert "would not open on its own" in marker.message
    assert marker.problems and all("outside its folder" in p for p in marker.problems)
    written = [k for k in out.run_keys() if "/assemble/" in k]
    assert [k.rsplit("/", 1)[-1] for k in written] == ["_FAILURE.json"]
