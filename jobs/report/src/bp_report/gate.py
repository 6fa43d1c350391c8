"""The gate decision, its approvals and the delivery, as committed.

The decision is read from the gate's committed ``decision.json`` (verified against its
commit record), approvals from ``datasets/<id>/approvals/`` and judged with the same
rules deliver applies (:func:`bp_dataset.approval.approval_problems`, outside production,
at the snapshot's time); the delivery from deliver's committed ``delivery.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bp_dataset.approval import Approval, approval_problems
from bp_dataset.decision import DECISION_FILE, GateDecision
from bp_dataset.delivery import DeliveryRecord
from bp_sdk.commit import CommittedUnit
from bp_sdk.errors import BPError
from bp_sdk.markers import FailureMarker
from bp_sdk.storage import Storage
from pydantic import ValidationError

from bp_report.collect import Snapshot, UnitState

DELIVERY_COPY = "delivery.json"  # deliver's committed copy of its _DELIVERY.json

GateStatus = Literal["passed", "failed", "not run", "did not finish", "unreadable"]


@dataclass
class ApprovalView:
    """An approval record and why it would not let the decision through (empty: it would)."""

    approval: Approval
    sha256: str
    problems: list[str]

    @property
    def valid(self) -> bool:
        """Covers every failed check of the committed decision, unexpired."""
        return not self.problems


@dataclass
class GateView:
    """What the page and report.json say about the gate."""

    status: GateStatus
    decision: GateDecision | None = None
    approvals: list[ApprovalView] = field(default_factory=list)
    bad_approvals: list[str] = field(default_factory=list)
    marker: FailureMarker | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def approved_by(self) -> ApprovalView | None:
        """The first approval that lets a failed decision through."""
        return next((a for a in self.approvals if a.valid), None)


@dataclass
class DeliveryView:
    """What the page and report.json say about the delivery."""

    status: Literal["delivered", "not delivered", "did not finish", "unreadable"]
    record: DeliveryRecord | None = None
    marker: FailureMarker | None = None
    problems: list[str] = field(default_factory=list)


def _unit(snap: Snapshot, stage: str) -> UnitState | None:
    view = snap.stage(stage)
    return view.units[0] if view and view.units else None


def gate_view(storage: Storage, snap: Snapshot, at: datetime) -> GateView:
    """The committed decision (or why there is none) and every approval of the dataset."""
    unit = _unit(snap, "gate")
    if unit is None or unit.record is None:
        status: GateStatus = "not run"
        if unit is not None and unit.status == "unreadable":
            return GateView("unreadable", problems=[unit.error or "unreadable commit record"])
        if unit is not None and unit.markers:
            status = "did not finish"
        return GateView(
            status, marker=unit.last_marker if unit else None, bad_approvals=snap.bad_approvals
        )
    committed = CommittedUnit(storage, unit.record)
    try:
        decision = committed.read_model(DECISION_FILE, GateDecision)
    except (BPError, ValidationError) as exc:
        why = exc.message if isinstance(exc, BPError) else f"{DECISION_FILE} is not a gate decision"
        return GateView("unreadable", problems=[why])
    view = GateView(
        "passed" if decision.passed else "failed", decision, bad_approvals=snap.bad_approvals
    )
    decision_sha = unit.record.files[DECISION_FILE].sha256
    for approval, sha in snap.approvals:
        problems = approval_problems(
            approval, decision, decision_sha, at, production=False, approvers=frozenset()
        )
        view.approvals.append(ApprovalView(approval, sha, problems))
    return view


def delivery_view(storage: Storage, snap: Snapshot) -> DeliveryView:
    """The committed delivery record, or why there is none."""
    unit = _unit(snap, "deliver")
    if unit is None or unit.record is None:
        if unit is not None and unit.status == "unreadable":
            return DeliveryView("unreadable", problems=[unit.error or "unreadable commit record"])
        marker = unit.last_marker if unit else None
        return DeliveryView("did not finish" if marker else "not delivered", marker=marker)
    if DELIVERY_COPY not in unit.record.files:
        return DeliveryView("delivered")
    try:
        record = CommittedUnit(storage, unit.record).read_model(DELIVERY_COPY, DeliveryRecord)
    except (BPError, ValidationError) as exc:
        why = (
            exc.message if isinstance(exc, BPError) else f"{DELIVERY_COPY} is not a delivery record"
        )
        return DeliveryView("unreadable", problems=[why])
    return DeliveryView("delivered", record)


__all__ = ["ApprovalView", "DeliveryView", "GateView", "delivery_view", "gate_view"]
