"""Variations settings: how many variants, their seeds, and every randomisation range."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from bp_sdk.settings import JobSettings
from pydantic import Field, model_validator


class VariationsSettings(JobSettings):
    """``bp-variations`` configuration (environment only). Ranges are documented in docs/VARIATIONS.md."""

    stage_name: ClassVar[str] = "variations"

    variations_count: int = Field(
        default=8, ge=1, le=1000, description="Number of variants to write (v0000 ... v<N-1>)."
    )
    variations_base_seed: int = Field(
        default=0,
        ge=0,
        le=2**63 - 1,
        description="Base seed; each variant's seed derives from (scene, configuration, base seed, index).",
    )
    variations_nominal_first: bool = Field(
        default=True,
        description="v0000 is the blueprint layout unchanged (no pose, colour, light or camera change, no distractors).",
    )
    variations_placement_mode: Literal["jitter", "replace"] = Field(
        default="jitter",
        description="jitter: each object moves within VARIATIONS_POSITION_JITTER_M of its blueprint position (whole support as fallback); replace: anywhere on its support, any yaw.",
    )
    variations_position_jitter_m: float = Field(
        default=0.08,
        ge=0.0,
        le=2.0,
        description="Radius (m) of the disc about an object's blueprint position where jitter mode looks first.",
    )
    variations_yaw_jitter_rad: float = Field(
        default=0.5,
        ge=0.0,
        le=math.pi,
        description="Largest change of an object's yaw about z in jitter mode (radians, ±).",
    )
    variations_margin_m: float = Field(
        default=0.01,
        ge=0.0,
        le=0.2,
        description="Smallest horizontal clearance (m) between placed objects and anything else at their height.",
    )
    variations_distractors_max: int = Field(
        default=2,
        ge=0,
        le=50,
        description="Most distractor objects (clones of graspable objects) added per variant; the count is uniform in 0..max.",
    )
    variations_hue_jitter: float = Field(
        default=0.05,
        ge=0.0,
        le=0.5,
        description="Largest hue change of an object's colour (HSV, ±, hue in [0, 1)).",
    )
    variations_saturation_jitter: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="Largest saturation change of an object's colour (HSV, ±, clipped to [0, 1]).",
    )
    variations_value_jitter: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="Largest value (brightness) change of an object's colour (HSV, ±, clipped to [0, 1]).",
    )
    variations_light_intensity_min: float = Field(
        default=0.7,
        gt=0.0,
        le=10.0,
        description="Smallest factor applied to each light's diffuse colour.",
    )
    variations_light_intensity_max: float = Field(
        default=1.3,
        gt=0.0,
        le=10.0,
        description="Largest factor applied to each light's diffuse colour.",
    )
    variations_light_direction_deg: float = Field(
        default=15.0,
        ge=0.0,
        le=90.0,
        description="Largest change of each light's direction (degrees).",
    )
    variations_camera_position_m: float = Field(
        default=0.03,
        ge=0.0,
        le=0.5,
        description="Largest shift of a scene camera along each world axis (m, ±).",
    )
    variations_camera_orientation_deg: float = Field(
        default=3.0,
        ge=0.0,
        le=45.0,
        description="Largest turn of a scene camera (degrees, about a random axis).",
    )
    variations_camera_fovy_deg: float = Field(
        default=2.0,
        ge=0.0,
        le=30.0,
        description="Largest change of a scene camera's vertical field of view (degrees, ±).",
    )
    variations_max_candidates: int = Field(
        default=2000,
        ge=10,
        le=1_000_000,
        description="Most candidate poses evaluated per object per variant (random ones, then a grid sweep of its support).",
    )

    @model_validator(mode="after")
    def _check_ranges(self) -> VariationsSettings:
        if self.variations_light_intensity_min > self.variations_light_intensity_max:
            raise ValueError(
                f"VARIATIONS_LIGHT_INTENSITY_MIN ({self.variations_light_intensity_min}) must not be "
                f"larger than VARIATIONS_LIGHT_INTENSITY_MAX ({self.variations_light_intensity_max})"
            )
        return self
