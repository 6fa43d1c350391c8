"""Approval records: the only way past a failed gate, and an audited one.

An approval says **who** (the authenticated identity, never a typed name), **why** (a
real reason; ``bp approve`` refuses control, lone surrogate and bidi override characters
in it and in the approver, see ``bp_sdk.text``), **which checks** (only threshold checks
that actually failed in the committed decision), **until when** (required, at most
:data:`MAX_VALIDITY`) and **for which dataset digest** (read from the decision; a
re-export has another digest). It is written create-if-absent to
``datasets/<id>/approvals/<approval_id>.json``, beside the gate's committed output, never
inside it, and logged.

Deliver accepts one approval that covers every failed check, names the digest of the
committed decision and the dataset, has not expired, and (in production) comes from an
authenticated identity in ``DELIVER_APPROVERS``. Nothing expires into an approval:
an expired record is refused like a wrong one.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import re
import secrets
import socket
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from bp_sdk.commit import CommitRecord
from bp_sdk.errors import BPError, ConfigError, Problem
from bp_sdk.layout import approvals_dir
from bp_sdk.storage import Storage, join
from bp_sdk.text import MULTILINE, text_problem
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bp_dataset.decision import DECISION_FILE, GateDecision, dataset_unit, load_decision

log = logging.getLogger("bp.approve")

APPROVAL_SCHEMA: Final = "bp.approval/v1"
MAX_VALIDITY: Final = timedelta(days=30)
CLOCK_SKEW: Final = timedelta(minutes=5)
MIN_REASON_CHARS: Final = 20
MIN_REASON_WORDS: Final = 4
LOCAL_PREFIX: Final = "local:"
# words that say nothing about why a dataset that failed its gate may still be delivered
BOILERPLATE: Final = frozenset(
    [
        "ok",
        "okay",
        "fine",
        "good",
        "test",
        "testing",
        "tested",
        "override",
        "overridden",
        "overriding",
        "approve",
        "approved",
        "approval",
        "lgtm",
        "ship",
        "it",
        "yes",
        "y",
        "sure",
        "bypass",
        "skip",
        "skipped",
        "force",
        "forced",
        "please",
        "pls",
        "thanks",
        "n/a",
        "na",
        "none",
        "nothing",
        "tbd",
        "todo",
        "whatever",
        "because",
        "asdf",
        "qwerty",
        "foo",
        "bar",
        "baz",
        "x",
        "xx",
        "xxx",
        "the",
        "a",
        "an",
        "and",
        "is",
        "for",
        "to",
        "this",
        "that",
        "gate",
        "check",
        "checks",
        "failed",
        "fail",
    ]
)
APPROVAL_ID_RE: Final = re.compile(r"^apr-\d{8}T\d{6}Z-[0-9a-f]{8}$")


class Identity(BaseModel):
    """Who approved: an identity Google authenticated, or a marked local one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    principal: str = Field(min_length=3, max_length=320)
    kind: Literal["service_account", "user", "local"]
    authenticated: bool
    source: str

    @classmethod
    def local(cls) -> Identity:
        """``local:<user>@<host>``: unauthenticated; production refuses it."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        host = socket.gethostname() or "unknown-host"
        return cls(
            principal=f"{LOCAL_PREFIX}{user}@{host}",
            kind="local",
            authenticated=False,
            source="unauthenticated: local user and host name (no Google credentials)",
        )


class DecisionRef(BaseModel):
    """The committed gate decision an approval answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    commit: str
    decision_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    config_version: str
    failed: list[str]


