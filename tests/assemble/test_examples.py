"""Every example scene assembles: stable, loadable MJCF, valid USD, a real preview, byte-identical twice."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import mujoco
import numpy as np
import pytest
from bp_contracts.assembly import Assembly, StabilityReport
from bp_sdk.commit import require_committed
from bp_sim.compose import part_body
from bp_sim.loader import load_scene_xml
from bp_sim.robots import get_robot
from PIL import Image
from pxr import Usd, UsdGeom, UsdPhysics, UsdShade

from tests.assemble.conftest import Assembled
from tests.conftest import EXAMPLE_SCENES

OUTPUTS = {"scene.xml", "scene.usda", "assembly.json", "stability.json", "preview.png"}
ROBOT_FILES = {
    *get_robot("franka_panda").build().assets,
    "robot_assets/LICENSE",
    "robot_assets/franka_panda.usdc",
}


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_commits_every_output(scene: str, assembled: dict[str, Assembled]) -> None:
    """Exit 0 and a commit record listing the MJCF, its object and robot meshes, the USD (+ robot layer), assembly, stability, preview."""
    a = assembled[scene]
    assert a.first.code == 0, a.first.failure_text()
    files = set(a.first.committed().record.files)
    meshes = {f"meshes/{m.removeprefix('meshes/')}" for m in a.example.meshes}
    assert files == OUTPUTS | meshes | ROBOT_FILES


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_is_stable_within_bounds(scene: str, assembled: dict[str, Assembled]) -> None:
    """stability.json: ≥ 500 steps, every object within 5 mm drift and 2 mm sinking, penetration ≤ 5 mm, robot at home."""
    report = StabilityReport.model_validate(assembled[scene].first.json("stability.json"))
    assert report.ok and report.reasons == []
    assert report.steps == 1000 and report.steps >= 500
    assert report.max_drift_allowed_m == 0.005 and report.max_penetration_allowed_m == 0.005
    movable = [
        o for o in assembled[scene].example.simready.objects if not o.static or o.articulation
    ]
    assert [o.id for o in report.objects] == [o.id for o in movable]
    for o in report.objects:
        assert o.ok and o.drift_m <= 0.005 and o.drop_m <= 0.002, o
    assert report.max_penetration_m <= 0.005
    assert report.robot_ok and report.robot_home_error_rad < 0.02


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_mjcf_loads_from_the_written_files(
    scene: str, assembled: dict[str, Assembled], tmp_path: Path
) -> None:
    """scene.xml rebuilt from the commit record's files (verified) compiles with bp_sim's loader: every object, the home key."""
    a = assembled[scene]
    folder = a.first.export(tmp_path / scene)
    model = load_scene_xml(folder / "scene.xml")
    for obj in a.example.simready.objects:
        assert model.body(obj.id).mass[0] == pytest.approx(
            obj.inertia.mass_kg, rel=1e-5
        )  # MJCF keeps 6 digits
        if obj.articulation:
            assert model.body(part_body(obj.id, obj.articulation.kind)) is not None
    assert model.nkey == 1 and model.key(0).name == "home"
    assert model.nu == 8 and {model.camera(i).name for i in range(model.ncam)} == {"scene", "wrist"}


def test_mjcf_names_its_meshes_under_meshes_and_robot_assets(
    assembled: dict[str, Assembled],
) -> None:
    """Object meshes are named under meshes/, the robot's under robot_assets/, each a committed file."""
    unit = assembled["kitchen_counter"].first.committed()
    text = unit.read_bytes("scene.xml").decode()
    files = [part.split('"', 1)[0] for part in text.split('file="')[1:]]
    assert files and all(f.startswith(("robot_assets/", "meshes/")) for f in files)
    assert "meshes/mug_blue_hull.obj" in files
    assert set(files) <= set(unit.record.files)


