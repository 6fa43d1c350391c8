"""meta/lineage.json: sources, code versions, inputs, robot, licenses, simulator, physics, seeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bp_contracts.episode import SimulatorInfo
from bp_export.lineage import SourceLineage, collect_source, physics_from_mjcf
from bp_export.lineage_doc import build_lineage
from bp_export.sources import ExportEpisode
from bp_sdk.digest import sha256_json
from bp_sdk.errors import PermanentError
from bp_sdk.storage import open_storage

from tests.export_extras import lineage_inputs as li
from tests.export_extras.builders import make_record

STAGES = li.UPSTREAM


def _source(scene: str = "scene_a", run: str = "r-1", **kw: Any) -> SourceLineage:
    return li.source_lineage(scene, run, **kw)


def _episodes(scene: str = "scene_a", run: str = "r-1", start: int = 0) -> list[ExportEpisode]:
    return [
        make_record(
            start + i, scene_id=scene, run_id=run, seed=100 + start + i, episode_id=f"{scene}-ep{i}"
        )
        for i in range(2)
    ]


def _build(
    sources: list[SourceLineage], episodes: list[ExportEpisode], **kw: Any
) -> dict[str, Any]:
    args: dict[str, Any] = {
        "dataset_id": "ds-test",
        "sources": sources,
        "episodes": episodes,
        "dataset_license": "CC-BY-4.0",
        "export_code": li.export_code(),
        "export_params": {"EXPORT_TIER": "core"},
        "export_settings_digest": "e" * 64,
        "gate_config_version": "gate-thresholds/v3",
        "created_at": datetime(2026, 11, 23, tzinfo=UTC),
    }
    args.update(kw)
    return build_lineage(**args)


def test_every_source_stage_record_is_summarised_without_settings() -> None:
    """Each stage's attempt, code, inputs, digests and params are kept; settings only as a digest."""
    src = _source(seeds={"scene_a-ep0": 100, "scene_a-ep1": 101})
    lin = _build([src], _episodes())
    text = json.dumps(lin, allow_nan=False)
    assert li.SECRET_URI not in text
    (r,) = lin["reproducible"]["sources"]
    assert (r["scene_id"], r["run_id"], r["episodes"]) == ("scene_a", "r-1", 2)
    (s,) = lin["provenance"]["sources"]
    assert list(s["stages"]) == [*STAGES, "episodes"]
    shards = s["stages"]["episodes"]
    assert [e["shard"] for e in shards] == ["0/2", "1/2"]  # sorted by shard
    rec = src.stages["episodes"][1]  # shard 0
    assert shards[0]["attempt"] == rec.attempt.model_dump()
    assert shards[0]["code"] == rec.code
    assert shards[0]["inputs"] == rec.inputs and shards[0]["inputs_digest"] == rec.inputs_digest
    assert shards[0]["settings_digest"] == sha256_json(rec.settings)
    assert shards[0]["params"] == {"EPISODES_SEED": 7}
    inputs = lin["provenance"]["inputs"]
    assert inputs["episodes:scene_a/r-1"] == sha256_json(
        [r.outputs_digest for r in sorted(src.stages["episodes"], key=lambda r: r.shard.index)]  # type: ignore[union-attr]
    )
    assert inputs["assemble:scene_a/r-1"] == src.stages["assemble"][0].outputs_digest


def test_code_versions_image_digests_gate_and_export() -> None:
    """Per-stage code versions, image digests (records and export), gate config and export settings."""
    src = _source()
    tagged = li.record("tasks", code={"package": "bp-tasks", "version": "0.3.0", "sdk_version": "0.1.0",
                                      "revision": "abc123", "image_digest": "sha256:" + "1" * 64})  # fmt: skip
    src.stages["tasks"].append(tagged)  # type: ignore[attr-defined]
    lin = _build([src], _episodes(), image_digest="sha256:" + "2" * 64)
    code, prov = lin["reproducible"]["code"], lin["provenance"]
    assert {c["version"] for c in code["tasks"]} == {"0.1.0", "0.3.0"}
    assert code["ingest"] == [{"package": "bp-ingest", "version": "0.1.0", "sdk_version": "0.1.0"}]
    assert code["export"] == [{"package": "bp-export", "version": "0.2.0", "sdk_version": "0.1.0"}]
    assert set(prov["revisions"]) == {"export", *STAGES, "episodes"}
    assert all(v == ["abc123"] for v in prov["revisions"].values())
    assert prov["image_digests"] == {
        "export": ["sha256:" + "2" * 64],
        "tasks": ["sha256:" + "1" * 64],
    }
    assert prov["export"]["code"]["version"] == "0.2.0"
    assert lin["gate"]["config_version"] == "gate-thresholds/v3"
    assert "the gate stage, after export" in lin["gate"]["decided_by"]
    assert lin["reproducible"]["export"]["params"] == {"EXPORT_TIER": "core"}
    assert prov["export"]["settings_digest"] == "e" * 64
    assert prov["created_at"] == "2026-11-23T00:00:00+00:00"
    assert not any("image digests" in g for g in lin["gaps"])


