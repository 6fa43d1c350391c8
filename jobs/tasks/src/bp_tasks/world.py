"""The scene as the tasks stage sees it: the robot's shoulder and one layout per variant.

A layout is the simready objects with the variant's poses and colours applied, plus the
variant's distractors. It answers the questions task planning asks: what supports what,
the top surface of a support, and which objects stand in a height band.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal, NamedTuple

from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.catalog import load_catalog
from bp_contracts.geometry import Quat, Vec2, Vec3
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, Articulation, SimObject, SimreadyManifest
from bp_contracts.variation import Variant
from bp_sdk.errors import InputError, Problem

from bp_tasks.geometry import Box, Polygon, bounds, oriented_rect

FLOOR = "floor"
FLOOR_HALF_M = 1.5  # the floor is modelled as a square this far around the robot's base
GRID_EPS = 1e-12
RGBA = tuple[float, float, float, float]
Shape = Literal["box", "cylinder", "sphere", "other"]


@dataclass(frozen=True)
class Body:
    """One object of one variant: a scene object (moved/recoloured) or a distractor."""

    id: str
    category: str
    role: str
    static: bool
    graspable: bool
    graspable_reason: str
    support: str
    size: Vec3
    position: Vec3
    orientation: Quat
    rgba: RGBA
    shape: Shape
    mass_kg: float
    articulation: Articulation | None = None
    distractor: bool = False

    @cached_property
    def box(self) -> Box:
        """Its oriented bounding box."""
        return Box(self.position, self.orientation, self.size)


def _shape(obj: SimObject) -> Shape:
    prior = load_catalog().get(obj.category)
    if prior is not None and prior.shape in ("box", "cylinder", "sphere"):
        return prior.shape
    if prior is not None:
        return "other"
    kinds = {p.shape for p in obj.parts}
    if len(kinds) == 1 and (kind := kinds.pop()) in ("box", "cylinder", "sphere"):
        return kind
    return "other"


def body_of(obj: SimObject, *, distractor: bool = False) -> Body:
    """A :class:`Body` from a simready object."""
    return Body(
        id=obj.id,
        category=obj.category,
        role=obj.role,
        static=obj.static,
        graspable=obj.graspable,
        graspable_reason=obj.graspable_reason,
        support=obj.support,
        size=obj.size_m,
        position=obj.position_m,
        orientation=obj.orientation_wxyz,
        rgba=obj.rgba,
        shape=_shape(obj),
        mass_kg=obj.inertia.mass_kg,
        articulation=obj.articulation,
        distractor=distractor,
    )


class Obstacle(NamedTuple):
    """A body's outline seen from above, with its bounding box (min x, min y, max x, max y)."""

    id: str
    outline: Polygon
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class Robot:
    """Where the arm stands and where its shoulder is."""

    base: Vec3
    yaw_deg: float
    pedestal_m: float
    shoulder: Vec3

    @property
    def forward(self) -> Vec2:
        """Unit vector the robot faces (its +x), in the xy plane."""
        a = math.radians(self.yaw_deg)
        return (math.cos(a), math.sin(a))

    @property
    def left(self) -> Vec2:
        """Unit vector to the robot's left."""
        f = self.forward
        return (-f[1], f[0])

    def distance(self, p: Vec3) -> float:
        """Straight-line distance from the shoulder."""
        s = self.shoulder
        return math.dist(p, s)

    def horizontal(self, p: Vec3) -> float:
        """Horizontal distance from the shoulder."""
        return math.hypot(p[0] - self.shoulder[0], p[1] - self.shoulder[1])


