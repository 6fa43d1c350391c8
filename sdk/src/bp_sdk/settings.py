"""Settings every job shares, parsed once in ``main()`` from the environment.

Every problem (missing, empty, malformed, out of range) is collected and raised as one
:class:`~bp_sdk.errors.ConfigError` naming the environment variables, before any work.
Booleans are parsed by pydantic only. Nothing here reads ``os.environ`` at import time.
"""

from __future__ import annotations

import os
import secrets as _random
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args, get_origin

from pydantic import (
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from bp_sdk.errors import ConfigError, Problem
from bp_sdk.ids import ID_HINT, Identifier
from bp_sdk.secrets import parse_endpoint

_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("bp_environ", default=None)

S = TypeVar("S", bound="JobSettings")


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' own env source, reading a given mapping instead of os.environ."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            environ = os.environ
        return parse_env_vars(
            environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


SECRET_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,254}$"  # noqa: S105 - a pattern, not a secret


@dataclass(frozen=True)
class _SecretMarker:
    """Marks a setting whose value names a secret (see :data:`SecretName`)."""


SECRET = _SecretMarker()
SecretName = Annotated[str, StringConstraints(pattern=SECRET_NAME_PATTERN), SECRET]
"""A setting that *names* a secret: its id in Secret Manager (production), or, outside
production, ``BP_SECRET_<NAME>`` in the environment or ``.env``. The runner resolves every
such setting before the work begins (all problems at once), registers the values for
redaction, and hands them to the stage as ``ctx.secret(field)``; the value itself is never
a setting, so it never reaches a commit record, a marker or ``.env.example``."""


def _names_secret(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return any(isinstance(m, _SecretMarker) for m in get_args(annotation)[1:])
    return any(_names_secret(a) for a in get_args(annotation))


def secret_setting_fields(cls: type[BaseSettings]) -> list[str]:
    """Names of the fields of ``cls`` typed :data:`SecretName` (optional or not)."""
    return [
        name
        for name, info in cls.model_fields.items()
        if any(isinstance(m, _SecretMarker) for m in info.metadata)
        or _names_secret(info.annotation)
    ]


def _default_execution() -> str:
    return f"local-{_random.token_hex(4)}"


class JobSettings(BaseSettings):
    """Settings common to every job. Subclasses add the stage's own fields.

    Field names are the environment variable names in lower case. Fields listed in
    ``infra_fields`` describe *where/how* the job runs and are not part of the stage's
    output-affecting parameters (see :meth:`output_params`).
    """

    model_config = SettingsConfigDict(
        case_sensitive=False,
        extra="ignore",
        env_ignore_empty=False,
        validate_default=True,
        frozen=True,
    )

    stage_name: ClassVar[str] = "job"
    infra_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "storage_uri",
            "scene_id",
            "run_id",
            "pipeline_env",
            "log_format",
            "log_level",
            "cloud_run_job",
            "cloud_run_execution",
            "cloud_run_task_index",
            "cloud_run_task_count",
            "cloud_run_task_attempt",
            "trace_id",
            "google_cloud_project",
            "build_revision",
            "build_image_digest",
            "secret_manager_endpoint",
        }
    )

    storage_uri: str = Field(
        description="Pipeline storage root: gs://bucket[/prefix] or file:///absolute/path."
    )
    scene_id: Identifier = Field(description="Scene to process (folder under scenes/).")
    run_id: Identifier = Field(
        description="Run identifier chosen by the caller; `bp` derives it from the configuration digest."
    )
    pipeline_env: Literal["development", "production"] = Field(
        default="development",
        description="production refuses environment/.env secrets and requires Secret Manager.",
    )
    log_format: Literal["json", "console"] = Field(
        default="json", description="json: Cloud Logging lines; console: readable lines."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest severity written."
    )
    cloud_run_job: str | None = Field(default=None, description="Set by Cloud Run: the job name.")
    cloud_run_execution: Identifier = Field(
        default_factory=_default_execution,
        description="Set by Cloud Run: the execution id (attempt folders are named after it). Local default: local-<random>.",
    )
    cloud_run_task_index: int = Field(
        default=0, ge=0, description="Set by Cloud Run: this task's shard index."
    )
    cloud_run_task_count: int = Field(
        default=1, ge=1, le=10_000, description="Set by Cloud Run: number of shards."
    )
    cloud_run_task_attempt: int = Field(
        default=0, ge=0, le=100, description="Set by Cloud Run: retry attempt, 0 first."
    )
    trace_id: str | None = Field(
        default=None,
        description="Cloud Trace id to attach to every log line (projects/P/traces/T or T).",
    )
    google_cloud_project: str | None = Field(
        default=None,
        description="GCP project (Secret Manager, trace names). Required in production.",
    )
    build_revision: str = Field(
        default="unknown",
        description="Source revision baked into the image; recorded in commit records.",
    )
    build_image_digest: str | None = Field(
        default=None,
        description="Digest of the container image the job runs in (set at deploy); recorded in commit records and lineage.",
    )

    secret_manager_endpoint: str | None = Field(
        default=None,
        description="Secret Manager API endpoint override: https://HOST[:PORT] (a private endpoint) or http://127.0.0.1:PORT (a local stand-in, loopback only, no credentials). Default: Google's.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment only: no .env file, no secrets directory for settings."""
        return (init_settings, _MappingEnvSource(settings_cls))

    @field_validator("storage_uri")
    @classmethod
    def _check_storage_uri(cls, value: str) -> str:
        from bp_sdk.storage import parse_storage_uri  # noqa: PLC0415  (avoid an import cycle)

        parse_storage_uri(value)
        return value

    @field_validator("secret_manager_endpoint")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            parse_endpoint(value)
        return value

    @model_validator(mode="after")
    def _check_shard(self) -> JobSettings:
        if self.cloud_run_task_index >= self.cloud_run_task_count:
            raise ValueError(
                f"CLOUD_RUN_TASK_INDEX ({self.cloud_run_task_index}) must be smaller than "
                f"CLOUD_RUN_TASK_COUNT ({self.cloud_run_task_count})"
            )
        if self.pipeline_env == "production" and not self.google_cloud_project:
            raise ValueError("GOOGLE_CLOUD_PROJECT is required when PIPELINE_ENV=production")
        return self

    # ------------------------------------------------------------------ helpers
    @property
    def attempt_id(self) -> str:
        """Folder name of this attempt: ``<execution>-a<attempt>``."""
        return f"{self.cloud_run_execution}-a{self.cloud_run_task_attempt}"

    def secret_values(self) -> list[str]:
        """Values of every secret field, for log and marker redaction."""
        out = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                out.append(value.get_secret_value())
        return out

    def secret_refs(self) -> dict[str, str]:
        """``{field: secret name}`` of every :data:`SecretName` setting that is set."""
        out: dict[str, str] = {}
        for name in secret_setting_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, str) and value:
                out[name] = value
        return out

    def redacted(self) -> dict[str, Any]:
        """Every setting by environment name, secrets replaced by ``**redacted**``."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            out[name.upper()] = "**redacted**" if isinstance(value, SecretStr) else value
        return out

    def output_params(self) -> dict[str, Any]:
        """Settings that change the stage's output (part of the inputs digest)."""
        return {
            k: v
            for k, v in self.redacted().items()
            if k.lower() not in self.infra_fields
            and not isinstance(getattr(self, k.lower()), SecretStr)
        }

    @classmethod
    def env_fields(cls) -> dict[str, FieldInfo]:
        """Fields by environment variable name."""
        return {name.upper(): f for name, f in cls.model_fields.items()}


