"""A delivered folder: the dataset, its record (``_DELIVERY.json``) and its statement (``DELIVERY.md``).

The record is written last, beside the copy: the dataset digest, every file with its size
and sha256 (as re-read from the copy), the gate decision, the approval (if one was
needed), the code that delivered, who and when, and the statement's sha256. The statement
says the same for people (:mod:`bp_dataset.statement`). Neither is a dataset file:
``meta/SHA256SUMS`` does not list them, so they leave the dataset digest unchanged, and they
are the only files allowed beside a delivered dataset that SHA256SUMS does not list.

:func:`delivery_checks` is what ``bp verify`` adds for a delivery. A folder is a delivery
when it holds ``_DELIVERY.json`` or ``DELIVERY.md``, when it lies under
``deliveries/<customer>/<dataset>/`` (where the pipeline delivers by default), or when the
caller says so (``bp verify --delivery``); a delivery without its record fails. With a
pinned digest (``bp verify --digest``), the dataset digest must equal it and so must the
digest the record names.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Final, Literal

from bp_sdk.errors import BPError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bp_dataset.layout import SHA256SUMS
from bp_dataset.report import DELIVERY, DIGEST, CheckResult, Problems
from bp_dataset.root import DatasetRoot

DELIVERY_RECORD: Final = "_DELIVERY.json"
STATEMENT_FILE: Final = "DELIVERY.md"
NOT_DATASET_FILES: Final = frozenset({DELIVERY_RECORD, STATEMENT_FILE})  # beside a delivered copy
SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_DELIVERY_LOCATION: Final = re.compile(r"(?:^|/)deliveries/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+/?$")


class DeliveredFile(BaseModel):
    """Size and sha256 of one delivered file, as read back from the copy."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256_RE.pattern)


class GateRef(BaseModel):
    """The committed gate decision the delivery relied on."""

    model_config = ConfigDict(extra="forbid")
    commit: str
    decision_sha256: str
    passed: bool
    failed: list[str]
    config_version: str


class ApprovalRef(BaseModel):
    """The approval that let a failed gate through (``reason``, ``authenticated`` and
    ``created_at`` are absent from records written before the statement existed)."""

    model_config = ConfigDict(extra="forbid")
    approval_id: str
    path: str
    sha256: str
    approver: str
    checks: list[str]
    expires_at: datetime
    authenticated: bool | None = None
    reason: str | None = None
    created_at: datetime | None = None


class StatementRef(BaseModel):
    """The human-readable statement beside the copy and the sha256 of its bytes."""

    model_config = ConfigDict(extra="forbid")
    path: Literal["DELIVERY.md"] = STATEMENT_FILE
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256_RE.pattern)


class DeliveryRecord(BaseModel):
    """``_DELIVERY.json`` (``code_version`` and ``statement`` are absent from older records)."""

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
    code_version: dict[str, str] | None = None
    statement: StatementRef | None = None

    def to_bytes(self) -> bytes:
        """Pretty JSON."""
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()


def delivery_reason(root: DatasetRoot, required: bool) -> str | None:
    """Why ``root`` must be a delivery (None: nothing says it is one)."""
    if required:
        return "it is verified as a delivery"
    if root.exists(STATEMENT_FILE):
        return f"{STATEMENT_FILE} is here"
    base = root.storage.uri.rstrip("/")
    where = f"{base}/{root.prefix}" if root.prefix else base
    if _DELIVERY_LOCATION.search(where):
        return "it lies under deliveries/<customer>/<dataset>/"
    return None


def read_record(root: DatasetRoot) -> tuple[DeliveryRecord | None, str | None]:
    """The record beside ``root`` and why it could not be read (both None: there is none)."""
    try:
        raw = root.read(DELIVERY_RECORD)
    except BPError as exc:
        return None, None if not root.exists(DELIVERY_RECORD) else exc.message[:160]
    try:
        return DeliveryRecord.model_validate_json(raw), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        return None, f"{where}: {first['msg']}"[:160]


