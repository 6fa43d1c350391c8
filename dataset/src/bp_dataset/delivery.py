"""The delivery record (``_DELIVERY.json``): written last, beside a delivered copy.

It names the dataset digest, every file with its size and sha256 (as re-read from the
copy), the gate decision and the approval (if one was needed), who delivered and when.
It is not a dataset file: ``meta/SHA256SUMS`` cannot list it, and ``bp verify`` ignores
it at the root of a delivered copy (it checks that it names the same digest).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

DELIVERY_RECORD: Final = "_DELIVERY.json"


class DeliveredFile(BaseModel):
    """Size and sha256 of one delivered file, as read back from the copy."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class GateRef(BaseModel):
    """The committed gate decision the delivery relied on."""

    model_config = ConfigDict(extra="forbid")
    commit: str
    decision_sha256: str
    passed: bool
    failed: list[str]
    config_version: str


class ApprovalRef(BaseModel):
    """The approval that let a failed gate through."""

    model_config = ConfigDict(extra="forbid")
    approval_id: str
    path: str
    sha256: str
    approver: str
    checks: list[str]
    expires_at: datetime


class DeliveryRecord(BaseModel):
    """``_DELIVERY.json``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: Literal["bp.delivery/v1"] = Field(default="bp.delivery/v1", alias="schema")
    dataset_id: str
    customer_id: str
    dataset_digest: str
    destination: str
    files: dict[str, DeliveredFile]
    total_bytes: int
    gate: GateRef
    approval: ApprovalRef | None = None
    delivered_by: str
    delivered_at: datetime

    def to_bytes(self) -> bytes:
        """Pretty JSON."""
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()
