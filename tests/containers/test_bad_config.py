"""A job container with a bad configuration exits 2, says what is wrong and how to fix it,
and writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bp_sdk.storage import open_storage

from tests.conftest import EXAMPLES, put_scene
from tests.containers.conftest import image_for, open_to_container, run_job

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# every problem at once: a scene id that escapes, no run id, and one per job
BAD = {
    "ingest": (
        {"SCENE_ID": "../escape", "INGEST_OUTLIER_FACTOR": "-1"},
        ["SCENE_ID", "RUN_ID", "INGEST_OUTLIER_FACTOR"],
    ),
    "episodes": (
        {"SCENE_ID": "../escape", "EPISODES_FPS": "7", "MUJOCO_GL": "vulkan"},
        ["SCENE_ID", "RUN_ID", "EPISODES_FPS", "MUJOCO_GL"],
    ),
}


def tree(root: Path) -> list[tuple[str, int]]:
    """Every file and folder under ``root`` with its size (folders 0)."""
    return sorted(
        (p.relative_to(root).as_posix(), p.stat().st_size if p.is_file() else 0)
        for p in root.rglob("*")
    )


@pytest.mark.parametrize("job", sorted(BAD))
def test_bad_config_exits_2_and_writes_nothing(
    docker_engine: Any, storage_dir: Path, job: str
) -> None:
    """Exit 2; one error names every bad variable with a fix; no traceback; storage untouched."""
    image = image_for(docker_engine, job)
    put_scene(open_storage(storage_dir.as_uri()), "kitchen_counter", EXAMPLES / "kitchen_counter")
    open_to_container(storage_dir)
    before = tree(storage_dir)
    settings, named = BAD[job]
    done = run_job(image, storage_dir, settings, timeout=300)
    assert done.exit_code == 2, done.logs[-3000:]
    errors = [r for r in done.records() if r.get("severity") == "ERROR"]
    assert len(errors) == 1, done.logs
    message = errors[0]["message"]
    assert message.startswith(f"invalid configuration for {job}")
    for variable in named:
        assert f"- {variable}:" in message, f"{variable} not reported:\n{message}"
    assert "fix:" in message
    assert "Traceback" not in done.logs
    assert tree(storage_dir) == before
