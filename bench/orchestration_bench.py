"""Orchestration overhead of running workflows/pipeline.yaml locally, and the interpreter's
cost per step — each against a baseline measured in the same run.

1. **Overhead of `bp run`**: the wall time of executing workflows/pipeline.yaml (the
   interpreter, the connectors, the launcher) minus the sum of its job executions' own
   times (each from its first task's start to its last task's end), as a fraction of the
   run. Target < 3 %. Measured on kitchen_counter with the demo's settings, to ``--until``
   a stage (default: every stage).
2. **Interpreter cost per step**: a synthetic workflow of assign/switch/call steps in a
   loop, µs per step, beside the same work written as plain Python (the baseline) — the
   ratio is what interpreting YAML costs.

    uv run python bench/orchestration_bench.py                    # full demo-sized run
    uv run python bench/orchestration_bench.py --until tasks      # quick
    uv run python bench/orchestration_bench.py --steps-only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import textwrap
import time
from pathlib import Path

from bp_flow.connectors import SUPPORTED
from bp_flow.engine import Execution
from bp_flow.loader import load_text
from bp_flow.runtime import FakeClock, Runtime

REPO = Path(__file__).resolve().parents[1]
SCENE = REPO / "examples" / "scenes" / "kitchen_counter"
DEMO = [
    "VARIATIONS_COUNT=2",
    "EPISODES_PER_TASK=1",
    "EPISODES_MAX_VARIANTS=1",
    "EPISODES_TASKS=pick_place",
    "EPISODES_MIN_SUCCESS_RATE=0.3",
]

LOOP = textwrap.dedent(
    """
    main:
      params: [n]
      steps:
        - init:
            assign:
              - total: 0
              - m: {}
        - loop:
            for:
              value: i
              range: ${[1, n]}
              steps:
                - add:
                    assign:
                      - total: ${total + i}
                      - m[string(i % 10)]: ${i}
                - check:
                    switch:
                      - condition: ${i % 7 == 0}
                        call: bump
                        args:
                          x: ${total}
                        result: total
        - done:
            return: ${total}
    bump:
      params: [x]
      steps:
        - r:
            return: ${x + 1}
    """
)


def baseline(n: int) -> int:
    """The same work as LOOP, in plain Python."""
    total, m = 0, {}
    for i in range(1, n + 1):
        total += i
        m[str(i % 10)] = i
        if i % 7 == 0:
            total = total + 1
    return total


def bench_steps(n: int = 20_000) -> dict[str, float]:
    """µs per interpreted step vs the same work in Python."""
    wf = load_text(LOOP, "bench.yaml", SUPPORTED)
    ex = Execution(wf, Runtime(clock=FakeClock()))
    t0 = time.perf_counter()
    result = ex.run(n)
    interp = time.perf_counter() - t0
    t0 = time.perf_counter()
    expected = baseline(n)
    base = time.perf_counter() - t0
    assert result == expected, (result, expected)
    return {
        "steps": ex.steps_executed,
        "us_per_step": 1e6 * interp / ex.steps_executed,
        "baseline_us_per_iteration": 1e6 * base / n,
        "interpreter_s": interp,
        "baseline_s": base,
        "ratio": interp / base,
    }


def bench_run(until: str | None, shards: int) -> dict[str, object]:
    """workflows/pipeline.yaml as `bp run` executes it (same deploy and launcher), with every
    job execution timed from its first task's start to its last task's end."""
    from bp_cli.local_flow import LocalSetup, deploy  # noqa: PLC0415
    from bp_cli.scenes import upload_scene  # noqa: PLC0415
    from bp_flow.launch.base import JobRun, TaskEvents  # noqa: PLC0415
    from bp_sdk.storage import open_storage  # noqa: PLC0415

    spans: dict[str, list[float]] = {}

    def started(run: JobRun, index: int, attempt: int) -> None:
        spans.setdefault(run.execution, [time.perf_counter(), 0.0])

    def ended(run: JobRun, index: int, attempt: int, code: int) -> None:
        spans[run.execution][1] = max(spans[run.execution][1], time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="bp-orch-bench-") as tmp:
        root = Path(tmp) / "store"
        storage = open_storage(root.as_uri())
        upload_scene(storage, SCENE, SCENE.name)
        setup = LocalSetup(root.as_uri(), events=TaskEvents(on_start=started, on_end=ended))
        deployment, _launcher = deploy(setup)
        settings = dict(s.split("=", 1) for s in DEMO)
        args = {
            "scene_id": SCENE.name,
            "run_id": "r-bench",
            "settings": settings,
            "episodes_shards": shards,
            "report": False,
        }
        if until:
            args["until"] = until
        t0 = time.perf_counter()
        outcome = deployment.execute("pipeline", args)
        wall = time.perf_counter() - t0
    if outcome.state != "SUCCEEDED":
        raise SystemExit(f"the run failed: {outcome.error}")
    jobs = sum(end - start for start, end in spans.values())
    return {
        "wall_s": wall,
        "job_executions": len(spans),
        "sum_of_job_executions_s": jobs,
        "overhead_s": wall - jobs,
        "overhead_fraction": (wall - jobs) / wall,
        "interpreter_steps": outcome.steps,
        "status": outcome.result.get("status"),
    }


def bench_cli(until: str | None, shards: int) -> dict[str, object]:
    """The `bp run` command as a user runs it (start-up, upload, the workflow, the display):
    its wall time minus the job executions' own times, which the result reports per stage
    (`job_seconds`: each execution from its start to its completion)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="bp-orch-cli-") as tmp:
        root = Path(tmp) / "store"
        argv = [
            str(Path(sys.executable).parent / "bp"),
            "run",
            str(SCENE),
            "--storage",
            root.as_uri(),
            "--tasks",
            str(shards),
            "--no-report",
        ]
        argv += [f"--set={s}" for s in DEMO] + (["--until", until] if until else [])
        t0 = time.perf_counter()
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=3600, check=False, cwd=tmp
        )
        wall = time.perf_counter() - t0
    if proc.returncode not in (0, 4):
        raise SystemExit(f"bp run failed ({proc.returncode}): " + proc.stderr[-3000:])
    stages = json.loads(proc.stdout)["stages"]
    jobs = sum(float(s.get("job_seconds") or 0) for s in stages)
    return {
        "wall_s": wall,
        "sum_of_job_executions_s": jobs,
        "overhead_s": wall - jobs,
        "overhead_fraction": (wall - jobs) / wall,
    }


