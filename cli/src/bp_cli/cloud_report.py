"""How ``bp run --cloud`` prints a finished pipeline execution: a result table, or one failure.

The shapes are those of ``workflows/pipeline.yaml``: its result map (status, stages,
gate, delivery, report, next_step) and the error map it raises when a stage fails
(message, tags, stage, error_type, permanent, next_step, marker, exit_code). Every
value is data, never markup; no traceback is ever printed.
"""

from __future__ import annotations

import json
from typing import Any

from google.cloud.workflows.executions_v1 import types as wf
from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {
    "delivered": "bold green",
    "completed": "bold green",
    "needs_approval": "bold yellow",
}


def print_result(console: Console, result_json: str) -> None:
    """The result map as a table of stages, then the verdict, the digest and the destination."""
    result = _decode(result_json)
    if not isinstance(result, dict):
        console.print(f"pipeline succeeded; result: {result_json[:2000]}", markup=False)
        return
    status = str(result.get("status") or "succeeded")
    table = Table(title="stages", title_justify="left")
    for column in ("stage", "result", "seconds", "attempts", "tasks"):
        table.add_column(column, justify="left" if column in ("stage", "result") else "right")
    for stage in result.get("stages") or []:
        if isinstance(stage, dict):
            table.add_row(*(_cell(stage, key) for key in ("stage", "result")), *_numbers(stage))
    console.print(table)
    for label, value in _facts(result):
        console.print(f"{label:<16}{value}", markup=False, highlight=False)
    console.print(f"pipeline {status}", style=STATUS_STYLE.get(status, "bold"), markup=False)


def _numbers(stage: dict[str, Any]) -> tuple[Text, Text, Text]:
    seconds = stage.get("seconds")
    shown = Text(f"{seconds:.0f}") if isinstance(seconds, int | float) else _cell(stage, "seconds")
    return shown, _cell(stage, "attempts"), _cell(stage, "tasks")


def _cell(row: dict[str, Any], key: str) -> Text:
    """A value as Text: a table cell given a str would be parsed as markup."""
    value = row.get(key)
    return Text("" if value is None else str(value))


def _facts(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines under the table, only those the result has."""
    out = [
        ("run", f"scene {result.get('scene_id')} · run {result.get('run_id')}"),
        ("dataset", str(result.get("dataset_id"))),
    ]
    gate = result.get("gate")
    if isinstance(gate, dict):
        failed = gate.get("failed") or []
        verdict = "passed" if gate.get("passed") else f"failed: {', '.join(map(str, failed))}"
        out.append(("gate", f"{verdict} (thresholds {gate.get('config_version')})"))
        out.append(("dataset digest", str(gate.get("dataset_digest"))))
    delivery = result.get("delivery")
    if isinstance(delivery, dict):
        out.append(("delivered to", str(delivery.get("destination"))))
        if delivery.get("approval_id"):
            out.append(("approval", str(delivery["approval_id"])))
    report = result.get("report")
    if isinstance(report, dict) and report.get("key"):
        out.append(("run report", str(report["key"])))
    if result.get("next_step"):
        out.append(("next", str(result["next_step"])))
    return out


def print_failure(console: Console, execution: wf.Execution, argument: dict[str, Any]) -> None:
    """One summary of a failed execution: stage, marker message, next step, marker location."""
    payload = _decode(execution.error.payload)
    if not isinstance(payload, dict):
        text = execution.error.payload or "no error payload"
        console.print("pipeline failed:", style="bold red", end=" ")
        console.print(text[:2000], markup=False, highlight=False)
        return
    stage = payload.get("stage")
    tags = [str(t) for t in payload.get("tags") or [] if isinstance(t, str)]
    if stage:
        kind = "permanent" if payload.get("permanent") else "retryable, retries used up"
        head = f"pipeline failed at stage {stage} ({kind}): {payload.get('error_type') or '?'}"
    else:
        head = f"pipeline failed ({', '.join(tags) or 'error'})"
    console.print(head, style="bold red", markup=False, highlight=False)
    console.print(str(payload.get("message") or execution.error.payload), markup=False)
    if payload.get("next_step"):
        console.print(f"next:   {payload['next_step']}", markup=False, highlight=False)
    if payload.get("marker"):
        console.print(f"marker: {_marker_uri(payload['marker'], argument)}", markup=False)
    where = _where(execution)
    if where:
        console.print(f"failed in step {where}", style="dim", markup=False)


def _marker_uri(key: Any, argument: dict[str, Any]) -> str:
    """gs://bucket/key when the run's bucket is known; else the key in the pipeline's bucket."""
    bucket = argument.get("bucket")
    if bucket:
        return f"gs://{bucket}/{key}"
    return f"{key} (in the pipeline's bucket, BP_BUCKET)"


def _where(execution: wf.Execution) -> str:
    """``routine.step`` where the error was raised, from the stack trace (not printed itself)."""
    elements = list(execution.error.stack_trace.elements)
    if not elements:
        return ""
    top = elements[0]
    return f"{top.routine}.{top.step}"


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None
