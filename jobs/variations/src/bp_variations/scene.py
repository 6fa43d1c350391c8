"""The placement problem of a scene: what moves, what it rests on, what is in the way.

Built once from ``simready_manifest.json`` and ``assembly.json``, the same for every
variant. Every non-static object is *movable*. A movable object resting on something
fixed (a static object or the floor) is the root of a :class:`Group`; movable objects
resting on a movable object (items on a movable tray) belong to their carrier's group
and move rigidly with it. Static objects are fixed obstacles (:class:`Body`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bp_contracts.assembly import Assembly
from bp_contracts.simready import SimObject, SimreadyManifest
from bp_sdk.errors import InputError, Problem
from bp_sim.footprints import (
    FLOOR,
    Footprint,
    Surface,
    floor_surface,
    footprint_of,
    half_height,
    support_surface,
)

REST_SNAP_M = 0.01  # a root whose bottom is this close to its support's top is snapped onto it
Z_TOL_M = 1e-4  # bodies that only touch in z (a board and what stands on it) do not collide
ROBOT_KEEPOUT_HALF_M = 0.3  # half side of the square kept free around the robot base (floor only)
FLOOR_MARGIN_M = 1.0  # the floor surface is the scene's bounding box grown by this much


@dataclass(frozen=True)
class Body:
    """Something that occupies a footprint between two heights."""

    id: str
    footprint: Footprint
    z0: float
    z1: float

    def at_height(self, z0: float, z1: float) -> bool:
        """True if this body's height range overlaps ``[z0, z1]`` by more than a touch."""
        return self.z0 < z1 - Z_TOL_M and self.z1 > z0 + Z_TOL_M


@dataclass(frozen=True)
class Group:
    """A movable root resting on something fixed, with every movable object it carries."""

    root: SimObject
    members: tuple[SimObject, ...]  # root first, then the carried objects in manifest order
    surface: Surface
    base_yaw: float  # yaw of the root's footprint
    offset: tuple[
        float, float
    ]  # centre of the group's rectangle from the root, in the root's yaw frame
    half: tuple[float, float]  # half extents of the rectangle covering every member
    z0: float  # lowest point of the group (after the rest snap)
    z1: float  # highest point
    dz: float  # vertical snap applied to every member so the root rests on its surface
    below: frozenset[str]  # the support chain under the root: never an obstacle to it

    @property
    def pivot(self) -> tuple[float, float]:
        """The root's blueprint xy."""
        return (self.root.position_m[0], self.root.position_m[1])

    @property
    def centre(self) -> tuple[float, float]:
        """The blueprint centre of the group's rectangle."""
        c, s = math.cos(self.base_yaw), math.sin(self.base_yaw)
        ox, oy = self.offset
        return (self.pivot[0] + c * ox - s * oy, self.pivot[1] + s * ox + c * oy)

    @property
    def ids(self) -> frozenset[str]:
        """Ids of every member."""
        return frozenset(m.id for m in self.members)


@dataclass(frozen=True)
class PlacementScene:
    """Everything a variant needs to place objects, computed once."""

    objects: tuple[SimObject, ...]  # manifest order
    fixed: tuple[Body, ...]  # static objects
    robot: Body | None  # keep-out square around the robot base (floor-level groups only)
    groups: tuple[Group, ...]  # in placement order: largest rectangle first
    templates: tuple[Group, ...]  # graspable single objects that distractors may clone
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def movable(self) -> tuple[SimObject, ...]:
        """Every movable object, in manifest order."""
        return tuple(o for o in self.objects if not o.static)


def _chain_problems(objects: dict[str, SimObject]) -> list[Problem]:
    problems = []
    for o in objects.values():
        if o.support != FLOOR and o.support not in objects:
            problems.append(
                Problem(
                    f"simready_manifest.objects[{o.id}].support",
                    f"unknown support {o.support!r}",
                    "re-run simready on a valid scene manifest",
                )
            )
            continue
        node, seen = o, {o.id}
        while node.support != FLOOR and node.support in objects:
            node = objects[node.support]
            if node.id in seen:
                problems.append(
                    Problem(
                        f"simready_manifest.objects[{o.id}].support",
                        "support cycle through " + ", ".join(sorted(seen)),
                        "objects must rest on the floor through a chain without loops",
                    )
                )
                break
            seen.add(node.id)
    return problems


def check_inputs(
    scene_id: str, sim: SimreadyManifest, simready_sha256: str, assembly: Assembly
) -> None:
    """Raise one InputError listing every inconsistency between the two upstream documents."""
    problems: list[Problem] = []
    if sim.scene_id != scene_id:
        problems.append(
            Problem(
                "simready_manifest.scene_id",
                f"is {sim.scene_id!r}, expected {scene_id!r}",
                "re-run simready for this scene",
            )
        )
    if assembly.scene_id != scene_id:
        problems.append(
            Problem(
                "assembly.scene_id",
                f"is {assembly.scene_id!r}, expected {scene_id!r}",
                "re-run assemble for this scene",
            )
        )
    if assembly.simready_sha256 != simready_sha256:
        problems.append(
            Problem(
                "assembly.simready_sha256",
                f"is {assembly.simready_sha256[:12]}..., but the committed simready_manifest.json is {simready_sha256[:12]}...",
                "re-run assemble on this run's simready output",
            )
        )
    seen: set[str] = set()
    for o in sim.objects:
        if o.id in seen:
            problems.append(
                Problem(f"simready_manifest.objects[{o.id}]", "duplicate id", "re-run simready")
            )
        seen.add(o.id)
    problems += _chain_problems(sim.by_id())
    if problems:
        raise InputError(
            f"upstream outputs of scene {scene_id!r} are inconsistent ({len(problems)} problem{'s' if len(problems) != 1 else ''})",
            problems=problems,
        )


