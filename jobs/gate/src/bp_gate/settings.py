"""Gate settings: which dataset, which threshold config."""

from __future__ import annotations

from typing import ClassVar

from bp_dataset.settings import DatasetStageSettings
from bp_sdk.settings import JobSettings
from pydantic import Field, field_validator

from bp_gate.config import check_config_ref


class GateSettings(DatasetStageSettings):
    """``bp-gate`` configuration (environment only). There is no setting that skips,
    forces or relaxes the gate: thresholds come only from a versioned config."""

    stage_name: ClassVar[str] = "gate"
    infra_fields: ClassVar[frozenset[str]] = JobSettings.infra_fields | {"gate_workers"}

    gate_config: str = Field(
        default="v2",
        description="Threshold config: a version shipped with bp-gate (v2, the default, adds the initial-state diversity threshold to v1) or the storage key of a JSON config file with its own 'version' (e.g. configs/gate/strict-v3.json).",
    )
    gate_workers: int = Field(
        default=2, ge=1, le=64, description="Threads hashing files and decoding videos."
    )

    @field_validator("gate_config")
    @classmethod
    def _config(cls, value: str) -> str:
        return check_config_ref(value)
