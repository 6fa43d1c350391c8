"""workflows/batch.yaml with the real jobs: two example scenes plus a broken blueprint, two
batches started at the same moment — each good scene delivered exactly once, the broken one
reported with its reason, no lease left behind."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from bp_sdk.layout import LEASE
from bp_sdk.storage import open_storage

from tests.conftest import EXAMPLES
from tests.orchestration.support import SMALL, Ran, bp, broken_scene, put_loose_gate

pytestmark = pytest.mark.slow
# two good scenes with 3 and 1 episodes under SMALL (kitchen_counter and cluttered_tabletop
# would add 17): with the broken one, three scenes for two batches of concurrency 2 still
# overlap on every scene. kitchen_counter goes end to end in test_pipeline_flow.py, every
# example scene through each stage's example tests.
SCENES = ("office_desk", "pantry_shelf")


def test_two_overlapping_batches_deliver_each_scene_once(tmp_path: Path) -> None:
    """Two batches over the same scenes at once: every good scene delivered by exactly one
    of them (the other skips it: done or leased), the broken scene failed with its reason,
    and no _LEASE.json remains."""
    scenes = tmp_path / "scenes"
    for name in SCENES:
        shutil.copytree(EXAMPLES / name, scenes / name)
    broken_scene(scenes / "broken_scene")
    root = tmp_path / "store"
    storage = open_storage(root.as_uri())
    settings = {**SMALL, **put_loose_gate(storage)}
    upload = bp(
        "run",
        "--batch",
        str(scenes),
        "--storage",
        root.as_uri(),
        "--until",
        "ingest",
        cwd=tmp_path,
        settings=settings,
    )
    assert upload.code == 1, upload.err[-3000:]  # the broken scene fails ingest already
    runs: dict[str, Ran] = {}

    def batch(name: str) -> None:
        runs[name] = bp(
            "run",
            "--batch",
            root.as_uri(),
            "--concurrency",
            "2",
            "--tasks",
            "1",
            cwd=tmp_path / name,
            settings=settings,
        )

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    threads = [threading.Thread(target=batch, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses: dict[str, list[dict[str, str]]] = {}
    for name, ran in runs.items():
        rows = json.loads(ran.out)["scenes"]
        failed = any(row["status"] == "failed" for row in rows)
        assert ran.code == (1 if failed else 0), f"batch {name}: {ran.err[-3000:]}"
        for row in rows:
            statuses.setdefault(row["scene_id"], []).append(row)
    for scene in SCENES:
        got = sorted(r["status"] for r in statuses[scene])
        assert got in (["delivered", "skipped_done"], ["delivered", "skipped_leased"]), (
            f"{scene}: {statuses[scene]}"
        )
        (run,) = storage.list_dirs(f"scenes/{scene}/runs/")
        assert (root / "deliveries" / "internal" / f"{scene}-{run}" / "_DELIVERY.json").is_file()
    broken = statuses["broken_scene"]
    assert {r["status"] for r in broken} <= {"failed", "skipped_leased"}, broken
    assert any(
        r["status"] == "failed" and r["stage"] == "ingest" and "InputError" in r["message"]
        for r in broken
    )
    assert not list(root.rglob(LEASE)), "a lease was left behind"
