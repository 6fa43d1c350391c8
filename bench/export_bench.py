"""Export throughput against the OFFICIAL LeRobot writer, and checksum speed against sha256sum.

  uv run python bench/export_bench.py --store /tmp/bpfix-core [--scene kitchen_counter]
      [--run RUN] [--vcodec libsvtav1] [--repeat 1] [--checksum-repeat 5] [--robomimic]
      [--check] [--out bench/results_export.json]

Needs the test-only venv (``bash scripts/lerobot_env.sh``) and a ``file://`` store with one
run's committed episode shards. On the SAME committed episodes (the successful ones: what a
core-tier dataset holds), with the SAME codec and fps:

* official: ``.venv-lerobot/bin/python bench/lerobot_writer.py`` — ``LeRobotDataset.create``
  / ``add_frame`` / ``save_episode`` / ``finalize`` (lerobot 0.4.4), timed inside the child
  from ``create`` to ``finalize`` (interpreter start and imports excluded: the baseline's best
  case);
* ours: the ``bp-export`` console script as a job runs it (``STORAGE_URI``, ``SCENE_ID``,
  ``RUN_ID``, ``DATASET_ID``, ``EXPORT_VIDEO_CODEC``), timed as a whole process
  (start-up, imports, reading the store, stats, checksums and the commit included), on a
  hard-linked copy of the store; ``EXPORT_ROBOMIMIC=false`` unless ``--robomimic`` so that both
  sides write the same LeRobot dataset;
* frames/s of each (frames of the dataset over wall seconds) and the ratio ours / official
  (target ≥ 5×); the frame counts must agree or the benchmark fails.

Then the checksum pass on our export's files (page cache warmed by one untimed run of each):

* baseline: ``sha256sum --quiet -c meta/SHA256SUMS`` in the dataset folder (one process);
* ours: ``bp verify``'s checksum phase, ``bp_dataset.checksum_check.check_checksums`` called
  in-process (what ``bp verify --checksums-only`` runs), and the whole
  ``bp verify --checksums-only --json`` command (interpreter start-up included);
* the best of ``--checksum-repeat`` runs each; ratio = sha256sum seconds / ours (target ≥ 0.9×,
  higher is faster).

``--check`` also runs the conformance checker (tests/conformance/check_lerobot.py) on our
output (untimed). Results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LEROBOT_PYTHON = REPO / ".venv-lerobot" / "bin" / "python"
STAMP = REPO / ".venv-lerobot" / ".bp-lerobot-env.stamp"
BIN = Path(sys.executable).parent
SHA256SUM = shutil.which("sha256sum") or "/usr/bin/sha256sum"


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


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
    cmd = [
        str(LEROBOT_PYTHON),
        str(REPO / "bench" / "lerobot_writer.py"),
        "--store",
        str(store),
        "--scene",
        scene,
        "--run",
        run,
        "--out",
        str(out),
        "--vcodec",
        vcodec,
        "--episodes",
        "success",
    ]
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
    return summary


def linked_store(src_root: Path, scene: str, dest: Path) -> Path:
    """A hard-linked copy of one scene's tree (the export writes datasets/ beside it)."""
    shutil.copytree(src_root / "scenes" / scene, dest / "scenes" / scene, copy_function=os.link)
    return dest


def run_ours(
    store: Path,
    scene: str,
    run: str,
    dataset_id: str,
    vcodec: str,
    robomimic: bool,
    timeout_s: float,
) -> dict[str, Any]:
    """``bp-export`` as a job; returns wall seconds, the dataset root and its frame count."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env.update(
        {
            "STORAGE_URI": store.as_uri(),
            "SCENE_ID": scene,
            "RUN_ID": run,
            "DATASET_ID": dataset_id,
            "EXPORT_VIDEO_CODEC": vcodec,
            "EXPORT_ROBOMIMIC": "true" if robomimic else "false",
            "LOG_FORMAT": "json",
        }
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [_tool("bp-export")],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bp-export failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    record = json.loads((store / "datasets" / dataset_id / "export" / "_SUCCESS.json").read_text())
    root = store / record["attempt_dir"]
    info = json.loads((root / "meta" / "info.json").read_text())
    return {
        "wall_s": round(wall, 3),
        "root": str(root),
        "frames": info["total_frames"],
        "episodes": info["total_episodes"],
        "robomimic": robomimic,
        "frames_per_s": round(info["total_frames"] / wall, 2),
    }


def _best(fn: Any, repeat: int) -> tuple[float, list[float]]:
    fn()  # warm the page cache and imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), [round(t, 4) for t in times]


def sha256sum_seconds(root: Path, repeat: int) -> tuple[float, list[float]]:
    """Best wall seconds of ``sha256sum --quiet -c meta/SHA256SUMS`` in ``root``."""

    def once() -> None:
        proc = subprocess.run(
            [SHA256SUM, "--quiet", "-c", "meta/SHA256SUMS"],
            cwd=root,
            capture_output=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"sha256sum -c failed on {root}: {proc.stdout[-500:]!r}")

    return _best(once, repeat)


def ours_checksum_phase_seconds(root: Path, repeat: int) -> tuple[float, list[float]]:
    """Best wall seconds of bp verify's checksum phase (``check_checksums``), in-process."""
    from bp_dataset.checksum_check import check_checksums  # noqa: PLC0415
    from bp_dataset.root import open_target  # noqa: PLC0415

    def once() -> None:
        target = open_target(str(root))
        try:
            outcome = check_checksums(target)
        finally:
            target.close()
        if not outcome.result.passed:
            raise SystemExit(f"bp verify's checksum phase failed on {root}: {outcome.result}")

    return _best(once, repeat)


