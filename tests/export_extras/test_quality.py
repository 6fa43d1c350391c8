"""meta/quality.json: per-episode metrics and the dataset summary."""

from __future__ import annotations

import json

import pytest
from bp_export.quality import build_quality
from bp_export.sources import ExportEpisode
from bp_sdk.errors import PermanentError

from tests.export_extras.builders import make_record


def _records() -> list[ExportEpisode]:
    return [
        make_record(0, frames=20, quality=0.9, split="train", task_id="pick_cube", variant_id="v0000", obj="cube"),
        make_record(1, frames=30, quality=0.5, success=False, collision_frames=3, split="train",
                    task_id="pick_cube", variant_id="v0001", obj="cube"),
        make_record(2, frames=10, quality=0.7, split="valid", task_id="push_box", task_index=1,
                    instruction="Push the box.", variant_id="v0000", obj="box", scene_id="scene_b"),
    ]  # fmt: skip


REJECTED = [
    {
        "episode_id": "v0002-pick_cube-000",
        "reason": "streams disagree in frame count",
        "scene_id": "scene_a",
    },
    {"episode_id": "v0002-pick_cube-001", "reason": "streams disagree in frame count"},
    {"episode_id": "v0002-pick_cube-002", "reason": "NaN in observation.state"},
]


def test_summary_counts_and_rates() -> None:
    """Counts, success rate, collision rates and quality mean/min/max are computed from the episodes."""
    q = build_quality(_records(), REJECTED)
    s = q["summary"]
    assert (s["episodes"], s["frames"], s["successes"], s["failures"]) == (3, 60, 2, 1)
    assert (s["train_episodes"], s["valid_episodes"]) == (2, 1)
    assert s["success_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert s["collision_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert s["collision_frame_rate"] == pytest.approx(3 / 60, abs=1e-6)
    assert s["mean_quality"] == pytest.approx(0.7)
    assert (s["min_quality"], s["max_quality"]) == (0.5, 0.9)


def test_per_task_and_diversity() -> None:
    """Per task: episodes, success rate, instructions; diversity counts distinct scenes, variants, objects."""
    s = build_quality(_records(), [])["summary"]
    assert set(s["per_task"]) == {"pick_cube", "push_box"}
    pick = s["per_task"]["pick_cube"]
    assert (pick["episodes"], pick["successes"], pick["success_rate"]) == (2, 1, 0.5)
    assert pick["instructions"] == ["Pick up the red cube."] and pick[
        "mean_quality"
    ] == pytest.approx(0.7)
    assert s["per_task"]["push_box"]["task_index"] == 1
    assert s["diversity"] == {
        "scenes": 2,
        "variants": 3,
        "objects": 2,
        "tasks": 2,
        "instructions": 2,
        "initial_state": None,
    }
    spread = {"min_object_spread_m": 0.01, "groups": []}
    assert build_quality(_records(), [], spread)["summary"]["diversity"]["initial_state"] == spread


def test_per_episode_entries_carry_every_metric() -> None:
    """Each episode lists all of the episodes stage's metrics, its quality score, split and success."""
    recs = _records()
    q = build_quality(recs, [])
    assert [e["dataset_index"] for e in q["episodes"]] == [0, 1, 2]
    e = q["episodes"][1]
    assert e["metrics"] == recs[1].meta.metrics.as_dict()
    assert (e["success"], e["split"], e["quality_score"]) == (False, "train", 0.5)
    assert e["failure_reason"] == "object not at the target"
    assert e["seed"] == recs[1].meta.seed


def test_rejected_episodes_with_reasons() -> None:
    """Rejected episodes are listed with their reasons and counted by reason."""
    q = build_quality(_records(), REJECTED)
    assert [r["episode_id"] for r in q["rejected"]] == [r["episode_id"] for r in REJECTED]
    assert q["rejected"][0]["scene_id"] == "scene_a"
    assert q["summary"]["rejected"] == 3
    assert q["summary"]["rejected_by_reason"] == {
        "NaN in observation.state": 1,
        "streams disagree in frame count": 2,
    }


def test_rejection_without_reason_and_bad_metrics_are_refused() -> None:
    """A rejection without a reason, a non-finite metric or a missing quality score raise together."""
    recs = _records()
    recs[0].meta.metrics.rms_jerk_m_s3 = float("inf")
    recs[1].meta.metrics.quality_score = None
    with pytest.raises(PermanentError) as info:
        build_quality(recs, [{"episode_id": "x", "reason": " "}])
    text = str(info.value)
    assert "needs its reason" in text and "non-finite metric" in text and "quality_score" in text


def test_empty_dataset_has_null_rates_and_is_plain_json() -> None:
    """No episodes: rates are null (never NaN) and the document serialises strictly."""
    q = build_quality([], REJECTED[:1])
    s = q["summary"]
    assert s["success_rate"] is None and s["mean_quality"] is None and s["episodes"] == 0
    json.dumps(q, allow_nan=False)
