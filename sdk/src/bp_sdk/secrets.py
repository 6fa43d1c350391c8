"""Secrets: Secret Manager in the cloud; environment or ``.env`` only outside production.

Production refuses the fallback loudly. Every value fetched is registered with the
process's :class:`~bp_sdk.redact.Redactor`, so it never reaches a log line or marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bp_sdk.errors import ConfigError, PermanentError, RetryableError
from bp_sdk.redact import Redactor

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,254}$")
ENV_PREFIX = "BP_SECRET_"


def _env_name(name: str) -> str:
    return ENV_PREFIX + name.upper().replace("-", "_")


def read_dotenv(path: Path) -> dict[str, str]:
    """Minimal ``KEY=VALUE`` parser for a local ``.env`` (comments and quotes allowed)."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip().removeprefix("export ").strip()] = value
    return out


class Secrets:
    """Look up secrets by name.

    ``client_factory`` builds a Secret Manager client (injected so tests can run without
    a cloud project; the default is the real ``SecretManagerServiceClient``).
    """

    def __init__(
        self,
        *,
        production: bool,
        project: str | None,
        redactor: Redactor,
        environ: Mapping[str, str],
        dotenv: Path | None = None,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        if production and not project:
            raise ConfigError(
                "GOOGLE_CLOUD_PROJECT is required in production to read Secret Manager"
            )
        self.production = production
        self.project = project
        self.redactor = redactor
        self._environ = environ
        self._dotenv = dotenv
        self._client_factory = client_factory
        self._client: Any = None

    def get(self, name: str) -> str:
        """The secret's value (registered for redaction before it is returned)."""
        if not _NAME.match(name):
            raise ConfigError(f"invalid secret name {name[:40]!r}")
        value = self._from_manager(name) if self.production else self._from_local(name)
        self.redactor.add([value])
        return value

    def _from_local(self, name: str) -> str:
        key = _env_name(name)
        if key in self._environ:
            return self._environ[key]
        if self._dotenv is not None:
            values = read_dotenv(self._dotenv)
            if key in values:
                return values[key]
        raise ConfigError(
            f"secret {name!r} not found: set {key} in the environment or in .env "
            "(PIPELINE_ENV=development only; production reads Secret Manager)"
        )

    def _from_manager(self, name: str) -> str:
        from google.api_core import exceptions as gexc  # noqa: PLC0415

        if self._client is None:
            if self._client_factory is None:
                from google.cloud import secretmanager  # noqa: PLC0415

                self._client_factory = secretmanager.SecretManagerServiceClient
            self._client = self._client_factory()
        resource = f"projects/{self.project}/secrets/{name}/versions/latest"
        try:
            response = self._client.access_secret_version(request={"name": resource}, timeout=30.0)
        except gexc.NotFound:
            raise PermanentError(
                f"secret {name!r} does not exist in Secret Manager of project {self.project}",
                next_step="Create it (Terraform's secrets.tf) and grant the job's service account accessor.",
            ) from None
        except (gexc.PermissionDenied, gexc.Unauthenticated):
            raise PermanentError(
                f"no access to secret {name!r} in project {self.project}",
                next_step="Grant roles/secretmanager.secretAccessor on the secret to the job's service account.",
            ) from None
        except gexc.GoogleAPICallError as exc:
            raise RetryableError(
                f"Secret Manager call failed for {name!r}: {type(exc).__name__}"
            ) from None
        value: str = response.payload.data.decode("utf-8")
        return value

    def refuse_local_in_production(self) -> None:
        """Raise if a ``BP_SECRET_*`` variable is set in production (it would be ignored)."""
        if self.production:
            leaked = sorted(k for k in self._environ if k.startswith(ENV_PREFIX))
            if leaked:
                raise ConfigError(
                    f"{', '.join(leaked)} set with PIPELINE_ENV=production: secrets come only from Secret Manager"
                )
