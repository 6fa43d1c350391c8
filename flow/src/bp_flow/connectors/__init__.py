"""The Google Cloud connectors the interpreter can run locally (and nothing else: a
workflow calling another connector is refused when it is loaded)."""

from __future__ import annotations

from bp_flow.connectors import executions, jobs, storage

SUPPORTED: frozenset[str] = frozenset(
    {
        jobs.NAME,
        executions.NAME,
        storage.PREFIX + "get",
        storage.PREFIX + "list",
        storage.PREFIX + "insert",
        storage.PREFIX + "delete",
    }
)
