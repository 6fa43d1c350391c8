"""Secrets: Secret Manager in the cloud; environment or ``.env`` only outside production.

Production refuses the fallback loudly. Every value fetched is registered with the
process's :class:`~bp_sdk.redact.Redactor` (with the parts of it that would leak it on
their own, see :func:`~bp_sdk.redact.secret_fragments`), so it never reaches a log line,
a marker or a commit record.

Settings name secrets, never hold them: a field typed :data:`bp_sdk.settings.SecretName`
holds the secret's id; :meth:`Secrets.resolve` reads every one before the work begins and
reports every problem at once. ``SECRET_MANAGER_ENDPOINT`` points the real client at a
private endpoint or, on loopback only, at a local stand-in (REST, no credentials).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bp_sdk.errors import ConfigError, PermanentError, Problem, RetryableError
from bp_sdk.redact import Redactor, secret_fragments

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,254}$")
ENV_PREFIX = "BP_SECRET_"
CALL_TIMEOUT_S = 30.0


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_endpoint(value: str) -> tuple[str, bool]:
    """``(endpoint, plaintext)`` of an endpoint override; ValueError unless it is
    ``https://HOST[:PORT]`` or ``http://`` on loopback (no token ever travels in clear)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{value[:80]!r} is not https://HOST[:PORT] (or http://127.0.0.1:PORT)")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("plain http:// is accepted only on loopback (a local stand-in)")
    return f"{parts.scheme}://{parts.netloc}", parts.scheme == "http"


def manager_client(endpoint: str | None = None) -> Any:
    """The real ``SecretManagerServiceClient``: Google's endpoint by default, a private
    ``https://`` endpoint, or a loopback stand-in over REST with anonymous credentials."""
    from google.cloud import secretmanager  # noqa: PLC0415 - only production reads it

    if endpoint is None:
        return secretmanager.SecretManagerServiceClient()
    url, plaintext = parse_endpoint(endpoint)
    if plaintext:
        from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415

        return secretmanager.SecretManagerServiceClient(
            transport="rest",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": url},
        )
    return secretmanager.SecretManagerServiceClient(
        client_options={"api_endpoint": url.removeprefix("https://")}
    )


class Secrets:
    """Look up secrets by name.

    ``client_factory`` builds a Secret Manager client (injected so tests can run without
    a cloud project; the default is the real ``SecretManagerServiceClient`` at
    ``endpoint``, Google's when None).
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
        endpoint: str | None = None,
        call_timeout_s: float = CALL_TIMEOUT_S,
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
        self._client_factory = client_factory or (lambda: manager_client(endpoint))
        self._client: Any = None
        self._timeout = call_timeout_s

    def get(self, name: str) -> str:
        """The secret's value (registered for redaction before it is returned)."""
        if not _NAME.match(name):
            raise ConfigError(f"invalid secret name {name[:40]!r}")
        value = self._from_manager(name) if self.production else self._from_local(name)
        self.redactor.add(secret_fragments(value))
        return value

    def resolve(self, refs: Mapping[str, str]) -> dict[str, str]:
        """``{setting: value}`` for ``{setting: secret name}``; every missing or unreadable
        secret in one :class:`ConfigError` (a transient Secret Manager failure is raised as
        the :class:`RetryableError` it is)."""
        values: dict[str, str] = {}
        problems: list[Problem] = []
        for setting, name in sorted(refs.items()):
            try:
                values[setting] = self.get(name)
            except (ConfigError, PermanentError) as err:
                problems.append(Problem(setting.upper(), err.message, err.next_step))
        if problems:
            raise ConfigError(
                f"secrets named by settings cannot be read: {', '.join(p.where for p in problems)}",
                problems=problems,
                next_step="Create the secrets (or, outside production, set BP_SECRET_<NAME>), then run again.",
            )
        return values

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
        from google.api_core import retry as gretry  # noqa: PLC0415

        if self._client is None:
            self._client = self._client_factory()
        resource = f"projects/{self.project}/secrets/{name}/versions/latest"
        # transient errors are retried with backoff, all of it within the call's time
        retry = gretry.Retry(predicate=gretry.if_transient_error, timeout=self._timeout)
        try:
            response = self._client.access_secret_version(
                request={"name": resource}, timeout=self._timeout, retry=retry
            )
        except gexc.NotFound:
            raise PermanentError(
                f"secret {name!r} does not exist in Secret Manager of project {self.project}",
                next_step="Create it (Terraform's secrets.tf) and grant the job's service account accessor.",
            ) from None
        # Forbidden/Unauthorized: gRPC's PermissionDenied/Unauthenticated and REST's 403/401
        except (gexc.Forbidden, gexc.Unauthorized):
            raise PermanentError(
                f"no access to secret {name!r} in project {self.project}",
                next_step="Grant roles/secretmanager.secretAccessor on the secret to the job's service account.",
            ) from None
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            raise RetryableError(
                f"Secret Manager call failed for {name!r}: {type(exc).__name__}"
            ) from None
        data: bytes = response.payload.data
        _check_crc32c(name, data, getattr(response.payload, "data_crc32c", None))
        return data.decode("utf-8")

    def refuse_local_in_production(self) -> None:
        """Raise if a ``BP_SECRET_*`` variable is set in production (it would be ignored)."""
        if self.production:
            leaked = sorted(k for k in self._environ if k.startswith(ENV_PREFIX))
            if leaked:
                raise ConfigError(
                    f"{', '.join(leaked)} set with PIPELINE_ENV=production: secrets come only from Secret Manager"
                )


def _check_crc32c(name: str, data: bytes, expected: Any) -> None:
    """Secret Manager sends a CRC32C of the payload: a mismatch is corruption in transit."""
    if not isinstance(expected, int) or not expected:
        return
    import google_crc32c  # noqa: PLC0415 - installed with google-cloud-storage

    if google_crc32c.value(data) != expected:
        raise RetryableError(f"secret {name!r} arrived corrupted (CRC32C mismatch); retry")
