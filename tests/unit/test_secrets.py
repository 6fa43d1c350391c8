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

    def access_secret_version(self, request: dict[str, Any], timeout: float, retry: Any = None) -> Any:
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


# ------------------------------------------------------------------ typed secret settings
from typing import ClassVar  # noqa: E402

from bp_sdk.redact import REDACTED, secret_fragments  # noqa: E402
from bp_sdk.secrets import parse_endpoint  # noqa: E402
from bp_sdk.settings import JobSettings, SecretName, load_settings, secret_setting_fields  # noqa: E402

from tests.faults.keys import leak_markers, service_account_key  # noqa: E402
from tests.faults.secret_standin import secret_manager  # noqa: E402

BASE = {"STORAGE_URI": "file:///tmp/x", "SCENE_ID": "s", "RUN_ID": "r"}


class _Settings(JobSettings):
    stage_name: ClassVar[str] = "demo"
    demo_llm_key: SecretName | None = None
    demo_webhook_key: SecretName = "demo-webhook"


def test_secret_settings_name_secrets_not_values() -> None:
    """A SecretName setting holds a secret's id (validated); the value is never a setting."""
    assert secret_setting_fields(_Settings) == ["demo_llm_key", "demo_webhook_key"]
    s = load_settings(_Settings, {**BASE, "DEMO_LLM_KEY": "llm-key"})
    assert s.secret_refs() == {"demo_llm_key": "llm-key", "demo_webhook_key": "demo-webhook"}
    assert load_settings(_Settings, BASE).secret_refs() == {"demo_webhook_key": "demo-webhook"}
    with pytest.raises(ConfigError, match="DEMO_LLM_KEY"):
        load_settings(_Settings, {**BASE, "DEMO_LLM_KEY": "sk-live-123/../x"})


def test_resolve_reports_every_missing_secret_at_once() -> None:
    """Every secret the settings name is read before work; all missing ones in one ConfigError."""
    s = load_settings(_Settings, {**BASE, "DEMO_LLM_KEY": "llm-key"})
    secrets = Secrets(production=False, project=None, redactor=Redactor(), environ={})
    with pytest.raises(ConfigError) as info:
        secrets.resolve(s.secret_refs())
    assert [p.where for p in info.value.problems] == ["DEMO_LLM_KEY", "DEMO_WEBHOOK_KEY"]
    assert "BP_SECRET_LLM_KEY" in info.value.render() and "BP_SECRET_DEMO_WEBHOOK" in info.value.render()
    ok = Secrets(production=False, project=None, redactor=Redactor(),
                 environ={"BP_SECRET_LLM_KEY": "v1-aaaa", "BP_SECRET_DEMO_WEBHOOK": "v2-bbbb"})
    assert ok.resolve(s.secret_refs()) == {"demo_llm_key": "v1-aaaa", "demo_webhook_key": "v2-bbbb"}


def test_structured_secret_parts_are_redacted_alone() -> None:
    """A service-account key is redacted whole and by its parts: key id, private key, each PEM line."""
    key_json, _ = service_account_key()
    r = Redactor(secret_fragments(key_json))
    for part in leak_markers(key_json):
        assert r.text(f"x {part} y") == f"x {REDACTED} y"


def test_endpoint_override_rules() -> None:
    """http:// only on loopback (a stand-in, no credentials); https:// anywhere; nothing else."""
    assert parse_endpoint("http://127.0.0.1:8085") == ("http://127.0.0.1:8085", True)
    assert parse_endpoint("https://sm.private.example:443") == ("https://sm.private.example:443", False)
    for bad in ("http://10.0.0.2:80", "ftp://x", "127.0.0.1:80", "https://x/path"):
        with pytest.raises(ValueError):
            parse_endpoint(bad)
    with pytest.raises(ConfigError, match="SECRET_MANAGER_ENDPOINT"):
        load_settings(JobSettings, {**BASE, "SECRET_MANAGER_ENDPOINT": "http://example.com"})


def test_real_client_against_stand_in() -> None:
    """The real SecretManagerServiceClient reads a secret over REST, anonymously; errors map."""
    with secret_manager() as sm:
        sm.secrets[("proj", "webhook")] = b"whsec-123456"
        sm.secrets[("proj", "torn")] = b"payload"
        sm.bad_crc.add("torn")
        sm.fail.update({"denied": 403, "flaky": 503})
        r = Redactor()
        s = Secrets(production=True, project="proj", redactor=r, environ={}, endpoint=sm.endpoint,
                    call_timeout_s=2.0)
        assert s.get("webhook") == "whsec-123456" and r.text("whsec-123456") == REDACTED
        with pytest.raises(RetryableError, match="CRC32C"):
            s.get("torn")
        with pytest.raises(PermanentError, match="does not exist"):
            s.get("absent")
        with pytest.raises(PermanentError, match="no access"):
            s.get("denied")
        with pytest.raises(RetryableError, match="Secret Manager call failed for 'flaky'"):
            s.get("flaky")
        assert sum("flaky" in req.path for req in sm.requests) > 1  # retried with backoff
        assert all(req.authorization is None for req in sm.requests)
        assert sm.requests[0].path.startswith("/v1/projects/proj/secrets/webhook/versions/latest:access")
