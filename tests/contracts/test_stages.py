"""The stage order and the dataset id: one definition each, equal to workflows/pipeline.yaml's."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from bp_contracts.dataset_id import dataset_id, default_dataset_id
from bp_contracts.stages import (
    DATASET_STAGES,
    RUN_STAGES,
    SHARDED_STAGES,
    STAGE_ORDER,
    STAGES,
    stage,
)
from bp_flow.connectors import SUPPORTED
from bp_flow.engine import Execution
from bp_flow.loader import load_file
from bp_flow.runtime import Runtime

PIPELINE = Path(__file__).resolve().parents[2] / "workflows" / "pipeline.yaml"


def _call(name: str, args: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    wf = load_file(PIPELINE, SUPPORTED)
    return Execution(wf, Runtime(env=env or {})).call_subworkflow(wf.subworkflows[name], args, None)


def test_stage_order_is_the_workflows() -> None:
    """STAGE_ORDER equals pipeline.yaml's stage_order, which bp run executes."""
    assert list(STAGE_ORDER) == _call("stage_order", {})


def test_scene_run_and_dataset_stages_partition_the_order() -> None:
    """Run stages come first, then dataset stages; only episodes is sharded."""
    assert RUN_STAGES + DATASET_STAGES == STAGE_ORDER
    assert DATASET_STAGES == ("export", "gate", "deliver")
    assert {"episodes"} == SHARDED_STAGES
    assert stage("episodes").sharded and stage("export").unit == "dataset"
    with pytest.raises(KeyError):
        stage("report")


def test_every_stage_is_an_installed_job_with_the_same_sharding() -> None:
    """Each stage has its job's entry point; a job's Stage class is sharded exactly when the contract says."""
    found = {ep.name: ep for ep in entry_points(group="blueprintpipeline.stages")}
    assert set(STAGE_ORDER) <= set(found)
    for s in STAGES:
        module = __import__(f"bp_{s.name}.stage", fromlist=["*"])
        classes = [
            v
            for v in vars(module).values()
            if isinstance(v, type) and getattr(v, "name", None) == s.name and hasattr(v, "run")
        ]
        assert classes, s.name
        assert bool(getattr(classes[0], "sharded", False)) == s.sharded, s.name


@pytest.mark.parametrize(
    ("scene", "run"), [("kitchen_counter", "r-1"), ("s", "abc123"), ("a_b", "2024-01-01")]
)
def test_default_dataset_id_is_the_workflows(scene: str, run: str) -> None:
    """For ordinary ids the Python rule and pipeline.yaml's configure give the same dataset id."""
    cfg = _call("configure", {"args": {"scene_id": scene, "run_id": run, "bucket": "b"}})
    assert cfg["dataset_id"] == default_dataset_id(scene, run) == dataset_id(scene, run)


def test_an_explicit_dataset_id_wins_everywhere() -> None:
    """DATASET_ID (the workflow's dataset_id argument) replaces the default in both."""
    cfg = _call(
        "configure", {"args": {"scene_id": "s", "run_id": "r", "bucket": "b", "dataset_id": "ds"}}
    )
    assert cfg["dataset_id"] == dataset_id("s", "r", "ds") == "ds"


def test_dataset_stage_settings_and_the_cli_use_the_rule() -> None:
    """DatasetStageSettings.dataset() and bp's unit lookup agree with bp_contracts.dataset_id."""
    from bp_cli.units import dataset_id_of, stage_unit
    from bp_gate.settings import GateSettings
    from bp_sdk.settings import load_settings

    env = {"STORAGE_URI": "file:///tmp/x", "SCENE_ID": "s1", "RUN_ID": "r1"}
    assert load_settings(GateSettings, env).dataset() == dataset_id("s1", "r1") == "s1-r1"
    assert dataset_id_of("s1", "r1", {}) == "s1-r1"
    assert dataset_id_of("s1", "r1", {"DATASET_ID": "d"}) == "d"
    assert stage_unit("episodes", "s1", "r1", {}) is None
    unit = stage_unit("gate", "s1", "r1", {})
    assert unit is not None and unit.dataset == "s1-r1"


def test_long_ids_are_cut_to_a_valid_identifier() -> None:
    """A derived id longer than an identifier allows is cut to 128 characters, never invalid."""
    got = default_dataset_id("s" * 100, "r" * 100)
    assert len(got) == 128 and got.startswith("s" * 100 + "-")
