"""Failure markers: ``_FAILURE.json`` in the attempt that failed.

A marker says what failed, whether retrying can help, where (stage, scene, run,
execution, attempt), a sanitised traceback, the inputs and partial results, and what
to do next. Markers belong to their attempt; a commit record always outranks them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bp_sdk.errors import NotFoundError
from bp_sdk.layout import ATTEMPTS, FAILURE, Unit
from bp_sdk.storage import Storage, join

MARKER_SCHEMA: Final = "bp.failure/v1"


class FailureMarker(BaseModel):
    """Everything a person or the workflow needs to act on a failed attempt."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_: Literal["bp.failure/v1"] = Field(default=MARKER_SCHEMA, alias="schema")
    error_type: str
    message: str
    problems: list[str] = Field(default_factory=list)
    permanent: bool
    exit_code: int
    stage: str
    scene_id: str
    run_id: str
    execution: str
    attempt: int
    attempt_id: str
    shard: dict[str, int] | None = None
    traceback: str = ""
    inputs_digest: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    partial_results: dict[str, Any] = Field(default_factory=dict)
    next_step: str
    code: dict[str, str] = Field(default_factory=dict)
    failed_at: datetime


def write_marker(storage: Storage, unit: Unit, marker: FailureMarker) -> str:
    """Write (replace) this attempt's marker; returns its key."""
    path = unit.failure_path(marker.attempt_id)
    storage.write_bytes(path, (marker.model_dump_json(by_alias=True, indent=2) + "\n").encode())
    return path


def list_markers(storage: Storage, unit: Unit) -> list[FailureMarker]:
    """Every readable failure marker of the unit's attempts, oldest first."""
    out: list[FailureMarker] = []
    prefix = join(unit.dir, ATTEMPTS) + "/"
    for attempt in storage.list_dirs(prefix):
        try:
            raw = storage.read_bytes(join(prefix, attempt, FAILURE))
        except NotFoundError:
            continue
        try:
            out.append(FailureMarker.model_validate_json(raw))
        except ValidationError:
            continue  # a foreign or damaged file never blocks a run
    return sorted(out, key=lambda m: m.failed_at)


def permanent_marker_for(storage: Storage, unit: Unit, inputs_digest: str) -> FailureMarker | None:
    """A permanent failure already recorded for these exact inputs, if any."""
    for m in reversed(list_markers(storage, unit)):
        if m.permanent and m.inputs_digest == inputs_digest:
            return m
    return None
