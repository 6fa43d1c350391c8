"""A stand-in for the simready stage: a SimreadyManifest from an ingested scene by simple rules.

Used by the bp_sim and assemble tests so they do not depend on the simready stage
(the end-to-end tests use the real one). Rules: one primitive per object from the
category's ``shape`` (box = the bounding box; cylinder about z with radius = half the
smaller footprint extent; sphere with radius = half the smallest extent); shelf frames and
carcasses are panels; mass = primitive volume x material density x fill; inertia of the
solid primitive (or of the bounding box for panel shapes); a blueprint mesh becomes one
``mesh`` part whose OBJ is the blueprint's file.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from bp_contracts.catalog import load_catalog, load_materials
from bp_contracts.scene_manifest import ManifestObject, SceneManifest
from bp_contracts.simready import Articulation, CollisionPart, Inertia, SimObject, SimreadyManifest

PANEL = 0.018  # m, panel thickness of frames and carcasses
GAP = 0.004  # m, clearance of moving parts inside carcasses
Vec3 = tuple[float, float, float]


def _r(x: float) -> float:
    return round(x, 9)


def _v(*xs: float) -> Vec3:
    return (_r(xs[0]), _r(xs[1]), _r(xs[2]))


def box_inertia(mass: float, size: Vec3) -> Vec3:
    """Principal moments of a solid box of full extents ``size``."""
    x, y, z = size
    return _v(mass * (y * y + z * z) / 12, mass * (x * x + z * z) / 12, mass * (x * x + y * y) / 12)


def _rgba(category: str) -> tuple[float, float, float, float]:
    h = hashlib.sha256(category.encode()).digest()
    return (
        round(0.25 + h[0] / 400, 3),
        round(0.25 + h[1] / 400, 3),
        round(0.25 + h[2] / 400, 3),
        1.0,
    )


def _box(name: str, half: Vec3, pos: Vec3 = (0.0, 0.0, 0.0)) -> CollisionPart:
    return CollisionPart(name=name, shape="box", size=_v(*half), pos=_v(*pos))


def _frame_parts(size: Vec3) -> list[CollisionPart]:
    """Open shelf frame: two sides, top, bottom and back; open towards -y."""
    sx, sy, sz = (s / 2 for s in size)
    t = PANEL / 2
    return [
        _box("side_left", (t, sy, sz), (-sx + t, 0.0, 0.0)),
        _box("side_right", (t, sy, sz), (sx - t, 0.0, 0.0)),
        _box("top", (sx - 2 * t, sy, t), (0.0, 0.0, sz - t)),
        _box("bottom", (sx - 2 * t, sy, t), (0.0, 0.0, -sz + t)),
        _box("back", (sx - 2 * t, t, sz - 2 * t), (0.0, sy - t, 0.0)),
    ]


def _carcass(
    obj: ManifestObject, kind: str, mass: float
) -> tuple[list[CollisionPart], Articulation]:
    """Carcass panels plus one moving part (drawer, door or lid); opens towards -y / up."""
    sx, sy, sz = (s / 2 for s in obj.size_m)
    t = PANEL / 2
    if kind == "lid":  # open-top bin with a lid hinged at the top back edge
        walls = [
            _box("bottom", (sx, sy, t), (0.0, 0.0, -sz + t)),
            _box("wall_left", (t, sy, sz - 2 * t), (-sx + t, 0.0, -t)),
            _box("wall_right", (t, sy, sz - 2 * t), (sx - t, 0.0, -t)),
            _box("wall_back", (sx - 2 * t, t, sz - 2 * t), (0.0, sy - t, -t)),
            _box("wall_front", (sx - 2 * t, t, sz - 2 * t), (0.0, -sy + t, -t)),
        ]
        part_pos = _v(0.0, sy, sz - t)
        moving = [_box("lid", (sx, sy, t), (0.0, -sy, 0.0))]
        art = Articulation(
            kind="lid",
            joint="hinge",
            axis=(-1.0, 0.0, 0.0),
            anchor_m=part_pos,
            range=(0.0, 1.9),
            damping=0.5,
            frictionloss=0.05,
            part_pos_m=part_pos,
            parts=moving,
            inertia=Inertia(
                mass_kg=_r(mass * 0.2), diag_kg_m2=box_inertia(mass * 0.2, (2 * sx, 2 * sy, PANEL))
            ),
            handle_m=_v(0.0, -2 * sy + 0.01, 0.0),
            open_direction=(0.0, 0.0, 1.0),
        )
        return walls, art
    walls = [
        _box("bottom", (sx, sy, t), (0.0, 0.0, -sz + t)),
        _box("top", (sx, sy, t), (0.0, 0.0, sz - t)),
        _box("side_left", (t, sy, sz - 2 * t), (-sx + t, 0.0, 0.0)),
        _box("side_right", (t, sy, sz - 2 * t), (sx - t, 0.0, 0.0)),
        _box("back", (sx - 2 * t, t, sz - 2 * t), (0.0, sy - t, 0.0)),
    ]
    inner = (sx - 2 * t - GAP, sy - t - GAP, sz - 2 * t - GAP)
    if kind == "drawer":
        part_pos = _v(0.0, -t, 0.0)
        moving = [_box("drawer", inner)]
        art = Articulation(
            kind="drawer",
            joint="slide",
            axis=(0.0, -1.0, 0.0),
            anchor_m=part_pos,
            range=(0.0, _r(1.4 * inner[1])),
            damping=5.0,
            frictionloss=0.5,
            part_pos_m=part_pos,
            parts=moving,
            inertia=Inertia(
                mass_kg=_r(mass * 0.3),
                diag_kg_m2=box_inertia(mass * 0.3, (2 * inner[0], 2 * inner[1], 2 * inner[2])),
            ),
            handle_m=_v(0.0, -inner[1] - 0.01, 0.0),
            open_direction=(0.0, -1.0, 0.0),
        )
        return walls, art
    # door hinged on the front left edge, opening outwards (towards -y)
    part_pos = _v(-sx + 2 * t, -sy + t, 0.0)
    moving = [_box("door", (sx - 2 * t - GAP / 2, t, sz - 2 * t - GAP / 2), (sx - 2 * t, 0.0, 0.0))]
    art = Articulation(
        kind="door",
        joint="hinge",
        axis=(0.0, 0.0, 1.0),
        anchor_m=part_pos,
        range=(-1.9, 0.0),
        damping=0.5,
        frictionloss=0.05,
        part_pos_m=part_pos,
        parts=moving,
        inertia=Inertia(
            mass_kg=_r(mass * 0.2), diag_kg_m2=box_inertia(mass * 0.2, (2 * sx, PANEL, 2 * sz))
        ),
        handle_m=_v(2 * sx - 4 * t - 0.03, -t - 0.01, 0.0),
        open_direction=(0.0, -1.0, 0.0),
    )
    return walls, art


def _laptop(obj: ManifestObject, mass: float) -> tuple[list[CollisionPart], Articulation]:
    sx, sy, sz = (s / 2 for s in obj.size_m)
    base = [_box("base", (sx, sy, sz / 2), (0.0, 0.0, -sz / 2))]
    part_pos = _v(0.0, sy, 0.0)
    art = Articulation(
        kind="lid",
        joint="hinge",
        axis=(-1.0, 0.0, 0.0),
        anchor_m=part_pos,
        range=(0.0, 2.0),
        damping=0.2,
        frictionloss=0.02,
        part_pos_m=part_pos,
        parts=[_box("screen", (sx, sy, sz / 2), (0.0, -sy, sz / 2))],
        inertia=Inertia(
            mass_kg=_r(mass * 0.4), diag_kg_m2=box_inertia(mass * 0.4, (2 * sx, 2 * sy, sz))
        ),
        handle_m=_v(0.0, -2 * sy + 0.005, sz / 2),
        open_direction=(0.0, 0.0, 1.0),
    )
    return base, art


def sim_object(obj: ManifestObject, mesh_names: dict[str, str]) -> SimObject:
    """One manifest object with physics by the rules of this module."""
    prior = load_catalog().get(obj.category)
    mat = load_materials().get(obj.material)
    shape = prior.shape if prior else "box"
    fill = prior.fill if prior else 1.0
    sx, sy, sz = obj.size_m
    art: Articulation | None = None
    if shape == "cylinder":
        r, hh = min(sx, sy) / 2, sz / 2
        volume = math.pi * r * r * 2 * hh
        parts = [CollisionPart(name="body", shape="cylinder", size=_v(r, hh, 0.0))]
    elif shape == "sphere":
        r = min(sx, sy, sz) / 2
        volume = 4 / 3 * math.pi * r**3
        parts = [CollisionPart(name="body", shape="sphere", size=_v(r, 0.0, 0.0))]
    else:
        volume = sx * sy * sz
        parts = [_box("body", (sx / 2, sy / 2, sz / 2))]
    if obj.mesh is not None:
        parts = [
            CollisionPart(name="hull", shape="mesh", size=(0.0, 0.0, 0.0), mesh=mesh_names[obj.id])
        ]
    mass = _r(volume * mat.density_kg_m3 * fill)
    if shape == "shelf_frame":
        parts = _frame_parts(obj.size_m)
        mass = _r(sum(8 * p.size[0] * p.size[1] * p.size[2] for p in parts) * mat.density_kg_m3)
    elif shape == "carcass" and prior and prior.articulation:
        panels = 2 * (sx * sy + sy * sz + sx * sz) * PANEL
        mass = _r(panels * mat.density_kg_m3)
        parts, art = _carcass(obj, prior.articulation, mass)
    elif prior and prior.articulation == "lid":
        parts, art = _laptop(obj, mass)
    if shape == "cylinder":
        r = parts[0].size[0] if parts[0].shape == "cylinder" else min(sx, sy) / 2
        h = sz
        diag = _v(
            mass * (3 * r * r + h * h) / 12, mass * (3 * r * r + h * h) / 12, mass * r * r / 2
        )
    elif shape == "sphere":
        r = min(sx, sy, sz) / 2
        diag = _v(0.4 * mass * r * r, 0.4 * mass * r * r, 0.4 * mass * r * r)
    else:
        diag = box_inertia(mass, obj.size_m)
    return SimObject(
        id=obj.id,
        category=obj.category,
        role=obj.role,
        static=obj.static,
        graspable=obj.graspable,
        graspable_reason="category prior",
        support=obj.support,
        size_m=obj.size_m,
        position_m=obj.position_m,
        orientation_wxyz=obj.orientation_wxyz,
        material=obj.material,
        density_kg_m3=mat.density_kg_m3,
        volume_m3=_r(volume),
        volume_source="primitive",
        inertia=Inertia(mass_kg=mass, diag_kg_m2=diag),
        friction=(mat.friction, mat.torsional, mat.rolling),
        restitution=mat.restitution,
        rgba=_rgba(obj.category),
        parts=parts,
        visual_mesh=obj.mesh,
        articulation=art,
    )


def simready_from(
    manifest: SceneManifest, **changes: Any
) -> tuple[SimreadyManifest, dict[str, str]]:
    """The stand-in manifest and, per mesh part file, the blueprint mesh it copies (input-relative)."""
    mesh_names = {o.id: f"meshes/{o.id}_hull.obj" for o in manifest.objects if o.mesh}
    sources = {mesh_names[o.id]: o.mesh for o in manifest.objects if o.mesh}
    rb = manifest.robot_base
    doc = SimreadyManifest(
        scene_id=manifest.scene_id,
        scene_manifest_sha256="0" * 64,
        robot_base=(rb.position_m, rb.yaw_deg) if rb else None,
        max_grasp_width_m=0.08,
        max_grasp_mass_kg=2.0,
        materials_version=load_materials().version,
        catalog_version=load_catalog().version,
        objects=[sim_object(o, mesh_names) for o in manifest.objects],
    )
    if changes:
        doc = doc.model_copy(update=changes)
    return doc, {k: v for k, v in sources.items() if v is not None}


def box_object(
    oid: str,
    size: Vec3,
    position: Vec3,
    mass: float,
    *,
    static: bool = False,
    support: str = "floor",
    friction: float = 0.6,
) -> SimObject:
    """A plain box object (support role when static, graspable object otherwise)."""
    return SimObject(
        id=oid,
        category="box",
        role="support" if static else "object",
        static=static,
        graspable=not static,
        graspable_reason="test",
        support=support,
        size_m=size,
        position_m=position,
        orientation_wxyz=(1.0, 0.0, 0.0, 0.0),
        material="generic",
        density_kg_m3=_r(mass / (size[0] * size[1] * size[2])),
        volume_m3=_r(size[0] * size[1] * size[2]),
        volume_source="primitive",
        inertia=Inertia(mass_kg=mass, diag_kg_m2=box_inertia(mass, size)),
        friction=(friction, 0.005, 0.0001),
        restitution=0.3,
        rgba=(0.8, 0.3, 0.2, 1.0),
        parts=[_box("body", (size[0] / 2, size[1] / 2, size[2] / 2))],
    )


def bare_manifest(
    scene_id: str, objects: list[SimObject], robot_base: tuple[Vec3, float] | None = None
) -> SimreadyManifest:
    """A simready manifest holding just ``objects``."""
    return SimreadyManifest(
        scene_id=scene_id,
        scene_manifest_sha256="0" * 64,
        robot_base=robot_base,
        max_grasp_width_m=0.08,
        max_grasp_mass_kg=2.0,
        materials_version="1",
        catalog_version="2",
        objects=objects,
    )
