"""`bp workflow check` and `bp workflow run` on workflow files written for these tests, and
the live progress `bp run` shows."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

from bp_cli.progress import RunProgress
from bp_flow.launch.base import JobRun, TaskLine
from rich.console import Console

from tests.conftest import script

SAMPLE = """
# an invoice total with a discount, in parallel over the lines
main:
  params: [args]
  steps:
    - init:
        assign:
          - total: 0
    - lines:
        parallel:
          shared: [total]
          for:
            value: line
            in: ${args.lines}
            steps:
              - add:
                  assign:
                    - total: ${total + line.qty * line.price}
    - discount:
        call: apply
        args:
          amount: ${total}
          percent: ${default(map.get(args, "discount"), 0)}
        result: due
    - done:
        return:
          total: ${total}
          due: ${due}
apply:
  params: [amount, percent]
  steps:
    - check:
        switch:
          - condition: ${percent < 0 or percent > 100}
            raise:
              message: ${"bad discount " + string(percent)}
              tags: ["ValueError"]
    - r:
        return: ${amount - amount * percent / 100}
"""


def bp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run bp."""
    return subprocess.run([script("bp"), *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def test_workflow_run_prints_the_result_as_json(tmp_path: Path) -> None:
    """`bp workflow run FILE --data JSON` runs any file and prints its result as JSON."""
    path = tmp_path / "invoice.yaml"
    path.write_text(SAMPLE)
    data = {"lines": [{"qty": 2, "price": 10}, {"qty": 1, "price": 5}], "discount": 10}
    out = bp("workflow", "run", str(path), "--data", json.dumps(data), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"total": 25, "due": 22.5}


def test_workflow_run_failure_prints_the_error_map_and_exits_1(tmp_path: Path) -> None:
    """An unhandled error is printed as its error map on stdout, exit 1, no traceback."""
    path = tmp_path / "invoice.yaml"
    path.write_text(SAMPLE)
    out = bp("workflow", "run", str(path), "--data", json.dumps({"lines": [], "discount": 200}), cwd=tmp_path)
    assert out.returncode == 1
    assert json.loads(out.stdout) == {"message": "bad discount 200", "tags": ["ValueError"]}
    assert "Traceback" not in out.stderr


def test_workflow_check_lists_problems_with_lines(tmp_path: Path) -> None:
    """`bp workflow check` names every problem with file:line and exits 1."""
    path = tmp_path / "bad.yaml"
    path.write_text("- a:\n    call: http.post\n- b:\n    return: ${ghost}\n")
    out = bp("workflow", "check", str(path), cwd=tmp_path)
    assert out.returncode == 1
    assert f"{path}:1:" in out.stderr and f"{path}:3:" in out.stderr


def test_progress_lines_for_a_sharded_stage() -> None:
    """Off a terminal, progress prints one line per change: start, shard progress with
    successes and an ETA, and the end with the time taken."""
    buf = io.StringIO()
    progress = RunProgress(Console(file=buf, force_terminal=False, width=200), ["episodes"])
    run = JobRun("bp-episodes", "episodes", "bp-episodes-1", {}, task_count=2)
    events = progress.events()
    assert events.on_start and events.on_line and events.on_end
    events.on_start(run, 0, 0)
    events.on_start(run, 1, 0)
    record = {"severity": "INFO", "progress": {"what": "episodes", "done": 1, "total": 4, "succeeded": 1}}
    events.on_line(TaskLine(run, 1, 0, json.dumps(record), record))
    events.on_end(run, 0, 0, 0)
    events.on_end(run, 1, 0, 0)
    text = buf.getvalue()
    assert "▶ episodes started: 2 task(s)" in text
    assert "episodes shard 1: 1/4 · 1 ok · ETA" in text
    assert "✓ episodes ok in" in text
