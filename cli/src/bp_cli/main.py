"""``bp``: run BlueprintPipeline jobs locally (embedded storage by default).

``bp stage <name> --scene <dir-or-id>`` uploads a blueprint folder when given one and
runs the stage's own entry point as a subprocess with its settings in the environment,
exactly as its container runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from bp_sdk.cleanup import cleanup, parse_duration
from bp_sdk.errors import BPError
from bp_sdk.ids import ID_HINT, is_valid_id
from bp_sdk.layout import Unit
from bp_sdk.storage import Storage, open_storage
from rich.console import Console
from rich.markup import escape

from bp_cli.approve import approve_cmd
from bp_cli.errors import UsageError
from bp_cli.pipeline import SHARDED, planned_stages, print_summary, run_pipeline
from bp_cli.report import MEANING, show_unit
from bp_cli.scenes import derive_run_id, scene_id_for, stored_digests, upload_scene
from bp_cli.stages import available_stages, base_env, new_execution_id, run_tasks, stage_script
from bp_cli.verify import verify_cmd

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.command("verify")(verify_cmd)
app.command("approve")(approve_cmd)
console = Console(stderr=True)

DEFAULT_STORAGE_DIR = "bp-data"

# options shared by `bp stage` and `bp run`
StorageOpt = Annotated[
    str | None, typer.Option(help="gs://bucket/prefix or file:///abs/path (default: ./bp-data)")
]
RunIdOpt = Annotated[
    str | None, typer.Option(help="run id [default: derived from the scene input and --set values]")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="job setting KEY=VALUE (repeatable)")
]


def default_storage() -> str:
    """``file://<cwd>/bp-data``: the embedded default."""
    return (Path.cwd() / DEFAULT_STORAGE_DIR).as_uri()


def _fail(err: BPError) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(err.render())}", highlight=False)
    console.print(f"[bold]next:[/] {escape(err.next_step)}")
    return typer.Exit(int(err.exit_code))


def _overrides(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "").isalnum() or not key.isupper():
            raise typer.BadParameter(
                f"--set wants KEY=VALUE with an upper-case settings name, got {item!r}"
            )
        out[key] = value
    return out


@app.command("stages")
def stages_cmd() -> None:
    """List the installed stages."""
    for name in available_stages():
        typer.echo(name)


@app.command("stage")
def stage_cmd(
    name: Annotated[str, typer.Argument(help="stage to run, e.g. ingest")],
    scene: Annotated[
        str, typer.Option(help="scene folder (uploaded) or the id of a scene already in storage")
    ],
    storage: StorageOpt = None,
    run_id: RunIdOpt = None,
    setting: SetOpt = None,
    tasks: Annotated[
        int, typer.Option(min=1, max=1000, help="parallel task processes (shards)")
    ] = 1,
    log_format: Annotated[str, typer.Option(help="console or json")] = "console",
    timeout: Annotated[float, typer.Option(help="seconds before the job gets SIGTERM")] = 3600.0,
) -> None:
    """Run one stage through its entry point, as its container would."""
    overrides = _overrides(setting or [])
    uri = storage or default_storage()
    try:
        script = stage_script(name)
        store, scene_id, rid, execution, env = _launch(uri, scene, run_id, overrides, log_format)
        console.print(
            f"running [bold]bp-{name}[/] scene={scene_id} run={rid} execution={execution} tasks={tasks}"
        )
        results = run_tasks(script, env, tasks, timeout)
    except BPError as err:
        raise _fail(err) from None
    worst = max(results, key=lambda r: (r.exit_code != 0, r.exit_code))
    for r in results if tasks > 1 else []:
        console.print(
            f"  task {r.index}: exit {r.exit_code} ({MEANING.get(r.exit_code, 'unknown')}) in {r.seconds:.1f}s"
        )
    for r in results:
        shard = (r.index, tasks) if name in SHARDED else (None, None)
        show_unit(console, store, Unit(scene_id, rid, name, *shard), execution)
    status = MEANING.get(worst.exit_code, f"exit {worst.exit_code}")
    colour = "green" if worst.exit_code == 0 else "red"
    console.print(f"[bold {colour}]{name}: {status}[/]")
    raise typer.Exit(worst.exit_code)


