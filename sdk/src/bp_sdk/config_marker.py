"""A configuration error, recorded where the workflow looks for failures.

A job whose settings are invalid exits 2 before any work. When the settings that say
*where* it runs (``STORAGE_URI``, ``SCENE_ID``, ``RUN_ID``, ...) are valid, it also writes a
permanent failure marker into the attempt it would have used, so an orchestrator that
reads markers (``workflows/pipeline.yaml``) stops at once with the problem instead of
retrying a job that cannot succeed. Best effort: any failure here only means no marker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import TypeAdapter, ValidationError

from bp_sdk.commit import now
from bp_sdk.errors import ConfigError, ExitCode
from bp_sdk.markers import FailureMarker, write_marker
from bp_sdk.redact import sanitize_paths
from bp_sdk.settings import JobSettings, load_settings
from bp_sdk.storage import open_storage

if TYPE_CHECKING:
    from bp_sdk.runner import Stage

log = logging.getLogger("bp.runner")


def _partial_settings(stage: Stage[Any], env: Mapping[str, str], base: JobSettings) -> Any:
    """The stage's settings built from every value that is valid on its own."""
    values: dict[str, Any] = {name: getattr(base, name) for name in type(base).model_fields}
    upper = {k.upper(): v for k, v in env.items()}
    for name, info in stage.settings_cls.model_fields.items():
        raw = upper.get(name.upper())
        if name in values or raw is None:
            continue
        try:
            kind: Any = Annotated[info.annotation, *info.metadata]
            values[name] = TypeAdapter(kind).validate_python(raw)
        except (ValidationError, TypeError, ValueError):
            continue
    return stage.settings_cls.model_construct(**values)


def write_config_marker(stage: Stage[Any], env: Mapping[str, str], err: ConfigError) -> str | None:
    """Write the permanent ``ConfigError`` marker; its key, or None if it cannot be placed."""
    try:
        base = load_settings(JobSettings, env)
    except ConfigError:
        return None
    try:
        settings = _partial_settings(stage, env, base)
        unit = stage.unit(settings)
        marker = FailureMarker(
            error_type="ConfigError",
            message=sanitize_paths(err.message),
            problems=[sanitize_paths(p.render()) for p in err.problems],
            permanent=True,
            exit_code=int(ExitCode.CONFIG),
            stage=stage.name,
            scene_id=base.scene_id,
            run_id=base.run_id,
            execution=base.cloud_run_execution,
            attempt=base.cloud_run_task_attempt,
            attempt_id=base.attempt_id,
            shard={"index": base.cloud_run_task_index, "count": base.cloud_run_task_count}
            if stage.sharded
            else None,
            next_step=err.next_step,
            failed_at=now(),
        )
        storage = open_storage(base.storage_uri, project=base.google_cloud_project)
        try:
            return write_marker(storage, unit, marker)
        finally:
            storage.close()
    except Exception as exc:  # noqa: BLE001 - best effort: the exit code still tells
        log.warning("could not record the configuration error as a marker: %s", type(exc).__name__)
        return None
