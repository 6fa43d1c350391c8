"""``bp report``: one self-contained HTML report of a run or a dataset.

It runs the report job's own entry point (``bp-report``) as a subprocess with its
settings in the environment, exactly as its container runs it (the CLI never imports job
code), under a fresh ``REPORT_ID``; then copies the committed ``report.html`` out of
storage, verified against its commit record, to ``--out``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from bp_dataset.decision import dataset_unit
from bp_sdk.commit import CommittedUnit, load_record
from bp_sdk.errors import BPError, RetryableError
from bp_sdk.ids import ID_HINT, is_valid_id
from bp_sdk.layout import REPORT_STAGE, ReportUnit
from bp_sdk.storage import Storage, open_storage
from rich.console import Console
from rich.markup import escape

from bp_cli.errors import UsageError
from bp_cli.report import MEANING, show_unit
from bp_cli.stages import base_env, new_execution_id, run_tasks, stage_script

REPORT_HTML = "report.html"


@dataclass(frozen=True)
class Target:
    """What to report on: a run (``dataset`` is only its dataset id) or a dataset."""

    scope: str
    scene: str
    run: str
    dataset: str | None

    def default_out(self) -> Path:
        """``./bp-report-<scene>-<run>.html`` or ``./bp-report-<dataset>.html``."""
        name = f"{self.scene}-{self.run}" if self.scope == "run" else str(self.dataset)
        return Path.cwd() / f"bp-report-{name}.html"


def _check_id(option: str, value: str) -> str:
    if not is_valid_id(value):
        raise UsageError(f"{option} {value!r} is not an id ({ID_HINT})")
    return value


def resolve_target(
    store: Storage, scene: str | None, run: str | None, dataset: str | None
) -> Target:
    """A run (``--scene`` and ``--run``, optionally its ``--dataset`` id) or a dataset."""
    if scene is not None or run is not None:
        if scene is None or run is None:
            raise UsageError("a run report needs both --scene and --run (or give --dataset alone)")
        ds = _check_id("--dataset", dataset) if dataset is not None else None
        return Target("run", _check_id("--scene", scene), _check_id("--run", run), ds)
    if dataset is None:
        raise UsageError("say what to report on: --scene S --run R, or --dataset D")
    record = load_record(store, dataset_unit(_check_id("--dataset", dataset), "export"))
    if record is None:
        raise UsageError(
            f"dataset {dataset!r} has no committed export in {store.uri}; "
            "report on its run instead (--scene S --run R)"
        )
    return Target("dataset", record.scene_id, record.run_id, dataset)


def report_env(uri: str, target: Target, report_id: str) -> dict[str, str]:
    """The report job's settings (its environment), like any other job's."""
    env = {
        "STORAGE_URI": uri,
        "SCENE_ID": target.scene,
        "RUN_ID": target.run,
        "REPORT_ID": report_id,
        "REPORT_SCOPE": target.scope,
        "LOG_FORMAT": "console",
        "CLOUD_RUN_EXECUTION": report_id,
        "CLOUD_RUN_TASK_ATTEMPT": "0",
    }
    if target.dataset is not None:
        env["DATASET_ID"] = target.dataset
    return base_env(env)


def report_unit_of(target: Target, report_id: str) -> ReportUnit:
    """Where the job commits this report."""
    dataset = target.dataset if target.scope == "dataset" else None
    return ReportUnit(target.scene, target.run, REPORT_STAGE, dataset=dataset, report_id=report_id)


def report_cmd(
    scene: Annotated[str | None, typer.Option(help="scene id of the run to report on")] = None,
    run: Annotated[str | None, typer.Option(help="run id to report on (with --scene)")] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="dataset to report on (alone), or the run's dataset id (with --scene/--run)"
        ),
    ] = None,
    storage: Annotated[
        str | None, typer.Option(help="gs://bucket/prefix or file:///abs/path (default: ./bp-data)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="where to write the HTML [default: ./bp-report-<scene>-<run>.html]"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds before the job gets SIGTERM")] = 600.0,
) -> None:
    """Write one self-contained HTML report of a run or a dataset (and commit it in storage)."""
    from bp_cli.main import default_storage  # noqa: PLC0415 - main imports this module's callers

    console = Console(stderr=True)
    uri = storage or default_storage()
    try:
        store = open_storage(uri)
        target = resolve_target(store, scene, run, dataset)
        report_id = new_execution_id()
        unit = report_unit_of(target, report_id)
        console.print(
            f"running [bold]bp-report[/] {escape(target.scope)} report {escape(report_id)}"
        )
        (result,) = run_tasks(
            stage_script("report"), report_env(uri, target, report_id), 1, timeout
        )
        if result.exit_code != 0:
            show_unit(console, store, unit, report_id)
            console.print(
                f"[bold red]report: {escape(MEANING.get(result.exit_code, str(result.exit_code)))}[/]"
            )
            raise typer.Exit(result.exit_code)
        path = _copy_out(store, unit, out or target.default_out())
    except BPError as err:
        console.print(f"[bold red]error:[/] {escape(err.render())}", highlight=False)
        console.print(f"[bold]next:[/] {escape(err.next_step)}")
        raise typer.Exit(int(err.exit_code)) from None
    console.print(f"committed: {escape(store.uri)}/{escape(unit.dir)}/", soft_wrap=True)
    typer.echo(str(path))


def _copy_out(store: Storage, unit: ReportUnit, out: Path) -> Path:
    record = load_record(store, unit)
    if record is None:
        raise RetryableError(f"bp-report exited 0 but committed no report at {unit.commit_path}")
    data = CommittedUnit(store, record).read_bytes(REPORT_HTML)
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


__all__ = ["ReportUnit", "Target", "report_cmd", "report_env", "report_unit_of", "resolve_target"]
