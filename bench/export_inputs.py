"""Inputs of bench/export_bench.py: a store of committed episodes, scaled to several sizes.

* :func:`repeated_store` makes a ``file://`` store whose run holds every committed episode
  of a source run ``copies`` times (copy ``k`` of ``<id>`` is ``<id>-r<k>``; copy 0 keeps
  its id), committed through the commit protocol like the episodes stage commits them: the
  upstream stages' files are copied, the episode arrays are the same npz bytes. So a
  10,000-frame dataset is made of real recorded frames without simulating again.
* ``python bench/export_inputs.py --record DIR`` records the issue's fixture with the real
  stages (kitchen_counter, one episode of every pick-and-place task of variant v0000,
  128x128, 20 fps, tier core), the way ``/tmp/bpfix-core`` was made; the benchmark calls it
  when ``--store`` does not exist yet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCENE = "kitchen_counter"
RECORD_RUN = "r-bench"
UPSTREAM = ("ingest", "simready", "assemble", "variations", "tasks")
RECORD_TIMEOUT_S = 3600


def find_run(store: Path, scene: str) -> str:
    """The only run of ``scene`` with committed episode shards."""
    runs = sorted(
        {
            p.parents[3].name
            for p in (store / "scenes" / scene / "runs").glob("*/episodes/shards/*/_SUCCESS.json")
        }
    )
    if len(runs) != 1:
        raise SystemExit(
            f"expected one run with committed episodes under {store}, found {runs}: pass --run"
        )
    return runs[0]


def committed_episodes(store: Path, scene: str, run: str) -> list[dict[str, Any]]:
    """Every committed episode record of the run (shard then name order)."""
    out = []
    shards = store / "scenes" / scene / "runs" / run / "episodes" / "shards"
    for marker in sorted(shards.glob("*/_SUCCESS.json")):
        record = json.loads(marker.read_text())
        attempt = store / record["attempt_dir"]
        for rel in sorted(record["files"]):
            if rel.startswith("episodes/") and rel.endswith(".json"):
                out.append(json.loads((attempt / rel).read_text()))
    return out


def success_npz(store: Path, scene: str, run: str) -> list[Path]:
    """The npz file of every successful episode with data (shard then name order)."""
    out = []
    shards = store / "scenes" / scene / "runs" / run / "episodes" / "shards"
    for marker in sorted(shards.glob("*/_SUCCESS.json")):
        record = json.loads(marker.read_text())
        attempt = store / record["attempt_dir"]
        for rel in sorted(record["files"]):
            if rel.startswith("episodes/") and rel.endswith(".json"):
                meta = json.loads((attempt / rel).read_text())
                if meta.get("status") == "success" and meta.get("data_file"):
                    out.append(attempt / meta["data_file"])
    return out


def success_frames(store: Path, scene: str, run: str) -> tuple[int, int]:
    """(episodes, frames) of the run's successful episodes: what a core dataset holds."""
    metas = [m for m in committed_episodes(store, scene, run) if m.get("status") == "success"]
    return len(metas), sum(int(m["frames"]) for m in metas)


def repeated_store(src: Path, scene: str, run: str, dest: Path, copies: int) -> str:
    """Hard-link the scene into ``dest`` (plus a run of every episode ``copies`` times); its run."""
    shutil.copytree(src / "scenes" / scene, dest / "scenes" / scene, copy_function=os.link)
    if copies <= 1:
        return run
    from bp_sdk.commit import (  # noqa: PLC0415 - only the scaled sizes need the SDK
        AttemptRef,
        CommitRecord,
        OutputWriter,
        ShardRef,
        commit,
        now,
        outputs_digest,
        read_committed,
    )
    from bp_sdk.layout import Unit  # noqa: PLC0415
    from bp_sdk.storage import open_storage  # noqa: PLC0415

    storage = open_storage(dest.as_uri())
    new_run = f"{run}-x{copies}"

    def publish(unit: Unit, writer: OutputWriter, like: CommitRecord) -> None:
        data = like.model_dump(by_alias=True)
        data.update(
            run_id=new_run,
            shard=ShardRef(index=0, count=1) if unit.shard_index is not None else None,
            attempt=AttemptRef(execution="bench", attempt=0, attempt_id=writer.attempt_id),
            attempt_dir=writer.dir,
            files=dict(writer.files),
            outputs_digest=outputs_digest(writer.files),
            committed_at=now(),
        )
        commit(storage, CommitRecord.model_validate(data), unit)

    for stage in UPSTREAM:
        for src_unit in read_committed(storage, scene, run, stage):
            unit = Unit(scene, new_run, stage)
            writer = OutputWriter(storage, unit, "bench-a0")
            for name in sorted(src_unit.record.files):
                writer.write_bytes(name, src_unit.read_bytes(name))
            publish(unit, writer, src_unit.record)
    shards = read_committed(storage, scene, run, "episodes")
    unit = Unit(scene, new_run, "episodes", 0, 1)
    writer = OutputWriter(storage, unit, "bench-a0")
    for shard in shards:
        for name in sorted(shard.record.files):
            if not (name.startswith("episodes/") and name.endswith(".json")):
                continue
            meta = json.loads(shard.read_bytes(name))
            data = shard.read_bytes(meta["data_file"]) if meta.get("data_file") else None
            for k in range(copies):
                eid = meta["episode_id"] if k == 0 else f"{meta['episode_id']}-r{k}"
                copy = {**meta, "episode_id": eid}
                if data is not None:
                    copy["data_file"] = f"episodes/{eid}.npz"
                    writer.write_bytes(copy["data_file"], data)
                writer.write_bytes(f"episodes/{eid}.json", json.dumps(copy, indent=2).encode())
    publish(unit, writer, shards[0].record)
    return new_run


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def record_store(dest: Path, timeout_s: float = RECORD_TIMEOUT_S) -> None:
    """Record the fixture into ``dest`` with the stages' console scripts (exit on failure)."""
    shutil.copytree(REPO / "examples" / "scenes" / SCENE, dest / "scenes" / SCENE / "input")
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env.update(
        {
            "STORAGE_URI": dest.as_uri(),
            "SCENE_ID": SCENE,
            "RUN_ID": RECORD_RUN,
            "LOG_FORMAT": "json",
            "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"),
            "VARIATIONS_COUNT": "1",
            "EPISODES_TASKS": "pick_place",
            "EPISODES_PER_TASK": "1",
            "EPISODES_MAX_VARIANTS": "1",
            "EPISODES_RESOLUTION": "128",
            "EPISODES_FPS": "20",
            "EPISODES_TIER": "core",
            "EPISODES_MIN_SUCCESS_RATE": "0",
        }
    )
    for stage in (*UPSTREAM, "episodes"):
        print(f"export_inputs: recording: bp-{stage}", file=sys.stderr)
        proc = subprocess.run(
            [_tool(f"bp-{stage}")],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"bp-{stage} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def main() -> int:
    """``--record DIR``: record the fixture store (refuses an existing folder)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--record", type=Path, required=True, help="store folder to create")
    ap.add_argument("--timeout", type=float, default=RECORD_TIMEOUT_S)
    args = ap.parse_args()
    if args.record.exists():
        raise SystemExit(f"{args.record} exists; remove it or pass it to the benchmark as --store")
    args.record.mkdir(parents=True)
    record_store(args.record, args.timeout)
    episodes, frames = success_frames(args.record, SCENE, RECORD_RUN)
    print(json.dumps({"store": str(args.record), "episodes": episodes, "frames": frames}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
