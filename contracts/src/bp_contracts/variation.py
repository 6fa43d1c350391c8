"""``variations/<variant_id>.json`` (``bp.variant/v1``) and ``variations/index.json``
(``bp.variations_index/v1``), written by variations.

A variant is a set of changes applied on top of the assembled scene when it is
recomposed (``bp_sim.compose``): poses of movable objects, colours, distractor objects,
lights and camera poses. Its seed derives from (scene, configuration, base seed, index).
The index lists every variant with the file that holds it; readers take the variants
from the index, never by listing the folder.
"""

from __future__ import annotations

from typing import Final, Literal

from bp_sdk.ids import Identifier
from pydantic import BaseModel, ConfigDict, Field

from bp_contracts.assembly import CameraSpec, LightSpec
from bp_contracts.geometry import Quat, Vec3
from bp_contracts.simready import SimObject

VARIATIONS_DIR: Final = "variations"  # in the variations stage's committed outputs
VARIATIONS_INDEX_FILE: Final = f"{VARIATIONS_DIR}/index.json"
VARIATIONS_OVERVIEW_FILE: Final = f"{VARIATIONS_DIR}/overview.svg"
VARIANT_SCHEMA: Final = "bp.variant/v1"
VARIATIONS_INDEX_SCHEMA: Final = "bp.variations_index/v1"
RGBA = tuple[float, float, float, float]


def variant_id(index: int) -> str:
    """``v0003``: the id of variant ``index``."""
    return f"v{index:04d}"


def variant_file(vid: str) -> str:
    """``variations/v0003.json``: the file holding variant ``vid``."""
    return f"{VARIATIONS_DIR}/{vid}.json"


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


class IndexEntry(BaseModel):
    """One variant as the index lists it (variations writes more keys; readers need these)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    variant_id: str
    file: str
    index: int = Field(ge=0)


class VariationsIndex(BaseModel):
    """``variations/index.json``: the fields every reader relies on."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_: Literal["bp.variations_index/v1"] = Field(alias="schema")
    scene_id: str
    variants: list[IndexEntry]

    def variant_ids(self) -> list[str]:
        """The listed variant ids, in index order."""
        return [e.variant_id for e in sorted(self.variants, key=lambda e: e.index)]
