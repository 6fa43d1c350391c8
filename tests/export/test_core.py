"""A real tier-core export of real episodes: layout, tables, videos, stats and checksums
are exactly what LeRobot v3.0 readers (and a lab) expect."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bp_dataset.checksums import parse_sums
from bp_dataset.features import Recording, data_columns, features
from bp_dataset.info import Info
from bp_dataset.stats import QUANTILE_KEYS, QUANTILES
from bp_export.stage import ExportStage
from bp_sdk.commit import load_record
from bp_sdk.layout import Unit
from bp_sdk.runner import run_stage

from tests.datasets import ExportedDataset, export_env, read_episodes

# the session fixtures (real upstream stages + episodes) are charged to the first test using them
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _info(ds: ExportedDataset) -> Info:
    return Info.model_validate_json((ds.root / "meta/info.json").read_bytes())


def _data(ds: ExportedDataset) -> pa.Table:
    files = sorted((ds.root / "data").glob("chunk-*/file-*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


def _episodes(ds: ExportedDataset) -> list[dict[str, Any]]:
    files = sorted((ds.root / "meta/episodes").glob("chunk-*/file-*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def _recorded(
    ds: ExportedDataset,
) -> dict[str, tuple[dict[str, Any], dict[str, np.ndarray] | None]]:
    return {
        f"{ds.scene}/{ds.run}/{eid}": ep for eid, ep in read_episodes(ds.storage, ds.scene, ds.run)
    }


def test_layout_and_info(exported_core: ExportedDataset) -> None:
    """The dataset holds LeRobot's files plus ours, info.json validates and declares the recording."""
    ds = exported_core
    files = sorted(p.relative_to(ds.root).as_posix() for p in ds.root.rglob("*") if p.is_file())
    for required in [
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "data/chunk-000/file-000.parquet",
        "videos/observation.images.scene/chunk-000/file-000.mp4",
        "videos/observation.images.wrist/chunk-000/file-000.mp4",
        "meta/lineage.json",
        "meta/quality.json",
        "README.md",
        "meta/SHA256SUMS",
        "robomimic/dataset.hdf5",
    ]:
        assert required in files, required
    assert not any(f.startswith("lossless/") for f in files)  # tier core has no lossless streams
    info = _info(ds)
    meta = next(iter(_recorded(ds).values()))[0]
    rec = Recording(20, meta["resolution"], ("scene", "wrist"), "core", "franka_panda")
    assert info.features == features(rec, "av1", "yuv420p")
    assert info.codebase_version == "v3.0" and info.fps == 20 and info.robot_type == "franka_panda"
    block = info.blueprintpipeline
    assert (
        block.tier == "core" and block.dataset_id == "kitchen-core" and block.lossless_streams == []
    )
    assert block.control_rate_hz == 20 and block.physics_timestep_s == pytest.approx(0.002)
    for cam in ("scene", "wrist"):
        assert block.cameras[cam].intrinsics == meta["cameras"][cam]["intrinsics"]
    assert "observation.camera_pose.scene" in block.meaning and "action" in block.meaning


def test_tables_are_consistent(exported_core: ExportedDataset) -> None:
    """Data columns are exactly the non-video features; indices, timestamps, episode rows and tasks agree."""
    ds = exported_core
    info = _info(ds)
    data = _data(ds)
    assert data.column_names == data_columns(info.features)
    assert pa.types.is_fixed_size_list(data.schema.field("observation.state").type)
    assert data.schema.field("timestamp").type == pa.float32()
    eps = _episodes(ds)
    assert [e["episode_index"] for e in eps] == list(range(info.total_episodes))
    assert info.total_frames == data.num_rows == sum(e["length"] for e in eps)
    np.testing.assert_array_equal(data["index"].to_numpy(), np.arange(data.num_rows))
    tasks = pq.read_table(ds.root / "meta/tasks.parquet")
    assert tasks.column_names == ["task_index", "__index_level_0__"]
    assert b"pandas" in (tasks.schema.metadata or {})
    task_strings = tasks["__index_level_0__"].to_pylist()
    assert tasks["task_index"].to_pylist() == list(
        range(len(task_strings))
    ) and info.total_tasks == len(task_strings)
    recorded = _recorded(ds)
    fps = info.fps
    for e in eps:
        rows = data.slice(e["dataset_from_index"], e["length"])
        assert e["dataset_to_index"] - e["dataset_from_index"] == e["length"]
        assert set(rows["episode_index"].to_pylist()) == {e["episode_index"]}
        fi = rows["frame_index"].to_numpy()
        np.testing.assert_array_equal(fi, np.arange(e["length"]))
        np.testing.assert_allclose(rows["timestamp"].to_numpy(), fi / fps, atol=1e-6)
        meta, _ = recorded[f"{e['scene_id']}/{e['run_id']}/{e['episode_id']}"]
        assert e["tasks"] == [meta["instruction"]] and e["length"] == meta["frames"]
        assert task_strings[rows["task_index"][0].as_py()] == meta["instruction"]
        assert e["success"] is True and e["split"] in ("train", "valid")
        assert (e["data/chunk_index"], e["data/file_index"]) == (0, 0)
        for cam in ("scene", "wrist"):
            key = f"videos/observation.images.{cam}"
            assert e[f"{key}/to_timestamp"] - e[f"{key}/from_timestamp"] == pytest.approx(
                e["length"] / fps
            )
    splits = info.split_ranges()
    train = [e for e in eps if e["split"] == "train"]
    assert splits["train"] == range(len(train))
    assert all(e["split"] == "train" for e in eps[: len(train)])  # train first, then valid