def body_of(obj: SimObject) -> Body:
    """The object's footprint and height range at its blueprint pose."""
    hz = half_height(obj.size_m, obj.orientation_wxyz)
    z = obj.position_m[2]
    return Body(obj.id, footprint_of(obj), z - hz, z + hz)


def _floor(objects: tuple[SimObject, ...], robot: Body | None) -> Surface:
    xs: list[float] = []
    ys: list[float] = []
    for o in objects:
        for x, y in footprint_of(o).corners():
            xs.append(x)
            ys.append(y)
    if robot is not None:
        for x, y in robot.footprint.corners():
            xs.append(x)
            ys.append(y)
    x0, x1 = min(xs) - FLOOR_MARGIN_M, max(xs) + FLOOR_MARGIN_M
    y0, y1 = min(ys) - FLOOR_MARGIN_M, max(ys) + FLOOR_MARGIN_M
    return floor_surface(Footprint((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 0.0))


def _group(
    root: SimObject,
    members: list[SimObject],
    surface: Surface,
    below: frozenset[str],
    notes: list[str],
) -> Group:
    fp = footprint_of(root)
    c, s = math.cos(fp.yaw), math.sin(fp.yaw)
    us: list[float] = []
    vs: list[float] = []
    for m in members:
        for x, y in footprint_of(m).corners():
            dx, dy = x - root.position_m[0], y - root.position_m[1]
            us.append(dx * c + dy * s)
            vs.append(-dx * s + dy * c)
    bottom = root.position_m[2] - half_height(root.size_m, root.orientation_wxyz)
    gap = bottom - surface.z_top
    dz = -gap if abs(gap) <= REST_SNAP_M else 0.0
    if dz == 0.0 and gap != 0.0:
        notes.append(
            f"{root.id} does not rest on top of {surface.support} (gap {gap:+.4f} m): kept at its blueprint height"
        )
    bodies = [body_of(m) for m in members]
    return Group(
        root=root,
        members=tuple(members),
        surface=surface,
        base_yaw=fp.yaw,
        offset=((max(us) + min(us)) / 2, (max(vs) + min(vs)) / 2),
        half=((max(us) - min(us)) / 2, (max(vs) - min(vs)) / 2),
        z0=min(b.z0 for b in bodies) + dz,
        z1=max(b.z1 for b in bodies) + dz,
        dz=dz,
        below=below,
    )


def build_scene(sim: SimreadyManifest, assembly: Assembly) -> PlacementScene:
    """The placement problem (call :func:`check_inputs` first)."""
    objects = tuple(sim.objects)
    by_id = sim.by_id()
    rp = assembly.robot
    robot = Body(
        "robot",
        Footprint(
            rp.base_position_m[0],
            rp.base_position_m[1],
            ROBOT_KEEPOUT_HALF_M,
            ROBOT_KEEPOUT_HALF_M,
            math.radians(rp.yaw_deg),
        ),
        rp.base_position_m[2],
        rp.base_position_m[2] + max(rp.pedestal_height_m, 0.1),
    )
    floor = _floor(objects, robot)

    def root_of(o: SimObject) -> SimObject:
        while o.support != FLOOR and not by_id[o.support].static:
            o = by_id[o.support]
        return o

    def chain_below(o: SimObject) -> frozenset[str]:
        out: set[str] = set()
        while o.support != FLOOR:
            out.add(o.support)
            o = by_id[o.support]
        return frozenset(out)

    members: dict[str, list[SimObject]] = {}
    for o in objects:
        if not o.static:
            members.setdefault(root_of(o).id, []).append(o)
    notes: list[str] = []
    groups = []
    for root_id, ms in members.items():
        root = by_id[root_id]
        ordered = [root] + [m for m in ms if m.id != root_id]
        surface = floor if root.support == FLOOR else support_surface(by_id[root.support])
        groups.append(_group(root, ordered, surface, chain_below(root), notes))
    groups.sort(key=lambda g: (-g.half[0] * g.half[1], g.root.id))
    templates = tuple(
        sorted(
            (
                g
                for g in groups
                if len(g.members) == 1
                and g.root.graspable
                and g.root.role == "object"
                and g.root.articulation is None
            ),
            key=lambda g: g.root.id,
        )
    )
    return PlacementScene(
        objects=objects,
        fixed=tuple(body_of(o) for o in objects if o.static),
        robot=robot,
        groups=tuple(groups),
        templates=templates,
        notes=tuple(notes),
    )
