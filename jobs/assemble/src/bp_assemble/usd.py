"""``scene.usda``: the assembled scene for USD / Isaac users (usd-core, no Omniverse).

Layout (metres, kilograms, z up):

* ``/World`` (default prim) with ``/World/PhysicsScene`` (gravity −z, 9.81 m/s²) and a
  static floor collider ``/World/Floor`` (top at z = 0);
* ``/World/Objects/<id>``: one Xform per object at its pose, its collision parts as
  ``Cube`` (scaled to the half extents) / ``Cylinder`` / ``Sphere`` / ``Mesh`` prims with
  ``CollisionAPI`` and a bound physics material (``/World/PhysicsMaterials/<id>``:
  static = dynamic friction = the sliding coefficient, restitution); movable objects
  carry ``RigidBodyAPI`` + ``MassAPI`` (mass, diagonal inertia, centre of mass);
* articulated objects: the moving part is a sibling rigid body ``/World/Objects/<id>_<kind>``
  joined to its carcass by ``/World/Joints/<id>_<kind>`` (``PrismaticJoint`` in metres or
  ``RevoluteJoint`` in degrees, with limits and a damping drive; the joint axis is the
  local X axis of the joint frames, turned onto the articulation axis);
* ``/World/Robot``: an Xform at the robot's base pose (on top of its pedestal
  ``/World/RobotPedestal``) carrying ``bp:robot:*`` attributes (name, source package,
  version, files, license, joint names, home pose). Its child ``Visual`` pulls in the
  robot's visual geometry in the home pose (no physics) as a payload by the relative path
  ``./robot_assets/<robot>.usdc`` (:mod:`bp_assemble.robot_usd`); Isaac users deactivate
  it and reference their own articulated Franka under ``/World/Robot``;
* ``/World/Cameras/<name>`` for the fixed scene cameras and ``/World/Lights/<name>``.

Prim names are object ids with characters USD refuses replaced (``-`` → ``_``, a leading
digit gets ``_``); the original id is kept in ``bp:id``. Output is deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from bp_contracts.assembly import CameraSpec, LightSpec, RobotPlacement
from bp_contracts.geometry import Quat, Vec3, add, qmul, qnorm, rotate, rvec, yaw_quat_deg
from bp_contracts.simready import Articulation, CollisionPart, Inertia, SimObject, SimreadyManifest
from bp_sim.robots.base import RobotModel
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdPhysics, UsdShade, Vt

from bp_assemble.objfile import parse_obj

GRAVITY = 9.81
FLOOR_THICKNESS = 0.02
VERTICAL_APERTURE_MM = 20.955
_BAD = re.compile(r"[^A-Za-z0-9_]")


def prim_name(raw: str, used: set[str]) -> str:
    """A valid, unique USD prim name for ``raw``."""
    name = _BAD.sub("_", raw)
    if not name or name[0].isdigit():
        name = "_" + name
    base, n = name, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def _quatd(q: Quat) -> Gf.Quatd:
    w, x, y, z = rvec(qnorm(q))
    return Gf.Quatd(w, Gf.Vec3d(x, y, z))


def _quatf(q: Quat) -> Gf.Quatf:
    w, x, y, z = rvec(qnorm(q))
    return Gf.Quatf(w, Gf.Vec3f(x, y, z))


def _place(prim: Usd.Prim, pos: Vec3, quat: Quat, scale: Vec3 | None = None) -> None:
    """Translate, orient (and scale) ops, rounded so the text is stable."""
    xf = UsdGeom.Xformable(prim)
    xf.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*rvec(pos)))
    xf.AddOrientOp(UsdGeom.XformOp.PrecisionDouble).Set(_quatd(quat))
    if scale is not None:
        xf.AddScaleOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*rvec(scale)))


def _material(stage: Usd.Stage, path: Sdf.Path, obj: SimObject) -> UsdShade.Material:
    mat = UsdShade.Material.Define(stage, path)
    api = UsdPhysics.MaterialAPI.Apply(mat.GetPrim())
    api.CreateStaticFrictionAttr(float(obj.friction[0]))
    api.CreateDynamicFrictionAttr(float(obj.friction[0]))
    api.CreateRestitutionAttr(float(obj.restitution))
    return mat


def _mass(prim: Usd.Prim, inertia: Inertia) -> None:
    UsdPhysics.RigidBodyAPI.Apply(prim)
    mass = UsdPhysics.MassAPI.Apply(prim)
    mass.CreateMassAttr(float(inertia.mass_kg))
    mass.CreateDiagonalInertiaAttr(Gf.Vec3f(*inertia.diag_kg_m2))
    mass.CreateCenterOfMassAttr(Gf.Vec3f(*inertia.com_m))
    mass.CreatePrincipalAxesAttr(Gf.Quatf(1.0, 0.0, 0.0, 0.0))


def _parts(
    stage: Usd.Stage,
    parent: Sdf.Path,
    parts: Sequence[CollisionPart],
    rgba: Sequence[float],
    material: UsdShade.Material,
    mesh_bytes: Callable[[str], bytes],
) -> None:
    used: set[str] = set()
    colour = Vt.Vec3fArray([Gf.Vec3f(float(rgba[0]), float(rgba[1]), float(rgba[2]))])
    for part in parts:
        path = parent.AppendChild(prim_name(part.name, used))
        scale: Vec3 | None = None
        if part.shape == "box":
            gprim: UsdGeom.Gprim = UsdGeom.Cube.Define(stage, path)
            UsdGeom.Cube(gprim).CreateSizeAttr(2.0)
            scale = (part.size[0], part.size[1], part.size[2])
        elif part.shape == "cylinder":
            gprim = UsdGeom.Cylinder.Define(stage, path)
            cyl = UsdGeom.Cylinder(gprim)
            cyl.CreateRadiusAttr(float(part.size[0]))
            cyl.CreateHeightAttr(float(2 * part.size[1]))
            cyl.CreateAxisAttr(UsdGeom.Tokens.z)
        elif part.shape == "sphere":
            gprim = UsdGeom.Sphere.Define(stage, path)
            UsdGeom.Sphere(gprim).CreateRadiusAttr(float(part.size[0]))
        else:
            if part.mesh is None:  # compose_scene refuses this first
                raise ValueError(f"mesh part {part.name!r} names no mesh file")
            obj = parse_obj(mesh_bytes(part.mesh))
            mesh = UsdGeom.Mesh.Define(stage, path)
            mesh.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(*p) for p in obj.points]))
            mesh.CreateFaceVertexCountsAttr(Vt.IntArray([len(f) for f in obj.faces]))
            mesh.CreateFaceVertexIndicesAttr(Vt.IntArray([i for f in obj.faces for i in f]))
            mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
            gprim = mesh
            UsdPhysics.MeshCollisionAPI.Apply(gprim.GetPrim()).CreateApproximationAttr(
                UsdPhysics.Tokens.convexHull
            )
        _place(gprim.GetPrim(), part.pos, part.quat, scale)
        gprim.CreateDisplayColorAttr(colour)
        gprim.CreateDisplayOpacityAttr(Vt.FloatArray([float(rgba[3])]))
        UsdPhysics.CollisionAPI.Apply(gprim.GetPrim())
        UsdShade.MaterialBindingAPI.Apply(gprim.GetPrim()).Bind(
            material, UsdShade.Tokens.weakerThanDescendants, "physics"
        )


def _x_to(axis: Vec3) -> Quat:
    """Rotation turning +x onto ``axis`` (unit)."""
    n = math.sqrt(sum(c * c for c in axis))
    a = (axis[0] / n, axis[1] / n, axis[2] / n)
    dot = a[0]
    if dot > 1 - 1e-12:
        return (1.0, 0.0, 0.0, 0.0)
    if dot < -1 + 1e-12:
        return (0.0, 0.0, 0.0, 1.0)  # half turn about z
    cross = (0.0, -a[2], a[1])  # x × a
    return qnorm((1.0 + dot, cross[0], cross[1], cross[2]))


def _joint(
    stage: Usd.Stage, path: Sdf.Path, art: Articulation, body0: Sdf.Path, body1: Sdf.Path
) -> None:
    if art.joint == "slide":
        joint: UsdPhysics.Joint = UsdPhysics.PrismaticJoint.Define(stage, path)
        lo, hi = art.range
        drive_kind = "linear"
    else:
        joint = UsdPhysics.RevoluteJoint.Define(stage, path)
        lo, hi = math.degrees(art.range[0]), math.degrees(art.range[1])
        drive_kind = "angular"
    typed = (
        UsdPhysics.PrismaticJoint(joint)
        if art.joint == "slide"
        else UsdPhysics.RevoluteJoint(joint)
    )
    typed.CreateAxisAttr(UsdPhysics.Tokens.x)
    typed.CreateLowerLimitAttr(float(round(lo, 9)))
    typed.CreateUpperLimitAttr(float(round(hi, 9)))
    rot = _x_to(art.axis)
    local1 = tuple(a - p for a, p in zip(art.anchor_m, art.part_pos_m, strict=True))
    joint.CreateBody0Rel().SetTargets([body0])
    joint.CreateBody1Rel().SetTargets([body1])
    joint.CreateLocalPos0Attr(Gf.Vec3f(*rvec(art.anchor_m)))
    joint.CreateLocalRot0Attr(_quatf(rot))
    joint.CreateLocalPos1Attr(Gf.Vec3f(*rvec(local1)))
    joint.CreateLocalRot1Attr(_quatf(rot))
    drive = UsdPhysics.DriveAPI.Apply(joint.GetPrim(), drive_kind)
    drive.CreateTypeAttr("force")
    drive.CreateStiffnessAttr(0.0)
    drive.CreateDampingAttr(float(art.damping))
    joint.GetPrim().CreateAttribute("bp:frictionloss", Sdf.ValueTypeNames.Double).Set(
        float(art.frictionloss)
    )
    joint.GetPrim().CreateAttribute("bp:kind", Sdf.ValueTypeNames.String).Set(art.kind)


def _robot(
    stage: Usd.Stage, robot: RobotModel, placement: RobotPlacement, robot_usd: str | None
) -> None:
    bx, by, bz = placement.base_position_m
    h = placement.pedestal_height_m
    if h > 0:
        ped = UsdGeom.Cube.Define(stage, "/World/RobotPedestal")
        ped.CreateSizeAttr(2.0)
        r = robot.base_radius_m
        _place(ped.GetPrim(), (bx, by, bz + h / 2), (1.0, 0.0, 0.0, 0.0), (r, r, h / 2))
        ped.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(0.25, 0.25, 0.27)]))
        UsdPhysics.CollisionAPI.Apply(ped.GetPrim())
    xf = UsdGeom.Xform.Define(stage, "/World/Robot")
    _place(xf.GetPrim(), (bx, by, bz + h), yaw_quat_deg(placement.yaw_deg))
    prim = xf.GetPrim()
    prim.SetDocumentation(
        "Robot base frame (on its pedestal). No geometry here: reference your own robot USD "
        "(e.g. Isaac Sim's Franka) under this prim; bp:robot:* says which model and pose."
    )
    attrs: list[tuple[str, Sdf.ValueTypeName, object]] = [
        ("bp:robot:name", Sdf.ValueTypeNames.String, placement.robot),
        ("bp:robot:sourcePackage", Sdf.ValueTypeNames.String, placement.source.package),
        ("bp:robot:sourceVersion", Sdf.ValueTypeNames.String, placement.source.version),
        (
            "bp:robot:sourceFiles",
            Sdf.ValueTypeNames.StringArray,
            Vt.StringArray(placement.source.files),
        ),
        ("bp:robot:license", Sdf.ValueTypeNames.String, placement.source.license),
        ("bp:robot:placedBy", Sdf.ValueTypeNames.String, placement.placed_by),
        ("bp:robot:pedestalHeight", Sdf.ValueTypeNames.Double, float(h)),
        ("bp:robot:jointNames", Sdf.ValueTypeNames.StringArray, Vt.StringArray(list(robot.joints))),
        ("bp:robot:homeQpos", Sdf.ValueTypeNames.DoubleArray, Vt.DoubleArray(placement.home_qpos)),
    ]
    for name, kind, value in attrs:
        prim.CreateAttribute(name, kind, custom=True).Set(value)
    if robot_usd is not None:
        visual = UsdGeom.Xform.Define(stage, "/World/Robot/Visual").GetPrim()
        visual.SetDocumentation(
            "The robot's visual geometry in its home pose (no physics); deactivate this prim "
            "to use your own robot USD."
        )
        visual.GetPayloads().AddPayload(f"./{robot_usd}")


def _cameras_and_lights(
    stage: Usd.Stage, cameras: Sequence[CameraSpec], lights: Sequence[LightSpec]
) -> None:
    UsdGeom.Scope.Define(stage, "/World/Cameras")
    UsdGeom.Scope.Define(stage, "/World/Lights")
    used: set[str] = set()
    for cam in cameras:
        if cam.mount != "scene":
            continue  # the wrist camera rides on the robot, which USD does not carry
        c = UsdGeom.Camera.Define(stage, f"/World/Cameras/{prim_name(cam.name, used)}")
        _place(c.GetPrim(), cam.pos_m, cam.quat_wxyz)  # USD and MuJoCo cameras both look down -z
        c.CreateVerticalApertureAttr(VERTICAL_APERTURE_MM)
        c.CreateHorizontalApertureAttr(VERTICAL_APERTURE_MM * 4 / 3)
        c.CreateFocalLengthAttr(
            float(round(VERTICAL_APERTURE_MM / (2 * math.tan(math.radians(cam.fovy_deg) / 2)), 6))
        )
    used = set()
    for light in lights:
        lp = UsdLux.DistantLight.Define(stage, f"/World/Lights/{prim_name(light.name, used)}")
        _place(lp.GetPrim(), light.pos_m, _z_to_minus(light.dir))
        lp.CreateIntensityAttr(float(round(3000.0 * max(light.diffuse), 6)))
        lp.CreateColorAttr(Gf.Vec3f(1.0, 1.0, 1.0))


def _z_to_minus(direction: Vec3) -> Quat:
    """Rotation turning −z (where a distant light points) onto ``direction``."""
    n = math.sqrt(sum(c * c for c in direction))
    d = (direction[0] / n, direction[1] / n, direction[2] / n)
    # turn -z onto d == turn +x onto d after turning -z onto +x (a quarter turn about y)
    return qmul(_x_to(d), (math.cos(math.pi / 4), 0.0, -math.sin(math.pi / 4), 0.0))


def write_usda(
    simready: SimreadyManifest,
    robot: RobotModel,
    placement: RobotPlacement,
    cameras: Sequence[CameraSpec],
    lights: Sequence[LightSpec],
    floor_half_m: float,
    mesh_bytes: Callable[[str], bytes],
    robot_usd: str | None = None,
) -> bytes:
    """The scene as USDA text bytes; ``robot_usd`` is the robot layer's path relative to it.

    The stage is authored without loading payloads, so the robot layer need not exist yet.
    """
    stage = Usd.Stage.CreateInMemory("scene.usda", load=Usd.Stage.LoadNone)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())
    scene = UsdPhysics.Scene.Define(stage, "/World/PhysicsScene")
    scene.CreateGravityDirectionAttr(Gf.Vec3f(0.0, 0.0, -1.0))
    scene.CreateGravityMagnitudeAttr(GRAVITY)
    floor = UsdGeom.Cube.Define(stage, "/World/Floor")
    floor.CreateSizeAttr(2.0)
    _place(
        floor.GetPrim(),
        (0.0, 0.0, -FLOOR_THICKNESS / 2),
        (1.0, 0.0, 0.0, 0.0),
        (floor_half_m, floor_half_m, FLOOR_THICKNESS / 2),
    )
    floor.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(0.37, 0.39, 0.41)]))
    UsdPhysics.CollisionAPI.Apply(floor.GetPrim())
    UsdGeom.Scope.Define(stage, "/World/Objects")
    UsdGeom.Scope.Define(stage, "/World/PhysicsMaterials")
    used: set[str] = set()
    for obj in simready.objects:
        name = prim_name(obj.id, used)
        path = Sdf.Path(f"/World/Objects/{name}")
        xf = UsdGeom.Xform.Define(stage, path)
        _place(xf.GetPrim(), obj.position_m, obj.orientation_wxyz)
        xf.GetPrim().CreateAttribute("bp:id", Sdf.ValueTypeNames.String, custom=True).Set(obj.id)
        xf.GetPrim().CreateAttribute("bp:category", Sdf.ValueTypeNames.String, custom=True).Set(
            obj.category
        )
        if not obj.static:
            _mass(xf.GetPrim(), obj.inertia)
        material = _material(stage, Sdf.Path(f"/World/PhysicsMaterials/{name}"), obj)
        _parts(stage, path, obj.parts, obj.rgba, material, mesh_bytes)
        art = obj.articulation
        if art is None:
            continue
        part_name = prim_name(f"{obj.id}_{art.kind}", used)
        part_path = Sdf.Path(f"/World/Objects/{part_name}")
        pxf = UsdGeom.Xform.Define(stage, part_path)
        world_pos = add(obj.position_m, rotate(obj.orientation_wxyz, art.part_pos_m))
        _place(pxf.GetPrim(), world_pos, obj.orientation_wxyz)
        pxf.GetPrim().CreateAttribute("bp:id", Sdf.ValueTypeNames.String, custom=True).Set(obj.id)
        _mass(pxf.GetPrim(), art.inertia)
        _parts(stage, part_path, art.parts, obj.rgba, material, mesh_bytes)
        UsdGeom.Scope.Define(stage, "/World/Joints")
        _joint(stage, Sdf.Path(f"/World/Joints/{part_name}"), art, path, part_path)
    _robot(stage, robot, placement, robot_usd)
    _cameras_and_lights(stage, cameras, lights)
    text: str = stage.GetRootLayer().ExportToString()
    return text.encode()
