"""The job runner: exit codes, markers, permanent-error retries, secrets, config errors."""

from __future__ import annotations

import json
import logging
import subprocess
from typing import ClassVar

import pytest
from bp_ingest.stage import IngestStage
from bp_sdk.commit import load_record, read_committed
from bp_sdk.errors import ExitCode, InputError, Problem
from bp_sdk.layout import Unit
from bp_sdk.markers import FailureMarker, list_markers
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage, join
from pydantic import Field, SecretStr

from tests.conftest import job_env, minimal_blueprint, script

SECRET = "sk-live-PLANTED-7f3a9c"


class _SecretSettings(JobSettings):
    stage_name: ClassVar[str] = "leaky"
    api_key: SecretStr = Field(description="planted secret")
    leaky_mode: str = Field(default="raise", description="raise | log | crash")


class _Leaky(Stage[_SecretSettings]):
    """A stage that tries hard to leak its secret everywhere."""

    name = "leaky"
    distribution = "bp-sdk"
    settings_cls = _SecretSettings

    def inputs(self, settings: _SecretSettings, storage: Storage) -> dict[str, str]:
        return {"const": "0" * 64}

    def run(self, ctx: StageContext[_SecretSettings]) -> StageResult:
        key = ctx.settings.api_key.get_secret_value()
        ctx.log.info("calling API with key %s", key, extra={"fields": {"headers": {"Authorization": f"Bearer {key}"}}})
        ctx.partial["request"] = {"url": f"https://api.example/?key={key}"}
        if ctx.settings.leaky_mode == "raise":
            raise InputError(f"API refused key {key}", problems=[Problem("$.key", f"bad key {key}")])
        if ctx.settings.leaky_mode == "crash":
            raise RuntimeError(f"boom with {key}")
        ctx.output.write_json("out.json", {"ok": True})
        return StageResult(summary={"note": f"used {key}"})


