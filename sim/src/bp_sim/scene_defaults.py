"""Where the robot stands, and the default cameras and lights of a scene.

Rules (documented in docs/ASSEMBLE.md):

* **Main support**: the support (role ``support``) holding the most graspable objects
  directly; ties go to the one holding more objects, then to the smaller id.
* **Robot base**: the blueprint's ``robot_base`` when given (``placed_by="blueprint"``);
  otherwise in front of the main support: on its local −y side when its footprint is at
  least as wide (x) as deep (y), else on its local −x side, :data:`EDGE_CLEARANCE_M` from
  that edge, centred on the graspable objects it holds (clamped to the edge), facing the
  support (``placed_by="default"``). With no support at all, the robot stands
  :data:`FLOOR_STANDOFF_M` on the −y side of the objects' centre, facing +y.
* **Pedestal**: the base is raised so that the main support's top is
  :data:`BELOW_SUPPORT_TOP_M` above the robot's base plate (the Panda's shoulder, 0.33 m
  above the plate, is then ~0.23 m above the surface, and the "ready" hand 0.39 m above
  it), clamped to 0–:data:`MAX_PEDESTAL_M`.
"""

from __future__ import annotations

import math
from collections import Counter

from bp_contracts.assembly import CameraSpec, LightSpec, RobotPlacement, RobotSource
from bp_contracts.geometry import (
    Quat,
    Vec3,
    add,
    box_half_extents_world,
    look_at,
    rnd,
    rotate,
    rvec,
    scale,
    v3,
)
from bp_contracts.simready import SimObject, SimreadyManifest

from bp_sim.robots.base import RobotModel

EDGE_CLEARANCE_M = 0.25
FLOOR_STANDOFF_M = 0.5
BELOW_SUPPORT_TOP_M = 0.10
MAX_PEDESTAL_M = 1.0
BASE_CHECK_HEIGHT_M = 0.1
SCENE_CAMERA = "scene"
WRIST_CAMERA = "wrist"


def top_z(obj: SimObject) -> float:
    """World z of the top of an object's bounding box."""
    half = (obj.size_m[0] / 2, obj.size_m[1] / 2, obj.size_m[2] / 2)
    return obj.position_m[2] + box_half_extents_world(obj.orientation_wxyz, half)[2]


def main_support(simready: SimreadyManifest) -> SimObject | None:
    """The support holding the most graspable objects (None when the scene has none)."""
    graspable: Counter[str] = Counter()
    held: Counter[str] = Counter()
    for o in simready.objects:
        held[o.support] += 1
        if o.graspable:
            graspable[o.support] += 1
    supports = [o for o in simready.objects if o.role == "support"]
    if not supports:
        return None
    return min(supports, key=lambda s: (-graspable[s.id], -held[s.id], s.id))


def _centroid(objs: list[SimObject]) -> Vec3:
    n = len(objs)
    return (
        sum(o.position_m[0] for o in objs) / n,
        sum(o.position_m[1] for o in objs) / n,
        sum(o.position_m[2] for o in objs) / n,
    )


def work_target(simready: SimreadyManifest) -> Vec3:
    """The point the robot works at: graspable objects on the main support, at its top."""
    support = main_support(simready)
    if support is None:
        movable = [o for o in simready.objects if not o.static] or list(simready.objects)
        c = _centroid(movable)
        return (c[0], c[1], 0.0)
    held = [o for o in simready.objects if o.support == support.id and o.graspable]
    held = held or [o for o in simready.objects if o.support == support.id]
    c = _centroid(held) if held else support.position_m
    return (c[0], c[1], top_z(support))


def pedestal_height(support_top_z: float, floor_z: float) -> float:
    """Pedestal height for a base on the floor at ``floor_z`` working at ``support_top_z``."""
    return min(max(support_top_z - BELOW_SUPPORT_TOP_M - floor_z, 0.0), MAX_PEDESTAL_M)


def _default_base(simready: SimreadyManifest) -> tuple[Vec3, float]:
    support = main_support(simready)
    if support is None:
        t = work_target(simready)
        return (t[0], t[1] - FLOOR_STANDOFF_M, 0.0), 90.0
    q = support.orientation_wxyz
    sx, sy = support.size_m[0], support.size_m[1]
    target = work_target(simready)
    x_axis = rotate(q, (1.0, 0.0, 0.0))
    yaw = math.atan2(x_axis[1], x_axis[0])
    rel = (target[0] - support.position_m[0], target[1] - support.position_m[1])
    local = (
        rel[0] * math.cos(yaw) + rel[1] * math.sin(yaw),
        -rel[0] * math.sin(yaw) + rel[1] * math.cos(yaw),
    )
    if sx >= sy:
        lateral = min(max(local[0], -sx / 2), sx / 2)
        offset_local: Vec3 = (lateral, -(sy / 2 + EDGE_CLEARANCE_M), 0.0)
        facing_local: Vec3 = (0.0, 1.0, 0.0)
    else:
        lateral = min(max(local[1], -sy / 2), sy / 2)
        offset_local = (-(sx / 2 + EDGE_CLEARANCE_M), lateral, 0.0)
        facing_local = (1.0, 0.0, 0.0)
    offset = rotate(q, offset_local)
    facing = rotate(q, facing_local)
    base = (support.position_m[0] + offset[0], support.position_m[1] + offset[1], 0.0)
    return base, math.degrees(math.atan2(facing[1], facing[0]))


