"""The gate's decision (``decision.json``): every check with its value, threshold and verdict.

The gate stage writes it into its committed output (``datasets/<id>/gate``); ``bp approve``
and the deliver stage read it back through the commit record, so a decision that was
edited after the commit is refused (its sha256 no longer matches the record).

Integrity checks (checksums, schema, tier, frames, values, the export commit) can never
be overridden: a broken dataset is re-exported, not approved. Threshold checks (success
rate, collisions, quality, coverage, diversity) can be overridden by an approval record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from bp_sdk.commit import CommitRecord, require_unit
from bp_sdk.layout import Unit
from bp_sdk.storage import Storage
from pydantic import BaseModel, ConfigDict, Field

DECISION_FILE: Final = "decision.json"
GATE_STAGE: Final = "gate"
EXPORT_STAGE: Final = "export"
DELIVER_STAGE: Final = "deliver"


def dataset_unit(dataset_id: str, stage: str) -> Unit:
    """The unit of a dataset stage (its folder depends on the dataset id only)."""
    return Unit(dataset_id, dataset_id, stage, dataset=dataset_id)


class DecisionCheck(BaseModel):
    """One check of the decision."""

    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["integrity", "threshold"]
    value: Any = None
    threshold: Any = None
    op: Literal[">=", "<=", "==", "holds"] = "holds"
    passed: bool
    overridable: bool
    summary: str = ""
    details: list[str] = Field(default_factory=list)


class ConfigRef(BaseModel):
    """Which threshold config decided: its version, digest and where it came from."""

    model_config = ConfigDict(extra="forbid")
    version: str
    digest: str
    source: str


class ExportRef(BaseModel):
    """The committed export the gate read."""

    model_config = ConfigDict(extra="forbid")
    commit: str
    attempt_dir: str
    dataset_root: str
    outputs_digest: str


class GateDecision(BaseModel):
    """``decision.json``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: Literal["bp.gate_decision/v1"] = Field(default="bp.gate_decision/v1", alias="schema")
    dataset_id: str
    dataset_digest: str | None
    export: ExportRef
    config: ConfigRef
    checks: list[DecisionCheck]
    passed: bool
    failed: list[str]
    decided_at: datetime

    def check(self, name: str) -> DecisionCheck | None:
        """The named check."""
        return next((c for c in self.checks if c.name == name), None)

    def to_bytes(self) -> bytes:
        """Pretty JSON."""
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()


def load_decision(storage: Storage, dataset_id: str) -> tuple[GateDecision, CommitRecord]:
    """The committed gate decision of a dataset (verified against its commit record)."""
    unit = require_unit(storage, dataset_unit(dataset_id, GATE_STAGE))
    return unit.read_model(DECISION_FILE, GateDecision), unit.record
