"""The delivered folder's own files: ``DELIVERY.md`` (the statement), then ``_DELIVERY.json``.

The statement is written first and the record last, create-if-absent, naming the
statement's sha256: a crash between the two leaves a statement without a record, which
is not a delivery (``bp verify`` says so) and which the next attempt overwrites. A
re-delivery (a record of the same digest is already there) keeps the record, and so its
``delivered_at``, and renders the statement from it again: the same bytes, written only
when the file is missing or differs.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from bp_dataset.approval import Approval
from bp_dataset.decision import GateDecision
from bp_dataset.delivery import (
    DELIVERY_RECORD,
    STATEMENT_FILE,
    ApprovalRef,
    DeliveredFile,
    DeliveryRecord,
    GateRef,
    StatementRef,
)
from bp_dataset.root import DatasetRoot
from bp_dataset.statement import render_statement
from bp_sdk.errors import NotFoundError, PermanentError, PreconditionFailed
from bp_sdk.storage.base import TMP_PREFIX


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def existing_record(dest: DatasetRoot, digest: str) -> DeliveryRecord | None:
    """A delivery record already at the destination: the same dataset (done), or another
    one (never overwritten)."""
    try:
        raw = dest.read(DELIVERY_RECORD)
    except NotFoundError:
        return None
    try:
        record = DeliveryRecord.model_validate_json(raw)
    except ValueError:
        raise PermanentError(
            f"{dest.label}/{DELIVERY_RECORD} exists and is not a delivery record"
        ) from None
    if record.dataset_digest != digest:
        raise PermanentError(
            f"{dest.label} already holds a delivery of another dataset (digest "
            f"{record.dataset_digest[:16]}…); a delivery is never overwritten",
            next_step="Deliver to another destination or customer.",
        )
    return record


def remove_leftovers(dest: DatasetRoot) -> list[str]:
    """Delete what interrupted writes left at the destination (``.bp-tmp-*``): they are
    this stage's own, and ``bp verify`` reports every unlisted file. The paths removed."""
    start = f"{dest.prefix}/" if dest.prefix else ""
    gone = [
        info.path
        for info in dest.storage.list(start, include_temporary=True)
        if info.path.rsplit("/", 1)[-1].startswith(TMP_PREFIX)
    ]
    for path in gone:
        dest.storage.delete(path)
    return gone


def approval_ref(approval: Approval, raw: bytes) -> ApprovalRef:
    """What the record says about the approval used (``raw``: the record's bytes)."""
    return ApprovalRef(
        approval_id=approval.approval_id,
        path=approval.path,
        sha256=sha256(raw),
        approver=approval.approver.principal,
        authenticated=approval.approver.authenticated,
        checks=list(approval.checks),
        reason=approval.reason,
        created_at=approval.created_at,
        expires_at=approval.expires_at,
    )


def new_record(
    *,
    decision: GateDecision,
    gate: GateRef,
    customer_id: str,
    digest: str,
    destination: str,
    files: dict[str, DeliveredFile],
    approval: ApprovalRef | None,
    delivered_by: str,
    delivered_at: datetime,
    code_version: dict[str, str],
) -> DeliveryRecord:
    """The record of a new delivery (its statement not yet rendered)."""
    return DeliveryRecord(
        dataset_id=decision.dataset_id,
        customer_id=customer_id,
        dataset_digest=digest,
        destination=destination,
        files=files,
        total_bytes=sum(f.size for f in files.values()),
        gate=gate,
        approval=approval,
        delivered_by=delivered_by,
        delivered_at=delivered_at,
        code_version=code_version,
    )


def write_delivery(
    dest: DatasetRoot, record: DeliveryRecord, decision: GateDecision
) -> DeliveryRecord:
    """Write the statement, then the record (create-if-absent, last); the record that is
    at the destination afterwards (another attempt's, if it won a race)."""
    body = render_statement(record, decision)
    record = record.model_copy(
        update={"statement": StatementRef(size=len(body), sha256=sha256(body))}
    )
    dest.storage.write_bytes(dest.key(STATEMENT_FILE), body)
    try:
        dest.storage.create_if_absent(dest.key(DELIVERY_RECORD), record.to_bytes())
    except PreconditionFailed:
        other = existing_record(dest, record.dataset_digest)  # raises if another dataset's
        if other is not None:
            record = other
    ensure_statement(dest, record, decision)
    return record


def ensure_statement(dest: DatasetRoot, record: DeliveryRecord, decision: GateDecision) -> bool:
    """Make ``DELIVERY.md`` the statement ``record`` names: untouched if it is, rendered
    again from the record if missing or different. True if it was written."""
    ref = record.statement
    if ref is None:
        return False  # a delivery from before statements: its record names none
    try:
        current: bytes | None = dest.read(STATEMENT_FILE)
    except NotFoundError:
        current = None
    if current is not None and sha256(current) == ref.sha256:
        return False
    body = render_statement(record, decision)
    if sha256(body) != ref.sha256:
        raise PermanentError(
            f"{dest.label}/{STATEMENT_FILE} is not the statement {DELIVERY_RECORD} names "
            f"(sha256 {ref.sha256[:16]}…) and cannot be rendered again from the record",
            next_step="Restore DELIVERY.md from the delivery, or deliver to a new destination.",
        )
    dest.storage.write_bytes(dest.key(STATEMENT_FILE), body)
    return True
