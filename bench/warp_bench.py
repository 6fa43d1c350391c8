"""MuJoCo Warp on one device: the bare mujoco_warp step+render loop against WarpBatch, measured
in the same run, at several world counts.

  uv run python bench/warp_bench.py [--mjb scene.mjb | --storage URI --scene ID --run RUN]
      [--device cuda:0] [--nworld 256,1024,4096] [--resolution 128] [--frames 20] [--check]
  uv run python bench/warp_bench.py --save-model kitchen_counter.mjb   # for a machine without the stages

Without --mjb/--storage it prepares kitchen_counter with the real stages in a temporary folder
and composes variant v0000 (as the episodes stage does). For each world count, one control
frame is ``substeps`` physics steps (500 Hz / --fps) of seeded swaying arm controls, then
one rgb image per camera:

* bare step:        ``mujoco_warp.step`` × substeps (a CUDA graph on a GPU), controls copied in;
* ours step:        ``WarpBatch.step``;
* bare step+render: the same, then ``refit_bvh`` + ``render`` of every camera, images left on the device;
* bare +to host:    the same, then every camera's packed pixels copied to the host;
* ours step+render: ``WarpBatch.step`` + ``WarpBatch.render(camera, "rgb")`` per camera (uint8
  N×H×W×3 host arrays, what ``SimBatch`` promises).

World-frames/s = worlds × frames / s; physics steps/s = world-frames/s × substeps;
images/s = world-frames/s × cameras. Ratios are ours / bare of the same run. ``--check`` first
runs the GPU checks (trajectories against CPU MuJoCo, determinism, per-world reset) and
writes a PNG of world 0's cameras (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")  # --save-model prepares the scene: assemble renders


def _compose(uri: str, scene: str, run: str) -> Any:
    from bp_episodes.compiled import compile_committed  # noqa: PLC0415
    from bp_sdk.storage import open_storage  # noqa: PLC0415

    return compile_committed(open_storage(uri), scene, run)[0].model


def _prepare() -> tuple[str, str, str]:
    from scene_prep import prepare_kitchen_counter  # noqa: PLC0415 - bench/ is on sys.path

    return prepare_kitchen_counter("bp-warp-bench-")


def _controls(model: Any, n: int, frames: int, seed: int) -> list[np.ndarray]:
    """Seeded swaying arm targets about the home keyframe (frames × n × nu)."""
    rng = np.random.default_rng(seed)
    home = np.array(model.key("home").ctrl, dtype=np.float64)
    amp = rng.uniform(-0.15, 0.15, size=(n, model.nu))
    amp[:, -1] = 0.0  # the gripper stays as at home
    phase = rng.uniform(0, 2 * np.pi, size=(n, model.nu))
    return [(home + amp * np.sin(np.pi * k / 20 + phase)).astype(np.float32) for k in range(frames)]


def _device_name(device: Any) -> str:
    name = str(device.name)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return name
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
        return f"{name} [nvidia-smi: {out.splitlines()[0]}]" if out else name
    except (OSError, subprocess.SubprocessError):
        return name


class Bare:
    """The plain mujoco_warp loop, configured as WarpBatch configures its own."""

    def __init__(
        self, wp: Any, mjw: Any, model: Any, n: int, res: int, opts: Any, device: Any
    ) -> None:
        self.wp, self.mjw, self.device, self.n = wp, mjw, device, n
        with wp.ScopedDevice(device):
            self.m = mjw.put_model(model)
            self.m.opt.warn_overflow = 0
            self.m.opt.deterministic = int(
                mjw.DeterminismType.ALL if opts.deterministic else mjw.DeterminismType.NONE
            )
            self.d = mjw.make_data(model, nworld=n, nconmax=opts.nconmax, njmax=opts.njmax)
            self.rc = mjw.create_render_context(
                model,
                nworld=n,
                cam_res=(res, res),
                render_rgb=True,
                render_depth=False,
                render_seg=False,
                use_shadows=False,
                render_skybox=False,
            )
            mjw.forward(self.m, self.d)
        self.graph: Any = None
        self.host: list[Any] = []

    def step(self, ctrl: np.ndarray, substeps: int) -> None:
        wp = self.wp
        with wp.ScopedDevice(self.device):
            self.d.ctrl.assign(ctrl)
            if not self.device.is_cuda:
                for _ in range(substeps):
                    self.mjw.step(self.m, self.d)
                return
            if self.graph is None:
                self.mjw.step(self.m, self.d)  # load every module before the capture
                with wp.ScopedCapture() as cap:
                    for _ in range(substeps):
                        self.mjw.step(self.m, self.d)
                self.graph = cap.graph
            wp.capture_launch(self.graph)

    def render(self, to_host: bool) -> None:
        with self.wp.ScopedDevice(self.device):
            self.mjw.refit_bvh(self.m, self.d, self.rc)
            self.mjw.render(self.m, self.d, self.rc)
            if to_host:
                self.host = [self.rc.rgb_data.numpy()]

    def sync(self) -> None:
        self.wp.synchronize_device(self.device)


def _time(fn: Any, frames: int, sync: Any) -> float:
    sync()
    t0 = time.perf_counter()
    for k in range(frames):
        fn(k)
    sync()
    return time.perf_counter() - t0


def bench_one(model: Any, n: int, a: argparse.Namespace) -> dict[str, Any]:
    """Every row of the table for one world count."""
    import mujoco_warp as mjw  # noqa: PLC0415
    import warp as wp  # noqa: PLC0415
    from bp_episodes.warp_backend.batch import WarpBatch, WarpOptions  # noqa: PLC0415

    sub = round(1.0 / (a.fps * model.opt.timestep))
    opts = WarpOptions(
        device=a.device,
        kernel_cache=a.kernel_cache,
        nconmax=a.nconmax,
        njmax=a.njmax,
        kinds=("rgb",),
        deterministic=a.deterministic,
    )
    ctrls = _controls(model, n, a.frames + 2, seed=n)
    cams = [model.camera(i).name for i in range(model.ncam)]
    q0 = np.array(model.key("home").qpos)
    ours = WarpBatch(model, n, a.resolution, opts)
    ours.reset([q0] * n)
    bare = Bare(wp, mjw, model, n, a.resolution, opts, ours.device)
    with wp.ScopedDevice(ours.device):
        bare.d.qpos.assign(np.tile(q0, (n, 1)).astype(np.float32))
        mjw.forward(bare.m, bare.d)

    def o_step(k: int) -> None:
        ours.step(ctrls[k], sub)
        ours.qpos()  # one state read per frame: what forces the step to finish, as in an episode

    def o_render(k: int) -> None:
        o_step(k)
        for cam in cams:
            ours.render(cam, "rgb")

    def b_step(k: int) -> None:
        bare.step(ctrls[k], sub)

    rows: dict[str, Any] = {}
    for name, fn, sync in (
        ("bare step", b_step, bare.sync),
        ("ours step", o_step, bare.sync),
        ("bare step+render", lambda k: (b_step(k), bare.render(False)), bare.sync),
        ("bare +to host", lambda k: (b_step(k), bare.render(True)), bare.sync),
        ("ours step+render", o_render, bare.sync),
    ):
        fn(a.frames)  # warm-up frame: graph capture, first launches
        fn(a.frames + 1)
        secs = _time(fn, a.frames, sync)
        fps = n * a.frames / secs
        rows[name] = {
            "seconds": round(secs, 4),
            "world_frames_per_s": round(fps, 1),
            "physics_steps_per_s": round(fps * sub, 1),
            "images_per_s": round(fps * len(cams), 1)
            if "render" in name or "host" in name
            else None,
        }
    ours.close()
    rows["ratio step ours/bare (time)"] = round(
        rows["ours step"]["seconds"] / rows["bare step"]["seconds"], 3
    )
    rows["ratio step+render ours/bare (time)"] = round(
        rows["ours step+render"]["seconds"] / rows["bare step+render"]["seconds"], 3
    )
    rows["ratio step+render ours/bare+to host (time)"] = round(
        rows["ours step+render"]["seconds"] / rows["bare +to host"]["seconds"], 3
    )
    return rows


# checks (--check): GPU parity ---------------------------------------------------------------
def _cpu_rollout(
    model: Any, starts: list[np.ndarray], ctrls: list[np.ndarray], sub: int
) -> list[Any]:
    """CPU MuJoCo (float64) from the same starts under the same controls: per frame, N × nbody × 3."""
    import mujoco  # noqa: PLC0415

    datas = []
    for q in starts:
        d = mujoco.MjData(model)
        d.qpos[:] = q
        mujoco.mj_forward(model, d)
        datas.append(d)
    out = []
    for c in ctrls:
        for d, row in zip(datas, c, strict=True):
            d.ctrl[:] = row
            mujoco.mj_step(model, d, nstep=sub)
        out.append((np.stack([d.xpos.copy() for d in datas]), [d.ncon for d in datas]))
    return out


def run_checks(model: Any, device: str, cache: str | None, out: Path) -> dict[str, Any]:
    """WarpBatch on ``device`` against CPU MuJoCo, twice against itself, and across a
    per-world reset; prints one line per check and writes world 0's images to ``out``."""
    from bp_episodes.warp_backend.batch import WarpBatch, WarpOptions  # noqa: PLC0415

    n, sub, frames = 4, round(1.0 / (20 * model.opt.timestep)), 10
    rng = np.random.default_rng(0)
    home = np.array(model.key("home").qpos)
    starts = []
    for _ in range(n):
        q = home.copy()
        q[:7] += rng.uniform(-0.05, 0.05, 7)  # the arm's joints come first in the composed scene
        starts.append(q)
    ctrls = _controls(model, n, frames, seed=1)
    res: dict[str, Any] = {}
    opts = WarpOptions(device=device, kernel_cache=cache)
    b = WarpBatch(model, n, 128, opts)
    b.reset(starts)
    ref = _cpu_rollout(model, starts, ctrls, sub)
    worst = 0.0
    for c, (xpos, _) in zip(ctrls, ref, strict=True):
        b.step(c, sub)
        worst = max(worst, float(np.abs(b._field("xpos").astype(np.float64) - xpos).max()))
    ncon_warp = [len(b.contacts(w)) for w in range(n)]
    res["trajectory_max_body_error_m"] = worst
    res["contacts_per_world_warp"], res["contacts_per_world_mujoco"] = ncon_warp, ref[-1][1]
    images = {
        cam: b.render(cam, "rgb")[0] for cam in (model.camera(i).name for i in range(model.ncam))
    }
    runs = []
    for _ in range(2):
        r = WarpBatch(model, n, 64, opts)
        r.reset(starts)
        for c in ctrls[:3]:
            r.step(c, sub)
        cam = model.camera(0).name
        runs.append([r.qpos(), r.qvel(), *(r.render(cam, k) for k in ("rgb", "depth", "seg"))])
        r.close()
    res["deterministic"] = all(np.array_equal(x, y) for x, y in zip(*runs, strict=True))
    a2, b2 = WarpBatch(model, 3, 32, opts), WarpBatch(model, 3, 32, opts)
    a2.reset(starts[:3])
    b2.reset(starts[:3])
    for k, c in enumerate(ctrls[:6]):
        if k == 3:
            a2.reset_worlds([1], [starts[3]])
        a2.step(c[:3], sub)
        b2.step(c[:3], sub)
    res["reset_leaves_others"] = bool(np.array_equal(a2.qpos()[[0, 2]], b2.qpos()[[0, 2]]))
    res["passed"] = bool(
        worst < 2e-3 and res["deterministic"] and res["reset_leaves_others"] and min(ncon_warp) > 0
    )
    for k, v in res.items():
        print(f"check {k}: {v}")
    out.mkdir(parents=True, exist_ok=True)
    strip = np.concatenate(list(images.values()), axis=1)
    try:
        from PIL import Image  # noqa: PLC0415

        Image.fromarray(strip).save(out / "warp_world0.png")
    except ImportError:
        np.save(out / "warp_world0.npy", strip)
    b.close()
    return res


