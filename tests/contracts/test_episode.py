"""The episode record (episodes/<id>.json) and its arrays: the contract episodes writes and export reads."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from bp_contracts.episode import (
    TIERS,
    DepthEncoding,
    EpisodeRecord,
    episode_data_file,
    problems_of,
    stream_specs,
)
from pydantic import ValidationError

K = [[14.0, 0.0, 8.0], [0.0, 14.0, 8.0], [0.0, 0.0, 1.0]]


def _record(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "episode_id": "v0000-pick_place_cube-000",
        "variant_id": "v0000",
        "task_id": "pick_place_cube",
        "task_kind": "pick_place",
        "object": "cube",
        "instruction": "Pick up the red cube.",
        "index": 0,
        "seed": 1234,
        "fps": 20,
        "tier": "full",
        "resolution": 16,
        "movable_objects": ["cube", "ball"],
        "object_categories": {"cube": "toy_block", "ball": "ball"},
        "simulator": {"name": "mujoco", "version": "3.3.0"},
        "cameras": {"scene": {"mount": "scene", "fovy_deg": 60.0, "intrinsics": K}},
        "depth": DepthEncoding.for_planes(0.01, 50.0).model_dump(),
        "segmentation": {
            "background": -1,
            "geoms": {"name": ["g0"], "body": ["b0"], "object": ["cube"]},
        },
        "initial_state": {
            "seed": 7,
            "robot_qpos": [0.0] * 7,
            "objects": {
                "cube": {"position_m": [0.1, 0.2, 0.9], "orientation_wxyz": [1.0, 0.0, 0.0, 0.0]}
            },
            "moved": ["cube"],
            "kept": {},
            "attempts": 1,
            "perturbation": {
                "object_jitter_m": 0.01,
                "object_yaw_rad": 0.1,
                "joint_noise_rad": 0.02,
            },
        },
        "status": "success",
        "kept": True,
        "failure_reason": None,
        "metrics": {"success": True, "time_to_success_s": 1.5, "frames": 40, "quality_score": 0.9},
        "frames": 40,
        "streams": {"action": [8]},
        "dtypes": {"action": "float32"},
        "data_file": episode_data_file("v0000-pick_place_cube-000"),
    }
    return {**base, **over}


def test_written_json_round_trips_with_only_the_keys_set() -> None:
    """to_json gives back exactly the keys the writer set (no null for an absent depth block)."""
    data = _record()
    del data["depth"], data["segmentation"]
    record = EpisodeRecord.model_validate(data)
    out = record.to_json()
    assert "depth" not in out and "segmentation" not in out and out["failure_reason"] is None
    assert json.loads(json.dumps(out, sort_keys=True)) == json.loads(
        json.dumps(data, sort_keys=True)
    )
    assert EpisodeRecord.from_json(json.dumps(out)) == record
    assert record.success and record.initial_state is not None and record.initial_state.seed == 7


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tier": "ultra"}, "tier"),
        ({"fps": 0}, "fps"),
        ({"status": "ok"}, "status"),
        ({"task_kind": "juggle"}, "task_kind"),
        ({"episode_id": "../etc"}, "episode_id"),
        ({"data_file": "episodes/other.npz"}, "data_file"),
        ({"movable_objects": ["cube", "cube"]}, "movable_objects"),
        ({"dtypes": {}}, "dtypes"),
        ({"surprise": 1}, "surprise"),
        (
            {"cameras": {"scene": {"mount": "scene", "fovy_deg": 60.0, "intrinsics": K[:2]}}},
            "intrinsics",
        ),
        ({"initial_state": {"seed": 1, "robot_qpos": [math.nan], "objects": {}}}, "robot_qpos"),
    ],
)
def test_a_record_that_breaks_a_rule_is_refused_naming_the_field(change: dict, field: str) -> None:
    """Wrong tier, fps, status, kind, id, data file, duplicate rows, stray keys or NaN states are refused."""
    with pytest.raises(ValidationError) as info:
        EpisodeRecord.model_validate(_record(**change))
    assert field in " ".join(problems_of(info.value))


def test_episode_ids_may_exceed_an_identifier() -> None:
    """A task id may use all 128 identifier characters; its episode ids are longer and still valid."""
    eid = "v0000-" + "t" * 128 + "-000"
    record = EpisodeRecord.model_validate(_record(episode_id=eid, data_file=episode_data_file(eid)))
    assert record.episode_id == eid


def test_metrics_may_hold_non_finite_measurements() -> None:
    """NaN or inf in metrics is a measurement (export rejects such an episode), not a malformed record."""
    record = EpisodeRecord.model_validate(
        _record(metrics={"quality_score": math.nan, "rms_jerk_m_s3": math.inf})
    )
    assert record.metrics is not None and math.isnan(record.metrics.quality_score or 0.0)
    assert set(record.metrics.as_dict()) == {"quality_score", "rms_jerk_m_s3"}


def test_text_fields_keep_any_json_string() -> None:
    """Instructions are read as written, even an escaped lone surrogate (json.loads, not the strict parser)."""
    raw = json.dumps(_record(instruction="pick \ud800 up <b>"))
    assert EpisodeRecord.from_json(raw).instruction == "pick \ud800 up <b>"


def test_depth_encoding_is_fixed_but_for_the_planes() -> None:
    """for_planes sets every key, rounds the planes, and far must lie beyond near."""
    d = DepthEncoding.for_planes(0.0123456789, 20.0)
    assert d.near_m == 0.012346 and d.background_value == 0.0 and d.unit == "m"
    assert set(d.model_fields_set) == set(DepthEncoding.model_fields)
    with pytest.raises(ValidationError, match="far_m"):
        DepthEncoding(near_m=2.0, far_m=1.0)


def test_stream_specs_name_every_recorded_stream() -> None:
    """Vectors, images, extrinsics, depth, segmentation and object rows have fixed shapes and types."""
    specs = stream_specs(("scene", "wrist"), 16, 3)
    assert specs["observation.state"].shape == (8,) and specs["action"].shape == (8,)
    assert specs["observation.images.wrist"].shape == (16, 16, 3)
    assert specs["observation.images.wrist"].accepts(np.dtype(np.uint8).kind, 1)
    assert not specs["observation.images.wrist"].accepts(np.dtype(np.float32).kind, 4)
    assert specs["observation.segmentation.scene"].accepts("i", 4)
    assert specs["observation.object_poses"].shape == (3, 7)
    assert specs["observation.contacts"].shape == (3, 4)
    assert TIERS == ("core", "plus", "full")


def test_export_rejects_a_record_that_breaks_the_contract_naming_the_field() -> None:
    """Export reads every record through the contract: a broken or misfiled one becomes a rejection with its reason."""
    from types import SimpleNamespace

    from bp_export.sources import candidates

    good = _record()
    files = {
        f"episodes/{good['episode_id']}.json": json.dumps(good).encode(),
        "episodes/v0000-pick_place_cube-001.json": json.dumps(
            _record(episode_id="v0000-pick_place_cube-001", tier="ultra", data_file=None)
        ).encode(),
        "episodes/v0000-pick_place_cube-002.json": json.dumps(
            _record(episode_id="v0000-pick_place_cube-009", data_file=None)
        ).encode(),
        "episodes/v0000-pick_place_cube-003.json": b"{not json",
        "shard.json": b"{}",
    }
    unit = SimpleNamespace(record=SimpleNamespace(files=files), read_bytes=files.__getitem__)
    source = SimpleNamespace(scene_id="s", run_id="r", shards=[unit], label="s/r")
    found, rejected = candidates(source)  # type: ignore[arg-type]
    assert [c.episode_id for c in found] == [good["episode_id"]]
    assert found[0].data_file == good["data_file"] and found[0].meta.tier == "full"
    reasons = {r["episode_id"]: r["reason"] for r in rejected}
    assert set(reasons) == {
        "v0000-pick_place_cube-001",
        "v0000-pick_place_cube-002",
        "v0000-pick_place_cube-003",
    }
    assert "tier" in reasons["v0000-pick_place_cube-001"]
    assert "holds episode 'v0000-pick_place_cube-009'" in reasons["v0000-pick_place_cube-002"]
    assert "not JSON" in reasons["v0000-pick_place_cube-003"]
    assert all("bp.episode/v1" in r for r in reasons.values())
