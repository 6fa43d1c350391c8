"""robomimic HDF5: every convention robomimic's SequenceDataset reads, checked with h5py.

The official ``SequenceDataset`` load is part of the LeRobot/robomimic conformance tests
run in ``.venv-lerobot`` by the engineer who owns that environment.
"""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from bp_export.reward import frame_rewards
from bp_export.robomimic import ENV_TYPE, RobomimicWriter, build_env_meta, obs_key_map
from bp_export.sources import ExportEpisode
from bp_sdk.errors import ConfigError, PermanentError

from tests.export_extras.builders import CAMERAS, FPS, RES, make_record

IMAGES = [f"observation.images.{c}" for c in CAMERAS]
LOWDIM = ["observation.state", "observation.velocity", "observation.ee_pose"]


def _env_meta(tier: str = "core") -> dict[str, Any]:
    return build_env_meta(
        dataset_id="ds-test",
        scene_ids=["scene_a"],
        robot="franka_panda",
        fps=FPS,
        cameras=CAMERAS,
        resolution=RES,
        physics_timestep_s=0.002,
        simulator_version="4.0.0",
        tier=tier,
    )


def _add(w: RobomimicWriter, rec: ExportEpisode) -> None:
    arrays = rec.arrays()
    t = len(arrays["action"])
    reward, done, _ = frame_rewards(rec, t, FPS)
    w.add(rec, arrays, reward, done)


def _write(path: Path, records: list[ExportEpisode], **kw: Any) -> dict[str, Any]:
    with RobomimicWriter(path, _env_meta(), IMAGES, LOWDIM, **kw) as w:
        for r in records:
            _add(w, r)
        return w.close({"train": "0:2", "valid": "2:3"})


@pytest.fixture
def records() -> list[ExportEpisode]:
    return [
        make_record(0, frames=12, onset=8, split="train", seed=11),
        make_record(1, frames=9, success=False, split="train", seed=12),
        make_record(2, frames=15, onset=15, split="valid", seed=13, instruction="Push the cube."),
    ]


def test_layout_and_attributes_follow_robomimic(
    tmp_path: Path, records: list[ExportEpisode]
) -> None:
    """data/demo_<episode_index> holds actions, rewards, dones, obs, next_obs; totals and env_args are set."""
    path = tmp_path / "dataset.hdf5"
    summary = _write(path, records)
    assert summary["demos"] == 3 and summary["total_samples"] == 12 + 9 + 15
    with h5py.File(path, "r") as f:
        data = f["data"]
        assert sorted(data.keys()) == ["demo_0", "demo_1", "demo_2"]
        assert int(data.attrs["total"]) == 36
        env = json.loads(data.attrs["env_args"])
        assert set(env) == {"env_name", "type", "env_kwargs"}
        assert env["type"] == ENV_TYPE and env["type"] not in (1, 2, 3)  # not robosuite/gym/momart
        assert env["env_kwargs"]["control_freq"] == FPS
        assert env["env_kwargs"]["camera_names"] == list(CAMERAS)
        for rec in records:
            demo = data[f"demo_{rec.dataset_index}"]
            t = rec.meta.frames
            assert int(demo.attrs["num_samples"]) == t
            assert demo["actions"].shape == (t, 8) and demo["actions"].dtype == np.float32
            assert demo["rewards"].shape == (t,) and demo["dones"].shape == (t,)
            assert np.all(np.isfinite(demo["rewards"][()]))
            assert demo["dones"][()].tolist() == [0] * (t - 1) + [1]
            assert np.array_equal(demo["actions"][()], rec.arrays()["action"])
            assert set(demo["obs"]) == set(demo["next_obs"]) == set(summary["obs_keys"])
            assert demo.attrs["episode_id"] == rec.episode_id
            assert demo.attrs["scene_id"] == "scene_a"
            assert bool(demo.attrs["success"]) is rec.success
            assert demo.attrs["lang"] == rec.instruction
            ep_meta = json.loads(demo.attrs["ep_meta"])
            assert ep_meta["lang"] == rec.instruction and ep_meta["seed"] == rec.meta.seed
        assert data["demo_0"]["rewards"][()].tolist() == [0.0] * 7 + [1.0] * 5
        assert not data["demo_1"]["rewards"][()].any()


