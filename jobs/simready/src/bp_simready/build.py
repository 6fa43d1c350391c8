"""One manifest object → one :class:`SimObject` (plus its collision hull files).

Which geometry an object gets follows its category's ``shape`` and ``articulation``:

- carcass with an articulation, or box with a lid → panels / split box + moving part;
- carcass without one → the five panels alone; shelf_frame → open frame of panels;
- box, cylinder, sphere with a blueprint mesh → the mesh (volume, inertia, CoACD hulls);
- box, cylinder, sphere without a mesh → the primitive.

Frames, carcasses and split boxes keep a blueprint mesh as the visual only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from bp_contracts.catalog import CategoryCatalog, CategoryPrior, MaterialTable
from bp_contracts.scene_manifest import ManifestObject, RobotBase
from bp_contracts.simready import CollisionPart, SimObject

from bp_simready.articulated import Moving, articulated, carcass, to_articulation
from bp_simready.checks import physics_checks
from bp_simready.grasp import graspable
from bp_simready.meshes import SourceMesh, fit, obj_bytes
from bp_simready.placement import front_turns
from bp_simready.settings import SimreadySettings
from bp_simready.shelf import canonical_size, shelf_frame
from bp_simready.solids import Array, MassProps, Piece, pieces_props, protrusion, rsig, turn
from bp_simready.tables import PANEL_M, UNKNOWN_PRIOR, colour, sheet_fraction

OFF_DIAGONAL_WARN = 0.05
COLLISION_DIR = "collision"


@dataclass(frozen=True)
class Context:
    """What every object's build needs from the scene and the configuration."""

    catalog: CategoryCatalog
    materials: MaterialTable
    settings: SimreadySettings
    robot: RobotBase | None
    inside: dict[str, list[tuple[str, Array, Array]]]
    meshes: dict[str, SourceMesh]


@dataclass
class Built:
    """A finished object, the files it needs written, and what deserves a warning."""

    obj: SimObject
    files: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Geometry:
    """The body's mass properties and collision parts, and the moving part if any."""

    props: MassProps
    parts: list[CollisionPart]
    reach: float  # farthest a closed part reaches outside the size box (m)
    how: str  # how the volume was found, in words
    source: Literal["primitive", "mesh"] = "primitive"
    moving: Moving | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def articulation_supported(p: CategoryPrior) -> bool:
    """True when simready builds the category's moving part (carcass, or box with a lid)."""
    return p.articulation is not None and (
        p.shape == "carcass" or (p.shape == "box" and p.articulation == "lid")
    )


def mesh_gives_physics(p: CategoryPrior) -> bool:
    """True when a blueprint mesh gives the object its volume, inertia and collision hulls."""
    return p.shape in ("box", "cylinder", "sphere") and not articulation_supported(p)


def _from_pieces(
    pieces: list[Piece], size: tuple[float, float, float], density: float, how: str
) -> _Geometry:
    return _Geometry(
        pieces_props(pieces, density),
        [x.part() for x in pieces],
        max(protrusion(*x.bounds(), size) for x in pieces),
        how,
    )


def _panels(count: int, fill: float) -> str:
    return f"{count} panels {PANEL_M * 100:g} cm thick x solid fraction {fill:.3g}"


def _primitive(prior: CategoryPrior, size: tuple[float, float, float], density: float) -> _Geometry:
    sx, sy, sz = size
    if prior.shape == "cylinder":
        r = min(sx, sy) / 2
        piece = Piece("body", "cylinder", (r, sz, 0.0), fill=prior.fill)
        how = f"cylinder r {r:.4g} m x h {sz:.4g} m x fill {prior.fill:g}"
    elif prior.shape == "sphere":
        r = min(size) / 2
        piece = Piece("body", "sphere", (r, 0.0, 0.0), fill=prior.fill)
        how = f"sphere r {r:.4g} m x fill {prior.fill:g}"
    else:
        piece = Piece("body", "box", size, fill=prior.fill)
        how = f"box {sx:.4g} x {sy:.4g} x {sz:.4g} m x fill {prior.fill:g}"
    return _from_pieces([piece], size, density, how)


def _mesh(obj: ManifestObject, src: SourceMesh, fill: float, density: float) -> _Geometry:
    fitted = fit(src, obj.size_m, density, fill)
    files: dict[str, bytes] = {}
    parts: list[CollisionPart] = []
    for k, hull in enumerate(fitted.hulls):
        name = f"{COLLISION_DIR}/{obj.id}_{k}.obj"
        files[name] = obj_bytes(
            hull, f"{obj.id}: convex hull {k} of {src.path} (object frame, metres)"
        )
        parts.append(CollisionPart(name=f"hull_{k}", shape="mesh", size=(0.0, 0.0, 0.0), mesh=name))
    half = np.asarray(obj.size_m) / 2.0
    reach = max(0.0, *(float(np.max(np.abs(v) - half)) for v, _ in fitted.hulls))
    how = f"{fitted.volume_from} {fitted.props.volume / fill:.4g} m³ x fill {fill:g}"
    notes = []
    if src.holes_closed:
        notes.append(
            f"mesh {src.path!r} had {src.holes_closed} open hole(s), closed for its volume"
        )
    if not src.watertight:
        notes.append(
            f"mesh {src.path!r} is not watertight: volume and inertia from its convex hulls"
        )
    return _Geometry(fitted.props, parts, reach, how, "mesh", files=files, notes=notes)


