"""Episode throughput and pipeline overhead, measured in one run.

  uv run python bench/episodes_bench.py [--storage URI --scene ID --run RUN] [--procs 1,2]

Needs a scene prepared up to ``tasks`` (without --storage it prepares kitchen_counter in a
temporary folder with the real stages). Prints, for the same scene, cameras, resolution
and fps:

* bare:  a plain MuJoCo loop — ``mj_step`` × substeps + render every camera, per frame;
* ours:  the episode loop (IK expert, recording, metrics) for the same number of frames;
* the ratio ours / bare (the pipeline's overhead);
* throughput with P processes in parallel (one episode loop each): frames/s and episodes/h.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")


def _load(uri: str, scene: str, run: str, res: int) -> dict[str, Any]:
    from bp_contracts.assembly import Assembly  # noqa: PLC0415
    from bp_contracts.simready import SimreadyManifest  # noqa: PLC0415
    from bp_contracts.tasks import TaskSet  # noqa: PLC0415
    from bp_contracts.variation import Variant  # noqa: PLC0415
    from bp_episodes.backend import MujocoBatch  # noqa: F401, PLC0415
    from bp_episodes.scene import handles  # noqa: PLC0415
    from bp_sdk.commit import require_committed  # noqa: PLC0415
    from bp_sdk.storage import open_storage  # noqa: PLC0415
    from bp_sim.compose import compose_scene  # noqa: PLC0415
    from bp_sim.robots import get_robot  # noqa: PLC0415

    st = open_storage(uri)
    up = {k: require_committed(st, scene, run, k) for k in ("simready", "assemble", "variations", "tasks")}
    sr = up["simready"].read_model("simready_manifest.json", SimreadyManifest)
    asm = up["assemble"].read_model("assembly.json", Assembly)
    ts = up["tasks"].read_model("tasks.json", TaskSet)
    var = up["variations"].read_model("variations/v0000.json", Variant)
    model = compose_scene(sr, asm.robot, asm.cameras, asm.lights, var, timestep=asm.timestep_s,
                          mesh_loader=up["simready"].read_bytes).compile()
    objects = {o.id: o for o in [*sr.objects, *var.distractors]}
    h = handles(model, get_robot("franka_panda"), list(objects.values()), asm.cameras, res)
    height = {o.id: o.size_m[2] for o in sr.objects}
    tasks = sorted((t for t in ts.tasks if t.kind == "pick_place" and "v0000" in t.targets),
                   key=lambda t: (height.get(t.object, 1.0), t.task_id))
    return {"model": model, "h": h, "objects": objects, "task": tasks[0], "cameras": [c.name for c in asm.cameras]}


def _episode(ctx: dict[str, Any], res: int, fps: int, seed_index: int) -> tuple[int, float, bool, Any]:
    from bp_episodes.backend import MujocoBatch  # noqa: PLC0415
    from bp_episodes.episode import RecordOptions, run_episode  # noqa: PLC0415
    from bp_episodes.worklist import build_worklist  # noqa: PLC0415

    plan = build_worklist("bench", "bench", seed_index, ["v0000"], [ctx["task"]], 1)[0]
    batch = MujocoBatch(ctx["model"], 1, res)
    try:
        t0 = time.perf_counter()
        rec, met = run_episode(batch, ctx["h"], plan, ctx["objects"], RecordOptions(fps, "core", 3600, 0.02))
        return met.frames, time.perf_counter() - t0, met.success, rec.stacked()["action"]
    finally:
        batch.close()


def _bare(ctx: dict[str, Any], res: int, fps: int, actions: Any) -> float:
    """The same frames with nothing but MuJoCo: replay the episode's actions, step, render."""
    import mujoco  # noqa: PLC0415

    model = ctx["model"]
    model.vis.quality.offsamples = 0
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    renderer = mujoco.Renderer(model, res, res)
    sub = round(1.0 / (fps * model.opt.timestep))
    opening = ctx["h"].robot.gripper_open_ctrl
    t0 = time.perf_counter()
    for a in actions:
        data.ctrl[:7] = a[:7]
        data.ctrl[7] = a[7] * opening
        mujoco.mj_step(model, data, nstep=sub)
        for cam in ctx["cameras"]:
            renderer.update_scene(data, camera=cam)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            renderer.render()
    dt = time.perf_counter() - t0
    renderer.close()
    return dt


_CTX: dict[str, Any] = {}