def test_obs_mapping_slices_and_reorders_quaternions(
    tmp_path: Path, records: list[ExportEpisode]
) -> None:
    """Low-dim keys are the documented slices; robot0_eef_quat is x y z w of the recorded w x y z."""
    path = tmp_path / "d.hdf5"
    _write(path, records)
    src = records[0].arrays()
    with h5py.File(path, "r") as f:
        obs = f["data/demo_0/obs"]
        assert np.array_equal(obs["robot0_joint_pos"][()], src["observation.state"][:, :7])
        assert np.array_equal(obs["robot0_gripper_opening"][()], src["observation.state"][:, 7:])
        assert np.array_equal(obs["robot0_joint_vel"][()], src["observation.velocity"][:, :7])
        assert np.array_equal(obs["robot0_eef_pos"][()], src["observation.ee_pose"][:, :3])
        wxyz = src["observation.ee_pose"][:, 3:]
        assert np.array_equal(obs["robot0_eef_quat"][()], wxyz[:, [1, 2, 3, 0]])
        img = obs["scene_image"]
        assert img.dtype == np.uint8 and img.shape == (12, RES, RES, 3)
        assert img.chunks == (1, RES, RES, 3) and img.compression == "gzip"
        assert np.array_equal(img[()], src["observation.images.scene"])


@pytest.mark.parametrize("virtual", [True, False])
def test_next_obs_is_obs_shifted_with_last_frame_repeated(
    tmp_path: Path, records: list[ExportEpisode], virtual: bool
) -> None:
    """next_obs[t] == obs[t+1] and next_obs[-1] == obs[-1], for images (virtual or copied) and low-dim."""
    path = tmp_path / "d.hdf5"
    _write(path, records, virtual_next_images=virtual)
    with h5py.File(path, "r") as f:
        for rec in records:
            demo = f[f"data/demo_{rec.dataset_index}"]
            for key in demo["obs"]:
                o, n = demo["obs"][key][()], demo["next_obs"][key][()]
                assert o.shape == n.shape and o.dtype == n.dtype
                assert np.array_equal(n[:-1], o[1:]) and np.array_equal(n[-1], o[-1])
            assert demo["next_obs/wrist_image"].is_virtual is virtual


def test_masks_are_the_lerobot_splits(tmp_path: Path, records: list[ExportEpisode]) -> None:
    """mask/train and mask/valid hold byte-string demo names of the LeRobot splits."""
    path = tmp_path / "d.hdf5"
    summary = _write(path, records)
    with h5py.File(path, "r") as f:
        train = f["mask/train"][()]
        assert train.dtype.kind == "S"
        assert [x.decode("utf-8") for x in train] == ["demo_0", "demo_1"]
        assert [x.decode() for x in f["mask/valid"][()]] == ["demo_2"]
        assert [x.decode() for x in f["mask/train_success"][()]] == ["demo_0"]
    assert summary["masks"] == {"train": 2, "train_success": 1, "valid": 1, "valid_success": 1}


def test_splits_taken_from_records_when_not_given(
    tmp_path: Path, records: list[ExportEpisode]
) -> None:
    """close() without splits uses each record's split."""
    path = tmp_path / "d.hdf5"
    with RobomimicWriter(path, _env_meta(), IMAGES, LOWDIM) as w:
        for r in records:
            _add(w, r)
        w.close()
    with h5py.File(path, "r") as f:
        assert [x.decode() for x in f["mask/valid"][()]] == ["demo_2"]


def test_split_disagreeing_with_records_is_refused_and_file_removed(
    tmp_path: Path, records: list[ExportEpisode]
) -> None:
    """A split that puts a valid episode into train, or leaves one out, finalises nothing."""
    path = tmp_path / "d.hdf5"
    w = RobomimicWriter(path, _env_meta(), IMAGES, LOWDIM)
    for r in records:
        _add(w, r)
    with pytest.raises(PermanentError) as info:
        w.close({"train": "0:3", "valid": "3:4"})
    text = str(info.value)
    assert "record says 'valid'" in text and "was not written" in text
    assert not path.exists()


