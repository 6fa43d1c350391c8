"""Episode throughput and pipeline overhead, measured in one run.

  uv run python bench/episodes_bench.py [--storage URI --scene ID --run RUN] [--procs 1,2]
      [--repeat N] [--no-render] [--out results.json] [--profile profile.txt]

Needs a scene prepared up to ``tasks`` (without --storage it prepares kitchen_counter in a
temporary folder with the real stages). Prints, for the same scene, cameras, resolution
and fps:

* bare:  a plain MuJoCo loop — ``mj_step`` × substeps + render every camera, per frame;
* ours:  the episode loop (IK expert, recording, metrics) for the same number of frames;
* the ratio ours / bare (the pipeline's overhead);
* throughput with P processes in parallel (one episode loop each): frames/s and episodes/h.

``--repeat`` times ours and bare N times, interleaved, and reports each pair and the median
ratio (of wall time, and of this process's CPU time, steadier on a shared machine);
``--no-render`` gives both loops blank images instead of rendering (bare is then
``mj_step`` alone: the loop's own cost, what a fast renderer leaves);
``--out`` writes every number as JSON (with the load average before and after);
``--profile`` profiles one more episode with cProfile and writes where its time went
(planning, initial state, ``mj_step``, rendering, the loop's IK, the rest) and the top
functions to that file (the breakdown also goes into the JSON).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing as mp
import os
import pstats
import shutil
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")


def _load(uri: str, scene: str, run: str, res: int) -> dict[str, Any]:
    from bp_episodes.backend import MujocoBatch  # noqa: F401, PLC0415
    from bp_episodes.compiled import compile_committed  # noqa: PLC0415
    from bp_sdk.storage import open_storage  # noqa: PLC0415

    c, ts = compile_committed(open_storage(uri), scene, run, resolution=res)
    height = {o.id: o.size_m[2] for o in c.objects.values()}
    tasks = sorted(
        (t for t in ts.tasks if t.kind == "pick_place" and "v0000" in t.targets),
        key=lambda t: (height.get(t.object, 1.0), t.task_id),
    )
    return {
        "model": c.model,
        "h": c.h,
        "objects": c.objects,
        "task": tasks[0],
        "cameras": [cam.name for cam in c.h.cameras],
    }


def _batch(ctx: dict[str, Any], res: int) -> Any:
    """A ``MujocoBatch``; with ``--no-render`` one whose images are blank, not rendered."""
    from bp_episodes.backend import MujocoBatch  # noqa: PLC0415

    if not ctx.get("no_render"):
        return MujocoBatch(ctx["model"], 1, res)

    class Blank(MujocoBatch):
        def render(self, camera: str, kind: str) -> Any:
            dtype, shape = {
                "rgb": (np.uint8, (3,)),
                "depth": (np.float32, ()),
                "seg": (np.int32, ()),
            }[kind]
            return np.zeros((1, res, res, *shape), dtype=dtype)

    return Blank(ctx["model"], 1, res)


def _episode(
    ctx: dict[str, Any], res: int, fps: int, seed_index: int
) -> tuple[int, float, bool, Any, float]:
    """One episode: frames, wall seconds, success, actions, CPU seconds of this process."""
    from bp_episodes.episode import RecordOptions, run_episode  # noqa: PLC0415
    from bp_episodes.worklist import build_worklist  # noqa: PLC0415

    plan = build_worklist("bench", "bench", seed_index, ["v0000"], [ctx["task"]], 1)[0]
    batch = _batch(ctx, res)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        rec, met = run_episode(
            batch, ctx["h"], plan, ctx["objects"], RecordOptions(fps, "core", 3600, 0.02)
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return met.frames, wall, met.success, rec.stacked()["action"], cpu
    finally:
        batch.close()


def _bare(ctx: dict[str, Any], res: int, fps: int, actions: Any) -> tuple[float, float]:
    """Wall and CPU seconds of the same frames with nothing but MuJoCo step (+ render)."""
    import mujoco  # noqa: PLC0415

    model = ctx["model"]
    model.vis.quality.offsamples = 0
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    renderer = mujoco.Renderer(model, res, res)
    sub = round(1.0 / (fps * model.opt.timestep))
    opening = ctx["h"].robot.gripper_open_ctrl
    cameras = [] if ctx.get("no_render") else ctx["cameras"]
    t0, c0 = time.perf_counter(), time.process_time()
    for a in actions:
        data.ctrl[:7] = a[:7]
        data.ctrl[7] = a[7] * opening
        mujoco.mj_step(model, data, nstep=sub)
        for cam in cameras:
            renderer.update_scene(data, camera=cam)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            renderer.render()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    renderer.close()
    return dt, cpu


def _profile(ctx: dict[str, Any], res: int, fps: int, path: str) -> dict[str, float]:
    """One episode under cProfile: where its time went, written with the top functions."""
    prof = cProfile.Profile()
    prof.enable()
    _episode(ctx, res, fps, 0)
    prof.disable()
    st = pstats.Stats(prof)
    raw: dict[Any, Any] = st.stats  # type: ignore[attr-defined]

    def cum(file_part: str, func: str, caller: str | None = None) -> float:
        total = 0.0
        for (file, _, name), (_, _, _, ct, callers) in raw.items():
            if name != func or file_part not in file.replace(os.sep, "/"):
                continue
            if caller is None:
                total += ct
            else:
                total += sum(v[3] for k, v in callers.items() if k[2] == caller)
        return total

    episode = cum("bp_episodes/episode.py", "run_episode")
    parts = {
        "initial_state_s": cum("bp_episodes/initial_state.py", "sample_initial_state"),
        "planning_s": cum("bp_episodes/expert/", "plan"),
        "mj_step_s": cum("~", "<built-in method mujoco._functions.mj_step>"),
        "render_s": cum("bp_episodes/backend.py", "render"),
        "loop_ik_s": cum("bp_episodes/expert/ik.py", "solve_fast", "run_episode")
        + cum("bp_episodes/expert/ik.py", "solve", "run_episode"),
    }
    breakdown = {"episode_s": episode, **parts, "rest_s": episode - sum(parts.values())}
    out = {k: round(v, 4) for k, v in breakdown.items()}
    buf = io.StringIO()
    buf.write(f"one episode under cProfile: {episode:.3f} s\n")
    for k, v in out.items():
        buf.write(f"  {k:16s} {v:8.3f} s  {100 * v / (episode or 1):5.1f} %\n")
    for key in ("tottime", "cumulative"):
        buf.write(f"\n---- top 40 by {key}\n")
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(40)
    Path(path).write_text(buf.getvalue())
    return out


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


_CTX: dict[str, Any] = {}


def _worker(args: tuple[str, str, str, int, int, int]) -> tuple[int, float, int]:
    uri, scene, run, res, fps, n = args
    if not _CTX:
        _CTX.update(_load(uri, scene, run, res))
    frames, seconds, ok = 0, 0.0, 0
    for i in range(n):
        f, s, good, _, _ = _episode(_CTX, res, fps, i)
        frames, seconds, ok = frames + f, seconds + s, ok + int(good)
    return frames, seconds, ok


def _prepare() -> tuple[str, str, str]:
    from scene_prep import prepare_kitchen_counter  # noqa: PLC0415 - bench/ is on sys.path

    return prepare_kitchen_counter("bp-bench-")


def main() -> None:
    """Run the benchmark and print the table (and JSON with --json)."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--storage")
    ap.add_argument("--scene", default="kitchen_counter")
    ap.add_argument("--run", default="bench")
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--fps", type=int, default=20)
    ap.add_argument("--procs", default="1,2", help="comma-separated process counts")
    ap.add_argument("--episodes-per-proc", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="time ours and bare this many times")
    ap.add_argument("--out", "--json", dest="out", help="write the results here as JSON")
    ap.add_argument("--profile", help="profile one more episode; write the summary here")
    ap.add_argument(
        "--no-render",
        action="store_true",
        help="blank images instead of rendering, in both loops: the loop's own cost "
        "against mj_step alone (what a fast renderer leaves)",
    )
    a = ap.parse_args()
    uri, scene, run = (a.storage, a.scene, a.run) if a.storage else _prepare()
    try:
        measure(a, uri, scene, run)
    finally:
        if not a.storage:  # the temporary store _prepare made
            shutil.rmtree(urlparse(uri).path, ignore_errors=True)


