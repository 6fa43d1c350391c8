"""The report's content, from real committed data: numbers agree with the commit records,
failures show their markers, reports are snapshots committed once per REPORT_ID."""

from __future__ import annotations

import html
import json
import math
import statistics
from collections import defaultdict
from importlib import resources

import pytest
from bp_contracts.stages import DATASET_STAGES, RUN_STAGES, SHARDED_STAGES
from bp_dataset.decision import DECISION_FILE, GateDecision, dataset_unit
from bp_sdk.commit import CommittedUnit, load_record, read_committed
from bp_sdk.layout import Unit
from bp_sdk.markers import list_markers

from tests.datasets import read_episodes
from tests.gate.helpers import Store
from tests.report.helpers import approve_all, committed, plots_in, report

pytestmark = pytest.mark.slow  # the fixtures export a real dataset (once per session)

UNSHARDED_RUN_STAGES = tuple(s for s in RUN_STAGES if s not in SHARDED_STAGES)  # the stages before episodes


def _records(store: Store) -> dict[str, object]:
    """Every commit record of the run and its dataset, by the label the report uses."""
    out: dict[str, object] = {}
    for stage in UNSHARDED_RUN_STAGES:
        rec = load_record(store.storage, Unit(store.scene, store.run, stage))
        if rec is not None:
            out[stage] = rec
    for unit in read_committed(store.storage, store.scene, store.run, "episodes") or []:
        shard = unit.record.shard
        label = f"episodes[{shard.index}/{shard.count}]" if shard else "episodes"
        out[label] = unit.record
    for stage in DATASET_STAGES:
        rec = load_record(store.storage, dataset_unit(store.dataset_id, stage))
        if rec is not None:
            out[stage] = rec
    return out


def test_numbers_in_report_json_match_the_commit_records(gated: Store) -> None:
    """Every unit's status, seconds, files and bytes in report.json come from its commit record."""
    assert report(gated, "r-numbers") == 0
    got = committed(gated, "r-numbers")
    assert got is not None
    units = {u["label"]: u for u in got.numbers["units"]}
    records = _records(gated)
    assert records, "the fixture has committed stages"
    for label, rec in records.items():
        u = units[label]
        assert u["status"] == "committed"
        assert u["attempt_id"] == rec.attempt.attempt_id  # type: ignore[attr-defined]
        assert u["files"] == len(rec.files)  # type: ignore[attr-defined]
        assert u["bytes"] == sum(f.size for f in rec.files.values())  # type: ignore[attr-defined]
        if rec.started_at is not None:  # type: ignore[attr-defined]
            span = (rec.committed_at - rec.started_at).total_seconds()  # type: ignore[attr-defined]
            assert u["seconds"] == pytest.approx(span)
    assert units["deliver"]["status"] == "not run"
    assert got.numbers["stages"][-1] == {"stage": "deliver", "source": None, "status": "not run"}


def test_episode_numbers_match_the_committed_episodes(gated: Store) -> None:
    """Per-task success, quality and durations are those of the episodes the run committed."""
    assert report(gated, "r-episodes") == 0
    got = committed(gated, "r-episodes")
    assert got is not None
    eps = [meta for _, (meta, _) in read_episodes(gated.storage, gated.scene, gated.run)]
    numbers = got.numbers["episodes"]
    assert numbers["origin"] == "episodes"
    assert numbers["episodes"] == len(eps) > 0
    tasks: dict[str, list[bool]] = defaultdict(list)
    for meta in eps:
        tasks[meta["task_id"]].append(meta["status"] == "success")
    assert set(numbers["per_task"]) == set(tasks)
    for task, results in tasks.items():
        assert numbers["per_task"][task]["episodes"] == len(results)
        assert numbers["per_task"][task]["successes"] == sum(results)
    quality = [meta["metrics"]["quality_score"] for meta in eps]
    assert numbers["quality"]["mean"] == pytest.approx(statistics.fmean(quality), abs=1e-6)
    durations = [meta["metrics"]["duration_s"] for meta in eps]
    assert numbers["duration_s"]["total"] == pytest.approx(sum(durations), abs=1e-6)
    drops = sum(meta["metrics"]["drops"] for meta in eps)
    assert numbers["drops"]["drops"] == drops
    cameras = {
        k.removeprefix("observation.images.")
        for m in eps
        for k in m["streams"]
        if k.startswith("observation.images.")
    }
    assert {f["camera"] for f in got.numbers["frames"]} == cameras  # frames of every camera


def test_gate_table_is_the_committed_decision(gated: Store) -> None:
    """Every check of decision.json is in report.json and on the page with its verdict."""
    assert report(gated, "r-gate") == 0
    got = committed(gated, "r-gate")
    assert got is not None
    rec = load_record(gated.storage, dataset_unit(gated.dataset_id, "gate"))
    assert rec is not None
    decision = CommittedUnit(gated.storage, rec).read_model(DECISION_FILE, GateDecision)
    gate = got.numbers["gate"]
    assert gate["status"] == "failed" and gate["failed"] == decision.failed
    assert [(c["name"], c["passed"], c["kind"]) for c in gate["checks"]] == [
        (c.name, c.passed, c.kind) for c in decision.checks
    ]
    for check in decision.checks:
        assert f"<strong>{check.name}</strong>" in got.html
    assert "Gate failed" in got.html


def test_plots_on_the_page_are_the_plots_in_report_json(gated: Store) -> None:
    """Each plot report.json lists is embedded once, by its data-plot name."""
    assert report(gated, "r-plots") == 0
    got = committed(gated, "r-plots")
    assert got is not None
    assert sorted(plots_in(got.html)) == got.numbers["plots"]
    assert {"timeline", "task-success", "quality", "durations", "contacts", "cost"} <= set(
        got.numbers["plots"]
    )