class Approval(BaseModel):
    """``datasets/<id>/approvals/<approval_id>.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: Literal["bp.approval/v1"] = Field(default=APPROVAL_SCHEMA, alias="schema")
    approval_id: str = Field(pattern=APPROVAL_ID_RE.pattern)
    dataset_id: str
    dataset_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    decision: DecisionRef
    checks: list[str] = Field(min_length=1)
    reason: str
    approver: Identity
    created_at: datetime
    expires_at: datetime

    def to_bytes(self) -> bytes:
        """Pretty JSON."""
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()

    @property
    def path(self) -> str:
        """Storage key of the record."""
        return approval_path(self.dataset_id, self.approval_id)


def approval_path(dataset_id: str, approval_id: str) -> str:
    """``datasets/<id>/approvals/<approval_id>.json``."""
    return join(approvals_dir(dataset_id), f"{approval_id}.json")


def new_approval_id(now: datetime) -> str:
    """``apr-20261123T120000Z-1a2b3c4d``: sortable by time, unique by its random part."""
    return f"apr-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def reason_problems(reason: str) -> list[str]:
    """Why a reason is not a real reason (empty list: it is)."""
    text = " ".join(reason.split())
    words = re.findall(r"[A-Za-z0-9/'-]+", text.lower())
    out = []
    if len(text) < MIN_REASON_CHARS or len(words) < MIN_REASON_WORDS:
        out.append(
            f"is too short: say why the failed checks are acceptable for this delivery "
            f"(at least {MIN_REASON_WORDS} words and {MIN_REASON_CHARS} characters)"
        )
    meaningful = [w for w in words if w not in BOILERPLATE and len(w) > 1]
    if words and len(set(meaningful)) < 2:
        out.append(
            f"is boilerplate ({text[:60]!r}): name what was reviewed and why it is acceptable"
        )
    return out


def validity_problems(created_at: datetime, expires_at: datetime) -> list[str]:
    """Why an expiry is not allowed: it is required, after creation, within 30 days."""
    span = expires_at - created_at
    if span <= timedelta(0):
        return ["expires before it was created"]
    if span > MAX_VALIDITY:
        return [f"is valid for {span}, longer than the {MAX_VALIDITY.days}-day maximum"]
    return []


def create_approval(
    storage: Storage,
    dataset_id: str,
    checks: list[str],
    reason: str,
    approver: Identity,
    expires_in: timedelta,
    now: datetime | None = None,
) -> Approval:
    """Validate against the committed decision, write create-if-absent, log. Every
    problem is listed at once (:class:`ConfigError`: the command's arguments are wrong)."""
    now = now or datetime.now(tz=UTC)
    decision, record = load_decision(storage, dataset_id)
    problems = request_problems(decision, checks, reason, now, now + expires_in)
    problems += [p for p in [text_problem("approver", approver.principal)] if p is not None]
    if problems:
        raise ConfigError(
            f"approval for dataset {dataset_id!r} refused ({len(problems)} problems)",
            problems=problems,
            next_step="Fix the listed arguments; only failed threshold checks can be approved.",
        )
    assert decision.dataset_digest is not None  # noqa: S101 - request_problems checked it
    approval = Approval(
        approval_id=new_approval_id(now),
        dataset_id=dataset_id,
        dataset_digest=decision.dataset_digest,
        decision=decision_ref(decision, record),
        checks=sorted(set(checks)),
        reason=" ".join(reason.split()),
        approver=approver,
        created_at=now,
        expires_at=now + expires_in,
    )
    storage.create_if_absent(approval.path, approval.to_bytes())
    log.warning(
        "approval %s by %s%s for dataset %s (digest %s…): checks %s, expires %s; reason: %s",
        approval.approval_id,
        approver.principal,
        "" if approver.authenticated else " (UNAUTHENTICATED)",
        dataset_id,
        approval.dataset_digest[:16],
        ", ".join(approval.checks),
        approval.expires_at.isoformat(),
        approval.reason,
        extra={
            "fields": {
                "approval_id": approval.approval_id,
                "approval_path": approval.path,
                "dataset_digest": approval.dataset_digest,
                "checks": approval.checks,
                "approver": approver.principal,
                "authenticated": approver.authenticated,
                "expires_at": approval.expires_at.isoformat(),
            }
        },
    )
    return approval


def decision_ref(decision: GateDecision, record: CommitRecord) -> DecisionRef:
    """What an approval or a delivery records about the committed decision."""
    return DecisionRef(
        commit=dataset_unit(str(record.dataset_id), record.stage).commit_path,
        decision_sha256=record.files[DECISION_FILE].sha256,
        config_version=decision.config.version,
        failed=list(decision.failed),
    )


def request_problems(
    decision: GateDecision, checks: list[str], reason: str, created: datetime, expires: datetime
) -> list[Problem]:
    """Everything wrong with a request to approve ``checks`` of ``decision``."""
    out: list[Problem] = []
    if decision.passed:
        out.append(Problem("--dataset", "its gate decision passed: there is nothing to approve"))
    if decision.dataset_digest is None:
        out.append(
            Problem("--dataset", "its decision has no dataset digest (no SHA256SUMS): re-export it")
        )
    if not checks:
        out.append(Problem("--checks", "name at least one failed check"))
    failed = set(decision.failed)
    for name in checks:
        c = decision.check(name)
        if c is None:
            out.append(
                Problem(
                    "--checks",
                    f"{name!r} is not a check of this decision ({', '.join(x.name for x in decision.checks)})",
                )
            )
        elif name not in failed:
            out.append(
                Problem("--checks", f"{name!r} did not fail: only failed checks can be approved")
            )
        elif not c.overridable:
            out.append(
                Problem(
                    "--checks",
                    f"{name!r} is an integrity check: a broken dataset is re-exported, never approved",
                )
            )
    out += [Problem("--reason", p) for p in reason_problems(reason)]
    out += [p for p in [text_problem("--reason", reason, MULTILINE)] if p is not None]
    out += [Problem("--expires-in", p) for p in validity_problems(created, expires)]
    return out


def approval_problems(
    approval: Approval,
    decision: GateDecision,
    decision_sha256: str,
    now: datetime,
    *,
    production: bool,
    approvers: frozenset[str],
) -> list[str]:
    """Why ``approval`` cannot let ``decision`` through now (empty list: it can)."""
    out: list[str] = []
    if approval.dataset_id != decision.dataset_id:
        out.append(f"is for dataset {approval.dataset_id!r}, not {decision.dataset_id!r}")
    if approval.dataset_digest != decision.dataset_digest:
        out.append(
            f"is for dataset digest {approval.dataset_digest[:16]}…, the decision is for "
            f"{str(decision.dataset_digest)[:16]}… (the dataset changed: approve the new one)"
        )
    if approval.decision.decision_sha256 != decision_sha256:
        out.append("answers another gate decision than the committed one")
    if now >= approval.expires_at:
        out.append(
            f"expired at {approval.expires_at.isoformat()} (approvals never renew themselves)"
        )
    if approval.created_at > now + CLOCK_SKEW:
        out.append(f"was created in the future ({approval.created_at.isoformat()})")
    out += validity_problems(approval.created_at, approval.expires_at)
    out += [f"reason {p}" for p in reason_problems(approval.reason)]
    failed = set(decision.failed)
    for name in sorted(set(approval.checks) - failed):
        out.append(f"approves {name!r}, which did not fail")
    for name in sorted(failed - set(approval.checks)):
        out.append(f"does not cover failed check {name!r}")
    for name in sorted(failed):
        c = decision.check(name)
        if c is not None and not c.overridable:
            out.append(f"cannot cover {name!r}: integrity checks are never approved")
    who = approval.approver
    if production:
        if not who.authenticated or who.principal.startswith(LOCAL_PREFIX):
            out.append(
                f"approver {who.principal!r} is not authenticated; production requires a Google identity"
            )
        if not approvers:
            out.append(
                "DELIVER_APPROVERS is empty: production accepts no approval without a list of approvers"
            )
        elif who.principal not in approvers:
            out.append(f"approver {who.principal!r} is not in DELIVER_APPROVERS")
    elif approvers and who.principal not in approvers:
        out.append(f"approver {who.principal!r} is not in DELIVER_APPROVERS")
    return out


def load_approvals(
    storage: Storage, dataset_id: str
) -> tuple[list[tuple[Approval, str]], list[str]]:
    """Every approval record of a dataset with the sha256 of its bytes, and the records
    that could not be read (each named)."""
    found: list[tuple[Approval, str]] = []
    bad: list[str] = []
    prefix = approvals_dir(dataset_id) + "/"
    for info in storage.list(prefix):
        name = info.path.rsplit("/", 1)[-1]
        try:
            data = storage.read_bytes(info.path)
            approval = Approval.model_validate_json(data)
        except (BPError, ValidationError, ValueError) as exc:
            bad.append(
                f"{info.path}: not a valid approval record ({str(exc).splitlines()[0][:120]})"
            )
            continue
        if f"{approval.approval_id}.json" != name or approval.dataset_id != dataset_id:
            bad.append(f"{info.path}: its id or dataset does not match where it is stored")
            continue
        found.append((approval, hashlib.sha256(data).hexdigest()))
    return found, bad


def approval_summary(approval: Approval) -> str:
    """One line for logs and errors."""
    return (
        f"{approval.approval_id} by {approval.approver.principal} for {', '.join(approval.checks)} "
        f"(expires {approval.expires_at.isoformat()})"
    )
