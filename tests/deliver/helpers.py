"""Helpers for the delivery tests: approvals, delivered folders and a real Markdown parser
(markdown-it-py, CommonMark + GFM tables, raw HTML enabled so that any leak shows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bp_dataset.approval import Approval, Identity, create_approval
from bp_dataset.decision import dataset_unit
from bp_dataset.delivery import DELIVERY_RECORD, DeliveryRecord
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.gate.helpers import Store

REASON = "Single-variant pilot agreed with the customer in SOW 14; coverage reviewed by ops"
ALICE = Identity(
    principal="alice@example.com",
    kind="user",
    authenticated=True,
    source="test: as Google would report",
)


def approve(
    store: Store,
    who: Identity = ALICE,
    checks: list[str] | None = None,
    now: datetime | None = None,
    days: int = 7,
    reason: str = REASON,
) -> Approval:
    """An approval of every failed check (or ``checks``) as ``who``."""
    decision = store.decision()
    assert decision is not None
    return create_approval(
        store.storage,
        store.dataset_id,
        checks or decision.failed,
        reason,
        who,
        timedelta(days=days),
        now=now,
    )


def delivered(store: Store, customer: str = "internal") -> DeliveryRecord | None:
    """The delivery record, if one was written."""
    path = store.delivery_dir(customer) / DELIVERY_RECORD
    return DeliveryRecord.model_validate_json(path.read_bytes()) if path.exists() else None


def forget_commit(store: Store) -> None:
    """Remove the deliver stage's commit record: the state a crash between writing
    ``_DELIVERY.json`` and committing the stage leaves (the next run delivers again)."""
    (store.path / dataset_unit(store.dataset_id, "deliver").commit_path).unlink()


@dataclass
class Table:
    """One Markdown table as a parser sees it: header cells and rows of cell texts."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)


_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_TEXT = {"text", "code_inline", "html_inline", "softbreak", "hardbreak"}


def parse(markdown: str) -> list[Token]:
    """The block tokens of a Markdown document."""
    return _MD.parse(markdown)


def html(markdown: str) -> str:
    """The document rendered to HTML."""
    return _MD.render(markdown)


def cell_text(token: Token) -> str:
    """The literal text an inline token renders to (markup removed)."""
    return "".join(c.content for c in token.children or [] if c.type in _TEXT)


def tables(markdown: str) -> list[Table]:
    """Every table of the document, cells as rendered text."""
    out: list[Table] = []
    row: list[str] | None = None
    in_head = False
    for tok in parse(markdown):
        if tok.type == "table_open":
            out.append(Table(header=[]))
        elif tok.type in {"thead_open", "thead_close"}:
            in_head = tok.type == "thead_open"
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(cell_text(tok))
        elif tok.type == "tr_close" and row is not None:
            if in_head:
                out[-1].header = row
            else:
                out[-1].rows.append(row)
            row = None
    return out


def headings(markdown: str) -> list[str]:
    """The text of every heading."""
    toks = parse(markdown)
    return [cell_text(toks[i + 1]) for i, t in enumerate(toks) if t.type == "heading_open"]


def statement(folder: Path) -> str:
    """``DELIVERY.md`` of a delivered folder."""
    return (folder / "DELIVERY.md").read_text(encoding="utf-8")