@pytest.mark.parametrize("mode", ["raise", "crash", "log"])
def test_planted_secret_never_in_logs_markers_or_records(
    file_storage: Storage, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    """A secret placed in messages, fields, partial results, errors and summaries is redacted everywhere."""
    env = job_env(file_storage, "s1", API_KEY=SECRET, LEAKY_MODE=mode)
    code = run_stage(_Leaky(), env)
    logging.getLogger().handlers.clear()
    assert code == {"raise": 3, "crash": 1, "log": 0}[mode]
    err = capsys.readouterr().err
    assert err.strip(), "the job logged nothing"
    assert SECRET not in err
    assert "**redacted**" in err
    for info in file_storage.list(""):
        assert SECRET.encode() not in file_storage.read_bytes(info.path), info.path


def test_permanent_error_not_redone_on_retry(file_storage: Storage, scene_factory, capsys) -> None:
    """A retry after a permanent input error finds the marker and stops at once (exit 3, no work)."""
    scene = scene_factory(minimal_blueprint(units="furlong"))
    env = job_env(file_storage, scene, CLOUD_RUN_EXECUTION="e1")
    assert run_stage(IngestStage(), env) == ExitCode.PERMANENT
    assert run_stage(IngestStage(), {**env, "CLOUD_RUN_TASK_ATTEMPT": "1"}) == ExitCode.PERMANENT
    logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "not retrying" in err
    markers = list_markers(file_storage, Unit(scene, "r1", "ingest"))
    # the retry did no work; its own marker repeats the reason, so a workflow finds it
    assert [m.attempt_id for m in markers] == ["e1-a0", "e1-a1"]
    first, again = markers
    assert again.permanent and again.message == first.message and again.problems == first.problems
    assert "first recorded in attempt e1-a0" in again.next_step
    assert [i.path.rsplit("/", 1)[-1] for i in file_storage.list(f"scenes/{scene}/runs/r1/ingest/attempts/e1-a1/")] == ["_FAILURE.json"]


def test_unexpected_exception_is_retryable(file_storage: Storage) -> None:
    """An unexpected exception writes a retryable marker with a sanitised traceback and exits 1."""
    code = run_stage(_Leaky(), job_env(file_storage, "s1", API_KEY=SECRET, LEAKY_MODE="crash"))
    logging.getLogger().handlers.clear()
    assert code == ExitCode.RETRYABLE
    (marker,) = list_markers(file_storage, Unit("s1", "r1", "leaky"))
    assert not marker.permanent and marker.error_type == "RuntimeError"
    assert "test_runner.py" in marker.traceback
    assert "/work/" not in marker.traceback and "/tmp/" not in marker.traceback
    assert marker.partial_results["request"]["url"].endswith("**redacted**")
    assert marker.next_step


def test_commit_record_contents(file_storage: Storage) -> None:
    """The commit record lists files with size/sha256, inputs, params, redacted settings and code version."""
    assert run_stage(_Leaky(), job_env(file_storage, "s1", API_KEY=SECRET, LEAKY_MODE="log")) == 0
    logging.getLogger().handlers.clear()
    record = load_record(file_storage, Unit("s1", "r1", "leaky"))
    assert record is not None
    assert set(record.files) == {"out.json"}
    assert record.settings["API_KEY"] == "**redacted**"
    assert record.params == {"LEAKY_MODE": "log"}
    assert record.code["package"] == "bp-sdk" and record.code["version"] != "0+unknown"
    assert record.attempt_dir == Unit("s1", "r1", "leaky").attempt_dir(record.attempt.attempt_id)
    units = read_committed(file_storage, "s1", "r1", "leaky")
    assert units is not None and units[0].read_json("out.json") == {"ok": True}


def test_config_error_names_both_before_any_work(tmp_path) -> None:
    """bp-ingest without STORAGE_URI and SCENE_ID exits 2 naming both, and writes nothing."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([script("bp-ingest")], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == ExitCode.CONFIG
    lines = [json.loads(x) for x in out.stderr.splitlines() if x.startswith("{")]
    assert len(lines) == 1
    msg = lines[0]["message"]
    assert lines[0]["severity"] == "ERROR"
    assert "STORAGE_URI: required but not set" in msg and "SCENE_ID: required but not set" in msg
    assert list(tmp_path.iterdir()) == []


def test_retry_after_commit_skips(file_storage: Storage, scene_factory) -> None:
    """A later attempt of a committed unit skips without writing; the record still names the first."""
    scene = scene_factory()
    a = run_stage(IngestStage(), job_env(file_storage, scene, CLOUD_RUN_EXECUTION="ex", CLOUD_RUN_TASK_ATTEMPT="0"))
    b = run_stage(IngestStage(), job_env(file_storage, scene, CLOUD_RUN_EXECUTION="ex", CLOUD_RUN_TASK_ATTEMPT="1"))
    logging.getLogger().handlers.clear()
    assert a == b == 0
    record = load_record(file_storage, Unit(scene, "r1", "ingest"))
    assert record is not None and record.attempt.attempt_id == "ex-a0"
    assert not file_storage.list_dirs(join(Unit(scene, "r1", "ingest").dir, "attempts", "ex-a1"))


def test_run_id_reuse_with_new_inputs_is_permanent(file_storage: Storage, scene_factory) -> None:
    """Changing the blueprint under an existing run id is refused, never overwritten."""
    scene = scene_factory()
    env = job_env(file_storage, scene)
    assert run_stage(IngestStage(), env) == 0
    before = file_storage.read_bytes(Unit(scene, "r1", "ingest").commit_path)
    scene_factory(minimal_blueprint(name="changed"))
    assert run_stage(IngestStage(), env) == ExitCode.PERMANENT
    logging.getLogger().handlers.clear()
    assert file_storage.read_bytes(Unit(scene, "r1", "ingest").commit_path) == before
    (marker,) = list_markers(file_storage, Unit(scene, "r1", "ingest"))
    assert "different inputs" in marker.message and "RUN_ID" in marker.next_step


def test_production_refuses_env_secrets(file_storage: Storage, capsys) -> None:
    """PIPELINE_ENV=production with a BP_SECRET_* variable fails before any work with exit 2,
    leaving only a permanent ConfigError marker (without the secret) for the workflow."""
    env = job_env(file_storage, "s1", API_KEY=SECRET, PIPELINE_ENV="production",
                  GOOGLE_CLOUD_PROJECT="proj", BP_SECRET_WEBHOOK="do-not-use-this")
    assert run_stage(_Leaky(), env) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "BP_SECRET_WEBHOOK" in err and "Secret Manager" in err
    assert "do-not-use-this" not in err
    (only,) = list(file_storage.list(""))  # no work: just the permanent ConfigError marker
    marker = FailureMarker.model_validate_json(file_storage.read_bytes(only.path))
    assert only.path.endswith("/_FAILURE.json") and marker.error_type == "ConfigError"
    assert marker.permanent and marker.exit_code == ExitCode.CONFIG
    assert "do-not-use-this" not in file_storage.read_bytes(only.path).decode()


def test_stage_reads_secret_through_context(file_storage: Storage, capsys) -> None:
    """A stage reads a development secret via ctx.secrets and the value is redacted from logs."""

    class _UsesSecret(_Leaky):
        def run(self, ctx: StageContext[_SecretSettings]) -> StageResult:
            value = ctx.secrets.get("webhook")
            ctx.log.info("webhook secret is %s", value)
            return StageResult(summary={"len": len(value)})

    env = job_env(file_storage, "s1", API_KEY=SECRET, BP_SECRET_WEBHOOK="whsec-ABCDEF123")
    assert run_stage(_UsesSecret(), env) == 0
    err = capsys.readouterr().err
    assert "whsec-ABCDEF123" not in err and "webhook secret is **redacted**" in err


def test_unsharded_stage_refuses_many_tasks(file_storage: Storage, scene_factory) -> None:
    """An unsharded stage run with CLOUD_RUN_TASK_COUNT > 1 is a configuration error (no double commits)."""
    scene = scene_factory()
    env = job_env(file_storage, scene, CLOUD_RUN_TASK_COUNT="3", CLOUD_RUN_TASK_INDEX="1")
    assert run_stage(IngestStage(), env) == ExitCode.CONFIG
    assert read_committed(file_storage, scene, "r1", "ingest") is None