def default_placement(simready: SimreadyManifest, robot: RobotModel) -> RobotPlacement:
    """The blueprint's robot base if given, else the default rule; pedestal by the rule."""
    if simready.robot_base is not None:
        base, yaw = v3(simready.robot_base[0]), float(simready.robot_base[1])
        by_blueprint = True
    else:
        base, yaw = _default_base(simready)
        by_blueprint = False
    support = main_support(simready)
    pedestal = pedestal_height(top_z(support), base[2]) if support is not None else 0.0
    return RobotPlacement(
        robot=robot.name,
        base_position_m=v3(rvec(base)),
        yaw_deg=rnd(yaw),
        pedestal_height_m=rnd(pedestal),
        home_qpos=[rnd(q) for q in robot.home_qpos],
        source=RobotSource(
            package=robot.source.package,
            version=robot.source.version,
            files=list(robot.source.files),
            license=robot.source.license,
        ),
        placed_by="blueprint" if by_blueprint else "default",
    )


def base_overlaps(
    simready: SimreadyManifest, placement: RobotPlacement, robot: RobotModel
) -> list[str]:
    """Objects whose bounding box overlaps the robot's pedestal and base plate.

    The pedestal and the robot's first link are welded to the world, like static
    objects, so MuJoCo never collides them with static objects: this geometric check
    covers that blind spot. The robot's base volume is a square of the base radius around
    the base position, from the floor to :data:`BASE_CHECK_HEIGHT_M` above the pedestal.
    """
    bx, by, bz = placement.base_position_m
    r = robot.base_radius_m
    top = bz + placement.pedestal_height_m + BASE_CHECK_HEIGHT_M
    hits = []
    for o in simready.objects:
        half = box_half_extents_world(
            o.orientation_wxyz, (o.size_m[0] / 2, o.size_m[1] / 2, o.size_m[2] / 2)
        )
        x, y, z = o.position_m
        if (
            abs(x - bx) < half[0] + r
            and abs(y - by) < half[1] + r
            and z - half[2] < top
            and z + half[2] > bz
        ):
            hits.append(o.id)
    return hits


def _heading(placement: RobotPlacement) -> tuple[Vec3, Vec3]:
    yaw = math.radians(placement.yaw_deg)
    forward = (math.cos(yaw), math.sin(yaw), 0.0)
    left = (-math.sin(yaw), math.cos(yaw), 0.0)
    return forward, left


def look_at_rounded(eye: Vec3, target: Vec3) -> Quat:
    """:func:`bp_contracts.geometry.look_at`, rounded for output."""
    q = rvec(look_at(eye, target))
    return (q[0], q[1], q[2], q[3])


def default_cameras(
    simready: SimreadyManifest, placement: RobotPlacement, robot: RobotModel
) -> list[CameraSpec]:
    """A fixed scene camera over the robot's right shoulder, and the robot's wrist camera.

    The scene camera stands 0.35 m behind and 0.85 m to the right of the robot base,
    0.75 m above the work surface, and looks at :func:`work_target`.
    """
    target = work_target(simready)
    forward, left = _heading(placement)
    base = placement.base_position_m
    eye = add((base[0], base[1], target[2] + 0.75), add(scale(forward, -0.35), scale(left, -0.85)))
    return [
        CameraSpec(
            name=SCENE_CAMERA,
            mount="scene",
            pos_m=v3(rvec(eye)),
            quat_wxyz=look_at_rounded(eye, target),
            fovy_deg=55.0,
        ),
        CameraSpec(
            name=WRIST_CAMERA,
            mount="wrist",
            pos_m=robot.wrist_camera_pos,
            quat_wxyz=robot.wrist_camera_quat,
            fovy_deg=robot.wrist_camera_fovy_deg,
        ),
    ]


def default_lights(simready: SimreadyManifest, placement: RobotPlacement) -> list[LightSpec]:
    """A key light from above, in front of the robot, and a dimmer fill from behind it.

    Lights are directional (``LightSpec`` has no type field) and cast no shadows by
    default (shadows cost ~6x in CPU rendering).
    """
    target = work_target(simready)
    forward, left = _heading(placement)
    key_pos = add(target, add(scale(forward, 0.5), (0.0, 0.0, 2.0)))
    fill_pos = add(target, add(scale(forward, -1.5), add(scale(left, 1.0), (0.0, 0.0, 1.2))))
    lights = []
    for name, pos, diffuse in (
        ("key", key_pos, (0.7, 0.7, 0.7)),
        ("fill", fill_pos, (0.3, 0.3, 0.3)),
    ):
        d = (target[0] - pos[0], target[1] - pos[1], target[2] - pos[2])
        n = math.sqrt(sum(c * c for c in d))
        lights.append(
            LightSpec(
                name=name,
                pos_m=v3(rvec(pos)),
                dir=v3(rvec((d[0] / n, d[1] / n, d[2] / n))),
                diffuse=diffuse,
                castshadow=False,
            )
        )
    return lights