def test_failed_stage_is_shown_with_its_marker(gated: Store) -> None:
    """A refused delivery shows as failed, with the marker's message and next step."""
    assert gated.deliver() == 3
    (marker,) = list_markers(gated.storage, dataset_unit(gated.dataset_id, "deliver"))
    assert report(gated, "r-failed") == 0
    got = committed(gated, "r-failed")
    assert got is not None
    deliver = next(u for u in got.numbers["units"] if u["label"] == "deliver")
    assert deliver["status"] == "failed"
    (failure,) = deliver["failed_attempts"]
    assert failure["message"] == marker.message
    assert failure["next_step"] == marker.next_step
    assert got.numbers["delivery"]["status"] == "did not finish"
    assert html.escape(marker.message) in got.html
    assert html.escape(marker.next_step) in got.html


def test_same_report_id_skips_and_a_new_id_reports_the_later_state(gated: Store) -> None:
    """A REPORT_ID is committed once: a re-run skips; after more stages a new id reports them."""
    assert report(gated, "r-snap-1") == 0
    first = committed(gated, "r-snap-1")
    assert first is not None
    assert report(gated, "r-snap-1") == 0  # same state: skipped, the record is untouched
    again = committed(gated, "r-snap-1")
    assert again is not None and again.record == first.record
    approve_all(gated)
    assert gated.deliver() == 0
    assert report(gated, "r-snap-1") == 3  # the same id for another state: refused, never rewritten
    assert committed(gated, "r-snap-1") == first
    assert report(gated, "r-snap-2") == 0
    second = committed(gated, "r-snap-2")
    assert second is not None
    assert first.numbers["delivery"]["status"] == "not delivered"
    assert second.numbers["delivery"]["status"] == "delivered"
    assert second.numbers["gate"]["approved_by"] is not None
    assert second.record.attempt_dir != first.record.attempt_dir
    assert second.record.attempt_dir.startswith(
        f"scenes/{gated.scene}/runs/{gated.run}/reports/r-snap-2/"
    )


def test_delivered_dataset_shows_location_and_digest(full: Store) -> None:
    """A delivered dataset's report names the delivered copy's location and digest."""
    got = committed(full, "full-1")
    assert got is not None
    rec = load_record(full.storage, dataset_unit(full.dataset_id, "deliver"))
    assert rec is not None
    delivery = got.numbers["delivery"]
    assert delivery["status"] == "delivered"
    assert delivery["dataset_digest"] == rec.summary["dataset_digest"]
    assert delivery["destination"] == rec.summary["destination"]
    assert rec.summary["dataset_digest"] in got.html


def test_dataset_report_commits_under_the_dataset(full: Store) -> None:
    """A dataset report reads quality.json and commits under datasets/<id>/reports/<id>/."""
    assert report(full, "ds-1", scope="dataset") == 0
    got = committed(full, "ds-1", scope="dataset")
    assert got is not None
    assert got.record.attempt_dir.startswith(f"datasets/{full.dataset_id}/reports/ds-1/")
    assert got.numbers["episodes"]["origin"] == "quality.json"
    export = load_record(full.storage, dataset_unit(full.dataset_id, "export"))
    assert export is not None
    quality = CommittedUnit(full.storage, export).read_json("meta/quality.json")
    assert got.numbers["episodes"]["episodes"] == quality["summary"]["episodes"]
    assert got.numbers["episodes"]["success_rate"] == pytest.approx(
        quality["summary"]["success_rate"]
    )
    assert got.numbers["sources"] == [f"{full.scene}/{full.run}"]


def test_compute_usage_is_measured_seconds_times_the_resource_table(full: Store) -> None:
    """vCPU-, GiB- and GPU-seconds are each record's seconds (billed per 100 ms) × its resources."""
    table = json.loads(resources.files("bp_report").joinpath("resources.json").read_bytes())
    got = committed(full, "full-1")
    assert got is not None
    vcpu = gib = gpu = 0.0
    for rec in _records(full).values():
        seconds = (rec.committed_at - rec.started_at).total_seconds()  # type: ignore[attr-defined]
        billed = math.ceil(round(seconds * 10, 6)) / 10
        res = table["stages"].get(rec.stage, table["default"])  # type: ignore[attr-defined]
        vcpu += billed * res["cpu"]
        gib += billed * res["memory_gib"]
        gpu += billed * res["gpu"]
    usage = got.numbers["cost"]["usage"]
    assert usage["run_vcpu_second"] == pytest.approx(vcpu, rel=1e-6)
    assert usage["run_gib_second"] == pytest.approx(gib, rel=1e-6)
    assert usage["run_l4_gpu_second"] == pytest.approx(gpu, rel=1e-6)
    assert gpu > 0  # the episodes shards ran on the GPU job
    stored = sum(f.size for rec in _records(full).values() for f in rec.files.values())  # type: ignore[attr-defined]
    assert got.numbers["cost"]["storage_bytes"] == stored


def test_a_file_changed_after_its_commit_is_a_problem_on_the_page(gated: Store) -> None:
    """A decision.json edited after the gate committed is not shown as a decision; the report says so."""
    rec = load_record(gated.storage, dataset_unit(gated.dataset_id, "gate"))
    assert rec is not None
    path = gated.path / rec.attempt_dir / DECISION_FILE
    path.write_text(path.read_text().replace('"passed": false', '"passed": true'))
    assert report(gated, "r-tampered") == 0
    got = committed(gated, "r-tampered")
    assert got is not None
    assert got.numbers["gate"]["status"] == "unreadable"
    assert got.numbers["gate"]["checks"] == []
    assert any("does not match its commit record" in p for p in got.numbers["problems"])
    assert "Gate passed" not in got.html
