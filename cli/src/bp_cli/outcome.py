"""What ``bp run`` prints when a workflow ends, and its exit code.

Exit codes of ``bp run``: 0 delivered or completed; 4 needs approval (the gate failed
threshold checks and no approval covers them yet); 1 a stage failed and retrying may
help; 3 a stage failed permanently; 2 configuration or usage error; 130 interrupted.
"""

from __future__ import annotations

import json
from typing import Any

from bp_flow.local import Outcome
from bp_sdk.errors import BPError, NotFoundError
from bp_sdk.markers import FailureMarker
from bp_sdk.storage import Storage
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

NEEDS_APPROVAL_EXIT = 4
INTERRUPTED_EXIT = 130


def exit_code(outcome: Outcome) -> int:
    """The process exit code for how the pipeline ended."""
    if outcome.state == "CANCELLED":
        return INTERRUPTED_EXIT
    if outcome.state == "FAILED":
        error = outcome.error if isinstance(outcome.error, dict) else {}
        if error.get("permanent") is True or "Permanent" in (error.get("tags") or []):
            return 3
        if "ValueError" in (error.get("tags") or []) and "stage" not in error:
            return 2
        return 1
    result = outcome.result if isinstance(outcome.result, dict) else {}
    return NEEDS_APPROVAL_EXIT if result.get("status") == "needs_approval" else 0


def print_pipeline_result(console: Console, result: dict[str, Any], storage: Storage) -> None:
    """The per-stage table, the gate verdict, where the dataset went, the report."""
    table = Table(title=f"scene {result.get('scene_id')} · run {result.get('run_id')}")
    for col, just in (
        ("stage", "left"),
        ("result", "left"),
        ("seconds", "right"),
        ("attempts", "right"),
        ("tasks", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for st in result.get("stages") or []:
        colour = "green" if st.get("result") == "ok" else "yellow"
        table.add_row(
            Text(str(st.get("stage"))),
            Text(str(st.get("result")), style=colour),
            f"{float(st.get('seconds') or 0):.1f}",
            str(st.get("attempts", "")),
            str(st.get("tasks", "")),
        )
    console.print(table)
    gate = result.get("gate")
    if isinstance(gate, dict):
        verdict = (
            "passed" if gate.get("passed") else f"FAILED: {', '.join(gate.get('failed') or [])}"
        )
        console.print(
            Text(
                f"gate ({gate.get('config_version')}): {verdict}; dataset digest {gate.get('dataset_digest')}"
            )
        )
    delivery = result.get("delivery")
    if isinstance(delivery, dict):
        approval = (
            f" under approval {delivery['approval_id']}" if delivery.get("approval_id") else ""
        )
        console.print(
            Text(f"delivered to {delivery.get('destination')}{approval}", style="bold green")
        )
        console.print(
            Text(
                f"the lab checks it with: bp verify --digest {delivery.get('dataset_digest')} "
                f"{delivery.get('destination')}"
            )
        )
    status = result.get("status")
    if status == "needs_approval":
        console.print(
            Text("needs approval: " + str(result.get("next_step") or ""), style="bold yellow")
        )
    report = result.get("report")
    if isinstance(report, dict) and report.get("key"):
        console.print(
            Text(
                f"run report: {storage.uri}/{str(report['key']).rsplit('/', 1)[0]}/ (bp report writes it to a file)"
            )
        )
    console.print(Text(f"status: {status}", style="bold"))


def print_failure(
    console: Console, outcome: Outcome, storage: Storage, logs: str, prefix: str = ""
) -> None:
    """One clear summary: which stage, the marker's message, what to do next — no traceback."""
    error = outcome.error
    if not isinstance(error, dict):
        console.print(Text(f"the run failed: {json.dumps(error)[:2000]}", style="bold red"))
        return
    stage = error.get("stage")
    title = f"{stage} failed" if stage else "the run failed"
    console.print(Text(f"{title}: {error.get('message', '')}", style="bold red"))
    key = error.get("marker")
    if isinstance(key, str) and prefix:
        key = key.removeprefix(prefix.strip("/") + "/")
    marker = _marker(storage, key)
    for problem in (marker.problems if marker else [])[:50]:
        console.print(Text(f"  • {problem}"))
    if marker is not None and len(marker.problems) > 50:
        console.print(Text(f"  … and {len(marker.problems) - 50} more (see the marker)"))
    if error.get("next_step"):
        console.print(Text("next: " + str(error["next_step"]), style="bold"))
    if key:
        console.print(Text(f"marker: {storage.uri}/{key}", style="dim"))
    console.print(Text(f"job logs: {logs}", style="dim"))


def _marker(storage: Storage, key: Any) -> FailureMarker | None:
    if not isinstance(key, str) or not key:
        return None
    try:
        return FailureMarker.model_validate_json(storage.read_bytes(key))
    except (NotFoundError, ValidationError, BPError):
        return None
