"""The hard rules, each broken on purpose: the episode is rejected with its reason (kept in
quality.json and the summary), the rest is exported; with nothing left the export fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from bp_dataset.video import VideoParams
from bp_export import encode_worker
from bp_export.stage import ExportStage
from bp_sdk.commit import load_record
from bp_sdk.errors import ExitCode
from bp_sdk.layout import Unit
from bp_sdk.markers import list_markers
from bp_sdk.runner import run_stage

from tests.datasets import EpisodesStore, derive_run, export_dataset, export_env, read_episodes

# the session fixtures (real upstream stages + episodes) are charged to the first test using them
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
Arrays = dict[str, np.ndarray]


def _nan_state(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    s = a["observation.state"].copy()
    s[5, 2] = np.nan
    return meta, {**a, "observation.state": s}


def _inf_extrinsics(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    e = a["camera.extrinsics.wrist"].copy()
    e[3, 0, 3] = np.inf
    return meta, {**a, "camera.extrinsics.wrist": e}


def _short_video(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    return meta, {**a, "observation.images.scene": a["observation.images.scene"][:-1]}


def _short_action(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    return meta, {**a, "action": a["action"][:-3]}


def _missing_camera_pose(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    return meta, {k: v for k, v in a.items() if k != "camera.extrinsics.scene"}


def _nan_metric(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    return {**meta, "metrics": {**meta["metrics"], "quality_score": float("nan")}}, a


def _bad_timestamps(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    ts = a["timestamp"].copy()
    ts[10:] += 0.01
    return meta, {**a, "timestamp": ts}


def _success_past_the_end(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
    return {**meta, "metrics": {**meta["metrics"], "time_to_success_s": meta["frames"] / 20 + 5}}, a


def _success_without_data(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], None]:
    return {**meta, "kept": False, "data_file": None}, None


CASES: dict[str, tuple[Callable[..., Any], str]] = {
    "nan-state": (_nan_state, "observation.state has 1 NaN/infinite values (first at frame 5)"),
    "inf-extrinsics": (_inf_extrinsics, "camera.extrinsics.wrist has 1 NaN/infinite values"),
    "short-video": (_short_video, "streams disagree in frame count"),
    "short-action": (_short_action, "streams disagree in frame count"),
    "missing-stream": (
        _missing_camera_pose,
        "missing declared stream(s) for tier core: camera.extrinsics.scene",
    ),
    "nan-metric": (_nan_metric, "episode metrics contain NaN or infinity"),
    "bad-timestamps": (_bad_timestamps, "timestamp of frame"),
    "reward-undefined": (_success_past_the_end, "outside the episode"),
    "success-without-data": (
        _success_without_data,
        "episode is a success but its data (npz) was not committed",
    ),
}


def _break_first(first: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def transform(meta: dict[str, Any], arrays: Arrays | None) -> Any:
        return (
            fn(meta, arrays)
            if meta["episode_id"] == first and arrays is not None
            else (meta, arrays)
        )

    return transform


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_episode_is_rejected_with_its_reason(
    episodes_store_core: EpisodesStore, case: str
) -> None:
    """One episode breaks a rule: it is rejected with the reason, counted in the summary, and the others are exported."""
    st = episodes_store_core
    fn, reason = CASES[case]
    ids = [eid for eid, _ in read_episodes(st.storage, st.scene, st.run)]
    run = f"r-rule-{case}"
    derive_run(st.storage, st.run, run, _break_first(ids[0], fn))
    ds = export_dataset(st.storage, run, f"rule-{case}")
    summary = ds.record.summary
    assert summary["rejected"] == 1 and summary["episodes"] == len(ids) - 1
    assert summary["rejected_reasons"][0]["episode_id"] == ids[0]
    assert reason in summary["rejected_reasons"][0]["reason"]
    quality = json.loads((ds.root / "meta/quality.json").read_bytes())
    (rej,) = quality["rejected"]
    assert rej["episode_id"] == ids[0] and reason in rej["reason"]
    info = json.loads((ds.root / "meta/info.json").read_bytes())
    assert info["total_episodes"] == len(ids) - 1


def test_missing_tier_stream_is_rejected(episodes_store_full: EpisodesStore) -> None:
    """A tier-full episode without its segmentation is rejected naming the stream."""
    st = episodes_store_full
    ids = [eid for eid, _ in read_episodes(st.storage, st.scene, st.run)]

    def drop(meta: dict[str, Any], a: Arrays) -> tuple[dict[str, Any], Arrays]:
        return meta, {k: v for k, v in a.items() if k != "observation.segmentation.wrist"}

    derive_run(st.storage, st.run, "r-no-seg", _break_first(ids[0], drop))
    ds = export_dataset(st.storage, "r-no-seg", "full-no-seg")
    (rej,) = ds.record.summary["rejected_reasons"]
    assert (
        rej["reason"] == "missing declared stream(s) for tier full: observation.segmentation.wrist"
    )


def test_nothing_left_fails_permanently(episodes_store_core: EpisodesStore) -> None:
    """When every episode is rejected the export fails permanently (exit 3), commits nothing and lists each reason."""
    st = episodes_store_core
    derive_run(
        st.storage, st.run, "r-all-bad", lambda m, a: _nan_state(m, a) if a is not None else (m, a)
    )
    code = run_stage(ExportStage(), export_env(st.storage, "r-all-bad", "all-bad"))
    assert code == ExitCode.PERMANENT
    unit = Unit(st.scene, "r-all-bad", "export", dataset="all-bad")
    assert load_record(st.storage, unit) is None
    (marker,) = list_markers(st.storage, unit)
    assert "no episode is left to export: 2 rejected" in marker.message
    assert all("NaN" in p for p in marker.problems)


def test_a_dropped_video_frame_fails_the_export(
    episodes_store_core: EpisodesStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An encoder that loses one frame is caught by the packet check after encoding: the export fails and commits nothing."""
    st = episodes_store_core
    real_encode = encode_worker.encode_episode

    def lossy_encode(params: VideoParams, frames: np.ndarray) -> tuple[list[Any], Any]:
        return real_encode(params, frames[:-1])  # the caller believes it encoded them all

    monkeypatch.setattr(encode_worker, "encode_episode", lossy_encode)
    env = export_env(st.storage, st.run, "lossy", EXPORT_WORKERS="1")  # encoders in this process
    assert run_stage(ExportStage(), env) == ExitCode.PERMANENT
    unit = Unit(st.scene, st.run, "export", dataset="lossy")
    assert load_record(st.storage, unit) is None
    (marker,) = list_markers(st.storage, unit)
    assert "video files do not hold exactly the exported frames" in marker.message
    assert any(
        "videos/observation.images.scene/chunk-000/file-000.mp4" in p for p in marker.problems
    )
