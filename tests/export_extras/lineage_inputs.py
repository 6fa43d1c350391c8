"""Upstream documents for lineage tests: real commit records, assembly, manifest and MJCF."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bp_contracts.assembly import Assembly
from bp_contracts.scene_manifest import SceneManifest
from bp_contracts.stages import RUN_STAGES, SHARDED_STAGES
from bp_export.lineage import SourceLineage
from bp_sdk.commit import (
    AttemptRef,
    CommitRecord,
    FileEntry,
    OutputWriter,
    ShardRef,
    commit,
    inputs_digest,
    outputs_digest,
)
from bp_sdk.layout import Unit
from bp_sdk.storage import Storage

SECRET_URI = "file:///home/someone/private-bucket"
MJCF = """<mujoco model="scene">
  <compiler angle="radian"/>
  <option impratio="10" integrator="implicitfast" cone="elliptic"/>
  <worldbody><body name="a"><geom size="0.1"/></body></worldbody>
  <actuator>
    <general name="robot/actuator1" joint="robot/joint1" ctrlrange="-2.8973 2.8973" forcerange="-87 87" gainprm="4500" biasprm="0 -4500 -450"/>
    <general name="robot/gripper" tendon="robot/grip" ctrlrange="0 0.04" forcerange="-140 140" gainprm="1000" biasprm="0 -1000 -100"/>
  </actuator>
</mujoco>
"""


def assembly(scene_id: str = "scene_a", mujoco_version: str = "4.0.0") -> Assembly:
    """An assembly.json like assemble writes."""
    return Assembly.model_validate(
        {
            "schema": "bp.assembly/v1",
            "scene_id": scene_id,
            "simready_sha256": "0" * 64,
            "timestep_s": 0.002,
            "robot": {
                "robot": "franka_panda",
                "base_position_m": [0.0, -0.6, 0.0],
                "yaw_deg": 90.0,
                "pedestal_height_m": 0.81,
                "home_qpos": [0.0] * 9,
                "source": {
                    "package": "robosuite",
                    "version": "1.5.2",
                    "files": ["robots/panda/robot.xml", "grippers/panda_gripper.xml"],
                    "license": "MIT",
                },
                "placed_by": "blueprint",
            },
            "cameras": [],
            "lights": [],
            "mujoco_version": mujoco_version,
            "files": {"mjcf": "scene.xml"},
        }
    )


def manifest(scene_id: str = "scene_a", license_: str | None = "CC0-1.0") -> SceneManifest:
    """A scene manifest with one meshed object."""
    obj = {
        "id": "mug",
        "category": "mug",
        "known_category": True,
        "role": "object",
        "graspable": True,
        "static": False,
        "size_m": [0.08, 0.08, 0.1],
        "position_m": [0.0, 0.0, 0.95],
        "orientation_wxyz": [1.0, 0.0, 0.0, 0.0],
        "support": "floor",
        "material": "ceramic",
        "mesh": "meshes/mug.obj",
        "mesh_sha256": "a" * 64,
    }
    return SceneManifest.model_validate(
        {
            "schema": "bp.scene_manifest/v1",
            "scene_id": scene_id,
            "name": "Test scene",
            "license": license_,
            "blueprint_sha256": "b" * 64,
            "calibration": {
                "source_units": "m",
                "unit_factor": 1.0,
                "source_up_axis": "z",
                "axis_conversion": None,
                "median_prior_ratio": None,
                "scene_scale": 1.0,
            },
            "object_count": 1,
            "objects": [obj],
        }
    )


def record(
    stage: str,
    *,
    scene_id: str = "scene_a",
    run_id: str = "r-1",
    shard: tuple[int, int] | None = None,
    files: dict[str, FileEntry] | None = None,
    seeds: dict[str, int] | None = None,
    code: dict[str, str] | None = None,
    attempt: int = 0,
) -> CommitRecord:
    """A commit record of ``stage`` with infra settings that must never leak into lineage."""
    files = files or {"out.json": FileEntry(size=2, sha256="c" * 64)}
    params = {f"{stage.upper()}_SEED": 7}
    inputs = {"upstream": "d" * 64}
    return CommitRecord(
        stage=stage,
        scene_id=scene_id,
        run_id=run_id,
        shard=ShardRef(index=shard[0], count=shard[1]) if shard else None,
        attempt=AttemptRef(execution="exec-1", attempt=attempt, attempt_id=f"exec-1-a{attempt}"),
        attempt_dir=f"scenes/{scene_id}/runs/{run_id}/{stage}/attempts/exec-1-a{attempt}",
        files=files,
        outputs_digest=outputs_digest(files),
        inputs=inputs,
        inputs_digest=inputs_digest(stage, inputs, params),
        params=params,
        settings={"STORAGE_URI": SECRET_URI, "SCENE_ID": scene_id, **params},
        code=code
        or {
            "package": f"bp-{stage}",
            "version": "0.1.0",
            "sdk_version": "0.1.0",
            "revision": "abc123",
        },
        seeds=seeds or {},
        committed_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    )


def commit_files(
    storage: Storage,
    stage: str,
    files: dict[str, bytes],
    *,
    scene_id: str = "scene_a",
    run_id: str = "r-1",
    shard: tuple[int, int] | None = None,
    seeds: dict[str, int] | None = None,
) -> CommitRecord:
    """Write ``files`` through the SDK's OutputWriter and commit them (the real protocol)."""
    unit = Unit(scene_id, run_id, stage, *(shard or (None, None)))
    out = OutputWriter(storage, unit, "exec-1-a0")
    for name, data in files.items():
        out.write_bytes(name, data)
    rec = record(stage, scene_id=scene_id, run_id=run_id, shard=shard, seeds=seeds)
    rec = rec.model_copy(
        update={
            "files": out.files,
            "outputs_digest": outputs_digest(out.files),
            "attempt_dir": unit.attempt_dir("exec-1-a0"),
        }
    )
    return commit(storage, rec)


def export_code() -> dict[str, Any]:
    """Export's own code block."""
    return {
        "package": "bp-export",
        "version": "0.2.0",
        "sdk_version": "0.1.0",
        "revision": "abc123",
    }


UPSTREAM = tuple(s for s in RUN_STAGES if s not in SHARDED_STAGES)  # the stages before episodes


def source_lineage(scene: str = "scene_a", run: str = "r-1", **kw: Any) -> SourceLineage:
    """A complete source: every stage's record (episodes in 2 shards), assembly, manifest, MJCF."""
    seeds = kw.pop("seeds", {})
    stages: dict[str, Any] = {s: [record(s, scene_id=scene, run_id=run)] for s in UPSTREAM}
    stages["episodes"] = [
        record("episodes", scene_id=scene, run_id=run, shard=(i, 2), seeds=seeds, attempt=i)
        for i in (1, 0)
    ]
    return SourceLineage(
        scene,
        run,
        stages,
        kw.pop("assembly", assembly(scene)),
        kw.pop("manifest", manifest(scene)),
        kw.pop("mjcf", MJCF),
    )
