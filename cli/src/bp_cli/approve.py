"""``bp approve``: an audited override of failed gate thresholds, never an env var.

Writes ``datasets/<id>/approvals/<approval_id>.json`` (create-if-absent) after checking
it against the committed gate decision: the checks must have failed and be threshold
checks, the reason must be a real one, the expiry is required and at most 30 days, and
the dataset digest comes from the decision. The approver is the identity Google
authenticates (service account or user email); without Google credentials it is
``local:<user>@<host>``, marked unauthenticated, which production deliveries refuse.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from bp_dataset.approval import MAX_VALIDITY, create_approval
from bp_dataset.identity import current_identity
from bp_sdk.cleanup import parse_duration
from bp_sdk.errors import BPError
from bp_sdk.ids import ID_HINT, is_valid_id
from bp_sdk.logs import LogContext, configure_logging
from bp_sdk.storage import open_storage
from rich.console import Console
from rich.markup import escape

from bp_cli.errors import UsageError


def _expiry(text: str) -> timedelta:
    """The duration; its bounds (more than 0, at most 30 days) are checked with the rest."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--expires-in: {exc} (at most {MAX_VALIDITY.days}d)") from None


def approve_cmd(
    dataset: Annotated[str, typer.Option(help="dataset id whose failed gate decision is approved")],
    checks: Annotated[str, typer.Option(help="comma-separated names of failed threshold checks")],
    reason: Annotated[str, typer.Option(help="why delivering despite those checks is acceptable")],
    expires_in: Annotated[str, typer.Option(help="validity, e.g. 7d (at most 30d)")],
    storage: Annotated[
        str | None,
        typer.Option(help="gs://bucket/prefix or file:///abs/path (default: ./bp-data)"),
    ] = None,
    local_identity: Annotated[
        bool,
        typer.Option(
            "--local-identity",
            help="do not look for Google credentials: record local:<user>@<host> (unauthenticated)",
        ),
    ] = False,
) -> None:
    """Record an audited approval of failed gate checks (who, why, which, until when, digest)."""
    console = Console(stderr=True)
    configure_logging(LogContext(labels={"job": "bp-approve"}), fmt="console")
    try:
        if not is_valid_id(dataset):
            raise UsageError(f"--dataset {dataset!r} is not a dataset id ({ID_HINT})")
        names = [c.strip() for c in checks.split(",") if c.strip()]
        if not names:
            raise UsageError("--checks must name at least one failed check")
        span = _expiry(expires_in)
        uri = storage or (Path.cwd() / "bp-data").as_uri()
        who = current_identity(local_only=local_identity)
        if not who.authenticated:
            console.print(
                f"[bold yellow]warning:[/] approving as {escape(who.principal)} — UNAUTHENTICATED "
                "(no Google credentials); production deliveries refuse this approval"
            )
        store = open_storage(uri)
        try:
            approval = create_approval(store, dataset, names, reason, who, span)
        finally:
            store.close()
    except BPError as err:
        console.print(f"[bold red]error:[/] {escape(err.render())}", highlight=False)
        console.print(f"[bold]next:[/] {escape(err.next_step)}")
        raise typer.Exit(int(err.exit_code)) from None
    console.print(
        f"[bold green]approved[/] {escape(', '.join(approval.checks))} of dataset "
        f"{escape(dataset)} (digest {approval.dataset_digest[:16]}…) as "
        f"{escape(who.principal)}, until {approval.expires_at.isoformat()}"
    )
    console.print(f"[dim]record:[/] {escape(store.uri)}/{escape(approval.path)}")
