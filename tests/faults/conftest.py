"""Fault-test fixtures: one store taken through every stage (built once per session), and
per stage a prepared copy in which that stage still has its work to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from bp_sdk.runner import run_stage

from tests.datasets import ExportedDataset, squat_tasks
from tests.faults.stages import REPORT, Spec, prepare, specs
from tests.gate.helpers import Store


@pytest.fixture(scope="session")
def pipeline(exported_core: ExportedDataset, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """kitchen_counter through every stage: gate (approved if it failed), deliver, report."""
    from bp_report.stage import ReportStage

    from tests.deliver.helpers import approve

    store = Store(exported_core, tmp_path_factory.mktemp("faults-base") / "store")
    code, decision = store.gate()
    assert code == 0 and decision is not None
    if not decision.passed:
        approve(store)
    assert store.deliver() == 0
    assert run_stage(ReportStage(), store.env(REPORT_ID=f"{REPORT}-base")) == 0
    return store


@pytest.fixture(scope="session")
def stage_specs(pipeline: Store) -> dict[str, Spec]:
    """Every stage by name."""
    task = squat_tasks(pipeline.storage, pipeline.run, 1)[0]
    return {s.name: s for s in specs(task)}


@pytest.fixture(scope="session")
def prepared(
    pipeline: Store, stage_specs: dict[str, Spec], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Per stage, one prepared store on disk (copied again for each test that writes)."""
    base = tmp_path_factory.mktemp("faults-prepared")
    return {name: prepare(pipeline.path, spec, base / name) for name, spec in stage_specs.items()}
