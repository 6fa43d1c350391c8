"""What every ``bp`` command shares: the console, option types, errors, scene preparation."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Annotated

import typer
from bp_sdk.errors import BPError, RetryableError
from bp_sdk.ids import ID_HINT, is_valid_id
from bp_sdk.space import explain
from bp_sdk.storage import Storage, open_storage
from rich.console import Console
from rich.markup import escape

from bp_cli.errors import UsageError
from bp_cli.scenes import derive_run_id, scene_id_for, stored_digests, upload_scene
from bp_cli.stages import base_env, new_execution_id

console = Console(stderr=True, soft_wrap=True)

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
CloudOpt = Annotated[
    bool, typer.Option("--cloud", help="run in the GCP project (deployed with Terraform)")
]
ProjectOpt = Annotated[
    str | None,
    typer.Option(envvar="GOOGLE_CLOUD_PROJECT", help="GCP project (with --cloud) [default: ADC's]"),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        envvar="GOOGLE_CLOUD_REGION", help="region of the workflow and jobs (with --cloud)"
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        help="API endpoint override (with --cloud; a private endpoint or a test stand-in)"
    ),
]


def default_storage() -> str:
    """``file://<cwd>/bp-data``: the embedded default."""
    return (Path.cwd() / DEFAULT_STORAGE_DIR).as_uri()


def fail(err: BPError) -> typer.Exit:
    """Print the error and what to do next; the exit to raise."""
    console.print(f"[bold red]error:[/] {escape(err.render())}", highlight=False)
    console.print(f"[bold]next:[/] {escape(err.next_step)}")
    return typer.Exit(int(err.exit_code))


def os_error(err: OSError, storage: Storage | None = None) -> BPError:
    """An ``OSError`` as one line: full, read-only or refused space said as the jobs say it
    (storage key or TMPDIR, no absolute host path), anything else by its errno and file name."""
    root = getattr(storage, "root", None)
    found = explain(
        err, root if isinstance(root, Path) else None, storage.where() if storage else "storage"
    )
    if found is not None:
        return found
    code = errno.errorcode.get(err.errno or 0, "OSError")
    name = Path(str(err.filename)).name if err.filename else "a local file"
    return RetryableError(
        f"{err.strerror or type(err).__name__} ({code}) at {name}",
        next_step="Check the file and the disk it is on, then retry.",
    )


def fail_os(err: OSError, storage: Storage | None = None) -> typer.Exit:
    """Print an ``OSError`` as one line and what to do; the exit to raise (1)."""
    return fail(os_error(err, storage))


def parse_overrides(values: list[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` values as a map (upper-case settings names only)."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "").isalnum() or not key.isupper():
            raise typer.BadParameter(
                f"--set wants KEY=VALUE with an upper-case settings name, got {item!r}"
            )
        out[key] = value
    return out


def prepare_scene(store: Storage, scene: str) -> tuple[str, dict[str, str]]:
    """Upload a scene folder (or find a stored scene); return its id and input digests."""
    folder = Path(scene)
    if folder.is_dir():
        scene_id = scene_id_for(folder)
        digests = upload_scene(store, folder, scene_id)
        console.print(
            f"uploaded [bold]{escape(str(folder))}[/] → {escape(store.uri)}/scenes/{scene_id}/input/ "
            f"({len(digests)} files)"
        )
        return scene_id, digests
    if is_valid_id(scene):
        return scene, stored_digests(store, scene)
    raise UsageError(f"--scene {scene!r} is neither a folder nor a scene id ({ID_HINT})")


def launch(
    uri: str, scene: str, run_id: str | None, overrides: dict[str, str], log_format: str
) -> tuple[Storage, str, str, str, dict[str, str]]:
    """Open storage, put the scene there, pick the run and execution ids, build the job env."""
    store = open_storage(uri)
    scene_id, digests = prepare_scene(store, scene)
    rid = run_id or derive_run_id(digests, overrides)
    execution = new_execution_id()
    env = base_env(
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
    return store, scene_id, rid, execution, env
