"""``bp run``: ``workflows/pipeline.yaml`` (or ``batch.yaml`` with ``--batch``) through the
local interpreter, in containers with ``--docker``, or deployed on GCP with ``--cloud``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from bp_sdk.digest import sha256_json
from bp_sdk.errors import BPError
from bp_sdk.storage import Storage, open_storage
from rich.markup import escape
from rich.text import Text

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
    launch,
    parse_overrides,
)
from bp_cli.errors import UsageError
from bp_cli.local_flow import LocalSetup, place_of
from bp_cli.local_run import LocalRun, execute, log_dir_for
from bp_cli.outcome import exit_code, print_failure, print_pipeline_result
from bp_cli.scenes import BLUEPRINT, upload_scenes
from bp_cli.stages import available_stages
from bp_cli.workflow_files import BATCH, PIPELINE, stage_order

DOCKER_CHECK_TIMEOUT_S = 30.0


def planned_stages(until: str | None) -> list[str]:
    """The stages pipeline.yaml runs, up to ``until``; a clear error for an unknown one."""
    order = stage_order()
    if until is None:
        return order
    if until not in order:
        raise UsageError(
            f"--until {until!r} is not a stage; installed, in order: {', '.join(order)}"
        )
    return order[: order.index(until) + 1]


def check_images(stages: list[str]) -> None:
    """With --docker, every stage's image must be built; one error naming the missing ones."""
    docker = shutil.which("docker")
    if docker is None:
        raise UsageError("--docker needs the docker command: bash scripts/docker_engine.sh")
    missing = []
    for stage in stages:
        probe = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [docker, "image", "inspect", f"bp-{stage}:local"],
            capture_output=True,
            timeout=DOCKER_CHECK_TIMEOUT_S,
            check=False,
        )
        if probe.returncode != 0:
            missing.append(stage)
    if missing:
        raise UsageError(
            f"--docker: images not built: {', '.join(f'bp-{s}:local' for s in missing)}; "
            f"run: bash scripts/build_images.sh {' '.join(missing)}"
        )


def run_cmd(
    scene: Annotated[
        str | None,
        typer.Argument(help="scene folder (uploaded) or the id of a scene already in storage"),
    ] = None,
    storage: StorageOpt = None,
    run_id: RunIdOpt = None,
    setting: SetOpt = None,
    until: Annotated[str | None, typer.Option(help="last stage to run")] = None,
    tasks: Annotated[
        int, typer.Option(min=1, max=1000, help="task count of the sharded episodes job")
    ] = 2,
    batch: Annotated[
        str | None,
        typer.Option(
            help="run batch.yaml: a folder of scene folders (uploaded), or a storage root whose scenes/ are ready"
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=100, help="scenes at once with --batch")
    ] = 2,
    docker: Annotated[bool, typer.Option("--docker", help="run every job in its image")] = False,
    report: Annotated[bool, typer.Option(help="run the report job at the end")] = True,
    log_format: Annotated[
        str, typer.Option(help="console (live progress) or json (the jobs' log lines)")
    ] = "console",
    cloud: CloudOpt = False,
    project: ProjectOpt = None,
    region: RegionOpt = None,
    api_endpoint: EndpointOpt = None,
) -> None:
    """Run the pipeline (workflows/pipeline.yaml) on one scene, or the batch on many."""
    overrides = parse_overrides(setting or [])
    try:
        if batch is not None:
            code = _batch(
                batch, storage, run_id, overrides, until, tasks, concurrency, docker, log_format
            )
        elif scene is None:
            raise UsageError("give a scene folder or scene id, or --batch FOLDER")
        elif cloud:
            code = _cloud(
                scene, storage, run_id, overrides, until, tasks, project, region, api_endpoint
            )
        else:
            code = _single(
                scene, storage, run_id, overrides, until, tasks, docker, report, log_format
            )
    except BPError as err:
        raise fail(err) from None
    raise typer.Exit(code)


def _argument(
    scene_id: str,
    rid: str,
    overrides: dict[str, str],
    until: str | None,
    tasks: int,
    report: bool = True,
) -> dict[str, Any]:
    arg: dict[str, Any] = {
        "scene_id": scene_id,
        "run_id": rid,
        "settings": overrides,
        "episodes_shards": tasks,
        "report": report,
    }
    if until:
        arg["until"] = until
    return arg


def _single(
    scene: str,
    storage: str | None,
    run_id: str | None,
    overrides: dict[str, str],
    until: str | None,
    tasks: int,
    docker: bool,
    report: bool,
    log_format: str,
) -> int:
    uri = storage or default_storage()
    stages = planned_stages(until)
    store, scene_id, rid, _execution, _env = launch(uri, scene, run_id, overrides, log_format)
    if docker:
        check_images([*stages, *(["report"] if report else [])])
    console.print(f"pipeline: {' → '.join(stages)} · scene={scene_id} run={rid}", markup=False)
    logs = log_dir_for(rid)
    setup = LocalSetup(uri, docker=docker, log_dir=logs)
    rows = [*stages, *(["report"] if report and "report" in available_stages() else [])]
    outcome = execute(
        console,
        LocalRun(
            PIPELINE,
            _argument(scene_id, rid, overrides, until, tasks, report),
            setup,
            rows,
            log_format,
        ),
    )
    _show(outcome, store, logs, place_of(uri).prefix)
    return exit_code(outcome)


