"""How a failed attempt is recorded: the failure marker, and one log line that says it all.

The runner calls :func:`fail_stage` with whatever stopped the stage. Storage or local temp
space that is full, read-only or refuses writes is said in one line (see
:mod:`bp_sdk.space`), whatever the stage made of the ``OSError``; a full storage first loses
this attempt's partial files (garbage by the commit protocol) so that the marker fits.
When the marker itself cannot be written, the same log line says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bp_sdk import space
from bp_sdk.commit import now
from bp_sdk.errors import BPError, ExitCode, StorageFull, Terminated
from bp_sdk.layout import FAILURE, Unit
from bp_sdk.markers import FailureMarker, write_marker
from bp_sdk.redact import Redactor, format_traceback, sanitize_paths
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage

if TYPE_CHECKING:
    from bp_sdk.runner import Stage, StageContext

log = logging.getLogger("bp.runner")
UNEXPECTED = "Unexpected error: retry; if it persists, report it with this marker."


def space_cause(exc: BaseException, storage: Storage | None) -> BPError | None:
    """The full/read-only/refused error behind ``exc``, unless ``exc`` says something more
    specific (a permanent error, a configuration error, a SIGTERM)."""
    if isinstance(exc, BPError) and (exc.permanent or isinstance(exc, Terminated)):
        return None
    root = getattr(storage, "root", None)
    where = storage.where() if storage is not None else "storage"
    found = space.explain(exc, root if isinstance(root, Path) else None, where)
    return found if found is not None else space.noted()


def free_attempt(storage: Storage, unit: Unit, attempt_id: str) -> int:
    """Delete this attempt's partial files (never a marker); how many were removed."""
    prefix = unit.attempt_dir(attempt_id) + "/"
    removed = 0
    for info in list(storage.list(prefix, include_temporary=True)):
        if info.path.endswith("/" + FAILURE):
            continue
        try:
            storage.delete(info.path)
        except (BPError, OSError):
            continue
        removed += 1
    return removed


def _short(err: BaseException) -> str:
    """``storage read-only`` for a space error, else the error's type."""
    if isinstance(err, BPError) and " at " in err.message:
        return err.message.split(" at ", 1)[0]
    return type(err).__name__


@dataclass(frozen=True)
class _Verdict:
    """What the failure is: type, exit code, whether retrying helps, next step, message."""

    error_type: str
    exit_code: ExitCode
    permanent: bool
    next_step: str
    message: str
    problems: list[str]


def fail_stage(
    stage: Stage[Any],
    settings: JobSettings,
    unit: Any,
    storage: Storage | None,
    ctx: StageContext[Any] | None,
    exc: BaseException,
    digest: str | None,
    params: dict[str, Any],
    code: dict[str, str],
    redactor: Redactor,
) -> int:
    """Write ``_FAILURE.json`` for ``exc``, log one line, return the exit code."""
    cause = space_cause(exc, storage)
    partial = _partial_results(exc, cause, ctx)
    shown: BaseException = cause if cause is not None else exc
    verdict = _verdict(exc, shown, cause)
    if isinstance(cause, StorageFull) and storage is not None:
        partial["partial_files_removed"] = free_attempt(storage, unit, settings.attempt_id)
    marker = _marker(stage, settings, exc, verdict, partial, digest, params, code, redactor)
    where, unwritten = _write(storage, unit, marker)
    _log_failure(unit, marker, verdict, where, unwritten)
    if not isinstance(shown, BPError):
        log.error("traceback:\n%s", marker.traceback)
    return int(verdict.exit_code)