def measure(a: argparse.Namespace, uri: str, scene: str, run: str) -> None:
    """Ours against bare (and P processes' throughput) on the prepared store ``uri``."""
    ctx = _load(uri, scene, run, a.resolution)
    ctx["no_render"] = a.no_render
    load_before = _loadavg()
    _episode(ctx, a.resolution, a.fps, 1)  # warm-up: GL contexts, shader compilation, caches
    pairs, cpus = [], []
    for _ in range(max(1, a.repeat)):
        frames, ours_s, ok, actions, ours_cpu = _episode(ctx, a.resolution, a.fps, 0)
        bare_s, bare_cpu = _bare(ctx, a.resolution, a.fps, actions)
        pairs.append((ours_s, bare_s))
        cpus.append((ours_cpu, bare_cpu))
    ratio = statistics.median(o / b for o, b in pairs)
    ours_s, bare_s = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    result: dict[str, Any] = {
        "gl": os.environ.get("MUJOCO_GL"),
        "resolution": a.resolution,
        "fps": a.fps,
        "cameras": len(ctx["cameras"]),
        "episode_frames": frames,
        "episode_success": ok,
        "task": ctx["task"].task_id,
        "bare_frames_per_s": round(frames / bare_s, 1),
        "ours_frames_per_s": round(frames / ours_s, 1),
        "overhead_ratio": round(ratio, 3),
        "overhead_s": round(ours_s - bare_s, 3),
        "rendering": not a.no_render,
        "cpu_ratio": round(statistics.median(o / b for o, b in cpus), 3),
        "repeats": [
            {
                "ours_s": round(o, 3),
                "bare_s": round(b, 3),
                "ratio": round(o / b, 3),
                "ours_cpu_s": round(oc, 3),
                "bare_cpu_s": round(bc, 3),
            }
            for (o, b), (oc, bc) in zip(pairs, cpus, strict=True)
        ],
        "cpu_count": os.cpu_count(),
        "loadavg_before": load_before,
    }
    print(
        f"scene {scene}, task {ctx['task'].task_id}, {frames} frames x {len(ctx['cameras'])} cameras at {a.resolution}², {a.fps} fps, MUJOCO_GL={result['gl']}"
    )
    if a.no_render:
        print("--no-render: blank images in both loops (bare = mj_step alone)")
    print(f"bare MuJoCo step+render : {result['bare_frames_per_s']:8.1f} frames/s")
    print(f"our episode loop        : {result['ours_frames_per_s']:8.1f} frames/s  (success={ok})")
    print(
        f"overhead ours/bare      : {result['overhead_ratio']:8.3f}x  ({result['overhead_s']:.3f} s an episode; "
        f"each: {', '.join(str(r['ratio']) for r in result['repeats'])}; CPU time {result['cpu_ratio']:.3f}x)"
    )
    if a.profile:
        result["profile"] = _profile(ctx, a.resolution, a.fps, a.profile)
        print("profile (s):", json.dumps(result["profile"]), "->", a.profile)
    result["parallel"] = _parallel(a, uri, scene, run)
    result["loadavg_after"] = _loadavg()
    print(
        f"load average before {load_before}, after {result['loadavg_after']} ({os.cpu_count()} CPUs)"
    )
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2))


def _parallel(a: argparse.Namespace, uri: str, scene: str, run: str) -> list[dict[str, Any]]:
    """Throughput of P processes each running ``--episodes-per-proc`` episodes, per P."""
    rows: list[dict[str, Any]] = []
    for p in [int(x) for x in a.procs.split(",") if x]:
        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(p) as pool:
            outs = pool.map(
                _worker, [(uri, scene, run, a.resolution, a.fps, a.episodes_per_proc)] * p
            )
        wall = time.perf_counter() - t0
        total_frames = sum(o[0] for o in outs)
        eps = p * a.episodes_per_proc
        row = {
            "procs": p,
            "episodes": eps,
            "successes": sum(o[2] for o in outs),
            "wall_s": round(wall, 2),
            "frames_per_s": round(total_frames / wall, 1),
            "episodes_per_hour": round(eps / wall * 3600, 1),
        }
        rows.append(row)
        print(
            f"{p:3d} procs: {eps:3d} episodes in {wall:7.1f} s -> {row['frames_per_s']:8.1f} frames/s, {row['episodes_per_hour']:8.1f} episodes/h (incl. start-up)"
        )
    return rows


if __name__ == "__main__":
    main()
