"""The pure-encoder ceiling of bench/export_bench.py: svt-av1 (or x264) through PyAV, nothing else.

Before the clock starts, every (episode, camera) of the run's successful episodes is decoded
from its npz into a raw ``.npy`` file (so no decompression is timed) and ``n`` child
processes are started (``n = EXPORT_WORKERS``, export's encoder processes) and say
``ready``. Then the jobs are handed out one at a time to whichever child is free (the
best balance of cameras that cost differently); a child maps the frames and encodes them
with a fresh encoder of export's settings (``VideoParams.options()``: the same ``g``,
``crf``, preset and thread count), flushed, and answers with the packets' size. The wall
time from the first job to the last answer is what encoding alone allows on this machine,
measured in the same run as the export (so ratios to it are robust to the machine's load).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def encode_child(args: argparse.Namespace) -> int:
    """The child: encode each raw episode named on stdin; one JSON line per job, then its CPU."""
    import av  # noqa: PLC0415 - the child's imports only
    import numpy as np  # noqa: PLC0415
    from bp_dataset.video import VideoParams  # noqa: PLC0415

    os.environ.setdefault("SVT_LOG", "1")
    params = VideoParams(args.vcodec, args.fps, args.width, args.height)
    tb = Fraction(1, params.fps)
    print("ready", flush=True)
    c0 = time.process_time()
    for line in sys.stdin:
        frames = np.load(json.loads(line)["npy"], mmap_mode="r", allow_pickle=False)
        cc: Any = av.CodecContext.create(params.encoder, "w")
        cc.width, cc.height, cc.pix_fmt = params.width, params.height, params.pix_fmt
        cc.time_base, cc.framerate = tb, Fraction(params.fps)
        cc.flags |= av.codec.context.Flags.global_header
        cc.options = params.options()
        cc.open()
        size = 0
        for i, img in enumerate([*frames, None]):
            frame = None
            if img is not None:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                frame.pts, frame.time_base = i, tb
            size += sum(p.size for p in cc.encode(frame))
        print(json.dumps({"frames": len(frames), "bytes": size}), flush=True)
    print(json.dumps({"cpu_s": round(time.process_time() - c0, 3)}), flush=True)
    return 0


def decode_jobs(store: Path, scene: str, run: str, keys: list[str], raw: Path) -> list[Path]:
    """Every (episode, key) of the run's successful episodes as a raw ``.npy`` (untimed)."""
    import numpy as np  # noqa: PLC0415

    sys.path.insert(0, str(HERE))
    from export_inputs import success_npz  # noqa: PLC0415

    raw.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i, path in enumerate(success_npz(store, scene, run)):
        with np.load(path, allow_pickle=False) as z:
            for key in sorted(keys):
                jobs.append(raw / f"{i:06d}-{key}.npy")
                np.save(jobs[-1], z[key], allow_pickle=False)
    return jobs


def measure(
    store: Path,
    scene: str,
    run: str,
    keys: list[str],
    workers: int,
    vcodec: str,
    fps: int,
    work: Path,
    timeout_s: float,
) -> dict[str, Any]:
    """Decode, start the children, hand out every job; the wall seconds of the encoding."""
    import numpy as np  # noqa: PLC0415

    jobs = decode_jobs(store, scene, run, keys, work / "raw")
    shape = np.load(jobs[0], mmap_mode="r").shape
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env["SVT_LOG"] = "1"
    cmd = [sys.executable, str(HERE / "encode_ceiling.py"), "--child", "--vcodec", vcodec]
    cmd += ["--fps", str(fps), "--width", str(shape[2]), "--height", str(shape[1])]
    procs = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(max(1, workers))
    ]
    todo: queue.Queue[Path] = queue.Queue()
    for job in jobs:
        todo.put(job)
    done: list[dict[str, Any]] = []
    errors: list[str] = []

    def feed(p: subprocess.Popen[str]) -> None:
        if p.stdin is None or p.stdout is None:  # pragma: no cover - PIPE given
            return
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                break
            p.stdin.write(json.dumps({"npy": str(job)}) + "\n")
            p.stdin.flush()
            line = p.stdout.readline()
            if not line:
                errors.append(f"an encoder-ceiling child exited early ({job.name})")
                return
            done.append(json.loads(line))
        p.stdin.close()

    try:
        for p in procs:
            if p.stdout is None or p.stdout.readline().strip() != "ready":
                raise SystemExit("an encoder-ceiling child did not start")
        t0 = time.perf_counter()
        threads = [threading.Thread(target=feed, args=(p,), daemon=True) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=timeout_s)
        wall = time.perf_counter() - t0
        if errors or len(done) != len(jobs):
            raise SystemExit(f"the encoder ceiling failed: {errors or 'jobs left undone'}")
        cpu = []
        for p in procs:
            out = p.stdout.read() if p.stdout is not None else ""
            p.wait(timeout=timeout_s)
            cpu.append(json.loads(out.strip().splitlines()[-1])["cpu_s"])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    frames = sum(d["frames"] for d in done) // max(1, len(keys))
    return {
        "wall_s": round(wall, 3),
        "processes": len(procs),
        "jobs": len(jobs),
        "frames": frames,
        "encoded_bytes": sum(d["bytes"] for d in done),
        "cpu_s_per_process": cpu,
    }


def main() -> int:
    """Run as a child (``--child``); see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", action="store_true", required=True)
    ap.add_argument("--vcodec", required=True)
    ap.add_argument("--fps", type=int, required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--height", type=int, required=True)
    return encode_child(ap.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
