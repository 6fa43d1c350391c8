"""Google Cloud API clients for ``bp run --cloud`` and ``bp stage --cloud``, and their errors.

Workflows Executions goes over gRPC: google-cloud-workflows ships no REST transport for
it. Cloud Run Admin v2 (jobs, executions, operations) goes over REST. An endpoint
override serves a private endpoint (``https://…``, Application Default Credentials) or
a local stand-in (``http://127.0.0.1:PORT``: plaintext, anonymous credentials, accepted
only on loopback so no token ever travels in clear).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import google.auth
import grpc  # type: ignore[import-untyped]
from bp_sdk.errors import BPError, ExitCode
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.cloud import run_v2
from google.cloud.workflows import executions_v1
from google.cloud.workflows.executions_v1.services.executions.transports import (
    ExecutionsGrpcTransport,
)

CLOUD_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
CALL_TIMEOUT_S = 30.0
LOGIN = "gcloud auth application-default login"
WORKFLOWS_HOST = "workflowexecutions.googleapis.com"
RUN_HOST = "run.googleapis.com"


class CloudError(BPError):
    """A cloud call could not be made or was refused: one line, and what to do."""

    def __init__(
        self, message: str, *, next_step: str, exit_code: ExitCode = ExitCode.CONFIG
    ) -> None:
        super().__init__(message, next_step=next_step)
        self.exit_code = exit_code
        self.permanent = exit_code != ExitCode.RETRYABLE


@dataclass(frozen=True)
class Endpoint:
    """Where the clients connect instead of the Google default hosts."""

    rest_url: str  # scheme://host[:port] for the REST clients
    grpc_target: str  # host:port for the gRPC client
    plaintext: bool  # http:// on loopback: no TLS, anonymous credentials


@dataclass(frozen=True)
class CloudClients:
    """The real clients, ready to call."""

    executions: executions_v1.ExecutionsClient  # Workflows Executions (gRPC)
    jobs: run_v2.JobsClient  # Cloud Run jobs and their operations (REST)
    run_executions: run_v2.ExecutionsClient  # Cloud Run job executions (REST)
    workflows_endpoint: str = WORKFLOWS_HOST  # for messages
    run_endpoint: str = RUN_HOST
    default_project: str | None = None  # the ADC project, if any


def parse_endpoint(api_endpoint: str) -> Endpoint:
    """``http://localhost:PORT`` (loopback only), ``https://host[:port]`` or ``host[:port]``."""
    text = api_endpoint.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise CloudError(
            f"--api-endpoint {api_endpoint!r} is not http(s)://host[:port]",
            next_step="Pass the endpoint as https://HOST[:PORT] (or http://127.0.0.1:PORT for a local stand-in).",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise CloudError(
            f"--api-endpoint {api_endpoint!r}: plain http:// is accepted only on localhost",
            next_step="Use https:// for a remote endpoint; credentials never travel in clear.",
        )
    port = parts.port or (80 if parts.scheme == "http" else 443)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Endpoint(
        rest_url=f"{parts.scheme}://{host}:{port}",
        grpc_target=f"{host}:{port}",
        plaintext=parts.scheme == "http",
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def application_default_credentials() -> tuple[Any, str | None]:
    """ADC and its project, or a one-line CloudError saying what to run."""
    try:
        credentials, project = google.auth.default(scopes=[CLOUD_SCOPE])
    except DefaultCredentialsError:
        keyfile = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        why = f"GOOGLE_APPLICATION_CREDENTIALS={keyfile} is unusable" if keyfile else "none found"
        raise CloudError(
            f"no Google Cloud credentials ({why}): run `{LOGIN}`",
            next_step=f"Run `{LOGIN}` (or point GOOGLE_APPLICATION_CREDENTIALS at a key file), then retry.",
        ) from None
    return credentials, project


def make_clients(api_endpoint: str | None = None) -> CloudClients:
    """Real Workflows Executions (gRPC) and Cloud Run v2 (REST) clients.

    With ``api_endpoint`` every client talks to that endpoint; plain ``http://`` on
    loopback uses anonymous credentials, anything else Application Default Credentials.
    """
    endpoint = parse_endpoint(api_endpoint) if api_endpoint else None
    if endpoint is not None and endpoint.plaintext:
        credentials: Any = AnonymousCredentials()  # type: ignore[no-untyped-call]
        project: str | None = None
        channel = grpc.insecure_channel(endpoint.grpc_target)
        executions = executions_v1.ExecutionsClient(
            transport=ExecutionsGrpcTransport(channel=channel)
        )
    else:
        credentials, project = application_default_credentials()
        options = {"api_endpoint": endpoint.grpc_target} if endpoint else None
        executions = executions_v1.ExecutionsClient(credentials=credentials, client_options=options)
    rest_options = {"api_endpoint": endpoint.rest_url} if endpoint else None
    return CloudClients(
        executions=executions,
        jobs=run_v2.JobsClient(
            credentials=credentials, transport="rest", client_options=rest_options
        ),
        run_executions=run_v2.ExecutionsClient(
            credentials=credentials, transport="rest", client_options=rest_options
        ),
        workflows_endpoint=endpoint.grpc_target if endpoint else WORKFLOWS_HOST,
        run_endpoint=endpoint.rest_url if endpoint else RUN_HOST,
        default_project=project,
    )


@contextmanager
def api_call(what: str, endpoint: str) -> Iterator[None]:
    """Turn any client-library failure inside the block into one CloudError line."""
    try:
        yield
    except (gexc.GoogleAPIError, GoogleAuthError, OSError) as err:
        raise cloud_failure(err, what, endpoint) from None


def cloud_failure(err: BaseException, what: str, endpoint: str) -> CloudError:
    """One line for a failed call: what was attempted, why, and the next step."""
    detail = _short(getattr(err, "message", None) or str(err))
    if isinstance(err, gexc.NotFound):
        return CloudError(
            f"{what}: not found ({detail})",
            next_step="Check --project and --region, and that it is deployed (infra/terraform).",
        )
    if isinstance(err, gexc.PermissionDenied | gexc.Unauthenticated | gexc.Forbidden):
        return CloudError(
            f"{what}: permission denied ({detail})",
            next_step=f"Run `{LOGIN}` as an account allowed to do this (roles/workflows.invoker, roles/run.developer).",
        )
    if isinstance(err, GoogleAuthError):
        return CloudError(
            f"{what}: credentials refused ({detail})",
            next_step=f"Run `{LOGIN}` again, then retry.",
        )
    if isinstance(err, OSError | gexc.ServiceUnavailable | gexc.DeadlineExceeded | gexc.RetryError):
        return CloudError(
            f"{what}: cannot reach {endpoint} ({_connection_cause(str(err))})",
            next_step="Check the network and --api-endpoint, then retry.",
            exit_code=ExitCode.RETRYABLE,
        )
    code = getattr(err, "code", None)
    return CloudError(
        f"{what}: {type(err).__name__}{f' {code}' if code else ''} ({detail})",
        next_step="Read the message; retry if it looks transient.",
        exit_code=ExitCode.RETRYABLE,
    )


def _short(text: str, limit: int = 200) -> str:
    """``text`` on one line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _connection_cause(text: str) -> str:
    """A connection failure boiled down to its cause (gRPC and requests word them at length)."""
    for cause in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "Deadline Exceeded",
    ):
        if cause.lower() in text.lower():
            return cause
    return _short(text)
