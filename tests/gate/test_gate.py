"""The gate stage on real exported datasets: decisions, damage, configs, no bypass."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from bp_dataset.decision import GateDecision
from bp_dataset.layout import QUALITY, SHA256SUMS

from tests.datasets import ExportedDataset
from tests.gate.helpers import (
    BYPASS_ENV,
    Store,
    dataset_files,
    flip_byte,
    resign,
    truncate,
)

pytestmark = pytest.mark.slow  # the fixtures export real datasets (once per session)

INTEGRITY = ["checksums", "schema", "tier", "frames", "values", "export_commit", "quality_report"]
THRESHOLDS = [
    "success_rate",
    "collision_rate",
    "mean_quality_score",
    "episodes_per_task",
    "distinct_instructions",
    "distinct_variants",
    "rejected_fraction",
]


def details(decision: GateDecision, name: str) -> str:
    """A check's detail lines, joined."""
    check = decision.check(name)
    assert check is not None
    return "\n".join(check.details)


@pytest.mark.parametrize("which", ["core", "full"])
def test_clean_dataset_passes_a_loose_config(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A clean export under thresholds it meets: passed, every check recorded with value,
    threshold and verdict, the dataset digest and the config's version and digest."""
    ds: ExportedDataset = request.getfixturevalue(f"exported_{which}")
    store = Store(ds, tmp_path / "store")
    key = store.put_loose_config()
    code, decision = store.gate(GATE_CONFIG=key)
    assert code == 0 and decision is not None
    assert decision.passed, decision.failed
    assert [c.name for c in decision.checks] == INTEGRITY + THRESHOLDS
    for c in decision.checks:
        assert c.passed and c.value is not None
        assert (c.kind == "threshold") == (c.threshold is not None) == c.overridable
    sums = (store.root / SHA256SUMS).read_bytes()
    assert decision.dataset_digest == hashlib.sha256(sums).hexdigest()
    assert decision.config.version == "loose-t1"
    assert decision.config.digest == hashlib.sha256(store.storage.read_bytes(key)).hexdigest()
    assert decision.config.source == f"storage:{key}"


def test_thresholds_failed_is_a_committed_decision(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """Under the default shipped config (v2) the 1-variant, 1-episode-per-task fixture fails
    its diversity and coverage thresholds: the stage still exits 0 and commits passed=false
    naming them."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate()
    assert code == 0 and decision is not None
    assert not decision.passed
    assert "distinct_variants" in decision.failed and "episodes_per_task" in decision.failed
    assert not set(decision.failed) & set(INTEGRITY)
    dv = decision.check("distinct_variants")
    assert (
        dv is not None and dv.value == 1 and dv.threshold == 2 and dv.op == ">=" and not dv.passed
    )
    assert "initial_state_spread" in decision.failed
    assert decision.config.version == "v2" and decision.config.source.startswith("shipped:")


def test_any_flipped_byte_fails_the_gate_naming_the_file(
    exported_full: ExportedDataset, tmp_path: Path
) -> None:
    """Flipping one bit of each file of the committed export in turn: the gate's decision
    fails checksums and export_commit, and names the file."""
    files = dataset_files(exported_full.root)
    missed = []
    for i, rel in enumerate(files):
        store = Store(exported_full, tmp_path / f"s{i}")
        flip_byte(store.root / rel)
        code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
        assert code == 0 and decision is not None
        ok = (
            not decision.passed
            and "checksums" in decision.failed
            and rel in details(decision, "checksums")
            and rel in details(decision, "export_commit")
        )
        if not ok:
            missed.append(rel)
    assert not missed, missed


def test_deleted_file_and_truncated_video_fail_the_gate(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A deleted data file or a truncated video fails the gate naming the file."""
    store = Store(exported_core, tmp_path / "a")
    data = sorted((store.root / "data").rglob("*.parquet"))[0]
    rel = data.relative_to(store.root).as_posix()
    data.unlink()
    _code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert decision is not None and not decision.passed
    assert rel in details(decision, "checksums") and rel in details(decision, "export_commit")

    store = Store(exported_core, tmp_path / "b")
    video = sorted((store.root / "videos").rglob("*.mp4"))[0]
    rel = video.relative_to(store.root).as_posix()
    truncate(video)
    _code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert decision is not None and {"checksums", "frames"} <= set(decision.failed)
    assert rel in details(decision, "frames")


def test_resigned_tampering_is_caught_by_the_commit_record(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A file changed after commit with SHA256SUMS rewritten to match passes a lab's
    checksums, but not the gate: the export's commit record still names the old bytes."""
    store = Store(exported_core, tmp_path / "store")
    readme = store.root / "README.md"
    readme.write_text(readme.read_text() + "\nedited after commit\n")
    resign(store.root)
    _code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert decision is not None and not decision.passed
    assert "checksums" not in decision.failed
    assert "export_commit" in decision.failed
    assert "README.md" in details(decision, "export_commit")


def test_quality_report_must_agree_with_the_data(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """quality.json claiming a failed episode succeeded (re-signed) fails quality_report, and
    the gate does not trust its numbers."""
    store = Store(exported_core, tmp_path / "store")
    path = store.root / QUALITY
    q = json.loads(path.read_text())
    q["episodes"][0]["quality_score"] = 0.999
    q["summary"]["episodes"] = 99
    path.write_text(json.dumps(q))
    resign(store.root)
    _code, decision = store.gate(GATE_CONFIG=store.put_loose_config())
    assert decision is not None and "quality_report" in decision.failed
    text = details(decision, "quality_report")
    assert "quality_score" in text and "summary.episodes" in text


def test_no_environment_variable_bypasses_the_gate(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """Bypass-sounding variables change nothing: the same checks fail."""
    plain = Store(exported_core, tmp_path / "plain")
    _c, want = plain.gate()
    forced = Store(exported_core, tmp_path / "forced")
    code, got = forced.gate(**BYPASS_ENV)
    assert code == 0 and want is not None and got is not None
    assert not got.passed and got.failed == want.failed


def test_config_selection_and_validation(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """An unknown shipped version or an invalid custom config is a configuration error
    (exit 2) listing every problem; no decision is written."""
    store = Store(exported_core, tmp_path / "store")
    code, decision = store.gate(GATE_CONFIG="v99")
    assert code == 2 and decision is None
    store.storage.write_bytes(
        "configs/gate/bad.json",
        json.dumps({"version": "bad", "thresholds": {"min_success_rate": 2.0}}).encode(),
    )
    code, decision = store.gate(GATE_CONFIG="configs/gate/bad.json")
    assert code == 2 and decision is None


def test_missing_export_is_permanent(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """Gating a dataset that was never exported fails permanently (exit 3), no decision."""
    store = Store(exported_core, tmp_path / "store")
    code, _ = store.gate(DATASET_ID="never-exported")
    assert code == 3


def test_decision_is_never_overwritten(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """Re-running with the same inputs skips; with another config it is refused (exit 3)
    and the committed decision stays as it was."""
    store = Store(exported_core, tmp_path / "store")
    code, first = store.gate()
    assert code == 0 and first is not None and not first.passed
    code, again = store.gate()
    assert code == 0 and again == first
    code, after = store.gate(GATE_CONFIG=store.put_loose_config())
    assert code == 3 and after == first
