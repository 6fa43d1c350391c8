"""Compose a simulation-ready scene into one :class:`mujoco.MjSpec`.

Names in the composed model (the contract with later stages):

* object ``<id>``: body ``<id>``; free joint ``<id>/free`` when movable; geoms
  ``<id>/<part>``; meshes ``<id>/<part>`` read from file ``meshes/<simready path>``;
* articulated object: moving body ``<id>/<kind>``, its joint ``<id>/<kind>_joint``,
  handle site ``<id>/handle``;
* robot: every element prefixed ``robot/`` (see :mod:`bp_sim.robots`), on a static
  pedestal box ``robot_pedestal``; robot meshes are read from ``robot_assets/…``;
* keyframe ``home``: objects where the simready manifest (or the variant) puts them,
  articulations closed, the robot in its home pose with the gripper open;
* cameras and lights by their spec names; the wrist camera is on the robot's hand.

The same inputs always give the same ``to_xml()`` string: everything is added in the
manifest's order, and no absolute path or time enters the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mujoco
from bp_contracts.assembly import CameraSpec, LightSpec, RobotPlacement
from bp_contracts.geometry import Vec3, box_half_extents_world, qnorm, yaw_quat_deg
from bp_contracts.simready import CollisionPart, Inertia, SimObject, SimreadyManifest
from bp_contracts.variation import Variant
from bp_sdk.errors import InputError, Problem

from bp_sim.robots import get_robot
from bp_sim.robots.base import ROBOT_PREFIX, RobotModel
from bp_sim.scene_defaults import default_cameras, default_lights, default_placement

MeshLoader = Callable[[str], bytes]
MESH_DIR = "meshes"
PEDESTAL = "robot_pedestal"
HOME_KEY = "home"
FLOOR = "floor"
FLOOR_MARGIN_M = 2.0
OBJECT_GROUP = 0
HELPER_GROUP = 4
PEDESTAL_RGBA = (0.25, 0.25, 0.27, 1.0)
_SHAPES = {
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "mesh": mujoco.mjtGeom.mjGEOM_MESH,
}


def mesh_file(simready_path: str) -> str:
    """File name of a simready collision mesh inside the composed model (and next to scene.xml)."""
    return f"{MESH_DIR}/{simready_path.removeprefix(MESH_DIR + '/')}"


def free_joint(object_id: str) -> str:
    """Name of a movable object's free joint."""
    return f"{object_id}/free"


def part_body(object_id: str, kind: str) -> str:
    """Name of an articulated object's moving body."""
    return f"{object_id}/{kind}"


def part_joint(object_id: str, kind: str) -> str:
    """Name of an articulated object's joint."""
    return f"{object_id}/{kind}_joint"


# ---------------------------------------------------------------- validation
def _check_inertia(where: str, inertia: Inertia) -> list[Problem]:
    a, b, c = inertia.diag_kg_m2
    problems = []
    if min(a, b, c) <= 0:
        problems.append(
            Problem(
                where,
                f"principal moments {inertia.diag_kg_m2} must all be > 0",
                "recompute the inertia",
            )
        )
    elif a + b < c * (1 - 1e-9) or a + c < b * (1 - 1e-9) or b + c < a * (1 - 1e-9):
        problems.append(
            Problem(
                where,
                f"principal moments {inertia.diag_kg_m2} violate the triangle inequality (no rigid body has them)",
                "recompute the inertia from the collision shape",
            )
        )
    return problems


def _check_parts(
    where: str, parts: Sequence[CollisionPart], loader: MeshLoader | None
) -> list[Problem]:
    problems = []
    if not parts:
        problems.append(
            Problem(where, "has no collision parts", "give every object at least one part")
        )
    names = [p.name for p in parts]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(where, f"part name {dup!r} is used twice", "name parts uniquely"))
    for i, p in enumerate(parts):
        at = f"{where}.parts[{i}] ({p.name})"
        if p.shape == "mesh":
            if not p.mesh:
                problems.append(Problem(at, "mesh part without a mesh file", "set part.mesh"))
            elif loader is None:
                problems.append(
                    Problem(at, f"mesh {p.mesh!r} but no mesh loader was given", "pass mesh_loader")
                )
            continue
        needed = {"box": 3, "cylinder": 2, "sphere": 1}[p.shape]
        if min(p.size[:needed]) <= 0:
            problems.append(
                Problem(
                    at,
                    f"{p.shape} size {p.size} must be > 0 in its first {needed} values",
                    "fix the part size",
                )
            )
    return problems


