"""``bp workflow check FILE`` and ``bp workflow run FILE --data JSON``: the interpreter on
any workflow file, for people writing workflows (as ``gcloud workflows deploy`` would
refuse a file, and as ``gcloud workflows run --data`` runs one)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from bp_flow.connectors import SUPPORTED
from bp_flow.connectors.jobs import LocalJobs
from bp_flow.connectors.storage import StorageConnectors
from bp_flow.errors import LoadError
from bp_flow.local import LocalWorkflows
from bp_flow.model import Step, Workflow
from rich.text import Text

from bp_cli.common import StorageOpt, console, default_storage
from bp_cli.local_flow import JOB_PREFIX, LocalSetup, bucket_storage, make_launcher, place_of
from bp_cli.local_run import log_dir_for
from bp_cli.stages import available_stages

workflow_app = typer.Typer(
    no_args_is_help=True, help="Check or run a Cloud Workflows file locally."
)

FileArg = Annotated[
    Path, typer.Argument(help="workflow file (YAML or JSON)", exists=True, dir_okay=False)
]


def _count(steps: tuple[Step, ...]) -> int:
    total = 0
    for step in steps:
        total += 1
        for child in ("steps", "body", "except_steps"):
            inner = getattr(step, child, None)
            if isinstance(inner, tuple):
                total += _count(inner)
        loop = getattr(step, "loop", None)
        if loop is not None:
            total += _count(loop.steps)
        for branch in getattr(step, "branches", ()) or ():
            total += _count(branch.steps)
    return total


def _load(file: Path) -> Workflow:
    from bp_flow.loader import load_file  # noqa: PLC0415

    try:
        return load_file(file, SUPPORTED)
    except LoadError as err:
        console.print(
            Text(
                f"{file}: {len(err.problems)} problem(s) outside the supported subset",
                style="bold red",
            )
        )
        for p in err.problems:
            console.print(Text(f"  {p.render()}"))
        raise typer.Exit(1) from None


@workflow_app.command("check")
def check_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="workflow files", exists=True, dir_okay=False)
    ],
) -> None:
    """Load each file as the interpreter would; list every problem with its line."""
    for file in files:
        wf = _load(file)
        steps = sum(_count(s.steps) for s in wf.subworkflows.values())
        console.print(
            Text(f"{file}: ok ({len(wf.subworkflows)} subworkflows, {steps} steps)", style="green")
        )


@workflow_app.command("run")
def run_cmd(
    file: FileArg,
    data: Annotated[
        str, typer.Option(help="runtime arguments as JSON (like gcloud workflows run --data)")
    ] = "null",
    storage: StorageOpt = None,
    docker: Annotated[bool, typer.Option("--docker", help="jobs.run runs the job images")] = False,
) -> None:
    """Run a workflow file locally; print its result as JSON (or its error map, exit 1).

    Connectors: Cloud Run jobs.run (the installed stages as bp-<stage> jobs), the Cloud
    Storage objects methods (bucket ``bp-local`` = the storage root, or the gs:// bucket),
    and child executions of this same file (workflow id = the file's name).
    """
    try:
        argument: Any = json.loads(data)
    except ValueError as err:
        raise typer.BadParameter(f"--data is not JSON: {err}") from None
    _load(file)
    uri = storage or default_storage()
    place = place_of(uri)
    setup = LocalSetup(uri, docker=docker, log_dir=log_dir_for("workflow-run"))
    launcher = make_launcher(setup)
    deployment = LocalWorkflows.from_files(
        {file.stem: file},
        env={"BP_BUCKET": place.bucket, "BP_PREFIX": place.prefix, "BP_JOB_PREFIX": JOB_PREFIX},
    )
    stages = {f"{JOB_PREFIX}-{s}": s for s in available_stages()}
    deployment.connectors.update(LocalJobs(launcher, stages).functions())
    deployment.connectors.update(
        StorageConnectors({place.bucket: bucket_storage(place)}).functions()
    )
    outcome = deployment.execute(file.stem, argument)
    if outcome.state == "SUCCEEDED":
        sys.stdout.write(json.dumps(outcome.result, indent=2, default=str) + "\n")
        return
    sys.stdout.write(json.dumps(outcome.error, indent=2, default=str) + "\n")
    console.print(Text(f"{outcome.state.lower()}: {outcome.name}", style="bold red"))
    raise typer.Exit(1)