def test_missing_image_digests_and_revision_are_reported_as_gaps() -> None:
    """No image digest anywhere and an unknown revision are gaps, not silence."""
    src = _source()
    lin = _build([src], _episodes(), export_code={**li.export_code(), "revision": "unknown"})
    assert any("no container image digests" in g for g in lin["gaps"])
    assert any("BUILD_REVISION" in g for g in lin["gaps"])
    assert lin["provenance"]["revisions"]["export"] == [
        "not recorded (built outside an image: BUILD_REVISION was not set by the build or the caller)"
    ]


def test_robot_simulator_and_physics_come_from_assemble() -> None:
    """Robot model source and license, MuJoCo version, timestep, integrator and gripper gains."""
    lin = _build([_source()], _episodes())["reproducible"]
    assert lin["robot"]["model"] == ["franka_panda"]
    assert lin["robot"]["source"]["package"] == "robosuite" and lin["robot"]["licenses"] == ["MIT"]
    assert lin["simulator"]["name"] == "mujoco" and lin["simulator"]["version"] == "4.0.0"
    phys = lin["physics"]
    assert phys["timestep_s"] == 0.002
    assert (phys["integrator"], phys["cone"], phys["impratio"]) == ("implicitfast", "elliptic", 10)
    assert phys["solver"] == "Newton"  # MuJoCo default, not set in the MJCF
    assert phys["gripper"]["kp"] == 1000 and phys["gripper"]["kv"] == 100.0
    assert phys["gripper"]["forcerange"] == [-140.0, 140.0]
    assert phys["gripper"]["gain_scale_vs_menagerie"] == 10.0
    assert phys["actuators"]["robot/actuator1"]["kp"] == 4500


def test_simulator_version_gap_unless_episodes_record_it() -> None:
    """Without an episode-recorded MuJoCo version lineage says so; with one, it uses it."""
    lin = _build([_source()], _episodes())
    assert any("does not record the MuJoCo version" in g for g in lin["gaps"])
    eps = _episodes()
    for e in eps:
        e.meta.simulator = SimulatorInfo(name="mujoco", version="4.0.1")
    lin = _build([_source()], eps)
    sim = lin["reproducible"]["simulator"]
    assert sim["version"] == "4.0.1" and sim["assemble_version"] == "4.0.0"
    assert not any("MuJoCo version" in g for g in lin["gaps"])


def test_licenses_and_their_gaps() -> None:
    """Dataset, robot and blueprint licenses are recorded; a blueprint without one is a gap."""
    lin = _build([_source()], _episodes())
    lic = lin["reproducible"]["licenses"]
    assert lic["dataset"] == "CC-BY-4.0" and lic["robot_model"] == ["MIT"]
    (inp,) = lic["inputs"]
    assert inp["blueprint"]["license"] == "CC0-1.0"
    assert inp["assets"][0]["mesh"] == "meshes/mug.obj" and inp["assets"][0]["license"] == "CC0-1.0"
    assert any("no license of their own" in g for g in lin["gaps"])
    lin = _build([_source(manifest=li.manifest(license_=None))], _episodes())
    assert any("declares no license" in g for g in lin["gaps"])


def test_seeds_per_episode_and_contradictions() -> None:
    """Every episode's seed is listed; a seed differing from its shard record is refused."""
    src = _source(seeds={"scene_a-ep0": 100, "scene_a-ep1": 101})
    lin = _build([src], _episodes())
    assert [
        (s["dataset_index"], s["episode_id"], s["seed"]) for s in lin["reproducible"]["seeds"]
    ] == [
        (0, "scene_a-ep0", 100),
        (1, "scene_a-ep1", 101),
    ]
    bad = _source(seeds={"scene_a-ep0": 999})
    with pytest.raises(PermanentError, match="differs from its shard"):
        _build([bad], _episodes())


def test_episode_from_an_unlisted_source_is_refused() -> None:
    """An episode whose scene run is not among the sources cannot be given lineage."""
    with pytest.raises(PermanentError, match="not a listed source"):
        _build([_source()], _episodes(scene="scene_b"))