def _expected_rigid_bodies(a: Assembled) -> int:
    objs = a.example.simready.objects
    return sum(1 for o in objs if not o.static) + sum(1 for o in objs if o.articulation)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_usd_has_the_expected_prims_masses_and_joints(
    scene: str, assembled: dict[str, Assembled], tmp_path: Path
) -> None:
    """scene.usda opens with pxr: z-up metres/kg, a physics scene, masses and inertias, colliders with materials, joints, the robot prim."""
    a = assembled[scene]
    folder = a.first.export(tmp_path / scene)
    stage = Usd.Stage.Open(str(folder / "scene.usda"))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    assert (
        UsdGeom.GetStageMetersPerUnit(stage) == 1.0
        and UsdPhysics.GetStageKilogramsPerUnit(stage) == 1.0
    )
    assert stage.GetDefaultPrim().GetPath() == "/World"
    scene_prim = UsdPhysics.Scene(stage.GetPrimAtPath("/World/PhysicsScene"))
    assert scene_prim.GetGravityMagnitudeAttr().Get() == pytest.approx(9.81)
    prims = {
        p.GetAttribute("bp:id").Get(): p
        for p in stage.GetPrimAtPath("/World/Objects").GetChildren()
        if p.GetName() == p.GetAttribute("bp:id").Get().replace("-", "_")
    }
    for obj in a.example.simready.objects:
        prim = prims[obj.id]
        assert prim.HasAPI(UsdPhysics.RigidBodyAPI) == (not obj.static)
        if not obj.static:
            mass = UsdPhysics.MassAPI(prim)
            assert mass.GetMassAttr().Get() == pytest.approx(obj.inertia.mass_kg, rel=1e-6)
            assert list(mass.GetDiagonalInertiaAttr().Get()) == pytest.approx(
                list(obj.inertia.diag_kg_m2), rel=1e-5
            )
        parts = prim.GetChildren()
        assert len(parts) == len(obj.parts)
        for part in parts:
            assert part.HasAPI(UsdPhysics.CollisionAPI)
            bound = UsdShade.MaterialBindingAPI(part).GetDirectBinding("physics").GetMaterial()
            friction = UsdPhysics.MaterialAPI(bound.GetPrim()).GetDynamicFrictionAttr().Get()
            assert friction == pytest.approx(obj.friction[0])
    parsed = UsdPhysics.UsdPhysicsLoadStageFromPrimRange(stage, ["/"])
    kinds = {str(k): len(v[0]) for k, v in parsed.items()}
    assert kinds.get("RigidBody") == _expected_rigid_bodies(a)
    arts = [o for o in a.example.simready.objects if o.articulation]
    for obj in arts:
        art = obj.articulation
        assert art is not None
        joint = stage.GetPrimAtPath(f"/World/Joints/{obj.id}_{art.kind}")
        if art.joint == "hinge":
            rev = UsdPhysics.RevoluteJoint(joint)
            assert rev.GetUpperLimitAttr().Get() == pytest.approx(
                math.degrees(art.range[1]), rel=1e-6
            )
        else:
            pri = UsdPhysics.PrismaticJoint(joint)
            assert pri.GetUpperLimitAttr().Get() == pytest.approx(art.range[1], rel=1e-6)
        assert UsdPhysics.DriveAPI(
            joint, "angular" if art.joint == "hinge" else "linear"
        ).GetDampingAttr().Get() == pytest.approx(art.damping)
    joints = sum(n for k, n in kinds.items() if k.endswith("Joint"))
    assert joints == len(arts)
    robot = stage.GetPrimAtPath("/World/Robot")
    assert robot.GetAttribute("bp:robot:name").Get() == "franka_panda"
    assert robot.GetAttribute("bp:robot:sourcePackage").Get() == "robosuite"
    assert robot.GetAttribute("bp:robot:license").Get() == "MIT"
    assembly = Assembly.model_validate(a.first.json("assembly.json"))
    xf = UsdGeom.Xformable(robot).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
    bx, by, bz = assembly.robot.base_position_m
    assert list(xf.ExtractTranslation()) == pytest.approx(
        [bx, by, bz + assembly.robot.pedestal_height_m]
    )


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_preview_is_a_real_picture(scene: str, assembled: dict[str, Assembled]) -> None:
    """preview.png decodes to 640x480 RGB with real content, and a wrist-camera inset in its corner."""
    data = assembled[scene].first.committed().read_bytes("preview.png")
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert image.shape == (480, 640, 3)
    assert image.std() > 25
    assert (
        len(np.unique(image[::4, ::4].reshape(-1, 3), axis=0)) > 200
    )  # many colours, not a flat fill
    frame = image[480 - 8 - 120 - 2, 640 - 8 - 160 : 640 - 8]  # top edge of the inset's white frame
    assert (frame == 255).all()


def test_assembly_records_how_the_scene_was_built(assembled: dict[str, Assembled]) -> None:
    """assembly.json: robot placement with source and licence, cameras, lights, timestep, MuJoCo version, files."""
    a = assembled["kitchen_counter"]
    assembly = Assembly.model_validate(a.first.json("assembly.json"))
    robot = get_robot("franka_panda")
    assert assembly.scene_id == "kitchen_counter" and assembly.timestep_s == 0.002
    assert assembly.mujoco_version == mujoco.__version__
    assert assembly.robot.robot == "franka_panda" and assembly.robot.placed_by == "blueprint"
    assert assembly.robot.base_position_m == (0.0, -0.6, 0.0) and assembly.robot.yaw_deg == 90.0
    assert assembly.robot.pedestal_height_m == pytest.approx(0.81)
    assert assembly.robot.source.license == "MIT" and assembly.robot.source.package == "robosuite"
    assert assembly.robot.home_qpos == pytest.approx(list(robot.home_qpos))
    assert [c.name for c in assembly.cameras] == ["scene", "wrist"]
    assert [light.name for light in assembly.lights] == ["key", "fill"]
    assert assembly.files == {
        "mjcf": "scene.xml",
        "usd": "scene.usda",
        "preview": "preview.png",
        "stability": "stability.json",
        "meshes": "meshes/",
        "robot_assets": "robot_assets/",
        "robot_usd": "robot_assets/franka_panda.usdc",
    }
    simready = require_committed(a.first.storage, "kitchen_counter", "r1", "simready")
    assert assembly.simready_sha256 == simready.record.files["simready_manifest.json"].sha256
    raw = a.first.committed().read_bytes("assembly.json").decode()
    assert json.loads(raw)["schema"] == "bp.assembly/v1"


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_two_runs_write_identical_bytes(scene: str, assembled: dict[str, Assembled]) -> None:
    """Runs r1 and r2 of the same inputs commit byte-identical files (preview.png included: same machine, same GL driver)."""
    a = assembled[scene]
    first = {k: v.sha256 for k, v in a.first.committed().record.files.items()}
    second = {k: v.sha256 for k, v in a.second.committed().record.files.items()}
    assert first == second
