"""``variations/variant_NNNN.json`` (schema v1), written by variations.

A variant is a set of changes applied on top of the assembled scene when it is
recomposed (``bp_sim.compose``): poses of movable objects, colours, distractor objects,
lights and camera poses. Its seed derives from (scene, configuration, base seed, index).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from bp_sdk.ids import Identifier
from bp_sdk.schemas.assembly import CameraSpec, LightSpec
from bp_sdk.schemas.simready import SimObject

VARIANT_SCHEMA: Final = "bp.variant/v1"
Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
RGBA = tuple[float, float, float, float]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ObjectPose(_Frozen):
    """Where a movable object starts in this variant."""

    id: Identifier
    position_m: Vec3
    orientation_wxyz: Quat


class Variant(_Frozen):
    """One domain-randomised variant."""

    schema_: Literal["bp.variant/v1"] = Field(default=VARIANT_SCHEMA, alias="schema")
    scene_id: Identifier
    variant_id: str  # "v0003"
    index: int = Field(ge=0)
    seed: int = Field(ge=0)
    nominal: bool  # True: the blueprint layout unchanged (index 0 when configured)
    poses: list[ObjectPose]
    colours: dict[str, RGBA]
    distractors: list[SimObject]
    lights: list[LightSpec]
    cameras: list[CameraSpec]
    ranges: dict[str, float]  # the documented jitter ranges used
    placement_attempts: int = Field(ge=0)
