"""Running ``bp`` and the workflows end to end on real scenes, small settings."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bp_sdk.storage import Storage

from tests.conftest import script

# the smallest real run: one variant, one pick-and-place episode per task, 64² frames
SMALL = {
    "VARIATIONS_COUNT": "1",
    "EPISODES_PER_TASK": "1",
    "EPISODES_MAX_VARIANTS": "1",
    "EPISODES_TASKS": "pick_place,push",
    "EPISODES_RESOLUTION": "64",
    "EPISODES_MIN_SUCCESS_RATE": "0",
}
LOOSE_GATE_KEY = "configs/gate/loose-e2e.json"
LOOSE_GATE = {
    "version": "loose-e2e",
    "description": "end-to-end tests: tiny datasets pass, so delivery is exercised",
    "thresholds": {
        "min_success_rate": 0.0,
        "max_collision_rate": 1.0,
        "min_mean_quality_score": 0.0,
        "min_episodes_per_task": 1,
        "min_distinct_instructions": 1,
        "min_distinct_variants": 1,
        "max_rejected_fraction": 1.0,
    },
}


def put_loose_gate(storage: Storage) -> dict[str, str]:
    """Store the loose gate config; the --set value that selects it."""
    storage.write_bytes(LOOSE_GATE_KEY, json.dumps(LOOSE_GATE).encode())
    return {"GATE_CONFIG": LOOSE_GATE_KEY}


@dataclass
class Ran:
    """A finished ``bp`` process."""

    code: int
    out: str
    err: str


def bp(*args: str, cwd: Path, timeout: float = 1800, settings: dict[str, str] | None = None) -> Ran:
    """Run ``bp`` in ``cwd`` (where its ./bp-logs go) with ``--set`` values appended."""
    argv = [script("bp"), *args]
    for key, value in (settings or {}).items():
        argv += ["--set", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "FORCE_COLOR"}}
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def broken_scene(folder: Path) -> Path:
    """A scene folder whose blueprint ingest refuses permanently (an object of zero size)."""
    folder.mkdir(parents=True)
    blueprint = {
        "schema_version": "1",
        "name": folder.name,
        "units": "m",
        "up_axis": "z",
        "objects": [
            {"id": "a", "category": "mug", "size": [0, 1, 1], "pose": {"position": [0, 0, 0]}}
        ],
    }
    (folder / "scene.json").write_text(json.dumps(blueprint))
    return folder
