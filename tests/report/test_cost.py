"""The cost estimate: the packaged price and resource tables, and the arithmetic."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources

import pytest
from bp_report.collect import Snapshot, StageView, UnitState
from bp_report.cost import billed_seconds, estimate, load_prices, load_resources
from bp_sdk.commit import AttemptRef, CommitRecord, FileEntry
from bp_sdk.layout import Unit
from bp_sdk.markers import FailureMarker

PIPELINE = (
    "ingest",
    "simready",
    "assemble",
    "variations",
    "tasks",
    "episodes",
    "export",
    "gate",
    "deliver",
)
SHA = "0" * 64
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PRICES = {
    "schema": "bp.prices/v1",
    "description": "test prices",
    "currency": "USD",
    "region": "test-region1",
    "read_on": "2026-01-01",
    "prices": {
        key: {"usd": usd, "per": per, "unit": key, "what": key, "source": "https://example.test/"}
        for key, usd, per in [
            ("run_vcpu_second", 0.5, 1),
            ("run_gib_second", 0.25, 1),
            ("run_l4_gpu_second", 2.0, 1),
            ("storage_standard_gib_month", 8.0, 1),
            ("storage_class_a_ops", 3.0, 1000),
            ("storage_class_b_ops", 1.0, 1000),
            ("workflows_internal_steps", 10.0, 1000),
        ]
    },
    "assumptions": {"billing_increment_s": 0.1, "workflow_steps_per_stage_execution": 4},
}
RESOURCES = {
    "schema": "bp.resources/v1",
    "description": "test resources",
    "default": {"cpu": 1, "memory_gib": 1, "gpu": 0, "gpu_type": None},
    "stages": {
        "ingest": {"cpu": 2, "memory_gib": 4, "gpu": 0, "gpu_type": None},
        "episodes": {"cpu": 8, "memory_gib": 32, "gpu": 1, "gpu_type": "nvidia-l4"},
    },
}


def _record(
    stage: str,
    seconds: float,
    files: dict[str, int],
    inputs: dict[str, str],
    shard: int | None = None,
) -> CommitRecord:
    return CommitRecord(
        stage=stage,
        scene_id="s",
        run_id="r",
        shard={"index": shard, "count": 2} if shard is not None else None,
        attempt=AttemptRef(execution="exec-1", attempt=0, attempt_id="exec-1-a0"),
        attempt_dir=f"scenes/s/runs/r/{stage}/attempts/exec-1-a0",
        files={name: FileEntry(size=size, sha256=SHA) for name, size in files.items()},
        outputs_digest=SHA,
        inputs=inputs,
        inputs_digest=SHA,
        params={},
        settings={},
        code={},
        started_at=T0,
        committed_at=T0 + timedelta(seconds=seconds),
    )


def _snapshot() -> Snapshot:
    ingest = UnitState(
        "ingest",
        "ingest",
        "s/r",
        Unit("s", "r", "ingest"),
        _record("ingest", 12.34, {"a": 1000, "b": 24}, {"input/scene.json": SHA}),
    )
    shards = [
        UnitState(
            "episodes",
            f"episodes[{i}/2]",
            "s/r",
            Unit("s", "r", "episodes", i, 2),
            _record("episodes", 10.0, {"e.json": 2048}, {"ingest": SHA}, shard=i),
        )
        for i in range(2)
    ]
    marker = FailureMarker(
        error_type="X", message="m", permanent=False, exit_code=1, stage="export", scene_id="s", run_id="r",
        execution="exec-1", attempt=0, attempt_id="exec-1-a0", next_step="n", failed_at=T0,
    )  # fmt: skip
    export = UnitState(
        "export", "export", None, Unit("d", "d", "export", dataset="d"), markers=[marker]
    )
    views = [
        StageView("ingest", "s/r", [ingest]),
        StageView("episodes", "s/r", shards),
        StageView("export", None, [export]),
    ]
    return Snapshot("run", "s", "r", "d", [("s", "r")], views)


def test_billed_seconds_round_up_to_the_increment() -> None:
    """Seconds are billed in whole increments, rounded up (Cloud Run: 100 ms)."""
    assert billed_seconds(12.34, 0.1) == pytest.approx(12.4)
    assert billed_seconds(12.3, 0.1) == pytest.approx(12.3)
    assert billed_seconds(0.0, 0.1) == 0.0
    assert billed_seconds(1.01, 1.0) == pytest.approx(2.0)


def test_cost_is_usage_times_the_price_table() -> None:
    """Each price key's cost is measured usage / per × usd; the total is their sum."""
    prices = load_prices(json.dumps(PRICES).encode())
    table = load_resources(json.dumps(RESOURCES).encode())
    est = estimate(_snapshot(), prices, table, episodes=4)
    # ingest: 12.4 s billed × (2 vCPU, 4 GiB); two episodes shards: 10 s × (8 vCPU, 32 GiB, 1 GPU)
    assert est.usage["run_vcpu_second"] == pytest.approx(12.4 * 2 + 2 * 10 * 8)
    assert est.usage["run_gib_second"] == pytest.approx(12.4 * 4 + 2 * 10 * 32)
    assert est.usage["run_l4_gpu_second"] == pytest.approx(2 * 10 * 1)
    assert est.storage_bytes == 1000 + 24 + 2 * 2048
    assert est.usage["storage_standard_gib_month"] == pytest.approx((1000 + 24 + 2 * 2048) / 2**30)
    # class A: 4 files + 3 commit records + 1 failure marker
    assert est.usage["storage_class_a_ops"] == 4 + 3 + 1
    # class B: ingest reads its record and 1 input; each shard reads its record and ingest's 2 files + record
    assert est.usage["storage_class_b_ops"] == (1 + 1) + 2 * (1 + 2 + 1)
    # two stage executions (ingest; episodes, both shards) plus export's failed one, 4 steps each
    assert est.usage["workflows_internal_steps"] == 3 * 4
    expected = {
        "run_vcpu_second": est.usage["run_vcpu_second"] * 0.5,
        "run_gib_second": est.usage["run_gib_second"] * 0.25,
        "run_l4_gpu_second": 20 * 2.0,
        "storage_standard_gib_month": est.usage["storage_standard_gib_month"] * 8.0,
        "storage_class_a_ops": 8 / 1000 * 3.0,
        "storage_class_b_ops": 10 / 1000 * 1.0,
        "workflows_internal_steps": 12 / 1000 * 10.0,
    }
    assert est.usd == pytest.approx(expected)
    assert est.total_usd == pytest.approx(sum(expected.values()))
    assert est.per_1000_episodes_usd == pytest.approx(sum(expected.values()) / 4 * 1000)
    # the episodes (GPU) job alone: its two shards' 10 s × (8 vCPU, 32 GiB, 1 GPU) each
    gpu_job = 2 * 10 * (8 * 0.5 + 32 * 0.25 + 1 * 2.0)
    assert est.episodes_job_usd == pytest.approx(gpu_job)
    assert est.episodes_job_per_1000_usd == pytest.approx(gpu_job / 4 * 1000)
    assert est.failed_attempts == 1
    numbers = est.to_json(prices)
    assert "estimate" in numbers["label"] and numbers["prices_read_on"] == "2026-01-01"


