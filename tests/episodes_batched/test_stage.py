"""EPISODES_RUNNER=batched in the episodes stage: the setting, and a batched run whose
committed shard the export stage accepts (real upstream stages, real MuJoCo, real export)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from bp_contracts.episode import stream_specs
from bp_episodes.settings import EpisodesSettings
from bp_sdk.commit import read_committed
from bp_sdk.errors import ConfigError
from bp_sdk.settings import load_settings
from bp_sdk.storage import Storage
from PIL import Image

from tests.datasets import export_dataset, read_episodes, record_episodes

BASE = {"STORAGE_URI": "file:///tmp/x", "SCENE_ID": "s", "RUN_ID": "r"}


def test_runner_setting_names_the_choices_and_worlds_stay_out_of_the_digest() -> None:
    """An unknown runner lists the valid ones; only a batched runner enters the digest, worlds never."""
    with pytest.raises(ConfigError) as info:
        load_settings(EpisodesSettings, {**BASE, "EPISODES_RUNNER": "gpu"})
    problem = next(p for p in info.value.problems if p.where == "EPISODES_RUNNER")
    assert "per_world" in problem.message and "batched" in problem.message
    default = load_settings(EpisodesSettings, BASE).output_params()
    batched = {"EPISODES_RUNNER": "batched"}
    one = load_settings(EpisodesSettings, {**BASE, **batched, "EPISODES_WORLDS": "1"})
    many = load_settings(EpisodesSettings, {**BASE, **batched, "EPISODES_WORLDS": "64"})
    assert "EPISODES_RUNNER" not in default and "EPISODES_WORLDS" not in default
    assert one.output_params() == many.output_params() == {**default, **batched}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_batched_stage_commits_episodes_that_export_accepts(kitchen_one: Storage) -> None:
    """Two episodes on two worlds commit contract-true shards in work-list order that export exports."""
    record_episodes(
        kitchen_one,
        "r1",
        "core",
        tasks=2,
        resolution=64,
        EPISODES_RUNNER="batched",
        EPISODES_WORLDS="2",
    )
    (unit,) = read_committed(kitchen_one, "kitchen_counter", "r1", "episodes")
    shard = unit.read_json("shard.json")
    assert shard["summary"]["episodes"] == 2
    assert shard["episodes"] == sorted(shard["episodes"])  # v0000-<task>-000: the work list's order
    strip = Image.open(io.BytesIO(unit.read_bytes("samples.png")))
    assert strip.height > 0 and np.asarray(strip).std() > 10
    specs = stream_specs(["scene", "wrist"], 64, 0)
    for _, (meta, arrays) in read_episodes(kitchen_one, "kitchen_counter", "r1"):
        assert meta["status"] == "success", meta.get("failure_reason")
        assert arrays is not None
        assert {k: list(v.shape[1:]) for k, v in arrays.items()} == meta["streams"]
        assert {len(v) for v in arrays.values()} == {meta["frames"]}
        for key, value in arrays.items():
            assert tuple(value.shape[1:]) == specs[key].shape, key
        assert meta["initial_state"]["robot_qpos"] == pytest.approx(
            arrays["observation.state"][0][:7].tolist(), abs=1e-6
        )
    ds = export_dataset(kitchen_one, "r1", "batched-ds")
    info = json.loads((ds.root / "meta/info.json").read_text())
    assert info["total_episodes"] == 2
    assert info["total_frames"] == sum(
        m["frames"] for _, (m, _) in read_episodes(kitchen_one, "kitchen_counter", "r1")
    )
