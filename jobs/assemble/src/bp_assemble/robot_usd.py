"""``robot_assets/<robot>.usdc``: the robot's visual geometry in its home pose, for USD users.

usd-core reads no STL or OBJ, so the robot's meshes are converted: the geometry comes
from the compiled scene model that passed the stability check (MuJoCo's mesh vertices and
triangles, exact float32), each link an ``Xform`` at its home-pose frame relative to the
robot's base frame, each visual geom a ``Mesh`` (or primitive) in that link's frame,
coloured like in MuJoCo. No physics: it shows where the robot stands and how it is posed;
Isaac users who bring their own articulated Franka deactivate ``/World/Robot/Visual``.

The layer is binary (crate, ~4.6 MB for the Panda; ~16 MB as text) and byte-identical
for the same model. ``scene.usda`` pulls it in as a payload of ``/World/Robot/Visual`` by
the relative path ``./robot_assets/<robot>.usdc``.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
from bp_contracts.assembly import RobotPlacement
from bp_contracts.geometry import Quat, Vec3, q4, qconj, qmul, rotate, rvec, sub, v3, yaw_quat_deg
from bp_sdk.spool import spool_dir
from bp_sim.render import home_data
from bp_sim.robots.base import ROBOT_PREFIX, RobotModel
from pxr import Gf, Sdf, Usd, UsdGeom, Vt

from bp_assemble.usd import prim_name

_GEOM = mujoco.mjtGeom


def _xform(prim: Usd.Prim, pos: Vec3, quat: Quat, scale: Vec3 | None = None) -> None:
    xf = UsdGeom.Xformable(prim)
    xf.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*rvec(pos)))
    w, x, y, z = rvec(quat)
    xf.AddOrientOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Quatd(w, Gf.Vec3d(x, y, z)))
    if scale is not None:
        xf.AddScaleOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*rvec(scale)))


def _visual(model: Any, g: int) -> bool:
    """A geom that only shows (no collisions) on a robot body."""
    body = model.body(int(model.geom_bodyid[g])).name
    return bool(
        body.startswith(ROBOT_PREFIX)
        and not model.geom_contype[g]
        and not model.geom_conaffinity[g]
    )


def _mesh(stage: Usd.Stage, path: Sdf.Path, model: Any, mesh_id: int) -> UsdGeom.Gprim:
    v0, nv = int(model.mesh_vertadr[mesh_id]), int(model.mesh_vertnum[mesh_id])
    f0, nf = int(model.mesh_faceadr[mesh_id]), int(model.mesh_facenum[mesh_id])
    mesh = UsdGeom.Mesh.Define(stage, path)
    points = np.ascontiguousarray(model.mesh_vert[v0 : v0 + nv], dtype=np.float32)
    faces = np.ascontiguousarray(model.mesh_face[f0 : f0 + nf], dtype=np.int32).reshape(-1)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(points))
    mesh.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([points.min(0), points.max(0)])))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(nf, 3, dtype=np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(faces))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    return mesh


def _gprim(
    stage: Usd.Stage, path: Sdf.Path, model: Any, g: int
) -> tuple[UsdGeom.Gprim, Vec3 | None]:
    """The geom as a USD prim (and its scale) in its body's frame; MuJoCo sizes are halves."""
    kind, size = int(model.geom_type[g]), v3(model.geom_size[g])
    if kind == _GEOM.mjGEOM_MESH:
        return _mesh(stage, path, model, int(model.geom_dataid[g])), None
    if kind == _GEOM.mjGEOM_SPHERE:
        sphere = UsdGeom.Sphere.Define(stage, path)
        sphere.CreateRadiusAttr(size[0])
        return sphere, None
    if kind == _GEOM.mjGEOM_CYLINDER:
        cylinder = UsdGeom.Cylinder.Define(stage, path)
        cylinder.CreateRadiusAttr(size[0])
        cylinder.CreateHeightAttr(2 * size[1])
        cylinder.CreateAxisAttr(UsdGeom.Tokens.z)
        return cylinder, None
    if kind == _GEOM.mjGEOM_CAPSULE:
        capsule = UsdGeom.Capsule.Define(stage, path)
        capsule.CreateRadiusAttr(size[0])
        capsule.CreateHeightAttr(2 * size[1])
        capsule.CreateAxisAttr(UsdGeom.Tokens.z)
        return capsule, None
    if kind == _GEOM.mjGEOM_BOX:
        cube = UsdGeom.Cube.Define(stage, path)
        cube.CreateSizeAttr(2.0)
        return cube, size
    raise ValueError(
        f"robot geom {model.geom(g).name or g} has type {kind}, which USD export lacks"
    )


