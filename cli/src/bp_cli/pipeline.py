"""``bp run``: every installed stage in pipeline order, one run id, progress and a report.

This sequential runner is the embedded stand-in until the workflow interpreter executes
``workflows/pipeline.yaml`` locally; both run each stage through its own entry point.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bp_dataset.decision import dataset_unit, default_dataset_id
from bp_sdk.commit import CommittedUnit, load_record, read_committed
from bp_sdk.layout import Unit
from bp_sdk.storage import Storage
from rich.console import Console
from rich.markup import escape
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
DATASET_STAGES = {
    "export": "EXPORT_DATASET_ID",
    "gate": "GATE_DATASET_ID",
    "deliver": "DELIVER_DATASET_ID",
}


def stage_unit(stage: str, scene_id: str, run_id: str, env: Mapping[str, str]) -> Unit | None:
    """The unit an unsharded stage commits to: its scene run, or its dataset for dataset stages."""
    if stage in SHARDED:
        return None
    if stage in DATASET_STAGES:
        return dataset_unit(
            env.get(DATASET_STAGES[stage]) or default_dataset_id(scene_id, run_id), stage
        )
    return Unit(scene_id, run_id, stage)


def committed_units(
    store: Storage, stage: str, scene_id: str, run_id: str, env: Mapping[str, str]
) -> list[CommittedUnit] | None:
    """What a stage committed for this run (every shard of a sharded stage), or None."""
    unit = stage_unit(stage, scene_id, run_id, env)
    if unit is None or stage not in DATASET_STAGES:
        return read_committed(store, scene_id, run_id, stage)
    rec = load_record(store, unit)
    return [CommittedUnit(store, rec)] if rec is not None else None


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
        units = committed_units(store, stage, scene_id, run_id, env)
        if units:
            outcome.files = sum(len(u.record.files) for u in units)
            outcome.summary = units[0].record.summary if len(units) == 1 else {"shards": len(units)}
        outcomes.append(outcome)
        if code != 0:
            for r in results:
                unit = stage_unit(stage, scene_id, run_id, env) or Unit(
                    scene_id, run_id, stage, r.index, count
                )
                show_unit(console, store, unit, execution)
            break
        if stage == "gate" and units and outcome.summary.get("passed") is False:
            console.print(
                "[bold red]the gate did not pass[/]: see decision.json under "
                f"{store.uri}/{units[0].record.attempt_dir}/; delivery is refused unless an "
                f"approval covers every failed check ({', '.join(outcome.summary.get('failed', []))}): bp approve"
            )
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
            escape(text[:80]),
        )
    console.print(table)
    console.print(
        f"outputs: {store.uri}/scenes/{scene_id}/runs/{run_id}/<stage>/ (each stage's _SUCCESS.json names its files)"
    )
    ds = next((o.summary.get("dataset_id") for o in outcomes if o.summary.get("dataset_id")), None)
    if ds:
        console.print(
            f"dataset {ds}: {store.uri}/datasets/{ds}/ (export, gate, deliver); "
            f"the lab checks a copy with: bp verify <dataset folder>"
        )