def main() -> None:
    """Run the benchmarks and print/save the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--until", default=None)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--steps-only", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results_orchestration.json")
    args = ap.parse_args()
    out: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "date": time.strftime("%Y-%m-%d"),
        "steps": bench_steps(),
    }
    steps = out["steps"]
    assert isinstance(steps, dict)
    print(
        f"interpreter: {steps['us_per_step']:.1f} µs/step over {steps['steps']} steps; plain Python "
        f"{steps['baseline_us_per_iteration']:.2f} µs/iteration; ratio {steps['ratio']:.0f}×"
    )
    if not args.steps_only:
        run = bench_run(args.until, args.tasks)
        out["run"] = {"until": args.until or "deliver", **run}
        print(
            f"pipeline.yaml: wall {run['wall_s']:.1f} s, {run['job_executions']} job executions "
            f"{run['sum_of_job_executions_s']:.1f} s, overhead "
            f"{run['overhead_s']:.2f} s = {100 * float(run['overhead_fraction']):.2f} % of the run (target < 3 %)"
        )
    if not args.steps_only:
        cli = bench_cli(args.until, args.tasks)
        out["cli"] = cli
        print(
            f"bp run (the command): wall {cli['wall_s']:.1f} s, job executions {cli['sum_of_job_executions_s']:.1f} s, "
            f"overhead {cli['overhead_s']:.2f} s = {100 * float(cli['overhead_fraction']):.2f} % (start-up, upload, display included)"
        )
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
