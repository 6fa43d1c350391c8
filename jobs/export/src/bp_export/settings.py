"""Export settings: which episodes, which dataset, how it is encoded and split."""

from __future__ import annotations

from typing import ClassVar, Literal

from bp_contracts.episode import Tier
from bp_dataset.settings import DatasetStageSettings
from bp_dataset.video import CODEC_NAMES
from bp_sdk.errors import PathError
from bp_sdk.settings import JobSettings
from bp_sdk.storage import check_path
from pydantic import Field, field_validator, model_validator


class ExportSettings(DatasetStageSettings):
    """``bp-export`` configuration (environment only)."""

    stage_name: ClassVar[str] = "export"
    infra_fields: ClassVar[frozenset[str]] = JobSettings.infra_fields | {"export_workers"}

    export_spec: str | None = Field(
        default=None,
        description="Storage key of a dataset spec JSON (bp.dataset_spec/v1) listing the {scene_id, run_id} sources to merge. Unset: the one SCENE_ID/RUN_ID run.",
    )
    export_tier: Tier | None = Field(
        default=None,
        description="Tier the dataset must have (core, plus, full); it must equal the recorded tier exactly. Unset: the recorded tier.",
    )
    export_video_codec: Literal["libsvtav1", "libx264"] = Field(
        default="libsvtav1",
        description="Video encoder for every video file (LeRobot's default libsvtav1 = AV1, or libx264 = H.264), yuv420p.",
    )
    export_crf: int = Field(
        default=30,
        ge=0,
        le=63,
        description="Encoder quality (CRF; lower is better and larger). LeRobot uses 30.",
    )
    export_gop: int = Field(
        default=2,
        ge=1,
        le=600,
        description="Keyframe interval in frames (LeRobot uses 2: fast random access).",
    )
    export_valid_fraction: float = Field(
        default=0.1,
        ge=0.0,
        lt=1.0,
        description="Fraction of episodes in the valid split, chosen by a hash of each episode's identity (deterministic; train episodes come first).",
    )
    export_data_file_mb: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Start a new data parquet (and lossless npz) file once a file reaches this size (MB).",
    )
    export_video_file_mb: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Start a new video file once a file reaches this size (MB).",
    )
    export_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Video encoder processes (each encodes whole episodes of any video key, so more than the cameras use more cores); 1 encodes in the job's own process.",
    )
    export_robomimic: bool = Field(
        default=True, description="Also write robomimic HDF5 (robomimic/dataset.hdf5)."
    )
    export_license: str = Field(
        default="CC-BY-4.0",
        description="License of the dataset, stated on the card and in lineage.",
    )

    @field_validator("export_spec")
    @classmethod
    def _spec_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            check_path(value)
        except PathError as exc:
            raise ValueError(exc.message) from None
        if not value.endswith(".json"):
            raise ValueError("must be the storage key of a .json file, e.g. specs/my_dataset.json")
        return value

    @model_validator(mode="after")
    def _spec_needs_id(self) -> ExportSettings:
        if self.export_spec and not self.dataset_id:
            raise ValueError(
                "EXPORT_SPEC merges several runs into one dataset: set DATASET_ID too, "
                "so export, gate and deliver find the same dataset"
            )
        return self

    def codec_name(self) -> str:
        """The codec name LeRobot records in the video info block (e.g. av1)."""
        return CODEC_NAMES[self.export_video_codec]
