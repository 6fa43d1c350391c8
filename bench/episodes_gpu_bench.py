"""End to end on one GPU: the episodes stage itself (``EPISODES_RUNNER=batched`` on MuJoCo
Warp) recording kitchen_counter episodes — simulated, rendered, deflated, written and
committed as shards — beside the bare MuJoCo Warp step+render loop at the same number of
worlds, in one run.

  python bench/episodes_gpu_bench.py --storage URI --scene kitchen_counter --run bench \\
      [--worlds 1024,4096] [--episodes-per-world 2] [--kernel-cache DIR] [--nondeterministic]
      [--bare-frames 30] [--out results.json]

Without ``--storage`` it prepares kitchen_counter with the real stages (bench/scene_prep.py).
Per world count: a fresh hard-linked copy of the prepared store; the stage runs in this
process (``bp_sdk.runner.run_stage``, as its job runs it) with 2 cameras at 128², 20 fps,
tier core, every task of variant v0000, ``--episodes-per-world`` × worlds episodes; then the
bare loop (``warp_bench.Bare``: a CUDA graph of the substeps, ``refit_bvh`` + ``render`` of
every camera, with and without copying the pixels to the host) for ``--bare-frames``
frames of seeded controls.

Printed per world count: recorded frames/s over the stage's episode loop (the stage's wall
time less its scene step: compose, compile, kernel load — and the first compile), the same
over the whole process call (with the commit), the bare rates, ours / bare, and where the
stage's time went (its commit summary's ``stage_seconds``: physics, observe, expert,
metrics, planning, resets, episode ends, deflate and write threads, waits).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # warp_bench, scene_prep


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _fresh_copy(uri: str, scene: str, dst: Path) -> str:
    """A hard-linked copy of the prepared store's scene (committed upstream, no episodes)."""
    src = Path(urlparse(uri).path) / "scenes" / scene
    shutil.copytree(src, dst / "scenes" / scene, copy_function=os.link)
    return dst.as_uri()


def _tasks(uri: str, scene: str, run: str) -> int:
    from bp_contracts.tasks import TaskSet  # noqa: PLC0415
    from bp_sdk.commit import require_committed  # noqa: PLC0415
    from bp_sdk.storage import open_storage  # noqa: PLC0415

    up = require_committed(open_storage(uri), scene, run, "tasks")
    return len(up.read_model("tasks.json", TaskSet).tasks)