def _check_object(where: str, obj: SimObject, loader: MeshLoader | None) -> list[Problem]:
    problems = _check_parts(where, obj.parts, loader) + _check_inertia(
        f"{where}.inertia", obj.inertia
    )
    art = obj.articulation
    if art is not None:
        aw = f"{where}.articulation"
        problems += _check_parts(aw, art.parts, loader) + _check_inertia(
            f"{aw}.inertia", art.inertia
        )
        if sum(c * c for c in art.axis) < 1e-12:
            problems.append(Problem(aw, "joint axis is zero", "give a unit axis"))
        lo, hi = art.range
        if not lo <= 0.0 <= hi or lo >= hi:
            problems.append(
                Problem(
                    aw,
                    f"range {art.range} must be increasing and contain 0 (closed)",
                    "fix the range",
                )
            )
    return problems


def validate(
    simready: SimreadyManifest,
    placement: RobotPlacement,
    robot: RobotModel,
    cameras: Sequence[CameraSpec],
    variant: Variant | None,
    mesh_loader: MeshLoader | None,
) -> list[Problem]:
    """Every problem that would stop composition, each naming its object."""
    problems: list[Problem] = []
    objects = list(simready.objects) + (list(variant.distractors) if variant else [])
    seen: set[str] = set()
    for i, obj in enumerate(objects):
        where = (
            f"objects[{i}] ({obj.id})" if i < len(simready.objects) else f"distractors ({obj.id})"
        )
        if obj.id in seen:
            problems.append(
                Problem(where, f"duplicate object id {obj.id!r}", "give every object a unique id")
            )
        seen.add(obj.id)
        if obj.id in (FLOOR, PEDESTAL):
            problems.append(
                Problem(where, f"object id {obj.id!r} is reserved", "rename the object")
            )
        problems += _check_object(where, obj, mesh_loader)
    if len(placement.home_qpos) != len(robot.joints):
        problems.append(
            Problem(
                "robot.home_qpos",
                f"{len(placement.home_qpos)} values for {len(robot.joints)} joints {list(robot.joints)}",
                "give one value per arm and gripper joint",
            )
        )
    names = [c.name for c in cameras]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(
            Problem(f"cameras ({dup})", "camera name used twice", "name cameras uniquely")
        )
    if variant is not None:
        movable = {o.id for o in objects}
        for p in variant.poses:
            if p.id not in movable:
                problems.append(
                    Problem(
                        f"variant {variant.variant_id}.poses ({p.id})",
                        "no such object",
                        "use an object id of the scene",
                    )
                )
        for oid, rgba in sorted(variant.colours.items()):
            if oid not in movable:
                problems.append(
                    Problem(
                        f"variant {variant.variant_id}.colours ({oid})",
                        "no such object",
                        "use an object id of the scene",
                    )
                )
            if not all(0.0 <= c <= 1.0 for c in rgba):
                problems.append(
                    Problem(
                        f"variant {variant.variant_id}.colours ({oid})",
                        f"rgba {rgba} outside 0..1",
                        "use values in [0, 1]",
                    )
                )
    return problems


# ---------------------------------------------------------------- building blocks
def _add_parts(
    spec: Any,
    body: Any,
    object_id: str,
    parts: Sequence[CollisionPart],
    rgba: Sequence[float],
    friction: Vec3,
    loader: MeshLoader | None,
    name_prefix: str,
) -> None:
    for p in parts:
        geom = body.add_geom(
            name=f"{name_prefix}/{p.name}",
            type=_SHAPES[p.shape],
            pos=list(p.pos),
            quat=list(qnorm(p.quat)),
            rgba=list(rgba),
            friction=list(friction),
            group=OBJECT_GROUP,
            condim=6 if p.shape == "sphere" else 4,
        )
        if p.shape == "mesh":
            if p.mesh is None or loader is None:  # validate() reports these first
                raise ValueError(f"mesh part {name_prefix}/{p.name} needs a mesh file and a loader")
            file = mesh_file(p.mesh)
            mesh_name = f"{name_prefix}/{p.name}"
            spec.add_mesh(name=mesh_name, file=file)
            spec.assets[file] = loader(p.mesh)
            geom.meshname = mesh_name
        else:
            geom.size = list(p.size)


