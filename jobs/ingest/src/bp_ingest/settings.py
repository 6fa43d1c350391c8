"""Ingest settings: the common job settings plus the stage's own limits and tolerances."""

from __future__ import annotations

from typing import ClassVar

from bp_sdk.settings import JobSettings
from pydantic import Field


class IngestSettings(JobSettings):
    """``bp-ingest`` configuration (environment only)."""

    stage_name: ClassVar[str] = "ingest"

    ingest_max_blueprint_bytes: int = Field(
        default=1 << 30,
        ge=1024,
        le=8 << 30,
        description="Largest scene.json accepted, in bytes (streamed, so memory stays bounded).",
    )
    ingest_max_objects: int = Field(
        default=1_000_000, ge=1, le=10_000_000, description="Most objects a blueprint may hold."
    )
    ingest_scale_tolerance: float = Field(
        default=1.5,
        gt=1.0,
        le=10.0,
        description="Rescale the whole scene when the median size/prior ratio is outside [1/t, t].",
    )
    ingest_outlier_factor: float = Field(
        default=3.0,
        gt=1.0,
        le=100.0,
        description="Rescale one object when it is more than this many times off its category prior.",
    )
