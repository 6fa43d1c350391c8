"""Export throughput against the OFFICIAL LeRobot writer and the pure-encoder ceiling, where
export's time goes, and checksum speed against sha256sum.

  uv run python bench/export_bench.py --quick                # one size, one run each
  uv run python bench/export_bench.py                        # 1x and 6x the store, best of 2
      [--store /tmp/bpfix-core] [--copies 1,6 | --frames 2000,10000] [--repeat 2]
      [--robomimic] [--check] [--profile] [--ours-pythonpath DIR:DIR] [--out FILE]

Needs the test-only venv (``bash scripts/lerobot_env.sh``) and a ``file://`` store with one
run's committed episode shards (``--store``, default ``$BP_BENCH_STORE`` or
``/tmp/bpfix-core``; recorded with the real stages by ``bench/export_inputs.py`` when it does
not exist). Each size is the store's successful episodes repeated ``copies`` times
(``export_inputs.repeated_store``). Per size, interleaved, best of ``--repeat``:

* official: ``.venv-lerobot/bin/python bench/lerobot_writer.py`` (lerobot 0.4.4
  ``create`` / ``add_frame`` / ``save_episode`` / ``finalize``), timed inside the child
  (interpreter start and imports excluded: the baseline's best case);
* ours: the ``bp-export`` console script as a job runs it, timed as a whole process
  (start-up, imports, reading the store, stats, checksums, commit), ``EXPORT_ROBOMIMIC=false``
  unless ``--robomimic`` (the official writer writes no HDF5);
* ceiling: ``bench/encode_ceiling.py``, svt-av1 through PyAV on the same frames with export's
  settings, in ``--workers`` processes taking (episode, camera) jobs as they come free, frames
  decoded before the clock starts: what encoding alone allows on this machine.

Ratios: ours / official (target >= 5x), ours / ceiling and ceiling / official (both measured
in the same run, so robust to the machine's load). ``/proc/loadavg`` is printed before and
after, and recorded per measurement. Our stage breakdown comes from the commit summary's
``stage_seconds`` (export's own clock: main process steps, and encoder steps summed over
the encoder processes) and the job's log (start-up before the stage, the commit after it).
``--profile`` also runs ours once under cProfile at the largest size. Then ``sha256sum -c``
against ``bp verify``'s checksum phase on our largest output (best of ``--checksum-repeat``),
and with ``--check`` the conformance checker. Results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import encode_ceiling  # noqa: E402
import export_inputs  # noqa: E402

REPO = HERE.parent
LEROBOT_PYTHON = REPO / ".venv-lerobot" / "bin" / "python"
STAMP = REPO / ".venv-lerobot" / ".bp-lerobot-env.stamp"
SHA256SUM = shutil.which("sha256sum") or "/usr/bin/sha256sum"
DEFAULT_STORE = Path(os.environ.get("BP_BENCH_STORE", Path(tempfile.gettempdir()) / "bpfix-core"))


def loadavg() -> str:
    """``/proc/loadavg`` as it reads now."""
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _child_env(tmp: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(tmp)),
        "LANG": "C.UTF-8",
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp / "hf"),
        "HF_LEROBOT_HOME": str(tmp / "lerobot"),
        "MPLBACKEND": "Agg",
    }


def run_official(
    store: Path, scene: str, run: str, out: Path, vcodec: str, timeout_s: float
) -> dict[str, Any]:
    """The official writer in the test venv; returns its JSON summary (timed inside)."""
    if not (LEROBOT_PYTHON.is_file() and STAMP.is_file()):
        raise SystemExit("the test venv is missing: run `bash scripts/lerobot_env.sh` first")
    cmd = [str(LEROBOT_PYTHON), str(HERE / "lerobot_writer.py"), "--store", str(store)]
    cmd += ["--scene", scene, "--run", run, "--out", str(out), "--vcodec", vcodec]
    cmd += ["--episodes", "success"]
    load = loadavg()
    with tempfile.TemporaryDirectory(prefix="bp-bench-hf-") as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=_child_env(Path(tmp)),
            check=False,
        )
        process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the official writer failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["process_wall_s"] = round(process_s, 3)
    summary["loadavg_at_start"] = load
    shutil.rmtree(out, ignore_errors=True)
    return summary


def run_ours(
    store: Path,
    scene: str,
    run: str,
    dataset_id: str,
    args: argparse.Namespace,
    profile: Path | None = None,
) -> dict[str, Any]:
    """``bp-export`` as a job; wall seconds, the dataset root, its frames and the breakdown."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env.update(
        {
            "STORAGE_URI": store.as_uri(),
            "SCENE_ID": scene,
            "RUN_ID": run,
            "DATASET_ID": dataset_id,
            "EXPORT_VIDEO_CODEC": args.vcodec,
            "EXPORT_WORKERS": str(args.workers),
            "EXPORT_ROBOMIMIC": "true" if args.robomimic else "false",
            "LOG_FORMAT": "json",
        }
    )
    if args.ours_pythonpath:
        env["PYTHONPATH"] = args.ours_pythonpath
    cmd = [str(Path(sys.executable).parent / "bp-export")]
    if profile is not None:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "bp_export.main"]
    load = loadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=args.timeout, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bp-export failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    record = json.loads((store / "datasets" / dataset_id / "export" / "_SUCCESS.json").read_text())
    root = store / record["attempt_dir"]
    info = json.loads((root / "meta" / "info.json").read_text())
    summary = record["summary"]
    committed = [
        json.loads(ln)
        for ln in (proc.stdout + proc.stderr).splitlines()
        if '"stage_committed"' in ln and ln.startswith("{")
    ]
    duration = committed[-1]["duration_s"] if committed else summary["wall_s"]
    process = {
        "start-up (interpreter, imports, settings, inputs digest)": round(wall - duration, 3),
        "stage run": summary["wall_s"],
        "commit": round(duration - summary["wall_s"], 3),
    }
    return {
        "wall_s": round(wall, 3),
        "root": str(root),
        "frames": info["total_frames"],
        "episodes": info["total_episodes"],
        "robomimic": args.robomimic,
        "frames_per_s": round(info["total_frames"] / wall, 2),
        "loadavg_at_start": load,
        "cpu_main_s": summary.get("cpu_s"),
        "cpu_encoders_s": summary.get("cpu_encoders_s"),
        "breakdown": {"process": process, **summary.get("stage_seconds", {})},
    }