def ours_verify_cli_seconds(root: Path, repeat: int) -> tuple[float, list[float]]:
    """Best wall seconds of the whole ``bp verify --checksums-only --json`` command."""

    def once() -> None:
        proc = subprocess.run(
            [_tool("bp"), "verify", "--checksums-only", "--json", str(root)],
            capture_output=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"bp verify --checksums-only failed on {root}: {proc.stderr[-500:]!r}")

    return _best(once, repeat)


def check_conformance(root: Path) -> dict[str, Any]:
    """The conformance checker's summary for our output (untimed)."""
    with tempfile.TemporaryDirectory(prefix="bp-bench-hf-") as tmp:
        proc = subprocess.run(
            [
                str(LEROBOT_PYTHON),
                str(REPO / "tests" / "conformance" / "check_lerobot.py"),
                "--root",
                str(root),
            ],
            capture_output=True,
            text=True,
            timeout=3600,
            env=_child_env(Path(tmp)),
            check=False,
        )
    summary: dict[str, Any] = (
        json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    )
    return {
        k: summary.get(k)
        for k in ("ok", "frames_read", "max_frame_time_error_s", "problem_count", "problems")
    }


def find_run(store: Path, scene: str) -> str:
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


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--store",
        type=Path,
        required=True,
        help="root folder of a file:// store with committed episodes",
    )
    ap.add_argument("--scene", default="kitchen_counter")
    ap.add_argument("--run", default=None)
    ap.add_argument("--vcodec", default="libsvtav1", choices=("libsvtav1", "libx264"))
    ap.add_argument(
        "--repeat", type=int, default=1, help="export runs of each side (the best is kept)"
    )
    ap.add_argument("--checksum-repeat", type=int, default=5)
    ap.add_argument(
        "--robomimic",
        action="store_true",
        help="let bp-export also write the HDF5 (more work on our side)",
    )
    ap.add_argument(
        "--check", action="store_true", help="run the conformance checker on our output"
    )
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results_export.json")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()

    store = args.store.resolve()
    run = args.run or find_run(store, args.scene)
    work = Path(tempfile.mkdtemp(prefix="bp-export-bench-"))
    load_before = os.getloadavg()
    try:
        official_runs, ours_runs = [], []
        for i in range(args.repeat):
            official_runs.append(
                run_official(
                    store, args.scene, run, work / f"official-{i}", args.vcodec, args.timeout
                )
            )
            print(
                f"official writer: {official_runs[-1]['frames']} frames in {official_runs[-1]['wall_s']} s "
                f"= {official_runs[-1]['frames_per_s']} frames/s",
                file=sys.stderr,
            )
            linked = linked_store(store, args.scene, work / f"store-{i}")
            ours_runs.append(
                run_ours(
                    linked, args.scene, run, f"bench-{i}", args.vcodec, args.robomimic, args.timeout
                )
            )
            print(
                f"bp-export: {ours_runs[-1]['frames']} frames in {ours_runs[-1]['wall_s']} s "
                f"= {ours_runs[-1]['frames_per_s']} frames/s",
                file=sys.stderr,
            )
        official = max(official_runs, key=lambda r: r["frames_per_s"])
        ours = max(ours_runs, key=lambda r: r["frames_per_s"])
        if official["frames"] != ours["frames"]:
            raise SystemExit(
                f"frame counts differ: official {official['frames']}, ours {ours['frames']}"
            )
        root = Path(ours["root"])
        base_s, base_all = sha256sum_seconds(root, args.checksum_repeat)
        phase_s, phase_all = ours_checksum_phase_seconds(root, args.checksum_repeat)
        cli_s, cli_all = ours_verify_cli_seconds(root, args.checksum_repeat)
        listed = [
            ln.split("  ", 1)[1]
            for ln in (root / "meta" / "SHA256SUMS").read_text().splitlines()
            if ln.strip()
        ]
        sums_bytes = sum((root / rel).stat().st_size for rel in listed)
        result: dict[str, Any] = {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            },
            "input": {
                "store": str(store),
                "scene": args.scene,
                "run": run,
                "episodes": ours["episodes"],
                "frames": ours["frames"],
                "cameras": official["cameras"],
                "resolution": official["resolution"],
                "fps": official["fps"],
                "vcodec": args.vcodec,
            },
            "export": {
                "official": {
                    k: official[k]
                    for k in ("lerobot_version", "wall_s", "process_wall_s", "frames_per_s")
                },
                "ours": {k: ours[k] for k in ("wall_s", "frames_per_s", "robomimic")},
                "ratio_ours_over_official": round(
                    ours["frames_per_s"] / official["frames_per_s"], 2
                ),
                "target": ">= 5x",
                "all_runs": {
                    "official_fps": [r["frames_per_s"] for r in official_runs],
                    "ours_fps": [r["frames_per_s"] for r in ours_runs],
                },
            },
            "checksums": {
                "files": len(listed),
                "files_bytes": sums_bytes,
                "sha256sum_c_s": round(base_s, 4),
                "ours_phase_s": round(phase_s, 4),
                "ours_verify_cli_s": round(cli_s, 4),
                "ratio_phase": round(base_s / phase_s, 2),
                "ratio_cli": round(base_s / cli_s, 2),
                "target": ">= 0.9x (sha256sum seconds / ours)",
                "runs": {"sha256sum": base_all, "phase": phase_all, "cli": cli_all},
            },
        }
        if args.check:
            result["conformance_of_ours"] = check_conformance(root)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
