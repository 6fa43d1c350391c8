"""``DELIVERY.md``: the delivery statement beside the record. It tells a person the verdict,
every check and the approval; it leaves the dataset digest alone; data cannot break its
Markdown; a re-delivery writes the same bytes. Parsed with a real Markdown parser."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from bp_dataset.delivery import DELIVERY_RECORD, STATEMENT_FILE
from bp_dataset.layout import SHA256SUMS
from bp_dataset.statement import fmt_time, md_text

from tests.datasets import ExportedDataset
from tests.deliver.helpers import (
    REASON,
    approve,
    delivered,
    forget_commit,
    headings,
    html,
    parse,
    statement,
    tables,
)
from tests.gate.helpers import Store, bp

HOSTILE = [
    "a | b | c",
    "pipes || and a trailing \\",
    "`rm -rf /` and ``double`` ticks",
    "<script>alert(1)</script> & &amp; <b>bold</b>",
    "[click](http://evil.example) ![img](x.png) <http://x.example>",
    "**strong** _em_ ~~gone~~ $x^2$ # not a heading",
    "line one\nline two\r\n| --- | --- |\n\n# heading?\n- item?",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_stays_literal_in_one_cell(text: str) -> None:
    """md_text of hostile text is one table cell whose rendered text is the text itself
    (whitespace collapsed): no extra cells or rows, no HTML, links or emphasis."""
    doc = f"| field | value |\n|---|---|\n| reason | {md_text(text)} |\n"
    [table] = tables(doc)
    assert table.rows == [["reason", " ".join(text.split())]]
    kinds = {c.type for t in parse(doc) for c in (t.children or [])}
    assert not kinds & {"html_inline", "link_open", "image", "em_open", "strong_open", "s_open"}
    assert "<script>" not in html(doc) and "<b>" not in html(doc)


def test_control_characters_are_replaced() -> None:
    """Terminal escapes, bidi overrides and NUL become U+FFFD; nothing is silently kept."""
    assert md_text("ok\x1b[31mred\u202eevil\x00") == "ok\ufffd\\[31mred\ufffdevil\ufffd"


# The tests below deliver real exported datasets (built once per session).


@pytest.fixture
def failed(exported_core: ExportedDataset, tmp_path: Path) -> Store:
    """A store whose dataset failed the shipped v1 gate (thresholds only)."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate()
    assert code == 0 and decision is not None and not decision.passed
    return store