def test_demo_index_is_the_episode_index(tmp_path: Path) -> None:
    """demo names follow dataset_index, not the order of add()."""
    path = tmp_path / "d.hdf5"
    recs = [make_record(7, frames=6, split="valid"), make_record(3, frames=5, split="train")]
    with RobomimicWriter(path, _env_meta(), IMAGES, LOWDIM) as w:
        for r in recs:
            _add(w, r)
        w.close({"train": [3], "valid": [7]})
    with h5py.File(path, "r") as f:
        assert sorted(f["data"]) == ["demo_3", "demo_7"]
        assert f["data/demo_7"].attrs["episode_id"] == recs[0].episode_id


def test_full_tier_objects_contacts_and_depth(tmp_path: Path) -> None:
    """Object poses flatten to object (T, 7n) in x y z w order, contacts to (T, 4n), depth to (T,H,W,1)."""
    rec = make_record(0, frames=8, tier="full")
    src = rec.arrays()
    path = tmp_path / "d.hdf5"
    images = [*IMAGES, "observation.depth.wrist"]
    lowdim = [*LOWDIM, "observation.object_poses", "observation.contacts"]
    with RobomimicWriter(path, _env_meta("full"), images, lowdim) as w:
        _add(w, rec)
        summary = w.close()
    assert {"object", "object_contacts", "wrist_depth"} <= set(summary["obs_keys"])
    with h5py.File(path, "r") as f:
        obs = f["data/demo_0/obs"]
        poses = src["observation.object_poses"]
        want = np.concatenate([poses[..., :3], poses[..., [4, 5, 6, 3]]], axis=2).reshape(8, -1)
        assert np.array_equal(obs["object"][()], want)
        assert np.array_equal(
            obs["object_contacts"][()], src["observation.contacts"].reshape(8, -1)
        )
        depth = obs["wrist_depth"][()]
        assert depth.shape == (8, RES, RES, 1) and depth.dtype == np.float32
        assert np.array_equal(depth[..., 0], src["observation.depth.wrist"])


def _bad(kind: str) -> tuple[ExportEpisode, dict[str, np.ndarray]]:
    rec = make_record(0, frames=10)
    arrays = dict(rec.arrays())
    if kind == "frames":
        arrays["observation.images.wrist"] = arrays["observation.images.wrist"][:9]
    elif kind == "nan":
        arrays["observation.state"] = arrays["observation.state"].copy()
        arrays["observation.state"][3, 2] = np.nan
    elif kind == "missing":
        del arrays["observation.velocity"]
    return rec, arrays


@pytest.mark.parametrize(
    ("kind", "message"),
    [("frames", "disagree in frame count"), ("nan", "NaN or inf"), ("missing", "misses stream")],
)
def test_bad_episode_is_refused_before_anything_is_written(
    tmp_path: Path, kind: str, message: str
) -> None:
    """Frame-count mismatch, NaN or a missing stream raise, naming the episode; no demo is left."""
    path = tmp_path / "d.hdf5"
    rec, arrays = _bad(kind)
    reward = np.zeros(10, np.float32)
    done = np.zeros(10, bool)
    with RobomimicWriter(path, _env_meta(), IMAGES, LOWDIM) as w:
        with pytest.raises(PermanentError) as info:
            w.add(rec, arrays, reward, done)
        assert message in str(info.value) and rec.episode_id in str(info.value)
        good = make_record(1, frames=6)
        _add(w, good)  # the writer stays usable
        summary = w.close({"train": [1], "valid": []})
    assert summary["demos"] == 1
    with h5py.File(path, "r") as f:
        assert list(f["data"]) == ["demo_1"]


def test_non_finite_rewards_are_refused(tmp_path: Path) -> None:
    """A reward of NaN never reaches the file."""
    rec = make_record(0, frames=5)
    reward = np.array([0, 0, np.inf, 1, 1], np.float32)
    with (
        RobomimicWriter(tmp_path / "d.hdf5", _env_meta(), IMAGES, LOWDIM) as w,
        pytest.raises(PermanentError, match="rewards must be finite"),
    ):
        w.add(rec, rec.arrays(), reward, np.zeros(5, bool))


