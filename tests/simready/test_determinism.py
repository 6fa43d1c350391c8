"""Same inputs and settings → byte-identical outputs, in-process and through the console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from bp_sdk.storage import Storage, open_storage

from tests.conftest import EXAMPLE_SCENES, EXAMPLES, job_env, put_scene, script
from tests.simready._support import Chain, chain


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_two_runs_commit_byte_identical_outputs(
    scene: str, examples: dict[str, Chain], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second run (other storage, other run id) commits the same files with equal sha256 in both commit records."""
    first = examples[scene]
    storage = open_storage(tmp_path_factory.mktemp(f"sr_again_{scene}").as_uri())
    second = chain(storage, scene, EXAMPLES / scene, run_id="r2")
    assert second.code == 0, second.failure_text()
    r1, r2 = first.record(), second.record()
    assert r1.run_id == "r1" and r2.run_id == "r2"
    assert r1.files == r2.files
    assert r1.outputs_digest == r2.outputs_digest
    assert r1.inputs_digest == r2.inputs_digest
    assert r1.seeds == r2.seeds
    assert first.committed().read_bytes("simready_manifest.json") == second.committed().read_bytes(
        "simready_manifest.json"
    )


def test_mesh_scene_records_its_decomposition_seed(examples: dict[str, Chain]) -> None:
    """The CoACD seed is derived from the scene and configuration and recorded in the commit record."""
    seeds = examples["kitchen_counter"].record().seeds
    assert list(seeds) == ["coacd:meshes/mug.obj"]
    assert 0 <= seeds["coacd:meshes/mug.obj"] < 2**31


def run_script(name: str, storage: Storage, scene: str) -> subprocess.CompletedProcess[str]:
    """Run a stage's console script as its own process."""
    return subprocess.run(
        [script(name)],
        env=job_env(storage, scene),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """The JSON log lines of a job."""
    return [json.loads(x) for x in stderr.splitlines() if x.startswith("{")]


def test_console_script_after_bp_ingest(tmp_path: Path, examples: dict[str, Chain]) -> None:
    """bp-ingest then bp-simready as processes commit the kitchen scene, byte-identical to the in-process run; a re-run skips."""
    storage = open_storage((tmp_path / "store").as_uri())
    put_scene(storage, "kitchen_counter", EXAMPLES / "kitchen_counter")
    ingest = run_script("bp-ingest", storage, "kitchen_counter")
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    proc = run_script("bp-simready", storage, "kitchen_counter")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = json_lines(proc.stderr)
    assert lines and all(x["logging.googleapis.com/labels"]["job"] == "bp-simready" for x in lines)
    assert any("mesh meshes/mug.obj: 1 convex hulls" in x["message"] for x in lines)
    done = Chain(storage, "kitchen_counter", "r1", 0, 0)
    assert done.record().files == examples["kitchen_counter"].record().files
    again = run_script("bp-simready", storage, "kitchen_counter")
    assert again.returncode == 0 and "skipping" in again.stderr
