"""``bp``: run BlueprintPipeline jobs and workflows locally (embedded storage by default),
in their containers, or on GCP.

``bp run`` executes workflows/pipeline.yaml (``--batch``: batch.yaml) with the local
interpreter; ``bp stage <name>`` runs one job through its entry point exactly as its
container runs it; ``bp workflow`` checks or runs any workflow file.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from bp_sdk.cleanup import cleanup, cleanup_delivery_root, parse_duration
from bp_sdk.errors import BPError
from bp_sdk.layout import Unit
from bp_sdk.spool import ORPHAN_GRACE_S, sweep
from bp_sdk.storage import open_storage

from bp_cli.approve import approve_cmd
from bp_cli.common import (
    CloudOpt,
    EndpointOpt,
    ProjectOpt,
    RegionOpt,
    RunIdOpt,
    SetOpt,
    StorageOpt,
    console,
    default_storage,
    fail,
    fail_os,
    launch,
    parse_overrides,
)
from bp_cli.errors import UsageError
from bp_cli.report import MEANING, show_unit
from bp_cli.report_cmd import report_cmd
from bp_cli.run_cmd import run_cmd
from bp_cli.stages import available_stages, run_tasks, stage_script
from bp_cli.units import SHARDED, check_upstream_run, stage_unit
from bp_cli.verify import verify_cmd
from bp_cli.workflow_cmd import workflow_app

__all__ = ["app", "default_storage", "main"]


class _OneLineErrors(typer.core.TyperGroup):
    """A full, read-only or failing local disk is one line and exit 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as err:
            raise fail_os(err) from None


app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, cls=_OneLineErrors)
app.command("verify")(verify_cmd)
app.command("approve")(approve_cmd)
app.command("run")(run_cmd)
app.command("report")(report_cmd)
app.add_typer(workflow_app, name="workflow")


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
    cloud: CloudOpt = False,
    project: ProjectOpt = None,
    region: RegionOpt = None,
    api_endpoint: EndpointOpt = None,
) -> None:
    """Run one stage through its entry point, as its container would (or its Cloud Run job)."""
    overrides = parse_overrides(setting or [])
    uri = storage or default_storage()
    try:
        if cloud:
            raise typer.Exit(
                _stage_cloud(
                    name, scene, uri, run_id, overrides, tasks, project, region, api_endpoint
                )
            )
        script = stage_script(name)
        store, scene_id, rid, execution, env = launch(uri, scene, run_id, overrides, log_format)
        if run_id is None:
            check_upstream_run(store, name, scene_id, rid, overrides, env)
        console.print(
            f"running [bold]bp-{name}[/] scene={scene_id} run={rid} execution={execution} tasks={tasks}"
        )
        results = run_tasks(script, env, tasks, timeout)
    except BPError as err:
        raise fail(err) from None
    except OSError as err:
        raise fail_os(err) from None
    worst = max(results, key=lambda r: (r.exit_code != 0, r.exit_code))
    for r in results if tasks > 1 else []:
        console.print(
            f"  task {r.index}: exit {r.exit_code} ({MEANING.get(r.exit_code, 'unknown')}) in {r.seconds:.1f}s"
        )
    for r in results:
        unit = stage_unit(name, scene_id, rid, env) or Unit(scene_id, rid, name, r.index, tasks)
        show_unit(console, store, unit, execution)
    status = MEANING.get(worst.exit_code, f"exit {worst.exit_code}")
    colour = "green" if worst.exit_code == 0 else "red"
    console.print(f"[bold {colour}]{name}: {status}[/]")
    raise typer.Exit(worst.exit_code)


def _stage_cloud(
    name: str,
    scene: str,
    uri: str,
    run_id: str | None,
    overrides: dict[str, str],
    tasks: int,
    project: str | None,
    region: str | None,
    api_endpoint: str | None,
) -> int:
    """Run the deployed Cloud Run job ``bp-<name>`` and show its record or marker."""
    from bp_cli.cloud import make_clients, run_job_cloud  # noqa: PLC0415 - cloud clients on demand

    if not uri.startswith("gs://"):
        raise UsageError(
            "--cloud needs --storage gs://bucket[/prefix] (the data bucket Terraform created)"
        )
    if name not in available_stages():
        raise UsageError(
            f"unknown stage {name!r}; installed stages: {', '.join(available_stages())}"
        )
    clients = make_clients(api_endpoint)
    project = project or clients.default_project
    if not project or not region:
        raise UsageError("--cloud needs --project (or ADC's project) and --region")
    store, scene_id, rid, _execution, env = launch(uri, scene, run_id, overrides, "json")
    if run_id is None:
        check_upstream_run(store, name, scene_id, rid, overrides, env)
    job_env = {"SCENE_ID": scene_id, "RUN_ID": rid, **overrides}
    code, execution = run_job_cloud(
        console,
        project=project,
        region=region,
        job=f"bp-{name}",
        env=job_env,
        task_count=tasks if name in SHARDED else None,
        clients=clients,
    )
    exec_id = execution.rsplit("/", 1)[-1]
    count = tasks if name in SHARDED else 1
    for index in range(count):
        unit = stage_unit(name, scene_id, rid, env) or Unit(scene_id, rid, name, index, count)
        show_unit(console, store, unit, exec_id)
    return code


@app.command("cleanup")
def cleanup_cmd(
    storage: Annotated[str | None, typer.Option(help="storage root [default: ./bp-data]")] = None,
    grace: Annotated[
        str, typer.Option(help="idle time before an uncommitted attempt is removed (s/m/h/d)")
    ] = "24h",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only report")] = False,
    deliver_root: Annotated[
        list[str] | None, typer.Option(help="a separate delivery root (DELIVER_ROOT) to sweep too")
    ] = None,
) -> None:
    """Remove what interrupted jobs left, once idle for the grace period: uncommitted attempt
    folders, temporary files, incomplete deliveries, spool folders of dead processes."""
    try:
        period = parse_duration(grace)
        report = cleanup(open_storage(storage or default_storage()), period, dry_run=dry_run)
        extra = [
            cleanup_delivery_root(open_storage(r), period, dry_run=dry_run)
            for r in deliver_root or []
        ]
        orphan_grace = min(ORPHAN_GRACE_S, period.total_seconds())
        swept = sweep(dry_run=dry_run, orphan_grace_s=orphan_grace)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    except BPError as err:
        raise fail(err) from None
    verb = "would remove" if dry_run else "removed"
    incomplete = len(report.incomplete_deliveries) + sum(
        len(r.incomplete_deliveries) for r in extra
    )
    temps = len(report.temp_files) + sum(len(r.temp_files) for r in extra)
    files = report.removed_files + sum(r.removed_files for r in extra)
    size = report.removed_bytes + sum(r.removed_bytes for r in extra) + swept.removed_bytes
    console.print(
        f"{verb} {len(report.removed)} attempt folders, {temps} temporary files, {incomplete} "
        f"incomplete deliveries ({files} files) and {len(swept.removed)} spool folders of dead "
        f"processes, {size:,} bytes in all; kept {report.committed_attempts} committed, "
        f"{len(report.kept_recent)} recent"
    )


def main() -> None:  # pragma: no cover - console script shim
    """Run the app."""
    sys.exit(app())