def _set_inertia(body: Any, inertia: Inertia) -> None:
    body.explicitinertial = True
    body.mass = inertia.mass_kg
    body.ipos = list(inertia.com_m)
    body.iquat = [1.0, 0.0, 0.0, 0.0]
    body.inertia = list(inertia.diag_kg_m2)


def _add_object(
    spec: Any,
    obj: SimObject,
    pose: tuple[Vec3, tuple[float, float, float, float]],
    rgba: Sequence[float],
    loader: MeshLoader | None,
) -> None:
    pos, quat = pose
    body = spec.worldbody.add_body(name=obj.id, pos=list(pos), quat=list(qnorm(quat)))
    if not obj.static:
        body.add_freejoint(name=free_joint(obj.id))
    _set_inertia(body, obj.inertia)
    _add_parts(spec, body, obj.id, obj.parts, rgba, obj.friction, loader, obj.id)
    art = obj.articulation
    if art is None:
        return
    child = body.add_body(name=part_body(obj.id, art.kind), pos=list(art.part_pos_m))
    anchor = [a - b for a, b in zip(art.anchor_m, art.part_pos_m, strict=True)]
    child.add_joint(
        name=part_joint(obj.id, art.kind),
        type=mujoco.mjtJoint.mjJNT_SLIDE if art.joint == "slide" else mujoco.mjtJoint.mjJNT_HINGE,
        pos=anchor,
        axis=list(art.axis),
        range=list(art.range),
        limited=mujoco.mjtLimited.mjLIMITED_TRUE,
        damping=art.damping,
        frictionloss=art.frictionloss,
    )
    _set_inertia(child, art.inertia)
    _add_parts(
        spec, child, obj.id, art.parts, rgba, obj.friction, loader, part_body(obj.id, art.kind)
    )
    child.add_site(
        name=f"{obj.id}/handle", pos=list(art.handle_m), size=[0.01, 0.01, 0.01], group=HELPER_GROUP
    )


def floor_half_size(objects: Sequence[SimObject], placement: RobotPlacement) -> float:
    reach = [abs(c) for c in placement.base_position_m[:2]]
    for o in objects:
        half = box_half_extents_world(
            o.orientation_wxyz, (o.size_m[0] / 2, o.size_m[1] / 2, o.size_m[2] / 2)
        )
        reach += [abs(o.position_m[0]) + half[0], abs(o.position_m[1]) + half[1]]
    return round(max(reach) + FLOOR_MARGIN_M, 3)


def _add_floor(spec: Any, half: float) -> None:
    spec.add_texture(
        name="floor_checker",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.32, 0.34, 0.36],
        rgb2=[0.42, 0.44, 0.46],
        width=256,
        height=256,
    )
    mat = spec.add_material(name="floor_material", texrepeat=[2 * half, 2 * half], reflectance=0.0)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "floor_checker"
    spec.worldbody.add_geom(
        name=FLOOR,
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[half, half, 0.05],
        material="floor_material",
        friction=[0.8, 0.005, 0.0001],
        condim=4,
        group=OBJECT_GROUP,
    )


def _add_lights(spec: Any, lights: Sequence[LightSpec]) -> None:
    for light in lights:
        spec.worldbody.add_light(
            name=light.name,
            type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
            pos=list(light.pos_m),
            dir=list(light.dir),
            diffuse=list(light.diffuse),
            specular=[0.1, 0.1, 0.1],
            castshadow=light.castshadow,
        )