def _stage_env(
    uri: str, scene: str, run: str, n: int, a: argparse.Namespace, procs: int
) -> dict[str, str]:
    """The episodes job's settings for ``n`` worlds in each of ``procs`` shard processes."""
    per_task = max(1, math.ceil(a.episodes_per_world * n * procs / _tasks(uri, scene, run)))
    writers = a.writers or (max(1, (os.cpu_count() or 2) // procs - 1) if procs > 1 else 0)
    return {
        "STORAGE_URI": uri,
        "SCENE_ID": scene,
        "RUN_ID": run,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "EPISODES_RUNNER": "batched",
        "EPISODES_BACKEND": "warp",
        "EPISODES_WORLDS": str(n),
        "EPISODES_PER_TASK": str(per_task),
        "EPISODES_RESOLUTION": str(a.resolution),
        "EPISODES_FPS": str(a.fps),
        "EPISODES_TIER": "core",
        "EPISODES_MIN_SUCCESS_RATE": "0",
        "EPISODES_WARP_DEVICE": a.device,
        "EPISODES_WARP_DETERMINISTIC": "false" if a.nondeterministic else "true",
        "EPISODES_WARP_KERNEL_CACHE": a.kernel_cache or "",
        "EPISODES_DEFLATE_LEVEL": str(a.deflate_level),
        "EPISODES_WRITERS": str(writers),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(Path.home())),
    }


def run_stage_once(
    uri: str, scene: str, run: str, n: int, a: argparse.Namespace, shard: tuple[int, int] = (0, 1)
) -> dict[str, Any]:
    """The episodes stage on ``n`` worlds (one shard ``k`` of ``count`` run by this process):
    wall times, frames, where the time went."""
    from bp_episodes.stage import EpisodesStage  # noqa: PLC0415
    from bp_sdk.commit import load_record  # noqa: PLC0415
    from bp_sdk.layout import Unit  # noqa: PLC0415
    from bp_sdk.runner import run_stage  # noqa: PLC0415
    from bp_sdk.storage import open_storage  # noqa: PLC0415

    k, count = shard
    env = _stage_env(uri, scene, run, n, a, count)
    if count > 1:
        env |= {"CLOUD_RUN_TASK_INDEX": str(k), "CLOUD_RUN_TASK_COUNT": str(count)}
    marks: dict[str, float] = {}

    class Timed(EpisodesStage):
        def run(self, ctx: Any) -> Any:
            marks["run_start"], marks["run_start_epoch"] = time.perf_counter(), time.time()
            try:
                return super().run(ctx)
            finally:
                marks["run_end"] = time.perf_counter()

    load = _loadavg()
    t0 = time.perf_counter()
    rc = run_stage(Timed(), env)
    t1 = time.perf_counter()
    if rc != 0:
        raise SystemExit(f"the episodes stage failed at {n} worlds (exit {rc})")
    unit = Unit(scene, run, "episodes", *((k, count) if count > 1 else (None, None)))
    record = load_record(open_storage(uri), unit)
    assert record is not None, f"no commit record for {unit}"
    summary = dict(record.summary)
    seconds = summary.pop("stage_seconds", {})
    scene_s = float(seconds.get("scene (compose, compile, open the backend)", {}).get("wall_s", 0))
    frames = int(summary["frames"])
    loop_s = marks["run_end"] - marks["run_start"] - scene_s
    return {
        "worlds": n,
        "episodes": summary["episodes"],
        "success_rate": summary["success_rate"],
        "per_task": summary.get("per_task"),
        "frames": frames,
        "loadavg_before": load,
        "process_s": round(t1 - t0, 3),
        "stage_run_s": round(marks["run_end"] - marks["run_start"], 3),
        "scene_s": round(scene_s, 3),
        "episode_loop_s": round(loop_s, 3),
        "commit_s": round(t1 - marks["run_end"], 3),
        "frames_per_s_loop": round(frames / loop_s, 1),
        "frames_per_s_process_less_scene": round(frames / (t1 - t0 - scene_s), 1),
        "stage_seconds": seconds,
        "shard_bytes": _bytes(Path(urlparse(uri).path)) if count == 1 else None,
        "epoch": {  # this process's episode loop and its commit, for the span of several
            "start": marks["run_start_epoch"] + scene_s,
            "end": marks["run_start_epoch"] + scene_s + loop_s,
            "committed": marks["run_start_epoch"] + (t1 - marks["run_start"]),
        },
    }


def run_processes(
    uri: str, scene: str, run: str, n: int, a: argparse.Namespace, procs: int
) -> dict[str, Any]:
    """``procs`` shard processes of the stage at once on the one GPU, ``n`` worlds each:
    the host's work (the expert, observation, deflating) spread over processes. Frames/s
    over the span from the first episode loop's start to the last loop's end (and to the
    last commit)."""
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from multiprocessing import get_context  # noqa: PLC0415

    with ProcessPoolExecutor(procs, mp_context=get_context("spawn")) as pool:
        shards = [(k, procs) for k in range(procs)]
        futures = [pool.submit(run_stage_once, uri, scene, run, n, a, s) for s in shards]
        rows = [f.result() for f in futures]
    start = min(r["epoch"]["start"] for r in rows)
    span = max(r["epoch"]["end"] for r in rows) - start
    committed = max(r["epoch"]["committed"] for r in rows) - start
    frames = sum(r["frames"] for r in rows)
    episodes = sum(r["episodes"] for r in rows)
    return {
        "worlds": n * procs,
        "processes": procs,
        "worlds_per_process": n,
        "episodes": episodes,
        "success_rate": sum(r["success_rate"] * r["episodes"] for r in rows) / episodes,
        "frames": frames,
        "loadavg_before": rows[0]["loadavg_before"],
        "episode_loop_s": round(span, 3),
        "frames_per_s_loop": round(frames / span, 1),
        "frames_per_s_process_less_scene": round(frames / committed, 1),
        "scene_s": max(r["scene_s"] for r in rows),
        "commit_s": max(r["commit_s"] for r in rows),
        "stage_seconds": rows[0]["stage_seconds"],  # shard 0's; every shard's in per_process
        "shard_bytes": _bytes(Path(urlparse(uri).path)),
        "per_process": rows,
    }


def _bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.npz"))


def bare_once(model: Any, n: int, a: argparse.Namespace) -> dict[str, Any]:
    """The bare mujoco_warp step+render loop (warp_bench.Bare) at ``n`` worlds."""
    import mujoco_warp as mjw  # noqa: PLC0415
    import warp as wp  # noqa: PLC0415
    from bp_episodes.warp_backend.batch import WarpOptions  # noqa: PLC0415
    from bp_episodes.warp_backend.runtime import open_device  # noqa: PLC0415
    from warp_bench import Bare, _controls, _time  # noqa: PLC0415

    device = open_device(a.device, a.kernel_cache)
    opts = WarpOptions(device=a.device, deterministic=not a.nondeterministic, kinds=("rgb",))
    sub = round(1.0 / (a.fps * model.opt.timestep))
    bare = Bare(wp, mjw, model, n, a.resolution, opts, device)
    with wp.ScopedDevice(device):
        bare.d.qpos.assign(np.tile(np.array(model.key("home").qpos), (n, 1)).astype(np.float32))
        mjw.forward(bare.m, bare.d)
    ctrls = _controls(model, n, a.bare_frames + 2, seed=n)
    out: dict[str, Any] = {}
    for name, host in (("bare step+render", False), ("bare step+render+to host", True)):

        def one(k: int, host: bool = host) -> None:
            bare.step(ctrls[k], sub)
            bare.render(host)

        one(0)  # graph capture and module load outside the clock
        s = _time(one, a.bare_frames, bare.sync)
        out[name] = round(n * a.bare_frames / s, 1)
    return out


def _compiled_model(uri: str, scene: str, run: str) -> Any:
    from warp_bench import _compose  # noqa: PLC0415

    return _compose(uri, scene, run)


def _print(row: dict[str, Any]) -> None:
    n = row["worlds"]
    procs = f" in {row['processes']} processes" if row.get("processes", 1) > 1 else ""
    print(
        f"== {n} worlds{procs}: {row['episodes']} episodes, {row['frames']} frames, success "
        f"{row['success_rate']:.0%}; load {row['loadavg_before']}"
    )
    print(
        f"  ours (stage): {row['frames_per_s_loop']:.0f} frames/s over the episode loop "
        f"({row['episode_loop_s']:.1f} s), {row['frames_per_s_process_less_scene']:.0f} with the "
        f"commit; scene step {row['scene_s']:.1f} s, commit {row['commit_s']:.2f} s"
    )
    for k, v in row.get("bare", {}).items():
        print(f"  {k}: {v:.0f} frames/s; ours / bare = {row['frames_per_s_loop'] / v:.2f}")
    whose = " (shard 0; every shard's in the JSON)" if row.get("processes", 1) > 1 else ""
    print(f"  where the stage's time went{whose} (wall s / CPU s):")
    for step, v in sorted(row["stage_seconds"].items(), key=lambda kv: -kv[1]["wall_s"]):
        print(f"    {step:45s} {v['wall_s']:9.2f} {v['cpu_s']:9.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--storage")
    ap.add_argument("--scene", default="kitchen_counter")
    ap.add_argument("--run", default="bench")
    ap.add_argument("--worlds", default="1024,4096")
    ap.add_argument("--episodes-per-world", type=float, default=2.0)
    ap.add_argument(
        "--processes",
        default="1",
        help="shard processes sharing the GPU, each with --worlds worlds",
    )
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--fps", type=int, default=20)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--kernel-cache", default=None)
    ap.add_argument("--nondeterministic", action="store_true")
    ap.add_argument("--deflate-level", type=int, default=1)
    ap.add_argument("--writers", type=int, default=0, help="EPISODES_WRITERS (0: cores - 1)")
    ap.add_argument("--bare-frames", type=int, default=30, help="0: no bare loop")
    ap.add_argument("--work", type=Path, default=None, help="folder for the per-count stores")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    if a.storage is not None:
        run_all(a)
        return
    from scene_prep import prepare_kitchen_counter  # noqa: PLC0415

    a.storage, a.scene, a.run = prepare_kitchen_counter("bp-gpu-bench-")
    try:
        run_all(a)
    finally:  # the temporary store made here
        shutil.rmtree(urlparse(a.storage).path, ignore_errors=True)