def main() -> None:
    """Parse arguments, run the checks and the benchmark, print the table (and JSON)."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mjb", help="a compiled model (mj_saveModel) instead of composing one")
    ap.add_argument("--storage")
    ap.add_argument("--scene", default="kitchen_counter")
    ap.add_argument("--run", default="bench")
    ap.add_argument("--save-model", help="write the composed model here (.mjb) and stop")
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--kernel-cache", default=None)
    ap.add_argument("--nworld", default="256,1024,4096")
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--fps", type=int, default=20)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--nconmax", type=int, default=96)
    ap.add_argument("--njmax", type=int, default=384)
    ap.add_argument(
        "--nondeterministic",
        dest="deterministic",
        action="store_false",
        help="mujoco_warp's fast non-deterministic contact order and reductions",
    )
    ap.add_argument("--check", action="store_true", help="run the GPU checks first")
    ap.add_argument("--check-only", action="store_true", help="run the checks, not the benchmark")
    ap.add_argument(
        "--out", default=os.environ.get("OUT", "."), help="where --check writes its PNG"
    )
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    import mujoco  # noqa: PLC0415

    if a.mjb:
        model = mujoco.MjModel.from_binary_path(a.mjb)
    else:
        uri, scene, run = (a.storage, a.scene, a.run) if a.storage else _prepare()
        model = _compose(uri, scene, run)
        if not a.storage:  # the temporary store _prepare made
            shutil.rmtree(urlparse(uri).path, ignore_errors=True)
    if a.save_model:
        mujoco.mj_saveModel(model, a.save_model, None)
        print(f"wrote {a.save_model} ({Path(a.save_model).stat().st_size} bytes)")
        return

    from bp_episodes.warp_backend.runtime import open_device  # noqa: PLC0415

    device = open_device(a.device, a.kernel_cache)
    import mujoco_warp  # noqa: PLC0415
    import warp as wp  # noqa: PLC0415

    result: dict[str, Any] = {
        "device": _device_name(device),
        "warp": wp.config.version,
        "mujoco_warp": mujoco_warp.__version__,
        "mujoco": mujoco.__version__,
        "resolution": a.resolution,
        "fps": a.fps,
        "frames": a.frames,
        "cameras": model.ncam,
        "deterministic": a.deterministic,
        "nconmax": a.nconmax,
        "njmax": a.njmax,
        "rows": {},
    }
    print(
        f"device {result['device']}; warp {result['warp']}, mujoco_warp {result['mujoco_warp']}, "
        f"mujoco {result['mujoco']}; {model.ncam} cameras at {a.resolution}², {a.fps} fps"
    )
    if a.check or a.check_only:
        t0 = time.perf_counter()
        result["checks"] = run_checks(model, a.device, a.kernel_cache, Path(a.out))
        print(f"checks took {time.perf_counter() - t0:.1f} s (kernel compile included)")
        if a.check_only:
            if a.json:
                Path(a.json).write_text(json.dumps(result, indent=2))
            sys.exit(0 if result["checks"]["passed"] else 1)
    for n in [int(x) for x in a.nworld.split(",") if x]:
        rows = bench_one(model, n, a)
        result["rows"][str(n)] = rows
        print(f"\nnworld {n}")
        for name, row in rows.items():
            if isinstance(row, dict):
                img = f", {row['images_per_s']:>12,.0f} images/s" if row["images_per_s"] else ""
                print(
                    f"  {name:<18} {row['world_frames_per_s']:>12,.0f} world-frames/s, "
                    f"{row['physics_steps_per_s']:>14,.0f} physics steps/s{img}"
                )
            else:
                print(f"  {name:<44} {row:.3f}x")
        if a.json:
            Path(a.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
