"""Sources: a dataset spec merges scene runs recorded alike; anything else is a clear error."""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq
import pytest
from bp_export.stage import ExportStage
from bp_sdk.errors import ExitCode
from bp_sdk.layout import Unit
from bp_sdk.markers import list_markers
from bp_sdk.runner import run_stage

from tests.datasets import EpisodesStore, derive_run, export_dataset, export_env, read_episodes

# the session fixtures (real upstream stages + episodes) are charged to the first test using them
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _spec(st: EpisodesStore, name: str, sources: list[tuple[str, str]], **extra: Any) -> str:
    key = f"specs/{name}.json"
    doc = {
        "schema": "bp.dataset_spec/v1",
        "sources": [{"scene_id": s, "run_id": r} for s, r in sources],
        **extra,
    }
    st.storage.write_bytes(key, json.dumps(doc).encode())
    return key


def _marker(st: EpisodesStore, run: str, dataset: str) -> Any:
    (marker,) = list_markers(st.storage, Unit(st.scene, run, "export", dataset=dataset))
    return marker


def test_spec_merges_two_runs(episodes_store_core: EpisodesStore) -> None:
    """Two runs of the same scene listed in a spec become one dataset: every episode once, tasks shared, provenance kept."""
    st = episodes_store_core
    derive_run(st.storage, st.run, "r-merge-2")
    key = _spec(st, "merged", [(st.scene, st.run), (st.scene, "r-merge-2")])
    ds = export_dataset(st.storage, st.run, "merged", EXPORT_SPEC=key)
    n = len(read_episodes(st.storage, st.scene, st.run))
    eps = pq.read_table(ds.root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert len(eps) == 2 * n
    assert sorted({(e["run_id"], e["episode_id"]) for e in eps}) == sorted(
        {
            (r, eid)
            for r in (st.run, "r-merge-2")
            for eid, _ in read_episodes(st.storage, st.scene, st.run)
        }
    )
    info = json.loads((ds.root / "meta/info.json").read_bytes())
    tasks = pq.read_table(ds.root / "meta/tasks.parquet")["__index_level_0__"].to_pylist()
    assert info["total_tasks"] == len(tasks) == len({e["tasks"][0] for e in eps})
    assert ds.record.summary["sources"] == [f"{st.scene}/{st.run}", f"{st.scene}/r-merge-2"]
    assert set(ds.record.inputs) >= {
        f"episodes:{st.scene}/{st.run}",
        f"episodes:{st.scene}/r-merge-2",
        "spec",
    }


def test_sources_recorded_differently_are_refused(episodes_store_core: EpisodesStore) -> None:
    """Sources that disagree (here fps and resolution) stop the export with one config error naming each difference."""
    st = episodes_store_core
    derive_run(
        st.storage, st.run, "r-other-rate", lambda m, a: ({**m, "fps": 10, "resolution": 96}, a)
    )
    key = _spec(st, "mixed", [(st.scene, st.run), (st.scene, "r-other-rate")])
    code = run_stage(ExportStage(), export_env(st.storage, st.run, "mixed", EXPORT_SPEC=key))
    assert code == ExitCode.CONFIG
    marker = _marker(st, st.run, "mixed")
    text = " ".join(marker.problems)
    assert (
        "fps: sources disagree: 10 in kitchen_counter/r-other-rate; 20 in kitchen_counter/r1"
        in text
    )
    assert "resolution: sources disagree" in text


def test_tier_must_match_the_recording(episodes_store_core: EpisodesStore) -> None:
    """Asking tier full of core recordings is a config error saying what was recorded."""
    st = episodes_store_core
    code = run_stage(
        ExportStage(), export_env(st.storage, st.run, "wrong-tier", EXPORT_TIER="full")
    )
    assert code == ExitCode.CONFIG
    marker = _marker(st, st.run, "wrong-tier")
    assert any(
        "EXPORT_TIER: is 'full' but the episodes were recorded at tier 'core'" in p
        for p in marker.problems
    )


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"schema": "bp.dataset_spec/v1", "sources": []}, "$.sources"),
        (
            {"schema": "bp.dataset_spec/v2", "sources": [{"scene_id": "a", "run_id": "b"}]},
            "$.schema",
        ),
        (
            {"schema": "bp.dataset_spec/v1", "sources": [{"scene_id": "../x", "run_id": "b"}]},
            "$.sources[0].scene_id",
        ),
        (
            {
                "schema": "bp.dataset_spec/v1",
                "sources": [{"scene_id": "a", "run_id": "b"}],
                "extra": 1,
            },
            "$.extra",
        ),
        (
            {"schema": "bp.dataset_spec/v1", "sources": [{"scene_id": "a", "run_id": "b"}] * 2},
            "listed more than once",
        ),
    ],
)
def test_bad_spec_is_a_config_error(
    episodes_store_core: EpisodesStore, doc: dict[str, Any], expected: str
) -> None:
    """An invalid spec stops the export before any work (exit 2), naming the JSON path at fault."""
    st = episodes_store_core
    st.storage.write_bytes("specs/bad.json", json.dumps(doc).encode())
    code = run_stage(
        ExportStage(), export_env(st.storage, st.run, "bad-spec", EXPORT_SPEC="specs/bad.json")
    )
    assert code == ExitCode.CONFIG
    unit = Unit(st.scene, st.run, "export", dataset="bad-spec")
    problems = " ".join(p for m in list_markers(st.storage, unit) for p in m.problems)
    assert expected in problems


def test_missing_spec_and_missing_source(episodes_store_core: EpisodesStore) -> None:
    """A spec key with no object is a config error; a source run without committed episodes is a permanent error."""
    st = episodes_store_core
    env = export_env(st.storage, st.run, "no-spec", EXPORT_SPEC="specs/nowhere.json")
    assert run_stage(ExportStage(), env) == ExitCode.CONFIG
    key = _spec(st, "ghost", [(st.scene, st.run), (st.scene, "r-never-ran")])
    assert (
        run_stage(ExportStage(), export_env(st.storage, st.run, "ghost", EXPORT_SPEC=key))
        == ExitCode.PERMANENT
    )
    marker = _marker(st, st.run, "ghost")
    assert any(
        "kitchen_counter/r-never-ran: has no committed episodes stage" in p for p in marker.problems
    )


def test_new_inputs_need_a_new_dataset_id(episodes_store_core: EpisodesStore) -> None:
    """A dataset id already committed from other episodes is never overwritten (permanent error)."""
    st = episodes_store_core
    derive_run(
        st.storage,
        st.run,
        "r-reuse",
        lambda m, a: (m, a) if m["episode_id"].endswith("000") else None,
    )
    export_dataset(st.storage, st.run, "reused-id")
    env = export_env(st.storage, "r-reuse", "reused-id")
    assert run_stage(ExportStage(), env) == ExitCode.PERMANENT
