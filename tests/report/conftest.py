"""Report fixtures: copies of a real exported dataset's storage, taken further by the real
gate and deliver stages (in-process, through their entry-point code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets import ExportedDataset
from tests.gate.helpers import Store
from tests.report.helpers import approve_all, report


@pytest.fixture
def gated(exported_core: ExportedDataset, tmp_path: Path) -> Store:
    """A private store whose dataset went through the shipped v1 gate (and failed it)."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate()
    assert code == 0 and decision is not None and not decision.passed
    return store


@pytest.fixture(scope="session")
def full(exported_core: ExportedDataset, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store that went all the way: gate failed, a delivery refused (failure marker),
    an approval recorded, the delivery made; then report "full-1" committed."""
    store = Store(exported_core, tmp_path_factory.mktemp("report-full") / "store")
    code, _ = store.gate()
    assert code == 0
    assert store.deliver() == 3  # refused: no approval yet (writes a failure marker)
    approve_all(store)
    assert store.deliver() == 0
    assert report(store, "full-1") == 0
    return store