def test_writer_does_not_keep_episode_arrays(tmp_path: Path) -> None:
    """After add() returns, the writer holds no reference to the episode's arrays (streaming)."""
    rec = make_record(0, frames=10)
    arrays = dict(make_record(0, frames=10).arrays())
    refs = [weakref.ref(a) for a in arrays.values()]
    reward, done, _ = frame_rewards(rec, 10, FPS)
    with RobomimicWriter(tmp_path / "d.hdf5", _env_meta(), IMAGES, LOWDIM) as w:
        w.add(rec, arrays, reward, done)
        del arrays
        gc.collect()
        assert all(r() is None for r in refs)
        w.close({"train": [0], "valid": []})


def test_exception_inside_context_removes_the_file(tmp_path: Path) -> None:
    """Leaving the writer's block on an error deletes the unfinished file."""
    path = tmp_path / "d.hdf5"
    with pytest.raises(RuntimeError), RobomimicWriter(path, _env_meta(), IMAGES, LOWDIM) as w:
        _add(w, make_record(0, frames=5))
        raise RuntimeError("export failed")
    assert not path.exists()


def test_duplicate_demo_and_closed_writer_are_refused(tmp_path: Path) -> None:
    """The same episode index twice, or add() after close(), is an error."""
    w = RobomimicWriter(tmp_path / "d.hdf5", _env_meta(), IMAGES, LOWDIM)
    _add(w, make_record(0, frames=5))
    with pytest.raises(PermanentError, match="already written"):
        _add(w, make_record(0, frames=5))
    w.close({"train": [0], "valid": []})
    with pytest.raises(PermanentError, match="closed"):
        _add(w, make_record(1, frames=5))


def test_bad_configuration_lists_every_problem(tmp_path: Path) -> None:
    """Unknown streams and a malformed env_meta are reported together; no file is created."""
    path = tmp_path / "d.hdf5"
    with pytest.raises(ConfigError) as info:
        RobomimicWriter(
            path, {"env_name": "", "type": "1"}, ["observation.rgb.x"], ["observation.joints"]
        )
    names = {p.where for p in info.value.problems}
    assert {
        "env_meta.env_name",
        "env_meta.type",
        "env_meta.env_kwargs",
        "lowdim_keys",
        "image_keys",
    } <= names
    assert not path.exists()


def test_obs_key_map_documents_every_key() -> None:
    """The documented mapping names each robomimic key's source stream and meaning."""
    m = obs_key_map(IMAGES, LOWDIM)
    assert (
        m["robot0_eef_quat"].startswith("observation.ee_pose[3:7]")
        and "x y z w" in m["robot0_eef_quat"]
    )
    assert m["scene_image"].startswith("observation.images.scene")
    assert len(m) == 8


def test_same_demos_give_the_same_bytes_at_another_time(
    tmp_path: Path, records: list[ExportEpisode]
) -> None:
    """No HDF5 object stores a time: written again a second later, the file is byte-identical
    (virtual next_obs included), and every object's header says so."""
    import time

    first = tmp_path / "a.hdf5"
    _write(first, records)
    time.sleep(1.1)
    second = tmp_path / "b.hdf5"
    _write(second, records)
    assert first.read_bytes() == second.read_bytes()
    with h5py.File(first, "r") as f:
        names: list[str] = []
        f.visit(names.append)
        for name in ["/", *names]:
            assert not f[name].id.get_create_plist().get_obj_track_times(), name


def test_full_tier_presence_mask_is_a_low_dim_key(tmp_path: Path) -> None:
    """observation.object_present becomes object_present (T, n) float32, one per object row."""
    rec = make_record(0, frames=6, tier="full")
    arrays = dict(rec.arrays())
    arrays["observation.object_present"] = np.tile(np.array([1, 0], dtype=np.uint8), (6, 1))
    path = tmp_path / "d.hdf5"
    lowdim = [
        *LOWDIM,
        "observation.object_poses",
        "observation.contacts",
        "observation.object_present",
    ]
    with RobomimicWriter(path, _env_meta("full"), IMAGES, lowdim) as w:
        reward, done, _ = frame_rewards(rec, 6, FPS)
        w.add(rec, arrays, reward, done)
        summary = w.close()
    assert "object_present" in summary["obs_keys"]
    with h5py.File(path, "r") as f:
        present = f["data/demo_0/obs/object_present"][()]
    assert present.dtype == np.float32 and present.tolist() == [[1.0, 0.0]] * 6