def test_no_episodes_no_cost_per_episode() -> None:
    """Without episodes there is no cost per 1,000 episodes (never a division by zero)."""
    est = estimate(
        _snapshot(),
        load_prices(json.dumps(PRICES).encode()),
        load_resources(json.dumps(RESOURCES).encode()),
        episodes=0,
    )
    assert est.per_1000_episodes_usd is None and est.episodes_job_per_1000_usd is None


def test_packaged_price_table_is_dated_sourced_and_complete() -> None:
    """prices.json names its date, region and a source for every price the estimate uses."""
    raw = json.loads(resources.files("bp_report").joinpath("prices.json").read_bytes())
    prices = load_prices()
    assert date.fromisoformat(prices.read_on) <= datetime.now(tz=UTC).date()
    assert prices.region and prices.currency == "USD"
    assert set(raw["prices"]) == set(PRICES["prices"])
    for key, price in prices.prices.items():
        assert price.usd > 0, key
        assert price.source.startswith("https://cloud.google.com/"), key


def test_packaged_resource_table_covers_every_stage_with_the_documented_defaults() -> None:
    """resources.json is flat: every stage with vCPU, GiB and GPUs; GPU only for episodes."""
    raw = json.loads(resources.files("bp_report").joinpath("resources.json").read_bytes())
    assert set(PIPELINE) | {"report"} <= set(raw["stages"])
    for stage, res in raw["stages"].items():
        assert set(res) == {"cpu", "memory_gib", "gpu", "gpu_type"}, stage
        assert all(not isinstance(v, dict | list) for v in res.values())
    assert raw["stages"]["episodes"] == {
        "cpu": 8,
        "memory_gib": 32,
        "gpu": 1,
        "gpu_type": "nvidia-l4",
    }
    assert raw["stages"]["export"] == {"cpu": 4, "memory_gib": 8, "gpu": 0, "gpu_type": None}
    others = [s for s in raw["stages"] if s not in {"episodes", "export"}]
    assert all(
        raw["stages"][s] == {"cpu": 2, "memory_gib": 4, "gpu": 0, "gpu_type": None} for s in others
    )
    assert [s for s, r in raw["stages"].items() if r["gpu"]] == ["episodes"]
