"""``simready_manifest.json``: physics for every object (schema v1), written by simready.

Frames and units as in the scene manifest (metres, kilograms, z up, [w, x, y, z]).
Collision geometry is a list of primitive or convex-mesh parts in the object's own frame;
articulated objects carry one moving part on a joint.
"""

from __future__ import annotations

from typing import Final, Literal

from bp_sdk.ids import Identifier
from pydantic import BaseModel, ConfigDict, Field

from bp_contracts.geometry import Quat, Vec3

SIMREADY_MANIFEST_FILE: Final = "simready_manifest.json"  # in simready's committed outputs
SIMREADY_SCHEMA: Final = "bp.simready_manifest/v1"
RGBA = tuple[float, float, float, float]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CollisionPart(_Frozen):
    """One collision/visual primitive in the object's (or moving part's) frame.

    ``size`` follows MuJoCo: box → half extents [x, y, z]; cylinder → [radius, half height, 0];
    sphere → [radius, 0, 0]; mesh → unused (``mesh`` names a convex OBJ in simready's outputs).
    """

    name: str
    shape: Literal["box", "cylinder", "sphere", "mesh"]
    size: Vec3
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = (1.0, 0.0, 0.0, 0.0)
    mesh: str | None = None


class Inertia(_Frozen):
    """Mass properties about the centre of mass, in the body frame."""

    mass_kg: float = Field(gt=0)
    com_m: Vec3 = (0.0, 0.0, 0.0)
    diag_kg_m2: Vec3


class Articulation(_Frozen):
    """A moving part (drawer, door, lid) on one joint, in the object's frame."""

    kind: Literal["drawer", "door", "lid"]
    joint: Literal["slide", "hinge"]
    axis: Vec3
    anchor_m: Vec3  # joint position in the object's frame (hinge line point; slide: part origin)
    range: tuple[float, float]  # metres (slide) or radians (hinge); closed = 0
    damping: float = Field(ge=0)
    frictionloss: float = Field(ge=0)
    part_pos_m: Vec3  # moving body's origin in the object's frame (closed)
    parts: list[CollisionPart]
    inertia: Inertia
    handle_m: Vec3  # grasp point of the handle, in the moving body's frame
    open_direction: Vec3  # unit vector (object frame) the handle moves when opening


class PhysicsCheck(_Frozen):
    """One plausibility check and its verdict."""

    check: str
    value: float
    low: float
    high: float
    ok: bool
    reason: str = ""


class SimObject(_Frozen):
    """One object, ready for simulation."""

    id: Identifier
    category: str
    role: Literal["support", "object", "fixture"]
    static: bool
    graspable: bool
    graspable_reason: str
    support: str
    size_m: Vec3
    position_m: Vec3
    orientation_wxyz: Quat
    material: str
    density_kg_m3: float = Field(gt=0)
    volume_m3: float = Field(gt=0)
    volume_source: Literal["primitive", "mesh"]
    inertia: Inertia
    friction: Vec3  # sliding, torsional, rolling (MuJoCo order)
    restitution: float = Field(ge=0, le=1)
    rgba: RGBA
    parts: list[CollisionPart]
    visual_mesh: str | None = None  # input-relative mesh, when the blueprint gave one
    articulation: Articulation | None = None
    checks: list[PhysicsCheck] = Field(default_factory=list)


class SimreadyManifest(_Frozen):
    """The scene with physics."""

    schema_: Literal["bp.simready_manifest/v1"] = Field(default=SIMREADY_SCHEMA, alias="schema")
    scene_id: Identifier
    scene_manifest_sha256: str
    robot_base: tuple[Vec3, float] | None = None  # (position, yaw_deg) from the blueprint, if any
    max_grasp_width_m: float
    max_grasp_mass_kg: float
    materials_version: str
    catalog_version: str
    objects: list[SimObject]

    def by_id(self) -> dict[str, SimObject]:
        """Objects keyed by id."""
        return {o.id: o for o in self.objects}
