"""``bp verify <path-or-uri>``: what a lab runs on a dataset it received.

Checksums, schema, tier, frame counts and decodes, values (see :mod:`bp_dataset.verify`);
for a delivered folder, its record and statement; with ``--digest``, the digest the lab
pinned. Prints a table (or ``--json``) and exits 0 only if every check holds, 1 if any
fails, 2 for a usage error (a location that does not exist, a malformed URI or digest).
"""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer
from bp_dataset.report import CHECK_MEANING, VerifyReport
from bp_dataset.root import open_target
from bp_sdk.errors import BPError, ConfigError, ExitCode
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

PROBLEMS_SHOWN = 20  # per check in the table; --json has all that were collected
LABELS = {"checksums": "hashing", "data": "reading data", "frames": "decoding video"}
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _progress_bar(console: Console) -> tuple[Progress, dict[str, TaskID]]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    return bar, {}


def render(console: Console, report: VerifyReport) -> None:
    """The human summary: one row per check, its verdict and what it found."""
    table = Table(title=f"bp verify · {escape(report.target)}", show_lines=True)
    table.add_column("check", style="bold")
    table.add_column("verdict")
    table.add_column("details", overflow="fold")
    for c in report.checks:
        verdict = "[green]PASS[/]" if c.passed else "[bold red]FAIL[/]"
        lines = [escape(c.summary)] if c.summary else []
        lines += [f"[red]•[/] {escape(p)}" for p in c.problems[:PROBLEMS_SHOWN]]
        more = len(c.problems) - PROBLEMS_SHOWN + c.more_problems
        if more > 0:
            lines.append(f"… and {more} more (use --json)")
        if c.passed and c.name in CHECK_MEANING:
            lines.append(f"[dim]{escape(CHECK_MEANING[c.name])}[/]")
        table.add_row(c.name, verdict, "\n".join(lines))
    console.print(table)
    if report.dataset_digest:
        console.print(f"dataset digest (sha256 of meta/SHA256SUMS): {report.dataset_digest}")
    pinned = report.check("digest")
    if pinned is not None and isinstance(pinned.value, dict):
        state = "[green]matches[/]" if pinned.passed else "[bold red]does NOT match[/]"
        console.print(f"pinned digest (--digest): {escape(str(pinned.value['pinned']))}: {state}")
    if report.passed:
        console.print("[bold green]verified: every check holds[/]")
    else:
        console.print(f"[bold red]NOT verified: {', '.join(report.failed())} failed[/]")


def verify_cmd(
    target: Annotated[
        str, typer.Argument(help="dataset folder, file:///abs/path or gs://bucket/prefix")
    ],
    checksums_only: Annotated[
        bool, typer.Option("--checksums-only", help="only check files against meta/SHA256SUMS")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the report as JSON on stdout")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="threads hashing and decoding (default: one per core, at least 2)"
        ),
    ] = None,
    digest: Annotated[
        str | None,
        typer.Option(
            "--digest",
            metavar="SHA256",
            help="fail unless the dataset digest (sha256 of meta/SHA256SUMS) is this one, and, "
            "for a delivery, its _DELIVERY.json names it",
        ),
    ] = None,
    delivery: Annotated[
        bool,
        typer.Option(
            "--delivery",
            help="verify as a delivered folder: _DELIVERY.json must be there (also implied by "
            "DELIVERY.md or a deliveries/<customer>/<dataset>/ location)",
        ),
    ] = False,
) -> None:
    """Verify a dataset as a lab would: checksums, schema, tier, frames and decodes, values;
    a delivery's record and statement; the digest pinned with --digest."""
    err = Console(stderr=True)
    pinned = _pinned_digest(err, digest)
    try:
        root = open_target(target)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        err.print(f"[bold]next:[/] {escape(exc.next_step)}")
        raise typer.Exit(int(ExitCode.CONFIG)) from None
    bar, tasks = _progress_bar(err)

    def progress(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(LABELS.get(what, what), total=max(total, 1))
        bar.update(tasks[what], completed=done, total=max(total, 1))

    try:
        with bar:
            if checksums_only:  # keeps pyarrow and PyAV unimported: as fast as sha256sum -c
                from bp_dataset.checksum_check import verify_checksums  # noqa: PLC0415

                report = verify_checksums(root, workers, progress, delivery=delivery, digest=pinned)
            else:
                from bp_dataset.verify import verify_dataset  # noqa: PLC0415

                report = verify_dataset(
                    root, workers=workers, progress=progress, delivery=delivery, digest=pinned
                )
    except BPError as exc:  # the location itself could not be read (network, permissions)
        err.print(f"[bold red]error:[/] could not read {escape(target)}: {escape(exc.message)}")
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from None
    finally:
        root.close()
    if json_out:
        sys.stdout.write(report.to_json().decode())
    else:
        render(Console(), report)
    raise typer.Exit(0 if report.passed else 1)


def _pinned_digest(err: Console, digest: str | None) -> str | None:
    """The ``--digest`` value, lower-cased; a usage error (exit 2) unless it is a sha256."""
    if digest is None:
        return None
    value = digest.strip().lower()
    if not _DIGEST.fullmatch(value):
        err.print(
            f"[bold red]error:[/] --digest must be a sha256: 64 hexadecimal characters, "
            f"got {escape(repr(digest[:80]))}",
            highlight=False,
        )
        err.print("[bold]next:[/] Give the dataset digest your delivery record names.")
        raise typer.Exit(int(ExitCode.CONFIG))
    return value
