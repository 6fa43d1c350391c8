"""The committed assemble folder opens on its own: plain MuJoCo and plain usd-core, downloaded or in place."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

import mujoco
import numpy as np
import pytest
from bp_contracts.assembly import Assembly
from bp_sim.compose import HOME_KEY, compile_as_written, compose_scene, free_joint, part_body
from bp_sim.robots import get_robot
from pxr import Sdf, Usd, UsdGeom, UsdUtils

from tests.assemble.conftest import Assembled
from tests.conftest import EXAMPLE_SCENES

ROBOT = get_robot("franka_panda")
ROBOT_USD = "robot_assets/franka_panda.usdc"
SETTLE_STEPS = 500


def _robot_meshes() -> set[str]:
    """Names of the Panda's meshes inside a composed scene."""
    return {ROBOT.scoped(m.name) for m in ROBOT.build().spec.meshes}


def _check_scene_model(model: mujoco.MjModel, a: Assembled) -> None:
    """The Panda (joints, actuators, every mesh) and every object of the example are in the model."""
    names = {model.mesh(i).name for i in range(model.nmesh)}
    assert _robot_meshes() <= names and len(_robot_meshes()) == 63
    for joint in ROBOT.joints:
        assert model.joint(ROBOT.scoped(joint)).id >= 0
    assert model.nu == 8 and model.body(ROBOT.scoped(ROBOT.base_body)).id >= 0
    for obj in a.example.simready.objects:
        assert model.body(obj.id).mass[0] == pytest.approx(obj.inertia.mass_kg, rel=1e-5)
        if obj.articulation:
            assert model.body(part_body(obj.id, obj.articulation.kind)).id >= 0
    assert model.nkey == 1 and model.key(0).name == HOME_KEY


def _settle(model: mujoco.MjModel, a: Assembled) -> None:
    """From the home key, holding home: mj_step runs cleanly and no movable object drifts > 5 mm."""
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    movable = [o for o in a.example.simready.objects if not o.static]
    adr = [model.jnt_qposadr[model.joint(free_joint(o.id)).id] for o in movable]
    start = [data.qpos[i : i + 3].copy() for i in adr]
    mujoco.mj_step(model, data, nstep=SETTLE_STEPS)
    assert data.time == pytest.approx(SETTLE_STEPS * model.opt.timestep)
    assert np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()
    assert all(w.number == 0 for w in data.warning), "MuJoCo warned while stepping"
    for obj, i, p0 in zip(movable, adr, start, strict=True):
        assert np.linalg.norm(data.qpos[i : i + 3] - p0) < 0.005, obj.id


def _inside(folder: Path, path: str) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def _check_usd(folder: Path) -> Usd.Stage:
    """scene.usda opens; every layer and asset it depends on resolves to a file in ``folder``."""
    layers, assets, unresolved = UsdUtils.ComputeAllDependencies(str(folder / "scene.usda"))
    assert unresolved == []
    paths = [layer.realPath for layer in layers] + list(assets)
    assert {Path(p).name for p in paths} >= {"scene.usda", "franka_panda.usdc"}
    assert all(Path(p).is_file() and _inside(folder, p) for p in paths), paths
    stage = Usd.Stage.Open(str(folder / "scene.usda"))
    assert stage is not None
    for prim in stage.Traverse():
        for attr in prim.GetAttributes():
            if attr.GetTypeName() in (Sdf.ValueTypeNames.Asset, Sdf.ValueTypeNames.AssetArray):
                values = attr.Get()
                for v in values if isinstance(values, Sdf.AssetPathArray) else [values]:
                    assert v is None or Path(v.resolvedPath).is_file(), (attr.GetPath(), v)
    visual = stage.GetPrimAtPath("/World/Robot/Visual")
    assert visual.IsLoaded() and visual.HasAuthoredPayloads()
    meshes = [p for p in Usd.PrimRange(visual) if p.IsA(UsdGeom.Mesh)]
    assert len(meshes) == 53  # the Panda's visual meshes
    return stage


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_downloaded_scene_xml_opens_in_plain_mujoco(
    scene: str, assembled: dict[str, Assembled], tmp_path: Path
) -> None:
    """The attempt folder copied alone: MjModel.from_xml_path (no asset dict) has the Panda and every object; mj_step settles."""
    a = assembled[scene]
    folder = a.first.download(tmp_path / "downloaded")
    model = mujoco.MjModel.from_xml_path(str(folder / "scene.xml"))
    _check_scene_model(model, a)
    _settle(model, a)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_downloaded_usd_resolves_every_asset(
    scene: str, assembled: dict[str, Assembled], tmp_path: Path
) -> None:
    """The attempt folder copied alone: pxr opens scene.usda, every layer/asset resolves inside it, the robot's meshes load."""
    folder = assembled[scene].first.download(tmp_path / "downloaded")
    _check_usd(folder)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_committed_folder_opens_in_place_in_file_storage(
    scene: str, assembled: dict[str, Assembled]
) -> None:
    """Opened where file:// storage keeps it: scene.xml loads in plain MuJoCo and steps, scene.usda resolves everything."""
    a = assembled[scene]
    folder = a.first.folder()
    model = mujoco.MjModel.from_xml_path(str(folder / "scene.xml"))
    _check_scene_model(model, a)
    mujoco.mj_step(model, mujoco.MjData(model), nstep=10)
    _check_usd(folder)