def _colour(gprim: UsdGeom.Gprim, model: Any, g: int) -> None:
    mat = int(model.geom_matid[g])
    rgba = [float(c) for c in (model.mat_rgba[mat] if mat >= 0 else model.geom_rgba[g])]
    gprim.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*rvec(rgba[:3], 6))]))
    gprim.CreateDisplayOpacityAttr(Vt.FloatArray([round(rgba[3], 6)]))


def _geom_name(model: Any, g: int, used: set[str]) -> str:
    name = model.geom(g).name.removeprefix(ROBOT_PREFIX)
    if not name and model.geom_type[g] == _GEOM.mjGEOM_MESH:
        name = model.mesh(int(model.geom_dataid[g])).name.removeprefix(ROBOT_PREFIX)
    return prim_name(name or f"geom_{g}", used)


def robot_stage(model: Any, robot: RobotModel, placement: RobotPlacement) -> Usd.Stage:
    """The robot's visual geometry in the home pose, in its base frame (in memory)."""
    stage = Usd.Stage.CreateInMemory(f"{robot.name}.usdc")
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, f"/{prim_name(robot.name, set())}")
    stage.SetDefaultPrim(root.GetPrim())
    root.GetPrim().SetDocumentation(
        f"{robot.name} visual geometry in its home pose, base frame at the origin; no physics"
    )
    data = home_data(model)
    bx, by, bz = placement.base_position_m
    frame_pos: Vec3 = (bx, by, bz + placement.pedestal_height_m)
    to_base = qconj(yaw_quat_deg(placement.yaw_deg))
    bodies: dict[int, Sdf.Path] = {}
    body_names: set[str] = set()
    geom_names: dict[int, set[str]] = {}
    for g in range(model.ngeom):
        if not _visual(model, g):
            continue
        b = int(model.geom_bodyid[g])
        if b not in bodies:
            name = prim_name(model.body(b).name.removeprefix(ROBOT_PREFIX), body_names)
            bodies[b] = root.GetPath().AppendChild(name)
            link = UsdGeom.Xform.Define(stage, bodies[b])
            pos = rotate(to_base, sub(v3(data.xpos[b]), frame_pos))
            _xform(link.GetPrim(), pos, qmul(to_base, q4(data.xquat[b])))
        path = bodies[b].AppendChild(_geom_name(model, g, geom_names.setdefault(b, set())))
        gprim, scale = _gprim(stage, path, model, g)
        _xform(gprim.GetPrim(), v3(model.geom_pos[g]), q4(model.geom_quat[g]), scale)
        _colour(gprim, model, g)
    return stage


def robot_usdc(model: Any, robot: RobotModel, placement: RobotPlacement) -> bytes:
    """:func:`robot_stage` as crate (binary USD) bytes."""
    stage = robot_stage(model, robot, placement)
    with spool_dir("robot-usd") as tmp:  # a killed job's folder is swept by bp cleanup
        path = tmp / f"{robot.name}.usdc"
        if not stage.GetRootLayer().Export(str(path)):
            raise OSError(f"usd-core could not write {path.name}")
        return path.read_bytes()