@pytest.fixture
def passed(exported_core: ExportedDataset, tmp_path: Path) -> Store:
    """A store whose dataset passed a loose gate config."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert code == 0 and decision is not None and decision.passed
    return store


def field_rows(md: str, first: str) -> dict[str, str]:
    """The two-column table whose header starts with ``first``, as {field: value}."""
    table = next(t for t in tables(md) if t.header and t.header[0] == first)
    assert all(len(r) == 2 for r in table.rows), table.rows
    return {r[0]: r[1] for r in table.rows}


def check_rows(md: str) -> dict[str, list[str]]:
    """The gate checks table as {check: [kind, value, threshold, verdict]}."""
    table = next(t for t in tables(md) if t.header[:1] == ["Check"])
    assert all(len(r) == 5 for r in table.rows), table.rows
    return {r[0]: r[1:] for r in table.rows}


@pytest.mark.slow
def test_approved_delivery_statement_names_approver_reason_expiry_and_failures(
    failed: Store,
) -> None:
    """Under an approval: DELIVERY.md names the approver (authenticated), the reason, the
    expiry, and every failed check (marked FAIL, approved); the record names its sha256."""
    approval = approve(failed)
    assert failed.deliver() == 0
    folder = failed.delivery_dir()
    md = statement(folder)
    decision = failed.decision()
    assert decision is not None and decision.failed
    rows = field_rows(md, "Approval")
    assert rows["Approval id"] == approval.approval_id
    assert rows["Approved by"] == "alice@example.com (authenticated by Google)"
    assert rows["Reason"] == REASON
    assert rows["Expires"] == fmt_time(approval.expires_at)
    assert rows["Created"] == fmt_time(approval.created_at)
    assert rows["Checks approved"] == ", ".join(approval.checks)
    checks = check_rows(md)
    assert list(checks) == [c.name for c in decision.checks]
    for c in decision.checks:
        kind, _value, threshold, verdict = checks[c.name]
        assert kind == c.kind
        assert verdict == ("pass" if c.passed else "FAIL (approved)")
        assert (threshold == "must hold") == (c.kind == "integrity")
    failed_section = md.split("## Failed checks", 1)[1].split("## Approval", 1)[0]
    assert all(name in failed_section for name in decision.failed)
    info = field_rows(md, "Delivery")
    assert info["Gate verdict"] == f"FAILED (under approval {approval.approval_id})"
    assert info["Gate config"].startswith(decision.config.version)
    assert info["Customer"] == "internal" and info["Dataset"] == failed.dataset_id
    record = delivered(failed)
    assert record is not None and record.statement is not None
    assert record.statement.sha256 == hashlib.sha256(md.encode()).hexdigest()
    assert record.code_version is not None and record.code_version["package"] == "bp-deliver"
    assert info["Code version"].startswith("bp-deliver ")


@pytest.mark.slow
def test_passed_delivery_statement_says_passed_without_approval(passed: Store) -> None:
    """A passed gate: the statement says so, every check passes, no approval section."""
    assert passed.deliver() == 0
    md = statement(passed.delivery_dir())
    assert field_rows(md, "Delivery")["Gate verdict"] == "passed (no approval needed)"
    assert all(row[3] == "pass" for row in check_rows(md).values())
    assert "Approval" not in headings(md) and "Approval id" not in md
    assert "None: every check passed." in md


@pytest.mark.slow
def test_delivery_leaves_the_dataset_digest_unchanged(passed: Store) -> None:
    """The dataset digest before delivery, in the record and of the delivered folder (as bp
    verify computes it, DELIVERY.md present) are one; SHA256SUMS lists neither new file."""
    before = hashlib.sha256((passed.root / SHA256SUMS).read_bytes()).hexdigest()
    assert passed.deliver() == 0
    folder = passed.delivery_dir()
    record = delivered(passed)
    assert record is not None and record.dataset_digest == before
    result = bp("verify", str(folder), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["dataset_digest"] == before
    assert "delivery" in [c["name"] for c in body["checks"]]
    listed = (folder / SHA256SUMS).read_text()
    assert STATEMENT_FILE not in listed and DELIVERY_RECORD not in listed
    assert (folder / SHA256SUMS).read_bytes() == (passed.root / SHA256SUMS).read_bytes()


@pytest.mark.slow
def test_hostile_reason_cannot_break_the_statement(failed: Store) -> None:
    """An approval reason with pipes, backticks, newlines, HTML and control characters
    (written straight into the record) stays one literal cell of the approval table."""
    good = approve(failed)
    reason = (
        "Reviewed | with ops; `rm -rf /` ok'd\n\n| --- | --- |\n| Approved by | mallory |\n"
        "<script>alert('x')</script> [link](http://evil.example) **now**\x1b[0m"
    )
    hostile = good.model_copy(update={"reason": reason})
    failed.storage.write_bytes(good.path, hostile.to_bytes())
    assert failed.deliver() == 0, failed.marker_text("deliver")
    md = statement(failed.delivery_dir())
    rows = field_rows(md, "Approval")
    assert list(rows) == [
        "Approval id",
        "Approved by",
        "Reason",
        "Checks approved",
        "Created",
        "Expires",
        "Approval record",
    ]
    assert rows["Reason"] == " ".join(reason.replace("\x1b", "\ufffd").split())
    assert rows["Approved by"] == "alice@example.com (authenticated by Google)"
    rendered = html(md)
    assert "<script>" not in rendered and 'href="http://evil.example"' not in rendered
    assert not any(t.type == "html_block" for t in parse(md))


@pytest.mark.slow
def test_redelivery_writes_the_same_statement(failed: Store) -> None:
    """Delivering again over a finished delivery (the stage's commit lost in a crash) keeps
    the record and its delivered_at, restores an edited DELIVERY.md byte for byte, and
    leaves an intact one untouched."""
    approve(failed)
    assert failed.deliver() == 0
    folder = failed.delivery_dir()
    original = (folder / STATEMENT_FILE).read_bytes()
    record = (folder / DELIVERY_RECORD).read_bytes()
    forget_commit(failed)
    (folder / STATEMENT_FILE).write_text("# Delivery statement\n\nGate verdict: passed\n")
    assert failed.deliver() == 0
    assert (folder / STATEMENT_FILE).read_bytes() == original
    assert (folder / DELIVERY_RECORD).read_bytes() == record
    mtime = (folder / STATEMENT_FILE).stat().st_mtime_ns
    forget_commit(failed)
    assert failed.deliver() == 0
    assert (folder / STATEMENT_FILE).stat().st_mtime_ns == mtime
    assert bp("verify", str(folder), "--checksums-only").exit_code == 0