def test_rows_are_the_recorded_data(exported_core: ExportedDataset) -> None:
    """Every exported vector is the recorded one; camera poses are the recorded extrinsics; rewards follow success."""
    ds = exported_core
    data = _data(ds)
    recorded = _recorded(ds)
    for e in _episodes(ds):
        meta, arrays = recorded[f"{e['scene_id']}/{e['run_id']}/{e['episode_id']}"]
        assert arrays is not None
        rows = data.slice(e["dataset_from_index"], e["length"])
        for key in ("observation.state", "observation.velocity", "observation.ee_pose", "action"):
            got = np.stack(rows[key].to_numpy(zero_copy_only=False))
            np.testing.assert_array_equal(got, arrays[key])
        for cam in ("scene", "wrist"):
            pose = np.stack(rows[f"observation.camera_pose.{cam}"].to_numpy(zero_copy_only=False))
            ext = arrays[f"camera.extrinsics.{cam}"]
            np.testing.assert_allclose(pose[:, :3], ext[:, :3, 3], atol=1e-6)
            w, x, y, z = pose[:, 3:].T.astype(np.float64)
            rot = np.stack(
                [  # quaternion wxyz back to a rotation matrix
                    [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                    [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                    [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
                ]
            ).transpose(2, 0, 1)
            np.testing.assert_allclose(rot, ext[:, :3, :3], atol=1e-5)
            assert (pose[:, 3] >= 0).all()
        success = rows["next.success"].to_numpy(zero_copy_only=False)
        reward = rows["next.reward"].to_numpy()
        done = rows["next.done"].to_numpy(zero_copy_only=False)
        onset = round(meta["metrics"]["time_to_success_s"] * 20)
        assert success[onset - 1 :].all() and not success[: onset - 1].any()
        np.testing.assert_array_equal(reward, success.astype(np.float32))
        assert done[-1] and not done[:-1].any()


def test_every_video_frame_decodes_at_its_time(exported_core: ExportedDataset) -> None:
    """Every frame of every video decodes at exactly its time, in its episode's range, and shows the recorded picture."""
    ds = exported_core
    info = _info(ds)
    eps = _episodes(ds)
    recorded = _recorded(ds)
    for cam in ("scene", "wrist"):
        key = f"observation.images.{cam}"
        path = ds.root / f"videos/{key}/chunk-000/file-000.mp4"
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            assert (
                stream.codec.canonical_name == "av1" and stream.codec_context.pix_fmt == "yuv420p"
            )
            frames, keys = [], []
            for i, frame in enumerate(c.decode(stream)):
                assert frame.pts * stream.time_base == Fraction(i, info.fps)  # exact rational time
                frames.append(frame.to_ndarray(format="rgb24"))
                keys.append(frame.key_frame)
        assert len(frames) == info.total_frames
        for e in eps:
            start = round(e[f"videos/{key}/from_timestamp"] * info.fps)
            # one file per camera here: an episode's frames sit at its rows' indices
            assert start == e["dataset_from_index"]
            assert keys[start], f"{key} episode {e['episode_index']} does not start on a keyframe"
            _, arrays = recorded[f"{e['scene_id']}/{e['run_id']}/{e['episode_id']}"]
            assert arrays is not None
            want = arrays[key]
            got = np.stack(frames[start : start + e["length"]])
            err = np.abs(got.astype(np.int16) - want.astype(np.int16)).mean(axis=(1, 2, 3))
            where = f"{key} episode {e['episode_index']}"
            assert err.mean() < 6 and err.max() < 20, (
                f"{where}: mean abs error {err.mean():.1f}, max {err.max():.1f}"
            )
            shifted = np.abs(got[1:].astype(np.int16) - want[:-1].astype(np.int16)).mean()
            assert err.mean() < shifted, f"{where}: frames are not aligned with the recording"


def test_stats_match_numpy(exported_core: ExportedDataset) -> None:
    """stats.json equals numpy over the exported rows (and the recorded pixels); per-episode stats too."""
    ds = exported_core
    info = _info(ds)
    data = _data(ds)
    stats = json.loads((ds.root / "meta/stats.json").read_bytes())
    assert set(stats) == set(info.features)
    assert stats["next.done"]["max"] == [True] and stats["index"]["min"] == [
        0
    ]  # as LeRobot types them
    assert isinstance(stats["next.done"]["min"][0], bool) and type(stats["index"]["max"][0]) is int
    for col in data_columns(info.features):
        arr = data[col].to_numpy(zero_copy_only=False)
        x = (np.stack(arr) if arr.dtype == object else arr.reshape(-1, 1)).astype(np.float64)
        s = stats[col]
        assert s["count"] == [data.num_rows]
        np.testing.assert_allclose(s["min"], x.min(axis=0))
        np.testing.assert_allclose(s["max"], x.max(axis=0))
        np.testing.assert_allclose(s["mean"], x.mean(axis=0), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(s["std"], x.std(axis=0), rtol=1e-6, atol=1e-9)
        span = x.max(axis=0) - x.min(axis=0)
        for key, q in zip(QUANTILE_KEYS, QUANTILES, strict=True):
            want = np.quantile(x, q, axis=0, method="inverted_cdf")
            assert (np.abs(np.array(s[key]) - want) <= span * 4 / 2048 + 1e-12).all(), (col, key)
    pixels: dict[str, list[np.ndarray]] = {k: [] for k in info.video_keys()}
    for _, (_, arrays) in read_episodes(ds.storage, ds.scene, ds.run):
        if arrays is not None:
            for k, parts in pixels.items():
                parts.append(arrays[k].reshape(-1, 3))
    for k, parts in pixels.items():
        px = np.concatenate(parts).astype(np.float64)
        np.testing.assert_allclose(
            np.array(stats[k]["mean"]).ravel(), px.mean(axis=0) / 255, rtol=1e-9
        )
        assert np.array(stats[k]["q50"]).shape == (3, 1, 1)
    for e in _episodes(ds):
        rows = data.slice(e["dataset_from_index"], e["length"])
        st = np.stack(rows["observation.state"].to_numpy(zero_copy_only=False)).astype(np.float64)
        np.testing.assert_allclose(e["stats/observation.state/mean"], st.mean(axis=0), rtol=1e-9)
        np.testing.assert_allclose(e["stats/observation.state/q50"], np.quantile(st, 0.5, axis=0))
        assert e["stats/next.done/max"] == [True] and e["stats/frame_index/min"] == [0]
        assert isinstance(e["stats/next.done/max"][0], bool)  # min/max keep the feature's type
        assert type(e["stats/frame_index/min"][0]) is int
        assert e["stats/observation.images.wrist/count"] == [e["length"]]


def test_checksums_verify(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """SHA256SUMS covers every other file (card included), `sha256sum -c` accepts it, and its sha256 is the digest."""
    ds = exported_core
    sums = (ds.root / "meta/SHA256SUMS").read_bytes()
    listed, errors = parse_sums(sums)
    assert not errors
    files = {p.relative_to(ds.root).as_posix() for p in ds.root.rglob("*") if p.is_file()}
    assert set(listed) == files - {"meta/SHA256SUMS"} and "README.md" in listed
    assert set(ds.record.files) == files
    sha256sum = shutil.which("sha256sum")
    assert sha256sum is not None
    done = subprocess.run(
        [sha256sum, "--strict", "-c", "meta/SHA256SUMS"],
        cwd=ds.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert ds.record.summary["dataset_digest"] == hashlib.sha256(sums).hexdigest()
    copy = tmp_path / "copy"
    shutil.copytree(ds.root, copy)
    victim = copy / "data/chunk-000/file-000.parquet"
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    victim.write_bytes(bytes(raw))
    bad = subprocess.run(
        [sha256sum, "--strict", "-c", "meta/SHA256SUMS"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode != 0 and "data/chunk-000/file-000.parquet: FAILED" in bad.stdout


def test_rerun_with_same_inputs_skips(exported_core: ExportedDataset) -> None:
    """Running the export again for the same inputs commits nothing new (exit 0, same record)."""
    ds = exported_core
    code = run_stage(
        ExportStage(), export_env(ds.storage, ds.run, ds.dataset_id, CLOUD_RUN_EXECUTION="again")
    )
    assert code == 0
    rec = load_record(ds.storage, Unit(ds.scene, ds.run, "export", dataset=ds.dataset_id))
    assert rec is not None and rec.attempt == ds.record.attempt


def test_extras_are_written(exported_core: ExportedDataset) -> None:
    """robomimic HDF5 has one demo per episode with masks equal to the splits; quality and lineage describe the episodes."""
    ds = exported_core
    info = _info(ds)
    eps = _episodes(ds)
    with h5py.File(io.BytesIO((ds.root / "robomimic/dataset.hdf5").read_bytes()), "r") as f:
        assert sorted(f["data"].keys()) == sorted(f"demo_{e['episode_index']}" for e in eps)
        assert int(f["data"].attrs["total"]) == info.total_frames
        train = [m.decode() for m in f["mask/train"][()]]
        assert train == [f"demo_{i}" for i in info.split_ranges()["train"]]
    quality = json.loads((ds.root / "meta/quality.json").read_bytes())
    assert quality["rejected"] == []
    lineage = json.loads((ds.root / "meta/lineage.json").read_bytes())
    assert lineage["dataset_id"] == ds.dataset_id
    assert ds.record.summary["episodes"] == len(eps) and ds.record.summary["rejected"] == 0
