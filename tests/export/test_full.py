"""Tier full: lossless streams exactly as recorded, failure rollouts flagged; tiers never mix."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from bp_dataset.info import Info

from tests.datasets import EpisodesStore, ExportedDataset, derive_run, export_dataset, read_episodes

# the session fixtures (real upstream stages + episodes) are charged to the first test using them
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _episodes(ds: ExportedDataset) -> list[dict[str, Any]]:
    return pq.read_table(ds.root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()


def _as_failure(meta: dict[str, Any], arrays: Any) -> tuple[dict[str, Any], Any]:
    """The same recording, flagged as a failed episode (what a failure rollout looks like)."""
    metrics = {**meta["metrics"], "success": False, "time_to_success_s": None}
    return {
        **meta,
        "status": "failure",
        "failure_reason": "test: flipped",
        "metrics": metrics,
    }, arrays


def _first_failed(first: str) -> Any:
    def transform(meta: dict[str, Any], arrays: Any) -> tuple[dict[str, Any], Any]:
        return _as_failure(meta, arrays) if meta["episode_id"] == first else (meta, arrays)

    return transform


def test_lossless_streams_are_the_recording(exported_full: ExportedDataset) -> None:
    """Every declared lossless stream of every episode is in lossless/*.npz, bit for bit, and info declares them."""
    ds = exported_full
    info = Info.model_validate_json((ds.root / "meta/info.json").read_bytes())
    block = info.blueprintpipeline
    assert (
        block.tier == "full"
        and block.lossless_path == "lossless/chunk-{chunk_index:03d}/file-{file_index:03d}.npz"
    )
    want_streams = [
        "observation.depth.scene",
        "observation.depth.wrist",
        "observation.segmentation.scene",
        "observation.segmentation.wrist",
        "observation.object_poses",
        "observation.contacts",
        "observation.object_present",
    ]
    assert block.lossless_streams == want_streams
    recorded = {eid: arrays for eid, (_, arrays) in read_episodes(ds.storage, ds.scene, ds.run)}
    metas = {eid: meta for eid, (meta, _) in read_episodes(ds.storage, ds.scene, ds.run)}
    for e in _episodes(ds):
        path = (
            ds.root
            / f"lossless/chunk-{e['lossless/chunk_index']:03d}/file-{e['lossless/file_index']:03d}.npz"
        )
        arrays = recorded[e["episode_id"]]
        assert arrays is not None
        rows = [
            block.objects.index(f"{ds.scene}/{o}")
            for o in metas[e["episode_id"]]["movable_objects"]
        ]
        with np.load(path, allow_pickle=False) as z:
            for stream in want_streams:
                got = z[f"episode_{e['episode_index']:06d}/{stream}"]
                assert got.shape[0] == e["length"]
                if stream == "observation.object_present":  # derived: every recorded row present
                    assert (
                        got.dtype == np.uint8
                        and got[:, rows].all()
                        and got.sum() == len(rows) * e["length"]
                    )
                    continue
                if stream in ("observation.object_poses", "observation.contacts"):
                    assert got.shape[1] == len(block.objects)  # the dataset's fixed object list
                    got = got[:, rows]
                assert got.dtype == arrays[stream].dtype
                np.testing.assert_array_equal(got, arrays[stream])
    assert not any(
        k.startswith("observation.depth") for k in info.features
    )  # never in video or parquet


def test_full_keeps_failure_rollouts_flagged(episodes_store_full: EpisodesStore) -> None:
    """A failed episode is exported in tier full, flagged success=false in the episodes table and the data."""
    st = episodes_store_full
    ids = [eid for eid, _ in read_episodes(st.storage, st.scene, st.run)]
    derive_run(st.storage, st.run, "r-full-fail", _first_failed(ids[0]))
    ds = export_dataset(st.storage, "r-full-fail", "full-with-failure")
    eps = {e["episode_id"]: e for e in _episodes(ds)}
    assert set(eps) == set(ids)
    assert eps[ids[0]]["success"] is False and all(eps[i]["success"] for i in ids[1:])
    data = pq.read_table(ds.root / "data/chunk-000/file-000.parquet")
    fail = eps[ids[0]]
    rows = data.slice(fail["dataset_from_index"], fail["length"])
    assert not any(rows["next.success"].to_pylist()) and not any(rows["next.reward"].to_pylist())
    quality = json.loads((ds.root / "meta/quality.json").read_bytes())
    assert quality["excluded"] == [] and quality["rejected"] == []


def test_core_leaves_failures_out(episodes_store_core: EpisodesStore) -> None:
    """Tier core exports successful episodes only: a failure is listed as excluded with why, never exported."""
    st = episodes_store_core
    ids = [eid for eid, _ in read_episodes(st.storage, st.scene, st.run)]
    derive_run(st.storage, st.run, "r-core-fail", _first_failed(ids[0]))
    ds = export_dataset(st.storage, "r-core-fail", "core-without-failure")
    eps = _episodes(ds)
    assert [e["episode_id"] for e in eps] == ids[1:] and all(e["success"] for e in eps)
    assert ds.record.summary["excluded"] == 1
    quality = json.loads((ds.root / "meta/quality.json").read_bytes())
    assert [x["episode_id"] for x in quality["excluded"]] == [ids[0]]
    assert "tier core keeps successful episodes only" in quality["excluded"][0]["reason"]
    assert not (ds.root / "lossless").exists()


def test_episodes_record_their_initial_state_depth_and_segmentation(
    episodes_store_full: EpisodesStore,
) -> None:
    """Each episode JSON records its seeded initial state (equal to its first frame), how
    depth is encoded, and what every segmentation id shows."""
    st = episodes_store_full
    for _eid, (meta, arrays) in read_episodes(st.storage, st.scene, st.run):
        assert arrays is not None
        init = meta["initial_state"]
        assert isinstance(init["seed"], int) and init["seed"] != meta["seed"]
        np.testing.assert_allclose(
            arrays["observation.state"][0, :7], init["robot_qpos"], atol=1e-6
        )
        for i, oid in enumerate(meta["movable_objects"]):
            np.testing.assert_allclose(
                arrays["observation.object_poses"][0, i, :3],
                init["objects"][oid]["position_m"],
                atol=1e-6,
            )
        assert meta["depth"]["background_value"] == 0.0 and meta["depth"]["unit"] == "m"
        far = meta["depth"]["far_m"]
        for cam in meta["cameras"]:
            d = arrays[f"observation.depth.{cam}"]
            assert d[d > 0].max() < far and (d >= 0).all()
        geoms = meta["segmentation"]["geoms"]
        seg_ids = {
            int(x)
            for cam in meta["cameras"]
            for x in np.unique(arrays[f"observation.segmentation.{cam}"])
        }
        assert seg_ids <= {-1, *range(len(geoms["name"]))}
        assert set(meta["movable_objects"]) <= set(geoms["object"]) and "robot" in geoms["object"]
        assert set(meta["object_categories"]) == set(meta["movable_objects"])
