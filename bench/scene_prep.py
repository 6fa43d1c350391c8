"""The benchmarks' scene: kitchen_counter taken through the real stages up to ``tasks`` in a
temporary ``file://`` store (shared by episodes_bench.py and warp_bench.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

SCENE = "kitchen_counter"
RUN = "bench"


def prepare_kitchen_counter(prefix: str) -> tuple[str, str, str]:
    """Storage URI, scene id and run id of a fresh store prepared up to ``tasks``."""
    from bp_assemble.stage import AssembleStage  # noqa: PLC0415
    from bp_ingest.stage import IngestStage  # noqa: PLC0415
    from bp_sdk.runner import run_stage  # noqa: PLC0415
    from bp_sdk.storage import join, open_storage  # noqa: PLC0415
    from bp_simready.stage import SimreadyStage  # noqa: PLC0415
    from bp_tasks.stage import TasksStage  # noqa: PLC0415
    from bp_variations.stage import VariationsStage  # noqa: PLC0415

    root = Path(tempfile.mkdtemp(prefix=prefix))
    st = open_storage(root.as_uri())
    src = Path(__file__).resolve().parents[1] / "examples" / "scenes" / SCENE
    for p in sorted(src.rglob("*")):
        if p.is_file():
            st.write_bytes(
                join(f"scenes/{SCENE}/input", p.relative_to(src).as_posix()), p.read_bytes()
            )
    env = {
        "STORAGE_URI": st.uri,
        "SCENE_ID": SCENE,
        "RUN_ID": RUN,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "VARIATIONS_COUNT": "1",
        "PATH": os.environ.get("PATH", ""),
    }
    for stage in (IngestStage(), SimreadyStage(), AssembleStage(), VariationsStage(), TasksStage()):
        if run_stage(stage, env) != 0:
            shutil.rmtree(root, ignore_errors=True)  # nothing half-prepared is left behind
            sys.exit(f"preparing the scene failed at {stage.name}")
    return st.uri, SCENE, RUN
