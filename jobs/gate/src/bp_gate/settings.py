"""Gate settings: which dataset, which threshold config."""

from __future__ import annotations

from typing import ClassVar

from bp_dataset.decision import default_dataset_id
from bp_sdk.ids import Identifier
from bp_sdk.settings import JobSettings
from pydantic import Field, field_validator

from bp_gate.config import check_config_ref


class GateSettings(JobSettings):
    """``bp-gate`` configuration (environment only). There is no setting that skips,
    forces or relaxes the gate: thresholds come only from a versioned config."""

    stage_name: ClassVar[str] = "gate"
    infra_fields: ClassVar[frozenset[str]] = JobSettings.infra_fields | {"gate_workers"}

    gate_dataset_id: Identifier | None = Field(
        default=None,
        description="Dataset to gate (folder under datasets/; its export must be committed). Default: <SCENE_ID>-<RUN_ID>, export's default id.",
    )
    gate_config: str = Field(
        default="v1",
        description="Threshold config: a version shipped with bp-gate (v1) or the storage key of a JSON config file with its own 'version' (e.g. configs/gate/strict-v2.json).",
    )
    gate_workers: int = Field(
        default=2, ge=1, le=64, description="Threads hashing files and decoding videos."
    )

    @field_validator("gate_config")
    @classmethod
    def _config(cls, value: str) -> str:
        return check_config_ref(value)

    def dataset_id(self) -> str:
        """The dataset this gate decides on."""
        return self.gate_dataset_id or default_dataset_id(self.scene_id, self.run_id)