@dataclass(frozen=True)
class Surface:
    """The usable top of a support: a convex outline at one height, with a grid frame."""

    support: str
    z_top: float
    center: Vec2
    u: Vec2
    half_u: float
    half_v: float

    @cached_property
    def outline(self) -> Polygon:
        """The surface as a counter-clockwise polygon."""
        return oriented_rect(self.center, self.u, self.half_u, self.half_v)

    def spots(self, half_x: float, half_y: float, step: float) -> Iterator[Vec2]:
        """Centres, on a grid of ``step`` in the surface's frame, of the axis-aligned boxes of
        half size (half_x, half_y) that lie wholly on the surface.

        A box lies on the rectangle iff its extent along each of the rectangle's two axes
        does: |a| + half_x |u_x| + half_y |u_y| <= half_u, and likewise along v.
        """
        ux, uy = self.u
        vx, vy = -uy, ux
        room_u = self.half_u - (half_x * abs(ux) + half_y * abs(uy)) + GRID_EPS
        room_v = self.half_v - (half_x * abs(vx) + half_y * abs(vy)) + GRID_EPS
        if room_u < 0 or room_v < 0:
            return
        nu, nv = int(room_u // step), int(room_v // step)
        for i in range(-nu, nu + 1):
            for j in range(-nv, nv + 1):
                a, b = i * step, j * step
                yield (self.center[0] + a * ux + b * vx, self.center[1] + a * uy + b * vy)


@dataclass
class Layout:
    """Every body of one variant, in a stable order (scene objects, then distractors)."""

    variant_id: str
    bodies: dict[str, Body]
    _children: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for b in self.bodies.values():
            self._children.setdefault(b.support, []).append(b.id)

    def children(self, oid: str) -> list[str]:
        """Ids of the bodies resting on ``oid``."""
        return list(self._children.get(oid, []))

    def ancestors(self, oid: str) -> list[str]:
        """The support chain below ``oid`` (nearest first, the floor excluded)."""
        out: list[str] = []
        node = self.bodies[oid].support if oid in self.bodies else FLOOR
        while node != FLOOR and node in self.bodies and node not in out:
            out.append(node)
            node = self.bodies[node].support
        return out

    def surface(self, support: str, robot: Robot) -> Surface:
        """The top surface of ``support`` (the floor: a square around the robot)."""
        if support == FLOOR:
            return Surface(
                FLOOR, 0.0, (robot.base[0], robot.base[1]), (1.0, 0.0), FLOOR_HALF_M, FLOOR_HALF_M
            )
        b = self.bodies[support]
        z_top = b.box.z_range[1]
        face = b.box.top_face()
        if face is None:
            hx, hy, _ = b.box.half_extents
            center, u, hu, hv = (b.position[0], b.position[1]), (1.0, 0.0), hx, hy
        else:
            center, u, hu, hv = face
        if b.shape == "cylinder":  # the square inscribed in the round top
            hu = hv = min(hu, hv) / math.sqrt(2)
        return Surface(support, z_top, center, u, hu, hv)

    def obstacles(self, lo: float, hi: float, exclude: set[str]) -> list[Obstacle]:
        """The bodies (not in ``exclude``) whose height range overlaps (lo, hi), seen from above."""
        out = []
        for b in self.bodies.values():
            if b.id in exclude:
                continue
            zlo, zhi = b.box.z_range
            if zhi > lo and zlo < hi:
                out.append(Obstacle(b.id, b.box.footprint, bounds(b.box.footprint)))
        return out


@dataclass(frozen=True)
class World:
    """The robot and the layout of every variant, scene objects in simready order."""

    scene_id: str
    robot: Robot
    object_ids: list[str]
    layouts: list[Layout]

    @property
    def variant_ids(self) -> list[str]:
        """Variant ids in order."""
        return [lay.variant_id for lay in self.layouts]


def build_world(
    scene_id: str,
    simready: SimreadyManifest,
    assembly: Assembly,
    variants: list[Variant],
    shoulder_height_m: float,
) -> World:
    """Check the upstream documents agree with each other; raise one InputError listing every problem."""
    problems: list[Problem] = []
    for name, doc_scene in (
        (SIMREADY_MANIFEST_FILE, simready.scene_id),
        (ASSEMBLY_FILE, assembly.scene_id),
    ):
        if doc_scene != scene_id:
            problems.append(
                Problem(
                    name,
                    f"is for scene {doc_scene!r}, not {scene_id!r}",
                    "re-run the upstream stages for this scene",
                )
            )
    base = {o.id: body_of(o) for o in simready.objects}
    if len(base) != len(simready.objects):
        problems.append(
            Problem(SIMREADY_MANIFEST_FILE, "object ids are not unique", "re-run simready")
        )
    for o in simready.objects:
        if o.support != FLOOR and o.support not in base:
            problems.append(
                Problem(
                    f"{SIMREADY_MANIFEST_FILE}: {o.id}",
                    f"support {o.support!r} is not an object",
                    "re-run simready",
                )
            )
    if not variants:
        problems.append(
            Problem(
                "variations",
                "no variants were committed",
                "run variations with at least one variant",
            )
        )
    seen: set[str] = set()
    layouts = []
    for v in variants:
        where = f"variations: {v.variant_id}"
        if v.variant_id in seen:
            problems.append(Problem(where, "variant id used twice", "re-run variations"))
        seen.add(v.variant_id)
        if v.scene_id != scene_id:
            problems.append(
                Problem(
                    where, f"is for scene {v.scene_id!r}, not {scene_id!r}", "re-run variations"
                )
            )
        bodies = dict(base)
        for pose in v.poses:
            if pose.id not in base:
                problems.append(
                    Problem(where, f"pose for unknown object {pose.id!r}", "re-run variations")
                )
                continue
            bodies[pose.id] = replace(
                bodies[pose.id], position=pose.position_m, orientation=pose.orientation_wxyz
            )
        for d in v.distractors:
            if d.id in bodies:
                problems.append(
                    Problem(where, f"distractor id {d.id!r} is already used", "re-run variations")
                )
                continue
            bodies[d.id] = body_of(d, distractor=True)
        for oid, rgba in sorted(v.colours.items()):
            if oid not in bodies:
                problems.append(
                    Problem(where, f"colour for unknown object {oid!r}", "re-run variations")
                )
                continue
            bodies[oid] = replace(bodies[oid], rgba=rgba)
        for d in v.distractors:
            if d.support != FLOOR and d.support not in bodies:
                problems.append(
                    Problem(
                        where,
                        f"distractor {d.id!r} rests on unknown {d.support!r}",
                        "re-run variations",
                    )
                )
        layouts.append(Layout(v.variant_id, bodies))
    if problems:
        raise InputError(f"upstream outputs of scene {scene_id!r} do not agree", problems=problems)
    placement = assembly.robot
    bx, by, bz = placement.base_position_m
    robot = Robot(
        base=placement.base_position_m,
        yaw_deg=placement.yaw_deg,
        pedestal_m=placement.pedestal_height_m,
        shoulder=(bx, by, bz + placement.pedestal_height_m + shoulder_height_m),
    )
    return World(scene_id, robot, [o.id for o in simready.objects], layouts)
