"""Settings: parsed once, every problem reported at once by variable name."""

from __future__ import annotations

from typing import ClassVar

import pytest
from bp_sdk.errors import ConfigError, ExitCode
from bp_sdk.settings import JobSettings, load_settings
from pydantic import Field, SecretStr

BASE = {"STORAGE_URI": "file:///tmp/x", "SCENE_ID": "kitchen", "RUN_ID": "r1"}


class _WithSecret(JobSettings):
    stage_name: ClassVar[str] = "demo"
    api_token: SecretStr = Field(default=SecretStr(""), description="test secret")
    demo_count: int = Field(default=3, ge=1, description="test knob")


def test_valid_settings_parse() -> None:
    """A complete environment parses into typed values with defaults."""
    s = load_settings(JobSettings, BASE)
    assert s.scene_id == "kitchen"
    assert s.pipeline_env == "development"
    assert s.cloud_run_task_count == 1
    assert s.cloud_run_execution.startswith("local-")
    assert s.attempt_id == f"{s.cloud_run_execution}-a0"


def test_all_problems_reported_at_once() -> None:
    """Missing, empty, malformed and out-of-range values are all named in one error."""
    env = {
        "SCENE_ID": "",
        "RUN_ID": "../etc",
        "PIPELINE_ENV": "staging",
        "CLOUD_RUN_TASK_COUNT": "0",
        "LOG_FORMAT": "xml",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(JobSettings, env)
    err = info.value
    names = {p.where for p in err.problems}
    assert {"STORAGE_URI", "SCENE_ID", "RUN_ID", "PIPELINE_ENV", "CLOUD_RUN_TASK_COUNT", "LOG_FORMAT"} <= names
    text = err.render()
    assert "STORAGE_URI: required but not set" in text
    assert "SCENE_ID: is set but empty" in text
    assert err.exit_code == ExitCode.CONFIG


@pytest.mark.parametrize(
    "uri",
    ["", "s3://bucket/x", "file://relative/path", "file:///a/../b", "gs://UPPER", "gs://b/../x", "/abs/path"],
)
def test_bad_storage_uris_refused(uri: str) -> None:
    """STORAGE_URI accepts only gs://bucket[/prefix] and file:///abs/path."""
    with pytest.raises(ConfigError) as info:
        load_settings(JobSettings, {**BASE, "STORAGE_URI": uri})
    assert any(p.where == "STORAGE_URI" for p in info.value.problems)


@pytest.mark.parametrize("value", ["a/b", "..", "-lead", "x" * 129, "sp ace", "é"])
def test_ids_validated(value: str) -> None:
    """SCENE_ID must match [A-Za-z0-9][A-Za-z0-9_-]{0,127}."""
    with pytest.raises(ConfigError) as info:
        load_settings(JobSettings, {**BASE, "SCENE_ID": value})
    assert [p.where for p in info.value.problems] == ["SCENE_ID"]


def test_shard_index_must_be_below_count() -> None:
    """CLOUD_RUN_TASK_INDEX >= CLOUD_RUN_TASK_COUNT is a configuration error."""
    with pytest.raises(ConfigError, match="CLOUD_RUN_TASK_INDEX"):
        load_settings(JobSettings, {**BASE, "CLOUD_RUN_TASK_INDEX": "4", "CLOUD_RUN_TASK_COUNT": "4"})


def test_production_requires_project() -> None:
    """PIPELINE_ENV=production without GOOGLE_CLOUD_PROJECT is refused."""
    with pytest.raises(ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        load_settings(JobSettings, {**BASE, "PIPELINE_ENV": "production"})


def test_secrets_redacted_and_not_params() -> None:
    """Secret values are redacted in the settings dump and excluded from output params."""
    s = load_settings(_WithSecret, {**BASE, "API_TOKEN": "hunter2-secret", "DEMO_COUNT": "5"})
    assert s.secret_values() == ["hunter2-secret"]
    assert s.redacted()["API_TOKEN"] == "**redacted**"
    assert s.output_params() == {"DEMO_COUNT": 5}


def test_secret_input_not_echoed_in_errors() -> None:
    """A malformed secret field never echoes the value in the error."""

    class _Strict(JobSettings):
        upstream_key: SecretStr = Field(min_length=20, description="x")

    with pytest.raises(ConfigError) as info:
        load_settings(_Strict, {**BASE, "UPSTREAM_KEY": "short-secret"})
    assert "short-secret" not in info.value.render()


def test_settings_read_from_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit mapping the process environment is read (at call time)."""
    for k, v in BASE.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CLOUD_RUN_TASK_ATTEMPT", "2")
    assert load_settings(JobSettings).cloud_run_task_attempt == 2


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("off", False), ("no", False)])
def test_one_boolean_parser(raw: str, expected: bool) -> None:
    """Booleans are parsed by pydantic only (one parser for every job)."""

    class _B(JobSettings):
        flag: bool = Field(default=False, description="x")

    assert load_settings(_B, {**BASE, "FLAG": raw}).flag is expected


def test_bad_boolean_named() -> None:
    """An unparseable boolean names the variable."""

    class _B(JobSettings):
        flag: bool = Field(default=False, description="x")

    with pytest.raises(ConfigError, match="FLAG"):
        load_settings(_B, {**BASE, "FLAG": "maybe"})
