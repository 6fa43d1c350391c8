"""The job runner: settings → logging → work → commit or failure marker → exit code.

Every job's ``main()`` is ``sys.exit(run_stage(MyStage()))``. The runner owns the
commit protocol so no stage can publish outputs any other way:

1. parse settings (all problems at once; exit 2 before any work),
2. configure logging with the job's labels, redacting every secret,
3. compute the inputs digest; a committed unit with the same digest is skipped (exit 0),
   with a different digest is a permanent error (run id reuse), and a permanent failure
   already recorded for the same inputs and code stops at once (exit 3),
4. read every secret the settings name, refuse at once a read-only or full local
   storage, run the stage into its attempt folder, then write the commit record last,
5. on failure write ``_FAILURE.json`` in the attempt and exit 1 / 3 / 143 (full or
   read-only storage: one line, exit 1, see :mod:`bp_sdk.failure`); the local spool
   folders the job made are removed on the way out whatever happened.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, Generic, TypeVar

from bp_sdk import space, spool
from bp_sdk.commit import (
    AttemptRef,
    CommitRecord,
    OutputWriter,
    ShardRef,
    check_same_inputs,
    commit,
    inputs_digest,
    load_record,
    now,
    outputs_digest,
)
from bp_sdk.config_marker import write_config_marker
from bp_sdk.errors import ConfigError, ExitCode, Problem, Terminated
from bp_sdk.failure import fail_stage, repeat_marker
from bp_sdk.logs import LogContext, configure_logging, trace_name
from bp_sdk.markers import FailureMarker, permanent_marker_for
from bp_sdk.redact import Redactor
from bp_sdk.secrets import Secrets
from bp_sdk.settings import JobSettings, load_settings
from bp_sdk.storage import Storage, open_storage
from bp_sdk.version import code_version

S = TypeVar("S", bound=JobSettings)
log = logging.getLogger("bp.runner")


@dataclass
class StageResult:
    """What a stage returns: a small summary and the seeds it used."""

    summary: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)


@dataclass
class StageContext(Generic[S]):
    """Everything a stage's ``run`` needs, built by the runner."""

    settings: S
    storage: Storage
    unit: Any  # bp_sdk.layout.Unit
    output: OutputWriter
    redactor: Redactor
    log: logging.Logger
    secrets: Secrets
    partial: dict[str, Any] = field(default_factory=dict)
    cancelled: Callable[[], None] = field(default=lambda: None)
    _last_progress: float = 0.0
    secret_values: dict[str, str] = field(default_factory=dict, repr=False)

    def secret(self, setting: str) -> str | None:
        """The value of the secret that the :data:`~bp_sdk.settings.SecretName` setting
        ``setting`` (field name) names, read before the work began; None when it is unset."""
        return self.secret_values.get(setting)

    def progress(
        self,
        what: str,
        done: int,
        total: int | None = None,
        every_s: float = 2.0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Log progress at most every ``every_s`` seconds (and always at the end).

        The record carries ``progress: {what, done, total, **extra}`` (``bp run`` shows it
        live; ``extra`` adds counts such as episodes succeeded so far)."""
        self.cancelled()
        t = time.monotonic()
        finished = total is not None and done >= total
        if not finished and t - self._last_progress < every_s:
            return
        self._last_progress = t
        pct = f" ({100.0 * done / total:.0f}%)" if total else ""
        state = {"what": what, "done": done, "total": total, **(extra or {})}
        self.log.info(
            "%s: %d%s%s",
            what,
            done,
            f"/{total}" if total else "",
            pct,
            extra={"fields": {"progress": state}},
        )
        self.partial["progress"] = state


class Stage(ABC, Generic[S]):
    """A pipeline stage: declares its settings and inputs, and writes its outputs."""

    name: ClassVar[str]
    distribution: ClassVar[str]
    settings_cls: type[S]
    sharded: ClassVar[bool] = False

    @abstractmethod
    def inputs(self, settings: S, storage: Storage) -> dict[str, str]:
        """Digest of every input (name → sha256), computed before any work."""

    @abstractmethod
    def run(self, ctx: StageContext[S]) -> StageResult:
        """Do the work, writing outputs through ``ctx.output``."""

    def unit(self, settings: S) -> Any:
        """Where this job commits (a :class:`bp_sdk.layout.Unit`): by default the scene
        run's stage folder, or its shard; dataset stages return a dataset unit."""
        from bp_sdk.layout import Unit  # noqa: PLC0415

        if self.sharded:
            return Unit(
                settings.scene_id,
                settings.run_id,
                self.name,
                settings.cloud_run_task_index,
                settings.cloud_run_task_count,
            )
        return Unit(settings.scene_id, settings.run_id, self.name)


class _Sigterm:
    """SIGTERM raises :class:`Terminated` and sets a flag.

    The flag matters because an exception raised from a signal handler can be swallowed
    by code that happens to be running (``logging`` swallows errors inside ``emit``);
    the runner and ``ctx.progress`` check it, so termination is never lost.
    """

    def __init__(self) -> None:
        self.previous: Any = None
        self.received = False

    def install(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.received = True
            raise Terminated("received SIGTERM (Cloud Run timeout or cancellation)")

        self.previous = signal.signal(signal.SIGTERM, handler)

    def check(self) -> None:
        if self.received:
            raise Terminated("received SIGTERM (Cloud Run timeout or cancellation)")

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _labels(settings: JobSettings, stage: str, unit_label: str) -> dict[str, str]:
    return {
        "job": settings.cloud_run_job or f"bp-{stage}",
        "stage": unit_label,
        "scene": settings.scene_id,
        "run": settings.run_id,
        "execution": settings.cloud_run_execution,
        "task": str(settings.cloud_run_task_index),
        "attempt": str(settings.cloud_run_task_attempt),
    }


def _check_sharding(stage: Stage[S], settings: S) -> None:
    if not stage.sharded and settings.cloud_run_task_count > 1:
        raise ConfigError(
            f"{stage.name} is not a sharded stage but CLOUD_RUN_TASK_COUNT is "
            f"{settings.cloud_run_task_count}",
            problems=[
                Problem("CLOUD_RUN_TASK_COUNT", "must be 1 for this stage", "run it with one task")
            ],
        )


def _report_config_error(stage: str, err: ConfigError, environ: Mapping[str, str]) -> None:
    fmt = environ.get("LOG_FORMAT", "json")
    ctx = LogContext(labels={"job": f"bp-{stage}"})
    configure_logging(ctx, fmt="console" if fmt == "console" else "json")
    log.error(
        err.render(),
        extra={"fields": {"error_type": "ConfigError", "exit_code": int(ExitCode.CONFIG)}},
    )


@dataclass
class _Job(Generic[S]):
    """One run of a stage: what it was given, and how far its attempt has come."""

    stage: Stage[S]
    settings: S
    secrets: Secrets
    unit: Any  # bp_sdk.layout.Unit
    code: dict[str, str]
    params: dict[str, Any]
    sigterm: _Sigterm = field(default_factory=_Sigterm)
    storage: Storage | None = None
    digest: str | None = None
    ctx: StageContext[S] | None = None


def run_stage(stage: Stage[S], environ: Mapping[str, str] | None = None) -> int:
    """Run ``stage`` as a job and return its exit code (never raises)."""
    env = os.environ if environ is None else environ
    try:
        settings, secrets = _load_settings(stage, env)
    except ConfigError as err:
        return _refuse_settings(stage, env, err)
    try:
        unit = stage.unit(settings)
    except (ConfigError, ValueError) as err:
        return _refuse_unit(stage.name, env, err)
    _configure_job_logging(stage.name, settings, unit, secrets.redactor)
    job = _new_job(stage, settings, secrets, unit)
    job.sigterm.install()
    space.reset()
    _sweep_spool()
    return _run_job(job)


def _load_settings(stage: Stage[S], env: Mapping[str, str]) -> tuple[S, Secrets]:
    """Parse and check the settings and the secrets source; every problem in one ConfigError."""
    settings = load_settings(stage.settings_cls, env)
    secrets = Secrets(
        production=settings.pipeline_env == "production",
        project=settings.google_cloud_project,
        redactor=Redactor(settings.secret_values()),
        environ=env,
        dotenv=Path.cwd() / ".env",
        endpoint=settings.secret_manager_endpoint,
    )
    secrets.refuse_local_in_production()
    _check_sharding(stage, settings)
    return settings, secrets


def _refuse_settings(stage: Stage[S], env: Mapping[str, str], err: ConfigError) -> int:
    """Report bad settings in the log and a config marker; the configuration exit code."""
    _report_config_error(stage.name, err, env)
    write_config_marker(stage, env, err)
    return int(ExitCode.CONFIG)


def _refuse_unit(stage: str, env: Mapping[str, str], err: ConfigError | ValueError) -> int:
    """Report settings that name no valid unit; the configuration exit code."""
    cerr = err if isinstance(err, ConfigError) else ConfigError(str(err))
    _report_config_error(stage, cerr, env)
    return int(ExitCode.CONFIG)


def _configure_job_logging(
    stage: str, settings: JobSettings, unit: Any, redactor: Redactor
) -> None:
    """Log with the job's labels and trace, redacting every secret."""
    ctx_log = LogContext(
        labels=_labels(settings, stage, unit.label),
        trace=trace_name(settings.trace_id, settings.google_cloud_project),
        redactor=redactor,
    )
    configure_logging(ctx_log, fmt=settings.log_format, level=settings.log_level)


def _new_job(stage: Stage[S], settings: S, secrets: Secrets, unit: Any) -> _Job[S]:
    """The job, with its code version and output parameters."""
    code = code_version(stage.distribution, settings.build_revision, settings.build_image_digest)
    return _Job(stage, settings, secrets, unit, code, settings.output_params())


def _run_job(job: _Job[S]) -> int:
    """Run the attempt, failing it on any error; then restore SIGTERM, drop spool, close storage."""
    try:
        return _attempt(job)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            exc = Terminated("interrupted (SIGINT)")
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        return _fail(job, exc)
    finally:
        job.sigterm.restore()
        spool.remove_own()
        if job.storage is not None:
            job.storage.close()


def _fail(job: _Job[S], exc: BaseException) -> int:
    """Write the attempt's failure marker for ``exc`` and log it; the exit code."""
    return fail_stage(
        job.stage,
        job.settings,
        job.unit,
        job.storage,
        job.ctx,
        exc,
        job.digest,
        job.params,
        job.code,
        job.secrets.redactor,
    )


def _attempt(job: _Job[S]) -> int:
    """Open storage, stop on an earlier outcome, else run the stage and commit its outputs."""
    job.storage = storage = open_storage(
        job.settings.storage_uri, project=job.settings.google_cloud_project
    )
    inputs = job.stage.inputs(job.settings, storage)
    job.digest = digest = inputs_digest(job.stage.name, inputs, job.params)
    earlier = _earlier_outcome(job, storage, digest)
    if earlier is not None:
        return earlier
    job.ctx = ctx = _stage_context(job, storage)
    log.info(
        "%s starting (attempt %s)",
        job.unit.label,
        job.settings.attempt_id,
        extra={"fields": {"inputs_digest": digest}},
    )
    started = time.monotonic()
    started_at = now()
    result = _run_work(job, ctx)
    record = _commit_record(job, ctx.output, inputs, digest, result, started_at)
    winner = commit(storage, record, job.unit)
    _log_commit(job.unit, record, winner, time.monotonic() - started)
    return int(ExitCode.OK)


def _earlier_outcome(job: _Job[S], storage: Storage, digest: str) -> int | None:
    """OK if already committed, PERMANENT if these inputs and code failed for good, else None."""
    existing = load_record(storage, job.unit)
    if existing is not None:
        check_same_inputs(existing, digest)
        log.info(
            "%s already committed for these inputs by attempt %s; skipping",
            job.unit.label,
            existing.attempt.attempt_id,
            extra={"fields": {"skipped": True, "inputs_digest": digest}},
        )
        return int(ExitCode.OK)
    earlier = permanent_marker_for(storage, job.unit, digest)
    if earlier is not None and earlier.code == job.code:
        _repeat_permanent_failure(job, storage, earlier)
        return int(ExitCode.PERMANENT)
    return None


def _repeat_permanent_failure(job: _Job[S], storage: Storage, earlier: FailureMarker) -> None:
    """Say the inputs already failed permanently, and record it in this attempt too."""
    log.error(
        "%s failed permanently for these inputs in attempt %s (%s: %s); not retrying",
        job.unit.label,
        earlier.attempt_id,
        earlier.error_type,
        earlier.message,
        extra={"fields": {"earlier_marker": job.unit.failure_path(earlier.attempt_id)}},
    )
    repeat_marker(storage, job.unit, earlier, job.settings)


def _stage_context(job: _Job[S], storage: Storage) -> StageContext[S]:
    """Read the secrets, refuse unwritable storage, and build the stage's context."""
    secret_values = job.secrets.resolve(job.settings.secret_refs())
    storage.check_writable()
    output = OutputWriter(storage, job.unit, job.settings.attempt_id)
    return StageContext(
        job.settings,
        storage,
        job.unit,
        output,
        job.secrets.redactor,
        logging.getLogger(f"bp.{job.stage.name}"),
        job.secrets,
        secret_values=secret_values,
    )


def _run_work(job: _Job[S], ctx: StageContext[S]) -> StageResult:
    """Run the stage's work, cancellable by SIGTERM."""
    ctx.cancelled = job.sigterm.check
    result = job.stage.run(ctx)
    job.sigterm.check()  # a SIGTERM swallowed during the work still stops the commit
    return result


def _commit_record(
    job: _Job[S],
    output: OutputWriter,
    inputs: dict[str, str],
    digest: str,
    result: StageResult,
    started_at: datetime,
) -> CommitRecord:
    """The commit record of this attempt's outputs, settings and summary redacted."""
    settings, redactor = job.settings, job.secrets.redactor
    return CommitRecord(
        stage=job.stage.name,
        scene_id=settings.scene_id,
        run_id=settings.run_id,
        shard=ShardRef(index=settings.cloud_run_task_index, count=settings.cloud_run_task_count)
        if job.stage.sharded
        else None,
        dataset_id=job.unit.dataset,
        attempt=AttemptRef(
            execution=settings.cloud_run_execution,
            attempt=settings.cloud_run_task_attempt,
            attempt_id=settings.attempt_id,
        ),
        attempt_dir=output.dir,
        files=dict(output.files),
        outputs_digest=outputs_digest(output.files),
        inputs=inputs,
        inputs_digest=digest,
        params=redactor.value(job.params),
        settings=redactor.value(settings.redacted()),
        code=job.code,
        seeds=result.seeds,
        summary=redactor.value(result.summary),
        started_at=started_at,
        committed_at=now(),
    )


def _log_commit(unit: Any, record: CommitRecord, winner: CommitRecord, took: float) -> None:
    """Say the attempt committed, or that another attempt's commit won."""
    if winner is record:
        log.info(
            "%s committed %d files in %.2fs",
            unit.label,
            len(record.files),
            took,
            extra={
                "fields": {
                    "event": "stage_committed",
                    "summary": record.summary,
                    "duration_s": round(took, 3),
                }
            },
        )
    else:
        log.info(
            "%s was committed concurrently by attempt %s; this attempt's files are garbage",
            unit.label,
            winner.attempt.attempt_id,
        )


def _sweep_spool() -> None:
    """Remove spool folders that killed jobs left on this machine (best effort)."""
    try:
        spool.sweep()
    except OSError as err:
        log.warning("could not sweep the local spool: %s", type(err).__name__)


def main_for(stage: Stage[Any]) -> None:
    """Console-script body: run the stage and exit with its code."""
    sys.exit(run_stage(stage))
