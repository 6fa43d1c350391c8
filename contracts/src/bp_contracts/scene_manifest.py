"""``scene_manifest.json``: what ingest hands to every later stage (schema v1).

Units are metres, frames are right-handed with z up, quaternions are [w, x, y, z] and
unit length, ``size_m`` are full extents along the object's own axes and
``position_m`` is the centre of the object's bounding box.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from bp_sdk.ids import Identifier
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bp_contracts.geometry import Quat, Vec3

SCENE_MANIFEST_FILE: Final = "scene_manifest.json"  # in ingest's committed outputs
SCENE_MANIFEST_SCHEMA: Final = "bp.scene_manifest/v1"
UNIT_QUAT_TOLERANCE: Final = 1e-6


class ManifestObject(BaseModel):
    """One normalised object."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: Identifier
    category: str
    known_category: bool
    role: Literal["support", "object", "fixture"]
    graspable: bool
    static: bool
    size_m: Vec3
    position_m: Vec3
    orientation_wxyz: Quat
    support: str
    material: str
    mesh: str | None = None
    mesh_sha256: str | None = None

    @field_validator("size_m")
    @classmethod
    def _positive(cls, v: Vec3) -> Vec3:
        if min(v) <= 0:
            raise ValueError("sizes must be > 0")
        return v

    @field_validator("orientation_wxyz")
    @classmethod
    def _unit(cls, q: Quat) -> Quat:
        if abs(math.sqrt(sum(c * c for c in q)) - 1.0) > UNIT_QUAT_TOLERANCE:
            raise ValueError("orientation must be a unit quaternion")
        return q


class RobotBase(BaseModel):
    """Where the blueprint puts the robot (metres, yaw in degrees about z)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    position_m: Vec3
    yaw_deg: float


class ScaleChange(BaseModel):
    """One change made by scale calibration, with its reason."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    target: str  # "scene" or an object id
    factor: float
    reason: str


class Calibration(BaseModel):
    """Everything ingest changed, so nothing is silent."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    source_units: str
    unit_factor: float
    source_up_axis: Literal["y", "z"]
    axis_conversion: str | None
    median_prior_ratio: float | None
    scene_scale: float
    changes: list[ScaleChange] = Field(default_factory=list)


class SceneManifest(BaseModel):
    """The normalised scene."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    schema_: Literal["bp.scene_manifest/v1"] = Field(default=SCENE_MANIFEST_SCHEMA, alias="schema")
    scene_id: Identifier
    name: str
    description: str = ""
    license: str | None = None
    blueprint_sha256: str
    units: Literal["m"] = "m"
    up_axis: Literal["z"] = "z"
    robot_base: RobotBase | None = None
    calibration: Calibration
    warnings: list[str] = Field(default_factory=list)
    object_count: int
    objects: list[ManifestObject]
