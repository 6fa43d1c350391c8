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
    ]
    assert block.lossless_streams == want_streams
    recorded = {eid: arrays for eid, (_, arrays) in read_episodes(ds.storage, ds.scene, ds.run)}
    for e in _episodes(ds):
        path = (
            ds.root
            / f"lossless/chunk-{e['lossless/chunk_index']:03d}/file-{e['lossless/file_index']:03d}.npz"
        )
        arrays = recorded[e["episode_id"]]
        assert arrays is not None
        with np.load(path, allow_pickle=False) as z:
            for stream in want_streams:
                got = z[f"episode_{e['episode_index']:06d}/{stream}"]
                assert got.dtype == arrays[stream].dtype
                np.testing.assert_array_equal(got, arrays[stream])
                assert got.shape[0] == e["length"]
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