def delivery_checks(
    root: DatasetRoot, digest: str | None, *, required: bool = False, pinned: str | None = None
) -> list[CheckResult]:
    """The ``delivery`` check when ``root`` is a delivery, and the ``digest`` check when a
    digest is pinned; none for a plain dataset folder without a pin."""
    record, bad = read_record(root)
    present = record is not None or bad is not None
    why = "_DELIVERY.json is here" if present else delivery_reason(root, required)
    out: list[CheckResult] = []
    if why is not None:
        out.append(_delivery_result(root, digest, record, bad, why, present))
    if pinned is not None:
        out.append(_pinned_result(pinned, digest, record, why is not None))
    return out


def _delivery_result(
    root: DatasetRoot,
    digest: str | None,
    record: DeliveryRecord | None,
    bad: str | None,
    why: str,
    present: bool,
) -> CheckResult:
    problems = Problems()
    if not present:
        problems.add(
            f"{DELIVERY_RECORD}: missing, but this is a delivery ({why}): the record was "
            "deleted, or the delivery never finished (a folder without it is not a delivery)"
        )
    elif record is None:
        problems.add(f"{DELIVERY_RECORD}: not a valid delivery record ({bad})")
    else:
        if record.dataset_digest != digest:
            problems.add(
                f"{DELIVERY_RECORD}: names dataset digest {record.dataset_digest}, but "
                f"{SHA256SUMS} gives {digest}"
            )
        problems.extend(statement_problems(root, record))
    has_statement = record is not None and record.statement is not None
    summary = (
        f"a delivery ({why})"
        if problems
        else f"{DELIVERY_RECORD} names this dataset's digest"
        + (f"; {STATEMENT_FILE} has the sha256 it names" if has_statement else "; no statement")
    )
    value = {"why": why, "record": present, "statement": has_statement}
    return CheckResult.from_problems(DELIVERY, problems, value, summary)


def statement_problems(root: DatasetRoot, record: DeliveryRecord) -> list[str]:
    """``DELIVERY.md`` must be there with the sha256 its record names (and not be there if
    the record, an older one, names none)."""
    try:
        body: bytes | None = root.read(STATEMENT_FILE)
    except BPError:
        body = None
    ref = record.statement
    if ref is None:
        if body is None:
            return []
        return [f"{STATEMENT_FILE}: present, but {DELIVERY_RECORD} names no statement"]
    if body is None:
        return [f"{STATEMENT_FILE}: missing (named by {DELIVERY_RECORD}, sha256 {ref.sha256})"]
    sha = hashlib.sha256(body).hexdigest()
    if sha != ref.sha256:
        return [
            (
                f"{STATEMENT_FILE}: sha256 {sha} is not the {ref.sha256} that {DELIVERY_RECORD} "
                "names: the statement was modified after delivery"
            )
        ]
    return []


def _pinned_result(
    pinned: str, digest: str | None, record: DeliveryRecord | None, is_delivery: bool
) -> CheckResult:
    problems = Problems()
    if digest is None:
        problems.add(f"{SHA256SUMS}: unreadable, so the dataset digest is unknown, not {pinned}")
    elif digest != pinned:
        problems.add(f"{SHA256SUMS}: the dataset digest is {digest}, not the pinned {pinned}")
    if is_delivery and record is None:
        problems.add(f"{DELIVERY_RECORD}: no valid delivery record names the pinned {pinned}")
    elif record is not None and record.dataset_digest != pinned:
        problems.add(
            f"{DELIVERY_RECORD}: names dataset digest {record.dataset_digest}, not the pinned {pinned}"
        )
    summary = (
        f"pinned {pinned}"
        if problems
        else f"dataset digest is the pinned {pinned}"
        + (f", named by {DELIVERY_RECORD}" if is_delivery else "")
    )
    value = {
        "pinned": pinned,
        "dataset": digest,
        "record": record.dataset_digest if record else None,
    }
    return CheckResult.from_problems(DIGEST, problems, value, summary)