def _emit(outcome: Any) -> None:
    """The workflow's result (or error map) as JSON on stdout, for scripts; people read stderr."""
    value = (
        outcome.result
        if outcome.state == "SUCCEEDED"
        else {"state": outcome.state, "error": outcome.error}
    )
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def _show(outcome: Any, store: Storage, logs: Path, prefix: str) -> None:
    _emit(outcome)
    if outcome.state == "SUCCEEDED" and isinstance(outcome.result, dict):
        print_pipeline_result(console, outcome.result, store)
    elif outcome.state == "CANCELLED":
        console.print(
            Text(
                "interrupted: the stopped tasks wrote their failure markers; run the same command again to resume (committed stages are skipped)",
                style="bold yellow",
            )
        )
    else:
        print_failure(console, outcome, store, str(logs), prefix)


def _batch_folder(store: Storage, folder: Path) -> list[str]:
    # lexists: a scene.json that is a pipe or a link makes a scene folder, refused by name
    scenes = sorted(p for p in folder.iterdir() if os.path.lexists(p / BLUEPRINT))
    if not scenes:
        raise UsageError(f"--batch {folder}: no scene folders (sub-folders holding {BLUEPRINT})")
    ids = upload_scenes(store, scenes)
    console.print(f"uploaded {len(ids)} scenes to {escape(store.uri)}/scenes/: {', '.join(ids)}")
    return ids


def _batch(
    source: str,
    storage: str | None,
    run_id: str | None,
    overrides: dict[str, str],
    until: str | None,
    tasks: int,
    concurrency: int,
    docker: bool,
    log_format: str,
) -> int:
    folder = Path(source)
    uri = (storage or default_storage()) if folder.is_dir() else source
    store = open_storage(uri)
    if folder.is_dir():
        _batch_folder(store, folder)
    stages = planned_stages(until)
    if docker:
        check_images(stages)
    rid = run_id or "b-" + sha256_json({"overrides": overrides})[:12]
    argument: dict[str, Any] = {
        "run_id": rid,
        "settings": overrides,
        "episodes_shards": tasks,
        "concurrency_limit": concurrency,
        "until": stages[-1],
    }
    logs = log_dir_for(rid)
    setup = LocalSetup(uri, docker=docker, log_dir=logs)
    console.print(
        f"batch: scenes under {escape(uri)}/scenes/ · run={rid} · {concurrency} at once",
        highlight=False,
    )
    outcome = execute(
        console,
        LocalRun(
            BATCH,
            argument,
            setup,
            [],
            log_format,
            key=lambda run: f"{run.overrides.get('SCENE_ID', '?')} · {run.stage}",
        ),
    )
    if outcome.state != "SUCCEEDED" or not isinstance(outcome.result, dict):
        _show(outcome, store, logs, place_of(uri).prefix)
        return exit_code(outcome)
    _emit(outcome)
    return _print_batch(outcome.result)


def _print_batch(result: dict[str, Any]) -> int:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"batch · run {result.get('run_id')}")
    for col in ("scene", "status", "detail"):
        table.add_column(col)
    failed = 0
    for r in sorted(result.get("scenes") or [], key=lambda r: str(r.get("scene_id"))):
        status = str(r.get("status"))
        failed += status == "failed"
        detail = (
            r.get("message")
            or r.get("holder")
            or (r.get("delivery") or {}).get("destination")
            or r.get("next_step")
            or ""
        )
        colour = {"delivered": "green", "failed": "red", "needs_approval": "yellow"}.get(
            status, "dim"
        )
        table.add_row(
            Text(str(r.get("scene_id"))), Text(status, style=colour), Text(str(detail)[:160])
        )
    console.print(table)
    console.print(
        Text(
            "counts: "
            + ", ".join(f"{k} {v}" for k, v in sorted((result.get("counts") or {}).items()))
        )
    )
    return 1 if failed else 0


def _cloud(
    scene: str,
    storage: str | None,
    run_id: str | None,
    overrides: dict[str, str],
    until: str | None,
    tasks: int,
    project: str | None,
    region: str | None,
    api_endpoint: str | None,
) -> int:
    from bp_cli.cloud import make_clients, run_workflow_cloud  # noqa: PLC0415 - cloud clients load on demand

    if not storage or not storage.startswith("gs://"):
        raise UsageError(
            "--cloud needs --storage gs://bucket[/prefix] (the data bucket Terraform created)"
        )
    clients = make_clients(api_endpoint)
    project = project or clients.default_project
    if not project or not region:
        raise UsageError("--cloud needs --project (or ADC's project) and --region")
    _store, scene_id, rid, _e, _env = launch(storage, scene, run_id, overrides, "json")
    place = place_of(storage)
    argument = _argument(scene_id, rid, overrides, until, tasks)
    argument.update(bucket=place.bucket, prefix=place.prefix)
    return run_workflow_cloud(
        console, project=project, region=region, argument=argument, clients=clients
    )
