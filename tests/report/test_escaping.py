"""Strings from data (task names, instructions, failure messages) cannot break the page."""

from __future__ import annotations

import html
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bp_contracts.dataset_id import default_dataset_id
from bp_dataset.decision import dataset_unit
from bp_report.markup import clean, esc
from bp_report.plots import plot_text
from bp_sdk.markers import FailureMarker, write_marker
from bp_sdk.storage import open_storage

from tests.datasets import EpisodesStore, derive_run
from tests.report.helpers import RunStore, committed, parse, plots_in, report

HOSTILE_TASK = '<script>alert("task")</script> & $\\alpha$ \x00\x1b\u202e \ud800 </td></table>'
HOSTILE_MESSAGE = "<img src=x onerror=alert(1)> failed & </section><!-- \x07"
HOSTILE_NEXT = '"><a href="https://evil.example/">click</a>'
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "div", "h1", "h2", "h3", "span",
    "dl", "dt", "dd", "main", "nav", "a", "section", "p", "figure", "img", "figcaption", "table",
    "thead", "tbody", "tr", "th", "td", "code", "strong", "ul", "li", "footer",
}  # fmt: skip


def test_esc_makes_markup_and_control_characters_inert() -> None:
    """esc() escapes markup and turns control characters, surrogates and bidi overrides visible."""
    out = esc(HOSTILE_TASK)
    assert "<" not in out and ">" not in out and '"' not in out
    assert "\x00" not in out and "\x1b" not in out and "\u202e" not in out and "\ud800" not in out
    assert "\\x00" in out and "\\x1b" in out and "\\u202e" in out and "\\ud800" in out
    assert clean("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    out.encode("utf-8")  # no lone surrogate is left to break the encoding


def test_plot_text_disables_mathtext_and_unknown_glyphs() -> None:
    """Labels for matplotlib never start mathtext and never ask the font for a missing glyph."""
    out = plot_text("cost $5 and $10 \x00 \U0001f916", limit=200)
    assert "\\$5" in out and "\\$10" in out
    assert "\x00" not in out and "\U0001f916" not in out


def _hostile(
    meta: dict[str, Any], arrays: dict[str, np.ndarray] | None
) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    return {
        **meta,
        "task_id": HOSTILE_TASK,
        "instruction": HOSTILE_TASK,
        "object": HOSTILE_TASK,
    }, arrays


@pytest.mark.slow
def test_hostile_names_and_messages_are_escaped_on_the_page(
    episodes_store_core: EpisodesStore, tmp_path: Path
) -> None:
    """A task named like markup and a marker message with HTML render as text, not markup."""
    root = tmp_path / "store"
    shutil.copytree(episodes_store_core.root, root)
    storage = open_storage(root.as_uri())
    derive_run(storage, episodes_store_core.run, "r-hostile", _hostile)
    dataset = default_dataset_id(episodes_store_core.scene, "r-hostile")
    marker = FailureMarker(
        error_type="PermanentError",
        message=HOSTILE_MESSAGE,
        problems=[HOSTILE_TASK.replace("\ud800", "")],  # a marker is UTF-8 JSON: no lone surrogate
        permanent=True,
        exit_code=3,
        stage="export",
        scene_id=episodes_store_core.scene,
        run_id="r-hostile",
        execution="local-test",
        attempt=0,
        attempt_id="local-test-a0",
        next_step=HOSTILE_NEXT,
        failed_at=datetime.now(tz=UTC),
    )
    write_marker(storage, dataset_unit(dataset, "export"), marker)
    store = RunStore(root, storage, episodes_store_core.scene, "r-hostile", dataset)
    assert report(store, "r-escape") == 0
    got = committed(store, "r-escape")
    assert got is not None
    page = got.html
    assert "<script" not in page and "<img src=x" not in page and 'evil.example/">' not in page
    assert "\x00" not in page and "\x1b" not in page and "\x07" not in page and "\u202e" not in page
    assert html.escape("<script>alert(", quote=True) in page
    assert html.escape("<img src=x onerror=alert(1)>", quote=True) in page
    tags = {t for t, _ in parse(page).tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    links = [a.get("href") for t, a in parse(page).tags if t == "a"]
    assert all(h is not None and h.startswith("#") for h in links), links
    assert "task-success" in plots_in(page)  # the hostile task name was plotted too
    assert any(HOSTILE_TASK[:20] in t for t in got.numbers["episodes"]["per_task"])
