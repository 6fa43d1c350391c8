"""``DELIVERY.md``: the delivery statement, for people, beside ``_DELIVERY.json``.

It says what was delivered (dataset id and digest, customer, when, by which code), the
gate verdict with its config version, every check in a table (value, threshold, verdict;
failed ones marked, integrity or threshold), every failed check with what it found, and,
when a failed gate was delivered under an approval, who approved (and whether Google
authenticated them), why, which checks, when and until when.

It is rendered only from the delivery record (its ``statement`` field aside) and the
committed gate decision the record names, so a re-delivery renders the same bytes. Every
text that comes from data goes through :func:`md_text` (``bp_sdk.text.for_markdown``, the
one Markdown escaping the dataset card uses too) or :func:`md_code` for plain identifiers:
whitespace and control characters become one space or U+FFFD, and Markdown and HTML
punctuation is backslash-escaped, so a reason with ``|``, backticks, newlines or
``<script>`` stays text inside its table cell. No data starts a line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from bp_sdk.text import for_markdown

from bp_dataset.decision import DecisionCheck, GateDecision
from bp_dataset.delivery import (
    DELIVERY_RECORD,
    SHA256_RE,
    STATEMENT_FILE,
    ApprovalRef,
    DeliveryRecord,
)
from bp_dataset.layout import SHA256SUMS

_PLAIN: Final = re.compile(r"^[A-Za-z0-9._:@/+=-]+$")
OPS: Final = {">=": "≥", "<=": "≤", "==": "=", "holds": "holds"}
DETAILS_SHOWN: Final = 10  # per failed check; decision.json has them all
VALUE_CHARS: Final = 160
DETAIL_CHARS: Final = 300


def md_text(value: object, limit: int | None = None) -> str:
    """``value`` as inline Markdown text that renders literally (one line, escaped)."""
    return for_markdown(value, limit)


def md_code(value: object) -> str:
    """A plain identifier (id, digest, path) as code; anything else as :func:`md_text`."""
    text = str(value)
    return f"`{text}`" if _PLAIN.fullmatch(text) else md_text(text)


def fmt_value(value: Any) -> str:
    """A check's value or threshold, compact and deterministic (not yet escaped)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in items)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    return str(value)