def _is_secret(cls: type[JobSettings], env_name: str) -> bool:
    info = cls.model_fields.get(env_name.lower())
    return info is not None and "SecretStr" in repr(info.annotation)


def _describe(err: Mapping[str, Any], env_name: str, secret: bool) -> Problem:
    kind = str(err.get("type", ""))
    given = err.get("input")
    if kind == "missing":
        return Problem(env_name, "required but not set", "set it (see .env.example)")
    if isinstance(given, str) and given == "":
        return Problem(
            env_name, "is set but empty", "give it a value or unset it to use the default"
        )
    shown = "**redacted**" if secret else repr(given)
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    hint = ID_HINT if kind == "string_pattern_mismatch" else ""
    return Problem(env_name, f"{msg}; got {shown}", hint)


def load_settings(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Parse ``cls`` from ``environ`` (default ``os.environ``); raise one ConfigError listing all problems."""
    token = _ENVIRON.set(environ)
    try:
        return cls()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err.get("loc") or ()
            env_name = str(loc[0]).upper() if loc else "settings"
            problems.append(_describe(err, env_name, _is_secret(cls, env_name)))
        names = ", ".join(sorted({p.where for p in problems}))
        raise ConfigError(
            f"invalid configuration for {cls.stage_name}: {names}", problems=problems
        ) from None
    finally:
        _ENVIRON.reset(token)