def test_downloaded_model_is_the_one_episodes_recompose(
    assembled: dict[str, Assembled], tmp_path: Path
) -> None:
    """The downloaded scene.xml compiles to the very model compose_scene gives from assembly.json (what episodes simulate)."""
    a = assembled["kitchen_counter"]
    folder = a.first.download(tmp_path / "downloaded")
    loaded = mujoco.MjModel.from_xml_path(str(folder / "scene.xml"))
    assembly = Assembly.model_validate(a.first.json("assembly.json"))
    by_name = {f"meshes/{k.removeprefix('meshes/')}": v for k, v in a.example.meshes.items()}
    spec = compose_scene(
        a.example.simready,
        assembly.robot,
        assembly.cameras,
        assembly.lights,
        timestep=assembly.timestep_s,
        mesh_loader=lambda p: by_name[f"meshes/{p.removeprefix('meshes/')}"],
    )
    _, recomposed = compile_as_written(spec)
    for field in ("mesh_vert", "mesh_face", "body_mass", "body_pos", "geom_size", "geom_pos"):
        assert np.array_equal(getattr(loaded, field), getattr(recomposed, field)), field
    assert np.array_equal(loaded.actuator_gainprm, recomposed.actuator_gainprm)
    assert (loaded.nbody, loaded.ngeom, loaded.nmesh) == (
        recomposed.nbody,
        recomposed.ngeom,
        recomposed.nmesh,
    )