@app.command("run")
def run_cmd(
    scene: Annotated[
        str, typer.Argument(help="scene folder (uploaded) or the id of a scene already in storage")
    ],
    storage: StorageOpt = None,
    run_id: RunIdOpt = None,
    setting: SetOpt = None,
    until: Annotated[str | None, typer.Option(help="last stage to run")] = None,
    tasks: Annotated[
        int, typer.Option(min=1, max=1000, help="task processes for sharded stages")
    ] = 2,
    log_format: Annotated[str, typer.Option(help="console or json")] = "console",
    timeout: Annotated[float, typer.Option(help="seconds per stage before SIGTERM")] = 3600.0,
) -> None:
    """Run every installed stage in pipeline order on one scene; stop at the first failure."""
    overrides = _overrides(setting or [])
    uri = storage or default_storage()
    try:
        stages = planned_stages(until)
        store, scene_id, rid, execution, env = _launch(uri, scene, run_id, overrides, log_format)
        console.print(f"pipeline: {' → '.join(stages)} · scene={scene_id} run={rid}")
        outcomes = run_pipeline(
            console, store, stages, env, scene_id, rid, execution, tasks, timeout
        )
    except BPError as err:
        raise _fail(err) from None
    print_summary(console, outcomes, store, scene_id, rid)
    failed = [o for o in outcomes if o.exit_code != 0]
    raise typer.Exit(failed[0].exit_code if failed else 0)


def _launch(
    uri: str, scene: str, run_id: str | None, overrides: dict[str, str], log_format: str
) -> tuple[Storage, str, str, str, dict[str, str]]:
    """Open storage, put the scene there, pick the run and execution ids, build the job env."""
    store = open_storage(uri)
    scene_id, digests = _prepare_scene(store, scene)
    rid = run_id or derive_run_id(digests, overrides)
    execution = new_execution_id()
    return (
        store,
        scene_id,
        rid,
        execution,
        _job_env(overrides, uri, scene_id, rid, log_format, execution),
    )


def _prepare_scene(store: Storage, scene: str) -> tuple[str, dict[str, str]]:
    """Upload a scene folder (or find a stored scene); return its id and input digests."""
    folder = Path(scene)
    if folder.is_dir():
        scene_id = scene_id_for(folder)
        digests = upload_scene(store, folder, scene_id)
        console.print(
            f"uploaded [bold]{folder}[/] → {store.uri}/scenes/{scene_id}/input/ ({len(digests)} files)"
        )
        return scene_id, digests
    if is_valid_id(scene):
        return scene, stored_digests(store, scene)
    raise UsageError(f"--scene {scene!r} is neither a folder nor a scene id ({ID_HINT})")


def _job_env(
    overrides: dict[str, str], uri: str, scene_id: str, rid: str, log_format: str, execution: str
) -> dict[str, str]:
    return base_env(
        {
            **overrides,
            "STORAGE_URI": uri,
            "SCENE_ID": scene_id,
            "RUN_ID": rid,
            "LOG_FORMAT": log_format,
            "CLOUD_RUN_EXECUTION": execution,
            "CLOUD_RUN_TASK_ATTEMPT": "0",
        }
    )


@app.command("cleanup")
def cleanup_cmd(
    storage: Annotated[str | None, typer.Option(help="storage root [default: ./bp-data]")] = None,
    grace: Annotated[
        str, typer.Option(help="idle time before an uncommitted attempt is removed (s/m/h/d)")
    ] = "24h",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only report")] = False,
) -> None:
    """Remove uncommitted attempt folders older than the grace period."""
    try:
        report = cleanup(
            open_storage(storage or default_storage()), parse_duration(grace), dry_run=dry_run
        )
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    except BPError as err:
        raise _fail(err) from None
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{verb} {len(report.removed)} attempt folders ({report.removed_files} files, "
        f"{report.removed_bytes:,} bytes); kept {report.committed_attempts} committed, "
        f"{len(report.kept_recent)} recent"
    )


def main() -> None:  # pragma: no cover - console script shim
    """Run the app."""
    sys.exit(app())
