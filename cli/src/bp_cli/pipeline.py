"""``bp run``: every installed stage in pipeline order, one run id, progress and a report.

This sequential runner is the embedded stand-in until the workflow interpreter executes
``workflows/pipeline.yaml`` locally; both run each stage through its own entry point.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bp_sdk.commit import read_committed
from bp_sdk.layout import Unit
from bp_sdk.storage import Storage
from rich.console import Console
from rich.table import Table

from bp_cli.errors import UsageError
from bp_cli.report import MEANING, show_unit
from bp_cli.stages import available_stages, run_tasks, stage_script

PIPELINE = (
    "ingest",
    "simready",
    "assemble",
    "variations",
    "tasks",
    "episodes",
    "export",
    "gate",
    "deliver",
)
SHARDED = frozenset({"episodes"})


@dataclass
class Outcome:
    """How one stage of the pipeline ended."""

    stage: str
    exit_code: int
    seconds: float
    files: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def planned_stages(until: str | None = None) -> list[str]:
    """Installed stages in pipeline order, up to ``until`` (inclusive)."""
    installed = set(available_stages())
    stages = [s for s in PIPELINE if s in installed]
    if until is None:
        return stages
    if until not in stages:
        raise UsageError(
            f"--until {until!r} is not an installed stage; installed, in order: {', '.join(stages)}"
        )
    return stages[: stages.index(until) + 1]


def run_pipeline(
    console: Console,
    store: Storage,
    stages: list[str],
    env: Mapping[str, str],
    scene_id: str,
    run_id: str,
    execution: str,
    tasks: int,
    timeout: float,
) -> list[Outcome]:
    """Run the stages one after another; stop at the first that fails."""
    outcomes: list[Outcome] = []
    for k, stage in enumerate(stages, start=1):
        count = tasks if stage in SHARDED else 1
        console.rule(f"[bold]{k}/{len(stages)} {stage}")
        started = time.monotonic()
        results = run_tasks(stage_script(stage), env, count, timeout)
        code = max((r.exit_code for r in results), key=lambda c: (c != 0, c))
        outcome = Outcome(stage, code, time.monotonic() - started)
        units = read_committed(store, scene_id, run_id, stage)
        if units:
            outcome.files = sum(len(u.record.files) for u in units)
            outcome.summary = units[0].record.summary if len(units) == 1 else {"shards": len(units)}
        outcomes.append(outcome)
        if code != 0:
            for r in results:
                shard = (r.index, count) if stage in SHARDED else (None, None)
                show_unit(console, store, Unit(scene_id, run_id, stage, *shard), execution)
            break
    return outcomes


def print_summary(
    console: Console, outcomes: list[Outcome], store: Storage, scene_id: str, run_id: str
) -> None:
    """A table of every stage's result, then where the outputs are."""
    table = Table(title=f"scene {scene_id} · run {run_id}")
    for col in ("stage", "result", "seconds", "files", "summary"):
        table.add_column(col, justify="right" if col in {"seconds", "files"} else "left")
    for o in outcomes:
        colour = "green" if o.exit_code == 0 else "red"
        text = ", ".join(f"{k}={v}" for k, v in list(o.summary.items())[:5])
        table.add_row(
            o.stage,
            f"[{colour}]{MEANING.get(o.exit_code, o.exit_code)}[/]",
            f"{o.seconds:.1f}",
            str(o.files),
            text[:80],
        )
    console.print(table)
    console.print(
        f"outputs: {store.uri}/scenes/{scene_id}/runs/{run_id}/<stage>/ (each stage's _SUCCESS.json names its files)"
    )
