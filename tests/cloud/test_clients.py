"""``make_clients``: credentials, endpoint overrides and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bp_cli.cloud import CloudError, make_clients
from bp_cli.cloud_clients import parse_endpoint
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError


@pytest.fixture
def no_adc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Application Default Credentials anywhere: no key file, empty gcloud config, no GCE."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setattr("google.auth._default._get_gce_credentials", lambda *a, **k: (None, None))


@pytest.fixture
def user_adc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ADC of a user (as `gcloud auth application-default login` writes them); no network needed."""
    config = tmp_path / "gcloud"
    config.mkdir()
    (config / "application_default_credentials.json").write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "id.apps.googleusercontent.com",
                "client_secret": "secret",
                "refresh_token": "refresh",
                "quota_project_id": "proj-adc",
            }
        )
    )
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(config))


@pytest.mark.usefixtures("no_adc")
def test_missing_credentials_is_one_line_naming_the_login_command() -> None:
    """Without ADC: one line that says to run `gcloud auth application-default login`, exit 2."""
    import google.auth

    with pytest.raises(DefaultCredentialsError):
        google.auth.default()  # the environment really has none
    with pytest.raises(CloudError) as caught:
        make_clients(None)
    text = caught.value.render()
    assert "\n" not in text
    assert "`gcloud auth application-default login`" in text
    assert int(caught.value.exit_code) == 2
    assert caught.value.__cause__ is None


@pytest.mark.usefixtures("no_adc")
def test_unusable_key_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """GOOGLE_APPLICATION_CREDENTIALS pointing nowhere: the one line names it."""
    missing = tmp_path / "nope.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(missing))
    with pytest.raises(CloudError) as caught:
        make_clients("https://private.example")
    assert f"GOOGLE_APPLICATION_CREDENTIALS={missing} is unusable" in caught.value.render()
    assert "\n" not in caught.value.render()


@pytest.mark.usefixtures("no_adc")
def test_local_http_endpoint_is_anonymous() -> None:
    """http:// on loopback needs no credentials: plaintext gRPC and REST, anonymous."""
    clients = make_clients("http://localhost:8123")
    assert isinstance(clients.jobs._transport._credentials, AnonymousCredentials)
    assert clients.jobs._transport.kind == "rest"
    assert clients.run_executions._transport.kind == "rest"
    assert clients.executions._transport.kind == "grpc"
    assert clients.run_endpoint == "http://localhost:8123"
    assert clients.workflows_endpoint == "localhost:8123"
    assert clients.default_project is None


@pytest.mark.usefixtures("user_adc")
def test_defaults_use_adc_and_google_hosts() -> None:
    """No endpoint: ADC, Cloud Run over REST at run.googleapis.com, Workflows over gRPC."""
    clients = make_clients(None)
    assert clients.jobs.api_endpoint == "run.googleapis.com"
    assert clients.executions.api_endpoint == "workflowexecutions.googleapis.com"
    assert clients.jobs._transport.kind == "rest"
    assert not isinstance(clients.jobs._transport._credentials, AnonymousCredentials)


@pytest.mark.usefixtures("user_adc")
def test_private_endpoint_uses_adc_and_tls() -> None:
    """An https:// endpoint override applies to both APIs, with ADC."""
    clients = make_clients("https://private.example:8443")
    assert clients.jobs.api_endpoint == "https://private.example:8443"
    assert clients.executions.api_endpoint == "private.example:8443"
    assert not isinstance(clients.jobs._transport._credentials, AnonymousCredentials)


@pytest.mark.parametrize(
    ("endpoint", "complaint"),
    [
        ("http://10.0.0.5:8080", "plain http:// is accepted only on localhost"),
        ("http://example.com", "plain http:// is accepted only on localhost"),
        ("ftp://example.com", "is not http(s)://host[:port]"),
        ("https://example.com/v2", "is not http(s)://host[:port]"),
    ],
)
def test_bad_endpoints_are_refused(endpoint: str, complaint: str) -> None:
    """Plain http to a remote host (tokens in clear) or a malformed endpoint: one line, refused."""
    with pytest.raises(CloudError) as caught:
        parse_endpoint(endpoint)
    assert complaint in caught.value.render()
    assert "\n" not in caught.value.render()


def test_endpoint_forms() -> None:
    """host, host:port, https:// and loopback http:// (IPv4, IPv6) all parse."""
    assert parse_endpoint("run.example").rest_url == "https://run.example:443"
    assert parse_endpoint("run.example:9").grpc_target == "run.example:9"
    assert parse_endpoint("http://127.0.0.1:5").plaintext
    assert parse_endpoint("http://[::1]:5").grpc_target == "[::1]:5"
    assert not parse_endpoint("https://localhost:5").plaintext