def _add_robot(
    spec: Any, robot: RobotModel, placement: RobotPlacement, cameras: Sequence[CameraSpec]
) -> None:
    built = robot.build()
    rspec = built.spec
    home_ctrl = [*placement.home_qpos[: len(robot.arm_joints)], robot.gripper_open_ctrl]
    rspec.add_key(name=HOME_KEY, qpos=list(placement.home_qpos), ctrl=home_ctrl)
    bx, by, bz = placement.base_position_m
    h = placement.pedestal_height_m
    if h > 0:
        r = robot.base_radius_m
        pedestal = spec.worldbody.add_body(name=PEDESTAL, pos=[bx, by, bz + h / 2])
        pedestal.add_geom(
            name=PEDESTAL,
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[r, r, h / 2],
            rgba=list(PEDESTAL_RGBA),
            group=OBJECT_GROUP,
        )
    frame = spec.worldbody.add_frame(
        pos=[bx, by, bz + h], quat=list(yaw_quat_deg(placement.yaw_deg))
    )
    frame.attach_body(rspec.body(robot.base_body), ROBOT_PREFIX, "")
    for key in spec.keys:
        if key.name == ROBOT_PREFIX + HOME_KEY:
            key.name = HOME_KEY
    hand = spec.body(robot.scoped(robot.wrist_camera_body))
    for cam in cameras:
        if cam.mount == "wrist":
            hand.add_camera(
                name=cam.name,
                pos=list(cam.pos_m),
                quat=list(qnorm(cam.quat_wxyz)),
                fovy=cam.fovy_deg,
            )
    spec.assets.update(built.assets)


def compose_scene(
    simready: SimreadyManifest,
    placement: RobotPlacement,
    cameras: Sequence[CameraSpec],
    lights: Sequence[LightSpec],
    variant: Variant | None = None,
    *,
    timestep: float = 0.002,
    mesh_loader: MeshLoader | None = None,
) -> Any:
    """The scene as an :class:`mujoco.MjSpec` (not compiled).

    ``mesh_loader(path)`` returns the bytes of a simready collision mesh (``part.mesh``).
    A variant overrides start poses and colours, adds its distractors (movable objects),
    and replaces the lights and cameras when it lists any. Raises :class:`InputError`
    listing every problem (bad inertia, empty parts, unknown ids, ...).
    """
    robot = get_robot(placement.robot)
    if variant is not None:
        lights = variant.lights or lights
        cameras = variant.cameras or cameras
    problems = validate(simready, placement, robot, cameras, variant, mesh_loader)
    if problems:
        raise InputError(f"scene {simready.scene_id!r} cannot be composed", problems=problems)
    poses = {p.id: (p.position_m, p.orientation_wxyz) for p in variant.poses} if variant else {}
    colours = dict(variant.colours) if variant else {}
    objects = list(simready.objects) + (list(variant.distractors) if variant else [])

    spec = mujoco.MjSpec()
    spec.modelname = f"bp_{simready.scene_id}"
    spec.compiler.degree = False
    spec.option.timestep = timestep
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    _add_floor(spec, floor_half_size(objects, placement))
    _add_lights(spec, lights)
    for cam in cameras:
        if cam.mount == "scene":
            spec.worldbody.add_camera(
                name=cam.name,
                pos=list(cam.pos_m),
                quat=list(qnorm(cam.quat_wxyz)),
                fovy=cam.fovy_deg,
            )
    for obj in objects:
        pose = poses.get(obj.id, (obj.position_m, obj.orientation_wxyz))
        _add_object(spec, obj, pose, colours.get(obj.id, obj.rgba), mesh_loader)
    _add_robot(spec, robot, placement, cameras)
    return spec


def compile_as_written(spec: Any) -> tuple[str, Any]:
    """``(to_xml() text, the model compiled from exactly that text)``.

    MuJoCo writes numbers with 6 significant digits, so the written MJCF differs from the
    in-memory spec in the 7th digit; stages that publish ``scene.xml`` check the model
    that file gives. The spec's assets (robot and object meshes) are handed over as a VFS.
    """
    xml: str = spec.to_xml()
    model = mujoco.MjModel.from_xml_string(xml, dict(spec.assets))
    return xml, model


__all__ = [
    "FLOOR",
    "HOME_KEY",
    "MESH_DIR",
    "PEDESTAL",
    "MeshLoader",
    "compile_as_written",
    "compose_scene",
    "default_cameras",
    "default_lights",
    "default_placement",
    "floor_half_size",
    "free_joint",
    "mesh_file",
    "part_body",
    "part_joint",
    "validate",
]