def run_ceiling(
    store: Path,
    scene: str,
    run: str,
    keys: list[str],
    fps: int,
    work: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The pure-encoder ceiling on the same frames (see ``encode_ceiling.py``)."""
    load = loadavg()
    out = encode_ceiling.measure(
        store, scene, run, keys, args.workers, args.vcodec, fps, work, args.timeout
    )
    out["frames_per_s"] = round(out["frames"] / out["wall_s"], 2)
    out["loadavg_at_start"] = load
    shutil.rmtree(work, ignore_errors=True)
    return out


def _best(fn: Any, repeat: int) -> tuple[float, list[float]]:
    fn()  # warm the page cache and imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), [round(t, 4) for t in times]


def checksum_seconds(root: Path, repeat: int) -> dict[str, Any]:
    """``sha256sum -c`` against bp verify's checksum phase and whole command (best of)."""
    from bp_dataset.checksum_check import check_checksums  # noqa: PLC0415
    from bp_dataset.root import open_target  # noqa: PLC0415

    def sha256sum() -> None:
        proc = subprocess.run(
            [SHA256SUM, "--quiet", "-c", "meta/SHA256SUMS"],
            cwd=root,
            capture_output=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"sha256sum -c failed on {root}: {proc.stdout[-500:]!r}")

    def phase() -> None:
        target = open_target(str(root))
        try:
            outcome = check_checksums(target)
        finally:
            target.close()
        if not outcome.result.passed:
            raise SystemExit(f"bp verify's checksum phase failed on {root}: {outcome.result}")

    def cli() -> None:
        bp = str(Path(sys.executable).parent / "bp")
        proc = subprocess.run(
            [bp, "verify", "--checksums-only", "--json", str(root)],
            capture_output=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"bp verify --checksums-only failed on {root}: {proc.stderr[-500:]!r}")

    base_s, base_all = _best(sha256sum, repeat)
    phase_s, phase_all = _best(phase, repeat)
    cli_s, cli_all = _best(cli, repeat)
    listed = [
        ln.split("  ", 1)[1]
        for ln in (root / "meta" / "SHA256SUMS").read_text().splitlines()
        if ln.strip()
    ]
    return {
        "files": len(listed),
        "files_bytes": sum((root / rel).stat().st_size for rel in listed),
        "sha256sum_c_s": round(base_s, 4),
        "ours_phase_s": round(phase_s, 4),
        "ours_verify_cli_s": round(cli_s, 4),
        "ratio_phase": round(base_s / phase_s, 2),
        "ratio_cli": round(base_s / cli_s, 2),
        "target": ">= 0.9x (sha256sum seconds / ours)",
        "runs": {"sha256sum": base_all, "phase": phase_all, "cli": cli_all},
    }


def check_conformance(root: Path) -> dict[str, Any]:
    """The conformance checker's summary for our output (untimed)."""
    with tempfile.TemporaryDirectory(prefix="bp-bench-hf-") as tmp:
        proc = subprocess.run(
            [
                str(LEROBOT_PYTHON),
                str(REPO / "tests/conformance/check_lerobot.py"),
                "--root",
                str(root),
            ],
            capture_output=True,
            text=True,
            timeout=3600,
            env=_child_env(Path(tmp)),
            check=False,
        )
    lines = proc.stdout.strip().splitlines()
    summary: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    keys = ("ok", "frames_read", "max_frame_time_error_s", "problem_count", "problems")
    return {k: summary.get(k) for k in keys}


def measure_size(
    store: Path, scene: str, run: str, copies: int, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Official, ours and the ceiling on ``copies`` x the store's episodes (best of repeat)."""
    size_dir = work / f"x{copies}"
    run_id = export_inputs.repeated_store(store, scene, run, size_dir / "input", copies)
    episodes, frames = export_inputs.success_frames(size_dir / "input", scene, run_id)
    print(f"== x{copies}: {episodes} episodes, {frames} frames; load {loadavg()}", file=sys.stderr)
    runs: dict[str, list[dict[str, Any]]] = {"official": [], "ours": [], "ceiling": []}
    for i in range(args.repeat):
        official = run_official(
            size_dir / "input", scene, run_id, size_dir / f"official-{i}", args.vcodec, args.timeout
        )
        runs["official"].append(official)
        linked = size_dir / f"ours-{i}"
        export_inputs.repeated_store(size_dir / "input", scene, run_id, linked, 1)
        runs["ours"].append(run_ours(linked, scene, run_id, f"bench-{i}", args))
        keys = [f"observation.images.{c}" for c in official["cameras"]]
        runs["ceiling"].append(
            run_ceiling(
                size_dir / "input", scene, run_id, keys, official["fps"], size_dir / "ceil", args
            )
        )
        for name, r in runs.items():
            print(
                f"  {name}: {r[-1]['frames']} frames in {r[-1]['wall_s']} s = "
                f"{r[-1]['frames_per_s']} frames/s (load at start {r[-1]['loadavg_at_start']})",
                file=sys.stderr,
            )
    best = {k: max(v, key=lambda r: r["frames_per_s"]) for k, v in runs.items()}
    if len({best[k]["frames"] for k in best}) != 1:
        raise SystemExit(f"frame counts differ: {[(k, best[k]['frames']) for k in best]}")
    result: dict[str, Any] = {
        "copies": copies,
        "episodes": episodes,
        "frames": frames,
        **best,
        "ratios": {
            "ours_over_official": round(
                best["ours"]["frames_per_s"] / best["official"]["frames_per_s"], 2
            ),
            "ours_over_ceiling": round(
                best["ours"]["frames_per_s"] / best["ceiling"]["frames_per_s"], 3
            ),
            "ceiling_over_official": round(
                best["ceiling"]["frames_per_s"] / best["official"]["frames_per_s"], 2
            ),
            "target": "ours >= 5x official",
        },
        "all_frames_per_s": {k: [r["frames_per_s"] for r in v] for k, v in runs.items()},
    }
    if args.profile and copies == max(args.copies):
        prof = size_dir / "ours.prof"
        linked = size_dir / "ours-profiled"
        export_inputs.repeated_store(size_dir / "input", scene, run_id, linked, 1)
        run_ours(linked, scene, run_id, "bench-profiled", args, profile=prof)
        result["profile"] = profile_top(prof, args.profile_top)
    return result


def profile_top(path: Path, top: int) -> list[dict[str, Any]]:
    """The ``top`` functions of a cProfile file by own time (printed too)."""
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return [
        {
            "function": f"{f[0]}:{f[1]}({f[2]})",
            "calls": v[1],
            "tottime_s": round(v[2], 3),
            "cumtime_s": round(v[3], 3),
        }
        for f, v in rows
    ]


def print_report(sizes: list[dict[str, Any]]) -> None:
    """The results as tables on stderr."""
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    say(
        "\n| frames | official s (f/s) | ours s (f/s) | ceiling s (f/s) | ours/official | ours/ceiling | ceiling/official |"
    )
    say("|---:|---:|---:|---:|---:|---:|---:|")
    for s in sizes:
        o, u, c, r = s["official"], s["ours"], s["ceiling"], s["ratios"]
        say(
            f"| {s['frames']:,} | {o['wall_s']} ({o['frames_per_s']}) | {u['wall_s']} ({u['frames_per_s']}) "
            f"| {c['wall_s']} ({c['frames_per_s']}) | {r['ours_over_official']}x | "
            f"{r['ours_over_ceiling']:.0%} | {r['ceiling_over_official']}x |"
        )
    for s in sizes:
        br = s["ours"]["breakdown"]
        say(f"\nours at {s['frames']:,} frames: where the time went (wall s / CPU s)")
        for step, secs in br.get("process", {}).items():
            say(f"  process   {step:<55} {secs:>8.3f}")
        for part in ("main", "encoders"):
            for step, v in br.get(part, {}).items():
                say(f"  {part:<9} {step:<55} {v['wall_s']:>8.3f} {v['cpu_s']:>8.3f}")
        if "main" not in br:
            say("  (no stage_seconds in the commit summary: an export from before they existed)")


def parse_sizes(args: argparse.Namespace, base_frames: int) -> list[int]:
    """``--copies`` as given, or the copies that reach each of ``--frames``."""
    if args.frames:
        targets = [int(x) for x in args.frames.split(",")]
        return sorted({max(1, math.ceil(t / base_frames)) for t in targets})
    if args.copies_text:
        return sorted({int(x) for x in args.copies_text.split(",")})
    return [1] if args.quick else [1, max(2, math.ceil(10_000 / base_frames))]


def main() -> int:
    """Measure every size; print the tables and write the JSON."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--store", type=Path, default=DEFAULT_STORE)
    ap.add_argument("--scene", default=export_inputs.SCENE)
    ap.add_argument("--run", default=None)
    ap.add_argument("--quick", action="store_true", help="one size (the store), one run of each")
    ap.add_argument("--copies", dest="copies_text", default="", help="sizes: e.g. 1,6")
    ap.add_argument(
        "--frames", default="", help="sizes: at least these many frames, e.g. 2000,10000"
    )
    ap.add_argument("--repeat", type=int, default=0, help="runs of each side (best kept)")
    ap.add_argument("--checksum-repeat", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="EXPORT_WORKERS (and ceiling processes)")
    ap.add_argument("--vcodec", default="libsvtav1", choices=("libsvtav1", "libx264"))
    ap.add_argument("--robomimic", action="store_true", help="bp-export also writes the HDF5")
    ap.add_argument("--check", action="store_true", help="run the conformance checker on ours")
    ap.add_argument("--profile", action="store_true", help="cProfile ours at the largest size")
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument("--ours-pythonpath", default="", help="PYTHONPATH for bp-export (before/after)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--out", type=Path, default=HERE / "results_export.json")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    args.repeat = args.repeat or (1 if args.quick else 2)
    args.checksum_repeat = args.checksum_repeat or (2 if args.quick else 5)

    store = args.store.resolve()
    if not store.exists():
        print(f"recording the fixture store into {store} (real stages, minutes)", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(HERE / "export_inputs.py"), "--record", str(store)],
            check=True,
            timeout=export_inputs.RECORD_TIMEOUT_S,
        )
    run = args.run or export_inputs.find_run(store, args.scene)
    _, base_frames = export_inputs.success_frames(store, args.scene, run)
    args.copies = parse_sizes(args, base_frames)
    load_before = loadavg()
    print(f"loadavg before: {load_before}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bp-export-bench-"))
    try:
        sizes = [measure_size(store, args.scene, run, n, work, args) for n in args.copies]
        largest = Path(sizes[-1]["ours"]["root"])
        result: dict[str, Any] = {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(sys.argv),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "loadavg_before": load_before,
                "loadavg_after": None,
            },
            "input": {"store": str(store), "scene": args.scene, "run": run, "vcodec": args.vcodec},
            "sizes": sizes,
            "checksums": checksum_seconds(largest, args.checksum_repeat),
        }
        if args.check:
            result["conformance_of_ours"] = check_conformance(largest)
        result["machine"]["loadavg_after"] = loadavg()
        print_report(sizes)
        print(f"loadavg before: {load_before}\nloadavg after:  {loadavg()}", file=sys.stderr)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: result[k] for k in ("machine", "checksums")}, indent=2))
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