def _partial_results(
    exc: BaseException, cause: BPError | None, ctx: StageContext[Any] | None
) -> dict[str, Any]:
    """The stage's partial results, plus the error a space error superseded."""
    partial: dict[str, Any] = dict(ctx.partial) if ctx else {}
    if cause is not None and cause is not exc:
        partial["superseded_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    return partial


def _verdict(exc: BaseException, shown: BaseException, cause: BPError | None) -> _Verdict:
    """The verdict of the error shown: its own for a pipeline error, else retryable."""
    if isinstance(shown, BPError):
        exit_code, permanent, next_step = shown.exit_code, shown.permanent, shown.next_step
        message, problems = shown.message, [p.render() for p in shown.problems]
    else:
        exit_code, permanent, next_step = ExitCode.RETRYABLE, False, UNEXPECTED
        message, problems = f"{type(exc).__name__}: {exc}", []
    if cause is not None:
        problems = []
    return _Verdict(type(shown).__name__, exit_code, permanent, next_step, message, problems)


def _marker(
    stage: Stage[Any],
    settings: JobSettings,
    exc: BaseException,
    verdict: _Verdict,
    partial: dict[str, Any],
    digest: str | None,
    params: dict[str, Any],
    code: dict[str, str],
    redactor: Redactor,
) -> FailureMarker:
    """The attempt's failure marker, every text redacted and free of host paths."""
    return FailureMarker(
        error_type=verdict.error_type,
        message=sanitize_paths(redactor.text(verdict.message)),
        problems=[sanitize_paths(redactor.text(p)) for p in verdict.problems],
        permanent=verdict.permanent,
        exit_code=int(verdict.exit_code),
        stage=stage.name,
        scene_id=settings.scene_id,
        run_id=settings.run_id,
        execution=settings.cloud_run_execution,
        attempt=settings.cloud_run_task_attempt,
        attempt_id=settings.attempt_id,
        shard={"index": settings.cloud_run_task_index, "count": settings.cloud_run_task_count}
        if stage.sharded
        else None,
        traceback=format_traceback(type(exc), exc, exc.__traceback__, redactor),
        inputs_digest=digest,
        params=redactor.value(params),
        partial_results=redactor.value(partial),
        next_step=verdict.next_step,
        code=code,
        failed_at=now(),
    )


def _write(storage: Storage | None, unit: Any, marker: FailureMarker) -> tuple[str, str]:
    """Write the marker: its key (or ``""``), and what the log line adds when it is missing."""
    if storage is None:
        return "", "; no failure marker: storage could not be opened"
    try:
        where = write_marker(storage, unit, marker)
    except Exception as werr:  # noqa: BLE001 - the marker is best effort; the log line tells
        return "", f"; no failure marker: it could not be written either ({_short(werr)})"
    return where, ""


def _log_failure(
    unit: Any, marker: FailureMarker, verdict: _Verdict, where: str, unwritten: str
) -> None:
    """The one log line that says what failed, how, and where its marker is."""
    detail = "\n".join(f"  - {p}" for p in marker.problems[:50])
    log.error(
        "%s failed (%s, %s): %s%s%s",
        unit.label,
        marker.error_type,
        "permanent" if verdict.permanent else "retryable",
        marker.message,
        unwritten,
        f"\n{detail}" if detail else "",
        extra={
            "fields": {
                "event": "stage_failed",
                "exit_code": int(verdict.exit_code),
                "error_type": marker.error_type,
                "permanent": verdict.permanent,
                "marker": where,
                "marker_written": bool(where),
                "next_step": verdict.next_step,
            }
        },
    )


def repeat_marker(
    storage: Storage, unit: Unit, earlier: FailureMarker, settings: JobSettings
) -> None:
    """This attempt failed for the same reason as ``earlier``: record it in this attempt too,
    so whoever looks for this execution's marker (the workflow) finds the reason."""
    again = earlier.model_copy(
        update={
            "execution": settings.cloud_run_execution,
            "attempt": settings.cloud_run_task_attempt,
            "attempt_id": settings.attempt_id,
            "next_step": f"{earlier.next_step} (first recorded in attempt {earlier.attempt_id})",
            "failed_at": now(),
        }
    )
    try:
        write_marker(storage, unit, again)
    except Exception as werr:  # noqa: BLE001 - the exit code still tells
        log.error("could not write the failure marker: %s", _short(werr))  # noqa: TRY400


__all__ = ["fail_stage", "free_attempt", "repeat_marker", "space_cause"]