def test_multi_source_dataset_lists_each_run() -> None:
    """Two scene runs: both listed with their own entries; shared robot/physics at top level."""
    srcs = [_source("scene_a", "r-1"), _source("scene_b", "r-2")]
    eps = _episodes("scene_a", "r-1") + _episodes("scene_b", "r-2", start=2)
    lin = _build(srcs, eps)
    assert [(s["scene_id"], s["episodes"]) for s in lin["reproducible"]["sources"]] == [
        ("scene_a", 2),
        ("scene_b", 2),
    ]
    assert lin["episodes"] == 4
    assert lin["reproducible"]["physics"]["timestep_s"] == 0.002
    assert {"episodes:scene_a/r-1", "episodes:scene_b/r-2"} <= set(lin["provenance"]["inputs"])


def test_missing_upstream_pieces_become_gaps() -> None:
    """No MJCF, no assembly or an uncommitted stage are listed as gaps, not invented."""
    src = _source(mjcf=None)
    del src.stages["variations"]  # type: ignore[attr-defined]
    lin = _build([src], _episodes())
    assert any("stage variations has no commit record" in g for g in lin["gaps"])
    assert any("scene.xml) unavailable" in g for g in lin["gaps"])
    assert lin["reproducible"]["physics"] == {"timestep_s": 0.002}
    rep = _build([_source(assembly=None)], _episodes())["reproducible"]
    assert rep["physics"] is None and rep["robot"]["source"] is None


def test_reproducible_and_provenance_are_separate() -> None:
    """Two runs of the same inputs differ only in provenance: times, executions, attempts
    and upstream commit digests; the reproducible section (content digest included) and
    the gate block are equal, and no field is left null without a gap saying why."""
    src = _source(seeds={"scene_a-ep0": 100, "scene_a-ep1": 101})
    first = _build([src], _episodes(), content_digest="a" * 64, export_run={"execution": "x1"})
    again_src = _source(seeds={"scene_a-ep0": 100, "scene_a-ep1": 101})
    later = {"committed_at": datetime(2026, 12, 1, tzinfo=UTC)}  # the same stages, committed again
    for stage, recs in list(again_src.stages.items()):
        again_src.stages[stage] = [r.model_copy(update=later) for r in recs]  # type: ignore[index]
    again = _build(
        [again_src],
        _episodes(),
        content_digest="a" * 64,
        export_run={"execution": "x2"},
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert first["reproducible"] == again["reproducible"]
    assert first["gate"] == again["gate"] and first["gaps"] == again["gaps"]
    assert first["provenance"] != again["provenance"]
    assert first["reproducible"]["content_digest"] == "a" * 64
    assert set(first) == {
        "schema",
        "dataset_id",
        "episodes",
        "layout",
        "reproducible",
        "provenance",
        "gate",
        "gaps",
    }
    assert first["schema"] == "bp.lineage/v2"
    no_digest = _build([src], _episodes(), gate_config_version=None)
    assert any("content digest not computed" in g for g in no_digest["gaps"])
    assert no_digest["gate"] == {"decided_by": first["gate"]["decided_by"]}


def test_physics_from_mjcf_fills_mujoco_defaults() -> None:
    """Options the MJCF leaves out take MuJoCo's documented defaults."""
    p = physics_from_mjcf("<mujoco><option timestep='0.001'/></mujoco>")
    assert p["option"]["timestep"] == 0.001 and p["option"]["integrator"] == "Euler"
    assert p["option_set_explicitly"] == ["timestep"] and "gripper" not in p


def test_collect_source_reads_committed_files(tmp_path: Path) -> None:
    """collect_source reads records, assembly, MJCF and manifest through the commit protocol."""
    storage = open_storage(f"file://{tmp_path}")
    li.commit_files(
        storage,
        "ingest",
        {"scene_manifest.json": li.manifest().model_dump_json(by_alias=True).encode()},
    )
    li.commit_files(
        storage,
        "assemble",
        {
            "assembly.json": li.assembly().model_dump_json(by_alias=True).encode(),
            "scene.xml": li.MJCF.encode(),
        },
    )
    for i in range(2):
        li.commit_files(
            storage, "episodes", {f"episodes/e{i}.json": b"{}"}, shard=(i, 2), seeds={f"e{i}": i}
        )
    src = collect_source(storage, "scene_a", "r-1")
    assert sorted(src.stages) == ["assemble", "episodes", "ingest"]
    assert len(src.stages["episodes"]) == 2
    assert src.assembly is not None and src.assembly.mujoco_version == "4.0.0"
    assert src.scene_manifest is not None and src.scene_manifest.license == "CC0-1.0"
    assert src.mjcf == li.MJCF
    # a byte changed after commit is refused, not read
    xml = next(tmp_path.glob("scenes/scene_a/runs/r-1/assemble/attempts/*/scene.xml"))
    xml.write_text(li.MJCF.replace("implicitfast", "implicit    "))
    with pytest.raises(PermanentError, match="does not match its commit record"):
        collect_source(storage, "scene_a", "r-1")