def fmt_time(at: datetime) -> str:
    """UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _code_version(record: DeliveryRecord) -> str:
    cv = record.code_version
    if not cv:
        return "not recorded"
    parts = [f"{cv.get('package', '?')} {cv.get('version', '?')}"]
    labels = {"sdk_version": "bp-sdk", "revision": "revision", "image_digest": "image"}
    parts += [f"{label} {cv[k]}" for k, label in labels.items() if cv.get(k)]
    return md_text(", ".join(parts))


def _header(record: DeliveryRecord, decision: GateDecision) -> list[str]:
    verdict = "passed" if decision.passed else "FAILED"
    how = (
        f"under approval {md_code(record.approval.approval_id)}"
        if record.approval
        else "without approval"
        if not decision.passed
        else "no approval needed"
    )
    return [
        f"# Delivery statement: {md_code(record.dataset_id)}",
        "",
        (
            f"This statement is not part of the dataset: `{SHA256SUMS}` does not list it, so the "
            f"dataset digest is unchanged. `{DELIVERY_RECORD}`, the machine-readable record beside "
            "it, names its sha256; `bp verify --digest <digest> <this folder>` checks the dataset, "
            "the record and this file."
        ),
        "",
        _row("Delivery", ""),
        _row("---", "---"),
        _row("Dataset", md_code(record.dataset_id)),
        _row(f"Dataset digest (sha256 of `{SHA256SUMS}`)", md_code(record.dataset_digest)),
        _row("Customer", md_code(record.customer_id)),
        _row("Delivered at", md_text(fmt_time(record.delivered_at))),
        _row("Delivered to", md_code(record.destination)),
        _row("Delivered by", md_text(record.delivered_by)),
        _row("Code version", _code_version(record)),
        _row("Files", md_text(f"{len(record.files)} files, {record.total_bytes:,} bytes")),
        _row("Gate verdict", f"**{verdict}** ({how})"),
        _row(
            "Gate config", f"{md_code(decision.config.version)} ({md_code(decision.config.source)})"
        ),
        _row(
            "Gate decision",
            f"{md_code(record.gate.commit)} (decided {md_text(fmt_time(decision.decided_at))})",
        ),
        _row("Decision sha256", md_code(record.gate.decision_sha256)),
    ]


def _threshold(check: DecisionCheck) -> str:
    if check.op == "holds":
        return "must hold"
    return md_text(f"{OPS[check.op]} {fmt_value(check.threshold)}")


def _checks(decision: GateDecision, approved: set[str]) -> list[str]:
    lines = [
        "",
        f"## Gate checks (config {md_code(decision.config.version)})",
        "",
        _row("Check", "Kind", "Value", "Threshold", "Verdict"),
        _row("---", "---", "---", "---", "---"),
    ]
    for c in decision.checks:
        verdict = "pass" if c.passed else "**FAIL**" + (" (approved)" if c.name in approved else "")
        name = md_code(c.name) if c.passed else f"**{md_code(c.name)}**"
        value = md_text(fmt_value(c.value), VALUE_CHARS)
        lines.append(_row(name, c.kind, value, _threshold(c), verdict))
    return lines


def _failed(decision: GateDecision, approved: set[str]) -> list[str]:
    failed = [c for c in decision.checks if not c.passed]
    lines = ["", "## Failed checks", ""]
    if not failed:
        return [*lines, "None: every check passed."]
    for c in failed:
        kind = (
            "integrity check, never approvable"
            if c.kind == "integrity"
            else "threshold check, " + ("approved" if c.name in approved else "not approved")
        )
        lines.append(f"- **{md_code(c.name)}** ({kind}): {md_text(c.summary)}")
        details = [d for d in c.details if d != c.summary]
        lines += [f"  - {md_text(d, DETAIL_CHARS)}" for d in details[:DETAILS_SHOWN]]
        if len(details) > DETAILS_SHOWN:
            lines.append(f"  - … and {len(details) - DETAILS_SHOWN} more in the decision")
    return lines


def _approval(a: ApprovalRef) -> list[str]:
    if a.authenticated is None:
        who = "authentication not recorded"
    elif a.authenticated:
        who = "authenticated by Google"
    else:
        who = "**NOT authenticated** (a local identity; production refuses these)"
    return [
        "",
        "## Approval",
        "",
        "The gate failed; this approval accepted its failed threshold checks.",
        "",
        _row("Approval", ""),
        _row("---", "---"),
        _row("Approval id", md_code(a.approval_id)),
        _row("Approved by", f"{md_code(a.approver)} ({who})"),
        _row("Reason", md_text(a.reason) if a.reason is not None else "not recorded"),
        _row("Checks approved", ", ".join(md_code(c) for c in a.checks) or "—"),
        _row("Created", md_text(fmt_time(a.created_at)) if a.created_at else "not recorded"),
        _row("Expires", md_text(fmt_time(a.expires_at))),
        _row("Approval record", f"{md_code(a.path)} (sha256 {md_code(a.sha256)})"),
    ]


def render_statement(record: DeliveryRecord, decision: GateDecision) -> bytes:
    """The statement's bytes: a function of the record (``statement`` aside) and the
    decision it names, nothing else (no clock)."""
    approved = set(record.approval.checks) if record.approval else set()
    pin = record.dataset_digest if SHA256_RE.fullmatch(record.dataset_digest) else "<digest>"
    lines = _header(record, decision) + _checks(decision, approved) + _failed(decision, approved)
    if record.approval is not None:
        lines += _approval(record.approval)
    lines += [
        "",
        "## Check what you received",
        "",
        "```",
        f"bp verify --digest {pin} .",
        "```",
        "",
        (
            f"`{STATEMENT_FILE}` and `{DELIVERY_RECORD}` are the only files here that "
            f"`{SHA256SUMS}` does not list."
        ),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")