def _worker(args: tuple[str, str, str, int, int, int]) -> tuple[int, float, int]:
    uri, scene, run, res, fps, n = args
    if not _CTX:
        _CTX.update(_load(uri, scene, run, res))
    frames, seconds, ok = 0, 0.0, 0
    for i in range(n):
        f, s, good, _ = _episode(_CTX, res, fps, i)
        frames, seconds, ok = frames + f, seconds + s, ok + int(good)
    return frames, seconds, ok


def _prepare() -> tuple[str, str, str]:
    from bp_assemble.stage import AssembleStage  # noqa: PLC0415
    from bp_ingest.stage import IngestStage  # noqa: PLC0415
    from bp_sdk.runner import run_stage  # noqa: PLC0415
    from bp_sdk.storage import join, open_storage  # noqa: PLC0415
    from bp_simready.stage import SimreadyStage  # noqa: PLC0415
    from bp_tasks.stage import TasksStage  # noqa: PLC0415
    from bp_variations.stage import VariationsStage  # noqa: PLC0415

    root = Path(tempfile.mkdtemp(prefix="bp-bench-"))
    st = open_storage(root.as_uri())
    src = Path(__file__).resolve().parents[1] / "examples" / "scenes" / "kitchen_counter"
    for p in sorted(src.rglob("*")):
        if p.is_file():
            st.write_bytes(join("scenes/kitchen_counter/input", p.relative_to(src).as_posix()), p.read_bytes())
    env = {"STORAGE_URI": st.uri, "SCENE_ID": "kitchen_counter", "RUN_ID": "bench", "LOG_FORMAT": "json",
           "LOG_LEVEL": "WARNING", "VARIATIONS_COUNT": "1", "PATH": os.environ.get("PATH", "")}
    for stage in (IngestStage(), SimreadyStage(), AssembleStage(), VariationsStage(), TasksStage()):
        if run_stage(stage, env) != 0:
            sys.exit(f"preparing the scene failed at {stage.name}")
    return st.uri, "kitchen_counter", "bench"


def main() -> None:
    """Run the benchmark and print the table (and JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--storage")
    ap.add_argument("--scene", default="kitchen_counter")
    ap.add_argument("--run", default="bench")
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--fps", type=int, default=20)
    ap.add_argument("--procs", default="1,2", help="comma-separated process counts")
    ap.add_argument("--episodes-per-proc", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    uri, scene, run = (a.storage, a.scene, a.run) if a.storage else _prepare()
    ctx = _load(uri, scene, run, a.resolution)
    _episode(ctx, a.resolution, a.fps, 1)  # warm-up: GL contexts, shader compilation, caches
    frames, ours_s, ok, actions = _episode(ctx, a.resolution, a.fps, 0)
    bare_s = _bare(ctx, a.resolution, a.fps, actions)
    result: dict[str, Any] = {
        "gl": os.environ.get("MUJOCO_GL"), "resolution": a.resolution, "fps": a.fps, "cameras": len(ctx["cameras"]),
        "episode_frames": frames, "episode_success": ok, "task": ctx["task"].task_id,
        "bare_frames_per_s": round(frames / bare_s, 1), "ours_frames_per_s": round(frames / ours_s, 1),
        "overhead_ratio": round(ours_s / bare_s, 3), "parallel": [],
    }
    print(f"scene {scene}, task {ctx['task'].task_id}, {frames} frames x {len(ctx['cameras'])} cameras at {a.resolution}², {a.fps} fps, MUJOCO_GL={result['gl']}")
    print(f"bare MuJoCo step+render : {result['bare_frames_per_s']:8.1f} frames/s")
    print(f"our episode loop        : {result['ours_frames_per_s']:8.1f} frames/s  (success={ok})")
    print(f"overhead ours/bare      : {result['overhead_ratio']:8.3f}x")
    for p in [int(x) for x in a.procs.split(",") if x]:
        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(p) as pool:
            outs = pool.map(_worker, [(uri, scene, run, a.resolution, a.fps, a.episodes_per_proc)] * p)
        wall = time.perf_counter() - t0
        total_frames = sum(o[0] for o in outs)
        eps = p * a.episodes_per_proc
        row = {"procs": p, "episodes": eps, "successes": sum(o[2] for o in outs), "wall_s": round(wall, 2),
               "frames_per_s": round(total_frames / wall, 1), "episodes_per_hour": round(eps / wall * 3600, 1)}
        result["parallel"].append(row)
        print(f"{p:3d} procs: {eps:3d} episodes in {wall:7.1f} s -> {row['frames_per_s']:8.1f} frames/s, {row['episodes_per_hour']:8.1f} episodes/h (incl. start-up)")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
