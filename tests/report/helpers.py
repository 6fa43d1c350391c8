"""Helpers for the report tests: reports run in-process through the job's entry-point code,
and read back only through their commit records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol

from bp_dataset.approval import Approval, Identity, create_approval
from bp_report.main import run
from bp_report.units import REPORT_HTML, REPORT_JSON, report_unit
from bp_sdk.commit import CommitRecord, CommittedUnit, load_record
from bp_sdk.storage import Storage

from tests.conftest import job_env
from tests.gate.helpers import Store

REASON = "Single-variant pilot agreed with the customer in SOW 14; coverage reviewed by ops"
ALICE = Identity(
    principal="alice@example.com",
    kind="user",
    authenticated=True,
    source="test: as Google would report",
)


class Where(Protocol):
    """A store with a scene run and a dataset id (tests.gate.helpers.Store or RunStore)."""

    storage: Storage
    scene: str
    run: str
    dataset_id: str

    def env(self, **extra: str) -> dict[str, str]:
        """A job environment for this store."""
        ...


@dataclass
class RunStore:
    """A storage root with one scene run (and its default or given dataset id)."""

    path: Path
    storage: Storage
    scene: str
    run: str
    dataset_id: str

    def env(self, **extra: str) -> dict[str, str]:
        """A job environment for this store."""
        return job_env(
            self.storage, self.scene, run=self.run, **{"DATASET_ID": self.dataset_id, **extra}
        )


@dataclass
class Committed:
    """A committed report: its record, page and numbers."""

    record: CommitRecord
    html: str
    numbers: dict[str, Any]


def report(store: Where, report_id: str, scope: str = "run", **extra: str) -> int:
    """Run the report job on ``store``; its exit code."""
    env = store.env(REPORT_ID=report_id, REPORT_SCOPE=scope, **extra)
    return run(env)


def committed(store: Where, report_id: str, scope: str = "run") -> Committed | None:
    """The committed report ``report_id`` of the store's run (or dataset), if any."""
    dataset = store.dataset_id if scope == "dataset" else None
    unit = report_unit(store.scene, store.run, report_id, dataset)
    record = load_record(store.storage, unit)
    if record is None:
        return None
    files = CommittedUnit(store.storage, record)
    return Committed(
        record, files.read_bytes(REPORT_HTML).decode(), json.loads(files.read_bytes(REPORT_JSON))
    )


def approve_all(store: Store) -> Approval:
    """An approval of every failed check of the store's committed decision."""
    decision = store.decision()
    assert decision is not None
    return create_approval(
        store.storage, store.dataset_id, decision.failed, REASON, ALICE, timedelta(days=7)
    )


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parse(html: str) -> Elements:
    """The page's elements."""
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def plots_in(html: str) -> list[str]:
    """The ``data-plot`` names of the page's images."""
    return [a["data-plot"] or "" for t, a in parse(html).tags if t == "img" and "data-plot" in a]