def _mujoco_visual_meshes(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    """World vertices of every robot visual mesh at the home key, by ``link/geom-or-mesh``."""
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_kinematics(model, data)
    out = {}
    for g in range(model.ngeom):
        body = model.body(model.geom_bodyid[g]).name
        if body.startswith("robot/") and model.geom_group[g] != 3 and model.geom_dataid[g] >= 0:
            m = model.geom_dataid[g]
            start, count = model.mesh_vertadr[m], model.mesh_vertnum[m]
            local = model.mesh_vert[start : start + count].astype(np.float64)
            world = local @ data.geom_xmat[g].reshape(3, 3).T + data.geom_xpos[g]
            name = model.geom(g).name or model.mesh(m).name  # USD names geoms so
            out[f"{body.removeprefix('robot/')}/{name.removeprefix('robot/')}"] = world
    return out


def _usd_meshes(stage: Usd.Stage, root: str) -> dict[str, np.ndarray]:
    """World points of every Mesh under ``root``, by ``parent/prim`` name."""
    out = {}
    for prim in Usd.PrimRange(stage.GetPrimAtPath(root)):
        if prim.IsA(UsdGeom.Mesh):
            points = np.array(UsdGeom.Mesh(prim).GetPointsAttr().Get(), dtype=np.float64)
            xf = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
            matrix = np.array(xf, dtype=np.float64)  # USD: row vectors, p_world = p @ M
            key = f"{prim.GetParent().GetName()}/{prim.GetName()}"
            out[key] = points @ matrix[:3, :3] + matrix[3, :3]
    return out


def test_usd_robot_stands_where_the_mujoco_robot_stands(
    assembled: dict[str, Assembled], tmp_path: Path
) -> None:
    """Each of the USD robot's 53 meshes has, in world coordinates, the vertices of that mesh in MuJoCo's home pose (±10 µm)."""
    a = assembled["kitchen_counter"]  # robot turned 90° on a 0.81 m pedestal
    folder = a.first.download(tmp_path / "downloaded")
    expected = _mujoco_visual_meshes(mujoco.MjModel.from_xml_path(str(folder / "scene.xml")))
    got = _usd_meshes(Usd.Stage.Open(str(folder / "scene.usda")), "/World/Robot/Visual")
    assert len(expected) == 53 and set(got) == set(expected)
    for name, world in expected.items():
        assert got[name].shape == world.shape, name
        assert np.abs(got[name] - world).max() < 1e-5, name
    assert min(w[:, 2].min() for w in got.values()) == pytest.approx(
        0.81, abs=1e-3
    )  # on the pedestal


def _xml_paths(text: str) -> list[str]:
    """Every file and folder attribute of an MJCF, whatever element carries it."""
    root = ET.fromstring(text)  # noqa: S314 - the stage's own committed file
    return [
        value
        for element in root.iter()
        for name, value in element.attrib.items()
        if name.startswith("file") or name in ("meshdir", "texturedir", "assetdir")
    ]


def _escapes(path: str) -> bool:
    pure = PurePosixPath(path)
    return pure.is_absolute() or ".." in pure.parts or "\\" in path or ":" in path


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_no_path_is_absolute_or_outside_the_folder(
    scene: str, assembled: dict[str, Assembled]
) -> None:
    """scene.xml and both USD layers name only relative paths inside the folder, each a committed file; no machine path leaks."""
    out = assembled[scene].first
    folder = out.folder()
    committed = set(out.committed().record.files)
    xml = (folder / "scene.xml").read_text()
    named = _xml_paths(xml)
    assert len(named) >= 63 and not [p for p in named if _escapes(p)]
    assert set(named) <= committed  # every one is a committed file (no meshdir prefix)
    sublayers, references, payloads = UsdUtils.ExtractExternalReferences(str(folder / "scene.usda"))
    assert (sublayers, references, payloads) == ([], [], [f"./{ROBOT_USD}"])
    assert UsdUtils.ExtractExternalReferences(str(folder / ROBOT_USD)) == ([], [], [])
    leaks = [str(folder), str(ROBOT.source.root), "site-packages", "/tmp/", "/home/"]
    for name in ("scene.xml", "scene.usda", "assembly.json", ROBOT_USD):
        data = (folder / name).read_bytes()
        assert not [leak for leak in leaks if leak.encode() in data], name


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_commit_record_lists_every_file_in_the_folder(
    scene: str, assembled: dict[str, Assembled]
) -> None:
    """Every file in the attempt folder (robot assets included) is in the commit record with its sha256, and nothing else."""
    out = assembled[scene].first
    folder = out.folder()
    on_disk = {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }
    assert on_disk == {k: v.sha256 for k, v in out.committed().record.files.items()}


def test_robot_assets_are_the_sources_bytes_with_its_licence(
    assembled: dict[str, Assembled],
) -> None:
    """robot_assets/ holds the installed robot's mesh files unchanged (all 63, nothing else) and robosuite's MIT licence."""
    unit = assembled["office_desk"].first.committed()
    robot_files = {k for k in unit.record.files if k.startswith("robot_assets/")}
    built = ROBOT.build().assets
    assert robot_files == set(built) | {"robot_assets/LICENSE", ROBOT_USD}
    for name, data in built.items():
        assert unit.record.files[name].sha256 == hashlib.sha256(data).hexdigest(), name
    assert ROBOT.source.license_file is not None
    licence = unit.read_bytes("robot_assets/LICENSE")
    assert licence == ROBOT.source.license_file.read_bytes()
    assert b"MIT License" in licence and b"Permission is hereby granted" in licence