def _geometry(
    obj: ManifestObject, p: CategoryPrior, material: str, density: float, ctx: Context
) -> _Geometry:
    size, kind = obj.size_m, p.articulation
    supported = articulation_supported(p)
    notes: list[str] = []
    if kind is not None and not supported:
        notes.append(f"a {kind} on a {p.shape} is not supported; simulated rigid")
    turns = front_turns(obj, ctx.robot)
    panel_fill = p.fill * sheet_fraction(material)
    if kind is not None and supported:
        fill = panel_fill if p.shape == "carcass" else p.fill
        pieces, moving = articulated(p.shape, kind, size, turns, fill)
        how = (
            _panels(len(pieces) + len(moving.pieces), fill)
            if p.shape == "carcass"
            else f"box split for its lid x fill {fill:g}"
        )
        geo = _from_pieces(pieces, size, density, how)
        geo.moving = moving
        geo.reach = max([geo.reach, *(protrusion(*x.bounds(), size) for x in moving.pieces)])
    elif p.shape == "shelf_frame":
        pieces, frame_notes = shelf_frame(size, turns, ctx.inside.get(obj.id, []), panel_fill)
        notes += frame_notes
        geo = _from_pieces(pieces, size, density, _panels(len(pieces), panel_fill))
    elif p.shape == "carcass":
        body, _ = carcass(canonical_size(size, turns), None, panel_fill)
        pieces = [turn(x, turns) for x in body]
        geo = _from_pieces(pieces, size, density, _panels(len(pieces), panel_fill))
    elif obj.mesh is not None and obj.mesh in ctx.meshes:
        return _mesh(obj, ctx.meshes[obj.mesh], p.fill, density)
    else:
        geo = _primitive(p, size, density)
    if obj.mesh is not None:
        notes.append(f"mesh {obj.mesh!r} is the visual only ({p.shape} geometry)")
    geo.notes += notes
    return geo


def build(obj: ManifestObject, ctx: Context) -> Built:
    """Physics of one object; plausibility verdicts are recorded in its ``checks``."""
    prior = ctx.catalog.get(obj.category)
    p = prior or UNKNOWN_PRIOR
    warnings: list[str] = []
    material = obj.material if obj.material in ctx.materials.materials else "generic"
    if material != obj.material:
        warnings.append(f"{obj.id}: unknown material {obj.material!r}; 'generic' used")
    mat = ctx.materials.get(material)
    density = mat.density_kg_m3
    geo = _geometry(obj, p, material, density, ctx)
    warnings += [f"{obj.id}: {n}" for n in geo.notes]

    art = to_articulation(geo.moving, density) if geo.moving is not None else None
    bodies = [("body", geo.props)]
    if geo.moving is not None:
        bodies.append((geo.moving.kind, pieces_props(geo.moving.pieces, density)))
    inertias = [props.diag for _, props in bodies]
    total = sum(props.mass for _, props in bodies)
    solid = sum(props.volume for _, props in bodies)
    for label, props in bodies:
        if props.off_diagonal_ratio > OFF_DIAGONAL_WARN:
            warnings.append(
                f"{obj.id}: {label} inertia off-diagonal terms reach "
                f"{props.off_diagonal_ratio:.0%} of its largest moment (diagonal kept)"
            )
    s = ctx.settings
    ok, reason = graspable(obj, prior, total, s.simready_max_grasp_width_m, s.simready_max_grasp_kg)
    checks = physics_checks(
        obj.size_m,
        mat.friction,
        total,
        inertias,
        geo.reach,
        f"{material} {density:g} kg/m³ x {solid:.4g} m³ solid: {geo.how}",
    )
    sim = SimObject(
        id=obj.id,
        category=obj.category,
        role=obj.role,
        static=obj.static,
        graspable=ok,
        graspable_reason=reason,
        support=obj.support,
        size_m=obj.size_m,
        position_m=obj.position_m,
        orientation_wxyz=obj.orientation_wxyz,
        material=material,
        density_kg_m3=density,
        volume_m3=rsig(geo.props.volume),
        volume_source=geo.source,
        inertia=geo.props.inertia(),
        friction=(mat.friction, mat.torsional, mat.rolling),
        restitution=mat.restitution,
        rgba=colour(obj.category, material),
        parts=geo.parts,
        visual_mesh=obj.mesh,
        articulation=art,
        checks=checks,
    )
    return Built(sim, geo.files, warnings)
