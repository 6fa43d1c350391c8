"""Secrets: Secret Manager in production, env/.env only outside it, always redacted."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bp_sdk.errors import ConfigError, PermanentError, RetryableError
from bp_sdk.redact import Redactor
from bp_sdk.secrets import Secrets, read_dotenv
from google.api_core import exceptions as gexc


class _FakeSecretManager:
    """Stands in for the Secret Manager API (no emulator exists); records requests."""

    def __init__(self, values: dict[str, str], error: Exception | None = None) -> None:
        self.values = values
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def access_secret_version(self, request: dict[str, Any], timeout: float) -> Any:
        self.requests.append({**request, "timeout": timeout})
        if self.error:
            raise self.error
        name = request["name"].split("/")[3]
        return SimpleNamespace(payload=SimpleNamespace(data=self.values[name].encode()))


def test_development_reads_env_then_dotenv(tmp_path: Path) -> None:
    """Outside production a secret comes from BP_SECRET_<NAME>, else from .env."""
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nexport BP_SECRET_OTHER="from-dotenv"\n', encoding="utf-8")
    r = Redactor()
    s = Secrets(production=False, project=None, redactor=r, environ={"BP_SECRET_LLM_KEY": "env-value"}, dotenv=dotenv)
    assert s.get("llm-key") == "env-value"
    assert s.get("other") == "from-dotenv"
    assert r.text("x env-value y from-dotenv") == "x **redacted** y **redacted**"


def test_missing_secret_is_config_error() -> None:
    """A secret that is nowhere gives a ConfigError naming the variable to set."""
    s = Secrets(production=False, project=None, redactor=Redactor(), environ={})
    with pytest.raises(ConfigError, match="BP_SECRET_WEBHOOK"):
        s.get("webhook")


def test_production_refuses_env_fallback() -> None:
    """In production BP_SECRET_* variables are refused loudly and never read."""
    manager = _FakeSecretManager({"llm-key": "from-manager"})
    s = Secrets(production=True, project="proj", redactor=Redactor(),
                environ={"BP_SECRET_LLM_KEY": "env-value"}, client_factory=lambda: manager)
    with pytest.raises(ConfigError, match="BP_SECRET_LLM_KEY"):
        s.refuse_local_in_production()
    assert s.get("llm-key") == "from-manager"
    assert manager.requests[0]["name"] == "projects/proj/secrets/llm-key/versions/latest"


def test_production_requires_project() -> None:
    """Production without a project cannot read Secret Manager and says so."""
    with pytest.raises(ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        Secrets(production=True, project=None, redactor=Redactor(), environ={})


@pytest.mark.parametrize(
    ("error", "kind"),
    [(gexc.NotFound("x"), PermanentError), (gexc.PermissionDenied("x"), PermanentError),
     (gexc.ServiceUnavailable("x"), RetryableError)],
)
def test_manager_errors_mapped(error: Exception, kind: type[Exception]) -> None:
    """Secret Manager errors become permanent (missing/denied) or retryable (transient)."""
    s = Secrets(production=True, project="p", redactor=Redactor(), environ={},
                client_factory=lambda: _FakeSecretManager({}, error))
    with pytest.raises(kind):
        s.get("name")


def test_invalid_secret_name() -> None:
    """Secret names are validated before any lookup."""
    s = Secrets(production=False, project=None, redactor=Redactor(), environ={})
    with pytest.raises(ConfigError):
        s.get("../etc/passwd")


def test_read_dotenv_missing_file(tmp_path: Path) -> None:
    """A missing .env is simply empty."""
    assert read_dotenv(tmp_path / "none") == {}
