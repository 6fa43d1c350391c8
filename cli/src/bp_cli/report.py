"""What ``bp`` prints after a job: the commit record or the failure marker, for people."""

from __future__ import annotations

from bp_sdk.commit import load_record
from bp_sdk.errors import ExitCode
from bp_sdk.layout import Unit
from bp_sdk.markers import list_markers
from bp_sdk.storage import Storage
from rich.console import Console
from rich.markup import escape
from rich.table import Table

MEANING = {
    int(ExitCode.OK): "ok",
    int(ExitCode.RETRYABLE): "failed (retryable)",
    int(ExitCode.CONFIG): "configuration error",
    int(ExitCode.PERMANENT): "failed (permanent input error)",
    int(ExitCode.SIGTERM): "terminated (SIGTERM)",
}


def show_unit(console: Console, storage: Storage, unit: Unit, execution: str) -> None:
    """Print the unit's commit record summary, or this execution's failure marker."""
    record = load_record(storage, unit)
    if record is not None:
        table = Table(title=f"{unit.label} committed · run {unit.run}", show_lines=False)
        table.add_column("file")
        table.add_column("bytes", justify="right")
        table.add_column("sha256")
        for name, entry in sorted(record.files.items()):
            table.add_row(name, f"{entry.size:,}", entry.sha256[:16] + "…")
        console.print(table)
        console.print(f"[dim]commit record:[/] {storage.uri}/{unit.commit_path}")
        if record.summary:
            console.print(f"[dim]summary:[/] {escape(str(record.summary))}")
        return
    markers = [m for m in list_markers(storage, unit) if m.execution == execution]
    if not markers:
        return
    m = markers[-1]
    console.print(
        f"[bold red]{unit.label} failed[/] ({'permanent' if m.permanent else 'retryable'}): {m.error_type}"
    )
    console.print(m.message, markup=False)
    for p in m.problems[:100]:
        console.print(f"  • {p}", markup=False)
    if len(m.problems) > 100:
        console.print(f"  … and {len(m.problems) - 100} more (see the marker)")
    console.print(f"[bold]next:[/] {escape(m.next_step)}")
    console.print(f"[dim]marker:[/] {storage.uri}/{unit.failure_path(m.attempt_id)}")