def run_all(a: argparse.Namespace) -> None:
    """Every (worlds, processes) row on the prepared store ``a.storage``, printed and saved."""
    from bp_episodes.warp_backend.runtime import open_device  # noqa: PLC0415
    from warp_bench import _device_name  # noqa: PLC0415

    device = _device_name(open_device(a.device, a.kernel_cache))
    print(f"device: {device}; cpus {os.cpu_count()}; load {_loadavg()}")
    results: dict[str, Any] = {"device": device, "cpus": os.cpu_count(), "rows": []}
    model = _compiled_model(a.storage, a.scene, a.run) if a.bare_frames else None
    work = a.work or Path(urlparse(a.storage).path).parent
    runs = [(int(x), int(p)) for x in a.worlds.split(",") if x for p in a.processes.split(",") if p]
    for n, procs in runs:
        dst = work / f"gpu-bench-{n}-{procs}"
        shutil.rmtree(dst, ignore_errors=True)
        try:
            uri = _fresh_copy(a.storage, a.scene, dst)
            if procs == 1:
                row = run_stage_once(uri, a.scene, a.run, n, a)
            else:
                row = run_processes(uri, a.scene, a.run, n, a, procs)
        finally:
            shutil.rmtree(dst, ignore_errors=True)  # tens of GB of shards at 4,096 worlds
        if model is not None:
            row["bare"] = bare_once(model, n * procs, a)
        _print(row)
        results["rows"].append(row)
        if a.out:
            a.out.write_text(json.dumps(results, indent=2))
    print(f"load after: {_loadavg()}")


if __name__ == "__main__":
    main()
