"""The conformance harness itself: the official writer's output passes the official reader's
checks, and the checkers catch the faults they exist for (shifted video times, a missing
column, a tasks table without its task-string index, robomimic files off convention)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conformance import harness
from tests.conformance.conftest import EpisodeStore

EPISODES_PARQUET = "meta/episodes/chunk-000/file-000.parquet"
DATA_PARQUET = "data/chunk-000/file-000.parquet"


def test_missing_env_fails_with_the_command_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without a finished .venv-lerobot the harness refuses, naming scripts/lerobot_env.sh."""
    monkeypatch.setattr(harness, "LEROBOT_PYTHON", tmp_path / "nope" / "bin" / "python")
    monkeypatch.setattr(harness, "STAMP", tmp_path / "nope" / "stamp")
    assert not harness.env_ready()
    with pytest.raises(harness.EnvMissingError, match=r"scripts/lerobot_env\.sh"):
        harness.check_lerobot(tmp_path)


@pytest.mark.lerobot
@pytest.mark.slow
def test_official_writer_output_passes(
    official_dataset: tuple[Path, dict[str, object]], episode_store: EpisodeStore
) -> None:
    """LeRobotDataset loads the official writer's dataset; every frame decodes at its time."""
    root, written = official_dataset
    result = harness.check_lerobot(root)
    assert result.ok, result.explain()
    s = result.summary
    assert s["total_frames"] == written["frames"] == episode_store.success_frames()
    assert s["frames_read"] == s["total_frames"]
    assert s["frames_matched_pyav"] == s["total_frames"] * len(s["video_keys"])
    assert s["max_frame_time_error_s"] < 1e-4
    assert s["codebase_version"] == "v3.0"


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.mark.lerobot
@pytest.mark.slow
def test_shifted_video_times_are_caught(
    official_dataset: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    """Half a frame of error in an episode's from_timestamp is reported as decode-time problems."""
    root = _copy(official_dataset[0], tmp_path / "shifted")
    table = pq.read_table(root / EPISODES_PARQUET)
    fps = json.loads((root / "meta/info.json").read_text())["fps"]
    col = "videos/observation.images.scene/from_timestamp"
    values = table.column(col).to_pylist()
    values[-1] += 0.5 / fps
    table = table.set_column(table.schema.get_field_index(col), col, pa.array(values, pa.float64()))
    pq.write_table(table, root / EPISODES_PARQUET)
    result = harness.check_lerobot(root)
    assert not result.ok
    assert result.summary["frame_timestamp_errors"] > 0
    assert any(
        "observation.images.scene" in p and "no decoded frame" in p for p in result.problems
    ), result.explain()


@pytest.mark.lerobot
@pytest.mark.slow
def test_missing_data_column_is_caught(
    official_dataset: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    """A data parquet lacking a declared feature column is reported (the reader yields None for it)."""
    root = _copy(official_dataset[0], tmp_path / "dropped")
    table = pq.read_table(root / DATA_PARQUET)
    pq.write_table(table.drop_columns(["next.reward"]), root / DATA_PARQUET)
    result = harness.check_lerobot(root)
    assert not result.ok
    text = "\n".join(result.problems)
    assert "declared features missing as columns: ['next.reward']" in text, result.explain()
    assert "next.reward is NoneType" in text, result.explain()


@pytest.mark.lerobot
@pytest.mark.slow
def test_tasks_without_pandas_index_are_caught(
    official_dataset: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    """A tasks.parquet whose task strings are a plain column (no pandas index) gives no task string."""
    root = _copy(official_dataset[0], tmp_path / "tasks")
    table = pq.read_table(root / "meta/tasks.parquet")
    plain = pa.table(
        {"task": table.column("__index_level_0__"), "task_index": table.column("task_index")}
    )
    pq.write_table(plain, root / "meta/tasks.parquet")
    result = harness.check_lerobot(root)
    assert not result.ok
    assert any("no task string" in p for p in result.problems), result.explain()


def _robomimic_file(
    path: Path, demos: int = 3, total_delta: int = 0, masks: dict[str, list[str]] | None = None
) -> Path:
    """A small HDF5 in robomimic 0.3 conventions (low-dim + rgb obs)."""
    rng = np.random.default_rng(0)
    total = 0
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        for i in range(demos):
            t = 5 + i
            g = data.create_group(f"demo_{i}")
            g.create_dataset("actions", data=rng.normal(size=(t, 8)).astype(np.float32))
            g.create_dataset("rewards", data=np.zeros(t, np.float32))
            dones = np.zeros(t, np.int64)
            dones[-1] = 1
            g.create_dataset("dones", data=dones)
            for prefix in ("obs", "next_obs"):
                o = g.create_group(prefix)
                o.create_dataset(
                    "robot0_joint_pos", data=rng.normal(size=(t, 7)).astype(np.float32)
                )
                o.create_dataset(
                    "scene_image", data=rng.integers(0, 255, (t, 16, 16, 3), dtype=np.uint8)
                )
            g.attrs["num_samples"] = t
            total += t
        data.attrs["total"] = total + total_delta
        data.attrs["env_args"] = json.dumps({"env_name": "test", "type": 100, "env_kwargs": {}})
        for name, members in (masks or {}).items():
            f.create_dataset(
                f"mask/{name}", data=np.array([m.encode() for m in members], dtype="S")
            )
    return path


@pytest.mark.lerobot
def test_robomimic_conventional_file_passes(lerobot_python: Path, tmp_path: Path) -> None:
    """SequenceDataset loads a conventional file; every sample is fetched; masks filter."""
    path = _robomimic_file(
        tmp_path / "ok.hdf5", masks={"train": ["demo_0", "demo_1"], "valid": ["demo_2"]}
    )
    result = harness.check_robomimic(path)
    assert result.ok, result.explain()
    s = result.summary
    assert s["num_samples"] == s["total"] == s["samples_fetched"] == 5 + 6 + 7
    assert s["rgb_keys"] == ["scene_image"]
    assert s["low_dim_keys"] == ["robot0_joint_pos"]


@pytest.mark.lerobot
def test_robomimic_wrong_total_and_overlapping_masks_are_caught(
    lerobot_python: Path, tmp_path: Path
) -> None:
    """A data.attrs['total'] off by one and a demo in both train and valid are both reported."""
    path = _robomimic_file(
        tmp_path / "bad.hdf5",
        total_delta=1,
        masks={"train": ["demo_0", "demo_1"], "valid": ["demo_1", "demo_2"]},
    )
    result = harness.check_robomimic(path)
    assert not result.ok
    text = "\n".join(result.problems)
    assert "data.attrs['total'] = 19" in text, result.explain()
    assert "share demos" in text, result.explain()
